//! OData query options of an admin API request (`crate::domain::odata`
//! parses them) and the shape of Graph's answers: `@odata.context`,
//! `value`, `@odata.count`, `@odata.nextLink`, `$select` projections.
//!
//! Every request states which options it takes: a collection its schema's,
//! a single resource `$select` only, anything else none. An option or
//! parameter a request does not take is a 400 naming it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{Map, Value};

use crate::domain::odata::{
    ODataError, ODataRecord, ODataValue, PropType, QueryOptions, ResourceSchema,
};
use crate::service::directory_query::QueryPage;
use crate::web::error::WebError;

/// `ConsistencyLevel: eventual`, which Graph requires for `$count` and
/// `$search` on directory objects. Any other value is refused, not read
/// as absent.
pub fn eventual(req: &HttpRequest) -> Result<bool, WebError> {
    match req.headers().get("consistencylevel") {
        None => Ok(false),
        Some(v) => match v.to_str() {
            Ok(v) if v.trim().eq_ignore_ascii_case("eventual") => Ok(true),
            _ => Err(ODataError::bad_request(
                "The header ConsistencyLevel takes only the value eventual.",
            )
            .into()),
        },
    }
}

/// The options of a collection request. `params` are the non-`$`
/// parameters this request also understands; any other is refused.
pub fn collection(
    req: &HttpRequest,
    schema: &ResourceSchema,
    params: &[&str],
) -> Result<QueryOptions, WebError> {
    let options = QueryOptions::parse(req.query_string(), schema)?;
    refuse_other(&options, params)?;
    let eventual = eventual(req)?;
    if schema.directory && !eventual {
        if options.search().is_some() {
            return Err(ODataError::unsupported(
                "$search on this resource needs the header ConsistencyLevel: eventual",
            )
            .into());
        }
        if options.count() == Some(true) {
            return Err(ODataError::bad_request(
                "$count on this resource needs the header ConsistencyLevel: eventual",
            )
            .into());
        }
    }
    Ok(options)
}

/// The options of a request for one resource: `$select` at most.
pub fn single(req: &HttpRequest, schema: &ResourceSchema) -> Result<QueryOptions, WebError> {
    let options = QueryOptions::parse(req.query_string(), schema)?;
    refuse_other(&options, &[])?;
    let only_select = options.filter().is_none()
        && options.top().is_none()
        && options.order_by().is_empty()
        && options.count().is_none()
        && options.search().is_none()
        && options.skip_token().is_none();
    if !only_select {
        return Err(ODataError::unsupported(
            "a single resource takes only $select; $filter, $top, $orderby, $count, $search and $skiptoken apply to collections",
        )
        .into());
    }
    Ok(options)
}

/// The options of a `$count` request: `$filter` and `$search` only, with
/// `ConsistencyLevel: eventual` as Graph requires.
pub fn count(req: &HttpRequest, schema: &ResourceSchema) -> Result<QueryOptions, WebError> {
    let options = QueryOptions::parse(req.query_string(), schema)?;
    refuse_other(&options, &[])?;
    let extra = options.top().is_some()
        || !options.order_by().is_empty()
        || options.count().is_some()
        || options.select().is_some()
        || options.skip_token().is_some();
    if extra {
        return Err(ODataError::unsupported("$count takes only $filter and $search").into());
    }
    if schema.directory && !eventual(req)? {
        return Err(ODataError::bad_request(
            "$count on this resource needs the header ConsistencyLevel: eventual",
        )
        .into());
    }
    Ok(options)
}

/// A request that takes no query string at all (writes, actions).
pub fn none(req: &HttpRequest) -> Result<(), WebError> {
    let raw = req.query_string();
    if raw.is_empty() {
        return Ok(());
    }
    let name = raw.split('&').next().unwrap_or(raw);
    let name = name.split('=').next().unwrap_or(name);
    let name = crate::domain::odata::percent_decode(name)
        .map(|n| n.into_owned())
        .unwrap_or_else(|_| name.to_owned());
    Err(ODataError::unsupported(format!(
        "the query parameter '{name}' is not supported by this request"
    ))
    .into())
}

fn refuse_other(options: &QueryOptions, params: &[&str]) -> Result<(), WebError> {
    match options
        .other()
        .iter()
        .find(|(k, _)| !params.iter().any(|p| p.eq_ignore_ascii_case(k)))
    {
        Some((name, _)) => Err(ODataError::unsupported(format!(
            "the query parameter '{name}' is not supported by this request"
        ))
        .into()),
        None => Ok(()),
    }
}

/// Keeps only the `$select`ed properties of an item (and its `@odata`
/// annotations).
pub fn project(options: &QueryOptions, mut item: Value) -> Value {
    if let (Some(selected), Some(map)) = (options.select(), item.as_object_mut()) {
        map.retain(|k, _| k.starts_with("@odata.") || selected.iter().any(|s| s == k));
    }
    item
}

/// `{base}/$metadata#{what}`, as Graph's `@odata.context`.
pub fn context(base: &str, what: &str) -> String {
    format!("{base}/$metadata#{what}")
}

/// The context of a collection, naming the `$select`ed properties as
/// Graph does (`users(displayName,mail)`).
pub fn context_of(base: &str, what: &str, options: &QueryOptions) -> String {
    match options.select() {
        Some(selected) => format!("{base}/$metadata#{what}({})", selected.join(",")),
        None => context(base, what),
    }
}

