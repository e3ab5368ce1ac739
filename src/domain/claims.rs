//! Standard claims about a user (OIDC Core §5.1), by scope or by name
//! (the `claims` request parameter, §5.5).

use serde_json::{Map, Value};

use super::DomainError;
use super::user::{Contact, User};

/// The user claims we can release.
pub const USER_CLAIMS: [&str; 9] = [
    "name",
    "preferred_username",
    "given_name",
    "family_name",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    "address",
];

/// Claims a scope stands for (OIDC Core §5.4).
pub fn for_scope(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &["name", "preferred_username", "given_name", "family_name"],
        "email" => &["email", "email_verified"],
        "phone" => &["phone_number", "phone_number_verified"],
        "address" => &["address"],
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
            "phone_number" => user.contact.mobile_phone.clone().map(Value::String),
            // Nobody proved owning the number to us: the directory says so.
            "phone_number_verified" => user
                .contact
                .mobile_phone
                .as_ref()
                .map(|_| Value::Bool(false)),
            "address" => address(&user.contact),
            _ => None,
        };
        if let Some(v) = value {
            out.insert((*name).to_owned(), v);
        }
    }
}

/// The `address` claim (OIDC Core §5.1.1) with the parts the user has, and
/// `formatted` built from them; `None` when the user has none.
fn address(c: &Contact) -> Option<Value> {
    let parts = [
        ("street_address", &c.street_address),
        ("locality", &c.city),
        ("region", &c.state),
        ("postal_code", &c.postal_code),
        ("country", &c.country),
    ];
    let mut out = Map::new();
    for (name, value) in parts {
        if let Some(v) = value {
            out.insert(name.to_owned(), Value::String(v.clone()));
        }
    }
    if out.is_empty() {
        return None;
    }
    // Lines: street; "locality, region postal_code"; country.
    let region = join(&[c.state.as_deref(), c.postal_code.as_deref()], " ");
    let place = join(&[c.city.as_deref(), Some(&region)], ", ");
    let formatted = join(
        &[
            c.street_address.as_deref(),
            Some(&place),
            c.country.as_deref(),
        ],
        "\n",
    );
    out.insert("formatted".into(), Value::String(formatted));
    Some(Value::Object(out))
}

/// The present, non-empty parts joined by `sep`.
fn join(parts: &[Option<&str>], sep: &str) -> String {
    parts
        .iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(sep)
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
        let (id, _, _) =
            parse_request(r#"{"id_token":{"address":null,"phone_number":null}}"#).unwrap();
        assert_eq!(id, ["address", "phone_number"]);
    }

    fn user(contact: Contact) -> User {
        crate::domain::user::NewUser {
            upn: "a@b.c".into(),
            display_name: "A".into(),
            contact,
            ..Default::default()
        }
        .into_user("id".into(), time::OffsetDateTime::UNIX_EPOCH)
        .unwrap()
    }

    #[test]
    fn phone_and_address_claims_only_when_the_user_has_them() {
        let names: Vec<&str> = ["phone", "address"]
            .iter()
            .flat_map(|s| for_scope(s))
            .copied()
            .collect();
        let mut out = Map::new();
        add(&mut out, &user(Contact::default()), &names);
        assert!(out.is_empty());

        let full = user(Contact {
            mobile_phone: Some("+1 425 555 0100".into()),
            street_address: Some("1 Microsoft Way".into()),
            city: Some("Redmond".into()),
            state: Some("WA".into()),
            postal_code: Some("98052".into()),
            country: Some("US".into()),
        });
        let mut out = Map::new();
        add(&mut out, &full, &names);
        assert_eq!(
            Value::Object(out),
            serde_json::json!({
                "phone_number": "+1 425 555 0100",
                "phone_number_verified": false,
                "address": {
                    "street_address": "1 Microsoft Way",
                    "locality": "Redmond",
                    "region": "WA",
                    "postal_code": "98052",
                    "country": "US",
                    "formatted": "1 Microsoft Way\nRedmond, WA 98052\nUS",
                },
            })
        );

        let city_only = user(Contact {
            city: Some("Oslo".into()),
            ..Default::default()
        });
        let mut out = Map::new();
        add(&mut out, &city_only, &["address"]);
        assert_eq!(
            out["address"],
            serde_json::json!({"locality": "Oslo", "formatted": "Oslo"})
        );
    }
}

/// Property tests (`prop_*`; `PROPTEST_CASES` sets the number of cases).
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// A claim name: one we release, `acr`, or another.
    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::sample::select(USER_CLAIMS.to_vec()).prop_map(str::to_owned),
            Just("acr".to_owned()),
            Just("sub".to_owned()),
            "[a-z_]{1,12}",
        ]
    }

    /// What a claim may ask (null, essential, values) or any JSON.
    fn request_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            Just(serde_json::json!({"essential": true})),
            Just(serde_json::json!({"values": ["phr", "phrh"]})),
            any::<i64>().prop_map(Value::from),
            "[a-z]{0,5}".prop_map(Value::from),
        ]
    }

    /// A member: an object of claims (usually), null, or something invalid.
    fn member() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            6 => proptest::collection::vec((name(), request_value()), 0..6)
                .prop_map(|m| Some(Value::Object(m.into_iter().collect()))),
            1 => Just(Some(Value::Null)),
            1 => Just(None),
            1 => prop_oneof![Just(serde_json::json!([])), Just(serde_json::json!("x")), Just(serde_json::json!(1))]
                .prop_map(Some),
        ]
    }

    fn expected_names(member: &Option<Value>) -> Vec<String> {
        match member {
            Some(Value::Object(m)) => m
                .keys()
                .filter(|k| USER_CLAIMS.contains(&k.as_str()))
                .cloned()
                .collect(),
            _ => Vec::new(),
        }
    }

    fn asks_acr(member: &Option<Value>) -> bool {
        matches!(member, Some(Value::Object(m)) if m.contains_key("acr"))
    }

    fn valid(member: &Option<Value>) -> bool {
        matches!(member, None | Some(Value::Null) | Some(Value::Object(_)))
    }

    proptest! {
        #[test]
        fn prop_claims_parse_never_panics(s in any::<String>()) {
            let _ = parse_request(&s);
        }

        #[test]
        fn prop_claims_parse_near_json_never_panics(s in "[{}\\[\\]\":, a-z_0-9]{0,80}") {
            if let Ok((id, ui, _)) = parse_request(&s) {
                prop_assert!(id.iter().chain(&ui).all(|n| USER_CLAIMS.contains(&n.as_str())));
            }
        }

        #[test]
        fn prop_claims_parse_picks_the_known_names(
            id_token in member(),
            userinfo in member(),
            extra in proptest::collection::vec(("[a-z_]{1,8}", request_value()), 0..3),
        ) {
            let mut object: Map<String, Value> = extra
                .into_iter()
                .filter(|(k, _)| k != "id_token" && k != "userinfo")
                .collect();
            if let Some(v) = &id_token {
                object.insert("id_token".into(), v.clone());
            }
            if let Some(v) = &userinfo {
                object.insert("userinfo".into(), v.clone());
            }
            let text = Value::Object(object).to_string();
            let parsed = parse_request(&text);
            if !(valid(&id_token) && valid(&userinfo)) {
                prop_assert!(parsed.is_err(), "{}", text);
                return Ok(());
            }
            let (id, ui, acr) = parsed.map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(id, expected_names(&id_token));
            prop_assert_eq!(ui, expected_names(&userinfo));
            prop_assert_eq!(acr, asks_acr(&id_token) || asks_acr(&userinfo));
        }
    }
}
