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
    let challenge = onramp::crypto::b64url::encode(&onramp::crypto::sha256(verifier.as_bytes()));
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

    // Create a pass: the POST redirects to the page that shows the
    // passcode once, with a QR code (post/redirect/get).
    let posted = admin
        .post_form(
            &format!("{user_path}/tap"),
            &[("csrf", &csrf), ("lifetime", "60"), ("once", "yes")],
        )
        .await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    assert!(!posted.body.contains("id=\"passcode\""));
    let shown_at = posted.location.clone().unwrap();
    assert!(shown_at.starts_with("/admin/shown/"), "{shown_at}");
    let made = admin.follow(posted).await;
    assert_eq!(made.status, 200, "{}", made.body);
    let start = made.body.find("<code id=\"passcode\">").unwrap() + 20;
    let passcode = made.body[start..start + made.body[start..].find('<').unwrap()].to_owned();
    assert_eq!(passcode.len(), 8);
    assert!(made.body.contains("data:image/svg+xml;base64,"));
    assert!(
        made.body
            .contains("/signin?login_hint=new.hire%40example.com")
    );
    // The handout: who, when (UTC in the markup), where, the QR code.
    assert!(made.body.contains("Welcome, New Hire"), "{}", made.body);
    assert!(made.body.contains("<time datetime=\""), "{}", made.body);
    assert!(made.body.contains("class=\"handout\""));
    let detail = admin.get(&user_path).await;
    assert!(
        detail.body.contains("data-reason=\"EnabledByPolicy\""),
        "{}",
        detail.body
    );
    // One label per status, in words: no "Usable (EnabledByPolicy)".
    assert!(
        detail.body.contains("<strong>Usable</strong></p>"),
        "{}",
        detail.body
    );
    assert!(
        !detail.body.contains("(EnabledByPolicy)"),
        "{}",
        detail.body
    );
    assert!(!detail.body.contains(&passcode));
    // Reloading the page shows nothing again and issues nothing: the pass
    // still works (the sign-in below) and no second pass was created.
    let reloaded = admin.get(&shown_at).await;
    assert_eq!(reloaded.status, 410, "{}", reloaded.body);
    assert!(reloaded.body.contains("Already shown"), "{}", reloaded.body);
    assert!(!reloaded.body.contains(&passcode));
    let created = app
        .store
        .list_audit(
            &onramp::domain::audit::AuditFilter {
                event_type: Some(onramp::domain::audit::AuditEventType::TapCreated),
                ..Default::default()
            },
            None,
            50,
        )
        .await
        .unwrap()
        .events
        .into_iter()
        .filter(|e| {
            e.target
                .as_ref()
                .is_some_and(|t| user_path.ends_with(&t.id))
        })
        .count();
    assert_eq!(created, 1, "one pass, however often the page is opened");

    // The new hire signs in to an app with it and enrolls a passkey.
    let rp = crate::oidc_flow::Rp::discover(&app, RP_ID).await;
    crate::oidc_flow::signed_in_browser(&app, &rp, "new.hire@example.com", &passcode).await;
    let detail = admin.get(&user_path).await;
    assert!(detail.body.contains("OneTimeUsed"), "{}", detail.body);
    assert!(detail.body.contains("Passkey 1"), "{}", detail.body);
    // Passkeys name their model from the AAGUID table; an unknown one
    // shows its AAGUID. (The soft authenticator reports none.)
    assert!(detail.body.contains("Not reported"), "{}", detail.body);
    let user_id = user_path.rsplit('/').next().unwrap();
    let mut cred = app.store.list_credentials(user_id).await.unwrap().remove(0);
    cred.aaguid = Some("fbfc3007-154e-4ecc-8c0b-6e020557d7bd".into());
    assert!(app.store.update_credential(&cred).await.unwrap());
    let detail = admin.get(&user_path).await;
    assert!(
        detail
            .body
            .contains("<td class=\"model\">Apple Passwords<br>"),
        "{}",
        detail.body
    );
    cred.aaguid = Some("01020304-0506-0708-0102-030405060708".into());
    assert!(app.store.update_credential(&cred).await.unwrap());
    let detail = admin.get(&user_path).await;
    assert!(
        detail.body.contains(
            "Unknown model<br><code class=\"small\">01020304-0506-0708-0102-030405060708</code>"
        ),
        "{}",
        detail.body
    );
    // The security info page names models too, and links an administrator
    // to the portal.
    let admin_id = app
        .store
        .find_user_by_upn("admin@localhost")
        .await
        .unwrap()
        .unwrap()
        .id;
    let mut own = app
        .store
        .list_credentials(&admin_id)
        .await
        .unwrap()
        .remove(0);
    own.aaguid = Some("08987058-cadc-4b81-b6e1-30de50dcbe96".into());
    assert!(app.store.update_credential(&own).await.unwrap());
    let info = admin.get("/account/security").await;
    assert_eq!(info.status, 200, "{}", info.body);
    assert!(
        info.body
            .contains("<span class=\"model\">Windows Hello</span>"),
        "{}",
        info.body
    );
    assert!(
        info.body
            .contains("<a href=\"/admin\">open the admin portal</a>"),
        "{}",
        info.body
    );

    // A non-admin has no business in the portal.
    let hr = app.hr_token().await;
    let user_id = user_path.rsplit('/').next().unwrap();
    let (_, tap) = issue_tap(&app, &hr, user_id).await;
    let (non_admin, denied) = portal_sign_in(
        &app,
        "new.hire@example.com",
        tap["temporaryAccessPass"].as_str().unwrap(),
    )
    .await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert!(denied.body.contains("No administrator role"));
    // "Sign in as someone else": the end-session page, then the portal's
    // sign-in again.
    let other = denied
        .body
        .split("<a class=\"button\" href=\"")
        .nth(1)
        .unwrap();
    let other = other[..other.find('"').unwrap()].replace("&#38;", "&");
    assert!(
        denied.body.contains("Sign in as someone else"),
        "{}",
        denied.body
    );
    assert!(
        other.starts_with("/logout?client_id=onramp-admin-portal&"),
        "{other}"
    );
    let asked = non_admin.get(&other).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    let mut form = vec![("confirm".to_owned(), "yes".to_owned())];
    for name in ["csrf", "client_id", "post_logout_redirect_uri"] {
        form.push((name.to_owned(), asked.field(name)));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = non_admin.post_form("/logout", &form).await;
    assert_eq!(
        out.location.as_deref(),
        Some(format!("{}/admin/login", app.base).as_str()),
        "{}",
        out.body
    );
    // Signed out: the portal's sign-in asks for a user name again.
    let again = non_admin.follow(out).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(again.body.contains("name=\"username\""), "{}", again.body);

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
    assert_inline(
        &res,
        400,
        "min",
        "Minimum lifetime must be between 10 and 43,200 minutes.",
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
    assert_eq!(made.status, 303, "{}", made.body);
    let shown_at = made.location.clone().unwrap();
    let made = admin.follow(made).await;
    assert_eq!(made.status, 200, "{}", made.body);
    assert!(made.body.contains("id=\"client-secret\""));
    let again = admin.get(&shown_at).await;
    assert_eq!(again.status, 410);
    assert!(!again.body.contains("id=\"client-secret\""));
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
    assert!(
        filtered
            .body
            .contains("<td data-label=\"Event\">passkey.deleted</td>")
    );
    assert!(
        !filtered
            .body
            .contains("<td data-label=\"Event\">tap.created</td>")
    );
    let bad = admin.get("/admin/audit?from=yesterday").await;
    assert_eq!(bad.status, 400);

    // Signing out revokes the portal's token.
    let out = admin.post_form("/admin/signout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    let again = admin.get("/admin/users").await;
    assert_eq!(again.status, 302);
    assert_eq!(
        again.location.as_deref(),
        Some("/admin/login?return_to=%2Fadmin%2Fusers")
    );
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
    assert_eq!(
        portal.location.as_deref(),
        Some("/admin/login?return_to=%2Fadmin%2Fusers")
    );
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
        .rp_token(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", RP_REDIRECT),
        ])
        .await
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

/// The value of the `name` query parameter in a link on the page after `prefix`.
fn link_after<'a>(body: &'a str, prefix: &str) -> &'a str {
    let start = body
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {body}"))
        + prefix.len();
    let end = body[start..].find(['"', '&']).unwrap();
    &body[start..start + end]
}

