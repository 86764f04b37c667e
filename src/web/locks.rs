//! Runs an attempt holding the tracking's exclusive Web Lock, with what
//! IndexedDB says of it read under the lock, so that two tabs never both
//! send it.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::{accepted, promise, Job};

#[wasm_bindgen(module = "/src/web/locks.js")]
extern "C" {
    #[wasm_bindgen(catch)]
    fn request(name: &str, task: &JsValue) -> Result<Promise, JsValue>;
}

/// An attempt: called with when IndexedDB says the tracking was accepted
/// (if it does), it starts at once (its request leaves during the call)
/// and gives the job that resolves the caller's Promise.
pub type Task = Box<dyn FnOnce(Option<i64>) -> Job>;

/// Runs `task` under the tracking's lock. Where there are no Web Locks,
/// at once, in the caller's task, without IndexedDB's word; when the lock
/// request is refused (an opaque origin, a sandboxed frame), once refused.
pub fn guarded(id: &str, task: Task) -> Promise {
    // Whoever takes the task runs it: the lock's callback, or this
    // function when the lock never came.
    let task = Rc::new(RefCell::new(Some(task)));
    let outcome = Rc::new(RefCell::new(None));
    let (held, slot, key) = (task.clone(), outcome.clone(), id.to_owned());
    let callback = Closure::<dyn FnMut(JsValue) -> Promise>::once(move |_lock: JsValue| {
        promise(async move {
            let task = held.borrow_mut().take();
            if let Some(task) = task {
                let at = accepted::accepted_at(&key).await;
                let done = task(at).await;
                *slot.borrow_mut() = Some(done);
            }
            Ok(JsValue::UNDEFINED)
        })
    });
    let unlocked = |task: &Rc<RefCell<Option<Task>>>| {
        let task = task.borrow_mut().take();
        task.map(|task| task(None))
    };
    match request(&["onramp-pixel:", id].concat(), callback.as_ref()) {
        Ok(locked) => promise(async move {
            let _ = JsFuture::from(locked).await;
            drop(callback);
            let done = outcome.borrow_mut().take();
            match done {
                Some(done) => done,
                None => match unlocked(&task) {
                    Some(job) => job.await,
                    None => Ok(JsValue::UNDEFINED),
                },
            }
        }),
        Err(_) => {
            drop(callback);
            match unlocked(&task) {
                Some(job) => wasm_bindgen_futures::future_to_promise(job),
                None => Promise::resolve(&JsValue::UNDEFINED),
            }
        }
    }
}
