//! The wasm's exports, compiled for wasm32 and run in headless Chromium
//! (`tests/browser.rs`) and in Node (`tests/node.rs`): the call text the JS
//! entry builds, typed errors, and a tracking's steps through the queue
//! text the JS entry stores.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use js_sys::Reflect;
use onramp_pixel::exports::{create_saas_tracking, step};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

const COLLECTOR: &str = "https://collector.example";

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap()
}

fn text(object: &JsValue, key: &str) -> Option<String> {
    get(object, key).as_string()
}

fn json(text: &str) -> JsValue {
    js_sys::JSON::parse(text).expect("the exports answer JSON")
}

fn now() -> f64 {
    js_sys::Date::now()
}

/// The call text of an options object with these fields.
fn call_text(customer: &str, purchased_at: &str, extra_kinds: &str) -> String {
    let kinds = ["sss", if purchased_at.is_empty() { "-" } else { "s" }, "s", extra_kinds].concat();
    [
        &kinds,
        "pk_wasm",
        "Acme CRM",
        customer,
        purchased_at,
        COLLECTOR,
        "",
        "",
        "partnerKey\0serviceName\0customerId\0baseUrl",
    ]
    .join("\0")
}

// The steps of the `step` export, by their names.
fn configure(call: &str, timeout_ms: f64) -> String {
    step(0, "", now(), call, f64::NAN, timeout_ms)
}

fn claim(store: &str, now: f64, id: &str, timeout_ms: u32, accepted_at: f64) -> String {
    step(1, store, now, id, f64::from(timeout_ms), accepted_at)
}

fn settle(store: &str, now: f64, random: f64, id: &str, outcome: f64, retry_after: Option<&str>) -> String {
    let text = match retry_after {
        Some(value) => [id, value].join("\n"),
        None => id.to_owned(),
    };
    step(2, store, now, &text, outcome, random)
}

fn due(store: &str, now: f64, force: bool) -> String {
    step(3, store, now, "", f64::from(u8::from(force)), f64::NAN)
}

fn waiting(answer: &JsValue) -> f64 {
    get(answer, "waiting").as_f64().expect("a count of waiting trackings")
}

fn plan(store: &str, call: &str) -> JsValue {
    json(&create_saas_tracking(store, now(), call, f64::NAN, f64::NAN))
}

fn expect_error(answer: &JsValue, code: &str, field: Option<&str>) {
    let error = get(answer, "error");
    assert!(error.is_object(), "expected an error for {code}");
    assert_eq!(text(&error, "code").as_deref(), Some(code));
    assert_eq!(text(&error, "field").as_deref(), field, "field of {code}");
    assert!(!text(&error, "message").unwrap_or_default().is_empty());
    assert!(get(answer, "store").is_undefined(), "a refused call changes no queue");
}

#[wasm_bindgen_test]
fn a_call_is_validated_queued_and_planned() {
    let answer = plan("", &call_text("c-1", "2026-01-02T03:04:05+01:00", "--"));
    assert_eq!(text(&answer, "state").as_deref(), Some("go"));
    assert_eq!(
        text(&answer, "url").as_deref(),
        Some("https://collector.example/api/SaasTrackings")
    );
    assert_eq!(get(&answer, "timeoutMs").as_f64(), Some(60_000.0));
    assert_eq!(text(&answer, "fallback").as_deref(), Some("beacon"));
    let body = json(&text(&answer, "body").unwrap());
    assert_eq!(text(&body, "serviceName").as_deref(), Some("Acme CRM"));
    assert_eq!(text(&body, "purchasedAt").as_deref(), Some("2026-01-02T02:04:05.000Z"));
    assert_eq!(waiting(&answer), 1.0);
    assert_eq!(get(&answer, "next").as_f64(), Some(0.0), "due now");
}

