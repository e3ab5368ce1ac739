//! `/api/v1`: users and Temporary Access Passes, shaped like Microsoft
//! Graph's user and authentication-methods APIs.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::DomainError;
use crate::domain::audit::{AuditEventType, AuditFilter};
use crate::domain::credential::PasskeyCredential;
use crate::domain::policy::{
    EnforcementType, IncludeTargets, KeyRestrictions, MethodState, PasskeyPolicy, PolicyTarget,
    TapPolicy, TargetType, TrustAnchor,
};
use crate::domain::tap::{MethodUsabilityReason, TapRequest};
use crate::domain::user::{Contact, ContactPatch, DirectoryRole, NewUser, User, UserPatch};
use crate::service::Caller;
use crate::service::admin::TapView;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::json::{ApiJson, MaybeApiJson, present, whole};
use crate::web::request_meta;

/// Every path is a `web::resource`, so that a method it does not have is 405
/// with `Allow` (a `cfg.route` would put the method guard on the path and
/// answer 404).
pub fn routes(cfg: &mut web::ServiceConfig) {
    const TAPS: &str = "/users/{user}/authentication/temporaryAccessPassMethods";
    cfg.service(
        web::resource("/users")
            .route(web::get().to(users_list))
            .route(web::post().to(users_create)),
    )
    .service(
        web::resource("/users/{user}")
            .route(web::get().to(user_get))
            .route(web::patch().to(user_patch))
            .route(web::delete().to(user_delete)),
    )
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
    .service(web::resource(PASSKEYS).route(web::get().to(passkeys_list)))
    .service(
        web::resource(format!("{PASSKEYS}/{{passkey}}"))
            .route(web::get().to(passkey_get))
            .route(web::delete().to(passkey_delete)),
    )
    .service(
        web::resource("/users/{user}/revokeSignInSessions").route(web::post().to(revoke_sessions)),
    )
    .service(
        web::resource("/users/{user}/signInLockout")
            .route(web::get().to(lockout_get))
            .route(web::delete().to(lockout_clear)),
    )
    .service(
        web::resource(format!("{POLICY}/temporaryAccessPass"))
            .route(web::get().to(tap_policy_get))
            .route(web::patch().to(tap_policy_patch)),
    )
    .service(
        web::resource(format!("{POLICY}/fido2"))
            .route(web::get().to(passkey_policy_get))
            .route(web::patch().to(passkey_policy_patch)),
    )
    .service(web::resource("/auditLogs").route(web::get().to(audit_logs)))
    .service(web::resource("/signingKeys/rotate").route(web::post().to(rotate_keys)))
    .service(web::resource("/openapi.json").route(web::get().to(openapi_json)))
    .configure(super::admin_directory::routes);
}

const PASSKEYS: &str = "/users/{user}/authentication/passkeyMethods";
const POLICY: &str = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations";

/// The OpenAPI 3.1 description of this API (`src/web/openapi.json`).
const OPENAPI: &str = include_str!("../openapi.json");

/// `GET /api/v1/openapi.json`: the API description; no token needed.
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(OPENAPI)
}

/// PATCH semantics: a field sent replaces the setting, one left out keeps it.
fn set<T>(slot: &mut T, sent: Option<T>) {
    if let Some(v) = sent {
        *slot = v;
    }
}

/// `$top`: page size, 100 unless given.
fn parse_top(top: Option<&str>) -> Result<usize, DomainError> {
    match top {
        None => Ok(100),
        // Digits only: `parse` would also take `+5`, which is no integer
        // in the document's sense.
        Some(t) => Some(t)
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse::<usize>().ok())
            .filter(|n| (1..=crate::service::admin::MAX_PAGE).contains(n))
            .ok_or_else(|| DomainError::invalid("$top", "must be a whole number from 1 to 999")),
    }
}

