//! The passkey sign-in assertion, verified here rather than by
//! webauthn-rs so the signature check runs in aws-lc (an ES256 assertion
//! took about 210 µs in webauthn-rs's RustCrypto `p256`, 55 µs here, in a
//! release build on the 2-core development machine). Every check webauthn-rs 0.6 makes for
//! a discoverable authentication is made, in the same order (W3C WebAuthn
//! §7.2, "Verifying an Authentication Assertion"); webauthn-rs still runs
//! the ceremony's start and registration. Its parsed types (the response,
//! the client data, the stored passkey's COSE key) are used as they are.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use url::Url;
use webauthn_rs::Webauthn;
use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableAuthentication, Passkey, PublicKeyCredential,
};
use webauthn_rs_proto::UserVerificationPolicy;
use webauthn_rs_proto::options::CollectedClientData;
use webauthn_rs_proto::origin::origins_match;

use crate::crypto::{cose::verify_cose_signature, sha256};
use crate::domain::credential::PasskeyState;

/// Why an assertion was refused; each names the webauthn-rs error it
/// stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// `CredentialNotFound`: not the stored passkey, or not in the allowed list.
    #[error("the credential is not the one expected")]
    UnknownCredential,
    /// `ParseNOMFailure`, `ParseJSONFailure`.
    #[error("the authenticator data or client data is malformed")]
    Malformed,
    /// `InvalidClientDataType`.
    #[error("the client data is not for webauthn.get")]
    NotAnAssertion,
    /// `MismatchedChallenge`.
    #[error("the challenge is not this ceremony's")]
    WrongChallenge,
    /// `InvalidRPOrigin`.
    #[error("the origin is not allowed")]
    WrongOrigin,
    /// `InvalidRPIDHash`.
    #[error("the RP ID hash is not ours")]
    WrongRpId,
    /// `UserNotPresent`.
    #[error("the user was not present")]
    UserNotPresent,
    /// `UserNotVerified`.
    #[error("the user was not verified")]
    UserNotVerified,
    /// `CredentialBackupEligibilityInconsistent`.
    #[error("the backup eligibility changed since registration")]
    BackupEligibilityChanged,
    /// `CredentialMayNotBeHardwareBound`.
    #[error("backed up, but not backup eligible")]
    BackedUpNotEligible,
    /// `AuthenticationFailure`, `SignatureInvalid`.
    #[error("the signature does not verify")]
    BadSignature,
    /// `CredentialPossibleCompromise`: the counter did not go up.
    #[error("the signature counter did not increase (possibly a cloned authenticator)")]
    CounterNotIncreased,
    /// webauthn-rs's serialised state or result did not read as expected.
    #[error("webauthn-rs state unreadable: {0}")]
    Unreadable(&'static str),
}

/// The relying party the configured `Webauthn` checks against.
#[derive(Debug, Clone)]
pub struct RelyingParty {
    rp_id_hash: [u8; 32],
    origins: Vec<Url>,
}

/// startup (`relying_party`) leaves the builder's defaults for these, and
/// `Webauthn` does not expose them: origins match exactly, subdomains and
/// other ports are refused. (Were either turned on there, this would be
/// stricter than webauthn-rs, never looser.)
const ALLOW_SUBDOMAINS: bool = false;
const ALLOW_ANY_PORT: bool = false;

impl RelyingParty {
    /// The RP ID as `webauthn`'s own request options name it, and its
    /// allowed origins.
    pub fn of(webauthn: &Webauthn) -> Result<Self, Refusal> {
        let (options, _) = webauthn
            .start_discoverable_authentication()
            .map_err(|_| Refusal::Unreadable("request options"))?;
        Ok(Self {
            rp_id_hash: sha256(options.public_key.rp_id.as_bytes()),
            origins: webauthn.get_allowed_origins().to_vec(),
        })
    }

    fn allows_origin(&self, origin: &Url) -> bool {
        self.origins
            .iter()
            .any(|allowed| origins_match(ALLOW_SUBDOMAINS, ALLOW_ANY_PORT, origin, allowed))
    }
}

/// What webauthn-rs recorded about a passkey besides its key (its
/// `Credential`, inside `Passkey`, is not public).
#[derive(Debug, Clone, Deserialize)]
struct Recorded {
    counter: u32,
    user_verified: bool,
    backup_eligible: bool,
    backup_state: bool,
    registration_policy: UserVerificationPolicy,
}

/// A stored passkey: webauthn-rs's `Passkey` and what it recorded.
#[derive(Debug, Clone)]
pub struct StoredPasskey {
    pub passkey: Passkey,
    recorded: Recorded,
}

impl Recorded {
    /// Reads only the part of a stored passkey's text that webauthn-rs keeps
    /// private (its `cred`), skipping the key.
    fn of(state: &PasskeyState) -> Result<Self, serde_json::Error> {
        #[derive(Deserialize)]
        struct Inner {
            cred: Recorded,
        }
        Ok(serde_json::from_str::<Inner>(state.as_str())?.cred)
    }
}

impl StoredPasskey {
    /// Reads a passkey as the store keeps it (webauthn-rs's serialisation).
    pub fn from_stored(state: &PasskeyState) -> Result<Self, serde_json::Error> {
        Ok(Self {
            passkey: serde_json::from_str(state.as_str())?,
            recorded: Recorded::of(state)?,
        })
    }

    /// The backup eligibility and state webauthn-rs recorded.
    pub fn backup_flags(&self) -> (bool, bool) {
        (self.recorded.backup_eligible, self.recorded.backup_state)
    }
}

/// The backup eligibility and state webauthn-rs recorded in a stored
/// passkey, without parsing the passkey itself (as at registration, where
/// the `Passkey` is already at hand).
pub fn backup_flags(state: &PasskeyState) -> Result<(bool, bool), serde_json::Error> {
    let recorded = Recorded::of(state)?;
    Ok((recorded.backup_eligible, recorded.backup_state))
}

/// The ceremony state inside webauthn-rs's `DiscoverableAuthentication`.
#[derive(Debug, Deserialize)]
struct Ceremony {
    /// Credentials the ceremony was limited to (none when discoverable).
    credentials: Vec<Listed>,
    policy: UserVerificationPolicy,
    /// base64url, unpadded.
    challenge: String,
    appid: Option<String>,
    allow_backup_eligible_upgrade: bool,
}

#[derive(Debug, Deserialize)]
struct Listed {
    cred_id: String,
}

