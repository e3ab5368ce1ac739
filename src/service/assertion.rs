//! `private_key_jwt` client authentication (RFC 7523 §2.2, §3; OIDC Core §9):
//! the client signs a short JWT with a key from its registered JWKS, given
//! inline or served at its `jwks_uri` (fetched here and cached).

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};

use super::Context;
use super::discovery::TOKEN_PATH;
use super::oauth_errors::store_error;
use crate::domain::client::{Client, ClientAuthMethod, ClientKeys};
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

fn invalid(msg: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
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
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| invalid("the client assertion is malformed"))?;
    if !ALGS.contains(&header.alg) {
        return Err(invalid("the client assertion's algorithm is not accepted"));
    }
    let jwks: Arc<JwkSet> = match &client.jwks {
        Some(ClientKeys::Inline(text)) => serde_json::from_str(text).ok().map(Arc::new),
        Some(ClientKeys::Uri { jwks_uri }) => Some(
            ctx.remote_jwks
                .keys(
                    &ctx.http,
                    &client.id,
                    jwks_uri,
                    header.kid.as_deref(),
                    ctx.clock.now(),
                )
                .await
                .map_err(|e| {
                    invalid(format!(
                        "the client's keys could not be fetched from its jwks_uri: {e}"
                    ))
                })?,
        ),
        None => None,
    }
    .ok_or_else(|| invalid("the client has no usable JWKS"))?;
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

/// Fetched keys are used this long, then fetched again in the background.
const JWKS_TTL: Duration = Duration::minutes(5);
/// Fetches of one client's `jwks_uri` are at least this far apart, failed
/// ones included: assertions naming unknown `kid`s cannot make us fetch on
/// every request.
const MIN_REFETCH: Duration = Duration::seconds(30);
/// Keys older than this are not used, even when a refresh keeps failing.
const MAX_STALE: Duration = Duration::hours(1);
/// A fetch holds up a token request at most this long.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);
/// Larger answers are refused (a JWK Set with a few keys is a few KiB).
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// Keys fetched from clients' `jwks_uri`s (RFC 7523 §3 with RFC 7591's
/// `jwks_uri`), per client and instance.
#[derive(Default)]
pub struct RemoteJwks {
    entries: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Fetched>>>>,
}

#[derive(Default)]
struct Fetched {
    /// The last keys fetched and when.
    keys: Option<(Arc<JwkSet>, OffsetDateTime)>,
    last_attempt: Option<OffsetDateTime>,
    last_error: Option<String>,
}

