//! `/account/security`: the person's own security info page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::domain::DomainError;
use crate::domain::authz::Session;
use crate::domain::tap::MethodUsabilityReason;
use crate::state::AppState;
use crate::web::pages::{
    AccountPage, ConfirmPage, PasskeyRow, enc, error_page, html, minute, see_other,
};
use crate::web::request_meta;

async fn session(req: &HttpRequest, state: &AppState) -> Option<Session> {
    let secret = state.cookies.session(req)?;
    state.signin_sessions.get(&secret).await.ok().flatten()
}

fn failure(e: &DomainError) -> HttpResponse {
    match e {
        DomainError::Unavailable(_) => error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "Please try again shortly.",
            None,
        ),
        DomainError::NotFound(_) => see_other("/account/security?error=gone"),
        DomainError::Invalid { message, .. } => error_page(
            StatusCode::BAD_REQUEST,
            "Please check your input",
            message,
            Some(("/account/security", "Back")),
        ),
        DomainError::Conflict(message) => error_page(
            StatusCode::CONFLICT,
            "Please try again",
            message,
            Some(("/account/security", "Back")),
        ),
        other => {
            tracing::error!(error = %other, "security info failure");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again.",
                None,
            )
        }
    }
}

/// After a change: on to the page with its notice, or the error explained.
fn finished(result: Result<(), DomainError>, next: &str) -> HttpResponse {
    match result {
        Ok(()) => see_other(next),
        Err(e) => failure(&e),
    }
}

#[derive(Deserialize)]
pub struct PageQuery {
    done: Option<String>,
    error: Option<String>,
}

pub async fn security_info(
    req: HttpRequest,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(session) = session(&req, &state).await else {
        return see_other("/signin");
    };
    let info = match state.account.security_info(&session).await {
        Ok(i) => i,
        Err(e) => return failure(&e),
    };
    let now = state.ctx.clock.now();
    let passkeys = info
        .passkeys
        .into_iter()
        .map(|p| PasskeyRow {
            kind: if p.backup_eligible {
                "Synced passkey"
            } else {
                "Device-bound passkey"
            },
            created: minute(p.created),
            last_used: p.last_used.map_or_else(
                || "never used to sign in".to_owned(),
                |t| format!("last used {}", minute(t)),
            ),
            id: p.id,
            name: p.name,
        })
        .collect();
    let tap = info.tap.map(|v| {
        let line = match v.reason {
            MethodUsabilityReason::EnabledByPolicy => {
                format!("Valid until {} (UTC).", minute(v.tap.end()))
            }
            MethodUsabilityReason::NotYetValid => format!(
                "Valid from {} to {} (UTC).",
                minute(v.tap.start),
                minute(v.tap.end())
            ),
            MethodUsabilityReason::Expired => format!("Expired at {} (UTC).", minute(v.tap.end())),
            MethodUsabilityReason::OneTimeUsed => "Already used (one-time pass).".to_owned(),
            MethodUsabilityReason::DisabledByPolicy => {
                "Not usable: turned off by policy.".to_owned()
            }
        };
        (line,)
    });
    let notice = match query.done.as_deref() {
        Some("renamed") => Some("The passkey was renamed."),
        Some("deleted") => Some("The passkey was deleted."),
        Some("tap-deleted") => Some("Your Temporary Access Pass was deleted."),
        _ => None,
    };
    let error = query
        .error
        .as_deref()
        .map(|_| "That item no longer exists.");
    let (csrf, cookie) = state.cookies.csrf(&req, &*state.ctx.rng);
    let mut res = html(
        StatusCode::OK,
        &AccountPage {
            csrf: &csrf,
            upn: info.user.upn.as_str(),
            passkeys,
            can_add: session.may_register(now) && info.may_register_passkey,
            tap,
            notice,
            error,
        },
    );
    if let Some(c) = cookie {
        let _ = res.add_cookie(&c);
    }
    res
}

#[derive(Deserialize)]
pub struct RenameForm {
    csrf: Option<String>,
    id: String,
    name: String,
}

