//! The relay's host of the core's engine: the rows one claim brought in,
//! as the engine's records in memory, over the database and an HTTP
//! client.
//!
//! **Why rows are claimed into memory rather than the engine's store made
//! asynchronous.** The engine's [`Host`] reads and writes records
//! synchronously, as `localStorage` does in the browser; a database is
//! not synchronous. Making the store asynchronous would add an await to
//! every step of the browser's path (and bytes and main-thread time to the
//! shipped module) for a host that does not need it: in a database the
//! claim itself (`FOR UPDATE SKIP LOCKED`, or SQLite's single `UPDATE`) is
//! the tracking's lock, held for a lease, and while the relay holds it no
//! other relay touches the row. So the relay claims a batch of rows, puts
//! them in memory as the engine's records, lets the engine flush them
//! (the same claim, retry, `Retry-After` and TTL rules as in the browser),
//! and writes back what became of each: the accepted set's mark
//! ([`Host::mark_accepted`]) is the commit of `sent`, awaited before the
//! engine counts the tracking delivered; the rest is written when the
//! flush is over ([`crate::run`]). One engine a batch: a batch's records
//! are no other batch's.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::future::{ready, Future, Ready};
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use onramp_core::host::{Host, Lock, Reply, Request, Warning};
use onramp_core::queue::Record;
use onramp_core::steps::Outcome;
use tokio::task::JoinHandle;

use crate::store::{Done, Store};

/// The clock, in epoch milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A batch of claimed rows, in memory.
pub struct Batch {
    /// The database.
    pub store: Store,
    /// The HTTP client.
    pub http: reqwest::Client,
    /// This relay's name in `leased_by`.
    pub owner: Rc<str>,
    /// The engine's records, by row id (as text).
    pub records: RefCell<BTreeMap<String, Record>>,
    /// Each row's request body, by row id.
    pub bodies: HashMap<String, String>,
    /// How the last request of each body ended, and the answer's text.
    pub replies: RefCell<HashMap<String, (Outcome, String)>>,
}

/// The host over a batch.
#[derive(Clone)]
pub struct BatchHost(pub Rc<Batch>);

/// A future of the host's.
pub type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

impl Batch {
    /// Writes `done` for row `id`, again and again until the database takes
    /// it (a connection lost meanwhile is opened again).
    pub async fn write(store: &Store, id: i64, owner: &str, done: &Done) {
        let mut backoff = Duration::from_millis(50);
        loop {
            match store.finish(id, owner, done).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(row = id, "cannot write the row's outcome, trying again: {e}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

impl Batch {
    /// The last answer to row `id`'s request, if it got one.
    pub fn reply_to(&self, id: &str) -> Option<(Outcome, String)> {
        let body = self.bodies.get(id)?;
        self.replies.borrow().get(body).cloned()
    }
}

impl Host for BatchHost {
    type Guard = ();
    type Pending = (String, JoinHandle<Reply>);
    type Locking = Ready<Lock<()>>;
    type Reading = Ready<Option<i64>>;
    type Marking = Boxed<()>;
    type Replying = Boxed<Reply>;

    fn now(&self) -> f64 {
        now_ms() as f64
    }

    fn random(&self) -> f64 {
        let bits = std::collections::hash_map::RandomState::new().build_hasher().finish();
        (bits >> 11) as f64 / (1u64 << 53) as f64
    }

    fn load(&self, id: &str) -> Option<Record> {
        self.0.records.borrow().get(id).cloned()
    }

    fn save(&self, id: &str, record: &Record) -> bool {
        self.0.records.borrow_mut().insert(id.to_owned(), record.clone());
        true
    }

    fn remove(&self, id: &str) {
        self.0.records.borrow_mut().remove(id);
    }

    fn records(&self) -> Vec<(String, Record)> {
        let records = self.0.records.borrow();
        records.iter().map(|(id, r)| (id.clone(), r.clone())).collect()
    }

    /// The claim in the database is the lock: held.
    fn lock(&self, _id: &str, _lease_for_ms: i64) -> Self::Locking {
        ready(Lock::Held(()))
    }

    /// A claimed row waits: the table's `sent` is the accepted set, and no
    /// claimed row is in it.
    fn accepted_at(&self, _id: &str) -> Self::Reading {
        ready(None)
    }

    /// Commits the row as sent, before the engine counts it delivered.
    fn mark_accepted(&self, id: &str, at: i64, _forget_before: i64) -> Self::Marking {
        let batch = self.0.clone();
        let key = id.to_owned();
        Box::pin(async move {
            let Ok(row) = key.parse::<i64>() else { return };
            let status = match batch.reply_to(&key) {
                Some((Outcome::Status(status), _)) => Some(status),
                _ => None,
            };
            Batch::write(&batch.store, row, &batch.owner, &Done::Sent { at, status }).await;
        })
    }

    fn post(&self, request: Request<'_>) -> Option<Self::Pending> {
        let sending = self
            .0
            .http
            .post(request.url)
            .header("content-type", "application/json")
            .body(request.body.to_owned())
            .timeout(Duration::from_millis(u64::from(request.timeout_ms)))
            .send();
        let task = tokio::task::spawn_local(async move {
            match sending.await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let retry_after_date_ms = retry_after
                        .as_deref()
                        .and_then(|v| httpdate::parse_http_date(v).ok())
                        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                        .and_then(|d| i64::try_from(d.as_millis()).ok());
                    let (outcome, text) = match response.text().await {
                        Ok(text) => (Outcome::Status(status), text),
                        Err(e) if e.is_timeout() => (Outcome::Timeout, String::new()),
                        Err(_) => (Outcome::Network, String::new()),
                    };
                    Reply {
                        outcome,
                        retry_after,
                        retry_after_date_ms,
                        text,
                    }
                }
                Err(e) => Reply {
                    outcome: if e.is_timeout() {
                        Outcome::Timeout
                    } else {
                        Outcome::Network
                    },
                    retry_after: None,
                    retry_after_date_ms: None,
                    text: e.to_string(),
                },
            }
        });
        Some((request.body.to_owned(), task))
    }

    fn reply(&self, pending: Self::Pending) -> Self::Replying {
        let batch = self.0.clone();
        Box::pin(async move {
            let reply = pending.1.await.unwrap_or(Reply {
                outcome: Outcome::Network,
                retry_after: None,
                retry_after_date_ms: None,
                text: "the request's task ended".into(),
            });
            batch
                .replies
                .borrow_mut()
                .insert(pending.0, (reply.outcome, reply.text.clone()));
            reply
        })
    }

    fn beacon(&self, _url: &str, _body: &str) -> bool {
        false
    }

    fn spawn(&self, task: impl Future<Output = ()> + 'static) {
        tokio::task::spawn_local(task);
    }

    /// The relay's loop wakes for the next due row from the table.
    fn set_timer(&self, _delay_ms: i64) {}

    fn watch_leaving(&self, _on: bool) {}

    /// Nothing to tell: the store takes every record, and each row given
    /// up is logged with its outcome ([`crate::run`]).
    fn warn(&self, _warning: Warning) {}
}
