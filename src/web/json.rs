//! Request bodies of the admin API, as Graph clients write them: errors
//! name the field (`displayName: invalid type ...`); Microsoft's SDKs send
//! `"@odata.type"` with the resource's own type (`#microsoft.graph.user`),
//! which is accepted, and refused when it names another type; every other
//! property must be one the resource has (`deny_unknown_fields` on each
//! body type), so nothing sent is silently dropped. The field rules keep
//! bodies to what the API document says: `null` only where a field is
//! nullable, and whole numbers however JSON spells them.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Unexpected, Visitor};

use super::error::WebError;

pub struct ApiJson<T> {
    value: T,
    /// The `@odata.type` the body named (one of `T::ODATA_TYPES`).
    odata_type: Option<String>,
}

impl<T> ApiJson<T> {
    pub fn into_inner(self) -> T {
        self.value
    }

    pub fn odata_type(&self) -> Option<&str> {
        self.odata_type.as_deref()
    }
}

pub fn is_json(req: &HttpRequest) -> bool {
    essence(req).is_some_and(|v| {
        v.eq_ignore_ascii_case("application/json") || v.to_ascii_lowercase().ends_with("+json")
    })
}

/// The content type's essence (before any `;` parameter), trimmed.
fn essence(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
}

/// Is the body a form (`application/x-www-form-urlencoded`)?
pub fn is_form(req: &HttpRequest) -> bool {
    essence(req).is_some_and(|v| v.eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// A body type of the admin API and the Graph types it may be sent as.
pub trait GraphBody: DeserializeOwned + 'static {
    /// `#microsoft.graph.user` and the like; the first is the canonical
    /// one. Empty for Onramp's own resources, which take no `@odata.type`.
    const ODATA_TYPES: &'static [&'static str];
}

/// Does `sent` name one of `types`? Graph reads the name with or without
/// its leading `#`, ignoring case.
pub(crate) fn names_type(sent: &str, types: &[&str]) -> bool {
    let sent = sent.trim_start_matches('#');
    types
        .iter()
        .any(|t| t.trim_start_matches('#').eq_ignore_ascii_case(sent))
}

pub fn unsupported_media_type() -> WebError {
    WebError::BadRequest {
        code: "Request_UnsupportedMediaType",
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        detail: "the body must be application/json".into(),
    }
}

/// Parses `bytes`, naming the offending field in the error. Every body of
/// the API is a JSON object: serde would also read a struct from an array
/// of its fields in order (`[]` as an empty patch), which is not JSON the
/// document allows.
pub fn parse<T: GraphBody>(bytes: &[u8]) -> Result<T, WebError> {
    parse_typed(bytes).map(|(value, _)| value)
}

/// [`parse`], and the `@odata.type` the body named.
fn parse_typed<T: GraphBody>(bytes: &[u8]) -> Result<(T, Option<String>), WebError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(WebError::invalid_body("body: must be a JSON object"));
    }
    let mut value: serde_json::Value =
        deserialize(&mut serde_json::Deserializer::from_slice(bytes))?;
    let mut named = None;
    if let Some(map) = value.as_object_mut()
        && let Some(sent) = map.remove("@odata.type")
    {
        match sent.as_str() {
            Some(s) if names_type(s, T::ODATA_TYPES) => named = Some(s.to_owned()),
            _ => {
                return Err(WebError::invalid_body(match T::ODATA_TYPES.first() {
                    Some(own) => format!("@odata.type: this resource is {own}, not {sent}"),
                    None => "@odata.type: this resource takes no @odata.type".to_owned(),
                }));
            }
        }
    }
    Ok((deserialize(value)?, named))
}

/// Deserializes, naming the offending field in the error.
fn deserialize<'de, T: Deserialize<'de>>(
    de: impl Deserializer<'de, Error = impl de::Error + std::fmt::Display>,
) -> Result<T, WebError> {
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        WebError::invalid_body(if path == "." {
            format!("body: {}", e.inner())
        } else {
            format!("{path}: {}", e.inner())
        })
    })
}

/// For `#[serde(default, deserialize_with = "present")]` on an optional
/// field: left out, it is `None`; sent, it must be a value, and `null` is
/// refused (naming the field), as the document does not make it nullable.
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// For `#[serde(default, deserialize_with = "nullable")]` on a field PATCH
/// may clear: left out it is `None`, `null` is `Some(None)`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// For `#[serde(default, deserialize_with = "whole")]` on an optional `u32`:
/// a JSON number that is a whole number, also when written `60.0` or `6e1`
/// (JSON Schema's `integer` is the number's value, not its spelling).
/// `null` is refused, as with [`present`].
pub fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    struct Whole;
    impl Visitor<'_> for Whole {
        type Value = u32;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a whole number from 0 to 4294967295")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
            u32::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u32, E> {
            u32::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<u32, E> {
            if v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) {
                // Whole and in range, so the conversion is exact.
                Ok(v as u32)
            } else {
                Err(E::invalid_value(Unexpected::Float(v), &self))
            }
        }
    }
    d.deserialize_any(Whole).map(Some)
}

/// Reads the body as problem details would have it: 413 when it is too
/// large to read.
async fn read_body(
    body: impl std::future::Future<Output = Result<web::Bytes, actix_web::Error>>,
) -> Result<web::Bytes, WebError> {
    body.await.map_err(WebError::unreadable_body)
}

/// An optional JSON body: an empty one (or only white space) is `None`,
/// whatever its Content-Type; any other must be `application/json`.
pub struct MaybeApiJson<T>(pub Option<T>);

impl<T: GraphBody> FromRequest for MaybeApiJson<T> {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = read_body(body).await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(MaybeApiJson(None));
            }
            if !json {
                return Err(unsupported_media_type());
            }
            parse(&bytes).map(|v| MaybeApiJson(Some(v)))
        })
    }
}

impl<T: GraphBody> FromRequest for ApiJson<T> {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(unsupported_media_type());
            }
            let bytes = read_body(body).await?;
            parse_typed(&bytes).map(|(value, odata_type)| ApiJson { value, odata_type })
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
