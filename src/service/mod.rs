//! Use cases. Plain values in, domain results out: no HTTP types here.

pub mod account;
pub mod admin;
pub mod assertion;
pub mod audit;
pub mod authorize;
pub mod backchannel;
pub mod bootstrap;
pub mod clients;
pub mod directory_query;
pub mod discovery;
pub mod enrollment;
pub mod groups;
pub mod hashing;
pub mod keys;
pub mod lockout;
pub mod logout;
pub mod mailer;
pub mod oauth_errors;
pub mod onboarding;
pub mod passkey_assertion;
pub mod ratelimit;
pub mod refresh;
pub mod session;
pub mod shown_once;
pub mod signin;
pub mod token;
pub mod userinfo;
pub mod webhooks;

use std::sync::Arc;

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::crypto::CryptoError;
use crate::crypto::random::SharedRandom;
use crate::domain::DomainError;
use crate::domain::audit::{Actor, ActorKind};
use crate::domain::permission::Permission;
use crate::domain::roles::{self, AdminAction};
use crate::domain::user::{DirectoryRole, User};
use crate::store::{SharedStore, StoreError};

/// What every service shares: the store, time, randomness, keys, clients.
pub struct Context {
    pub store: SharedStore,
    pub clock: SharedClock,
    pub rng: SharedRandom,
    pub keys: keys::KeyService,
    pub clients: clients::ClientRegistry,
    pub audit: audit::AuditLog,
    pub settings: Arc<Settings>,
    /// The issuer without a trailing slash.
    pub issuer: String,
    /// `aud` of access tokens for this server's own API.
    pub api_audience: String,
    /// Outgoing HTTP (back-channel logout, clients' `jwks_uri`s).
    pub http: reqwest::Client,
    /// Token endpoint requests per client (this instance's share).
    pub token_limiter: ratelimit::RateLimiter,
    /// Keys fetched from clients' `jwks_uri`s (private_key_jwt).
    pub remote_jwks: assertion::RemoteJwks,
    /// WebAuthn relying party; `None` when the issuer host is not a domain.
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
    /// argon2 verifications and hashes, bounded (anyone can ask for one).
    pub hashing: hashing::HashLimiter,
}

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub client_address: Option<String>,
    pub request_id: Option<String>,
}

/// An authenticated caller of the admin API: an application (client
/// credentials) or a signed-in administrator (delegated token).
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub permissions: Vec<Permission>,
    /// The administrator's directory roles, read from the directory at
    /// request time (empty for applications).
    pub roles: Vec<DirectoryRole>,
    /// The administrator's user name, read with the roles (for display).
    pub upn: Option<String>,
    pub meta: RequestMeta,
}

impl Caller {
    pub fn require(&self, permission: Permission) -> Result<(), DomainError> {
        if self.permissions.contains(&permission) {
            Ok(())
        } else {
            Err(DomainError::Forbidden(
                format!("this call needs the permission {permission}").into(),
            ))
        }
    }

    /// The one authorization rule set, shared by the API and the portal.
    pub fn authorize(&self, action: AdminAction, target: Option<&User>) -> Result<(), DomainError> {
        self.require(action.permission())?;
        match self.actor.kind {
            ActorKind::User => roles::check(&self.actor.id, &self.roles, action, target),
            ActorKind::Client | ActorKind::System => {
                if action == AdminAction::ManageRoles {
                    // Roles make administrators; only a signed-in Global
                    // Administrator hands them out.
                    return Err(DomainError::Forbidden(
                        "directory roles are assigned by a signed-in Global Administrator, not by an application"
                            .into(),
                    ));
                }
                // Applications act tenant-wide, but never on administrators:
                // a provisioning client must not be a path to an admin account.
                // Group membership counts as a change: groups decide which
                // sign-in methods apply (policy targets), so an application
                // neither adds an administrator to a group nor removes one
                // (nor deletes a group that holds one; see `delete_group`).
                let changes = matches!(
                    action,
                    AdminAction::ManageUsers
                        | AdminAction::ManageMethods
                        | AdminAction::ManageGroups
                );
                if changes && target.is_some_and(|t| !t.roles.is_empty()) {
                    return Err(DomainError::Forbidden(
                        "users holding administrator roles cannot be changed by an application"
                            .into(),
                    ));
                }
                Ok(())
            }
        }
    }
}

impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => {
                crate::metrics::METRICS.store_error();
                DomainError::Unavailable(m)
            }
            StoreError::Conflict(m) => DomainError::Conflict(m.into()),
            StoreError::NotFound => DomainError::NotFound("record"),
            other => DomainError::Internal(other.to_string()),
        }
    }
}

impl From<CryptoError> for DomainError {
    fn from(e: CryptoError) -> Self {
        DomainError::Internal(e.to_string())
    }
}

/// The user's group ids if `needed` (a policy with group targets), else
/// none: without group targets, deciding costs no extra store read.
pub(crate) async fn policy_groups(
    ctx: &Context,
    user_id: &str,
    needed: bool,
) -> Result<Vec<String>, StoreError> {
    if needed {
        ctx.store.groups_of_user(user_id).await
    } else {
        Ok(Vec::new())
    }
}

/// A delete's outcome: nothing to delete is `NotFound(what)`.
pub(crate) fn existed(deleted: bool, what: &'static str) -> Result<(), DomainError> {
    if deleted {
        Ok(())
    } else {
        Err(DomainError::NotFound(what))
    }
}

/// Runs CPU-heavy work (argon2, RSA key generation) off the async executor.
pub async fn blocking<T, F>(f: F) -> Result<T, DomainError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DomainError::Internal(format!("blocking task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::user::NewUser;

    fn user(id: &str, roles: Vec<DirectoryRole>) -> User {
        NewUser {
            upn: format!("{id}@example.com"),
            display_name: id.into(),
            roles,
            ..Default::default()
        }
        .into_user(id.into(), time::OffsetDateTime::UNIX_EPOCH)
        .unwrap()
    }

    fn caller(actor: Actor, roles: Vec<DirectoryRole>) -> Caller {
        Caller {
            actor,
            permissions: vec![Permission::GroupReadWriteAll],
            roles,
            upn: None,
            meta: RequestMeta::default(),
        }
    }

    /// Group membership decides which sign-in methods apply: an
    /// application never changes an administrator's, a Global
    /// Administrator may; groups need Group.ReadWrite.All.
    #[test]
    fn applications_never_change_an_administrators_groups() {
        let ordinary = user("ordinary", vec![]);
        let admin = user("admin", vec![DirectoryRole::AuthenticationAdministrator]);
        let app = caller(Actor::client("hr"), vec![]);
        assert!(app.authorize(AdminAction::ManageGroups, None).is_ok());
        assert!(app.authorize(AdminAction::ReadGroups, None).is_ok());
        assert!(
            app.authorize(AdminAction::ManageGroups, Some(&ordinary))
                .is_ok()
        );
        assert!(matches!(
            app.authorize(AdminAction::ManageGroups, Some(&admin)),
            Err(DomainError::Forbidden(_))
        ));
        let global = caller(
            Actor::user("someone"),
            vec![DirectoryRole::GlobalAdministrator],
        );
        assert!(
            global
                .authorize(AdminAction::ManageGroups, Some(&admin))
                .is_ok()
        );
        let auth_admin = caller(
            Actor::user("someone"),
            vec![DirectoryRole::AuthenticationAdministrator],
        );
        assert!(auth_admin.authorize(AdminAction::ReadGroups, None).is_err());
        let mut no_permission = caller(Actor::client("hr"), vec![]);
        no_permission.permissions = vec![Permission::UserReadWriteAll];
        assert!(
            no_permission
                .authorize(AdminAction::ReadGroups, None)
                .is_err()
        );
    }
}
