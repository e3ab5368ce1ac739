//! Webhook subscriptions and deliveries (Standard Webhooks): what a
//! subscription may ask for, the message an audit event becomes, and the
//! retry schedule. ARCHITECTURE.md, "Webhooks".

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::DomainError;
use super::audit::{AuditEvent, AuditEventType};

/// Event types that are not audit events: one-off messages a service
/// enqueues ([`Job::Delivery`] through `Webhooks::enqueue`).
pub const EXTRA_EVENT_TYPES: &[&str] = &[PASS_ISSUED];

/// A scheduled pass, with its passcode, for subscriptions that opted in
/// (`includePasscodes`); sent at once and never queued, so the passcode is
/// never stored (ARCHITECTURE.md, "Onboarding").
pub const PASS_ISSUED: &str = "onboarding.pass_issued";

/// The most subscriptions a deployment holds (each event is matched
/// against them in the write that logs it).
pub const MAX_SUBSCRIPTIONS: usize = 50;
/// Deliveries kept per subscription for the portal once they are over.
pub const RECENT_DELIVERIES: usize = 50;
/// Longest accepted `url` and `description`.
const MAX_URL: usize = 2048;
const MAX_DESCRIPTION: usize = 256;

/// A receiver of signed events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: String,
    pub url: String,
    /// Event type names (audit event types, or [`EXTRA_EVENT_TYPES`]).
    pub events: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Also receives one-off messages that carry a pass in clear.
    #[serde(default)]
    pub include_passcodes: bool,
    /// `whsec_...`: the server needs it in clear to sign.
    pub secret: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

impl Subscription {
    pub fn wants(&self, event_type: &str) -> bool {
        self.events.iter().any(|e| e == event_type)
    }
}

/// A subscription as asked for, before it gets its id and secret.
#[derive(Debug, Clone, Default)]
pub struct NewSubscription {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub include_passcodes: bool,
}

impl NewSubscription {
    /// Checks every field; errors name it as the API does.
    pub fn validate(&self) -> Result<(), DomainError> {
        check_url(&self.url)?;
        if self.events.is_empty() {
            return Err(DomainError::invalid(
                "events",
                "name at least one event type",
            ));
        }
        for (i, e) in self.events.iter().enumerate() {
            if !is_event_type(e) {
                return Err(DomainError::invalid(
                    format!("events[{i}]"),
                    format!("'{e}' is not an event type this server sends"),
                ));
            }
            if self.events[..i].contains(e) {
                return Err(DomainError::invalid(
                    format!("events[{i}]"),
                    format!("'{e}' is listed twice"),
                ));
            }
        }
        if let Some(d) = &self.description
            && d.chars().count() > MAX_DESCRIPTION
        {
            return Err(DomainError::invalid(
                "description",
                format!("at most {MAX_DESCRIPTION} characters"),
            ));
        }
        Ok(())
    }
}

pub fn is_event_type(name: &str) -> bool {
    AuditEventType::parse(name).is_some() || EXTRA_EVENT_TYPES.contains(&name)
}

/// `https://...`, or `http://` only to this machine (loopback), so that
/// events and their signatures never cross a network in clear.
pub fn check_url(raw: &str) -> Result<(), DomainError> {
    let bad = |m: &'static str| Err(DomainError::invalid("url", m));
    if raw.len() > MAX_URL {
        return bad("is too long (at most 2048 characters)");
    }
    let Ok(url) = url::Url::parse(raw) else {
        return bad("is not an absolute URL");
    };
    if !url.username().is_empty() || url.password().is_some() {
        return bad("must not carry credentials");
    }
    if url.fragment().is_some() {
        return bad("must not have a fragment");
    }
    match (url.scheme(), url.host()) {
        ("https", Some(_)) => Ok(()),
        ("http", Some(host)) if is_loopback(&host) => Ok(()),
        ("http", Some(_)) => bad("must be https (http only to localhost, 127.0.0.1 or [::1])"),
        _ => bad("must be an https URL"),
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DeliveryStatus {
    /// Waiting for its first or next attempt.
    #[default]
    Pending,
    Delivered,
    /// Given up after the last attempt (or its subscription is gone).
    Failed,
}

impl DeliveryStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// One message to one subscription. Its id is the `webhook-id` of every
/// attempt, so a receiver can drop repeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: String,
    pub subscription: String,
    pub event_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// The body, exactly as signed and sent on every attempt.
    pub payload: String,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub status: DeliveryStatus,
    #[serde(default)]
    pub last_status: Option<u16>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_attempt: Option<OffsetDateTime>,
}

/// Checks that a pass expired unused, at the end of its window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TapCheck {
    pub id: String,
    pub user_id: String,
    pub tap_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
}

