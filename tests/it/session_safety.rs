//! Sessions, hints and tokens under attack and under races (issue #9):
//! a logout is never undone by a concurrent `/authorize`, a refused
//! refresh scope does not burn the token, an `id_token_hint` holds across
//! enrollment, and someone else's ID token does not sign a victim out.

use openidconnect::TokenResponse;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::COOKIE;
use serde_json::{Value, json};
use std::sync::Arc;

use crate::browser::{Browser, Response};
use crate::helpers::*;
use crate::lifecycle::{form, refresh_of, tokens};
use crate::oidc_flow::{Rp, code_from, provision, redeem, signed_in_browser};

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
        // A code (the session was still there) or the sign-in page.
        let authorized = authorized.unwrap();
        let status = authorized.status();
        let to_code = authorized
            .headers()
            .get(reqwest::header::LOCATION)
            .is_some_and(|l| l.to_str().unwrap().contains("code="));
        assert!(
            (status.is_redirection() && to_code) || status == 200,
            "{status}"
        );
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

/// The payload of a JWT.
fn claims_of(jwt: &str) -> Value {
    use base64::Engine;
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

/// Issue #9, item 7: with an `id_token_hint` for user A, a browser holding
/// B's TAP session (in its enrollment window, B has a passkey so may
/// skip) never gets a code for B: not at once, not after /enroll → skip →
/// /authorize/resume, not after B signs in again. Signing in as A does.
async fn id_token_hint_holds_across_enrollment_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let (a_id, a_pass) = provision(&app, "alice@example.com", json!({})).await;
    let (b_id, b_pass) = provision(&app, "bob@example.com", json!({})).await;
    let browser_a = signed_in_browser(&app, &rp, "alice@example.com", &a_pass).await;
    let a_token = tokens(&app, &rp, &browser_a).await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(claims_of(&a_token)["sub"], a_id);
    // B signs in with the pass and registers a passkey: a TAP session in
    // its enrollment window, for someone who may skip enrollment.
    let mut browser_b = signed_in_browser(&app, &rp, "bob@example.com", &b_pass).await;
    let no_code_for_b = |res: &Response, step: &str| {
        assert!(
            !is_code(res),
            "{step}: a code for B despite A's hint: {res:?}"
        );
    };

    let (url, _, nonce, verifier) = rp.authorize_url(&[("id_token_hint", &a_token)]);
    let first = browser_b.get(&url).await;
    no_code_for_b(&first, "authorize");
    // `/authorize` answers with the sign-in page itself, which says why.
    assert_eq!(first.status, 200, "{first:?}");
    assert!(
        first.body.contains("asked for a different account"),
        "{}",
        first.body
    );
    let page = browser_b.follow(first).await;
    no_code_for_b(&page, "authorize, followed");
    // (This used to be the enrollment page, with "skip" on it.) Skipping
    // enrollment, then resuming the request, gives no code either.
    let r = page.field("r");
    let skip = browser_b
        .post_form("/enroll/skip", &[("csrf", &page.field("csrf")), ("r", &r)])
        .await;
    no_code_for_b(&browser_b.follow(skip).await, "enroll, skip, resume");
    let resumed = browser_b
        .get(&format!("/authorize/resume?r={}", urlencode(&r)))
        .await;
    no_code_for_b(&resumed, "resume");
    let signin = browser_b.follow(resumed).await;
    no_code_for_b(&signin, "resume, followed");
    assert_eq!(signin.status, 200, "{}", signin.body);
    assert!(
        signin.body.contains("asked for a different account"),
        "the sign-in page says why: {}",
        signin.body
    );
    // B signs in again (a passkey): still B, still no code, the same page.
    let (status, done) = browser_b
        .sign_in_with_passkey(&signin, "bob@example.com")
        .await;
    assert_eq!(status, 200, "{done}");
    let again = browser_b.get(done["redirect"].as_str().unwrap()).await;
    no_code_for_b(&again, "B signed in again");
    let again = browser_b.follow(again).await;
    no_code_for_b(&again, "B signed in again, followed");
    assert!(again.body.contains("asked for a different account"));
    // prompt=none with A's hint on B's session: login_required.
    let (silent, _, _, _) = rp.authorize_url(&[("id_token_hint", &a_token), ("prompt", "none")]);
    let res = browser_b.get(&silent).await;
    assert!(
        res.location
            .as_deref()
            .is_some_and(|l| l.contains("error=login_required")),
        "{res:?}"
    );
    // The hinted user signs in: the request goes on, with a code for A.
    browser_b.authenticator = browser_a.authenticator;
    let (status, done) = browser_b
        .sign_in_with_passkey(&again, "alice@example.com")
        .await;
    assert_eq!(status, 200, "{done}");
    let back = browser_b.open(done["redirect"].as_str().unwrap()).await;
    let (code, _, _) = code_from(&back);
    let (_, _, tokens) = redeem(&rp, &code, verifier, &nonce).await;
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&rp.client.id_token_verifier(), &nonce)
        .unwrap()
        .clone();
    assert_eq!(claims.subject().as_str(), a_id);
    assert_ne!(a_id, b_id);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn id_token_hint_holds_across_enrollment_embedded() {
    id_token_hint_holds_across_enrollment_on(Backend::Embedded).await;
}

