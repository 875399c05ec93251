//! Daylight saving time in Europe/Paris, 2026: clocks go from 02:00 to
//! 03:00 on March 29th and from 03:00 back to 02:00 on October 25th.

use super::{at, schedule, upcoming};

#[test]
fn spring_forward_skips_missing_time() {
    // 2026-03-29 02:00 -> 03:00 in Paris: 02:30 does not exist that day.
    let got = upcoming(
        "*-*-* 02:30 Europe/Paris",
        "2026-03-28T12:00:00[Europe/Paris]",
        2,
    );
    assert_eq!(
        got,
        [
            "2026-03-30T02:30:00+02:00[Europe/Paris]",
            "2026-03-31T02:30:00+02:00[Europe/Paris]"
        ]
    );
    let got = upcoming("*:0/30", "2026-03-29T01:00:00[Europe/Paris]", 3);
    assert_eq!(
        got,
        [
            "2026-03-29T01:30:00+01:00[Europe/Paris]",
            "2026-03-29T03:00:00+02:00[Europe/Paris]",
            "2026-03-29T03:30:00+02:00[Europe/Paris]",
        ]
    );
}

#[test]
fn fall_back_fires_once() {
    // 2026-10-25 03:00 -> 02:00 in Paris: 02:30 happens twice, fires once.
    let got = upcoming("*-*-* 02:30", "2026-10-24T12:00:00[Europe/Paris]", 2);
    assert_eq!(
        got,
        [
            "2026-10-25T02:30:00+02:00[Europe/Paris]",
            "2026-10-26T02:30:00+01:00[Europe/Paris]"
        ]
    );
    // Asked during the second 02:xx hour, the first 02:30 is already past.
    let next = schedule("*-*-* 02:30").next_after(at("2026-10-25T02:10:00+01:00[Europe/Paris]"));
    assert_eq!(
        next.unwrap().to_string(),
        "2026-10-26T02:30:00+01:00[Europe/Paris]"
    );
    let got = upcoming("*:0/30", "2026-10-25T01:50:00[Europe/Paris]", 4);
    assert_eq!(
        got,
        [
            "2026-10-25T02:00:00+02:00[Europe/Paris]",
            "2026-10-25T02:30:00+02:00[Europe/Paris]",
            "2026-10-25T03:00:00+01:00[Europe/Paris]",
            "2026-10-25T03:30:00+01:00[Europe/Paris]",
        ]
    );
}
