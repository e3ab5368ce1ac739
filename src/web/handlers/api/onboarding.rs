//! `/policies/onboardingPolicy`: Onramp's policy of passes scheduled for
//! the hire date (`domain::onboarding`), in Graph's conventions.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::query;
use super::{Api, base, no_content, ok, set};
use crate::domain::onboarding::{Delivery, OnboardingPolicy};
use crate::domain::policy::MethodState;
use crate::service::onboarding::OnboardingService;
use crate::web::error::WebError;
use crate::web::json::{ApiJson, GraphBody, present, whole};

const PATH: &str = "/policies/onboardingPolicy";
const ENTITY: &str = "policies/onboardingPolicy/$entity";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(PATH)
            .route(web::get().to(onboarding_get))
            .route(web::patch().to(onboarding_patch)),
    );
}

/// How a scheduled pass is delivered.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = OnboardingDelivery)]
struct DeliveryJson {
    /// By e-mail to the user's manager (needs `[smtp]` in the configuration).
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    email: Option<bool>,
    /// In a webhook (`onboarding.pass_issued`, sent at once, never queued)
    /// to the subscriptions that opted in with `includePasscodes`.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    webhook: Option<bool>,
}

/// The onboarding policy.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OnboardingPolicyJson {
    #[serde(rename = "@odata.context")]
    context: String,
    /// Always `onboardingPolicy`.
    id: &'static str,
    state: MethodState,
    /// Calendar days before the hire date on which the pass is issued.
    #[schema(minimum = 0, maximum = 30)]
    issue_days_before_hire: u32,
    /// Local time (`HH:MM`) from which the pass is valid on the hire date.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    valid_from_local_time: String,
    /// IANA time zone of `validFromLocalTime`, e.g. `Europe/Berlin`.
    time_zone: String,
    /// Within the Temporary Access Pass policy's lifetime bounds.
    #[schema(minimum = 10, maximum = 43200)]
    lifetime_in_minutes: u32,
    is_usable_once: bool,
    delivery: DeliveryJson,
}

fn policy_json(context: String, p: &OnboardingPolicy) -> OnboardingPolicyJson {
    OnboardingPolicyJson {
        context,
        id: "onboardingPolicy",
        state: p.state,
        issue_days_before_hire: p.issue_days_before_hire,
        valid_from_local_time: p.valid_from_local_time.clone(),
        time_zone: p.time_zone.clone(),
        lifetime_in_minutes: p.lifetime_minutes,
        is_usable_once: p.is_usable_once,
        delivery: DeliveryJson {
            email: Some(p.delivery.email),
            webhook: Some(p.delivery.webhook),
        },
    }
}

#[utoipa::path(
    get,
    path = "/policies/onboardingPolicy",
    operation_id = "getOnboardingPolicy",
    tag = "onramp",
    summary = "Get the onboarding policy",
    description = "Passes scheduled for users' `employeeHireDate`: when they are issued and valid, and how they are delivered.",
    security(("oauth2" = ["Policy.ReadWrite.AuthenticationMethod"])),
    responses((status = 200, description = "The policy.", body = OnboardingPolicyJson))
)]
async fn onboarding_get(Api { caller, req, state }: Api) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let policy = state.admin.get_policy(&caller).await?;
    let context = query::context(&base(&state), ENTITY);
    Ok(ok(&policy_json(context, &policy.onboarding)))
}

/// The fields a PATCH may send; `null` is refused everywhere.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = UpdateOnboardingPolicy)]
struct OnboardingPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, pattern = "^onboardingPolicy$")]
    id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    state: Option<MethodState>,
    #[serde(default, deserialize_with = "whole")]
    #[schema(nullable = false, minimum = 0, maximum = 30)]
    issue_days_before_hire: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    valid_from_local_time: Option<String>,
    /// An IANA time zone name the tz database knows.
    #[serde(default, deserialize_with = "present")]
    #[schema(
        nullable = false,
        min_length = 1,
        max_length = 64,
        pattern = "^[!-~]+$"
    )]
    time_zone: Option<String>,
    #[serde(default, deserialize_with = "whole")]
    #[schema(nullable = false, minimum = 10, maximum = 43200)]
    lifetime_in_minutes: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    is_usable_once: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    delivery: Option<DeliveryJson>,
}

impl GraphBody for OnboardingPatch {
    const ODATA_TYPES: &'static [&'static str] = &[];
}

impl OnboardingPatch {
    fn apply(&self, p: &mut OnboardingPolicy) {
        set(&mut p.state, self.state);
        set(&mut p.issue_days_before_hire, self.issue_days_before_hire);
        set(
            &mut p.valid_from_local_time,
            self.valid_from_local_time.clone(),
        );
        set(&mut p.time_zone, self.time_zone.clone());
        set(&mut p.lifetime_minutes, self.lifetime_in_minutes);
        set(&mut p.is_usable_once, self.is_usable_once);
        if let Some(d) = &self.delivery {
            let Delivery { email, webhook } = &mut p.delivery;
            set(email, d.email);
            set(webhook, d.webhook);
        }
    }
}

#[utoipa::path(
    patch,
    path = "/policies/onboardingPolicy",
    operation_id = "updateOnboardingPolicy",
    tag = "onramp",
    summary = "Update the onboarding policy",
    description = "PATCH semantics. The result must be valid as a whole: `lifetimeInMinutes` within the Temporary Access Pass policy's bounds (and `isUsableOnce` true when that policy makes every pass one-time), an IANA `timeZone`, `validFromLocalTime` as HH:MM; enabled, it needs a delivery, and e-mail needs `[smtp]` in the configuration. `delivery.webhook` sends the pass as `onboarding.pass_issued` to the webhook subscriptions with `includePasscodes`. Anything else is a 400 naming the field.",
    request_body(content = OnboardingPatch, content_type = "application/json"),
    security(("oauth2" = ["Policy.ReadWrite.AuthenticationMethod"])),
    responses((status = 204, description = "Done."))
)]
async fn onboarding_patch(
    Api { caller, req, state }: Api,
    body: ApiJson<OnboardingPatch>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let b = body.into_inner();
    if let Some(id) = &b.id
        && id != "onboardingPolicy"
    {
        return Err(WebError::invalid_body("id: must be onboardingPolicy"));
    }
    OnboardingService::new(state.ctx.clone())
        .update_policy(&state.admin, &caller, |p| b.apply(p))
        .await?;
    Ok(no_content())
}
