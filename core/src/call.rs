//! A call's values as the web layer classifies them ([`Value`]), read into
//! the call's input ([`CallInput`]) with one error per wrong value. The web
//! layer only looks at each JS value (`typeof`, a `Date`'s time, the
//! string's length and well-formedness); every rule is decided here.

use crate::error::{Error, Field};
use crate::options::check_option_name;
use crate::outbound::{CallInput, ConfigureInput};
use crate::tracking::PurchasedAt;

/// The fields of a call, in the positional order of
/// `createSaasTracking(partnerKey, serviceName, customerId, purchasedAt)`,
/// then the options-only ones.
pub const FIELDS: [Field; 8] = [
    Field::PartnerKey,
    Field::ServiceName,
    Field::CustomerId,
    Field::PurchasedAt,
    Field::BaseUrl,
    Field::TimeoutMs,
    Field::Transport,
    Field::RequireReferral,
];

/// The longest string the web layer copies out of JS, in UTF-16 units; a
/// longer one is [`Value::TooLong`] without being copied.
pub const MAX_UNITS: u32 = 16_384;

/// One JS value, as the web layer saw it.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Value {
    /// `undefined` or `null`.
    #[default]
    Absent,
    /// A well-formed string of at most [`MAX_UNITS`] UTF-16 units.
    Text(String),
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// A `Date`, by its time value (epoch ms; NaN for an invalid date).
    Date(f64),
    /// A string over [`MAX_UNITS`] units (not copied).
    TooLong,
    /// A string with a lone surrogate (not valid UTF-16).
    IllFormed,
    /// Anything else: objects, arrays, functions, symbols, bigints.
    Other,
}

/// What went wrong reading the options object itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// The options argument is not an object.
    NotAnObject,
    /// Listing its keys or reading a property threw.
    Threw,
}

impl Unreadable {
    /// The error it is for the caller.
    pub fn error(self) -> Error {
        let expected = match self {
            Unreadable::NotAnObject => "an object",
            Unreadable::Threw => "an object whose properties can be read",
        };
        Error::WrongType {
            field: Field::Options,
            expected,
        }
    }
}

const EXPECTED_TEXT: &str = "a string";
const EXPECTED_DATE: &str = "an ISO 8601 string, a Date or epoch milliseconds";
const EXPECTED_NUMBER: &str = "a number";
const EXPECTED_BOOLEAN: &str = "a boolean";

fn wrong(field: Field, expected: &'static str) -> Error {
    Error::WrongType { field, expected }
}

/// Refuses any option name not in `known` (a typo such as `customerID` is
/// an error, not silently dropped).
pub fn check_keys<'k>(keys: impl IntoIterator<Item = &'k str>, known: &[&str]) -> Result<(), Error> {
    keys.into_iter().try_for_each(|key| check_option_name(key, known))
}

/// Reads the values of [`FIELDS`], in that order.
pub fn read(values: &[Value; 8]) -> Result<CallInput<'_>, Error> {
    let mut texts: [Option<&str>; 8] = [None; 8];
    let mut purchased_at = None;
    let mut timeout_ms = None;
    let mut require_referral = None;
    for ((field, value), text) in FIELDS.into_iter().zip(values).zip(&mut texts) {
        match (field, value) {
            (_, Value::Absent) => {}
            (Field::RequireReferral, Value::Bool(b)) => require_referral = Some(*b),
            (Field::RequireReferral, _) => return Err(wrong(field, EXPECTED_BOOLEAN)),
            (Field::TimeoutMs, Value::Number(n)) => timeout_ms = Some(*n),
            (Field::TimeoutMs, _) => return Err(wrong(field, EXPECTED_NUMBER)),
            (_, Value::TooLong) => return Err(Error::TooLong(field)),
            (_, Value::IllFormed) => return Err(Error::InvalidCharacters(field)),
            (Field::PurchasedAt, Value::Text(t)) => purchased_at = Some(PurchasedAt::Text(t)),
            (Field::PurchasedAt, Value::Number(ms) | Value::Date(ms)) => {
                purchased_at = Some(PurchasedAt::EpochMs(*ms));
            }
            (Field::PurchasedAt, _) => return Err(wrong(field, EXPECTED_DATE)),
            (_, Value::Text(t)) => *text = Some(t),
            _ => return Err(wrong(field, EXPECTED_TEXT)),
        }
    }
    let [partner_key, service_name, customer_id, _, base_url, _, transport, _] = texts;
    Ok(CallInput {
        partner_key,
        service_name,
        customer_id,
        purchased_at,
        base_url,
        timeout_ms,
        transport,
        require_referral,
    })
}

