//! The delivery engine in a simulated world (see `sim/mod.rs`), over many
//! seeded schedules of tabs that call, reload, are left mid-attempt or
//! crash, of a collector that fails in every way it can, of storage that
//! fills up and of clocks that jump by days. After each schedule the
//! collector comes back, a page opens, and the README's promises are
//! checked:
//!
//! - every tracking a page accepted is delivered, unless the README's
//!   limits say why not (refused for good by the collector, a beacon the
//!   collector could not take, storage refused it and its page closed, or
//!   it waited longer than 7 days);
//! - no attempt starts while another attempt at the same tracking is in
//!   flight within its lease, and none after an engine read the
//!   collector's 2xx for it (within the 7 days it is remembered);
//! - a call with `requireReferral` for a visitor the marketplace did not
//!   refer (none kept, an expired one) is skipped, and never reaches the
//!   collector; one for a referred visitor goes on as any other;
//! - the timer wakes a bounded number of times per hour;
//! - nothing panics.
//!
//! `ONRAMP_SIM_SCHEDULES` sets how many schedules run (100,000 in a release
//! build, 2,000 otherwise); a failing seed prints itself, and
//! `ONRAMP_SIM_SEED=N` replays it alone.
//!
//! The schedules are the same on every run, and so are the figures a run
//! prints: `docs/delivery.md` shows them, and a run of the default schedules
//! fails when the page shows others (`ONRAMP_SIM_WRITE_DOCS=1` writes them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod sim;

use std::panic::{catch_unwind, AssertUnwindSafe};

use onramp_core::host::PageEvent;
use onramp_core::outbound::CallInput;
use onramp_core::referral::{Kept, Source, DAY_MS};
use sim::{day, hour, Collector, Planted, Rng, Sim, World, TTL_MS};

/// The most times a page's timer may wake in one hour of its life.
const MAX_WAKEUPS_PER_HOUR: f64 = 1_000.0;

/// What one schedule found.
#[derive(Default, Debug)]
struct Found {
    calls: u32,
    /// Calls of visitors the marketplace did not refer, skipped by the gate.
    skipped: u32,
    delivered: u32,
    lost: Vec<String>,
    violations: Vec<String>,
    /// Trackings not delivered for a reason the README gives: refused for
    /// good by the collector, a beacon it could not take, only in a closed
    /// page's memory, older than 7 days.
    given_up: [u32; 4],
    /// Deliveries the collector saw twice for a reason the README gives.
    explained_duplicates: u32,
    /// How long after the call each delivery came, in virtual ms, and how
    /// long after the collector could take it.
    delays: Vec<f64>,
    wakeups: u32,
    polls: u64,
}

/// Runs schedule `seed`.
fn schedule(seed: u64) -> Found {
    planted_schedule(seed, Planted::Nothing)
}

