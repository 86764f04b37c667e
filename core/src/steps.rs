//! Each step of a tracking's life as a pure function over its stored
//! [`Record`]: admitting a call, claiming an attempt, settling its outcome.
//! The engine ([`crate::engine`]) loads the record through its host, calls
//! one step and stores what it changed.

use crate::error::Error;
use crate::queue::{lease_for, Record};
use crate::retry::{self, RetryAfter, Verdict};
use crate::time::Timestamp;

/// Where a new call stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// This browser delivered it already (the reload guard): nothing to send.
    AlreadySent,
    /// An attempt is in flight (another tab, or an earlier call): it settles it.
    InFlight,
    /// Free to send: no attempt holds it (new, or waiting for a retry);
    /// send it now. (A result's `queued` is another thing: it waits.)
    Free,
}

/// Where a new call stands, given the tracking's record if the store has
/// one. A record that only waits is kept as it is (its failures and
/// backoff count on).
pub fn admit(existing: Option<&Record>, now: i64) -> Admission {
    match existing {
        Some(r) if r.was_accepted(now) => Admission::AlreadySent,
        Some(r) if r.accepted_ms.is_none() && r.in_flight(now) => Admission::InFlight,
        _ => Admission::Free,
    }
}

/// What an attempt finds once it may send (it holds the tracking's lock,
/// where there are locks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Still waiting and free: leased to this attempt, send it.
    Send,
    /// Accepted already, in this tab or another: nothing to send.
    Accepted,
    /// Another attempt is in flight, or it left the queue meanwhile: not
    /// this attempt's job.
    NotMine,
}

/// Claims a waiting tracking for one attempt. `accepted_at` is when the
/// accepted set in IndexedDB (consistent across tabs, unlike
/// `localStorage`) says it was accepted, if it does. Unless `force` (a
/// call, `flush()`, the browser back online), its wait must be over: an
/// attempt that waited for the lock behind another tab's may find the
/// wait that attempt's failure set (its backoff, the collector's
/// `Retry-After`), and then it is not its turn.
pub fn claim(record: Option<&mut Record>, now: i64, accepted_at: Option<i64>, force: bool) -> Claim {
    let Some(record) = record else {
        return Claim::NotMine;
    };
    if accepted_at.is_some_and(|at| now.saturating_sub(at) < crate::queue::TTL_MS) {
        record.accept(now);
        return Claim::Accepted;
    }
    if record.accepted_ms.is_some() {
        return Claim::Accepted;
    }
    if !record.is_due(now, force) {
        return Claim::NotMine;
    }
    record.leased_until = now.saturating_add(lease_for(record.timeout_ms));
    Claim::Send
}

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The collector answered with this HTTP status.
    Status(u16),
    /// No answer: the network failed (or the request could not start).
    Network,
    /// No answer in time.
    Timeout,
    /// Delivered without an answer to read: the browser took the beacon.
    Delivered,
    /// The chosen transport does not exist here or refused the request.
    Unavailable,
}

/// An attempt's outcome, recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settled {
    /// What it means for the tracking.
    pub verdict: Verdict,
    /// When the next attempt is due, when it waits for one.
    pub retry_at: Option<Timestamp>,
    /// Why it failed, when there is a reason to give.
    pub error: Option<Error>,
}

