//! The Redis round trips of one passkey sign-in stay within their budget
//! (issue #12: at most 8 per flow; BENCHMARKS.md has the commands of each
//! request). Counted by the test's own Redis server (`INFO stats`,
//! `total_writes_processed`: one write per answer to a command or a
//! pipeline), so that tests running beside this one in the same process
//! cannot change the count, as they would the server's global metric.

use crate::browser::Browser;
use crate::helpers::*;
use crate::oidc_flow::{Rp, code_from, provision, redeem, signed_in_browser};
use onramp::clock::ManualClock;
use openidconnect::OAuth2TokenResponse;
use redis::aio::MultiplexedConnection;
use serde_json::json;
use std::time::Duration;

/// The per-request budgets: `GET /authorize` (which answers with the
/// sign-in page) 1, `POST /signin/passkey/finish` 2, `POST /token` (with a
/// refresh token) 2; 5 per flow, within the 8. Nothing else of the
/// flow reaches the server (the finish's redirect is the application's).
const AUTHORIZE: u64 = 1;
const FINISH: u64 = 2;
const TOKEN: u64 = 2;

/// Answers Redis wrote so far, not counting the answer to this `INFO`
/// itself (it is written after the count is taken).
async fn writes(conn: &mut MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_writes_processed:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no total_writes_processed in INFO stats:\n{info}"))
}

/// Writes by others between two calls: the earlier call's own answer is
/// one of them.
async fn since(conn: &mut MultiplexedConnection, before: u64) -> u64 {
    writes(conn).await - before - 1
}

/// Waits until nothing but this test talks to Redis: the app's background
/// tasks run once at start, then once a minute (the sweeper) or less often
/// (the others, with the settings below), and the test is over in about a
/// second.
async fn quiet(conn: &mut MultiplexedConnection) {
    for _ in 0..50 {
        let before = writes(conn).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        if since(conn, before).await == 0 {
            return;
        }
    }
    panic!("Redis never went quiet: something polls it more than once a minute");
}

#[tokio::test]
async fn a_passkey_sign_in_stays_within_its_round_trips() {
    let store = StoreHandle::new(Backend::Redis);
    let app = TestApp::spawn_with(
        store.url(),
        &format!("t{}", free_port()),
        ManualClock::starting_now(),
        |s| {
            s.webhooks.poll_ms = 60_000;
            s.onboarding.scheduler_seconds = 0;
            s.keys.refresh_seconds = 3600;
        },
    )
    .await;
    let (_, passcode) = provision(&app, "counted@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let enrolled = signed_in_browser(&app, &rp, "counted@example.com", &passcode).await;

    // A new browser (no session), as in the benchmark.
    let mut browser = Browser::new(&app.base);
    browser.authenticator = enrolled.authenticator;
    let (url, _, nonce, verifier) = rp.authorize_url(&[]);
    // Each actix worker opens a Redis connection of its own on its first
    // store call, and opening it is Redis traffic too. New connections are
    // dealt to the workers in turn, so a few fresh browsers reach them all
    // before anything is counted.
    for _ in 0..4 {
        let (warm_up, _, _, _) = rp.authorize_url(&[]);
        assert_eq!(Browser::new(&app.base).open(&warm_up).await.status, 200);
    }
    let client = redis::Client::open(store.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    quiet(&mut conn).await;

    let before = writes(&mut conn).await;
    let page = browser.open(&url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let authorize = since(&mut conn, before).await;

    let before = writes(&mut conn).await;
    let (status, done) = browser
        .sign_in_with_passkey(&page, "counted@example.com")
        .await;
    assert_eq!(status, 200, "{done}");
    let finish = since(&mut conn, before).await;

    let (code, _, _) = code_from(&browser.get(done["redirect"].as_str().unwrap()).await);
    let before = writes(&mut conn).await;
    let (amr, _, tokens) = redeem(&rp, &code, verifier, &nonce).await;
    assert!(amr.contains(&"mfa".to_owned()), "{amr:?}");
    assert!(
        tokens.refresh_token().is_some(),
        "offline_access: the budget counts the refresh grant's write"
    );
    let token = since(&mut conn, before).await;

    let counted = [
        ("GET /authorize", authorize, AUTHORIZE),
        ("POST /signin/passkey/finish", finish, FINISH),
        ("POST /token", token, TOKEN),
    ];
    for (request, n, budget) in counted {
        // At least one: the count is real (each request reads or writes).
        assert!(
            (1..=budget).contains(&n),
            "{request}: {n} Redis round trips, budget {budget} ({counted:?})"
        );
    }
}
