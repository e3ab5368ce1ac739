//! Metrics and cross-origin behaviour.

use serde_json::json;

use crate::browser::Browser;
use crate::helpers::*;
use crate::oidc_flow::{Rp, provision};

#[tokio::test]
async fn metrics_count_requests_and_sign_ins() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    app.hr_token().await;
    let (_, _passcode) = provision(&app, "metrics@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let browser = Browser::new(&app.base);
    let page = browser.open(&rp.authorize_url(&[]).0).await;
    browser
        .sign_in_with_tap(&page, "metrics@example.com", "WRONG222")
        .await;

    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |needle: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(needle))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{needle} missing in\n{text}"))
    };
    assert!(value("onramp_http_requests_total{endpoint=\"/token\",status=\"200\"}") >= 1.0);
    assert!(value("onramp_http_request_duration_seconds_count{endpoint=\"/token\"}") >= 1.0);
    assert!(value("onramp_signins_total{method=\"tap\",outcome=\"failure\"}") >= 1.0);
    assert!(value("onramp_tap_failures_total") >= 1.0);
    assert!(text.contains("# TYPE onramp_http_request_duration_seconds histogram"));
}

#[tokio::test]
async fn cors_where_the_specs_want_it() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    for path in ["/token", "/userinfo", "/revoke"] {
        let res = app
            .http
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("origin", "https://spa.example")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204, "{path}");
        assert_eq!(res.headers()["access-control-allow-origin"], "*");
        assert!(
            res.headers()["access-control-allow-headers"]
                .to_str()
                .unwrap()
                .contains("Authorization")
        );
    }
    let res = app
        .http
        .post(app.url("/token"))
        .form(&[("grant_type", "client_credentials")])
        .basic_auth(HR_ID, Some(HR_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    // Pages and the admin API do not allow other origins.
    let res = app.http.get(app.url("/signin")).send().await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    assert!(
        res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let res = app.http.get(app.url("/api/v1/users")).send().await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn token_endpoint_is_rate_limited_per_client() {
    let store = StoreHandle::new(Backend::Embedded);
    let clock = onramp::clock::ManualClock::starting_now();
    let app = TestApp::spawn_with(store.url(), "rl", clock.clone(), |s| {
        s.tokens.rate_limit_per_client = 2
    })
    .await;
    let call = |id: &'static str, secret: &'static str| {
        let http = app.http.clone();
        let url = app.url("/token");
        async move {
            let res = http
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap();
            let retry = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (
                res.status().as_u16(),
                retry,
                res.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    for _ in 0..4 {
        assert_eq!(call(HR_ID, HR_SECRET).await.0, 200, "within the burst");
    }
    let (status, retry, body) = call(HR_ID, HR_SECRET).await;
    assert_eq!(
        (status, retry.as_deref(), body["error"].as_str()),
        (429, Some("1"), Some("slow_down"))
    );
    assert_eq!(
        call(READER_ID, READER_SECRET).await.0,
        200,
        "other clients are not affected"
    );
    clock.advance(time::Duration::seconds(1));
    assert_eq!(call(HR_ID, HR_SECRET).await.0, 200, "refilled");
}
