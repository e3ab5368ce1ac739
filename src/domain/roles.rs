//! Who may do what to whom: the directory-role rules (as in Entra ID),
//! shared by the admin API and the admin portal.

use super::DomainError;
use super::permission::Permission;
use super::user::{DirectoryRole, User};

/// An administrative action, possibly on a target user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdminAction {
    ReadUsers,
    ManageUsers,
    /// Read a user's authentication methods.
    ReadMethods,
    /// Create or delete a TAP, delete a passkey, revoke sessions.
    ManageMethods,
    ManagePolicy,
    ReadAuditLog,
    /// Register, list and delete relying parties.
    ManageClients,
    /// Assign or remove a directory role.
    ManageRoles,
    /// List and read groups and their members.
    ReadGroups,
    /// Create, change or delete a group; add or remove a member (the
    /// target is the member, when there is one).
    ManageGroups,
    /// Create, list or delete webhook subscriptions; send a delivery again.
    ManageWebhooks,
}

impl AdminAction {
    /// The application permission that grants this action.
    pub const fn permission(self) -> Permission {
        match self {
            AdminAction::ReadUsers | AdminAction::ManageUsers => Permission::UserReadWriteAll,
            AdminAction::ReadMethods | AdminAction::ManageMethods => {
                Permission::UserAuthenticationMethodReadWriteAll
            }
            AdminAction::ManagePolicy => Permission::PolicyReadWriteAuthenticationMethod,
            AdminAction::ReadAuditLog => Permission::AuditLogReadAll,
            AdminAction::ManageClients => Permission::ApplicationReadWriteAll,
            AdminAction::ManageRoles => Permission::RoleManagementReadWriteDirectory,
            AdminAction::ReadGroups | AdminAction::ManageGroups => Permission::GroupReadWriteAll,
            AdminAction::ManageWebhooks => Permission::WebhookReadWriteAll,
        }
    }
}

use DirectoryRole::{
    AuthenticationAdministrator as AuthAdmin, AuthenticationPolicyAdministrator as PolicyAdmin,
    GlobalAdministrator as Global, PrivilegedAuthenticationAdministrator as PrivAuthAdmin,
};

/// The permissions a signed-in admin's roles give (for delegated tokens).
pub fn permissions_of(roles: &[DirectoryRole]) -> Vec<Permission> {
    let mut out = Vec::new();
    let mut add = |p: Permission| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    for role in roles {
        match role {
            Global => Permission::ALL.into_iter().for_each(&mut add),
            PolicyAdmin => {
                add(Permission::PolicyReadWriteAuthenticationMethod);
                add(Permission::AuditLogReadAll);
            }
            PrivAuthAdmin => {
                add(Permission::UserReadWriteAll);
                add(Permission::UserAuthenticationMethodReadWriteAll);
                add(Permission::AuditLogReadAll);
            }
            AuthAdmin => {
                add(Permission::UserReadWriteAll);
                add(Permission::UserAuthenticationMethodReadWriteAll);
            }
        }
    }
    out
}

