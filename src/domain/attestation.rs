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

/// Property tests (`prop_*`; `PROPTEST_CASES` sets the number of cases).
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// A CBOR item for the generator: what the reader must skip or find.
    #[derive(Debug, Clone)]
    enum Item {
        Uint(u64),
        Neg(u64),
        Bytes(Vec<u8>),
        Text(String),
        Array(Vec<Item>),
        Map(Vec<(Item, Item)>),
        Tag(u64, Box<Item>),
        Simple(u8),
    }

    /// A head with the argument in the shortest form or, with `wide`, a
    /// longer one (valid CBOR, not canonical: the reader must cope).
    fn head(out: &mut Vec<u8>, major: u8, arg: u64, wide: u8) {
        let m = major << 5;
        let shortest = match arg {
            0..=23 => 0,
            24..=0xff => 1,
            0x100..=0xffff => 2,
            0x1_0000..=0xffff_ffff => 3,
            _ => 4,
        };
        match shortest.max(wide % 5) {
            0 => out.push(m | arg as u8),
            1 => out.extend_from_slice(&[m | 24, arg as u8]),
            2 => {
                out.push(m | 25);
                out.extend_from_slice(&(arg as u16).to_be_bytes());
            }
            3 => {
                out.push(m | 26);
                out.extend_from_slice(&(arg as u32).to_be_bytes());
            }
            _ => {
                out.push(m | 27);
                out.extend_from_slice(&arg.to_be_bytes());
            }
        }
    }

    fn encode(item: &Item, out: &mut Vec<u8>, wide: u8) {
        match item {
            Item::Uint(n) => head(out, 0, *n, wide),
            Item::Neg(n) => head(out, 1, *n, wide),
            Item::Bytes(b) => {
                head(out, 2, b.len() as u64, wide);
                out.extend_from_slice(b);
            }
            Item::Text(t) => {
                head(out, 3, t.len() as u64, wide);
                out.extend_from_slice(t.as_bytes());
            }
            Item::Array(items) => {
                head(out, 4, items.len() as u64, wide);
                for i in items {
                    encode(i, out, wide.rotate_left(1));
                }
            }
            Item::Map(entries) => {
                head(out, 5, entries.len() as u64, wide);
                for (k, v) in entries {
                    encode(k, out, wide.rotate_left(1));
                    encode(v, out, wide.rotate_left(2));
                }
            }
            Item::Tag(t, inner) => {
                head(out, 6, *t, wide);
                encode(inner, out, wide);
            }
            Item::Simple(s) => out.push(0xe0 | (s % 24)),
        }
    }

    /// Keys that are not `authData` (so the generated map has it once).
    fn other_key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("fmt".to_owned()),
            Just("attStmt".to_owned()),
            Just("authdata".to_owned()),
            Just("authData ".to_owned()),
            "[a-zA-Z]{0,10}",
        ]
        .prop_filter("not authData", |k| k != "authData")
    }

    /// Arbitrary items nested a few levels (the reader allows eight).
    fn item() -> impl Strategy<Value = Item> {
        let leaf = prop_oneof![
            any::<u64>().prop_map(Item::Uint),
            any::<u64>().prop_map(Item::Neg),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Item::Bytes),
            other_key().prop_map(Item::Text),
            any::<u8>().prop_map(Item::Simple),
        ];
        leaf.prop_recursive(5, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Item::Array),
                proptest::collection::vec((inner.clone(), inner.clone()), 0..4).prop_map(Item::Map),
                (any::<u64>(), inner).prop_map(|(t, i)| Item::Tag(t, Box::new(i))),
            ]
        })
    }

    /// Authenticator data: rpIdHash, flags, counter, then maybe an AAGUID,
    /// cut at a random length now and then.
    fn auth_data() -> impl Strategy<Value = Vec<u8>> {
        (
            any::<[u8; 32]>(),
            any::<u8>(),
            any::<[u8; 4]>(),
            any::<[u8; 16]>(),
            proptest::collection::vec(any::<u8>(), 0..64),
            prop_oneof![4 => Just(None), 1 => (0usize..120).prop_map(Some)],
        )
            .prop_map(|(rp, flags, count, aaguid, rest, cut)| {
                let mut d = rp.to_vec();
                d.push(flags);
                d.extend_from_slice(&count);
                d.extend_from_slice(&aaguid);
                d.extend_from_slice(&rest);
                if let Some(n) = cut {
                    d.truncate(n);
                }
                d
            })
    }

    /// A top-level map with `authData` among other entries.
    fn object() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
        (
            proptest::collection::vec(
                (
                    prop_oneof![other_key().prop_map(Item::Text), item()],
                    item(),
                ),
                0..5,
            ),
            proptest::collection::vec((other_key().prop_map(Item::Text), item()), 0..3),
            auth_data(),
            any::<u8>(),
        )
            .prop_map(|(before, after, auth, wide)| {
                let mut entries = before;
                entries.push((Item::Text("authData".into()), Item::Bytes(auth.clone())));
                entries.extend(after);
                let mut out = Vec::new();
                encode(&Item::Map(entries), &mut out, wide);
                (out, auth)
            })
    }

    /// What `aaguid` must answer for this authenticator data.
    fn expected(auth: &[u8]) -> Option<String> {
        let flags = *auth.get(32)?;
        let raw = auth.get(37..53)?;
        (flags & 0x40 != 0).then(|| {
            uuid::Uuid::from_slice(raw)
                .map(|u| u.hyphenated().to_string())
                .unwrap_or_default()
        })
    }

    proptest! {
        #[test]
        fn prop_aaguid_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = aaguid(&bytes);
        }

        #[test]
        fn prop_aaguid_is_found_after_any_entries((cbor, auth) in object()) {
            prop_assert_eq!(aaguid(&cbor), expected(&auth));
        }

        #[test]
        fn prop_aaguid_of_a_mutated_object_is_none_or_well_formed(
            (cbor, _) in object(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
        ) {
            let mut cbor = cbor;
            for (at, byte, kind) in edits {
                if cbor.is_empty() {
                    break;
                }
                let i = at.index(cbor.len());
                match kind {
                    0 => cbor[i] = byte,
                    1 => cbor.truncate(i),
                    _ => cbor.insert(i, byte),
                }
            }
            if let Some(id) = aaguid(&cbor) {
                prop_assert!(normalise(&id).as_deref() == Some(id.as_str()), "{id}");
            }
        }

        #[test]
        fn prop_normalise_never_panics_and_is_idempotent(s in any::<String>()) {
            if let Some(n) = normalise(&s) {
                prop_assert_eq!(normalise(&n), Some(n.clone()));
                prop_assert_eq!(n.len(), 36);
            }
        }

        #[test]
        fn prop_normalise_reads_typed_forms(
            id in any::<[u8; 16]>(),
            upper in any::<bool>(),
            braces in any::<bool>(),
            hyphens in any::<bool>(),
            pad in "[ \t]{0,2}",
        ) {
            let canonical = uuid::Uuid::from_bytes(id).hyphenated().to_string();
            let mut typed = if hyphens { canonical.clone() } else { canonical.replace('-', "") };
            if upper {
                typed = typed.to_ascii_uppercase();
            }
            if braces {
                typed = format!("{{{typed}}}");
            }
            let typed = format!("{pad}{typed}{pad}");
            prop_assert_eq!(normalise(&typed), Some(canonical));
        }
    }
}
