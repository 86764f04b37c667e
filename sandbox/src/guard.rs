//! What other web pages may do with a sandbox left running on a
//! developer's machine: POST a tracking (a collector must take those from
//! any site) and load the pixel's files, nothing else.
//!
//! - **Hosts** (against DNS rebinding, as Vite's `server.allowedHosts`): a
//!   request whose `Host` is not `localhost` (or `*.localhost`), an IP
//!   address, or a name given with `--allowed-host` is refused with 403. A
//!   rebinding page reaches the sandbox under its own domain name, so it is
//!   refused before anything is read or changed.
//! - **Control** (`/_sandbox/*`): only the sandbox's own pages and local
//!   tools. A browser request from another origin (`Origin`, or
//!   `Sec-Fetch-Site` other than `same-origin` and `none`) is refused with
//!   403, and a POST must say `Content-Type: application/json`, which a
//!   page on another site cannot send without a preflight (which gets no
//!   CORS headers here): 415 otherwise.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::uri::Authority;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::api::ErrorAnswer;

/// The names this sandbox answers to, and its port.
pub struct Hosts {
    /// `--allowed-host` names, lower-case; one starting with `.` allows
    /// its subdomains too.
    names: Vec<String>,
    /// The address it listens on, as a host name (`127.0.0.1`, `[::1]`).
    bound: String,
    port: u16,
}

impl Hosts {
    pub fn new(bound: &str, names: &[String], port: u16) -> Hosts {
        Hosts {
            names: names.iter().map(|n| n.to_ascii_lowercase()).collect(),
            bound: bound.to_ascii_lowercase(),
            port,
        }
    }

    /// Whether a `Host` header's name (without its port) is served.
    pub fn serves(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        name == "localhost" || name.ends_with(".localhost") || is_ip(&name) || name == self.bound || self.named(&name)
    }

    fn named(&self, name: &str) -> bool {
        self.names.iter().any(|allowed| match allowed.strip_prefix('.') {
            Some(domain) => name == domain || name.ends_with(allowed.as_str()),
            None => name == allowed,
        })
    }

    /// Whether an `Origin` is one of the sandbox's own: plain http, this
    /// port, and a loopback name, the bound address or an allowed name.
    pub fn own_origin(&self, origin: &str) -> bool {
        let Some(authority) = origin.strip_prefix("http://") else {
            return false;
        };
        let Some((name, port)) = split_port(authority) else {
            return false;
        };
        let name = name.to_ascii_lowercase();
        port == Some(self.port)
            && (matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]") || name == self.bound || self.named(&name))
    }
}

fn is_ip(name: &str) -> bool {
    let bare = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')).unwrap_or(name);
    bare.parse::<IpAddr>().is_ok()
}

/// `name[:port]` read as a URI authority (`http::uri::Authority`; a
/// bracketed IPv6 address keeps its brackets); `None` when it is not one,
/// or carries user information, which a `Host` or an `Origin` never does.
fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let parsed: Authority = authority.parse().ok()?;
    if authority.contains('@') {
        return None;
    }
    let name = authority.get(..parsed.host().len())?;
    Some((name, parsed.port_u16()))
}

fn refuse(status: StatusCode, code: &'static str, message: String) -> Response {
    (status, Json(ErrorAnswer::new(code, None, &message))).into_response()
}

/// Refuses a request whose `Host` this sandbox does not answer to.
pub async fn host(State(hosts): State<Arc<Hosts>>, request: Request, next: Next) -> Response {
    let name = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .and_then(split_port)
        .map(|(name, _)| name.to_owned());
    match name {
        Some(name) if hosts.serves(&name) => next.run(request).await,
        Some(name) => refuse(
            StatusCode::FORBIDDEN,
            "host_not_allowed",
            format!(
                "this sandbox does not answer to the host {name:?}; to serve it, start the sandbox with --allowed-host {name}"
            ),
        ),
        None => refuse(
            StatusCode::FORBIDDEN,
            "host_not_allowed",
            "the request has no readable Host header".into(),
        ),
    }
}

