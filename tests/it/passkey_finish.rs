//! The passkey finish answers the authorization request itself: one code
//! per request, never lost to a failed attempt (both stores).

use crate::browser::Browser;
use crate::helpers::*;
use crate::oidc_flow::{Rp, code_from, provision, redeem, signed_in_browser};
use serde_json::json;

async fn count(app: &TestApp, kind: &str) -> usize {
    app.store
        .list_audit(&Default::default(), None, 500)
        .await
        .unwrap()
        .events
        .iter()
        .filter(|e| e.event_type.as_str() == kind)
        .count()
}

async fn finish_answers_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let (_, passcode) = provision(&app, "quick@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let enrolled = signed_in_browser(&app, &rp, "quick@example.com", &passcode).await;
    let codes_before = count(&app, "code.issued").await;

    // A new browser: the finish itself carries the code back to the app.
    let mut browser = Browser::new(&app.base);
    browser.authenticator = enrolled.authenticator;
    let (url, state, nonce, verifier) = rp.authorize_url(&[]);
    let page = browser.open(&url).await;
    let csrf = page.meta_csrf();

    // A finish that fails (its ceremony is unknown) leaves the request for
    // the next attempt.
    let mut body = browser.passkey_finish_body(&page, "quick@example.com");
    body["ceremony"] = json!("no-such-ceremony");
    let (status, failed) = browser
        .post_json("/signin/passkey/finish", &csrf, body)
        .await;
    assert!((400..500).contains(&status), "{status} {failed}");
    assert_eq!(count(&app, "code.issued").await, codes_before);

    let (status, done) = browser
        .sign_in_with_passkey(&page, "quick@example.com")
        .await;
    assert_eq!(status, 200, "{done}");
    let next = done["redirect"].as_str().unwrap();
    assert!(
        next.starts_with(RP_REDIRECT),
        "straight back to the application: {next}"
    );
    let (code, returned_state, _) = code_from(&browser.get(next).await);
    assert_eq!(returned_state, *state.secret());
    let (amr, _, _) = redeem(&rp, &code, verifier, &nonce).await;
    assert!(amr.contains(&"mfa".to_owned()), "{amr:?}");
    assert_eq!(count(&app, "code.issued").await, codes_before + 1);

    // Two finishes for one request at once (two ceremonies: the page's
    // and the button's): one code.
    // (`prompt=login`: the session from above would answer at once.)
    app.clock.advance(time::Duration::seconds(5));
    let (url, _, _, _) = rp.authorize_url(&[("prompt", "login")]);
    let page = browser.open(&url).await;
    assert_eq!(page.status, 200, "{:?} {}", page.location, page.body);
    let csrf = page.meta_csrf();
    let finishes = [
        browser.passkey_finish_body(&page, "quick@example.com"),
        browser
            .passkey_finish_body_of_button(&page, "quick@example.com")
            .await,
    ];
    let (a, b) = tokio::join!(
        browser.post_json("/signin/passkey/finish", &csrf, finishes[0].clone()),
        browser.post_json("/signin/passkey/finish", &csrf, finishes[1].clone()),
    );
    let with_code = [a, b]
        .iter()
        .filter(|(status, done)| {
            *status == 200 && done["redirect"].as_str().unwrap().starts_with(RP_REDIRECT)
        })
        .count();
    assert_eq!(with_code, 1, "exactly one finish answers the request");
    assert_eq!(count(&app, "code.issued").await, codes_before + 2);
}

#[tokio::test]
async fn passkey_finish_answers_the_request_embedded() {
    finish_answers_on(Backend::Embedded).await;
}

#[tokio::test]
async fn passkey_finish_answers_the_request_redis() {
    finish_answers_on(Backend::Redis).await;
}
