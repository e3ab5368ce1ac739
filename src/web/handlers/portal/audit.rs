//! Portal: the audit log as a filterable table (by event type, actor and
//! target by name, UPN or id, and days), and the same view as CSV.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, format_description::FormatItem, macros::format_description};

use super::{Admin, BackTo, Chrome, PortalError};
use crate::domain::DomainError;
use crate::domain::audit::{ActorKind, AuditEvent, AuditEventType, AuditFilter, Outcome};
use crate::service::Caller;
use crate::service::admin::AuditView;
use crate::state::AppState;
use crate::web::pages::When;

const AUDIT: &str = "/admin/audit";

/// One event as the page (and the CSV) shows it.
pub struct EventRow {
    pub time: When,
    pub kind: &'static str,
    pub outcome: &'static str,
    /// Who did it, by name where the directory knows them.
    pub actor: String,
    pub actor_id: String,
    /// A user actor's page in the portal.
    pub actor_link: Option<String>,
    /// The target as the page shows it (kind and name).
    pub target: String,
    pub target_kind: String,
    pub target_name: String,
    pub target_id: String,
    pub address: String,
    pub request: String,
    pub detail: String,
}

fn row(e: AuditEvent, view_names: &std::collections::HashMap<String, String>) -> EventRow {
    let name = view_names.get(&e.actor.id);
    let (actor, actor_link) = match e.actor.kind {
        ActorKind::User => match name {
            Some(upn) => (upn.clone(), Some(format!("/admin/users/{}", e.actor.id))),
            None if e.actor.id == "(unknown)" => ("unknown user".to_owned(), None),
            None => (format!("user {}", e.actor.id), None),
        },
        ActorKind::Client => match name {
            Some(n) => (format!("{n} (client)"), None),
            None => (format!("client {}", e.actor.id), None),
        },
        ActorKind::System => ("system".to_owned(), None),
    };
    let (target_kind, target_name, target_id) = e
        .target
        .map(|t| (t.kind, t.display.unwrap_or_default(), t.id))
        .unwrap_or_default();
    let target = match (target_kind.as_str(), target_name.as_str()) {
        ("", _) => String::new(),
        (kind, "") => format!("{kind} {target_id}"),
        (kind, name) => format!("{kind} {name}"),
    };
    EventRow {
        time: When(e.time),
        kind: e.event_type.as_str(),
        outcome: match e.outcome {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        },
        actor,
        actor_id: e.actor.id,
        actor_link,
        target,
        target_kind,
        target_name,
        target_id,
        address: e.client_address.unwrap_or_default(),
        request: e.request_id.unwrap_or_default(),
        detail: e.detail.unwrap_or_default(),
    }
}

fn rows(view: AuditView) -> (Vec<EventRow>, Option<String>) {
    let names = view.names;
    let rows = view.events.into_iter().map(|e| row(e, &names)).collect();
    (rows, view.next)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
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
    export: String,
    export_cap: usize,
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

/// The filter the form asks for, its actor and target resolved to ids.
async fn filter_of(
    state: &AppState,
    caller: &Caller,
    f: &FilterForm,
) -> Result<AuditFilter, DomainError> {
    let party = |term: String| async move {
        match term.trim() {
            "" => Ok(None),
            t => state.admin.audit_party(caller, t).await.map(Some),
        }
    };
    Ok(AuditFilter {
        from: day("from", &f.from)?,
        // "Until" a day includes that whole day.
        until: day("until", &f.until)?.map(|t| t + time::Duration::days(1)),
        actor_id: party(f.actor.clone()).await?,
        target_id: party(f.target.clone()).await?,
        event_type: match f.kind.as_str() {
            "" => None,
            k => Some(
                AuditEventType::parse(k)
                    .ok_or_else(|| DomainError::invalid("type", "is not a known event type"))?,
            ),
        },
    })
}

/// The form's filter as a query string (without the cursor).
fn query_of(form: &FilterForm) -> url::form_urlencoded::Serializer<'static, String> {
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
    qs
}

/// The link to the next page: the same filter, older events.
fn next_link(form: &FilterForm, cursor: &str) -> String {
    let mut qs = query_of(form);
    qs.append_pair("before", cursor);
    format!("{AUDIT}?{}", qs.finish())
}

