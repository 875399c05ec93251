//! Which jobs would ship a dataset: a restore into a job's tree would be
//! shipped back by that job's next run, so `restore --to` refuses it.

use backup_zfs::DatasetName;

use super::{Config, Job};

impl Job {
    /// True if this job ships `ds`: one of its datasets, or (recursive) a
    /// descendant of one, and not in an excluded subtree. Pure: by name,
    /// whether or not `ds` exists yet.
    pub fn would_ship(&self, ds: &DatasetName) -> bool {
        let covered = self
            .datasets
            .iter()
            .any(|d| d == ds || (self.recursive && d.contains(ds)));
        covered && !self.exclude.iter().any(|x| x.contains(ds))
    }
}

impl Config {
    /// The names of the jobs that would ship `ds`, sorted.
    pub fn jobs_shipping(&self, ds: &DatasetName) -> Vec<String> {
        let mut names: Vec<String> = self
            .jobs
            .values()
            .filter(|j| j.would_ship(ds))
            .map(|j| j.name.clone())
            .collect();
        names.sort();
        names
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    const TEXT: &str = r#"
[repositories.nas]
location = "/mnt/nas/backup"
password_file = "/etc/backup/nas.pass"

[jobs.flat]
repository = "nas"
datasets = ["tank/data"]

[jobs.tree]
repository = "nas"
datasets = ["tank/vm"]
recursive = true
exclude = ["tank/vm/scratch"]
"#;

    #[test]
    fn a_job_ships_its_datasets_and_with_recursive_their_trees() {
        let c = crate::config::parse(Path::new("backup.toml"), TEXT).unwrap();
        let ships = |s: &str| c.jobs_shipping(&s.parse().unwrap());
        assert_eq!(ships("tank/data"), ["flat"]);
        assert!(ships("tank/data/restored").is_empty());
        assert_eq!(ships("tank/vm"), ["tree"]);
        assert_eq!(ships("tank/vm/restored"), ["tree"]);
        assert!(ships("tank/vm/scratch/x").is_empty());
        assert!(ships("tank/vmx").is_empty());
        assert!(ships("tank/restored").is_empty());
    }
}
