//! Groups and the directory lookups of the admin API (Graph's `/groups`,
//! `members/$ref`, `memberOf`, `manager`, `$count`, and `$filter` on
//! `mail` / `employeeId`), as more [`AdminService`] use cases.
//!
//! Rules:
//! - Groups need `Group.ReadWrite.All`; a signed-in caller needs the
//!   Global Administrator role ([`AdminAction::ReadGroups`] /
//!   [`AdminAction::ManageGroups`]).
//! - Groups decide which sign-in methods apply to whom (policy targets),
//!   so, as with every other change to an administrator, an application
//!   never adds a user holding a directory role to a group, never removes
//!   one, and never deletes a group that holds one.
//! - Every change and its audit event are one atomic store write. A
//!   member's addition or removal is recorded on the member (target kind
//!   `user`), with the group in the detail, so a person's history shows
//!   what changed their policies; creating, changing and deleting a group
//!   is recorded on the group (target kind `group`).
//! - Deleting a group removes its memberships; a policy that still names
//!   it matches nobody through it. Deleting a user removes them from
//!   their groups (one atomic step with the deletion and its event).

use super::admin::{AdminService, MAX_PAGE, decode_cursor, encode_cursor};
use super::audit::user_target;
use super::{Caller, existed};
use crate::crypto::random;
use crate::domain::DomainError;
use crate::domain::audit::{ActorKind, AuditEventType, Target};
use crate::domain::group::{Group, GroupPatch, NewGroup};
use crate::domain::roles::AdminAction;
use crate::domain::user::{User, index_key};
use crate::store::Change;

/// One page of groups, ordered by display name then id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPage {
    pub groups: Vec<Group>,
    /// Opaque cursor of the next page, if any.
    pub next: Option<String>,
}

/// One page of a group's members, ordered by user id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPage {
    pub members: Vec<User>,
    pub next: Option<String>,
}

fn group_target(g: &Group) -> Target {
    Target {
        kind: "group".into(),
        id: g.id.clone(),
        display: Some(g.display_name.clone()),
    }
}

/// Graph's answer to adding a member twice (a 400 with this text).
fn already_member() -> DomainError {
    DomainError::invalid(
        "members",
        "One or more added object references already exist for the following modified properties: 'members'.",
    )
}

/// Members are checked a page at a time when an application deletes a group.
const MEMBER_SCAN_PAGE: usize = 500;

impl AdminService {
    async fn group(&self, id: &str) -> Result<Group, DomainError> {
        self.ctx
            .store
            .get_group(id)
            .await?
            .ok_or(DomainError::NotFound("group"))
    }

    pub async fn create_group(&self, caller: &Caller, new: NewGroup) -> Result<Group, DomainError> {
        caller.authorize(AdminAction::ManageGroups, None)?;
        let id = random::uuid(&*self.ctx.rng)?;
        let group = new.into_group(id, self.ctx.clock.now())?;
        self.audited(
            &caller.actor,
            &caller.meta,
            Change::CreateGroup(&group),
            AuditEventType::GroupCreated,
            group_target(&group),
            Some(format!("mailNickname {}", group.mail_nickname)),
        )
        .await?;
        Ok(group)
    }

    pub async fn get_group(&self, caller: &Caller, id: &str) -> Result<Group, DomainError> {
        caller.authorize(AdminAction::ReadGroups, None)?;
        self.group(id).await
    }

    /// Groups by display name then id; `cursor` is a page's `next`.
    pub async fn list_groups(
        &self,
        caller: &Caller,
        cursor: Option<&str>,
        top: usize,
    ) -> Result<GroupPage, DomainError> {
        caller.authorize(AdminAction::ReadGroups, None)?;
        let top = top.clamp(1, MAX_PAGE);
        let after = cursor.map(decode_cursor).transpose()?;
        let mut groups = self
            .ctx
            .store
            .list_groups(after.as_deref(), top + 1)
            .await?;
        let next = if groups.len() > top {
            groups.truncate(top);
            groups.last().map(|g| encode_cursor(&g.order_key()))
        } else {
            None
        };
        Ok(GroupPage { groups, next })
    }

    /// `/groups/$count`, in O(1).
    pub async fn count_groups(&self, caller: &Caller) -> Result<u64, DomainError> {
        caller.authorize(AdminAction::ReadGroups, None)?;
        Ok(self.ctx.store.count_groups().await?)
    }

    /// Applies `patch` as a compare-and-set on the group as read: a
    /// concurrent change makes this a `Conflict`, never a silent undo.
    pub async fn update_group(
        &self,
        caller: &Caller,
        id: &str,
        patch: GroupPatch,
    ) -> Result<Group, DomainError> {
        caller.authorize(AdminAction::ManageGroups, None)?;
        let current = self.group(id).await?;
        if patch.is_empty() {
            return Ok(current);
        }
        let next = patch.apply(&current)?;
        if next == current {
            return Ok(current);
        }
        let mut changed = Vec::new();
        if next.display_name != current.display_name {
            changed.push("displayName");
        }
        if next.description != current.description {
            changed.push("description");
        }
        if next.mail_nickname != current.mail_nickname {
            changed.push("mailNickname");
        }
        self.audited(
            &caller.actor,
            &caller.meta,
            Change::UpdateGroup {
                group: &next,
                prior: Some(&current),
            },
            AuditEventType::GroupUpdated,
            group_target(&next),
            Some(format!("changed: {}", changed.join(", "))),
        )
        .await?;
        Ok(next)
    }

