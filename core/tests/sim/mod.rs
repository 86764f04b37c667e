//! A simulated world for the delivery engine: several tabs of one browser
//! profile, each running an [`Engine`] over a [`Tab`] host, sharing one
//! record store (`localStorage`, whose writes reach the other tabs a little
//! later, as across processes), one accepted set (IndexedDB, consistent),
//! one lock manager (Web Locks) or none (a lease in IndexedDB), one
//! collector that answers 201/200, 503, 429 with `Retry-After`, 422, hangs
//! or is down, and one clock that can jump by days.
//!
//! Every host effect completes through the world's agenda, at a virtual
//! time drawn from a seeded generator, so one seed is one schedule, and it
//! replays. The executor polls every task of every live tab until nothing
//! moves; host futures are slots the agenda fills.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use onramp_core::engine::{Called, Engine, Flushed, Mode, Report};
use onramp_core::host::{Host, Lock, PageEvent, Reply, Request, Warning};
use onramp_core::outbound::CallInput;
use onramp_core::queue::{Record, MAX_LEASE_MS};
use onramp_core::referral::Referral;
use onramp_core::steps::Outcome;

/// How long the README says a tracking waits, and an accepted one is
/// remembered: 7 days (written here, not read from the core, so that a
/// change to the core's constant is caught).
pub const TTL_MS: i64 = 7 * 24 * 3_600_000;

/// The wall clock at the start of every schedule (epoch ms).
pub const START_WALL: f64 = 1_795_718_581_000.0;
const HOUR: f64 = 3_600_000.0;
const DAY: f64 = 24.0 * HOUR;

/// SplitMix64: small, seeded, good enough to draw schedules.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// How the collector answers, for now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collector {
    /// 201 for a new tracking, 200 for a repeat.
    Up,
    /// The connection fails.
    Down,
    /// Takes the request and answers 201 only after `HANG_MS`.
    Hangs,
    /// 503.
    Unavailable,
    /// 429 with `Retry-After: 30`.
    Limited,
    /// 422: refused for good.
    Refuses,
}

/// How long a hung collector takes to answer.
const HANG_MS: f64 = 90_000.0;

/// A one-shot value the agenda fills (once) and a task awaits.
pub struct Slot<T>(Rc<RefCell<(Option<T>, bool)>>);

impl<T> Clone for Slot<T> {
    fn clone(&self) -> Self {
        Slot(self.0.clone())
    }
}

impl<T> Slot<T> {
    fn new() -> Slot<T> {
        Slot(Rc::new(RefCell::new((None, false))))
    }

    fn fill(&self, value: T) -> bool {
        let mut slot = self.0.borrow_mut();
        if slot.1 {
            return false;
        }
        *slot = (Some(value), true);
        true
    }
}

/// Awaits a slot.
pub struct Wait<T>(Slot<T>);

impl<T> Future for Wait<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<T> {
        match self.0 .0.borrow_mut().0.take() {
            Some(value) => Poll::Ready(value),
            None => Poll::Pending,
        }
    }
}

type Action = Box<dyn FnOnce(&mut World)>;
/// A task of a page.
type Task = Pin<Box<dyn Future<Output = ()>>>;

thread_local! {
    /// Whether to print what happens (`ONRAMP_SIM_TRACE=1`).
    static TRACE: bool = std::env::var_os("ONRAMP_SIM_TRACE").is_some();
}

/// Prints a line of the schedule when tracing.
pub fn trace(t: f64, line: impl FnOnce() -> String) {
    if TRACE.with(|t| *t) {
        println!("{:>12.1} {}", t, line());
    }
}

/// One POST (or beacon) and what became of it.
pub struct Sent {
    pub key: String,
    pub tab: usize,
    pub beacon: bool,
    pub keepalive: bool,
    pub started_wall: f64,
    pub lease_until_wall: f64,
    /// When it started, in real time.
    pub started_t: f64,
    /// Without Web Locks: until when its page's lease holds (wall clock).
    pub lease_ends: i64,
    /// Its sender read an answer (or its timeout) while alive.
    pub concluded: bool,
    /// Its claim reached `localStorage`, where other tabs can see it (not
    /// only its page's memory: storage refused it).
    pub claim_shared: bool,
    /// It reached the collector, or died with its page.
    pub arrived: bool,
    /// Filled with the answer, or the timeout.
    slot: Slot<Reply>,
}

