//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

use serde::Deserialize;
use std::sync::Arc;

use super::Context;
use super::session::Sessions;
use crate::crypto::jwt::{self, Audience};
use crate::crypto::keys::JwtType;
use crate::domain::DomainError;

/// The logout request's parameters (§2).
#[derive(Debug, Default, Clone)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    /// The person confirmed on our page (needed without an ID token hint).
    pub confirmed: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum LogoutNext {
    /// Ask the person first (no ID token hint proves the RP asked).
    Confirm { client_name: Option<String> },
    /// Signed out; back to the RP if it registered where.
    Done { redirect: Option<String> },
    /// The request cannot be trusted: explain, never redirect.
    Invalid(&'static str),
}

#[derive(Deserialize)]
struct HintClaims {
    aud: Audience,
}

pub struct LogoutService {
    ctx: Arc<Context>,
    sessions: Sessions,
}

impl LogoutService {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self {
            sessions: Sessions::new(ctx.clone()),
            ctx,
        }
    }

    /// The client an ID token we issued was for (signature checked; an
    /// expired hint is still a valid hint).
    fn hint_client(&self, token: &str) -> Option<String> {
        let ring = self.ctx.keys.ring();
        let claims: HintClaims =
            jwt::verify_any_audience(&ring, token, JwtType::IdToken, &self.ctx.issuer).ok()?;
        claims.aud.first().map(str::to_owned)
    }

    pub async fn end_session(
        &self,
        req: &LogoutRequest,
        session_secret: Option<&str>,
    ) -> Result<LogoutNext, DomainError> {
        let hinted = match &req.id_token_hint {
            Some(t) => match self.hint_client(t) {
                Some(c) => Some(c),
                None => {
                    return Ok(LogoutNext::Invalid(
                        "The id_token_hint is not an ID token from this server.",
                    ));
                }
            },
            None => None,
        };
        let client_id = match (&hinted, &req.client_id) {
            (Some(h), Some(c)) if h != c => {
                return Ok(LogoutNext::Invalid(
                    "client_id does not match the id_token_hint.",
                ));
            }
            (Some(h), _) => Some(h.clone()),
            (None, c) => c.clone(),
        };
        let client = match &client_id {
            Some(id) => self.ctx.clients.find(id).await?,
            None => None,
        };
        let redirect = match &req.post_logout_redirect_uri {
            None => None,
            Some(uri) => {
                let Some(client) = &client else {
                    return Ok(LogoutNext::Invalid(
                        "post_logout_redirect_uri needs id_token_hint or client_id.",
                    ));
                };
                if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
                    return Ok(LogoutNext::Invalid(
                        "The post_logout_redirect_uri is not registered for this application.",
                    ));
                }
                let mut params: Vec<(&str, &str)> = Vec::new();
                if let Some(s) = &req.state {
                    params.push(("state", s));
                }
                Some(super::authorize::redirect_with(uri, &params))
            }
        };
        if hinted.is_none() && !req.confirmed {
            return Ok(LogoutNext::Confirm {
                client_name: client.map(|c| c.name.clone().unwrap_or_else(|| c.id.clone())),
            });
        }
        if let Some(secret) = session_secret
            && let Some(ended) = self.sessions.end(secret).await?
        {
            super::backchannel::notify(&self.ctx, &ended).await;
        }
        Ok(LogoutNext::Done { redirect })
    }
}
