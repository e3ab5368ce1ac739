//! Server-rendered pages (askama) and the HTML response they go out in.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use askama::Template;

pub use crate::web::local_time::LocalTime;

/// A query-string value, percent-encoded.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Date and time for people: `2026-11-25 14:03` (UTC).
pub fn minute(t: time::OffsetDateTime) -> String {
    use time::format_description::well_known::Rfc3339;
    t.format(&Rfc3339)
        .map(|s| s.chars().take(16).collect::<String>().replace('T', " "))
        .unwrap_or_default()
}

/// The portal's name for a time on a page: one markup (`web::local_time`).
pub use crate::web::local_time::LocalTime as When;

/// CSP for our pages: our own script and style only, no inline code.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignInPage<'a> {
    pub csrf: &'a str,
    pub request_id: &'a str,
    pub username: &'a str,
    pub app_name: Option<&'a str>,
    pub error: Option<&'a str>,
    /// The ceremony the autofill (conditional) request answers.
    pub passkey: Option<&'a PageCeremony>,
}

/// A passkey ceremony started with a page: the request options as JSON
/// text and the ceremony's id.
pub struct PageCeremony {
    pub options: String,
    pub id: String,
}

#[derive(Template)]
#[template(path = "tap.html")]
pub struct TapPage<'a> {
    pub csrf: &'a str,
    pub request_id: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    /// The moment the error's sentence ends with (a pass's start).
    pub error_at: Option<LocalTime>,
}

#[derive(Template)]
#[template(path = "enroll.html")]
pub struct EnrollPage<'a> {
    pub csrf: &'a str,
    pub request_id: &'a str,
    pub minutes_left: i64,
    /// For the page's countdown (counted from when the page arrives, so
    /// the browser's clock does not matter).
    pub seconds_left: i64,
    pub can_skip: bool,
    /// The passkeys the person has (the lost-phone case: remove one).
    pub passkeys: Vec<PasskeyRow>,
    pub notice: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage<'a> {
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub csrf: &'a str,
    pub title: &'a str,
    pub detail: &'a str,
    pub is_error: bool,
    pub link: Option<(&'a str, &'a str)>,
}

pub fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_CSP))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "page rendering failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Something went wrong. Please try again.")
        }
    }
}

/// `res` with `cookie` set, when there is one (a CSRF cookie the browser
/// did not have yet).
pub fn with_cookie(
    mut res: HttpResponse,
    cookie: Option<&actix_web::cookie::Cookie<'_>>,
) -> HttpResponse {
    if let Some(c) = cookie {
        let _ = res.add_cookie(c);
    }
    res
}

/// 303 to `location` (after a form POST), never cached.
pub fn see_other(location: &str) -> HttpResponse {
    redirect(HttpResponse::SeeOther(), location)
}

/// 302 to `location`, never cached.
pub fn found(location: &str) -> HttpResponse {
    redirect(HttpResponse::Found(), location)
}

fn redirect(mut builder: actix_web::HttpResponseBuilder, location: &str) -> HttpResponse {
    builder
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// A page that explains an error, with an optional way forward.
pub fn error_page(
    status: StatusCode,
    title: &str,
    detail: &str,
    link: Option<(&str, &str)>,
) -> HttpResponse {
    html(
        status,
        &MessagePage {
            csrf: "",
            title,
            detail,
            is_error: true,
            link,
        },
    )
}

/// A passkey as the security info page shows it.
pub struct PasskeyRow {
    pub id: String,
    pub name: String,
    /// The message id of its kind (synced or device-bound).
    pub kind: &'static str,
    /// The authenticator model (`domain::authenticator`), if it says.
    pub model: Option<String>,
    pub created: LocalTime,
    pub last_used: Option<LocalTime>,
}

/// The pass's status on the security info page.
pub enum TapLine {
    ValidUntil(LocalTime),
    ValidBetween(LocalTime, LocalTime),
    ExpiredAt(LocalTime),
    Used,
    TurnedOff,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage<'a> {
    pub csrf: &'a str,
    pub upn: &'a str,
    pub passkeys: Vec<PasskeyRow>,
    pub can_add: bool,
    /// The pass's status, if there is a pass.
    pub tap: Option<TapLine>,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
    /// Holds a directory role: the page links to the admin portal.
    pub is_admin: bool,
}

#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage<'a> {
    pub csrf: &'a str,
    pub title: &'a str,
    pub detail: &'a str,
    pub warning: bool,
    pub action: &'a str,
    pub id: &'a str,
    /// The stored authorization request, for confirmations in a sign-in.
    pub r: Option<&'a str>,
    pub button: &'a str,
    pub cancel: &'a str,
}

#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    pub csrf: &'a str,
    pub client_name: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub post_logout_redirect_uri: Option<&'a str>,
    pub state: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "all_set.html")]
pub struct AllSetPage<'a> {
    pub csrf: &'a str,
    /// Back into the authorization request, or to security info.
    pub continue_url: &'a str,
    /// The application the person is on the way to, if any.
    pub app_name: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutPage<'a> {
    pub csrf: &'a str,
}
