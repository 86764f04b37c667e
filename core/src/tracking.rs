//! The tracking record that the OnRamp collector takes, and its rules.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Field};
use crate::text::json_object;
use crate::time::Timestamp;

/// The longest accepted string field, in characters.
pub const MAX_FIELD_CHARS: usize = 512;

/// `purchasedAt` as the caller gave it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PurchasedAt<'a> {
    /// Not given: the time of the call.
    Now,
    /// RFC 3339 / ISO 8601 text or `YYYY-MM-DD`.
    Text(&'a str),
    /// Epoch milliseconds (a JS number or `Date`).
    EpochMs(f64),
}

/// The four fields of a tracking as the caller gave them, before validation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackingInput<'a> {
    /// The key issued to the provider at onboarding.
    pub partner_key: &'a str,
    /// The marketplace's name of the provider's service.
    pub service_name: &'a str,
    /// The marketplace account that signed up.
    pub customer_id: &'a str,
    /// When the account was purchased.
    pub purchased_at: PurchasedAt<'a>,
}

/// A valid tracking, exactly the JSON body of `POST /api/SaasTrackings`:
/// `{"partnerKey","serviceName","customerId","purchasedAt"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tracking {
    /// The key issued to the provider at onboarding (public, not a secret).
    pub partner_key: String,
    /// The marketplace's name of the provider's service.
    pub service_name: String,
    /// The marketplace account that signed up.
    pub customer_id: String,
    /// RFC 3339 UTC with milliseconds, e.g. `2026-11-26T18:43:01.000Z`.
    pub purchased_at: String,
}

/// A valid tracking's fields, borrowed from the caller's input (trimmed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked<'a> {
    /// The key issued to the provider at onboarding.
    pub partner_key: &'a str,
    /// The marketplace's name of the provider's service.
    pub service_name: &'a str,
    /// The marketplace account that signed up.
    pub customer_id: &'a str,
    /// When the account was purchased.
    pub purchased_at: Timestamp,
}

impl<'a> TrackingInput<'a> {
    /// Validates and normalises the caller's input; `now` is the time of the
    /// call, used when `purchasedAt` is not given and for its range check.
    pub fn check(self, now: Timestamp) -> Result<Checked<'a>, Error> {
        let checked = self.read(now)?;
        checked.purchased_at.check_range(now)?;
        Ok(checked)
    }

    /// A collector's check of a submitted tracking, received at `received`
    /// by the collector's clock: the same rules, with room for the
    /// visitor's clock ([`Timestamp::check_received`]).
    pub fn check_received(self, received: Timestamp) -> Result<Checked<'a>, Error> {
        let checked = self.read(received)?;
        checked.purchased_at.check_received(received)?;
        Ok(checked)
    }

    fn read(self, now: Timestamp) -> Result<Checked<'a>, Error> {
        Ok(Checked {
            partner_key: text_field(Field::PartnerKey, self.partner_key)?,
            service_name: text_field(Field::ServiceName, self.service_name)?,
            customer_id: text_field(Field::CustomerId, self.customer_id)?,
            purchased_at: match self.purchased_at {
                PurchasedAt::Now => now,
                PurchasedAt::Text(text) => Timestamp::parse(text)?,
                PurchasedAt::EpochMs(ms) => Timestamp::from_epoch_ms(ms)?,
            },
        })
    }
}

impl Checked<'_> {
    /// The tracking, owned and normalised.
    pub fn to_tracking(&self) -> Tracking {
        Tracking {
            partner_key: self.partner_key.to_owned(),
            service_name: self.service_name.to_owned(),
            customer_id: self.customer_id.to_owned(),
            purchased_at: self.purchased_at.to_rfc3339(),
        }
    }
}

impl Tracking {
    /// Validates and normalises the caller's input; `now` is the time of the
    /// call, used when `purchasedAt` is not given and for its range check.
    pub fn new(input: TrackingInput<'_>, now: Timestamp) -> Result<Tracking, Error> {
        input.check(now).map(|checked| checked.to_tracking())
    }

