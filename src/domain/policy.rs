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
}

impl PasskeyPolicy {
    pub const WINDOW_BOUNDS: (u32, u32) = (1, 1440);

    pub fn validate(&self) -> Result<(), DomainError> {
        let (lo, hi) = Self::WINDOW_BOUNDS;
        if !(lo..=hi).contains(&self.enrollment_window_minutes) {
            return Err(DomainError::invalid(
                "enrollmentWindowInMinutes",
                format!("must be between {lo} and {hi}"),
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
