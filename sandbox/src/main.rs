//! onramp-sandbox: a local collector that speaks the OnRamp SaasTrackings
//! API, stores what it receives in SQLite and serves the demo pages.

mod api;
mod cors;
mod files;
mod store;
mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;

const USAGE: &str =
    "usage: onramp-sandbox [--port N] [--host ADDR] [--db PATH|:memory:] [--static DIR]...

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
                args.port = v
                    .parse()
                    .map_err(|_| format!("--port: not a port number: {v}"))?;
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
            eprintln!(
                "onramp-sandbox: cannot open database {}: {e}",
                args.db.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let addr: SocketAddr = match format!("{}:{}", bracket_v6(&args.host), args.port).parse() {
        Ok(addr) => addr,
        Err(_) => {
            eprintln!(
                "onramp-sandbox: --host must be an IP address: {}",
                args.host
            );
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
    let db: api::Db = Arc::new(Mutex::new(store));
    let files = Arc::new(files::Files {
        roots: args.statics,
        origin: origin.clone(),
    });
    let app = Router::new()
        .route("/api/SaasTrackings", get(api::list).post(api::create))
        .route("/api/SaasTrackings/{id}", get(api::get))
        .with_state(db)
        .fallback_service(axum::routing::any(files::serve).with_state(files))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(axum::middleware::from_fn(cors::layer));
    println!("onramp-sandbox listening on {origin}");
    println!("  POST {origin}/api/SaasTrackings");
    println!("  GET  {origin}/api/SaasTrackings");
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(term) => term,
                    Err(_) => return std::future::pending().await,
                };
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("onramp-sandbox: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn bracket_v6(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}
