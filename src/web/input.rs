//! Reads the JS arguments of a call into plain Rust values, with a typed
//! error for every value of the wrong kind. Works on any JS value, hostile
//! ones (throwing getters, Proxies, Symbols, BigInts) included.

use js_sys::{Array, JsString, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Error, Field};
use crate::options::check_option_name;
use crate::outbound::{CallInput, ConfigureInput};
use crate::tracking::PurchasedAt;

/// Longer strings are refused before they are copied into wasm memory.
const MAX_JS_STRING_UNITS: u32 = 16 * 1024;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = Object, js_name = keys)]
    fn object_keys(object: &JsValue) -> Result<Array, JsValue>;
}

/// `purchasedAt` as read.
#[derive(Debug)]
pub enum Date {
    /// A string.
    Text(String),
    /// Epoch milliseconds, from a number or a `Date`.
    EpochMs(f64),
}

/// Every value a call may carry, read and type-checked.
#[derive(Debug, Default)]
pub struct Read {
    partner_key: Option<String>,
    service_name: Option<String>,
    customer_id: Option<String>,
    purchased_at: Option<Date>,
    base_url: Option<String>,
    timeout_ms: Option<f64>,
    transport: Option<String>,
}

/// A plain object (not `null`, an array or a function) is the options form.
pub fn is_options_object(value: &JsValue) -> bool {
    value.is_object() && !Array::is_array(value) && !value.is_function()
}

impl Read {
    /// `(partnerKey, serviceName, customerId, purchasedAt)`.
    pub fn from_positional(
        partner_key: &JsValue,
        service_name: &JsValue,
        customer_id: &JsValue,
        purchased_at: &JsValue,
    ) -> Result<Read, Error> {
        Ok(Read {
            partner_key: text(Field::PartnerKey, partner_key)?,
            service_name: text(Field::ServiceName, service_name)?,
            customer_id: text(Field::CustomerId, customer_id)?,
            purchased_at: date(purchased_at)?,
            ..Read::default()
        })
    }

    /// An options object whose own keys must all be in `known`.
    pub fn from_options(options: &JsValue, known: &[&str]) -> Result<Read, Error> {
        if !is_options_object(options) {
            return Err(Error::WrongType {
                field: Field::Options,
                expected: "an object",
            });
        }
        let unreadable = || Error::WrongType {
            field: Field::Options,
            expected: "an object whose properties can be read",
        };
        let keys = object_keys(options).map_err(|_| unreadable())?;
        for key in keys.iter() {
            let key = key.as_string().ok_or_else(unreadable)?;
            check_option_name(&key, known)?;
        }
        let get = |field: Field| Reflect::get(options, &JsValue::from_str(field.name())).map_err(|_| unreadable());
        Ok(Read {
            partner_key: text(Field::PartnerKey, &get(Field::PartnerKey)?)?,
            service_name: text(Field::ServiceName, &get(Field::ServiceName)?)?,
            customer_id: text(Field::CustomerId, &get(Field::CustomerId)?)?,
            purchased_at: date(&get(Field::PurchasedAt)?)?,
            base_url: text(Field::BaseUrl, &get(Field::BaseUrl)?)?,
            timeout_ms: number(Field::TimeoutMs, &get(Field::TimeoutMs)?)?,
            transport: text(Field::Transport, &get(Field::Transport)?)?,
        })
    }

    /// The values as the core's call input.
    pub fn as_call(&self) -> CallInput<'_> {
        CallInput {
            partner_key: self.partner_key.as_deref(),
            service_name: self.service_name.as_deref(),
            customer_id: self.customer_id.as_deref(),
            purchased_at: self.purchased_at.as_ref().map(|d| match d {
                Date::Text(text) => PurchasedAt::Text(text),
                Date::EpochMs(ms) => PurchasedAt::EpochMs(*ms),
            }),
            base_url: self.base_url.as_deref(),
            timeout_ms: self.timeout_ms,
            transport: self.transport.as_deref(),
        }
    }

    /// The values as the core's `configure()` input.
    pub fn as_configure(&self) -> ConfigureInput<'_> {
        ConfigureInput {
            partner_key: self.partner_key.as_deref(),
            base_url: self.base_url.as_deref(),
            timeout_ms: self.timeout_ms,
            transport: self.transport.as_deref(),
        }
    }
}

fn absent(value: &JsValue) -> bool {
    value.is_undefined() || value.is_null()
}

fn text(field: Field, value: &JsValue) -> Result<Option<String>, Error> {
    if absent(value) {
        return Ok(None);
    }
    let s = value.dyn_ref::<JsString>().ok_or(Error::WrongType {
        field,
        expected: "a string",
    })?;
    if s.length() > MAX_JS_STRING_UNITS {
        return Err(Error::TooLong(field));
    }
    if !s.is_valid_utf16() {
        return Err(Error::InvalidCharacters(field));
    }
    Ok(Some(String::from(s)))
}

fn number(field: Field, value: &JsValue) -> Result<Option<f64>, Error> {
    if absent(value) {
        return Ok(None);
    }
    value.as_f64().map(Some).ok_or(Error::WrongType {
        field,
        expected: "a number",
    })
}

fn date(value: &JsValue) -> Result<Option<Date>, Error> {
    if absent(value) {
        return Ok(None);
    }
    if let Some(ms) = value.as_f64() {
        return Ok(Some(Date::EpochMs(ms)));
    }
    if let Some(date) = value.dyn_ref::<js_sys::Date>() {
        return Ok(Some(Date::EpochMs(date.get_time())));
    }
    if value.is_string() {
        return text(Field::PurchasedAt, value).map(|t| t.map(Date::Text));
    }
    Err(Error::WrongType {
        field: Field::PurchasedAt,
        expected: "an ISO 8601 string, a Date or epoch milliseconds",
    })
}
