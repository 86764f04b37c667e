//! onramp-pixel: reports a SaaS marketplace signup to the marketplace's
//! OnRamp collector (`POST {baseUrl}/api/SaasTrackings`).
//!
//! This crate is the browser's host of `onramp-core`, which holds every
//! rule: the web layer in `web` (compiled for `wasm32` only) reads JS
//! values, the clock, storage and the network and hands plain data to the
//! core; [`exports`] are the wasm's exports.
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

// The executor's bookkeeping: used by `web` (wasm32 only), built natively
// for its tests.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod places;
#[cfg(target_arch = "wasm32")]
mod web;

/// The wasm's exports: each reads the caller's values, calls the core and
/// answers a Promise that resolves to the result or rejects with an
/// `OnrampError` (`name`, `code`, `field`, `message`). None throws.
#[cfg(target_arch = "wasm32")]
pub mod exports {
    use js_sys::Promise;
    use onramp_core::referral::{Referral, Source};
    use wasm_bindgen::prelude::*;

    use crate::web;

    /// `createSaasTracking(partnerKey, serviceName, customerId, purchasedAt?)`
    /// or `createSaasTracking({ partnerKey, serviceName, customerId,
    /// purchasedAt, baseUrl, timeoutMs, transport, requireReferral })`:
    /// validates, queues and sends the tracking. The visitor's kept
    /// referral, as the JS entry read it (`localStorage` or the cookie),
    /// comes for the engine's gate as its source (an index of
    /// `onramp_core::referral::SOURCES`) and its times (epoch ms).
    #[wasm_bindgen(js_name = createSaasTracking)]
    pub fn create_saas_tracking(
        first: JsValue,
        service_name: JsValue,
        customer_id: JsValue,
        purchased_at: JsValue,
        source: Option<u32>,
        at: f64,
        until: f64,
    ) -> Promise {
        let referral = source.and_then(Source::from_index).map(|source| Referral {
            source,
            at: at as i64,
            until: until as i64,
        });
        web::create(&[first, service_name, customer_id, purchased_at], referral)
    }

    /// Sets defaults (`baseUrl`, `partnerKey`, `timeoutMs`, `transport`) for
    /// later calls; all or nothing.
    #[wasm_bindgen]
    pub fn configure(options: JsValue) -> Promise {
        web::configure(&options)
    }

    /// Sends every tracking waiting in the queue now, backoff or not;
    /// resolves `{ sent, waiting }`.
    #[wasm_bindgen]
    pub fn flush() -> Promise {
        web::flush()
    }

    /// Runs once the module is instantiated.
    #[wasm_bindgen(start)]
    fn start() {
        crate::web::start();
    }
}

/// A small free-list allocator: the pixel allocates little and briefly, so
/// dlmalloc's speed is not worth its size in the shipped module.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());
