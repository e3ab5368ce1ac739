//! The onboarding progress report: Graph's userRegistrationDetails with
//! `$filter` and paging, and the portal's funnel, stuck list (with a new
//! pass in one click) and CSV export, against users in every stage. The
//! clock is moved to let a pass expire. Both stores.

use reqwest::Method;
use serde_json::{Value, json};
use time::Duration;

use crate::browser::Browser;
use crate::helpers::*;
use crate::portal::admin_browser;

const REPORT: &str = "/reports/authenticationMethods/userRegistrationDetails";

async fn create(app: &TestApp, hr: &str, upn: &str, extra: Value) -> String {
    let mut body = json!({"userPrincipalName": upn, "displayName": upn});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (s, user) = app.api(Method::POST, "/users", hr, Some(body)).await;
    assert_eq!(s, 201, "{user}");
    user["id"].as_str().unwrap().to_owned()
}

async fn pass(app: &TestApp, hr: &str, id: &str) -> String {
    let (s, tap) = app
        .api(
            Method::POST,
            &format!("/users/{id}/authentication/temporaryAccessPassMethods"),
            hr,
            Some(json!({"lifetimeInMinutes": 60, "isUsableOnce": true})),
        )
        .await;
    assert_eq!(s, 201, "{tap}");
    tap["temporaryAccessPass"].as_str().unwrap().to_owned()
}

/// The report's items, following every nextLink.
async fn all_pages(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let (s, mut page) = app
        .api(Method::GET, &format!("{REPORT}{query}"), token, None)
        .await;
    assert_eq!(s, 200, "{page}");
    let mut items = page["value"].as_array().unwrap().clone();
    while let Some(next) = page["@odata.nextLink"].as_str() {
        let res = app.http.get(next).bearer_auth(token).send().await.unwrap();
        assert_eq!(res.status(), 200);
        page = res.json().await.unwrap();
        items.extend(page["value"].as_array().unwrap().iter().cloned());
    }
    items
}

fn upns(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|i| i["userPrincipalName"].as_str().unwrap())
        .collect()
}

