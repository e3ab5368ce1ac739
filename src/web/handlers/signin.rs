//! The browser side of sign-in: `/authorize`, the user name and TAP pages,
//! passkey sign-in, enrollment, and resuming the authorization request.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;

use crate::domain::DomainError;
use crate::service::authorize::{Next, Params};
use crate::service::enrollment::EnrollError;
use crate::service::signin::SignInError;
use crate::state::AppState;
use crate::web::pages::{EnrollPage, SignInPage, TapPage, enc, error_page, found, html, see_other};
use crate::web::request_meta;

fn domain_page(e: &DomainError) -> HttpResponse {
    match e {
        DomainError::NotFound(_) => error_page(
            StatusCode::BAD_REQUEST,
            "This sign-in has expired",
            "The sign-in request is no longer valid. Go back to the application and start again.",
            None,
        ),
        DomainError::Unavailable(_) => error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "Sign-in is unavailable for a moment. Please try again shortly.",
            None,
        ),
        DomainError::Forbidden(m) => error_page(StatusCode::FORBIDDEN, "Access denied", m, None),
        other => {
            tracing::error!(error = %other, "sign-in failure");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again.",
                None,
            )
        }
    }
}

fn next_response(next: Next) -> HttpResponse {
    match next {
        Next::ErrorPage { title, detail } => {
            error_page(StatusCode::BAD_REQUEST, title, &detail, None)
        }
        Next::Redirect(url) => found(&url),
        Next::SignIn { request_id } => found(&format!("/signin?r={}", enc(&request_id))),
        Next::Enroll { request_id } => found(&format!("/enroll?r={}", enc(&request_id))),
    }
}

/// GET and POST `/authorize`.
pub async fn authorize(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let pairs: Vec<(String, String)> = if req.method() == actix_web::http::Method::POST {
        url::form_urlencoded::parse(&body).into_owned().collect()
    } else {
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .into_owned()
            .collect()
    };
    let params = Params::from_pairs(pairs);
    let secret = state.cookies.session(&req);
    match state
        .authorize
        .authorize(&params, secret.as_deref(), &request_meta(&req))
        .await
    {
        Ok(next) => next_response(next),
        Err(e) => domain_page(&e),
    }
}

