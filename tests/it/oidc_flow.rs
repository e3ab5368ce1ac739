//! The sign-in flow end to end with a real OIDC client library
//! (`openidconnect`) as the relying party and a software authenticator.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::Method;
use serde_json::{Value, json};
use time::Duration;

use crate::browser::{Browser, Response};
use crate::helpers::*;

/// Creates a user and a pass through the admin API; returns (user id, passcode).
pub async fn provision(app: &TestApp, upn: &str, tap: Value) -> (String, String) {
    let token = app.hr_token().await;
    let (status, user) = app
        .api(
            Method::POST,
            "/users",
            &token,
            Some(json!({"userPrincipalName": upn, "displayName": "Test Person", "mail": upn})),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    let (status, created) = app
        .api(
            Method::POST,
            &format!("/users/{id}/authentication/temporaryAccessPassMethods"),
            &token,
            Some(tap),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    (
        id,
        created["temporaryAccessPass"].as_str().unwrap().to_owned(),
    )
}

/// The code and state from a redirect to the relying party.
pub fn code_from(res: &Response) -> (String, String, String) {
    let loc = res
        .location
        .as_deref()
        .unwrap_or_else(|| panic!("expected a redirect, got {} {}", res.status, res.body));
    assert!(loc.starts_with(RP_REDIRECT), "{loc}");
    let url = url::Url::parse(loc).unwrap();
    let get = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    (get("code"), get("state"), get("iss"))
}

pub struct Rp {
    pub client: CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    pub http: reqwest::Client,
}

impl Rp {
    pub async fn discover(app: &TestApp, id: &str) -> Rp {
        let http = reqwest::Client::builder()
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let metadata =
            CoreProviderMetadata::discover_async(IssuerUrl::new(app.base.clone()).unwrap(), &http)
                .await
                .unwrap();
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(id.into()),
            Some(ClientSecret::new(RP_SECRET.into())),
        )
        .set_redirect_uri(RedirectUrl::new(RP_REDIRECT.into()).unwrap());
        Rp { client, http }
    }

    pub fn authorize_url(
        &self,
        extra: &[(&str, &str)],
    ) -> (String, CsrfToken, Nonce, openidconnect::PkceCodeVerifier) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("offline_access".into()))
            .set_pkce_challenge(challenge);
        for (k, v) in extra {
            req = req.add_extra_param(*k, *v);
        }
        let (url, state, nonce) = req.url();
        (url.to_string(), state, nonce, verifier)
    }
}

