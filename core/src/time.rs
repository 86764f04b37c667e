//! Dates for `purchasedAt`: parsing RFC 3339 / ISO 8601 text and epoch
//! milliseconds, and formatting as RFC 3339 UTC with milliseconds
//! (`2026-11-26T18:43:01.000Z`). Pure integer arithmetic, no `core::fmt`.

use crate::error::Error;

const MS_PER_DAY: i64 = 86_400_000;
/// 2000-01-01T00:00:00.000Z: the earliest accepted `purchasedAt`.
pub const EARLIEST_MS: i64 = 946_684_800_000;
/// How far in the future of the caller's own clock a `purchasedAt` may be
/// (one day, for time zones).
pub const MAX_FUTURE_MS: i64 = MS_PER_DAY;
/// How far off a visitor's clock may be (30 days). The pixel stamps a
/// tracking whose `purchasedAt` is omitted with the visitor's clock, so a
/// collector, which reads dates by its own clock, accepts a `purchasedAt`
/// up to this much further in its future (see [`Timestamp::check_received`]).
pub const MAX_CLOCK_SKEW_MS: i64 = 30 * MS_PER_DAY;
/// 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: what can be
/// written with a four-digit year.
const MIN_MS: i64 = -62_135_596_800_000;
const MAX_MS: i64 = 253_402_300_799_999;

/// A point in time, in milliseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    /// 1970-01-01T00:00:00.000Z.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// From epoch milliseconds as JavaScript has them (`Date.now()`,
    /// `date.getTime()`): finite, with a four-digit year; a fraction of a
    /// millisecond is dropped.
    pub fn from_epoch_ms(ms: f64) -> Result<Timestamp, Error> {
        let ms = ms.floor();
        // NaN fails both comparisons.
        if ms >= MIN_MS as f64 && ms <= MAX_MS as f64 {
            Ok(Timestamp(ms as i64))
        } else {
            Err(Error::InvalidDate)
        }
    }

    /// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 / ISO 8601 date-time
    /// with a time zone: `YYYY-MM-DDTHH:MM[:SS[.fff…]](Z|±HH:MM|±HHMM|±HH)`.
    /// `t` or a space may stand for `T`, `z` for `Z`, a comma for the
    /// decimal point. Digits past the millisecond are dropped. A date-time
    /// without a time zone is refused, since it would be read differently
    /// on every visitor's machine.
    pub fn parse(text: &str) -> Result<Timestamp, Error> {
        read(text.trim_ascii().as_bytes())
            .filter(|ms| (MIN_MS..=MAX_MS).contains(ms))
            .map(Timestamp)
            .ok_or(Error::InvalidDate)
    }

    /// Refuses dates before 2000 and more than a day after `now` (the
    /// caller's clock: the pixel's check).
    pub fn check_range(self, now: Timestamp) -> Result<Timestamp, Error> {
        self.check_within(now, MAX_FUTURE_MS)
    }

    /// A collector's check of a date sent by a visitor's browser, against
    /// the collector's clock `received`: as [`Timestamp::check_range`],
    /// with room for a visitor's clock up to [`MAX_CLOCK_SKEW_MS`] ahead,
    /// so that a fast clock never turns a signup into a permanent refusal.
    pub fn check_received(self, received: Timestamp) -> Result<Timestamp, Error> {
        self.check_within(received, MAX_FUTURE_MS + MAX_CLOCK_SKEW_MS)
    }

    fn check_within(self, now: Timestamp, future_ms: i64) -> Result<Timestamp, Error> {
        if self.0 < EARLIEST_MS || self.0 > now.0.saturating_add(future_ms) {
            return Err(Error::DateOutOfRange);
        }
        Ok(self)
    }

    /// RFC 3339 in UTC with milliseconds: `2026-11-26T18:43:01.000Z`.
    pub fn to_rfc3339(self) -> String {
        let days = self.0.div_euclid(MS_PER_DAY);
        let in_day = self.0.rem_euclid(MS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let mut out = String::with_capacity(24);
        push_digits(&mut out, y, 4);
        out.push('-');
        push_digits(&mut out, m, 2);
        out.push('-');
        push_digits(&mut out, d, 2);
        out.push('T');
        push_digits(&mut out, in_day / 3_600_000, 2);
        out.push(':');
        push_digits(&mut out, in_day / 60_000 % 60, 2);
        out.push(':');
        push_digits(&mut out, in_day / 1000 % 60, 2);
        out.push('.');
        push_digits(&mut out, in_day % 1000, 3);
        out.push('Z');
        out
    }
}

