//! The wasm glue's tests, shared by `tests/browser.rs` (headless Chromium)
//! and `tests/node.rs` (Node): the exported functions called with JS values,
//! against the sandbox collector at `ONRAMP_TEST_COLLECTOR` (set at build
//! time by `npm test`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::option_env_unwrap)]

use js_sys::{Function, Object, Promise, Reflect};
use onramp_pixel::exports::{configure, create_saas_tracking};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

fn collector() -> &'static str {
    option_env!("ONRAMP_TEST_COLLECTOR")
        .expect("ONRAMP_TEST_COLLECTOR must name the sandbox collector (npm test sets it)")
}

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap()
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

async fn rejection(promise: Promise) -> (String, JsValue) {
    let error = JsFuture::from(promise)
        .await
        .expect_err("the call should have been rejected");
    assert!(error.is_instance_of::<js_sys::Error>(), "rejects with an Error object");
    assert_eq!(get(&error, "name").as_string().as_deref(), Some("OnrampError"));
    assert!(!get(&error, "message").as_string().unwrap_or_default().is_empty());
    (get(&error, "code").as_string().unwrap(), get(&error, "field"))
}

async fn expect_rejected(promise: Promise, code: &str, field: Option<&str>) {
    let (got_code, got_field) = rejection(promise).await;
    assert_eq!(got_code, code);
    assert_eq!(got_field.as_string().as_deref(), field);
}

fn is_browser() -> bool {
    Reflect::has(&js_sys::global(), &s("document")).unwrap_or(false)
}

#[wasm_bindgen_test]
async fn options_form_is_sent_and_answered() {
    let customer = unique("wasm-options");
    let call = create_saas_tracking(
        options(&[
            ("partnerKey", s(" pk_wasm ")),
            ("serviceName", s("Acme CRM")),
            ("customerId", s(&customer)),
            ("purchasedAt", s("2026-01-02T03:04:05+01:00")),
            ("baseUrl", s(collector())),
        ]),
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
    );
    let result = JsFuture::from(call).await.unwrap();
    assert_eq!(get(&result, "ok"), JsValue::TRUE);
    assert_eq!(get(&result, "status").as_f64(), Some(201.0));
    assert_eq!(get(&result, "transport").as_string().as_deref(), Some("fetch"));
    let body = get(&result, "body");
    assert_eq!(get(&body, "customerId").as_string(), Some(customer.clone()));
    assert_eq!(get(&body, "deliveries").as_f64(), Some(1.0));
    let tracking = get(&result, "tracking");
    assert_eq!(get(&tracking, "partnerKey").as_string().as_deref(), Some("pk_wasm"));
    assert_eq!(
        get(&tracking, "purchasedAt").as_string().as_deref(),
        Some("2026-01-02T02:04:05.000Z")
    );
}

#[wasm_bindgen_test]
async fn dates_and_numbers_are_normalised() {
    let date = js_sys::Date::new(&JsValue::from_f64(1_767_323_045_123.0));
    for (at, expected) in [
        (JsValue::from(date), "2026-01-02T03:04:05.123Z"),
        (JsValue::from_f64(1_767_323_045_999.0), "2026-01-02T03:04:05.999Z"),
        (s("2026-01-02"), "2026-01-02T00:00:00.000Z"),
    ] {
        let call = create_saas_tracking(
            options(&[
                ("partnerKey", s("pk_wasm")),
                ("serviceName", s("svc")),
                ("customerId", s(&unique("wasm-date"))),
                ("purchasedAt", at),
                ("baseUrl", s(collector())),
            ]),
            JsValue::UNDEFINED,
            JsValue::UNDEFINED,
            JsValue::UNDEFINED,
        );
        let result = JsFuture::from(call).await.unwrap();
        assert_eq!(
            get(&get(&result, "tracking"), "purchasedAt").as_string().as_deref(),
            Some(expected)
        );
        assert_eq!(
            get(&get(&result, "body"), "purchasedAt").as_string().as_deref(),
            Some(expected)
        );
    }
}

