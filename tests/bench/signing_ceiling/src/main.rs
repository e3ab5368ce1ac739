//! Signs a JWS-sized message in a loop with the same key types and
//! algorithms as Onramp (RSA-2048 PKCS#1 v1.5 SHA-256, ECDSA P-256 SHA-256
//! fixed) and prints signatures per second. Pin it to one core.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use std::error::Error;
use std::time::{Duration, Instant};

fn per_second(
    seconds: f64,
    mut sign: impl FnMut() -> Result<(), Box<dyn Error>>,
) -> Result<f64, Box<dyn Error>> {
    for _ in 0..100 {
        sign()?;
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs_f64(seconds) {
        for _ in 0..20 {
            sign()?;
        }
        n += 20;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

fn main() -> Result<(), Box<dyn Error>> {
    let seconds: f64 = std::env::args().nth(1).map_or(Ok(3.0), |s| s.parse())?;
    let rng = SystemRandom::new();
    // About the size of an access token's signing input.
    let message = [b'a'; 300];

    let generated = RsaKeyPair::generate(KeySize::Rsa2048)?;
    let rsa = RsaKeyPair::from_pkcs8(generated.as_der()?.as_ref())?;
    let mut signature = vec![0u8; rsa.public_modulus_len()];
    let rsa_rate = per_second(seconds, || {
        rsa.sign(&RSA_PKCS1_SHA256, &rng, &message, &mut signature)?;
        Ok(())
    })?;

    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)?;
    let ec = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())?;
    let ec_rate = per_second(seconds, || {
        ec.sign(&rng, &message)?;
        Ok(())
    })?;

    println!("rsa2048 {rsa_rate:.0}");
    println!("ecdsap256 {ec_rate:.0}");
    Ok(())
}
