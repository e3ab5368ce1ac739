//! Token issuance (client credentials so far) and verification of our own
//! access tokens.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::audit::Entry;
use super::clients::PresentedCredentials;
use super::{Caller, Context, RequestMeta};
use crate::crypto::jwt::{self, JwtError};
use crate::crypto::keys::JwtType;
use crate::crypto::random;
use crate::domain::audit::{Actor, AuditEventType, Outcome, Target};
use crate::domain::client::{Client, GrantType};
use crate::domain::oauth::{OAuthError, OAuthErrorCode};
use crate::domain::permission::Permission;

/// RFC 9068 access token claims.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BearerError {
    #[error("the access token is malformed, forged or not for this API")]
    Invalid,
    #[error("the access token has expired")]
    Expired,
}

pub struct TokenService {
    ctx: Arc<Context>,
}

impl TokenService {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    /// `grant_type=client_credentials` (RFC 6749 §4.4). The client is
    /// already authenticated; `scope` selects among its permissions.
    pub fn client_credentials(
        &self,
        client: &Client,
        scope: Option<&str>,
    ) -> Result<TokenResponse, OAuthError> {
        if client.is_public() || !client.allows_grant(GrantType::ClientCredentials) {
            return Err(OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "this client may not use the client_credentials grant",
            ));
        }
        let granted = grant_scope(client, scope)?;
        let ctx = &self.ctx;
        let now = ctx.clock.now().unix_timestamp();
        let lifetime = ctx.settings.tokens.access_token_lifetime_seconds;
        let claims = AccessTokenClaims {
            iss: ctx.issuer.clone(),
            sub: client.id.clone(),
            aud: ctx.api_audience.clone(),
            client_id: client.id.clone(),
            exp: now + i64::from(lifetime),
            iat: now,
            jti: random::token::<16>(&*ctx.rng).map_err(|_| OAuthError::server_error())?,
            scope: granted,
        };
        let ring = ctx.keys.ring();
        let key = ring
            .active(client.access_token_alg)
            .ok_or_else(OAuthError::server_error)?;
        let access_token = jwt::sign(key, JwtType::AccessToken, &claims)
            .map_err(|_| OAuthError::server_error())?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: lifetime,
            scope: claims.scope,
        })
    }

    /// Authenticates the client at the token endpoint; failures are audited.
    pub async fn authenticate_client(
        &self,
        presented: PresentedCredentials<'_>,
        meta: &RequestMeta,
    ) -> Result<Arc<Client>, OAuthError> {
        let result = self.ctx.clients.authenticate(presented).await;
        if let Err(e) = &result
            && e.code == OAuthErrorCode::InvalidClient
        {
            let claimed = presented
                .basic
                .map(|(id, _)| id)
                .or(presented.form_id)
                .unwrap_or("(none)");
            let claimed: String = claimed.chars().take(128).collect();
            let entry = Entry {
                event_type: AuditEventType::ClientAuthenticationFailed,
                actor: Actor::client(claimed.clone()),
                target: Some(Target {
                    kind: "client".into(),
                    id: claimed,
                    display: None,
                }),
                meta,
                outcome: Outcome::Failure,
                detail: Some(e.description.to_string()),
            };
            if let Err(store_error) = self.ctx.audit.record(entry, self.ctx.clock.now()).await {
                tracing::warn!(error = %store_error, "could not record a failed client authentication");
            }
        }
        result
    }

    /// Verifies a bearer token for the admin API and returns the caller.
    pub fn authenticate_bearer(
        &self,
        token: &str,
        meta: RequestMeta,
    ) -> Result<Caller, BearerError> {
        let ctx = &self.ctx;
        let claims: AccessTokenClaims = jwt::verify(
            &ctx.keys.ring(),
            token,
            JwtType::AccessToken,
            &ctx.issuer,
            &ctx.api_audience,
        )
        .map_err(|e: JwtError| {
            tracing::debug!(error = %e, "bearer token rejected");
            BearerError::Invalid
        })?;
        if ctx.clock.now().unix_timestamp() >= claims.exp {
            return Err(BearerError::Expired);
        }
        let permissions = claims
            .scope
            .split(' ')
            .filter_map(Permission::parse)
            .collect();
        let actor = if claims.sub == claims.client_id {
            Actor::client(claims.client_id)
        } else {
            Actor::user(claims.sub)
        };
        Ok(Caller {
            actor,
            permissions,
            meta,
        })
    }
}

/// The scope to grant: every requested permission must be granted to the
/// client; no `scope` means all of the client's permissions.
fn grant_scope(client: &Client, requested: Option<&str>) -> Result<String, OAuthError> {
    match requested.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(client
            .permissions
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(" ")),
        Some(requested) => {
            let mut out = String::with_capacity(requested.len());
            for s in requested.split(' ').filter(|s| !s.is_empty()) {
                let ok = Permission::parse(s).is_some_and(|p| client.permissions.contains(&p));
                if !ok {
                    return Err(OAuthError::new(
                        OAuthErrorCode::InvalidScope,
                        format!("scope {s} is unknown or not granted to this client"),
                    ));
                }
                if !out.split(' ').any(|x| x == s) {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push_str(s);
                }
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::client::{ClientAuthMethod, SigningAlg};

    fn client(perms: Vec<Permission>) -> Client {
        Client {
            id: "c".into(),
            name: None,
            secret_sha256: Some([0; 32]),
            redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            auth_method: ClientAuthMethod::ClientSecretBasic,
            id_token_alg: SigningAlg::RS256,
            access_token_alg: SigningAlg::ES256,
            permissions: perms,
        }
    }

    #[test]
    fn scope_is_limited_to_granted_permissions() {
        let c = client(vec![Permission::UserReadWriteAll]);
        assert_eq!(grant_scope(&c, None).unwrap(), "User.ReadWrite.All");
        assert_eq!(
            grant_scope(&c, Some(" User.ReadWrite.All  User.ReadWrite.All")).unwrap(),
            "User.ReadWrite.All"
        );
        let err = grant_scope(&c, Some("AuditLog.Read.All")).unwrap_err();
        assert_eq!(err.code, OAuthErrorCode::InvalidScope);
        assert_eq!(
            grant_scope(&c, Some("nonsense")).unwrap_err().code,
            OAuthErrorCode::InvalidScope
        );
    }
}
