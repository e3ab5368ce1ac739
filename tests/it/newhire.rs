//! The new hire's pages: "all set" after the first passkey, signing out.

use serde_json::json;

use crate::browser::Browser;
use crate::helpers::*;
use crate::oidc_flow::{Rp, code_from, provision};

/// The first passkey of a pass ends on "You're all set", which says how
/// to sign in from now on and continues to the application.
async fn all_set_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let (_, passcode) = provision(&app, "allset@example.com", json!({})).await;
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
    assert!(done.body.contains("You're all set"), "{}", done.body);
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

    // A second passkey in the same sign-in goes straight back.
    let security = browser.get("/account/security").await;
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
