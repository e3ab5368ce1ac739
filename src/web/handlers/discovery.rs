use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::state::AppState;

pub async fn openid_configuration(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(state.discovery.clone().to_string())
}

pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    let ring = state.ctx.keys.ring();
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(ring.jwks_json().to_string())
}
