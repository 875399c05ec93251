//! The `ssh` command under an SFTP repository, and what its complaints mean.
//!
//! OpenSSH makes the connection, so the operator's `~/.ssh/config`, agent,
//! jump hosts and certificates all work, and host keys are checked by the
//! same code as for their interactive logins. `StrictHostKeyChecking=yes`
//! and `BatchMode=yes` are forced: a backup never adds a key on its own and
//! never waits at a prompt.

use std::io::ErrorKind;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::super::location::SftpTarget;
use super::super::SftpSettings;
use crate::error::Error;

/// The arguments after the program: `ssh ARGS` starts the sftp subsystem.
pub(crate) fn ssh_args(t: &SftpTarget, s: &SftpSettings) -> Vec<String> {
    let alive = s
        .timeout
        .unwrap_or(Duration::from_secs(60))
        .as_secs()
        .max(4);
    let mut a: Vec<String> = [
        "-x",
        "-a",
        "-T",
        "-oClearAllForwardings=yes",
        "-oBatchMode=yes",
        "-oStrictHostKeyChecking=yes",
        "-oServerAliveCountMax=4",
    ]
    .iter()
    .map(std::string::ToString::to_string)
    .collect();
    a.push(format!("-oServerAliveInterval={}", alive / 4));
    // Also bounds the TCP connect and the banner exchange: a server that
    // accepts but never answers is given up on (and retried) as soon.
    a.push(format!("-oConnectTimeout={}", alive.min(30)));
    if let Some(p) = t.port {
        a.extend(["-p".into(), p.to_string()]);
    }
    if let Some(i) = &s.identity_file {
        a.extend([
            "-i".into(),
            i.display().to_string(),
            "-oIdentitiesOnly=yes".into(),
        ]);
    }
    if let Some(k) = &s.known_hosts_file {
        a.push(format!("-oUserKnownHostsFile={}", k.display()));
        a.push("-oGlobalKnownHostsFile=/dev/null".into());
    }
    for o in &s.ssh_options {
        a.push(format!("-o{o}"));
    }
    if let Some(u) = &t.user {
        a.extend(["-l".into(), u.clone()]);
    }
    a.extend(["-s".into(), "--".into(), t.host.clone(), "sftp".into()]);
    a
}

/// The program: the setting, else `ssh`.
pub(crate) fn ssh_program(s: &SftpSettings) -> String {
    s.ssh_command.clone().unwrap_or_else(|| "ssh".into())
}

/// The last lines of what ssh wrote to stderr, for messages.
pub(crate) fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('@') && !l.starts_with("Warning: Permanently"))
        .collect();
    lines[lines.len().saturating_sub(3)..].join(" / ")
}

/// What a failed or dropped ssh connection means, from its stderr.
pub(crate) fn failure(
    location: &str,
    t: &SftpTarget,
    s: &SftpSettings,
    stderr: &str,
    fallback: &str,
) -> Error {
    let host = t.known_hosts_name();
    let known_hosts = s
        .known_hosts_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "~/.ssh/known_hosts".into());
    if stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
        let fingerprint = stderr
            .split_whitespace()
            .find(|w| w.starts_with("SHA256:"))
            .map(|w| w.trim_end_matches('.').to_string())
            .unwrap_or_else(|| scan_fingerprints(t));
        return Error::HostKey {
            host,
            problem: "has CHANGED since it was recorded",
            fingerprint,
            advice: format!(
                "Either the server was reinstalled or someone is in the middle. Check the \
                 new key on the server itself (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub); \
                 only then replace it: ssh-keygen -R '{}' -f {known_hosts}, and add the new one",
                t.known_hosts_name()
            ),
        };
    }
    if stderr.contains("Host key verification failed") || stderr.contains("host key is known") {
        let port = t.port.map(|p| format!("-p {p} ")).unwrap_or_default();
        return Error::HostKey {
            host,
            problem: "is not known",
            fingerprint: scan_fingerprints(t),
            advice: format!(
                "backup never trusts a key on first use. Compare the fingerprint with the \
                 server's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then add it: \
                 ssh-keyscan {port}{} >> {known_hosts}",
                t.host
            ),
        };
    }
    let kind = if stderr.contains("Permission denied") || stderr.contains("Too many authentication")
    {
        ErrorKind::PermissionDenied
    } else if stderr.contains("Could not resolve hostname") {
        ErrorKind::NotFound
    } else if [
        "Connection refused",
        "Connection timed out",
        "Connection reset",
        "Connection closed",
        "timed out",
        "No route to host",
        "Network is unreachable",
        "Broken pipe",
        "kex_exchange_identification",
        "Timeout, server",
    ]
    .iter()
    .any(|m| stderr.contains(m))
        || stderr.trim().is_empty()
    {
        ErrorKind::ConnectionReset
    } else {
        ErrorKind::Other
    };
    let what = match tail(stderr) {
        t if t.is_empty() => fallback.to_string(),
        t => format!("ssh: {t}"),
    };
    Error::Backend {
        op: "connect",
        path: location.to_string(),
        source: std::io::Error::new(kind, what),
    }
}

