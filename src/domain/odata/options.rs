//! The query string: OData system query options, each parsed and checked
//! against the resource's schema, plus the other parameters for the caller.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::error::{ODataError, quoted};
use super::eval::{ODataRecord, order_values, value_at};
use super::filter::{Filter, Path};
use super::schema::ResourceSchema;
use super::search::Search;

/// The longest value of any one `$` option, in bytes.
pub const MAX_OPTION_LEN: usize = 4096;

/// One `$orderby` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    /// In the schema's spelling (a nested path like `a/b` when the schema
    /// allows ordering by a property of a complex value).
    pub path: Path,
    pub descending: bool,
}

/// The parsed and validated query options of one request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryOptions {
    filter: Option<Filter>,
    select: Option<Vec<&'static str>>,
    top: Option<u32>,
    order_by: Vec<OrderBy>,
    count: Option<bool>,
    search: Option<Search>,
    skip_token: Option<String>,
    other: Vec<(String, String)>,
}

/// Graph's system query options (its "Use query parameters" page). Written
/// without their `$` they are refused too: Graph v1.0 accepts the bare names
/// only on some APIs, and a script writing `filter=` must be told rather than
/// have its filter ignored.
const SYSTEM_OPTIONS: &[&str] = &[
    "count",
    "expand",
    "filter",
    "format",
    "orderby",
    "search",
    "select",
    "skip",
    "skiptoken",
    "top",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Known {
    Filter,
    Select,
    Top,
    OrderBy,
    Count,
    Search,
    SkipToken,
}

impl Known {
    fn from_name(name: &str) -> Option<Self> {
        const ALL: &[(&str, Known)] = &[
            ("$filter", Known::Filter),
            ("$select", Known::Select),
            ("$top", Known::Top),
            ("$orderby", Known::OrderBy),
            ("$count", Known::Count),
            ("$search", Known::Search),
            ("$skiptoken", Known::SkipToken),
        ];
        ALL.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, k)| *k)
    }

    fn name(self) -> &'static str {
        match self {
            Self::Filter => "$filter",
            Self::Select => "$select",
            Self::Top => "$top",
            Self::OrderBy => "$orderby",
            Self::Count => "$count",
            Self::Search => "$search",
            Self::SkipToken => "$skiptoken",
        }
    }
}

/// Percent-decodes one query component: `+` is a space, `%XX` a byte; the
/// result must be UTF-8. Borrows when there is nothing to decode.
pub fn percent_decode(raw: &str) -> Result<Cow<'_, str>, ODataError> {
    if !raw.contains(['%', '+']) {
        return Ok(Cow::Borrowed(raw));
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                let (Some(h), Some(l)) = (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) else {
                    return Err(ODataError::bad_request(format!(
                        "The query string has a malformed percent-encoding at {}.",
                        quoted(raw.get(i..).unwrap_or(""))
                    )));
                };
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map(Cow::Owned).map_err(|_| {
        ODataError::bad_request("The query string is not valid UTF-8 once percent-decoded.")
    })
}

