//! Signing keys: generation, persistence form, JWKS, and the in-memory ring
//! of parsed keys (parsed once: RSA key parsing is far dearer than signing).

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::DecodingKey;
use serde_json::json;
use time::OffsetDateTime;

use super::{CryptoError, sha256};
use crate::domain::client::SigningAlg;
use crate::domain::signing_key::{KeySetRecord, KeyState, SigningKeyRecord};

enum Material {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A parsed private key with its public JWK and pre-encoded JWT headers.
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    material: Material,
    jwk: serde_json::Value,
    decoding: DecodingKey,
    /// base64url of the JOSE header for each [`JwtType`].
    headers: [String; 3],
    rng: SystemRandom,
}

/// The `typ` header of the tokens we sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtType {
    /// RFC 9068 access token (`at+jwt`).
    AccessToken = 0,
    /// OpenID Connect ID token (`JWT`).
    IdToken = 1,
    /// Back-channel logout token (`logout+jwt`).
    LogoutToken = 2,
}

impl JwtType {
    pub const fn typ(self) -> &'static str {
        match self {
            JwtType::AccessToken => "at+jwt",
            JwtType::IdToken => "JWT",
            JwtType::LogoutToken => "logout+jwt",
        }
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a fresh key: RSA-2048 for RS256, P-256 for ES256.
    pub fn generate(alg: SigningAlg, now: OffsetDateTime) -> Result<SigningKeyRecord, CryptoError> {
        let pkcs8 = match alg {
            SigningAlg::RS256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .and_then(|k| k.as_der())
                .map_err(|_| CryptoError::KeyGeneration("RSA-2048"))?
                .as_ref()
                .to_vec(),
            SigningAlg::ES256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                    .map_err(|_| CryptoError::KeyGeneration("P-256"))?
                    .as_ref()
                    .to_vec()
            }
        };
        let parsed = Self::parse(alg, &pkcs8, String::new())?;
        Ok(SigningKeyRecord {
            kid: thumbprint(&parsed.jwk),
            alg,
            pkcs8_der_b64: STANDARD.encode(&pkcs8),
            created: now,
            state: KeyState::Active,
            not_before: None,
            retire_until: None,
        })
    }

    pub fn from_record(record: &SigningKeyRecord) -> Result<Self, CryptoError> {
        let der = STANDARD
            .decode(&record.pkcs8_der_b64)
            .map_err(|e| CryptoError::BadKey(format!("{}: {e}", record.kid)))?;
        Self::parse(record.alg, &der, record.kid.clone())
    }

    fn parse(alg: SigningAlg, pkcs8: &[u8], kid: String) -> Result<Self, CryptoError> {
        let bad = |e: &dyn std::fmt::Display| CryptoError::BadKey(format!("{kid}: {e}"));
        let (material, mut jwk, decoding) = match alg {
            SigningAlg::RS256 => {
                let key = RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| bad(&e))?;
                let public = key.public_key();
                let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
                let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
                let decoding = DecodingKey::from_rsa_components(&n, &e).map_err(|e| bad(&e))?;
                (
                    Material::Rsa(key),
                    json!({"kty": "RSA", "n": n, "e": e}),
                    decoding,
                )
            }
            SigningAlg::ES256 => {
                let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                    .map_err(|e| bad(&e))?;
                let point = key.public_key().as_ref();
                // Uncompressed SEC1 point: 0x04 || x (32) || y (32).
                let (Some(x), Some(y)) = (point.get(1..33), point.get(33..65)) else {
                    return Err(bad(&"unexpected P-256 public key length"));
                };
                let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
                let decoding = DecodingKey::from_ec_components(&x, &y).map_err(|e| bad(&e))?;
                (
                    Material::Ec(key),
                    json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
                    decoding,
                )
            }
        };
        if let Some(map) = jwk.as_object_mut() {
            map.insert("kid".into(), kid.clone().into());
            map.insert("use".into(), "sig".into());
            map.insert("alg".into(), alg.as_str().into());
        }
        let header = |t: JwtType| {
            let h = json!({"alg": alg.as_str(), "typ": t.typ(), "kid": kid});
            URL_SAFE_NO_PAD.encode(h.to_string())
        };
        Ok(Self {
            headers: [
                header(JwtType::AccessToken),
                header(JwtType::IdToken),
                header(JwtType::LogoutToken),
            ],
            kid,
            alg,
            material,
            jwk,
            decoding,
            rng: SystemRandom::new(),
        })
    }

    /// The public key as a JWK (`kid`, `use: sig`, `alg`).
    pub fn public_jwk(&self) -> &serde_json::Value {
        &self.jwk
    }

    pub fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }

    pub(crate) fn encoded_header(&self, typ: JwtType) -> &str {
        &self.headers[typ as usize]
    }

    /// Signs `message` (JWS signing input) and returns the raw signature.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match &self.material {
            Material::Rsa(key) => {
                let mut sig = vec![0; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut sig)
                    .map_err(|_| CryptoError::Signing)?;
                Ok(sig)
            }
            Material::Ec(key) => key
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| CryptoError::Signing),
        }
    }
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url) of the public members.
fn thumbprint(jwk: &serde_json::Value) -> String {
    let field = |k: &str| jwk.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    // Members in lexicographic order, no whitespace, as the RFC requires.
    let canonical = if field("kty") == "RSA" {
        format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            field("e"),
            field("n")
        )
    } else {
        format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            field("crv"),
            field("x"),
            field("y")
        )
    };
    URL_SAFE_NO_PAD.encode(sha256(canonical.as_bytes()))
}

