//! How long a send stream will be, for progress: `zfs send -nP` on
//! OpenZFS (its `size` line), the snapshot's `referenced` bytes for a full
//! on zfs-fuse (which has no dry run), nothing for its incrementals. An
//! estimate only: the caller says so.

use crate::send::SendArgs;
use crate::zfs::Zfs;
use crate::Dialect;

impl Zfs {
    /// The estimated stream length of `args`, or `None` when the dialect
    /// cannot tell (or the dry run fails: progress goes on without it).
    pub fn send_estimate(&self, args: &SendArgs) -> Option<u64> {
        match self.dialect().ok()? {
            Dialect::ZfsFuse if args.from.is_none() => self
                .get_property(&args.snapshot.to_string(), "referenced")
                .ok()
                .flatten()?
                .parse()
                .ok(),
            Dialect::ZfsFuse => None,
            Dialect::OpenZfs { .. } => {
                let mut argv = vec!["send".to_owned(), "-nP".to_owned()];
                argv.extend(args.flags());
                argv.push(args.snapshot.to_string());
                let out = self.run_zfs(argv, &args.snapshot.to_string()).ok()?;
                parse_dry_run(&out)
            }
        }
    }
}

/// The `size` line of `zfs send -nP` output (tab-separated, bytes).
fn parse_dry_run(out: &str) -> Option<u64> {
    out.lines()
        .filter_map(|l| l.strip_prefix("size"))
        .find_map(|rest| rest.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::parse_dry_run;

    #[test]
    fn the_size_line_of_a_dry_run_is_read() {
        let full = "full\ttank/a@1\t1234\nsize\t1234\n";
        assert_eq!(parse_dry_run(full), Some(1234));
        let inc = "incremental\t1\ttank/a@2\t98765\nsize\t98765\n";
        assert_eq!(parse_dry_run(inc), Some(98765));
        assert_eq!(parse_dry_run("garbage"), None);
    }
}
