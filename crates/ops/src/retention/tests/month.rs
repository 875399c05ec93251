//! Whole scenarios, the rendered table, and independence from the wall
//! clock.

use jiff::{tz::TimeZone, Span, Timestamp};

use super::{chained, kept, ts, why};
use crate::retention::{plan, Item, Plan, Reason, Rules};

/// Hourly snapshots of `tank/h` through November 2026 (UTC): a full at
/// 00:00, then each hour an incremental from the previous one when
/// `chained`, else fulls only. Named `tank/h@DD-HH`, guid = index + 1.
fn november(chain: bool) -> Vec<Item> {
    (0..30 * 24)
        .map(|i: u64| {
            let (day, hour) = (i / 24 + 1, i % 24);
            let base = (chain && hour != 0).then_some(i);
            let name = format!("tank/h@{day:02}-{hour:02}");
            chained(
                &name,
                &format!("2026-11-{day:02}T{hour:02}:00Z"),
                i + 1,
                base,
            )
        })
        .collect()
}

fn month_rules() -> Rules {
    Rules {
        keep_hourly: Some(24),
        keep_daily: Some(7),
        keep_weekly: Some(4),
        keep_monthly: Some(6),
        ..Rules::default()
    }
}

const NOW: &str = "2026-11-30T23:30Z";

/// Whole days (all 24 hours) plus single snapshots, as names.
fn names(days: &[u32], singles: &[(u32, u32)]) -> Vec<String> {
    let mut v: Vec<(u32, u32)> = days
        .iter()
        .flat_map(|&d| (0..24).map(move |h| (d, h)))
        .collect();
    v.extend_from_slice(singles);
    v.sort_unstable();
    v.iter()
        .map(|(d, h)| format!("tank/h@{d:02}-{h:02}"))
        .collect()
}

#[test]
fn a_month_of_hourly_fulls_keeps_exactly_the_buckets() {
    let p = plan(&november(false), &month_rules(), ts(NOW), &TimeZone::UTC);
    // Hourly: all of 11-30. Daily: 23h of 11-24..11-29 (and 11-30).
    // Weekly: 2026-W49 (11-30), W48 (11-29), W47 (11-22), W46 (11-15).
    // Monthly: 2026-11 only.
    let singles: Vec<(u32, u32)> = [15, 22, 24, 25, 26, 27, 28, 29].map(|d| (d, 23)).to_vec();
    assert_eq!(kept(&p), names(&[30], &singles));
    assert_eq!(why(&p, "tank/h@29-23"), "daily 2026-11-29, weekly 2026-W48");
    assert_eq!(
        why(&p, "tank/h@30-23"),
        "hourly 2026-11-30 23h, daily 2026-11-30, weekly 2026-W49, monthly 2026-11, newest"
    );
    assert_eq!(why(&p, "tank/h@30-00"), "hourly 2026-11-30 00h");
    assert_eq!(p.removed().count(), 720 - 32);
}

#[test]
fn a_month_of_hourly_chains_keeps_each_kept_day_whole() {
    let p = plan(&november(true), &month_rules(), ts(NOW), &TimeZone::UTC);
    // Every 23h kept pins its day back to the 00:00 full; no further.
    assert_eq!(kept(&p), names(&[15, 22, 24, 25, 26, 27, 28, 29, 30], &[]));
    assert_eq!(why(&p, "tank/h@15-00"), "base of tank/h@15-01");
    assert_eq!(
        why(&p, "tank/h@30-22"),
        "hourly 2026-11-30 22h, base of tank/h@30-23"
    );
    assert_eq!(why(&p, "tank/h@14-23"), "no rule keeps it");
}

