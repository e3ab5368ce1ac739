//! The lost-phone case on the enrollment page: someone signed in with a
//! Temporary Access Pass removes a passkey they no longer have (with a
//! confirmation step), then sets up a new one. Only their own passkeys,
//! only within the pass's enrollment window, CSRF-checked and audited
//! (`passkey.deleted`) by the account service.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::domain::DomainError;
use crate::service::RequestMeta;
use crate::state::AppState;
use crate::web::error::{Family, PageError};
use crate::web::extract::{PageForm, SignedIn};
use crate::web::i18n;
use crate::web::pages::{ConfirmPage, enc, html, see_other};

/// The enrollment page again, with a notice.
fn back(r: &str, done: &str) -> HttpResponse {
    see_other(&format!("/enroll?r={}&done={done}", enc(r)))
}

#[derive(Deserialize)]
pub struct RemoveQuery {
    r: Option<String>,
    id: Option<String>,
}

/// GET `/enroll/remove`: "Remove this passkey?"
pub async fn confirm_remove(
    req: HttpRequest,
    SignedIn(session): SignedIn,
    query: web::Query<RemoveQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let r = query.r.as_deref().unwrap_or_default();
    if !session.can_enroll(state.ctx.clock.now()) {
        return Err(super::signin::window_over(r));
    }
    let passkeys = state
        .account
        .passkeys(&session)
        .await
        .map_err(|e| PageError::Domain(Family::SignIn, e))?;
    let id = query.id.as_deref().unwrap_or_default();
    let Some(p) = passkeys.iter().find(|p| p.id == id) else {
        return Ok(back(r, "gone"));
    };
    let (csrf, _) = state.cookies.csrf(&req, &*state.ctx.rng);
    let detail = i18n::t1("enroll-remove-detail", "name", &p.name);
    let cancel = format!("/enroll?r={}", enc(r));
    let body = ConfirmPage {
        csrf: &csrf,
        title: "Remove passkey",
        detail: &detail,
        warning: false,
        action: "/enroll/remove",
        id,
        r: Some(r),
        button: "Remove passkey",
        cancel: &cancel,
    };
    Ok(html(StatusCode::OK, &body))
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    r: String,
    #[serde(default)]
    id: String,
    confirm: Option<String>,
}

/// POST `/enroll/remove`: removes the passkey once confirmed.
pub async fn remove(
    SignedIn(session): SignedIn,
    form: PageForm<RemoveForm>,
    meta: RequestMeta,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let PageForm(RemoveForm { r, id, confirm }) = form;
    if confirm.as_deref() != Some("yes") {
        return Ok(see_other(&format!(
            "/enroll/remove?r={}&id={}",
            enc(&r),
            enc(&id)
        )));
    }
    match state
        .account
        .remove_lost_passkey(&session, &id, &meta)
        .await
    {
        Ok(()) => Ok(back(&r, "removed")),
        Err(DomainError::NotFound(_)) => Ok(back(&r, "gone")),
        Err(DomainError::Forbidden(_)) => Err(super::signin::window_over(&r)),
        Err(e) => Err(PageError::Domain(Family::SignIn, e)),
    }
}
