//! A user's authentication methods (Graph's `/users/{id}/authentication`):
//! all of them (`methods`), Temporary Access Passes, FIDO2 passkeys
//! (`fido2Methods`), and `passkeyMethods`, Onramp's earlier name for the
//! passkeys with its own shape, kept as an alias.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

use super::Api;
use super::query;
use super::resources::{Fido2Response, PasskeyResponse, TapResponse, typed};
use super::{base, no_content, ok, parse_date_time, rfc3339};
use crate::domain::DomainError;
use crate::domain::credential::PasskeyCredential;
use crate::domain::odata::{Ops, PropType, Property, ResourceSchema, schemas};
use crate::domain::tap::TapRequest;
use crate::service::Caller;
use crate::service::admin::TapView;
use crate::state::AppState;
use crate::web::error::{Named, WebError};
use crate::web::json::{MaybeApiJson, present, whole};

const METHODS: &str = "/users/{user}/authentication/methods";
const TAPS: &str = "/users/{user}/authentication/temporaryAccessPassMethods";
const FIDO2: &str = "/users/{user}/authentication/fido2Methods";
const PASSKEYS: &str = "/users/{user}/authentication/passkeyMethods";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(METHODS).route(web::get().to(methods_list)))
        .service(web::resource(format!("{METHODS}/{{method}}")).route(web::get().to(method_get)))
        .service(
            web::resource(TAPS)
                .route(web::get().to(taps_list))
                .route(web::post().to(tap_create)),
        )
        .service(
            web::resource(format!("{TAPS}/{{tap}}"))
                .route(web::get().to(tap_get))
                .route(web::delete().to(tap_delete)),
        )
        .service(web::resource(FIDO2).route(web::get().to(fido2_list)))
        .service(
            web::resource(format!("{FIDO2}/{{method}}"))
                .route(web::get().to(fido2_get))
                .route(web::delete().to(fido2_delete)),
        )
        .service(web::resource(PASSKEYS).route(web::get().to(passkeys_list)))
        .service(
            web::resource(format!("{PASSKEYS}/{{passkey}}"))
                .route(web::get().to(passkey_get))
                .route(web::delete().to(passkey_delete)),
        );
}

pub const TAP_TYPE: &str = "#microsoft.graph.temporaryAccessPassAuthenticationMethod";
pub const FIDO2_TYPE: &str = "#microsoft.graph.fido2AuthenticationMethod";

/// What the method collections take: `$select` of these, `$top`.
const METHOD_PROPERTIES: &[Property] = &[
    Property::new("id", PropType::String).filter(Ops::EQ.with(Ops::IN)),
    Property::new("createdDateTime", PropType::DateTime).filter(Ops::GE.with(Ops::LE)),
];
const METHOD: ResourceSchema = schemas::plain("authenticationMethod", METHOD_PROPERTIES);
const TAP_PROPERTIES: &[Property] = &[
    Property::new("id", PropType::String).filter(Ops::EQ.with(Ops::IN)),
    Property::new("temporaryAccessPass", PropType::String),
    Property::new("createdDateTime", PropType::DateTime),
    Property::new("startDateTime", PropType::DateTime),
    Property::new("lifetimeInMinutes", PropType::Int),
    Property::new("isUsableOnce", PropType::Bool),
    Property::new("isUsable", PropType::Bool),
    Property::new("methodUsabilityReason", PropType::String),
];
const TAP: ResourceSchema =
    schemas::plain("temporaryAccessPassAuthenticationMethod", TAP_PROPERTIES);
const FIDO2_PROPERTIES: &[Property] = &[
    Property::new("id", PropType::String).filter(Ops::EQ.with(Ops::IN)),
    Property::new("displayName", PropType::String).filter(Ops::EQ.with(Ops::STARTS_WITH)),
    Property::new("createdDateTime", PropType::DateTime),
    Property::new("aaGuid", PropType::String),
    Property::new("model", PropType::String),
    Property::new("attestationLevel", PropType::String),
    Property::new("attestationCertificates", PropType::StringCollection),
];
const FIDO2_SCHEMA: ResourceSchema = schemas::plain("fido2AuthenticationMethod", FIDO2_PROPERTIES);
const PASSKEY_PROPERTIES: &[Property] = &[
    Property::new("id", PropType::String),
    Property::new("displayName", PropType::String),
    Property::new("createdDateTime", PropType::DateTime),
    Property::new("lastUsedDateTime", PropType::DateTime),
    Property::new("aaGuid", PropType::String),
    Property::new("backupEligible", PropType::Bool),
    Property::new("backupState", PropType::Bool),
];
const PASSKEY: ResourceSchema = schemas::plain("passkeyMethod", PASSKEY_PROPERTIES);

