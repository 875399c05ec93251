//! Table cases for the rule pass, and the helpers the other test files
//! share. Calendar periods are in `calendar.rs`, chains in `chain.rs`,
//! whole scenarios in `month.rs`, the JSON table in `table.rs`.

mod calendar;
mod chain;
mod month;
mod table;

use jiff::{tz::TimeZone, Span, Timestamp};

use super::{plan, Item, Plan, Reason, Rules};

pub(super) fn ts(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A full stream; the group is the part of `name` before `@`, the key is
/// the name, the guid a hash of it.
pub(super) fn full(name: &str, time: &str) -> Item {
    let guid = name.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    });
    chained(name, time, guid, None)
}

pub(super) fn chained(name: &str, time: &str, guid: u64, base: Option<u64>) -> Item {
    Item {
        key: name.to_string(),
        name: name.to_string(),
        group: name.split('@').next().unwrap().to_string(),
        time: ts(time),
        guid,
        base_guid: base,
    }
}

pub(super) fn kept(p: &Plan) -> Vec<&str> {
    p.kept().map(|d| d.name.as_str()).collect()
}

/// The reasons of one snapshot, as people read them.
pub(super) fn why(p: &Plan, name: &str) -> String {
    let d = p.decisions.iter().find(|d| d.name == name).expect(name);
    let r: Vec<String> = d.reasons.iter().map(ToString::to_string).collect();
    r.join(", ")
}

pub(super) fn paris() -> TimeZone {
    TimeZone::get("Europe/Paris").unwrap()
}

pub(super) fn rules(f: impl FnOnce(&mut Rules)) -> Rules {
    let mut r = Rules::default();
    f(&mut r);
    r
}

/// Daily fulls `t/d@01` .. `t/d@NN` at noon UTC, 2026-11-01 onwards.
fn daily(n: u32) -> Vec<Item> {
    (1..=n)
        .map(|d| full(&format!("t/d@{d:02}"), &format!("2026-11-{d:02}T12:00Z")))
        .collect()
}

pub(super) const NOV30: &str = "2026-11-30T18:00Z";

#[test]
fn empty_input_gives_an_empty_plan() {
    let p = plan(
        &[],
        &rules(|r| r.keep_last = Some(3)),
        ts(NOV30),
        &TimeZone::UTC,
    );
    assert!(p.decisions.is_empty());
    assert_eq!(p.render(), "");
}

#[test]
fn a_single_snapshot_is_kept() {
    let items = [full("t/d@only", "2026-01-01T00:00Z")];
    let p = plan(
        &items,
        &rules(|r| r.keep_daily = Some(1)),
        ts(NOV30),
        &TimeZone::UTC,
    );
    assert_eq!(why(&p, "t/d@only"), "daily 2026-01-01, newest");
    // Even a rule that keeps nothing old enough keeps the newest.
    let r = rules(|r| r.keep_within = Some(Span::new().hours(1)));
    let p = plan(&items, &r, ts(NOV30), &TimeZone::UTC);
    assert_eq!(why(&p, "t/d@only"), "newest");
}

#[test]
fn empty_rules_keep_everything() {
    for r in [
        Rules::default(),
        rules(|r| {
            r.keep_last = Some(0);
            r.keep_daily = Some(0);
            r.keep_within = Some(Span::new());
        }),
    ] {
        assert!(r.is_empty());
        let p = plan(&daily(5), &r, ts(NOV30), &TimeZone::UTC);
        assert_eq!(p.removed().count(), 0);
        assert_eq!(why(&p, "t/d@01"), "no rules, keep all");
        assert_eq!(why(&p, "t/d@05"), "newest, no rules, keep all");
    }
    assert!(!rules(|r| r.keep_yearly = Some(1)).is_empty());
}

