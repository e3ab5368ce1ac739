//! The onboarding policy: passes scheduled for a new hire's first day,
//! and when exactly they are issued and valid.
//!
//! The pass of a user with an `employeeHireDate` starts on that calendar
//! day at `valid_from_local_time` in `time_zone` (an IANA name, resolved
//! with the tz database bundled in the binary: no system files), and is
//! issued `issue_days_before_hire` calendar days earlier at the same local
//! time. Both instants follow the zone's daylight-saving rules.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::DomainError;
use super::policy::{MethodState, TapPolicy};

/// How a scheduled pass reaches someone who can hand it over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// By e-mail to the user's manager (the `[smtp]` settings).
    pub email: bool,
    /// In a webhook to a subscription that opted in to passcodes.
    pub webhook: bool,
}

/// The tenant's onboarding policy (part of the stored [`super::policy::Policy`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OnboardingPolicy {
    pub state: MethodState,
    pub issue_days_before_hire: u32,
    /// `HH:MM`, 24-hour.
    pub valid_from_local_time: String,
    /// An IANA time zone name, e.g. `Europe/Berlin`.
    pub time_zone: String,
    pub lifetime_minutes: u32,
    pub is_usable_once: bool,
    pub delivery: Delivery,
}

impl Default for OnboardingPolicy {
    fn default() -> Self {
        Self {
            state: MethodState::Disabled,
            issue_days_before_hire: 1,
            valid_from_local_time: "08:00".into(),
            time_zone: "UTC".into(),
            lifetime_minutes: 480,
            is_usable_once: false,
            delivery: Delivery {
                email: true,
                webhook: false,
            },
        }
    }
}

/// When the pass for one hire date is issued and valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The hire date's calendar day (`YYYY-MM-DD`): the pass is issued
    /// once per user and hire date.
    pub hire_date: String,
    pub issue_at: OffsetDateTime,
    pub start: OffsetDateTime,
}

impl OnboardingPolicy {
    pub const MAX_DAYS_BEFORE_HIRE: u32 = 30;

    /// The policy's own rules and the TAP policy's bounds (checked when the
    /// policy changes and again when a pass is issued, since the TAP policy
    /// may have changed meanwhile). Errors name the API's field.
    pub fn validate(&self, tap: &TapPolicy) -> Result<(), DomainError> {
        if self.issue_days_before_hire > Self::MAX_DAYS_BEFORE_HIRE {
            return Err(DomainError::invalid(
                "issueDaysBeforeHire",
                format!("must be between 0 and {}", Self::MAX_DAYS_BEFORE_HIRE),
            ));
        }
        local_time(&self.valid_from_local_time)?;
        time_zone(&self.time_zone)?;
        let (min, max) = (tap.minimum_lifetime_minutes, tap.maximum_lifetime_minutes);
        if !(min..=max).contains(&self.lifetime_minutes) {
            return Err(DomainError::invalid(
                "lifetimeInMinutes",
                format!(
                    "must be between {min} and {max} minutes (the Temporary Access Pass policy's minimumLifetimeInMinutes..maximumLifetimeInMinutes)"
                ),
            ));
        }
        if tap.is_usable_once && !self.is_usable_once {
            return Err(DomainError::invalid(
                "isUsableOnce",
                "must be true: the Temporary Access Pass policy makes every pass one-time",
            ));
        }
        if self.state == MethodState::Enabled && !self.delivery.email && !self.delivery.webhook {
            return Err(DomainError::invalid(
                "delivery",
                "an enabled policy needs a delivery (email or webhook), or nobody would learn the passes",
            ));
        }
        Ok(())
    }

    /// The schedule of the pass for `hire_date`. The hire date counts as
    /// the calendar day it names in the offset it was written with (Graph
    /// writes a date as midnight UTC; read in a zone west of Greenwich it
    /// would otherwise fall on the day before).
    pub fn schedule(&self, hire_date: OffsetDateTime) -> Result<Schedule, DomainError> {
        let tz = time_zone(&self.time_zone)?;
        let at = local_time(&self.valid_from_local_time)?;
        let bad = |e: jiff::Error| DomainError::invalid("employeeHireDate", e.to_string());
        let day = Date::new(
            i16::try_from(hire_date.year()).map_err(|_| {
                DomainError::invalid("employeeHireDate", "the year is out of range")
            })?,
            i8::try_from(u8::from(hire_date.month())).unwrap_or(1),
            i8::try_from(hire_date.day()).unwrap_or(1),
        )
        .map_err(bad)?;
        let start = day.to_datetime(at).to_zoned_datetime(tz).map_err(bad)?;
        let issue = start
            .checked_sub(jiff::Span::new().days(i64::from(self.issue_days_before_hire)))
            .map_err(bad)?;
        Ok(Schedule {
            hire_date: day.to_string(),
            issue_at: instant(&issue)?,
            start: instant(&start)?,
        })
    }

    /// `t` as the local date and time in the policy's zone, for people
    /// (`2027-01-15 08:00 (Europe/Berlin)`).
    pub fn local(&self, t: OffsetDateTime) -> String {
        let Ok(tz) = time_zone(&self.time_zone) else {
            return t.to_string();
        };
        match jiff::Timestamp::from_second(t.unix_timestamp()) {
            Ok(ts) => format!(
                "{} ({})",
                ts.to_zoned_datetime(tz).strftime("%Y-%m-%d %H:%M"),
                self.time_zone
            ),
            Err(_) => t.to_string(),
        }
    }
}

