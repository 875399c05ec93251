//! The retention rules and the calendar periods they count in.

use jiff::{civil::DateTime, Span};
use serde::{Deserialize, Serialize};

/// What to keep, per group. Every field is optional; see the module
/// documentation for the exact semantics.
///
/// Deserializes from a table such as
/// `{"keep_daily": 7, "keep_within": "2d"}`; `keep_within` takes jiff's
/// friendly format (`"36h"`, `"2 weeks"`, `"1 month"`) or ISO 8601
/// (`"P1M"`). Unknown fields are an error, so a typo cannot silently widen
/// what gets deleted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// Keep the `n` newest snapshots.
    pub keep_last: Option<u32>,
    /// Keep the newest snapshot of each of the last `n` hours with one.
    pub keep_hourly: Option<u32>,
    /// Keep the newest snapshot of each of the last `n` days with one.
    pub keep_daily: Option<u32>,
    /// Keep the newest snapshot of each of the last `n` ISO weeks with one.
    pub keep_weekly: Option<u32>,
    /// Keep the newest snapshot of each of the last `n` months with one.
    pub keep_monthly: Option<u32>,
    /// Keep the newest snapshot of each of the last `n` years with one.
    pub keep_yearly: Option<u32>,
    /// Keep every snapshot newer than `now - keep_within`.
    #[serde(with = "span_text", skip_serializing_if = "Option::is_none")]
    pub keep_within: Option<Span>,
}

impl Rules {
    /// True when no rule would keep anything (all `None` or zero); [`plan`]
    /// then keeps everything.
    ///
    /// [`plan`]: super::plan
    pub fn is_empty(&self) -> bool {
        let counts = [
            self.keep_last,
            self.keep_hourly,
            self.keep_daily,
            self.keep_weekly,
            self.keep_monthly,
            self.keep_yearly,
        ];
        counts.iter().all(|c| c.unwrap_or(0) == 0)
            && !matches!(self.keep_within, Some(s) if !s.is_zero())
    }

    /// The bucket rules with their counts, in the order reasons are listed.
    pub(super) fn buckets(&self) -> [(Period, Option<u32>); 5] {
        [
            (Period::Hour, self.keep_hourly),
            (Period::Day, self.keep_daily),
            (Period::Week, self.keep_weekly),
            (Period::Month, self.keep_monthly),
            (Period::Year, self.keep_yearly),
        ]
    }
}

/// A calendar period, counted in local wall-clock time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Period {
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Period {
    /// The label of the period that contains `dt`; equal labels mean the
    /// same period.
    pub(super) fn label(self, dt: DateTime) -> String {
        match self {
            Period::Hour => format!(
                "{:04}-{:02}-{:02} {:02}h",
                dt.year(),
                dt.month(),
                dt.day(),
                dt.hour()
            ),
            Period::Day => format!("{:04}-{:02}-{:02}", dt.year(), dt.month(), dt.day()),
            Period::Week => {
                let week = dt.date().iso_week_date();
                format!("{:04}-W{:02}", week.year(), week.week())
            }
            Period::Month => format!("{:04}-{:02}", dt.year(), dt.month()),
            Period::Year => format!("{:04}", dt.year()),
        }
    }
}

/// `Option<Span>` as text: friendly format out, friendly or ISO 8601 in.
mod span_text {
    use jiff::Span;
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(span: &Option<Span>, s: S) -> Result<S::Ok, S::Error> {
        match span {
            Some(span) => s.serialize_str(&format!("{span:#}")),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Span>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let span: Span = text
            .parse()
            .map_err(|e| D::Error::custom(format!("keep_within {text:?}: {e}")))?;
        if span.is_negative() {
            return Err(D::Error::custom(format!(
                "keep_within {text:?}: must not be negative"
            )));
        }
        Ok(Some(span))
    }
}
