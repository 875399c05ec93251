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

/// State of the plain-lines reporter.
pub struct LineState {
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
                label: Mutex::new(String::new()),
                started: Mutex::new(Instant::now()),
                last: Mutex::new(Instant::now()),
                done: AtomicU64::new(0),
                total: AtomicU64::new(0),
            })
        }
    }
}

impl Progress for CliProgress {
    fn begin(&self, label: &str, total: Option<u64>) {
        match self {
            CliProgress::Quiet => {}
            CliProgress::Bar(b) => {
                let pb = match total {
                    Some(t) => ProgressBar::new(t).with_style(
                        ProgressStyle::with_template(
                            "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
                        )
                        .expect("valid template")
                        .progress_chars("=> "),
                    ),
                    None => ProgressBar::new_spinner().with_style(
                        ProgressStyle::with_template("{spinner} {msg} {bytes} {binary_bytes_per_sec} {elapsed}")
                            .expect("valid template"),
                    ),
                };
                pb.set_draw_target(ProgressDrawTarget::stderr());
                pb.set_message(label.to_string());
                pb.enable_steady_tick(Duration::from_millis(200));
                *b.lock().unwrap() = Some(pb);
            }
            CliProgress::Lines(s) => {
                *s.label.lock().unwrap() = label.to_string();
                *s.started.lock().unwrap() = Instant::now();
                *s.last.lock().unwrap() = Instant::now();
                s.done.store(0, Ordering::Relaxed);
                s.total.store(total.unwrap_or(0), Ordering::Relaxed);
                match total {
                    Some(t) => eprintln!("{label}: started, {}", bytes(t)),
                    None => eprintln!("{label}: started"),
                }
            }
        }
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
                    let of = if total > 0 {
                        format!(" of {}", bytes(total))
                    } else {
                        String::new()
                    };
                    eprintln!(
                        "{}: {}{of}, {}",
                        s.label.lock().unwrap(),
                        bytes(done),
                        rate(done, secs)
                    );
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
                eprintln!(
                    "{}: done, {} in {secs:.1} s, {}",
                    s.label.lock().unwrap(),
                    bytes(done),
                    rate(done, secs)
                );
            }
        }
    }
}
