//! The sandbox's database: one SQLite table of trackings, unique on the
//! natural key (partnerKey, serviceName, customerId), in write-ahead-log
//! mode with the log kept small: every statement is stepped to its end (so
//! each write commits and SQLite's automatic checkpoint runs), the log is
//! truncated to 4 MB after a checkpoint, and [`Store::close`] checkpoints it
//! away.

use std::path::Path;

use onramp_core::Tracking;
use rusqlite::{params, Connection, OptionalExtension, Params};
use serde::Serialize;

use crate::demand::DayCount;

/// A tracking as stored, with when it first arrived, how often it was sent
/// and the origin of the page that first sent it; it serialises as the
/// API's answer:
/// `{"id","partnerKey","serviceName","customerId","purchasedAt","receivedAt","deliveries","origin"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stored {
    pub id: i64,
    #[serde(flatten)]
    pub tracking: Tracking,
    pub received_at: String,
    pub deliveries: i64,
    /// The `Origin` of the first request (`null` for a tool without one).
    pub origin: Option<String>,
}

pub struct Store {
    db: Connection,
}

const COLUMNS: &str = "id, partner_key, service_name, customer_id, purchased_at, received_at, deliveries, origin";

/// The most the write-ahead log keeps on disk after a checkpoint.
const WAL_LIMIT_BYTES: i64 = 4 * 1024 * 1024;

impl Store {
    /// Opens (and creates) the database at `path`; `:memory:` keeps it in memory.
    pub fn open(path: &Path) -> rusqlite::Result<Store> {
        let db = Connection::open(path)?;
        db.execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA journal_size_limit = {WAL_LIMIT_BYTES};
             CREATE TABLE IF NOT EXISTS trackings (
                 id INTEGER PRIMARY KEY,
                 partner_key TEXT NOT NULL,
                 service_name TEXT NOT NULL,
                 customer_id TEXT NOT NULL,
                 purchased_at TEXT NOT NULL,
                 received_at TEXT NOT NULL,
                 deliveries INTEGER NOT NULL DEFAULT 1,
                 UNIQUE (partner_key, service_name, customer_id)
             );"
        ))?;
        // Databases made before the origin was kept get the column.
        let has_origin = db
            .prepare("SELECT 1 FROM pragma_table_info('trackings') WHERE name = 'origin'")?
            .exists([])?;
        if !has_origin {
            db.execute_batch("ALTER TABLE trackings ADD COLUMN origin TEXT")?;
        }
        Ok(Store { db })
    }

    /// Runs a query to its end and returns its rows: a statement left
    /// unfinished would keep its write from committing, and the log from
    /// being checkpointed.
    fn rows(&self, sql: &str, params: impl Params) -> rusqlite::Result<Vec<Stored>> {
        let mut stmt = self.db.prepare_cached(sql)?;
        let rows = stmt.query_map(params, row_to_stored)?;
        rows.collect()
    }

    /// Stores a tracking once per natural key; a repeat only counts one more
    /// delivery. Returns the stored record and whether it is new.
    pub fn record(
        &self,
        tracking: &Tracking,
        received_at: &str,
        origin: Option<&str>,
    ) -> rusqlite::Result<(Stored, bool)> {
        let sql = format!(
            "INSERT INTO trackings (partner_key, service_name, customer_id, purchased_at, received_at, origin)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (partner_key, service_name, customer_id)
             DO UPDATE SET deliveries = deliveries + 1
             RETURNING {COLUMNS}"
        );
        let stored = self
            .rows(
                &sql,
                params![
                    tracking.partner_key,
                    tracking.service_name,
                    tracking.customer_id,
                    tracking.purchased_at,
                    received_at,
                    origin
                ],
            )?
            .pop()
            .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        let created = stored.deliveries == 1;
        Ok((stored, created))
    }

    /// Every stored tracking, oldest first.
    pub fn list(&self) -> rusqlite::Result<Vec<Stored>> {
        self.rows(&format!("SELECT {COLUMNS} FROM trackings ORDER BY id"), [])
    }

    /// Trackings per partner key, service and day of `purchasedAt` (UTC),
    /// from the day `from` (`YYYY-MM-DD`) on.
    pub fn per_day(&self, from: &str) -> rusqlite::Result<Vec<DayCount>> {
        let mut stmt = self.db.prepare_cached(
            "SELECT partner_key, service_name, substr(purchased_at, 1, 10) AS day, COUNT(*) FROM trackings
             WHERE purchased_at >= ?1 GROUP BY partner_key, service_name, day",
        )?;
        let rows = stmt.query_map([from], |row| {
            Ok(DayCount {
                partner_key: row.get(0)?,
                service_name: row.get(1)?,
                day: row.get(2)?,
                count: row.get(3)?,
            })
        })?;
        rows.collect()
    }

    /// How many trackings are stored.
    pub fn count(&self) -> rusqlite::Result<i64> {
        self.db
            .query_row("SELECT COUNT(*) FROM trackings", [], |row| row.get(0))
    }

    /// Forgets every tracking.
    pub fn clear(&self) -> rusqlite::Result<()> {
        self.db.execute("DELETE FROM trackings", []).map(|_| ())
    }

    /// One stored tracking by id.
    pub fn get(&self, id: i64) -> rusqlite::Result<Option<Stored>> {
        self.db
            .query_row(
                &format!("SELECT {COLUMNS} FROM trackings WHERE id = ?1"),
                [id],
                row_to_stored,
            )
            .optional()
    }

    /// Moves the write-ahead log into the database and empties it (on
    /// shutdown).
    pub fn close(&self) -> rusqlite::Result<()> {
        self.db
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .optional()
            .map(|_| ())
    }
}

