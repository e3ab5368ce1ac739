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
    pub passkey: PasskeyState,
}

/// webauthn-rs's serialisation of a passkey, kept as the JSON text it
/// wrote: reading a credential only checks that text, and a sign-in parses
/// it once, straight into webauthn-rs's types (no `serde_json::Value` tree
/// in between).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasskeyState(Box<serde_json::value::RawValue>);

impl PasskeyState {
    /// The state `value` serialises to.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::value::to_raw_value(value).map(Self)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }
}

/// The same text is the same state (webauthn-rs writes it one way).
impl PartialEq for PasskeyState {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}