    /// Deletes the group and its memberships.
    pub async fn delete_group(&self, caller: &Caller, id: &str) -> Result<(), DomainError> {
        caller.authorize(AdminAction::ManageGroups, None)?;
        let group = self.group(id).await?;
        if caller.actor.kind != ActorKind::User {
            // Deleting the group takes every member out of it: for an
            // application, the same as removing each (see the module doc).
            // A best-effort check: an administrator added by a Global
            // Administrator while this runs is not seen.
            let mut after: Option<String> = None;
            loop {
                let page = self
                    .ctx
                    .store
                    .list_members(id, after.as_deref(), MEMBER_SCAN_PAGE)
                    .await?;
                for member in &page {
                    caller.authorize(AdminAction::ManageGroups, Some(member))?;
                }
                if page.len() < MEMBER_SCAN_PAGE {
                    break;
                }
                after = page.last().map(|u| u.id.clone());
            }
        }
        let deleted = self
            .audited(
                &caller.actor,
                &caller.meta,
                Change::DeleteGroup(&group.id),
                AuditEventType::GroupDeleted,
                group_target(&group),
                None,
            )
            .await?;
        existed(deleted, "group")
    }

    /// Adds the user (`user_ref`: id or UPN) to the group. A member added
    /// twice is Graph's 400 ([`DomainError::Invalid`] on `members`).
    pub async fn add_member(
        &self,
        caller: &Caller,
        group_id: &str,
        user_ref: &str,
    ) -> Result<(), DomainError> {
        caller.authorize(AdminAction::ManageGroups, None)?;
        let group = self.group(group_id).await?;
        let user = self.resolve_user(user_ref).await?;
        caller.authorize(AdminAction::ManageGroups, Some(&user))?;
        let result = self
            .audited_also(
                &caller.actor,
                &caller.meta,
                Change::AddMember {
                    group_id: &group.id,
                    user_id: &user.id,
                },
                AuditEventType::GroupMemberAdded,
                user_target(&user.id, user.upn.as_str()),
                group_target(&group),
                Some(format!("group {} ({})", group.display_name, group.id)),
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            // The store's Conflict here means "a member already".
            Err(DomainError::Conflict(_)) => Err(already_member()),
            Err(e) => Err(e),
        }
    }

    /// Removes the user from the group; `NotFound` if they were not in it.
    pub async fn remove_member(
        &self,
        caller: &Caller,
        group_id: &str,
        user_ref: &str,
    ) -> Result<(), DomainError> {
        caller.authorize(AdminAction::ManageGroups, None)?;
        let group = self.group(group_id).await?;
        let user = self.resolve_user(user_ref).await?;
        caller.authorize(AdminAction::ManageGroups, Some(&user))?;
        let removed = self
            .audited_also(
                &caller.actor,
                &caller.meta,
                Change::RemoveMember {
                    group_id: &group.id,
                    user_id: &user.id,
                },
                AuditEventType::GroupMemberRemoved,
                user_target(&user.id, user.upn.as_str()),
                group_target(&group),
                Some(format!("group {} ({})", group.display_name, group.id)),
            )
            .await?;
        existed(removed, "member")
    }

    /// The group's members by user id; `cursor` is a page's `next`.
    pub async fn list_members(
        &self,
        caller: &Caller,
        group_id: &str,
        cursor: Option<&str>,
        top: usize,
    ) -> Result<MemberPage, DomainError> {
        caller.authorize(AdminAction::ReadGroups, None)?;
        let group = self.group(group_id).await?;
        let top = top.clamp(1, MAX_PAGE);
        let after = cursor.map(decode_cursor).transpose()?;
        let mut members = self
            .ctx
            .store
            .list_members(&group.id, after.as_deref(), top + 1)
            .await?;
        let next = if members.len() > top {
            members.truncate(top);
            members.last().map(|u| encode_cursor(&u.id))
        } else {
            None
        };
        Ok(MemberPage { members, next })
    }

    /// The groups the user (id or UPN) is a member of (Graph's
    /// `memberOf`), by display name then id. O(groups of that user).
    pub async fn member_of(
        &self,
        caller: &Caller,
        user_ref: &str,
    ) -> Result<Vec<Group>, DomainError> {
        caller.authorize(AdminAction::ReadGroups, None)?;
        let user = self.resolve_user(user_ref).await?;
        let ids = self.ctx.store.groups_of_user(&user.id).await?;
        let mut groups = Vec::with_capacity(ids.len());
        for id in ids {
            // A group deleted meanwhile is simply not listed.
            if let Some(g) = self.ctx.store.get_group(&id).await? {
                groups.push(g);
            }
        }
        groups.sort_by_key(Group::order_key);
        Ok(groups)
    }

