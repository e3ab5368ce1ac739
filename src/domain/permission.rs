use serde::{Deserialize, Serialize};
use std::fmt;

/// Application permissions, named like Microsoft Graph's so integrators
/// recognise them. They travel in the access token's `scope` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    #[serde(rename = "User.ReadWrite.All")]
    UserReadWriteAll,
    #[serde(rename = "UserAuthenticationMethod.ReadWrite.All")]
    UserAuthenticationMethodReadWriteAll,
    #[serde(rename = "Policy.ReadWrite.AuthenticationMethod")]
    PolicyReadWriteAuthenticationMethod,
    #[serde(rename = "AuditLog.Read.All")]
    AuditLogReadAll,
    /// Register and delete relying parties.
    #[serde(rename = "Application.ReadWrite.All")]
    ApplicationReadWriteAll,
    /// Assign and remove directory roles (delegated use only).
    #[serde(rename = "RoleManagement.ReadWrite.Directory")]
    RoleManagementReadWriteDirectory,
    /// Create, change and delete groups and their members.
    #[serde(rename = "Group.ReadWrite.All")]
    GroupReadWriteAll,
    /// Create, read and delete webhook subscriptions; see their deliveries.
    #[serde(rename = "Webhook.ReadWrite.All")]
    WebhookReadWriteAll,
}

impl Permission {
    pub const ALL: [Permission; 8] = [
        Permission::UserReadWriteAll,
        Permission::UserAuthenticationMethodReadWriteAll,
        Permission::PolicyReadWriteAuthenticationMethod,
        Permission::AuditLogReadAll,
        Permission::ApplicationReadWriteAll,
        Permission::RoleManagementReadWriteDirectory,
        Permission::GroupReadWriteAll,
        Permission::WebhookReadWriteAll,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Permission::UserReadWriteAll => "User.ReadWrite.All",
            Permission::UserAuthenticationMethodReadWriteAll => {
                "UserAuthenticationMethod.ReadWrite.All"
            }
            Permission::PolicyReadWriteAuthenticationMethod => {
                "Policy.ReadWrite.AuthenticationMethod"
            }
            Permission::AuditLogReadAll => "AuditLog.Read.All",
            Permission::ApplicationReadWriteAll => "Application.ReadWrite.All",
            Permission::RoleManagementReadWriteDirectory => "RoleManagement.ReadWrite.Directory",
            Permission::GroupReadWriteAll => "Group.ReadWrite.All",
            Permission::WebhookReadWriteAll => "Webhook.ReadWrite.All",
        }
    }

    /// What the permission allows, as the API document's scope says it.
    pub const fn description(self) -> &'static str {
        match self {
            Permission::UserReadWriteAll => "Read and write users.",
            Permission::UserAuthenticationMethodReadWriteAll => {
                "Read and manage users' authentication methods and sign-in sessions."
            }
            Permission::PolicyReadWriteAuthenticationMethod => {
                "Read and write the authentication methods policy."
            }
            Permission::AuditLogReadAll => "Read the audit log.",
            Permission::ApplicationReadWriteAll => {
                "Register, read and delete clients (relying parties). Delegated: Global Administrator only."
            }
            Permission::RoleManagementReadWriteDirectory => {
                "Assign and remove directory roles. Only in a signed-in Global Administrator's delegated token: applications holding it still get 403."
            }
            Permission::GroupReadWriteAll => {
                "Read and write security groups and their members. Delegated: Global Administrator only."
            }
            Permission::WebhookReadWriteAll => {
                "Create, read and delete webhook subscriptions and see their deliveries. Delegated: Global Administrator only."
            }
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
