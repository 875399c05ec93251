//! Checking a repository's storage settings: limits, transfers, retries,
//! and the `[s3]` / `[sftp]` tables, which must match the location's kind.

use std::time::Duration;

use super::model::RepositoryConf;
use super::units;
use super::validate::Checker;
use backup_core::{BackendOptions, Location, S3Settings, SftpSettings};

impl Checker<'_> {
    /// The backend options of `repositories.NAME` and its secret key file.
    pub(super) fn remote(
        &mut self,
        key: &str,
        r: &RepositoryConf,
        location: Option<&toml::Spanned<String>>,
    ) -> (BackendOptions, Option<std::path::PathBuf>) {
        let mut o = BackendOptions::default();
        let kind = match location.map(|l| (l, Location::parse(l.get_ref()))) {
            None => None,
            Some((_, Ok(l))) => Some(l),
            Some((location, Err(e))) => {
                let reason = match e {
                    backup_core::Error::Invalid { reason, .. } => reason,
                    other => other.to_string(),
                };
                self.fail(&format!("{key}.location"), location, reason);
                None
            }
        };
        for (field, value, slot) in [
            ("limit_upload", &r.limit_upload, &mut o.limit_upload),
            ("limit_download", &r.limit_download, &mut o.limit_download),
        ] {
            if let Some(v) = value {
                let k = format!("{key}.{field}");
                self.at(&k, v);
                *slot = units::rate(v.get_ref())
                    .map_err(|m| self.fail(&k, v, m))
                    .ok();
            }
        }
        if let Some(t) = &r.transfers {
            let k = format!("{key}.transfers");
            self.at(&k, t);
            match usize::try_from(*t.get_ref()) {
                Ok(n @ 1..=64) => o.transfers = Some(n),
                _ => self.fail(&k, t, "transfers must be from 1 to 64"),
            }
        }
        if let Some(t) = &r.retries {
            let k = format!("{key}.retries");
            self.at(&k, t);
            match u32::try_from(*t.get_ref()) {
                Ok(n @ 1..=100) => o.retry.attempts = n,
                _ => self.fail(&k, t, "retries (attempts in all) must be from 1 to 100"),
            }
        }
        let mut secret_file = None;
        if let Some(s3) = &r.s3 {
            let k = format!("{key}.s3");
            self.at(&k, s3);
            if kind
                .as_ref()
                .is_some_and(|l| !matches!(l, Location::S3 { .. }))
            {
                self.fail(&k, s3, "an [s3] table, but the location is not s3://");
            }
            let s3c = s3.get_ref();
            let text = |v: &Option<toml::Spanned<String>>| v.as_ref().map(|v| v.get_ref().clone());
            if let Some(e) = &s3c.endpoint {
                self.at(&format!("{k}.endpoint"), e);
                let t = e.get_ref();
                if !(t.starts_with("http://") || t.starts_with("https://")) {
                    self.fail(
                        &format!("{k}.endpoint"),
                        e,
                        format!("{t:?} must start with http:// or https://"),
                    );
                }
            }
            if let (Some(inline), Some(_)) = (&s3c.secret_access_key, &s3c.secret_access_key_file) {
                self.fail(
                    &format!("{k}.secret_access_key"),
                    inline,
                    "set only one of secret_access_key and secret_access_key_file",
                );
            }
            secret_file = s3c
                .secret_access_key_file
                .as_ref()
                .map(|f| f.get_ref().clone());
            o.s3 = S3Settings {
                endpoint: text(&s3c.endpoint),
                region: text(&s3c.region),
                access_key_id: text(&s3c.access_key_id),
                secret_access_key: text(&s3c.secret_access_key),
                virtual_host_style: s3c.virtual_host_style.unwrap_or(false),
                timeout: self.timeout(&k, &s3c.timeout),
            };
        }
        if let Some(sftp) = &r.sftp {
            let k = format!("{key}.sftp");
            self.at(&k, sftp);
            if kind
                .as_ref()
                .is_some_and(|l| !matches!(l, Location::Sftp(_)))
            {
                self.fail(&k, sftp, "an [sftp] table, but the location is not sftp://");
            }
            let c = sftp.get_ref();
            let timeout = self.timeout(&k, &c.timeout);
            for opt in &c.ssh_options {
                if !opt.get_ref().contains('=') && !opt.get_ref().contains(' ') {
                    self.fail(
                        &format!("{k}.ssh_options"),
                        opt,
                        format!("{:?} is not an ssh option (Name=value)", opt.get_ref()),
                    );
                }
            }
            o.sftp = SftpSettings {
                identity_file: c.identity_file.as_ref().map(|p| p.get_ref().clone()),
                known_hosts_file: c.known_hosts_file.as_ref().map(|p| p.get_ref().clone()),
                ssh_command: c.ssh_command.as_ref().map(|p| p.get_ref().clone()),
                ssh_options: c.ssh_options.iter().map(|p| p.get_ref().clone()).collect(),
                timeout,
            };
        }
        (o, secret_file)
    }

    /// `KEY.timeout`: a duration of at least 4 s.
    fn timeout(&mut self, key: &str, t: &Option<toml::Spanned<String>>) -> Option<Duration> {
        let t = t.as_ref()?;
        let tk = format!("{key}.timeout");
        self.at(&tk, t);
        match units::duration(t.get_ref()) {
            Ok(d) if d.as_secs() >= 4 => Some(Duration::from_secs(d.as_secs() as u64)),
            Ok(_) => {
                self.fail(&tk, t, "the timeout must be at least 4s");
                None
            }
            Err(m) => {
                self.fail(&tk, t, m);
                None
            }
        }
    }
}
