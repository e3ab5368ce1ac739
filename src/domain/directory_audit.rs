//! An audit event as Graph's `directoryAudit` shows it
//! (`/auditLogs/directoryAudits`): what `$filter` sees and what the API
//! answers. Graph's names for Onramp's events: an activity name, a
//! category, who initiated it (`initiatedBy/user` or `initiatedBy/app`),
//! the targets, the result, and the rest in `additionalDetails`.

use time::OffsetDateTime;
use uuid::Uuid;

use super::audit::{ActorKind, AuditEvent, AuditEventType, Outcome};
use super::odata::{ODataRecord, ODataValue};

/// The service Graph would name for every event.
pub const LOGGED_BY_SERVICE: &str = "Onramp";

/// Who did it, with the name of a user actor when it could be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: String,
    pub display_name: Option<String>,
    pub user_principal_name: Option<String>,
    pub ip_address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Initiator {
    User(Identity),
    /// An application (client id) or Onramp itself.
    App(Identity),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetResource {
    pub id: String,
    pub display_name: Option<String>,
    /// `User`, `Group`, `Application`, `Policy`, …
    pub kind: &'static str,
    pub user_principal_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: &'static str,
    pub value: String,
}

/// One event in Graph's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryAudit {
    pub id: String,
    pub activity_date_time: OffsetDateTime,
    pub activity_display_name: &'static str,
    pub category: &'static str,
    pub operation_type: &'static str,
    /// The request that caused it (its `request-id`), when a GUID.
    pub correlation_id: Option<Uuid>,
    pub initiated_by: Initiator,
    pub target_resources: Vec<TargetResource>,
    pub result: &'static str,
    pub result_reason: Option<String>,
    pub additional_details: Vec<KeyValue>,
}

/// Graph's activity name, category and operation type of an event type.
pub fn describe(t: AuditEventType) -> (&'static str, &'static str, &'static str) {
    use AuditEventType as T;
    match t {
        T::UserCreated => ("Add user", "UserManagement", "Add"),
        T::UserUpdated => ("Update user", "UserManagement", "Update"),
        T::UserDeleted => ("Delete user", "UserManagement", "Delete"),
        T::RolesChanged => ("Update user directory roles", "RoleManagement", "Update"),
        T::SessionsRevoked => ("Revoke sign-in sessions", "UserManagement", "Update"),
        T::TapCreated => ("Create Temporary Access Pass", "UserManagement", "Add"),
        T::TapDeleted => ("Delete Temporary Access Pass", "UserManagement", "Delete"),
        T::TapUsed => ("Sign in with Temporary Access Pass", "SignIn", "Other"),
        T::TapFailed => (
            "Failed sign-in with Temporary Access Pass",
            "SignIn",
            "Other",
        ),
        T::TapLocked => ("Temporary Access Pass sign-in locked", "SignIn", "Other"),
        T::TapUnlocked => ("Temporary Access Pass sign-in unlocked", "SignIn", "Other"),
        T::PasskeyRegistered => ("Register passkey", "UserManagement", "Add"),
        T::PasskeyRenamed => ("Rename passkey", "UserManagement", "Update"),
        T::PasskeyDeleted => ("Delete passkey", "UserManagement", "Delete"),
        T::PasskeyUsed => ("Sign in with passkey", "SignIn", "Other"),
        T::PasskeyFailed => ("Failed sign-in with passkey", "SignIn", "Other"),
        T::CodeIssued => ("Issue authorization code", "Token", "Other"),
        T::CodeReused => ("Authorization code reused", "Token", "Other"),
        T::RefreshReused => ("Refresh token reused", "Token", "Other"),
        T::TokenIssued => ("Issue token", "Token", "Other"),
        T::ClientAuthenticationFailed => (
            "Failed client authentication",
            "ApplicationManagement",
            "Other",
        ),
        T::ClientRegistered => ("Add application", "ApplicationManagement", "Add"),
        T::ClientDeleted => ("Delete application", "ApplicationManagement", "Delete"),
        T::PolicyChanged => ("Update authentication methods policy", "Policy", "Update"),
        T::KeysRotated => ("Rotate signing keys", "KeyManagement", "Update"),
        T::GroupCreated => ("Add group", "GroupManagement", "Add"),
        T::GroupUpdated => ("Update group", "GroupManagement", "Update"),
        T::GroupDeleted => ("Delete group", "GroupManagement", "Delete"),
        T::GroupMemberAdded => ("Add member to group", "GroupManagement", "Assign"),
        T::GroupMemberRemoved => ("Remove member from group", "GroupManagement", "Unassign"),
        T::OnboardingMailed => (
            "Deliver scheduled Temporary Access Pass",
            "UserManagement",
            "Other",
        ),
        T::OnboardingSent => (
            "Send scheduled Temporary Access Pass to a webhook",
            "UserManagement",
            "Other",
        ),
        T::OnboardingFailed => (
            "Failed to deliver scheduled Temporary Access Pass",
            "UserManagement",
            "Other",
        ),
        T::TapExpired => (
            "Temporary Access Pass expired unused",
            "UserManagement",
            "Other",
        ),
        T::OnboardingCompleted => ("Complete passkey onboarding", "UserManagement", "Other"),
        T::WebhookCreated => ("Add webhook subscription", "Other", "Add"),
        T::WebhookDeleted => ("Delete webhook subscription", "Other", "Delete"),
    }
}

