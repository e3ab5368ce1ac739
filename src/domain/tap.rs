//! Temporary Access Pass rules: generation alphabet, normalisation,
//! request planning against the tenant policy, and usability.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::DomainError;
use super::policy::{MethodState, TapPolicy};

/// Upper-case letters and digits without the look-alikes 0/O, 1/I/L.
pub const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// How far in the past a requested start may lie (clock skew of the caller).
const START_SKEW: Duration = Duration::minutes(5);

/// A stored pass. The passcode itself is never kept, only its argon2id hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tap {
    pub id: String,
    pub hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    pub lifetime_minutes: u32,
    pub is_usable_once: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub used_at: Option<OffsetDateTime>,
}

/// Graph's `methodUsabilityReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum MethodUsabilityReason {
    EnabledByPolicy,
    DisabledByPolicy,
    Expired,
    NotYetValid,
    OneTimeUsed,
}

impl MethodUsabilityReason {
    pub fn is_usable(self) -> bool {
        self == Self::EnabledByPolicy
    }
}

impl Tap {
    pub fn end(&self) -> OffsetDateTime {
        // Past the last representable instant (a record written before
        // `plan` refused such starts): no time at all, rather than a panic.
        self.start
            .checked_add(Duration::minutes(i64::from(self.lifetime_minutes)))
            .unwrap_or(self.start)
    }

    /// Whether `user_id`'s pass can be used at `now`, and if not, why.
    /// `groups` are the user's group ids, needed only when the policy has
    /// group targets ([`TapPolicy::has_group_targets`]; else pass `&[]`).
    pub fn usability(
        &self,
        now: OffsetDateTime,
        policy: &TapPolicy,
        user_id: &str,
        groups: &[String],
    ) -> MethodUsabilityReason {
        if !policy.enabled_for(user_id, groups) {
            MethodUsabilityReason::DisabledByPolicy
        } else if self.is_usable_once && self.used_at.is_some() {
            MethodUsabilityReason::OneTimeUsed
        } else if now < self.start {
            MethodUsabilityReason::NotYetValid
        } else if now >= self.end() {
            MethodUsabilityReason::Expired
        } else {
            MethodUsabilityReason::EnabledByPolicy
        }
    }
}

/// Canonical form of a typed passcode: upper case, no spaces or dashes.
pub fn normalise(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// What an administrator asked for; every field may be left to the policy.
#[derive(Debug, Clone, Default)]
pub struct TapRequest {
    pub start: Option<OffsetDateTime>,
    pub lifetime_minutes: Option<u32>,
    pub is_usable_once: Option<bool>,
}

/// A request checked against the policy: what will be issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapPlan {
    pub start: OffsetDateTime,
    pub lifetime_minutes: u32,
    pub is_usable_once: bool,
    pub length: usize,
}

