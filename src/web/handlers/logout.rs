//! `/logout`: the end-session endpoint (RP-Initiated Logout 1.0), GET and POST.

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::service::logout::{LogoutNext, LogoutRequest};
use crate::state::AppState;
use crate::web::pages::{LogoutPage, MessagePage, error_page, found, html};

pub async fn logout(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let raw: Vec<(String, String)> = if req.method() == Method::POST {
        url::form_urlencoded::parse(&body).into_owned().collect()
    } else {
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .into_owned()
            .collect()
    };
    let get = |k: &str| {
        raw.iter()
            .find(|(n, v)| n == k && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let confirmed = req.method() == Method::POST
        && get("confirm").as_deref() == Some("yes")
        && state.cookies.csrf_ok(&req, get("csrf").as_deref());
    let request = LogoutRequest {
        id_token_hint: get("id_token_hint"),
        client_id: get("client_id"),
        post_logout_redirect_uri: get("post_logout_redirect_uri"),
        state: get("state"),
        confirmed,
    };
    let secret = state.cookies.session(&req);
    let next = match state.logout.end_session(&request, secret.as_deref()).await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "logout failed");
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "Please try again shortly.",
                None,
            );
        }
    };
    match next {
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
            let mut res = html(
                StatusCode::OK,
                &LogoutPage {
                    csrf: &csrf,
                    client_name: client_name.as_deref(),
                    client_id: client_id.as_deref(),
                    post_logout_redirect_uri: request.post_logout_redirect_uri.as_deref(),
                    state: request.state.as_deref(),
                },
            );
            if let Some(c) = cookie {
                let _ = res.add_cookie(&c);
            }
            res
        }
        LogoutNext::Done { redirect } => {
            let mut res = match redirect {
                Some(url) => found(&url),
                None => html(
                    StatusCode::OK,
                    &MessagePage {
                        csrf: "",
                        title: "You're signed out",
                        detail: "You have been signed out of Onramp on this browser.",
                        is_error: false,
                        link: None,
                    },
                ),
            };
            let _ = res.add_removal_cookie(&state.cookies.session_cookie(String::new(), 0));
            res
        }
    }
}
