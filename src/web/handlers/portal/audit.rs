//! Portal: the audit log as a filterable table.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use time::{Date, OffsetDateTime, format_description::FormatItem, macros::format_description};

use super::{Admin, BackTo, Chrome, PortalError};
use crate::domain::DomainError;
use crate::domain::audit::{ActorKind, AuditEvent, AuditEventType, AuditFilter, Outcome};
use crate::state::AppState;

pub struct EventRow {
    pub time: String,
    pub kind: &'static str,
    pub outcome: &'static str,
    pub actor: String,
    pub target: String,
    pub address: String,
    pub request: String,
    pub detail: String,
}

impl From<AuditEvent> for EventRow {
    fn from(e: AuditEvent) -> Self {
        let actor = match e.actor.kind {
            ActorKind::User => format!("user {}", e.actor.id),
            ActorKind::Client => format!("client {}", e.actor.id),
            ActorKind::System => "system".to_owned(),
        };
        let target = e.target.map_or_else(String::new, |t| match t.display {
            Some(d) => format!("{} {d} ({})", t.kind, t.id),
            None => format!("{} {}", t.kind, t.id),
        });
        Self {
            time: e
                .time
                .format(format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]"
                ))
                .unwrap_or_default(),
            kind: e.event_type.as_str(),
            outcome: match e.outcome {
                Outcome::Success => "success",
                Outcome::Failure => "failure",
            },
            actor,
            target,
            address: e.client_address.unwrap_or_default(),
            request: e.request_id.unwrap_or_default(),
            detail: e.detail.unwrap_or_default(),
        }
    }
}

#[derive(Deserialize, Default)]
pub struct FilterForm {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub until: String,
    #[serde(default)]
    pub before: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage<'a> {
    chrome: &'a Chrome,
    filter: &'a FilterForm,
    types: Vec<(&'static str, bool)>,
    events: Vec<EventRow>,
    next: Option<String>,
}

const DAY: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// A `yyyy-mm-dd` date field as the start of that day (UTC).
fn day(field: &'static str, v: &str) -> Result<Option<OffsetDateTime>, DomainError> {
    if v.is_empty() {
        return Ok(None);
    }
    Date::parse(v, DAY)
        .map(|d| Some(d.midnight().assume_utc()))
        .map_err(|_| DomainError::invalid(field, "must be a date (yyyy-mm-dd)"))
}

fn filter_of(f: &FilterForm) -> Result<AuditFilter, DomainError> {
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(AuditFilter {
        from: day("from", &f.from)?,
        // "Until" a day includes that whole day.
        until: day("until", &f.until)?.map(|t| t + time::Duration::days(1)),
        actor_id: some(&f.actor),
        target_id: some(&f.target),
        event_type: match f.kind.as_str() {
            "" => None,
            k => Some(
                AuditEventType::parse(k)
                    .ok_or_else(|| DomainError::invalid("type", "is not a known event type"))?,
            ),
        },
    })
}

/// The link to the next page: the same filter, older events.
fn next_link(form: &FilterForm, cursor: &str) -> String {
    let mut qs = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("type", &form.kind),
        ("actor", &form.actor),
        ("target", &form.target),
        ("from", &form.from),
        ("until", &form.until),
    ] {
        if !v.is_empty() {
            qs.append_pair(k, v);
        }
    }
    qs.append_pair("before", cursor);
    format!("/admin/audit?{}", qs.finish())
}

pub async fn log(
    query: web::Query<FilterForm>,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, PortalError> {
    let form = query.into_inner();
    let filter = filter_of(&form).back_to(&admin, "/admin/audit")?;
    let cursor = Some(form.before.as_str()).filter(|c| !c.is_empty());
    let page = state
        .admin
        .audit_log(&admin.caller, &filter, cursor, 100)
        .await
        .back_to(&admin, "/admin")?;
    let types = AuditEventType::ALL
        .into_iter()
        .map(|t| (t.as_str(), t.as_str() == form.kind))
        .collect();
    let page = AuditPage {
        chrome: &admin.chrome,
        filter: &form,
        types,
        next: page.next.map(|c| next_link(&form, &c)),
        events: page.events.into_iter().map(EventRow::from).collect(),
    };
    Ok(admin.page(StatusCode::OK, &page))
}