impl TapRequest {
    pub fn plan(self, policy: &TapPolicy, now: OffsetDateTime) -> Result<TapPlan, DomainError> {
        if policy.state == MethodState::Disabled {
            return Err(DomainError::Forbidden(
                "the Temporary Access Pass method is disabled by the tenant policy".into(),
            ));
        }
        let lifetime = self
            .lifetime_minutes
            .unwrap_or(policy.default_lifetime_minutes);
        let (min, max) = (
            policy.minimum_lifetime_minutes,
            policy.maximum_lifetime_minutes,
        );
        if lifetime < min || lifetime > max {
            return Err(DomainError::invalid(
                "lifetimeInMinutes",
                format!(
                    "must be between {min} and {max} minutes (tenant policy minimumLifetimeInMinutes..maximumLifetimeInMinutes)"
                ),
            ));
        }
        if policy.is_usable_once && self.is_usable_once == Some(false) {
            return Err(DomainError::invalid(
                "isUsableOnce",
                "must be true: the tenant policy makes every pass one-time (isUsableOnce)",
            ));
        }
        let start = match self.start {
            Some(start) if start < now - START_SKEW => {
                return Err(DomainError::invalid(
                    "startDateTime",
                    "must not lie in the past",
                ));
            }
            Some(start) => start,
            None => now,
        };
        // The pass must end at a time that exists (`end` adds the lifetime).
        if start
            .checked_add(Duration::minutes(i64::from(lifetime)))
            .is_none()
        {
            return Err(DomainError::invalid(
                "startDateTime",
                "is too far in the future: the pass would end after the year 9999",
            ));
        }
        Ok(TapPlan {
            start,
            lifetime_minutes: lifetime,
            is_usable_once: policy.is_usable_once || self.is_usable_once.unwrap_or(false),
            length: usize::try_from(policy.default_length).unwrap_or(8),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

    #[test]
    fn a_pass_that_would_end_after_the_last_representable_time_is_refused() {
        let policy = TapPolicy::default();
        let late = TapRequest {
            start: Some(datetime!(9999-12-31 23:30 UTC)),
            ..TapRequest::default()
        };
        let err = late.plan(&policy, NOW).unwrap_err();
        assert!(err.to_string().starts_with("startDateTime: "), "{err}");
        let fine = TapRequest {
            start: Some(datetime!(9999-12-30 00:00 UTC)),
            ..TapRequest::default()
        };
        assert!(fine.plan(&policy, NOW).is_ok());
    }

    fn tap(start: OffsetDateTime, once: bool, used: bool) -> Tap {
        Tap {
            id: "t".into(),
            hash: String::new(),
            created: NOW,
            start,
            lifetime_minutes: 60,
            is_usable_once: once,
            used_at: used.then_some(NOW),
        }
    }

    impl Tap {
        fn usability_of(&self, now: OffsetDateTime, policy: &TapPolicy) -> MethodUsabilityReason {
            self.usability(now, policy, "u1", &[])
        }
    }

    #[test]
    fn policy_targets_limit_who_may_use_a_pass() {
        use crate::domain::policy::{IncludeTargets, PolicyTarget};
        let t = tap(NOW, false, false);
        let only_u2 = TapPolicy {
            include: IncludeTargets::Targets(vec![PolicyTarget::user("u2")]),
            ..TapPolicy::default()
        };
        assert_eq!(
            t.usability(NOW, &only_u2, "u1", &[]),
            MethodUsabilityReason::DisabledByPolicy
        );
        assert_eq!(
            t.usability(NOW, &only_u2, "u2", &[]),
            MethodUsabilityReason::EnabledByPolicy
        );
        let excluded = TapPolicy {
            exclude: vec![PolicyTarget::user("u1")],
            ..TapPolicy::default()
        };
        assert_eq!(
            t.usability(NOW, &excluded, "u1", &[]),
            MethodUsabilityReason::DisabledByPolicy
        );
        // By group: included through one, excluded through another.
        let by_group = TapPolicy {
            include: IncludeTargets::Targets(vec![PolicyTarget::group("staff")]),
            exclude: vec![PolicyTarget::group("admins")],
            ..TapPolicy::default()
        };
        let groups = |g: &[&str]| g.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            t.usability(NOW, &by_group, "u1", &groups(&["staff"])),
            MethodUsabilityReason::EnabledByPolicy
        );
        assert_eq!(
            t.usability(NOW, &by_group, "u1", &groups(&["staff", "admins"])),
            MethodUsabilityReason::DisabledByPolicy
        );
        assert_eq!(
            t.usability(NOW, &by_group, "u1", &[]),
            MethodUsabilityReason::DisabledByPolicy
        );
    }

    #[test]
    fn normalise_ignores_case_spaces_and_dashes() {
        assert_eq!(normalise(" ab3d-ef 7h\t"), "AB3DEF7H");
    }

    #[test]
    fn alphabet_has_no_lookalikes() {
        for c in b"01OIL" {
            assert!(!ALPHABET.contains(c));
        }
    }

    #[test]
    fn usability_follows_the_window() {
        let p = TapPolicy::default();
        let t = tap(NOW, false, false);
        assert_eq!(
            t.usability_of(NOW - Duration::seconds(1), &p),
            MethodUsabilityReason::NotYetValid
        );
        assert_eq!(
            t.usability_of(NOW, &p),
            MethodUsabilityReason::EnabledByPolicy
        );
        assert_eq!(
            t.usability_of(NOW + Duration::minutes(59), &p),
            MethodUsabilityReason::EnabledByPolicy
        );
        assert_eq!(
            t.usability_of(NOW + Duration::minutes(60), &p),
            MethodUsabilityReason::Expired
        );
        assert_eq!(
            tap(NOW, true, true).usability_of(NOW, &p),
            MethodUsabilityReason::OneTimeUsed
        );
        // A multi-use pass stays usable after use.
        assert_eq!(
            tap(NOW, false, true).usability_of(NOW, &p),
            MethodUsabilityReason::EnabledByPolicy
        );
        let off = TapPolicy {
            state: MethodState::Disabled,
            ..p
        };
        assert_eq!(
            t.usability_of(NOW, &off),
            MethodUsabilityReason::DisabledByPolicy
        );
    }

    #[test]
    fn plan_applies_policy_defaults_and_bounds() {
        let p = TapPolicy::default();
        let plan = TapRequest::default().plan(&p, NOW).unwrap();
        assert_eq!(
            plan,
            TapPlan {
                start: NOW,
                lifetime_minutes: 60,
                is_usable_once: false,
                length: 8
            }
        );
        let err = TapRequest {
            lifetime_minutes: Some(59),
            ..Default::default()
        }
        .plan(&p, NOW)
        .unwrap_err();
        assert!(err.to_string().contains("between 60 and 480"), "{err}");
        assert!(
            TapRequest {
                lifetime_minutes: Some(481),
                ..Default::default()
            }
            .plan(&p, NOW)
            .is_err()
        );
        let future = NOW + Duration::days(2);
        assert_eq!(
            TapRequest {
                start: Some(future),
                ..Default::default()
            }
            .plan(&p, NOW)
            .unwrap()
            .start,
            future
        );
        assert!(
            TapRequest {
                start: Some(NOW - Duration::hours(1)),
                ..Default::default()
            }
            .plan(&p, NOW)
            .is_err()
        );
        let once = TapPolicy {
            is_usable_once: true,
            ..p
        };
        assert!(
            TapRequest::default()
                .plan(&once, NOW)
                .unwrap()
                .is_usable_once
        );
        assert!(
            TapRequest {
                is_usable_once: Some(false),
                ..Default::default()
            }
            .plan(&once, NOW)
            .is_err()
        );
    }
}

#[cfg(test)]
mod regressions {
    use super::*;
    use time::macros::datetime;

    /// Found by prop_tap_plan_never_panics_and_its_pass_has_an_end: a pass
    /// ending past year 9999 panicked when its end was computed.
    #[test]
    fn a_pass_ending_past_the_last_date_is_refused_not_a_panic() {
        let now = datetime!(2026-11-25 12:00 UTC);
        let start = datetime!(9999-12-31 23:00 UTC);
        let request = TapRequest {
            start: Some(start),
            lifetime_minutes: Some(120),
            is_usable_once: None,
        };
        let err = request.plan(&TapPolicy::default(), now).unwrap_err();
        assert!(err.to_string().contains("startDateTime"), "{err}");
        let stored = Tap {
            id: "t".into(),
            hash: String::new(),
            created: now,
            start,
            lifetime_minutes: 120,
            is_usable_once: false,
            used_at: None,
        };
        assert_eq!(stored.end(), start);
        assert_eq!(
            stored.usability(now, &TapPolicy::default(), "u", &[]),
            MethodUsabilityReason::NotYetValid
        );
    }
}

/// Property tests (`prop_*`; `PROPTEST_CASES` sets the number of cases).
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;
    use time::format_description::well_known::Rfc3339;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 12:00 UTC);

