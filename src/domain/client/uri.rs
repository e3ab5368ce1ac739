//! The URL rules of a client record: the one form of a redirect URI (the
//! same as the API document's `pattern`), and when plain http is allowed.

use std::borrow::Cow;

use crate::domain::DomainError;

/// `localhost`, or a loopback IP address (`127.0.0.0/8`, `[::1]`): where
/// plain http stays on this machine (RFC 8252 §7.3).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A URL Onramp itself calls (a client's `jwks_uri`): https, or http on the
/// loopback host (tests, a client on the same machine), since what it
/// serves is trusted.
pub(super) fn check_fetched_uri(field: Cow<'static, str>, uri: &str) -> Result<(), DomainError> {
    let fail = |m: &str| Err(DomainError::invalid(field.clone(), format!("`{uri}` {m}")));
    let Ok(url) = url::Url::parse(uri) else {
        return fail("is not a URL");
    };
    if url.fragment().is_some() || url.host_str().is_none() {
        return fail("must be an absolute URL without a fragment");
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        _ => fail("must be https (http only on localhost, 127.0.0.1 or [::1])"),
    }
}

/// An absolute URL without a fragment (a back-channel logout endpoint).
pub(super) fn check_absolute_uri(field: Cow<'static, str>, uri: &str) -> Result<(), DomainError> {
    parse_absolute(field, uri).map(drop)
}

fn parse_absolute(field: Cow<'static, str>, uri: &str) -> Result<url::Url, DomainError> {
    let parsed = url::Url::parse(uri)
        .map_err(|e| DomainError::invalid(field.clone(), format!("`{uri}`: {e}")))?;
    if parsed.fragment().is_some() {
        return Err(DomainError::invalid(
            field,
            format!("`{uri}` must not have a fragment"),
        ));
    }
    Ok(parsed)
}

/// Redirect targets must be exact absolute URLs: https anywhere, http only
/// on the loopback host (RFC 8252 §7.3, OAuth security BCP §4.1), written
/// in the plain RFC 3986 form of [`uri_form`].
pub(super) fn check_uri(field: impl Into<Cow<'static, str>>, uri: &str) -> Result<(), DomainError> {
    let field = field.into();
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
    let parsed = parse_absolute(field.clone(), uri)?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&parsed) => Ok(()),
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