    /// A submitted tracking as a collector reads it (see
    /// [`TrackingInput::check_received`]).
    pub fn received(input: TrackingInput<'_>, received: Timestamp) -> Result<Tracking, Error> {
        input.check_received(received).map(|checked| checked.to_tracking())
    }

    /// The natural key that identifies one conversion: the collector stores a
    /// tracking once per key.
    pub fn key(&self) -> (&str, &str, &str) {
        (&self.partner_key, &self.service_name, &self.customer_id)
    }

    /// The exact bytes of the POST's body: the four fields in
    /// [`BODY_FIELDS`]' order, escaped as JSON requires (the same text as
    /// `JSON.stringify` and serde_json write). Every host sends these.
    pub fn body(&self) -> String {
        let [partner_key, service_name, customer_id, purchased_at] = BODY_FIELDS;
        json_object(&[
            (partner_key, &self.partner_key),
            (service_name, &self.service_name),
            (customer_id, &self.customer_id),
            (purchased_at, &self.purchased_at),
        ])
    }
}

impl Tracking {
    /// Trackings whose strings need every escape JSON has (quotes,
    /// backslashes, control characters, and what JSON leaves as it is):
    /// each host's test holds its JSON to the core's on them.
    pub fn escaping() -> Vec<Tracking> {
        [
            "pk_live",
            "quote \" and \\ back",
            "line\u{2028}sep",
            "tab\t\u{1}\u{1f}\u{7f} \u{8}\u{c}\n\r",
            "ünï 🎉",
            "",
        ]
        .map(|text| Tracking {
            partner_key: text.into(),
            service_name: "Acme CRM".into(),
            customer_id: text.into(),
            purchased_at: "2026-12-06T10:00:00.000Z".into(),
        })
        .into()
    }
}

/// The body's fields, in the order they are written.
pub const BODY_FIELDS: [&str; 4] = ["partnerKey", "serviceName", "customerId", "purchasedAt"];