/// Runs schedule `seed` with a bug planted in the simulated host.
fn planted_schedule(seed: u64, planted: Planted) -> Found {
    let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(7));
    let with_locks = rng.chance(0.7);
    let lag = [0.0, 5.0, 30.0][rng.below(3) as usize];
    let mut world = World::new(seed, with_locks, lag);
    world.planted = planted;
    let mut sim = Sim::new(world);
    let customers = ["c1", "c2", "c3", "c4", "c5"];
    let first = sim.open();
    let mut open = vec![first];
    let steps = 10 + rng.below(40);
    for _ in 0..steps {
        if rng.chance(SCENES) {
            let customer = customers[rng.below(customers.len() as u64) as usize];
            scene(&mut sim, &mut rng, &mut open, customer);
            continue;
        }
        let roll = rng.below(100);
        let tab = open.get(rng.below(open.len() as u64) as usize).copied();
        match (roll, tab) {
            (0..=24, Some(tab)) => {
                let customer = customers[rng.below(customers.len() as u64) as usize];
                let beacon = rng.chance(0.1);
                let timeout = if rng.chance(0.7) { 60_000.0 } else { 5_000.0 };
                if rng.chance(0.2) {
                    // requireReferral: a visitor the marketplace referred
                    // (within the window) is owed; one it did not (none kept,
                    // a damaged one, an expired one) must never be sent.
                    let wall = sim.world.borrow().wall() as i64;
                    let (kept, referred) = match rng.below(4) {
                        0 => (None, false),
                        1 => (
                            Some(Kept::new(Source::Server, None, wall - 40 * DAY_MS, 30).referral),
                            false,
                        ),
                        2 => (
                            Some(Kept::new(Source::Param, None, wall - 40 * DAY_MS, 39).referral),
                            false,
                        ),
                        _ => (
                            Some(Kept::new(Source::Referrer, Some("m-1"), wall - DAY_MS, 30).referral),
                            true,
                        ),
                    };
                    let customer = if referred {
                        customer
                    } else {
                        ["nr1", "nr2"][rng.below(2) as usize]
                    };
                    let input = CallInput {
                        require_referral: Some(true),
                        ..sim::input(customer, beacon, timeout)
                    };
                    sim.call_referred(tab, input, kept, referred);
                } else {
                    sim.call(tab, customer, beacon, timeout);
                }
            }
            (25..=44, _) => sim.wait(rng.between(0.0, 200.0)),
            (45..=54, _) => sim.wait(rng.between(200.0, 120_000.0)),
            (55..=59, Some(tab)) => {
                // Reloaded: left, and the same page again.
                sim.close(tab, rng.chance(0.7));
                open.retain(|&t| t != tab);
                open.push(sim.open());
            }
            (60..=63, Some(tab)) => {
                // Left (or crashed) for good.
                sim.close(tab, rng.chance(0.6));
                open.retain(|&t| t != tab);
                if open.is_empty() && rng.chance(0.5) {
                    sim.wait(rng.between(0.0, 3.0 * hour()));
                }
            }
            (64..=68, _) if open.len() < 4 => open.push(sim.open()),
            (69..=71, Some(tab)) => sim.event(tab, PageEvent::Hidden),
            (72..=73, Some(tab)) => sim.event(tab, PageEvent::Online),
            (74..=85, _) => {
                let collector = match rng.below(10) {
                    0..=3 => Collector::Up,
                    4..=5 => Collector::Down,
                    6 => Collector::Hangs,
                    7 => Collector::Unavailable,
                    8 => Collector::Limited,
                    _ => Collector::Refuses,
                };
                let mut w = sim.world.borrow_mut();
                sim::trace(w.t, || format!("the collector: {collector:?}"));
                w.collector = collector;
            }
            (86..=89, _) => {
                let mut w = sim.world.borrow_mut();
                w.storage_full = !w.storage_full;
                sim::trace(w.t, || format!("storage full: {}", w.storage_full));
            }
            (90..=94, _) => {
                let by = match rng.below(4) {
                    0 => rng.between(-3.0 * day(), 3.0 * day()),
                    1 => rng.between(-hour(), hour()),
                    2 => rng.between(6.0 * day(), 9.0 * day()),
                    _ => rng.between(-60_000.0, 60_000.0),
                };
                sim.world.borrow_mut().jump_clock(by);
            }
            _ => sim.wait(rng.between(0.0, 5_000.0)),
        }
    }
    // The end: the collector is back, storage works, a page opens and
    // virtual time runs on for a few hours.
    {
        let mut w = sim.world.borrow_mut();
        w.collector = Collector::Up;
        w.storage_full = false;
    }
    let up_at = sim.world.borrow().t;
    if rng.chance(0.5) {
        for tab in open.clone() {
            sim.close(tab, rng.chance(0.5));
        }
    }
    // When each waiting tracking is due, as the page about to open will
    // read it: its backoff, its `Retry-After`, or the lease of an attempt
    // whose page went away. It must arrive by then (and the timer's
    // margin and the network's latency), unless a request for it is out,
    // or a page keeps a newer record of it in memory (storage refused it).
    // With Web Locks only: without them, a lease in IndexedDB that a page
    // took under a clock since moved can hold it longer than its record says.
    let deadlines: Vec<(String, f64)> = {
        let w = sim.world.borrow();
        let wall = w.wall().floor();
        w.owed
            .iter()
            .filter(|(key, owed)| {
                // Not given up by then (older than 7 days: swept as the page opens).
                let queued = owed.queued_wall.unwrap_or(wall);
                // A beacon the browser took counts as delivered (the README's
                // limits): a lost one is given up, whatever request for it
                // is still on its way.
                with_locks
                    && owed.stored_at.is_none()
                    && !owed.beacon_lost
                    && !w.out(key)
                    && !w.in_memory(key)
                    && wall - queued < (TTL_MS as f64) - 4.0 * hour()
            })
            .filter_map(|(key, _)| {
                // Without Web Locks, a lease a page took before it went away
                // holds the tracking until it ends.
                let due = w.due_at(key)?.max(w.leased_until(key).unwrap_or(i64::MIN));
                Some((key.clone(), w.t + (due as f64 - wall).max(0.0) + 2_000.0))
            })
            .collect()
    };
    sim.open();
    sim.wait(3.0 * hour());
    let mut found = check(&sim, up_at);
    // Every task of a live page has finished: hours after the collector
    // came back, a task still waiting waits for a wake-up that never comes.
    let unfinished = sim.unfinished();
    if unfinished > 0 {
        found
            .violations
            .push(format!("{unfinished} tasks of live pages never finished"));
    }
    let w = sim.world.borrow();
    for (key, deadline) in deadlines {
        if let Some(at) = w.owed.get(&key).and_then(|owed| owed.stored_at) {
            if at > deadline {
                found
                    .violations
                    .push(format!("{key} came at t={at}, after it was due (t={deadline})"));
            }
        }
    }
    found
}

/// The share of a schedule's steps that play one of the [`scene`]s.
const SCENES: f64 = 0.3;

/// A tab open to play a scene in: one of those open, or a new one.
fn any_tab(sim: &mut Sim, rng: &mut Rng, open: &mut Vec<usize>) -> usize {
    if open.is_empty() || (open.len() < 4 && rng.chance(0.2)) {
        open.push(sim.open());
    }
    open[rng.below(open.len() as u64) as usize]
}

