//! The authentication methods policy: Graph's
//! `/policies/authenticationMethodsPolicy` and its method configurations
//! `TemporaryAccessPass` and `Fido2` (ids compared ignoring case, as
//! Graph does), with Onramp's own settings beside Graph's properties.

use super::doc::fields;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json as value};

use super::Api;
use super::query;
use super::{base, no_content, ok, set};
use crate::domain::DomainError;
use crate::domain::odata::{PropType, Property, ResourceSchema, schemas};
use crate::domain::policy::{
    EnforcementType, IncludeTargets, KeyRestrictions, MethodState, PasskeyPolicy, Policy,
    PolicyTarget, TapPolicy, TargetType, TrustAnchor,
};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::json::{ApiJson, names_type, present, whole};

const POLICY: &str = "/policies/authenticationMethodsPolicy";
/// The `@odata.context`s of the policy and of its configurations.
const POLICY_ENTITY: &str = "policies/authenticationMethodsPolicy/$entity";
const CONFIGURATIONS: &str =
    "policies/authenticationMethodsPolicy/authenticationMethodConfigurations";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(POLICY).route(web::get().to(policy_get)))
        .service(
            web::resource(format!("{POLICY}/authenticationMethodConfigurations"))
                .route(web::get().to(configurations_list)),
        )
        .service(
            web::resource(format!(
                "{POLICY}/authenticationMethodConfigurations/{{id}}"
            ))
            .route(web::get().to(configuration_get))
            .route(web::patch().to(configuration_patch)),
        );
}

const TAP_TYPE: &str = "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration";
const FIDO2_TYPE: &str = "#microsoft.graph.fido2AuthenticationMethodConfiguration";
const TARGET_TYPES: &[&str] = &[
    "#microsoft.graph.authenticationMethodTarget",
    "#microsoft.graph.excludeTarget",
];
const KEY_RESTRICTIONS_TYPE: &str = "#microsoft.graph.fido2KeyRestrictions";

/// The configurations Onramp has, by Graph's id.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    TemporaryAccessPass,
    Fido2,
}

impl Method {
    fn parse(id: &str) -> Result<Self, WebError> {
        if id.eq_ignore_ascii_case("TemporaryAccessPass") {
            Ok(Method::TemporaryAccessPass)
        } else if id.eq_ignore_ascii_case("Fido2") {
            Ok(Method::Fido2)
        } else {
            Err(WebError::Missing {
                what: "authenticationMethodConfiguration",
                id: id.to_owned(),
            })
        }
    }

    /// The `@odata.type` of its configuration.
    fn odata_type(self) -> &'static str {
        match self {
            Method::TemporaryAccessPass => TAP_TYPE,
            Method::Fido2 => FIDO2_TYPE,
        }
    }

    /// A body may name the configuration's own type only.
    fn check_own_type(self, sent: Option<&str>) -> Result<(), WebError> {
        let own = self.odata_type();
        match sent {
            Some(sent) if !names_type(sent, &[own]) => Err(WebError::invalid_body(format!(
                "@odata.type: this configuration is {own}, not {sent}"
            ))),
            _ => Ok(()),
        }
    }

    /// Its name for the audit log and `update_policy`.
    fn key(self) -> &'static str {
        match self {
            Method::TemporaryAccessPass => "temporaryAccessPass",
            Method::Fido2 => "fido2",
        }
    }
}

/// Graph's `authenticationMethodTarget`.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = MethodTargetInput)]
struct Target {
    #[serde(
        rename = "@odata.type",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    odata_type: Option<String>,
    #[schema(schema_with = fields::target_type)]
    target_type: String,
    /// A user's id, a group's id, or `all_users` (include only).
    id: String,
    /// Graph's `authenticationMethodTarget` has it; registration here is
    /// decided by `isRegistrationRequiredAfterTap`, so only `false` is taken.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    is_registration_required: Option<bool>,
}

