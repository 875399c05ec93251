//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::exit::EXIT_CODES_HELP;
use crate::password::PasswordArgs;

/// Ships ZFS snapshots, deduplicated, compressed and encrypted, to a
/// repository, and restores them.
#[derive(Debug, Parser)]
#[command(name = "backup", version, after_help = EXIT_CODES_HELP, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Repository: a location (a directory, sftp://[user@]host[:port]/path, s3://bucket/prefix), or the name of a repository in the configuration file
    #[arg(
        long,
        short = 'r',
        env = "BACKUP_REPOSITORY",
        global = true,
        value_name = "LOCATION|NAME"
    )]
    pub repo: Option<String>,
    /// Configuration file
    #[arg(
        long,
        env = "BACKUP_CONFIG",
        global = true,
        value_name = "FILE",
        default_value = backup_ops::config::DEFAULT_PATH
    )]
    pub config: PathBuf,
    #[command(flatten)]
    pub password: PasswordArgs,
    /// The local catalog (SQLite: a cache of the repository and this host's job and drill history); default: <state dir>/<repository id>.sqlite
    #[arg(long, env = "BACKUP_CATALOG", global = true, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// State directory (catalogs, job locks, drill reports); overrides the configuration's state_dir; default: /var/lib/backup as root, else $XDG_STATE_HOME/backup or ~/.local/state/backup
    #[arg(long, env = "BACKUP_STATE_DIR", global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Cache directory (metadata caches only, safe to delete); default: $XDG_CACHE_HOME/backup or ~/.cache/backup
    #[arg(long, env = "BACKUP_CACHE_DIR", global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Open the repository with this exported key file (`backup key export`) and its passphrase, not with the repository's key slots: the escrowed key, for restores when keys/ is lost or damaged
    #[arg(long, env = "BACKUP_KEY_FILE", global = true, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// No progress output
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Accept key slots whose Argon2id costs exceed 1 GiB, 16 passes or 16 lanes (and let init and key add make them)
    #[arg(long, env = "BACKUP_ALLOW_EXPENSIVE_KDF", global = true)]
    pub allow_expensive_kdf: bool,
    /// Upload bandwidth limit, e.g. 2MiB/s (overrides the configuration's limit_upload)
    #[arg(long, env = "BACKUP_LIMIT_UPLOAD", global = true, value_name = "RATE")]
    pub limit_upload: Option<String>,
    /// Download bandwidth limit, e.g. 10MiB/s (overrides the configuration's limit_download)
    #[arg(
        long,
        env = "BACKUP_LIMIT_DOWNLOAD",
        global = true,
        value_name = "RATE"
    )]
    pub limit_download: Option<String>,
    /// Objects transferred at once (default: 1 for a directory, 4 for SFTP, 8 for S3)
    #[arg(long, env = "BACKUP_TRANSFERS", global = true, value_name = "N")]
    pub transfers: Option<usize>,
    /// How long to wait for another process's conflicting repository lock (e.g. 0, 90s, 30m)
    #[arg(
        long,
        env = "BACKUP_LOCK_WAIT",
        global = true,
        value_name = "DURATION",
        default_value = "10m"
    )]
    pub lock_wait: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new repository
    Init(InitArgs),
    /// Ship a ZFS snapshot into the repository (taking a new one unless DATASET@SNAP is given)
    Send(SendArgs),
    /// List the snapshots in the repository, with chains, sizes and deduplication
    List(ListArgs),
    /// List a directory of a shipped snapshot, from its file manifest (no restore, no ZFS needed)
    Ls(LsArgs),
    /// Find paths matching a glob in every shipped snapshot, marking where they changed or were deleted
    Find(FindArgs),
    /// Compare two shipped snapshots' files: added, removed, modified, metadata only
    Diff(DiffArgs),
    /// Restore a snapshot (its whole chain) into a dataset, or write its stream to a file
    Restore(RestoreArgs),
    /// Mount shipped snapshots read-only (FUSE): one directory per dataset and snapshot, files read on demand
    #[command(
        after_help = MOUNT_HELP,
        override_usage = "backup mount [OPTIONS] [SNAPSHOT | DATASET] MOUNTPOINT"
    )]
    Mount(MountArgs),
    /// Check the repository's structure, and with --read-data its data (with --job: the job's verification, recorded)
    Check(CheckArgs),
    /// Manage the local catalog
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Run a job of the configuration file now (or, with --due, every job whose schedule says so)
    Run(RunArgs),
    /// Apply the jobs' repository retention (keep_repository): remove the snapshots it does not keep
    Forget(ForgetArgs),
    /// Remove data no snapshot needs: delete unused packs, rewrite partly used ones
    Prune(PruneArgs),
    /// Repair a damaged repository: rebuild the index, salvage damaged packs, remove snapshots that cannot be restored
    #[command(subcommand, after_help = REPAIR_HELP)]
    Repair(RepairCommand),
    /// Remove what killed processes left: stale view clones on this host's pools, and stale repository locks (of dead processes, or expired), or with --all every lock
    Unlock(UnlockArgs),
    /// Check the configuration file
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Show when jobs run; install systemd timers or a cron.d file that run them
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Show each job's last success and failure, the age of its newest shipped snapshot, and repository sizes
    #[command(after_help = NAGIOS_HELP)]
    Status(StatusArgs),
    /// Restore drills: restore a job's snapshots into scratch space, verify them, time them
    #[command(subcommand)]
    Drill(DrillCommand),
    /// The commands that bring a job's data back on a fresh host: whole datasets and single files
    Runbook(RunbookArgs),
    /// The repository's key slots: list them, export one for escrow, add a passphrase
    #[command(subcommand)]
    Key(KeyCommand),
    /// Print a shell completion script to stdout (e.g. `backup completions bash > /etc/bash_completion.d/backup`)
    Completions(CompletionsArgs),
    /// Write the man pages, backup(1) and one per subcommand (backup-send(1), ...), into DIR (for packaging)
    #[command(hide = true)]
    Manpages(ManpagesArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManpagesArgs {
    /// The directory to write the pages to (created if missing; pages in it are overwritten)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The date in the pages' footers (e.g. the release's, YYYY-MM-DD); default none, so builds are reproducible
    #[arg(long, value_name = "DATE", default_value = "")]
    pub date: String,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// List the key slots: name, when and where made, Argon2id costs (no passphrase needed)
    List {
        /// JSON output
        #[arg(long)]
        json: bool,
    },
    /// Write the key slot the passphrase opens to a file (mode 0600), for escrow: with the
    /// passphrase it opens the repository even if its keys/ are lost (`drill run --key-file`)
    Export {
        /// The file to write; never overwritten
        #[arg(long, short = 'o', value_name = "FILE")]
        output: PathBuf,
    },
    /// Check that an exported key file and the passphrase open the repository (without its key slots)
    Check {
        /// The exported key file
        #[arg(value_name = "FILE")]
        key_file: PathBuf,
    },
    /// Add a key slot for another passphrase (read from the first line of a file)
    Add {
        /// The new passphrase's file
        #[arg(long, value_name = "FILE")]
        new_password_file: PathBuf,
        /// Argon2id memory cost in KiB
        #[arg(long, default_value_t = 65536, value_name = "KIB")]
        kdf_memory: u32,
        /// Argon2id passes
        #[arg(long, default_value_t = 3, value_name = "N")]
        kdf_iterations: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// Restore, verify (data, receive, files, probes) and time a job's snapshots, then clean up
    #[command(after_help = DRILL_EXIT_HELP)]
    Run(DrillRunArgs),
    /// List past drills, newest first
    History(DrillHistoryArgs),
    /// Show one drill's report (text, --json, or --markdown: the report and restore runbook)
    Show(DrillShowArgs),
}

pub const DRILL_EXIT_HELP: &str = "\
Exit codes of drill run:
  0  pass: every layer passed and every target was met
  6  fail: a layer failed (data, receive, files, probes) or an RTO/RPO target was missed
  1  error: the drill could not run (no snapshot, no scratch space, ZFS failure, ...);
     2, 4 and 5 keep their usual meaning (usage, wrong passphrase, locked)";

#[derive(Debug, Args)]
pub struct DrillRunArgs {
    /// The job to drill (its [jobs.NAME.drill] table, or the defaults)
    #[arg(conflicts_with = "all")]
    pub job: Option<String>,
    /// Drill every job that has a drill table
    #[arg(long)]
    pub all: bool,
    /// Which snapshot: latest, random, or one (id, id prefix, DATASET@SNAP)
    #[arg(long, value_name = "latest|random|ID")]
    pub snapshot: Option<String>,
    /// Keep the scratch space when the drill fails, and say where
    #[arg(long)]
    pub keep_on_failure: bool,
    /// Write the JSON and Markdown reports here (default: <state dir>/drills)
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
    /// Pretend it is this time (RFC 3339), for the RPO (tests and simulations)
    #[arg(long, value_name = "TIME", hide = true)]
    pub now: Option<String>,
}

#[derive(Debug, Args)]
pub struct DrillHistoryArgs {
    /// Only this job
    pub job: Option<String>,
    /// At most this many
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// JSON output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DrillShowArgs {
    /// The drill's id (or a unique prefix)
    pub id: String,
    /// The JSON report
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// The Markdown report with the restore runbook
    #[arg(long)]
    pub markdown: bool,
}

const NAGIOS_HELP: &str = "\
With --nagios, one line in the Nagios plugin format and its exit codes:
  0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (no catalog, job never ran, repository unreachable, ...)";

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this job of the configuration file
    pub job: Option<String>,
    /// JSON output
    #[arg(long, conflicts_with = "nagios")]
    pub json: bool,
    /// One line for Nagios/Icinga, with the plugin exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)
    #[arg(long)]
    pub nagios: bool,
    /// WARNING when the newest snapshot is older than this (e.g. "26h");
    /// default: twice the schedule's interval (longest wait between runs)
    #[arg(long, value_name = "AGE", requires = "nagios")]
    pub warn: Option<String>,
    /// CRITICAL when the newest snapshot is older than this (e.g. "3d");
    /// default: three times the schedule's interval
    #[arg(long, value_name = "AGE", requires = "nagios")]
    pub crit: Option<String>,
    /// Pretend it is this time (RFC 3339): ages are computed against it
    #[arg(long, value_name = "TIME", hide = true)]
    pub now: Option<String>,
}

#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// Jobs whose retention to apply; every job with keep_repository if none
    #[arg(conflicts_with = "snapshots")]
    pub jobs: Vec<String>,
    /// Remove this snapshot instead (id, id prefix or DATASET@SNAP; repeatable), e.g. one shipped by mistake; refused while a kept snapshot is an incremental on it
    #[arg(long = "snapshot", value_name = "SNAPSHOT")]
    pub snapshots: Vec<String>,
    /// Show the plan, remove nothing
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Then prune
    #[arg(long)]
    pub prune: bool,
    /// Print the plan (and what was removed, and the prune) as JSON
    #[arg(long)]
    pub json: bool,
    /// Pretend it is this time (RFC 3339), for retention
    #[arg(long, value_name = "TIME", hide = true)]
    pub now: Option<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Show what would be removed and rewritten, with sizes; change nothing
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Rewrite a partly used pack when at least this percentage of it is unused
    #[arg(long, default_value_t = 20.0, value_name = "PERCENT")]
    pub repack_unused: f64,
    /// Print the plan as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// Remove every lock, live ones too (only when no other backup process uses the repository)
    #[arg(long)]
    pub all: bool,
    /// Look for stale view clones in this pool only (repeatable; default: every imported pool)
    #[arg(long = "pool", value_name = "POOL")]
    pub pools: Vec<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["job", "due"])))]
