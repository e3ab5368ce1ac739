//! Schemas of the answers that the handlers put together as JSON (Graph's
//! collections and annotations, the policy configurations, directory
//! audits). The integration tests check real answers against them
//! (`tests/it/openapi.rs`), so they cannot drift from what is served.

// Never built: the types exist for their schemas.
#![allow(dead_code, clippy::large_enum_variant)]

use serde::Serialize;
use utoipa::ToSchema;

use super::super::resources::{
    ClientResponse, Fido2Response, GroupResponse, PasskeyResponse, TapResponse, UserResponse,
};
use crate::domain::audit::AuditEvent;
use crate::domain::policy::{EnforcementType, MethodState};

/// A page of a Graph collection.
macro_rules! collection {
    ($($name:ident of $item:ty, $what:literal;)*) => {$(
        #[doc = concat!("A page of ", $what, ".")]
        #[derive(Serialize, ToSchema)]
        pub struct $name {
            #[serde(rename = "@odata.context")]
            context: String,
            /// With `$count=true`: the number of matching items.
            #[serde(rename = "@odata.count")]
            #[schema(minimum = 0)]
            count: Option<u64>,
            /// The next page, when there is one.
            #[serde(rename = "@odata.nextLink")]
            #[schema(format = "uri")]
            next_link: Option<String>,
            value: Vec<$item>,
        }
    )*};
}

collection! {
    UserCollection of UserResponse, "users";
    GroupCollection of GroupResponse, "groups";
    DirectoryObjectCollection of DirectoryObject, "directory objects (users or groups, each with its `@odata.type`)";
    AuthenticationMethodCollection of AuthenticationMethod, "a user's authentication methods";
    TemporaryAccessPassMethodCollection of TapResponse, "a user's Temporary Access Passes";
    Fido2MethodCollection of Fido2Response, "a user's FIDO2 security keys and passkeys";
    PasskeyMethodCollection of PasskeyResponse, "a user's passkeys (Onramp's view)";
    ConfigurationCollection of Configuration, "the authentication method configurations";
    DirectoryAuditCollection of DirectoryAudit, "directory audits, newest first unless `$orderby` says otherwise";
    AuditEventCollection of AuditEvent, "Onramp's audit log, newest first";
    ClientCollection of ClientResponse, "clients";
    WebhookCollection of super::super::webhooks::WebhookResponse, "webhook subscriptions";
    WebhookDeliveryCollection of super::super::webhooks::DeliveryResponse, "a subscription's recent deliveries, newest first";
}

/// A user or a group, named by `@odata.type`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum DirectoryObject {
    User(UserResponse),
    Group(GroupResponse),
}

/// Any of a user's methods, named by `@odata.type`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum AuthenticationMethod {
    TemporaryAccessPass(TapResponse),
    Fido2(Fido2Response),
}

/// An action's answer (`revokeSignInSessions`).
#[derive(Serialize, ToSchema)]
pub(crate) struct BooleanResult {
    #[serde(rename = "@odata.context")]
    context: String,
    value: bool,
}

/// Graph's `authenticationMethodTarget` (an answer's form).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MethodTarget {
    /// `user` or `group`.
    target_type: String,
    /// A user's id, a group's id, or `all_users`.
    id: String,
    is_registration_required: Option<bool>,
}

/// Graph's `temporaryAccessPassAuthenticationMethodConfiguration`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TapConfiguration {
    #[serde(rename = "@odata.type")]
    #[schema(
        pattern = "^#microsoft\\.graph\\.temporaryAccessPassAuthenticationMethodConfiguration$"
    )]
    odata_type: String,
    #[schema(pattern = "^TemporaryAccessPass$")]
    id: String,
    state: MethodState,
    default_lifetime_in_minutes: u32,
    minimum_lifetime_in_minutes: u32,
    maximum_lifetime_in_minutes: u32,
    default_length: u32,
    is_usable_once: bool,
    include_targets: Vec<MethodTarget>,
    exclude_targets: Vec<MethodTarget>,
}

/// Graph's `fido2KeyRestrictions`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyRestrictions {
    is_enforced: bool,
    enforcement_type: EnforcementType,
    #[schema(format = "uuid")]
    aa_guids: Vec<String>,
}

/// An attestation root Onramp trusts for some authenticator models.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TrustAnchor {
    /// PEM or base64 DER of the X.509 root.
    certificate: String,
    #[schema(format = "uuid")]
    aa_guids: Vec<String>,
    description: String,
}

