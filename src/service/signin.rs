//! Sign-in: Temporary Access Pass (DESIGN.md §3 step 3) and passkeys.

use std::sync::{Arc, LazyLock};
use time::{Duration, OffsetDateTime};
use webauthn_rs::prelude::{DiscoverableAuthentication, DiscoverableKey, PublicKeyCredential};

use super::audit::{Entry, user_target};
use super::session::Sessions;
use super::{Context, RequestMeta, blocking};
use crate::crypto::random::OsRandom;
use crate::crypto::{hasher, random};
use crate::domain::DomainError;
use crate::domain::audit::{Actor, AuditEventType, Outcome, Target};
use crate::domain::authz::{Session, SignInMethod, passkey_amr, tap_amr};
use crate::domain::tap::{self, MethodUsabilityReason};
use crate::domain::user::{Upn, User};
use crate::store::{Change, Ns, TapUse};

/// Failures within this window count towards a lockout.
const FAILURE_WINDOW: Duration = Duration::minutes(15);
const MAX_FAILURES_PER_USER: u64 = 10;
const MAX_FAILURES_PER_ADDRESS: u64 = 50;
/// First lock period; each further lock within a day doubles it.
const FIRST_LOCK: Duration = Duration::minutes(5);
const MAX_LOCK: Duration = Duration::hours(24);
/// The longest a sign-in session lives (never past the TAP's end).
pub const SESSION_LIFETIME: Duration = Duration::hours(8);
pub const CEREMONY_TTL: Duration = Duration::minutes(5);
/// Longest passcode we hash (the policy allows 48).
const MAX_PASSCODE: usize = 64;

/// Verified against when the user or pass does not exist, so that unknown
/// names take the same time as known ones.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut buf = [0u8; 16];
    let _ = aws_lc_rs::rand::fill(&mut buf);
    hasher::hash(&buf, &OsRandom).unwrap_or_default()
});

/// Why a sign-in did not succeed, in terms a page can explain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    #[error("that user name and pass do not match")]
    WrongPass,
    #[error("too many attempts; try again after {until}")]
    Locked { until: OffsetDateTime },
    #[error("this pass is not valid until {start}")]
    NotYetValid { start: OffsetDateTime },
    #[error("this pass has expired")]
    Expired,
    #[error("this one-time pass has already been used")]
    AlreadyUsed,
    #[error("sign-in with a Temporary Access Pass is turned off")]
    DisabledByPolicy,
    #[error("this account is disabled")]
    AccountDisabled,
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
enum Ceremony {
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

/// A registration in progress: plain, or with attestation enforced.
pub(crate) enum Registration {
    Plain(webauthn_rs::prelude::PasskeyRegistration),
    Attested(Box<webauthn_rs::prelude::AttestedPasskeyRegistration>),
}

pub struct SignInService {
    ctx: Arc<Context>,
    sessions: Sessions,
}

pub(crate) async fn put_ceremony(
    ctx: &Context,
    state: &impl serde::Serialize,
) -> Result<String, DomainError> {
    let now = ctx.clock.now();
    let id = random::token::<24>(&*ctx.rng)?;
    let json = serde_json::to_vec(state).map_err(|e| DomainError::Internal(e.to_string()))?;
    ctx.store
        .put(Ns::Ceremony, &id, &json, now + CEREMONY_TTL, now)
        .await?;
    Ok(id)
}

pub(crate) async fn take_ceremony<T: serde::de::DeserializeOwned>(
    ctx: &Context,
    id: &str,
) -> Result<Option<T>, DomainError> {
    if id.len() > 64 {
        return Ok(None);
    }
    let now = ctx.clock.now();
    match ctx.store.take(Ns::Ceremony, id, now).await? {
        Some(raw) => Ok(serde_json::from_slice(&raw).ok()),
        None => Ok(None),
    }
}

/// The backup flags recorded in a stored webauthn-rs passkey.
pub fn backup_flags(passkey: &serde_json::Value) -> (bool, bool) {
    let cred = &passkey["cred"];
    (
        cred["backup_eligible"].as_bool().unwrap_or(false),
        cred["backup_state"].as_bool().unwrap_or(false),
    )
}

impl SignInService {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self {
            sessions: Sessions::new(ctx.clone()),
            ctx,
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
        let (actor, target) = match user {
            Some(u) => (Actor::user(&u.id), user_target(&u.id, u.upn.as_str())),
            None => (
                Actor {
                    kind: crate::domain::audit::ActorKind::User,
                    id: "(unknown)".into(),
                },
                Target {
                    kind: "user".into(),
                    id: "(unknown)".into(),
                    display: Some(name.chars().take(128).collect()),
                },
            ),
        };
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

