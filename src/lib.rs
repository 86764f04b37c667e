//! onramp-pixel: reports a SaaS marketplace signup to the marketplace's
//! OnRamp collector (`POST {baseUrl}/api/SaasTrackings`).
//!
//! The core ([`tracking`], [`time`], [`endpoint`], [`options`],
//! [`outbound`], [`retry`], [`queue`], [`error`]) is plain Rust without I/O;
//! the browser glue in `web` (compiled for `wasm32` only) reads JS values,
//! the clock, storage and the network and hands plain data to the core. The sandbox collector uses
//! the same core, so both ends agree on what a valid tracking is.
#![deny(missing_docs)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)
)]

pub mod endpoint;
pub mod error;
pub mod json;
pub mod options;
pub mod outbound;
pub mod queue;
pub mod retry;
pub mod steps;
pub mod time;
pub mod tracking;

#[cfg(target_arch = "wasm32")]
mod web;

pub use error::{Error, Field};
pub use tracking::Tracking;

#[cfg(target_arch = "wasm32")]
pub mod exports {
    //! The wasm's exports: one-line forwards to the glue in `web`. They are
    //! synchronous and answer in JSON text; the package's JS entry
    //! (`www/index.js`) turns them into the Promise API and does the I/O.
    use wasm_bindgen::prelude::wasm_bindgen;
    use wasm_bindgen::JsValue;

    /// Validates a call, `(partnerKey, serviceName, customerId, purchasedAt)`
    /// or `({ ... })`, and queues it; answers the plan to send it
    /// (`{id, url, body, timeoutMs, transport, fallback, state, dropped}`)
    /// or `{error: {code, field, message}}`.
    #[wasm_bindgen(js_name = createSaasTracking)]
    pub fn create_saas_tracking(
        first: JsValue,
        service_name: JsValue,
        customer_id: JsValue,
        purchased_at: JsValue,
    ) -> String {
        crate::web::create_saas_tracking(&first, &service_name, &customer_id, &purchased_at)
    }

    /// Sets defaults (`baseUrl`, `partnerKey`, `timeoutMs`, `transport`)
    /// for later calls; answers `""`, or `{error}` and changes nothing.
    #[wasm_bindgen]
    pub fn configure(options: JsValue) -> String {
        crate::web::configure(&options)
    }

    /// Claims a queued tracking for one attempt: 0 send it (leased now),
    /// 1 accepted already, 2 not this attempt's job. `accepted_at` is when
    /// IndexedDB says it was accepted (epoch ms), or NaN.
    #[wasm_bindgen]
    pub fn claim(id: &str, timeout_ms: u32, accepted_at: f64) -> u8 {
        crate::web::claim(id, timeout_ms, accepted_at)
    }

    /// Records an attempt's outcome (an HTTP status, or 0 network error,
    /// 1 timeout, 2 beacon taken, 3 transport unavailable) and the
    /// collector's `Retry-After`; answers `{verdict, retryAt, error}`.
    #[wasm_bindgen]
    pub fn settle(id: &str, outcome: f64, retry_after: Option<String>) -> String {
        crate::web::settle(id, outcome, retry_after.as_deref())
    }

    /// What a flush sends: `{expired, timeoutMs, due: [{id, url, body}]}`;
    /// everything not in flight when `force`.
    #[wasm_bindgen]
    pub fn due(force: bool) -> String {
        crate::web::due(force)
    }

    /// Milliseconds until the next waiting tracking is due; -1 when none waits.
    #[wasm_bindgen(js_name = nextDue)]
    pub fn next_due() -> f64 {
        crate::web::next_due()
    }

    /// How many trackings wait in the queue.
    #[wasm_bindgen]
    pub fn waiting() -> u32 {
        crate::web::waiting()
    }
}
