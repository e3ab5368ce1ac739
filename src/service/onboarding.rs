//! Passes scheduled for the hire date (ARCHITECTURE.md, "Onboarding").
//!
//! A run walks the directory (at most `onboarding.users_per_run` users,
//! then the next run goes on from there) and, for every enabled user
//! without a passkey whose pass is due (`domain::onboarding::Schedule`),
//! issues it with the durable claim of (user, hire date) in one atomic
//! step: of any number of instances and restarts, exactly one issues each
//! pass. A changed hire date is a new claim, so the schedule moves; a pass
//! the user holds that has not ended yet (issued for another date, or by
//! an administrator) is never replaced by the scheduler: an administrator
//! issues a new one (`temporaryAccessPassMethods`, which replaces).
//!
//! The passcode exists only in memory until its mail is sent; it is never
//! stored in clear. An instance that dies in between leaves an issued pass
//! nobody knows: the `tap.created` event shows it, and an administrator
//! issues a new one.

use std::sync::Arc;
use std::time::Duration;

use super::admin::AdminService;
use super::admin::{mint_tap, tap_detail};
use super::audit::{Entry, user_target};
use super::lockout::Lockout;
use super::mailer::{Mail, Mailer, mailbox};
use super::webhooks::Webhooks;
use super::{Caller, Context, RequestMeta, policy_groups};
use crate::domain::DomainError;
use crate::domain::audit::{Actor, ActorKind, AuditEventType, Outcome};
use crate::domain::onboarding::{OnboardingPolicy, Schedule};
use crate::domain::policy::{MethodState, Policy};
use crate::domain::tap::{Tap, TapRequest};
use crate::domain::user::User;
use crate::domain::webhook;
use crate::store::Change;

/// Users read per store call.
const PAGE: usize = 200;
/// Attempts to send one mail, with a growing pause between them (only
/// while the failure may pass: not after a permanent refusal).
const SEND_ATTEMPTS: u32 = 3;
const FIRST_RETRY: Duration = Duration::from_millis(500);

