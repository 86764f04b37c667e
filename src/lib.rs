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

    /// Validates a call (with the configured defaults already laid under it
    /// by the JS entry) and queues it; answers the plan to send it
    /// (`{id, url, body, timeoutMs, transport, fallback, state, dropped,
    /// store}`) or `{error: {code, field, message}}`. `call` is the call
    /// text of [`crate::input::Call`]; `purchased_ms` and `timeout_ms` are
    /// the numbers beside it.
    #[wasm_bindgen(js_name = createSaasTracking)]
    pub fn create_saas_tracking(store: &str, now: f64, call: &str, purchased_ms: f64, timeout_ms: f64) -> String {
        crate::web::create_saas_tracking(store, now, call, purchased_ms, timeout_ms)
    }

    /// The steps other than a call, by number (one export keeps the
    /// module and its JS glue small):
    /// - 0 `configure`: checks the options of a `configure()` call (`text`
    ///   as for `createSaasTracking`, `y` its `timeoutMs`); answers `{}` or
    ///   `{error}`. The JS entry keeps valid options as defaults and lays
    ///   them under later calls.
    /// - 1 `claim`: claims the queued tracking `text` (its id) for one
    ///   attempt of `x` ms timeout: `{claim, store}` with claim 0 send it
    ///   (leased now), 1 accepted already, 2 not this attempt's job. `y` is
    ///   when IndexedDB says it was accepted (epoch ms), or NaN.
    /// - 2 `settle`: records an attempt's outcome `x` (an HTTP status, or
    ///   0 network error, 1 timeout, 2 beacon taken, 3 transport
    ///   unavailable) for the tracking `text` (its id; when the collector
    ///   sent a `Retry-After`, then a newline, its value, a newline and the
    ///   value read by `Date.parse`); `y` in `[0, 1)` draws the backoff's
    ///   jitter. Answers `{verdict, retryAt, error, store}`.
    /// - 3 `due`: what a flush sends, `{expired, due: [{id, url, body,
    ///   timeoutMs}], store}`; everything not in flight when `x` is 1.
    #[wasm_bindgen]
    pub fn step(op: u32, store: &str, now: f64, text: &str, x: f64, y: f64) -> String {
        crate::web::step(op, store, now, text, x, y)
    }
}

/// A small free-list allocator: the pixel allocates little and briefly, so
/// dlmalloc's speed is not worth its size in the shipped module.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());
