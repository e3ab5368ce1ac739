use serde::{Deserialize, Serialize};

use super::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MethodState {
    Enabled,
    Disabled,
}

/// What a policy target names (Graph's `authenticationMethodTargetType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    User,
    Group,
}

/// One user or group a method policy includes or excludes (Graph's
/// `authenticationMethodTarget` / `excludeTarget`). A group that is
/// deleted while a policy names it simply matches nobody.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PolicyTarget {
    pub target_type: TargetType,
    pub id: String,
}

impl PolicyTarget {
    pub fn user(id: impl Into<String>) -> Self {
        Self {
            target_type: TargetType::User,
            id: id.into(),
        }
    }

    pub fn group(id: impl Into<String>) -> Self {
        Self {
            target_type: TargetType::Group,
            id: id.into(),
        }
    }

    fn matches(&self, user_id: &str, groups: &[String]) -> bool {
        match self.target_type {
            TargetType::User => self.id == user_id,
            TargetType::Group => groups.contains(&self.id),
        }
    }
}

/// A stored target: today's `{target_type, id}`, or a bare user id (how
/// policies stored before group targets kept them).
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredTarget {
    Target(PolicyTarget),
    UserId(String),
}

fn stored_targets<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PolicyTarget>, D::Error> {
    Ok(Vec::<StoredTarget>::deserialize(d)?
        .into_iter()
        .map(|t| match t {
            StoredTarget::Target(t) => t,
            StoredTarget::UserId(id) => PolicyTarget::user(id),
        })
        .collect())
}

/// Who a method applies to (Graph's `includeTargets`: the group
/// `all_users`, or a list of users and groups).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncludeTargets {
    #[default]
    AllUsers,
    /// Only these users and the members of these groups. Stored before
    /// group targets as `{"users": [ids]}`, which still loads.
    #[serde(alias = "users")]
    Targets(#[serde(deserialize_with = "stored_targets")] Vec<PolicyTarget>),
}

impl IncludeTargets {
    fn includes(&self, user_id: &str, groups: &[String]) -> bool {
        match self {
            IncludeTargets::AllUsers => true,
            IncludeTargets::Targets(t) => t.iter().any(|t| t.matches(user_id, groups)),
        }
    }

    fn has_groups(&self) -> bool {
        match self {
            IncludeTargets::AllUsers => false,
            IncludeTargets::Targets(t) => has_groups(t),
        }
    }
}

/// The user ids among `targets`.
pub fn user_ids(targets: &[PolicyTarget]) -> Vec<String> {
    targets
        .iter()
        .filter(|t| t.target_type == TargetType::User)
        .map(|t| t.id.clone())
        .collect()
}

fn has_groups(targets: &[PolicyTarget]) -> bool {
    targets.iter().any(|t| t.target_type == TargetType::Group)
}

/// Graph's limit on the targets of one method configuration is not
/// documented; this keeps a policy (read at every sign-in) small.
pub const MAX_TARGETS: usize = 500;

fn validate_targets(include: &IncludeTargets, exclude: &[PolicyTarget]) -> Result<(), DomainError> {
    if let IncludeTargets::Targets(t) = include
        && t.len() > MAX_TARGETS
    {
        return Err(DomainError::invalid(
            "includeTargets",
            format!("at most {MAX_TARGETS} targets"),
        ));
    }
    if exclude.len() > MAX_TARGETS {
        return Err(DomainError::invalid(
            "excludeTargets",
            format!("at most {MAX_TARGETS} targets"),
        ));
    }
    Ok(())
}

/// The rule every method shares: enabled, included (all users, the user,
/// or one of their groups), and not excluded (the user or one of their
/// groups). Exclusion wins.
fn applies(
    state: MethodState,
    include: &IncludeTargets,
    exclude: &[PolicyTarget],
    user_id: &str,
    groups: &[String],
) -> bool {
    state == MethodState::Enabled
        && include.includes(user_id, groups)
        && !exclude.iter().any(|t| t.matches(user_id, groups))
}

