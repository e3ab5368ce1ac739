//! Onboarding progress: where each person stands between "hired" and
//! "signs in with a passkey" ([`Stage`]), and Graph's
//! `userRegistrationDetails` view of the same facts. Pure: no I/O.

use time::OffsetDateTime;

use super::credential::PasskeyCredential;
use super::odata::{ODataRecord, ODataValue, Ops, PropType, Property, ResourceSchema};
use super::tap::Tap;
use super::user::User;

/// One step of the onboarding funnel; each person is at exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Hire date in the future, no pass and no passkey yet.
    Scheduled,
    /// Neither a pass nor a passkey, and no hire date ahead.
    NotStarted,
    /// A pass exists, not used, its window not over.
    PassIssued,
    /// The pass was used; no passkey yet.
    PassUsed,
    /// At least one passkey: done.
    PasskeyRegistered,
    /// The pass's window is over, it was never used, and there is no
    /// passkey: this person is stuck until someone issues a new pass.
    PassExpiredUnused,
}

impl Stage {
    /// The funnel in its order.
    pub const FUNNEL: [Stage; 6] = [
        Stage::Scheduled,
        Stage::NotStarted,
        Stage::PassIssued,
        Stage::PassUsed,
        Stage::PasskeyRegistered,
        Stage::PassExpiredUnused,
    ];

    pub const fn label(self) -> &'static str {
        match self {
            Stage::Scheduled => "Scheduled",
            Stage::NotStarted => "No pass yet",
            Stage::PassIssued => "Pass issued",
            Stage::PassUsed => "Pass used",
            Stage::PasskeyRegistered => "Passkey registered",
            Stage::PassExpiredUnused => "Pass expired unused",
        }
    }

    /// Where a person stands at `now`. The one place the funnel is
    /// decided; scheduled passes (issued ahead for a hire date) would
    /// extend [`Stage::Scheduled`] here.
    pub fn of(
        user: &User,
        tap: Option<&Tap>,
        passkeys: &[PasskeyCredential],
        now: OffsetDateTime,
    ) -> Stage {
        if !passkeys.is_empty() {
            return Stage::PasskeyRegistered;
        }
        match tap {
            Some(t) if t.used_at.is_some() => Stage::PassUsed,
            Some(t) if now >= t.end() => Stage::PassExpiredUnused,
            Some(_) => Stage::PassIssued,
            None if user.employee_hire_date.is_some_and(|d| d > now) => Stage::Scheduled,
            None => Stage::NotStarted,
        }
    }
}

/// Graph's method names in `methodsRegistered`.
pub const PASSKEY_DEVICE_BOUND: &str = "passKeyDeviceBound";
/// A backup-eligible (synced) passkey: Graph's examples name only the
/// device-bound kinds, so this name is Onramp's (README, "Progress report").
pub const PASSKEY_SYNCED: &str = "passKeySynced";
pub const TEMPORARY_ACCESS_PASS: &str = "temporaryAccessPass";

/// One person's registration state, as Graph's `userRegistrationDetails`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationDetails {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub is_admin: bool,
    /// Strong methods registered: passkeys (the only strong method Onramp
    /// has, always allowed by policy when it could be registered).
    pub is_mfa_registered: bool,
    pub methods_registered: Vec<&'static str>,
    pub last_updated: OffsetDateTime,
    pub stage: Stage,
    pub hire_date: Option<OffsetDateTime>,
}