pub struct RunArgs {
    /// The job's name in the configuration file
    pub job: Option<String>,
    /// Run every job whose schedule says it is due (catching up once after downtime); with JOB, only that job
    #[arg(long)]
    pub due: bool,
    /// Pretend it is this time (RFC 3339): names the snapshot and drives
    /// full_every and retention (for tests and simulations)
    #[arg(long, value_name = "TIME", hide = true)]
    pub now: Option<String>,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Print the next run times of a job (or of every job)
    Next {
        /// The job; every job if omitted
        job: Option<String>,
        /// How many run times
        #[arg(long, short = 'n', default_value_t = 5)]
        count: usize,
        /// Pretend it is this time (RFC 3339), for checking a schedule
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
        /// JSON output: per job and per drill, its schedule and run times
        #[arg(long)]
        json: bool,
    },
    /// Write a systemd service and timer per scheduled job (or, with --cron, a
    /// cron.d file); only files whose content changes are written
    Install(InstallArgs),
    /// Print every file `schedule install` would write, with its path; write nothing
    Show(ShowArgs),
    /// Remove the files `schedule install` wrote (only those carrying its header)
    Remove(RemoveArgs),
}

/// Where `schedule install` and `schedule show` write, and what.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Only these jobs; default: every job with a schedule (and units of jobs
    /// gone from the configuration are removed)
    #[arg(value_name = "JOB")]
    pub jobs: Vec<String>,
    /// Write /etc/cron.d/backup instead of systemd units
    #[arg(long)]
    pub cron: bool,
    #[command(flatten)]
    pub place: PlaceArgs,
    /// The binary the units run; default: this one
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
    /// Where LoadCredential= reads systemd credentials (password_credential) from
    #[arg(long, value_name = "DIR", default_value = backup_ops::install::CREDENTIAL_DIR)]
    pub credential_dir: PathBuf,
    /// The timers' RandomizedDelaySec=, spreading hosts that share a repository
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub randomized_delay: String,
}

