//! Portal: webhook subscriptions (README, "Webhooks"): the list, a new
//! subscription with its secret shown once, deletion after a confirmation,
//! and each subscription's recent deliveries with "send again".

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::form::{Field, FormState};
use super::shown::{self, Shown, WebhookShown};
use super::{Admin, Asked, BackTo, Chrome, FormPairs, PortalError, Posted, go_ahead};
use crate::domain::audit::{AuditEventType, readable};
use crate::domain::webhook::NewSubscription;
use crate::state::AppState;
use crate::web::pages::see_other;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/webhooks", web::get().to(list))
        .route("/admin/webhooks", web::post().to(create))
        .route("/admin/webhooks/{id}", web::get().to(detail))
        .route("/admin/webhooks/{id}/delete", web::get().to(confirm_delete))
        .route("/admin/webhooks/{id}/delete", web::post().to(delete))
        .route(
            "/admin/webhooks/{id}/deliveries/{delivery}/redeliver",
            web::post().to(redeliver),
        );
}

const WEBHOOKS: &str = "/admin/webhooks";

/// The events offered first in the form (the rest follow).
const MAIN_EVENTS: [AuditEventType; 8] = [
    AuditEventType::UserCreated,
    AuditEventType::UserDeleted,
    AuditEventType::TapCreated,
    AuditEventType::TapUsed,
    AuditEventType::TapExpired,
    AuditEventType::PasskeyRegistered,
    AuditEventType::PasskeyDeleted,
    AuditEventType::OnboardingCompleted,
];

