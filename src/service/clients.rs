//! Registered clients (config first, then the store) and their authentication.

use std::collections::HashMap;
use std::sync::Arc;

use super::oauth_errors::store_error;
use crate::config::Settings;
use crate::crypto::{digest_eq, sha256};
use crate::domain::client::{Client, ClientAuthMethod, GrantType, SigningAlg};
use crate::domain::oauth::{OAuthError, OAuthErrorCode};
use crate::domain::permission::Permission;
use crate::store::{SharedStore, StoreError};

// Defined in the domain (the configuration reserves the id); kept under
// this path for the portal's handlers.
pub use crate::domain::client::{PORTAL_CALLBACK_PATH, PORTAL_CLIENT_ID};

pub struct ClientRegistry {
    configured: HashMap<String, Arc<Client>>,
    store: SharedStore,
}

/// Credentials a client presented at the token endpoint.
#[derive(Debug, Default, Clone, Copy)]
pub struct PresentedCredentials<'a> {
    /// From `Authorization: Basic` (already form-decoded).
    pub basic: Option<(&'a str, &'a str)>,
    /// `client_id` form parameter.
    pub form_id: Option<&'a str>,
    /// `client_secret` form parameter.
    pub form_secret: Option<&'a str>,
    /// `client_assertion_type` and `client_assertion` (RFC 7523).
    pub assertion_type: Option<&'a str>,
    pub assertion: Option<&'a str>,
}

/// The portal is a public client (PKCE) whose tokens carry delegated admin
/// permissions, trimmed to the signed-in admin's roles.
fn portal_client(issuer: &str) -> Client {
    let issuer = issuer.trim_end_matches('/');
    Client {
        id: PORTAL_CLIENT_ID.to_owned(),
        name: Some("Onramp admin portal".to_owned()),
        secret_sha256: None,
        redirect_uris: vec![format!("{issuer}{PORTAL_CALLBACK_PATH}")],
        // After signing out, the portal's sign-in again ("sign in as
        // someone else" on its "No administrator role" page).
        post_logout_redirect_uris: vec![
            format!("{issuer}/admin/signed-out"),
            format!("{issuer}/admin/login"),
        ],
        backchannel_logout_uri: None,
        grant_types: vec![GrantType::AuthorizationCode],
        auth_method: ClientAuthMethod::None,
        id_token_alg: SigningAlg::ES256,
        access_token_alg: SigningAlg::ES256,
        permissions: Vec::new(),
        delegated_permissions: Permission::ALL.to_vec(),
        jwks: None,
        introspection_audiences: Vec::new(),
    }
}

/// A fixed digest compared against when the client is unknown, so that
/// unknown and known clients take the same path.
const DUMMY_DIGEST: [u8; 32] = [0x5a; 32];

impl ClientRegistry {
    pub fn from_settings(settings: &Settings, store: SharedStore) -> Self {
        let mut configured = settings
            .clients
            .iter()
            .map(|c| (c.id.clone(), Arc::new(c.to_client())))
            .collect::<HashMap<_, _>>();
        // Inserted last: the portal's client cannot be shadowed by config.
        let portal = portal_client(settings.issuer());
        configured.insert(portal.id.clone(), Arc::new(portal));
        Self { configured, store }
    }

    /// The clients defined in the configuration file.
    pub fn configured(&self) -> impl Iterator<Item = &Client> {
        self.configured.values().map(|c| &**c)
    }

    pub async fn find(&self, id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        if let Some(c) = self.configured.get(id) {
            return Ok(Some(c.clone()));
        }
        Ok(self.store.get_client(id).await?.map(Arc::new))
    }

    /// Authenticates the client per RFC 6749 §2.3 (`client_secret_basic`,
    /// `client_secret_post`, or `none` for public clients).
    pub async fn authenticate(
        &self,
        presented: PresentedCredentials<'_>,
    ) -> Result<Arc<Client>, OAuthError> {
        let challenge = presented.basic.is_some();
        let invalid_client = |msg: &'static str| OAuthError {
            code: OAuthErrorCode::InvalidClient,
            description: msg.into(),
            basic_challenge: challenge,
        };
        let (id, secret) = match (presented.basic, presented.form_id, presented.form_secret) {
            (Some(_), _, Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not Basic and client_secret together",
                ));
            }
            (Some((id, _)), Some(form_id), _) if form_id != id => {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the Basic credentials",
                ));
            }
            (Some((id, secret)), _, _) => (id, Some(secret)),
            (None, Some(id), secret) => (id, secret),
            (None, None, _) => return Err(invalid_client("client authentication is required")),
        };
        let client = self.find(id).await.map_err(store_error)?;
        let Some(client) = client else {
            let _ = digest_eq(
                &sha256(secret.unwrap_or_default().as_bytes()),
                &DUMMY_DIGEST,
            );
            return Err(invalid_client("client authentication failed"));
        };
        match (client.auth_method, client.secret_sha256, secret) {
            (ClientAuthMethod::None, _, None) => Ok(client),
            (ClientAuthMethod::None, _, Some(_)) => {
                Err(invalid_client("this public client has no secret"))
            }
            (_, Some(expected), Some(secret))
                if digest_eq(&sha256(secret.as_bytes()), &expected) =>
            {
                Ok(client)
            }
            _ => Err(invalid_client("client authentication failed")),
        }
    }
}
