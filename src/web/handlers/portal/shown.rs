//! Pages shown once (a new pass, a new client secret), by post/redirect/
//! get through `service::shown_once`: the POST that made the secret
//! answers with a redirect, and the page itself can be opened once, by the
//! administrator who made it. Reloading it says it was shown already;
//! nothing is issued again.

use actix_web::cookie::SameSite;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::admin::Chrome;
use super::admin::{Admin, BackTo, PortalError};
use super::cookie;
use crate::service::shown_once::Ticket;
use crate::state::AppState;
use crate::web::pages::{When, see_other};

/// A new pass, as its page shows it.
#[derive(Serialize, Deserialize)]
pub struct TapShown {
    pub user_id: String,
    pub upn: String,
    pub display_name: String,
    pub passcode: String,
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    pub once: bool,
}

/// A new client, with its secret if it has one.
#[derive(Serialize, Deserialize)]
pub struct ClientShown {
    pub id: String,
    pub name: String,
    pub secret: Option<String>,
}

/// A new webhook subscription with its signing secret.
#[derive(Serialize, Deserialize)]
pub struct WebhookShown {
    pub id: String,
    pub url: String,
    pub secret: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Shown {
    Tap(TapShown),
    Client(ClientShown),
    Webhook(WebhookShown),
}

/// Path of the page; the cookie is sent to it only (SameSite=Strict).
const PATH: &str = "/admin/shown";

fn cookie_name(state: &AppState) -> &'static str {
    super::cookie_name(state, "__Host-onramp_shown", "onramp_shown")
}

/// Seals `page` for this administrator and sends the browser to it.
pub async fn show(
    state: &AppState,
    admin: &Admin,
    page: &Shown,
    back: &str,
) -> Result<HttpResponse, PortalError> {
    let ticket = state
        .shown_once
        .keep(&admin.caller.actor.id, page)
        .await
        .back_to(admin, back)?;
    let mut res = see_other(&format!("{PATH}/{}", ticket.id));
    let value = format!("{}.{}", ticket.id, ticket.key);
    let _ = res.add_cookie(&cookie(
        state,
        cookie_name(state),
        value,
        600,
        SameSite::Strict,
    ));
    Ok(res)
}

/// `GET /admin/shown/{id}`: the page, once.
pub async fn view(
    path: web::Path<String>,
    req: HttpRequest,
    state: web::Data<AppState>,
    admin: Admin,
) -> Result<HttpResponse, PortalError> {
    let id = path.into_inner();
    let key = req.cookie(cookie_name(&state)).and_then(|c| {
        let (for_id, key) = c.value().split_once('.')?;
        (for_id == id).then(|| key.to_owned())
    });
    let page = match key {
        Some(key) => state
            .shown_once
            .take::<Shown>(&Ticket { id, key }, &admin.caller.actor.id)
            .await
            .back_to(&admin, "/admin")?,
        None => None,
    };
    let mut res = match page {
        Some(Shown::Tap(t)) => tap_created(&admin, &state.ctx.issuer, &t),
        Some(Shown::Client(c)) => client_created(&admin, &c),
        Some(Shown::Webhook(w)) => webhook_created(&admin, &w),
        None => return Err(already_shown(&admin)),
    };
    let _ = res.add_removal_cookie(&cookie(
        &state,
        cookie_name(&state),
        String::new(),
        0,
        SameSite::Strict,
    ));
    Ok(res)
}

fn already_shown(admin: &Admin) -> PortalError {
    admin.explain(
        StatusCode::GONE,
        "Already shown",
        "For safety, a Temporary Access Pass, a client secret or a webhook secret is shown only once, right after it is made, and only to the administrator who made it. If it was not written down, issue a new one: the new one replaces the old.",
        "/admin",
    )
}

#[derive(Template)]
#[template(path = "admin/tap_created.html")]
struct TapCreatedPage<'a> {
    chrome: &'a Chrome,
    user_id: &'a str,
    upn: &'a str,
    display_name: &'a str,
    passcode: &'a str,
    start: When,
    end: When,
    once: bool,
    link: &'a str,
    qr: String,
}

/// The QR code of `text` as an SVG data URI (for an `<img>`: no inline code).
fn qr_data_uri(text: &str) -> Option<String> {
    use base64::Engine;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

/// The page that shows a new pass once, with the user's sign-in link.
fn tap_created(admin: &Admin, issuer: &str, tap: &TapShown) -> HttpResponse {
    let link = crate::service::bootstrap::sign_in_link(issuer, &tap.upn);
    let page = TapCreatedPage {
        chrome: &admin.chrome,
        user_id: &tap.user_id,
        upn: &tap.upn,
        display_name: &tap.display_name,
        passcode: &tap.passcode,
        start: When(tap.start),
        end: When(tap.end),
        once: tap.once,
        qr: qr_data_uri(&link).unwrap_or_default(),
        link: &link,
    };
    admin.page(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "admin/client_created.html")]
struct ClientCreatedPage<'a> {
    chrome: &'a Chrome,
    id: &'a str,
    name: &'a str,
    secret: Option<&'a str>,
}

/// The page that shows a new client (and its secret) once.
fn client_created(admin: &Admin, client: &ClientShown) -> HttpResponse {
    let page = ClientCreatedPage {
        chrome: &admin.chrome,
        id: &client.id,
        name: &client.name,
        secret: client.secret.as_deref(),
    };
    admin.page(StatusCode::OK, &page)
}

#[derive(Template)]
#[template(path = "admin/webhook_created.html")]
struct WebhookCreatedPage<'a> {
    chrome: &'a Chrome,
    id: &'a str,
    url: &'a str,
    secret: &'a str,
}

/// The page that shows a new subscription's signing secret once.
fn webhook_created(admin: &Admin, hook: &WebhookShown) -> HttpResponse {
    let page = WebhookCreatedPage {
        chrome: &admin.chrome,
        id: &hook.id,
        url: &hook.url,
        secret: &hook.secret,
    };
    admin.page(StatusCode::OK, &page)
}
