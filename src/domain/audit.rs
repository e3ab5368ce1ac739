//! Audit events: who did what to whom, from where, and how it ended.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum AuditEventType {
    #[serde(rename = "user.created")]
    UserCreated,
    #[serde(rename = "user.updated")]
    UserUpdated,
    #[serde(rename = "user.deleted")]
    UserDeleted,
    #[serde(rename = "tap.created")]
    TapCreated,
    #[serde(rename = "tap.deleted")]
    TapDeleted,
    #[serde(rename = "token.issued")]
    TokenIssued,
    #[serde(rename = "client.authentication_failed")]
    ClientAuthenticationFailed,
    #[serde(rename = "tap.used")]
    TapUsed,
    #[serde(rename = "tap.failed")]
    TapFailed,
    #[serde(rename = "tap.locked")]
    TapLocked,
    /// A lock is over (or was cleared), with the attempts it refused.
    #[serde(rename = "tap.unlocked")]
    TapUnlocked,
    #[serde(rename = "passkey.registered")]
    PasskeyRegistered,
    #[serde(rename = "passkey.used")]
    PasskeyUsed,
    #[serde(rename = "passkey.failed")]
    PasskeyFailed,
    #[serde(rename = "code.issued")]
    CodeIssued,
    #[serde(rename = "code.reused")]
    CodeReused,
    #[serde(rename = "passkey.deleted")]
    PasskeyDeleted,
    #[serde(rename = "sessions.revoked")]
    SessionsRevoked,
    #[serde(rename = "policy.changed")]
    PolicyChanged,
    #[serde(rename = "refresh.reused")]
    RefreshReused,
    #[serde(rename = "keys.rotated")]
    KeysRotated,
    #[serde(rename = "user.roles_changed")]
    RolesChanged,
    #[serde(rename = "client.registered")]
    ClientRegistered,
    #[serde(rename = "client.deleted")]
    ClientDeleted,
    #[serde(rename = "passkey.renamed")]
    PasskeyRenamed,
    #[serde(rename = "group.created")]
    GroupCreated,
    #[serde(rename = "group.updated")]
    GroupUpdated,
    #[serde(rename = "group.deleted")]
    GroupDeleted,
    #[serde(rename = "group.member_added")]
    GroupMemberAdded,
    #[serde(rename = "group.member_removed")]
    GroupMemberRemoved,
    /// A scheduled pass went to the manager by e-mail.
    #[serde(rename = "onboarding.mailed")]
    OnboardingMailed,
    /// A scheduled pass was issued but could not be delivered (no
    /// manager, no mail address, the SMTP server failed), with the reason.
    #[serde(rename = "onboarding.failed")]
    OnboardingFailed,
    /// A scheduled pass went to a webhook subscription that receives
    /// passcodes.
    #[serde(rename = "onboarding.sent")]
    OnboardingSent,
    /// A pass whose window ended without its being used.
    #[serde(rename = "tap.expired")]
    TapExpired,
    /// The first passkey of a user, registered in a session that signed
    /// in with a pass.
    #[serde(rename = "onboarding.completed")]
    OnboardingCompleted,
    #[serde(rename = "webhook.created")]
    WebhookCreated,
    #[serde(rename = "webhook.deleted")]
    WebhookDeleted,
}

