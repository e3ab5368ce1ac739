//! The one set of rules for a client record, whether it is written in the
//! configuration file or registered by an administrator (API or portal).
//! Each side builds the [`Client`] it means and asks [`Client::validate`];
//! only checks of its own input (the file's secret forms, the API's display
//! name) stay with it.

use std::borrow::Cow;

use super::uri::{check_absolute_uri, check_fetched_uri, check_uri};
use super::{Client, ClientAuthMethod, ClientKeys, GrantType};
use crate::domain::DomainError;

/// A field of a client record, as named in an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientField {
    GrantTypes,
    Secret,
    Jwks,
    JwksUri,
    RedirectUris,
    PostLogoutRedirectUris,
    BackchannelLogoutUri,
    IntrospectionAudiences,
}

/// How an error names the field at fault: as the key of the configuration
/// file or as the admin API's property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldNames {
    /// `clients[2].redirect_uris[0]`: the `index`th `[[clients]]` table.
    Config { index: usize },
    /// `redirectUris`: the registration request's property (the whole list).
    Api,
}

impl FieldNames {
    /// The field as a whole: `clients[2].redirect_uris` or `redirectUris`.
    pub fn of(self, field: ClientField) -> Cow<'static, str> {
        let (key, property) = match field {
            ClientField::GrantTypes => ("grant_types", "grantTypes"),
            ClientField::Secret => ("secret", "clientSecret"),
            ClientField::Jwks => ("jwks", "jwks"),
            ClientField::JwksUri => ("jwks_uri", "jwksUri"),
            ClientField::RedirectUris => ("redirect_uris", "redirectUris"),
            ClientField::PostLogoutRedirectUris => {
                ("post_logout_redirect_uris", "postLogoutRedirectUris")
            }
            ClientField::BackchannelLogoutUri => ("backchannel_logout_uri", "backchannelLogoutUri"),
            ClientField::IntrospectionAudiences => {
                ("introspection_audiences", "introspectionAudiences")
            }
        };
        match self {
            FieldNames::Config { index } => format!("clients[{index}].{key}").into(),
            FieldNames::Api => property.into(),
        }
    }

    /// One entry of a list field: the file's key indexes it; the API's
    /// property names the list (as its error envelope always has).
    pub fn item(self, field: ClientField, i: usize) -> Cow<'static, str> {
        match self {
            FieldNames::Config { .. } => format!("{}[{i}]", self.of(field)).into(),
            FieldNames::Api => self.of(field),
        }
    }
}

impl Client {
    /// Checks the record against the rules every client follows; the error
    /// names the field at fault, spelled as `names` says.
    pub fn validate(&self, names: FieldNames) -> Result<(), DomainError> {
        self.check_grants(names)?;
        self.check_credentials(names)?;
        self.check_uris(names)?;
        if self.is_public() && !self.introspection_audiences.is_empty() {
            return Err(DomainError::invalid(
                names.of(ClientField::IntrospectionAudiences),
                "a public client cannot introspect tokens",
            ));
        }
        Ok(())
    }

    fn check_grants(&self, names: FieldNames) -> Result<(), DomainError> {
        let field = || names.of(ClientField::GrantTypes);
        if self.grant_types.is_empty() {
            return Err(DomainError::invalid(
                field(),
                "must name at least one grant type",
            ));
        }
        // A refresh token only ever comes from a code exchange.
        if self.allows_grant(GrantType::RefreshToken)
            && !self.allows_grant(GrantType::AuthorizationCode)
        {
            return Err(DomainError::invalid(
                field(),
                "refresh_token needs authorization_code",
            ));
        }
        if self.is_public() && self.allows_grant(GrantType::ClientCredentials) {
            return Err(DomainError::invalid(
                field(),
                "a public client (token endpoint auth method none) cannot use client_credentials",
            ));
        }
        Ok(())
    }

    /// What the client authenticates with matches its auth method.
    fn check_credentials(&self, names: FieldNames) -> Result<(), DomainError> {
        let secret = |m: &'static str| Err(DomainError::invalid(names.of(ClientField::Secret), m));
        let has_secret = self.secret_sha256.is_some();
        match self.auth_method {
            ClientAuthMethod::None if has_secret => {
                secret("a public client (token endpoint auth method none) has no secret")
            }
            ClientAuthMethod::PrivateKeyJwt if has_secret => {
                secret("a private_key_jwt client has no secret")
            }
            ClientAuthMethod::PrivateKeyJwt => self.check_keys(names),
            ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost
                if !has_secret =>
            {
                secret("a confidential client needs secret or secret_sha256")
            }
            _ => Ok(()),
        }
    }

