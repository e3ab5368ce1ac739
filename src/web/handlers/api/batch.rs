//! `POST /$batch`: Graph's JSON batching (up to 20 requests, `dependsOn`),
//! each inner request served as if it had been sent alone.
//!
//! An inner request is not handed to a handler: it is made into an HTTP
//! request of its own (method, URL, headers, body, and the outer request's
//! peer address, `Host` and forwarding headers) and sent through an
//! `actix_web::App` made of the same `/api/v1` scope
//! ([`crate::web::api_scope`], without `$batch`) and the same
//! [`crate::web::request_envelope`]. So it is routed, authenticated,
//! validated, answered, given its own `request-id` and audited with the
//! client's address exactly as it would be alone. That application is
//! built once per worker, on the first batch.
//!
//! What the batch itself gets wrong (not JSON, more than 20 requests, a
//! missing or duplicated id, a method that is no HTTP method, a bad
//! header, a body without `Content-Type`, an unknown dependency or a
//! cycle) is a 400 for the whole batch, as in Graph. A URL that is not
//! under `/api/v1` (or is `$batch` itself) is a 400 for that request only.
//!
//! The requests run one at a time, in the order sent, except that a
//! request runs after the requests it depends on. One whose dependency
//! failed (status 400 or more, 424 included) is not run: it gets 424.

use std::collections::HashMap;
use std::rc::Rc;

use actix_service::{IntoServiceFactory, Service, ServiceFactory};
use actix_web::body::{self, BoxBody};
use actix_web::dev::{AppConfig, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode, Uri};
use actix_web::{App, HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Api;
use super::{base, json};
use crate::domain::DomainError;
use crate::state::AppState;
use crate::web::error::{GRAPH_BAD_REQUEST, WebError, graph_response};
use crate::web::json::{GraphBody, is_json, parse, unsupported_media_type};

/// Graph's limit on the requests in one batch.
pub const MAX_REQUESTS: usize = 20;

/// The largest batch body, all its requests together (each inner body
/// still has [`crate::web::API_BODY_LIMIT`]).
pub const BATCH_LIMIT: usize = 1024 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/$batch")
            .app_data(web::PayloadConfig::default().limit(BATCH_LIMIT))
            // `routes` runs once per worker: each has its own.
            .app_data(InnerApp::default())
            .route(web::post().to(batch)),
    );
}

/// Serves one inner request.
type Serve = Rc<
    dyn Fn(
        actix_http::Request,
    ) -> LocalBoxFuture<'static, Result<ServiceResponse, actix_web::Error>>,
>;

/// The application that serves this worker's inner requests, made on
/// first use.
#[derive(Clone, Default)]
struct InnerApp(Rc<tokio::sync::OnceCell<Serve>>);

impl InnerApp {
    async fn get(
        &self,
        state: &web::Data<AppState>,
        config: &AppConfig,
    ) -> Result<Serve, WebError> {
        let serve = self
            .0
            .get_or_try_init(|| build(state.clone(), config.clone()))
            .await
            .map_err(|()| DomainError::Internal("the batch service did not start".into()))?;
        Ok(Rc::clone(serve))
    }
}

