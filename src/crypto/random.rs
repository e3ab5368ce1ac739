//! Randomness is injected like time: services take a [`Random`].

use std::sync::Arc;

use super::{CryptoError, b64url};

pub trait Random: Send + Sync + 'static {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError>;
}

/// The operating system's CSPRNG (through aws-lc).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        aws_lc_rs::rand::fill(buf).map_err(|_| CryptoError::Random)
    }
}

pub type SharedRandom = Arc<dyn Random>;

/// A URL-safe token carrying `N` random bytes (e.g. 32 bytes = 256 bits).
pub fn token<const N: usize>(rng: &dyn Random) -> Result<String, CryptoError> {
    let mut buf = [0u8; N];
    rng.fill(&mut buf)?;
    Ok(b64url::encode(&buf))
}

/// A random UUID (version 4) from `rng`, for record ids.
pub fn uuid(rng: &dyn Random) -> Result<String, CryptoError> {
    let mut buf = [0u8; 16];
    rng.fill(&mut buf)?;
    Ok(uuid::Builder::from_random_bytes(buf)
        .into_uuid()
        .to_string())
}

/// `len` characters drawn uniformly from `alphabet` (rejection sampling, so
/// no character is more likely than another).
pub fn from_alphabet(rng: &dyn Random, alphabet: &[u8], len: usize) -> Result<String, CryptoError> {
    let n = alphabet.len();
    if n == 0 || n > 256 {
        return Err(CryptoError::Random);
    }
    // Largest multiple of n that fits in a byte: bytes at or above it are redrawn.
    let limit = 256 - (256 % n);
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        rng.fill(&mut buf)?;
        for &b in &buf {
            if usize::from(b) < limit {
                out.push(char::from(alphabet[usize::from(b) % n]));
                if out.len() == len {
                    break;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_draws_only_from_the_alphabet() {
        let s = from_alphabet(&OsRandom, b"AB2", 200).unwrap();
        assert_eq!(s.len(), 200);
        assert!(s.chars().all(|c| "AB2".contains(c)));
        // 200 draws from 3 symbols: each appears (probability of failure ~ 1e-35).
        assert!(s.contains('A') && s.contains('B') && s.contains('2'));
    }

    #[test]
    fn tokens_differ() {
        assert_ne!(
            token::<32>(&OsRandom).unwrap(),
            token::<32>(&OsRandom).unwrap()
        );
        assert_eq!(token::<32>(&OsRandom).unwrap().len(), 43);
    }
}
