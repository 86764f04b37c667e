//! The glue between the wasm's exports and the core. Every export is a
//! pure step: the JS entry passes the stored queue text, the clock and the
//! call's arguments as text and numbers, and gets back one JSON object
//! (with the queue text to store, `store`, how many trackings wait, `waiting`,
//! and when the next is due, `next`).
//! The module keeps no state between steps.

use crate::error::Error;
use crate::input::{self, Call};
use crate::json::{self, Object};
use crate::options::{CONFIGURE_OPTIONS, TRACKING_OPTIONS};
use crate::outbound::Outbound;
use crate::queue::State;
use crate::retry::RetryAfter;
use crate::steps::{self, Outcome};
use crate::time::Timestamp;

fn failure(err: &Error) -> String {
    Object::new().raw("error", &json::error(err)).finish()
}

/// Adds what every step answers about the queue: the text to store, how
/// many trackings wait and when the next is due (ms from now, -1: none).
fn with_store(answer: Object, state: &State, now: i64) -> String {
    answer
        .string("store", &state.encode())
        .integer("waiting", state.queue.len() as i64)
        .integer("next", steps::next_due_in(state, now).unwrap_or(-1))
        .finish()
}

/// The JS clock (`Date.now()`); the epoch where it is unusable.
fn clock(now: f64) -> Timestamp {
    Timestamp::from_epoch_ms(now).unwrap_or(Timestamp::EPOCH)
}

/// Validates and queues a call; answers its plan or `{error}`.
pub fn create_saas_tracking(store: &str, now: f64, call: &str, purchased_ms: f64, timeout_ms: f64) -> String {
    let call = Call::decode(call);
    let prepared = input::read(&call, purchased_ms, timeout_ms, &TRACKING_OPTIONS)
        .and_then(|call| Outbound::prepare(call, Timestamp::from_epoch_ms(now)?));
    match prepared {
        Ok(outbound) => {
            let mut state = State::decode(store);
            let now = clock(now).as_millis();
            let admission = steps::admit(&mut state, &outbound, now);
            with_store(steps::plan(&outbound, admission), &state, now)
        }
        Err(err) => failure(&err),
    }
}

/// The steps other than a call, by number: 0 `configure`, 1 `claim`,
/// 2 `settle`, 3 `due`; `text`, `x` and `y` are each step's arguments (see
/// `crate::exports::step`).
pub fn step(op: u32, store: &str, now: f64, text: &str, x: f64, y: f64) -> String {
    match op {
        0 => configure(text, y),
        1 => claim(store, now, text, x, y),
        2 => {
            // The id, then the Retry-After value and Date.parse's reading
            // of it, each after a newline.
            let (id, retry_after) = match crate::text::split_once(text, b'\n') {
                Some((id, header)) => {
                    let (value, date) = crate::text::split_once(header, b'\n').unwrap_or((header, ""));
                    let date_ms = crate::text::parse_integer(date);
                    (id, Some(RetryAfter { value, date_ms }))
                }
                None => (text, None),
            };
            settle(store, now, y, id, x, retry_after)
        }
        _ => due(store, now, x != 0.0),
    }
}

/// `configure({ baseUrl, partnerKey, timeoutMs, transport })`: checks every
/// option given; answers `{}` or `{error}`. The JS entry keeps the options
/// as defaults only when all are valid.
fn configure(call: &str, timeout_ms: f64) -> String {
    let call = Call::decode(call);
    let checked =
        input::read(&call, f64::NAN, timeout_ms, &CONFIGURE_OPTIONS).and_then(|call| call.as_configure().check());
    match checked {
        Ok(()) => Object::new().finish(),
        Err(err) => failure(&err),
    }
}

/// See [`steps::claim`]; answers `{claim, store}`.
fn claim(store: &str, now: f64, id: &str, timeout_ms: f64, accepted_at: f64) -> String {
    let timeout_ms = timeout_ms as u32;
    let accepted_at = accepted_at.is_finite().then_some(accepted_at as i64);
    let mut state = State::decode(store);
    let now = clock(now).as_millis();
    let claim = steps::claim(&mut state, id, now, timeout_ms, accepted_at);
    with_store(Object::new().integer("claim", claim as i64), &state, now)
}

/// See [`steps::settle`]; answers `{verdict, retryAt, error, store}`.
fn settle(store: &str, now: f64, random: f64, id: &str, outcome: f64, retry_after: Option<RetryAfter<'_>>) -> String {
    let now = clock(now);
    let mut state = State::decode(store);
    let settled = steps::settle(&mut state, id, Outcome::from_code(outcome), retry_after, now, random);
    with_store(settled.answer(), &state, now.as_millis())
}

/// See [`steps::due`]; answers `{expired, due, store}`.
fn due(store: &str, now: f64, force: bool) -> String {
    let mut state = State::decode(store);
    let now = clock(now).as_millis();
    let due = steps::due(&mut state, now, force);
    with_store(due, &state, now)
}
