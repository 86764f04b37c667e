//! A call's arguments as the JS entry reads them: one kind letter per field
//! and the field's text or number, never a JS value. The JS side only
//! looks (`typeof`, `instanceof Date`, length, well-formed UTF-16, NUL); every
//! rule and every error is decided here.

use crate::error::{Error, Field};
use crate::options::check_option_name;
use crate::outbound::{CallInput, ConfigureInput};
use crate::text::split;
use crate::tracking::PurchasedAt;

/// The fields, in the order of the call text.
pub const FIELDS: [Field; 7] = [
    Field::PartnerKey,
    Field::ServiceName,
    Field::CustomerId,
    Field::PurchasedAt,
    Field::BaseUrl,
    Field::TimeoutMs,
    Field::Transport,
];

/// The call text decoded: `kinds`, then each field's text, then the options
/// object's own keys, all separated by NUL (U+0000). A string holding a NUL
/// is never passed (kind `c`: the field rules refuse control characters
/// anyway), and the JS entry writes a NUL in a key as U+FFFD, so no text
/// needs escaping.
///
/// The kind letters, one per field of [`FIELDS`]: `-` absent (`undefined`
/// or `null`), `s` a string (its text follows), `n` a number, `d` a `Date`
/// (both passed as numbers beside the text), `l` a string over 16,384
/// UTF-16 units (not passed), `c` a string with a lone surrogate or a NUL
/// (not passed), anything else a value of another type. The kinds are `!o`
/// when the options argument is not an object, `!r` when reading it threw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Call<'a> {
    /// One kind letter per field, or `!o` / `!r`.
    pub kinds: &'a str,
    /// Each field's text.
    pub texts: [&'a str; 7],
    /// The options object's own keys, NUL-separated (empty: none, as for
    /// the positional form).
    pub keys: &'a str,
}

