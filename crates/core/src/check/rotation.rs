//! The rotation of scheduled verification: which packs one run reads.
//!
//! Packs are taken in the order of their ids (a stable order that needs no
//! state but the last id read), starting after the pack the previous run
//! read last and wrapping around after the highest id, until the run's
//! [`Portion`] is read. So successive runs read every pack: with a portion
//! of `p` percent, every pack present throughout is read within
//! `ceil(100 / p)` runs ([`runs_per_pass`]); with a portion of `b` bytes,
//! within `ceil(total / b)` runs. A pack added with an id below the cursor
//! waits for the next pass; a pruned pack is simply no longer there.

use serde::Serialize;

use crate::id::Id;

/// How much of the repository one verification reads.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Portion {
    /// This percentage of the packs by count, rounded up (0 < p <= 100).
    Percent(f64),
    /// Packs until at least this many bytes are read (at least one pack).
    Bytes(u64),
}

/// Where a run of the rotation starts and how much it reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rotation {
    /// The last pack the previous run read; `None` starts at the lowest id.
    pub after: Option<Id>,
    /// How much this run reads.
    pub portion: Portion,
}

/// What one run of the rotation chose.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RotationStep {
    /// The packs to read, in the order read.
    #[serde(skip)]
    pub packs: Vec<Id>,
    /// The last of them: the next run's [`Rotation::after`].
    pub last: Option<Id>,
    /// True if this run read the pack with the highest id: a pass over every
    /// pack is complete, and the next run starts again from the lowest.
    pub completed_pass: bool,
}

/// Chooses the packs of one run from `packs` (every indexed pack with its
/// size, in any order). Pure.
pub fn rotation_step(packs: &[(Id, u64)], rotation: Rotation) -> RotationStep {
    let mut sorted: Vec<(Id, u64)> = packs.to_vec();
    sorted.sort_unstable_by_key(|p| p.0);
    sorted.dedup_by_key(|p| p.0);
    let n = sorted.len();
    if n == 0 {
        return RotationStep::default();
    }
    let start = match rotation.after {
        Some(after) => sorted.partition_point(|p| p.0 <= after) % n,
        None => 0,
    };
    let count = match rotation.portion {
        Portion::Percent(p) => {
            let k = ((n as f64) * p / 100.0).ceil() as usize;
            k.clamp(1, n)
        }
        Portion::Bytes(budget) => {
            let mut read = 0u64;
            let mut k = 0;
            while k < n && (k == 0 || read < budget) {
                read += sorted[(start + k) % n].1;
                k += 1;
            }
            k
        }
    };
    let chosen: Vec<Id> = (0..count).map(|i| sorted[(start + i) % n].0).collect();
    RotationStep {
        last: chosen.last().copied(),
        completed_pass: start + count >= n,
        packs: chosen,
    }
}

/// Runs of a percentage portion in which every pack is read:
/// `ceil(100 / percent)`. Each run reads `ceil(n × p / 100)` ≥ `n × p / 100`
/// packs, so `ceil(100 / p)` runs read at least `n`.
pub fn runs_per_pass(percent: f64) -> u64 {
    if percent <= 0.0 || !percent.is_finite() {
        return u64::MAX;
    }
    (100.0 / percent).ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packs(n: u8) -> Vec<(Id, u64)> {
        (0..n).map(|i| (Id([i; 32]), 100)).collect()
    }

    #[test]
    fn starts_at_the_lowest_id_and_continues_after_the_cursor() {
        let p = packs(10);
        let s = rotation_step(
            &p,
            Rotation {
                after: None,
                portion: Portion::Percent(30.0),
            },
        );
        assert_eq!(s.packs, vec![Id([0; 32]), Id([1; 32]), Id([2; 32])]);
        assert!(!s.completed_pass);
        let s = rotation_step(
            &p,
            Rotation {
                after: s.last,
                portion: Portion::Percent(30.0),
            },
        );
        assert_eq!(s.packs[0], Id([3; 32]));
    }

    #[test]
    fn wraps_around_after_the_highest_id() {
        let s = rotation_step(
            &packs(4),
            Rotation {
                after: Some(Id([2; 32])),
                portion: Portion::Percent(50.0),
            },
        );
        assert_eq!(s.packs, vec![Id([3; 32]), Id([0; 32])]);
        assert!(s.completed_pass);
    }

    #[test]
    fn a_cursor_whose_pack_was_pruned_still_finds_its_place() {
        let mut p = packs(6);
        p.remove(2);
        let s = rotation_step(
            &p,
            Rotation {
                after: Some(Id([2; 32])),
                portion: Portion::Percent(1.0),
            },
        );
        assert_eq!(s.packs, vec![Id([3; 32])]);
    }

    #[test]
    fn a_byte_portion_reads_until_the_budget_is_reached() {
        let s = rotation_step(
            &packs(10),
            Rotation {
                after: None,
                portion: Portion::Bytes(250),
            },
        );
        assert_eq!(s.packs.len(), 3);
        let s = rotation_step(
            &packs(10),
            Rotation {
                after: None,
                portion: Portion::Bytes(1),
            },
        );
        assert_eq!(s.packs.len(), 1, "at least one pack");
        let s = rotation_step(
            &packs(3),
            Rotation {
                after: None,
                portion: Portion::Bytes(u64::MAX),
            },
        );
        assert_eq!(s.packs.len(), 3, "never a pack twice");
    }

    #[test]
    fn no_packs_no_step() {
        let s = rotation_step(
            &[],
            Rotation {
                after: None,
                portion: Portion::Percent(100.0),
            },
        );
        assert_eq!(s, RotationStep::default());
    }

    #[test]
    fn runs_per_pass_rounds_up() {
        assert_eq!(runs_per_pass(5.0), 20);
        assert_eq!(runs_per_pass(30.0), 4);
        assert_eq!(runs_per_pass(100.0), 1);
    }
}
