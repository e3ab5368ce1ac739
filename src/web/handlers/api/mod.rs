//! `/api/v1`: the admin API, a compatible subset of Microsoft Graph v1.0
//! (ARCHITECTURE.md, "Administration"): Graph's paths, property names and
//! resource shapes, its OData query options (`crate::domain::odata`), its
//! error envelope (`crate::web::error`), and a few resources of Onramp's
//! own in the same conventions (clients, signing keys, lockouts, roles,
//! webhooks).
//!
//! One file per resource. Each handler takes the [`Caller`] first (so
//! nobody unauthenticated learns what a body or query got wrong), then
//! its path, query options and body, calls one service and shapes the
//! answer.

pub mod audit;
pub mod batch;
pub mod clients;
pub mod doc;
pub mod envelope;
pub mod groups;
pub mod keys;
pub mod methods;
pub mod onboarding;
pub mod policies;
pub mod query;
pub mod resources;
pub mod users;
pub mod webhooks;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::DomainError;
use crate::service::Caller;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::extract::state_of;
use crate::web::request_meta;

/// Every path is a `web::resource`, so that a method it does not have is
/// 405 with `Allow` (a `cfg.route` would put the method guard on the path
/// and answer 404). `$batch` ([`batch::routes`]) is added by
/// [`crate::web::api_scope`], which leaves it out of the scope that serves
/// a batch's inner requests.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(users::routes)
        .configure(methods::routes)
        .configure(policies::routes)
        .configure(groups::routes)
        .configure(audit::routes)
        .configure(clients::routes)
        .configure(keys::routes)
        .configure(onboarding::routes)
        .configure(webhooks::routes)
        .service(web::resource("/openapi.json").route(web::get().to(openapi_json)));
}

/// `GET /api/v1/openapi.json`: the API description ([`doc`]); no token
/// needed.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "getOpenApiDocument",
    tag = "onramp",
    summary = "This document",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object))
)]
async fn openapi_json(req: HttpRequest) -> Result<HttpResponse, WebError> {
    query::none(&req)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(doc::document()))
}

/// The caller behind the `Authorization: Bearer` header.
impl FromRequest for Caller {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            let token = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t.trim())
                .filter(|t| !t.is_empty());
            let Some(token) = token else {
                return Err(WebError::Unauthorized(None));
            };
            Ok(state
                .tokens
                .authenticate_bearer(token, request_meta(&req))
                .await?)
        })
    }
}

/// What every handler here starts from: the caller, extracted first (so
/// that nobody unauthenticated learns what a path, query or body got
/// wrong), the request (for its query options) and the application state.
pub(crate) struct Api {
    pub caller: Caller,
    pub req: HttpRequest,
    pub state: web::Data<AppState>,
}

impl FromRequest for Api {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let caller = caller.await?;
            let state = state_of(&req)?;
            Ok(Api { caller, req, state })
        })
    }
}

/// A JSON answer (never cached: it may hold personal data or secrets).
pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(serde_json::to_vec(body).unwrap_or_default())
}

/// 200 with a JSON body.
pub(crate) fn ok<T: Serialize>(body: &T) -> HttpResponse {
    json(StatusCode::OK, body)
}

/// 204: a write with nothing to answer.
pub(crate) fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

/// 201 with `Location`.
pub(crate) fn created<T: Serialize>(location: &str, body: &T) -> HttpResponse {
    let mut res = json(StatusCode::CREATED, body);
    if let Ok(v) = header::HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// 201 for a resource made in a top-level collection (`users`, `groups`):
/// `Location` is `{base}/{collection}/{id}`, the context
/// `{collection}/$entity`.
pub(crate) fn created_in(
    state: &AppState,
    collection: &str,
    id: &str,
    item: serde_json::Value,
) -> HttpResponse {
    let base = base(state);
    created(
        &format!("{base}/{collection}/{id}"),
        &query::entity(
            query::context(&base, &format!("{collection}/$entity")),
            item,
        ),
    )
}

/// `impl GraphBody`: the `@odata.type`s a request body may name.
macro_rules! graph_body {
    ($($body:ty => [$($odata_type:expr),*];)+) => {
        $(impl crate::web::json::GraphBody for $body {
            const ODATA_TYPES: &'static [&'static str] = &[$($odata_type),*];
        })+
    };
}
pub(crate) use graph_body;

/// The base of every URL in answers: `{issuer}/api/v1`.
pub(crate) fn base(state: &AppState) -> String {
    format!("{}/api/v1", state.ctx.issuer)
}

/// PATCH semantics: a field sent replaces the setting, one left out keeps it.
pub(crate) fn set<T>(slot: &mut T, sent: Option<T>) {
    if let Some(v) = sent {
        *slot = v;
    }
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// An RFC 3339 `date-time` (the document's `format: date-time`): the `time`
/// parser also takes a space for the `T`, which the RFC's grammar does not.
pub(crate) fn parse_date_time(field: &'static str, s: &str) -> Result<OffsetDateTime, DomainError> {
    let bad = || {
        DomainError::invalid(
            field,
            "must be an RFC 3339 date-time, e.g. 2026-11-25T09:00:00Z",
        )
    };
    if !matches!(s.as_bytes().get(10), Some(b'T' | b't')) {
        return Err(bad());
    }
    OffsetDateTime::parse(s, &Rfc3339).map_err(|_| bad())
}

/// The page size: `$top`, else 100.
pub(crate) fn page_size(options: &crate::domain::odata::QueryOptions) -> usize {
    options.top().map_or(100, |t| t as usize)
}