impl AuditEventType {
    pub const ALL: [AuditEventType; 37] = [
        Self::UserCreated,
        Self::UserUpdated,
        Self::UserDeleted,
        Self::TapCreated,
        Self::TapDeleted,
        Self::TokenIssued,
        Self::ClientAuthenticationFailed,
        Self::TapUsed,
        Self::TapFailed,
        Self::TapLocked,
        Self::TapUnlocked,
        Self::PasskeyRegistered,
        Self::PasskeyUsed,
        Self::PasskeyFailed,
        Self::CodeIssued,
        Self::CodeReused,
        Self::PasskeyDeleted,
        Self::SessionsRevoked,
        Self::PolicyChanged,
        Self::RefreshReused,
        Self::KeysRotated,
        Self::RolesChanged,
        Self::ClientRegistered,
        Self::ClientDeleted,
        Self::PasskeyRenamed,
        Self::GroupCreated,
        Self::GroupUpdated,
        Self::GroupDeleted,
        Self::GroupMemberAdded,
        Self::GroupMemberRemoved,
        Self::OnboardingMailed,
        Self::OnboardingFailed,
        Self::OnboardingSent,
        Self::TapExpired,
        Self::OnboardingCompleted,
        Self::WebhookCreated,
        Self::WebhookDeleted,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserCreated => "user.created",
            Self::UserUpdated => "user.updated",
            Self::UserDeleted => "user.deleted",
            Self::TapCreated => "tap.created",
            Self::TapDeleted => "tap.deleted",
            Self::TokenIssued => "token.issued",
            Self::ClientAuthenticationFailed => "client.authentication_failed",
            Self::TapUsed => "tap.used",
            Self::TapFailed => "tap.failed",
            Self::TapLocked => "tap.locked",
            Self::TapUnlocked => "tap.unlocked",
            Self::PasskeyRegistered => "passkey.registered",
            Self::PasskeyUsed => "passkey.used",
            Self::PasskeyFailed => "passkey.failed",
            Self::CodeIssued => "code.issued",
            Self::CodeReused => "code.reused",
            Self::PasskeyDeleted => "passkey.deleted",
            Self::SessionsRevoked => "sessions.revoked",
            Self::PolicyChanged => "policy.changed",
            Self::RefreshReused => "refresh.reused",
            Self::KeysRotated => "keys.rotated",
            Self::RolesChanged => "user.roles_changed",
            Self::ClientRegistered => "client.registered",
            Self::ClientDeleted => "client.deleted",
            Self::PasskeyRenamed => "passkey.renamed",
            Self::GroupCreated => "group.created",
            Self::GroupUpdated => "group.updated",
            Self::GroupDeleted => "group.deleted",
            Self::GroupMemberAdded => "group.member_added",
            Self::GroupMemberRemoved => "group.member_removed",
            Self::OnboardingMailed => "onboarding.mailed",
            Self::OnboardingFailed => "onboarding.failed",
            Self::OnboardingSent => "onboarding.sent",
            Self::TapExpired => "tap.expired",
            Self::OnboardingCompleted => "onboarding.completed",
            Self::WebhookCreated => "webhook.created",
            Self::WebhookDeleted => "webhook.deleted",
        }
    }
}

/// A time as an event's detail shows it: `2026-12-01 08:15:30 UTC`.
pub fn readable(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    User,
    Client,
    System,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AuditActor)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: String,
}

impl Actor {
    pub fn client(id: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::Client,
            id: id.into(),
        }
    }
    pub fn user(id: impl Into<String>) -> Self {
        Self {
            kind: ActorKind::User,
            id: id.into(),
        }
    }
    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            id: "onramp".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AuditTarget)]
pub struct Target {
    /// `user`, `tap`, `client`, `group`, ...
    pub kind: String,
    pub id: String,
    /// A human-readable name (e.g. the UPN) at the time of the event.
    #[serde(default)]
    pub display: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub time: OffsetDateTime,
    pub event_type: AuditEventType,
    pub actor: Actor,
    #[serde(default)]
    pub target: Option<Target>,
    #[serde(default)]
    pub client_address: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
    pub outcome: Outcome,
    #[serde(default)]
    pub detail: Option<String>,
    /// Further objects the event is about (a group beside the member
    /// added to it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Target>,
}

/// Which events to list. Every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub from: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    pub event_type: Option<AuditEventType>,
}

impl AuditFilter {
    pub fn matches(&self, e: &AuditEvent) -> bool {
        self.from.is_none_or(|t| e.time >= t)
            && self.until.is_none_or(|t| e.time < t)
            && self.actor_id.as_deref().is_none_or(|a| e.actor.id == a)
            && self.target_id.as_deref().is_none_or(|t| {
                e.target.as_ref().is_some_and(|x| x.id == t) || e.also.iter().any(|x| x.id == t)
            })
            && self.event_type.is_none_or(|k| e.event_type == k)
    }
}