#[test]
fn keep_last_keeps_the_n_newest_with_their_rank() {
    let p = plan(
        &daily(10),
        &rules(|r| r.keep_last = Some(3)),
        ts(NOV30),
        &TimeZone::UTC,
    );
    assert_eq!(kept(&p), ["t/d@08", "t/d@09", "t/d@10"]);
    assert_eq!(why(&p, "t/d@08"), "last 3");
    assert_eq!(why(&p, "t/d@10"), "last 1, newest");
    assert_eq!(why(&p, "t/d@07"), "no rule keeps it");
    assert_eq!(p.removed().count(), 7);
}

#[test]
fn keep_last_beyond_the_count_keeps_all() {
    let p = plan(
        &daily(4),
        &rules(|r| r.keep_last = Some(9)),
        ts(NOV30),
        &TimeZone::UTC,
    );
    assert_eq!(p.kept().count(), 4);
}

#[test]
fn keep_within_keeps_strictly_newer_than_the_cutoff() {
    let r = rules(|r| r.keep_within = Some(Span::new().days(3)));
    // now = 11-10 12:00, cutoff 11-07 12:00: @07 sits on it and goes.
    let p = plan(&daily(10), &r, ts("2026-11-10T12:00Z"), &TimeZone::UTC);
    assert_eq!(kept(&p), ["t/d@08", "t/d@09", "t/d@10"]);
    assert_eq!(why(&p, "t/d@08"), "within 3d");
}

#[test]
fn keep_within_days_are_calendar_days_in_the_zone() {
    // Paris enters summer time on 2026-03-29: that day has 23 hours.
    let items = [
        full("t/d@a", "2026-03-28T10:30Z"), // 11:30 CET, 23.5 h before now
        full("t/d@b", "2026-03-28T11:30Z"), // 12:30 CET
        full("t/d@c", "2026-03-29T10:00Z"), // now
    ];
    let now = ts("2026-03-29T10:00Z"); // 12:00 CEST
    let r = rules(|r| r.keep_within = Some(Span::new().days(1)));
    assert_eq!(kept(&plan(&items, &r, now, &paris())), ["t/d@b", "t/d@c"]);
    let utc = plan(&items, &r, now, &TimeZone::UTC);
    assert_eq!(kept(&utc), ["t/d@a", "t/d@b", "t/d@c"]);
}

#[test]
fn future_snapshots_are_kept_and_count_in_buckets() {
    let items = [
        full("t/d@past", "2026-11-29T12:00Z"),
        full("t/d@ahead", "2026-12-01T12:00Z"),
    ];
    let p = plan(
        &items,
        &rules(|r| r.keep_daily = Some(1)),
        ts(NOV30),
        &TimeZone::UTC,
    );
    assert_eq!(kept(&p), ["t/d@ahead"]);
    assert_eq!(
        why(&p, "t/d@ahead"),
        "newer than now, daily 2026-12-01, newest"
    );
    // With now behind every snapshot, nothing is removed.
    let p = plan(
        &items,
        &rules(|r| r.keep_last = Some(1)),
        ts("2020-01-01T00:00Z"),
        &TimeZone::UTC,
    );
    assert_eq!(p.removed().count(), 0);
    assert_eq!(why(&p, "t/d@past"), "newer than now");
}

#[test]
fn future_snapshots_are_not_within() {
    let items = [full("t/d@ahead", "2026-12-01T12:00Z")];
    let r = rules(|r| r.keep_within = Some(Span::new().days(30)));
    let p = plan(&items, &r, ts(NOV30), &TimeZone::UTC);
    assert_eq!(why(&p, "t/d@ahead"), "newer than now, newest");
}

