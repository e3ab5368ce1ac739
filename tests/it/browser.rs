//! A scripted browser for the sign-in pages: cookies, forms with CSRF
//! tokens, and a software authenticator for the WebAuthn steps.

use reqwest::header::LOCATION;
use serde_json::{Value, json};
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub authenticator: Authenticator,
}

/// A passkey authenticator with discoverable (resident) credentials, as
/// Onramp requires: a sign-in needs no user name, and the assertion carries
/// the user handle. The software authenticator keeps keys by credential id
/// only, so this keeps what a resident credential holds besides the key
/// (user name and user handle) and plays the account chooser at sign-in.
pub struct Authenticator {
    soft: SoftPasskey,
    /// (user name, user handle, credential id), base64url as on the wire.
    resident: Vec<(String, Value, Value)>,
}

impl Authenticator {
    pub fn new() -> Self {
        Self {
            soft: SoftPasskey::new(true),
            resident: Vec::new(),
        }
    }

    /// navigator.credentials.create(): the registration response as JSON.
    pub fn register(&mut self, origin: &str, options: &Value) -> Value {
        let user = &options["publicKey"]["user"];
        let credential = self
            .soft
            .do_registration(
                Url::parse(origin).unwrap(),
                serde_json::from_value(options.clone()).unwrap(),
            )
            .unwrap();
        let credential = serde_json::to_value(credential).unwrap();
        self.resident.push((
            user["name"].as_str().unwrap().to_owned(),
            user["id"].clone(),
            credential["rawId"].clone(),
        ));
        credential
    }

    /// navigator.credentials.get() for usernameless options (no
    /// allowCredentials): the person picks `username`'s passkey.
    pub fn assert(&mut self, origin: &str, options: &Value, username: &str) -> Value {
        let (_, user_handle, credential_id) = self
            .resident
            .iter()
            .rev()
            .find(|(name, _, _)| name.eq_ignore_ascii_case(username))
            .unwrap_or_else(|| panic!("no passkey for {username} on this authenticator"))
            .clone();
        let mut options = options.clone();
        let listed = options["publicKey"]["allowCredentials"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
        assert!(!listed, "the server named credentials: {options}");
        // The authenticator finds the resident credential itself.
        options["publicKey"]["allowCredentials"] =
            json!([{ "type": "public-key", "id": credential_id }]);
        let assertion = self
            .soft
            .do_authentication(
                Url::parse(origin).unwrap(),
                serde_json::from_value(options).unwrap(),
            )
            .unwrap();
        let mut assertion = serde_json::to_value(assertion).unwrap();
        assertion["response"]["userHandle"] = user_handle;
        assertion
    }
}

impl Browser {
    /// How many passkeys this browser's authenticator holds.
    pub fn authenticator_credentials(&self) -> usize {
        self.authenticator.resident.len()
    }
}

impl Default for Authenticator {
    fn default() -> Self {
        Self::new()
    }
}

/// A page or a redirect.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Response {
    /// The value of a hidden input `name` on the page.
    pub fn field(&self, name: &str) -> String {
        self.quoted_after(&format!("name=\"{name}\" value=\""))
    }

    /// The unescaped text between `needle`'s first occurrence and the next `"`.
    fn quoted_after(&self, needle: &str) -> String {
        let start = self
            .body
            .find(needle)
            .unwrap_or_else(|| panic!("no {needle} in {}", self.body))
            + needle.len();
        let end = self.body[start..].find('"').unwrap();
        html_unescape(&self.body[start..start + end])
    }

    /// The `href` of the link with `id`.
    pub fn link(&self, id: &str) -> String {
        let at = self
            .body
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no link {id} in {}", self.body));
        let tag_start = self.body[..at].rfind('<').unwrap();
        let tag = &self.body[tag_start..];
        let start = tag.find("href=\"").unwrap() + 6;
        let end = tag[start..].find('"').unwrap();
        html_unescape(&tag[start..start + end])
    }

    /// The value of the first `data-{name}` attribute on the page.
    pub fn data(&self, name: &str) -> String {
        self.quoted_after(&format!("data-{name}=\""))
    }

    pub fn meta_csrf(&self) -> String {
        let needle = "name=\"csrf-token\" content=\"";
        let start = self.body.find(needle).unwrap() + needle.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end].to_owned()
    }
}

