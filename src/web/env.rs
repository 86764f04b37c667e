//! What the environment offers: the clock and the globals, looked up on
//! `globalThis` so that the same module runs in browsers and in Node.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::error::Error;
use crate::time::Timestamp;

/// The time of the call.
pub fn now() -> Result<Timestamp, Error> {
    Timestamp::from_epoch_ms(js_sys::Date::now())
}

/// The time in epoch milliseconds (0 if the clock is unusable).
pub fn now_ms() -> i64 {
    now().map(Timestamp::as_millis).unwrap_or(0)
}

/// A global that is an object (`localStorage`...); `None` where it is
/// absent or reading it throws.
pub fn global_property(name: &str) -> Option<JsValue> {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name))
        .ok()
        .filter(|v| v.is_object())
}