/// Another tab than `tab`: one open, or a new one.
fn other_tab(sim: &mut Sim, rng: &mut Rng, open: &mut Vec<usize>, tab: usize) -> usize {
    let others: Vec<usize> = open.iter().copied().filter(|&t| t != tab).collect();
    if others.is_empty() || (open.len() < 4 && rng.chance(0.3)) {
        let new = sim.open();
        open.push(new);
        return new;
    }
    others[rng.below(others.len() as u64) as usize]
}

/// The transport of a scene's call: fetch mostly, a beacon or `auto`
/// sometimes.
fn transport(rng: &mut Rng) -> &'static str {
    ["fetch", "fetch", "fetch", "beacon", "auto"][rng.below(5) as usize]
}

/// The cases real use makes common and a uniform draw of steps reaches
/// rarely, each a few steps in a row, so that every rule they exercise is
/// reached in a good share of schedules (the bugs planted by
/// `scripts/planted.mjs`, each in at least 1 %):
///
/// 0. a confirmation page reloaded after its tracking was accepted (the
///    call again, from the page that comes back);
/// 1. two tabs calling for one tracking at the same instant;
/// 2. a tab finding another tab's attempt out (a hung collector), the first
///    tab then killed or left;
/// 3. a collector asking `Retry-After`, with a second tab opening (its
///    timer and the first tab's fall due together);
/// 4. a page left just as a failed tracking's retry falls due, with one it
///    queued and never attempted.
fn scene(sim: &mut Sim, rng: &mut Rng, open: &mut Vec<usize>, customer: &str) {
    let call = |sim: &mut Sim, tab: usize, transport: &'static str| {
        let input = CallInput {
            transport: Some(transport),
            ..sim::input(customer, false, 60_000.0)
        };
        sim.call_with(tab, input);
    };
    let set = |sim: &mut Sim, collector: Collector| {
        let mut w = sim.world.borrow_mut();
        sim::trace(w.t, || format!("the collector: {collector:?}"));
        w.collector = collector;
    };
    match rng.below(5) {
        0 => {
            let tab = any_tab(sim, rng, open);
            call(sim, tab, "fetch");
            sim.wait(rng.between(50.0, 2_000.0));
            sim.close(tab, rng.chance(0.8));
            open.retain(|&t| t != tab);
            let again = sim.open();
            open.push(again);
            let how = transport(rng);
            call(sim, again, how);
        }
        1 => {
            let a = any_tab(sim, rng, open);
            let b = other_tab(sim, rng, open, a);
            let (first, second) = (transport(rng), transport(rng));
            call(sim, a, first);
            call(sim, b, second);
        }
        2 => {
            set(sim, Collector::Hangs);
            let a = any_tab(sim, rng, open);
            call(sim, a, "fetch");
            sim.wait(rng.between(0.0, 500.0));
            let b = other_tab(sim, rng, open, a);
            if rng.chance(0.5) {
                call(sim, b, "fetch");
            }
            if rng.chance(0.5) {
                set(sim, Collector::Up);
            }
            sim.close(a, rng.chance(0.5));
            open.retain(|&t| t != a);
            sim.wait(rng.between(0.0, 70_000.0));
        }
        3 => {
            set(sim, Collector::Limited);
            let a = any_tab(sim, rng, open);
            call(sim, a, "fetch");
            sim.wait(rng.between(100.0, 1_000.0));
            let _ = other_tab(sim, rng, open, a);
            if rng.chance(0.5) {
                set(sim, Collector::Up);
            }
            sim.wait(rng.between(0.0, 40_000.0));
        }
        _ => {
            set(sim, Collector::Down);
            let tab = any_tab(sim, rng, open);
            call(sim, tab, "fetch");
            sim.wait(rng.between(100.0, 500.0));
            let due = sim.world.borrow().due_in(customer).unwrap_or(0.0);
            sim.wait(due.max(0.0) + rng.between(0.0, 40.0));
            if rng.chance(0.5) {
                set(sim, Collector::Up);
            }
            let fresh = ["f1", "f2"][rng.below(2) as usize];
            let input = sim::input(fresh, false, 60_000.0);
            sim.call_with(tab, input);
            sim.close(tab, true);
            open.retain(|&t| t != tab);
        }
    }
}