/// The keys published at one moment, parsed, with the signer per
/// algorithm and the JWKS document rendered once.
#[derive(Debug)]
pub struct KeyRing {
    record: KeySetRecord,
    by_kid: HashMap<String, Arc<SigningKey>>,
    active: HashMap<SigningAlg, Arc<SigningKey>>,
    jwks: Arc<str>,
    /// When this ring stops being right (a key activates or retires).
    valid_until: Option<OffsetDateTime>,
}

impl KeyRing {
    pub fn from_record(record: &KeySetRecord, now: OffsetDateTime) -> Result<Self, CryptoError> {
        Self::build(record, now, None)
    }

    /// Builds the ring for `now`, reusing parsed keys of `previous`
    /// (parsing RSA keys is slow).
    pub fn build(
        record: &KeySetRecord,
        now: OffsetDateTime,
        previous: Option<&KeyRing>,
    ) -> Result<Self, CryptoError> {
        let mut by_kid = HashMap::new();
        let mut active: HashMap<SigningAlg, (Arc<SigningKey>, OffsetDateTime)> = HashMap::new();
        let mut jwks = Vec::new();
        for r in record.keys.iter().filter(|r| r.published(now)) {
            let key = match previous.and_then(|p| p.by_kid.get(&r.kid)) {
                Some(k) => k.clone(),
                None => Arc::new(SigningKey::from_record(r)?),
            };
            jwks.push(key.public_jwk().clone());
            if r.may_sign(now) {
                // The most recently activated key of an algorithm signs.
                let since = r.not_before.unwrap_or(r.created);
                if active.get(&r.alg).is_none_or(|(_, t)| since >= *t) {
                    active.insert(r.alg, (key.clone(), since));
                }
            }
            by_kid.insert(r.kid.clone(), key);
        }
        for alg in [SigningAlg::RS256, SigningAlg::ES256] {
            if !active.contains_key(&alg) {
                return Err(CryptoError::BadKey(format!(
                    "no active {} key",
                    alg.as_str()
                )));
            }
        }
        let doc = json!({ "keys": jwks }).to_string();
        Ok(Self {
            valid_until: record.next_change(now),
            record: record.clone(),
            by_kid,
            active: active.into_iter().map(|(alg, (k, _))| (alg, k)).collect(),
            jwks: doc.into(),
        })
    }

    pub fn record(&self) -> &KeySetRecord {
        &self.record
    }

    /// True when `now` needs a rebuilt ring.
    pub fn stale_at(&self, now: OffsetDateTime) -> bool {
        self.valid_until.is_some_and(|t| now >= t)
    }

    /// A new key set with one active RS256 and one active ES256 key.
    pub fn generate_record(now: OffsetDateTime) -> Result<KeySetRecord, CryptoError> {
        Ok(KeySetRecord {
            version: 1,
            keys: vec![
                SigningKey::generate(SigningAlg::RS256, now)?,
                SigningKey::generate(SigningAlg::ES256, now)?,
            ],
        })
    }

    pub fn version(&self) -> u64 {
        self.record.version
    }

    pub fn active(&self, alg: SigningAlg) -> Option<&Arc<SigningKey>> {
        self.active.get(&alg)
    }

    pub fn by_kid(&self, kid: &str) -> Option<&Arc<SigningKey>> {
        self.by_kid.get(kid)
    }

    pub fn jwks_json(&self) -> &Arc<str> {
        &self.jwks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_round_trip_and_publish_only_public_parts() {
        let record = KeyRing::generate_record(OffsetDateTime::UNIX_EPOCH).unwrap();
        let ring = KeyRing::from_record(&record, OffsetDateTime::UNIX_EPOCH).unwrap();
        let jwks: serde_json::Value = serde_json::from_str(ring.jwks_json()).unwrap();
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 2);
        for k in keys {
            assert_eq!(k["use"], "sig");
            assert!(k.get("d").is_none() && k.get("p").is_none());
            let kid = k["kid"].as_str().unwrap();
            assert_eq!(thumbprint(k), kid, "kid is the RFC 7638 thumbprint");
        }
        let rsa = ring.active(SigningAlg::RS256).unwrap();
        assert_eq!(rsa.sign(b"x").unwrap().len(), 256);
        let ec = ring.active(SigningAlg::ES256).unwrap();
        assert_eq!(ec.sign(b"x").unwrap().len(), 64);
    }
}
