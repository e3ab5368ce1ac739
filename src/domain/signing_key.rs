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
    /// Published but not signing before this (rotation publishes first).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub not_before: Option<OffsetDateTime>,
    /// Superseded: stops being published at this time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub retire_until: Option<OffsetDateTime>,
}

impl SigningKeyRecord {
    /// Listed in the JWKS at `now`.
    pub fn published(&self, now: OffsetDateTime) -> bool {
        self.retire_until.is_none_or(|t| now < t)
    }

    /// May sign at `now` (the newest such key of its algorithm does).
    pub fn may_sign(&self, now: OffsetDateTime) -> bool {
        self.state == KeyState::Active
            && self.published(now)
            && self.not_before.is_none_or(|t| t <= now)
    }
}

impl KeySetRecord {
    /// The next instant at which the signing or published keys change.
    pub fn next_change(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.keys
            .iter()
            .flat_map(|k| [k.not_before, k.retire_until])
            .flatten()
            .filter(|t| *t > now)
            .min()
    }

    /// Rotation: `fresh` keys are published now and sign from
    /// `now + activation_delay`; the keys they replace keep signing until
    /// then and stay published until every token they signed has expired
    /// (`max_token_lifetime` later). Long-retired keys are dropped.
    pub fn rotate(
        &self,
        fresh: Vec<SigningKeyRecord>,
        now: OffsetDateTime,
        activation_delay: time::Duration,
        max_token_lifetime: time::Duration,
    ) -> KeySetRecord {
        let activate_at = now + activation_delay;
        let mut keys: Vec<SigningKeyRecord> = self
            .keys
            .iter()
            .filter(|k| k.published(now))
            .cloned()
            .collect();
        for k in &mut keys {
            if fresh.iter().any(|f| f.alg == k.alg) && k.retire_until.is_none() {
                k.retire_until = Some(activate_at + max_token_lifetime);
            }
        }
        keys.extend(fresh.into_iter().map(|mut f| {
            f.not_before = Some(activate_at);
            f
        }));
        KeySetRecord {
            version: self.version + 1,
            keys,
        }
    }
}

/// Every key the server publishes. Stored as one record so all instances
/// agree on it; `version` lets rotation compare-and-swap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySetRecord {
    pub version: u64,
    pub keys: Vec<SigningKeyRecord>,
}
