//! Groups: Graph's security groups (`securityEnabled` true, `mailEnabled`
//! false), with users as members. Policies target them
//! ([`super::policy::PolicyTarget`]).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::DomainError;
use super::user::{bounded_text, mail_nickname_field};

/// Graph's limits.
const MAX_DISPLAY_NAME: usize = 256;
const MAX_DESCRIPTION: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub mail_nickname: String,
    /// Always true: only security groups exist here.
    pub security_enabled: bool,
    /// Always false (no mail).
    pub mail_enabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

impl Group {
    /// The listing order: display name (case-insensitive), then id. The
    /// store keeps groups sorted by this key and pages by it.
    pub fn order_key(&self) -> String {
        order_key(&self.display_name, &self.id)
    }
}

/// `display name (lower case) NUL id`: NUL sorts before every character a
/// name may hold (control characters are refused), so a name that is a
/// prefix of another sorts first.
pub fn order_key(display_name: &str, id: &str) -> String {
    format!("{}\u{0}{id}", display_name.to_lowercase())
}

/// What a caller may set when creating a group (Graph's create body).
#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub mail_nickname: Option<String>,
    /// Must be true (or left out).
    pub security_enabled: Option<bool>,
    /// Must be false (or left out).
    pub mail_enabled: Option<bool>,
}

fn display_name_field(value: Option<String>) -> Result<String, DomainError> {
    Ok(bounded_text("displayName", value, true, MAX_DISPLAY_NAME)?.unwrap_or_default())
}

fn description_field(value: Option<String>) -> Result<Option<String>, DomainError> {
    bounded_text("description", value, false, MAX_DESCRIPTION)
}

fn nickname_required(value: Option<String>) -> Result<String, DomainError> {
    mail_nickname_field(value)?.ok_or_else(|| DomainError::invalid("mailNickname", "is required"))
}

fn kind_fields(security: Option<bool>, mail: Option<bool>) -> Result<(), DomainError> {
    if security == Some(false) {
        return Err(DomainError::invalid(
            "securityEnabled",
            "only security groups are supported (securityEnabled true)",
        ));
    }
    if mail == Some(true) {
        return Err(DomainError::invalid(
            "mailEnabled",
            "mail-enabled groups are not supported (mailEnabled false)",
        ));
    }
    Ok(())
}

impl NewGroup {
    pub fn into_group(self, id: String, now: OffsetDateTime) -> Result<Group, DomainError> {
        kind_fields(self.security_enabled, self.mail_enabled)?;
        Ok(Group {
            id,
            display_name: display_name_field(self.display_name)?,
            description: description_field(self.description)?,
            mail_nickname: nickname_required(self.mail_nickname)?,
            security_enabled: true,
            mail_enabled: false,
            created: now,
        })
    }
}

/// A partial update. `description: Some(None)` clears it; the display
/// name and mail nickname can be changed but not cleared.
#[derive(Debug, Clone, Default)]
pub struct GroupPatch {
    pub display_name: Option<String>,
    pub description: Option<Option<String>>,
    pub mail_nickname: Option<String>,
    pub security_enabled: Option<bool>,
    pub mail_enabled: Option<bool>,
}

impl GroupPatch {
    pub fn is_empty(&self) -> bool {
        self.display_name.is_none()
            && self.description.is_none()
            && self.mail_nickname.is_none()
            && self.security_enabled.is_none()
            && self.mail_enabled.is_none()
    }

    pub fn apply(self, group: &Group) -> Result<Group, DomainError> {
        kind_fields(self.security_enabled, self.mail_enabled)?;
        let mut next = group.clone();
        if let Some(v) = self.display_name {
            next.display_name = display_name_field(Some(v))?;
        }
        if let Some(v) = self.description {
            next.description = description_field(v)?;
        }
        if let Some(v) = self.mail_nickname {
            next.mail_nickname = nickname_required(Some(v))?;
        }
        Ok(next)
    }
}

