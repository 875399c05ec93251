//! Catch-up after downtime.

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::super::{due, Due, MISSED_CAP};
use super::{at, schedule};

fn ts(text: &str) -> Timestamp {
    at(text).timestamp()
}

fn check(text: &str, last: Option<&str>, now: &str) -> Due {
    let zone = TimeZone::get("Europe/Paris").unwrap();
    due(&schedule(text), last.map(ts), ts(now), &zone)
}

fn yes(missed: u32, scheduled: &str) -> Due {
    Due::Yes {
        missed,
        scheduled: at(scheduled),
    }
}

fn no(next: Option<&str>) -> Due {
    Due::No { next: next.map(at) }
}

#[test]
fn due_table() {
    let cases: &[(&str, Option<&str>, &str, Due)] = &[
        // Never ran: due now.
        (
            "daily",
            None,
            "2026-01-10T12:00:00[Europe/Paris]",
            yes(0, "2026-01-10T12:00:00[Europe/Paris]"),
        ),
        (
            "*-02-30",
            None,
            "2026-01-10T12:00:00[Europe/Paris]",
            yes(0, "2026-01-10T12:00:00[Europe/Paris]"),
        ),
        // One instant in (last, now].
        (
            "daily",
            Some("2026-01-09T00:00:05[Europe/Paris]"),
            "2026-01-10T12:00:00[Europe/Paris]",
            yes(1, "2026-01-10T00:00:00+01:00[Europe/Paris]"),
        ),
        // The interval is open at last_run ...
        (
            "daily",
            Some("2026-01-10T00:00:00[Europe/Paris]"),
            "2026-01-10T12:00:00[Europe/Paris]",
            no(Some("2026-01-11T00:00:00+01:00[Europe/Paris]")),
        ),
        // ... and closed at now.
        (
            "daily",
            Some("2026-01-09T00:00:00[Europe/Paris]"),
            "2026-01-10T00:00:00[Europe/Paris]",
            yes(1, "2026-01-10T00:00:00+01:00[Europe/Paris]"),
        ),
        // Ten days down: due once, ten missed, the latest reported.
        (
            "daily",
            Some("2026-01-01T00:00:00[Europe/Paris]"),
            "2026-01-11T08:00:00[Europe/Paris]",
            yes(10, "2026-01-11T00:00:00+01:00[Europe/Paris]"),
        ),
        // A month of a minutely schedule: the count is capped, the latest exact.
        (
            "minutely",
            Some("2026-01-01T00:00:00[Europe/Paris]"),
            "2026-02-01T08:30:15[Europe/Paris]",
            yes(MISSED_CAP, "2026-02-01T08:30:00+01:00[Europe/Paris]"),
        ),
        // The clock went back: nothing is due.
        (
            "hourly",
            Some("2026-01-10T12:30:00[Europe/Paris]"),
            "2026-01-10T10:30:00[Europe/Paris]",
            no(Some("2026-01-10T11:00:00+01:00[Europe/Paris]")),
        ),
        // A fixed date: missed once, then never again.
        (
            "2026-01-05 03:00",
            Some("2025-12-01T00:00:00[Europe/Paris]"),
            "2026-01-10T12:00:00[Europe/Paris]",
            yes(1, "2026-01-05T03:00:00+01:00[Europe/Paris]"),
        ),
        (
            "2026-01-05 03:00",
            Some("2026-01-05T03:00:01[Europe/Paris]"),
            "2026-01-10T12:00:00[Europe/Paris]",
            no(None),
        ),
        // The schedule's own zone wins over the default one.
        (
            "daily UTC",
            Some("2026-01-09T01:00:00[Europe/Paris]"),
            "2026-01-10T00:30:00[Europe/Paris]",
            no(Some("2026-01-10T00:00:00+00:00[UTC]")),
        ),
        (
            "@daily",
            Some("2026-01-09T01:00:00[Europe/Paris]"),
            "2026-01-10T00:30:00[Europe/Paris]",
            yes(1, "2026-01-10T00:00:00+01:00[Europe/Paris]"),
        ),
        // Down over the spring-forward night: 02:30 did not exist on the 29th.
        (
            "02:30",
            Some("2026-03-27T12:00:00[Europe/Paris]"),
            "2026-03-30T12:00:00[Europe/Paris]",
            yes(2, "2026-03-30T02:30:00+02:00[Europe/Paris]"),
        ),
        // Down over the fall-back night: 02:30 counted once on the 25th.
        (
            "02:30",
            Some("2026-10-24T12:00:00[Europe/Paris]"),
            "2026-10-26T12:00:00[Europe/Paris]",
            yes(2, "2026-10-26T02:30:00+01:00[Europe/Paris]"),
        ),
    ];
    for (text, last, now, expected) in cases {
        assert_eq!(
            &check(text, *last, now),
            expected,
            "{text:?} last {last:?} now {now}"
        );
    }
}

#[test]
fn due_then_not_due_after_running() {
    let s = schedule("*:0/15");
    let zone = TimeZone::UTC;
    let now = ts("2026-01-01T10:20:00[UTC]");
    let before = ts("2026-01-01T09:00:00[UTC]");
    assert!(matches!(
        due(&s, Some(before), now, &zone),
        Due::Yes { missed: 5, .. }
    ));
    // Ran at `now`: not due again until 10:30.
    assert_eq!(
        due(&s, Some(now), now, &zone),
        no(Some("2026-01-01T10:30:00+00:00[UTC]"))
    );
}
