//! Quoting for unit files (`man systemd.service`, "Command lines";
//! `man systemd.unit`, "Specifiers") and crontab lines (`man 5 crontab`:
//! `%` ends the command).

use std::path::Path;

use super::InstallError;

/// Characters that need no quoting anywhere.
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/._-+:@,=".contains(c)
}

/// An absolute UTF-8 path without control characters, as text.
pub(super) fn plain_path(what: &'static str, path: &Path) -> Result<String, InstallError> {
    let bad = |reason| InstallError::Path {
        what,
        path: path.to_path_buf(),
        reason,
    };
    let text = path.to_str().ok_or_else(|| bad("it is not UTF-8"))?;
    if !path.is_absolute() {
        return Err(bad("it is not absolute"));
    }
    if text.chars().any(char::is_control) {
        return Err(bad("it holds a control character"));
    }
    Ok(text.to_string())
}

/// One word of an `ExecStart=` command line: `%` and `$` doubled,
/// double-quoted with `\` escapes when it holds anything but plain
/// characters.
pub(super) fn exec_arg(word: &str) -> String {
    value(&word.replace('$', "$$"))
}

/// One word of a setting that takes a list of paths (`ReadWritePaths=`):
/// specifiers escaped, quoted as for [`exec_arg`].
pub(super) fn value(word: &str) -> String {
    let word = word.replace('%', "%%");
    if word.chars().all(|c| plain(c) || c == '%' || c == '$') {
        return word;
    }
    let escaped = word.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

/// A path that goes unquoted after `ID:` in `LoadCredential=`.
pub(super) fn credential_path(path: &str) -> Option<String> {
    path.chars()
        .all(|c| !c.is_whitespace() && !"\"'\\".contains(c))
        .then(|| path.replace('%', "%%"))
}

/// One word of a crontab command: single-quoted for `sh` when needed,
/// `%` escaped for cron.
pub(super) fn sh_arg(word: &str) -> String {
    let quoted = if word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    };
    quoted.replace('%', "\\%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(exec_arg("/usr/bin/backup"), "/usr/bin/backup");
        assert_eq!(exec_arg("/etc/my backup.toml"), "\"/etc/my backup.toml\"");
        assert_eq!(exec_arg("/a\"b\\c"), "\"/a\\\"b\\\\c\"");
        assert_eq!(exec_arg("/100%$x"), "/100%%$$x");
        assert_eq!(value("-/srv/a b"), "\"-/srv/a b\"");
        assert_eq!(value("/srv/50%"), "/srv/50%%");
        assert_eq!(sh_arg("/usr/bin/backup"), "/usr/bin/backup");
        assert_eq!(sh_arg("/etc/it's here"), "'/etc/it'\\''s here'");
        assert_eq!(sh_arg("/a%b"), "'/a\\%b'");
        assert_eq!(credential_path("/etc/x/50%"), Some("/etc/x/50%%".into()));
        assert_eq!(credential_path("/etc/a b"), None);
        let err = plain_path("binary", Path::new("bin/backup")).unwrap_err();
        assert!(err.to_string().contains("not absolute"), "{err}");
        assert!(plain_path("binary", Path::new("/a\nb")).is_err());
    }
}
