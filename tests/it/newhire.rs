//! The new hire's pages: "all set" after the first passkey, signing out.

use serde_json::json;

use crate::browser::Browser;
use crate::helpers::*;
use crate::oidc_flow::{Rp, code_from, provision, signed_in_browser};

/// The first passkey of a pass ends on "You're all set", which says how
/// to sign in from now on and continues to the application.
async fn all_set_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let (user_id, passcode) = provision(&app, "allset@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let mut browser = Browser::new(&app.base);
    let (url, _, _, _) = rp.authorize_url(&[]);
    let page = browser.open(&url).await;
    let after = browser
        .sign_in_with_tap(&page, "allset@example.com", &passcode)
        .await;
    let enroll_page = browser.follow(after).await;
    let done = browser.enroll_only(&enroll_page).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("You&#39;re all set"), "{}", done.body);
    assert!(
        done.body.contains("Sign in with a passkey"),
        "{}",
        done.body
    );
    let r = enroll_page.field("r");
    assert_eq!(
        done.link("continue"),
        format!("/authorize/resume?r={r}"),
        "continues into the authorization request"
    );
    let client_name = app
        .store
        .get_client(RP_ID)
        .await
        .unwrap()
        .and_then(|c| c.name)
        .unwrap_or_else(|| RP_ID.to_owned());
    assert!(
        done.body.contains(&format!("Continue to {client_name}")),
        "{}",
        done.body
    );
    let back = browser.get(&done.link("continue")).await;
    let (code, _, _) = code_from(&back);
    assert!(!code.is_empty());

    // Times in the markup are UTC, for the page script to show locally.
    let security = browser.get("/account/security").await;
    let created = app.store.list_credentials(&user_id).await.unwrap()[0].created;
    let iso = created
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    assert!(
        security
            .body
            .contains(&format!("<time datetime=\"{iso}\" data-local>")),
        "{iso}: {}",
        security.body
    );
    assert!(security.body.contains(" UTC</time>"));
    assert!(security.body.contains("src=\"/static/js/time.js\""));

    // A second passkey in the same sign-in goes straight back.
    let next = browser.enroll_only(&security).await;
    assert!(next.body.contains("Security info"), "{}", next.body);

    // Without a session, the page sends the person to sign in.
    let stranger = Browser::new(&app.base);
    let res = stranger.get(&format!("/enroll/done?r={r}")).await;
    assert_eq!(res.location, Some(format!("/signin?r={r}")));
}

#[tokio::test]
async fn all_set_page_embedded() {
    all_set_on(Backend::Embedded).await;
}

#[tokio::test]
async fn all_set_page_redis() {
    all_set_on(Backend::Redis).await;
}

