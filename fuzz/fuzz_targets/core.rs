//! Every parser and rule of the core on arbitrary bytes: the call text the
//! JS entry builds, dates, base URLs, `Retry-After`, the stored queue, and
//! a tracking's steps. Nothing may panic; what is accepted must round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onramp_pixel::endpoint::Endpoint;
use onramp_pixel::input::{read, Call};
use onramp_pixel::options::{CONFIGURE_OPTIONS, TRACKING_OPTIONS};
use onramp_pixel::outbound::Outbound;
use onramp_pixel::queue::State;
use onramp_pixel::retry::{retry_after_ms, RetryAfter};
use onramp_pixel::steps::{self, Outcome};
use onramp_pixel::time::Timestamp;

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
    let call_text = parts.next().unwrap_or("");
    let other = parts.next().unwrap_or("");
    let store = parts.next().unwrap_or("");

    let Ok(now) = Timestamp::from_epoch_ms(1_795_718_581_000.0) else {
        return;
    };
    let call = Call::decode(call_text);
    if let Ok(input) = read(&call, a, b, &TRACKING_OPTIONS) {
        if let Ok(outbound) = Outbound::prepare(input, now) {
            let id = outbound.id.as_str();
            let mut state = State::decode(store);
            steps::admit(&mut state, &outbound, now.as_millis());
            let plan = steps::plan(&outbound, steps::Admission::InFlight).finish();
            assert!(plan.starts_with('{') && plan.ends_with('}'));
            let claim = steps::claim(&mut state, id, now.as_millis(), 1_000, None);
            let _ = claim;
            let header = RetryAfter {
                value: other,
                date_ms: Some(b as i64),
            };
            let settled = steps::settle(&mut state, id, Outcome::from_code(a), Some(header), now, b);
            let _ = settled.answer().finish();
            let text = state.encode();
            assert_eq!(State::decode(&text), state);
        }
    }
    if let Ok(input) = read(&call, a, b, &CONFIGURE_OPTIONS) {
        let _ = input.as_configure().check();
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
    let mut state = State::decode(store);
    let _ = steps::due(&mut state, now.as_millis(), a > 0.0).finish();
    let _ = steps::next_due_in(&state, now.as_millis());
    let text = state.encode();
    assert_eq!(State::decode(&text), state);
});
