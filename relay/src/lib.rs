//! `onramp-relay`: reports trackings from the provider's server through a
//! transactional outbox. The application writes one row in the same
//! transaction as the account; the relay delivers it to the OnRamp with
//! the same engine as the pixel (`onramp-core`): its checks, its retry and
//! `Retry-After` rules, its TTL and its exactly-once bookkeeping. See
//! docs/server.md.
//!
//! The engine's third host (after the browser and the simulation) claims a
//! batch of rows into memory and runs the engine over them, rather than
//! making the engine's record store asynchronous: the database's claim is
//! the tracking's lock, and the browser's path keeps its synchronous store
//! (no byte or await added to the shipped module). Why, at length:
//! [`host`].
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod cli;
pub mod host;
pub mod row;
pub mod run;
pub mod store;