/// Why a control request is refused, if it is.
pub fn control_refusal(hosts: &Hosts, method: &Method, headers: &HeaderMap) -> Option<(StatusCode, String)> {
    let text = |name| headers.get(name).and_then(|v: &header::HeaderValue| v.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN) {
        let own = origin.to_str().is_ok_and(|o| hosts.own_origin(o));
        if !own {
            return Some((
                StatusCode::FORBIDDEN,
                "the sandbox's control endpoints answer only its own pages and local tools, not pages of another origin".into(),
            ));
        }
    }
    if let Some(site) = text("sec-fetch-site") {
        if site != "same-origin" && site != "none" {
            return Some((
                StatusCode::FORBIDDEN,
                format!(
                    "the sandbox's control endpoints answer only its own pages and local tools, not a {site} request"
                ),
            ));
        }
    }
    if method == Method::POST {
        let json = text(header::CONTENT_TYPE.as_str())
            .and_then(|t| t.split(';').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Some((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "a POST to the sandbox's control endpoints must be sent with Content-Type: application/json".into(),
            ));
        }
    }
    None
}

/// Lets only the sandbox's own pages and local tools reach `/_sandbox/*`.
pub async fn control(State(hosts): State<Arc<Hosts>>, request: Request, next: Next) -> Response {
    match control_refusal(&hosts, request.method(), request.headers()) {
        None => next.run(request).await,
        Some((status, message)) => refuse(status, "control_refused", message),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn hosts() -> Hosts {
        Hosts::new("127.0.0.1", &["dev.test".into(), ".tunnel.example".into()], 8080)
    }

    #[test]
    fn serves_loopback_names_addresses_and_allowed_hosts_only() {
        let hosts = hosts();
        for name in [
            "localhost",
            "LOCALHOST",
            "app.localhost",
            "127.0.0.1",
            "[::1]",
            "192.168.1.5",
            "dev.test",
            "a.tunnel.example",
            "tunnel.example",
        ] {
            assert!(hosts.serves(name), "{name}");
        }
        for name in [
            "evil.example",
            "dev.test.evil.example",
            "localhost.evil.example",
            "xtunnel.example",
            "",
        ] {
            assert!(!hosts.serves(name), "{name}");
        }
    }

    #[test]
    fn own_origins_are_this_port_on_loopback_or_allowed_names() {
        let hosts = hosts();
        for origin in [
            "http://localhost:8080",
            "http://127.0.0.1:8080",
            "http://[::1]:8080",
            "http://dev.test:8080",
        ] {
            assert!(hosts.own_origin(origin), "{origin}");
        }
        for origin in [
            "http://localhost:3000",
            "https://localhost:8080",
            "http://evil.example:8080",
            "http://192.168.1.5:8080",
            "null",
            "http://localhost",
            "http://localhost:x",
            "http://evil@localhost:8080",
            "http://localhost:8080/path",
            "http://local host:8080",
        ] {
            assert!(!hosts.own_origin(origin), "{origin}");
        }
    }

    #[test]
    fn control_needs_an_own_origin_a_same_origin_fetch_and_json() {
        let hosts = hosts();
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, HeaderValue::from_static(value));
            }
            map
        };
        let json = ("content-type", "application/json; charset=utf-8");
        let status = |method: Method, pairs: &[(&'static str, &'static str)]| {
            control_refusal(&hosts, &method, &headers(pairs)).map(|(s, _)| s.as_u16())
        };
        // A local tool: no Origin, no Sec-Fetch-Site.
        assert_eq!(status(Method::POST, &[json]), None);
        assert_eq!(status(Method::GET, &[]), None);
        // The sandbox's own page.
        assert_eq!(
            status(
                Method::POST,
                &[
                    json,
                    ("origin", "http://127.0.0.1:8080"),
                    ("sec-fetch-site", "same-origin")
                ]
            ),
            None
        );
        // Another site's page, with or without a JSON type.
        assert_eq!(
            status(Method::POST, &[json, ("origin", "http://evil.example")]),
            Some(403)
        );
        assert_eq!(status(Method::POST, &[("sec-fetch-site", "cross-site")]), Some(403));
        assert_eq!(status(Method::GET, &[("sec-fetch-site", "same-site")]), Some(403));
        // A simple request's types.
        assert_eq!(status(Method::POST, &[("content-type", "text/plain")]), Some(415));
        assert_eq!(status(Method::POST, &[]), Some(415));
    }
}