fn html_unescape(s: &str) -> String {
    // `&amp;` last, so that an escaped `&` is never decoded twice.
    s.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#43;", "+")
        .replace("&#47;", "/")
        .replace("&#61;", "=")
        .replace("&#45;", "-")
        .replace("&#95;", "_")
        .replace("&#37;", "%")
        .replace("&#63;", "?")
        .replace("&amp;", "&")
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .pool_idle_timeout(std::time::Duration::from_secs(2))
                .redirect(reqwest::redirect::Policy::none())
                .cookie_store(true)
                .build()
                .unwrap(),
            base: base.to_owned(),
            authenticator: Authenticator::new(),
        }
    }

    fn abs(&self, url: &str) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        }
    }

    pub async fn wrap(res: reqwest::Response) -> Response {
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        Response {
            status,
            location,
            body: res.text().await.unwrap(),
        }
    }

    /// A URL elsewhere (the application, with its code) is not fetched:
    /// the answer is a redirect there, as a browser would follow it.
    pub async fn get(&self, url: &str) -> Response {
        let url = self.abs(url);
        if !url.starts_with(&self.base) {
            return Response {
                status: 303,
                location: Some(url),
                body: String::new(),
            };
        }
        Self::wrap(self.http.get(url).send().await.unwrap()).await
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Response {
        Self::wrap(
            self.http
                .post(self.abs(url))
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post_json(&self, url: &str, csrf: &str, body: Value) -> (u16, Value) {
        let res = self
            .http
            .post(self.abs(url))
            .header("x-csrf-token", csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Follows redirects on this server until a page, or a redirect elsewhere.
    pub async fn follow(&self, mut res: Response) -> Response {
        for _ in 0..10 {
            match &res.location {
                Some(loc) if loc.starts_with('/') || loc.starts_with(&self.base) => {
                    res = self.get(&loc.clone()).await;
                }
                _ => return res,
            }
        }
        res
    }

    /// Opens an authorize URL and lands on the sign-in page (or elsewhere).
    pub async fn open(&self, url: &str) -> Response {
        let res = self.get(url).await;
        self.follow(res).await
    }

    /// User name then TAP; returns what follows the TAP form.
    pub async fn sign_in_with_tap(
        &self,
        signin_page: &Response,
        username: &str,
        passcode: &str,
    ) -> Response {
        let csrf = signin_page.field("csrf");
        let r = signin_page.field("r");
        let tap_page = self
            .post_form(
                "/signin",
                &[("csrf", &csrf), ("r", &r), ("username", username)],
            )
            .await;
        assert_eq!(tap_page.status, 200, "{}", tap_page.body);
        assert!(tap_page.body.contains("autocomplete=\"one-time-code\""));
        self.post_form(
            "/signin/tap",
            &[
                ("csrf", &csrf),
                ("r", &r),
                ("username", username),
                ("passcode", passcode),
            ],
        )
        .await
    }

    /// On the enrollment page: registers a passkey; returns the next
    /// response, past the "all set" page (its Continue link followed).
    pub async fn enroll(&mut self, enroll_page: &Response) -> Response {
        let next = self.enroll_only(enroll_page).await;
        match next.body.contains("id=\"continue\"") {
            true => {
                let href = next.link("continue");
                let res = self.get(&href).await;
                self.follow(res).await
            }
            false => next,
        }
    }

    /// On the enrollment page: registers a passkey; returns the page it
    /// leads to (the "all set" page after a pass's first passkey).
    pub async fn enroll_only(&mut self, enroll_page: &Response) -> Response {
        let csrf = enroll_page.meta_csrf();
        let r = enroll_page.field("r");
        let (status, started) = self
            .post_json("/enroll/options", &csrf, json!({ "r": r }))
            .await;
        assert_eq!(status, 200, "{started}");
        let credential = self.authenticator.register(&self.base, &started["options"]);
        let (status, done) = self
            .post_json(
                "/enroll/finish",
                &csrf,
                json!({ "r": r, "ceremony": started["ceremony"], "credential": credential }),
            )
            .await;
        assert_eq!(status, 200, "{done}");
        let next = self.get(done["redirect"].as_str().unwrap()).await;
        self.follow(next).await
    }

    /// On the sign-in page: signs in with a passkey (usernameless), picking
    /// `username`'s passkey on the authenticator.
    pub async fn sign_in_with_passkey(
        &mut self,
        signin_page: &Response,
        username: &str,
    ) -> (u16, Value) {
        let csrf = signin_page.meta_csrf();
        let body = self.passkey_finish_body(signin_page, username);
        self.post_json("/signin/passkey/finish", &csrf, body).await
    }

    /// Has the authenticator answer the passkey ceremony `signin_page` came
    /// with (as the browser's autofill request does): the body of the
    /// finish, not yet sent.
    pub fn passkey_finish_body(&mut self, signin_page: &Response, username: &str) -> Value {
        let options: Value = serde_json::from_str(&signin_page.data("options"))
            .expect("the page's passkey options are JSON");
        let started = json!({ "options": options, "ceremony": signin_page.data("ceremony") });
        self.answer(&signin_page.field("r"), &started, username)
    }

    /// As `passkey_finish_body`, with a ceremony of its own from
    /// `/signin/passkey/options` (as the page's button asks).
    pub async fn passkey_finish_body_of_button(
        &mut self,
        signin_page: &Response,
        username: &str,
    ) -> Value {
        let csrf = signin_page.meta_csrf();
        let r = signin_page.field("r");
        let (status, started) = self
            .post_json("/signin/passkey/options", &csrf, json!({ "r": r }))
            .await;
        assert_eq!(status, 200, "{started}");
        self.answer(&r, &started, username)
    }

    fn answer(&mut self, r: &str, started: &Value, username: &str) -> Value {
        let credential = self
            .authenticator
            .assert(&self.base, &started["options"], username);
        json!({ "r": r, "ceremony": started["ceremony"], "credential": credential })
    }
}
