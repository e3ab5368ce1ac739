//! What every `/api/v1` answer carries, as Microsoft Graph's do: a
//! `request-id` header (the request's own id) and the caller's
//! `client-request-id` echoed, both also inside every error body
//! (`innerError`). Errors are rendered far from the request
//! ([`actix_web::ResponseError`] sees no request), so the ids travel in a
//! task-local set around the call.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use time::OffsetDateTime;

use crate::state::AppState;
use crate::web::RequestId;

/// `2026-12-01T09:30:00`: Graph's `innerError.date`.
fn graph_date(t: OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    t.to_offset(time::UtcOffset::UTC)
        .format(FORMAT)
        .unwrap_or_default()
}

/// The ids of the request being answered, and when it came.
#[derive(Debug, Clone, Default)]
pub struct RequestIds {
    pub request_id: String,
    pub client_request_id: Option<String>,
    /// UTC without an offset (`2026-12-01T09:30:00`), as Graph writes it.
    pub date: String,
}

tokio::task_local! {
    static IDS: RequestIds;
}

pub const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
pub const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");

/// The longest `client-request-id` echoed (Graph's are GUIDs).
const MAX_CLIENT_ID: usize = 128;

/// The ids of the request in progress (empty outside one).
pub fn current() -> RequestIds {
    IDS.try_with(Clone::clone).unwrap_or_default()
}

/// Middleware of the `/api/v1` scope.
pub async fn envelope(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|r| r.0.to_str().ok().map(str::to_owned))
        .unwrap_or_default();
    let client_request_id = req
        .headers()
        .get(&CLIENT_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= MAX_CLIENT_ID)
        .map(str::to_owned);
    let date = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.ctx.clock.now())
        .map(graph_date)
        .unwrap_or_default();
    let ids = RequestIds {
        request_id,
        client_request_id,
        date,
    };
    let mut res = IDS.scope(ids.clone(), next.call(req)).await?;
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&ids.request_id) {
        headers.insert(REQUEST_ID, v);
    }
    if let Some(v) = ids
        .client_request_id
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        headers.insert(CLIENT_REQUEST_ID, v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    #[test]
    fn graph_dates_are_utc_without_an_offset() {
        let t = time::macros::datetime!(2026-12-01 10:30:05 +01:00);
        assert_eq!(super::graph_date(t), "2026-12-01T09:30:05");
    }
}
