//! A call's arguments as the JS entry reads them: one kind letter per field
//! and the field's text or number, never a JS value. The JS side only
//! looks (`typeof`, `instanceof Date`, length, well-formed UTF-16); every
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

/// The call text decoded: `kinds&t0&t1&t2&t3&t4&t5&t6&k0,k1,…`, where each
/// text and option name has its `%`, `&` and `,` escaped as `%25`, `%26` and
/// `%2c` (any ASCII `%XX` is read; the rest of the text is as given).
///
/// The kind letters, one per field of [`FIELDS`]: `-` absent (`undefined`
/// or `null`), `s` a string (its text follows), `n` a number, `d` a `Date`
/// (both passed as numbers beside the text), `l` a string over 16,384
/// UTF-16 units (not passed), `c` a string with a lone surrogate (not
/// passed), anything else a value of another type. The kinds are `!o`
/// when the options argument is not an object, `!r` when reading it threw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Call {
    /// One kind letter per field, or `!o` / `!r`.
    pub kinds: String,
    /// Each field's text.
    pub texts: Vec<String>,
    /// The options object's own keys (none for the positional form).
    pub keys: Vec<String>,
}

impl Call {
    /// Decodes the call text; missing parts are empty.
    pub fn decode(text: &str) -> Call {
        let mut parts = split(text, b'&');
        let kinds = parts.next().unwrap_or("").to_owned();
        let texts = (0..FIELDS.len())
            .map(|_| unescape(parts.next().unwrap_or("")))
            .collect();
        let keys = match parts.next() {
            Some(keys) if !keys.is_empty() => split(keys, b',').map(unescape).collect(),
            _ => Vec::new(),
        };
        Call { kinds, texts, keys }
    }
}

/// Reads `%XX` escapes of ASCII characters; anything else stays as it is.
fn unescape(text: &str) -> String {
    let hex = |at: usize| char::from(*text.as_bytes().get(at)?).to_digit(16);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while at < text.len() {
        if text.as_bytes().get(at) == Some(&b'%') {
            if let (Some(high @ 0..=7), Some(low)) = (hex(at + 1), hex(at + 2)) {
                out.push_str(text.get(copied..at).unwrap_or(""));
                out.push(char::from((high * 16 + low) as u8));
                at += 3;
                copied = at;
                continue;
            }
        }
        at += 1;
    }
    out.push_str(text.get(copied..).unwrap_or(""));
    out
}

const EXPECTED_TEXT: &str = "a string";
const EXPECTED_DATE: &str = "an ISO 8601 string, a Date or epoch milliseconds";
const EXPECTED_NUMBER: &str = "a number";

fn wrong(field: Field, expected: &'static str) -> Error {
    Error::WrongType { field, expected }
}

/// Reads a call whose options object may only have the names in `known`;
/// `purchased_ms` and `timeout_ms` are the numbers passed beside the text.
pub fn read<'a>(call: &'a Call, purchased_ms: f64, timeout_ms: f64, known: &[&str]) -> Result<CallInput<'a>, Error> {
    match call.kinds.as_str() {
        "!o" => return Err(wrong(Field::Options, "an object")),
        "!r" => return Err(wrong(Field::Options, "an object whose properties can be read")),
        _ => {}
    }
    for key in &call.keys {
        check_option_name(key, known)?;
    }
    let kinds = call.kinds.as_bytes();
    let mut texts: [Option<&'a str>; 7] = [None; 7];
    let mut purchased_at = None;
    let mut timeout = None;
    for (i, field) in FIELDS.into_iter().enumerate() {
        let kind = kinds.get(i).copied().unwrap_or(b'-');
        let text = call.texts.get(i).map_or("", String::as_str);
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
        let call = Call::decode("sssn-n-&pk&Acme%20CRM&c%26%2c%25ü&&&&");
        assert_eq!(
            read(&call, AT, 5_000.0, &TRACKING_OPTIONS),
            Ok(CallInput {
                partner_key: Some("pk"),
                service_name: Some("Acme CRM"),
                customer_id: Some("c&,%ü"),
                purchased_at: Some(PurchasedAt::EpochMs(AT)),
                base_url: None,
                timeout_ms: Some(5_000.0),
                transport: None,
            })
        );
        let call = Call::decode("-ssd---&&svc&c&&&&");
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
        // Escapes of bytes past ASCII are not read: the text stays UTF-8.
        assert_eq!(
            read_text("--s----&&&%FF%C3", &TRACKING_OPTIONS),
            Ok(Some("%FF%C3".into()))
        );
    }

    #[test]
    fn unknown_option_names_are_refused_by_name() {
        assert_eq!(
            read_text("-------&&&&&&&&customerID", &TRACKING_OPTIONS),
            Err(Error::UnknownOption("customerID".into()))
        );
        assert_eq!(
            read_text("-------&&&&&&&&partnerKey,serviceName", &CONFIGURE_OPTIONS),
            Err(Error::UnknownOption("serviceName".into()))
        );
        assert_eq!(
            read_text("-------&&&&&&&&partnerKey,service%2CName", &TRACKING_OPTIONS),
            Err(Error::UnknownOption("service,Name".into()))
        );
        assert_eq!(
            read_text("--s----&&&c&&&&&partnerKey,customerId", &TRACKING_OPTIONS),
            Ok(Some("c".into()))
        );
    }

    #[test]
    fn unescaping() {
        assert_eq!(unescape("a%41%2c%26%25%"), "aA,&%%");
        assert_eq!(unescape("%zz%4%é1"), "%zz%4%é1");
        assert_eq!(unescape("%e2%82%ac"), "%e2%82%ac");
        assert_eq!(unescape("%2541"), "%41");
    }
}
