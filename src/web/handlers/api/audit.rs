//! The audit log: Graph's `/auditLogs/directoryAudits` (Graph's
//! `directoryAudit` shape and `$filter`), and `/auditLogs`, Onramp's
//! earlier listing in its own event shape, kept as an alias.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::Api;
use super::query;
use super::{base, ok, page_size, parse_date_time, rfc3339};
use crate::domain::DomainError;
use crate::domain::audit::{AuditEventType, AuditFilter};
use crate::domain::directory_audit::{DirectoryAudit, Initiator, LOGGED_BY_SERVICE};
use crate::domain::odata::{PropType, Property, QueryOptions, schemas};
use crate::web::error::WebError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auditLogs/directoryAudits").route(web::get().to(directory_audits)))
        .service(
            web::resource("/auditLogs/directoryAudits/{id}").route(web::get().to(directory_audit)),
        )
        .service(web::resource("/auditLogs").route(web::get().to(audit_logs)));
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IdentityJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_id: Option<&'a str>,
    display_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_principal_name: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_address: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_principal_id: Option<Option<&'a str>>,
}

fn audit_json(a: &DirectoryAudit) -> Value {
    let (user, app) = match &a.initiated_by {
        Initiator::User(i) => (
            Some(IdentityJson {
                id: Some(&i.id),
                app_id: None,
                display_name: i.display_name.as_deref(),
                user_principal_name: Some(i.user_principal_name.as_deref()),
                ip_address: Some(i.ip_address.as_deref()),
                service_principal_id: None,
            }),
            None,
        ),
        Initiator::App(i) => (
            None,
            Some(IdentityJson {
                id: None,
                app_id: Some(&i.id),
                display_name: i.display_name.as_deref(),
                user_principal_name: None,
                ip_address: None,
                service_principal_id: Some(None),
            }),
        ),
    };
    serde_json::json!({
        "id": a.id,
        "activityDateTime": rfc3339(a.activity_date_time),
        "activityDisplayName": a.activity_display_name,
        "category": a.category,
        "correlationId": a.correlation_id.map(|c| c.to_string()),
        "initiatedBy": { "user": user, "app": app },
        "loggedByService": LOGGED_BY_SERVICE,
        "operationType": a.operation_type,
        "result": a.result,
        "resultReason": a.result_reason,
        "targetResources": a.target_resources.iter().map(|t| serde_json::json!({
            "id": t.id,
            "displayName": t.display_name,
            "type": t.kind,
            "userPrincipalName": t.user_principal_name,
        })).collect::<Vec<_>>(),
        "additionalDetails": a.additional_details.iter().map(|d| serde_json::json!({
            "key": d.key,
            "value": d.value,
        })).collect::<Vec<_>>(),
    })
}

#[utoipa::path(
    get,
    path = "/auditLogs/directoryAudits",
    operation_id = "listDirectoryAudits",
    tag = "audit",
    summary = "List directory audits",
    params(super::doc::params::AuditList),
    security(("oauth2" = ["AuditLog.Read.All"])),
    responses((status = 200, description = "A page of audits.", body = super::doc::shapes::DirectoryAuditCollection))
)]
async fn directory_audits(Api { caller, req, state }: Api) -> Result<HttpResponse, WebError> {
    let q = query::collection(&req, &schemas::DIRECTORY_AUDIT, &[])?;
    let page = state
        .admin
        .query_directory_audits(&caller, &q, page_size(&q))
        .await?;
    Ok(query::service_page(
        &req,
        &base(&state),
        "auditLogs/directoryAudits",
        &q,
        page,
        |a| audit_json(&a),
    ))
}

