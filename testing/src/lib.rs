//! The rules of the test kit's collector (`onramp-pixel/testing`): a POST's
//! body read as the sandbox reads it (`onramp_core::submission`), answered
//! with what the sandbox answers, so that a provider's tests meet the same
//! collector without a Rust toolchain. Compiled to wasm for Node; nothing
//! here is in what visitors download.

use onramp_core::faults::{self, Fault};
use onramp_core::submission::{json_body, tracking_from_json, Problem};
use onramp_core::time::Timestamp;
use onramp_core::Tracking;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// What the collector answers a POST with, before storage: the tracking to
/// store, or the error answer and its status.
#[derive(Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Checked {
    /// A valid tracking, normalised as the sandbox stores it.
    Valid {
        /// The tracking.
        tracking: Tracking,
    },
    /// A refused one: 400 for a body that is not JSON, 422 for a tracking
    /// the rules refuse.
    Refused {
        /// The HTTP status.
        status: u16,
        /// `{code, field, message}`.
        error: Problem,
    },
}

/// Checks a POST's body received at `now_ms` (epoch ms).
pub fn check_body(body: &[u8], now_ms: f64) -> Checked {
    let now = Timestamp::from_epoch_ms(now_ms).unwrap_or(Timestamp::EPOCH);
    let value = match json_body(body) {
        Ok(value) => value,
        Err(message) => {
            return Checked::Refused {
                status: 400,
                error: Problem::new("invalid_json", None, message),
            }
        }
    };
    match tracking_from_json(&value, now) {
        Ok(tracking) => Checked::Valid { tracking },
        Err(err) => Checked::Refused {
            status: 422,
            error: Problem::invalid(&err),
        },
    }
}

/// `check(body, nowMs)`: the answer as JSON text (see [`Checked`]).
#[wasm_bindgen]
pub fn check(body: &[u8], now_ms: f64) -> String {
    serde_json::to_string(&check_body(body, now_ms)).unwrap_or_default()
}

/// What the collector answers `POST /_sandbox/faults` (or `fault()`) with,
/// before queueing: the faults, or the sandbox's 400 `invalid_fault`.
#[derive(Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FaultsAsked {
    /// Faults the collector can do, in order.
    Valid {
        /// `{status, retryAfter, delayMs, drop, times}` each.
        faults: Vec<Fault>,
    },
    /// Something it cannot do: always 400.
    Refused {
        /// 400.
        status: u16,
        /// `invalid_fault` and why.
        error: Problem,
    },
}

/// Reads a fault (or a list of them) as the sandbox reads it.
pub fn faults_body(body: &[u8]) -> FaultsAsked {
    match faults::from_body(body) {
        Ok(faults) => FaultsAsked::Valid { faults },
        Err(message) => FaultsAsked::Refused {
            status: 400,
            error: Problem::new("invalid_fault", None, message),
        },
    }
}

/// `faults(body)`: the answer as JSON text (see [`FaultsAsked`]).
#[wasm_bindgen]
pub fn faults(body: &[u8]) -> String {
    serde_json::to_string(&faults_body(body)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: f64 = 1_795_718_581_000.0;

    #[test]
    fn answers_as_the_sandbox() {
        let ok = br#"{"partnerKey":"pk","serviceName":"s","customerId":"c","purchasedAt":"2026-11-26T19:43:01+01:00"}"#;
        let Checked::Valid { tracking } = check_body(ok, NOW) else {
            panic!("valid")
        };
        assert_eq!(tracking.purchased_at, "2026-11-26T18:43:01.000Z");
        assert!(matches!(check_body(b"{", NOW), Checked::Refused { status: 400, .. }));
        match check_body(br#"{"partnerKey":"pk"}"#, NOW) {
            Checked::Refused { status, error } => {
                assert_eq!(
                    (status, error.code, error.field.as_deref()),
                    (422, "missing_field", Some("serviceName"))
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reads_faults_as_the_sandbox() {
        let Ok(answer) = serde_json::to_value(faults_body(br#"{"status":503,"retryAfter":2,"times":2}"#)) else {
            panic!("serialises")
        };
        assert_eq!(
            answer,
            serde_json::json!({"faults":[{"status":503,"retryAfter":"2","delayMs":0,"drop":false,"times":2}]})
        );
        for bad in [&b"{"[..], br#"{"retryAfter":1}"#, br#"[{"drop":"yes"}]"#] {
            assert!(matches!(faults_body(bad), FaultsAsked::Refused { status: 400, .. }));
        }
    }
}
