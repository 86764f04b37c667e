//! The network and the collector: a request (or beacon) leaves, reaches
//! the collector after a latency (or dies with its page unless it is
//! `keepalive`), and the answer comes back to a page still alive to read
//! it, or its timeout does first. The collector answers as the schedule's
//! mood says: 201 for a new tracking, 200 for a repeat, 503, 429 with
//! `Retry-After: 30`, 422, no connection, or an answer after 90 s.

use std::cell::RefCell;
use std::rc::Rc;

use onramp_core::host::{Reply, Request};
use onramp_core::steps::Outcome;

use super::executor::Slot;
use super::oracle;
use super::trace;
use super::world::{Collector, RetryAfterRead, Sent, World, HANG_MS};

/// Starts a POST (or a beacon) in the world; the oracle checks the
/// promises as it starts ([`oracle::starting`]).
pub fn send(world: &Rc<RefCell<World>>, tab: usize, request: Request<'_>, beacon: bool) -> usize {
    let mut w = world.borrow_mut();
    let key = oracle::body(&mut w, request.body);
    w.version += 1;
    let wall = w.wall();
    let lease_ends = oracle::starting(&mut w, tab, &key, beacon);
    let slot = Slot::new();
    let index = w.sent.len();
    let claim_shared = !w.storage_full;
    let started_t = w.t;
    trace(w.t, || {
        format!(
            "tab {tab} sends {key} as #{index}{}",
            if beacon { " (beacon)" } else { "" }
        )
    });
    w.sent.push(Sent {
        key,
        tab,
        beacon,
        keepalive: request.keepalive,
        started_wall: wall,
        lease_until_wall: wall + f64::from(request.timeout_ms) + 2_000.0,
        started_t,
        lease_ends,
        concluded: false,
        claim_shared,
        arrived: false,
        slot,
    });
    let delay = if w.collector == Collector::Hangs {
        HANG_MS
    } else {
        w.latency()
    };
    w.at(delay, Box::new(move |w| land(w, index)));
    if !beacon {
        w.at(
            f64::from(request.timeout_ms),
            Box::new(move |w| {
                let sent = &w.sent[index];
                if w.tabs[sent.tab].alive && sent.slot.fill(reply(Outcome::Timeout, None)) {
                    trace(w.t, || format!("#{index} times out"));
                    // Its page settles it: the wait it sets replaces a
                    // `Retry-After` read before.
                    let key = sent.key.clone();
                    w.retry_afters.remove(&key);
                }
            }),
        );
    }
    index
}

fn reply(outcome: Outcome, retry_after: Option<&str>) -> Reply {
    Reply {
        outcome,
        retry_after: retry_after.map(str::to_owned),
        retry_after_date_ms: None,
        text: String::new(),
    }
}

/// The request reaches the collector (unless its page died and it was not
/// a keepalive request).
pub fn land(w: &mut World, index: usize) {
    let (tab, keepalive, beacon) = {
        let s = &w.sent[index];
        (s.tab, s.keepalive, s.beacon)
    };
    w.sent[index].arrived = true;
    if !w.tabs[tab].alive && !keepalive {
        // The README: requests outlive the page that sent them.
        let t = w.t;
        trace(t, || format!("#{index} dies with its page"));
        w.violations
            .push(format!("t={t}: #{index} died with its page (not a keepalive request)"));
        return;
    }
    let key = w.sent[index].key.clone();
    trace(w.t, || format!("#{index} reaches the collector ({:?})", w.collector));
    let outcome = match w.collector {
        Collector::Down => Outcome::Network,
        Collector::Unavailable => Outcome::Status(503),
        Collector::Limited => Outcome::Status(429),
        Collector::Refuses => Outcome::Status(422),
        Collector::Up | Collector::Hangs => {
            let t = w.t;
            oracle::stored(w, &key);
            let owed = w.owed.entry(key.clone()).or_default();
            owed.deliveries += 1;
            let status = if owed.stored_at.is_some() { 200 } else { 201 };
            owed.stored_at.get_or_insert(t);
            if owed.deliveries > 1 {
                w.explained_duplicates += 1;
            }
            Outcome::Status(status)
        }
    };
    if let Some(owed) = w.owed.get_mut(&key) {
        match outcome {
            Outcome::Status(422) => owed.refused = true,
            Outcome::Status(200..=299) => {}
            _ if beacon => owed.beacon_lost = true,
            _ => {}
        }
    }
    if beacon {
        return;
    }
    let retry_after = (outcome == Outcome::Status(429)).then_some("30");
    let answer = reply(outcome, retry_after);
    let delay = w.latency();
    w.at(
        delay,
        Box::new(move |w| {
            let sent = &w.sent[index];
            if w.tabs[sent.tab].alive && sent.slot.fill(answer) {
                trace(w.t, || format!("#{index} answered {outcome:?}"));
                let (t, wall, tab, key) = (w.t, w.wall(), sent.tab, sent.key.clone());
                match outcome {
                    Outcome::Status(200..=299) => w.owed.entry(key).or_default().reads.push((t, tab, wall)),
                    Outcome::Status(429) => {
                        let read = RetryAfterRead {
                            tab,
                            until: wall.floor() as i64 + 30_000,
                            skew: w.skew,
                            write: None,
                        };
                        w.retry_afters.insert(key, read);
                    }
                    // The wait this answer sets replaces one read before.
                    _ => {
                        w.retry_afters.remove(&key);
                    }
                }
            }
        }),
    );
}
