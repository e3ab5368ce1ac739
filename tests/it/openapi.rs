//! The OpenAPI document at `/api/v1/openapi.json` (derived from the code by
//! `src/web/handlers/api/doc`) stays true: it is served, every operation it
//! describes exists on the server, every route that
//! `src/web/handlers/api/mod.rs` registers (itself or through the handler
//! modules it `.configure`s, and `$batch`) is described, and real answers
//! fit the documented schemas.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use reqwest::Method;
use serde_json::{Value, json};

use onramp::clock::ManualClock;
use onramp::domain::permission::Permission;

use crate::helpers::*;

/// The admin API's route table, read at test time.
const ADMIN_API_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/handlers/api/mod.rs");
/// `$batch`, which `crate::web::api_scope` adds beside the table.
const BATCH_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/handlers/api/batch.rs");

/// The keys of an OpenAPI path item that are operations.
const OPERATION_KEYS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The methods probed for "not documented means not served".
const PROBED: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "options", "head", "trace",
];

/// An operation anyone may call: no requirement, or an empty one.
fn is_open(op: &Value) -> bool {
    op["security"].as_array().is_some_and(|r| {
        r.is_empty()
            || r.iter()
                .any(|x| x.as_object().is_some_and(|o| o.is_empty()))
    })
}

