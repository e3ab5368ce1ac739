//! Portal: importing users from a CSV file (`service::csv_import`). Upload
//! (multipart, with the CSRF token as a field), a preview that writes
//! nothing, a commit form, and the report (a page and a CSV download).

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use futures_util::{StreamExt, TryStreamExt};

use super::form::{Field, FormState};
use super::{Admin, BackTo, Chrome, PortalError, Posted};
use crate::domain::DomainError;
use crate::domain::csv_import::{self, Column, ImportPreview, ImportReport, RowOutcome};
use crate::state::AppState;
use crate::web::pages::see_other;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/import", web::get().to(form))
        .route("/admin/import", web::post().to(upload))
        .route("/admin/import/{id}", web::get().to(preview))
        .route("/admin/import/{id}", web::post().to(commit))
        .route("/admin/import/{id}/report", web::get().to(report))
        .route("/admin/import/{id}/report.csv", web::get().to(report_csv));
}

const BACK: &str = "/admin/import";
/// Rows listed on the preview and report pages (the CSV report has all).
const SHOWN: usize = 1_000;

#[derive(Template)]
#[template(path = "admin/import.html")]
struct FormPage<'a> {
    chrome: &'a Chrome,
    columns: Vec<(&'static str, bool)>,
    max_rows: usize,
    max_mib: usize,
    /// The upload form (a refused file is explained beside its field).
    form: FormState,
}

/// The upload form's input.
const FIELDS: &[Field] = &[Field {
    name: "file",
    api: "file",
    label: "The file",
}];

fn form_page(admin: &Admin, form: FormState) -> HttpResponse {
    let page = FormPage {
        chrome: &admin.chrome,
        columns: Column::ALL
            .into_iter()
            .map(|c| (c.name(), matches!(c, Column::Upn | Column::DisplayName)))
            .collect(),
        max_rows: csv_import::MAX_ROWS,
        max_mib: csv_import::MAX_BYTES / (1024 * 1024),
        form,
    };
    admin.page(page.form.status(), &page)
}

async fn form(admin: Admin) -> HttpResponse {
    form_page(&admin, FormState::default())
}

