//! `onramp-relay run`: claims waiting rows, delivers each batch with the
//! core's engine over a [`BatchHost`], writes back what became of each
//! row, and waits for the next commit (Postgres's `NOTIFY`, SQLite's short
//! poll) or the next row due.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use onramp_core::engine::{Engine, Mode};
use onramp_core::queue::lease_for;
use onramp_core::steps::Outcome;
use onramp_core::time::Timestamp;
use onramp_core::Error;
use tokio::sync::Notify;

use crate::host::{now_ms, Batch, BatchHost};
use crate::row::Row;
use crate::store::{self, Done, Store};

/// How the relay runs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The collector's base URL (`ONRAMP_BASE_URL`).
    pub base_url: String,
    /// Each request's timeout (the original script's 60 s by default).
    pub timeout_ms: u32,
    /// The most rows claimed at once.
    pub batch: usize,
    /// The most rows in flight at once.
    pub in_flight: usize,
    /// This relay's name in `leased_by`.
    pub owner: String,
    /// Stop once nothing waits (for cron and scripts).
    pub until_idle: bool,
}

/// How much longer than an attempt's own lease a relay holds a claimed
/// row: time to write the outcome back.
pub const CLAIM_SLACK_MS: i64 = 5_000;

/// The longest an idle relay sleeps before it looks at the table again
/// (a missed notification costs at most this).
const IDLE_MS: i64 = 30_000;

/// What a run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Rows the collector accepted.
    pub sent: u64,
    /// Attempts that failed and wait for a retry.
    pub retried: u64,
    /// Rows rejected (by the core's checks or the collector).
    pub rejected: u64,
    /// Rows given up (past the TTL).
    pub given_up: u64,
}