/// The README's promises, checked after a schedule.
fn check(sim: &Sim, up_at: f64) -> Found {
    let w = sim.world.borrow();
    let mut found = Found {
        violations: w.violations.clone(),
        explained_duplicates: w.explained_duplicates,
        skipped: w.skipped,
        polls: sim.polls,
        ..Found::default()
    };
    for (key, owed) in &w.owed {
        if owed.queued_wall.is_none() {
            continue;
        }
        found.calls += 1;
        match owed.stored_at {
            Some(at) => {
                found.delivered += 1;
                found.delays.push(at - owed.first_call.max(up_at.min(at)));
            }
            None => {
                let waited = owed.latest_wall - owed.queued_wall.unwrap_or(owed.latest_wall);
                let expired = waited >= (TTL_MS as f64) - 4.0 * hour();
                let reasons = [owed.refused, owed.beacon_lost, owed.memory_only, expired];
                if let Some(reason) = reasons.iter().position(|&r| r) {
                    found.given_up[reason] += 1;
                } else {
                    found.lost.push(key.clone());
                }
            }
        }
    }
    for tab in &w.tabs {
        found.wakeups += tab.wakeups;
        let lived = tab.closed_at.unwrap_or(w.t) - tab.opened_at;
        let hours = (lived / hour()).ceil().max(1.0);
        if f64::from(tab.wakeups) > MAX_WAKEUPS_PER_HOUR * hours {
            found
                .violations
                .push(format!("a page's timer woke {} times in {hours} hours", tab.wakeups));
        }
    }
    found
}

const DOCS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/delivery.md");

/// The figures a run printed, held to the block of `docs/delivery.md`
/// between `<!-- simulation:NAME -->` and `<!-- /simulation:NAME -->`; with
/// `ONRAMP_SIM_WRITE_DOCS=1`, written there instead. The page, as it is then.
fn in_docs(name: &str, printed: &str) -> String {
    let page = std::fs::read_to_string(DOCS).expect("docs/delivery.md");
    let (open, close) = (
        format!("<!-- simulation:{name} -->\n"),
        format!("<!-- /simulation:{name} -->"),
    );
    let start = page.find(&open).expect("the block's opening marker") + open.len();
    let end = start + page[start..].find(&close).expect("the block's closing marker");
    let block = format!("```text fragment\n{printed}\n```\n");
    if std::env::var_os("ONRAMP_SIM_WRITE_DOCS").is_some() {
        let written = format!("{}{block}{}", &page[..start], &page[end..]);
        std::fs::write(DOCS, &written).expect("docs/delivery.md written");
        return written;
    }
    assert_eq!(
        page[start..end],
        block,
        "docs/delivery.md shows another run's figures: write this one's with \
         ONRAMP_SIM_WRITE_DOCS=1 cargo test --release -p onramp-core --test simulation"
    );
    page
}

fn runs() -> u64 {
    std::env::var("ONRAMP_SIM_SCHEDULES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) { 2_000 } else { 100_000 })
}

thread_local! {
    /// Whether a panic on this thread is the simulation's to report.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Silences the panic message of this thread only (`on`), or no longer:
/// the process-wide hook is wrapped once, and passes every other thread's
/// panics to the hook it had.
fn quiet_panics_here(on: bool) {
    static WRAP: std::sync::Once = std::sync::Once::new();
    WRAP.call_once(|| {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                hook(info);
            }
        }));
    });
    QUIET.with(|quiet| quiet.set(on));
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[test]
fn every_schedule_keeps_the_promises() {
    let seeds: Vec<u64> = match std::env::var("ONRAMP_SIM_SEED") {
        Ok(seed) => vec![seed.parse().expect("ONRAMP_SIM_SEED is a number")],
        Err(_) => (0..runs()).collect(),
    };
    let (mut lost, mut duplicated, mut broken, mut failed) = (0u64, 0u64, 0u64, Vec::new());
    let (mut calls, mut delivered, mut explained, mut wakeups, mut polls) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut skipped = 0u64;
    let mut given_up = [0u64; 4];
    let mut delays = Vec::new();
    let replay = seeds.len() == 1;
    // A schedule's panic is caught and reported with its seed; quiet only on
    // this thread, so that other tests failing meanwhile keep their messages.
    quiet_panics_here(!replay);
    for &seed in &seeds {
        match catch_unwind(AssertUnwindSafe(|| schedule(seed))) {
            Ok(found) => {
                lost += found.lost.len() as u64;
                duplicated += found.violations.iter().filter(|v| v.contains(" sent ")).count() as u64;
                broken += found.violations.iter().filter(|v| !v.contains(" sent ")).count() as u64;
                calls += u64::from(found.calls);
                skipped += u64::from(found.skipped);
                delivered += u64::from(found.delivered);
                for (sum, n) in given_up.iter_mut().zip(found.given_up) {
                    *sum += u64::from(n);
                }
                explained += u64::from(found.explained_duplicates);
                wakeups += u64::from(found.wakeups);
                polls += found.polls;
                delays.extend(found.delays);
                if !found.lost.is_empty() || !found.violations.is_empty() {
                    failed.push(format!(
                        "seed {seed}: lost {:?}; {}",
                        found.lost,
                        found.violations.join("; ")
                    ));
                }
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                failed.push(format!("seed {seed}: panicked: {message}"));
            }
        }
    }
    quiet_panics_here(false);
    delays.sort_by(f64::total_cmp);
    let summary = [
        format!("simulated {} schedules: {lost} lost, {duplicated} duplicated", seeds.len()),
        format!(
            "  {calls} trackings called, {delivered} delivered, {} given up as the README's limits say \
             ({} refused by the collector, {} beacons it could not take, {} only in a closed page's memory, {} older than 7 days); \
             {explained} repeat deliveries the limits explain (an answer its page never read); \
             {broken} other broken promises (timer loops, requests dying with their page); {wakeups} timer wake-ups, \
             {polls} executor polls; {skipped} calls of visitors the marketplace did not refer skipped \
             (requireReferral), none of them sent",
            given_up.iter().sum::<u64>(),
            given_up[0],
            given_up[1],
            given_up[2],
            given_up[3],
        ),
        format!(
            "  delivered after the call (or after the collector came back): p50 {:.1} s, p99 {:.1} s, max {:.1} s; {} of {} after more than 60 s",
            percentile(&delays, 0.5) / 1000.0,
            percentile(&delays, 0.99) / 1000.0,
            delays.last().copied().unwrap_or(0.0) / 1000.0,
            delays.iter().filter(|&&d| d > 60_000.0).count(),
            delays.len()
        ),
    ]
    .join("\n");
    println!("{summary}");
    for failure in failed.iter().take(10) {
        println!("  {failure}");
    }
    assert!(
        failed.is_empty(),
        "{} schedules broke a promise; replay one with ONRAMP_SIM_SEED=N",
        failed.len()
    );
    if std::env::var_os("ONRAMP_SIM_SEED").is_none()
        && std::env::var_os("ONRAMP_SIM_SCHEDULES").is_none()
        && !cfg!(debug_assertions)
    {
        let page = in_docs("schedules", &summary);
        let count = seeds.len().to_string();
        let (head, tail) = count.split_at(count.len() - 3);
        assert!(
            page.contains(&format!("over {head},{tail} seeded schedules")),
            "docs/delivery.md says how many schedules run"
        );
    }
}

