//! One field of a schedule (`02`, `Mon..Fri`, `0/15`, `1-5,10`): its value
//! set and its normalized text, shared by the calendar and cron parsers.

use std::fmt::Write as _;

use super::ScheduleError;

/// A set of small integers `offset..offset + 256`, as a bitmap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Set {
    bits: [u64; 4],
    offset: u16,
}

impl Set {
    pub(super) fn empty(offset: u16) -> Set {
        Set {
            bits: [0; 4],
            offset,
        }
    }

    /// `lo..=hi`, every value.
    pub(super) fn range(lo: u16, hi: u16) -> Set {
        let mut set = Set::empty(lo);
        (lo..=hi).for_each(|v| set.insert(v));
        set
    }

    pub(super) fn insert(&mut self, v: u16) {
        let i = usize::from(v - self.offset);
        self.bits[i / 64] |= 1 << (i % 64);
    }

    pub(super) fn contains(&self, v: i32) -> bool {
        let i = v - i32::from(self.offset);
        (0..256).contains(&i) && self.bits[i as usize / 64] & (1 << (i % 64)) != 0
    }

    /// The smallest member `>= v`.
    pub(super) fn next_from(&self, v: i32) -> Option<i32> {
        let mut i = (v - i32::from(self.offset)).max(0);
        while i < 256 {
            let word = self.bits[i as usize / 64] >> (i % 64);
            if word != 0 {
                return Some(i + word.trailing_zeros() as i32 + i32::from(self.offset));
            }
            i = (i / 64 + 1) * 64;
        }
        None
    }

    /// The largest member `<= v`.
    pub(super) fn prev_from(&self, v: i32) -> Option<i32> {
        let mut i = (v - i32::from(self.offset)).min(255);
        while i >= 0 {
            let word = self.bits[i as usize / 64] << (63 - i % 64);
            if word != 0 {
                return Some(i - word.leading_zeros() as i32 + i32::from(self.offset));
            }
            i = (i / 64) * 64 - 1;
        }
        None
    }
}

/// How one kind of field is written.
pub(super) struct Kind {
    /// What the field is called in messages: "hour", "day of week".
    pub name: &'static str,
    pub min: u16,
    pub max: u16,
    /// Zero-padding of numbers in the normalized text.
    pub width: usize,
    /// Range separator: `..` (systemd) or `-` (cron).
    pub range: &'static str,
    /// Names accepted instead of numbers, lowercase.
    pub names: &'static [(&'static str, u16)],
    /// Whether numbers are accepted (systemd takes weekdays by name only).
    pub numeric: bool,
}

/// A parsed field.
pub(super) struct Field {
    pub set: Set,
    pub text: String,
    /// Written as `*` or `*/step` (cron's day rule depends on it).
    pub star: bool,
}

/// Parses a comma-separated list of `*`, `N`, `N<range>M`, each optionally
/// followed by `/step`. `text` is the whole expression, for messages.
pub(super) fn parse(token: &str, kind: &Kind, text: &str) -> Result<Field, ScheduleError> {
    let mut set = Set::empty(kind.min);
    let mut out = String::new();
    for item in token.split(',') {
        let invalid = |reason: String| ScheduleError::Invalid {
            field: kind.name,
            token: item.to_string(),
            text: text.to_string(),
            reason,
        };
        if item.is_empty() {
            return Err(invalid("a value is missing".into()));
        }
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => (base, Some(number(step, kind).map_err(&invalid)?)),
            None => (item, None),
        };
        if step == Some(0) {
            return Err(invalid("the repetition step must be at least 1".into()));
        }
        let (lo, hi) = if base == "*" {
            (kind.min, kind.max)
        } else if let Some((a, b)) = base.split_once(kind.range) {
            let (a, b) = (
                value(a, kind).map_err(&invalid)?,
                value(b, kind).map_err(&invalid)?,
            );
            if a > b {
                return Err(invalid(format!("the range {base:?} runs backwards")));
            }
            (a, b)
        } else {
            let v = value(base, kind).map_err(&invalid)?;
            (v, if step.is_some() { kind.max } else { v })
        };
        let step = step.unwrap_or(1);
        (lo..=hi)
            .step_by(usize::from(step))
            .for_each(|v| set.insert(v));
        if !out.is_empty() {
            out.push(',');
        }
        let w = kind.width;
        match base.split_once(kind.range) {
            _ if base == "*" => out.push('*'),
            Some(_) => write!(out, "{lo:0w$}{}{hi:0w$}", kind.range).unwrap(),
            None => write!(out, "{lo:0w$}").unwrap(),
        }
        if step != 1 {
            write!(out, "/{step}").unwrap();
        }
    }
    let star = token.starts_with('*');
    Ok(Field {
        set,
        text: out,
        star,
    })
}

fn number(s: &str, kind: &Kind) -> Result<u16, String> {
    if s.is_empty() {
        return Err("a number is missing".into());
    }
    if s.contains('.') && !s.contains("..") && s.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err("fractional values are not supported".into());
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{s:?} is not a number{}", name_hint(kind)));
    }
    s.parse::<u16>()
        .map_err(|_| format!("{s:?} is out of range {}..{}", kind.min, kind.max))
}

fn value(s: &str, kind: &Kind) -> Result<u16, String> {
    let lower = s.to_ascii_lowercase();
    if let Some(&(_, v)) = kind.names.iter().find(|(n, _)| *n == lower) {
        return Ok(v);
    }
    if !kind.numeric {
        let example = kind.names.first().map_or("", |(n, _)| n);
        return Err(format!("expected a {} name such as {example:?}", kind.name));
    }
    let v = number(s, kind)?;
    if v < kind.min || v > kind.max {
        return Err(format!("expected {}..{}", kind.min, kind.max));
    }
    Ok(v)
}

fn name_hint(kind: &Kind) -> String {
    match kind.names.first() {
        Some((first, _)) => format!(" or a name like {first:?}"),
        None => String::new(),
    }
}
