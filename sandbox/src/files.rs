//! Static files for the demo page and the built pixel, from one or more
//! folders searched in order.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// What the file server needs: its folders and the collector's own origin,
/// which replaces `__ONRAMP_BASE_URL__` in HTML pages (HTML-escaped).
pub struct Files {
    pub roots: Vec<PathBuf>,
    pub origin: String,
}

pub async fn serve(State(files): State<Arc<Files>>, request: Request) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let Some(relative) = safe_relative(request.uri().path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    for root in &files.roots {
        let mut path = root.join(&relative);
        if path.is_dir() {
            path = path.join("index.html");
        }
        let Ok(bytes) = tokio::fs::read(&path).await else {
            continue;
        };
        let kind = content_type(&path);
        let body = if kind.starts_with("text/html") {
            String::from_utf8_lossy(&bytes)
                .replace("__ONRAMP_BASE_URL__", &escape_html(&files.origin))
                .into_bytes()
        } else {
            bytes
        };
        let mut response = body.into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return response;
    }
    StatusCode::NOT_FOUND.into_response()
}

/// The request path as a relative path with no `..`, or `None`.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let trimmed = path.trim_start_matches('/');
    let relative = Path::new(trimmed);
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| relative.to_path_buf())
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("css") => "text/css; charset=utf-8",
        Some("ts") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// Text made safe to write into HTML, in text and in quoted attributes.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_html_would_read_as_markup() {
        assert_eq!(
            escape_html(r#"http://[::1]:8080/"><script>alert('x')</script>&"#),
            "http://[::1]:8080/&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"
        );
        assert_eq!(escape_html("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }

    #[test]
    fn refuses_paths_that_leave_the_root() {
        assert_eq!(safe_relative("/demo.html"), Some(PathBuf::from("demo.html")));
        assert_eq!(safe_relative("/"), Some(PathBuf::from("")));
        assert_eq!(safe_relative("/../etc/passwd"), None);
        assert_eq!(safe_relative("/a/../../b"), None);
    }
}