/// The `/api/v1` scope without `$batch`, behind the envelope every request
/// passes, with the application's state: what a request sent alone meets.
async fn build(state: web::Data<AppState>, config: AppConfig) -> Result<Serve, ()> {
    let app = App::new()
        .app_data(state)
        .wrap(actix_web::middleware::from_fn(crate::web::request_envelope))
        .service(crate::web::api_scope(false))
        .default_service(web::to(crate::web::not_found));
    let service = Rc::new(app.into_factory().new_service(config).await?);
    Ok(Rc::new(move |req| {
        let service = Rc::clone(&service);
        Box::pin(async move {
            service
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        })
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    requests: Vec<BatchItem>,
}

impl GraphBody for BatchBody {
    const ODATA_TYPES: &'static [&'static str] = &[];
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchItem {
    id: String,
    method: String,
    url: String,
    /// Header values are strings; a list of strings (as some SDKs write
    /// them) is joined with commas.
    #[serde(default)]
    headers: Option<Map<String, Value>>,
    /// A JSON value, or a base64 text for a body that is not JSON.
    #[serde(default)]
    body: Option<Value>,
    /// `depends_on` is how Microsoft's Python SDK writes it.
    #[serde(default, rename = "dependsOn", alias = "depends_on")]
    depends_on: Option<Vec<String>>,
}

/// An inner request, checked and ready to send.
struct Prepared {
    id: String,
    method: Method,
    /// The path and query under `/api/v1`, or why the URL is refused.
    target: Result<Uri, String>,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: web::Bytes,
    /// Indexes of the requests this one waits for.
    depends_on: Vec<usize>,
}

#[derive(Serialize)]
struct BatchAnswer {
    responses: Vec<BatchResponse>,
}

#[derive(Serialize)]
struct BatchResponse {
    id: String,
    status: u16,
    headers: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<Value>,
}

/// `POST /$batch`. The caller must be authenticated (as for every call);
/// each inner request is then authorized on its own, with the batch's
/// `Authorization` unless it brings its own.
#[utoipa::path(
    post,
    path = "/$batch",
    operation_id = "batch",
    tag = "batch",
    summary = "Send up to 20 requests in one",
    description = "Each inner request is authorized as if sent alone, with the batch's `Authorization` unless it brings its own. `dependsOn` orders requests; one whose dependency failed is answered 424.",
    request_body(content = super::doc::shapes::BatchRequest, content_type = "application/json"),
    security(("bearerAuth" = [])),
    responses((status = 200, description = "One answer per request, in any order.", body = super::doc::shapes::BatchResponse))
)]
async fn batch(
    Api { req, state, .. }: Api,
    body: Result<web::Bytes, actix_web::Error>,
) -> Result<HttpResponse, WebError> {
    super::query::none(&req)?;
    if !is_json(&req) {
        return Err(unsupported_media_type());
    }
    let bytes = body.map_err(WebError::unreadable_body)?;
    let items = parse::<BatchBody>(&bytes)?.requests;
    let bases = bases(&req, &state);
    let prepared = prepare(&items, &bases)?;
    let order = order(&prepared)?;
    let serve = req
        .app_data::<InnerApp>()
        .cloned()
        .ok_or_else(|| DomainError::Internal("no batch service".into()))?
        .get(&state, req.app_config())
        .await?;
    let responses = run(&serve, &req, &prepared, &order).await;
    Ok(json(StatusCode::OK, &BatchAnswer { responses }))
}

/// Runs the requests in `order`; the answers come back in request order.
async fn run(
    serve: &Serve,
    outer: &HttpRequest,
    prepared: &[Prepared],
    order: &[usize],
) -> Vec<BatchResponse> {
    let mut answers: Vec<Option<BatchResponse>> = prepared.iter().map(|_| None).collect();
    for &i in order {
        let Some(item) = prepared.get(i) else {
            continue;
        };
        let failed = item.depends_on.iter().find_map(|&d| {
            let answer = answers.get(d)?.as_ref()?;
            (answer.status >= 400).then_some(answer.id.as_str())
        });
        let res = respond(serve, outer, item, failed).await;
        let answer = answer(item.id.clone(), res).await;
        if let Some(slot) = answers.get_mut(i) {
            *slot = Some(answer);
        }
    }
    answers.into_iter().flatten().collect()
}

/// What one request gets: 424 when a request it depends on failed, 400
/// when its URL is refused, else the API's answer.
async fn respond(
    serve: &Serve,
    outer: &HttpRequest,
    item: &Prepared,
    failed: Option<&str>,
) -> HttpResponse<BoxBody> {
    match (&item.target, failed) {
        (_, Some(dependency)) => graph_response(
            StatusCode::FAILED_DEPENDENCY,
            "FailedDependency",
            &format!(
                "The request depends on request '{dependency}', which failed; it was not run."
            ),
        ),
        (Err(why), None) => graph_response(
            StatusCode::BAD_REQUEST,
            GRAPH_BAD_REQUEST,
            &format!("url: {why}"),
        ),
        (Ok(uri), None) => match serve(inner_request(outer, item, uri.clone())).await {
            Ok(res) => res.into_parts().1,
            // An error actix answers itself (a timed-out request).
            Err(e) => e.error_response(),
        },
    }
}

/// A 400 for the whole batch.
fn invalid(detail: String) -> WebError {
    WebError::invalid_body(detail)
}

/// Checks the batch's shape (400 for the whole batch when it is wrong)
/// and makes each request ready to send.
fn prepare(items: &[BatchItem], bases: &[Base]) -> Result<Vec<Prepared>, WebError> {
    if items.is_empty() {
        return Err(invalid(
            "requests: a batch needs at least one request".into(),
        ));
    }
    if items.len() > MAX_REQUESTS {
        return Err(invalid(format!(
            "requests: a batch holds at most {MAX_REQUESTS} requests; this one has {}",
            items.len()
        )));
    }
    let mut index = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        if item.id.is_empty() {
            return Err(invalid(format!("requests[{i}].id: must not be empty")));
        }
        if index.insert(item.id.as_str(), i).is_some() {
            return Err(invalid(format!(
                "requests[{i}].id: the id '{}' is used by two requests; ids must be unique",
                item.id
            )));
        }
    }
    let mut prepared = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let depends_on = item
            .depends_on
            .iter()
            .flatten()
            .map(|d| match index.get(d.as_str()) {
                Some(&j) if j == i => Err(invalid(format!(
                    "requests[{i}].dependsOn: request '{d}' cannot depend on itself"
                ))),
                Some(&j) => Ok(j),
                None => Err(invalid(format!(
                    "requests[{i}].dependsOn: no request in the batch has the id '{d}'"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The methods the API has, as in Graph's batches.
        let method = [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ]
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(&item.method))
        .ok_or_else(|| {
            invalid(format!(
                "requests[{i}].method: '{}' is not one of GET, POST, PUT, PATCH and DELETE",
                item.method
            ))
        })?;
        let headers = headers(i, item.headers.as_ref())?;
        let body = match &item.body {
            None | Some(Value::Null) => web::Bytes::new(),
            Some(Value::String(text)) => decode_base64(text).map(web::Bytes::from).ok_or_else(|| {
                invalid(format!(
                    "requests[{i}].body: a body that is text must be base64 (a JSON body is written as JSON)"
                ))
            })?,
            Some(value) => web::Bytes::from(serde_json::to_vec(value).unwrap_or_default()),
        };
        if !body.is_empty() && !headers.iter().any(|(n, _)| n == header::CONTENT_TYPE) {
            return Err(invalid(format!(
                "requests[{i}].headers: request '{}' has a body, so it needs a Content-Type header",
                item.id
            )));
        }
        prepared.push(Prepared {
            id: item.id.clone(),
            method,
            target: target(&item.url, bases),
            headers,
            body,
            depends_on,
        });
    }
    Ok(prepared)
}

/// The order to run the requests in: the order sent, except that a
/// request waits for those it depends on. A cycle is a 400.
fn order(prepared: &[Prepared]) -> Result<Vec<usize>, WebError> {
    let mut done = vec![false; prepared.len()];
    let mut order = Vec::with_capacity(prepared.len());
    while order.len() < prepared.len() {
        let next = prepared.iter().enumerate().position(|(i, p)| {
            !done[i]
                && p.depends_on
                    .iter()
                    .all(|&d| done.get(d).copied().unwrap_or(false))
        });
        let Some(next) = next else {
            let waiting: Vec<String> = prepared
                .iter()
                .enumerate()
                .filter(|(i, _)| !done[*i])
                .map(|(_, p)| format!("'{}'", p.id))
                .collect();
            return Err(invalid(format!(
                "requests: the dependsOn of requests {} form a cycle",
                waiting.join(", ")
            )));
        };
        done[next] = true;
        order.push(next);
    }
    Ok(order)
}

/// Headers the connection has, which the outer request's stand for: an
/// inner request's own are ignored (its `X-Forwarded-For` would otherwise
/// choose the address its audit events record).
const CONNECTION_HEADERS: [&str; 14] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "expect",
    "proxy-connection",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
];

fn is_connection_header(name: &HeaderName) -> bool {
    CONNECTION_HEADERS.contains(&name.as_str())
}

/// The outer request's headers every inner request carries: where it
/// came from (the address audit events record, the host it was sent to).
const FROM_OUTER: [&str; 5] = [
    "host",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
];

/// The request's own headers, checked.
fn headers(
    i: usize,
    sent: Option<&Map<String, Value>>,
) -> Result<Vec<(HeaderName, HeaderValue)>, WebError> {
    let mut out = Vec::new();
    for (name, value) in sent.into_iter().flatten() {
        let bad = |why: &str| invalid(format!("requests[{i}].headers.{name}: {why}"));
        let header_name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad("is not a header name"))?;
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Array(values) => values
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("must be a string or a list of strings"))?
                .join(", "),
            _ => return Err(bad("must be a string or a list of strings")),
        };
        let header_value =
            HeaderValue::from_str(&text).map_err(|_| bad("is not a valid header value"))?;
        if !is_connection_header(&header_name) {
            out.push((header_name, header_value));
        }
    }
    Ok(out)
}

