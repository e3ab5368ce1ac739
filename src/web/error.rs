//! The one place where errors become HTTP responses.
//!
//! - OAuth endpoints: RFC 6749 §5.2 JSON (`error`, `error_description`).
//! - Admin API: RFC 9457 problem details with a stable `code`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::borrow::Cow;

use crate::domain::DomainError;
use crate::domain::oauth::{OAuthError, OAuthErrorCode};
use crate::service::token::BearerError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// An error of an OAuth endpoint (token).
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// An error of the admin API.
    #[error(transparent)]
    Api(#[from] DomainError),
    /// The admin API's bearer token is missing or bad.
    #[error("{0}")]
    Unauthorized(Cow<'static, str>),
    /// A request the admin API cannot parse.
    #[error("{detail}")]
    BadRequest {
        code: &'static str,
        status: StatusCode,
        detail: String,
    },
}

impl From<BearerError> for WebError {
    fn from(e: BearerError) -> Self {
        match e {
            BearerError::Unavailable(m) => WebError::Api(DomainError::Unavailable(m)),
            other => WebError::Unauthorized(other.to_string().into()),
        }
    }
}

#[derive(Serialize)]
struct OAuthBody<'a> {
    error: &'static str,
    error_description: &'a str,
}

#[derive(Serialize)]
pub struct Problem<'a> {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'a str,
    pub status: u16,
    pub detail: &'a str,
    pub code: &'a str,
}

pub fn oauth_status(code: OAuthErrorCode) -> StatusCode {
    match code {
        OAuthErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
        OAuthErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        OAuthErrorCode::SlowDown => StatusCode::TOO_MANY_REQUESTS,
        OAuthErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl WebError {
    fn problem_parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            WebError::Api(e) => match e {
                DomainError::Invalid { .. } => {
                    (StatusCode::BAD_REQUEST, "invalid_request", e.to_string())
                }
                DomainError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", e.to_string()),
                DomainError::Conflict(_) => (StatusCode::CONFLICT, "conflict", e.to_string()),
                DomainError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", e.to_string()),
                DomainError::Unavailable(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the server cannot reach its store; retry shortly".into(),
                ),
                DomainError::Internal(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "internal error".into(),
                ),
            },
            WebError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m.to_string()),
            WebError::BadRequest {
                code,
                status,
                detail,
            } => (*status, code, detail.clone()),
            WebError::OAuth(_) => (StatusCode::BAD_REQUEST, "invalid_request", String::new()),
        }
    }
}

pub fn problem_response(status: StatusCode, code: &str, detail: &str) -> HttpResponse {
    let body = Problem {
        kind: format!("urn:onramp:problem:{code}"),
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
        code,
    };
    HttpResponse::build(status)
        .content_type("application/problem+json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(serde_json::to_vec(&body).unwrap_or_default())
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::OAuth(e) => oauth_status(e.code),
            other => other.problem_parts().0,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            WebError::OAuth(e) => {
                if e.code == OAuthErrorCode::ServerError {
                    tracing::error!(error = %e, "token endpoint failure");
                }
                let body = OAuthBody {
                    error: e.code.as_str(),
                    error_description: &e.description,
                };
                let mut res = HttpResponse::build(oauth_status(e.code));
                res.insert_header((header::CACHE_CONTROL, "no-store"))
                    .insert_header((header::PRAGMA, "no-cache"))
                    .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
                if e.code == OAuthErrorCode::InvalidClient && e.basic_challenge {
                    res.insert_header((
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"onramp\", charset=\"UTF-8\""),
                    ));
                }
                if e.code == OAuthErrorCode::SlowDown {
                    res.insert_header((header::RETRY_AFTER, "1"));
                }
                if e.code == OAuthErrorCode::TemporarilyUnavailable {
                    res.insert_header((header::RETRY_AFTER, "5"));
                }
                res.content_type("application/json")
                    .body(serde_json::to_vec(&body).unwrap_or_default())
            }
            other => {
                let (status, code, detail) = other.problem_parts();
                if status == StatusCode::INTERNAL_SERVER_ERROR {
                    tracing::error!(error = %other, "admin API failure");
                }
                let mut res = problem_response(status, code, &detail);
                if let WebError::Unauthorized(m) = other {
                    let challenge = if m.contains("missing") {
                        "Bearer realm=\"onramp\"".to_owned()
                    } else {
                        format!(
                            "Bearer realm=\"onramp\", error=\"invalid_token\", error_description=\"{m}\""
                        )
                    };
                    if let Ok(v) = HeaderValue::from_str(&challenge) {
                        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                    }
                }
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    res.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                }
                res
            }
        }
    }
}
