//! Passkey registration right after a TAP sign-in (ARCHITECTURE.md, "Sign-in", step 4).

use std::sync::Arc;
use webauthn_rs::prelude::{
    AttestationCaList, AttestationCaListBuilder, Passkey, RegisterPublicKeyCredential, Uuid,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::audit::{Entry, user_target};
use super::passkey_assertion;
use super::signin::{
    Registration, put_ceremony, register_ceremony, registration_state, take_ceremony,
};
use super::{Context, RequestMeta, policy_groups};
use crate::crypto::b64url;
use crate::domain::DomainError;
use crate::domain::audit::{Actor, AuditEventType, Outcome};
use crate::domain::authz::{Session, SignInMethod};
use crate::domain::credential::{PasskeyCredential, PasskeyState};
use crate::domain::policy::{AttestationPolicy, PasskeyPolicy};
use crate::store::Change;

/// The CA list for attested registration, from the policy's anchors.
pub fn attestation_ca_list(policy: &AttestationPolicy) -> Result<AttestationCaList, DomainError> {
    use base64::Engine;
    let invalid = |m: String| DomainError::invalid("attestationTrustAnchors", m);
    let mut builder = AttestationCaListBuilder::new();
    for (i, anchor) in policy.trust_anchors.iter().enumerate() {
        let der = base64::engine::general_purpose::STANDARD
            .decode(anchor.certificate.trim())
            .map_err(|_| invalid(format!("entry {i}: certificate is not base64 DER")))?;
        for aaguid in &anchor.aaguids {
            let id = Uuid::parse_str(aaguid)
                .map_err(|_| invalid(format!("entry {i}: `{aaguid}` is not an AAGUID")))?;
            builder
                .insert_device_der(&der, id, anchor.description.clone(), Default::default())
                .map_err(|e| invalid(format!("entry {i}: not an X.509 certificate ({e:?})")))?;
        }
    }
    Ok(builder.build())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrollError {
    #[error(
        "the time to set up a passkey is over; sign in again (with a passkey or your Temporary Access Pass) and add it right away"
    )]
    WindowOver,
    #[error("the passkey could not be registered: {0}")]
    Rejected(String),
    #[error("the registration took too long; try again")]
    CeremonyExpired,
    #[error("passkeys need the server's issuer to be a domain name")]
    PasskeysUnavailable,
    /// The passkey policy is off, does not include this user, or does not
    /// allow self-service registration.
    #[error("your organisation does not let you register a passkey")]
    NotAllowed,
    #[error(transparent)]
    Other(#[from] DomainError),
}

impl From<crate::store::StoreError> for EnrollError {
    fn from(e: crate::store::StoreError) -> Self {
        EnrollError::Other(e.into())
    }
}

/// A registered passkey, and whether it is the first one of a TAP
/// sign-in (the person then sees the "all set" page).
pub struct Enrolled {
    pub credential: PasskeyCredential,
    pub first_in_session: bool,
}

pub struct EnrollmentService {
    ctx: Arc<Context>,
}

/// May `user_id` register a passkey under `policy` (state, targets,
/// self-service registration)? Reads the user's groups only when the
/// policy targets groups.
pub(crate) async fn may_register(
    ctx: &Context,
    policy: &PasskeyPolicy,
    user_id: &str,
) -> Result<bool, DomainError> {
    let groups = policy_groups(ctx, user_id, policy.has_group_targets()).await?;
    Ok(policy.may_register(user_id, &groups))
}

impl EnrollmentService {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    /// May this user register a passkey now (passkey policy: state,
    /// targets, self-service registration)? The enrollment window is the
    /// session's business ([`Session::may_register`]).
    pub async fn allowed(&self, user_id: &str) -> Result<bool, DomainError> {
        let policy = self.ctx.store.get_policy().await?.unwrap_or_default();
        may_register(&self.ctx, &policy.passkey, user_id).await
    }

    /// Registration options for the session's user (UV required, resident
    /// key required so later sign-ins need no user name, existing
    /// credentials excluded).
    pub async fn options(
        &self,
        session: &Session,
    ) -> Result<(serde_json::Value, String), EnrollError> {
        let webauthn = self
            .ctx
            .webauthn
            .as_ref()
            .ok_or(EnrollError::PasskeysUnavailable)?;
        if !session.may_register(self.ctx.clock.now()) {
            return Err(EnrollError::WindowOver);
        }
        let user = self
            .ctx
            .store
            .get_user(&session.user_id)
            .await?
            .ok_or(DomainError::NotFound("user"))?;
        let policy = self.ctx.store.get_policy().await?.unwrap_or_default();
        if !may_register(&self.ctx, &policy.passkey, &user.id).await? {
            return Err(EnrollError::NotAllowed);
        }
        let existing = self.ctx.store.list_credentials(&user.id).await?;
        // The record's id is the credential id: no need to parse each passkey.
        let exclude = existing
            .iter()
            .map(|c| {
                b64url::decode(&c.id).ok_or_else(|| {
                    DomainError::Internal(format!("credential id {:?} is not base64url", c.id))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let uuid = Uuid::parse_str(&user.id).map_err(|e| DomainError::Internal(e.to_string()))?;
        let (mut options, state) = if policy.passkey.attestation.is_enforced {
            let cas = attestation_ca_list(&policy.passkey.attestation)?;
            let (options, state) = webauthn
                .start_attested_passkey_registration(
                    uuid,
                    user.upn.as_str(),
                    &user.display_name,
                    Some(exclude),
                    cas,
                    None,
                )
                .map_err(|e| DomainError::Internal(e.to_string()))?;
            (options, Registration::Attested(Box::new(state)))
        } else {
            let (options, state) = webauthn
                .start_passkey_registration(
                    uuid,
                    user.upn.as_str(),
                    &user.display_name,
                    Some(exclude),
                )
                .map_err(|e| DomainError::Internal(e.to_string()))?;
            (options, Registration::Plain(state))
        };
        // residentKey=required makes the passkey discoverable (usernameless
        // sign-in later); browsers honour it over the legacy boolean.
        if let Some(sel) = options.public_key.authenticator_selection.as_mut() {
            sel.resident_key = Some(ResidentKeyRequirement::Required);
        }
        let id = put_ceremony(&self.ctx, &register_ceremony(state, session.sid.clone())).await?;
        Ok((
            serde_json::to_value(options).map_err(|e| DomainError::Internal(e.to_string()))?,
            id,
        ))
    }

    pub async fn finish(
        &self,
        session: &Session,
        ceremony_id: &str,
        credential: &RegisterPublicKeyCredential,
        meta: &RequestMeta,
    ) -> Result<Enrolled, EnrollError> {
        let webauthn = self
            .ctx
            .webauthn
            .as_ref()
            .ok_or(EnrollError::PasskeysUnavailable)?;
        let now = self.ctx.clock.now();
        if !session.may_register(now) {
            return Err(EnrollError::WindowOver);
        }
        let raw = take_ceremony(&self.ctx, ceremony_id)
            .await?
            .ok_or(EnrollError::CeremonyExpired)?;
        let state = registration_state(raw, &session.sid).ok_or(EnrollError::CeremonyExpired)?;
        let user = self
            .ctx
            .store
            .get_user(&session.user_id)
            .await?
            .ok_or(DomainError::NotFound("user"))?;
        let passkey = match &state {
            Registration::Plain(state) => webauthn.finish_passkey_registration(credential, state),
            Registration::Attested(state) => webauthn
                .finish_attested_passkey_registration(credential, state)
                .map(Passkey::from),
        }
        .map_err(|e| match &state {
            // Most often: no attestation, or one from an unlisted vendor.
            Registration::Attested(_) => EnrollError::Rejected(format!(
                "your organisation accepts only approved authenticator models, and this one could not prove it is one ({e})"
            )),
            Registration::Plain(_) => EnrollError::Rejected(e.to_string()),
        })?;
        let aaguid = crate::domain::attestation::aaguid(&credential.response.attestation_object);
        let policy = self.ctx.store.get_policy().await?.unwrap_or_default();
        // The policy may have changed since the options were given.
        if !may_register(&self.ctx, &policy.passkey, &user.id).await? {
            return Err(EnrollError::NotAllowed);
        }
        if !policy.passkey.key_restrictions.allows(aaguid.as_deref()) {
            return Err(EnrollError::Rejected(format!(
                "this kind of authenticator (AAGUID {}) is not allowed by your organisation's policy; use another security key or passkey provider",
                aaguid.as_deref().unwrap_or("unknown")
            )));
        }
        let existing = self.ctx.store.list_credentials(&user.id).await?;
        let first_in_session = matches!(session.method, SignInMethod::Tap { .. })
            && !existing.iter().any(|c| c.created >= session.auth_time);
        let value = PasskeyState::of(&passkey).map_err(|e| DomainError::Internal(e.to_string()))?;
        let (backup_eligible, backup_state) = passkey_assertion::backup_flags(&value)
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        let cred = PasskeyCredential {
            id: b64url::encode(passkey.cred_id()),
            user_id: user.id.clone(),
            name: format!("Passkey {}", existing.len() + 1),
            created: now,
            last_used: None,
            aaguid,
            backup_eligible,
            backup_state,
            passkey: value,
        };
        let entry = Entry {
            event_type: AuditEventType::PasskeyRegistered,
            actor: Actor::user(&user.id),
            target: Some(user_target(&user.id, user.upn.as_str())),
            meta,
            outcome: Outcome::Success,
            detail: Some(format!("{} ({})", cred.name, cred.id)),
        };
        // A pass brought this person to their first passkey: onboarding is
        // done (the event webhooks announce as `onboarding.completed`),
        // recorded with the passkey, so the one is never without the other.
        let onboarded = (existing.is_empty() && matches!(session.method, SignInMethod::Tap { .. }))
            .then(|| Entry {
                event_type: AuditEventType::OnboardingCompleted,
                actor: Actor::user(&user.id),
                target: Some(user_target(&user.id, user.upn.as_str())),
                meta,
                outcome: Outcome::Success,
                detail: Some(format!(
                    "first passkey {} after a Temporary Access Pass",
                    cred.id
                )),
            });
        self.ctx
            .audit
            .apply_then(
                Change::AddCredential(&cred),
                entry,
                &[],
                onboarded.into_iter().collect(),
                now,
            )
            .await
            .map_err(|e| match e {
                crate::store::StoreError::Conflict(_) => {
                    EnrollError::Rejected("this passkey is already registered".into())
                }
                other => EnrollError::Other(other.into()),
            })?;
        Ok(Enrolled {
            credential: cred,
            first_in_session,
        })
    }
}
