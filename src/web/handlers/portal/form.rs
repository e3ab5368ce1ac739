//! A portal form as entered and its error, for pages that show the error
//! next to its field (in plain words, `aria-invalid`, `aria-describedby`)
//! and in a summary at the top, and keep what was typed, instead of a
//! separate page in the API's words. Every portal form with values to type
//! goes through this (templates: `admin/fields.html`).

use actix_web::http::StatusCode;

use super::FormPairs;
use crate::domain::DomainError;
use crate::web::error::{Family, problem};

/// A form field: its input name, the API's name for it (errors name that),
/// and how a message names it.
#[derive(Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub api: &'static str,
    pub label: &'static str,
}

/// What the service refused, as the form shows it.
struct Refusal {
    /// The input it is about; `None`: the form as a whole.
    field: Option<&'static str>,
    message: String,
    status: StatusCode,
}

/// What a form shows: its values and at most one error (the first the
/// service found).
#[derive(Default)]
pub struct FormState {
    values: Vec<(&'static str, String)>,
    error: Option<Refusal>,
}

impl FormState {
    /// The form with `name` set to `value`.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.values.push((name, value.into()));
        self
    }

    /// The form with the checkbox `name` ticked or not.
    pub fn ticked(self, name: &'static str, on: bool) -> Self {
        self.with(name, if on { "yes" } else { "" })
    }

    /// The values a posted form holds for `fields` (an unticked checkbox
    /// holds none).
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

    /// Whether the checkbox `name` is ticked (its value is "yes").
    pub fn checked(&self, name: &str) -> bool {
        self.value(name) == "yes"
    }

    /// The error beside the input `name`, if it has one.
    pub fn error(&self, name: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|r| r.field == Some(name))
            .map(|r| r.message.as_str())
    }

    pub fn has_error(&self) -> bool {
        self.error.is_some()
    }

    /// The error for the summary at the top: the input it is about (none
    /// for the form as a whole) and its message.
    pub fn summary(&self) -> Option<(Option<&str>, &str)> {
        self.error.as_ref().map(|r| (r.field, r.message.as_str()))
    }

    /// The page's status: 200, or the refusal's (400; 409 for a conflict).
    pub fn status(&self) -> StatusCode {
        self.error.as_ref().map_or(StatusCode::OK, |r| r.status)
    }

    /// This form with `e` next to the field it names (a refusal of no
    /// field goes to the summary alone), or `e` back when it is no refusal
    /// of what was entered (not allowed, not found, unavailable: the page
    /// explains it the usual way). `conflict` is the field a conflict that
    /// names none is about (a member added twice).
    pub fn failed(
        mut self,
        e: DomainError,
        fields: &[Field],
        conflict: Option<&'static str>,
    ) -> Result<Self, DomainError> {
        let (field, message) = match &e {
            DomainError::Invalid { field, message } => invalid(field, message, fields),
            DomainError::Conflict(message) => {
                // Graph's words for a taken value name its property.
                match fields
                    .iter()
                    .find(|f| message.contains(&format!("property {} ", f.api)))
                {
                    Some(f) => (Some(f.name), format!("{} is already in use.", f.label)),
                    None => (conflict, sentence(&plain(message))),
                }
            }
            _ => return Err(e),
        };
        // The status is web/error.rs's (ARCHITECTURE.md, "Layers").
        let status = problem(Family::Portal, &e).status;
        self.error = Some(Refusal {
            field,
            message,
            status,
        });
        Ok(self)
    }
}

/// A refused value: the field it belongs to and the message in plain words.
fn invalid(api_field: &str, message: &str, fields: &[Field]) -> (Option<&'static str>, String) {
    // `redirectUris[2]` is the third line of its field.
    let (api, index) = match api_field.split_once('[') {
        Some((api, rest)) => (api, rest.trim_end_matches(']').parse::<usize>().ok()),
        None => (api_field, None),
    };
    match fields.iter().find(|f| f.api == api || f.name == api) {
        Some(f) => {
            let what = match index {
                Some(i) => format!("{}, line {},", f.label, i + 1),
                None => f.label.to_owned(),
            };
            (Some(f.name), about(&what, message))
        }
        None => (None, about(&in_words(api), message)),
    }
}