/// A group as `$filter`, `$search` and `$orderby` see it
/// ([`super::odata::schemas::GROUP`]).
impl super::odata::ODataRecord for Group {
    fn get(&self, property: &str) -> Option<super::odata::ODataValue<'_>> {
        use super::odata::ODataValue as V;
        match property {
            "id" => Some(V::Str(&self.id)),
            "displayName" => Some(V::Str(&self.display_name)),
            "description" => Some(self.description.as_deref().map_or(V::Null, V::Str)),
            "mailNickname" => Some(V::Str(&self.mail_nickname)),
            "securityEnabled" => Some(V::Bool(self.security_enabled)),
            "mailEnabled" => Some(V::Bool(self.mail_enabled)),
            "createdDateTime" => Some(V::DateTime(self.created)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

    fn new(name: &str, nick: &str) -> NewGroup {
        NewGroup {
            display_name: Some(name.into()),
            mail_nickname: Some(nick.into()),
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
    fn a_new_group_is_a_security_group_with_graphs_limits() {
        let g = new(" Engineering ", "eng")
            .into_group("g1".into(), NOW)
            .unwrap();
        assert_eq!(g.display_name, "Engineering");
        assert!(g.security_enabled && !g.mail_enabled);
        assert_eq!(g.description, None);
        let bad: [(NewGroup, &str); 8] = [
            (NewGroup::default(), "displayName"),
            (new("  ", "eng"), "displayName"),
            (new(&"x".repeat(257), "eng"), "displayName"),
            (
                NewGroup {
                    mail_nickname: None,
                    ..new("A", "a")
                },
                "mailNickname",
            ),
            (new("A", "has space"), "mailNickname"),
            (new("A", &"n".repeat(65)), "mailNickname"),
            (
                NewGroup {
                    mail_enabled: Some(true),
                    ..new("A", "a")
                },
                "mailEnabled",
            ),
            (
                NewGroup {
                    security_enabled: Some(false),
                    ..new("A", "a")
                },
                "securityEnabled",
            ),
        ];
        for (input, field) in bad {
            let err = input.into_group("g".into(), NOW).unwrap_err();
            assert_eq!(field_of(err), field);
        }
        for nick in ["a@b", "(x)", "a;b", "a,b", "x\\y", "é"] {
            assert!(
                new("A", nick).into_group("g".into(), NOW).is_err(),
                "{nick}"
            );
        }
        assert_eq!(
            new("A", "a.b-c_d'e")
                .into_group("g".into(), NOW)
                .unwrap()
                .mail_nickname,
            "a.b-c_d'e"
        );
        let long = NewGroup {
            description: Some("d".repeat(1025)),
            ..new("A", "a")
        };
        assert_eq!(
            field_of(long.into_group("g".into(), NOW).unwrap_err()),
            "description"
        );
        let ok = NewGroup {
            description: Some("d".repeat(1024)),
            security_enabled: Some(true),
            mail_enabled: Some(false),
            ..new(&"x".repeat(256), &"n".repeat(64))
        };
        assert!(ok.into_group("g".into(), NOW).is_ok());
    }

    #[test]
    fn patch_changes_clears_and_validates() {
        let g = NewGroup {
            description: Some("old".into()),
            ..new("A", "a")
        }
        .into_group("g1".into(), NOW)
        .unwrap();
        assert!(GroupPatch::default().is_empty());
        let p = GroupPatch {
            display_name: Some("B".into()),
            description: Some(None),
            ..Default::default()
        };
        let next = p.apply(&g).unwrap();
        assert_eq!((next.display_name.as_str(), next.description), ("B", None));
        assert_eq!(next.mail_nickname, "a");
        let empty_name = GroupPatch {
            display_name: Some(" ".into()),
            ..Default::default()
        };
        assert_eq!(field_of(empty_name.apply(&g).unwrap_err()), "displayName");
        let mail = GroupPatch {
            mail_enabled: Some(true),
            ..Default::default()
        };
        assert_eq!(field_of(mail.apply(&g).unwrap_err()), "mailEnabled");
    }

    #[test]
    fn order_is_by_name_ignoring_case_then_id() {
        let mut keys = vec![
            order_key("beta", "1"),
            order_key("Alpha", "9"),
            order_key("alpha", "2"),
            order_key("Alphabet", "0"),
        ];
        keys.sort();
        assert_eq!(
            keys,
            [
                order_key("alpha", "2"),
                order_key("Alpha", "9"),
                order_key("Alphabet", "0"),
                order_key("beta", "1"),
            ]
        );
    }
}
