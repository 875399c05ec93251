//! Ping URLs: which request each signal is ([`ping_request`], pure), and
//! sending it with a short timeout and a retry ([`send`]), through the
//! reqwest client OpenDAL's S3 transport already brings.
//!
//! Healthchecks.io (`healthcheck_style = "healthchecks"`, the default;
//! <https://healthchecks.io/docs/http_api/>): `POST URL/start` when a run
//! starts, `POST URL` when it succeeds, `POST URL/fail` when it fails,
//! each with a short text body (the error on failure) that Healthchecks
//! shows in the check's log. Works with `https://hc-ping.com/<uuid>`, a
//! self-hosted instance, and slug URLs (`.../<ping-key>/<slug>`).
//!
//! Uptime Kuma push monitors (`healthcheck_style = "uptime-kuma"`): `GET
//! URL?status=up&msg=OK` on success, `GET URL?status=down&msg=<error>` on
//! failure; the push URL Kuma shows (`https://kuma.example/api/push/<token>
//! ?status=up&msg=OK&ping=`) may be pasted as it is: its `status` and
//! `msg` are replaced, other parameters kept. Kuma has no start signal;
//! set the monitor's heartbeat interval to the job's schedule plus its
//! longest run.

use std::time::Duration;

use reqwest::Url;

use crate::config::{Healthcheck, HealthcheckStyle};

/// Which moment of a run a ping reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// The run starts.
    Start,
    /// The run succeeded.
    Success,
    /// The run failed.
    Failure,
}

/// One HTTP request to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingRequest {
    /// `true`: POST with `body`; `false`: GET.
    pub post: bool,
    /// The URL.
    pub url: String,
    /// The body of a POST.
    pub body: String,
}

/// Longest body sent (Healthchecks keeps the first 100 kB).
const MAX_BODY: usize = 10_000;
/// Longest Kuma `msg`.
const MAX_MSG: usize = 500;

/// The request for `signal` under `h`'s conventions, `message` as its
/// body or `msg`; `None` when the conventions have no such signal (Kuma's
/// start) or the URL does not parse (the configuration checks it).
pub fn ping_request(h: &Healthcheck, signal: Signal, message: &str) -> Option<PingRequest> {
    let mut url = Url::parse(&h.url).ok()?;
    match h.style {
        HealthcheckStyle::Healthchecks => {
            let suffix = match signal {
                Signal::Start => "/start",
                Signal::Success => "",
                Signal::Failure => "/fail",
            };
            let path = format!("{}{suffix}", url.path().trim_end_matches('/'));
            url.set_path(&path);
            Some(PingRequest {
                post: true,
                url: url.into(),
                body: message.chars().take(MAX_BODY).collect(),
            })
        }
        HealthcheckStyle::UptimeKuma => {
            let status = match signal {
                Signal::Start => return None,
                Signal::Success => "up",
                Signal::Failure => "down",
            };
            let msg = match signal {
                Signal::Success => "OK".to_string(),
                _ => one_line(message).chars().take(MAX_MSG).collect(),
            };
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != "status" && k != "msg")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.set_query(None);
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("status", status).append_pair("msg", &msg);
                for (k, v) in &kept {
                    q.append_pair(k, v);
                }
            }
            Some(PingRequest {
                post: false,
                url: url.into(),
                body: String::new(),
            })
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `https://hc-ping.com/…`: the URL's secret part (the check's uuid or
/// token) left out of messages.
pub(super) fn redacted(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or("?")),
        Err(_) => "(unparsable URL)".into(),
    }
}

/// Sends `req`: up to `attempts` tries of `timeout` each, `pause` apart
/// (a second in `notify`); a 2xx answer is success, a 4xx is final (the URL is wrong), a
/// 5xx or no answer is tried again. `Err` says what the last try got.
pub(super) fn send(
    req: &PingRequest,
    timeout: Duration,
    attempts: u32,
    pause: Duration,
) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP runtime: {e}"))?;
    // Plain HTTP needs no certificate roots: a host without
    // ca-certificates can still ping a monitor on its own network.
    let builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("backup/", env!("CARGO_PKG_VERSION")));
    let client = backup_core::build_http_client(builder, &req.url)?;
    rt.block_on(async {
        let mut last = String::new();
        for attempt in 1..=attempts.max(1) {
            let r = match req.post {
                true => client.post(&req.url).body(req.body.clone()),
                false => client.get(&req.url),
            };
            match r.send().await {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) if resp.status().is_client_error() => {
                    return Err(format!("HTTP {}", resp.status()));
                }
                Ok(resp) => last = format!("HTTP {}", resp.status()),
                Err(e) => last = error_chain(e),
            }
            if attempt < attempts {
                tokio::time::sleep(pause).await;
            }
        }
        Err(last)
    })
}

/// The error and its causes, the URL left out (reqwest names it).
fn error_chain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    if e.is_timeout() {
        text.push_str(" (timed out)");
    }
    text
}
