//! Graph's `/reports/authenticationMethods/userRegistrationDetails`: each
//! user's registration state (`domain::registration_report`), with
//! `$filter`, `$orderby`, `$select`, `$top`, `$skiptoken` and `$count`.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::query;
use super::{Api, base, rfc3339};
use crate::domain::registration_report::{RegistrationDetails, SCHEMA};
use crate::web::error::WebError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/reports/authenticationMethods/userRegistrationDetails")
            .route(web::get().to(registration_details_list)),
    )
    .service(
        web::resource("/reports/authenticationMethods/userRegistrationDetails/{user}")
            .route(web::get().to(registration_details_get)),
    );
}

super::doc::params::odata_params! {
    RegistrationList => SCHEMA, Paged;
    RegistrationSelect => SCHEMA, Single;
}

/// Graph's `userRegistrationDetails`, with the properties Onramp can fill
/// truthfully (see the README's "Progress report").
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UserRegistrationDetails)]
pub(crate) struct RegistrationDetailsResponse {
    id: String,
    user_principal_name: String,
    user_display_name: String,
    /// Always `member`: Onramp has no guests.
    user_type: &'static str,
    /// Holds a directory role.
    is_admin: bool,
    /// Has a passkey (the strong method Onramp has).
    is_mfa_capable: bool,
    is_mfa_registered: bool,
    is_passwordless_capable: bool,
    /// Always false: Onramp has no passwords to reset.
    is_sspr_capable: bool,
    is_sspr_enabled: bool,
    is_sspr_registered: bool,
    /// Always false.
    is_system_preferred_authentication_method_enabled: bool,
    /// `passKeyDeviceBound`, `passKeySynced`, `temporaryAccessPass`.
    methods_registered: Vec<&'static str>,
    /// Always empty.
    system_preferred_authentication_methods: Vec<&'static str>,
    #[schema(format = DateTime)]
    last_updated_date_time: String,
}

impl From<RegistrationDetails> for RegistrationDetailsResponse {
    fn from(d: RegistrationDetails) -> Self {
        Self {
            id: d.id,
            user_principal_name: d.upn,
            user_display_name: d.display_name,
            user_type: "member",
            is_admin: d.is_admin,
            is_mfa_capable: d.is_mfa_registered,
            is_mfa_registered: d.is_mfa_registered,
            is_passwordless_capable: d.is_mfa_registered,
            is_sspr_capable: false,
            is_sspr_enabled: false,
            is_sspr_registered: false,
            is_system_preferred_authentication_method_enabled: false,
            methods_registered: d.methods_registered,
            system_preferred_authentication_methods: Vec::new(),
            last_updated_date_time: rfc3339(d.last_updated),
        }
    }
}

fn shape(d: RegistrationDetails) -> serde_json::Value {
    serde_json::to_value(RegistrationDetailsResponse::from(d)).unwrap_or_default()
}

#[utoipa::path(
    get,
    path = "/reports/authenticationMethods/userRegistrationDetails",
    operation_id = "listUserRegistrationDetails",
    tag = "reports",
    summary = "List users' registration details",
    params(RegistrationList),
    security(("oauth2" = ["AuditLog.Read.All"])),
    responses((status = 200, description = "A page of registration details.", body = super::doc::shapes::UserRegistrationDetailsCollection))
)]
async fn registration_details_list(
    Api { caller, req, state }: Api,
) -> Result<HttpResponse, WebError> {
    let q = query::collection(&req, &SCHEMA, &[])?;
    let all = state.admin.registration_details(&caller).await?;
    // User name order unless `$orderby` says otherwise (unique, so pages are stable).
    let items = query::matching_sorted(&q, all, |d| d.upn.as_str());
    let base = base(&state);
    let context = query::context_of(
        &base,
        "reports/authenticationMethods/userRegistrationDetails",
        &q,
    );
    query::memory_page(&req, &base, context, &q, items, shape)
}

#[utoipa::path(
    get,
    path = "/reports/authenticationMethods/userRegistrationDetails/{user}",
    operation_id = "getUserRegistrationDetails",
    tag = "reports",
    summary = "Get a user's registration details",
    params(super::doc::params::UserPath, RegistrationSelect),
    security(("oauth2" = ["AuditLog.Read.All"])),
    responses((status = 200, description = "The user's registration details.", body = RegistrationDetailsResponse))
)]
async fn registration_details_get(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let q = query::single(&req, &SCHEMA)?;
    let found = state.admin.registration_details_of(&caller, &path).await?;
    let context = query::context(
        &base(&state),
        "reports/authenticationMethods/userRegistrationDetails/$entity",
    );
    Ok(query::entity_answer(context, &q, shape(found)))
}