impl Ceremony {
    fn of(state: &DiscoverableAuthentication) -> Result<Self, Refusal> {
        /// webauthn-rs keeps the ceremony private; its serialisation holds it.
        #[derive(Deserialize)]
        struct Outer {
            ast: Ceremony,
        }
        let text = serde_json::to_string(state).map_err(|_| Refusal::Unreadable("state"))?;
        serde_json::from_str::<Outer>(&text)
            .map(|o| o.ast)
            .map_err(|_| Refusal::Unreadable("state"))
    }
}

/// The user id the assertion's user handle names: a discoverable
/// assertion must carry one (it says whose passkey signed).
pub fn claimed_user(webauthn: &Webauthn, response: &PublicKeyCredential) -> Option<String> {
    webauthn
        .identify_discoverable_authentication(response)
        .ok()
        .map(|(handle, _)| handle.to_string())
}

/// Verifies a discoverable passkey assertion against the ceremony `state`
/// and the stored passkey, as webauthn-rs's
/// `finish_discoverable_authentication_v2` does; the result is the one it
/// would give (for `Passkey::update_credential`).
pub fn finish_discoverable(
    rp: &RelyingParty,
    response: &PublicKeyCredential,
    state: &DiscoverableAuthentication,
    stored: &StoredPasskey,
) -> Result<AuthenticationResult, Refusal> {
    let ceremony = Ceremony::of(state)?;
    let cred_id = stored.passkey.cred_id();
    if cred_id.as_slice() != response.raw_id.as_slice() {
        return Err(Refusal::UnknownCredential);
    }
    // webauthn-rs ignores the list with one credential given; a
    // discoverable ceremony has none, so honouring it changes nothing.
    let listed = URL_SAFE_NO_PAD.encode(cred_id);
    if !ceremony.credentials.is_empty() && !ceremony.credentials.iter().any(|c| c.cred_id == listed)
    {
        return Err(Refusal::UnknownCredential);
    }
    let data = AuthData::parse(&response.response.authenticator_data)?;
    let client: CollectedClientData = serde_json::from_slice(&response.response.client_data_json)
        .map_err(|_| Refusal::Malformed)?;
    check_client_data(rp, &ceremony, &client)?;
    check_rp_id(rp, &ceremony, response, &data)?;
    check_flags(&ceremony, &stored.recorded, &data)?;
    check_signature(&stored.passkey, response)?;
    let needs_update = check_counter(&stored.recorded, &data)?;
    result(cred_id, &data, needs_update)
}

fn check_client_data(
    rp: &RelyingParty,
    ceremony: &Ceremony,
    client: &CollectedClientData,
) -> Result<(), Refusal> {
    if client.type_ != "webauthn.get" {
        return Err(Refusal::NotAnAssertion);
    }
    let challenge = URL_SAFE_NO_PAD
        .decode(&ceremony.challenge)
        .map_err(|_| Refusal::Unreadable("challenge"))?;
    if client.challenge != challenge {
        return Err(Refusal::WrongChallenge);
    }
    if !rp.allows_origin(&client.origin) {
        return Err(Refusal::WrongOrigin);
    }
    Ok(())
}

/// Our RP ID's hash, or the AppID's when the ceremony set one and the
/// client says it used it (FIDO U2F credentials).
fn check_rp_id(
    rp: &RelyingParty,
    ceremony: &Ceremony,
    response: &PublicKeyCredential,
    data: &AuthData,
) -> Result<(), Refusal> {
    let appid_hash = match (&ceremony.appid, response.extensions.appid) {
        (Some(appid), Some(true)) => Some(sha256(appid.as_bytes())),
        _ => None,
    };
    if data.rp_id_hash == rp.rp_id_hash || Some(data.rp_id_hash) == appid_hash {
        Ok(())
    } else {
        Err(Refusal::WrongRpId)
    }
}

fn check_flags(ceremony: &Ceremony, recorded: &Recorded, data: &AuthData) -> Result<(), Refusal> {
    if !data.user_present {
        return Err(Refusal::UserNotPresent);
    }
    // Required now or at registration; or preferred at registration and
    // verified then (the person was told a PIN is needed).
    let required = ceremony.policy == UserVerificationPolicy::Required
        || recorded.registration_policy == UserVerificationPolicy::Required
        || (recorded.registration_policy == UserVerificationPolicy::Preferred
            && recorded.user_verified);
    if required && !data.user_verified {
        return Err(Refusal::UserNotVerified);
    }
    // A change of backup eligibility changes the key's risk (only a rise,
    // and only if the ceremony allows it, passes).
    if recorded.backup_eligible != data.backup_eligible {
        let upgrade = ceremony.allow_backup_eligible_upgrade
            && !recorded.backup_eligible
            && data.backup_eligible;
        if !upgrade {
            return Err(Refusal::BackupEligibilityChanged);
        }
    }
    if data.backup_state && !recorded.backup_eligible {
        return Err(Refusal::BackedUpNotEligible);
    }
    Ok(())
}

/// The signature over authenticatorData || SHA-256(clientDataJSON).
fn check_signature(passkey: &Passkey, response: &PublicKeyCredential) -> Result<(), Refusal> {
    let raw = &response.response;
    let mut signed = Vec::with_capacity(raw.authenticator_data.len() + 32);
    signed.extend_from_slice(&raw.authenticator_data);
    signed.extend_from_slice(&sha256(&raw.client_data_json));
    if verify_cose_signature(passkey.get_public_key(), &signed, &raw.signature) {
        Ok(())
    } else {
        Err(Refusal::BadSignature)
    }
}

/// A counter that is used (either value nonzero) must increase: else two
/// copies of the key may exist. Returns whether the stored one moves.
fn check_counter(recorded: &Recorded, data: &AuthData) -> Result<bool, Refusal> {
    let flags_changed = data.backup_state != recorded.backup_state
        || data.backup_eligible != recorded.backup_eligible;
    if data.counter == 0 && recorded.counter == 0 {
        return Ok(flags_changed);
    }
    if data.counter <= recorded.counter {
        return Err(Refusal::CounterNotIncreased);
    }
    Ok(true)
}

/// webauthn-rs's result type, built through its serialisation (its fields
/// are not public); `Passkey::update_credential` applies it.
fn result(
    cred_id: &[u8],
    data: &AuthData,
    needs_update: bool,
) -> Result<AuthenticationResult, Refusal> {
    serde_json::from_value(serde_json::json!({
        "cred_id": URL_SAFE_NO_PAD.encode(cred_id),
        "needs_update": needs_update,
        "user_verified": data.user_verified,
        "backup_state": data.backup_state,
        "backup_eligible": data.backup_eligible,
        "counter": data.counter,
        "extensions": {},
    }))
    .map_err(|_| Refusal::Unreadable("result"))
}

