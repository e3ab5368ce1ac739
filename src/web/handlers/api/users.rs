//! `/users`: Graph's user resource (create, list with OData options,
//! `$count`, get, patch, delete), its `manager`, `memberOf` and
//! `revokeSignInSessions`, and Onramp's own `directoryRoles` and
//! `signInLockout`.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Api;
use super::doc::fields;
use super::query;
use super::resources::{RefRequest, USER_TYPE, UserResponse, group_object, user_json, user_object};
use super::{base, created_in, graph_body, no_content, ok, page_size, parse_date_time};
use crate::domain::DomainError;
use crate::domain::odata::schemas;
use crate::domain::user::{Contact, ContactPatch, DirectoryRole, NewUser, UserPatch};
use crate::web::error::{Named, WebError};
use crate::web::json::{ApiJson, nullable, present};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users")
            .route(web::get().to(users_list))
            .route(web::post().to(users_create)),
    )
    // Before `/users/{user}`, which would take `$count` for a user name.
    .service(web::resource("/users/$count").route(web::get().to(users_count)))
    .service(
        web::resource("/users/{user}")
            .route(web::get().to(user_get))
            .route(web::patch().to(user_patch))
            .route(web::delete().to(user_delete)),
    )
    .service(web::resource("/users/{user}/manager").route(web::get().to(manager_get)))
    .service(
        web::resource("/users/{user}/manager/$ref")
            .route(web::put().to(manager_set))
            .route(web::delete().to(manager_clear)),
    )
    .service(web::resource("/users/{user}/memberOf").route(web::get().to(member_of)))
    .service(
        web::resource("/users/{user}/revokeSignInSessions").route(web::post().to(revoke_sessions)),
    )
    .service(
        web::resource("/users/{user}/signInLockout")
            .route(web::get().to(lockout_get))
            .route(web::delete().to(lockout_clear)),
    )
    .service(
        web::resource("/users/{user}/directoryRoles").route(web::put().to(set_directory_roles)),
    );
}

/// Accepted and discarded: Onramp has no passwords (people sign in with
/// a pass and then a passkey), but Microsoft's own create-user example and
/// every HR connector send one.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PasswordProfile {
    #[serde(rename = "@odata.type", default, deserialize_with = "present")]
    #[schema(nullable = false, pattern = "^#microsoft\\.graph\\.passwordProfile$")]
    odata_type: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    #[allow(dead_code)]
    password: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    #[allow(dead_code)]
    force_change_password_next_sign_in: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    #[allow(dead_code)]
    force_change_password_next_sign_in_with_mfa: Option<bool>,
}

/// Every field may be left out (the required ones then get a 400 naming
/// them) but none may be `null`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreateUser)]
struct CreateUserRequest {
    /// Graph's SDKs send it; another type is a 400.
    #[serde(rename = "@odata.type", default)]
    #[schema(nullable = false, pattern = "^#microsoft\\.graph\\.user$")]
    #[allow(dead_code)]
    odata_type: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::upn, required)]
    user_principal_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::display_name, required)]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::name)]
    given_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::name)]
    surname: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::mail)]
    mail: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::mail_nickname)]
    mail_nickname: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::other_mails)]
    other_mails: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::phone)]
    mobile_phone: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::street)]
    street_address: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::place)]
    city: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::place)]
    state: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::postal_code)]
    postal_code: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::place)]
    country: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::job_title)]
    job_title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::department)]
    department: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::employee_id)]
    employee_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::employee_type)]
    employee_type: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::hire_date)]
    employee_hire_date: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::hire_date)]
    employee_leave_date_time: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::company)]
    company_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::office)]
    office_location: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::usage_location)]
    usage_location: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::language)]
    preferred_language: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    account_enabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    password_profile: Option<PasswordProfile>,
}

impl PasswordProfile {
    /// Discarded, but never unread: a wrong type is still a 400.
    fn check(&self) -> Result<(), DomainError> {
        match &self.odata_type {
            Some(sent) if !crate::web::json::names_type(sent, &[PASSWORD_PROFILE_TYPE]) => {
                Err(DomainError::invalid(
                    "passwordProfile",
                    format!("@odata.type {sent} is not {PASSWORD_PROFILE_TYPE}"),
                ))
            }
            _ => Ok(()),
        }
    }
}

const PASSWORD_PROFILE_TYPE: &str = "#microsoft.graph.passwordProfile";

graph_body! {
    CreateUserRequest => [USER_TYPE];
    PatchUserRequest => [USER_TYPE];
    RefRequest => [];
    RolesRequest => [];
}

fn date(field: &'static str, v: Option<String>) -> Result<Option<OffsetDateTime>, DomainError> {
    v.map(|s| parse_date_time(field, &s)).transpose()
}