/// Runs until `stop` resolves (then finishes the batches in flight and
/// releases what it holds) or, with `until_idle`, until nothing waits.
pub async fn run(store: Store, settings: Settings, stop: impl Future<Output = ()>) -> Totals {
    let settings = Rc::new(settings);
    let http = reqwest::Client::builder()
        .user_agent(concat!("onramp-relay/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default();
    let in_flight = Rc::new(Cell::new(0usize));
    let freed = Rc::new(Notify::new());
    let totals = Rc::new(Cell::new(Totals::default()));
    let lease = lease_for(settings.timeout_ms) + CLAIM_SLACK_MS;
    tokio::pin!(stop);
    let mut backoff = Duration::from_millis(100);
    tracing::info!(owner = %settings.owner, "relay started");
    'deliver: loop {
        let room = settings.in_flight.saturating_sub(in_flight.get()).min(settings.batch);
        if room > 0 {
            let now = now_ms();
            match store.claim(&settings.owner, now, now + lease, room as i64).await {
                Ok(rows) if !rows.is_empty() => {
                    backoff = Duration::from_millis(100);
                    in_flight.set(in_flight.get() + rows.len());
                    let (store, settings, http) = (store.clone(), settings.clone(), http.clone());
                    let (in_flight, freed, totals) = (in_flight.clone(), freed.clone(), totals.clone());
                    tokio::task::spawn_local(async move {
                        let n = rows.len();
                        let done = deliver(store, &settings, http, rows).await;
                        totals.set(add(totals.get(), done));
                        in_flight.set(in_flight.get() - n);
                        freed.notify_one();
                    });
                    continue;
                }
                Ok(_) => backoff = Duration::from_millis(100),
                Err(e) => {
                    tracing::warn!("cannot claim rows, trying again in {backoff:?}: {e}");
                    tokio::select! {
                        () = &mut stop => break 'deliver,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
        }
        let next = store.next_due().await.unwrap_or(None);
        if settings.until_idle && next.is_none() && in_flight.get() == 0 {
            break;
        }
        let wait = next.map_or(IDLE_MS, |at| at.saturating_sub(now_ms()).clamp(0, IDLE_MS));
        let wait = Duration::from_millis(wait as u64 + 1);
        tokio::select! {
            () = &mut stop => break,
            () = store.changed() => {}
            () = freed.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
    while in_flight.get() > 0 {
        tracing::info!(rows = in_flight.get(), "stopping: finishing the rows in flight");
        freed.notified().await;
    }
    match store.release(&settings.owner).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(rows = n, "released rows this relay held"),
        Err(e) => tracing::warn!("cannot release this relay's rows (their lease runs out on its own): {e}"),
    }
    let totals = totals.get();
    tracing::info!(
        sent = totals.sent,
        retried = totals.retried,
        rejected = totals.rejected,
        given_up = totals.given_up,
        "relay stopped"
    );
    totals
}

fn add(a: Totals, b: Totals) -> Totals {
    Totals {
        sent: a.sent + b.sent,
        retried: a.retried + b.retried,
        rejected: a.rejected + b.rejected,
        given_up: a.given_up + b.given_up,
    }
}

/// Delivers one batch of claimed rows: rows the core refuses are rejected
/// with its code; the rest go to the engine, which sends what is due, and
/// each row's outcome is written back.
async fn deliver(store: Store, settings: &Settings, http: reqwest::Client, rows: Vec<Row>) -> Totals {
    let mut totals = Totals::default();
    let now = now_ms();
    let clock = Timestamp::from_epoch_ms(now as f64).unwrap_or(Timestamp::EPOCH);
    let mut records = BTreeMap::new();
    let mut bodies = HashMap::new();
    let mut valid = Vec::with_capacity(rows.len());
    for row in rows {
        match row.outbound(&settings.base_url, settings.timeout_ms, clock) {
            Ok(outbound) => {
                let record = row.record(&outbound);
                records.insert(row.id.to_string(), record.clone());
                bodies.insert(row.id.to_string(), outbound.body);
                valid.push((row, record));
            }
            Err(error) => {
                tracing::warn!(
                    row = row.id,
                    "tracking refused: {}{}: {}",
                    error.code(),
                    error.field().map(|f| format!(" ({f})")).unwrap_or_default(),
                    error.message()
                );
                totals.rejected += 1;
                let done = Done::Rejected {
                    at: now,
                    status: None,
                    code: error.code().to_owned(),
                    field: error.field().map(str::to_owned),
                    detail: error.to_string(),
                };
                Batch::write(&store, row.id, &settings.owner, &done).await;
            }
        }
    }
    if valid.is_empty() {
        return totals;
    }
    let batch = Rc::new(Batch {
        store: store.clone(),
        http,
        owner: settings.owner.as_str().into(),
        records: records.into(),
        bodies,
        replies: HashMap::new().into(),
    });
    let engine = Engine::new(BatchHost(batch.clone()));
    engine.flush(Mode::Due).await;
    for (row, claimed) in valid {
        let key = row.id.to_string();
        let record = batch.records.borrow().get(&key).cloned();
        let reply = batch.reply_to(&key);
        let status = match reply {
            Some((Outcome::Status(status), _)) => Some(status),
            _ => None,
        };
        let said = status.map(|s| format!("HTTP {s}"));
        let done = match record {
            Some(record) if record.accepted_ms.is_some() => {
                totals.sent += 1;
                tracing::info!(row = row.id, "tracking sent (fetch, {})", said.unwrap_or_default());
                continue;
            }
            Some(record) if record.failures > row.failures => {
                totals.retried += 1;
                // The core's reason, as steps::settle gives it (a retried
                // answer has none: "retry"); not taken from there, which
                // would cost the shipped wasm 15 B.
                let code = match reply {
                    Some((Outcome::Timeout, _)) => Error::Timeout.code(),
                    Some((Outcome::Status(_), _)) => "retry",
                    _ => Error::Network.code(),
                };
                let retry_at = Timestamp::from_epoch_ms(record.next_ms as f64)
                    .map(Timestamp::to_rfc3339)
                    .unwrap_or_default();
                tracing::info!(
                    row = row.id,
                    "tracking queued ({}), retry at {retry_at}",
                    said.as_deref().unwrap_or(code)
                );
                Done::Retry {
                    failures: record.failures,
                    next_ms: record.next_ms,
                    status,
                    code: code.to_owned(),
                    detail: store::detail(reply.as_ref().map_or("", |(_, text)| text)),
                }
            }
            Some(_) => Done::Released,
            // Removed by the engine: past the queue's TTL as it swept, or
            // rejected by the collector.
            None if claimed.expired(now) => {
                totals.given_up += 1;
                tracing::warn!(row = row.id, "tracking given up: waited longer than 7 days");
                Done::GivenUp { at: now }
            }
            None => {
                totals.rejected += 1;
                tracing::warn!(
                    row = row.id,
                    "tracking rejected ({})",
                    said.as_deref().unwrap_or("no answer")
                );
                Done::Rejected {
                    at: now,
                    status,
                    code: "rejected".into(),
                    field: None,
                    detail: store::detail(reply.as_ref().map_or("", |(_, text)| text)),
                }
            }
        };
        Batch::write(&store, row.id, &settings.owner, &done).await;
    }
    totals
}