/// The fixed part of authenticator data (WebAuthn §6.1), after checking
/// the optional parts are well formed as webauthn-rs does.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AuthData {
    rp_id_hash: [u8; 32],
    user_present: bool,
    user_verified: bool,
    backup_eligible: bool,
    backup_state: bool,
    counter: u32,
}

const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_BE: u8 = 0x08;
const FLAG_BS: u8 = 0x10;
const FLAG_AT: u8 = 0x40;
const FLAG_ED: u8 = 0x80;
/// WebAuthn's limit on credential ids, which webauthn-rs enforces.
const CREDENTIAL_ID_MAX: usize = 1023;

impl AuthData {
    fn parse(bytes: &[u8]) -> Result<Self, Refusal> {
        let (rp_id_hash, rest) = bytes.split_first_chunk::<32>().ok_or(Refusal::Malformed)?;
        let (&[flags], rest) = rest.split_first_chunk::<1>().ok_or(Refusal::Malformed)?;
        let (counter, mut rest) = rest.split_first_chunk::<4>().ok_or(Refusal::Malformed)?;
        if flags & FLAG_AT != 0 {
            rest = skip_attested_credential(rest)?;
        }
        if flags & FLAG_ED != 0 {
            cbor::extensions(rest).ok_or(Refusal::Malformed)?;
        }
        // Trailing bytes are ignored, as webauthn-rs does.
        Ok(Self {
            rp_id_hash: *rp_id_hash,
            user_present: flags & FLAG_UP != 0,
            user_verified: flags & FLAG_UV != 0,
            backup_eligible: flags & FLAG_BE != 0,
            backup_state: flags & FLAG_BS != 0,
            counter: u32::from_be_bytes(*counter),
        })
    }
}

/// aaguid (16) || id length (2) || id || COSE key (CBOR). Assertions do not
/// carry one, but webauthn-rs accepts it if well formed.
fn skip_attested_credential(bytes: &[u8]) -> Result<&[u8], Refusal> {
    let (_aaguid, rest) = bytes.split_first_chunk::<16>().ok_or(Refusal::Malformed)?;
    let (len, rest) = rest.split_first_chunk::<2>().ok_or(Refusal::Malformed)?;
    let len = usize::from(u16::from_be_bytes(*len));
    if len > CREDENTIAL_ID_MAX || len > rest.len() {
        return Err(Refusal::Malformed);
    }
    cbor::skip(&rest[len..]).ok_or(Refusal::Malformed)
}

/// Just enough CBOR (RFC 8949) to check that what webauthn-rs parses in
/// authenticator data is well formed, as its reader (`serde_cbor_2`, tags
/// ignored) sees it: the same codes refused, the same nesting limit, and
/// for extensions what its second pass (through serde's buffered values)
/// refuses: keys that do not read as strings, integers below `i64::MIN`.
mod cbor {
    /// Nesting the reader allows (arrays, maps and tags each take a level).
    const DEPTH: u8 = 128;

    /// Which of webauthn-rs's readings an item gets.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Mode {
        /// Read into a CBOR value only (the credential's public key).
        Value,
        /// The extensions map itself: its keys must read as strings.
        Extensions,
        /// Inside the extensions.
        Extension,
    }

    /// What an item read as, once its tags are set aside.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Shape {
        /// A text string, or a byte string that is UTF-8 (serde reads either as a `String`).
        Str,
        Map,
        Other,
    }

    /// The rest after one data item.
    pub fn skip(input: &[u8]) -> Option<&[u8]> {
        item(input, DEPTH, Mode::Value).map(|(_, rest)| rest)
    }

    /// The extensions: one map whose keys read as strings.
    pub fn extensions(input: &[u8]) -> Option<&[u8]> {
        match item(input, DEPTH, Mode::Extensions)? {
            (Shape::Map, rest) => Some(rest),
            _ => None,
        }
    }

    /// Major type, argument (`None`: indefinite length) and the rest.
    fn head(input: &[u8]) -> Option<(u8, Option<u64>, &[u8])> {
        let (&initial, rest) = input.split_first()?;
        let major = initial >> 5;
        let info = initial & 0x1f;
        let (argument, rest) = match info {
            0..=23 => (u64::from(info), rest),
            24 => {
                let (b, rest) = rest.split_first_chunk::<1>()?;
                (u64::from(b[0]), rest)
            }
            25 => {
                let (b, rest) = rest.split_first_chunk::<2>()?;
                (u64::from(u16::from_be_bytes(*b)), rest)
            }
            26 => {
                let (b, rest) = rest.split_first_chunk::<4>()?;
                (u64::from(u32::from_be_bytes(*b)), rest)
            }
            27 => {
                let (b, rest) = rest.split_first_chunk::<8>()?;
                (u64::from_be_bytes(*b), rest)
            }
            31 if (2..=5).contains(&major) => return Some((major, None, rest)),
            _ => return None,
        };
        Some((major, Some(argument), rest))
    }

    fn item(input: &[u8], depth: u8, mode: Mode) -> Option<(Shape, &[u8])> {
        let (major, argument, rest) = head(input)?;
        let inner = match mode {
            Mode::Value => Mode::Value,
            Mode::Extensions | Mode::Extension => Mode::Extension,
        };
        match major {
            0 => Some((Shape::Other, rest)),
            1 if mode != Mode::Value && argument > Some(i64::MAX as u64) => None,
            1 => Some((Shape::Other, rest)),
            2 | 3 => string(major, argument, rest),
            4 => entries(argument, rest, nested(depth)?, |rest, depth| {
                item(rest, depth, inner).map(|(_, rest)| rest)
            })
            .map(|rest| (Shape::Other, rest)),
            5 => entries(argument, rest, nested(depth)?, |rest, depth| {
                let (key, rest) = item(rest, depth, inner)?;
                if mode == Mode::Extensions && key != Shape::Str {
                    return None;
                }
                item(rest, depth, inner).map(|(_, rest)| rest)
            })
            .map(|rest| (Shape::Map, rest)),
            6 => item(rest, nested(depth)?, mode),
            // false, true, null, undefined; half, single, double floats.
            _ if matches!(input.first(), Some(0xf4..=0xf7 | 0xf9..=0xfb)) => {
                Some((Shape::Other, rest))
            }
            _ => None,
        }
    }

    /// The level inside a container, if the limit allows one.
    fn nested(depth: u8) -> Option<u8> {
        depth.checked_sub(1).filter(|&d| d > 0)
    }

    /// A string of `len` bytes, or (`None`) definite chunks of its type up
    /// to a break; text must be UTF-8 as a whole.
    fn string(major: u8, len: Option<u64>, mut rest: &[u8]) -> Option<(Shape, &[u8])> {
        let mut content = Vec::new();
        match len {
            Some(len) => {
                let len = usize::try_from(len).ok()?;
                content.extend_from_slice(rest.get(..len)?);
                rest = rest.get(len..)?;
            }
            None => loop {
                if let Some(after) = rest.strip_prefix(&[0xff]) {
                    rest = after;
                    break;
                }
                let (chunk_major, len, after) = head(rest)?;
                if chunk_major != major {
                    return None;
                }
                let len = usize::try_from(len?).ok()?;
                content.extend_from_slice(after.get(..len)?);
                rest = after.get(len..)?;
            },
        }
        let utf8 = std::str::from_utf8(&content).is_ok();
        match (major, utf8) {
            (3, false) => None,
            (_, true) => Some((Shape::Str, rest)),
            _ => Some((Shape::Other, rest)),
        }
    }

    /// `count` entries read by `entry` (`None`: until a break).
    fn entries<'a>(
        count: Option<u64>,
        mut rest: &'a [u8],
        depth: u8,
        entry: impl Fn(&'a [u8], u8) -> Option<&'a [u8]>,
    ) -> Option<&'a [u8]> {
        let mut remaining = count;
        loop {
            match remaining {
                Some(0) => return Some(rest),
                None => {
                    if let Some(after) = rest.strip_prefix(&[0xff]) {
                        return Some(after);
                    }
                }
                Some(_) => {}
            }
            rest = entry(rest, depth)?;
            remaining = remaining.map(|n| n - 1);
        }
    }
}

