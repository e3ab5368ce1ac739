//! Sign-in: Temporary Access Pass and passkeys (ARCHITECTURE.md, "Sign-in", steps 3 and 5).

use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PublicKeyCredential, RequestChallengeResponse,
};

use super::audit::{Entry, user_target};
use super::authorize;
use super::lockout::{Lockout, attempt_parties};
use super::passkey_assertion::{self, RelyingParty, StoredPasskey};
use super::session::Sessions;
use super::{Context, RequestMeta, policy_groups};
use crate::crypto::{b64url, random};
use crate::domain::DomainError;
use crate::domain::audit::{Actor, AuditEventType, Outcome};
use crate::domain::authz::{
    AuthorizationRequest, CodeGrant, Session, SignInMethod, passkey_amr, tap_amr,
};
use crate::domain::credential::{PasskeyCredential, PasskeyState};
use crate::domain::policy::Policy;
use crate::domain::tap::{self, MethodUsabilityReason, Tap};
use crate::domain::user::{Upn, User};
use crate::store::batch::{Put, Step};
use crate::store::records::{FixedLifetime, Record, Records};
use crate::store::{Change, Ns, TapUse};

/// The longest a sign-in session lives (never past the TAP's end).
pub const SESSION_LIFETIME: Duration = Duration::hours(8);
pub const CEREMONY_TTL: Duration = Duration::minutes(5);
/// Longest passcode we hash (the policy allows 48).
const MAX_PASSCODE: usize = 64;

/// Why a sign-in did not succeed, in terms a page can explain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    #[error("that user name and pass do not match")]
    WrongPass,
    #[error("too many attempts; try again after {}", crate::domain::audit::readable(*until))]
    Locked { until: OffsetDateTime },
    /// Every place for a pass check is taken: try again in a moment.
    #[error("the server is busy; try again in a moment")]
    Busy,
    #[error("this pass is not valid until {}", crate::domain::audit::readable(*start))]
    NotYetValid { start: OffsetDateTime },
    #[error("this pass has expired")]
    Expired,
    #[error("this one-time pass has already been used")]
    AlreadyUsed,
    #[error("sign-in with a Temporary Access Pass is turned off")]
    DisabledByPolicy,
    #[error("this account is disabled")]
    AccountDisabled,
    /// The passkey policy is off, or does not include this user.
    #[error("sign-in with a passkey is turned off for your account")]
    PasskeyDisabledByPolicy,
    #[error("the passkey could not be verified")]
    PasskeyFailed,
    #[error(
        "your organisation no longer allows this kind of authenticator; sign in with another passkey, or ask your help desk for a Temporary Access Pass"
    )]
    ModelNotAllowed,
    #[error("the sign-in took too long; start again")]
    CeremonyExpired,
    #[error("passkeys need the server's issuer to be a domain name")]
    PasskeysUnavailable,
    #[error(transparent)]
    Other(#[from] DomainError),
}

impl From<crate::store::StoreError> for SignInError {
    fn from(e: crate::store::StoreError) -> Self {
        SignInError::Other(e.into())
    }
}

/// The server-side state of a WebAuthn ceremony, kept in the store.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) enum Ceremony {
    Discoverable(DiscoverableAuthentication),
    Register {
        state: webauthn_rs::prelude::PasskeyRegistration,
        sid: String,
    },
    RegisterAttested {
        state: Box<webauthn_rs::prelude::AttestedPasskeyRegistration>,
        sid: String,
    },
}

impl Record for Ceremony {
    const NS: Ns = Ns::Ceremony;
}

impl FixedLifetime for Ceremony {
    const TTL: Duration = CEREMONY_TTL;
}

/// A registration in progress: plain, or with attestation enforced.
pub(crate) enum Registration {
    Plain(webauthn_rs::prelude::PasskeyRegistration),
    Attested(Box<webauthn_rs::prelude::AttestedPasskeyRegistration>),
}

