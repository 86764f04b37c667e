//! The retry policy: which answers are final, how long to wait before the
//! next attempt (exponential backoff with full jitter, or the collector's
//! `Retry-After`).

use crate::time::Timestamp;

/// The first backoff step.
pub const BASE_DELAY_MS: u64 = 1_000;
/// The longest backoff step (5 minutes).
pub const MAX_DELAY_MS: u64 = 300_000;
/// The longest `Retry-After` honoured (1 hour); longer ones are cut to this.
pub const MAX_RETRY_AFTER_MS: u64 = 3_600_000;

/// What an attempt's outcome means for the queued tracking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The collector took it (2xx): done, and remembered as sent.
    Accepted,
    /// The collector refused it for good (4xx other than 408, 425, 429):
    /// dropped, never retried.
    Rejected,
    /// A passing failure (network error, timeout, 408, 425, 429, 5xx, or
    /// anything unexpected): kept and tried again later.
    Retry,
}

/// Judges an attempt by its HTTP status; `None` is a network error or a
/// timeout.
pub fn verdict(status: Option<u16>) -> Verdict {
    match status {
        Some(200..=299) => Verdict::Accepted,
        Some(408 | 425 | 429) => Verdict::Retry,
        Some(400..=499) => Verdict::Rejected,
        _ => Verdict::Retry,
    }
}

/// The wait before attempt number `failures + 1` after `failures` failed
/// ones: full jitter, a uniform draw (`random` in `[0, 1)`) from zero to
/// `min(MAX, BASE · 2^(failures-1))`, never below 100 ms.
pub fn backoff_ms(failures: u32, random: f64) -> u64 {
    let exponent = failures.saturating_sub(1).min(20);
    let ceiling = BASE_DELAY_MS.saturating_mul(1 << exponent).min(MAX_DELAY_MS);
    let random = if random.is_finite() {
        random.clamp(0.0, 1.0)
    } else {
        0.5
    };
    ((ceiling as f64 * random) as u64).max(100)
}

/// The delay a `Retry-After` header asks for: whole seconds, or an HTTP
/// date (`Sun, 06 Nov 1994 08:49:37 GMT`) relative to `now`; capped at
/// [`MAX_RETRY_AFTER_MS`]. `None` when the value is not understood.
pub fn retry_after_ms(value: &str, now: Timestamp) -> Option<u64> {
    let value = value.trim_ascii();
    let ms = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits to parse is longer than the cap anyway.
        crate::text::parse_integer(value).map_or(u64::MAX, |s| s.unsigned_abs().saturating_mul(1000))
    } else {
        let at = parse_http_date(value)?;
        u64::try_from(at.saturating_sub(now.as_millis())).unwrap_or(0)
    };
    Some(ms.min(MAX_RETRY_AFTER_MS))
}

/// The wait before the next attempt: the collector's `Retry-After` when it
/// sent one, the backoff otherwise.
pub fn next_delay_ms(failures: u32, random: f64, retry_after: Option<u64>) -> u64 {
    retry_after.unwrap_or_else(|| backoff_ms(failures, random))
}

/// IMF-fixdate, the one HTTP date form senders must use:
/// `Sun, 06 Nov 1994 08:49:37 GMT`. Returns epoch milliseconds.
fn parse_http_date(value: &str) -> Option<i64> {
    const MONTHS: &[u8] = b"JanFebMarAprMayJunJulAugSepOctNovDec";
    // After the day name and its comma: " 06 Nov 1994 08:49:37 GMT".
    let (_, rest) = crate::text::split_once(value, b',')?;
    let b = rest.as_bytes();
    let spaces = [0, 3, 7, 12, 21].iter().all(|&at| b.get(at) == Some(&b' '));
    if b.len() != 25 || !spaces || b.get(22..) != Some(b"GMT") {
        return None;
    }
    let month = (0..12).position(|i| MONTHS.get(i * 3..i * 3 + 3) == b.get(4..7))? + 1;
    // Rewritten as `YYYY-MM-DDTHH:MM:SSZ` for the date parser.
    let mut iso = *b"YYYY-MM-DDTHH:MM:SSZ";
    for (to, from, len) in [(0, 8, 4), (8, 1, 2), (11, 13, 8)] {
        iso.get_mut(to..to + len)?.copy_from_slice(b.get(from..from + len)?);
    }
    iso.get_mut(5..7)?
        .copy_from_slice(&[b'0' + (month / 10) as u8, b'0' + (month % 10) as u8]);
    crate::time::parse_bytes(&iso)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert_eq!(verdict(Some(201)), Verdict::Accepted);
        assert_eq!(verdict(Some(200)), Verdict::Accepted);
        for retry in [
            None,
            Some(408),
            Some(425),
            Some(429),
            Some(500),
            Some(503),
            Some(599),
            Some(302),
            Some(0),
        ] {
            assert_eq!(verdict(retry), Verdict::Retry, "{retry:?}");
        }
        for rejected in [400, 401, 403, 404, 409, 413, 422] {
            assert_eq!(verdict(Some(rejected)), Verdict::Rejected, "{rejected}");
        }
    }

    #[test]
    fn backoff_doubles_to_the_cap_with_full_jitter() {
        assert_eq!(backoff_ms(1, 0.999_999), 999);
        assert_eq!(backoff_ms(2, 0.999_999), 1_999);
        assert_eq!(backoff_ms(3, 0.5), 2_000);
        assert_eq!(backoff_ms(10, 0.999_999), 299_999);
        assert_eq!(backoff_ms(u32::MAX, 0.999_999), 299_999);
        assert_eq!(backoff_ms(1, 0.0), 100);
        assert_eq!(backoff_ms(4, f64::NAN), 4_000);
        for failures in 0..40 {
            for r in [0.0, 0.3, 0.999] {
                let d = backoff_ms(failures, r);
                assert!((100..=MAX_DELAY_MS).contains(&d));
            }
        }
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = Timestamp::parse("2026-11-26T18:43:01Z").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(retry_after_ms("2", now), Some(2_000));
        assert_eq!(retry_after_ms(" 0 ", now), Some(0));
        assert_eq!(retry_after_ms("99999999", now), Some(MAX_RETRY_AFTER_MS));
        assert_eq!(retry_after_ms("Thu, 26 Nov 2026 18:43:31 GMT", now), Some(30_000));
        assert_eq!(retry_after_ms("Thu, 26 Nov 2026 18:40:00 GMT", now), Some(0));
        for bad in [
            "",
            "-1",
            "1.5",
            "soon",
            "Thu, 26 Nov 2026 18:43:31 UTC",
            "26 Nov 2026",
            "Thu, 26 Foo 2026 18:43:31 GMT",
        ] {
            assert_eq!(retry_after_ms(bad, now), None, "{bad:?}");
        }
        assert_eq!(next_delay_ms(1, 0.5, Some(7_000)), 7_000);
        assert_eq!(next_delay_ms(1, 0.5, None), 500);
    }
}
