//! The tracking's lock: an exclusive Web Lock, or where the browser has
//! none a lease in IndexedDB, through `locks.js`. The lock is held until
//! the [`Release`] is dropped.

use js_sys::{Function, Promise};
use onramp_core::host::Lock;
use onramp_core::queue::MAX_LEASE_MS;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::job::Awaited;

#[wasm_bindgen(module = "/src/web/locks.js")]
extern "C" {
    fn acquire(name: &str, lease_for_ms: f64, longest_ms: f64) -> Promise;
}

/// Releases the lock when dropped.
pub struct Release(Function);

impl Drop for Release {
    fn drop(&mut self) {
        let _ = self.0.call0(&JsValue::UNDEFINED);
    }
}

/// The future of a lock asked for.
pub type Locking = Awaited<Lock<Release>>;

/// Asks for the tracking's lock now (a lease of `lease_for_ms` where there are
/// no Web Locks).
pub fn lock(id: &str, lease_for_ms: i64) -> Locking {
    let name = ["onramp-pixel:", id].concat();
    Awaited::new(
        acquire(&name, lease_for_ms as f64, MAX_LEASE_MS as f64),
        |asked| match asked {
            Ok(release) if release.is_function() => Lock::Held(Release(release.unchecked_into())),
            Ok(taken) => match taken.as_f64() {
                Some(until) if until.is_finite() => Lock::Taken(until as i64),
                _ => Lock::Unlocked,
            },
            Err(_) => Lock::Unlocked,
        },
    )
}