fn target_json(t: &PolicyTarget, include: bool) -> Target {
    Target {
        odata_type: None,
        target_type: match t.target_type {
            TargetType::User => "user",
            TargetType::Group => "group",
        }
        .into(),
        id: t.id.clone(),
        is_registration_required: include.then_some(false),
    }
}

const ALL_USERS: &str = "all_users";

fn include_json(include: &IncludeTargets) -> Vec<Target> {
    match include {
        IncludeTargets::AllUsers => vec![Target {
            odata_type: None,
            target_type: "group".into(),
            id: ALL_USERS.into(),
            is_registration_required: Some(false),
        }],
        IncludeTargets::Targets(targets) => targets.iter().map(|t| target_json(t, true)).collect(),
    }
}

fn target_from(t: Target, field: &'static str) -> Result<PolicyTarget, DomainError> {
    if let Some(sent) = &t.odata_type
        && !names_type(sent, TARGET_TYPES)
    {
        return Err(DomainError::invalid(
            field,
            format!("@odata.type {sent} is not a target type"),
        ));
    }
    if t.is_registration_required == Some(true) {
        return Err(DomainError::invalid(
            field,
            "isRegistrationRequired: set isRegistrationRequiredAfterTap in the Fido2 configuration instead",
        ));
    }
    match t.target_type.as_str() {
        "user" => Ok(PolicyTarget::user(t.id)),
        "group" => Ok(PolicyTarget::group(t.id)),
        other => Err(DomainError::invalid(
            field,
            format!("targetType must be user or group, not {other}"),
        )),
    }
}

/// The include list, and every target it names (beside `all_users`, the
/// others are checked for existence too: none is silently dropped).
fn include_from(targets: Vec<Target>) -> Result<(IncludeTargets, Vec<PolicyTarget>), DomainError> {
    let field = "includeTargets";
    let all = |t: &Target| t.target_type == "group" && t.id == ALL_USERS;
    let everyone = targets.iter().any(all);
    let named = targets
        .into_iter()
        .filter(|t| !all(t))
        .map(|t| target_from(t, field))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if everyone {
        (IncludeTargets::AllUsers, named)
    } else {
        (IncludeTargets::Targets(named.clone()), named)
    })
}

fn exclude_from(targets: Vec<Target>) -> Result<Vec<PolicyTarget>, DomainError> {
    targets
        .into_iter()
        .map(|t| {
            if t.target_type == "group" && t.id == ALL_USERS {
                return Err(DomainError::invalid(
                    "excludeTargets",
                    "all_users cannot be excluded; set state to disabled instead",
                ));
            }
            target_from(t, "excludeTargets")
        })
        .collect()
}

fn tap_json(p: &TapPolicy) -> Value {
    let exclude: Vec<Target> = p.exclude.iter().map(|t| target_json(t, false)).collect();
    value!({
        "@odata.type": TAP_TYPE,
        "id": "TemporaryAccessPass",
        "state": p.state,
        "defaultLifetimeInMinutes": p.default_lifetime_minutes,
        "minimumLifetimeInMinutes": p.minimum_lifetime_minutes,
        "maximumLifetimeInMinutes": p.maximum_lifetime_minutes,
        "defaultLength": p.default_length,
        "isUsableOnce": p.is_usable_once,
        "includeTargets": include_json(&p.include),
        "excludeTargets": exclude,
    })
}

fn fido2_json(p: &PasskeyPolicy) -> Value {
    let exclude: Vec<Target> = p.exclude.iter().map(|t| target_json(t, false)).collect();
    value!({
        "@odata.type": FIDO2_TYPE,
        "id": "Fido2",
        "state": p.state,
        "isSelfServiceRegistrationAllowed": p.is_self_service_registration_allowed,
        "isAttestationEnforced": p.attestation.is_enforced,
        "keyRestrictions": {
            "isEnforced": p.key_restrictions.is_enforced,
            "enforcementType": p.key_restrictions.enforcement_type,
            "aaGuids": p.key_restrictions.aaguids,
        },
        "includeTargets": include_json(&p.include),
        "excludeTargets": exclude,
        // Onramp's own settings.
        "enrollmentWindowInMinutes": p.enrollment_window_minutes,
        "isRegistrationRequiredAfterTap": p.registration_required,
        "isTapStrongAuthentication": p.tap_counts_as_mfa,
        "attestationTrustAnchors": p.attestation.trust_anchors.iter().map(|t| value!({
            "certificate": t.certificate,
            "aaGuids": t.aaguids,
            "description": t.description,
        })).collect::<Vec<_>>(),
    })
}

