//! Progress: a bar with throughput and ETA on a terminal, plain lines
//! (suitable for the journal) otherwise.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use backup_core::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::format::{bytes, rate};

/// Draws progress on stderr.
pub enum CliProgress {
    /// Nothing at all (`--quiet`).
    Quiet,
    /// An indicatif bar.
    Bar(Mutex<Option<BarState>>),
    /// A line when a phase starts, every 30 s, and when it ends.
    Lines(Arc<LineState>),
}

/// What a phase counts, as the reader sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    /// Bytes: "1.5 MiB", with a rate.
    Bytes,
    /// Items of one kind, their plural noun: "6 packs".
    Items(&'static str),
}

impl Unit {
    fn amount(self, n: u64) -> String {
        match self {
            Unit::Bytes => bytes(n),
            Unit::Items(noun) => format!("{n} {noun}"),
        }
    }

    /// ", 12.0 MiB/s" or ", 3.5 packs/s".
    fn rate(self, n: u64, secs: f64) -> String {
        match self {
            Unit::Bytes => format!(", {}", rate(n, secs)),
            Unit::Items(_) if secs <= 0.0 => String::new(),
            Unit::Items(noun) => format!(", {:.1} {noun}/s", n as f64 / secs),
        }
    }
}

/// The line when a phase starts: "removing packs: started, 6 packs".
fn started_line(label: &str, total: Option<u64>, unit: Unit) -> String {
    match total {
        Some(t) => format!("{label}: started, {}", unit.amount(t)),
        None => format!("{label}: started"),
    }
}

/// The interim line: "send tank/www: 1.0 GiB of 2.0 GiB, 10.0 MiB/s";
/// with a total, its percentage and an ETA from the rate so far; with
/// bytes sent to the repository (a ship), those and their rate, which is
/// what a bandwidth limit holds to.
fn interim_line(label: &str, done: u64, total: u64, secs: f64, unit: Unit, sent: u64) -> String {
    let mut line = format!("{label}: {}", unit.amount(done));
    if let Some(pct) = done.saturating_mul(100).checked_div(total) {
        let pct = pct.min(99);
        line += &format!(" of {} ({pct}%", unit.amount(total));
        if done > 0 && secs > 0.0 && done < total {
            let left = (total - done) as f64 / (done as f64 / secs);
            line += &format!(", ETA {}", eta(left));
        }
        line.push(')');
    }
    line += &unit.rate(done, secs);
    line += &sent_part(sent, secs);
    line
}

/// "; 700.0 MiB sent to the repository, 4.0 MiB/s", or nothing.
fn sent_part(sent: u64, secs: f64) -> String {
    if sent == 0 {
        return String::new();
    }
    format!(
        "; {} sent to the repository, {}",
        bytes(sent),
        rate(sent, secs)
    )
}

/// "45 s", "12 min", "3 h 05 min".
fn eta(secs: f64) -> String {
    let s = secs.round() as u64;
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// A label cut to `max` characters, for a bar that must fit a terminal.
fn short(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        return label.to_string();
    }
    let keep: String = label.chars().take(max.saturating_sub(1)).collect();
    format!("{keep}…")
}

/// The line when a phase ends: "removing packs: done, 6 packs in 0.2 s".
fn done_line(label: &str, done: u64, secs: f64, unit: Unit, sent: u64) -> String {
    format!(
        "{label}: done, {} in {secs:.1} s{}{}",
        unit.amount(done),
        unit.rate(done, secs),
        sent_part(sent, secs)
    )
}

/// A bar and what its message is made of.
pub struct BarState {
    pb: ProgressBar,
    started: Instant,
    sent: u64,
}

/// State of the plain-lines reporter.
pub struct LineState {
    /// How often the interim line comes: [`LINE_EVERY`].
    every: Duration,
    /// A phase is under way (between its start and its end).
    active: AtomicBool,
    unit: Mutex<Unit>,
    label: Mutex<String>,
    started: Mutex<Instant>,
    last: Mutex<Instant>,
    done: AtomicU64,
    total: AtomicU64,
    sent: AtomicU64,
}

/// How often a phase's interim line comes when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(30);

/// Test hook: `BACKUP_TEST_PROGRESS_EVERY=SECONDS` shortens
/// [`LINE_EVERY`], so a test sees interim lines without a 30 s ship.
fn line_every() -> Duration {
    std::env::var("BACKUP_TEST_PROGRESS_EVERY")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map_or(LINE_EVERY, Duration::from_secs_f64)
}

