//! The browser (and Node) side of the pixel: reads the caller's values,
//! keeps the queue, sends and schedules, all through wasm-bindgen, js-sys,
//! web-sys, gloo-net and serde-wasm-bindgen. Every decision is the core's.
//!
//! - [`convert`]: JS values in (classified for the core) and out (results,
//!   `OnrampError`).
//! - [`delivery`]: a call's way to the collector, and the flushes.
//! - [`transport`]: keepalive `fetch` (answers read through gloo-net) and
//!   beacons.
//! - [`storage`]: one `localStorage` record per tracking.
//! - [`locks`], [`accepted`]: Web Locks and IndexedDB's accepted set,
//!   through two small JS files beside them.
//! - [`schedule`]: the retry timer and the page's events.

use std::future::Future;
use std::pin::Pin;

use js_sys::Promise;
use wasm_bindgen::JsValue;

pub mod accepted;
pub mod convert;
pub mod delivery;
pub mod locks;
pub mod schedule;
pub mod storage;
pub mod transport;

/// On load: trackings left waiting by an earlier page are sent when due.
pub fn start() {
    let _ = delivery::send(delivery::Mode::Due);
}

/// Every asynchronous job of the pixel, as one boxed type, so that
/// wasm-bindgen-futures' machinery is compiled once, not once per job.
pub type Job = Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>;

/// A job's Promise. wasm-bindgen-futures polls the job from a microtask,
/// not during this call: what must happen in the caller's task (a request
/// that may outlive the page) is done before the job is made.
pub fn promise(job: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    wasm_bindgen_futures::future_to_promise(Box::pin(job) as Job)
}
