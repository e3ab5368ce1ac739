//! Relying parties registered by an administrator (API or portal), as
//! opposed to the ones written into the configuration file.

use super::DomainError;
use super::client::{Client, ClientAuthMethod, FieldNames, GrantType, SigningAlg};
use super::permission::Permission;

/// What an administrator asks for when registering a relying party.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub auth_method: Option<ClientAuthMethod>,
    /// Admin API permissions of the application itself (client
    /// credentials); the registering admin must hold each.
    pub permissions: Vec<Permission>,
}

impl NewClient {
    /// The auth method, `client_secret_basic` unless given.
    pub fn auth_method(&self) -> ClientAuthMethod {
        self.auth_method
            .unwrap_or(ClientAuthMethod::ClientSecretBasic)
    }

    /// Checks the registration; errors name the API field at fault. Beyond
    /// its own fields (the display name, the methods registration offers),
    /// it is held to the rules of every client ([`Client::validate`]), on
    /// the record it becomes.
    pub fn validate(&self) -> Result<(), DomainError> {
        // The length counts the name as given (the document's maxLength);
        // surrounding spaces are then dropped.
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return Err(DomainError::invalid(
                "displayName",
                "must be 1 to 100 characters",
            ));
        }
        if !self.permissions.is_empty() {
            if !self.grant_types.contains(&GrantType::ClientCredentials) {
                return Err(DomainError::invalid(
                    "permissions",
                    "need the client_credentials grant (an application acting as itself)",
                ));
            }
            if self
                .permissions
                .contains(&Permission::RoleManagementReadWriteDirectory)
            {
                return Err(DomainError::invalid(
                    "permissions",
                    "cannot include RoleManagement.ReadWrite.Directory, which only signed-in administrators use",
                ));
            }
        }
        let method = self.auth_method();
        if method == ClientAuthMethod::PrivateKeyJwt {
            // Registration has no JWKS field yet; config clients can use it.
            return Err(invalid_auth_method());
        }
        // The server makes the secret after validation: a stand-in digest
        // for a confidential client, so the record is checked as it will be.
        let secret = (method != ClientAuthMethod::None).then_some([0; 32]);
        self.clone()
            .into_client(String::new(), secret)
            .validate(FieldNames::Api)
    }

    /// The client record, with the id and secret digest chosen by the server.
    pub fn into_client(self, id: String, secret_sha256: Option<[u8; 32]>) -> Client {
        let auth_method = self.auth_method();
        let mut grant_types = self.grant_types;
        grant_types.dedup();
        let mut permissions = self.permissions;
        permissions.dedup();
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
            permissions,
            delegated_permissions: Vec::new(),
            jwks: None,
            introspection_audiences: Vec::new(),
        }
    }
}

/// The token endpoint auth method a registration names: the secret
/// methods or `none` (`client_secret_basic` when not given).
pub fn parse_auth_method(name: Option<&str>) -> Result<ClientAuthMethod, DomainError> {
    match name {
        None | Some("client_secret_basic") => Ok(ClientAuthMethod::ClientSecretBasic),
        Some("client_secret_post") => Ok(ClientAuthMethod::ClientSecretPost),
        Some("none") => Ok(ClientAuthMethod::None),
        Some(_) => Err(invalid_auth_method()),
    }
}

/// Grant types by their OAuth names.
pub fn parse_grant_types<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<GrantType>, DomainError> {
    names
        .into_iter()
        .map(|g| {
            GrantType::parse(g).ok_or_else(|| {
                DomainError::invalid("grantTypes", format!("unknown grant type {g}"))
            })
        })
        .collect()
}

fn invalid_auth_method() -> DomainError {
    DomainError::invalid(
        "tokenEndpointAuthMethod",
        "must be client_secret_basic, client_secret_post or none",
    )
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
    fn application_permissions_need_client_credentials_and_no_role_management() {
        let mut daemon = NewClient {
            name: "HR sync".into(),
            grant_types: vec![GrantType::ClientCredentials],
            permissions: vec![Permission::UserReadWriteAll],
            ..Default::default()
        };
        assert!(daemon.validate().is_ok());
        assert_eq!(
            daemon
                .clone()
                .into_client("c".into(), Some([0; 32]))
                .permissions,
            vec![Permission::UserReadWriteAll]
        );
        daemon
            .permissions
            .push(Permission::RoleManagementReadWriteDirectory);
        assert!(
            matches!(daemon.validate(), Err(DomainError::Invalid { field, .. }) if field == "permissions")
        );
        let web = NewClient {
            permissions: vec![Permission::AuditLogReadAll],
            ..web_app()
        };
        assert!(
            matches!(web.validate(), Err(DomainError::Invalid { field, .. }) if field == "permissions")
        );
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
        let mut c = web_app();
        c.name = format!(" {}", "n".repeat(100));
        assert_eq!(field_of(c), "displayName");
    }
}