/// The server's host key fingerprints, fetched with `ssh-keyscan` for the
/// message (never trusted or recorded).
fn scan_fingerprints(t: &SftpTarget) -> String {
    let mut scan = Command::new("ssh-keyscan");
    scan.args(["-T", "5"]);
    if let Some(p) = t.port {
        scan.args(["-p", &p.to_string()]);
    }
    let keys = match scan.arg("--").arg(&t.host).stderr(Stdio::null()).output() {
        Ok(o) if !o.stdout.is_empty() => o.stdout,
        _ => return "(its key could not be fetched with ssh-keyscan)".into(),
    };
    let out = Command::new("ssh-keygen")
        .args(["-l", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("piped").write_all(&keys)?;
            c.wait_with_output()
        });
    let prints: Vec<String> = match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| {
                // "256 SHA256:xyz [host]:port (ED25519)"
                let w: Vec<&str> = l.split_whitespace().collect();
                let fp = w.iter().find(|x| x.starts_with("SHA256:"))?;
                Some(format!("{fp} {}", w.last().unwrap_or(&"")))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    if prints.is_empty() {
        "(its key could not be fingerprinted)".into()
    } else {
        prints.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> SftpTarget {
        SftpTarget {
            user: Some("backup".into()),
            host: "nas".into(),
            port: Some(2222),
            path: "/srv/b".into(),
        }
    }

    #[test]
    fn arguments_force_strict_host_keys_and_no_prompts() {
        let s = SftpSettings {
            identity_file: Some("/etc/backup/id".into()),
            known_hosts_file: Some("/etc/backup/known_hosts".into()),
            ssh_options: vec!["ProxyJump=gw".into()],
            ..SftpSettings::default()
        };
        let a = ssh_args(&target(), &s).join(" ");
        for want in [
            "-oBatchMode=yes",
            "-oStrictHostKeyChecking=yes",
            "-p 2222",
            "-i /etc/backup/id -oIdentitiesOnly=yes",
            "-oUserKnownHostsFile=/etc/backup/known_hosts",
            "-oProxyJump=gw",
            "-oServerAliveInterval=15",
            "-l backup -s -- nas sftp",
        ] {
            assert!(a.contains(want), "{want} in {a}");
        }
    }

    #[test]
    fn stderr_is_classified() {
        let t = target();
        let s = SftpSettings::default();
        let e = failure(
            "sftp://x",
            &t,
            &s,
            "ssh: connect to host nas port 2222: Connection refused\r\n",
            "",
        );
        assert!(e.is_transient(), "{e}");
        let e = failure(
            "sftp://x",
            &t,
            &s,
            "backup@nas: Permission denied (publickey).\n",
            "",
        );
        assert!(!e.is_transient());
        let cause = std::error::Error::source(&e).unwrap().to_string();
        assert!(cause.contains("Permission denied (publickey)"), "{cause}");
        let changed = "@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n\
            The fingerprint for the ED25519 key sent by the remote host is\n\
            SHA256:abcdefXYZ.\nHost key verification failed.\n";
        let e = failure("sftp://x", &t, &s, changed, "");
        let text = e.to_string();
        assert!(matches!(e, Error::HostKey { .. }), "{e:?}");
        assert!(text.contains("[nas]:2222 has CHANGED"), "{text}");
        assert!(text.contains("SHA256:abcdefXYZ"), "{text}");
        assert!(
            text.contains("ssh-keygen -R '[nas]:2222' -f ~/.ssh/known_hosts"),
            "{text}"
        );
    }
}