fn nullable_date(
    field: &'static str,
    v: Option<Option<String>>,
) -> Result<Option<Option<OffsetDateTime>>, DomainError> {
    v.map(|inner| date(field, inner)).transpose()
}

impl TryFrom<CreateUserRequest> for NewUser {
    type Error = DomainError;

    fn try_from(b: CreateUserRequest) -> Result<Self, DomainError> {
        if let Some(p) = &b.password_profile {
            p.check()?;
        }
        Ok(NewUser {
            upn: b
                .user_principal_name
                .ok_or_else(|| DomainError::invalid("userPrincipalName", "is required"))?,
            display_name: b
                .display_name
                .ok_or_else(|| DomainError::invalid("displayName", "is required"))?,
            given_name: b.given_name,
            surname: b.surname,
            mail: b.mail,
            account_enabled: b.account_enabled,
            roles: Vec::new(),
            contact: Contact {
                mobile_phone: b.mobile_phone,
                street_address: b.street_address,
                city: b.city,
                state: b.state,
                postal_code: b.postal_code,
                country: b.country,
            },
            job_title: b.job_title,
            department: b.department,
            employee_id: b.employee_id,
            employee_type: b.employee_type,
            employee_hire_date: date("employeeHireDate", b.employee_hire_date)?,
            employee_leave_date_time: date("employeeLeaveDateTime", b.employee_leave_date_time)?,
            company_name: b.company_name,
            office_location: b.office_location,
            usage_location: b.usage_location,
            preferred_language: b.preferred_language,
            mail_nickname: b.mail_nickname,
            other_mails: b.other_mails.unwrap_or_default(),
        })
    }
}

#[utoipa::path(
    post,
    path = "/users",
    operation_id = "createUser",
    tag = "users",
    summary = "Create a user",
    description = "Microsoft's create-user body, with the HR properties. `passwordProfile` is accepted and discarded: Onramp has no passwords.",
    request_body(content = CreateUserRequest, content_type = "application/json"),
    security(("oauth2" = ["User.ReadWrite.All"])),
    responses((status = 201, description = "The user, with Location.", body = UserResponse), (status = 409, description = "`Conflict`: the userPrincipalName (or mail) is taken.", body = crate::web::error::GraphBody))
)]
async fn users_create(
    Api { caller, req, state }: Api,
    body: ApiJson<CreateUserRequest>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let new = NewUser::try_from(body.into_inner())?;
    let user = state.admin.create_user(&caller, new).await?;
    let id = user.id.clone();
    Ok(created_in(&state, "users", &id, user_json(user)))
}

#[utoipa::path(
    get,
    path = "/users",
    operation_id = "listUsers",
    tag = "users",
    summary = "List users",
    params(super::doc::params::UserList),
    security(("oauth2" = ["User.ReadWrite.All"])),
    responses((status = 200, description = "A page of users.", body = super::doc::shapes::UserCollection))
)]
async fn users_list(Api { caller, req, state }: Api) -> Result<HttpResponse, WebError> {
    let q = query::collection(&req, &schemas::USER, &[])?;
    let page = state.admin.query_users(&caller, &q, page_size(&q)).await?;
    Ok(query::service_page(
        &req,
        &base(&state),
        "users",
        &q,
        page,
        user_json,
    ))
}

/// `GET /users/$count`: the number as text, as Graph answers it.
#[utoipa::path(
    get,
    path = "/users/$count",
    operation_id = "countUsers",
    tag = "users",
    summary = "Count users",
    params(super::doc::params::UserCount),
    security(("oauth2" = ["User.ReadWrite.All"])),
    responses((status = 200, description = "The number, as text.", body = String, content_type = "text/plain"))
)]
async fn users_count(Api { caller, req, state }: Api) -> Result<HttpResponse, WebError> {
    let q = query::count(&req, &schemas::USER)?;
    let n = state.admin.count_matching_users(&caller, &q).await?;
    Ok(query::count_answer(n))
}

#[utoipa::path(
    get,
    path = "/users/{user}",
    operation_id = "getUser",
    tag = "users",
    summary = "Get a user",
    params(super::doc::params::UserPath, super::doc::params::UserSelect),
    security(("oauth2" = ["User.ReadWrite.All"])),
    responses((status = 200, description = "The user.", body = UserResponse))
)]
async fn user_get(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let q = query::single(&req, &schemas::USER)?;
    let user = state
        .admin
        .get_user(&caller, &path)
        .await
        .named(&[("user", &path)])?;
    let context = query::context(&base(&state), "users/$entity");
    Ok(query::entity_answer(context, &q, user_json(user)))
}

