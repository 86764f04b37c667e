//! The outbound queue and the record of trackings already accepted, as
//! plain data: what to keep, what is due, what an attempt's verdict does.
//! The browser glue loads it from storage, calls these, and saves it.
//!
//! Stored as text, one record a line, fields separated by tabs (neither can
//! occur inside a field: control characters are refused in the tracking's
//! fields, and the JSON body escapes them).

use crate::options::DEFAULT_TIMEOUT_MS;
use crate::retry::Verdict;
use crate::text::{parse_integer, push_decimal, split};

/// The most trackings kept waiting; the oldest is dropped past it.
pub const MAX_QUEUED: usize = 100;
/// How long a tracking is kept waiting, and remembered as sent (7 days).
pub const TTL_MS: i64 = 7 * 24 * 3_600_000;
/// The most accepted trackings remembered (the reload guard).
pub const MAX_SENT: usize = 1_000;

/// A tracking waiting to be accepted. Its texts borrow from the stored
/// text or from the call that queued it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The idempotency key: the collector URL and the natural key
    /// (partnerKey, serviceName, customerId).
    pub id: &'a str,
    /// `{baseUrl}/api/SaasTrackings`.
    pub url: &'a str,
    /// The JSON body.
    pub body: &'a str,
    /// When it was first queued (epoch ms).
    pub created_ms: i64,
    /// Failed attempts so far.
    pub failures: u32,
    /// Not to be sent before this time (backoff, `Retry-After`).
    pub next_ms: i64,
    /// An attempt is in flight until this time (0: none).
    pub lease_ms: i64,
    /// The timeout of each attempt, as the call asked for.
    pub timeout_ms: u32,
}

/// The queue and the accepted set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State<'a> {
    /// Waiting trackings, oldest first.
    pub queue: Vec<Entry<'a>>,
    /// Accepted trackings' ids with when they were accepted, oldest first.
    pub sent: Vec<(&'a str, i64)>,
}

