//! The glue between the wasm's exports and the core. Every export is a
//! pure step: the JS entry passes the stored queue text, the clock and the
//! call's arguments as text and numbers, and gets back one JSON object
//! (with the queue text to store, `store`, how many trackings wait, `waiting`,
//! and when the next is due, `next`).
//! The configured defaults are the module's only state.

pub mod config;

use crate::error::Error;
use crate::input::{self, Call};
use crate::json::{self, Object};
use crate::options::{CONFIGURE_OPTIONS, TRACKING_OPTIONS};
use crate::outbound::Outbound;
use crate::queue::State;
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
        .and_then(|call| config::with(|defaults| Outbound::prepare(call, defaults, Timestamp::from_epoch_ms(now)?)));
    match prepared {
        Ok(outbound) => {
            let mut state = State::decode(store);
            let now = clock(now).as_millis();
            let (id, admission) = steps::admit(&mut state, &outbound, now);
            with_store(steps::plan(&outbound, &id, admission), &state, now)
        }
        Err(err) => failure(&err),
    }
}

/// `configure({ baseUrl, partnerKey, timeoutMs, transport })`: all or
/// nothing, an invalid option changes nothing. Answers `{}` or `{error}`.
pub fn configure(call: &str, purchased_ms: f64, timeout_ms: f64) -> String {
    let call = Call::decode(call);
    let checked =
        input::read(&call, purchased_ms, timeout_ms, &CONFIGURE_OPTIONS).and_then(|call| call.as_configure().check());
    match checked {
        Ok(defaults) => {
            config::merge(defaults);
            Object::new().finish()
        }
        Err(err) => failure(&err),
    }
}

/// See [`steps::claim`]; answers `{claim, store}`.
pub fn claim(store: &str, now: f64, id: &str, timeout_ms: u32, accepted_at: f64) -> String {
    let accepted_at = accepted_at.is_finite().then_some(accepted_at as i64);
    let mut state = State::decode(store);
    let now = clock(now).as_millis();
    let claim = steps::claim(&mut state, id, now, timeout_ms, accepted_at);
    with_store(Object::new().integer("claim", claim as i64), &state, now)
}

/// See [`steps::settle`]; answers `{verdict, retryAt, error, store}`.
pub fn settle(store: &str, now: f64, random: f64, id: &str, outcome: f64, retry_after: Option<String>) -> String {
    let now = clock(now);
    let mut state = State::decode(store);
    let settled = steps::settle(
        &mut state,
        id,
        Outcome::from_code(outcome),
        retry_after.as_deref(),
        now,
        random,
    );
    with_store(settled.answer(), &state, now.as_millis())
}

/// See [`steps::due`]; answers `{expired, due, store}`.
pub fn due(store: &str, now: f64, force: bool) -> String {
    let mut state = State::decode(store);
    let now = clock(now).as_millis();
    let due = steps::due(&mut state, now, force);
    with_store(due, &state, now)
}
