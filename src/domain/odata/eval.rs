//! Evaluation of a validated filter against the caller's records.
//!
//! Semantics (Graph's directory objects):
//! - strings (and enumeration values) compare ignoring case: `eq`, `ne`,
//!   `ge`/`le`/`gt`/`lt`, `in`, `startsWith`, `endsWith`;
//! - GUIDs compare by value, whether the record gives a GUID or its text;
//! - DateTimeOffsets compare by instant, whatever their offsets;
//! - a missing property is `null`: `eq null` is true for it, `ne null`
//!   false; `eq`/`in`/`startsWith`/`endsWith`/`gt`/`ge`/`lt`/`le` with a
//!   value are false, `ne` with a value is true, and `not` negates;
//! - `any()` is true when at least one element matches (false when empty).

use std::cmp::Ordering;

use time::OffsetDateTime;
use uuid::Uuid;

use super::filter::{CmpOp, Expr, Filter, Path, StrFunc};
use super::literal::Literal;

/// A record the caller can filter, sort and search: one resource (a user, an
/// audit event) or a complex value inside one.
pub trait ODataRecord {
    /// The value of one property, by its schema name (one path segment, in
    /// the schema's spelling). `None` means the property is absent (null).
    fn get(&self, property: &str) -> Option<ODataValue<'_>>;
}

/// A string collection inside a record.
pub trait StrList {
    fn len(&self) -> usize;
    fn item(&self, index: usize) -> &str;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl StrList for Vec<String> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }
    fn item(&self, index: usize) -> &str {
        self.get(index).map_or("", String::as_str)
    }
}

impl StrList for Vec<&str> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }
    fn item(&self, index: usize) -> &str {
        self.get(index).copied().unwrap_or("")
    }
}

/// A collection of complex values inside a record.
pub trait RecordList {
    fn len(&self) -> usize;
    fn item(&self, index: usize) -> Option<&dyn ODataRecord>;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: ODataRecord> RecordList for Vec<T> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }
    fn item(&self, index: usize) -> Option<&dyn ODataRecord> {
        self.get(index).map(|r| r as &dyn ODataRecord)
    }
}

/// One property value, borrowed from the record.
#[derive(Clone, Copy)]
pub enum ODataValue<'a> {
    Null,
    Str(&'a str),
    Bool(bool),
    Int(i64),
    DateTime(OffsetDateTime),
    Guid(Uuid),
    Strings(&'a dyn StrList),
    Object(&'a dyn ODataRecord),
    Objects(&'a dyn RecordList),
}

impl std::fmt::Debug for ODataValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Null => f.write_str("Null"),
            Self::Str(s) => f.debug_tuple("Str").field(s).finish(),
            Self::Bool(b) => f.debug_tuple("Bool").field(b).finish(),
            Self::Int(i) => f.debug_tuple("Int").field(i).finish(),
            Self::DateTime(d) => f.debug_tuple("DateTime").field(d).finish(),
            Self::Guid(g) => f.debug_tuple("Guid").field(g).finish(),
            Self::Strings(l) => f.debug_tuple("Strings").field(&l.len()).finish(),
            Self::Object(_) => f.write_str("Object"),
            Self::Objects(l) => f.debug_tuple("Objects").field(&l.len()).finish(),
        }
    }
}

impl ODataValue<'_> {
    fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }
}