/// What one tab of the world holds.
pub struct TabState {
    pub alive: bool,
    /// Its view of `localStorage`: each record with the number of the
    /// write it came from (`None`: removed), so that a late copy of an older
    /// write never replaces a newer one.
    view: BTreeMap<String, (u64, Option<Record>)>,
    /// Records `localStorage` refused, in this page's memory.
    memory: BTreeMap<String, Record>,
    /// What this page read of each record just before it last wrote it (a
    /// claim is a write: this is what the engine claimed from).
    before: BTreeMap<String, Option<Record>>,
    /// The timer: when, and which setting.
    timer: Option<u64>,
    pub wakeups: u32,
    pub opened_at: f64,
    pub closed_at: Option<f64>,
    /// The page is being left: its engine sends without locks.
    pub leaving: bool,
}

/// A tracking the schedule called for, and what became of it.
#[derive(Default)]
pub struct Owed {
    pub first_call: f64,
    /// When the collector first stored it.
    pub stored_at: Option<f64>,
    pub deliveries: u32,
    /// Reasons the README gives for a tracking that is not delivered.
    pub refused: bool,
    pub beacon_lost: bool,
    pub memory_only: bool,
    /// Each 2xx an engine read: when, in which tab, by the wall clock.
    pub reads: Vec<(f64, usize, f64)>,
    /// The wall clock when it was first queued, and the latest since.
    pub queued_wall: Option<f64>,
    pub latest_wall: f64,
}

pub struct LockState {
    holder: Option<u64>,
    /// The tab that holds it.
    holder_tab: usize,
    queue: VecDeque<(u64, usize, Slot<Lock<Guard>>)>,
}

/// The world every tab shares.
pub struct World {
    /// Real time since the start (ms): what timers and latencies run on.
    pub t: f64,
    /// What the visitor's clock adds to it.
    pub skew: f64,
    pub rng: Rng,
    agenda: BTreeMap<(u64, u64), Action>,
    seq: u64,
    /// Bumped by every change, so the executor knows when to poll again.
    pub version: u64,
    pub tabs: Vec<TabState>,
    /// `localStorage` as a new tab sees it.
    store: BTreeMap<String, (u64, Option<Record>)>,
    writes: u64,
    pub storage_full: bool,
    /// The longest a write takes to reach the other tabs.
    pub lag_ms: f64,
    /// IndexedDB's accepted set.
    accepted: BTreeMap<String, i64>,
    /// Web Locks, or `None`: the lease in IndexedDB.
    locks: Option<BTreeMap<String, LockState>>,
    /// The leases: until when, which tab took it, and when in real time it
    /// ends (a clock set forward ends it sooner).
    leases: BTreeMap<String, (i64, usize, f64)>,
    /// Which tab was granted a lease for which tracking and holds it still
    /// (its guard not yet dropped), expired or not.
    held_leases: std::collections::BTreeSet<(usize, String)>,
    next_lock: u64,
    pub collector: Collector,
    pub sent: Vec<Sent>,
    pub owed: BTreeMap<String, Owed>,
    /// Tabs whose timer fired, for the executor to wake.
    fired: Vec<usize>,
    pub violations: Vec<String>,
    /// Duplicates at the collector that the README's limits explain.
    pub explained_duplicates: u32,
    /// `fetch` refuses to start (a page's CSP, a browser without it).
    pub fetch_refuses: bool,
    /// What each page was warned of.
    pub warnings: Vec<(usize, Warning)>,
    /// Trackings called only by visitors the marketplace did not refer,
    /// with `requireReferral`: the collector must never see them.
    pub not_referred: std::collections::BTreeSet<String>,
    /// Calls the gate skipped.
    pub skipped: u32,
}

impl World {
    pub fn new(seed: u64, with_locks: bool, lag_ms: f64) -> World {
        World {
            t: 0.0,
            skew: 0.0,
            rng: Rng::new(seed),
            agenda: BTreeMap::new(),
            seq: 0,
            version: 0,
            tabs: Vec::new(),
            store: BTreeMap::new(),
            writes: 0,
            storage_full: false,
            lag_ms,
            accepted: BTreeMap::new(),
            locks: with_locks.then(BTreeMap::new),
            leases: BTreeMap::new(),
            held_leases: std::collections::BTreeSet::new(),
            next_lock: 0,
            collector: Collector::Up,
            sent: Vec::new(),
            owed: BTreeMap::new(),
            fired: Vec::new(),
            violations: Vec::new(),
            explained_duplicates: 0,
            fetch_refuses: false,
            warnings: Vec::new(),
            not_referred: std::collections::BTreeSet::new(),
            skipped: 0,
        }
    }