/// Only the fields that say so take `null`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = UpdateUser)]
struct PatchUserRequest {
    /// Graph's SDKs send it; another type is a 400.
    #[serde(rename = "@odata.type", default)]
    #[schema(nullable = false, pattern = "^#microsoft\\.graph\\.user$")]
    #[allow(dead_code)]
    odata_type: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::upn)]
    user_principal_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::display_name)]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::name_or_null)]
    given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::name_or_null)]
    surname: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::mail_or_null)]
    mail: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::mail_nickname_or_null)]
    mail_nickname: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::other_mails)]
    other_mails: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::phone_or_null)]
    mobile_phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::street_or_null)]
    street_address: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::place_or_null)]
    city: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::place_or_null)]
    state: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::postal_code_or_null)]
    postal_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::place_or_null)]
    country: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::job_title_or_null)]
    job_title: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::department_or_null)]
    department: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::employee_id_or_null)]
    employee_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::employee_type_or_null)]
    employee_type: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::hire_date_or_null)]
    employee_hire_date: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::hire_date_or_null)]
    employee_leave_date_time: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::company_or_null)]
    company_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::office_or_null)]
    office_location: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::usage_location_or_null)]
    usage_location: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = fields::language_or_null)]
    preferred_language: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    account_enabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    password_profile: Option<PasswordProfile>,
}

impl TryFrom<PatchUserRequest> for UserPatch {
    type Error = DomainError;

    fn try_from(b: PatchUserRequest) -> Result<Self, DomainError> {
        if let Some(p) = &b.password_profile {
            p.check()?;
        }
        Ok(UserPatch {
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
            job_title: b.job_title,
            department: b.department,
            employee_id: b.employee_id,
            employee_type: b.employee_type,
            employee_hire_date: nullable_date("employeeHireDate", b.employee_hire_date)?,
            employee_leave_date_time: nullable_date(
                "employeeLeaveDateTime",
                b.employee_leave_date_time,
            )?,
            company_name: b.company_name,
            office_location: b.office_location,
            usage_location: b.usage_location,
            preferred_language: b.preferred_language,
            mail_nickname: b.mail_nickname,
            other_mails: b.other_mails,
        })
    }
}

#[utoipa::path(
    patch,
    path = "/users/{user}",
    operation_id = "updateUser",
    tag = "users",
    summary = "Update a user",
    request_body(content = PatchUserRequest, content_type = "application/json"),
    params(super::doc::params::UserPath),
    security(("oauth2" = ["User.ReadWrite.All"])),
    responses((status = 204, description = "Done."), (status = 409, description = "`Conflict`: the userPrincipalName (or mail) is taken.", body = crate::web::error::GraphBody))
)]
async fn user_patch(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
    body: ApiJson<PatchUserRequest>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let patch = UserPatch::try_from(body.into_inner())?;
    state
        .admin
        .update_user(&caller, &path, patch)
        .await
        .named(&[("user", &path)])?;
    Ok(no_content())
}

#[utoipa::path(
    delete,
    path = "/users/{user}",
    operation_id = "deleteUser",
    tag = "users",
    summary = "Delete a user",
    params(super::doc::params::UserPath),
    security(("oauth2" = ["User.ReadWrite.All"])),
    responses((status = 204, description = "Done."))
)]
async fn user_delete(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    state
        .admin
        .delete_user(&caller, &path)
        .await
        .named(&[("user", &path)])?;
    Ok(no_content())
}

// ---- manager ----

#[utoipa::path(
    get,
    path = "/users/{user}/manager",
    operation_id = "getManager",
    tag = "users",
    summary = "Get a user's manager",
    params(super::doc::params::UserPath, super::doc::params::UserSelect),
    security(("oauth2" = ["User.ReadWrite.All"])),
    responses((status = 200, description = "The manager (a directory object with its `@odata.type`).", body = UserResponse))
)]
async fn manager_get(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let q = query::single(&req, &schemas::USER)?;
    let manager = state
        .admin
        .get_manager(&caller, &path)
        .await
        .named(&[("user", &path)])?
        .ok_or(DomainError::NotFound("manager"))?;
    let context = query::context(&base(&state), "directoryObjects/$entity");
    Ok(query::entity_answer(context, &q, user_object(manager)))
}

#[utoipa::path(
    put,
    path = "/users/{user}/manager/$ref",
    operation_id = "setManager",
    tag = "users",
    summary = "Set a user's manager",
    request_body(content = RefRequest, content_type = "application/json"),
    params(super::doc::params::UserPath),
    security(("oauth2" = ["User.ReadWrite.All"])),
    responses((status = 204, description = "Done."))
)]
async fn manager_set(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
    body: ApiJson<RefRequest>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let manager = body.into_inner().object_id()?;
    state
        .admin
        .set_manager(&caller, &path, &manager)
        .await
        .named(&[("user", &path), ("manager", &manager)])?;
    Ok(no_content())
}