#[test]
fn the_rendered_table() {
    let items = [
        chained("tank/home@mon", "2026-11-16T08:00Z", 1, None),
        chained("tank/home@tue", "2026-11-17T08:00Z", 2, Some(1)),
        chained("tank/home@wednesday", "2026-11-18T08:00Z", 3, Some(2)),
        chained("tank/home@thu", "2026-11-19T08:00Z", 4, None),
    ];
    let r = Rules {
        keep_daily: Some(1),
        keep_weekly: Some(1),
        ..Rules::default()
    };
    let p = plan(
        &items,
        &r,
        ts("2026-11-21T09:00Z"),
        &TimeZone::get("Europe/Paris").unwrap(),
    );
    assert_eq!(
        p.render(),
        "REMOVE  tank/home@mon        2026-11-16 09:00:00 CET  no rule keeps it\n\
         REMOVE  tank/home@tue        2026-11-17 09:00:00 CET  no rule keeps it\n\
         REMOVE  tank/home@wednesday  2026-11-18 09:00:00 CET  no rule keeps it\n\
         KEEP    tank/home@thu        2026-11-19 09:00:00 CET  \
         daily 2026-11-19, weekly 2026-W47, newest\n"
    );
    let p = plan(
        &items,
        &Rules {
            keep_last: Some(2),
            ..Rules::default()
        },
        ts(NOW),
        &TimeZone::UTC,
    );
    assert!(p
        .render()
        .contains("tank/home@tue        2026-11-17 08:00:00 UTC  base of tank/home@wednesday\n"));
}

/// The kind of each reason and the keep flag, without dates.
fn shape(p: &Plan) -> Vec<(bool, Vec<String>)> {
    let kind = |r: &Reason| r.to_string().split(' ').next().unwrap().to_string();
    p.decisions
        .iter()
        .map(|d| (d.keep, d.reasons.iter().map(kind).collect()))
        .collect()
}

#[test]
fn shifting_now_and_the_snapshots_together_changes_nothing() {
    // The Gregorian calendar repeats every 400 years (146097 days, whole
    // weeks), so months, ISO weeks and weekdays line up again.
    let shift = |t: Timestamp| t + Span::new().hours(146_097 * 24);
    let mut rules = month_rules();
    rules.keep_last = Some(5);
    rules.keep_yearly = Some(3);
    rules.keep_within = Some(Span::new().days(2));
    let items = november(true);
    let moved: Vec<Item> = items
        .iter()
        .map(|i| Item {
            time: shift(i.time),
            ..i.clone()
        })
        .collect();
    for tz in [TimeZone::UTC, TimeZone::fixed(jiff::tz::offset(-7))] {
        let a = plan(&items, &rules, ts(NOW), &tz);
        let b = plan(&moved, &rules, shift(ts(NOW)), &tz);
        assert_eq!(shape(&a), shape(&b));
        assert!(b
            .decisions
            .iter()
            .any(|d| d.reasons.contains(&Reason::Yearly("2426".into()))));
        // And a later `now` alone only changes what `keep_within` says.
        let later = plan(&items, &rules, ts(NOW) + Span::new().hours(30), &tz);
        assert_ne!(shape(&a), shape(&later));
        let unmoved = Rules {
            keep_within: None,
            ..rules.clone()
        };
        let x = plan(&items, &unmoved, ts(NOW), &tz);
        assert_eq!(
            x,
            plan(&items, &unmoved, ts(NOW) + Span::new().hours(30), &tz)
        );
    }
}

#[test]
fn the_module_never_reads_the_clock() {
    let clock = concat!("now", "()");
    let host_zone = concat!("TimeZone::", "system");
    for (file, text) in [
        ("mod.rs", include_str!("../mod.rs")),
        ("policy.rs", include_str!("../policy.rs")),
        ("plan.rs", include_str!("../plan.rs")),
        ("tests/mod.rs", include_str!("mod.rs")),
        ("tests/calendar.rs", include_str!("calendar.rs")),
        ("tests/chain.rs", include_str!("chain.rs")),
        ("tests/month.rs", include_str!("month.rs")),
        ("tests/table.rs", include_str!("table.rs")),
    ] {
        assert!(!text.contains(clock), "{file} reads the clock");
        assert!(!text.contains(host_zone), "{file} reads the host's zone");
    }
}
