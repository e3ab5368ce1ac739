//! The OAuth endpoints a client calls with its credentials: `POST /token`
//! (RFC 6749 §3.2), `/revoke` (RFC 7009) and `/introspect` (RFC 7662).
//! [`ClientCall`] reads the form and authenticates the client once for all
//! three; the handlers are one service call each.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::future::LocalBoxFuture;
use std::sync::Arc;

use crate::domain::client::Client;
use crate::domain::oauth::{OAuthError, OAuthErrorCode};
use crate::domain::protocol::{Params, TokenParams, TokenRequest};
use crate::service::RequestMeta;
use crate::service::clients::PresentedCredentials;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::json::is_form;
use crate::web::request_meta;

/// The parameters of these endpoints, as sent (empty ones omitted).
#[derive(Default)]
struct TokenForm {
    grant_type: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    token: Option<String>,
    token_type_hint: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

/// The form, each parameter at most once: the rule of every OAuth
/// endpoint (RFC 6749 §3.1, §3.2), applied by [`Params::one`]. Unknown
/// parameters are ignored, as §3.2 requires.
fn parse_form(body: &[u8]) -> Result<TokenForm, OAuthError> {
    let params = Params::from_pairs(url::form_urlencoded::parse(body));
    let one = |name: &str| {
        params
            .one(name)
            .map(|v| v.map(str::to_owned))
            .map_err(OAuthError::invalid_request)
    };
    Ok(TokenForm {
        grant_type: one("grant_type")?,
        scope: one("scope")?,
        client_id: one("client_id")?,
        client_secret: one("client_secret")?,
        code: one("code")?,
        redirect_uri: one("redirect_uri")?,
        code_verifier: one("code_verifier")?,
        refresh_token: one("refresh_token")?,
        token: one("token")?,
        token_type_hint: one("token_type_hint")?,
        client_assertion_type: one("client_assertion_type")?,
        client_assertion: one("client_assertion")?,
    })
}

/// `Authorization: Basic` credentials, form-decoded (RFC 6749 §2.3.1).
fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || OAuthError {
        code: OAuthErrorCode::InvalidClient,
        description: "malformed Basic credentials".into(),
        basic_challenge: true,
    };
    let value = value.to_str().map_err(|_| bad())?;
    let Some((scheme, rest)) = value.split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_request(
            "the token endpoint accepts only Basic client authentication in the Authorization header",
        ));
    }
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    // One form-encoded value: `%XX` and `+` decoded, a stray `&` kept as is
    // (it would end the value in a whole form).
    let form_decode = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={}", s.replace('&', "%26")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((form_decode(id), form_decode(secret))))
}

/// A form posted by a client that authenticated itself (RFC 6749 §2.3:
/// Basic, form secret, or a `client_assertion`; none for a public client).
pub struct ClientCall {
    client: Arc<Client>,
    form: TokenForm,
    meta: RequestMeta,
}

impl ClientCall {
    async fn read(req: HttpRequest, body: web::Bytes) -> Result<Self, WebError> {
        if !is_form(&req) {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            )
            .into());
        }
        let state = req
            .app_data::<web::Data<AppState>>()
            .ok_or_else(OAuthError::server_error)?;
        let form = parse_form(&body)?;
        let basic = basic_credentials(&req)?;
        let presented = PresentedCredentials {
            basic: basic.as_ref().map(|(i, s)| (i.as_str(), s.as_str())),
            form_id: form.client_id.as_deref(),
            form_secret: form.client_secret.as_deref(),
            assertion_type: form.client_assertion_type.as_deref(),
            assertion: form.client_assertion.as_deref(),
        };
        let meta = request_meta(&req);
        let client = state.tokens.authenticate_client(presented, &meta).await?;
        Ok(Self { client, form, meta })
    }

    /// The `token` parameter of revocation and introspection.
    fn token(&self) -> Result<&str, OAuthError> {
        self.form
            .token
            .as_deref()
            .ok_or_else(|| OAuthError::invalid_request("token is required"))
    }

    fn token_request(&self) -> Result<TokenRequest<'_>, OAuthError> {
        let f = &self.form;
        TokenRequest::parse(TokenParams {
            grant_type: f.grant_type.as_deref(),
            scope: f.scope.as_deref(),
            code: f.code.as_deref(),
            redirect_uri: f.redirect_uri.as_deref(),
            code_verifier: f.code_verifier.as_deref(),
            refresh_token: f.refresh_token.as_deref(),
        })
    }
}

impl FromRequest for ClientCall {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let body = body.await.map_err(|e| {
                OAuthError::invalid_request(format!("the body could not be read: {e}"))
            })?;
            Self::read(req, body).await
        })
    }
}

fn no_store(mut res: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    res.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    res
}

fn no_store_json(body: Vec<u8>) -> HttpResponse {
    no_store(HttpResponse::Ok())
        .content_type("application/json")
        .body(body)
}