#[wasm_bindgen_test]
fn numbers_and_dates_arrive_beside_the_text() {
    let call = ["sssnsn-\0pk\0svc\0c\0\0", COLLECTOR, "\0\0"].concat();
    let answer = json(&create_saas_tracking("", now(), &call, 1_767_323_045_999.0, 5_000.0));
    let body = json(&text(&answer, "body").unwrap());
    assert_eq!(text(&body, "purchasedAt").as_deref(), Some("2026-01-02T03:04:05.999Z"));
    assert_eq!(get(&answer, "timeoutMs").as_f64(), Some(5_000.0));
    let nan = json(&create_saas_tracking("", now(), &call, f64::NAN, 5_000.0));
    expect_error(&nan, "invalid_date", Some("purchasedAt"));
}

#[wasm_bindgen_test]
fn bad_values_are_refused_with_code_and_field() {
    let cases = [
        ("x------", "invalid_type", Some("partnerKey")),
        ("!o", "invalid_type", Some("options")),
        ("!r", "invalid_type", Some("options")),
        ("ss-----\0pk\0svc", "missing_field", Some("customerId")),
        ("ssl----\0pk\0svc", "too_long", Some("customerId")),
        ("ssc----\0pk\0svc", "invalid_characters", Some("customerId")),
        ("sss----\0pk\0svc\0a\u{7}b", "invalid_characters", Some("customerId")),
        ("sss----\0pk\0  \0c", "empty_field", Some("serviceName")),
        ("ssss---\0pk\0svc\0c\x002026-13-45", "invalid_date", Some("purchasedAt")),
        (
            "ssss---\0pk\0svc\0c\x001999-12-31",
            "date_out_of_range",
            Some("purchasedAt"),
        ),
        (
            "sss-s--\0pk\0svc\0c\0\0javascript:alert(1)",
            "invalid_base_url",
            Some("baseUrl"),
        ),
        (
            "sss-s--\0pk\0svc\0c\0\0http://onramp.example",
            "insecure_base_url",
            Some("baseUrl"),
        ),
        (
            "sss----\0pk\0svc\0c\0\0\0\0\0custmerId",
            "unknown_option",
            Some("custmerId"),
        ),
    ];
    for (call, code, field) in cases {
        expect_error(&plan("", call), code, field);
    }
    let transport = ["sss-s-s\0pk\0svc\0c\0\0", COLLECTOR, "\0\0pigeon"].concat();
    expect_error(&plan("", &transport), "invalid_option", Some("transport"));
    let timeout = ["sss-sn-\0pk\0svc\0c\0\0", COLLECTOR, "\0\0"].concat();
    let answer = json(&create_saas_tracking("", now(), &timeout, f64::NAN, -1.0));
    expect_error(&answer, "invalid_option", Some("timeoutMs"));
}

#[wasm_bindgen_test]
fn claim_settle_and_the_reload_guard() {
    let answer = plan("", &call_text("c-steps", "", "--"));
    let id = text(&answer, "id").unwrap();
    let store = text(&answer, "store").unwrap();
    // Each step answers the queue text to store next.
    let step = |answer: String| {
        let answer = json(&answer);
        let next = text(&answer, "store").expect("the step changed the queue");
        (answer, next)
    };

    let (claimed, s) = step(claim(&store, now(), &id, 5_000, f64::NAN));
    assert_eq!(
        get(&claimed, "claim").as_f64(),
        Some(0.0),
        "free: leased to this attempt"
    );
    let (claimed, s) = step(claim(&s, now(), &id, 5_000, f64::NAN));
    assert_eq!(
        get(&claimed, "claim").as_f64(),
        Some(2.0),
        "leased: another attempt's job"
    );
    assert_eq!(
        text(&plan(&s, &call_text("c-steps", "", "--")), "state").as_deref(),
        Some("busy")
    );

    let (settled, s) = step(settle(&s, now(), 0.5, &id, 503.0, Some("30")));
    assert_eq!(text(&settled, "verdict").as_deref(), Some("retry"));
    let retry_at = js_sys::Date::parse(&text(&settled, "retryAt").unwrap());
    assert!(retry_at - now() > 25_000.0, "the next attempt waits for Retry-After");
    assert!(get(&settled, "next").as_f64().unwrap() > 25_000.0);
    let listed = |store: &str, force: bool| js_sys::Array::from(&get(&json(&due(store, now(), force)), "due")).length();
    assert_eq!(listed(&s, false), 0, "not due before its backoff");
    assert_eq!(listed(&s, true), 1, "a forced flush takes it");

    let (_, s) = step(claim(&s, now(), &id, 5_000, f64::NAN));
    let (settled, s) = step(settle(&s, now(), 0.5, &id, 201.0, None));
    assert_eq!(text(&settled, "verdict").as_deref(), Some("accepted"));
    assert!(get(&settled, "retryAt").is_null());
    assert_eq!(waiting(&settled), 0.0);
    assert_eq!(get(&settled, "next").as_f64(), Some(-1.0));
    assert_eq!(
        text(&plan(&s, &call_text("c-steps", "", "--")), "state").as_deref(),
        Some("sent")
    );
}

