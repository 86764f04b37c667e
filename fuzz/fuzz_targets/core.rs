//! Every parser and rule of the core on arbitrary bytes: the caller's
//! values, dates, base URLs, `Retry-After`, stored records, kept referrals,
//! and a tracking's steps. Nothing may panic; what is accepted must
//! round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onramp_core::call::{self, Value};
use onramp_core::endpoint::Endpoint;
use onramp_core::options::TRACKING_OPTIONS;
use onramp_core::outbound::Outbound;
use onramp_core::queue::{self, Record};
use onramp_core::referral::Kept;
use onramp_core::retry::{retry_after_ms, RetryAfter};
use onramp_core::steps::{self, Outcome};
use onramp_core::time::Timestamp;

fuzz_target!(|data: &[u8]| {
    // Two numbers from the front, the rest as text in parts.
    let number = |at: usize| {
        let mut bytes = [0u8; 8];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = data.get(at + i).copied().unwrap_or(0);
        }
        f64::from_le_bytes(bytes)
    };
    let (a, b) = (number(0), number(8));
    let text = String::from_utf8_lossy(data.get(16..).unwrap_or_default());
    let mut parts = text.split('\u{1}');
    let fields: Vec<&str> = parts.next().unwrap_or("").split('\0').collect();
    let other = parts.next().unwrap_or("");
    let store = parts.next().unwrap_or("");

    let Ok(now) = Timestamp::from_epoch_ms(1_795_718_581_000.0) else {
        return;
    };
    // Each field's value: its first byte picks the kind.
    let mut values: [Value; 8] = Default::default();
    for (slot, field) in values.iter_mut().zip(&fields) {
        *slot = match field.as_bytes().first() {
            None => Value::Absent,
            Some(b'n') => Value::Number(a),
            Some(b'd') => Value::Date(b),
            Some(b'l') => Value::TooLong,
            Some(b'c') => Value::IllFormed,
            Some(b'x') => Value::Other,
            Some(b'b') => Value::Bool(a > 0.0),
            Some(_) => Value::Text(field.get(1..).unwrap_or("").to_owned()),
        };
    }
    let _ = call::check_keys(fields.iter().copied(), &TRACKING_OPTIONS);
    // A kept referral as a damaged store or cookie may hold it: what reads
    // back encodes to itself.
    if let Some(kept) = Kept::decode(other) {
        assert_eq!(Kept::decode(&kept.encode()), Some(kept));
    }
    if let Ok(input) = call::read(&values) {
        let _ = input.as_configure().check();
        if let Ok(outbound) = Outbound::prepare(input, now) {
            let mut record = Record::new(outbound.url, outbound.body, outbound.timeout_ms, now.as_millis());
            steps::admit(Some(&record), now.as_millis());
            steps::claim(Some(&mut record), now.as_millis(), None, a > b);
            let header = RetryAfter {
                value: other,
                date_ms: Some(b as i64),
            };
            let outcome = match a {
                c if (100.0..600.0).contains(&c) => Outcome::Status(c as u16),
                c if c < 0.0 => Outcome::Timeout,
                _ => Outcome::Network,
            };
            steps::settle(&mut record, outcome, Some(header), now, b);
            let json = serde_json::to_string(&record).unwrap_or_default();
            assert_eq!(serde_json::from_str::<Record>(&json).ok(), Some(record));
        }
    }
    if let Ok(t) = Timestamp::parse(other) {
        assert_eq!(Timestamp::parse(&t.to_rfc3339()), Ok(t));
    }
    let _ = Timestamp::from_epoch_ms(a);
    if let Ok(endpoint) = Endpoint::parse(other) {
        assert_eq!(Endpoint::parse(endpoint.base()), Ok(endpoint.clone()));
    }
    let _ = retry_after_ms(
        RetryAfter {
            value: other,
            date_ms: Some(a as i64),
        },
        now,
    );
    // Stored records, one JSON text a line; lines that do not read are skipped.
    let records: Vec<(usize, Record)> = store
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .enumerate()
        .collect();
    let _ = queue::sweep(&records, now.as_millis());
    let _ = queue::next_due_in(records.iter().map(|(_, r)| r), now.as_millis());
});
