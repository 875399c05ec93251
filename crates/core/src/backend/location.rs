//! Parsing repository locations: a path, `file:///path`,
//! `sftp://[user@]host[:port]/path`, `s3://bucket[/prefix]`.

use crate::error::{Error, Result};

/// A parsed repository location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A directory.
    Local(String),
    /// A directory on an SSH server.
    Sftp(SftpTarget),
    /// A bucket (and a prefix in it) on an S3-compatible store.
    S3 {
        /// The bucket's name.
        bucket: String,
        /// The key prefix the repository's objects are under (may be empty).
        prefix: String,
    },
}

/// Where an SFTP repository is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SftpTarget {
    /// The login name, if the URL gives one (else ssh's default).
    pub user: Option<String>,
    /// The server's host name or address.
    pub host: String,
    /// The SSH port, if the URL gives one (else ssh's default).
    pub port: Option<u16>,
    /// The repository directory on the server: absolute, or relative to the
    /// login directory when the URL path starts with `/~/`.
    pub path: String,
}

impl SftpTarget {
    /// `host` or `[host]:port`, as known_hosts names it.
    pub fn known_hosts_name(&self) -> String {
        match self.port {
            Some(p) if p != 22 => format!("[{}]:{p}", self.host),
            _ => self.host.clone(),
        }
    }
}

fn invalid(location: &str, reason: impl Into<String>) -> Error {
    Error::Invalid {
        what: format!("repository location {location:?}"),
        reason: reason.into(),
    }
}

impl Location {
    /// Parses a location string.
    pub fn parse(location: &str) -> Result<Location> {
        if let Some(rest) = location.strip_prefix("file://") {
            return Ok(Location::Local(rest.to_string()));
        }
        if let Some(rest) = location.strip_prefix("sftp://") {
            return parse_sftp(location, rest).map(Location::Sftp);
        }
        if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid_bucket = (3..=63).contains(&bucket.len())
                && bucket.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !valid_bucket {
                return Err(invalid(
                    location,
                    format!("{bucket:?} is not an S3 bucket name (3 to 63 of a-z, 0-9, '-', '.')"),
                ));
            }
            let prefix = prefix.trim_matches('/');
            if prefix
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == "..")
                && !prefix.is_empty()
            {
                return Err(invalid(location, "the prefix has an empty, . or .. part"));
            }
            return Ok(Location::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.to_string(),
            });
        }
        if let Some((scheme, _)) = location.split_once("://") {
            return Err(invalid(
                location,
                format!("unknown scheme {scheme:?}: use a path, sftp://[user@]host[:port]/path or s3://bucket/prefix"),
            ));
        }
        Ok(Location::Local(location.to_string()))
    }
}

fn parse_sftp(location: &str, rest: &str) -> Result<SftpTarget> {
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => return Err(invalid(location, "no path: sftp://[user@]host[:port]/path")),
    };
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
        Some(_) => return Err(invalid(location, "empty user name before '@'")),
        None => (None, authority),
    };
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        // [v6 address]:port
        let (h, after) = inner
            .split_once(']')
            .ok_or_else(|| invalid(location, "unclosed '[' in the host"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(invalid(location, "junk after ']' in the host")),
        };
        (h, port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        return Err(invalid(location, "no host"));
    }
    if host.starts_with('-') {
        return Err(invalid(location, "a host may not start with '-'"));
    }
    let port = port
        .map(|p| {
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| invalid(location, format!("{p:?} is not a port")))
        })
        .transpose()?;
    let path = match path.strip_prefix("/~/") {
        Some(rel) => rel.trim_end_matches('/').to_string(),
        None => path.trim_end_matches('/').to_string(),
    };
    if path.is_empty() || path == "/" {
        return Err(invalid(location, "the path is empty"));
    }
    Ok(SftpTarget {
        user,
        host: host.to_string(),
        port,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sftp(s: &str) -> SftpTarget {
        match Location::parse(s).unwrap() {
            Location::Sftp(t) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_every_kind() {
        assert_eq!(
            Location::parse("/srv/repo").unwrap(),
            Location::Local("/srv/repo".into())
        );
        assert_eq!(
            Location::parse("file:///srv/repo").unwrap(),
            Location::Local("/srv/repo".into())
        );
        let t = sftp("sftp://backup@nas.home.arpa:2222/srv/backup/");
        assert_eq!(t.user.as_deref(), Some("backup"));
        assert_eq!(t.host, "nas.home.arpa");
        assert_eq!(t.port, Some(2222));
        assert_eq!(t.path, "/srv/backup");
        assert_eq!(t.known_hosts_name(), "[nas.home.arpa]:2222");
        let t = sftp("sftp://nas/~/backups");
        assert_eq!((t.user, t.port, t.path.as_str()), (None, None, "backups"));
        assert_eq!(sftp("sftp://[::1]:22/r").host, "::1");
        assert_eq!(sftp("sftp://[::1]:22/r").known_hosts_name(), "::1");
        assert_eq!(
            Location::parse("s3://backups/host-a/zfs").unwrap(),
            Location::S3 {
                bucket: "backups".into(),
                prefix: "host-a/zfs".into()
            }
        );
        assert_eq!(
            Location::parse("s3://backups").unwrap(),
            Location::S3 {
                bucket: "backups".into(),
                prefix: String::new()
            }
        );
    }

    #[test]
    fn refuses_malformed_locations_naming_them() {
        for (bad, why) in [
            ("sftp://nas", "no path"),
            ("sftp://nas:99999/x", "is not a port"),
            ("sftp://@nas/x", "empty user"),
            ("sftp://-oProxyCommand=x/y", "may not start with '-'"),
            ("sftp://nas/", "path is empty"),
            ("s3://B/x", "not an S3 bucket name"),
            ("s3://bucket/a//b", "empty, . or .."),
            ("ftp://host/x", "unknown scheme \"ftp\""),
        ] {
            let e = Location::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(bad), "{bad}: {e}");
        }
    }
}
