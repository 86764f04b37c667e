//! Everything outside the engine, as one trait: the clock, randomness, the
//! record store, the tracking's lock (or lease), the accepted set, starting
//! a POST and awaiting its answer, beacons, the timer and the page being
//! left. The browser implements it with web-sys, js-sys and gloo-net
//! (`onramp-pixel`'s `src/web/`); the simulation (`core/tests/sim/`) with
//! an in-memory world. A host decides nothing: it does what the engine
//! asks and reports what happened.
//!
//! Every future a host returns is a `'static` type of its own (it owns what
//! it needs), so the engine can start a request or ask for a lock in the
//! caller's task and await the answer later.

use std::future::Future;

use crate::queue::Record;
use crate::steps::Outcome;

/// A POST the engine asks the host to start: the JSON body to
/// `{baseUrl}/api/SaasTrackings`, without cookies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// `{baseUrl}/api/SaasTrackings`.
    pub url: &'a str,
    /// The JSON body: the four fields.
    pub body: &'a str,
    /// How long to wait for the answer.
    pub timeout_ms: u32,
    /// The request must outlive the page (`keepalive`): a tracking sent as
    /// the page is left still arrives.
    pub keepalive: bool,
}

/// What an attempt got back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// How the attempt ended.
    pub outcome: Outcome,
    /// The collector's `Retry-After` header, when it sent one.
    pub retry_after: Option<String>,
    /// `Retry-After` read as an HTTP date (epoch ms), when it reads as one.
    pub retry_after_date_ms: Option<i64>,
    /// The answer's body.
    pub text: String,
}

/// The tracking's lock, as the host could take it.
#[derive(Debug)]
pub enum Lock<G> {
    /// Held until the guard is dropped: no other tab's attempt at the
    /// tracking runs meanwhile, and the accepted set can be trusted.
    Held(G),
    /// Another tab holds the tracking's lease until this time (epoch ms, by
    /// the clock that took it): this attempt has nothing to do.
    Taken(i64),
    /// No lock here (no page, a refused request): the attempt runs without
    /// one, and without the accepted set's word.
    Unlocked,
}

/// What the page is told about, once each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Warning {
    /// The record store refused a tracking: it waits in this page's memory
    /// only.
    NotStored,
    /// Waiting trackings were dropped: older than the queue's TTL, or past
    /// its bound.
    GivenUp,
}

impl Warning {
    /// The warning in words.
    pub const fn message(self) -> &'static str {
        match self {
            Warning::NotStored => {
                "the queue cannot be stored (storage full or disabled): a waiting tracking is lost when the page closes"
            }
            Warning::GivenUp => "trackings were dropped from the queue: older than 7 days, or past its 100",
        }
    }
}

/// What happened to the page, as the host saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageEvent {
    /// The browser is back online.
    Online,
    /// The page was hidden (another tab came to the front).
    Hidden,
    /// The page is being left (`pagehide`, or `beforeunload` while an
    /// attempt waits for its lock).
    Left,
    /// The retry timer fired.
    Timer,
}

/// Everything outside the engine.
pub trait Host {
    /// Held while an attempt holds the tracking's lock; dropping it
    /// releases the lock.
    type Guard: 'static;
    /// A request in flight.
    type Pending: 'static;
    /// The future of [`Host::lock`].
    type Locking: Future<Output = Lock<Self::Guard>> + 'static;
    /// The future of [`Host::accepted_at`].
    type Reading: Future<Output = Option<i64>> + 'static;
    /// The future of [`Host::mark_accepted`].
    type Marking: Future<Output = ()> + 'static;
    /// The future of [`Host::reply`].
    type Replying: Future<Output = Reply> + 'static;

    /// The clock, in epoch milliseconds (`Date.now()`).
    fn now(&self) -> f64;
    /// A uniform draw from `[0, 1)`.
    fn random(&self) -> f64;

    /// The tracking's record, if the store has one that reads.
    fn load(&self, id: &str) -> Option<Record>;
    /// Stores the tracking's record; false when only this page's memory
    /// took it.
    fn save(&self, id: &str, record: &Record) -> bool;
    /// Forgets the tracking's record.
    fn remove(&self, id: &str);
    /// Every record, by id.
    fn records(&self) -> Vec<(String, Record)>;

    /// Asks for the tracking's lock now (or its lease of `lease_for_ms`, where
    /// there are no locks); the future resolves when it is held, or why
    /// not.
    fn lock(&self, id: &str, lease_for_ms: i64) -> Self::Locking;
    /// When the accepted set (consistent across tabs) says the tracking was
    /// accepted, if it does.
    fn accepted_at(&self, id: &str) -> Self::Reading;
    /// Records in the accepted set that the tracking was accepted at `at`,
    /// and forgets what it holds from before `forget_before` (trackings
    /// accepted, and leases ending, before then).
    fn mark_accepted(&self, id: &str, at: i64, forget_before: i64) -> Self::Marking;

    /// Starts a POST now; `None` when it cannot start.
    fn post(&self, request: Request<'_>) -> Option<Self::Pending>;
    /// The answer of a POST started by [`Host::post`].
    fn reply(&self, pending: Self::Pending) -> Self::Replying;
    /// Hands a beacon to the browser now (its answer is never read); true
    /// when taken.
    fn beacon(&self, url: &str, body: &str) -> bool;

    /// Runs a task on its own; nobody awaits it.
    fn spawn(&self, task: impl Future<Output = ()> + 'static);
    /// Wakes the engine with [`PageEvent::Timer`] in `delay_ms`, in place of
    /// any timer set before.
    fn set_timer(&self, delay_ms: i64);
    /// Reports [`PageEvent::Left`] from `beforeunload` too (`on`), or no
    /// longer: some engines fire no `pagehide` for a page left before its
    /// load event, and a `beforeunload` listener can keep a page out of the
    /// back/forward cache, so only while an attempt waits for its lock.
    fn watch_leaving(&self, on: bool);
    /// Tells the page's developer.
    fn warn(&self, warning: Warning);
}
