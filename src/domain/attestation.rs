//! The authenticator model (AAGUID) from a WebAuthn attestation object.
//!
//! webauthn-rs checks the ceremony but keeps the AAGUID only for verified
//! attestations; with `none` attestation (what passkeys send) we read it
//! from `authData` ourselves: WebAuthn L3 §6.1 (authenticator data) and
//! §6.5 (attestation object, a CBOR map with `fmt`, `attStmt`, `authData`).

/// The AAGUID as a lower-case hyphenated UUID, or `None` if the object is
/// malformed or carries no attested credential data. An all-zero AAGUID
/// (authenticators that hide their model) is returned as is.
pub fn aaguid(attestation_object: &[u8]) -> Option<String> {
    let auth_data = find_auth_data(attestation_object)?;
    // rpIdHash (32) + flags (1) + signCount (4), then attested credential
    // data when the AT flag (bit 6) is set: aaguid (16) first.
    let flags = *auth_data.get(32)?;
    if flags & 0x40 == 0 {
        return None;
    }
    let raw = auth_data.get(37..53)?;
    let hex = hex::encode(raw);
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// Normalises an AAGUID typed by an administrator (case, braces).
pub fn normalise(aaguid: &str) -> Option<String> {
    let t = aaguid.trim().trim_matches(|c| c == '{' || c == '}');
    let hex: String = t.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// Walks the top-level CBOR map for the byte string under `authData`.
fn find_auth_data(cbor: &[u8]) -> Option<&[u8]> {
    let mut r = Reader { buf: cbor, pos: 0 };
    let (major, entries) = r.head()?;
    if major != 5 {
        return None;
    }
    for _ in 0..entries {
        let (kmajor, klen) = r.head()?;
        let key = if kmajor == 3 {
            Some(r.take(klen)?)
        } else {
            None
        };
        if key.is_none() {
            r.skip_body(kmajor, klen, 0)?;
        }
        if key == Some(b"authData".as_slice()) {
            let (vmajor, vlen) = r.head()?;
            return if vmajor == 2 { r.take(vlen) } else { None };
        }
        r.skip()?;
    }
    None
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn take(&mut self, len: u64) -> Option<&'a [u8]> {
        let len = usize::try_from(len).ok()?;
        let end = self.pos.checked_add(len)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    /// Major type and argument of the next item (definite lengths only:
    /// WebAuthn requires CTAP2 canonical CBOR).
    fn head(&mut self) -> Option<(u8, u64)> {
        let b = self.byte()?;
        let (major, info) = (b >> 5, b & 0x1f);
        let arg = match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(self.take(2)?.try_into().ok()?)),
            26 => u64::from(u32::from_be_bytes(self.take(4)?.try_into().ok()?)),
            27 => u64::from_be_bytes(self.take(8)?.try_into().ok()?),
            _ => return None,
        };
        Some((major, arg))
    }

    fn skip(&mut self) -> Option<()> {
        let (major, arg) = self.head()?;
        self.skip_body(major, arg, 0)
    }

    fn skip_body(&mut self, major: u8, arg: u64, depth: u8) -> Option<()> {
        // Attestation statements nest a few levels at most.
        if depth > 8 {
            return None;
        }
        match major {
            0 | 1 | 7 => Some(()),
            2 | 3 => self.take(arg).map(|_| ()),
            4 => {
                for _ in 0..arg {
                    let (m, a) = self.head()?;
                    self.skip_body(m, a, depth + 1)?;
                }
                Some(())
            }
            5 => {
                for _ in 0..arg.checked_mul(2)? {
                    let (m, a) = self.head()?;
                    self.skip_body(m, a, depth + 1)?;
                }
                Some(())
            }
            6 => {
                let (m, a) = self.head()?;
                self.skip_body(m, a, depth + 1)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth_data(aaguid: [u8; 16], at: bool) -> Vec<u8> {
        let mut d = vec![7u8; 32];
        d.push(if at { 0x45 } else { 0x05 });
        d.extend_from_slice(&[0, 0, 0, 1]);
        d.extend_from_slice(&aaguid);
        d.extend_from_slice(&[0, 2, 9, 9]);
        d
    }

    fn object(auth: &[u8]) -> Vec<u8> {
        // {"fmt": "packed", "attStmt": {"alg": -7, "sig": h'0102', "x5c": [h'03']}, "authData": h'…'}
        let mut o = vec![0xa3, 0x63];
        o.extend_from_slice(b"fmt");
        o.push(0x66);
        o.extend_from_slice(b"packed");
        o.push(0x67);
        o.extend_from_slice(b"attStmt");
        o.extend_from_slice(&[0xa3, 0x63]);
        o.extend_from_slice(b"alg");
        o.push(0x26);
        o.push(0x63);
        o.extend_from_slice(b"sig");
        o.extend_from_slice(&[0x42, 1, 2]);
        o.push(0x63);
        o.extend_from_slice(b"x5c");
        o.extend_from_slice(&[0x81, 0x41, 3]);
        o.push(0x68);
        o.extend_from_slice(b"authData");
        o.push(0x58);
        o.push(u8::try_from(auth.len()).unwrap());
        o.extend_from_slice(auth);
        o
    }

    #[test]
    fn reads_the_aaguid_after_a_nested_statement() {
        let id = [
            0xea, 0x9b, 0x8d, 0x66, 0x4d, 0x01, 0x1d, 0x21, 0x3c, 0xe4, 0xb6, 0xb4, 0x8c, 0xb5,
            0x75, 0xd4,
        ];
        assert_eq!(
            aaguid(&object(&auth_data(id, true))).as_deref(),
            Some("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4")
        );
        assert_eq!(aaguid(&object(&auth_data(id, false))), None);
    }

    #[test]
    fn malformed_input_is_none_not_a_panic() {
        let good = object(&auth_data([1; 16], true));
        for cut in 0..good.len() {
            let _ = aaguid(&good[..cut]);
        }
        assert_eq!(aaguid(&[]), None);
        assert_eq!(aaguid(&[0xbf, 0xff]), None);
        assert_eq!(
            aaguid(&[0xa1, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            None
        );
    }

    #[test]
    fn normalises_typed_aaguids() {
        assert_eq!(
            normalise("{EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4}").as_deref(),
            Some("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4")
        );
        assert_eq!(normalise("not-a-uuid"), None);
    }
}
