//! The pages and their tasks, run as the browser's executor
//! (`src/web/job.rs`) runs them: a task is polled only when woken, each
//! with a waker of its own, never in the caller's task. The tasks woken by
//! one event of the world (a lock granted, an answer come, a timer fired)
//! run in an order the seed draws, as the order of their Promises'
//! callbacks decides in a browser. Host futures are [`Slot`]s the agenda
//! fills; filling one wakes the task awaiting it.
//!
//! Once no task is woken, a probe polls every waiting task once more: a
//! task that goes on then was ready but never woken (a host future that
//! completed without calling its waker, an engine future that returned
//! `Pending` without arranging a wake-up), which would hang in a browser.
//! The run records it as a broken promise, so the schedule fails with its
//! seed.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use onramp_core::engine::{Called, Engine, Flushed, Mode, Report};
use onramp_core::host::PageEvent;
use onramp_core::outbound::CallInput;
use onramp_core::referral::Referral;

use super::host::Tab;
use super::world::World;
use super::{input, trace};

/// A task of a page.
pub type Task = Pin<Box<dyn Future<Output = ()>>>;

/// What a page is doing when it starts a request, for the promises that
/// depend on it (a retry of the pixel's own waits for the collector's
/// `Retry-After`; a page being left sends only what never failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doing {
    /// A call (`createSaasTracking`).
    Call,
    /// A flush: on load, the timer or a hidden page (`Due`), `flush()` or
    /// the browser back online (`Forced`), the page being left (`Leaving`).
    Flush(Mode),
    /// A task the host spawned.
    Host,
}

/// What the page whose code runs now is doing, if a page's code runs.
pub fn doing() -> Option<Doing> {
    DOING.get()
}

/// Runs `f` as a page doing `doing`.
fn as_doing<R>(doing: Doing, f: impl FnOnce() -> R) -> R {
    let before = DOING.replace(Some(doing));
    let result = f();
    DOING.set(before);
    result
}

thread_local! {
    /// The tasks woken since the last batch ran, in the order woken: (tab,
    /// task).
    static READY: RefCell<Vec<(usize, u64)>> = const { RefCell::new(Vec::new()) };
    /// Tasks a host spawned, for the executor to take.
    pub static SPAWNED: RefCell<Vec<(usize, Task)>> = const { RefCell::new(Vec::new()) };
    /// How many slot values tasks have taken: one taken by the probe was
    /// there for a task nobody woke.
    static TAKEN: Cell<u64> = const { Cell::new(0) };
    /// What the page whose code runs now is doing.
    static DOING: Cell<Option<Doing>> = const { Cell::new(None) };
}

/// Puts a task in the next batch, once.
fn wake(tab: usize, id: u64) {
    READY.with_borrow_mut(|ready| {
        if !ready.contains(&(tab, id)) {
            ready.push((tab, id));
        }
    });
}

/// A task's waker.
struct TaskWaker {
    tab: usize,
    id: u64,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        wake(self.tab, self.id);
    }
}

/// A one-shot value the agenda fills (once) and a task awaits; filling it
/// wakes that task (unless it is [`Slot::unwoken`]).
pub struct Slot<T>(Rc<RefCell<Filling<T>>>);

struct Filling<T> {
    value: Option<T>,
    filled: bool,
    waker: Option<Waker>,
    /// Whether filling it wakes the task that awaits it.
    wakes: bool,
}

impl<T> Clone for Slot<T> {
    fn clone(&self) -> Self {
        Slot(self.0.clone())
    }
}

impl<T> Slot<T> {
    pub fn new() -> Slot<T> {
        Slot(Rc::new(RefCell::new(Filling {
            value: None,
            filled: false,
            waker: None,
            wakes: true,
        })))
    }

    /// A slot whose filling wakes nobody: a host future with the bug the
    /// probe is there to catch.
    pub fn unwoken() -> Slot<T> {
        let slot = Slot::new();
        slot.0.borrow_mut().wakes = false;
        slot
    }

