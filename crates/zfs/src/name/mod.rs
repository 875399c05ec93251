//! Validated dataset and snapshot names.
//!
//! A name is checked once, on the way in, against the rules `zfs` itself
//! applies (`zfs_namecheck.c`): the characters `[A-Za-z0-9_.: -]`, `/` between
//! components, no empty component, at most 255 bytes, a pool name that starts
//! with a letter. Names with spaces are valid and are used on purpose in the
//! tests (as zrepl's platform tests do).

use std::fmt;
use std::str::FromStr;

/// The longest name zfs accepts: `ZFS_MAX_DATASET_NAME_LEN` (256) minus the NUL.
pub const MAX_NAME_LEN: usize = 255;

/// Why a dataset or snapshot name was rejected. Every message quotes the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    #[error("invalid ZFS name {input:?}: empty")]
    Empty {
        /// The name as given.
        input: String,
    },
    /// The name is longer than [`MAX_NAME_LEN`] bytes.
    #[error("invalid ZFS name {input:?}: {len} bytes, at most {MAX_NAME_LEN} allowed")]
    TooLong {
        /// The name as given.
        input: String,
        /// Its length in bytes.
        len: usize,
    },
    /// A `/`-separated component, or the part after the `@`, is empty.
    #[error("invalid ZFS name {input:?}: empty component")]
    EmptyComponent {
        /// The name as given.
        input: String,
    },
    /// A component is `.` or `..`.
    #[error("invalid ZFS name {input:?}: component {component:?} refers to itself or its parent")]
    DotComponent {
        /// The name as given.
        input: String,
        /// The offending component.
        component: String,
    },
    /// A character other than an ASCII letter or digit, `_`, `.`, `:`, `-` or a space.
    #[error("invalid ZFS name {input:?}: character {ch:?} is not allowed")]
    InvalidChar {
        /// The name as given.
        input: String,
        /// The first character not allowed.
        ch: char,
    },
    /// The pool name (the first component) does not begin with a letter.
    #[error("invalid ZFS name {input:?}: the pool name must begin with a letter")]
    PoolStart {
        /// The name as given.
        input: String,
    },
    /// A snapshot name without exactly one `@`.
    #[error("invalid snapshot name {input:?}: expected exactly one '@' (dataset@snap)")]
    NotSnapshot {
        /// The name as given.
        input: String,
    },
}

fn valid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | ' ' | '-')
}

/// Checks one path component or snapshot part (no '/', '@', '#').
fn check_component(input: &str, component: &str) -> Result<(), NameError> {
    if component.is_empty() {
        return Err(NameError::EmptyComponent {
            input: input.to_owned(),
        });
    }
    if component == "." || component == ".." {
        return Err(NameError::DotComponent {
            input: input.to_owned(),
            component: component.to_owned(),
        });
    }
    if let Some(ch) = component.chars().find(|&c| !valid_char(c)) {
        return Err(NameError::InvalidChar {
            input: input.to_owned(),
            ch,
        });
    }
    Ok(())
}

fn check_len(input: &str) -> Result<(), NameError> {
    if input.is_empty() {
        return Err(NameError::Empty {
            input: input.to_owned(),
        });
    }
    if input.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong {
            input: input.to_owned(),
            len: input.len(),
        });
    }
    Ok(())
}

/// A filesystem or volume name: `pool/child/...`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DatasetName(String);

impl DatasetName {
    /// Validates `s` as a dataset name.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        check_len(s)?;
        for component in s.split('/') {
            check_component(s, component)?;
        }
        if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(NameError::PoolStart {
                input: s.to_owned(),
            });
        }
        Ok(DatasetName(s.to_owned()))
    }

    /// The full name, e.g. `pool/a/b`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The pool, i.e. the first component.
    pub fn pool(&self) -> &str {
        self.0.split('/').next().unwrap_or(&self.0)
    }

    /// `self/name`; `name` may itself hold several components (`a/b`).
    pub fn child(&self, name: &str) -> Result<DatasetName, NameError> {
        DatasetName::parse(&format!("{}/{}", self.0, name))
    }

    /// The parent dataset, or `None` for a pool's root dataset.
    pub fn parent(&self) -> Option<DatasetName> {
        self.0
            .rsplit_once('/')
            .map(|(parent, _)| DatasetName(parent.to_owned()))
    }

    /// True if `other` is this dataset or lies below it.
    pub fn contains(&self, other: &DatasetName) -> bool {
        other.0 == self.0
            || (other.0.starts_with(&self.0) && other.0.as_bytes().get(self.0.len()) == Some(&b'/'))
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DatasetName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        DatasetName::parse(s)
    }
}

impl AsRef<str> for DatasetName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A snapshot name: `dataset@snap`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SnapshotName {
    dataset: DatasetName,
    snap: String,
}

impl SnapshotName {
    /// `dataset@snap`, validating `snap` and the total length.
    pub fn new(dataset: DatasetName, snap: &str) -> Result<Self, NameError> {
        let full = format!("{dataset}@{snap}");
        check_len(&full)?;
        check_component(&full, snap)?;
        Ok(SnapshotName {
            dataset,
            snap: snap.to_owned(),
        })
    }

    /// Validates `s` as `dataset@snap`.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let (dataset, snap) = match s.split_once('@') {
            Some((d, sn)) if !sn.contains('@') => (d, sn),
            _ => {
                return Err(NameError::NotSnapshot {
                    input: s.to_owned(),
                })
            }
        };
        check_len(s)?;
        check_component(s, snap)?;
        let dataset = DatasetName::parse(dataset).map_err(|e| rename_input(e, s))?;
        Ok(SnapshotName {
            dataset,
            snap: snap.to_owned(),
        })
    }

    /// The part before the `@`.
    pub fn dataset(&self) -> &DatasetName {
        &self.dataset
    }

    /// The part after the `@`.
    pub fn snap(&self) -> &str {
        &self.snap
    }
}

/// Reports a dataset-part error against the whole snapshot name the user gave.
fn rename_input(e: NameError, whole: &str) -> NameError {
    let input = whole.to_owned();
    match e {
        NameError::Empty { .. } => NameError::EmptyComponent { input },
        NameError::TooLong { len, .. } => NameError::TooLong { input, len },
        NameError::EmptyComponent { .. } => NameError::EmptyComponent { input },
        NameError::DotComponent { component, .. } => NameError::DotComponent { input, component },
        NameError::InvalidChar { ch, .. } => NameError::InvalidChar { input, ch },
        NameError::PoolStart { .. } => NameError::PoolStart { input },
        NameError::NotSnapshot { .. } => NameError::NotSnapshot { input },
    }
}

impl fmt::Display for SnapshotName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.dataset, self.snap)
    }
}

impl FromStr for SnapshotName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        SnapshotName::parse(s)
    }
}

#[cfg(test)]
mod tests;