/// Both configurations, in Graph's order.
fn configurations(policy: &Policy) -> Vec<Value> {
    vec![tap_json(&policy.tap), fido2_json(&policy.passkey)]
}

fn configuration_json(policy: &Policy, method: Method) -> Value {
    match method {
        Method::TemporaryAccessPass => tap_json(&policy.tap),
        Method::Fido2 => fido2_json(&policy.passkey),
    }
}

#[utoipa::path(
    get,
    path = "/policies/authenticationMethodsPolicy",
    operation_id = "getAuthenticationMethodsPolicy",
    tag = "policies",
    summary = "Get the authentication methods policy",
    security(("oauth2" = ["Policy.ReadWrite.AuthenticationMethod"])),
    responses((status = 200, description = "The policy with both configurations.", body = super::doc::shapes::AuthenticationMethodsPolicy))
)]
async fn policy_get(Api { caller, req, state }: Api) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let policy = state.admin.get_policy(&caller).await?;
    let context = query::context(&base(&state), POLICY_ENTITY);
    Ok(ok(&value!({
        "@odata.context": context,
        "id": "authenticationMethodsPolicy",
        "displayName": "Authentication Methods Policy",
        "authenticationMethodConfigurations": configurations(&policy),
    })))
}

#[utoipa::path(
    get,
    path = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations",
    operation_id = "listAuthenticationMethodConfigurations",
    tag = "policies",
    summary = "List the method configurations",
    security(("oauth2" = ["Policy.ReadWrite.AuthenticationMethod"])),
    responses((status = 200, description = "TemporaryAccessPass and Fido2.", body = super::doc::shapes::ConfigurationCollection))
)]
async fn configurations_list(Api { caller, req, state }: Api) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let items = configurations(&state.admin.get_policy(&caller).await?);
    Ok(query::Page {
        context: query::context(&base(&state), CONFIGURATIONS),
        items,
        count: None,
        next_link: None,
    }
    .answer())
}

/// What `$select` may name on a configuration (either kind).
const CONFIGURATION_PROPERTIES: &[Property] = &[
    Property::new("id", PropType::String),
    Property::new("state", PropType::String),
    Property::new("includeTargets", PropType::StringCollection),
    Property::new("excludeTargets", PropType::StringCollection),
    Property::new("defaultLifetimeInMinutes", PropType::Int),
    Property::new("minimumLifetimeInMinutes", PropType::Int),
    Property::new("maximumLifetimeInMinutes", PropType::Int),
    Property::new("defaultLength", PropType::Int),
    Property::new("isUsableOnce", PropType::Bool),
    Property::new("isSelfServiceRegistrationAllowed", PropType::Bool),
    Property::new("isAttestationEnforced", PropType::Bool),
    Property::new("keyRestrictions", PropType::StringCollection),
    Property::new("enrollmentWindowInMinutes", PropType::Int),
    Property::new("isRegistrationRequiredAfterTap", PropType::Bool),
    Property::new("isTapStrongAuthentication", PropType::Bool),
    Property::new("attestationTrustAnchors", PropType::StringCollection),
];
const CONFIGURATION: ResourceSchema = schemas::plain(
    "authenticationMethodConfiguration",
    CONFIGURATION_PROPERTIES,
);

crate::web::handlers::api::doc::params::odata_params! {
    ConfigurationSelect => CONFIGURATION, Single;
}

