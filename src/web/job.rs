//! Every asynchronous job of the pixel, as one boxed type, so that
//! wasm-bindgen-futures' machinery is compiled once, not once per job.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use js_sys::Promise;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// A job: what a Promise resolves or rejects to.
pub type Job = Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>;

/// A job's Promise. wasm-bindgen-futures polls the job from a microtask,
/// not during this call: what must happen in the caller's task (a request
/// that may outlive the page) is done before the job is made.
pub fn promise(job: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    wasm_bindgen_futures::future_to_promise(Box::pin(job) as Job)
}

/// A Promise's outcome, read by a plain function: a host future without a
/// boxed state machine of its own.
pub struct Settled<T> {
    promise: JsFuture,
    read: fn(Result<JsValue, JsValue>) -> T,
}

impl<T> Settled<T> {
    /// Awaits `promise` (already started) and reads what it settles to.
    pub fn new(promise: Promise, read: fn(Result<JsValue, JsValue>) -> T) -> Settled<T> {
        Settled {
            promise: JsFuture::from(promise),
            read,
        }
    }
}

impl<T> Future for Settled<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let read = self.read;
        Pin::new(&mut self.promise).poll(cx).map(read)
    }
}