/// A right pass, for the user it belongs to.
struct Checked {
    user: User,
    tap: Tap,
    /// The name as the lockout and the audit log know it.
    name_key: String,
}

pub struct SignInService {
    ctx: Arc<Context>,
    sessions: Sessions,
    lockout: Lockout,
    /// What passkey assertions are checked against (from `ctx.webauthn`).
    relying_party: Option<RelyingParty>,
}

/// A usernameless passkey sign-in, started but not stored: the browser's
/// options and the state its finish checks.
pub(crate) fn start_usernameless(
    webauthn: &webauthn_rs::Webauthn,
) -> Result<(RequestChallengeResponse, Ceremony), DomainError> {
    let (options, state) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| DomainError::Internal(e.to_string()))?;
    Ok((options, Ceremony::Discoverable(state)))
}

pub(crate) async fn put_ceremony(ctx: &Context, state: &Ceremony) -> Result<String, DomainError> {
    let now = ctx.clock.now();
    let id = random::token::<24>(&*ctx.rng)?;
    ctx.store.put_fixed(&id, state, now).await?;
    Ok(id)
}

pub(crate) async fn take_ceremony(
    ctx: &Context,
    id: &str,
) -> Result<Option<Ceremony>, DomainError> {
    if id.len() > 64 {
        return Ok(None);
    }
    let now = ctx.clock.now();
    Ok(ctx.store.take_record(id, now).await?)
}

impl SignInService {
    pub fn new(ctx: Arc<Context>) -> Self {
        let relying_party = ctx.webauthn.as_deref().and_then(|w| {
            RelyingParty::of(w)
                .inspect_err(|e| tracing::error!(error = %e, "passkey sign-in unavailable"))
                .ok()
        });
        Self {
            sessions: Sessions::new(ctx.clone()),
            lockout: Lockout::new(ctx.clone()),
            ctx,
            relying_party,
        }
    }

    async fn audit(
        &self,
        event_type: AuditEventType,
        user: Option<&User>,
        name: &str,
        meta: &RequestMeta,
        outcome: Outcome,
        detail: Option<String>,
    ) {
        let (actor, target) = attempt_parties(name, user);
        let entry = Entry {
            event_type,
            actor,
            target: Some(target),
            meta,
            outcome,
            detail,
        };
        if let Err(e) = self.ctx.audit.record(entry, self.ctx.clock.now()).await {
            tracing::warn!(error = %e, "could not record a sign-in event");
        }
    }

    /// Signs in with user name and Temporary Access Pass: the pass checked
    /// under the lockout, then the policy, then its use recorded, then a
    /// session that never outlives the pass.
    pub async fn sign_in_with_tap(
        &self,
        username: &str,
        passcode: &str,
        meta: &RequestMeta,
    ) -> Result<(String, Session), SignInError> {
        let now = self.ctx.clock.now();
        let Checked {
            user,
            tap,
            name_key,
        } = self.check_pass(username, passcode, meta).await?;
        let policy = self.ctx.store.get_policy().await?.unwrap_or_default();
        if let Err(e) = self.usable(&user, &tap, &policy, now).await {
            return Err(self.refused(&user, &name_key, meta, e).await);
        }
        match self.record_use(&user, &tap, meta, now).await? {
            TapUse::Recorded => {}
            TapUse::AlreadyUsed => {
                let e = SignInError::AlreadyUsed;
                return Err(self.refused(&user, &name_key, meta, e).await);
            }
            TapUse::Missing => return Err(SignInError::WrongPass),
        }
        let session = self.tap_session(&user, &tap, &policy, now)?;
        let secret = self.sessions.create(&session).await?;
        Ok((secret, session))
    }

    /// A right pass refused after all (`tap.failed`, naming the user).
    async fn refused(
        &self,
        user: &User,
        name_key: &str,
        meta: &RequestMeta,
        e: SignInError,
    ) -> SignInError {
        let detail = Some(e.to_string());
        let failure = Outcome::Failure;
        self.audit(
            AuditEventType::TapFailed,
            Some(user),
            name_key,
            meta,
            failure,
            detail,
        )
        .await;
        e
    }

