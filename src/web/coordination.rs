//! Coordination between tabs. `localStorage` is not kept consistent across
//! tabs in different renderer processes at the moment of a write, so two
//! things that must be: attempts at one tracking take a Web Lock named
//! after it, and the set of accepted trackings lives in IndexedDB, read and
//! written while holding that lock.

use std::cell::RefCell;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbFactory, IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode};

use super::env;
use crate::queue::TTL_MS;

const DATABASE: &str = "onramp-pixel";
const STORE: &str = "accepted";

thread_local! {
    static DB: RefCell<Option<IdbDatabase>> = const { RefCell::new(None) };
}

/// Runs `task` while holding the exclusive Web Lock `name`, and returns the
/// Promise of its result; `None` where there are no Web Locks (then the
/// caller goes on without).
pub fn with_lock(name: &str, task: impl FnOnce() -> Promise + 'static) -> Option<Promise> {
    let navigator = env::global_property("navigator")?;
    let locks = Reflect::get(&navigator, &JsValue::from_str("locks"))
        .ok()
        .filter(JsValue::is_object)?;
    let request = Reflect::get(&locks, &JsValue::from_str("request")).ok()?;
    let request = request.dyn_ref::<Function>()?;
    let callback = Closure::once_into_js(move |_lock: JsValue| task());
    request
        .call2(&locks, &JsValue::from_str(name), &callback)
        .ok()?
        .dyn_into()
        .ok()
}

/// Settles when the request succeeds (or fails).
async fn done(request: &IdbRequest) -> Result<JsValue, JsValue> {
    let promise = Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    JsFuture::from(promise).await?;
    request.result()
}

/// Settles when the transaction has committed.
async fn committed(transaction: &IdbTransaction) -> Result<(), JsValue> {
    let promise = Promise::new(&mut |resolve, reject| {
        transaction.set_oncomplete(Some(&resolve));
        transaction.set_onerror(Some(&reject));
        transaction.set_onabort(Some(&reject));
    });
    JsFuture::from(promise).await.map(|_| ())
}

async fn database() -> Option<IdbDatabase> {
    if let Some(db) = DB.with(|db| db.try_borrow().ok().and_then(|db| db.clone())) {
        return Some(db);
    }
    let factory: IdbFactory = env::global_property("indexedDB")?.unchecked_into();
    let open: IdbOpenDbRequest = factory.open_with_u32(DATABASE, 1).ok()?;
    let upgrading = open.clone();
    let on_upgrade = Closure::once_into_js(move |_: JsValue| {
        if let Ok(db) = upgrading.result() {
            let _ = db.unchecked_into::<IdbDatabase>().create_object_store(STORE);
        }
    });
    open.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    let db: IdbDatabase = done(&open).await.ok()?.unchecked_into();
    DB.with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = Some(db.clone());
        }
    });
    Some(db)
}

/// Whether the tracking was accepted (within the TTL), as IndexedDB says;
/// `None` where IndexedDB cannot be used.
pub async fn was_accepted(id: &str, now: i64) -> Option<bool> {
    let db = database().await?;
    let store = db.transaction_with_str(STORE).ok()?.object_store(STORE).ok()?;
    let at = done(&store.get(&JsValue::from_str(id)).ok()?).await.ok()?;
    Some(at.as_f64().is_some_and(|at| now.saturating_sub(at as i64) < TTL_MS))
}

/// Records the tracking as accepted, and waits for the commit so that the
/// next holder of its lock, in any tab, sees it.
pub async fn mark_accepted(id: &str, now: i64) {
    let Some(db) = database().await else {
        return;
    };
    let Ok(transaction) = db.transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite) else {
        return;
    };
    let stored = transaction
        .object_store(STORE)
        .and_then(|store| store.put_with_key(&JsValue::from_f64(now as f64), &JsValue::from_str(id)));
    if stored.is_ok() {
        let _ = committed(&transaction).await;
    }
}
