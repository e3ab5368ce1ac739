//! The audit log as an administrator reads it: filters by user name,
//! client name or id (resolved to ids through the directory), and every
//! actor named, not only its id.

use std::collections::HashMap;

use super::AdminService;
use crate::domain::DomainError;
use crate::domain::audit::{ActorKind, AuditEvent, AuditFilter};
use crate::domain::roles::AdminAction;
use crate::service::Caller;

/// A page of events, and the names of their actors by id.
pub struct AuditView {
    pub events: Vec<AuditEvent>,
    pub next: Option<String>,
    pub names: HashMap<String, String>,
}

impl AdminService {
    /// The id a filter's "actor" or "target" stands for: a user (by UPN or
    /// id), a client (by id or display name, case-insensitive), or, when
    /// nothing by that name exists (a deleted user's id, `(unknown)`), the
    /// term itself.
    pub async fn audit_party(&self, caller: &Caller, term: &str) -> Result<String, DomainError> {
        caller.authorize(AdminAction::ReadAuditLog, None)?;
        let term = term.trim();
        match self.resolve_user(term).await {
            Ok(user) => return Ok(user.id),
            Err(DomainError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        if let Some(c) = self.ctx.clients.find(term).await? {
            return Ok(c.id.clone());
        }
        let by_name = |name: Option<&str>| name.is_some_and(|n| n.eq_ignore_ascii_case(term));
        if let Some(c) = self
            .ctx
            .clients
            .configured()
            .find(|c| by_name(c.name.as_deref()))
        {
            return Ok(c.id.clone());
        }
        let stored = self.ctx.store.list_clients().await?;
        Ok(stored
            .into_iter()
            .find(|c| by_name(c.name.as_deref()))
            .map_or_else(|| term.to_owned(), |c| c.id))
    }

    /// A page of the log (see [`AdminService::audit_log`]) with the names
    /// of its actors now: a user's UPN, a client's display name. Actors
    /// that no longer exist keep their id.
    pub async fn audit_view(
        &self,
        caller: &Caller,
        filter: &AuditFilter,
        cursor: Option<&str>,
        top: usize,
    ) -> Result<AuditView, DomainError> {
        let page = self.audit_log(caller, filter, cursor, top).await?;
        let mut names = HashMap::new();
        for e in &page.events {
            let id = &e.actor.id;
            if names.contains_key(id) {
                continue;
            }
            let name = match e.actor.kind {
                ActorKind::User => self
                    .ctx
                    .store
                    .get_user(id)
                    .await?
                    .map(|u| u.upn.as_str().to_owned()),
                ActorKind::Client => self
                    .ctx
                    .clients
                    .find(id)
                    .await?
                    .and_then(|c| c.name.clone()),
                ActorKind::System => None,
            };
            if let Some(name) = name {
                names.insert(id.clone(), name);
            }
        }
        Ok(AuditView {
            events: page.events,
            next: page.next,
            names,
        })
    }
}
