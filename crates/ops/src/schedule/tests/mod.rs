//! Table tests for schedules. No test reads the clock: every `now` is
//! written out, and [`no_clock_reads`] checks the sources stay that way.

mod dst;
mod due;
mod fuzz;
mod next;
mod parse;
mod systemd;

use jiff::Zoned;

use super::Schedule;

/// `"2026-03-29T01:00:00[Europe/Paris]"` or with an offset.
fn at(text: &str) -> Zoned {
    text.parse()
        .unwrap_or_else(|e| panic!("bad test time {text:?}: {e}"))
}

fn schedule(text: &str) -> Schedule {
    Schedule::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// The next `n` instants after `from`, as strings.
fn upcoming(text: &str, from: &str, n: usize) -> Vec<String> {
    let out = schedule(text).upcoming(at(from), n);
    out.iter().map(ToString::to_string).collect()
}

/// Results depend only on the arguments: the module never asks the clock
/// or the system time zone.
#[test]
fn no_clock_reads() {
    let sources = [
        include_str!("../mod.rs"),
        include_str!("../calendar.rs"),
        include_str!("../cron.rs"),
        include_str!("../due.rs"),
        include_str!("../field.rs"),
        include_str!("../search.rs"),
        include_str!("../systemd.rs"),
    ];
    let forbidden = [
        concat!("::now", "("),
        concat!("system", "()"),
        concat!("Sys", "temTime"),
    ];
    for source in sources {
        for word in forbidden {
            assert!(!source.contains(word), "a schedule source calls {word}");
        }
    }
}

/// The same question asked twice, with real time passing in between,
/// gets the same answer.
#[test]
fn same_inputs_same_answers() {
    let s = schedule("Mon..Fri *:0/20 Europe/Paris");
    let first = s.upcoming(at("2026-03-27T23:00:00[Europe/Paris]"), 50);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = s.upcoming(at("2026-03-27T23:00:00[Europe/Paris]"), 50);
    assert_eq!(first, second);
    assert_eq!(first.len(), 50);
}