impl TapCheck {
    pub fn new(user_id: &str, tap_id: &str, end: OffsetDateTime) -> Self {
        Self {
            id: format!("tapcheck_{tap_id}"),
            user_id: user_id.to_owned(),
            tap_id: tap_id.to_owned(),
            end,
        }
    }
}

/// What the due queue holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Job {
    Delivery(Delivery),
    TapCheck(TapCheck),
}

impl Job {
    pub fn id(&self) -> &str {
        match self {
            Job::Delivery(d) => &d.id,
            Job::TapCheck(c) => &c.id,
        }
    }
}

/// The `webhook-id` of an audit event's delivery to a subscription: the
/// same however often the event reaches the log.
pub fn delivery_id(event_id: &str, subscription_id: &str) -> String {
    format!("msg_{event_id}_{subscription_id}")
}

/// A new delivery of `payload` to `subscription`.
pub fn delivery(
    id: String,
    subscription: &str,
    event_type: &str,
    payload: String,
    created: OffsetDateTime,
) -> Delivery {
    Delivery {
        id,
        subscription: subscription.to_owned(),
        event_type: event_type.to_owned(),
        created,
        payload,
        attempts: 0,
        status: DeliveryStatus::Pending,
        last_status: None,
        last_error: None,
        last_attempt: None,
    }
}

#[derive(Serialize)]
struct Message<'a, D: Serialize> {
    #[serde(rename = "type")]
    event_type: &'a str,
    timestamp: String,
    data: D,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventData<'a> {
    event_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<UserRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<&'a super::audit::Target>,
    actor: &'a super::audit::Actor,
    outcome: super::audit::Outcome,
    occurred_date_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserRef<'a> {
    id: &'a str,
    user_principal_name: Option<&'a str>,
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The Standard Webhooks body of an audit event:
/// `{"type","timestamp","data":{...}}` with the user's id and
/// userPrincipalName when the event is about a user. Audit events never
/// hold secrets, so neither does this.
pub fn message(event: &AuditEvent) -> String {
    let user = event
        .target
        .as_ref()
        .filter(|t| t.kind == "user")
        .map(|t| UserRef {
            id: &t.id,
            user_principal_name: t.display.as_deref(),
        });
    let data = EventData {
        event_id: &event.id,
        target: if user.is_some() {
            None
        } else {
            event.target.as_ref()
        },
        user,
        actor: &event.actor,
        outcome: event.outcome,
        occurred_date_time: rfc3339(event.time),
        detail: event.detail.as_deref(),
    };
    message_of(event.event_type.as_str(), event.time, &data)
}

/// A body for a one-off message of `event_type` with `data`.
pub fn message_of(event_type: &str, at: OffsetDateTime, data: &impl Serialize) -> String {
    serde_json::to_string(&Message {
        event_type,
        timestamp: rfc3339(at),
        data,
    })
    .unwrap_or_default()
}

/// Retries: exponential from `base`, capped, with up to a quarter more as
/// jitter (so that receivers coming back are not hit by everything at once),
/// for at most `max_attempts` attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    pub max_attempts: u32,
}

