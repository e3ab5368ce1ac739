//! JSON batching (`POST /api/v1/$batch`), on both stores: each inner
//! request is served as if it had been sent alone (routing, token,
//! permissions, validation, Graph's errors, its own request id, audit with
//! the client's address), in order, after the requests it depends on.

use std::collections::HashSet;

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use onramp::crypto::hasher;
use onramp::domain::audit::AuditFilter;
use onramp::domain::tap;

use crate::helpers::*;

/// Sends a batch body with `token` (if any); returns status and JSON.
async fn post_batch(app: &TestApp, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = app
        .http
        .post(app.url("/api/v1/$batch"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A batch that must succeed: its responses by id, each checked to be
/// there once.
async fn batch(app: &TestApp, token: &str, requests: Value) -> Vec<Value> {
    let sent: Vec<String> = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let (status, body) = post_batch(app, Some(token), &json!({ "requests": requests })).await;
    assert_eq!(status, 200, "{body}");
    let responses = body["responses"].as_array().unwrap().clone();
    let ids: Vec<String> = responses
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, sent, "one response per request, in request order");
    responses
}

/// Graph's error envelope with `code`, its message mentioning `mention`.
fn assert_graph_error(body: &Value, code: &str, mention: &str) {
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains(mention), "{mention:?} not in {body}");
    assert!(
        error["innerError"]["request-id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{body}"
    );
}

/// An inner response with `status` and Graph's error `code`.
fn assert_inner_error(response: &Value, status: u16, code: &str, mention: &str) {
    assert_eq!(response["status"], status, "{response}");
    assert_eq!(
        response["headers"]["Content-Type"], "application/json",
        "{response}"
    );
    assert_graph_error(&response["body"], code, mention);
}

fn create_user(id: &str, upn: &str) -> Value {
    json!({
        "id": id,
        "method": "POST",
        "url": "/users",
        "headers": {"Content-Type": "application/json"},
        "body": {"userPrincipalName": upn, "displayName": upn, "mailNickname": "x"},
    })
}

fn create_tap(id: &str, user: &str) -> Value {
    json!({
        "id": id,
        "method": "POST",
        "url": format!("/users/{user}/authentication/temporaryAccessPassMethods"),
        "headers": {"Content-Type": "application/json"},
        "body": {"lifetimeInMinutes": 60},
    })
}

async fn twenty_passes_in_one_batch(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let token = app.hr_token().await;

    // Twenty users in one batch, then a pass for each in another.
    let upns: Vec<String> = (0..20).map(|i| format!("b{i}@example.com")).collect();
    let requests: Vec<Value> = upns
        .iter()
        .enumerate()
        .map(|(i, upn)| create_user(&format!("u{i}"), upn))
        .collect();
    let created = batch(&app, &token, Value::Array(requests)).await;
    let mut ids = Vec::new();
    for (r, upn) in created.iter().zip(&upns) {
        assert_eq!(r["status"], 201, "{r}");
        assert_eq!(r["body"]["userPrincipalName"], upn.as_str(), "{r}");
        let id = r["body"]["id"].as_str().unwrap().to_owned();
        assert_eq!(
            r["headers"]["Location"],
            app.url(&format!("/api/v1/users/{id}")),
            "{r}"
        );
        ids.push(id);
    }

    let requests: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| create_tap(&(i + 1).to_string(), id))
        .collect();
    let passes = batch(&app, &token, Value::Array(requests)).await;
    let mut request_ids = HashSet::new();
    let mut passcodes = HashSet::new();
    for (r, user_id) in passes.iter().zip(&ids) {
        assert_eq!(r["status"], 201, "{r}");
        assert!(
            r["headers"]["Content-Type"]
                .as_str()
                .unwrap()
                .starts_with("application/json"),
            "{r}"
        );
        assert_eq!(r["headers"]["Cache-Control"], "no-store", "{r}");
        request_ids.insert(r["headers"]["request-id"].as_str().unwrap().to_owned());
        let passcode = r["body"]["temporaryAccessPass"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(passcode.bytes().all(|b| tap::ALPHABET.contains(&b)), "{r}");
        // Each pass is really stored (as a hash) for its user.
        let stored = app.store.get_tap(user_id).await.unwrap().unwrap();
        assert_eq!(r["body"]["id"], stored.id.as_str(), "{r}");
        assert!(hasher::verify(
            tap::normalise(&passcode).as_bytes(),
            &stored.hash
        ));
        passcodes.insert(passcode);
    }
    assert_eq!(passcodes.len(), 20);
    assert_eq!(request_ids.len(), 20, "each inner request has its own id");
    app.stop().await;
}

#[tokio::test]
async fn twenty_passes_in_one_batch_embedded() {
    twenty_passes_in_one_batch(Backend::Embedded).await;
}

#[tokio::test]
async fn twenty_passes_in_one_batch_redis() {
    twenty_passes_in_one_batch(Backend::Redis).await;
}

async fn malformed_batches_are_400(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let token = app.hr_token().await;
    let get = |id: &str| json!({"id": id, "method": "GET", "url": "/users?$top=1"});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"requests": (0..21).map(|i| get(&i.to_string())).collect::<Vec<_>>()}),
            "at most 20",
        ),
        (json!({"requests": []}), "at least one"),
        (json!({"reqs": []}), "requests"),
        (json!({"requests": [get("1"), get("1")]}), "'1'"),
        (json!({"requests": [get("")]}), "id"),
        (
            json!({"requests": [{"id": "1", "url": "/users"}]}),
            "method",
        ),
        (
            json!({"requests": [{"id": "1", "method": "G T", "url": "/users"}]}),
            "method",
        ),
        (
            json!({"requests": [{"id": "1", "method": "GET", "url": "/users", "atomicityGroup": "a"}]}),
            "atomicityGroup",
        ),
        (
            json!({"requests": [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}]}),
            "'9'",
        ),
        (
            json!({"requests": [
                {"id": "a", "method": "GET", "url": "/users", "dependsOn": ["b"]},
                {"id": "b", "method": "GET", "url": "/users", "depends_on": ["a"]},
            ]}),
            "cycle",
        ),
        (
            json!({"requests": [{"id": "1", "method": "POST", "url": "/users", "body": {"displayName": "x"}}]}),
            "Content-Type",
        ),
        (
            json!({"requests": [{"id": "1", "method": "GET", "url": "/users", "headers": {"ConsistencyLevel": 1}}]}),
            "ConsistencyLevel",
        ),
        (
            json!({"requests": [{"id": "1", "method": "POST", "url": "/users",
                "headers": {"Content-Type": "application/json"}, "body": "not base64!"}]}),
            "base64",
        ),
    ];
    for (body, mention) in cases {
        let (status, answer) = post_batch(&app, Some(&token), &body).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_graph_error(&answer, "Request_BadRequest", mention);
    }
    // Nothing of a refused batch ran.
    let (_, users) = app.api(Method::GET, "/users", &token, None).await;
    assert_eq!(users["value"].as_array().unwrap().len(), 1, "{users}");

    // The batch itself needs a token, JSON, and POST.
    let one = json!({"requests": [get("1")]});
    let (status, answer) = post_batch(&app, None, &one).await;
    assert_eq!(status, 401, "{answer}");
    assert_graph_error(&answer, "InvalidAuthenticationToken", "");
    let res = app
        .http
        .post(app.url("/api/v1/$batch"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body(one.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    let res = app
        .http
        .get(app.url("/api/v1/$batch"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    app.stop().await;
}

#[tokio::test]
async fn malformed_batches_are_400_embedded() {
    malformed_batches_are_400(Backend::Embedded).await;
}

#[tokio::test]
async fn malformed_batches_are_400_redis() {
    malformed_batches_are_400(Backend::Redis).await;
}

async fn dependencies_run_first_and_failures_cascade(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let token = app.hr_token().await;

    // Sent in reverse: "3" waits for "2" (snake case, as the Python SDK
    // writes it), which waits for "1".
    let upn = "chain@example.com";
    let mut pass = create_tap("2", upn);
    pass["dependsOn"] = json!(["1"]);
    let responses = batch(
        &app,
        &token,
        json!([
            {"id": "3", "depends_on": ["2"], "method": "GET", "url": format!("/users/{upn}?$select=id")},
            pass,
            create_user("1", upn),
        ]),
    )
    .await;
    assert_eq!(responses[2]["status"], 201, "{}", responses[2]);
    assert_eq!(responses[1]["status"], 201, "{}", responses[1]);
    assert_eq!(responses[0]["status"], 200, "{}", responses[0]);
    let user_id = responses[2]["body"]["id"].as_str().unwrap().to_owned();
    assert_eq!(responses[0]["body"]["id"], user_id.as_str());
    assert!(app.store.get_tap(&user_id).await.unwrap().is_some());

    // A failed dependency: the dependent is not run and gets 424, and so
    // does what depends on it; an independent request still runs.
    let responses = batch(
        &app,
        &token,
        json!([
            {"id": "a", "method": "GET", "url": "/users/nobody@example.com"},
            {"id": "b", "dependsOn": ["a"], "method": "DELETE", "url": format!("/users/{upn}")},
            {"id": "c", "dependsOn": ["b"], "method": "DELETE", "url": format!("/users/{upn}")},
            {"id": "d", "method": "GET", "url": format!("/users/{upn}")},
        ]),
    )
    .await;
    assert_inner_error(&responses[0], 404, "Request_ResourceNotFound", "nobody");
    assert_inner_error(&responses[1], 424, "FailedDependency", "'a'");
    assert_inner_error(&responses[2], 424, "FailedDependency", "'b'");
    assert_eq!(responses[3]["status"], 200, "{}", responses[3]);
    let (status, _) = app
        .api(Method::GET, &format!("/users/{user_id}"), &token, None)
        .await;
    assert_eq!(status, 200, "the dependent DELETE did not run");
    app.stop().await;
}

#[tokio::test]
async fn dependencies_run_first_and_failures_cascade_embedded() {
    dependencies_run_first_and_failures_cascade(Backend::Embedded).await;
}

#[tokio::test]
async fn dependencies_run_first_and_failures_cascade_redis() {
    dependencies_run_first_and_failures_cascade(Backend::Redis).await;
}

async fn each_request_is_authorized_alone(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let hr = app.hr_token().await;
    let reader = app.token(READER_ID, READER_SECRET).await;
    let (_, user) = app
        .api(
            Method::POST,
            "/users",
            &hr,
            Some(json!({"userPrincipalName": "ann@example.com", "displayName": "Ann"})),
        )
        .await;
    let id = user["id"].as_str().unwrap().to_owned();

    // The reader may read users but not issue passes: inside a batch too.
    // An inner request with its own token is authorized by that token.
    let mut own_token = create_tap("own", &id);
    own_token["headers"]["Authorization"] = json!(format!("Bearer {hr}"));
    let mut bad_token = create_tap("bad", &id);
    bad_token["headers"]["authorization"] = json!("Bearer not-a-token");
    let responses = batch(
        &app,
        &reader,
        json!([
            {"id": "user", "method": "GET", "url": format!("/users/{id}")},
            create_tap("pass", &id),
            {"id": "audit", "method": "GET", "url": "/auditLogs/directoryAudits?$top=1"},
            bad_token,
            own_token,
        ]),
    )
    .await;
    assert_eq!(responses[0]["status"], 200, "{}", responses[0]);
    assert_eq!(responses[0]["body"]["id"], id.as_str());
    assert_inner_error(&responses[1], 403, "Authorization_RequestDenied", "");
    assert_inner_error(&responses[2], 403, "Authorization_RequestDenied", "");
    assert_inner_error(&responses[3], 401, "InvalidAuthenticationToken", "");
    assert!(
        responses[3]["headers"]["WWW-Authenticate"]
            .as_str()
            .unwrap()
            .starts_with("Bearer"),
        "{}",
        responses[3]
    );
    assert_eq!(responses[4]["status"], 201, "{}", responses[4]);
    // Only the pass with the HR token was made.
    let stored = app.store.get_tap(&id).await.unwrap().unwrap();
    assert_eq!(responses[4]["body"]["id"], stored.id.as_str());
    app.stop().await;
}

#[tokio::test]
async fn each_request_is_authorized_alone_embedded() {
    each_request_is_authorized_alone(Backend::Embedded).await;
}

#[tokio::test]
async fn each_request_is_authorized_alone_redis() {
    each_request_is_authorized_alone(Backend::Redis).await;
}

async fn urls_and_the_rules_of_a_request_sent_alone(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let token = app.hr_token().await;
    let (_, user) = app
        .api(
            Method::POST,
            "/users",
            &token,
            Some(json!({"userPrincipalName": "bo@example.com", "displayName": "Bo"})),
        )
        .await;
    let id = user["id"].as_str().unwrap().to_owned();
    let responses = batch(
        &app,
        &token,
        json!([
            // Relative to the version root, or absolute under the base.
            {"id": "abs", "method": "GET", "url": app.url(&format!("/api/v1/users/{id}"))},
            {"id": "rel", "method": "get", "url": format!("users/{id}"),
                "headers": {"client-request-id": "c0ffee00-0000-4000-8000-000000000001"}},
            {"id": "other", "method": "GET", "url": format!("http://elsewhere.example/v1.0/users/{id}")},
            {"id": "out", "method": "GET", "url": "/../../token"},
            {"id": "nested", "method": "POST", "url": "/$batch",
                "headers": {"Content-Type": "application/json"}, "body": {"requests": []}},
            // Query options, headers and methods as alone.
            {"id": "bogus", "method": "GET", "url": "/users?$bogus=1"},
            // A header value may also be a list (as some SDKs write them).
            {"id": "count", "method": "GET", "url": "/users/$count", "headers": {"ConsistencyLevel": ["eventual"]}},
            {"id": "filter", "method": "GET",
                "url": "/users?$filter=userPrincipalName eq 'bo@example.com'&$select=id"},
            {"id": "patch", "method": "PATCH", "url": "/users",
                "headers": {"Content-Type": "application/json"}, "body": {}},
            {"id": "delete", "method": "DELETE", "url": format!("/users/{id}")},
            {"id": "missing", "method": "GET", "url": "/nothing"},
            // A body that is text is base64 (as the Python SDK sends one
            // that is not a JSON object).
            {"id": "base64", "method": "POST", "url": "/users",
                "headers": {"Content-Type": "application/json"},
                "body": base64::engine::general_purpose::STANDARD.encode(
                    br#"{"userPrincipalName":"b64@example.com","displayName":"B"}"#)},
        ]),
    )
    .await;
    for r in &responses[..2] {
        assert_eq!(r["status"], 200, "{r}");
        assert_eq!(r["body"]["id"], id.as_str(), "{r}");
    }
    // An inner request's own client-request-id is echoed in its answer.
    assert_eq!(
        responses[1]["headers"]["client-request-id"],
        "c0ffee00-0000-4000-8000-000000000001"
    );
    assert!(responses[0]["headers"].get("client-request-id").is_none());
    assert_inner_error(&responses[2], 400, "Request_BadRequest", "url");
    assert_inner_error(&responses[3], 400, "Request_BadRequest", "url");
    assert_inner_error(&responses[4], 400, "Request_BadRequest", "$batch");
    assert_eq!(responses[5]["status"], 400, "{}", responses[5]);
    assert!(
        responses[5]["body"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("$bogus"),
        "{}",
        responses[5]
    );
    // `$count` answers text: the body is a string.
    assert_eq!(responses[6]["status"], 200, "{}", responses[6]);
    assert_eq!(responses[6]["body"], "2", "{}", responses[6]);
    assert_eq!(responses[7]["status"], 200, "{}", responses[7]);
    assert_eq!(responses[7]["body"]["value"], json!([{"id": id}]));
    assert_inner_error(&responses[8], 405, "Request_MethodNotAllowed", "PATCH");
    assert!(
        responses[8]["headers"]["Allow"]
            .as_str()
            .unwrap()
            .contains("POST"),
        "{}",
        responses[8]
    );
    // An empty answer has no body.
    assert_eq!(responses[9]["status"], 204, "{}", responses[9]);
    assert!(responses[9].get("body").is_none(), "{}", responses[9]);
    assert_inner_error(&responses[10], 404, "Request_ResourceNotFound", "nothing");
    assert_eq!(responses[11]["status"], 201, "{}", responses[11]);
    assert_eq!(
        responses[11]["body"]["userPrincipalName"],
        "b64@example.com"
    );
    app.stop().await;
}

#[tokio::test]
async fn urls_and_the_rules_of_a_request_sent_alone_embedded() {
    urls_and_the_rules_of_a_request_sent_alone(Backend::Embedded).await;
}

#[tokio::test]
async fn urls_and_the_rules_of_a_request_sent_alone_redis() {
    urls_and_the_rules_of_a_request_sent_alone(Backend::Redis).await;
}

/// A batch may exceed the 512 KiB of one request (up to 1 MiB); each inner
/// body keeps that limit.
async fn body_limits(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let token = app.hr_token().await;
    let padding = " ".repeat(100 * 1024);
    let big_inner = json!({
        "id": "big", "method": "POST", "url": "/users",
        "headers": {"Content-Type": "application/json"},
        "body": {"userPrincipalName": "big@example.com", "displayName": "x".repeat(600 * 1024)},
    });
    let text = format!(
        r#"{{"requests":[{},{}]{padding}}}"#,
        create_user("small", "small@example.com"),
        big_inner
    );
    let res = app
        .http
        .post(app.url("/api/v1/$batch"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let responses = body["responses"].as_array().unwrap();
    assert_eq!(responses[0]["status"], 201, "{}", responses[0]);
    assert_inner_error(&responses[1], 413, "Request_EntityTooLarge", "");

    let res = app
        .http
        .post(app.url("/api/v1/$batch"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"requests":[]{}}}"#,
            " ".repeat(1024 * 1024 + 1)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert_graph_error(&body, "Request_EntityTooLarge", "");
    app.stop().await;
}

#[tokio::test]
async fn body_limits_embedded() {
    body_limits(Backend::Embedded).await;
}

#[tokio::test]
async fn body_limits_redis() {
    body_limits(Backend::Redis).await;
}

/// The audit events of inner requests carry the batch's client address
/// (also behind a trusted proxy) and the inner request's own id; an inner
/// request cannot choose its address with its own `X-Forwarded-For`.
async fn audit_has_the_client_address(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn_with(
        store.url(),
        &format!("t{}", free_port()),
        onramp::clock::ManualClock::starting_now(),
        |s| s.server.trusted_proxies = vec![onramp::config::IpRange::parse("127.0.0.0/8").unwrap()],
    )
    .await;
    let token = app.hr_token().await;
    let mut spoofing = create_user("2", "spoof@example.com");
    spoofing["headers"]["X-Forwarded-For"] = json!("198.51.100.66");
    let body = json!({"requests": [create_user("1", "plain@example.com"), spoofing]});
    let res = app
        .http
        .post(app.url("/api/v1/$batch"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("x-forwarded-for", "203.0.113.9")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let outer_id = res.headers()["request-id"].to_str().unwrap().to_owned();
    let answer: Value = res.json().await.unwrap();
    for r in answer["responses"].as_array().unwrap() {
        assert_eq!(r["status"], 201, "{r}");
        let filter = AuditFilter {
            target_id: Some(r["body"]["id"].as_str().unwrap().to_owned()),
            ..Default::default()
        };
        let events = app
            .store
            .list_audit(&filter, None, 10)
            .await
            .unwrap()
            .events;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].event_type.as_str(), "user.created");
        assert_eq!(events[0].actor.id, HR_ID);
        assert_eq!(events[0].client_address.as_deref(), Some("203.0.113.9"));
        let inner_id = r["headers"]["request-id"].as_str().unwrap();
        assert_eq!(events[0].request_id.as_deref(), Some(inner_id));
        assert_ne!(inner_id, outer_id);
    }
    app.stop().await;

    // Without a trusted proxy the peer is the client, whatever the header.
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let token = app.hr_token().await;
    let res = app
        .http
        .post(app.url("/api/v1/$batch"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("x-forwarded-for", "203.0.113.9")
        .body(json!({"requests": [create_user("1", "direct@example.com")]}).to_string())
        .send()
        .await
        .unwrap();
    let answer: Value = res.json().await.unwrap();
    let filter = AuditFilter {
        target_id: Some(
            answer["responses"][0]["body"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        ),
        ..Default::default()
    };
    let events = app
        .store
        .list_audit(&filter, None, 10)
        .await
        .unwrap()
        .events;
    assert_eq!(events[0].client_address.as_deref(), Some("127.0.0.1"));
    app.stop().await;
}

#[tokio::test]
async fn audit_has_the_client_address_embedded() {
    audit_has_the_client_address(Backend::Embedded).await;
}

#[tokio::test]
async fn audit_has_the_client_address_redis() {
    audit_has_the_client_address(Backend::Redis).await;
}
