//! A tracking's way from the call to the collector: checked, queued, sent
//! under its lock, its outcome recorded; and the flushes that send what
//! waits (on load, on the retry timer, when the browser comes back online,
//! when the page is hidden or left, and on `flush()`).

use std::cell::{Cell, RefCell};

use js_sys::{Date, Math, Promise};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use onramp_core::call;
use onramp_core::options::{Transport, CONFIGURE_OPTIONS, TRACKING_OPTIONS};
use onramp_core::outbound::{Defaults, Outbound};
use onramp_core::queue::{self, Record};
use onramp_core::retry::{RetryAfter, Verdict};
use onramp_core::steps::{self, Admission, Claim, Outcome, Settled};
use onramp_core::time::Timestamp;
use onramp_core::Error;

use super::convert::{self, answer_body, to_js, Answer};
use super::locks::Turn;
use super::{accepted, locks, promise, schedule, storage, transport, Job};

thread_local! {
    /// Whether the page was warned that the queue cannot be stored.
    static WARNED: Cell<bool> = const { Cell::new(false) };
    /// What `configure()` set, laid under each later call.
    static DEFAULTS: RefCell<Defaults> = const { RefCell::new(Defaults::NONE) };
}

/// The clock (`Date.now()`).
fn now() -> Result<Timestamp, Error> {
    Timestamp::from_epoch_ms(Date::now())
}

fn now_ms() -> i64 {
    now().unwrap_or(Timestamp::EPOCH).as_millis()
}

fn reject(err: &Error) -> Promise {
    Promise::reject(&convert::error(err, None))
}

fn warn(message: &str) {
    web_sys::console::warn_1(&["[onramp] ", message].concat().into());
}

/// What a call resolves to (`TrackingResult` in `index.d.ts`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallResult {
    ok: bool,
    queued: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    already_sent: Option<bool>,
    status: Option<u16>,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    body: JsValue,
    transport: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_at: Option<String>,
    #[serde(with = "serde_wasm_bindgen::preserve", skip_serializing_if = "JsValue::is_undefined")]
    error: JsValue,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    tracking: JsValue,
    /// `false` when the queue could not store the tracking (storage full
    /// or disabled): while it waits, it lives only in this page.
    #[serde(skip_serializing_if = "Option::is_none")]
    persisted: Option<bool>,
}

impl CallResult {
    /// Sent now by `transport`: `ok` when the collector (or, for a
    /// beacon, the browser) took it, queued for a retry otherwise.
    fn sent(tracking: JsValue, transport: Transport, ok: bool) -> CallResult {
        CallResult {
            already_sent: None,
            transport: Some(transport.name()),
            ..CallResult::unsent(tracking, ok)
        }
    }

    /// Nothing was sent now: it waits in the queue (`ok` false), or this
    /// browser delivered it before (`alreadySent`).
    fn unsent(tracking: JsValue, already_sent: bool) -> CallResult {
        CallResult {
            ok: already_sent,
            queued: !already_sent,
            already_sent: already_sent.then_some(true),
            status: None,
            body: JsValue::NULL,
            transport: None,
            retry_at: None,
            error: JsValue::UNDEFINED,
            tracking,
            persisted: None,
        }
    }
}

/// What `flush()` resolves to.
#[derive(Serialize)]
struct FlushResult {
    sent: u32,
    waiting: u32,
}

/// A checked call, ready to send.
struct Plan {
    id: String,
    url: String,
    body: String,
    timeout_ms: u32,
    transport: Transport,
    /// The tracking as a JS object (the result's `tracking`).
    tracking: JsValue,
    /// Whether its record is in storage (not only in this page's memory).
    persisted: bool,
}

impl Plan {
    /// A result about this plan's tracking, saying when it is not stored.
    fn result(&self, mut result: CallResult) -> JsValue {
        result.persisted = (!self.persisted).then_some(false);
        to_js(&result)
    }
}

/// `createSaasTracking(...)`: checked, queued, and sent at once (a beacon
/// in this task, a fetch as soon as the tracking's lock is held).
pub fn create(args: &[JsValue]) -> Promise {
    admit(args).unwrap_or_else(|err| reject(&err))
}

