//! Drill history in the catalog: every drill's whole JSON report, with its
//! job, times and outcome in columns to query on. Like job history it is
//! not rebuildable from the repository, and `rebuild` leaves it alone.

use rusqlite::{params, OptionalExtension};

use super::Catalog;
use crate::drill::{DrillReport, Outcome};
use crate::error::{Error, Result};

/// How many matching ids an ambiguous prefix error lists.
const AMBIGUOUS_SHOWN: usize = 5;

impl Catalog {
    /// Records a drill (again, if its id is known: the new report wins).
    pub fn record_drill(&self, r: &DrillReport) -> Result<()> {
        let report = serde_json::to_string(r).map_err(|e| Error::Invalid {
            what: format!("report of drill {}", r.id),
            reason: e.to_string(),
        })?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO drills (id, job, started, finished, outcome, report)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    r.id,
                    r.job,
                    r.started,
                    r.finished,
                    r.outcome.as_str(),
                    report
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Drills of `job` (or of every job), newest first, at most `limit`.
    pub fn drills(&self, job: Option<&str>, limit: usize) -> Result<Vec<DrillReport>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, report FROM drills WHERE ?1 IS NULL OR job = ?1
                 ORDER BY started DESC, id DESC LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![job, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<(String, String)>>>()
            .map_err(|e| self.err(e))?;
        rows.iter()
            .map(|(id, json)| self.parse_report(id, json))
            .collect()
    }

    /// The drill with this id, or the only one whose id starts with it.
    /// [`Error::DrillNotFound`] if none does, [`Error::DrillAmbiguous`] if
    /// several do.
    pub fn drill(&self, id_or_prefix: &str) -> Result<DrillReport> {
        let exact: Option<String> = self
            .conn
            .query_row(
                "SELECT report FROM drills WHERE id = ?1",
                [id_or_prefix],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        if let Some(json) = exact {
            return self.parse_report(id_or_prefix, &json);
        }
        let mut st = self
            .conn
            .prepare(
                "SELECT id, report FROM drills WHERE substr(id, 1, length(?1)) = ?1
                 ORDER BY started DESC, id DESC",
            )
            .map_err(|e| self.err(e))?;
        let mut found = st
            .query_map([id_or_prefix], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<(String, String)>>>()
            .map_err(|e| self.err(e))?;
        match found.len() {
            0 => Err(Error::DrillNotFound {
                query: id_or_prefix.to_string(),
                catalog: self.path.clone(),
            }),
            1 => {
                let (id, json) = found.remove(0);
                self.parse_report(&id, &json)
            }
            n => Err(Error::DrillAmbiguous {
                query: id_or_prefix.to_string(),
                count: n,
                ids: found
                    .into_iter()
                    .take(AMBIGUOUS_SHOWN)
                    .map(|(id, _)| id)
                    .collect(),
            }),
        }
    }

    /// The newest drill of `job`, whatever its outcome.
    pub fn last_drill(&self, job: &str) -> Result<Option<DrillReport>> {
        self.newest_drill(job, None)
    }

    /// The newest drill of `job` that ended with `outcome` (with
    /// [`Outcome::Pass`]: the last passing drill).
    pub fn last_drill_with(&self, job: &str, outcome: Outcome) -> Result<Option<DrillReport>> {
        self.newest_drill(job, Some(outcome))
    }

    /// When the newest drill of `job` started (Unix seconds), whatever its
    /// outcome: what `run --due` measures a drill's schedule from.
    pub fn last_drill_at(&self, job: &str) -> Result<Option<i64>> {
        self.conn
            .query_row(
                "SELECT MAX(started) FROM drills WHERE job = ?1",
                [job],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    fn newest_drill(&self, job: &str, outcome: Option<Outcome>) -> Result<Option<DrillReport>> {
        let row: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT id, report FROM drills WHERE job = ?1 AND (?2 IS NULL OR outcome = ?2)
                 ORDER BY started DESC, id DESC LIMIT 1",
                params![job, outcome.map(Outcome::as_str)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        row.map(|(id, json)| self.parse_report(&id, &json))
            .transpose()
    }

    fn parse_report(&self, id: &str, json: &str) -> Result<DrillReport> {
        serde_json::from_str(json).map_err(|e| {
            Error::corrupt(
                format!("report of drill {id} in catalog {}", self.path.display()),
                e.to_string(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog;
    use crate::drill::Outcome;
    use crate::drill_fixture::report;
    use crate::error::Error;

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
        c.conn
            .execute("UPDATE drills SET report = '{' WHERE id = ?1", [&r.id])
            .unwrap();
        let e = c.drill(&r.id).unwrap_err().to_string();
        assert!(e.contains(&format!("report of drill {}", r.id)), "{e}");
    }

    #[test]
    fn a_version_3_catalog_is_migrated_keeping_its_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 INSERT INTO meta VALUES ('schema_version', '0');",
            )
            .unwrap();
            for step in &super::super::MIGRATIONS[..3] {
                conn.execute_batch(step).unwrap();
            }
            conn.execute_batch(
                "UPDATE meta SET value = '3' WHERE key = 'schema_version';
                 INSERT INTO job_runs (job, started, finished, ok, shipped, stream_bytes, stored_bytes, run_at)
                 VALUES ('web', 10, 20, 1, 1, 5, 5, 10);",
            )
            .unwrap();
        }
        let c = Catalog::open(&path).unwrap();
        assert_eq!(c.last_run_at("web").unwrap(), Some(10));
        c.record_drill(&report("web", 1000, Outcome::Pass)).unwrap();
        assert_eq!(c.last_drill_at("web").unwrap(), Some(1000));
        drop(c);
        let version: String = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(version, "4");
    }
}