#[wasm_bindgen_test]
async fn bad_values_are_rejected_with_code_and_field() {
    // Each case changes a valid call: `Some` sets an option, `None` removes it.
    let valid = [
        ("partnerKey", s("pk")),
        ("serviceName", s("s")),
        ("customerId", s("c")),
        ("baseUrl", s(collector())),
    ];
    let changed = |changes: &[(&str, Option<JsValue>)]| {
        let object = options(&valid);
        for (key, value) in changes {
            match value {
                Some(value) => Reflect::set(&object, &s(key), value).unwrap(),
                None => Reflect::delete_property(object.unchecked_ref::<Object>(), &s(key)).unwrap(),
            };
        }
        object
    };
    let lone_surrogate = JsValue::from(js_sys::JsString::from_char_code1(0xD800));
    let cases: Vec<(JsValue, &str, Option<&str>)> = vec![
        (JsValue::from_f64(42.0), "invalid_type", Some("partnerKey")),
        (js_sys::Array::of1(&s("pk")).into(), "invalid_type", Some("partnerKey")),
        (changed(&[("customerId", None)]), "missing_field", Some("customerId")),
        (
            changed(&[("customerId", Some(JsValue::from_f64(42.0)))]),
            "invalid_type",
            Some("customerId"),
        ),
        (
            changed(&[("custmerId", Some(s("c")))]),
            "unknown_option",
            Some("custmerId"),
        ),
        (
            changed(&[("serviceName", Some(s("  ")))]),
            "empty_field",
            Some("serviceName"),
        ),
        (
            changed(&[("customerId", Some(lone_surrogate))]),
            "invalid_characters",
            Some("customerId"),
        ),
        (
            changed(&[("serviceName", Some(js_sys::Symbol::for_("x").into()))]),
            "invalid_type",
            Some("serviceName"),
        ),
        (
            changed(&[("customerId", Some(js_sys::BigInt::from(7).into()))]),
            "invalid_type",
            Some("customerId"),
        ),
        (
            changed(&[("customerId", Some(s(&"x".repeat(1 << 20))))]),
            "too_long",
            Some("customerId"),
        ),
        (
            changed(&[("purchasedAt", Some(s("2026-13-45")))]),
            "invalid_date",
            Some("purchasedAt"),
        ),
        (
            changed(&[("purchasedAt", Some(JsValue::from_f64(f64::NAN)))]),
            "invalid_date",
            Some("purchasedAt"),
        ),
        (
            changed(&[("purchasedAt", Some(s("1999-12-31")))]),
            "date_out_of_range",
            Some("purchasedAt"),
        ),
        (
            changed(&[("baseUrl", Some(s("http://onramp.example.com")))]),
            "insecure_base_url",
            Some("baseUrl"),
        ),
        (
            changed(&[("baseUrl", Some(s("javascript:alert(1)")))]),
            "invalid_base_url",
            Some("baseUrl"),
        ),
        (
            changed(&[("transport", Some(s("pigeon")))]),
            "invalid_option",
            Some("transport"),
        ),
        (
            changed(&[("timeoutMs", Some(JsValue::from_f64(-1.0)))]),
            "invalid_option",
            Some("timeoutMs"),
        ),
    ];
    for (input, code, field) in cases {
        let call = create_saas_tracking(input, JsValue::UNDEFINED, JsValue::UNDEFINED, JsValue::UNDEFINED);
        expect_rejected(call, code, field).await;
    }
}