#[test]
fn a_snapshot_lists_every_rule_that_keeps_it() {
    let r = rules(|r| {
        r.keep_last = Some(1);
        r.keep_hourly = Some(1);
        r.keep_daily = Some(1);
        r.keep_weekly = Some(1);
        r.keep_monthly = Some(1);
        r.keep_yearly = Some(1);
        r.keep_within = Some(Span::new().days(1));
    });
    let p = plan(&daily(30), &r, ts(NOV30), &TimeZone::UTC);
    assert_eq!(
        why(&p, "t/d@30"),
        "last 1, within 1d, hourly 2026-11-30 12h, daily 2026-11-30, \
         weekly 2026-W49, monthly 2026-11, yearly 2026, newest"
    );
    assert_eq!(p.kept().count(), 1);
}

#[test]
fn equal_times_are_ordered_by_key() {
    let items = [
        full("t/d@b", "2026-11-01T00:00Z"),
        full("t/d@a", "2026-11-01T00:00Z"),
    ];
    let p = plan(
        &items,
        &rules(|r| r.keep_last = Some(1)),
        ts(NOV30),
        &TimeZone::UTC,
    );
    let order: Vec<&str> = p.decisions.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(order, ["t/d@a", "t/d@b"]);
    assert_eq!(kept(&p), ["t/d@b"]);
}

#[test]
fn input_order_does_not_matter() {
    let mut items = daily(20);
    let r = rules(|r| {
        r.keep_last = Some(2);
        r.keep_weekly = Some(2);
    });
    let sorted = plan(&items, &r, ts(NOV30), &TimeZone::UTC);
    items.reverse();
    items.swap(3, 11);
    assert_eq!(plan(&items, &r, ts(NOV30), &TimeZone::UTC), sorted);
    assert_eq!(kept(&sorted), ["t/d@15", "t/d@19", "t/d@20"]);
}

#[test]
fn groups_are_independent() {
    let mut items = daily(6);
    items.push(full("t/old@1", "2025-01-01T00:00Z"));
    items.push(full("t/old@2", "2025-01-02T00:00Z"));
    items.push(full("t/old@3", "2025-01-03T00:00Z"));
    let p = plan(
        &items,
        &rules(|r| r.keep_last = Some(2)),
        ts(NOV30),
        &TimeZone::UTC,
    );
    assert_eq!(kept(&p), ["t/d@05", "t/d@06", "t/old@2", "t/old@3"]);
    assert_eq!(why(&p, "t/old@3"), "last 1, newest");
}

#[test]
fn rules_deserialize_strictly() {
    let r: Rules = serde_json::from_str(r#"{"keep_daily": 7, "keep_within": "36h"}"#).unwrap();
    assert_eq!(r.keep_daily, Some(7));
    assert_eq!(r.keep_within.unwrap().fieldwise(), Span::new().hours(36));
    let r: Rules = serde_json::from_str(r#"{"keep_within": "P1M"}"#).unwrap();
    assert_eq!(r.keep_within.unwrap().fieldwise(), Span::new().months(1));
    assert!(serde_json::from_str::<Rules>("{}").unwrap().is_empty());
    for bad in [
        r#"{"keep_dayly": 7}"#,
        r#"{"keep_within": "-2d"}"#,
        r#"{"keep_within": "soon"}"#,
    ] {
        let err = serde_json::from_str::<Rules>(bad).unwrap_err().to_string();
        assert!(
            err.contains("keep_dayly") || err.contains("keep_within"),
            "{err}"
        );
    }
    let text =
        serde_json::to_string(&rules(|r| r.keep_within = Some(Span::new().days(2)))).unwrap();
    assert!(text.contains(r#""keep_within":"2d""#), "{text}");
    let back: Rules = serde_json::from_str(&text).unwrap();
    assert_eq!(back.keep_within.unwrap().fieldwise(), Span::new().days(2));
}

#[test]
fn reasons_compare_spans_field_by_field() {
    assert_eq!(
        Reason::Within(Span::new().days(1)),
        Reason::Within(Span::new().days(1))
    );
    assert_ne!(
        Reason::Within(Span::new().days(1)),
        Reason::Within(Span::new().hours(24))
    );
    assert_ne!(Reason::Daily("x".into()), Reason::Weekly("x".into()));
}
