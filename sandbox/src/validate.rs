//! Reads a submitted JSON body into the pixel's own [`Tracking`], so that the
//! sandbox and the pixel can never disagree on what is valid.

use onramp_pixel::time::Timestamp;
use onramp_pixel::tracking::{PurchasedAt, TrackingInput};
use onramp_pixel::{Error, Field, Tracking};
use serde_json::Value;

const FIELDS: [&str; 4] = ["partnerKey", "serviceName", "customerId", "purchasedAt"];

/// Validates a submission: an object with exactly the four string fields of
/// the contract, each valid by the pixel's rules.
pub fn tracking_from_json(body: &Value, now: Timestamp) -> Result<Tracking, Error> {
    let Value::Object(map) = body else {
        return Err(Error::WrongType {
            field: Field::Options,
            expected: "a JSON object",
        });
    };
    if let Some(unknown) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(Error::UnknownOption(unknown.clone()));
    }
    let text = |field: Field| -> Result<&str, Error> {
        match map.get(field.name()) {
            None | Some(Value::Null) => Err(Error::Missing(field)),
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(Error::WrongType {
                field,
                expected: "a string",
            }),
        }
    };
    Tracking::new(
        TrackingInput {
            partner_key: text(Field::PartnerKey)?,
            service_name: text(Field::ServiceName)?,
            customer_id: text(Field::CustomerId)?,
            purchased_at: PurchasedAt::Text(text(Field::PurchasedAt)?),
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
}
