//! The wasm's exports (`createSaasTracking`, `configure`, `flush`), compiled
//! for wasm32 and run in headless Chromium (`tests/browser.rs`) and in Node
//! (`tests/node.rs`): each Promise is awaited; a refusal is an
//! `OnrampError`; a delivery goes to a closed loopback port and is queued.
//!
//! One module instance serves every test of a binary, and `configure()`
//! keeps its defaults for all later calls. So the tests that configure set
//! the same `baseUrl` and `timeoutMs` ([`configure_collector`]), only the
//! all-or-nothing test sets a default `partnerKey`, and no test expects a
//! missing `partnerKey`, `baseUrl` or `timeoutMs`: the order of the tests
//! does not matter. Each test uses its own `customerId`, so each tracking
//! has its own record in the queue.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use js_sys::{Date, Function, JsString, Object, Promise, Proxy, Reflect, JSON};
use onramp_pixel::exports::{configure, create_saas_tracking, flush};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

/// A loopback collector nobody answers: port 9 (discard) is closed, and
/// Chromium refuses it outright as an unsafe port.
const UNREACHABLE: &str = "http://127.0.0.1:9";
/// The timeout of calls that reach the network: short, should the port
/// not refuse the connection at once.
const TIMEOUT_MS: f64 = 2_000.0;
const PARTNER_KEY: &str = "pk_wasm";
const SERVICE: &str = "Acme CRM";
/// `purchasedAt` as given, and as the tracking's body carries it.
const PURCHASED_AT: &str = "2026-01-02T03:04:05+01:00";
const PURCHASED_AT_UTC: &str = "2026-01-02T02:04:05.000Z";

// JS values.

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap()
}

fn text(object: &JsValue, key: &str) -> Option<String> {
    get(object, key).as_string()
}

fn set(object: &Object, key: &str, value: JsValue) {
    assert!(Reflect::set(object, &JsValue::from_str(key), &value).unwrap());
}

/// A plain object with these properties.
fn object(fields: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    for (key, value) in fields {
        set(&object, key, value.clone());
    }
    object
}

/// A function that throws when called: a getter or a Proxy trap.
fn throwing() -> JsValue {
    Function::new_with_args("", "throw new Error('boom')").into()
}

/// A complete options object for `customer`, to the unreachable collector.
fn options(customer: &str) -> Object {
    object(&[
        ("partnerKey", PARTNER_KEY.into()),
        ("serviceName", SERVICE.into()),
        ("customerId", customer.into()),
        ("purchasedAt", PURCHASED_AT.into()),
        ("baseUrl", UNREACHABLE.into()),
        ("timeoutMs", TIMEOUT_MS.into()),
    ])
}

/// [`options`] with one property set to `value`.
fn options_with(customer: &str, key: &str, value: JsValue) -> Object {
    let options = options(customer);
    set(&options, key, value);
    options
}

// The exports and their Promises.

/// `createSaasTracking(options)`.
fn create(options: impl Into<JsValue>) -> Promise {
    let none = || JsValue::UNDEFINED;
    create_saas_tracking(options.into(), none(), none(), none(), None, 0.0, 0.0)
}

/// `createSaasTracking(partnerKey, serviceName, customerId, purchasedAt)`.
fn create_positional(partner_key: &str, service: &str, customer: JsValue, purchased_at: JsValue) -> Promise {
    create_saas_tracking(
        partner_key.into(),
        service.into(),
        customer,
        purchased_at,
        None,
        0.0,
        0.0,
    )
}

/// The defaults every configuring test sets alike.
async fn configure_collector() {
    let defaults = object(&[("baseUrl", UNREACHABLE.into()), ("timeoutMs", TIMEOUT_MS.into())]);
    assert!(resolved(configure(defaults.into())).await.is_undefined());
}

async fn resolved(promise: Promise) -> JsValue {
    match JsFuture::from(promise).await {
        Ok(value) => value,
        Err(error) => panic!("rejected with {}: {:?}", describe(&error), text(&error, "message")),
    }
}

async fn rejected(promise: Promise) -> JsValue {
    match JsFuture::from(promise).await {
        Ok(value) => panic!("resolved with {}", describe(&value)),
        Err(error) => error,
    }
}

