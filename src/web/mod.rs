//! The browser (and Node) glue: reads JS values, the clock and storage,
//! runs one step of the core and answers in JSON text. Everything
//! asynchronous (locks, IndexedDB, the network, timers, page events) is in
//! the package's JS entry, which calls these steps.

pub mod config;
pub mod env;
pub mod input;
pub mod storage;

use wasm_bindgen::JsValue;

use crate::error::Error;
use crate::json::{self, Object};
use crate::options::{CONFIGURE_OPTIONS, DEFAULT_TIMEOUT_MS, TRACKING_OPTIONS};
use crate::outbound::Outbound;
use crate::steps::{self, Outcome};

fn failure(err: &Error) -> String {
    Object::new().raw("error", &json::error(err)).finish()
}

/// Validates and queues a call; answers its plan or `{error}`.
pub fn create_saas_tracking(
    first: &JsValue,
    service_name: &JsValue,
    customer_id: &JsValue,
    purchased_at: &JsValue,
) -> String {
    let read = if input::is_options_object(first) {
        input::Read::from_options(first, &TRACKING_OPTIONS)
    } else {
        input::Read::from_positional(first, service_name, customer_id, purchased_at)
    };
    let prepared = read.and_then(|read| Outbound::prepare(read.as_call(), &config::current(), env::now()?));
    match prepared {
        Ok(outbound) => {
            let mut state = storage::load();
            let (id, admission) = steps::admit(&mut state, &outbound, env::now_ms());
            storage::save(&state);
            steps::plan_json(&outbound, &id, admission)
        }
        Err(err) => failure(&err),
    }
}

/// `configure({ baseUrl, partnerKey, timeoutMs, transport })`: all or
/// nothing, an invalid option changes nothing.
pub fn configure(options: &JsValue) -> String {
    let checked = input::Read::from_options(options, &CONFIGURE_OPTIONS).and_then(|read| read.as_configure().check());
    match checked {
        Ok(defaults) => {
            config::merge(defaults);
            String::new()
        }
        Err(err) => failure(&err),
    }
}

/// See [`steps::claim`].
pub fn claim(id: &str, timeout_ms: u32, accepted_at: f64) -> u8 {
    let accepted_at = accepted_at.is_finite().then_some(accepted_at as i64);
    let mut state = storage::load();
    let claim = steps::claim(&mut state, id, env::now_ms(), timeout_ms, accepted_at);
    storage::save(&state);
    claim as u8
}

/// See [`steps::settle`].
pub fn settle(id: &str, outcome: f64, retry_after: Option<&str>) -> String {
    let Ok(now) = env::now() else {
        return failure(&Error::Network);
    };
    let mut state = storage::load();
    let settled = steps::settle(
        &mut state,
        id,
        Outcome::from_code(outcome),
        retry_after,
        now,
        js_sys::Math::random(),
    );
    storage::save(&state);
    settled.to_json()
}

/// See [`steps::due_json`].
pub fn due(force: bool) -> String {
    let mut state = storage::load();
    let timeout = config::current().timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    let due = steps::due_json(&mut state, env::now_ms(), force, timeout);
    storage::save(&state);
    due
}

/// See [`steps::next_due_in`]; -1 when nothing waits.
pub fn next_due() -> f64 {
    steps::next_due_in(&storage::load(), env::now_ms()).map_or(-1.0, |ms| ms as f64)
}

/// How many trackings wait.
pub fn waiting() -> u32 {
    storage::load().queue.len() as u32
}
