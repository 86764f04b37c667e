//! onramp-sandbox: a local collector that speaks the OnRamp SaasTrackings
//! API, stores what it receives in SQLite and serves the demo pages.

mod api;
mod cors;
mod demand;
mod faults;
mod files;
mod guard;
mod page;
mod store;
mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue, StatusCode};
use axum::routing::{get, post};
use axum::{middleware, Extension, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::{Notify, Semaphore};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

const USAGE: &str = "usage: onramp-sandbox [--port N] [--host ADDR] [--db PATH|:memory:] [--static DIR]...
                     [--allowed-host NAME]... [--allow-private-network]

  --port N                 port to listen on (default 8080; 0 picks a free one)
  --host ADDR              address to listen on (default 127.0.0.1)
  --db PATH                SQLite database file (default onramp-sandbox.db; :memory: keeps nothing)
  --static DIR             serve files from DIR (may be repeated; searched in order)
  --allowed-host NAME      also answer requests for this host name (may be repeated; a leading
                           dot allows its subdomains too); localhost, *.localhost and IP
                           addresses are always answered, other names get 403 (DNS rebinding)
  --allow-private-network  answer Private Network Access preflights, for public pages that
                           call the sandbox on this machine";

/// How long a client may take to send a request's headers (and, on a kept
/// connection, to start the next request).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's body.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a tracking's POST may take, with the longest `delayMs` fault
/// (10 minutes) and a margin.
const API_TIMEOUT: Duration = Duration::from_secs(11 * 60);
/// How long any other request may take (the live events excepted).
const OTHER_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections served at once; the next ones wait to be accepted.
const MAX_CONNECTIONS: usize = 512;

struct Args {
    port: u16,
    host: String,
    db: PathBuf,
    statics: Vec<PathBuf>,
    allowed_hosts: Vec<String>,
    private_network: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 8080,
        host: "127.0.0.1".into(),
        db: PathBuf::from("onramp-sandbox.db"),
        statics: Vec::new(),
        allowed_hosts: Vec::new(),
        private_network: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--port" => {
                let v = value("--port")?;
                args.port = v.parse().map_err(|_| format!("--port: not a port number: {v}"))?;
            }
            "--host" => args.host = value("--host")?,
            "--db" => args.db = PathBuf::from(value("--db")?),
            "--static" => args.statics.push(PathBuf::from(value("--static")?)),
            "--allowed-host" => args.allowed_hosts.push(value("--allowed-host")?),
            "--allow-private-network" => args.private_network = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("onramp-sandbox: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let store = match store::Store::open(&args.db) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("onramp-sandbox: cannot open database {}: {e}", args.db.display());
            return ExitCode::FAILURE;
        }
    };
    let addr: SocketAddr = match format!("{}:{}", bracket_v6(&args.host), args.port).parse() {
        Ok(addr) => addr,
        Err(_) => {
            eprintln!("onramp-sandbox: --host must be an IP address: {}", args.host);
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("onramp-sandbox: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = listener.local_addr().unwrap_or(addr);
    let origin = format!("http://{local}");
    let hosts = Arc::new(guard::Hosts::new(
        &bracket_v6(&local.ip().to_string()),
        &args.allowed_hosts,
        local.port(),
    ));
    let app: api::Shared = Arc::new(api::App::new(store));
    let files = Arc::new(files::Files::new(args.statics, origin.clone()));
    let timeout = |limit| TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limit);
    let tracking_api = Router::new()
        .route("/api/SaasTrackings", get(api::list).post(api::create))
        .route("/api/SaasTrackings/{id}", get(api::get))
        .layer(timeout(API_TIMEOUT))
        .layer(cors::api(hosts.clone(), args.private_network));
    let control = Router::new()
        .route("/_sandbox", get(page::index))
        .route("/_sandbox/page.js", get(page::script))
        .route("/_sandbox/page.css", get(page::style))
        .route("/_sandbox/state", get(api::state))
        .route("/_sandbox/summary", get(api::summary))
        .route("/_sandbox/faults", get(api::list_faults).post(api::add_faults))
        .route("/_sandbox/reset", post(api::reset))
        .route("/_sandbox/rejected", get(api::rejected))
        .route("/_sandbox/attempts", get(api::attempts))
        .layer(timeout(OTHER_TIMEOUT))
        // Live, so without a timeout.
        .route("/_sandbox/events", get(page::events))
        .layer(middleware::from_fn_with_state(hosts.clone(), guard::control));
    let statics = Router::new()
        .fallback_service(axum::routing::any(files::serve).with_state(files))
        .layer(timeout(OTHER_TIMEOUT))
        .layer(cors::files(args.private_network));
    let router = tracking_api
        .merge(control)
        .with_state(app.clone())
        .merge(statics)
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT))
        // What the sandbox answers holds what pages sent: never let a
        // browser sniff it into HTML.
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(middleware::from_fn_with_state(hosts, guard::host));
    println!("onramp-sandbox listening on {origin}");
    println!("  POST {origin}/api/SaasTrackings");
    println!("  GET  {origin}/api/SaasTrackings");
    println!("  test events: {origin}/_sandbox");
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut backoff = Duration::ZERO;
    loop {
        let accepted = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => tokio::select! {
                    accepted = listener.accept() => accepted.map(|(stream, _)| (stream, slot)),
                    () = &mut shutdown => break,
                },
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, slot) = match accepted {
            Ok(accepted) => {
                backoff = Duration::ZERO;
                accepted
            }
            Err(e) => {
                // Out of file descriptors, mostly: wait for connections to
                // close rather than spin (10 ms, doubling up to 1 s), and
                // say so once per wait.
                backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                eprintln!(
                    "onramp-sandbox: accept failed ({e}); retrying in {} ms",
                    backoff.as_millis()
                );
                tokio::time::sleep(backoff).await;
                continue;
            }
        };
        // Each connection gets a hang-up switch, so that the `drop` fault can
        // close it without an answer.
        let hangup = Arc::new(Notify::new());
        let service = TowerToHyperService::new(router.clone().layer(Extension(api::Hangup(hangup.clone()))));
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                () = hangup.notified() => {}
            }
            drop(slot);
        });
    }
    // The write-ahead log goes into the database before the process ends.
    if let Err(e) = api::lock(&app.store).close() {
        eprintln!("onramp-sandbox: checkpoint on shutdown failed: {e}");
    }
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn bracket_v6(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}
