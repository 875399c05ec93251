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
