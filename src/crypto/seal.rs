//! Sealing a secret for one later read (a page shown once): AES-256-GCM
//! under a fresh random key. The sealed box is stored; the key goes to the
//! one browser that may read it, so the store alone never holds the secret.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::CryptoError;
use super::random::Random;

/// A sealed secret: nonce and ciphertext (with its tag), base64url.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    nonce: String,
    ciphertext: String,
}

fn cipher(key: &[u8]) -> Result<LessSafeKey, CryptoError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| CryptoError::BadKey("not an AES-256 key".into()))
}

/// Seals `plaintext`, bound to `aad` (e.g. the record's id and owner).
/// Returns the key (base64url) and the sealed box.
pub fn seal(
    rng: &dyn Random,
    plaintext: &[u8],
    aad: &[u8],
) -> Result<(String, Sealed), CryptoError> {
    let mut key = [0u8; 32];
    let mut nonce = [0u8; 12];
    rng.fill(&mut key)?;
    rng.fill(&mut nonce)?;
    let mut data = plaintext.to_vec();
    cipher(&key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut data,
        )
        .map_err(|_| CryptoError::BadKey("sealing failed".into()))?;
    Ok((
        URL_SAFE_NO_PAD.encode(key),
        Sealed {
            nonce: URL_SAFE_NO_PAD.encode(nonce),
            ciphertext: URL_SAFE_NO_PAD.encode(data),
        },
    ))
}

/// Opens a sealed box with its key; any mismatch (key, `aad`, a changed
/// byte) is an error.
pub fn open(key: &str, sealed: &Sealed, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let bad = || CryptoError::BadKey("the sealed secret does not open".into());
    let key = URL_SAFE_NO_PAD.decode(key).map_err(|_| bad())?;
    let nonce: [u8; 12] = URL_SAFE_NO_PAD
        .decode(&sealed.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(bad)?;
    let mut data = URL_SAFE_NO_PAD
        .decode(&sealed.ciphertext)
        .map_err(|_| bad())?;
    let plain = cipher(&key)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut data,
        )
        .map_err(|_| bad())?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::random::OsRandom;

    #[test]
    fn opens_only_with_its_key_and_binding() {
        let (key, sealed) = seal(&OsRandom, b"ABCD-1234", b"id|admin").unwrap();
        assert_eq!(open(&key, &sealed, b"id|admin").unwrap(), b"ABCD-1234");
        assert!(open(&key, &sealed, b"id|other").is_err());
        let (other, _) = seal(&OsRandom, b"x", b"").unwrap();
        assert!(open(&other, &sealed, b"id|admin").is_err());
        let mut changed = sealed.clone();
        changed.ciphertext.replace_range(
            0..1,
            if changed.ciphertext.starts_with('A') {
                "B"
            } else {
                "A"
            },
        );
        assert!(open(&key, &changed, b"id|admin").is_err());
        assert!(!serde_json::to_string(&sealed).unwrap().contains("ABCD"));
    }
}