/// Checks `action` by a signed-in admin with `roles` (user id `actor_id`)
/// on `target`. Applications are checked by permission elsewhere.
pub fn check(
    actor_id: &str,
    roles: &[DirectoryRole],
    action: AdminAction,
    target: Option<&User>,
) -> Result<(), DomainError> {
    let has = |r: DirectoryRole| roles.contains(&r);
    let deny = |why: &'static str| Err(DomainError::Forbidden(why.into()));
    match action {
        AdminAction::ManagePolicy => {
            if has(Global) || has(PolicyAdmin) {
                Ok(())
            } else {
                deny(
                    "changing the authentication methods policy needs the Global Administrator or Authentication Policy Administrator role",
                )
            }
        }
        AdminAction::ReadAuditLog => {
            if has(Global) || has(PolicyAdmin) || has(PrivAuthAdmin) {
                Ok(())
            } else {
                deny("reading the audit log needs an administrator role")
            }
        }
        AdminAction::ManageClients => {
            if has(Global) {
                Ok(())
            } else {
                deny("registering or deleting clients needs the Global Administrator role")
            }
        }
        AdminAction::ManageRoles => {
            if target.is_some_and(|t| t.id == actor_id) {
                // Stops an admin locking the tenant out by demoting themself,
                // and anyone from granting themself more.
                deny("nobody changes their own directory roles")
            } else if has(Global) {
                Ok(())
            } else {
                deny("assigning directory roles needs the Global Administrator role")
            }
        }
        AdminAction::ManageWebhooks => {
            // Subscriptions send every user's sign-in events to a URL the
            // administrator names (and may carry passes): tenant-wide.
            if has(Global) {
                Ok(())
            } else {
                deny("managing webhooks needs the Global Administrator role")
            }
        }
        AdminAction::ReadGroups | AdminAction::ManageGroups => {
            // Groups decide who a method policy applies to, so they are
            // the tenant administrator's business.
            if has(Global) {
                Ok(())
            } else {
                deny("managing groups needs the Global Administrator role")
            }
        }
        AdminAction::ReadUsers | AdminAction::ReadMethods => {
            if has(Global) || has(PrivAuthAdmin) || has(AuthAdmin) {
                Ok(())
            } else {
                deny("this needs an authentication administrator role")
            }
        }
        AdminAction::ManageUsers => {
            let privileged_target = target.is_some_and(|t| !t.roles.is_empty());
            if has(Global) || (has(PrivAuthAdmin) && !privileged_target) {
                Ok(())
            } else {
                deny(
                    "managing users needs the Global Administrator role (or Privileged Authentication Administrator for non-admins)",
                )
            }
        }
        AdminAction::ManageMethods => {
            let Some(target) = target else {
                return deny("no target user");
            };
            if target.id == actor_id {
                return deny(
                    "nobody manages their own authentication methods through the admin side; use the security info page",
                );
            }
            let allowed = if target.roles.is_empty() {
                has(Global) || has(PrivAuthAdmin) || has(AuthAdmin)
            } else {
                has(Global) || has(PrivAuthAdmin)
            };
            if allowed {
                Ok(())
            } else if target.roles.is_empty() {
                deny(
                    "managing authentication methods needs the Authentication Administrator role or higher",
                )
            } else {
                deny(
                    "this user holds an administrator role: only a Privileged Authentication Administrator or Global Administrator may manage their methods",
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn user(id: &str, roles: Vec<DirectoryRole>) -> User {
        crate::domain::user::NewUser {
            upn: format!("{id}@example.com"),
            display_name: id.into(),
            roles,
            ..Default::default()
        }
        .into_user(id.into(), OffsetDateTime::UNIX_EPOCH)
        .unwrap()
    }

    /// The whole matrix: role × target × action → allowed?
    #[test]
    fn role_matrix() {
        let ordinary = user("ordinary", vec![]);
        let admin = user("other-admin", vec![AuthAdmin]);
        let roles: [(&str, Vec<DirectoryRole>); 5] = [
            ("none", vec![]),
            ("auth", vec![AuthAdmin]),
            ("priv", vec![PrivAuthAdmin]),
            ("policy", vec![PolicyAdmin]),
            ("global", vec![Global]),
        ];
        // (action, target) → roles allowed
        let expected: [(AdminAction, Option<&User>, &[&str]); 16] = [
            (
                AdminAction::ManageMethods,
                Some(&ordinary),
                &["auth", "priv", "global"],
            ),
            (
                AdminAction::ManageMethods,
                Some(&admin),
                &["priv", "global"],
            ),
            (
                AdminAction::ReadMethods,
                Some(&ordinary),
                &["auth", "priv", "global"],
            ),
            (AdminAction::ManagePolicy, None, &["policy", "global"]),
            (
                AdminAction::ReadAuditLog,
                None,
                &["priv", "policy", "global"],
            ),
            (
                AdminAction::ManageUsers,
                Some(&ordinary),
                &["priv", "global"],
            ),
            (AdminAction::ManageUsers, Some(&admin), &["global"]),
            (AdminAction::ReadUsers, None, &["auth", "priv", "global"]),
            (AdminAction::ManageMethods, None, &[]),
            (AdminAction::ManageClients, None, &["global"]),
            (AdminAction::ManageRoles, Some(&ordinary), &["global"]),
            (AdminAction::ManageRoles, Some(&admin), &["global"]),
            (AdminAction::ReadGroups, None, &["global"]),
            (AdminAction::ManageGroups, None, &["global"]),
            (AdminAction::ManageGroups, Some(&ordinary), &["global"]),
            (AdminAction::ManageGroups, Some(&admin), &["global"]),
        ];
        for (action, target, allowed) in expected {
            for (name, r) in &roles {
                let got = check("actor", r, action, target).is_ok();
                assert_eq!(
                    got,
                    allowed.contains(name),
                    "{name} {action:?} on {:?}",
                    target.map(|t| &t.id)
                );
            }
        }
    }

    #[test]
    fn nobody_manages_their_own_methods() {
        let me = user("me", vec![Global]);
        assert!(check("me", &[Global], AdminAction::ManageMethods, Some(&me)).is_err());
        assert!(check("me", &[Global], AdminAction::ManageRoles, Some(&me)).is_err());
        assert!(
            check(
                "someone-else",
                &[Global],
                AdminAction::ManageMethods,
                Some(&me)
            )
            .is_ok()
        );
    }

    #[test]
    fn delegated_permissions_follow_roles() {
        assert_eq!(permissions_of(&[Global]).len(), Permission::ALL.len());
        assert_eq!(
            permissions_of(&[PolicyAdmin]),
            [
                Permission::PolicyReadWriteAuthenticationMethod,
                Permission::AuditLogReadAll
            ]
        );
        assert!(permissions_of(&[]).is_empty());
    }
}
