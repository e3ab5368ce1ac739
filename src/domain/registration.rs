//! Relying parties registered by an administrator (API or portal), as
//! opposed to the ones written into the configuration file.

use super::DomainError;
use super::client::{Client, ClientAuthMethod, GrantType, SigningAlg};

/// What an administrator asks for when registering a relying party.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub auth_method: Option<ClientAuthMethod>,
}

impl NewClient {
    /// The auth method, `client_secret_basic` unless given.
    pub fn auth_method(&self) -> ClientAuthMethod {
        self.auth_method
            .unwrap_or(ClientAuthMethod::ClientSecretBasic)
    }

    /// Checks the registration; errors name the API field at fault.
    pub fn validate(&self) -> Result<(), DomainError> {
        // The length counts the name as given (the document's maxLength);
        // surrounding spaces are then dropped.
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            return Err(DomainError::invalid(
                "displayName",
                "must be 1 to 100 characters",
            ));
        }
        let method = self.auth_method();
        if method == ClientAuthMethod::PrivateKeyJwt {
            // Registration has no JWKS field yet; config clients can use it.
            return Err(DomainError::invalid(
                "tokenEndpointAuthMethod",
                "must be client_secret_basic, client_secret_post or none",
            ));
        }
        if self.grant_types.is_empty() {
            return Err(DomainError::invalid(
                "grantTypes",
                "name at least one grant type",
            ));
        }
        let has = |g| self.grant_types.contains(&g);
        if has(GrantType::ClientCredentials) && method == ClientAuthMethod::None {
            return Err(DomainError::invalid(
                "grantTypes",
                "a public client (tokenEndpointAuthMethod none) cannot use client_credentials",
            ));
        }
        if has(GrantType::RefreshToken) && !has(GrantType::AuthorizationCode) {
            return Err(DomainError::invalid(
                "grantTypes",
                "refresh_token needs authorization_code",
            ));
        }
        if has(GrantType::AuthorizationCode) && self.redirect_uris.is_empty() {
            return Err(DomainError::invalid(
                "redirectUris",
                "authorization_code needs at least one redirect URI",
            ));
        }
        for uri in &self.redirect_uris {
            check_uri("redirectUris", uri)?;
        }
        for uri in &self.post_logout_redirect_uris {
            check_uri("postLogoutRedirectUris", uri)?;
        }
        Ok(())
    }

    /// The client record, with the id and secret digest chosen by the server.
    pub fn into_client(self, id: String, secret_sha256: Option<[u8; 32]>) -> Client {
        let auth_method = self.auth_method();
        let mut grant_types = self.grant_types;
        grant_types.dedup();
        Client {
            id,
            name: Some(self.name.trim().to_owned()),
            secret_sha256,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            backchannel_logout_uri: None,
            grant_types,
            auth_method,
            id_token_alg: SigningAlg::RS256,
            access_token_alg: SigningAlg::ES256,
            permissions: Vec::new(),
            delegated_permissions: Vec::new(),
            jwks: None,
            introspection_audiences: Vec::new(),
        }
    }
}

/// Redirect targets must be exact absolute URLs: https anywhere, http only
/// on the loopback host (RFC 8252 §7.3, OAuth security BCP §4.1), written
/// in the plain RFC 3986 form of [`uri_form`].
fn check_uri(field: &'static str, uri: &str) -> Result<(), DomainError> {
    if !uri_form(uri) {
        return Err(DomainError::invalid(
            field,
            format!(
                "`{uri}` must be https://host[:port][/path][?query] (http only on localhost, \
                 127.0.0.1 or [::1]): a host name or IPv4 address, and only RFC 3986 \
                 characters or %-escapes in the path and query"
            ),
        ));
    }
    let parsed =
        url::Url::parse(uri).map_err(|e| DomainError::invalid(field, format!("`{uri}`: {e}")))?;
    if parsed.fragment().is_some() {
        return Err(DomainError::invalid(
            field,
            format!("`{uri}` must not have a fragment"),
        ));
    }
    let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(DomainError::invalid(
            field,
            format!("`{uri}` must be https (http only on localhost)"),
        )),
    }
}

/// The form a registered redirect URI must have, the same as the `pattern`
/// of `redirectUris` in the API document (`web::handlers::api::doc::fields`):
///
/// ```text
/// ^(?:https://(?:IPV4|(?:LABEL\.)*ALPHALABEL)|http://(?:localhost|127\.0\.0\.1|\[::1\]))
///  (?::PORT)?(?:/(?:PCHAR|/)*)?(?:\?(?:PCHAR|[/?])*)?$
/// ```
///
/// with LABEL letters and digits in runs joined by single hyphens,
/// ALPHALABEL such a label that starts with a letter (so that the host is
/// not read as an IPv4 address), IPV4 four decimal octets 0–255 without
/// leading zeros, PORT 0–65535 (up to four digits, or five from 10000),
/// PCHAR an RFC 3986 unreserved or sub-delims character, `:`, `@` or a
/// %-escape. Every such URI parses as a URL (no fragment, no `xn--`
/// labels, which would need IDNA checks, no IPv6 literal but `[::1]`).
fn uri_form(uri: &str) -> bool {
    let (host_ok, rest) = if let Some(rest) = uri.strip_prefix("https://") {
        let end = rest.find([':', '/', '?']).unwrap_or(rest.len());
        let host = &rest[..end];
        (ipv4(host) || dns_name(host), &rest[end..])
    } else if let Some(rest) = uri.strip_prefix("http://") {
        match ["localhost", "127.0.0.1", "[::1]"]
            .into_iter()
            .find_map(|h| rest.strip_prefix(h))
        {
            Some(after) => (true, after),
            None => (false, rest),
        }
    } else {
        (false, uri)
    };
    if !host_ok {
        return false;
    }
    let mut rest = rest;
    if let Some(after) = rest.strip_prefix(':') {
        let end = after.find(['/', '?']).unwrap_or(after.len());
        let port = &after[..end];
        let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
        let in_range = port.len() <= 4
            || (port.len() == 5
                && !port.starts_with('0')
                && port.parse::<u32>().is_ok_and(|p| p <= 65_535));
        if !(digits && in_range) {
            return false;
        }
        rest = &after[end..];
    }
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if !path.is_empty() && !path.starts_with('/') {
        return false;
    }
    uri_chars(path, "/") && query.is_none_or(|q| uri_chars(q, "/?"))
}

