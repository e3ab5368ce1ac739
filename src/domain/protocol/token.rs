//! The token endpoint's request, one variant per grant (RFC 6749 §3.2).

use crate::domain::oauth::{OAuthError, OAuthErrorCode};

/// A token request, one variant per grant (RFC 6749 §4.1.3, §4.4.2, §6),
/// with the parameters that grant reads. Which are required is the
/// grant's own check: a missing one is `invalid_request` naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRequest<'a> {
    AuthorizationCode {
        code: Option<&'a str>,
        redirect_uri: Option<&'a str>,
        code_verifier: Option<&'a str>,
    },
    ClientCredentials {
        scope: Option<&'a str>,
    },
    RefreshToken {
        refresh_token: Option<&'a str>,
        scope: Option<&'a str>,
    },
}

/// The parameters a token request may carry, as sent (empty ones omitted).
#[derive(Debug, Default, Clone, Copy)]
pub struct TokenParams<'a> {
    pub grant_type: Option<&'a str>,
    pub scope: Option<&'a str>,
    pub code: Option<&'a str>,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
    pub refresh_token: Option<&'a str>,
}

impl<'a> TokenRequest<'a> {
    /// RFC 6749 §5.2: no `grant_type` is `invalid_request`, one this server
    /// does not implement `unsupported_grant_type`.
    pub fn parse(p: TokenParams<'a>) -> Result<Self, OAuthError> {
        match p.grant_type {
            None => Err(OAuthError::invalid_request("grant_type is required")),
            Some("authorization_code") => Ok(Self::AuthorizationCode {
                code: p.code,
                redirect_uri: p.redirect_uri,
                code_verifier: p.code_verifier,
            }),
            Some("client_credentials") => Ok(Self::ClientCredentials { scope: p.scope }),
            Some("refresh_token") => Ok(Self::RefreshToken {
                refresh_token: p.refresh_token,
                scope: p.scope,
            }),
            Some(other) => Err(OAuthError::new(
                OAuthErrorCode::UnsupportedGrantType,
                format!("grant_type {other} is not supported"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_grant_reads_its_own_parameters() {
        let p = TokenParams {
            grant_type: Some("refresh_token"),
            scope: Some("openid"),
            code: Some("c"),
            refresh_token: Some("r"),
            ..TokenParams::default()
        };
        assert_eq!(
            TokenRequest::parse(p).unwrap(),
            TokenRequest::RefreshToken {
                refresh_token: Some("r"),
                scope: Some("openid")
            }
        );
        let p = TokenParams {
            grant_type: Some("client_credentials"),
            ..p
        };
        assert_eq!(
            TokenRequest::parse(p).unwrap(),
            TokenRequest::ClientCredentials {
                scope: Some("openid")
            }
        );
    }

    /// RFC 6749 §5.2: a missing grant type is a malformed request; an
    /// unknown one (`password`, never offered here) is unsupported.
    #[test]
    fn a_missing_or_unknown_grant_is_refused_with_its_code() {
        let code = |g| {
            TokenRequest::parse(TokenParams {
                grant_type: g,
                ..TokenParams::default()
            })
            .unwrap_err()
            .code
        };
        assert_eq!(code(None), OAuthErrorCode::InvalidRequest);
        assert_eq!(code(Some("password")), OAuthErrorCode::UnsupportedGrantType);
        assert_eq!(
            code(Some("Authorization_Code")),
            OAuthErrorCode::UnsupportedGrantType
        );
    }
}
