//! `/webhooks`: Onramp's own resource for webhook subscriptions (Standard
//! Webhooks), in Graph's conventions. The signing secret is in the
//! creation response only.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::query::{self, Page};
use super::{Api, base, created, no_content, ok};
use crate::domain::DomainError;
use crate::domain::webhook::{Delivery, NewSubscription, Subscription, rfc3339};
use crate::web::error::{Named, WebError};
use crate::web::json::{ApiJson, GraphBody, present};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/webhooks")
            .route(web::get().to(webhooks_list))
            .route(web::post().to(webhook_create)),
    )
    .service(
        web::resource("/webhooks/{webhook}")
            .route(web::get().to(webhook_get))
            .route(web::delete().to(webhook_delete)),
    )
    .service(web::resource("/webhooks/{webhook}/deliveries").route(web::get().to(deliveries_list)))
    .service(
        web::resource("/webhooks/{webhook}/deliveries/{delivery}/redeliver")
            .route(web::post().to(delivery_redeliver)),
    );
}

/// A webhook subscription.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Webhook)]
pub(crate) struct WebhookResponse {
    #[serde(rename = "@odata.context", skip_serializing_if = "Option::is_none")]
    context: Option<String>,
    id: String,
    /// Where events are POSTed: https, or http to loopback only.
    #[schema(format = "uri")]
    url: String,
    /// The event types it receives.
    events: Vec<String>,
    description: Option<String>,
    /// Receives one-off messages that carry a pass in clear.
    include_passcodes: bool,
    #[schema(format = DateTime)]
    created_date_time: String,
    /// `whsec_...`: only in the creation response.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl WebhookResponse {
    fn of(s: Subscription, context: Option<String>) -> Self {
        Self {
            context,
            created_date_time: rfc3339(s.created),
            id: s.id,
            url: s.url,
            events: s.events,
            description: s.description,
            include_passcodes: s.include_passcodes,
            secret: None,
        }
    }
}

/// One delivery of an event to a subscription.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WebhookDelivery)]
pub(crate) struct DeliveryResponse {
    /// The `webhook-id` of every attempt.
    id: String,
    event_type: String,
    #[schema(format = DateTime)]
    created_date_time: String,
    /// `pending`, `delivered` or `failed`.
    status: &'static str,
    #[schema(minimum = 0)]
    attempts: u32,
    /// The receiver's HTTP status at the last attempt.
    last_status_code: Option<u16>,
    last_error: Option<String>,
    #[schema(format = DateTime)]
    last_attempt_date_time: Option<String>,
}

impl From<Delivery> for DeliveryResponse {
    fn from(d: Delivery) -> Self {
        Self {
            status: d.status.as_str(),
            created_date_time: rfc3339(d.created),
            last_attempt_date_time: d.last_attempt.map(rfc3339),
            id: d.id,
            event_type: d.event_type,
            attempts: d.attempts,
            last_status_code: d.last_status,
            last_error: d.last_error,
        }
    }
}

fn entity(state: &crate::state::AppState) -> Option<String> {
    Some(query::context(&base(state), "webhooks/$entity"))
}

#[utoipa::path(
    get,
    path = "/webhooks",
    operation_id = "listWebhooks",
    tag = "onramp",
    summary = "List webhook subscriptions",
    security(("oauth2" = ["Webhook.ReadWrite.All"])),
    responses((status = 200, description = "Every subscription (no secrets).", body = super::doc::shapes::WebhookCollection))
)]
async fn webhooks_list(api: Api) -> Result<HttpResponse, WebError> {
    query::none(&api.req)?;
    let list = api.state.webhooks.list(&api.caller).await?;
    Ok(ok(&Page {
        context: query::context(&base(&api.state), "webhooks"),
        items: list
            .into_iter()
            .map(|s| serde_json::to_value(WebhookResponse::of(s, None)).unwrap_or_default())
            .collect(),
        count: None,
        next_link: None,
    }
    .into_json()))
}

/// `events`: audit event types such as `tap.used`, `passkey.registered`,
/// `onboarding.completed`. `url`: https, or http to localhost, 127.0.0.1
/// or [::1] only, without credentials or a fragment.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreateWebhook)]
struct CreateRequest {
    #[serde(default, deserialize_with = "present")]
    #[schema(required, nullable = false, format = "uri", max_length = 2048)]
    url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(required, nullable = false, min_items = 1, value_type = Option<Vec<crate::domain::audit::AuditEventType>>)]
    events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_length = 256)]
    description: Option<String>,
    /// Also receive one-off messages that carry a pass in clear (default
    /// false; audited when true).
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    include_passcodes: Option<bool>,
}