fn push_digits(out: &mut String, value: i64, width: u32) {
    let mut div = 10_i64.pow(width.saturating_sub(1));
    while div > 0 {
        let digit = (value / div).rem_euclid(10) as u8;
        out.push(char::from(b'0' + digit));
        div /= 10;
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The number written with the `len` digits at `at`, if they are digits.
fn number(b: &[u8], at: usize, len: usize) -> Option<i64> {
    b.get(at..at + len)?.iter().try_fold(0, |value, &d| {
        d.is_ascii_digit().then(|| value * 10 + i64::from(d - b'0'))
    })
}

/// Epoch milliseconds of a date or date-time text (see [`Timestamp::parse`]);
/// the fields are at fixed places up to the seconds.
fn read(b: &[u8]) -> Option<i64> {
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let (year, month, day) = (number(b, 0, 4)?, number(b, 5, 2)?, number(b, 8, 2)?);
    if !at(4, b'-') || !at(7, b'-') || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * MS_PER_DAY;
    let Some(&sep) = b.get(10) else {
        return Some(ms);
    };
    let (hour, minute) = (number(b, 11, 2)?, number(b, 14, 2)?);
    if !matches!(sep, b'T' | b't' | b' ') || !at(13, b':') {
        return None;
    }
    let mut second = 0;
    let mut end = 16;
    if at(16, b':') {
        second = number(b, 17, 2)?;
        end = 19;
        if at(19, b'.') || at(19, b',') {
            end = 20;
            let mut scale = 100;
            while let Some(d) = number(b, end, 1) {
                ms += d * scale;
                scale /= 10;
                end += 1;
            }
            if end == 20 {
                return None;
            }
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let offset = match b.get(end..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), zone @ ..] => {
            let h = number(zone, 0, 2)?;
            let m = match zone.get(2..)? {
                [] | [b':'] => 0,
                [b':', m @ ..] | m => number(m, 0, 2).filter(|_| m.len() == 2)?,
            };
            if h > 23 || m > 59 {
                return None;
            }
            if *sign == b'-' {
                -(h * 60 + m)
            } else {
                h * 60 + m
            }
        }
        _ => return None,
    };
    Some(ms + ((hour * 60 + minute - offset) * 60 + second) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(text: &str) -> String {
        match Timestamp::parse(text) {
            Ok(t) => t.to_rfc3339(),
            Err(e) => e.code().to_owned(),
        }
    }

    #[test]
    fn parses_and_normalises_to_utc_millis() {
        assert_eq!(iso("2026-11-26T18:43:01Z"), "2026-11-26T18:43:01.000Z");
        assert_eq!(iso("2026-11-26T18:43:01.5Z"), "2026-11-26T18:43:01.500Z");
        assert_eq!(iso("2026-11-26T18:43:01.123456789Z"), "2026-11-26T18:43:01.123Z");
        assert_eq!(iso("2026-11-26t18:43:01z"), "2026-11-26T18:43:01.000Z");
        assert_eq!(iso("2026-11-26 18:43Z"), "2026-11-26T18:43:00.000Z");
        assert_eq!(iso("2026-11-26T20:43:01+02:00"), "2026-11-26T18:43:01.000Z");
        assert_eq!(iso("2026-11-26T20:43:01+0200"), "2026-11-26T18:43:01.000Z");
        assert_eq!(iso("2026-11-26T00:30:00-05"), "2026-11-26T05:30:00.000Z");
        assert_eq!(iso("2026-01-01T00:30:00+01:00"), "2025-12-31T23:30:00.000Z");
        assert_eq!(iso("2026-11-26"), "2026-11-26T00:00:00.000Z");
        assert_eq!(iso("  2024-02-29  "), "2024-02-29T00:00:00.000Z");
        assert_eq!(iso("2026-04-30"), "2026-04-30T00:00:00.000Z");
        // Offsets with minutes, both ways, and a fraction of two digits.
        assert_eq!(iso("2026-11-26T23:59:01+23:59"), "2026-11-26T00:00:01.000Z");
        assert_eq!(iso("2026-11-26T20:43:01+02:30"), "2026-11-26T18:13:01.000Z");
        assert_eq!(iso("2026-11-26T13:13:01-05:30"), "2026-11-26T18:43:01.000Z");
        assert_eq!(iso("2026-11-26T18:43:01.25Z"), "2026-11-26T18:43:01.250Z");
    }

    #[test]
    fn refuses_what_is_not_a_date() {
        for bad in [
            "",
            "not a date",
            "2026-13-45",
            "2026-02-29",
            "1900-02-29",
            "2026-11-26T18:43:01",
            "2026-11-26T24:00:00Z",
            "2026-11-26T18:60Z",
            "2026-11-26T18:43:01.Z",
            "2026-11-26T18:43:01Zjunk",
            "2026-11-26X18:43Z",
            "2026-1-26",
            "NaN",
            "Infinity",
            "2026-11-26T18:43:01+24:00",
            "٢٠٢٦-11-26",
            // Each part of a date wrong alone.
            "2026/11-26",
            "2026-11/26",
            "2026-00-10",
            "2026-11-00",
            "2026-04-31",
            "2026-06-31",
            "2026-09-31",
            "2026-11-31",
            "2026-11-26T18:43:01+05:60",
        ] {
            assert_eq!(iso(bad), "invalid_date", "{bad:?}");
        }
    }

    #[test]
    fn epoch_millis() {
        let t = Timestamp::from_epoch_ms(1_795_718_581_000.9).map(Timestamp::to_rfc3339);
        assert_eq!(t.as_deref(), Ok("2026-11-26T18:43:01.000Z"));
        assert_eq!(
            Timestamp::from_epoch_ms(0.0).map(Timestamp::to_rfc3339).as_deref(),
            Ok("1970-01-01T00:00:00.000Z")
        );
        assert_eq!(
            Timestamp::from_epoch_ms(-1.0).map(Timestamp::to_rfc3339).as_deref(),
            Ok("1969-12-31T23:59:59.999Z")
        );
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e300] {
            assert!(Timestamp::from_epoch_ms(bad).is_err());
        }
    }

    #[test]
    fn range_is_2000_to_a_day_ahead() {
        let now = Timestamp(1_795_718_581_000);
        assert!(Timestamp(EARLIEST_MS).check_range(now).is_ok());
        assert_eq!(Timestamp(EARLIEST_MS - 1).check_range(now), Err(Error::DateOutOfRange));
        assert!(Timestamp(now.0 + MAX_FUTURE_MS).check_range(now).is_ok());
        assert_eq!(
            Timestamp(now.0 + MAX_FUTURE_MS + 1).check_range(now),
            Err(Error::DateOutOfRange)
        );
        // A collector leaves room for a visitor's fast clock.
        let fast = Timestamp(now.0 + 25 * 3_600_000);
        assert!(fast.check_received(now).is_ok());
        assert!(Timestamp(now.0 + MAX_FUTURE_MS + MAX_CLOCK_SKEW_MS)
            .check_received(now)
            .is_ok());
        assert_eq!(
            Timestamp(now.0 + MAX_FUTURE_MS + MAX_CLOCK_SKEW_MS + 1).check_received(now),
            Err(Error::DateOutOfRange)
        );
        assert_eq!(
            Timestamp(EARLIEST_MS - 1).check_received(now),
            Err(Error::DateOutOfRange)
        );
        // The same by value, not by the constants' names: a day and 30 more.
        let day = 86_400_000;
        assert!(Timestamp(now.0 + 31 * day).check_received(now).is_ok());
        assert_eq!(
            Timestamp(now.0 + 31 * day + 1).check_received(now),
            Err(Error::DateOutOfRange)
        );
    }

    #[test]
    fn round_trips_every_day_of_four_centuries() {
        let start = days_from_civil(1900, 1, 1);
        for day in start..start + 146_097 {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
            let text = Timestamp(day * MS_PER_DAY).to_rfc3339();
            assert_eq!(Timestamp::parse(&text), Ok(Timestamp(day * MS_PER_DAY)), "{text}");
        }
    }
}
