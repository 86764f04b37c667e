//! Delivery with the persistent queue: a tracking is queued before it is
//! sent and leaves the queue only when the collector accepted it or refused
//! it for good; passing failures are retried with backoff, on a timer, when
//! the browser comes back online and when the page is hidden.

use std::cell::{Cell, RefCell};

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use super::error::to_js;
use super::{config, coordination, env, storage, transport};
use crate::error::Error;
use crate::options::{Transport, DEFAULT_TIMEOUT_MS};
use crate::outbound::Outbound;
use crate::queue::{self, Entry};
use crate::retry::{self, Verdict};
use crate::time::Timestamp;

/// How much longer than its timeout an attempt holds its lease.
const LEASE_SLACK_MS: i64 = 2_000;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn console_warn(message: &str);

}

type Callback = Closure<dyn FnMut(JsValue)>;

thread_local! {
    static TIMER: RefCell<JsValue> = const { RefCell::new(JsValue::UNDEFINED) };
    static FLUSH_CALLBACK: RefCell<Option<Callback>> = const { RefCell::new(None) };
    static LISTENING: Cell<bool> = const { Cell::new(false) };
}

fn now_ms() -> i64 {
    env::now().map(Timestamp::as_millis).unwrap_or(0)
}

fn set(object: &Object, key: &str, value: &JsValue) {
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

fn outcome(outbound: &Outbound, ok: bool, transport: Option<Transport>) -> Object {
    let object = Object::new();
    set(&object, "ok", &JsValue::from_bool(ok));
    set(&object, "queued", &JsValue::from_bool(!ok));
    set(&object, "status", &JsValue::NULL);
    set(&object, "body", &JsValue::NULL);
    set(
        &object,
        "transport",
        &transport.map_or(JsValue::NULL, |t| JsValue::from_str(t.name())),
    );
    let tracking = serde_wasm_bindgen::to_value(&outbound.tracking).unwrap_or(JsValue::NULL);
    set(&object, "tracking", &tracking);
    object
}

fn already_sent(outbound: &Outbound) -> JsValue {
    let result = outcome(outbound, true, None);
    set(&result, "alreadySent", &JsValue::TRUE);
    result.into()
}

fn is_onramp_error(value: &JsValue) -> bool {
    Reflect::get(value, &JsValue::from_str("name"))
        .ok()
        .and_then(|n| n.as_string())
        .as_deref()
        == Some("OnrampError")
}

fn lock_name(id: &str) -> String {
    ["onramp-pixel:", id].concat()
}

/// Sends a validated tracking, through the queue. Resolves `{ ok: true }`
/// once accepted (or already accepted before), `{ ok: false, queued: true }`
/// when it waits for a retry; rejects only when the collector refused it
/// for good or the chosen transport does not exist.
pub fn submit(outbound: Outbound) -> Promise {
    listen();
    let t = &outbound.tracking;
    let id = queue::id(&outbound.url, &t.partner_key, &t.service_name, &t.customer_id);
    let now = now_ms();
    let mut state = storage::load();
    state.prune(now);
    if state.was_sent(&id) {
        // The reload guard: this browser already delivered it.
        return Promise::resolve(&already_sent(&outbound));
    }
    if state.find(&id).is_some_and(|e| e.lease_ms > now) {
        // An attempt is in flight (another tab, or an earlier call): it settles it.
        schedule(&state, now);
        return Promise::resolve(&JsValue::from(outcome(&outbound, false, None)));
    }
    let entry = Entry {
        id: id.clone(),
        url: outbound.url.clone(),
        body: outbound.body.clone(),
        created_ms: now,
        failures: 0,
        next_ms: now,
        lease_ms: 0,
    };
    if state.enqueue(entry).is_some() {
        console_warn("[onramp] the queue is full: the oldest waiting tracking was dropped");
    }
    storage::save(&state);
    if outbound.transport == Transport::Beacon {
        return beacon(outbound, id);
    }
    // Where there are Web Locks, the attempt waits for the tracking's lock
    // and checks the accepted set first, so two tabs never both send it. If
    // the page goes away meanwhile, the `pagehide` flush sends it at once.
    let name = lock_name(&id);
    let (locked_outbound, locked_id) = (outbound.clone(), id.clone());
    let locked = coordination::with_lock(&name, move || {
        future_to_promise(async move {
            match guard(&locked_id).await {
                Guard::Accepted => Ok(already_sent(&locked_outbound)),
                Guard::Busy => Ok(outcome(&locked_outbound, false, None).into()),
                Guard::Go => JsFuture::from(attempt(locked_outbound, locked_id)).await,
            }
        })
    });
    match locked {
        // A lock request can still be refused (an opaque origin, a sandboxed
        // frame): then the attempt goes on without the lock.
        Some(locked) => {
            let fallback = Closure::once_into_js(move |error: JsValue| {
                if is_onramp_error(&error) {
                    Promise::reject(&error)
                } else {
                    attempt(outbound, id)
                }
            });
            // `locked.catch(fallback)`: the handler may return a Promise.
            Reflect::get(&locked, &JsValue::from_str("catch"))
                .ok()
                .and_then(|catch| catch.dyn_ref::<Function>()?.call1(&locked, &fallback).ok())
                .map_or(locked, JsCast::unchecked_into)
        }
        None => attempt(outbound, id),
    }
}

/// What an attempt finds once it holds the tracking's lock.
#[derive(PartialEq, Eq)]
enum Guard {
    /// Accepted already, in this tab or another: nothing to send.
    Accepted,
    /// Another attempt is in flight, or it left the queue meanwhile (sent
    /// by this page's `pagehide` flush, or dropped): not this attempt's job.
    Busy,
    /// Still waiting and free: send it.
    Go,
}

/// Reads the accepted set in IndexedDB (consistent across tabs, unlike
/// `localStorage`) and the queue, under the tracking's lock.
async fn guard(id: &str) -> Guard {
    let now = now_ms();
    if coordination::was_accepted(id, now).await == Some(true) {
        settle(id, Verdict::Accepted, None);
        return Guard::Accepted;
    }
    let state = storage::load();
    if state.was_sent(id) {
        return Guard::Accepted;
    }
    match state.find(id) {
        Some(e) if e.lease_ms <= now => Guard::Go,
        _ => Guard::Busy,
    }
}

/// One attempt at a queued tracking, started synchronously.
fn attempt(outbound: Outbound, id: String) -> Promise {
    match start(&id, &outbound.url, &outbound.body, outbound.timeout_ms) {
        Some(pending) => future_to_promise(async move {
            let reply = finish(&id, pending).await;
            answer(&outbound, reply)
        }),
        None if outbound.transport.fallback() == Some(Transport::Beacon) => beacon(outbound, id),
        None => {
            settle(&id, Verdict::Rejected, None);
            Promise::reject(&to_js(&Error::TransportUnavailable))
        }
    }
}

/// Leases the tracking and starts its fetch; `None` when the fetch cannot start.
fn start(id: &str, url: &str, body: &str, timeout_ms: u32) -> Option<Promise> {
    let now = now_ms();
    let mut state = storage::load();
    state.lease(id, now, now + i64::from(timeout_ms) + LEASE_SLACK_MS);
    storage::save(&state);
    transport::start_fetch(url, body, timeout_ms).ok()
}

/// Waits for the answer and records the verdict (in IndexedDB too when it
/// was accepted); returns the reply and when the next attempt is due.
async fn finish(id: &str, pending: Promise) -> (Result<transport::Reply, Error>, Verdict, Option<String>) {
    let reply = transport::read_reply(pending).await;
    let verdict = retry::verdict(reply.as_ref().ok().map(|r| r.status));
    if verdict == Verdict::Accepted {
        coordination::mark_accepted(id, now_ms()).await;
    }
    let retry_after = reply.as_ref().ok().and_then(|r| r.retry_after.clone());
    let next = settle(id, verdict, retry_after.as_deref());
    (reply, verdict, next)
}

/// The browser takes the beacon, or not; its answer is never visible, so a
/// beacon taken counts as delivered.
fn beacon(outbound: Outbound, id: String) -> Promise {
    match transport::send_beacon(&outbound.url, &outbound.body) {
        Ok(()) => {
            settle(&id, Verdict::Accepted, None);
            wasm_bindgen_futures::spawn_local(async move { coordination::mark_accepted(&id, now_ms()).await });
            Promise::resolve(&JsValue::from(outcome(&outbound, true, Some(Transport::Beacon))))
        }
        Err(err) => {
            settle(&id, Verdict::Rejected, None);
            Promise::reject(&to_js(&err))
        }
    }
}

/// Turns the first attempt's reply into the call's result.
fn answer(
    outbound: &Outbound,
    (reply, verdict, next): (Result<transport::Reply, Error>, Verdict, Option<String>),
) -> Result<JsValue, JsValue> {
    let result = outcome(outbound, verdict == Verdict::Accepted, Some(Transport::Fetch));
    if let Some(at) = &next {
        set(&result, "retryAt", &JsValue::from_str(at));
    }
    match reply {
        Ok(reply) if verdict == Verdict::Rejected => {
            let error = to_js(&Error::Rejected(reply.status));
            set(error.unchecked_ref(), "status", &JsValue::from(reply.status));
            set(error.unchecked_ref(), "body", &reply.body);
            Err(error)
        }
        Ok(reply) => {
            set(&result, "status", &JsValue::from(reply.status));
            set(&result, "body", &reply.body);
            Ok(result.into())
        }
        Err(err) => {
            set(&result, "error", &to_js(&err));
            Ok(result.into())
        }
    }
}

/// Records an attempt's verdict in the stored queue and re-arms the timer;
/// returns when the next attempt is due for a retry (RFC 3339).
fn settle(id: &str, verdict: Verdict, retry_after: Option<&str>) -> Option<String> {
    let now = now_ms();
    let mut state = storage::load();
    let failures = state.find(id).map_or(0, |e| e.failures).saturating_add(1);
    let retry_after = retry_after.and_then(|v| {
        Timestamp::from_epoch_ms(now as f64)
            .ok()
            .and_then(|t| retry::retry_after_ms(v, t))
    });
    let delay = retry::next_delay_ms(failures, js_sys::Math::random(), retry_after);
    state.settle(id, verdict, now, delay);
    storage::save(&state);
    schedule(&state, now);
    let next = state.find(id).map(|e| e.next_ms)?;
    Timestamp::from_epoch_ms(next as f64).ok().map(Timestamp::to_rfc3339)
}

/// When `flush` runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// On load and on the retry timer: what is due, under the locks.
    Due,
    /// `flush()` and `online`: everything not in flight, under the locks.
    Forced,
    /// The page is being hidden or left: what is due, started right now,
    /// without waiting for a lock (which the page may not live to get).
    Leaving,
}

