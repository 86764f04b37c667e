//! Sending: the tracking's POST by keepalive `fetch` (its answer read
//! through gloo-net), and beacons. Each starts the request when called;
//! keepalive lets it outlive the page.

use gloo_net::http::Response;
use js_sys::{Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, RequestInit};

use super::convert::to_js;

use onramp_core::steps::Outcome;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` (`window.fetch` in browsers, Node's own in Node).
    #[wasm_bindgen(js_name = fetch, catch)]
    fn global_fetch(url: &str, init: &RequestInit) -> Result<Promise, JsValue>;
    /// `AbortSignal.timeout`, where the engine has it.
    #[wasm_bindgen(js_namespace = AbortSignal, js_name = timeout, catch)]
    fn timeout_signal(ms: u32) -> Result<AbortSignal, JsValue>;
}

/// A request's options (`RequestInit`), made by serde-wasm-bindgen in one
/// go: `keepalive` has no setter in web-sys 0.3.107, and one object costs
/// less than a call per option.
#[derive(Serialize)]
struct Init<'a> {
    method: &'static str,
    body: &'a str,
    mode: &'static str,
    credentials: &'static str,
    keepalive: bool,
    /// `[["Content-Type", "application/json"]]`: a sequence of pairs,
    /// not a nested struct (see `convert::to_js`).
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<[[&'static str; 2]; 1]>,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    signal: JsValue,
}

/// A keepalive POST without cookies (`mode` "cors" with the JSON body and
/// the call's timeout, or "no-cors" for a beacon), started now; `None` when
/// fetch is missing or refuses to start.
fn keepalive(url: &str, body: &str, timeout_ms: Option<u32>) -> Option<Promise> {
    let init = Init {
        method: "POST",
        body,
        mode: if timeout_ms.is_some() { "cors" } else { "no-cors" },
        credentials: "omit",
        keepalive: true,
        headers: timeout_ms.map(|_| [["Content-Type", "application/json"]]),
        signal: timeout_ms
            .and_then(|ms| timeout_signal(ms).ok())
            .map_or(JsValue::UNDEFINED, JsValue::from),
    };
    let init: RequestInit = to_js(&init).unchecked_into();
    // `fetch(url, init)`, not `fetch(new Request(url, init))`: Firefox (ESR
    // 153) drops the keepalive flag of a Request object, and such a request
    // started as the page is left never arrives (the engine suite found it).
    global_fetch(url, &init).ok()
}

/// The JSON body by a keepalive CORS POST with the call's timeout.
pub fn post(url: &str, body: &str, timeout_ms: u32) -> Option<Promise> {
    keepalive(url, body, Some(timeout_ms))
}

/// A beacon: handed to the browser, its answer never read. It goes as a
/// keepalive `no-cors` fetch of text/plain (a simple request, never
/// preflighted), which unlike `navigator.sendBeacon` leaves the visitor's
/// cookies out; `sendBeacon` itself serves only where that fetch cannot
/// start. Only in browsers (where there is a `window`); true when taken.
pub fn beacon(url: &str, body: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    if let Some(pending) = keepalive(url, body, None) {
        // Nobody reads a beacon's answer, nor its failure.
        let _ = super::promise(async move {
            let _ = JsFuture::from(pending).await;
            Ok(JsValue::UNDEFINED)
        });
        return true;
    }
    window
        .navigator()
        .send_beacon_with_opt_str(url, Some(body))
        .unwrap_or(false)
}

/// What an attempt got back: the outcome, the collector's `Retry-After`
/// and its answer's text.
pub struct Reply {
    /// How the attempt ended.
    pub outcome: Outcome,
    /// The `Retry-After` header, when the collector sent one.
    pub retry_after: Option<String>,
    /// The answer's body.
    pub text: String,
}

/// Waits for a POST's answer.
pub async fn reply(pending: Promise) -> Reply {
    match JsFuture::from(pending).await {
        Ok(response) => {
            let response = Response::from(response.unchecked_into::<web_sys::Response>());
            let retry_after = response.headers().get("Retry-After");
            let text = response.text().await.unwrap_or_default();
            Reply {
                outcome: Outcome::Status(response.status()),
                retry_after,
                text,
            }
        }
        Err(error) => {
            let name = Reflect::get(&error, &"name".into()).ok().and_then(|n| n.as_string());
            let timed_out = matches!(name.as_deref(), Some("TimeoutError" | "AbortError"));
            Reply {
                outcome: if timed_out { Outcome::Timeout } else { Outcome::Network },
                retry_after: None,
                text: String::new(),
            }
        }
    }
}
