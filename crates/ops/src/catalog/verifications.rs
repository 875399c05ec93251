//! Verification history in the catalog (schema 6): one row per scheduled
//! or `check --job` verification, with what it read and what it found, and
//! the rotation's cursor (the last pack read), where the next one starts.
//! Like job history it is not rebuildable from the repository, and
//! `rebuild` leaves it alone.

use rusqlite::{params, OptionalExtension};

use super::Catalog;
use crate::error::Result;
use backup_core::Id;

/// One verification of a job's repository.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    /// Job name.
    pub job: String,
    /// Its own time (the wall clock at its start, or the simulated one),
    /// Unix seconds: `check_every` is measured from it.
    pub started: i64,
    /// End, Unix seconds (on the same clock).
    pub finished: i64,
    /// True if `check` found no error.
    pub ok: bool,
    /// What it read back, as written ("5%", "2GiB"); `None`: structure only.
    pub portion: Option<String>,
    /// Packs in the index.
    pub packs: u64,
    /// Their bytes.
    pub pack_bytes: u64,
    /// Packs read back.
    pub packs_read: u64,
    /// Bytes read back.
    pub bytes_read: u64,
    /// Blobs opened and verified.
    pub blobs_read: u64,
    /// The errors it found, one message each.
    pub problems: Vec<String>,
    /// Snapshots the damage makes unrestorable.
    pub damaged_snapshots: Vec<String>,
    /// The last pack read: where the next verification of the job starts.
    pub cursor: Option<Id>,
    /// True if it read the pack with the highest id (a pass is complete).
    pub completed_pass: bool,
}

const COLUMNS: &str = "job, started, finished, ok, portion, packs, pack_bytes, packs_read, \
                       bytes_read, blobs_read, problems, damaged_snapshots, cursor, completed_pass";

impl Catalog {
    /// Records a verification.
    pub fn record_verification(&self, v: &Verification) -> Result<()> {
        let json = |l: &Vec<String>| serde_json::to_string(l).expect("strings serialise");
        self.conn
            .execute(
                &format!(
                    "INSERT INTO verifications ({COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                ),
                params![
                    v.job,
                    v.started,
                    v.finished,
                    v.ok,
                    v.portion,
                    v.packs as i64,
                    v.pack_bytes as i64,
                    v.packs_read as i64,
                    v.bytes_read as i64,
                    v.blobs_read as i64,
                    json(&v.problems),
                    json(&v.damaged_snapshots),
                    v.cursor.map(|c| c.to_hex()),
                    v.completed_pass,
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The newest verification of `job`, of any result or of the one given.
    pub fn last_verification(&self, job: &str, ok: Option<bool>) -> Result<Option<Verification>> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM verifications WHERE job = ?1 AND (?2 IS NULL OR ok = ?2)
                     ORDER BY started DESC, id DESC LIMIT 1"
                ),
                params![job, ok],
                verification,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Where the next verification of `job` starts: the last pack the
    /// newest verification that read data read.
    pub fn verification_cursor(&self, job: &str) -> Result<Option<Id>> {
        let v: Option<String> = self
            .conn
            .query_row(
                "SELECT cursor FROM verifications WHERE job = ?1 AND cursor IS NOT NULL
                 ORDER BY started DESC, id DESC LIMIT 1",
                [job],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(v.and_then(|v| v.parse().ok()))
    }
}

/// A row selected as [`COLUMNS`].
fn verification(r: &rusqlite::Row<'_>) -> rusqlite::Result<Verification> {
    let list = |i: usize| -> rusqlite::Result<Vec<String>> {
        let text: String = r.get(i)?;
        Ok(serde_json::from_str(&text).unwrap_or_else(|_| vec![text]))
    };
    Ok(Verification {
        job: r.get(0)?,
        started: r.get(1)?,
        finished: r.get(2)?,
        ok: r.get(3)?,
        portion: r.get(4)?,
        packs: r.get::<_, i64>(5)? as u64,
        pack_bytes: r.get::<_, i64>(6)? as u64,
        packs_read: r.get::<_, i64>(7)? as u64,
        bytes_read: r.get::<_, i64>(8)? as u64,
        blobs_read: r.get::<_, i64>(9)? as u64,
        problems: list(10)?,
        damaged_snapshots: list(11)?,
        cursor: r.get::<_, Option<String>>(12)?.and_then(|c| c.parse().ok()),
        completed_pass: r.get(13)?,
    })
}