    /// When the store says the tracking may be sent next (epoch ms), if
    /// it waits.
    /// (The first time it is due: a lease stamped by a clock since set back
    /// holds nothing until the clock reaches it again, and then it holds.)
    pub fn due_at(&self, key: &str) -> Option<i64> {
        let now = self.wall().floor() as i64;
        let record = self
            .store
            .iter()
            .filter(|(id, _)| key_of(id) == key)
            .find_map(|(_, (_, r))| r.as_ref())?;
        let mut at = record.due_at(now)?;
        for _ in 0..3 {
            if record.is_due(at, false) {
                break;
            }
            at = record.due_at(at)?;
        }
        Some(at)
    }

    /// How long from now (ms) until the tracking is due, if it waits.
    pub fn due_in(&self, key: &str) -> Option<f64> {
        Some(self.due_at(key)? as f64 - self.wall().floor())
    }

    /// Until when (epoch ms) a lease in IndexedDB holds the tracking, where
    /// there are no Web Locks.
    pub fn leased_until(&self, key: &str) -> Option<i64> {
        let now = self.wall().floor() as i64;
        self.leases
            .iter()
            .filter(|(name, &(until, _, _))| key_of(name) == key && until > now && until - now <= MAX_LEASE_MS)
            .map(|(_, &(until, _, _))| until)
            .max()
    }

    /// The visitor clears the site's storage (every page's view too).
    pub fn clear_storage(&mut self) {
        self.store.clear();
        for tab in &mut self.tabs {
            tab.view.clear();
            tab.memory.clear();
        }
        self.version += 1;
    }

    /// The store's record of the tracking, as a new page would read it.
    pub fn record(&self, key: &str) -> Option<Record> {
        self.store
            .iter()
            .filter(|(id, _)| key_of(id) == key)
            .find_map(|(_, (_, r))| r.clone())
    }

    /// Whether a page keeps a record of the tracking in its memory (storage
    /// refused it): the store's record may then be older than the page's.
    pub fn in_memory(&self, key: &str) -> bool {
        self.tabs
            .iter()
            .any(|tab| tab.alive && tab.memory.keys().any(|id| key_of(id) == key))
    }

    /// Whether a request for the tracking is out: its page has not read its
    /// answer, and it has not reached the collector or its page still lives
    /// to read the answer (which may set a new wait).
    pub fn out(&self, key: &str) -> bool {
        self.sent
            .iter()
            .any(|s| s.key == key && !s.concluded && (!s.arrived || self.tabs[s.tab].alive))
    }

    pub fn wall(&self) -> f64 {
        START_WALL + self.t + self.skew
    }

    /// Runs `action` `delay` ms from now.
    fn at(&mut self, delay: f64, action: Action) {
        let when = (self.t + delay.max(0.0)).ceil() as u64;
        self.seq += 1;
        self.agenda.insert((when, self.seq), action);
    }

    /// A short, random latency.
    fn latency(&mut self) -> f64 {
        self.rng.between(0.0, 40.0)
    }

    /// Runs the next action of the agenda, if it is due by `until`.
    pub fn run_next(&mut self, until: f64) -> bool {
        let Some((&key, _)) = self.agenda.iter().next() else {
            return false;
        };
        if key.0 as f64 > until {
            return false;
        }
        let action = self.agenda.remove(&key).expect("the first action");
        self.t = self.t.max(key.0 as f64);
        self.version += 1;
        action(self);
        self.note_wall();
        true
    }

    /// Keeps each owed tracking's latest wall clock.
    fn note_wall(&mut self) {
        let wall = self.wall();
        for owed in self.owed.values_mut() {
            owed.latest_wall = owed.latest_wall.max(wall);
        }
    }

    pub fn jump_clock(&mut self, by: f64) {
        trace(self.t, || format!("the clock jumps by {:.0} s", by / 1000.0));
        self.skew += by;
        self.version += 1;
        self.note_wall();
    }

    pub fn open_tab(&mut self) -> usize {
        self.tabs.push(TabState {
            alive: true,
            view: self.store.clone(),
            memory: BTreeMap::new(),
            before: BTreeMap::new(),
            timer: None,
            wakeups: 0,
            opened_at: self.t,
            closed_at: None,
            leaving: false,
        });
        self.tabs.len() - 1
    }

    /// The tab is gone: its locks are freed (the browser does that for a
    /// dead page), its queued lock requests forgotten; its memory is lost.
    pub fn close_tab(&mut self, tab: usize) {
        trace(self.t, || format!("tab {tab} closes"));
        self.tabs[tab].alive = false;
        self.tabs[tab].closed_at = Some(self.t);
        self.tabs[tab].timer = None;
        for owed_key in self.keys_in_memory(tab) {
            if let Some(owed) = self.owed.get_mut(&owed_key) {
                if owed.stored_at.is_none() {
                    owed.memory_only = true;
                }
            }
        }
        self.tabs[tab].memory.clear();
        self.version += 1;
    }

