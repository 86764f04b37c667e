//! The OnRamp API (`POST` and `GET /api/SaasTrackings`) and the sandbox's
//! control API under `/_sandbox/` (faults, reset, rejected submissions,
//! attempts, and the state and change events of the test-events page).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use onramp_core::time::Timestamp;
use onramp_core::Error;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{watch, Notify};

use crate::demand;
use crate::faults::{self, Faults};
use crate::store::Store;
use crate::validate::{json_body, tracking_from_json, Problem};

/// How many rejected submissions and attempts are kept for inspection.
const LOG_LIMIT: usize = 1_000;

/// The sandbox's state.
pub struct App {
    pub store: Mutex<Store>,
    pub faults: Mutex<Faults>,
    pub rejected: Mutex<VecDeque<Rejected>>,
    pub attempts: Mutex<VecDeque<Attempt>>,
    /// Counts changes, for the test-events page's live updates.
    pub changes: watch::Sender<u64>,
}

/// The body of every error answer: `{"error":{"code","field","message"}}`.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorAnswer {
    pub error: Problem,
}

impl ErrorAnswer {
    pub fn new(code: &'static str, field: Option<&str>, message: &str) -> ErrorAnswer {
        ErrorAnswer {
            error: Problem::new(code, field, message),
        }
    }

    /// The answer to a tracking that breaks one of the pixel's rules.
    fn invalid(err: &Error) -> ErrorAnswer {
        ErrorAnswer {
            error: Problem::invalid(err),
        }
    }
}

/// A refused submission as `GET /_sandbox/rejected` lists it: the error
/// answer's `error`, with when it came, the status and (the start of) the body.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rejected {
    pub error: Problem,
    pub received_at: String,
    pub status: u16,
    pub body: String,
    /// The `Origin` of the request (`null` for a tool without one).
    pub origin: Option<String>,
}

/// One POST of a tracking as `GET /_sandbox/attempts` lists it; `status` is
/// `null` when the connection was dropped.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub at: String,
    /// Whatever the body's `customerId` was (`null` when it had none).
    pub customer_id: Value,
    pub status: Option<u16>,
    pub outcome: &'static str,
    /// The `Origin` of the request (`null` for a tool without one).
    pub origin: Option<String>,
}

pub type Shared = Arc<App>;

/// Closes the connection it belongs to without an answer (the `drop` fault).
#[derive(Clone)]
pub struct Hangup(pub Arc<Notify>);

impl App {
    pub fn new(store: Store) -> App {
        App {
            store: Mutex::new(store),
            faults: Mutex::new(Faults::default()),
            rejected: Mutex::new(VecDeque::new()),
            attempts: Mutex::new(VecDeque::new()),
            changes: watch::Sender::new(0),
        }
    }

    /// Tells the test-events page that something changed.
    pub fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// A poisoned lock only means another request panicked; the data is still usable.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn push_limited<T>(log: &Mutex<VecDeque<T>>, entry: T) {
    let mut log = lock(log);
    if log.len() >= LOG_LIMIT {
        log.pop_front();
    }
    log.push_back(entry);
}

/// The time now, as the pixel's core counts it.
pub fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as f64)
        .unwrap_or(0.0);
    Timestamp::from_epoch_ms(ms)
        .or_else(|_| Timestamp::from_epoch_ms(0.0))
        .unwrap_or_else(|_| unreachable!("0 is a valid epoch time"))
}

/// Why a request of the sandbox's own failed: each handler returns it with
/// `?`, and it answers as `{"error":{"code","field","message"}}`.
#[derive(Debug)]
pub enum ApiError {
    /// SQLite failed (or its thread did): 500.
    Storage(String),
    /// No tracking with this id: 404.
    NotFound,
    /// `POST /_sandbox/faults` with something the sandbox cannot do: 400.
    Fault(String),
}

impl From<rusqlite::Error> for ApiError {
    fn from(err: rusqlite::Error) -> ApiError {
        ApiError::Storage(err.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::Storage(err) => {
                eprintln!("onramp-sandbox: database error: {err}");
                let body = ErrorAnswer::new("storage_error", None, "the sandbox could not store the tracking");
                (StatusCode::INTERNAL_SERVER_ERROR, body)
            }
            ApiError::NotFound => (
                StatusCode::NOT_FOUND,
                ErrorAnswer::new("not_found", None, "no tracking with this id"),
            ),
            ApiError::Fault(message) => (
                StatusCode::BAD_REQUEST,
                ErrorAnswer::new("invalid_fault", None, &message),
            ),
        };
        (status, Json(body)).into_response()
    }
}

/// Runs `f` on the store on a thread for blocking work, off the runtime's
/// own threads (SQLite waits for the disk).
async fn with_store<T: Send + 'static>(
    app: &Shared,
    f: impl FnOnce(&Store) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let app = Arc::clone(app);
    tokio::task::spawn_blocking(move || f(&lock(&app.store)))
        .await
        .map_err(|e| ApiError::Storage(e.to_string()))?
        .map_err(ApiError::from)
}