/// Tenant policy for Temporary Access Passes (Graph's
/// `temporaryAccessPassAuthenticationMethodConfiguration`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TapPolicy {
    pub state: MethodState,
    pub default_lifetime_minutes: u32,
    pub minimum_lifetime_minutes: u32,
    pub maximum_lifetime_minutes: u32,
    pub default_length: u32,
    pub is_usable_once: bool,
    #[serde(default)]
    pub include: IncludeTargets,
    /// Users and groups excluded even if included (Graph's
    /// `excludeTargets`). Stored before group targets as `exclude_users`,
    /// a list of user ids, which still loads.
    #[serde(default, alias = "exclude_users", deserialize_with = "stored_targets")]
    pub exclude: Vec<PolicyTarget>,
}

impl Default for TapPolicy {
    fn default() -> Self {
        Self {
            state: MethodState::Enabled,
            default_lifetime_minutes: 60,
            minimum_lifetime_minutes: 60,
            maximum_lifetime_minutes: 480,
            default_length: 8,
            is_usable_once: false,
            include: IncludeTargets::AllUsers,
            exclude: Vec::new(),
        }
    }
}

impl TapPolicy {
    /// Is the method enabled for this user (state and targets)? `groups`
    /// are the ids of the user's groups; they matter only when
    /// [`has_group_targets`](Self::has_group_targets), and callers read
    /// them only then (an empty slice otherwise).
    pub fn enabled_for(&self, user_id: &str, groups: &[String]) -> bool {
        applies(self.state, &self.include, &self.exclude, user_id, groups)
    }

    /// Does evaluating this policy need the user's groups?
    pub fn has_group_targets(&self) -> bool {
        self.state == MethodState::Enabled
            && (self.include.has_groups() || has_groups(&self.exclude))
    }

    pub const LIFETIME_BOUNDS: (u32, u32) = (10, 43_200);
    pub const LENGTH_BOUNDS: (u32, u32) = (8, 48);

    /// Checks the policy's own invariants (used when an admin changes it).
    pub fn validate(&self) -> Result<(), DomainError> {
        let (lo, hi) = Self::LIFETIME_BOUNDS;
        for (field, v) in [
            ("minimumLifetimeInMinutes", self.minimum_lifetime_minutes),
            ("defaultLifetimeInMinutes", self.default_lifetime_minutes),
            ("maximumLifetimeInMinutes", self.maximum_lifetime_minutes),
        ] {
            if !(lo..=hi).contains(&v) {
                return Err(DomainError::invalid(
                    field,
                    format!("must be between {lo} and {hi} minutes"),
                ));
            }
        }
        if !(self.minimum_lifetime_minutes <= self.default_lifetime_minutes
            && self.default_lifetime_minutes <= self.maximum_lifetime_minutes)
        {
            return Err(DomainError::invalid(
                "defaultLifetimeInMinutes",
                "must satisfy minimum <= default <= maximum",
            ));
        }
        let (lo, hi) = Self::LENGTH_BOUNDS;
        if !(lo..=hi).contains(&self.default_length) {
            return Err(DomainError::invalid(
                "defaultLength",
                format!("must be between {lo} and {hi}"),
            ));
        }
        validate_targets(&self.include, &self.exclude)
    }
}

/// Passkey settings (Graph's `fido2AuthenticationMethodConfiguration`,
/// plus Onramp's enrollment rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyPolicy {
    /// Disabled: nobody registers or signs in with a passkey, and nobody
    /// is asked to enroll. Policies stored before this field are enabled.
    #[serde(default = "enabled")]
    pub state: MethodState,
    /// Graph's `isSelfServiceRegistrationAllowed`: may people register
    /// passkeys themselves (after a TAP sign-in, or on the security info
    /// page)? Registration is always self-service here, so false means no
    /// new passkeys (and nobody is asked to enroll); existing ones still
    /// sign in.
    #[serde(default = "yes")]
    pub is_self_service_registration_allowed: bool,
    #[serde(default)]
    pub include: IncludeTargets,
    #[serde(default, deserialize_with = "stored_targets")]
    pub exclude: Vec<PolicyTarget>,
    /// Minutes after a TAP sign-in in which a passkey may be registered.
    pub enrollment_window_minutes: u32,
    /// A user without a passkey must register one before any code is issued.
    pub registration_required: bool,
    /// TAP sign-in counts as strong authentication (`amr` gets `mfa`).
    pub tap_counts_as_mfa: bool,
    /// Which authenticator models may be registered (Graph's
    /// `keyRestrictions`).
    #[serde(default)]
    pub key_restrictions: KeyRestrictions,
    /// Require a verified attestation from a trusted authenticator model.
    #[serde(default)]
    pub attestation: AttestationPolicy,
}

