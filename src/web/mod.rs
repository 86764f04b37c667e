//! The browser (and Node) glue: reads JS values, the clock and the
//! environment, hands plain data to the core and sends what it returns.

pub mod config;
pub mod coordination;
pub mod delivery;
pub mod env;
pub mod error;
pub mod input;
pub mod storage;
pub mod transport;

use js_sys::Promise;
use wasm_bindgen::JsValue;

use crate::options::{CONFIGURE_OPTIONS, TRACKING_OPTIONS};
use crate::outbound::Outbound;

/// `createSaasTracking(partnerKey, serviceName, customerId, purchasedAt)` or
/// `createSaasTracking({ ... })`: validates synchronously, starts the request
/// in the same task (so that it survives the page navigating away) and
/// returns a Promise of the result. Never throws.
pub fn create_saas_tracking(
    first: JsValue,
    service_name: JsValue,
    customer_id: JsValue,
    purchased_at: JsValue,
) -> Promise {
    let read = if input::is_options_object(&first) {
        input::Read::from_options(&first, &TRACKING_OPTIONS)
    } else {
        input::Read::from_positional(&first, &service_name, &customer_id, &purchased_at)
    };
    let prepared = read.and_then(|read| {
        let defaults = config::current();
        Outbound::prepare(read.as_call(), &defaults, env::now()?)
    });
    match prepared {
        Ok(outbound) => delivery::submit(outbound),
        Err(err) => Promise::reject(&error::to_js(&err)),
    }
}

/// `configure({ baseUrl, partnerKey, timeoutMs, transport })`: defaults for
/// later calls. All or nothing: an invalid option changes nothing.
pub fn configure(options: JsValue) -> Promise {
    let checked = input::Read::from_options(&options, &CONFIGURE_OPTIONS).and_then(|read| read.as_configure().check());
    match checked {
        Ok(defaults) => {
            config::merge(defaults);
            Promise::resolve(&JsValue::UNDEFINED)
        }
        Err(err) => Promise::reject(&error::to_js(&err)),
    }
}

/// `flush()`: sends every waiting tracking now, backoff or not.
pub fn flush() -> Promise {
    delivery::flush(delivery::Flush::Forced)
}

/// Sends the waiting trackings whose backoff is over (on load).
pub fn resume() -> Promise {
    delivery::flush(delivery::Flush::Due)
}
