//! Administration of users and Temporary Access Passes (the admin API's
//! use cases). Permission checks live here, so every front end shares them.

mod audit_view;

pub use audit_view::AuditView;

use std::sync::Arc;
use time::OffsetDateTime;

use super::audit::{Entry, user_target};
use super::lockout::{Lockout, NameLock};
use super::{Caller, Context, RequestMeta, existed, policy_groups};
use crate::crypto::{random, sha256};
use crate::domain::DomainError;
use crate::domain::audit::{Actor, AuditEventType, AuditFilter, Outcome, Target};
use crate::domain::client::{Client, ClientAuthMethod};
use crate::domain::credential::PasskeyCredential;
use crate::domain::permission::Permission;
use crate::domain::policy::Policy;
use crate::domain::registration::NewClient;
use crate::domain::roles::AdminAction;
use crate::domain::signing_key::KeySetRecord;
use crate::domain::tap::{self, MethodUsabilityReason, Tap, TapRequest};
use crate::domain::user::{DirectoryRole, NewUser, Upn, User, UserPatch};
use crate::store::{AuditPage, Change};

/// A pass as shown to an administrator: the record plus its usability now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapView {
    pub tap: Tap,
    pub reason: MethodUsabilityReason,
}

/// A newly issued pass: the only moment the passcode exists in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTap {
    pub view: TapView,
    pub passcode: String,
}

/// One page of users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    pub users: Vec<User>,
    /// Opaque cursor of the next page, if any.
    pub next: Option<String>,
}

/// A newly registered client: the only moment its secret exists in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredClient {
    pub client: Client,
    pub secret: Option<String>,
}

/// A client as listed to an administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientView {
    pub client: Client,
    /// Defined in the configuration file (read-only here).
    pub configured: bool,
}

fn client_target(c: &Client) -> Target {
    Target {
        kind: "client".into(),
        id: c.id.clone(),
        display: c.name.clone(),
    }
}

/// Generates a passcode for `plan` and hashes it (off the executor): the
/// pass to store, and the passcode, which exists only in memory.
pub(super) async fn mint_tap(
    ctx: &Context,
    plan: &tap::TapPlan,
    now: OffsetDateTime,
) -> Result<(Tap, String), DomainError> {
    let passcode = random::from_alphabet(&*ctx.rng, tap::ALPHABET, plan.length)?;
    let hash = ctx
        .hashing
        .hash(passcode.clone().into_bytes(), ctx.rng.clone())
        .await?;
    let tap = Tap {
        id: random::uuid(&*ctx.rng)?,
        hash,
        created: now,
        start: plan.start,
        lifetime_minutes: plan.lifetime_minutes,
        is_usable_once: plan.is_usable_once,
        used_at: None,
    };
    Ok((tap, passcode))
}

/// The `tap.created` event's detail.
pub(super) fn tap_detail(tap: &Tap) -> String {
    format!(
        "tap {} valid from {} for {} minutes{}",
        tap.id,
        crate::domain::audit::readable(tap.start),
        tap.lifetime_minutes,
        if tap.is_usable_once { ", one-time" } else { "" }
    )
}

/// An administrator locking themself out could leave no Global
/// Administrator; another administrator (or `onramp recover`) must act.
fn not_yourself() -> DomainError {
    DomainError::Forbidden(
        "nobody disables or deletes their own account through the admin side".into(),
    )
}

fn role_names(roles: &[DirectoryRole]) -> String {
    roles
        .iter()
        .map(|r| r.display_name())
        .collect::<Vec<_>>()
        .join(", ")
}

pub const MAX_PAGE: usize = 999;

pub struct AdminService {
    pub(super) ctx: Arc<Context>,
}

/// How often a policy edit is applied again after losing a
/// compare-and-set to a concurrent one, before it is a 409.
const POLICY_ATTEMPTS: u32 = 5;

impl AdminService {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    fn now(&self) -> OffsetDateTime {
        self.ctx.clock.now()
    }

    /// Applies `change` and records its event in one atomic step; false
    /// when a delete found nothing.
    pub(super) async fn audited(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        change: Change<'_>,
        event_type: AuditEventType,
        target: Target,
        detail: Option<String>,
    ) -> Result<bool, DomainError> {
        let entry = Entry {
            event_type,
            actor: actor.clone(),
            target: Some(target),
            meta,
            outcome: Outcome::Success,
            detail,
        };
        Ok(self.ctx.audit.apply(change, entry, self.now()).await?)
    }

