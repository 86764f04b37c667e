//! CORS through tower-http's `CorsLayer`, by what each part of the sandbox
//! is for. The pixel runs on the provider's origin, never the collector's,
//! and sends without credentials, so nothing here allows credentials.
//!
//! - The tracking API: any origin may POST a tracking (and preflight it),
//!   and read the answer with its `Retry-After`; reading the stored
//!   trackings (`GET`) is for the sandbox's own origins (the demo page).
//! - Static files (the loader and the wasm, loaded with
//!   `crossorigin="anonymous"` and Subresource Integrity): any origin.
//! - `/_sandbox/*`: no CORS headers at all (see `guard`).
//!
//! Preflights answer `Access-Control-Allow-Private-Network` only with
//! `--allow-private-network` (a public page calling the sandbox on the
//! developer's machine).

use std::sync::Arc;
use std::time::Duration;

use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use crate::guard::Hosts;

/// Whether the request is (or is the preflight of) a tracking's POST.
fn posts_a_tracking(parts: &Parts) -> bool {
    parts.method == Method::POST
        || (parts.method == Method::OPTIONS
            && parts
                .headers
                .get(header::ACCESS_CONTROL_REQUEST_METHOD)
                .is_some_and(|m| m.as_bytes() == b"POST"))
}

/// The tracking API's CORS.
pub fn api(hosts: Arc<Hosts>, private_network: bool) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin: &HeaderValue, parts: &Parts| {
            posts_a_tracking(parts) || origin.to_str().is_ok_and(|o| hosts.own_origin(o))
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
        .allow_private_network(private_network)
}

/// The static files' CORS.
pub fn files(private_network: bool) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD])
        .allow_private_network(private_network)
}
