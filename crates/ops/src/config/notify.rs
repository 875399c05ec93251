//! `[notify]` (every job) and `[jobs.NAME.notify]` (one job, key by key
//! over the global table): commands run when a job succeeds or fails, and
//! a ping URL in the conventions of Healthchecks.io or of an Uptime Kuma
//! push monitor. `crate::notify` runs them.

use jiff::SignedDuration;

use super::model::NotifyConf;
use super::validate::Checker;
use super::Hook;

/// A notifier command's timeout unless it sets one.
pub const DEFAULT_NOTIFY_TIMEOUT: SignedDuration = SignedDuration::from_mins(1);

/// What to tell whom about a job's runs (checked; empty: nothing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notify {
    /// Run after a successful run.
    pub on_success: Option<Hook>,
    /// Run after a failed run (the job's error in `BACKUP_ERROR`).
    pub on_failure: Option<Hook>,
    /// Pinged at the start and end of every run.
    pub healthcheck: Option<Healthcheck>,
}

impl Notify {
    /// `self`, with each key it lacks taken from `global`.
    pub fn over(self, global: &Notify) -> Notify {
        Notify {
            on_success: self.on_success.or_else(|| global.on_success.clone()),
            on_failure: self.on_failure.or_else(|| global.on_failure.clone()),
            healthcheck: self.healthcheck.or_else(|| global.healthcheck.clone()),
        }
    }
}

/// A ping URL and its conventions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healthcheck {
    /// `http://` or `https://`.
    pub url: String,
    /// Which conventions the URL follows.
    pub style: HealthcheckStyle,
}

/// The conventions of a ping URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthcheckStyle {
    /// Healthchecks.io (and self-hosted Healthchecks): `URL/start`, `URL`,
    /// `URL/fail`, the error as the body.
    Healthchecks,
    /// An Uptime Kuma push monitor: `URL?status=up&msg=OK`,
    /// `URL?status=down&msg=ERROR`; no start signal.
    UptimeKuma,
}

impl Checker<'_> {
    /// Checks a `notify` table at `key` (`notify`, `jobs.web.notify`).
    pub(super) fn notify(&mut self, key: &str, n: &Option<NotifyConf>) -> Notify {
        let Some(n) = n else {
            return Notify::default();
        };
        let command = |c: &mut Self, which: &str, h| {
            let hook = c.hook(&format!("{key}.{which}"), h)?;
            let default = h.as_ref().is_some_and(|h| h.timeout.is_none());
            Some(Hook {
                timeout: if default {
                    DEFAULT_NOTIFY_TIMEOUT
                } else {
                    hook.timeout
                },
                ..hook
            })
        };
        let on_success = command(self, "on_success", &n.on_success);
        let on_failure = command(self, "on_failure", &n.on_failure);
        let style = match &n.healthcheck_style {
            None => HealthcheckStyle::Healthchecks,
            Some(v) => {
                let k = format!("{key}.healthcheck_style");
                self.at(&k, v);
                match v.get_ref().as_str() {
                    "healthchecks" => HealthcheckStyle::Healthchecks,
                    "uptime-kuma" => HealthcheckStyle::UptimeKuma,
                    other => {
                        self.fail(
                            &k,
                            v,
                            format!("{other:?} is neither \"healthchecks\" nor \"uptime-kuma\""),
                        );
                        HealthcheckStyle::Healthchecks
                    }
                }
            }
        };
        if let (Some(v), None) = (&n.healthcheck_style, &n.healthcheck_url) {
            self.fail(
                &format!("{key}.healthcheck_style"),
                v,
                "healthcheck_style without healthcheck_url",
            );
        }
        let healthcheck = n.healthcheck_url.as_ref().and_then(|u| {
            let k = format!("{key}.healthcheck_url");
            self.at(&k, u);
            let url = u.get_ref().trim();
            let scheme = url.starts_with("http://") || url.starts_with("https://");
            let host = url.split("://").nth(1).is_some_and(|r| {
                !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace)
            });
            if !(scheme && host) {
                self.fail(&k, u, format!("{url:?} is not an http:// or https:// URL"));
                return None;
            }
            Some(Healthcheck {
                url: url.to_string(),
                style,
            })
        });
        Notify {
            on_success,
            on_failure,
            healthcheck,
        }
    }
}
