//! The outbox in a SQLite file: WAL, one connection, each statement run on
//! tokio's blocking pool. Several relays may share the file: each claim is
//! one `UPDATE … RETURNING`, which SQLite runs alone.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use super::{state, Counts, DbResult, Done};
use crate::row::Row;

/// How often an idle relay asks whether another connection committed
/// (SQLite has no `LISTEN`; `PRAGMA data_version` is read from the
/// connection's own state, without touching the table).
pub const POLL: Duration = Duration::from_millis(25);

/// Each version of the table, in order.
const MIGRATIONS: [&str; 1] = [r"
CREATE TABLE onramp_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  partner_key TEXT,
  service_name TEXT,
  customer_id TEXT,
  purchased_at TEXT,
  created_at INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)),
  state TEXT NOT NULL DEFAULT 'waiting',
  failures INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL DEFAULT 0,
  leased_until INTEGER NOT NULL DEFAULT 0,
  leased_by TEXT,
  done_at INTEGER,
  status INTEGER,
  code TEXT,
  field TEXT,
  detail TEXT
);
CREATE UNIQUE INDEX onramp_outbox_key ON onramp_outbox (partner_key, service_name, customer_id);
CREATE INDEX onramp_outbox_waiting ON onramp_outbox (next_at) WHERE state = 'waiting';
"];

