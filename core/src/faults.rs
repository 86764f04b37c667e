//! Faults on purpose in a collector for tests (the sandbox, and the test
//! kit's collector for providers' own integration tests): the next POSTs of
//! trackings can be answered with an error status (and a `Retry-After`),
//! delayed, or dropped without an answer. Both read them here, so that they
//! take and refuse the same faults.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One fault, applied to the next `times` POSTs of trackings; it serialises
/// as `{"status","retryAfter","delayMs","drop","times"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    /// Answer with this status instead of handling the tracking.
    pub status: Option<u16>,
    /// The `Retry-After` header sent with `status` (seconds or an HTTP date).
    pub retry_after: Option<String>,
    /// Wait this long before answering (or dropping).
    pub delay_ms: u64,
    /// Close the connection without an answer (nothing is stored).
    pub drop: bool,
    /// How many more POSTs this fault applies to.
    pub times: u32,
}

/// A fault as `POST /_sandbox/faults` takes it (unknown options refused,
/// every option optional).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Asked {
    status: Option<u16>,
    retry_after: Option<RetryAfter>,
    delay_ms: Option<u64>,
    drop: Option<bool>,
    times: Option<u32>,
}

/// `Retry-After`: whole seconds, or the header's text (an HTTP date).
#[derive(Deserialize)]
#[serde(untagged)]
enum RetryAfter {
    Seconds(u64),
    Text(String),
}

/// Reads a submitted body of faults (see [`parse`]); when it cannot, why.
pub fn from_body(body: &[u8]) -> Result<Vec<Fault>, String> {
    crate::submission::json_body(body).and_then(parse)
}

/// Reads `[{"status":503,"times":2,"retryAfter":1}, {"delayMs":65000}, {"drop":true}]`.
pub fn parse(value: Value) -> Result<Vec<Fault>, String> {
    let asked: Vec<Asked> = match value {
        Value::Array(_) => serde_json::from_value(value),
        Value::Object(_) => serde_json::from_value(value).map(|one| vec![one]),
        _ => return Err("expected a fault object or a list of them".into()),
    }
    .map_err(|e| e.to_string())?;
    asked.into_iter().map(checked).collect()
}

/// A fault within what the sandbox can do.
fn checked(asked: Asked) -> Result<Fault, String> {
    let within = |key: &str, value: Option<u64>, min: u64, max: u64| match value {
        Some(n) if !(min..=max).contains(&n) => Err(format!("{key} must be a whole number from {min} to {max}")),
        _ => Ok(value),
    };
    let fault = Fault {
        status: within("status", asked.status.map(u64::from), 100, 599)?.map(|s| s as u16),
        retry_after: match asked.retry_after {
            None => None,
            Some(RetryAfter::Seconds(n)) => Some(n.to_string()),
            Some(RetryAfter::Text(s)) if !s.is_empty() && !s.contains(['\r', '\n']) => Some(s),
            Some(RetryAfter::Text(_)) => return Err("retryAfter must be whole seconds or an HTTP date".into()),
        },
        delay_ms: within("delayMs", asked.delay_ms, 0, 600_000)?.unwrap_or(0),
        drop: asked.drop.unwrap_or(false),
        times: within("times", asked.times.map(u64::from), 1, 1_000_000)?.unwrap_or(1) as u32,
    };
    if fault.status.is_none() && fault.delay_ms == 0 && !fault.drop {
        return Err("a fault needs a status, a delayMs or drop".into());
    }
    if fault.retry_after.is_some() && fault.status.is_none() {
        return Err("retryAfter goes with a status".into());
    }
    Ok(fault)
}

/// The faults still to apply, in order; it serialises as their list.
#[derive(Debug, Default, Serialize)]
#[serde(transparent)]
pub struct Faults {
    pending: VecDeque<Fault>,
}

impl Faults {
    /// Queues `faults` after those still pending.
    pub fn add(&mut self, faults: Vec<Fault>) {
        self.pending.extend(faults);
    }

    /// Forgets every pending fault.
    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// Takes one use of the first pending fault: what the next POST suffers.
    pub fn take_one(&mut self) -> Option<Fault> {
        let first = self.pending.front_mut()?;
        first.times -= 1;
        let applied = first.clone();
        if first.times == 0 {
            self.pending.pop_front();
        }
        Some(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_applies_in_order() {
        let faults = parse(json!([{"status":503,"times":2,"retryAfter":1}, {"delayMs":650}, {"drop":true}]));
        let mut queue = Faults::default();
        queue.add(faults.unwrap_or_default());
        let next = |q: &mut Faults| q.take_one().map(|a| (a.status, a.retry_after, a.delay_ms, a.drop));
        assert_eq!(next(&mut queue), Some((Some(503), Some("1".into()), 0, false)));
        assert_eq!(next(&mut queue), Some((Some(503), Some("1".into()), 0, false)));
        assert_eq!(next(&mut queue), Some((None, None, 650, false)));
        assert_eq!(next(&mut queue), Some((None, None, 0, true)));
        assert_eq!(next(&mut queue), None);
    }

    #[test]
    fn lists_what_is_left() -> serde_json::Result<()> {
        let mut queue = Faults::default();
        queue.add(parse(json!([{"status":503,"times":2,"retryAfter":1}, {"drop":true}])).unwrap_or_default());
        queue.take_one();
        assert_eq!(
            serde_json::to_value(&queue)?,
            json!([
                {"status":503,"retryAfter":"1","delayMs":0,"drop":false,"times":1},
                {"status":null,"retryAfter":null,"delayMs":0,"drop":true,"times":1},
            ])
        );
        Ok(())
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        for bad in [
            json!(5),
            json!([{}]),
            json!([{"status": 99}]),
            json!([{"status": 503, "times": 0}]),
            json!([{"retryAfter": 1}]),
            json!([{"status": 503, "retryAfter": "a\nb"}]),
            json!([{"status": 503, "sattus": 1}]),
            json!([{"status": 503, "times": 2_000_000}]),
            json!([{"delayMs": 600_001}]),
            json!([{"drop": "yes"}]),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
    }
}
