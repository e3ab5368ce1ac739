//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>):
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
//! under a secret `whsec_<base64 key>`.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::CryptoError;
use super::random::Random;

pub const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret(rng: &dyn Random) -> Result<String, CryptoError> {
    let mut key = [0u8; 32];
    rng.fill(&mut key)?;
    Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(key)))
}

/// The `webhook-signature` header value for one attempt.
pub fn sign(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, CryptoError> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = STANDARD
        .decode(encoded)
        .map_err(|e| CryptoError::BadKey(format!("webhook secret: {e}")))?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(msg_id.as_bytes());
    ctx.update(b".");
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    Ok(format!("v1,{}", STANDARD.encode(ctx.sign().as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::random::OsRandom;

    /// The example of the Standard Webhooks specification's reference
    /// libraries (secret, id, timestamp, body and the signature they expect).
    #[test]
    fn matches_the_reference_vector() {
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_are_fresh_and_decode_to_32_bytes() {
        let a = new_secret(&OsRandom).unwrap();
        let b = new_secret(&OsRandom).unwrap();
        assert_ne!(a, b);
        let key = STANDARD
            .decode(a.strip_prefix(SECRET_PREFIX).unwrap())
            .unwrap();
        assert_eq!(key.len(), 32);
    }

    #[test]
    fn a_secret_that_is_not_base64_is_an_error() {
        assert!(sign("whsec_!!!", "m", 1, b"{}").is_err());
    }
}
