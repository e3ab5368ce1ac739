//! The few static files, compiled in so the binary needs nothing on disk.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

const CSS: &str = include_str!("../../../static/css/onramp.css");
const JS: &str = include_str!("../../../static/js/webauthn.js");
const ADMIN_JS: &str = include_str!("../../../static/js/admin.js");
const TIME_JS: &str = include_str!("../../../static/js/time.js");
const ICON: &str = include_str!("../../../static/favicon.svg");

pub async fn asset(path: web::Path<String>) -> HttpResponse {
    let (body, kind) = match path.as_str() {
        "css/onramp.css" => (CSS, "text/css; charset=utf-8"),
        "js/webauthn.js" => (JS, "text/javascript; charset=utf-8"),
        "js/admin.js" => (ADMIN_JS, "text/javascript; charset=utf-8"),
        "js/time.js" => (TIME_JS, "text/javascript; charset=utf-8"),
        "favicon.svg" => (ICON, "image/svg+xml"),
        _ => return HttpResponse::NotFound().finish(),
    };
    HttpResponse::Ok()
        .content_type(kind)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

/// `/favicon.ico`, which browsers ask for on their own: the same icon (as
/// SVG, which they take whatever the name says).
pub async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(ICON)
}

/// `GET /`: what this is and where to go.
pub async fn home() -> HttpResponse {
    crate::web::pages::html(
        actix_web::http::StatusCode::OK,
        &crate::web::pages::HomePage { csrf: "" },
    )
}
