//! Policy, passkey methods, session revocation and the audit log API.

use reqwest::Method;
use serde_json::{Value, json};
use time::Duration;

use crate::browser::Browser;
use crate::helpers::*;
use crate::oidc_flow::{Rp, code_from, provision, redeem, signed_in_browser};

const TAP_POLICY: &str =
    "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/temporaryAccessPass";
const FIDO2_POLICY: &str =
    "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2";

#[tokio::test]
async fn tap_policy_settings_change_behaviour() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let admin = app.token(POLICY_ID, POLICY_SECRET).await;
    let hr = app.hr_token().await;

    let (status, policy) = app.api(Method::GET, TAP_POLICY, &admin, None).await;
    assert_eq!(status, 200, "{policy}");
    assert_eq!(policy["defaultLifetimeInMinutes"], 60);
    assert_eq!(policy["state"], "enabled");
    assert_eq!(policy["includeTargets"][0]["id"], "all_users");
    // The HR client has no policy permission.
    let (status, _) = app
        .api(
            Method::PATCH,
            TAP_POLICY,
            &hr,
            Some(json!({"isUsableOnce": true})),
        )
        .await;
    assert_eq!(status, 403);
    // Invalid values are refused and nothing changes.
    let (status, body) = app
        .api(
            Method::PATCH,
            TAP_POLICY,
            &admin,
            Some(json!({"defaultLifetimeInMinutes": 500})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app
        .api(
            Method::PATCH,
            TAP_POLICY,
            &admin,
            Some(json!({"defaultLength": 7})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("defaultLength")
    );

    // isUsableOnce forced; lifetime bounds and length follow the policy.
    let (status, _) = app
        .api(
            Method::PATCH,
            TAP_POLICY,
            &admin,
            Some(json!({"isUsableOnce": true, "minimumLifetimeInMinutes": 120, "defaultLifetimeInMinutes": 180, "maximumLifetimeInMinutes": 240, "defaultLength": 12})),
        )
        .await;
    assert_eq!(status, 204);
    let (user_id, passcode) = provision(&app, "policy@example.com", json!({})).await;
    assert_eq!(passcode.len(), 12);
    let taps = format!("/users/{user_id}/authentication/temporaryAccessPassMethods");
    let (_, list) = app.api(Method::GET, &taps, &hr, None).await;
    assert_eq!(list["value"][0]["isUsableOnce"], true);
    assert_eq!(list["value"][0]["lifetimeInMinutes"], 180);
    let (status, body) = app
        .api(
            Method::POST,
            &taps,
            &hr,
            Some(json!({"isUsableOnce": false})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app
        .api(
            Method::POST,
            &taps,
            &hr,
            Some(json!({"lifetimeInMinutes": 60})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("between 120 and 240"),
        "{body}"
    );

    // Out of scope: DisabledByPolicy, and sign-in fails.
    let (status, _) = app
        .api(
            Method::PATCH,
            TAP_POLICY,
            &admin,
            Some(json!({"excludeTargets": [{"targetType": "user", "id": user_id}]})),
        )
        .await;
    assert_eq!(status, 204);
    let (_, list) = app.api(Method::GET, &taps, &hr, None).await;
    assert_eq!(
        list["value"][0]["methodUsabilityReason"],
        "DisabledByPolicy"
    );
    let rp = Rp::discover(&app, RP_ID).await;
    let browser = Browser::new(&app.base);
    let page = browser.open(&rp.authorize_url(&[]).0).await;
    let res = browser
        .sign_in_with_tap(&page, "policy@example.com", &passcode)
        .await;
    assert_eq!(res.status, 403, "{}", res.body);
    assert!(res.body.contains("turned off"));

    // Disabled for everyone: no new passes at all.
    let (status, _) = app
        .api(
            Method::PATCH,
            TAP_POLICY,
            &admin,
            Some(json!({"excludeTargets": [], "state": "disabled"})),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app.api(Method::POST, &taps, &hr, Some(json!({}))).await;
    assert_eq!(status, 403);
    let (_, list) = app.api(Method::GET, &taps, &hr, None).await;
    assert_eq!(
        list["value"][0]["methodUsabilityReason"],
        "DisabledByPolicy"
    );

    // Every change is audited; the audit log API filters and pages.
    let (status, log) = app
        .api(
            Method::GET,
            "/auditLogs?eventType=policy.changed&$top=2",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 200, "{log}");
    assert_eq!(log["value"].as_array().unwrap().len(), 2);
    let next = log["@odata.nextLink"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let rest: Value = app
        .http
        .get(&next)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["value"].as_array().unwrap().len(), 1);
    assert!(
        rest["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["event_type"] == "policy.changed")
    );
    let (status, _) = app.api(Method::GET, "/auditLogs", &hr, None).await;
    assert_eq!(status, 403, "the HR client may not read the audit log");
    let (status, _) = app
        .api(Method::GET, "/auditLogs?eventType=nonsense", &admin, None)
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn passkey_methods_and_session_revocation() {
    let store = StoreHandle::new(Backend::Redis);
    let app = TestApp::spawn(&store).await;
    let hr = app.hr_token().await;
    let (user_id, passcode) = provision(&app, "keys@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let browser = signed_in_browser(&app, &rp, "keys@example.com", &passcode).await;

    let methods = format!("/users/{user_id}/authentication/passkeyMethods");
    let (status, list) = app.api(Method::GET, &methods, &hr, None).await;
    assert_eq!(status, 200, "{list}");
    let value = list["value"].as_array().unwrap();
    assert_eq!(value.len(), 1);
    assert_eq!(value[0]["displayName"], "Passkey 1");
    assert!(value[0]["createdDateTime"].as_str().is_some());
    let id = value[0]["id"].as_str().unwrap().to_owned();
    let (status, one) = app
        .api(Method::GET, &format!("{methods}/{id}"), &hr, None)
        .await;
    assert_eq!((status, one["id"].as_str()), (200, Some(id.as_str())));

    // Sessions: SSO works, then an admin revokes every session.
    let (url, _, nonce, verifier) = rp.authorize_url(&[]);
    let (code, _, _) = code_from(&browser.get(&url).await);
    let (_, _, tokens) = redeem(&rp, &code, verifier, &nonce).await;
    use openidconnect::OAuth2TokenResponse;
    let refresh = tokens.refresh_token().unwrap().secret().clone();
    app.clock.advance(Duration::seconds(5));
    let (status, body) = app
        .api(
            Method::POST,
            &format!("/users/{user_id}/revokeSignInSessions"),
            &hr,
            None,
        )
        .await;
    assert_eq!((status, body["value"].clone()), (200, json!(true)));
    let page = browser.open(&rp.authorize_url(&[]).0).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Sign in"), "the session ended");
    let res = app
        .rp_token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
    let res = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Delete the passkey.
    let (status, _) = app
        .api(Method::DELETE, &format!("{methods}/{id}"), &hr, None)
        .await;
    assert_eq!(status, 204);
    let (_, list) = app.api(Method::GET, &methods, &hr, None).await;
    assert_eq!(list["value"], json!([]));
    let (status, _) = app
        .api(Method::DELETE, &format!("{methods}/{id}"), &hr, None)
        .await;
    assert_eq!(status, 404);
    let events = app
        .store
        .list_audit(&Default::default(), None, 500)
        .await
        .unwrap()
        .events;
    for kind in ["passkey.deleted", "sessions.revoked"] {
        assert!(
            events.iter().any(|e| e.event_type.as_str() == kind),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn passkey_settings_change_enrollment() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let admin = app.token(POLICY_ID, POLICY_SECRET).await;
    let (status, body) = app
        .api(
            Method::PATCH,
            FIDO2_POLICY,
            &admin,
            Some(json!({"enrollmentWindowInMinutes": 0})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = app
        .api(Method::PATCH, FIDO2_POLICY, &admin, Some(json!({"enrollmentWindowInMinutes": 2, "isRegistrationRequiredAfterTap": false, "isTapStrongAuthentication": false})))
        .await;
    assert_eq!(status, 204);
    let (_, got) = app.api(Method::GET, FIDO2_POLICY, &admin, None).await;
    assert_eq!(got["enrollmentWindowInMinutes"], 2);

    let (_, passcode) = provision(&app, "optional@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let browser = Browser::new(&app.base);
    let (url, _, nonce, verifier) = rp.authorize_url(&[]);
    let page = browser.open(&url).await;
    let after = browser
        .sign_in_with_tap(&page, "optional@example.com", &passcode)
        .await;
    let enroll = browser.follow(after).await;
    assert!(enroll.body.contains("2 minutes"), "{}", enroll.body);
    assert!(
        enroll.body.contains("/enroll/skip"),
        "registration is optional now"
    );
    let skip = browser
        .post_form(
            "/enroll/skip",
            &[("csrf", &enroll.field("csrf")), ("r", &enroll.field("r"))],
        )
        .await;
    let back = browser.follow(skip).await;
    let (code, _, _) = code_from(&back);
    let (amr, _, _) = redeem(&rp, &code, verifier, &nonce).await;
    assert_eq!(amr, ["otp"], "TAP without mfa when the policy says so");

    // The window closes after 2 minutes.
    app.clock.advance(Duration::minutes(3));
    let late = browser
        .get(&format!("/enroll?r={}", enroll.field("r")))
        .await;
    assert_eq!(late.status, 403);
}

/// Starts enrollment on `page` and sends the software authenticator's answer;
/// returns the finish status and body.
async fn try_enroll(browser: &mut Browser, page: &crate::browser::Response) -> (u16, Value) {
    let csrf = page.meta_csrf();
    let r = page.field("r");
    let (status, started) = browser
        .post_json("/enroll/options", &csrf, json!({ "r": r }))
        .await;
    assert_eq!(status, 200, "{started}");
    let base = browser.base.clone();
    let credential = browser.authenticator.register(&base, &started["options"]);
    browser
        .post_json(
            "/enroll/finish",
            &csrf,
            json!({ "r": r, "ceremony": started["ceremony"], "credential": credential }),
        )
        .await
}

#[tokio::test]
async fn key_restrictions_gate_passkey_models() {
    let store = StoreHandle::new(Backend::Redis);
    let app = TestApp::spawn(&store).await;
    let admin = app.token(POLICY_ID, POLICY_SECRET).await;
    let hr = app.hr_token().await;
    let rp = Rp::discover(&app, RP_ID).await;

    // The first passkey tells us the software authenticator's model.
    let (id, passcode) = provision(&app, "model@example.com", json!({})).await;
    let first = signed_in_browser(&app, &rp, "model@example.com", &passcode).await;
    let (_, keys) = app
        .api(
            Method::GET,
            &format!("/users/{id}/authentication/passkeyMethods"),
            &hr,
            None,
        )
        .await;
    let model = keys["value"][0]["aaGuid"]
        .as_str()
        .expect("an AAGUID")
        .to_owned();
    assert_eq!(model.len(), 36, "{model}");

    // Bad settings are refused and named.
    for (body, field) in [
        (
            json!({"keyRestrictions": {"aaGuids": ["nope"]}}),
            "keyRestrictions.aaGuids",
        ),
        (
            json!({"keyRestrictions": {"isEnforced": true, "aaGuids": []}}),
            "keyRestrictions.aaGuids",
        ),
    ] {
        let (s, v) = app
            .api(Method::PATCH, FIDO2_POLICY, &admin, Some(body))
            .await;
        assert_eq!(s, 400, "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(field),
            "{v}"
        );
    }

    let other = "00000000-0000-0000-0000-0000000000aa";
    let attempt = |upn: &'static str| {
        let app = &app;
        let rp = &rp;
        async move {
            let (_, passcode) = provision(app, upn, json!({})).await;
            let mut browser = Browser::new(&app.base);
            let (url, _, _, _) = rp.authorize_url(&[]);
            let page = browser.open(&url).await;
            let after = browser.sign_in_with_tap(&page, upn, &passcode).await;
            let enroll_page = browser.follow(after).await;
            try_enroll(&mut browser, &enroll_page).await
        }
    };
    let set = |restrictions: Value| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let (s, v) = app
                .api(
                    Method::PATCH,
                    FIDO2_POLICY,
                    &admin,
                    Some(json!({ "keyRestrictions": restrictions })),
                )
                .await;
            assert_eq!(s, 204, "{v}");
        }
    };

    // An allow list without this model refuses it, with a clear reason.
    set(json!({"isEnforced": true, "enforcementType": "allow", "aaGuids": [other.to_uppercase()]}))
        .await;
    let (_, policy) = app.api(Method::GET, FIDO2_POLICY, &admin, None).await;
    assert_eq!(policy["keyRestrictions"]["aaGuids"], json!([other]));
    let (s, v) = attempt("allow-miss@example.com").await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v.to_string().contains("not allowed by your organisation"),
        "{v}"
    );

    // Allowed when listed; a block list with it refuses it again.
    set(json!({"aaGuids": [other, model]})).await;
    let (s, v) = attempt("allow-hit@example.com").await;
    assert_eq!(s, 200, "{v}");
    set(json!({"enforcementType": "block", "aaGuids": [model]})).await;
    let (s, v) = attempt("blocked@example.com").await;
    assert_eq!(s, 400, "{v}");
    // Blocking a model also stops passkeys already registered with it.
    let mut fresh = Browser::new(&app.base);
    fresh.authenticator = first.authenticator;
    let (url, _, _, _) = rp.authorize_url(&[]);
    let page = fresh.open(&url).await;
    let (s, v) = fresh.sign_in_with_passkey(&page, "model@example.com").await;
    assert_eq!(s, 403, "{v}");
    assert!(v.to_string().contains("no longer allows"), "{v}");
    set(json!({"isEnforced": false})).await;
    let (s, v) = attempt("free@example.com").await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn attestation_enforcement_admits_only_trusted_models() {
    use crypto_glue::traits::EncodeDer;
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    use webauthn_authenticator_rs::softtoken::{AAGUID, SoftToken};

    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let admin = app.token(POLICY_ID, POLICY_SECRET).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let (token, ca) = SoftToken::new(true).unwrap();
    let (_, other_ca) = SoftToken::new(true).unwrap();
    let b64 = |c: &crypto_glue::x509::Certificate| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(c.to_der().unwrap())
    };

    // Enforcing needs anchors; anchors must be certificates.
    for body in [
        json!({"isAttestationEnforced": true}),
        json!({"attestationTrustAnchors": [{"certificate": "bm90IGEgY2VydA==", "aaGuids": [AAGUID.to_string()]}]}),
    ] {
        let (s, v) = app
            .api(Method::PATCH, FIDO2_POLICY, &admin, Some(body))
            .await;
        assert_eq!(s, 400, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("attestationTrustAnchors"),
            "{v}"
        );
    }
    let trust = |cert: String| {
        json!({"isAttestationEnforced": true, "attestationTrustAnchors": [
            {"certificate": cert, "aaGuids": [AAGUID.to_string().to_uppercase()], "description": "soft token"}
        ]})
    };
    let (s, v) = app
        .api(Method::PATCH, FIDO2_POLICY, &admin, Some(trust(b64(&ca))))
        .await;
    assert_eq!(s, 204, "{v}");
    let (_, policy) = app.api(Method::GET, FIDO2_POLICY, &admin, None).await;
    assert_eq!(policy["isAttestationEnforced"], true);
    assert_eq!(
        policy["attestationTrustAnchors"][0]["aaGuids"],
        json!([AAGUID.to_string()])
    );

    let attempt = |upn: &'static str, attested: Option<SoftToken>| {
        let app = &app;
        let rp = &rp;
        async move {
            let (_, passcode) = provision(app, upn, json!({})).await;
            let mut browser = Browser::new(&app.base);
            let (url, _, _, _) = rp.authorize_url(&[]);
            let page = browser.open(&url).await;
            let after = browser.sign_in_with_tap(&page, upn, &passcode).await;
            let enroll_page = browser.follow(after).await;
            match attested {
                None => try_enroll(&mut browser, &enroll_page).await,
                Some(mut token) => {
                    let csrf = enroll_page.meta_csrf();
                    let r = enroll_page.field("r");
                    let (status, started) = browser
                        .post_json("/enroll/options", &csrf, json!({ "r": r }))
                        .await;
                    assert_eq!(status, 200, "{started}");
                    assert_eq!(started["options"]["publicKey"]["attestation"], "direct");
                    let options = serde_json::from_value(started["options"].clone()).unwrap();
                    let credential = token
                        .do_registration(url::Url::parse(&browser.base).unwrap(), options)
                        .unwrap();
                    browser
                        .post_json(
                            "/enroll/finish",
                            &csrf,
                            json!({ "r": r, "ceremony": started["ceremony"], "credential": credential }),
                        )
                        .await
                }
            }
        }
    };

    // A passkey without attestation is refused, with the reason.
    let (s, v) = attempt("plain@example.com", None).await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v.to_string().contains("approved authenticator models"),
        "{v}"
    );
    // The trusted vendor's key is admitted, and its model recorded.
    let (s, v) = attempt("attested@example.com", Some(token)).await;
    assert_eq!(s, 200, "{v}");
    let hr = app.hr_token().await;
    let (_, keys) = app
        .api(
            Method::GET,
            "/users/attested@example.com/authentication/passkeyMethods",
            &hr,
            None,
        )
        .await;
    assert_eq!(keys["value"][0]["aaGuid"], AAGUID.to_string(), "{keys}");
    // Trusting another vendor instead: the same kind of key is refused.
    let (s, _) = app
        .api(
            Method::PATCH,
            FIDO2_POLICY,
            &admin,
            Some(trust(b64(&other_ca))),
        )
        .await;
    assert_eq!(s, 204);
    let (token, _) = SoftToken::new(true).unwrap();
    let (s, v) = attempt("untrusted@example.com", Some(token)).await;
    assert_eq!(s, 400, "{v}");
}
