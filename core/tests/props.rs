//! Properties of the core over arbitrary input: nothing a caller (or a
//! damaged store) can pass makes it panic, and what it accepts round-trips.
//! A panic in the shipped wasm would kill the module for the page's life.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use onramp_core::call::{self, Value};
use onramp_core::endpoint::Endpoint;
use onramp_core::options::{timeout_ms, Transport, TRACKING_OPTIONS};
use onramp_core::outbound::{CallInput, Outbound};
use onramp_core::queue::{self, Record};
use onramp_core::retry::{backoff_ms, retry_after_ms, RetryAfter, MAX_DELAY_MS, MAX_RETRY_AFTER_MS};
use onramp_core::steps::{self, Outcome};
use onramp_core::time::Timestamp;
use onramp_core::tracking::{PurchasedAt, Tracking, TrackingInput};
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

    /// The body the core writes is the text a JSON serializer writes,
    /// whatever the strings hold.
    #[test]
    fn bodies_are_json(a in any::<String>(), b in texty()) {
        let tracking = Tracking {
            partner_key: a.clone(),
            service_name: b.clone(),
            customer_id: a.clone(),
            purchased_at: b.clone(),
        };
        prop_assert_eq!(serde_json::to_string(&tracking).ok(), Some(tracking.body()));
        prop_assert_eq!(serde_json::from_str::<Tracking>(&tracking.body()).ok(), Some(tracking));
    }

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
            let back: Tracking = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
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
            require_referral: None,
        };
        let _ = Outbound::prepare(input, now());
        let _ = timeout.map(timeout_ms);
        let _ = transport.as_deref().map(Transport::parse);
    }

    #[test]
    fn trims_like_std(text in texty(), any_text in any::<String>()) {
        prop_assert_eq!(onramp_core::text::trim(&text), text.trim());
        prop_assert_eq!(onramp_core::text::trim(&any_text), any_text.trim());
    }

    #[test]
    fn records_never_panic_and_round_trip(
        steps_taken in prop::collection::vec((0u8..4, any::<i64>(), any::<u16>(), prop::option::of(texty()), any::<f64>()), 0..40),
        timeout in any::<u32>(),
        created in any::<i64>(),
    ) {
        let mut record = Record::new("u".into(), "{}".into(), timeout, created);
        for (op, at, status, header, random) in steps_taken {
            let now = Timestamp::from_epoch_ms(at as f64).unwrap_or(now());
            match op {
                0 => { steps::admit(Some(&record), at); }
                1 => { steps::claim(Some(&mut record), at, Some(at).filter(|_| random > 0.5), random > 0.25); }
                2 => {
                    let header = header.as_deref().map(|value| RetryAfter { value, date_ms: Some(at) });
                    let outcome = [Outcome::Status(status), Outcome::Network, Outcome::Timeout, Outcome::Delivered][(status % 4) as usize];
                    steps::settle(&mut record, outcome, header, now, random);
                }
                _ => { let _ = (record.is_due(at, random > 0.5), record.due_at(at), record.expired(at)); }
            }
        }
        let _ = queue::sweep(&[(0, record.clone())], created);
        let _ = queue::next_due_in([&record], created);
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
    fn call_values_never_panic(texts in prop::collection::vec(texty(), 8), kinds in prop::collection::vec(0u8..8, 8), at in any::<f64>()) {
        let values: Vec<Value> = kinds.iter().zip(&texts).map(|(kind, text)| match kind {
            0 => Value::Absent,
            1 => Value::Text(text.clone()),
            2 => Value::Number(at),
            3 => Value::Date(at),
            4 => Value::TooLong,
            5 => Value::IllFormed,
            6 => Value::Bool(at > 0.0),
            _ => Value::Other,
        }).collect();
        let values: [Value; 8] = values.try_into().unwrap();
        if let Ok(input) = call::read(&values) {
            let _ = input.as_configure().check();
            if let Ok(outbound) = Outbound::prepare(input, now()) {
                prop_assert!(outbound.id.starts_with(&outbound.url));
            }
        }
        let _ = call::check_keys(texts.iter().map(String::as_str), &TRACKING_OPTIONS);
    }
}

/// Referral values, parameter lists and kept forms: near the rules and anything at all.
fn referral_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9._~ %:,-]{0,140}",
        "[prsx]:[0-9-]{0,16}:[0-9]{0,16}(:[A-Za-z0-9._~-]{0,130})?(:.{0,3})?",
        "( ?(token|TOKEN|Token|via|ref|onramp_ref|t\u{212a}ken)? ?,?){0,4}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// The capture rules: a kept value is 1 to 128 of `A–Z a–z 0–9 . _ ~ -`;
    /// `token` is never a parameter read, however it is spelled; the window
    /// is 1 to 365 days; what is kept reads back the same; nothing panics.
    #[test]
    fn referral_rules(text in referral_text(), other in referral_text(), at in 0i64..4_000_000_000_000, days in 0u32..400) {
        use onramp_core::referral::{self as r, Kept, Source, Touch};
        let valid = !text.is_empty() && text.len() <= 128 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b));
        prop_assert_eq!(r::valid_value(&text), valid);
        for name in r::param_names(Some(&text)) {
            prop_assert!(name.to_lowercase() != "token" && !name.is_empty());
        }
        if let Some(window) = r::window_days(Some(&text)) {
            prop_assert!((1..=365).contains(&window));
        }
        let decoded = Kept::decode(&text);
        if let Some(kept) = &decoded {
            let again = Kept::decode(&kept.encode());
            prop_assert_eq!(again.as_ref(), Some(kept));
            prop_assert!(kept.referral.until > kept.referral.at);
            prop_assert!(kept.value.as_deref().is_none_or(r::valid_value));
        }
        if (1..=365).contains(&days) {
            let value = valid.then_some(text.as_str());
            let kept = Kept::new(Source::Server, value, at, days);
            prop_assert_eq!(Kept::decode(&kept.encode()), Some(kept.clone()));
            // The gate: a referral counts exactly within its window.
            let now = at + i64::from(days) * r::DAY_MS;
            prop_assert!(r::gate(true, Some(kept.referral), now - 1).is_ok());
            prop_assert!(r::gate(true, Some(kept.referral), now).is_err());
            prop_assert_eq!(r::gate(false, Some(kept.referral), now), Ok(None));
            // First touch keeps what counts; last touch replaces it.
            prop_assert!(!r::replaces(Some(&kept.referral), now - 1, Touch::First));
            prop_assert!(r::replaces(Some(&kept.referral), now - 1, Touch::Last));
        }
        let params = [(text.as_str(), other.as_str()), ("token", other.as_str()), ("onramp_ref", text.as_str())];
        let seen = r::sight(&params, &other, Some(&text), Some(&other));
        prop_assert!(seen.param.is_none_or(|p| p.to_lowercase() != "token"));
        prop_assert!(seen.value.is_none_or(r::valid_value));
        prop_assert!(!seen.ignored.iter().any(|p| p.to_lowercase() == "token"));
    }
}
