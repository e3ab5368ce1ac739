//! The admin API's resources as they go out on the wire (Graph's shapes,
//! and Onramp's own for clients). The handlers build them; the OpenAPI
//! document's collection shapes (`doc::shapes`) name them, so they live
//! below both.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::rfc3339;
use crate::domain::DomainError;
use crate::domain::group::Group;
use crate::domain::tap::MethodUsabilityReason;
use crate::domain::user::{DirectoryRole, User};
use crate::service::admin::ClientView;

/// Graph's user, with the properties Onramp keeps (plus its own
/// `directoryRoles`).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = User)]
pub(crate) struct UserResponse {
    pub(crate) id: String,
    pub(crate) user_principal_name: String,
    pub(crate) display_name: String,
    pub(crate) given_name: Option<String>,
    pub(crate) surname: Option<String>,
    pub(crate) mail: Option<String>,
    pub(crate) mail_nickname: Option<String>,
    pub(crate) other_mails: Vec<String>,
    pub(crate) mobile_phone: Option<String>,
    /// Graph always has it; Onramp keeps no business phones.
    pub(crate) business_phones: [String; 0],
    pub(crate) street_address: Option<String>,
    pub(crate) city: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) postal_code: Option<String>,
    pub(crate) country: Option<String>,
    pub(crate) job_title: Option<String>,
    pub(crate) department: Option<String>,
    pub(crate) employee_id: Option<String>,
    pub(crate) employee_type: Option<String>,
    #[schema(format = DateTime)]
    pub(crate) employee_hire_date: Option<String>,
    #[schema(format = DateTime)]
    pub(crate) employee_leave_date_time: Option<String>,
    pub(crate) company_name: Option<String>,
    pub(crate) office_location: Option<String>,
    pub(crate) usage_location: Option<String>,
    pub(crate) preferred_language: Option<String>,
    pub(crate) account_enabled: bool,
    #[schema(format = DateTime)]
    pub(crate) created_date_time: String,
    /// Directory roles held (an Onramp extension of Graph's user).
    pub(crate) directory_roles: Vec<DirectoryRole>,
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        let c = u.contact;
        Self {
            id: u.id,
            user_principal_name: u.upn.into(),
            display_name: u.display_name,
            given_name: u.given_name,
            surname: u.surname,
            mail: u.mail,
            mail_nickname: u.mail_nickname,
            other_mails: u.other_mails,
            mobile_phone: c.mobile_phone,
            business_phones: [],
            street_address: c.street_address,
            city: c.city,
            state: c.state,
            postal_code: c.postal_code,
            country: c.country,
            job_title: u.job_title,
            department: u.department,
            employee_id: u.employee_id,
            employee_type: u.employee_type,
            employee_hire_date: u.employee_hire_date.map(rfc3339),
            employee_leave_date_time: u.employee_leave_date_time.map(rfc3339),
            company_name: u.company_name,
            office_location: u.office_location,
            usage_location: u.usage_location,
            preferred_language: u.preferred_language,
            account_enabled: u.account_enabled,
            created_date_time: rfc3339(u.created),
            directory_roles: u.roles,
        }
    }
}

/// Graph's `group` (security groups only).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Group)]
pub(crate) struct GroupResponse {
    pub(crate) id: String,
    pub(crate) display_name: String,
    pub(crate) description: Option<String>,
    pub(crate) mail_nickname: String,
    pub(crate) security_enabled: bool,
    pub(crate) mail_enabled: bool,
    /// Security groups only: never `Unified` or `DynamicMembership`.
    pub(crate) group_types: [String; 0],
    #[schema(format = DateTime)]
    pub(crate) created_date_time: String,
}

/// Graph's `temporaryAccessPassAuthenticationMethod`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TemporaryAccessPassMethod)]
pub(crate) struct TapResponse {
    pub(crate) id: String,
    /// Only in the create response; `null` afterwards, as in Graph.
    pub(crate) temporary_access_pass: Option<String>,
    #[schema(format = DateTime)]
    pub(crate) created_date_time: String,
    #[schema(format = DateTime)]
    pub(crate) start_date_time: String,
    pub(crate) lifetime_in_minutes: u32,
    pub(crate) is_usable_once: bool,
    pub(crate) is_usable: bool,
    pub(crate) method_usability_reason: MethodUsabilityReason,
}

/// Graph's `fido2AuthenticationMethod`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Fido2Method)]
pub(crate) struct Fido2Response {
    pub(crate) id: String,
    pub(crate) display_name: String,
    #[schema(format = DateTime)]
    pub(crate) created_date_time: String,
    #[schema(format = "uuid")]
    pub(crate) aa_guid: Option<String>,
    /// The authenticator's model, when Onramp knows the AAGUID.
    pub(crate) model: Option<String>,
    /// Registration asks for no attestation unless the policy enforces it,
    /// and the record does not keep the statement.
    pub(crate) attestation_level: &'static str,
    pub(crate) attestation_certificates: [String; 0],
}

