//! Random input never panics, and the jumping search agrees with a plain
//! second-by-second scan.

use jiff::civil::DateTime;
use jiff::{SignedDuration, Zoned};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::super::search::{DayRule, Spec};
use super::super::Schedule;
use super::at;

const PIECES: &[&str] = &[
    "0",
    "1",
    "2",
    "5",
    "7",
    "12",
    "15",
    "29",
    "30",
    "31",
    "59",
    "60",
    "99",
    "2026",
    "*",
    "-",
    ":",
    ",",
    "..",
    "/",
    "~",
    " ",
    " ",
    "@",
    "Mon",
    "fri",
    "Sun..Sat",
    "jan",
    "daily",
    "weekly",
    "UTC",
    "Europe/Paris",
    ".",
    "\u{e9}",
    "\u{0}",
    "@daily",
    "@reboot",
    "1-5",
    "*/3",
    "0/15",
    "-*-",
    "2..5",
];

#[test]
fn random_text_never_panics() {
    let mut rng = StdRng::seed_from_u64(0x5c4e_d01e);
    let from = at("2026-03-29T01:59:59[Europe/Paris]");
    let mut parsed = 0;
    for _ in 0..20_000 {
        let n = rng.gen_range(0..9);
        let text: String = (0..n)
            .map(|_| PIECES[rng.gen_range(0..PIECES.len())])
            .collect();
        let Ok(s) = Schedule::parse(&text) else {
            continue;
        };
        parsed += 1;
        // What is displayed parses back to the same schedule.
        let again =
            Schedule::parse(&s.to_string()).unwrap_or_else(|e| panic!("{text:?} -> {s}: {e}"));
        assert_eq!(again.to_string(), s.to_string(), "{text:?}");
        let upcoming = s.upcoming(from.clone(), 3);
        for w in upcoming.windows(2) {
            assert!(w[0] < w[1], "{text:?}");
        }
        if let Some(first) = upcoming.first() {
            assert!(*first > from, "{text:?}");
            assert_eq!(
                s.last_at_or_before(first.clone()).as_ref(),
                Some(first),
                "{text:?}"
            );
        }
    }
    assert!(parsed > 200, "only {parsed} random texts parsed");
}

/// The reference: does `spec` match this civil time?
fn matches(spec: &Spec, dt: DateTime) -> bool {
    let dom = spec.days.contains(dt.day().into());
    let dow = spec
        .weekdays
        .contains(dt.weekday().to_monday_zero_offset().into());
    let day = match spec.day_rule {
        DayRule::All => dom && dow,
        DayRule::Any => dom || dow,
    };
    day && spec.years.contains(dt.year().into())
        && spec.months.contains(dt.month().into())
        && spec.hours.contains(dt.hour().into())
        && spec.minutes.contains(dt.minute().into())
        && spec.seconds.contains(dt.second().into())
}

#[test]
fn search_agrees_with_scan() {
    const FIELDS: [&[&str]; 5] = [
        &["*", "0", "*/7", "5-10", "0,30", "59"],
        &["*", "0", "23", "*/5", "8-17/3"],
        &["*", "1", "15", "*/10", "28-31"],
        &["*", "2", "1-3", "*/4"],
        &["*", "0", "1-5", "6,0", "*/3", "5"],
    ];
    let mut rng = StdRng::seed_from_u64(7);
    let start: Zoned = at("2028-02-27T22:58:00[UTC]");
    for _ in 0..250 {
        let words: Vec<&str> = FIELDS
            .iter()
            .map(|f| f[rng.gen_range(0..f.len())])
            .collect();
        let text = words.join(" ");
        let s = Schedule::parse(&text).unwrap();
        // Scan minute by minute over two days each way from a random point.
        let secs = rng.gen_range(0..86_400 * 60);
        let from = start.checked_add(SignedDuration::from_secs(secs)).unwrap();
        let scan = |step: i64| {
            let mut t = from.datetime().with().second(0).build().unwrap();
            if step < 0 && matches(&s.spec, t) {
                return Some(t);
            }
            (0..2 * 1440).find_map(|_| {
                t = t.checked_add(SignedDuration::from_mins(step)).unwrap();
                matches(&s.spec, t).then_some(t)
            })
        };
        let next = s.next_after(from.clone()).map(|z| z.datetime());
        let last = s.last_at_or_before(from.clone()).map(|z| z.datetime());
        if let Some(expected) = scan(1) {
            assert_eq!(next, Some(expected), "{text:?} after {from}");
        }
        if let Some(expected) = scan(-1) {
            assert_eq!(last, Some(expected), "{text:?} at or before {from}");
        }
        assert!(
            next.is_some_and(|n| n > from.datetime()),
            "{text:?} after {from}"
        );
        assert!(
            last.is_some_and(|l| l <= from.datetime()),
            "{text:?} before {from}"
        );
    }
}
