//! `/authorize` (RFC 6749 §4.1, OIDC Core §3.1.2, RFC 7636, RFC 9207):
//! validate, remember the request, and either ask the person to sign in or,
//! with a session that satisfies the request, answer with a code at once.

use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use webauthn_rs::prelude::RequestChallengeResponse;

use super::audit::{Entry, user_target};
use super::session::{Live, Sessions};
use super::signin::{Ceremony, PasskeyCeremony, start_usernameless};
use super::{Context, RequestMeta};
use crate::crypto::keys::JwtType;
use crate::crypto::{jwt, random, sha256};
use crate::domain::DomainError;
use crate::domain::audit::{Actor, AuditEventType, Outcome};
use crate::domain::authz::{AuthorizationRequest, CodeGrant, Session};
use crate::domain::client::Client;
use crate::domain::oauth::{OAuthError, OAuthErrorCode};
use crate::domain::protocol::{self, AuthorizeRequest};
use crate::domain::user::User;
use crate::store::Ns;
use crate::store::batch::{Put, Step};
use crate::store::records::{FixedLifetime, Records};

pub use crate::domain::protocol::Params;

/// How `/authorize` may answer a person who must sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// With the sign-in page itself ([`Next::SignInPage`]).
    Page,
    /// By sending the browser on to it ([`Next::SignIn`]).
    Redirect,
}

/// What the browser should see next.
#[derive(Debug)]
pub enum Next {
    /// The client or redirect URI cannot be trusted: show a page, never redirect.
    ErrorPage { title: &'static str, detail: String },
    /// Back to the relying party (with a code or an error).
    Redirect(String),
    /// The person must sign in; `request_id` names the stored request
    /// (from [`AuthorizeService::resume`], or [`Answer::Redirect`]).
    SignIn { request_id: String },
    /// The person must sign in to the request stored just now: its sign-in
    /// page is the answer itself (one browser round trip fewer).
    SignInPage(Box<SignInHere>),
    /// Signed in with a TAP; a passkey must (or may) be registered first.
    Enroll { request_id: String },
}

/// What the sign-in page of a request stored just now shows.
#[derive(Debug)]
pub struct SignInHere {
    pub request_id: String,
    /// The name to prefill.
    pub login_hint: Option<String>,
    /// The application's name (its id where it has none).
    pub app_name: String,
    /// Signed in, but not as the user the request's `id_token_hint` names:
    /// the page says why it is shown.
    pub other_account: bool,
    /// The ceremony of the page's autofill (conditional) passkey request,
    /// stored with the request; none where passkeys are off.
    pub ceremony: Option<PasskeyCeremony>,
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
        answer: Answer,
        meta: &RequestMeta,
    ) -> Result<Next, DomainError> {
        // Until client and redirect URI are trusted, errors go to a page.
        let page = |detail: String| Next::ErrorPage {
            title: "This sign-in link is not valid",
            detail,
        };
        let client_id = match protocol::authorize::client_id(params) {
            Ok(id) => id,
            Err(why) => return Ok(page(why)),
        };
        let Some(client) = self.ctx.clients.find(client_id).await? else {
            return Ok(page(format!(
                "The application {client_id:?} is not registered."
            )));
        };
        let redirect_uri = match protocol::authorize::redirect_uri(params, &client) {
            Ok(uri) => uri,
            Err(why) => return Ok(page(why)),
        };
        let state = params.one("state").ok().flatten();
        match self.validate(params, &client, redirect_uri) {
            Ok(request) => {
                self.proceed(request, &client, session_secret, answer, meta)
                    .await
            }
            Err(e) => Ok(self.error_redirect(redirect_uri, state, &e)),
        }
    }

    /// The request's rules ([`AuthorizeRequest::parse`]), and the subject
    /// of its `id_token_hint`.
    fn validate(
        &self,
        params: &Params,
        client: &Client,
        redirect_uri: &str,
    ) -> Result<AuthorizationRequest, OAuthError> {
        let parsed = AuthorizeRequest::parse(params, client, redirect_uri, self.ctx.clock.now())?;
        let mut request = parsed.request;
        // A hint that is not an ID token of ours names nobody.
        request.hinted_subject = parsed
            .id_token_hint
            .and_then(|t| self.id_token_hint_subject(t));
        Ok(request)
    }