    fn keys_in_memory(&self, tab: usize) -> Vec<String> {
        self.tabs[tab].memory.keys().map(|id| key_of(id)).collect()
    }

    /// Takes the timers that fired.
    pub fn take_fired(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.fired)
    }

    fn grant_next(&mut self, name: &str) {
        let Some(locks) = self.locks.as_mut() else { return };
        let Some(state) = locks.get_mut(name) else { return };
        if state.holder.is_some() {
            return;
        }
        while let Some((id, tab, slot)) = state.queue.pop_front() {
            if !self.tabs[tab].alive {
                continue;
            }
            state.holder = Some(id);
            state.holder_tab = tab;
            trace(self.t, || format!("tab {tab} holds lock {id} of {}", key_of(name)));
            let guard = Guard {
                name: name.to_owned(),
                id,
                tab,
                lease_start: None,
                world: None,
            };
            slot.fill(Lock::Held(guard));
            break;
        }
    }

    /// Frees the dead tabs' locks (the browser frees a dead page's locks).
    pub fn free_dead_locks(&mut self, held_by: &dyn Fn(u64) -> Option<usize>) {
        let names: Vec<String> = self
            .locks
            .as_ref()
            .map(|l| l.keys().cloned().collect())
            .unwrap_or_default();
        for name in names {
            let locks = self.locks.as_mut().expect("locks");
            let state = locks.get_mut(&name).expect("a lock");
            if let Some(holder) = state.holder {
                if held_by(holder).is_none_or(|tab| !self.tabs[tab].alive) {
                    state.holder = None;
                }
            }
            self.grant_next(&name);
        }
    }
}

/// The tracking key of a record id (its customerId), for the checks.
fn key_of(id: &str) -> String {
    id.rsplit('\u{1f}').next().unwrap_or(id).to_owned()
}

/// A held lock or lease, released when dropped (a lease only by a live
/// page: a killed page never runs its `finally`).
pub struct Guard {
    name: String,
    id: u64,
    tab: usize,
    /// For a lease: until when it was taken (its compare-and-set value).
    lease_start: Option<i64>,
    world: Option<Rc<RefCell<World>>>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let Some(world) = self.world.take() else { return };
        let Ok(mut w) = world.try_borrow_mut() else { return };
        w.version += 1;
        match self.lease_start {
            Some(until) => {
                w.held_leases.remove(&(self.tab, key_of(&self.name)));
                // As `accepted.js` frees it: only if it is still this one.
                if w.tabs[self.tab].alive {
                    let name = self.name.clone();
                    let delay = w.latency();
                    w.at(
                        delay,
                        Box::new(move |w| {
                            if w.leases.get(&name).is_some_and(|&(u, _, _)| u == until) {
                                w.leases.remove(&name);
                            }
                        }),
                    );
                }
            }
            None => {
                let Some(locks) = w.locks.as_mut() else { return };
                let Some(state) = locks.get_mut(&self.name) else { return };
                if state.holder == Some(self.id) {
                    state.holder = None;
                    let name = self.name.clone();
                    let delay = w.latency();
                    w.at(delay, Box::new(move |w| w.grant_next(&name)));
                }
            }
        }
    }
}

/// One tab as the engine's host.
pub struct Tab {
    pub world: Rc<RefCell<World>>,
    pub tab: usize,
    /// Which lock ids this tab was granted (for freeing a dead tab's).
    pub granted: Rc<RefCell<Vec<u64>>>,
}

type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

impl Host for Tab {
    type Guard = Guard;
    type Pending = usize;
    type Locking = Boxed<Lock<Guard>>;
    type Reading = Boxed<Option<i64>>;
    type Marking = Boxed<()>;
    type Replying = Boxed<Reply>;

    fn now(&self) -> f64 {
        self.world.borrow().wall().floor()
    }

    fn random(&self) -> f64 {
        self.world.borrow_mut().rng.unit()
    }

    fn load(&self, id: &str) -> Option<Record> {
        let w = self.world.borrow();
        let tab = &w.tabs[self.tab];
        tab.memory
            .get(id)
            .or_else(|| tab.view.get(id).and_then(|(_, r)| r.as_ref()))
            .cloned()
    }

