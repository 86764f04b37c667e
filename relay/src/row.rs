//! A row of the outbox as the relay reads it, and what the core makes of
//! it: the checked tracking ([`Outbound`], with the body every host sends)
//! and the engine's [`Record`] of it.

use onramp_core::outbound::{CallInput, Outbound};
use onramp_core::queue::Record;
use onramp_core::time::Timestamp;
use onramp_core::tracking::PurchasedAt;
use onramp_core::Error;

/// A waiting row, claimed by this relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The table's key.
    pub id: i64,
    /// `partnerKey` as the application wrote it.
    pub partner_key: Option<String>,
    /// `serviceName`.
    pub service_name: Option<String>,
    /// `customerId`.
    pub customer_id: Option<String>,
    /// `purchasedAt` (RFC 3339 or `YYYY-MM-DD`); none: the row's creation.
    pub purchased_at: Option<String>,
    /// When the row was written (epoch ms; the transaction's time).
    pub created_ms: i64,
    /// Failed attempts so far.
    pub failures: u32,
    /// Not to be sent before this time (epoch ms).
    pub next_ms: i64,
}

impl Row {
    /// The row checked by the core's rules, as a tracking to `base_url`
    /// with this timeout. A row without `purchasedAt` reports the time it
    /// was written, so that each attempt sends the same body.
    pub fn outbound(&self, base_url: &str, timeout_ms: u32, now: Timestamp) -> Result<Outbound, Error> {
        let purchased_at = match &self.purchased_at {
            Some(text) => PurchasedAt::Text(text),
            None => PurchasedAt::EpochMs(self.created_ms as f64),
        };
        Outbound::prepare(
            CallInput {
                partner_key: self.partner_key.as_deref(),
                service_name: self.service_name.as_deref(),
                customer_id: self.customer_id.as_deref(),
                purchased_at: Some(purchased_at),
                base_url: Some(base_url),
                timeout_ms: Some(f64::from(timeout_ms)),
                transport: Some("fetch"),
                require_referral: None,
            },
            now,
        )
    }

    /// The engine's record of the row: waiting, with the failures and the
    /// wait the table kept.
    pub fn record(&self, outbound: &Outbound) -> Record {
        Record {
            url: outbound.url.clone(),
            body: outbound.body.clone(),
            created_ms: self.created_ms,
            failures: self.failures,
            next_ms: self.next_ms,
            leased_until: 0,
            timeout_ms: outbound.timeout_ms,
            accepted_ms: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_718_581_000;

    fn row() -> Row {
        Row {
            id: 7,
            partner_key: Some("pk".into()),
            service_name: Some("svc".into()),
            customer_id: Some("c-1".into()),
            purchased_at: None,
            created_ms: NOW - 5_000,
            failures: 2,
            next_ms: NOW - 1,
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_epoch_ms(NOW as f64).unwrap()
    }

    #[test]
    fn a_row_without_a_date_reports_when_it_was_written() {
        let outbound = row().outbound("http://127.0.0.1:9", 5_000, now()).unwrap();
        assert_eq!(
            outbound.body,
            r#"{"partnerKey":"pk","serviceName":"svc","customerId":"c-1","purchasedAt":"2026-11-26T18:42:56.000Z"}"#
        );
        assert_eq!(outbound.url, "http://127.0.0.1:9/api/SaasTrackings");
        let record = row().record(&outbound);
        assert_eq!(
            (record.failures, record.next_ms, record.created_ms),
            (2, NOW - 1, NOW - 5_000)
        );
        assert!(record.is_due(NOW, false));
    }

    #[test]
    fn a_bad_row_gets_the_cores_code_and_field() {
        let cases = [
            (
                Row {
                    customer_id: None,
                    ..row()
                },
                "missing_field",
                "customerId",
            ),
            (
                Row {
                    service_name: Some("  ".into()),
                    ..row()
                },
                "empty_field",
                "serviceName",
            ),
            (
                Row {
                    customer_id: Some("a\nb".into()),
                    ..row()
                },
                "invalid_characters",
                "customerId",
            ),
            (
                Row {
                    purchased_at: Some("2026-13-45".into()),
                    ..row()
                },
                "invalid_date",
                "purchasedAt",
            ),
            (
                Row {
                    purchased_at: Some("1999-12-31".into()),
                    ..row()
                },
                "date_out_of_range",
                "purchasedAt",
            ),
        ];
        for (row, code, field) in cases {
            let error = row.outbound("http://127.0.0.1:9", 5_000, now()).unwrap_err();
            assert_eq!((error.code(), error.field()), (code, Some(field)), "{row:?}");
        }
    }
}
