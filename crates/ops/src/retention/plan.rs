//! The retention pass: rules per group, then chains, then the plan.

use std::collections::{HashMap, VecDeque};
use std::fmt;

use jiff::{tz::TimeZone, Span, Timestamp};

use super::policy::{Period, Rules};
use super::Item;

/// Why a snapshot is kept, or that nothing keeps it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Reason {
    /// Among the `keep_last` newest; the rank, 1 = newest.
    Last(u32),
    /// Newest of its local hour, e.g. `2026-11-21 09h`.
    Hourly(String),
    /// Newest of its local day, e.g. `2026-11-21`.
    Daily(String),
    /// Newest of its ISO week, e.g. `2026-W47`.
    Weekly(String),
    /// Newest of its month, e.g. `2026-11`.
    Monthly(String),
    /// Newest of its year, e.g. `2026`.
    Yearly(String),
    /// Newer than `now` minus this span.
    Within(Span),
    /// Newer than `now`: some clock is wrong, so nothing is concluded.
    Future,
    /// The newest snapshot of its group, the next incremental's base.
    Newest,
    /// The base of this kept snapshot (by name), which cannot be restored
    /// without it.
    BaseOf(String),
    /// The rules keep nothing, so everything is kept.
    NoRules,
    /// Removed: no rule and no kept dependent keeps it.
    NoRuleKeepsIt,
}

impl Reason {
    /// Why the rule of `period` keeps the newest snapshot of the period
    /// `label`.
    fn of_period(period: Period, label: String) -> Reason {
        match period {
            Period::Hour => Reason::Hourly(label),
            Period::Day => Reason::Daily(label),
            Period::Week => Reason::Weekly(label),
            Period::Month => Reason::Monthly(label),
            Period::Year => Reason::Yearly(label),
        }
    }
}

impl PartialEq for Reason {
    fn eq(&self, other: &Reason) -> bool {
        use Reason::{
            BaseOf, Daily, Future, Hourly, Last, Monthly, Newest, NoRuleKeepsIt, NoRules, Weekly,
            Within, Yearly,
        };
        match (self, other) {
            (Last(a), Last(b)) => a == b,
            (Hourly(a), Hourly(b))
            | (Daily(a), Daily(b))
            | (Weekly(a), Weekly(b))
            | (Monthly(a), Monthly(b))
            | (Yearly(a), Yearly(b))
            | (BaseOf(a), BaseOf(b)) => a == b,
            (Within(a), Within(b)) => a.fieldwise() == b.fieldwise(),
            (Future, Future) | (Newest, Newest) | (NoRules, NoRules) => true,
            (NoRuleKeepsIt, NoRuleKeepsIt) => true,
            _ => false,
        }
    }
}

impl Eq for Reason {}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Last(rank) => write!(f, "last {rank}"),
            Reason::Hourly(l) => write!(f, "hourly {l}"),
            Reason::Daily(l) => write!(f, "daily {l}"),
            Reason::Weekly(l) => write!(f, "weekly {l}"),
            Reason::Monthly(l) => write!(f, "monthly {l}"),
            Reason::Yearly(l) => write!(f, "yearly {l}"),
            Reason::Within(span) => write!(f, "within {span:#}"),
            Reason::Future => f.write_str("newer than now"),
            Reason::Newest => f.write_str("newest"),
            Reason::BaseOf(name) => write!(f, "base of {name}"),
            Reason::NoRules => f.write_str("no rules, keep all"),
            Reason::NoRuleKeepsIt => f.write_str("no rule keeps it"),
        }
    }
}

/// The verdict on one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// [`Item::key`], to map back to the caller's record.
    pub key: String,
    /// [`Item::name`]: the name people read.
    pub name: String,
    /// [`Item::group`]: normally the dataset.
    pub group: String,
    /// [`Item::time`]: the snapshot's creation time.
    pub time: Timestamp,
    /// Whether the snapshot is kept (else it is pruned).
    pub keep: bool,
    /// Every reason that keeps it, or [`Reason::NoRuleKeepsIt`].
    pub reasons: Vec<Reason>,
}

/// The outcome of [`plan`]: one decision per item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Sorted by group, then time, then key.
    pub decisions: Vec<Decision>,
    /// For [`Plan::render`]'s local times.
    tz: TimeZone,
}

impl Plan {
    /// The snapshots to keep, in plan order.
    pub fn kept(&self) -> impl Iterator<Item = &Decision> + '_ {
        self.decisions.iter().filter(|d| d.keep)
    }

    /// The snapshots to remove, in plan order.
    pub fn removed(&self) -> impl Iterator<Item = &Decision> + '_ {
        self.decisions.iter().filter(|d| !d.keep)
    }

    /// A plain table for people, one line per snapshot:
    /// `KEEP` or `REMOVE`, name, local time, reasons.
    pub fn render(&self) -> String {
        let width = self.decisions.iter().map(|d| d.name.chars().count());
        let width = width.max().unwrap_or(0);
        let mut out = String::new();
        for d in &self.decisions {
            let action = if d.keep { "KEEP" } else { "REMOVE" };
            let time = d.time.to_zoned(self.tz.clone());
            let reasons: Vec<String> = d.reasons.iter().map(ToString::to_string).collect();
            out.push_str(&format!(
                "{action:<6}  {:<width$}  {}  {}\n",
                d.name,
                time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                reasons.join(", "),
            ));
        }
        out
    }
}