impl GraphBody for CreateRequest {
    const ODATA_TYPES: &'static [&'static str] = &[];
}

#[utoipa::path(
    post,
    path = "/webhooks",
    operation_id = "createWebhook",
    tag = "onramp",
    summary = "Create a webhook subscription",
    request_body(content = CreateRequest, content_type = "application/json"),
    security(("oauth2" = ["Webhook.ReadWrite.All"])),
    responses((status = 201, description = "The subscription with its signing secret (shown only here).", body = WebhookResponse), (status = 409, description = "`Conflict`: the server holds the most subscriptions it keeps.", body = crate::web::error::GraphBody))
)]
async fn webhook_create(api: Api, body: ApiJson<CreateRequest>) -> Result<HttpResponse, WebError> {
    query::none(&api.req)?;
    let body = body.into_inner();
    let new = NewSubscription {
        url: body
            .url
            .ok_or_else(|| DomainError::invalid("url", "is required"))?,
        events: body
            .events
            .ok_or_else(|| DomainError::invalid("events", "is required"))?,
        description: body.description,
        include_passcodes: body.include_passcodes.unwrap_or(false),
    };
    let made = api.state.webhooks.create(&api.caller, new).await?;
    let secret = made.subscription.secret.clone();
    let mut out = WebhookResponse::of(made.subscription, entity(&api.state));
    out.secret = Some(secret);
    let location = format!("{}/webhooks/{}", base(&api.state), out.id);
    Ok(created(&location, &out))
}

#[utoipa::path(
    get,
    path = "/webhooks/{webhook}",
    operation_id = "getWebhook",
    tag = "onramp",
    summary = "Get a webhook subscription",
    params(super::doc::params::WebhookPath),
    security(("oauth2" = ["Webhook.ReadWrite.All"])),
    responses((status = 200, description = "The subscription (no secret).", body = WebhookResponse))
)]
async fn webhook_get(api: Api, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    query::none(&api.req)?;
    let sub = api
        .state
        .webhooks
        .get(&api.caller, &path)
        .await
        .named(&[("webhook", &path)])?;
    Ok(ok(&WebhookResponse::of(sub, entity(&api.state))))
}

#[utoipa::path(
    delete,
    path = "/webhooks/{webhook}",
    operation_id = "deleteWebhook",
    tag = "onramp",
    summary = "Delete a webhook subscription",
    params(super::doc::params::WebhookPath),
    security(("oauth2" = ["Webhook.ReadWrite.All"])),
    responses((status = 204, description = "Done; deliveries not yet made are dropped."))
)]
async fn webhook_delete(api: Api, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    query::none(&api.req)?;
    api.state
        .webhooks
        .delete(&api.caller, &path)
        .await
        .named(&[("webhook", &path)])?;
    Ok(no_content())
}

#[utoipa::path(
    get,
    path = "/webhooks/{webhook}/deliveries",
    operation_id = "listWebhookDeliveries",
    tag = "onramp",
    summary = "List a subscription's recent deliveries",
    params(super::doc::params::WebhookPath),
    security(("oauth2" = ["Webhook.ReadWrite.All"])),
    responses((status = 200, description = "The latest deliveries, newest first.", body = super::doc::shapes::WebhookDeliveryCollection))
)]
async fn deliveries_list(api: Api, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    query::none(&api.req)?;
    let (_, list) = api
        .state
        .webhooks
        .deliveries(&api.caller, &path)
        .await
        .named(&[("webhook", &path)])?;
    Ok(ok(&Page {
        context: query::context(&base(&api.state), &format!("webhooks('{path}')/deliveries")),
        items: list
            .into_iter()
            .map(|d| serde_json::to_value(DeliveryResponse::from(d)).unwrap_or_default())
            .collect(),
        count: None,
        next_link: None,
    }
    .into_json()))
}

#[utoipa::path(
    post,
    path = "/webhooks/{webhook}/deliveries/{delivery}/redeliver",
    operation_id = "redeliverWebhookDelivery",
    tag = "onramp",
    summary = "Send a delivery again",
    params(super::doc::params::WebhookPath, super::doc::params::DeliveryPath),
    security(("oauth2" = ["Webhook.ReadWrite.All"])),
    responses((status = 204, description = "Queued again: the same `webhook-id` and body, attempts counted from zero."), (status = 409, description = "`Conflict`: the delivery is unknown or still being attempted.", body = crate::web::error::GraphBody))
)]
async fn delivery_redeliver(
    api: Api,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    query::none(&api.req)?;
    let (hook, delivery) = path.into_inner();
    api.state
        .webhooks
        .redeliver(&api.caller, &hook, &delivery)
        .await
        .named(&[("webhook", &hook)])?;
    Ok(no_content())
}
