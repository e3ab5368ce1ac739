//! HTTP: the route table, request ids and security headers. Handlers are
//! thin: parse input, call a service, shape the response.

pub mod cookies;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod i18n;
pub mod json;
pub mod local_time;
pub mod pages;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use std::net::IpAddr;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::Instrument;

use crate::config::IpRange;
use crate::service::RequestMeta;
use crate::service::discovery::{
    AUTHORIZE_PATH, DISCOVERY_PATH, END_SESSION_PATH, INTROSPECTION_PATH, JWKS_PATH,
    REVOCATION_PATH, TOKEN_PATH, USERINFO_PATH,
};
use error::{WebError, graph_response};
use handlers::{account, api, assets, discovery, health, logout, portal, signin, token, userinfo};

/// A request's id, also sent back as `X-Request-Id`.
#[derive(Debug, Clone)]
pub struct RequestId(pub HeaderValue);

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

static ID_PREFIX: LazyLock<u64> = LazyLock::new(|| {
    let mut b = [0u8; 8];
    // A random per-process prefix keeps ids unique across instances.
    let _ = aws_lc_rs::rand::fill(&mut b);
    u64::from_be_bytes(b)
});
static ID_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A GUID-shaped id (`8-4-4-4-12` hex digits), as Graph's `request-id`s
/// are: the process prefix, then a counter.
fn next_request_id() -> HeaderValue {
    let n = ID_COUNTER.fetch_add(1, Ordering::Relaxed);
    let p = *ID_PREFIX;
    let mut buf = [0u8; 36];
    let text = {
        use std::io::Write;
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        let _ = write!(
            cursor,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            p >> 32,
            (p >> 16) & 0xffff,
            p & 0xffff,
            n >> 48,
            n & 0xffff_ffff_ffff
        );
        cursor.position() as usize
    };
    HeaderValue::from_bytes(&buf[..text]).unwrap_or(HeaderValue::from_static("-"))
}

/// Request id, one tracing span per request, and the headers every
/// response carries.
pub async fn request_envelope(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = next_request_id();
    let span = tracing::info_span!(
        "request",
        id = id.to_str().unwrap_or("-"),
        method = %req.method(),
        path = %req.path(),
    );
    req.extensions_mut().insert(RequestId(id.clone()));
    let limit = admit(&req);
    let started = std::time::Instant::now();
    // Bounds a slow body (and anything else slow) once the headers are in;
    // actix's client_request_timeout bounds the headers.
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(limit),
        next.call(req).instrument(span.clone()),
    )
    .await;
    let Ok(answer) = answer else {
        return Err(timed_out(&span, id, limit, started));
    };
    let mut res = answer?;
    record(&span, &res, started);
    envelope_headers(res.headers_mut(), id);
    Ok(res)
}

/// Notes the client's address on the request ([`client_address`]); the
/// request's time limit in seconds.
fn admit(req: &ServiceRequest) -> u64 {
    let settings = req
        .app_data::<web::Data<crate::state::AppState>>()
        .map(|state| state.ctx.settings.clone());
    let limit = settings
        .as_ref()
        .map_or(30, |s| s.server.request_timeout_seconds);
    if let Some(address) = client_address(
        req,
        settings.as_ref().map_or(&[], |s| &s.server.trusted_proxies),
    ) {
        req.extensions_mut().insert(ClientAddress(address));
    }
    limit
}

/// The answer to a request that took longer than `limit` seconds.
fn timed_out(
    span: &tracing::Span,
    id: HeaderValue,
    limit: u64,
    started: std::time::Instant,
) -> actix_web::Error {
    // The request went with the dropped future, so the answer goes back
    // as an error response (actix writes it as it is).
    crate::metrics::METRICS.request("(timed out)", 408, started.elapsed());
    span.in_scope(|| tracing::warn!(seconds = limit, "request timed out"));
    let mut timed_out = HttpResponse::RequestTimeout()
        .content_type("application/json")
        // The rest of a half-sent body must not be read as a request.
        .force_close()
        .body(r#"{"error":"request_timeout","error_description":"the request took too long"}"#);
    envelope_headers(timed_out.headers_mut(), id);
    actix_web::error::InternalError::from_response("request timeout", timed_out).into()
}

/// The request's metrics and log line.
fn record<B>(span: &tracing::Span, res: &ServiceResponse<B>, started: std::time::Instant) {
    let status = res.status().as_u16();
    let endpoint = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "(unmatched)".to_owned());
    crate::metrics::METRICS.request(&endpoint, status, started.elapsed());
    span.in_scope(|| {
        tracing::info!(
            status,
            micros = started.elapsed().as_micros() as u64,
            "request"
        );
    });
}

