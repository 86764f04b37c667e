//! The marketplace's view of demand (`GET /_sandbox/summary`, and the chart
//! on the test-events page): trackings per day of their `purchasedAt` (the
//! day the account was created, in UTC) over the last 30 days, by partner
//! key and service. The collector sees the four fields only, so it cannot
//! tell a referred visitor from another: that is the pixel's gate
//! (`requireReferral`), and with it every tracking here was referred.

use onramp_core::time::Timestamp;
use serde::Serialize;

/// How many days the summary covers, today included.
pub const DAYS: usize = 30;
const DAY_MS: i64 = 86_400_000;

/// One day's count of one service, as the store groups it.
pub struct DayCount {
    pub partner_key: String,
    pub service_name: String,
    /// `YYYY-MM-DD`.
    pub day: String,
    pub count: i64,
}

/// `GET /_sandbox/summary`'s answer.
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// The days covered, oldest first (`YYYY-MM-DD`, UTC), today last.
    pub days: Vec<String>,
    /// Each service with a tracking in those days, by partner key then name.
    pub services: Vec<Service>,
    /// Every service's trackings, per day.
    pub per_day: Vec<i64>,
    /// The trackings in those days.
    pub total: i64,
    /// Stored trackings whose `purchasedAt` lies outside those days
    /// (earlier, or ahead of today).
    pub outside: i64,
}

/// One service's trackings per day.
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub partner_key: String,
    pub service_name: String,
    /// One count per day of `Summary::days`.
    pub per_day: Vec<i64>,
    pub total: i64,
}

/// The days the summary covers on `today`, oldest first, as `YYYY-MM-DD`
/// (UTC), today last.
pub fn days(today: Timestamp) -> Vec<String> {
    let first = today.as_millis() - (DAYS as i64 - 1) * DAY_MS;
    (0..DAYS as i64).map(|i| day_of(first + i * DAY_MS)).collect()
}

fn day_of(ms: i64) -> String {
    let text = Timestamp::from_epoch_ms(ms as f64)
        .unwrap_or(Timestamp::EPOCH)
        .to_rfc3339();
    text.get(..10).unwrap_or_default().to_owned()
}

/// Puts the store's counts (from the first of `days` on) in those `days`;
/// `stored` is how many trackings the store holds in all.
pub fn summarise(counts: Vec<DayCount>, stored: i64, days: Vec<String>) -> Summary {
    let mut services: Vec<Service> = Vec::new();
    let mut per_day = vec![0; DAYS];
    for row in counts {
        let Some(at) = days.iter().position(|d| *d == row.day) else {
            continue;
        };
        let service = match services
            .iter()
            .position(|s| s.partner_key == row.partner_key && s.service_name == row.service_name)
        {
            Some(found) => &mut services[found],
            None => {
                services.push(Service {
                    partner_key: row.partner_key,
                    service_name: row.service_name,
                    per_day: vec![0; DAYS],
                    total: 0,
                });
                let last = services.len() - 1;
                &mut services[last]
            }
        };
        service.per_day[at] += row.count;
        service.total += row.count;
        per_day[at] += row.count;
    }
    services.sort_by(|a, b| (&a.partner_key, &a.service_name).cmp(&(&b.partner_key, &b.service_name)));
    let total = per_day.iter().sum();
    Summary {
        days,
        services,
        per_day,
        total,
        outside: stored - total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(service: &str, day: &str, count: i64) -> DayCount {
        DayCount {
            partner_key: "pk".into(),
            service_name: service.into(),
            day: day.into(),
            count,
        }
    }

    #[test]
    fn counts_fall_on_their_day_by_service_and_the_rest_is_outside() -> Result<(), onramp_core::Error> {
        let today = Timestamp::parse("2026-12-06T10:00:00Z")?;
        let summary = summarise(
            vec![
                count("b", "2026-11-07", 2),
                count("a", "2026-12-06", 1),
                count("b", "2026-12-06", 3),
                // Ahead of today: outside.
                count("a", "2026-12-07", 4),
            ],
            12,
            days(today),
        );
        assert_eq!(summary.days.len(), DAYS);
        assert_eq!(
            (summary.days[0].as_str(), summary.days[29].as_str()),
            ("2026-11-07", "2026-12-06")
        );
        let names: Vec<&str> = summary.services.iter().map(|s| s.service_name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(
            (summary.services[1].per_day[0], summary.services[1].per_day[29]),
            (2, 3)
        );
        assert_eq!((summary.services[0].total, summary.services[1].total), (1, 5));
        assert_eq!((summary.per_day[0], summary.per_day[29], summary.total), (2, 4, 6));
        assert_eq!(summary.outside, 6);
        Ok(())
    }
}