impl RemoteJwks {
    /// The keys at `uri` for `client_id`, from the cache when fresh. A `kid`
    /// the cached keys lack triggers one fetch (not more often than
    /// [`MIN_REFETCH`]); expired keys that still hold the `kid` are used
    /// while a background fetch replaces them. Errors say why, briefly.
    pub async fn keys(
        &self,
        http: &reqwest::Client,
        client_id: &str,
        uri: &str,
        kid: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Arc<JwkSet>, String> {
        let entry = {
            let mut entries = self
                .entries
                .lock()
                .map_err(|_| "the key cache is unavailable".to_owned())?;
            entries
                .entry(format!("{client_id} {uri}"))
                .or_default()
                .clone()
        };
        // One fetch at a time per client; others wait for its result.
        let mut fetched = entry.lock().await;
        let may_fetch = fetched.last_attempt.is_none_or(|t| now - t >= MIN_REFETCH);
        let usable = fetched
            .keys
            .as_ref()
            .filter(|(_, at)| now - *at < MAX_STALE)
            .map(|(set, at)| (set.clone(), *at));
        if let Some((set, at)) = &usable
            && kid.is_none_or(|k| set.find(k).is_some())
        {
            if now - *at >= JWKS_TTL && may_fetch {
                fetched.last_attempt = Some(now);
                let (entry, http, uri) = (entry.clone(), http.clone(), uri.to_owned());
                tokio::spawn(async move {
                    let result = fetch(&http, &uri).await;
                    entry.lock().await.record(result, now, &uri);
                });
            }
            return Ok(set.clone());
        }
        if may_fetch {
            fetched.last_attempt = Some(now);
            let result = fetch(http, uri).await;
            fetched.record(result, now, uri);
        }
        match fetched
            .keys
            .as_ref()
            .filter(|(_, at)| now - *at < MAX_STALE)
        {
            // Without the kid the signature check fails with a clear message.
            Some((set, _)) => Ok(set.clone()),
            None => Err(fetched
                .last_error
                .clone()
                .unwrap_or_else(|| "no keys yet".to_owned())),
        }
    }
}

impl Fetched {
    fn record(&mut self, result: Result<JwkSet, String>, at: OffsetDateTime, uri: &str) {
        match result {
            Ok(set) => {
                self.keys = Some((Arc::new(set), at));
                self.last_error = None;
            }
            Err(e) => {
                tracing::warn!(jwks_uri = %uri, error = %e, "cannot fetch a client's JWKS");
                self.last_error = Some(e);
            }
        }
    }
}

/// GET `uri`, bounded in time and size; keeps the signing keys it can read
/// (a set may also hold encryption keys or kinds we do not know).
async fn fetch(http: &reqwest::Client, uri: &str) -> Result<JwkSet, String> {
    let mut res = http
        .get(uri)
        .header(
            reqwest::header::ACCEPT,
            "application/jwk-set+json, application/json",
        )
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    if !res.status().is_success() {
        return Err(format!("it answered HTTP {}", res.status().as_u16()));
    }
    let too_large = || format!("the answer is larger than {MAX_JWKS_BYTES} bytes");
    if res
        .content_length()
        .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    #[derive(Deserialize)]
    struct RawSet {
        keys: Vec<serde_json::Value>,
    }
    let raw: RawSet =
        serde_json::from_slice(&body).map_err(|_| "the answer is not a JWK Set".to_owned())?;
    let keys: Vec<Jwk> = raw
        .keys
        .into_iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
        .filter(|k| {
            k.common.public_key_use != Some(PublicKeyUse::Encryption)
                && DecodingKey::from_jwk(k).is_ok()
        })
        .collect();
    if keys.is_empty() {
        return Err("the JWK Set holds no usable signing key".to_owned());
    }
    Ok(JwkSet { keys })
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("no answer within {} seconds", FETCH_TIMEOUT.as_secs())
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else if e.is_redirect() {
        "it redirects, which is not followed".to_owned()
    } else {
        "the request failed".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JWKS server on a loopback port: counts requests, serves `body`.
    async fn serve(body: &'static str) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        (url, hits)
    }

    const SET: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","use":"sig","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},{"kty":"RSA","use":"enc","kid":"e1","n":"AQAB","e":"AQAB"},{"kty":"unknown"}]}"#;

    #[tokio::test]
    async fn cached_refetched_on_unknown_kid_at_most_every_30_seconds() {
        let (url, hits) = serve(SET).await;
        let hits = move || hits.load(std::sync::atomic::Ordering::SeqCst);
        let http = reqwest::Client::new();
        let cache = RemoteJwks::default();
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let set = cache.keys(&http, "c", &url, Some("k1"), t0).await.unwrap();
        // The encryption key and the unknown kind are left out.
        assert_eq!(set.keys.len(), 1);
        assert_eq!(hits(), 1);
        cache
            .keys(&http, "c", &url, Some("k1"), t0 + Duration::minutes(1))
            .await
            .unwrap();
        cache
            .keys(&http, "c", &url, None, t0 + Duration::minutes(1))
            .await
            .unwrap();
        assert_eq!(hits(), 1, "fresh keys come from the cache");
        // An unknown kid: one refetch, then none for 30 s.
        let t1 = t0 + Duration::minutes(2);
        cache.keys(&http, "c", &url, Some("k9"), t1).await.unwrap();
        assert_eq!(hits(), 2);
        for s in [0, 10, 29] {
            cache
                .keys(&http, "c", &url, Some("k9"), t1 + Duration::seconds(s))
                .await
                .unwrap();
        }
        assert_eq!(hits(), 2, "unknown kids are rate-limited");
        cache
            .keys(&http, "c", &url, Some("k9"), t1 + Duration::seconds(30))
            .await
            .unwrap();
        assert_eq!(hits(), 3);
        // Past the TTL: the cached keys answer at once, a background fetch
        // replaces them.
        let t2 = t1 + Duration::seconds(30) + JWKS_TTL;
        cache.keys(&http, "c", &url, Some("k1"), t2).await.unwrap();
        for _ in 0..100 {
            if hits() == 4 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(hits(), 4);
        // Another client has its own entry.
        cache.keys(&http, "d", &url, None, t2).await.unwrap();
        assert_eq!(hits(), 5);
    }

    #[tokio::test]
    async fn failures_are_described_and_not_retried_at_once() {
        let http = reqwest::Client::new();
        let cache = RemoteJwks::default();
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        // A port nobody listens on.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}/jwks", l.local_addr().unwrap())
        };
        let e = cache.keys(&http, "c", &closed, None, t0).await.unwrap_err();
        assert_eq!(e, "cannot connect");

        let (not_a_set, _) = serve(r#"{"keys": 3}"#).await;
        let e = cache
            .keys(&http, "c", &not_a_set, None, t0)
            .await
            .unwrap_err();
        assert_eq!(e, "the answer is not a JWK Set");
        let (empty, hits) = serve(r#"{"keys": []}"#).await;
        let e = cache.keys(&http, "c", &empty, None, t0).await.unwrap_err();
        assert!(e.contains("no usable signing key"), "{e}");
        let e = cache
            .keys(&http, "c", &empty, None, t0 + Duration::seconds(5))
            .await
            .unwrap_err();
        assert!(
            e.contains("no usable signing key"),
            "the last error is kept: {e}"
        );
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);

        let big: &'static str = Box::leak(
            format!(r#"{{"keys":[],"pad":"{}"}}"#, "x".repeat(MAX_JWKS_BYTES)).into_boxed_str(),
        );
        let (large, _) = serve(big).await;
        let e = cache.keys(&http, "c", &large, None, t0).await.unwrap_err();
        assert!(e.contains("larger than"), "{e}");
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                held.push(socket); // never answers
            }
        });
        let started = std::time::Instant::now();
        let e = RemoteJwks::default()
            .keys(
                &reqwest::Client::new(),
                "c",
                &url,
                None,
                OffsetDateTime::UNIX_EPOCH,
            )
            .await
            .unwrap_err();
        assert!(e.contains("no answer within 3 seconds"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}

/// Property tests (`prop_*`; `PROPTEST_CASES` sets the number of cases) of
/// the hand-written part of reading a `client_assertion`.
#[cfg(test)]
mod proptests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn prop_assertion_issuer_never_panics(s in prop_oneof![any::<String>(), "[A-Za-z0-9_.-]{0,80}"]) {
            let _ = claimed_client(&s);
        }

        #[test]
        fn prop_assertion_issuer_is_read_from_the_payload(
            iss in any::<String>(),
            header in "[A-Za-z0-9_-]{0,40}",
            signature in "[A-Za-z0-9_.-]{0,40}",
            extra in proptest::option::of(any::<i64>()),
        ) {
            let mut payload = serde_json::json!({ "iss": iss });
            if let Some(n) = extra {
                payload["exp"] = n.into();
            }
            let token = format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(payload.to_string()));
            prop_assert_eq!(claimed_client(&token), Some(iss));
        }

        #[test]
        fn prop_assertion_issuer_needs_a_string_iss(
            payload in prop_oneof![
                Just(serde_json::json!({})),
                Just(serde_json::json!({"iss": 1})),
                Just(serde_json::json!({"iss": null})),
                "[a-z]{0,5}".prop_map(|s| serde_json::json!({ s: "x" })),
            ],
            padded in any::<bool>(),
        ) {
            prop_assume!(payload.get("iss").is_none_or(|v| !v.is_string()));
            let mut body = URL_SAFE_NO_PAD.encode(payload.to_string());
            if padded {
                body.push('=');
            }
            prop_assert_eq!(claimed_client(&format!("e30.{body}.sig")), None);
        }
    }
}