/// `message` about what `label` names, as one plain sentence: "Lifetime
/// must be between 10 and 43,200 minutes."; a message that is a sentence
/// of its own ("there is no user x") stands alone.
fn about(label: &str, message: &str) -> String {
    const PREDICATES: [&str; 12] = [
        "must ", "is ", "are ", "may ", "has ", "have ", "need ", "needs ", "cannot ", "can ",
        "should ", "`",
    ];
    let m = plain(message);
    if PREDICATES.iter().any(|p| m.starts_with(p)) {
        format!("{label} {m}.")
    } else if let Some(rest) = m.strip_prefix("at most ") {
        format!("{label} can have at most {rest}.")
    } else {
        sentence(&m)
    }
}

/// A service message without the API's words: an aside that names API
/// properties ("(tenant policy minimumLifetimeInMinutes..)") is dropped,
/// booleans are boxes ticked or not, and large numbers are grouped
/// ("43,200"). Other asides stay: they say what to do.
fn plain(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(" (") {
        let Some(len) = rest[start..].find(')') else {
            break;
        };
        let aside = &rest[start + 2..start + len];
        out.push_str(&rest[..start]);
        if !is_api_words(aside) {
            out.push_str(&rest[start..=start + len]);
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    let out = out
        .replace("must be true", "must be ticked")
        .replace("must be false", "must not be ticked");
    group_digits(out.trim_end_matches('.'))
}

/// An aside in the API's terms: a property name (`camelCase`) or a range
/// of them (`a..b`).
fn is_api_words(s: &str) -> bool {
    s.contains("..")
        || s.as_bytes()
            .windows(2)
            .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
}

/// Numbers of five digits or more with thousands separators, outside
/// `quoted values` and words (a port or an id stays as it is).
fn group_digits(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let mut quoted = false;
    let mut chars = s.char_indices().peekable();
    let mut prev: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        if c == '`' {
            quoted = !quoted;
        }
        let starts_word = prev.is_none_or(|p| p == ' ' || p == '(');
        if c.is_ascii_digit() && !quoted && starts_word {
            let end = s[i..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(s.len(), |n| i + n);
            let digits = &s[i..end];
            let ends_word = s[end..]
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c == ',' || c == ')' || c == '.' || c == ';');
            if digits.len() >= 5 && ends_word {
                let head = digits.len() % 3;
                for (n, d) in digits.chars().enumerate() {
                    if n > 0 && (n + 3 - head).is_multiple_of(3) {
                        out.push(',');
                    }
                    out.push(d);
                }
            } else {
                out.push_str(digits);
            }
            for _ in 1..digits.len() {
                chars.next();
            }
            prev = digits.chars().last();
            continue;
        }
        out.push(c);
        prev = Some(c);
    }
    out
}

/// An API property name in words, for a refusal of no field of the form:
/// `attestationTrustAnchors` reads "Attestation trust anchors".
fn in_words(api: &str) -> String {
    let mut out = String::with_capacity(api.len() + 4);
    for c in api.chars() {
        match c {
            '.' | '_' => out.push(' '),
            c if c.is_ascii_uppercase() => {
                out.push(' ');
                out.push(c.to_ascii_lowercase());
            }
            c => out.push(c),
        }
    }
    let mut chars = out.trim().chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `message` as a sentence: a capital first (unless it starts with a
/// value such as `authorization_code`) and a full stop.
fn sentence(message: &str) -> String {
    let m = message.trim_end_matches('.');
    let first_word = m.split(' ').next().unwrap_or_default();
    let code = first_word.contains(['_', '`', '/', '@']);
    let mut chars = m.chars();
    let s = match chars.next() {
        Some(c) if !code => c.to_uppercase().chain(chars).collect(),
        _ => m.to_owned(),
    };
    format!("{s}.")
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
        Field {
            name: "upn",
            api: "userPrincipalName",
            label: "User name",
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
        assert_eq!(f.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            f.summary(),
            Some((
                Some("lifetime"),
                "Lifetime must be between 60 and 480 minutes."
            ))
        );

        let e = DomainError::invalid("redirectUris[1]", "must use https");
        let f = FormState::default().failed(e, FIELDS, None).unwrap();
        assert_eq!(
            f.error("redirect_uris"),
            Some("Redirect URIs, line 2, must use https.")
        );
    }

    #[test]
    fn messages_read_as_sentences() {
        let said = |message: &str| about("Minimum lifetime", message);
        assert_eq!(
            said("must be between 10 and 43200 minutes"),
            "Minimum lifetime must be between 10 and 43,200 minutes."
        );
        assert_eq!(
            said("there is no user bob@example.com"),
            "There is no user bob@example.com."
        );
        assert_eq!(
            said("at most 500 targets"),
            "Minimum lifetime can have at most 500 targets."
        );
        assert_eq!(
            about(
                "One-time use",
                "must be true: the tenant policy makes every pass one-time (isUsableOnce)"
            ),
            "One-time use must be ticked: the tenant policy makes every pass one-time."
        );
        // Asides that say what to do stay, wherever they are.
        assert_eq!(
            about(
                "URL",
                "must be https (http only to localhost, 127.0.0.1 or [::1])"
            ),
            "URL must be https (http only to localhost, 127.0.0.1 or [::1])."
        );
        assert_eq!(
            about(
                "Token endpoint authentication",
                "a public client (token endpoint auth method none) cannot use client_credentials"
            ),
            "A public client (token endpoint auth method none) cannot use client_credentials."
        );
        assert_eq!(
            about(
                "Grant types",
                "authorization_code needs at least one redirect URI"
            ),
            "authorization_code needs at least one redirect URI."
        );
        // Quoted values and numbers inside words stay as they are.
        assert_eq!(
            about(
                "Redirect URIs",
                "`https://a.example:44300/cb` must not have a fragment"
            ),
            "Redirect URIs `https://a.example:44300/cb` must not have a fragment."
        );
        assert_eq!(
            group_digits("between 10 and 1440, or 86400."),
            "between 10 and 1440, or 86,400."
        );
        assert_eq!(group_digits("1234567 ids x12345"), "1,234,567 ids x12345");
        assert_eq!(
            in_words("keyRestrictions.aaGuids"),
            "Key restrictions aa guids"
        );
    }

    #[test]
    fn a_refusal_of_no_field_goes_to_the_summary() {
        let e = DomainError::invalid("somethingElse", "is wrong");
        let f = FormState::default().failed(e, FIELDS, None).unwrap();
        assert_eq!(f.summary(), Some((None, "Something else is wrong.")));
        assert_eq!(f.error("lifetime"), None);
        assert_eq!(f.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn conflicts_are_409_beside_the_field_they_name() {
        let e = DomainError::Conflict(
            "Another object with the same value for property userPrincipalName already exists."
                .into(),
        );
        let f = FormState::default().failed(e, FIELDS, None).unwrap();
        assert_eq!(f.error("upn"), Some("User name is already in use."));
        assert_eq!(f.status(), StatusCode::CONFLICT);
        let e = DomainError::Conflict(
            "the group was changed by someone else meanwhile; reload and retry".into(),
        );
        let f = FormState::default()
            .failed(e.clone(), FIELDS, None)
            .unwrap();
        assert_eq!(
            f.summary(),
            Some((
                None,
                "The group was changed by someone else meanwhile; reload and retry."
            ))
        );
        assert_eq!(f.status(), StatusCode::CONFLICT);
        let f = FormState::default().failed(e, FIELDS, Some("upn")).unwrap();
        assert!(f.error("upn").is_some());
    }

    #[test]
    fn what_is_not_about_the_values_is_handed_back() {
        for e in [
            DomainError::Forbidden("no".into()),
            DomainError::NotFound("user"),
            DomainError::Unavailable("down".into()),
        ] {
            assert_eq!(
                FormState::default().failed(e.clone(), FIELDS, None).err(),
                Some(e)
            );
        }
    }
}
