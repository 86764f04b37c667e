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
pub mod options;
pub mod outbound;
pub mod queue;
pub mod retry;
pub mod time;
pub mod tracking;

#[cfg(target_arch = "wasm32")]
mod web;

pub use error::{Error, Field};
pub use tracking::Tracking;

#[cfg(target_arch = "wasm32")]
pub mod exports {
    //! The JS API: one-line forwards to the glue in `web`.
    use js_sys::Promise;
    use wasm_bindgen::prelude::wasm_bindgen;
    use wasm_bindgen::JsValue;

    /// Reports a signup: `createSaasTracking(partnerKey, serviceName,
    /// customerId, purchasedAt?)` or `createSaasTracking({ ... })`.
    #[wasm_bindgen(js_name = createSaasTracking)]
    pub fn create_saas_tracking(
        first: JsValue,
        service_name: JsValue,
        customer_id: JsValue,
        purchased_at: JsValue,
    ) -> Promise {
        crate::web::create_saas_tracking(first, service_name, customer_id, purchased_at)
    }

    /// Sets defaults (`baseUrl`, `partnerKey`, `timeoutMs`, `transport`) for later calls.
    #[wasm_bindgen]
    pub fn configure(options: JsValue) -> Promise {
        crate::web::configure(options)
    }

    /// Sends every tracking waiting in the queue now, backoff or not;
    /// resolves `{ sent, waiting }`.
    #[wasm_bindgen]
    pub fn flush() -> Promise {
        crate::web::flush()
    }

    /// Sends the waiting trackings whose backoff is over (called on load).
    #[wasm_bindgen]
    pub fn resume() -> Promise {
        crate::web::resume()
    }
}