#[utoipa::path(
    get,
    path = "/auditLogs/directoryAudits/{id}",
    operation_id = "getDirectoryAudit",
    tag = "audit",
    summary = "Get a directory audit",
    params(super::doc::params::AuditPath, super::doc::params::AuditSelect),
    security(("oauth2" = ["AuditLog.Read.All"])),
    responses((status = 200, description = "The audit.", body = super::doc::shapes::DirectoryAudit))
)]
async fn directory_audit(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let q = query::single(&req, &schemas::DIRECTORY_AUDIT)?;
    let id = path.into_inner();
    // `id eq` of one event, walked like a listing.
    let quoted = id.replace('\'', "''");
    let by_id = crate::domain::odata::QueryOptions::parse(
        &format!("$filter=id%20eq%20'{}'", url_encode(&quoted)),
        &schemas::DIRECTORY_AUDIT,
    )?;
    let found = state
        .admin
        .query_directory_audits(&caller, &by_id, 1)
        .await?
        .items
        .into_iter()
        .next()
        .ok_or(WebError::Missing {
            what: "directoryAudit",
            id,
        })?;
    let context = query::context(&base(&state), "auditLogs/directoryAudits/$entity");
    Ok(query::entity_answer(context, &q, audit_json(&found)))
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ---- /auditLogs (Onramp's own shape) ----

/// The parameters of `/auditLogs` (the document's; the handler reads the
/// query itself, refusing anything else).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct LegacyParams {
    /// Page size.
    #[param(rename = "$top", minimum = 1, maximum = 999)]
    top: Option<u32>,
    /// The cursor in the previous page's `@odata.nextLink`.
    #[param(rename = "$skiptoken", min_length = 1)]
    skiptoken: Option<String>,
    /// Only events at or after this time (RFC 3339).
    #[param(format = DateTime)]
    from: Option<String>,
    /// Only events before this time (RFC 3339).
    #[param(format = DateTime)]
    until: Option<String>,
    /// Only events whose actor id is this.
    #[param(min_length = 1)]
    actor: Option<String>,
    /// Only events whose target id is this.
    #[param(min_length = 1)]
    target: Option<String>,
    /// Only events of this type.
    #[param(rename = "eventType", value_type = Option<crate::domain::audit::AuditEventType>)]
    event_type: Option<String>,
}

/// What `/auditLogs` takes besides `$top` and `$skiptoken`.
const LEGACY_PARAMS: &[&str] = &["from", "until", "actor", "target", "eventType"];
const LEGACY_PROPERTIES: &[Property] = &[Property::new("id", PropType::String)];
const LEGACY: crate::domain::odata::ResourceSchema =
    schemas::plain("auditEvent", LEGACY_PROPERTIES);

/// What `/auditLogs` is asked for: its own parameters, and no OData
/// option but `$top` and `$skiptoken`.
fn legacy_filter(q: &QueryOptions) -> Result<AuditFilter, WebError> {
    if q.filter().is_some()
        || q.select().is_some()
        || !q.order_by().is_empty()
        || q.count().is_some()
        || q.search().is_some()
    {
        return Err(crate::domain::odata::ODataError::unsupported(
            "/auditLogs takes $top, $skiptoken, from, until, actor, target and eventType; use /auditLogs/directoryAudits for $filter",
        )
        .into());
    }
    for (name, value) in q.other() {
        if value.is_empty() {
            return Err(DomainError::invalid(
                LEGACY_PARAMS
                    .iter()
                    .find(|p| p.eq_ignore_ascii_case(name))
                    .copied()
                    .unwrap_or("query"),
                "must not be empty",
            )
            .into());
        }
    }
    let param = |name: &str| {
        q.other()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let time = |field: &'static str| -> Result<Option<OffsetDateTime>, DomainError> {
        param(field).map(|s| parse_date_time(field, &s)).transpose()
    };
    Ok(AuditFilter {
        from: time("from")?,
        until: time("until")?,
        actor_id: param("actor"),
        target_id: param("target"),
        event_type: match param("eventType") {
            None => None,
            Some(t) => {
                Some(AuditEventType::parse(&t).ok_or_else(|| {
                    DomainError::invalid("eventType", "is not a known event type")
                })?)
            }
        },
    })
}

#[utoipa::path(
    get,
    path = "/auditLogs",
    operation_id = "listAuditLogs",
    tag = "audit",
    summary = "List Onramp's audit log",
    params(LegacyParams),
    security(("oauth2" = ["AuditLog.Read.All"])),
    responses((status = 200, description = "A page of events, newest first.", body = super::doc::shapes::AuditEventCollection))
)]
async fn audit_logs(Api { caller, req, state }: Api) -> Result<HttpResponse, WebError> {
    let q = query::collection(&req, &LEGACY, LEGACY_PARAMS)?;
    let filter = legacy_filter(&q)?;
    let page = state
        .admin
        .audit_log(&caller, &filter, q.skip_token(), page_size(&q))
        .await?;
    let base = base(&state);
    let next_link = page
        .next
        .map(|cursor| query::next_link(&base, &req, &cursor));
    Ok(ok(&serde_json::json!({
        "@odata.context": query::context(&base, "auditLogs"),
        "value": page.events,
        "@odata.nextLink": next_link,
    })))
}
