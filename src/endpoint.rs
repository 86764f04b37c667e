//! The collector's base URL and the tracking endpoint below it.

use crate::error::Error;

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
        let text = text.trim();
        // The scheme ends at the first colon; "//" must follow it.
        let (scheme, rest) = text
            .find(':')
            .map(|at| text.split_at(at))
            .and_then(|(scheme, rest)| Some((scheme, rest.strip_prefix("://")?)))
            .ok_or(Error::InvalidBaseUrl(
                "expected an absolute URL such as https://onramp.example.com",
            ))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "https" && scheme != "http" {
            return Err(Error::InvalidBaseUrl("the scheme must be https:"));
        }
        if rest.contains(['?', '#']) {
            return Err(Error::InvalidBaseUrl("a query or fragment is not allowed"));
        }
        let (authority, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(Error::InvalidBaseUrl("credentials are not allowed in the URL"));
        }
        let (host, port) = split_host_port(authority)?;
        let host = host.to_ascii_lowercase();
        if scheme == "http" && !LOOPBACK_HOSTS.contains(&host.as_str()) {
            return Err(Error::InsecureBaseUrl);
        }
        let path = path.trim_end_matches('/');
        for segment in path.split('/').skip(1) {
            if segment.is_empty() || segment == "." || segment == ".." {
                return Err(Error::InvalidBaseUrl("the path has an empty, . or .. segment"));
            }
            if !segment.bytes().all(is_path_byte) {
                return Err(Error::InvalidBaseUrl(
                    "the path has a character that must be percent-encoded",
                ));
            }
        }
        let mut base = String::with_capacity(text.len());
        base.push_str(&scheme);
        base.push_str("://");
        base.push_str(&host);
        if let Some(port) = port {
            base.push(':');
            base.push_str(port);
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
        let mut url = String::with_capacity(self.base.len() + TRACKINGS_PATH.len());
        url.push_str(&self.base);
        url.push_str(TRACKINGS_PATH);
        url
    }
}

fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), Error> {
    // A port follows the first colon after the host (after the closing
    // bracket of an IPv6 host).
    let host_end = match authority.strip_prefix('[') {
        Some(v6) => v6.find(']').map_or(authority.len(), |at| at + 2),
        None => authority.find(':').unwrap_or(authority.len()),
    };
    let (host, rest) = authority.split_at(host_end.min(authority.len()));
    let port = match rest.strip_prefix(':') {
        Some(port) => Some(port),
        None if rest.is_empty() => None,
        None => return Err(BAD_HOST),
    };
    let valid = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => !v6.is_empty() && v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.'),
        None => {
            host.len() <= 253
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        }
    };
    if !valid {
        return Err(BAD_HOST);
    }
    if let Some(port) = port {
        let number = if port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) {
            crate::text::parse_integer(port)
        } else {
            None
        };
        if !number.is_some_and(|p| (1..=65_535).contains(&p)) {
            return Err(Error::InvalidBaseUrl("the port must be a number from 1 to 65535"));
        }
    }
    Ok((host, port))
}

const BAD_HOST: Error = Error::InvalidBaseUrl("the host is missing or not a valid name or address");

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