    fn save(&self, id: &str, record: &Record) -> bool {
        let before = self.load(id);
        let mut w = self.world.borrow_mut();
        w.version += 1;
        if record.accepted_ms.is_none() {
            // When its record says it was first queued (the TTL runs from there).
            let owed = w.owed.entry(key_of(id)).or_default();
            let created = record.created_ms as f64;
            owed.queued_wall = Some(owed.queued_wall.map_or(created, |q| q.min(created)));
        }
        w.tabs[self.tab].before.insert(id.to_owned(), before);
        if w.storage_full {
            w.tabs[self.tab].memory.insert(id.to_owned(), record.clone());
            return false;
        }
        w.tabs[self.tab].memory.remove(id);
        write(&mut w, self.tab, id, Some(record.clone()));
        true
    }

    fn remove(&self, id: &str) {
        let mut w = self.world.borrow_mut();
        w.version += 1;
        w.tabs[self.tab].memory.remove(id);
        write(&mut w, self.tab, id, None);
    }

    fn records(&self) -> Vec<(String, Record)> {
        let w = self.world.borrow();
        let tab = &w.tabs[self.tab];
        let mut all: BTreeMap<String, Record> = tab
            .view
            .iter()
            .filter_map(|(id, (_, r))| Some((id.clone(), r.clone()?)))
            .collect();
        for (id, record) in &tab.memory {
            all.insert(id.clone(), record.clone());
        }
        all.into_iter().collect()
    }

    fn lock(&self, id: &str, lease_for_ms: i64) -> Boxed<Lock<Guard>> {
        let slot = Slot::new();
        let name = id.to_owned();
        let tab = self.tab;
        let world = self.world.clone();
        let granted = self.granted.clone();
        {
            let mut w = self.world.borrow_mut();
            w.version += 1;
            let delay = w.latency();
            let s = slot.clone();
            if w.locks.is_some() {
                w.next_lock += 1;
                let lock_id = w.next_lock;
                granted.borrow_mut().push(lock_id);
                w.at(
                    delay,
                    Box::new(move |w| {
                        let locks = w.locks.as_mut().expect("locks");
                        locks
                            .entry(name.clone())
                            .or_insert_with(|| LockState {
                                holder: None,
                                holder_tab: 0,
                                queue: VecDeque::new(),
                            })
                            .queue
                            .push_back((lock_id, tab, s));
                        w.grant_next(&name);
                    }),
                );
            } else {
                // The lease's compare-and-set, in one transaction (a dead
                // page's never commits).
                w.at(
                    delay,
                    Box::new(move |w| {
                        if !w.tabs[tab].alive {
                            return;
                        }
                        let now = w.wall().floor() as i64;
                        // As `accepted.js` does: a lease further ahead than any
                        // attempt holds one was taken by a clock since set back.
                        let held = w.leases.get(&name).map(|&(until, _, _)| until);
                        let free = held.is_none_or(|until| until <= now || until - now > MAX_LEASE_MS);
                        if free {
                            let ends = w.t + lease_for_ms as f64;
                            w.leases.insert(name.clone(), (now + lease_for_ms, tab, ends));
                            w.held_leases.insert((tab, key_of(&name)));
                            s.fill(Lock::Held(Guard {
                                name,
                                id: 0,
                                tab,
                                lease_start: Some(now + lease_for_ms),
                                world: None,
                            }));
                        } else {
                            s.fill(Lock::Taken(held.unwrap_or(now)));
                        }
                    }),
                );
            }
        }
        Box::pin(async move {
            let mut lock = Wait(slot).await;
            if let Lock::Held(guard) = &mut lock {
                guard.world = Some(world);
            }
            lock
        })
    }

    fn accepted_at(&self, id: &str) -> Boxed<Option<i64>> {
        let slot = Slot::new();
        let s = slot.clone();
        let id = id.to_owned();
        let mut w = self.world.borrow_mut();
        let delay = w.latency();
        w.at(
            delay,
            Box::new(move |w| {
                s.fill(w.accepted.get(&id).copied());
            }),
        );
        Box::pin(Wait(slot))
    }

    fn mark_accepted(&self, id: &str, at: i64, forget_before: i64) -> Boxed<()> {
        let slot = Slot::new();
        let s = slot.clone();
        let id = id.to_owned();
        let tab = self.tab;
        let mut w = self.world.borrow_mut();
        let delay = w.latency();
        w.at(
            delay,
            Box::new(move |w| {
                // A killed page's transaction does not commit.
                if w.tabs[tab].alive {
                    w.accepted.retain(|_, when| *when >= forget_before);
                    w.accepted.insert(id, at);
                }
                s.fill(());
            }),
        );
        Box::pin(Wait(slot))
    }

