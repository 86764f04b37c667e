//! The collector's base URL and the tracking endpoint below it.

use crate::error::Error;
use crate::text::{split, split_once};

/// The path of the tracking endpoint below the base URL.
pub const TRACKINGS_PATH: &str = "/api/SaasTrackings";

const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// A checked collector base URL: `https://host[:port][/prefix]`, or plain
/// `http://` for a loopback host; no credentials, query or fragment, no
/// trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    base: String,
}

impl Endpoint {
    /// Checks and normalises a base URL (scheme and host lowercased, trailing
    /// slashes removed).
    pub fn parse(text: &str) -> Result<Endpoint, Error> {
        let text = text.trim_ascii();
        // The scheme ends at the first colon; "//" must follow it.
        let (scheme, rest) = split_once(text, b':').ok_or(Error::InvalidBaseUrl)?;
        let rest = rest.strip_prefix("//").ok_or(Error::InvalidBaseUrl)?;
        let scheme = scheme.to_ascii_lowercase();
        let (authority, path) = cut(rest, find(rest, b'/').unwrap_or(rest.len()));
        let path = path
            .get(..path.bytes().rposition(|b| b != b'/').map_or(0, |at| at + 1))
            .unwrap_or("");
        // A port follows the host (after the closing bracket of an IPv6 host).
        let host_end = if authority.as_bytes().first() == Some(&b'[') {
            find(authority, b']').map_or(0, |at| at + 1)
        } else {
            find(authority, b':').unwrap_or(authority.len())
        };
        let (host, port) = cut(authority, host_end);
        let host = host.to_ascii_lowercase();
        let valid = (scheme == "https" || scheme == "http")
            && valid_host(host.as_bytes())
            && (port.is_empty() || valid_port(port.as_bytes()))
            && split(path, b'/')
                .skip(1)
                .all(|segment| !matches!(segment, "" | "." | "..") && segment.bytes().all(is_path_byte));
        if !valid {
            return Err(Error::InvalidBaseUrl);
        }
        if scheme == "http" && !LOOPBACK_HOSTS.contains(&host.as_str()) {
            return Err(Error::InsecureBaseUrl);
        }
        Ok(Endpoint {
            base: crate::text::concat(&[&scheme, "://", &host, port, path]),
        })
    }

    /// The normalised base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `{base}/api/SaasTrackings`.
    pub fn trackings_url(&self) -> String {
        crate::text::concat(&[&self.base, TRACKINGS_PATH])
    }
}

/// Where the byte `b` (ASCII) first is in `text`.
fn find(text: &str, b: u8) -> Option<usize> {
    text.bytes().position(|c| c == b)
}

/// `text` split at `at`, a place found by [`find`] (or its length).
fn cut(text: &str, at: usize) -> (&str, &str) {
    (text.get(..at).unwrap_or(""), text.get(at..).unwrap_or(""))
}

/// A host name (labels of letters, digits and inner hyphens) or a
/// bracketed IPv6 address.
fn valid_host(host: &[u8]) -> bool {
    match host {
        [b'[', v6 @ .., b']'] => !v6.is_empty() && v6.iter().all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.'),
        _ => {
            host.len() <= 253 && host.split(|&b| b == b'.').all(|label| {
                matches!((label.first(), label.last()), (Some(first), Some(last)) if *first != b'-' && *last != b'-')
                    && label.len() <= 63
                    && label.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
            })
        }
    }
}

/// `:` and a port number from 1 to 65535.
fn valid_port(port: &[u8]) -> bool {
    match port {
        [b':', digits @ ..] if (1..=5).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit) => {
            let number = digits.iter().fold(0_u32, |n, &d| n * 10 + u32::from(d - b'0'));
            (1..=65_535).contains(&number)
        }
        _ => false,
    }
}

/// Bytes allowed unencoded in a path segment (RFC 3986 `pchar`).
fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@%".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Result<String, &'static str> {
        Endpoint::parse(text).map(|e| e.trackings_url()).map_err(|e| e.code())
    }

    #[test]
    fn accepts_and_normalises() {
        assert_eq!(
            url("https://onramp.example.com"),
            Ok("https://onramp.example.com/api/SaasTrackings".into())
        );
        assert_eq!(
            url("https://onramp.example.com/"),
            Ok("https://onramp.example.com/api/SaasTrackings".into())
        );
        assert_eq!(
            url(" HTTPS://OnRamp.Example.com:8443/v1// "),
            Ok("https://onramp.example.com:8443/v1/api/SaasTrackings".into())
        );
        assert_eq!(
            url("http://localhost:8080"),
            Ok("http://localhost:8080/api/SaasTrackings".into())
        );
        assert_eq!(
            url("http://127.0.0.1:9/x"),
            Ok("http://127.0.0.1:9/x/api/SaasTrackings".into())
        );
        assert_eq!(
            url("http://[::1]:8080/"),
            Ok("http://[::1]:8080/api/SaasTrackings".into())
        );
        assert_eq!(
            url("https://[2001:db8::1]"),
            Ok("https://[2001:db8::1]/api/SaasTrackings".into())
        );
    }

    #[test]
    fn refuses_the_rest() {
        for (bad, code) in [
            ("", "invalid_base_url"),
            ("/relative", "invalid_base_url"),
            ("onramp.example.com", "invalid_base_url"),
            ("javascript:alert(1)", "invalid_base_url"),
            ("data:text/plain,x", "invalid_base_url"),
            ("ftp://onramp.example.com", "invalid_base_url"),
            ("http://onramp.example.com", "insecure_base_url"),
            ("http://10.0.0.1", "insecure_base_url"),
            ("https://user:pw@onramp.example.com", "invalid_base_url"),
            ("https://onramp.example.com/?a=1", "invalid_base_url"),
            ("https://onramp.example.com/#x", "invalid_base_url"),
            ("https://", "invalid_base_url"),
            ("https://:443", "invalid_base_url"),
            ("https://host:0", "invalid_base_url"),
            ("https://host:65536", "invalid_base_url"),
            ("https://host:+1", "invalid_base_url"),
            ("https://ho st", "invalid_base_url"),
            ("https://host/a b", "invalid_base_url"),
            ("https://host/a/../b", "invalid_base_url"),
            ("https://host/a//b", "invalid_base_url"),
            ("https://[::1", "invalid_base_url"),
            ("https://[zz]", "invalid_base_url"),
            ("https://[::1]x", "invalid_base_url"),
            ("https://-host-", "invalid_base_url"),
        ] {
            assert_eq!(url(bad), Err(code), "{bad:?}");
        }
    }
}