    /// A `private_key_jwt` client's keys: a JWK Set with a key, or a URL.
    fn check_keys(&self, names: FieldNames) -> Result<(), DomainError> {
        match &self.jwks {
            None => Err(DomainError::invalid(
                names.of(ClientField::Jwks),
                "private_key_jwt needs jwks (a JWK Set as JSON text) or jwks_uri (the URL serving it)",
            )),
            Some(ClientKeys::Inline(text)) => {
                // Only the JSON shape of a JWK Set: no key is used here.
                let parsed = serde_json::from_str::<jsonwebtoken::jwk::JwkSet>(text);
                if matches!(parsed, Ok(ref set) if !set.keys.is_empty()) {
                    Ok(())
                } else {
                    Err(DomainError::invalid(
                        names.of(ClientField::Jwks),
                        "private_key_jwt needs a JWK Set with at least one key (JSON text)",
                    ))
                }
            }
            Some(ClientKeys::Uri { jwks_uri }) => {
                check_fetched_uri(names.of(ClientField::JwksUri), jwks_uri)
            }
        }
    }

    fn check_uris(&self, names: FieldNames) -> Result<(), DomainError> {
        if self.allows_grant(GrantType::AuthorizationCode) && self.redirect_uris.is_empty() {
            return Err(DomainError::invalid(
                names.of(ClientField::RedirectUris),
                "authorization_code needs at least one redirect URI",
            ));
        }
        for (field, uris) in [
            (ClientField::RedirectUris, &self.redirect_uris),
            (
                ClientField::PostLogoutRedirectUris,
                &self.post_logout_redirect_uris,
            ),
        ] {
            for (i, uri) in uris.iter().enumerate() {
                check_uri(names.item(field, i), uri)?;
            }
        }
        if let Some(uri) = &self.backchannel_logout_uri {
            check_absolute_uri(names.of(ClientField::BackchannelLogoutUri), uri)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::client::SigningAlg;

    const CONFIG: FieldNames = FieldNames::Config { index: 2 };

    /// A confidential web app with a code flow and refresh tokens.
    fn web_app() -> Client {
        Client {
            id: "web".into(),
            name: None,
            secret_sha256: Some([1; 32]),
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec!["https://app.example/".into()],
            backchannel_logout_uri: None,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            auth_method: ClientAuthMethod::ClientSecretBasic,
            id_token_alg: SigningAlg::RS256,
            access_token_alg: SigningAlg::ES256,
            permissions: vec![],
            delegated_permissions: vec![],
            jwks: None,
            introspection_audiences: vec![],
        }
    }

    /// The field and message of the refusal, spelled the configuration's way.
    fn refusal(c: &Client) -> (String, String) {
        match c.validate(CONFIG) {
            Err(DomainError::Invalid { field, message }) => (field.into(), message.into()),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn each_rule_is_refused_naming_the_field() {
        assert_eq!(web_app().validate(CONFIG), Ok(()));
        let cases: Vec<(Client, &str, &str)> = vec![
            (
                Client {
                    redirect_uris: vec![
                        "https://app.example/cb".into(),
                        "http://app.example/cb".into(),
                    ],
                    ..web_app()
                },
                "clients[2].redirect_uris[1]",
                "must be https",
            ),
            (
                Client {
                    post_logout_redirect_uris: vec!["http://app.example/".into()],
                    ..web_app()
                },
                "clients[2].post_logout_redirect_uris[0]",
                "must be https",
            ),
            (
                Client {
                    redirect_uris: vec!["https://app.example/cb#top".into()],
                    ..web_app()
                },
                "clients[2].redirect_uris[0]",
                "https://host",
            ),
            (
                Client {
                    redirect_uris: vec!["com.example.app:/cb".into()],
                    ..web_app()
                },
                "clients[2].redirect_uris[0]",
                "https://host",
            ),
            (
                Client {
                    redirect_uris: vec![],
                    ..web_app()
                },
                "clients[2].redirect_uris",
                "authorization_code needs at least one redirect URI",
            ),
            (
                Client {
                    grant_types: vec![GrantType::RefreshToken],
                    ..web_app()
                },
                "clients[2].grant_types",
                "refresh_token needs authorization_code",
            ),
            (
                Client {
                    grant_types: vec![GrantType::ClientCredentials, GrantType::RefreshToken],
                    ..web_app()
                },
                "clients[2].grant_types",
                "refresh_token needs authorization_code",
            ),
            (
                Client {
                    grant_types: vec![],
                    ..web_app()
                },
                "clients[2].grant_types",
                "at least one grant type",
            ),
            (
                Client {
                    auth_method: ClientAuthMethod::None,
                    grant_types: vec![GrantType::ClientCredentials],
                    secret_sha256: None,
                    ..web_app()
                },
                "clients[2].grant_types",
                "cannot use client_credentials",
            ),
            (
                Client {
                    auth_method: ClientAuthMethod::None,
                    ..web_app()
                },
                "clients[2].secret",
                "has no secret",
            ),
            (
                Client {
                    secret_sha256: None,
                    ..web_app()
                },
                "clients[2].secret",
                "needs secret",
            ),
            (
                Client {
                    auth_method: ClientAuthMethod::PrivateKeyJwt,
                    secret_sha256: None,
                    ..web_app()
                },
                "clients[2].jwks",
                "jwks_uri",
            ),
            (
                Client {
                    auth_method: ClientAuthMethod::PrivateKeyJwt,
                    secret_sha256: None,
                    jwks: Some(ClientKeys::Inline(r#"{"keys":[]}"#.into())),
                    ..web_app()
                },
                "clients[2].jwks",
                "at least one key",
            ),
            (
                Client {
                    auth_method: ClientAuthMethod::PrivateKeyJwt,
                    secret_sha256: None,
                    jwks: Some(ClientKeys::Uri {
                        jwks_uri: "http://keys.example/jwks".into(),
                    }),
                    ..web_app()
                },
                "clients[2].jwks_uri",
                "must be https",
            ),
            (
                Client {
                    backchannel_logout_uri: Some("https://app.example/bc#x".into()),
                    ..web_app()
                },
                "clients[2].backchannel_logout_uri",
                "fragment",
            ),
            (
                Client {
                    auth_method: ClientAuthMethod::None,
                    secret_sha256: None,
                    introspection_audiences: vec!["https://id.example".into()],
                    ..web_app()
                },
                "clients[2].introspection_audiences",
                "cannot introspect",
            ),
        ];
        for (client, field, message) in cases {
            let (f, m) = refusal(&client);
            assert_eq!(f, field, "{m}");
            assert!(m.contains(message), "{field}: {m}");
        }
    }

    #[test]
    fn http_is_accepted_on_the_loopback_host_only() {
        for uri in [
            "http://localhost:3000/callback",
            "http://127.0.0.1:9/cb",
            "http://[::1]:8400",
        ] {
            let c = Client {
                redirect_uris: vec![uri.into()],
                post_logout_redirect_uris: vec![uri.into()],
                ..web_app()
            };
            assert_eq!(c.validate(CONFIG), Ok(()), "{uri}");
        }
        let keys = |jwks_uri: &str| Client {
            auth_method: ClientAuthMethod::PrivateKeyJwt,
            secret_sha256: None,
            jwks: Some(ClientKeys::Uri {
                jwks_uri: jwks_uri.into(),
            }),
            ..web_app()
        };
        assert_eq!(keys("http://127.0.0.1:9/k").validate(CONFIG), Ok(()));
        assert_eq!(keys("https://keys.example/jwks").validate(CONFIG), Ok(()));
        for other in ["http://10.0.0.1/cb", "http://localhost.example/cb"] {
            let c = Client {
                redirect_uris: vec![other.into()],
                ..web_app()
            };
            assert_eq!(refusal(&c).0, "clients[2].redirect_uris[0]", "{other}");
        }
    }

    #[test]
    fn the_api_names_its_properties() {
        let c = Client {
            redirect_uris: vec!["http://app.example/cb".into()],
            ..web_app()
        };
        assert!(matches!(
            c.validate(FieldNames::Api),
            Err(DomainError::Invalid { field, .. }) if field == "redirectUris"
        ));
        let c = Client {
            grant_types: vec![GrantType::RefreshToken],
            ..web_app()
        };
        assert!(matches!(
            c.validate(FieldNames::Api),
            Err(DomainError::Invalid { field, .. }) if field == "grantTypes"
        ));
    }
}
