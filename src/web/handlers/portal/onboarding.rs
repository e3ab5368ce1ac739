//! Portal: the onboarding policy (passes scheduled for the hire date), a
//! form that shows a refused value beside its field, as typed.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Admin, BackTo, Chrome, FormPairs, PortalError, Posted};
use crate::domain::DomainError;
use crate::domain::onboarding::OnboardingPolicy;
use crate::domain::policy::MethodState;
use crate::service::onboarding::OnboardingService;
use crate::state::AppState;
use crate::web::pages::see_other;

const PAGE: &str = "/admin/policy/onboarding";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PAGE, web::get().to(onboarding))
        .route(PAGE, web::post().to(onboarding_save));
}

/// The form's values, as stored or as sent.
pub struct OnboardingForm {
    pub enabled: bool,
    pub days: String,
    pub time: String,
    pub time_zone: String,
    pub lifetime: String,
    pub once: bool,
    pub email: bool,
    pub webhook: bool,
}

/// A refused value: the policy field it names (the API's name) and why.
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "admin/onboarding.html")]
struct OnboardingPage<'a> {
    chrome: &'a Chrome,
    form: OnboardingForm,
    error: Option<FieldError>,
}

impl OnboardingPage<'_> {
    /// The message for `field`, if the refusal was about it.
    fn error_for(&self, field: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// A refusal about no field of the form.
    fn general_error(&self) -> Option<&str> {
        const FIELDS: [&str; 7] = [
            "issueDaysBeforeHire",
            "validFromLocalTime",
            "timeZone",
            "lifetimeInMinutes",
            "isUsableOnce",
            "delivery.email",
            "delivery.webhook",
        ];
        self.error
            .as_ref()
            .filter(|e| !FIELDS.contains(&e.field.as_str()))
            .map(|e| e.message.as_str())
    }
}

fn form_of(p: &OnboardingPolicy) -> OnboardingForm {
    OnboardingForm {
        enabled: p.state == MethodState::Enabled,
        days: p.issue_days_before_hire.to_string(),
        time: p.valid_from_local_time.clone(),
        time_zone: p.time_zone.clone(),
        lifetime: p.lifetime_minutes.to_string(),
        once: p.is_usable_once,
        email: p.delivery.email,
        webhook: p.delivery.webhook,
    }
}

fn sent(form: &FormPairs) -> OnboardingForm {
    let text = |name: &str| form.one(name).unwrap_or_default().trim().to_owned();
    OnboardingForm {
        enabled: form.checked("enabled"),
        days: text("days"),
        time: text("time"),
        time_zone: text("time_zone"),
        lifetime: text("lifetime"),
        once: form.checked("once"),
        email: form.checked("email"),
        webhook: form.checked("webhook"),
    }
}

fn whole(value: &str, field: &'static str) -> Result<u32, DomainError> {
    value
        .parse()
        .map_err(|_| DomainError::invalid(field, "must be a whole number"))
}

impl OnboardingForm {
    /// The policy this form asks for, on top of `p`.
    fn change(&self) -> Result<impl Fn(&mut OnboardingPolicy) + use<>, DomainError> {
        let days = whole(&self.days, "issueDaysBeforeHire")?;
        let lifetime = whole(&self.lifetime, "lifetimeInMinutes")?;
        let (time, zone) = (self.time.clone(), self.time_zone.clone());
        let (enabled, once) = (self.enabled, self.once);
        let (email, webhook) = (self.email, self.webhook);
        Ok(move |p: &mut OnboardingPolicy| {
            p.state = if enabled {
                MethodState::Enabled
            } else {
                MethodState::Disabled
            };
            p.issue_days_before_hire = days;
            p.valid_from_local_time = time.clone();
            p.time_zone = zone.clone();
            p.lifetime_minutes = lifetime;
            p.is_usable_once = once;
            p.delivery.email = email;
            p.delivery.webhook = webhook;
        })
    }
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn onboarding(
    query: web::Query<DoneQuery>,
    state: web::Data<AppState>,
    mut admin: Admin,
) -> Result<HttpResponse, PortalError> {
    if query.done.as_deref() == Some("saved") {
        admin.chrome.notice = Some("The onboarding policy was saved.");
    }
    let p = state
        .admin
        .get_policy(&admin.caller)
        .await
        .back_to(&admin, "/admin/policy")?;
    let page = OnboardingPage {
        chrome: &admin.chrome,
        form: form_of(&p.onboarding),
        error: None,
    };
    Ok(admin.page(StatusCode::OK, &page))
}

async fn onboarding_save(
    state: web::Data<AppState>,
    Posted { admin, form }: Posted,
) -> Result<HttpResponse, PortalError> {
    let form = sent(&form);
    let saved = match form.change() {
        Ok(change) => {
            OnboardingService::new(state.ctx.clone())
                .update_policy(&state.admin, &admin.caller, change)
                .await
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(see_other(&format!("{PAGE}?done=saved"))),
        // Shown beside the field, with everything as typed.
        Err(DomainError::Invalid { field, message }) => {
            let page = OnboardingPage {
                chrome: &admin.chrome,
                form,
                error: Some(FieldError {
                    field: field.into_owned(),
                    message: message.into_owned(),
                }),
            };
            Ok(admin.page(StatusCode::BAD_REQUEST, &page))
        }
        Err(e) => Err(admin.problem(&e, PAGE)),
    }
}
