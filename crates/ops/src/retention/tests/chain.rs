//! Chains: bases of kept snapshots are kept, transitively.

use jiff::{tz::TimeZone, Span};

use super::{chained, kept, ts, why};
use crate::retention::{plan, Item, Rules};

const NOW: &str = "2026-11-30T23:30Z";

#[test]
fn a_chain_kept_only_at_its_tip_keeps_every_base() {
    let items: Vec<Item> = (1..=6u64)
        .map(|g| {
            let base = (g > 1).then(|| g - 1);
            chained(
                &format!("t/c@{g}"),
                &format!("2026-11-0{g}T00:00Z"),
                g,
                base,
            )
        })
        .collect();
    let p = plan(
        &items,
        &Rules {
            keep_last: Some(1),
            ..Rules::default()
        },
        ts(NOW),
        &TimeZone::UTC,
    );
    assert_eq!(p.removed().count(), 0);
    assert_eq!(why(&p, "t/c@1"), "base of t/c@2");
    assert_eq!(why(&p, "t/c@5"), "base of t/c@6");
    assert_eq!(why(&p, "t/c@6"), "last 1, newest");
    // A base that a rule keeps as well lists both.
    let p = plan(
        &items,
        &Rules {
            keep_last: Some(2),
            ..Rules::default()
        },
        ts(NOW),
        &TimeZone::UTC,
    );
    assert_eq!(why(&p, "t/c@5"), "last 2, base of t/c@6");
}

/// Daily snapshots of `t/w` from Monday 2026-11-02 to Wednesday 11-25; a
/// full every Monday, else an incremental from the day before.
fn weekly_fulls() -> Vec<Item> {
    (0..24u64)
        .map(|i| {
            let date = jiff::civil::date(2026, 11, 2) + Span::new().days(i as i64);
            let base = (i % 7 != 0).then_some(i);
            chained(
                &format!("t/w@{date}"),
                &format!("{date}T03:00Z"),
                i + 1,
                base,
            )
        })
        .collect()
}

#[test]
fn a_weekly_full_lets_old_chains_go() {
    let now = ts("2026-11-25T12:00Z");
    let r = Rules {
        keep_daily: Some(3),
        ..Rules::default()
    };
    let p = plan(&weekly_fulls(), &r, now, &TimeZone::UTC);
    assert_eq!(
        kept(&p),
        ["t/w@2026-11-23", "t/w@2026-11-24", "t/w@2026-11-25"]
    );
    assert_eq!(
        why(&p, "t/w@2026-11-23"),
        "daily 2026-11-23, base of t/w@2026-11-24"
    );

    // Keeping last week's Sunday keeps that whole week back to its Monday.
    let r = Rules {
        keep_daily: Some(3),
        keep_weekly: Some(2),
        ..Rules::default()
    };
    let p = plan(&weekly_fulls(), &r, now, &TimeZone::UTC);
    assert_eq!(p.kept().count(), 3 + 7);
    assert!(p.kept().all(|d| d.time >= ts("2026-11-16T00:00Z")));
    assert_eq!(why(&p, "t/w@2026-11-16"), "base of t/w@2026-11-17");
}

#[test]
fn a_missing_base_is_ignored() {
    let items = [
        chained("t/m@1", "2026-11-01T00:00Z", 1, Some(99)),
        chained("t/m@2", "2026-11-02T00:00Z", 2, Some(1)),
    ];
    let p = plan(
        &items,
        &Rules {
            keep_last: Some(1),
            ..Rules::default()
        },
        ts(NOW),
        &TimeZone::UTC,
    );
    assert_eq!(kept(&p), ["t/m@1", "t/m@2"]);
}

#[test]
fn a_base_is_found_in_the_same_group_first_then_anywhere() {
    let items = [
        chained("t/a@x", "2026-11-01T00:00Z", 7, None),
        chained("t/b@x", "2026-11-01T00:00Z", 7, None), // the same snapshot again
        chained("t/b@y", "2026-11-02T00:00Z", 8, Some(7)),
        chained("t/c@z", "2026-11-03T00:00Z", 9, Some(7)), // e.g. a renamed dataset
        chained("t/c@zz", "2026-11-04T00:00Z", 10, Some(9)),
    ];
    let r = Rules {
        keep_within: Some(Span::new().hours(1)),
        ..Rules::default()
    };
    let p = plan(&items, &r, ts(NOW), &TimeZone::UTC);
    assert_eq!(why(&p, "t/b@x"), "base of t/b@y");
    assert_eq!(why(&p, "t/a@x"), "newest, base of t/c@z");
    assert_eq!(why(&p, "t/c@z"), "base of t/c@zz");
}

#[test]
fn cycles_and_self_references_end() {
    let items = [
        chained("t/z@1", "2026-11-01T00:00Z", 1, Some(2)),
        chained("t/z@2", "2026-11-02T00:00Z", 2, Some(1)),
        chained("t/z@3", "2026-11-03T00:00Z", 3, Some(3)),
    ];
    let p = plan(
        &items,
        &Rules {
            keep_last: Some(1),
            ..Rules::default()
        },
        ts(NOW),
        &TimeZone::UTC,
    );
    assert_eq!(kept(&p), ["t/z@3"]);
    let p = plan(
        &items[..2],
        &Rules {
            keep_last: Some(1),
            ..Rules::default()
        },
        ts(NOW),
        &TimeZone::UTC,
    );
    assert_eq!(why(&p, "t/z@2"), "last 1, newest, base of t/z@1");
}
