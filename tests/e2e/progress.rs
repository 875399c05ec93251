//! Progress as a pipe or the journal sees it (stderr not a terminal):
//! interim lines at the documented interval (shortened here by the test
//! hook `BACKUP_TEST_PROGRESS_EVERY`), with the estimated total, a
//! percentage, and the bytes sent to the repository at the rate a
//! bandwidth limit holds them to, still counting while the upload goes on
//! after the stream is read.

use std::fs;

use crate::harness::{assert_ok, noise, stderr, Env};

/// "1.5 MiB" at the start of `s`, in bytes.
fn amount(s: &str) -> f64 {
    let mut it = s.split_whitespace();
    let n: f64 = it.next().unwrap().parse().unwrap();
    let unit = it
        .next()
        .unwrap()
        .trim_end_matches("/s")
        .trim_end_matches(',');
    let shift = match unit {
        "B" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        other => panic!("unit {other:?} in {s:?}"),
    };
    n * f64::from(1u32 << shift)
}

#[test]
fn piped_progress_under_an_upload_limit_shows_the_limited_rate_and_keeps_counting() {
    let env = Env::new();
    let ds = env.dataset("d");
    fs::write(env.mountpoint(&ds).join("f"), noise(6 << 20, 11)).unwrap();
    let snap = env.snapshot(&ds, "s");
    let out = env
        .command(["--limit-upload", "1MiB/s", "send", &snap.to_string()])
        .env("BACKUP_TEST_PROGRESS_EVERY", "1")
        .output()
        .unwrap();
    assert_ok(&out, "send --limit-upload 1MiB/s");
    let err = stderr(&out);
    let label = format!("send {snap}");
    let interim: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with(&label) && !l.contains(": started") && !l.contains(": done,"))
        .collect();
    // 6 MiB at 1 MiB/s: about six seconds, a line a second.
    assert!(interim.len() >= 3, "{err}");
    let mut last_sent = 0.0;
    let mut sent_lines = 0;
    for line in &interim {
        // The estimate from `zfs send -nP`, said so, and a percentage.
        assert!(line.contains("(estimated size)"), "{line}");
        assert!(line.contains(" of ") && line.contains('%'), "{line}");
        // Before the first pack is sealed nothing has left yet.
        let Some((_, sent)) = line.split_once("; ") else {
            assert_eq!(last_sent, 0.0, "the sent count vanished: {err}");
            continue;
        };
        let (n, r) = sent.split_once(" sent to the repository, ").unwrap();
        let (n, r) = (amount(n), amount(r));
        assert!(n >= last_sent, "the count went back: {err}");
        if last_sent > 0.0 && last_sent < 6.0 * f64::from(1u32 << 20) {
            assert!(n > last_sent, "the count froze: {err}");
        }
        last_sent = n;
        sent_lines += 1;
        // After the first seconds (one second of burst), the rate is the
        // limit's, not the read side's.
        if sent_lines >= 2 {
            assert!(r <= 1.5 * f64::from(1u32 << 20), "{line}");
        }
    }
    // While the upload goes on, the lines keep coming and count it.
    assert!(sent_lines >= 3, "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with(&label) && l.contains(": done,")),
        "{err}"
    );
}