    async fn lock_until(&self, key: &str) -> Result<Option<OffsetDateTime>, DomainError> {
        let now = self.ctx.clock.now();
        let Some(raw) = self.ctx.store.get(Ns::Lock, key, now).await? else {
            return Ok(None);
        };
        let ms = raw
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(i64::from_be_bytes)
            .unwrap_or(0);
        Ok(OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok())
    }

    /// Counts a failure; locks (for a growing period) past the threshold.
    async fn register_failure(
        &self,
        counter: &str,
        lock_key: &str,
        threshold: u64,
    ) -> Result<Option<OffsetDateTime>, DomainError> {
        let now = self.ctx.clock.now();
        let n = self
            .ctx
            .store
            .incr(counter, now + FAILURE_WINDOW, now)
            .await?;
        if n < threshold {
            return Ok(None);
        }
        let locks = self
            .ctx
            .store
            .incr(&format!("locks:{lock_key}"), now + Duration::hours(24), now)
            .await?;
        let factor = 1i32 << (locks.saturating_sub(1).min(10) as u32);
        let period = (FIRST_LOCK * factor).min(MAX_LOCK);
        let until = now + period;
        let ms = (until.unix_timestamp_nanos() / 1_000_000) as i64;
        self.ctx
            .store
            .put(Ns::Lock, lock_key, &ms.to_be_bytes(), until, now)
            .await?;
        Ok(Some(until))
    }