    /// The user and pass behind a user name and passcode, checked against
    /// the hash under the lockout (`domain::lockout`): an attempt is
    /// reserved before argon2 runs, so concurrent guesses never get more
    /// checks than the limit, and a right pass gives its reservation back.
    async fn check_pass(
        &self,
        username: &str,
        passcode: &str,
        meta: &RequestMeta,
    ) -> Result<Checked, SignInError> {
        // A place for the pass check first: a flood is turned away before
        // it costs a store call or memory.
        let admission = self.ctx.hashing.admit().ok_or(SignInError::Busy)?;
        let upn = Upn::parse(username).ok();
        let name_key = upn
            .as_ref()
            .map(Upn::key)
            .unwrap_or_else(|| username.trim().to_lowercase().chars().take(128).collect());
        let user = match &upn {
            Some(upn) => self.ctx.store.find_user_by_upn(&upn.key()).await?,
            None => None,
        };
        let reserved = match self.lockout.reserve(&name_key, meta, user.as_ref()).await? {
            Ok(reserved) => reserved,
            Err(until) => return Err(SignInError::Locked { until }),
        };
        let tap = match &user {
            Some(u) => self.ctx.store.get_tap(&u.id).await?,
            None => None,
        };
        let normalised = tap::normalise(passcode);
        let too_long = normalised.len() > MAX_PASSCODE;
        let candidate = if too_long {
            Vec::new()
        } else {
            normalised.into_bytes()
        };
        let hash = tap.as_ref().map(|t| t.hash.clone());
        let matches = self.ctx.hashing.verify(admission, candidate, hash).await? && !too_long;
        let (Some(user), Some(tap), true) = (user.as_ref(), tap, matches) else {
            let detail = Some("wrong user name or pass".into());
            self.audit(
                AuditEventType::TapFailed,
                user.as_ref(),
                &name_key,
                meta,
                Outcome::Failure,
                detail,
            )
            .await;
            return Err(SignInError::WrongPass);
        };
        self.lockout.succeeded(reserved).await?;
        Ok(Checked {
            user: user.clone(),
            tap,
            name_key,
        })
    }

    /// A right pass may still not be usable: the policy, its validity, a
    /// one-time pass used, a disabled account.
    async fn usable(
        &self,
        user: &User,
        tap: &Tap,
        policy: &Policy,
        now: OffsetDateTime,
    ) -> Result<(), SignInError> {
        // The user's groups are read only when the policy targets groups.
        let groups = policy_groups(&self.ctx, &user.id, policy.tap.has_group_targets()).await?;
        match tap.usability(now, &policy.tap, &user.id, &groups) {
            MethodUsabilityReason::EnabledByPolicy => {}
            MethodUsabilityReason::DisabledByPolicy => return Err(SignInError::DisabledByPolicy),
            MethodUsabilityReason::Expired => return Err(SignInError::Expired),
            MethodUsabilityReason::NotYetValid => {
                return Err(SignInError::NotYetValid { start: tap.start });
            }
            MethodUsabilityReason::OneTimeUsed => return Err(SignInError::AlreadyUsed),
        }
        if !user.account_enabled {
            return Err(SignInError::AccountDisabled);
        }
        Ok(())
    }

