//! The one error type of the pixel: every way a tracking can fail, each with
//! a stable `code` and, where it applies, the offending `field`.

use std::fmt;

/// A field of the tracking or of the call's options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// `partnerKey`
    PartnerKey,
    /// `serviceName`
    ServiceName,
    /// `customerId`
    CustomerId,
    /// `purchasedAt`
    PurchasedAt,
    /// `baseUrl`
    BaseUrl,
    /// `timeoutMs`
    TimeoutMs,
    /// `transport`
    Transport,
    /// `requireReferral`
    RequireReferral,
    /// The options argument itself.
    Options,
}

impl Field {
    /// The field's name as the JSON body and the JS options spell it.
    pub const fn name(self) -> &'static str {
        match self {
            Field::PartnerKey => "partnerKey",
            Field::ServiceName => "serviceName",
            Field::CustomerId => "customerId",
            Field::PurchasedAt => "purchasedAt",
            Field::BaseUrl => "baseUrl",
            Field::TimeoutMs => "timeoutMs",
            Field::Transport => "transport",
            Field::RequireReferral => "requireReferral",
            Field::Options => "options",
        }
    }
}

/// Everything that can go wrong, from bad input to a failed delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A required field is absent (`undefined`, `null` or missing).
    Missing(Field),
    /// A field has the wrong type; `expected` names the accepted types.
    WrongType {
        /// The field.
        field: Field,
        /// What the field accepts, in words.
        expected: &'static str,
    },
    /// A string field is empty or only white space.
    Empty(Field),
    /// A string field is longer than its maximum.
    TooLong(Field),
    /// A string field holds a control character or a lone surrogate.
    InvalidCharacters(Field),
    /// `purchasedAt` is not a date this pixel understands.
    InvalidDate,
    /// `purchasedAt` is before 2000 or more than a day in the future.
    DateOutOfRange,
    /// The base URL is not an absolute URL of the accepted form.
    InvalidBaseUrl,
    /// The base URL uses plain `http:` to a host other than loopback.
    InsecureBaseUrl,
    /// An option has a value outside its accepted set or range.
    InvalidOption {
        /// The option.
        field: Field,
        /// What the option accepts, in words.
        expected: &'static str,
    },
    /// An option name that the pixel does not know (often a typo).
    UnknownOption(String),
    /// The chosen transport does not exist in this environment or refused the request.
    TransportUnavailable,
    /// The request could not reach the collector.
    Network,
    /// The collector did not answer within the timeout.
    Timeout,
    /// The collector refused the tracking for good (a 4xx other than 408,
    /// 425 and 429): it is not retried.
    Rejected(u16),
}

/// Each variant's code, in the order of [`Error::index`] (the build writes
/// them into the JS's generated rules, for the tests that hold the docs and
/// the types to them).
pub const CODES: [&str; 15] = [
    "missing_field",
    "invalid_type",
    "empty_field",
    "too_long",
    "invalid_characters",
    "invalid_date",
    "date_out_of_range",
    "invalid_base_url",
    "insecure_base_url",
    "invalid_option",
    "unknown_option",
    "transport_unavailable",
    "network_error",
    "timeout",
    "rejected",
];

/// Each variant's message after the field's name, in the order of
/// [`Error::index`]; what the variant carries follows it.
const TEXTS: [&str; 15] = [
    " is required",
    " must be ",
    " must not be empty",
    " is longer than 512 characters",
    " has a control character or a lone surrogate",
    " is not a valid date: use YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS[.sss]] with Z or ±HH:MM, a Date or epoch ms",
    " must be after 2000-01-01 and at most one day in the future",
    " must be https://host[:port][/path] without credentials, query or fragment",
    " must use https: (http: only for localhost, 127.0.0.1 and [::1])",
    " must be ",
    " is not a known option",
    " is unavailable here or refused the request",
    "the collector could not be reached",
    "the collector did not answer in time",
    "the collector refused the tracking for good (HTTP ",
];

impl Error {
    /// The variant's place in the tables of codes and messages.
    const fn index(&self) -> usize {
        match self {
            Error::Missing(_) => 0,
            Error::WrongType { .. } => 1,
            Error::Empty(_) => 2,
            Error::TooLong(_) => 3,
            Error::InvalidCharacters(_) => 4,
            Error::InvalidDate => 5,
            Error::DateOutOfRange => 6,
            Error::InvalidBaseUrl => 7,
            Error::InsecureBaseUrl => 8,
            Error::InvalidOption { .. } => 9,
            Error::UnknownOption(_) => 10,
            Error::TransportUnavailable => 11,
            Error::Network => 12,
            Error::Timeout => 13,
            Error::Rejected(_) => 14,
        }
    }

    /// The stable, machine-readable code of the error.
    pub fn code(&self) -> &'static str {
        CODES.get(self.index()).copied().unwrap_or_default()
    }

    /// The offending field's name, when the error is about one field.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Missing(f)
            | Error::WrongType { field: f, .. }
            | Error::Empty(f)
            | Error::TooLong(f)
            | Error::InvalidCharacters(f)
            | Error::InvalidOption { field: f, .. } => Some(f.name()),
            Error::InvalidDate | Error::DateOutOfRange => Some(Field::PurchasedAt.name()),
            Error::InvalidBaseUrl | Error::InsecureBaseUrl => Some(Field::BaseUrl.name()),
            Error::UnknownOption(name) => Some(name),
            Error::TransportUnavailable => Some(Field::Transport.name()),
            Error::Network | Error::Timeout | Error::Rejected(_) => None,
        }
    }

    /// A readable sentence for people (the field's name, then what is
    /// wrong); built without `core::fmt` so that the shipped wasm stays
    /// small.
    pub fn message(&self) -> String {
        let status;
        let tail = match self {
            Error::WrongType { expected, .. } | Error::InvalidOption { expected, .. } => expected,
            Error::Rejected(code) => {
                status = crate::text::concat(&[&crate::text::decimal(i64::from(*code)), ")"]);
                status.as_str()
            }
            _ => "",
        };
        crate::text::concat(&[
            self.field().unwrap_or(""),
            TEXTS.get(self.index()).copied().unwrap_or_default(),
            tail,
        ])
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())?;
        f.write_str(": ")?;
        f.write_str(&self.message())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_says_what_the_field_takes() {
        let wrong = Error::WrongType {
            field: Field::CustomerId,
            expected: "a string",
        };
        assert_eq!(wrong.message(), "customerId must be a string");
        let invalid = Error::InvalidOption {
            field: Field::Transport,
            expected: "\"auto\", \"fetch\" or \"beacon\"",
        };
        assert_eq!(invalid.message(), "transport must be \"auto\", \"fetch\" or \"beacon\"");
    }

    #[test]
    fn codes_and_fields_are_stable() {
        let e = Error::Missing(Field::CustomerId);
        assert_eq!(e.code(), "missing_field");
        assert_eq!(e.field(), Some("customerId"));
        assert_eq!(e.message(), "customerId is required");
        assert_eq!(e.to_string(), "missing_field: customerId is required");

        let e = Error::UnknownOption("custmerId".into());
        assert_eq!(e.field(), Some("custmerId"));
        assert_eq!(e.message(), "custmerId is not a known option");

        assert_eq!(Error::DateOutOfRange.field(), Some("purchasedAt"));
        assert_eq!(Error::InsecureBaseUrl.field(), Some("baseUrl"));
        assert_eq!(Error::Timeout.field(), None);
        assert_eq!(
            Error::Rejected(422).message(),
            "the collector refused the tracking for good (HTTP 422)"
        );
    }
}
