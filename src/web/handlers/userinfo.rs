//! `/userinfo` (OIDC Core §5.3): GET or POST, bearer header or form body
//! (RFC 6750 §2.1, §2.2).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::state::AppState;
use crate::web::error::BearerRefusal;

/// The access token, from the `Authorization` header or (POST) the form
/// body's `access_token`; in both places is a malformed request (§2).
fn presented_token(req: &HttpRequest, body: &[u8]) -> Result<String, BearerRefusal> {
    let header_token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    let body_token = (req.method() == actix_web::http::Method::POST)
        .then(|| {
            url::form_urlencoded::parse(body)
                .find(|(k, _)| k == "access_token")
                .map(|(_, v)| v.into_owned())
        })
        .flatten();
    match (header_token, body_token) {
        (Some(_), Some(_)) => Err(BearerRefusal::InvalidRequest(
            "send the token in one place only",
        )),
        (Some(t), None) | (None, Some(t)) => Ok(t),
        (None, None) => Err(BearerRefusal::Missing),
    }
}

pub async fn userinfo(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, BearerRefusal> {
    let token = presented_token(&req, &body)?;
    let claims = state.userinfo.claims(&token).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(claims.to_string()))
}