#[cfg(test)]
mod tests {
    //! Each case runs through both this verifier and webauthn-rs, which
    //! must agree: both accept with the same result, or both refuse for
    //! the same reason.
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
    use webauthn_authenticator_rs::WebauthnAuthenticator;
    use webauthn_authenticator_rs::softpasskey::SoftPasskey;
    use webauthn_rs::WebauthnBuilder;
    use webauthn_rs::prelude::{
        COSEAlgorithm, COSEEC2Key, COSEKey, COSEKeyType, DiscoverableKey, ECDSACurve,
        RequestChallengeResponse, Uuid, WebauthnError,
    };
    use webauthn_rs_proto::AllowCredentials;

    const RP_ID: &str = "example.com";
    /// A subdomain of the RP ID, so a wrong RP ID can be signed for an
    /// allowed origin.
    const ORIGIN: &str = "https://login.example.com";

    /// A relying party, a software passkey registered with it, its user.
    struct Bench {
        webauthn: Webauthn,
        rp: RelyingParty,
        soft: SoftPasskey,
        user: Uuid,
        stored: StoredPasskey,
    }

    /// What the browser is asked and where it runs, before it asserts.
    struct Request {
        options: RequestChallengeResponse,
        origin: Url,
    }

    fn bench() -> Bench {
        let origin = Url::parse(ORIGIN).unwrap();
        let webauthn = WebauthnBuilder::new(RP_ID, &origin)
            .unwrap()
            .rp_name("Onramp")
            .build()
            .unwrap();
        let user = Uuid::new_v4();
        let (options, state) = webauthn
            .start_passkey_registration(user, "ann@example.com", "Ann", None)
            .unwrap();
        let mut soft = SoftPasskey::new(true);
        let created = soft.do_registration(origin, options).unwrap();
        let passkey = webauthn
            .finish_passkey_registration(&created, &state)
            .unwrap();
        let stored = StoredPasskey::from_stored(&PasskeyState::of(&passkey).unwrap()).unwrap();
        Bench {
            rp: RelyingParty::of(&webauthn).unwrap(),
            webauthn,
            soft,
            user,
            stored,
        }
    }

    impl Bench {
        /// A discoverable ceremony, asserted by the software passkey after
        /// `tweak` changes what it is asked.
        fn assertion(
            &mut self,
            tweak: impl FnOnce(&mut Request),
        ) -> (PublicKeyCredential, DiscoverableAuthentication) {
            let (options, state) = self.webauthn.start_discoverable_authentication().unwrap();
            let mut request = Request {
                options,
                origin: Url::parse(ORIGIN).unwrap(),
            };
            // The software passkey finds its key by id (a browser would
            // find the resident credential itself).
            request.options.public_key.allow_credentials = vec![AllowCredentials {
                type_: "public-key".into(),
                id: self.stored.passkey.cred_id().to_vec(),
                transports: None,
            }];
            tweak(&mut request);
            let mut response = self
                .soft
                .do_authentication(request.origin, request.options)
                .unwrap();
            response.response.user_handle = Some(self.user.as_bytes().to_vec());
            (response, state)
        }

        /// Both verifiers' verdict, which must agree.
        fn verify(
            &self,
            response: &PublicKeyCredential,
            state: &DiscoverableAuthentication,
            stored: &StoredPasskey,
        ) -> Result<AuthenticationResult, Refusal> {
            let ours = finish_discoverable(&self.rp, response, state, stored);
            let theirs = self.webauthn.finish_discoverable_authentication_v2(
                response,
                state.clone(),
                DiscoverableKey::from(&stored.passkey),
            );
            match (&ours, theirs) {
                (Ok(ours), Ok(theirs)) => assert_eq!(
                    serde_json::to_value(ours).unwrap(),
                    serde_json::to_value(&theirs).unwrap()
                ),
                (Err(ours), Err(theirs)) => {
                    assert_eq!(*ours, refusal(&theirs), "webauthn-rs: {theirs:?}")
                }
                (ours, theirs) => panic!("disagree: ours {ours:?}, webauthn-rs {theirs:?}"),
            }
            ours
        }

        fn check(
            &self,
            response: &PublicKeyCredential,
            state: &DiscoverableAuthentication,
        ) -> Result<AuthenticationResult, Refusal> {
            self.verify(response, state, &self.stored)
        }

        /// Accepts `response`, and keeps the new counter as the service does.
        fn accept(&mut self, response: &PublicKeyCredential, state: &DiscoverableAuthentication) {
            let result = self.check(response, state).unwrap();
            let mut passkey = self.stored.passkey.clone();
            passkey.update_credential(&result);
            self.stored = StoredPasskey::from_stored(&PasskeyState::of(&passkey).unwrap()).unwrap();
        }
    }