/// Sends the waiting trackings (see [`Flush`]). Resolves `{ sent, waiting }`:
/// how many were accepted now, how many still wait. Never rejects.
pub fn flush(mode: Flush) -> Promise {
    listen();
    let now = now_ms();
    let mut state = storage::load();
    if state.prune(now) > 0 {
        console_warn("[onramp] trackings older than 7 days were dropped from the queue");
        storage::save(&state);
    }
    let timeout = config::current().timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    let due: Vec<(String, String, String)> = state
        .due(now, mode == Flush::Forced)
        .into_iter()
        .filter_map(|id| state.find(&id).map(|e| (id.clone(), e.url.clone(), e.body.clone())))
        .collect();
    let mut attempts: Vec<Promise> = Vec::with_capacity(due.len());
    for (id, url, body) in due {
        let attempt = if mode == Flush::Leaving {
            flush_one(id, url, body, timeout)
        } else {
            let name = lock_name(&id);
            let (lock_id, lock_url, lock_body) = (id.clone(), url.clone(), body.clone());
            coordination::with_lock(&name, move || {
                future_to_promise(async move {
                    if guard(&lock_id).await != Guard::Go {
                        return Ok(JsValue::FALSE);
                    }
                    JsFuture::from(flush_one(lock_id, lock_url, lock_body, timeout)).await
                })
            })
            .unwrap_or_else(|| flush_one(id, url, body, timeout))
        };
        attempts.push(attempt);
    }
    future_to_promise(async move {
        let mut sent = 0u32;
        for attempt in attempts {
            if JsFuture::from(attempt).await.ok() == Some(JsValue::TRUE) {
                sent += 1;
            }
        }
        let result = Object::new();
        set(&result, "sent", &JsValue::from(sent));
        set(&result, "waiting", &JsValue::from(storage::load().queue.len() as u32));
        Ok(result.into())
    })
}