    /// A pass as issued, then typed: any case, spaces and dashes between.
    fn typed() -> impl Strategy<Value = (String, String)> {
        proptest::collection::vec(
            (
                proptest::sample::select(ALPHABET.to_vec()),
                any::<bool>(),
                prop_oneof![8 => Just(""), 1 => Just(" "), 1 => Just("-"), 1 => Just("\t"), 1 => Just("\u{a0}")],
            ),
            8..=48,
        )
        .prop_map(|chars| {
            let pass: String = chars.iter().map(|(c, _, _)| char::from(*c)).collect();
            let typed = chars
                .iter()
                .map(|(c, lower, sep)| {
                    let c = char::from(*c);
                    let c = if *lower { c.to_ascii_lowercase() } else { c };
                    format!("{c}{sep}")
                })
                .collect();
            (pass, typed)
        })
    }

    /// RFC 3339 start times an administrator may send, far ones included.
    fn start() -> impl Strategy<Value = OffsetDateTime> {
        (
            prop_oneof![Just(2026i32), 1900i32..=9999, Just(9999)],
            prop_oneof![1u8..=12, Just(12)],
            1u8..=28,
            0u8..24,
            0u8..60,
            prop_oneof![
                Just("Z".to_owned()),
                (0u8..24, 0u8..60, any::<bool>()).prop_map(|(h, m, neg)| format!(
                    "{}{h:02}:{m:02}",
                    if neg { '-' } else { '+' }
                ))
            ],
        )
            .prop_filter_map("an RFC 3339 date-time", |(y, mo, d, h, mi, off)| {
                let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:00{off}");
                OffsetDateTime::parse(&text, &Rfc3339).ok()
            })
    }

