//! What the tabs share: `localStorage` (each tab's view of it, reached by
//! another tab's write a little later), the accepted set, Web Locks or the
//! leases that stand in for them, the collector's mood, the clock (real
//! time and the visitor's skew), and the agenda of what happens next, at
//! virtual times drawn from the seed. Actions due at the same instant run
//! in an order the seed draws, as a browser's tasks due at once may.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use onramp_core::host::{Lock, Reply, Warning};
use onramp_core::queue::{Record, MAX_LEASE_MS};
use onramp_core::tracking::Tracking;

use super::executor::Slot;
use super::host::Guard;
use super::{trace, START_WALL};

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
pub const HANG_MS: f64 = 90_000.0;

/// A bug planted in the world's host, for a test to show that the
/// simulation catches it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Planted {
    /// None.
    #[default]
    Nothing,
    /// The accepted set's reading completes without waking the task that
    /// awaits it.
    UnwokenRead,
}

/// Something the agenda does at its time.
pub type Action = Box<dyn FnOnce(&mut World)>;

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
    pub slot: Slot<Reply>,
}

/// What one tab of the world holds.
pub struct TabState {
    pub alive: bool,
    /// Its view of `localStorage`: each record with the number of the
    /// write it came from (`None`: removed), so that a late copy of an older
    /// write never replaces a newer one.
    pub view: BTreeMap<String, (u64, Option<Record>)>,
    /// Records `localStorage` refused, in this page's memory.
    pub memory: BTreeMap<String, Record>,
    /// What this page read of each record just before it last wrote it (a
    /// claim is a write: this is what the engine claimed from).
    pub before: BTreeMap<String, Before>,
    /// The timer: when, and which setting.
    pub timer: Option<u64>,
    pub wakeups: u32,
    pub opened_at: f64,
    pub closed_at: Option<f64>,
    /// The page is being left: its engine sends without locks.
    pub leaving: bool,
}

/// What a page read of a record just before it wrote it.
pub struct Before {
    /// The record, if it had one.
    pub record: Option<Record>,
    /// The number of the write its view held of it (`None`: none, or the
    /// record was in its memory).
    pub write: Option<u64>,
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
    pub holder: Option<u64>,
    /// The tab that holds it.
    pub holder_tab: usize,
    pub queue: VecDeque<(u64, usize, Slot<Lock<Guard>>)>,
}

/// The world every tab shares.
pub struct World {
    /// Real time since the start (ms): what timers and latencies run on.
    pub t: f64,
    /// What the visitor's clock adds to it.
    pub skew: f64,
    pub rng: Rng,
    /// What happens next: by instant, then by a draw of the seed (actions
    /// due at the same instant run in any order), then by when it was set.
    pub agenda: BTreeMap<(u64, u64, u64), Action>,
    pub seq: u64,
    /// Bumped by every change, so the executor knows when to poll again.
    pub version: u64,
    pub tabs: Vec<TabState>,
    /// `localStorage` as a new tab sees it.
    pub store: BTreeMap<String, (u64, Option<Record>)>,
    pub writes: u64,
    pub storage_full: bool,
    /// The longest a write takes to reach the other tabs.
    pub lag_ms: f64,
    /// IndexedDB's accepted set.
    pub accepted: BTreeMap<String, i64>,
    /// Web Locks, or `None`: the lease in IndexedDB.
    pub locks: Option<BTreeMap<String, LockState>>,
    /// The leases: until when, which tab took it, and when in real time it
    /// ends (a clock set forward ends it sooner).
    pub leases: BTreeMap<String, (i64, usize, f64)>,
    /// Which tab was granted a lease for which tracking and holds it still
    /// (its guard not yet dropped), expired or not.
    pub held_leases: BTreeSet<(usize, String)>,
    pub next_lock: u64,
    pub collector: Collector,
    pub sent: Vec<Sent>,
    pub owed: BTreeMap<String, Owed>,
    /// Tabs whose timer fired, for the executor to wake.
    pub fired: Vec<usize>,
    pub violations: Vec<String>,
    /// Duplicates at the collector that the README's limits explain.
    pub explained_duplicates: u32,
    /// `fetch` refuses to start (a page's CSP, a browser without it).
    pub fetch_refuses: bool,
    /// What each page was warned of.
    pub warnings: Vec<(usize, Warning)>,
    /// Trackings called only by visitors the marketplace did not refer,
    /// with `requireReferral`: the collector must never see them.
    pub not_referred: BTreeSet<String>,
    /// Calls the gate skipped.
    pub skipped: u32,
    /// A bug planted in the host.
    pub planted: Planted,
    /// The trackings each customer was called for: what a request's body
    /// must say.
    pub called: BTreeMap<String, Vec<Tracking>>,
    /// The latest `Retry-After` a page read for each tracking, until the
    /// next request for it.
    pub retry_afters: BTreeMap<String, RetryAfterRead>,
}

/// A collector's `Retry-After` as a page read it.
pub struct RetryAfterRead {
    /// The page that read it.
    pub tab: usize,
    /// Until when it holds (epoch ms by the visitor's clock then).
    pub until: i64,
    /// The visitor's clock's skew then: a clock moved since may make the
    /// wait end sooner.
    pub skew: f64,
    /// The number of the write to `localStorage` that stored the wait, once
    /// there is one: a page whose view holds it knows of the wait.
    pub write: Option<u64>,
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
            held_leases: BTreeSet::new(),
            next_lock: 0,
            collector: Collector::Up,
            sent: Vec::new(),
            owed: BTreeMap::new(),
            fired: Vec::new(),
            violations: Vec::new(),
            explained_duplicates: 0,
            fetch_refuses: false,
            warnings: Vec::new(),
            not_referred: BTreeSet::new(),
            skipped: 0,
            planted: Planted::Nothing,
            called: BTreeMap::new(),
            retry_afters: BTreeMap::new(),
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
    pub fn at(&mut self, delay: f64, action: Action) {
        let when = (self.t + delay.max(0.0)).ceil() as u64;
        self.seq += 1;
        let draw = self.rng.next();
        self.agenda.insert((when, draw, self.seq), action);
    }

    /// A short, random latency.
    pub fn latency(&mut self) -> f64 {
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
    pub fn note_wall(&mut self) {
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

    pub fn grant_next(&mut self, name: &str) {
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
pub fn key_of(id: &str) -> String {
    id.rsplit('\u{1f}').next().unwrap_or(id).to_owned()
}

/// A write to `localStorage`: this tab sees it at once, the others a
/// little later, never out of order.
pub fn write(w: &mut World, from: usize, id: &str, record: Option<Record>) {
    w.writes += 1;
    if let Some(read) = w.retry_afters.get_mut(&key_of(id)) {
        if read.tab == from && read.write.is_none() {
            read.write = Some(w.writes);
        }
    }
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
