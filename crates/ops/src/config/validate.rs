//! From TOML text to a checked [`Config`], collecting every mistake.

use std::collections::HashMap;
use std::path::Path;

use backup_zfs::DatasetName;
use jiff::SignedDuration;
use toml::Spanned;

use crate::retention::Rules;

use super::model::{ConfigFile, DrillConf, FullEveryConf, HookConf, RetentionConf};
use super::{
    units, Config, ConfigError, DrillPick, DrillSpec, FullEvery, Hook, Job, PasswordSource, Probe,
    RepositorySpec, Scratch,
};

const DEFAULT_HOOK_TIMEOUT: SignedDuration = SignedDuration::from_mins(5);

/// Turns byte offsets into lines and columns.
struct Locator<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Locator<'_> {
    fn place(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, column)
    }

    fn error(&self, offset: Option<usize>, key: &str, message: String) -> ConfigError {
        let (line, column) = offset.map_or((0, 0), |o| self.place(o));
        ConfigError {
            file: self.path.to_path_buf(),
            line,
            column,
            key: key.to_string(),
            message,
        }
    }

    /// A TOML or structure error: placed by its span; the key is the text
    /// at the span, under the nearest `[table]` header above it.
    fn toml_error(&self, e: &toml::de::Error) -> ConfigError {
        let start = e.span().map(|s| s.start);
        let key = e.span().map_or(String::new(), |s| {
            let word = self.text[s.clone()].trim().trim_matches('"');
            let header = self.text[..s.start]
                .lines()
                .rev()
                .map(str::trim)
                .find(|l| l.starts_with('['))
                .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
            let plain = !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_alphanumeric() || "_-.".contains(c));
            match (header, plain) {
                (Some(h), true) => format!("{h}.{word}"),
                (None, true) => word.to_string(),
                (Some(h), false) => h,
                (None, false) => String::new(),
            }
        });
        self.error(start, &key, e.message().trim().to_string())
    }
}

pub(super) struct Checker<'a> {
    loc: Locator<'a>,
    errors: Vec<ConfigError>,
    places: HashMap<String, (usize, usize)>,
}

