//! Session and CSRF cookies: built and read here, with the names and flags
//! of [`CookieNames`] (`__Host-` and `Secure` with an https issuer).

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use subtle::ConstantTimeEq;

use crate::crypto::random::{self, Random};

/// The type lives beside the state that holds it (the names are decided
/// once from the issuer); building and reading the cookies is this module's.
pub use crate::state::CookieNames;

impl CookieNames {
    fn build(
        &self,
        name: &'static str,
        value: String,
        max_age: Option<CookieDuration>,
    ) -> Cookie<'static> {
        let mut c = Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .finish();
        if let Some(age) = max_age {
            c.set_max_age(age);
        }
        c
    }

    pub fn session_cookie(&self, secret: String, max_age_seconds: i64) -> Cookie<'static> {
        self.build(
            self.session,
            secret,
            Some(CookieDuration::seconds(max_age_seconds.max(0))),
        )
    }

    pub fn csrf_cookie(&self, token: String) -> Cookie<'static> {
        self.build(self.csrf, token, None)
    }

    pub fn session(&self, req: &HttpRequest) -> Option<String> {
        req.cookie(self.session).map(|c| c.value().to_owned())
    }

    /// The CSRF token of this browser, and a cookie to set if it is new.
    pub fn csrf(&self, req: &HttpRequest, rng: &dyn Random) -> (String, Option<Cookie<'static>>) {
        match req
            .cookie(self.csrf)
            .map(|c| c.value().to_owned())
            .filter(|v| v.len() == 43)
        {
            Some(token) => (token, None),
            None => {
                let token = random::token::<32>(rng).unwrap_or_default();
                let cookie = self.csrf_cookie(token.clone());
                (token, Some(cookie))
            }
        }
    }

    /// Double-submit check: the submitted token must equal the cookie.
    pub fn csrf_ok(&self, req: &HttpRequest, submitted: Option<&str>) -> bool {
        match (req.cookie(self.csrf), submitted) {
            (Some(cookie), Some(sent)) if !sent.is_empty() => {
                cookie.value().as_bytes().ct_eq(sent.as_bytes()).into()
            }
            _ => false,
        }
    }
}

/// Property tests (`prop_*`; `PROPTEST_CASES` sets the number of cases).
#[cfg(test)]
mod proptests {
    use super::*;
    use crate::crypto::CryptoError;
    use actix_web::http::header::{COOKIE, HeaderValue};
    use actix_web::test::TestRequest;
    use proptest::prelude::*;

    /// Hands out the bytes it was given, so generated tokens are known.
    struct Fixed([u8; 32]);

    impl Random for Fixed {
        fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
            for (b, f) in buf.iter_mut().zip(self.0.iter().cycle()) {
                *b = *f;
            }
            Ok(())
        }
    }

    /// An https issuer (`__Host-` names) or a plain http one.
    fn issuer() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just("https://id.example"), Just("http://localhost:8080")]
    }

    /// Other cookies a browser may send alongside ours.
    fn other() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z_]{1,12}=[a-zA-Z0-9%._~-]{0,20}",
            Just("onramp_sessionx=1".to_owned()),
            Just("x_onramp_csrf=2".to_owned()),
            Just("=nameless".to_owned()),
            Just("flag".to_owned()),
        ]
    }

    /// A `Cookie` header (over one or two lines) with `ours` among others.
    fn request(ours: &[String], others: &[String], split: usize) -> actix_web::HttpRequest {
        let mut all: Vec<&str> = others.iter().map(String::as_str).collect();
        for (i, c) in ours.iter().enumerate() {
            let at = (split + i * 7) % (all.len() + 1);
            all.insert(at, c);
        }
        let (a, b) = all.split_at(split % (all.len() + 1));
        let mut req = TestRequest::default();
        for part in [a, b] {
            if !part.is_empty() {
                req = req.append_header((COOKIE, part.join("; ")));
            }
        }
        req.to_http_request()
    }

    proptest! {
        #[test]
        fn prop_cookie_session_reads_back_what_was_written(
            issuer in issuer(),
            bytes in any::<[u8; 32]>(),
            age in any::<i64>(),
            others in proptest::collection::vec(other(), 0..5),
            split in any::<usize>(),
        ) {
            let names = CookieNames::for_issuer(issuer);
            let secret = random::token::<32>(&Fixed(bytes)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let written = names.session_cookie(secret.clone(), age);
            prop_assert!(written.max_age().is_some_and(|a| a.whole_seconds() >= 0));
            // The browser sends back name=value.
            let sent = format!("{}={}", written.name(), written.value());
            let req = request(&[sent], &others, split);
            prop_assert_eq!(names.session(&req), Some(secret));
        }

        #[test]
        fn prop_cookie_csrf_is_kept_or_made_anew(
            issuer in issuer(),
            bytes in any::<[u8; 32]>(),
            existing in prop_oneof![
                Just(None),
                any::<[u8; 32]>().prop_map(|b| random::token::<32>(&Fixed(b)).ok()),
                "[a-zA-Z0-9_-]{0,50}".prop_map(Some),
            ],
            others in proptest::collection::vec(other(), 0..5),
            split in any::<usize>(),
            submitted in prop_oneof![Just(None), "[a-zA-Z0-9_-]{0,44}".prop_map(Some)],
        ) {
            let names = CookieNames::for_issuer(issuer);
            let ours: Vec<String> = existing.iter().map(|v| format!("{}={v}", names.csrf)).collect();
            let req = request(&ours, &others, split);
            let (token, cookie) = names.csrf(&req, &Fixed(bytes));
            match existing.as_deref().filter(|v| v.len() == 43) {
                Some(v) => {
                    prop_assert_eq!(token.as_str(), v);
                    prop_assert!(cookie.is_none());
                }
                None => {
                    prop_assert_eq!(token.len(), 43);
                    prop_assert_eq!(cookie.map(|c| c.value().to_owned()), Some(token.clone()));
                }
            }
            // Double submit: equal and non-empty, nothing else.
            let ok = names.csrf_ok(&req, submitted.as_deref());
            let expected = match (existing.as_deref(), submitted.as_deref()) {
                (Some(c), Some(s)) => !s.is_empty() && c == s,
                _ => false,
            };
            prop_assert_eq!(ok, expected);
            let longer = format!("{token}x");
            prop_assert!(!names.csrf_ok(&req, Some(&longer)));
        }

        #[test]
        fn prop_cookie_header_never_panics(
            issuer in issuer(),
            values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..3),
            submitted in proptest::option::of(any::<String>()),
        ) {
            let names = CookieNames::for_issuer(issuer);
            let mut req = TestRequest::default();
            for v in values {
                if let Ok(h) = HeaderValue::from_bytes(&v) {
                    req = req.append_header((COOKIE, h));
                }
            }
            let req = req.to_http_request();
            let _ = names.session(&req);
            let (token, _) = names.csrf(&req, &Fixed([7; 32]));
            prop_assert!(!token.is_empty());
            let _ = names.csrf_ok(&req, submitted.as_deref());
        }
    }
}
