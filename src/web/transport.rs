//! Sending: the tracking's POST by keepalive `fetch` (its answer read
//! through gloo-net), and beacons. Every request starts synchronously, in
//! the caller's task, so that it survives the page navigating away.

use gloo_net::http::{Headers, Response};
use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Request, RequestCredentials, RequestInit, RequestMode};

use crate::steps::Outcome;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` (`window.fetch` in browsers, Node's own in Node).
    #[wasm_bindgen(js_name = fetch, catch)]
    fn global_fetch(request: &Request) -> Result<Promise, JsValue>;
    /// `AbortSignal.timeout`, where the engine has it.
    #[wasm_bindgen(js_namespace = AbortSignal, js_name = timeout, catch)]
    fn timeout_signal(ms: u32) -> Result<AbortSignal, JsValue>;
}

/// A keepalive POST without cookies, started now; `None` when fetch is
/// missing or refuses to start.
fn keepalive(url: &str, body: &str, init: &RequestInit) -> Option<Promise> {
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    init.set_credentials(RequestCredentials::Omit);
    // web-sys 0.3.107 has no keepalive setter.
    Reflect::set(init, &"keepalive".into(), &JsValue::TRUE).ok()?;
    let request = Request::new_with_str_and_init(url, init).ok()?;
    global_fetch(&request).ok()
}

/// The JSON body by a keepalive CORS POST with the call's timeout.
pub fn post(url: &str, body: &str, timeout_ms: u32) -> Option<Promise> {
    let init = RequestInit::new();
    let headers = Headers::new();
    headers.set("Content-Type", "application/json");
    init.set_headers(&headers.into_raw());
    init.set_mode(RequestMode::Cors);
    init.set_signal(timeout_signal(timeout_ms).ok().as_ref());
    keepalive(url, body, &init)
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
    let init = RequestInit::new();
    init.set_mode(RequestMode::NoCors);
    if let Some(pending) = keepalive(url, body, &init) {
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
