//! Refresh tokens (rotation with reuse detection), revocation (RFC 7009)
//! and introspection (RFC 7662).

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use super::audit::Entry;
use super::oauth_errors::store_error;
use super::token::{
    AccessTokenClaims, IssuedAccess, TokenResponse, TokenService, UserAccessClaims, UserGrant,
    grant_error,
};
use crate::crypto::jwt::Audience;
use crate::crypto::keys::JwtType;
use crate::crypto::{jwt, random, sha256};
use crate::domain::audit::{Actor, AuditEventType, Outcome, Target};
use crate::domain::authz::{RefreshGrant, SpentRefresh};
use crate::domain::client::{Client, GrantType};
use crate::domain::oauth::{OAuthError, OAuthErrorCode};
use crate::service::RequestMeta;
use crate::store::Ns;
use crate::store::records::Records;

/// A refresh token's record id: its hash (the token itself is never stored).
pub(super) fn key(token: &str) -> String {
    hex::encode(sha256(token.as_bytes()))
}

impl TokenService {
    /// Stores a refresh grant under a new token; returns the token.
    pub(crate) async fn store_refresh(&self, grant: &RefreshGrant) -> Result<String, OAuthError> {
        let ctx = &self.ctx;
        let token = random::token::<32>(&*ctx.rng).map_err(|_| OAuthError::server_error())?;
        let now = ctx.clock.now();
        ctx.store
            .put_record(&key(&token), grant, self.refresh_expires(grant, now), now)
            .await
            .map_err(store_error)?;
        Ok(token)
    }

    /// Until when a refresh grant stored `now` is kept: its idle timeout,
    /// never past the family's end.
    pub(crate) fn refresh_expires(
        &self,
        grant: &RefreshGrant,
        now: OffsetDateTime,
    ) -> OffsetDateTime {
        let idle = self.ctx.settings.tokens.refresh_token_idle_seconds;
        (now + Duration::seconds(i64::from(idle))).min(grant.expires_at)
    }

    async fn family_revoked(&self, family: &str, now: OffsetDateTime) -> Result<bool, OAuthError> {
        Ok(self
            .ctx
            .store
            .get(Ns::RevokedFamily, family, now)
            .await
            .map_err(store_error)?
            .is_some())
    }

    async fn revoke_family(&self, family: &str, until: OffsetDateTime) -> Result<(), OAuthError> {
        let now = self.ctx.clock.now();
        if until > now {
            self.ctx
                .store
                .put(Ns::RevokedFamily, family, b"1", until, now)
                .await
                .map_err(store_error)?;
        }
        Ok(())
    }

    /// `grant_type=refresh_token` (RFC 6749 §6) with rotation: every use
    /// returns a new refresh token; using an old one again revokes the
    /// whole family (RFC 9700 §4.14.2).
    pub async fn refresh(
        &self,
        client: &Client,
        token: Option<&str>,
        scope: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.allows_grant(GrantType::RefreshToken) {
            return Err(OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "this client may not use refresh tokens",
            ));
        }
        let token =
            token.ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
        let ctx = &self.ctx;
        let now = ctx.clock.now();
        let k = key(token);
        let current = ctx
            .store
            .get_record::<RefreshGrant>(&k, now)
            .await
            .map_err(store_error)?;
        let Some(grant) = current else {
            self.detect_reuse(&k, meta).await?;
            return Err(grant_error(
                "the refresh token is invalid, expired or already used",
            ));
        };
        // Validate the request before consuming the token, so that a wrong
        // client or a refused scope cannot burn it. The client first:
        if grant.client_id != client.id {
            return Err(grant_error(
                "the refresh token was issued to another client",
            ));
        }
        if self.family_revoked(&grant.family, now).await? {
            return Err(grant_error("the refresh token was revoked"));
        }
        // The scope too: a refused scope leaves the token usable, so a
        // retry without it is not mistaken for reuse.
        let scope = match scope.map(str::trim).filter(|s| !s.is_empty()) {
            None => grant.scope.join(" "),
            Some(requested) => {
                let parts: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
                if parts.iter().any(|p| !grant.scope.iter().any(|g| g == p)) {
                    return Err(OAuthError::new(
                        OAuthErrorCode::InvalidScope,
                        "a refresh cannot widen the scope",
                    ));
                }
                parts.join(" ")
            }
        };
        // Single use: of two concurrent refreshes, one wins.
        if ctx
            .store
            .take_record::<RefreshGrant>(&k, now)
            .await
            .map_err(store_error)?
            .is_none()
        {
            self.detect_reuse(&k, meta).await?;
            return Err(grant_error("the refresh token was already used"));
        }
        let spent = SpentRefresh {
            family: grant.family.clone(),
            family_expires_at: grant.expires_at,
        };
        ctx.store
            .put_record(&k, &spent, grant.expires_at, now)
            .await
            .map_err(store_error)?;

