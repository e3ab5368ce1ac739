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

/// A refusal of a protected resource (userinfo) per RFC 6750 §3: the
/// `WWW-Authenticate` challenge, with an error code unless no token was
/// sent at all.
#[derive(Debug, thiserror::Error)]
pub enum BearerRefusal {
    /// No token: a bare challenge (§3.1 "SHOULD NOT include an error code").
    #[error("a bearer access token is required")]
    Missing,
    /// Malformed request, e.g. the token in two places (§3.1).
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// Expired, revoked or not ours.
    #[error("{0}")]
    InvalidToken(String),
    #[error("retry shortly")]
    Unavailable,
}

impl From<BearerError> for BearerRefusal {
    fn from(e: BearerError) -> Self {
        match e {
            BearerError::Unavailable(_) => BearerRefusal::Unavailable,
            other => BearerRefusal::InvalidToken(other.to_string()),
        }
    }
}

impl ResponseError for BearerRefusal {
    fn status_code(&self) -> StatusCode {
        match self {
            BearerRefusal::Missing | BearerRefusal::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            BearerRefusal::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            BearerRefusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let description = self.to_string();
        let code = match self {
            BearerRefusal::Missing => None,
            BearerRefusal::InvalidRequest(_) => Some("invalid_request"),
            BearerRefusal::InvalidToken(_) => Some("invalid_token"),
            BearerRefusal::Unavailable => Some("temporarily_unavailable"),
        };
        let body = OAuthBody {
            error: code.unwrap_or("invalid_request"),
            error_description: &description,
        };
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        if !matches!(self, BearerRefusal::Unavailable) {
            let challenge = match code {
                Some(code) => format!(
                    "Bearer realm=\"onramp\", error=\"{code}\", error_description=\"{description}\""
                ),
                None => "Bearer realm=\"onramp\"".to_owned(),
            };
            res.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        res.content_type("application/json")
            .body(serde_json::to_vec(&body).unwrap_or_default())
    }
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
                    .insert_header((header::PRAGMA, "no-cache"));
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

/// The families of HTML pages. A domain error reads differently in each (a
/// sign-in that is gone has "expired", a portal item is "not found"); the
/// words for all of them are decided here, in [`problem`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `/authorize`, sign-in and enrollment pages.
    SignIn,
    /// The security info page.
    Account,
    /// The admin portal.
    Portal,
}

/// What a failed action says on a page: status, title and explanation.
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub title: &'static str,
    pub detail: Cow<'static, str>,
}

/// The one mapping of domain errors to pages for people.
pub fn problem(family: Family, e: &DomainError) -> Problem {
    use Family::*;
    let p = |status, title, detail: Cow<'static, str>| Problem {
        status,
        title,
        detail,
    };
    match (family, e) {
        (SignIn, DomainError::NotFound(_)) => p(
            StatusCode::BAD_REQUEST,
            "This sign-in has expired",
            "The sign-in request is no longer valid. Go back to the application and start again."
                .into(),
        ),
        (Portal, DomainError::NotFound(what)) => p(
            StatusCode::NOT_FOUND,
            "Not found",
            format!("That {what} does not exist (any more).").into(),
        ),
        (SignIn, DomainError::Forbidden(m)) => p(StatusCode::FORBIDDEN, "Access denied", m.clone()),
        (_, DomainError::Forbidden(m)) => p(StatusCode::FORBIDDEN, "Not allowed", m.clone()),
        (Portal, DomainError::Invalid { field, message }) => p(
            StatusCode::BAD_REQUEST,
            "Please check your input",
            format!("{field}: {message}").into(),
        ),
        (_, DomainError::Invalid { message, .. }) => p(
            StatusCode::BAD_REQUEST,
            "Please check your input",
            message.clone(),
        ),
        (Portal, DomainError::Conflict(m)) => p(StatusCode::CONFLICT, "Not possible", m.clone()),
        (_, DomainError::Conflict(m)) => p(StatusCode::CONFLICT, "Please try again", m.clone()),
        (family, DomainError::Unavailable(_)) => p(
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            match family {
                SignIn => "Sign-in is unavailable for a moment. Please try again shortly.",
                Account => "Please try again shortly.",
                Portal => "The directory cannot be reached right now. Please try again shortly.",
            }
            .into(),
        ),
        (family, other) => {
            tracing::error!(error = %other, ?family, "page failure");
            p(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again.".into(),
            )
        }
    }
}

/// An error a browser page answers with an HTML page; page handlers return
/// it with `?`.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A domain error, in the words of its page family.
    #[error("{1}")]
    Domain(Family, DomainError),
    /// The form's CSRF token does not match the browser's (an old form, or
    /// one posted from another site).
    #[error("CSRF check failed")]
    Csrf,
    /// Not signed in (any more): on to `location` to sign in (302, or 303
    /// where a page has always answered so).
    #[error("not signed in")]
    SignIn { location: String, see_other: bool },
    /// A page of its own, with an optional way forward.
    #[error("{title}")]
    Page {
        status: StatusCode,
        title: &'static str,
        detail: Cow<'static, str>,
        link: Option<(String, &'static str)>,
    },
}