/// Trims a string field and checks it: not empty, at most
/// [`MAX_FIELD_CHARS`] characters, no control characters.
pub fn text_field(field: Field, value: &str) -> Result<&str, Error> {
    let value = crate::text::trim(value);
    if value.is_empty() {
        return Err(Error::Empty(field));
    }
    // Characters are counted by their first bytes (UTF-8 continuation
    // bytes are 0b10xxxxxx).
    if value.bytes().filter(|b| b & 0xc0 != 0x80).count() > MAX_FIELD_CHARS {
        return Err(Error::TooLong(field));
    }
    // Control characters: C0 and DEL, and C1 (U+0080 to U+009F, in UTF-8
    // 0xC2 then 0x80 to 0x9F).
    let mut after_c2 = false;
    for b in value.bytes() {
        if b < 0x20 || b == 0x7f || (after_c2 && b < 0xa0) {
            return Err(Error::InvalidCharacters(field));
        }
        after_c2 = b == 0xc2;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_the_four_fields_as_json_writes_them() {
        for tracking in Tracking::escaping() {
            let text = tracking.customer_id.clone();
            let body = tracking.body();
            assert_eq!(serde_json::to_string(&tracking).ok(), Some(body.clone()), "{text:?}");
            assert_eq!(serde_json::from_str::<Tracking>(&body).ok(), Some(tracking));
        }
        let tracking = Tracking {
            partner_key: "pk".into(),
            service_name: "s".into(),
            customer_id: "c".into(),
            purchased_at: "2026-12-06T10:00:00.000Z".into(),
        };
        assert_eq!(
            tracking.body(),
            r#"{"partnerKey":"pk","serviceName":"s","customerId":"c","purchasedAt":"2026-12-06T10:00:00.000Z"}"#
        );
    }

    #[test]
    fn field_length_counts_characters_and_c1_stops_at_0x9f() {
        let ok = |v: &str| text_field(Field::CustomerId, v).map(str::len);
        assert_eq!(ok(&"a".repeat(512)), Ok(512));
        assert_eq!(ok(&"a".repeat(513)), Err(Error::TooLong(Field::CustomerId)));
        assert_eq!(ok(&"é".repeat(512)), Ok(1024));
        assert_eq!(ok(&"é".repeat(513)), Err(Error::TooLong(Field::CustomerId)));
        assert_eq!(ok("a\u{a0}b"), Ok(4), "U+00A0 is not a control character");
        assert_eq!(ok("a\u{9f}b"), Err(Error::InvalidCharacters(Field::CustomerId)));
    }

    const NOW_MS: f64 = 1_795_718_581_000.0; // 2026-11-26T18:43:01.000Z

    fn now() -> Timestamp {
        Timestamp::from_epoch_ms(NOW_MS).unwrap_or_else(|e| panic!("{e}"))
    }

    fn input<'a>(customer_id: &'a str, purchased_at: PurchasedAt<'a>) -> TrackingInput<'a> {
        TrackingInput {
            partner_key: " pk_live_123 ",
            service_name: "Acme CRM",
            customer_id,
            purchased_at,
        }
    }

    #[test]
    fn normalises_a_valid_tracking() {
        let t = Tracking::new(input("cust-1", PurchasedAt::Text("2026-11-26T19:43:01+01:00")), now());
        assert_eq!(
            t,
            Ok(Tracking {
                partner_key: "pk_live_123".into(),
                service_name: "Acme CRM".into(),
                customer_id: "cust-1".into(),
                purchased_at: "2026-11-26T18:43:01.000Z".into(),
            })
        );
    }

    #[test]
    fn the_key_is_the_three_fields() {
        let t = Tracking::new(input("cust-1", PurchasedAt::Now), now()).unwrap();
        assert_eq!(t.key(), ("pk_live_123", "Acme CRM", "cust-1"));
    }

    #[test]
    fn omitted_date_is_now() {
        let t = Tracking::new(input("c", PurchasedAt::Now), now()).map(|t| t.purchased_at);
        assert_eq!(t.as_deref(), Ok("2026-11-26T18:43:01.000Z"));
        let t = Tracking::new(input("c", PurchasedAt::EpochMs(NOW_MS)), now()).map(|t| t.purchased_at);
        assert_eq!(t.as_deref(), Ok("2026-11-26T18:43:01.000Z"));
    }

    #[test]
    fn each_rule_has_its_error() {
        let err = |customer_id, at| Tracking::new(input(customer_id, at), now()).err();
        assert_eq!(err("  ", PurchasedAt::Now), Some(Error::Empty(Field::CustomerId)));
        assert_eq!(
            err("a\u{7}b", PurchasedAt::Now),
            Some(Error::InvalidCharacters(Field::CustomerId))
        );
        assert_eq!(
            err("a\u{85}b", PurchasedAt::Now),
            Some(Error::InvalidCharacters(Field::CustomerId))
        );
        let long = "é".repeat(MAX_FIELD_CHARS + 1);
        assert_eq!(err(&long, PurchasedAt::Now), Some(Error::TooLong(Field::CustomerId)));
        let max = "é".repeat(MAX_FIELD_CHARS);
        assert_eq!(err(&max, PurchasedAt::Now), None);
        assert_eq!(err("c", PurchasedAt::Text("1999-12-31")), Some(Error::DateOutOfRange));
        assert_eq!(err("c", PurchasedAt::Text("2026-11-28")), Some(Error::DateOutOfRange));
        assert!(matches!(
            err("c", PurchasedAt::EpochMs(f64::NAN)),
            Some(Error::InvalidDate)
        ));
    }

    #[test]
    fn serialises_as_the_contract_s_body() {
        let t = Tracking {
            partner_key: "pk".into(),
            service_name: "S \"quoted\" \\".into(),
            customer_id: "ü-1".into(),
            purchased_at: "2026-11-26T18:43:01.000Z".into(),
        };
        let json = serde_json::to_string(&t).expect("serialisable");
        assert_eq!(
            json,
            "{\"partnerKey\":\"pk\",\"serviceName\":\"S \\\"quoted\\\" \\\\\",\"customerId\":\"ü-1\",\"purchasedAt\":\"2026-11-26T18:43:01.000Z\"}"
        );
        assert_eq!(serde_json::from_str::<Tracking>(&json).ok(), Some(t));
    }
}