    /// Records the use; the use and its `tap.used` event are one atomic
    /// write. When it does not land: a concurrent one-time use, or the pass
    /// went away.
    async fn record_use(
        &self,
        user: &User,
        tap: &Tap,
        meta: &RequestMeta,
        now: OffsetDateTime,
    ) -> Result<TapUse, SignInError> {
        let used = self
            .ctx
            .audit
            .apply(
                Change::UseTap {
                    user_id: &user.id,
                    tap_id: &tap.id,
                    at: now,
                },
                Entry {
                    event_type: AuditEventType::TapUsed,
                    actor: Actor::user(&user.id),
                    target: Some(user_target(&user.id, user.upn.as_str())),
                    meta,
                    outcome: Outcome::Success,
                    detail: Some(format!("tap {}", tap.id)),
                },
                now,
            )
            .await?;
        if used {
            return Ok(TapUse::Recorded);
        }
        Ok(match self.ctx.store.get_tap(&user.id).await? {
            Some(t) if t.id == tap.id && t.is_usable_once && t.used_at.is_some() => {
                TapUse::AlreadyUsed
            }
            _ => TapUse::Missing,
        })
    }

    /// The session of a pass sign-in: it never outlives the pass, and its
    /// enrollment window neither.
    fn tap_session(
        &self,
        user: &User,
        tap: &Tap,
        policy: &Policy,
        now: OffsetDateTime,
    ) -> Result<Session, SignInError> {
        let tap_end = tap.end();
        let window = Duration::minutes(i64::from(policy.passkey.enrollment_window_minutes));
        Ok(Session {
            sid: self.sessions.new_sid()?,
            user_id: user.id.clone(),
            auth_time: now,
            amr: tap_amr(policy.passkey.tap_counts_as_mfa),
            method: SignInMethod::Tap {
                tap_id: tap.id.clone(),
            },
            expires_at: (now + SESSION_LIFETIME).min(tap_end),
            enrollment_deadline: Some((now + window).min(tap_end)),
            clients: Vec::new(),
        })
    }

    /// Starts a passkey sign-in: always the usernameless ceremony with
    /// discoverable credentials (registration requires them), so the
    /// options are the same whoever asks and name no user or credential.
    pub async fn passkey_options(&self) -> Result<PasskeyCeremony, SignInError> {
        let webauthn = self
            .ctx
            .webauthn
            .as_ref()
            .ok_or(SignInError::PasskeysUnavailable)?;
        let (options, state) = start_usernameless(webauthn)?;
        let id = put_ceremony(&self.ctx, &state).await?;
        Ok(PasskeyCeremony { options, id })
    }