/// Attestation enforcement: registration needs an attestation statement
/// that chains to one of these anchors, for one of its AAGUIDs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationPolicy {
    pub is_enforced: bool,
    pub trust_anchors: Vec<TrustAnchor>,
}

/// A vendor's attestation root and the models (AAGUIDs) it vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustAnchor {
    /// The CA certificate, DER in standard base64.
    pub certificate: String,
    /// Lower-case hyphenated UUIDs.
    pub aaguids: Vec<String>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EnforcementType {
    #[default]
    Allow,
    Block,
}

/// An allow or block list of authenticator models by AAGUID. Without
/// attestation the AAGUID is what the authenticator says it is: this keeps
/// honest devices in line, it does not stop a forged one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRestrictions {
    pub is_enforced: bool,
    pub enforcement_type: EnforcementType,
    /// Lower-case hyphenated UUIDs.
    pub aaguids: Vec<String>,
}

impl KeyRestrictions {
    pub const MAX_AAGUIDS: usize = 100;

    /// May an authenticator reporting `aaguid` register a passkey?
    pub fn allows(&self, aaguid: Option<&str>) -> bool {
        if !self.is_enforced {
            return true;
        }
        let listed = aaguid.is_some_and(|a| self.aaguids.iter().any(|x| x == a));
        match self.enforcement_type {
            EnforcementType::Allow => listed,
            EnforcementType::Block => !listed,
        }
    }
}

fn enabled() -> MethodState {
    MethodState::Enabled
}

fn yes() -> bool {
    true
}

impl PasskeyPolicy {
    pub const WINDOW_BOUNDS: (u32, u32) = (1, 1440);
    pub const MAX_ANCHORS: usize = 50;

    /// May this user sign in with a passkey (state and targets)? See
    /// [`TapPolicy::enabled_for`] for `groups`.
    pub fn enabled_for(&self, user_id: &str, groups: &[String]) -> bool {
        applies(self.state, &self.include, &self.exclude, user_id, groups)
    }

    /// May this user register a passkey: enabled for them, and
    /// self-service registration allowed.
    pub fn may_register(&self, user_id: &str, groups: &[String]) -> bool {
        self.is_self_service_registration_allowed && self.enabled_for(user_id, groups)
    }

    /// Does evaluating this policy need the user's groups?
    pub fn has_group_targets(&self) -> bool {
        self.state == MethodState::Enabled
            && (self.include.has_groups() || has_groups(&self.exclude))
    }

    pub fn validate(&self) -> Result<(), DomainError> {
        let (lo, hi) = Self::WINDOW_BOUNDS;
        if !(lo..=hi).contains(&self.enrollment_window_minutes) {
            return Err(DomainError::invalid(
                "enrollmentWindowInMinutes",
                format!("must be between {lo} and {hi} minutes"),
            ));
        }
        let k = &self.key_restrictions;
        if k.aaguids.len() > KeyRestrictions::MAX_AAGUIDS {
            return Err(DomainError::invalid(
                "keyRestrictions.aaGuids",
                format!("at most {} entries", KeyRestrictions::MAX_AAGUIDS),
            ));
        }
        let a = &self.attestation;
        if a.is_enforced && a.trust_anchors.is_empty() {
            return Err(DomainError::invalid(
                "attestationTrustAnchors",
                "enforcing attestation needs at least one trust anchor (it would block every passkey)",
            ));
        }
        if a.trust_anchors.len() > Self::MAX_ANCHORS {
            return Err(DomainError::invalid(
                "attestationTrustAnchors",
                format!("at most {} entries", Self::MAX_ANCHORS),
            ));
        }
        if a.trust_anchors.iter().any(|t| t.aaguids.is_empty()) {
            return Err(DomainError::invalid(
                "attestationTrustAnchors",
                "each trust anchor names the AAGUIDs it vouches for",
            ));
        }
        if k.is_enforced && k.enforcement_type == EnforcementType::Allow && k.aaguids.is_empty() {
            return Err(DomainError::invalid(
                "keyRestrictions.aaGuids",
                "an enforced allow list needs at least one AAGUID (it would block every passkey)",
            ));
        }
        validate_targets(&self.include, &self.exclude)
    }
}

