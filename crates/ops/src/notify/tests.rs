//! Notifications against a loopback HTTP server started in the test: the
//! requests each style makes, a failing notifier is a warning, a dead or
//! silent monitor costs seconds at most; the commands' environment.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;
use crate::config::{Healthcheck, HealthcheckStyle, Hook, Notify};
use crate::job::DiscardOutput;

/// Requests received: (request line, body).
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A server answering every request with `status` (or, with `None`,
/// never answering), on a thread; its base URL and what it saw.
fn server(status: Option<u16>) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let mut len = 0;
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            log.lock()
                .unwrap()
                .push((line.trim().to_string(), String::from_utf8(body).unwrap()));
            match status {
                Some(s) => {
                    let _ = write!(stream, "HTTP/1.1 {s} X\r\ncontent-length: 2\r\n\r\nOK");
                }
                // Hold the connection open, say nothing.
                None => std::thread::sleep(Duration::from_secs(3)),
            }
        }
    });
    (url, seen)
}

fn job(notify: Notify) -> Job {
    let text = "[repositories.r]\nlocation = \"/r\"\npassword_file = \"/p\"\n\
                [jobs.web]\nrepository = \"r\"\ndatasets = [\"p/a\"]\n";
    let mut j = crate::config::parse("t.toml".as_ref(), text).unwrap().jobs["web"].clone();
    j.notify = notify;
    j
}

fn check(url: &str, style: HealthcheckStyle) -> Notify {
    Notify {
        healthcheck: Some(Healthcheck {
            url: url.into(),
            style,
        }),
        ..Notify::default()
    }
}

const T: Limits = Limits {
    timeout: Duration::from_millis(500),
    pause: Duration::from_millis(50),
};

#[test]
fn healthchecks_start_success_and_failure_with_the_error_as_body() {
    let (url, seen) = server(Some(200));
    let j = job(check(
        &format!("{url}/ping/abc"),
        HealthcheckStyle::Healthchecks,
    ));
    assert!(started_with(&j, T).is_empty());
    let ok = Outcome {
        event: Event::Run,
        error: None,
        snapshot: Some("backup-20261102T100000Z"),
    };
    assert!(finished_with(&j, &ok, &DiscardOutput, T).is_empty());
    let failed = Outcome {
        event: Event::Run,
        error: Some("pre hook of job web failed"),
        snapshot: None,
    };
    assert!(finished_with(&j, &failed, &DiscardOutput, T).is_empty());
    let seen = seen.lock().unwrap().clone();
    let lines: Vec<&str> = seen.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        lines,
        [
            "POST /ping/abc/start HTTP/1.1",
            "POST /ping/abc HTTP/1.1",
            "POST /ping/abc/fail HTTP/1.1"
        ]
    );
    assert!(seen[1].1.contains("backup-20261102T100000Z"), "{seen:?}");
    assert_eq!(
        seen[2].1,
        "backup run web failed: pre hook of job web failed"
    );
}

#[test]
fn uptime_kuma_up_and_down_with_the_message_and_no_start() {
    let (url, seen) = server(Some(200));
    let push = format!("{url}/api/push/tok?status=up&msg=OK&ping=");
    let j = job(check(&push, HealthcheckStyle::UptimeKuma));
    assert!(started_with(&j, T).is_empty());
    let ok = Outcome {
        event: Event::Run,
        error: None,
        snapshot: None,
    };
    assert!(finished_with(&j, &ok, &DiscardOutput, T).is_empty());
    let failed = Outcome {
        event: Event::Run,
        error: Some("zfs send failed:\nno space & more"),
        snapshot: None,
    };
    assert!(finished_with(&j, &failed, &DiscardOutput, T).is_empty());
    let lines: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(l, _)| l.clone())
        .collect();
    assert_eq!(
        lines,
        [
            "GET /api/push/tok?status=up&msg=OK&ping= HTTP/1.1",
            "GET /api/push/tok?status=down&msg=backup+run+web+failed%3A+zfs+send+failed%3A+no+space+%26+more&ping= HTTP/1.1",
        ]
    );
}