fn target_kind(kind: &str) -> &'static str {
    match kind {
        "user" => "User",
        "group" => "Group",
        "client" => "Application",
        "policy" => "Policy",
        "refresh_token_family" => "RefreshToken",
        _ => "Other",
    }
}

impl DirectoryAudit {
    /// `event` in Graph's terms; `actor` names a user actor (looked up by
    /// the caller: events keep the actor's id only).
    pub fn of(event: AuditEvent, actor: Option<(String, String)>) -> Self {
        let (activity, category, operation) = describe(event.event_type);
        let (upn, name) = match actor {
            Some((upn, name)) => (Some(upn), Some(name)),
            None => (None, None),
        };
        let identity = Identity {
            id: event.actor.id.clone(),
            display_name: name,
            user_principal_name: upn,
            ip_address: event.client_address.clone(),
        };
        let initiated_by = match event.actor.kind {
            ActorKind::User => Initiator::User(identity),
            ActorKind::Client => Initiator::App(identity),
            ActorKind::System => Initiator::App(Identity {
                display_name: Some("Onramp".into()),
                ..identity
            }),
        };
        let target_resources = event
            .target
            .iter()
            .chain(&event.also)
            .map(|t| {
                let kind = target_kind(&t.kind);
                TargetResource {
                    id: t.id.clone(),
                    display_name: t.display.clone(),
                    kind,
                    user_principal_name: (kind == "User").then(|| t.display.clone()).flatten(),
                }
            })
            .collect();
        let mut additional_details = vec![KeyValue {
            key: "eventType",
            value: event.event_type.as_str().into(),
        }];
        if let Some(a) = &event.client_address {
            additional_details.push(KeyValue {
                key: "clientAddress",
                value: a.clone(),
            });
        }
        if let Some(d) = &event.detail {
            additional_details.push(KeyValue {
                key: "detail",
                value: d.clone(),
            });
        }
        let failed = event.outcome == Outcome::Failure;
        DirectoryAudit {
            correlation_id: event
                .request_id
                .as_deref()
                .and_then(|r| Uuid::parse_str(r).ok()),
            id: event.id,
            activity_date_time: event.time,
            activity_display_name: activity,
            category,
            operation_type: operation,
            initiated_by,
            target_resources,
            result: if failed { "failure" } else { "success" },
            result_reason: if failed { event.detail } else { None },
            additional_details,
        }
    }
}

fn text(v: &Option<String>) -> ODataValue<'_> {
    v.as_deref().map_or(ODataValue::Null, ODataValue::Str)
}

impl ODataRecord for Identity {
    fn get(&self, property: &str) -> Option<ODataValue<'_>> {
        match property {
            "id" | "appId" => Some(ODataValue::Str(&self.id)),
            "displayName" => Some(text(&self.display_name)),
            "userPrincipalName" => Some(text(&self.user_principal_name)),
            "ipAddress" => Some(text(&self.ip_address)),
            "servicePrincipalId" | "servicePrincipalName" => Some(ODataValue::Null),
            _ => None,
        }
    }
}

impl ODataRecord for Initiator {
    fn get(&self, property: &str) -> Option<ODataValue<'_>> {
        match (property, self) {
            ("user", Initiator::User(i)) | ("app", Initiator::App(i)) => {
                Some(ODataValue::Object(i))
            }
            ("user" | "app", _) => Some(ODataValue::Null),
            _ => None,
        }
    }
}