    fn post(&self, request: Request<'_>) -> Option<usize> {
        if self.world.borrow().fetch_refuses {
            return None;
        }
        Some(send(&self.world, self.tab, request, false))
    }

    fn reply(&self, pending: usize) -> Boxed<Reply> {
        let slot = self.world.borrow().sent[pending].slot.clone();
        let world = self.world.clone();
        Box::pin(async move {
            let reply = Wait(slot).await;
            world.borrow_mut().sent[pending].concluded = true;
            reply
        })
    }

    fn beacon(&self, url: &str, body: &str) -> bool {
        send(
            &self.world,
            self.tab,
            Request {
                url,
                body,
                timeout_ms: 0,
                keepalive: true,
            },
            true,
        );
        true
    }

    fn spawn(&self, task: impl Future<Output = ()> + 'static) {
        SPAWNED.with_borrow_mut(|s| s.push((self.tab, Box::pin(task))));
    }

    fn set_timer(&self, delay_ms: i64) {
        let mut w = self.world.borrow_mut();
        trace(w.t, || format!("tab {}: timer in {delay_ms} ms", self.tab));
        w.version += 1;
        w.seq += 1;
        let setting = w.seq;
        let tab = self.tab;
        w.tabs[tab].timer = Some(setting);
        w.at(
            delay_ms as f64,
            Box::new(move |w| {
                if w.tabs[tab].alive && w.tabs[tab].timer == Some(setting) {
                    w.tabs[tab].timer = None;
                    w.tabs[tab].wakeups += 1;
                    trace(w.t, || format!("tab {tab}: timer"));
                    w.fired.push(tab);
                }
            }),
        );
    }

    /// A page of this world is always left through `pagehide` (`Sim::close`),
    /// so `beforeunload` adds nothing here; the browser suites test it.
    fn watch_leaving(&self, _: bool) {}

    fn warn(&self, warning: Warning) {
        self.world.borrow_mut().warnings.push((self.tab, warning));
    }
}

/// A write to `localStorage`: this tab sees it at once, the others a
/// little later, never out of order.
fn write(w: &mut World, from: usize, id: &str, record: Option<Record>) {
    w.writes += 1;
    let entry = (w.writes, record);
    w.tabs[from].view.insert(id.to_owned(), entry.clone());
    w.store.insert(id.to_owned(), entry.clone());
    let most = w.lag_ms;
    let lag = w.rng.between(0.0, most);
    let id = id.to_owned();
    w.at(
        lag,
        Box::new(move |w| {
            for (i, tab) in w.tabs.iter_mut().enumerate() {
                let newer = tab.view.get(&id).is_none_or(|(seq, _)| *seq < entry.0);
                if i != from && newer {
                    tab.view.insert(id.clone(), entry.clone());
                }
            }
        }),
    );
}

thread_local! {
    /// Tasks a host spawned, for the executor to take.
    static SPAWNED: RefCell<Vec<(usize, Task)>> = const { RefCell::new(Vec::new()) };
}

/// Starts a POST (or a beacon) in the world, checking the promises as it
/// starts: never while another attempt at the tracking is in flight within
/// its lease, never after an engine read the collector's 2xx for it (within
/// the 7 days it is remembered).
fn send(world: &Rc<RefCell<World>>, tab: usize, request: Request<'_>, beacon: bool) -> usize {
    let body: serde_json::Value = serde_json::from_str(request.body).expect("a JSON body");
    let key = body["customerId"].as_str().expect("a customerId").to_owned();
    let mut w = world.borrow_mut();
    w.version += 1;
    let wall = w.wall();
    // Under the tracking's lock (or lease), the engine has the accepted
    // set's word, consistent across tabs: it must keep every promise. A
    // beacon, or a page being left, sends without it, by what its page
    // sees of the queue, which another tab's write may not have reached
    // yet (or never, where storage refused it): it must keep the promises
    // only as far as it can see.
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
                Some(before) if !beacon => before.as_ref(),
                _ => tab.memory.get(id).or_else(|| tab.view.get(id)?.1.as_ref()),
            })
            .collect();
        (
            seen.iter().any(|r| r.was_accepted(now_ms)),
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
fn land(w: &mut World, index: usize) {
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
            if w.not_referred.contains(&key) {
                w.violations.push(format!(
                    "t={t}: {key} reached the collector for a visitor the marketplace did not refer"
                ));
            }
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
                if let Outcome::Status(200..=299) = outcome {
                    let (t, wall, tab, key) = (w.t, w.wall(), sent.tab, sent.key.clone());
                    w.owed.entry(key).or_default().reads.push((t, tab, wall));
                }
            }
        }),
    );
}