/// A form refused in place (portal/form.rs): the same page with `status`,
/// `words` beside the input `field` (tied to it by `aria-invalid` and
/// `aria-describedby`) and in the summary at the top, not the problem page.
#[track_caller]
pub(crate) fn assert_inline(res: &Response, status: u16, field: &str, words: &str) {
    let body = &res.body;
    assert_eq!(res.status, status, "{body}");
    assert!(
        body.contains(&format!(
            "aria-invalid=\"true\" aria-describedby=\"{field}-error"
        )),
        "{field} not marked invalid: {body}"
    );
    assert!(
        body.contains(&format!(
            "<p class=\"field-error\" id=\"{field}-error\">{words}"
        )),
        "{words} not beside {field}: {body}"
    );
    let summary = &body[body
        .find("<div class=\"error\" role=\"alert\" id=\"error-summary\">")
        .unwrap_or_else(|| panic!("no summary: {body}"))..];
    assert!(
        summary.contains(&format!("<a href=\"#{field}-error\">{words}")),
        "{summary}"
    );
    assert!(
        !body.contains("Please check your input") && !body.contains("<h1>Not possible</h1>"),
        "the problem page: {body}"
    );
}

/// A TAP policy form as the policy page posts it, with `extra` fields.
fn tap_form<'a>(csrf: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("csrf", csrf),
        ("enabled", "yes"),
        ("min", "60"),
        ("default", "60"),
        ("max", "480"),
        ("length", "8"),
    ];
    form.extend_from_slice(extra);
    form
}

