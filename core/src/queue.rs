//! The queue as plain data: one [`Record`] per tracking, stored under the
//! tracking's id, so that tabs writing at the same moment write different
//! records and never overwrite each other's trackings. A record waits to
//! be accepted, or, once accepted, remembers that it was (the reload
//! guard). The browser glue stores each record with serde; the rules about
//! what to keep and what is due are here.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::tracking::Tracking;

/// The prefix of each record's key in the browser's `localStorage` (the
/// loader looks for a waiting tracking under it before it loads the wasm).
pub const STORAGE_PREFIX: &str = "onramp-pixel:v2:";
/// The most trackings kept waiting; the oldest is dropped past it.
pub const MAX_QUEUED: usize = 100;
/// How long a tracking is kept waiting, and remembered as sent (7 days).
pub const TTL_MS: i64 = 7 * 24 * 3_600_000;
/// The most accepted trackings remembered (the reload guard).
pub const MAX_SENT: usize = 1_000;
/// How much longer than its timeout an attempt holds its lease.
pub const LEASE_SLACK_MS: i64 = 2_000;
/// The longest an attempt holds its lease: the longest timeout and the
/// slack.
pub const MAX_LEASE_MS: i64 = lease_for(crate::options::MAX_TIMEOUT_MS);

/// How long (a duration, ms) an attempt of this timeout holds the tracking:
/// its lease. The instant it ends is a record's [`Record::leased_until`].
pub const fn lease_for(timeout_ms: u32) -> i64 {
    timeout_ms as i64 + LEASE_SLACK_MS
}
/// The longest wait the pixel sets before a retry (`Retry-After`'s cap;
/// the backoff's is shorter).
const MAX_WAIT_MS: i64 = crate::retry::MAX_RETRY_AFTER_MS as i64;

/// The idempotency key of a tracking sent to `url`: the collector URL and
/// the natural key (partnerKey, serviceName, customerId).
pub fn id(url: &str, tracking: &Tracking) -> String {
    let (partner_key, service_name, customer_id) = tracking.key();
    crate::text::concat(&[
        url,
        "\u{1f}",
        partner_key,
        "\u{1f}",
        service_name,
        "\u{1f}",
        customer_id,
    ])
}

/// One tracking in the browser's store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// `{baseUrl}/api/SaasTrackings` (empty once accepted).
    pub url: String,
    /// The JSON body (empty once accepted).
    pub body: String,
    /// When it was first queued (epoch ms).
    #[serde(with = "epoch_ms")]
    pub created_ms: i64,
    /// Failed attempts so far.
    pub failures: u32,
    /// Not to be sent before this time (backoff, `Retry-After`).
    #[serde(with = "epoch_ms")]
    pub next_ms: i64,
    /// An attempt is in flight until this instant (epoch ms; 0: none).
    /// Stored as `leaseMs`, as records always were.
    #[serde(rename = "leaseMs", with = "epoch_ms")]
    pub leased_until: i64,
    /// The timeout of each attempt, as the call asked for.
    pub timeout_ms: u32,
    /// When the collector accepted it; the record then only keeps it from
    /// being sent again.
    #[serde(
        default,
        serialize_with = "epoch_ms::option",
        deserialize_with = "epoch_ms::option_de"
    )]
    pub accepted_ms: Option<i64>,
}

/// Epoch milliseconds stored as numbers (JS time values, exact up to 2^53)
/// rather than 64-bit integers, which serializers may refuse or write as
/// something JSON cannot hold.
mod epoch_ms {
    use super::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(*ms as f64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        f64::deserialize(d).map(|ms| ms as i64)
    }

    pub fn option<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match ms {
            Some(ms) => s.serialize_some(&(*ms as f64)),
            None => s.serialize_none(),
        }
    }

    pub fn option_de<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Option::<f64>::deserialize(d).map(|ms| ms.map(|ms| ms as i64))
    }
}

impl Record {
    /// A tracking queued now.
    pub fn new(url: String, body: String, timeout_ms: u32, now: i64) -> Record {
        Record {
            url,
            body,
            created_ms: now,
            next_ms: now,
            timeout_ms,
            ..Record::default()
        }
    }

    /// Whether the collector accepted it less than [`TTL_MS`] ago.
    pub fn was_accepted(&self, now: i64) -> bool {
        self.accepted_ms.is_some_and(|at| now.saturating_sub(at) < TTL_MS)
    }

    /// Whether an attempt is in flight. A lease further ahead than any
    /// attempt lasts was taken by a clock that has since gone back: it
    /// holds nothing.
    pub fn in_flight(&self, now: i64) -> bool {
        self.leased_until > now && self.leased_until.saturating_sub(now) <= MAX_LEASE_MS
    }

    /// When its wait is over. A wait further ahead than any the pixel sets
    /// was stamped by a clock that has since gone back: it is over.
    fn wait_over_at(&self, now: i64) -> i64 {
        if self.next_ms.saturating_sub(now) > MAX_WAIT_MS {
            now
        } else {
            self.next_ms
        }
    }

    /// Whether a flush may send it now: waiting, no attempt in flight, and
    /// its wait over (or `force`: a retry asked for by the provider, or the
    /// browser coming back online).
    pub fn is_due(&self, now: i64, force: bool) -> bool {
        self.accepted_ms.is_none() && !self.in_flight(now) && (force || self.wait_over_at(now) <= now)
    }

    /// When it may be sent next, if it waits.
    pub fn due_at(&self, now: i64) -> Option<i64> {
        let lease = if self.in_flight(now) { self.leased_until } else { now };
        self.accepted_ms
            .is_none()
            .then(|| self.wait_over_at(now).max(lease).max(now))
    }