    /// Signs in with user name and Temporary Access Pass.
    pub async fn sign_in_with_tap(
        &self,
        username: &str,
        passcode: &str,
        meta: &RequestMeta,
    ) -> Result<(String, Session), SignInError> {
        let now = self.ctx.clock.now();
        let name_key = Upn::parse(username)
            .map(|u| u.key())
            .unwrap_or_else(|_| username.trim().to_lowercase().chars().take(128).collect());
        let addr = meta.client_address.clone().unwrap_or_default();
        let (user_lock, addr_lock) = (format!("u:{name_key}"), format!("a:{addr}"));
        for key in [&user_lock, &addr_lock] {
            if let Some(until) = self.lock_until(key).await? {
                self.audit(
                    AuditEventType::TapLocked,
                    None,
                    &name_key,
                    meta,
                    Outcome::Failure,
                    Some(format!("locked until {until}")),
                )
                .await;
                return Err(SignInError::Locked { until });
            }
        }
        let user = match Upn::parse(username) {
            Ok(upn) => self.ctx.store.find_user_by_upn(&upn.key()).await?,
            Err(_) => None,
        };
        let tap = match &user {
            Some(u) => self.ctx.store.get_tap(&u.id).await?,
            None => None,
        };
        let normalised = tap::normalise(passcode);
        let hash = tap
            .as_ref()
            .map(|t| t.hash.clone())
            .unwrap_or_else(|| DUMMY_HASH.clone());
        let too_long = normalised.len() > MAX_PASSCODE;
        let candidate = if too_long { String::new() } else { normalised };
        // argon2 is CPU-heavy: off the executor.
        let matches =
            blocking(move || hasher::verify(candidate.as_bytes(), &hash)).await? && !too_long;
        let (Some(user), Some(tap), true) = (user, tap, matches) else {
            let user_locked = self
                .register_failure(
                    &format!("tapfail:{user_lock}"),
                    &user_lock,
                    MAX_FAILURES_PER_USER,
                )
                .await?;
            let addr_locked = self
                .register_failure(
                    &format!("tapfail:{addr_lock}"),
                    &addr_lock,
                    MAX_FAILURES_PER_ADDRESS,
                )
                .await?;
            self.audit(
                AuditEventType::TapFailed,
                None,
                &name_key,
                meta,
                Outcome::Failure,
                Some("wrong user name or pass".into()),
            )
            .await;
            if let Some(until) = user_locked.or(addr_locked) {
                self.audit(
                    AuditEventType::TapLocked,
                    None,
                    &name_key,
                    meta,
                    Outcome::Failure,
                    Some(format!("locked until {until}")),
                )
                .await;
                return Err(SignInError::Locked { until });
            }
            return Err(SignInError::WrongPass);
        };
        let policy = self.ctx.store.get_policy().await?.unwrap_or_default();
        let failure = match tap.usability(now, &policy.tap, &user.id) {
            MethodUsabilityReason::EnabledByPolicy => None,
            MethodUsabilityReason::DisabledByPolicy => Some(SignInError::DisabledByPolicy),
            MethodUsabilityReason::Expired => Some(SignInError::Expired),
            MethodUsabilityReason::NotYetValid => {
                Some(SignInError::NotYetValid { start: tap.start })
            }
            MethodUsabilityReason::OneTimeUsed => Some(SignInError::AlreadyUsed),
        }
        .or_else(|| (!user.account_enabled).then_some(SignInError::AccountDisabled));
        if let Some(e) = failure {
            self.audit(
                AuditEventType::TapFailed,
                Some(&user),
                &name_key,
                meta,
                Outcome::Failure,
                Some(e.to_string()),
            )
            .await;
            return Err(e);
        }
        // The use and its `tap.used` event are one atomic write.
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
        let outcome = if used {
            TapUse::Recorded
        } else {
            // Why not: a concurrent one-time use, or the pass went away.
            match self.ctx.store.get_tap(&user.id).await? {
                Some(t) if t.id == tap.id && t.is_usable_once && t.used_at.is_some() => {
                    TapUse::AlreadyUsed
                }
                _ => TapUse::Missing,
            }
        };
        match outcome {
            TapUse::Recorded => {}
            TapUse::AlreadyUsed => {
                self.audit(
                    AuditEventType::TapFailed,
                    Some(&user),
                    &name_key,
                    meta,
                    Outcome::Failure,
                    Some("one-time pass already used".into()),
                )
                .await;
                return Err(SignInError::AlreadyUsed);
            }
            TapUse::Missing => return Err(SignInError::WrongPass),
        }
        self.ctx
            .store
            .delete(Ns::Counter, &format!("tapfail:{user_lock}"))
            .await?;
        let tap_end = tap.end();
        let session = Session {
            sid: self.sessions.new_sid()?,
            user_id: user.id.clone(),
            auth_time: now,
            amr: tap_amr(policy.passkey.tap_counts_as_mfa),
            method: SignInMethod::Tap {
                tap_id: tap.id.clone(),
            },
            // A session from a TAP never outlives the TAP.
            expires_at: (now + SESSION_LIFETIME).min(tap_end),
            enrollment_deadline: Some(
                (now + Duration::minutes(i64::from(policy.passkey.enrollment_window_minutes)))
                    .min(tap_end),
            ),
            clients: Vec::new(),
        };
        let secret = self.sessions.create(&session).await?;
        Ok((secret, session))
    }

    /// Starts a passkey sign-in: always the usernameless ceremony with
    /// discoverable credentials (registration requires them), so the
    /// options are the same whoever asks and name no user or credential.
    pub async fn passkey_options(&self) -> Result<(serde_json::Value, String), SignInError> {
        let webauthn = self
            .ctx
            .webauthn
            .as_ref()
            .ok_or(SignInError::PasskeysUnavailable)?;
        let (options, state) = webauthn
            .start_discoverable_authentication()
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        let id = put_ceremony(&self.ctx, &Ceremony::Discoverable(state)).await?;
        Ok((
            serde_json::to_value(options).map_err(|e| DomainError::Internal(e.to_string()))?,
            id,
        ))
    }