/// A base64 text in any of its usual alphabets, padded or not.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

/// Where the API is, as an absolute URL may name it: `{issuer}/api/v1`,
/// and the scheme and host the batch itself was sent to.
struct Base {
    origin: url::Origin,
    /// `/api/v1`, or deeper when the issuer has a path.
    path: String,
}

fn bases(req: &HttpRequest, state: &AppState) -> Vec<Base> {
    let info = req.connection_info();
    [
        base(state),
        format!("{}://{}/api/v1", info.scheme(), info.host()),
    ]
    .iter()
    .filter_map(|b| url::Url::parse(b).ok())
    .map(|u| Base {
        origin: u.origin(),
        path: u.path().trim_end_matches('/').to_owned(),
    })
    .collect()
}

/// The scheme of an absolute URL (`http:`), if `url` has one.
fn scheme(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

/// What follows `prefix` in `path_and_query`, if it is under it.
fn under<'a>(path_and_query: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path_and_query.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with(['/', '?'])).then_some(rest)
}

/// The `/api/v1` path and query an inner request's `url` names: one
/// relative to the version root (`/users/…` or `users/…`, as Graph's),
/// or an absolute URL under the API's base (as Microsoft's Python SDK
/// writes them). Anything else is refused, and so is `$batch` itself.
fn target(url: &str, bases: &[Base]) -> Result<Uri, String> {
    const REFUSED: &str =
        "must be relative to the API's root (/users/...) or an absolute URL under its /api/v1";
    // A fragment never goes to a server.
    let url = url.split('#').next().unwrap_or_default().trim();
    if url.is_empty() {
        return Err("must not be empty".into());
    }
    let relative = match scheme(url) {
        Some((scheme, rest)) => {
            if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
                return Err(REFUSED.into());
            }
            let rest = rest.strip_prefix("//").ok_or(REFUSED)?;
            let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
            let origin = url::Url::parse(&format!("{scheme}://{authority}/"))
                .map_err(|_| REFUSED)?
                .origin();
            bases
                .iter()
                .filter(|b| b.origin == origin)
                .find_map(|b| under(path, &b.path))
                .ok_or(REFUSED)?
                .to_owned()
        }
        None if url.starts_with("//") => return Err(REFUSED.into()),
        None if url.starts_with('?') => url.to_owned(),
        None => format!("/{}", url.strip_prefix('/').unwrap_or(url)),
    };
    let path = relative.split('?').next().unwrap_or_default();
    let decoded = percent_decode(path);
    if decoded.split('/').any(|s| s == "." || s == "..") {
        return Err("must not contain . or .. segments".into());
    }
    if decoded
        .trim_end_matches('/')
        .eq_ignore_ascii_case("/$batch")
    {
        return Err("a batch cannot contain a $batch request".into());
    }
    Uri::try_from(format!("/api/v1{}", encode(&relative))).map_err(|_| "is not a valid URL".into())
}