/// A call's report: the customer, and how it ended.
pub type Reported = (String, Result<Called, String>);

/// Wakes nobody: the executor polls every task until nothing moves.
struct Noop;

impl std::task::Wake for Noop {
    fn wake(self: std::sync::Arc<Self>) {}
}

/// A tab's engine and its tasks.
pub struct Page {
    pub engine: Rc<Engine<Tab>>,
    pub tasks: Vec<Task>,
    pub granted: Rc<RefCell<Vec<u64>>>,
}

/// The world and its pages: the executor.
pub struct Sim {
    pub world: Rc<RefCell<World>>,
    pub pages: Vec<Option<Page>>,
    /// Each call's report, by tab.
    pub reports: Rc<RefCell<Vec<Reported>>>,
    /// What each `flush` resolved to.
    pub flushed: Rc<RefCell<Vec<Flushed>>>,
    pub polls: u64,
}

impl Sim {
    pub fn new(world: World) -> Sim {
        Sim {
            world: Rc::new(RefCell::new(world)),
            pages: Vec::new(),
            reports: Rc::new(RefCell::new(Vec::new())),
            flushed: Rc::new(RefCell::new(Vec::new())),
            polls: 0,
        }
    }

    /// Opens a page with the pixel: it flushes what is due on load.
    pub fn open(&mut self) -> usize {
        let tab = self.world.borrow_mut().open_tab();
        trace(self.world.borrow().t, || format!("tab {tab} opens"));
        let granted = Rc::new(RefCell::new(Vec::new()));
        let engine = Engine::new(Tab {
            world: self.world.clone(),
            tab,
            granted: granted.clone(),
        });
        let flush = engine.flush(Mode::Due);
        self.pages.push(Some(Page {
            engine,
            tasks: vec![Box::pin(async move {
                flush.await;
            })],
            granted,
        }));
        self.run();
        tab
    }

    /// The page calls `createSaasTracking` for `customer`.
    pub fn call(&mut self, tab: usize, customer: &str, beacon: bool, timeout_ms: f64) {
        self.call_with(tab, input(customer, beacon, timeout_ms));
    }

    /// The page calls `createSaasTracking` with these values (and whatever
    /// `configure()` set under them).
    pub fn call_with(&mut self, tab: usize, input: CallInput<'_>) {
        self.call_referred(tab, input, None, true);
    }

    /// The page calls with the visitor's kept referral as the page read it
    /// (`referral`); `referred`: whether the visitor counts as referred,
    /// as the schedule made it (when not, with `requireReferral`, nothing
    /// may reach the collector and the call must end skipped).
    pub fn call_referred(&mut self, tab: usize, input: CallInput<'_>, referral: Option<Referral>, referred: bool) {
        let Some(page) = self.pages[tab].as_mut() else { return };
        let gated_out = input.require_referral == Some(true) && !referred;
        let customer = input.customer_id.unwrap_or_default();
        let beacon = input.transport == Some("beacon");
        let outbound = page.engine.prepare(input).expect("a valid call");
        trace(self.world.borrow().t, || {
            format!("tab {tab} calls {customer}{}", if beacon { " (beacon)" } else { "" })
        });
        let body = serde_json::to_string(&outbound.tracking).expect("JSON");
        if gated_out {
            self.world.borrow_mut().not_referred.insert(customer.to_owned());
        } else {
            let mut w = self.world.borrow_mut();
            let t = w.t;
            let wall = w.wall();
            let owed = w.owed.entry(customer.to_owned()).or_default();
            if owed.queued_wall.is_none() {
                owed.first_call = t;
                owed.queued_wall = Some(wall);
            }
            owed.latest_wall = owed.latest_wall.max(wall);
        }
        let call = page.engine.call(outbound, body, referral);
        let reports = self.reports.clone();
        let world = self.world.clone();
        let key = customer.to_owned();
        page.tasks.push(Box::pin(async move {
            let result = call.await;
            trace(world.borrow().t, || format!("{key}: {result:?}"));
            let skipped = matches!(&result, Ok(c) if matches!(c.report, Report::Skipped(_)));
            world.borrow_mut().skipped += u32::from(skipped);
            if skipped != gated_out {
                let t = world.borrow().t;
                world.borrow_mut().violations.push(format!(
                    "t={t}: {key} {} though the visitor was {}referred",
                    if skipped { "was skipped" } else { "went on" },
                    if referred { "" } else { "not " }
                ));
            }
            reports
                .borrow_mut()
                .push((key, result.map_err(|(e, _)| e.code().to_owned())));
        }));
        self.run();
    }

