//! The two ways a tracking leaves the page: `fetch` with `keepalive`, and
//! `navigator.sendBeacon`. Both start synchronously, inside the caller's
//! task: a request that is only started after an `await` is lost when the
//! page navigates away in the same task.

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, RequestCredentials, RequestInit, RequestMode};

use super::env;
use crate::error::Error;

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

/// The collector's answer.
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body, parsed when it is JSON; `null` when empty.
    pub body: JsValue,
    /// The `Retry-After` header, when the collector sent (and exposed) one.
    pub retry_after: Option<String>,
}

/// Starts a keepalive POST of `body` to `url` and returns the pending fetch.
pub fn start_fetch(url: &str, body: &str, timeout_ms: u32) -> Result<Promise, JsValue> {
    let headers = Headers::new()?;
    headers.set("Content-Type", CONTENT_TYPE)?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(body));
    // `keepalive` lets the request outlive the page; this web-sys has no
    // setter for it, so it is set as a plain property.
    Reflect::set(&init, &JsValue::from_str("keepalive"), &JsValue::TRUE)?;
    init.set_credentials(RequestCredentials::Omit);
    init.set_mode(RequestMode::Cors);
    init.set_signal(Some(&AbortSignal::timeout_with_u32(timeout_ms)));
    let request = web_sys::Request::new_with_str_and_init(url, &init)?;
    global_fetch(&request)
}

/// Waits for a started fetch and reads the answer.
pub async fn read_reply(pending: Promise) -> Result<Reply, Error> {
    let response = JsFuture::from(pending).await.map_err(|e| classify(&e))?;
    let response = gloo_net::http::Response::from(response.unchecked_into::<web_sys::Response>());
    let status = response.status();
    let retry_after = response.headers().get("Retry-After");
    // A body cut off by the timeout still leaves the status.
    let text = response.text().await.unwrap_or_default();
    let body = if text.is_empty() {
        JsValue::NULL
    } else {
        js_sys::JSON::parse(&text).unwrap_or_else(|_| JsValue::from_str(&text))
    };
    Ok(Reply {
        status,
        body,
        retry_after,
    })
}

/// A beacon's body is a string, so it goes as `text/plain`: a CORS-simple
/// request without preflight. (A JSON Blob would be preflighted in
/// credentials mode and silently lost by a collector that answers
/// `Access-Control-Allow-Origin: *`.) `Ok` means the browser took it.
pub fn send_beacon(url: &str, body: &str) -> Result<(), Error> {
    let navigator = env::beacon_navigator().ok_or(Error::TransportUnavailable)?;
    match navigator.send_beacon_with_opt_str(url, Some(body)) {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(Error::TransportUnavailable),
    }
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
