//! One table of small cases: rules as a user writes them (JSON), a time
//! zone, `now`, snapshot times, and the times that must be kept.

use jiff::tz::TimeZone;

use super::{full, kept, ts};
use crate::retention::{plan, Item, Rules};

struct Case {
    name: &'static str,
    rules: &'static str,
    tz: &'static str,
    now: &'static str,
    items: &'static [&'static str],
    kept: &'static [&'static str],
}

const HOURS: &[&str] = &[
    "2026-11-21T09:10Z",
    "2026-11-21T09:50Z",
    "2026-11-21T10:05Z",
    "2026-11-21T11:00Z",
];
const WEEKEND: &[&str] = &[
    "2026-11-21T12:00Z",
    "2026-11-22T12:00Z",
    "2026-11-23T12:00Z",
];
const SUNDAYS: &[&str] = &[
    "2026-11-15T12:00Z",
    "2026-11-22T12:00Z",
    "2026-11-23T03:00Z",
];
const MONTH_END: &[&str] = &[
    "2026-10-15T12:00Z",
    "2026-10-31T23:30Z",
    "2026-11-01T00:30Z",
];
const YEAR_END: &[&str] = &[
    "2026-06-01T12:00Z",
    "2026-12-31T23:30Z",
    "2027-01-01T00:30Z",
];
const TOKYO_DAY: &[&str] = &[
    "2026-11-20T10:00Z",
    "2026-11-20T14:00Z",
    "2026-11-20T16:00Z",
];
const AUTUMN: &[&str] = &[
    "2026-09-10T00:00Z",
    "2026-10-05T00:00Z",
    "2026-10-20T00:00Z",
    "2026-11-01T00:00Z",
    "2026-11-02T00:00Z",
];
const NOON: &str = "2026-11-21T12:00Z";
const LATER: &str = "2027-02-01T00:00Z";

#[rustfmt::skip]
const CASES: &[Case] = &[
    Case { name: "hourly 2", rules: r#"{"keep_hourly": 2}"#, tz: "UTC", now: NOON, items: HOURS, kept: &["2026-11-21T10:05Z", "2026-11-21T11:00Z"] },
    Case { name: "hourly 3", rules: r#"{"keep_hourly": 3}"#, tz: "UTC", now: NOON, items: HOURS, kept: &["2026-11-21T09:50Z", "2026-11-21T10:05Z", "2026-11-21T11:00Z"] },
    Case { name: "daily in UTC", rules: r#"{"keep_daily": 2}"#, tz: "UTC", now: NOON, items: TOKYO_DAY, kept: &["2026-11-20T16:00Z"] },
    Case { name: "daily in Tokyo", rules: r#"{"keep_daily": 2}"#, tz: "Asia/Tokyo", now: NOON, items: TOKYO_DAY, kept: &["2026-11-20T14:00Z", "2026-11-20T16:00Z"] },
    Case { name: "weekly, Monday starts a week", rules: r#"{"keep_weekly": 2}"#, tz: "UTC", now: LATER, items: WEEKEND, kept: &["2026-11-22T12:00Z", "2026-11-23T12:00Z"] },
    Case { name: "weekly in UTC", rules: r#"{"keep_weekly": 2}"#, tz: "UTC", now: LATER, items: SUNDAYS, kept: &["2026-11-22T12:00Z", "2026-11-23T03:00Z"] },
    Case { name: "weekly in New York", rules: r#"{"keep_weekly": 2}"#, tz: "America/New_York", now: LATER, items: SUNDAYS, kept: &["2026-11-15T12:00Z", "2026-11-23T03:00Z"] },
    Case { name: "monthly in UTC", rules: r#"{"keep_monthly": 2}"#, tz: "UTC", now: LATER, items: MONTH_END, kept: &["2026-10-31T23:30Z", "2026-11-01T00:30Z"] },
    Case { name: "monthly in Paris", rules: r#"{"keep_monthly": 2}"#, tz: "Europe/Paris", now: LATER, items: MONTH_END, kept: &["2026-10-15T12:00Z", "2026-11-01T00:30Z"] },
    Case { name: "yearly in UTC", rules: r#"{"keep_yearly": 2}"#, tz: "UTC", now: LATER, items: YEAR_END, kept: &["2026-12-31T23:30Z", "2027-01-01T00:30Z"] },
    Case { name: "yearly in Paris", rules: r#"{"keep_yearly": 2}"#, tz: "Europe/Paris", now: LATER, items: YEAR_END, kept: &["2026-06-01T12:00Z", "2027-01-01T00:30Z"] },
    Case { name: "within 1h", rules: r#"{"keep_within": "1h"}"#, tz: "UTC", now: NOON, items: &["2026-11-21T10:59Z", "2026-11-21T11:00Z", "2026-11-21T11:01Z", "2026-11-21T12:00Z"], kept: &["2026-11-21T11:01Z", "2026-11-21T12:00Z"] },
    Case { name: "within a month from March 31", rules: r#"{"keep_within": "1 month"}"#, tz: "UTC", now: "2026-03-31T00:00Z", items: &["2026-02-27T12:00Z", "2026-02-28T00:00Z", "2026-02-28T00:01Z", "2026-03-30T00:00Z"], kept: &["2026-02-28T00:01Z", "2026-03-30T00:00Z"] },
    Case { name: "within P1D", rules: r#"{"keep_within": "P1D"}"#, tz: "UTC", now: NOON, items: &["2026-11-20T11:00Z", "2026-11-20T13:00Z", "2026-11-21T12:00Z"], kept: &["2026-11-20T13:00Z", "2026-11-21T12:00Z"] },
    Case { name: "within, one in the future", rules: r#"{"keep_within": "1d"}"#, tz: "UTC", now: NOON, items: &["2026-11-19T00:00Z", "2026-11-22T00:00Z"], kept: &["2026-11-22T00:00Z"] },
    Case { name: "no rules", rules: "{}", tz: "UTC", now: LATER, items: WEEKEND, kept: WEEKEND },
    Case { name: "only zeros", rules: r#"{"keep_last": 0, "keep_daily": 0}"#, tz: "UTC", now: LATER, items: WEEKEND, kept: WEEKEND },
    Case { name: "a zero beside a rule", rules: r#"{"keep_daily": 0, "keep_weekly": 1}"#, tz: "UTC", now: LATER, items: WEEKEND, kept: &["2026-11-23T12:00Z"] },
    Case { name: "last and monthly", rules: r#"{"keep_last": 2, "keep_monthly": 2}"#, tz: "UTC", now: NOON, items: AUTUMN, kept: &["2026-10-20T00:00Z", "2026-11-01T00:00Z", "2026-11-02T00:00Z"] },
    Case { name: "only the newest", rules: r#"{"keep_within": "1s"}"#, tz: "UTC", now: LATER, items: AUTUMN, kept: &["2026-11-02T00:00Z"] },
];

#[test]
fn table() {
    for case in CASES {
        let rules: Rules = serde_json::from_str(case.rules).expect(case.name);
        let tz = TimeZone::get(case.tz).expect(case.tz);
        let items: Vec<Item> = case
            .items
            .iter()
            .map(|t| full(&format!("t/d@{t}"), t))
            .collect();
        let p = plan(&items, &rules, ts(case.now), &tz);
        let got: Vec<&str> = kept(&p)
            .iter()
            .map(|n| n.trim_start_matches("t/d@"))
            .collect();
        assert_eq!(got, case.kept, "case {:?}", case.name);
        assert_eq!(p.decisions.len(), items.len(), "case {:?}", case.name);
    }
}
