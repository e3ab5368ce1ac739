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

mod private_key_jwt {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{EncodingKey, Header};
    use onramp::clock::Clock;
    use onramp::domain::client::ClientAuthMethod;
    use onramp::domain::permission::Permission;
    use serde_json::{Value, json};

    use crate::helpers::*;

    const TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    struct Key {
        pkcs8: Vec<u8>,
        jwk: Value,
    }

    fn key(kid: &str) -> Key {
        let doc = EcdsaKeyPair::generate_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &aws_lc_rs::rand::SystemRandom::new(),
        )
        .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])});
        Key {
            pkcs8: doc.as_ref().to_vec(),
            jwk,
        }
    }

    fn assertion(key: &Key, kid: &str, claims: Value) -> String {
        let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(&key.pkcs8)).unwrap()
    }

    #[tokio::test]
    async fn clients_authenticate_with_signed_assertions() {
        let good = key("k1");
        let other = key("k1");
        let jwks = json!({"keys": [good.jwk.clone()]}).to_string();
        let store = StoreHandle::new(Backend::Embedded);
        let app = TestApp::spawn_with(
            store.url(),
            "pk",
            onramp::clock::ManualClock::starting_now(),
            move |s| {
                let mut c = client("pk-client", "unused", vec![Permission::UserReadWriteAll]);
                c.secret = None;
                c.token_endpoint_auth_method = Some(ClientAuthMethod::PrivateKeyJwt);
                c.jwks = Some(onramp::domain::client::ClientKeys::Inline(jwks));
                s.clients.push(c);
            },
        )
        .await;
        let now = app.clock.now().unix_timestamp();
        let claims = |jti: &str, aud: &str, exp: i64| json!({"iss": "pk-client", "sub": "pk-client", "aud": aud, "jti": jti, "exp": exp, "iat": now});
        let token_url = app.url("/token");
        let call = |assertion: String| {
            let http = app.http.clone();
            let url = token_url.clone();
            async move {
                let res = http
                    .post(url)
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_assertion_type", TYPE),
                        ("client_assertion", &assertion),
                    ])
                    .send()
                    .await
                    .unwrap();
                (res.status().as_u16(), res.json::<Value>().await.unwrap())
            }
        };
        let ok = assertion(&good, "k1", claims("a1", &token_url, now + 60));
        let (status, body) = call(ok.clone()).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["access_token"].is_string());
        // Single use.
        let (status, body) = call(ok).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        // The issuer is an accepted audience too.
        assert_eq!(
            call(assertion(&good, "k1", claims("a2", &app.base, now + 60)))
                .await
                .0,
            200
        );
        // Wrong audience, expired, too long, wrong key, wrong assertion type.
        assert_eq!(
            call(assertion(
                &good,
                "k1",
                claims("a3", "https://elsewhere", now + 60)
            ))
            .await
            .0,
            401
        );
        assert_eq!(
            call(assertion(&good, "k1", claims("a4", &token_url, now - 1)))
                .await
                .0,
            401
        );
        assert_eq!(
            call(assertion(&good, "k1", claims("a5", &token_url, now + 3600)))
                .await
                .0,
            401
        );
        assert_eq!(
            call(assertion(&other, "k1", claims("a6", &token_url, now + 60)))
                .await
                .0,
            401
        );
        let res = app
            .http
            .post(app.url("/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "x"),
                (
                    "client_assertion",
                    &assertion(&good, "k1", claims("a7", &token_url, now + 60)),
                ),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        // A private_key_jwt client cannot use a secret instead.
        let res = app
            .http
            .post(app.url("/token"))
            .basic_auth("pk-client", Some("whatever-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        let doc: Value = app
            .http
            .get(app.url("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            doc["token_endpoint_auth_methods_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("private_key_jwt"))
        );
    }

    /// A JWKS endpoint on a loopback port: serves the current `body`,
    /// counts the requests.
    struct JwksServer {
        url: String,
        body: std::sync::Arc<std::sync::Mutex<String>>,
        hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl JwksServer {
        async fn start(keys: &[&Key]) -> JwksServer {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
            let server = JwksServer {
                url,
                body: Default::default(),
                hits: Default::default(),
            };
            server.set(keys);
            let (body, hits) = (server.body.clone(), server.hits.clone());
            tokio::spawn(async move {
                loop {
                    let (mut socket, _) = listener.accept().await.unwrap();
                    hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let mut buf = [0u8; 4096];
                    let _ = socket.read(&mut buf).await;
                    let body = body.lock().unwrap().clone();
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/jwk-set+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                }
            });
            server
        }

        fn set(&self, keys: &[&Key]) {
            let keys: Vec<Value> = keys.iter().map(|k| k.jwk.clone()).collect();
            *self.body.lock().unwrap() = json!({ "keys": keys }).to_string();
        }

        fn hits(&self) -> usize {
            self.hits.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    #[tokio::test]
    async fn keys_from_the_clients_jwks_uri_are_cached_and_refetched_for_new_kids() {
        use onramp::domain::client::ClientKeys;
        let (k1, k2, k3) = (key("k1"), key("k2"), key("k3"));
        let server = JwksServer::start(&[&k1]).await;
        // Port 1 (tcpmux) on loopback: nothing listens there, and unlike a
        // free port picked and released here, no other test or server can
        // take it meanwhile (one did, and answered 404).
        let closed = "http://127.0.0.1:1/jwks.json".to_owned();
        let uri = server.url.clone();
        let store = StoreHandle::new(Backend::Embedded);
        let app = TestApp::spawn_with(
            store.url(),
            "pkuri",
            onramp::clock::ManualClock::starting_now(),
            move |s| {
                for (id, uri) in [("uri-client", uri), ("down-client", closed)] {
                    let mut c = client(id, "unused", vec![Permission::UserReadWriteAll]);
                    c.secret = None;
                    c.token_endpoint_auth_method = Some(ClientAuthMethod::PrivateKeyJwt);
                    c.jwks = Some(ClientKeys::Uri { jwks_uri: uri });
                    s.clients.push(c);
                }
            },
        )
        .await;
        let token_url = app.url("/token");
        let mut n = 0;
        let mut call = |client: &'static str, key: &Key, kid: &str| {
            n += 1;
            let now = app.clock.now().unix_timestamp();
            let claims = json!({"iss": client, "sub": client, "aud": token_url, "jti": format!("j{n}"), "exp": now + 60, "iat": now});
            let assertion = assertion(key, kid, claims);
            let http = app.http.clone();
            let url = token_url.clone();
            async move {
                let res = http
                    .post(url)
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_assertion_type", TYPE),
                        ("client_assertion", &assertion),
                    ])
                    .send()
                    .await
                    .unwrap();
                (res.status().as_u16(), res.json::<Value>().await.unwrap())
            }
        };

        let (status, body) = call("uri-client", &k1, "k1").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(call("uri-client", &k1, "k1").await.0, 200);
        assert_eq!(server.hits(), 1, "the keys are cached");

        // The client rotates: a new kid makes us fetch again, once (at
        // most every 30 seconds).
        server.set(&[&k1, &k2]);
        app.clock.advance(time::Duration::seconds(31));
        let (status, body) = call("uri-client", &k2, "k2").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(server.hits(), 2);

        // A kid that is nowhere: no fetch on every request.
        for _ in 0..3 {
            let (status, body) = call("uri-client", &k3, "k3").await;
            assert_eq!(
                (status, body["error"].as_str()),
                (401, Some("invalid_client"))
            );
        }
        assert_eq!(server.hits(), 2, "unknown kids are rate-limited");
        // Half a minute later a new kid is looked up again.
        server.set(&[&k2, &k3]);
        app.clock.advance(time::Duration::seconds(31));
        let (status, body) = call("uri-client", &k3, "k3").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(server.hits(), 3);

        // An unreachable jwks_uri: invalid_client, saying why.
        let (status, body) = call("down-client", &k1, "k1").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        let description = body["error_description"].as_str().unwrap();
        assert!(
            description.contains("jwks_uri") && description.contains("cannot connect"),
            "{description}"
        );
    }
}
