//! Token issuance (client credentials so far) and verification of our own
//! access tokens.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::audit::Entry;
use super::clients::PresentedCredentials;
use super::oauth_errors::store_error;
use super::{Caller, Context, RequestMeta};
use crate::crypto::jwt::{self, Audience, JwtError};
use crate::crypto::keys::JwtType;
use crate::crypto::{b64url, random};
use crate::domain::audit::{Actor, AuditEventType, Outcome, Target};
use crate::domain::authz::{CodeGrant, RedeemedCode, RefreshGrant};
use crate::domain::client::{Client, GrantType};
use crate::domain::oauth::{OAuthError, OAuthErrorCode};
use crate::domain::permission::Permission;
use crate::domain::protocol::TokenRequest;
use crate::domain::user::DirectoryRole;
use crate::store::Ns;
use crate::store::batch::{Got, Put, Step};
use crate::store::records::Records;

/// RFC 9068 access token claims.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub client_id: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// Set on user tokens: when the user signed in (to honour revocation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

/// A successful token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u32,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Access token claims for a signed-in user (RFC 9068 §2.2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UserAccessClaims {
    pub iss: String,
    pub sub: String,
    /// The issuer (userinfo); plus this server's API when the token carries
    /// delegated admin permissions.
    pub aud: Audience,
    pub client_id: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub scope: String,
    pub auth_time: i64,
    pub sid: String,
    /// User claims asked for by name for userinfo (the `claims` parameter).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<String>,
}

/// What a user access token is issued for.
pub(crate) struct UserGrant<'a> {
    pub user_id: &'a str,
    pub sid: &'a str,
    pub scope: &'a str,
    pub auth_time: time::OffsetDateTime,
    /// The token never outlives this.
    pub not_after: time::OffsetDateTime,
    pub claims: &'a [String],
    /// The user's directory roles now: delegated permissions beyond them
    /// are dropped from the scope.
    pub roles: &'a [DirectoryRole],
}

/// A user access token as issued.
pub(crate) struct IssuedAccess {
    pub token: String,
    pub exp: i64,
    /// The granted scope (the request minus permissions the roles lack).
    pub scope: String,
}

/// ID token claims (OIDC Core §2).
#[derive(Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    amr: &'a [String],
    sid: &'a str,
    at_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<&'a str>,
    /// User claims asked for by name (OIDC Core §5.5).
    #[serde(flatten)]
    requested: serde_json::Map<String, serde_json::Value>,
}

/// `at_hash`: left half of SHA-256 of the access token, base64url (OIDC Core §3.1.3.6).
fn at_hash(access_token: &str) -> String {
    let digest = crate::crypto::sha256(access_token.as_bytes());
    b64url::encode(&digest[..16])
}

pub(crate) fn grant_error(description: &'static str) -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidGrant, description)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BearerError {
    #[error("the access token is malformed, forged, revoked or not for this API")]
    Invalid,
    #[error("the access token has expired")]
    Expired,
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
}

pub struct TokenService {
    pub(crate) ctx: Arc<Context>,
}