fn context(state: &AppState, user: &str, what: &str) -> String {
    query::context(
        &base(state),
        &format!(
            "users('{}')/authentication/{what}",
            user.replace('\'', "''")
        ),
    )
}

/// A collection answer: `$filter`ed, counted, paged by `$top`, `$select`ed.
fn collection(
    req: &HttpRequest,
    state: &AppState,
    q: &crate::domain::odata::QueryOptions,
    schema: &ResourceSchema,
    context: String,
    items: Vec<Value>,
) -> Result<HttpResponse, WebError> {
    let matching: Vec<Value> = items
        .into_iter()
        .filter(|item| q.matches(&query::JsonRecord { item, schema }))
        .collect();
    query::memory_page(
        req,
        &base(state),
        context,
        q,
        matching,
        std::convert::identity,
    )
}

/// A user's passkeys as a collection of `schema`, each shaped by `shape`:
/// `fido2Methods` and its alias `passkeyMethods`.
async fn passkey_collection(
    Api { caller, req, state }: Api,
    user: &str,
    (schema, what): (&ResourceSchema, &str),
    shape: fn(PasskeyCredential) -> Value,
) -> Result<HttpResponse, WebError> {
    let q = query::collection(&req, schema, &[])?;
    let list = state
        .admin
        .list_passkeys(&caller, user)
        .await
        .named(&[("user", user)])?;
    let items = list.into_iter().map(shape).collect();
    collection(&req, &state, &q, schema, context(&state, user, what), items)
}

/// The passkey `(user, id)` names, and the user.
async fn one_passkey(
    caller: &Caller,
    state: &AppState,
    (user, id): (String, String),
) -> Result<(String, PasskeyCredential), WebError> {
    let c = state
        .admin
        .get_passkey(caller, &user, &id)
        .await
        .named(&[("user", &user), ("passkeyMethod", &id)])?;
    Ok((user, c))
}

crate::web::handlers::api::doc::params::odata_params! {
    MethodList => METHOD, Paged;
    MethodSelect => METHOD, Single;
    TapList => TAP, Paged;
    TapSelect => TAP, Single;
    Fido2List => FIDO2_SCHEMA, Paged;
    Fido2Select => FIDO2_SCHEMA, Single;
    PasskeyList => PASSKEY, Paged;
    PasskeySelect => PASSKEY, Single;
}

// ---- Temporary Access Passes ----

fn tap_json(view: TapView, passcode: Option<String>) -> Value {
    let body = TapResponse {
        id: view.tap.id,
        temporary_access_pass: passcode,
        created_date_time: rfc3339(view.tap.created),
        start_date_time: rfc3339(view.tap.start),
        lifetime_in_minutes: view.tap.lifetime_minutes,
        is_usable_once: view.tap.is_usable_once,
        is_usable: view.reason.is_usable(),
        method_usability_reason: view.reason,
    };
    typed(TAP_TYPE, serde_json::to_value(body).unwrap_or(Value::Null))
}

/// Every field falls back to the policy.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreateTemporaryAccessPass)]
struct CreateTapRequest {
    #[serde(rename = "@odata.type", default)]
    #[schema(
        nullable = false,
        pattern = "^#microsoft\\.graph\\.temporaryAccessPassAuthenticationMethod$"
    )]
    #[allow(dead_code)]
    odata_type: Option<String>,
    /// RFC 3339; not in the past (5 minutes of skew allowed). Default: now.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, format = DateTime)]
    start_date_time: Option<String>,
    /// Within the policy's minimum and maximum (which lie within 10..43200).
    #[serde(default, deserialize_with = "whole")]
    #[schema(nullable = false, minimum = 10, maximum = 43200)]
    lifetime_in_minutes: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    is_usable_once: Option<bool>,
}

