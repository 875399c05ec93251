//! Facts about the running host and its processes, for markers and locks
//! that must tell a dead holder from a live one.

/// Overrides the host name recorded in manifests, locks, key slots and
/// view markers: for hosts whose kernel name is not stable or not unique
/// (containers, cloned machines), and for tests that play several hosts.
pub const HOSTNAME_ENV: &str = "BACKUP_HOSTNAME";

/// `$BACKUP_HOSTNAME` if set and not empty, else the kernel's host name,
/// else "unknown".
pub fn hostname() -> String {
    std::env::var(HOSTNAME_ENV)
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The machine's id (`/etc/machine-id`, else `/var/lib/dbus/machine-id`:
/// 32 hex digits, made once at installation), or "" if there is none. Two
/// machines may share a host name; this tells them apart where the boot id
/// cannot (a different boot id is a reboot or another machine).
pub fn machine_id() -> String {
    ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| {
            let id = std::fs::read_to_string(p).ok()?;
            let id = id.trim();
            (!id.is_empty()).then(|| id.to_owned())
        })
        .unwrap_or_default()
}

/// When process `pid` started (clock ticks since boot, field 22 of
/// `/proc/<pid>/stat`); `None` if there is no such process. With the pid it
/// tells a process from a later one that reuses its pid.
pub fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start(&stat)
}

/// Field 22 of a `/proc/<pid>/stat` line; the command name (field 2, in
/// parentheses) may hold spaces and parentheses, so fields count from the
/// last `)`.
fn parse_start(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(22 - 3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_start_is_field_22() {
        // $ cat /proc/self/stat   (Linux 6.x; the command name has a space and a paren)
        let stat = "4242 (we ird) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 200 18446744073709551615";
        assert_eq!(parse_start(stat), Some(987654));
        assert!(process_start(std::process::id()).is_some());
        assert_eq!(parse_start("garbage"), None);
    }
}
