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
pub mod input;
pub mod json;
pub mod options;
pub mod outbound;
pub mod queue;
pub mod retry;
pub mod steps;
pub mod text;
pub mod time;
pub mod tracking;

#[cfg(target_arch = "wasm32")]
mod web;

pub use error::{Error, Field};
pub use tracking::Tracking;

#[cfg(target_arch = "wasm32")]
pub mod exports {
    //! The wasm's exports: pure, synchronous steps forwarded to the glue in
    //! `web`. They take the stored queue text (`store`), the clock (`now`,
    //! epoch ms) and text and numbers, never JS values, and answer one JSON
    //! object; those that read the queue add `store` (the text to store),
    //! `waiting` and `next` (ms until the next tracking is due, -1: none). The package's JS entry (`www/index.js`) reads the arguments,
    //! keeps the queue in `localStorage` and does the I/O.
    use wasm_bindgen::prelude::wasm_bindgen;

    /// Validates a call and queues it; answers the plan to send it
    /// (`{id, url, body, timeoutMs, transport, fallback, state, dropped,
    /// store}`) or `{error: {code, field, message}}`. `call` is the call
    /// text of [`crate::input::Call`]; `purchased_ms` and `timeout_ms` are
    /// the numbers beside it.
    #[wasm_bindgen(js_name = createSaasTracking)]
    pub fn create_saas_tracking(store: &str, now: f64, call: &str, purchased_ms: f64, timeout_ms: f64) -> String {
        crate::web::create_saas_tracking(store, now, call, purchased_ms, timeout_ms)
    }

    /// Sets defaults (`baseUrl`, `partnerKey`, `timeoutMs`, `transport`) for
    /// later calls; answers `{}`, or `{error}` and changes nothing. The
    /// arguments are as for `createSaasTracking`.
    #[wasm_bindgen]
    pub fn configure(call: &str, purchased_ms: f64, timeout_ms: f64) -> String {
        crate::web::configure(call, purchased_ms, timeout_ms)
    }

    /// Claims a queued tracking for one attempt: `{claim, store}` with
    /// claim 0 send it (leased now), 1 accepted already, 2 not this
    /// attempt's job. `accepted_at` is when IndexedDB says it was accepted
    /// (epoch ms), or NaN.
    #[wasm_bindgen]
    pub fn claim(store: &str, now: f64, id: &str, timeout_ms: u32, accepted_at: f64) -> String {
        crate::web::claim(store, now, id, timeout_ms, accepted_at)
    }

    /// Records an attempt's outcome (an HTTP status, or 0 network error,
    /// 1 timeout, 2 beacon taken, 3 transport unavailable) and the
    /// collector's `Retry-After`; `random` in `[0, 1)` draws the backoff's
    /// jitter. Answers `{verdict, retryAt, error, store}`.
    #[wasm_bindgen]
    pub fn settle(store: &str, now: f64, random: f64, id: &str, outcome: f64, retry_after: Option<String>) -> String {
        crate::web::settle(store, now, random, id, outcome, retry_after)
    }

    /// What a flush sends: `{expired, due: [{id, url, body, timeoutMs}],
    /// store}`; everything not in flight when `force`.
    #[wasm_bindgen]
    pub fn due(store: &str, now: f64, force: bool) -> String {
        crate::web::due(store, now, force)
    }
}

/// A small free-list allocator: the pixel allocates little and briefly, so
/// dlmalloc's speed is not worth its size in the shipped module.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());
