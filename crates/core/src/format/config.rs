//! The repository config: a public header and a sealed body.
//!
//! ```text
//!  0   4  magic "BKCF"
//!  4   4  format version u32 LE (1)
//!  8  32  repository id
//! 40   …  sealed box (type Config, context = repository id) of the JSON body
//! ```
//! A reader refuses a version or a feature flag it does not know.

use serde::{Deserialize, Serialize};

use super::u32_at;
use crate::crypto::{Keys, ObjectType};
use crate::error::{Error, Result};
use crate::id::Id;

/// Config magic. Do not modify: part of format v1.
pub const MAGIC: &[u8; 4] = b"BKCF";
/// The repository format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Feature flags this build understands (none yet).
pub const KNOWN_FEATURES: &[&str] = &[];

/// FastCDC parameters, fixed at `init`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkerParams {
    /// Minimum chunk size in bytes.
    pub min: u32,
    /// Average chunk size in bytes.
    pub avg: u32,
    /// Maximum chunk size in bytes.
    pub max: u32,
}

impl Default for ChunkerParams {
    fn default() -> Self {
        ChunkerParams {
            min: 256 * 1024,
            avg: 1024 * 1024,
            max: 4 * 1024 * 1024,
        }
    }
}

impl ChunkerParams {
    /// Checks the bounds FastCDC v2020 accepts.
    pub fn validate(&self) -> Result<()> {
        use fastcdc::v2020::{
            AVERAGE_MAX, AVERAGE_MIN, MAXIMUM_MAX, MAXIMUM_MIN, MINIMUM_MAX, MINIMUM_MIN,
        };
        let ok = (MINIMUM_MIN..=MINIMUM_MAX).contains(&self.min)
            && (AVERAGE_MIN..=AVERAGE_MAX).contains(&self.avg)
            && (MAXIMUM_MIN..=MAXIMUM_MAX).contains(&self.max)
            && self.min <= self.avg
            && self.avg <= self.max;
        if ok {
            Ok(())
        } else {
            Err(Error::Invalid {
                what: "chunker parameters".into(),
                reason: format!(
                    "min {} / avg {} / max {} must satisfy {MINIMUM_MIN}..={MINIMUM_MAX} <= {AVERAGE_MIN}..={AVERAGE_MAX} <= {MAXIMUM_MIN}..={MAXIMUM_MAX}",
                    self.min, self.avg, self.max
                ),
            })
        }
    }
}

/// The private part of the config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigBody {
    /// Chunker parameters.
    pub chunker: ChunkerParams,
    /// Target pack size in bytes.
    pub pack_size: u32,
    /// zstd level for blobs.
    pub zstd_level: i32,
    /// Feature flags in use.
    pub features: Vec<String>,
    /// When the repository was made (RFC 3339).
    pub created: String,
}

impl Default for ConfigBody {
    fn default() -> Self {
        ConfigBody {
            chunker: ChunkerParams::default(),
            pack_size: 16 * 1024 * 1024,
            zstd_level: 3,
            features: Vec::new(),
            created: jiff::Timestamp::now().to_string(),
        }
    }
}

/// Parses the public header and returns the repository id. Refuses other versions.
pub fn parse_header(bytes: &[u8]) -> Result<Id> {
    if bytes.len() < 40 || &bytes[..4] != MAGIC {
        return Err(Error::corrupt(
            "config",
            "does not start with the config magic",
        ));
    }
    let version = u32_at(bytes, 4);
    if version != VERSION {
        return Err(Error::Unsupported {
            object: "config".into(),
            what: "repository format version",
            value: version.to_string(),
            known: VERSION.to_string(),
        });
    }
    Ok(Id::from_slice(&bytes[8..40]).expect("32 bytes"))
}

/// Serialises the config.
pub fn encode(keys: &Keys, repo_id: &Id, body: &ConfigBody) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&repo_id.0);
    let json = serde_json::to_vec(body).expect("config serialises");
    out.extend_from_slice(&keys.seal(ObjectType::Config, &repo_id.0, &json));
    out
}

/// True if the sealed body authenticates with `repo_id` as its context,
/// whatever the public header says: tells a damaged header from a
/// wrong key.
pub fn body_opens_under(keys: &Keys, bytes: &[u8], repo_id: &Id) -> bool {
    bytes.len() >= 40
        && keys
            .open(ObjectType::Config, &repo_id.0, &bytes[40..])
            .is_some()
}

/// Opens the body and checks its feature flags and parameters.
pub fn decode_body(keys: &Keys, bytes: &[u8]) -> Result<ConfigBody> {
    let repo_id = parse_header(bytes)?;
    let json = keys
        .open(ObjectType::Config, &repo_id.0, &bytes[40..])
        .ok_or_else(|| Error::corrupt("config", "body fails authentication"))?;
    decode_body_opened(&json)
}

/// The part of [`decode_body`] after the sealed box has opened: parses the
/// JSON body and checks its feature flags and chunker parameters. Where
/// the parsing is, so the fuzz targets (`fuzz/`) call it directly.
pub fn decode_body_opened(json: &[u8]) -> Result<ConfigBody> {
    let body: ConfigBody =
        serde_json::from_slice(json).map_err(|e| Error::corrupt("config", e.to_string()))?;
    if let Some(f) = body
        .features
        .iter()
        .find(|f| !KNOWN_FEATURES.contains(&f.as_str()))
    {
        return Err(Error::Unsupported {
            object: "config".into(),
            what: "feature flag",
            value: f.clone(),
            known: format!("{KNOWN_FEATURES:?}"),
        });
    }
    body.chunker.validate()?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let k = Keys::from_master([4; 32]);
        let id = Id([6; 32]);
        let body = ConfigBody::default();
        let b = encode(&k, &id, &body);
        assert_eq!(parse_header(&b).unwrap(), id);
        assert_eq!(decode_body(&k, &b).unwrap(), body);
        let mut v2 = b.clone();
        v2[4] = 2;
        assert!(matches!(parse_header(&v2), Err(Error::Unsupported { .. })));
        let mut flagged = body.clone();
        flagged.features.push("future".into());
        assert!(matches!(
            decode_body(&k, &encode(&k, &id, &flagged)),
            Err(Error::Unsupported { .. })
        ));
        assert!(decode_body(&k, &b[..50]).is_err());
        assert!(body_opens_under(&k, &b, &id));
        let mut other = b.clone();
        other[8] ^= 1;
        assert!(decode_body(&k, &other).is_err());
        assert!(body_opens_under(&k, &other, &id));
        assert!(!body_opens_under(
            &k,
            &other,
            &parse_header(&other).unwrap()
        ));
    }
}
