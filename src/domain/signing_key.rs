use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::client::SigningAlg;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Signs new tokens.
    Active,
    /// Published for verification only, until `retire_until`.
    Retired,
}

/// One signing key as stored: the private key in PKCS#8 DER (base64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub alg: SigningAlg,
    pub pkcs8_der_b64: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    pub state: KeyState,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub retire_until: Option<OffsetDateTime>,
}

/// Every key the server publishes. Stored as one record so all instances
/// agree on it; `version` lets rotation compare-and-swap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySetRecord {
    pub version: u64,
    pub keys: Vec<SigningKeyRecord>,
}
