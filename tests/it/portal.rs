//! The admin portal and delegated admin tokens: the role rules through the
//! API with real tokens of signed-in admins, and the portal's pages.

use reqwest::Method;
use serde_json::{Value, json};

use crate::browser::{Browser, Response};
use crate::helpers::*;
use onramp::domain::permission::Permission;

const PORTAL: &str = "onramp-admin-portal";

/// Signs `upn` in through the portal's login (TAP, then passkey enrollment);
/// returns the browser and the page it lands on.
async fn portal_sign_in(app: &TestApp, upn: &str, passcode: &str) -> (Browser, Response) {
    let mut browser = Browser::new(&app.base);
    let page = browser.open("/admin/login").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let after = browser.sign_in_with_tap(&page, upn, passcode).await;
    let enroll_page = browser.follow(after).await;
    let landed = browser.enroll(&enroll_page).await;
    (browser, landed)
}

pub(crate) async fn admin_browser(app: &TestApp) -> Browser {
    let passcode = app.bootstrap.as_ref().unwrap().tap.passcode.clone();
    let (browser, landed) = portal_sign_in(app, "admin@localhost", &passcode).await;
    assert_eq!(landed.status, 200, "{}", landed.body);
    assert!(landed.body.contains("<h1>Users</h1>"), "{}", landed.body);
    browser
}

