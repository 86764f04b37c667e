//! The wasm's exports called with real JS values, shared by
//! `tests/browser.rs` (headless Chromium, `localStorage`) and
//! `tests/node.rs` (Node, the in-memory queue): reading hostile values,
//! typed errors, and a tracking's steps through the stored queue.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use js_sys::{Function, Object, Reflect};
use onramp_pixel::exports::{claim, configure, create_saas_tracking, due, next_due, settle, waiting};
use wasm_bindgen::{JsCast, JsValue};
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

fn options(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in pairs {
        Reflect::set(&object, &JsValue::from_str(key), value).unwrap();
    }
    object.into()
}

fn unique(prefix: &str) -> String {
    let mut id = prefix.to_owned();
    id.push('-');
    id.push_str(&js_sys::Math::random().to_string()[2..12]);
    id
}

fn s(text: &str) -> JsValue {
    JsValue::from_str(text)
}

fn call(first: JsValue) -> JsValue {
    json(&create_saas_tracking(
        first,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
    ))
}

fn tracking(customer: &str, extra: &[(&str, JsValue)]) -> JsValue {
    let object = options(&[
        ("partnerKey", s(" pk_wasm ")),
        ("serviceName", s("Acme CRM")),
        ("customerId", s(customer)),
        ("baseUrl", s(COLLECTOR)),
    ]);
    for (key, value) in extra {
        Reflect::set(&object, &s(key), value).unwrap();
    }
    object
}

fn expect_error(answer: &JsValue, code: &str, field: Option<&str>) {
    let error = get(answer, "error");
    assert!(error.is_object(), "expected an error, got a plan");
    assert_eq!(text(&error, "code").as_deref(), Some(code));
    assert_eq!(text(&error, "field").as_deref(), field, "field of {code}");
    assert!(!text(&error, "message").unwrap_or_default().is_empty());
}

#[wasm_bindgen_test]
fn options_form_is_validated_and_queued() {
    let before = waiting();
    let customer = unique("wasm-options");
    let plan = call(tracking(&customer, &[("purchasedAt", s("2026-01-02T03:04:05+01:00"))]));
    assert!(get(&plan, "error").is_undefined());
    assert_eq!(text(&plan, "state").as_deref(), Some("go"));
    assert_eq!(
        text(&plan, "url").as_deref(),
        Some("https://collector.example/api/SaasTrackings")
    );
    assert_eq!(get(&plan, "timeoutMs").as_f64(), Some(60_000.0));
    assert_eq!(text(&plan, "transport").as_deref(), Some("auto"));
    assert_eq!(text(&plan, "fallback").as_deref(), Some("beacon"));
    let body = json(&text(&plan, "body").unwrap());
    assert_eq!(text(&body, "partnerKey").as_deref(), Some("pk_wasm"));
    assert_eq!(text(&body, "customerId"), Some(customer));
    assert_eq!(text(&body, "purchasedAt").as_deref(), Some("2026-01-02T02:04:05.000Z"));
    assert_eq!(waiting(), before + 1);
}

#[wasm_bindgen_test]
fn dates_and_numbers_are_normalised() {
    let date = js_sys::Date::new(&JsValue::from_f64(1_767_323_045_123.0));
    for (at, expected) in [
        (JsValue::from(date), "2026-01-02T03:04:05.123Z"),
        (JsValue::from_f64(1_767_323_045_999.0), "2026-01-02T03:04:05.999Z"),
        (s("2026-01-02"), "2026-01-02T00:00:00.000Z"),
    ] {
        let plan = call(tracking(&unique("wasm-date"), &[("purchasedAt", at)]));
        let body = json(&text(&plan, "body").unwrap());
        assert_eq!(text(&body, "purchasedAt").as_deref(), Some(expected));
    }
}

#[wasm_bindgen_test]
fn bad_values_are_refused_with_code_and_field_and_nothing_is_queued() {
    let lone_surrogate = JsValue::from(js_sys::JsString::from_char_code1(0xD800));
    let with = |key: &str, value: JsValue| tracking("c", &[(key, value)]);
    let without = |key: &str| {
        let object = tracking("c", &[]);
        Reflect::delete_property(object.unchecked_ref::<Object>(), &s(key)).unwrap();
        object
    };
    let cases: Vec<(JsValue, &str, Option<&str>)> = vec![
        (JsValue::from_f64(42.0), "invalid_type", Some("partnerKey")),
        (js_sys::Array::of1(&s("pk")).into(), "invalid_type", Some("partnerKey")),
        (without("customerId"), "missing_field", Some("customerId")),
        (
            with("customerId", JsValue::from_f64(42.0)),
            "invalid_type",
            Some("customerId"),
        ),
        (with("custmerId", s("c")), "unknown_option", Some("custmerId")),
        (with("serviceName", s("  ")), "empty_field", Some("serviceName")),
        (
            with("customerId", lone_surrogate),
            "invalid_characters",
            Some("customerId"),
        ),
        (
            with("customerId", s("a\u{7}b")),
            "invalid_characters",
            Some("customerId"),
        ),
        (
            with("serviceName", js_sys::Symbol::for_("x").into()),
            "invalid_type",
            Some("serviceName"),
        ),
        (
            with("customerId", js_sys::BigInt::from(7).into()),
            "invalid_type",
            Some("customerId"),
        ),
        (
            with("customerId", s(&"x".repeat(1 << 20))),
            "too_long",
            Some("customerId"),
        ),
        (
            with("purchasedAt", s("2026-13-45")),
            "invalid_date",
            Some("purchasedAt"),
        ),
        (
            with("purchasedAt", JsValue::from_f64(f64::NAN)),
            "invalid_date",
            Some("purchasedAt"),
        ),
        (
            with("purchasedAt", JsValue::from_f64(f64::INFINITY)),
            "invalid_date",
            Some("purchasedAt"),
        ),
        (
            with("purchasedAt", s("1999-12-31")),
            "date_out_of_range",
            Some("purchasedAt"),
        ),
        (
            with("baseUrl", s("http://onramp.example.com")),
            "insecure_base_url",
            Some("baseUrl"),
        ),
        (
            with("baseUrl", s("javascript:alert(1)")),
            "invalid_base_url",
            Some("baseUrl"),
        ),
        (with("transport", s("pigeon")), "invalid_option", Some("transport")),
        (
            with("timeoutMs", JsValue::from_f64(-1.0)),
            "invalid_option",
            Some("timeoutMs"),
        ),
    ];
    let before = waiting();
    for (input, code, field) in cases {
        expect_error(&call(input), code, field);
    }
    assert_eq!(waiting(), before, "a refused call queues nothing");
}