fn describe(value: &JsValue) -> String {
    JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// Asserts that `error` is an `OnrampError`: a JS `Error` named
/// `OnrampError` with this code, field (`null` for `None`) and message.
fn assert_onramp_error(error: &JsValue, code: &str, field: Option<&str>, message: &str) {
    assert!(error.is_instance_of::<js_sys::Error>(), "not an Error: {error:?}");
    assert_eq!(text(error, "name").as_deref(), Some("OnrampError"));
    assert_eq!(text(error, "code").as_deref(), Some(code), "code of {message:?}");
    match field {
        Some(field) => assert_eq!(text(error, "field").as_deref(), Some(field), "field of {code}"),
        None => assert!(get(error, "field").is_null(), "field of {code} should be null"),
    }
    assert_eq!(text(error, "message").as_deref(), Some(message), "message of {code}");
}

/// Awaits a call that must be refused, and checks its `OnrampError`.
async fn expect_refusal(promise: Promise, code: &str, field: &str, message: &str) {
    assert_onramp_error(&rejected(promise).await, code, Some(field), message);
}

/// Asserts what a call to the unreachable collector resolves to.
fn assert_queued_after_network_error(result: &JsValue, tracking: &str) {
    assert_eq!(get(result, "ok").as_bool(), Some(false), "{}", describe(result));
    assert_eq!(get(result, "queued").as_bool(), Some(true));
    assert!(get(result, "alreadySent").is_undefined());
    assert!(get(result, "status").is_null(), "no answer, no status");
    assert!(get(result, "body").is_null(), "no answer, no body");
    assert_eq!(text(result, "transport").as_deref(), Some("fetch"));
    assert_onramp_error(
        &get(result, "error"),
        "network_error",
        None,
        "the collector could not be reached",
    );
    let retry_at = text(result, "retryAt").expect("a queued tracking has retryAt");
    assert!(Date::parse(&retry_at).is_finite(), "retryAt {retry_at:?} is a date");
    assert_eq!(describe(&get(result, "tracking")), tracking, "the normalised body");
}

/// The tracking's body as JSON, in the collector's field order.
fn body(partner_key: &str, customer: &str, purchased_at: &str) -> String {
    format!(
        r#"{{"partnerKey":"{partner_key}","serviceName":"{SERVICE}","customerId":"{customer}","purchasedAt":"{purchased_at}"}}"#
    )
}

// The tests.

#[wasm_bindgen_test]
async fn values_of_the_wrong_type_are_refused_by_field() {
    let as_string = |field: &str| format!("{field} must be a string");
    expect_refusal(
        create(options_with("c-type-number", "customerId", 42.into())),
        "invalid_type",
        "customerId",
        &as_string("customerId"),
    )
    .await;
    expect_refusal(
        create(options_with("c-type-bool", "serviceName", true.into())),
        "invalid_type",
        "serviceName",
        &as_string("serviceName"),
    )
    .await;
    expect_refusal(
        create(options_with("c-type-object", "purchasedAt", Object::new().into())),
        "invalid_type",
        "purchasedAt",
        "purchasedAt must be an ISO 8601 string, a Date or epoch milliseconds",
    )
    .await;
    expect_refusal(
        create(options_with("c-type-timeout", "timeoutMs", "5000".into())),
        "invalid_type",
        "timeoutMs",
        "timeoutMs must be a number",
    )
    .await;
    // The positional form reads its values alike.
    expect_refusal(
        create_positional(PARTNER_KEY, SERVICE, 42.into(), JsValue::UNDEFINED),
        "invalid_type",
        "customerId",
        &as_string("customerId"),
    )
    .await;
}

#[wasm_bindgen_test]
async fn missing_fields_are_named_whether_absent_undefined_or_null() {
    let absent = options("c-missing-absent");
    assert!(Reflect::delete_property(&absent, &"customerId".into()).unwrap());
    expect_refusal(create(absent), "missing_field", "customerId", "customerId is required").await;
    let undefined = options_with("c-missing-undefined", "serviceName", JsValue::UNDEFINED);
    expect_refusal(
        create(undefined),
        "missing_field",
        "serviceName",
        "serviceName is required",
    )
    .await;
    expect_refusal(
        create_positional(PARTNER_KEY, SERVICE, JsValue::NULL, JsValue::UNDEFINED),
        "missing_field",
        "customerId",
        "customerId is required",
    )
    .await;
}

#[wasm_bindgen_test]
async fn an_unknown_option_is_refused_by_its_name() {
    let typo = options_with("c-unknown", "customerID", "c-unknown".into());
    expect_refusal(
        create(typo),
        "unknown_option",
        "customerID",
        "customerID is not a known option",
    )
    .await;
    // configure() takes only the defaults, not a tracking's fields.
    let configured = object(&[("serviceName", SERVICE.into())]);
    expect_refusal(
        configure(configured.into()),
        "unknown_option",
        "serviceName",
        "serviceName is not a known option",
    )
    .await;
}

#[wasm_bindgen_test]
async fn lone_surrogates_and_control_characters_are_invalid_characters() {
    let message = "customerId has a control character or a lone surrogate";
    let surrogate = JsString::from("c-surrogate-").concat(&JsString::from_char_code1(0xD800));
    assert!(!surrogate.is_valid_utf16());
    let options = options_with("c-surrogate", "customerId", surrogate.clone().into());
    expect_refusal(create(options), "invalid_characters", "customerId", message).await;
    expect_refusal(
        create_positional(PARTNER_KEY, SERVICE, surrogate.into(), JsValue::UNDEFINED),
        "invalid_characters",
        "customerId",
        message,
    )
    .await;
    let bell = options_with("c-bell", "customerId", "c-\u{7}-bell".into());
    expect_refusal(create(bell), "invalid_characters", "customerId", message).await;
}

#[wasm_bindgen_test]
async fn options_that_throw_when_read_are_invalid_type() {
    let message = "options must be an object whose properties can be read";

    let getter = options("c-getter");
    let descriptor = object(&[("get", throwing()), ("enumerable", true.into())]);
    Object::define_property(&getter, &"customerId".into(), &descriptor);
    expect_refusal(create(getter), "invalid_type", "options", message).await;

    let own_keys = object(&[("ownKeys", throwing())]);
    let listing = Proxy::new(&options("c-proxy-keys").into(), &own_keys);
    expect_refusal(create(listing), "invalid_type", "options", message).await;

    let get_trap = object(&[("get", throwing())]);
    let reading = Proxy::new(&options("c-proxy-get").into(), &get_trap);
    expect_refusal(create(reading), "invalid_type", "options", message).await;

    // A revoked Proxy throws at the first look (`Array.isArray`).
    let revocable = Proxy::revocable(&options("c-proxy-revoked").into(), &Object::new());
    let revoke: Function = get(&revocable, "revoke").unchecked_into();
    revoke.call0(&JsValue::UNDEFINED).unwrap();
    expect_refusal(create(get(&revocable, "proxy")), "invalid_type", "options", message).await;

    // configure() reads its options the same way.
    let getter = Object::new();
    Object::define_property(&getter, &"baseUrl".into(), &descriptor);
    expect_refusal(configure(getter.into()), "invalid_type", "options", message).await;
}

#[wasm_bindgen_test]
async fn configure_takes_an_object() {
    expect_refusal(
        configure(UNREACHABLE.into()),
        "invalid_type",
        "options",
        "options must be an object",
    )
    .await;
}

#[wasm_bindgen_test]
async fn a_plain_http_base_url_to_a_public_host_is_insecure() {
    let message = "baseUrl must use https: (http: only for localhost, 127.0.0.1 and [::1])";
    let public = options_with("c-insecure", "baseUrl", "http://onramp.example".into());
    expect_refusal(create(public), "insecure_base_url", "baseUrl", message).await;
    let defaults = object(&[("baseUrl", "http://onramp.example".into())]);
    expect_refusal(configure(defaults.into()), "insecure_base_url", "baseUrl", message).await;
}

#[wasm_bindgen_test]
async fn an_unreachable_collector_queues_the_tracking() {
    let result = resolved(create(options("c-unreachable"))).await;
    let expected = body(PARTNER_KEY, "c-unreachable", PURCHASED_AT_UTC);
    assert_queued_after_network_error(&result, &expected);
}

#[wasm_bindgen_test]
async fn the_positional_form_uses_the_configured_collector() {
    configure_collector().await;
    let purchased_at = Date::new(&1_767_323_045_999.0.into());
    let result = resolved(create_positional(
        "pk_positional",
        SERVICE,
        "c-positional".into(),
        purchased_at.into(),
    ))
    .await;
    let expected = body("pk_positional", "c-positional", "2026-01-02T03:04:05.999Z");
    assert_queued_after_network_error(&result, &expected);
}

#[wasm_bindgen_test]
async fn a_refused_configure_keeps_the_earlier_defaults() {
    configure_collector().await;
    let earlier = object(&[("partnerKey", "pk_earlier".into())]);
    assert!(resolved(configure(earlier.into())).await.is_undefined());
    // Valid options beside an invalid one are not kept either.
    let refused = object(&[
        ("partnerKey", "pk_refused".into()),
        ("baseUrl", "https://collector.example".into()),
        ("transport", "pigeon".into()),
    ]);
    expect_refusal(
        configure(refused.into()),
        "invalid_option",
        "transport",
        r#"transport must be "auto", "fetch" or "beacon""#,
    )
    .await;
    let refused = object(&[("partnerKey", "pk_refused".into()), ("timeoutMs", 0.into())]);
    expect_refusal(
        configure(refused.into()),
        "invalid_option",
        "timeoutMs",
        "timeoutMs must be a whole number of milliseconds from 1 to 600000",
    )
    .await;

    // A call without partnerKey, baseUrl and timeoutMs gets the earlier ones.
    let call = object(&[
        ("serviceName", SERVICE.into()),
        ("customerId", "c-configured".into()),
        ("purchasedAt", PURCHASED_AT.into()),
    ]);
    let result = resolved(create(call)).await;
    let expected = body("pk_earlier", "c-configured", PURCHASED_AT_UTC);
    assert_queued_after_network_error(&result, &expected);
}

#[wasm_bindgen_test]
async fn flush_answers_what_it_sent_and_what_waits() {
    let queued = resolved(create(options("c-flush"))).await;
    assert_eq!(get(&queued, "queued").as_bool(), Some(true));
    let flushed = resolved(flush()).await;
    let count = |key: &str| {
        get(&flushed, key)
            .as_f64()
            .unwrap_or_else(|| panic!("{key} is a number"))
    };
    assert_eq!(count("sent"), 0.0, "nobody answers on the closed port");
    let waiting = count("waiting");
    assert!(
        waiting >= 1.0 && waiting.fract() == 0.0,
        "c-flush still waits: {waiting}"
    );
}

/// The collector POST is what the engine asks for: a keepalive request
/// (it outlives the page), without credentials, JSON to the collector.
/// Firefox and WebKit lose a request without keepalive when the page is
/// left; this holds the browser host to the engine's word in every engine.
#[wasm_bindgen_test]
async fn the_post_is_a_keepalive_request_without_credentials() {
    let customer = "keepalive-1";
    let swap = Function::new_with_args(
        "",
        "const original = globalThis.fetch; globalThis.__seen = []; \
         globalThis.fetch = (url, init) => { globalThis.__seen.push([url, init]); return Promise.reject(new TypeError('offline')); }; \
         return () => { globalThis.fetch = original; };",
    );
    let restore: Function = swap.call0(&JsValue::UNDEFINED).unwrap().into();
    let result = resolved(create(options(customer))).await;
    restore.call0(&JsValue::UNDEFINED).unwrap();
    assert_eq!(get(&result, "queued").as_bool(), Some(true), "{}", describe(&result));
    let seen: js_sys::Array = Reflect::get(&js_sys::global(), &"__seen".into()).unwrap().into();
    let init = seen
        .iter()
        .map(|call| js_sys::Array::from(&call))
        .find(|call| {
            let body = get(&call.get(1), "body").as_string().unwrap_or_default();
            body.contains(customer)
        })
        .map(|call| call.get(1))
        .expect("the tracking's POST went through fetch");
    assert_eq!(get(&init, "keepalive").as_bool(), Some(true));
    assert_eq!(text(&init, "credentials").as_deref(), Some("omit"));
    assert_eq!(text(&init, "method").as_deref(), Some("POST"));
    assert_eq!(text(&init, "mode").as_deref(), Some("cors"));
}

/// The accepted set (IndexedDB, the same for every tab) settles a call for
/// a tracking this browser delivered even where its record is gone from
/// this page's view of `localStorage` (another tab's write not seen yet,
/// storage cleared): no second POST. (In Node, without `localStorage`, the
/// record is in the page's memory, which guards it the same.)
#[wasm_bindgen_test]
async fn the_accepted_set_settles_a_call_whose_record_is_gone() {
    let customer = "accepted-set-1";
    let swap = Function::new_with_args(
        "",
        "const original = globalThis.fetch; globalThis.__posts = 0; \
         globalThis.fetch = () => (globalThis.__posts++, Promise.resolve(new Response('{}', { status: 201 }))); \
         return () => { globalThis.fetch = original; };",
    );
    let restore: Function = swap.call0(&JsValue::UNDEFINED).unwrap().into();
    let first = resolved(create(options(customer))).await;
    assert_eq!(get(&first, "ok").as_bool(), Some(true), "{}", describe(&first));
    Function::new_with_args(
        "customer",
        "const s = globalThis.localStorage; if (s) for (const k of Object.keys(s)) if (k.includes(customer)) s.removeItem(k);",
    )
    .call1(&JsValue::UNDEFINED, &customer.into())
    .unwrap();
    let second = resolved(create(options(customer))).await;
    restore.call0(&JsValue::UNDEFINED).unwrap();
    let posts = Reflect::get(&js_sys::global(), &"__posts".into()).unwrap().as_f64();
    assert_eq!(
        get(&second, "alreadySent").as_bool(),
        Some(true),
        "{}",
        describe(&second)
    );
    assert_eq!(posts, Some(1.0), "one POST");
}

/// The gate at signup: with `requireReferral`, a visitor without a kept
/// referral that counts is skipped (nothing stored, nothing sent); one
/// with a referral goes on, and the result says which.
#[wasm_bindgen_test]
async fn require_referral_skips_a_visitor_the_marketplace_did_not_send() {
    let customer = "gate-1";
    let gated = |source: Option<u32>, at: f64, until: f64| {
        let options = options_with(customer, "requireReferral", true.into());
        let none = JsValue::UNDEFINED;
        create_saas_tracking(options.into(), none.clone(), none.clone(), none, source, at, until)
    };
    let result = resolved(gated(None, 0.0, 0.0)).await;
    assert_eq!(
        text(&result, "skipped").as_deref(),
        Some("not_referred"),
        "{}",
        describe(&result)
    );
    assert_eq!(get(&result, "ok").as_bool(), Some(false));
    assert_eq!(get(&result, "queued").as_bool(), Some(false));
    assert!(get(&result, "transport").is_null(), "nothing was sent");
    assert!(get(&result, "referral").is_undefined());
    let waiting = get(&resolved(flush()).await, "waiting");
    let result = resolved(gated(Some(0), 1_000.0, 2_000.0)).await;
    assert_eq!(
        text(&result, "skipped").as_deref(),
        Some("not_referred"),
        "an expired referral does not count"
    );
    assert_eq!(get(&resolved(flush()).await, "waiting"), waiting, "nothing was queued");

    let now = Date::now();
    let result = resolved(gated(Some(1), now - 1_000.0, now + 86_400_000.0)).await;
    assert!(get(&result, "skipped").is_undefined(), "{}", describe(&result));
    assert_eq!(
        get(&result, "queued").as_bool(),
        Some(true),
        "sent to the unreachable collector, and queued"
    );
    let referral = get(&result, "referral");
    assert_eq!(text(&referral, "source").as_deref(), Some("referrer"));
    assert!(Date::parse(&text(&referral, "at").unwrap_or_default()).is_finite());
    expect_refusal(
        create(options_with(customer, "requireReferral", "yes".into())),
        "invalid_type",
        "requireReferral",
        "requireReferral must be a boolean",
    )
    .await;
}
