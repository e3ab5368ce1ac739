//! JWS compact serialisation with our pre-parsed keys (signing), and
//! verification of our own tokens through `jsonwebtoken`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::CryptoError;
use super::keys::{JwtType, KeyRing, SigningKey};
use crate::domain::client::SigningAlg;

/// Signs `claims` as a compact JWS with `key`.
pub fn sign<T: Serialize>(
    key: &SigningKey,
    typ: JwtType,
    claims: &T,
) -> Result<String, CryptoError> {
    let payload = serde_json::to_vec(claims).map_err(|_| CryptoError::Signing)?;
    let header = key.encoded_header(typ);
    // header . payload . signature (RSA-2048: 342 chars, P-256: 86 chars)
    let mut out = String::with_capacity(header.len() + payload.len() * 4 / 3 + 350);
    out.push_str(header);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut out);
    let signature = key.sign(out.as_bytes())?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&signature, &mut out);
    Ok(out)
}

/// The `aud` claim: one audience or several (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    /// The first audience: the client an ID token was issued to.
    pub fn first(&self) -> Option<&str> {
        match self {
            Audience::One(a) => Some(a),
            Audience::Many(v) => v.first().map(String::as_str),
        }
    }

    pub fn contains(&self, aud: &str) -> bool {
        match self {
            Audience::One(a) => a == aud,
            Audience::Many(v) => v.iter().any(|a| a == aud),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("malformed token")]
    Malformed,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("wrong token type")]
    WrongType,
    #[error("invalid token: {0}")]
    Invalid(String),
}

/// Verifies a token signed by one of our keys: signature, `typ`, `iss` and
/// `aud`. Expiry is left to the caller, who holds the clock.
pub fn verify<T: DeserializeOwned>(
    ring: &KeyRing,
    token: &str,
    typ: JwtType,
    issuer: &str,
    audience: &str,
) -> Result<T, JwtError> {
    decode(ring, token, typ, issuer, Some(audience))
}

/// Like [`verify`] without the audience check: for ID token hints, which
/// name their client in `aud` and may have expired (OIDC Core §3.1.2.1).
pub fn verify_any_audience<T: DeserializeOwned>(
    ring: &KeyRing,
    token: &str,
    typ: JwtType,
    issuer: &str,
) -> Result<T, JwtError> {
    decode(ring, token, typ, issuer, None)
}

fn decode<T: DeserializeOwned>(
    ring: &KeyRing,
    token: &str,
    typ: JwtType,
    issuer: &str,
    audience: Option<&str>,
) -> Result<T, JwtError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Malformed)?;
    if header.typ.as_deref() != Some(typ.typ()) {
        return Err(JwtError::WrongType);
    }
    let kid = header.kid.ok_or(JwtError::UnknownKey)?;
    let key = ring.by_kid(&kid).ok_or(JwtError::UnknownKey)?;
    let alg = match key.alg {
        SigningAlg::RS256 => Algorithm::RS256,
        SigningAlg::ES256 => Algorithm::ES256,
    };
    if header.alg != alg {
        return Err(JwtError::Invalid("algorithm does not match the key".into()));
    }
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    validation.set_issuer(&[issuer]);
    match audience {
        Some(aud) => validation.set_audience(&[aud]),
        None => validation.validate_aud = false,
    }
    jsonwebtoken::decode::<T>(token, key.decoding_key(), &validation)
        .map(|data| data.claims)
        .map_err(|e| JwtError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use time::OffsetDateTime;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Claims {
        iss: String,
        aud: String,
        sub: String,
    }

    #[test]
    fn sign_then_verify_with_both_algorithms() {
        let ring = KeyRing::from_record(
            &KeyRing::generate_record(OffsetDateTime::UNIX_EPOCH).unwrap(),
            OffsetDateTime::UNIX_EPOCH,
        )
        .unwrap();
        let claims = Claims {
            iss: "https://i".into(),
            aud: "a".into(),
            sub: "s".into(),
        };
        for alg in [SigningAlg::RS256, SigningAlg::ES256] {
            let key = ring.active(alg).unwrap();
            let token = sign(key, JwtType::AccessToken, &claims).unwrap();
            let back: Claims =
                verify(&ring, &token, JwtType::AccessToken, "https://i", "a").unwrap();
            assert_eq!(back, claims);
            assert_eq!(
                verify::<Claims>(&ring, &token, JwtType::IdToken, "https://i", "a").unwrap_err(),
                JwtError::WrongType
            );
            assert!(
                verify::<Claims>(&ring, &token, JwtType::AccessToken, "https://other", "a")
                    .is_err()
            );
            assert!(
                verify::<Claims>(&ring, &token, JwtType::AccessToken, "https://i", "b").is_err()
            );
            // Flip a byte of the signature.
            let mut forged = token.clone().into_bytes();
            let last = forged.len() - 2;
            forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
            let forged = String::from_utf8(forged).unwrap();
            assert!(
                verify::<Claims>(&ring, &forged, JwtType::AccessToken, "https://i", "a").is_err()
            );
        }
    }
}
