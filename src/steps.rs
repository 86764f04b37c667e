//! Each step of a tracking's life as a pure function over the stored
//! [`State`]: admitting a call, claiming an attempt, settling its outcome,
//! picking what a flush sends. The glue loads the state, calls one step,
//! saves the state and hands the step's answer (a JSON object) to the JS side,
//! which only does the I/O: locks, IndexedDB, `fetch`, `sendBeacon`, timers.

use crate::error::Error;
use crate::json::{self, Object};
use crate::outbound::Outbound;
use crate::queue::{Entry, State, TTL_MS};
use crate::retry::{self, RetryAfter, Verdict};
use crate::time::Timestamp;

/// How much longer than its timeout an attempt holds its lease.
pub const LEASE_SLACK_MS: i64 = 2_000;

/// Where a new call stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// This browser delivered it already (the reload guard): nothing to send.
    AlreadySent,
    /// An attempt is in flight (another tab, or an earlier call): it settles it.
    InFlight,
    /// Queued (or still queued) and free: send it now. `dropped` when the
    /// queue was full and lost its oldest tracking.
    Queued {
        /// The oldest waiting tracking was dropped to make room.
        dropped: bool,
    },
}

impl Admission {
    const fn name(self) -> &'static str {
        match self {
            Admission::AlreadySent => "sent",
            Admission::InFlight => "busy",
            Admission::Queued { .. } => "go",
        }
    }
}

/// Queues a validated call before anything is sent.
pub fn admit<'a>(state: &mut State<'a>, outbound: &'a Outbound, now: i64) -> Admission {
    let id = outbound.id.as_str();
    state.prune(now);
    if state.was_sent(id) {
        return Admission::AlreadySent;
    }
    if state.find(id).is_some_and(|e| e.lease_ms > now) {
        return Admission::InFlight;
    }
    let dropped = state
        .enqueue(Entry {
            id,
            url: &outbound.url,
            body: &outbound.body,
            created_ms: now,
            failures: 0,
            next_ms: now,
            lease_ms: 0,
            timeout_ms: outbound.timeout_ms,
        })
        .is_some();
    Admission::Queued { dropped }
}

/// The plan the JS side follows for an admitted call:
/// `{id, url, body, timeoutMs, transport, fallback, state, dropped}`.
pub fn plan(outbound: &Outbound, admission: Admission) -> Object {
    Object::new()
        .string("id", &outbound.id)
        .string("url", &outbound.url)
        .string("body", &outbound.body)
        .integer("timeoutMs", i64::from(outbound.timeout_ms))
        .string("transport", outbound.transport.name())
        .string_or_null("fallback", outbound.transport.fallback().map(|t| t.name()))
        .string("state", admission.name())
        .boolean("dropped", matches!(admission, Admission::Queued { dropped: true }))
}

/// What an attempt finds once it may send (it holds the tracking's lock,
/// where there are locks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Still waiting and free: leased to this attempt, send it.
    Go = 0,
    /// Accepted already, in this tab or another: nothing to send.
    Accepted = 1,
    /// Another attempt is in flight, or it left the queue meanwhile: not
    /// this attempt's job.
    Busy = 2,
}

/// Claims a waiting tracking for one attempt. `accepted_at` is when the
/// accepted set in IndexedDB (consistent across tabs, unlike
/// `localStorage`) says it was accepted, if it does.
pub fn claim<'a>(state: &mut State<'a>, id: &'a str, now: i64, timeout_ms: u32, accepted_at: Option<i64>) -> Claim {
    if accepted_at.is_some_and(|at| now.saturating_sub(at) < TTL_MS) {
        state.settle(id, Verdict::Accepted, now, 0);
        return Claim::Accepted;
    }
    if state.was_sent(id) {
        return Claim::Accepted;
    }
    let until = now.saturating_add(i64::from(timeout_ms)).saturating_add(LEASE_SLACK_MS);
    if state.lease(id, now, until) {
        Claim::Go
    } else {
        Claim::Busy
    }
}

/// How an attempt ended, as the JS side reports it.
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