/// Onramp's own view of a passkey (`passkeyMethods`).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PasskeyMethod)]
pub(crate) struct PasskeyResponse {
    pub(crate) id: String,
    pub(crate) display_name: String,
    #[schema(format = DateTime)]
    pub(crate) created_date_time: String,
    #[schema(format = DateTime)]
    pub(crate) last_used_date_time: Option<String>,
    #[schema(format = "uuid")]
    pub(crate) aa_guid: Option<String>,
    pub(crate) backup_eligible: bool,
    pub(crate) backup_state: bool,
}

/// A relying party (Onramp's own resource).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Client)]
pub(crate) struct ClientResponse {
    pub(crate) client_id: String,
    pub(crate) display_name: Option<String>,
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) post_logout_redirect_uris: Vec<String>,
    #[schema(value_type = Vec<crate::domain::client::GrantType>)]
    pub(crate) grant_types: Vec<&'static str>,
    #[schema(schema_with = super::doc::fields::auth_method)]
    pub(crate) token_endpoint_auth_method: &'static str,
    /// Defined in the configuration file (read-only through the API).
    pub(crate) configured: bool,
    /// Only in the registration response: shown once, stored as a digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_secret: Option<String>,
}

impl From<ClientView> for ClientResponse {
    fn from(v: ClientView) -> Self {
        let c = v.client;
        Self {
            grant_types: c.grant_types.iter().map(|g| g.as_str()).collect(),
            token_endpoint_auth_method: c.auth_method.as_str(),
            client_id: c.id,
            display_name: c.name,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            configured: v.configured,
            client_secret: None,
        }
    }
}

pub const USER_TYPE: &str = "#microsoft.graph.user";

pub(crate) fn user_json(u: User) -> Value {
    serde_json::to_value(UserResponse::from(u)).unwrap_or(Value::Null)
}

/// A user in a collection of directory objects (members, a manager),
/// where Graph names each item's type.
pub(crate) fn user_object(u: User) -> Value {
    typed(USER_TYPE, user_json(u))
}

/// `item` with `@odata.type` first.
pub(crate) fn typed(odata_type: &str, item: Value) -> Value {
    let mut out = serde_json::Map::new();
    out.insert("@odata.type".into(), Value::String(odata_type.into()));
    if let Value::Object(fields) = item {
        out.extend(fields);
    }
    Value::Object(out)
}

/// `{"@odata.id": "https://graph.microsoft.com/v1.0/users/{id}"}` (or
/// this server's own URL, or `directoryObjects/{id}`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Reference)]
pub(crate) struct RefRequest {
    /// The user's URL, e.g. `https://graph.microsoft.com/v1.0/users/{id}`.
    #[serde(rename = "@odata.id")]
    #[schema(
        format = "uri",
        pattern = "^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]+(/[^/?#]+)*/(users|directoryObjects|Users|DirectoryObjects)/[A-Za-z0-9._~!$&'()*+,;=:@%-]+$"
    )]
    odata_id: String,
}

impl RefRequest {
    /// A reference given as a bare URL (`members@odata.bind`).
    pub(crate) fn of(odata_id: String) -> Self {
        Self { odata_id }
    }

    /// The id the reference names: the last segment of a `users/{id}` or
    /// `directoryObjects/{id}` URL.
    pub(crate) fn object_id(&self) -> Result<String, DomainError> {
        let bad = || {
            DomainError::invalid(
                "@odata.id",
                "must be the URL of a user, e.g. https://graph.microsoft.com/v1.0/users/{id}",
            )
        };
        let path = url::Url::parse(&self.odata_id).map_err(|_| bad())?;
        let mut segments: Vec<&str> = path.path_segments().ok_or_else(bad)?.collect();
        let id = segments.pop().filter(|s| !s.is_empty()).ok_or_else(bad)?;
        match segments.last() {
            Some(kind)
                if kind.eq_ignore_ascii_case("users")
                    || kind.eq_ignore_ascii_case("directoryObjects") =>
            {
                Ok(percent_decoded(id))
            }
            _ => Err(bad()),
        }
    }
}

pub const GROUP_TYPE: &str = "#microsoft.graph.group";

pub(crate) fn group_json(g: Group) -> Value {
    serde_json::to_value(GroupResponse {
        id: g.id,
        display_name: g.display_name,
        description: g.description,
        mail_nickname: g.mail_nickname,
        security_enabled: g.security_enabled,
        mail_enabled: g.mail_enabled,
        group_types: [],
        created_date_time: rfc3339(g.created),
    })
    .unwrap_or(Value::Null)
}

/// A group among directory objects (`memberOf`).
pub(crate) fn group_object(g: Group) -> Value {
    typed(GROUP_TYPE, group_json(g))
}

fn percent_decoded(segment: &str) -> String {
    url::form_urlencoded::parse(segment.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_else(|| segment.to_owned())
}
