use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

/// The store is reachable.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.ctx.store.ping().await {
        Ok(()) => HttpResponse::Ok()
            .content_type("application/json")
            .body(format!(
                r#"{{"status":"ready","store":"{}"}}"#,
                state.ctx.store.kind()
            )),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .content_type("application/json")
                .body(format!(
                    r#"{{"status":"unavailable","store":"{}"}}"#,
                    state.ctx.store.kind()
                ))
        }
    }
}

/// Prometheus metrics (text exposition format).
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(crate::metrics::METRICS.render())
}