/// The headers every response carries.
fn envelope_headers(h: &mut header::HeaderMap, id: HeaderValue) {
    h.insert(REQUEST_ID, id);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
}

/// The client's address, as worked out by [`client_address`].
#[derive(Debug, Clone, Copy)]
struct ClientAddress(IpAddr);

/// Who sent the request: the TCP peer, unless the peer is a trusted proxy.
/// Then `X-Forwarded-For` is read from the right (each proxy appends the
/// address it saw) and the first address that is not a trusted proxy is
/// the client. Entries left of it are the client's own claims and are
/// ignored, so a client cannot choose its address by sending the header.
fn client_address(req: &ServiceRequest, trusted: &[IpRange]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| r.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = req
        .headers()
        .get_all(HeaderName::from_static("x-forwarded-for"))
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // Garbage ends the chain: the nearest address known stands.
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    Some(client)
}

/// An `X-Forwarded-For` entry: an address, possibly with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|a| a.ip().to_canonical())
}

/// Where a request came from: the TCP peer, or, behind a trusted proxy
/// (`server.trusted_proxies`), the address it forwarded.
pub fn request_meta(req: &HttpRequest) -> RequestMeta {
    RequestMeta {
        client_address: req
            .extensions()
            .get::<ClientAddress>()
            .map(|a| a.0)
            .or_else(|| req.peer_addr().map(|a| a.ip().to_canonical()))
            .map(|ip| ip.to_string()),
        request_id: req
            .extensions()
            .get::<RequestId>()
            .and_then(|r| r.0.to_str().ok().map(str::to_owned)),
    }
}

/// The largest request body of the pages and the OAuth endpoints.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The largest body of an admin API request: room for the largest body
/// the document allows (a user with 250 `otherMails` of 250 characters,
/// each escaped), so that a valid request is never refused for its size.
pub const API_BODY_LIMIT: usize = 512 * 1024;

/// A path segment that does not parse is Graph's 400.
fn path_error(e: actix_web::error::PathError) -> actix_web::Error {
    WebError::BadRequest {
        code: error::GRAPH_BAD_REQUEST,
        status: actix_web::http::StatusCode::BAD_REQUEST,
        detail: e.to_string(),
    }
    .into()
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(|e, _| {
        // The same answer as in the admin API's scope (`api_scope`).
        path_error(e)
    }))
    .app_data(web::PayloadConfig::default().limit(BODY_LIMIT))
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz))
    .route("/metrics", web::get().to(health::metrics))
    .configure(cross_origin_routes)
    .app_data(web::FormConfig::default().limit(16 * 1024))
    .app_data(web::JsonConfig::default().limit(64 * 1024))
    .route(END_SESSION_PATH, web::get().to(logout::logout))
    .route(END_SESSION_PATH, web::post().to(logout::logout))
    .route(AUTHORIZE_PATH, web::get().to(signin::authorize))
    .route(AUTHORIZE_PATH, web::post().to(signin::authorize))
    .route("/authorize/resume", web::get().to(signin::resume))
    .route("/signin", web::get().to(signin::signin_page))
    .route("/signin", web::post().to(signin::signin_username))
    .route("/signin/tap", web::post().to(signin::signin_tap))
    .route(
        "/signin/passkey/options",
        web::post().to(signin::passkey_options),
    )
    .route(
        "/signin/passkey/finish",
        web::post().to(signin::passkey_finish),
    )
    .route("/signed-in", web::get().to(signin::signed_in))
    .route("/enroll", web::get().to(signin::enroll_page))
    .route("/enroll/options", web::post().to(signin::enroll_options))
    .route("/enroll/finish", web::post().to(signin::enroll_finish))
    .route("/enroll/skip", web::post().to(signin::enroll_skip))
    .route("/enroll/done", web::get().to(signin::enroll_done))
    .route("/signed-out", web::get().to(account::signed_out))
    .route(
        "/enroll/remove",
        web::get().to(handlers::lost_passkey::confirm_remove),
    )
    .route(
        "/enroll/remove",
        web::post().to(handlers::lost_passkey::remove),
    )
    .route("/account/security", web::get().to(account::security_info))
    .route(
        "/account/passkeys/rename",
        web::post().to(account::rename_passkey),
    )
    .route(
        "/account/passkeys/delete",
        web::get().to(account::confirm_delete_passkey),
    )
    .route(
        "/account/passkeys/delete",
        web::post().to(account::delete_passkey),
    )
    .route(
        "/account/tap/delete",
        web::get().to(account::confirm_delete_tap),
    )
    .route("/account/tap/delete", web::post().to(account::delete_tap))
    .route("/account/signout", web::post().to(account::sign_out))
    .configure(portal::routes)
    .route("/static/{path:.*}", web::get().to(assets::asset))
    .route("/", web::get().to(assets::home))
    .route("/favicon.ico", web::get().to(assets::favicon))
    .service(api_scope(true));
}

