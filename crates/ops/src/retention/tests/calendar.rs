//! Calendar periods: days, hours, ISO weeks, months, years, time zones.

use jiff::{tz::TimeZone, Span};

use super::{full, kept, paris, rules, ts, why, NOV30};
use crate::retention::{plan, Item};

#[test]
fn keep_daily_takes_the_newest_of_each_day() {
    let items = [
        full("t/d@1a", "2026-11-01T01:00Z"),
        full("t/d@1b", "2026-11-01T23:00Z"),
        full("t/d@3a", "2026-11-03T08:00Z"),
        full("t/d@3b", "2026-11-03T09:00Z"),
        full("t/d@4a", "2026-11-04T00:00Z"),
    ];
    let p = plan(
        &items,
        &rules(|r| r.keep_daily = Some(3)),
        ts(NOV30),
        &TimeZone::UTC,
    );
    // The day without a snapshot (11-02) does not use up a slot.
    assert_eq!(kept(&p), ["t/d@1b", "t/d@3b", "t/d@4a"]);
    assert_eq!(why(&p, "t/d@1b"), "daily 2026-11-01");
}

#[test]
fn a_day_boundary_depends_on_the_time_zone() {
    let items = [
        full("t/d@noon", "2026-11-20T12:00Z"),
        full("t/d@late", "2026-11-20T23:30Z"), // 00:30 on 11-21 in Paris
        full("t/d@early", "2026-11-21T00:30Z"),
    ];
    let r = rules(|r| r.keep_daily = Some(2));
    let utc = plan(&items, &r, ts(NOV30), &TimeZone::UTC);
    assert_eq!(kept(&utc), ["t/d@late", "t/d@early"]);
    assert_eq!(why(&utc, "t/d@late"), "daily 2026-11-20");
    let paris = plan(&items, &r, ts(NOV30), &paris());
    assert_eq!(kept(&paris), ["t/d@noon", "t/d@early"]);
    assert_eq!(why(&paris, "t/d@early"), "daily 2026-11-21, newest");
    assert_eq!(why(&paris, "t/d@noon"), "daily 2026-11-20");
}

#[test]
fn the_repeated_hour_at_the_end_of_summer_time_is_one_bucket() {
    let items = [
        full("t/d@cest", "2026-10-25T00:30Z"),  // 02:30 +02:00
        full("t/d@cet", "2026-10-25T01:30Z"),   // 02:30 +01:00
        full("t/d@three", "2026-10-25T02:30Z"), // 03:30 +01:00
    ];
    let r = rules(|r| r.keep_hourly = Some(5));
    let p = plan(&items, &r, ts(NOV30), &paris());
    assert_eq!(kept(&p), ["t/d@cet", "t/d@three"]);
    assert_eq!(why(&p, "t/d@cet"), "hourly 2026-10-25 02h");
    assert_eq!(
        plan(&items, &r, ts(NOV30), &TimeZone::UTC).kept().count(),
        3
    );
}

#[test]
fn iso_weeks_cross_the_year_boundary() {
    let items: Vec<Item> = (0..17)
        .map(|d| {
            let date = jiff::civil::date(2026, 12, 20) + Span::new().days(d);
            full(&format!("t/d@{date}"), &format!("{date}T12:00Z"))
        })
        .collect();
    let r = rules(|r| {
        r.keep_weekly = Some(3);
        r.keep_yearly = Some(2);
    });
    let p = plan(&items, &r, ts("2027-01-05T13:00Z"), &TimeZone::UTC);
    assert_eq!(
        kept(&p),
        [
            "t/d@2026-12-27",
            "t/d@2026-12-31",
            "t/d@2027-01-03",
            "t/d@2027-01-05"
        ]
    );
    assert_eq!(
        why(&p, "t/d@2027-01-05"),
        "weekly 2027-W01, yearly 2027, newest"
    );
    assert_eq!(why(&p, "t/d@2027-01-03"), "weekly 2026-W53");
    assert_eq!(why(&p, "t/d@2026-12-31"), "yearly 2026");
    assert_eq!(why(&p, "t/d@2026-12-27"), "weekly 2026-W52");
}

#[test]
fn months_without_snapshots_do_not_count() {
    let items = [
        full("t/d@jan", "2026-01-15T00:00Z"),
        full("t/d@mar", "2026-03-15T00:00Z"),
        full("t/d@apr1", "2026-04-01T00:00Z"),
        full("t/d@apr2", "2026-04-30T00:00Z"),
        full("t/d@jun", "2026-06-15T00:00Z"),
    ];
    let p = plan(
        &items,
        &rules(|r| r.keep_monthly = Some(3)),
        ts(NOV30),
        &TimeZone::UTC,
    );
    assert_eq!(kept(&p), ["t/d@mar", "t/d@apr2", "t/d@jun"]);
    assert_eq!(why(&p, "t/d@apr2"), "monthly 2026-04");
}

#[test]
fn keep_yearly_over_several_years() {
    let items: Vec<Item> = (2019..=2026)
        .flat_map(|y| {
            [
                full(&format!("t/d@{y}-03"), &format!("{y}-03-01T00:00Z")),
                full(&format!("t/d@{y}-09"), &format!("{y}-09-01T00:00Z")),
            ]
        })
        .collect();
    let p = plan(
        &items,
        &rules(|r| r.keep_yearly = Some(3)),
        ts(NOV30),
        &TimeZone::UTC,
    );
    assert_eq!(kept(&p), ["t/d@2024-09", "t/d@2025-09", "t/d@2026-09"]);
}