        let user = ctx
            .store
            .get_user(&grant.user_id)
            .await
            .map_err(store_error)?;
        let Some(user) = user.filter(|u| u.sign_in_valid(grant.auth_time)) else {
            return Err(grant_error(
                "the account is disabled or its sessions were revoked",
            ));
        };
        let IssuedAccess {
            token: access_token,
            exp,
            scope,
        } = self.user_access_token(
            client,
            UserGrant {
                user_id: &grant.user_id,
                sid: &grant.sid,
                scope: &scope,
                auth_time: grant.auth_time,
                not_after: grant.expires_at,
                claims: &grant.userinfo_claims,
                roles: &user.roles,
            },
        )?;
        let refresh_token = self.store_refresh(&grant).await?;
        Ok(TokenResponse {
            expires_in: u32::try_from(exp - now.unix_timestamp()).unwrap_or(0),
            access_token,
            token_type: "Bearer",
            scope,
            id_token: None,
            refresh_token: Some(refresh_token),
        })
    }

    /// A spent token came back: someone holds a copy. Revoke the family.
    async fn detect_reuse(&self, k: &str, meta: &RequestMeta) -> Result<(), OAuthError> {
        let now = self.ctx.clock.now();
        let spent = self
            .ctx
            .store
            .get_record::<SpentRefresh>(k, now)
            .await
            .map_err(store_error)?;
        let Some(spent) = spent else {
            return Ok(());
        };
        self.revoke_family(&spent.family, spent.family_expires_at)
            .await?;
        let entry = Entry {
            event_type: AuditEventType::RefreshReused,
            actor: Actor::system(),
            target: Some(Target {
                kind: "refresh_token_family".into(),
                id: spent.family,
                display: None,
            }),
            meta,
            outcome: Outcome::Failure,
            detail: Some("a rotated refresh token was used again; its family is revoked".into()),
        };
        if let Err(e) = self.ctx.audit.record(entry, now).await {
            tracing::warn!(error = %e, "could not record a refresh token reuse");
        }
        Ok(())
    }

    /// RFC 7009: revokes a refresh token (and its family) or an access
    /// token (by `jti`, until it expires). Unknown tokens are not an error.
    pub async fn revoke(
        &self,
        client: &Client,
        token: &str,
        hint: Option<&str>,
    ) -> Result<(), OAuthError> {
        match hint {
            None | Some("access_token") | Some("refresh_token") => {}
            Some(_) => {
                return Err(OAuthError::new(
                    OAuthErrorCode::UnsupportedTokenType,
                    "token_type_hint must be access_token or refresh_token",
                ));
            }
        }
        let ctx = &self.ctx;
        let now = ctx.clock.now();
        if let Some(grant) = ctx
            .store
            .get_record::<RefreshGrant>(&key(token), now)
            .await
            .map_err(store_error)?
        {
            if grant.client_id == client.id {
                ctx.store
                    .delete(Ns::RefreshToken, &key(token))
                    .await
                    .map_err(store_error)?;
                self.revoke_family(&grant.family, grant.expires_at).await?;
            }
            return Ok(());
        }
        if let Some((jti, exp, owner)) = self.access_token_identity(token) {
            let until = OffsetDateTime::from_unix_timestamp(exp).unwrap_or(now);
            if owner == client.id && until > now {
                ctx.store
                    .put(Ns::RevokedToken, &jti, b"1", until, now)
                    .await
                    .map_err(store_error)?;
            }
        }
        Ok(())
    }

    /// (jti, exp, client_id) of an access token we signed, any audience.
    fn access_token_identity(&self, token: &str) -> Option<(String, i64, String)> {
        let ring = self.ctx.keys.ring();
        let issuer = &self.ctx.issuer;
        if let Ok(c) =
            jwt::verify::<UserAccessClaims>(&ring, token, JwtType::AccessToken, issuer, issuer)
        {
            return Some((c.jti, c.exp, c.client_id));
        }
        jwt::verify::<AccessTokenClaims>(
            &ring,
            token,
            JwtType::AccessToken,
            issuer,
            &self.ctx.api_audience,
        )
        .ok()
        .map(|c| (c.jti, c.exp, c.client_id))
    }

    /// RFC 7662: what a token is, for a resource server. Anything unknown,
    /// expired or revoked is `{"active": false}`, and so is a token the
    /// caller has no business with (§2.2, §4): an access token is described
    /// only to the client it was issued to or to a resource server of its
    /// audience (the client's `introspection_audiences`), a refresh token
    /// only to its own client.
    pub async fn introspect(&self, client: &Client, token: &str) -> Result<Value, OAuthError> {
        if client.is_public() {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidClient,
                "introspection needs a confidential client",
            ));
        }
        let ctx = &self.ctx;
        let now = ctx.clock.now();
        let inactive = json!({ "active": false });
        if token.bytes().filter(|b| *b == b'.').count() == 2 {
            let ring = ctx.keys.ring();
            let issuer = &ctx.issuer;
            let (claims, kind, allowed) = if let Ok(c) =
                jwt::verify::<UserAccessClaims>(&ring, token, JwtType::AccessToken, issuer, issuer)
            {
                let allowed = client.may_introspect(&c.client_id, audiences(&c.aud));
                (
                    json!({"sub": c.sub, "aud": c.aud, "client_id": c.client_id, "scope": c.scope, "exp": c.exp, "iat": c.iat, "jti": c.jti, "sid": c.sid, "auth_time": c.auth_time}),
                    (c.jti, c.exp),
                    allowed,
                )
            } else if let Ok(c) = jwt::verify::<AccessTokenClaims>(
                &ring,
                token,
                JwtType::AccessToken,
                issuer,
                &ctx.api_audience,
            ) {
                let allowed = client.may_introspect(&c.client_id, audiences(&c.aud));
                (
                    json!({"sub": c.sub, "aud": c.aud, "client_id": c.client_id, "scope": c.scope, "exp": c.exp, "iat": c.iat, "jti": c.jti}),
                    (c.jti, c.exp),
                    allowed,
                )
            } else {
                return Ok(inactive);
            };
            if !allowed {
                return Ok(inactive);
            }
            let (jti, exp) = kind;
            if now.unix_timestamp() >= exp
                || ctx
                    .store
                    .get(Ns::RevokedToken, &jti, now)
                    .await
                    .map_err(store_error)?
                    .is_some()
            {
                return Ok(inactive);
            }
            // A user's token stops being active when their sessions are revoked.
            if let (Some(sub), Some(auth_time)) =
                (claims["sub"].as_str(), claims["auth_time"].as_i64())
            {
                let at = OffsetDateTime::from_unix_timestamp(auth_time)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                let valid = ctx
                    .store
                    .get_user(sub)
                    .await
                    .map_err(store_error)?
                    .is_some_and(|u| u.sign_in_valid(at));
                if !valid {
                    return Ok(inactive);
                }
            }
            let mut out = claims;
            if let Some(map) = out.as_object_mut() {
                map.insert("active".into(), Value::Bool(true));
                map.insert("iss".into(), Value::String(issuer.clone()));
                map.insert("token_type".into(), Value::String("Bearer".into()));
            }
            return Ok(out);
        }
        let Some(grant) = ctx
            .store
            .get_record::<RefreshGrant>(&key(token), now)
            .await
            .map_err(store_error)?
        else {
            return Ok(inactive);
        };
        // Only the client holds its refresh tokens; no resource server needs them.
        if grant.client_id != client.id {
            return Ok(inactive);
        }
        let user_ok = ctx
            .store
            .get_user(&grant.user_id)
            .await
            .map_err(store_error)?
            .is_some_and(|u| u.sign_in_valid(grant.auth_time));
        if !user_ok || self.family_revoked(&grant.family, now).await? {
            return Ok(inactive);
        }
        Ok(json!({
            "active": true,
            "token_type": "refresh_token",
            "client_id": grant.client_id,
            "sub": grant.user_id,
            "scope": grant.scope.join(" "),
            "exp": grant.expires_at.unix_timestamp(),
            "iss": ctx.issuer,
        }))
    }
}

/// The values of a token's `aud`.
fn audiences(aud: &Audience) -> &[String] {
    match aud {
        Audience::One(a) => std::slice::from_ref(a),
        Audience::Many(v) => v,
    }
}
