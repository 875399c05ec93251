//! Owner, mode and times as recorded, applied to a restored path.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use backup_core::filelist::{Entry, Kind};

use crate::error::{Error, Result};

/// Owners are restored only by root.
#[allow(unsafe_code)]
pub fn can_chown() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Applies `e`'s owner (if `owners`), mode (not to symlinks) and mtime (as
/// atime too) to `path`, never following a symlink. The owner goes first:
/// chown clears setuid and setgid bits.
pub fn apply(path: &Path, e: &Entry, owners: bool) -> Result<()> {
    let ctx = |what: &str, err| Error::io(format!("{what} of {}", path.display()), err);
    if owners {
        std::os::unix::fs::lchown(path, Some(e.uid), Some(e.gid))
            .map_err(|err| ctx("setting the owner", err))?;
    }
    if e.kind != Kind::Symlink {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(e.mode & 0o7777))
            .map_err(|err| ctx("setting the mode", err))?;
    }
    set_times(path, e.mtime, e.mtime_nsec).map_err(|err| ctx("setting the times", err))
}

#[allow(unsafe_code)]
fn set_times(path: &Path, sec: i64, nsec: u32) -> std::io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let t = libc::timespec {
        tv_sec: sec as libc::time_t,
        tv_nsec: libc::c_long::from(nsec),
    };
    let times = [t, t];
    // SAFETY: `c` is a valid NUL-terminated path and `times` two timespecs.
    let r = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
