//! The outbox table, in SQLite or Postgres: its migrations, the
//! application's row, the relay's claim of waiting rows (the claim is the
//! tracking's lock: a row claimed by one relay is no other's until its
//! lease runs out) and what each attempt came to.

mod postgres;
mod sqlite;
mod tls;

use std::rc::Rc;

pub use self::postgres::Postgres;
pub use self::sqlite::Sqlite;
use crate::row::Row;

/// A database error, in words.
pub type DbResult<T> = Result<T, String>;

/// The states of a row.
pub mod state {
    /// Not delivered yet.
    pub const WAITING: &str = "waiting";
    /// The collector accepted it.
    pub const SENT: &str = "sent";
    /// Refused: by the core's checks, or by the collector (4xx).
    pub const REJECTED: &str = "rejected";
    /// Waited longer than the queue's TTL (7 days).
    pub const GIVEN_UP: &str = "given_up";
}

/// What became of a claimed row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Done {
    /// Accepted by the collector at `at` (epoch ms) with this status.
    Sent {
        /// When.
        at: i64,
        /// The collector's status.
        status: Option<u16>,
    },
    /// Failed; waits until `next_ms`.
    Retry {
        /// Failed attempts so far.
        failures: u32,
        /// When it may be sent again (epoch ms).
        next_ms: i64,
        /// The collector's status, when it answered.
        status: Option<u16>,
        /// Why, as the core's error code.
        code: String,
        /// The collector's answer, or the error in words.
        detail: String,
    },
    /// Never to be sent.
    Rejected {
        /// When.
        at: i64,
        /// The collector's status, when it refused it.
        status: Option<u16>,
        /// The core's error code.
        code: String,
        /// The field at fault, when one is.
        field: Option<String>,
        /// The error in words, or the collector's answer.
        detail: String,
    },
    /// Waited too long.
    GivenUp {
        /// When.
        at: i64,
    },
    /// Not attempted: no longer claimed.
    Released,
}

/// How many rows are in each state: `onramp-relay status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Waiting rows.
    pub waiting: i64,
    /// Delivered rows.
    pub sent: i64,
    /// Rejected rows, by code, field and status.
    pub rejected: Vec<(String, Option<String>, Option<i64>, i64)>,
    /// Rows given up.
    pub given_up: i64,
    /// When the oldest waiting row was written (epoch ms).
    pub oldest_waiting_ms: Option<i64>,
}

/// The outbox, in one database or the other.
#[derive(Clone)]
pub enum Store {
    /// A SQLite file (WAL).
    Sqlite(Rc<Sqlite>),
    /// A Postgres database.
    Postgres(Rc<Postgres>),
}

impl Store {
    /// Opens `url`: `sqlite:PATH` or `postgres://…` (`postgresql://…`).
    pub async fn open(url: &str) -> DbResult<Store> {
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            return Ok(Store::Sqlite(Rc::new(Sqlite::open(path).await?)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Store::Postgres(Rc::new(Postgres::open(url).await?)));
        }
        Err(format!(
            "not a database URL: {url:?} (expected sqlite:PATH or postgres://USER@HOST:PORT/DATABASE)"
        ))
    }

    /// Creates or upgrades the table; returns the versions applied now.
    pub async fn migrate(&self) -> DbResult<Vec<u32>> {
        match self {
            Store::Sqlite(db) => db.migrate().await,
            Store::Postgres(db) => db.migrate().await,
        }
    }

    /// Checks that the table exists at the version this relay knows.
    pub async fn check(&self) -> DbResult<()> {
        let version = match self {
            Store::Sqlite(db) => db.version().await?,
            Store::Postgres(db) => db.version().await?,
        };
        if version < LATEST {
            return Err(format!(
                "the outbox is at version {version}, this relay needs {LATEST}: run `onramp-relay migrate`"
            ));
        }
        Ok(())
    }

    /// Writes a row as the application does (one `INSERT`); `None` when a
    /// row with the same key was there already.
    pub async fn enqueue(&self, fields: [Option<String>; 4]) -> DbResult<Option<i64>> {
        match self {
            Store::Sqlite(db) => db.enqueue(fields).await,
            Store::Postgres(db) => db.enqueue(fields).await,
        }
    }

    /// Claims up to `limit` waiting rows that are due at `now` and held by
    /// no relay, for `owner` until `until`.
    pub async fn claim(&self, owner: &str, now: i64, until: i64, limit: i64) -> DbResult<Vec<Row>> {
        match self {
            Store::Sqlite(db) => db.claim(owner, now, until, limit).await,
            Store::Postgres(db) => db.claim(owner, now, until, limit).await,
        }
    }

    /// Writes what became of a claimed row.
    pub async fn finish(&self, id: i64, owner: &str, done: &Done) -> DbResult<()> {
        match self {
            Store::Sqlite(db) => db.finish(id, owner, done).await,
            Store::Postgres(db) => db.finish(id, owner, done).await,
        }
    }

    /// Releases every row `owner` still holds; returns how many.
    pub async fn release(&self, owner: &str) -> DbResult<u64> {
        match self {
            Store::Sqlite(db) => db.release(owner).await,
            Store::Postgres(db) => db.release(owner).await,
        }
    }

    /// When the next waiting row is due (epoch ms), if one waits.
    pub async fn next_due(&self) -> DbResult<Option<i64>> {
        match self {
            Store::Sqlite(db) => db.next_due().await,
            Store::Postgres(db) => db.next_due().await,
        }
    }

    /// How many rows are in each state.
    pub async fn counts(&self) -> DbResult<Counts> {
        match self {
            Store::Sqlite(db) => db.counts().await,
            Store::Postgres(db) => db.counts().await,
        }
    }

    /// Resolves when a row may have been committed since the last call: a
    /// notification from Postgres (`LISTEN`), or SQLite's `data_version`
    /// moved.
    pub async fn changed(&self) {
        match self {
            Store::Sqlite(db) => db.changed().await,
            Store::Postgres(db) => db.changed().await,
        }
    }
}

/// The newest version of the table.
pub const LATEST: u32 = 1;

/// The parts of a `Done` as columns: state, done_at, status, code, field,
/// detail.
type Columns<'a> = (
    &'static str,
    Option<i64>,
    Option<i64>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
);

impl Done {
    /// The columns of a final state (not for `Retry` and `Released`).
    fn columns(&self) -> Columns<'_> {
        match self {
            Done::Sent { at, status } => (state::SENT, Some(*at), status.map(i64::from), None, None, None),
            Done::Rejected {
                at,
                status,
                code,
                field,
                detail,
            } => (
                state::REJECTED,
                Some(*at),
                status.map(i64::from),
                Some(code),
                field.as_deref(),
                Some(detail),
            ),
            Done::GivenUp { at } => (
                state::GIVEN_UP,
                Some(*at),
                None,
                Some("given_up"),
                None,
                Some("waited longer than 7 days"),
            ),
            Done::Retry { .. } | Done::Released => (state::WAITING, None, None, None, None, None),
        }
    }
}

/// At most this much of a collector's answer is kept with a row.
pub const MAX_DETAIL: usize = 500;

/// `text` cut to [`MAX_DETAIL`] characters.
pub fn detail(text: &str) -> String {
    text.chars().take(MAX_DETAIL).collect()
}
