//! Tests of the job's pure decisions: a snapshot's time from its name, and
//! when the next stream is a full one.

use super::*;
use backup_core::test_support::manifest as for_test;

#[test]
fn time_comes_from_the_name() {
    assert_eq!(
        name_time("20261102T130000Z").unwrap().to_string(),
        "2026-11-02T13:00:00Z"
    );
    assert!(name_time("manual").is_none());
    assert_eq!(
        name_time("20261102T130000Z.07").unwrap().to_string(),
        "2026-11-02T13:00:00Z"
    );
    assert!(name_time("20261102T130000Z.x7").is_none());
    assert!(name_time("20261102T130000Z.123").is_none());
}

/// Regression (issue 17): two sends within one second failed with
/// "snapshot already exists". The second gets a counter, the names still
/// sort by time, and the time reads back from each.
#[test]
fn names_within_one_second_are_unique_and_sorted() {
    let now = Timestamp::from_second(1_793_613_600).unwrap();
    let mut taken: Vec<String> = Vec::new();
    for _ in 0..12 {
        let name = unique_snapshot_name("job", now, |n| taken.iter().any(|t| t == n)).unwrap();
        assert_eq!(snapshot_time("job", &name), Some(now), "{name}");
        taken.push(name);
    }
    assert_eq!(taken[0], "job-20261102T100000Z");
    assert_eq!(taken[1], "job-20261102T100000Z.01");
    assert_eq!(taken[11], "job-20261102T100000Z.11");
    let next = unique_snapshot_name("job", now + jiff::SignedDuration::from_secs(1), |_| false);
    taken.push(next.unwrap());
    let mut sorted = taken.clone();
    sorted.sort();
    assert_eq!(sorted, taken);
    assert_eq!(unique_snapshot_name("job", now, |_| true), None);
}

#[test]
fn full_every_by_count_and_age() {
    let now = Timestamp::from_second(100 * 86400).unwrap();
    let mut full = for_test("p/d", "a", 1, None);
    full.creation = now.as_second() - 3 * 86400;
    let i1 = for_test("p/d", "b", 2, Some(1));
    let i2 = for_test("p/d", "c", 3, Some(2));
    assert!(wants_full(None, "p", &[], now), "nothing shipped yet");
    assert!(!wants_full(None, "p", &[&full, &i1], now));
    let two = Some(FullEvery::Incrementals(2));
    assert!(!wants_full(two, "p", &[&full, &i1], now));
    assert!(wants_full(two, "p", &[&i2, &full, &i1], now));
    let week = Some(FullEvery::Age(jiff::SignedDuration::from_hours(7 * 24)));
    let day = Some(FullEvery::Age(jiff::SignedDuration::from_hours(24)));
    assert!(!wants_full(week, "p", &[&full, &i1], now));
    assert!(wants_full(day, "p", &[&full, &i1], now));
}