async fn fetch_document(app: &TestApp) -> Value {
    let res = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// `(template, method)` for every operation in the document.
fn documented_operations(doc: &Value) -> Vec<(String, String)> {
    let paths = doc["paths"].as_object().expect("the document has paths");
    let mut ops = Vec::new();
    for (path, item) in paths {
        let item = item.as_object().expect("a path item is an object");
        for key in item.keys() {
            if OPERATION_KEYS.contains(&key.as_str()) {
                ops.push((path.clone(), key.clone()));
            }
        }
    }
    ops
}

/// `/users/{user}/x/{id}` → `/users/{}/x/{}`: parameter names do not matter.
fn normalise(template: &str) -> String {
    template
        .split('/')
        .map(|seg| {
            if seg.starts_with('{') && seg.ends_with('}') {
                "{}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A concrete URL path for a template: a UPN for `{user}`, `x` elsewhere.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|seg| match seg {
            "{user}" => "admin@localhost",
            s if s.starts_with('{') && s.ends_with('}') => "x",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.to_ascii_uppercase().as_bytes()).unwrap()
}

/// Follows a local `$ref` (`#/components/...`).
fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("only local $refs are expected, got {r}"));
            doc.pointer(pointer)
                .unwrap_or_else(|| panic!("$ref {r} does not resolve"))
        }
        None => v,
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                if k == "$ref"
                    && let Some(s) = x.as_str()
                {
                    out.push(s.to_owned());
                } else {
                    collect_refs(x, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn openapi_document_is_served_and_well_formed() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let res = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    let doc: Value = serde_json::from_str(&res.text().await.unwrap())
        .expect("the OpenAPI document is valid JSON");

    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1"), "openapi is {version:?}");
    assert_eq!(doc["servers"], json!([{"url": "/api/v1"}]));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    // The security schemes the brief promises.
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearerAuth"]["type"], "http");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["bearerAuth"]["bearerFormat"], "JWT");
    let permissions: BTreeSet<&str> = onramp::domain::permission::Permission::ALL
        .iter()
        .map(|p| p.as_str())
        .collect();
    // Applications (client credentials) and signed-in administrators
    // (authorization code, delegated): the same permissions as scopes.
    let flows = &schemes["oauth2"]["flows"];
    assert_eq!(flows["authorizationCode"]["authorizationUrl"], "/authorize");
    for flow in ["clientCredentials", "authorizationCode"] {
        assert_eq!(flows[flow]["tokenUrl"], "/token", "{flow}");
        let scopes: BTreeSet<&str> = flows[flow]["scopes"]
            .as_object()
            .unwrap_or_else(|| panic!("the {flow} flow has no scopes"))
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            scopes, permissions,
            "the oauth2 {flow} scopes are the permissions"
        );
    }

    // Every $ref resolves.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    let dangling: Vec<_> = refs
        .iter()
        .filter(|r| r.strip_prefix('#').is_none_or(|p| doc.pointer(p).is_none()))
        .collect();
    assert!(
        dangling.is_empty(),
        "$refs that do not resolve: {dangling:?}"
    );

    // Operation ids are unique; every operation answers something and
    // declares exactly the path parameters of its template; every scope
    // named is a permission.
    let mut ids = BTreeSet::new();
    let mut problems = Vec::new();
    for (path, m) in documented_operations(&doc) {
        let item = &doc["paths"][&path];
        let op = &item[&m];
        let label = format!("{} {path}", m.to_uppercase());
        match op["operationId"].as_str() {
            Some(id) if ids.insert(id.to_owned()) => {}
            Some(id) => problems.push(format!("{label}: duplicate operationId {id}")),
            None => problems.push(format!("{label}: no operationId")),
        }
        if op["responses"].as_object().is_none_or(|r| r.is_empty()) {
            problems.push(format!("{label}: no responses"));
        }
        let in_template: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        let declared: BTreeSet<&str> = [&item["parameters"], &op["parameters"]]
            .into_iter()
            .filter_map(Value::as_array)
            .flatten()
            .map(|p| deref(&doc, p))
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str())
            .collect();
        if in_template != declared {
            problems.push(format!(
                "{label}: path parameters {in_template:?} but declared {declared:?}"
            ));
        }
        for requirement in op["security"].as_array().into_iter().flatten() {
            for scope in requirement["oauth2"].as_array().into_iter().flatten() {
                let scope = scope.as_str().unwrap_or_default();
                if !permissions.contains(scope) {
                    problems.push(format!("{label}: unknown scope {scope}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    app.stop().await;
}

#[tokio::test]
async fn every_documented_operation_exists() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let doc = fetch_document(&app).await;
    let ops = documented_operations(&doc);
    assert!(ops.len() >= 25, "only {} operations documented", ops.len());

    let mut wrong = Vec::new();
    for (path, m) in &ops {
        let op = &doc["paths"][path][m];
        // `security: [{}]` (or none) means open; everything else needs a token.
        let open = is_open(op);
        let url = app.url(&format!("/api/v1{}", concrete(path)));
        let mut req = app.http.request(method(m), &url);
        if let Some(media) = op["requestBody"]["content"].get("application/json") {
            // A JSON body, so the body extractor lets the request reach the
            // token check: the documented example, which must fit the
            // schema, or `{}`.
            let example = media["examples"]
                .as_object()
                .and_then(|e| e.values().next())
                .map(|e| deref(&doc, e)["value"].clone());
            let mut errors = Vec::new();
            if let Some(example) = &example {
                shape_errors(&doc, &media["schema"], example, "example", &mut errors);
            }
            if !errors.is_empty() {
                wrong.push(format!(
                    "{} {path}: the request example does not fit its schema: {}",
                    m.to_uppercase(),
                    errors.join("; ")
                ));
            }
            req = req.json(&example.unwrap_or_else(|| json!({})));
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        let expected = if open { 200 } else { 401 };
        if status != expected {
            wrong.push(format!(
                "{} {url}: {status} (expected {expected}) {body}",
                m.to_uppercase()
            ));
        } else if !open {
            let problem: Value = serde_json::from_str(&body).unwrap_or_default();
            if problem["error"]["code"] != "InvalidAuthenticationToken" {
                wrong.push(format!(
                    "{} {url}: 401 without the problem body: {body}",
                    m.to_uppercase()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "documented operations the server does not answer as described:\n{}",
        wrong.join("\n")
    );
    app.stop().await;
}

/// A method a documented path does not have (TRACE and OPTIONS too) is 405
/// `Request_MethodNotAllowed` in Graph's envelope, with an `Allow` header
/// that lists the documented methods.
#[tokio::test]
async fn undocumented_methods_are_405_with_allow() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let doc = fetch_document(&app).await;
    let paths = doc["paths"].as_object().unwrap();

    let mut wrong = Vec::new();
    for (path, item) in paths {
        let documented: BTreeSet<String> = OPERATION_KEYS
            .iter()
            .filter(|m| item.get(**m).is_some())
            .map(|m| m.to_ascii_uppercase())
            .collect();
        for m in PROBED {
            if item.get(m).is_some() {
                continue;
            }
            let url = app.url(&format!("/api/v1{}", concrete(path)));
            let res = app
                .http
                .request(method(m), &url)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let label = format!("{} {url}", m.to_uppercase());
            let status = res.status().as_u16();
            let allow: BTreeSet<String> = res
                .headers()
                .get("allow")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .split(',')
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
                .collect();
            let content_type = res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            if status != 405 {
                wrong.push(format!("{label}: {status}, not 405"));
                continue;
            }
            if allow != documented {
                wrong.push(format!(
                    "{label}: Allow {allow:?}, documented {documented:?}"
                ));
            }
            if content_type != "application/json" {
                wrong.push(format!("{label}: Content-Type {content_type:?}"));
            }
            // HEAD answers carry no body.
            if m != "head" && body["error"]["code"] != "Request_MethodNotAllowed" {
                wrong.push(format!("{label}: not the documented problem: {body}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "methods the document does not describe, not answered 405 with Allow:\n{}",
        wrong.join("\n")
    );
    app.stop().await;
}

#[tokio::test]
async fn every_registered_route_is_documented() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let doc = fetch_document(&app).await;
    app.stop().await;

    let mut registered = registered_routes_in(Path::new(ADMIN_API_SOURCE));
    registered.extend(registered_routes_in(Path::new(BATCH_SOURCE)));
    // The parser must find the table, not silently nothing, and follow
    // `.configure(users::routes)` and the others.
    assert!(
        registered.contains(&("/users".to_owned(), "get".to_owned()))
            && registered.contains(&("/users/{}".to_owned(), "patch".to_owned()))
            && registered.contains(&("/groups/{}/members/$ref".to_owned(), "post".to_owned()))
            && registered.contains(&("/$batch".to_owned(), "post".to_owned()))
            && registered.contains(&("/clients/{}".to_owned(), "delete".to_owned())),
        "the route parser did not find the known routes in {ADMIN_API_SOURCE} \
         and the modules it configures: {registered:?}"
    );

    let documented: BTreeMap<(String, String), String> = documented_operations(&doc)
        .into_iter()
        .map(|(path, m)| ((normalise(&path), m), path))
        .collect();

    let missing: Vec<String> = registered
        .iter()
        .filter(|key| !documented.contains_key(*key))
        .map(|(path, m)| format!("  {} {path}", m.to_uppercase()))
        .collect();
    let extra: Vec<String> = documented
        .iter()
        .filter(|(key, _)| !registered.contains(*key))
        .map(|((_, m), path)| format!("  {} {path}", m.to_uppercase()))
        .collect();
    let mut report = Vec::new();
    if !missing.is_empty() {
        report.push(format!(
            "routes registered in src/web/handlers/api (or a module it configures) \
             but missing from the document (path parameters shown as {{}}):\n{}",
            missing.join("\n")
        ));
    }
    if !extra.is_empty() {
        report.push(format!(
            "operations in the document that src/web/handlers/api \
             (and the modules it configures) does not register:\n{}",
            extra.join("\n")
        ));
    }
    assert!(report.is_empty(), "{}", report.join("\n\n"));
}

/// The routes that `fn routes` in `file` registers, with those of the
/// handler modules it `.configure`s (`super::NAME::routes`: a sibling
/// `NAME.rs` or `NAME/mod.rs`).
fn registered_routes_in(file: &Path) -> BTreeSet<(String, String)> {
    let source = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let label = file.display().to_string();
    let mut routes = route_table::registered_routes(&source, &label);
    for module in route_table::configured_modules(&source, &label) {
        let sibling = file.with_file_name(format!("{module}.rs"));
        let nested = file.with_file_name(format!("{module}/mod.rs"));
        let found = if sibling.exists() { sibling } else { nested };
        routes.extend(registered_routes_in(&found));
    }
    routes
}

fn serde_names<T: serde::Serialize>(values: &[T]) -> Vec<Value> {
    values
        .iter()
        .map(|v| serde_json::to_value(v).unwrap())
        .collect()
}

/// The enumerations in the document are the domain's, in their serde form.
#[test]
fn documented_enumerations_are_the_domains() {
    use onramp::domain::audit::{ActorKind, AuditEventType, Outcome};
    use onramp::domain::client::{ClientAuthMethod, GrantType};
    use onramp::domain::policy::{EnforcementType, MethodState};
    use onramp::domain::tap::MethodUsabilityReason::{self, *};
    use onramp::domain::user::DirectoryRole;

    let doc: Value = serde_json::from_str(onramp::web::handlers::api::doc::document()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let reasons = [
        EnabledByPolicy,
        DisabledByPolicy,
        Expired,
        NotYetValid,
        OneTimeUsed,
    ];
    // A new variant stops this match from compiling: add it to the list
    // above and to the document.
    let _ = |r: MethodUsabilityReason| match r {
        EnabledByPolicy | DisabledByPolicy | Expired | NotYetValid | OneTimeUsed => (),
    };
    let _ = |s: MethodState| match s {
        MethodState::Enabled | MethodState::Disabled => (),
    };
    let _ = |k: ActorKind| match k {
        ActorKind::User | ActorKind::Client | ActorKind::System => (),
    };
    let _ = |e: EnforcementType| match e {
        EnforcementType::Allow | EnforcementType::Block => (),
    };
    let _ = |o: Outcome| match o {
        Outcome::Success | Outcome::Failure => (),
    };
    let _ = |r: DirectoryRole| match r {
        DirectoryRole::GlobalAdministrator
        | DirectoryRole::AuthenticationPolicyAdministrator
        | DirectoryRole::PrivilegedAuthenticationAdministrator
        | DirectoryRole::AuthenticationAdministrator => (),
    };
    let grant_types = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];
    let _ = |g: GrantType| match g {
        GrantType::AuthorizationCode | GrantType::RefreshToken | GrantType::ClientCredentials => (),
    };
    // Registration takes every method but private_key_jwt (no JWKS field).
    let registrable = [
        ClientAuthMethod::ClientSecretBasic,
        ClientAuthMethod::ClientSecretPost,
        ClientAuthMethod::None,
    ];
    let _ = |m: ClientAuthMethod| match m {
        ClientAuthMethod::ClientSecretBasic
        | ClientAuthMethod::ClientSecretPost
        | ClientAuthMethod::None
        | ClientAuthMethod::PrivateKeyJwt => (),
    };
    // The client resource names these by `as_str`, not serde.
    let grant_names: Vec<Value> = grant_types.iter().map(|g| g.as_str().into()).collect();
    let method_names =
        |ms: &[ClientAuthMethod]| -> Vec<Value> { ms.iter().map(|m| m.as_str().into()).collect() };
    let mut methods = registrable.to_vec();
    methods.push(ClientAuthMethod::PrivateKeyJwt);
    let cases = [
        (
            "MethodUsabilityReason",
            &schemas["MethodUsabilityReason"]["enum"],
            serde_names(&reasons),
        ),
        (
            "MethodState",
            &schemas["MethodState"]["enum"],
            serde_names(&[MethodState::Enabled, MethodState::Disabled]),
        ),
        (
            "AuditEventType",
            &schemas["AuditEventType"]["enum"],
            serde_names(&AuditEventType::ALL),
        ),
        (
            "AuditActor.kind",
            &schemas["ActorKind"]["enum"],
            serde_names(&[ActorKind::User, ActorKind::Client, ActorKind::System]),
        ),
        (
            "AuditEvent.outcome",
            &schemas["Outcome"]["enum"],
            serde_names(&[Outcome::Success, Outcome::Failure]),
        ),
        (
            "DirectoryRole",
            &schemas["DirectoryRole"]["enum"],
            serde_names(&DirectoryRole::ALL),
        ),
        ("GrantType", &schemas["GrantType"]["enum"], grant_names),
        (
            "EnforcementType",
            &schemas["EnforcementType"]["enum"],
            serde_names(&[EnforcementType::Allow, EnforcementType::Block]),
        ),
        (
            "TokenEndpointAuthMethod",
            &schemas["Client"]["properties"]["tokenEndpointAuthMethod"]["enum"],
            method_names(&methods),
        ),
        (
            "RegisterClient.tokenEndpointAuthMethod",
            &schemas["RegisterClient"]["properties"]["tokenEndpointAuthMethod"]["enum"],
            method_names(&registrable),
        ),
    ];
    for (name, documented, domain) in cases {
        let documented: BTreeSet<String> = documented
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no enum in the document"))
            .iter()
            .map(Value::to_string)
            .collect();
        let domain: BTreeSet<String> = domain.iter().map(Value::to_string).collect();
        assert_eq!(
            documented, domain,
            "{name}: the document's values vs the domain's"
        );
    }
}

/// Checks `v` against a schema of the document: `$ref`, `type`, `enum`,
/// `const`, `minimum`/`maximum`, `items`, `oneOf`, `required` and
/// `properties`. Stricter than JSON Schema on purpose: an object may carry
/// only the properties the schema lists, so undocumented fields show up.
fn shape_errors(doc: &Value, schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
    let schema = deref(doc, schema);
    if let Some(alternatives) = schema["anyOf"].as_array() {
        let fits = alternatives.iter().any(|alt| {
            let mut e = Vec::new();
            shape_errors(doc, alt, v, at, &mut e);
            e.is_empty()
        });
        if !fits {
            out.push(format!("{at}: {v} fits none of the anyOf schemas"));
        }
        return;
    }
    if let Some(alternatives) = schema["oneOf"].as_array() {
        let matching = alternatives
            .iter()
            .filter(|alt| {
                let mut e = Vec::new();
                shape_errors(doc, alt, v, at, &mut e);
                e.is_empty()
            })
            .count();
        if matching != 1 {
            out.push(format!("{at}: {v} matches {matching} of the oneOf schemas"));
        }
        return;
    }
    if !schema["type"].is_null() {
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match v {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let ok = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
        if !ok {
            out.push(format!("{at}: {v} is {actual}, documented as {types:?}"));
            return;
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(v)
    {
        out.push(format!("{at}: {v} is not one of {allowed:?}"));
    }
    if !schema["const"].is_null() && schema["const"] != *v {
        out.push(format!("{at}: {v} is not {}", schema["const"]));
    }
    if let Some(n) = v.as_f64()
        && (schema["minimum"].as_f64().is_some_and(|min| n < min)
            || schema["maximum"].as_f64().is_some_and(|max| n > max))
    {
        out.push(format!("{at}: {v} is outside the documented range"));
    }
    if let (Some(items), Some(values)) = (schema.get("items"), v.as_array()) {
        for (k, x) in values.iter().enumerate() {
            shape_errors(doc, items, x, &format!("{at}[{k}]"), out);
        }
    }
    if let Some(obj) = v.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            if !obj.contains_key(name) {
                out.push(format!("{at}: the required {name} is missing"));
            }
        }
        if let Some(props) = schema["properties"].as_object() {
            for (k, x) in obj {
                match props.get(k) {
                    Some(p) => shape_errors(doc, p, x, &format!("{at}.{k}"), out),
                    // Graph's annotations (`@odata.context` of an entity,
                    // `@odata.type` of an item) may come on any resource.
                    None if k.starts_with("@odata.") && x.is_string() => {}
                    None => out.push(format!("{at}: {k} is not documented")),
                }
            }
        }
    }
}

/// Checks a real answer against the document: the status is the expected
/// one and one the operation documents, the headers it documents as
/// required are there, and the body fits that response's schema.
async fn conforms(
    doc: &Value,
    template: &str,
    m: &str,
    expected: u16,
    res: reqwest::Response,
    problems: &mut Vec<String>,
) -> Value {
    let label = format!("{} {template}", m.to_uppercase());
    assert_eq!(res.status().as_u16(), expected, "{label}");
    let status = res.status().as_u16().to_string();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let op = &doc["paths"][template][m];
    assert!(op.is_object(), "{label} is not documented");
    let Some(response) = op["responses"].get(&status).map(|r| deref(doc, r)) else {
        problems.push(format!(
            "{label}: answered {status}, which is not documented: {text}"
        ));
        return body;
    };
    for (name, header) in response["headers"].as_object().into_iter().flatten() {
        if header["required"] == true && !headers.contains_key(name.as_str()) {
            problems.push(format!(
                "{label} {status}: the required header {name} is missing"
            ));
        }
    }
    match response["content"].as_object() {
        None if text.is_empty() => {}
        None => problems.push(format!(
            "{label} {status}: documented without a body, got {text}"
        )),
        Some(content) => {
            match content.get(content_type.split(';').next().unwrap_or_default().trim()) {
                None => problems.push(format!(
                    "{label} {status}: Content-Type {content_type} is not documented ({:?})",
                    content.keys().collect::<Vec<_>>()
                )),
                Some(media) => shape_errors(
                    doc,
                    &media["schema"],
                    // Only JSON is parsed; any other body is its text.
                    &if content_type.starts_with("application/json") {
                        body.clone()
                    } else {
                        Value::String(text.clone())
                    },
                    &format!("{label} {status} body"),
                    problems,
                ),
            }
        }
    }
    body
}

/// Real answers, successes and errors, fit the documented schemas.
#[tokio::test]
async fn responses_match_the_documented_schemas() {
    let store = StoreHandle::new(Backend::Embedded);
    let app = TestApp::spawn(&store).await;
    let doc = fetch_document(&app).await;
    let hr = app.hr_token().await;
    let policy = app.token(POLICY_ID, POLICY_SECRET).await;
    let reader = app.token(READER_ID, READER_SECRET).await;
    let api = |p: &str| app.url(&format!("/api/v1{p}"));
    let mut problems = Vec::new();
    let p = &mut problems;

    let res = app
        .http
        .post(api("/users"))
        .bearer_auth(&hr)
        .json(&json!({"userPrincipalName": "grace@example.com", "displayName": "Grace Hopper", "givenName": "Grace", "mail": "grace@example.com", "mobilePhone": "+1 555 0100", "city": "Arlington", "country": "US"}))
        .send()
        .await
        .unwrap();
    let user = conforms(&doc, "/users", "post", 201, res, p).await;
    let id = user["id"].as_str().unwrap().to_owned();
    let res = app
        .http
        .get(api("/users?$top=1"))
        .bearer_auth(&hr)
        .send()
        .await
        .unwrap();
    conforms(&doc, "/users", "get", 200, res, p).await;
    let res = app
        .http
        .get(api(&format!("/users/{id}")))
        .bearer_auth(&hr)
        .send()
        .await
        .unwrap();
    conforms(&doc, "/users/{user}", "get", 200, res, p).await;
    let res = app
        .http
        .patch(api(&format!("/users/{id}")))
        .bearer_auth(&hr)
        .json(
            &json!({"surname": "Hopper", "mail": null, "mobilePhone": null, "postalCode": "22201"}),
        )
        .send()
        .await
        .unwrap();
    conforms(&doc, "/users/{user}", "patch", 204, res, p).await;

    let taps = "/users/{user}/authentication/temporaryAccessPassMethods";
    let taps_url = api(&format!(
        "/users/{id}/authentication/temporaryAccessPassMethods"
    ));
    let res = app
        .http
        .post(&taps_url)
        .bearer_auth(&hr)
        .send()
        .await
        .unwrap();
    let tap = conforms(&doc, taps, "post", 201, res, p).await;
    let tap_id = tap["id"].as_str().unwrap().to_owned();
    let res = app
        .http
        .get(&taps_url)
        .bearer_auth(&hr)
        .send()
        .await
        .unwrap();
    conforms(&doc, taps, "get", 200, res, p).await;
    let tap_template = format!("{taps}/{{tap}}");
    let res = app
        .http
        .get(format!("{taps_url}/{tap_id}"))
        .bearer_auth(&hr)
        .send()
        .await
        .unwrap();
    conforms(&doc, &tap_template, "get", 200, res, p).await;
    let res = app
        .http
        .delete(format!("{taps_url}/{tap_id}"))
        .bearer_auth(&hr)
        .send()
        .await
        .unwrap();
    conforms(&doc, &tap_template, "delete", 204, res, p).await;
    let res = app
        .http
        .get(format!("{taps_url}/{tap_id}"))
        .bearer_auth(&hr)
        .send()
        .await
        .unwrap();
    conforms(&doc, &tap_template, "get", 404, res, p).await;

    let passkeys = "/users/{user}/authentication/passkeyMethods";
    let res = app
        .http
        .get(api(&format!("/users/{id}/authentication/passkeyMethods")))
        .bearer_auth(&hr)
        .send()
        .await
        .unwrap();
    conforms(&doc, passkeys, "get", 200, res, p).await;
    let res = app
        .http
        .get(api(&format!(
            "/users/{id}/authentication/passkeyMethods/nope"
        )))
        .bearer_auth(&hr)
        .send()
        .await
        .unwrap();
    conforms(&doc, &format!("{passkeys}/{{passkey}}"), "get", 404, res, p).await;
    let res = app
        .http
        .post(api(&format!("/users/{id}/revokeSignInSessions")))
        .bearer_auth(&hr)
        .send()
        .await
        .unwrap();
    conforms(
        &doc,
        "/users/{user}/revokeSignInSessions",
        "post",
        200,
        res,
        p,
    )
    .await;

    // Directory roles and clients, with a signed-in Global Administrator's
    // delegated token: applications never assign roles.
    let admin = crate::portal::admin_browser(&app).await;
    let global = crate::portal::delegated_token(&app, &admin).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let roles = "/users/{user}/directoryRoles";
    let roles_url = api(&format!("/users/{id}/directoryRoles"));
    let res = app
        .http
        .put(&roles_url)
        .bearer_auth(&global)
        .json(&json!({"roles": ["Authentication Administrator", "Authentication Administrator"]}))
        .send()
        .await
        .unwrap();
    let changed = conforms(&doc, roles, "put", 200, res, p).await;
    assert_eq!(
        changed["directoryRoles"],
        json!(["Authentication Administrator"])
    );
    let res = app
        .http
        .get(api(&format!("/users/{id}")))
        .bearer_auth(&global)
        .send()
        .await
        .unwrap();
    conforms(&doc, "/users/{user}", "get", 200, res, p).await;
    let res = app
        .http
        .put(&roles_url)
        .bearer_auth(&global)
        .json(&json!({"roles": ["Emperor"]}))
        .send()
        .await
        .unwrap();
    conforms(&doc, roles, "put", 400, res, p).await;
    let res = app
        .http
        .put(&roles_url)
        .bearer_auth(&hr)
        .json(&json!({"roles": []}))
        .send()
        .await
        .unwrap();
    conforms(&doc, roles, "put", 403, res, p).await;
    let admin_id = &app.bootstrap.as_ref().unwrap().user.id;
    let res = app
        .http
        .put(api(&format!("/users/{admin_id}/directoryRoles")))
        .bearer_auth(&global)
        .json(&json!({"roles": []}))
        .send()
        .await
        .unwrap();
    conforms(&doc, roles, "put", 403, res, p).await;
    let res = app
        .http
        .put(api("/users/nobody@example.com/directoryRoles"))
        .bearer_auth(&global)
        .json(&json!({"roles": []}))
        .send()
        .await
        .unwrap();
    conforms(&doc, roles, "put", 404, res, p).await;
    let res = app
        .http
        .put(&roles_url)
        .bearer_auth(&global)
        .body(r#"{"roles": []}"#)
        .send()
        .await
        .unwrap();
    conforms(&doc, roles, "put", 415, res, p).await;
    // Back to no role, so the application may delete the user below.
    let res = app
        .http
        .put(&roles_url)
        .bearer_auth(&global)
        .json(&json!({"roles": []}))
        .send()
        .await
        .unwrap();
    conforms(&doc, roles, "put", 200, res, p).await;

    let res = app
        .http
        .post(api("/clients"))
        .bearer_auth(&global)
        .json(&json!({"displayName": "Payroll", "redirectUris": ["https://payroll.example.com/cb"], "postLogoutRedirectUris": ["https://payroll.example.com/"], "grantTypes": ["authorization_code", "refresh_token"]}))
        .send()
        .await
        .unwrap();
    let client = conforms(&doc, "/clients", "post", 201, res, p).await;
    assert!(client["clientSecret"].is_string(), "{client}");
    let client_id = client["clientId"].as_str().unwrap().to_owned();
    let res = app
        .http
        .post(api("/clients"))
        .bearer_auth(&global)
        .json(&json!({"displayName": "CLI", "redirectUris": ["http://localhost:8400/cb"], "tokenEndpointAuthMethod": "none"}))
        .send()
        .await
        .unwrap();
    let public = conforms(&doc, "/clients", "post", 201, res, p).await;
    assert!(public.get("clientSecret").is_none(), "{public}");
    let res = app
        .http
        .get(api("/clients"))
        .bearer_auth(&global)
        .send()
        .await
        .unwrap();
    conforms(&doc, "/clients", "get", 200, res, p).await;
    let one = "/clients/{client}";
    for which in [client_id.as_str(), "onramp-admin-portal"] {
        let res = app
            .http
            .get(api(&format!("/clients/{which}")))
            .bearer_auth(&global)
            .send()
            .await
            .unwrap();
        let read = conforms(&doc, one, "get", 200, res, p).await;
        assert!(read.get("clientSecret").is_none(), "{read}");
    }
    let res = app
        .http
        .post(api("/clients"))
        .bearer_auth(&global)
        .json(&json!({"displayName": "Plain http", "redirectUris": ["http://payroll.example.com/cb"]}))
        .send()
        .await
        .unwrap();
    conforms(&doc, "/clients", "post", 400, res, p).await;
    let res = app
        .http
        .get(api("/clients"))
        .bearer_auth(&hr)
        .send()
        .await
        .unwrap();
    conforms(&doc, "/clients", "get", 403, res, p).await;
    let res = app
        .http
        .delete(api("/clients/onramp-admin-portal"))
        .bearer_auth(&global)
        .send()
        .await
        .unwrap();
    conforms(&doc, one, "delete", 409, res, p).await;
    let res = app
        .http
        .delete(api(&format!("/clients/{client_id}")))
        .bearer_auth(&global)
        .send()
        .await
        .unwrap();
    conforms(&doc, one, "delete", 204, res, p).await;
    let res = app
        .http
        .get(api(&format!("/clients/{client_id}")))
        .bearer_auth(&global)
        .send()
        .await
        .unwrap();
    conforms(&doc, one, "get", 404, res, p).await;
    let res = app
        .http
        .delete(api(&format!("/clients/{client_id}")))
        .bearer_auth(&global)
        .send()
        .await
        .unwrap();
    conforms(&doc, one, "delete", 404, res, p).await;
    for event in ["user.roles_changed", "client.registered", "client.deleted"] {
        let res = app
            .http
            .get(api(&format!("/auditLogs?eventType={event}")))
            .bearer_auth(&global)
            .send()
            .await
            .unwrap();
        let log = conforms(&doc, "/auditLogs", "get", 200, res, p).await;
        assert!(
            log["value"].as_array().is_some_and(|v| !v.is_empty()),
            "{event}: {log}"
        );
    }

    let pol = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations";
    for (which, patch) in [
        (
            "temporaryAccessPass",
            json!({"includeTargets": [{"targetType": "user", "id": id}], "excludeTargets": []}),
        ),
        ("fido2", json!({"enrollmentWindowInMinutes": 15})),
    ] {
        let template = format!("{pol}/{{id}}");
        let url = format!("{pol}/{which}");
        let res = app
            .http
            .patch(api(&url))
            .bearer_auth(&policy)
            .json(&patch)
            .send()
            .await
            .unwrap();
        conforms(&doc, &template, "patch", 204, res, p).await;
        let res = app
            .http
            .get(api(&url))
            .bearer_auth(&policy)
            .send()
            .await
            .unwrap();
        conforms(&doc, &template, "get", 200, res, p).await;
    }
    let res = app
        .http
        .get(api("/auditLogs?$top=50"))
        .bearer_auth(&policy)
        .send()
        .await
        .unwrap();
    let log = conforms(&doc, "/auditLogs", "get", 200, res, p).await;
    assert!(
        log["value"].as_array().is_some_and(|v| v.len() >= 5),
        "{log}"
    );

    // Errors: problem details as documented.
    let res = app
        .http
        .post(api("/users"))
        .bearer_auth(&hr)
        .json(&json!({"displayName": "x"}))
        .send()
        .await
        .unwrap();
    conforms(&doc, "/users", "post", 400, res, p).await;
    let res = app
        .http
        .post(api("/users"))
        .bearer_auth(&hr)
        .json(&json!({"userPrincipalName": "GRACE@example.com", "displayName": "Dup"}))
        .send()
        .await
        .unwrap();
    conforms(&doc, "/users", "post", 409, res, p).await;
    let res = app
        .http
        .post(api("/users"))
        .bearer_auth(&hr)
        .body("{}")
        .send()
        .await
        .unwrap();
    conforms(&doc, "/users", "post", 415, res, p).await;
    let res = app
        .http
        .get(api("/users/nobody@example.com"))
        .bearer_auth(&hr)
        .send()
        .await
        .unwrap();
    conforms(&doc, "/users/{user}", "get", 404, res, p).await;
    let res = app
        .http
        .get(&taps_url)
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    conforms(&doc, taps, "get", 403, res, p).await;
    let res = app
        .http
        .get(api("/auditLogs"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    conforms(&doc, "/auditLogs", "get", 401, res, p).await;
    let res = app
        .http
        .get(api("/auditLogs?eventType=nope"))
        .bearer_auth(&policy)
        .send()
        .await
        .unwrap();
    conforms(&doc, "/auditLogs", "get", 400, res, p).await;
    let res = app
        .http
        .delete(api(&format!("/users/{id}")))
        .bearer_auth(&hr)
        .send()
        .await
        .unwrap();
    conforms(&doc, "/users/{user}", "delete", 204, res, p).await;

    assert!(
        problems.is_empty(),
        "answers that do not match the document:\n{}",
        problems.join("\n")
    );
    app.stop().await;
}

/// Graph's resources, as an integrator's script meets them, fit the
/// document too: users with OData options and `$count`, the manager,
/// groups and members, every method collection, the method policies,
/// directory audits, lockouts, keys and `$batch`.
#[tokio::test]
async fn graph_answers_match_the_documented_schemas() {
    let store = StoreHandle::new(Backend::Embedded);
    let (app, token, id) = app_with_every_permission(&store).await;
    let doc = fetch_document(&app).await;
    let mut problems = Vec::new();
    let p = &mut problems;
    let call = |m: Method, url: String, body: Option<Value>| {
        let mut req = app
            .http
            .request(m, app.url(&format!("/api/v1{url}")))
            .bearer_auth(&token)
            .header("ConsistencyLevel", "eventual");
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
    };
    let (status, boss) = app
        .api(
            Method::POST,
            "/users",
            &token,
            Some(json!({"@odata.type": "#microsoft.graph.user", "userPrincipalName": "boss@example.com", "displayName": "Boss", "accountEnabled": true, "mailNickname": "boss", "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "x"}, "jobTitle": "Manager", "department": "Sales", "employeeId": "E1", "employeeHireDate": "2026-12-01T00:00:00Z", "usageLocation": "us", "preferredLanguage": "en-us", "otherMails": ["boss@other.example.com"]})),
        )
        .await;
    assert_eq!(status, 201, "{boss}");
    let boss_id = boss["id"].as_str().unwrap().to_owned();

    let res = call(
        Method::GET,
        "/users?$filter=employeeId eq 'E1'&$select=id,displayName&$count=true&$top=1".into(),
        None,
    )
    .await
    .unwrap();
    let page = conforms(&doc, "/users", "get", 200, res, p).await;
    assert_eq!(page["value"][0]["id"], boss_id, "{page}");
    let res = call(
        Method::GET,
        "/users?$orderby=displayName desc&$search=\"displayName:bo\"".into(),
        None,
    )
    .await
    .unwrap();
    conforms(&doc, "/users", "get", 200, res, p).await;
    let res = call(Method::GET, "/users?$filter=nickname eq 'x'".into(), None)
        .await
        .unwrap();
    conforms(&doc, "/users", "get", 400, res, p).await;
    let res = call(
        Method::GET,
        "/users/$count?$filter=accountEnabled eq true".into(),
        None,
    )
    .await
    .unwrap();
    conforms(&doc, "/users/$count", "get", 200, res, p).await;
    let res = call(
        Method::GET,
        format!("/users/{id}?$select=userPrincipalName"),
        None,
    )
    .await
    .unwrap();
    conforms(&doc, "/users/{user}", "get", 200, res, p).await;

    let manager = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{boss_id}")});
    let res = call(
        Method::PUT,
        format!("/users/{id}/manager/$ref"),
        Some(manager),
    )
    .await
    .unwrap();
    conforms(&doc, "/users/{user}/manager/$ref", "put", 204, res, p).await;
    let res = call(Method::GET, format!("/users/{id}/manager"), None)
        .await
        .unwrap();
    conforms(&doc, "/users/{user}/manager", "get", 200, res, p).await;
    let res = call(Method::DELETE, format!("/users/{id}/manager/$ref"), None)
        .await
        .unwrap();
    conforms(&doc, "/users/{user}/manager/$ref", "delete", 204, res, p).await;
    let res = call(Method::GET, format!("/users/{id}/manager"), None)
        .await
        .unwrap();
    conforms(&doc, "/users/{user}/manager", "get", 404, res, p).await;

    let res = call(Method::POST, "/groups".into(), Some(json!({"@odata.type": "#microsoft.graph.group", "displayName": "New hires", "mailNickname": "new-hires", "securityEnabled": true, "mailEnabled": false, "groupTypes": [], "members@odata.bind": [format!("https://graph.microsoft.com/v1.0/users/{boss_id}")]}))).await.unwrap();
    let group = conforms(&doc, "/groups", "post", 201, res, p).await;
    let group_id = group["id"].as_str().unwrap().to_owned();
    let res = call(
        Method::GET,
        "/groups?$filter=startsWith(displayName,'New')&$count=true".into(),
        None,
    )
    .await
    .unwrap();
    conforms(&doc, "/groups", "get", 200, res, p).await;
    let res = call(Method::GET, "/groups/$count".into(), None)
        .await
        .unwrap();
    conforms(&doc, "/groups/$count", "get", 200, res, p).await;
    // A filtered count counts the matching groups (it answered 0).
    let res = call(
        Method::GET,
        "/groups/$count?$filter=startsWith(displayName,'New')".into(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(res.text().await.unwrap(), "1");
    let res = call(
        Method::GET,
        "/groups/$count?$filter=startsWith(displayName,'Nobody')".into(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(res.text().await.unwrap(), "0");
    let res = call(Method::GET, format!("/groups/{group_id}"), None)
        .await
        .unwrap();
    conforms(&doc, "/groups/{group}", "get", 200, res, p).await;
    let res = call(
        Method::PATCH,
        format!("/groups/{group_id}"),
        Some(json!({"description": null})),
    )
    .await
    .unwrap();
    conforms(&doc, "/groups/{group}", "patch", 204, res, p).await;
    let member =
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}")});
    let res = call(
        Method::POST,
        format!("/groups/{group_id}/members/$ref"),
        Some(member),
    )
    .await
    .unwrap();
    conforms(&doc, "/groups/{group}/members/$ref", "post", 204, res, p).await;
    let res = call(
        Method::GET,
        format!("/groups/{group_id}/members?$top=1&$count=true"),
        None,
    )
    .await
    .unwrap();
    let members = conforms(&doc, "/groups/{group}/members", "get", 200, res, p).await;
    assert_eq!(members["@odata.count"], 2, "{members}");
    let next = members["@odata.nextLink"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let next = next.split("/api/v1").nth(1).unwrap().to_owned();
    let res = call(Method::GET, next, None).await.unwrap();
    conforms(&doc, "/groups/{group}/members", "get", 200, res, p).await;
    let res = call(Method::GET, format!("/users/{id}/memberOf"), None)
        .await
        .unwrap();
    conforms(&doc, "/users/{user}/memberOf", "get", 200, res, p).await;

    let taps = format!("/users/{id}/authentication/temporaryAccessPassMethods");
    let res = call(Method::POST, taps.clone(), Some(json!({"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod", "lifetimeInMinutes": 60, "isUsableOnce": true}))).await.unwrap();
    let tap = conforms(
        &doc,
        "/users/{user}/authentication/temporaryAccessPassMethods",
        "post",
        201,
        res,
        p,
    )
    .await;
    let tap_id = tap["id"].as_str().unwrap().to_owned();
    let res = call(
        Method::GET,
        format!("/users/{id}/authentication/methods"),
        None,
    )
    .await
    .unwrap();
    let methods = conforms(
        &doc,
        "/users/{user}/authentication/methods",
        "get",
        200,
        res,
        p,
    )
    .await;
    assert_eq!(
        methods["value"][0]["@odata.type"],
        "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
        "{methods}"
    );
    let res = call(
        Method::GET,
        format!("/users/{id}/authentication/methods/{tap_id}"),
        None,
    )
    .await
    .unwrap();
    conforms(
        &doc,
        "/users/{user}/authentication/methods/{method}",
        "get",
        200,
        res,
        p,
    )
    .await;
    let res = call(
        Method::GET,
        format!("/users/{id}/authentication/fido2Methods"),
        None,
    )
    .await
    .unwrap();
    conforms(
        &doc,
        "/users/{user}/authentication/fido2Methods",
        "get",
        200,
        res,
        p,
    )
    .await;
    let res = call(
        Method::GET,
        format!("/users/{id}/authentication/fido2Methods/nope"),
        None,
    )
    .await
    .unwrap();
    conforms(
        &doc,
        "/users/{user}/authentication/fido2Methods/{method}",
        "get",
        404,
        res,
        p,
    )
    .await;

    let pol = "/policies/authenticationMethodsPolicy";
    let res = call(Method::GET, pol.into(), None).await.unwrap();
    conforms(&doc, pol, "get", 200, res, p).await;
    let configurations = format!("{pol}/authenticationMethodConfigurations");
    let res = call(Method::GET, configurations.clone(), None)
        .await
        .unwrap();
    conforms(&doc, &configurations, "get", 200, res, p).await;
    let one = format!("{configurations}/{{id}}");
    let res = call(Method::PATCH, format!("{configurations}/Fido2"), Some(json!({"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration", "includeTargets": [{"targetType": "group", "id": group_id}], "keyRestrictions": {"isEnforced": false, "enforcementType": "block", "aaGuids": []}}))).await.unwrap();
    conforms(&doc, &one, "patch", 204, res, p).await;
    let res = call(Method::GET, format!("{configurations}/FIDO2"), None)
        .await
        .unwrap();
    conforms(&doc, &one, "get", 200, res, p).await;
    let res = call(Method::GET, format!("{configurations}/Email"), None)
        .await
        .unwrap();
    conforms(&doc, &one, "get", 404, res, p).await;

    let res = call(
        Method::GET,
        format!(
            "/auditLogs/directoryAudits?$filter=targetResources/any(t: t/id eq '{group_id}')&$top=5"
        ),
        None,
    )
    .await
    .unwrap();
    let audits = conforms(&doc, "/auditLogs/directoryAudits", "get", 200, res, p).await;
    let audit_id = audits["value"][0]["id"]
        .as_str()
        .expect("an audit of the group")
        .to_owned();
    let res = call(
        Method::GET,
        format!("/auditLogs/directoryAudits/{audit_id}"),
        None,
    )
    .await
    .unwrap();
    conforms(&doc, "/auditLogs/directoryAudits/{id}", "get", 200, res, p).await;
    let res = call(Method::GET, "/auditLogs/directoryAudits/nope".into(), None)
        .await
        .unwrap();
    conforms(&doc, "/auditLogs/directoryAudits/{id}", "get", 404, res, p).await;

    let res = call(Method::GET, format!("/users/{id}/signInLockout"), None)
        .await
        .unwrap();
    conforms(&doc, "/users/{user}/signInLockout", "get", 200, res, p).await;
    let res = call(Method::DELETE, format!("/users/{id}/signInLockout"), None)
        .await
        .unwrap();
    conforms(&doc, "/users/{user}/signInLockout", "delete", 204, res, p).await;
    let res = call(Method::POST, "/signingKeys/rotate".into(), None)
        .await
        .unwrap();
    conforms(&doc, "/signingKeys/rotate", "post", 200, res, p).await;

    let res = call(Method::POST, "/$batch".into(), Some(json!({"requests": [
        {"id": "1", "method": "GET", "url": "/groups"},
        {"id": "2", "method": "DELETE", "url": format!("/groups/{group_id}/members/{id}/$ref"), "dependsOn": ["1"]},
    ]}))).await.unwrap();
    let batch = conforms(&doc, "/$batch", "post", 200, res, p).await;
    assert_eq!(
        batch["responses"].as_array().map(Vec::len),
        Some(2),
        "{batch}"
    );
    let res = call(Method::DELETE, format!("/groups/{group_id}"), None)
        .await
        .unwrap();
    conforms(&doc, "/groups/{group}", "delete", 204, res, p).await;
    let res = call(Method::GET, format!("/groups/{group_id}/members"), None)
        .await
        .unwrap();
    conforms(&doc, "/groups/{group}/members", "get", 404, res, p).await;

    assert!(
        problems.is_empty(),
        "answers that do not match the document:\n{}",
        problems.join("\n")
    );
    app.stop().await;
}

/// An app with a client holding every permission, and a user without a
/// role (so that an application may change it): the app, the client's
/// token and the user's id.
async fn app_with_every_permission(store: &StoreHandle) -> (TestApp, String, String) {
    let prefix = format!("t{}", free_port());
    let app = TestApp::spawn_with(store.url(), &prefix, ManualClock::starting_now(), |s| {
        s.clients.push(client(
            "every-permission",
            "every-permission-secret-0123456789",
            Permission::ALL.to_vec(),
        ));
    })
    .await;
    let token = app
        .token("every-permission", "every-permission-secret-0123456789")
        .await;
    let (status, user) = app
        .api(
            Method::POST,
            "/users",
            &token,
            Some(json!({"userPrincipalName": "wire@example.com", "displayName": "Wire"})),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    (app, token, id)
}

/// Errors that actix's extractors make (a repeated query parameter, a body
/// too large to read) come as the documented problem, not as text/plain.
#[tokio::test]
async fn extractor_errors_have_a_documented_content_type() {
    let store = StoreHandle::new(Backend::Embedded);
    let (app, token, id) = app_with_every_permission(&store).await;
    let doc = fetch_document(&app).await;
    let mut problems = Vec::new();
    let p = &mut problems;
    for (template, url, name) in [
        ("/users", "/users?$top=1&$top=2", "$top"),
        ("/auditLogs", "/auditLogs?until=x&until=y", "until"),
    ] {
        let res = app
            .http
            .get(app.url(&format!("/api/v1{url}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let body = conforms(&doc, template, "get", 400, res, p).await;
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(name), "{url}: {body}");
    }
    // Over the 512 KiB an admin API body may have; the pass's body is
    // optional, so it is read before anything else.
    let huge = json!({"isUsableOnce": true, "x": "y".repeat(600 * 1024)});
    let res = app
        .http
        .post(app.url(&format!(
            "/api/v1/users/{id}/authentication/temporaryAccessPassMethods"
        )))
        .bearer_auth(&token)
        .json(&huge)
        .send()
        .await
        .unwrap();
    conforms(
        &doc,
        "/users/{user}/authentication/temporaryAccessPassMethods",
        "post",
        413,
        res,
        p,
    )
    .await;
    assert!(
        problems.is_empty(),
        "answers that do not match the document:\n{}",
        problems.join("\n")
    );
    app.stop().await;
}

fn is_nullable(schema: &Value) -> bool {
    match &schema["type"] {
        Value::Array(types) => types.iter().any(|t| t == "null"),
        Value::String(t) => t == "null",
        _ => false,
    }
}

/// `{field: null}` for every property of every request body (and of the
/// objects in them) that the document does not make nullable is a 400
/// naming the field; a nullable one is taken.
#[tokio::test]
async fn null_is_refused_where_the_document_does_not_allow_it() {
    let store = StoreHandle::new(Backend::Embedded);
    let (app, token, id) = app_with_every_permission(&store).await;
    let (status, created) = app
        .api(
            Method::POST,
            "/groups",
            &token,
            Some(json!({"displayName": "Probe", "mailNickname": "probe"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let group = created["id"].as_str().unwrap().to_owned();
    let doc = fetch_document(&app).await;
    let mut wrong = Vec::new();
    let mut probed = 0;
    for (template, m) in documented_operations(&doc) {
        let op = &doc["paths"][&template][&m];
        let Some(media) = op["requestBody"]["content"].get("application/json") else {
            continue;
        };
        let url = app.url(&format!(
            "/api/v1{}",
            concrete(
                &template
                    .replace("{user}", &id)
                    .replace("{group}", &group)
                    .replace("{id}", "TemporaryAccessPass")
            )
        ));
        let schema = deref(&doc, &media["schema"]);
        let mut cases: Vec<(String, Value, bool)> = Vec::new();
        for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
            let prop = deref(&doc, prop);
            cases.push((name.clone(), json!({ name: null }), is_nullable(prop)));
            for (inner, sub) in prop["properties"].as_object().into_iter().flatten() {
                let sub = deref(&doc, sub);
                cases.push((
                    format!("{name}.{inner}"),
                    json!({ name: { inner: null } }),
                    is_nullable(sub),
                ));
            }
        }
        for (field, body, nullable) in cases {
            probed += 1;
            let res = app
                .http
                .request(method(&m), &url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let answer: Value = res.json().await.unwrap_or(Value::Null);
            let detail = answer["error"]["message"].as_str().unwrap_or_default();
            let label = format!("{} {template} {body}", m.to_uppercase());
            if nullable {
                if status >= 400 {
                    wrong.push(format!("{label}: nullable, but {status} {answer}"));
                }
            } else if status != 400 || !detail.starts_with(&format!("{field}: ")) {
                wrong.push(format!("{label}: {status} {answer}"));
            }
        }
    }
    assert!(probed >= 40, "only {probed} fields probed");
    assert!(
        wrong.is_empty(),
        "null where the document does not allow it, not refused naming the field:\n{}",
        wrong.join("\n")
    );
    app.stop().await;
}

/// Requests that fit the document are taken: whole numbers written with a
/// fraction or an exponent (JSON Schema's `integer` is the value), any
/// `$skiptoken` of the documented pattern, text with surrounding white
/// space the document's patterns allow.
#[tokio::test]
async fn requests_the_document_allows_are_accepted() {
    let store = StoreHandle::new(Backend::Embedded);
    let (app, token, id) = app_with_every_permission(&store).await;
    let pol = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations";
    let (status, body) = app
        .api(
            Method::PATCH,
            &format!("{pol}/temporaryAccessPass"),
            &token,
            Some(json!({"maximumLifetimeInMinutes": 600.0, "defaultLifetimeInMinutes": 6e1, "defaultLength": 8.0})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, policy) = app
        .api(
            Method::GET,
            &format!("{pol}/temporaryAccessPass"),
            &token,
            None,
        )
        .await;
    assert_eq!(policy["maximumLifetimeInMinutes"], 600);
    assert_eq!(policy["defaultLifetimeInMinutes"], 60);
    let (status, body) = app
        .api(
            Method::PATCH,
            &format!("{pol}/fido2"),
            &token,
            Some(json!({"enrollmentWindowInMinutes": 1.5e1})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = app
        .api(
            Method::POST,
            &format!("/users/{id}/authentication/temporaryAccessPassMethods"),
            &token,
            Some(json!({"lifetimeInMinutes": 120.0})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["lifetimeInMinutes"], 120);
    // Positions, whether this server issued them or not ("gA" decodes to a
    // byte that is no UTF-8).
    for token_value in ["gA", "abc", "ZHVtbXk"] {
        let (status, body) = app
            .api(
                Method::GET,
                &format!("/users?$skiptoken={token_value}"),
                &token,
                None,
            )
            .await;
        assert_eq!(status, 200, "$skiptoken={token_value}: {body}");
    }
    // Surrounding white space, Unicode's included, is dropped.
    let (status, body) = app
        .api(
            Method::POST,
            "/users",
            &token,
            Some(json!({"userPrincipalName": "\u{3000}\tada@example.com\u{2028}", "displayName": "\u{85}Ada\u{a0}", "mobilePhone": " +1 (555) 0100 "})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["userPrincipalName"], "ada@example.com");
    assert_eq!(body["displayName"], "Ada");
    app.stop().await;
}

/// Requests the document refuses are refused: nothing beyond its patterns,
/// lengths (counted as sent), item counts and formats gets in.
#[tokio::test]
async fn requests_the_document_refuses_are_refused() {
    let store = StoreHandle::new(Backend::Embedded);
    let (app, token, id) = app_with_every_permission(&store).await;
    let pol = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations";
    let upn = format!("a@{}.{}.com", "b".repeat(60), "c".repeat(46));
    assert_eq!(upn.len(), 113);
    let taps = format!("/users/{id}/authentication/temporaryAccessPassMethods");
    let cases: Vec<(Method, String, Value, &str)> = vec![
        (
            Method::PATCH,
            format!("{pol}/temporaryAccessPass"),
            json!({"includeTargets": [{"targetType": "group", "id": "all_users"}, {"targetType": "group", "id": "sales"}]}),
            "includeTargets",
        ),
        (
            Method::PATCH,
            format!("{pol}/fido2"),
            json!({"keyRestrictions": {"aaGuids": vec!["cb69481e-8ff7-4039-93ec-0a2729a154a8"; 101]}}),
            "keyRestrictions.aaGuids",
        ),
        (
            Method::POST,
            "/users".into(),
            json!({"userPrincipalName": format!(" {upn}"), "displayName": "Long"}),
            "userPrincipalName",
        ),
        (
            Method::POST,
            "/users".into(),
            json!({"userPrincipalName": "long@example.com", "displayName": format!(" {} ", "n".repeat(255))}),
            "displayName",
        ),
        (
            Method::POST,
            "/clients".into(),
            json!({"displayName": "Upper", "redirectUris": ["HTTPS://example.com/cb"]}),
            "redirectUris",
        ),
        (
            Method::POST,
            "/clients".into(),
            json!({"displayName": "IPv6", "redirectUris": ["https://[2001:db8::1]/cb"]}),
            "redirectUris",
        ),
        (
            Method::POST,
            taps.clone(),
            json!({"startDateTime": "2030-01-01 00:00:00Z"}),
            "startDateTime",
        ),
        // A body is an object, never the array form serde would read a
        // struct from (`[]` was taken as an empty patch).
        (
            Method::PATCH,
            format!("{pol}/temporaryAccessPass"),
            json!([]),
            "body",
        ),
        (
            Method::POST,
            "/users".into(),
            json!(["bob@example.com", "Bob"]),
            "body",
        ),
        // The pass would end after the last time there is (this was a panic).
        (
            Method::POST,
            taps.clone(),
            json!({"startDateTime": "9999-12-31T23:30:00Z"}),
            "startDateTime",
        ),
    ];
    let mut wrong = Vec::new();
    for (m, path, body, field) in cases {
        let (status, answer) = app.api(m.clone(), &path, &token, Some(body.clone())).await;
        let detail = answer["error"]["message"].as_str().unwrap_or_default();
        if status != 400 || !detail.starts_with(&format!("{field}: ")) {
            wrong.push(format!("{m} {path} {body}: {status} {answer}"));
        }
    }
    for query in ["$top=+5", "$top=%205", "$top=5.0"] {
        let (status, answer) = app
            .api(Method::GET, &format!("/users?{query}"), &token, None)
            .await;
        if status != 400 {
            wrong.push(format!("GET /users?{query}: {status} {answer}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "requests outside the document, not refused:\n{}",
        wrong.join("\n")
    );
    app.stop().await;
}

#[test]
fn route_parser_reads_the_forms_the_route_table_uses() {
    let src = r#"
        // .route("/commented", web::get().to(nope))
        pub fn routes(cfg: &mut web::ServiceConfig) {
            const A: &str = "/a/{x}";
            // .route("/inside/a/comment", web::get().to(nope))
            /* web::resource("/in/a/block/comment") */
            cfg.service(
                web::resource(
                    "/one",
                )
                .route(web::get().to(h))
                .route(
                    web::post()
                        .to(h),
                ),
            )
            .service(web::resource(format!("{A}/{{y}}")).route(web::delete().to(h)))
            .route(B, web::patch().to(h))
            .service(web::resource(&format!("{B}/c")).route(web::put().to(h)))
            .route(
                "/two/{z}",
                web::get().to(h),
            )
            // .configure(super::commented::routes)
            .configure(super::more::routes)
            .configure(
                super::yet_more::routes,
            );
        }
        const B: &str = "/b";
        fn other() { let _ = "/not/a/route"; }
    "#;
    let got = route_table::registered_routes(src, "test source");
    let want: BTreeSet<(String, String)> = [
        ("/one", "get"),
        ("/one", "post"),
        ("/a/{}/{}", "delete"),
        ("/b", "patch"),
        ("/b/c", "put"),
        ("/two/{}", "get"),
    ]
    .into_iter()
    .map(|(p, m)| (p.to_owned(), m.to_owned()))
    .collect();
    assert_eq!(got, want);
    assert_eq!(
        route_table::configured_modules(src, "test source"),
        ["more", "yet_more"]
    );
}

/// Reads the route table out of the Rust source of `admin_api.rs`: the
/// paths given to `web::resource(...)` and `.route(path, ...)` (string
/// literals, `const` names, `format!` with inline `{CONST}` and `{{x}}`),
/// each with the methods (`web::get()`, ...) chained on it, and the modules
/// whose tables it adds with `.configure(super::NAME::routes)`. Works on
/// tokens, so line breaks and comments do not matter.
mod route_table {
    use std::collections::{BTreeSet, HashMap};

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Tok {
        Ident(String),
        Str(String),
        /// A char literal; its value does not matter here.
        Char,
        Punct(char),
    }

    fn tokenize(src: &str) -> Vec<Tok> {
        let c: Vec<char> = src.chars().collect();
        let at = |i: usize| c.get(i).copied();
        let mut out = Vec::new();
        let mut i = 0;
        while i < c.len() {
            let ch = c[i];
            if ch.is_whitespace() {
                i += 1;
            } else if ch == '/' && at(i + 1) == Some('/') {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            } else if ch == '/' && at(i + 1) == Some('*') {
                let mut depth = 0;
                while i < c.len() {
                    if c[i] == '/' && at(i + 1) == Some('*') {
                        depth += 1;
                        i += 2;
                    } else if c[i] == '*' && at(i + 1) == Some('/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            } else if let Some((s, next)) = raw_string(&c, i) {
                out.push(Tok::Str(s));
                i = next;
            } else if ch == '"' || (ch == 'b' && at(i + 1) == Some('"')) {
                i += if ch == 'b' { 2 } else { 1 };
                let mut s = String::new();
                while i < c.len() && c[i] != '"' {
                    if c[i] == '\\' {
                        i += 1;
                        match at(i) {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('\n') => {
                                // Line continuation: skip the next line's indent.
                                while at(i + 1).is_some_and(char::is_whitespace) {
                                    i += 1;
                                }
                            }
                            Some(other) => s.push(other),
                            None => {}
                        }
                    } else {
                        s.push(c[i]);
                    }
                    i += 1;
                }
                out.push(Tok::Str(s));
                i += 1;
            } else if ch == '\'' {
                if at(i + 1) == Some('\\') {
                    i += 2;
                    while i < c.len() && c[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                    out.push(Tok::Char);
                } else if at(i + 2) == Some('\'') {
                    i += 3;
                    out.push(Tok::Char);
                } else {
                    // A lifetime: the name follows as an identifier.
                    out.push(Tok::Punct('\''));
                    i += 1;
                }
            } else if ch.is_alphanumeric() || ch == '_' {
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
                out.push(Tok::Ident(c[start..i].iter().collect()));
            } else {
                out.push(Tok::Punct(ch));
                i += 1;
            }
        }
        out
    }

    /// `r"..."`, `r#"..."#`, `br"..."` at `i`: the text and the index after it.
    fn raw_string(c: &[char], i: usize) -> Option<(String, usize)> {
        let mut j = i;
        if c.get(j) == Some(&'b') {
            j += 1;
        }
        if c.get(j) != Some(&'r') {
            return None;
        }
        // Not the tail of an identifier such as `bar"`.
        if i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_') {
            return None;
        }
        j += 1;
        let mut hashes = 0;
        while c.get(j) == Some(&'#') {
            hashes += 1;
            j += 1;
        }
        if c.get(j) != Some(&'"') {
            return None;
        }
        j += 1;
        let start = j;
        while j < c.len() {
            if c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#')) {
                return Some((c[start..j].iter().collect(), j + 1 + hashes));
            }
            j += 1;
        }
        None
    }

    fn ident(t: Option<&Tok>, name: &str) -> bool {
        matches!(t, Some(Tok::Ident(s)) if s == name)
    }

    fn punct(t: Option<&Tok>, ch: char) -> bool {
        t == Some(&Tok::Punct(ch))
    }

    /// `web :: NAME` at `i`: NAME.
    fn web_item(t: &[Tok], i: usize) -> Option<&str> {
        if ident(t.get(i), "web") && punct(t.get(i + 1), ':') && punct(t.get(i + 2), ':') {
            match t.get(i + 3) {
                Some(Tok::Ident(name)) => Some(name),
                _ => None,
            }
        } else {
            None
        }
    }

    /// The tokens inside the bracket opened at `open`, and the index after
    /// its closing bracket.
    fn group<'t>(t: &'t [Tok], open: usize, file: &str) -> (&'t [Tok], usize) {
        let mut depth = 0usize;
        for (k, tok) in t.iter().enumerate().skip(open) {
            match tok {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(')' | ']' | '}') => {
                    depth -= 1;
                    if depth == 0 {
                        return (&t[open + 1..k], k + 1);
                    }
                }
                _ => {}
            }
        }
        panic!("unbalanced brackets in {file}");
    }

    /// Splits at the commas outside brackets.
    fn split_args(t: &[Tok]) -> Vec<&[Tok]> {
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0usize, 0);
        for (k, tok) in t.iter().enumerate() {
            match tok {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(')' | ']' | '}') => depth -= 1,
                Tok::Punct(',') if depth == 0 => {
                    parts.push(&t[start..k]);
                    start = k + 1;
                }
                _ => {}
            }
        }
        if start < t.len() {
            parts.push(&t[start..]);
        }
        parts
    }

    /// `const NAME: &str = "value";` anywhere in the file.
    fn string_consts(t: &[Tok]) -> HashMap<String, String> {
        let mut out = HashMap::new();
        for i in 0..t.len() {
            if !ident(t.get(i), "const") {
                continue;
            }
            let Some(Tok::Ident(name)) = t.get(i + 1) else {
                continue;
            };
            let Some(eq) = (i + 2..t.len())
                .take_while(|&k| !punct(t.get(k), ';'))
                .find(|&k| punct(t.get(k), '='))
            else {
                continue;
            };
            if let (Some(Tok::Str(v)), true) = (t.get(eq + 1), punct(t.get(eq + 2), ';')) {
                out.insert(name.clone(), v.clone());
            }
        }
        out
    }

    fn describe(t: &[Tok]) -> String {
        t.iter()
            .map(|x| match x {
                Tok::Ident(s) => s.clone(),
                Tok::Str(s) => format!("{s:?}"),
                Tok::Char => "'?'".into(),
                Tok::Punct(p) => p.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The path a route expression stands for.
    fn resolve(expr: &[Tok], consts: &HashMap<String, String>, file: &str) -> String {
        // A trailing comma (rustfmt adds one when the argument has its own line).
        let expr = match expr {
            [rest @ .., Tok::Punct(',')] => rest,
            other => other,
        };
        let expr = match expr {
            [Tok::Punct('&'), rest @ ..] => rest,
            other => other,
        };
        let constant = |name: &str| {
            consts.get(name).cloned().unwrap_or_else(|| {
                panic!(
                    "route path uses {name}, which is not a `const {name}: &str = \"...\"` in {}",
                    file
                )
            })
        };
        match expr {
            [Tok::Str(s)] => s.clone(),
            [Tok::Ident(name)] => constant(name),
            [
                Tok::Ident(f),
                Tok::Punct('!'),
                Tok::Punct('('),
                Tok::Str(fmt),
                rest @ ..,
            ] if f == "format"
                && matches!(rest, [Tok::Punct(')')] | [Tok::Punct(','), Tok::Punct(')')]) =>
            {
                let mut out = String::new();
                let mut chars = fmt.chars().peekable();
                while let Some(ch) = chars.next() {
                    match ch {
                        '{' if chars.peek() == Some(&'{') => {
                            chars.next();
                            out.push('{');
                        }
                        '}' if chars.peek() == Some(&'}') => {
                            chars.next();
                            out.push('}');
                        }
                        '{' => {
                            let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                            out.push_str(&constant(&name));
                        }
                        other => out.push(other),
                    }
                }
                out
            }
            _ => panic!(
                "the route parser does not understand the path expression `{}` in {}; \
                 extend tests/it/openapi.rs",
                describe(expr),
                file
            ),
        }
    }

    /// The HTTP method named by `web::get()` etc. inside `t`.
    fn method_in(t: &[Tok], file: &str) -> String {
        let found: Vec<String> = (0..t.len())
            .filter_map(|i| web_item(t, i).map(|m| (i, m)))
            .filter(|(i, m)| {
                ["get", "post", "put", "patch", "delete", "head"].contains(m)
                    && punct(t.get(i + 4), '(')
                    && punct(t.get(i + 5), ')')
            })
            .map(|(_, m)| m.to_owned())
            .collect();
        match found.as_slice() {
            [m] => m.clone(),
            _ => panic!(
                "the route parser expects one web::<method>() in `{}` ({})",
                describe(t),
                file
            ),
        }
    }

    /// The tokens of the body of `fn routes` in `t`.
    fn routes_body<'t>(t: &'t [Tok], file: &str) -> &'t [Tok] {
        let start = (0..t.len())
            .find(|&i| ident(t.get(i), "fn") && ident(t.get(i + 1), "routes"))
            .unwrap_or_else(|| panic!("no `fn routes` in {file}"));
        let open = (start..t.len())
            .find(|&i| punct(t.get(i), '{'))
            .expect("fn routes has a body");
        group(t, open, file).0
    }

    /// `(normalised path, lower-case method)` for every route that `fn
    /// routes` in `src` (read from `file`) registers itself.
    pub fn registered_routes(src: &str, file: &str) -> BTreeSet<(String, String)> {
        let t = tokenize(src);
        let consts = string_consts(&t);
        let body = routes_body(&t, file);

        let mut routes = BTreeSet::new();
        let mut resource: Option<String> = None;
        let mut i = 0;
        while i < body.len() {
            if let Some(item) = web_item(body, i) {
                match item {
                    "resource" if punct(body.get(i + 4), '(') => {
                        let (args, next) = group(body, i + 4, file);
                        resource = Some(resolve(args, &consts, file));
                        i = next;
                        continue;
                    }
                    "scope" | "route" | "method" | "resource" => panic!(
                        "the route parser does not handle web::{item} in {file}; extend tests/it/openapi.rs"
                    ),
                    _ => {}
                }
            }
            if punct(body.get(i), '.')
                && ident(body.get(i + 1), "route")
                && punct(body.get(i + 2), '(')
            {
                let (args, next) = group(body, i + 2, file);
                if web_item(args, 0).is_some() {
                    // `.route(web::get()...)` on the resource just opened.
                    let path = resource.clone().unwrap_or_else(|| {
                        panic!(
                            "`.route({})` outside a web::resource in {file}",
                            describe(args)
                        )
                    });
                    routes.insert((super::normalise(&path), method_in(args, file)));
                } else {
                    // `cfg.route(path, web::get()...)`.
                    let parts = split_args(args);
                    let [path, route] = parts.as_slice() else {
                        panic!(
                            "`.route({})` is neither .route(web::…) nor .route(path, web::…) in {file}",
                            describe(args)
                        );
                    };
                    let path = resolve(path, &consts, file);
                    routes.insert((super::normalise(&path), method_in(route, file)));
                    resource = None;
                }
                i = next;
                continue;
            }
            i += 1;
        }
        routes
    }

    /// The sibling handler modules whose routes `fn routes` in `src` adds
    /// with `.configure(super::NAME::routes)`.
    pub fn configured_modules(src: &str, file: &str) -> Vec<String> {
        let t = tokenize(src);
        let body = routes_body(&t, file);
        let mut modules = Vec::new();
        let mut i = 0;
        while i < body.len() {
            if punct(body.get(i), '.')
                && ident(body.get(i + 1), "configure")
                && punct(body.get(i + 2), '(')
            {
                let (args, next) = group(body, i + 2, file);
                let args = match args {
                    [rest @ .., Tok::Punct(',')] => rest,
                    other => other,
                };
                match args {
                    [
                        Tok::Ident(sup),
                        Tok::Punct(':'),
                        Tok::Punct(':'),
                        Tok::Ident(module),
                        Tok::Punct(':'),
                        Tok::Punct(':'),
                        Tok::Ident(f),
                    ] if sup == "super" && f == "routes" => modules.push(module.clone()),
                    // A child module of `mod.rs`: its file is a sibling too.
                    [
                        Tok::Ident(module),
                        Tok::Punct(':'),
                        Tok::Punct(':'),
                        Tok::Ident(f),
                    ] if f == "routes" => modules.push(module.clone()),
                    _ => panic!(
                        "the route parser only follows .configure(super::NAME::routes), not \
                         `.configure({})` in {file}; extend tests/it/openapi.rs",
                        describe(args)
                    ),
                }
                i = next;
                continue;
            }
            i += 1;
        }
        modules
    }
}

/// The registration details report answers as documented: a page, one
/// user's details, a user that does not exist, a refused filter.
#[tokio::test]
async fn registration_details_match_the_documented_schemas() {
    let store = StoreHandle::new(Backend::Embedded);
    let (app, token, id) = app_with_every_permission(&store).await;
    let doc = fetch_document(&app).await;
    let mut problems = Vec::new();
    let get = |url: String| {
        app.http
            .get(app.url(&format!("/api/v1{url}")))
            .bearer_auth(&token)
            .send()
    };
    let list = "/reports/authenticationMethods/userRegistrationDetails";
    let one = format!("{list}/{{user}}");
    let res = get(format!("{list}?$top=1")).await.unwrap();
    let page = conforms(&doc, list, "get", 200, res, &mut problems).await;
    assert_eq!(page["value"].as_array().unwrap().len(), 1, "{page}");
    let res = get(format!("{list}/{id}")).await.unwrap();
    let item = conforms(&doc, &one, "get", 200, res, &mut problems).await;
    assert_eq!(item["userPrincipalName"], "wire@example.com");
    let res = get(format!("{list}/nobody@example.com")).await.unwrap();
    conforms(&doc, &one, "get", 404, res, &mut problems).await;
    let res = get(format!("{list}?$filter=isAdmin ne true"))
        .await
        .unwrap();
    conforms(&doc, list, "get", 400, res, &mut problems).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    app.stop().await;
}