impl CliProgress {
    /// Chooses by whether stderr is a terminal.
    pub fn new(quiet: bool) -> CliProgress {
        if quiet {
            CliProgress::Quiet
        } else if std::io::stderr().is_terminal() {
            CliProgress::Bar(Mutex::new(None))
        } else {
            let lines = Arc::new(LineState {
                every: line_every(),
                active: AtomicBool::new(false),
                unit: Mutex::new(Unit::Bytes),
                label: Mutex::new(String::new()),
                started: Mutex::new(Instant::now()),
                last: Mutex::new(Instant::now()),
                done: AtomicU64::new(0),
                total: AtomicU64::new(0),
                sent: AtomicU64::new(0),
            });
            ticker(Arc::downgrade(&lines));
            CliProgress::Lines(lines)
        }
    }
}

/// Prints the interim line of a phase under way when nothing else does:
/// a ship whose reading waits on an upload (a bandwidth limit, a slow
/// NAS) calls neither `advance` nor `sent` for a while, and its lines must
/// not stop. Ends once the progress is dropped.
fn ticker(lines: Weak<LineState>) {
    let Some(every) = lines.upgrade().map(|l| l.every) else {
        return;
    };
    let nap = (every / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
    let spawned = std::thread::Builder::new()
        .name("progress".into())
        .spawn(move || loop {
            std::thread::sleep(nap);
            let Some(l) = lines.upgrade() else { return };
            if l.active.load(Ordering::Relaxed) {
                l.maybe_line();
            }
        });
    // Without the thread, lines still come from reads and uploads.
    drop(spawned);
}

impl CliProgress {
    fn start(&self, label: &str, total: Option<u64>, unit: Unit) {
        match self {
            CliProgress::Quiet => {}
            CliProgress::Bar(b) => {
                // The label is cut and what follows the counters fills the
                // rest of the line ({wide_msg}), so the bar fits the terminal.
                let template = match (unit, total) {
                    (Unit::Bytes, Some(_)) => {
                        "{prefix} [{bar:24}] {percent:>3}% {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {wide_msg}"
                            .to_string()
                    }
                    (Unit::Bytes, None) => {
                        "{spinner} {prefix} {bytes} {binary_bytes_per_sec} {elapsed} {wide_msg}".to_string()
                    }
                    (Unit::Items(noun), Some(_)) => {
                        format!("{{prefix}} [{{bar:24}}] {{pos}}/{{len}} {noun} ETA {{eta}} {{wide_msg}}")
                    }
                    (Unit::Items(noun), None) => {
                        format!("{{spinner}} {{prefix}} {{pos}} {noun} {{elapsed}} {{wide_msg}}")
                    }
                };
                let style = ProgressStyle::with_template(&template).expect("valid template");
                let pb = match total {
                    Some(t) => ProgressBar::new(t).with_style(style.progress_chars("=> ")),
                    None => ProgressBar::new_spinner().with_style(style),
                };
                pb.set_draw_target(ProgressDrawTarget::stderr());
                pb.set_prefix(short(label, 40));
                pb.enable_steady_tick(Duration::from_millis(200));
                *b.lock().unwrap() = Some(BarState {
                    pb,
                    started: Instant::now(),
                    sent: 0,
                });
            }
            CliProgress::Lines(s) => {
                *s.unit.lock().unwrap() = unit;
                *s.label.lock().unwrap() = label.to_string();
                *s.started.lock().unwrap() = Instant::now();
                *s.last.lock().unwrap() = Instant::now();
                s.done.store(0, Ordering::Relaxed);
                s.sent.store(0, Ordering::Relaxed);
                s.total.store(total.unwrap_or(0), Ordering::Relaxed);
                s.active.store(true, Ordering::Relaxed);
                eprintln!("{}", started_line(label, total, unit));
            }
        }
    }
}

impl Progress for CliProgress {
    fn begin(&self, label: &str, total: Option<u64>) {
        self.start(label, total, Unit::Bytes);
    }

    fn begin_items(&self, label: &str, total: Option<u64>, noun: &'static str) {
        self.start(label, total, Unit::Items(noun));
    }

    fn advance(&self, n: u64) {
        match self {
            CliProgress::Quiet => {}
            CliProgress::Bar(b) => {
                if let Some(bar) = &*b.lock().unwrap() {
                    bar.pb.inc(n);
                }
            }
            CliProgress::Lines(s) => {
                s.done.fetch_add(n, Ordering::Relaxed);
                s.maybe_line();
            }
        }
    }

    fn sent(&self, n: u64) {
        match self {
            CliProgress::Quiet => {}
            CliProgress::Bar(b) => {
                if let Some(bar) = &mut *b.lock().unwrap() {
                    bar.sent += n;
                    let secs = bar.started.elapsed().as_secs_f64();
                    bar.pb.set_message(
                        sent_part(bar.sent, secs)
                            .trim_start_matches("; ")
                            .to_string(),
                    );
                }
            }
            CliProgress::Lines(s) => {
                s.sent.fetch_add(n, Ordering::Relaxed);
                s.maybe_line();
            }
        }
    }

    fn end(&self) {
        match self {
            CliProgress::Quiet => {}
            CliProgress::Bar(b) => {
                if let Some(bar) = b.lock().unwrap().take() {
                    bar.pb.finish_and_clear();
                }
            }
            CliProgress::Lines(s) => {
                // Under `last`'s lock: no interim line after the done line.
                {
                    let _last = s.last.lock().unwrap();
                    s.active.store(false, Ordering::Relaxed);
                }
                let done = s.done.load(Ordering::Relaxed);
                let secs = s.started.lock().unwrap().elapsed().as_secs_f64();
                let unit = *s.unit.lock().unwrap();
                let label = s.label.lock().unwrap();
                let sent = s.sent.load(Ordering::Relaxed);
                eprintln!("{}", done_line(&label, done, secs, unit, sent));
            }
        }
    }
}

impl LineState {
    /// The interim line, at most every 30 s: called on reads and on
    /// uploads, so a ship whose reading waits on its uploads still reports.
    fn maybe_line(&self) {
        let mut last = self.last.lock().unwrap();
        if !self.active.load(Ordering::Relaxed) || last.elapsed() < self.every {
            return;
        }
        *last = Instant::now();
        let secs = self.started.lock().unwrap().elapsed().as_secs_f64();
        let line = interim_line(
            &self.label.lock().unwrap(),
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
            secs,
            *self.unit.lock().unwrap(),
            self.sent.load(Ordering::Relaxed),
        );
        eprintln!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 17): `prune` printed "removing packs: started,
    /// 6 B" for 6 packs; a phase counting items says so.
    #[test]
    fn a_count_of_items_is_not_shown_as_bytes() {
        let packs = Unit::Items("packs");
        assert_eq!(
            started_line("removing packs", Some(6), packs),
            "removing packs: started, 6 packs"
        );
        assert_eq!(
            done_line("removing packs", 6, 2.0, packs, 0),
            "removing packs: done, 6 packs in 2.0 s, 3.0 packs/s"
        );
        assert_eq!(
            interim_line("reading pack trailers", 3, 6, 1.0, packs, 0),
            "reading pack trailers: 3 packs of 6 packs (50%, ETA 1 s), 3.0 packs/s"
        );
        assert_eq!(
            started_line("repacking", Some(6 << 20), Unit::Bytes),
            "repacking: started, 6.0 MiB"
        );
        assert_eq!(
            done_line("repacking", 2048, 2.0, Unit::Bytes, 0),
            "repacking: done, 2.0 KiB in 2.0 s, 1.0 KiB/s"
        );
    }

    /// Regression (issue 17): a ship's progress had no total, and counted
    /// only what it read, so an upload limit did not show and the count
    /// froze while the uploads went on. With zfs's estimate it says how
    /// far, how long, and what left for the repository at what rate.
    #[test]
    fn a_ship_line_has_its_share_of_the_estimate_an_eta_and_the_upload_rate() {
        let line = interim_line(
            "send tank/www@s1 (estimated size)",
            1 << 30,
            4 << 30,
            100.0,
            Unit::Bytes,
            400 << 20,
        );
        assert_eq!(
            line,
            "send tank/www@s1 (estimated size): 1.0 GiB of 4.0 GiB (25%, ETA 5 min), 10.2 MiB/s; 400.0 MiB sent to the repository, 4.0 MiB/s"
        );
        assert_eq!(eta(45.0), "45 s");
        assert_eq!(eta(3.0 * 3600.0 + 300.0), "3 h 05 min");
        assert_eq!(
            short(
                "restore pool/a-very-long-dataset-name@snapshot into pool/x",
                20
            )
            .chars()
            .count(),
            20
        );
    }
}