    /// The reason webauthn-rs's error stands for.
    fn refusal(e: &WebauthnError) -> Refusal {
        match e {
            WebauthnError::CredentialNotFound => Refusal::UnknownCredential,
            WebauthnError::ParseNOMFailure | WebauthnError::ParseJSONFailure(_) => {
                Refusal::Malformed
            }
            WebauthnError::InvalidClientDataType => Refusal::NotAnAssertion,
            WebauthnError::MismatchedChallenge => Refusal::WrongChallenge,
            WebauthnError::InvalidRPOrigin => Refusal::WrongOrigin,
            WebauthnError::InvalidRPIDHash => Refusal::WrongRpId,
            WebauthnError::UserNotPresent => Refusal::UserNotPresent,
            WebauthnError::UserNotVerified => Refusal::UserNotVerified,
            WebauthnError::CredentialBackupEligibilityInconsistent => {
                Refusal::BackupEligibilityChanged
            }
            WebauthnError::CredentialMayNotBeHardwareBound => Refusal::BackedUpNotEligible,
            WebauthnError::AuthenticationFailure | WebauthnError::SignatureInvalid => {
                Refusal::BadSignature
            }
            WebauthnError::CredentialPossibleCompromise => Refusal::CounterNotIncreased,
            other => panic!("unexpected webauthn-rs error {other:?}"),
        }
    }

    #[test]
    fn a_good_assertion_is_accepted_with_webauthn_rs_result() {
        let mut b = bench();
        let (response, state) = b.assertion(|_| {});
        let result = b.check(&response, &state).unwrap();
        assert!(result.user_verified());
        assert_eq!(result.counter(), 1);
        assert!(result.needs_update());
        assert_eq!(result.cred_id(), b.stored.passkey.cred_id());
        assert_eq!(
            claimed_user(&b.webauthn, &response),
            Some(b.user.to_string())
        );
    }

    #[test]
    fn the_relying_party_is_the_configured_one() {
        let b = bench();
        assert_eq!(b.rp.rp_id_hash, sha256(RP_ID.as_bytes()));
        assert_eq!(b.rp.origins, vec![Url::parse(ORIGIN).unwrap()]);
        // No subdomains, no other port: the builder's defaults.
        for origin in [
            "https://evil.login.example.com",
            "https://login.example.com:8443",
            "http://login.example.com",
            "https://example.com",
        ] {
            assert!(
                !b.rp.allows_origin(&Url::parse(origin).unwrap()),
                "{origin}"
            );
        }
        assert!(b.rp.allows_origin(&Url::parse(ORIGIN).unwrap()));
    }

    #[test]
    fn a_wrong_origin_is_refused() {
        let mut b = bench();
        let (response, state) = b.assertion(|r| {
            r.origin = Url::parse("https://evil.example.com").unwrap();
        });
        assert_eq!(refused(&b, &response, &state), Refusal::WrongOrigin);
    }

    #[test]
    fn a_wrong_challenge_is_refused() {
        let mut b = bench();
        let (other, _) = b.webauthn.start_discoverable_authentication().unwrap();
        let (response, state) = b.assertion(|r| {
            r.options.public_key.challenge = other.public_key.challenge;
        });
        assert_eq!(refused(&b, &response, &state), Refusal::WrongChallenge);
    }

    fn refused(
        b: &Bench,
        response: &PublicKeyCredential,
        state: &DiscoverableAuthentication,
    ) -> Refusal {
        b.check(response, state).unwrap_err()
    }

    #[test]
    fn a_wrong_rp_id_is_refused() {
        let mut b = bench();
        let (response, state) = b.assertion(|r| {
            r.options.public_key.rp_id = "login.example.com".into();
        });
        assert_eq!(refused(&b, &response, &state), Refusal::WrongRpId);
    }

    #[test]
    fn an_assertion_without_user_verification_is_refused() {
        let mut b = bench();
        let (response, state) = b.assertion(|r| {
            r.options.public_key.user_verification = UserVerificationPolicy::Preferred;
        });
        assert_eq!(response.response.authenticator_data[32] & FLAG_UV, 0);
        assert_eq!(refused(&b, &response, &state), Refusal::UserNotVerified);
    }

    #[test]
    fn a_counter_that_does_not_increase_is_refused() {
        let mut b = bench();
        let (first, first_state) = b.assertion(|_| {});
        let (second, second_state) = b.assertion(|_| {});
        b.accept(&second, &second_state);
        // An older assertion (lower counter), and a replay (same counter).
        assert_eq!(
            refused(&b, &first, &first_state),
            Refusal::CounterNotIncreased
        );
        assert_eq!(
            refused(&b, &second, &second_state),
            Refusal::CounterNotIncreased
        );
        let (third, third_state) = b.assertion(|_| {});
        b.accept(&third, &third_state);
    }

    #[test]
    fn a_bad_signature_is_refused() {
        let mut b = bench();
        let (mut response, state) = b.assertion(|_| {});
        *response.response.signature.last_mut().unwrap() ^= 1;
        assert_eq!(refused(&b, &response, &state), Refusal::BadSignature);
        // Signed data changed: the counter, or the client data.
        let (mut response, state) = b.assertion(|_| {});
        response.response.authenticator_data[36] ^= 0x10;
        assert_eq!(refused(&b, &response, &state), Refusal::BadSignature);
        let (mut response, state) = b.assertion(|_| {});
        let json = String::from_utf8(response.response.client_data_json.clone()).unwrap();
        response.response.client_data_json = json.replace('{', "{\"x\":1,").into_bytes();
        assert_eq!(refused(&b, &response, &state), Refusal::BadSignature);
    }

    #[test]
    fn an_unknown_credential_is_refused() {
        let mut b = bench();
        let other = bench();
        let (response, state) = b.assertion(|_| {});
        assert_eq!(
            b.verify(&response, &state, &other.stored).unwrap_err(),
            Refusal::UnknownCredential
        );
    }

    /// The service compares the user handle with the credential's owner.
    #[test]
    fn a_wrong_or_missing_user_handle_names_no_owner() {
        let mut b = bench();
        let (mut response, _) = b.assertion(|_| {});
        let other = Uuid::new_v4();
        response.response.user_handle = Some(other.as_bytes().to_vec());
        assert_eq!(
            claimed_user(&b.webauthn, &response),
            Some(other.to_string())
        );
        response.response.user_handle = Some(b"not a uuid".to_vec());
        assert_eq!(claimed_user(&b.webauthn, &response), None);
        response.response.user_handle = None;
        assert_eq!(claimed_user(&b.webauthn, &response), None);
    }

