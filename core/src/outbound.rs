//! One call of `createSaasTracking` (the configured defaults laid under
//! it), checked and resolved into what goes on the wire, and the defaults
//! that `configure()` sets.

use crate::endpoint::Endpoint;
use crate::error::{Error, Field};
use crate::options::{timeout_ms, Transport, DEFAULT_TIMEOUT_MS};
use crate::time::Timestamp;
use crate::tracking::{text_field, PurchasedAt, Tracking, TrackingInput};

/// A call's input as read from JS; what is required and absent is an
/// error.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CallInput<'a> {
    /// `partnerKey`.
    pub partner_key: Option<&'a str>,
    /// `serviceName`.
    pub service_name: Option<&'a str>,
    /// `customerId`.
    pub customer_id: Option<&'a str>,
    /// `purchasedAt`; `None` means the time of the call.
    pub purchased_at: Option<PurchasedAt<'a>>,
    /// `baseUrl`.
    pub base_url: Option<&'a str>,
    /// `timeoutMs`.
    pub timeout_ms: Option<f64>,
    /// `transport`.
    pub transport: Option<&'a str>,
    /// `requireReferral`.
    pub require_referral: Option<bool>,
}

/// A validated tracking with everything needed to send it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outbound {
    /// The idempotency key ([`crate::queue::id`]).
    pub id: String,
    /// `{baseUrl}/api/SaasTrackings`.
    pub url: String,
    /// The tracking.
    pub tracking: Tracking,
    /// The request's body: [`Tracking::body`], written once, here.
    pub body: String,
    /// The timeout of the request.
    pub timeout_ms: u32,
    /// The transport asked for.
    pub transport: Transport,
    /// Whether only a referred visitor's tracking is sent (`requireReferral`).
    pub require_referral: bool,
}

impl Outbound {
    /// Validates a call.
    pub fn prepare(input: CallInput<'_>, now: Timestamp) -> Result<Outbound, Error> {
        let tracking = TrackingInput {
            partner_key: input.partner_key.ok_or(Error::Missing(Field::PartnerKey))?,
            service_name: input.service_name.ok_or(Error::Missing(Field::ServiceName))?,
            customer_id: input.customer_id.ok_or(Error::Missing(Field::CustomerId))?,
            purchased_at: input.purchased_at.unwrap_or(PurchasedAt::Now),
        }
        .check(now)?
        .to_tracking();
        let url = Endpoint::parse(input.base_url.ok_or(Error::Missing(Field::BaseUrl))?)?.trackings_url();
        let timeout_ms = input.timeout_ms.map_or(Ok(DEFAULT_TIMEOUT_MS), timeout_ms)?;
        let transport = input.transport.map_or(Ok(Transport::Auto), Transport::parse)?;
        Ok(Outbound {
            id: crate::queue::id(&url, &tracking),
            body: tracking.body(),
            tracking,
            url,
            timeout_ms,
            transport,
            require_referral: input.require_referral.unwrap_or(false),
        })
    }
}

/// The defaults `configure()` set, laid under each later call's own
/// options (an option given with the call wins).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Defaults {
    /// `partnerKey`.
    pub partner_key: Option<String>,
    /// `baseUrl`.
    pub base_url: Option<String>,
    /// `timeoutMs`.
    pub timeout_ms: Option<f64>,
    /// `transport`.
    pub transport: Option<String>,
    /// `requireReferral`.
    pub require_referral: Option<bool>,
}

impl Defaults {
    /// None set.
    pub const NONE: Defaults = Defaults {
        partner_key: None,
        base_url: None,
        timeout_ms: None,
        transport: None,
        require_referral: None,
    };

    /// Keeps the options of a checked `configure()` call; those it does
    /// not give keep their earlier value.
    pub fn set(&mut self, options: ConfigureInput<'_>) {
        let keep = |slot: &mut Option<String>, given: Option<&str>| {
            if let Some(given) = given {
                *slot = Some(given.to_owned());
            }
        };
        keep(&mut self.partner_key, options.partner_key);
        keep(&mut self.base_url, options.base_url);
        keep(&mut self.transport, options.transport);
        self.timeout_ms = options.timeout_ms.or(self.timeout_ms);
        self.require_referral = options.require_referral.or(self.require_referral);
    }

    /// The call with these defaults under it.
    pub fn under<'a>(&'a self, call: CallInput<'a>) -> CallInput<'a> {
        CallInput {
            partner_key: call.partner_key.or(self.partner_key.as_deref()),
            base_url: call.base_url.or(self.base_url.as_deref()),
            timeout_ms: call.timeout_ms.or(self.timeout_ms),
            transport: call.transport.or(self.transport.as_deref()),
            require_referral: call.require_referral.or(self.require_referral),
            ..call
        }
    }
}

/// The options of a `configure()` call as read from JS.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ConfigureInput<'a> {
    /// `partnerKey`.
    pub partner_key: Option<&'a str>,
    /// `baseUrl`.
    pub base_url: Option<&'a str>,
    /// `timeoutMs`.
    pub timeout_ms: Option<f64>,
    /// `transport`.
    pub transport: Option<&'a str>,
    /// `requireReferral`.
    pub require_referral: Option<bool>,
}

