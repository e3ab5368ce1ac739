//! The one place where errors become HTTP responses.
//!
//! - OAuth endpoints: RFC 6749 §5.2 JSON (`error`, `error_description`).
//! - Admin API: Microsoft Graph's error envelope
//!   (`{"error":{"code","message","innerError"}}`) with Graph's codes.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::borrow::Cow;

use crate::domain::DomainError;
use crate::domain::oauth::{OAuthError, OAuthErrorCode};
use crate::domain::odata::ODataError;
use crate::service::token::BearerError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// An error of an OAuth endpoint (token).
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// An error of the admin API.
    #[error(transparent)]
    Api(#[from] DomainError),
    /// The admin API's bearer token is missing (`None`) or bad.
    #[error("{}", .0.as_deref().unwrap_or("a bearer access token is missing"))]
    Unauthorized(Option<Cow<'static, str>>),
    /// A request the admin API cannot parse (body, path, method).
    #[error("{detail}")]
    BadRequest {
        code: &'static str,
        status: StatusCode,
        detail: String,
    },
    /// A query option the admin API does not support, or a bad one.
    #[error(transparent)]
    Query(#[from] ODataError),
    /// No resource `id` of this kind (Graph names the id in its message).
    #[error(
        "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
    )]
    Missing { what: &'static str, id: String },
}

impl From<BearerError> for WebError {
    fn from(e: BearerError) -> Self {
        match e {
            BearerError::Unavailable(m) => WebError::Api(DomainError::Unavailable(m)),
            other => WebError::Unauthorized(Some(other.to_string().into())),
        }
    }
}

impl WebError {
    /// A body that is not what the resource takes (Graph's 400).
    pub fn invalid_body(detail: impl Into<String>) -> Self {
        WebError::BadRequest {
            code: GRAPH_BAD_REQUEST,
            status: StatusCode::BAD_REQUEST,
            detail: detail.into(),
        }
    }

    /// A body that could not be read (too large, cut off).
    pub fn unreadable_body(e: actix_web::Error) -> Self {
        WebError::BadRequest {
            code: "Request_EntityTooLarge",
            status: StatusCode::PAYLOAD_TOO_LARGE,
            detail: format!("the body could not be read: {e}"),
        }
    }
}

/// Gives a missing resource the id it was asked by, for Graph's message:
/// `result.named(&[("user", &id)])`.
pub trait Named<T> {
    fn named(self, ids: &[(&'static str, &str)]) -> Result<T, WebError>;
}

impl<T, E: Into<WebError>> Named<T> for Result<T, E> {
    fn named(self, ids: &[(&'static str, &str)]) -> Result<T, WebError> {
        self.map_err(|e| match e.into() {
            WebError::Api(DomainError::NotFound(what)) => {
                match ids.iter().find(|(w, _)| *w == what) {
                    Some((what, id)) => WebError::Missing {
                        what,
                        id: (*id).to_owned(),
                    },
                    None => WebError::Api(DomainError::NotFound(what)),
                }
            }
            other => other,
        })
    }
}

/// Graph's code for a malformed request.
pub const GRAPH_BAD_REQUEST: &str = "Request_BadRequest";

#[derive(Serialize)]
struct OAuthBody<'a> {
    error: &'static str,
    error_description: &'a str,
}

/// Microsoft Graph's error body: `{"error":{"code","message","innerError"}}`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = GraphError)]
pub(crate) struct GraphBody<'a> {
    error: GraphErrorBody<'a>,
}

/// `code` is Graph's (`Request_BadRequest`, `Request_ResourceNotFound`,
/// `Authorization_RequestDenied`, ...); `message` says what was wrong.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = GraphErrorDetail)]
struct GraphErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(rename = "innerError")]
    inner_error: InnerError,
}

#[derive(Serialize, utoipa::ToSchema)]
struct InnerError {
    /// UTC without an offset, as Graph writes it.
    date: String,
    #[serde(rename = "request-id")]
    request_id: String,
    #[serde(rename = "client-request-id", skip_serializing_if = "Option::is_none")]
    client_request_id: Option<String>,
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
    /// Status, Graph code and message of an admin API error.
    fn graph_parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            WebError::Api(e) => match e {
                DomainError::Invalid { .. } => {
                    (StatusCode::BAD_REQUEST, GRAPH_BAD_REQUEST, e.to_string())
                }
                DomainError::NotFound(what) => (
                    StatusCode::NOT_FOUND,
                    "Request_ResourceNotFound",
                    format!("The {what} does not exist."),
                ),
                DomainError::Conflict(_) => (StatusCode::CONFLICT, "Conflict", e.to_string()),
                DomainError::Forbidden(m) => (
                    StatusCode::FORBIDDEN,
                    "Authorization_RequestDenied",
                    format!("Insufficient privileges to complete the operation: {m}"),
                ),
                DomainError::Unavailable(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "serviceNotAvailable",
                    "The server cannot reach its store right now; retry shortly.".into(),
                ),
                DomainError::Internal(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "generalException",
                    "An internal error occurred.".into(),
                ),
            },
            WebError::Unauthorized(m) => (
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                match m {
                    None => "Access token is empty.".to_owned(),
                    Some(m) => format!("Access token validation failure: {m}"),
                },
            ),
            WebError::BadRequest {
                code,
                status,
                detail,
            } => (*status, code, detail.clone()),
            WebError::Query(e) => (StatusCode::BAD_REQUEST, e.code_str(), e.message.clone()),
            WebError::Missing { .. } => (
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                self.to_string(),
            ),
            WebError::OAuth(_) => (StatusCode::BAD_REQUEST, GRAPH_BAD_REQUEST, String::new()),
        }
    }
}

/// Graph's error envelope, with the ids of the request being answered.
pub fn graph_response(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let ids = crate::web::handlers::api::envelope::current();
    let body = GraphBody {
        error: GraphErrorBody {
            code,
            message,
            inner_error: InnerError {
                date: ids.date,
                request_id: ids.request_id,
                client_request_id: ids.client_request_id,
            },
        },
    };
    HttpResponse::build(status)
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(serde_json::to_vec(&body).unwrap_or_default())
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::OAuth(e) => oauth_status(e.code),
            other => other.graph_parts().0,
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
                let (status, code, message) = other.graph_parts();
                if status == StatusCode::INTERNAL_SERVER_ERROR {
                    tracing::error!(error = %other, "admin API failure");
                }
                let mut res = graph_response(status, code, &message);
                if let WebError::Unauthorized(m) = other {
                    // RFC 6750 §3: no error code when no token was sent.
                    let challenge = match m {
                        None => "Bearer realm=\"onramp\"".to_owned(),
                        Some(m) => format!(
                            "Bearer realm=\"onramp\", error=\"invalid_token\", error_description=\"{m}\""
                        ),
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
