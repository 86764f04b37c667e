//! onramp-core: every rule of onramp-pixel, in plain Rust without I/O.
//!
//! - The tracking's rules: [`text`], [`time`], [`endpoint`], [`tracking`],
//!   the call's options and input ([`options`], [`call`]), what goes on the
//!   wire ([`outbound`]) and the one error type ([`error`]).
//! - The queue ([`queue`]: one record per tracking) and the retry policy
//!   ([`retry`]).
//! - Each step of a tracking's life over its record ([`steps`]), and the
//!   delivery engine that decides every step ([`engine`]), written once
//!   against a [`host::Host`]: the browser is one host, the simulation in
//!   `core/tests/` another.
//!
//! The browser host (`onramp-pixel`) and the sandbox collector use the same
//! rules, so both ends agree on what a valid tracking is.
#![deny(missing_docs)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)
)]

pub mod call;
pub mod endpoint;
pub mod engine;
pub mod error;
#[cfg(feature = "json")]
pub mod faults;
pub mod host;
pub mod options;
pub mod outbound;
pub mod queue;
pub mod referral;
pub mod retry;
pub mod steps;
#[cfg(feature = "json")]
pub mod submission;
pub mod text;
pub mod time;
pub mod tracking;

pub use error::{Error, Field};
pub use tracking::Tracking;