impl ConfigureInput<'_> {
    /// Checks every option given: [`Defaults::set`] keeps them only when
    /// all are valid.
    pub fn check(self) -> Result<(), Error> {
        if let Some(base_url) = self.base_url {
            Endpoint::parse(base_url)?;
        }
        if let Some(key) = self.partner_key {
            text_field(Field::PartnerKey, key)?;
        }
        if let Some(ms) = self.timeout_ms {
            timeout_ms(ms)?;
        }
        if let Some(name) = self.transport {
            Transport::parse(name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::from_epoch_ms(1_795_718_581_000.0).unwrap_or_else(|e| panic!("{e}"))
    }

    fn call() -> CallInput<'static> {
        CallInput {
            partner_key: Some("pk"),
            service_name: Some("svc"),
            customer_id: Some("cust"),
            purchased_at: Some(PurchasedAt::Text("2026-11-26")),
            base_url: Some("https://onramp.example.com/"),
            ..CallInput::default()
        }
    }

    #[test]
    fn a_complete_call() {
        let out = Outbound::prepare(call(), now());
        let out = out.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.url, "https://onramp.example.com/api/SaasTrackings");
        assert_eq!(
            serde_json::to_string(&out.tracking).ok().as_deref(),
            Some(
                r#"{"partnerKey":"pk","serviceName":"svc","customerId":"cust","purchasedAt":"2026-11-26T00:00:00.000Z"}"#
            )
        );
        assert_eq!(out.timeout_ms, DEFAULT_TIMEOUT_MS);
        assert_eq!(out.transport, Transport::Auto);
    }

    #[test]
    fn options_given_are_used() {
        let input = CallInput {
            base_url: Some("http://127.0.0.1:8080"),
            timeout_ms: Some(10.0),
            transport: Some("fetch"),
            ..call()
        };
        let out = Outbound::prepare(input, now()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.url, "http://127.0.0.1:8080/api/SaasTrackings");
        assert_eq!((out.timeout_ms, out.transport), (10, Transport::Fetch));
    }

    #[test]
    fn missing_parts_name_their_field() {
        let missing = |input: CallInput<'static>| Outbound::prepare(input, now()).err();
        assert_eq!(
            missing(CallInput {
                partner_key: None,
                ..call()
            }),
            Some(Error::Missing(Field::PartnerKey))
        );
        assert_eq!(
            missing(CallInput {
                service_name: None,
                ..call()
            }),
            Some(Error::Missing(Field::ServiceName))
        );
        assert_eq!(
            missing(CallInput {
                customer_id: None,
                ..call()
            }),
            Some(Error::Missing(Field::CustomerId))
        );
        assert_eq!(
            missing(CallInput {
                base_url: None,
                ..call()
            }),
            Some(Error::Missing(Field::BaseUrl))
        );
        assert_eq!(
            missing(CallInput {
                transport: Some("pigeon"),
                ..call()
            })
            .map(|e| e.code()),
            Some("invalid_option")
        );
    }

    #[test]
    fn defaults_lie_under_the_call() {
        let mut defaults = Defaults::default();
        defaults.set(ConfigureInput {
            partner_key: Some("pk_default"),
            base_url: Some("https://a.example"),
            timeout_ms: Some(5.0),
            transport: None,
            require_referral: Some(true),
        });
        defaults.set(ConfigureInput {
            transport: Some("beacon"),
            ..ConfigureInput::default()
        });
        let call = CallInput {
            partner_key: None,
            base_url: Some("https://b.example"),
            ..call()
        };
        let under = defaults.under(call);
        let bare = defaults.under(CallInput { base_url: None, ..call });
        assert_eq!(
            bare.base_url,
            Some("https://a.example"),
            "the default, where the call has none"
        );
        assert_eq!(under.partner_key, Some("pk_default"));
        assert_eq!(under.base_url, Some("https://b.example"), "the call's own option wins");
        assert_eq!((under.timeout_ms, under.transport), (Some(5.0), Some("beacon")));
        assert_eq!(under.require_referral, Some(true), "requireReferral from configure()");
        let own = defaults.under(CallInput {
            require_referral: Some(false),
            ..call
        });
        assert_eq!(own.require_referral, Some(false), "the call's own requireReferral wins");
    }

    #[test]
    fn configure_is_all_or_nothing() {
        let bad = ConfigureInput {
            partner_key: Some("ok"),
            base_url: Some("http://onramp.example.com"),
            ..ConfigureInput::default()
        };
        assert_eq!(bad.check(), Err(Error::InsecureBaseUrl));
        let good = ConfigureInput {
            partner_key: Some(" pk "),
            base_url: Some("https://onramp.example.com"),
            timeout_ms: Some(5000.0),
            transport: Some("beacon"),
            require_referral: Some(true),
        };
        assert_eq!(good.check(), Ok(()));
        let bad_key = ConfigureInput {
            partner_key: Some(" "),
            ..ConfigureInput::default()
        };
        assert_eq!(bad_key.check(), Err(Error::Empty(Field::PartnerKey)));
    }
}
