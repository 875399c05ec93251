//! `OnCalendar=` values: the translation table, and for many random cron
//! expressions, the translated events (parsed back by [`Schedule::parse`])
//! elapse exactly when the cron schedule does, all through a year.

use jiff::Zoned;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::super::{Schedule, Syntax};
use super::{at, schedule};

#[test]
fn cron_translation_table() {
    let cases: &[(&str, &[&str])] = &[
        ("*/15 2 * * 1-5", &["Mon..Fri *-*-* 02:00/15:00"]),
        ("30 2 * * *", &["*-*-* 02:30:00"]),
        ("* * * * *", &["*-*-* *:*:00"]),
        ("0 * * * *", &["*-*-* *:00:00"]),
        ("0 */2 * * *", &["*-*-* 00/2:00:00"]),
        ("5/20 * * * *", &["*-*-* *:05/20:00"]),
        ("0,30 8-18 * * *", &["*-*-* 08..18:00,30:00"]),
        ("0-30/10 1 * * *", &["*-*-* 01:00,10,20,30:00"]),
        ("0 3 1,15 * *", &["*-*-01,15 03:00:00"]),
        ("0 0 * jan,jul sun", &["Sun *-01,07-* 00:00:00"]),
        ("0 0 * * 7", &["Sun *-*-* 00:00:00"]),
        ("0 0 * * 0,6", &["Sat,Sun *-*-* 00:00:00"]),
        ("0 0 * * 5-7", &["Fri..Sun *-*-* 00:00:00"]),
        ("0 0 * * 1,2", &["Mon,Tue *-*-* 00:00:00"]),
        ("0 0 1-3,10 * *", &["*-*-01..03,10 00:00:00"]),
        ("0 0 1,2 * *", &["*-*-01,02 00:00:00"]),
        ("0 0 */2 * *", &["*-*-01/2 00:00:00"]),
        ("0 12 * */3 *", &["*-01/3-* 12:00:00"]),
        // Both day fields restricted: either matches, two events.
        (
            "0 4 1-7 * sat",
            &["*-*-01..07 04:00:00", "Sat *-*-* 04:00:00"],
        ),
        (
            "*/15 2 1,15 * mon-fri",
            &["*-*-01,15 02:00/15:00", "Mon..Fri *-*-* 02:00/15:00"],
        ),
        // A day of month written with a star combines with AND.
        ("0 0 */2 * 1", &["Mon *-*-01/2 00:00:00"]),
        // Every weekday written out: the union is every day.
        ("0 0 1 * 0-6", &["*-*-01 00:00:00", "*-*-* 00:00:00"]),
        ("@daily", &["*-*-* 00:00:00"]),
        ("@hourly", &["*-*-* *:00:00"]),
        ("@weekly", &["Sun *-*-* 00:00:00"]),
        ("@monthly", &["*-*-01 00:00:00"]),
        ("@yearly", &["*-01-01 00:00:00"]),
    ];
    for (cron, expected) in cases {
        let s = schedule(cron);
        assert_eq!(s.syntax(), Syntax::Cron, "{cron:?}");
        assert_eq!(s.on_calendar(), *expected, "{cron:?}");
        for event in s.on_calendar() {
            let parsed = schedule(&event);
            assert_eq!(parsed.syntax(), Syntax::Calendar, "{event:?}");
            assert_eq!(parsed.to_string(), event, "{cron:?}: not normalized");
        }
    }
}

#[test]
fn calendar_events_pass_through_normalized() {
    let cases = [
        ("hourly", "*-*-* *:00:00"),
        ("*-*-* 02:30", "*-*-* 02:30:00"),
        (
            "Mon..Fri 22:00 Europe/Paris",
            "Mon..Fri *-*-* 22:00:00 Europe/Paris",
        ),
        ("*:0/15", "*-*-* *:00/15:00"),
    ];
    for (text, expected) in cases {
        assert_eq!(schedule(text).on_calendar(), [expected], "{text:?}");
    }
}

/// A random cron field: lists of `*`, `*/k`, `a`, `a-b`, `a-b/k`, `a/k`.
fn field(rng: &mut StdRng, min: u16, max: u16, names: &[&str]) -> String {
    let item = |rng: &mut StdRng| {
        let v = |rng: &mut StdRng| {
            let n = rng.gen_range(min..=max);
            match names.get(usize::from(n - min)) {
                Some(name) if rng.gen_bool(0.3) => name.to_string(),
                _ => n.to_string(),
            }
        };
        let step = |rng: &mut StdRng| rng.gen_range(1..=(max - min).max(1) / 2 + 1);
        match rng.gen_range(0..7) {
            0 | 1 => "*".to_string(),
            2 => format!("*/{}", step(rng)),
            3 => v(rng),
            4 => {
                let (a, b) = (rng.gen_range(min..=max), rng.gen_range(min..=max));
                format!("{}-{}", a.min(b), a.max(b))
            }
            5 => {
                let (a, b) = (rng.gen_range(min..=max), rng.gen_range(min..=max));
                format!("{}-{}/{}", a.min(b), a.max(b), step(rng))
            }
            _ => format!("{}/{}", rng.gen_range(min..=max), step(rng)),
        }
    };
    let n = rng.gen_range(1..=3);
    let items: Vec<String> = (0..n).map(|_| item(rng)).collect();
    // A star in a list is rare and legal; keep it first as cron users do.
    items.join(",")
}

fn random_cron(rng: &mut StdRng) -> String {
    const MONTHS: &[&str] = &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    // Frequent minutes and hours make the comparison slow and prove
    // nothing more: keep those fields sparse.
    let minute = match rng.gen_range(0..4) {
        0 => field(rng, 0, 59, &[]),
        _ => rng.gen_range(0..60).to_string(),
    };
    let hour = field(rng, 0, 23, &[]);
    let dom = match rng.gen_range(0..3) {
        0 => "*".to_string(),
        _ => field(rng, 1, 31, &[]),
    };
    let month = field(rng, 1, 12, MONTHS);
    let dow = match rng.gen_range(0..3) {
        0 => "*".to_string(),
        _ => field(rng, 0, 7, DAYS),
    };
    format!("{minute} {hour} {dom} {month} {dow}")
}

/// The first of the union of the schedules' next instants after `t`.
fn next_of_union(events: &[Schedule], t: &Zoned) -> Option<Zoned> {
    events.iter().filter_map(|s| s.next_after(t.clone())).min()
}

#[test]
fn translated_cron_elapses_when_cron_does_through_a_year() {
    let mut rng = StdRng::seed_from_u64(0x0ca1_e4da);
    let starts: Vec<Zoned> = ["Europe/Paris", "UTC"]
        .iter()
        .flat_map(|zone| {
            (1..=12).map(move |month| at(&format!("2026-{month:02}-01T00:00:00[{zone}]")))
        })
        .collect();
    let mut checked = 0;
    while checked < 300 {
        let text = random_cron(&mut rng);
        let Ok(cron) = Schedule::parse(&text) else {
            continue;
        };
        checked += 1;
        let events: Vec<Schedule> = cron
            .on_calendar()
            .iter()
            .map(|e| Schedule::parse(e).unwrap_or_else(|err| panic!("{text:?} -> {e:?}: {err}")))
            .collect();
        for start in &starts {
            let mut t = start.clone();
            for _ in 0..40 {
                let want = cron.next_after(t.clone());
                let got = next_of_union(&events, &t);
                assert_eq!(got, want, "{text:?} -> {:?}, after {t}", cron.on_calendar());
                match want {
                    Some(next) => t = next,
                    None => break,
                }
            }
        }
    }
}
