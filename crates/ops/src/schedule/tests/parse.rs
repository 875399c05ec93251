//! Parsing: normalized forms and error messages.

use super::super::{Schedule, ScheduleError, Syntax};
use super::schedule;

#[test]
fn calendar_normalized() {
    let cases = [
        ("minutely", "*-*-* *:*:00"),
        ("hourly", "*-*-* *:00:00"),
        ("daily", "*-*-* 00:00:00"),
        ("DAILY", "*-*-* 00:00:00"),
        ("weekly", "Mon *-*-* 00:00:00"),
        ("monthly", "*-*-01 00:00:00"),
        ("quarterly", "*-01,04,07,10-01 00:00:00"),
        ("semiannually", "*-01,07-01 00:00:00"),
        ("yearly", "*-01-01 00:00:00"),
        ("annually", "*-01-01 00:00:00"),
        ("*:0/15", "*-*-* *:00/15:00"),
        ("*-*-* 02:30", "*-*-* 02:30:00"),
        ("02:30", "*-*-* 02:30:00"),
        ("2:30", "*-*-* 02:30:00"),
        ("1:2:3", "*-*-* 01:02:03"),
        ("*:*:*", "*-*-* *:*:*"),
        ("Mon *-*-* 03:00", "Mon *-*-* 03:00:00"),
        ("Mon..Fri 22:00", "Mon..Fri *-*-* 22:00:00"),
        ("mon-fri 22:00", "Mon..Fri *-*-* 22:00:00"),
        ("Monday,TUESDAY,wed 22:00", "Mon..Wed *-*-* 22:00:00"),
        ("Sat,Sun *-*-01..07 04:00", "Sat,Sun *-*-01..07 04:00:00"),
        ("Sun,Sat,Mon 04:00", "Mon,Sat,Sun *-*-* 04:00:00"),
        ("Fri", "Fri *-*-* 00:00:00"),
        ("2026-12-01", "2026-12-01 00:00:00"),
        ("12-01 06:00", "*-12-01 06:00:00"),
        ("2026..2028/2-02-29 12:00", "2026..2028/2-02-29 12:00:00"),
        ("*-1,7-1/10 8,20:00", "*-01,07-01/10 08,20:00:00"),
        ("daily UTC", "*-*-* 00:00:00 UTC"),
        ("03:00 Europe/Paris", "*-*-* 03:00:00 Europe/Paris"),
        (
            "Mon 2026-01-05 Europe/Paris",
            "Mon 2026-01-05 00:00:00 Europe/Paris",
        ),
        ("  daily  ", "*-*-* 00:00:00"),
    ];
    for (text, normalized) in cases {
        let s = schedule(text);
        assert_eq!(s.to_string(), normalized, "{text:?}");
        assert_eq!(s.syntax(), Syntax::Calendar, "{text:?}");
        assert_eq!(s.as_str(), text.trim());
        // The normalized form parses back to itself.
        assert_eq!(schedule(normalized).to_string(), normalized);
    }
}