/// A monitor that is down, answers 5xx, or never answers: a warning
/// (without the URL's secret), after the retry, within seconds.
#[test]
fn a_failing_ping_is_a_bounded_warning() {
    let failed = Outcome {
        event: Event::Run,
        error: Some("boom"),
        snapshot: None,
    };
    let (url, seen) = server(Some(503));
    let j = job(check(
        &format!("{url}/secret-uuid"),
        HealthcheckStyle::Healthchecks,
    ));
    let w = finished_with(&j, &failed, &DiscardOutput, T);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("HTTP 503") && !w[0].contains("secret-uuid"),
        "{w:?}"
    );
    assert_eq!(seen.lock().unwrap().len(), 2, "retried once");

    let (url, _) = server(None);
    let j = job(check(&format!("{url}/x"), HealthcheckStyle::Healthchecks));
    let t = Instant::now();
    let w = started_with(&j, T);
    assert!(w.len() == 1 && w[0].contains("timed out"), "{w:?}");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());

    // Nothing listens there any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let j = job(check(
        &format!("http://{port}/x"),
        HealthcheckStyle::Healthchecks,
    ));
    assert_eq!(started_with(&j, T).len(), 1);
}

/// The command for the outcome runs with the job, outcome and error in its
/// environment; one that fails is a warning naming it.
#[test]
fn commands_get_the_outcome_and_a_failing_one_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env");
    let hook = |cmd: String| {
        Some(Hook {
            command: cmd,
            timeout: jiff::SignedDuration::from_secs(5),
        })
    };
    let j = job(Notify {
        on_failure: hook(format!("env > '{}'", env.display())),
        on_success: hook("echo fine; exit 3".into()),
        healthcheck: None,
    });
    let failed = Outcome {
        event: Event::Run,
        error: Some("pre hook of job web failed"),
        snapshot: Some("s1"),
    };
    assert!(finished_with(&j, &failed, &DiscardOutput, T).is_empty());
    let text = std::fs::read_to_string(&env).unwrap();
    for line in [
        "BACKUP_JOB=web",
        "BACKUP_EVENT=run",
        "BACKUP_REPOSITORY=r",
        "BACKUP_OUTCOME=failure",
        "BACKUP_ERROR=pre hook of job web failed",
        "BACKUP_SNAPSHOT=s1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in {text}");
    }
    let ok = Outcome {
        event: Event::Run,
        error: None,
        snapshot: None,
    };
    let w = finished_with(&j, &ok, &DiscardOutput, T);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("on_success of job web failed: it exited with exit status: 3"),
        "{w:?}"
    );
}

/// A drill that does not pass runs `on_failure` (`BACKUP_EVENT=drill`) and
/// pings the failure; one that passes notifies nothing (its success must
/// not stand in for a run on the job's monitor).
#[test]
fn a_failed_drill_notifies_and_a_passing_one_is_silent() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("env");
    let (url, seen) = server(Some(200));
    let mut n = check(&format!("{url}/ping/d"), HealthcheckStyle::Healthchecks);
    n.on_failure = Some(Hook {
        command: format!("env > '{}'", env.display()),
        timeout: jiff::SignedDuration::from_secs(5),
    });
    n.on_success = Some(Hook {
        command: format!("touch '{}'", dir.path().join("success").display()),
        timeout: jiff::SignedDuration::from_secs(5),
    });
    let j = job(n);
    let passed = Outcome {
        event: Event::Drill,
        error: None,
        snapshot: Some("p/a@s1"),
    };
    assert!(finished_with(&j, &passed, &DiscardOutput, T).is_empty());
    assert!(seen.lock().unwrap().is_empty());
    assert!(!dir.path().join("success").exists());
    let failed = Outcome {
        event: Event::Drill,
        error: Some("drill web-x failed: probe site failed"),
        snapshot: None,
    };
    assert!(finished_with(&j, &failed, &DiscardOutput, T).is_empty());
    let text = std::fs::read_to_string(&env).unwrap();
    for line in [
        "BACKUP_EVENT=drill",
        "BACKUP_OUTCOME=failure",
        "BACKUP_ERROR=drill web-x failed: probe site failed",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in {text}");
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, "POST /ping/d/fail HTTP/1.1");
    assert_eq!(
        seen[0].1,
        "backup drill run web failed: drill web-x failed: probe site failed"
    );
}

#[test]
fn ping_requests_per_style() {
    let hc = |url: &str| Healthcheck {
        url: url.into(),
        style: HealthcheckStyle::Healthchecks,
    };
    let r = ping_request(&hc("https://hc-ping.com/u-u-i-d/"), Signal::Failure, "x").unwrap();
    assert_eq!(r.url, "https://hc-ping.com/u-u-i-d/fail");
    assert!(r.post);
    let kuma = Healthcheck {
        url: "https://k/api/push/t".into(),
        style: HealthcheckStyle::UptimeKuma,
    };
    assert_eq!(ping_request(&kuma, Signal::Start, "x"), None);
    let r = ping_request(&kuma, Signal::Success, "x").unwrap();
    assert_eq!(
        (r.post, r.url.as_str()),
        (false, "https://k/api/push/t?status=up&msg=OK")
    );
}