impl PageError {
    pub fn sign_in(location: impl Into<String>) -> Self {
        PageError::SignIn {
            location: location.into(),
            see_other: false,
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Domain(Family::Account, DomainError::NotFound(_)) => StatusCode::SEE_OTHER,
            PageError::Domain(f, e) => problem(*f, e).status,
            PageError::Csrf => StatusCode::FORBIDDEN,
            PageError::SignIn { see_other, .. } => {
                if *see_other {
                    StatusCode::SEE_OTHER
                } else {
                    StatusCode::FOUND
                }
            }
            PageError::Page { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        use crate::web::pages::{error_page, found, see_other};
        match self {
            // What the security info page acted on is gone (deleted in
            // another tab): back to the page, which says so.
            PageError::Domain(Family::Account, DomainError::NotFound(_)) => {
                see_other("/account/security?error=gone")
            }
            PageError::Domain(family, e) => {
                let p = problem(*family, e);
                let back = (*family == Family::Account && p.status.is_client_error())
                    .then_some(("/account/security", "Back"));
                let mut res = error_page(p.status, p.title, &p.detail, back);
                if p.status == StatusCode::SERVICE_UNAVAILABLE {
                    res.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                }
                res
            }
            PageError::Csrf => error_page(
                StatusCode::FORBIDDEN,
                "Please try again",
                "This form expired or came from somewhere else. Go back, reload the page and try again.",
                None,
            ),
            PageError::SignIn {
                location,
                see_other: true,
            } => see_other(location),
            PageError::SignIn { location, .. } => found(location),
            PageError::Page {
                status,
                title,
                detail,
                link,
            } => error_page(
                *status,
                title,
                detail,
                link.as_ref().map(|(href, text)| (href.as_str(), *text)),
            ),
        }
    }
}

/// An error a page's script receives: `{"message"}` in plain words, shown
/// as it is.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ScriptError {
    pub status: StatusCode,
    pub message: Cow<'static, str>,
}

impl ScriptError {
    pub fn new(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn csrf() -> Self {
        Self::new(StatusCode::FORBIDDEN, "Reload the page and try again.")
    }

    pub fn signed_out() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Your sign-in has ended; sign in again.",
        )
    }
}

impl From<DomainError> for ScriptError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Unavailable(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable; try again shortly.",
            ),
            DomainError::Invalid { message, .. } => Self::bad_request(message),
            DomainError::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                format!("That {what} does not exist."),
            ),
            DomainError::Conflict(m) => Self::new(StatusCode::CONFLICT, m),
            DomainError::Forbidden(m) => Self::new(StatusCode::FORBIDDEN, m),
            DomainError::Internal(m) => {
                tracing::error!(error = %m, "page script failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong; try again.",
                )
            }
        }
    }
}

impl ResponseError for ScriptError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        #[derive(Serialize)]
        struct Body<'a> {
            message: &'a str,
        }
        // In the page's language where the catalogue has the sentence.
        let message = crate::web::i18n::text(&self.message);
        HttpResponse::build(self.status)
            .content_type("application/json")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(serde_json::to_vec(&Body { message: &message }).unwrap_or_default())
    }
}

impl From<crate::service::enrollment::EnrollError> for ScriptError {
    fn from(e: crate::service::enrollment::EnrollError) -> Self {
        use crate::service::enrollment::EnrollError;
        let status = match &e {
            EnrollError::WindowOver | EnrollError::NotAllowed => StatusCode::FORBIDDEN,
            EnrollError::Rejected(_) | EnrollError::CeremonyExpired => StatusCode::BAD_REQUEST,
            EnrollError::PasskeysUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            EnrollError::Other(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        match e {
            EnrollError::Other(e) => e.into(),
            e => Self::new(status, e.to_string()),
        }
    }
}

/// A passkey sign-in that did not work, for the sign-in page's script.
impl From<crate::service::signin::SignInError> for ScriptError {
    fn from(e: crate::service::signin::SignInError) -> Self {
        use crate::service::signin::SignInError;
        match e {
            SignInError::Other(e) => e.into(),
            SignInError::AccountDisabled => {
                Self::new(StatusCode::FORBIDDEN, "Your account is disabled.")
            }
            e @ (SignInError::ModelNotAllowed | SignInError::PasskeyDisabledByPolicy) => {
                Self::new(StatusCode::FORBIDDEN, e.to_string())
            }
            e @ SignInError::PasskeysUnavailable => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
            e => Self::new(StatusCode::UNAUTHORIZED, e.to_string()),
        }
    }
}
