//! Discovery and JWKS, read by a real OIDC client library.

use openidconnect::IssuerUrl;
use openidconnect::core::CoreProviderMetadata;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn discovery_is_valid_for_an_oidc_client_library() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let http = reqwest::Client::builder()
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http)
            .await
            .expect("openidconnect accepts our discovery document and JWKS");
    assert_eq!(metadata.issuer().as_str(), app.base);
    assert_eq!(metadata.jwks().keys().len(), 2);
    assert_eq!(
        metadata.token_endpoint().unwrap().as_str(),
        app.url("/token")
    );

    let res = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        doc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(doc["id_token_signing_alg_values_supported"][0], "RS256");
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(doc["ui_locales_supported"], serde_json::json!(["en", "de"]));
    for key in [
        "token_endpoint_auth_methods_supported",
        "grant_types_supported",
        "scopes_supported",
        "claims_supported",
    ] {
        assert!(doc[key].as_array().is_some_and(|a| !a.is_empty()), "{key}");
    }

    let jwks: Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    let algs: Vec<_> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert_eq!(algs, ["RS256", "ES256"]);
    for k in keys {
        assert_eq!(k["use"], "sig");
        assert!(k["kid"].as_str().is_some_and(|s| !s.is_empty()));
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                k.get(private).is_none(),
                "private member {private} published"
            );
        }
    }
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(
        URL_B64
            .decode(keys[0]["n"].as_str().unwrap())
            .unwrap()
            .len(),
        256,
        "RSA-2048"
    );
    assert_eq!(keys[1]["crv"], "P-256");
}

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as URL_B64;

/// Config OP: with an https issuer, every URL in discovery is https, under
/// the issuer; and it advertises the scopes and claims of OIDC Core §5.4.
#[tokio::test]
async fn an_https_issuer_has_https_endpoints() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn_with(
        store.url(),
        "https",
        onramp::clock::ManualClock::starting_now(),
        |s| s.server.issuer = "https://login.example.test/".into(),
    )
    .await;
    let doc: Value = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], "https://login.example.test");
    let urls: Vec<(&String, &str)> = doc
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.ends_with("_endpoint") || k.ends_with("_uri"))
        .map(|(k, v)| (k, v.as_str().unwrap()))
        .collect();
    assert_eq!(urls.len(), 7, "{urls:?}");
    for (key, url) in urls {
        assert!(
            url.starts_with("https://login.example.test/"),
            "{key}: {url}"
        );
    }
    for scope in [
        "openid",
        "profile",
        "email",
        "address",
        "phone",
        "offline_access",
    ] {
        assert!(
            doc["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&scope.into()),
            "{scope}"
        );
    }
    for claim in ["phone_number", "phone_number_verified", "address"] {
        assert!(
            doc["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&claim.into()),
            "{claim}"
        );
    }
}

#[tokio::test]
async fn instances_sharing_redis_publish_the_same_keys_and_keep_them() {
    let redis = RedisServer::start();
    let clock = onramp::clock::ManualClock::starting_now();
    // Two instances start at once on an empty store: first writer wins.
    // Behind one load balancer, instances share one issuer.
    let issuer =
        |s: &mut onramp::config::Settings| s.server.issuer = "https://login.example.test".into();
    let (a, b) = tokio::join!(
        TestApp::spawn_with(redis.url(), "shared", clock.clone(), issuer),
        TestApp::spawn_with(redis.url(), "shared", clock.clone(), issuer),
    );
    let jwks = |app: &TestApp| {
        let http = app.http.clone();
        let url = app.url("/.well-known/jwks.json");
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let (ja, jb) = (jwks(&a).await, jwks(&b).await);
    assert_eq!(ja, jb);
    // Only one of them bootstrapped the administrator.
    assert_eq!(a.bootstrap.is_some() as u8 + b.bootstrap.is_some() as u8, 1);
    // A token from one instance is accepted by the other.
    let token = a.hr_token().await;
    let (status, _) = b.api(reqwest::Method::GET, "/users", &token, None).await;
    assert_eq!(status, 200);
    a.stop().await;
    b.stop().await;
    // A restart keeps the keys.
    let c = TestApp::spawn_with(redis.url(), "shared", clock, issuer).await;
    assert_eq!(jwks(&c).await, ja);
    assert!(c.bootstrap.is_none());
}

/// `GET /` says what this is and where to go (not a JSON 404), and the
/// icon browsers ask for on their own exists.
#[tokio::test]
async fn the_home_page_and_the_icon() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let home = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert!(
        home.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = home.text().await.unwrap();
    for link in [
        "href=\"/signin\"",
        "href=\"/account/security\"",
        "href=\"/admin\"",
    ] {
        assert!(body.contains(link), "{link} in {body}");
    }
    let icon = app.http.get(app.url("/favicon.ico")).send().await.unwrap();
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    assert!(icon.text().await.unwrap().starts_with("<svg"));
    let icon = app
        .http
        .get(app.url("/static/favicon.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(icon.status(), 200);
}