#[utoipa::path(
    get,
    path = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}",
    operation_id = "getAuthenticationMethodConfiguration",
    tag = "policies",
    summary = "Get a method configuration",
    params(super::doc::params::ConfigurationPath, ConfigurationSelect),
    security(("oauth2" = ["Policy.ReadWrite.AuthenticationMethod"])),
    responses((status = 200, description = "The configuration.", body = super::doc::shapes::Configuration))
)]
async fn configuration_get(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let q = query::single(&req, &CONFIGURATION)?;
    let method = Method::parse(&path)?;
    let policy = state.admin.get_policy(&caller).await?;
    let context = query::context(&base(&state), &format!("{CONFIGURATIONS}/$entity"));
    Ok(query::entity_answer(
        context,
        &q,
        configuration_json(&policy, method),
    ))
}

/// The fields of either configuration a PATCH may send (Graph's SDKs
/// send the type of the one they mean). `null` is refused everywhere.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = UpdateConfiguration)]
struct ConfigurationPatch {
    /// The configuration's own type (either kind's).
    #[serde(rename = "@odata.type", default)]
    #[schema(
        nullable = false,
        pattern = "^#microsoft\\.graph\\.(temporaryAccessPass|fido2)AuthenticationMethodConfiguration$"
    )]
    #[allow(dead_code)]
    odata_type: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    state: Option<MethodState>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    include_targets: Option<Vec<Target>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    exclude_targets: Option<Vec<Target>>,
    // Temporary Access Pass.
    #[serde(default, deserialize_with = "whole")]
    #[schema(nullable = false, minimum = 10, maximum = 43200)]
    default_lifetime_in_minutes: Option<u32>,
    #[serde(default, deserialize_with = "whole")]
    #[schema(nullable = false, minimum = 10, maximum = 43200)]
    minimum_lifetime_in_minutes: Option<u32>,
    #[serde(default, deserialize_with = "whole")]
    #[schema(nullable = false, minimum = 10, maximum = 43200)]
    maximum_lifetime_in_minutes: Option<u32>,
    #[serde(default, deserialize_with = "whole")]
    #[schema(nullable = false, minimum = 8, maximum = 48)]
    default_length: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    is_usable_once: Option<bool>,
    // Fido2.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    is_self_service_registration_allowed: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    is_attestation_enforced: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    key_restrictions: Option<KeyRestrictionsPatch>,
    #[serde(default, deserialize_with = "whole")]
    #[schema(nullable = false, minimum = 1, maximum = 1440)]
    enrollment_window_in_minutes: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    is_registration_required_after_tap: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    is_tap_strong_authentication: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, max_items = 50)]
    attestation_trust_anchors: Option<Vec<TrustAnchorInput>>,
}

super::graph_body! {
    ConfigurationPatch => [TAP_TYPE, FIDO2_TYPE];
}

impl ConfigurationPatch {
    /// The names of the fields sent that `method` does not have.
    fn foreign(&self, method: Method) -> Option<&'static str> {
        let tap_only = [
            (
                "defaultLifetimeInMinutes",
                self.default_lifetime_in_minutes.is_some(),
            ),
            (
                "minimumLifetimeInMinutes",
                self.minimum_lifetime_in_minutes.is_some(),
            ),
            (
                "maximumLifetimeInMinutes",
                self.maximum_lifetime_in_minutes.is_some(),
            ),
            ("defaultLength", self.default_length.is_some()),
            ("isUsableOnce", self.is_usable_once.is_some()),
        ];
        let fido2_only = [
            (
                "isSelfServiceRegistrationAllowed",
                self.is_self_service_registration_allowed.is_some(),
            ),
            (
                "isAttestationEnforced",
                self.is_attestation_enforced.is_some(),
            ),
            ("keyRestrictions", self.key_restrictions.is_some()),
            (
                "enrollmentWindowInMinutes",
                self.enrollment_window_in_minutes.is_some(),
            ),
            (
                "isRegistrationRequiredAfterTap",
                self.is_registration_required_after_tap.is_some(),
            ),
            (
                "isTapStrongAuthentication",
                self.is_tap_strong_authentication.is_some(),
            ),
            (
                "attestationTrustAnchors",
                self.attestation_trust_anchors.is_some(),
            ),
        ];
        let other: &[(&'static str, bool)] = match method {
            Method::TemporaryAccessPass => &fido2_only,
            Method::Fido2 => &tap_only,
        };
        other.iter().find(|(_, sent)| *sent).map(|(name, _)| *name)
    }
}

