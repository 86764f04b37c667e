//! The README's promises, checked as a request starts
//! ([`starting`]: never while another attempt at the tracking is in flight
//! within its lease, never after an engine read the collector's 2xx for it
//! within the 7 days it is remembered, every POST under the tracking's
//! lock but a leaving page's) and as the collector stores one ([`stored`]:
//! never for a visitor the marketplace did not refer). What a whole
//! schedule must come to is checked by the test that runs it.

use onramp_core::engine::Mode;
use onramp_core::queue::{Record, MAX_LEASE_MS};
use onramp_core::tracking::Tracking;

use super::executor::{self, Doing};
use super::world::{key_of, World};
use super::TTL_MS;

/// Reads a request's body as the collector does, strictly (the four
/// fields, nothing else, every one a string), and checks it against the
/// tracking called: the same fields, in the order and with the escapes
/// `JSON.stringify` writes (serde_json writes the same text). The
/// tracking's customer, which keys the world's checks.
pub fn body(w: &mut World, body: &str) -> String {
    let tracking: Tracking = serde_json::from_str(body).expect("a body the collector reads");
    let key = tracking.customer_id.clone();
    let called = w.called.get(&key).is_some_and(|called| called.contains(&tracking));
    if !called || serde_json::to_string(&tracking).ok().as_deref() != Some(body) {
        let t = w.t;
        w.violations.push(format!(
            "t={t}: a body that is not the tracking called, as JSON.stringify writes it: {body}"
        ));
    }
    key
}

