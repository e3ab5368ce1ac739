//! The token endpoint: client credentials and RFC 6749 §5.2 errors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::helpers::*;

async fn post_token(
    app: &TestApp,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = app.http.post(app.url("/token")).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.json().await.unwrap())
}

fn header_of(token: &str) -> Value {
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Verifies `token` against the published JWKS, as a resource server would.
async fn verify_with_jwks(app: &TestApp, token: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid is published");
    let mut v = Validation::new(header.alg);
    v.set_audience(&[format!("{}/api/v1", app.base)]);
    v.set_issuer(std::slice::from_ref(&app.base));
    v.leeway = 0;
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .unwrap()
        .claims
}

#[tokio::test]
async fn client_credentials_issue_rfc9068_access_tokens() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let (status, headers, body) = post_token(
        &app,
        Some((HR_ID, HR_SECRET)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["pragma"], "no-cache");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(
        body["scope"],
        "User.ReadWrite.All UserAuthenticationMethod.ReadWrite.All"
    );
    let token = body["access_token"].as_str().unwrap();
    let h = header_of(token);
    assert_eq!(h["typ"], "at+jwt");
    assert_eq!(h["alg"], "ES256", "ES256 is the default for access tokens");
    let claims = verify_with_jwks(&app, token).await;
    assert_eq!(claims["iss"], app.base);
    assert_eq!(claims["sub"], HR_ID);
    assert_eq!(claims["client_id"], HR_ID);
    assert_eq!(claims["aud"], format!("{}/api/v1", app.base));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert_eq!(claims["iat"].as_i64().unwrap(), app.clock_now_unix());
    assert!(claims["jti"].as_str().unwrap().len() >= 22);
    assert_eq!(
        claims["scope"],
        "User.ReadWrite.All UserAuthenticationMethod.ReadWrite.All"
    );

    // client_secret_post, a narrower scope, and an RS256 client.
    let (status, _, body) = post_token(
        &app,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", HR_ID),
            ("client_secret", HR_SECRET),
            ("scope", "User.ReadWrite.All"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "User.ReadWrite.All");
    let (status, _, body) = post_token(
        &app,
        Some(("rs-client", "rs-client-secret-0123456789")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, 200);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(header_of(token)["alg"], "RS256");
    assert_eq!(verify_with_jwks(&app, token).await["sub"], "rs-client");
    let _ = Algorithm::RS256;
}

#[tokio::test]
async fn token_errors_follow_rfc6749() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let cc = [("grant_type", "client_credentials")];

    // Wrong secret with Basic: 401 and a Basic challenge.
    let (status, headers, body) =
        post_token(&app, Some((HR_ID, "wrong-secret-0123456789")), &cc).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(headers["cache-control"], "no-store");
    // Wrong secret in the body: 401 too.
    let (status, _, body) = post_token(
        &app,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", HR_ID),
            ("client_secret", "nope"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // Unknown client, and no authentication at all.
    let (status, _, body) = post_token(&app, Some(("nobody", "whatever-secret")), &cc).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, _, body) = post_token(&app, None, &cc).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // Two authentication methods at once.
    let (status, _, body) = post_token(
        &app,
        Some((HR_ID, HR_SECRET)),
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", HR_SECRET),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // Missing and unsupported grant types.
    let (status, _, body) = post_token(&app, Some((HR_ID, HR_SECRET)), &[("scope", "x")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, _, body) = post_token(
        &app,
        Some((HR_ID, HR_SECRET)),
        &[("grant_type", "password")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    // A scope the client was not granted.
    let (status, _, body) = post_token(
        &app,
        Some((READER_ID, READER_SECRET)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "UserAuthenticationMethod.ReadWrite.All"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    // A repeated parameter.
    let (status, _, body) = post_token(
        &app,
        Some((HR_ID, HR_SECRET)),
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // A public client cannot use client credentials.
    let (status, _, body) = post_token(
        &app,
        None,
        &[("grant_type", "client_credentials"), ("client_id", "spa")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    // Not a form; not POST.
    let res = app
        .http
        .post(app.url("/token"))
        .basic_auth(HR_ID, Some(HR_SECRET))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
    let res = app.http.get(app.url("/token")).send().await.unwrap();
    assert_eq!(res.status(), 405);

    // Failed client authentication is audited.
    let page = app
        .store
        .list_audit(&Default::default(), None, 100)
        .await
        .unwrap();
    let failures = page
        .events
        .iter()
        .filter(|e| {
            e.event_type == onramp::domain::audit::AuditEventType::ClientAuthenticationFailed
        })
        .count();
    assert!(failures >= 4, "{failures}");
}

impl TestApp {
    pub fn clock_now_unix(&self) -> i64 {
        onramp::clock::Clock::now(&self.clock).unix_timestamp()
    }
}