impl Backoff {
    /// When to try again after `attempts` failed attempts, given a
    /// `jitter` in 0..=255 (a random byte); `None` once they are used up.
    pub fn next(&self, attempts: u32, jitter: u8) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let factor = 1i32 << attempts.saturating_sub(1).min(20);
        let delay = (self.base * factor).min(self.cap);
        Some(delay + delay * (f64::from(jitter) / 1020.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{Actor, Outcome, Target};

    #[test]
    fn urls_are_https_or_loopback_http() {
        for ok in [
            "https://hooks.example.com/onramp",
            "http://localhost:9000/x",
            "http://127.0.0.1:1/",
            "http://[::1]:8080/h",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://hooks.example.com/",
            "http://10.0.0.1/",
            "ftp://localhost/",
            "https://user:pw@example.com/",
            "https://example.com/#f",
            "not a url",
            "/relative",
        ] {
            let err = check_url(bad).unwrap_err();
            assert!(
                matches!(err, DomainError::Invalid { ref field, .. } if field == "url"),
                "{bad}"
            );
        }
    }

    #[test]
    fn events_must_be_known_and_distinct() {
        let mut s = NewSubscription {
            url: "https://h.example/".into(),
            events: vec!["tap.used".into(), "tap.nope".into()],
            ..Default::default()
        };
        let err = s.validate().unwrap_err().to_string();
        assert!(
            err.contains("events[1]") && err.contains("tap.nope"),
            "{err}"
        );
        s.events = vec!["tap.used".into(), "tap.used".into()];
        assert!(s.validate().unwrap_err().to_string().contains("twice"));
        s.events.clear();
        assert!(s.validate().is_err());
        s.events = vec!["onboarding.completed".into(), "tap.expired".into()];
        assert!(s.validate().is_ok());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_stops() {
        let b = Backoff {
            base: Duration::seconds(5),
            cap: Duration::seconds(30),
            max_attempts: 5,
        };
        assert_eq!(b.next(1, 0), Some(Duration::seconds(5)));
        assert_eq!(b.next(2, 0), Some(Duration::seconds(10)));
        assert_eq!(b.next(3, 0), Some(Duration::seconds(20)));
        assert_eq!(b.next(4, 0), Some(Duration::seconds(30)));
        assert_eq!(b.next(5, 0), None);
        let jittered = b.next(1, 255).unwrap();
        assert!(jittered > Duration::seconds(5) && jittered <= Duration::milliseconds(6250));
    }

    #[test]
    fn a_user_event_names_the_user_and_no_more() {
        let event = AuditEvent {
            id: "e1".into(),
            time: time::macros::datetime!(2026-12-01 08:00:00 UTC),
            event_type: AuditEventType::TapUsed,
            actor: Actor::user("u1"),
            target: Some(Target {
                kind: "user".into(),
                id: "u1".into(),
                display: Some("ada@example.com".into()),
            }),
            client_address: Some("192.0.2.1".into()),
            request_id: None,
            outcome: Outcome::Success,
            detail: Some("tap t1".into()),
            also: vec![],
        };
        let v: serde_json::Value = serde_json::from_str(&message(&event)).unwrap();
        assert_eq!(v["type"], "tap.used");
        assert_eq!(v["timestamp"], "2026-12-01T08:00:00Z");
        assert_eq!(v["data"]["user"]["id"], "u1");
        assert_eq!(v["data"]["user"]["userPrincipalName"], "ada@example.com");
        assert!(v["data"].get("target").is_none());
        assert!(!v.to_string().contains("192.0.2.1"));
    }

    #[test]
    fn jobs_round_trip_tagged() {
        let job = Job::TapCheck(TapCheck::new("u", "t", OffsetDateTime::UNIX_EPOCH));
        let json = serde_json::to_string(&job).unwrap();
        assert!(json.starts_with(r#"{"kind":"tapCheck""#), "{json}");
        assert_eq!(serde_json::from_str::<Job>(&json).unwrap(), job);
    }
}