impl Outcome {
    /// The JS side's code: an HTTP status (100 to 599), 0 network error,
    /// 1 timeout, 2 delivered (beacon taken), 3 transport unavailable.
    /// Anything else counts as a network error.
    pub fn from_code(code: f64) -> Outcome {
        match code {
            c if (100.0..600.0).contains(&c) && c.fract() == 0.0 => Outcome::Status(c as u16),
            1.0 => Outcome::Timeout,
            2.0 => Outcome::Delivered,
            3.0 => Outcome::Unavailable,
            _ => Outcome::Network,
        }
    }
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

/// Records an attempt's outcome in the queue. `retry_after` is the
/// collector's `Retry-After` header; `random` in `[0, 1)` draws the jitter.
pub fn settle<'a>(
    state: &mut State<'a>,
    id: &'a str,
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
    let failures = state.find(id).map_or(0, |e| e.failures).saturating_add(1);
    let retry_after = retry_after.and_then(|header| retry::retry_after_ms(header, now));
    let delay = retry::next_delay_ms(failures, random, retry_after);
    state.settle(id, verdict, now_ms, delay);
    let retry_at = state
        .find(id)
        .and_then(|e| Timestamp::from_epoch_ms(e.next_ms as f64).ok());
    Settled {
        verdict,
        retry_at,
        error,
    }
}

impl Settled {
    /// `{verdict, retryAt, error}` for the JS side.
    pub fn answer(&self) -> Object {
        let verdict = match self.verdict {
            Verdict::Accepted => "accepted",
            Verdict::Rejected => "rejected",
            Verdict::Retry => "retry",
        };
        let retry_at = self.retry_at.map(Timestamp::to_rfc3339);
        let error = self.error.as_ref().map(json::error);
        Object::new()
            .string("verdict", verdict)
            .string_or_null("retryAt", retry_at.as_deref())
            .raw("error", error.as_deref().unwrap_or("null"))
    }
}

/// What a flush sends: drops what expired, then lists the trackings that
/// are due (all that are not in flight when `force`) as
/// `{expired, due: [{id, url, body, timeoutMs}]}`.
pub fn due(state: &mut State, now: i64, force: bool) -> Object {
    let expired = state.prune(now);
    let mut list = String::from("[");
    for e in state.due(now, force) {
        if list.len() > 1 {
            list.push(',');
        }
        list.push_str(
            &Object::new()
                .string("id", e.id)
                .string("url", e.url)
                .string("body", e.body)
                .integer("timeoutMs", i64::from(e.timeout_ms))
                .finish(),
        );
    }
    list.push(']');
    Object::new().integer("expired", expired as i64).raw("due", &list)
}

