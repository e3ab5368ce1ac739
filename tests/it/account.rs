//! The security info page: own passkeys and pass.

use serde_json::json;

use crate::browser::Browser;
use crate::helpers::*;
use crate::oidc_flow::{Rp, provision, signed_in_browser};

#[tokio::test]
async fn security_info_manages_own_passkeys_and_pass() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let (user_id, passcode) = provision(&app, "self@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let mut browser = signed_in_browser(&app, &rp, "self@example.com", &passcode).await;

    let page = browser.get("/account/security").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("self@example.com"));
    assert!(page.body.contains("value=\"Passkey 1\""));
    assert!(
        page.body.contains("Valid until"),
        "the pass's expiry is shown"
    );
    assert!(
        page.body.contains("Add a passkey"),
        "within the enrollment window"
    );

    // Rename.
    let csrf = page.field("csrf");
    let id = page.field("id");
    let res = browser
        .post_form(
            "/account/passkeys/rename",
            &[("csrf", &csrf), ("id", &id), ("name", "Work laptop")],
        )
        .await;
    assert_eq!(res.status, 303);
    let page = browser.get("/account/security?done=renamed").await;
    assert!(page.body.contains("value=\"Work laptop\""));
    let renamed = app
        .store
        .list_audit(
            &onramp::domain::audit::AuditFilter {
                event_type: Some(onramp::domain::audit::AuditEventType::PasskeyRenamed),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(renamed.events.len(), 1);
    assert!(
        renamed.events[0]
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("Work laptop")
    );

    // Its options exclude the passkey already registered, so the same
    // authenticator is not registered twice.
    let (status, started) = browser
        .post_json(
            "/enroll/options",
            &page.meta_csrf(),
            json!({ "r": page.field("r") }),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    let excluded: Vec<&str> = started["options"]["publicKey"]["excludeCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(excluded, [id.as_str()]);

    // Add a second passkey from this page.
    let back = browser.enroll(&page).await;
    assert_eq!(back.status, 200, "{}", back.body);
    assert!(back.body.contains("Security info"));
    assert_eq!(app.store.list_credentials(&user_id).await.unwrap().len(), 2);

    // Deleting needs confirmation; the last passkey gets a stronger warning.
    let confirm = browser
        .get(&format!("/account/passkeys/delete?id={id}"))
        .await;
    assert_eq!(confirm.status, 200);
    assert!(!confirm.body.contains("last passkey"));
    let unconfirmed = browser
        .post_form("/account/passkeys/delete", &[("csrf", &csrf), ("id", &id)])
        .await;
    assert_eq!(unconfirmed.status, 303);
    assert_eq!(
        app.store.list_credentials(&user_id).await.unwrap().len(),
        2,
        "not deleted without confirmation"
    );
    let no_csrf = browser
        .post_form(
            "/account/passkeys/delete",
            &[("id", id.as_str()), ("confirm", "yes")],
        )
        .await;
    assert_eq!(no_csrf.status, 303);
    assert_eq!(
        app.store.list_credentials(&user_id).await.unwrap().len(),
        2,
        "not deleted without CSRF token"
    );
    let deleted = browser
        .post_form(
            "/account/passkeys/delete",
            &[("csrf", &csrf), ("id", &id), ("confirm", "yes")],
        )
        .await;
    assert_eq!(
        deleted.location.as_deref(),
        Some("/account/security?done=deleted")
    );
    let remaining = app.store.list_credentials(&user_id).await.unwrap();
    assert_eq!(remaining.len(), 1);
    let confirm = browser
        .get(&format!("/account/passkeys/delete?id={}", remaining[0].id))
        .await;
    assert!(confirm.body.contains("last passkey"), "{}", confirm.body);

    // Someone else's passkey cannot be touched.
    let (other_id, other_pass) = provision(&app, "other@example.com", json!({})).await;
    let _other = signed_in_browser(&app, &rp, "other@example.com", &other_pass).await;
    let theirs = app.store.list_credentials(&other_id).await.unwrap()[0]
        .id
        .clone();
    browser
        .post_form(
            "/account/passkeys/delete",
            &[("csrf", &csrf), ("id", &theirs), ("confirm", "yes")],
        )
        .await;
    assert_eq!(
        app.store.list_credentials(&other_id).await.unwrap().len(),
        1
    );

    // Delete the own pass.
    let res = browser
        .post_form(
            "/account/tap/delete",
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(
        res.location.as_deref(),
        Some("/account/security?done=tap-deleted")
    );
    assert!(app.store.get_tap(&user_id).await.unwrap().is_none());
    let events = app
        .store
        .list_audit(&Default::default(), None, 500)
        .await
        .unwrap()
        .events;
    assert!(
        events
            .iter()
            .any(|e| e.event_type.as_str() == "tap.deleted" && e.actor.id == user_id)
    );

    // Sign out ends the session.
    let res = browser
        .post_form("/account/signout", &[("csrf", &csrf)])
        .await;
    assert_eq!(res.location.as_deref(), Some("/signed-out"));
    let bye = browser.get("/signed-out").await;
    assert!(bye.body.contains("You&#39;re signed out"), "{}", bye.body);
    let page = browser.get("/account/security").await;
    assert_eq!(page.location.as_deref(), Some("/signin"));
    let anonymous = Browser::new(&app.base);
    assert_eq!(
        anonymous.get("/account/security").await.location.as_deref(),
        Some("/signin")
    );
}