    async fn proceed(
        &self,
        request: AuthorizationRequest,
        client: &Client,
        session_secret: Option<&str>,
        answer: Answer,
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
        // Signed in with a TAP but not yet enrolled: back to enrollment
        // (only the hinted user, if the request names one).
        if let Some(s) = &session
            && self.satisfies(&request, s, now)
            && request.allows_subject(&s.user_id)
            && s.can_enroll(now)
        {
            self.ctx.store.put_fixed(&id, &request, now).await?;
            return Ok(Next::Enroll { request_id: id });
        }
        if answer == Answer::Redirect {
            self.ctx.store.put_fixed(&id, &request, now).await?;
            return Ok(Next::SignIn { request_id: id });
        }
        let other_account = other_account(&request, session.as_deref());
        let ceremony = match self.autofill_ceremony() {
            Some((options, state)) => Some((random::token::<24>(&*self.ctx.rng)?, options, state)),
            None => None,
        };
        // The request and its page's ceremony together: one round trip on
        // a Redis server.
        let mut steps = vec![Step::Put(Put::fixed(&id, &request, now)?)];
        if let Some((ceremony_id, _, state)) = &ceremony {
            steps.push(Step::Put(Put::fixed(ceremony_id, state, now)?));
        }
        self.ctx.store.batch(&steps, now).await?;
        Ok(Next::SignInPage(Box::new(SignInHere {
            request_id: id,
            login_hint: request.login_hint,
            app_name: client.display_name(),
            other_account,
            ceremony: ceremony.map(|(id, options, _)| PasskeyCeremony { options, id }),
        })))
    }

    /// The sign-in page's usernameless ceremony (for the browser's autofill
    /// request); none where passkeys are off or it could not be started
    /// (the page then asks for one).
    fn autofill_ceremony(&self) -> Option<(RequestChallengeResponse, Ceremony)> {
        let webauthn = self.ctx.webauthn.as_deref()?;
        start_usernameless(webauthn)
            .inspect_err(|e| {
                tracing::warn!(error = %e, "the sign-in page's passkey ceremony could not be started");
            })
            .ok()
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

    fn satisfies(
        &self,
        request: &AuthorizationRequest,
        session: &Session,
        now: OffsetDateTime,
    ) -> bool {
        satisfies(request, session, now)
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
        let request: AuthorizationRequest = self
            .ctx
            .store
            .get_record(request_id, now)
            .await?
            .ok_or(DomainError::NotFound("sign-in request"))?;
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
            .take_record::<AuthorizationRequest>(request_id, now)
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
                    .put_new_record(
                        request_id,
                        &request,
                        request.created + AuthorizationRequest::TTL,
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
        Ok(other_account(request, session.as_deref()))
    }

    /// Reads a stored request (for pages: login hint, client name).
    pub async fn pending(&self, request_id: &str) -> Result<AuthorizationRequest, DomainError> {
        let now = self.ctx.clock.now();
        self.ctx
            .store
            .get_record(request_id, now)
            .await?
            .ok_or(DomainError::NotFound("sign-in request"))
    }

    /// A code for `request` from `session`: the redirect to the client, or
    /// `None` when the session ended meanwhile (no code then).
    async fn issue_code(
        &self,
        request: &AuthorizationRequest,
        session: &Live,
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
        // Read with the session (which holds only while the account is
        // enabled).
        let user = Some(&session.user)
            .filter(|u| u.account_enabled)
            .ok_or(DomainError::Forbidden("this account is disabled".into()))?;
        // Record the client first (back-channel logout), atomically: a
        // session that a logout deleted meanwhile gets no code and stays
        // deleted.
        if let Some(secret) = session_secret
            && !self
                .sessions
                .add_client_to(secret, session, &request.client_id)
                .await?
        {
            return Ok(None);
        }
        let code = new_code(&self.ctx, request, session)?;
        self.ctx
            .store
            .put_fixed(&code.key, &code.grant, now)
            .await?;
        self.ctx
            .audit
            .record(code_issued(user, &request.client_id, meta), now)
            .await?;
        Ok(Some(code.redirect))
    }
}

/// Signed in, but not as the user the request's `id_token_hint` names:
/// the sign-in page then says why it is shown.
fn other_account(request: &AuthorizationRequest, session: Option<&Session>) -> bool {
    request.hinted_subject.is_some() && session.is_some_and(|s| !request.allows_subject(&s.user_id))
}

/// Does `session` answer `request` without asking the person again?
fn satisfies(request: &AuthorizationRequest, session: &Session, now: OffsetDateTime) -> bool {
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

/// Whether a sign-in that just made `session`, for someone who has a
/// passkey (so nothing to enroll), answers `request` at once.
pub(crate) fn answers_at_once(
    request: &AuthorizationRequest,
    session: &Session,
    now: OffsetDateTime,
) -> bool {
    satisfies(request, session, now) && request.allows_subject(&session.user_id)
}

/// A code for `request` from `session`, not yet stored.
pub(crate) struct NewCode {
    /// The stored code's id (its hash).
    pub key: String,
    pub grant: CodeGrant,
    /// The redirect to the client with the code.
    pub redirect: String,
}

pub(crate) fn new_code(
    ctx: &Context,
    request: &AuthorizationRequest,
    session: &Session,
) -> Result<NewCode, DomainError> {
    let code = random::token::<32>(&*ctx.rng)?;
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
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &request.state {
        params.push(("state", s));
    }
    params.push(("iss", &ctx.issuer));
    Ok(NewCode {
        key: hex::encode(sha256(code.as_bytes())),
        redirect: redirect_with(&request.redirect_uri, &params),
        grant,
    })
}

/// The `code.issued` event.
pub(crate) fn code_issued<'a>(user: &User, client_id: &str, meta: &'a RequestMeta) -> Entry<'a> {
    Entry {
        event_type: AuditEventType::CodeIssued,
        actor: Actor::user(&user.id),
        target: Some(user_target(&user.id, user.upn.as_str())),
        meta,
        outcome: Outcome::Success,
        detail: Some(format!("client {client_id}")),
    }
}

/// Property tests (`prop_*`; `PROPTEST_CASES` sets the number of cases) of
/// the whole `/authorize` validation, on a real context (embedded store).
#[cfg(test)]
mod proptests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::config::{ClientSettings, Settings};
    use crate::crypto::b64url;
    use crate::crypto::random::OsRandom;
    use crate::domain::authz::SignInMethod;
    use crate::domain::claims::USER_CLAIMS;
    use crate::domain::client::ClientAuthMethod;
    use crate::domain::client::GrantType;
    use crate::domain::permission::Permission;
    use crate::domain::protocol::SCOPES as KNOWN_SCOPES;
    use crate::domain::protocol::authorize::is_pkce_value;
    use crate::domain::user::NewUser;
    use proptest::prelude::*;
    use std::sync::LazyLock;

