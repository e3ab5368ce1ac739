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

/// Creates a user through the admin API with `X-Forwarded-For: xff` (if
/// given) and returns the client address its audit event recorded.
async fn audited_address(app: &TestApp, token: &str, upn: &str, xff: Option<&str>) -> String {
    let mut req = app
        .http
        .post(app.url("/api/v1/users"))
        .bearer_auth(token)
        .json(&json!({"userPrincipalName": upn, "displayName": "Proxied"}));
    if let Some(v) = xff {
        req = req.header("x-forwarded-for", v);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 201);
    let id = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let filter = onramp::domain::audit::AuditFilter {
        target_id: Some(id),
        ..Default::default()
    };
    let events = app
        .store
        .list_audit(&filter, None, 10)
        .await
        .unwrap()
        .events;
    events[0].client_address.clone().unwrap_or_default()
}

#[tokio::test]
async fn forwarded_addresses_only_from_trusted_proxies() {
    // By default X-Forwarded-For is anybody's claim: the peer counts.
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let token = app.hr_token().await;
    let addr = audited_address(&app, &token, "p1@example.com", Some("203.0.113.9")).await;
    assert_eq!(addr, "127.0.0.1");
    app.stop().await;

    // Behind a trusted proxy (here: the test's own loopback peer).
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn_with(
        store.url(),
        "proxied",
        onramp::clock::ManualClock::starting_now(),
        |s| {
            s.server.trusted_proxies = vec![
                onramp::config::IpRange::parse("127.0.0.0/8").unwrap(),
                onramp::config::IpRange::parse("10.0.0.0/8").unwrap(),
            ]
        },
    )
    .await;
    let token = app.hr_token().await;
    let cases = [
        // The rightmost untrusted address is the client; what the client
        // put in front of it is ignored.
        (Some("198.51.100.1, 203.0.113.9"), "203.0.113.9"),
        (Some("203.0.113.9, 10.1.2.3"), "203.0.113.9"),
        (Some("203.0.113.9:4711"), "203.0.113.9"),
        (Some("[2001:db8::7]:4711, 10.1.2.3"), "2001:db8::7"),
        // Only proxies in the chain: the farthest one.
        (Some("10.0.0.5, 10.1.2.3"), "10.0.0.5"),
        // Garbage ends the chain at the nearest address known.
        (Some("203.0.113.9, nonsense"), "127.0.0.1"),
        (None, "127.0.0.1"),
    ];
    for (i, (xff, expected)) in cases.into_iter().enumerate() {
        let addr = audited_address(&app, &token, &format!("q{i}@example.com"), xff).await;
        assert_eq!(addr, expected, "{xff:?}");
    }
}

/// Sends `data` on a fresh connection and returns the server's first
/// answer (head and `Content-Length` body), waiting at most `wait`.
async fn raw_exchange(app: &TestApp, data: &[u8], wait: std::time::Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let port = app.base.trim_start_matches("http://localhost:");
    let mut socket = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    socket.write_all(data).await.unwrap();
    let mut out = Vec::new();
    let complete = |out: &[u8]| {
        let text = String::from_utf8_lossy(out);
        let Some(end) = text.find("\r\n\r\n") else {
            return false;
        };
        let length = text[..end]
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            })
            .unwrap_or(0);
        out.len() >= end + 4 + length
    };
    let _ = tokio::time::timeout(wait, async {
        let mut chunk = [0u8; 4096];
        while !complete(&out) {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn slow_clients_time_out() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn_with(
        store.url(),
        "slow",
        onramp::clock::ManualClock::starting_now(),
        |s| s.server.request_timeout_seconds = 1,
    )
    .await;
    let wait = std::time::Duration::from_secs(6);
    // A body that never completes.
    let started = std::time::Instant::now();
    let answer = raw_exchange(
        &app,
        b"POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=",
        wait,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    assert!(answer.contains("x-request-id"), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    // Headers that never complete.
    let started = std::time::Instant::now();
    let answer = raw_exchange(&app, b"GET /healthz HTTP/1.1\r\nHost: loc", wait).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    // A prompt client is served as ever.
    let answer = raw_exchange(
        &app,
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        wait,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// `audit.retention_days`: the sweeper deletes older events (at start and
/// every minute), newer ones stay.
#[tokio::test]
async fn audit_events_past_retention_are_deleted() {
    use onramp::clock::Clock;
    use onramp::domain::audit::{Actor, AuditEvent, AuditEventType, AuditFilter, Outcome};
    let store = StoreHandle::new(Backend::Redis);
    let clock = onramp::clock::ManualClock::starting_now();
    let app = TestApp::spawn_with(store.url(), "retention", clock.clone(), |_| {}).await;
    let now = app.clock.now();
    let event = |id: &str, days_ago: i64| AuditEvent {
        id: id.into(),
        time: now - time::Duration::days(days_ago),
        event_type: AuditEventType::UserUpdated,
        actor: Actor::system(),
        target: None,
        client_address: None,
        request_id: None,
        outcome: Outcome::Success,
        detail: None,
        also: vec![],
    };
    app.store.append_audit(&event("old", 40)).await.unwrap();
    app.store.append_audit(&event("recent", 20)).await.unwrap();
    let ids = || async {
        let page = app
            .store
            .list_audit(&AuditFilter::default(), None, 999)
            .await
            .unwrap();
        page.events.into_iter().map(|e| e.id).collect::<Vec<_>>()
    };
    assert!(ids().await.contains(&"old".to_owned()));
    // A second instance with a 30-day retention sweeps at start.
    let _second = TestApp::spawn_with(store.url(), "retention", clock, |s| {
        s.audit.retention_days = 30;
    })
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while ids().await.contains(&"old".to_owned()) {
        assert!(
            std::time::Instant::now() < deadline,
            "old event not deleted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let left = ids().await;
    assert!(left.contains(&"recent".to_owned()), "{left:?}");
    assert!(
        left.iter().any(|id| id != "recent"),
        "bootstrap events stay: {left:?}"
    );
}
