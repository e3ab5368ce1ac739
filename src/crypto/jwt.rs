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

/// Property tests (`prop_*`; `PROPTEST_CASES` sets the number of cases) of
/// reading a token, which anyone can send as a bearer or a hint.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;
    use std::sync::LazyLock;
    use time::OffsetDateTime;

    const ISS: &str = "https://i";

    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    struct Claims {
        iss: String,
        aud: Audience,
        sub: String,
    }

    /// A key ring and one token per algorithm signed with it.
    static SIGNED: LazyLock<(KeyRing, Claims, Vec<String>)> = LazyLock::new(|| {
        let ring = KeyRing::from_record(
            &KeyRing::generate_record(OffsetDateTime::UNIX_EPOCH).unwrap(),
            OffsetDateTime::UNIX_EPOCH,
        )
        .unwrap();
        let claims = Claims {
            iss: ISS.into(),
            aud: Audience::Many(vec!["a".into(), "b".into()]),
            sub: "s".into(),
        };
        let tokens = [SigningAlg::RS256, SigningAlg::ES256]
            .iter()
            .map(|alg| sign(ring.active(*alg).unwrap(), JwtType::AccessToken, &claims).unwrap())
            .collect();
        (ring, claims, tokens)
    });

    fn b64(json: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(json.to_string())
    }

    proptest! {
        #[test]
        fn prop_jwt_verify_never_panics(token in prop_oneof![any::<String>(), "[A-Za-z0-9_.-]{0,200}"]) {
            let (ring, _, _) = &*SIGNED;
            prop_assert!(verify::<Claims>(ring, &token, JwtType::AccessToken, ISS, "a").is_err());
            let _ = verify_any_audience::<serde_json::Value>(ring, &token, JwtType::IdToken, ISS);
        }

        #[test]
        fn prop_jwt_a_changed_token_never_verifies_to_other_claims(
            which in 0usize..2,
            edits in proptest::collection::vec(
                (any::<prop::sample::Index>(), proptest::sample::select(b"AQgw_-.=+/ \\x00".to_vec()), 0u8..3),
                1..4,
            ),
        ) {
            let (ring, claims, tokens) = &*SIGNED;
            let mut token = tokens[which].clone().into_bytes();
            for (at, byte, kind) in edits {
                let i = at.index(token.len().max(1));
                match kind {
                    0 if i < token.len() => token[i] = byte,
                    1 => token.truncate(i),
                    _ => token.insert(i.min(token.len()), byte),
                }
            }
            let token = String::from_utf8_lossy(&token);
            if let Ok(back) = verify::<Claims>(ring, &token, JwtType::AccessToken, ISS, "a") {
                prop_assert_eq!(&back, claims);
            }
        }

        #[test]
        fn prop_jwt_forged_headers_never_verify(
            which in 0usize..2,
            alg in proptest::sample::select(vec!["none", "HS256", "RS256", "ES256", "PS256", "EdDSA", "rs256", ""]),
            typ in proptest::sample::select(vec!["at+jwt", "JWT", "AT+JWT", ""]),
            kid in prop_oneof![Just(None), Just(Some("real".to_owned())), "[a-z0-9-]{0,12}".prop_map(Some)],
            sub in "[ -~]{0,12}",
            signature in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let (ring, _, tokens) = &*SIGNED;
            let real_kid = jsonwebtoken::decode_header(&tokens[which]).ok().and_then(|h| h.kid).unwrap_or_default();
            let mut header = serde_json::json!({ "alg": alg, "typ": typ });
            if let Some(k) = kid {
                header["kid"] = serde_json::Value::from(if k == "real" { real_kid } else { k });
            }
            let payload = serde_json::json!({ "iss": ISS, "aud": "a", "sub": sub });
            let token = format!("{}.{}.{}", b64(&header), b64(&payload), URL_SAFE_NO_PAD.encode(&signature));
            // Without our private key no signature verifies: neither "none",
            // nor an HMAC keyed with the public key, nor random bytes.
            prop_assert!(verify::<Claims>(ring, &token, JwtType::AccessToken, ISS, "a").is_err(), "{}", token);
            let unsigned = format!("{}.{}.", b64(&header), b64(&payload));
            prop_assert!(verify::<Claims>(ring, &unsigned, JwtType::AccessToken, ISS, "a").is_err());
        }
    }
}