/// `POST /token`.
pub async fn token_post(
    call: ClientCall,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let request = call.token_request()?;
    let response = state
        .tokens
        .exchange(&call.client, request, &call.meta)
        .await?;
    let body = serde_json::to_vec(&response).map_err(|_| OAuthError::server_error())?;
    Ok(no_store_json(body))
}

/// `POST /revoke` (RFC 7009).
pub async fn revoke(
    call: ClientCall,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    state
        .tokens
        .revoke(
            &call.client,
            call.token()?,
            call.form.token_type_hint.as_deref(),
        )
        .await?;
    Ok(no_store(HttpResponse::Ok()).finish())
}

/// `POST /introspect` (RFC 7662).
pub async fn introspect(
    call: ClientCall,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let answer = state.tokens.introspect(&call.client, call.token()?).await?;
    Ok(no_store_json(answer.to_string().into_bytes()))
}

pub async fn token_method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "POST"))
        .content_type("application/json")
        .body(r#"{"error":"invalid_request","error_description":"the token endpoint accepts POST only"}"#)
}

/// CORS preflight for the endpoints browsers call directly (token,
/// revocation, userinfo): any origin (added by `web::cross_origin_routes`),
/// no cookies.
pub async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Authorization, Content-Type",
        ))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by prop_token_form_reads_each_parameter_once: an empty first
    /// value did not count, so `grant_type=&grant_type=x` was accepted.
    #[test]
    fn a_parameter_repeated_after_an_empty_value_is_refused() {
        for body in [
            &b"grant_type=&grant_type=client_credentials"[..],
            b"scope=&scope=",
            b"client_secret=&grant_type=x&client_secret=s",
        ] {
            let err = parse_form(body).err().unwrap();
            assert_eq!(err.code, OAuthErrorCode::InvalidRequest);
        }
    }

    /// Found by prop_token_basic_reads_unencoded_credentials_as_sent: a raw
    /// `&` in Basic credentials cut the value short.
    #[test]
    fn basic_credentials_keep_a_raw_ampersand() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((
                header::AUTHORIZATION,
                format!("Basic {}", STANDARD.encode("app&co:s3cr&et+x%21")),
            ))
            .to_http_request();
        assert_eq!(
            basic_credentials(&req).unwrap(),
            Some(("app&co".to_owned(), "s3cr&et x!".to_owned()))
        );
    }

    #[test]
    fn repeated_parameters_are_refused() {
        let err = parse_form(b"grant_type=a&grant_type=b").err().unwrap();
        assert_eq!(err.code, OAuthErrorCode::InvalidRequest);
        let ok = parse_form(b"grant_type=client_credentials&scope=a+b&other=1&other=2").unwrap();
        assert_eq!(ok.scope.as_deref(), Some("a b"));
    }
}

/// Property tests (`prop_*`; `PROPTEST_CASES` sets the number of cases).
#[cfg(test)]
mod proptests {
    use super::*;
    use actix_web::http::header::HeaderValue;
    use actix_web::test::TestRequest;
    use proptest::prelude::*;

    const NAMES: [&str; 12] = [
        "grant_type",
        "scope",
        "client_id",
        "client_secret",
        "code",
        "redirect_uri",
        "code_verifier",
        "refresh_token",
        "token",
        "token_type_hint",
        "client_assertion_type",
        "client_assertion",
    ];

