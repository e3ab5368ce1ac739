//! `private_key_jwt` client authentication (RFC 7523 §2.2, §3; OIDC Core §9):
//! the client signs a short JWT with a key from its registered JWKS.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::sync::Arc;
use time::Duration;

use super::Context;
use super::discovery::TOKEN_PATH;
use super::token::store_error;
use crate::domain::client::{Client, ClientAuthMethod};
use crate::domain::oauth::{OAuthError, OAuthErrorCode};
use crate::store::Ns;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Longest lifetime we accept for an assertion (it is single use anyway).
const MAX_LIFETIME: Duration = Duration::minutes(10);
const ALGS: [Algorithm; 5] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: String,
    sub: String,
    aud: Audience,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    jti: String,
}

fn invalid(msg: &'static str) -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidClient, msg)
}

/// The `iss` of an assertion, unverified: only to find the client.
fn claimed_client(assertion: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    let payload = assertion.split('.').nth(1)?;
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice::<Iss>(&bytes).ok().map(|c| c.iss)
}

/// Verifies `assertion` and returns the client it authenticates.
pub async fn authenticate(
    ctx: &Context,
    assertion_type: Option<&str>,
    assertion: &str,
    form_id: Option<&str>,
) -> Result<Arc<Client>, OAuthError> {
    if assertion_type != Some(ASSERTION_TYPE) {
        return Err(OAuthError::invalid_request(
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ));
    }
    let id = match (form_id, claimed_client(assertion)) {
        (Some(f), Some(c)) if f != c => {
            return Err(invalid("client_id does not match the assertion's issuer"));
        }
        (_, Some(c)) => c,
        (_, None) => return Err(invalid("the client assertion is not a JWT")),
    };
    let client = ctx.clients.find(&id).await.map_err(store_error)?;
    let Some(client) = client.filter(|c| c.auth_method == ClientAuthMethod::PrivateKeyJwt) else {
        return Err(invalid("client authentication failed"));
    };
    let jwks: JwkSet = client
        .jwks
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok())
        .ok_or_else(|| invalid("the client has no usable JWKS"))?;
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| invalid("the client assertion is malformed"))?;
    if !ALGS.contains(&header.alg) {
        return Err(invalid("the client assertion's algorithm is not accepted"));
    }
    let candidates: Vec<_> = match &header.kid {
        Some(kid) => jwks.find(kid).into_iter().collect(),
        None => jwks.keys.iter().collect(),
    };
    let token_endpoint = format!("{}{TOKEN_PATH}", ctx.issuer);
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = candidates
        .into_iter()
        .filter_map(|jwk| DecodingKey::from_jwk(jwk).ok())
        .find_map(|key| jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation).ok())
        .map(|d| d.claims)
        .ok_or_else(|| invalid("the client assertion's signature does not verify"))?;
    if claims.iss != client.id || claims.sub != client.id {
        return Err(invalid(
            "the client assertion's iss and sub must be the client_id",
        ));
    }
    let audiences = match claims.aud {
        Audience::One(a) => vec![a],
        Audience::Many(v) => v,
    };
    if !audiences
        .iter()
        .any(|a| *a == token_endpoint || *a == ctx.issuer)
    {
        return Err(invalid(
            "the client assertion's aud must be the token endpoint or the issuer",
        ));
    }
    let now = ctx.clock.now();
    let exp =
        time::OffsetDateTime::from_unix_timestamp(claims.exp).map_err(|_| invalid("bad exp"))?;
    if exp <= now {
        return Err(invalid("the client assertion has expired"));
    }
    if exp > now + MAX_LIFETIME
        || claims
            .iat
            .is_some_and(|iat| iat > now.unix_timestamp() + 60)
    {
        return Err(invalid(
            "the client assertion lives too long or was issued in the future",
        ));
    }
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(invalid("the client assertion needs a jti"));
    }
    // Each assertion is single use: remember its jti until it expires.
    let key = format!("assertion:{}:{}", client.id, claims.jti);
    let fresh = ctx
        .store
        .put_new(Ns::Nonce, &key, b"1", exp, now)
        .await
        .map_err(store_error)?;
    if !fresh {
        return Err(invalid("the client assertion was already used"));
    }
    Ok(client)
}