/// A new pass for an existing user, through the admin API.
async fn new_pass(app: &TestApp, user_id: &str) -> String {
    let token = app.hr_token().await;
    let (status, created) = app
        .api(
            reqwest::Method::POST,
            &format!("/users/{user_id}/authentication/temporaryAccessPassMethods"),
            &token,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    created["temporaryAccessPass"].as_str().unwrap().to_owned()
}

async fn passkey_ids(app: &TestApp, user_id: &str) -> Vec<String> {
    let mut ids: Vec<String> = app
        .store
        .list_credentials(user_id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    ids.sort();
    ids
}

/// Posts the confirmed removal of passkey `id`.
async fn remove(browser: &Browser, csrf: &str, r: &str, id: &str) -> crate::browser::Response {
    browser
        .post_form(
            "/enroll/remove",
            &[("csrf", csrf), ("r", r), ("id", id), ("confirm", "yes")],
        )
        .await
}

/// The lost phone: signed in with a new pass, the person removes the old
/// passkey on the enrollment page (confirmed, CSRF-checked, own passkeys
/// only, within the window) and sets up a new one.
async fn lost_phone_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let (user_id, first) = provision(&app, "lost@example.com", json!({})).await;
    let _old_phone = signed_in_browser(&app, &rp, "lost@example.com", &first).await;
    let (other_id, other_pass) = provision(&app, "bystander@example.com", json!({})).await;
    let _bystander = signed_in_browser(&app, &rp, "bystander@example.com", &other_pass).await;
    let old = passkey_ids(&app, &user_id).await;
    assert_eq!(old.len(), 1);
    let theirs = passkey_ids(&app, &other_id).await;

    let pass = new_pass(&app, &user_id).await;
    let mut browser = Browser::new(&app.base);
    let (url, _, _, _) = rp.authorize_url(&[]);
    let page = browser.open(&url).await;
    let after = browser
        .sign_in_with_tap(&page, "lost@example.com", &pass)
        .await;
    let enroll = browser.follow(after).await;
    assert!(enroll.body.contains("Lost your phone"), "{}", enroll.body);
    assert!(
        enroll.body.contains("Remove “Passkey 1”"),
        "{}",
        enroll.body
    );
    let r = enroll.field("r");
    let csrf = enroll.meta_csrf();

    // The confirmation step.
    let confirm = browser
        .get(&format!("/enroll/remove?r={r}&id={}", old[0]))
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(confirm.body.contains("Remove passkey"), "{}", confirm.body);

    // Without confirmation, without CSRF, or another person's passkey:
    // nothing is removed.
    let unconfirmed = browser
        .post_form(
            "/enroll/remove",
            &[("csrf", &csrf), ("r", &r), ("id", &old[0])],
        )
        .await;
    assert_eq!(unconfirmed.status, 303);
    assert!(unconfirmed.location.unwrap().starts_with("/enroll/remove?"));
    let no_csrf = browser
        .post_form(
            "/enroll/remove",
            &[("r", &r), ("id", &old[0]), ("confirm", "yes")],
        )
        .await;
    assert_eq!(no_csrf.status, 403, "{}", no_csrf.body);
    let foreign = remove(&browser, &csrf, &r, &theirs[0]).await;
    assert_eq!(
        foreign.location,
        Some(format!("/enroll?r={r}&done=gone")),
        "{}",
        foreign.body
    );
    assert_eq!(passkey_ids(&app, &other_id).await, theirs);
    assert_eq!(passkey_ids(&app, &user_id).await, old);

    // Confirmed: removed, audited, and the page says so.
    let removed = remove(&browser, &csrf, &r, &old[0]).await;
    assert_eq!(
        removed.location,
        Some(format!("/enroll?r={r}&done=removed"))
    );
    assert!(passkey_ids(&app, &user_id).await.is_empty());
    let events = app
        .store
        .list_audit(&Default::default(), None, 500)
        .await
        .unwrap()
        .events;
    assert!(
        events
            .iter()
            .any(|e| e.event_type.as_str() == "passkey.deleted"
                && e.actor.id == user_id
                && e.detail.as_deref().unwrap_or_default().contains(&old[0]))
    );
    let page = browser.follow(removed).await;
    assert!(
        page.body.contains("The passkey was removed"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Skip"), "no skipping without a passkey");

    // A new passkey.
    let done = browser.enroll_only(&page).await;
    assert!(done.body.contains("You&#39;re all set"), "{}", done.body);
    let new = passkey_ids(&app, &user_id).await;
    assert_eq!(new.len(), 1);
    assert_ne!(new, old);

    // Past the enrollment window, removal is refused.
    app.clock.advance(time::Duration::minutes(11));
    let late = remove(&browser, &csrf, &r, &new[0]).await;
    assert_eq!(late.status, 403, "{}", late.body);
    assert!(late.body.contains("over"), "{}", late.body);
    assert_eq!(passkey_ids(&app, &user_id).await, new);
    let late_confirm = browser
        .get(&format!("/enroll/remove?r={r}&id={}", new[0]))
        .await;
    assert_eq!(late_confirm.status, 403);
}

#[tokio::test]
async fn lost_phone_removal_embedded() {
    lost_phone_on(Backend::Embedded).await;
}

#[tokio::test]
async fn lost_phone_removal_redis() {
    lost_phone_on(Backend::Redis).await;
}

/// German pages: from the application's `ui_locales` (kept for the whole
/// flow, also on POSTed forms), or from `Accept-Language`.
#[tokio::test]
async fn pages_in_german() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let (_, passcode) = provision(&app, "neu@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let browser = Browser::new(&app.base);
    let (url, _, _, _) = rp.authorize_url(&[("ui_locales", "fr-CA de-CH en")]);
    let page = browser.open(&url).await;
    assert!(page.body.contains("<html lang=\"de\">"), "{}", page.body);
    assert!(page.body.contains("Mit einem Passkey anmelden"));
    let r = page.field("r");
    let csrf = page.field("csrf");
    let tap = browser
        .post_form(
            &format!("/signin?r={r}"),
            &[("csrf", &csrf), ("r", &r), ("username", "neu@example.com")],
        )
        .await;
    assert!(
        tap.body.contains("Befristeten Zugriffspass eingeben"),
        "{}",
        tap.body
    );
    let after = browser
        .sign_in_with_tap(&page, "neu@example.com", &passcode)
        .await;
    let enroll = browser.follow(after).await;
    assert!(
        enroll.body.contains("Passkey einrichten"),
        "{}",
        enroll.body
    );
    assert!(enroll.body.contains("<html lang=\"de\">"));
    assert!(
        enroll.body.contains("Sie haben noch 10 Minuten"),
        "{}",
        enroll.body
    );
    // The server's answers to the page script too.
    let (status, refused) = browser
        .post_json(
            &format!("/enroll/options?r={r}"),
            "not-the-token",
            json!({ "r": r }),
        )
        .await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .starts_with("Laden Sie die Seite neu"),
        "{refused}"
    );

    // An authorization request POSTed to /authorize (`ui_locales` in the
    // body): the sign-in page it is sent on to is German too.
    let (url, _, _, _) = rp.authorize_url(&[("ui_locales", "de")]);
    let query = url::Url::parse(&url).unwrap().query().unwrap().to_owned();
    let posted = app
        .http
        .post(app.url("/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 303);
    let to = posted.headers()["location"].to_str().unwrap().to_owned();
    let shown = Browser::new(&app.base).get(&to).await;
    assert!(shown.body.contains("<html lang=\"de\">"), "{}", shown.body);
    assert!(shown.body.contains("Mit einem Passkey anmelden"));

    // Accept-Language, by q-value; English without one.
    let german = reqwest::Client::new();
    let home = german
        .get(app.url("/"))
        .header("accept-language", "fr;q=0.9, de;q=0.8, en;q=0.1")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("<html lang=\"de\">"), "{home}");
    assert!(home.contains("Anmeldedienst"), "{home}");
    let expired = german
        .get(app.url("/authorize/resume?r=gone"))
        .header("accept-language", "de")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        expired.contains("Diese Anmeldung ist abgelaufen"),
        "{expired}"
    );
    let english = german
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("<html lang=\"en\">"), "{english}");
}