    /// [`Self::audited`] for a change about a further object too.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn audited_also(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        change: Change<'_>,
        event_type: AuditEventType,
        target: Target,
        also: Target,
        detail: Option<String>,
    ) -> Result<bool, DomainError> {
        let entry = Entry {
            event_type,
            actor: actor.clone(),
            target: Some(target),
            meta,
            outcome: Outcome::Success,
            detail,
        };
        Ok(self
            .ctx
            .audit
            .apply_also(change, entry, vec![also], self.now())
            .await?)
    }

    pub async fn policy(&self) -> Result<Policy, DomainError> {
        Ok(self.ctx.store.get_policy().await?.unwrap_or_default())
    }

    /// Finds a user by id or, when the reference contains `@`, by UPN.
    pub async fn resolve_user(&self, reference: &str) -> Result<User, DomainError> {
        let found = if reference.contains('@') {
            let upn = Upn::parse(reference).map_err(|_| DomainError::NotFound("user"))?;
            self.ctx.store.find_user_by_upn(&upn.key()).await?
        } else {
            self.ctx.store.get_user(reference).await?
        };
        found.ok_or(DomainError::NotFound("user"))
    }

    pub async fn create_user(&self, caller: &Caller, new: NewUser) -> Result<User, DomainError> {
        caller.authorize(AdminAction::ManageUsers, None)?;
        if !new.roles.is_empty() {
            return Err(DomainError::Forbidden(
                "directory roles cannot be assigned through this call".into(),
            ));
        }
        let id = random::uuid(&*self.ctx.rng)?;
        let user = new.into_user(id, self.now())?;
        self.audited(
            &caller.actor,
            &caller.meta,
            Change::CreateUser(&user),
            AuditEventType::UserCreated,
            user_target(&user.id, user.upn.as_str()),
            None,
        )
        .await?;
        Ok(user)
    }

    pub async fn get_user(&self, caller: &Caller, reference: &str) -> Result<User, DomainError> {
        caller.authorize(AdminAction::ReadUsers, None)?;
        self.resolve_user(reference).await
    }

    pub async fn list_users(
        &self,
        caller: &Caller,
        cursor: Option<&str>,
        top: usize,
    ) -> Result<UserPage, DomainError> {
        caller.authorize(AdminAction::ReadUsers, None)?;
        let top = top.clamp(1, MAX_PAGE);
        let after = match cursor {
            Some(c) => Some(decode_cursor(c)?),
            None => None,
        };
        // One extra row tells whether another page exists.
        let mut users = self.ctx.store.list_users(after.as_deref(), top + 1).await?;
        let next = if users.len() > top {
            users.truncate(top);
            users.last().map(|u| encode_cursor(&u.upn.key()))
        } else {
            None
        };
        Ok(UserPage { users, next })
    }

    pub async fn update_user(
        &self,
        caller: &Caller,
        reference: &str,
        patch: UserPatch,
    ) -> Result<User, DomainError> {
        let current = self.resolve_user(reference).await?;
        caller.authorize(AdminAction::ManageUsers, Some(&current))?;
        if patch.account_enabled == Some(false) && current.id == caller.actor.id {
            return Err(not_yourself());
        }
        if patch.is_empty() {
            return Ok(current);
        }
        let next = patch.apply(&current)?;
        let mut changed = Vec::new();
        if next.upn != current.upn {
            changed.push("userPrincipalName");
        }
        if next.display_name != current.display_name {
            changed.push("displayName");
        }
        if next.account_enabled != current.account_enabled {
            changed.push("accountEnabled");
        }
        if next.mail != current.mail
            || next.given_name != current.given_name
            || next.surname != current.surname
            || next.mail_nickname != current.mail_nickname
            || next.other_mails != current.other_mails
            || next.preferred_language != current.preferred_language
            || next.usage_location != current.usage_location
        {
            changed.push("profile");
        }
        if next.contact != current.contact {
            changed.push("contact");
        }
        if next.job_title != current.job_title
            || next.department != current.department
            || next.employee_id != current.employee_id
            || next.employee_type != current.employee_type
            || next.employee_hire_date != current.employee_hire_date
            || next.employee_leave_date_time != current.employee_leave_date_time
            || next.company_name != current.company_name
            || next.office_location != current.office_location
        {
            changed.push("employment");
        }
        self.audited(
            &caller.actor,
            &caller.meta,
            Change::UpdateUser {
                user: &next,
                prior: Some(&current),
            },
            AuditEventType::UserUpdated,
            user_target(&next.id, next.upn.as_str()),
            Some(format!("changed: {}", changed.join(", "))),
        )
        .await?;
        Ok(next)
    }

    pub async fn delete_user(&self, caller: &Caller, reference: &str) -> Result<(), DomainError> {
        let user = self.resolve_user(reference).await?;
        caller.authorize(AdminAction::ManageUsers, Some(&user))?;
        if user.id == caller.actor.id {
            return Err(not_yourself());
        }
        let deleted = self
            .audited(
                &caller.actor,
                &caller.meta,
                Change::DeleteUser(&user.id),
                AuditEventType::UserDeleted,
                user_target(&user.id, user.upn.as_str()),
                None,
            )
            .await?;
        existed(deleted, "user")
    }

    pub async fn list_taps(
        &self,
        caller: &Caller,
        reference: &str,
    ) -> Result<Vec<TapView>, DomainError> {
        caller.require(Permission::UserAuthenticationMethodReadWriteAll)?;
        let user = self.resolve_user(reference).await?;
        caller.authorize(AdminAction::ReadMethods, Some(&user))?;
        let policy = self.policy().await?;
        let now = self.now();
        let Some(tap) = self.ctx.store.get_tap(&user.id).await? else {
            return Ok(Vec::new());
        };
        let groups = policy_groups(&self.ctx, &user.id, policy.tap.has_group_targets()).await?;
        Ok(vec![TapView {
            reason: tap.usability(now, &policy.tap, &user.id, &groups),
            tap,
        }])
    }

    pub async fn get_tap(
        &self,
        caller: &Caller,
        reference: &str,
        tap_id: &str,
    ) -> Result<TapView, DomainError> {
        self.list_taps(caller, reference)
            .await?
            .into_iter()
            .find(|v| v.tap.id == tap_id)
            .ok_or(DomainError::NotFound("temporaryAccessPassMethod"))
    }

    pub async fn create_tap(
        &self,
        caller: &Caller,
        reference: &str,
        request: TapRequest,
    ) -> Result<IssuedTap, DomainError> {
        caller.require(Permission::UserAuthenticationMethodReadWriteAll)?;
        let user = self.resolve_user(reference).await?;
        caller.authorize(AdminAction::ManageMethods, Some(&user))?;
        let policy = self.policy().await?;
        self.issue_tap(&user, request, &policy, &caller.actor, &caller.meta)
            .await
    }

    /// Generates, hashes and stores a pass for `user`, replacing any other,
    /// with its `tap.created` event. Shared with bootstrap and recovery,
    /// whose actor is the system.
    pub async fn issue_tap(
        &self,
        user: &User,
        request: TapRequest,
        policy: &Policy,
        actor: &Actor,
        meta: &RequestMeta,
    ) -> Result<IssuedTap, DomainError> {
        let now = self.now();
        let plan = request.plan(&policy.tap, now)?;
        let (tap, passcode) = mint_tap(&self.ctx, &plan, now).await?;
        let detail = tap_detail(&tap);
        // Before the pass exists: a check for a pass that never was finds
        // nothing, while one stored after it could be lost to a crash.
        crate::service::webhooks::schedule_tap_check(&self.ctx, &user.id, &tap).await?;
        self.audited(
            actor,
            meta,
            Change::PutTap {
                user_id: &user.id,
                tap: &tap,
            },
            AuditEventType::TapCreated,
            user_target(&user.id, user.upn.as_str()),
            Some(detail),
        )
        .await?;
        // The person gets a fresh start with the fresh pass.
        Lockout::new(self.ctx.clone())
            .clear(user, actor, meta, "a new pass was issued", false)
            .await?;
        let groups = policy_groups(&self.ctx, &user.id, policy.tap.has_group_targets()).await?;
        Ok(IssuedTap {
            view: TapView {
                reason: tap.usability(now, &policy.tap, &user.id, &groups),
                tap,
            },
            passcode,
        })
    }

    /// The name-wide lock of a user's sign-in with a pass, if any.
    pub async fn sign_in_lockout(
        &self,
        caller: &Caller,
        reference: &str,
    ) -> Result<(User, NameLock), DomainError> {
        let user = self.resolve_user(reference).await?;
        caller.authorize(AdminAction::ReadMethods, Some(&user))?;
        let lock = Lockout::new(self.ctx.clone()).state(&user).await?;
        Ok((user, lock))
    }

    /// Ends every lock of a user's sign-in with a pass, from every address.
    pub async fn clear_sign_in_lockout(
        &self,
        caller: &Caller,
        reference: &str,
    ) -> Result<(), DomainError> {
        caller.require(Permission::UserAuthenticationMethodReadWriteAll)?;
        let user = self.resolve_user(reference).await?;
        caller.authorize(AdminAction::ManageMethods, Some(&user))?;
        Lockout::new(self.ctx.clone())
            .clear(
                &user,
                &caller.actor,
                &caller.meta,
                "cleared by an administrator",
                true,
            )
            .await?;
        Ok(())
    }

    pub async fn delete_tap(
        &self,
        caller: &Caller,
        reference: &str,
        tap_id: &str,
    ) -> Result<(), DomainError> {
        caller.require(Permission::UserAuthenticationMethodReadWriteAll)?;
        let user = self.resolve_user(reference).await?;
        caller.authorize(AdminAction::ManageMethods, Some(&user))?;
        let deleted = self
            .audited(
                &caller.actor,
                &caller.meta,
                Change::DeleteTap {
                    user_id: &user.id,
                    tap_id,
                },
                AuditEventType::TapDeleted,
                user_target(&user.id, user.upn.as_str()),
                Some(format!("tap {tap_id}")),
            )
            .await?;
        existed(deleted, "temporaryAccessPassMethod")
    }
}