/// Exchanges the code and validates the ID token; returns (amr, auth_time, response).
pub async fn redeem(
    rp: &Rp,
    code: &str,
    verifier: openidconnect::PkceCodeVerifier,
    nonce: &Nonce,
) -> (Vec<String>, i64, openidconnect::core::CoreTokenResponse) {
    let tokens = rp
        .client
        .exchange_code(AuthorizationCode::new(code.into()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&rp.http)
        .await
        .expect("token exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&rp.client.id_token_verifier(), nonce)
        .expect("ID token verifies (signature, iss, aud, nonce)");
    let amr = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    (amr, claims.auth_time().unwrap().timestamp(), tokens)
}

async fn full_flow(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let (user_id, passcode) = provision(&app, "newhire@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;

    // First day: user name and TAP, then a passkey, then back to the app.
    let mut browser = Browser::new(&app.base);
    let (url, state, nonce, verifier) = rp.authorize_url(&[("login_hint", "newhire@example.com")]);
    let page = browser.open(&url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("autocomplete=\"username webauthn\""));
    assert!(
        page.body.contains("value=\"newhire@example.com\""),
        "login_hint prefills the user name"
    );
    let sloppy = format!("{}-{}", passcode[..4].to_lowercase(), &passcode[4..]);
    let after_tap = browser
        .sign_in_with_tap(&page, "newhire@example.com", &sloppy)
        .await;
    assert_eq!(after_tap.status, 303, "{}", after_tap.body);
    let enroll_page = browser.follow(after_tap).await;
    assert_eq!(enroll_page.status, 200, "{}", enroll_page.body);
    assert!(enroll_page.body.contains("Set up your passkey"));
    assert!(
        !enroll_page.body.contains("/enroll/skip"),
        "no skipping without a passkey"
    );
    let back = browser.enroll(&enroll_page).await;
    let (code, returned_state, iss) = code_from(&back);
    assert_eq!(returned_state, *state.secret());
    assert_eq!(iss, app.base);
    let (amr, _, tokens) = redeem(&rp, &code, verifier, &nonce).await;
    assert_eq!(amr, ["otp", "mfa"]);
    assert!(
        tokens.refresh_token().is_some(),
        "offline_access gives a refresh token"
    );
    let info: CoreUserInfoClaims = rp
        .client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&rp.http)
        .await
        .unwrap();
    assert_eq!(info.subject().as_str(), user_id);
    assert_eq!(
        info.preferred_username().unwrap().as_str(),
        "newhire@example.com"
    );
    assert_eq!(info.email().unwrap().as_str(), "newhire@example.com");
    let creds = app.store.list_credentials(&user_id).await.unwrap();
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0].name, "Passkey 1");

    // The refresh token works.
    let refreshed = rp
        .client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .request_async(&rp.http)
        .await
        .expect("refresh");
    assert!(!refreshed.access_token().secret().is_empty());

    // Next day, another browser: the passkey alone.
    app.clock.advance(Duration::hours(20));
    let mut browser2 = Browser::new(&app.base);
    browser2.authenticator = browser.authenticator;
    let (url, _, nonce, verifier) = rp.authorize_url(&[]);
    let page = browser2.open(&url).await;
    let (status, done) = browser2
        .sign_in_with_passkey(&page, "newhire@example.com")
        .await;
    assert_eq!(status, 200, "{done}");
    let back = browser2.open(done["redirect"].as_str().unwrap()).await;
    let (code, _, _) = code_from(&back);
    let (amr, _, _) = redeem(&rp, &code, verifier, &nonce).await;
    assert_eq!(amr[1..], ["user", "pin", "mfa"]);
    assert!(amr[0] == "hwk" || amr[0] == "swk", "{amr:?}");
    let creds = app.store.list_credentials(&user_id).await.unwrap();
    assert!(creds[0].last_used.is_some(), "last use recorded");

    // Audit trail of the sign-in steps.
    let events = app
        .store
        .list_audit(&Default::default(), None, 200)
        .await
        .unwrap()
        .events;
    let kinds: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
    for k in [
        "tap.used",
        "passkey.registered",
        "passkey.used",
        "code.issued",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
}

#[tokio::test]
async fn tap_enroll_then_passkey_embedded() {
    full_flow(Backend::Embedded).await;
}

#[tokio::test]
async fn tap_enroll_then_passkey_redis() {
    full_flow(Backend::Redis).await;
}

/// The JSON structure of `v`: member names and value kinds, not values.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => Value::Null,
    }
}

