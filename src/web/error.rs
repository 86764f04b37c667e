//! The core's [`Error`] as a JS `Error` with `name = "OnrampError"`, a
//! stable `code` and the offending `field` (or `null`).

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::error::Error;

/// Builds the JS error object a rejected Promise carries.
pub fn to_js(err: &Error) -> JsValue {
    let js = js_sys::Error::new(&err.message());
    js.set_name("OnrampError");
    let field = err.field().map_or(JsValue::NULL, JsValue::from_str);
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&js, &JsValue::from_str("code"), &JsValue::from_str(err.code()));
    let _ = Reflect::set(&js, &JsValue::from_str("field"), &field);
    js.into()
}
