//! The command line: `migrate`, `run`, `enqueue`, `status`.

use std::process::ExitCode;

use onramp_core::endpoint::Endpoint;
use onramp_core::options::MAX_TIMEOUT_MS;
use onramp_core::time::Timestamp;
use onramp_core::tracking::{PurchasedAt, TrackingInput};

use crate::host::now_ms;
use crate::run::{self, Settings};
use crate::store::Store;

const USAGE: &str = "usage: onramp-relay [--database URL] COMMAND

commands:
  migrate                       create or upgrade the outbox table (idempotent)
  run [--timeout-ms N] [--batch N] [--in-flight N] [--until-idle]
                                deliver waiting rows until SIGTERM (or, with
                                --until-idle, until nothing waits)
  enqueue PARTNER_KEY SERVICE_NAME CUSTOMER_ID [PURCHASED_AT]
                                write one row, checked by the pixel's rules
  status [--json]               rows waiting, sent, rejected (by code), given up

environment:
  ONRAMP_DATABASE_URL   the database when --database is not given:
                        sqlite:PATH or postgres://USER@HOST:PORT/DATABASE
                        (default sqlite:onramp.db)
  ONRAMP_DATABASE_CA    extra root certificates (PEM) for Postgres over TLS
                        with ?sslmode=require (docs/server.md)
  ONRAMP_BASE_URL       the OnRamp's base URL (run)
  RUST_LOG              the log filter (default info)";

/// The command line as read.
#[derive(Debug, PartialEq)]
struct Args {
    database: String,
    command: Command,
}

#[derive(Debug, PartialEq)]
enum Command {
    Migrate,
    Run {
        timeout_ms: u32,
        batch: usize,
        in_flight: usize,
        until_idle: bool,
    },
    Enqueue([Option<String>; 4]),
    Status {
        json: bool,
    },
}

fn number(flag: &str, value: Option<String>, min: u64, max: u64) -> Result<u64, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "{flag}: a whole number from {min} to {max} is expected, not {value:?}"
        )),
    }
}

fn parse(argv: Vec<String>, env_database: Option<String>) -> Result<Args, String> {
    let mut database = env_database.filter(|d| !d.is_empty());
    let mut rest = Vec::new();
    let mut it = argv.into_iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--database" => database = Some(it.next().ok_or("--database needs a URL")?),
            _ => match arg.strip_prefix("--database=") {
                Some(url) => database = Some(url.to_owned()),
                None => rest.push(arg),
            },
        }
    }
    let mut rest = rest.into_iter();
    let command = match rest.next().as_deref() {
        Some("migrate") => Command::Migrate,
        Some("run") => {
            let (mut timeout_ms, mut batch, mut in_flight, mut until_idle) = (60_000, 50, 100, false);
            while let Some(flag) = rest.next() {
                match flag.as_str() {
                    "--timeout-ms" => timeout_ms = number(&flag, rest.next(), 1, u64::from(MAX_TIMEOUT_MS))? as u32,
                    "--batch" => batch = number(&flag, rest.next(), 1, onramp_core::queue::MAX_QUEUED as u64)? as usize,
                    "--in-flight" => in_flight = number(&flag, rest.next(), 1, 10_000)? as usize,
                    "--until-idle" => until_idle = true,
                    _ => return Err(format!("run: unknown option {flag}")),
                }
            }
            Command::Run {
                timeout_ms,
                batch,
                in_flight,
                until_idle,
            }
        }
        Some("enqueue") => {
            let fields: Vec<String> = rest.by_ref().collect();
            if !(3..=4).contains(&fields.len()) {
                return Err("enqueue takes PARTNER_KEY SERVICE_NAME CUSTOMER_ID [PURCHASED_AT]".into());
            }
            let mut fields = fields.into_iter().map(Some);
            Command::Enqueue([
                fields.next().flatten(),
                fields.next().flatten(),
                fields.next().flatten(),
                fields.next().flatten(),
            ])
        }
        Some("status") => Command::Status {
            json: match rest.next().as_deref() {
                None => false,
                Some("--json") => true,
                Some(other) => return Err(format!("status: unknown option {other}")),
            },
        },
        Some(other) => return Err(format!("unknown command {other:?}")),
        None => return Err("a command is needed".into()),
    };
    if let Some(extra) = rest.next() {
        return Err(format!("unexpected argument {extra:?}"));
    }
    Ok(Args {
        database: database.unwrap_or_else(|| "sqlite:onramp.db".into()),
        command,
    })
}