impl Checker<'_> {
    pub(super) fn at<T>(&mut self, key: &str, v: &Spanned<T>) {
        self.places
            .insert(key.to_string(), self.loc.place(v.span().start));
    }

    pub(super) fn fail<T>(&mut self, key: &str, v: &Spanned<T>, message: impl Into<String>) {
        let e = self.loc.error(Some(v.span().start), key, message.into());
        self.errors.push(e);
    }

    fn name_ok(&mut self, what: &str, key: &str, name: &str) {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            let e = self.loc.error(
                None,
                key,
                format!("{what} name {name:?} may only use letters, digits, '-' and '_'"),
            );
            self.errors.push(e);
        }
    }

    fn duration(&mut self, key: &str, v: &Spanned<String>) -> Option<SignedDuration> {
        self.at(key, v);
        units::duration(v.get_ref())
            .map_err(|m| self.fail(key, v, m))
            .ok()
    }

    fn count(&mut self, key: &str, v: &Option<Spanned<i64>>) -> Option<u32> {
        let v = v.as_ref()?;
        self.at(key, v);
        match u32::try_from(*v.get_ref()) {
            Ok(n) => Some(n),
            Err(_) => {
                self.fail(
                    key,
                    v,
                    format!("{} is not a count (0 or more)", v.get_ref()),
                );
                None
            }
        }
    }

    fn retention(&mut self, key: &str, r: &Option<RetentionConf>) -> Rules {
        let Some(r) = r else {
            return Rules::default();
        };
        Rules {
            keep_last: self.count(&format!("{key}.keep_last"), &r.keep_last),
            keep_hourly: self.count(&format!("{key}.keep_hourly"), &r.keep_hourly),
            keep_daily: self.count(&format!("{key}.keep_daily"), &r.keep_daily),
            keep_weekly: self.count(&format!("{key}.keep_weekly"), &r.keep_weekly),
            keep_monthly: self.count(&format!("{key}.keep_monthly"), &r.keep_monthly),
            keep_yearly: self.count(&format!("{key}.keep_yearly"), &r.keep_yearly),
            keep_within: r.keep_within.as_ref().and_then(|w| {
                let k = format!("{key}.keep_within");
                self.at(&k, w);
                units::span(w.get_ref())
                    .map_err(|m| self.fail(&k, w, m))
                    .ok()
            }),
        }
    }

    pub(super) fn hook(&mut self, key: &str, h: &Option<HookConf>) -> Option<Hook> {
        let h = h.as_ref()?;
        self.at(&format!("{key}.command"), &h.command);
        if h.command.get_ref().trim().is_empty() {
            self.fail(
                &format!("{key}.command"),
                &h.command,
                "the command is empty",
            );
        }
        let timeout = match &h.timeout {
            Some(t) => self.duration(&format!("{key}.timeout"), t)?,
            None => DEFAULT_HOOK_TIMEOUT,
        };
        Some(Hook {
            command: h.command.get_ref().clone(),
            timeout,
        })
    }

    fn drill(&mut self, key: &str, d: &DrillConf, job_datasets: &[DatasetName]) -> DrillSpec {
        let schedule = match &d.schedule {
            Some(s) => {
                let k = format!("{key}.schedule");
                self.at(&k, s);
                if let Err(e) = crate::schedule::Schedule::parse(s.get_ref()) {
                    self.fail(&k, s, e.to_string());
                }
                s.get_ref().clone()
            }
            None => super::DEFAULT_DRILL_SCHEDULE.to_string(),
        };
        let parent = d
            .scratch_parent
            .as_ref()
            .and_then(|p| self.dataset(&format!("{key}.scratch_parent"), p));
        if let (Some(_), Some(dir)) = (&d.scratch_parent, &d.scratch_dir) {
            self.fail(
                &format!("{key}.scratch_dir"),
                dir,
                "set scratch_parent (a dataset) or scratch_dir (a throwaway pool), not both",
            );
        }
        if let Some(p) = &parent {
            if let Some(ds) = job_datasets.iter().find(|ds| ds.contains(p)) {
                let v = d.scratch_parent.as_ref().expect("parsed from it");
                self.fail(
                    &format!("{key}.scratch_parent"),
                    v,
                    format!("{p} is inside {ds}, which the job backs up"),
                );
            }
        }
        let scratch = match parent {
            Some(p) => Scratch::Under(p),
            None => Scratch::PoolIn(d.scratch_dir.as_ref().map(|dir| {
                self.at(&format!("{key}.scratch_dir"), dir);
                dir.get_ref().clone()
            })),
        };
        let mut datasets = Vec::new();
        for (i, v) in d.datasets.iter().flatten().enumerate() {
            let k = format!("{key}.datasets[{i}]");
            if let Some(ds) = self.dataset(&k, v) {
                if !job_datasets.iter().any(|j| j.contains(&ds)) {
                    self.fail(
                        &k,
                        v,
                        format!("{ds} is not one of the job's datasets or below one"),
                    );
                }
                datasets.push(ds);
            }
        }
        let pick = match &d.snapshot {
            None => DrillPick::Latest,
            Some(v) => {
                let k = format!("{key}.snapshot");
                self.at(&k, v);
                match v.get_ref().as_str() {
                    "latest" => DrillPick::Latest,
                    "random" => DrillPick::Random,
                    other => {
                        self.fail(
                            &k,
                            v,
                            format!("{other:?} is neither \"latest\" nor \"random\""),
                        );
                        DrillPick::Latest
                    }
                }
            }
        };
        let rto = d
            .rto
            .as_ref()
            .and_then(|v| self.duration(&format!("{key}.rto"), v));
        let rpo = d
            .rpo
            .as_ref()
            .and_then(|v| self.duration(&format!("{key}.rpo"), v));
        let mut probes = Vec::new();
        for (i, p) in d.probes.iter().enumerate() {
            let k = format!("{key}.probes[{i}]");
            self.at(&format!("{k}.command"), &p.command);
            self.at(&format!("{k}.name"), &p.name);
            if p.command.get_ref().trim().is_empty() {
                self.fail(&format!("{k}.command"), &p.command, "the command is empty");
            }
            if probes.iter().any(|q: &Probe| &q.name == p.name.get_ref()) {
                self.fail(
                    &format!("{k}.name"),
                    &p.name,
                    format!("two probes are named {:?}", p.name.get_ref()),
                );
            }
            let dataset = p.dataset.as_ref().and_then(|v| {
                let dk = format!("{k}.dataset");
                let ds = self.dataset(&dk, v)?;
                if !job_datasets.iter().any(|j| j.contains(&ds)) {
                    self.fail(
                        &dk,
                        v,
                        format!("{ds} is not one of the job's datasets or below one"),
                    );
                }
                Some(ds)
            });
            let timeout = match &p.timeout {
                Some(t) => self
                    .duration(&format!("{k}.timeout"), t)
                    .unwrap_or(DEFAULT_HOOK_TIMEOUT),
                None => DEFAULT_HOOK_TIMEOUT,
            };
            probes.push(Probe {
                name: p.name.get_ref().clone(),
                command: p.command.get_ref().clone(),
                dataset,
                timeout,
            });
        }
        DrillSpec {
            schedule,
            scratch,
            datasets,
            pick,
            rto,
            rpo,
            probes,
        }
    }

    fn dataset(&mut self, key: &str, v: &Spanned<String>) -> Option<DatasetName> {
        self.at(key, v);
        DatasetName::parse(v.get_ref())
            .map_err(|e| self.fail(key, v, e.to_string()))
            .ok()
    }
}