impl RegistrationDetails {
    pub fn of(
        user: &User,
        tap: Option<&Tap>,
        passkeys: &[PasskeyCredential],
        now: OffsetDateTime,
    ) -> Self {
        let mut methods = Vec::new();
        if passkeys.iter().any(|p| !p.backup_eligible) {
            methods.push(PASSKEY_DEVICE_BOUND);
        }
        if passkeys.iter().any(|p| p.backup_eligible) {
            methods.push(PASSKEY_SYNCED);
        }
        // A pass that can still be used counts as registered, as in Entra.
        if tap.is_some_and(|t| now < t.end() && !(t.is_usable_once && t.used_at.is_some())) {
            methods.push(TEMPORARY_ACCESS_PASS);
        }
        let last_updated = std::iter::once(user.created)
            .chain(tap.map(|t| t.created))
            .chain(tap.and_then(|t| t.used_at))
            .chain(passkeys.iter().map(|p| p.created))
            .max()
            .unwrap_or(user.created);
        Self {
            id: user.id.clone(),
            upn: user.upn.as_str().to_owned(),
            display_name: user.display_name.clone(),
            is_admin: !user.roles.is_empty(),
            is_mfa_registered: !passkeys.is_empty(),
            methods_registered: methods,
            last_updated,
            stage: Stage::of(user, tap, passkeys, now),
            hire_date: user.employee_hire_date,
        }
    }
}

/// The properties Onramp fills, with the `$filter` operators Graph lists
/// for them ("Supports `$filter` (eq)"; `methodsRegistered` with `any`;
/// `userPrincipalName` and `userDisplayName` also `startsWith`).
const PROPERTIES: &[Property] = &[
    Property::new("id", PropType::String).filter(Ops::EQ),
    Property::new("userPrincipalName", PropType::String)
        .filter(Ops::EQ.with(Ops::STARTS_WITH))
        .order_by(),
    Property::new("userDisplayName", PropType::String)
        .filter(Ops::EQ.with(Ops::STARTS_WITH))
        .order_by(),
    Property::new("userType", PropType::Enum(&["member", "guest"])).filter(Ops::EQ),
    Property::new("isAdmin", PropType::Bool).filter(Ops::EQ),
    Property::new("isMfaCapable", PropType::Bool).filter(Ops::EQ),
    Property::new("isMfaRegistered", PropType::Bool).filter(Ops::EQ),
    Property::new("isPasswordlessCapable", PropType::Bool).filter(Ops::EQ),
    Property::new("isSsprCapable", PropType::Bool).filter(Ops::EQ),
    Property::new("isSsprEnabled", PropType::Bool).filter(Ops::EQ),
    Property::new("isSsprRegistered", PropType::Bool).filter(Ops::EQ),
    Property::new(
        "isSystemPreferredAuthenticationMethodEnabled",
        PropType::Bool,
    )
    .filter(Ops::EQ),
    Property::new("methodsRegistered", PropType::StringCollection).filter(Ops::ANY.with(Ops::EQ)),
    Property::new("lastUpdatedDateTime", PropType::DateTime).order_by(),
];

/// `/reports/authenticationMethods/userRegistrationDetails`.
pub const SCHEMA: ResourceSchema = ResourceSchema {
    name: "userRegistrationDetails",
    properties: PROPERTIES,
    max_top: 999,
    directory: false,
};

impl ODataRecord for RegistrationDetails {
    fn get(&self, property: &str) -> Option<ODataValue<'_>> {
        use ODataValue as V;
        Some(match property {
            "id" => V::Str(&self.id),
            "userPrincipalName" => V::Str(&self.upn),
            "userDisplayName" => V::Str(&self.display_name),
            "userType" => V::Str("member"),
            "isAdmin" => V::Bool(self.is_admin),
            "isMfaCapable" | "isMfaRegistered" | "isPasswordlessCapable" => {
                V::Bool(self.is_mfa_registered)
            }
            // No passwords, so no self-service password reset; no
            // system-preferred method choice.
            "isSsprCapable"
            | "isSsprEnabled"
            | "isSsprRegistered"
            | "isSystemPreferredAuthenticationMethodEnabled" => V::Bool(false),
            "methodsRegistered" => V::Strings(&self.methods_registered),
            "lastUpdatedDateTime" => V::DateTime(self.last_updated),
            _ => return None,
        })
    }
}

