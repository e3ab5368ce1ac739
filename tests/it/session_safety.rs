//! Sessions, hints and tokens under attack and under races (issue #9):
//! a logout is never undone by a concurrent `/authorize`, and a refused
//! refresh scope does not burn the token.

use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::COOKIE;
use serde_json::json;
use std::sync::Arc;

use crate::browser::{Browser, Response};
use crate::helpers::*;
use crate::lifecycle::{form, refresh_of, tokens};
use crate::oidc_flow::{Rp, code_from, provision, signed_in_browser};

/// A browser whose cookies the test can read (to replay them).
fn browser_with_jar(app: &TestApp) -> (Browser, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let mut browser = Browser::new(&app.base);
    browser.http = reqwest::Client::builder()
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .redirect(reqwest::redirect::Policy::none())
        .cookie_provider(jar.clone())
        .build()
        .unwrap();
    (browser, jar)
}

/// The `Cookie` header the browser sends, and its CSRF token.
fn cookies_of(app: &TestApp, jar: &Jar) -> (String, String) {
    let header = jar
        .cookies(&url::Url::parse(&app.base).unwrap())
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let csrf = header
        .split("; ")
        .find_map(|c| c.strip_prefix("onramp_csrf="))
        .unwrap()
        .to_owned();
    assert!(header.contains("onramp_session="), "{header}");
    (header, csrf)
}

fn is_code(res: &Response) -> bool {
    res.location
        .as_deref()
        .is_some_and(|l| l.starts_with(RP_REDIRECT) && l.contains("code="))
}

/// Issue #9, item 4: a `/logout` racing the first `/authorize` of a second
/// application used to be undone (the authorize wrote the session back
/// with its new client), so `prompt=none` still gave a code afterwards.
/// Many trials, each a fresh passkey sign-in; the cookies are replayed
/// after the race, as an attacker holding them (or a browser that kept
/// them) would.
async fn logout_racing_a_first_authorize_on(backend: Backend) {
    const TRIALS: usize = 40;
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let (_, passcode) = provision(&app, "racer@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let rp2 = Rp::discover(&app, RP2_ID).await;
    let (mut browser, jar) = browser_with_jar(&app);
    let (url, _, _, _) = rp.authorize_url(&[]);
    let page = browser.open(&url).await;
    let after = browser
        .sign_in_with_tap(&page, "racer@example.com", &passcode)
        .await;
    let enroll_page = browser.follow(after).await;
    assert!(code_from(&browser.enroll(&enroll_page).await).0.len() > 10);

    let mut resurrected = Vec::new();
    for trial in 0..TRIALS {
        if trial > 0 {
            // A new session (with the first application in it).
            let page = browser.open(&rp.authorize_url(&[]).0).await;
            assert!(page.body.contains("Sign in"), "trial {trial}: signed out");
            let (status, done) = browser
                .sign_in_with_passkey(&page, "racer@example.com")
                .await;
            assert_eq!(status, 200, "{done}");
            let back = browser.open(done["redirect"].as_str().unwrap()).await;
            assert!(is_code(&back), "{back:?}");
        }
        let (cookie, csrf) = cookies_of(&app, &jar);
        let (url2, _, _, _) = rp2.authorize_url(&[]);
        let (authorized, logged_out) = tokio::join!(
            app.http.get(&url2).header(COOKIE, &cookie).send(),
            app.http
                .post(app.url("/logout"))
                .header(COOKIE, &cookie)
                .form(&[("csrf", csrf.as_str()), ("confirm", "yes")])
                .send()
        );
        assert!(authorized.unwrap().status().is_redirection());
        let logged_out = logged_out.unwrap();
        assert_eq!(logged_out.status(), 200);
        assert!(
            logged_out
                .text()
                .await
                .unwrap()
                .contains("have been signed out")
        );

        // Signed out means signed out, whichever request got there first.
        let (url, _, _, _) = rp.authorize_url(&[("prompt", "none")]);
        let res = app
            .http
            .get(&url)
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        let loc = res
            .headers()
            .get(reqwest::header::LOCATION)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        if !loc.contains("error=login_required") {
            assert!(loc.contains("code="), "{loc}");
            resurrected.push(trial);
            // Sign that session out for good before the next trial.
            let res = app
                .http
                .post(app.url("/logout"))
                .header(COOKIE, &cookie)
                .form(&[("csrf", csrf.as_str()), ("confirm", "yes")])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        }
    }
    assert!(
        resurrected.is_empty(),
        "{backend:?}: the session came back after logout in trials {resurrected:?} of {TRIALS}"
    );
}

#[tokio::test]
async fn logout_racing_a_first_authorize_stays_signed_out_embedded() {
    logout_racing_a_first_authorize_on(Backend::Embedded).await;
}

#[tokio::test]
async fn logout_racing_a_first_authorize_stays_signed_out_redis() {
    logout_racing_a_first_authorize_on(Backend::Redis).await;
}

/// Issue #9, item 5: a refresh asking for a scope it may not have is
/// refused before the token is consumed, so a retry without it works and
/// is not taken for reuse.
#[tokio::test]
async fn refused_refresh_scope_does_not_burn_the_token() {
    for backend in BACKENDS {
        let store = StoreHandle::new(backend);
        let app = TestApp::spawn(&store).await;
        let (_, passcode) = provision(&app, "scoped@example.com", json!({})).await;
        let rp = Rp::discover(&app, RP_ID).await;
        let browser = signed_in_browser(&app, &rp, "scoped@example.com", &passcode).await;
        let rp_auth = Some((RP_ID, RP_SECRET));
        let first = tokens(&app, &rp, &browser).await;
        let token = refresh_of(&first);

        for widening in [
            "openid address",
            "phone",
            "openid profile email offline_access address",
        ] {
            let (status, body) = form(
                &app,
                "/token",
                rp_auth,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &token),
                    ("scope", widening),
                ],
            )
            .await;
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_scope")),
                "{backend:?} {widening}: {body}"
            );
        }
        // The same token, without the scope: a normal rotation.
        let (status, rotated) = form(
            &app,
            "/token",
            rp_auth,
            &[("grant_type", "refresh_token"), ("refresh_token", &token)],
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {rotated}");
        assert!(rotated["scope"].as_str().unwrap().contains("profile"));
        // The family lives on: the new token works too.
        let (status, next) = form(
            &app,
            "/token",
            rp_auth,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_of(&rotated)),
            ],
        )
        .await;
        assert_eq!(status, 200, "{backend:?}: {next}");
        let events = app
            .store
            .list_audit(&Default::default(), None, 500)
            .await
            .unwrap()
            .events;
        assert!(
            !events
                .iter()
                .any(|e| e.event_type.as_str() == "refresh.reused"),
            "{backend:?}: no reuse was detected"
        );
    }
}
