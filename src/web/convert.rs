//! JS values in and out: the caller's arguments classified for the core
//! ([`Value`]), and the core's answers and errors as JS objects.
//!
//! The caller's values are read with js-sys, not
//! `serde_wasm_bindgen::from_value`: from_value names no field in its
//! errors, does not see unknown keys (serde-wasm-bindgen issue 39) and its
//! error path links core::fmt's float printer (7 KB gzip). Every JS
//! operation that can run the caller's code (a getter, a Proxy trap) is
//! imported with `catch`, so a hostile value becomes an error, never an
//! exception on the host page.

use js_sys::{Array, JsString, Object};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use onramp_core::call::{check_keys, Unreadable, Value, FIELDS, MAX_UNITS};
use onramp_core::Error;

#[wasm_bindgen]
extern "C" {
    /// The page's `window`; `None` where there is none (Node).
    #[wasm_bindgen(thread_local_v2, js_name = window)]
    static WINDOW: Option<web_sys::Window>;
    /// `Object.keys`: a Proxy's `ownKeys` trap may throw.
    #[wasm_bindgen(js_namespace = Object, js_name = keys, catch)]
    fn object_keys(object: &JsValue) -> Result<Array, JsValue>;
    /// `Array.isArray`: throws for a revoked Proxy.
    #[wasm_bindgen(js_namespace = Array, js_name = isArray, catch)]
    fn is_array(value: &JsValue) -> Result<bool, JsValue>;
    /// `Reflect.get`: a getter or a Proxy's `get` trap may throw.
    #[wasm_bindgen(js_namespace = Reflect, js_name = get, catch)]
    pub fn get(object: &JsValue, key: &str) -> Result<JsValue, JsValue>;
    /// `Date.prototype.getTime.call(value)`: the time of a real `Date`,
    /// and a `TypeError` for anything else (Proxies included).
    #[wasm_bindgen(js_namespace = ["Date", "prototype", "getTime"], js_name = call, catch)]
    fn date_time(value: &JsValue) -> Result<f64, JsValue>;
}

/// The page's `window`, where there is one.
pub fn window() -> Option<web_sys::Window> {
    WINDOW.with(Option::clone)
}

/// Whether there is a `window` (a page, not Node).
pub fn in_page() -> bool {
    WINDOW.with(Option::is_some)
}

/// One JS value as the core reads it.
pub fn value(v: &JsValue) -> Value {
    if v.is_undefined() || v.is_null() {
        Value::Absent
    } else if let Some(n) = v.as_f64() {
        Value::Number(n)
    } else if let Some(b) = v.as_bool() {
        Value::Bool(b)
    } else if let Some(text) = v.dyn_ref::<JsString>() {
        if text.length() > MAX_UNITS {
            Value::TooLong
        } else if !text.is_valid_utf16() {
            Value::IllFormed
        } else {
            Value::Text(String::from(text))
        }
    } else if v.is_object() {
        date_time(v).map_or(Value::Other, Value::Date)
    } else {
        Value::Other
    }
}

fn is_options(v: &JsValue) -> Result<bool, Unreadable> {
    Ok(v.is_object() && !is_array(v).map_err(|_| Unreadable::Threw)?)
}

/// The values of a call's fields ([`FIELDS`] order): from an options
/// object whose keys must all be in `known`, or positional (unless
/// `options_only`).
pub fn call_values(args: &[JsValue], options_only: bool, known: &[&str]) -> Result<[Value; 8], Error> {
    let mut values: [Value; 8] = Default::default();
    let undefined = JsValue::UNDEFINED;
    let first = args.first().unwrap_or(&undefined);
    if is_options(first).map_err(Unreadable::error)? {
        let keys = object_keys(first).map_err(|_| Unreadable::Threw.error())?;
        let keys: Vec<String> = keys.iter().filter_map(|k| k.as_string()).collect();
        check_keys(keys.iter().map(String::as_str), known)?;
        // Only the object's own options: nothing inherited (from
        // Object.prototype, say) lands in a call.
        for (slot, field) in values.iter_mut().zip(FIELDS) {
            if keys.iter().any(|k| k == field.name()) {
                *slot = value(&get(first, field.name()).map_err(|_| Unreadable::Threw.error())?);
            }
        }
    } else if options_only {
        return Err(Unreadable::NotAnObject.error());
    } else {
        for (slot, arg) in values.iter_mut().zip(args) {
            *slot = value(arg);
        }
    }
    Ok(values)
}

/// serde-wasm-bindgen's serializer as the JS API wants it: `None` is
/// `null`, not `undefined`.
const SERIALIZER: serde_wasm_bindgen::Serializer =
    serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true);

/// A Rust value as a JS value, through serde-wasm-bindgen.
pub fn to_js<T: Serialize>(value: &T) -> JsValue {
    value.serialize(Objects).unwrap_or(JsValue::NULL)
}

type Ser = &'static serde_wasm_bindgen::Serializer;
type SerError = serde_wasm_bindgen::Error;