/// How many people stand at each stage, in [`Stage::FUNNEL`] order.
pub fn funnel(details: &[RegistrationDetails]) -> Vec<(Stage, usize)> {
    Stage::FUNNEL
        .into_iter()
        .map(|s| (s, details.iter().filter(|d| d.stage == s).count()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::user::NewUser;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 12:00 UTC);

    fn user(hire: Option<OffsetDateTime>) -> User {
        NewUser {
            upn: "a@example.com".into(),
            display_name: "A".into(),
            employee_hire_date: hire,
            ..Default::default()
        }
        .into_user("u1".into(), datetime!(2026-11-01 0:00 UTC))
        .unwrap()
    }

    fn tap(start: OffsetDateTime, used: Option<OffsetDateTime>) -> Tap {
        Tap {
            id: "t".into(),
            hash: String::new(),
            created: start,
            start,
            lifetime_minutes: 60,
            is_usable_once: true,
            used_at: used,
        }
    }

    fn passkey(synced: bool) -> PasskeyCredential {
        PasskeyCredential {
            id: "c".into(),
            user_id: "u1".into(),
            name: "key".into(),
            created: datetime!(2026-11-30 8:00 UTC),
            last_used: None,
            aaguid: None,
            backup_eligible: synced,
            backup_state: synced,
            passkey: crate::domain::credential::PasskeyState::of(&()).unwrap(),
        }
    }

    #[test]
    fn each_person_is_at_one_stage() {
        let later = Some(datetime!(2027-01-04 0:00 UTC));
        let earlier = Some(datetime!(2026-01-04 0:00 UTC));
        let fresh = tap(datetime!(2026-12-01 11:30 UTC), None);
        let old = tap(datetime!(2026-12-01 10:00 UTC), None);
        let used = tap(
            datetime!(2026-12-01 10:00 UTC),
            Some(datetime!(2026-12-01 10:05 UTC)),
        );
        assert_eq!(Stage::of(&user(later), None, &[], NOW), Stage::Scheduled);
        assert_eq!(Stage::of(&user(earlier), None, &[], NOW), Stage::NotStarted);
        assert_eq!(Stage::of(&user(None), None, &[], NOW), Stage::NotStarted);
        assert_eq!(
            Stage::of(&user(later), Some(&fresh), &[], NOW),
            Stage::PassIssued
        );
        assert_eq!(
            Stage::of(&user(None), Some(&used), &[], NOW),
            Stage::PassUsed
        );
        assert_eq!(
            Stage::of(&user(None), Some(&old), &[], NOW),
            Stage::PassExpiredUnused
        );
        // The pass ends exactly now: its window is over.
        let ends_now = tap(datetime!(2026-12-01 11:00 UTC), None);
        assert_eq!(
            Stage::of(&user(None), Some(&ends_now), &[], NOW),
            Stage::PassExpiredUnused
        );
        assert_eq!(
            Stage::of(&user(None), Some(&old), &[passkey(false)], NOW),
            Stage::PasskeyRegistered
        );
    }

    #[test]
    fn details_say_what_graph_says() {
        let fresh = tap(datetime!(2026-12-01 11:30 UTC), None);
        let d = RegistrationDetails::of(&user(None), Some(&fresh), &[], NOW);
        assert_eq!(d.methods_registered, [TEMPORARY_ACCESS_PASS]);
        assert!(!d.is_mfa_registered);
        assert_eq!(d.last_updated, datetime!(2026-12-01 11:30 UTC));
        let old = tap(datetime!(2026-12-01 10:00 UTC), None);
        let d = RegistrationDetails::of(
            &user(None),
            Some(&old),
            &[passkey(false), passkey(true)],
            NOW,
        );
        assert_eq!(d.methods_registered, [PASSKEY_DEVICE_BOUND, PASSKEY_SYNCED]);
        assert!(d.is_mfa_registered);
        assert_eq!(d.last_updated, datetime!(2026-12-01 10:00 UTC));
        assert_eq!(
            funnel(&[d])
                .iter()
                .find(|(s, _)| *s == Stage::PasskeyRegistered),
            Some(&(Stage::PasskeyRegistered, 1))
        );
    }
}