/// Groups in the portal: create, find, members added and removed (for
/// real, in the store), details, a policy targeting the group by its
/// name, the user's page, and deletion, each behind CSRF and the
/// destructive ones behind a confirmation.
async fn portal_groups_on(backend: Backend) {
    use onramp::domain::policy::{IncludeTargets, MethodState, PolicyTarget};
    use onramp::domain::user::NewUser;

    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let admin = admin_browser(&app).await;
    let global = crate::groups::global_caller(&app);
    let service = &app.state.admin;
    let mut people = Vec::new();
    for upn in ["ada@example.com", "bob@example.com", "carol@example.com"] {
        let new = NewUser {
            upn: upn.into(),
            display_name: upn.into(),
            ..Default::default()
        };
        people.push(service.create_user(&global, new).await.unwrap());
    }
    let (ada, bob, carol) = (&people[0], &people[1], &people[2]);

    // A Global Administrator has the section.
    let users = admin.get("/admin/users").await;
    assert!(
        users.body.contains("<a href=\"/admin/groups\">Groups</a>"),
        "{}",
        users.body
    );
    let csrf = users.field("csrf");
    let empty = admin.get("/admin/groups").await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert!(empty.body.contains("No groups yet."), "{}", empty.body);

    // Without the CSRF token (or with another one), nothing is created.
    let group_fields = [
        ("display_name", "Staff"),
        ("description", "Everyone on staff"),
        ("mail_nickname", "staff"),
    ];
    let refused = admin.post_form("/admin/groups", &group_fields).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("This form expired"),
        "{}",
        refused.body
    );
    let mut forged = vec![("csrf", "forged")];
    forged.extend_from_slice(&group_fields);
    assert_eq!(admin.post_form("/admin/groups", &forged).await.status, 403);
    let none = service.list_groups(&global, None, 10).await.unwrap();
    assert!(none.groups.is_empty(), "{none:?}");

    // A bad mail nickname is explained in the form's words.
    let bad = admin
        .post_form(
            "/admin/groups",
            &[
                ("csrf", &csrf),
                ("display_name", "Staff"),
                ("mail_nickname", "has space"),
            ],
        )
        .await;
    assert_inline(
        &bad,
        400,
        "mail_nickname",
        "Mail nickname may hold ASCII letters",
    );
    assert!(bad.body.contains("value=\"has space\""), "{}", bad.body);

    // Create a group.
    let mut create = vec![("csrf", csrf.as_str())];
    create.extend_from_slice(&group_fields);
    let created = admin.post_form("/admin/groups", &create).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let group_path = created
        .location
        .as_deref()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let page = admin.follow(created).await;
    assert!(
        page.body.contains("The group was created."),
        "{}",
        page.body
    );
    assert!(page.body.contains("<h1>Staff</h1>"), "{}", page.body);
    assert!(page.body.contains("No members yet."), "{}", page.body);
    let gid = group_path.rsplit('/').next().unwrap().to_owned();
    let stored = service.get_group(&global, &gid).await.unwrap();
    assert_eq!(
        (
            stored.display_name.as_str(),
            stored.description.as_deref(),
            stored.mail_nickname.as_str()
        ),
        ("Staff", Some("Everyone on staff"), "staff")
    );

    // Listed, and found by name.
    let found = admin.get("/admin/groups?q=STA").await;
    assert!(
        found
            .body
            .contains(&format!("<a href=\"{group_path}\">Staff</a>")),
        "{}",
        found.body
    );
    let missed = admin.get("/admin/groups?q=finance").await;
    assert!(missed.body.contains("No groups found."), "{}", missed.body);

    // Add members by user name: real memberships in the store.
    let add = |upn: &'static str| {
        let (admin, csrf, path) = (&admin, csrf.clone(), format!("{group_path}/members"));
        async move {
            admin
                .post_form(&path, &[("csrf", &csrf), ("upn", upn)])
                .await
        }
    };
    for upn in ["ada@example.com", "BOB@example.com"] {
        let res = add(upn).await;
        assert_eq!(res.status, 303, "{}", res.body);
        let page = admin.follow(res).await;
        assert!(
            page.body.contains("The member was added to the group."),
            "{}",
            page.body
        );
    }
    let members = service.list_members(&global, &gid, None, 10).await.unwrap();
    let mut ids: Vec<&str> = members.members.iter().map(|u| u.id.as_str()).collect();
    ids.sort_unstable();
    let mut want = vec![ada.id.as_str(), bob.id.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    assert_eq!(
        app.store.groups_of_user(&ada.id).await.unwrap(),
        vec![gid.clone()]
    );
    let page = admin.get(&group_path).await;
    for u in [ada, bob] {
        assert!(
            page.body
                .contains(&format!("<a href=\"/admin/users/{}\">{}</a>", u.id, u.upn)),
            "{}",
            page.body
        );
    }
    // Twice, or someone unknown: explained, nothing changes.
    let twice = add("ada@example.com").await;
    assert_inline(
        &twice,
        409,
        "upn",
        "ada@example.com is already a member of this group.",
    );
    assert!(
        twice.body.contains("value=\"ada@example.com\""),
        "{}",
        twice.body
    );
    let unknown = add("nobody@example.com").await;
    assert_inline(&unknown, 400, "upn", "There is no user nobody@example.com.");
    let no_csrf = admin
        .post_form(
            &format!("{group_path}/members"),
            &[("upn", "carol@example.com")],
        )
        .await;
    assert_eq!(no_csrf.status, 403);
    assert!(
        app.store
            .groups_of_user(&carol.id)
            .await
            .unwrap()
            .is_empty()
    );

    // Change the details; an empty description clears it.
    let saved = admin
        .post_form(
            &group_path,
            &[
                ("csrf", &csrf),
                ("display_name", "Staff members"),
                ("description", " "),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = admin.follow(saved).await;
    assert!(
        page.body.contains("The group details were saved."),
        "{}",
        page.body
    );
    let stored = service.get_group(&global, &gid).await.unwrap();
    assert_eq!(
        (stored.display_name.as_str(), stored.description),
        ("Staff members", None)
    );
    let emptied = admin
        .post_form(&group_path, &[("csrf", &csrf), ("display_name", "")])
        .await;
    assert_inline(
        &emptied,
        400,
        "display_name",
        "Display name must not be empty.",
    );

    // The user's page lists their groups, with links.
    let group_link = format!("<a href=\"{group_path}\">Staff members</a>");
    let ada_page = admin.get(&format!("/admin/users/{}", ada.id)).await;
    assert!(
        ada_page.body.contains("<h2>Groups</h2>"),
        "{}",
        ada_page.body
    );
    assert!(ada_page.body.contains(&group_link), "{}", ada_page.body);
    let carol_page = admin.get(&format!("/admin/users/{}", carol.id)).await;
    assert!(
        carol_page.body.contains("Not a member of any group."),
        "{}",
        carol_page.body
    );

    // The TAP policy applies to the group only: picked from the list by
    // its name, saved as a group target, shown by name.
    let policy = admin.get("/admin/policy").await;
    assert_eq!(policy.status, 200, "{}", policy.body);
    let checkbox = format!("name=\"include_group\" value=\"{gid}\">");
    assert!(policy.body.contains(&checkbox), "{}", policy.body);
    let form = tap_form(
        &csrf,
        &[
            ("include_all", "no"),
            ("include", ""),
            ("groups", "yes"),
            ("include_group", &gid),
            ("exclude", ""),
        ],
    );
    let res = admin.post_form("/admin/policy/tap", &form).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let policy = admin.follow(res).await;
    assert!(policy.body.contains("policy was saved"), "{}", policy.body);
    let checked = format!("name=\"include_group\" value=\"{gid}\" checked> <span>Staff members ");
    assert!(policy.body.contains(&checked), "{}", policy.body);
    let stored = service.get_policy(&global).await.unwrap();
    assert_eq!(
        stored.tap.include,
        IncludeTargets::Targets(vec![PolicyTarget::group(&gid)])
    );
    assert_eq!(stored.tap.exclude, vec![]);
    // It works: a member's pass is usable, another user's is not.
    let hr = app.hr_token().await;
    for (user, reason) in [(ada, "EnabledByPolicy"), (carol, "DisabledByPolicy")] {
        let (s, v) = issue_tap(&app, &hr, &user.id).await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["methodUsabilityReason"], reason, "{}: {v}", user.upn);
    }

    // Users and groups together; a user named and a group by name.
    let form = tap_form(
        &csrf,
        &[
            ("include_all", "no"),
            ("include", "carol@example.com"),
            ("groups", "yes"),
            ("include_group", &gid),
            ("exclude", "ada@example.com"),
        ],
    );
    let res = admin.post_form("/admin/policy/tap", &form).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let stored = service.get_policy(&global).await.unwrap();
    assert_eq!(
        stored.tap.include,
        IncludeTargets::Targets(vec![
            PolicyTarget::user(&carol.id),
            PolicyTarget::group(&gid)
        ])
    );
    assert_eq!(stored.tap.exclude, vec![PolicyTarget::user(&ada.id)]);
    let policy = admin.get("/admin/policy").await;
    assert!(policy.body.contains("carol@example.com"), "{}", policy.body);
    // "Only these" with nobody, or a group that is not there: explained.
    for (extra, status, words) in [
        (
            vec![("include_all", "no"), ("groups", "yes")],
            400,
            "Name at least one user or pick at least one group",
        ),
        (
            vec![
                ("include_all", "no"),
                ("groups", "yes"),
                ("include_group", "no-such-group"),
            ],
            400,
            "A group you picked no longer exists",
        ),
        (
            vec![
                ("include_all", "no"),
                ("groups", "yes"),
                ("include_group_names", "Finance"),
            ],
            400,
            "There is no group named Finance.",
        ),
    ] {
        let res = admin
            .post_form("/admin/policy/tap", &tap_form(&csrf, &extra))
            .await;
        assert_eq!(res.status, status, "{extra:?}: {}", res.body);
        assert!(res.body.contains(words), "{extra:?}: {}", res.body);
    }
    // Named instead of picked (for directories longer than the list).
    let form = tap_form(
        &csrf,
        &[
            ("include_all", "no"),
            ("groups", "yes"),
            ("include_group_names", "staff MEMBERS"),
        ],
    );
    let res = admin.post_form("/admin/policy/tap", &form).await;
    assert_eq!(res.status, 303, "{}", res.body);
    let stored = service.get_policy(&global).await.unwrap();
    assert_eq!(
        stored.tap.include,
        IncludeTargets::Targets(vec![PolicyTarget::group(&gid)])
    );

    // Passkeys: state, self-service registration, and a group excluded.
    let policy = admin.get("/admin/policy").await;
    assert!(
        policy.body.contains("Self-service registration allowed"),
        "{}",
        policy.body
    );
    let res = admin
        .post_form(
            "/admin/policy/passkeys",
            &[
                ("csrf", &csrf),
                ("enabled", "yes"),
                ("window", "10"),
                ("required", "yes"),
                ("mfa", "yes"),
                ("restriction", "allow"),
                ("include_all", "yes"),
                ("include", ""),
                ("groups", "yes"),
                ("exclude", ""),
                ("exclude_group", &gid),
            ],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let page = admin.follow(res).await;
    assert!(
        page.body.contains("The passkey settings were saved."),
        "{}",
        page.body
    );
    let checked = format!("name=\"exclude_group\" value=\"{gid}\" checked> <span>Staff members ");
    assert!(page.body.contains(&checked), "{}", page.body);
    let stored = service.get_policy(&global).await.unwrap();
    assert_eq!(stored.passkey.state, MethodState::Enabled);
    assert!(!stored.passkey.is_self_service_registration_allowed);
    assert_eq!(stored.passkey.include, IncludeTargets::AllUsers);
    assert_eq!(stored.passkey.exclude, vec![PolicyTarget::group(&gid)]);
    let res = admin
        .post_form(
            "/admin/policy/passkeys",
            &[
                ("csrf", &csrf),
                ("window", "10"),
                ("self_service", "yes"),
                ("include_all", "yes"),
                ("groups", "yes"),
                ("exclude_group", &gid),
            ],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.body);
    let stored = service.get_policy(&global).await.unwrap();
    assert_eq!(stored.passkey.state, MethodState::Disabled);
    assert!(stored.passkey.is_self_service_registration_allowed);
    let page = admin.follow(res).await;
    let passkey_form = &page.body[page.body.find("id=\"passkey-policy\"").unwrap()..];
    assert!(
        passkey_form.contains("name=\"enabled\" value=\"yes\"> Enabled")
            && passkey_form.contains("name=\"self_service\" value=\"yes\" checked>"),
        "{passkey_form}"
    );

    // Removing a member asks first, warning what the policies do.
    let group_page = admin.get(&group_path).await;
    let item = link_after(&group_page.body, "action=remove-member&amp;item=");
    let item = if item == ada.id {
        bob.id.clone()
    } else {
        item.to_owned()
    };
    let confirm = admin
        .get(&format!(
            "{group_path}/confirm?action=remove-member&item={item}"
        ))
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(
        confirm.body.contains("Remove this member?"),
        "{}",
        confirm.body
    );
    assert!(
        confirm
            .body
            .contains("bob@example.com leaves the group Staff members."),
        "{}",
        confirm.body
    );
    assert!(
        confirm.body.contains(
            "The Temporary Access Pass policy includes this group: unless it includes bob@example.com otherwise"
        ),
        "{}",
        confirm.body
    );
    assert!(
        confirm
            .body
            .contains("The passkey policy excludes this group"),
        "{}",
        confirm.body
    );
    // Not confirmed, or without the CSRF token: nothing happens.
    let path = format!("{group_path}/remove-member");
    let back = admin
        .post_form(&path, &[("csrf", &csrf), ("item", &item)])
        .await;
    assert_eq!(back.status, 303);
    let refused = admin
        .post_form(&path, &[("item", &item), ("confirm", "yes")])
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        app.store.groups_of_user(&bob.id).await.unwrap(),
        vec![gid.clone()]
    );
    let removed = admin
        .post_form(
            &path,
            &[("csrf", &csrf), ("item", &item), ("confirm", "yes")],
        )
        .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    let page = admin.follow(removed).await;
    assert!(
        page.body.contains("The member was removed from the group."),
        "{}",
        page.body
    );
    assert!(!page.body.contains("bob@example.com"), "{}", page.body);
    assert!(app.store.groups_of_user(&bob.id).await.unwrap().is_empty());
    let members = service.list_members(&global, &gid, None, 10).await.unwrap();
    assert_eq!(members.members.len(), 1);
    assert_eq!(members.members[0].id, ada.id);
    let again = admin
        .post_form(
            &path,
            &[("csrf", &csrf), ("item", &item), ("confirm", "yes")],
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(
        again.body.contains("not a member of this group"),
        "{}",
        again.body
    );

    // Deleting the group asks first, warning that policies name it.
    let confirm = admin
        .get(&format!("{group_path}/confirm?action=delete-group&item="))
        .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(
        confirm.body.contains("Delete this group?"),
        "{}",
        confirm.body
    );
    for words in [
        "The Temporary Access Pass policy includes this group: members who are not included otherwise",
        "The passkey policy excludes this group: members who are not excluded otherwise",
    ] {
        assert!(confirm.body.contains(words), "{words}: {}", confirm.body);
    }
    let path = format!("{group_path}/delete-group");
    let refused = admin.post_form(&path, &[("confirm", "yes")]).await;
    assert_eq!(refused.status, 403);
    assert!(service.get_group(&global, &gid).await.is_ok());
    let deleted = admin
        .post_form(&path, &[("csrf", &csrf), ("item", ""), ("confirm", "yes")])
        .await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    assert_eq!(
        deleted.location.as_deref(),
        Some("/admin/groups?done=deleted")
    );
    let page = admin.follow(deleted).await;
    assert!(
        page.body.contains("The group was deleted."),
        "{}",
        page.body
    );
    assert!(matches!(
        service.get_group(&global, &gid).await,
        Err(onramp::domain::DomainError::NotFound(_))
    ));
    assert!(app.store.groups_of_user(&ada.id).await.unwrap().is_empty());
    let gone = admin.get(&group_path).await;
    assert_eq!(gone.status, 404, "{}", gone.body);
    // The policy still names it: shown as deleted, so it can be unchecked.
    let policy = admin.get("/admin/policy").await;
    assert!(
        policy.body.contains(&format!(
            "name=\"include_group\" value=\"{gid}\" checked> <span>Deleted group "
        )),
        "{}",
        policy.body
    );
    let ada_page = admin.get(&format!("/admin/users/{}", ada.id)).await;
    assert!(
        ada_page.body.contains("Not a member of any group."),
        "{}",
        ada_page.body
    );

    // Every step is in the audit log.
    let audit = admin.get("/admin/audit").await;
    for kind in [
        "group.created",
        "group.updated",
        "group.member_added",
        "group.member_removed",
        "group.deleted",
    ] {
        assert!(audit.body.contains(kind), "{kind} missing");
    }
}

#[tokio::test]
async fn portal_groups_embedded() {
    portal_groups_on(Backend::Embedded).await;
}

#[tokio::test]
async fn portal_groups_redis() {
    portal_groups_on(Backend::Redis).await;
}

/// Groups are the Global Administrator's: other administrators neither see
/// nor use the section, and the policy page keeps the group targets a
/// Global Administrator set (shown by id).
#[tokio::test]
async fn portal_groups_need_a_global_administrator() {
    use onramp::domain::group::NewGroup;
    use onramp::domain::policy::{IncludeTargets, PolicyTarget};

    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let admin = admin_browser(&app).await;
    let token = delegated_token(&app, &admin).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let global = crate::groups::global_caller(&app);
    let service = &app.state.admin;
    let group = service
        .create_group(
            &global,
            NewGroup {
                display_name: Some("Secret project".into()),
                mail_nickname: Some("secret".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let member = create_user(&app, &token, "member@example.com").await;
    service
        .add_member(&global, &group.id, &member)
        .await
        .unwrap();
    let mut admins = Vec::new();
    for (name, role) in [
        ("policy", "Authentication Policy Administrator"),
        ("auth", "Authentication Administrator"),
    ] {
        let upn = format!("{name}@example.com");
        let id = create_user(&app, &token, &upn).await;
        let (s, v) = set_roles(&app, &token, &id, json!([role])).await;
        assert_eq!(s, 200, "{v}");
        let (s, tap) = issue_tap(&app, &token, &id).await;
        assert_eq!(s, 201, "{tap}");
        let (browser, landed) =
            portal_sign_in(&app, &upn, tap["temporaryAccessPass"].as_str().unwrap()).await;
        admins.push((name, role, upn, id, browser, landed));
    }
    // (After the sign-ins with a pass: it applies to the group only.)
    service
        .update_policy(&global, "temporaryAccessPass", |p| {
            p.tap.include = IncludeTargets::Targets(vec![PolicyTarget::group(&group.id)]);
            Ok(())
        })
        .await
        .unwrap();

    for (name, role, upn, id, browser, landed) in admins {
        assert_eq!(landed.status, 200, "{role}: {}", landed.body);
        // No nav entry, and the pages and forms refuse.
        assert!(
            !landed.body.contains("/admin/groups"),
            "{role}: {}",
            landed.body
        );
        let csrf = landed.field("csrf");
        for path in [
            "/admin/groups".to_owned(),
            format!("/admin/groups/{}", group.id),
            format!(
                "/admin/groups/{}/confirm?action=delete-group&item=",
                group.id
            ),
        ] {
            let page = browser.get(&path).await;
            assert_eq!(page.status, 403, "{role} on {path}: {}", page.body);
            assert!(
                page.body
                    .contains("managing groups needs the Global Administrator role"),
                "{role} on {path}: {}",
                page.body
            );
        }
        let made = browser
            .post_form(
                "/admin/groups",
                &[
                    ("csrf", &csrf),
                    ("display_name", "Mine"),
                    ("mail_nickname", "mine"),
                ],
            )
            .await;
        assert_eq!(made.status, 403, "{role}: {}", made.body);
        let joined = browser
            .post_form(
                &format!("/admin/groups/{}/members", group.id),
                &[("csrf", &csrf), ("upn", &upn)],
            )
            .await;
        assert_eq!(joined.status, 403, "{role}: {}", joined.body);
        let deleted = browser
            .post_form(
                &format!("/admin/groups/{}/delete-group", group.id),
                &[("csrf", &csrf), ("confirm", "yes")],
            )
            .await;
        assert_eq!(deleted.status, 403, "{role}: {}", deleted.body);
        assert_eq!(service.count_groups(&global).await.unwrap(), 1);
        assert_eq!(
            app.store.groups_of_user(&id).await.unwrap(),
            Vec::<String>::new()
        );

        if name == "auth" {
            // A user's page shows no groups to an admin who may not read them.
            let page = browser.get(&format!("/admin/users/{member}")).await;
            assert_eq!(page.status, 200, "{}", page.body);
            assert!(!page.body.contains("<h2>Groups</h2>"), "{}", page.body);
            assert!(!page.body.contains("Secret project"), "{}", page.body);
        } else {
            // The policy page shows the group target by id only, and
            // saving the form keeps it.
            let page = browser.get("/admin/policy").await;
            assert_eq!(page.status, 200, "{}", page.body);
            assert!(!page.body.contains("Secret project"), "{}", page.body);
            assert!(
                !page.body.contains("name=\"include_group\""),
                "{}",
                page.body
            );
            assert!(
                page.body
                    .contains(&format!("Groups (by id): {}.", group.id)),
                "{}",
                page.body
            );
            let csrf = page.field("csrf");
            let form = tap_form(
                &csrf,
                &[("include_all", "no"), ("include", ""), ("exclude", "")],
            );
            let res = browser.post_form("/admin/policy/tap", &form).await;
            assert_eq!(res.status, 303, "{}", res.body);
            let form = tap_form(
                &csrf,
                &[
                    ("include_all", "no"),
                    ("groups", "yes"),
                    ("include_group", "another-group"),
                ],
            );
            // Group lists posted anyway: the service refuses to read groups.
            let res = browser.post_form("/admin/policy/tap", &form).await;
            assert_eq!(res.status, 403, "{}", res.body);
            let stored = service.get_policy(&global).await.unwrap();
            assert_eq!(
                stored.tap.include,
                IncludeTargets::Targets(vec![PolicyTarget::group(&group.id)])
            );
        }
    }
}

/// Follows the portal's sign-in from `start` (SSO: no pages on the way):
/// where the callback sent the browser, and the page it lands on. Every
/// redirect on the way stays on this server.
async fn through_portal_sign_in(
    app: &TestApp,
    browser: &Browser,
    start: &str,
) -> (String, Response) {
    let mut res = browser.get(start).await;
    let mut after_callback = None;
    for _ in 0..10 {
        let Some(loc) = res.location.clone() else {
            break;
        };
        assert!(
            loc.starts_with('/') || loc.starts_with(&app.base),
            "{start}: redirected off-site to {loc}"
        );
        let from_callback = loc.contains("/admin/callback");
        res = browser.get(&loc).await;
        if from_callback {
            after_callback = res.location.clone();
        }
    }
    (after_callback.expect("through the portal's callback"), res)
}

/// A deep link into the portal survives its sign-in; `return_to` is a
/// local portal path or ignored (no open redirect).
#[tokio::test]
async fn portal_deep_links_survive_sign_in_and_never_redirect_elsewhere() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let admin = admin_browser(&app).await;
    let token = delegated_token(&app, &admin).await;
    let id = create_user(
        &app,
        token["access_token"].as_str().unwrap(),
        "ada@example.com",
    )
    .await;
    let sign_out = || async {
        let csrf = admin.get("/admin/users").await.field("csrf");
        // Out of the portal (the single sign-on session stays).
        let out = admin.post_form("/admin/signout", &[("csrf", &csrf)]).await;
        assert_eq!(out.status, 303);
    };
    sign_out().await;

    let deep = format!("/admin/users/{id}?done=roles");
    let asked = admin.get(&deep).await;
    assert_eq!(asked.status, 302);
    let login = asked.location.clone().unwrap();
    assert_eq!(
        login,
        format!("/admin/login?return_to=%2Fadmin%2Fusers%2F{id}%3Fdone%3Droles")
    );
    let (after, page) = through_portal_sign_in(&app, &admin, &login).await;
    assert_eq!(after, deep);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("id=\"user-upn\">ada@example.com<"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("The roles were saved."),
        "the query kept"
    );

    // Anything but a portal path lands on /admin after sign-in.
    for evil in [
        "//evil.example/admin/",
        "https://evil.example/admin/users",
        "/admin//evil.example",
        "/admin/\\evil.example",
        "/\\evil.example",
        "/admin/../account/security",
        "javascript:alert(1)",
        "/account/security",
    ] {
        sign_out().await;
        let start = format!("/admin/login?return_to={}", onramp::web::pages::enc(evil));
        let (after, page) = through_portal_sign_in(&app, &admin, &start).await;
        assert_eq!(after, "/admin", "{evil}");
        assert_eq!(page.status, 200, "{evil}: {}", page.body);
    }
}

/// The audit log page: actors named, filters by user name (resolved
/// through the directory), a failed pass attempt naming its user, unknown
/// filters refused by name, and the filtered view as a CSV download with
/// formula cells defused.
#[tokio::test]
async fn portal_audit_log_filters_by_name_and_exports_csv() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let admin = admin_browser(&app).await;
    let token = delegated_token(&app, &admin).await;
    let ada = create_user(
        &app,
        token["access_token"].as_str().unwrap(),
        "ada@example.com",
    )
    .await;
    // A wrong pass for Ada, from another browser.
    let stranger = Browser::new(&app.base);
    let page = stranger.open("/admin/login").await;
    let refused = stranger
        .sign_in_with_tap(&page, "ada@example.com", "WRONGPASS")
        .await;
    assert!(refused.body.contains("don&#39;t match"), "{}", refused.body);
    // A client whose name a spreadsheet would run as a formula.
    let csrf = admin.get("/admin/clients").await.field("csrf");
    let evil = "=HYPERLINK(\"https://evil.example\",\"x\")";
    let made = admin
        .post_form(
            "/admin/clients",
            &[
                ("csrf", &csrf),
                ("name", evil),
                ("redirect_uris", "https://evil.example/cb"),
                ("grant", "authorization_code"),
                ("auth", "client_secret_basic"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);

    // By the actor's user name: the admin's doings, named, linked.
    let mine = admin.get("/admin/audit?actor=admin%40localhost").await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert!(
        mine.body
            .contains("<td data-label=\"Event\">user.created</td>"),
        "{}",
        mine.body
    );
    assert!(
        mine.body.contains(">admin@localhost</a></td>"),
        "{}",
        mine.body
    );
    assert!(!mine.body.contains("\">tap.failed</td>"), "{}", mine.body);
    assert!(mine.body.contains("<time datetime=\""), "{}", mine.body);
    // By the target's user name: the failed attempt names Ada.
    let hers = admin
        .get("/admin/audit?target=ADA%40example.com&type=tap.failed")
        .await;
    assert_eq!(hers.status, 200, "{}", hers.body);
    assert!(
        hers.body
            .contains("<td data-label=\"Event\">tap.failed</td>"),
        "{}",
        hers.body
    );
    assert!(
        hers.body
            .contains("<td data-label=\"Target\">user ada@example.com</td>"),
        "{}",
        hers.body
    );
    assert!(
        hers.body
            .contains(&format!("href=\"/admin/users/{ada}\">ada@example.com</a>")),
        "{}",
        hers.body
    );
    assert!(!hers.body.contains("\">user.created</td>"), "{}", hers.body);
    // The export link keeps the filter.
    assert!(
        hers.body
            .contains("href=\"/admin/audit/export?type=tap.failed&#38;target=ADA%40example.com\""),
        "{}",
        hers.body
    );
    // Nothing the page does not know is ignored.
    let odd = admin.get("/admin/audit?actor_id=x").await;
    assert_eq!(odd.status, 400, "{}", odd.body);
    assert!(odd.body.contains("actor_id"), "{}", odd.body);
    let odd = admin.get("/admin/audit?type=tap.exploded").await;
    assert_eq!(odd.status, 400, "{}", odd.body);

    // The CSV: a download of the filtered view, formulas defused.
    let res = admin
        .http
        .get(app.url("/admin/audit/export?type=client.registered"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        res.headers()["content-disposition"],
        "attachment; filename=\"onramp-audit-log.csv\""
    );
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("time,event,outcome,actor,"), "{csv}");
    assert!(lines[1].contains("\"client.registered\""), "{csv}");
    assert!(lines[1].contains("\"admin@localhost\""), "{csv}");
    assert!(
        lines[1].contains("\"'=HYPERLINK(\"\"https://evil.example\"\",\"\"x\"\")\""),
        "{csv}"
    );
    let hers = admin
        .http
        .get(app.url("/admin/audit/export?target=ada%40example.com"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(hers.contains("\"tap.failed\""), "{hers}");
    assert!(hers.contains("\"user.created\""), "{hers}");
    assert!(!hers.contains("client.registered"), "{hers}");
}

/// Portal forms that fail show the error next to the field in plain
/// words (aria-invalid, aria-describedby) with what was typed kept; the
/// profile can be edited; a pass can start later, in the admin's zone.
async fn portal_forms_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let admin = admin_browser(&app).await;
    let csrf = admin.get("/admin/users").await.field("csrf");

    // Create a user: a bad user name is explained beside its field.
    let bad = admin
        .post_form(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("upn", "not a user name"),
                ("display_name", "Grace Hopper"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.body.contains("<h1>Users</h1>"),
        "the same page: {}",
        bad.body
    );
    assert!(
        bad.body
            .contains("aria-invalid=\"true\" aria-describedby=\"upn-error\""),
        "{}",
        bad.body
    );
    assert!(
        bad.body
            .contains("<p class=\"field-error\" id=\"upn-error\">User name "),
        "{}",
        bad.body
    );
    assert!(
        !bad.body.contains("userPrincipalName"),
        "no API words: {}",
        bad.body
    );
    assert!(
        bad.body.contains("value=\"Grace Hopper\""),
        "entries kept: {}",
        bad.body
    );
    assert!(
        bad.body.contains("value=\"not a user name\""),
        "{}",
        bad.body
    );
    let made = admin
        .post_form(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("upn", "grace@example.com"),
                ("display_name", "Grace Hopper"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let user_path = made.location.unwrap().split('?').next().unwrap().to_owned();
    let id = user_path.rsplit('/').next().unwrap().to_owned();
    // A taken user name is explained beside it too.
    let taken = admin
        .post_form(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("upn", "GRACE@example.com"),
                ("display_name", "Another Grace"),
            ],
        )
        .await;
    assert_inline(&taken, 409, "upn", "User name is already in use.");
    assert!(
        !taken.body.contains("userPrincipalName"),
        "no API words: {}",
        taken.body
    );
    assert!(
        taken.body.contains("value=\"Another Grace\""),
        "{}",
        taken.body
    );

    // Edit the profile: saved for real; a bad email explained in place.
    let page = admin.get(&user_path).await;
    assert!(page.body.contains("id=\"edit-profile\""), "{}", page.body);
    let profile = |mail: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("profile_upn", "grace@example.com".to_owned()),
            (
                "profile_display_name",
                "Rear Admiral Grace Hopper".to_owned(),
            ),
            ("given_name", "Grace".to_owned()),
            ("surname", "Hopper".to_owned()),
            ("profile_mail", mail.to_owned()),
            ("job_title", "Computer scientist".to_owned()),
            ("department", String::new()),
        ]
    };
    let form = profile("grace-at-example.com");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let bad = admin
        .post_form(&format!("{user_path}/profile"), &form)
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.body.contains("<details id=\"profile\" open>"),
        "{}",
        bad.body
    );
    assert!(
        bad.body.contains("id=\"profile_mail-error\">Email must be"),
        "{}",
        bad.body
    );
    assert!(
        bad.body.contains("value=\"Rear Admiral Grace Hopper\""),
        "{}",
        bad.body
    );
    let unchanged = app.store.get_user(&id).await.unwrap().unwrap();
    assert_eq!(
        unchanged.display_name, "Grace Hopper",
        "nothing half-written"
    );
    let form = profile("grace@example.com");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = admin
        .post_form(&format!("{user_path}/profile"), &form)
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = admin.follow(saved).await;
    assert!(
        page.body.contains("The profile was saved."),
        "{}",
        page.body
    );
    let user = app.store.get_user(&id).await.unwrap().unwrap();
    assert_eq!(user.display_name, "Rear Admiral Grace Hopper");
    assert_eq!(user.given_name.as_deref(), Some("Grace"));
    assert_eq!(user.mail.as_deref(), Some("grace@example.com"));
    assert_eq!(user.job_title.as_deref(), Some("Computer scientist"));
    assert_eq!(user.department, None);

    // A pass: a lifetime outside the policy is explained in plain words.
    let bad = admin
        .post_form(
            &format!("{user_path}/tap"),
            &[("csrf", &csrf), ("lifetime", "5"), ("start", "")],
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.body
            .contains("id=\"lifetime-error\">Lifetime must be between "),
        "{}",
        bad.body
    );
    assert!(
        !bad.body.contains("minimumLifetimeInMinutes"),
        "{}",
        bad.body
    );
    assert!(bad.body.contains("value=\"5\""), "{}", bad.body);
    let bad = admin
        .post_form(
            &format!("{user_path}/tap"),
            &[
                ("csrf", &csrf),
                ("lifetime", "60"),
                ("start", "next tuesday"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.body
            .contains("id=\"start-error\">Start must be a date and time"),
        "{}",
        bad.body
    );
    assert!(
        app.store.get_tap(&id).await.unwrap().is_none(),
        "no pass issued"
    );
    // A start in the admin's zone (UTC+02:00 here), tomorrow.
    let tomorrow = onramp::clock::Clock::now(&app.clock) + time::Duration::days(1);
    let local = tomorrow.to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap());
    let start = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute()
    );
    let made = admin
        .post_form(
            &format!("{user_path}/tap"),
            &[
                ("csrf", &csrf),
                ("lifetime", "60"),
                ("start", &start),
                ("start_offset", "120"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let tap = app.store.get_tap(&id).await.unwrap().unwrap();
    let wanted = tomorrow
        .replace_second(0)
        .unwrap()
        .replace_nanosecond(0)
        .unwrap();
    assert_eq!(tap.start, wanted);
    let page = admin.get(&user_path).await;
    assert!(
        page.body.contains("<strong>Not yet valid</strong>"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn portal_forms_embedded() {
    portal_forms_on(Backend::Embedded).await;
}

#[tokio::test]
async fn portal_forms_redis() {
    portal_forms_on(Backend::Redis).await;
}

/// The policy, group and webhook forms refuse a bad value in place: the
/// same page (400), the error beside its field in plain words, what was
/// typed and ticked kept, and nothing written.
async fn portal_forms_refuse_in_place_on(backend: Backend) {
    use onramp::domain::group::NewGroup;
    use onramp::domain::user::NewUser;

    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let admin = admin_browser(&app).await;
    let global = crate::groups::global_caller(&app);
    let service = &app.state.admin;
    let new = NewUser {
        upn: "grace@example.com".into(),
        display_name: "Grace Hopper".into(),
        ..Default::default()
    };
    service.create_user(&global, new).await.unwrap();
    let csrf = admin.get("/admin/policy").await.field("csrf");
    let before = service.get_policy(&global).await.unwrap();
    let post = |path: &'static str, fields: Vec<(&'static str, &'static str)>| {
        let (admin, csrf) = (&admin, csrf.clone());
        async move {
            let mut form = vec![("csrf", csrf.as_str())];
            form.extend(fields);
            admin.post_form(path, &form).await
        }
    };

    // The TAP policy: a lifetime out of bounds, then an unknown user.
    let tap = |min: &'static str, exclude: &'static str| {
        vec![
            ("enabled", "yes"),
            ("min", min),
            ("default", "60"),
            ("max", "480"),
            ("length", "12"),
            ("once", "yes"),
            ("include_all", "yes"),
            ("include", ""),
            ("exclude", exclude),
        ]
    };
    let res = post("/admin/policy/tap", tap("5", "grace@example.com")).await;
    assert_inline(
        &res,
        400,
        "min",
        "Minimum lifetime must be between 10 and 43,200 minutes.",
    );
    let body = &res.body;
    assert!(
        body.contains("<h1>Authentication method policies</h1>"),
        "{body}"
    );
    assert!(
        !body.contains("minimumLifetimeInMinutes"),
        "no API words: {body}"
    );
    let tap_form =
        &body[body.find("id=\"tap-policy\"").unwrap()..body.find("id=\"passkey-policy\"").unwrap()];
    for kept in [
        "value=\"5\"",
        "value=\"12\"",
        "name=\"once\" value=\"yes\" checked",
        ">grace@example.com</textarea>",
    ] {
        assert!(tap_form.contains(kept), "{kept} not kept: {tap_form}");
    }
    let res = post("/admin/policy/tap", tap("30", "nobody@example.com")).await;
    assert_inline(&res, 400, "exclude", "There is no user nobody@example.com.");
    assert!(
        res.body
            .contains("id=\"tap-exclude\" name=\"exclude\" rows=\"3\" aria-invalid=\"true\""),
        "{}",
        res.body
    );
    assert!(
        res.body.contains(">nobody@example.com</textarea>"),
        "{}",
        res.body
    );
    assert!(res.body.contains("value=\"30\""), "{}", res.body);

    // Passkeys: a window out of bounds, a line that is no AAGUID, an
    // allow list without models.
    let passkey = |window: &'static str, restrict: &'static str, aaguids: &'static str| {
        vec![
            ("enabled", "yes"),
            ("self_service", "yes"),
            ("include_all", "yes"),
            ("include", ""),
            ("exclude", ""),
            ("window", window),
            ("mfa", "yes"),
            ("restrict", restrict),
            ("restriction", "allow"),
            ("aaguids", aaguids),
        ]
    };
    let res = post("/admin/policy/passkeys", passkey("0", "", "")).await;
    assert_inline(
        &res,
        400,
        "window",
        "Enrollment window must be between 1 and 1440 minutes.",
    );
    assert!(res.body.contains("value=\"0\""), "{}", res.body);
    let res = post(
        "/admin/policy/passkeys",
        passkey("10", "yes", "not-a-model"),
    )
    .await;
    assert_inline(
        &res,
        400,
        "aaguids",
        "AAGUIDs must be UUIDs, one per line; `not-a-model` is not one.",
    );
    assert!(res.body.contains(">not-a-model</textarea>"), "{}", res.body);
    assert!(
        res.body.contains("name=\"restrict\" value=\"yes\" checked"),
        "{}",
        res.body
    );
    let res = post("/admin/policy/passkeys", passkey("10", "yes", "")).await;
    assert_inline(
        &res,
        400,
        "aaguids",
        "An enforced allow list needs at least one AAGUID (it would block every passkey).",
    );
    assert!(!res.body.contains("keyRestrictions"), "{}", res.body);
    assert_eq!(
        service.get_policy(&global).await.unwrap(),
        before,
        "nothing written"
    );

    // Groups: a bad mail nickname; nothing is created.
    let res = post(
        "/admin/groups",
        vec![
            ("display_name", "Night shift"),
            ("description", "Works late"),
            ("mail_nickname", "night shift"),
        ],
    )
    .await;
    assert_inline(&res, 400, "mail_nickname", "Mail nickname may hold ");
    assert!(
        res.body
            .contains("aria-describedby=\"mail_nickname-error mail_nickname-hint\""),
        "the hint too: {}",
        res.body
    );
    for kept in [
        "value=\"Night shift\"",
        "value=\"Works late\"",
        "value=\"night shift\"",
    ] {
        assert!(res.body.contains(kept), "{kept} not kept: {}", res.body);
    }
    assert!(!res.body.contains("mailNickname"), "{}", res.body);
    assert_eq!(service.count_groups(&global).await.unwrap(), 0);

    // Editing a group: an empty name; the group stays as it was.
    let group = service
        .create_group(
            &global,
            NewGroup {
                display_name: Some("Day shift".into()),
                mail_nickname: Some("day".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let path = format!("/admin/groups/{}", group.id);
    let res = admin
        .post_form(
            &path,
            &[
                ("csrf", &csrf),
                ("display_name", "  "),
                ("description", "Works early"),
            ],
        )
        .await;
    assert_inline(&res, 400, "display_name", "Display name must not be empty.");
    assert!(res.body.contains("<h1>Day shift</h1>"), "{}", res.body);
    assert!(res.body.contains("value=\"Works early\""), "{}", res.body);
    let stored = service.get_group(&global, &group.id).await.unwrap();
    assert_eq!(
        (stored.display_name.as_str(), stored.description),
        ("Day shift", None)
    );

    // Webhooks: a URL in clear to another host; nothing is subscribed.
    let res = post(
        "/admin/webhooks",
        vec![
            ("url", "http://hooks.example.com/in"),
            ("description", "HR tracker"),
            ("event", "user.created"),
            ("event", "policy.changed"),
            ("passcodes", "yes"),
        ],
    )
    .await;
    assert_inline(
        &res,
        400,
        "url",
        "URL must be https (http only to localhost, 127.0.0.1 or [::1]).",
    );
    for kept in [
        "value=\"http://hooks.example.com/in\"",
        "value=\"HR tracker\"",
        "value=\"user.created\" checked",
        "value=\"policy.changed\" checked",
        "<details open>",
        "name=\"passcodes\" value=\"yes\" checked",
    ] {
        assert!(res.body.contains(kept), "{kept} not kept: {}", res.body);
    }
    assert!(app.state.webhooks.list(&global).await.unwrap().is_empty());
}

#[tokio::test]
async fn portal_forms_refuse_in_place_embedded() {
    portal_forms_refuse_in_place_on(Backend::Embedded).await;
}

#[tokio::test]
async fn portal_forms_refuse_in_place_redis() {
    portal_forms_refuse_in_place_on(Backend::Redis).await;
}

/// Registering a client in the portal: errors beside their fields in plain
/// words; application permissions picked from what the admin holds, and
/// the application then gets exactly those with client credentials.
#[tokio::test]
async fn portal_registers_clients_with_a_permission_picker() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let admin = admin_browser(&app).await;
    let page = admin.get("/admin/clients").await;
    assert!(
        page.body
            .contains("name=\"permission\" value=\"User.ReadWrite.All\""),
        "{}",
        page.body
    );
    assert!(
        !page
            .body
            .contains("value=\"RoleManagement.ReadWrite.Directory\""),
        "{}",
        page.body
    );
    let csrf = page.field("csrf");
    let post = |extra: Vec<(&'static str, &'static str)>| {
        let admin = &admin;
        let csrf = csrf.clone();
        async move {
            let mut form = vec![("csrf", csrf.as_str())];
            form.extend(extra);
            admin.post_form("/admin/clients", &form).await
        }
    };
    let bad = post(vec![
        ("name", "Payroll"),
        ("redirect_uris", "ftp://payroll.example.com/cb"),
        ("grant", "authorization_code"),
        ("auth", "client_secret_basic"),
    ])
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.body.contains(
            "id=\"redirect_uris-error\">Redirect URIs `ftp://payroll.example.com/cb` must be https"
        ),
        "{}",
        bad.body
    );
    assert!(
        bad.body
            .contains("aria-describedby=\"redirect_uris-error\""),
        "{}",
        bad.body
    );
    assert!(
        !bad.body.contains("redirectUris"),
        "no API words: {}",
        bad.body
    );
    assert!(bad.body.contains("value=\"Payroll\""), "{}", bad.body);
    assert!(
        bad.body
            .contains(">ftp://payroll.example.com/cb</textarea>"),
        "{}",
        bad.body
    );
    let bad = post(vec![
        ("name", "Reports"),
        ("redirect_uris", "https://reports.example.com/cb"),
        ("grant", "authorization_code"),
        ("auth", "client_secret_basic"),
        ("permission", "AuditLog.Read.All"),
    ])
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.body
            .contains("id=\"permission-error\">Permissions need the client_credentials grant"),
        "{}",
        bad.body
    );
    assert!(
        bad.body.contains("value=\"AuditLog.Read.All\" checked"),
        "ticks kept: {}",
        bad.body
    );
    let bad = post(vec![
        ("name", "Odd"),
        ("grant", "client_credentials"),
        ("permission", "Everything.All"),
    ])
    .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.body
            .contains("Permissions has no permission Everything.All"),
        "{}",
        bad.body
    );

    let made = post(vec![
        ("name", "HR sync"),
        ("grant", "client_credentials"),
        ("auth", "client_secret_basic"),
        ("permission", "User.ReadWrite.All"),
    ])
    .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let shown = admin.follow(made).await;
    let text_of = |id: &str| {
        let start = shown.body.find(&format!("<code id=\"{id}\">")).unwrap() + id.len() + 12;
        shown.body[start..start + shown.body[start..].find('<').unwrap()].to_owned()
    };
    let (id, secret) = (text_of("client-id"), text_of("client-secret"));
    let tokens: Value = app
        .http
        .post(app.url("/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tokens["scope"], "User.ReadWrite.All", "{tokens}");
    let token = tokens["access_token"].as_str().unwrap();
    let (s, _) = app.api(Method::GET, "/users", token, None).await;
    assert_eq!(s, 200);
    let (s, _) = app
        .api(Method::GET, "/auditLogs/directoryAudits", token, None)
        .await;
    assert_eq!(s, 403, "only what was granted");
    let clients = admin.get("/admin/clients").await;
    assert!(
        clients
            .body
            .contains("<td class=\"small\">User.ReadWrite.All</td>"),
        "{}",
        clients.body
    );
}
