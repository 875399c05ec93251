//! The keys each table of the configuration file may have, and what kind of
//! value each takes; and the walk that checks a parsed document against
//! them before serde sees it.
//!
//! serde stops at the first unknown key or wrong type. The walk instead
//! reports every one, each at its own place with its full key path (and a
//! "did you mean" for a misspelt key), and blanks the offending entries out
//! of the text (spaces of the same length, so every other value keeps its
//! place) so that serde then reads the rest and every value check still
//! runs. The model's field lists are pinned to these tables by a test.

use std::collections::HashMap;
use std::ops::Range;

use toml_edit::{Item, Key, TableLike, Value};

use super::{ConfigError, Severity};

/// What a key takes.
pub(super) enum Kind {
    /// A string.
    Str,
    /// An integer.
    Int,
    /// `true` or `false`.
    Bool,
    /// A string or an integer (`full_every`).
    StrOrInt,
    /// A list of strings.
    StrList,
    /// A table with these keys.
    Table(&'static [Field]),
    /// A table of named tables with these keys (`[jobs.NAME]`).
    Named(&'static [Field]),
    /// A list of tables with these keys (`[[...probes]]`).
    Tables(&'static [Field]),
}

impl Kind {
    fn describe(&self) -> &'static str {
        match self {
            Kind::Str => "a string",
            Kind::Int => "an integer",
            Kind::Bool => "true or false",
            Kind::StrOrInt => "a string or an integer",
            Kind::StrList => "a list of strings",
            Kind::Table(_) | Kind::Named(_) => "a table",
            Kind::Tables(_) => "a list of tables",
        }
    }
}

/// One key of a table.
pub(super) struct Field {
    pub(super) name: &'static str,
    pub(super) kind: Kind,
    pub(super) required: bool,
}

const fn opt(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
    }
}

const fn req(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
    }
}

use Kind::{Bool, Int, Named, Str, StrList, StrOrInt, Table, Tables};

pub(super) const S3: &[Field] = &[
    opt("endpoint", Str),
    opt("region", Str),
    opt("access_key_id", Str),
    opt("secret_access_key", Str),
    opt("secret_access_key_file", Str),
    opt("virtual_host_style", Bool),
    opt("timeout", Str),
];

pub(super) const SFTP: &[Field] = &[
    opt("identity_file", Str),
    opt("known_hosts_file", Str),
    opt("ssh_command", Str),
    opt("ssh_options", StrList),
    opt("timeout", Str),
];

pub(super) const REPOSITORY: &[Field] = &[
    req("location", Str),
    opt("password_file", Str),
    opt("password_command", Str),
    opt("password_credential", Str),
    opt("limit_upload", Str),
    opt("limit_download", Str),
    opt("transfers", Int),
    opt("retries", Int),
    opt("s3", Table(S3)),
    opt("sftp", Table(SFTP)),
];

pub(super) const RETENTION: &[Field] = &[
    opt("keep_last", Int),
    opt("keep_hourly", Int),
    opt("keep_daily", Int),
    opt("keep_weekly", Int),
    opt("keep_monthly", Int),
    opt("keep_yearly", Int),
    opt("keep_within", Str),
];

pub(super) const HOOK: &[Field] = &[req("command", Str), opt("timeout", Str)];

pub(super) const PROBE: &[Field] = &[
    req("name", Str),
    req("command", Str),
    opt("dataset", Str),
    opt("timeout", Str),
];

pub(super) const DRILL: &[Field] = &[
    opt("schedule", Str),
    opt("scratch_parent", Str),
    opt("scratch_dir", Str),
    opt("datasets", StrList),
    opt("snapshot", Str),
    opt("rto", Str),
    opt("rpo", Str),
    opt("probes", Tables(PROBE)),
    opt("sample_files", Int),
];

pub(super) const NOTIFY: &[Field] = &[
    opt("on_success", Table(HOOK)),
    opt("on_failure", Table(HOOK)),
    opt("healthcheck_url", Str),
    opt("healthcheck_style", Str),
];

pub(super) const JOB: &[Field] = &[
    req("repository", Str),
    req("datasets", StrList),
    opt("recursive", Bool),
    opt("exclude", StrList),
    opt("prefix", Str),
    opt("schedule", Str),
    opt("full_every", StrOrInt),
    opt("keep_source", Table(RETENTION)),
    opt("keep_repository", Table(RETENTION)),
    opt("pre_hook", Table(HOOK)),
    opt("post_hook", Table(HOOK)),
    opt("limit_upload", Str),
    opt("prune_every", Str),
    opt("check_every", Str),
    opt("check_read_data", Str),
    opt("file_manifest", Bool),
    opt("drill", Table(DRILL)),
    opt("notify", Table(NOTIFY)),
];