/// Passkey sign-in options say nothing about who exists or has passkeys:
/// the ceremony is always usernameless, and a `username` is refused alike
/// for a user with passkeys and for a name nobody has.
#[tokio::test]
async fn passkey_options_reveal_nothing_about_names() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let (_, passcode) = provision(&app, "keyholder@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let holder = signed_in_browser(&app, &rp, "keyholder@example.com", &passcode).await;
    assert_eq!(
        holder.authenticator_credentials(),
        1,
        "the user has a passkey"
    );

    let stranger = Browser::new(&app.base);
    let page = stranger.open(&rp.authorize_url(&[]).0).await;
    let (csrf, r) = (page.meta_csrf(), page.field("r"));
    let options = |body: Value| stranger.post_json("/signin/passkey/options", &csrf, body);

    let known = options(json!({ "r": r, "username": "keyholder@example.com" })).await;
    let unknown = options(json!({ "r": r, "username": "nobody@example.com" })).await;
    assert_eq!(
        known, unknown,
        "a known and an unknown name get the same answer"
    );
    assert_eq!(known.0, 400, "{}", known.1);
    assert!(
        known.1["message"].as_str().unwrap().contains("username"),
        "{}",
        known.1
    );
    let (status, body) = options(json!({ "r": r, "user": "keyholder@example.com" })).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("`user`"),
        "{body}"
    );

    // Without a name: the usernameless ceremony, naming no credential, the
    // same shape for everyone (a signed-in passkey holder included).
    let (status, anonymous) = options(json!({ "r": r })).await;
    assert_eq!(status, 200, "{anonymous}");
    let allowed = &anonymous["options"]["publicKey"]["allowCredentials"];
    assert!(allowed.is_null() || allowed == &json!([]), "{anonymous}");
    app.clock.advance(Duration::seconds(1));
    let holder_page = holder
        .open(&rp.authorize_url(&[("prompt", "login")]).0)
        .await;
    let (status, from_holder) = holder
        .post_json(
            "/signin/passkey/options",
            &holder_page.meta_csrf(),
            json!({ "r": holder_page.field("r") }),
        )
        .await;
    assert_eq!(status, 200, "{from_holder}");
    assert_eq!(shape(&from_holder), shape(&anonymous));
    assert_ne!(
        from_holder["options"]["publicKey"]["challenge"],
        anonymous["options"]["publicKey"]["challenge"]
    );

    // The ceremony each sign-in page comes with (for the autofill) is of
    // the same shape, also on a page that names the user (`login_hint`),
    // and each page has its own.
    let hinted = stranger
        .open(
            &rp.authorize_url(&[("login_hint", "keyholder@example.com")])
                .0,
        )
        .await;
    assert!(
        hinted.body.contains("value=\"keyholder@example.com\""),
        "{}",
        hinted.body
    );
    for page in [&page, &hinted, &holder_page] {
        assert_eq!(
            shape(&page_ceremony(page)),
            shape(&anonymous),
            "{}",
            page.body
        );
    }
    assert_ne!(page.data("ceremony"), hinted.data("ceremony"));
    // The bare page (no authorization request) starts no ceremony: its
    // script asks when it needs one.
    let bare = stranger.get("/signin").await;
    assert_eq!(bare.status, 200, "{}", bare.body);
    assert!(!bare.body.contains("data-ceremony"), "{}", bare.body);
    assert_ne!(
        page_ceremony(&page)["options"]["publicKey"]["challenge"],
        page_ceremony(&hinted)["options"]["publicKey"]["challenge"]
    );
}

/// The passkey ceremony a sign-in page came with, as the options endpoint
/// gives one.
fn page_ceremony(page: &Response) -> Value {
    let options: Value = serde_json::from_str(&page.data("options")).unwrap();
    json!({ "options": options, "ceremony": page.data("ceremony") })
}

