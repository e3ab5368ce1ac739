//! Redis going away and coming back: 503s with clear errors, no crash,
//! recovery without a restart.

use reqwest::Method;
use serde_json::Value;
use std::time::{Duration, Instant};

use crate::helpers::*;

#[tokio::test]
async fn redis_outage_gives_503_and_recovers() {
    let mut redis = RedisServer::start();
    let port = redis.port;
    let app = TestApp::spawn_with(
        redis.url(),
        "outage",
        onramp::clock::ManualClock::starting_now(),
        |_| {},
    )
    .await;
    let token = app.hr_token().await;
    let (status, _) = app.api(Method::GET, "/users", &token, None).await;
    assert_eq!(status, 200);

    redis.stop();
    let started = Instant::now();
    let (status, body) = app.api(Method::GET, "/users", &token, None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "serviceNotAvailable");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no hang: {:?}",
        started.elapsed()
    );
    // An OAuth endpoint that needs the store says temporarily_unavailable.
    let res = app
        .http
        .post(app.url("/token"))
        .basic_auth("stored-client", Some("some-secret-value"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "temporarily_unavailable"
    );
    let res = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let res = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200, "the process stays up");

    // Redis returns on the same port: the server recovers by itself.
    let _back = RedisServer::start_on(port);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, _) = app.api(Method::GET, "/users", &token, None).await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "did not recover; last status {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let res = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}