/// A SQLite outbox.
pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
    /// The last `PRAGMA data_version` seen by [`Sqlite::changed`].
    seen: std::cell::Cell<i64>,
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Sqlite {
    /// Opens (or creates) the file.
    pub async fn open(path: &str) -> DbResult<Sqlite> {
        let path = path.to_owned();
        let conn = tokio::task::spawn_blocking(move || -> DbResult<Connection> {
            let conn = Connection::open(&path).map_err(|e| format!("cannot open {path}: {e}"))?;
            conn.busy_timeout(Duration::from_secs(10)).map_err(text)?;
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(|e| format!("cannot open {path}: {e}"))?;
            conn.pragma_update(None, "synchronous", "NORMAL").map_err(text)?;
            Ok(conn)
        })
        .await
        .map_err(text)??;
        Ok(Sqlite {
            conn: Arc::new(Mutex::new(conn)),
            seen: std::cell::Cell::new(-1),
        })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> DbResult<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn
                .lock()
                .map_err(|_| "the SQLite connection was poisoned".to_owned())?;
            f(&mut conn).map_err(text)
        })
        .await
        .map_err(text)?
    }

    /// Resolves once another connection committed since the last call.
    pub async fn changed(&self) {
        loop {
            tokio::time::sleep(POLL).await;
            let version = self
                .with(|conn| conn.query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0)))
                .await
                .unwrap_or(-2);
            if self.seen.replace(version) != version {
                return;
            }
        }
    }

    /// The table's version (0: none).
    pub async fn version(&self) -> DbResult<u32> {
        self.with(|conn| {
            let exists: bool = conn.query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'onramp_relay_migrations'",
                [],
                |r| r.get(0),
            )?;
            if !exists {
                return Ok(0);
            }
            conn.query_row(
                "SELECT coalesce(max(version), 0) FROM onramp_relay_migrations",
                [],
                |r| r.get(0),
            )
        })
        .await
    }

    /// Applies the versions not applied yet, in one transaction.
    pub async fn migrate(&self) -> DbResult<Vec<u32>> {
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS onramp_relay_migrations (
                   version INTEGER PRIMARY KEY,
                   applied_at INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)))",
            )?;
            let have: u32 = tx.query_row(
                "SELECT coalesce(max(version), 0) FROM onramp_relay_migrations",
                [],
                |r| r.get(0),
            )?;
            let mut applied = Vec::new();
            for (version, sql) in (1..).zip(MIGRATIONS) {
                if version > have {
                    tx.execute_batch(sql)?;
                    tx.execute("INSERT INTO onramp_relay_migrations (version) VALUES (?1)", [version])?;
                    applied.push(version);
                }
            }
            tx.commit()?;
            Ok(applied)
        })
        .await
    }

    /// The application's `INSERT` (docs/server.md's `insert-sqlite`).
    pub async fn enqueue(&self, fields: [Option<String>; 4]) -> DbResult<Option<i64>> {
        self.with(move |conn| {
            let [a, b, c, d] = fields;
            let n = conn.execute(
                "INSERT INTO onramp_outbox (partner_key, service_name, customer_id, purchased_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![a, b, c, d],
            )?;
            Ok((n > 0).then(|| conn.last_insert_rowid()))
        })
        .await
    }

    /// See [`super::Store::claim`].
    pub async fn claim(&self, owner: &str, now: i64, until: i64, limit: i64) -> DbResult<Vec<Row>> {
        let owner = owner.to_owned();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "UPDATE onramp_outbox SET leased_until = ?1, leased_by = ?2
                 WHERE id IN (SELECT id FROM onramp_outbox
                              WHERE state = 'waiting' AND next_at <= ?3 AND leased_until <= ?3
                              ORDER BY next_at, id LIMIT ?4)
                 RETURNING id, partner_key, service_name, customer_id, purchased_at, created_at, failures, next_at",
            )?;
            let rows = stmt.query_map(params![until, owner, now, limit], |r| {
                Ok(Row {
                    id: r.get(0)?,
                    partner_key: r.get(1)?,
                    service_name: r.get(2)?,
                    customer_id: r.get(3)?,
                    purchased_at: r.get(4)?,
                    created_ms: r.get(5)?,
                    failures: r.get(6)?,
                    next_ms: r.get(7)?,
                })
            })?;
            let mut rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            rows.sort_by_key(|r| r.id);
            Ok(rows)
        })
        .await
    }

    /// See [`super::Store::finish`].
    pub async fn finish(&self, id: i64, owner: &str, done: &Done) -> DbResult<()> {
        let owner = owner.to_owned();
        let done = done.clone();
        self.with(move |conn| {
            match &done {
                Done::Retry {
                    failures,
                    next_ms,
                    status,
                    code,
                    detail,
                } => conn.execute(
                    "UPDATE onramp_outbox SET failures = ?2, next_at = ?3, status = ?4, code = ?5, detail = ?6,
                       leased_until = 0, leased_by = NULL
                     WHERE id = ?1 AND state = 'waiting' AND leased_by = ?7",
                    params![id, failures, next_ms, status, code, detail, owner],
                )?,
                Done::Released => conn.execute(
                    "UPDATE onramp_outbox SET leased_until = 0, leased_by = NULL
                     WHERE id = ?1 AND state = 'waiting' AND leased_by = ?2",
                    params![id, owner],
                )?,
                done => {
                    let (state, at, status, code, field, detail) = done.columns();
                    conn.execute(
                        "UPDATE onramp_outbox SET state = ?2, done_at = ?3, status = ?4, code = ?5, field = ?6,
                           detail = ?7, leased_until = 0
                         WHERE id = ?1 AND state = 'waiting'",
                        params![id, state, at, status, code, field, detail],
                    )?
                }
            };
            Ok(())
        })
        .await
    }

    /// See [`super::Store::release`].
    pub async fn release(&self, owner: &str) -> DbResult<u64> {
        let owner = owner.to_owned();
        self.with(move |conn| {
            conn.execute(
                "UPDATE onramp_outbox SET leased_until = 0, leased_by = NULL WHERE state = 'waiting' AND leased_by = ?1",
                [owner],
            )
            .map(|n| n as u64)
        })
        .await
    }

    /// See [`super::Store::next_due`].
    pub async fn next_due(&self) -> DbResult<Option<i64>> {
        self.with(|conn| {
            conn.query_row(
                "SELECT min(max(next_at, leased_until)) FROM onramp_outbox WHERE state = 'waiting'",
                [],
                |r| r.get(0),
            )
        })
        .await
    }

    /// See [`super::Store::counts`].
    pub async fn counts(&self) -> DbResult<Counts> {
        self.with(|conn| {
            let mut counts = Counts::default();
            let mut stmt = conn.prepare(
                "SELECT state, code, field, status, count(*) FROM onramp_outbox
                 GROUP BY state, code, field, status ORDER BY state, code, field, status",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let st: String = r.get(0)?;
                let n: i64 = r.get(4)?;
                match st.as_str() {
                    state::WAITING => counts.waiting += n,
                    state::SENT => counts.sent += n,
                    state::GIVEN_UP => counts.given_up += n,
                    _ => counts.rejected.push((
                        r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        r.get(2)?,
                        r.get(3)?,
                        n,
                    )),
                }
            }
            counts.oldest_waiting_ms = conn
                .query_row(
                    "SELECT min(created_at) FROM onramp_outbox WHERE state = 'waiting'",
                    [],
                    |r| r.get::<_, Option<i64>>(0),
                )
                .optional()?
                .flatten();
            Ok(counts)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    async fn store(name: &str) -> (Store, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!("onramp-relay-unit-{name}-{}.db", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let store = Store::open(&format!("sqlite:{}", path.display())).await.unwrap();
        (store, path)
    }

    fn row(c: &str) -> [Option<String>; 4] {
        [Some("pk".into()), Some("svc".into()), Some(c.into()), None]
    }

    #[tokio::test]
    async fn migrations_apply_once_and_the_table_is_checked() {
        let (store, _) = store("migrate").await;
        assert!(store.check().await.unwrap_err().contains("onramp-relay migrate"));
        assert_eq!(store.migrate().await.unwrap(), vec![1]);
        assert_eq!(store.migrate().await.unwrap(), Vec::<u32>::new());
        store.check().await.unwrap();
        assert!(store.enqueue(row("a")).await.unwrap().is_some());
        assert_eq!(store.enqueue(row("a")).await.unwrap(), None, "one row per customer");
    }

    #[tokio::test]
    async fn a_claimed_row_is_no_other_relays_until_its_lease_ends() {
        let (store, _) = store("claim").await;
        store.migrate().await.unwrap();
        for c in ["a", "b", "c"] {
            store.enqueue(row(c)).await.unwrap();
        }
        let now = 10_000_000_000_000;
        let mine = store.claim("one", now, now + 1_000, 2).await.unwrap();
        assert_eq!(mine.iter().map(|r| r.id).collect::<Vec<_>>(), vec![1, 2]);
        let theirs = store.claim("two", now, now + 1_000, 10).await.unwrap();
        assert_eq!(theirs.iter().map(|r| r.id).collect::<Vec<_>>(), vec![3]);
        assert!(store.claim("two", now + 999, now + 2_000, 10).await.unwrap().is_empty());
        assert_eq!(store.next_due().await.unwrap(), Some(now + 1_000));

        // Another relay's outcome does not touch a row it no longer holds.
        let retry = Done::Retry {
            failures: 1,
            next_ms: now + 5_000,
            status: Some(503),
            code: "retry".into(),
            detail: String::new(),
        };
        store.finish(1, "two", &retry).await.unwrap();
        store.finish(2, "one", &retry).await.unwrap();
        store
            .finish(
                1,
                "one",
                &Done::Sent {
                    at: now,
                    status: Some(201),
                },
            )
            .await
            .unwrap();
        assert_eq!(store.release("two").await.unwrap(), 1, "row 3");

        // Once a lease is over, what waits is due again: row 3 now, row 2
        // after its retry's wait, row 3 again when relay two's second lease
        // ran out without an outcome (a relay killed).
        let again = store.claim("two", now + 1_000, now + 2_000, 10).await.unwrap();
        assert_eq!(again.iter().map(|r| r.id).collect::<Vec<_>>(), vec![3]);
        let later = store.claim("three", now + 5_000, now + 6_000, 10).await.unwrap();
        assert_eq!(
            later.iter().map(|r| (r.id, r.failures)).collect::<Vec<_>>(),
            vec![(2, 1), (3, 0)]
        );

        let counts = store.counts().await.unwrap();
        assert_eq!((counts.waiting, counts.sent), (2, 1));
    }
}
