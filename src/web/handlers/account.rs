//! `/account/security`: the person's own security info page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::domain::DomainError;
use crate::domain::authenticator::{self, Model};
use crate::domain::credential::PasskeyCredential;
use crate::domain::tap::MethodUsabilityReason;
use crate::service::RequestMeta;
use crate::service::admin::TapView;
use crate::state::AppState;
use crate::web::error::{Family, PageError};
use crate::web::extract::{PageForm, SignedIn};
use crate::web::i18n;
use crate::web::pages::{
    AccountPage, ConfirmPage, LocalTime, PasskeyRow, SignedOutPage, TapLine, enc, html, see_other,
    with_cookie,
};

/// A failure of the security info pages, in their words.
fn page(e: DomainError) -> PageError {
    PageError::Domain(Family::Account, e)
}

/// After a change: on to the page with its notice.
fn finished(result: Result<(), DomainError>, next: &str) -> Result<HttpResponse, PageError> {
    result.map_err(page)?;
    Ok(see_other(next))
}

#[derive(Deserialize)]
pub struct PageQuery {
    done: Option<String>,
    error: Option<String>,
}

pub(crate) fn passkey_row(p: PasskeyCredential) -> PasskeyRow {
    PasskeyRow {
        kind: if p.backup_eligible {
            "passkey-synced"
        } else {
            "passkey-device-bound"
        },
        model: match authenticator::model(p.aaguid.as_deref()) {
            Model::Known(name) => Some(name.to_owned()),
            Model::Unknown(aaguid) => Some(i18n::t1("passkey-unknown-model", "aaguid", aaguid)),
            Model::NotReported => None,
        },
        created: LocalTime(p.created),
        last_used: p.last_used.map(LocalTime),
        id: p.id,
        name: p.name,
    }
}

/// The pass's status line.
fn tap_line(v: &TapView) -> TapLine {
    let end = LocalTime(v.tap.end());
    match v.reason {
        MethodUsabilityReason::EnabledByPolicy => TapLine::ValidUntil(end),
        MethodUsabilityReason::NotYetValid => TapLine::ValidBetween(LocalTime(v.tap.start), end),
        MethodUsabilityReason::Expired => TapLine::ExpiredAt(end),
        MethodUsabilityReason::OneTimeUsed => TapLine::Used,
        MethodUsabilityReason::DisabledByPolicy => TapLine::TurnedOff,
    }
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    match done {
        Some("renamed") => Some("The passkey was renamed."),
        Some("deleted") => Some("The passkey was deleted."),
        Some("tap-deleted") => Some("Your Temporary Access Pass was deleted."),
        _ => None,
    }
}

pub async fn security_info(
    req: HttpRequest,
    SignedIn(session): SignedIn,
    query: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let info = state.account.security_info(&session).await.map_err(page)?;
    let now = state.ctx.clock.now();
    let (csrf, cookie) = state.cookies.csrf(&req, &*state.ctx.rng);
    let body = AccountPage {
        csrf: &csrf,
        upn: info.user.upn.as_str(),
        can_add: session.may_register(now) && info.may_register_passkey,
        tap: info.tap.as_ref().map(tap_line),
        passkeys: info.passkeys.into_iter().map(passkey_row).collect(),
        notice: notice(query.done.as_deref()),
        error: query.error.as_ref().map(|_| "That item no longer exists."),
        is_admin: !info.user.roles.is_empty(),
    };
    Ok(with_cookie(html(StatusCode::OK, &body), cookie.as_ref()))
}

#[derive(Deserialize)]
pub struct RenameForm {
    id: String,
    name: String,
}

pub async fn rename_passkey(
    SignedIn(session): SignedIn,
    form: PageForm<RenameForm>,
    meta: RequestMeta,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let result = state
        .account
        .rename_passkey(&session, &form.id, &form.name, &meta)
        .await;
    finished(result, "/account/security?done=renamed")
}

#[derive(Deserialize)]
pub struct IdQuery {
    id: Option<String>,
}

/// The words before deleting a passkey (stronger before the last one).
fn delete_warning(name: &str, last: bool) -> String {
    if last {
        i18n::t1("account-delete-last-warning", "name", name)
    } else {
        i18n::t1("account-delete-warning", "name", name)
    }
}

/// GET: the confirmation step before deleting a passkey.
pub async fn confirm_delete_passkey(
    req: HttpRequest,
    SignedIn(session): SignedIn,
    query: web::Query<IdQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let info = state.account.security_info(&session).await.map_err(page)?;
    let id = query.id.as_deref().unwrap_or_default();
    let p = info
        .passkeys
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| page(DomainError::NotFound("passkey")))?;
    let last = info.passkeys.len() == 1;
    let (csrf, _) = state.cookies.csrf(&req, &*state.ctx.rng);
    let body = ConfirmPage {
        csrf: &csrf,
        title: "Delete passkey",
        detail: &delete_warning(&p.name, last),
        warning: last,
        action: "/account/passkeys/delete",
        id,
        r: None,
        button: "Delete passkey",
        cancel: "/account/security",
    };
    Ok(html(StatusCode::OK, &body))
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    csrf: Option<String>,
    #[serde(default)]
    id: String,
    confirm: Option<String>,
}

impl ConfirmForm {
    /// Confirmed, from this browser's own page (CSRF). Anything else goes
    /// back to the confirmation step rather than to an error.
    fn confirmed(&self, req: &HttpRequest, state: &AppState) -> bool {
        state.cookies.csrf_ok(req, self.csrf.as_deref()) && self.confirm.as_deref() == Some("yes")
    }
}

pub async fn delete_passkey(
    req: HttpRequest,
    SignedIn(session): SignedIn,
    form: web::Form<ConfirmForm>,
    meta: RequestMeta,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    if !form.confirmed(&req, &state) {
        return Ok(see_other(&format!(
            "/account/passkeys/delete?id={}",
            enc(&form.id)
        )));
    }
    let result = state
        .account
        .delete_passkey(&session, &form.id, &meta)
        .await;
    finished(result, "/account/security?done=deleted")
}

pub async fn confirm_delete_tap(
    req: HttpRequest,
    _: SignedIn,
    state: web::Data<AppState>,
) -> HttpResponse {
    let (csrf, _) = state.cookies.csrf(&req, &*state.ctx.rng);
    let body = ConfirmPage {
        csrf: &csrf,
        title: "Delete your Temporary Access Pass",
        detail: "After this, the pass can no longer be used to sign in.",
        warning: false,
        action: "/account/tap/delete",
        id: "",
        r: None,
        button: "Delete pass",
        cancel: "/account/security",
    };
    html(StatusCode::OK, &body)
}

pub async fn delete_tap(
    req: HttpRequest,
    SignedIn(session): SignedIn,
    form: web::Form<ConfirmForm>,
    meta: RequestMeta,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    if !form.confirmed(&req, &state) {
        return Ok(see_other("/account/tap/delete"));
    }
    let result = state.account.delete_own_tap(&session, &meta).await;
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
    let mut res = see_other("/signed-out");
    let _ = res.add_removal_cookie(&state.cookies.session_cookie(String::new(), 0));
    res
}

/// GET `/signed-out`: says that signing out worked.
pub async fn signed_out() -> HttpResponse {
    html(StatusCode::OK, &SignedOutPage { csrf: "" })
}