/// `schedule show`: what `install` would write.
#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub install: InstallArgs,
    /// JSON output: a list of {path, content}
    #[arg(long)]
    pub json: bool,
}

/// Where the generated files live.
#[derive(Debug, Args)]
pub struct PlaceArgs {
    /// Write under this directory instead of / (DIR/etc/systemd/system, DIR/etc/cron.d)
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// The systemd unit directory; default: <root>/etc/systemd/system
    #[arg(long, value_name = "DIR")]
    pub unit_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Only these jobs' units; default: every generated file of the configuration
    #[arg(value_name = "JOB")]
    pub jobs: Vec<String>,
    #[command(flatten)]
    pub place: PlaceArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Explain every mistake in the configuration file at once, each with its file:line:column and key (exit 2 if there is one; warnings alone exit 0)
    Check {
        /// Only check the file itself: not whether datasets, excludes and scratch parents exist, passphrases can be read or repositories open
        #[arg(long)]
        offline: bool,
        /// Print the findings as JSON: a list of {severity, file, line, column, key, message, hint}
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Argon2id memory cost in KiB
    #[arg(long, default_value_t = 65536, value_name = "KIB")]
    pub kdf_memory: u32,
    /// Argon2id passes
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub kdf_iterations: u32,
    /// Target pack size in MiB (1-64)
    #[arg(long, default_value_t = 16, value_name = "MIB")]
    pub pack_size: u32,
    /// Average chunk size in KiB (min is a quarter, max four times)
    #[arg(long, default_value_t = 1024, value_name = "KIB")]
    pub chunk_avg: u32,
    /// zstd compression level
    #[arg(long, default_value_t = 3, value_name = "LEVEL")]
    pub zstd_level: i32,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// DATASET (a new snapshot is taken) or DATASET@SNAPSHOT (an existing one)
    pub target: String,
    /// Send a full stream even if an incremental base is in the repository
    #[arg(long)]
    pub full: bool,
    /// Raw send (-w) of a natively encrypted dataset (OpenZFS only)
    #[arg(long)]
    pub raw: bool,
    /// Compressed send (-c) (OpenZFS only)
    #[arg(long)]
    pub compressed: bool,
    /// Do not record the snapshot's file manifest (every path with its
    /// metadata and BLAKE3, for restore drills); for very large datasets
    #[arg(long)]
    pub no_file_manifest: bool,
    /// Prefix of the name of a snapshot taken by this command
    #[arg(long, default_value = "backup", value_name = "PREFIX")]
    pub prefix: String,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this dataset's snapshots
    #[arg(long, value_name = "DATASET")]
    pub dataset: Option<String>,
    /// JSON output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// The snapshot: an id (or unique prefix), DATASET@SNAPSHOT, or DATASET@latest
    pub snapshot: String,
    /// A directory (or file) relative to the dataset's root; default the root
    #[arg(default_value = "")]
    pub path: String,
    /// Mode, owner, size and mtime too
    #[arg(long, short = 'l')]
    pub long: bool,
    /// Every entry below PATH, not only its own
    #[arg(long, short = 'R')]
    pub recursive: bool,
    /// JSON output
    #[arg(long)]
    pub json: bool,
}

const MOUNT_HELP: &str = "\
It runs in the foreground until Ctrl-C, SIGTERM or `umount MOUNTPOINT`
(run it in a second terminal, or with `&`). Listings come from the file
manifests; a file is rebuilt whole from its blocks on its first open and
served only if its BLAKE3 is the manifest's, else reading it fails with EIO
and stderr names the `backup restore ... --path ... --into DIR` command
that gets it by the slow path.";

#[derive(Debug, Args)]
pub struct MountArgs {
    /// A snapshot (id, prefix, DATASET@SNAP, DATASET@latest): its tree at MOUNTPOINT; a dataset: one directory per snapshot and `latest`; given alone, the mount point, with one directory per dataset
    #[arg(value_name = "SNAPSHOT|DATASET")]
    pub what: String,
    /// An existing directory to mount on
    #[arg(value_name = "MOUNTPOINT")]
    pub mountpoint: Option<String>,
}

#[derive(Debug, Args)]
pub struct FindArgs {
    /// A glob: without `/` it matches names (`nginx.conf`, `*.db`); with one, paths from the dataset's root (`etc/**/*.conf`)
    pub pattern: String,
    /// Only this dataset's snapshots
    #[arg(long, value_name = "DATASET")]
    pub dataset: Option<String>,
    /// Only snapshots created at or after this time (RFC 3339, or a date YYYY-MM-DD)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only snapshots created before this time (RFC 3339, or a date YYYY-MM-DD)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// JSON output (one object per snapshot and path)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older snapshot (id, prefix, DATASET@SNAPSHOT, DATASET@latest)
    pub from: String,
    /// The newer snapshot
    pub to: String,
    /// Only paths at or below this one (relative to the dataset's root)
    #[arg(default_value = "")]
    pub path: String,
    /// JSON output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("dest").required(true).args(["to", "to_file", "into"])))]
pub struct RestoreArgs {
    /// The snapshot: an id (or unique prefix) from `backup list`, or DATASET@SNAPSHOT
    pub snapshot: String,
    /// Receive the whole chain into this new dataset
    #[arg(long, value_name = "POOL/DATASET")]
    pub to: Option<String>,
    /// Write this snapshot's stream (not its bases) to a new file (an
    /// existing one is refused unless --force), or - for stdout
    #[arg(long, value_name = "PATH")]
    pub to_file: Option<String>,
    /// With --to: let `zfs receive` roll back and overwrite an existing
    /// target (-F). With --to-file: replace an existing file
    #[arg(long)]
    pub force: bool,
    /// If a chain restore fails after its first receive, keep the dataset it
    /// made (at an older snapshot than asked) instead of destroying it
    #[arg(long, requires = "to")]
    pub keep_partial: bool,
    /// A file or directory to restore (as `backup ls` shows it, relative to
    /// the dataset's root; `/` for the whole tree); repeatable; needs --into
    #[arg(long = "path", value_name = "PATH", requires = "into")]
    pub paths: Vec<std::ffi::OsString>,
    /// Restore the --path files into this directory (made if missing),
    /// each at its path below it, with mode, owner (as root) and times
    #[arg(long, value_name = "DIR", requires = "paths")]
    pub into: Option<PathBuf>,
    /// With --into: replace existing files and symlinks (never directories)
    #[arg(long, requires = "into")]
    pub overwrite: bool,
    /// With --into: always receive the chain into a scratch pool and copy
    /// the files out, instead of fetching only their blocks
    #[arg(long, requires = "into", conflicts_with = "fast_only")]
    pub slow_path: bool,
    /// With --into: fail for a file the fast path cannot rebuild, instead
    /// of receiving the chain into a scratch pool (no ZFS needed)
    #[arg(long, requires = "into")]
    pub fast_only: bool,
    /// With --into: JSON output
    #[arg(long, requires = "into")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunbookArgs {
    /// The job (default: every job of the configuration)
    pub job: Option<String>,
    /// Markdown instead of a commented shell script
    #[arg(long)]
    pub markdown: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Also read back and verify every blob, or PERCENT of the packs (e.g. --read-data=10%)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "100", value_name = "PERCENT")]
    pub read_data: Option<String>,
    /// Verify JOB's repository as its scheduled verification does: the next
    /// step of its check_read_data rotation, recorded in the catalog (status,
    /// Nagios and metrics report it)
    #[arg(long, value_name = "JOB", conflicts_with = "read_data")]
    pub job: Option<String>,
    /// With --job: pretend it is this time (RFC 3339), for tests and simulations
    #[arg(long, value_name = "TIME", hide = true, requires = "job")]
    pub now: Option<String>,
    /// JSON output
    #[arg(long)]
    pub json: bool,
}

const REPAIR_HELP: &str = "\
Order for a badly damaged repository: `repair index`, then `repair packs`, then \
`repair snapshots`, each with --dry-run first; then `backup check --read-data`. \
Each takes the exclusive repository lock, like prune, and writes what replaces an \
object before removing it.";

#[derive(Debug, Subcommand)]
pub enum RepairCommand {
    /// Rebuild the index from the packs' own trailers (a lost or damaged index loses nothing)
    Index(RepairArgs),
    /// Read every pack back; copy the readable blobs of damaged packs into new packs and drop the rest from the index
    Packs(RepairPacksArgs),
    /// Remove the manifests of snapshots that cannot be restored: unreadable, data lost, or a broken chain
    Snapshots(RepairArgs),
}

#[derive(Debug, Args)]
pub struct RepairArgs {
    /// Show what would change, and why; change nothing
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RepairPacksArgs {
    #[command(flatten)]
    pub common: RepairArgs,
    /// Read only this pack (repeatable; by full name, as `check` names it)
    #[arg(long = "pack", value_name = "PACK")]
    pub packs: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Throw the catalog away and rebuild it from the repository
    Rebuild,
}