super::graph_body! {
    CreateTapRequest => [TAP_TYPE];
}

impl TryFrom<CreateTapRequest> for TapRequest {
    type Error = DomainError;

    fn try_from(b: CreateTapRequest) -> Result<Self, DomainError> {
        Ok(TapRequest {
            start: b
                .start_date_time
                .map(|s| parse_date_time("startDateTime", &s))
                .transpose()?,
            lifetime_minutes: b.lifetime_in_minutes,
            is_usable_once: b.is_usable_once,
        })
    }
}

#[utoipa::path(
    post,
    path = "/users/{user}/authentication/temporaryAccessPassMethods",
    operation_id = "createTemporaryAccessPassMethod",
    tag = "methods",
    summary = "Issue a Temporary Access Pass",
    description = "A user has one pass at a time: a new one replaces the last. Every field falls back to the policy; a lifetime outside the policy's bounds or a start in the past is a 400.",
    request_body(content = CreateTapRequest, content_type = "application/json"),
    params(super::doc::params::UserPath),
    security(("oauth2" = ["UserAuthenticationMethod.ReadWrite.All"])),
    responses((status = 201, description = "The pass, with its passcode (shown once).", body = TapResponse))
)]
async fn tap_create(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
    // Graph allows an empty body here (every field from the policy).
    body: MaybeApiJson<CreateTapRequest>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let request = body
        .0
        .map_or(Ok(TapRequest::default()), TapRequest::try_from)?;
    let issued = state
        .admin
        .create_tap(&caller, &path, request)
        .await
        .named(&[("user", &path)])?;
    let location = format!(
        "{}/users/{}/authentication/temporaryAccessPassMethods/{}",
        base(&state),
        path,
        issued.view.tap.id
    );
    let ctx = context(&state, &path, "temporaryAccessPassMethods/$entity");
    Ok(super::created(
        &location,
        &query::entity(ctx, tap_json(issued.view, Some(issued.passcode))),
    ))
}

#[utoipa::path(
    get,
    path = "/users/{user}/authentication/temporaryAccessPassMethods",
    operation_id = "listTemporaryAccessPassMethods",
    tag = "methods",
    summary = "List a user's Temporary Access Passes",
    params(super::doc::params::UserPath, TapList),
    security(("oauth2" = ["UserAuthenticationMethod.ReadWrite.All"])),
    responses((status = 200, description = "The passes (never the passcode).", body = super::doc::shapes::TemporaryAccessPassMethodCollection))
)]
async fn taps_list(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let q = query::collection(&req, &TAP, &[])?;
    let views = state
        .admin
        .list_taps(&caller, &path)
        .await
        .named(&[("user", &path)])?;
    let items = views.into_iter().map(|v| tap_json(v, None)).collect();
    collection(
        &req,
        &state,
        &q,
        &TAP,
        context(&state, &path, "temporaryAccessPassMethods"),
        items,
    )
}

#[utoipa::path(
    get,
    path = "/users/{user}/authentication/temporaryAccessPassMethods/{tap}",
    operation_id = "getTemporaryAccessPassMethod",
    tag = "methods",
    summary = "Get a Temporary Access Pass",
    params(super::doc::params::UserPath, super::doc::params::TapPath, TapSelect),
    security(("oauth2" = ["UserAuthenticationMethod.ReadWrite.All"])),
    responses((status = 200, description = "The pass (never the passcode).", body = TapResponse))
)]
async fn tap_get(
    Api { caller, req, state }: Api,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let q = query::single(&req, &TAP)?;
    let (user, tap) = path.into_inner();
    let view = state
        .admin
        .get_tap(&caller, &user, &tap)
        .await
        .named(&[("user", &user), ("temporaryAccessPassMethod", &tap)])?;
    let ctx = context(&state, &user, "temporaryAccessPassMethods/$entity");
    Ok(query::entity_answer(ctx, &q, tap_json(view, None)))
}