/// An element bound to a range variable.
#[derive(Clone, Copy)]
enum Elem<'a> {
    Str(&'a str),
    Rec(&'a dyn ODataRecord),
}

struct Scope<'s, 'a> {
    var: &'s str,
    elem: Elem<'a>,
    parent: Option<&'s Scope<'s, 'a>>,
}

impl Filter {
    /// Whether `record` satisfies this filter. Use a validated filter (from
    /// [`Filter::validate`] or [`super::QueryOptions`]): property names are
    /// then in the schema's spelling.
    pub fn matches(&self, record: &dyn ODataRecord) -> bool {
        eval(&self.expr, record, None)
    }
}

fn eval<'a>(e: &Expr, root: &'a dyn ODataRecord, scope: Option<&Scope<'_, 'a>>) -> bool {
    match e {
        Expr::And(items) => items.iter().all(|i| eval(i, root, scope)),
        Expr::Or(items) => items.iter().any(|i| eval(i, root, scope)),
        Expr::Not(inner) => !eval(inner, root, scope),
        Expr::Compare { path, op, value } => compare(&resolve(path, root, scope), *op, value),
        Expr::In { path, values } => {
            let v = resolve(path, root, scope);
            values.iter().any(|lit| compare(&v, CmpOp::Eq, lit))
        }
        Expr::Call { func, path, arg } => match resolve(path, root, scope) {
            ODataValue::Str(s) => match func {
                StrFunc::StartsWith => ci_starts_with(s, arg),
                StrFunc::EndsWith => ci_ends_with(s, arg),
            },
            _ => false,
        },
        Expr::Any { path, var, body } => match resolve(path, root, scope) {
            ODataValue::Strings(list) => (0..list.len()).any(|i| {
                let inner = Scope {
                    var,
                    elem: Elem::Str(list.item(i)),
                    parent: scope,
                };
                eval(body, root, Some(&inner))
            }),
            ODataValue::Objects(list) => (0..list.len()).any(|i| {
                list.item(i).is_some_and(|r| {
                    let inner = Scope {
                        var,
                        elem: Elem::Rec(r),
                        parent: scope,
                    };
                    eval(body, root, Some(&inner))
                })
            }),
            _ => false,
        },
    }
}

/// The value at `path` in `record` (null when absent).
pub(crate) fn value_at<'a>(path: &Path, record: &'a dyn ODataRecord) -> ODataValue<'a> {
    resolve(path, record, None)
}

/// The value at `path`: from a range variable when the head names one,
/// otherwise from the root record. Absent anywhere along the way is null.
fn resolve<'a>(
    path: &Path,
    root: &'a dyn ODataRecord,
    scope: Option<&Scope<'_, 'a>>,
) -> ODataValue<'a> {
    let mut segments = path.segments();
    let head = segments.next().unwrap_or("");
    let mut bound = scope;
    let mut current = loop {
        match bound {
            Some(s) if s.var == head => {
                break match s.elem {
                    Elem::Str(v) => ODataValue::Str(v),
                    Elem::Rec(r) => ODataValue::Object(r),
                };
            }
            Some(s) => bound = s.parent,
            None => break root.get(head).unwrap_or(ODataValue::Null),
        }
    };
    for seg in segments {
        current = match current {
            ODataValue::Object(r) => r.get(seg).unwrap_or(ODataValue::Null),
            _ => return ODataValue::Null,
        };
    }
    current
}

fn compare(v: &ODataValue<'_>, op: CmpOp, lit: &Literal) -> bool {
    if *lit == Literal::Null {
        return match op {
            CmpOp::Eq => v.is_null(),
            CmpOp::Ne => !v.is_null(),
            _ => false,
        };
    }
    match op {
        CmpOp::Eq => order(v, lit) == Some(Ordering::Equal),
        CmpOp::Ne => order(v, lit) != Some(Ordering::Equal),
        CmpOp::Gt => order(v, lit) == Some(Ordering::Greater),
        CmpOp::Ge => matches!(order(v, lit), Some(Ordering::Greater | Ordering::Equal)),
        CmpOp::Lt => order(v, lit) == Some(Ordering::Less),
        CmpOp::Le => matches!(order(v, lit), Some(Ordering::Less | Ordering::Equal)),
    }
}