impl Default for PasskeyPolicy {
    fn default() -> Self {
        Self {
            state: MethodState::Enabled,
            is_self_service_registration_allowed: true,
            include: IncludeTargets::AllUsers,
            exclude: Vec::new(),
            enrollment_window_minutes: 10,
            registration_required: true,
            tap_counts_as_mfa: true,
            key_restrictions: KeyRestrictions::default(),
            attestation: AttestationPolicy::default(),
        }
    }
}

/// The tenant's authentication methods policy (a singleton record).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub tap: TapPolicy,
    pub passkey: PasskeyPolicy,
    /// Passes scheduled for the hire date. Policies stored before it had
    /// none: disabled.
    #[serde(default)]
    pub onboarding: super::onboarding::OnboardingPolicy,
}

impl Policy {
    /// Does deciding for a user need their groups (any method)?
    pub fn has_group_targets(&self) -> bool {
        self.tap.has_group_targets() || self.passkey.has_group_targets()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_design() {
        let p = TapPolicy::default();
        p.validate().unwrap();
        assert_eq!(
            (
                p.default_lifetime_minutes,
                p.minimum_lifetime_minutes,
                p.maximum_lifetime_minutes
            ),
            (60, 60, 480)
        );
        assert_eq!(p.default_length, 8);
        assert!(!p.is_usable_once);
    }

    #[test]
    fn key_restrictions_allow_or_block_models() {
        let (a, b) = (
            "00000000-0000-0000-0000-00000000000a",
            "00000000-0000-0000-0000-00000000000b",
        );
        let mut k = KeyRestrictions {
            is_enforced: false,
            enforcement_type: EnforcementType::Allow,
            aaguids: vec![a.into()],
        };
        assert!(k.allows(Some(b)) && k.allows(None));
        k.is_enforced = true;
        assert!(k.allows(Some(a)) && !k.allows(Some(b)) && !k.allows(None));
        k.enforcement_type = EnforcementType::Block;
        assert!(!k.allows(Some(a)) && k.allows(Some(b)) && k.allows(None));
        let empty_allow = PasskeyPolicy {
            key_restrictions: KeyRestrictions {
                is_enforced: true,
                ..KeyRestrictions::default()
            },
            ..PasskeyPolicy::default()
        };
        assert!(empty_allow.validate().is_err());
    }

    #[test]
    fn invalid_bounds_are_named() {
        let p = TapPolicy {
            default_length: 7,
            ..TapPolicy::default()
        };
        assert_eq!(
            p.validate().unwrap_err(),
            DomainError::invalid("defaultLength", "must be between 8 and 48")
        );
        let p = TapPolicy {
            default_lifetime_minutes: 500,
            ..TapPolicy::default()
        };
        assert!(p.validate().is_err());
    }
}

#[cfg(test)]
mod target_tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn targets_include_users_and_groups_and_exclusion_wins() {
        let p = TapPolicy {
            include: IncludeTargets::Targets(vec![
                PolicyTarget::user("u-direct"),
                PolicyTarget::group("g-staff"),
            ]),
            exclude: vec![PolicyTarget::group("g-admins"), PolicyTarget::user("u-out")],
            ..TapPolicy::default()
        };
        assert!(p.has_group_targets());
        assert!(p.enabled_for("u-direct", &[]));
        assert!(p.enabled_for("u-x", &ids(&["g-staff"])));
        assert!(!p.enabled_for("u-x", &ids(&["g-other"])));
        assert!(!p.enabled_for("u-x", &[]));
        // Excluded through a group or by name, even when included.
        assert!(!p.enabled_for("u-direct", &ids(&["g-admins"])));
        assert!(!p.enabled_for("u-x", &ids(&["g-staff", "g-admins"])));
        assert!(!p.enabled_for("u-out", &ids(&["g-staff"])));
        // A deleted group is just an id nobody is a member of.
        let all_but = TapPolicy {
            exclude: vec![PolicyTarget::group("g-deleted")],
            ..TapPolicy::default()
        };
        assert!(all_but.enabled_for("u-x", &[]));
        // Disabled: nobody, and no need to read groups.
        let off = TapPolicy {
            state: MethodState::Disabled,
            ..p.clone()
        };
        assert!(!off.has_group_targets());
        assert!(!off.enabled_for("u-direct", &[]));
        assert!(!TapPolicy::default().has_group_targets());
        assert!(!Policy::default().has_group_targets());
    }