/// `POST /api/SaasTrackings`: the body is read as JSON (once) whatever its
/// Content-Type says (beacons arrive as `text/plain`).
pub async fn create(
    State(app): State<Shared>,
    hangup: Option<Extension<Hangup>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received = now();
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_owned);
    let parsed = json_body(&body);
    let customer_id = parsed
        .as_ref()
        .ok()
        .and_then(|v| v.get("customerId").cloned())
        .unwrap_or(Value::Null);
    let fault = lock(&app.faults).take_one();
    if let Some(fault) = fault {
        if fault.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
        }
        if fault.drop {
            log_attempt(&app, received, customer_id, None, "dropped", origin);
            if let Some(Extension(Hangup(notify))) = hangup {
                notify.notify_one();
            }
            return std::future::pending().await;
        }
        if let Some(status) = fault.status {
            log_attempt(&app, received, customer_id, Some(status), "fault", origin);
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let body = ErrorAnswer::new("sandbox_fault", None, "an injected fault (POST /_sandbox/faults)");
            let mut response = (code, Json(body)).into_response();
            if let Some(value) = fault.retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
    }
    let response = handle(&app, received, parsed, &body, origin.as_deref())
        .await
        .unwrap_or_else(IntoResponse::into_response);
    let status = response.status().as_u16();
    log_attempt(&app, received, customer_id, Some(status), "handled", origin);
    response
}

async fn handle(
    app: &Shared,
    received: Timestamp,
    parsed: Result<Value, String>,
    body: &[u8],
    origin: Option<&str>,
) -> Result<Response, ApiError> {
    let reject = |status: StatusCode, answer: ErrorAnswer| {
        let logged = Rejected {
            error: answer.error.clone(),
            received_at: received.to_rfc3339(),
            status: status.as_u16(),
            body: String::from_utf8_lossy(body).chars().take(2_000).collect(),
            origin: origin.map(str::to_owned),
        };
        push_limited(&app.rejected, logged);
        Ok((status, Json(answer)).into_response())
    };
    let value = match parsed {
        Ok(value) => value,
        Err(message) => {
            return reject(
                StatusCode::BAD_REQUEST,
                ErrorAnswer::new("invalid_json", None, &message),
            );
        }
    };
    let tracking = match tracking_from_json(&value, received) {
        Ok(t) => t,
        Err(e) => return reject(StatusCode::UNPROCESSABLE_ENTITY, ErrorAnswer::invalid(&e)),
    };
    let origin = origin.map(str::to_owned);
    let (stored, new) = with_store(app, move |store| {
        store.record(&tracking, &received.to_rfc3339(), origin.as_deref())
    })
    .await?;
    let status = if new { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(stored)).into_response())
}

fn log_attempt(
    app: &App,
    at: Timestamp,
    customer_id: Value,
    status: Option<u16>,
    outcome: &'static str,
    origin: Option<String>,
) {
    let entry = Attempt {
        at: at.to_rfc3339(),
        customer_id,
        status,
        outcome,
        origin,
    };
    push_limited(&app.attempts, entry);
    app.changed();
}

/// `GET /api/SaasTrackings`: every stored tracking with `receivedAt` and
/// `deliveries`.
pub async fn list(State(app): State<Shared>) -> Result<Response, ApiError> {
    Ok(Json(with_store(&app, Store::list).await?).into_response())
}

/// `GET /api/SaasTrackings/{id}`.
pub async fn get(State(app): State<Shared>, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let stored = with_store(&app, move |store| store.get(id)).await?;
    Ok(Json(stored.ok_or(ApiError::NotFound)?).into_response())
}

/// `POST /_sandbox/faults`: queues faults for the next POSTs of trackings.
pub async fn add_faults(State(app): State<Shared>, body: Bytes) -> Result<Response, ApiError> {
    let list = faults::from_body(&body).map_err(ApiError::Fault)?;
    let mut faults = lock(&app.faults);
    faults.add(list);
    let answer = Json(&*faults).into_response();
    drop(faults);
    app.changed();
    Ok(answer)
}

/// `GET /_sandbox/faults`: the faults still to apply.
pub async fn list_faults(State(app): State<Shared>) -> Response {
    Json(&*lock(&app.faults)).into_response()
}

/// `POST /_sandbox/reset`: forgets faults, trackings, rejected submissions and attempts.
pub async fn reset(State(app): State<Shared>) -> Result<Response, ApiError> {
    lock(&app.faults).clear();
    lock(&app.rejected).clear();
    lock(&app.attempts).clear();
    let cleared = with_store(&app, Store::clear).await;
    app.changed();
    cleared?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /_sandbox/rejected`: invalid submissions with their reasons.
pub async fn rejected(State(app): State<Shared>) -> Response {
    Json(&*lock(&app.rejected)).into_response()
}

/// `GET /_sandbox/attempts`: every POST of a tracking and what it got.
pub async fn attempts(State(app): State<Shared>) -> Response {
    Json(&*lock(&app.attempts)).into_response()
}

/// What the test-events page shows, newest first.
#[derive(Serialize)]
struct Overview {
    trackings: Vec<crate::store::Stored>,
    rejected: Vec<Rejected>,
    attempts: Vec<Attempt>,
    faults: Value,
}

/// `GET /_sandbox/summary`: the marketplace's view of demand, trackings per
/// day and service over the last 30 days (see `demand`).
pub async fn summary(State(app): State<Shared>) -> Result<Response, ApiError> {
    let days = demand::days(now());
    let from = days[0].clone();
    let (counts, stored) = with_store(&app, move |store| Ok((store.per_day(&from)?, store.count()?))).await?;
    Ok(Json(demand::summarise(counts, stored, days)).into_response())
}

/// `GET /_sandbox/state`: stored trackings, rejected submissions and
/// attempts (newest first) and the faults still to apply.
pub async fn state(State(app): State<Shared>) -> Result<Response, ApiError> {
    let mut trackings = with_store(&app, Store::list).await?;
    trackings.reverse();
    let rejected = lock(&app.rejected).iter().rev().cloned().collect();
    let attempts = lock(&app.attempts).iter().rev().cloned().collect();
    let faults = serde_json::to_value(&*lock(&app.faults)).unwrap_or(Value::Null);
    Ok(Json(Overview {
        trackings,
        rejected,
        attempts,
        faults,
    })
    .into_response())
}