/// A GET to `/authorize` is answered with the sign-in page itself (one
/// browser round trip fewer): the page `/signin?r=` shows for the request
/// it stored, with its own passkey ceremony, its CSRF cookie and the
/// headers of every page. A POST (an application's form, cross-site, so
/// without our cookies) is sent on to that page with 303.
async fn authorize_answers_with_the_sign_in_page_on(backend: Backend) {
    use reqwest::header::{
        CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, REFERRER_POLICY, SET_COOKIE,
    };
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let (url, _, _, _) = rp.authorize_url(&[("login_hint", "someone@example.com")]);
    // Without cookies and without following redirects.
    let plain = &app.http;
    let res = plain.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.headers());
    let h = res.headers();
    assert_eq!(h[CACHE_CONTROL], "no-store");
    assert_eq!(h[REFERRER_POLICY], "no-referrer");
    assert!(
        h[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"),
        "{h:?}"
    );
    let csp = h[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        h.get_all(SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap().contains("csrf=")),
        "{h:?}"
    );
    let page = Browser::wrap(res).await;
    assert!(
        page.body.contains("value=\"someone@example.com\""),
        "{}",
        page.body
    );
    let r = page.field("r");
    assert!(page.body.contains(&format!("action=\"/signin?r={r}\"")));
    // The request is stored: the sign-in page of `r` is the same page.
    let stranger = Browser::new(&app.base);
    let again = stranger.get(&format!("/signin?r={r}")).await;
    assert_eq!(again.status, 200, "{}", again.body);
    let muted = |p: &Response| {
        let at = p.body.find("<p class=\"muted\">").unwrap();
        p.body[at..at + p.body[at..].find("</p>").unwrap()].to_owned()
    };
    assert_eq!(muted(&page), muted(&again));
    assert!(again.body.contains("value=\"someone@example.com\""));
    assert_eq!(shape(&page_ceremony(&page)), shape(&page_ceremony(&again)));
    assert_ne!(page.data("ceremony"), again.data("ceremony"));

    // POSTed: post/redirect/get, to the page of a request of its own.
    let query = url::Url::parse(&url).unwrap().query().unwrap().to_owned();
    let posted = plain
        .post(app.url("/authorize"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(query)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 303);
    assert!(posted.headers().get(SET_COOKIE).is_none(), "{posted:?}");
    let to = posted.headers()[LOCATION].to_str().unwrap().to_owned();
    let posted_r = to.strip_prefix("/signin?r=").unwrap();
    assert_ne!(posted_r, r);
    let shown = stranger.get(&to).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(shown.field("r"), posted_r);
    assert!(shown.body.contains("value=\"someone@example.com\""));
    assert_eq!(muted(&shown), muted(&page));
}

#[tokio::test]
async fn authorize_answers_with_the_sign_in_page_embedded() {
    authorize_answers_with_the_sign_in_page_on(Backend::Embedded).await;
}

#[tokio::test]
async fn authorize_answers_with_the_sign_in_page_redis() {
    authorize_answers_with_the_sign_in_page_on(Backend::Redis).await;
}

/// Signs in with a TAP and enrolls; returns the browser (with its session).
pub async fn signed_in_browser(app: &TestApp, rp: &Rp, upn: &str, passcode: &str) -> Browser {
    let mut browser = Browser::new(&app.base);
    let (url, _, nonce, verifier) = rp.authorize_url(&[]);
    let page = browser.open(&url).await;
    let after = browser.sign_in_with_tap(&page, upn, passcode).await;
    let enroll_page = browser.follow(after).await;
    let back = browser.enroll(&enroll_page).await;
    let (code, _, _) = code_from(&back);
    redeem(rp, &code, verifier, &nonce).await;
    browser
}

async fn sso_prompt_and_max_age_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let (_, passcode) = provision(&app, "sso@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let browser = signed_in_browser(&app, &rp, "sso@example.com", &passcode).await;

    // A second application: a code at once, no pages.
    let rp2 = Rp::discover(&app, RP2_ID).await;
    let (url, _, nonce, verifier) = rp2.authorize_url(&[]);
    let res = browser.get(&url).await;
    let (code, _, _) = code_from(&res);
    let (_, first_auth_time, _) = redeem(&rp2, &code, verifier, &nonce).await;

    // prompt=none works with the session, and fails without one.
    let (url, _, _, _) = rp.authorize_url(&[("prompt", "none")]);
    let res = browser.get(&url).await;
    assert!(!code_from(&res).0.is_empty());
    let stranger = Browser::new(&app.base);
    let res = stranger.get(&url).await;
    let loc = res.location.unwrap();
    assert!(
        loc.starts_with(RP_REDIRECT) && loc.contains("error=login_required"),
        "{loc}"
    );
    assert!(loc.contains("state=") && loc.contains("iss="), "{loc}");

    // max_age and prompt=login demand a fresh sign-in.
    app.clock.advance(Duration::seconds(30));
    for extra in [("max_age", "10"), ("prompt", "login")] {
        let (url, _, _, _) = rp.authorize_url(&[extra]);
        let page = browser.open(&url).await;
        assert_eq!(page.status, 200, "{extra:?} shows the sign-in page");
        assert!(page.body.contains("Sign in"));
    }
    let (url, _, nonce, verifier) = rp.authorize_url(&[("max_age", "10")]);
    let mut browser = browser;
    let page = browser.open(&url).await;
    let (status, done) = browser.sign_in_with_passkey(&page, "sso@example.com").await;
    assert_eq!(status, 200);
    let back = browser.open(done["redirect"].as_str().unwrap()).await;
    let (code, _, _) = code_from(&back);
    let (_, auth_time, _) = redeem(&rp, &code, verifier, &nonce).await;
    assert!(
        auth_time > first_auth_time,
        "re-authentication changes auth_time"
    );
}

async fn tap_failures_are_explained_and_lock_out_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let (_, passcode) = provision(&app, "victim@example.com", json!({})).await;
    let browser = Browser::new(&app.base);
    let (url, _, _, _) = rp.authorize_url(&[]);
    let page = browser.open(&url).await;

    // Wrong pass, and an unknown user: the same answer.
    let wrong = browser
        .sign_in_with_tap(&page, "victim@example.com", "AAAA2222")
        .await;
    let unknown = browser
        .sign_in_with_tap(&page, "nobody@example.com", "AAAA2222")
        .await;
    assert_eq!((wrong.status, unknown.status), (401, 401));
    let msg = |r: &Response| {
        r.body
            .split("role=\"alert\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(msg(&wrong), msg(&unknown));

    // Ten failures lock the name; the right pass is then refused too.
    for _ in 0..9 {
        browser
            .sign_in_with_tap(&page, "victim@example.com", "AAAA2222")
            .await;
    }
    let locked = browser
        .sign_in_with_tap(&page, "victim@example.com", &passcode)
        .await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(
        locked.body.contains("Try again in 5 minutes."),
        "{}",
        locked.body
    );
    // The lock ends.
    app.clock.advance(Duration::minutes(6));
    let ok = browser
        .sign_in_with_tap(&page, "victim@example.com", &passcode)
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let events = app
        .store
        .list_audit(&Default::default(), None, 500)
        .await
        .unwrap()
        .events;
    assert!(events.iter().any(|e| e.event_type.as_str() == "tap.locked"));
    assert!(events.iter().any(|e| e.event_type.as_str() == "tap.failed"));
}

async fn tap_window_and_one_time_use_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let start = onramp::clock::Clock::now(&app.clock) + Duration::hours(1);
    let start_text = start
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (_, passcode) = provision(
        &app,
        "later@example.com",
        json!({"startDateTime": start_text, "isUsableOnce": true}),
    )
    .await;
    let (url, _, _, _) = rp.authorize_url(&[]);

    let browser = Browser::new(&app.base);
    let page = browser.open(&url).await;
    let early = browser
        .sign_in_with_tap(&page, "later@example.com", &passcode)
        .await;
    assert_eq!(early.status, 401);
    assert!(early.body.contains("not valid yet"), "{}", early.body);

    // Two browsers race one one-time pass: exactly one gets in.
    app.clock.advance(Duration::hours(1));
    let (a, b) = (Browser::new(&app.base), Browser::new(&app.base));
    let (pa, pb) = (a.open(&url).await, b.open(&url).await);
    let (ra, rb) = tokio::join!(
        a.sign_in_with_tap(&pa, "later@example.com", &passcode),
        b.sign_in_with_tap(&pb, "later@example.com", &passcode)
    );
    let mut statuses = [ra.status, rb.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [303, 401]);
    let loser = if ra.status == 401 { &ra } else { &rb };
    assert!(loser.body.contains("already been used"), "{}", loser.body);

    // The enrollment window closes after 10 minutes.
    let winner = if ra.status == 303 { &a } else { &b };
    let r = url::Url::parse(&format!(
        "{}{}",
        app.base,
        if ra.status == 303 {
            ra.location.clone().unwrap()
        } else {
            rb.location.clone().unwrap()
        }
    ))
    .unwrap()
    .query_pairs()
    .find(|(k, _)| k == "r")
    .map(|(_, v)| v.into_owned())
    .unwrap();
    app.clock.advance(Duration::minutes(11));
    let late = winner.get(&format!("/enroll?r={r}")).await;
    assert_eq!(late.status, 403, "{}", late.body);
    assert!(late.body.contains("time to set up a passkey is over"));

    // And an expired pass says so.
    let (_, passcode) = provision(&app, "expired@example.com", json!({})).await;
    app.clock.advance(Duration::minutes(61));
    let page = browser.open(&url).await;
    let res = browser
        .sign_in_with_tap(&page, "expired@example.com", &passcode)
        .await;
    assert_eq!(res.status, 401);
    assert!(res.body.contains("expired"), "{}", res.body);
}

async fn authorize_and_token_errors_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let browser = Browser::new(&app.base);

    // Unknown client or redirect URI: an error page, never a redirect.
    for query in [
        format!("client_id=nope&redirect_uri={RP_REDIRECT}&response_type=code&scope=openid"),
        format!(
            "client_id={RP_ID}&redirect_uri=https://evil.example/cb&response_type=code&scope=openid"
        ),
    ] {
        let res = browser.get(&format!("/authorize?{query}")).await;
        assert_eq!(res.status, 400, "{query}");
        assert!(res.location.is_none());
        assert!(res.body.contains("not valid"));
    }
    // Other errors: back to the RP with error, state and iss.
    let cases = [
        ("scope=openid&state=s1", "invalid_request"),
        (
            "response_type=token&scope=openid&state=s1",
            "unsupported_response_type",
        ),
        ("response_type=code&scope=profile&state=s1", "invalid_scope"),
        (
            "response_type=code&scope=openid&request=x&state=s1",
            "request_not_supported",
        ),
        (
            "response_type=code&scope=openid&request_uri=x&state=s1",
            "request_uri_not_supported",
        ),
        (
            "response_type=code&scope=openid&code_challenge=abc&code_challenge_method=plain&state=s1",
            "invalid_request",
        ),
    ];
    for (q, error) in cases {
        let res = browser
            .get(&format!(
                "/authorize?client_id={RP_ID}&redirect_uri={RP_REDIRECT}&{q}"
            ))
            .await;
        let loc = res.location.unwrap_or_default();
        assert!(
            loc.starts_with(RP_REDIRECT) && loc.contains(&format!("error={error}")),
            "{q}: {loc}"
        );
        assert!(loc.contains("state=s1") && loc.contains("iss="), "{loc}");
    }
    // A public client must use PKCE.
    let res = browser.get("/authorize?client_id=spa&redirect_uri=http://localhost:9/cb&response_type=code&scope=openid").await;
    assert!(res.location.unwrap().contains("error=invalid_request"));

    // Code reuse, wrong verifier, wrong redirect URI.
    let (_, passcode) = provision(&app, "codes@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let browser = signed_in_browser(&app, &rp, "codes@example.com", &passcode).await;
    let token_call = |code: String, verifier: String, redirect: &'static str| {
        let http = app.http.clone();
        let url = app.url("/token");
        async move {
            let res = http
                .post(url)
                .basic_auth(RP_ID, Some(RP_SECRET))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("code_verifier", &verifier),
                    ("redirect_uri", redirect),
                ])
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (url, _, _, verifier) = rp.authorize_url(&[]);
    let (code, _, _) = code_from(&browser.get(&url).await);
    let (status, body) = token_call(code.clone(), "x".repeat(43), RP_REDIRECT).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "wrong verifier"
    );
    let (status, _) = token_call(code, verifier.secret().clone(), RP_REDIRECT).await;
    assert_eq!(
        status, 400,
        "a code is single use, even after a failed attempt"
    );

    let (url, _, _, verifier) = rp.authorize_url(&[]);
    let (code, _, _) = code_from(&browser.get(&url).await);
    let (status, body) =
        token_call(code, verifier.secret().clone(), "http://localhost:9/other").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "wrong redirect_uri"
    );

    let (url, _, _, verifier) = rp.authorize_url(&[]);
    let (code, _, _) = code_from(&browser.get(&url).await);
    let (status, first) = token_call(code.clone(), verifier.secret().clone(), RP_REDIRECT).await;
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().unwrap().to_owned();
    let userinfo = |token: String| {
        let http = app.http.clone();
        let url = app.url("/userinfo");
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(userinfo(access.clone()).await, 200);
    let (status, body) = token_call(code, verifier.secret().clone(), RP_REDIRECT).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "reused code"
    );
    assert_eq!(
        userinfo(access).await,
        401,
        "tokens from a reused code are revoked"
    );
    let events = app
        .store
        .list_audit(&Default::default(), None, 500)
        .await
        .unwrap()
        .events;
    assert!(
        events
            .iter()
            .any(|e| e.event_type.as_str() == "code.reused")
    );

    // Codes live 60 seconds.
    let (url, _, _, verifier) = rp.authorize_url(&[]);
    let (code, _, _) = code_from(&browser.get(&url).await);
    app.clock.advance(Duration::seconds(61));
    let (status, body) = token_call(code, verifier.secret().clone(), RP_REDIRECT).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "expired code"
    );
}