/// RFC 3986 pchar (unreserved, sub-delims, `:`, `@`, %-escapes) or `extra`.
fn uri_chars(s: &str, extra: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
            continue;
        }
        let ok = c.is_ascii_alphanumeric()
            || b"-._~!$&'()*+,;=:@".contains(&c)
            || extra.as_bytes().contains(&c);
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// Letters and digits in runs joined by single hyphens.
fn label(l: &str) -> bool {
    !l.is_empty()
        && l.split('-')
            .all(|run| !run.is_empty() && run.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn dns_name(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    labels.iter().all(|l| label(l))
        && labels
            .last()
            .is_some_and(|l| l.as_bytes().first().is_some_and(u8::is_ascii_alphabetic))
}

fn ipv4(host: &str) -> bool {
    let octets: Vec<&str> = host.split('.').collect();
    octets.len() == 4
        && octets.iter().all(|o| {
            !o.is_empty()
                && o.len() <= 3
                && o.bytes().all(|b| b.is_ascii_digit())
                && (o.len() == 1 || !o.starts_with('0'))
                && o.parse::<u16>().is_ok_and(|n| n <= 255)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web_app() -> NewClient {
        NewClient {
            name: "Payroll".into(),
            redirect_uris: vec!["https://payroll.example.com/cb".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            ..Default::default()
        }
    }

    #[test]
    fn accepts_a_web_app_and_refuses_bad_registrations() {
        assert!(web_app().validate().is_ok());
        let field_of = |c: NewClient| match c.validate() {
            Err(DomainError::Invalid { field, .. }) => field.into_owned(),
            other => panic!("expected invalid, got {other:?}"),
        };
        let mut c = web_app();
        c.redirect_uris = vec!["http://payroll.example.com/cb".into()];
        assert_eq!(field_of(c), "redirectUris");
        let mut c = web_app();
        c.redirect_uris = vec!["https://payroll.example.com/cb#x".into()];
        assert_eq!(field_of(c), "redirectUris");
        let mut c = web_app();
        c.redirect_uris.clear();
        assert_eq!(field_of(c), "redirectUris");
        let mut c = web_app();
        c.name = "  ".into();
        assert_eq!(field_of(c), "displayName");
        let mut c = web_app();
        c.auth_method = Some(ClientAuthMethod::None);
        c.grant_types = vec![GrantType::ClientCredentials];
        assert_eq!(field_of(c), "grantTypes");
        let mut c = web_app();
        c.grant_types = vec![GrantType::RefreshToken];
        assert_eq!(field_of(c), "grantTypes");
        let mut c = web_app();
        c.redirect_uris = vec!["http://localhost:8080/cb".into()];
        assert!(c.validate().is_ok());
        let mut c = web_app();
        c.name = format!(" {}", "n".repeat(100));
        assert_eq!(field_of(c), "displayName");
    }

    #[test]
    fn redirect_uris_have_the_documented_form() {
        for good in [
            "https://payroll.example.com/cb",
            "https://Payroll.Example.COM",
            "https://a-b.c-d9.example/x/y?z=1&w=%2F#".trim_end_matches('#'),
            "https://localhost:8443/cb",
            "https://192.0.2.10:65535/",
            "https://x.y:10000",
            "https://x.y:0080/cb",
            "http://localhost/cb",
            "http://127.0.0.1:8400/cb?x=/?",
            "http://[::1]:8400",
            "https://e.com/a:b@c!$&'()*+,;=~._-",
        ] {
            assert!(uri_form(good), "{good}");
            assert!(url::Url::parse(good).is_ok(), "{good}");
            assert!(check_uri("redirectUris", good).is_ok(), "{good}");
        }
        for bad in [
            "HTTPS://example.com/cb",
            "https://",
            "https://example.com#x",
            "https://example.com/a b",
            "https://example.com/%zz",
            "https://xn--zz.com/",
            "https://a--b.com/",
            "https://-a.com/",
            "https://a.123/",
            "https://a.0x1f/",
            "https://010.0.0.1/",
            "https://256.0.0.1/",
            "https://example.com.",
            "https://example.com:",
            "https://example.com:65536/",
            "https://example.com:01000/",
            "https://[2001:db8::1]/",
            "http://example.com/cb",
            "http://localhost.example.com/cb",
            "http://localhostx/",
            "https://example.com?a#b",
            "https:example.com",
            "ftp://example.com/",
        ] {
            assert!(!uri_form(bad), "{bad}");
            assert!(check_uri("redirectUris", bad).is_err(), "{bad}");
        }
    }
}
