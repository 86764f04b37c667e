//! Runs an attempt holding the tracking's exclusive Web Lock, with what
//! IndexedDB says of it read under the lock, so that two tabs never both
//! send it.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::{accepted, promise};

#[wasm_bindgen(module = "/src/web/locks.js")]
extern "C" {
    #[wasm_bindgen(catch)]
    fn request(name: &str, task: &JsValue) -> Result<Promise, JsValue>;
}

/// An attempt: given when IndexedDB says the tracking was accepted (if it
/// does), it resolves the caller's Promise.
pub type Task = Box<dyn FnOnce(Option<i64>) -> Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>>;

/// Runs `task` under the tracking's lock. Without the lock (and without
/// IndexedDB's word) where there are no Web Locks, or when the lock
/// request is refused (an opaque origin, a sandboxed frame).
pub async fn guarded(id: &str, task: Task) -> Result<JsValue, JsValue> {
    // Whoever takes the task runs it: the lock's callback, or this
    // function when the lock never came.
    let task = Rc::new(RefCell::new(Some(task)));
    let outcome = Rc::new(RefCell::new(None));
    let (held, slot, key) = (task.clone(), outcome.clone(), id.to_owned());
    let callback = Closure::once_into_js(move |_lock: JsValue| {
        promise(async move {
            let task = held.borrow_mut().take();
            if let Some(task) = task {
                let at = accepted::accepted_at(&key).await;
                let outcome = task(at).await;
                *slot.borrow_mut() = Some(outcome);
            }
            Ok(JsValue::UNDEFINED)
        })
    });
    if let Ok(locked) = request(&["onramp-pixel:", id].concat(), &callback) {
        let _ = JsFuture::from(locked).await;
    }
    if let Some(outcome) = outcome.borrow_mut().take() {
        return outcome;
    }
    let task = task.borrow_mut().take();
    match task {
        Some(task) => task(None).await,
        None => Ok(JsValue::UNDEFINED),
    }
}
