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
    const MAX_LEN: usize = 113; // Graph's limit for userPrincipalName

    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        let bad = |m: &'static str| DomainError::invalid("userPrincipalName", m);
        if s.is_empty() {
            return Err(bad("must not be empty"));
        }
        if s.len() > Self::MAX_LEN {
            return Err(bad("must be at most 113 characters"));
        }
        let Some((alias, domain)) = s.split_once('@') else {
            return Err(bad("must have the form alias@domain"));
        };
        if alias.is_empty() || alias.len() > Self::MAX_ALIAS {
            return Err(bad("the alias before @ must be 1 to 64 characters"));
        }
        let alias_ok = alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-'+!#^~&".contains(c));
        if !alias_ok || alias.starts_with('.') || alias.ends_with('.') {
            return Err(bad(
                "the alias may hold letters, digits and . _ - ' + ! # ^ ~ & (not at the ends)",
            ));
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
            return Err(bad("the domain after @ must be a host name"));
        }
        Ok(Self(s.to_owned()))
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
}

impl User {
    /// Does a sign-in at `auth_time` still count (not revoked since)?
    pub fn sign_in_valid(&self, auth_time: OffsetDateTime) -> bool {
        self.account_enabled && self.sessions_valid_after.is_none_or(|t| auth_time >= t)
    }
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

fn text_field(
    field: &'static str,
    value: Option<String>,
    required: bool,
) -> Result<Option<String>, DomainError> {
    bounded_text(field, value, required, MAX_NAME)
}

fn bounded_text(
    field: &'static str,
    value: Option<String>,
    required: bool,
    max: usize,
) -> Result<Option<String>, DomainError> {
    match value.map(|v| v.trim().to_owned()) {
        None if required => Err(DomainError::invalid(field, "is required")),
        Some(v) if v.is_empty() && required => {
            Err(DomainError::invalid(field, "must not be empty"))
        }
        Some(v) if v.is_empty() => Ok(None),
        Some(v) if v.chars().count() > max => Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters"),
        )),
        Some(v) if v.chars().any(char::is_control) => Err(DomainError::invalid(
            field,
            "must not contain control characters",
        )),
        other => Ok(other),
    }
}

fn mail_field(value: Option<String>) -> Result<Option<String>, DomainError> {
    let Some(v) = text_field("mail", value, false)? else {
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
        Ok(User {
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
        })
    }
}

/// A partial update. `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub upn: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<Option<String>>,
    pub surname: Option<Option<String>>,
    pub mail: Option<Option<String>>,
    pub account_enabled: Option<bool>,
    pub contact: ContactPatch,
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
        Ok(next)
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