/// The endpoints a single-page application calls from its own origin
/// (discovery, keys, token, revocation, introspection, userinfo): any
/// origin may read their answers, errors included, and no cookies are
/// involved. Every answer of theirs gets `Access-Control-Allow-Origin: *`
/// here, once, whether or not the request names an `Origin`; preflights
/// get [`token::preflight`].
fn cross_origin_routes(cfg: &mut web::ServiceConfig) {
    use actix_web::http::Method;
    let cors = || {
        actix_web::middleware::DefaultHeaders::new().add((
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ))
    };
    let preflight = || web::method(Method::OPTIONS).to(token::preflight);
    cfg.service(
        web::resource(DISCOVERY_PATH)
            .wrap(cors())
            .route(web::get().to(discovery::openid_configuration)),
    )
    .service(
        web::resource(JWKS_PATH)
            .wrap(cors())
            .route(web::get().to(discovery::jwks)),
    )
    .service(
        web::resource(TOKEN_PATH)
            .wrap(cors())
            .route(web::post().to(token::token_post))
            .route(preflight())
            .route(web::to(token::token_method_not_allowed)),
    )
    .service(
        web::resource(REVOCATION_PATH)
            .wrap(cors())
            .route(web::post().to(token::revoke))
            .route(preflight()),
    )
    .service(
        web::resource(INTROSPECTION_PATH)
            .wrap(cors())
            .route(web::post().to(token::introspect)),
    )
    .service(
        web::resource(USERINFO_PATH)
            .wrap(cors())
            .route(web::get().to(userinfo::userinfo))
            .route(web::post().to(userinfo::userinfo))
            .route(preflight()),
    );
}

/// The admin API's scope, `/api/v1`: its routes, Graph's error envelope
/// and ids around every answer, and its own body and path settings (so
/// that it is complete on its own). `$batch` serves each inner request
/// through an application made of this scope without `$batch`
/// (`batch: false`), so that an inner request passes the same routing,
/// extractors and middleware as one sent alone, and a batch cannot nest.
pub fn api_scope(
    batch: bool,
) -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope("/api/v1")
        .app_data(web::PathConfig::default().error_handler(|e, _| path_error(e)))
        .app_data(web::PayloadConfig::default().limit(API_BODY_LIMIT))
        .wrap(actix_web::middleware::from_fn(api_errors))
        .wrap(actix_web::middleware::from_fn(api::envelope::envelope))
        .configure(api::routes)
        .configure(|cfg| {
            if batch {
                api::batch::routes(cfg);
            }
        })
        .default_service(web::to(api_not_found))
}

