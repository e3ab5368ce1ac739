//! Signing-key rotation across two instances sharing Redis.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use std::time::{Duration as StdDuration, Instant};
use time::Duration;

use onramp::clock::Clock;

use crate::helpers::*;

fn kid_of(token: &str) -> String {
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

async fn kids(app: &TestApp) -> Vec<String> {
    let jwks: Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn rotation_publishes_first_then_signs_then_retires() {
    let redis = RedisServer::start();
    let clock = onramp::clock::ManualClock::starting_now();
    let tweak = |s: &mut onramp::config::Settings| {
        s.server.issuer = "https://login.example.test".into();
        s.keys.refresh_seconds = 1;
        s.keys.activation_delay_seconds = 5;
    };
    let a = TestApp::spawn_with(redis.url(), "rot", clock.clone(), tweak).await;
    let b = TestApp::spawn_with(redis.url(), "rot", clock.clone(), tweak).await;
    let before = kids(&a).await;
    assert_eq!(before.len(), 2);
    let old_token = a.hr_token().await;
    let old_kid = kid_of(&old_token);

    let now = clock.now();
    let lifetime = Duration::seconds(3600 + 60);
    let next = onramp::service::keys::rotate(&*a.store, now, Duration::seconds(5), lifetime)
        .await
        .unwrap();
    assert_eq!(next.keys.len(), 4);

    // Both instances publish the new keys (b learns from the store) ...
    let deadline = Instant::now() + StdDuration::from_secs(10);
    loop {
        if kids(&a).await.len() == 4 && kids(&b).await.len() == 4 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new keys were not published on both instances"
        );
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    }
    assert_eq!(kids(&a).await, kids(&b).await);
    // ... but the old keys still sign until the activation time.
    assert_eq!(kid_of(&b.hr_token().await), old_kid);

    clock.advance(Duration::seconds(6));
    let new_token = b.hr_token().await;
    let new_kid = kid_of(&new_token);
    assert_ne!(new_kid, old_kid);
    assert!(kids(&a).await.contains(&new_kid));
    assert_eq!(
        kid_of(&a.hr_token().await),
        new_kid,
        "both instances sign with the new key"
    );
    // Tokens signed with the old key still work while it is published.
    let (status, _) = a
        .api(reqwest::Method::GET, "/users", &old_token, None)
        .await;
    assert_eq!(status, 200);

    // Once every token the old key signed has expired, it is withdrawn.
    clock.advance(lifetime);
    let after = kids(&a).await;
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(!after.contains(&old_kid));
    assert!(after.contains(&new_kid));
    let (status, _) = a
        .api(reqwest::Method::GET, "/users", &b.hr_token().await, None)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn rotation_through_the_admin_api() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let (status, _) = app
        .api(
            reqwest::Method::POST,
            "/signingKeys/rotate",
            &app.hr_token().await,
            None,
        )
        .await;
    assert_eq!(status, 403, "needs the policy permission");
    let admin = app.token(POLICY_ID, POLICY_SECRET).await;
    let (status, body) = app
        .api(reqwest::Method::POST, "/signingKeys/rotate", &admin, None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 2);
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 4);
    assert_eq!(
        keys.iter().filter(|k| k["notBefore"].is_string()).count(),
        2
    );
    assert_eq!(
        keys.iter().filter(|k| k["retireUntil"].is_string()).count(),
        2
    );
    assert_eq!(
        kids(&app).await.len(),
        4,
        "published at once on this instance"
    );
    let events = app
        .store
        .list_audit(&Default::default(), None, 100)
        .await
        .unwrap()
        .events;
    assert!(
        events
            .iter()
            .any(|e| e.event_type.as_str() == "keys.rotated")
    );
}
