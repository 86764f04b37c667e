//! The OnRamp API: `POST /api/SaasTrackings` and `GET /api/SaasTrackings`.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use onramp_pixel::time::Timestamp;
use onramp_pixel::Error;
use serde_json::{json, Value};

use crate::store::Store;
use crate::validate::tracking_from_json;

pub type Db = Arc<Mutex<Store>>;

/// The time now, as the pixel's core counts it.
pub fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as f64)
        .unwrap_or(0.0);
    Timestamp::from_epoch_ms(ms)
        .unwrap_or_else(|_| Timestamp::from_epoch_ms(0.0).unwrap_or_else(|_| unreachable!()))
}

fn error_body(code: &str, field: Option<&str>, message: &str) -> Value {
    json!({ "error": { "code": code, "field": field, "message": message } })
}

fn invalid(err: &Error) -> Response {
    let body = error_body(err.code(), err.field(), &err.message());
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

fn server_error(err: &rusqlite::Error) -> Response {
    eprintln!("onramp-sandbox: database error: {err}");
    let body = error_body(
        "storage_error",
        None,
        "the sandbox could not store the tracking",
    );
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

/// `POST /api/SaasTrackings`: the body is read as JSON whatever its
/// Content-Type says (beacons arrive as `text/plain`).
pub async fn create(State(db): State<Db>, body: Bytes) -> Response {
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(e) => {
            let message = format!("the body is not valid JSON: {e}");
            let body = error_body("invalid_json", None, &message);
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    let now = now();
    let tracking = match tracking_from_json(&value, now) {
        Ok(t) => t,
        Err(e) => return invalid(&e),
    };
    let result = match db.lock() {
        Ok(store) => store.record(&tracking, &now.to_rfc3339()),
        Err(poisoned) => poisoned.into_inner().record(&tracking, &now.to_rfc3339()),
    };
    match result {
        Ok((stored, true)) => (StatusCode::CREATED, Json(stored.to_json())).into_response(),
        Ok((stored, false)) => (StatusCode::OK, Json(stored.to_json())).into_response(),
        Err(e) => server_error(&e),
    }
}

/// `GET /api/SaasTrackings`: every stored tracking with `receivedAt` and
/// `deliveries`.
pub async fn list(State(db): State<Db>) -> Response {
    let result = match db.lock() {
        Ok(store) => store.list(),
        Err(poisoned) => poisoned.into_inner().list(),
    };
    match result {
        Ok(all) => Json(Value::Array(all.iter().map(|s| s.to_json()).collect())).into_response(),
        Err(e) => server_error(&e),
    }
}

/// `GET /api/SaasTrackings/{id}`.
pub async fn get(State(db): State<Db>, Path(id): Path<i64>) -> Response {
    let result = match db.lock() {
        Ok(store) => store.get(id),
        Err(poisoned) => poisoned.into_inner().get(id),
    };
    match result {
        Ok(Some(stored)) => Json(stored.to_json()).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(error_body("not_found", None, "no tracking with this id")),
        )
            .into_response(),
        Err(e) => server_error(&e),
    }
}