async fn report_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let prefix = format!("t{}", free_port());
    let app = TestApp::spawn_with(
        store.url(),
        &prefix,
        onramp::clock::ManualClock::starting_now(),
        // The administrator signs in after the clock has moved an hour;
        // the API tokens outlive it.
        |s| {
            s.bootstrap.tap_lifetime_minutes = 480;
            s.tokens.access_token_lifetime_seconds = 86_400;
        },
    )
    .await;
    let hr = app.hr_token().await;
    let reader = app.token(POLICY_ID, POLICY_SECRET).await;

    let scheduled = create(
        &app,
        &hr,
        "scheduled@example.com",
        json!({"employeeHireDate": "2099-01-04T00:00:00Z"}),
    )
    .await;
    let stuck = create(
        &app,
        &hr,
        "stuck@example.com",
        json!({"employeeHireDate": "2020-01-04T00:00:00Z"}),
    )
    .await;
    pass(&app, &hr, &stuck).await;
    // The first pass runs out unused.
    app.clock.advance(Duration::minutes(61));
    let issued = create(&app, &hr, "issued@example.com", json!({})).await;
    pass(&app, &hr, &issued).await;
    let used = create(&app, &hr, "used@example.com", json!({})).await;
    let code = pass(&app, &hr, &used).await;
    let person = Browser::new(&app.base);
    let page = person.open("/admin/login").await;
    person
        .sign_in_with_tap(&page, "used@example.com", &code)
        .await;
    let enrolled = create(&app, &hr, "passkey@example.com", json!({})).await;
    let code = pass(&app, &hr, &enrolled).await;
    let mut person = Browser::new(&app.base);
    let page = person.open("/admin/login").await;
    let after = person
        .sign_in_with_tap(&page, "passkey@example.com", &code)
        .await;
    let enroll_page = person.follow(after).await;
    person.enroll(&enroll_page).await;

    let admin = admin_browser(&app).await;

    // Graph's shape, one item per user.
    let items = all_pages(&app, &reader, "").await;
    assert_eq!(
        upns(&items),
        [
            "admin@localhost",
            "issued@example.com",
            "passkey@example.com",
            "scheduled@example.com",
            "stuck@example.com",
            "used@example.com"
        ]
    );
    let of = |upn: &str| {
        items
            .iter()
            .find(|i| i["userPrincipalName"] == upn)
            .unwrap()
            .clone()
    };
    let p = of("passkey@example.com");
    assert_eq!(p["id"], enrolled.as_str());
    assert_eq!(p["isMfaRegistered"], true);
    assert_eq!(p["isPasswordlessCapable"], true);
    assert_eq!(p["methodsRegistered"], json!(["passKeyDeviceBound"]));
    assert_eq!(p["userType"], "member");
    assert_eq!(p["isAdmin"], false);
    assert_eq!(p["isSsprRegistered"], false);
    assert_eq!(
        of("issued@example.com")["methodsRegistered"],
        json!(["temporaryAccessPass"])
    );
    assert_eq!(of("issued@example.com")["isMfaRegistered"], false);
    assert_eq!(of("used@example.com")["methodsRegistered"], json!([]));
    assert_eq!(of("stuck@example.com")["methodsRegistered"], json!([]));
    assert_eq!(of("admin@localhost")["isAdmin"], true);
    assert_eq!(of("scheduled@example.com")["id"], scheduled.as_str());

    // $filter through the OData parser; paging by $top and nextLink.
    let f = all_pages(&app, &reader, "?$filter=isMfaRegistered eq true").await;
    assert_eq!(upns(&f), ["admin@localhost", "passkey@example.com"]);
    let f = all_pages(
        &app,
        &reader,
        "?$filter=methodsRegistered/any(m: m eq 'temporaryAccessPass')",
    )
    .await;
    // The bootstrap pass is reusable and still in its window: it counts.
    assert_eq!(upns(&f), ["admin@localhost", "issued@example.com"]);
    let f = all_pages(
        &app,
        &reader,
        "?$filter=startswith(userPrincipalName,'s') and isAdmin eq false",
    )
    .await;
    assert_eq!(upns(&f), ["scheduled@example.com", "stuck@example.com"]);
    let (s, first) = app
        .api(Method::GET, &format!("{REPORT}?$top=4"), &reader, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(first["value"].as_array().unwrap().len(), 4);
    assert!(
        first["@odata.nextLink"]
            .as_str()
            .unwrap()
            .contains("skiptoken=")
    );
    assert_eq!(all_pages(&app, &reader, "?$top=4").await.len(), 6);
    let (_, one) = app
        .api(
            Method::GET,
            &format!("{REPORT}/stuck@example.com?$select=id,isMfaRegistered"),
            &reader,
            None,
        )
        .await;
    assert_eq!(one["id"], stuck.as_str());
    assert!(one.get("methodsRegistered").is_none(), "{one}");

    // What is not supported is a 400 naming it; the permission is Graph's.
    for (query, named) in [
        ("?$expand=x", "$expand"),
        (
            "?$filter=lastUpdatedDateTime ge 2020-01-01T00:00:00Z",
            "lastUpdatedDateTime",
        ),
        ("?$filter=isAdmin ne true", "isAdmin"),
        ("?since=yesterday", "since"),
    ] {
        let (s, e) = app
            .api(Method::GET, &format!("{REPORT}{query}"), &reader, None)
            .await;
        assert_eq!(s, 400, "{query}: {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(named),
            "{query}: {e}"
        );
    }
    let (s, _) = app.api(Method::GET, REPORT, &hr, None).await;
    assert_eq!(s, 403);

    // The portal's funnel, stuck list and export.
    let page = admin.get("/admin/onboarding").await;
    assert_eq!(page.status, 200, "{}", page.body);
    for (stage, n) in [
        ("Scheduled", 1),
        ("No pass yet", 0),
        ("Pass issued", 1),
        ("Pass used", 1),
        ("Passkey registered", 2),
        ("Pass expired unused", 1),
    ] {
        let row = format!("<th scope=\"row\">{stage}</th><td>{n}</td>");
        assert!(page.body.contains(&row), "{row} missing in {}", page.body);
    }
    let action = format!("/admin/users/{stuck}/tap");
    assert!(page.body.contains(&action), "{}", page.body);
    let csv = admin.get("/admin/onboarding/report.csv").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.body
            .starts_with("id,userPrincipalName,userDisplayName,stage,"),
        "{}",
        csv.body
    );
    assert_eq!(csv.body.lines().count(), 7);
    assert!(
        csv.body.lines().any(|l| l.starts_with(&format!("{stuck},stuck@example.com,stuck@example.com,Pass expired unused,2020-01-04T00:00:00Z,false,false,,"))),
        "{}",
        csv.body
    );

    // One click issues a new pass (shown once); nobody is stuck after it.
    let csrf = page.field("csrf");
    let posted = admin
        .post_form(&action, &[("csrf", &csrf), ("once", "yes")])
        .await;
    assert_eq!(posted.status, 303, "{}", posted.body);
    assert!(
        posted
            .location
            .as_deref()
            .unwrap()
            .starts_with("/admin/shown/")
    );
    let shown = admin.follow(posted).await;
    assert!(
        shown.body.contains("<code id=\"passcode\">"),
        "{}",
        shown.body
    );
    let page = admin.get("/admin/onboarding").await;
    assert!(page.body.contains("Nobody is stuck."), "{}", page.body);
    assert!(
        page.body
            .contains("<th scope=\"row\">Pass issued</th><td>2</td>"),
        "{}",
        page.body
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_report_embedded() {
    report_on(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_report_redis() {
    report_on(Backend::Redis).await;
}
