//! The delivery engine: every decision of a tracking's way from the call to
//! the collector, written once against a [`Host`]. A call is checked,
//! queued, sent under its lock, its outcome recorded; flushes send what
//! waits (on load, on the retry timer, when the browser comes back online,
//! when the page is hidden or left, and on `flush()`); the retry timer is
//! armed for what is not due yet.
//!
//! The engine decides the order of effects and does what must happen in
//! the caller's task (storing the record, a beacon, asking for the lock, a
//! request started as the page is left) before it returns the future that
//! awaits the rest. It calls only the rules ([`crate::steps`],
//! [`crate::queue`], [`crate::outbound`]) and its host; nothing calls back
//! into it but the host's events ([`Engine::page`]).
//!
//! A new concern of delivery goes here when it decides something (which
//! tracking goes, when, by which way), in [`crate::steps`] when it is a
//! rule over one record, and in the host when it only does what it is told.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::error::Error;
use crate::host::{Host, Lock, PageEvent, Request, Warning};
use crate::options::Transport;
use crate::outbound::{CallInput, ConfigureInput, Defaults, Outbound};
use crate::queue::{self, lease_for, Record};
use crate::referral::{self, Referral, Skip};
use crate::retry::{RetryAfter, Verdict};
use crate::steps::{self, Admission, Claim, Outcome, Settled};
use crate::time::Timestamp;

/// The longest delay a JS timer takes (2^31 − 1 ms); a longer one fires at
/// once.
pub const MAX_TIMER_MS: i64 = 2_147_483_647;
/// How long after a record's due time the timer wakes: a timer that fires
/// a little early would find nothing due and wake again.
pub const TIMER_MARGIN_MS: i64 = 50;

/// The collector's answer, when there is one: what the engine keeps of the
/// host's [`crate::host::Reply`] (which also carries how an attempt without
/// an answer ended, and `Retry-After`, both settled here). The page gets it
/// as `convert::JsAnswer` in `onramp-pixel`, its body parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body, as text.
    pub text: String,
}

/// How a call ended, when it was not refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Report {
    /// Nothing was stored or sent: the gate skipped it.
    Skipped(Skip),
    /// This browser delivered it before (the reload guard, or the accepted
    /// set): nothing was sent.
    AlreadySent,
    /// Nothing was sent now: another attempt at it is in flight (in this
    /// tab or another), which settles it; it waits in the queue meanwhile.
    Waiting,
    /// Sent now.
    Sent {
        /// By which way.
        transport: Transport,
        /// The collector took it (or, for a beacon, the browser did).
        accepted: bool,
        /// The collector's answer, when there was one.
        answer: Option<Answer>,
        /// When the next attempt is due, when it waits for one.
        retry_at: Option<Timestamp>,
        /// Why the attempt failed, when it did without an answer.
        error: Option<Error>,
    },
}

/// A call that was not refused: how it ended, and whether its record is in
/// the store (not only in this page's memory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Called {
    /// How it ended.
    pub report: Report,
    /// False when the store refused its record: while it waits, it lives
    /// only in this page.
    pub persisted: bool,
    /// The visitor's referral that counted, when there was one.
    pub referral: Option<Referral>,
}

/// A refused call: the error, and the collector's answer when it refused
/// it.
pub type Refused = (Error, Option<Answer>);

/// What a flush did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Trackings the collector accepted in this flush.
    pub sent: u32,
    /// Trackings still waiting afterwards.
    pub waiting: u32,
}

/// Why the queue is being sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// On load, on the retry timer and when the page is hidden: what is
    /// due, each under its lock.
    Due,
    /// `flush()` and the browser coming back online: everything not in
    /// flight, backoff or not, each under its lock.
    Forced,
    /// The page is left: what it queued itself and no attempt has failed
    /// yet, started at once, without waiting for a lock the page may not
    /// live to get.
    Leaving,
}

/// What an attempt's start came to: its claim ([`Claim`], the rule over
/// the record) and, when the claim says send, the request started.
enum Started<P> {
    /// Its request is in flight.
    Sent(P),
    /// Accepted already, in this tab or another: nothing to send.
    Accepted,
    /// Another attempt has it, or it left the queue: not this attempt's job.
    NotMine,
    /// Claimed, but the request could not start.
    Unavailable,
}

/// What an attempt finds once it asked for the lock.
struct Turn<G> {
    /// The lock, released when the attempt is over.
    _guard: Option<G>,
    /// When another tab holds the tracking's lease: until when.
    taken_until: Option<i64>,
    /// When the accepted set says the tracking was accepted, if it does.
    accepted_at: Option<i64>,
}