impl TokenService {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    /// The token endpoint: the grant the request names, for a client
    /// already authenticated.
    pub async fn exchange(
        &self,
        client: &Client,
        request: TokenRequest<'_>,
        meta: &RequestMeta,
    ) -> Result<TokenResponse, OAuthError> {
        match request {
            TokenRequest::ClientCredentials { scope } => self.client_credentials(client, scope),
            TokenRequest::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                self.authorization_code(client, code, redirect_uri, code_verifier, meta)
                    .await
            }
            TokenRequest::RefreshToken {
                refresh_token,
                scope,
            } => self.refresh(client, refresh_token, scope, meta).await,
        }
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
            aud: Audience::One(ctx.api_audience.clone()),
            client_id: client.id.clone(),
            exp: now + i64::from(lifetime),
            iat: now,
            jti: random::token::<16>(&*ctx.rng).map_err(|_| OAuthError::server_error())?,
            scope: granted,
            auth_time: None,
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
            id_token: None,
            refresh_token: None,
        })
    }

    /// `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6).
    pub async fn authorization_code(
        &self,
        client: &Client,
        code: Option<&str>,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.allows_grant(GrantType::AuthorizationCode) {
            return Err(OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "this client may not use the authorization code grant",
            ));
        }
        let code = code.ok_or_else(|| OAuthError::invalid_request("code is required"))?;
        let ctx = &self.ctx;
        let now = ctx.clock.now();
        let key = hex::encode(crate::crypto::sha256(code.as_bytes()));
        let Some(grant) = ctx
            .store
            .take_record::<CodeGrant>(&key, now)
            .await
            .map_err(store_error)?
        else {
            self.revoke_reused_code(&key, meta).await?;
            return Err(grant_error("the code is invalid, expired or already used"));
        };
        if grant.client_id != client.id {
            return Err(grant_error("the code was issued to another client"));
        }
        if redirect_uri != Some(grant.redirect_uri.as_str()) {
            return Err(grant_error(
                "redirect_uri does not match the authorization request",
            ));
        }
        match (&grant.code_challenge, verifier) {
            (Some(challenge), Some(v)) => {
                if !verifier_matches(challenge, v) {
                    return Err(grant_error(
                        "code_verifier does not match the code_challenge",
                    ));
                }
            }
            (Some(_), None) => return Err(grant_error("code_verifier is required (PKCE)")),
            (None, Some(_)) => {
                return Err(grant_error("code_verifier sent but no code_challenge was"));
            }
            (None, None) => {}
        }
        if now >= grant.session_expires_at {
            return Err(grant_error("the sign-in session has ended"));
        }
        // What this redemption will produce is settled before the user is
        // read, so that it is stored in the same round trip: the record of
        // the code's use (a second use revokes what it names) and the
        // refresh grant. If the user check below fails, no token is handed
        // out: the record names tokens nobody has, and the stored grant is
        // unreachable (its id is the hash of a token never issued); both
        // are harmless and expire.
        let jti = random::token::<16>(&*ctx.rng).map_err(|_| OAuthError::server_error())?;
        let exp = self.access_expiry(grant.session_expires_at);
        let refresh = if grant.scope.iter().any(|s| s == "offline_access")
            && client.allows_grant(GrantType::RefreshToken)
        {
            let is_tap = grant.amr.iter().any(|a| a == "otp");
            let lifetime = time::Duration::seconds(i64::from(
                ctx.settings.tokens.refresh_token_lifetime_seconds,
            ));
            let token = random::token::<32>(&*ctx.rng).map_err(|_| OAuthError::server_error())?;
            let refresh = RefreshGrant {
                client_id: client.id.clone(),
                user_id: grant.user_id.clone(),
                sid: grant.sid.clone(),
                scope: grant.scope.clone(),
                auth_time: grant.auth_time,
                amr: grant.amr.clone(),
                // A TAP-only sign-in's tokens never outlive the TAP.
                expires_at: if is_tap {
                    grant.session_expires_at
                } else {
                    now + lifetime
                },
                family: random::token::<16>(&*ctx.rng).map_err(|_| OAuthError::server_error())?,
                userinfo_claims: grant.userinfo_claims.clone(),
            };
            Some((super::refresh::key(&token), token, refresh))
        } else {
            None
        };
        let redeemed = RedeemedCode {
            access_token_jti: jti.clone(),
            access_token_expires: exp,
            refresh_token_hash: refresh.as_ref().map(|(hash, _, _)| hash.clone()),
            refresh_family: refresh
                .as_ref()
                .map(|(_, _, r)| (r.family.clone(), r.expires_at.unix_timestamp())),
        };
        let keep_until = time::OffsetDateTime::from_unix_timestamp(exp)
            .unwrap_or(now)
            .max(now + time::Duration::minutes(10));
        let mut steps = Vec::with_capacity(3);
        steps.push(Step::User(&grant.user_id));
        steps.push(Step::Put(
            Put::record(&key, &redeemed, keep_until).map_err(store_error)?,
        ));
        if let Some((hash, _, r)) = &refresh {
            let until = self.refresh_expires(r, now);
            steps.push(Step::Put(Put::record(hash, r, until).map_err(store_error)?));
        }
        let user = ctx
            .store
            .batch(&steps, now)
            .await
            .map_err(store_error)?
            .into_iter()
            .next()
            .and_then(Got::user);
        let Some(user) = user.filter(|u| u.sign_in_valid(grant.auth_time)) else {
            return Err(grant_error(
                "the account is disabled or its sessions were revoked",
            ));
        };
        let IssuedAccess {
            token: access_token,
            exp,
            scope,
        } = self.user_access_token_as(
            client,
            UserGrant {
                user_id: &grant.user_id,
                sid: &grant.sid,
                scope: &grant.scope.join(" "),
                auth_time: grant.auth_time,
                not_after: grant.session_expires_at,
                claims: &grant.userinfo_claims,
                roles: &user.roles,
            },
            jti,
        )?;
        let id_token = self.id_token(client, &grant, &user, &access_token, exp)?;
        let refresh_token = refresh.map(|(_, token, _)| token);
        Ok(TokenResponse {
            expires_in: u32::try_from(exp - now.unix_timestamp()).unwrap_or(0),
            access_token,
            token_type: "Bearer",
            scope,
            id_token: Some(id_token),
            refresh_token,
        })
    }

    /// A code was presented again: revoke what its first use produced.
    async fn revoke_reused_code(&self, key: &str, meta: &RequestMeta) -> Result<(), OAuthError> {
        let ctx = &self.ctx;
        let now = ctx.clock.now();
        let Some(redeemed) = ctx
            .store
            .get_record::<RedeemedCode>(key, now)
            .await
            .map_err(store_error)?
        else {
            return Ok(());
        };
        let until =
            time::OffsetDateTime::from_unix_timestamp(redeemed.access_token_expires).unwrap_or(now);
        if until > now {
            ctx.store
                .put(
                    Ns::RevokedToken,
                    &redeemed.access_token_jti,
                    b"1",
                    until,
                    now,
                )
                .await
                .map_err(store_error)?;
        }
        if let Some(hash) = &redeemed.refresh_token_hash {
            ctx.store
                .delete(Ns::RefreshToken, hash)
                .await
                .map_err(store_error)?;
        }
        // Rotated successors of that refresh token die with their family.
        if let Some((family, end)) = &redeemed.refresh_family {
            let until = time::OffsetDateTime::from_unix_timestamp(*end).unwrap_or(now);
            if until > now {
                ctx.store
                    .put(Ns::RevokedFamily, family, b"1", until, now)
                    .await
                    .map_err(store_error)?;
            }
        }
        let entry = Entry {
            event_type: AuditEventType::CodeReused,
            actor: Actor::system(),
            target: Some(Target {
                kind: "token".into(),
                id: redeemed.access_token_jti.clone(),
                display: None,
            }),
            meta,
            outcome: Outcome::Failure,
            detail: Some("authorization code reused; its tokens were revoked".into()),
        };
        if let Err(e) = ctx.audit.record(entry, now).await {
            tracing::warn!(error = %e, "could not record a code reuse");
        }
        Ok(())
    }

    /// A user access token (for `/userinfo`), never outliving `not_after`.
    pub(crate) fn user_access_token(
        &self,
        client: &Client,
        grant: UserGrant<'_>,
    ) -> Result<IssuedAccess, OAuthError> {
        let jti = random::token::<16>(&*self.ctx.rng).map_err(|_| OAuthError::server_error())?;
        self.user_access_token_as(client, grant, jti)
    }

    /// When an access token for a grant that ends at `not_after` expires.
    fn access_expiry(&self, not_after: time::OffsetDateTime) -> i64 {
        let now = self.ctx.clock.now().unix_timestamp();
        let lifetime = i64::from(self.ctx.settings.tokens.access_token_lifetime_seconds);
        (now + lifetime).min(not_after.unix_timestamp())
    }

    /// [`user_access_token`](Self::user_access_token) with its `jti` given.
    fn user_access_token_as(
        &self,
        client: &Client,
        grant: UserGrant<'_>,
        jti: String,
    ) -> Result<IssuedAccess, OAuthError> {
        let UserGrant {
            user_id,
            sid,
            scope,
            auth_time,
            not_after,
            claims,
            roles,
        } = grant;
        let ctx = &self.ctx;
        let allowed = crate::domain::roles::permissions_of(roles);
        let mut delegated = false;
        let scope = scope
            .split(' ')
            .filter(|s| match Permission::parse(s) {
                None => true,
                Some(p) => {
                    let keep = allowed.contains(&p);
                    delegated |= keep;
                    keep
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        let aud = if delegated {
            Audience::Many(vec![ctx.issuer.clone(), ctx.api_audience.clone()])
        } else {
            Audience::One(ctx.issuer.clone())
        };
        let now = ctx.clock.now().unix_timestamp();
        let claims = UserAccessClaims {
            iss: ctx.issuer.clone(),
            sub: user_id.to_owned(),
            aud,
            client_id: client.id.clone(),
            exp: self.access_expiry(not_after),
            iat: now,
            jti,
            scope,
            auth_time: auth_time.unix_timestamp(),
            sid: sid.to_owned(),
            claims: claims.to_vec(),
        };
        let ring = ctx.keys.ring();
        let key = ring
            .active(client.access_token_alg)
            .ok_or_else(OAuthError::server_error)?;
        let token = jwt::sign(key, JwtType::AccessToken, &claims)
            .map_err(|_| OAuthError::server_error())?;
        Ok(IssuedAccess {
            token,
            exp: claims.exp,
            scope: claims.scope,
        })
    }

    fn id_token(
        &self,
        client: &Client,
        grant: &CodeGrant,
        user: &crate::domain::user::User,
        access_token: &str,
        exp: i64,
    ) -> Result<String, OAuthError> {
        let mut requested = serde_json::Map::new();
        let names: Vec<&str> = grant.id_token_claims.iter().map(String::as_str).collect();
        crate::domain::claims::add(&mut requested, user, &names);
        let ctx = &self.ctx;
        let now = ctx.clock.now().unix_timestamp();
        let claims = IdTokenClaims {
            iss: &ctx.issuer,
            sub: &grant.user_id,
            aud: &client.id,
            exp: exp.max(now + 60),
            iat: now,
            auth_time: grant.auth_time.unix_timestamp(),
            nonce: grant.nonce.as_deref(),
            amr: &grant.amr,
            sid: &grant.sid,
            at_hash: at_hash(access_token),
            acr: grant.acr.as_deref(),
            requested,
        };
        let ring = ctx.keys.ring();
        let key = ring
            .active(client.id_token_alg)
            .ok_or_else(OAuthError::server_error)?;
        jwt::sign(key, JwtType::IdToken, &claims).map_err(|_| OAuthError::server_error())
    }

    /// Verifies a user access token for `/userinfo`: signature, issuer,
    /// audience, expiry, and the revocation list.
    pub async fn verify_user_token(&self, token: &str) -> Result<UserAccessClaims, BearerError> {
        let ctx = &self.ctx;
        let claims: UserAccessClaims = jwt::verify(
            &ctx.keys.ring(),
            token,
            JwtType::AccessToken,
            &ctx.issuer,
            &ctx.issuer,
        )
        .map_err(|_| BearerError::Invalid)?;
        let now = ctx.clock.now();
        if now.unix_timestamp() >= claims.exp {
            return Err(BearerError::Expired);
        }
        match ctx.store.get(Ns::RevokedToken, &claims.jti, now).await {
            Ok(None) => Ok(claims),
            Ok(Some(_)) => Err(BearerError::Invalid),
            Err(e) => Err(BearerError::Unavailable(e.to_string())),
        }
    }

    /// Authenticates the client at the token endpoint; failures are audited.
    pub async fn authenticate_client(
        &self,
        presented: PresentedCredentials<'_>,
        meta: &RequestMeta,
    ) -> Result<Arc<Client>, OAuthError> {
        let result = match presented.assertion {
            Some(_) if presented.basic.is_some() || presented.form_secret.is_some() => {
                Err(OAuthError::invalid_request(
                    "use one client authentication method, not an assertion and a secret",
                ))
            }
            Some(assertion) => {
                super::assertion::authenticate(
                    &self.ctx,
                    presented.assertion_type,
                    assertion,
                    presented.form_id,
                )
                .await
            }
            None => self.ctx.clients.authenticate(presented).await,
        };
        if let Ok(client) = &result
            && !self
                .ctx
                .token_limiter
                .allow(&client.id, self.ctx.clock.now())
        {
            return Err(OAuthError::new(
                OAuthErrorCode::SlowDown,
                "too many token requests for this client; retry in a second",
            ));
        }
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
    pub async fn authenticate_bearer(
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
        match ctx
            .store
            .get(Ns::RevokedToken, &claims.jti, ctx.clock.now())
            .await
        {
            Ok(None) => {}
            Ok(Some(_)) => return Err(BearerError::Invalid),
            Err(e) => return Err(BearerError::Unavailable(e.to_string())),
        }
        let mut permissions: Vec<Permission> = claims
            .scope
            .split(' ')
            .filter_map(Permission::parse)
            .collect();
        if claims.sub == claims.client_id {
            return Ok(Caller {
                actor: Actor::client(claims.client_id),
                permissions,
                roles: Vec::new(),
                upn: None,
                meta,
            });
        }
        // A signed-in administrator: roles come from the directory now, so a
        // role removed or an account disabled takes effect at once.
        // Revoked sessions ("sign out everywhere") end delegated tokens too.
        let auth_time = claims
            .auth_time
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .ok_or(BearerError::Invalid)?;
        let user = match ctx.store.get_user(&claims.sub).await {
            Ok(Some(u)) if u.sign_in_valid(auth_time) => u,
            Ok(_) => return Err(BearerError::Invalid),
            Err(e) => return Err(BearerError::Unavailable(e.to_string())),
        };
        let allowed = crate::domain::roles::permissions_of(&user.roles);
        permissions.retain(|p| allowed.contains(p));
        Ok(Caller {
            actor: Actor::user(claims.sub),
            permissions,
            upn: Some(user.upn.into()),
            roles: user.roles,
            meta,
        })
    }
}

/// RFC 7636 §4.1, §4.6: a verifier of 43 to 128 unreserved characters whose
/// S256 hash is the challenge (compared in constant time).
fn verifier_matches(challenge: &str, verifier: &str) -> bool {
    let valid = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let computed = b64url::encode(&crate::crypto::sha256(verifier.as_bytes()));
    valid
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            computed.as_bytes(),
            challenge.as_bytes(),
        ))
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
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            grant_types: vec![GrantType::ClientCredentials],
            auth_method: ClientAuthMethod::ClientSecretBasic,
            id_token_alg: SigningAlg::RS256,
            access_token_alg: SigningAlg::ES256,
            permissions: perms,
            delegated_permissions: vec![],
            jwks: None,
            introspection_audiences: vec![],
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

/// Property tests (`prop_*`; `PROPTEST_CASES` sets the number of cases).
#[cfg(test)]
mod proptests {
    use super::*;
    use crate::domain::client::{ClientAuthMethod, SigningAlg};
    use proptest::prelude::*;

    fn client(permissions: Vec<Permission>) -> Client {
        Client {
            id: "c".into(),
            name: None,
            secret_sha256: Some([0; 32]),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            grant_types: vec![GrantType::ClientCredentials],
            auth_method: ClientAuthMethod::ClientSecretBasic,
            id_token_alg: SigningAlg::RS256,
            access_token_alg: SigningAlg::ES256,
            permissions,
            delegated_permissions: vec![],
            jwks: None,
            introspection_audiences: vec![],
        }
    }

    fn challenge_of(verifier: &str) -> String {
        b64url::encode(&crate::crypto::sha256(verifier.as_bytes()))
    }

    proptest! {
        #[test]
        fn prop_pkce_verifier_matches_only_its_challenge(
            verifier in "[A-Za-z0-9._~-]{43,128}",
            other in prop_oneof!["[A-Za-z0-9._~-]{43,128}", "[ -~]{0,130}", any::<String>()],
            cut in any::<prop::sample::Index>(),
        ) {
            let challenge = challenge_of(&verifier);
            prop_assert!(verifier_matches(&challenge, &verifier));
            if other != verifier {
                prop_assert!(!verifier_matches(&challenge, &other));
            }
            // A verifier out of shape never matches, even its own hash.
            let ok_shape = (43..=128).contains(&other.len())
                && other.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            prop_assert_eq!(verifier_matches(&challenge_of(&other), &other), ok_shape);
            // Nor does a cut challenge (plain or truncated).
            let short = &challenge[..cut.index(challenge.len())];
            prop_assert!(!verifier_matches(short, &verifier));
            prop_assert!(!verifier_matches(&verifier, &verifier));
        }

        #[test]
        fn prop_grant_scope_grants_only_the_clients_permissions(
            granted in proptest::sample::subsequence(Permission::ALL.to_vec(), 0..=6),
            asked in proptest::collection::vec(
                prop_oneof![
                    proptest::sample::select(Permission::ALL.to_vec()).prop_map(|p| p.as_str().to_owned()),
                    Just(String::new()),
                    "[a-zA-Z.]{0,10}",
                ],
                0..6,
            ),
            sep in prop_oneof![Just(" "), Just("  ")],
        ) {
            let c = client(granted.clone());
            let requested = asked.join(sep);
            match grant_scope(&c, Some(&requested)) {
                Ok(scope) => {
                    let parts: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
                    let mut seen = Vec::new();
                    for p in &parts {
                        prop_assert!(granted.iter().any(|g| g.as_str() == *p), "{}", p);
                        prop_assert!(!seen.contains(p), "{} twice", p);
                        seen.push(*p);
                    }
                    if requested.trim().is_empty() {
                        prop_assert_eq!(parts.len(), granted.len());
                    } else {
                        for a in asked.iter().filter(|a| !a.is_empty()) {
                            prop_assert!(parts.contains(&a.as_str()));
                        }
                    }
                }
                Err(e) => {
                    prop_assert_eq!(e.code, OAuthErrorCode::InvalidScope);
                    prop_assert!(asked.iter().any(|a| !a.is_empty()
                        && !granted.iter().any(|g| g.as_str() == a.as_str())));
                }
            }
        }
    }
}