/// Every error the admin API answers is in Graph's envelope, also the ones
/// actix makes itself: a method a resource does not have is 405 with the
/// `Allow` header actix computed, and any other error without the envelope
/// (an extractor's plain text) gets it, with the same status and headers.
async fn api_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let method = req.method().clone();
    let res = next.call(req).await?;
    let status = res.status();
    let is_json = content_type_is(res.headers(), "application/json");
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return Ok(res.map_into_left_body());
    }
    let (req, old) = res.into_parts();
    let plain = content_type_is(old.headers(), "text/plain");
    let kept = kept_headers(old.headers());
    let text = actix_web::body::to_bytes_limited(old.into_body(), 4096)
        .await
        .ok()
        .and_then(Result::ok)
        .filter(|_| plain)
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .filter(|t| !t.trim().is_empty());
    let (code, message) = graph_error(status, &method, text);
    let mut res = graph_response(status, code, &message);
    for (name, value) in kept {
        res.headers_mut().insert(name, value);
    }
    Ok(ServiceResponse::new(req, res).map_into_right_body())
}

fn content_type_is(headers: &header::HeaderMap, prefix: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(prefix))
}

/// The headers of actix's own error answer that its envelope keeps.
fn kept_headers(headers: &header::HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    headers
        .iter()
        .filter(|(name, _)| {
            [header::ALLOW, header::WWW_AUTHENTICATE, header::RETRY_AFTER].contains(name)
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// Graph's code and message for an error actix answered itself; a client
/// error's own plain `text` (an extractor's) is the message, except for
/// 405.
fn graph_error(
    status: actix_web::http::StatusCode,
    method: &actix_web::http::Method,
    text: Option<String>,
) -> (&'static str, String) {
    use actix_web::http::StatusCode;
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "Request_MethodNotAllowed",
            format!("{method} is not a method of this resource; Allow lists the ones it has."),
        ),
        StatusCode::NOT_FOUND => ("Request_ResourceNotFound", "No such resource.".to_owned()),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ("Request_EntityTooLarge", "The body is too large.".into())
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "Request_UnsupportedMediaType",
            "The body must be application/json.".into(),
        ),
        s if s.is_server_error() => ("generalException", "An internal error occurred.".into()),
        s => (
            error::GRAPH_BAD_REQUEST,
            s.canonical_reason().unwrap_or("Bad request").to_owned(),
        ),
    };
    match text {
        Some(t) if status.is_client_error() && status != StatusCode::METHOD_NOT_ALLOWED => {
            (code, t)
        }
        _ => (code, message),
    }
}

/// An `/api/v1` path that is no resource: Graph names the segment.
async fn api_not_found(req: HttpRequest) -> HttpResponse {
    let path = req.path().strip_prefix("/api/v1").unwrap_or(req.path());
    let segment = path.trim_matches('/').split('/').next_back().unwrap_or("");
    graph_response(
        actix_web::http::StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!("Resource not found for the segment '{segment}'."),
    )
}

/// Fallback for unknown routes: a JSON 404 (the admin API has its own).
pub async fn not_found(_req: HttpRequest) -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("application/json")
        .body(r#"{"error":"not_found","error_description":"no such endpoint"}"#)
}

/// Property tests (`prop_*`; `PROPTEST_CASES` sets the number of cases).
#[cfg(test)]
mod proptests {
    use super::*;
    use actix_web::test::TestRequest;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

    fn trusted() -> Vec<IpRange> {
        ["10.0.0.0/8", "fd00::/8"]
            .into_iter()
            .filter_map(|r| IpRange::parse(r).ok())
            .collect()
    }

    /// An address inside the trusted ranges (a proxy) or outside (a client).
    fn address(proxy: bool) -> impl Strategy<Value = IpAddr> {
        let v4 = any::<[u8; 3]>().prop_map(move |[b, c, d]| {
            let a = if proxy { 10 } else { 11 };
            IpAddr::V4(Ipv4Addr::new(a, b, c, d))
        });
        let v6 = any::<u128>().prop_map(move |bits| {
            let low = bits & (u128::MAX >> 8);
            let top: u128 = if proxy { 0xfd } else { 0x20 };
            IpAddr::V6(Ipv6Addr::from((top << 120) | low))
        });
        prop_oneof![v4, v6]
    }

    /// The ways a proxy may write an address (always one `parse_hop` reads).
    fn written(ip: IpAddr) -> impl Strategy<Value = String> {
        (0u8..4, any::<u16>(), "[ \t]{0,2}", "[ \t]{0,2}").prop_map(move |(form, port, l, r)| {
            let text = match (ip, form) {
                (IpAddr::V4(a), 1) => format!("{a}:{port}"),
                (IpAddr::V4(a), 2) => a.to_ipv6_mapped().to_string(),
                (IpAddr::V4(a), 3) => format!("[{}]:{port}", a.to_ipv6_mapped()),
                (IpAddr::V6(a), 1 | 3) => format!("[{a}]:{port}"),
                (a, _) => a.to_string(),
            };
            format!("{l}{text}{r}")
        })
    }