#[tokio::test]
async fn id_token_hint_holds_across_enrollment_redis() {
    id_token_hint_holds_across_enrollment_on(Backend::Redis).await;
}

/// Issue #9, item 8: an ID token skips the logout confirmation only when
/// it is for the browser's own live session; an attacker's own token (or
/// the victim's from another session) leads to the confirmation page.
#[tokio::test]
async fn logout_hint_must_be_for_the_browsers_session() {
    for backend in BACKENDS {
        let store = StoreHandle::new(backend);
        let app = TestApp::spawn(&store).await;
        let rp = Rp::discover(&app, RP_ID).await;
        let (_, v_pass) = provision(&app, "victim@example.com", json!({})).await;
        let (_, x_pass) = provision(&app, "mallory@example.com", json!({})).await;
        let attacker = signed_in_browser(&app, &rp, "mallory@example.com", &x_pass).await;
        let attacker_token = tokens(&app, &rp, &attacker).await["id_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut victim = signed_in_browser(&app, &rp, "victim@example.com", &v_pass).await;
        let signed_in = |browser: &Browser| {
            let url = rp.authorize_url(&[("prompt", "none")]).0;
            let http = browser.http.clone();
            async move {
                let res = http.get(&url).send().await.unwrap();
                let loc = res.headers()[reqwest::header::LOCATION]
                    .to_str()
                    .unwrap()
                    .to_owned();
                loc.contains("code=")
            }
        };
        assert!(signed_in(&victim).await);

        // The attacker's own valid token, e.g. in a link or an <img>.
        let csrf_link = format!(
            "/logout?id_token_hint={attacker_token}&post_logout_redirect_uri={RP_LOGGED_OUT}&state=x"
        );
        let res = victim.get(&csrf_link).await;
        assert_eq!(res.status, 200, "{backend:?}: {res:?}");
        assert!(res.location.is_none());
        assert!(res.body.contains("Sign out?"), "{}", res.body);
        assert!(
            signed_in(&victim).await,
            "{backend:?}: the victim's session survives"
        );
        // Confirming that page does sign out (and goes back to the app).
        let confirm = res;
        let done = victim
            .post_form(
                "/logout",
                &[
                    ("csrf", &confirm.field("csrf")),
                    ("confirm", "yes"),
                    ("client_id", &confirm.field("client_id")),
                    ("post_logout_redirect_uri", RP_LOGGED_OUT),
                    ("state", "x"),
                ],
            )
            .await;
        assert_eq!(
            done.location.as_deref(),
            Some(&*format!("{RP_LOGGED_OUT}?state=x"))
        );
        assert!(!signed_in(&victim).await);

        // The victim's own token, but from an earlier session: confirm.
        let victim_old = {
            // A token from the victim's first session...
            let page = victim.open(&rp.authorize_url(&[]).0).await;
            let (status, done) = victim
                .sign_in_with_passkey(&page, "victim@example.com")
                .await;
            assert_eq!(status, 200, "{done}");
            let back = victim.open(done["redirect"].as_str().unwrap()).await;
            assert!(is_code(&back));
            let token = tokens(&app, &rp, &victim).await["id_token"]
                .as_str()
                .unwrap()
                .to_owned();
            // ...then a new session: the old token's sid no longer matches.
            app.clock.advance(time::Duration::seconds(2));
            let page = victim
                .open(&rp.authorize_url(&[("prompt", "login")]).0)
                .await;
            let (status, done) = victim
                .sign_in_with_passkey(&page, "victim@example.com")
                .await;
            assert_eq!(status, 200, "{done}");
            victim.open(done["redirect"].as_str().unwrap()).await;
            token
        };
        let res = victim
            .get(&format!("/logout?id_token_hint={victim_old}"))
            .await;
        assert!(res.body.contains("Sign out?"), "{backend:?}: {}", res.body);
        assert!(signed_in(&victim).await);

        // The victim's own token for this session: signed out at once.
        let own = tokens(&app, &rp, &victim).await["id_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = victim
            .get(&format!(
                "/logout?id_token_hint={own}&post_logout_redirect_uri={RP_LOGGED_OUT}&state=y"
            ))
            .await;
        assert_eq!(
            res.location.as_deref(),
            Some(&*format!("{RP_LOGGED_OUT}?state=y")),
            "{backend:?}: {res:?}"
        );
        assert!(!signed_in(&victim).await, "{backend:?}: signed out");

        // Nobody signed in: nothing to confirm, whatever the hint.
        let stranger = Browser::new(&app.base);
        let res = stranger.get(&csrf_link).await;
        assert_eq!(
            res.location.as_deref(),
            Some(&*format!("{RP_LOGGED_OUT}?state=x"))
        );
        let res = stranger.get("/logout").await;
        assert_eq!(res.status, 200);
        assert!(!res.body.contains("Sign out?"), "{}", res.body);
        assert!(res.body.contains("have been signed out"), "{}", res.body);
        // The attacker's own session was never touched.
        assert!(signed_in(&attacker).await);
    }
}
