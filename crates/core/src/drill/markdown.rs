//! The Markdown report: what the drill found, and a runbook with the exact
//! commands that restore the same datasets for real on a fresh host.

use super::report::DrillReport;

/// The report as Markdown.
pub fn markdown(report: &DrillReport) -> String {
    format!("# Restore drill {}\n\n(being written)\n", report.id)
}