#[utoipa::path(
    delete,
    path = "/users/{user}/authentication/temporaryAccessPassMethods/{tap}",
    operation_id = "deleteTemporaryAccessPassMethod",
    tag = "methods",
    summary = "Delete a Temporary Access Pass",
    params(super::doc::params::UserPath, super::doc::params::TapPath),
    security(("oauth2" = ["UserAuthenticationMethod.ReadWrite.All"])),
    responses((status = 204, description = "Done."))
)]
async fn tap_delete(
    Api { caller, req, state }: Api,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let (user, tap) = path.into_inner();
    state
        .admin
        .delete_tap(&caller, &user, &tap)
        .await
        .named(&[("user", &user), ("temporaryAccessPassMethod", &tap)])?;
    Ok(no_content())
}

// ---- FIDO2 passkeys ----

fn fido2_json(c: PasskeyCredential) -> Value {
    let body = Fido2Response {
        id: c.id,
        display_name: c.name,
        created_date_time: rfc3339(c.created),
        model: None,
        aa_guid: c.aaguid,
        attestation_level: "notAttested",
        attestation_certificates: [],
    };
    typed(
        FIDO2_TYPE,
        serde_json::to_value(body).unwrap_or(Value::Null),
    )
}

#[utoipa::path(
    get,
    path = "/users/{user}/authentication/fido2Methods",
    operation_id = "listFido2Methods",
    tag = "methods",
    summary = "List a user's FIDO2 methods (passkeys)",
    params(super::doc::params::UserPath, Fido2List),
    security(("oauth2" = ["UserAuthenticationMethod.ReadWrite.All"])),
    responses((status = 200, description = "The passkeys.", body = super::doc::shapes::Fido2MethodCollection))
)]
async fn fido2_list(api: Api, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    passkey_collection(api, &path, (&FIDO2_SCHEMA, "fido2Methods"), fido2_json).await
}

#[utoipa::path(
    get,
    path = "/users/{user}/authentication/fido2Methods/{method}",
    operation_id = "getFido2Method",
    tag = "methods",
    summary = "Get a FIDO2 method",
    params(super::doc::params::UserPath, super::doc::params::Fido2Path, Fido2Select),
    security(("oauth2" = ["UserAuthenticationMethod.ReadWrite.All"])),
    responses((status = 200, description = "The passkey.", body = Fido2Response))
)]
async fn fido2_get(
    Api { caller, req, state }: Api,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let q = query::single(&req, &FIDO2_SCHEMA)?;
    let (user, c) = one_passkey(&caller, &state, path.into_inner()).await?;
    let ctx = context(&state, &user, "fido2Methods/$entity");
    Ok(query::entity_answer(ctx, &q, fido2_json(c)))
}

#[utoipa::path(
    delete,
    path = "/users/{user}/authentication/fido2Methods/{method}",
    operation_id = "deleteFido2Method",
    tag = "methods",
    summary = "Delete a FIDO2 method",
    params(super::doc::params::UserPath, super::doc::params::Fido2Path),
    security(("oauth2" = ["UserAuthenticationMethod.ReadWrite.All"])),
    responses((status = 204, description = "Done."))
)]
async fn fido2_delete(
    Api { caller, req, state }: Api,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let (user, id) = path.into_inner();
    state
        .admin
        .delete_passkey(&caller, &user, &id)
        .await
        .named(&[("user", &user), ("passkeyMethod", &id)])?;
    Ok(no_content())
}

// ---- every method ----

async fn all_methods(
    caller: &Caller,
    state: &AppState,
    user: &str,
) -> Result<Vec<Value>, WebError> {
    let taps = state
        .admin
        .list_taps(caller, user)
        .await
        .named(&[("user", user)])?;
    let passkeys = state
        .admin
        .list_passkeys(caller, user)
        .await
        .named(&[("user", user)])?;
    Ok(taps
        .into_iter()
        .map(|v| tap_json(v, None))
        .chain(passkeys.into_iter().map(fido2_json))
        .collect())
}

