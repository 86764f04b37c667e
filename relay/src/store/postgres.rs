//! The outbox in Postgres, for several relays: rows claimed with
//! `FOR UPDATE SKIP LOCKED` (no two relays claim one row, none waits for
//! another), and a relay woken by `LISTEN onramp_outbox`, which a trigger
//! notifies on each committed insert (a rolled-back transaction notifies
//! nobody). A lost connection (Postgres restarted) is opened again on the
//! next statement; the listener reconnects on its own and wakes the relay.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::str::FromStr;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, Client, Config};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{state, Counts, DbResult, Done};
use crate::row::Row;

/// The channel the trigger notifies.
pub const CHANNEL: &str = "onramp_outbox";

/// Each version of the table, in order.
const MIGRATIONS: [&str; 1] = [r"
CREATE TABLE onramp_outbox (
  id bigserial PRIMARY KEY,
  partner_key text,
  service_name text,
  customer_id text,
  purchased_at text,
  created_at timestamptz NOT NULL DEFAULT now(),
  state text NOT NULL DEFAULT 'waiting',
  failures integer NOT NULL DEFAULT 0,
  next_at bigint NOT NULL DEFAULT 0,
  leased_until bigint NOT NULL DEFAULT 0,
  leased_by text,
  done_at bigint,
  status integer,
  code text,
  field text,
  detail text
);
-- One row per customer; hashed, so that no value is too long for the index
-- (a btree entry holds at most a third of a page) and no INSERT of the
-- application's fails on it. A row with a NULL field is not keyed.
CREATE UNIQUE INDEX onramp_outbox_key ON onramp_outbox
  (md5(partner_key || chr(31) || service_name || chr(31) || customer_id));
CREATE INDEX onramp_outbox_waiting ON onramp_outbox (next_at) WHERE state = 'waiting';
CREATE FUNCTION onramp_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('onramp_outbox', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER onramp_outbox_inserted AFTER INSERT ON onramp_outbox
  FOR EACH STATEMENT EXECUTE FUNCTION onramp_outbox_notify();
"];

/// A Postgres outbox.
pub struct Postgres {
    config: Config,
    /// TLS as the URL's `sslmode` asks (see `tls.rs`).
    tls: MakeRustlsConnect,
    client: RefCell<Option<Rc<Client>>>,
    notify: Rc<Notify>,
    listening: Cell<bool>,
}

/// The error in words, with its causes ("error connecting to server:
/// Connection refused").
fn text(e: tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.code().code(), db.message());
    }
    let mut words = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        words.push_str(": ");
        words.push_str(&c.to_string());
        cause = c.source();
    }
    words
}

impl Postgres {
    /// Connects to `url`: an error when Postgres cannot be reached.
    pub async fn open(url: &str) -> DbResult<Postgres> {
        // libpq's verify-ca and verify-full are what `require` does here
        // (tls.rs); tokio-postgres reads only disable, prefer and require.
        let url = url
            .replace("sslmode=verify-full", "sslmode=require")
            .replace("sslmode=verify-ca", "sslmode=require");
        let mut config = Config::from_str(&url).map_err(|e| format!("not a Postgres URL: {e}"))?;
        config.connect_timeout(Duration::from_secs(5));
        config.application_name("onramp-relay");
        let ca = std::env::var("ONRAMP_DATABASE_CA").ok().filter(|c| !c.is_empty());
        let tls = super::tls::connector(config.get_ssl_mode(), ca.as_deref())?;
        let db = Postgres {
            config,
            tls,
            client: RefCell::new(None),
            notify: Rc::new(Notify::new()),
            listening: Cell::new(false),
        };
        db.client().await?;
        Ok(db)
    }

    /// The connection, opened again when it was lost.
    async fn client(&self) -> DbResult<Rc<Client>> {
        if let Some(client) = self.client.borrow().as_ref().filter(|c| !c.is_closed()) {
            return Ok(client.clone());
        }
        let (client, connection) = self
            .config
            .connect(self.tls.clone())
            .await
            .map_err(|e| format!("cannot connect to Postgres: {}", text(e)))?;
        tokio::task::spawn_local(async move {
            if let Err(e) = connection.await {
                tracing::warn!("the Postgres connection ended: {e}");
            }
        });
        let client = Rc::new(client);
        *self.client.borrow_mut() = Some(client.clone());
        Ok(client)
    }

