//! The browser as the engine's host: each method does what it is asked
//! with the module beside it, and decides nothing.

use std::future::Future;

use js_sys::{Date, Math, Promise};
use onramp_core::host::{Host, Request, Warning};
use onramp_core::queue::Record;
use wasm_bindgen::JsValue;

use super::job::promise;
use super::locks::{self, Release};
use super::{accepted, page, storage, transport};

/// The browser (or Node, where the JS around it has no page).
pub struct Browser;

impl Host for Browser {
    type Guard = Release;
    type Pending = Promise;
    type Locking = locks::Locking;
    type Reading = accepted::Reading;
    type Marking = accepted::Marking;
    type Replying = transport::Replying;

    fn now(&self) -> f64 {
        Date::now()
    }

    fn random(&self) -> f64 {
        Math::random()
    }

    fn load(&self, id: &str) -> Option<Record> {
        storage::load(id)
    }

    fn save(&self, id: &str, record: &Record) -> bool {
        storage::save(id, record)
    }

    fn remove(&self, id: &str) {
        storage::remove(id);
    }

    fn records(&self) -> Vec<(String, Record)> {
        storage::all()
    }

    fn lock(&self, id: &str, lease_for_ms: i64) -> locks::Locking {
        locks::lock(id, lease_for_ms)
    }

    fn accepted_at(&self, id: &str) -> accepted::Reading {
        accepted::accepted_at(id)
    }

    fn mark_accepted(&self, id: &str, at: i64, forget_before: i64) -> accepted::Marking {
        accepted::mark(id, at, forget_before)
    }

    fn post(&self, request: Request<'_>) -> Option<Promise> {
        transport::post(request)
    }

    fn reply(&self, pending: Promise) -> transport::Replying {
        transport::reply(pending)
    }

    fn beacon(&self, url: &str, body: &str) -> bool {
        transport::beacon(url, body)
    }

    fn spawn(&self, task: impl Future<Output = ()> + 'static) {
        let _ = promise(async move {
            task.await;
            Ok(JsValue::UNDEFINED)
        });
    }

    fn set_timer(&self, delay_ms: i64) {
        page::set_timer(delay_ms);
    }

    fn watch_leaving(&self, on: bool) {
        page::watch_leaving(on);
    }

    fn warn(&self, warning: Warning) {
        // Node (the CLI, a server) has no storage to fail: its queue is in
        // memory by design (docs/delivery.md), which is nothing to warn of.
        if matches!(warning, Warning::NotStored) && !super::convert::in_page() {
            return;
        }
        web_sys::console::warn_1(&["[onramp] ", warning.message()].concat().into());
    }
}
