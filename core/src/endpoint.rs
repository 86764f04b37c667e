//! The collector's base URL and the tracking endpoint below it.

use crate::error::Error;
use crate::text::find;

/// The path of the tracking endpoint below the base URL.
pub const TRACKINGS_PATH: &str = "/api/SaasTrackings";

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
        let colon = find(text, b':').unwrap_or(0);
        let start = colon + 3;
        let rest = text.get(start..).unwrap_or("");
        let end = start + find(rest, b'/').unwrap_or(rest.len());
        // Scheme, host and port, lowercased.
        let mut base = text.get(..end).unwrap_or("").to_ascii_lowercase();
        let authority = base.get(start..).unwrap_or("");
        // A port follows the host (after the closing bracket of an IPv6 host).
        let host_end = if authority.as_bytes().first() == Some(&b'[') {
            find(authority, b']').map_or(0, |at| at + 1)
        } else {
            find(authority, b':').unwrap_or(authority.len())
        };
        let (host, port) = (
            authority.get(..host_end).unwrap_or(""),
            authority.get(host_end..).unwrap_or(""),
        );
        let path = text.get(end..).unwrap_or("");
        let path = path
            .get(..path.bytes().rposition(|b| b != b'/').map_or(0, |at| at + 1))
            .unwrap_or("");
        let scheme = base.get(..start).unwrap_or("");
        let http = scheme == "http://";
        let valid = (http || scheme == "https://")
            && valid_host(host.as_bytes())
            && (port.is_empty() || valid_port(port.as_bytes()))
            && path.as_bytes().split(|&b| b == b'/').skip(1).all(valid_segment);
        if !valid {
            return Err(Error::InvalidBaseUrl);
        }
        if http && !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
            return Err(Error::InsecureBaseUrl);
        }
        base.push_str(path);
        Ok(Endpoint { base })
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

/// A host name (labels of letters, digits and inner hyphens, at most 63
/// bytes each and 253 in all) or a bracketed IPv6 address.
fn valid_host(host: &[u8]) -> bool {
    if let [b'[', v6 @ .., b']'] = host {
        return !v6.is_empty() && v6.iter().all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    }
    let mut label = 0;
    let mut previous = b'.';
    for &b in host {
        if b == b'.' {
            // No empty label, none ending with a hyphen.
            if previous == b'.' || previous == b'-' {
                return false;
            }
            label = 0;
        } else if b.is_ascii_alphanumeric() || (b == b'-' && previous != b'.') {
            label += 1;
            if label > 63 {
                return false;
            }
        } else {
            return false;
        }
        previous = b;
    }
    host.len() <= 253 && previous != b'.' && previous != b'-'
}

/// A path segment: not empty, `.` or `..`, every byte allowed unencoded
/// (RFC 3986 `pchar`).
fn valid_segment(segment: &[u8]) -> bool {
    !matches!(segment, b"" | b"." | b"..")
        && segment
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@%".contains(&b))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_labels() {
        let label = "a".repeat(63);
        assert!(url(&format!("https://{label}.example")).is_ok(), "a 63-byte label");
        assert_eq!(
            url(&format!("https://{label}a.example")),
            Err("invalid_base_url"),
            "64 bytes"
        );
        let long = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61)].join(".");
        assert_eq!(long.len(), 253);
        assert!(url(&format!("https://{long}")).is_ok(), "253 bytes in all");
        assert_eq!(url(&format!("https://{long}e")), Err("invalid_base_url"), "254");
        for good in [
            "https://a-b.example",
            "https://a--b.example",
            "https://1.2.3.4",
            "https://x.y-z",
        ] {
            assert!(url(good).is_ok(), "{good}");
        }
        for bad in [
            "https://a..b",
            "https://a-.b",
            "https://a.-b",
            "https://.a",
            "https://a.",
            "https://a-",
        ] {
            assert_eq!(url(bad), Err("invalid_base_url"), "{bad}");
        }
        let endpoint = Endpoint::parse(" HTTPS://A.Example:8443/v1// ").map(|e| e.base().to_owned());
        assert_eq!(endpoint.as_deref(), Ok("https://a.example:8443/v1"));
    }

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