    /// Runs `f` on the connection; a closed one is dropped, to be opened
    /// again next time.
    async fn run<T, F, Fut>(&self, f: F) -> DbResult<T>
    where
        F: FnOnce(Rc<Client>) -> Fut,
        Fut: std::future::Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let client = self.client().await?;
        match f(client.clone()).await {
            Ok(value) => Ok(value),
            Err(e) => {
                if client.is_closed() || e.is_closed() {
                    self.client.borrow_mut().take();
                }
                Err(text(e))
            }
        }
    }

    /// The table's version (0: none).
    pub async fn version(&self) -> DbResult<u32> {
        self.run(|c| async move {
            let row = c
                .query_one(
                    "SELECT CASE WHEN to_regclass('onramp_relay_migrations') IS NULL THEN 0
                            ELSE (SELECT coalesce(max(version), 0) FROM onramp_relay_migrations) END",
                    &[],
                )
                .await?;
            Ok(row.get::<_, i32>(0) as u32)
        })
        .await
    }

    /// Applies the versions not applied yet, in one transaction, under an
    /// advisory lock: two relays migrating at once apply each version once.
    pub async fn migrate(&self) -> DbResult<Vec<u32>> {
        self.run(|c| async move {
            c.batch_execute("BEGIN; SELECT pg_advisory_xact_lock(7710001);").await?;
            let result = async {
                c.batch_execute(
                    "CREATE TABLE IF NOT EXISTS onramp_relay_migrations (
                       version integer PRIMARY KEY,
                       applied_at timestamptz NOT NULL DEFAULT now())",
                )
                .await?;
                let have: i32 = c
                    .query_one("SELECT coalesce(max(version), 0) FROM onramp_relay_migrations", &[])
                    .await?
                    .get(0);
                let mut applied = Vec::new();
                for (version, sql) in (1..).zip(MIGRATIONS) {
                    if version > have {
                        c.batch_execute(sql).await?;
                        c.execute("INSERT INTO onramp_relay_migrations (version) VALUES ($1)", &[&version])
                            .await?;
                        applied.push(version as u32);
                    }
                }
                Ok(applied)
            }
            .await;
            match result {
                Ok(applied) => c.batch_execute("COMMIT").await.map(|()| applied),
                Err(e) => {
                    let _ = c.batch_execute("ROLLBACK").await;
                    Err(e)
                }
            }
        })
        .await
    }

    /// The application's `INSERT` (docs/server.md's `insert-postgres`).
    pub async fn enqueue(&self, fields: [Option<String>; 4]) -> DbResult<Option<i64>> {
        self.run(|c| async move {
            let [a, b, cid, d] = &fields;
            let rows = c
                .query(
                    "INSERT INTO onramp_outbox (partner_key, service_name, customer_id, purchased_at)
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id",
                    &[a, b, cid, d],
                )
                .await?;
            Ok(rows.first().map(|r| r.get(0)))
        })
        .await
    }

    /// See [`super::Store::claim`].
    pub async fn claim(&self, owner: &str, now: i64, until: i64, limit: i64) -> DbResult<Vec<Row>> {
        self.run(|c| async move {
            let rows = c
                .query(
                    "UPDATE onramp_outbox o SET leased_until = $1, leased_by = $2
                     FROM (SELECT id FROM onramp_outbox
                           WHERE state = 'waiting' AND next_at <= $3 AND leased_until <= $3
                           ORDER BY next_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) c
                     WHERE o.id = c.id
                     RETURNING o.id, o.partner_key, o.service_name, o.customer_id, o.purchased_at,
                       (extract(epoch FROM o.created_at) * 1000)::bigint, o.failures, o.next_at",
                    &[&until, &owner, &now, &limit],
                )
                .await?;
            let mut rows: Vec<Row> = rows
                .iter()
                .map(|r| Row {
                    id: r.get(0),
                    partner_key: r.get(1),
                    service_name: r.get(2),
                    customer_id: r.get(3),
                    purchased_at: r.get(4),
                    created_ms: r.get(5),
                    failures: r.get::<_, i32>(6).max(0) as u32,
                    next_ms: r.get(7),
                })
                .collect();
            rows.sort_by_key(|r| r.id);
            Ok(rows)
        })
        .await
    }

    /// See [`super::Store::finish`].
    pub async fn finish(&self, id: i64, owner: &str, done: &Done) -> DbResult<()> {
        self.run(|c| async move {
            match done {
                Done::Retry {
                    failures,
                    next_ms,
                    status,
                    code,
                    detail,
                } => {
                    let failures = i32::try_from(*failures).unwrap_or(i32::MAX);
                    let status = status.map(i32::from);
                    c.execute(
                        "UPDATE onramp_outbox SET failures = $2, next_at = $3, status = $4, code = $5, detail = $6,
                           leased_until = 0, leased_by = NULL
                         WHERE id = $1 AND state = 'waiting' AND leased_by = $7",
                        &[&id, &failures, next_ms, &status, code, detail, &owner],
                    )
                    .await?
                }
                Done::Released => {
                    c.execute(
                        "UPDATE onramp_outbox SET leased_until = 0, leased_by = NULL
                         WHERE id = $1 AND state = 'waiting' AND leased_by = $2",
                        &[&id, &owner],
                    )
                    .await?
                }
                done => {
                    let (state, at, status, code, field, detail) = done.columns();
                    let status = status.and_then(|s| i32::try_from(s).ok());
                    c.execute(
                        "UPDATE onramp_outbox SET state = $2, done_at = $3, status = $4, code = $5, field = $6,
                           detail = $7, leased_until = 0
                         WHERE id = $1 AND state = 'waiting'",
                        &[&id, &state, &at, &status, &code, &field, &detail],
                    )
                    .await?
                }
            };
            Ok(())
        })
        .await
    }

    /// See [`super::Store::release`].
    pub async fn release(&self, owner: &str) -> DbResult<u64> {
        self.run(|c| async move {
            c.execute(
                "UPDATE onramp_outbox SET leased_until = 0, leased_by = NULL WHERE state = 'waiting' AND leased_by = $1",
                &[&owner],
            )
            .await
        })
        .await
    }

    /// See [`super::Store::next_due`].
    pub async fn next_due(&self) -> DbResult<Option<i64>> {
        self.run(|c| async move {
            let row = c
                .query_one(
                    "SELECT min(greatest(next_at, leased_until)) FROM onramp_outbox WHERE state = 'waiting'",
                    &[],
                )
                .await?;
            Ok(row.get(0))
        })
        .await
    }

    /// See [`super::Store::counts`].
    pub async fn counts(&self) -> DbResult<Counts> {
        self.run(|c| async move {
            let mut counts = Counts::default();
            let rows = c
                .query(
                    "SELECT state, code, field, status, count(*) FROM onramp_outbox
                     GROUP BY state, code, field, status ORDER BY state, code, field, status",
                    &[],
                )
                .await?;
            for r in &rows {
                let st: String = r.get(0);
                let n: i64 = r.get(4);
                match st.as_str() {
                    state::WAITING => counts.waiting += n,
                    state::SENT => counts.sent += n,
                    state::GIVEN_UP => counts.given_up += n,
                    _ => counts.rejected.push((
                        r.get::<_, Option<String>>(1).unwrap_or_default(),
                        r.get(2),
                        r.get::<_, Option<i32>>(3).map(i64::from),
                        n,
                    )),
                }
            }
            counts.oldest_waiting_ms = c
                .query_one(
                    "SELECT (extract(epoch FROM min(created_at)) * 1000)::bigint FROM onramp_outbox WHERE state = 'waiting'",
                    &[],
                )
                .await?
                .get(0);
            Ok(counts)
        })
        .await
    }

    /// Resolves at the next notification, starting the listener first
    /// (it reconnects on its own, and wakes the relay each time it does).
    pub async fn changed(&self) {
        if !self.listening.replace(true) {
            tokio::task::spawn_local(listen(self.config.clone(), self.tls.clone(), self.notify.clone()));
        }
        self.notify.notified().await;
    }
}

/// Listens on [`CHANNEL`] for as long as the relay runs, on a connection
/// of its own, opened again whenever it is lost.
async fn listen(config: Config, tls: MakeRustlsConnect, notify: Rc<Notify>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match config.connect(tls.clone()).await {
            Ok((client, mut connection)) => {
                let driver = async {
                    loop {
                        match futures_util::future::poll_fn(|cx| connection.poll_message(cx)).await {
                            Some(Ok(AsyncMessage::Notification(_))) => notify.notify_one(),
                            Some(Ok(_)) => {}
                            Some(Err(e)) => return tracing::warn!("the Postgres listener stopped: {e}"),
                            None => return,
                        }
                    }
                };
                let listening = async {
                    match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                        Ok(()) => {
                            backoff = Duration::from_millis(100);
                            // Rows committed while nobody listened are looked for now.
                            notify.notify_one();
                            std::future::pending::<()>().await;
                        }
                        Err(e) => tracing::warn!("LISTEN {CHANNEL} failed: {}", text(e)),
                    }
                };
                tokio::select! {
                    () = driver => {}
                    () = listening => {}
                }
            }
            Err(e) => tracing::warn!("the Postgres listener cannot connect: {}", text(e)),
        }
        notify.notify_one();
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
