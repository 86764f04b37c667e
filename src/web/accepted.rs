//! The set of accepted trackings in IndexedDB: unlike `localStorage`, it
//! is consistent across tabs, so the holder of a tracking's lock can see
//! that another tab delivered it.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(module = "/src/web/accepted.js")]
extern "C" {
    fn get(id: &str) -> Promise;
    fn put(id: &str, at: f64) -> Promise;
}

/// When IndexedDB says the tracking was accepted (epoch ms), if it does.
pub async fn accepted_at(id: &str) -> Option<i64> {
    let at = JsFuture::from(get(id)).await.ok()?.as_f64()?;
    at.is_finite().then_some(at as i64)
}

/// Records that the collector accepted the tracking.
pub async fn mark(id: &str, at: i64) {
    let _ = JsFuture::from(put(id, at as f64)).await;
}
