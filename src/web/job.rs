//! Every asynchronous job of the pixel, as one boxed type, and the small
//! executor that runs them: each job is polled from a microtask (never in
//! the caller's task), in the order it was woken. One `Closure` serves
//! every microtask. Promises are awaited with wasm-bindgen-futures'
//! `JsFuture` (as gloo-net awaits its own); its general executor, with what
//! only other programs need (a fallback for a global without
//! `queueMicrotask`, JSPI), is left out.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::places::Places;

/// A job: what a Promise resolves or rejects to.
pub type Job = Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = queueMicrotask)]
    fn queue_microtask(callback: &JsValue);
}

/// A job being run, with its Promise's `resolve` and `reject`.
type Task = (Job, [Function; 2]);

thread_local! {
    /// The tasks' places and the run queue (`crate::places`, tested
    /// natively).
    static PLACES: RefCell<Places<Task>> = const { RefCell::new(Places::new()) };
    /// The microtask that runs them.
    static RUN: Closure<dyn FnMut()> = Closure::new(run);
}

/// A task's waker: its place. A waker kept after its task is done may wake
/// the next task in that place, which is then polled once for nothing.
struct Place(usize);

impl Wake for Place {
    fn wake(self: Arc<Self>) {
        wake(self.0);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        wake(self.0);
    }
}

/// Runs every task woken before this microtask; those woken meanwhile run
/// in the next one.
fn run() {
    for place in PLACES.with_borrow_mut(Places::take_queue) {
        let Some((mut job, settle)) = PLACES.with_borrow_mut(|p| p.take(place)) else {
            continue;
        };
        let waker = Waker::from(Arc::new(Place(place)));
        let Poll::Ready(result) = job.as_mut().poll(&mut Context::from_waker(&waker)) else {
            PLACES.with_borrow_mut(|p| p.put_back(place, (job, settle)));
            continue;
        };
        PLACES.with_borrow_mut(|p| p.finish(place));
        let [resolve, reject] = &settle;
        let (settle, value) = match result {
            Ok(value) => (resolve, value),
            Err(error) => (reject, error),
        };
        let _ = settle.call1(&JsValue::UNDEFINED, &value);
    }
}

/// Asks for a run in a microtask, when a wake says so.
fn ask(first: bool) {
    if first {
        RUN.with(|run| queue_microtask(run.as_ref()));
    }
}

/// Puts the task in `place` in the run queue (once) and the run in a
/// microtask.
fn wake(place: usize) {
    ask(PLACES.with_borrow_mut(|p| p.wake(place)));
}

/// A job's Promise. The job is first polled from a microtask, not during
/// this call: what must happen in the caller's task (a request that may
/// outlive the page) is done before the job is made.
pub fn promise(job: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    let mut job = Some(Box::pin(job) as Job);
    Promise::new(&mut |resolve, reject| {
        let Some(job) = job.take() else { return };
        ask(PLACES.with_borrow_mut(|p| p.insert((job, [resolve, reject]))).1);
    })
}

/// A Promise's outcome, read by a plain function: a host future without a
/// boxed state machine of its own.
pub struct Awaited<T> {
    promise: JsFuture,
    read: fn(Result<JsValue, JsValue>) -> T,
}

impl<T> Awaited<T> {
    /// Awaits `promise` (already started) and reads what it settles to.
    pub fn new(promise: Promise, read: fn(Result<JsValue, JsValue>) -> T) -> Awaited<T> {
        Awaited {
            promise: JsFuture::from(promise),
            read,
        }
    }
}

impl<T> Future for Awaited<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let read = self.read;
        Pin::new(&mut self.promise).poll(cx).map(read)
    }
}