impl AdminService {
    // ---- passkeys ----

    pub async fn list_passkeys(
        &self,
        caller: &Caller,
        reference: &str,
    ) -> Result<Vec<PasskeyCredential>, DomainError> {
        let user = self.resolve_user(reference).await?;
        caller.authorize(AdminAction::ReadMethods, Some(&user))?;
        Ok(self.ctx.store.list_credentials(&user.id).await?)
    }

    pub async fn get_passkey(
        &self,
        caller: &Caller,
        reference: &str,
        id: &str,
    ) -> Result<PasskeyCredential, DomainError> {
        self.list_passkeys(caller, reference)
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(DomainError::NotFound("passkeyMethod"))
    }

    pub async fn delete_passkey(
        &self,
        caller: &Caller,
        reference: &str,
        id: &str,
    ) -> Result<(), DomainError> {
        let user = self.resolve_user(reference).await?;
        caller.authorize(AdminAction::ManageMethods, Some(&user))?;
        let deleted = self
            .audited(
                &caller.actor,
                &caller.meta,
                Change::DeleteCredential {
                    user_id: &user.id,
                    cred_id: id,
                },
                AuditEventType::PasskeyDeleted,
                user_target(&user.id, user.upn.as_str()),
                Some(format!("credential {id}")),
            )
            .await?;
        existed(deleted, "passkeyMethod")
    }

