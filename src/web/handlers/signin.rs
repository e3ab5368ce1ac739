//! The browser side of sign-in: `/authorize`, the user name and TAP pages,
//! passkey sign-in, enrollment, and resuming the authorization request.
//! Pages answer errors with [`PageError`], their scripts with
//! [`ScriptError`] (both mapped in `web::error`).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::domain::DomainError;
use crate::service::RequestMeta;
use crate::service::authorize::{Answer, Next, Params, SignInHere};
use crate::service::signin::{PasskeyCeremony, SignInError};
use crate::state::AppState;
use crate::web::error::{Family, PageError, ScriptError};
use crate::web::extract::{PageForm, ScriptCsrf, ScriptSession};
use crate::web::handlers::account::passkey_row;
use crate::web::i18n;
use crate::web::pages::{
    AllSetPage, EnrollPage, LocalTime, PageCeremony, SignInPage, TapPage, enc, error_page, found,
    html, see_other, with_cookie,
};

/// A sign-in page's failure, in the sign-in pages' words.
fn page(e: DomainError) -> PageError {
    PageError::Domain(Family::SignIn, e)
}

fn next_response(req: &HttpRequest, state: &AppState, next: Next) -> HttpResponse {
    match next {
        Next::ErrorPage { title, detail } => {
            error_page(StatusCode::BAD_REQUEST, title, &detail, None)
        }
        Next::Redirect(url) => found(&url),
        Next::SignIn { request_id } => found(&format!("/signin?r={}", enc(&request_id))),
        Next::SignInPage(here) => sign_in_here(req, state, *here),
        Next::Enroll { request_id } => found(&format!("/enroll?r={}", enc(&request_id))),
    }
}

/// The sign-in page of a request `/authorize` stored just now.
fn sign_in_here(req: &HttpRequest, state: &AppState, here: SignInHere) -> HttpResponse {
    let passkey = here.ceremony.and_then(page_ceremony_of);
    signin_response(
        req,
        state,
        &SignInView {
            request_id: &here.request_id,
            username: here.login_hint.as_deref().unwrap_or_default(),
            app_name: Some(&here.app_name),
            notice: here.other_account.then_some(OTHER_ACCOUNT),
            passkey: passkey.as_ref(),
        },
    )
}

/// GET and POST `/authorize`.
pub async fn authorize(
    req: HttpRequest,
    body: web::Bytes,
    meta: RequestMeta,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let source = if req.method() == actix_web::http::Method::POST {
        &body[..]
    } else {
        req.query_string().as_bytes()
    };
    let params = Params::from_pairs(url::form_urlencoded::parse(source));
    let secret = state.cookies.session(&req);
    // A GET is answered with the sign-in page itself (one browser round
    // trip fewer). A POST, often an application's cross-site form, carries
    // none of our SameSite=Lax cookies, and a page as its answer would
    // replace the browser's CSRF cookie and be re-submitted by Back: it is
    // sent on (303) to `/signin?r=`, whose GET has them.
    let answer = match req.method() == actix_web::http::Method::POST {
        true => Answer::Redirect,
        false => Answer::Page,
    };
    let next = state
        .authorize
        .authorize(&params, secret.as_deref(), answer, &meta)
        .await
        .map_err(page)?;
    Ok(match next {
        Next::SignIn { request_id } if answer == Answer::Redirect => {
            see_other(&format!("/signin?r={}", enc(&request_id)))
        }
        next => next_response(&req, &state, next),
    })
}

#[derive(Deserialize)]
pub struct RequestQuery {
    r: Option<String>,
    login_hint: Option<String>,
    /// The enrollment page's notice after removing a lost passkey.
    done: Option<String>,
}

/// Where to go after signing in: the stored request, or the signed-in page.
fn resume_url(r: &str) -> String {
    if r.is_empty() {
        "/account/security".into()
    } else {
        format!("/authorize/resume?r={}", enc(r))
    }
}

/// The sign-in page's notice when the browser's session is not the
/// account the application asked for (`id_token_hint`).
const OTHER_ACCOUNT: &str = "The application asked for a different account than the one you are signed in with. Sign in with the account the application expects.";

