//! A collector's side of the rules: a submitted JSON body read into the
//! pixel's own [`Tracking`], so that the sandbox, the test kit's collector
//! (onramp-testing) and the pixel can never disagree on what is valid.
//! Behind the `json` feature (serde_json); the pixel does not use it.

use std::collections::BTreeMap;

use crate::time::Timestamp;
use crate::tracking::{PurchasedAt, TrackingInput};
use crate::{Error, Field, Tracking};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A submission as read from JSON, before the pixel's rules: each of the four
/// fields of the contract as given (absent and `null` both read as `None`),
/// and every other key.
///
/// Unknown keys are collected in `unknown` rather than refused with
/// `deny_unknown_fields`, because serde_json would then name the key only in
/// its error's text, and the answer must name it as the typed field of an
/// `unknown_option` error. The `flatten` also makes serde read the struct from
/// a JSON object only: a plain derived struct would take an array of four
/// strings as well.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Submission {
    partner_key: Option<Raw>,
    service_name: Option<Raw>,
    customer_id: Option<Raw>,
    purchased_at: Option<Raw>,
    #[serde(flatten)]
    unknown: BTreeMap<String, IgnoredAny>,
}

/// A field's value as given: the string the contract asks for, or anything
/// else (kept apart so that the error can name the field).
#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Text(String),
    Other(IgnoredAny),
}

/// The text of a required string field.
fn text(field: Field, raw: Option<&Raw>) -> Result<&str, Error> {
    match raw {
        None => Err(Error::Missing(field)),
        Some(Raw::Text(s)) => Ok(s),
        Some(Raw::Other(_)) => Err(Error::WrongType {
            field,
            expected: "a string",
        }),
    }
}

/// What a collector's error answer says went wrong (its
/// `{"error":{"code","field","message"}}`): a stable code, the offending
/// field (or `null`) and a sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The stable code.
    pub code: &'static str,
    /// The offending field, or `null`.
    pub field: Option<String>,
    /// A sentence for people.
    pub message: String,
}

impl Problem {
    /// A problem with no rule of the pixel's behind it (a body that is not
    /// JSON, a fault the collector cannot do, a store that failed).
    pub fn new(code: &'static str, field: Option<&str>, message: impl Into<String>) -> Problem {
        Problem {
            code,
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }

    /// A submission that breaks one of the pixel's rules.
    pub fn invalid(err: &Error) -> Problem {
        Problem::new(err.code(), err.field(), err.message())
    }
}

/// A submitted body read as JSON (whatever its `Content-Type` says); when
/// it is not JSON, why, as a collector answers it (400 `invalid_json`).
pub fn json_body(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("the body is not valid JSON: {e}"))
}

/// Validates a submission: an object with exactly the four string fields of
/// the contract, each valid by the pixel's rules.
pub fn tracking_from_json(body: &Value, now: Timestamp) -> Result<Tracking, Error> {
    // `Raw` and `IgnoredAny` take any value, so reading fails only when the
    // body is not an object.
    let submission = Submission::deserialize(body).map_err(|_| Error::WrongType {
        field: Field::Options,
        expected: "a JSON object",
    })?;
    // The first unknown key in alphabetical order, as before.
    if let Some(unknown) = submission.unknown.into_keys().next() {
        return Err(Error::UnknownOption(unknown));
    }
    // A purchasedAt ahead of this clock by up to a visitor's clock skew is
    // taken as sent: a fast clock on the visitor's side is not a bad signup.
    Tracking::received(
        TrackingInput {
            partner_key: text(Field::PartnerKey, submission.partner_key.as_ref())?,
            service_name: text(Field::ServiceName, submission.service_name.as_ref())?,
            customer_id: text(Field::CustomerId, submission.customer_id.as_ref())?,
            purchased_at: PurchasedAt::Text(text(Field::PurchasedAt, submission.purchased_at.as_ref())?),
        },
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(body: Value) -> Result<String, (String, Option<String>)> {
        let now = Timestamp::from_epoch_ms(1_795_718_581_000.0).map_err(|e| (e.code().to_owned(), None))?;
        tracking_from_json(&body, now)
            .map(|t| t.purchased_at)
            .map_err(|e| (e.code().to_owned(), e.field().map(str::to_owned)))
    }

    #[test]
    fn uses_the_pixel_rules() {
        let ok =
            json!({"partnerKey":"pk","serviceName":"s","customerId":"c","purchasedAt":"2026-11-26T19:43:01+01:00"});
        assert_eq!(check(ok), Ok("2026-11-26T18:43:01.000Z".into()));
        let err = |v| check(v).err();
        // A visitor's clock 25 hours fast is not a bad signup; 40 days is
        // no clock.
        let fast = json!({"partnerKey":"pk","serviceName":"s","customerId":"c","purchasedAt":"2026-11-27T19:43:01Z"});
        assert_eq!(check(fast), Ok("2026-11-27T19:43:01.000Z".into()));
        assert_eq!(
            err(json!({"partnerKey":"pk","serviceName":"s","customerId":"c","purchasedAt":"2027-01-05"})),
            Some(("date_out_of_range".into(), Some("purchasedAt".into())))
        );
        assert_eq!(err(json!([1])), Some(("invalid_type".into(), Some("options".into()))));
        assert_eq!(
            err(json!({"partnerKey":"pk","serviceName":"s","customerId":"c"})),
            Some(("missing_field".into(), Some("purchasedAt".into())))
        );
        assert_eq!(
            err(json!({"partnerKey":"pk","serviceName":"s","customerId":7,"purchasedAt":"2026-11-26"})),
            Some(("invalid_type".into(), Some("customerId".into())))
        );
        assert_eq!(
            err(json!({"partnerKey":"pk","serviceName":"s","customerId":"c","purchasedAt":"2026-11-26","extra":1})),
            Some(("unknown_option".into(), Some("extra".into())))
        );
        assert_eq!(
            err(json!({"partnerKey":" ","serviceName":"s","customerId":"c","purchasedAt":"2026-11-26"})),
            Some(("empty_field".into(), Some("partnerKey".into())))
        );
    }

    #[test]
    fn reads_the_body_as_before() {
        let err = |v| check(v).err();
        let options = Some(("invalid_type".into(), Some("options".into())));
        assert_eq!(err(json!(null)), options);
        assert_eq!(err(json!("pk")), options);
        // Not even an array of the four fields in their order.
        assert_eq!(err(json!(["pk", "s", "c", "2026-11-26"])), options);
        assert_eq!(
            err(json!({"partnerKey":"pk","serviceName":null,"customerId":"c","purchasedAt":"2026-11-26"})),
            Some(("missing_field".into(), Some("serviceName".into())))
        );
        assert_eq!(
            err(json!({"partnerKey":"pk","serviceName":"s","customerId":"c","purchasedAt":1_795_718_581_000_u64})),
            Some(("invalid_type".into(), Some("purchasedAt".into())))
        );
        assert_eq!(
            err(json!({"partnerKey":["pk"],"serviceName":"s","customerId":"c","purchasedAt":"2026-11-26"})),
            Some(("invalid_type".into(), Some("partnerKey".into())))
        );
        // Unknown keys first (the first in alphabetical order), then the
        // fields in the contract's order.
        assert_eq!(
            err(json!({"zeta":1,"alpha":{"x":1}})),
            Some(("unknown_option".into(), Some("alpha".into())))
        );
        assert_eq!(
            err(json!({"customerId":7})),
            Some(("missing_field".into(), Some("partnerKey".into())))
        );
        assert_eq!(
            err(json!({})),
            Some(("missing_field".into(), Some("partnerKey".into())))
        );
    }
}