pub(super) fn parse(path: &Path, text: &str) -> Result<Config, Vec<ConfigError>> {
    let loc = Locator { path, text };
    let file: ConfigFile = toml::from_str(text).map_err(|e| vec![loc.toml_error(&e)])?;
    let mut c = Checker {
        loc,
        errors: Vec::new(),
        places: HashMap::new(),
    };

    let mut repositories = std::collections::BTreeMap::new();
    for (name, r) in &file.repositories {
        let key = format!("repositories.{name}");
        c.name_ok("repository", &key, name);
        c.at(&format!("{key}.location"), &r.location);
        if r.location.get_ref().trim().is_empty() {
            c.fail(
                &format!("{key}.location"),
                &r.location,
                "the location is empty",
            );
        }
        let mut sources = Vec::new();
        if let Some(f) = &r.password_file {
            c.at(&format!("{key}.password_file"), f);
            sources.push(PasswordSource::File(f.get_ref().clone()));
        }
        if let Some(cmd) = &r.password_command {
            c.at(&format!("{key}.password_command"), cmd);
            sources.push(PasswordSource::Command(cmd.get_ref().clone()));
        }
        if let Some(cred) = &r.password_credential {
            c.at(&format!("{key}.password_credential"), cred);
            let n = cred.get_ref();
            if n.is_empty() || n.contains('/') {
                c.fail(
                    &format!("{key}.password_credential"),
                    cred,
                    format!("{n:?} is not a credential name"),
                );
            }
            sources.push(PasswordSource::Credential(n.clone()));
        }
        if sources.len() != 1 {
            let message = if sources.is_empty() {
                "no passphrase source: set one of password_file, password_command, password_credential"
            } else {
                "several passphrase sources: set only one of password_file, password_command, password_credential"
            };
            c.fail(&key, &r.location, message);
        }
        let (backend, s3_secret_file) = c.remote(&key, r);
        if let Some(password) = sources.into_iter().next() {
            repositories.insert(
                name.clone(),
                RepositorySpec {
                    name: name.clone(),
                    location: r.location.get_ref().clone(),
                    password,
                    backend,
                    s3_secret_file,
                },
            );
        }
    }

    let notify = c.notify("notify", &file.notify);
    let mut jobs = std::collections::BTreeMap::new();
    for (name, j) in &file.jobs {
        let key = format!("jobs.{name}");
        c.name_ok("job", &key, name);
        c.at(&format!("{key}.repository"), &j.repository);
        if !file.repositories.contains_key(j.repository.get_ref()) {
            let known: Vec<_> = file.repositories.keys().map(String::as_str).collect();
            c.fail(
                &format!("{key}.repository"),
                &j.repository,
                format!(
                    "no repository named {:?} (defined: {})",
                    j.repository.get_ref(),
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            );
        }
        c.at(&format!("{key}.datasets"), &j.datasets);
        if j.datasets.get_ref().is_empty() {
            c.fail(&format!("{key}.datasets"), &j.datasets, "the list is empty");
        }
        let mut datasets: Vec<DatasetName> = Vec::new();
        for (i, d) in j.datasets.get_ref().iter().enumerate() {
            let k = format!("{key}.datasets[{i}]");
            if let Some(ds) = c.dataset(&k, d) {
                if datasets.contains(&ds) {
                    c.fail(&k, d, format!("{ds} is listed twice"));
                }
                datasets.push(ds);
            }
        }
        let mut exclude = Vec::new();
        for (i, d) in j.exclude.iter().enumerate() {
            let k = format!("{key}.exclude[{i}]");
            if let Some(ds) = c.dataset(&k, d) {
                if !j.recursive {
                    c.fail(&k, d, "exclude needs recursive = true");
                } else if !datasets.iter().any(|p| p != &ds && p.contains(&ds)) {
                    c.fail(
                        &k,
                        d,
                        format!("{ds} is not below any of the job's datasets"),
                    );
                }
                exclude.push(ds);
            }
        }
        let prefix = match &j.prefix {
            Some(p) => {
                let k = format!("{key}.prefix");
                c.at(&k, p);
                let s = p.get_ref();
                let ok = !s.is_empty()
                    && s.len() <= 64
                    && s.chars()
                        .all(|ch| ch.is_ascii_alphanumeric() || "_-.:".contains(ch));
                if !ok {
                    c.fail(&k, p, format!("{s:?} is not a snapshot name prefix (letters, digits, '_', '-', '.', ':'; at most 64)"));
                }
                s.clone()
            }
            None => "backup".to_string(),
        };
        let schedule = j.schedule.as_ref().map(|s| {
            let k = format!("{key}.schedule");
            c.at(&k, s);
            if let Err(e) = crate::schedule::Schedule::parse(s.get_ref()) {
                c.fail(&k, s, e.to_string());
            }
            s.get_ref().clone()
        });
        let full_every = j.full_every.as_ref().and_then(|f| {
            let k = format!("{key}.full_every");
            c.at(&k, f);
            match f.get_ref() {
                FullEveryConf::Count(n) => match u32::try_from(*n) {
                    Ok(n) if n > 0 => Some(FullEvery::Incrementals(n)),
                    _ => {
                        c.fail(
                            &k,
                            f,
                            format!("{n} is not a number of incrementals (1 or more)"),
                        );
                        None
                    }
                },
                FullEveryConf::Duration(d) => match units::duration(d) {
                    Ok(d) => Some(FullEvery::Age(d)),
                    Err(m) => {
                        c.fail(&k, f, m);
                        None
                    }
                },
            }
        });
        let keep_source = c.retention(&format!("{key}.keep_source"), &j.keep_source);
        let keep_repository = c.retention(&format!("{key}.keep_repository"), &j.keep_repository);
        let pre_hook = c.hook(&format!("{key}.pre_hook"), &j.pre_hook);
        let post_hook = c.hook(&format!("{key}.post_hook"), &j.post_hook);
        let limit_upload = j.limit_upload.as_ref().and_then(|l| {
            let k = format!("{key}.limit_upload");
            c.at(&k, l);
            units::rate(l.get_ref()).map_err(|m| c.fail(&k, l, m)).ok()
        });
        let prune_every = j.prune_every.as_ref().and_then(|p| {
            let k = format!("{key}.prune_every");
            c.at(&k, p);
            units::duration(p.get_ref())
                .map_err(|m| c.fail(&k, p, m))
                .ok()
        });
        let check_every = j.check_every.as_ref().and_then(|p| {
            let k = format!("{key}.check_every");
            c.at(&k, p);
            units::duration(p.get_ref())
                .map_err(|m| c.fail(&k, p, m))
                .ok()
        });
        let check_read_data = j.check_read_data.as_ref().and_then(|p| {
            let k = format!("{key}.check_read_data");
            c.at(&k, p);
            units::portion(p.get_ref())
                .map_err(|m| c.fail(&k, p, m))
                .ok()
        });
        let drill = j
            .drill
            .as_ref()
            .map(|d| c.drill(&format!("{key}.drill"), d, &datasets));
        let job_notify = c.notify(&format!("{key}.notify"), &j.notify).over(&notify);
        jobs.insert(
            name.clone(),
            Job {
                name: name.clone(),
                repository: j.repository.get_ref().clone(),
                datasets,
                recursive: j.recursive,
                exclude,
                prefix,
                schedule,
                full_every,
                keep_source,
                keep_repository,
                pre_hook,
                post_hook,
                limit_upload,
                prune_every,
                check_every,
                check_read_data,
                file_manifest: j.file_manifest.unwrap_or(true),
                drill,
                notify: job_notify,
            },
        );
    }

    if !c.errors.is_empty() {
        c.errors.sort_by_key(|e| (e.line, e.column));
        return Err(c.errors);
    }
    Ok(Config {
        path: path.to_path_buf(),
        repositories,
        jobs,
        state_dir: file.state_dir,
        metrics_file: file.metrics_file,
        places: c.places,
    })
}