    proptest! {
        #[test]
        fn prop_tap_normalise_is_idempotent(s in any::<String>()) {
            let n = normalise(&s);
            prop_assert_eq!(normalise(&n), n.clone());
            prop_assert!(!n.chars().any(|c| c.is_whitespace() || c == '-' || c.is_ascii_lowercase()));
            prop_assert!(n.chars().count() <= s.chars().count());
        }

        #[test]
        fn prop_tap_normalise_reads_a_typed_pass((pass, typed) in typed()) {
            prop_assert_eq!(normalise(&typed), pass);
        }

        #[test]
        fn prop_tap_plan_never_panics_and_its_pass_has_an_end(
            start in proptest::option::of(start()),
            lifetime in proptest::option::of(prop_oneof![0u32..=50_000, any::<u32>()]),
            once in proptest::option::of(any::<bool>()),
            max in 10u32..=43_200,
            policy_once in any::<bool>(),
        ) {
            let policy = TapPolicy {
                maximum_lifetime_minutes: max,
                minimum_lifetime_minutes: 10,
                default_lifetime_minutes: 10,
                is_usable_once: policy_once,
                ..TapPolicy::default()
            };
            let request = TapRequest { start, lifetime_minutes: lifetime, is_usable_once: once };
            if let Ok(plan) = request.plan(&policy, NOW) {
                prop_assert!((10..=max).contains(&plan.lifetime_minutes));
                prop_assert!(plan.start >= NOW - START_SKEW);
                let tap = Tap {
                    id: "t".into(),
                    hash: String::new(),
                    created: NOW,
                    start: plan.start,
                    lifetime_minutes: plan.lifetime_minutes,
                    is_usable_once: plan.is_usable_once,
                    used_at: None,
                };
                prop_assert!(tap.end() > tap.start);
                let _ = tap.usability(NOW, &policy, "u", &[]);
                let _ = tap.usability(tap.end(), &policy, "u", &[]);
            }
        }
    }
}
