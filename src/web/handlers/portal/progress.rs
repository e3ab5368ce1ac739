//! Portal: onboarding progress. The funnel (how many people stand at each
//! stage, `domain::registration_report::Stage`) as bars with their
//! numbers, the people who are stuck (pass expired unused) with a one-click
//! new pass (the user page's pass form, and its shown-once page), and the
//! whole report as CSV.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Admin, BackTo, Chrome, PortalError};
use crate::domain::DomainError;
use crate::domain::csv_import::spreadsheet_safe;
use crate::domain::permission::Permission;
use crate::domain::registration_report::{RegistrationDetails, Stage, funnel};
use crate::state::AppState;
use crate::web::pages::minute;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/onboarding", web::get().to(dashboard))
        .route("/admin/onboarding/report.csv", web::get().to(export));
}

const BACK: &str = "/admin";

pub struct Bar {
    pub label: &'static str,
    pub count: usize,
    /// Bar length, percent of the largest stage.
    pub percent: usize,
}

pub struct StuckRow {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub hire_date: String,
}

#[derive(Template)]
#[template(path = "admin/progress.html")]
struct DashboardPage<'a> {
    chrome: &'a Chrome,
    total: usize,
    bars: Vec<Bar>,
    stuck: Vec<StuckRow>,
    can_issue: bool,
}

fn bars(details: &[RegistrationDetails]) -> Vec<Bar> {
    let counts = funnel(details);
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    counts
        .into_iter()
        .map(|(stage, count)| Bar {
            label: stage.label(),
            count,
            percent: count * 100 / max,
        })
        .collect()
}

async fn dashboard(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, PortalError> {
    let details = state
        .admin
        .registration_details(&admin.caller)
        .await
        .back_to(&admin, BACK)?;
    let stuck = details
        .iter()
        .filter(|d| d.stage == Stage::PassExpiredUnused)
        .map(|d| StuckRow {
            id: d.id.clone(),
            upn: d.upn.clone(),
            display_name: d.display_name.clone(),
            hire_date: d.hire_date.map(minute).unwrap_or_default(),
        })
        .collect();
    let page = DashboardPage {
        chrome: &admin.chrome,
        total: details.len(),
        bars: bars(&details),
        stuck,
        can_issue: admin.can(Permission::UserAuthenticationMethodReadWriteAll),
    };
    Ok(admin.page(StatusCode::OK, &page))
}

/// The report as CSV, one row per user.
fn to_csv(details: &[RegistrationDetails]) -> Result<Vec<u8>, DomainError> {
    let failed = |e: csv::Error| DomainError::Internal(format!("report CSV: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "id",
        "userPrincipalName",
        "userDisplayName",
        "stage",
        "employeeHireDate",
        "isAdmin",
        "isMfaRegistered",
        "methodsRegistered",
        "lastUpdatedDateTime",
    ])
    .map_err(failed)?;
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    for d in details {
        w.write_record([
            d.id.as_str(),
            spreadsheet_safe(&d.upn),
            spreadsheet_safe(&d.display_name),
            d.stage.label(),
            &d.hire_date.map(rfc).unwrap_or_default(),
            if d.is_admin { "true" } else { "false" },
            if d.is_mfa_registered { "true" } else { "false" },
            &d.methods_registered.join(" "),
            &rfc(d.last_updated),
        ])
        .map_err(failed)?;
    }
    w.into_inner()
        .map_err(|e| DomainError::Internal(format!("report CSV: {e}")))
}

async fn export(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, PortalError> {
    let details = state
        .admin
        .registration_details(&admin.caller)
        .await
        .back_to(&admin, BACK)?;
    let body = to_csv(&details).back_to(&admin, BACK)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"onboarding-report.csv\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}