/// `%XX` decoded (invalid escapes kept as they are), for the checks only.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes what may not stand in a URI as it is (a space in a
/// `$filter`, say, as Graph's own examples write them); escapes already
/// there stay.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let allowed = b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b);
        if allowed {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The HTTP request an inner request would have been alone: its method,
/// URL, headers and body, the batch's `Authorization` unless it has its
/// own, and the connection's peer, `Host` and forwarding headers.
fn inner_request(outer: &HttpRequest, item: &Prepared, uri: Uri) -> actix_http::Request {
    let payload = if item.body.is_empty() {
        actix_http::Payload::None
    } else {
        actix_http::Payload::from(item.body.clone())
    };
    let mut req = actix_http::Request::with_payload(payload);
    let head = req.head_mut();
    head.method = item.method.clone();
    head.uri = uri;
    head.version = outer.version();
    head.peer_addr = outer.peer_addr();
    for (name, value) in outer.headers().iter() {
        if FROM_OUTER.contains(&name.as_str()) {
            head.headers.append(name.clone(), value.clone());
        }
    }
    let own_authorization = item.headers.iter().any(|(n, _)| n == header::AUTHORIZATION);
    if !own_authorization && let Some(v) = outer.headers().get(header::AUTHORIZATION) {
        head.headers.insert(header::AUTHORIZATION, v.clone());
    }
    for (name, value) in &item.headers {
        head.headers.append(name.clone(), value.clone());
    }
    if !item.body.is_empty() {
        head.headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(item.body.len()));
    }
    req
}