#[test]
fn cron_normalized() {
    let cases = [
        ("*/15 * * * *", "*/15 * * * *"),
        ("30 2 * * *", "30 2 * * *"),
        ("0 3 * * mon-fri", "0 3 * * 1-5"),
        ("30 2 1,15 jan,JUL 0", "30 2 1,15 1,7 0"),
        ("0 0 * * 7", "0 0 * * 7"),
        ("5/10 * * * *", "5/10 * * * *"),
        ("0-30/10 00 * * *", "0-30/10 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@WEEKLY", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
    ];
    for (text, normalized) in cases {
        let s = schedule(text);
        assert_eq!(s.to_string(), normalized, "{text:?}");
        assert_eq!(s.syntax(), Syntax::Cron, "{text:?}");
        assert_eq!(schedule(normalized).to_string(), normalized);
    }
}

#[test]
fn errors_name_the_token() {
    let cases = [
        (
            "*-*-* 25:00",
            r#"invalid hour "25" in "*-*-* 25:00": expected 0..23"#,
        ),
        (
            "*-*-* 12:60",
            r#"invalid minute "60" in "*-*-* 12:60": expected 0..59"#,
        ),
        (
            "12:00:61",
            r#"invalid second "61" in "12:00:61": expected 0..59"#,
        ),
        (
            "2026-13-01",
            r#"invalid month "13" in "2026-13-01": expected 1..12"#,
        ),
        (
            "2026-02-32",
            r#"invalid day "32" in "2026-02-32": expected 1..31"#,
        ),
        (
            "1969-01-01",
            r#"invalid year "1969" in "1969-01-01": expected 1970..2199"#,
        ),
        (
            "26-01-01",
            r#"invalid year "26" in "26-01-01": expected 1970..2199"#,
        ),
        (
            "*:0/0",
            r#"invalid minute "0/0" in "*:0/0": the repetition step must be at least 1"#,
        ),
        (
            "10..5:00",
            r#"invalid hour "10..5" in "10..5:00": the range "10..5" runs backwards"#,
        ),
        (
            "1,,2:00",
            r#"invalid hour "" in "1,,2:00": a value is missing"#,
        ),
        (
            "x1:00",
            r#"invalid hour "x1" in "x1:00": "x1" is not a number"#,
        ),
        (
            "12:30:15.5",
            r#"invalid second "15.5" in "12:30:15.5": fractional values are not supported"#,
        ),
        (
            "Funday 10:00",
            r#"invalid weekday "Funday" in "Funday 10:00": expected a weekday name such as "mon""#,
        ),
        (
            "Mon,1 10:00",
            r#"invalid weekday "1" in "Mon,1 10:00": expected a weekday name such as "mon""#,
        ),
        (
            "fortnightly",
            r#"invalid expression "fortnightly": "fortnightly" is neither a weekday nor one of minutely, hourly, daily, weekly, monthly, quarterly, semiannually, yearly, annually"#,
        ),
        (
            "02:30 2026-01-01",
            r#"invalid expression "2026-01-01" in "02:30 2026-01-01": expected [WEEKDAYS] [YYYY-MM-DD] [HH:MM[:SS]] [TIME ZONE], in this order"#,
        ),
        (
            "1:2:3:4",
            r#"invalid time "1:2:3:4": expected HH:MM or HH:MM:SS"#,
        ),
        (
            "2026-1-2-3",
            r#"invalid date "2026-1-2-3": expected YYYY-MM-DD or MM-DD"#,
        ),
        (
            "*-*-~01",
            r#""*-*-~01" is not supported: "~" (days counted from the end of the month)"#,
        ),
        (
            "Mon *-02~03",
            r#""*-02~03" in "Mon *-02~03" is not supported: "~" (days counted from the end of the month)"#,
        ),
        (
            "61 * * * *",
            r#"invalid minute "61" in "61 * * * *": expected 0..59"#,
        ),
        (
            "* 24 * * *",
            r#"invalid hour "24" in "* 24 * * *": expected 0..23"#,
        ),
        (
            "* * 0 * *",
            r#"invalid day of month "0" in "* * 0 * *": expected 1..31"#,
        ),
        (
            "* * * foo *",
            r#"invalid month "foo" in "* * * foo *": "foo" is not a number or a name like "jan""#,
        ),
        (
            "* * * * 8",
            r#"invalid day of week "8" in "* * * * 8": expected 0..7"#,
        ),
        (
            "*/0 * * * *",
            r#"invalid minute "*/0" in "*/0 * * * *": the repetition step must be at least 1"#,
        ),
        (
            "5-1 * * * *",
            r#"invalid minute "5-1" in "5-1 * * * *": the range "5-1" runs backwards"#,
        ),
        (
            "@reboot",
            r#""@reboot" is not supported: a schedule needs times; start the job at boot from the service manager"#,
        ),
        (
            "@fortnightly",
            r#"invalid cron word "@fortnightly": expected one of @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually"#,
        ),
        (
            "@daily now",
            r#"invalid cron word "@daily now": expected a single word such as "@daily""#,
        ),
        (
            "0 0 1 1 * 2026",
            r#"invalid expression "0 0 1 1 * 2026": 6 words: expected five cron fields or a calendar event ([WEEKDAYS] [DATE] [TIME] [TIME ZONE])"#,
        ),
    ];
    for (text, message) in cases {
        let err = Schedule::parse(text).expect_err(text);
        assert_eq!(err.to_string(), message, "{text:?}");
    }
}

#[test]
fn empty_and_unknown_zone() {
    for text in ["", "   ", "\t\n"] {
        assert_eq!(Schedule::parse(text), Err(ScheduleError::Empty));
    }
    let err = Schedule::parse("daily Mars/Olympus_Mons").unwrap_err();
    match &err {
        ScheduleError::UnknownZone { name, text, .. } => {
            assert_eq!(name, "Mars/Olympus_Mons");
            assert_eq!(text, "daily Mars/Olympus_Mons");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err
        .to_string()
        .starts_with(r#"unknown time zone "Mars/Olympus_Mons" in "daily Mars/Olympus_Mons": "#));
}

#[test]
fn zone_and_from_str() {
    let s: Schedule = "03:00 Europe/Paris".parse().unwrap();
    assert_eq!(
        s.time_zone().and_then(|tz| tz.iana_name()),
        Some("Europe/Paris")
    );
    assert_eq!(schedule("03:00").time_zone(), None);
    assert_eq!(schedule("0 3 * * *").time_zone(), None);
    assert_eq!(
        schedule("daily").to_string(),
        schedule("*-*-* 00:00:00").to_string()
    );
    assert_ne!(schedule("daily"), schedule("@daily"));
}