impl<G> Turn<G> {
    /// A turn without the lock's (and the accepted set's) word: the page is
    /// being left.
    const UNLOCKED: Turn<G> = Turn {
        _guard: None,
        taken_until: None,
        accepted_at: None,
    };
}

/// What a call does once admitted: ends now, or attempts under the
/// tracking's lock, asked for in the caller's task.
enum Next<H: Host> {
    /// Ended now (already sent, in flight, a beacon).
    Done(Result<Report, Refused>),
    /// Waits for the lock; counted as this page's attempt meanwhile.
    Attempt(Attempting<H>, H::Locking),
}

/// A flush's attempts, run together.
type Attempt = Pin<Box<dyn Future<Output = bool>>>;

/// The delivery engine of one page, over its host.
pub struct Engine<H> {
    host: H,
    /// What `configure()` set, laid under each later call.
    defaults: RefCell<Defaults>,
    /// Whether the page was told that the store refused a tracking.
    warned: Cell<bool>,
    /// When the timer fires, by the host's clock; infinite when none is set.
    fires_at: Cell<f64>,
    /// The trackings this page attempts under their lock: waiting for it,
    /// or holding it. A flush leaves them to that attempt.
    attempts: RefCell<Vec<String>>,
    /// The trackings this page queued, with their record's creation time:
    /// a page being left sends only those it queued itself (as far as it
    /// can see, the record is still the one it queued), so that two tabs
    /// closed at once do not both send another page's tracking.
    queued: RefCell<Vec<(String, i64)>>,
}

/// An attempt of this page under the tracking's lock, until dropped.
struct Attempting<H: Host>(Rc<Engine<H>>, String);

impl<H: Host> Drop for Attempting<H> {
    fn drop(&mut self) {
        let mut attempts = self.0.attempts.borrow_mut();
        if let Some(at) = attempts.iter().position(|id| *id == self.1) {
            attempts.swap_remove(at);
        }
        if attempts.is_empty() {
            self.0.host.watch_leaving(false);
        }
    }
}