/// What the sign-in page says about the stored request `r`: the name to
/// prefill, the application's name, and a notice.
struct Pending {
    login_hint: Option<String>,
    app_name: Option<String>,
    notice: Option<&'static str>,
}

async fn pending(req: &HttpRequest, state: &AppState, r: &str) -> Result<Pending, PageError> {
    let read = actix_web::HttpMessage::extensions(req)
        .get::<crate::web::i18n::ReadRequest>()
        .filter(|read| read.id == r)
        .map(|read| read.request.clone());
    let pending = match read {
        Some(request) => request,
        None => std::sync::Arc::new(state.authorize.pending(r).await.map_err(page)?),
    };
    // Signed in, but not as the user the application's id_token_hint
    // names: say why the sign-in page is back.
    let secret = state.cookies.session(req);
    let other = state
        .authorize
        .signed_in_as_other(&pending, secret.as_deref())
        .await
        .map_err(page)?;
    let client = state.ctx.clients.find(&pending.client_id).await;
    Ok(Pending {
        app_name: client.ok().flatten().map(|c| c.display_name()),
        login_hint: pending.login_hint.clone(),
        notice: other.then_some(OTHER_ACCOUNT),
    })
}

/// GET `/signin`.
pub async fn signin_page(
    req: HttpRequest,
    query: web::Query<RequestQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let r = query.r.as_deref().unwrap_or_default();
    let about = match r {
        "" => None,
        r => Some(pending(&req, &state, r).await?),
    };
    let username = query
        .login_hint
        .clone()
        .filter(|h| !h.is_empty())
        .or_else(|| about.as_ref().and_then(|p| p.login_hint.clone()))
        .unwrap_or_default();
    // Only with a pending authorization request: the bare page (the
    // account's own sign-in) writes nothing, as before, and asks when used.
    let passkey = match about {
        Some(_) => page_ceremony(&state).await,
        None => None,
    };
    Ok(signin_response(
        &req,
        &state,
        &SignInView {
            request_id: r,
            username: &username,
            app_name: about.as_ref().and_then(|p| p.app_name.as_deref()),
            notice: about.as_ref().and_then(|p| p.notice),
            passkey: passkey.as_ref(),
        },
    ))
}

/// What a sign-in page shows, whichever request answers with it.
struct SignInView<'a> {
    request_id: &'a str,
    username: &'a str,
    app_name: Option<&'a str>,
    notice: Option<&'static str>,
    passkey: Option<&'a PageCeremony>,
}

/// The sign-in page, with the CSRF cookie its forms need.
fn signin_response(req: &HttpRequest, state: &AppState, view: &SignInView<'_>) -> HttpResponse {
    let (csrf, cookie) = state.cookies.csrf(req, &*state.ctx.rng);
    let body = SignInPage {
        csrf: &csrf,
        request_id: view.request_id,
        username: view.username,
        app_name: view.app_name,
        error: view.notice,
        passkey: view.passkey,
    };
    with_cookie(html(StatusCode::OK, &body), cookie.as_ref())
}

/// The passkey ceremony the sign-in page's autofill (conditional) request
/// answers, started with the page so the browser does not have to ask for
/// it (one request less per sign-in; the button still asks for its own).
/// None where passkeys are off, or when it could not be started: the page
/// then asks, as it did before.
async fn page_ceremony(state: &AppState) -> Option<PageCeremony> {
    match state.signin.passkey_options().await {
        Ok(started) => page_ceremony_of(started),
        Err(SignInError::PasskeysUnavailable) => None,
        Err(e) => {
            tracing::warn!(error = %e, "the sign-in page's passkey ceremony could not be started");
            None
        }
    }
}

/// A started ceremony as the page carries it (its options as JSON text).
fn page_ceremony_of(started: PasskeyCeremony) -> Option<PageCeremony> {
    match serde_json::to_string(&started.options) {
        Ok(options) => Some(PageCeremony {
            options,
            id: started.id,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "the sign-in page's passkey options did not serialise");
            None
        }
    }
}

#[derive(Deserialize)]
pub struct UsernameForm {
    csrf: Option<String>,
    r: Option<String>,
    username: Option<String>,
}