impl QueryOptions {
    /// Parses a raw query string (without or with its leading `?`) for a
    /// resource. Every `$` option is either understood and checked, or
    /// refused with a 400 naming it; see [`super`].
    pub fn parse(raw_query: &str, schema: &ResourceSchema) -> Result<QueryOptions, ODataError> {
        let raw = raw_query.strip_prefix('?').unwrap_or(raw_query);
        let mut out = QueryOptions::default();
        let mut seen: Vec<Known> = Vec::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = percent_decode(raw_name)?;
            let value = percent_decode(raw_value)?;
            if !name.starts_with('$') {
                if SYSTEM_OPTIONS.iter().any(|o| o.eq_ignore_ascii_case(&name)) {
                    return Err(ODataError::unsupported(format!(
                        "Unsupported query: the query option {} needs its '$' prefix (${}).",
                        quoted(&name),
                        name.to_ascii_lowercase()
                    )));
                }
                out.other.push((name.into_owned(), value.into_owned()));
                continue;
            }
            let Some(known) = Known::from_name(&name) else {
                return Err(ODataError::unsupported(format!(
                    "Unsupported query: the query option {} is not supported.",
                    quoted(&name)
                )));
            };
            if seen.contains(&known) {
                return Err(ODataError::bad_request(format!(
                    "The query option '{}' is specified more than once.",
                    known.name()
                )));
            }
            seen.push(known);
            if value.len() > MAX_OPTION_LEN {
                return Err(ODataError::bad_request(format!(
                    "The value of '{}' is {} bytes long; at most {MAX_OPTION_LEN} are allowed.",
                    known.name(),
                    value.len()
                )));
            }
            if value.trim().is_empty() {
                return Err(ODataError::bad_request(format!(
                    "The query option '{}' has no value.",
                    known.name()
                )));
            }
            match known {
                Known::Filter => out.filter = Some(Filter::parse(&value)?.validate(schema)?),
                Known::Select => out.select = Some(parse_select(&value, schema)?),
                Known::Top => out.top = Some(parse_top(&value, schema)?),
                Known::OrderBy => out.order_by = parse_order_by(&value, schema)?,
                Known::Count => out.count = Some(parse_count(&value)?),
                Known::Search => out.search = Some(Search::parse(&value, schema)?),
                Known::SkipToken => out.skip_token = Some(value.into_owned()),
            }
        }
        Ok(out)
    }

    /// `$filter`, validated against the schema.
    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// `$select`: the selected properties in the schema's spelling, in the
    /// order asked, without repeats. `None`: the resource's default set.
    pub fn select(&self) -> Option<&[&'static str]> {
        self.select.as_deref()
    }

    /// Whether a property goes into the response: with `$select`, only those
    /// listed; without, `default` decides (Graph's default set).
    pub fn is_selected(&self, property: &str, default: bool) -> bool {
        match &self.select {
            Some(list) => list.iter().any(|p| p.eq_ignore_ascii_case(property)),
            None => default,
        }
    }

    /// `$top`, within 1 ..= the schema's maximum.
    pub fn top(&self) -> Option<u32> {
        self.top
    }

    /// `$orderby` keys, most significant first (empty: none asked).
    pub fn order_by(&self) -> &[OrderBy] {
        &self.order_by
    }

    /// `$count`.
    pub fn count(&self) -> Option<bool> {
        self.count
    }

    /// `$search`, validated against the schema.
    pub fn search(&self) -> Option<&Search> {
        self.search.as_ref()
    }

    /// `$skiptoken`, as given (opaque to this module).
    pub fn skip_token(&self) -> Option<&str> {
        self.skip_token.as_deref()
    }

    /// The parameters without a `$`, decoded, in order (repeats kept). The
    /// caller must use or refuse each.
    pub fn other(&self) -> &[(String, String)] {
        &self.other
    }

    /// Whether `record` passes both `$filter` and `$search`.
    pub fn matches(&self, record: &dyn ODataRecord) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(record))
            && self.search.as_ref().is_none_or(|s| s.matches(record))
    }

    /// The `$orderby` order of two records (`Equal` when there is no
    /// `$orderby`; the caller breaks ties, e.g. by id, for stable paging).
    /// Nulls sort first ascending, last descending; strings ignore case.
    pub fn compare(&self, a: &dyn ODataRecord, b: &dyn ODataRecord) -> Ordering {
        for key in &self.order_by {
            let va = value_at(&key.path, a);
            let vb = value_at(&key.path, b);
            let o = order_values(&va, &vb);
            let o = if key.descending { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

fn parse_select(value: &str, schema: &ResourceSchema) -> Result<Vec<&'static str>, ODataError> {
    let mut out: Vec<&'static str> = Vec::new();
    for item in value.split(',') {
        let name = item.trim();
        if name.is_empty() {
            return Err(ODataError::bad_request(format!(
                "Invalid $select: an empty item in {}.",
                quoted(value)
            )));
        }
        let Some(p) = schema.property(name) else {
            return Err(ODataError::unsupported(format!(
                "Unsupported query: $select names the property {}, which resource '{}' does not have.",
                quoted(name),
                schema.title()
            )));
        };
        if !p.select {
            return Err(ODataError::unsupported(format!(
                "Unsupported query: $select is not supported on property '{}' of resource '{}'.",
                p.name,
                schema.title()
            )));
        }
        if !out.contains(&p.name) {
            out.push(p.name);
        }
    }
    Ok(out)
}

fn parse_top(value: &str, schema: &ResourceSchema) -> Result<u32, ODataError> {
    let range = || {
        ODataError::bad_request(format!(
            "Invalid page size specified: {}. $top must be a whole number from 1 to {}.",
            quoted(value),
            schema.max_top
        ))
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(range());
    }
    match value.parse::<u32>() {
        Ok(n) if (1..=schema.max_top).contains(&n) => Ok(n),
        _ => Err(range()),
    }
}

fn parse_count(value: &str) -> Result<bool, ODataError> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(ODataError::bad_request(format!(
            "Invalid $count: {} (use true or false).",
            quoted(value)
        )))
    }
}