#[wasm_bindgen_test]
fn failures_are_typed() {
    for (outcome, verdict, code) in [
        (0.0, "retry", "network_error"),
        (1.0, "retry", "timeout"),
        (3.0, "rejected", "transport_unavailable"),
        (422.0, "rejected", "rejected"),
    ] {
        let answer = plan("", &call_text("c-failure", "", "--"));
        let store = text(&answer, "store").unwrap();
        let settled = json(&settle(
            &store,
            now(),
            0.5,
            &text(&answer, "id").unwrap(),
            outcome,
            None,
        ));
        assert_eq!(text(&settled, "verdict").as_deref(), Some(verdict));
        assert_eq!(text(&get(&settled, "error"), "code").as_deref(), Some(code));
    }
}

#[wasm_bindgen_test]
fn accepted_in_another_tab_is_not_sent_again() {
    let answer = plan("", &call_text("c-other-tab", "", "--"));
    let id = text(&answer, "id").unwrap();
    let claimed = json(&claim(
        &text(&answer, "store").unwrap(),
        now(),
        &id,
        5_000,
        now() - 1_000.0,
    ));
    assert_eq!(get(&claimed, "claim").as_f64(), Some(1.0));
    let store = text(&claimed, "store").unwrap();
    assert_eq!(waiting(&claimed), 0.0);
    let again = json(&claim(&store, now(), &id, 5_000, f64::NAN));
    assert_eq!(get(&again, "claim").as_f64(), Some(1.0), "remembered as sent");
}

#[wasm_bindgen_test]
fn a_damaged_store_loses_only_what_is_damaged() {
    let answer = plan("garbage\nq\tonly\ttwo\n\u{0}", &call_text("c-damaged", "", "--"));
    assert_eq!(text(&answer, "state").as_deref(), Some("go"));
    assert_eq!(waiting(&answer), 1.0);
    assert_eq!(get(&answer, "next").as_f64(), Some(0.0), "due now");
}

#[wasm_bindgen_test]
fn configure_checks_every_option() {
    let configured = |call: &str| json(&configure(call, f64::NAN));
    expect_error(
        &configured("----s--\0\0\0\0\0ftp://x"),
        "invalid_base_url",
        Some("baseUrl"),
    );
    expect_error(
        &configured("-------\0\0\0\0\0\0\0\0customerId"),
        "unknown_option",
        Some("customerId"),
    );
    expect_error(&configured("!o"), "invalid_type", Some("options"));
    expect_error(&json(&configure("-----n-", 0.5)), "invalid_option", Some("timeoutMs"));
    let ok = configured(&["s---s--\0pk_configured\0\0\0\0", COLLECTOR, "\0\0\0partnerKey\0baseUrl"].concat());
    assert!(get(&ok, "error").is_undefined());
    // The module keeps nothing: defaults are the JS entry's to lay under calls.
    let positional = "-ss----\0\0svc\0c-positional";
    expect_error(&plan("", positional), "missing_field", Some("partnerKey"));
}