#[derive(Deserialize)]
pub struct RequestQuery {
    r: Option<String>,
    login_hint: Option<String>,
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

pub async fn signin_page(
    req: HttpRequest,
    query: web::Query<RequestQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let r = query.r.clone().unwrap_or_default();
    let (mut username, mut app_name) = (query.login_hint.clone().unwrap_or_default(), None);
    let mut error = None;
    if !r.is_empty() {
        match state.authorize.pending(&r).await {
            Ok(pending) => {
                // Signed in, but not as the user the application's
                // id_token_hint names: say why the sign-in page is back.
                let secret = state.cookies.session(&req);
                match state
                    .authorize
                    .signed_in_as_other(&pending, secret.as_deref())
                    .await
                {
                    Ok(true) => error = Some(OTHER_ACCOUNT),
                    Ok(false) => {}
                    Err(e) => return domain_page(&e),
                }
                if username.is_empty() {
                    username = pending.login_hint.clone().unwrap_or_default();
                }
                app_name = state
                    .ctx
                    .clients
                    .find(&pending.client_id)
                    .await
                    .ok()
                    .flatten()
                    .map(|c| c.name.clone().unwrap_or_else(|| c.id.clone()));
            }
            Err(e) => return domain_page(&e),
        }
    }
    let (csrf, cookie) = state.cookies.csrf(&req, &*state.ctx.rng);
    let mut res = html(
        StatusCode::OK,
        &SignInPage {
            csrf: &csrf,
            request_id: &r,
            username: &username,
            app_name: app_name.as_deref(),
            error,
        },
    );
    if let Some(c) = cookie {
        let _ = res.add_cookie(&c);
    }
    res
}

#[derive(Deserialize)]
pub struct UsernameForm {
    csrf: Option<String>,
    r: Option<String>,
    username: Option<String>,
}

fn csrf_failed() -> HttpResponse {
    error_page(
        StatusCode::FORBIDDEN,
        "Please try again",
        "This form expired or came from somewhere else. Go back, reload the page and try again.",
        None,
    )
}

/// POST `/signin`: the user name step. Every name gets the same next page.
pub async fn signin_username(
    req: HttpRequest,
    form: web::Form<UsernameForm>,
    state: web::Data<AppState>,
) -> HttpResponse {
    if !state.cookies.csrf_ok(&req, form.csrf.as_deref()) {
        return csrf_failed();
    }
    let r = form.r.clone().unwrap_or_default();
    let username = form.username.clone().unwrap_or_default();
    let username = username.trim();
    let csrf = form.csrf.clone().unwrap_or_default();
    if username.is_empty() || username.len() > 128 {
        return html(
            StatusCode::BAD_REQUEST,
            &SignInPage {
                csrf: &csrf,
                request_id: &r,
                username,
                app_name: None,
                error: Some("Enter your user name, e.g. name@example.com."),
            },
        );
    }
    html(
        StatusCode::OK,
        &TapPage {
            csrf: &csrf,
            request_id: &r,
            username,
            error: None,
        },
    )
}

#[derive(Deserialize)]
pub struct TapForm {
    csrf: Option<String>,
    r: Option<String>,
    username: Option<String>,
    passcode: Option<String>,
}

fn retry_after(res: &mut HttpResponse, seconds: u64) {
    res.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
}

fn when(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// POST `/signin/tap`.
pub async fn signin_tap(
    req: HttpRequest,
    form: web::Form<TapForm>,
    state: web::Data<AppState>,
) -> HttpResponse {
    if !state.cookies.csrf_ok(&req, form.csrf.as_deref()) {
        return csrf_failed();
    }
    let csrf = form.csrf.clone().unwrap_or_default();
    let r = form.r.clone().unwrap_or_default();
    let username = form.username.clone().unwrap_or_default();
    let passcode = form.passcode.clone().unwrap_or_default();
    let page = |status: StatusCode, message: &str| {
        html(
            status,
            &TapPage {
                csrf: &csrf,
                request_id: &r,
                username: &username,
                error: Some(message),
            },
        )
    };
    match state
        .signin
        .sign_in_with_tap(&username, &passcode, &request_meta(&req))
        .await
    {
        Ok((secret, session)) => {
            let max_age = (session.expires_at - state.ctx.clock.now()).whole_seconds();
            // After a TAP, always offer enrollment ("lost my phone" needs a
            // new passkey); people who already have one may skip it.
            let mut res = see_other(&format!("/enroll?r={}", enc(&r)));
            let _ = res.add_cookie(&state.cookies.session_cookie(secret, max_age));
            res
        }
        Err(SignInError::WrongPass) => page(
            StatusCode::UNAUTHORIZED,
            "That user name and Temporary Access Pass don't match. Check the pass and try again.",
        ),
        Err(SignInError::Locked { until }) => {
            let minutes = ((until - state.ctx.clock.now()).whole_seconds() + 59) / 60;
            let mut res = page(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "Too many failed attempts. Sign-in is locked until {} (UTC): try again in {} {}.",
                    when(until),
                    minutes.max(1),
                    if minutes > 1 { "minutes" } else { "minute" }
                ),
            );
            retry_after(&mut res, (minutes.max(1) * 60) as u64);
            res
        }
        Err(SignInError::Busy) => {
            let mut res = page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Onramp is busy right now. Wait a moment, then try again.",
            );
            retry_after(&mut res, 2);
            res
        }
        Err(SignInError::NotYetValid { start }) => page(
            StatusCode::UNAUTHORIZED,
            &format!(
                "This Temporary Access Pass is not valid yet. It starts at {} (UTC).",
                when(start)
            ),
        ),
        Err(SignInError::Expired) => page(
            StatusCode::UNAUTHORIZED,
            "This Temporary Access Pass has expired. Ask your administrator for a new one.",
        ),
        Err(SignInError::AlreadyUsed) => page(
            StatusCode::UNAUTHORIZED,
            "This one-time Temporary Access Pass has already been used. Ask your administrator for a new one.",
        ),
        Err(SignInError::DisabledByPolicy) => page(
            StatusCode::FORBIDDEN,
            "Sign-in with a Temporary Access Pass is turned off for your account.",
        ),
        Err(SignInError::AccountDisabled) => page(
            StatusCode::FORBIDDEN,
            "Your account is disabled. Contact your administrator.",
        ),
        Err(SignInError::Other(e)) => domain_page(&e),
        Err(other) => page(StatusCode::BAD_REQUEST, &other.to_string()),
    }
}

