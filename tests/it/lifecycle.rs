//! Refresh rotation with reuse detection, revocation (RFC 7009) and
//! introspection (RFC 7662).

use onramp::clock::ManualClock;
use serde_json::{Value, json};
use time::Duration;

use crate::browser::Browser;
use crate::helpers::*;
use crate::oidc_flow::{Rp, code_from, provision, signed_in_browser};

pub async fn form(
    app: &TestApp,
    path: &str,
    auth: Option<(&str, &str)>,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = app.http.post(app.url(path)).form(fields);
    if let Some((id, secret)) = auth {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A fresh code through SSO, redeemed: the token response.
pub async fn tokens(app: &TestApp, rp: &Rp, browser: &Browser) -> Value {
    let (url, _, _, verifier) = rp.authorize_url(&[]);
    let (code, _, _) = code_from(&browser.get(&url).await);
    let (status, body) = form(
        app,
        "/token",
        Some((RP_ID, RP_SECRET)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", RP_REDIRECT),
            ("code_verifier", verifier.secret()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

pub fn refresh_of(v: &Value) -> String {
    v["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn refresh_rotation_revocation_and_introspection() {
    for backend in BACKENDS {
        let store = StoreHandle::new(backend);
        let app = TestApp::spawn(&store).await;
        let (_, passcode) = provision(&app, "tokens@example.com", json!({})).await;
        let rp = Rp::discover(&app, RP_ID).await;
        let browser = signed_in_browser(&app, &rp, "tokens@example.com", &passcode).await;
        let rp_auth = Some((RP_ID, RP_SECRET));

        // Introspection of fresh tokens.
        let first = tokens(&app, &rp, &browser).await;
        let access = first["access_token"].as_str().unwrap().to_owned();
        let r1 = refresh_of(&first);
        let (status, info) = form(&app, "/introspect", rp_auth, &[("token", &access)]).await;
        assert_eq!(status, 200);
        assert_eq!(info["active"], true, "{info}");
        assert_eq!(info["client_id"], RP_ID);
        assert!(info["scope"].as_str().unwrap().contains("openid"));
        let (_, info) = form(
            &app,
            "/introspect",
            rp_auth,
            &[("token", &r1), ("token_type_hint", "refresh_token")],
        )
        .await;
        assert_eq!(
            (info["active"].clone(), info["token_type"].clone()),
            (json!(true), json!("refresh_token"))
        );
        let (_, info) = form(&app, "/introspect", rp_auth, &[("token", "garbage")]).await;
        assert_eq!(info, json!({"active": false}));
        let (status, body) = form(
            &app,
            "/introspect",
            None,
            &[("token", &access), ("client_id", "spa")],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        let (status, body) = form(&app, "/introspect", rp_auth, &[]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request"))
        );

        // Rotation: each use gives a new refresh token; the old one is spent.
        let refresh = |token: String| {
            let app = &app;
            async move {
                form(
                    app,
                    "/token",
                    Some((RP_ID, RP_SECRET)),
                    &[("grant_type", "refresh_token"), ("refresh_token", &token)],
                )
                .await
            }
        };
        let (status, second) = refresh(r1.clone()).await;
        assert_eq!(status, 200, "{second}");
        let r2 = refresh_of(&second);
        assert_ne!(r1, r2);
        // Narrowing the scope is fine, widening is not.
        let (status, narrowed) = form(
            &app,
            "/token",
            rp_auth,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &r2),
                ("scope", "openid"),
            ],
        )
        .await;
        assert_eq!((status, narrowed["scope"].as_str()), (200, Some("openid")));
        let r3 = refresh_of(&narrowed);
        let (status, body) = form(
            &app,
            "/token",
            rp_auth,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &r3),
                ("scope", "openid address"),
            ],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_scope"))
        );
        // Reusing a spent token revokes the whole family, including the live one.
        let (status, body) = refresh(r1.clone()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        let (status, body) = refresh(r3.clone()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "family revoked"
        );
        let events = app
            .store
            .list_audit(&Default::default(), None, 500)
            .await
            .unwrap()
            .events;
        assert!(
            events
                .iter()
                .any(|e| e.event_type.as_str() == "refresh.reused")
        );

        // Revocation of a refresh token and of an access token.
        let fresh = tokens(&app, &rp, &browser).await;
        let (status, _) = form(
            &app,
            "/revoke",
            rp_auth,
            &[
                ("token", &refresh_of(&fresh)),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .await;
        assert_eq!(status, 200);
        let (status, _) = refresh(refresh_of(&fresh)).await;
        assert_eq!(status, 400);
        let access = fresh["access_token"].as_str().unwrap();
        let res = app
            .http
            .get(app.url("/userinfo"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let (status, _) = form(&app, "/revoke", rp_auth, &[("token", access)]).await;
        assert_eq!(status, 200);
        let res = app
            .http
            .get(app.url("/userinfo"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        let (_, info) = form(&app, "/introspect", rp_auth, &[("token", access)]).await;
        assert_eq!(info, json!({"active": false}));
        // Unknown tokens revoke "successfully"; a bad hint is refused.
        let (status, _) = form(&app, "/revoke", rp_auth, &[("token", "nothing")]).await;
        assert_eq!(status, 200);
        let (status, body) = form(
            &app,
            "/revoke",
            rp_auth,
            &[("token", "x"), ("token_type_hint", "id_token")],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("unsupported_token_type"))
        );
        // Another client cannot revoke this client's token.
        let other = tokens(&app, &rp, &browser).await;
        let (status, _) = form(
            &app,
            "/revoke",
            Some((HR_ID, HR_SECRET)),
            &[("token", &refresh_of(&other))],
        )
        .await;
        assert_eq!(status, 200);
        let (status, _) = refresh(refresh_of(&other)).await;
        assert_eq!(status, 200, "still valid");

        // Tokens from a TAP-only sign-in end with the TAP (60 minutes).
        let last = tokens(&app, &rp, &browser).await;
        app.clock.advance(Duration::minutes(61));
        let (status, body) = refresh(refresh_of(&last)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
}

/// RFC 7662 §2.2, §4: introspection describes a token only to the client it
/// was issued to, or to a client configured as a resource server of the
/// token's audience; everyone else learns nothing, not even that it exists.
#[tokio::test]
async fn introspection_is_only_for_the_owner_and_resource_servers_of_the_audience() {
    const USERS_RS: (&str, &str) = ("users-rs", "users-rs-secret-0123456789");
    const API_RS: (&str, &str) = ("api-rs", "api-rs-secret-0123456789");
    for backend in BACKENDS {
        let store = StoreHandle::new(backend);
        let prefix = format!("t{}", free_port());
        let app = TestApp::spawn_with(store.url(), &prefix, ManualClock::starting_now(), |s| {
            let issuer = s.server.issuer.clone();
            let mut users_rs = client(USERS_RS.0, USERS_RS.1, vec![]);
            users_rs.introspection_audiences = vec![issuer.clone()];
            s.clients.push(users_rs);
            let mut api_rs = client(API_RS.0, API_RS.1, vec![]);
            api_rs.introspection_audiences = vec![format!("{issuer}/api/v1")];
            s.clients.push(api_rs);
        })
        .await;
        let (_, passcode) = provision(&app, "owner@example.com", json!({})).await;
        let rp = Rp::discover(&app, RP_ID).await;
        let browser = signed_in_browser(&app, &rp, "owner@example.com", &passcode).await;
        let issued = tokens(&app, &rp, &browser).await;
        let access = issued["access_token"].as_str().unwrap().to_owned();
        let refresh = refresh_of(&issued);
        let inactive = json!({"active": false});

        // Another client: exactly {"active":false}, for both kinds of token.
        for (caller, secret) in [(HR_ID, HR_SECRET), (RP2_ID, RP_SECRET), API_RS] {
            for token in [&access, &refresh] {
                let (status, info) = form(
                    &app,
                    "/introspect",
                    Some((caller, secret)),
                    &[("token", token)],
                )
                .await;
                assert_eq!((status, &info), (200, &inactive), "{backend:?}: {caller}");
            }
        }

        // The owner: active, with the claims.
        let (_, info) = form(
            &app,
            "/introspect",
            Some((RP_ID, RP_SECRET)),
            &[("token", &access)],
        )
        .await;
        assert_eq!(info["active"], true, "{backend:?}: {info}");
        assert_eq!(info["client_id"], RP_ID);
        assert!(info["sub"].is_string() && info["sid"].is_string(), "{info}");
        let (_, info) = form(
            &app,
            "/introspect",
            Some((RP_ID, RP_SECRET)),
            &[("token", &refresh)],
        )
        .await;
        assert_eq!(
            (&info["active"], &info["token_type"]),
            (&json!(true), &json!("refresh_token")),
            "{backend:?}: {info}"
        );

        // A resource server of the access token's audience (the issuer):
        // active with the claims; the refresh token is still not its business.
        let (_, info) = form(&app, "/introspect", Some(USERS_RS), &[("token", &access)]).await;
        assert_eq!(info["active"], true, "{backend:?}: {info}");
        assert_eq!(info["client_id"], RP_ID);
        assert_eq!(info["aud"], app.base.as_str());
        assert!(info["scope"].as_str().unwrap().contains("openid"), "{info}");
        let (_, info) = form(&app, "/introspect", Some(USERS_RS), &[("token", &refresh)]).await;
        assert_eq!(info, inactive, "{backend:?}");

        // A client-credentials token (audience: the admin API) is active for
        // its own client and the API's resource server only.
        let hr = app.hr_token().await;
        for (caller, active) in [
            (USERS_RS, false),
            (API_RS, true),
            ((HR_ID, HR_SECRET), true),
        ] {
            let (_, info) = form(&app, "/introspect", Some(caller), &[("token", &hr)]).await;
            if active {
                assert_eq!(info["active"], true, "{backend:?}: {}: {info}", caller.0);
                assert_eq!(info["client_id"], HR_ID);
            } else {
                assert_eq!(info, inactive, "{backend:?}: {}", caller.0);
            }
        }
    }
}

#[tokio::test]
async fn rp_initiated_logout() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let (_, passcode) = provision(&app, "bye@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let browser = signed_in_browser(&app, &rp, "bye@example.com", &passcode).await;
    let id_token = tokens(&app, &rp, &browser).await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // An unregistered post_logout_redirect_uri: an error page, no redirect.
    let bad = browser
        .get(&format!(
            "/logout?id_token_hint={id_token}&post_logout_redirect_uri=https://evil.example/"
        ))
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.location.is_none());
    // A forged hint is refused.
    let forged = browser.get("/logout?id_token_hint=a.b.c").await;
    assert_eq!(forged.status, 400);

    // With a valid hint: signed out and sent back with the state.
    let res = browser
        .get(&format!(
            "/logout?id_token_hint={id_token}&post_logout_redirect_uri={RP_LOGGED_OUT}&state=st8"
        ))
        .await;
    assert_eq!(
        res.location.as_deref(),
        Some(&*format!("{RP_LOGGED_OUT}?state=st8"))
    );
    let page = browser.open(&rp.authorize_url(&[]).0).await;
    assert!(page.body.contains("Sign in"), "the session ended");

    // Without a hint: a confirmation page first (with CSRF).
    let browser = signed_in_browser(&app, &rp, "bye@example.com", &passcode).await;
    let confirm = browser
        .get(&format!(
            "/logout?client_id={RP_ID}&post_logout_redirect_uri={RP_LOGGED_OUT}"
        ))
        .await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Sign out?"));
    let still_in = browser.get(&rp.authorize_url(&[]).0).await;
    assert!(
        !code_from(&still_in).0.is_empty(),
        "not signed out before confirming"
    );
    let done = browser
        .post_form(
            "/logout",
            &[
                ("csrf", &confirm.field("csrf")),
                ("confirm", "yes"),
                ("client_id", RP_ID),
                ("post_logout_redirect_uri", RP_LOGGED_OUT),
            ],
        )
        .await;
    assert_eq!(done.location.as_deref(), Some(RP_LOGGED_OUT));
    let page = browser.open(&rp.authorize_url(&[]).0).await;
    assert!(page.body.contains("Sign in"));

    let discovery: Value = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["end_session_endpoint"], app.url("/logout"));
}

#[tokio::test]
async fn revocation_reaches_every_token() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let (_, passcode) = provision(&app, "reach@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let browser = signed_in_browser(&app, &rp, "reach@example.com", &passcode).await;

    // A reused code revokes the refresh family, including rotated successors.
    let (url, _, _, verifier) = rp.authorize_url(&[]);
    let (code, _, _) = code_from(&browser.get(&url).await);
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", RP_REDIRECT),
        ("code_verifier", verifier.secret()),
    ];
    let (status, first) = form(&app, "/token", Some((RP_ID, RP_SECRET)), &fields).await;
    assert_eq!(status, 200);
    let (status, rotated) = form(
        &app,
        "/token",
        Some((RP_ID, RP_SECRET)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_of(&first)),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = form(&app, "/token", Some((RP_ID, RP_SECRET)), &fields).await;
    assert_eq!(status, 400, "code reuse");
    let (status, body) = form(
        &app,
        "/token",
        Some((RP_ID, RP_SECRET)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_of(&rotated)),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "successor revoked too"
    );

    // A revoked client-credentials token no longer opens the admin API.
    let hr = app.hr_token().await;
    let (status, _) = app.api(reqwest::Method::GET, "/users", &hr, None).await;
    assert_eq!(status, 200);
    let (status, _) = form(&app, "/revoke", Some((HR_ID, HR_SECRET)), &[("token", &hr)]).await;
    assert_eq!(status, 200);
    let (status, _) = app.api(reqwest::Method::GET, "/users", &hr, None).await;
    assert_eq!(status, 401);

    // Session revocation makes user access tokens inactive at introspection.
    let fresh = tokens(&app, &rp, &browser).await;
    let access = fresh["access_token"].as_str().unwrap().to_owned();
    let (_, info) = form(
        &app,
        "/introspect",
        Some((RP_ID, RP_SECRET)),
        &[("token", &access)],
    )
    .await;
    assert_eq!(info["active"], true);
    app.clock.advance(Duration::seconds(2));
    let sub = info["sub"].as_str().unwrap().to_owned();
    let (status, _) = app
        .api(
            reqwest::Method::POST,
            &format!("/users/{sub}/revokeSignInSessions"),
            &app.hr_token().await,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (_, info) = form(
        &app,
        "/introspect",
        Some((RP_ID, RP_SECRET)),
        &[("token", &access)],
    )
    .await;
    assert_eq!(info, json!({"active": false}));
}

#[tokio::test]
async fn two_instances_share_sessions_codes_and_tokens() {
    two_instances_share_sessions_codes_and_tokens_on(Backend::Redis).await;
}

#[tokio::test]
async fn two_instances_share_sessions_codes_and_tokens_on_redis_cluster() {
    two_instances_share_sessions_codes_and_tokens_on(Backend::RedisCluster).await;
}

async fn two_instances_share_sessions_codes_and_tokens_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let clock = onramp::clock::ManualClock::starting_now();
    let a = TestApp::spawn_with(store.url(), "pair", clock.clone(), |_| {}).await;
    let issuer = a.base.clone();
    let b = TestApp::spawn_with(store.url(), "pair", clock.clone(), move |s| {
        s.server.issuer = issuer
    })
    .await;
    // Passkey registration optional, so the browser can skip it here.
    let mut policy = onramp::domain::policy::Policy::default();
    policy.passkey.registration_required = false;
    a.store.put_policy(&policy).await.unwrap();
    let (_, passcode) = provision(&a, "pair@example.com", json!({})).await;
    let rp = Rp::discover(&a, RP_ID).await;

    // Sign in on instance A.
    let on_a = Browser::new(&a.base);
    let (url, _, _, verifier) = rp.authorize_url(&[]);
    let page = on_a.open(&url).await;
    let after = on_a
        .sign_in_with_tap(&page, "pair@example.com", &passcode)
        .await;
    let enroll = on_a.follow(after).await;
    let skip = on_a
        .post_form(
            "/enroll/skip",
            &[("csrf", &enroll.field("csrf")), ("r", &enroll.field("r"))],
        )
        .await;
    let (code, _, _) = code_from(&on_a.follow(skip).await);

    // Redeem and refresh on instance B.
    let redeem = |app: &TestApp, fields: Vec<(&'static str, String)>| {
        let http = app.http.clone();
        let url = app.url("/token");
        async move {
            let res = http
                .post(url)
                .basic_auth(RP_ID, Some(RP_SECRET))
                .form(&fields)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, tokens) = redeem(
        &b,
        vec![
            ("grant_type", "authorization_code".into()),
            ("code", code),
            ("redirect_uri", RP_REDIRECT.into()),
            ("code_verifier", verifier.secret().clone()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let (status, refreshed) = redeem(
        &b,
        vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", refresh_of(&tokens)),
        ],
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let res = a
        .http
        .get(a.url("/userinfo"))
        .bearer_auth(refreshed["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a token from B works on A");

    // The session is shared: B answers with a code at once (cookies ignore ports).
    let mut on_b = Browser::new(&b.base);
    on_b.http = on_a.http.clone();
    let (url_b, _, _, _) = rp.authorize_url(&[]);
    let url_b = url_b.replace(&a.base, &b.base);
    assert!(!code_from(&on_b.get(&url_b).await).0.is_empty());

    // Logout on A ends the session on both.
    let id_token = tokens["id_token"].as_str().unwrap();
    let res = on_a
        .get(&format!(
            "/logout?id_token_hint={id_token}&post_logout_redirect_uri={RP_LOGGED_OUT}"
        ))
        .await;
    assert_eq!(res.location.as_deref(), Some(RP_LOGGED_OUT));
    let page = on_b.open(&url_b).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Sign in"), "signed out on B too");
}

#[tokio::test]
async fn claims_request_parameter() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let (_, passcode) = provision(&app, "claims@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let browser = signed_in_browser(&app, &rp, "claims@example.com", &passcode).await;
    // Only `openid`: nothing by scope, but claims asked for by name.
    let verifier = "v".repeat(43);
    let challenge = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let claims = r#"{"userinfo":{"name":{"essential":true}},"id_token":{"email":null,"acr":{"essential":true}}}"#;
    let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", RP_ID)
        .append_pair("redirect_uri", RP_REDIRECT)
        .append_pair("scope", "openid")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("claims", claims);
    let (code, _, _) = code_from(&browser.get(url.as_str()).await);
    let (status, tokens) = form(
        &app,
        "/token",
        Some((RP_ID, RP_SECRET)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", RP_REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let payload = tokens["id_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    let id: Value = {
        use base64::Engine;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(id["email"], "claims@example.com");
    assert!(id.get("name").is_none(), "name was asked for userinfo only");
    assert_eq!(id["acr"], "urn:onramp:acr:tap");
    let info: Value = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["name"], "Test Person");
    assert!(
        info.get("email").is_none(),
        "email was asked for the ID token only, and not by scope"
    );

    // A malformed claims parameter is an invalid_request back at the RP.
    url.query_pairs_mut()
        .clear()
        .append_pair("response_type", "code")
        .append_pair("client_id", RP_ID)
        .append_pair("redirect_uri", RP_REDIRECT)
        .append_pair("scope", "openid")
        .append_pair("claims", "{not json");
    let res = browser.get(url.as_str()).await;
    assert!(res.location.unwrap().contains("error=invalid_request"));
}

/// A one-shot HTTP endpoint: returns the first request's body.
async fn capture_one() -> (String, tokio::sync::oneshot::Receiver<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/backchannel",
        listener.local_addr().unwrap().port()
    );
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = socket.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).to_string();
                    socket
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .await
                        .unwrap();
                    let _ = tx.send(body);
                    return;
                }
            }
            if n == 0 {
                return;
            }
        }
    });
    (url, rx)
}

#[tokio::test]
async fn back_channel_logout_notifies_the_session_clients() {
    let (endpoint, received) = capture_one().await;
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn_with(
        store.url(),
        "bc",
        onramp::clock::ManualClock::starting_now(),
        move |s| {
            for c in &mut s.clients {
                if c.id == RP_ID {
                    c.backchannel_logout_uri = Some(endpoint.clone());
                }
            }
        },
    )
    .await;
    let (_, passcode) = provision(&app, "bc@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let browser = signed_in_browser(&app, &rp, "bc@example.com", &passcode).await;
    let tokens = tokens(&app, &rp, &browser).await;
    let id_token = tokens["id_token"].as_str().unwrap();

    let started = std::time::Instant::now();
    let res = browser
        .get(&format!("/logout?id_token_hint={id_token}"))
        .await;
    assert_eq!(res.status, 200);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "logout does not wait for deliveries"
    );

    let body = tokio::time::timeout(std::time::Duration::from_secs(10), received)
        .await
        .expect("delivered")
        .unwrap();
    let token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "logout_token")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    // Verify it as the RP would: signature by the JWKS, typ, claims.
    let jwks: jsonwebtoken::jwk::JwkSet = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap())
            .unwrap();
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&[RP_ID]);
    v.set_issuer(&[app.base.as_str()]);
    let claims = jsonwebtoken::decode::<Value>(&token, &key, &v)
        .unwrap()
        .claims;
    let id_claims: Value = {
        use base64::Engine;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(id_token.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(claims["sid"], id_claims["sid"]);
    assert_eq!(claims["sub"], id_claims["sub"]);
    assert!(
        claims["events"]
            .get("http://schemas.openid.net/event/backchannel-logout")
            .is_some()
    );
    assert!(claims.get("nonce").is_none());
}
