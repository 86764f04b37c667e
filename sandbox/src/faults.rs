//! The faults a test collector can be asked for, read by the core
//! (`onramp_core::faults`), so that the sandbox and the test kit's collector
//! take and refuse the same ones.

pub use onramp_core::faults::{from_body, Faults};