impl ODataRecord for TargetResource {
    fn get(&self, property: &str) -> Option<ODataValue<'_>> {
        match property {
            "id" => Some(ODataValue::Str(&self.id)),
            "displayName" => Some(text(&self.display_name)),
            "type" => Some(ODataValue::Str(self.kind)),
            "userPrincipalName" => Some(text(&self.user_principal_name)),
            "groupType" => Some(ODataValue::Null),
            _ => None,
        }
    }
}

impl ODataRecord for KeyValue {
    fn get(&self, property: &str) -> Option<ODataValue<'_>> {
        match property {
            "key" => Some(ODataValue::Str(self.key)),
            "value" => Some(ODataValue::Str(&self.value)),
            _ => None,
        }
    }
}

impl ODataRecord for DirectoryAudit {
    fn get(&self, property: &str) -> Option<ODataValue<'_>> {
        Some(match property {
            "id" => ODataValue::Str(&self.id),
            "activityDateTime" => ODataValue::DateTime(self.activity_date_time),
            "activityDisplayName" => ODataValue::Str(self.activity_display_name),
            "category" => ODataValue::Str(self.category),
            "correlationId" => self
                .correlation_id
                .map_or(ODataValue::Null, ODataValue::Guid),
            "initiatedBy" => ODataValue::Object(&self.initiated_by),
            "loggedByService" => ODataValue::Str(LOGGED_BY_SERVICE),
            "operationType" => ODataValue::Str(self.operation_type),
            "result" => ODataValue::Str(self.result),
            "resultReason" => text(&self.result_reason),
            "targetResources" => ODataValue::Objects(&self.target_resources),
            "additionalDetails" => ODataValue::Objects(&self.additional_details),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{Actor, Target};
    use crate::domain::odata::{QueryOptions, schemas};

    fn event(kind: AuditEventType, actor: Actor) -> AuditEvent {
        AuditEvent {
            id: "e1".into(),
            time: time::macros::datetime!(2026-12-01 09:00 UTC),
            event_type: kind,
            actor,
            target: Some(Target {
                kind: "user".into(),
                id: "u1".into(),
                display: Some("new.hire@example.com".into()),
            }),
            client_address: Some("203.0.113.9".into()),
            request_id: Some("184efa21-98c3-4e5d-95ab-d07053a96e67".into()),
            outcome: Outcome::Success,
            detail: Some("tap t1".into()),
            also: vec![],
        }
    }

    fn matches(filter: &str, audit: &DirectoryAudit) -> bool {
        let raw = format!("$filter={}", filter.replace(' ', "%20"));
        QueryOptions::parse(&raw, &schemas::DIRECTORY_AUDIT)
            .unwrap()
            .matches(audit)
    }

    #[test]
    fn every_filterable_property_of_graph_reads_the_event() {
        let audit = DirectoryAudit::of(
            event(AuditEventType::TapCreated, Actor::client("hr-sync")),
            None,
        );
        for f in [
            "targetResources/any(t: t/id eq 'u1')",
            "targetResources/any(t: startsWith(t/displayName, 'new.hire'))",
            "initiatedBy/app/appId eq 'hr-sync'",
            "activityDisplayName eq 'Create Temporary Access Pass'",
            "category eq 'UserManagement' and result eq 'success'",
            "correlationId eq 184efa21-98c3-4e5d-95ab-d07053a96e67",
            "activityDateTime ge 2026-12-01T08:00:00Z and activityDateTime le 2026-12-01T10:00:00Z",
            "loggedByService eq 'Onramp'",
        ] {
            assert!(matches(f, &audit), "{f}");
        }
        for f in [
            "targetResources/any(t: t/id eq 'u2')",
            "initiatedBy/user/id eq 'hr-sync'",
            "result eq 'failure'",
        ] {
            assert!(!matches(f, &audit), "{f}");
        }
        let by_admin = DirectoryAudit::of(
            event(AuditEventType::UserCreated, Actor::user("a1")),
            Some(("admin@example.com".into(), "Admin".into())),
        );
        assert!(matches(
            "initiatedBy/user/userPrincipalName eq 'admin@example.com'",
            &by_admin
        ));
    }

    #[test]
    fn every_event_type_has_a_graph_name() {
        for t in AuditEventType::ALL {
            let (name, category, _) = describe(t);
            assert!(!name.is_empty() && !category.is_empty());
        }
    }
}
