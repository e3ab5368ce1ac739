//! The onboarding progress report: every user's registration details
//! (`domain::registration_report`), read from the directory, their pass
//! and their passkeys. Graph's `userRegistrationDetails` and the portal's
//! funnel both come from here. Reading it walks the whole directory (a
//! batch of users at a time, their methods read concurrently): it is a
//! report, not a hot path.

use futures_util::{StreamExt, TryStreamExt, stream};

use super::Caller;
use super::admin::{AdminService, MAX_PAGE};
use crate::domain::DomainError;
use crate::domain::registration_report::RegistrationDetails;
use crate::domain::roles::AdminAction;
use crate::domain::user::User;

/// Users' methods read at once.
const IN_FLIGHT: usize = 32;

impl AdminService {
    /// Every user's registration details, in user name order
    /// (`AuditLog.Read.All`, as in Graph).
    pub async fn registration_details(
        &self,
        caller: &Caller,
    ) -> Result<Vec<RegistrationDetails>, DomainError> {
        caller.authorize(AdminAction::ReadAuditLog, None)?;
        let now = self.ctx.clock.now();
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let users = self
                .ctx
                .store
                .list_users(after.as_deref(), MAX_PAGE)
                .await?;
            let Some(last) = users.last() else {
                break;
            };
            after = Some(last.upn.key());
            let full = users.len() == MAX_PAGE;
            let batch: Vec<RegistrationDetails> = stream::iter(users)
                .map(|u| self.details_of(u, now))
                .buffered(IN_FLIGHT)
                .try_collect()
                .await?;
            out.extend(batch);
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// One user's registration details, by id or user name.
    pub async fn registration_details_of(
        &self,
        caller: &Caller,
        reference: &str,
    ) -> Result<RegistrationDetails, DomainError> {
        caller.authorize(AdminAction::ReadAuditLog, None)?;
        let user = match self.resolve_user(reference).await {
            Err(DomainError::NotFound(_)) => {
                return Err(DomainError::NotFound("userRegistrationDetails"));
            }
            other => other?,
        };
        self.details_of(user, self.ctx.clock.now()).await
    }

    async fn details_of(
        &self,
        user: User,
        now: time::OffsetDateTime,
    ) -> Result<RegistrationDetails, DomainError> {
        let store = &self.ctx.store;
        let (tap, passkeys) =
            tokio::try_join!(store.get_tap(&user.id), store.list_credentials(&user.id))?;
        Ok(RegistrationDetails::of(&user, tap.as_ref(), &passkeys, now))
    }
}
