//! The browser (and Node) as the engine's host, and the exports' way in
//! and out: JS values are read for the core, the engine
//! (`onramp_core::engine`) decides, and its reports go back as JS values.
//! All through wasm-bindgen, js-sys, web-sys, gloo-net and
//! serde-wasm-bindgen.
//!
//! - [`convert`]: JS values in (classified for the core) and out (results,
//!   `OnrampError`).
//! - [`host`]: the `Host` the engine runs on, over the modules below.
//! - [`transport`]: `fetch` (answers read through gloo-net) and beacons.
//! - [`storage`]: one `localStorage` record per tracking.
//! - [`locks`], [`accepted`]: Web Locks and IndexedDB's accepted set,
//!   through two small JS files beside them.
//! - [`page`]: the retry timer and the page's events.
//! - [`job`]: the jobs behind every Promise, and the executor that runs
//!   them.

use std::rc::Rc;

use js_sys::Promise;
use onramp_core::call;
use onramp_core::engine::{Called, Engine, Flushed, Mode, Refused, Report};
use onramp_core::host::PageEvent;
use onramp_core::options::{CONFIGURE_OPTIONS, TRACKING_OPTIONS};
use onramp_core::referral::Referral;
use onramp_core::time::Timestamp;
use onramp_core::Error;
use serde::Serialize;
use wasm_bindgen::JsValue;

use self::convert::{answer_body, to_js, JsAnswer};
use self::host::Browser;
use self::job::promise;

pub mod accepted;
pub mod convert;
pub mod host;
pub mod job;
pub mod locks;
pub mod page;
pub mod storage;
pub mod transport;

thread_local! {
    /// The page's engine.
    static ENGINE: Rc<Engine<Browser>> = Engine::new(Browser);
}

fn engine() -> Rc<Engine<Browser>> {
    ENGINE.with(Rc::clone)
}

/// What the engine is told of the page: the timer, the page's events.
fn on_page(event: PageEvent) {
    let _ = flushed(engine().page(event));
}

/// On load: trackings left waiting by an earlier page are sent when due.
pub fn start() {
    page::listen(on_page);
    let _ = flushed(engine().flush(Mode::Due));
}

fn reject(err: &Error) -> Promise {
    Promise::reject(&convert::error(err, None))
}

/// What a call resolves to, as `index.d.ts` names it: the engine's
/// `Called` (its `Report`, and whether the record was stored) in the page's
/// words.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TrackingResult {
    ok: bool,
    queued: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    already_sent: Option<bool>,
    status: Option<u16>,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    body: JsValue,
    transport: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_at: Option<String>,
    #[serde(with = "serde_wasm_bindgen::preserve", skip_serializing_if = "JsValue::is_undefined")]
    error: JsValue,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    tracking: JsValue,
    /// `false` when the queue could not store the tracking (storage full
    /// or disabled): while it waits, it lives only in this page.
    #[serde(skip_serializing_if = "Option::is_none")]
    persisted: Option<bool>,
    /// The visitor's referral that counted: `{ source, at }`.
    #[serde(with = "serde_wasm_bindgen::preserve", skip_serializing_if = "JsValue::is_undefined")]
    referral: JsValue,
}

/// A referral as the result shows it.
#[derive(Serialize)]
struct ReferralResult {
    source: &'static str,
    at: String,
}

impl TrackingResult {
    /// The engine's report of a call, with the tracking as a JS object.
    fn new(called: Called, tracking: JsValue) -> TrackingResult {
        let mut result = TrackingResult {
            ok: false,
            queued: false,
            already_sent: None,
            status: None,
            body: JsValue::NULL,
            transport: None,
            retry_at: None,
            error: JsValue::UNDEFINED,
            tracking,
            persisted: (!called.persisted).then_some(false),
            skipped: None,
            referral: called.referral.map_or(JsValue::UNDEFINED, |r| {
                to_js(&ReferralResult {
                    source: r.source.name(),
                    at: Timestamp::from_epoch_ms(r.at as f64)
                        .unwrap_or(Timestamp::EPOCH)
                        .to_rfc3339(),
                })
            }),
        };
        match called.report {
            Report::Skipped(skip) => result.skipped = Some(skip.name()),
            Report::AlreadySent => {
                result.ok = true;
                result.already_sent = Some(true);
            }
            Report::Waiting => result.queued = true,
            Report::Sent {
                transport,
                accepted,
                answer,
                retry_at,
                error,
            } => {
                result.ok = accepted;
                result.queued = !accepted;
                result.transport = Some(transport.name());
                result.retry_at = retry_at.map(Timestamp::to_rfc3339);
                if let Some(answer) = answer {
                    result.status = Some(answer.status);
                    result.body = answer_body(&answer.text);
                }
                result.error = error.map_or(JsValue::UNDEFINED, |e| convert::error(&e, None));
            }
        }
        result
    }
}

/// A refused call as an `OnrampError`, with the collector's answer.
fn refused((error, answer): Refused) -> JsValue {
    let answer = answer.map(|a| JsAnswer {
        status: a.status,
        body: answer_body(&a.text),
    });
    convert::error(&error, answer.as_ref())
}

/// `createSaasTracking(...)`: checked, queued and sent (see
/// `Engine::call`); `referral` is the visitor's kept referral as the page
/// read it.
pub fn create(args: &[JsValue], referral: Option<Referral>) -> Promise {
    let engine = engine();
    let prepared =
        convert::call_values(args, false, &TRACKING_OPTIONS).and_then(|values| engine.prepare(call::read(&values)?));
    let outbound = match prepared {
        Ok(outbound) => outbound,
        Err(err) => return reject(&err),
    };
    page::listen(on_page);
    // The result's `tracking`: the body the core writes, read back.
    let tracking = js_sys::JSON::parse(&outbound.body).unwrap_or(JsValue::NULL);
    let call = engine.call(outbound, referral);
    promise(async move {
        match call.await {
            Ok(called) => Ok(to_js(&TrackingResult::new(called, tracking))),
            Err(refusal) => Err(refused(refusal)),
        }
    })
}

/// `configure({ baseUrl, partnerKey, timeoutMs, transport })`: kept as
/// defaults for later calls only when every option given is valid.
pub fn configure(options: &JsValue) -> Promise {
    let checked = convert::call_values(std::slice::from_ref(options), true, &CONFIGURE_OPTIONS)
        .and_then(|values| engine().configure(call::read(&values)?.as_configure()));
    match checked {
        Ok(()) => Promise::resolve(&JsValue::UNDEFINED),
        Err(err) => reject(&err),
    }
}

/// What `flush()` resolves to.
#[derive(Serialize)]
struct FlushResult {
    sent: u32,
    waiting: u32,
}

/// `flush()`: everything waiting, now; resolves `{ sent, waiting }` and
/// never rejects.
pub fn flush() -> Promise {
    page::listen(on_page);
    flushed(engine().flush(Mode::Forced))
}

fn flushed(flush: impl std::future::Future<Output = Flushed> + 'static) -> Promise {
    promise(async move {
        let Flushed { sent, waiting } = flush.await;
        Ok(to_js(&FlushResult { sent, waiting }))
    })
}