    /// Fills it, once; false when it was filled before.
    pub fn fill(&self, value: T) -> bool {
        let waker = {
            let mut slot = self.0.borrow_mut();
            if slot.filled {
                return false;
            }
            slot.value = Some(value);
            slot.filled = true;
            slot.waker.take().filter(|_| slot.wakes)
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }
}

/// Awaits a slot.
pub struct Wait<T>(pub Slot<T>);

impl<T> Future for Wait<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.0 .0.borrow_mut();
        match slot.value.take() {
            Some(value) => {
                TAKEN.set(TAKEN.get() + 1);
                Poll::Ready(value)
            }
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// A call's report: the customer, and how it ended.
pub type Reported = (String, Result<Called, String>);

/// A tab's engine and its tasks.
pub struct Page {
    pub engine: Rc<Engine<Tab>>,
    /// Its tasks not yet done, by id, with what each does.
    pub tasks: BTreeMap<u64, (Doing, Task)>,
    pub granted: Rc<RefCell<Vec<u64>>>,
}

/// The world and its pages: the executor.
pub struct Sim {
    pub world: Rc<RefCell<World>>,
    pub pages: Vec<Option<Page>>,
    next_task: u64,
    /// Each call's report, by tab.
    pub reports: Rc<RefCell<Vec<Reported>>>,
    /// What each `flush` resolved to.
    pub flushed: Rc<RefCell<Vec<Flushed>>>,
    /// Polls of woken tasks (the probe's are not counted).
    pub polls: u64,
}

impl Sim {
    pub fn new(world: World) -> Sim {
        READY.with_borrow_mut(Vec::clear);
        SPAWNED.with_borrow_mut(Vec::clear);
        Sim {
            world: Rc::new(RefCell::new(world)),
            pages: Vec::new(),
            next_task: 0,
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
        let flush = as_doing(Doing::Flush(Mode::Due), || engine.flush(Mode::Due));
        self.pages.push(Some(Page {
            engine,
            tasks: BTreeMap::new(),
            granted,
        }));
        self.spawn(
            tab,
            Doing::Flush(Mode::Due),
            Box::pin(async move {
                flush.await;
            }),
        );
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
        let tracking = outbound.tracking.clone();
        self.world
            .borrow_mut()
            .called
            .entry(customer.to_owned())
            .or_default()
            .push(tracking);
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
        let call = as_doing(Doing::Call, || page.engine.call(outbound, referral));
        let reports = self.reports.clone();
        let world = self.world.clone();
        let key = customer.to_owned();
        self.spawn(
            tab,
            Doing::Call,
            Box::pin(async move {
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
            }),
        );
        self.run();
    }

    /// `flush()` (or another flush): what it resolved to goes to `flushed`.
    pub fn flush(&mut self, tab: usize, mode: Mode) {
        let Some(page) = self.pages[tab].as_mut() else { return };
        let flush = as_doing(Doing::Flush(mode), || page.engine.flush(mode));
        let flushed = self.flushed.clone();
        self.spawn(
            tab,
            Doing::Flush(mode),
            Box::pin(async move {
                let done = flush.await;
                flushed.borrow_mut().push(done);
            }),
        );
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
        let doing = Doing::Flush(match event {
            PageEvent::Timer | PageEvent::Hidden => Mode::Due,
            PageEvent::Online => Mode::Forced,
            PageEvent::Left => Mode::Leaving,
        });
        let flush = as_doing(doing, || page.engine.page(event));
        self.spawn(
            tab,
            doing,
            Box::pin(async move {
                flush.await;
            }),
        );
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

    /// Adds a task to the page; it is polled once the caller's task is
    /// done, as a Promise's job is.
    pub fn spawn(&mut self, tab: usize, doing: Doing, task: Task) {
        let Some(page) = self.pages[tab].as_mut() else { return };
        self.next_task += 1;
        page.tasks.insert(self.next_task, (doing, task));
        wake(tab, self.next_task);
    }

    /// Runs the woken tasks until none is: each batch (the tasks woken by
    /// one event of the world, or by the batch before) in an order the seed
    /// draws. When none is left, the probe polls every waiting task once
    /// more: one that goes on was never woken, and the run fails.
    pub fn run(&mut self) {
        let mut rounds = 0;
        loop {
            rounds += 1;
            assert!(rounds < 100_000, "the executor does not settle");
            let fired = self.world.borrow_mut().take_fired();
            for tab in fired {
                if let Some(page) = self.pages[tab].as_ref() {
                    let flush = as_doing(Doing::Flush(Mode::Due), || page.engine.page(PageEvent::Timer));
                    self.spawn(
                        tab,
                        Doing::Flush(Mode::Due),
                        Box::pin(async move {
                            flush.await;
                        }),
                    );
                }
            }
            for (tab, task) in SPAWNED.with_borrow_mut(std::mem::take) {
                self.spawn(tab, Doing::Host, task);
            }
            let mut batch = READY.with_borrow_mut(std::mem::take);
            if batch.is_empty() {
                if self.probe() {
                    continue;
                }
                break;
            }
            {
                let mut w = self.world.borrow_mut();
                for i in (1..batch.len()).rev() {
                    let j = w.rng.below(i as u64 + 1) as usize;
                    batch.swap(i, j);
                }
            }
            for (tab, id) in batch {
                self.polls += 1;
                self.poll(tab, id);
            }
        }
    }

    /// Polls one task with its own waker; true when it is done.
    fn poll(&mut self, tab: usize, id: u64) -> bool {
        let Some(page) = self.pages[tab].as_mut() else {
            return false;
        };
        let Some((doing, mut task)) = page.tasks.remove(&id) else {
            return false;
        };
        let waker = Waker::from(Arc::new(TaskWaker { tab, id }));
        if as_doing(doing, || task.as_mut().poll(&mut Context::from_waker(&waker))).is_ready() {
            return true;
        }
        if let Some(page) = self.pages[tab].as_mut() {
            page.tasks.insert(id, (doing, task));
        }
        false
    }

    /// Polls every waiting task once, as though woken: true (and a broken
    /// promise) when one of them went on, which its waker should have
    /// made happen.
    fn probe(&mut self) -> bool {
        let (taken, version) = (TAKEN.get(), self.world.borrow().version);
        let waiting: Vec<(usize, u64)> = self
            .pages
            .iter()
            .enumerate()
            .filter_map(|(tab, page)| Some((tab, page.as_ref()?)))
            .flat_map(|(tab, page)| page.tasks.keys().map(move |&id| (tab, id)))
            .collect();
        let mut done = 0;
        for (tab, id) in waiting {
            done += usize::from(self.poll(tab, id));
        }
        let moved = done > 0 || TAKEN.get() != taken || self.world.borrow().version != version;
        if moved {
            let mut w = self.world.borrow_mut();
            let t = w.t;
            w.violations.push(format!(
                "t={t}: a task could go on but was never woken (a future that completed without waking its task)"
            ));
        }
        moved
    }

    /// The tasks of live pages that have not finished.
    pub fn unfinished(&self) -> usize {
        self.pages.iter().flatten().map(|page| page.tasks.len()).sum()
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
