//! `/logout`: the end-session endpoint (RP-Initiated Logout 1.0), GET and POST.

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::service::logout::{LogoutNext, LogoutRequest};
use crate::state::AppState;
use crate::web::error::PageError;
use crate::web::pages::{LogoutPage, SignedOutPage, error_page, found, html, with_cookie};

/// The request's parameters (query, or form body of a POST; empty ones
/// omitted). Only a POST of the confirmation page, with its CSRF token,
/// counts as confirmed.
fn read_request(req: &HttpRequest, body: &[u8], state: &AppState) -> LogoutRequest {
    let post = req.method() == Method::POST;
    let source = if post {
        body
    } else {
        req.query_string().as_bytes()
    };
    let raw: Vec<(String, String)> = url::form_urlencoded::parse(source).into_owned().collect();
    let get = |k: &str| {
        raw.iter()
            .find(|(n, v)| n == k && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    LogoutRequest {
        confirmed: post
            && get("confirm").as_deref() == Some("yes")
            && state.cookies.csrf_ok(req, get("csrf").as_deref()),
        id_token_hint: get("id_token_hint"),
        client_id: get("client_id"),
        post_logout_redirect_uri: get("post_logout_redirect_uri"),
        state: get("state"),
    }
}

pub async fn logout(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let request = read_request(&req, &body, &state);
    let secret = state.cookies.session(&req);
    let next = state
        .logout
        .end_session(&request, secret.as_deref())
        .await
        .map_err(unavailable)?;
    Ok(match next {
        LogoutNext::Invalid(why) => error_page(
            StatusCode::BAD_REQUEST,
            "This sign-out link is not valid",
            why,
            None,
        ),
        LogoutNext::Confirm {
            client_name,
            client_id,
        } => {
            let (csrf, cookie) = state.cookies.csrf(&req, &*state.ctx.rng);
            let page = LogoutPage {
                csrf: &csrf,
                client_name: client_name.as_deref(),
                client_id: client_id.as_deref(),
                post_logout_redirect_uri: request.post_logout_redirect_uri.as_deref(),
                state: request.state.as_deref(),
            };
            with_cookie(html(StatusCode::OK, &page), cookie.as_ref())
        }
        LogoutNext::Done { redirect } => signed_out(&state, redirect.as_deref()),
    })
}

fn unavailable(e: impl std::fmt::Display) -> PageError {
    tracing::warn!(error = %e, "logout failed");
    PageError::Page {
        status: StatusCode::SERVICE_UNAVAILABLE,
        title: "Temporarily unavailable",
        detail: "Please try again shortly.".into(),
        link: None,
    }
}

/// Signed out: on to the application, or a page that says so; the
/// session cookie removed either way.
fn signed_out(state: &AppState, redirect: Option<&str>) -> HttpResponse {
    let mut res = match redirect {
        Some(url) => found(url),
        None => html(StatusCode::OK, &SignedOutPage { csrf: "" }),
    };
    let _ = res.add_removal_cookie(&state.cookies.session_cookie(String::new(), 0));
    res
}