    fn value_of<'a>(form: &'a TokenForm, name: &str) -> Option<&'a str> {
        match name {
            "grant_type" => form.grant_type.as_deref(),
            "scope" => form.scope.as_deref(),
            "client_id" => form.client_id.as_deref(),
            "client_secret" => form.client_secret.as_deref(),
            "code" => form.code.as_deref(),
            "redirect_uri" => form.redirect_uri.as_deref(),
            "code_verifier" => form.code_verifier.as_deref(),
            "refresh_token" => form.refresh_token.as_deref(),
            "token" => form.token.as_deref(),
            "token_type_hint" => form.token_type_hint.as_deref(),
            "client_assertion_type" => form.client_assertion_type.as_deref(),
            "client_assertion" => form.client_assertion.as_deref(),
            _ => None,
        }
    }

    /// Form pairs: mostly the token endpoint's names, now and then repeated
    /// or empty, among unknown ones.
    fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
        let name = prop_oneof![
            4 => proptest::sample::select(NAMES.to_vec()).prop_map(str::to_owned),
            1 => "[a-z_]{0,12}",
        ];
        let value = prop_oneof![
            1 => Just(String::new()),
            4 => any::<String>(),
        ];
        proptest::collection::vec((name, value), 0..10)
    }

    fn basic_request(value: HeaderValue) -> actix_web::HttpRequest {
        TestRequest::default()
            .insert_header((header::AUTHORIZATION, value))
            .to_http_request()
    }

    fn basic(id: &str, secret: &str) -> String {
        format!("{id}:{secret}")
    }

    proptest! {
        #[test]
        fn prop_token_content_type_is_the_form_type_or_refused(
            essence in prop_oneof![
                Just("application/x-www-form-urlencoded".to_owned()),
                Just("APPLICATION/X-WWW-FORM-URLENCODED".to_owned()),
                Just("application/json".to_owned()),
                Just("application/x-www-form-urlencodedx".to_owned()),
                Just("multipart/form-data".to_owned()),
                "[ -~]{0,40}",
            ],
            pad in "[ \t]{0,2}",
            params in prop_oneof![Just(String::new()), Just(";charset=UTF-8".to_owned()), Just("; charset=utf-8;x=y".to_owned()), "[ -~]{0,20}"],
        ) {
            let value = format!("{pad}{essence}{pad}{params}");
            let Ok(value) = HeaderValue::from_str(&value) else { return Ok(()) };
            let req = TestRequest::default().insert_header((header::CONTENT_TYPE, value.clone())).to_http_request();
            let first = value.to_str().unwrap_or_default().split(';').next().unwrap_or_default().trim().to_owned();
            prop_assert_eq!(is_form(&req), first.eq_ignore_ascii_case("application/x-www-form-urlencoded"));
            // A body is never taken for both a form and JSON.
            let json = crate::web::json::is_json(&req);
            prop_assert!(!(json && is_form(&req)));
        }

        #[test]
        fn prop_token_form_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_form(&body);
        }

        #[test]
        fn prop_token_form_reads_each_parameter_once(pairs in pairs()) {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&pairs)
                .finish();
            let parsed = parse_form(body.as_bytes());
            let repeated = NAMES
                .iter()
                .any(|n| pairs.iter().filter(|(k, _)| k == n).count() > 1);
            match parsed {
                Err(e) => {
                    prop_assert!(repeated, "refused without a repeat: {}", body);
                    prop_assert_eq!(e.code, OAuthErrorCode::InvalidRequest);
                }
                Ok(form) => {
                    prop_assert!(!repeated, "a repeated parameter was accepted: {}", body);
                    for n in NAMES {
                        let sent = pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
                        prop_assert_eq!(value_of(&form, n), sent.filter(|v| !v.is_empty()), "{}", n);
                    }
                }
            }
        }

        #[test]
        fn prop_token_basic_never_panics(value in proptest::collection::vec(any::<u8>(), 0..120)) {
            if let Ok(v) = HeaderValue::from_bytes(&value) {
                let _ = basic_credentials(&basic_request(v));
            }
        }

        #[test]
        fn prop_token_basic_decodes_what_a_client_encodes(
            id in any::<String>(),
            secret in any::<String>(),
            scheme in prop_oneof![Just("Basic"), Just("basic"), Just("BASIC")],
            pad in "[ ]{0,2}",
        ) {
            // RFC 6749 §2.3.1: form-encode each, then HTTP Basic (RFC 7617).
            let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let raw = basic(&encode(&id), &encode(&secret));
            let header = format!("{scheme} {pad}{}{pad}", STANDARD.encode(raw));
            let value = HeaderValue::from_str(&header).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let got = basic_credentials(&basic_request(value)).map_err(|e| TestCaseError::fail(e.description.to_string()))?;
            prop_assert_eq!(got, Some((id, secret)));
        }

        #[test]
        fn prop_token_basic_reads_unencoded_credentials_as_sent(
            id in "[a-zA-Z0-9_.~!*'()&=$,;/?@ -]{0,20}",
            secret in "[a-zA-Z0-9_.~!*'()&=$,;/?@: -]{0,40}",
        ) {
            // Many clients skip the form encoding; whatever it would not
            // change (no `%` or `+`) must come through as sent.
            prop_assume!(!id.contains(':'));
            let header = format!("Basic {}", STANDARD.encode(basic(&id, &secret)));
            let value = HeaderValue::from_str(&header).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let got = basic_credentials(&basic_request(value)).map_err(|e| TestCaseError::fail(e.description.to_string()))?;
            prop_assert_eq!(got, Some((id, secret)));
        }

        #[test]
        fn prop_token_basic_refuses_other_schemes_and_garbage(
            scheme in "[A-Za-z]{1,8}",
            rest in "[A-Za-z0-9+/=:!-]{0,30}",
        ) {
            let value = HeaderValue::from_str(&format!("{scheme} {rest}")).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let got = basic_credentials(&basic_request(value));
            if !scheme.eq_ignore_ascii_case("basic") {
                prop_assert_eq!(got.map_err(|e| e.code), Err(OAuthErrorCode::InvalidRequest));
            } else if let Ok(Some((id, secret))) = got {
                // Accepted only if it really was base64 of id:secret.
                let decoded = STANDARD.decode(rest.trim()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(String::from_utf8(decoded).is_ok_and(|d| d.contains(':')));
                let _ = (id, secret);
            }
        }
    }
}
