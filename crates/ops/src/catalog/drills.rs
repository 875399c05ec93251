//! Drill history in the catalog: every drill's whole JSON report, with its
//! job, times and outcome in columns to query on. Like job history it is
//! not rebuildable from the repository, and `rebuild` leaves it alone.
//!
//! The catalog stores and returns the report as the text it was given and
//! never reads it: what a report holds is the drill module's
//! (`drill/history.rs`), which writes and reads these rows.

use std::path::Path;

use rusqlite::{params, OptionalExtension};

use super::Catalog;
use crate::error::{Error, Result};

/// How many matching ids an ambiguous prefix error lists.
const AMBIGUOUS_SHOWN: usize = 5;

/// One drill as the catalog writes it.
pub(crate) struct DrillRow<'a> {
    pub id: &'a str,
    pub job: &'a str,
    /// Unix seconds.
    pub started: i64,
    /// Unix seconds.
    pub finished: i64,
    /// The outcome's name, the column [`Catalog::newest_drill`] matches.
    pub outcome: &'a str,
    /// The whole report, JSON.
    pub report: &'a str,
}

/// One drill as the catalog reads it back: its id and its report's text.
pub(crate) struct StoredDrill {
    pub id: String,
    pub report: String,
}

impl Catalog {
    /// Records a drill (again, if its id is known: the new row wins).
    pub(crate) fn put_drill(&self, row: &DrillRow<'_>) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO drills (id, job, started, finished, outcome, report)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    row.id,
                    row.job,
                    row.started,
                    row.finished,
                    row.outcome,
                    row.report
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Drills of `job` (or of every job), newest first, at most `limit`.
    pub(crate) fn drill_rows(&self, job: Option<&str>, limit: usize) -> Result<Vec<StoredDrill>> {
        let mut st = self
            .conn
            .prepare(
                "SELECT id, report FROM drills WHERE ?1 IS NULL OR job = ?1
                 ORDER BY started DESC, id DESC LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![job, limit as i64], stored)
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<StoredDrill>>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The drill with this id, or the only one whose id starts with it.
    /// [`Error::DrillNotFound`] if none does, [`Error::DrillAmbiguous`] if
    /// several do.
    pub(crate) fn find_drill(&self, id_or_prefix: &str) -> Result<StoredDrill> {
        let exact: Option<String> = self
            .conn
            .query_row(
                "SELECT report FROM drills WHERE id = ?1",
                [id_or_prefix],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        if let Some(report) = exact {
            return Ok(StoredDrill {
                id: id_or_prefix.to_string(),
                report,
            });
        }
        let mut st = self
            .conn
            .prepare(
                "SELECT id, report FROM drills WHERE substr(id, 1, length(?1)) = ?1
                 ORDER BY started DESC, id DESC",
            )
            .map_err(|e| self.err(e))?;
        let mut found = st
            .query_map([id_or_prefix], stored)
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<StoredDrill>>>()
            .map_err(|e| self.err(e))?;
        match found.len() {
            0 => Err(Error::DrillNotFound {
                query: id_or_prefix.to_string(),
                catalog: self.path.clone(),
            }),
            1 => Ok(found.remove(0)),
            n => Err(Error::DrillAmbiguous {
                query: id_or_prefix.to_string(),
                count: n,
                ids: found
                    .into_iter()
                    .take(AMBIGUOUS_SHOWN)
                    .map(|d| d.id)
                    .collect(),
            }),
        }
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

    /// The newest drill of `job`, of any outcome or of the one named.
    pub(crate) fn newest_drill(
        &self,
        job: &str,
        outcome: Option<&str>,
    ) -> Result<Option<StoredDrill>> {
        self.conn
            .query_row(
                "SELECT id, report FROM drills WHERE job = ?1 AND (?2 IS NULL OR outcome = ?2)
                 ORDER BY started DESC, id DESC LIMIT 1",
                params![job, outcome],
                stored,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The file the catalog is in, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

fn stored(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredDrill> {
    Ok(StoredDrill {
        id: r.get(0)?,
        report: r.get(1)?,
    })
}
