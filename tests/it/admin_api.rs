//! The admin API for users and Temporary Access Passes, on both stores.

use reqwest::Method;
use serde_json::{Value, json};
use time::Duration;

use onramp::crypto::hasher;
use onramp::domain::audit::{ActorKind, AuditEventType};
use onramp::domain::tap;

use crate::helpers::*;

/// Graph's error envelope with the Graph code for what `code` names.
fn assert_problem(status: u16, body: &Value, expected_status: u16, code: &str) {
    let graph = match code {
        "invalid_request" => "Request_BadRequest",
        "not_found" => "Request_ResourceNotFound",
        "forbidden" => "Authorization_RequestDenied",
        "unauthorized" => "InvalidAuthenticationToken",
        "conflict" => "Conflict",
        "unsupported_media_type" => "Request_UnsupportedMediaType",
        "payload_too_large" => "Request_EntityTooLarge",
        "store_unavailable" => "serviceNotAvailable",
        "method_not_allowed" => "Request_MethodNotAllowed",
        other => other,
    };
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["error"]["code"], graph, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
            && body["error"]["innerError"]["request-id"].as_str().is_some(),
        "{body}"
    );
}

async fn provisioning_flow(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let token = app.hr_token().await;

    // Create a user.
    let res = app
        .http
        .post(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .json(&json!({"userPrincipalName": "Ada@Example.com", "displayName": "Ada Lovelace", "mail": "ada@example.com", "mailNickname": "ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let user: Value = res.json().await.unwrap();
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(location, app.url(&format!("/api/v1/users/{id}")));
    assert_eq!(user["userPrincipalName"], "Ada@Example.com");
    assert_eq!(user["displayName"], "Ada Lovelace");
    assert_eq!(user["accountEnabled"], true);
    assert!(user["createdDateTime"].as_str().unwrap().ends_with('Z'));

    // Read it by id and by UPN in any case; it shows in the list.
    let (status, by_id) = app
        .api(Method::GET, &format!("/users/{id}"), &token, None)
        .await;
    assert_eq!((status, &by_id), (200, &user));
    let (status, by_upn) = app
        .api(Method::GET, "/users/ada@EXAMPLE.com", &token, None)
        .await;
    assert_eq!((status, by_upn["id"].as_str()), (200, Some(id.as_str())));
    let (status, list) = app.api(Method::GET, "/users", &token, None).await;
    assert_eq!(status, 200);
    let upns: Vec<_> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap())
        .collect();
    assert_eq!(upns, ["Ada@Example.com", "admin@localhost"]);

    // Issue a pass with the policy defaults.
    let taps = format!("/users/{id}/authentication/temporaryAccessPassMethods");
    let (status, created) = app.api(Method::POST, &taps, &token, Some(json!({}))).await;
    assert_eq!(status, 201, "{created}");
    let passcode = created["temporaryAccessPass"].as_str().unwrap().to_owned();
    assert_eq!(passcode.len(), 8);
    assert!(
        passcode.bytes().all(|b| tap::ALPHABET.contains(&b)),
        "{passcode}"
    );
    assert_eq!(created["lifetimeInMinutes"], 60);
    assert_eq!(created["isUsableOnce"], false);
    assert_eq!(created["isUsable"], true);
    assert_eq!(created["methodUsabilityReason"], "EnabledByPolicy");
    let tap_id = created["id"].as_str().unwrap().to_owned();

    // Only the hash is stored, and it accepts the passcode typed sloppily.
    let stored = app.store.get_tap(&id).await.unwrap().unwrap();
    assert!(stored.hash.starts_with("$argon2id$"));
    assert!(!stored.hash.contains(&passcode));
    let sloppy = format!(" {}-{} ", passcode[..4].to_lowercase(), &passcode[4..]);
    assert!(hasher::verify(
        tap::normalise(&sloppy).as_bytes(),
        &stored.hash
    ));

    // Listing and reading never show the passcode again.
    let (status, list) = app.api(Method::GET, &taps, &token, None).await;
    assert_eq!(status, 200);
    let value = list["value"].as_array().unwrap();
    assert_eq!(value.len(), 1);
    assert_eq!(value[0]["id"], tap_id.as_str());
    assert_eq!(value[0]["temporaryAccessPass"], Value::Null);
    assert!(!list.to_string().contains(&passcode));
    let (status, one) = app
        .api(Method::GET, &format!("{taps}/{tap_id}"), &token, None)
        .await;
    assert_eq!(
        (status, one["temporaryAccessPass"].clone()),
        (200, Value::Null)
    );

    // A second pass replaces the first.
    let (status, second) = app
        .api(
            Method::POST,
            &taps,
            &token,
            Some(json!({"lifetimeInMinutes": 120, "isUsableOnce": true})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(second["isUsableOnce"], true);
    assert_eq!(second["lifetimeInMinutes"], 120);
    let second_id = second["id"].as_str().unwrap().to_owned();
    let (_, list) = app.api(Method::GET, &taps, &token, None).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    assert_eq!(list["value"][0]["id"], second_id.as_str());
    let (status, gone) = app
        .api(Method::GET, &format!("{taps}/{tap_id}"), &token, None)
        .await;
    assert_problem(status, &gone, 404, "not_found");

    // Delete it.
    let (status, _) = app
        .api(Method::DELETE, &format!("{taps}/{second_id}"), &token, None)
        .await;
    assert_eq!(status, 204);
    let (_, list) = app.api(Method::GET, &taps, &token, None).await;
    assert_eq!(list["value"], json!([]));
    let (status, body) = app
        .api(Method::DELETE, &format!("{taps}/{second_id}"), &token, None)
        .await;
    assert_problem(status, &body, 404, "not_found");

    // Update and delete the user.
    let (status, _) = app
        .api(Method::PATCH, &format!("/users/{id}"), &token, Some(json!({"displayName": "Ada King", "mail": null, "userPrincipalName": "ada.king@example.com"})))
        .await;
    assert_eq!(status, 204);
    let (_, after) = app
        .api(Method::GET, "/users/ada.king@example.com", &token, None)
        .await;
    assert_eq!(after["displayName"], "Ada King");
    assert_eq!(after["mail"], Value::Null);
    let (status, body) = app
        .api(Method::GET, "/users/ada@example.com", &token, None)
        .await;
    assert_problem(status, &body, 404, "not_found");
    let (status, _) = app
        .api(Method::DELETE, &format!("/users/{id}"), &token, None)
        .await;
    assert_eq!(status, 204);
    let (status, body) = app
        .api(Method::GET, &format!("/users/{id}"), &token, None)
        .await;
    assert_problem(status, &body, 404, "not_found");

    // Every create and delete was audited, with the client as actor.
    let events = app
        .store
        .list_audit(&Default::default(), None, 100)
        .await
        .unwrap()
        .events;
    let mut by_hr: Vec<_> = events
        .iter()
        .filter(|e| e.actor.kind == ActorKind::Client && e.actor.id == HR_ID)
        .map(|e| e.event_type.as_str())
        .collect();
    // The test clock stands still, so order within one instant is not asserted.
    by_hr.sort_unstable();
    assert_eq!(
        by_hr,
        [
            "tap.created",
            "tap.created",
            "tap.deleted",
            "user.created",
            "user.deleted",
            "user.updated"
        ]
    );
    assert!(
        events.windows(2).all(|w| w[0].time >= w[1].time),
        "newest first"
    );
    let _ = AuditEventType::UserCreated;
    assert!(
        events.iter().all(|e| e.actor.kind != ActorKind::Client
            || e.client_address.as_deref() == Some("127.0.0.1"))
    );
    assert!(
        events
            .iter()
            .filter(|e| e.actor.kind == ActorKind::Client)
            .all(|e| e.request_id.is_some())
    );
}

#[tokio::test]
async fn provisioning_flow_embedded() {
    provisioning_flow(Backend::Embedded).await;
}

#[tokio::test]
async fn provisioning_flow_redis() {
    provisioning_flow(Backend::Redis).await;
}

async fn policy_and_time(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let token = app.hr_token().await;
    let (_, user) = app
        .api(
            Method::POST,
            "/users",
            &token,
            Some(json!({"userPrincipalName": "bob@example.com", "displayName": "Bob"})),
        )
        .await;
    let taps = format!(
        "/users/{}/authentication/temporaryAccessPassMethods",
        user["id"].as_str().unwrap()
    );

    // Outside the policy's lifetime bounds: 400 naming the bound.
    for minutes in [59, 481] {
        let (status, body) = app
            .api(
                Method::POST,
                &taps,
                &token,
                Some(json!({"lifetimeInMinutes": minutes})),
            )
            .await;
        assert_problem(status, &body, 400, "invalid_request");
        let detail = body["error"]["message"].as_str().unwrap();
        assert!(
            detail.contains("lifetimeInMinutes") && detail.contains("60") && detail.contains("480"),
            "{detail}"
        );
    }
    let (status, body) = app
        .api(
            Method::POST,
            &taps,
            &token,
            Some(json!({"startDateTime": "tomorrow"})),
        )
        .await;
    assert_problem(status, &body, 400, "invalid_request");
    let (status, body) = app
        .api(Method::POST, &taps, &token, Some(json!({"lifetime": 60})))
        .await;
    assert_problem(status, &body, 400, "invalid_request");

    // A pass starting tomorrow is not yet valid, then valid, then expired.
    let start = onramp::clock::Clock::now(&app.clock) + Duration::days(1);
    let start_text = start
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (status, created) = app
        .api(
            Method::POST,
            &taps,
            &token,
            Some(json!({"startDateTime": start_text, "lifetimeInMinutes": 480})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["methodUsabilityReason"], "NotYetValid");
    assert_eq!(created["isUsable"], false);
    assert_eq!(created["startDateTime"], start_text.as_str());
    app.clock.advance(Duration::days(1));
    let (_, list) = app
        .api(Method::GET, &taps, &app.hr_token().await, None)
        .await;
    assert_eq!(list["value"][0]["methodUsabilityReason"], "EnabledByPolicy");
    app.clock.advance(Duration::minutes(480));
    let token = app.hr_token().await;
    let (_, list) = app.api(Method::GET, &taps, &token, None).await;
    assert_eq!(list["value"][0]["methodUsabilityReason"], "Expired");
    assert_eq!(list["value"][0]["isUsable"], false);
}

#[tokio::test]
async fn policy_bounds_and_usability_embedded() {
    policy_and_time(Backend::Embedded).await;
}

#[tokio::test]
async fn policy_bounds_and_usability_redis() {
    policy_and_time(Backend::Redis).await;
}

#[tokio::test]
async fn authentication_and_permissions() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;

    // No token.
    let res = app.http.get(app.url("/api/v1/users")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let body: Value = res.json().await.unwrap();
    assert_problem(401, &body, 401, "unauthorized");

    // A forged token (signature changed) and a token from elsewhere.
    let token = app.hr_token().await;
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let (status, body) = app.api(Method::GET, "/users", &forged, None).await;
    assert_problem(status, &body, 401, "unauthorized");
    let (status, body) = app.api(Method::GET, "/users", "not.a.jwt", None).await;
    assert_problem(status, &body, 401, "unauthorized");

    // An expired token.
    app.clock.advance(Duration::seconds(3600));
    let (status, body) = app.api(Method::GET, "/users", &token, None).await;
    assert_problem(status, &body, 401, "unauthorized");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );

    // A token without the permission the call needs.
    let reader = app.token(READER_ID, READER_SECRET).await;
    let (status, _) = app.api(Method::GET, "/users", &reader, None).await;
    assert_eq!(status, 200);
    let (status, body) = app
        .api(
            Method::GET,
            "/users/admin@localhost/authentication/temporaryAccessPassMethods",
            &reader,
            None,
        )
        .await;
    assert_problem(status, &body, 403, "forbidden");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("UserAuthenticationMethod.ReadWrite.All")
    );

    // An application never changes an administrator or issues them a pass.
    let hr = app.hr_token().await;
    let admin_taps = "/users/admin@localhost/authentication/temporaryAccessPassMethods";
    let (status, body) = app
        .api(Method::POST, admin_taps, &hr, Some(json!({})))
        .await;
    assert_problem(status, &body, 403, "forbidden");
    let (status, body) = app
        .api(
            Method::PATCH,
            "/users/admin@localhost",
            &hr,
            Some(json!({"accountEnabled": false})),
        )
        .await;
    assert_problem(status, &body, 403, "forbidden");
    let (status, body) = app
        .api(Method::DELETE, "/users/admin@localhost", &hr, None)
        .await;
    assert_problem(status, &body, 403, "forbidden");
    // Reading them is fine.
    let (status, _) = app.api(Method::GET, admin_taps, &hr, None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn bad_input_gets_problem_details() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let token = app.hr_token().await;
    let cases = [
        (
            json!({"userPrincipalName": "no-at-sign", "displayName": "X"}),
            400,
            "invalid_request",
            "userPrincipalName",
        ),
        (
            json!({"userPrincipalName": "x@example.com"}),
            400,
            "invalid_request",
            "displayName",
        ),
        (
            json!({"userPrincipalName": "x@example.com", "displayName": "X", "surnam": "typo"}),
            400,
            "invalid_request",
            "surnam",
        ),
        (
            json!({"userPrincipalName": "ADMIN@localhost", "displayName": "Dup"}),
            409,
            "conflict",
            "already exists",
        ),
        (
            json!({"userPrincipalName": 42, "displayName": "X"}),
            400,
            "invalid_request",
            "userPrincipalName",
        ),
    ];
    for (body, status, code, needle) in cases {
        let (s, b) = app
            .api(Method::POST, "/users", &token, Some(body.clone()))
            .await;
        assert_problem(s, &b, status, code);
        assert!(
            b["error"]["message"].as_str().unwrap().contains(needle),
            "{body} -> {b}"
        );
    }
    let res = app
        .http
        .post(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = app
        .http
        .post(app.url("/api/v1/users"))
        .bearer_auth(&token)
        .body("x=1")
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    assert_eq!(res.headers()["content-type"], "application/json");
    let (status, body) = app.api(Method::GET, "/users?$top=0", &token, None).await;
    assert_problem(status, &body, 400, "invalid_request");
    let (status, body) = app
        .api(Method::GET, "/users?$skiptoken=%%%", &token, None)
        .await;
    assert_problem(status, &body, 400, "invalid_request");
    let (status, body) = app.api(Method::GET, "/nothing-here", &token, None).await;
    assert_problem(status, &body, 404, "not_found");
    let (status, body) = app
        .api(Method::GET, "/users/no-such-id", &token, None)
        .await;
    assert_problem(status, &body, 404, "not_found");

    // Paging with $top and @odata.nextLink.
    for name in ["a", "b", "c"] {
        let (s, _) = app.api(Method::POST, "/users", &token, Some(json!({"userPrincipalName": format!("{name}@example.com"), "displayName": name}))).await;
        assert_eq!(s, 201);
    }
    let (_, page) = app.api(Method::GET, "/users?$top=2", &token, None).await;
    assert_eq!(page["value"].as_array().unwrap().len(), 2);
    let next = page["@odata.nextLink"].as_str().unwrap().to_owned();
    let mut seen: Vec<String> = page["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap().to_owned())
        .collect();
    let res: Value = app
        .http
        .get(&next)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    seen.extend(
        res["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["userPrincipalName"].as_str().unwrap().to_owned()),
    );
    assert!(res.get("@odata.nextLink").is_none());
    assert_eq!(
        seen,
        [
            "a@example.com",
            "admin@localhost",
            "b@example.com",
            "c@example.com"
        ]
    );
}

#[tokio::test]
async fn bootstrap_creates_the_admin_with_a_pass() {
    for backend in BACKENDS {
        let store = StoreHandle::new(backend);
        let app = TestApp::spawn(&store).await;
        let issued = app.bootstrap.as_ref().expect("first start bootstraps");
        assert_eq!(issued.user.upn.as_str(), "admin@localhost");
        assert_eq!(
            issued.user.roles,
            [onramp::domain::user::DirectoryRole::GlobalAdministrator]
        );
        assert_eq!(issued.tap.view.tap.lifetime_minutes, 60);
        let stored = app.store.get_tap(&issued.user.id).await.unwrap().unwrap();
        assert!(hasher::verify(issued.tap.passcode.as_bytes(), &stored.hash));
        assert!(issued.sign_in_url.starts_with(&app.base));
    }
}

#[tokio::test]
async fn embedded_restart_keeps_users_passes_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("embedded:{}", dir.path().join("db.redb").display());
    let clock = onramp::clock::ManualClock::starting_now();
    let (jwks, user_id) = {
        let app = TestApp::spawn_with(url.clone(), "x", clock.clone(), |_| {}).await;
        let token = app.hr_token().await;
        let (_, user) = app
            .api(
                Method::POST,
                "/users",
                &token,
                Some(json!({"userPrincipalName": "keep@example.com", "displayName": "Keep"})),
            )
            .await;
        let id = user["id"].as_str().unwrap().to_owned();
        let (s, _) = app
            .api(
                Method::POST,
                &format!("/users/{id}/authentication/temporaryAccessPassMethods"),
                &token,
                Some(json!({})),
            )
            .await;
        assert_eq!(s, 201);
        let jwks: Value = app
            .http
            .get(app.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        app.handle.stop(true).await;
        (jwks, id)
    };
    // The file lock is released once the server has stopped.
    let mut reopened = None;
    for _ in 0..50 {
        match onramp::store::embedded::EmbeddedStore::open(&dir.path().join("db.redb")) {
            Ok(s) => {
                reopened = Some(s);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    drop(reopened.expect("store reopens after shutdown"));
    let app = TestApp::spawn_with(url, "x", clock, |_| {}).await;
    assert!(app.bootstrap.is_none());
    let now: Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(now, jwks);
    let token = app.hr_token().await;
    let (s, list) = app
        .api(
            Method::GET,
            &format!("/users/{user_id}/authentication/temporaryAccessPassMethods"),
            &token,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
}
