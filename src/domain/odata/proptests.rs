//! Property-based tests. The case count is proptest's: 256 by default,
//! `PROPTEST_CASES=100000 cargo test --lib odata` for a long run.

use proptest::prelude::*;
use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};
use uuid::Uuid;

use super::eval::tests::alice;
use super::schemas::{DIRECTORY_AUDIT, USER};
use super::search::Search;
use super::{CmpOp, Expr, Filter, Literal, Path, QueryOptions, StrFunc};

/// Words and symbols a filter is made of, good and bad.
const SOUP: &[&str] = &[
    "(",
    ")",
    ",",
    ":",
    "/",
    "'",
    "''",
    "'x'",
    "'a''b'",
    "eq",
    "ne",
    "gt",
    "ge",
    "lt",
    "le",
    "in",
    "and",
    "or",
    "not",
    "NOT",
    "And",
    "any",
    "all",
    "startsWith",
    "endswith",
    "contains",
    "has",
    "true",
    "false",
    "null",
    "0",
    "-1",
    "99999999999999999999",
    "1.5",
    "2026-12-01T08:00:00Z",
    "2026-12-01T08:00:00.5+02:00",
    "2026-12-01",
    "2026-13-01T00:00:00Z",
    "184efa21-98c3-4e5d-95ab-d07053a96e67",
    "userPrincipalName",
    "mail",
    "otherMails",
    "accountEnabled",
    "displayName",
    "jobTitle",
    "employeeHireDate",
    "department",
    "m",
    "x",
    "x/y",
    "$count",
    "@p",
    "é",
    "\"",
    "\\",
    "%",
    "&",
    "=",
    " ",
    "\t",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(SOUP), any::<bool>()), 0..40).prop_map(|parts| {
        let mut s = String::new();
        for (tok, space) in parts {
            s.push_str(tok);
            if space {
                s.push(' ');
            }
        }
        s
    })
}

/// Everything a parsed filter can be put through must hold up.
fn exercise(text: &str) -> Result<(), TestCaseError> {
    let Ok(f) = Filter::parse(text) else {
        return Ok(());
    };
    // Whatever parses prints to a text that parses back to the same tree.
    let shown = f.to_string();
    let again = Filter::parse(&shown);
    prop_assert_eq!(again.as_ref().ok(), Some(&f), "shown as {}", shown);
    let u = alice();
    if let Ok(v) = f.clone().validate(&USER) {
        let _ = v.matches(&u);
        let _ = v.lookup(&USER);
        prop_assert_eq!(
            Filter::parse(&v.to_string())
                .and_then(|p| p.validate(&USER))
                .ok(),
            Some(v)
        );
    }
    let _ = f.validate(&DIRECTORY_AUDIT);
    Ok(())
}

proptest! {
    #[test]
    fn parse_never_panics_on_any_string(text in any::<String>()) {
        exercise(&text)?;
        let _ = Search::parse(&text, &USER);
    }

    #[test]
    fn parse_never_panics_on_token_soup(text in soup()) {
        exercise(&text)?;
        let _ = Search::parse(&text, &USER);
        let _ = QueryOptions::parse(&format!("$filter={text}"), &USER);
    }

    #[test]
    fn query_strings_never_panic(raw in "[a-zA-Z0-9$%=&+'\"(),:/ .-]{0,120}") {
        if let Ok(q) = QueryOptions::parse(&raw, &USER) {
            let u = alice();
            let _ = q.matches(&u);
            let _ = q.compare(&u, &u);
        }
    }

    #[test]
    fn display_then_parse_gives_the_same_tree(expr in expr()) {
        let f = Filter::from(expr);
        let text = f.to_string();
        prop_assume!(text.len() <= Filter::MAX_LEN);
        let parsed = Filter::parse(&text);
        prop_assert_eq!(parsed.as_ref().ok(), Some(&f), "text: {} / {:?}", text, parsed.as_ref().err());
        prop_assert_eq!(parsed.map(|p| p.to_string()).ok(), Some(text));
    }
}

fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z_$][a-zA-Z0-9_.]{0,8}"
}

fn path() -> impl Strategy<Value = Path> {
    prop::collection::vec(ident(), 1..4)
        .prop_filter("'not' at the head is the keyword", |segs| {
            !segs[0].eq_ignore_ascii_case("not")
        })
        .prop_filter_map("a valid path", |segs| Path::new(&segs.join("/")))
}