impl<'a> CallInput<'a> {
    /// The options of a `configure()` call.
    pub fn as_configure(&self) -> ConfigureInput<'a> {
        ConfigureInput {
            partner_key: self.partner_key,
            base_url: self.base_url,
            timeout_ms: self.timeout_ms,
            transport: self.transport,
            require_referral: self.require_referral,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{CONFIGURE_OPTIONS, TRACKING_OPTIONS};

    const AT: f64 = 1_795_718_581_000.0;

    fn text(s: &str) -> Value {
        Value::Text(s.to_owned())
    }

    fn values(patch: &[(usize, Value)]) -> [Value; 8] {
        let mut v = [
            text("pk"),
            text("Acme CRM"),
            text("c-1"),
            Value::Absent,
            Value::Absent,
            Value::Absent,
            Value::Absent,
            Value::Absent,
        ];
        for (i, value) in patch {
            v[*i] = value.clone();
        }
        v
    }

    #[test]
    fn strings_numbers_and_dates() {
        let v = values(&[(3, Value::Date(AT)), (5, Value::Number(5_000.0))]);
        assert_eq!(
            read(&v),
            Ok(CallInput {
                partner_key: Some("pk"),
                service_name: Some("Acme CRM"),
                customer_id: Some("c-1"),
                purchased_at: Some(PurchasedAt::EpochMs(AT)),
                base_url: None,
                timeout_ms: Some(5_000.0),
                transport: None,
                require_referral: None,
            })
        );
        let v = values(&[(0, Value::Absent), (3, text("2026-11-26"))]);
        let read = read(&v);
        assert_eq!(
            read.map(|c| (c.partner_key, c.purchased_at)),
            Ok((None, Some(PurchasedAt::Text("2026-11-26"))))
        );
    }

    #[test]
    fn each_wrong_value_names_its_field() {
        let err = |i: usize, value: Value| read(&values(&[(i, value)])).err();
        assert_eq!(err(0, Value::Other), Some(wrong(Field::PartnerKey, EXPECTED_TEXT)));
        assert_eq!(
            err(1, Value::Number(1.0)),
            Some(wrong(Field::ServiceName, EXPECTED_TEXT))
        );
        assert_eq!(err(2, Value::Date(AT)), Some(wrong(Field::CustomerId, EXPECTED_TEXT)));
        assert_eq!(err(2, Value::TooLong), Some(Error::TooLong(Field::CustomerId)));
        assert_eq!(
            err(2, Value::IllFormed),
            Some(Error::InvalidCharacters(Field::CustomerId))
        );
        assert_eq!(err(3, Value::Other), Some(wrong(Field::PurchasedAt, EXPECTED_DATE)));
        assert_eq!(err(5, text("5000")), Some(wrong(Field::TimeoutMs, EXPECTED_NUMBER)));
        assert_eq!(err(6, Value::Date(AT)), Some(wrong(Field::Transport, EXPECTED_TEXT)));
        assert_eq!(err(6, Value::Bool(true)), Some(wrong(Field::Transport, EXPECTED_TEXT)));
        assert_eq!(
            err(7, text("true")),
            Some(wrong(Field::RequireReferral, EXPECTED_BOOLEAN))
        );
        assert_eq!(
            read(&values(&[(7, Value::Bool(true))])).map(|c| c.require_referral),
            Ok(Some(true))
        );
        assert_eq!(Unreadable::NotAnObject.error(), wrong(Field::Options, "an object"));
        assert_eq!(Unreadable::Threw.error().field(), Some("options"));
    }

    #[test]
    fn a_configure_call_keeps_its_options() {
        let v = values(&[
            (4, text("https://o.example")),
            (5, Value::Number(5.0)),
            (6, text("beacon")),
        ]);
        let options = read(&v).map(|c| c.as_configure());
        assert_eq!(
            options,
            Ok(ConfigureInput {
                partner_key: Some("pk"),
                base_url: Some("https://o.example"),
                timeout_ms: Some(5.0),
                transport: Some("beacon"),
                require_referral: None,
            })
        );
    }

    #[test]
    fn unknown_option_names_are_refused_by_name() {
        assert_eq!(
            check_keys(["partnerKey", "customerID"], &TRACKING_OPTIONS),
            Err(Error::UnknownOption("customerID".into()))
        );
        assert_eq!(
            check_keys(["partnerKey", "serviceName"], &CONFIGURE_OPTIONS),
            Err(Error::UnknownOption("serviceName".into()))
        );
        assert_eq!(check_keys(["partnerKey", "customerId"], &TRACKING_OPTIONS), Ok(()));
    }
}
