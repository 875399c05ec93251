//! Retention: which snapshots to keep, as a pure function of
//! (snapshots, rules, now, time zone).
//!
//! [`plan`] never reads the clock or the host's time zone: the caller passes
//! `now` and the [`TimeZone`](jiff::tz::TimeZone) in which hours, days, weeks,
//! months and years are counted (the CLI exposes the same seam, like rustic's
//! `--forget-time`). The result is a [`Plan`] with one [`Decision`] per
//! snapshot, and every decision says why, so a prune can be shown before it
//! is done.
//!
//! # Semantics
//!
//! The rules follow restic's `forget` (and borg's `prune`):
//!
//! - Policies apply per [`Item::group`] (a dataset); groups never influence
//!   each other's buckets. Within a group snapshots are ordered by time,
//!   ties broken by [`Item::key`] (the greater key counts as the newer).
//! - `keep_last n` keeps the `n` newest snapshots ([`Reason::Last`] with the
//!   rank, 1 = newest).
//! - `keep_hourly`, `keep_daily`, `keep_weekly`, `keep_monthly`,
//!   `keep_yearly n`: walk the snapshots newest first and keep the newest
//!   snapshot of each distinct period until `n` periods are kept. Periods are
//!   wall-clock periods in the given time zone: a local hour (the repeated
//!   hour when daylight saving time ends is one bucket), a local day, an ISO
//!   8601 week (Monday to Sunday, numbered in its ISO week year, so
//!   2026-12-31 is in `2026-W53`), a month, a year. Periods without a
//!   snapshot do not count.
//! - `keep_within d` keeps every snapshot with `now - d < time <= now`,
//!   where `now - d` is calendar arithmetic in the time zone (`1 month`,
//!   `7d` across a DST change). A negative span counts as its absolute value.
//! - A snapshot newer than `now` is always kept, reason [`Reason::Future`]:
//!   it means a clock is wrong, and a wrong clock must never delete data.
//!   Such snapshots take part in the bucket and `keep_last` rules like any
//!   other.
//! - The newest snapshot of each group is always kept ([`Reason::Newest`]):
//!   it is the base of the next incremental send.
//! - Rules that keep nothing (every field `None` or zero) keep everything,
//!   reason [`Reason::NoRules`]: an empty or mistyped policy never deletes a
//!   whole repository.
//! - Chains: then, for every kept snapshot, its `base_guid` is looked up by
//!   guid, in the same group first and else in any group, and that base is
//!   kept too ([`Reason::BaseOf`] naming the dependent), transitively. If
//!   several items share that guid, one already kept by a rule is preferred,
//!   else the oldest. A base missing from the items is ignored: broken
//!   chains are reported elsewhere.
//! - A snapshot kept for several reasons lists every one of them; a removed
//!   one has the single reason [`Reason::NoRuleKeepsIt`].
//!
//! # Example
//!
//! ```
//! use backup_ops::retention::{plan, Item, Reason, Rules};
//! use jiff::{tz::TimeZone, Timestamp};
//!
//! let item = |n: u64, time: &str, base: Option<u64>| Item {
//!     key: n.to_string(),
//!     name: format!("tank/home@{n}"),
//!     group: "tank/home".into(),
//!     time: time.parse().unwrap(),
//!     guid: n,
//!     base_guid: base,
//! };
//! let items = [
//!     item(1, "2026-11-19T08:00:00Z", None),    // full
//!     item(2, "2026-11-20T08:00:00Z", Some(1)), // incremental from 1
//!     item(3, "2026-11-21T08:00:00Z", Some(2)), // incremental from 2
//!     item(4, "2026-11-10T08:00:00Z", None),    // an older full
//! ];
//! let rules = Rules { keep_last: Some(1), ..Rules::default() };
//! let now: Timestamp = "2026-11-21T09:00:00Z".parse().unwrap();
//! let p = plan(&items, &rules, now, &TimeZone::UTC);
//!
//! let kept: Vec<&str> = p.kept().map(|d| d.name.as_str()).collect();
//! assert_eq!(kept, ["tank/home@1", "tank/home@2", "tank/home@3"]);
//! assert_eq!(p.decisions[1].reasons, [Reason::BaseOf("tank/home@2".into())]);
//! assert_eq!(p.removed().count(), 1);
//! assert!(p.render().starts_with("REMOVE  tank/home@4  2026-11-10 08:00:00 UTC  no rule keeps it\n"));
//! ```

mod plan;
mod policy;
#[cfg(test)]
mod tests;

pub use plan::{plan, Decision, Plan, Reason};
pub use policy::Rules;

/// One snapshot as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// An id the caller maps back to its own record (manifest id, guid).
    pub key: String,
    /// The name people read, e.g. `tank/home@auto-2026-11-21_09h`.
    pub name: String,
    /// Policies apply per group; normally the dataset.
    pub group: String,
    /// Snapshot creation time.
    pub time: jiff::Timestamp,
    /// The snapshot's ZFS guid.
    pub guid: u64,
    /// Guid of the snapshot this one needs (the incremental's base);
    /// `None` for a full stream or a snapshot without a dependency.
    pub base_guid: Option<u64>,
}
