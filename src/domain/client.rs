//! A relying party: the one client record, from the configuration file or
//! registered by an administrator, and the rules it must follow
//! ([`Client::validate`], in `rules`).

use serde::{Deserialize, Serialize};

use super::permission::Permission;

mod rules;
mod uri;

pub use rules::{ClientField, FieldNames};
pub use uri::is_loopback;

/// The admin portal's own client id: the portal signs admins in through
/// the same OIDC flow as any relying party. No configured client may take it.
pub const PORTAL_CLIENT_ID: &str = "onramp-admin-portal";

/// The portal's callback path, under the issuer.
pub const PORTAL_CALLBACK_PATH: &str = "/admin/callback";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub const fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "authorization_code" => Some(Self::AuthorizationCode),
            "refresh_token" => Some(Self::RefreshToken),
            "client_credentials" => Some(Self::ClientCredentials),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// A public client: no secret, PKCE required.
    None,
    /// A JWT signed with a key of the client's JWKS (RFC 7523).
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    pub const fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
            ClientAuthMethod::ClientSecretPost => "client_secret_post",
            ClientAuthMethod::None => "none",
            ClientAuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    RS256,
    ES256,
}

impl SigningAlg {
    pub const fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
        }
    }
}

/// A registered OAuth client (from config or from the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// SHA-256 of the secret; `None` for public clients.
    #[serde(default, with = "opt_hex32")]
    pub secret_sha256: Option<[u8; 32]>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// OpenID Back-Channel Logout 1.0 endpoint of the client.
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    pub grant_types: Vec<GrantType>,
    pub auth_method: ClientAuthMethod,
    pub id_token_alg: SigningAlg,
    pub access_token_alg: SigningAlg,
    /// The application's own admin API permissions (client credentials).
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// What it may ask for on behalf of a signed-in administrator.
    #[serde(default)]
    pub delegated_permissions: Vec<Permission>,
    /// The client's public keys for `private_key_jwt`: inline or by URL.
    #[serde(default)]
    pub jwks: Option<ClientKeys>,
    /// Token audiences this client serves as a resource server: it may
    /// introspect other clients' access tokens issued for one of them
    /// (RFC 7662 §4). Empty: only its own tokens.
    #[serde(default)]
    pub introspection_audiences: Vec<String>,
}

/// Where a `private_key_jwt` client's public keys come from. One value, so a
/// client cannot have both or neither kind by mistake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClientKeys {
    /// A JWK Set as JSON text (stored records hold a plain string).
    Inline(String),
    /// The client's `jwks_uri`, fetched and cached (RFC 7591 §2).
    Uri { jwks_uri: String },
}

impl Client {
    /// How pages name the application: its name, or its id without one.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.id.clone())
    }

    pub fn is_public(&self) -> bool {
        self.auth_method == ClientAuthMethod::None
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Whether introspection may tell this client about an access token
    /// issued to `owner` for `audiences`: the token is its own, or it is a
    /// resource server of one of the audiences.
    pub fn may_introspect(&self, owner: &str, audiences: &[String]) -> bool {
        owner == self.id
            || audiences
                .iter()
                .any(|aud| self.introspection_audiences.contains(aud))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stored_as_a_plain_string_still_load() {
        let inline: ClientKeys = serde_json::from_str(r#""{\"keys\":[]}""#).unwrap();
        assert_eq!(inline, ClientKeys::Inline(r#"{"keys":[]}"#.into()));
        let uri = ClientKeys::Uri {
            jwks_uri: "https://rp.example/jwks".into(),
        };
        let json = serde_json::to_string(&uri).unwrap();
        assert_eq!(json, r#"{"jwks_uri":"https://rp.example/jwks"}"#);
        assert_eq!(serde_json::from_str::<ClientKeys>(&json).unwrap(), uri);
    }

    #[test]
    fn introspection_is_for_the_owner_and_resource_servers_of_the_audience() {
        let rs: Client = serde_json::from_value(serde_json::json!({
            "id": "rs",
            "grant_types": ["client_credentials"],
            "auth_method": "client_secret_basic",
            "id_token_alg": "RS256",
            "access_token_alg": "ES256",
        }))
        .unwrap();
        // Records stored before the setting existed have none.
        assert!(rs.introspection_audiences.is_empty());
        let aud = vec!["https://id.example".to_owned()];
        assert!(rs.may_introspect("rs", &aud));
        assert!(!rs.may_introspect("web", &aud));
        let rs = Client {
            introspection_audiences: aud.clone(),
            ..rs
        };
        assert!(rs.may_introspect("web", &aud));
        assert!(!rs.may_introspect("web", &["https://id.example/api/v1".to_owned()]));
        assert!(!rs.may_introspect("web", &[]));
    }
}

mod opt_hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(bytes) => s.serialize_some(&hex::encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 32]>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(Some(out))
    }
}