pub async fn log(
    query: Result<web::Query<FilterForm>, actix_web::Error>,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, PortalError> {
    let (form, filter) = asked(query, &state, &admin).await?;
    let cursor = Some(form.before.as_str()).filter(|c| !c.is_empty());
    let view = state
        .admin
        .audit_view(&admin.caller, &filter, cursor, 100)
        .await
        .back_to(&admin, "/admin")?;
    let types = AuditEventType::ALL
        .into_iter()
        .map(|t| (t.as_str(), t.as_str() == form.kind))
        .collect();
    let (events, next) = rows(view);
    let page = AuditPage {
        chrome: &admin.chrome,
        filter: &form,
        types,
        next: next.map(|c| next_link(&form, &c)),
        events,
        export: format!("{AUDIT}/export?{}", query_of(&form).finish()),
        export_cap: EXPORT_CAP,
    };
    Ok(admin.page(StatusCode::OK, &page))
}

/// The filter a page or export asks for: the form as entered, and the
/// filter it stands for.
async fn asked(
    query: Result<web::Query<FilterForm>, actix_web::Error>,
    state: &AppState,
    admin: &Admin,
) -> Result<(FilterForm, AuditFilter), PortalError> {
    let form = filter_form(query, admin)?;
    let filter = filter_of(state, &admin.caller, &form)
        .await
        .back_to(admin, AUDIT)?;
    Ok((form, filter))
}

/// The filter form, or a page naming what it does not know.
fn filter_form(
    query: Result<web::Query<FilterForm>, actix_web::Error>,
    admin: &Admin,
) -> Result<FilterForm, PortalError> {
    query.map(web::Query::into_inner).map_err(|e| {
        let detail = format!("The audit log has no such filter ({e}).");
        admin.problem(&DomainError::invalid("filter", detail), AUDIT)
    })
}

/// The most events one export holds (newest first).
const EXPORT_CAP: usize = 10_000;

/// `GET /admin/audit/export`: the filtered view as CSV (newest first, at
/// most [`EXPORT_CAP`] events), as a download.
pub async fn export(
    query: Result<web::Query<FilterForm>, actix_web::Error>,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, PortalError> {
    let (_, filter) = asked(query, &state, &admin).await?;
    let mut out = String::from(
        "time,event,outcome,actor,actor_id,target_kind,target_name,target_id,client_address,request_id,detail\r\n",
    );
    let mut cursor: Option<String> = None;
    let mut written = 0;
    while written < EXPORT_CAP {
        let top = (EXPORT_CAP - written).min(crate::service::admin::MAX_PAGE);
        let view = state
            .admin
            .audit_view(&admin.caller, &filter, cursor.as_deref(), top)
            .await
            .back_to(&admin, AUDIT)?;
        let (events, next) = rows(view);
        written += events.len();
        for e in events {
            csv_line(&mut out, &e);
        }
        match next {
            Some(c) if !c.is_empty() => cursor = Some(c),
            _ => break,
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"onramp-audit-log.csv\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(out))
}

fn csv_line(out: &mut String, e: &EventRow) {
    let time = e.time.0.format(&Rfc3339).unwrap_or_default();
    let cells = [
        time.as_str(),
        e.kind,
        e.outcome,
        &e.actor,
        &e.actor_id,
        &e.target_kind,
        &e.target_name,
        &e.target_id,
        &e.address,
        &e.request,
        &e.detail,
    ];
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_cell(out, cell);
    }
    out.push_str("\r\n");
}

/// One CSV cell (RFC 4180: quoted, quotes doubled). A cell a spreadsheet
/// would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return
/// first) gets a leading `'`: the log holds what anyone typed as a user
/// name (OWASP "CSV injection").
fn csv_cell(out: &mut String, cell: &str) {
    out.push('"');
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        out.push('\'');
    }
    out.push_str(&cell.replace('"', "\"\""));
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    fn cell(s: &str) -> String {
        let mut out = String::new();
        csv_cell(&mut out, s);
        out
    }

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(cell("tap.failed"), "\"tap.failed\"");
        assert_eq!(cell("say \"hi\", then"), "\"say \"\"hi\"\", then\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for f in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(cell(f).starts_with("\"'"), "{f:?}");
        }
        assert_eq!(cell("a-b"), "\"a-b\"");
        assert_eq!(cell(""), "\"\"");
    }
}