    /// Ends every session and refresh token of the user (sign-ins before now).
    pub async fn revoke_sessions(
        &self,
        caller: &Caller,
        reference: &str,
    ) -> Result<(), DomainError> {
        let current = self.resolve_user(reference).await?;
        caller.authorize(AdminAction::ManageMethods, Some(&current))?;
        let mut user = current.clone();
        user.sessions_valid_after = Some(self.now());
        self.audited(
            &caller.actor,
            &caller.meta,
            Change::UpdateUser {
                user: &user,
                prior: Some(&current),
            },
            AuditEventType::SessionsRevoked,
            user_target(&user.id, user.upn.as_str()),
            None,
        )
        .await?;
        Ok(())
    }

    /// Replaces the user's directory roles (Global Administrator only).
    pub async fn set_roles(
        &self,
        caller: &Caller,
        reference: &str,
        roles: Vec<DirectoryRole>,
    ) -> Result<User, DomainError> {
        let current = self.resolve_user(reference).await?;
        caller.authorize(AdminAction::ManageRoles, Some(&current))?;
        let mut user = current.clone();
        let mut wanted: Vec<DirectoryRole> = Vec::with_capacity(roles.len());
        for r in roles {
            if !wanted.contains(&r) {
                wanted.push(r);
            }
        }
        if wanted == user.roles {
            return Ok(user);
        }
        let before = role_names(&user.roles);
        let promoted = wanted.iter().any(|r| !user.roles.contains(r));
        let mut detail = format!("roles: [{before}] → [{}]", role_names(&wanted));
        if promoted {
            // A pass, session or token obtained under the old rules (say,
            // from an Authentication Administrator) must not carry the new
            // powers: the pass goes first, then every sign-in before now.
            if let Some(tap) = self.ctx.store.get_tap(&user.id).await? {
                self.audited(
                    &caller.actor,
                    &caller.meta,
                    Change::DeleteTap {
                        user_id: &user.id,
                        tap_id: &tap.id,
                    },
                    AuditEventType::TapDeleted,
                    user_target(&user.id, user.upn.as_str()),
                    Some(format!("tap {}: removed when a role was added", tap.id)),
                )
                .await?;
            }
            user.sessions_valid_after = Some(self.now());
            detail.push_str("; sessions revoked");
        }
        user.roles = wanted;
        self.audited(
            &caller.actor,
            &caller.meta,
            Change::UpdateUser {
                user: &user,
                prior: Some(&current),
            },
            AuditEventType::RolesChanged,
            user_target(&user.id, user.upn.as_str()),
            Some(detail),
        )
        .await?;
        Ok(user)
    }

