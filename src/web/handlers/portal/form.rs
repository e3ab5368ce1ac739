//! A portal form as entered and its error, for pages that show the error
//! next to its field (in plain words, `aria-invalid`, `aria-describedby`)
//! and keep what was typed, instead of a separate page in the API's words.

use std::borrow::Cow;

use super::FormPairs;
use crate::domain::DomainError;

/// A form field: its input name, the API's name for it (errors name that),
/// and its label.
pub struct Field {
    pub name: &'static str,
    pub api: &'static str,
    pub label: &'static str,
}

/// What a form shows: its values and at most one error (the first the
/// service found).
#[derive(Default)]
pub struct FormState {
    values: Vec<(&'static str, String)>,
    error: Option<(&'static str, String)>,
}

impl FormState {
    /// The form with `name` set to `value`.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.values.push((name, value.into()));
        self
    }

    /// The values a posted form holds for `fields`.
    pub fn entered(form: &FormPairs, fields: &[Field]) -> Self {
        let values = fields
            .iter()
            .map(|f| (f.name, form.one(f.name).unwrap_or_default().to_owned()))
            .collect();
        Self {
            values,
            error: None,
        }
    }

    pub fn value(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn error(&self, name: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(n, _)| *n == name)
            .map(|(_, m)| m.as_str())
    }

    pub fn has_error(&self) -> bool {
        self.error.is_some()
    }

    /// This form with `e` next to the field it names, or `e` back when it
    /// names none of `fields` (the page explains it the usual way).
    /// `conflict` is the field a conflict (a taken user name) is about.
    pub fn failed(
        mut self,
        e: DomainError,
        fields: &[Field],
        conflict: Option<&'static str>,
    ) -> Result<Self, DomainError> {
        let (name, message) = match &e {
            DomainError::Invalid { field, message } => {
                // `redirectUris[2]` is the third line of its field.
                let (api, index) = match field.split_once('[') {
                    Some((api, rest)) => (api, rest.trim_end_matches(']').parse::<usize>().ok()),
                    None => (field.as_ref(), None),
                };
                let Some(f) = fields.iter().find(|f| f.api == api || f.name == api) else {
                    return Err(e);
                };
                let what: Cow<'_, str> = match index {
                    Some(i) => format!("{}, line {},", f.label, i + 1).into(),
                    None => f.label.into(),
                };
                (f.name, format!("{what} {}.", plain(message)))
            }
            DomainError::Conflict(message) => match conflict {
                Some(name) => (name, sentence(message)),
                None => return Err(e),
            },
            _ => return Err(e),
        };
        self.error = Some((name, message));
        Ok(self)
    }
}

/// A service message without the API's asides: "must be between 10 and
/// 480 minutes (tenant policy minimumLifetimeInMinutes..)" reads "must be
/// between 10 and 480 minutes".
fn plain(message: &str) -> &str {
    message
        .split(" (")
        .next()
        .unwrap_or(message)
        .trim_end_matches('.')
}

fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
    let rest: String = chars.collect();
    let s = format!("{}{rest}", first.unwrap_or_default());
    if s.ends_with('.') { s } else { format!("{s}.") }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[Field] = &[
        Field {
            name: "lifetime",
            api: "lifetimeInMinutes",
            label: "Lifetime",
        },
        Field {
            name: "redirect_uris",
            api: "redirectUris",
            label: "Redirect URIs",
        },
    ];

    #[test]
    fn an_api_error_is_put_next_to_its_field_in_plain_words() {
        let e = DomainError::invalid(
            "lifetimeInMinutes",
            "must be between 60 and 480 minutes (tenant policy minimumLifetimeInMinutes..maximumLifetimeInMinutes)",
        );
        let f = FormState::default()
            .with("lifetime", "5")
            .failed(e, FIELDS, None)
            .unwrap();
        assert_eq!(
            f.error("lifetime"),
            Some("Lifetime must be between 60 and 480 minutes.")
        );
        assert_eq!(f.value("lifetime"), "5");
        assert_eq!(f.error("redirect_uris"), None);

        let e = DomainError::invalid("redirectUris[1]", "must use https");
        let f = FormState::default().failed(e, FIELDS, None).unwrap();
        assert_eq!(
            f.error("redirect_uris"),
            Some("Redirect URIs, line 2, must use https.")
        );
    }

    #[test]
    fn errors_of_no_field_are_handed_back() {
        let e = DomainError::invalid("somethingElse", "is wrong");
        assert_eq!(
            FormState::default().failed(e.clone(), FIELDS, None).err(),
            Some(e)
        );
        let e = DomainError::Conflict("that user name is taken".into());
        assert!(
            FormState::default()
                .failed(e.clone(), FIELDS, None)
                .is_err()
        );
        let f = FormState::default().failed(e, FIELDS, Some("upn")).unwrap();
        assert_eq!(f.error("upn"), Some("That user name is taken."));
    }
}
