//! Sending: the tracking's POST by keepalive `fetch` (its answer read
//! through gloo-net), and beacons. Each starts the request when called;
//! keepalive lets it outlive the page.

use std::future::Future;
use std::pin::Pin;

use gloo_net::http::Response;
use js_sys::{Date, Promise};
use onramp_core::host::{Reply, Request};
use onramp_core::steps::Outcome;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, RequestInit};

use super::convert::to_js;

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

/// A POST without cookies (`mode` "cors" with the JSON body and the call's
/// timeout, or a keepalive "no-cors" one for a beacon), started now; `None`
/// when fetch is missing or refuses to start.
fn fetch(url: &str, body: &str, timeout_ms: Option<u32>, keepalive: bool) -> Option<Promise> {
    let init = Init {
        method: "POST",
        body,
        mode: if timeout_ms.is_some() { "cors" } else { "no-cors" },
        credentials: "omit",
        keepalive,
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

/// The JSON body by a CORS POST with the request's timeout (and
/// `keepalive` as the engine asks).
pub fn post(request: Request<'_>) -> Option<Promise> {
    fetch(request.url, request.body, Some(request.timeout_ms), request.keepalive)
}

/// A beacon: handed to the browser, its answer never read. It goes as a
/// keepalive `no-cors` fetch of text/plain (a simple request, never
/// preflighted), which unlike `navigator.sendBeacon` leaves the visitor's
/// cookies out; `sendBeacon` itself serves only where that fetch cannot
/// start. Only in browsers (where there is a `window`); true when taken.
pub fn beacon(url: &str, body: &str) -> bool {
    let Some(window) = super::convert::window() else {
        return false;
    };
    if let Some(pending) = fetch(url, body, None, true) {
        // Nobody reads a beacon's answer, nor its failure.
        let _ = super::job::promise(async move {
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

/// The future of a POST's answer.
pub type Replying = Pin<Box<dyn Future<Output = Reply>>>;

/// Waits for a POST's answer: the outcome, the collector's `Retry-After`
/// (read as a date by the browser's `Date.parse`, which takes all three
/// HTTP-date forms) and its answer's text.
pub fn reply(pending: Promise) -> Replying {
    let answered = JsFuture::from(pending);
    Box::pin(async move {
        match answered.await {
            Ok(response) => {
                let response = Response::from(response.unchecked_into::<web_sys::Response>());
                let retry_after = response.headers().get("Retry-After");
                let date = retry_after.as_deref().map_or(f64::NAN, Date::parse);
                let text = response.text().await.unwrap_or_default();
                Reply {
                    outcome: Outcome::Status(response.status()),
                    retry_after,
                    retry_after_date_ms: date.is_finite().then_some(date as i64),
                    text,
                }
            }
            Err(error) => {
                let name = super::convert::get(&error, "name").ok().and_then(|n| n.as_string());
                let timed_out = matches!(name.as_deref(), Some("TimeoutError" | "AbortError"));
                Reply {
                    outcome: if timed_out { Outcome::Timeout } else { Outcome::Network },
                    retry_after: None,
                    retry_after_date_ms: None,
                    text: String::new(),
                }
            }
        }
    })
}