impl<H: Host + 'static> Engine<H> {
    /// An engine over `host`, with no defaults set.
    pub fn new(host: H) -> Rc<Engine<H>> {
        Rc::new(Engine {
            host,
            defaults: RefCell::new(Defaults::NONE),
            warned: Cell::new(false),
            fires_at: Cell::new(f64::INFINITY),
            attempts: RefCell::new(Vec::new()),
            queued: RefCell::new(Vec::new()),
        })
    }

    fn now(&self) -> Result<Timestamp, Error> {
        Timestamp::from_epoch_ms(self.host.now())
    }

    fn now_ms(&self) -> i64 {
        self.now().unwrap_or(Timestamp::EPOCH).as_millis()
    }

    /// `configure()`: keeps the options as defaults for later calls only
    /// when every option given is valid.
    pub fn configure(&self, options: ConfigureInput<'_>) -> Result<(), Error> {
        options.check()?;
        self.defaults.borrow_mut().set(options);
        Ok(())
    }

    /// Checks a call, with the configured defaults under it.
    pub fn prepare(&self, input: CallInput<'_>) -> Result<Outbound, Error> {
        let now = self.now()?;
        let defaults = self.defaults.borrow();
        Outbound::prepare(defaults.under(input), now)
    }

    /// A checked call (the POST's body is [`Outbound::body`], the core's,
    /// the same bytes on every host), from a visitor whose kept referral the
    /// page read as `referral`: past the gate
    /// ([`referral::gate`]), queued, and sent at once (a beacon in this
    /// task; a fetch as soon as the tracking's lock is held, asked for in
    /// this task). A call the gate skips is neither stored nor sent.
    pub fn call(
        self: &Rc<Self>,
        outbound: Outbound,
        referral: Option<Referral>,
    ) -> impl Future<Output = Result<Called, Refused>> {
        let now = self.now_ms();
        let mut persisted = true;
        let (next, referral) = match referral::gate(outbound.require_referral, referral, now) {
            Ok(referral) => (self.admit(&outbound, now, &mut persisted), referral),
            Err(skip) => (Next::Done(Ok(Report::Skipped(skip))), None),
        };
        let engine = self.clone();
        async move {
            let report = match next {
                Next::Done(done) => done?,
                Next::Attempt(attempting, lock) => {
                    let turn = engine.turn(lock, &outbound.id).await;
                    let report = engine.attempt(&outbound, &turn).await;
                    drop(turn);
                    drop(attempting);
                    report?
                }
            };
            Ok(Called {
                report,
                persisted,
                referral,
            })
        }
    }

    /// Where a call past the gate goes: ended now (already sent, in flight,
    /// a beacon), or an attempt under the lock asked for now; its record
    /// stored first when it has none that waits (`persisted`: whether the
    /// store took it).
    fn admit(self: &Rc<Self>, outbound: &Outbound, now: i64, persisted: &mut bool) -> Next<H> {
        let existing = self.host.load(&outbound.id);
        let admission = match steps::admit(existing.as_ref(), now) {
            // This page's own attempt at it settles it.
            Admission::Free if self.attempting(&outbound.id) => Admission::InFlight,
            admission => admission,
        };
        match admission {
            Admission::AlreadySent => Next::Done(Ok(Report::AlreadySent)),
            Admission::InFlight => {
                // The attempt in flight settles it; if it dies, the timer retries.
                self.arm_sooner(queue::next_due_in(existing.as_ref(), now));
                Next::Done(Ok(Report::Waiting))
            }
            Admission::Free => {
                if existing.is_none_or(|r| r.accepted_ms.is_some()) {
                    let record = Record::new(outbound.url.clone(), outbound.body.clone(), outbound.timeout_ms, now);
                    *persisted = self.host.save(&outbound.id, &record);
                    self.queued.borrow_mut().push((outbound.id.clone(), now));
                    if !*persisted && !self.warned.replace(true) {
                        self.host.warn(Warning::NotStored);
                    }
                    self.tidy(now);
                }
                if outbound.transport == Transport::Beacon {
                    Next::Done(self.beacon(&outbound.id, &outbound.url, &outbound.body))
                } else {
                    let attempting = self.attempt_locked(&outbound.id);
                    Next::Attempt(attempting, self.host.lock(&outbound.id, lease_for(outbound.timeout_ms)))
                }
            }
        }
    }

    /// One attempt at a call's tracking, in its turn.
    async fn attempt(self: &Rc<Self>, outbound: &Outbound, turn: &Turn<H::Guard>) -> Result<Report, Refused> {
        let id = &outbound.id;
        let pending = match self.claim(id, turn, true) {
            Started::Sent(pending) => pending,
            Started::Accepted => return Ok(Report::AlreadySent),
            Started::NotMine => return Ok(Report::Waiting),
            Started::Unavailable if outbound.transport.fallback() == Some(Transport::Beacon) => {
                return self.beacon(id, &outbound.url, &outbound.body);
            }
            Started::Unavailable => {
                let settled = self.settle(id, Outcome::Unavailable, None, None);
                return Err((settled.error.unwrap_or(Error::TransportUnavailable), None));
            }
        };
        let (settled, answer) = self.conclude(id, pending).await;
        if settled.verdict == Verdict::Rejected {
            return Err((settled.error.unwrap_or(Error::Network), answer));
        }
        Ok(Report::Sent {
            transport: Transport::Fetch,
            accepted: settled.verdict == Verdict::Accepted,
            error: if answer.is_none() { settled.error } else { None },
            answer,
            retry_at: settled.retry_at,
        })
    }

    /// A beacon, in this task: taken by the browser counts as delivered.
    fn beacon(self: &Rc<Self>, id: &str, url: &str, body: &str) -> Result<Report, Refused> {
        let taken = self.host.beacon(url, body);
        let outcome = if taken {
            Outcome::Delivered
        } else {
            Outcome::Unavailable
        };
        let settled = self.settle(id, outcome, None, None);
        if !taken {
            return Err((settled.error.unwrap_or(Error::TransportUnavailable), None));
        }
        let mark = self.mark_accepted(id);
        self.host.spawn(mark);
        Ok(Report::Sent {
            transport: Transport::Beacon,
            accepted: true,
            answer: None,
            retry_at: None,
            error: None,
        })
    }

    /// Counts an attempt of this page that asks for the tracking's lock,
    /// until dropped.
    fn attempt_locked(self: &Rc<Self>, id: &str) -> Attempting<H> {
        let mut attempts = self.attempts.borrow_mut();
        if attempts.is_empty() {
            self.host.watch_leaving(true);
        }
        attempts.push(id.to_owned());
        Attempting(self.clone(), id.to_owned())
    }

    /// Whether this page attempts the tracking under its lock now.
    fn attempting(&self, id: &str) -> bool {
        self.attempts.borrow().iter().any(|a| a == id)
    }

    /// Whether a page being left sends the tracking: one it queued itself
    /// (another tab left at the same moment sends its own) and that no
    /// attempt has failed yet. A failed one is retried by the next page at
    /// once: sent now, most likely to a collector that is still failing,
    /// its request would leave a lease no page could clear before it runs
    /// out.
    fn leaves_with_page(&self, id: &str, record: &Record) -> bool {
        let queued = self.queued.borrow();
        record.failures == 0 && queued.iter().any(|(q, at)| q == id && *at == record.created_ms)
    }

    /// Awaits the lock asked for, then reads the accepted set under it.
    async fn turn(&self, lock: impl Future<Output = Lock<H::Guard>>, id: &str) -> Turn<H::Guard> {
        match lock.await {
            Lock::Held(guard) => Turn {
                accepted_at: self.host.accepted_at(id).await,
                _guard: Some(guard),
                taken_until: None,
            },
            Lock::Taken(until) => Turn {
                taken_until: Some(until),
                ..Turn::UNLOCKED
            },
            Lock::Unlocked => Turn::UNLOCKED,
        }
    }

    /// Claims a waiting tracking for one attempt (see [`steps::claim`]),
    /// stores what that changed and starts its POST now.
    fn claim(&self, id: &str, turn: &Turn<H::Guard>, force: bool) -> Started<H::Pending> {
        if let Some(until) = turn.taken_until {
            // Another tab's lease: the timer wakes when it ends (at once when
            // it lies further ahead than any attempt holds one, as in records).
            let now = self.now_ms();
            let left = until.saturating_sub(now);
            self.arm_sooner(Some(if left > queue::MAX_LEASE_MS { 0 } else { left }));
            return Started::NotMine;
        }
        let mut record = self.host.load(id);
        let claim = steps::claim(record.as_mut(), self.now_ms(), turn.accepted_at, force);
        let Some(record) = record else {
            return Started::NotMine;
        };
        match claim {
            Claim::NotMine => {
                // Another tab's attempt: if it dies, the timer retries.
                self.arm_sooner(queue::next_due_in([&record], self.now_ms()));
                return Started::NotMine;
            }
            Claim::Accepted => {
                self.host.save(id, &record);
                return Started::Accepted;
            }
            Claim::Send => {
                self.host.save(id, &record);
            }
        }
        let request = Request {
            url: &record.url,
            body: &record.body,
            timeout_ms: record.timeout_ms,
            keepalive: true,
        };
        match self.host.post(request) {
            Some(pending) => Started::Sent(pending),
            None => Started::Unavailable,
        }
    }

    /// Records an attempt's outcome (see [`steps::settle`]) and arms the
    /// timer for what waits.
    fn settle(
        &self,
        id: &str,
        outcome: Outcome,
        retry_after: Option<&str>,
        retry_after_date_ms: Option<i64>,
    ) -> Settled {
        let now = self.now().unwrap_or(Timestamp::EPOCH);
        let stored = self.host.load(id);
        let mut record = stored.clone().unwrap_or_default();
        let header = retry_after.map(|value| RetryAfter {
            value,
            date_ms: retry_after_date_ms,
        });
        let settled = steps::settle(&mut record, outcome, header, now, self.host.random());
        match settled.verdict {
            Verdict::Rejected => self.host.remove(id),
            Verdict::Accepted => {
                self.host.save(id, &record);
            }
            Verdict::Retry if stored.is_some() => {
                self.host.save(id, &record);
                // Only this record's due time changed.
                self.arm_sooner(queue::next_due_in([&record], now.as_millis()));
            }
            Verdict::Retry => {}
        }
        settled
    }

    /// Awaits a POST's answer and records it; an accepted tracking goes
    /// into the accepted set before the lock is released.
    async fn conclude(&self, id: &str, pending: H::Pending) -> (Settled, Option<Answer>) {
        let reply = self.host.reply(pending).await;
        let settled = self.settle(
            id,
            reply.outcome,
            reply.retry_after.as_deref(),
            reply.retry_after_date_ms,
        );
        if settled.verdict == Verdict::Accepted {
            self.mark_accepted(id).await;
        }
        let answer = match reply.outcome {
            Outcome::Status(status) => Some(Answer {
                status,
                text: reply.text,
            }),
            _ => None,
        };
        (settled, answer)
    }

    /// Puts the tracking in the accepted set, which keeps each one as long
    /// as the store keeps its record ([`queue::TTL_MS`]): no record older
    /// than that is ever sent.
    fn mark_accepted(&self, id: &str) -> H::Marking {
        let now = self.now_ms();
        self.host.mark_accepted(id, now, now.saturating_sub(queue::TTL_MS))
    }

    /// Whether a flush's attempt got the tracking accepted.
    async fn delivered(&self, id: &str, claimed: Started<H::Pending>) -> bool {
        match claimed {
            Started::Sent(pending) => self.conclude(id, pending).await.0.verdict == Verdict::Accepted,
            Started::Unavailable => {
                self.settle(id, Outcome::Network, None, None);
                false
            }
            Started::Accepted | Started::NotMine => false,
        }
    }

    /// Forgets what the store should not keep (see [`queue::sweep`]), warns
    /// when waiting trackings were given up, and returns the rest.
    fn tidy(&self, now: i64) -> Vec<(String, Record)> {
        let records = self.host.records();
        let (forget, given_up) = queue::sweep(&records, now);
        let mut kept = Vec::with_capacity(records.len());
        for (i, (id, record)) in records.into_iter().enumerate() {
            if forget.contains(&i) {
                self.host.remove(&id);
            } else {
                kept.push((id, record));
            }
        }
        if given_up > 0 {
            self.host.warn(Warning::GivenUp);
        }
        kept
    }

    /// Something happened to the page: the timer and a hidden page send
    /// what is due, under each lock (hidden is not gone: another tab took
    /// the front, and a tracking that cannot be sent before the page is
    /// killed waits for the next page); the browser back online sends
    /// everything; a page being left sends what is due at once.
    pub fn page(self: &Rc<Self>, event: PageEvent) -> impl Future<Output = Flushed> {
        let mode = match event {
            PageEvent::Timer | PageEvent::Hidden => Mode::Due,
            PageEvent::Online => Mode::Forced,
            PageEvent::Left => Mode::Leaving,
        };
        self.flush(mode)
    }

    /// Sends the waiting trackings (see [`Mode`]); the requests of a page
    /// being left start in this task.
    pub fn flush(self: &Rc<Self>, mode: Mode) -> impl Future<Output = Flushed> {
        let now = self.now_ms();
        // What this page attempts under its lock already is that attempt's to
        // settle and to set the timer for, unless the page is left first.
        let (due, waits): (Vec<_>, Vec<_>) = self.tidy(now).into_iter().partition(|(id, r)| {
            r.is_due(now, mode == Mode::Forced)
                && if mode == Mode::Leaving {
                    self.leaves_with_page(id, r)
                } else {
                    !self.attempting(id)
                }
        });
        // Wakes for what is not due yet, and for attempts left in flight by a
        // page that went away, once their lease is over; each attempt made
        // now sets the timer for its tracking when it ends.
        let waits = waits.iter().filter(|(id, _)| !self.attempting(id));
        self.arm(queue::next_due_in(waits.map(|(_, r)| r), now));
        let attempts: Vec<Attempt> = due
            .into_iter()
            .map(|(id, record)| -> Attempt {
                let engine = self.clone();
                if mode == Mode::Leaving {
                    let claimed = self.claim(&id, &Turn::UNLOCKED, false);
                    return Box::pin(async move { engine.delivered(&id, claimed).await });
                }
                let waiting = self.attempt_locked(&id);
                let lock = self.host.lock(&id, lease_for(record.timeout_ms));
                Box::pin(async move {
                    let turn = engine.turn(lock, &id).await;
                    let claimed = engine.claim(&id, &turn, mode == Mode::Forced);
                    let delivered = engine.delivered(&id, claimed).await;
                    drop(turn);
                    drop(waiting);
                    delivered
                })
            })
            .collect();
        let engine = self.clone();
        async move {
            let sent = All(attempts.into_iter().map(Some).collect(), 0).await;
            let waiting = engine
                .host
                .records()
                .iter()
                .filter(|(_, r)| r.accepted_ms.is_none())
                .count();
            Flushed {
                sent,
                waiting: u32::try_from(waiting).unwrap_or(u32::MAX),
            }
        }
    }

    /// Wakes in `delay_ms` (plus a margin) to send what is due then, in
    /// place of the timer set before: for a delay worked out from every
    /// record. Nothing when `None` (nothing waits).
    fn arm(&self, delay_ms: Option<i64>) {
        self.fires_at.set(f64::INFINITY);
        self.arm_sooner(delay_ms);
    }

    /// Wakes in `delay_ms` unless the timer already fires sooner: for one
    /// record's new due time, without reading the others (whatever the
    /// timer was set for, it still wakes for; if that was this record, the
    /// flush it starts finds nothing due and sets the timer from every
    /// record). A clock set forward while the timer runs can make this keep
    /// a timer that fires up to that much later; one set back only makes it
    /// set a new one.
    fn arm_sooner(&self, delay_ms: Option<i64>) {
        let Some(delay) = delay_ms else { return };
        let ms = delay.clamp(0, MAX_TIMER_MS - TIMER_MARGIN_MS) + TIMER_MARGIN_MS;
        let at = self.host.now() + ms as f64;
        if at >= self.fires_at.get() {
            return;
        }
        self.fires_at.set(at);
        self.host.set_timer(ms);
    }
}