impl<'a> Call<'a> {
    /// Decodes the call text; missing parts are empty.
    pub fn decode(text: &'a str) -> Call<'a> {
        let (kinds, mut rest) = crate::text::split_once(text, 0).unwrap_or((text, ""));
        let mut texts = [""; 7];
        for slot in &mut texts {
            let (part, after) = crate::text::split_once(rest, 0).unwrap_or((rest, ""));
            *slot = part;
            rest = after;
        }
        Call {
            kinds,
            texts,
            keys: rest,
        }
    }
}

const EXPECTED_TEXT: &str = "a string";
const EXPECTED_DATE: &str = "an ISO 8601 string, a Date or epoch milliseconds";
const EXPECTED_NUMBER: &str = "a number";

fn wrong(field: Field, expected: &'static str) -> Error {
    Error::WrongType { field, expected }
}

/// Reads a call whose options object may only have the names in `known`;
/// `purchased_ms` and `timeout_ms` are the numbers passed beside the text.
pub fn read<'a>(call: &Call<'a>, purchased_ms: f64, timeout_ms: f64, known: &[&str]) -> Result<CallInput<'a>, Error> {
    match call.kinds {
        "!o" => return Err(wrong(Field::Options, "an object")),
        "!r" => return Err(wrong(Field::Options, "an object whose properties can be read")),
        _ => {}
    }
    if !call.keys.is_empty() {
        for key in split(call.keys, 0) {
            check_option_name(key, known)?;
        }
    }
    let kinds = call.kinds.as_bytes();
    let mut texts: [Option<&'a str>; 7] = [None; 7];
    let mut purchased_at = None;
    let mut timeout = None;
    for (i, field) in FIELDS.into_iter().enumerate() {
        let kind = kinds.get(i).copied().unwrap_or(b'-');
        let text = call.texts.get(i).copied().unwrap_or("");
        match (field, kind, text) {
            (_, b'-', _) => {}
            (Field::TimeoutMs, b'n', _) => timeout = Some(timeout_ms),
            (Field::TimeoutMs, _, _) => return Err(wrong(field, EXPECTED_NUMBER)),
            (_, b'l', _) => return Err(Error::TooLong(field)),
            (_, b'c', _) => return Err(Error::InvalidCharacters(field)),
            (Field::PurchasedAt, b's', text) => purchased_at = Some(PurchasedAt::Text(text)),
            (Field::PurchasedAt, b'n' | b'd', _) => purchased_at = Some(PurchasedAt::EpochMs(purchased_ms)),
            (Field::PurchasedAt, _, _) => return Err(wrong(field, EXPECTED_DATE)),
            (_, b's', text) => {
                if let Some(slot) = texts.get_mut(i) {
                    *slot = Some(text);
                }
            }
            _ => return Err(wrong(field, EXPECTED_TEXT)),
        }
    }
    let [partner_key, service_name, customer_id, _, base_url, _, transport] = texts;
    Ok(CallInput {
        partner_key,
        service_name,
        customer_id,
        purchased_at,
        base_url,
        timeout_ms: timeout,
        transport,
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::{CONFIGURE_OPTIONS, TRACKING_OPTIONS};

    const AT: f64 = 1_795_718_581_000.0;

    fn read_text(text: &str, known: &[&str]) -> Result<Option<String>, Error> {
        let call = Call::decode(text);
        read(&call, AT, 5_000.0, known).map(|c| c.customer_id.map(str::to_owned))
    }

    #[test]
    fn strings_numbers_and_dates() {
        let call = Call::decode("sssn-n-\0pk\0Acme CRM\0c&,%20ü\0\0\0\0");
        assert_eq!(
            read(&call, AT, 5_000.0, &TRACKING_OPTIONS),
            Ok(CallInput {
                partner_key: Some("pk"),
                service_name: Some("Acme CRM"),
                customer_id: Some("c&,%20ü"),
                purchased_at: Some(PurchasedAt::EpochMs(AT)),
                base_url: None,
                timeout_ms: Some(5_000.0),
                transport: None,
            })
        );
        let call = Call::decode("-ssd---\0\0svc\0c\0\0\0\0");
        assert_eq!(read(&call, AT, 0.0, &TRACKING_OPTIONS).map(|c| c.partner_key), Ok(None));
    }

    #[test]
    fn each_wrong_kind_names_its_field() {
        let err = |kinds: &str| read_text(kinds, &TRACKING_OPTIONS).err();
        assert_eq!(err("x------"), Some(wrong(Field::PartnerKey, EXPECTED_TEXT)));
        assert_eq!(err("-n-----"), Some(wrong(Field::ServiceName, EXPECTED_TEXT)));
        assert_eq!(err("--l----"), Some(Error::TooLong(Field::CustomerId)));
        assert_eq!(err("--c----"), Some(Error::InvalidCharacters(Field::CustomerId)));
        assert_eq!(err("---x---"), Some(wrong(Field::PurchasedAt, EXPECTED_DATE)));
        assert_eq!(err("-----s-"), Some(wrong(Field::TimeoutMs, EXPECTED_NUMBER)));
        assert_eq!(err("------d"), Some(wrong(Field::Transport, EXPECTED_TEXT)));
        assert_eq!(err("!o"), Some(wrong(Field::Options, "an object")));
        assert!(matches!(
            err("!r"),
            Some(Error::WrongType {
                field: Field::Options,
                ..
            })
        ));
        // Missing letters and parts count as absent.
        assert_eq!(err(""), None);
    }

    #[test]
    fn unknown_option_names_are_refused_by_name() {
        assert_eq!(
            read_text("-------\0\0\0\0\0\0\0\0customerID", &TRACKING_OPTIONS),
            Err(Error::UnknownOption("customerID".into()))
        );
        assert_eq!(
            read_text("-------\0\0\0\0\0\0\0\0partnerKey\0serviceName", &CONFIGURE_OPTIONS),
            Err(Error::UnknownOption("serviceName".into()))
        );
        assert_eq!(
            read_text("-------\0\0\0\0\0\0\0\0partnerKey\0service,Name", &TRACKING_OPTIONS),
            Err(Error::UnknownOption("service,Name".into()))
        );
        assert_eq!(
            read_text("--s----\0\0\0c\0\0\0\0\0partnerKey\0customerId", &TRACKING_OPTIONS),
            Ok(Some("c".into()))
        );
    }

    #[test]
    fn texts_are_taken_as_they_are() {
        let call = Call::decode("sss\0a%41\0&b,c\0é\0\0\0\0\0k");
        assert_eq!(call.texts, ["a%41", "&b,c", "é", "", "", "", ""]);
        assert_eq!(call.keys, "k");
        assert_eq!(Call::decode("!o").texts, [""; 7]);
    }
}
