//! The call's options besides the tracking itself (`baseUrl`, `timeoutMs`,
//! `transport`) and how a transport is chosen. The defaults a `configure()`
//! call sets are checked and kept in [`crate::outbound`].

use crate::error::{Error, Field};

/// The timeout of one request when none is given, as in the original script.
pub const DEFAULT_TIMEOUT_MS: u32 = 60_000;
/// The longest accepted timeout (10 minutes).
pub const MAX_TIMEOUT_MS: u32 = 600_000;

/// Every option name a `createSaasTracking` options object may have.
pub const TRACKING_OPTIONS: [&str; 8] = [
    "partnerKey",
    "serviceName",
    "customerId",
    "purchasedAt",
    "baseUrl",
    "timeoutMs",
    "transport",
    "requireReferral",
];

/// Every option name `configure()` accepts.
pub const CONFIGURE_OPTIONS: [&str; 5] = ["partnerKey", "baseUrl", "timeoutMs", "transport", "requireReferral"];

/// The consent options `configure()` also takes (and the loader tag's
/// `data-consent`, `data-respect-gpc`). The JS entry applies them before the
/// module may start, so the wasm never sees them; they are named here, and
/// the JS held to these lists (tests/e2e/drift.test.mjs).
pub const CONSENT_OPTIONS: [&str; 2] = ["consent", "respectGpc"];

/// The states of consent, the default first: while `pending` nothing is
/// stored or sent and calls wait; `denied` ends them skipped.
pub const CONSENT_STATES: [&str; 3] = ["granted", "pending", "denied"];

/// The consent that holds for a call, from the state the page set last
/// (`state`, one of [`CONSENT_STATES`]; `granted` when it set none),
/// whether the page ever granted consent itself (`page_granted`), and
/// Global Privacy Control: `denied` when the page denied it, or when the
/// page respects GPC, the browser sends it and the page never granted
/// consent itself; else `pending` while the page says so; else `granted`.
/// The page's JS applies it before the module may start (`consentNow` in
/// `www/consent.js`, read by the npm entry and the loader), held to this
/// by the generated cases (`tests/e2e/referral.test.mjs`).
pub fn consent_now(state: &str, page_granted: bool, respect_gpc: bool, gpc: bool) -> &'static str {
    if state == "denied" || (respect_gpc && gpc && !page_granted) {
        "denied"
    } else if state == "pending" {
        "pending"
    } else {
        "granted"
    }
}

/// The options only the page's JS reads (`configure({ debug })` and the
/// loader tag's `data-debug`): debug mode's switch, never seen by the wasm.
pub const PAGE_OPTIONS: [&str; 1] = ["debug"];

/// Refuses an option name that is not in `known` (typos such as
/// `customerID` are caught instead of silently dropped).
pub fn check_option_name(name: &str, known: &[&str]) -> Result<(), Error> {
    if known.contains(&name) {
        Ok(())
    } else {
        Err(Error::UnknownOption(name.to_owned()))
    }
}

/// How the tracking leaves the page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// `fetch` with `keepalive`; `sendBeacon` where a fetch cannot start.
    #[default]
    Auto,
    /// `fetch` with `keepalive`: the collector's answer is read.
    Fetch,
    /// A beacon: handed to the browser, the answer is not read (a
    /// keepalive `no-cors` fetch, or `navigator.sendBeacon` where that
    /// cannot start).
    Beacon,
}

impl Transport {
    /// Parses `"auto"`, `"fetch"` or `"beacon"`.
    pub fn parse(name: &str) -> Result<Transport, Error> {
        match name {
            "auto" => Ok(Transport::Auto),
            "fetch" => Ok(Transport::Fetch),
            "beacon" => Ok(Transport::Beacon),
            _ => Err(Error::InvalidOption {
                field: Field::Transport,
                expected: "\"auto\", \"fetch\" or \"beacon\"",
            }),
        }
    }

    /// The name as the options and the result spell it.
    pub const fn name(self) -> &'static str {
        match self {
            Transport::Auto => "auto",
            Transport::Fetch => "fetch",
            Transport::Beacon => "beacon",
        }
    }

    /// What to try when this transport cannot start: `Auto` falls back
    /// from `fetch` to `sendBeacon`; an explicit choice has no fallback.
    pub const fn fallback(self) -> Option<Transport> {
        match self {
            Transport::Auto => Some(Transport::Beacon),
            Transport::Fetch | Transport::Beacon => None,
        }
    }
}

/// Checks a `timeoutMs` value: a whole number of milliseconds from 1 to
/// [`MAX_TIMEOUT_MS`].
pub fn timeout_ms(value: f64) -> Result<u32, Error> {
    if value.is_finite() && value.fract() == 0.0 && value >= 1.0 && value <= f64::from(MAX_TIMEOUT_MS) {
        Ok(value as u32)
    } else {
        Err(Error::InvalidOption {
            field: Field::TimeoutMs,
            expected: "a whole number of milliseconds from 1 to 600000",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_is_what_the_page_set_or_global_privacy_control_where_respected() {
        // (state, page granted, respects GPC, GPC sent) -> what holds
        let cases = [
            (("granted", false, false, false), "granted"),
            (("granted", false, true, false), "granted"),
            (("granted", false, false, true), "granted"),
            (("granted", false, true, true), "denied"),
            (("granted", true, true, true), "granted"),
            (("pending", false, false, false), "pending"),
            (("pending", true, true, true), "pending"),
            (("pending", false, true, true), "denied"),
            (("denied", true, false, false), "denied"),
            (("denied", false, false, false), "denied"),
        ];
        for ((state, granted, respect, gpc), holds) in cases {
            assert_eq!(
                consent_now(state, granted, respect, gpc),
                holds,
                "{state} {granted} {respect} {gpc}"
            );
        }
    }

    #[test]
    fn transports() {
        for transport in [Transport::Auto, Transport::Fetch, Transport::Beacon] {
            assert_eq!(Transport::parse(transport.name()), Ok(transport));
        }
        assert_eq!(
            [Transport::Auto, Transport::Fetch, Transport::Beacon].map(Transport::name),
            ["auto", "fetch", "beacon"]
        );
        assert_eq!(Transport::parse("beacon"), Ok(Transport::Beacon));
        assert_eq!(Transport::parse("Beacon").map_err(|e| e.code()), Err("invalid_option"));
        assert_eq!(Transport::Auto.fallback(), Some(Transport::Beacon));
        assert_eq!(Transport::Fetch.fallback(), None);
        assert_eq!(Transport::Beacon.fallback(), None);
    }

    #[test]
    fn timeouts() {
        assert_eq!(timeout_ms(1.0), Ok(1));
        assert_eq!(timeout_ms(600_000.0), Ok(600_000));
        for bad in [0.0, -5.0, 1.5, 600_001.0, f64::NAN, f64::INFINITY] {
            assert!(timeout_ms(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_options_name_the_typo() {
        assert_eq!(check_option_name("customerId", &TRACKING_OPTIONS), Ok(()));
        assert_eq!(
            check_option_name("customerID", &TRACKING_OPTIONS).map_err(|e| e.field().map(str::to_owned)),
            Err(Some("customerID".to_owned()))
        );
        assert!(check_option_name("customerId", &CONFIGURE_OPTIONS).is_err());
    }
}
