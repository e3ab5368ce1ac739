//! Keys, JWTs, password hashing, random secrets, constant-time compare.

pub mod b64url;
pub mod cose;
pub mod hasher;
pub mod jwt;
pub mod keys;
pub mod random;
pub mod seal;
pub mod webhook;

use sha2::{Digest, Sha256};
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
    Sha256::digest(data).into()
}

/// Compares two digests without leaking where they differ.
pub fn digest_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}
