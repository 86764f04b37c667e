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

/// A job: what a Promise resolves or rejects to.
pub type Job = Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = queueMicrotask)]
    fn queue_microtask(callback: &JsValue);
}

/// A job being run, with its Promise's `resolve` and `reject`.
type Task = (Job, [Function; 2]);

/// A task's place: the task (out of it while it is polled, gone once it is
/// done, when the place serves the next one) and whether it waits in the
/// run queue.
#[derive(Default)]
struct Slot {
    task: Option<Task>,
    running: bool,
    queued: bool,
}

thread_local! {
    static SLOTS: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
    /// The places of the tasks woken since the last run, in order.
    static QUEUE: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
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

/// Does `f` with the slot at `place`.
fn slot<R>(place: usize, f: impl FnOnce(&mut Slot) -> R) -> Option<R> {
    SLOTS.with_borrow_mut(|slots| slots.get_mut(place).map(f))
}

/// Runs every task woken before this microtask; those woken meanwhile run
/// in the next one.
fn run() {
    for place in QUEUE.take() {
        let taken = slot(place, |slot| {
            slot.queued = false;
            slot.task.take()
        });
        let Some(Some((mut job, settle))) = taken else { continue };
        let waker = Waker::from(Arc::new(Place(place)));
        let Poll::Ready(result) = job.as_mut().poll(&mut Context::from_waker(&waker)) else {
            slot(place, |slot| slot.task = Some((job, settle)));
            continue;
        };
        slot(place, |slot| *slot = Slot::default());
        let [resolve, reject] = &settle;
        let (settle, value) = match result {
            Ok(value) => (resolve, value),
            Err(error) => (reject, error),
        };
        let _ = settle.call1(&JsValue::UNDEFINED, &value);
    }
}

/// Puts the task in `place` in the run queue (once) and the run in a
/// microtask.
fn wake(place: usize) {
    let first = SLOTS.with_borrow_mut(|slots| {
        let slot = slots.get_mut(place).filter(|slot| slot.running && !slot.queued)?;
        slot.queued = true;
        QUEUE.with_borrow_mut(|queue| {
            queue.push(place);
            Some(queue.len() == 1)
        })
    });
    if first == Some(true) {
        RUN.with(|run| queue_microtask(run.as_ref()));
    }
}

/// A job's Promise. The job is first polled from a microtask, not during
/// this call: what must happen in the caller's task (a request that may
/// outlive the page) is done before the job is made.
pub fn promise(job: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    let mut job = Some(Box::pin(job) as Job);
    Promise::new(&mut |resolve, reject| {
        let Some(job) = job.take() else { return };
        let slot = Slot {
            task: Some((job, [resolve, reject])),
            running: true,
            queued: false,
        };
        let place = SLOTS.with_borrow_mut(|slots| {
            let free = slots.iter().position(|slot| !slot.running).unwrap_or(slots.len());
            if free == slots.len() {
                slots.push(Slot::default());
            }
            if let Some(place) = slots.get_mut(free) {
                *place = slot;
            }
            free
        });
        wake(place);
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
