//! Properties of the core over arbitrary input: nothing a caller (or a
//! damaged store) can pass makes it panic, and what it accepts round-trips.
//! A panic in the shipped wasm would kill the module for the page's life.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use onramp_pixel::endpoint::Endpoint;
use onramp_pixel::input::{read, Call};
use onramp_pixel::options::{timeout_ms, Transport, TRACKING_OPTIONS};
use onramp_pixel::outbound::{CallInput, Outbound};
use onramp_pixel::queue::{Entry, State};
use onramp_pixel::retry::{backoff_ms, retry_after_ms, verdict, RetryAfter, MAX_DELAY_MS, MAX_RETRY_AFTER_MS};
use onramp_pixel::steps::{self, Outcome};
use onramp_pixel::time::Timestamp;
use onramp_pixel::tracking::{PurchasedAt, Tracking, TrackingInput};
use proptest::prelude::*;

fn now() -> Timestamp {
    Timestamp::from_epoch_ms(1_795_718_581_000.0).unwrap()
}

/// Strings that look like dates, URLs or queue lines, and anything at all.
fn texty() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{0,12})?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?)?",
        "(https?|ftp|javascript)://[a-zA-Z0-9.:@\\[\\]-]{0,30}(/[a-zA-Z0-9%./?#-]{0,20})?",
        "[qs]\t[^\n]{0,40}(\t-?[0-9]{1,20}){0,5}\n?",
    ]
}

/// 2,000 cases a property, or `ONRAMP_PROPTEST_CASES` (the tests run many
/// more where cargo-fuzz is not available).
fn cases() -> u32 {
    std::env::var("ONRAMP_PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn dates_never_panic_and_round_trip(text in texty()) {
        if let Ok(t) = Timestamp::parse(&text) {
            let again = Timestamp::parse(&t.to_rfc3339());
            prop_assert_eq!(again, Ok(t));
        }
    }

    #[test]
    fn epoch_millis_never_panic(ms in any::<f64>()) {
        if let Ok(t) = Timestamp::from_epoch_ms(ms) {
            prop_assert_eq!(t.as_millis() as f64, ms.floor());
            prop_assert_eq!(Timestamp::parse(&t.to_rfc3339()), Ok(t));
        }
    }

    #[test]
    fn base_urls_never_panic_and_normalise_once(text in texty()) {
        if let Ok(e) = Endpoint::parse(&text) {
            prop_assert_eq!(Endpoint::parse(e.base()), Ok(e.clone()));
            prop_assert!(e.trackings_url().ends_with("/api/SaasTrackings"));
            prop_assert!(e.base().starts_with("https://") || e.base().starts_with("http://"));
        }
    }

    #[test]
    fn trackings_never_panic_and_their_json_parses_back(
        key in texty(), service in texty(), customer in texty(), at in texty(), ms in any::<f64>(), use_ms in any::<bool>()
    ) {
        let purchased_at = if use_ms { PurchasedAt::EpochMs(ms) } else { PurchasedAt::Text(&at) };
        let input = TrackingInput { partner_key: &key, service_name: &service, customer_id: &customer, purchased_at };
        if let Ok(t) = Tracking::new(input, now()) {
            let back: Tracking = serde_json::from_str(&t.to_json()).unwrap();
            prop_assert_eq!(back, t);
        }
    }

    #[test]
    fn calls_never_panic(
        key in proptest::option::of(texty()), base in proptest::option::of(texty()),
        timeout in proptest::option::of(any::<f64>()), transport in proptest::option::of(texty())
    ) {
        let input = CallInput {
            partner_key: key.as_deref(),
            service_name: Some("svc"),
            customer_id: Some("c"),
            purchased_at: None,
            base_url: base.as_deref(),
            timeout_ms: timeout,
            transport: transport.as_deref(),
        };
        let _ = Outbound::prepare(input, now());
        let _ = timeout.map(timeout_ms);
        let _ = transport.as_deref().map(Transport::parse);
    }

    #[test]
    fn trims_like_std(text in texty(), any_text in any::<String>()) {
        prop_assert_eq!(onramp_pixel::text::trim(&text), text.trim());
        prop_assert_eq!(onramp_pixel::text::trim(&any_text), any_text.trim());
    }

    #[test]
    fn damaged_stores_never_panic_and_decode_stably(text in prop::collection::vec(texty(), 0..8)) {
        let joined = text.join("\n");
        let state = State::decode(&joined);
        let encoded = state.encode();
        prop_assert_eq!(State::decode(&encoded), state);
    }

    #[test]
    fn queue_operations_never_panic(ops in prop::collection::vec((0u8..5, 0usize..6, any::<i64>(), any::<u64>()), 0..60)) {
        let ids: Vec<String> = (0..6).map(|n| n.to_string()).collect();
        let mut state = State::default();
        for (op, n, at, delay) in ops {
            let id = ids[n].as_str();
            match op {
                0 => { state.enqueue(Entry { id, url: "u", body: "{}", created_ms: at, failures: 0, next_ms: at, lease_ms: 0, timeout_ms: (delay % 600_000) as u32 }); }
                1 => { state.lease(id, at, at.saturating_add(1)); }
                2 => state.settle(id, verdict(Some((delay % 600) as u16)), at, delay),
                3 => { state.prune(at); }
                _ => { let _ = (state.due(at, n % 2 == 0).count(), state.next_due(at)); }
            }
        }
        let text = state.encode();
        prop_assert_eq!(State::decode(&text), state);
    }

    #[test]
    fn retry_policy_stays_in_bounds(failures in any::<u32>(), random in any::<f64>(), header in texty(), at in any::<i64>()) {
        let d = backoff_ms(failures, random);
        prop_assert!((100..=MAX_DELAY_MS).contains(&d));
        if let Some(ms) = retry_after_ms(RetryAfter { value: &header, date_ms: Some(at) }, now()) {
            prop_assert!(ms <= MAX_RETRY_AFTER_MS);
        }
    }

    #[test]
    fn call_texts_never_panic(text in texty(), at in any::<f64>(), timeout in any::<f64>()) {
        let call = Call::decode(&text);
        if let Ok(input) = read(&call, at, timeout, &TRACKING_OPTIONS) {
            let _ = Outbound::prepare(input, now());
        }
    }

    #[test]
    fn steps_never_panic_and_answer_json(
        store in texty(),
        id in texty(),
        outcome in any::<f64>(),
        header in prop::option::of(texty()),
        random in any::<f64>(),
        at in any::<i64>(),
        timeout in any::<u32>(),
    ) {
        let mut state = State::decode(&store);
        let claim = steps::claim(&mut state, &id, at, timeout, Some(at));
        prop_assert!((claim as u8) <= 2);
        let header = header.as_deref().map(|value| RetryAfter { value, date_ms: Some(at) });
        let settled = steps::settle(&mut state, &id, Outcome::from_code(outcome), header, now(), random);
        let answer = settled.answer().finish();
        prop_assert!(serde_json::from_str::<serde_json::Value>(&answer).is_ok(), "{}", answer);
        let due = steps::due(&mut state, at, true).finish();
        prop_assert!(serde_json::from_str::<serde_json::Value>(&due).is_ok(), "{}", due);
        let _ = steps::next_due_in(&state, at);
    }
}