#[utoipa::path(
    get,
    path = "/users/{user}/authentication/methods",
    operation_id = "listAuthenticationMethods",
    tag = "methods",
    summary = "List a user's authentication methods",
    params(super::doc::params::UserPath, MethodList),
    security(("oauth2" = ["UserAuthenticationMethod.ReadWrite.All"])),
    responses((status = 200, description = "Every method, each with its `@odata.type`.", body = super::doc::shapes::AuthenticationMethodCollection))
)]
async fn methods_list(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let q = query::collection(&req, &METHOD, &[])?;
    let items = all_methods(&caller, &state, &path).await?;
    collection(
        &req,
        &state,
        &q,
        &METHOD,
        context(&state, &path, "methods"),
        items,
    )
}

#[utoipa::path(
    get,
    path = "/users/{user}/authentication/methods/{method}",
    operation_id = "getAuthenticationMethod",
    tag = "methods",
    summary = "Get one of a user's methods",
    params(super::doc::params::UserPath, super::doc::params::MethodPath, MethodSelect),
    security(("oauth2" = ["UserAuthenticationMethod.ReadWrite.All"])),
    responses((status = 200, description = "The method, with its `@odata.type`.", body = super::doc::shapes::AuthenticationMethod))
)]
async fn method_get(
    Api { caller, req, state }: Api,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let q = query::single(&req, &METHOD)?;
    let (user, id) = path.into_inner();
    let item = all_methods(&caller, &state, &user)
        .await?
        .into_iter()
        .find(|m| m["id"] == id.as_str())
        .ok_or(WebError::Missing {
            what: "authenticationMethod",
            id: id.clone(),
        })?;
    let ctx = context(&state, &user, "methods/$entity");
    Ok(query::entity_answer(ctx, &q, item))
}

// ---- passkeyMethods (Onramp's earlier shape) ----

fn passkey_json(c: PasskeyCredential) -> Value {
    serde_json::to_value(PasskeyResponse {
        id: c.id,
        display_name: c.name,
        created_date_time: rfc3339(c.created),
        last_used_date_time: c.last_used.map(rfc3339),
        aa_guid: c.aaguid,
        backup_eligible: c.backup_eligible,
        backup_state: c.backup_state,
    })
    .unwrap_or(Value::Null)
}

#[utoipa::path(
    get,
    path = "/users/{user}/authentication/passkeyMethods",
    operation_id = "listPasskeyMethods",
    tag = "methods",
    summary = "List a user's passkeys (Onramp's alias of fido2Methods)",
    params(super::doc::params::UserPath, PasskeyList),
    security(("oauth2" = ["UserAuthenticationMethod.ReadWrite.All"])),
    responses((status = 200, description = "The passkeys.", body = super::doc::shapes::PasskeyMethodCollection))
)]
async fn passkeys_list(api: Api, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    passkey_collection(api, &path, (&PASSKEY, "passkeyMethods"), passkey_json).await
}

#[utoipa::path(
    get,
    path = "/users/{user}/authentication/passkeyMethods/{passkey}",
    operation_id = "getPasskeyMethod",
    tag = "methods",
    summary = "Get a passkey",
    params(super::doc::params::UserPath, super::doc::params::PasskeyPath, PasskeySelect),
    security(("oauth2" = ["UserAuthenticationMethod.ReadWrite.All"])),
    responses((status = 200, description = "The passkey.", body = PasskeyResponse))
)]
async fn passkey_get(
    Api { caller, req, state }: Api,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let q = query::single(&req, &PASSKEY)?;
    let (_, c) = one_passkey(&caller, &state, path.into_inner()).await?;
    // Onramp's earlier shape has no `@odata.context`.
    Ok(ok(&query::project(&q, passkey_json(c))))
}

/// The same as [`fido2_delete`], under Onramp's older name.
#[utoipa::path(
    delete,
    path = "/users/{user}/authentication/passkeyMethods/{passkey}",
    operation_id = "deletePasskeyMethod",
    tag = "methods",
    summary = "Delete a passkey",
    params(super::doc::params::UserPath, super::doc::params::PasskeyPath),
    security(("oauth2" = ["UserAuthenticationMethod.ReadWrite.All"])),
    responses((status = 204, description = "Done."))
)]
async fn passkey_delete(
    api: Api,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    fido2_delete(api, path).await
}