/// POST `/signin`: the user name step. Every name gets the same next page.
pub async fn signin_username(form: PageForm<UsernameForm>) -> HttpResponse {
    let r = form.r.as_deref().unwrap_or_default();
    let username = form.username.as_deref().unwrap_or_default().trim();
    let csrf = form.csrf.as_deref().unwrap_or_default();
    if username.is_empty() || username.len() > 128 {
        return html(
            StatusCode::BAD_REQUEST,
            &SignInPage {
                csrf,
                request_id: r,
                username,
                app_name: None,
                error: Some("Enter your user name, e.g. name@example.com."),
                passkey: None,
            },
        );
    }
    let page = TapPage {
        csrf,
        request_id: r,
        username,
        error: None,
        error_at: None,
    };
    html(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct TapForm {
    csrf: Option<String>,
    r: Option<String>,
    username: Option<String>,
    passcode: Option<String>,
}

/// How long to wait, rounded up: minutes, or hours for long locks.
fn wait(seconds: i64) -> String {
    match (seconds + 59) / 60 {
        m if m < 120 => i18n::tn("wait-minutes", "n", m),
        m => i18n::tn("wait-hours", "n", (m + 59) / 60),
    }
}

/// A refused pass in words for the person: status, sentence, and how long
/// to wait before trying again (`Retry-After`), if that helps.
fn tap_refusal(e: &SignInError, now: OffsetDateTime) -> (StatusCode, String, Option<u64>) {
    let say = |status, text: &str| (status, text.to_owned(), None);
    match e {
        SignInError::WrongPass => say(
            StatusCode::UNAUTHORIZED,
            "That user name and Temporary Access Pass don't match. Check the pass and try again.",
        ),
        SignInError::Locked { until } => {
            let seconds = (*until - now).whole_seconds().max(1);
            let text = i18n::t1("tap-locked", "wait", wait(seconds));
            (
                StatusCode::TOO_MANY_REQUESTS,
                text,
                Some(seconds.unsigned_abs()),
            )
        }
        SignInError::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Onramp is busy right now. Wait a moment, then try again.".to_owned(),
            Some(2),
        ),
        SignInError::NotYetValid { .. } => say(
            StatusCode::UNAUTHORIZED,
            "This Temporary Access Pass is not valid yet. It starts at",
        ),
        SignInError::Expired => say(
            StatusCode::UNAUTHORIZED,
            "This Temporary Access Pass has expired. Ask your administrator for a new one.",
        ),
        SignInError::AlreadyUsed => say(
            StatusCode::UNAUTHORIZED,
            "This one-time Temporary Access Pass has already been used. Ask your administrator for a new one.",
        ),
        SignInError::DisabledByPolicy => say(
            StatusCode::FORBIDDEN,
            "Sign-in with a Temporary Access Pass is turned off for your account.",
        ),
        SignInError::AccountDisabled => say(
            StatusCode::FORBIDDEN,
            "Your account is disabled. Contact your administrator.",
        ),
        other => say(StatusCode::BAD_REQUEST, &other.to_string()),
    }
}

/// POST `/signin/tap`.
pub async fn signin_tap(
    form: PageForm<TapForm>,
    meta: RequestMeta,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let PageForm(TapForm {
        csrf,
        r,
        username,
        passcode,
    }) = form;
    let (r, username) = (r.unwrap_or_default(), username.unwrap_or_default());
    let result = state
        .signin
        .sign_in_with_tap(&username, passcode.as_deref().unwrap_or_default(), &meta)
        .await;
    let now = state.ctx.clock.now();
    let e = match result {
        Ok((secret, session)) => {
            let max_age = (session.expires_at - now).whole_seconds();
            // After a TAP, always offer enrollment ("lost my phone" needs a
            // new passkey); people who already have one may skip it.
            let mut res = see_other(&format!("/enroll?r={}", enc(&r)));
            let _ = res.add_cookie(&state.cookies.session_cookie(secret, max_age));
            return Ok(res);
        }
        Err(SignInError::Other(e)) => return Err(page(e)),
        Err(e) => e,
    };
    Ok(refused_tap(&e, now, csrf.as_deref(), &r, &username))
}

/// The pass page again, saying why the pass was refused.
fn refused_tap(
    e: &SignInError,
    now: OffsetDateTime,
    csrf: Option<&str>,
    r: &str,
    username: &str,
) -> HttpResponse {
    let (status, message, retry) = tap_refusal(e, now);
    let body = TapPage {
        csrf: csrf.unwrap_or_default(),
        request_id: r,
        username,
        error: Some(&message),
        error_at: match e {
            SignInError::NotYetValid { start } => Some(LocalTime(*start)),
            _ => None,
        },
    };
    let mut res = html(status, &body);
    if let Some(seconds) = retry {
        res.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
    }
    res
}

/// GET `/authorize/resume`: continue the stored request after sign-in.
pub async fn resume(
    req: HttpRequest,
    query: web::Query<RequestQuery>,
    meta: RequestMeta,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let r = query.r.as_deref().unwrap_or_default();
    let secret = state.cookies.session(&req);
    let next = state
        .authorize
        .resume(r, secret.as_deref(), &meta)
        .await
        .map_err(page)?;
    Ok(next_response(&req, &state, next))
}

/// GET `/signed-in`: where a sign-in without an application lands.
pub async fn signed_in() -> HttpResponse {
    found("/account/security")
}

// ---- enrollment ----

/// The browser's live session; without one, on to sign in for request `r`.
async fn signed_in_for(
    req: &HttpRequest,
    state: &AppState,
    r: &str,
) -> Result<crate::service::session::Live, PageError> {
    let session = match state.cookies.session(req) {
        Some(s) => state.signin_sessions.get(&s).await.map_err(page)?,
        None => None,
    };
    session.ok_or_else(|| PageError::sign_in(format!("/signin?r={}", enc(r))))
}

/// GET `/enroll`: the passkey registration page, while the session may
/// still register one.
pub async fn enroll_page(
    req: HttpRequest,
    query: web::Query<RequestQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let r = query.r.as_deref().unwrap_or_default();
    let session = signed_in_for(&req, &state, r).await?;
    // Someone the passkey policy does not let register one is not offered
    // the step at all: on with the sign-in.
    if let Ok(false) = state.enrollment.allowed(&session.user_id).await {
        return Ok(found(&resume_url(r)));
    }
    let now = state.ctx.clock.now();
    let deadline = session
        .enrollment_deadline
        .filter(|_| session.can_enroll(now))
        .ok_or_else(|| window_over(r))?;
    let must = state.authorize.must_enroll(&session.user_id).await;
    let passkeys = state.account.passkeys(&session).await.map_err(page)?;
    let (csrf, cookie) = state.cookies.csrf(&req, &*state.ctx.rng);
    let left = (deadline - now).whole_seconds();
    let body = EnrollPage {
        csrf: &csrf,
        request_id: r,
        minutes_left: (left + 59) / 60,
        seconds_left: left,
        can_skip: !must.unwrap_or(true),
        passkeys: passkeys.into_iter().map(passkey_row).collect(),
        notice: match query.done.as_deref() {
            Some("removed") => Some("The passkey was removed. Set up a new one now."),
            Some("gone") => Some("That passkey no longer exists."),
            _ => None,
        },
    };
    Ok(with_cookie(html(StatusCode::OK, &body), cookie.as_ref()))
}

pub(crate) fn window_over(r: &str) -> PageError {
    PageError::Page {
        status: StatusCode::FORBIDDEN,
        title: "The time to set up a passkey is over",
        detail: "For your security, a passkey can only be set up shortly after signing in with a Temporary Access Pass. Sign in again with your pass, or ask your administrator for a new one.".into(),
        link: Some((format!("/signin?r={}", enc(r)), "Sign in again")),
    }
}

fn json_ok(value: serde_json::Value) -> HttpResponse {
    json_text(value.to_string())
}

fn json_text(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// Where the page's script goes next: back into the authorization request.
fn json_resume(r: Option<&str>) -> HttpResponse {
    json_ok(serde_json::json!({ "redirect": resume_url(r.unwrap_or_default()) }))
}

/// A ceremony's options and the id to finish it with.
fn ceremony_json(options: impl serde::Serialize, ceremony: String) -> HttpResponse {
    json_ok(serde_json::json!({ "options": options, "ceremony": ceremony }))
}

#[derive(Deserialize)]
pub struct CeremonyStart {
    #[serde(default)]
    r: Option<String>,
    /// Members this call does not take: refused by name, never ignored.
    #[serde(flatten)]
    unknown: serde_json::Map<String, serde_json::Value>,
}

/// POST `/enroll/options` (JSON).
pub async fn enroll_options(
    _csrf: ScriptCsrf,
    ScriptSession(session): ScriptSession,
    _body: web::Json<CeremonyStart>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ScriptError> {
    let (options, ceremony) = state.enrollment.options(&session).await?;
    Ok(ceremony_json(options, ceremony))
}

#[derive(Deserialize)]
pub struct EnrollFinish {
    #[serde(default)]
    r: Option<String>,
    ceremony: String,
    credential: webauthn_rs::prelude::RegisterPublicKeyCredential,
}

/// POST `/enroll/finish` (JSON).
pub async fn enroll_finish(
    _csrf: ScriptCsrf,
    ScriptSession(session): ScriptSession,
    body: web::Json<EnrollFinish>,
    meta: RequestMeta,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ScriptError> {
    let enrolled = state
        .enrollment
        .finish(&session, &body.ceremony, &body.credential, &meta)
        .await?;
    let r = body.r.as_deref().unwrap_or_default();
    if enrolled.first_in_session {
        let done = format!("/enroll/done?r={}", enc(r));
        return Ok(json_ok(serde_json::json!({ "redirect": done })));
    }
    Ok(json_resume(Some(r)))
}

/// GET `/enroll/done`: "You're all set", after the first passkey of a TAP
/// sign-in, with the way on (to the application, or to security info).
pub async fn enroll_done(
    req: HttpRequest,
    query: web::Query<RequestQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let r = query.r.as_deref().unwrap_or_default();
    signed_in_for(&req, &state, r).await?;
    let app_name = match r {
        "" => None,
        r => pending(&req, &state, r).await?.app_name,
    };
    let body = AllSetPage {
        csrf: "",
        continue_url: &resume_url(r),
        app_name: app_name.as_deref(),
    };
    Ok(html(StatusCode::OK, &body))
}

#[derive(Deserialize)]
pub struct SkipForm {
    r: Option<String>,
}

/// POST `/enroll/skip`: only for people who already have a passkey.
pub async fn enroll_skip(form: PageForm<SkipForm>) -> HttpResponse {
    see_other(&resume_url(form.r.as_deref().unwrap_or_default()))
}

// ---- passkey sign-in ----

pub async fn passkey_options(
    _csrf: ScriptCsrf,
    body: web::Json<CeremonyStart>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ScriptError> {
    let _ = &body.r;
    // The ceremony is always usernameless; a user name would be ignored,
    // and a caller relying on it would be misled.
    if body.unknown.contains_key("username") {
        return Err(ScriptError::bad_request(
            "`username` is not accepted: passkey sign-in is usernameless (the browser offers the passkeys it holds)",
        ));
    }
    if let Some(name) = body.unknown.keys().next() {
        return Err(ScriptError::bad_request(format!("unknown field `{name}`")));
    }
    let started = state.signin.passkey_options().await?;
    let body = serde_json::to_string(&started).map_err(|e| DomainError::Internal(e.to_string()))?;
    Ok(json_text(body))
}

#[derive(Deserialize)]
pub struct PasskeyFinish {
    #[serde(default)]
    r: Option<String>,
    ceremony: String,
    credential: webauthn_rs::prelude::PublicKeyCredential,
}

pub async fn passkey_finish(
    _csrf: ScriptCsrf,
    body: web::Json<PasskeyFinish>,
    meta: RequestMeta,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ScriptError> {
    let done = state
        .signin
        .sign_in_with_passkey(&body.ceremony, &body.credential, body.r.as_deref(), &meta)
        .await?;
    let max_age = (done.session.expires_at - state.ctx.clock.now()).whole_seconds();
    let mut res = match done.redirect {
        // Straight back to the application with its code.
        Some(url) => json_ok(serde_json::json!({ "redirect": url })),
        None => json_resume(body.r.as_deref()),
    };
    let _ = res.add_cookie(&state.cookies.session_cookie(done.secret, max_age));
    Ok(res)
}