fn parse_order_by(value: &str, schema: &ResourceSchema) -> Result<Vec<OrderBy>, ODataError> {
    let mut out: Vec<OrderBy> = Vec::new();
    for item in value.split(',') {
        let mut words = item.split_ascii_whitespace();
        let Some(name) = words.next() else {
            return Err(ODataError::bad_request(format!(
                "Invalid $orderby: an empty item in {}.",
                quoted(value)
            )));
        };
        let descending = match words.next() {
            None => false,
            Some(d) if d.eq_ignore_ascii_case("asc") => false,
            Some(d) if d.eq_ignore_ascii_case("desc") => true,
            Some(other) => {
                return Err(ODataError::bad_request(format!(
                    "Invalid $orderby: expected asc or desc after '{name}' but found {}.",
                    quoted(other)
                )));
            }
        };
        if let Some(extra) = words.next() {
            return Err(ODataError::bad_request(format!(
                "Invalid $orderby: unexpected {} after '{name}'.",
                quoted(extra)
            )));
        }
        let unsupported = |why: &str| {
            ODataError::unsupported(format!(
                "Unsupported query: $orderby on property {} of resource '{}': {why}.",
                quoted(name),
                schema.title()
            ))
        };
        let Some(p) = schema.resolve(name) else {
            return Err(unsupported("no such property"));
        };
        if !p.order_by {
            return Err(unsupported("sorting by it is not supported"));
        }
        // The path in the schema's spelling.
        let mut canonical = String::new();
        let mut members = schema.properties;
        for seg in name.split('/') {
            let Some(m) = super::schema::find(members, seg) else {
                return Err(unsupported("no such property"));
            };
            if !canonical.is_empty() {
                canonical.push('/');
            }
            canonical.push_str(m.name);
            members = m.ty.members().unwrap_or(&[]);
        }
        let path = Path::from_string(canonical);
        if out.iter().any(|o| o.path == path) {
            return Err(ODataError::bad_request(format!(
                "Invalid $orderby: the property '{path}' appears more than once."
            )));
        }
        out.push(OrderBy { path, descending });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::error::ErrorCode;
    use super::super::eval::tests::{TestUser, alice};
    use super::super::schemas::{DIRECTORY_AUDIT, USER};
    use super::*;

    fn parse(q: &str) -> QueryOptions {
        QueryOptions::parse(q, &USER).unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a+b%20c%27%C3%A9").unwrap(), "a b c'é");
        assert!(matches!(
            percent_decode("plain").unwrap(),
            Cow::Borrowed("plain")
        ));
        assert!(percent_decode("%").is_err());
        assert!(percent_decode("%4").is_err());
        assert!(percent_decode("%zz").is_err());
        assert!(percent_decode("%FF").is_err(), "not UTF-8");
    }

    #[test]
    fn the_upn_filter_of_the_incident_is_applied() {
        let q = parse("$filter=userPrincipalName%20eq%20%27new.hire%40contoso.example%27");
        let f = q.filter().unwrap();
        assert_eq!(
            f.to_string(),
            "userPrincipalName eq 'new.hire@contoso.example'"
        );
        assert!(!q.matches(&alice()));
        let hire = TestUser {
            upn: "New.Hire@contoso.example",
            ..TestUser::default()
        };
        assert!(q.matches(&hire));
    }

    #[test]
    fn all_options_together() {
        let q = parse(
            "?$filter=accountEnabled+eq+true&$select=id,displayName,ID&$top=5&$orderby=displayName desc,userPrincipalName&$count=TRUE&$search=%22displayName:ali%22&$skiptoken=abc%3D&api-version=1&x",
        );
        assert!(q.filter().is_some());
        assert_eq!(q.select(), Some(&["id", "displayName"][..]));
        assert!(q.is_selected("DISPLAYNAME", false));
        assert!(!q.is_selected("mail", true));
        assert_eq!(q.top(), Some(5));
        assert_eq!(
            q.order_by(),
            &[
                OrderBy {
                    path: Path::new("displayName").unwrap(),
                    descending: true
                },
                OrderBy {
                    path: Path::new("userPrincipalName").unwrap(),
                    descending: false
                },
            ]
        );
        assert_eq!(q.count(), Some(true));
        assert!(q.search().is_some());
        assert_eq!(q.skip_token(), Some("abc="));
        assert_eq!(
            q.other(),
            &[
                ("api-version".to_owned(), "1".to_owned()),
                ("x".to_owned(), String::new())
            ]
        );
        assert!(q.matches(&alice()));
        let empty = parse("");
        assert_eq!(empty, QueryOptions::default());
        assert!(empty.is_selected("mail", true) && !empty.is_selected("mail", false));
    }

    #[test]
    fn encoded_dollar_names() {
        // Kiota-based SDKs send `%24filter`.
        let q = parse("%24filter=mail%20eq%20%27a%27&%24top=3");
        assert!(q.filter().is_some());
        assert_eq!(q.top(), Some(3));
        let e = QueryOptions::parse("%24expand=manager", &USER).unwrap_err();
        assert!(e.message.contains("'$expand'"), "{e}");
    }

    #[test]
    fn option_names_ignore_case() {
        let q = parse(
            "$FILTER=mail eq 'a'&$Top=1&$OrderBy=displayName&$SELECT=mail&$Count=false&$SkipToken=t&$SEARCH=\"displayName:a\"",
        );
        assert!(q.filter().is_some() && q.search().is_some());
        assert_eq!(
            (q.top(), q.count(), q.skip_token()),
            (Some(1), Some(false), Some("t"))
        );
    }

    /// Each refusal: code, and the text naming the offending option/value.
    #[test]
    fn refusals_name_the_option() {
        use ErrorCode::{BadRequest as Bad, UnsupportedQuery as Uns};
        let long = format!("$skiptoken={}", "a".repeat(MAX_OPTION_LEN + 1));
        let cases: &[(&str, ErrorCode, &str)] = &[
            ("$expand=manager", Uns, "'$expand' is not supported"),
            ("$skip=10", Uns, "'$skip' is not supported"),
            ("$format=json", Uns, "'$format' is not supported"),
            ("$apply=groupby((x))", Uns, "'$apply' is not supported"),
            ("$Frobnicate=1", Uns, "'$Frobnicate' is not supported"),
            (
                "filter=mail eq 'a'",
                Uns,
                "'filter' needs its '$' prefix ($filter)",
            ),
            ("Top=5", Uns, "'Top' needs its '$' prefix ($top)"),
            (
                "expand=manager",
                Uns,
                "'expand' needs its '$' prefix ($expand)",
            ),
            (
                "$filter=mail eq 'a'&$FILTER=mail eq 'b'",
                Bad,
                "'$filter' is specified more than once",
            ),
            ("$top=1&$top=1", Bad, "'$top' is specified more than once"),
            ("$top=0", Bad, "Invalid page size specified: '0'"),
            ("$top=1000", Bad, "from 1 to 999"),
            ("$top=-1", Bad, "'-1'"),
            ("$top=+5", Bad, "' 5'"),
            ("$top=5.0", Bad, "'5.0'"),
            ("$top=99999999999", Bad, "'99999999999'"),
            ("$top=", Bad, "'$top' has no value"),
            ("$filter", Bad, "'$filter' has no value"),
            ("$count=yes", Bad, "Invalid $count: 'yes'"),
            ("$select=id,,mail", Bad, "Invalid $select: an empty item"),
            (
                "$select=userType",
                Uns,
                "$select names the property 'userType'",
            ),
            ("$select=*", Uns, "$select names the property '*'"),
            (
                "$orderby=accountEnabled",
                Uns,
                "$orderby on property 'accountEnabled' of resource 'User': sorting by it is not supported",
            ),
            (
                "$orderby=nope desc",
                Uns,
                "'nope' of resource 'User': no such property",
            ),
            (
                "$orderby=displayName sideways",
                Bad,
                "expected asc or desc after 'displayName' but found 'sideways'",
            ),
            (
                "$orderby=displayName desc x",
                Bad,
                "unexpected 'x' after 'displayName'",
            ),
            ("$orderby=displayName,", Bad, "an empty item"),
            (
                "$orderby=displayName,DisplayName desc",
                Bad,
                "'displayName' appears more than once",
            ),
            (
                "$filter=jobTitle gt 'a'",
                Uns,
                "property 'jobTitle' of resource 'User'",
            ),
            ("$filter=mail eq", Bad, "Invalid filter clause"),
            ("$search=displayName:a", Bad, "Invalid $search"),
            ("$filter=%ZZ", Bad, "malformed percent-encoding"),
            (&long, Bad, "at most 4096"),
        ];
        for (q, code, want) in cases {
            let e = QueryOptions::parse(q, &USER).unwrap_err();
            assert_eq!(e.code, *code, "{q}: {e}");
            assert!(e.message.contains(want), "{q}: {}\nwant: {want}", e.message);
        }
    }

    #[test]
    fn orderby_compares_records() {
        let q = parse("$orderby=displayName desc");
        let a = TestUser {
            display_name: "alice",
            ..TestUser::default()
        };
        let b = TestUser {
            display_name: "Bob",
            ..TestUser::default()
        };
        assert_eq!(q.compare(&a, &b), Ordering::Greater);
        assert_eq!(q.compare(&b, &a), Ordering::Less);
        assert_eq!(q.compare(&a, &a), Ordering::Equal);
        let q = parse("$orderby=createdDateTime,displayName");
        assert_eq!(q.compare(&a, &b), Ordering::Less, "nulls tie, then names");
        assert_eq!(parse("").compare(&a, &b), Ordering::Equal);

        let mut users = [
            TestUser {
                display_name: "b",
                upn: "2",
                ..TestUser::default()
            },
            TestUser {
                display_name: "A",
                upn: "3",
                ..TestUser::default()
            },
            TestUser {
                display_name: "a",
                upn: "1",
                ..TestUser::default()
            },
        ];
        let q = parse("$orderby=displayName asc,userPrincipalName desc");
        users.sort_by(|x, y| q.compare(x, y));
        let order: Vec<_> = users.iter().map(|u| u.upn).collect();
        assert_eq!(order, ["3", "1", "2"]);
    }

    #[test]
    fn audit_options() {
        let q = QueryOptions::parse(
            "$filter=activityDateTime ge 2026-12-01T00:00:00Z and targetResources/any(t:t/id eq 'u1')&$orderby=activityDateTime desc&$top=999",
            &DIRECTORY_AUDIT,
        )
        .unwrap();
        assert_eq!(q.top(), Some(999));
        assert!(q.order_by()[0].descending);
        let e = QueryOptions::parse("$search=\"category:x\"", &DIRECTORY_AUDIT).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedQuery);
    }
}