/// Reads the form's two fields, `csrf` and `file`; anything else is
/// refused by name. The file is bounded while it is read.
async fn read_upload(
    mut parts: Multipart,
) -> Result<(Option<String>, Option<Vec<u8>>), DomainError> {
    let mut csrf = None;
    let mut file = None;
    while let Some(mut field) = parts.try_next().await.map_err(|e| {
        DomainError::invalid("file", format!("could not be read from the form ({e})"))
    })? {
        let name = field.name().unwrap_or_default().to_owned();
        let limit = match name.as_str() {
            "csrf" => 256,
            "file" => csv_import::MAX_BYTES,
            other => {
                return Err(DomainError::invalid(
                    "upload",
                    format!("the form has a field \"{other}\" this page does not know"),
                ));
            }
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk
                .map_err(|e| DomainError::invalid("file", format!("did not arrive whole ({e})")))?;
            if bytes.len() + chunk.len() > limit {
                return Err(DomainError::invalid(
                    "file",
                    format!(
                        "is larger than {} MiB; split it into smaller files",
                        csv_import::MAX_BYTES / (1024 * 1024)
                    ),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csrf" => csrf = Some(String::from_utf8_lossy(&bytes).into_owned()),
            _ => file = Some(bytes),
        }
    }
    Ok((csrf, file))
}

/// Checks an upload and keeps its preview: the preview's id.
async fn checked_upload(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    admin: &Admin,
) -> Result<String, DomainError> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(DomainError::invalid(
            "upload",
            "send the file with the form on this page (multipart/form-data)",
        ));
    }
    let (csrf, file) = read_upload(Multipart::new(req.headers(), payload)).await?;
    // The same check as every portal form's (`Posted`), on the multipart field.
    if !state.cookies.csrf_ok(req, csrf.as_deref()) {
        return Err(DomainError::Forbidden(
            "This form expired or came from somewhere else. Go back, reload the page and try again."
                .into(),
        ));
    }
    let Some(file) = file.filter(|f| !f.is_empty()) else {
        return Err(DomainError::invalid("file", "choose a CSV file to upload"));
    };
    let (id, _) = state.admin.preview_import(&admin.caller, file).await?;
    Ok(id)
}

async fn upload(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, PortalError> {
    match checked_upload(&req, payload, &state, &admin).await {
        Ok(id) => Ok(see_other(&format!("/admin/import/{id}"))),
        Err(e) => {
            let refused = FormState::default()
                .failed(e, FIELDS, None)
                .back_to(&admin, BACK)?;
            Ok(form_page(&admin, refused))
        }
    }
}

struct PreviewLine {
    line: u64,
    upn: String,
    display_name: String,
    errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/import_preview.html")]
struct PreviewPage<'a> {
    chrome: &'a Chrome,
    id: &'a str,
    total: usize,
    good: usize,
    bad: usize,
    rows: Vec<PreviewLine>,
    more: usize,
}

fn preview_page<'a>(chrome: &'a Chrome, id: &'a str, p: &ImportPreview) -> PreviewPage<'a> {
    let good = p.good();
    // Rows with errors first: they are what needs reading.
    let mut rows: Vec<PreviewLine> = p
        .rows
        .iter()
        .filter(|r| !r.errors.is_empty())
        .chain(p.rows.iter().filter(|r| r.errors.is_empty()))
        .take(SHOWN)
        .map(|r| PreviewLine {
            line: r.row.line,
            upn: r.row.upn.trim().to_owned(),
            display_name: r.row.display_name.trim().to_owned(),
            errors: r.errors.clone(),
        })
        .collect();
    rows.shrink_to_fit();
    PreviewPage {
        chrome,
        id,
        total: p.rows.len(),
        good,
        bad: p.rows.len() - good,
        more: p.rows.len().saturating_sub(rows.len()),
        rows,
    }
}

async fn preview(
    path: web::Path<String>,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, PortalError> {
    let preview = state
        .admin
        .import_preview(&admin.caller, &path)
        .await
        .back_to(&admin, BACK)?;
    Ok(admin.page(
        StatusCode::OK,
        &preview_page(&admin.chrome, &path, &preview),
    ))
}

async fn commit(
    path: web::Path<String>,
    state: web::Data<AppState>,
    Posted { admin, .. }: Posted,
) -> Result<HttpResponse, PortalError> {
    state
        .admin
        .commit_import(&admin.caller, &path)
        .await
        .back_to(&admin, BACK)?;
    Ok(see_other(&format!("/admin/import/{path}/report")))
}

struct ReportLine {
    line: u64,
    upn: String,
    created: bool,
    id: String,
    error: String,
}

#[derive(Template)]
#[template(path = "admin/import_report.html")]
struct ReportPage<'a> {
    chrome: &'a Chrome,
    id: &'a str,
    created: usize,
    failed: usize,
    rows: Vec<ReportLine>,
    more: usize,
}

fn report_line(r: &csv_import::ReportRow) -> ReportLine {
    let (created, id, error) = match &r.outcome {
        RowOutcome::Created { id } => (true, id.clone(), String::new()),
        RowOutcome::CreatedWithoutManager { id, error } => (true, id.clone(), error.clone()),
        RowOutcome::Failed { error } => (false, String::new(), error.clone()),
    };
    ReportLine {
        line: r.line,
        upn: r.upn.clone(),
        created,
        id,
        error,
    }
}

async fn report(
    path: web::Path<String>,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, PortalError> {
    let report: ImportReport = state
        .admin
        .import_report(&admin.caller, &path)
        .await
        .back_to(&admin, BACK)?;
    let created = report.created();
    let rows: Vec<ReportLine> = report.rows.iter().take(SHOWN).map(report_line).collect();
    let page = ReportPage {
        chrome: &admin.chrome,
        id: &path,
        created,
        failed: report.rows.len() - created,
        more: report.rows.len() - rows.len(),
        rows,
    };
    Ok(admin.page(StatusCode::OK, &page))
}

async fn report_csv(
    path: web::Path<String>,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, PortalError> {
    let report = state
        .admin
        .import_report(&admin.caller, &path)
        .await
        .back_to(&admin, BACK)?;
    let body = report.to_csv().back_to(&admin, BACK)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"import-report.csv\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}