#[utoipa::path(
    delete,
    path = "/users/{user}/manager/$ref",
    operation_id = "removeManager",
    tag = "users",
    summary = "Remove a user's manager",
    params(super::doc::params::UserPath),
    security(("oauth2" = ["User.ReadWrite.All"])),
    responses((status = 204, description = "Done."))
)]
async fn manager_clear(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    state
        .admin
        .clear_manager(&caller, &path)
        .await
        .named(&[("user", &path)])?;
    Ok(no_content())
}

#[utoipa::path(
    get,
    path = "/users/{user}/memberOf",
    operation_id = "listMemberOf",
    tag = "users",
    summary = "List the groups a user is a member of",
    params(super::doc::params::UserPath, super::doc::params::MemberOf),
    security(("oauth2" = ["Group.ReadWrite.All"])),
    responses((status = 200, description = "The groups, each with its `@odata.type`.", body = super::doc::shapes::DirectoryObjectCollection))
)]
async fn member_of(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let q = query::collection(&req, &schemas::GROUP, &[])?;
    let groups = state
        .admin
        .member_of(&caller, &path)
        .await
        .named(&[("user", &path)])?;
    let groups = query::matching_sorted(&q, groups, |g| &g.id);
    let base = base(&state);
    let context = query::context(&base, "directoryObjects");
    query::memory_page(&req, &base, context, &q, groups, group_object)
}

#[utoipa::path(
    post,
    path = "/users/{user}/revokeSignInSessions",
    operation_id = "revokeSignInSessions",
    tag = "users",
    summary = "Revoke a user's sign-in sessions and refresh tokens",
    params(super::doc::params::UserPath),
    security(("oauth2" = ["UserAuthenticationMethod.ReadWrite.All"])),
    responses((status = 200, description = "Revoked.", body = super::doc::shapes::BooleanResult))
)]
async fn revoke_sessions(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    state
        .admin
        .revoke_sessions(&caller, &path)
        .await
        .named(&[("user", &path)])?;
    Ok(ok(&serde_json::json!({
        "@odata.context": query::context(&base(&state), "Edm.Boolean"),
        "value": true,
    })))
}

/// Onramp's own resource (Graph has no pass lockout): the name-wide lock
/// of a user's sign-in with a pass.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SignInLockout)]
struct LockoutResponse {
    is_locked: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    locked_until_date_time: Option<OffsetDateTime>,
    refused_attempts: u32,
}

#[utoipa::path(
    get,
    path = "/users/{user}/signInLockout",
    operation_id = "getSignInLockout",
    tag = "onramp",
    summary = "Get the lock on a user's pass sign-in",
    params(super::doc::params::UserPath),
    security(("oauth2" = ["UserAuthenticationMethod.ReadWrite.All"])),
    responses((status = 200, description = "The lock state.", body = LockoutResponse))
)]
async fn lockout_get(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let (_, lock) = state
        .admin
        .sign_in_lockout(&caller, &path)
        .await
        .named(&[("user", &path)])?;
    Ok(ok(&LockoutResponse {
        is_locked: lock.locked_until.is_some(),
        locked_until_date_time: lock.locked_until,
        refused_attempts: lock.refused,
    }))
}

#[utoipa::path(
    delete,
    path = "/users/{user}/signInLockout",
    operation_id = "clearSignInLockout",
    tag = "onramp",
    summary = "Clear the locks on a user's pass sign-in",
    params(super::doc::params::UserPath),
    security(("oauth2" = ["UserAuthenticationMethod.ReadWrite.All"])),
    responses((status = 204, description = "Done."))
)]
async fn lockout_clear(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    state
        .admin
        .clear_sign_in_lockout(&caller, &path)
        .await
        .named(&[("user", &path)])?;
    Ok(no_content())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = SetDirectoryRoles)]
struct RolesRequest {
    roles: Vec<DirectoryRole>,
}

/// `PUT /users/{user}/directoryRoles`: replaces the user's roles.
#[utoipa::path(
    put,
    path = "/users/{user}/directoryRoles",
    operation_id = "setDirectoryRoles",
    tag = "onramp",
    summary = "Replace a user's directory roles",
    description = "Only a signed-in Global Administrator's delegated token; applications get 403.",
    request_body(content = RolesRequest, content_type = "application/json"),
    params(super::doc::params::UserPath),
    security(("oauth2" = ["RoleManagement.ReadWrite.Directory"])),
    responses((status = 200, description = "The user.", body = UserResponse))
)]
async fn set_directory_roles(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
    body: ApiJson<RolesRequest>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let user = state
        .admin
        .set_roles(&caller, &path, body.into_inner().roles)
        .await
        .named(&[("user", &path)])?;
    Ok(ok(&user_json(user)))
}