/// The actor of everything the scheduler does.
pub fn scheduler() -> Actor {
    Actor {
        kind: ActorKind::System,
        id: "onboarding-scheduler".into(),
    }
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Run {
    pub examined: usize,
    pub issued: usize,
    /// Passes delivered: mailed to the manager, or sent to a webhook
    /// subscription that receives passcodes.
    pub mailed: usize,
    pub failed: usize,
    /// Where the next run goes on; `None` when this one reached the end.
    pub next: Option<String>,
}

/// A pass issued by this run, waiting for its delivery.
struct Issued {
    user: User,
    tap: Tap,
    passcode: String,
    schedule: Schedule,
}

pub struct OnboardingService {
    ctx: Arc<Context>,
}

impl OnboardingService {
    pub fn new(ctx: Arc<Context>) -> Self {
        Self { ctx }
    }

    /// Applies `change` to the onboarding policy, checks the result (its
    /// rules, the TAP policy's bounds, a configured mail server for
    /// e-mail delivery) and stores it with its `policy.changed` event.
    pub async fn update_policy(
        &self,
        admin: &AdminService,
        caller: &Caller,
        change: impl Fn(&mut OnboardingPolicy),
    ) -> Result<OnboardingPolicy, DomainError> {
        let smtp = self.ctx.settings.smtp.is_some();
        let policy = admin
            .update_policy(caller, "onboardingPolicy", |p| {
                change(&mut p.onboarding);
                p.onboarding.validate(&p.tap)?;
                let o = &p.onboarding;
                if o.state == MethodState::Enabled && o.delivery.email && !smtp {
                    return Err(DomainError::invalid(
                        "delivery.email",
                        "needs a mail server: add [smtp] to the configuration",
                    ));
                }
                Ok(())
            })
            .await?;
        Ok(policy.onboarding)
    }

    /// Runs until the whole directory has been looked at once (tests, and
    /// an operator's "now").
    pub async fn run_all(&self) -> Result<Run, DomainError> {
        let mut total = Run::default();
        let mut cursor = None;
        loop {
            let run = self.run(cursor.as_deref()).await?;
            total.examined += run.examined;
            total.issued += run.issued;
            total.mailed += run.mailed;
            total.failed += run.failed;
            match run.next {
                Some(next) => cursor = Some(next),
                None => return Ok(total),
            }
        }
    }

    /// One run from `after` (a UPN key; `None`: the start).
    pub async fn run(&self, after: Option<&str>) -> Result<Run, DomainError> {
        let policy = self.ctx.store.get_policy().await?.unwrap_or_default();
        let mut run = Run::default();
        if policy.onboarding.state != MethodState::Enabled {
            return Ok(run);
        }
        // The TAP policy may have changed since the onboarding policy was
        // saved: its bounds are checked again before anything is issued.
        if let Err(e) = policy.onboarding.validate(&policy.tap) {
            tracing::warn!(error = %e, "onboarding passes are not issued: the onboarding policy no longer fits the Temporary Access Pass policy");
            return Ok(run);
        }
        let limit = self.ctx.settings.onboarding.users_per_run;
        let mut cursor = after.map(str::to_owned);
        let mut issued = Vec::new();
        loop {
            let page = self
                .ctx
                .store
                .list_users(cursor.as_deref(), PAGE.min(limit - run.examined))
                .await?;
            let full = page.len() == PAGE.min(limit - run.examined);
            for user in page {
                run.examined += 1;
                cursor = Some(user.upn.key());
                match self.consider(user, &policy).await {
                    Ok(Some(i)) => issued.push(i),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "an onboarding pass could not be issued"),
                }
            }
            // Delivered page by page: at most a page of passcodes is held
            // at once, and none is held past a later failure of this run.
            if !issued.is_empty() {
                let (mailed, failed) = self
                    .deliver(std::mem::take(&mut issued), &policy.onboarding)
                    .await;
                run.issued += mailed + failed;
                run.mailed += mailed;
                run.failed += failed;
            }
            if !full {
                cursor = None;
                break;
            }
            if run.examined >= limit {
                break;
            }
        }
        run.next = cursor;
        Ok(run)
    }

    /// Issues the user's pass if it is due now and not issued yet.
    async fn consider(&self, user: User, policy: &Policy) -> Result<Option<Issued>, DomainError> {
        let Some(hire) = user.employee_hire_date else {
            return Ok(None);
        };
        if !user.account_enabled {
            return Ok(None);
        }
        let schedule = policy.onboarding.schedule(hire)?;
        let now = self.ctx.clock.now();
        let lifetime = time::Duration::minutes(i64::from(policy.onboarding.lifetime_minutes));
        // Not yet, or over: enabling the policy never reaches back to
        // people hired long ago.
        let Some(end) = schedule.start.checked_add(lifetime) else {
            return Ok(None);
        };
        if now < schedule.issue_at || now >= end {
            return Ok(None);
        }
        let store = &self.ctx.store;
        if store
            .scheduled_tap(&user.id, &schedule.hire_date)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        if !store.list_credentials(&user.id).await?.is_empty() {
            return Ok(None);
        }
        if store
            .get_tap(&user.id)
            .await?
            .is_some_and(|t| t.end() > now)
        {
            return Ok(None);
        }
        let groups = policy_groups(&self.ctx, &user.id, policy.tap.has_group_targets()).await?;
        if !policy.tap.enabled_for(&user.id, &groups) {
            return Ok(None);
        }
        let plan = TapRequest {
            // A run that comes late (all instances down at the issue time)
            // still issues the pass, valid from now until its planned end.
            start: Some(schedule.start.max(now)),
            lifetime_minutes: Some(policy.onboarding.lifetime_minutes),
            is_usable_once: Some(policy.onboarding.is_usable_once),
        }
        .plan(&policy.tap, now)?;
        let (tap, passcode) = mint_tap(&self.ctx, &plan, now).await?;
        let meta = RequestMeta::default();
        let entry = Entry {
            event_type: AuditEventType::TapCreated,
            actor: scheduler(),
            target: Some(user_target(&user.id, user.upn.as_str())),
            meta: &meta,
            outcome: Outcome::Success,
            detail: Some(format!(
                "{}, scheduled for the hire date {}",
                tap_detail(&tap),
                schedule.hire_date
            )),
        };
        let change = Change::IssueScheduledTap {
            user_id: &user.id,
            hire_date: &schedule.hire_date,
            tap: &tap,
        };
        if !self.ctx.audit.apply(change, entry, now).await? {
            // Another instance issued it first.
            return Ok(None);
        }
        // The pass is out: a failure from here on must not lose its
        // passcode before delivery.
        if let Err(e) = Lockout::new(self.ctx.clone())
            .clear(&user, &scheduler(), &meta, "a new pass was issued", false)
            .await
        {
            tracing::warn!(error = %e, "the lockout of a user with a new onboarding pass was not cleared");
        }
        Ok(Some(Issued {
            user,
            tap,
            passcode,
            schedule,
        }))
    }

    /// Sends each pass to its user's manager; every outcome is audited.
    async fn deliver(&self, issued: Vec<Issued>, policy: &OnboardingPolicy) -> (usize, usize) {
        let (mut delivered, mut failed) = (0, 0);
        let mailer = policy.delivery.email.then(|| self.mailer());
        for i in issued {
            let mut outcomes = Vec::new();
            if let Some(mailer) = &mailer {
                outcomes.push(match mailer {
                    Ok(mailer) => match self.mail(mailer, &i, policy).await {
                        Ok(to) => (
                            AuditEventType::OnboardingMailed,
                            Outcome::Success,
                            format!("tap {} sent to the manager {to}", i.tap.id),
                        ),
                        Err(reason) => not_delivered(&i, &reason),
                    },
                    Err(reason) => not_delivered(&i, reason),
                });
            }
            if policy.delivery.webhook {
                outcomes.extend(self.send_to_webhooks(&i).await);
            }
            // Delivered when one way reached someone.
            if outcomes.iter().any(|(_, o, _)| *o == Outcome::Success) {
                delivered += 1;
            } else {
                failed += 1;
            }
            let meta = RequestMeta::default();
            for (event_type, outcome, detail) in outcomes {
                let entry = Entry {
                    event_type,
                    actor: scheduler(),
                    target: Some(user_target(&i.user.id, i.user.upn.as_str())),
                    meta: &meta,
                    outcome,
                    detail: Some(detail),
                };
                if let Err(e) = self.ctx.audit.record(entry, self.ctx.clock.now()).await {
                    tracing::warn!(error = %e, "cannot record an onboarding delivery");
                }
            }
        }
        (delivered, failed)
    }

    /// The pass to each subscription that receives passcodes, at once (the
    /// passcode is never queued or stored).
    async fn send_to_webhooks(&self, i: &Issued) -> Vec<(AuditEventType, Outcome, String)> {
        let data = PassIssued {
            user: PassUser {
                id: &i.user.id,
                user_principal_name: i.user.upn.as_str(),
                display_name: &i.user.display_name,
            },
            temporary_access_pass: &i.passcode,
            hire_date: &i.schedule.hire_date,
            start_date_time: webhook::rfc3339(i.tap.start),
            end_date_time: webhook::rfc3339(i.tap.end()),
            is_usable_once: i.tap.is_usable_once,
            sign_in_url: format!("{}/account/security", self.ctx.issuer),
        };
        let sent = Webhooks::new(self.ctx.clone())
            .send_to_passcode_subscribers(webhook::PASS_ISSUED, &data)
            .await;
        match sent {
            Ok(v) if v.is_empty() => vec![not_delivered(
                i,
                "no webhook subscription receives passcodes (includePasscodes) for onboarding.pass_issued",
            )],
            Ok(v) => v
                .into_iter()
                .map(|(sub, result)| match result {
                    Ok(status) => (
                        AuditEventType::OnboardingSent,
                        Outcome::Success,
                        format!(
                            "tap {} sent to the webhook subscription {sub} (HTTP {status})",
                            i.tap.id
                        ),
                    ),
                    Err(e) => not_delivered(i, &format!("webhook subscription {sub}: {e}")),
                })
                .collect(),
            Err(e) => vec![not_delivered(i, &e.to_string())],
        }
    }

    fn mailer(&self) -> Result<Mailer, String> {
        let Some(smtp) = &self.ctx.settings.smtp else {
            return Err("no [smtp] server is configured".into());
        };
        let hello = url::Url::parse(&self.ctx.issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".into());
        Mailer::new(smtp, &hello).map_err(|e| e.to_string())
    }

    /// Mails one pass to the manager; the manager's address, or why not.
    async fn mail(
        &self,
        mailer: &Mailer,
        i: &Issued,
        policy: &OnboardingPolicy,
    ) -> Result<String, String> {
        let manager = match &i.user.manager {
            Some(id) => self
                .ctx
                .store
                .get_user(id)
                .await
                .map_err(|e| e.to_string())?,
            None => None,
        };
        let Some(manager) = manager else {
            return Err("the user has no manager".into());
        };
        let Some(address) = manager.mail.clone() else {
            return Err(format!("the manager {} has no mail address", manager.upn));
        };
        let to = mailbox(&manager.display_name, &address).map_err(|e| e.to_string())?;
        let mail = || Mail {
            to: to.clone(),
            subject: format!(
                "Temporary Access Pass for {} ({})",
                i.user.display_name, i.user.upn
            ),
            body: body(i, &manager, policy, &self.ctx.issuer),
        };
        let mut pause = FIRST_RETRY;
        let mut attempt = 1;
        loop {
            match mailer.send(mail()).await {
                Ok(()) => return Ok(format!("{} <{address}>", manager.upn)),
                Err(e) if !e.may_retry() => return Err(e.to_string()),
                Err(e) if attempt >= SEND_ATTEMPTS => {
                    return Err(format!("after {attempt} attempts: {e}"));
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "sending an onboarding mail failed; trying again");
                    // A real pause: the SMTP server's recovery does not
                    // follow the injected clock.
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
            }
        }
    }
}

fn body(i: &Issued, manager: &User, policy: &OnboardingPolicy, issuer: &str) -> String {
    let once = if i.tap.is_usable_once {
        "\nIt works for one sign-in only.\n"
    } else {
        ""
    };
    format!(
        "Hello {manager},\n\n\
         {name} ({upn}) starts on {date}. Please hand them this Temporary Access Pass:\n\n\
         \x20   {passcode}\n\n\
         It is valid from {from} until {until}.\n{once}\n\
         They sign in at {issuer}/account/security with their user name {upn} and this pass, and then\n\
         register a passkey. Nobody else should see the pass; it is not kept anywhere in clear.\n",
        manager = manager.display_name,
        name = i.user.display_name,
        upn = i.user.upn,
        date = i.schedule.hire_date,
        passcode = i.passcode,
        from = policy.local(i.tap.start),
        until = policy.local(i.tap.end()),
    )
}

/// A pass's delivery that reached nobody, with the reason (never the pass).
fn not_delivered(i: &Issued, reason: &str) -> (AuditEventType, Outcome, String) {
    (
        AuditEventType::OnboardingFailed,
        Outcome::Failure,
        format!("tap {} not delivered: {reason}", i.tap.id),
    )
}

/// The `onboarding.pass_issued` message's data (Graph's property names).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PassIssued<'a> {
    user: PassUser<'a>,
    temporary_access_pass: &'a str,
    hire_date: &'a str,
    start_date_time: String,
    end_date_time: String,
    is_usable_once: bool,
    sign_in_url: String,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PassUser<'a> {
    id: &'a str,
    user_principal_name: &'a str,
    display_name: &'a str,
}