/// Runs a flush's attempts together; resolves how many delivered.
struct All(Vec<Option<Attempt>>, u32);

impl Future for All {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let mut delivered = self.1;
        let mut pending = false;
        for slot in &mut self.0 {
            if let Some(attempt) = slot {
                match attempt.as_mut().poll(cx) {
                    Poll::Ready(ok) => {
                        delivered += u32::from(ok);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        self.1 = delivered;
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(delivered)
        }
    }
}

/// Each path of the engine next to it, over a scripted host that records
/// the effects the engine asks for (writes, locks, requests, timers; reads
/// are not effects) and answers at once as the test scripts it.
#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::future::{ready, Ready};
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    use super::*;
    use crate::outbound::CallInput;

    const NOW: i64 = 1_795_718_581_000;

    /// What the engine asked the host to do.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Effect {
        Save,
        Remove,
        AskLock,
        Mark,
        Post,
        Beacon,
        Spawn,
        Timer(i64),
        Watch(bool),
        Warn(Warning),
    }
    use Effect::*;

    /// A host that does what it is told at once, and says what it did.
    struct Scripted {
        now: Cell<i64>,
        effects: RefCell<Vec<Effect>>,
        store: RefCell<BTreeMap<String, Record>>,
        lock: Cell<Option<i64>>,
        accepted_at: Cell<Option<i64>>,
        outcome: Cell<Outcome>,
        retry_after: RefCell<Option<String>>,
        /// The store refuses writes (only this page's memory takes them).
        full: Cell<bool>,
    }

