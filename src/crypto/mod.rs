//! Keys, JWTs, password hashing, random secrets, constant-time compare.

pub mod b64url;
pub mod cose;
pub mod hasher;
pub mod jwt;
pub mod keys;
pub mod random;
pub mod seal;
pub mod webhook;

use subtle::ConstantTimeEq;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("key generation failed: {0}")]
    KeyGeneration(&'static str),
    #[error("bad key material: {0}")]
    BadKey(String),
    #[error("signing failed")]
    Signing,
    #[error("hashing failed: {0}")]
    Hashing(String),
    #[error("random source failed")]
    Random,
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    // aws-lc's, not the `sha2` crate's: its assembly (AVX, SHA-NI) is
    // about twice as fast where the CPU has no SHA extensions, and the ID
    // token's `at_hash` and the PKCE check hash on every sign-in.
    let mut out = [0u8; 32];
    out.copy_from_slice(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref());
    out
}

/// Compares two digests without leaking where they differ.
pub fn digest_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_sha256() {
        // FIPS 180-2, appendix B.1 and B.2.
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(sha256(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }
}
