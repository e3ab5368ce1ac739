//! Standard claims about a user (OIDC Core §5.1), by scope or by name
//! (the `claims` request parameter, §5.5).

use serde_json::{Map, Value};

use super::DomainError;
use super::user::User;

/// The user claims we can release.
pub const USER_CLAIMS: [&str; 6] = [
    "name",
    "preferred_username",
    "given_name",
    "family_name",
    "email",
    "email_verified",
];

/// Claims a scope stands for (OIDC Core §5.4).
pub fn for_scope(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &["name", "preferred_username", "given_name", "family_name"],
        "email" => &["email", "email_verified"],
        _ => &[],
    }
}

/// Adds the named claims the user has to `out`.
pub fn add(out: &mut Map<String, Value>, user: &User, names: &[&str]) {
    for name in names {
        let value = match *name {
            "name" => Some(Value::String(user.display_name.clone())),
            "preferred_username" => Some(Value::String(user.upn.to_string())),
            "given_name" => user.given_name.clone().map(Value::String),
            "family_name" => user.surname.clone().map(Value::String),
            "email" => user.mail.clone().map(Value::String),
            // Mail comes from the directory (the HR system), not from the person.
            "email_verified" => user.mail.as_ref().map(|_| Value::Bool(true)),
            _ => None,
        };
        if let Some(v) = value {
            out.insert((*name).to_owned(), v);
        }
    }
}

/// Requested claims from the `claims` parameter: (for the ID token, for
/// userinfo, whether `acr` was asked for). Unknown claims are ignored.
pub fn parse_request(json: &str) -> Result<(Vec<String>, Vec<String>, bool), DomainError> {
    let bad = || {
        DomainError::invalid(
            "claims",
            "must be a JSON object with id_token and/or userinfo members",
        )
    };
    let value: Value = serde_json::from_str(json).map_err(|_| bad())?;
    let object = value.as_object().ok_or_else(bad)?;
    let mut acr = false;
    let mut pick = |member: &str| -> Result<Vec<String>, DomainError> {
        match object.get(member) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Object(m)) => {
                acr |= m.contains_key("acr");
                Ok(m.keys()
                    .filter(|k| USER_CLAIMS.contains(&k.as_str()))
                    .cloned()
                    .collect())
            }
            Some(_) => Err(bad()),
        }
    };
    let id_token = pick("id_token")?;
    let userinfo = pick("userinfo")?;
    Ok((id_token, userinfo, acr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_parameter_is_parsed() {
        let (id, ui, acr) = parse_request(r#"{"userinfo":{"name":{"essential":true},"nickname":null},"id_token":{"email":null,"acr":{"values":["phr"]}}}"#).unwrap();
        assert_eq!(id, ["email"]);
        assert_eq!(ui, ["name"]);
        assert!(acr);
        assert!(parse_request("[1]").is_err());
        assert!(parse_request(r#"{"userinfo": 3}"#).is_err());
    }
}
