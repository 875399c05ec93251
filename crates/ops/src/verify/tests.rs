//! Tests of scheduled verification: the rotation covers every pack within
//! `ceil(100 / p)` runs, through the catalog's cursor, and damage turns a
//! verification red until one passes.

use std::collections::HashSet;

use backup_core::test_support::{fake_stream, pseudo_random, ship_test_stream, test_repo};
use backup_core::{rotation_step, Backend, FileType, Id, NoProgress, Portion, Rotation};
use jiff::{SignedDuration, Timestamp};

use super::*;

fn job(extra: &str) -> Job {
    let text = format!(
        "[repositories.nas]\nlocation = \"/nas\"\npassword_file = \"/p\"\n\n\
         [jobs.web]\nrepository = \"nas\"\ndatasets = [\"tank/www\"]\n{extra}"
    );
    let c = crate::config::parse("backup.toml".as_ref(), &text).unwrap();
    c.jobs["web"].clone()
}

#[test]
fn the_rotation_covers_every_pack_within_ceil_100_over_p_runs() {
    for n in 1u8..=60 {
        let packs: Vec<(Id, u64)> = (0..n).map(|i| (Id([i.wrapping_mul(37); 32]), 1)).collect();
        for p in [1.0, 3.0, 5.0, 7.5, 10.0, 25.0, 33.0, 50.0, 99.0, 100.0] {
            for start in [None, Some(packs[usize::from(n) / 2].0)] {
                let runs = runs_per_pass(p);
                let mut after = start;
                let mut seen = HashSet::new();
                for _ in 0..runs {
                    let step = rotation_step(
                        &packs,
                        Rotation {
                            after,
                            portion: Portion::Percent(p),
                        },
                    );
                    seen.extend(step.packs);
                    after = step.last;
                }
                assert_eq!(seen.len(), usize::from(n), "n={n} p={p} start={start:?}");
            }
        }
    }
}

#[test]
fn successive_verifications_read_every_pack_through_the_catalog_cursor() {
    let (backend, mut repo) = test_repo();
    let data = fake_stream(&pseudo_random(3_000_000, 21));
    ship_test_stream(&mut repo, data.as_slice(), "a", 1, None);
    let packs = backend.list(FileType::Pack).unwrap().len() as u64;
    assert!(packs >= 5, "{packs} packs");
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
    let j = job("check_every = \"1d\"\ncheck_read_data = \"25%\"\n");
    let runs = runs_per_pass(25.0);
    assert_eq!(runs, 4);
    let mut now = Timestamp::from_second(1_800_000_000).unwrap();
    let mut read = 0;
    let mut passes = 0;
    for _ in 0..runs {
        assert!(is_due(&j, &catalog, now).unwrap());
        let (v, _) = verify(&j, &repo, &catalog, now, &NoProgress).unwrap();
        assert!(v.ok, "{:?}", v.problems);
        assert_eq!(v.packs, packs);
        assert_eq!(v.portion.as_deref(), Some("25%"));
        read += v.packs_read;
        passes += u64::from(v.completed_pass);
        assert!(!is_due(&j, &catalog, now).unwrap());
        now += SignedDuration::from_hours(24);
    }
    // Each run reads ceil(packs / 4); the last one wraps around.
    let per_run = packs.div_ceil(4);
    assert!(
        read >= packs && read < packs + per_run,
        "{read} of {packs} packs read in {runs} runs"
    );
    assert_eq!(passes, 1);
    let c = coverage(&j, Some(0)).unwrap();
    assert_eq!((c.runs, c.period_seconds), (4, 4 * 86_400));
}

#[test]
fn a_damaged_pack_fails_the_verification_that_reads_it_until_one_passes() {
    let (backend, mut repo) = test_repo();
    let data = fake_stream(&pseudo_random(1_000_000, 5));
    ship_test_stream(&mut repo, data.as_slice(), "a", 1, None);
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
    let j = job("check_every = \"7d\"\ncheck_read_data = \"100%\"\n");
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let (pack, _) = backend.list(FileType::Pack).unwrap().remove(0);
    let original = backend.read(FileType::Pack, &pack).unwrap();
    backend.tamper(FileType::Pack, &pack, |b| {
        let mid = b.len() / 2;
        b[mid] ^= 1;
    });
    let (v, _) = verify(&j, &repo, &catalog, now, &NoProgress).unwrap();
    assert!(!v.ok);
    assert!(
        v.problems.iter().any(|p| p.contains(&pack)),
        "{:?}",
        v.problems
    );
    assert_eq!(catalog.last_verification("web", None).unwrap(), Some(v));
    backend.tamper(FileType::Pack, &pack, |b| b.copy_from_slice(&original));
    let later = now + SignedDuration::from_hours(24 * 7);
    let (v, _) = verify(&j, &repo, &catalog, later, &NoProgress).unwrap();
    assert!(v.ok, "{:?}", v.problems);
    assert_eq!(
        catalog
            .last_verification("web", Some(true))
            .unwrap()
            .unwrap()
            .started,
        later.as_second()
    );
}

#[test]
fn due_when_never_verified_or_check_every_has_passed() {
    assert_eq!(next_due(None, Some(5)), None);
    let week = Some(SignedDuration::from_hours(168));
    assert_eq!(next_due(week, None), Some(0));
    assert_eq!(next_due(week, Some(100)), Some(100 + 7 * 86_400));
    let structure_only = job("check_every = \"7d\"\n");
    assert_eq!(coverage(&structure_only, Some(10)), None);
    let by_size = job("check_every = \"1d\"\ncheck_read_data = \"1MiB\"\n");
    assert_eq!(coverage(&by_size, None), None);
    let c = coverage(&by_size, Some(5 * 1024 * 1024 + 1)).unwrap();
    assert_eq!(c.runs, 6);
}

#[test]
fn portions_are_written_as_people_write_them() {
    assert_eq!(portion_text(Portion::Percent(5.0)), "5%");
    assert_eq!(portion_text(Portion::Percent(2.5)), "2.5%");
    assert_eq!(portion_text(Portion::Bytes(2 << 30)), "2GiB");
    assert_eq!(portion_text(Portion::Bytes(1_500_000)), "1500000B");
}
