//! Drill history: each [`DrillReport`] recorded in the catalog of the job's
//! repository, whole, as JSON, and read back. The catalog keeps the rows
//! (`catalog/drills.rs`) without reading the reports; this module owns what
//! they hold.

use super::report::{DrillReport, Outcome};
use crate::catalog::drills::{DrillRow, StoredDrill};
use crate::catalog::Catalog;
use crate::error::{Error, Result};

impl Catalog {
    /// Records a drill (again, if its id is known: the new report wins).
    pub fn record_drill(&self, r: &DrillReport) -> Result<()> {
        let report = serde_json::to_string(r).map_err(|e| Error::Invalid {
            what: format!("report of drill {}", r.id),
            reason: e.to_string(),
        })?;
        self.put_drill(&DrillRow {
            id: &r.id,
            job: &r.job,
            started: r.started,
            finished: r.finished,
            outcome: r.outcome.as_str(),
            report: &report,
        })
    }

    /// Drills of `job` (or of every job), newest first, at most `limit`.
    pub fn drills(&self, job: Option<&str>, limit: usize) -> Result<Vec<DrillReport>> {
        self.drill_rows(job, limit)?
            .iter()
            .map(|d| self.parse_report(d))
            .collect()
    }

    /// The drill with this id, or the only one whose id starts with it.
    /// [`Error::DrillNotFound`] if none does, [`Error::DrillAmbiguous`] if
    /// several do.
    pub fn drill(&self, id_or_prefix: &str) -> Result<DrillReport> {
        self.parse_report(&self.find_drill(id_or_prefix)?)
    }

    /// The newest drill of `job`, whatever its outcome.
    pub fn last_drill(&self, job: &str) -> Result<Option<DrillReport>> {
        self.newest_drill(job, None)?
            .map(|d| self.parse_report(&d))
            .transpose()
    }

    /// The newest drill of `job` that ended with `outcome` (with
    /// [`Outcome::Pass`]: the last passing drill).
    pub fn last_drill_with(&self, job: &str, outcome: Outcome) -> Result<Option<DrillReport>> {
        self.newest_drill(job, Some(outcome.as_str()))?
            .map(|d| self.parse_report(&d))
            .transpose()
    }

    fn parse_report(&self, d: &StoredDrill) -> Result<DrillReport> {
        serde_json::from_str(&d.report).map_err(|e| {
            Error::corrupt(
                format!(
                    "report of drill {} in catalog {}",
                    d.id,
                    self.path().display()
                ),
                e.to_string(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::fixture::report;

    fn catalog() -> (Catalog, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (Catalog::open(&dir.path().join("c.sqlite")).unwrap(), dir)
    }

    #[test]
    fn records_and_lists_newest_first_per_job() {
        let (c, _d) = catalog();
        assert!(c.drills(None, 10).unwrap().is_empty());
        assert_eq!(c.last_drill_at("web").unwrap(), None);
        assert!(c.last_drill("web").unwrap().is_none());
        c.record_drill(&report("web", 1000, Outcome::Pass)).unwrap();
        c.record_drill(&report("web", 3000, Outcome::Fail)).unwrap();
        c.record_drill(&report("db", 2000, Outcome::Error)).unwrap();
        let all: Vec<_> = c.drills(None, 10).unwrap();
        let starts: Vec<i64> = all.iter().map(|r| r.started).collect();
        assert_eq!(starts, [3000, 2000, 1000]);
        assert_eq!(c.drills(None, 2).unwrap().len(), 2);
        let web: Vec<_> = c.drills(Some("web"), 10).unwrap();
        assert_eq!(web.len(), 2);
        assert_eq!(web[0], report("web", 3000, Outcome::Fail), "stored whole");
        assert_eq!(c.last_drill_at("web").unwrap(), Some(3000));
        assert_eq!(c.last_drill("web").unwrap().unwrap().started, 3000);
        let pass = c.last_drill_with("web", Outcome::Pass).unwrap().unwrap();
        assert_eq!(pass.started, 1000);
        assert!(c.last_drill_with("db", Outcome::Pass).unwrap().is_none());
        assert!(c.last_drill("nope").unwrap().is_none());
    }

    #[test]
    fn recording_the_same_drill_again_replaces_it() {
        let (c, _d) = catalog();
        let mut r = report("web", 1000, Outcome::Error);
        c.record_drill(&r).unwrap();
        r.outcome = Outcome::Pass;
        c.record_drill(&r).unwrap();
        assert_eq!(c.drills(None, 10).unwrap(), [r.clone()]);
        assert!(c.last_drill_with("web", Outcome::Pass).unwrap().is_some());
    }

    #[test]
    fn finds_by_id_or_unique_prefix_and_names_the_problem_otherwise() {
        let (c, _d) = catalog();
        let a = report("web", 1000, Outcome::Pass);
        let b = report("web", 1060, Outcome::Pass);
        let d = report("db", 1000, Outcome::Pass);
        for r in [&a, &b, &d] {
            c.record_drill(r).unwrap();
        }
        assert_eq!(c.drill(&a.id).unwrap(), a);
        assert_eq!(c.drill("db-").unwrap(), d);
        match c.drill("web-") {
            Err(e @ Error::DrillAmbiguous { .. }) => {
                let text = e.to_string();
                assert!(text.contains("\"web-\" matches 2 drills"), "{text}");
                assert!(text.contains(&a.id) && text.contains(&b.id), "{text}");
            }
            other => panic!("{other:?}"),
        }
        match c.drill("nope") {
            Err(e @ Error::DrillNotFound { .. }) => {
                let text = e.to_string();
                assert!(text.contains("\"nope\""), "{text}");
                assert!(text.contains("c.sqlite"), "{text}");
            }
            other => panic!("{other:?}"),
        }
        // `%` and `_` are not wildcards.
        assert!(matches!(c.drill("%"), Err(Error::DrillNotFound { .. })));
        assert!(matches!(c.drill("we_"), Err(Error::DrillNotFound { .. })));
    }

    #[test]
    fn a_damaged_report_is_an_error_naming_the_drill() {
        let (c, _d) = catalog();
        let r = report("web", 1000, Outcome::Pass);
        c.record_drill(&r).unwrap();
        rusqlite::Connection::open(c.path())
            .unwrap()
            .execute("UPDATE drills SET report = '{' WHERE id = ?1", [&r.id])
            .unwrap();
        let e = c.drill(&r.id).unwrap_err().to_string();
        assert!(e.contains(&format!("report of drill {}", r.id)), "{e}");
    }
}
