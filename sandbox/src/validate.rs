//! Reads a submitted JSON body with the core's own reader
//! (`onramp_core::submission`), so that the sandbox and the pixel can never
//! disagree on what is valid.

pub use onramp_core::submission::{json_body, tracking_from_json, Problem};
