//! Progress: a bar with throughput and ETA on a terminal, plain lines
//! (suitable for the journal) otherwise.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use backup_core::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::format::{bytes, rate};

/// Draws progress on stderr.
pub enum CliProgress {
    /// Nothing at all (`--quiet`).
    Quiet,
    /// An indicatif bar.
    Bar(Mutex<Option<ProgressBar>>),
    /// A line when a phase starts, every 30 s, and when it ends.
    Lines(LineState),
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

/// The interim line: "send tank/www: 1.0 GiB of 2.0 GiB, 10.0 MiB/s".
fn interim_line(label: &str, done: u64, total: u64, secs: f64, unit: Unit) -> String {
    let of = if total > 0 {
        format!(" of {}", unit.amount(total))
    } else {
        String::new()
    };
    format!(
        "{label}: {}{of}{}",
        unit.amount(done),
        unit.rate(done, secs)
    )
}

/// The line when a phase ends: "removing packs: done, 6 packs in 0.2 s".
fn done_line(label: &str, done: u64, secs: f64, unit: Unit) -> String {
    format!(
        "{label}: done, {} in {secs:.1} s{}",
        unit.amount(done),
        unit.rate(done, secs)
    )
}

/// State of the plain-lines reporter.
pub struct LineState {
    unit: Mutex<Unit>,
    label: Mutex<String>,
    started: Mutex<Instant>,
    last: Mutex<Instant>,
    done: AtomicU64,
    total: AtomicU64,
}

impl CliProgress {
    /// Chooses by whether stderr is a terminal.
    pub fn new(quiet: bool) -> CliProgress {
        if quiet {
            CliProgress::Quiet
        } else if std::io::stderr().is_terminal() {
            CliProgress::Bar(Mutex::new(None))
        } else {
            CliProgress::Lines(LineState {
                unit: Mutex::new(Unit::Bytes),
                label: Mutex::new(String::new()),
                started: Mutex::new(Instant::now()),
                last: Mutex::new(Instant::now()),
                done: AtomicU64::new(0),
                total: AtomicU64::new(0),
            })
        }
    }
}

impl CliProgress {
    fn start(&self, label: &str, total: Option<u64>, unit: Unit) {
        match self {
            CliProgress::Quiet => {}
            CliProgress::Bar(b) => {
                let template = match (unit, total) {
                    (Unit::Bytes, Some(_)) => {
                        "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}"
                            .to_string()
                    }
                    (Unit::Bytes, None) => {
                        "{spinner} {msg} {bytes} {binary_bytes_per_sec} {elapsed}".to_string()
                    }
                    (Unit::Items(noun), Some(_)) => {
                        format!("{{msg}} [{{bar:30}}] {{pos}}/{{len}} {noun} ETA {{eta}}")
                    }
                    (Unit::Items(noun), None) => {
                        format!("{{spinner}} {{msg}} {{pos}} {noun} {{elapsed}}")
                    }
                };
                let style = ProgressStyle::with_template(&template).expect("valid template");
                let pb = match total {
                    Some(t) => ProgressBar::new(t).with_style(style.progress_chars("=> ")),
                    None => ProgressBar::new_spinner().with_style(style),
                };
                pb.set_draw_target(ProgressDrawTarget::stderr());
                pb.set_message(label.to_string());
                pb.enable_steady_tick(Duration::from_millis(200));
                *b.lock().unwrap() = Some(pb);
            }
            CliProgress::Lines(s) => {
                *s.unit.lock().unwrap() = unit;
                *s.label.lock().unwrap() = label.to_string();
                *s.started.lock().unwrap() = Instant::now();
                *s.last.lock().unwrap() = Instant::now();
                s.done.store(0, Ordering::Relaxed);
                s.total.store(total.unwrap_or(0), Ordering::Relaxed);
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
                if let Some(pb) = &*b.lock().unwrap() {
                    pb.inc(n);
                }
            }
            CliProgress::Lines(s) => {
                let done = s.done.fetch_add(n, Ordering::Relaxed) + n;
                let mut last = s.last.lock().unwrap();
                if last.elapsed() >= Duration::from_secs(30) {
                    *last = Instant::now();
                    let secs = s.started.lock().unwrap().elapsed().as_secs_f64();
                    let total = s.total.load(Ordering::Relaxed);
                    let unit = *s.unit.lock().unwrap();
                    let label = s.label.lock().unwrap();
                    eprintln!("{}", interim_line(&label, done, total, secs, unit));
                }
            }
        }
    }

    fn end(&self) {
        match self {
            CliProgress::Quiet => {}
            CliProgress::Bar(b) => {
                if let Some(pb) = b.lock().unwrap().take() {
                    pb.finish_and_clear();
                }
            }
            CliProgress::Lines(s) => {
                let done = s.done.load(Ordering::Relaxed);
                let secs = s.started.lock().unwrap().elapsed().as_secs_f64();
                let unit = *s.unit.lock().unwrap();
                let label = s.label.lock().unwrap();
                eprintln!("{}", done_line(&label, done, secs, unit));
            }
        }
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
            done_line("removing packs", 6, 2.0, packs),
            "removing packs: done, 6 packs in 2.0 s, 3.0 packs/s"
        );
        assert_eq!(
            interim_line("reading pack trailers", 3, 6, 1.0, packs),
            "reading pack trailers: 3 packs of 6 packs, 3.0 packs/s"
        );
        assert_eq!(
            started_line("repacking", Some(6 << 20), Unit::Bytes),
            "repacking: started, 6.0 MiB"
        );
        assert_eq!(
            done_line("repacking", 2048, 2.0, Unit::Bytes),
            "repacking: done, 2.0 KiB in 2.0 s, 1.0 KiB/s"
        );
    }
}
