use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A registered passkey. The WebAuthn state (webauthn-rs `Passkey`) is kept
/// as opaque JSON so the domain stays free of protocol types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasskeyCredential {
    /// The credential id, base64url without padding.
    pub id: String,
    pub user_id: String,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_used: Option<OffsetDateTime>,
    #[serde(default)]
    pub aaguid: Option<String>,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub passkey: serde_json::Value,
}
