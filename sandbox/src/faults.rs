//! Faults on purpose, for the pixel's tests and providers' own integration
//! tests: the next POSTs of trackings can be answered with an error status
//! (and a `Retry-After`), delayed, or dropped without an answer.

use std::collections::VecDeque;

use serde::Serialize;
use serde_json::{Map, Value};

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

const KEYS: [&str; 5] = ["status", "retryAfter", "delayMs", "drop", "times"];

/// Reads `[{"status":503,"times":2,"retryAfter":1}, {"delayMs":65000}, {"drop":true}]`.
pub fn parse(value: &Value) -> Result<Vec<Fault>, String> {
    let list = match value {
        Value::Array(list) => list.as_slice(),
        Value::Object(_) => std::slice::from_ref(value),
        _ => return Err("expected a fault object or a list of them".into()),
    };
    list.iter().map(parse_one).collect()
}

fn parse_one(value: &Value) -> Result<Fault, String> {
    let Value::Object(map) = value else {
        return Err("each fault must be an object".into());
    };
    if let Some(unknown) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!("unknown fault option {unknown:?} (expected one of {KEYS:?})"));
    }
    let fault = Fault {
        status: uint(map, "status", 100, 599)?.map(|s| s as u16),
        retry_after: match map.get("retryAfter") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_u64().is_some() => Some(n.to_string()),
            Some(Value::String(s)) if !s.is_empty() && !s.contains(['\r', '\n']) => Some(s.clone()),
            Some(_) => return Err("retryAfter must be whole seconds or an HTTP date".into()),
        },
        delay_ms: uint(map, "delayMs", 0, 600_000)?.unwrap_or(0),
        drop: match map.get("drop") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err("drop must be true or false".into()),
        },
        times: uint(map, "times", 1, 1_000_000)?.unwrap_or(1) as u32,
    };
    if fault.status.is_none() && fault.delay_ms == 0 && !fault.drop {
        return Err("a fault needs a status, a delayMs or drop".into());
    }
    if fault.retry_after.is_some() && fault.status.is_none() {
        return Err("retryAfter goes with a status".into());
    }
    Ok(fault)
}

fn uint(map: &Map<String, Value>, key: &str, min: u64, max: u64) -> Result<Option<u64>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(format!("{key} must be a whole number from {min} to {max}")),
        },
    }
}

/// The faults still to apply, in order; it serialises as their list.
#[derive(Debug, Default, Serialize)]
#[serde(transparent)]
pub struct Faults {
    pending: VecDeque<Fault>,
}

impl Faults {
    pub fn add(&mut self, faults: Vec<Fault>) {
        self.pending.extend(faults);
    }

    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// Takes one use of the first pending fault: what the next POST suffers.
    pub fn next(&mut self) -> Option<Fault> {
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
        let faults = parse(&json!([{"status":503,"times":2,"retryAfter":1}, {"delayMs":650}, {"drop":true}]));
        let mut queue = Faults::default();
        queue.add(faults.unwrap_or_default());
        let next = |q: &mut Faults| q.next().map(|a| (a.status, a.retry_after, a.delay_ms, a.drop));
        assert_eq!(next(&mut queue), Some((Some(503), Some("1".into()), 0, false)));
        assert_eq!(next(&mut queue), Some((Some(503), Some("1".into()), 0, false)));
        assert_eq!(next(&mut queue), Some((None, None, 650, false)));
        assert_eq!(next(&mut queue), Some((None, None, 0, true)));
        assert_eq!(next(&mut queue), None);
    }

    #[test]
    fn lists_what_is_left() -> serde_json::Result<()> {
        let mut queue = Faults::default();
        queue.add(parse(&json!([{"status":503,"times":2,"retryAfter":1}, {"drop":true}])).unwrap_or_default());
        queue.next();
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
        ] {
            assert!(parse(&bad).is_err(), "{bad}");
        }
    }
}