/// How a value orders against a non-null literal; `None` when they cannot
/// be compared (null, or different types).
fn order(v: &ODataValue<'_>, lit: &Literal) -> Option<Ordering> {
    match (v, lit) {
        (ODataValue::Str(a), Literal::Str(b)) => Some(ci_cmp(a, b)),
        (ODataValue::Str(a), Literal::Guid(b)) => Uuid::try_parse(a).ok().map(|a| a.cmp(b)),
        (ODataValue::Guid(a), Literal::Guid(b)) => Some(a.cmp(b)),
        (ODataValue::Guid(a), Literal::Str(b)) => Uuid::try_parse(b).ok().map(|b| a.cmp(&b)),
        (ODataValue::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
        (ODataValue::Int(a), Literal::Int(b)) => Some(a.cmp(b)),
        (ODataValue::DateTime(a), Literal::DateTime(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn lower(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().flat_map(char::to_lowercase)
}

/// Orders two strings ignoring case (Unicode lower case).
pub(crate) fn ci_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    } else {
        lower(a).cmp(lower(b))
    }
}

pub(crate) fn ci_starts_with(s: &str, prefix: &str) -> bool {
    if s.is_ascii() && prefix.is_ascii() {
        return s.len() >= prefix.len()
            && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes());
    }
    let mut it = lower(s);
    lower(prefix).all(|c| it.next() == Some(c))
}

pub(crate) fn ci_ends_with(s: &str, suffix: &str) -> bool {
    if s.is_ascii() && suffix.is_ascii() {
        return s.len() >= suffix.len()
            && s.as_bytes()[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes());
    }
    let mut it = s.chars().rev().flat_map(char::to_lowercase);
    suffix
        .chars()
        .rev()
        .flat_map(char::to_lowercase)
        .all(|c| it.next() == Some(c))
}

/// A total order over values for `$orderby`: null first, then by type, then
/// by value (strings ignoring case, ties broken by exact text).
pub(crate) fn order_values(a: &ODataValue<'_>, b: &ODataValue<'_>) -> Ordering {
    fn rank(v: &ODataValue<'_>) -> u8 {
        match v {
            ODataValue::Null => 0,
            ODataValue::Bool(_) => 1,
            ODataValue::Int(_) => 2,
            ODataValue::DateTime(_) => 3,
            ODataValue::Guid(_) => 4,
            ODataValue::Str(_) => 5,
            ODataValue::Strings(_) | ODataValue::Object(_) | ODataValue::Objects(_) => 6,
        }
    }
    match (a, b) {
        (ODataValue::Str(x), ODataValue::Str(y)) => ci_cmp(x, y).then_with(|| x.cmp(y)),
        (ODataValue::Bool(x), ODataValue::Bool(y)) => x.cmp(y),
        (ODataValue::Int(x), ODataValue::Int(y)) => x.cmp(y),
        (ODataValue::DateTime(x), ODataValue::DateTime(y)) => x.cmp(y),
        (ODataValue::Guid(x), ODataValue::Guid(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::schema::ResourceSchema;
    use super::super::schemas::{DIRECTORY_AUDIT, USER};
    use super::*;
    use time::macros::datetime;

    /// A user as the API layer would expose one.
    #[derive(Default)]
    pub(crate) struct TestUser {
        pub id: &'static str,
        pub upn: &'static str,
        pub display_name: &'static str,
        pub mail: Option<&'static str>,
        pub job_title: Option<&'static str>,
        pub enabled: bool,
        pub other_mails: Vec<String>,
        pub hire: Option<OffsetDateTime>,
    }

    impl ODataRecord for TestUser {
        fn get(&self, property: &str) -> Option<ODataValue<'_>> {
            Some(match property {
                "id" => ODataValue::Str(self.id),
                "userPrincipalName" => ODataValue::Str(self.upn),
                "displayName" => ODataValue::Str(self.display_name),
                "mail" => ODataValue::Str(self.mail?),
                "jobTitle" => ODataValue::Str(self.job_title?),
                "accountEnabled" => ODataValue::Bool(self.enabled),
                "otherMails" => ODataValue::Strings(&self.other_mails),
                "employeeHireDate" => ODataValue::DateTime(self.hire?),
                _ => return None,
            })
        }
    }

    pub(crate) struct Identity {
        pub id: &'static str,
        pub upn: Option<&'static str>,
    }

    impl ODataRecord for Identity {
        fn get(&self, property: &str) -> Option<ODataValue<'_>> {
            match property {
                "id" => Some(ODataValue::Str(self.id)),
                "userPrincipalName" => self.upn.map(ODataValue::Str),
                "displayName" => Some(ODataValue::Str("Target")),
                _ => None,
            }
        }
    }

    pub(crate) struct Initiator {
        pub user: Option<Identity>,
    }

    impl ODataRecord for Initiator {
        fn get(&self, property: &str) -> Option<ODataValue<'_>> {
            match property {
                "user" => self.user.as_ref().map(|u| ODataValue::Object(u)),
                _ => None,
            }
        }
    }

    pub(crate) struct Audit {
        pub at: OffsetDateTime,
        pub correlation: Uuid,
        pub result: &'static str,
        pub initiated_by: Initiator,
        pub targets: Vec<Identity>,
    }

    impl ODataRecord for Audit {
        fn get(&self, property: &str) -> Option<ODataValue<'_>> {
            Some(match property {
                "activityDateTime" => ODataValue::DateTime(self.at),
                "correlationId" => ODataValue::Guid(self.correlation),
                "result" => ODataValue::Str(self.result),
                "initiatedBy" => ODataValue::Object(&self.initiated_by),
                "targetResources" => ODataValue::Objects(&self.targets),
                _ => return None,
            })
        }
    }

    fn filter(schema: &ResourceSchema, text: &str) -> Filter {
        match Filter::parse(text).and_then(|f| f.validate(schema)) {
            Ok(f) => f,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    pub(crate) fn alice() -> TestUser {
        TestUser {
            id: "6b3b9b8e-0d7e-4a5e-9a55-1f2d3c4b5a69",
            upn: "Alice.Smith@Contoso.example",
            display_name: "Alice Smith",
            mail: Some("alice@contoso.example"),
            job_title: None,
            enabled: true,
            other_mails: vec!["a.smith@home.example".into(), "ALICE@old.example".into()],
            hire: Some(datetime!(2026-12-01 08:00:00 UTC)),
        }
    }

    #[test]
    fn strings_compare_ignoring_case() {
        let u = alice();
        let yes = [
            "userPrincipalName eq 'alice.smith@contoso.example'",
            "userPrincipalName eq 'ALICE.SMITH@CONTOSO.EXAMPLE'",
            "userPrincipalName in ('bob@x.example', 'alice.smith@CONTOSO.example')",
            "startsWith(displayName, 'ali')",
            "endsWith(userPrincipalName, '@contoso.EXAMPLE')",
            "displayName ge 'ALICE' and displayName le 'alice smith'",
            "userPrincipalName ne 'bob@contoso.example'",
            "id eq '6B3B9B8E-0D7E-4A5E-9A55-1F2D3C4B5A69'",
        ];
        for t in yes {
            assert!(filter(&USER, t).matches(&u), "{t}");
        }
        let no = [
            "userPrincipalName eq 'alice@contoso.example'",
            "userPrincipalName ne 'Alice.Smith@contoso.example'",
            "startsWith(displayName, 'Smith')",
            "displayName ge 'B'",
        ];
        for t in no {
            assert!(!filter(&USER, t).matches(&u), "{t}");
        }
        // Unicode case folding.
        struct Named(&'static str);
        impl ODataRecord for Named {
            fn get(&self, p: &str) -> Option<ODataValue<'_>> {
                matches!(p, "displayName" | "mail").then_some(ODataValue::Str(self.0))
            }
        }
        assert!(filter(&USER, "displayName eq 'ÉMILE ZOLA'").matches(&Named("émile zola")));
        assert!(filter(&USER, "startsWith(displayName, 'ÉM')").matches(&Named("émile")));
        assert!(filter(&USER, "endsWith(mail, 'ÖL')").matches(&Named("Mölöl")));
        assert!(!filter(&USER, "endsWith(mail, 'ÖLX')").matches(&Named("Mölöl")));
    }

    #[test]
    fn nulls() {
        let u = alice(); // jobTitle absent
        let cases = [
            ("jobTitle eq null", true),
            ("jobTitle ne null", false),
            ("mail eq null", false),
            ("mail ne null", true),
            ("jobTitle eq 'Dev'", false),
            ("jobTitle ne 'Dev'", true),
            ("jobTitle in ('Dev', null)", true),
            ("jobTitle in ('Dev')", false),
            ("startsWith(jobTitle, 'D')", false),
            ("jobTitle ge 'A'", false),
            ("not (jobTitle eq 'Dev')", true),
        ];
        for (t, want) in cases {
            assert_eq!(filter(&USER, t).matches(&u), want, "{t}");
        }
    }

    #[test]
    fn booleans_dates_and_logic() {
        let u = alice();
        let cases = [
            ("accountEnabled eq true", true),
            ("accountEnabled eq false", false),
            ("accountEnabled ne false", true),
            ("not(accountEnabled eq true)", false),
            ("employeeHireDate eq 2026-12-01T09:00:00+01:00", true),
            ("employeeHireDate ge 2026-12-01T08:00:00Z", true),
            ("employeeHireDate ge 2026-12-01T08:00:00.000000001Z", false),
            ("employeeHireDate le 2026-12-01T07:59:59.999Z", false),
            ("employeeHireDate le 2026-12-01T03:00:00-05:00", true),
            (
                "employeeHireDate in (2025-01-01T00:00:00Z, 2026-12-01T08:00:00Z)",
                true,
            ),
            (
                "accountEnabled eq false or startsWith(displayName, 'A')",
                true,
            ),
            (
                "accountEnabled eq true and (jobTitle eq 'x' or mail ne null)",
                true,
            ),
            (
                "accountEnabled eq true and jobTitle eq 'x' or mail ne null",
                true,
            ),
            (
                "accountEnabled eq true and (jobTitle eq 'x' or mail eq null)",
                false,
            ),
        ];
        for (t, want) in cases {
            assert_eq!(filter(&USER, t).matches(&u), want, "{t}");
        }
    }

    #[test]
    fn any_on_string_collections() {
        let u = alice();
        let cases = [
            ("otherMails/any(m: m eq 'alice@OLD.example')", true),
            ("otherMails/any(m: m eq 'nobody@x.example')", false),
            ("otherMails/any(m: startsWith(m, 'a.'))", true),
            (
                "otherMails/any(m: endsWith(m, '@home.example') and startsWith(m, 'a'))",
                true,
            ),
            (
                "otherMails/any(m: m in ('x@y.example', 'a.smith@home.example'))",
                true,
            ),
            ("not otherMails/any(m: m eq 'alice@old.example')", false),
        ];
        for (t, want) in cases {
            assert_eq!(filter(&USER, t).matches(&u), want, "{t}");
        }
        let none = TestUser::default();
        assert!(!filter(&USER, "otherMails/any(m: m eq 'a')").matches(&none));
        assert!(filter(&USER, "not(otherMails/any(m: m eq 'a'))").matches(&none));
    }

    #[test]
    fn any_on_object_collections_and_nested_paths() {
        let a = Audit {
            at: datetime!(2026-12-01 08:30:00 UTC),
            correlation: Uuid::from_u128(0xb662f17a_4e4d_4e1c_9248_cdec180024b2),
            result: "success",
            initiated_by: Initiator {
                user: Some(Identity {
                    id: "00000000-0000-0000-0000-000000000001",
                    upn: Some("admin@contoso.example"),
                }),
            },
            targets: vec![
                Identity {
                    id: "t1",
                    upn: None,
                },
                Identity {
                    id: "t2",
                    upn: None,
                },
            ],
        };
        let cases = [
            ("targetResources/any(t: t/id eq 't2')", true),
            ("targetResources/any(t: t/id eq 't3')", false),
            (
                "targetResources/any(t: t/id eq 't1' and startsWith(t/displayName, 'tar'))",
                true,
            ),
            (
                "initiatedBy/user/id eq '00000000-0000-0000-0000-000000000001'",
                true,
            ),
            (
                "startsWith(initiatedBy/user/userPrincipalName, 'ADMIN@')",
                true,
            ),
            ("initiatedBy/app/appId eq 'x'", false),
            (
                "correlationId eq B662F17A-4E4D-4E1C-9248-CDEC180024B2",
                true,
            ),
            (
                "correlationId eq 'b662f17a-4e4d-4e1c-9248-cdec180024b2'",
                true,
            ),
            (
                "correlationId eq 00000000-0000-0000-0000-000000000000",
                false,
            ),
            ("result eq 'Success'", true),
            (
                "activityDateTime ge 2026-12-01T08:00:00Z and activityDateTime le 2026-12-01T09:00:00Z",
                true,
            ),
            ("activityDateTime le 2026-12-01T08:00:00Z", false),
        ];
        for (t, want) in cases {
            assert_eq!(filter(&DIRECTORY_AUDIT, t).matches(&a), want, "{t}");
        }
        let app = Audit {
            initiated_by: Initiator { user: None },
            targets: vec![],
            ..a
        };
        assert!(!filter(&DIRECTORY_AUDIT, "initiatedBy/user/id eq 'x'").matches(&app));
        assert!(!filter(&DIRECTORY_AUDIT, "targetResources/any(t: t/id eq 't1')").matches(&app));
    }

    #[test]
    fn value_order_is_total() {
        use ODataValue as V;
        let vals = [
            V::Null,
            V::Bool(false),
            V::Int(-1),
            V::Str("a"),
            V::Str("A"),
            V::Str("b"),
        ];
        assert_eq!(order_values(&V::Null, &V::Str("a")), Ordering::Less);
        assert_eq!(order_values(&V::Str("a"), &V::Str("B")), Ordering::Less);
        assert_eq!(order_values(&V::Str("A"), &V::Str("a")), Ordering::Less);
        for x in &vals {
            assert_eq!(order_values(x, x), Ordering::Equal);
            for y in &vals {
                assert_eq!(order_values(x, y), order_values(y, x).reverse());
            }
        }
    }
}