    /// Every single-bit change to the signed data, and a flipped byte
    /// anywhere in the signature, is refused by both for the same reason.
    #[test]
    fn every_tampering_is_refused_alike() {
        let mut b = bench();
        let (good, state) = b.assertion(|_| {});
        for bit in 0..good.response.authenticator_data.len() * 8 {
            let mut response = good.clone();
            response.response.authenticator_data[bit / 8] ^= 1 << (bit % 8);
            b.check(&response, &state).unwrap_err();
        }
        for i in 0..good.response.client_data_json.len() {
            let mut response = good.clone();
            response.response.client_data_json[i] ^= 0x01;
            b.check(&response, &state).unwrap_err();
        }
        for i in 0..good.response.signature.len() {
            let mut response = good.clone();
            response.response.signature[i] ^= 0x01;
            b.check(&response, &state).unwrap_err();
        }
        let mut short = good.clone();
        short.response.authenticator_data.truncate(36);
        assert_eq!(refused(&b, &short, &state), Refusal::Malformed);
        b.accept(&good, &state);
    }

    /// An authenticator of our own (an aws-lc key put into the passkey),
    /// for what the software passkey never sends: backup flags, extensions,
    /// other client data.
    struct Forger {
        key: EcdsaKeyPair,
        stored: StoredPasskey,
    }

    impl Forger {
        fn new(b: &Bench, backup_eligible: bool, backup_state: bool) -> Self {
            let rng = SystemRandom::new();
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
            let key =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
            let point = key.public_key().as_ref();
            let cose = COSEKey {
                type_: COSEAlgorithm::ES256,
                key: COSEKeyType::EC_EC2(COSEEC2Key {
                    curve: ECDSACurve::SECP256R1,
                    x: point[1..33].to_vec(),
                    y: point[33..].to_vec(),
                }),
            };
            let mut value = serde_json::to_value(&b.stored.passkey).unwrap();
            value["cred"]["cred"] = serde_json::to_value(cose).unwrap();
            value["cred"]["backup_eligible"] = backup_eligible.into();
            value["cred"]["backup_state"] = backup_state.into();
            Self {
                key,
                stored: StoredPasskey::from_stored(&PasskeyState::of(&value).unwrap()).unwrap(),
            }
        }

        /// A signed assertion of `flags`, `counter` and `tail` (after the
        /// counter), over `client` data for `state`'s challenge.
        fn assert(
            &self,
            state: &DiscoverableAuthentication,
            flags: u8,
            counter: u32,
            tail: &[u8],
            client: impl FnOnce(&str) -> String,
        ) -> PublicKeyCredential {
            let mut data = sha256(RP_ID.as_bytes()).to_vec();
            data.push(flags);
            data.extend_from_slice(&counter.to_be_bytes());
            data.extend_from_slice(tail);
            let challenge = Ceremony::of(state).unwrap().challenge;
            let client_data = client(&challenge).into_bytes();
            let mut signed = data.clone();
            signed.extend_from_slice(&sha256(&client_data));
            let signature = self.key.sign(&SystemRandom::new(), &signed).unwrap();
            let cred_id = self.stored.passkey.cred_id().to_vec();
            serde_json::from_value(serde_json::json!({
                "id": URL_SAFE_NO_PAD.encode(&cred_id),
                "rawId": URL_SAFE_NO_PAD.encode(&cred_id),
                "type": "public-key",
                "response": {
                    "authenticatorData": URL_SAFE_NO_PAD.encode(&data),
                    "clientDataJSON": URL_SAFE_NO_PAD.encode(&client_data),
                    "signature": URL_SAFE_NO_PAD.encode(signature.as_ref()),
                },
            }))
            .unwrap()
        }
    }

