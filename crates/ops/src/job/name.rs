//! The names of the snapshots a job (or `backup send`) takes:
//! `<prefix>-<UTC time>`, to the second (`backup-20261121T091500Z`), and
//! unique below one second: when that name is taken on any of the
//! datasets, a two-digit counter follows (`backup-20261121T091500Z.01`,
//! `.02`, up to [`MAX_PER_SECOND`]). Names of one prefix sort by time,
//! byte for byte, counter included; retention and status read the time
//! back from the name ([`snapshot_time`]).

use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Snapshots of one prefix within one second, the first included.
pub const MAX_PER_SECOND: usize = 100;

/// The time written in a job's snapshot name, `%Y%m%dT%H%M%SZ`.
const TIME_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// The first of `<prefix>-<now>`, `<prefix>-<now>.01`, ... that `taken`
/// says is free, or `None` when all [`MAX_PER_SECOND`] are taken. Pure:
/// `taken` answers from a listing of the datasets' snapshots.
pub fn unique_snapshot_name(
    prefix: &str,
    now: Timestamp,
    taken: impl Fn(&str) -> bool,
) -> Option<String> {
    let base = format!("{prefix}-{}", now.strftime(TIME_FORMAT));
    (0..MAX_PER_SECOND)
        .map(|n| match n {
            0 => base.clone(),
            n => format!("{base}.{n:02}"),
        })
        .find(|name| !taken(name))
}

/// The time a job wrote into its snapshot's name (`<prefix>-20261121T091500Z`,
/// or with a counter `...Z.01`): the job's own clock, which `--now` also
/// drives. `None` for other names.
pub fn snapshot_time(prefix: &str, snapshot: &str) -> Option<Timestamp> {
    name_time(snapshot.strip_prefix(prefix)?.strip_prefix('-')?)
}

/// The time of `20261121T091500Z` or `20261121T091500Z.NN`.
pub(super) fn name_time(suffix: &str) -> Option<Timestamp> {
    let time = match suffix.split_once('.') {
        Some((t, n)) if n.len() == 2 && n.bytes().all(|b| b.is_ascii_digit()) => t,
        Some(_) => return None,
        None => suffix,
    };
    jiff::civil::DateTime::strptime(TIME_FORMAT, time)
        .ok()?
        .to_zoned(TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}
