//! Portal: the onboarding policy (passes scheduled for the hire date), a
//! form that shows a refused value beside its field, as typed.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::form::{Field, FormState};
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

/// The form's inputs: their API names and how errors name them.
const FIELDS: &[Field] = &[
    Field {
        name: "enabled",
        api: "state",
        label: "Enabled",
    },
    Field {
        name: "days",
        api: "issueDaysBeforeHire",
        label: "Days before the hire date",
    },
    Field {
        name: "time",
        api: "validFromLocalTime",
        label: "Valid from",
    },
    Field {
        name: "time_zone",
        api: "timeZone",
        label: "Time zone",
    },
    Field {
        name: "lifetime",
        api: "lifetimeInMinutes",
        label: "Lifetime",
    },
    Field {
        name: "once",
        api: "isUsableOnce",
        label: "One-time use",
    },
    Field {
        name: "delivery",
        api: "delivery",
        label: "Delivery",
    },
    Field {
        name: "email",
        api: "delivery.email",
        label: "E-mail delivery",
    },
    Field {
        name: "webhook",
        api: "delivery.webhook",
        label: "Webhook delivery",
    },
];

#[derive(Template)]
#[template(path = "admin/onboarding.html")]
struct OnboardingPage<'a> {
    chrome: &'a Chrome,
    form: FormState,
}

fn form_of(p: &OnboardingPolicy) -> FormState {
    FormState::default()
        .ticked("enabled", p.state == MethodState::Enabled)
        .with("days", p.issue_days_before_hire.to_string())
        .with("time", p.valid_from_local_time.clone())
        .with("time_zone", p.time_zone.clone())
        .with("lifetime", p.lifetime_minutes.to_string())
        .ticked("once", p.is_usable_once)
        .ticked("email", p.delivery.email)
        .ticked("webhook", p.delivery.webhook)
}

fn whole(form: &FormPairs, name: &str, field: &'static str) -> Result<u32, DomainError> {
    form.one(name)
        .unwrap_or_default()
        .trim()
        .parse()
        .map_err(|_| DomainError::invalid(field, "must be a whole number"))
}

/// The policy the posted form asks for, on top of the stored one.
fn change(form: &FormPairs) -> Result<impl Fn(&mut OnboardingPolicy) + use<>, DomainError> {
    let text = |name: &str| form.one(name).unwrap_or_default().trim().to_owned();
    let days = whole(form, "days", "issueDaysBeforeHire")?;
    let lifetime = whole(form, "lifetime", "lifetimeInMinutes")?;
    let (time, zone) = (text("time"), text("time_zone"));
    let (enabled, once) = (form.checked("enabled"), form.checked("once"));
    let (email, webhook) = (form.checked("email"), form.checked("webhook"));
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
    };
    Ok(admin.page(StatusCode::OK, &page))
}

async fn onboarding_save(
    state: web::Data<AppState>,
    Posted { admin, form }: Posted,
) -> Result<HttpResponse, PortalError> {
    let saved = match change(&form) {
        Ok(change) => {
            OnboardingService::new(state.ctx.clone())
                .update_policy(&state.admin, &admin.caller, change)
                .await
        }
        Err(e) => Err(e),
    };
    let Err(e) = saved else {
        return Ok(see_other(&format!("{PAGE}?done=saved")));
    };
    // Shown beside the field, with everything as typed.
    let entered = FormState::entered(&form, FIELDS)
        .failed(e, FIELDS, None)
        .back_to(&admin, PAGE)?;
    let page = OnboardingPage {
        chrome: &admin.chrome,
        form: entered,
    };
    Ok(admin.page(page.form.status(), &page))
}
