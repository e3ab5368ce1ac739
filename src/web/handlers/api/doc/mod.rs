//! The OpenAPI 3.1 document of `/api/v1`, derived from the code: each
//! handler's `#[utoipa::path]` (next to the handler), the body types'
//! `ToSchema`, the OData options from the resources' query schemas
//! ([`params`]) and the constrained text fields ([`fields`]). What every
//! operation shares (its error answers, the permissions as OAuth scopes)
//! is added once, in [`finish`].

pub mod fields;
pub mod params;
pub mod shapes;

use std::sync::OnceLock;

use serde_json::{Map, Value, json};
use utoipa::OpenApi;

use super::{audit, batch, clients, groups, keys, methods, onboarding, policies, users, webhooks};
use crate::domain::permission::Permission;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Onramp admin API",
        version = "1.0",
        description = "A compatible subset of Microsoft Graph v1.0 (users, authentication methods, method policies, groups, directory audits, JSON batching), plus Onramp's own resources in the same conventions (clients, signing keys, sign-in lockouts, directory roles, webhooks). Errors use Graph's envelope; every unsupported query option, parameter or property is a 400 naming it."
    ),
    servers((url = "/api/v1")),
    paths(
        users::users_list,
        users::users_create,
        users::users_count,
        users::user_get,
        users::user_patch,
        users::user_delete,
        users::manager_get,
        users::manager_set,
        users::manager_clear,
        users::member_of,
        users::revoke_sessions,
        users::lockout_get,
        users::lockout_clear,
        users::set_directory_roles,
        methods::methods_list,
        methods::method_get,
        methods::taps_list,
        methods::tap_create,
        methods::tap_get,
        methods::tap_delete,
        methods::fido2_list,
        methods::fido2_get,
        methods::fido2_delete,
        methods::passkeys_list,
        methods::passkey_get,
        methods::passkey_delete,
        policies::policy_get,
        policies::configurations_list,
        policies::configuration_get,
        policies::configuration_patch,
        groups::groups_list,
        groups::group_create,
        groups::groups_count,
        groups::group_get,
        groups::group_patch,
        groups::group_delete,
        groups::members_list,
        groups::member_add,
        groups::member_remove,
        audit::directory_audits,
        audit::directory_audit,
        audit::audit_logs,
        clients::clients_list,
        clients::client_register,
        clients::client_get,
        clients::client_delete,
        keys::rotate_keys,
        onboarding::onboarding_get,
        onboarding::onboarding_patch,
        webhooks::webhooks_list,
        webhooks::webhook_create,
        webhooks::webhook_get,
        webhooks::webhook_delete,
        webhooks::deliveries_list,
        webhooks::delivery_redeliver,
        batch::batch,
        super::openapi_json,
    ),
    components(schemas(crate::web::error::GraphBody)),
    tags(
        (name = "users", description = "Graph's users, their manager and groups."),
        (name = "methods", description = "Graph's authentication methods of a user."),
        (name = "policies", description = "Graph's authentication methods policy."),
        (name = "groups", description = "Graph's security groups and their members."),
        (name = "audit", description = "Graph's directory audits, and Onramp's audit log."),
        (name = "onramp", description = "Onramp's own resources: clients, signing keys, sign-in lockouts, directory roles, webhooks."),
        (name = "batch", description = "Graph's JSON batching."),
    )
)]
struct ApiDoc;

/// The document as served (built once).
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null);
        serde_json::to_string(&finish(doc)).unwrap_or_default()
    })
}

/// The standard error answers, by status: description and whether the
/// answer carries `WWW-Authenticate` or `Retry-After`.
const ERRORS: &[(&str, &str, &str)] = &[
    (
        "400",
        "BadRequest",
        "`Request_BadRequest` (a bad field, parameter or body, named in the message) or `Request_UnsupportedQuery` (a query option, property or operator this request does not support, named).",
    ),
    (
        "401",
        "Unauthorized",
        "`InvalidAuthenticationToken`: the bearer token is missing, malformed, forged, foreign or expired.",
    ),
    (
        "403",
        "Forbidden",
        "`Authorization_RequestDenied`: the token lacks the permission, or the caller's directory roles do not allow the call on this target.",
    ),
    (
        "404",
        "NotFound",
        "`Request_ResourceNotFound`: no such resource; the message names the id.",
    ),
    (
        "413",
        "PayloadTooLarge",
        "`Request_BadRequest`: the body is larger than the server takes.",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "`Request_BadRequest`: the body is not `application/json`.",
    ),
    (
        "503",
        "ServiceUnavailable",
        "`serviceNotAvailable`: the store is unreachable, or sign-in checks are busy; try again after `Retry-After` seconds.",
    ),
];

const ERROR_SCHEMA: &str = "#/components/schemas/GraphError";

fn error_response(status: &str, description: &str) -> Value {
    let mut headers = Map::new();
    headers.insert(
        "request-id".into(),
        json!({"description": "This request's id (also in `innerError`).", "schema": {"type": "string"}}),
    );
    if status == "401" {
        headers.insert(
            "WWW-Authenticate".into(),
            json!({"description": "`Bearer realm=\"onramp\"`, with `error=\"invalid_token\"` when a token was sent.", "required": true, "schema": {"type": "string"}}),
        );
    }
    if status == "503" {
        headers.insert(
            "Retry-After".into(),
            json!({"description": "Seconds to wait.", "schema": {"type": "string"}}),
        );
    }
    json!({
        "description": description,
        "headers": headers,
        "content": {"application/json": {"schema": {"$ref": ERROR_SCHEMA}}}
    })
}

