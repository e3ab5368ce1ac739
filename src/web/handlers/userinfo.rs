//! `/userinfo` (OIDC Core §5.3): GET or POST, bearer header or form body
//! (RFC 6750 §2.1, §2.2).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::service::token::BearerError;
use crate::state::AppState;

fn challenge(status: StatusCode, error: Option<&str>, description: &str) -> HttpResponse {
    let value = match error {
        Some(e) => {
            format!("Bearer realm=\"onramp\", error=\"{e}\", error_description=\"{description}\"")
        }
        None => "Bearer realm=\"onramp\"".to_owned(),
    };
    HttpResponse::build(status)
        .insert_header((header::WWW_AUTHENTICATE, value))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .content_type("application/json")
        .body(serde_json::json!({ "error": error.unwrap_or("invalid_request"), "error_description": description }).to_string())
}

pub async fn userinfo(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let header_token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    let body_token = if req.method() == actix_web::http::Method::POST {
        url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.into_owned())
    } else {
        None
    };
    let token = match (header_token, body_token) {
        (Some(_), Some(_)) => {
            return challenge(
                StatusCode::BAD_REQUEST,
                Some("invalid_request"),
                "send the token in one place only",
            );
        }
        (Some(t), None) | (None, Some(t)) => t,
        (None, None) => {
            return challenge(
                StatusCode::UNAUTHORIZED,
                None,
                "a bearer access token is required",
            );
        }
    };
    match state.userinfo.claims(&token).await {
        Ok(claims) => HttpResponse::Ok()
            .content_type("application/json")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .body(claims.to_string()),
        Err(BearerError::Unavailable(_)) => HttpResponse::ServiceUnavailable()
            .content_type("application/json")
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .body(r#"{"error":"temporarily_unavailable","error_description":"retry shortly"}"#),
        Err(e) => challenge(
            StatusCode::UNAUTHORIZED,
            Some("invalid_token"),
            &e.to_string(),
        ),
    }
}