    /// `flush()` (or another flush): what it resolved to goes to `flushed`.
    pub fn flush(&mut self, tab: usize, mode: Mode) {
        let Some(page) = self.pages[tab].as_mut() else { return };
        let flush = page.engine.flush(mode);
        let flushed = self.flushed.clone();
        page.tasks.push(Box::pin(async move {
            let done = flush.await;
            flushed.borrow_mut().push(done);
        }));
        self.run();
    }

    /// The page's engine.
    pub fn engine(&self, tab: usize) -> Rc<Engine<Tab>> {
        self.pages[tab].as_ref().expect("a live page").engine.clone()
    }

    /// Tells the page's engine of an event.
    pub fn event(&mut self, tab: usize, event: PageEvent) {
        let Some(page) = self.pages[tab].as_mut() else { return };
        trace(self.world.borrow().t, || format!("tab {tab}: {event:?}"));
        let flush = page.engine.page(event);
        page.tasks.push(Box::pin(async move {
            flush.await;
        }));
        self.run();
    }

    /// The page is left (`pagehide`: the engine sends what is due) or
    /// killed (nothing runs).
    pub fn close(&mut self, tab: usize, left: bool) {
        if self.pages[tab].is_none() {
            return;
        }
        if left {
            self.world.borrow_mut().tabs[tab].leaving = true;
            self.event(tab, PageEvent::Left);
        }
        self.world.borrow_mut().close_tab(tab);
        // Dropping its tasks drops its guards: a lease stays (the page never
        // ran its `finally`); the lock manager frees the page's locks.
        let page = self.pages[tab].take();
        drop(page);
        let pages = &self.pages;
        let owner = |lock: u64| -> Option<usize> {
            pages
                .iter()
                .enumerate()
                .find(|(_, p)| p.as_ref().is_some_and(|p| p.granted.borrow().contains(&lock)))
                .map(|(i, _)| i)
        };
        self.world.borrow_mut().free_dead_locks(&owner);
        self.run();
    }

    /// Polls every task of every live page until nothing moves.
    pub fn run(&mut self) {
        let waker = Waker::from(std::sync::Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut rounds = 0;
        loop {
            rounds += 1;
            assert!(rounds < 100_000, "the executor does not settle");
            let before = self.world.borrow().version;
            let mut moved = false;
            let fired = self.world.borrow_mut().take_fired();
            for fired in fired {
                if let Some(page) = self.pages[fired].as_mut() {
                    let flush = page.engine.page(PageEvent::Timer);
                    page.tasks.push(Box::pin(async move {
                        flush.await;
                    }));
                    moved = true;
                }
            }
            for page in self.pages.iter_mut().flatten() {
                let mut i = 0;
                while i < page.tasks.len() {
                    self.polls += 1;
                    if page.tasks[i].as_mut().poll(&mut cx).is_ready() {
                        drop(page.tasks.swap_remove(i));
                        moved = true;
                    } else {
                        i += 1;
                    }
                }
            }
            for (tab, task) in SPAWNED.with_borrow_mut(std::mem::take) {
                if let Some(page) = self.pages[tab].as_mut() {
                    page.tasks.push(task);
                    moved = true;
                }
            }
            if !moved && self.world.borrow().version == before {
                break;
            }
        }
    }

    /// Lets virtual time pass by `ms`, running what falls due.
    pub fn wait(&mut self, ms: f64) {
        let until = self.world.borrow().t + ms;
        loop {
            let ran = self.world.borrow_mut().run_next(until);
            if !ran {
                break;
            }
            self.run();
        }
        let mut w = self.world.borrow_mut();
        w.t = w.t.max(until);
        drop(w);
        self.run();
    }
}

/// The day, for schedules.
pub const fn day() -> f64 {
    DAY
}

/// The hour, for schedules.
pub const fn hour() -> f64 {
    HOUR
}

/// A call of the simulated page for `customer`.
pub fn input(customer: &str, beacon: bool, timeout_ms: f64) -> CallInput<'_> {
    CallInput {
        partner_key: Some("pk_sim"),
        service_name: Some("Sim CRM"),
        customer_id: Some(customer),
        purchased_at: None,
        base_url: Some("https://collector.example"),
        timeout_ms: Some(timeout_ms),
        transport: Some(if beacon { "beacon" } else { "fetch" }),
        require_referral: None,
    }
}