    // ---- clients ----

    /// Registers a relying party; the secret exists in clear only here.
    pub async fn register_client(
        &self,
        caller: &Caller,
        new: NewClient,
    ) -> Result<RegisteredClient, DomainError> {
        caller.authorize(AdminAction::ManageClients, None)?;
        new.validate()?;
        // No one grants an application more than they hold themselves.
        if let Some(p) = new
            .permissions
            .iter()
            .find(|p| !caller.permissions.contains(p))
        {
            return Err(DomainError::Forbidden(
                format!(
                    "you cannot grant {}, which you do not hold yourself",
                    p.as_str()
                )
                .into(),
            ));
        }
        let id = random::uuid(&*self.ctx.rng)?;
        let secret = if new.auth_method() == ClientAuthMethod::None {
            None
        } else {
            Some(random::token::<32>(&*self.ctx.rng)?)
        };
        let client = new.into_client(id, secret.as_deref().map(|s| sha256(s.as_bytes())));
        self.audited(
            &caller.actor,
            &caller.meta,
            Change::PutClient(&client),
            AuditEventType::ClientRegistered,
            client_target(&client),
            Some(format!(
                "grant types: {}; redirect URIs: {}{}",
                client
                    .grant_types
                    .iter()
                    .map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                client.redirect_uris.join(" "),
                if client.permissions.is_empty() {
                    String::new()
                } else {
                    let names: Vec<_> = client.permissions.iter().map(|p| p.as_str()).collect();
                    format!("; permissions: {}", names.join(" "))
                }
            )),
        )
        .await?;
        Ok(RegisteredClient { client, secret })
    }

    /// Every client: the configured ones first, then the registered ones.
    pub async fn list_clients(&self, caller: &Caller) -> Result<Vec<ClientView>, DomainError> {
        caller.authorize(AdminAction::ManageClients, None)?;
        let mut out: Vec<ClientView> = self
            .ctx
            .clients
            .configured()
            .map(|c| ClientView {
                client: c.clone(),
                configured: true,
            })
            .collect();
        out.sort_by(|a, b| a.client.id.cmp(&b.client.id));
        let mut stored = self.ctx.store.list_clients().await?;
        stored.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        out.extend(stored.into_iter().map(|client| ClientView {
            client,
            configured: false,
        }));
        Ok(out)
    }

    pub async fn get_client(&self, caller: &Caller, id: &str) -> Result<ClientView, DomainError> {
        caller.authorize(AdminAction::ManageClients, None)?;
        if let Some(c) = self.ctx.clients.configured().find(|c| c.id == id) {
            return Ok(ClientView {
                client: c.clone(),
                configured: true,
            });
        }
        let client = self
            .ctx
            .store
            .get_client(id)
            .await?
            .ok_or(DomainError::NotFound("client"))?;
        Ok(ClientView {
            client,
            configured: false,
        })
    }

    /// Deletes a registered client (configured ones live in the config file).
    pub async fn delete_client(&self, caller: &Caller, id: &str) -> Result<(), DomainError> {
        caller.authorize(AdminAction::ManageClients, None)?;
        if self.ctx.clients.configured().any(|c| c.id == id) {
            return Err(DomainError::Conflict(
                "this client is defined in the configuration file; remove it there".into(),
            ));
        }
        let Some(client) = self.ctx.store.get_client(id).await? else {
            return Err(DomainError::NotFound("client"));
        };
        let deleted = self
            .audited(
                &caller.actor,
                &caller.meta,
                Change::DeleteClient(id),
                AuditEventType::ClientDeleted,
                client_target(&client),
                None,
            )
            .await?;
        existed(deleted, "client")
    }

    // ---- policy ----

    pub async fn get_policy(&self, caller: &Caller) -> Result<Policy, DomainError> {
        caller.authorize(AdminAction::ManagePolicy, None)?;
        self.policy().await
    }

