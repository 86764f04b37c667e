//! One tab as the engine's host: its view of `localStorage` (and its
//! memory where storage refuses a record), its lock requests or leases,
//! its reads and writes of the accepted set, its requests and beacons, its
//! timer. Each effect that takes time completes through the world's
//! agenda, filling a [`Slot`] the engine's task awaits.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use onramp_core::host::{Host, Lock, Reply, Request, Warning};
use onramp_core::queue::{Record, MAX_LEASE_MS};

use super::executor::{Slot, Wait, SPAWNED};
use super::network::send;
use super::trace;
use super::world::{key_of, write, Before, LockState, Planted, World};

/// A held lock or lease, released when dropped (a lease only by a live
/// page: a killed page never runs its `finally`).
pub struct Guard {
    pub name: String,
    pub id: u64,
    pub tab: usize,
    /// For a lease: until when it was taken (its compare-and-set value).
    pub lease_start: Option<i64>,
    pub world: Option<Rc<RefCell<World>>>,
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
        let seen = &w.tabs[self.tab];
        let seen_write = if seen.memory.contains_key(id) {
            None
        } else {
            seen.view.get(id).map(|(n, _)| *n)
        };
        let before = Before {
            record: before,
            write: seen_write,
        };
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
        let mut w = self.world.borrow_mut();
        let slot = if w.planted == Planted::UnwokenRead {
            Slot::unwoken()
        } else {
            Slot::new()
        };
        let s = slot.clone();
        let id = id.to_owned();
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
                    // As `accepted.js` does: the later time is kept.
                    let kept = w.accepted.get(&id).map_or(at, |&held| held.max(at));
                    w.accepted.retain(|_, when| *when >= forget_before);
                    w.accepted.insert(id, kept);
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