/// The caller behind the `Authorization: Bearer` header.
pub(super) async fn caller(req: &HttpRequest, state: &AppState) -> Result<Caller, WebError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(WebError::Unauthorized(
            "a bearer access token is missing".into(),
        ));
    };
    Ok(state
        .tokens
        .authenticate_bearer(token, request_meta(req))
        .await?)
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// An RFC 3339 `date-time` (the document's `format: date-time`): the `time`
/// parser also takes a space for the `T`, which the RFC's grammar does not.
fn parse_date_time(field: &'static str, s: &str) -> Result<OffsetDateTime, DomainError> {
    let bad = || {
        DomainError::invalid(
            field,
            "must be an RFC 3339 date-time, e.g. 2026-11-25T09:00:00Z",
        )
    };
    if !matches!(s.as_bytes().get(10), Some(b'T' | b't')) {
        return Err(bad());
    }
    OffsetDateTime::parse(s, &Rfc3339).map_err(|_| bad())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UserResponse {
    id: String,
    user_principal_name: String,
    display_name: String,
    given_name: Option<String>,
    surname: Option<String>,
    mail: Option<String>,
    mobile_phone: Option<String>,
    street_address: Option<String>,
    city: Option<String>,
    state: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    account_enabled: bool,
    /// Directory roles held (an Onramp extension of Graph's user).
    directory_roles: Vec<DirectoryRole>,
    created_date_time: String,
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        let c = u.contact;
        Self {
            id: u.id,
            user_principal_name: u.upn.into(),
            display_name: u.display_name,
            given_name: u.given_name,
            surname: u.surname,
            mail: u.mail,
            mobile_phone: c.mobile_phone,
            street_address: c.street_address,
            city: c.city,
            state: c.state,
            postal_code: c.postal_code,
            country: c.country,
            account_enabled: u.account_enabled,
            directory_roles: u.roles,
            created_date_time: rfc3339(u.created),
        }
    }
}

#[derive(Serialize)]
pub(super) struct Collection<T> {
    pub(super) value: Vec<T>,
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    pub(super) next_link: Option<String>,
}

pub(super) fn json<T: Serialize>(status: actix_web::http::StatusCode, body: &T) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(serde_json::to_vec(body).unwrap_or_default())
}

/// Every field may be left out (the required ones then get a 400 naming
/// them) but none may be `null`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateUserRequest {
    #[serde(default, deserialize_with = "present")]
    user_principal_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    given_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    surname: Option<String>,
    #[serde(default, deserialize_with = "present")]
    mail: Option<String>,
    #[serde(default, deserialize_with = "present")]
    mobile_phone: Option<String>,
    #[serde(default, deserialize_with = "present")]
    street_address: Option<String>,
    #[serde(default, deserialize_with = "present")]
    city: Option<String>,
    #[serde(default, deserialize_with = "present")]
    state: Option<String>,
    #[serde(default, deserialize_with = "present")]
    postal_code: Option<String>,
    #[serde(default, deserialize_with = "present")]
    country: Option<String>,
    #[serde(default, deserialize_with = "present")]
    account_enabled: Option<bool>,
    /// Accepted for Graph compatibility, not used.
    #[serde(default, deserialize_with = "present")]
    #[allow(dead_code)]
    mail_nickname: Option<String>,
}

async fn users_create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<CreateUserRequest>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let body = body.into_inner();
    let new = NewUser {
        upn: body
            .user_principal_name
            .ok_or_else(|| DomainError::invalid("userPrincipalName", "is required"))?,
        display_name: body
            .display_name
            .ok_or_else(|| DomainError::invalid("displayName", "is required"))?,
        given_name: body.given_name,
        surname: body.surname,
        mail: body.mail,
        account_enabled: body.account_enabled,
        roles: Vec::new(),
        contact: Contact {
            mobile_phone: body.mobile_phone,
            street_address: body.street_address,
            city: body.city,
            state: body.state,
            postal_code: body.postal_code,
            country: body.country,
        },
        ..Default::default()
    };
    let user = state.admin.create_user(&caller, new).await?;
    let location = format!("{}/api/v1/users/{}", state.ctx.issuer, user.id);
    let mut res = json(
        actix_web::http::StatusCode::CREATED,
        &UserResponse::from(user),
    );
    if let Ok(v) = header::HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "$top")]
    top: Option<String>,
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
}