    /// Applies `change` to the stored policy, validates, stores and audits.
    pub async fn update_policy(
        &self,
        caller: &Caller,
        what: &'static str,
        change: impl Fn(&mut Policy) -> Result<(), DomainError>,
    ) -> Result<Policy, DomainError> {
        caller.authorize(AdminAction::ManagePolicy, None)?;
        // Compare-and-set on the policy as read: an edit that lost to
        // another one (the TAP and the Fido2 settings at once) is applied
        // again on top of it, never over it.
        let mut attempt = 1;
        loop {
            let prior = self.policy().await?;
            let mut policy = prior.clone();
            change(&mut policy)?;
            policy.tap.validate()?;
            policy.passkey.validate()?;
            // Anchors must parse now, not at someone's enrollment.
            super::enrollment::attestation_ca_list(&policy.passkey.attestation)?;
            let target = Target {
                kind: "policy".into(),
                id: what.into(),
                display: None,
            };
            let written = self
                .audited(
                    &caller.actor,
                    &caller.meta,
                    Change::PutPolicy {
                        policy: &policy,
                        prior: Some(&prior),
                    },
                    AuditEventType::PolicyChanged,
                    target,
                    serde_json::to_string(&policy).ok(),
                )
                .await;
            match written {
                Err(DomainError::Conflict(_)) if attempt < POLICY_ATTEMPTS => attempt += 1,
                other => return other.map(|_| policy),
            }
        }
    }

    // ---- signing keys ----

    /// Rotates the signing keys (see [`super::keys::rotate`]) and makes this
    /// instance publish the new ones at once.
    pub async fn rotate_keys(&self, caller: &Caller) -> Result<KeySetRecord, DomainError> {
        caller.authorize(AdminAction::ManagePolicy, None)?;
        let settings = &self.ctx.settings;
        let delay = time::Duration::seconds(i64::from(settings.keys.activation_delay_seconds));
        let lifetime =
            time::Duration::seconds(i64::from(settings.tokens.access_token_lifetime_seconds) + 60);
        let next = super::keys::rotate(&*self.ctx.store, self.now(), delay, lifetime).await?;
        self.ctx.keys.reload(&*self.ctx.store).await?;
        let target = Target {
            kind: "signing_keys".into(),
            id: next.version.to_string(),
            display: None,
        };
        // The key set is swapped by compare-and-set in keys::rotate; its
        // event follows (a crash in between loses the event, not the keys).
        let entry = Entry {
            event_type: AuditEventType::KeysRotated,
            actor: caller.actor.clone(),
            target: Some(target),
            meta: &caller.meta,
            outcome: Outcome::Success,
            detail: None,
        };
        self.ctx.audit.record(entry, self.now()).await?;
        Ok(next)
    }

    // ---- audit log ----

    pub async fn audit_log(
        &self,
        caller: &Caller,
        filter: &AuditFilter,
        cursor: Option<&str>,
        top: usize,
    ) -> Result<AuditPage, DomainError> {
        caller.authorize(AdminAction::ReadAuditLog, None)?;
        Ok(self
            .ctx
            .store
            .list_audit(filter, cursor, top.clamp(1, MAX_PAGE))
            .await?)
    }
}

pub(super) fn encode_cursor(upn_key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(upn_key)
}

/// A cursor is a position in a listing's order (users by UPN, groups
/// by name and id, members by id): every string of base64url
/// characters whose length is not 1 more than a multiple of 4 (the
/// `$skiptoken` parameter of the API document) names one, so every such string
/// is taken, also one this server did not issue (it starts the page after
/// whatever it decodes to).
pub(super) fn decode_cursor(cursor: &str) -> Result<String, DomainError> {
    use base64::Engine;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    LENIENT
        .decode(cursor)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .ok_or_else(|| DomainError::invalid("$skiptoken", "is not a token this server issued"))
}

/// Property tests (`prop_*`; `PROPTEST_CASES` sets the number of cases).
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn prop_skiptoken_reads_back_what_was_issued(key in any::<String>()) {
            prop_assert_eq!(decode_cursor(&encode_cursor(&key)).ok(), Some(key));
        }

        #[test]
        fn prop_skiptoken_never_panics(token in prop_oneof![any::<String>(), "[A-Za-z0-9_=+/-]{0,40}"]) {
            if let Err(e) = decode_cursor(&token) {
                prop_assert!(e.to_string().contains("$skiptoken"), "{}", e);
            }
        }
    }
}