    impl Scripted {
        fn new() -> Scripted {
            Scripted {
                now: Cell::new(NOW),
                effects: RefCell::new(Vec::new()),
                store: RefCell::new(BTreeMap::new()),
                lock: Cell::new(None),
                accepted_at: Cell::new(None),
                outcome: Cell::new(Outcome::Status(201)),
                retry_after: RefCell::new(None),
                full: Cell::new(false),
            }
        }

        fn did(&self, effect: Effect) {
            self.effects.borrow_mut().push(effect);
        }
    }

    impl Host for Rc<Scripted> {
        type Guard = ();
        type Pending = ();
        type Locking = Ready<Lock<()>>;
        type Reading = Ready<Option<i64>>;
        type Marking = Ready<()>;
        type Replying = Ready<crate::host::Reply>;

        fn now(&self) -> f64 {
            self.now.get() as f64
        }
        fn random(&self) -> f64 {
            0.5
        }
        fn load(&self, id: &str) -> Option<Record> {
            self.store.borrow().get(id).cloned()
        }
        fn save(&self, id: &str, record: &Record) -> bool {
            self.did(Save);
            self.store.borrow_mut().insert(id.to_owned(), record.clone());
            !self.full.get()
        }
        fn remove(&self, id: &str) {
            self.did(Remove);
            self.store.borrow_mut().remove(id);
        }
        fn records(&self) -> Vec<(String, Record)> {
            self.store
                .borrow()
                .iter()
                .map(|(id, r)| (id.clone(), r.clone()))
                .collect()
        }
        fn lock(&self, _: &str, _: i64) -> Ready<Lock<()>> {
            self.did(AskLock);
            ready(match self.lock.get() {
                Some(until) => Lock::Taken(until),
                None => Lock::Held(()),
            })
        }
        fn accepted_at(&self, _: &str) -> Ready<Option<i64>> {
            ready(self.accepted_at.get())
        }
        fn mark_accepted(&self, _: &str, _: i64, _: i64) -> Ready<()> {
            self.did(Mark);
            ready(())
        }
        fn post(&self, _: Request<'_>) -> Option<()> {
            self.did(Post);
            Some(())
        }
        fn reply(&self, (): ()) -> Ready<crate::host::Reply> {
            ready(crate::host::Reply {
                outcome: self.outcome.get(),
                retry_after: self.retry_after.borrow().clone(),
                retry_after_date_ms: None,
                text: String::new(),
            })
        }
        fn beacon(&self, _: &str, _: &str) -> bool {
            self.did(Beacon);
            true
        }
        fn spawn(&self, task: impl Future<Output = ()> + 'static) {
            self.did(Spawn);
            run(task);
        }
        fn set_timer(&self, delay_ms: i64) {
            self.did(Timer(delay_ms));
        }
        fn watch_leaving(&self, on: bool) {
            self.did(Watch(on));
        }
        fn warn(&self, warning: Warning) {
            self.did(Warn(warning));
        }
    }

