//! Static files for the demo page and the built pixel, from one or more
//! folders searched in order, served by tower-http's `ServeDir` (types,
//! ranges, `HEAD`, conditional requests). Before it: no path with a
//! segment starting with `.` (`/.env`, `/.git/config`), and nothing whose
//! real path, symbolic links followed, is outside its folder. HTML pages
//! get the collector's own origin in place of `__ONRAMP_BASE_URL__`.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// The most an HTML page may weigh to get the origin written into it.
const HTML_LIMIT_BYTES: usize = 1024 * 1024;

/// What the file server needs: its folders (as given and as their real
/// paths) and the collector's own origin.
pub struct Files {
    roots: Vec<(PathBuf, PathBuf)>,
    origin: String,
}

impl Files {
    /// Folders that do not exist are left out.
    pub fn new(roots: Vec<PathBuf>, origin: String) -> Files {
        let roots = roots
            .into_iter()
            .filter_map(|root| Some((root.canonicalize().ok()?, root)))
            .map(|(real, root)| (root, real))
            .collect();
        Files { roots, origin }
    }

    /// The first folder with a file at `relative` that stays inside it.
    fn root_for(&self, relative: &Path) -> Option<&Path> {
        self.roots.iter().find_map(|(root, real)| {
            let mut path = root.join(relative);
            if path.is_dir() {
                path = path.join("index.html");
            }
            let resolved = path.canonicalize().ok()?;
            (resolved.starts_with(real) && resolved.is_file()).then_some(root.as_path())
        })
    }
}

pub async fn serve(State(files): State<Arc<Files>>, request: Request) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let Some(relative) = safe_relative(request.uri().path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(root) = files.root_for(&relative) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Ok(response) = ServeDir::new(root).oneshot(request).await;
    let mut response = response.map(Body::new);
    let headers = response.headers_mut();
    // A development server: always revalidate, so a rebuild is seen.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if html && response.status() == StatusCode::OK {
        return with_origin(response, &files.origin).await;
    }
    response
}

/// The page with `__ONRAMP_BASE_URL__` replaced by the origin (HTML-escaped).
async fn with_origin(response: Response, origin: &str) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, HTML_LIMIT_BYTES).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let page = String::from_utf8_lossy(&bytes).replace("__ONRAMP_BASE_URL__", &escape_html(origin));
    for name in [
        header::CONTENT_LENGTH,
        header::ETAG,
        header::LAST_MODIFIED,
        header::ACCEPT_RANGES,
    ] {
        parts.headers.remove(name);
    }
    Response::from_parts(parts, Body::from(page))
}

/// The request path as a relative path of plain names, none starting with
/// `.`; `None` otherwise.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(path.trim_start_matches('/'))?;
    let relative = Path::new(&decoded);
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(name) if !name.to_string_lossy().starts_with('.')))
        .then(|| relative.to_path_buf())
}

/// `%XX` escapes decoded (by `percent-encoding`, as `ServeDir` decodes
/// them); `None` when a `%` starts no escape, or the result is not UTF-8
/// or holds a NUL.
fn percent_decode(path: &str) -> Option<String> {
    let escape = |rest: &str| {
        rest.get(..2)
            .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    if !path.split('%').skip(1).all(escape) {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8().ok()?;
    (!decoded.contains('\0')).then(|| decoded.into_owned())
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
    fn refuses_paths_that_leave_the_root_or_name_dotfiles() {
        assert_eq!(safe_relative("/demo.html"), Some(PathBuf::from("demo.html")));
        assert_eq!(safe_relative("/"), Some(PathBuf::from("")));
        assert_eq!(safe_relative("/a%20b.js"), Some(PathBuf::from("a b.js")));
        for path in [
            "/../etc/passwd",
            "/a/../../b",
            "/%2e%2e/etc/passwd",
            "/.env",
            "/.git/config",
            "/a/.hidden/b",
            "/%2Eenv",
            "/a%00b",
            "/%zz",
        ] {
            assert_eq!(safe_relative(path), None, "{path}");
        }
    }

    #[test]
    fn a_symbolic_link_out_of_the_folder_is_not_served() -> std::io::Result<()> {
        let base = std::env::temp_dir().join(format!("onramp-sandbox-files-{}", std::process::id()));
        let root = base.join("root");
        std::fs::create_dir_all(&root)?;
        std::fs::write(base.join("secret.txt"), "secret")?;
        std::fs::write(root.join("page.html"), "page")?;
        #[cfg(unix)]
        std::os::unix::fs::symlink(base.join("secret.txt"), root.join("link.txt"))?;
        let files = Files::new(vec![root.clone()], "http://127.0.0.1:1".into());
        assert_eq!(files.root_for(Path::new("page.html")), Some(root.as_path()));
        assert_eq!(files.root_for(Path::new("link.txt")), None);
        assert_eq!(files.root_for(Path::new("missing.txt")), None);
        std::fs::remove_dir_all(&base)?;
        Ok(())
    }
}