    /// Garbage a client may put left of the real chain.
    fn claim() -> impl Strategy<Value = String> {
        prop_oneof![
            address(true).prop_map(|a| a.to_string()),
            address(false).prop_map(|a| a.to_string()),
            Just("unknown".to_owned()),
            Just(String::new()),
            "[0-9a-f:.\\[\\] ]{0,20}",
        ]
    }

    /// A header value split over several `X-Forwarded-For` lines.
    fn request(peer: SocketAddr, hops: &[String], cuts: &[prop::sample::Index]) -> ServiceRequest {
        let mut lines: Vec<Vec<&str>> = vec![Vec::new()];
        let cut_at: Vec<usize> = cuts.iter().map(|c| c.index(hops.len() + 1)).collect();
        for (i, hop) in hops.iter().enumerate() {
            if i > 0 && cut_at.contains(&i) {
                lines.push(Vec::new());
            }
            if let Some(line) = lines.last_mut() {
                line.push(hop);
            }
        }
        let mut req = TestRequest::default().peer_addr(peer);
        for line in lines.iter().filter(|l| !l.is_empty()) {
            req = req.append_header(("x-forwarded-for", line.join(",")));
        }
        req.to_srv_request()
    }

    proptest! {
        #[test]
        fn prop_xff_picks_the_peer_or_an_address_of_the_header(
            peer in prop_oneof![address(true), address(false)],
            port in any::<u16>(),
            values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..60), 0..3),
        ) {
            let mut req = TestRequest::default().peer_addr(SocketAddr::new(peer, port));
            let mut hops = Vec::new();
            for v in &values {
                if let Ok(h) = HeaderValue::from_bytes(v) {
                    if let Ok(text) = h.to_str() {
                        hops.extend(text.split(',').map(str::trim).map(str::to_owned));
                    }
                    req = req.append_header((HeaderName::from_static("x-forwarded-for"), h));
                }
            }
            let req = req.to_srv_request();
            let got = client_address(&req, &trusted());
            let got = got.ok_or_else(|| TestCaseError::fail("no address"))?;
            let peer = peer.to_canonical();
            prop_assert!(
                got == peer || hops.iter().any(|h| parse_hop(h) == Some(got)),
                "{got} is neither the peer {peer} nor in {hops:?}"
            );
            if !trusted().iter().any(|r| r.contains(peer)) {
                prop_assert_eq!(got, peer);
            }
        }

        #[test]
        fn prop_xff_finds_the_client_behind_trusted_proxies(
            (client, written_client) in address(false).prop_flat_map(|a| (Just(a), written(a))),
            proxies in proptest::collection::vec(
                address(true).prop_flat_map(written), 0..4),
            claims in proptest::collection::vec(claim(), 0..4),
            peer in address(true),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..3),
        ) {
            let mut hops = claims;
            hops.push(written_client);
            hops.extend(proxies);
            let req = request(SocketAddr::new(peer, 443), &hops, &cuts);
            prop_assert_eq!(client_address(&req, &trusted()), Some(client.to_canonical()), "{:?}", hops);
            // A client that is not behind a trusted proxy is the peer.
            let direct = request(SocketAddr::new(client, 443), &hops, &cuts);
            prop_assert_eq!(client_address(&direct, &trusted()), Some(client.to_canonical()));
        }

        #[test]
        fn prop_xff_hop_reads_every_written_form(
            (ip, text) in prop_oneof![address(true), address(false)]
                .prop_flat_map(|a| (Just(a), written(a))),
        ) {
            prop_assert_eq!(parse_hop(text.trim()), Some(ip.to_canonical()));
        }

        #[test]
        fn prop_xff_hop_never_panics(s in any::<String>()) {
            if let Some(ip) = parse_hop(&s) {
                prop_assert_eq!(ip, ip.to_canonical());
            }
        }
    }
}