fn admit(args: &[JsValue]) -> Result<Promise, Error> {
    let values = convert::call_values(args, false, &TRACKING_OPTIONS)?;
    let input = call::read(&values)?;
    let now = now()?;
    let outbound = DEFAULTS.with_borrow(|d| Outbound::prepare(d.under(input), now))?;
    schedule::listen();
    let tracking = to_js(&outbound.tracking);
    let mut plan = Plan {
        body: storage::stringify(&tracking),
        id: outbound.id,
        url: outbound.url,
        timeout_ms: outbound.timeout_ms,
        transport: outbound.transport,
        tracking,
        persisted: true,
    };
    let now = now.as_millis();
    let existing = storage::load(&plan.id);
    Ok(match steps::admit(existing.as_ref(), now) {
        Admission::AlreadySent => resolved(&CallResult::unsent(plan.tracking, true)),
        Admission::InFlight => {
            // The attempt in flight settles it; if it dies, the timer retries.
            schedule::arm_sooner(existing.and_then(|r| r.due_at(now)).map(|at| at - now));
            resolved(&CallResult::unsent(plan.tracking, false))
        }
        Admission::Queued => {
            if existing.is_none_or(|r| r.accepted_ms.is_some()) {
                let record = Record::new(plan.url.clone(), plan.body.clone(), plan.timeout_ms, now);
                plan.persisted = storage::save(&plan.id, &record);
                if !plan.persisted && !WARNED.replace(true) {
                    warn("the queue cannot be stored (storage full or disabled): a waiting tracking is lost when the page closes");
                }
                tidy(now);
            }
            if plan.transport == Transport::Beacon {
                beacon(plan)
            } else {
                let id = plan.id.clone();
                let lease = steps::lease_ms(plan.timeout_ms);
                locks::guarded(&id, lease, Box::new(|turn| attempt(plan, turn)))
            }
        }
    })
}

fn resolved(result: &CallResult) -> Promise {
    Promise::resolve(&to_js(result))
}

/// One attempt at a call's tracking, holding its lock: its request
/// starts now; the job gives the call's result.
fn attempt(plan: Plan, turn: Turn) -> Job {
    let pending = match start(&plan.id, turn) {
        Ok(pending) => pending,
        Err(Claim::Accepted) => return answered(Ok(plan.result(CallResult::unsent(plan.tracking.clone(), true)))),
        Err(Claim::Busy) => return answered(Ok(plan.result(CallResult::unsent(plan.tracking.clone(), false)))),
        // Claimed, but fetch could not start.
        Err(Claim::Go) if plan.transport.fallback() == Some(Transport::Beacon) => {
            return Box::pin(JsFuture::from(beacon(plan)));
        }
        Err(Claim::Go) => {
            let settled = settle(&plan.id, Outcome::Unavailable, None);
            let error = settled.error.unwrap_or(Error::TransportUnavailable);
            return answered(Err(convert::error(&error, None)));
        }
    };
    Box::pin(async move {
        let (settled, answer) = conclude(&plan.id, pending).await;
        if settled.verdict == Verdict::Rejected {
            let error = settled.error.unwrap_or(Error::Network);
            return Err(convert::error(&error, answer.as_ref()));
        }
        let mut result = CallResult::sent(
            plan.tracking.clone(),
            Transport::Fetch,
            settled.verdict == Verdict::Accepted,
        );
        result.retry_at = settled.retry_at.map(Timestamp::to_rfc3339);
        match answer {
            Some(answer) => {
                result.status = Some(answer.status);
                result.body = answer.body;
            }
            None => result.error = settled.error.map_or(JsValue::UNDEFINED, |e| convert::error(&e, None)),
        }
        Ok(plan.result(result))
    })
}

/// A job whose answer is known already.
fn answered(answer: Result<JsValue, JsValue>) -> Job {
    Box::pin(std::future::ready(answer))
}

/// A beacon, in this task: taken by the browser counts as delivered.
fn beacon(plan: Plan) -> Promise {
    let taken = transport::beacon(&plan.url, &plan.body);
    let settled = settle(
        &plan.id,
        if taken {
            Outcome::Delivered
        } else {
            Outcome::Unavailable
        },
        None,
    );
    if !taken {
        return reject(&settled.error.unwrap_or(Error::TransportUnavailable));
    }
    let result = plan.result(CallResult::sent(plan.tracking.clone(), Transport::Beacon, true));
    let id = plan.id;
    let _ = promise(async move {
        accepted::mark(&id, now_ms()).await;
        Ok(JsValue::UNDEFINED)
    });
    Promise::resolve(&result)
}

/// Records an attempt's outcome (see [`steps::settle`]) and arms the timer
/// for what waits.
fn settle(id: &str, outcome: Outcome, retry_after: Option<&str>) -> Settled {
    let now = now().unwrap_or(Timestamp::EPOCH);
    let stored = storage::load(id);
    let mut record = stored.clone().unwrap_or_default();
    let header = retry_after.map(|value| {
        let date = Date::parse(value);
        RetryAfter {
            value,
            date_ms: date.is_finite().then_some(date as i64),
        }
    });
    let settled = steps::settle(&mut record, outcome, header, now, Math::random());
    match settled.verdict {
        Verdict::Rejected => storage::remove(id),
        Verdict::Accepted => {
            storage::save(id, &record);
        }
        Verdict::Retry if stored.is_some() => {
            storage::save(id, &record);
            // Only this record's due time changed.
            let now = now.as_millis();
            schedule::arm_sooner(record.due_at(now).map(|at| at - now));
        }
        Verdict::Retry => {}
    }
    settled
}