/// Graph's `fido2AuthenticationMethodConfiguration`, with Onramp's own
/// settings after Graph's.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Fido2Configuration {
    #[serde(rename = "@odata.type")]
    #[schema(pattern = "^#microsoft\\.graph\\.fido2AuthenticationMethodConfiguration$")]
    odata_type: String,
    #[schema(pattern = "^Fido2$")]
    id: String,
    state: MethodState,
    is_self_service_registration_allowed: bool,
    is_attestation_enforced: bool,
    key_restrictions: KeyRestrictions,
    include_targets: Vec<MethodTarget>,
    exclude_targets: Vec<MethodTarget>,
    /// Minutes after a pass sign-in in which a passkey may be enrolled.
    enrollment_window_in_minutes: u32,
    /// A pass sign-in goes straight to passkey registration.
    is_registration_required_after_tap: bool,
    /// A pass sign-in counts as multi-factor (`amr` has `mfa`).
    is_tap_strong_authentication: bool,
    attestation_trust_anchors: Vec<TrustAnchor>,
}

/// One method configuration, by its `@odata.type`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum Configuration {
    TemporaryAccessPass(TapConfiguration),
    Fido2(Fido2Configuration),
}

/// Graph's `authenticationMethodsPolicy`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuthenticationMethodsPolicy {
    #[serde(rename = "@odata.context")]
    context: String,
    id: String,
    display_name: String,
    authentication_method_configurations: Vec<Configuration>,
}

/// Graph's `userIdentity` / `appIdentity` in `initiatedBy`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Identity {
    id: Option<String>,
    app_id: Option<String>,
    display_name: Option<String>,
    user_principal_name: Option<String>,
    ip_address: Option<String>,
    service_principal_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Initiator {
    user: Option<Identity>,
    app: Option<Identity>,
}

/// Graph's `targetResource`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TargetResource {
    id: String,
    display_name: Option<String>,
    /// `User`, `Group`, `TemporaryAccessPass`, `Client`, ...
    r#type: String,
    user_principal_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct KeyValue {
    key: String,
    value: String,
}

/// Graph's `directoryAudit`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DirectoryAudit {
    id: String,
    #[schema(format = DateTime)]
    activity_date_time: String,
    activity_display_name: String,
    category: String,
    #[schema(format = "uuid")]
    correlation_id: Option<String>,
    initiated_by: Initiator,
    logged_by_service: String,
    operation_type: String,
    /// `success` or `failure`.
    result: String,
    result_reason: Option<String>,
    target_resources: Vec<TargetResource>,
    additional_details: Vec<KeyValue>,
}

/// A signing key, as listed after a rotation.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SigningKey {
    kid: String,
    /// `RS256` or `ES256`.
    alg: String,
    #[schema(format = DateTime)]
    created_date_time: String,
    /// Signs from this time (`null`: since creation).
    #[schema(format = DateTime)]
    not_before: Option<String>,
    /// Published until this time (`null`: not retiring).
    #[schema(format = DateTime)]
    retire_until: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SigningKeySet {
    #[schema(minimum = 1)]
    version: u64,
    keys: Vec<SigningKey>,
}

/// One request of a batch.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct BatchRequestItem {
    /// Unique in the batch.
    #[schema(min_length = 1)]
    id: String,
    /// GET, POST, PUT, PATCH or DELETE, in any case.
    #[schema(
        pattern = "^([Gg][Ee][Tt]|[Pp][Oo][Ss][Tt]|[Pp][Uu][Tt]|[Pp][Aa][Tt][Cc][Hh]|[Dd][Ee][Ll][Ee][Tt][Ee])$"
    )]
    method: String,
    /// Relative to `/api/v1` (e.g. `/users`), or an absolute URL under this
    /// API's `/api/v1`; any other is a 400 for this request only.
    url: String,
    #[schema(schema_with = super::fields::batch_headers)]
    headers: Option<std::collections::BTreeMap<String, String>>,
    /// A JSON value (with `Content-Type: application/json`).
    body: Option<serde_json::Value>,
    /// Ids of requests that must succeed first.
    depends_on: Option<Vec<String>>,
    /// `dependsOn` as Microsoft's Python SDK spells it.
    #[serde(rename = "depends_on")]
    depends_on_snake_case: Option<Vec<String>>,
}

/// Graph's JSON batch: up to 20 requests, each authorized as if sent alone.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchRequest {
    #[schema(min_items = 1, max_items = 20)]
    requests: Vec<BatchRequestItem>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct BatchResponseItem {
    id: String,
    status: u16,
    headers: std::collections::BTreeMap<String, String>,
    body: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct BatchResponse {
    responses: Vec<BatchResponseItem>,
}
