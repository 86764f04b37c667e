//! What the environment offers: the clock, `navigator.sendBeacon` and the
//! other globals, looked up on `globalThis` so that the same module runs in
//! browsers and in Node.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::Error;
use crate::time::Timestamp;

/// The time of the call.
pub fn now() -> Result<Timestamp, Error> {
    Timestamp::from_epoch_ms(js_sys::Date::now())
}

/// A global that is an object (`document`, `navigator`, `indexedDB`,
/// `localStorage`...); `None` where it is absent or reading it throws.
pub fn global_property(name: &str) -> Option<JsValue> {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name))
        .ok()
        .filter(|v| v.is_object())
}

/// `navigator`, when it has a `sendBeacon` function.
pub fn beacon_navigator() -> Option<web_sys::Navigator> {
    let navigator = global_property("navigator")?;
    let send = Reflect::get(&navigator, &JsValue::from_str("sendBeacon")).ok()?;
    send.is_function().then(|| navigator.unchecked_into())
}
