//! argon2id for low-entropy secrets (Temporary Access Passes). These calls
//! are CPU-heavy: services run them on the blocking pool, never on the executor.

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use super::CryptoError;
use super::random::Random;

/// Hashes `secret` with argon2id (default parameters: 19 MiB, 2 passes).
pub fn hash(secret: &[u8], rng: &dyn Random) -> Result<String, CryptoError> {
    let mut salt = [0u8; 16];
    rng.fill(&mut salt)?;
    Argon2::default()
        .hash_password_with_salt(secret, &salt)
        .map(|h| h.to_string())
        .map_err(|e| CryptoError::Hashing(e.to_string()))
}

/// True if `secret` matches the PHC string `hash`. A malformed hash is a mismatch.
pub fn verify(secret: &[u8], hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(secret, &parsed).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::random::OsRandom;

    #[test]
    fn hash_then_verify() {
        let h = hash(b"ABCD2345", &OsRandom).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(b"ABCD2345", &h));
        assert!(!verify(b"ABCD2346", &h));
        assert!(!verify(b"ABCD2345", "not a hash"));
    }
}