/// GET `/authorize/resume`: continue the stored request after sign-in.
pub async fn resume(
    req: HttpRequest,
    query: web::Query<RequestQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let r = query.r.clone().unwrap_or_default();
    let secret = state.cookies.session(&req);
    match state
        .authorize
        .resume(&r, secret.as_deref(), &request_meta(&req))
        .await
    {
        Ok(next) => next_response(next),
        Err(e) => domain_page(&e),
    }
}

/// GET `/signed-in`: where a sign-in without an application lands.
pub async fn signed_in() -> HttpResponse {
    found("/account/security")
}

// ---- enrollment ----

pub async fn enroll_page(
    req: HttpRequest,
    query: web::Query<RequestQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let r = query.r.clone().unwrap_or_default();
    let secret = state.cookies.session(&req);
    let session = match secret {
        Some(s) => match state.signin_sessions.get(&s).await {
            Ok(s) => s,
            Err(e) => return domain_page(&e),
        },
        None => None,
    };
    let Some(session) = session else {
        return found(&format!("/signin?r={}", enc(&r)));
    };
    // Someone the passkey policy does not let register one is not offered
    // the step at all: on with the sign-in.
    if let Ok(false) = state.enrollment.allowed(&session.user_id).await {
        return found(&resume_url(&r));
    }
    let now = state.ctx.clock.now();
    let Some(deadline) = session
        .enrollment_deadline
        .filter(|_| session.can_enroll(now))
    else {
        return error_page(
            StatusCode::FORBIDDEN,
            "The time to set up a passkey is over",
            "For your security, a passkey can only be set up shortly after signing in with a Temporary Access Pass. Sign in again with your pass, or ask your administrator for a new one.",
            Some((&format!("/signin?r={}", enc(&r)), "Sign in again")),
        );
    };
    let can_skip = !state
        .authorize
        .must_enroll(&session.user_id)
        .await
        .unwrap_or(true);
    let (csrf, cookie) = state.cookies.csrf(&req, &*state.ctx.rng);
    let left = (deadline - now).whole_seconds();
    let mut res = html(
        StatusCode::OK,
        &EnrollPage {
            csrf: &csrf,
            request_id: &r,
            minutes_left: (left + 59) / 60,
            deadline_unix: deadline.unix_timestamp(),
            can_skip,
        },
    );
    if let Some(c) = cookie {
        let _ = res.add_cookie(&c);
    }
    res
}

fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(serde_json::json!({ "message": message }).to_string())
}

fn json_ok(value: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(value.to_string())
}

fn csrf_header(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
}

/// The JSON endpoints' CSRF check (token in `X-CSRF-Token`): the error to
/// answer, or `None` when the token matches the cookie.
fn json_csrf_refused(req: &HttpRequest, state: &AppState) -> Option<HttpResponse> {
    (!state.cookies.csrf_ok(req, csrf_header(req)))
        .then(|| json_error(StatusCode::FORBIDDEN, "Reload the page and try again."))
}

fn json_unavailable() -> HttpResponse {
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable; try again shortly.",
    )
}

/// Where the page's script goes next: back into the authorization request.
fn json_resume(r: Option<&str>) -> HttpResponse {
    json_ok(serde_json::json!({ "redirect": resume_url(r.unwrap_or_default()) }))
}

#[derive(Deserialize)]
pub struct CeremonyStart {
    #[serde(default)]
    r: Option<String>,
    /// Members this call does not take: refused by name, never ignored.
    #[serde(flatten)]
    unknown: serde_json::Map<String, serde_json::Value>,
}

async fn session_of(
    req: &HttpRequest,
    state: &AppState,
) -> Result<crate::domain::authz::Session, HttpResponse> {
    let secret = state.cookies.session(req).ok_or_else(|| {
        json_error(
            StatusCode::UNAUTHORIZED,
            "Your sign-in has ended; sign in again.",
        )
    })?;
    match state.signin_sessions.get(&secret).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(json_error(
            StatusCode::UNAUTHORIZED,
            "Your sign-in has ended; sign in again.",
        )),
        Err(_) => Err(json_unavailable()),
    }
}

fn enroll_error(e: &EnrollError) -> HttpResponse {
    match e {
        EnrollError::WindowOver | EnrollError::NotAllowed => {
            json_error(StatusCode::FORBIDDEN, &e.to_string())
        }
        EnrollError::Rejected(_) | EnrollError::CeremonyExpired => {
            json_error(StatusCode::BAD_REQUEST, &e.to_string())
        }
        EnrollError::PasskeysUnavailable => {
            json_error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string())
        }
        EnrollError::Other(DomainError::Unavailable(_)) => json_unavailable(),
        EnrollError::Other(other) => {
            tracing::error!(error = %other, "enrollment failure");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong; try again.",
            )
        }
    }
}