/// A host future that completes without waking the task awaiting it hangs
/// that task in a browser, whose executor polls only woken tasks; so does
/// the simulation's, and its probe fails the schedule at once, with its
/// seed. (An executor that polls every task until nothing moves, as this
/// one did before, passed every schedule with this bug.)
#[test]
fn a_task_never_woken_fails_the_run_with_its_seed() {
    quiet_panics_here(true);
    let caught: Vec<u64> = (0..200)
        .filter(|&seed| {
            let found = catch_unwind(AssertUnwindSafe(|| planted_schedule(seed, Planted::UnwokenRead)));
            found.is_ok_and(|found| found.violations.iter().any(|v| v.contains("never woken")))
        })
        .collect();
    quiet_panics_here(false);
    assert!(
        caught.len() > 150,
        "only {} of 200 schedules caught a read that never wakes its task: {caught:?}",
        caught.len()
    );
    let clean = schedule(caught[0]);
    assert!(clean.violations.is_empty(), "{:?}", clean.violations);
}

/// The case measured in browsers before this engine: two tabs queue four
/// trackings each while the collector is down, then close; the collector
/// comes back and a page opens. Each arrives once; those with no request
/// out when their page closed arrive as the next page opens (once their
/// backoff is over), the others once their lease is over (62 s: the request may still land, so no page
/// may send it again before then). Before, a closing page sent every due
/// tracking once more, to the collector that was still down, and each of
/// those waited out a lease: 5 of 40 came after a minute in Chromium.
#[test]
fn trackings_left_by_closed_tabs_go_when_the_next_page_opens() {
    let (mut late, mut out_at_close, mut count, mut waited_backoff) = (0, 0, 0, 0);
    for seed in 0..20 {
        let mut sim = Sim::new(World::new(seed, true, 5.0));
        let (a, b) = (sim.open(), sim.open());
        sim.world.borrow_mut().collector = Collector::Down;
        for (tab, customers) in [(a, ["a1", "a2", "a3", "a4"]), (b, ["b1", "b2", "b3", "b4"])] {
            for customer in customers {
                sim.call(tab, customer, false, 60_000.0);
            }
        }
        sim.wait(5_000.0 + 100.0 * seed as f64);
        let before = sim.world.borrow().sent.len();
        sim.close(a, true);
        sim.close(b, true);
        // Every tracking of theirs had a failed attempt: a closing page sends
        // none of them (sent to a collector still down, each would leave a
        // lease the next page must wait out).
        let by_closing = sim.world.borrow().sent[before..]
            .iter()
            .filter(|s| s.tab == a || s.tab == b)
            .count();
        assert_eq!(
            by_closing, 0,
            "seed {seed}: the closing pages sent {by_closing} requests"
        );
        let out: Vec<String> = {
            let w = sim.world.borrow();
            let sent_before_close = w.sent.len();
            w.sent[..sent_before_close]
                .iter()
                .filter(|s| !s.concluded)
                .map(|s| s.key.clone())
                .collect()
        };
        sim.wait(1_000.0);
        sim.world.borrow_mut().collector = Collector::Up;
        let opened = sim.world.borrow().t;
        // How long after the page opens each is due: its backoff, or the
        // lease of a request that was out when its page closed.
        let due: Vec<(String, f64)> = {
            let w = sim.world.borrow();
            w.owed.keys().map(|k| (k.clone(), w.due_in(k).unwrap_or(0.0))).collect()
        };
        sim.open();
        sim.wait(10.0 * 60_000.0);
        let w = sim.world.borrow();
        for (key, owed) in &w.owed {
            let at = owed
                .stored_at
                .unwrap_or_else(|| panic!("seed {seed}: {key} was not delivered"));
            assert_eq!(
                owed.deliveries, 1,
                "seed {seed}: {key} delivered {} times",
                owed.deliveries
            );
            let delay = at - opened;
            count += 1;
            if out.contains(key) {
                out_at_close += 1;
                assert!(delay < 62_000.0 + 5_000.0, "seed {seed}: {key} came {delay} ms after");
            } else {
                // As soon as its backoff is over.
                let wait = due.iter().find(|(k, _)| k == key).map_or(0.0, |(_, d)| *d);
                assert!(
                    delay < wait.max(0.0) + 1_000.0,
                    "seed {seed}: {key} came {delay} ms after the next page opened, due after {wait} ms"
                );
                waited_backoff += usize::from(wait > 60_000.0);
            }
            late += usize::from(delay > 60_000.0);
        }
    }
    let summary = format!(
        "closed tabs' trackings: {late} of {count} arrived more than a minute after the next page opened: \
         {out_at_close} had a request out when their page closed, {waited_backoff} backed off longer"
    );
    println!("{summary}");
    in_docs("closed-tabs", &summary);
}

