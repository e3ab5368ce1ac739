//! A JSON body extractor for the admin API whose errors name the field
//! (`displayName: invalid type ...`) and come as problem details.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::error::WebError;

pub struct ApiJson<T>(pub T);

impl<T> ApiJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

pub fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("application/json") || v.to_ascii_lowercase().ends_with("+json")
        })
}

pub fn unsupported_media_type() -> WebError {
    WebError::BadRequest {
        code: "unsupported_media_type",
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        detail: "the body must be application/json".into(),
    }
}

/// Parses `bytes`, naming the offending field in the error.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WebError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let detail = if path == "." {
            format!("body: {}", e.inner())
        } else {
            format!("{path}: {}", e.inner())
        };
        WebError::BadRequest {
            code: "invalid_request",
            status: StatusCode::BAD_REQUEST,
            detail,
        }
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(unsupported_media_type());
            }
            let bytes = body.await.map_err(|e| WebError::BadRequest {
                code: "payload_too_large",
                status: StatusCode::PAYLOAD_TOO_LARGE,
                detail: format!("the body could not be read: {e}"),
            })?;
            parse(&bytes).map(ApiJson)
        })
    }
}

/// Property tests (`prop_*`; `PROPTEST_CASES` sets the number of cases).
#[cfg(test)]
mod proptests {
    use super::*;
    use actix_web::http::header::HeaderValue;
    use actix_web::test::TestRequest;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn prop_json_content_type_is_json_or_refused(
            essence in prop_oneof![
                Just("application/json"),
                Just("Application/JSON"),
                Just("application/merge-patch+json"),
                Just("application/jsonx"),
                Just("text/plain"),
                Just(""),
            ],
            pad in "[ \\t]{0,2}",
            params in prop_oneof![Just(String::new()), Just("; charset=utf-8".to_owned()), "[ -~]{0,20}"],
            raw in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let value = format!("{pad}{essence}{pad}{params}");
            if let Ok(v) = HeaderValue::from_str(&value) {
                let req = TestRequest::default().insert_header((header::CONTENT_TYPE, v)).to_http_request();
                let first = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
                prop_assert_eq!(is_json(&req), first == "application/json" || first.ends_with("+json"));
            }
            if let Ok(v) = HeaderValue::from_bytes(&raw) {
                let _ = is_json(&TestRequest::default().insert_header((header::CONTENT_TYPE, v)).to_http_request());
            }
        }
    }
}