pub async fn rename_passkey(
    req: HttpRequest,
    form: web::Form<RenameForm>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(session) = session(&req, &state).await else {
        return see_other("/signin");
    };
    if !state.cookies.csrf_ok(&req, form.csrf.as_deref()) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Please try again",
            "Reload the page and try again.",
            Some(("/account/security", "Back")),
        );
    }
    let result = state
        .account
        .rename_passkey(&session, &form.id, &form.name, &request_meta(&req))
        .await;
    finished(result, "/account/security?done=renamed")
}

#[derive(Deserialize)]
pub struct IdQuery {
    id: Option<String>,
}

/// GET: the confirmation step before deleting a passkey (with a stronger
/// warning before the last one).
pub async fn confirm_delete_passkey(
    req: HttpRequest,
    query: web::Query<IdQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(session) = session(&req, &state).await else {
        return see_other("/signin");
    };
    let info = match state.account.security_info(&session).await {
        Ok(i) => i,
        Err(e) => return failure(&e),
    };
    let id = query.id.clone().unwrap_or_default();
    let Some(p) = info.passkeys.iter().find(|p| p.id == id) else {
        return see_other("/account/security?error=gone");
    };
    let last = info.passkeys.len() == 1;
    let detail = if last {
        format!(
            "“{}” is your last passkey. Without a passkey you cannot sign in until your administrator gives you a new Temporary Access Pass.",
            p.name
        )
    } else {
        format!(
            "Delete “{}”? You will no longer be able to sign in with it.",
            p.name
        )
    };
    let (csrf, _) = state.cookies.csrf(&req, &*state.ctx.rng);
    html(
        StatusCode::OK,
        &ConfirmPage {
            csrf: &csrf,
            title: "Delete passkey",
            detail: &detail,
            warning: last,
            action: "/account/passkeys/delete",
            id: &id,
            button: "Delete passkey",
        },
    )
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    csrf: Option<String>,
    #[serde(default)]
    id: String,
    confirm: Option<String>,
}

pub async fn delete_passkey(
    req: HttpRequest,
    form: web::Form<ConfirmForm>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(session) = session(&req, &state).await else {
        return see_other("/signin");
    };
    if !state.cookies.csrf_ok(&req, form.csrf.as_deref()) || form.confirm.as_deref() != Some("yes")
    {
        return see_other(&format!("/account/passkeys/delete?id={}", enc(&form.id)));
    }
    let result = state
        .account
        .delete_passkey(&session, &form.id, &request_meta(&req))
        .await;
    finished(result, "/account/security?done=deleted")
}

pub async fn confirm_delete_tap(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if session(&req, &state).await.is_none() {
        return see_other("/signin");
    }
    let (csrf, _) = state.cookies.csrf(&req, &*state.ctx.rng);
    html(
        StatusCode::OK,
        &ConfirmPage {
            csrf: &csrf,
            title: "Delete your Temporary Access Pass",
            detail: "After this, the pass can no longer be used to sign in.",
            warning: false,
            action: "/account/tap/delete",
            id: "",
            button: "Delete pass",
        },
    )
}

pub async fn delete_tap(
    req: HttpRequest,
    form: web::Form<ConfirmForm>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(session) = session(&req, &state).await else {
        return see_other("/signin");
    };
    if !state.cookies.csrf_ok(&req, form.csrf.as_deref()) || form.confirm.as_deref() != Some("yes")
    {
        return see_other("/account/tap/delete");
    }
    let result = state
        .account
        .delete_own_tap(&session, &request_meta(&req))
        .await;
    finished(result, "/account/security?done=tap-deleted")
}

#[derive(Deserialize)]
pub struct SignOutForm {
    csrf: Option<String>,
}

pub async fn sign_out(
    req: HttpRequest,
    form: web::Form<SignOutForm>,
    state: web::Data<AppState>,
) -> HttpResponse {
    if !state.cookies.csrf_ok(&req, form.csrf.as_deref()) {
        return see_other("/account/security");
    }
    if let Some(secret) = state.cookies.session(&req) {
        let _ = state.signin_sessions.end(&secret).await;
    }
    let mut res = see_other("/signin");
    let _ = res.add_removal_cookie(&state.cookies.session_cookie(String::new(), 0));
    res
}