/// The answer's headers a batch response reports, as Graph names them.
const REPORTED: [(HeaderName, &str); 8] = [
    (header::CONTENT_TYPE, "Content-Type"),
    (header::LOCATION, "Location"),
    (header::RETRY_AFTER, "Retry-After"),
    (header::CACHE_CONTROL, "Cache-Control"),
    (header::WWW_AUTHENTICATE, "WWW-Authenticate"),
    (header::ALLOW, "Allow"),
    (super::envelope::REQUEST_ID, "request-id"),
    (super::envelope::CLIENT_REQUEST_ID, "client-request-id"),
];

/// One inner answer in Graph's shape: the body as JSON when it is JSON,
/// as text when it is text, base64 otherwise, and left out when empty.
async fn answer(id: String, res: HttpResponse<BoxBody>) -> BatchResponse {
    let status = res.status();
    let headers = reported_headers(res.headers());
    let kind = media_type(res.headers());
    let Ok(bytes) = body::to_bytes(res.into_body()).await else {
        let res = graph_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "An internal error occurred.",
        );
        return BatchResponse {
            id,
            status: res.status().as_u16(),
            headers: reported_headers(res.headers()),
            body: None,
        };
    };
    BatchResponse {
        id,
        status: status.as_u16(),
        headers,
        body: body_value(&kind, &bytes),
    }
}

/// The answer's media type (`application/json`), lowercased, without
/// parameters; empty when it has none.
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// A body of media type `kind` as a batch answer carries it.
fn body_value(kind: &str, bytes: &[u8]) -> Option<Value> {
    let text = || Value::String(String::from_utf8_lossy(bytes).into_owned());
    if bytes.is_empty() {
        None
    } else if kind == "application/json" || kind.ends_with("+json") {
        Some(serde_json::from_slice(bytes).unwrap_or_else(|_| text()))
    } else if kind.starts_with("text/") {
        Some(text())
    } else {
        Some(Value::String(STANDARD.encode(bytes)))
    }
}

