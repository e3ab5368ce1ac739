//! Scopes `address` and `phone` (OIDC Core §5.4): the user's Graph-named
//! contact fields, set through the admin API, come back as `address`,
//! `phone_number` and `phone_number_verified`, at `/userinfo` by scope and
//! in the ID token through the `claims` parameter, only when the user has
//! them. The relying party is the `openidconnect` crate.

use openidconnect::core::{CoreAuthenticationFlow, CoreUserInfoClaims};
use openidconnect::{
    AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, Scope,
    TokenResponse,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::helpers::*;
use crate::oidc_flow::{Rp, code_from, provision, signed_in_browser};

/// A code through SSO for `scopes` (plus `openid`) and an optional `claims`
/// parameter, redeemed and verified by the RP: (ID token claims as JSON,
/// userinfo).
async fn sign_in(
    rp: &Rp,
    browser: &Browser,
    scopes: &[&str],
    claims: Option<&str>,
) -> (Value, CoreUserInfoClaims) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = rp
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for s in scopes {
        req = req.add_scope(Scope::new((*s).into()));
    }
    if let Some(c) = claims {
        req = req.add_extra_param("claims", c);
    }
    let (url, _, nonce) = req.url();
    let (code, _, _) = code_from(&browser.get(url.as_str()).await);
    let tokens = rp
        .client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&rp.http)
        .await
        .expect("token exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let verified = id_token
        .claims(&rp.client.id_token_verifier(), &nonce)
        .expect("ID token verifies");
    let id = serde_json::to_value(verified).unwrap();
    let info: CoreUserInfoClaims = rp
        .client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&rp.http)
        .await
        .unwrap();
    (id, info)
}

async fn address_and_phone(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let upn = "contact@example.com";
    let (user_id, passcode) = provision(&app, upn, json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let browser = signed_in_browser(&app, &rp, upn, &passcode).await;
    let both = ["address", "phone"];

    // No contact fields yet: the scopes are granted, the claims are absent.
    let (id, info) = sign_in(&rp, &browser, &both, None).await;
    assert!(info.phone_number().is_none());
    assert!(info.phone_number_verified().is_none());
    assert!(info.address().is_none());
    assert!(id.get("address").is_none());

    let token = app.hr_token().await;
    let (status, body) = app
        .api(
            Method::PATCH,
            &format!("/users/{user_id}"),
            &token,
            Some(json!({
                "mobilePhone": "+1 425 555 0100",
                "streetAddress": "1 Microsoft Way",
                "city": "Redmond",
                "state": "WA",
                "postalCode": "98052",
                "country": "US",
            })),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, user) = app
        .api(Method::GET, &format!("/users/{user_id}"), &token, None)
        .await;
    assert_eq!(user["mobilePhone"], "+1 425 555 0100");
    assert_eq!(user["postalCode"], "98052");

    // By scope, at /userinfo; scopes alone put nothing in the ID token.
    let (id, info) = sign_in(&rp, &browser, &both, None).await;
    assert_eq!(info.phone_number().unwrap().as_str(), "+1 425 555 0100");
    assert_eq!(info.phone_number_verified(), Some(false));
    let address = info.address().unwrap();
    assert_eq!(
        address.formatted.as_ref().unwrap().as_str(),
        "1 Microsoft Way\nRedmond, WA 98052\nUS"
    );
    assert_eq!(
        address.street_address.as_ref().unwrap().as_str(),
        "1 Microsoft Way"
    );
    assert_eq!(address.locality.as_ref().unwrap().as_str(), "Redmond");
    assert_eq!(address.region.as_ref().unwrap().as_str(), "WA");
    assert_eq!(address.postal_code.as_ref().unwrap().as_str(), "98052");
    assert_eq!(address.country.as_ref().unwrap().as_str(), "US");
    assert!(id.get("address").is_none() && id.get("phone_number").is_none());

    // Only the scopes asked for.
    let (_, info) = sign_in(&rp, &browser, &["phone"], None).await;
    assert!(info.phone_number().is_some());
    assert!(info.address().is_none());

    // By name, into the ID token (verified by the RP) without the scopes.
    let claims = r#"{"id_token":{"address":null,"phone_number":{"essential":true}}}"#;
    let (id, info) = sign_in(&rp, &browser, &[], Some(claims)).await;
    assert_eq!(id["phone_number"], "+1 425 555 0100");
    assert!(id.get("phone_number_verified").is_none(), "not asked for");
    assert_eq!(id["address"]["locality"], "Redmond");
    assert_eq!(
        id["address"]["formatted"],
        "1 Microsoft Way\nRedmond, WA 98052\nUS"
    );
    assert!(info.phone_number().is_none() && info.address().is_none());

    // null clears: no phone, and an address of what is left.
    let (status, body) = app
        .api(
            Method::PATCH,
            &format!("/users/{user_id}"),
            &token,
            Some(json!({"mobilePhone": null, "streetAddress": null, "state": null})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, info) = sign_in(&rp, &browser, &both, None).await;
    assert!(info.phone_number().is_none());
    assert!(info.phone_number_verified().is_none());
    let address = info.address().unwrap();
    assert!(address.street_address.is_none() && address.region.is_none());
    assert_eq!(
        address.formatted.as_ref().unwrap().as_str(),
        "Redmond, 98052\nUS"
    );

    // A malformed phone number is refused, naming the field.
    let (status, body) = app
        .api(
            Method::PATCH,
            &format!("/users/{user_id}"),
            &token,
            Some(json!({"mobilePhone": "call me"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("mobilePhone"),
        "{body}"
    );
}

#[tokio::test]
async fn address_and_phone_claims_embedded() {
    address_and_phone(Backend::Embedded).await;
}

#[tokio::test]
async fn address_and_phone_claims_redis() {
    address_and_phone(Backend::Redis).await;
}

#[tokio::test]
async fn create_accepts_contact_fields() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let token = app.hr_token().await;
    let (status, user) = app
        .api(
            Method::POST,
            "/users",
            &token,
            Some(json!({
                "userPrincipalName": "new@example.com",
                "displayName": "New",
                "mobilePhone": "555 0100",
                "country": "NO",
            })),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["mobilePhone"], "555 0100");
    assert_eq!(user["country"], "NO");
    assert_eq!(user["city"], Value::Null);
}
