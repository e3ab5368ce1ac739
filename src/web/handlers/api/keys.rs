//! `/signingKeys/rotate`: Onramp's own action on its token signing keys.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use super::Api;
use super::{json, query, rfc3339};
use crate::web::error::WebError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/signingKeys/rotate").route(web::post().to(rotate_keys)));
}

#[utoipa::path(
    post,
    path = "/signingKeys/rotate",
    operation_id = "rotateSigningKeys",
    tag = "onramp",
    summary = "Rotate the token signing keys",
    security(("oauth2" = ["Application.ReadWrite.All"])),
    responses((status = 200, description = "The key set after the rotation.", body = super::doc::shapes::SigningKeySet))
)]
async fn rotate_keys(Api { caller, req, state }: Api) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    let next = state.admin.rotate_keys(&caller).await?;
    let keys: Vec<serde_json::Value> = next
        .keys
        .iter()
        .map(|k| {
            serde_json::json!({
                "kid": k.kid,
                "alg": k.alg.as_str(),
                "createdDateTime": rfc3339(k.created),
                "notBefore": k.not_before.map(rfc3339),
                "retireUntil": k.retire_until.map(rfc3339),
            })
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "version": next.version, "keys": keys }),
    ))
}
