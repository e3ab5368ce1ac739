//! `/authorize` (RFC 6749 §4.1, OIDC Core §3.1.2, RFC 7636, RFC 9207):
//! validate, remember the request, and either ask the person to sign in or,
//! with a session that satisfies the request, answer with a code at once.

use std::collections::HashMap;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

use super::audit::{Entry, user_target};
use super::session::Sessions;
use super::{Context, RequestMeta};
use crate::crypto::keys::JwtType;
use crate::crypto::{jwt, random, sha256};
use crate::domain::DomainError;
use crate::domain::audit::{Actor, AuditEventType, Outcome};
use crate::domain::authz::{AuthorizationRequest, CodeGrant, Prompt, Session};
use crate::domain::client::{Client, GrantType};
use crate::domain::oauth::{OAuthError, OAuthErrorCode};
use crate::domain::permission::Permission;
use crate::store::Ns;

pub const REQUEST_TTL: Duration = Duration::minutes(10);
pub const CODE_TTL: Duration = Duration::seconds(60);

/// Scopes we grant; others are ignored (RFC 6749 §3.3 lets us narrow).
/// The scopes discovery advertises, so the two cannot drift apart.
const KNOWN_SCOPES: [&str; 6] = super::discovery::SCOPES;

/// Query or form parameters, with repeats kept so they can be refused.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, Vec<String>>);

impl Params {
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            map.entry(k.into()).or_default().push(v.into());
        }
        Self(map)
    }

    /// The single value of `name`; empty counts as absent (RFC 6749 §3.1).
    fn one(&self, name: &str) -> Result<Option<&str>, String> {
        match self.0.get(name).map(Vec::as_slice) {
            None => Ok(None),
            Some([v]) => Ok(Some(v.as_str()).filter(|v| !v.is_empty())),
            Some(_) => Err(format!("parameter {name} appears more than once")),
        }
    }
}

/// What the browser should see next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// The client or redirect URI cannot be trusted: show a page, never redirect.
    ErrorPage { title: &'static str, detail: String },
    /// Back to the relying party (with a code or an error).
    Redirect(String),
    /// The person must sign in; `request_id` names the stored request.
    SignIn { request_id: String },
    /// Signed in with a TAP; a passkey must (or may) be registered first.
    Enroll { request_id: String },
}

pub struct AuthorizeService {
    ctx: Arc<Context>,
    sessions: Sessions,
}

/// The redirect URI with `params` added to its query.
pub fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        return redirect_uri.to_owned();
    }
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            url.into()
        }
        Err(_) => redirect_uri.to_owned(),
    }
}

fn is_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

