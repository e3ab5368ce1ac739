//! Session and CSRF cookies. `__Host-` names and `Secure` when the issuer
//! is https (browsers refuse both on plain http, e.g. in development).

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use subtle::ConstantTimeEq;

use crate::crypto::random::{self, Random};

pub struct CookieNames {
    pub session: &'static str,
    pub csrf: &'static str,
    secure: bool,
}

impl CookieNames {
    pub fn for_issuer(issuer: &str) -> Self {
        if issuer.starts_with("https://") {
            Self {
                session: "__Host-onramp_session",
                csrf: "__Host-onramp_csrf",
                secure: true,
            }
        } else {
            Self {
                session: "onramp_session",
                csrf: "onramp_csrf",
                secure: false,
            }
        }
    }

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