fn row_to_stored(row: &rusqlite::Row<'_>) -> rusqlite::Result<Stored> {
    Ok(Stored {
        id: row.get(0)?,
        tracking: Tracking {
            partner_key: row.get(1)?,
            service_name: row.get(2)?,
            customer_id: row.get(3)?,
            purchased_at: row.get(4)?,
        },
        received_at: row.get(5)?,
        deliveries: row.get(6)?,
        origin: row.get(7)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracking(customer_id: &str) -> Tracking {
        Tracking {
            partner_key: "pk".into(),
            service_name: "svc".into(),
            customer_id: customer_id.into(),
            purchased_at: "2026-11-26T18:43:01.000Z".into(),
        }
    }

    #[test]
    fn stores_once_and_counts_repeats() -> rusqlite::Result<()> {
        let store = Store::open(Path::new(":memory:"))?;
        let (first, created) = store.record(&tracking("a"), "2026-11-26T18:43:02.000Z", None)?;
        assert!(created);
        assert_eq!(first.deliveries, 1);
        let (again, created) = store.record(&tracking("a"), "2026-11-26T18:44:00.000Z", Some("http://b.example"))?;
        assert!(!created);
        assert_eq!((again.id, again.deliveries), (first.id, 2));
        assert_eq!(again.received_at, "2026-11-26T18:43:02.000Z");
        store.record(&tracking("b"), "2026-11-26T18:45:00.000Z", None)?;
        let all = store.list()?;
        assert_eq!(all.len(), 2);
        assert_eq!(store.get(first.id)?.map(|s| s.deliveries), Some(2));
        Ok(())
    }

    #[test]
    fn survives_reopening() -> rusqlite::Result<()> {
        let dir = std::env::temp_dir().join(format!("onramp-sandbox-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok();
        let path = dir.join("store.db");
        std::fs::remove_file(&path).ok();
        Store::open(&path)?.record(&tracking("a"), "2026-11-26T18:43:02.000Z", None)?;
        let store = Store::open(&path)?;
        assert_eq!(store.list()?.len(), 1);
        std::fs::remove_dir_all(&dir).ok();
        Ok(())
    }

    #[test]
    fn serialises_as_the_api_s_answer() -> serde_json::Result<()> {
        let stored = Stored {
            id: 7,
            tracking: tracking("ü-1"),
            received_at: "2026-11-26T18:43:02.000Z".into(),
            deliveries: 2,
            origin: Some("http://a.example".into()),
        };
        assert_eq!(
            serde_json::to_string(&stored)?,
            "{\"id\":7,\"partnerKey\":\"pk\",\"serviceName\":\"svc\",\"customerId\":\"ü-1\",\
             \"purchasedAt\":\"2026-11-26T18:43:01.000Z\",\"receivedAt\":\"2026-11-26T18:43:02.000Z\",\"deliveries\":2,\
             \"origin\":\"http://a.example\"}"
        );
        Ok(())
    }
}