/// Milliseconds until the next waiting tracking is due; `None` when
/// nothing waits.
pub fn next_due_in(state: &State, now: i64) -> Option<i64> {
    state.next_due(now).map(|at| at.saturating_sub(now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Transport;
    use crate::outbound::CallInput;
    use crate::tracking::PurchasedAt;

    const NOW: i64 = 1_795_718_581_000;

    fn now() -> Timestamp {
        Timestamp::from_epoch_ms(NOW as f64).expect("a valid time")
    }

    fn outbound(customer_id: &str) -> Outbound {
        let input = CallInput {
            partner_key: Some("pk"),
            service_name: Some("Svc"),
            customer_id: Some(customer_id),
            purchased_at: Some(PurchasedAt::Text("2026-11-26")),
            base_url: Some("https://collector.example"),
            timeout_ms: None,
            transport: None,
        };
        Outbound::prepare(input, now()).expect("a valid call")
    }

    fn parse(text: &str) -> serde_json::Value {
        serde_json::from_str(text).expect("valid JSON")
    }

    #[test]
    fn a_call_is_queued_then_claimed_then_settled() {
        let mut state = State::default();
        let out = outbound("c1");
        let id = out.id.clone();
        let admission = admit(&mut state, &out, NOW);
        assert_eq!(admission, Admission::Queued { dropped: false });
        let plan = parse(&plan(&out, admission).finish());
        assert_eq!(plan["state"], "go");
        assert_eq!(plan["url"], "https://collector.example/api/SaasTrackings");
        assert_eq!(plan["timeoutMs"], 60_000);
        assert_eq!(plan["transport"], Transport::Auto.name());
        assert_eq!(plan["fallback"], "beacon");
        assert_eq!(parse(plan["body"].as_str().unwrap_or(""))["customerId"], "c1");

        assert_eq!(claim(&mut state, &id, NOW, 1_000, None), Claim::Go);
        assert_eq!(admit(&mut state, &out, NOW + 10), Admission::InFlight);
        assert_eq!(claim(&mut state, &id, NOW + 10, 1_000, None), Claim::Busy);

        let settled = settle(&mut state, &id, Outcome::Status(201), None, now(), 0.5);
        assert_eq!(settled.verdict, Verdict::Accepted);
        assert_eq!(settled.retry_at, None);
        assert!(state.queue.is_empty());
        assert_eq!(admit(&mut state, &out, NOW + 20), Admission::AlreadySent);
        assert_eq!(claim(&mut state, &id, NOW + 20, 1_000, None), Claim::Accepted);
    }

    #[test]
    fn outcomes_map_to_verdicts_and_errors() {
        let cases = [
            (503.0, Verdict::Retry, None),
            (429.0, Verdict::Retry, None),
            (400.0, Verdict::Rejected, Some("rejected")),
            (0.0, Verdict::Retry, Some("network_error")),
            (1.0, Verdict::Retry, Some("timeout")),
            (2.0, Verdict::Accepted, None),
            (3.0, Verdict::Rejected, Some("transport_unavailable")),
            (f64::NAN, Verdict::Retry, Some("network_error")),
            (200.5, Verdict::Retry, Some("network_error")),
        ];
        for (code, verdict, error) in cases {
            let out = outbound("c");
            let id = out.id.clone();
            let mut state = State::default();
            admit(&mut state, &out, NOW);
            let settled = settle(&mut state, &id, Outcome::from_code(code), None, now(), 0.0);
            assert_eq!(settled.verdict, verdict, "code {code}");
            assert_eq!(settled.error.as_ref().map(Error::code), error, "code {code}");
            let text = parse(&settled.answer().finish());
            assert_eq!(text["error"]["code"].as_str(), error, "code {code}");
            assert_eq!(settled.retry_at.is_some(), verdict == Verdict::Retry, "code {code}");
        }
    }

    #[test]
    fn retry_after_sets_the_next_attempt() {
        let out = outbound("c");
        let id = out.id.clone();
        let mut state = State::default();
        admit(&mut state, &out, NOW);
        let header = RetryAfter {
            value: "30",
            date_ms: None,
        };
        let settled = settle(&mut state, &id, Outcome::Status(503), Some(header), now(), 0.9);
        assert_eq!(settled.retry_at.map(Timestamp::as_millis), Some(NOW + 30_000));
        assert_eq!(next_due_in(&state, NOW), Some(30_000));
        let waiting = parse(&due(&mut state, NOW, false).finish());
        assert_eq!(waiting["due"].as_array().map(Vec::len), Some(0));
        let forced = parse(&due(&mut state, NOW, true).finish());
        assert_eq!(forced["due"][0]["id"], id.as_str());
        assert_eq!(forced["due"][0]["timeoutMs"], 60_000, "the call's timeout is kept");
        assert_eq!(forced["expired"], 0);
    }

    #[test]
    fn retries_keep_the_call_s_timeout() {
        let mut out = outbound("c");
        out.timeout_ms = 2_500;
        let id = out.id.clone();
        let mut state = State::default();
        admit(&mut state, &out, NOW);
        let text = state.encode();
        let stored = State::decode(&text);
        let listed = parse(&due(&mut state, NOW, true).finish());
        assert_eq!(listed["due"][0]["timeoutMs"], 2_500);
        assert_eq!(stored.find(&id).map(|e| e.timeout_ms), Some(2_500));
    }

    #[test]
    fn accepted_elsewhere_settles_the_entry() {
        let (c, d) = (outbound("c"), outbound("d"));
        let (id_c, id_d) = (c.id.clone(), d.id.clone());
        let mut state = State::default();
        admit(&mut state, &c, NOW);
        assert_eq!(claim(&mut state, &id_c, NOW, 1_000, Some(NOW - 5)), Claim::Accepted);
        assert!(state.queue.is_empty());
        assert!(state.was_sent(&id_c));
        // A record older than the TTL does not count.
        admit(&mut state, &d, NOW);
        assert_eq!(claim(&mut state, &id_d, NOW, 1_000, Some(NOW - TTL_MS)), Claim::Go);
    }

    #[test]
    fn expired_trackings_are_counted_out() {
        let out = outbound("c");
        let mut state = State::default();
        admit(&mut state, &out, NOW - TTL_MS);
        let listed = parse(&due(&mut state, NOW, true).finish());
        assert_eq!(listed["expired"], 1);
        assert_eq!(next_due_in(&state, NOW), None);
    }
}