    #[test]
    fn passkey_policy_has_state_targets_and_self_service() {
        let mut p = PasskeyPolicy::default();
        assert!(p.enabled_for("u", &[]) && p.may_register("u", &[]));
        assert!(!p.has_group_targets());
        p.include = IncludeTargets::Targets(vec![PolicyTarget::group("g-pilot")]);
        assert!(p.has_group_targets());
        assert!(!p.enabled_for("u", &[]) && !p.may_register("u", &[]));
        assert!(p.enabled_for("u", &ids(&["g-pilot"])));
        p.is_self_service_registration_allowed = false;
        assert!(p.enabled_for("u", &ids(&["g-pilot"])));
        assert!(!p.may_register("u", &ids(&["g-pilot"])));
        p.is_self_service_registration_allowed = true;
        p.state = MethodState::Disabled;
        assert!(!p.enabled_for("u", &ids(&["g-pilot"])));
        let mut policy = Policy::default();
        policy.passkey.exclude = vec![PolicyTarget::group("g")];
        assert!(policy.has_group_targets());
    }

    #[test]
    fn policies_stored_in_the_old_shape_still_load() {
        // As stored before group targets: user ids only, no passkey state.
        let old = r#"{
            "tap": {"state": "enabled", "default_lifetime_minutes": 60,
                    "minimum_lifetime_minutes": 60, "maximum_lifetime_minutes": 480,
                    "default_length": 8, "is_usable_once": false,
                    "include": {"users": ["u1", "u2"]}, "exclude_users": ["u2"]},
            "passkey": {"enrollment_window_minutes": 10, "registration_required": true,
                        "tap_counts_as_mfa": true}
        }"#;
        let p: Policy = serde_json::from_str(old).unwrap();
        assert_eq!(
            p.tap.include,
            IncludeTargets::Targets(vec![PolicyTarget::user("u1"), PolicyTarget::user("u2")])
        );
        assert_eq!(p.tap.exclude, [PolicyTarget::user("u2")]);
        assert!(p.tap.enabled_for("u1", &[]) && !p.tap.enabled_for("u2", &[]));
        assert_eq!(p.passkey.state, MethodState::Enabled);
        assert!(p.passkey.is_self_service_registration_allowed);
        assert_eq!(p.passkey.include, IncludeTargets::AllUsers);
        let all = r#"{"state": "disabled", "default_lifetime_minutes": 60,
            "minimum_lifetime_minutes": 60, "maximum_lifetime_minutes": 480,
            "default_length": 8, "is_usable_once": true, "include": "all_users"}"#;
        let t: TapPolicy = serde_json::from_str(all).unwrap();
        assert_eq!((t.include, t.exclude.len()), (IncludeTargets::AllUsers, 0));
        // The new shape round-trips.
        let mut p = p;
        p.tap.include = IncludeTargets::Targets(vec![PolicyTarget::group("g1")]);
        p.passkey.exclude = vec![PolicyTarget::user("u9"), PolicyTarget::group("g2")];
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json["tap"]["include"],
            serde_json::json!({"targets": [{"target_type": "group", "id": "g1"}]})
        );
        let back: Policy = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn target_lists_are_bounded() {
        let many = vec![PolicyTarget::user("u"); MAX_TARGETS + 1];
        let p = TapPolicy {
            exclude: many.clone(),
            ..TapPolicy::default()
        };
        assert!(p.validate().is_err());
        let p = PasskeyPolicy {
            include: IncludeTargets::Targets(many),
            ..PasskeyPolicy::default()
        };
        assert!(p.validate().is_err());
    }
}
