//! `next_after`, `upcoming`, `last_at_or_before`: month ends, leap years,
//! year boundaries, cron's day rule.

use super::{at, schedule, upcoming};

/// (schedule, after, expected next)
#[test]
fn next_after_table() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        (
            "*:0/15",
            "2026-01-01T00:00:00[UTC]",
            Some("2026-01-01T00:15:00+00:00[UTC]"),
        ),
        (
            "*:0/15",
            "2026-01-01T00:07:30[UTC]",
            Some("2026-01-01T00:15:00+00:00[UTC]"),
        ),
        (
            "*:0/15",
            "2026-01-01T00:14:59.5[UTC]",
            Some("2026-01-01T00:15:00+00:00[UTC]"),
        ),
        (
            "*:0/15",
            "2026-12-31T23:50:00[UTC]",
            Some("2027-01-01T00:00:00+00:00[UTC]"),
        ),
        (
            "*:*:*",
            "2026-01-01T00:00:00[UTC]",
            Some("2026-01-01T00:00:01+00:00[UTC]"),
        ),
        (
            "minutely",
            "2026-01-01T00:00:30[UTC]",
            Some("2026-01-01T00:01:00+00:00[UTC]"),
        ),
        (
            "hourly",
            "2026-01-31T23:00:00[UTC]",
            Some("2026-02-01T00:00:00+00:00[UTC]"),
        ),
        (
            "*-*-* 02:30",
            "2026-01-01T02:30:00[UTC]",
            Some("2026-01-02T02:30:00+00:00[UTC]"),
        ),
        (
            "*-*-31 12:00",
            "2026-04-01T00:00:00[UTC]",
            Some("2026-05-31T12:00:00+00:00[UTC]"),
        ),
        (
            "*-*-30",
            "2026-01-30T00:00:00[UTC]",
            Some("2026-03-30T00:00:00+00:00[UTC]"),
        ),
        (
            "*-02-29",
            "2026-01-01T00:00:00[UTC]",
            Some("2028-02-29T00:00:00+00:00[UTC]"),
        ),
        (
            "*-02-29",
            "2096-03-01T00:00:00[UTC]",
            Some("2104-02-29T00:00:00+00:00[UTC]"),
        ),
        (
            "*-02-28,29 12:00",
            "2028-02-28T12:00:00[UTC]",
            Some("2028-02-29T12:00:00+00:00[UTC]"),
        ),
        (
            "Mon *-02-29",
            "2026-01-01T00:00:00[UTC]",
            Some("2044-02-29T00:00:00+00:00[UTC]"),
        ),
        ("*-02-30", "2026-01-01T00:00:00[UTC]", None),
        ("*-04-31", "2026-01-01T00:00:00[UTC]", None),
        ("2020-01-01", "2026-01-01T00:00:00[UTC]", None),
        (
            "2026-12-01",
            "2026-11-30T00:00:00[UTC]",
            Some("2026-12-01T00:00:00+00:00[UTC]"),
        ),
        ("2026-12-01", "2026-12-01T00:00:00[UTC]", None),
        (
            "2150-06-01",
            "2026-01-01T00:00:00[UTC]",
            Some("2150-06-01T00:00:00+00:00[UTC]"),
        ),
        (
            "2026..2030/2-06-01",
            "2026-07-01T00:00:00[UTC]",
            Some("2028-06-01T00:00:00+00:00[UTC]"),
        ),
        (
            "weekly",
            "2026-01-01T00:00:00[UTC]",
            Some("2026-01-05T00:00:00+00:00[UTC]"),
        ),
        (
            "monthly",
            "2026-01-31T12:00:00[UTC]",
            Some("2026-02-01T00:00:00+00:00[UTC]"),
        ),
        (
            "quarterly",
            "2026-02-15T00:00:00[UTC]",
            Some("2026-04-01T00:00:00+00:00[UTC]"),
        ),
        (
            "semiannually",
            "2026-08-01T00:00:00[UTC]",
            Some("2027-01-01T00:00:00+00:00[UTC]"),
        ),
        (
            "yearly",
            "2026-12-31T23:59:59[UTC]",
            Some("2027-01-01T00:00:00+00:00[UTC]"),
        ),
        (
            "Mon..Fri 22:00",
            "2026-01-02T22:00:00[UTC]",
            Some("2026-01-05T22:00:00+00:00[UTC]"),
        ),
        (
            "Sat,Sun *-*-01..07 04:00",
            "2026-01-04T04:00:00[UTC]",
            Some("2026-02-01T04:00:00+00:00[UTC]"),
        ),
        (
            "30 2 * * *",
            "2026-01-01T02:30:00[UTC]",
            Some("2026-01-02T02:30:00+00:00[UTC]"),
        ),
        (
            "59 23 31 12 *",
            "2026-12-31T23:59:00[UTC]",
            Some("2027-12-31T23:59:00+00:00[UTC]"),
        ),
        (
            "0 0 * * 7",
            "2026-01-01T00:00:00[UTC]",
            Some("2026-01-04T00:00:00+00:00[UTC]"),
        ),
        (
            "0 0 * * 0",
            "2026-01-01T00:00:00[UTC]",
            Some("2026-01-04T00:00:00+00:00[UTC]"),
        ),
        (
            "0 12 * feb sun",
            "2026-01-01T00:00:00[UTC]",
            Some("2026-02-01T12:00:00+00:00[UTC]"),
        ),
        (
            "0 0 29 2 *",
            "2026-01-01T00:00:00[UTC]",
            Some("2028-02-29T00:00:00+00:00[UTC]"),
        ),
        ("0 0 31 2 *", "2026-01-01T00:00:00[UTC]", None),
        (
            "@yearly",
            "2026-06-01T00:00:00[UTC]",
            Some("2027-01-01T00:00:00+00:00[UTC]"),
        ),
        // The schedule's own zone wins over the zone of `after`.
        (
            "03:00 Europe/Paris",
            "2026-01-01T12:00:00[UTC]",
            Some("2026-01-02T03:00:00+01:00[Europe/Paris]"),
        ),
        (
            "daily UTC",
            "2026-07-01T12:00:00[Europe/Paris]",
            Some("2026-07-02T00:00:00+00:00[UTC]"),
        ),
        // Without one, the zone of `after` is used.
        (
            "03:00",
            "2026-07-01T12:00:00[America/New_York]",
            Some("2026-07-02T03:00:00-04:00[America/New_York]"),
        ),
    ];
    for &(text, after, expected) in cases {
        let next = schedule(text).next_after(at(after)).map(|z| z.to_string());
        assert_eq!(next.as_deref(), expected, "{text:?} after {after}");
    }
}