/// The idempotency key of a tracking sent to `url`.
pub fn id(url: &str, partner_key: &str, service_name: &str, customer_id: &str) -> String {
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

impl<'a> State<'a> {
    /// Reads stored text; lines that do not parse are skipped, so a damaged
    /// store loses at most those lines.
    pub fn decode(text: &'a str) -> State<'a> {
        let mut state = State::default();
        for line in split(text, b'\n') {
            let mut f = split(line, b'\t');
            match f.next() {
                Some("q") => {
                    let (Some(id), Some(url), Some(body)) = (f.next(), f.next(), f.next()) else {
                        continue;
                    };
                    // created, failures, next, lease and (absent from lines
                    // written before it was kept) the timeout.
                    let mut numbers = [0, 0, 0, 0, i64::from(DEFAULT_TIMEOUT_MS)];
                    let mut read = 0;
                    for (slot, text) in numbers.iter_mut().zip(&mut f) {
                        match parse_integer(text) {
                            Some(n) => *slot = n,
                            None => read = 9,
                        }
                        read += 1;
                    }
                    let [created_ms, failures, next_ms, lease_ms, timeout_ms] = numbers;
                    if let (4 | 5, Ok(failures), Ok(timeout_ms)) =
                        (read, u32::try_from(failures), u32::try_from(timeout_ms))
                    {
                        state.queue.push(Entry {
                            id,
                            url,
                            body,
                            created_ms,
                            failures,
                            next_ms,
                            lease_ms,
                            timeout_ms,
                        });
                    }
                }
                Some("s") => {
                    if let (Some(id), Some(Some(at))) = (f.next(), f.next().map(parse_integer)) {
                        state.sent.push((id, at));
                    }
                }
                _ => {}
            }
        }
        state
    }

    /// The text to store.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for e in &self.queue {
            for text in ["q", e.id, e.url, e.body] {
                out.push_str(text);
                out.push('\t');
            }
            for number in [e.created_ms, i64::from(e.failures), e.next_ms, e.lease_ms] {
                push_decimal(&mut out, number);
                out.push('\t');
            }
            push_decimal(&mut out, i64::from(e.timeout_ms));
            out.push('\n');
        }
        for (id, at) in &self.sent {
            out.push_str("s\t");
            out.push_str(id);
            out.push('\t');
            push_decimal(&mut out, *at);
            out.push('\n');
        }
        out
    }

    /// Drops waiting trackings and accepted records older than the TTL;
    /// returns how many waiting trackings expired.
    pub fn prune(&mut self, now: i64) -> usize {
        let before = self.queue.len();
        self.queue.retain(|e| now.saturating_sub(e.created_ms) < TTL_MS);
        self.sent.retain(|(_, at)| now.saturating_sub(*at) < TTL_MS);
        before - self.queue.len()
    }

    /// Whether the tracking was already accepted.
    pub fn was_sent(&self, id: &str) -> bool {
        self.sent.iter().any(|(sent, _)| *sent == id)
    }

    /// The waiting tracking with this id.
    pub fn find(&self, id: &str) -> Option<&Entry<'a>> {
        self.queue.iter().find(|e| e.id == id)
    }

    /// Queues a tracking unless it is already waiting; returns the oldest
    /// tracking dropped to stay within [`MAX_QUEUED`].
    pub fn enqueue(&mut self, entry: Entry<'a>) -> Option<Entry<'a>> {
        if self.find(entry.id).is_some() {
            return None;
        }
        self.queue.push(entry);
        (self.queue.len() > MAX_QUEUED).then(|| self.queue.remove(0))
    }

    /// Marks an attempt in flight until `until`; false when the tracking is
    /// not waiting or another attempt is already in flight.
    pub fn lease(&mut self, id: &str, now: i64, until: i64) -> bool {
        match self.queue.iter_mut().find(|e| e.id == id) {
            Some(e) if e.lease_ms <= now => {
                e.lease_ms = until;
                true
            }
            _ => false,
        }
    }

    /// Applies an attempt's verdict: accepted ones leave the queue and are
    /// remembered, rejected ones leave it, the others wait `delay_ms` more.
    pub fn settle(&mut self, id: &'a str, verdict: Verdict, now: i64, delay_ms: u64) {
        if verdict == Verdict::Retry {
            if let Some(e) = self.queue.iter_mut().find(|e| e.id == id) {
                e.failures = e.failures.saturating_add(1);
                e.next_ms = now.saturating_add(i64::try_from(delay_ms).unwrap_or(i64::MAX));
                e.lease_ms = 0;
            }
            return;
        }
        self.queue.retain(|e| e.id != id);
        if verdict == Verdict::Accepted && !self.was_sent(id) {
            self.sent.push((id, now));
            if self.sent.len() > MAX_SENT {
                self.sent.remove(0);
            }
        }
    }

    /// The trackings that may be sent now: no attempt is in flight and
    /// their wait is over (or `force`: a retry asked for by the provider, or
    /// the browser coming back online).
    pub fn due(&self, now: i64, force: bool) -> impl Iterator<Item = &Entry<'a>> {
        self.queue
            .iter()
            .filter(move |e| (force || e.next_ms <= now) && e.lease_ms <= now)
    }

    /// When the next waiting tracking becomes due, if any.
    pub fn next_due(&self, now: i64) -> Option<i64> {
        self.queue.iter().map(|e| e.next_ms.max(e.lease_ms).max(now)).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test texts live for the whole test run.
    fn keep(text: String) -> &'static str {
        Box::leak(text.into_boxed_str())
    }

    fn entry(n: usize, now: i64) -> Entry<'static> {
        let customer = format!("c{n}");
        Entry {
            id: keep(id("https://o.example/api/SaasTrackings", "pk", "svc", &customer)),
            url: "https://o.example/api/SaasTrackings",
            body: keep(format!("{{\"customerId\":\"{customer}\\t\"}}")),
            created_ms: now,
            failures: 0,
            next_ms: now,
            lease_ms: 0,
            timeout_ms: 5_000,
        }
    }

    #[test]
    fn round_trips_through_text_and_skips_damage() {
        let mut s = State::default();
        s.enqueue(entry(1, 10));
        s.enqueue(entry(2, 20));
        s.settle(entry(2, 0).id, Verdict::Accepted, 30, 0);
        let text = s.encode();
        assert_eq!(State::decode(&text), s);
        let damaged = format!("garbage\nq\tonly\ttwo\ns\tx\tnot-a-number\n{text}\u{0}");
        assert_eq!(State::decode(&damaged).queue, s.queue);
        assert_eq!(State::decode("").queue.len(), 0);
    }

    #[test]
    fn lines_without_a_timeout_take_the_default() {
        let state = State::decode("q\tid\thttps://o.example/api/SaasTrackings\t{}\t1\t0\t2\t0\n");
        assert_eq!(state.queue.first().map(|e| e.timeout_ms), Some(DEFAULT_TIMEOUT_MS));
        let with = State::decode("q\tid\tu\t{}\t1\t0\t2\t0\t1500\n");
        assert_eq!(with.queue.first().map(|e| e.timeout_ms), Some(1_500));
        assert!(State::decode("q\tid\tu\t{}\t1\t0\t2\t0\t-1\n").queue.is_empty());
    }

    #[test]
    fn bounded_and_deduplicated() {
        let mut s = State::default();
        for n in 0..MAX_QUEUED {
            assert_eq!(s.enqueue(entry(n, n as i64)), None);
        }
        assert_eq!(s.enqueue(entry(5, 999)), None, "already waiting: not added twice");
        let dropped = s.enqueue(entry(MAX_QUEUED, 1_000));
        assert_eq!(dropped.map(|e| e.created_ms), Some(0), "the oldest goes");
        assert_eq!(s.queue.len(), MAX_QUEUED);
    }

    #[test]
    fn verdicts_move_entries() {
        let mut s = State::default();
        let e = entry(1, 0);
        s.enqueue(e);
        let due = |s: &State<'static>, at, force| s.due(at, force).map(|e| e.id).collect::<Vec<_>>();
        assert!(s.lease(e.id, 0, 60_000));
        assert!(!s.lease(e.id, 1_000, 61_000), "one attempt at a time");
        assert!(due(&s, 1_000, false).is_empty());
        assert!(due(&s, 1_000, true).is_empty(), "not even forced while in flight");
        s.settle(e.id, Verdict::Retry, 2_000, 5_000);
        assert_eq!(
            s.find(e.id).map(|e| (e.failures, e.next_ms, e.lease_ms)),
            Some((1, 7_000, 0))
        );
        assert!(due(&s, 6_999, false).is_empty());
        assert_eq!(due(&s, 6_999, true), vec![e.id]);
        assert_eq!(due(&s, 7_000, false), vec![e.id]);
        assert_eq!(s.next_due(3_000), Some(7_000));
        s.settle(e.id, Verdict::Accepted, 8_000, 0);
        assert!(s.find(e.id).is_none());
        assert!(s.was_sent(e.id));
        s.enqueue(entry(2, 0));
        s.settle(entry(2, 0).id, Verdict::Rejected, 9_000, 0);
        assert!(s.queue.is_empty());
        assert!(!s.was_sent(entry(2, 0).id));
    }

    #[test]
    fn expires_after_the_ttl() {
        let mut s = State::default();
        s.enqueue(entry(1, 0));
        s.enqueue(entry(2, TTL_MS));
        s.settle(entry(2, 0).id, Verdict::Accepted, 0, 0);
        s.enqueue(entry(3, TTL_MS));
        assert_eq!(s.prune(TTL_MS), 1);
        assert_eq!(s.queue.len(), 1);
        assert!(!s.was_sent(entry(2, 0).id));
    }
}
