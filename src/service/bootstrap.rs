//! First start and recovery: the first administrator and their pass.

use std::sync::Arc;

use super::admin::{AdminService, IssuedTap};
use super::audit::{Entry, user_target};
use super::{Context, RequestMeta};
use crate::crypto::random;
use crate::domain::DomainError;
use crate::domain::audit::{Actor, AuditEventType, Outcome};
use crate::domain::tap::TapRequest;
use crate::domain::user::{DirectoryRole, NewUser, Upn, User};
use crate::store::Change;

pub struct Bootstrap {
    ctx: Arc<Context>,
    admin: AdminService,
}

/// What bootstrap or recovery produced, for printing to the operator.
#[derive(Debug)]
pub struct Issued {
    pub user: User,
    pub tap: IssuedTap,
    pub sign_in_url: String,
}

impl Bootstrap {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self {
            admin: AdminService::new(ctx.clone()),
            ctx,
        }
    }

    /// With an empty directory, creates the configured administrator and
    /// issues their pass. `None` when the directory already has users (or
    /// another instance bootstrapped it first).
    pub async fn ensure_admin(&self) -> Result<Option<Issued>, DomainError> {
        if self.ctx.store.has_users().await? {
            return Ok(None);
        }
        let new = NewUser {
            upn: self.ctx.settings.bootstrap.admin_upn.clone(),
            display_name: "Administrator".into(),
            roles: vec![DirectoryRole::GlobalAdministrator],
            ..NewUser::default()
        };
        let user = new.into_user(random::uuid(&*self.ctx.rng)?, self.ctx.clock.now())?;
        let entry = Entry {
            event_type: AuditEventType::UserCreated,
            actor: Actor::system(),
            target: Some(user_target(&user.id, user.upn.as_str())),
            meta: &RequestMeta::default(),
            outcome: Outcome::Success,
            detail: Some("bootstrap administrator".into()),
        };
        let now = self.ctx.clock.now();
        match self
            .ctx
            .audit
            .apply(Change::CreateUser(&user), entry, now)
            .await
        {
            Ok(_) => {}
            Err(crate::store::StoreError::Conflict(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        self.issue(user).await.map(Some)
    }

    /// Issues a fresh pass for `upn` (replacing any other), for `onramp recover`.
    pub async fn recover(&self, upn: &str) -> Result<Issued, DomainError> {
        let upn = Upn::parse(upn)?;
        let user = self
            .ctx
            .store
            .find_user_by_upn(&upn.key())
            .await?
            .ok_or(DomainError::NotFound("user"))?;
        self.issue(user).await
    }

    async fn issue(&self, user: User) -> Result<Issued, DomainError> {
        let lifetime = self.ctx.settings.bootstrap.tap_lifetime_minutes;
        let mut policy = self.admin.policy().await?;
        // The operator's configured lifetime applies, whatever the tenant bounds.
        policy.tap.minimum_lifetime_minutes = policy.tap.minimum_lifetime_minutes.min(lifetime);
        policy.tap.maximum_lifetime_minutes = policy.tap.maximum_lifetime_minutes.max(lifetime);
        let request = TapRequest {
            lifetime_minutes: Some(lifetime),
            ..TapRequest::default()
        };
        let tap = self
            .admin
            .issue_tap(
                &user,
                request,
                &policy,
                &Actor::system(),
                &RequestMeta::default(),
            )
            .await?;
        let sign_in_url = sign_in_link(&self.ctx.issuer, user.upn.as_str());
        Ok(Issued {
            user,
            tap,
            sign_in_url,
        })
    }
}

/// The sign-in page with the user name filled in: what a new hire opens
/// (printed at bootstrap and recovery, a QR code in the admin portal).
pub fn sign_in_link(issuer: &str, upn: &str) -> String {
    let upn: String = url::form_urlencoded::byte_serialize(upn.as_bytes()).collect();
    format!("{issuer}/signin?login_hint={upn}")
}
