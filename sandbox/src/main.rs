//! onramp-sandbox: a local collector that speaks the OnRamp SaasTrackings
//! API, stores what it receives in SQLite and serves the demo pages.

mod api;
mod cors;
mod faults;
mod files;
mod store;
mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Extension, Router};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::sync::Notify;

const USAGE: &str = "usage: onramp-sandbox [--port N] [--host ADDR] [--db PATH|:memory:] [--static DIR]...

  --port N      port to listen on (default 8080; 0 picks a free one)
  --host ADDR   address to listen on (default 127.0.0.1)
  --db PATH     SQLite database file (default onramp-sandbox.db; :memory: keeps nothing)
  --static DIR  serve files from DIR (may be repeated; searched in order)";

struct Args {
    port: u16,
    host: String,
    db: PathBuf,
    statics: Vec<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 8080,
        host: "127.0.0.1".into(),
        db: PathBuf::from("onramp-sandbox.db"),
        statics: Vec::new(),
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
    let app: api::Shared = Arc::new(api::App::new(store));
    let files = Arc::new(files::Files {
        roots: args.statics,
        origin: origin.clone(),
    });
    let router = Router::new()
        .route("/api/SaasTrackings", get(api::list).post(api::create))
        .route("/api/SaasTrackings/{id}", get(api::get))
        .route("/_sandbox/faults", get(api::list_faults).post(api::add_faults))
        .route("/_sandbox/reset", post(api::reset))
        .route("/_sandbox/rejected", get(api::rejected))
        .route("/_sandbox/attempts", get(api::attempts))
        .with_state(app)
        .fallback_service(axum::routing::any(files::serve).with_state(files))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(axum::middleware::from_fn(cors::layer));
    println!("onramp-sandbox listening on {origin}");
    println!("  POST {origin}/api/SaasTrackings");
    println!("  GET  {origin}/api/SaasTrackings");
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    eprintln!("onramp-sandbox: accept failed: {e}");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Each connection gets a hang-up switch, so that the `drop` fault can
        // close it without an answer.
        let hangup = Arc::new(Notify::new());
        let service = TowerToHyperService::new(router.clone().layer(Extension(api::Hangup(hangup.clone()))));
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                () = hangup.notified() => {}
            }
        });
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