/// Checks the promises as `tab` starts a request (a beacon: `beacon`) for
/// the tracking `key`; returns until when this page's lease holds it
/// (without Web Locks), for the checks of later requests.
pub fn starting(w: &mut World, tab: usize, key: &str, beacon: bool) -> i64 {
    let key = key.to_owned();
    let wall = w.wall();
    let now_ms = wall.floor() as i64;
    let locked = match &w.locks {
        Some(locks) => locks
            .iter()
            .any(|(name, l)| key_of(name) == key && l.holder.is_some() && l.holder_tab == tab),
        None => w.held_leases.contains(&(tab, key.clone())),
    };
    // Without Web Locks: until when this page's lease holds, by the wall
    // clock (a clock set forward ends it early: a README limit).
    let lease_ends = w
        .leases
        .iter()
        .find(|(name, &(_, by, _))| key_of(name) == key && by == tab)
        .map_or(i64::MIN, |(_, &(until, _, _))| until);
    let lease_holds = |until: i64| now_ms < until && until - now_ms <= MAX_LEASE_MS;
    let (seen_accepted, seen_in_flight) = {
        let tab = &w.tabs[tab];
        // As the host read it: this page's memory first, then its view; for
        // a POST, as it was before the engine wrote its claim.
        let seen: Vec<&Record> = tab
            .memory
            .keys()
            .chain(tab.view.keys())
            .filter(|id| key_of(id) == key)
            .filter_map(|id| match tab.before.get(id) {
                Some(before) if !beacon => before.record.as_ref(),
                _ => tab.memory.get(id).or_else(|| tab.view.get(id)?.1.as_ref()),
            })
            .collect();
        // A beacon's call may have written a new record over an accepted
        // one just now: what the page saw before that counts too.
        let replaced = tab
            .before
            .iter()
            .filter(|(id, _)| beacon && key_of(id) == key)
            .filter_map(|(_, before)| before.record.as_ref());
        (
            seen.iter().copied().chain(replaced).any(|r| r.was_accepted(now_ms)),
            seen.iter().any(|r| r.in_flight(now_ms)),
        )
    };
    let by_design_unlocked = beacon || w.tabs[tab].leaving;
    let informed = !by_design_unlocked && locked;
    // Every POST goes under the tracking's lock, but those of a page being
    // left (it may not live to get the lock).
    if !by_design_unlocked && !locked {
        let t = w.t;
        w.violations.push(format!("t={t}: {key} sent without its lock"));
    }
    // Never while another attempt at it is in flight within its lease: a
    // live page's (which holds the lock), or a dead page's that this page
    // could see in flight (its lease is in `localStorage`, which another
    // tab's write reaches late, or never where storage refused it).
    let overlapping = w.sent.iter().find(|p| {
        p.key == key
            && !p.beacon
            && !p.concluded
            && p.started_wall <= wall
            && wall < p.lease_until_wall
            // A lease is kept by the visitor's clock: one set forward by more
            // than the lease ends it early (a README limit).
            && w.t < p.started_t + (p.lease_until_wall - p.started_wall)
            && (w.locks.is_some() || (lease_holds(p.lease_ends) && lease_holds(lease_ends)))
            && if w.tabs[p.tab].alive {
                !by_design_unlocked || seen_in_flight
            } else {
                p.claim_shared && seen_in_flight
            }
    });
    if let Some(p) = overlapping {
        let t = w.t;
        let line = format!(
            "t={t}: {key} sent by tab {tab} while tab {}'s attempt at it is in flight (its page {}, lease {}, now {now_ms}; this page {}, saw it in flight: {seen_in_flight})",
            p.tab,
            if w.tabs[p.tab].alive { "alive" } else { "gone" },
            p.lease_ends,
            if informed { "under its lock" } else if by_design_unlocked { "unlocked by design" } else { "unlocked" },
        );
        w.violations.push(line);
    }
    // Sent again after it was accepted, as far as the sender could know:
    // its own view of the queue says so, or (under the lock) the accepted
    // set does, or an engine read the collector's 2xx and its page lived on
    // long enough to record it.
    let in_accepted_set = w
        .accepted
        .iter()
        .any(|(id, &at)| key_of(id) == key && now_ms.saturating_sub(at) < TTL_MS);
    let recorded = w.owed.get(&key).is_some_and(|owed| {
        owed.reads.iter().any(|&(read_at, by, read_wall)| {
            w.t >= read_at + 1_000.0
                && w.tabs[by].closed_at.is_none_or(|closed| closed >= read_at + 1_000.0)
                && owed.latest_wall - read_wall < TTL_MS as f64
        })
    });
    if seen_accepted || (informed && (in_accepted_set || recorded)) {
        let t = w.t;
        w.violations
            .push(format!("t={t}: {key} sent again after it was accepted"));
    }
    let doing = executor::doing();
    // A retry of the pixel's own (on load, the timer, a hidden page) never
    // comes before the collector's `Retry-After`, as far as the page knows
    // of it (it read it, or its view of the queue held the wait stored
    // when it claimed the tracking), unless the clock moved since. `flush()` and the browser back
    // online send everything now, as the README says, and a new call is
    // not a retry.
    if let Some(read) = w.retry_afters.remove(&key) {
        let knows = read.tab == tab
            || read.write.is_some_and(|write| {
                w.tabs[tab]
                    .before
                    .iter()
                    .any(|(id, seen)| key_of(id) == key && seen.write.is_some_and(|seen| seen >= write))
            });
        // A record queued since (the one read about expired, a new call made
        // another) is a new tracking, not a retry.
        let read_at = read.until - 30_000;
        let same = w.tabs[tab]
            .before
            .iter()
            .any(|(id, r)| key_of(id) == key && r.record.as_ref().is_some_and(|r| r.created_ms < read_at));
        if doing == Some(Doing::Flush(Mode::Due))
            && !beacon
            && knows
            && same
            && read.skew == w.skew
            && now_ms < read.until
        {
            let (t, until) = (w.t, read.until);
            w.violations.push(format!(
                "t={t}: {key} sent at {now_ms}, before the collector's Retry-After (until {until})"
            ));
        }
    }
    // A page being left sends only what never failed (the next page sends
    // the rest under its lock), as far as it saw the record before its
    // claim.
    if doing == Some(Doing::Flush(Mode::Leaving)) && !beacon {
        let tab_state = &w.tabs[tab];
        let failed = tab_state
            .before
            .iter()
            .any(|(id, before)| key_of(id) == key && before.record.as_ref().is_some_and(|r| r.failures > 0));
        if failed {
            let t = w.t;
            w.violations.push(format!(
                "t={t}: {key} sent by a page being left after an attempt at it failed"
            ));
        }
    }
    lease_ends
}

/// The collector stores the tracking `key`.
pub fn stored(w: &mut World, key: &str) {
    if w.not_referred.contains(key) {
        let t = w.t;
        w.violations.push(format!(
            "t={t}: {key} reached the collector for a visitor the marketplace did not refer"
        ));
    }
}