/// One waiting tracking's attempt; resolves `true` when it was accepted.
fn flush_one(id: String, url: String, body: String, timeout: u32) -> Promise {
    match start(&id, &url, &body, timeout) {
        Some(pending) => future_to_promise(async move {
            let (_, verdict, _) = finish(&id, pending).await;
            Ok(JsValue::from_bool(verdict == Verdict::Accepted))
        }),
        None => {
            settle(&id, Verdict::Retry, None);
            Promise::resolve(&JsValue::FALSE)
        }
    }
}

fn flush_quietly(mode: Flush) {
    // `flush` never rejects, so nothing is left unhandled.
    let _ = flush(mode);
}

/// Arms one timer for the next waiting tracking that becomes due.
fn schedule(state: &queue::State, now: i64) {
    let Some(at) = state.next_due(now) else {
        return;
    };
    let delay = (at - now).clamp(0, i64::from(i32::MAX)) as f64 + 50.0;
    FLUSH_CALLBACK.with(|cb| {
        let Ok(mut cb) = cb.try_borrow_mut() else {
            return;
        };
        let callback = cb.get_or_insert_with(|| Closure::new(|_: JsValue| flush_quietly(Flush::Due)));
        let function: &Function = callback.as_ref().unchecked_ref();
        TIMER.with(|timer| {
            let Ok(mut timer) = timer.try_borrow_mut() else {
                return;
            };
            if !timer.is_undefined() {
                clear_timeout(&timer);
            }
            let handle = set_timeout(function, delay);
            // In Node a pending retry must not keep the process alive.
            if let Ok(unref) = Reflect::get(&handle, &JsValue::from_str("unref")) {
                if let Some(unref) = unref.dyn_ref::<Function>() {
                    let _ = unref.call0(&handle);
                }
            }
            *timer = handle;
        });
    });
}