    /// Marks it accepted at `now`: only the reload guard is kept.
    pub fn accept(&mut self, now: i64) {
        *self = Record {
            accepted_ms: Some(now),
            created_ms: self.created_ms,
            ..Record::default()
        };
    }

    /// Whether the store should forget it: a waiting tracking older than
    /// the TTL, or an accepted one remembered longer than that.
    pub fn expired(&self, now: i64) -> bool {
        let since = self.accepted_ms.unwrap_or(self.created_ms);
        now.saturating_sub(since) >= TTL_MS
    }
}

/// What the store should forget: the records past their TTL, the oldest
/// waiting ones past [`MAX_QUEUED`] and the oldest accepted ones past
/// [`MAX_SENT`]. Returns their indexes in `records` and how many waiting
/// trackings were given up (expired or dropped).
pub fn sweep<K>(records: &[(K, Record)], now: i64) -> (Vec<usize>, usize) {
    let mut forget = Vec::new();
    let mut given_up = 0;
    let mut waiting = Vec::new();
    let mut accepted = Vec::new();
    for (i, (_, record)) in records.iter().enumerate() {
        if record.expired(now) {
            forget.push(i);
            given_up += usize::from(record.accepted_ms.is_none());
        } else if let Some(at) = record.accepted_ms {
            accepted.push((at, i));
        } else {
            waiting.push((record.created_ms, i));
        }
    }
    for (list, max, waits) in [(&mut waiting, MAX_QUEUED, true), (&mut accepted, MAX_SENT, false)] {
        if list.len() > max {
            list.sort_unstable();
            let over = list.len() - max;
            forget.extend(list.iter().take(over).map(|&(_, i)| i));
            given_up += if waits { over } else { 0 };
        }
    }
    (forget, given_up)
}

/// When the next waiting tracking becomes due, in ms from `now`, if any.
pub fn next_due_in<'r>(records: impl IntoIterator<Item = &'r Record>, now: i64) -> Option<i64> {
    records
        .into_iter()
        .filter_map(|r| r.due_at(now))
        .min()
        .map(|at| at.saturating_sub(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(created_ms: i64) -> Record {
        Record::new(
            "https://o.example/api/SaasTrackings".into(),
            "{}".into(),
            5_000,
            created_ms,
        )
    }

    #[test]
    fn a_record_round_trips_through_serde() {
        let mut r = waiting(10);
        r.failures = 2;
        let text = serde_json::to_string(&r).expect("serialisable");
        assert_eq!(serde_json::from_str::<Record>(&text).ok(), Some(r.clone()));
        r.accept(20);
        assert_eq!(
            (r.accepted_ms, r.created_ms),
            (Some(20), 10),
            "accepted, and still as old as it was"
        );
        assert!(r.body.is_empty());
        let text = serde_json::to_string(&r).expect("serialisable");
        assert_eq!(serde_json::from_str::<Record>(&text).ok(), Some(r));
    }

    #[test]
    fn due_in_flight_and_accepted() {
        let mut r = waiting(0);
        assert!(r.is_due(0, false));
        r.leased_until = 1_000;
        assert!(!r.is_due(500, false) && !r.is_due(500, true), "never while in flight");
        assert_eq!(r.due_at(500), Some(1_000));
        r.leased_until = 0;
        r.next_ms = 7_000;
        assert!(!r.is_due(6_999, false));
        assert!(r.is_due(6_999, true));
        assert_eq!(next_due_in([&r, &waiting(0)], 3_000), Some(0));
        assert_eq!(next_due_in([&r], 3_000), Some(4_000));
        r.accept(8_000);
        assert!(!r.is_due(9_000, true));
        assert!(r.was_accepted(9_000));
        assert!(!r.was_accepted(8_000 + TTL_MS));
        assert_eq!(next_due_in([&r], 9_000), None);
    }

    #[test]
    fn stamps_from_a_clock_that_went_back_hold_nothing() {
        let mut r = waiting(0);
        let now = 10 * 86_400_000;
        // Stamped when the clock was two days ahead: the wait and the lease
        // are further away than any the pixel sets.
        r.next_ms = now + 2 * 86_400_000;
        assert!(r.is_due(now, false));
        assert_eq!(r.due_at(now), Some(now));
        r.next_ms = now;
        r.leased_until = now + 2 * 86_400_000;
        assert!(!r.in_flight(now));
        assert!(r.is_due(now, false));
        // Real waits and leases still hold.
        r.leased_until = now + MAX_LEASE_MS;
        assert!(r.in_flight(now));
        r.leased_until = 0;
        r.next_ms = now + MAX_WAIT_MS;
        assert!(!r.is_due(now, false));
        assert_eq!(r.due_at(now), Some(now + MAX_WAIT_MS));
    }

    #[test]
    fn sweep_keeps_exactly_as_many_as_the_bounds() {
        let records: Vec<(usize, Record)> = (0..MAX_QUEUED).map(|n| (n, waiting(n as i64))).collect();
        assert_eq!(sweep(&records, 1_000), (Vec::new(), 0));
    }

    #[test]
    fn sweep_forgets_the_expired_and_the_oldest_past_the_bounds() {
        let mut records: Vec<(usize, Record)> = (0..MAX_QUEUED + 2).map(|n| (n, waiting(n as i64 + TTL_MS))).collect();
        records.push((900, waiting(0)));
        let mut accepted = waiting(0);
        accepted.accept(1);
        records.push((901, accepted));
        let (mut forget, given_up) = sweep(&records, TTL_MS + 5);
        forget.sort_unstable();
        let keys: Vec<usize> = forget.iter().map(|&i| records[i].0).collect();
        assert_eq!(keys, vec![0, 1, 900, 901]);
        assert_eq!(given_up, 3, "two dropped and one expired waiting tracking");
    }
}