pub(super) const FILE: &[Field] = &[
    opt("repositories", Named(REPOSITORY)),
    opt("jobs", Named(JOB)),
    opt("state_dir", Str),
    opt("metrics_file", Str),
    opt("notify", Table(NOTIFY)),
];

/// What the walk found.
pub(super) struct Walk {
    /// Unknown keys, wrong types, missing keys.
    pub(super) errors: Vec<ConfigError>,
    /// Byte ranges to blank before serde reads the text.
    pub(super) blanks: Vec<Range<usize>>,
    /// Where each table starts (its header, or its first key), by path.
    pub(super) tables: HashMap<String, usize>,
}

/// Checks `doc` (parsed from `text`) against [`FILE`].
pub(super) fn walk(
    locator: &super::validate::Locator<'_>,
    doc: &toml_edit::ImDocument<&str>,
) -> Walk {
    let mut w = Walker {
        loc: locator,
        text: locator.text,
        out: Walk {
            errors: Vec::new(),
            blanks: Vec::new(),
            tables: HashMap::new(),
        },
    };
    w.table(FILE, doc.as_table(), "", false, Some(0));
    w.out
}

/// `text` with `ranges` replaced by spaces (line ends kept).
pub(super) fn blank(text: &str, ranges: &[Range<usize>]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for r in ranges {
        for b in &mut bytes[r.start.min(text.len())..r.end.min(text.len())] {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        }
    }
    // Ranges start and end on token boundaries, so a multi-byte character
    // is blanked whole (each of its bytes a space): still valid UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

struct Walker<'a> {
    loc: &'a super::validate::Locator<'a>,
    text: &'a str,
    out: Walk,
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// The Levenshtein distance between two keys.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The known key closest to `name`, if it is close enough to be a typo.
pub(super) fn suggestion<'f>(name: &str, known: impl Iterator<Item = &'f str>) -> Option<&'f str> {
    let limit = (name.chars().count() / 3).max(2);
    known
        .map(|k| (distance(name, k), k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

impl Walker<'_> {
    fn error(&mut self, at: Option<usize>, key: &str, message: String, hint: Option<String>) {
        let mut e = self.loc.error(at, key, message);
        e.hint = hint;
        e.severity = Severity::Error;
        self.out.errors.push(e);
    }

    /// Checks the entries of a table at `path`; `start` is where it begins.
    fn table(
        &mut self,
        fields: &[Field],
        t: &dyn TableLike,
        path: &str,
        inline: bool,
        start: Option<usize>,
    ) {
        let start = start.or_else(|| first_offset(t));
        if let Some(s) = start {
            self.out.tables.entry(path.to_string()).or_insert(s);
        }
        for (name, _) in t.iter() {
            let Some((key, item)) = t.get_key_value(name) else {
                continue;
            };
            let full = join(path, name);
            match fields.iter().find(|f| f.name == name) {
                Some(f) => self.check(&f.kind, key, item, &full, inline),
                None => {
                    let at = key.span().map(|s| s.start).or_else(|| item_start(item));
                    let hint = suggestion(name, fields.iter().map(|f| f.name))
                        .map(|s| format!("did you mean `{s}`?"))
                        .or_else(|| {
                            let known: Vec<&str> = fields.iter().map(|f| f.name).collect();
                            Some(format!("known keys here: {}", known.join(", ")))
                        });
                    self.error(at, &full, format!("unknown key `{name}`"), hint);
                    self.blank_entry(key, item, inline);
                }
            }
        }
        for f in fields.iter().filter(|f| f.required) {
            if !t.contains_key(f.name) {
                let what = if path.is_empty() { "the file" } else { path };
                self.error(
                    start,
                    &join(path, f.name),
                    format!("missing key `{}` in {what}", f.name),
                    None,
                );
            }
        }
    }

    fn check(&mut self, kind: &Kind, key: &Key, item: &Item, path: &str, inline: bool) {
        let ok = match kind {
            Kind::Str => item.is_str(),
            Kind::Int => item.is_integer(),
            Kind::Bool => item.is_bool(),
            Kind::StrOrInt => item.is_str() || item.is_integer(),
            Kind::StrList => match item.as_array() {
                Some(a) => {
                    if let Some((i, v)) = a.iter().enumerate().find(|(_, v)| !v.is_str()) {
                        let at = v.span().map(|s| s.start);
                        let found = self.found(v.type_name(), v.span());
                        self.error(
                            at,
                            &format!("{path}[{i}]"),
                            format!("expected a string, found {found}"),
                            None,
                        );
                        self.blank_entry(key, item, inline);
                    }
                    true
                }
                None => false,
            },
            Kind::Table(fields) => match item.as_table_like() {
                Some(t) => {
                    let inner = inline || item.is_inline_table();
                    self.table(fields, t, path, inner, item_start(item));
                    true
                }
                None => false,
            },
            Kind::Named(fields) => match item.as_table_like() {
                Some(t) => {
                    let inner = inline || item.is_inline_table();
                    self.out
                        .tables
                        .entry(path.to_string())
                        .or_insert_with(|| item_start(item).unwrap_or(0));
                    for (name, _) in t.iter() {
                        let Some((k, sub)) = t.get_key_value(name) else {
                            continue;
                        };
                        let kind = Kind::Table(fields);
                        self.check(&kind, k, sub, &join(path, name), inner);
                    }
                    true
                }
                None => false,
            },
            Kind::Tables(fields) => match item {
                Item::ArrayOfTables(a) => {
                    for (i, t) in a.iter().enumerate() {
                        let start = t.span().map(|s| s.start);
                        self.table(fields, t, &format!("{path}[{i}]"), false, start);
                    }
                    true
                }
                Item::Value(Value::Array(a)) if a.iter().all(Value::is_inline_table) => {
                    for (i, v) in a.iter().enumerate() {
                        if let Value::InlineTable(t) = v {
                            let start = t.span().map(|s| s.start);
                            self.table(fields, t, &format!("{path}[{i}]"), true, start);
                        }
                    }
                    true
                }
                _ => false,
            },
        };
        if !ok {
            let found = self.found(item.type_name(), item.span());
            self.error(
                item_start(item).or_else(|| key.span().map(|s| s.start)),
                path,
                format!("expected {}, found {found}", kind.describe()),
                None,
            );
            self.blank_entry(key, item, inline);
        }
    }

    /// "integer `2`": the type and, when short, the text.
    fn found(&self, type_name: &str, span: Option<Range<usize>>) -> String {
        let text = span
            .and_then(|s| self.text.get(s))
            .map(str::trim)
            .filter(|t| t.len() <= 40 && !t.contains('\n'));
        match text {
            Some(t) => format!("{type_name} `{t}`"),
            None => type_name.to_string(),
        }
    }

    /// Blanks an entry and everything below it.
    fn blank_entry(&mut self, key: &Key, item: &Item, inline: bool) {
        match item {
            Item::Value(v) => {
                let (Some(k), Some(v)) = (key.span(), v.span()) else {
                    return;
                };
                if inline {
                    self.blank_inline(k.start, v.end);
                } else {
                    let line_start = self.text[..k.start].rfind('\n').map_or(0, |i| i + 1);
                    self.out.blanks.push(line_start..v.end);
                }
            }
            Item::Table(t) => self.blank_table(t),
            Item::ArrayOfTables(a) => {
                for t in a {
                    self.blank_table(t);
                }
            }
            Item::None => {}
        }
    }

    /// A table with a header: its span (header and key-values) and every
    /// table below it; a dotted or implicit one: each of its entries.
    fn blank_table(&mut self, t: &toml_edit::Table) {
        if !t.is_dotted() {
            if let Some(s) = t.span() {
                self.out.blanks.push(s);
            }
        }
        for (name, _) in t {
            if let Some((k, sub)) = t.get_key_value(name) {
                let own_line = matches!(sub, Item::Table(_) | Item::ArrayOfTables(_));
                if own_line || t.is_dotted() || t.span().is_none() {
                    self.blank_entry(k, sub, false);
                }
            }
        }
    }

    /// An entry of an inline table, `key .. value_end`, with the comma that
    /// separates it from its neighbour.
    fn blank_inline(&mut self, key_start: usize, value_end: usize) {
        let bytes = self.text.as_bytes();
        // Back over the rest of a dotted key and whitespace.
        let mut start = key_start;
        while start > 0 && !matches!(bytes[start - 1], b',' | b'{') {
            start -= 1;
        }
        if start > 0 && bytes[start - 1] == b',' {
            self.out.blanks.push(start - 1..value_end);
            return;
        }
        // The first entry: the comma after it, if any.
        let mut end = value_end;
        while end < bytes.len() && bytes[end].is_ascii_whitespace() {
            end += 1;
        }
        if end < bytes.len() && bytes[end] == b',' {
            end += 1;
        } else {
            end = value_end;
        }
        self.out.blanks.push(start..end);
    }
}

fn item_start(item: &Item) -> Option<usize> {
    item.span().map(|s| s.start)
}

/// The first place any entry of `t` is written (an implicit table has no
/// span of its own).
fn first_offset(t: &dyn TableLike) -> Option<usize> {
    t.iter()
        .filter_map(|(name, item)| {
            let key = t.get_key_value(name).and_then(|(k, _)| k.span());
            key.map(|s| s.start).or_else(|| match item {
                Item::Table(sub) => first_offset(sub),
                other => item_start(other),
            })
        })
        .min()
}
