//! A simulated world for the delivery engine: several tabs of one browser
//! profile, each running an [`Engine`](onramp_core::engine::Engine) over a
//! [`Tab`] host, sharing one record store (`localStorage`, whose writes
//! reach the other tabs a little later, as across processes), one accepted
//! set (IndexedDB, consistent), one lock manager (Web Locks) or none (a
//! lease in IndexedDB), one collector that answers 201/200, 503, 429 with
//! `Retry-After`, 422, hangs or is down, and one clock that can jump by
//! days.
//!
//! Every host effect completes through the world's agenda, at a virtual
//! time drawn from a seeded generator, so one seed is one schedule, and it
//! replays. Four parts:
//!
//! - [`world`]: what the tabs share (storage, the accepted set, locks and
//!   leases, the clock) and the agenda that moves it.
//! - [`host`]: one tab as the engine's host, over the world.
//! - [`network`]: requests, beacons and the collector that answers them.
//! - [`oracle`]: the README's promises, checked as requests start and
//!   land, and after a schedule.
//! - [`executor`]: the pages and their tasks, run as the browser's
//!   executor runs them (only woken tasks, in an order the seed draws among
//!   those a browser could run), with a probe that fails the run when a
//!   task could go on but was never woken.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

pub mod executor;
pub mod host;
pub mod network;
pub mod oracle;
pub mod world;

use onramp_core::outbound::CallInput;

pub use executor::Sim;
pub use world::{Collector, Planted, Rng, World};

/// How long the README says a tracking waits, and an accepted one is
/// remembered: 7 days (written here, not read from the core, so that a
/// change to the core's constant is caught).
pub const TTL_MS: i64 = 7 * 24 * 3_600_000;

/// The wall clock at the start of every schedule (epoch ms).
pub const START_WALL: f64 = 1_795_718_581_000.0;
const HOUR: f64 = 3_600_000.0;
const DAY: f64 = 24.0 * HOUR;

thread_local! {
    /// Whether to print what happens (`ONRAMP_SIM_TRACE=1`).
    static TRACE: bool = std::env::var_os("ONRAMP_SIM_TRACE").is_some();
}

/// Prints a line of the schedule when tracing.
pub fn trace(t: f64, line: impl FnOnce() -> String) {
    if TRACE.with(|t| *t) {
        println!("{:>12.1} {}", t, line());
    }
}

/// The day, for schedules.
pub const fn day() -> f64 {
    DAY
}

/// The hour, for schedules.
pub const fn hour() -> f64 {
    HOUR
}

/// A call of the simulated page for `customer`.
pub fn input(customer: &str, beacon: bool, timeout_ms: f64) -> CallInput<'_> {
    CallInput {
        partner_key: Some("pk_sim"),
        service_name: Some("Sim CRM"),
        customer_id: Some(customer),
        purchased_at: None,
        base_url: Some("https://collector.example"),
        timeout_ms: Some(timeout_ms),
        transport: Some(if beacon { "beacon" } else { "fetch" }),
        require_referral: None,
    }
}
