//! Authorization requests, sign-in sessions and codes: the records that
//! carry a person from `/authorize` to the token endpoint.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How recent a passkey sign-in must be to add another passkey.
pub const RECENT_SIGN_IN: time::Duration = time::Duration::minutes(15);

/// `prompt` values (OIDC Core §3.1.2.1). `select_account` counts as `login`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A validated `/authorize` request, stored while the person signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// S256 challenge (RFC 7636).
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub acr_values: Option<String>,
    /// Claims asked for by name (the `claims` parameter).
    #[serde(default)]
    pub id_token_claims: Vec<String>,
    #[serde(default)]
    pub userinfo_claims: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// `sub` of the `id_token_hint`: only this user may get a code for
    /// the request (OIDC Core §3.1.2.1), whatever session the browser has.
    #[serde(default)]
    pub hinted_subject: Option<String>,
    /// The languages the application asked the pages to be in
    /// (`ui_locales`, OIDC Core §3.1.2.1), kept for every page of the flow.
    #[serde(default)]
    pub ui_locales: Option<String>,
}

impl AuthorizationRequest {
    pub fn has_scope(&self, s: &str) -> bool {
        self.scope.iter().any(|x| x == s)
    }

    /// May a code for this request be issued to `user_id`? Not when the
    /// request's `id_token_hint` names someone else.
    pub fn allows_subject(&self, user_id: &str) -> bool {
        self.hinted_subject.as_deref().is_none_or(|s| s == user_id)
    }
}

/// How a session was authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SignInMethod {
    Tap {
        tap_id: String,
    },
    Passkey {
        credential_id: String,
        backup_eligible: bool,
    },
}

/// A sign-in session. The cookie holds a random secret; the store keys the
/// record by its hash. `sid` is the public session id used in tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub sid: String,
    pub user_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub auth_time: OffsetDateTime,
    pub amr: Vec<String>,
    pub method: SignInMethod,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Passkey registration is allowed until then (TAP sessions only).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub enrollment_deadline: Option<OffsetDateTime>,
    /// Clients that received a code in this session (back-channel logout).
    #[serde(default)]
    pub clients: Vec<String>,
}

impl Session {
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.expires_at
    }

    pub fn can_enroll(&self, now: OffsetDateTime) -> bool {
        self.enrollment_deadline.is_some_and(|d| now < d) && self.is_live(now)
    }

    /// May this session register another passkey now? Within the TAP
    /// enrollment window, or shortly after a passkey sign-in.
    pub fn may_register(&self, now: OffsetDateTime) -> bool {
        self.can_enroll(now)
            || (matches!(self.method, SignInMethod::Passkey { .. })
                && self.is_live(now)
                && now - self.auth_time <= RECENT_SIGN_IN)
    }

    /// `acr` for this session: phishing-resistant for passkeys.
    pub fn acr(&self) -> &'static str {
        match self.method {
            SignInMethod::Passkey { .. } => "phr",
            SignInMethod::Tap { .. } => "urn:onramp:acr:tap",
        }
    }
}

/// `amr` (RFC 8176) for a TAP sign-in.
pub fn tap_amr(counts_as_mfa: bool) -> Vec<String> {
    let mut amr = vec!["otp".to_owned()];
    if counts_as_mfa {
        amr.push("mfa".to_owned());
    }
    amr
}

/// `amr` for a passkey sign-in with user verification: `swk` for a synced
/// (backup-eligible) credential, `hwk` for a device-bound one.
pub fn passkey_amr(backup_eligible: bool) -> Vec<String> {
    let key = if backup_eligible { "swk" } else { "hwk" };
    [key, "user", "pin", "mfa"].map(str::to_owned).to_vec()
}

/// What an authorization code stands for (stored under the code's hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub sid: String,
    pub scope: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub auth_time: OffsetDateTime,
    pub amr: Vec<String>,
    pub acr: Option<String>,
    #[serde(default)]
    pub id_token_claims: Vec<String>,
    #[serde(default)]
    pub userinfo_claims: Vec<String>,
    /// Tokens may not outlive this (the TAP's end for TAP sessions).
    #[serde(with = "time::serde::rfc3339")]
    pub session_expires_at: OffsetDateTime,
}

/// A redeemed code, kept to detect reuse and revoke what it produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedeemedCode {
    pub access_token_jti: String,
    pub access_token_expires: i64,
    pub refresh_token_hash: Option<String>,
    /// The refresh token family born from this code, and its end.
    #[serde(default)]
    pub refresh_family: Option<(String, i64)>,
}

/// A refresh token's record (stored under the token's hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshGrant {
    pub client_id: String,
    pub user_id: String,
    pub sid: String,
    pub scope: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub auth_time: OffsetDateTime,
    pub amr: Vec<String>,
    /// Absolute end of the token family (idle expiry is the record's TTL).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Every rotation of one original token shares the family id.
    #[serde(default)]
    pub family: String,
    #[serde(default)]
    pub userinfo_claims: Vec<String>,
}

/// A rotated-away refresh token, kept to detect its reuse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpentRefresh {
    pub family: String,
    #[serde(with = "time::serde::rfc3339")]
    pub family_expires_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(hinted: Option<&str>) -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: "rp".into(),
            redirect_uri: "https://rp.example/cb".into(),
            scope: vec!["openid".into()],
            state: None,
            nonce: None,
            code_challenge: None,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            acr_values: None,
            id_token_claims: vec![],
            userinfo_claims: vec![],
            created: OffsetDateTime::UNIX_EPOCH,
            hinted_subject: hinted.map(str::to_owned),
            ui_locales: None,
        }
    }

    #[test]
    fn a_hinted_request_allows_only_the_hinted_subject() {
        assert!(request(None).allows_subject("anyone"));
        assert!(request(Some("u-a")).allows_subject("u-a"));
        assert!(!request(Some("u-a")).allows_subject("u-b"));
        assert!(!request(Some("u-a")).allows_subject(""));
    }

    #[test]
    fn requests_stored_before_hints_were_kept_still_read() {
        let mut json = serde_json::to_value(request(Some("u-a"))).unwrap();
        json.as_object_mut().unwrap().remove("hinted_subject");
        let old: AuthorizationRequest = serde_json::from_value(json).unwrap();
        assert_eq!(old.hinted_subject, None);
        let round: AuthorizationRequest =
            serde_json::from_slice(&serde_json::to_vec(&request(Some("u-a"))).unwrap()).unwrap();
        assert_eq!(round.hinted_subject.as_deref(), Some("u-a"));
    }

    #[test]
    fn amr_values_follow_rfc8176() {
        assert_eq!(tap_amr(true), ["otp", "mfa"]);
        assert_eq!(tap_amr(false), ["otp"]);
        assert_eq!(passkey_amr(true), ["swk", "user", "pin", "mfa"]);
        assert_eq!(passkey_amr(false), ["hwk", "user", "pin", "mfa"]);
    }
}
