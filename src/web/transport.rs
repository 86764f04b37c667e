//! Sends an [`Outbound`] by `fetch` (with `keepalive`) or
//! `navigator.sendBeacon`. Both start synchronously, inside the caller's
//! task: a request that is only started after an `await` is lost when the
//! page navigates away in the same task.

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{AbortSignal, Headers, RequestCredentials, RequestInit, RequestMode};

use super::{env, error::to_js};
use crate::error::Error;
use crate::options::Transport;
use crate::outbound::Outbound;

/// The fetch body's media type, as in the original integration. Cross-origin
/// it needs a CORS preflight; Chromium keeps a keepalive request and its
/// preflight alive when the page navigates away (measured: README).
const CONTENT_TYPE: &str = "application/json";

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` (in browsers and in Node 18+).
    #[wasm_bindgen(catch, js_name = fetch)]
    fn global_fetch(request: &web_sys::Request) -> Result<Promise, JsValue>;
}

/// Sends the tracking and returns a Promise of `{ ok, status, body,
/// transport, tracking }`.
pub fn send(outbound: Outbound) -> Promise {
    if outbound.transport == Transport::Beacon {
        return send_beacon(&outbound);
    }
    match start_fetch(&outbound) {
        Ok(pending) => read_response(pending, outbound),
        Err(_) if outbound.transport.fallback() == Some(Transport::Beacon) => {
            send_beacon(&outbound)
        }
        Err(_) => Promise::reject(&to_js(&Error::TransportUnavailable)),
    }
}

/// A beacon's body is a string, so it goes as `text/plain`: a CORS-simple
/// request without preflight. (A JSON Blob would be preflighted in
/// credentials mode and silently lost by a collector that answers
/// `Access-Control-Allow-Origin: *`.)
fn send_beacon(outbound: &Outbound) -> Promise {
    let Some(navigator) = env::beacon_navigator() else {
        return Promise::reject(&to_js(&Error::TransportUnavailable));
    };
    match navigator.send_beacon_with_opt_str(&outbound.url, Some(&outbound.body)) {
        // The browser took the beacon and will send it even if the page
        // goes away; the collector's answer is not visible to the page.
        Ok(true) => Promise::resolve(&result(
            outbound,
            true,
            JsValue::NULL,
            JsValue::NULL,
            Transport::Beacon,
        )),
        Ok(false) | Err(_) => Promise::reject(&to_js(&Error::TransportUnavailable)),
    }
}

fn start_fetch(outbound: &Outbound) -> Result<Promise, JsValue> {
    let headers = Headers::new()?;
    headers.set("Content-Type", CONTENT_TYPE)?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(&outbound.body));
    // `keepalive` lets the request outlive the page; this web-sys has no
    // setter for it, so it is set as a plain property.
    Reflect::set(&init, &JsValue::from_str("keepalive"), &JsValue::TRUE)?;
    init.set_credentials(RequestCredentials::Omit);
    init.set_mode(RequestMode::Cors);
    init.set_signal(Some(&AbortSignal::timeout_with_u32(outbound.timeout_ms)));
    let request = web_sys::Request::new_with_str_and_init(&outbound.url, &init)?;
    global_fetch(&request)
}

fn read_response(pending: Promise, outbound: Outbound) -> Promise {
    future_to_promise(async move {
        let response = JsFuture::from(pending)
            .await
            .map_err(|e| to_js(&classify(&e)))?;
        let response =
            gloo_net::http::Response::from(response.unchecked_into::<web_sys::Response>());
        let status = response.status();
        // A body cut off by the timeout still leaves the status.
        let text = response.text().await.unwrap_or_default();
        let body = if text.is_empty() {
            JsValue::NULL
        } else {
            js_sys::JSON::parse(&text).unwrap_or_else(|_| JsValue::from_str(&text))
        };
        Ok(result(
            &outbound,
            response.ok(),
            JsValue::from(status),
            body,
            Transport::Fetch,
        ))
    })
}

/// A rejected `fetch` is a timeout when its signal fired, a network error
/// otherwise.
fn classify(err: &JsValue) -> Error {
    let name = Reflect::get(err, &JsValue::from_str("name"))
        .ok()
        .and_then(|n| n.as_string());
    match name.as_deref() {
        Some("TimeoutError" | "AbortError") => Error::Timeout,
        _ => Error::Network,
    }
}

fn result(
    outbound: &Outbound,
    ok: bool,
    status: JsValue,
    body: JsValue,
    transport: Transport,
) -> JsValue {
    let object = Object::new();
    let tracking = serde_wasm_bindgen::to_value(&outbound.tracking).unwrap_or(JsValue::NULL);
    for (key, value) in [
        ("ok", JsValue::from_bool(ok)),
        ("status", status),
        ("body", body),
        ("transport", JsValue::from_str(transport.name())),
        ("tracking", tracking),
    ] {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&object, &JsValue::from_str(key), &value);
    }
    object.into()
}