/// Two tabs left at the same moment (a window closed) with a third page's
/// tracking waiting: neither sends it; its own page does, once.
#[test]
fn tabs_left_at_once_send_only_what_they_queued() {
    for seed in 0..20 {
        let mut sim = Sim::new(World::new(seed, true, 30.0));
        let a = sim.open();
        sim.call(a, "c1", false, 60_000.0);
        // Opened after the call: they see its record at once, and ask for its
        // lock behind the page that called.
        let (b, c) = (sim.open(), sim.open());
        let before = sim.world.borrow().sent.len();
        sim.close(b, true);
        sim.close(c, true);
        let by_others = sim.world.borrow().sent[before..].iter().filter(|s| s.tab != a).count();
        assert_eq!(by_others, 0, "seed {seed}: the tabs left sent another page's tracking");
        sim.wait(120_000.0);
        let deliveries = sim.world.borrow().owed.get("c1").map_or(0, |o| o.deliveries);
        assert_eq!(deliveries, 1, "seed {seed}");
    }
}

/// A page left as a failed tracking's retry falls due does not send it
/// then (the next page does, under its lock); one it queued and never
/// attempted, it does send.
#[test]
fn a_page_left_sends_only_what_never_failed() {
    for seed in 0..20 {
        let mut sim = Sim::new(World::new(seed, true, 5.0));
        let a = sim.open();
        sim.world.borrow_mut().collector = Collector::Down;
        sim.call(a, "failed", false, 60_000.0);
        sim.wait(500.0);
        // Its retry is due: left a moment after that, before the timer's margin.
        let wait = sim.world.borrow().due_in("failed").expect("it waits");
        sim.wait(wait.max(0.0) + 1.0);
        sim.call(a, "fresh", false, 60_000.0);
        let before = sim.world.borrow().sent.len();
        sim.close(a, true);
        let keys: Vec<String> = sim.world.borrow().sent[before..]
            .iter()
            .map(|s| s.key.clone())
            .collect();
        assert_eq!(
            keys,
            ["fresh"],
            "seed {seed}: a page left sends what it queued and never attempted, only"
        );
    }
}

// Each of the engine's paths, one at a time, in the simulated world (the
// schedules above reach them only by chance).

mod paths {
    use onramp_core::engine::{Answer, Flushed, Mode, Report};
    use onramp_core::host::Warning;
    use onramp_core::options::Transport;
    use onramp_core::outbound::{CallInput, ConfigureInput};

    use super::sim::{Collector, Sim, World};

    fn world() -> Sim {
        Sim::new(World::new(7, true, 5.0))
    }

    fn input<'a>(customer: &'a str, transport: &'static str) -> CallInput<'a> {
        CallInput {
            partner_key: Some("pk_sim"),
            service_name: Some("Sim CRM"),
            customer_id: Some(customer),
            base_url: Some("https://collector.example"),
            transport: Some(transport),
            ..CallInput::default()
        }
    }

    fn last_report(sim: &Sim) -> Result<Report, String> {
        let reports = sim.reports.borrow();
        let (_, result) = reports.last().expect("a call ended");
        result.clone().map(|called| called.report)
    }