    fn get(challenge: &str) -> String {
        format!(r#"{{"type":"webauthn.get","challenge":"{challenge}","origin":"{ORIGIN}"}}"#)
    }

    const UP_UV: u8 = FLAG_UP | FLAG_UV;

    /// JSON text of `value` with every object's keys sorted, as a
    /// `serde_json::Value` without `preserve_order` wrote it.
    fn sorted_json(value: &serde_json::Value) -> String {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let inner: Vec<String> = entries
                    .into_iter()
                    .map(|(k, v)| {
                        format!("{}:{}", serde_json::to_string(k).unwrap(), sorted_json(v))
                    })
                    .collect();
                format!("{{{}}}", inner.join(","))
            }
            serde_json::Value::Array(items) => {
                let inner: Vec<String> = items.iter().map(sorted_json).collect();
                format!("[{}]", inner.join(","))
            }
            scalar => serde_json::to_string(scalar).unwrap(),
        }
    }

    #[test]
    fn passkeys_stored_through_a_value_tree_read_the_same() {
        // Before PasskeyState, passkeys were stored from a serde_json::Value
        // (keys sorted); such records must read as they did.
        let b = bench();
        let fresh = PasskeyState::of(&b.stored.passkey).unwrap();
        let value = serde_json::to_value(&b.stored.passkey).unwrap();
        let old: PasskeyState = serde_json::from_str(&sorted_json(&value)).unwrap();
        assert_ne!(old, fresh, "the old text differs (key order)");
        let read = StoredPasskey::from_stored(&old).unwrap();
        assert_eq!(
            PasskeyState::of(&read.passkey).unwrap(),
            fresh,
            "the same passkey"
        );
        assert_eq!(read.recorded.counter, b.stored.recorded.counter);
        assert_eq!(backup_flags(&old).unwrap(), b.stored.backup_flags());
        assert_eq!(
            read.recorded.registration_policy,
            b.stored.recorded.registration_policy
        );
    }

    #[test]
    fn backup_flags_are_checked_and_reported_alike() {
        let b = bench();
        let (_, state) = b.webauthn.start_discoverable_authentication().unwrap();
        let single = Forger::new(&b, false, false);
        let verify = |f: &Forger, flags, counter| {
            let response = f.assert(&state, flags, counter, &[], get);
            b.verify(&response, &state, &f.stored)
        };
        assert_eq!(
            verify(&single, UP_UV | FLAG_BE, 1).unwrap_err(),
            Refusal::BackupEligibilityChanged
        );
        assert_eq!(
            verify(&single, UP_UV | FLAG_BS, 1).unwrap_err(),
            Refusal::BackedUpNotEligible
        );
        assert_eq!(
            verify(&single, FLAG_UV, 1).unwrap_err(),
            Refusal::UserNotPresent
        );
        // A synced passkey: no counter, backup state may change.
        let synced = Forger::new(&b, true, false);
        assert_eq!(
            verify(&synced, UP_UV, 0).unwrap_err(),
            Refusal::BackupEligibilityChanged
        );
        let unchanged = verify(&synced, UP_UV | FLAG_BE, 0).unwrap();
        assert!(!unchanged.needs_update());
        let backed_up = verify(&synced, UP_UV | FLAG_BE | FLAG_BS, 0).unwrap();
        assert!(backed_up.needs_update() && backed_up.backup_state());
    }

    #[test]
    fn extensions_and_credential_data_are_parsed_alike() {
        let b = bench();
        let (_, state) = b.webauthn.start_discoverable_authentication().unwrap();
        let f = Forger::new(&b, false, false);
        let verify = |flags, tail: &[u8]| {
            let response = f.assert(&state, flags, 1, tail, get);
            b.verify(&response, &state, &f.stored)
        };
        let uvm_map = [0xa1, 0x63, b'u', b'v', b'm', 0x81, 0x82, 0x02, 0x18, 0x20];
        verify(UP_UV | FLAG_ED, &uvm_map).unwrap();
        verify(UP_UV | FLAG_ED, &[0xbf, 0x61, b'a', 0xf5, 0xff]).unwrap();
        verify(UP_UV | FLAG_ED, &[0xa0, 0x00, 0x00]).unwrap(); // trailing bytes
        for bad in [
            &[][..],
            &[0xa1, 0x63, b'u', b'v'],       // truncated
            &[0xa1, 0x01, 0x02],             // integer key
            &[0x80],                         // not a map
            &[0xa1, 0x61, 0xff, 0xf5],       // key not UTF-8
            &[0xa1, 0x61, b'a', 0xf8, 0x14], // unassigned simple value
        ] {
            assert_eq!(
                verify(UP_UV | FLAG_ED, bad).unwrap_err(),
                Refusal::Malformed
            );
        }
        // Found by the property below: serde reads a UTF-8 byte string key
        // as a string, tags are ignored, and its buffered second pass
        // refuses integers below i64::MIN in extensions (not in a key).
        verify(UP_UV | FLAG_ED, &[0xa1, 0x41, b'a', 0x01]).unwrap();
        verify(UP_UV | FLAG_ED, &[0xc1, 0xa1, 0xc2, 0x61, b'a', 0x01]).unwrap();
        let below_i64 = [0x3b, 0x80, 0, 0, 1, 0, 0, 0, 0];
        let mut ext = vec![0xa1, 0x61, b'a', 0x81];
        ext.extend_from_slice(&below_i64);
        assert_eq!(
            verify(UP_UV | FLAG_ED, &ext).unwrap_err(),
            Refusal::Malformed
        );
        let mut acd = vec![0u8; 16];
        acd.extend_from_slice(&[0x00, 0x00]);
        acd.extend_from_slice(&below_i64);
        verify(UP_UV | FLAG_AT, &acd).unwrap();
        let mut acd = vec![0u8; 16];
        acd.extend_from_slice(&[0x00, 0x02, 0xab, 0xcd]);
        acd.extend_from_slice(&[0xa2, 0x01, 0x02, 0x03, 0x26]);
        verify(UP_UV | FLAG_AT, &acd).unwrap();
        acd.truncate(21);
        assert_eq!(
            verify(UP_UV | FLAG_AT, &acd).unwrap_err(),
            Refusal::Malformed
        );
    }

    #[test]
    fn client_data_is_read_alike() {
        let b = bench();
        let (_, state) = b.webauthn.start_discoverable_authentication().unwrap();
        let f = Forger::new(&b, false, false);
        let verify = |client: &dyn Fn(&str) -> String| {
            let response = f.assert(&state, UP_UV, 1, &[], client);
            b.verify(&response, &state, &f.stored)
        };
        let create = |c: &str| get(c).replace("webauthn.get", "webauthn.create");
        assert_eq!(verify(&create).unwrap_err(), Refusal::NotAnAssertion);
        // The challenge decodes padded or not; other fields are tolerated.
        verify(&|c: &str| get(&format!("{c}="))).unwrap();
        verify(&|c: &str| get(c).replace('}', r#","crossOrigin":false,"other":[1]}"#)).unwrap();
        let port = |c: &str| get(c).replace(ORIGIN, "https://login.example.com:443");
        verify(&port).unwrap();
        let no_origin = |c: &str| format!(r#"{{"type":"webauthn.get","challenge":"{c}"}}"#);
        assert_eq!(verify(&no_origin).unwrap_err(), Refusal::Malformed);
        let bad_challenge = |c: &str| get(&format!("{c}*"));
        assert_eq!(verify(&bad_challenge).unwrap_err(), Refusal::Malformed);
    }

    /// One registered passkey with a key of ours and one ceremony, shared
    /// by the property tests (registration is the slow part).
    static FIXTURE: std::sync::LazyLock<(Bench, Forger, DiscoverableAuthentication)> =
        std::sync::LazyLock::new(|| {
            let b = bench();
            let f = Forger::new(&b, false, false);
            let (_, state) = b.webauthn.start_discoverable_authentication().unwrap();
            (b, f, state)
        });

    /// A small CBOR value, written in its shortest form.
    #[derive(Debug, Clone)]
    enum Value {
        Int(i64),
        Text(String),
        Bytes(Vec<u8>),
        Simple(u8),
        Float(f64),
        Tag(u8, Box<Value>),
        Array(Vec<Value>),
        Map(Vec<(Value, Value)>),
        /// Indefinite-length text or bytes, as chunks (any bytes: UTF-8 may break).
        Chunks(u8, Vec<Vec<u8>>),
        IndefiniteArray(Vec<Value>),
        /// Arrays nested this deep around an empty one.
        Deep(u8),
    }

    fn head(major: u8, n: u64, out: &mut Vec<u8>) {
        let m = major << 5;
        match n {
            0..=23 => out.push(m | n as u8),
            24..=0xff => out.extend_from_slice(&[m | 24, n as u8]),
            0x100..=0xffff => {
                out.push(m | 25);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(m | 26);
                out.extend_from_slice(&(n as u32).to_be_bytes());
            }
            _ => {
                out.push(m | 27);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
    }

    fn encode(v: &Value, out: &mut Vec<u8>) {
        match v {
            Value::Int(i) if *i >= 0 => head(0, *i as u64, out),
            Value::Int(i) => head(1, (-1 - *i) as u64, out),
            Value::Bytes(b) => {
                head(2, b.len() as u64, out);
                out.extend_from_slice(b);
            }
            Value::Text(t) => {
                head(3, t.len() as u64, out);
                out.extend_from_slice(t.as_bytes());
            }
            Value::Array(items) => {
                head(4, items.len() as u64, out);
                items.iter().for_each(|i| encode(i, out));
            }
            Value::Map(entries) => {
                head(5, entries.len() as u64, out);
                for (k, v) in entries {
                    encode(k, out);
                    encode(v, out);
                }
            }
            Value::Tag(t, v) => {
                head(6, u64::from(*t), out);
                encode(v, out);
            }
            Value::Simple(s) => head(7, u64::from(*s), out),
            Value::Float(f) => {
                out.push(0xfb);
                out.extend_from_slice(&f.to_be_bytes());
            }
            Value::Chunks(major, chunks) => {
                out.push(major << 5 | 31);
                for chunk in chunks {
                    head(*major, chunk.len() as u64, out);
                    out.extend_from_slice(chunk);
                }
                out.push(0xff);
            }
            Value::IndefiniteArray(items) => {
                out.push(0x9f);
                items.iter().for_each(|i| encode(i, out));
                out.push(0xff);
            }
            Value::Deep(n) => {
                out.extend(std::iter::repeat_n(0x81, usize::from(*n)));
                out.push(0x80);
            }
        }
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(Value::Int),
            "[a-z]{0,6}".prop_map(Value::Text),
            proptest::collection::vec(any::<u8>(), 0..6).prop_map(Value::Bytes),
            prop_oneof![Just(20u8), Just(21), Just(22), Just(23), 0u8..32].prop_map(Value::Simple),
            any::<f64>().prop_map(Value::Float),
            (
                2u8..4,
                proptest::collection::vec(
                    prop_oneof![
                        "[a-zé€]{0,3}".prop_map(String::into_bytes),
                        proptest::collection::vec(any::<u8>(), 0..3)
                    ],
                    0..3
                )
            )
                .prop_map(|(major, chunks)| Value::Chunks(major, chunks)),
            (120u8..132).prop_map(Value::Deep),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec((inner.clone(), inner.clone()), 0..4)
                    .prop_map(Value::Map),
                (0u8..40, inner.clone()).prop_map(|(t, v)| Value::Tag(t, Box::new(v))),
                proptest::collection::vec(inner, 0..3).prop_map(Value::IndefiniteArray),
            ]
        })
    }

    /// Extensions as an authenticator writes them (a map keyed by text),
    /// sometimes with other keys, sometimes cut short or with a byte changed.
    fn extensions() -> impl Strategy<Value = Vec<u8>> {
        let key = prop_oneof![
            4 => "[a-zA-Z]{1,8}".prop_map(Value::Text),
            1 => any::<i64>().prop_map(Value::Int),
            1 => proptest::collection::vec(any::<u8>(), 0..4).prop_map(Value::Bytes),
            1 => "[a-z]{1,4}".prop_map(|t| Value::Bytes(t.into_bytes())),
            1 => "[a-z]{1,4}".prop_map(|t| Value::Tag(1, Box::new(Value::Text(t)))),
            1 => value(),
        ];
        let map = proptest::collection::vec((key, value()), 0..4).prop_map(|entries| {
            let mut out = Vec::new();
            encode(&Value::Map(entries), &mut out);
            out
        });
        let any_value = value().prop_map(|v| {
            let mut out = Vec::new();
            encode(&v, &mut out);
            out
        });
        (
            prop_oneof![4 => map, 1 => any_value],
            0usize..6,
            any::<prop::sample::Index>(),
            any::<u8>(),
        )
            .prop_map(|(mut bytes, change, at, byte)| {
                if !bytes.is_empty() {
                    let i = at.index(bytes.len());
                    match change {
                        0 => bytes.truncate(i),
                        1 => bytes[i] = byte,
                        _ => {}
                    }
                }
                bytes
            })
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn prop_passkey_authdata_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = AuthData::parse(&bytes);
            let _ = cbor::skip(&bytes);
            let _ = cbor::extensions(&bytes);
        }

        #[test]
        fn prop_passkey_authdata_reads_the_fixed_part(
            rp_id_hash in any::<[u8; 32]>(),
            flags in any::<u8>().prop_map(|f| f & !(FLAG_AT | FLAG_ED)),
            counter in any::<u32>(),
            tail in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let mut bytes = rp_id_hash.to_vec();
            bytes.push(flags);
            bytes.extend_from_slice(&counter.to_be_bytes());
            bytes.extend_from_slice(&tail);
            let data = AuthData::parse(&bytes).unwrap();
            prop_assert_eq!(data, AuthData {
                rp_id_hash,
                user_present: flags & FLAG_UP != 0,
                user_verified: flags & FLAG_UV != 0,
                backup_eligible: flags & FLAG_BE != 0,
                backup_state: flags & FLAG_BS != 0,
                counter,
            });
            prop_assert_eq!(AuthData::parse(&bytes[..36]), Err(Refusal::Malformed));
        }

        /// Signed assertions with any flags and any (near-valid) extensions
        /// get the same verdict, for the same reason, from both verifiers.
        #[test]
        fn prop_passkey_assertion_verdicts_match_webauthn_rs(
            flags in prop_oneof![
                3 => any::<bool>().prop_map(|ed| if ed { UP_UV | FLAG_ED } else { UP_UV }),
                1 => any::<u8>().prop_map(|f| f & !FLAG_AT),
            ],
            counter in 0u32..3,
            credential in proptest::option::of((0usize..4, value())),
            tail in extensions(),
        ) {
            let (b, f, state) = &*FIXTURE;
            let mut data = Vec::new();
            if let Some((id_len, key)) = credential {
                data.extend_from_slice(&[0; 16]);
                data.extend_from_slice(&[0, 2]);
                data.extend(std::iter::repeat_n(0xab, id_len));
                encode(&key, &mut data);
            }
            data.extend_from_slice(&tail);
            let flags = if data.len() > tail.len() { flags | FLAG_AT } else { flags };
            let response = f.assert(state, flags, counter, &data, get);
            let _ = b.verify(&response, state, &f.stored);
        }
    }
}
