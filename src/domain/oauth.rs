//! OAuth 2.0 / OpenID Connect error codes (RFC 6749 §4.1.2.1, §5.2; OIDC Core §3.1.2.6).

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    AccessDenied,
    UnsupportedResponseType,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    UnsupportedTokenType,
    /// Rate limited (answered with 429).
    SlowDown,
}

impl OAuthErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::SlowDown => "slow_down",
        }
    }
}

/// An OAuth error as the protocol reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    pub code: OAuthErrorCode,
    pub description: Cow<'static, str>,
    /// The client tried HTTP Basic authentication: a 401 must carry a
    /// `WWW-Authenticate: Basic` challenge (RFC 6749 §5.2).
    pub basic_challenge: bool,
}

impl OAuthError {
    pub fn new(code: OAuthErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
            basic_challenge: false,
        }
    }

    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthErrorCode::InvalidRequest, description)
    }

    pub fn unavailable() -> Self {
        Self::new(
            OAuthErrorCode::TemporarilyUnavailable,
            "the server cannot reach its store; retry shortly",
        )
    }

    pub fn server_error() -> Self {
        Self::new(OAuthErrorCode::ServerError, "internal error")
    }
}