impl AuthorizeService {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self {
            sessions: Sessions::new(ctx.clone()),
            ctx,
        }
    }

    fn error_redirect(&self, redirect_uri: &str, state: Option<&str>, e: &OAuthError) -> Next {
        let mut params = vec![
            ("error", e.code.as_str()),
            ("error_description", e.description.as_ref()),
        ];
        if let Some(s) = state {
            params.push(("state", s));
        }
        params.push(("iss", &self.ctx.issuer));
        Next::Redirect(redirect_with(redirect_uri, &params))
    }

    /// Handles a GET or POST to `/authorize`.
    pub async fn authorize(
        &self,
        params: &Params,
        session_secret: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<Next, DomainError> {
        // Until client and redirect URI are trusted, errors go to a page.
        let page = |detail: String| Next::ErrorPage {
            title: "This sign-in link is not valid",
            detail,
        };
        let client_id = match params.one("client_id") {
            Ok(Some(id)) => id,
            Ok(None) => return Ok(page("The request has no client_id.".into())),
            Err(e) => return Ok(page(e)),
        };
        let client = match self.ctx.clients.find(client_id).await? {
            Some(c) => c,
            None => {
                return Ok(page(format!(
                    "The application {client_id:?} is not registered."
                )));
            }
        };
        let redirect_uri = match params.one("redirect_uri") {
            Ok(Some(uri)) if client.redirect_uris.iter().any(|r| r == uri) => uri.to_owned(),
            Ok(Some(_)) => {
                return Ok(page(
                    "The redirect_uri is not registered for this application.".into(),
                ));
            }
            Ok(None) => return Ok(page("The request has no redirect_uri.".into())),
            Err(e) => return Ok(page(e)),
        };
        let state = params.one("state").ok().flatten().map(str::to_owned);
        match self.validate(params, &client, &redirect_uri) {
            Ok(request) => self.proceed(request, session_secret, meta).await,
            Err(e) => Ok(self.error_redirect(&redirect_uri, state.as_deref(), &e)),
        }
    }

    fn validate(
        &self,
        params: &Params,
        client: &Client,
        redirect_uri: &str,
    ) -> Result<AuthorizationRequest, OAuthError> {
        let one = |name: &str| params.one(name).map_err(OAuthError::invalid_request);
        if one("request")?.is_some() {
            return Err(OAuthError::new(
                OAuthErrorCode::RequestNotSupported,
                "request objects are not supported",
            ));
        }
        if one("request_uri")?.is_some() {
            return Err(OAuthError::new(
                OAuthErrorCode::RequestUriNotSupported,
                "request_uri is not supported",
            ));
        }
        match one("response_type")? {
            None => return Err(OAuthError::invalid_request("response_type is required")),
            Some("code") => {}
            Some(other) => {
                return Err(OAuthError::new(
                    OAuthErrorCode::UnsupportedResponseType,
                    format!("response_type {other} is not supported; use code"),
                ));
            }
        }
        if !client.allows_grant(GrantType::AuthorizationCode) {
            return Err(OAuthError::new(
                OAuthErrorCode::UnauthorizedClient,
                "this client may not use the authorization code flow",
            ));
        }
        if let Some(mode) = one("response_mode")?
            && mode != "query"
        {
            return Err(OAuthError::invalid_request("response_mode must be query"));
        }
        let requested = one("scope")?.unwrap_or_default();
        let mut scope: Vec<String> = Vec::new();
        for s in requested.split(' ').filter(|s| !s.is_empty()) {
            // Admin API permissions are delegated scopes for clients allowed
            // them; the signed-in user's roles trim them at the token endpoint.
            let delegated =
                Permission::parse(s).is_some_and(|p| client.delegated_permissions.contains(&p));
            if (KNOWN_SCOPES.contains(&s) || delegated) && !scope.iter().any(|x| x == s) {
                scope.push(s.to_owned());
            }
        }
        if !scope.iter().any(|s| s == "openid") {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidScope,
                "scope must include openid",
            ));
        }
        let code_challenge = one("code_challenge")?;
        match one("code_challenge_method")? {
            None | Some("S256") => {}
            Some(_) => {
                return Err(OAuthError::invalid_request(
                    "code_challenge_method must be S256",
                ));
            }
        }
        if one("code_challenge_method")?.is_some() && code_challenge.is_none() {
            return Err(OAuthError::invalid_request(
                "code_challenge_method without code_challenge",
            ));
        }
        if code_challenge.is_some() && one("code_challenge_method")? != Some("S256") {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256 (plain is not allowed)",
            ));
        }
        if let Some(c) = code_challenge
            && !is_pkce_value(c)
        {
            return Err(OAuthError::invalid_request(
                "code_challenge must be 43 to 128 unreserved characters",
            ));
        }
        if client.is_public() && code_challenge.is_none() {
            return Err(OAuthError::invalid_request(
                "PKCE (code_challenge with S256) is required for public clients",
            ));
        }
        let mut prompt = Prompt::default();
        for p in one("prompt")?
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
        {
            match p {
                "none" => prompt.none = true,
                "login" | "select_account" => prompt.login = true,
                "consent" => prompt.consent = true,
                other => {
                    return Err(OAuthError::invalid_request(format!(
                        "prompt value {other} is not supported"
                    )));
                }
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err(OAuthError::invalid_request(
                "prompt=none cannot be combined with other values",
            ));
        }
        let max_age = match one("max_age")? {
            None => None,
            Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                OAuthError::invalid_request("max_age must be a non-negative integer")
            })?),
        };
        let short = |name: &str, max: usize| -> Result<Option<String>, OAuthError> {
            match one(name)? {
                Some(v) if v.len() > max => {
                    Err(OAuthError::invalid_request(format!("{name} is too long")))
                }
                other => Ok(other.map(str::to_owned)),
            }
        };
        let (id_token_claims, userinfo_claims, claims_acr) = match one("claims")? {
            None => (Vec::new(), Vec::new(), false),
            Some(json) if json.len() <= 4096 => crate::domain::claims::parse_request(json)
                .map_err(|e| OAuthError::invalid_request(e.to_string()))?,
            Some(_) => return Err(OAuthError::invalid_request("claims is too long")),
        };
        Ok(AuthorizationRequest {
            client_id: client.id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            scope,
            state: short("state", 2048)?,
            nonce: short("nonce", 512)?,
            code_challenge: code_challenge.map(str::to_owned),
            prompt,
            max_age,
            login_hint: short("login_hint", 256)?,
            acr_values: match (short("acr_values", 512)?, claims_acr) {
                (Some(v), _) => Some(v),
                (None, true) => Some("phr".into()),
                (None, false) => None,
            },
            id_token_claims,
            userinfo_claims,
            created: self.ctx.clock.now(),
            // A hint that is not an ID token of ours names nobody.
            hinted_subject: one("id_token_hint")?.and_then(|t| self.id_token_hint_subject(t)),
        })
    }

    async fn proceed(
        &self,
        request: AuthorizationRequest,
        session_secret: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<Next, DomainError> {
        let now = self.ctx.clock.now();
        let mut session = match session_secret {
            Some(secret) => self.sessions.get(secret).await?,
            None => None,
        };
        let mut ended = false;
        // A session of someone other than the hinted user never answers.
        if let Some(s) = &session
            && self.satisfies(&request, s, now)
            && request.allows_subject(&s.user_id)
            && !self.must_enroll(&s.user_id).await?
        {
            match self.issue_code(&request, s, session_secret, meta).await? {
                Some(url) => return Ok(Next::Redirect(url)),
                // Signed out meanwhile: as if there had been no session.
                None => ended = true,
            }
        }
        if ended {
            session = None;
        }
        if request.prompt.none {
            let e = OAuthError::new(
                if session
                    .as_ref()
                    .is_some_and(|s| request.allows_subject(&s.user_id))
                {
                    OAuthErrorCode::InteractionRequired
                } else {
                    OAuthErrorCode::LoginRequired
                },
                "the person must sign in",
            );
            return Ok(self.error_redirect(&request.redirect_uri, request.state.as_deref(), &e));
        }
        let id = random::token::<24>(&*self.ctx.rng)?;
        let json =
            serde_json::to_vec(&request).map_err(|e| DomainError::Internal(e.to_string()))?;
        self.ctx
            .store
            .put(Ns::AuthorizationRequest, &id, &json, now + REQUEST_TTL, now)
            .await?;
        // Signed in with a TAP but not yet enrolled: back to enrollment
        // (only the hinted user, if the request names one).
        if let Some(s) = &session
            && self.satisfies(&request, s, now)
            && request.allows_subject(&s.user_id)
            && s.can_enroll(now)
        {
            return Ok(Next::Enroll { request_id: id });
        }
        Ok(Next::SignIn { request_id: id })
    }

    /// `sub` of an ID token we issued (signature checked; expiry not, as
    /// OIDC Core §3.1.2.1 allows an expired hint).
    fn id_token_hint_subject(&self, token: &str) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Hint {
            sub: String,
        }
        let ring = self.ctx.keys.ring();
        jwt::verify_any_audience::<Hint>(&ring, token, JwtType::IdToken, &self.ctx.issuer)
            .ok()
            .map(|h| h.sub)
    }

    /// Does `session` answer `request` without asking the person again?
    fn satisfies(
        &self,
        request: &AuthorizationRequest,
        session: &Session,
        now: OffsetDateTime,
    ) -> bool {
        if !session.is_live(now) {
            return false;
        }
        if request.prompt.login && session.auth_time < request.created {
            return false;
        }
        if let Some(max_age) = request.max_age
            && now - session.auth_time > Duration::seconds(max_age)
        {
            return false;
        }
        true
    }

    /// A user without a passkey must register one first (policy) - if
    /// they may register one at all: someone outside the passkey policy's
    /// targets (or with passkeys or self-service registration off) is
    /// never asked to.
    pub async fn must_enroll(&self, user_id: &str) -> Result<bool, DomainError> {
        let policy = self.ctx.store.get_policy().await?.unwrap_or_default();
        if !policy.passkey.registration_required
            || !super::enrollment::may_register(&self.ctx, &policy.passkey, user_id).await?
        {
            return Ok(false);
        }
        Ok(self.ctx.store.list_credentials(user_id).await?.is_empty())
    }

    /// After sign-in (or enrollment): continue the stored request.
    pub async fn resume(
        &self,
        request_id: &str,
        session_secret: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<Next, DomainError> {
        let now = self.ctx.clock.now();
        let raw = self
            .ctx
            .store
            .get(Ns::AuthorizationRequest, request_id, now)
            .await?
            .ok_or(DomainError::NotFound("sign-in request"))?;
        let request: AuthorizationRequest =
            serde_json::from_slice(&raw).map_err(|e| DomainError::Internal(e.to_string()))?;
        let session = match session_secret {
            Some(secret) => self.sessions.get(secret).await?,
            None => None,
        };
        let Some(session) = session.filter(|s| self.satisfies(&request, s, now)) else {
            return Ok(Next::SignIn {
                request_id: request_id.to_owned(),
            });
        };
        // The id_token_hint named someone else: that person must sign in
        // (the sign-in page says why); no code for this session's user.
        if !request.allows_subject(&session.user_id) {
            if request.prompt.none {
                self.ctx
                    .store
                    .delete(Ns::AuthorizationRequest, request_id)
                    .await?;
                let e = OAuthError::new(OAuthErrorCode::LoginRequired, "the person must sign in");
                return Ok(self.error_redirect(
                    &request.redirect_uri,
                    request.state.as_deref(),
                    &e,
                ));
            }
            return Ok(Next::SignIn {
                request_id: request_id.to_owned(),
            });
        }
        if self.must_enroll(&session.user_id).await? {
            return Ok(Next::Enroll {
                request_id: request_id.to_owned(),
            });
        }
        // The request is used once.
        if self
            .ctx
            .store
            .take(Ns::AuthorizationRequest, request_id, now)
            .await?
            .is_none()
        {
            return Err(DomainError::NotFound("sign-in request"));
        }
        match self
            .issue_code(&request, &session, session_secret, meta)
            .await?
        {
            Some(url) => Ok(Next::Redirect(url)),
            None => {
                // Signed out meanwhile: no code; the request waits for a
                // new sign-in.
                self.ctx
                    .store
                    .put_new(
                        Ns::AuthorizationRequest,
                        request_id,
                        &raw,
                        request.created + REQUEST_TTL,
                        now,
                    )
                    .await?;
                Ok(Next::SignIn {
                    request_id: request_id.to_owned(),
                })
            }
        }
    }

    /// Is the browser signed in as someone other than the user the
    /// request's `id_token_hint` names? The sign-in page then says so.
    pub async fn signed_in_as_other(
        &self,
        request: &AuthorizationRequest,
        session_secret: Option<&str>,
    ) -> Result<bool, DomainError> {
        if request.hinted_subject.is_none() {
            return Ok(false);
        }
        let session = match session_secret {
            Some(secret) => self.sessions.get(secret).await?,
            None => None,
        };
        Ok(session.is_some_and(|s| !request.allows_subject(&s.user_id)))
    }

    /// Reads a stored request (for pages: login hint, client name).
    pub async fn pending(&self, request_id: &str) -> Result<AuthorizationRequest, DomainError> {
        let now = self.ctx.clock.now();
        let raw = self
            .ctx
            .store
            .get(Ns::AuthorizationRequest, request_id, now)
            .await?
            .ok_or(DomainError::NotFound("sign-in request"))?;
        serde_json::from_slice(&raw).map_err(|e| DomainError::Internal(e.to_string()))
    }

    /// A code for `request` from `session`: the redirect to the client, or
    /// `None` when the session ended meanwhile (no code then).
    async fn issue_code(
        &self,
        request: &AuthorizationRequest,
        session: &Session,
        session_secret: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<Option<String>, DomainError> {
        // Callers check this first; never a code for someone not hinted.
        if !request.allows_subject(&session.user_id) {
            return Err(DomainError::Forbidden(
                "the application asked for a different account".into(),
            ));
        }
        let now = self.ctx.clock.now();
        let user = self
            .ctx
            .store
            .get_user(&session.user_id)
            .await?
            .filter(|u| u.account_enabled)
            .ok_or(DomainError::Forbidden("this account is disabled".into()))?;
        // Record the client first (back-channel logout), atomically: a
        // session that a logout deleted meanwhile gets no code and stays
        // deleted.
        if let Some(secret) = session_secret
            && !self.sessions.add_client(secret, &request.client_id).await?
        {
            return Ok(None);
        }
        let code = random::token::<32>(&*self.ctx.rng)?;
        let grant = CodeGrant {
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            user_id: session.user_id.clone(),
            sid: session.sid.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            auth_time: session.auth_time,
            amr: session.amr.clone(),
            acr: request
                .acr_values
                .as_ref()
                .map(|_| session.acr().to_owned()),
            id_token_claims: request.id_token_claims.clone(),
            userinfo_claims: request.userinfo_claims.clone(),
            session_expires_at: session.expires_at,
        };
        let json = serde_json::to_vec(&grant).map_err(|e| DomainError::Internal(e.to_string()))?;
        self.ctx
            .store
            .put(
                Ns::Code,
                &hex::encode(sha256(code.as_bytes())),
                &json,
                now + CODE_TTL,
                now,
            )
            .await?;
        self.ctx
            .audit
            .record(
                Entry {
                    event_type: AuditEventType::CodeIssued,
                    actor: Actor::user(&user.id),
                    target: Some(user_target(&user.id, user.upn.as_str())),
                    meta,
                    outcome: Outcome::Success,
                    detail: Some(format!("client {}", request.client_id)),
                },
                now,
            )
            .await?;
        let mut params = vec![("code", code.as_str())];
        if let Some(s) = &request.state {
            params.push(("state", s));
        }
        params.push(("iss", &self.ctx.issuer));
        Ok(Some(redirect_with(&request.redirect_uri, &params)))
    }
}