/// A JSON item as `$filter` sees it, its properties typed by `schema`
/// (for resources shaped in the web layer: a user's methods).
pub struct JsonRecord<'a> {
    pub item: &'a Value,
    pub schema: &'a ResourceSchema,
}

impl ODataRecord for JsonRecord<'_> {
    fn get(&self, property: &str) -> Option<ODataValue<'_>> {
        let ty = self.schema.property(property)?.ty;
        Some(match (self.item.get(property), ty) {
            (None | Some(Value::Null), _) => ODataValue::Null,
            (Some(Value::String(s)), PropType::DateTime) => {
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .map_or(ODataValue::Null, ODataValue::DateTime)
            }
            (Some(Value::String(s)), _) => ODataValue::Str(s),
            (Some(Value::Bool(b)), _) => ODataValue::Bool(*b),
            (Some(Value::Number(n)), _) => n.as_i64().map_or(ODataValue::Null, ODataValue::Int),
            _ => ODataValue::Null,
        })
    }
}

/// The answer of `/$count`: the number as text, as Graph answers it.
pub fn count_answer(n: u64) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(n.to_string())
}

/// One resource with its `@odata.context`.
pub fn entity(context_url: String, item: Value) -> Value {
    let mut out = Map::new();
    out.insert("@odata.context".into(), Value::String(context_url));
    if let Value::Object(fields) = item {
        out.extend(fields);
    }
    Value::Object(out)
}

/// 200 with one resource: `$select`ed, with its `@odata.context`.
pub fn entity_answer(context_url: String, options: &QueryOptions, item: Value) -> HttpResponse {
    super::json(StatusCode::OK, &entity(context_url, project(options, item)))
}

/// A page of a collection.
pub struct Page {
    pub context: String,
    pub items: Vec<Value>,
    pub count: Option<u64>,
    pub next_link: Option<String>,
}

impl Page {
    pub fn into_json(self) -> Value {
        let mut out = Map::new();
        out.insert("@odata.context".into(), Value::String(self.context));
        if let Some(n) = self.count {
            out.insert("@odata.count".into(), Value::from(n));
        }
        if let Some(link) = self.next_link {
            out.insert("@odata.nextLink".into(), Value::String(link));
        }
        out.insert("value".into(), Value::Array(self.items));
        Value::Object(out)
    }

    /// 200 with the page.
    pub fn answer(self) -> HttpResponse {
        super::json(StatusCode::OK, &self.into_json())
    }
}

/// The link to the next page: this request's URL with `$skiptoken`
/// replaced, every other option kept.
pub fn next_link(base: &str, req: &HttpRequest, token: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if !k.eq_ignore_ascii_case("$skiptoken") {
            query.append_pair(&k, &v);
        }
    }
    query.append_pair("$skiptoken", token);
    let path = req.path().strip_prefix("/api/v1").unwrap_or(req.path());
    format!("{base}{path}?{}", query.finish())
}

fn shaped<T>(options: &QueryOptions, items: Vec<T>, shape: impl Fn(T) -> Value) -> Vec<Value> {
    items
        .into_iter()
        .map(|item| project(options, shape(item)))
        .collect()
}

/// 200 with a page the service cut: each item shaped and `$select`ed, the
/// context naming the selection (`users(displayName,mail)`), the link to
/// the next page.
pub fn service_page<T>(
    req: &HttpRequest,
    base: &str,
    what: &str,
    options: &QueryOptions,
    page: QueryPage<T>,
    shape: impl Fn(T) -> Value,
) -> HttpResponse {
    Page {
        context: context_of(base, what, options),
        items: shaped(options, page.items, shape),
        count: page.count,
        next_link: page.next.map(|t| next_link(base, req, &t)),
    }
    .answer()
}

/// 200 with one page of a collection held in memory, already filtered and
/// sorted ([`crate::service::directory_query::page_of`] cuts it), with the
/// link to the next page, so that `$top` never hides the rest.
pub fn memory_page<T>(
    req: &HttpRequest,
    base: &str,
    context: String,
    options: &QueryOptions,
    items: Vec<T>,
    shape: impl Fn(T) -> Value,
) -> Result<HttpResponse, WebError> {
    let top = options.top().map_or(100, |t| t as usize);
    let page = crate::service::directory_query::page_of(items, options, top)?;
    Ok(Page {
        context,
        items: shaped(options, page.items, shape),
        count: page.count,
        next_link: page.next.map(|t| next_link(base, req, &t)),
    }
    .answer())
}

/// The items `options` `$filter`s and `$search`es in, in its `$orderby`
/// (ties broken by id, so that pages do not overlap).
pub fn matching_sorted<T: ODataRecord>(
    options: &QueryOptions,
    items: Vec<T>,
    id: impl Fn(&T) -> &str,
) -> Vec<T> {
    let mut items: Vec<T> = items.into_iter().filter(|t| options.matches(t)).collect();
    sort(options, &mut items, id);
    items
}

/// Sorts by `$orderby`, ties broken by id.
pub fn sort<T: ODataRecord>(options: &QueryOptions, items: &mut [T], id: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| options.compare(a, b).then_with(|| id(a).cmp(id(b))));
}
