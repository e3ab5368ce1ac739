//! Relying parties registered by an administrator (API or portal), as
//! opposed to the ones written into the configuration file.

use super::DomainError;
use super::client::{Client, ClientAuthMethod, GrantType, SigningAlg};

/// What an administrator asks for when registering a relying party.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub auth_method: Option<ClientAuthMethod>,
}

impl NewClient {
    /// The auth method, `client_secret_basic` unless given.
    pub fn auth_method(&self) -> ClientAuthMethod {
        self.auth_method
            .unwrap_or(ClientAuthMethod::ClientSecretBasic)
    }

    /// Checks the registration; errors name the API field at fault.
    pub fn validate(&self) -> Result<(), DomainError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(DomainError::invalid(
                "displayName",
                "must be 1 to 100 characters",
            ));
        }
        let method = self.auth_method();
        if method == ClientAuthMethod::PrivateKeyJwt {
            // Registration has no JWKS field yet; config clients can use it.
            return Err(DomainError::invalid(
                "tokenEndpointAuthMethod",
                "must be client_secret_basic, client_secret_post or none",
            ));
        }
        if self.grant_types.is_empty() {
            return Err(DomainError::invalid(
                "grantTypes",
                "name at least one grant type",
            ));
        }
        let has = |g| self.grant_types.contains(&g);
        if has(GrantType::ClientCredentials) && method == ClientAuthMethod::None {
            return Err(DomainError::invalid(
                "grantTypes",
                "a public client (tokenEndpointAuthMethod none) cannot use client_credentials",
            ));
        }
        if has(GrantType::RefreshToken) && !has(GrantType::AuthorizationCode) {
            return Err(DomainError::invalid(
                "grantTypes",
                "refresh_token needs authorization_code",
            ));
        }
        if has(GrantType::AuthorizationCode) && self.redirect_uris.is_empty() {
            return Err(DomainError::invalid(
                "redirectUris",
                "authorization_code needs at least one redirect URI",
            ));
        }
        for uri in &self.redirect_uris {
            check_uri("redirectUris", uri)?;
        }
        for uri in &self.post_logout_redirect_uris {
            check_uri("postLogoutRedirectUris", uri)?;
        }
        Ok(())
    }

    /// The client record, with the id and secret digest chosen by the server.
    pub fn into_client(self, id: String, secret_sha256: Option<[u8; 32]>) -> Client {
        let auth_method = self.auth_method();
        let mut grant_types = self.grant_types;
        grant_types.dedup();
        Client {
            id,
            name: Some(self.name.trim().to_owned()),
            secret_sha256,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            backchannel_logout_uri: None,
            grant_types,
            auth_method,
            id_token_alg: SigningAlg::RS256,
            access_token_alg: SigningAlg::ES256,
            permissions: Vec::new(),
            delegated_permissions: Vec::new(),
            jwks: None,
            introspection_audiences: Vec::new(),
        }
    }
}

/// Redirect targets must be exact absolute URLs: https anywhere, http only
/// on the loopback host (RFC 8252 §7.3, OAuth security BCP §4.1).
fn check_uri(field: &'static str, uri: &str) -> Result<(), DomainError> {
    let parsed =
        url::Url::parse(uri).map_err(|e| DomainError::invalid(field, format!("`{uri}`: {e}")))?;
    if parsed.fragment().is_some() {
        return Err(DomainError::invalid(
            field,
            format!("`{uri}` must not have a fragment"),
        ));
    }
    let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(DomainError::invalid(
            field,
            format!("`{uri}` must be https (http only on localhost)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web_app() -> NewClient {
        NewClient {
            name: "Payroll".into(),
            redirect_uris: vec!["https://payroll.example.com/cb".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            ..Default::default()
        }
    }

    #[test]
    fn accepts_a_web_app_and_refuses_bad_registrations() {
        assert!(web_app().validate().is_ok());
        let field_of = |c: NewClient| match c.validate() {
            Err(DomainError::Invalid { field, .. }) => field.into_owned(),
            other => panic!("expected invalid, got {other:?}"),
        };
        let mut c = web_app();
        c.redirect_uris = vec!["http://payroll.example.com/cb".into()];
        assert_eq!(field_of(c), "redirectUris");
        let mut c = web_app();
        c.redirect_uris = vec!["https://payroll.example.com/cb#x".into()];
        assert_eq!(field_of(c), "redirectUris");
        let mut c = web_app();
        c.redirect_uris.clear();
        assert_eq!(field_of(c), "redirectUris");
        let mut c = web_app();
        c.name = "  ".into();
        assert_eq!(field_of(c), "displayName");
        let mut c = web_app();
        c.auth_method = Some(ClientAuthMethod::None);
        c.grant_types = vec![GrantType::ClientCredentials];
        assert_eq!(field_of(c), "grantTypes");
        let mut c = web_app();
        c.grant_types = vec![GrantType::RefreshToken];
        assert_eq!(field_of(c), "grantTypes");
        let mut c = web_app();
        c.redirect_uris = vec!["http://localhost:8080/cb".into()];
        assert!(c.validate().is_ok());
    }
}
