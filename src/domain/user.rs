use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

use super::DomainError;

/// A user principal name (`alias@domain`). Kept as given; compared and
/// indexed case-insensitively through [`Upn::key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Upn(String);

impl Upn {
    const MAX_ALIAS: usize = 64;
    /// Graph's limit for userPrincipalName, counted on the value as given
    /// (surrounding white space included, as a schema's maxLength counts).
    pub const MAX_LEN: usize = 113;

    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        let bad = |m: &'static str| DomainError::invalid("userPrincipalName", m);
        if s.is_empty() {
            return Err(bad("must not be empty"));
        }
        if input.chars().count() > Self::MAX_LEN {
            return Err(bad("must be at most 113 characters"));
        }
        Self::check_shape(s).map_err(bad)?;
        Ok(Self(s.to_owned()))
    }

    /// Whether trimmed `s` has the shape alias@host, whatever its length:
    /// mail addresses share the shape but not the UPN's length limit.
    pub(crate) fn check_shape(s: &str) -> Result<(), &'static str> {
        let Some((alias, domain)) = s.split_once('@') else {
            return Err("must have the form alias@domain");
        };
        if alias.is_empty() || alias.len() > Self::MAX_ALIAS {
            return Err("the alias before @ must be 1 to 64 characters");
        }
        let alias_ok = alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-'+!#^~&".contains(c));
        if !alias_ok || alias.starts_with('.') || alias.ends_with('.') {
            return Err(
                "the alias may hold letters, digits and . _ - ' + ! # ^ ~ & (not at the ends)",
            );
        }
        let domain_ok = !domain.is_empty()
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !domain_ok {
            return Err("the domain after @ must be a host name");
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive index key.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl TryFrom<String> for Upn {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Upn> for String {
    fn from(value: Upn) -> Self {
        value.0
    }
}

impl fmt::Display for Upn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Directory roles, as in Entra ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum DirectoryRole {
    #[serde(rename = "Global Administrator")]
    GlobalAdministrator,
    #[serde(rename = "Authentication Policy Administrator")]
    AuthenticationPolicyAdministrator,
    #[serde(rename = "Privileged Authentication Administrator")]
    PrivilegedAuthenticationAdministrator,
    #[serde(rename = "Authentication Administrator")]
    AuthenticationAdministrator,
}

impl DirectoryRole {
    pub const ALL: [DirectoryRole; 4] = [
        DirectoryRole::GlobalAdministrator,
        DirectoryRole::AuthenticationPolicyAdministrator,
        DirectoryRole::PrivilegedAuthenticationAdministrator,
        DirectoryRole::AuthenticationAdministrator,
    ];

    /// The role's name as admins know it (also its JSON form).
    pub const fn display_name(self) -> &'static str {
        match self {
            DirectoryRole::GlobalAdministrator => "Global Administrator",
            DirectoryRole::AuthenticationPolicyAdministrator => {
                "Authentication Policy Administrator"
            }
            DirectoryRole::PrivilegedAuthenticationAdministrator => {
                "Privileged Authentication Administrator"
            }
            DirectoryRole::AuthenticationAdministrator => "Authentication Administrator",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.display_name() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub upn: Upn,
    pub display_name: String,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub surname: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    /// Phone and postal address; stored flat beside the other fields.
    #[serde(flatten)]
    pub contact: Contact,
    pub account_enabled: bool,
    #[serde(default)]
    pub roles: Vec<DirectoryRole>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// Sessions and refresh tokens from sign-ins before this are revoked.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub sessions_valid_after: Option<OffsetDateTime>,
    /// Graph's `jobTitle` (HR data, like the fields below; every one
    /// `default` so records stored before they existed still load).
    #[serde(default)]
    pub job_title: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    /// Not unique (as in Graph); indexed case-insensitively
    /// ([`User::employee_id_key`]).
    #[serde(default)]
    pub employee_id: Option<String>,
    #[serde(default)]
    pub employee_type: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub employee_hire_date: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub employee_leave_date_time: Option<OffsetDateTime>,
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub office_location: Option<String>,
    /// ISO 3166-1 alpha-2, upper case (`US`).
    #[serde(default)]
    pub usage_location: Option<String>,
    /// ISO 639-1 language, optionally with a region (`en-US`).
    #[serde(default)]
    pub preferred_language: Option<String>,
    #[serde(default)]
    pub mail_nickname: Option<String>,
    #[serde(default)]
    pub other_mails: Vec<String>,
    /// The manager's user id. Set and cleared through the admin service
    /// (never by a PATCH of the user), always to an existing user other
    /// than this one. Deleting the manager leaves the id behind; it is
    /// resolved on read, and an id that no longer names a user reads as
    /// no manager (user ids are random and never reused, so a stale id
    /// can never come to mean someone else).
    #[serde(default)]
    pub manager: Option<String>,
}

impl User {
    /// Does a sign-in at `auth_time` still count (not revoked since)?
    pub fn sign_in_valid(&self, auth_time: OffsetDateTime) -> bool {
        self.account_enabled && self.sessions_valid_after.is_none_or(|t| auth_time >= t)
    }

    /// The key of the (non-unique) mail index: the address in lower case.
    pub fn mail_key(&self) -> Option<String> {
        self.mail.as_deref().map(index_key)
    }

    /// The key of the (non-unique) employeeId index, case-insensitive.
    pub fn employee_id_key(&self) -> Option<String> {
        self.employee_id.as_deref().map(index_key)
    }
}

/// How a looked-up value (a mail address, an employee id) is keyed in the
/// store's indexes: trimmed and in lower case, so that lookups ignore case
/// as Graph's `$filter` comparisons do.
pub fn index_key(value: &str) -> String {
    value.trim().to_lowercase()
}

/// What a caller may set when creating a user; validated by [`NewUser::into_user`].
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub upn: String,
    pub display_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub account_enabled: Option<bool>,
    pub roles: Vec<DirectoryRole>,
    pub contact: Contact,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub employee_id: Option<String>,
    pub employee_type: Option<String>,
    pub employee_hire_date: Option<OffsetDateTime>,
    pub employee_leave_date_time: Option<OffsetDateTime>,
    pub company_name: Option<String>,
    pub office_location: Option<String>,
    pub usage_location: Option<String>,
    pub preferred_language: Option<String>,
    pub mail_nickname: Option<String>,
    pub other_mails: Vec<String>,
}

/// The optional phone and postal address of a user, named as in Graph's
/// user resource; released as the `phone` and `address` scope claims (OIDC
/// Core §5.4). `default` keeps records stored before they existed loadable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    #[serde(default)]
    pub mobile_phone: Option<String>,
    #[serde(default)]
    pub street_address: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
}

const MAX_NAME: usize = 256;

/// Graph's length limits for the contact fields.
const MAX_PHONE: usize = 64;
const MAX_STREET: usize = 1024;
const MAX_PLACE: usize = 128;
const MAX_POSTAL_CODE: usize = 40;

/// Graph's limits for the HR fields (`employeeType` and `officeLocation`
/// have none documented: Onramp bounds them like their neighbours).
const MAX_JOB_TITLE: usize = 128;
const MAX_DEPARTMENT: usize = 64;
const MAX_EMPLOYEE_ID: usize = 16;
const MAX_EMPLOYEE_TYPE: usize = 64;
const MAX_COMPANY: usize = 64;
const MAX_OFFICE: usize = 128;
const MAX_NICKNAME: usize = 64;
/// Graph: up to 250 other addresses, each up to 250 characters.
const MAX_OTHER_MAILS: usize = 250;
const MAX_OTHER_MAIL_LEN: usize = 250;

fn text_field(
    field: &'static str,
    value: Option<String>,
    required: bool,
) -> Result<Option<String>, DomainError> {
    bounded_text(field, value, required, MAX_NAME)
}

/// Surrounding white space is dropped; the length counts the value as
/// given, as the API document's `maxLength` does.
pub(crate) fn bounded_text(
    field: &'static str,
    value: Option<String>,
    required: bool,
    max: usize,
) -> Result<Option<String>, DomainError> {
    if value.as_ref().is_some_and(|v| v.chars().count() > max) {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    match value.map(|v| v.trim().to_owned()) {
        None if required => Err(DomainError::invalid(field, "is required")),
        Some(v) if v.is_empty() && required => {
            Err(DomainError::invalid(field, "must not be empty"))
        }
        Some(v) if v.is_empty() => Ok(None),
        Some(v) if v.chars().any(char::is_control) => Err(DomainError::invalid(
            field,
            "must not contain control characters",
        )),
        other => Ok(other),
    }
}

fn mail_field(value: Option<String>) -> Result<Option<String>, DomainError> {
    // At most as long as a UPN, whose shape it has.
    let Some(v) = bounded_text("mail", value, false, Upn::MAX_LEN)? else {
        return Ok(None);
    };
    // A mail address has the same shape as a UPN for our purposes.
    Upn::parse(&v)
        .map_err(|_| DomainError::invalid("mail", "must be an address of the form name@domain"))?;
    Ok(Some(v))
}

fn phone_field(value: Option<String>) -> Result<Option<String>, DomainError> {
    let Some(v) = bounded_text("mobilePhone", value, false, MAX_PHONE)? else {
        return Ok(None);
    };
    // Loose on layout (directories hold "+1 (425) 555-0100"), strict on
    // content: it ends up in tokens as `phone_number`.
    let ok = v.chars().any(|c| c.is_ascii_digit())
        && v.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if !ok {
        return Err(DomainError::invalid(
            "mobilePhone",
            "must hold digits, optionally with spaces and + - ( ) .",
        ));
    }
    Ok(Some(v))
}

/// A mail alias (Graph's `mailNickname`, of users and groups): 1 to 64
/// ASCII characters, none of `@ ( ) \ [ ] " ; : < > ,` or space.
pub fn mail_nickname_field(value: Option<String>) -> Result<Option<String>, DomainError> {
    let Some(v) = bounded_text("mailNickname", value, false, MAX_NICKNAME)? else {
        return Ok(None);
    };
    let ok = v
        .chars()
        .all(|c| c.is_ascii_graphic() && !"@()\\[]\";:<>,".contains(c));
    if !ok {
        return Err(DomainError::invalid(
            "mailNickname",
            "may hold ASCII letters, digits and punctuation except @ ( ) \\ [ ] \" ; : < > , and no spaces",
        ));
    }
    Ok(Some(v))
}

/// `usageLocation`: an ISO 3166-1 alpha-2 country code, kept upper case.
/// (The form is checked, not the list of assigned codes.)
fn usage_location_field(value: Option<String>) -> Result<Option<String>, DomainError> {
    let Some(v) = bounded_text("usageLocation", value, false, 2)? else {
        return Ok(None);
    };
    if v.len() != 2 || !v.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(DomainError::invalid(
            "usageLocation",
            "must be a two-letter ISO 3166-1 country code such as US",
        ));
    }
    Ok(Some(v.to_ascii_uppercase()))
}

/// `preferredLanguage`: an ISO 639-1 code, optionally with a region
/// (ISO 3166-1 alpha-2 or a UN M.49 number): `en`, `en-US`, `es-419`.
/// Kept in the usual case (`en-US`).
fn preferred_language_field(value: Option<String>) -> Result<Option<String>, DomainError> {
    let Some(v) = bounded_text("preferredLanguage", value, false, 6)? else {
        return Ok(None);
    };
    let (lang, region) = match v.split_once(['-', '_']) {
        Some((l, r)) => (l, Some(r)),
        None => (v.as_str(), None),
    };
    let lang_ok = lang.len() == 2 && lang.chars().all(|c| c.is_ascii_alphabetic());
    let region_ok = region.is_none_or(|r| {
        (r.len() == 2 && r.chars().all(|c| c.is_ascii_alphabetic()))
            || (r.len() == 3 && r.chars().all(|c| c.is_ascii_digit()))
    });
    if !lang_ok || !region_ok {
        return Err(DomainError::invalid(
            "preferredLanguage",
            "must be an ISO 639-1 language code, optionally with a region, such as en or en-US",
        ));
    }
    let lang = lang.to_ascii_lowercase();
    Ok(Some(match region {
        Some(r) => format!("{lang}-{}", r.to_ascii_uppercase()),
        None => lang,
    }))
}

/// `otherMails`: up to 250 addresses of the form name@domain, each at most
/// 250 characters; blanks and repeats (ignoring case) are dropped.
fn other_mails_field(values: Vec<String>) -> Result<Vec<String>, DomainError> {
    if values.len() > MAX_OTHER_MAILS {
        return Err(DomainError::invalid(
            "otherMails",
            format!("at most {MAX_OTHER_MAILS} addresses"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        let Some(v) = bounded_text("otherMails", Some(v), false, MAX_OTHER_MAIL_LEN)? else {
            continue;
        };
        // The shape of a UPN, but up to 250 characters, not 113.
        Upn::check_shape(&v).map_err(|_| {
            DomainError::invalid(
                "otherMails",
                "each must be an address of the form name@domain",
            )
        })?;
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&v)) {
            out.push(v);
        }
    }
    Ok(out)
}

/// A change to one optional field: `Some(None)` clears it.
type Change = Option<Option<String>>;

fn change(
    current: &mut Option<String>,
    change: Change,
    validate: impl FnOnce(Option<String>) -> Result<Option<String>, DomainError>,
) -> Result<(), DomainError> {
    if let Some(v) = change {
        *current = validate(v)?;
    }
    Ok(())
}

impl Contact {
    /// Validates every field (as a patch of an empty record).
    fn validated(self) -> Result<Self, DomainError> {
        let mut out = Self::default();
        ContactPatch::from(self).apply_to(&mut out)?;
        Ok(out)
    }
}

/// A partial update of [`Contact`]. `Some(None)` clears a field.
#[derive(Debug, Clone, Default)]
pub struct ContactPatch {
    pub mobile_phone: Change,
    pub street_address: Change,
    pub city: Change,
    pub state: Change,
    pub postal_code: Change,
    pub country: Change,
}

impl From<Contact> for ContactPatch {
    fn from(c: Contact) -> Self {
        Self {
            mobile_phone: Some(c.mobile_phone),
            street_address: Some(c.street_address),
            city: Some(c.city),
            state: Some(c.state),
            postal_code: Some(c.postal_code),
            country: Some(c.country),
        }
    }
}

impl ContactPatch {
    fn is_empty(&self) -> bool {
        self.mobile_phone.is_none()
            && self.street_address.is_none()
            && self.city.is_none()
            && self.state.is_none()
            && self.postal_code.is_none()
            && self.country.is_none()
    }

    fn apply_to(self, c: &mut Contact) -> Result<(), DomainError> {
        let text = |field, max| move |v| bounded_text(field, v, false, max);
        change(&mut c.mobile_phone, self.mobile_phone, phone_field)?;
        change(
            &mut c.street_address,
            self.street_address,
            text("streetAddress", MAX_STREET),
        )?;
        change(&mut c.city, self.city, text("city", MAX_PLACE))?;
        change(&mut c.state, self.state, text("state", MAX_PLACE))?;
        change(
            &mut c.postal_code,
            self.postal_code,
            text("postalCode", MAX_POSTAL_CODE),
        )?;
        change(&mut c.country, self.country, text("country", MAX_PLACE))?;
        Ok(())
    }
}

impl NewUser {
    pub fn into_user(self, id: String, now: OffsetDateTime) -> Result<User, DomainError> {
        let user = User {
            id,
            upn: Upn::parse(&self.upn)?,
            display_name: text_field("displayName", Some(self.display_name), true)?
                .unwrap_or_default(),
            given_name: text_field("givenName", self.given_name, false)?,
            surname: text_field("surname", self.surname, false)?,
            mail: mail_field(self.mail)?,
            contact: self.contact.validated()?,
            account_enabled: self.account_enabled.unwrap_or(true),
            roles: self.roles,
            created: now,
            sessions_valid_after: None,
            job_title: None,
            department: None,
            employee_id: None,
            employee_type: None,
            employee_hire_date: None,
            employee_leave_date_time: None,
            company_name: None,
            office_location: None,
            usage_location: None,
            preferred_language: None,
            mail_nickname: None,
            other_mails: Vec::new(),
            manager: None,
        };
        // The HR fields are validated as a patch of the bare record.
        let hr = UserPatch {
            job_title: Some(self.job_title),
            department: Some(self.department),
            employee_id: Some(self.employee_id),
            employee_type: Some(self.employee_type),
            employee_hire_date: Some(self.employee_hire_date),
            employee_leave_date_time: Some(self.employee_leave_date_time),
            company_name: Some(self.company_name),
            office_location: Some(self.office_location),
            usage_location: Some(self.usage_location),
            preferred_language: Some(self.preferred_language),
            mail_nickname: Some(self.mail_nickname),
            other_mails: Some(self.other_mails),
            ..Default::default()
        };
        hr.apply(&user)
    }
}

/// A partial update. `Some(None)` clears an optional field; `otherMails`
/// is replaced whole (`Some(vec![])` clears it). The manager is not
/// patched here: it names another record, so the admin service sets it.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub upn: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<Option<String>>,
    pub surname: Option<Option<String>>,
    pub mail: Option<Option<String>>,
    pub account_enabled: Option<bool>,
    pub contact: ContactPatch,
    pub job_title: Option<Option<String>>,
    pub department: Option<Option<String>>,
    pub employee_id: Option<Option<String>>,
    pub employee_type: Option<Option<String>>,
    pub employee_hire_date: Option<Option<OffsetDateTime>>,
    pub employee_leave_date_time: Option<Option<OffsetDateTime>>,
    pub company_name: Option<Option<String>>,
    pub office_location: Option<Option<String>>,
    pub usage_location: Option<Option<String>>,
    pub preferred_language: Option<Option<String>>,
    pub mail_nickname: Option<Option<String>>,
    pub other_mails: Option<Vec<String>>,
}

impl UserPatch {
    pub fn is_empty(&self) -> bool {
        self.upn.is_none()
            && self.display_name.is_none()
            && self.given_name.is_none()
            && self.surname.is_none()
            && self.mail.is_none()
            && self.account_enabled.is_none()
            && self.contact.is_empty()
            && self.job_title.is_none()
            && self.department.is_none()
            && self.employee_id.is_none()
            && self.employee_type.is_none()
            && self.employee_hire_date.is_none()
            && self.employee_leave_date_time.is_none()
            && self.company_name.is_none()
            && self.office_location.is_none()
            && self.usage_location.is_none()
            && self.preferred_language.is_none()
            && self.mail_nickname.is_none()
            && self.other_mails.is_none()
    }

    /// Applies the patch to a copy of `user`, validating every field.
    pub fn apply(self, user: &User) -> Result<User, DomainError> {
        let mut next = user.clone();
        if let Some(upn) = self.upn {
            next.upn = Upn::parse(&upn)?;
        }
        if let Some(name) = self.display_name {
            next.display_name = text_field("displayName", Some(name), true)?.unwrap_or_default();
        }
        if let Some(v) = self.given_name {
            next.given_name = text_field("givenName", v, false)?;
        }
        if let Some(v) = self.surname {
            next.surname = text_field("surname", v, false)?;
        }
        if let Some(v) = self.mail {
            next.mail = mail_field(v)?;
        }
        if let Some(enabled) = self.account_enabled {
            next.account_enabled = enabled;
        }
        self.contact.apply_to(&mut next.contact)?;
        let text = |field, max| move |v| bounded_text(field, v, false, max);
        change(
            &mut next.job_title,
            self.job_title,
            text("jobTitle", MAX_JOB_TITLE),
        )?;
        change(
            &mut next.department,
            self.department,
            text("department", MAX_DEPARTMENT),
        )?;
        change(
            &mut next.employee_id,
            self.employee_id,
            text("employeeId", MAX_EMPLOYEE_ID),
        )?;
        change(
            &mut next.employee_type,
            self.employee_type,
            text("employeeType", MAX_EMPLOYEE_TYPE),
        )?;
        change(
            &mut next.company_name,
            self.company_name,
            text("companyName", MAX_COMPANY),
        )?;
        change(
            &mut next.office_location,
            self.office_location,
            text("officeLocation", MAX_OFFICE),
        )?;
        change(
            &mut next.usage_location,
            self.usage_location,
            usage_location_field,
        )?;
        change(
            &mut next.preferred_language,
            self.preferred_language,
            preferred_language_field,
        )?;
        change(
            &mut next.mail_nickname,
            self.mail_nickname,
            mail_nickname_field,
        )?;
        if let Some(v) = self.employee_hire_date {
            next.employee_hire_date = v;
        }
        if let Some(v) = self.employee_leave_date_time {
            next.employee_leave_date_time = v;
        }
        if let Some(v) = self.other_mails {
            next.other_mails = other_mails_field(v)?;
        }
        Ok(next)
    }
}

/// A user as `$filter`, `$search` and `$orderby` see it: Graph's property
/// names ([`super::odata::schemas::USER`]).
impl super::odata::ODataRecord for User {
    fn get(&self, property: &str) -> Option<super::odata::ODataValue<'_>> {
        use super::odata::ODataValue as V;
        fn text(v: &Option<String>) -> Option<V<'_>> {
            Some(v.as_deref().map_or(V::Null, V::Str))
        }
        fn time<'a>(v: &Option<OffsetDateTime>) -> Option<V<'a>> {
            Some(v.map_or(V::Null, V::DateTime))
        }
        let c = &self.contact;
        match property {
            "id" => Some(V::Str(&self.id)),
            "userPrincipalName" => Some(V::Str(self.upn.as_str())),
            "displayName" => Some(V::Str(&self.display_name)),
            "givenName" => text(&self.given_name),
            "surname" => text(&self.surname),
            "mail" => text(&self.mail),
            "mailNickname" => text(&self.mail_nickname),
            "otherMails" => Some(V::Strings(&self.other_mails)),
            "jobTitle" => text(&self.job_title),
            "department" => text(&self.department),
            "employeeId" => text(&self.employee_id),
            "employeeType" => text(&self.employee_type),
            "employeeHireDate" => time(&self.employee_hire_date),
            "employeeLeaveDateTime" => time(&self.employee_leave_date_time),
            "companyName" => text(&self.company_name),
            "officeLocation" => text(&self.office_location),
            "usageLocation" => text(&self.usage_location),
            "preferredLanguage" => text(&self.preferred_language),
            "accountEnabled" => Some(V::Bool(self.account_enabled)),
            "createdDateTime" => Some(V::DateTime(self.created)),
            "mobilePhone" => text(&c.mobile_phone),
            "city" => text(&c.city),
            "country" => text(&c.country),
            "state" => text(&c.state),
            "postalCode" => text(&c.postal_code),
            "streetAddress" => text(&c.street_address),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upn_accepts_common_forms_and_keys_case_insensitively() {
        let upn = Upn::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(upn.as_str(), "Ada.Lovelace@Example.COM");
        assert_eq!(upn.key(), "ada.lovelace@example.com");
        assert!(Upn::parse("admin@localhost").is_ok());
    }

    #[test]
    fn upn_rejects_malformed_values() {
        for bad in [
            "",
            "no-at",
            "@example.com",
            "a@",
            "a@b@c",
            "a b@c.d",
            ".a@b.c",
            "a@-b.c",
            "a@b..c",
        ] {
            assert!(Upn::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(Upn::parse(&long).is_err());
        // The length limit counts the value as given, spaces included.
        let upn = format!("a@{}.{}.com", "b".repeat(60), "c".repeat(46));
        assert_eq!(upn.len(), 113);
        assert!(Upn::parse(&upn).is_ok());
        assert!(Upn::parse(&format!(" {upn}")).is_err());
    }

    #[test]
    fn text_limits_count_the_value_as_given() {
        let name = "n".repeat(256);
        assert_eq!(
            text_field("displayName", Some(format!(" {name} ")), true)
                .unwrap_err()
                .to_string(),
            "displayName: must be at most 256 characters"
        );
        assert_eq!(
            text_field("displayName", Some(format!(" {} ", &name[2..])), true).unwrap(),
            Some(name[2..].to_owned())
        );
    }

    #[test]
    fn patch_validates_and_clears() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let user = NewUser {
            upn: "a@b.c".into(),
            display_name: "A".into(),
            mail: Some("a@b.c".into()),
            ..Default::default()
        }
        .into_user("id".into(), now)
        .unwrap();
        let patched = UserPatch {
            mail: Some(None),
            display_name: Some("B".into()),
            ..Default::default()
        }
        .apply(&user)
        .unwrap();
        assert_eq!(patched.mail, None);
        assert_eq!(patched.display_name, "B");
        let err = UserPatch {
            display_name: Some("  ".into()),
            ..Default::default()
        }
        .apply(&user)
        .unwrap_err();
        assert!(matches!(err, DomainError::Invalid { .. }));
    }

    #[test]
    fn records_stored_before_contact_fields_still_load() {
        let stored = r#"{"id":"u1","upn":"a@b.c","display_name":"A","account_enabled":true,"created":"2026-11-25T12:00:00Z"}"#;
        let user: User = serde_json::from_str(stored).unwrap();
        assert_eq!(user.contact, Contact::default());
        // And the fields are stored flat, as the other ones.
        let mut user = user;
        user.contact.city = Some("Redmond".into());
        let json = serde_json::to_value(&user).unwrap();
        assert_eq!(json["city"], "Redmond");
        let back: User = serde_json::from_value(json).unwrap();
        assert_eq!(back, user);
    }

    #[test]
    fn contact_fields_are_validated_set_and_cleared() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let new = |phone: &str| NewUser {
            upn: "a@b.c".into(),
            display_name: "A".into(),
            contact: Contact {
                mobile_phone: Some(phone.into()),
                city: Some(" Redmond ".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let user = new("+1 (425) 555-0100")
            .into_user("id".into(), now)
            .unwrap();
        assert_eq!(
            user.contact.mobile_phone.as_deref(),
            Some("+1 (425) 555-0100")
        );
        assert_eq!(user.contact.city.as_deref(), Some("Redmond"));
        for bad in ["call me", "+", "1; DROP", &"1".repeat(65)] {
            let err = new(bad).into_user("id".into(), now).unwrap_err();
            assert!(
                matches!(err, DomainError::Invalid { ref field, .. } if field == "mobilePhone"),
                "{bad}"
            );
        }
        let patch = UserPatch {
            contact: ContactPatch {
                mobile_phone: Some(None),
                postal_code: Some(Some("98052".into())),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(!patch.is_empty());
        let patched = patch.apply(&user).unwrap();
        assert_eq!(patched.contact.mobile_phone, None);
        assert_eq!(patched.contact.postal_code.as_deref(), Some("98052"));
        assert_eq!(patched.contact.city.as_deref(), Some("Redmond"));
        let too_long = UserPatch {
            contact: ContactPatch {
                postal_code: Some(Some("9".repeat(41))),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(too_long.apply(&user).is_err());
    }
}

#[cfg(test)]
mod hr_tests {
    use super::*;
    use time::macros::datetime;

    fn base() -> NewUser {
        NewUser {
            upn: "a@b.c".into(),
            display_name: "A".into(),
            ..Default::default()
        }
    }

    fn field_of(e: DomainError) -> String {
        match e {
            DomainError::Invalid { field, .. } => field.into_owned(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn hr_fields_are_validated_normalised_set_and_cleared() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let hire = datetime!(2026-12-01 09:00 +01:00);
        let user = NewUser {
            job_title: Some(" Engineer ".into()),
            department: Some("R&D".into()),
            employee_id: Some("E-123".into()),
            employee_type: Some("Employee".into()),
            employee_hire_date: Some(hire),
            company_name: Some("Contoso".into()),
            office_location: Some("Building 4".into()),
            usage_location: Some("us".into()),
            preferred_language: Some("en-us".into()),
            mail_nickname: Some("ada".into()),
            other_mails: vec![
                "ada@home.example".into(),
                " ".into(),
                "ADA@home.example".into(),
            ],
            ..base()
        }
        .into_user("u1".into(), now)
        .unwrap();
        assert_eq!(user.job_title.as_deref(), Some("Engineer"));
        assert_eq!(user.usage_location.as_deref(), Some("US"));
        assert_eq!(user.preferred_language.as_deref(), Some("en-US"));
        assert_eq!(user.other_mails, ["ada@home.example"]);
        assert_eq!(user.employee_hire_date, Some(hire));
        assert_eq!(user.employee_id_key().as_deref(), Some("e-123"));
        assert_eq!(user.manager, None);

        // Graph's limits, each named.
        let too_long: [(NewUser, &str); 6] = [
            (
                NewUser {
                    job_title: Some("j".repeat(129)),
                    ..base()
                },
                "jobTitle",
            ),
            (
                NewUser {
                    department: Some("d".repeat(65)),
                    ..base()
                },
                "department",
            ),
            (
                NewUser {
                    employee_id: Some("1".repeat(17)),
                    ..base()
                },
                "employeeId",
            ),
            (
                NewUser {
                    company_name: Some("c".repeat(65)),
                    ..base()
                },
                "companyName",
            ),
            (
                NewUser {
                    mail_nickname: Some("n".repeat(65)),
                    ..base()
                },
                "mailNickname",
            ),
            (
                NewUser {
                    other_mails: vec!["x@y.z".into(); 251],
                    ..base()
                },
                "otherMails",
            ),
        ];
        for (input, field) in too_long {
            assert_eq!(
                field_of(input.into_user("u".into(), now).unwrap_err()),
                field
            );
        }
        let ok_at_limit = NewUser {
            job_title: Some("j".repeat(128)),
            department: Some("d".repeat(64)),
            employee_id: Some("1".repeat(16)),
            company_name: Some("c".repeat(64)),
            ..base()
        };
        assert!(ok_at_limit.into_user("u".into(), now).is_ok());
        for bad in ["USA", "u", "1A", "ü1"] {
            let e = NewUser {
                usage_location: Some(bad.into()),
                ..base()
            };
            assert_eq!(
                field_of(e.into_user("u".into(), now).unwrap_err()),
                "usageLocation",
                "{bad}"
            );
        }
        for good in ["en", "en-US", "es-419", "pt_BR"] {
            let e = NewUser {
                preferred_language: Some(good.into()),
                ..base()
            };
            assert!(e.into_user("u".into(), now).is_ok(), "{good}");
        }
        for bad in ["english", "e", "en-", "en-USA", "en-U1", "1n-US"] {
            let e = NewUser {
                preferred_language: Some(bad.into()),
                ..base()
            };
            assert_eq!(
                field_of(e.into_user("u".into(), now).unwrap_err()),
                "preferredLanguage",
                "{bad}"
            );
        }
        for bad in ["has space", "a@b", "a(b)", "ä"] {
            let e = NewUser {
                mail_nickname: Some(bad.into()),
                ..base()
            };
            assert_eq!(
                field_of(e.into_user("u".into(), now).unwrap_err()),
                "mailNickname",
                "{bad}"
            );
        }
        let e = NewUser {
            other_mails: vec!["not an address".into()],
            ..base()
        };
        assert_eq!(
            field_of(e.into_user("u".into(), now).unwrap_err()),
            "otherMails"
        );
        // Longer than a UPN may be, within otherMails' 250 (as documented).
        let long = format!("{}@{}.example", "a".repeat(64), "b".repeat(60));
        assert!(long.len() > Upn::MAX_LEN && long.len() <= 250);
        let ok = NewUser {
            other_mails: vec![format!(" {long}\u{3000}"), String::new()],
            ..base()
        };
        assert_eq!(ok.into_user("u".into(), now).unwrap().other_mails, [long]);
        let too_long = format!("{}@{}example", "a".repeat(64), "b.".repeat(95));
        assert!(too_long.len() > 250);
        let e = NewUser {
            other_mails: vec![too_long],
            ..base()
        };
        assert_eq!(
            field_of(e.into_user("u".into(), now).unwrap_err()),
            "otherMails"
        );
        let e = NewUser {
            employee_type: Some("bad\u{7}".into()),
            ..base()
        };
        assert_eq!(
            field_of(e.into_user("u".into(), now).unwrap_err()),
            "employeeType"
        );

        // PATCH: null clears, absent keeps, a list replaces.
        let patch = UserPatch {
            job_title: Some(None),
            employee_id: Some(Some("E-9".into())),
            employee_hire_date: Some(None),
            employee_leave_date_time: Some(Some(hire)),
            other_mails: Some(Vec::new()),
            ..Default::default()
        };
        assert!(!patch.is_empty());
        let next = patch.apply(&user).unwrap();
        assert_eq!(next.job_title, None);
        assert_eq!(next.employee_id.as_deref(), Some("E-9"));
        assert_eq!(next.employee_hire_date, None);
        assert_eq!(next.employee_leave_date_time, Some(hire));
        assert!(next.other_mails.is_empty());
        assert_eq!(next.department.as_deref(), Some("R&D"));
        let bad = UserPatch {
            usage_location: Some(Some("XYZ".into())),
            ..Default::default()
        };
        assert_eq!(field_of(bad.apply(&user).unwrap_err()), "usageLocation");
    }

    #[test]
    fn records_stored_before_hr_fields_still_load_and_round_trip() {
        let stored = r#"{"id":"u1","upn":"a@b.c","display_name":"A","mail":"A@B.c","account_enabled":true,"created":"2026-11-25T12:00:00Z"}"#;
        let mut user: User = serde_json::from_str(stored).unwrap();
        assert_eq!(
            (
                user.job_title.as_deref(),
                user.manager.as_deref(),
                user.other_mails.len()
            ),
            (None, None, 0)
        );
        assert_eq!(user.mail_key().as_deref(), Some("a@b.c"));
        user.employee_hire_date = Some(datetime!(2026-12-01 09:00 UTC));
        user.manager = Some("u2".into());
        user.other_mails = vec!["x@y.z".into()];
        let back: User = serde_json::from_str(&serde_json::to_string(&user).unwrap()).unwrap();
        assert_eq!(back, user);
    }
}

/// Property tests (`prop_*`; `PROPTEST_CASES` sets the number of cases).
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// Mostly-valid user names: alias@domain, with the odd bad character,
    /// empty label, stray dot or dash, and padding.
    fn near_upn() -> impl Strategy<Value = String> {
        let alias = prop_oneof![
            8 => "[a-zA-Z0-9][a-zA-Z0-9._'+!#^~&-]{0,20}[a-zA-Z0-9]",
            1 => "[a-zA-Z0-9._ @\"(),:;<>é-]{0,70}",
        ];
        let label = prop_oneof![
            8 => "[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?",
            1 => "[a-zA-Z0-9_.é-]{0,65}",
        ];
        (
            alias,
            proptest::collection::vec(label, 1..4),
            "[ \t]{0,2}",
            "[ \t]{0,2}",
        )
            .prop_map(|(a, labels, l, r)| format!("{l}{a}@{}{r}", labels.join(".")))
    }

    proptest! {
        #[test]
        fn prop_upn_parse_never_panics(s in any::<String>()) {
            let _ = Upn::parse(&s);
        }

        #[test]
        fn prop_upn_parse_keeps_only_well_formed_names(s in near_upn()) {
            let Ok(upn) = Upn::parse(&s) else { return Ok(()) };
            let text = upn.as_str();
            prop_assert_eq!(text, s.trim());
            prop_assert!(text.is_ascii() && text.len() <= 113);
            let (alias, domain) = text.split_once('@').ok_or_else(|| TestCaseError::fail("no @"))?;
            prop_assert!(!alias.is_empty() && alias.len() <= 64);
            prop_assert!(!domain.contains('@') && !domain.split('.').any(str::is_empty));
            // Parsing again gives the same name; the key is its lower case.
            prop_assert_eq!(Upn::parse(text).ok(), Some(upn.clone()));
            prop_assert_eq!(upn.key(), text.to_ascii_lowercase());
            let back: Upn = serde_json::from_value(serde_json::json!(text))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(back, upn);
        }

        #[test]
        fn prop_upn_parse_accepts_plain_names(
            alias in "[a-z0-9]([a-z0-9._-]{0,30}[a-z0-9])?",
            labels in proptest::collection::vec("[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", 1..4),
        ) {
            let text = format!("{alias}@{}", labels.join("."));
            prop_assume!(text.len() <= 113);
            prop_assert!(Upn::parse(&text).is_ok(), "{}", text);
        }
    }
}