async fn users_list(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let top = parse_top(query.top.as_deref())?;
    let page = state
        .admin
        .list_users(&caller, query.skiptoken.as_deref(), top)
        .await?;
    let next_link = page.next.map(|cursor| {
        format!(
            "{}/api/v1/users?$top={top}&$skiptoken={cursor}",
            state.ctx.issuer
        )
    });
    Ok(json(
        actix_web::http::StatusCode::OK,
        &Collection {
            value: page.users.into_iter().map(UserResponse::from).collect(),
            next_link,
        },
    ))
}

async fn user_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let user = state.admin.get_user(&caller, &path).await?;
    Ok(json(
        actix_web::http::StatusCode::OK,
        &UserResponse::from(user),
    ))
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PatchUserRequest {
    #[serde(default, deserialize_with = "present")]
    user_principal_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    surname: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    mail: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    mobile_phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    street_address: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    city: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    state: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    postal_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    country: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    account_enabled: Option<bool>,
}

async fn user_patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: ApiJson<PatchUserRequest>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let b = body.into_inner();
    let patch = UserPatch {
        upn: b.user_principal_name,
        display_name: b.display_name,
        given_name: b.given_name,
        surname: b.surname,
        mail: b.mail,
        account_enabled: b.account_enabled,
        contact: ContactPatch {
            mobile_phone: b.mobile_phone,
            street_address: b.street_address,
            city: b.city,
            state: b.state,
            postal_code: b.postal_code,
            country: b.country,
        },
        ..Default::default()
    };
    state.admin.update_user(&caller, &path, patch).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn user_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    state.admin.delete_user(&caller, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TapResponse {
    id: String,
    /// Only in the create response; `null` afterwards, as in Graph.
    temporary_access_pass: Option<String>,
    created_date_time: String,
    start_date_time: String,
    lifetime_in_minutes: u32,
    is_usable_once: bool,
    is_usable: bool,
    method_usability_reason: MethodUsabilityReason,
}

impl TapResponse {
    fn new(view: TapView, passcode: Option<String>) -> Self {
        Self {
            id: view.tap.id,
            temporary_access_pass: passcode,
            created_date_time: rfc3339(view.tap.created),
            start_date_time: rfc3339(view.tap.start),
            lifetime_in_minutes: view.tap.lifetime_minutes,
            is_usable_once: view.tap.is_usable_once,
            is_usable: view.reason.is_usable(),
            method_usability_reason: view.reason,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateTapRequest {
    #[serde(default, deserialize_with = "present")]
    start_date_time: Option<String>,
    #[serde(default, deserialize_with = "whole")]
    lifetime_in_minutes: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    is_usable_once: Option<bool>,
}

async fn tap_create(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    // Graph allows an empty body here (every field from the policy).
    body: MaybeApiJson<CreateTapRequest>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let request = match body.0 {
        None => TapRequest::default(),
        Some(b) => TapRequest {
            start: b
                .start_date_time
                .map(|s| parse_date_time("startDateTime", &s))
                .transpose()?,
            lifetime_minutes: b.lifetime_in_minutes,
            is_usable_once: b.is_usable_once,
        },
    };
    let issued = state.admin.create_tap(&caller, &path, request).await?;
    Ok(json(
        actix_web::http::StatusCode::CREATED,
        &TapResponse::new(issued.view, Some(issued.passcode)),
    ))
}

async fn taps_list(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let views = state.admin.list_taps(&caller, &path).await?;
    Ok(json(
        actix_web::http::StatusCode::OK,
        &Collection {
            value: views
                .into_iter()
                .map(|v| TapResponse::new(v, None))
                .collect(),
            next_link: None,
        },
    ))
}

async fn tap_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let (user, tap) = path.into_inner();
    let view = state.admin.get_tap(&caller, &user, &tap).await?;
    Ok(json(
        actix_web::http::StatusCode::OK,
        &TapResponse::new(view, None),
    ))
}

async fn tap_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let (user, tap) = path.into_inner();
    state.admin.delete_tap(&caller, &user, &tap).await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- passkey methods ----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PasskeyResponse {
    id: String,
    display_name: String,
    created_date_time: String,
    last_used_date_time: Option<String>,
    aa_guid: Option<String>,
    backup_eligible: bool,
    backup_state: bool,
}

impl From<PasskeyCredential> for PasskeyResponse {
    fn from(c: PasskeyCredential) -> Self {
        Self {
            id: c.id,
            display_name: c.name,
            created_date_time: rfc3339(c.created),
            last_used_date_time: c.last_used.map(rfc3339),
            aa_guid: c.aaguid,
            backup_eligible: c.backup_eligible,
            backup_state: c.backup_state,
        }
    }
}

async fn passkeys_list(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let list = state.admin.list_passkeys(&caller, &path).await?;
    Ok(json(
        actix_web::http::StatusCode::OK,
        &Collection {
            value: list.into_iter().map(PasskeyResponse::from).collect(),
            next_link: None,
        },
    ))
}

async fn passkey_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let (user, id) = path.into_inner();
    let c = state.admin.get_passkey(&caller, &user, &id).await?;
    Ok(json(
        actix_web::http::StatusCode::OK,
        &PasskeyResponse::from(c),
    ))
}

async fn passkey_delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let (user, id) = path.into_inner();
    state.admin.delete_passkey(&caller, &user, &id).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn revoke_sessions(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    state.admin.revoke_sessions(&caller, &path).await?;
    Ok(json(
        actix_web::http::StatusCode::OK,
        &serde_json::json!({ "value": true }),
    ))
}

/// Onramp's own resource (Graph has no pass lockout): the name-wide lock
/// of a user's sign-in with a pass.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LockoutResponse {
    is_locked: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    locked_until_date_time: Option<OffsetDateTime>,
    refused_attempts: u32,
}

async fn lockout_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let (_, lock) = state.admin.sign_in_lockout(&caller, &path).await?;
    Ok(json(
        actix_web::http::StatusCode::OK,
        &LockoutResponse {
            is_locked: lock.locked_until.is_some(),
            locked_until_date_time: lock.locked_until,
            refused_attempts: lock.refused,
        },
    ))
}