/// Decide which of `items` to keep under `rules`, as of `now`, counting
/// calendar periods in `tz`. Pure: see the module documentation.
pub fn plan(items: &[Item], rules: &Rules, now: Timestamp, tz: &TimeZone) -> Plan {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&items[a], &items[b]);
        (&a.group, a.time, &a.key).cmp(&(&b.group, b.time, &b.key))
    });
    let mut reasons: Vec<Vec<Reason>> = vec![Vec::new(); items.len()];
    for group in order.chunk_by(|&a, &b| items[a].group == items[b].group) {
        apply_rules(items, group, rules, now, tz, &mut reasons);
    }
    keep_bases(items, &order, &mut reasons);

    let decisions = order
        .iter()
        .map(|&i| {
            let item = &items[i];
            let mut reasons = std::mem::take(&mut reasons[i]);
            let keep = !reasons.is_empty();
            if !keep {
                reasons.push(Reason::NoRuleKeepsIt);
            }
            Decision {
                key: item.key.clone(),
                name: item.name.clone(),
                group: item.group.clone(),
                time: item.time,
                keep,
                reasons,
            }
        })
        .collect();
    Plan {
        decisions,
        tz: tz.clone(),
    }
}

/// The rule pass over one group, `group` ordered oldest first.
fn apply_rules(
    items: &[Item],
    group: &[usize],
    rules: &Rules,
    now: Timestamp,
    tz: &TimeZone,
    reasons: &mut [Vec<Reason>],
) {
    let newest_first = || group.iter().rev().copied();
    if let Some(n) = rules.keep_last {
        for (rank, i) in (1..=n).zip(newest_first()) {
            reasons[i].push(Reason::Last(rank));
        }
    }
    if let Some(span) = rules.keep_within {
        let span = span.abs();
        // An unrepresentable cutoff is before every possible snapshot.
        let cutoff = now
            .to_zoned(tz.clone())
            .checked_sub(span)
            .map_or(Timestamp::MIN, |z| z.timestamp());
        for i in newest_first() {
            let time = items[i].time;
            if time > cutoff && time <= now {
                reasons[i].push(Reason::Within(span));
            }
        }
    }
    for i in newest_first().filter(|&i| items[i].time > now) {
        reasons[i].push(Reason::Future);
    }
    for (period, n) in rules.buckets() {
        let n = n.unwrap_or(0) as usize;
        let mut last: Option<String> = None;
        let mut kept = 0;
        for i in newest_first() {
            if kept == n {
                break;
            }
            let label = period.label(tz.to_datetime(items[i].time));
            if last.as_ref() != Some(&label) {
                reasons[i].push(Reason::of_period(period, label.clone()));
                last = Some(label);
                kept += 1;
            }
        }
    }
    if let Some(i) = newest_first().next() {
        reasons[i].push(Reason::Newest);
    }
    if rules.is_empty() {
        for i in newest_first() {
            reasons[i].push(Reason::NoRules);
        }
    }
}

/// The chain pass: keep the base of every kept item, transitively.
fn keep_bases(items: &[Item], order: &[usize], reasons: &mut [Vec<Reason>]) {
    let by_rules: Vec<bool> = reasons.iter().map(|r| !r.is_empty()).collect();
    // Candidates per guid, in plan order (so the oldest comes first).
    let mut by_guid: HashMap<u64, Vec<usize>> = HashMap::new();
    for &i in order {
        by_guid.entry(items[i].guid).or_default().push(i);
    }
    let mut kept = by_rules.clone();
    let mut queue: VecDeque<usize> = order.iter().copied().filter(|&i| kept[i]).collect();
    while let Some(i) = queue.pop_front() {
        let Some(base) = find_base(items, &by_guid, &by_rules, i) else {
            continue;
        };
        let reason = Reason::BaseOf(items[i].name.clone());
        if !reasons[base].contains(&reason) {
            reasons[base].push(reason);
        }
        if !kept[base] {
            kept[base] = true;
            queue.push_back(base);
        }
    }
}

/// The item `i` depends on: same group first, else any group; among
/// several, one kept by the rules, else the first in plan order.
fn find_base(
    items: &[Item],
    by_guid: &HashMap<u64, Vec<usize>>,
    by_rules: &[bool],
    i: usize,
) -> Option<usize> {
    let candidates = by_guid.get(&items[i].base_guid?)?;
    let candidates = candidates.iter().copied().filter(|&b| b != i);
    let same_group = |b: &usize| items[*b].group == items[i].group;
    let pick = |c: Vec<usize>| {
        c.iter()
            .copied()
            .find(|&b| by_rules[b])
            .or(c.first().copied())
    };
    let (same, other): (Vec<usize>, Vec<usize>) = candidates.partition(same_group);
    if same.is_empty() {
        pick(other)
    } else {
        pick(same)
    }
}