/// Reads a POST's answer and records it; an accepted tracking goes into
/// IndexedDB's accepted set before anyone else may take its lock.
async fn conclude(id: &str, pending: Promise) -> (Settled, Option<Answer>) {
    let reply = transport::reply(pending).await;
    let settled = settle(id, reply.outcome, reply.retry_after.as_deref());
    if settled.verdict == Verdict::Accepted {
        accepted::mark(id, now_ms()).await;
    }
    let answer = match reply.outcome {
        Outcome::Status(status) => Some(Answer {
            status,
            body: answer_body(&reply.text),
        }),
        _ => None,
    };
    (settled, answer)
}

/// Forgets what the store should not keep (see [`queue::sweep`]), warns
/// when waiting trackings were given up, and returns the rest.
fn tidy(now: i64) -> Vec<(String, Record)> {
    let records = storage::all();
    let (forget, given_up) = queue::sweep(&records, now);
    let mut kept = Vec::with_capacity(records.len());
    for (i, (id, record)) in records.into_iter().enumerate() {
        if forget.contains(&i) {
            storage::remove(&id);
        } else {
            kept.push((id, record));
        }
    }
    if given_up > 0 {
        warn("trackings were dropped from the queue: older than 7 days, or past its 100");
    }
    kept
}

/// Why the queue is being sent.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// On load, on the retry timer and when the page is hidden: what is
    /// due, each under its lock.
    Due,
    /// `flush()` and the browser coming back online: everything not in
    /// flight, backoff or not.
    Forced,
    /// The page is left (`pagehide`, `beforeunload`): what is due, started
    /// at once, without waiting for a lock the page may not live to get.
    Leaving,
}

/// One attempt at a waiting tracking: claims it (see [`steps::claim`]),
/// stores what that changed and starts its POST now. `Err` with the claim
/// when there is nothing to send, or `Claim::Go` when fetch could not
/// start.
fn start(id: &str, turn: Turn) -> Result<Promise, Claim> {
    if !turn.held {
        return Err(Claim::Busy);
    }
    let mut record = storage::load(id);
    let claim = steps::claim(record.as_mut(), now_ms(), turn.accepted_at);
    let record = record.ok_or(claim)?;
    if claim == Claim::Busy {
        return Err(claim);
    }
    storage::save(id, &record);
    if claim != Claim::Go {
        return Err(claim);
    }
    transport::post(&record.url, &record.body, record.timeout_ms).ok_or(Claim::Go)
}

/// Whether a flush's attempt got the tracking accepted.
async fn delivered(id: &str, pending: Result<Promise, Claim>) -> JsValue {
    match pending {
        Ok(pending) => (conclude(id, pending).await.0.verdict == Verdict::Accepted).into(),
        Err(claim) => {
            if claim == Claim::Go {
                settle(id, Outcome::Network, None);
            }
            JsValue::FALSE
        }
    }
}

/// Sends the waiting trackings; resolves `{ sent, waiting }` and never
/// rejects.
pub fn send(mode: Mode) -> Promise {
    schedule::listen();
    let now = now_ms();
    let records = tidy(now);
    // Wakes for what is not due yet, and for attempts left in flight by a
    // page that went away, once their lease is over.
    schedule::arm(queue::next_due_in(records.iter().map(|(_, r)| r), now));
    let attempts: Vec<Promise> = records
        .into_iter()
        .filter(|(_, r)| r.is_due(now, mode == Mode::Forced))
        .map(|(id, record)| {
            if mode == Mode::Leaving {
                let pending = start(&id, Turn::UNLOCKED);
                return promise(async move { Ok(delivered(&id, pending).await) });
            }
            let key = id.clone();
            let task: locks::Task = Box::new(move |turn| {
                let pending = start(&id, turn);
                Box::pin(async move { Ok(delivered(&id, pending).await) })
            });
            locks::guarded(&key, steps::lease_ms(record.timeout_ms), task)
        })
        .collect();
    promise(async move {
        let mut sent = 0;
        for attempt in attempts {
            sent += u32::from(JsFuture::from(attempt).await.ok().and_then(|v| v.as_bool()) == Some(true));
        }
        let waiting = storage::all().iter().filter(|(_, r)| r.accepted_ms.is_none()).count();
        Ok(to_js(&FlushResult {
            sent,
            waiting: u32::try_from(waiting).unwrap_or(u32::MAX),
        }))
    })
}

/// `configure({ baseUrl, partnerKey, timeoutMs, transport })`: kept as
/// defaults for later calls only when every option given is valid.
pub fn configure(options: &JsValue) -> Promise {
    let checked = convert::call_values(std::slice::from_ref(options), true, &CONFIGURE_OPTIONS).and_then(|values| {
        let options = call::read(&values)?.as_configure();
        options.check()?;
        DEFAULTS.with_borrow_mut(|d| d.set(options));
        Ok(())
    });
    match checked {
        Ok(()) => Promise::resolve(&JsValue::UNDEFINED),
        Err(err) => reject(&err),
    }
}