    /// Finishes a passkey sign-in and starts a session; with the
    /// authorization request `request_id` that the new session answers at
    /// once, also issues its code (where the page goes next). One read and
    /// one write of the store (two round trips on Redis, one commit on the
    /// embedded store) for all of it.
    pub async fn sign_in_with_passkey(
        &self,
        ceremony_id: &str,
        credential: &PublicKeyCredential,
        request_id: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<PasskeySignIn, SignInError> {
        let (Some(webauthn), Some(_)) = (self.ctx.webauthn.as_deref(), self.relying_party.as_ref())
        else {
            return Err(SignInError::PasskeysUnavailable);
        };
        let now = self.ctx.clock.now();
        let cred_id = b64url::encode(credential.get_credential_id());
        // The user handle names whose passkey this claims to be, so the
        // user, the passkey and the policy are read with the ceremony; a
        // wrong claim finds no passkey.
        let claimed = passkey_assertion::claimed_user(webauthn, credential).unwrap_or_default();
        let ceremony_id = if ceremony_id.len() > 64 {
            ""
        } else {
            ceremony_id
        };
        let request_id = request_id.filter(|r| !r.is_empty() && r.len() <= 64);
        let mut steps = vec![
            Step::take::<Ceremony>(ceremony_id),
            Step::User(&claimed),
            Step::Credential {
                user_id: &claimed,
                cred_id: &cred_id,
            },
            Step::Policy,
        ];
        // Claimed now so two finishes never both get a code; it goes back
        // below unless a code comes of it.
        if let Some(r) = request_id {
            steps.push(Step::take::<AuthorizationRequest>(r));
        }
        let mut got = self.ctx.store.batch(&steps, now).await?.into_iter();
        let mut next = || {
            got.next()
                .ok_or_else(|| DomainError::Internal("short batch".into()))
        };
        let ceremony = next()?.record::<Ceremony>(ceremony_id);
        let user = next()?.user();
        let stored = next()?.credential();
        let policy = next()?.policy();
        let request = match request_id {
            Some(r) => next()?.record::<AuthorizationRequest>(r),
            None => None,
        };
        let read = Read {
            ceremony,
            user,
            stored,
            policy,
        };
        let result = self
            .finish_passkey(read, request.as_ref(), credential, &cred_id, meta, now)
            .await;
        if let (Some(r), Some(req)) = (request_id, &request)
            && !matches!(&result, Ok(s) if s.redirect.is_some())
        {
            let back = self
                .ctx
                .store
                .put_new_record(r, req, req.created + AuthorizationRequest::TTL, now)
                .await;
            if let Err(e) = back {
                tracing::warn!(error = %e, "the authorization request could not be put back");
            }
        }
        result
    }

    async fn finish_passkey(
        &self,
        read: Read,
        request: Option<&AuthorizationRequest>,
        credential: &PublicKeyCredential,
        cred_id: &str,
        meta: &RequestMeta,
        now: OffsetDateTime,
    ) -> Result<PasskeySignIn, SignInError> {
        let Some(relying_party) = self.relying_party.as_ref() else {
            return Err(SignInError::PasskeysUnavailable);
        };
        let Read {
            ceremony,
            user,
            stored,
            policy,
        } = read;
        let ceremony = ceremony.ok_or(SignInError::CeremonyExpired)?;
        let (Some(user), Some(mut stored)) = (user, stored) else {
            self.audit(
                AuditEventType::PasskeyFailed,
                None,
                "(passkey)",
                meta,
                Outcome::Failure,
                Some("unknown credential".into()),
            )
            .await;
            return Err(SignInError::PasskeyFailed);
        };
        let stored_passkey = StoredPasskey::from_stored(&stored.passkey)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        let result = match ceremony {
            Ceremony::Discoverable(state) => passkey_assertion::finish_discoverable(
                relying_party,
                credential,
                &state,
                &stored_passkey,
            )
            .map_err(|e| {
                tracing::info!(error = %e, "passkey assertion rejected");
                SignInError::PasskeyFailed
            }),
            _ => Err(SignInError::PasskeyFailed),
        };
        let result = match result {
            Ok(r) if r.user_verified() => r,
            Ok(_) | Err(_) => {
                // Includes a counter that went backwards: a possibly cloned authenticator.
                self.audit(
                    AuditEventType::PasskeyFailed,
                    Some(&user),
                    user.upn.as_str(),
                    meta,
                    Outcome::Failure,
                    Some(format!("credential {cred_id}")),
                )
                .await;
                return Err(SignInError::PasskeyFailed);
            }
        };
        if !user.account_enabled {
            return Err(SignInError::AccountDisabled);
        }
        // The passkey method's state and targets apply to sign-in (checked
        // only after the assertion, so nobody learns the policy without
        // the key).
        let groups = policy_groups(&self.ctx, &user.id, policy.passkey.has_group_targets()).await?;
        if !policy.passkey.enabled_for(&user.id, &groups) {
            self.audit(
                AuditEventType::PasskeyFailed,
                Some(&user),
                user.upn.as_str(),
                meta,
                Outcome::Failure,
                Some(format!(
                    "credential {cred_id}: passkeys are not enabled for this user by policy"
                )),
            )
            .await;
            return Err(SignInError::PasskeyDisabledByPolicy);
        }
        // So do key restrictions: blocking a model stops the passkeys
        // already registered with it.
        if !policy
            .passkey
            .key_restrictions
            .allows(stored.aaguid.as_deref())
        {
            self.audit(
                AuditEventType::PasskeyFailed,
                Some(&user),
                user.upn.as_str(),
                meta,
                Outcome::Failure,
                Some(format!(
                    "credential {cred_id}: model {} not allowed by policy",
                    stored.aaguid.as_deref().unwrap_or("unknown")
                )),
            )
            .await;
            return Err(SignInError::ModelNotAllowed);
        }
        let mut passkey = stored_passkey.passkey;
        passkey.update_credential(&result);
        stored.passkey =
            PasskeyState::of(&passkey).map_err(|e| DomainError::Internal(e.to_string()))?;
        stored.last_used = Some(now);
        stored.backup_eligible = result.backup_eligible();
        stored.backup_state = result.backup_state();
        // The new counter and last use, with the `passkey.used` event; the
        // session, and the code with its `code.issued` event, only if the
        // passkey is still there.
        let used = Entry {
            event_type: AuditEventType::PasskeyUsed,
            actor: Actor::user(&user.id),
            target: Some(user_target(&user.id, user.upn.as_str())),
            meta,
            outcome: Outcome::Success,
            detail: Some(format!("credential {}", stored.name)),
        };
        let mut session = Session {
            sid: self.sessions.new_sid()?,
            user_id: user.id.clone(),
            auth_time: now,
            amr: passkey_amr(result.backup_eligible()),
            method: SignInMethod::Passkey {
                credential_id: cred_id.to_owned(),
                backup_eligible: result.backup_eligible(),
            },
            expires_at: now + SESSION_LIFETIME,
            enrollment_deadline: None,
            clients: Vec::new(),
        };
        let code = match request {
            Some(request) if authorize::answers_at_once(request, &session, now) => {
                session.clients.push(request.client_id.clone());
                Some((authorize::new_code(&self.ctx, request, &session)?, request))
            }
            _ => None,
        };
        let (secret, session_id) = self.sessions.new_secret()?;
        let mut puts = vec![Put::record(&session_id, &session, session.expires_at)?];
        let mut then = Vec::new();
        if let Some((code, request)) = &code {
            puts.push(Put::record(&code.key, &code.grant, now + CodeGrant::TTL)?);
            then.push(authorize::code_issued(&user, &request.client_id, meta));
        }
        if !self
            .ctx
            .audit
            .apply_then(
                Change::UpdateCredential {
                    cred: &stored,
                    prior: None,
                },
                used,
                &puts,
                then,
                now,
            )
            .await?
        {
            // Deleted while the ceremony ran.
            return Err(SignInError::PasskeyFailed);
        }
        Ok(PasskeySignIn {
            secret,
            session,
            redirect: code.map(|(c, _)| c.redirect),
        })
    }
}

/// What a passkey sign-in reads, in one step.
struct Read {
    ceremony: Option<Ceremony>,
    user: Option<User>,
    stored: Option<PasskeyCredential>,
    policy: Policy,
}

/// A started passkey sign-in: the browser's request options and the id
/// of the ceremony the finish names (it lives `CEREMONY_TTL`).
#[derive(Debug, serde::Serialize)]
pub struct PasskeyCeremony {
    pub options: RequestChallengeResponse,
    #[serde(rename = "ceremony")]
    pub id: String,
}

/// A finished passkey sign-in.
pub struct PasskeySignIn {
    /// For the session cookie.
    pub secret: String,
    pub session: Session,
    /// The application with its code, when the sign-in answered the
    /// authorization request at once.
    pub redirect: Option<String>,
}

/// Registration state (shared with enrollment).
pub(crate) fn register_ceremony(state: Registration, sid: String) -> Ceremony {
    match state {
        Registration::Plain(state) => Ceremony::Register { state, sid },
        Registration::Attested(state) => Ceremony::RegisterAttested { state, sid },
    }
}

pub(crate) fn registration_state(ceremony: Ceremony, sid: &str) -> Option<Registration> {
    match ceremony {
        Ceremony::Register { state, sid: owner } if owner == sid => {
            Some(Registration::Plain(state))
        }
        Ceremony::RegisterAttested { state, sid: owner } if owner == sid => {
            Some(Registration::Attested(state))
        }
        _ => None,
    }
}