#[tokio::test]
async fn lost_phone_gets_a_new_passkey_or_may_skip() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let (user_id, passcode) = provision(&app, "lost@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    signed_in_browser(&app, &rp, "lost@example.com", &passcode).await;

    // The phone is lost: a new pass, a new browser and authenticator.
    app.clock.advance(Duration::minutes(1));
    let token = app.hr_token().await;
    let (status, created) = app
        .api(
            Method::POST,
            &format!("/users/{user_id}/authentication/temporaryAccessPassMethods"),
            &token,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 201);
    let passcode = created["temporaryAccessPass"].as_str().unwrap().to_owned();
    let mut browser = Browser::new(&app.base);
    let (url, _, nonce, verifier) = rp.authorize_url(&[]);
    let page = browser.open(&url).await;
    let after = browser
        .sign_in_with_tap(&page, "lost@example.com", &passcode)
        .await;
    let enroll_page = browser.follow(after).await;
    assert!(
        enroll_page.body.contains("Set up your passkey"),
        "{}",
        enroll_page.body
    );
    assert!(
        enroll_page.body.contains("/enroll/skip"),
        "someone with a passkey may skip"
    );
    let back = browser.enroll(&enroll_page).await;
    let (code, _, _) = code_from(&back);
    let (amr, _, _) = redeem(&rp, &code, verifier, &nonce).await;
    assert_eq!(amr, ["otp", "mfa"]);
    let names: Vec<_> = app
        .store
        .list_credentials(&user_id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["Passkey 1", "Passkey 2"]);

    // Skipping goes straight back to the application.
    let browser = Browser::new(&app.base);
    let (url, _, _, _) = rp.authorize_url(&[]);
    let page = browser.open(&url).await;
    let after = browser
        .sign_in_with_tap(&page, "lost@example.com", &passcode)
        .await;
    let enroll_page = browser.follow(after).await;
    let skip = browser
        .post_form(
            "/enroll/skip",
            &[
                ("csrf", &enroll_page.field("csrf")),
                ("r", &enroll_page.field("r")),
            ],
        )
        .await;
    let back = browser.follow(skip).await;
    assert!(!code_from(&back).0.is_empty());
}

