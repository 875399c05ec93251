//! From TOML text to a checked [`Config`], collecting every mistake: the
//! schema walk first (unknown keys, wrong types, missing keys; see
//! [`super::schema`]), then serde on the text without the entries it
//! refused, then the checks of each value.

use std::collections::HashMap;
use std::path::Path;

use backup_zfs::DatasetName;
use jiff::SignedDuration;
use toml::Spanned;

use crate::retention::Rules;

use super::model::{ConfigFile, DrillConf, FullEveryConf, HookConf, RetentionConf};
use super::schema;
use super::{
    units, Config, ConfigError, DrillPick, DrillSpec, FullEvery, Hook, Job, PasswordSource, Probe,
    RepositorySpec, Scratch, DEFAULT_SAMPLE_FILES,
};

const DEFAULT_HOOK_TIMEOUT: SignedDuration = SignedDuration::from_mins(5);

/// Turns byte offsets into lines and columns.
pub(super) struct Locator<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
}

impl Locator<'_> {
    fn place(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, column)
    }

    pub(super) fn error(&self, offset: Option<usize>, key: &str, message: String) -> ConfigError {
        let (line, column) = offset.map_or((0, 0), |o| self.place(o));
        ConfigError::new(self.path, line, column, key, message)
    }

    /// A TOML syntax error (or, should the schema miss something, a
    /// structure error from serde): placed by its span; the key is the text
    /// at the span, under the nearest `[table]` header above it.
    fn toml_error(&self, span: Option<std::ops::Range<usize>>, message: &str) -> ConfigError {
        let start = span.as_ref().map(|s| s.start);
        let key = span.map_or(String::new(), |s| {
            let word = self
                .text
                .get(s.clone())
                .unwrap_or("")
                .trim()
                .trim_matches('"');
            let header = self
                .text
                .get(..s.start)
                .unwrap_or("")
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
        self.error(start, &key, message.trim().to_string())
    }
}

pub(super) struct Checker<'a> {
    loc: Locator<'a>,
    errors: Vec<ConfigError>,
    places: HashMap<String, (usize, usize)>,
    /// Where each table begins, from the schema walk.
    tables: HashMap<String, usize>,
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

    /// An error about a whole table, placed where it begins.
    fn fail_table(&mut self, key: &str, message: impl Into<String>) {
        let at = self.tables.get(key).copied();
        let e = self.loc.error(at, key, message.into());
        self.errors.push(e);
    }

    fn name_ok(&mut self, what: &str, key: &str, name: &str) {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            let e = self.loc.error(
                self.tables.get(key).copied(),
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
        let timeout = match &h.timeout {
            Some(t) => self.duration(&format!("{key}.timeout"), t),
            None => Some(DEFAULT_HOOK_TIMEOUT),
        };
        // Missing: the schema walk said so.
        let command = h.command.as_ref()?;
        self.at(&format!("{key}.command"), command);
        if command.get_ref().trim().is_empty() {
            self.fail(&format!("{key}.command"), command, "the command is empty");
        }
        let timeout = timeout?;
        Some(Hook {
            command: command.get_ref().clone(),
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
        let sample_files = match &d.sample_files {
            None => DEFAULT_SAMPLE_FILES,
            Some(v) => {
                let k = format!("{key}.sample_files");
                self.at(&k, v);
                match usize::try_from(*v.get_ref()) {
                    Ok(n @ 0..=10_000) => n,
                    _ => {
                        self.fail(&k, v, "sample_files must be from 0 to 10000");
                        DEFAULT_SAMPLE_FILES
                    }
                }
            }
        };
        let mut probes = Vec::new();
        for (i, p) in d.probes.iter().enumerate() {
            let k = format!("{key}.probes[{i}]");
            // Missing: the schema walk said so.
            let (Some(name), Some(command)) = (&p.name, &p.command) else {
                continue;
            };
            self.at(&format!("{k}.command"), command);
            self.at(&format!("{k}.name"), name);
            if command.get_ref().trim().is_empty() {
                self.fail(&format!("{k}.command"), command, "the command is empty");
            }
            if probes.iter().any(|q: &Probe| &q.name == name.get_ref()) {
                self.fail(
                    &format!("{k}.name"),
                    name,
                    format!("two probes are named {:?}", name.get_ref()),
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
                name: name.get_ref().clone(),
                command: command.get_ref().clone(),
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
            sample_files,
        }
    }

    fn dataset(&mut self, key: &str, v: &Spanned<String>) -> Option<DatasetName> {
        self.at(key, v);
        DatasetName::parse(v.get_ref())
            .map_err(|e| self.fail(key, v, e.to_string()))
            .ok()
    }
}

/// The configuration as far as it could be read (`None` if the text is
/// not TOML), and every mistake, in file order.
pub(super) fn parse(path: &Path, text: &str) -> (Option<Config>, Vec<ConfigError>) {
    let loc = Locator { path, text };
    let doc = match toml_edit::ImDocument::parse(text) {
        Ok(doc) => doc,
        Err(e) => return (None, vec![loc.toml_error(e.span(), e.message())]),
    };
    let walk = schema::walk(&loc, &doc);
    let mut errors = walk.errors;
    let file: ConfigFile = match toml::from_str(&schema::blank(text, &walk.blanks)) {
        Ok(file) => file,
        Err(e) => {
            // Only if the schema and the model disagree (a test pins them).
            errors.push(loc.toml_error(e.span(), e.message()));
            errors.sort_by_key(|e| (e.line, e.column));
            return (None, errors);
        }
    };
    let mut c = Checker {
        loc,
        errors,
        places: HashMap::new(),
        tables: walk.tables,
    };

    let mut repositories = std::collections::BTreeMap::new();
    for (name, r) in &file.repositories {
        let key = format!("repositories.{name}");
        c.name_ok("repository", &key, name);
        if let Some(location) = &r.location {
            c.at(&format!("{key}.location"), location);
            if location.get_ref().trim().is_empty() {
                c.fail(
                    &format!("{key}.location"),
                    location,
                    "the location is empty",
                );
            }
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
            c.fail_table(&key, message);
        }
        let (backend, s3_secret_file) = c.remote(&key, r, r.location.as_ref());
        // Without a location (the schema walk said so), checked but left out.
        if let (Some(password), Some(location)) = (sources.into_iter().next(), &r.location) {
            repositories.insert(
                name.clone(),
                RepositorySpec {
                    name: name.clone(),
                    location: location.get_ref().clone(),
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
        if let Some(repository) = &j.repository {
            c.at(&format!("{key}.repository"), repository);
            if !file.repositories.contains_key(repository.get_ref()) {
                let known: Vec<_> = file.repositories.keys().map(String::as_str).collect();
                let e = c.loc.error(
                    Some(repository.span().start),
                    &format!("{key}.repository"),
                    format!(
                        "no repository named {:?} (defined: {})",
                        repository.get_ref(),
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                );
                let e = match super::schema::suggestion(repository.get_ref(), known.into_iter()) {
                    Some(s) => e.with_hint(format!("did you mean {s:?}?")),
                    None => e,
                };
                c.errors.push(e);
            }
        }
        let no_datasets = Vec::new();
        let listed = match &j.datasets {
            Some(list) => {
                c.at(&format!("{key}.datasets"), list);
                if list.get_ref().is_empty() {
                    c.fail(&format!("{key}.datasets"), list, "the list is empty");
                }
                list.get_ref()
            }
            None => &no_datasets,
        };
        let mut datasets: Vec<DatasetName> = Vec::new();
        for (i, d) in listed.iter().enumerate() {
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
                repository: j
                    .repository
                    .as_ref()
                    .map(|r| r.get_ref().clone())
                    .unwrap_or_default(),
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

    c.errors.sort_by_key(|e| (e.line, e.column));
    let config = Config {
        path: path.to_path_buf(),
        repositories,
        jobs,
        state_dir: file.state_dir,
        metrics_file: file.metrics_file,
        places: c.places,
    };
    (Some(config), c.errors)
}
