use serde::{Deserialize, Serialize};

use super::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MethodState {
    Enabled,
    Disabled,
}

/// Who a method applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncludeTargets {
    #[default]
    AllUsers,
    /// Only these user ids.
    Users(Vec<String>),
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
    /// User ids excluded even if included.
    #[serde(default)]
    pub exclude_users: Vec<String>,
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
            exclude_users: Vec::new(),
        }
    }
}

impl TapPolicy {
    /// Is the method enabled for this user (state and targets)?
    pub fn enabled_for(&self, user_id: &str) -> bool {
        self.state == MethodState::Enabled
            && match &self.include {
                IncludeTargets::AllUsers => true,
                IncludeTargets::Users(ids) => ids.iter().any(|i| i == user_id),
            }
            && !self.exclude_users.iter().any(|i| i == user_id)
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
                    format!("must be between {lo} and {hi}"),
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
        Ok(())
    }
}

/// Passkey enrollment settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyPolicy {
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

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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

impl PasskeyPolicy {
    pub const WINDOW_BOUNDS: (u32, u32) = (1, 1440);
    pub const MAX_ANCHORS: usize = 50;

    pub fn validate(&self) -> Result<(), DomainError> {
        let (lo, hi) = Self::WINDOW_BOUNDS;
        if !(lo..=hi).contains(&self.enrollment_window_minutes) {
            return Err(DomainError::invalid(
                "enrollmentWindowInMinutes",
                format!("must be between {lo} and {hi}"),
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
        Ok(())
    }
}

impl Default for PasskeyPolicy {
    fn default() -> Self {
        Self {
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