    // ---- user lookups ----

    /// `/users/$count`, in O(1).
    pub async fn count_users(&self, caller: &Caller) -> Result<u64, DomainError> {
        caller.authorize(AdminAction::ReadUsers, None)?;
        Ok(self.ctx.store.count_users().await?)
    }

    /// Users whose `mail` is `mail` (case-insensitive; not unique), by id.
    /// An index lookup: no directory scan.
    pub async fn find_users_by_mail(
        &self,
        caller: &Caller,
        mail: &str,
    ) -> Result<Vec<User>, DomainError> {
        caller.authorize(AdminAction::ReadUsers, None)?;
        Ok(self.ctx.store.find_users_by_mail(&index_key(mail)).await?)
    }

    /// Users whose `employeeId` is `employee_id` (case-insensitive; not
    /// unique), by id. An index lookup: no directory scan.
    pub async fn find_users_by_employee_id(
        &self,
        caller: &Caller,
        employee_id: &str,
    ) -> Result<Vec<User>, DomainError> {
        caller.authorize(AdminAction::ReadUsers, None)?;
        Ok(self
            .ctx
            .store
            .find_users_by_employee_id(&index_key(employee_id))
            .await?)
    }

    // ---- manager ----

    /// The user's manager, if set and still in the directory (a manager
    /// deleted since reads as none; see [`User::manager`]).
    pub async fn get_manager(
        &self,
        caller: &Caller,
        user_ref: &str,
    ) -> Result<Option<User>, DomainError> {
        caller.authorize(AdminAction::ReadUsers, None)?;
        let user = self.resolve_user(user_ref).await?;
        match &user.manager {
            Some(id) => Ok(self.ctx.store.get_user(id).await?),
            None => Ok(None),
        }
    }

    /// Makes `manager_ref` (id or UPN; an existing user, not the user
    /// themself) the manager of `user_ref`. Compare-and-set on the user.
    pub async fn set_manager(
        &self,
        caller: &Caller,
        user_ref: &str,
        manager_ref: &str,
    ) -> Result<User, DomainError> {
        let current = self.resolve_user(user_ref).await?;
        caller.authorize(AdminAction::ManageUsers, Some(&current))?;
        let manager = match self.resolve_user(manager_ref).await {
            Err(DomainError::NotFound(_)) => return Err(DomainError::NotFound("manager")),
            other => other?,
        };
        if manager.id == current.id {
            return Err(DomainError::invalid(
                "manager",
                "a user cannot be their own manager",
            ));
        }
        if current.manager.as_deref() == Some(manager.id.as_str()) {
            return Ok(current);
        }
        let mut next = current.clone();
        next.manager = Some(manager.id.clone());
        self.audited(
            &caller.actor,
            &caller.meta,
            Change::UpdateUser {
                user: &next,
                prior: Some(&current),
            },
            AuditEventType::UserUpdated,
            user_target(&next.id, next.upn.as_str()),
            Some(format!(
                "changed: manager → {} ({})",
                manager.upn, manager.id
            )),
        )
        .await?;
        Ok(next)
    }

    /// Removes the user's manager; `NotFound` if none was set.
    pub async fn clear_manager(
        &self,
        caller: &Caller,
        user_ref: &str,
    ) -> Result<User, DomainError> {
        let current = self.resolve_user(user_ref).await?;
        caller.authorize(AdminAction::ManageUsers, Some(&current))?;
        if current.manager.is_none() {
            return Err(DomainError::NotFound("manager"));
        }
        let mut next = current.clone();
        next.manager = None;
        self.audited(
            &caller.actor,
            &caller.meta,
            Change::UpdateUser {
                user: &next,
                prior: Some(&current),
            },
            AuditEventType::UserUpdated,
            user_target(&next.id, next.upn.as_str()),
            Some("changed: manager removed".into()),
        )
        .await?;
        Ok(next)
    }

    /// Every user and group a policy is to target exists (a policy that
    /// names nobody real would silently apply to fewer people than meant).
    pub async fn check_targets(
        &self,
        targets: &[crate::domain::policy::PolicyTarget],
        field: &'static str,
    ) -> Result<(), DomainError> {
        use crate::domain::policy::TargetType;
        for t in targets {
            let exists = match t.target_type {
                TargetType::User => self.ctx.store.get_user(&t.id).await?.is_some(),
                TargetType::Group => self.ctx.store.get_group(&t.id).await?.is_some(),
            };
            if !exists {
                let kind = match t.target_type {
                    TargetType::User => "user",
                    TargetType::Group => "group",
                };
                return Err(DomainError::invalid(
                    field,
                    format!("there is no {kind} with the id {}", t.id),
                ));
            }
        }
        Ok(())
    }
}