/// Schemas of resources whose properties `$select` may leave out: none
/// of their properties is required in an answer.
const SELECTABLE: &[&str] = &[
    "User",
    "Group",
    "DirectoryAudit",
    "TemporaryAccessPassMethod",
    "Fido2Method",
    "PasskeyMethod",
    "AuthenticationMethod",
];

/// What the derive cannot say once per document.
fn finish(mut doc: Value) -> Value {
    let scopes: Map<String, Value> = Permission::ALL
        .iter()
        .map(|p| (p.as_str().to_owned(), Value::String(p.description().into())))
        .collect();
    let components = &mut doc["components"];
    components["securitySchemes"] = json!({
        "oauth2": {
            "type": "oauth2",
            "description": "An access token (RFC 9068 JWT) from `POST /token`, as a bearer token. The permissions are the scopes. Applications use client credentials and get the permissions the configuration grants the client; signed-in administrators use the authorization code flow with PKCE (e.g. the built-in public client `onramp-admin-portal`), and their directory roles trim the permissions and are checked again on every call.",
            "flows": {
                "clientCredentials": {"tokenUrl": "/token", "scopes": scopes.clone()},
                "authorizationCode": {"authorizationUrl": "/authorize", "tokenUrl": "/token", "scopes": scopes}
            }
        }
    });
    components["securitySchemes"]["bearerAuth"] = json!({
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from `POST /token` (see `oauth2` for the permissions)."
    });
    let mut responses = Map::new();
    for (status, name, description) in ERRORS {
        responses.insert((*name).into(), error_response(status, description));
    }
    components["responses"] = Value::Object(responses);
    if let Some(schemas) = components["schemas"].as_object_mut() {
        for name in SELECTABLE {
            if let Some(Value::Object(s)) = schemas.get_mut(*name) {
                s.remove("required");
            }
        }
        // `dependsOn` or `depends_on`, never both.
        if let Some(Value::Object(item)) = schemas.get_mut("BatchRequestItem") {
            item.insert(
                "not".into(),
                json!({"required": ["dependsOn", "depends_on"]}),
            );
        }
        // Open schemas without required properties: an item may fit more
        // than one, and its `@odata.type` says which it is.
        for name in ["DirectoryObject", "AuthenticationMethod"] {
            if let Some(Value::Object(s)) = schemas.get_mut(name)
                && let Some(alternatives) = s.remove("oneOf")
            {
                s.insert("anyOf".into(), alternatives);
            }
        }
    }
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for op in item.values_mut() {
                add_errors(path, op);
                add_bearer(op);
            }
        }
    }
    doc
}

/// Any bearer token with the permission will do: the `oauth2` requirement
/// says which permission, `bearerAuth` how to send the token.
fn add_bearer(op: &mut Value) {
    if let Some(requirements) = op.get_mut("security").and_then(Value::as_array_mut)
        && requirements.iter().any(|r| r.get("oauth2").is_some())
    {
        requirements.insert(0, json!({"bearerAuth": []}));
    }
}

/// Adds the standard error answers an operation can give and does not
/// already list: 404 only where the path names a resource, 415 only where
/// there is a body, nothing but 503 where no token is needed.
fn add_errors(path: &str, op: &mut Value) {
    let public = op.get("security").is_some_and(|s| {
        s.as_array()
            .is_some_and(|a| a.iter().any(|r| r.as_object().is_some_and(Map::is_empty)))
    });
    let has_body = op.get("requestBody").is_some();
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for (status, name, _) in ERRORS {
        let applies = match *status {
            "404" => path.contains('{'),
            "413" | "415" => has_body,
            "503" => true,
            _ => !public,
        };
        if applies && !responses.contains_key(*status) {
            responses.insert(
                (*status).into(),
                json!({"$ref": format!("#/components/responses/{name}")}),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` in the document names a component it has.
    #[test]
    fn every_reference_resolves() {
        let doc: Value = serde_json::from_str(document()).expect("JSON");
        if let Ok(path) = std::env::var("ONRAMP_WRITE_OPENAPI") {
            std::fs::write(path, serde_json::to_string_pretty(&doc).expect("JSON")).expect("write");
        }
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(refs.len() > 50, "{} references", refs.len());
        for r in refs {
            let pointer = r.strip_prefix('#').expect("local reference");
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
    }

    fn collect_refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("$ref", Value::String(r)) => out.push(r.clone()),
                        _ => collect_refs(v, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }

    /// Each operation lists the answers it can give beside its own.
    #[test]
    fn operations_have_the_standard_errors() {
        let doc: Value = serde_json::from_str(document()).expect("JSON");
        let get = &doc["paths"]["/users/{user}"]["get"]["responses"];
        for status in ["200", "400", "401", "403", "404", "503"] {
            assert!(
                get.get(status).is_some(),
                "GET /users/{{user}} lacks {status}"
            );
        }
        assert!(get.get("415").is_none());
        let post = &doc["paths"]["/users"]["post"]["responses"];
        assert!(post.get("415").is_some() && post.get("409").is_some());
        assert!(post.get("404").is_none());
    }
}