#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = KeyRestrictionsInput)]
struct KeyRestrictionsPatch {
    #[serde(rename = "@odata.type", default, deserialize_with = "present")]
    #[schema(
        nullable = false,
        pattern = "^#microsoft\\.graph\\.fido2KeyRestrictions$"
    )]
    odata_type: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    is_enforced: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    enforcement_type: Option<EnforcementType>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = fields::aaguids_input)]
    aa_guids: Option<Vec<String>>,
}

impl KeyRestrictionsPatch {
    fn apply(self, k: &mut KeyRestrictions) -> Result<(), DomainError> {
        if let Some(sent) = &self.odata_type
            && !names_type(sent, &[KEY_RESTRICTIONS_TYPE])
        {
            return Err(DomainError::invalid(
                "keyRestrictions",
                format!("@odata.type {sent} is not {KEY_RESTRICTIONS_TYPE}"),
            ));
        }
        set(&mut k.is_enforced, self.is_enforced);
        set(&mut k.enforcement_type, self.enforcement_type);
        if let Some(list) = self.aa_guids {
            // The list as sent counts (the document's maxItems), before
            // duplicates are dropped.
            if list.len() > KeyRestrictions::MAX_AAGUIDS {
                return Err(DomainError::invalid(
                    "keyRestrictions.aaGuids",
                    format!("at most {} entries", KeyRestrictions::MAX_AAGUIDS),
                ));
            }
            k.aaguids = aaguids("keyRestrictions.aaGuids", &list)?;
        }
        Ok(())
    }
}

/// Normalised, without repeats.
fn aaguids(field: &'static str, list: &[String]) -> Result<Vec<String>, DomainError> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for a in list {
        let n = crate::domain::attestation::normalise(a).ok_or_else(|| {
            DomainError::invalid(field, format!("`{a}` is not an AAGUID (a UUID)"))
        })?;
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TrustAnchorInput {
    /// DER in base64, or PEM.
    certificate: String,
    #[schema(schema_with = fields::trust_anchor_aaguids)]
    aa_guids: Vec<String>,
    #[serde(default)]
    description: String,
}

impl TrustAnchorInput {
    fn into_anchor(self) -> Result<TrustAnchor, DomainError> {
        // PEM is base64 DER between armour lines.
        let certificate: String = self
            .certificate
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .flat_map(|l| l.trim().chars())
            .collect();
        Ok(TrustAnchor {
            certificate,
            aaguids: aaguids("attestationTrustAnchors", &self.aa_guids)?,
            description: self.description,
        })
    }
}

#[utoipa::path(
    patch,
    path = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}",
    operation_id = "updateAuthenticationMethodConfiguration",
    tag = "policies",
    summary = "Update a method configuration",
    description = "Only the fields of the configuration named by the path (a field of the other is a 400). The result must keep minimum <= default <= maximum lifetime with the values stored, and trust anchors must be X.509 certificates: either broken is a 400.",
    request_body(content = ConfigurationPatch, content_type = "application/json"),
    params(super::doc::params::ConfigurationPath),
    security(("oauth2" = ["Policy.ReadWrite.AuthenticationMethod"])),
    responses((status = 204, description = "Done."))
)]
async fn configuration_patch(
    Api { caller, req, state }: Api,
    path: web::Path<String>,
    body: ApiJson<ConfigurationPatch>,
) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let method = Method::parse(&path)?;
    method.check_own_type(body.odata_type())?;
    let mut b = body.into_inner();
    b.check(method)?;
    let targets =
        checked_targets(&state, b.include_targets.take(), b.exclude_targets.take()).await?;
    state
        .admin
        .update_policy(&caller, method.key(), move |p| b.apply(method, &targets, p))
        .await?;
    Ok(no_content())
}