    struct Noop;

    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    /// Runs a future whose host futures are all ready.
    fn run<F: Future>(future: F) -> F::Output {
        let waker = Waker::from(Arc::new(Noop));
        let mut future = std::pin::pin!(future);
        match future.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("a scripted host answers at once"),
        }
    }

    fn engine() -> (Rc<Engine<Rc<Scripted>>>, Rc<Scripted>) {
        let host = Rc::new(Scripted::new());
        (Engine::new(host.clone()), host)
    }

    fn input() -> CallInput<'static> {
        CallInput {
            partner_key: Some("pk"),
            service_name: Some("svc"),
            customer_id: Some("c1"),
            base_url: Some("https://collector.example"),
            ..CallInput::default()
        }
    }

    fn outbound(engine: &Engine<Rc<Scripted>>, transport: &str, require_referral: bool) -> Outbound {
        let input = CallInput {
            transport: Some(transport),
            require_referral: Some(require_referral),
            ..input()
        };
        engine.prepare(input).expect("a valid call")
    }

    /// The effects so far, forgotten.
    fn effects(host: &Scripted) -> Vec<Effect> {
        host.effects.take()
    }

    #[test]
    fn a_call_is_stored_then_sent_under_its_lock_and_marked_accepted() {
        let (engine, host) = engine();
        let called = run(engine.call(outbound(&engine, "fetch", false), None));
        assert!(matches!(
            called,
            Ok(Called {
                report: Report::Sent { accepted: true, .. },
                persisted: true,
                ..
            })
        ));
        assert_eq!(
            effects(&host),
            [Save, Watch(true), AskLock, Save, Post, Save, Mark, Watch(false)]
        );
        let record = host.store.borrow().values().next().cloned().expect("kept");
        assert_eq!(record.accepted_ms, Some(NOW), "the reload guard");
    }

    #[test]
    fn a_call_already_delivered_does_nothing() {
        let (engine, host) = engine();
        run(engine.call(outbound(&engine, "fetch", false), None)).expect("sent");
        effects(&host);
        for transport in ["fetch", "beacon"] {
            let called = run(engine.call(outbound(&engine, transport, false), None));
            assert_eq!(called.map(|c| c.report), Ok(Report::AlreadySent), "{transport}");
        }
        assert_eq!(effects(&host), []);
    }

    #[test]
    fn a_call_the_gate_skips_stores_and_sends_nothing() {
        let (engine, host) = engine();
        let called = run(engine.call(outbound(&engine, "fetch", true), None));
        assert_eq!(called.map(|c| c.report), Ok(Report::Skipped(Skip::NotReferred)));
        assert_eq!(effects(&host), []);
        assert!(host.store.borrow().is_empty());
    }

    #[test]
    fn a_beacon_is_sent_in_the_call_and_counts_as_delivered() {
        let (engine, host) = engine();
        let called = run(engine.call(outbound(&engine, "beacon", false), None));
        assert!(matches!(
            called,
            Ok(Called {
                report: Report::Sent {
                    transport: Transport::Beacon,
                    ..
                },
                ..
            })
        ));
        assert_eq!(effects(&host), [Save, Beacon, Save, Mark, Spawn]);
    }

    #[test]
    fn a_failure_keeps_it_waiting_and_arms_the_timer_for_its_retry() {
        let (engine, host) = engine();
        host.outcome.set(Outcome::Status(503));
        *host.retry_after.borrow_mut() = Some("30".to_owned());
        let called = run(engine.call(outbound(&engine, "fetch", false), None));
        assert!(matches!(
            called,
            Ok(Called {
                report: Report::Sent {
                    accepted: false,
                    retry_at: Some(_),
                    ..
                },
                ..
            })
        ));
        assert_eq!(
            effects(&host),
            [
                Save,
                Watch(true),
                AskLock,
                Save,
                Post,
                Save,
                Timer(30_000 + TIMER_MARGIN_MS),
                Watch(false)
            ]
        );
        // The timer fires early: nothing is due, nothing is sent, and it is
        // armed again for what is left.
        host.now.set(NOW + 10_000);
        run(engine.page(PageEvent::Timer));
        assert_eq!(effects(&host), [Timer(20_000 + TIMER_MARGIN_MS)]);
        // Due: sent under its lock.
        host.now.set(NOW + 30_000);
        host.outcome.set(Outcome::Status(201));
        let flushed = run(engine.page(PageEvent::Timer));
        assert_eq!(flushed, Flushed { sent: 1, waiting: 0 });
        assert_eq!(
            effects(&host),
            [Watch(true), AskLock, Save, Post, Save, Mark, Watch(false)]
        );
    }

    #[test]
    fn a_refused_call_leaves_the_queue() {
        let (engine, host) = engine();
        host.outcome.set(Outcome::Status(422));
        let called = run(engine.call(outbound(&engine, "fetch", false), None));
        assert_eq!(called.map_err(|(e, _)| e.code()), Err("rejected"));
        assert_eq!(
            effects(&host),
            [Save, Watch(true), AskLock, Save, Post, Remove, Watch(false)]
        );
        assert!(host.store.borrow().is_empty());
    }

    #[test]
    fn another_tabs_lease_leaves_it_waiting_and_wakes_when_the_lease_ends() {
        let (engine, host) = engine();
        host.lock.set(Some(NOW + 5_000));
        let called = run(engine.call(outbound(&engine, "fetch", false), None));
        assert_eq!(called.map(|c| c.report), Ok(Report::Waiting));
        assert_eq!(
            effects(&host),
            [Save, Watch(true), AskLock, Timer(5_000 + TIMER_MARGIN_MS), Watch(false)]
        );
    }

    #[test]
    fn the_accepted_set_settles_a_tracking_another_tab_delivered() {
        let (engine, host) = engine();
        host.accepted_at.set(Some(NOW - 1_000));
        let called = run(engine.call(outbound(&engine, "fetch", false), None));
        assert_eq!(called.map(|c| c.report), Ok(Report::AlreadySent));
        assert_eq!(effects(&host), [Save, Watch(true), AskLock, Save, Watch(false)]);
    }

    #[test]
    fn a_due_flush_behind_a_failed_attempt_finds_its_new_wait() {
        let (engine, host) = engine();
        let out = outbound(&engine, "fetch", false);
        // Another tab's attempt failed while this flush waited for the lock:
        // the record it finds waits 30 s more.
        let mut record = Record::new(out.url.clone(), out.body.clone(), 60_000, NOW - 5_000);
        record.failures = 1;
        record.next_ms = NOW - 1;
        host.store.borrow_mut().insert(out.id.clone(), record.clone());
        let flush = engine.flush(Mode::Due);
        assert_eq!(effects(&host), [Watch(true), AskLock]);
        record.next_ms = NOW + 30_000;
        host.store.borrow_mut().insert(out.id.clone(), record);
        assert_eq!(run(flush), Flushed { sent: 0, waiting: 1 });
        assert_eq!(effects(&host), [Timer(30_000 + TIMER_MARGIN_MS), Watch(false)]);
    }

    #[test]
    fn a_page_left_sends_what_it_queued_and_never_failed_without_a_lock() {
        let (engine, host) = engine();
        host.outcome.set(Outcome::Network);
        run(engine.call(outbound(&engine, "fetch", false), None)).expect("queued");
        let other = CallInput {
            customer_id: Some("c2"),
            ..input()
        };
        host.lock.set(Some(NOW + 60_000));
        let fresh = engine.prepare(other).expect("valid");
        run(engine.call(fresh, None)).expect("waiting");
        effects(&host);
        // c1 failed (its retry now due), c2 never attempted: only c2 leaves
        // with the page, without asking for a lock.
        host.now.set(NOW + 600_000);
        host.outcome.set(Outcome::Status(201));
        let flushed = run(engine.page(PageEvent::Left));
        assert_eq!(flushed.sent, 1);
        let effects = effects(&host);
        assert_eq!(effects.iter().filter(|e| **e == Post).count(), 1);
        assert!(!effects.contains(&AskLock), "{effects:?}");
    }

    #[test]
    fn a_second_call_while_this_pages_attempt_waits_for_the_lock_asks_for_nothing() {
        let (engine, host) = engine();
        let first = engine.call(outbound(&engine, "fetch", false), None);
        assert_eq!(effects(&host), [Save, Watch(true), AskLock]);
        let second = run(engine.call(outbound(&engine, "fetch", false), None));
        assert_eq!(
            second.map(|c| c.report),
            Ok(Report::Waiting),
            "the first attempt settles it"
        );
        // No second lock asked for (the timer is armed, as for any attempt
        // in flight, in case this one dies).
        assert_eq!(effects(&host), [Timer(TIMER_MARGIN_MS)]);
        assert!(matches!(
            run(first),
            Ok(Called {
                report: Report::Sent { accepted: true, .. },
                ..
            })
        ));
    }

    #[test]
    fn a_store_that_refuses_is_said_once() {
        let (engine, host) = engine();
        host.full.set(true);
        host.outcome.set(Outcome::Network);
        let called = run(engine.call(outbound(&engine, "fetch", false), None));
        assert!(matches!(called, Ok(Called { persisted: false, .. })));
        run(engine.call(
            engine
                .prepare(CallInput {
                    customer_id: Some("c2"),
                    ..input()
                })
                .expect("valid"),
            None,
        ))
        .expect("queued");
        let warned = effects(&host)
            .into_iter()
            .filter(|e| matches!(e, Warn(_)))
            .collect::<Vec<_>>();
        assert_eq!(warned, [Warn(Warning::NotStored)]);
    }
}