fn datetime() -> impl Strategy<Value = Literal> {
    (
        0i32..=9999,
        1u8..=12,
        1u8..=28,
        0u8..24,
        0u8..60,
        0u8..60,
        prop_oneof![Just(0u32), 0u32..1_000_000_000],
        -(23 * 60 + 59)..=(23 * 60 + 59i32),
    )
        .prop_filter_map("a valid date", |(y, mo, d, h, mi, s, n, off)| {
            let date = Date::from_calendar_date(y, Month::try_from(mo).ok()?, d).ok()?;
            let time = Time::from_hms_nano(h, mi, s, n).ok()?;
            let offset = UtcOffset::from_hms((off / 60) as i8, (off % 60) as i8, 0).ok()?;
            Some(Literal::DateTime(
                PrimitiveDateTime::new(date, time).assume_offset(offset),
            ))
        })
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        Just(Literal::Null),
        any::<bool>().prop_map(Literal::Bool),
        any::<i64>().prop_map(Literal::Int),
        any::<String>().prop_map(Literal::Str),
        "['a-z ]{0,6}".prop_map(Literal::Str),
        datetime(),
        any::<u128>().prop_map(|n| Literal::Guid(Uuid::from_u128(n))),
    ]
}

fn op() -> impl Strategy<Value = CmpOp> {
    prop::sample::select(vec![
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Gt,
        CmpOp::Ge,
        CmpOp::Lt,
        CmpOp::Le,
    ])
}

fn func() -> impl Strategy<Value = StrFunc> {
    prop::sample::select(vec![StrFunc::StartsWith, StrFunc::EndsWith])
}

/// Comparisons, `in` and functions over paths from `paths`.
fn leaf(paths: BoxedStrategy<Path>) -> impl Strategy<Value = Expr> {
    prop_oneof![
        (paths.clone(), op(), literal()).prop_map(|(path, op, value)| Expr::Compare {
            path,
            op,
            value
        }),
        (paths.clone(), prop::collection::vec(literal(), 1..4))
            .prop_map(|(path, values)| Expr::In { path, values }),
        (func(), paths, any::<String>()).prop_map(|(func, path, arg)| Expr::Call {
            func,
            path,
            arg
        }),
    ]
}

fn combine(inner: BoxedStrategy<Expr>) -> impl Strategy<Value = Expr> {
    prop_oneof![
        prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
        prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
        inner.prop_map(|e| Expr::Not(Box::new(e))),
    ]
}

/// Operands inside a lambda: `x` or `x/…` (renamed to the range variable).
fn lambda_path() -> impl Strategy<Value = Path> {
    prop::collection::vec(ident(), 0..2).prop_filter_map("a path", |rest| {
        let mut text = String::from("x");
        for seg in rest {
            text.push('/');
            text.push_str(&seg);
        }
        Path::new(&text)
    })
}

/// Replaces the head `x` of every path in a lambda body with `var`.
fn rename(e: &mut Expr, var: &str) {
    let fix = |p: &mut Path| {
        let rest = &p.as_str()[1..];
        if let Some(renamed) = Path::new(&format!("{var}{rest}")) {
            *p = renamed;
        }
    };
    match e {
        Expr::And(items) | Expr::Or(items) => items.iter_mut().for_each(|i| rename(i, var)),
        Expr::Not(inner) => rename(inner, var),
        Expr::Compare { path, .. } | Expr::In { path, .. } | Expr::Call { path, .. } => fix(path),
        Expr::Any { .. } => {}
    }
}

/// `path/any(var: body)` where every operand of the body starts with `var`.
fn lambda() -> impl Strategy<Value = Expr> {
    let body = leaf(lambda_path().boxed()).prop_recursive(2, 8, 3, |inner| combine(inner.boxed()));
    (
        path(),
        prop::sample::select(vec!["x", "m", "t", "item_1"]),
        body,
    )
        .prop_map(|(path, var, mut body)| {
            rename(&mut body, var);
            Expr::Any {
                path,
                var: var.into(),
                body: Box::new(body),
            }
        })
}

fn expr() -> impl Strategy<Value = Expr> {
    let base = prop_oneof![4 => leaf(path().boxed()), 1 => lambda()];
    base.prop_recursive(4, 24, 4, |inner| combine(inner.boxed()))
}