/// A code outlives the TAP session it came from by at most its own 60 s:
/// redeemed after the session's end, it is refused.
async fn code_after_its_session_ended_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let (_, passcode) =
        provision(&app, "ending@example.com", json!({"lifetimeInMinutes": 60})).await;
    let rp = Rp::discover(&app, RP_ID).await;
    let browser = signed_in_browser(&app, &rp, "ending@example.com", &passcode).await;

    // 20 s before the pass (and so the session) ends: a code at once.
    app.clock.advance(Duration::seconds(59 * 60 + 40));
    let (url, _, _, verifier) = rp.authorize_url(&[]);
    let (code, _, _) = code_from(&browser.get(&url).await);
    assert!(!code.is_empty(), "the session still answers");

    app.clock.advance(Duration::seconds(30));
    let res = app
        .rp_token(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", RP_REDIRECT),
            ("code_verifier", verifier.secret().as_str()),
        ])
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("session has ended"),
        "{body}"
    );
}

#[tokio::test]
async fn code_after_its_session_ended_embedded() {
    code_after_its_session_ended_on(Backend::Embedded).await;
}

#[tokio::test]
async fn code_after_its_session_ended_redis() {
    code_after_its_session_ended_on(Backend::Redis).await;
}

#[tokio::test]
async fn sso_prompt_and_max_age_embedded() {
    sso_prompt_and_max_age_on(Backend::Embedded).await;
}

#[tokio::test]
async fn sso_prompt_and_max_age_redis() {
    sso_prompt_and_max_age_on(Backend::Redis).await;
}

#[tokio::test]
async fn tap_failures_are_explained_and_lock_out_embedded() {
    tap_failures_are_explained_and_lock_out_on(Backend::Embedded).await;
}

#[tokio::test]
async fn tap_failures_are_explained_and_lock_out_redis() {
    tap_failures_are_explained_and_lock_out_on(Backend::Redis).await;
}

#[tokio::test]
async fn tap_window_and_one_time_use_embedded() {
    tap_window_and_one_time_use_on(Backend::Embedded).await;
}

#[tokio::test]
async fn tap_window_and_one_time_use_redis() {
    tap_window_and_one_time_use_on(Backend::Redis).await;
}

#[tokio::test]
async fn authorize_and_token_errors_embedded() {
    authorize_and_token_errors_on(Backend::Embedded).await;
}

#[tokio::test]
async fn authorize_and_token_errors_redis() {
    authorize_and_token_errors_on(Backend::Redis).await;
}
