//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

use serde::Deserialize;
use std::sync::Arc;

use super::Context;
use super::session::Sessions;
use crate::crypto::jwt::{self, Audience};
use crate::crypto::keys::JwtType;
use crate::domain::DomainError;
use crate::domain::authz::Session;

/// The logout request's parameters (§2).
#[derive(Debug, Default, Clone)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    /// The person confirmed on our page (needed unless the ID token hint
    /// is for the browser's own session, or there is no session).
    pub confirmed: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum LogoutNext {
    /// Ask the person first: nothing proves that this browser's own
    /// application asked. `client_id` is the client named by the request
    /// (or its hint), for the confirmation form.
    Confirm {
        client_name: Option<String>,
        client_id: Option<String>,
    },
    /// Signed out; back to the RP if it registered where.
    Done { redirect: Option<String> },
    /// The request cannot be trusted: explain, never redirect.
    Invalid(&'static str),
}

#[derive(Deserialize)]
struct HintClaims {
    aud: Audience,
    sub: String,
    #[serde(default)]
    sid: Option<String>,
}

impl HintClaims {
    /// Was this ID token issued for `session` (same user, same session
    /// when the token names one)?
    fn is_for(&self, session: &Session) -> bool {
        self.sub == session.user_id && self.sid.as_ref().is_none_or(|sid| *sid == session.sid)
    }
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

    /// An ID token we issued (signature checked; an expired hint is still
    /// a valid hint), and the client it was for.
    fn hint(&self, token: &str) -> Option<(HintClaims, String)> {
        let ring = self.ctx.keys.ring();
        let claims: HintClaims =
            jwt::verify_any_audience(&ring, token, JwtType::IdToken, &self.ctx.issuer).ok()?;
        let client = claims.aud.first().map(str::to_owned)?;
        Some((claims, client))
    }

    pub async fn end_session(
        &self,
        req: &LogoutRequest,
        session_secret: Option<&str>,
    ) -> Result<LogoutNext, DomainError> {
        let hint = match &req.id_token_hint {
            Some(t) => match self.hint(t) {
                Some(h) => Some(h),
                None => {
                    return Ok(LogoutNext::Invalid(
                        "The id_token_hint is not an ID token from this server.",
                    ));
                }
            },
            None => None,
        };
        let hinted = hint.as_ref().map(|(_, c)| c);
        let client_id = match (hinted, &req.client_id) {
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
        // Any valid ID token would do as a hint, an attacker's own too: it
        // skips the confirmation only when it was issued for this
        // browser's live session. Without a session there is nothing to
        // sign out, so nothing to confirm.
        let session = match session_secret {
            Some(secret) => self.sessions.get(secret).await?,
            None => None,
        };
        let own_hint = match (&hint, &session) {
            (Some((claims, _)), Some(s)) => claims.is_for(s),
            _ => false,
        };
        if session.is_some() && !own_hint && !req.confirmed {
            return Ok(LogoutNext::Confirm {
                client_name: client.as_ref().map(|c| c.display_name()),
                client_id: client.map(|c| c.id.clone()),
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