#[wasm_bindgen_test]
fn hostile_objects_do_not_throw() {
    for source in [
        "return new Proxy({}, { ownKeys() { throw new Error('boom'); } });",
        "return { get customerId() { throw new Error('boom'); } };",
    ] {
        let hostile = Function::new_no_args(source).call0(&JsValue::NULL).unwrap();
        expect_error(&call(hostile), "invalid_type", Some("options"));
    }
}

#[wasm_bindgen_test]
fn a_tracking_goes_through_claim_settle_and_the_reload_guard() {
    let customer = unique("wasm-steps");
    let plan = call(tracking(&customer, &[("timeoutMs", JsValue::from_f64(5_000.0))]));
    let id = text(&plan, "id").unwrap();
    assert_eq!(claim(&id, 5_000, f64::NAN), 0, "free: leased to this attempt");
    assert_eq!(claim(&id, 5_000, f64::NAN), 2, "leased: another attempt's job");
    assert_eq!(text(&call(tracking(&customer, &[])), "state").as_deref(), Some("busy"));

    let settled = json(&settle(&id, 503.0, Some("30".into())));
    assert_eq!(text(&settled, "verdict").as_deref(), Some("retry"));
    let retry_at = js_sys::Date::parse(&text(&settled, "retryAt").unwrap());
    assert!(
        retry_at - js_sys::Date::now() > 25_000.0,
        "the next attempt waits for Retry-After"
    );
    assert!(next_due() >= 0.0, "a timer is wanted");
    let listed = |force: bool| {
        let list = json(&due(force));
        js_sys::Array::from(&get(&list, "due"))
            .iter()
            .any(|entry| text(&entry, "id").as_deref() == Some(id.as_str()))
    };
    assert!(!listed(false), "not due before its backoff");
    assert!(listed(true), "a forced flush takes it");

    assert_eq!(claim(&id, 5_000, f64::NAN), 0);
    let settled = json(&settle(&id, 201.0, None));
    assert_eq!(text(&settled, "verdict").as_deref(), Some("accepted"));
    assert!(get(&settled, "retryAt").is_null());
    assert_eq!(text(&call(tracking(&customer, &[])), "state").as_deref(), Some("sent"));
}

#[wasm_bindgen_test]
fn failures_are_typed() {
    for (outcome, verdict, code) in [
        (0.0, "retry", "network_error"),
        (1.0, "retry", "timeout"),
        (3.0, "rejected", "transport_unavailable"),
        (422.0, "rejected", "rejected"),
    ] {
        let plan = call(tracking(&unique("wasm-failure"), &[]));
        let settled = json(&settle(&text(&plan, "id").unwrap(), outcome, None));
        assert_eq!(text(&settled, "verdict").as_deref(), Some(verdict));
        assert_eq!(text(&get(&settled, "error"), "code").as_deref(), Some(code));
    }
}

#[wasm_bindgen_test]
fn accepted_in_another_tab_is_not_sent_again() {
    let plan = call(tracking(&unique("wasm-other-tab"), &[]));
    let id = text(&plan, "id").unwrap();
    assert_eq!(claim(&id, 5_000, js_sys::Date::now() - 1_000.0), 1);
    assert_eq!(claim(&id, 5_000, f64::NAN), 1, "remembered as sent");
}

/// The only test that touches the module's defaults, so that the others do
/// not depend on the order tests run in.
#[wasm_bindgen_test]
fn positional_form_with_configured_defaults() {
    let positional = |customer: &str| {
        json(&create_saas_tracking(
            JsValue::UNDEFINED,
            s("svc"),
            s(customer),
            JsValue::UNDEFINED,
        ))
    };
    let customer = unique("wasm-positional");
    expect_error(&positional(&customer), "missing_field", Some("partnerKey"));
    expect_error(
        &json(&configure(options(&[("baseUrl", s("ftp://x"))]))),
        "invalid_base_url",
        Some("baseUrl"),
    );
    expect_error(
        &json(&configure(options(&[("customerId", s("c"))]))),
        "unknown_option",
        Some("customerId"),
    );
    expect_error(
        &json(&configure(JsValue::from_f64(1.0))),
        "invalid_type",
        Some("options"),
    );
    assert_eq!(
        configure(options(&[
            ("partnerKey", s("pk_configured")),
            ("baseUrl", s(COLLECTOR)),
        ])),
        ""
    );
    let plan = positional(&customer);
    assert_eq!(
        text(&plan, "url").as_deref(),
        Some("https://collector.example/api/SaasTrackings")
    );
    let body = json(&text(&plan, "body").unwrap());
    assert_eq!(text(&body, "partnerKey").as_deref(), Some("pk_configured"));
}