    /// Finishes a passkey sign-in and starts a session.
    pub async fn sign_in_with_passkey(
        &self,
        ceremony_id: &str,
        credential: &PublicKeyCredential,
        meta: &RequestMeta,
    ) -> Result<(String, Session), SignInError> {
        let webauthn = self
            .ctx
            .webauthn
            .as_ref()
            .ok_or(SignInError::PasskeysUnavailable)?;
        let now = self.ctx.clock.now();
        let ceremony: Ceremony = take_ceremony(&self.ctx, ceremony_id)
            .await?
            .ok_or(SignInError::CeremonyExpired)?;
        let cred_id = random::b64url(credential.get_credential_id());
        let stored = self.ctx.store.find_credential(&cred_id).await?;
        let Some(mut stored) = stored else {
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
        let user = self
            .ctx
            .store
            .get_user(&stored.user_id)
            .await?
            .ok_or(SignInError::PasskeyFailed)?;
        let mut passkey: webauthn_rs::prelude::Passkey =
            serde_json::from_value(stored.passkey.clone())
                .map_err(|e| DomainError::Internal(e.to_string()))?;
        let result = match ceremony {
            Ceremony::Discoverable(state) => {
                let (user_handle, _) = webauthn
                    .identify_discoverable_authentication(credential)
                    .map_err(|_| SignInError::PasskeyFailed)?;
                if user_handle.to_string() != user.id {
                    Err(SignInError::PasskeyFailed)
                } else {
                    webauthn
                        .finish_discoverable_authentication_v2(
                            credential,
                            state,
                            DiscoverableKey::from(&passkey),
                        )
                        .map_err(|e| {
                            tracing::info!(error = %e, "passkey assertion rejected");
                            SignInError::PasskeyFailed
                        })
                }
            }
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
        // Key restrictions apply to sign-in too: blocking a model stops
        // the passkeys already registered with it.
        let policy = self.ctx.store.get_policy().await?.unwrap_or_default();
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
        passkey.update_credential(&result);
        stored.passkey =
            serde_json::to_value(&passkey).map_err(|e| DomainError::Internal(e.to_string()))?;
        stored.last_used = Some(now);
        stored.backup_eligible = result.backup_eligible();
        stored.backup_state = result.backup_state();
        // The new counter and last use, with the `passkey.used` event.
        let entry = Entry {
            event_type: AuditEventType::PasskeyUsed,
            actor: Actor::user(&user.id),
            target: Some(user_target(&user.id, user.upn.as_str())),
            meta,
            outcome: Outcome::Success,
            detail: Some(format!("credential {}", stored.name)),
        };
        if !self
            .ctx
            .audit
            .apply(
                Change::UpdateCredential {
                    cred: &stored,
                    prior: None,
                },
                entry,
                now,
            )
            .await?
        {
            // Deleted while the ceremony ran.
            return Err(SignInError::PasskeyFailed);
        }
        let session = Session {
            sid: self.sessions.new_sid()?,
            user_id: user.id.clone(),
            auth_time: now,
            amr: passkey_amr(result.backup_eligible()),
            method: SignInMethod::Passkey {
                credential_id: cred_id.clone(),
                backup_eligible: result.backup_eligible(),
            },
            expires_at: now + SESSION_LIFETIME,
            enrollment_deadline: None,
            clients: Vec::new(),
        };
        let secret = self.sessions.create(&session).await?;
        Ok((secret, session))
    }
}

/// Registration state (shared with enrollment).
pub(crate) fn register_ceremony(state: Registration, sid: String) -> impl serde::Serialize {
    match state {
        Registration::Plain(state) => Ceremony::Register { state, sid },
        Registration::Attested(state) => Ceremony::RegisterAttested { state, sid },
    }
}

pub(crate) fn registration_state(value: serde_json::Value, sid: &str) -> Option<Registration> {
    match serde_json::from_value::<Ceremony>(value).ok()? {
        Ceremony::Register { state, sid: owner } if owner == sid => {
            Some(Registration::Plain(state))
        }
        Ceremony::RegisterAttested { state, sid: owner } if owner == sid => {
            Some(Registration::Attested(state))
        }
        _ => None,
    }
}
