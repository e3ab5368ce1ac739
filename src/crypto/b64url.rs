//! Base64url without padding (RFC 4648 §5), as WebAuthn, PKCE and JOSE use.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The bytes of [`encode`]'s text, if it is such text (padding and the
/// standard alphabet are refused).
pub fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_alphabets() {
        let bytes = [0xfb, 0xff, 0x00, 0x3e];
        assert_eq!(encode(&bytes), "-_8APg");
        assert_eq!(decode("-_8APg").as_deref(), Some(&bytes[..]));
        assert_eq!(decode("+/8APg"), None);
        assert_eq!(decode("-_8APg=="), None);
    }
}
