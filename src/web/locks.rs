//! Runs an attempt holding the tracking's exclusive Web Lock, with what
//! IndexedDB says of it read under the lock, so that two tabs never both
//! send it.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::{accepted, promise, schedule, Job};

#[wasm_bindgen(module = "/src/web/locks.js")]
extern "C" {
    #[wasm_bindgen(catch)]
    fn request(name: &str, lease_ms: f64, task: &JsValue) -> Result<Promise, JsValue>;
}

/// What an attempt finds when its turn comes.
#[derive(Clone, Copy)]
pub struct Turn {
    /// When IndexedDB says the tracking was accepted, if it does.
    pub accepted_at: Option<i64>,
    /// False when another tab's attempt holds the tracking's lease (where
    /// there are no Web Locks): nothing to send.
    pub held: bool,
}

/// An attempt: called when its turn comes, it starts at once (its request
/// leaves during the call) and gives the job that resolves the caller's
/// Promise.
pub type Task = Box<dyn FnOnce(Turn) -> Job>;

impl Turn {
    /// A turn without the lock's (and IndexedDB's) word: where there is no
    /// page, when the lock request is refused, when the page is leaving.
    pub const UNLOCKED: Turn = Turn {
        accepted_at: None,
        held: true,
    };
}

/// Runs `task` under the tracking's lock, with IndexedDB's word. Where
/// the browser has no Web Locks, the lock is a lease of `lease_ms` in
/// IndexedDB (`locks.js`), and a task whose lease another tab holds runs
/// with nothing to send. Where there is no page (Node), at once; when the
/// lock request is refused (an opaque origin, a sandboxed frame), once
/// refused, without IndexedDB's word.
pub fn guarded(id: &str, lease_ms: i64, task: Task) -> Promise {
    // Whoever takes the task runs it: the lock's callback, or this
    // function when the lock never came.
    let task = Rc::new(RefCell::new(Some(task)));
    let outcome = Rc::new(RefCell::new(None));
    let (held, slot, key) = (task.clone(), outcome.clone(), id.to_owned());
    // Until the lock is released (or refused): see `schedule::waiting`.
    schedule::waiting(true);
    let callback = Closure::<dyn FnMut(JsValue) -> Promise>::once(move |_lock: JsValue| {
        promise(async move {
            let task = held.borrow_mut().take();
            if let Some(task) = task {
                let accepted_at = accepted::accepted_at(&key).await;
                let done = task(Turn {
                    accepted_at,
                    held: true,
                })
                .await;
                *slot.borrow_mut() = Some(done);
            }
            Ok(JsValue::UNDEFINED)
        })
    });
    match request(&["onramp-pixel:", id].concat(), lease_ms as f64, callback.as_ref()) {
        Ok(locked) => promise(async move {
            let locked = JsFuture::from(locked).await;
            schedule::waiting(false);
            drop(callback);
            let done = outcome.borrow_mut().take();
            if let Some(done) = done {
                return done;
            }
            // Another tab holds the lease: nothing to send here.
            let held = !matches!(locked, Ok(ref v) if v.as_bool() == Some(false));
            let task = task.borrow_mut().take();
            match task {
                Some(task) => task(Turn { held, ..Turn::UNLOCKED }).await,
                None => Ok(JsValue::UNDEFINED),
            }
        }),
        Err(_) => {
            schedule::waiting(false);
            drop(callback);
            let task = task.borrow_mut().take();
            match task.map(|task| task(Turn::UNLOCKED)) {
                Some(job) => wasm_bindgen_futures::future_to_promise(job),
                None => Promise::resolve(&JsValue::UNDEFINED),
            }
        }
    }
}