fn reported_headers(headers: &HeaderMap) -> Map<String, Value> {
    REPORTED
        .iter()
        .filter_map(|(name, shown)| {
            let values: Vec<&str> = headers
                .get_all(name)
                .filter_map(|v| v.to_str().ok())
                .collect();
            (!values.is_empty()).then(|| ((*shown).to_owned(), Value::String(values.join(", "))))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bases() -> Vec<Base> {
        [
            "http://localhost:8080/api/v1",
            "https://id.example.com/tenant/api/v1",
        ]
        .iter()
        .map(|b| {
            let u = url::Url::parse(b).unwrap();
            Base {
                origin: u.origin(),
                path: u.path().to_owned(),
            }
        })
        .collect()
    }

    fn target_of(url: &str) -> Result<String, String> {
        target(url, &bases()).map(|u| u.to_string())
    }

    #[test]
    fn relative_urls_are_under_the_version_root() {
        assert_eq!(target_of("/users/a").unwrap(), "/api/v1/users/a");
        assert_eq!(target_of("users/a").unwrap(), "/api/v1/users/a");
        assert_eq!(
            target_of("users?$select=id&$filter=city eq null#frag").unwrap(),
            "/api/v1/users?$select=id&$filter=city%20eq%20null"
        );
        assert_eq!(
            target_of("/users/%24count").unwrap(),
            "/api/v1/users/%24count"
        );
    }

    #[test]
    fn absolute_urls_must_be_under_the_base() {
        assert_eq!(
            target_of("http://localhost:8080/api/v1/users/a?$top=1").unwrap(),
            "/api/v1/users/a?$top=1"
        );
        assert_eq!(
            target_of("HTTP://LOCALHOST:8080/api/v1/users").unwrap(),
            "/api/v1/users"
        );
        assert_eq!(
            target_of("https://id.example.com:443/tenant/api/v1/users").unwrap(),
            "/api/v1/users"
        );
        for refused in [
            "http://elsewhere.example/v1.0/users",
            "http://localhost:8081/api/v1/users",
            "https://localhost:8080/api/v1/users",
            "http://localhost:8080/api/v10/users",
            "http://localhost:8080/token",
            "https://id.example.com/api/v1/users",
            "ftp://localhost:8080/api/v1/users",
            "//localhost:8080/api/v1/users",
            "users/../../token",
            "/users/%2e%2e/x",
            "",
        ] {
            assert!(target_of(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn batch_is_not_a_target() {
        for url in [
            "/$batch",
            "$batch",
            "/%24batch",
            "/$BATCH/",
            "http://localhost:8080/api/v1/$batch",
        ] {
            let why = target_of(url).unwrap_err();
            assert!(why.contains("$batch"), "{url}: {why}");
        }
    }

    fn item(id: &str, depends_on: &[&str]) -> BatchItem {
        BatchItem {
            id: id.into(),
            method: "GET".into(),
            url: "/users".into(),
            headers: None,
            body: None,
            depends_on: Some(depends_on.iter().map(|d| (*d).to_owned()).collect()),
        }
    }

    #[test]
    fn dependencies_run_first_then_the_order_sent() {
        let prepared = prepare(
            &[
                item("3", &["2"]),
                item("2", &["1"]),
                item("1", &[]),
                item("4", &[]),
            ],
            &bases(),
        )
        .unwrap();
        assert_eq!(order(&prepared).unwrap(), [2, 1, 0, 3]);
    }

    #[test]
    fn a_cycle_or_an_unknown_dependency_is_refused() {
        let cycle = prepare(&[item("a", &["b"]), item("b", &["a"])], &bases()).unwrap();
        assert!(order(&cycle).unwrap_err().to_string().contains("cycle"));
        let unknown = prepare(&[item("a", &["9"])], &bases()).err().unwrap();
        assert!(unknown.to_string().contains("'9'"), "{unknown}");
        let own = prepare(&[item("a", &["a"])], &bases()).err().unwrap();
        assert!(own.to_string().contains("itself"), "{own}");
    }
}