/// serde-wasm-bindgen, except that a struct's fields are set on a plain
/// object here. Its own struct serializer makes each field name's JS
/// string through a cache (a `HashMap` keyed by the name's address), which
/// costs the shipped wasm 1.7 KB gzip, measured. The pixel's structs hold no
/// structs (a nested one would bring the cache back, and the size budget
/// would say so), so this is done at the top only; every field's value, and
/// everything else, is serde-wasm-bindgen's own.
struct Objects;

#[wasm_bindgen]
extern "C" {
    /// A plain object being filled.
    type Plain;
    /// `object[key] = value` on a plain object (never throws).
    #[wasm_bindgen(method, indexing_setter)]
    fn set(this: &Plain, key: &str, value: JsValue);
}

/// A struct's fields, set on a plain object.
struct Fields(Plain);

impl serde::ser::SerializeStruct for Fields {
    type Ok = JsValue;
    type Error = SerError;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), SerError> {
        self.0.set(key, value.serialize(&SERIALIZER)?);
        Ok(())
    }

    fn end(self) -> Result<JsValue, SerError> {
        Ok(self.0.into())
    }
}

/// Methods handed to serde-wasm-bindgen as they are.
macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*) -> $ok:ty;)*) => {
        $(fn $method(self, $($arg: $ty),*) -> Result<$ok, SerError> {
            serde::Serializer::$method(&SERIALIZER, $($arg),*)
        })*
    };
}

/// Generic methods handed to serde-wasm-bindgen as they are.
macro_rules! forward_generic {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $method<T: ?Sized + Serialize>(self, $($arg: $ty,)* value: &T) -> Result<JsValue, SerError> {
            serde::Serializer::$method(&SERIALIZER, $($arg,)* value)
        })*
    };
}

impl serde::Serializer for Objects {
    type Ok = JsValue;
    type Error = SerError;
    type SerializeSeq = <Ser as serde::Serializer>::SerializeSeq;
    type SerializeTuple = <Ser as serde::Serializer>::SerializeTuple;
    type SerializeTupleStruct = <Ser as serde::Serializer>::SerializeTupleStruct;
    type SerializeTupleVariant = <Ser as serde::Serializer>::SerializeTupleVariant;
    type SerializeMap = <Ser as serde::Serializer>::SerializeMap;
    type SerializeStruct = Fields;
    type SerializeStructVariant = <Ser as serde::Serializer>::SerializeStructVariant;

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Fields, SerError> {
        Ok(Fields(Object::new().unchecked_into()))
    }

    forward! {
        serialize_bool(v: bool) -> JsValue;
        serialize_i8(v: i8) -> JsValue;
        serialize_i16(v: i16) -> JsValue;
        serialize_i32(v: i32) -> JsValue;
        serialize_i64(v: i64) -> JsValue;
        serialize_u8(v: u8) -> JsValue;
        serialize_u16(v: u16) -> JsValue;
        serialize_u32(v: u32) -> JsValue;
        serialize_u64(v: u64) -> JsValue;
        serialize_f32(v: f32) -> JsValue;
        serialize_f64(v: f64) -> JsValue;
        serialize_char(v: char) -> JsValue;
        serialize_str(v: &str) -> JsValue;
        serialize_bytes(v: &[u8]) -> JsValue;
        serialize_none() -> JsValue;
        serialize_unit() -> JsValue;
        serialize_unit_struct(name: &'static str) -> JsValue;
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str) -> JsValue;
        serialize_seq(len: Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(len: usize) -> Self::SerializeTuple;
        serialize_tuple_struct(name: &'static str, len: usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> Self::SerializeTupleVariant;
        serialize_map(len: Option<usize>) -> Self::SerializeMap;
        serialize_struct_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> Self::SerializeStructVariant;
    }

    forward_generic! {
        serialize_some();
        serialize_newtype_struct(name: &'static str);
        serialize_newtype_variant(name: &'static str, index: u32, variant: &'static str);
    }
}

/// The collector's answer (HTTP status and body) as the page gets it: the
/// engine's `Answer`, its body parsed when it is JSON.
pub struct JsAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body, parsed when it is JSON; `null` when empty.
    pub body: JsValue,
}

#[wasm_bindgen(module = "/www/errors.js")]
extern "C" {
    /// The one maker of an `OnrampError`, shared with the JS entry and
    /// the loader: a JS `Error` with `name`, `code`, `field` (and, for
    /// `rejected`, the collector's `status` and `body`).
    #[wasm_bindgen(js_name = answeredError)]
    fn onramp_error(code: &str, message: &str, field: Option<&str>, status: Option<u16>, body: JsValue) -> JsValue;
}

/// An `OnrampError` of the core's error: its code, message and field, and
/// the collector's answer when it refused the tracking.
pub fn error(err: &Error, answer: Option<&JsAnswer>) -> JsValue {
    onramp_error(
        err.code(),
        &err.message(),
        err.field(),
        answer.map(|a| a.status),
        answer.map_or(JsValue::UNDEFINED, |a| a.body.clone()),
    )
}

/// The body of the collector's answer: parsed when it is JSON, the text
/// otherwise, `null` when empty.
pub fn answer_body(text: &str) -> JsValue {
    if text.is_empty() {
        JsValue::NULL
    } else {
        js_sys::JSON::parse(text).unwrap_or_else(|_| JsValue::from_str(text))
    }
}
