//! WebAuthn signatures checked with a credential's COSE public key, in
//! aws-lc (already linked for TLS and JWTs, and several times faster than
//! the RustCrypto verifiers webauthn-rs uses).

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use webauthn_rs::prelude::{COSEKey, COSEKeyType, ECDSACurve, EDDSACurve};

/// webauthn-rs's RSA verifier takes moduli up to 4096 bits; aws-lc's from
/// 2048. Registration stores only 2048-bit ones (256-byte `n`).
const RSA_MAX_MODULUS_BYTES: usize = 512;

/// Whether `signature` is `key`'s signature over `message`.
///
/// The scheme follows from the key type and curve, as in webauthn-rs (the
/// COSE algorithm was checked against the key when it was registered):
/// EC2 P-256 is ECDSA with SHA-256, P-384 ECDSA with SHA-384 (both
/// DER-encoded signatures), RSA is PKCS#1 v1.5 with SHA-256, OKP Ed25519
/// is EdDSA. P-521 and Ed448 verify nothing, as in webauthn-rs. (webauthn-rs
/// 0.6 verifies no EdDSA at all, and registers only ES256, ES384 and RS256
/// credentials, so no stored passkey holds an Ed25519 key today.)
pub fn verify_cose_signature(key: &COSEKey, message: &[u8], signature: &[u8]) -> bool {
    match &key.key {
        COSEKeyType::EC_EC2(ec) => {
            let (algorithm, size): (&'static signature::EcdsaVerificationAlgorithm, usize) =
                match ec.curve {
                    ECDSACurve::SECP256R1 => (&signature::ECDSA_P256_SHA256_ASN1, 32),
                    ECDSACurve::SECP384R1 => (&signature::ECDSA_P384_SHA384_ASN1, 48),
                    ECDSACurve::SECP521R1 => return false,
                };
            if ec.x.len() != size || ec.y.len() != size {
                return false;
            }
            // SEC 1 uncompressed point: 0x04 || x || y (aws-lc checks it is on the curve).
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(0x04);
            point.extend_from_slice(&ec.x);
            point.extend_from_slice(&ec.y);
            UnparsedPublicKey::new(algorithm, point)
                .verify(message, signature)
                .is_ok()
        }
        COSEKeyType::RSA(rsa) => {
            if rsa.n.len() > RSA_MAX_MODULUS_BYTES {
                return false;
            }
            RsaPublicKeyComponents {
                n: rsa.n.as_slice(),
                e: rsa.e.as_slice(),
            }
            .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, signature)
            .is_ok()
        }
        COSEKeyType::EC_OKP(okp) => match okp.curve {
            EDDSACurve::ED25519 => UnparsedPublicKey::new(&signature::ED25519, &okp.x)
                .verify(message, signature)
                .is_ok(),
            EDDSACurve::ED448 => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
    use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};
    use webauthn_rs::prelude::{COSEAlgorithm, COSEEC2Key, COSEOKPKey, COSERSAKey};

    const MESSAGE: &[u8] = b"authenticator data || SHA-256(clientDataJSON)";

    fn ec2(
        signing: &'static signature::EcdsaSigningAlgorithm,
        curve: ECDSACurve,
        alg: COSEAlgorithm,
    ) -> (COSEKey, Vec<u8>) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(signing, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(signing, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        let size = (point.len() - 1) / 2;
        let key = COSEKey {
            type_: alg,
            key: COSEKeyType::EC_EC2(COSEEC2Key {
                curve,
                x: point[1..=size].to_vec(),
                y: point[1 + size..].to_vec(),
            }),
        };
        let sig = pair.sign(&rng, MESSAGE).unwrap().as_ref().to_vec();
        (key, sig)
    }

    fn refuses_tampering(key: &COSEKey, sig: &[u8]) {
        assert!(verify_cose_signature(key, MESSAGE, sig));
        let mut flipped = sig.to_vec();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(!verify_cose_signature(key, MESSAGE, &flipped));
        assert!(!verify_cose_signature(key, b"another message", sig));
        assert!(!verify_cose_signature(key, MESSAGE, &[]));
    }

    #[test]
    fn p256_and_p384_signatures_verify_and_tampering_does_not() {
        let (key, sig) = ec2(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            ECDSACurve::SECP256R1,
            COSEAlgorithm::ES256,
        );
        refuses_tampering(&key, &sig);
        let (key, sig) = ec2(
            &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            ECDSACurve::SECP384R1,
            COSEAlgorithm::ES384,
        );
        refuses_tampering(&key, &sig);
    }

    #[test]
    fn an_ec_key_with_the_wrong_curve_or_size_verifies_nothing() {
        let (mut key, sig) = ec2(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            ECDSACurve::SECP256R1,
            COSEAlgorithm::ES256,
        );
        if let COSEKeyType::EC_EC2(ec) = &mut key.key {
            ec.curve = ECDSACurve::SECP384R1;
        }
        assert!(!verify_cose_signature(&key, MESSAGE, &sig));
        if let COSEKeyType::EC_EC2(ec) = &mut key.key {
            ec.curve = ECDSACurve::SECP521R1;
        }
        assert!(!verify_cose_signature(&key, MESSAGE, &sig));
        if let COSEKeyType::EC_EC2(ec) = &mut key.key {
            ec.curve = ECDSACurve::SECP256R1;
            ec.y[0] ^= 1; // off the curve
        }
        assert!(!verify_cose_signature(&key, MESSAGE, &sig));
    }

    #[test]
    fn rs256_signatures_verify_and_tampering_does_not() {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let public = pair.public_key();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        let mut e3 = [0u8; 3];
        e3[3 - e.len()..].copy_from_slice(&e);
        let key = COSEKey {
            type_: COSEAlgorithm::RS256,
            key: COSEKeyType::RSA(COSERSAKey { n, e: e3 }),
        };
        let mut sig = vec![0; pair.public_modulus_len()];
        pair.sign(
            &signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            MESSAGE,
            &mut sig,
        )
        .unwrap();
        refuses_tampering(&key, &sig);
    }

    #[test]
    fn ed25519_signatures_verify_and_ed448_keys_verify_nothing() {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let mut key = COSEKey {
            type_: COSEAlgorithm::EDDSA,
            key: COSEKeyType::EC_OKP(COSEOKPKey {
                curve: EDDSACurve::ED25519,
                x: pair.public_key().as_ref().to_vec(),
            }),
        };
        let sig = pair.sign(MESSAGE).as_ref().to_vec();
        refuses_tampering(&key, &sig);
        if let COSEKeyType::EC_OKP(okp) = &mut key.key {
            okp.curve = EDDSACurve::ED448;
        }
        assert!(!verify_cose_signature(&key, MESSAGE, &sig));
    }
}