/// The targets a PATCH sends, checked to exist.
struct Targets {
    include: Option<IncludeTargets>,
    exclude: Option<Vec<PolicyTarget>>,
}

/// The targets sent, read and checked to exist (the include list first):
/// none is silently dropped.
async fn checked_targets(
    state: &AppState,
    include: Option<Vec<Target>>,
    exclude: Option<Vec<Target>>,
) -> Result<Targets, WebError> {
    let include = match include.map(include_from).transpose()? {
        Some((include, named)) => {
            state.admin.check_targets(&named, "includeTargets").await?;
            Some(include)
        }
        None => None,
    };
    let exclude = exclude.map(exclude_from).transpose()?;
    if let Some(targets) = &exclude {
        state.admin.check_targets(targets, "excludeTargets").await?;
    }
    Ok(Targets { include, exclude })
}

impl ConfigurationPatch {
    /// A body for `method`: no field of the other configuration, no other
    /// id.
    fn check(&self, method: Method) -> Result<(), DomainError> {
        if let Some(field) = self.foreign(method) {
            return Err(DomainError::invalid(
                field,
                format!("is not a property of the {} configuration", method.key()),
            ));
        }
        if let Some(id) = &self.id
            && Method::parse(id).ok() != Some(method)
        {
            return Err(DomainError::invalid(
                "id",
                "must be the configuration's own id",
            ));
        }
        Ok(())
    }

    /// PATCH semantics on the policy as read (run again when another
    /// change won the race, so it takes `&self`).
    fn apply(&self, method: Method, targets: &Targets, p: &mut Policy) -> Result<(), DomainError> {
        match method {
            Method::TemporaryAccessPass => {
                self.apply_tap(&mut p.tap, targets);
                Ok(())
            }
            Method::Fido2 => self.apply_fido2(&mut p.passkey, targets),
        }
    }

    fn apply_tap(&self, t: &mut TapPolicy, targets: &Targets) {
        set(&mut t.state, self.state);
        set(
            &mut t.default_lifetime_minutes,
            self.default_lifetime_in_minutes,
        );
        set(
            &mut t.minimum_lifetime_minutes,
            self.minimum_lifetime_in_minutes,
        );
        set(
            &mut t.maximum_lifetime_minutes,
            self.maximum_lifetime_in_minutes,
        );
        set(&mut t.default_length, self.default_length);
        set(&mut t.is_usable_once, self.is_usable_once);
        set(&mut t.include, targets.include.clone());
        set(&mut t.exclude, targets.exclude.clone());
    }

    fn apply_fido2(&self, k: &mut PasskeyPolicy, targets: &Targets) -> Result<(), DomainError> {
        set(&mut k.state, self.state);
        set(
            &mut k.is_self_service_registration_allowed,
            self.is_self_service_registration_allowed,
        );
        set(&mut k.include, targets.include.clone());
        set(&mut k.exclude, targets.exclude.clone());
        set(
            &mut k.enrollment_window_minutes,
            self.enrollment_window_in_minutes,
        );
        set(
            &mut k.registration_required,
            self.is_registration_required_after_tap,
        );
        set(&mut k.tap_counts_as_mfa, self.is_tap_strong_authentication);
        set(&mut k.attestation.is_enforced, self.is_attestation_enforced);
        if let Some(list) = &self.attestation_trust_anchors {
            k.attestation.trust_anchors = list
                .iter()
                .cloned()
                .map(TrustAnchorInput::into_anchor)
                .collect::<Result<_, _>>()?;
        }
        if let Some(r) = &self.key_restrictions {
            r.clone().apply(&mut k.key_restrictions)?;
        }
        Ok(())
    }
}