    const ISSUER: &str = "http://localhost:8080";
    const RP_URIS: [&str; 2] = ["https://rp.example/cb", "https://rp.example/cb?tenant=a"];
    const SPA_URI: &str = "http://localhost:9/cb";
    const M2M_URI: &str = "https://m2m.example/cb";

    struct Fixture {
        rt: tokio::runtime::Runtime,
        service: AuthorizeService,
        ctx: Arc<Context>,
        /// A live passkey session signed in an hour before `now`.
        session_secret: String,
        _dir: tempfile::TempDir,
    }

    fn client(id: &str, uris: &[&str], grants: Vec<GrantType>) -> ClientSettings {
        ClientSettings {
            id: id.into(),
            name: None,
            secret: Some(format!("{id}-secret-0123456789-0123456789")),
            secret_sha256: None,
            grant_types: grants,
            permissions: vec![],
            delegated_permissions: vec![],
            redirect_uris: uris.iter().map(|u| (*u).to_owned()).collect(),
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            token_endpoint_auth_method: None,
            id_token_alg: None,
            access_token_alg: None,
            jwks: None,
            introspection_audiences: vec![],
        }
    }

    static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        // tmpfs where there is one: the audit log's writes are durable.
        let dir = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        let mut settings = Settings::default();
        settings.server.issuer = ISSUER.into();
        settings.store.url = format!("embedded:{}", dir.path().join("o.redb").display());
        let mut rp = client(
            "rp",
            &RP_URIS,
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        );
        rp.delegated_permissions = vec![Permission::UserReadWriteAll];
        let mut spa = client("spa", &[SPA_URI], vec![GrantType::AuthorizationCode]);
        spa.secret = None;
        spa.token_endpoint_auth_method = Some(ClientAuthMethod::None);
        let m2m = client("m2m", &[M2M_URI], vec![GrantType::ClientCredentials]);
        settings.clients = vec![rp, spa, m2m];
        let clock = ManualClock::new(time::macros::datetime!(2026-11-25 12:00 UTC));
        let (ctx, session_secret) = rt.block_on(async {
            let store = crate::startup::open_store(&settings).await.unwrap();
            let deps = crate::startup::Deps {
                clock: Arc::new(clock.clone()),
                rng: Arc::new(OsRandom),
            };
            let ctx = crate::startup::build_context(settings, store, deps)
                .await
                .unwrap();
            let now = ctx.clock.now();
            let mut policy = ctx.store.get_policy().await.unwrap().unwrap_or_default();
            policy.passkey.registration_required = false;
            ctx.store.put_policy(&policy).await.unwrap();
            let user = NewUser {
                upn: "ada@example.com".into(),
                display_name: "Ada".into(),
                ..Default::default()
            }
            .into_user("u1".into(), now - Duration::days(1))
            .unwrap();
            ctx.store.create_user(&user).await.unwrap();
            let session = Session {
                sid: "sid1".into(),
                user_id: "u1".into(),
                auth_time: now - Duration::hours(1),
                amr: vec!["hwk".into()],
                method: SignInMethod::Passkey {
                    credential_id: "c1".into(),
                    backup_eligible: false,
                },
                expires_at: now + Duration::hours(8),
                enrollment_deadline: None,
                clients: vec![],
            };
            let secret = Sessions::new(ctx.clone()).create(&session).await.unwrap();
            (ctx, secret)
        });
        Fixture {
            service: AuthorizeService::new(ctx.clone()),
            ctx,
            rt,
            session_secret,
            _dir: dir,
        }
    });

    fn challenge_of(verifier: &str) -> String {
        b64url::encode(&sha256(verifier.as_bytes()))
    }

    /// A mostly valid request for one of the clients, then a few mutations.
    #[derive(Debug, Clone)]
    struct Draft {
        client: &'static str,
        pairs: Vec<(String, String)>,
        /// Valid as generated, before the mutations.
        valid: bool,
        mutated: bool,
    }

    const NAMES: [&str; 20] = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "max_age",
        "login_hint",
        "acr_values",
        "claims",
        "response_mode",
        "request",
        "request_uri",
        "id_token_hint",
        "display",
        "ui_locales",
        "",
    ];

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[ -~]{0,40}",
            1 => any::<String>(),
            1 => Just(String::new()),
            1 => "[a-z ]{0,8}",
            1 => "[0-9-]{0,6}",
            1 => Just("x".repeat(2049)),
        ]
    }

    fn scope() -> impl Strategy<Value = String> {
        let token = proptest::sample::select(vec![
            "openid",
            "profile",
            "email",
            "phone",
            "address",
            "offline_access",
            "User.ReadWrite.All",
            "AuditLog.Read.All",
            "OPENID",
            "junk",
        ]);
        (
            proptest::collection::vec((token, prop_oneof![Just(" "), Just("  ")]), 0..6),
            any::<prop::sample::Index>(),
        )
            .prop_map(|(tokens, at)| {
                let mut parts: Vec<String> =
                    tokens.iter().map(|(t, sep)| format!("{t}{sep}")).collect();
                parts.insert(at.index(parts.len() + 1), "openid ".into());
                parts.concat().trim_end().to_owned()
            })
    }

    fn claims() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(r#"{"userinfo":{"email":null}}"#.to_owned()),
            Just(r#"{"id_token":{"acr":{"essential":true},"name":null}}"#.to_owned()),
            Just(
                r#"{"id_token":null,"userinfo":{"phone_number":{"essential":true},"x":1}}"#
                    .to_owned()
            ),
        ]
    }

    fn draft() -> impl Strategy<Value = Draft> {
        let client = proptest::sample::select(vec!["rp", "rp", "spa", "m2m"]);
        let base = (
            client,
            any::<prop::sample::Index>(),
            scope(),
            proptest::option::of("[ -~]{1,40}"),
            proptest::option::of("[ -~]{1,40}"),
            proptest::option::of("[A-Za-z0-9._~-]{43,128}"),
            proptest::option::of(proptest::sample::select(vec![
                "none",
                "login",
                "consent",
                "select_account",
                "login consent",
                " login ",
            ])),
            proptest::option::of(prop_oneof![0u64..7200, any::<u64>()]),
            proptest::option::of("[a-z@.]{1,30}"),
            proptest::option::of(claims()),
            (
                any::<bool>(),
                any::<bool>(),
                proptest::option::of("[ -~]{1,20}"),
            ),
        );
        let mutations = proptest::collection::vec(
            (
                0u8..5,
                any::<prop::sample::Index>(),
                proptest::sample::select(NAMES.to_vec()),
                text(),
            ),
            0..3,
        );
        (base, mutations).prop_map(
            |(
                (client, uri, scope, state, nonce, verifier, prompt, max_age, hint, claims, extra),
                mutations,
            )| {
                let (response_mode, id_token_hint, acr) = extra;
                let redirect = match client {
                    "rp" => RP_URIS[uri.index(RP_URIS.len())],
                    "spa" => SPA_URI,
                    _ => M2M_URI,
                };
                let mut pairs: Vec<(String, String)> = vec![
                    ("response_type".into(), "code".into()),
                    ("client_id".into(), client.into()),
                    ("redirect_uri".into(), redirect.into()),
                    ("scope".into(), scope),
                ];
                let mut add = |k: &str, v: Option<String>| {
                    if let Some(v) = v {
                        pairs.push((k.into(), v));
                    }
                };
                add("state", state);
                add("nonce", nonce);
                add("code_challenge", verifier.as_deref().map(challenge_of));
                add(
                    "code_challenge_method",
                    verifier.as_ref().map(|_| "S256".into()),
                );
                add("prompt", prompt.map(str::to_owned));
                add("max_age", max_age.map(|n| n.to_string()));
                add("login_hint", hint);
                add("claims", claims);
                add("response_mode", response_mode.then(|| "query".into()));
                add("id_token_hint", id_token_hint.then(|| "not.a.token".into()));
                add("acr_values", acr);
                let valid = client != "m2m"
                    && (client != "spa" || verifier.is_some())
                    && max_age.is_none_or(|n| i64::try_from(n).is_ok());
                let mutated = !mutations.is_empty();
                for (kind, at, name, value) in mutations {
                    let i = at.index(pairs.len());
                    match kind {
                        0 => {
                            pairs.remove(i);
                        }
                        1 => {
                            let p = pairs[i].clone();
                            pairs.push(p);
                        }
                        2 => pairs[i].1 = value,
                        3 => pairs[i].1.clear(),
                        _ => pairs.push((name.into(), value)),
                    }
                    if pairs.is_empty() {
                        break;
                    }
                }
                Draft {
                    client,
                    pairs,
                    valid,
                    mutated,
                }
            },
        )
    }

    /// The single non-empty value of `name`, as `Params::one` should read it.
    fn single<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
        let values: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect();
        match values.as_slice() {
            [v] if !v.is_empty() => Some(v),
            _ => None,
        }
    }

    /// Everything in a validated request came from the input, as read.
    fn check_request(
        req: &AuthorizationRequest,
        client: &Client,
        pairs: &[(String, String)],
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(single(pairs, "response_type"), Some("code"));
        prop_assert!(client.allows_grant(GrantType::AuthorizationCode));
        prop_assert_eq!(&req.client_id, &client.id);
        prop_assert!(client.redirect_uris.contains(&req.redirect_uri));
        prop_assert!(single(pairs, "request").is_none() && single(pairs, "request_uri").is_none());
        // Scope: the known (or delegated) tokens asked for, each once.
        let asked = single(pairs, "scope").unwrap_or_default();
        let mut expected: Vec<&str> = Vec::new();
        for s in asked.split(' ').filter(|s| !s.is_empty()) {
            let delegated =
                Permission::parse(s).is_some_and(|p| client.delegated_permissions.contains(&p));
            if (KNOWN_SCOPES.contains(&s) || delegated) && !expected.contains(&s) {
                expected.push(s);
            }
        }
        prop_assert_eq!(&req.scope, &expected);
        prop_assert!(req.has_scope("openid"));
        let limited = |name: &str, max: usize| {
            single(pairs, name)
                .filter(|v| v.len() <= max)
                .map(str::to_owned)
        };
        prop_assert_eq!(&req.state, &limited("state", 2048));
        prop_assert_eq!(&req.nonce, &limited("nonce", 512));
        prop_assert_eq!(&req.login_hint, &limited("login_hint", 256));
        prop_assert_eq!(
            req.code_challenge.as_deref(),
            single(pairs, "code_challenge")
        );
        if let Some(c) = &req.code_challenge {
            prop_assert!(is_pkce_value(c));
            prop_assert_eq!(single(pairs, "code_challenge_method"), Some("S256"));
        } else {
            prop_assert!(!client.is_public());
            prop_assert!(single(pairs, "code_challenge_method").is_none());
        }
        let words: Vec<&str> = single(pairs, "prompt")
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .collect();
        prop_assert_eq!(req.prompt.none, words.contains(&"none"));
        prop_assert_eq!(
            req.prompt.login,
            words.contains(&"login") || words.contains(&"select_account")
        );
        prop_assert_eq!(req.prompt.consent, words.contains(&"consent"));
        prop_assert!(!(req.prompt.none && (req.prompt.login || req.prompt.consent)));
        prop_assert_eq!(
            req.max_age,
            single(pairs, "max_age").map(|v| v.parse::<i64>().unwrap_or(-1))
        );
        prop_assert!(req.max_age.is_none_or(|n| n >= 0));
        let (id, ui, acr) = match single(pairs, "claims") {
            Some(json) => crate::domain::claims::parse_request(json)
                .map_err(|e| TestCaseError::fail(e.to_string()))?,
            None => (vec![], vec![], false),
        };
        prop_assert_eq!(&req.id_token_claims, &id);
        prop_assert_eq!(&req.userinfo_claims, &ui);
        prop_assert!(
            id.iter()
                .chain(&ui)
                .all(|c| USER_CLAIMS.contains(&c.as_str()))
        );
        let acr_values = limited("acr_values", 512).or_else(|| acr.then(|| "phr".to_owned()));
        prop_assert_eq!(&req.acr_values, &acr_values);
        Ok(())
    }

    /// The error codes `validate` may give.
    const VALIDATE_ERRORS: [OAuthErrorCode; 6] = [
        OAuthErrorCode::InvalidRequest,
        OAuthErrorCode::InvalidScope,
        OAuthErrorCode::UnsupportedResponseType,
        OAuthErrorCode::UnauthorizedClient,
        OAuthErrorCode::RequestNotSupported,
        OAuthErrorCode::RequestUriNotSupported,
    ];

    fn configured(id: &str) -> Option<Arc<Client>> {
        let f = &*FIXTURE;
        f.rt.block_on(f.ctx.clients.find(id)).ok().flatten()
    }

    proptest! {
        #[test]
        fn prop_authorize_params_one_reads_a_single_value(
            pairs in proptest::collection::vec(
                (proptest::sample::select(vec!["a", "b", "c"]), prop_oneof![Just(String::new()), "[a-z]{0,3}"]),
                0..6,
            ),
        ) {
            let params = Params::from_pairs(pairs.clone());
            let owned: Vec<(String, String)> =
                pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
            for name in ["a", "b", "c", "d"] {
                let count = pairs.iter().filter(|(k, _)| *k == name).count();
                match params.one(name) {
                    Err(_) => prop_assert!(count > 1),
                    Ok(v) => {
                        prop_assert!(count <= 1);
                        prop_assert_eq!(v, single(&owned, name));
                    }
                }
            }
        }

        #[test]
        fn prop_authorize_validate_keeps_only_what_was_asked(d in draft()) {
            let f = &*FIXTURE;
            let client = configured(d.client).ok_or_else(|| TestCaseError::fail("no client"))?;
            let redirect = single(&d.pairs, "redirect_uri").unwrap_or(&client.redirect_uris[0]).to_owned();
            let params = Params::from_pairs(d.pairs.clone());
            match f.service.validate(&params, &client, &redirect) {
                Ok(req) => {
                    prop_assert!(client.redirect_uris.contains(&req.redirect_uri) || req.redirect_uri == redirect);
                    if client.redirect_uris.contains(&redirect) {
                        check_request(&req, &client, &d.pairs)?;
                    }
                }
                Err(e) => {
                    prop_assert!(VALIDATE_ERRORS.contains(&e.code), "{:?}", e);
                    prop_assert!(d.mutated || !d.valid, "a valid request was refused: {:?}", e);
                }
            }
        }

        #[test]
        fn prop_authorize_answers_only_to_a_registered_redirect_uri(
            d in draft(),
            session in prop_oneof![Just(None), Just(Some(true)), Just(Some(false))],
            page in any::<bool>(),
        ) {
            let f = &*FIXTURE;
            let secret = session.map(|real| if real { f.session_secret.clone() } else { "not-a-session".into() });
            let params = Params::from_pairs(d.pairs.clone());
            let meta = RequestMeta::default();
            let answer = if page { Answer::Page } else { Answer::Redirect };
            let next = f.rt.block_on(f.service.authorize(&params, secret.as_deref(), answer, &meta))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            // Only a page answer is a page; a redirect answer never is.
            prop_assert!(page || !matches!(next, Next::SignInPage(_)), "{:?}", next);
            let client = single(&d.pairs, "client_id").and_then(configured);
            let redirect = single(&d.pairs, "redirect_uri");
            let trusted = client.as_ref().zip(redirect).filter(|(c, r)| c.redirect_uris.iter().any(|u| u == r));
            let Some((client, redirect)) = trusted else {
                prop_assert!(matches!(next, Next::ErrorPage { .. }), "{:?}", next);
                return Ok(());
            };
            match next {
                Next::ErrorPage { .. } => prop_assert!(false, "a trusted redirect_uri got a page"),
                Next::Redirect(url) => {
                    prop_assert!(url.starts_with(redirect), "{} is not under {}", url, redirect);
                    let rest = &url[redirect.len()..];
                    prop_assert!(rest.starts_with('?') || rest.starts_with('&'), "{}", url);
                    let parsed = url::Url::parse(&url).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let q: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
                    prop_assert_eq!(single(&q, "iss"), Some(ISSUER));
                    prop_assert_eq!(single(&q, "state"), single(&d.pairs, "state"));
                    let code = single(&q, "code").is_some();
                    prop_assert!(code != single(&q, "error").is_some(), "{}", url);
                    if code {
                        // Only with the live session, and only when it satisfies prompt and max_age.
                        prop_assert_eq!(session, Some(true));
                        let login = single(&d.pairs, "prompt").is_some_and(|p| p.split(' ').any(|w| w == "login" || w == "select_account"));
                        prop_assert!(!login);
                        let max_age = single(&d.pairs, "max_age").and_then(|m| m.parse::<i64>().ok());
                        prop_assert!(max_age.is_none_or(|m| m >= 3600), "max_age {:?}", max_age);
                    } else if single(&q, "error") == Some("login_required") || single(&q, "error") == Some("interaction_required") {
                        prop_assert!(single(&d.pairs, "prompt").is_some_and(|p| p.split(' ').any(|w| w == "none")));
                    }
                }
                Next::SignInPage(here) => {
                    let stored = f.rt.block_on(f.service.pending(&here.request_id))
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(&stored.login_hint, &here.login_hint);
                    prop_assert_eq!(stored.redirect_uri.as_str(), redirect);
                    check_request(&stored, client, &d.pairs)?;
                    prop_assert!(!stored.prompt.none);
                }
                Next::SignIn { request_id } | Next::Enroll { request_id } => {
                    let stored = f.rt.block_on(f.service.pending(&request_id))
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(stored.redirect_uri.as_str(), redirect);
                    check_request(&stored, client, &d.pairs)?;
                    prop_assert!(!stored.prompt.none);
                }
            }
        }

        #[test]
        fn prop_authorize_never_panics_on_any_query(
            query in proptest::collection::vec(any::<u8>(), 0..200),
            client in proptest::sample::select(vec!["rp", "spa", "m2m", "nobody"]),
            redirect in proptest::sample::select(vec![RP_URIS[0], SPA_URI, M2M_URI, "https://evil.example/cb"]),
        ) {
            let f = &*FIXTURE;
            let mut pairs: Vec<(String, String)> =
                url::form_urlencoded::parse(&query).into_owned().collect();
            pairs.push(("client_id".into(), client.into()));
            pairs.push(("redirect_uri".into(), redirect.into()));
            let params = Params::from_pairs(pairs);
            let next = f.rt.block_on(f.service.authorize(&params, None, Answer::Page, &RequestMeta::default()));
            match next {
                Ok(Next::Redirect(url)) => prop_assert!(url.starts_with(redirect)),
                Ok(_) => {}
                Err(e) => prop_assert!(false, "{}", e),
            }
        }

        #[test]
        fn prop_authorize_pkce_challenge_of_a_valid_verifier_is_valid(
            verifier in "[A-Za-z0-9._~-]{43,128}",
            junk in "[ -~]{0,130}",
        ) {
            prop_assert!(is_pkce_value(&verifier));
            prop_assert!(is_pkce_value(&challenge_of(&verifier)));
            let ok = (43..=128).contains(&junk.len())
                && junk.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            prop_assert_eq!(is_pkce_value(&junk), ok);
        }
    }
}