async fn lockout_clear(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    state.admin.clear_sign_in_lockout(&caller, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- policy ----

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Target {
    target_type: String,
    id: String,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    is_registration_required: Option<bool>,
}

fn target_json(t: &PolicyTarget) -> Target {
    Target {
        target_type: match t.target_type {
            TargetType::User => "user",
            TargetType::Group => "group",
        }
        .into(),
        id: t.id.clone(),
        is_registration_required: None,
    }
}

fn tap_policy_json(p: &TapPolicy) -> serde_json::Value {
    let include: Vec<Target> = match &p.include {
        IncludeTargets::AllUsers => vec![Target {
            target_type: "group".into(),
            id: "all_users".into(),
            is_registration_required: Some(false),
        }],
        IncludeTargets::Targets(targets) => targets.iter().map(target_json).collect(),
    };
    let exclude: Vec<Target> = p.exclude.iter().map(target_json).collect();
    serde_json::json!({
        "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
        "id": "TemporaryAccessPass",
        "state": p.state,
        "defaultLifetimeInMinutes": p.default_lifetime_minutes,
        "minimumLifetimeInMinutes": p.minimum_lifetime_minutes,
        "maximumLifetimeInMinutes": p.maximum_lifetime_minutes,
        "defaultLength": p.default_length,
        "isUsableOnce": p.is_usable_once,
        "includeTargets": include,
        "excludeTargets": exclude,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TapPolicyPatch {
    #[serde(rename = "@odata.type", default, deserialize_with = "present")]
    #[allow(dead_code)]
    odata_type: Option<String>,
    #[serde(default, deserialize_with = "present")]
    state: Option<MethodState>,
    #[serde(default, deserialize_with = "whole")]
    default_lifetime_in_minutes: Option<u32>,
    #[serde(default, deserialize_with = "whole")]
    minimum_lifetime_in_minutes: Option<u32>,
    #[serde(default, deserialize_with = "whole")]
    maximum_lifetime_in_minutes: Option<u32>,
    #[serde(default, deserialize_with = "whole")]
    default_length: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    is_usable_once: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    include_targets: Option<Vec<Target>>,
    #[serde(default, deserialize_with = "present")]
    exclude_targets: Option<Vec<Target>>,
}

fn include_from(targets: Vec<Target>) -> Result<IncludeTargets, DomainError> {
    let all = |t: &Target| t.target_type == "group" && t.id == "all_users";
    if targets.iter().any(all) {
        // Every entry must still be a target we know, also beside all_users.
        users_from(
            targets.into_iter().filter(|t| !all(t)).collect(),
            "includeTargets",
        )?;
        return Ok(IncludeTargets::AllUsers);
    }
    users_from(targets, "includeTargets").map(IncludeTargets::Targets)
}

fn users_from(targets: Vec<Target>, field: &'static str) -> Result<Vec<PolicyTarget>, DomainError> {
    targets
        .into_iter()
        .map(|t| match t.target_type.as_str() {
            "user" => Ok(PolicyTarget::user(t.id)),
            "group" if t.id == "all_users" => Err(DomainError::invalid(field, "all_users cannot be excluded; set state to disabled instead")),
            _ => Err(DomainError::invalid(field, "targets are users (targetType user) or the group all_users; other groups are not supported yet")),
        })
        .collect()
}

async fn tap_policy_get(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let policy = state.admin.get_policy(&caller).await?;
    Ok(json(
        actix_web::http::StatusCode::OK,
        &tap_policy_json(&policy.tap),
    ))
}

async fn tap_policy_patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<TapPolicyPatch>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let b = body.into_inner();
    let include = b.include_targets.map(include_from).transpose()?;
    let exclude = b
        .exclude_targets
        .map(|t| users_from(t, "excludeTargets"))
        .transpose()?;
    state
        .admin
        .update_policy(&caller, "temporaryAccessPass", move |p| {
            let t = &mut p.tap;
            set(&mut t.state, b.state);
            set(
                &mut t.default_lifetime_minutes,
                b.default_lifetime_in_minutes,
            );
            set(
                &mut t.minimum_lifetime_minutes,
                b.minimum_lifetime_in_minutes,
            );
            set(
                &mut t.maximum_lifetime_minutes,
                b.maximum_lifetime_in_minutes,
            );
            set(&mut t.default_length, b.default_length);
            set(&mut t.is_usable_once, b.is_usable_once);
            set(&mut t.include, include);
            set(&mut t.exclude, exclude);
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

fn passkey_policy_json(p: &PasskeyPolicy) -> serde_json::Value {
    serde_json::json!({
        "@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
        "id": "Fido2",
        "state": "enabled",
        "enrollmentWindowInMinutes": p.enrollment_window_minutes,
        "isRegistrationRequiredAfterTap": p.registration_required,
        "isTapStrongAuthentication": p.tap_counts_as_mfa,
        "isAttestationEnforced": p.attestation.is_enforced,
        "attestationTrustAnchors": p.attestation.trust_anchors.iter().map(|t| serde_json::json!({
            "certificate": t.certificate,
            "aaGuids": t.aaguids,
            "description": t.description,
        })).collect::<Vec<_>>(),
        "keyRestrictions": {
            "isEnforced": p.key_restrictions.is_enforced,
            "enforcementType": p.key_restrictions.enforcement_type,
            "aaGuids": p.key_restrictions.aaguids,
        },
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeyRestrictionsPatch {
    #[serde(default, deserialize_with = "present")]
    is_enforced: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    enforcement_type: Option<EnforcementType>,
    #[serde(default, deserialize_with = "present")]
    aa_guids: Option<Vec<String>>,
}

impl KeyRestrictionsPatch {
    fn apply(self, k: &mut KeyRestrictions) -> Result<(), DomainError> {
        set(&mut k.is_enforced, self.is_enforced);
        set(&mut k.enforcement_type, self.enforcement_type);
        if let Some(list) = self.aa_guids {
            // The list as sent counts (the document's maxItems), before
            // duplicates are dropped.
            if list.len() > KeyRestrictions::MAX_AAGUIDS {
                return Err(DomainError::invalid(
                    "keyRestrictions.aaGuids",
                    format!("at most {} entries", KeyRestrictions::MAX_AAGUIDS),
                ));
            }
            let mut out: Vec<String> = Vec::with_capacity(list.len());
            for a in &list {
                let n = crate::domain::attestation::normalise(a).ok_or_else(|| {
                    DomainError::invalid(
                        "keyRestrictions.aaGuids",
                        format!("`{a}` is not an AAGUID (a UUID)"),
                    )
                })?;
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            k.aaguids = out;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PasskeyPolicyPatch {
    #[serde(rename = "@odata.type", default, deserialize_with = "present")]
    #[allow(dead_code)]
    odata_type: Option<String>,
    #[serde(default, deserialize_with = "whole")]
    enrollment_window_in_minutes: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    is_registration_required_after_tap: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    is_tap_strong_authentication: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    is_attestation_enforced: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    attestation_trust_anchors: Option<Vec<TrustAnchorInput>>,
    #[serde(default, deserialize_with = "present")]
    key_restrictions: Option<KeyRestrictionsPatch>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TrustAnchorInput {
    /// DER in base64, or PEM.
    certificate: String,
    aa_guids: Vec<String>,
    #[serde(default)]
    description: String,
}

impl TrustAnchorInput {
    fn into_anchor(self) -> Result<TrustAnchor, DomainError> {
        let field = "attestationTrustAnchors";
        // PEM is base64 DER between armour lines.
        let certificate: String = self
            .certificate
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .flat_map(|l| l.trim().chars())
            .collect();
        let mut aaguids: Vec<String> = Vec::with_capacity(self.aa_guids.len());
        for a in &self.aa_guids {
            let n = crate::domain::attestation::normalise(a).ok_or_else(|| {
                DomainError::invalid(field, format!("`{a}` is not an AAGUID (a UUID)"))
            })?;
            if !aaguids.contains(&n) {
                aaguids.push(n);
            }
        }
        Ok(TrustAnchor {
            certificate,
            aaguids,
            description: self.description,
        })
    }
}

async fn passkey_policy_get(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let policy = state.admin.get_policy(&caller).await?;
    Ok(json(
        actix_web::http::StatusCode::OK,
        &passkey_policy_json(&policy.passkey),
    ))
}

async fn passkey_policy_patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ApiJson<PasskeyPolicyPatch>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let b = body.into_inner();
    state
        .admin
        .update_policy(&caller, "fido2", move |p| {
            let k = &mut p.passkey;
            set(
                &mut k.enrollment_window_minutes,
                b.enrollment_window_in_minutes,
            );
            set(
                &mut k.registration_required,
                b.is_registration_required_after_tap,
            );
            set(&mut k.tap_counts_as_mfa, b.is_tap_strong_authentication);
            set(&mut k.attestation.is_enforced, b.is_attestation_enforced);
            if let Some(list) = b.attestation_trust_anchors {
                k.attestation.trust_anchors = list
                    .into_iter()
                    .map(TrustAnchorInput::into_anchor)
                    .collect::<Result<_, _>>()?;
            }
            if let Some(r) = b.key_restrictions {
                r.apply(&mut k.key_restrictions)?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- audit log ----

#[derive(Deserialize)]
struct AuditQuery {
    #[serde(rename = "$top")]
    top: Option<String>,
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
    from: Option<String>,
    until: Option<String>,
    actor: Option<String>,
    target: Option<String>,
    #[serde(rename = "eventType")]
    event_type: Option<String>,
}

async fn audit_logs(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let q = query.into_inner();
    let time =
        |field: &'static str, v: Option<String>| -> Result<Option<OffsetDateTime>, DomainError> {
            v.map(|s| parse_date_time(field, &s)).transpose()
        };
    let top = parse_top(q.top.as_deref())?;
    let filter =
        AuditFilter {
            from: time("from", q.from.clone())?,
            until: time("until", q.until.clone())?,
            actor_id: q.actor.clone(),
            target_id: q.target.clone(),
            event_type: match &q.event_type {
                None => None,
                Some(t) => Some(AuditEventType::parse(t).ok_or_else(|| {
                    DomainError::invalid("eventType", "is not a known event type")
                })?),
            },
        };
    let page = state
        .admin
        .audit_log(&caller, &filter, q.skiptoken.as_deref(), top)
        .await?;
    let next_link = page.next.map(|cursor| {
        let mut qs = url::form_urlencoded::Serializer::new(String::new());
        qs.append_pair("$top", &top.to_string());
        qs.append_pair("$skiptoken", &cursor);
        for (k, v) in [
            ("from", &q.from),
            ("until", &q.until),
            ("actor", &q.actor),
            ("target", &q.target),
            ("eventType", &q.event_type),
        ] {
            if let Some(v) = v {
                qs.append_pair(k, v);
            }
        }
        format!("{}/api/v1/auditLogs?{}", state.ctx.issuer, qs.finish())
    });
    Ok(json(
        actix_web::http::StatusCode::OK,
        &Collection {
            value: page.events,
            next_link,
        },
    ))
}

// ---- signing keys ----

async fn rotate_keys(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let caller = caller(&req, &state).await?;
    let next = state.admin.rotate_keys(&caller).await?;
    let keys: Vec<serde_json::Value> = next
        .keys
        .iter()
        .map(|k| {
            serde_json::json!({
                "kid": k.kid,
                "alg": k.alg.as_str(),
                "createdDateTime": rfc3339(k.created),
                "notBefore": k.not_before.map(rfc3339),
                "retireUntil": k.retire_until.map(rfc3339),
            })
        })
        .collect();
    Ok(json(
        actix_web::http::StatusCode::OK,
        &serde_json::json!({ "version": next.version, "keys": keys }),
    ))
}

/// Property tests (`prop_*`; `PROPTEST_CASES` sets the number of cases).
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn prop_top_is_a_page_size_or_refused(
            top in prop_oneof![any::<String>(), "[+-]?[0-9]{0,5}", (0usize..2000).prop_map(|n| n.to_string())],
        ) {
            match parse_top(Some(&top)) {
                Ok(n) => {
                    prop_assert!((1..=crate::service::admin::MAX_PAGE).contains(&n));
                    prop_assert_eq!(top.trim_start_matches('+').parse::<usize>().ok(), Some(n));
                }
                Err(e) => prop_assert!(e.to_string().contains("$top"), "{}", e),
            }
        }
    }

    #[test]
    fn top_defaults_to_a_hundred() {
        assert_eq!(parse_top(None).unwrap(), 100);
    }
}
