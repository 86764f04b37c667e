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

/// A `Retry-After` header as the JS side passes it: its value, and the
/// date the value names as the browser's `Date.parse` reads it (epoch ms),
/// if it reads one. `Date.parse` takes all three HTTP-date forms
/// (IMF-fixdate, RFC 850, asctime), as recipients must.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter<'a> {
    /// The header's value.
    pub value: &'a str,
    /// The value read as a date.
    pub date_ms: Option<i64>,
}

/// The delay a `Retry-After` header asks for: whole seconds, or a date
/// relative to `now`; capped at [`MAX_RETRY_AFTER_MS`]. `None` when the
/// value is neither.
pub fn retry_after_ms(header: RetryAfter<'_>, now: Timestamp) -> Option<u64> {
    let value = header.value.trim_ascii();
    let ms = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits to parse is longer than the cap anyway.
        crate::text::parse_integer(value).map_or(u64::MAX, |s| s.unsigned_abs().saturating_mul(1000))
    } else {
        u64::try_from(header.date_ms?.saturating_sub(now.as_millis())).unwrap_or(0)
    };
    Some(ms.min(MAX_RETRY_AFTER_MS))
}

/// The wait before the next attempt: the collector's `Retry-After` when it
/// sent one, the backoff otherwise.
pub fn next_delay_ms(failures: u32, random: f64, retry_after: Option<u64>) -> u64 {
    retry_after.unwrap_or_else(|| backoff_ms(failures, random))
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
        let at = |value, date_ms| retry_after_ms(RetryAfter { value, date_ms }, now);
        let ms = now.as_millis();
        assert_eq!(at("2", None), Some(2_000));
        assert_eq!(at(" 0 ", None), Some(0));
        assert_eq!(at("99999999", None), Some(MAX_RETRY_AFTER_MS));
        // Digits are seconds, whatever Date.parse makes of them.
        assert_eq!(at("120", Some(-58_000_000_000_000)), Some(120_000));
        assert_eq!(at("Thu, 26 Nov 2026 18:43:31 GMT", Some(ms + 30_000)), Some(30_000));
        assert_eq!(at("Thu, 26 Nov 2026 18:40:00 GMT", Some(ms - 181_000)), Some(0));
        assert_eq!(
            at("Fri, 27 Nov 2026 18:43:01 GMT", Some(ms + 86_400_000)),
            Some(MAX_RETRY_AFTER_MS)
        );
        for bad in ["", "-1", "1.5", "soon"] {
            assert_eq!(at(bad, None), None, "{bad:?}");
        }
        assert_eq!(next_delay_ms(1, 0.5, Some(7_000)), 7_000);
        assert_eq!(next_delay_ms(1, 0.5, None), 500);
    }
}
