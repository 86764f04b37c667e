//! The set of accepted trackings in IndexedDB: unlike `localStorage`, it
//! is consistent across tabs, so the holder of a tracking's lock can see
//! that another tab delivered it.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::job::Awaited;

#[wasm_bindgen(module = "/src/web/accepted.js")]
extern "C" {
    fn get(id: &str) -> Promise;
    fn put(id: &str, at: f64, forget_before: f64) -> Promise;
}

/// The future of a read of the accepted set.
pub type Reading = Awaited<Option<i64>>;
/// The future of a write to the accepted set.
pub type Marking = Awaited<()>;

/// When IndexedDB says the tracking was accepted (epoch ms), if it does.
pub fn accepted_at(id: &str) -> Reading {
    Awaited::new(get(id), |read| {
        let at = read.ok()?.as_f64()?;
        at.is_finite().then_some(at as i64)
    })
}

/// Records that the collector accepted the tracking, and forgets what
/// the set holds from before `forget_before`.
pub fn mark(id: &str, at: i64, forget_before: i64) -> Marking {
    Awaited::new(put(id, at as f64, forget_before as f64), drop)
}
