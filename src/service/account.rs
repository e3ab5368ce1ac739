//! Self-service ("security info"): a signed-in person manages their own
//! passkeys and sees or deletes their own Temporary Access Pass.

use std::sync::Arc;

use super::admin::TapView;
use super::audit::{Entry, user_target};
use super::{Context, RequestMeta, existed, policy_groups};
use crate::domain::DomainError;
use crate::domain::audit::{Actor, AuditEventType, Outcome};
use crate::domain::authz::Session;
use crate::domain::credential::PasskeyCredential;
use crate::domain::user::User;
use crate::store::Change;

pub const MAX_NAME: usize = 64;

pub struct AccountService {
    ctx: Arc<Context>,
}

/// What the security info page shows.
pub struct SecurityInfo {
    pub user: User,
    pub passkeys: Vec<PasskeyCredential>,
    pub tap: Option<TapView>,
    /// May this person register a passkey (the passkey policy's state,
    /// targets and self-service switch)? The enrollment window applies
    /// on top.
    pub may_register_passkey: bool,
}

impl AccountService {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    async fn user(&self, session: &Session) -> Result<User, DomainError> {
        self.ctx
            .store
            .get_user(&session.user_id)
            .await?
            .ok_or(DomainError::NotFound("user"))
    }

    pub async fn security_info(&self, session: &Session) -> Result<SecurityInfo, DomainError> {
        let user = self.user(session).await?;
        let passkeys = self.ctx.store.list_credentials(&user.id).await?;
        let policy = self.ctx.store.get_policy().await?.unwrap_or_default();
        let now = self.ctx.clock.now();
        let groups = policy_groups(&self.ctx, &user.id, policy.has_group_targets()).await?;
        let tap = self.ctx.store.get_tap(&user.id).await?.map(|tap| TapView {
            reason: tap.usability(now, &policy.tap, &user.id, &groups),
            tap,
        });
        let may_register_passkey = policy.passkey.may_register(&user.id, &groups);
        Ok(SecurityInfo {
            user,
            passkeys,
            tap,
            may_register_passkey,
        })
    }

    pub async fn rename_passkey(
        &self,
        session: &Session,
        id: &str,
        name: &str,
        meta: &RequestMeta,
    ) -> Result<(), DomainError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            return Err(DomainError::invalid(
                "name",
                "must be 1 to 64 printable characters",
            ));
        }
        let cred = self
            .ctx
            .store
            .find_credential(id)
            .await?
            .filter(|c| c.user_id == session.user_id)
            .ok_or(DomainError::NotFound("passkey"))?;
        let user = self.user(session).await?;
        let mut renamed = cred.clone();
        renamed.name = name.to_owned();
        // Compare-and-set: a sign-in updating the counter meanwhile must not
        // be rolled back by this write (the rename is refused instead).
        let change = Change::UpdateCredential {
            cred: &renamed,
            prior: Some(&cred),
        };
        let detail = format!("own passkey {id}: \"{}\" → \"{}\"", cred.name, renamed.name);
        let renamed = self
            .audited(&user, change, AuditEventType::PasskeyRenamed, meta, detail)
            .await?;
        existed(renamed, "passkey")
    }

    pub async fn delete_passkey(
        &self,
        session: &Session,
        id: &str,
        meta: &RequestMeta,
    ) -> Result<(), DomainError> {
        let user = self.user(session).await?;
        let change = Change::DeleteCredential {
            user_id: &user.id,
            cred_id: id,
        };
        let deleted = self
            .audited(
                &user,
                change,
                AuditEventType::PasskeyDeleted,
                meta,
                format!("own passkey {id}"),
            )
            .await?;
        existed(deleted, "passkey")
    }

    /// The session's user's passkeys.
    pub async fn passkeys(&self, session: &Session) -> Result<Vec<PasskeyCredential>, DomainError> {
        Ok(self.ctx.store.list_credentials(&session.user_id).await?)
    }

    /// The lost-phone case: someone signed in with a pass removes a
    /// passkey they no longer have, within the pass's enrollment window
    /// only (a passkey sign-in has no such window: that person uses the
    /// security info page).
    pub async fn remove_lost_passkey(
        &self,
        session: &Session,
        id: &str,
        meta: &RequestMeta,
    ) -> Result<(), DomainError> {
        if !session.can_enroll(self.ctx.clock.now()) {
            return Err(DomainError::Forbidden(
                "The time to set up a passkey is over. Sign in again with your Temporary Access Pass."
                    .into(),
            ));
        }
        let user = self.user(session).await?;
        let change = Change::DeleteCredential {
            user_id: &user.id,
            cred_id: id,
        };
        let detail = format!("own passkey {id}, removed as lost during a pass sign-in");
        let deleted = self
            .audited(&user, change, AuditEventType::PasskeyDeleted, meta, detail)
            .await?;
        existed(deleted, "passkey")
    }

    pub async fn delete_own_tap(
        &self,
        session: &Session,
        meta: &RequestMeta,
    ) -> Result<(), DomainError> {
        let user = self.user(session).await?;
        let tap = self
            .ctx
            .store
            .get_tap(&user.id)
            .await?
            .ok_or(DomainError::NotFound("temporaryAccessPass"))?;
        let change = Change::DeleteTap {
            user_id: &user.id,
            tap_id: &tap.id,
        };
        let deleted = self
            .audited(
                &user,
                change,
                AuditEventType::TapDeleted,
                meta,
                format!("own pass {}", tap.id),
            )
            .await?;
        existed(deleted, "temporaryAccessPass")
    }

    /// The change and its event, in one atomic step.
    async fn audited(
        &self,
        user: &User,
        change: Change<'_>,
        event_type: AuditEventType,
        meta: &RequestMeta,
        detail: String,
    ) -> Result<bool, DomainError> {
        let entry = Entry {
            event_type,
            actor: Actor::user(&user.id),
            target: Some(user_target(&user.id, user.upn.as_str())),
            meta,
            outcome: Outcome::Success,
            detail: Some(detail),
        };
        Ok(self
            .ctx
            .audit
            .apply(change, entry, self.ctx.clock.now())
            .await?)
    }
}