/// Flushes when the browser comes back online and when the page is hidden
/// or left (`visibilitychange`, `pagehide`; never `unload`, which would
/// keep the page out of the back/forward cache). Installed once.
fn listen() {
    if LISTENING.with(|l| l.replace(true)) {
        return;
    }
    let global: JsValue = js_sys::global().into();
    let document = env::global_property("document").unwrap_or(JsValue::UNDEFINED);
    let on_event = Callback::new(move |event: JsValue| {
        let kind = Reflect::get(&event, &JsValue::from_str("type"))
            .ok()
            .and_then(|t| t.as_string());
        if kind.as_deref() == Some("visibilitychange") {
            let document = env::global_property("document").unwrap_or(JsValue::UNDEFINED);
            let state = Reflect::get(&document, &JsValue::from_str("visibilityState"))
                .ok()
                .and_then(|s| s.as_string());
            if state.as_deref() != Some("hidden") {
                return;
            }
        }
        flush_quietly(Flush::Leaving);
    });
    let handler = on_event.as_ref();
    for (target, event) in [
        (&global, "online"),
        (&global, "pagehide"),
        (&document, "visibilitychange"),
    ] {
        let add = Reflect::get(target, &JsValue::from_str("addEventListener")).ok();
        if let Some(add) = add.as_ref().and_then(|a| a.dyn_ref::<Function>()) {
            let _ = add.call2(target, &JsValue::from_str(event), handler);
        }
    }
    // Lives as long as the page.
    on_event.forget();
}