/// Records an attempt's outcome in the tracking's record; a rejected
/// tracking leaves the store (the caller deletes the record). `retry_after`
/// is the collector's `Retry-After` header; `random` in `[0, 1)` draws the
/// jitter.
pub fn settle(
    record: &mut Record,
    outcome: Outcome,
    retry_after: Option<RetryAfter<'_>>,
    now: Timestamp,
    random: f64,
) -> Settled {
    let (verdict, error) = match outcome {
        Outcome::Status(status) => {
            let verdict = retry::verdict(Some(status));
            (
                verdict,
                (verdict == Verdict::Rejected).then_some(Error::Rejected(status)),
            )
        }
        Outcome::Network => (Verdict::Retry, Some(Error::Network)),
        Outcome::Timeout => (Verdict::Retry, Some(Error::Timeout)),
        Outcome::Delivered => (Verdict::Accepted, None),
        Outcome::Unavailable => (Verdict::Rejected, Some(Error::TransportUnavailable)),
    };
    let now_ms = now.as_millis();
    let mut retry_at = None;
    match verdict {
        Verdict::Accepted => record.accept(now_ms),
        Verdict::Rejected => {}
        Verdict::Retry => {
            record.failures = record.failures.saturating_add(1);
            let retry_after = retry_after.and_then(|header| retry::retry_after_ms(header, now));
            let delay = retry::next_delay_ms(record.failures, random, retry_after);
            record.next_ms = now_ms.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX));
            record.leased_until = 0;
            retry_at = Timestamp::from_epoch_ms(record.next_ms as f64).ok();
        }
    }
    Settled {
        verdict,
        retry_at,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{LEASE_SLACK_MS, TTL_MS};

    const NOW: i64 = 1_795_718_581_000;

    fn now() -> Timestamp {
        Timestamp::from_epoch_ms(NOW as f64).expect("a valid time")
    }

    fn queued() -> Record {
        Record::new(
            "https://collector.example/api/SaasTrackings".into(),
            "{}".into(),
            1_000,
            NOW,
        )
    }

    #[test]
    fn a_call_is_queued_then_claimed_then_settled() {
        let mut record = queued();
        assert_eq!(admit(None, NOW), Admission::Free);
        assert_eq!(admit(Some(&record), NOW), Admission::Free);
        assert_eq!(claim(Some(&mut record), NOW, None, true), Claim::Send);
        assert_eq!(record.leased_until, NOW + 1_000 + LEASE_SLACK_MS);
        assert_eq!(admit(Some(&record), NOW + 10), Admission::InFlight);
        assert_eq!(claim(Some(&mut record), NOW + 10, None, true), Claim::NotMine);

        let settled = settle(&mut record, Outcome::Status(201), None, now(), 0.5);
        assert_eq!(settled.verdict, Verdict::Accepted);
        assert_eq!(settled.retry_at, None);
        assert_eq!(record.accepted_ms, Some(NOW));
        assert_eq!(admit(Some(&record), NOW + 20), Admission::AlreadySent);
        assert_eq!(claim(Some(&mut record), NOW + 20, None, true), Claim::Accepted);
        assert_eq!(claim(None, NOW, None, true), Claim::NotMine, "gone from the store");
    }

    #[test]
    fn outcomes_map_to_verdicts_and_errors() {
        let cases = [
            (Outcome::Status(503), Verdict::Retry, None),
            (Outcome::Status(429), Verdict::Retry, None),
            (Outcome::Status(400), Verdict::Rejected, Some("rejected")),
            (Outcome::Network, Verdict::Retry, Some("network_error")),
            (Outcome::Timeout, Verdict::Retry, Some("timeout")),
            (Outcome::Delivered, Verdict::Accepted, None),
            (Outcome::Unavailable, Verdict::Rejected, Some("transport_unavailable")),
        ];
        for (outcome, verdict, error) in cases {
            let mut record = queued();
            let settled = settle(&mut record, outcome, None, now(), 0.0);
            assert_eq!(settled.verdict, verdict, "{outcome:?}");
            assert_eq!(settled.error.as_ref().map(Error::code), error, "{outcome:?}");
            assert_eq!(settled.retry_at.is_some(), verdict == Verdict::Retry, "{outcome:?}");
            assert_eq!(record.failures, u32::from(verdict == Verdict::Retry), "{outcome:?}");
        }
    }

    #[test]
    fn retry_after_sets_the_next_attempt() {
        let mut record = queued();
        claim(Some(&mut record), NOW, None, true);
        let header = RetryAfter {
            value: "30",
            date_ms: None,
        };
        let settled = settle(&mut record, Outcome::Status(503), Some(header), now(), 0.9);
        assert_eq!(settled.retry_at.map(Timestamp::as_millis), Some(NOW + 30_000));
        assert_eq!((record.next_ms, record.leased_until), (NOW + 30_000, 0));
        assert!(!record.is_due(NOW, false));
        assert!(record.is_due(NOW, true));
        // An attempt of a due flush that got the lock behind the one that
        // failed finds the wait it set: not its turn; a call's or a forced
        // flush's sends.
        assert_eq!(claim(Some(&mut record.clone()), NOW + 10, None, false), Claim::NotMine);
        assert_eq!(claim(Some(&mut record.clone()), NOW + 30_000, None, false), Claim::Send);
        assert_eq!(claim(Some(&mut record), NOW + 10, None, true), Claim::Send);
    }

    #[test]
    fn accepted_elsewhere_settles_the_record() {
        let mut record = queued();
        assert_eq!(claim(Some(&mut record), NOW, Some(NOW - 5), true), Claim::Accepted);
        assert_eq!(record.accepted_ms, Some(NOW));
        // A record older than the TTL does not count.
        let mut other = queued();
        assert_eq!(claim(Some(&mut other), NOW, Some(NOW - TTL_MS), true), Claim::Send);
    }
}