fn instant(z: &jiff::ZonedDateTime) -> Result<OffsetDateTime, DomainError> {
    OffsetDateTime::from_unix_timestamp(z.timestamp().as_second())
        .map_err(|e| DomainError::invalid("employeeHireDate", e.to_string()))
}

fn local_time(s: &str) -> Result<Time, DomainError> {
    let bad = || {
        DomainError::invalid(
            "validFromLocalTime",
            format!("`{s}` is not a time of day as HH:MM (00:00 to 23:59)"),
        )
    };
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

fn time_zone(name: &str) -> Result<TimeZone, DomainError> {
    // jiff also takes POSIX TZ strings and offsets; only IANA names here.
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(DomainError::invalid(
            "timeZone",
            "must be an IANA time zone name such as Europe/Berlin",
        ));
    }
    TimeZone::get(name).map_err(|_| {
        DomainError::invalid(
            "timeZone",
            format!("`{name}` is not an IANA time zone name (such as Europe/Berlin)"),
        )
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::datetime;

    fn policy(tz: &str, days: u32) -> OnboardingPolicy {
        OnboardingPolicy {
            state: MethodState::Enabled,
            issue_days_before_hire: days,
            time_zone: tz.into(),
            ..OnboardingPolicy::default()
        }
    }

    #[test]
    fn start_is_local_time_on_the_hire_date() {
        let s = policy("Europe/Berlin", 2)
            .schedule(datetime!(2027-01-15 00:00 UTC))
            .unwrap();
        assert_eq!(s.hire_date, "2027-01-15");
        assert_eq!(s.start, datetime!(2027-01-15 07:00 UTC));
        assert_eq!(s.issue_at, datetime!(2027-01-13 07:00 UTC));
    }

    #[test]
    fn the_date_is_read_in_its_own_offset() {
        // Midnight UTC is the 14th in Los Angeles; the date written is the 15th.
        let s = policy("America/Los_Angeles", 0)
            .schedule(datetime!(2027-01-15 00:00 UTC))
            .unwrap();
        assert_eq!(s.start, datetime!(2027-01-15 16:00 UTC));
        let s = policy("America/Los_Angeles", 0)
            .schedule(datetime!(2027-01-15 23:00 -08:00))
            .unwrap();
        assert_eq!(s.hire_date, "2027-01-15");
    }

    #[test]
    fn daylight_saving_is_followed() {
        // Berlin moves to summer time on 2027-03-28: a week before the
        // hire date, 08:00 local is an hour later in UTC than on the day.
        let s = policy("Europe/Berlin", 7)
            .schedule(datetime!(2027-04-01 00:00 UTC))
            .unwrap();
        assert_eq!(s.start, datetime!(2027-04-01 06:00 UTC));
        assert_eq!(s.issue_at, datetime!(2027-03-25 07:00 UTC));
        // A local time skipped by the change moves forward (02:30 -> 03:30).
        let mut p = policy("Europe/Berlin", 0);
        p.valid_from_local_time = "02:30".into();
        let s = p.schedule(datetime!(2027-03-28 00:00 UTC)).unwrap();
        assert_eq!(s.start, datetime!(2027-03-28 01:30 UTC));
    }

    #[test]
    fn validation_names_the_field() {
        let tap = TapPolicy::default();
        let field = |p: OnboardingPolicy| match p.validate(&tap) {
            Err(DomainError::Invalid { field, .. }) => field.into_owned(),
            other => panic!("{other:?}"),
        };
        assert!(policy("Europe/Berlin", 30).validate(&tap).is_ok());
        assert_eq!(field(policy("UTC", 31)), "issueDaysBeforeHire");
        assert_eq!(field(policy("Mars/Olympus", 1)), "timeZone");
        assert_eq!(field(policy("+02:00", 1)), "timeZone");
        for t in ["8:00", "24:00", "08:60", "0800", "08:00:00", "ab:cd", ""] {
            let mut p = policy("UTC", 1);
            p.valid_from_local_time = t.into();
            assert_eq!(field(p), "validFromLocalTime", "{t}");
        }
        let mut p = policy("UTC", 1);
        p.lifetime_minutes = tap.maximum_lifetime_minutes + 1;
        assert_eq!(field(p), "lifetimeInMinutes");
        let once = TapPolicy {
            is_usable_once: true,
            ..TapPolicy::default()
        };
        assert!(matches!(
            policy("UTC", 1).validate(&once),
            Err(DomainError::Invalid { field, .. }) if field == "isUsableOnce"
        ));
        let mut p = policy("UTC", 1);
        p.delivery.email = false;
        assert_eq!(field(p.clone()), "delivery");
        p.delivery.webhook = true;
        assert!(p.validate(&TapPolicy::default()).is_ok());
    }

    #[test]
    fn local_shows_the_zone() {
        let p = policy("Europe/Berlin", 1);
        assert_eq!(
            p.local(datetime!(2027-01-15 07:00 UTC)),
            "2027-01-15 08:00 (Europe/Berlin)"
        );
    }
}