/// Runs the command line; the exit code says how it went.
pub fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let args = match parse(argv, std::env::var("ONRAMP_DATABASE_URL").ok()) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("onramp-relay: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("onramp-relay: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    match local.block_on(&runtime, command(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onramp-relay: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn command(args: Args) -> Result<(), String> {
    // Listening for SIGTERM from the start: a relay stopped while it opens
    // the database still stops as it should.
    let stop = stop_signal();
    let store = Store::open(&args.database).await?;
    match args.command {
        Command::Migrate => {
            let applied = store.migrate().await?;
            match applied.as_slice() {
                [] => println!("the outbox is up to date (version {})", crate::store::LATEST),
                versions => println!("applied version {versions:?} of the outbox"),
            }
            Ok(())
        }
        Command::Enqueue(fields) => enqueue(&store, fields).await,
        Command::Status { json } => status(&store, json).await,
        Command::Run {
            timeout_ms,
            batch,
            in_flight,
            until_idle,
        } => {
            store.check().await?;
            let base_url =
                std::env::var("ONRAMP_BASE_URL").map_err(|_| "ONRAMP_BASE_URL is not set: the OnRamp's base URL")?;
            Endpoint::parse(&base_url).map_err(|e| format!("ONRAMP_BASE_URL: {e}"))?;
            let settings = Settings {
                base_url,
                timeout_ms,
                batch,
                in_flight,
                owner: format!("{}-{}", std::process::id(), now_ms()),
                until_idle,
            };
            run::run(store, settings, stop).await;
            Ok(())
        }
    }
}

/// Listens for SIGTERM and SIGINT from now on; the future resolves at the
/// first.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => std::future::pending().await,
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn enqueue(store: &Store, fields: [Option<String>; 4]) -> Result<(), String> {
    let now = Timestamp::from_epoch_ms(now_ms() as f64).map_err(|e| e.to_string())?;
    let [Some(partner_key), Some(service_name), Some(customer_id), purchased_at] = &fields else {
        return Err("enqueue takes PARTNER_KEY SERVICE_NAME CUSTOMER_ID [PURCHASED_AT]".into());
    };
    TrackingInput {
        partner_key,
        service_name,
        customer_id,
        purchased_at: purchased_at.as_deref().map_or(PurchasedAt::Now, PurchasedAt::Text),
    }
    .check(now)
    .map_err(|e| match e.field() {
        Some(field) => format!("{} ({field}): {}", e.code(), e.message()),
        None => e.to_string(),
    })?;
    store.check().await?;
    match store.enqueue(fields).await? {
        Some(id) => println!("enqueued row {id}"),
        None => println!("already in the outbox: not enqueued again"),
    }
    Ok(())
}

async fn status(store: &Store, json: bool) -> Result<(), String> {
    store.check().await?;
    let counts = store.counts().await?;
    let oldest = counts
        .oldest_waiting_ms
        .and_then(|ms| Timestamp::from_epoch_ms(ms as f64).ok())
        .map(Timestamp::to_rfc3339);
    let rejected: i64 = counts.rejected.iter().map(|r| r.3).sum();
    if json {
        let by_code: Vec<serde_json::Value> = counts
            .rejected
            .iter()
            .map(|(code, field, status, count)| {
                serde_json::json!({ "code": code, "field": field, "status": status, "count": count })
            })
            .collect();
        let value = serde_json::json!({
            "waiting": counts.waiting,
            "oldestWaiting": oldest,
            "sent": counts.sent,
            "rejected": rejected,
            "rejectedBy": by_code,
            "givenUp": counts.given_up,
        });
        println!("{value}");
        return Ok(());
    }
    match &oldest {
        Some(at) => println!("waiting   {} (the oldest written {at})", counts.waiting),
        None => println!("waiting   {}", counts.waiting),
    }
    println!("sent      {}", counts.sent);
    println!("rejected  {rejected}");
    for (code, field, status, count) in &counts.rejected {
        let field = field.as_deref().map(|f| format!(" ({f})")).unwrap_or_default();
        let status = status.map(|s| format!(", HTTP {s}")).unwrap_or_default();
        println!("  {code}{field}{status}: {count}");
    }
    println!("given up  {}", counts.given_up);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Result<Args, String> {
        parse(line.split_whitespace().map(str::to_owned).collect(), None)
    }

    #[test]
    fn the_database_comes_from_the_flag_then_the_environment_then_the_default() {
        assert_eq!(args("migrate").unwrap().database, "sqlite:onramp.db");
        let from_env = parse(vec!["status".into()], Some("postgres://u@h/d".into())).unwrap();
        assert_eq!(from_env.database, "postgres://u@h/d");
        let flag = parse(
            vec!["--database".into(), "sqlite:x.db".into(), "migrate".into()],
            Some("postgres://u@h/d".into()),
        );
        assert_eq!(flag.unwrap().database, "sqlite:x.db");
        assert_eq!(args("status --database=sqlite:y.db").unwrap().database, "sqlite:y.db");
    }

    #[test]
    fn commands_and_their_options() {
        assert_eq!(
            args("run --timeout-ms 2000 --until-idle").unwrap().command,
            Command::Run {
                timeout_ms: 2_000,
                batch: 50,
                in_flight: 100,
                until_idle: true
            }
        );
        assert_eq!(
            args("enqueue pk svc c-1").unwrap().command,
            Command::Enqueue([Some("pk".into()), Some("svc".into()), Some("c-1".into()), None])
        );
        assert_eq!(args("status --json").unwrap().command, Command::Status { json: true });
        assert!(args("run --timeout-ms 0").is_err());
        assert!(args("run --batch 101").is_err());
        assert!(args("enqueue pk svc").is_err());
        assert!(args("frobnicate").is_err());
        assert!(args("").is_err());
        assert!(args("migrate now").is_err());
    }
}