#[test]
fn upcoming_first_weekend_of_month() {
    let got = upcoming("Sat,Sun *-*-01..07 04:00", "2026-01-01T00:00:00[UTC]", 6);
    let want = [
        "2026-01-03",
        "2026-01-04",
        "2026-02-01",
        "2026-02-07",
        "2026-03-01",
        "2026-03-07",
    ];
    let want: Vec<String> = want
        .iter()
        .map(|d| format!("{d}T04:00:00+00:00[UTC]"))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn upcoming_stops_when_schedule_ends() {
    let got = upcoming("2026-12-01,02", "2026-11-01T00:00:00[UTC]", 5);
    assert_eq!(
        got,
        [
            "2026-12-01T00:00:00+00:00[UTC]",
            "2026-12-02T00:00:00+00:00[UTC]"
        ]
    );
    assert!(upcoming("*-02-30", "2026-01-01T00:00:00[UTC]", 3).is_empty());
}

#[test]
fn cron_day_of_month_or_day_of_week() {
    // Both restricted: the 13th OR any Friday.
    let got = upcoming("0 0 13 * 5", "2026-01-01T00:00:00[UTC]", 4);
    let days: Vec<&str> = got.iter().map(|z| &z[..10]).collect();
    assert_eq!(
        days,
        ["2026-01-02", "2026-01-09", "2026-01-13", "2026-01-16"]
    );
    // A field starting with `*` is unrestricted: the day rule is AND.
    let got = upcoming("0 0 */10 * 1", "2026-01-01T00:00:00[UTC]", 2);
    let days: Vec<&str> = got.iter().map(|z| &z[..10]).collect();
    assert_eq!(days, ["2026-05-11", "2026-06-01"]);
    let got = upcoming("0 0 * * mon", "2026-01-01T00:00:00[UTC]", 2);
    let days: Vec<&str> = got.iter().map(|z| &z[..10]).collect();
    assert_eq!(days, ["2026-01-05", "2026-01-12"]);
}

#[test]
fn last_at_or_before_table() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        (
            "daily",
            "2026-01-01T00:00:00[UTC]",
            Some("2026-01-01T00:00:00+00:00[UTC]"),
        ),
        (
            "daily",
            "2026-01-01T12:00:00[UTC]",
            Some("2026-01-01T00:00:00+00:00[UTC]"),
        ),
        (
            "*:0/15",
            "2026-01-01T00:00:00[UTC]",
            Some("2026-01-01T00:00:00+00:00[UTC]"),
        ),
        (
            "*:0/15",
            "2026-01-01T00:14:59[UTC]",
            Some("2026-01-01T00:00:00+00:00[UTC]"),
        ),
        (
            "*-02-29 12:00",
            "2026-01-01T00:00:00[UTC]",
            Some("2024-02-29T12:00:00+00:00[UTC]"),
        ),
        (
            "Mon..Fri 22:00",
            "2026-01-05T21:00:00[UTC]",
            Some("2026-01-02T22:00:00+00:00[UTC]"),
        ),
        (
            "0 0 13 * 5",
            "2026-01-12T00:00:00[UTC]",
            Some("2026-01-09T00:00:00+00:00[UTC]"),
        ),
        ("2030-01-01", "2026-01-01T00:00:00[UTC]", None),
        ("*-02-30", "2026-01-01T00:00:00[UTC]", None),
        // 02:30 does not exist on 2026-03-29 in Paris.
        (
            "02:30",
            "2026-03-29T12:00:00[Europe/Paris]",
            Some("2026-03-28T02:30:00+01:00[Europe/Paris]"),
        ),
        // During the second 02:xx hour, the first 02:30 already happened.
        (
            "02:30",
            "2026-10-25T02:10:00+01:00[Europe/Paris]",
            Some("2026-10-25T02:30:00+02:00[Europe/Paris]"),
        ),
    ];
    for &(text, t, expected) in cases {
        let last = schedule(text)
            .last_at_or_before(at(t))
            .map(|z| z.to_string());
        assert_eq!(last.as_deref(), expected, "{text:?} at or before {t}");
    }
}

/// `interval`: the longest wait between two runs, from a fixed reference
/// date, so the same whatever the clock; daylight saving lengthens a
/// local daily schedule to 25 hours.
#[test]
fn interval_is_the_longest_wait_between_runs() {
    let h = |n: i64| Some(jiff::SignedDuration::from_hours(n));
    let utc = jiff::tz::TimeZone::UTC;
    let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    for (text, tz, expected) in [
        ("daily", &utc, h(24)),
        ("daily", &paris, h(25)),
        ("Mon..Fri 22:00", &utc, h(72)),
        ("monthly", &utc, h(31 * 24)),
        ("30 2 * * 1-5", &utc, h(72)),
        ("2030-06-01 12:00", &utc, None),
    ] {
        assert_eq!(schedule(text).interval(tz), expected, "{text}");
    }
}