#[wasm_bindgen_test]
async fn hostile_objects_do_not_throw() {
    let make = Function::new_no_args("return new Proxy({}, { ownKeys() { throw new Error('boom'); } });");
    let proxy = make.call0(&JsValue::NULL).unwrap();
    expect_rejected(
        create_saas_tracking(proxy, JsValue::UNDEFINED, JsValue::UNDEFINED, JsValue::UNDEFINED),
        "invalid_type",
        Some("options"),
    )
    .await;
    let make = Function::new_no_args("return { get customerId() { throw new Error('boom'); } };");
    let getter = make.call0(&JsValue::NULL).unwrap();
    expect_rejected(
        create_saas_tracking(getter, JsValue::UNDEFINED, JsValue::UNDEFINED, JsValue::UNDEFINED),
        "invalid_type",
        Some("options"),
    )
    .await;
}

#[wasm_bindgen_test]
async fn transport_failures_are_typed() {
    let call = create_saas_tracking(
        options(&[
            ("partnerKey", s("pk")),
            ("serviceName", s("s")),
            ("customerId", s("c")),
            ("baseUrl", s("http://127.0.0.1:9")),
        ]),
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
    );
    // A network error is a passing failure: the tracking waits in the queue.
    let result = JsFuture::from(call).await.unwrap();
    assert_eq!(get(&result, "ok"), JsValue::FALSE);
    assert_eq!(get(&result, "queued"), JsValue::TRUE);
    assert!(get(&result, "status").is_null());
    assert_eq!(
        get(&get(&result, "error"), "code").as_string().as_deref(),
        Some("network_error")
    );
    assert!(get(&result, "retryAt").as_string().is_some());
}

#[wasm_bindgen_test]
async fn beacon_where_the_environment_has_one() {
    let customer = unique("wasm-beacon");
    let call = create_saas_tracking(
        options(&[
            ("partnerKey", s("pk_wasm")),
            ("serviceName", s("svc")),
            ("customerId", s(&customer)),
            ("baseUrl", s(collector())),
            ("transport", s("beacon")),
        ]),
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
    );
    if is_browser() {
        let result = JsFuture::from(call).await.unwrap();
        assert_eq!(get(&result, "ok"), JsValue::TRUE);
        assert_eq!(get(&result, "transport").as_string().as_deref(), Some("beacon"));
        assert!(get(&result, "status").is_null());
    } else {
        expect_rejected(call, "transport_unavailable", Some("transport")).await;
    }
}

/// The only test that touches the module's defaults, so that the others do
/// not depend on the order tests run in.
#[wasm_bindgen_test]
async fn positional_form_with_configured_defaults() {
    let customer = unique("wasm-positional");
    let positional =
        |customer: &str| create_saas_tracking(JsValue::UNDEFINED, s("svc"), s(customer), JsValue::UNDEFINED);
    expect_rejected(positional(&customer), "missing_field", Some("partnerKey")).await;

    expect_rejected(
        configure(options(&[("baseUrl", s("ftp://x"))])),
        "invalid_base_url",
        Some("baseUrl"),
    )
    .await;
    expect_rejected(
        configure(options(&[("customerId", s("c"))])),
        "unknown_option",
        Some("customerId"),
    )
    .await;
    JsFuture::from(configure(options(&[
        ("partnerKey", s("pk_configured")),
        ("baseUrl", s(collector())),
    ])))
    .await
    .unwrap();

    let result = JsFuture::from(positional(&customer)).await.unwrap();
    assert_eq!(get(&result, "status").as_f64(), Some(201.0));
    assert_eq!(
        get(&get(&result, "tracking"), "partnerKey").as_string().as_deref(),
        Some("pk_configured")
    );

    // A repeat is not sent again: this environment already delivered it.
    let result = JsFuture::from(create_saas_tracking(
        s("pk_configured"),
        s("svc"),
        s(&customer),
        JsValue::UNDEFINED,
    ))
    .await
    .unwrap();
    assert_eq!(get(&result, "ok"), JsValue::TRUE);
    assert_eq!(get(&result, "alreadySent"), JsValue::TRUE);
    assert!(get(&result, "status").is_null());
}