struct Row {
    id: String,
    url: String,
    events: String,
    description: String,
    passcodes: bool,
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct ListPage<'a> {
    chrome: &'a Chrome,
    hooks: Vec<Row>,
    /// The event types offered, each ticked or not.
    main_events: Vec<(&'static str, bool)>,
    other_events: Vec<(&'static str, bool)>,
    /// One of `other_events` is ticked (their list opens).
    others_ticked: bool,
    /// The "add a subscription" form.
    form: FormState,
}

/// The inputs of the "add a subscription" form.
const FIELDS: &[Field] = &[
    Field {
        name: "url",
        api: "url",
        label: "URL",
    },
    Field {
        name: "description",
        api: "description",
        label: "Description",
    },
    Field {
        name: "event",
        api: "events",
        label: "Events",
    },
    Field {
        name: "passcodes",
        api: "includePasscodes",
        label: "Passes in clear",
    },
];

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn list(
    query: web::Query<DoneQuery>,
    state: web::Data<AppState>,
    mut admin: Admin,
) -> Result<HttpResponse, PortalError> {
    admin.chrome.notice = match query.done.as_deref() {
        Some("deleted") => Some("The subscription was deleted."),
        _ => None,
    };
    list_page(&state, &admin, FormState::default(), &FormPairs::parse(b"")).await
}

/// The webhooks page, its form as `form` and `posted` (the ticked events) say.
async fn list_page(
    state: &AppState,
    admin: &Admin,
    form: FormState,
    posted: &FormPairs,
) -> Result<HttpResponse, PortalError> {
    let subs = state
        .webhooks
        .list(&admin.caller)
        .await
        .back_to(admin, "/admin")?;
    let ticked = |t: &AuditEventType| {
        let name = t.as_str();
        (name, posted.all("event").any(|e| e == name))
    };
    let other_events: Vec<_> = AuditEventType::ALL
        .iter()
        .filter(|t| !MAIN_EVENTS.contains(t))
        .map(ticked)
        .collect();
    let page = ListPage {
        chrome: &admin.chrome,
        hooks: subs
            .into_iter()
            .map(|s| Row {
                events: s.events.join(", "),
                description: s.description.unwrap_or_default(),
                passcodes: s.include_passcodes,
                id: s.id,
                url: s.url,
            })
            .collect(),
        main_events: MAIN_EVENTS.iter().map(ticked).collect(),
        others_ticked: other_events.iter().any(|(_, on)| *on),
        other_events,
        form,
    };
    Ok(admin.page(page.form.status(), &page))
}

async fn create(
    state: web::Data<AppState>,
    Posted { admin, form }: Posted,
) -> Result<HttpResponse, PortalError> {
    let description = form.one("description").map(str::trim).unwrap_or_default();
    let new = NewSubscription {
        url: form.one("url").unwrap_or_default().trim().to_owned(),
        events: form.all("event").map(str::to_owned).collect(),
        description: (!description.is_empty()).then(|| description.to_owned()),
        include_passcodes: form.checked("passcodes"),
    };
    let made = match state.webhooks.create(&admin.caller, new).await {
        Ok(made) => made,
        Err(e) => {
            let entered = FormState::entered(&form, FIELDS)
                .failed(e, FIELDS, None)
                .back_to(&admin, WEBHOOKS)?;
            return list_page(&state, &admin, entered, &form).await;
        }
    };
    let page = Shown::Webhook(WebhookShown {
        id: made.subscription.id.clone(),
        url: made.subscription.url.clone(),
        secret: made.subscription.secret.clone(),
    });
    shown::show(&state, &admin, &page, WEBHOOKS).await
}

struct DeliveryRow {
    id: String,
    event_type: String,
    created: String,
    status: &'static str,
    attempts: u32,
    last_error: String,
    last_attempt: String,
    can_resend: bool,
}

#[derive(Template)]
#[template(path = "admin/webhook.html")]
struct DetailPage<'a> {
    chrome: &'a Chrome,
    id: String,
    url: String,
    events: String,
    description: String,
    passcodes: bool,
    deliveries: Vec<DeliveryRow>,
}

async fn detail(
    path: web::Path<String>,
    query: web::Query<DoneQuery>,
    state: web::Data<AppState>,
    mut admin: Admin,
) -> Result<HttpResponse, PortalError> {
    admin.chrome.notice = match query.done.as_deref() {
        Some("resent") => Some("The delivery is queued again; it goes out within moments."),
        _ => None,
    };
    let (sub, deliveries) = state
        .webhooks
        .deliveries(&admin.caller, &path)
        .await
        .back_to(&admin, WEBHOOKS)?;
    let page = DetailPage {
        chrome: &admin.chrome,
        events: sub.events.join(", "),
        description: sub.description.unwrap_or_default(),
        passcodes: sub.include_passcodes,
        url: sub.url,
        id: sub.id,
        deliveries: deliveries
            .into_iter()
            .map(|d| DeliveryRow {
                can_resend: d.status != crate::domain::webhook::DeliveryStatus::Pending,
                status: d.status.as_str(),
                created: readable(d.created),
                last_attempt: d.last_attempt.map(readable).unwrap_or_default(),
                last_error: match (d.last_status, d.last_error) {
                    (_, Some(e)) => e,
                    (Some(s), None) => format!("HTTP {s}"),
                    (None, None) => String::new(),
                },
                attempts: d.attempts,
                event_type: d.event_type,
                id: d.id,
            })
            .collect(),
    };
    Ok(admin.page(StatusCode::OK, &page))
}

async fn confirm_delete(
    path: web::Path<String>,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, PortalError> {
    let id = path.into_inner();
    let sub = state
        .webhooks
        .get(&admin.caller, &id)
        .await
        .back_to(&admin, WEBHOOKS)?;
    let asked = Asked {
        title: "Delete this webhook subscription?",
        detail: format!(
            "{}: no more events are sent there, and deliveries not yet made are dropped.",
            sub.url
        ),
        warnings: Vec::new(),
        button: "Delete subscription",
    };
    let action = format!("/admin/webhooks/{id}/delete");
    Ok(admin.confirm(&asked, &action, &id, WEBHOOKS))
}

async fn delete(
    path: web::Path<String>,
    state: web::Data<AppState>,
    Posted { admin, form }: Posted,
) -> Result<HttpResponse, PortalError> {
    go_ahead(&form, WEBHOOKS)?;
    state
        .webhooks
        .delete(&admin.caller, &path)
        .await
        .back_to(&admin, WEBHOOKS)?;
    Ok(see_other("/admin/webhooks?done=deleted"))
}

async fn redeliver(
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
    Posted { admin, form: _ }: Posted,
) -> Result<HttpResponse, PortalError> {
    let (id, delivery) = path.into_inner();
    let back = format!("/admin/webhooks/{id}");
    state
        .webhooks
        .redeliver(&admin.caller, &id, &delivery)
        .await
        .back_to(&admin, &back)?;
    Ok(see_other(&format!("{back}?done=resent")))
}