/// POST `/enroll/options` (JSON).
pub async fn enroll_options(
    req: HttpRequest,
    _body: web::Json<CeremonyStart>,
    state: web::Data<AppState>,
) -> HttpResponse {
    if let Some(refused) = json_csrf_refused(&req, &state) {
        return refused;
    }
    let session = match session_of(&req, &state).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    match state.enrollment.options(&session).await {
        Ok((options, ceremony)) => {
            json_ok(serde_json::json!({ "options": options, "ceremony": ceremony }))
        }
        Err(e) => enroll_error(&e),
    }
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
    req: HttpRequest,
    body: web::Json<EnrollFinish>,
    state: web::Data<AppState>,
) -> HttpResponse {
    if let Some(refused) = json_csrf_refused(&req, &state) {
        return refused;
    }
    let session = match session_of(&req, &state).await {
        Ok(s) => s,
        Err(res) => return res,
    };
    match state
        .enrollment
        .finish(
            &session,
            &body.ceremony,
            &body.credential,
            &request_meta(&req),
        )
        .await
    {
        Ok(_) => json_resume(body.r.as_deref()),
        Err(e) => enroll_error(&e),
    }
}

#[derive(Deserialize)]
pub struct SkipForm {
    csrf: Option<String>,
    r: Option<String>,
}

/// POST `/enroll/skip`: only for people who already have a passkey.
pub async fn enroll_skip(
    req: HttpRequest,
    form: web::Form<SkipForm>,
    state: web::Data<AppState>,
) -> HttpResponse {
    if !state.cookies.csrf_ok(&req, form.csrf.as_deref()) {
        return csrf_failed();
    }
    see_other(&resume_url(form.r.as_deref().unwrap_or_default()))
}

// ---- passkey sign-in ----

pub async fn passkey_options(
    req: HttpRequest,
    body: web::Json<CeremonyStart>,
    state: web::Data<AppState>,
) -> HttpResponse {
    if let Some(refused) = json_csrf_refused(&req, &state) {
        return refused;
    }
    let _ = &body.r;
    // The ceremony is always usernameless; a user name would be ignored,
    // and a caller relying on it would be misled.
    if body.unknown.contains_key("username") {
        return json_error(
            StatusCode::BAD_REQUEST,
            "`username` is not accepted: passkey sign-in is usernameless (the browser offers the passkeys it holds)",
        );
    }
    if let Some(name) = body.unknown.keys().next() {
        return json_error(StatusCode::BAD_REQUEST, &format!("unknown field `{name}`"));
    }
    match state.signin.passkey_options().await {
        Ok((options, ceremony)) => {
            json_ok(serde_json::json!({ "options": options, "ceremony": ceremony }))
        }
        Err(SignInError::Other(DomainError::Unavailable(_))) => json_unavailable(),
        Err(e) => json_error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

#[derive(Deserialize)]
pub struct PasskeyFinish {
    #[serde(default)]
    r: Option<String>,
    ceremony: String,
    credential: webauthn_rs::prelude::PublicKeyCredential,
}

pub async fn passkey_finish(
    req: HttpRequest,
    body: web::Json<PasskeyFinish>,
    state: web::Data<AppState>,
) -> HttpResponse {
    if let Some(refused) = json_csrf_refused(&req, &state) {
        return refused;
    }
    match state
        .signin
        .sign_in_with_passkey(&body.ceremony, &body.credential, &request_meta(&req))
        .await
    {
        Ok((secret, session)) => {
            let max_age = (session.expires_at - state.ctx.clock.now()).whole_seconds();
            let mut res = json_resume(body.r.as_deref());
            let _ = res.add_cookie(&state.cookies.session_cookie(secret, max_age));
            res
        }
        Err(SignInError::Other(DomainError::Unavailable(_))) => json_unavailable(),
        Err(SignInError::AccountDisabled) => {
            json_error(StatusCode::FORBIDDEN, "Your account is disabled.")
        }
        Err(e @ (SignInError::ModelNotAllowed | SignInError::PasskeyDisabledByPolicy)) => {
            json_error(StatusCode::FORBIDDEN, &e.to_string())
        }
        Err(e) => json_error(StatusCode::UNAUTHORIZED, &e.to_string()),
    }
}
