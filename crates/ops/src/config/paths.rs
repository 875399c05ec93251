//! Where the state directory is: the catalogs (job, drill and verification
//! history, one per repository), job locks, drill scratch space and
//! reports. One place per host, whoever runs `backup`: a systemd unit, a
//! cron line or a shell.
//!
//! The configuration's `state_dir` says; without it, `/var/lib/backup` as
//! root (what the generated units' `StateDirectory=backup` makes), else
//! `$XDG_STATE_HOME/backup`, else `~/.local/state/backup`. The cache
//! directory holds only what can be thrown away.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The state directory of root unless the configuration says otherwise.
pub const ROOT_STATE_DIR: &str = "/var/lib/backup";

/// The default state directory: [`ROOT_STATE_DIR`] for root, else
/// `$XDG_STATE_HOME/backup` (an absolute path), else
/// `$HOME/.local/state/backup`, else [`ROOT_STATE_DIR`].
pub fn default_state_dir(
    root: bool,
    xdg_state_home: Option<&OsStr>,
    home: Option<&OsStr>,
) -> PathBuf {
    if root {
        return PathBuf::from(ROOT_STATE_DIR);
    }
    if let Some(x) = xdg_state_home.map(Path::new).filter(|x| x.is_absolute()) {
        return x.join("backup");
    }
    match home.filter(|h| !h.is_empty()) {
        Some(h) => Path::new(h).join(".local/state/backup"),
        None => PathBuf::from(ROOT_STATE_DIR),
    }
}

/// The `state_dir` of configuration text, read leniently: commands that do
/// not need the configuration still find the catalogs where the jobs keep
/// them, even when another part of the file is wrong. `None` if it is not
/// set or the file is not TOML.
pub fn state_dir_in(text: &str) -> Option<PathBuf> {
    let table: toml::Table = toml::from_str(text).ok()?;
    table
        .get("state_dir")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_shares_var_lib_and_users_get_their_xdg_state_home() {
        let home = Some(OsStr::new("/home/ann"));
        assert_eq!(
            default_state_dir(true, Some(OsStr::new("/x")), home),
            Path::new("/var/lib/backup")
        );
        assert_eq!(
            default_state_dir(false, Some(OsStr::new("/x/state")), home),
            Path::new("/x/state/backup")
        );
        // XDG: a relative value is ignored.
        assert_eq!(
            default_state_dir(false, Some(OsStr::new("rel")), home),
            Path::new("/home/ann/.local/state/backup")
        );
        assert_eq!(
            default_state_dir(false, None, home),
            Path::new("/home/ann/.local/state/backup")
        );
        assert_eq!(
            default_state_dir(false, None, None),
            Path::new("/var/lib/backup")
        );
    }

    #[test]
    fn state_dir_is_read_from_a_file_with_other_mistakes() {
        let text = "state_dir = \"/srv/state\"\n[jobs.x]\nrepository = 3\nbogus = 1\n";
        assert_eq!(state_dir_in(text), Some(PathBuf::from("/srv/state")));
        assert_eq!(state_dir_in("[jobs.x]\n"), None);
        assert_eq!(state_dir_in("state_dir = \n"), None);
    }
}