    #[test]
    fn a_call_reports_the_collectors_answer() {
        let mut sim = world();
        let tab = sim.open();
        sim.call_with(tab, input("c1", "fetch"));
        sim.wait(1_000.0);
        match last_report(&sim) {
            Ok(Report::Sent {
                transport: Transport::Fetch,
                accepted: true,
                answer: Some(Answer { status: 201, .. }),
                error: None,
                retry_at: None,
            }) => {}
            other => panic!("{other:?}"),
        }
        sim.world.borrow_mut().collector = Collector::Unavailable;
        sim.call_with(tab, input("c2", "fetch"));
        sim.wait(1_000.0);
        match last_report(&sim) {
            Ok(Report::Sent {
                accepted: false,
                answer: Some(Answer { status: 503, .. }),
                error: None,
                retry_at: Some(_),
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
        sim.world.borrow_mut().collector = Collector::Refuses;
        sim.call_with(tab, input("c3", "fetch"));
        sim.wait(1_000.0);
        assert_eq!(last_report(&sim), Err("rejected".to_owned()));
        assert!(
            sim.world.borrow().record("c3").is_none(),
            "a refused tracking leaves the queue"
        );
    }

    #[test]
    fn where_fetch_cannot_start_auto_falls_back_to_a_beacon_and_fetch_fails() {
        let mut sim = world();
        let tab = sim.open();
        sim.world.borrow_mut().fetch_refuses = true;
        sim.call_with(tab, input("auto", "auto"));
        sim.wait(1_000.0);
        match last_report(&sim) {
            Ok(Report::Sent {
                transport: Transport::Beacon,
                accepted: true,
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(sim.world.borrow().owed.get("auto").map(|o| o.deliveries), Some(1));
        sim.call_with(tab, input("fetch", "fetch"));
        sim.wait(1_000.0);
        assert_eq!(last_report(&sim), Err("transport_unavailable".to_owned()));
        assert_eq!(sim.world.borrow().owed.get("fetch").map_or(0, |o| o.deliveries), 0);
        assert!(sim.world.borrow().record("fetch").is_none());
    }

    #[test]
    fn configure_keeps_valid_defaults_only_and_the_call_wins() {
        let mut sim = world();
        let tab = sim.open();
        let engine = sim.engine(tab);
        let bad = ConfigureInput {
            base_url: Some("http://collector.example"),
            ..ConfigureInput::default()
        };
        assert_eq!(engine.configure(bad).map_err(|e| e.code()), Err("insecure_base_url"));
        let good = ConfigureInput {
            base_url: Some("https://configured.example"),
            partner_key: Some("pk_configured"),
            ..ConfigureInput::default()
        };
        assert_eq!(engine.configure(good), Ok(()));
        let without = CallInput {
            base_url: None,
            partner_key: None,
            ..input("c1", "fetch")
        };
        let outbound = engine.prepare(without).expect("the defaults complete it");
        assert_eq!(outbound.url, "https://configured.example/api/SaasTrackings");
        assert_eq!(outbound.tracking.key().0, "pk_configured");
        let own = engine.prepare(input("c1", "fetch")).expect("valid");
        assert_eq!(own.url, "https://collector.example/api/SaasTrackings");
    }

    #[test]
    fn a_second_call_keeps_the_waiting_record_and_its_backoff() {
        let mut sim = world();
        let tab = sim.open();
        sim.world.borrow_mut().collector = Collector::Down;
        sim.call_with(tab, input("c1", "fetch"));
        sim.wait(100.0);
        let first = sim.world.borrow().record("c1").expect("it waits");
        assert_eq!(first.failures, 1);
        sim.call_with(tab, input("c1", "fetch"));
        let second = sim.world.borrow().record("c1").expect("it waits");
        assert_eq!((second.created_ms, second.failures), (first.created_ms, first.failures));
    }

    #[test]
    fn a_call_for_a_tracking_another_page_has_out_wakes_when_its_lease_ends() {
        let mut sim = world();
        let (a, b) = (sim.open(), sim.open());
        sim.world.borrow_mut().collector = Collector::Hangs;
        sim.call_with(a, input("c1", "fetch"));
        sim.wait(1_000.0);
        sim.call_with(b, input("c1", "fetch"));
        assert_eq!(last_report(&sim), Ok(Report::Waiting));
        sim.close(a, false);
        sim.world.borrow_mut().collector = Collector::Up;
        // The first request lands (the hung collector stores it at 90 s):
        // B waits out the lease, 62 s, and finds it... still waiting, so it
        // sends it once the lease is over, as its timer says.
        let before = sim.world.borrow().sent.len();
        sim.wait(62_000.0 + 1_000.0);
        let sent_by_b = sim.world.borrow().sent[before..].iter().filter(|s| s.tab == b).count();
        assert_eq!(sent_by_b, 1, "B's timer woke when the lease ended");
    }

    #[test]
    fn a_forced_flush_sends_what_backs_off_and_counts_what_it_delivered() {
        let mut sim = world();
        let tab = sim.open();
        sim.world.borrow_mut().collector = Collector::Down;
        sim.call_with(tab, input("c1", "fetch"));
        sim.call_with(tab, input("c2", "fetch"));
        sim.wait(100.0);
        sim.world.borrow_mut().collector = Collector::Up;
        sim.flush(tab, Mode::Due);
        sim.wait(50.0);
        assert_eq!(
            sim.flushed.borrow().last(),
            Some(&Flushed { sent: 0, waiting: 2 }),
            "backing off"
        );
        sim.flush(tab, Mode::Forced);
        sim.wait(500.0);
        assert_eq!(sim.flushed.borrow().last(), Some(&Flushed { sent: 2, waiting: 0 }));
    }

    #[test]
    fn a_tracking_older_than_seven_days_is_given_up_with_one_warning() {
        let mut sim = world();
        let tab = sim.open();
        sim.world.borrow_mut().collector = Collector::Down;
        sim.call_with(tab, input("c1", "fetch"));
        sim.wait(100.0);
        assert!(sim.world.borrow().warnings.is_empty(), "no warning while it waits");
        sim.world.borrow_mut().jump_clock(7.0 * 86_400_000.0);
        sim.flush(tab, Mode::Due);
        assert!(sim.world.borrow().record("c1").is_none());
        assert_eq!(sim.world.borrow().warnings, [(tab, Warning::GivenUp)]);
    }

    #[test]
    fn storage_refusing_the_queue_is_said_once() {
        let mut sim = world();
        let tab = sim.open();
        sim.world.borrow_mut().storage_full = true;
        sim.world.borrow_mut().collector = Collector::Down;
        sim.call_with(tab, input("c1", "fetch"));
        assert_eq!(
            sim.world.borrow().warnings,
            [(tab, Warning::NotStored)],
            "at the first call"
        );
        sim.call_with(tab, input("c2", "fetch"));
        sim.wait(1_000.0);
        assert_eq!(sim.world.borrow().warnings, [(tab, Warning::NotStored)], "once");
        let persisted: Vec<bool> = sim
            .reports
            .borrow()
            .iter()
            .map(|(_, r)| r.as_ref().is_ok_and(|c| c.persisted))
            .collect();
        assert_eq!(persisted, [false, false]);
    }

    #[test]
    fn a_page_that_finds_another_pages_request_out_retries_when_its_lease_ends() {
        let mut exercised = 0;
        for seed in 0..40 {
            // No lag: a write reaches the other tab at the next step.
            let mut sim = Sim::new(World::new(seed, true, 0.0));
            sim.world.borrow_mut().collector = Collector::Hangs;
            let a = sim.open();
            sim.call_with(a, input("c1", "fetch"));
            // B sees the record waiting and asks for its lock.
            let b = sim.open();
            sim.wait(500.0);
            let first = sim.world.borrow().sent.first().map(|s| s.tab);
            if first != Some(a) {
                continue; // B's lock came first: not the case under test
            }
            // A's request is out; A crashes; B gets the lock and finds A's
            // claim: its timer must wake when A's lease ends.
            exercised += 1;
            sim.close(a, false);
            sim.world.borrow_mut().collector = Collector::Up;
            let before = sim.world.borrow().sent.len();
            sim.wait(70_000.0);
            let by_b = sim.world.borrow().sent[before..].iter().filter(|s| s.tab == b).count();
            assert_eq!(by_b, 1, "seed {seed}: B's timer woke when A's lease ended");
        }
        assert!(exercised >= 10, "only {exercised} seeds had A's request out first");
    }

    #[test]
    fn a_retry_comes_when_it_is_due_even_after_a_later_one_is_set() {
        let mut sim = world();
        let tab = sim.open();
        sim.world.borrow_mut().collector = Collector::Unavailable;
        sim.call_with(tab, input("soon", "fetch"));
        sim.wait(200.0);
        sim.world.borrow_mut().collector = Collector::Limited;
        sim.call_with(tab, input("later", "fetch"));
        sim.wait(200.0);
        let due = {
            let w = sim.world.borrow();
            w.t + w.due_in("soon").expect("it waits")
        };
        sim.world.borrow_mut().collector = Collector::Up;
        sim.wait(10_000.0);
        let at = sim
            .world
            .borrow()
            .owed
            .get("soon")
            .and_then(|o| o.stored_at)
            .expect("delivered");
        // Not before it is due, and within the timer's margin (50 ms) and
        // the network's and the lock's latency (under 40 ms each).
        assert!(at >= due && at < due + 200.0, "due at {due}, came at {at}");
    }

    #[test]
    fn storage_cleared_while_a_request_is_out_is_not_written_back() {
        let mut sim = world();
        let tab = sim.open();
        sim.world.borrow_mut().collector = Collector::Hangs;
        sim.call_with(tab, input("c1", "fetch"));
        sim.wait(100.0);
        sim.world.borrow_mut().clear_storage();
        sim.world.borrow_mut().collector = Collector::Up;
        // The attempt times out (60 s) and would be retried: its record is
        // gone, and no empty one is written in its place (the next flush would
        // find it 56 years old and warn that it gave it up).
        sim.wait(61_000.0);
        assert!(sim.world.borrow().record("c1").is_none());
        assert_eq!(sim.world.borrow().warnings, []);
    }

    #[test]
    fn warnings_say_what_happened() {
        assert!(Warning::NotStored.message().contains("cannot be stored"));
        assert!(Warning::GivenUp.message().contains("older than 7 days"));
    }
}