/// A delegated access token for the browser's signed-in user, the way an
/// admin's script gets one: code flow with PKCE as the portal client.
pub(crate) async fn delegated_token(app: &TestApp, browser: &Browser) -> Value {
    let verifier = "a-long-enough-code-verifier-for-pkce-0123456789-abcdef";
    let challenge = onramp::crypto::random::b64url(&onramp::crypto::sha256(verifier.as_bytes()));
    let redirect = format!("{}/admin/callback", app.base);
    let scope = std::iter::once("openid")
        .chain(Permission::ALL.iter().map(|p| p.as_str()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", PORTAL)
        .append_pair("redirect_uri", &redirect)
        .append_pair("scope", &scope)
        .append_pair("state", "s")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let res = browser.get(url.as_str()).await;
    let loc = res.location.expect("a redirect with the code");
    assert!(loc.starts_with(&redirect), "{loc}");
    let code = url::Url::parse(&loc)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let res = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
            ("client_id", PORTAL),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn create_user(app: &TestApp, token: &str, upn: &str) -> String {
    let (s, user) = app
        .api(
            Method::POST,
            "/users",
            token,
            Some(json!({"userPrincipalName": upn, "displayName": upn})),
        )
        .await;
    assert_eq!(s, 201, "{user}");
    user["id"].as_str().unwrap().to_owned()
}

async fn issue_tap(app: &TestApp, token: &str, user: &str) -> (u16, Value) {
    app.api(
        Method::POST,
        &format!("/users/{user}/authentication/temporaryAccessPassMethods"),
        token,
        Some(json!({})),
    )
    .await
}

#[tokio::test]
async fn role_matrix_through_the_api_with_delegated_tokens() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let admin = admin_browser(&app).await;
    let global = delegated_token(&app, &admin).await;
    let global_token = global["access_token"].as_str().unwrap().to_owned();
    let scope = global["scope"].as_str().unwrap();
    for p in Permission::ALL {
        assert!(scope.contains(p.as_str()), "{scope}");
    }

    // One signed-in admin per role, set up by the Global Administrator.
    let roles = [
        ("auth", "Authentication Administrator"),
        ("priv", "Privileged Authentication Administrator"),
        ("policy", "Authentication Policy Administrator"),
    ];
    let mut tokens = vec![("global", global_token.clone(), String::new())];
    for (name, role) in roles {
        let upn = format!("{name}@example.com");
        let id = create_user(&app, &global_token, &upn).await;
        let (s, user) = app
            .api(
                Method::PUT,
                &format!("/users/{id}/directoryRoles"),
                &global_token,
                Some(json!({"roles": [role]})),
            )
            .await;
        assert_eq!(s, 200, "{user}");
        assert_eq!(user["directoryRoles"], json!([role]));
        let (s, tap) = issue_tap(&app, &global_token, &id).await;
        assert_eq!(s, 201, "{tap}");
        let (browser, _) =
            portal_sign_in(&app, &upn, tap["temporaryAccessPass"].as_str().unwrap()).await;
        let t = delegated_token(&app, &browser).await;
        tokens.push((name, t["access_token"].as_str().unwrap().to_owned(), id));
    }
    let plain = create_user(&app, &global_token, "plain@example.com").await;
    let auth_admin_id = tokens[1].2.clone();

    // The policy admin's token only carries what the role gives.
    let policy_token = &tokens[3].1;
    let (s, _) = app.api(Method::GET, "/users", policy_token, None).await;
    assert_eq!(s, 403);

    type Probe = (
        &'static str,
        Method,
        String,
        Option<Value>,
        &'static [&'static str],
    );
    let taps = |u: &str| format!("/users/{u}/authentication/temporaryAccessPassMethods");
    let probes: Vec<Probe> = vec![
        (
            "TAP for an ordinary user",
            Method::POST,
            taps(&plain),
            Some(json!({})),
            &["auth", "priv", "global"],
        ),
        (
            "TAP for an admin",
            Method::POST,
            taps(&auth_admin_id),
            Some(json!({})),
            &["priv", "global"],
        ),
        (
            "TAP policy change",
            Method::PATCH,
            "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/temporaryAccessPass".into(),
            Some(json!({"defaultLength": 10})),
            &["policy", "global"],
        ),
        (
            "audit log",
            Method::GET,
            "/auditLogs".into(),
            None,
            &["priv", "policy", "global"],
        ),
        (
            "client registration",
            Method::POST,
            "/clients".into(),
            Some(json!({"displayName": "App", "redirectUris": ["https://app.example.com/cb"]})),
            &["global"],
        ),
        (
            "role assignment",
            Method::PUT,
            format!("/users/{plain}/directoryRoles"),
            Some(json!({"roles": []})),
            &["global"],
        ),
    ];
    for (what, method, path, body, allowed) in probes {
        for (name, token, _) in &tokens {
            let (s, v) = app.api(method.clone(), &path, token, body.clone()).await;
            let ok = (200..300).contains(&s);
            assert_eq!(ok, allowed.contains(name), "{name} on {what}: {s} {v}");
            if !ok {
                assert_eq!(s, 403, "{name} on {what}: {v}");
            }
        }
    }

    // Nobody manages their own pass or roles through the admin side.
    let admin_id = app.bootstrap.as_ref().unwrap().user.id.clone();
    let (s, v) = issue_tap(&app, &global_token, &admin_id).await;
    assert_eq!(s, 403, "{v}");
    let (s, _) = app
        .api(
            Method::PUT,
            &format!("/users/{admin_id}/directoryRoles"),
            &global_token,
            Some(json!({"roles": []})),
        )
        .await;
    assert_eq!(s, 403);

    // Applications never assign roles, whatever their permissions.
    let hr = app.hr_token().await;
    let (s, _) = app
        .api(
            Method::PUT,
            &format!("/users/{plain}/directoryRoles"),
            &hr,
            Some(json!({"roles": ["Global Administrator"]})),
        )
        .await;
    assert_eq!(s, 403);

    // A role removed takes effect at once, for tokens already issued.
    let auth_token = &tokens[1].1;
    let (s, _) = issue_tap(&app, auth_token, &plain).await;
    assert_eq!(s, 201);
    let (s, _) = app
        .api(
            Method::PUT,
            &format!("/users/{auth_admin_id}/directoryRoles"),
            &global_token,
            Some(json!({"roles": []})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = issue_tap(&app, auth_token, &plain).await;
    assert_eq!(s, 403);

    // Every role change is in the audit log.
    let (s, log) = app
        .api(
            Method::GET,
            "/auditLogs?eventType=user.roles_changed",
            &global_token,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(log["value"].as_array().unwrap().len(), 4, "{log}");
}

#[tokio::test]
async fn clients_registered_through_the_api_authenticate_at_the_token_endpoint() {
    let store = StoreHandle::new(Backend::Redis);
    let app = TestApp::spawn(&store).await;
    let admin = admin_browser(&app).await;
    let token = delegated_token(&app, &admin).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, v) = app
        .api(
            Method::POST,
            "/clients",
            &token,
            Some(json!({"displayName": "Payroll", "redirectUris": ["http://payroll.example.com/cb"]})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, created) = app
        .api(
            Method::POST,
            "/clients",
            &token,
            Some(json!({
                "displayName": "Payroll",
                "redirectUris": ["https://payroll.example.com/cb"],
                "grantTypes": ["authorization_code", "refresh_token"],
            })),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let id = created["clientId"].as_str().unwrap().to_owned();
    let secret = created["clientSecret"].as_str().unwrap().to_owned();
    // The secret is shown once: never in later reads.
    let (s, read) = app
        .api(Method::GET, &format!("/clients/{id}"), &token, None)
        .await;
    assert_eq!(s, 200);
    assert!(read.get("clientSecret").is_none(), "{read}");
    let (_, list) = app.api(Method::GET, "/clients", &token, None).await;
    assert!(
        list["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["clientId"] == id.as_str() && c["configured"] == false)
    );

    // The client authenticates: a bad code is invalid_grant, not invalid_client.
    let token_call = |secret: String| {
        let app = &app;
        let id = id.clone();
        async move {
            app.http
                .post(app.url("/token"))
                .basic_auth(&id, Some(&secret))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", "nope"),
                    ("redirect_uri", "https://payroll.example.com/cb"),
                ])
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(token_call(secret.clone()).await["error"], "invalid_grant");
    assert_eq!(token_call("wrong".into()).await["error"], "invalid_client");

    let (s, _) = app
        .api(Method::DELETE, &format!("/clients/{id}"), &token, None)
        .await;
    assert_eq!(s, 204);
    assert_eq!(token_call(secret).await["error"], "invalid_client");
    let (s, _) = app
        .api(Method::DELETE, &format!("/clients/{PORTAL}"), &token, None)
        .await;
    assert_eq!(s, 409);

    let (_, log) = app.api(Method::GET, "/auditLogs", &token, None).await;
    let kinds: Vec<&str> = log["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"client.registered"), "{kinds:?}");
    assert!(kinds.contains(&"client.deleted"), "{kinds:?}");
}

async fn portal_pages_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let admin = admin_browser(&app).await;

    // Create a user in the portal.
    let users = admin.get("/admin/users").await;
    let csrf = users.field("csrf");
    let created = admin
        .post_form(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("upn", "new.hire@example.com"),
                ("display_name", "New Hire"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let user_path = created.location.clone().unwrap();
    let page = admin.follow(created).await;
    assert!(page.body.contains("The user was created."), "{}", page.body);
    let user_path = user_path.split('?').next().unwrap().to_owned();

    // Without the CSRF token, nothing happens.
    let refused = admin
        .post_form(&format!("{user_path}/tap"), &[("lifetime", "60")])
        .await;
    assert_eq!(refused.status, 403);

    // Create a pass: the passcode is on the page once, with a QR code.
    let made = admin
        .post_form(
            &format!("{user_path}/tap"),
            &[("csrf", &csrf), ("lifetime", "60"), ("once", "yes")],
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let start = made.body.find("<code id=\"passcode\">").unwrap() + 20;
    let passcode = made.body[start..start + made.body[start..].find('<').unwrap()].to_owned();
    assert_eq!(passcode.len(), 8);
    assert!(made.body.contains("data:image/svg+xml;base64,"));
    assert!(
        made.body
            .contains("/signin?login_hint=new.hire%40example.com")
    );
    let detail = admin.get(&user_path).await;
    assert!(detail.body.contains("EnabledByPolicy"), "{}", detail.body);
    assert!(!detail.body.contains(&passcode));

    // The new hire signs in to an app with it and enrolls a passkey.
    let rp = crate::oidc_flow::Rp::discover(&app, RP_ID).await;
    crate::oidc_flow::signed_in_browser(&app, &rp, "new.hire@example.com", &passcode).await;
    let detail = admin.get(&user_path).await;
    assert!(detail.body.contains("OneTimeUsed"), "{}", detail.body);
    assert!(detail.body.contains("Passkey 1"), "{}", detail.body);

    // A non-admin has no business in the portal.
    let hr = app.hr_token().await;
    let user_id = user_path.rsplit('/').next().unwrap();
    let (_, tap) = issue_tap(&app, &hr, user_id).await;
    let (_, denied) = portal_sign_in(
        &app,
        "new.hire@example.com",
        tap["temporaryAccessPass"].as_str().unwrap(),
    )
    .await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert!(denied.body.contains("No administrator role"));

    // Deleting the passkey asks first, then works.
    let start = detail.body.find("action=delete-passkey&amp;item=").unwrap() + 31;
    let item = &detail.body[start..start + detail.body[start..].find('"').unwrap()];
    let confirm = admin
        .get(&format!(
            "{user_path}/confirm?action=delete-passkey&item={item}"
        ))
        .await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Delete this passkey?"));
    let gone = admin
        .post_form(
            &format!("{user_path}/delete-passkey"),
            &[("csrf", &csrf), ("item", item), ("confirm", "yes")],
        )
        .await;
    assert_eq!(gone.status, 303, "{}", gone.body);
    let page = admin.follow(gone).await;
    assert!(page.body.contains("The passkey was deleted."));
    // The second passkey (from the portal attempt above) stays.
    assert!(!page.body.contains("<td>Passkey 1</td>"), "{}", page.body);
    assert!(page.body.contains("<td>Passkey 2</td>"), "{}", page.body);

    // Policy: a bad bound is explained; a good change is saved.
    let policy = admin.get("/admin/policy").await;
    assert_eq!(policy.status, 200);
    let form = |min: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("enabled", "yes".to_owned()),
            ("min", min.to_owned()),
            ("default", "60".to_owned()),
            ("max", "480".to_owned()),
            ("length", "12".to_owned()),
            ("once", "yes".to_owned()),
            ("include", String::new()),
            ("exclude", "new.hire@example.com".to_owned()),
        ]
    };
    let bad = form("5");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = admin.post_form("/admin/policy/tap", &bad).await;
    assert_eq!(res.status, 400, "{}", res.body);
    assert!(
        res.body.contains("minimumLifetimeInMinutes"),
        "{}",
        res.body
    );
    let good = form("30");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = admin.post_form("/admin/policy/tap", &good).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let policy = admin.follow(res).await;
    assert!(policy.body.contains("policy was saved"));
    assert!(
        policy.body.contains("new.hire@example.com"),
        "exclusions shown by name"
    );
    let (_, v) = app
        .api(
            Method::GET,
            &format!("/users/{user_id}/authentication/temporaryAccessPassMethods"),
            &hr,
            None,
        )
        .await;
    assert_eq!(
        v["value"][0]["methodUsabilityReason"], "DisabledByPolicy",
        "{v}"
    );

    // Register a client: the secret is shown once.
    let clients = admin.get("/admin/clients").await;
    assert!(clients.body.contains(PORTAL));
    let made = admin
        .post_form(
            "/admin/clients",
            &[
                ("csrf", &csrf),
                ("name", "Payroll"),
                ("redirect_uris", "https://payroll.example.com/cb\n"),
                ("grant", "authorization_code"),
                ("grant", "refresh_token"),
                ("auth", "client_secret_basic"),
            ],
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert!(made.body.contains("id=\"client-secret\""));
    let clients = admin.get("/admin/clients").await;
    assert!(clients.body.contains("Payroll"));

    // Every step is in the audit log page; filters narrow it.
    let audit = admin.get("/admin/audit").await;
    assert_eq!(audit.status, 200);
    for kind in [
        "user.created",
        "tap.created",
        "tap.used",
        "passkey.registered",
        "passkey.deleted",
        "policy.changed",
        "client.registered",
    ] {
        assert!(audit.body.contains(kind), "{kind} missing");
    }
    let filtered = admin.get("/admin/audit?type=passkey.deleted").await;
    assert!(filtered.body.contains("<td>passkey.deleted</td>"));
    assert!(!filtered.body.contains("<td>tap.created</td>"));
    let bad = admin.get("/admin/audit?from=yesterday").await;
    assert_eq!(bad.status, 400);

    // Signing out revokes the portal's token.
    let out = admin.post_form("/admin/signout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    let again = admin.get("/admin/users").await;
    assert_eq!(again.status, 302);
    assert_eq!(again.location.as_deref(), Some("/admin/login"));
}

#[tokio::test]
async fn portal_pages_embedded() {
    portal_pages_on(Backend::Embedded).await;
}

#[tokio::test]
async fn portal_pages_redis() {
    portal_pages_on(Backend::Redis).await;
}

async fn set_roles(app: &TestApp, token: &str, user: &str, roles: Value) -> (u16, Value) {
    app.api(
        Method::PUT,
        &format!("/users/{user}/directoryRoles"),
        token,
        Some(json!({ "roles": roles })),
    )
    .await
}

/// "Sign out everywhere" and promotions end what was obtained before.
#[tokio::test]
async fn revocation_and_promotion_end_earlier_admin_access() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let admin = admin_browser(&app).await;
    let global = delegated_token(&app, &admin).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // A second Global Administrator signs in (API token and portal).
    let second = create_user(&app, &global, "second@example.com").await;
    let (s, _) = set_roles(&app, &global, &second, json!(["Global Administrator"])).await;
    assert_eq!(s, 200);
    let (_, tap) = issue_tap(&app, &global, &second).await;
    let (browser, landed) = portal_sign_in(
        &app,
        "second@example.com",
        tap["temporaryAccessPass"].as_str().unwrap(),
    )
    .await;
    assert_eq!(landed.status, 200, "{}", landed.body);
    let token = delegated_token(&app, &browser).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, _) = app.api(Method::GET, "/users", &token, None).await;
    assert_eq!(s, 200);

    // Signed out everywhere: the delegated token and the portal stop at once.
    app.clock.advance(time::Duration::seconds(5));
    let (s, _) = app
        .api(
            Method::POST,
            &format!("/users/{second}/revokeSignInSessions"),
            &global,
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app.api(Method::GET, "/users", &token, None).await;
    assert_eq!(s, 401);
    let portal = browser.get("/admin/users").await;
    assert_eq!(portal.status, 302);
    assert_eq!(portal.location.as_deref(), Some("/admin/login"));
    // ... and the sign-in session too: the portal asks for a sign-in again.
    let again = browser.open("/admin/login").await;
    assert!(again.body.contains("name=\"username\""), "{}", again.body);

    // A pass issued while the user held no role dies with a promotion.
    let hr = app.hr_token().await;
    let plain = create_user(&app, &global, "plain@example.com").await;
    let (s, _) = issue_tap(&app, &hr, &plain).await;
    assert_eq!(s, 201);
    let (s, user) = set_roles(
        &app,
        &global,
        &plain,
        json!(["Authentication Administrator"]),
    )
    .await;
    assert_eq!(s, 200, "{user}");
    let (_, taps) = app
        .api(
            Method::GET,
            &format!("/users/{plain}/authentication/temporaryAccessPassMethods"),
            &global,
            None,
        )
        .await;
    assert_eq!(taps["value"], json!([]), "{taps}");
    let (_, log) = app
        .api(
            Method::GET,
            &format!("/auditLogs?target={plain}&eventType=tap.deleted"),
            &global,
            None,
        )
        .await;
    assert_eq!(log["value"].as_array().unwrap().len(), 1, "{log}");

    // Nobody disables or deletes their own account from the admin side.
    let admin_id = app.bootstrap.as_ref().unwrap().user.id.clone();
    let (s, v) = app
        .api(
            Method::PATCH,
            &format!("/users/{admin_id}"),
            &global,
            Some(json!({"accountEnabled": false})),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    let (s, _) = app
        .api(Method::DELETE, &format!("/users/{admin_id}"), &global, None)
        .await;
    assert_eq!(s, 403);
}

/// An application's own permissions are not delegated scopes: only
/// `delegated_permissions` may be asked for on behalf of an administrator.
#[tokio::test]
async fn application_permissions_are_not_delegated() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn_with(
        store.url(),
        "delegation",
        onramp::clock::ManualClock::starting_now(),
        |s| {
            for c in s.clients.iter_mut().filter(|c| c.id == RP_ID) {
                c.permissions = Permission::ALL.to_vec();
            }
        },
    )
    .await;
    let admin = admin_browser(&app).await;
    let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", RP_ID)
        .append_pair("redirect_uri", RP_REDIRECT)
        .append_pair("scope", "openid User.ReadWrite.All")
        .append_pair("state", "s");
    let res = admin.get(url.as_str()).await;
    let (code, _, _) = crate::oidc_flow::code_from(&res);
    let tokens: Value = app
        .http
        .post(app.url("/token"))
        .basic_auth(RP_ID, Some(RP_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", RP_REDIRECT),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scope = tokens["scope"].as_str().unwrap_or_default();
    assert!(!scope.contains("User.ReadWrite.All"), "{tokens}");
    let (s, _) = app
        .api(
            Method::GET,
            "/users",
            tokens["access_token"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(
        s, 401,
        "a user token without delegated scopes is not for the API"
    );
}
