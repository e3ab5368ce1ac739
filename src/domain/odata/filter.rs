//! The `$filter` syntax tree, its recursive-descent parser and its canonical
//! printer (`Display`), such that `parse(display(ast)) == ast`.
//!
//! Grammar (keywords and function names in any case):
//!
//! ```text
//! or      := and ( "or" and )*
//! and     := unary ( "and" unary )*
//! unary   := "not" unary | primary
//! primary := "(" or ")"
//!          | ( "startsWith" | "endsWith" ) "(" path "," string ")"
//!          | path "/any(" var ":" or ")"
//!          | path ( "eq" | "ne" | "gt" | "ge" | "lt" | "le" ) literal
//!          | path "in" "(" literal ( "," literal )* ")"
//! path    := ident ( "/" ident )*
//! literal := 'string' | true | false | null | integer | GUID | DateTimeOffset
//! ```
//!
//! `not` binds tighter than `and`, which binds tighter than `or`; a
//! comparison is a primary, so `not a eq 1` is `not (a eq 1)`. Inside `any()`
//! every operand starts with the range variable. Nesting (parentheses, `not`,
//! `any`) is limited to [`Filter::MAX_DEPTH`] levels and the text to
//! [`Filter::MAX_LEN`] bytes, so no input can exhaust the stack.

use std::fmt;

use super::error::{ODataError, quoted};
use super::lexer::{Lexer, Tok, Token};
use super::literal::{Literal, write_quoted};
use super::schema::Ops;

/// A property path such as `mail` or `initiatedBy/user/id`; inside `any()`
/// its first segment is the range variable (`t/id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path(Box<str>);

impl Path {
    /// A path from `/`-separated segments; `None` unless every segment is an
    /// identifier (`[A-Za-z_$][A-Za-z0-9_.]*`).
    pub fn new(text: &str) -> Option<Path> {
        let ok = text.split('/').all(|seg| {
            let b = seg.as_bytes();
            !b.is_empty()
                && (b[0].is_ascii_alphabetic() || b[0] == b'_' || b[0] == b'$')
                && b[1..]
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
        });
        ok.then(|| Path(text.into()))
    }

    pub(crate) fn from_string(text: String) -> Path {
        Path(text.into_boxed_str())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn segments(&self) -> std::str::Split<'_, char> {
        self.0.split('/')
    }

    /// The first segment.
    pub fn head(&self) -> &str {
        self.0.split('/').next().unwrap_or("")
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    fn from_keyword(word: &str) -> Option<Self> {
        [Self::Eq, Self::Ne, Self::Gt, Self::Ge, Self::Lt, Self::Le]
            .into_iter()
            .find(|op| word.eq_ignore_ascii_case(op.as_str()))
    }

    /// The schema flag this operator needs.
    pub(crate) fn ops(self) -> Ops {
        match self {
            Self::Eq => Ops::EQ,
            Self::Ne => Ops::NE,
            Self::Gt => Ops::GT,
            Self::Ge => Ops::GE,
            Self::Lt => Ops::LT,
            Self::Le => Ops::LE,
        }
    }
}

/// A string function of the form `f(path, 'text')`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StrFunc {
    StartsWith,
    EndsWith,
}

impl StrFunc {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartsWith => "startsWith",
            Self::EndsWith => "endsWith",
        }
    }

    pub(crate) fn ops(self) -> Ops {
        match self {
            Self::StartsWith => Ops::STARTS_WITH,
            Self::EndsWith => Ops::ENDS_WITH,
        }
    }
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Two or more operands.
    And(Vec<Expr>),
    /// Two or more operands.
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Compare {
        path: Path,
        op: CmpOp,
        value: Literal,
    },
    /// `path in (v1, v2, …)`, at least one value.
    In {
        path: Path,
        values: Vec<Literal>,
    },
    Call {
        func: StrFunc,
        path: Path,
        arg: String,
    },
    /// `path/any(var: body)`.
    Any {
        path: Path,
        var: Box<str>,
        body: Box<Expr>,
    },
}

/// A parsed `$filter`. From [`Filter::parse`] it is syntax only; from
/// [`Filter::validate`] (or [`super::QueryOptions::parse`]) it has been
/// checked against a schema and its property names are in the schema's
/// spelling, ready for [`Filter::matches`] and [`Filter::lookup`].
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub(crate) expr: Expr,
}

impl From<Expr> for Filter {
    fn from(expr: Expr) -> Self {
        Self { expr }
    }
}

impl Filter {
    /// The longest `$filter` accepted, in bytes.
    pub const MAX_LEN: usize = 4096;
    /// The deepest nesting of parentheses, `not` and `any()`.
    pub const MAX_DEPTH: usize = 32;

    /// Parses the (already percent-decoded) text of a `$filter`.
    pub fn parse(text: &str) -> Result<Filter, ODataError> {
        if text.len() > Self::MAX_LEN {
            return Err(ODataError::bad_request(format!(
                "Invalid filter clause: the expression is {} bytes long; at most {} are allowed.",
                text.len(),
                Self::MAX_LEN
            )));
        }
        if text.trim().is_empty() {
            return Err(ODataError::bad_request(
                "Invalid filter clause: the expression is empty.",
            ));
        }
        let mut p = Parser {
            lx: Lexer::new(text),
            depth: 0,
            scopes: Vec::new(),
        };
        let expr = p.or()?;
        let t = p.lx.next()?;
        if t.tok != Tok::End {
            return Err(p.lx.error_at(
                t.start,
                format_args!(
                    "expected 'and', 'or' or the end of the expression but found {}",
                    t.tok.describe()
                ),
            ));
        }
        Ok(Filter { expr })
    }

    pub fn expr(&self) -> &Expr {
        &self.expr
    }
}

struct Parser<'a> {
    lx: Lexer<'a>,
    depth: usize,
    /// Range variables of the enclosing `any()`s, innermost last.
    scopes: Vec<&'a str>,
}

/// OData functions we know but do not support (named as unsupported rather
/// than as a syntax error).
const OTHER_FUNCTIONS: &[&str] = &[
    "contains",
    "length",
    "indexof",
    "substring",
    "tolower",
    "toupper",
    "trim",
    "concat",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "date",
    "time",
    "now",
    "round",
    "floor",
    "ceiling",
    "cast",
    "isof",
    "matchespattern",
];

/// OData operators we know but do not support.
const OTHER_OPERATORS: &[&str] = &["has", "add", "sub", "mul", "div", "divby", "mod"];

impl<'a> Parser<'a> {
    fn enter(&mut self, at: usize) -> Result<(), ODataError> {
        self.depth += 1;
        if self.depth > Filter::MAX_DEPTH {
            return Err(self.lx.error_at(
                at,
                format_args!(
                    "the expression nests deeper than {} levels",
                    Filter::MAX_DEPTH
                ),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn expect(&mut self, want: Tok<'static>, name: &str) -> Result<Token<'a>, ODataError> {
        let t = self.lx.next()?;
        if t.tok != want {
            return Err(self.lx.error_at(
                t.start,
                format_args!("expected {name} but found {}", t.tok.describe()),
            ));
        }
        Ok(t)
    }

    fn keyword(&mut self, word: &str) -> Result<bool, ODataError> {
        let t = self.lx.peek()?;
        if matches!(t.tok, Tok::Ident(k) if k.eq_ignore_ascii_case(word)) {
            self.lx.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn or(&mut self) -> Result<Expr, ODataError> {
        let first = self.and()?;
        if !self.keyword("or")? {
            return Ok(first);
        }
        let mut items = vec![first, self.and()?];
        while self.keyword("or")? {
            items.push(self.and()?);
        }
        Ok(Expr::Or(items))
    }

    fn and(&mut self) -> Result<Expr, ODataError> {
        let first = self.unary()?;
        if !self.keyword("and")? {
            return Ok(first);
        }
        let mut items = vec![first, self.unary()?];
        while self.keyword("and")? {
            items.push(self.unary()?);
        }
        Ok(Expr::And(items))
    }

    fn unary(&mut self) -> Result<Expr, ODataError> {
        let t = self.lx.peek()?;
        if matches!(t.tok, Tok::Ident(k) if k.eq_ignore_ascii_case("not")) {
            self.lx.next()?;
            self.enter(t.start)?;
            let inner = self.unary()?;
            self.leave();
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ODataError> {
        let t = self.lx.next()?;
        match t.tok {
            Tok::LParen => {
                self.enter(t.start)?;
                let e = self.or()?;
                self.expect(Tok::RParen, "')'")?;
                self.leave();
                Ok(e)
            }
            Tok::Ident(name) if self.lx.peek()?.tok == Tok::LParen => self.call(name, t.start),
            Tok::Ident(_) => self.comparison(t),
            other => Err(self.lx.error_at(
                t.start,
                format_args!(
                    "expected a property, a function or '(' but found {}",
                    other.describe()
                ),
            )),
        }
    }

    /// `startsWith(path, 'text')` and `endsWith(path, 'text')`.
    fn call(&mut self, name: &'a str, at: usize) -> Result<Expr, ODataError> {
        let func = if name.eq_ignore_ascii_case("startswith") {
            StrFunc::StartsWith
        } else if name.eq_ignore_ascii_case("endswith") {
            StrFunc::EndsWith
        } else if OTHER_FUNCTIONS.iter().any(|f| f.eq_ignore_ascii_case(name)) {
            return Err(ODataError::unsupported(format!(
                "Unsupported query: the function {} is not supported in $filter.",
                quoted(name)
            )));
        } else {
            return Err(self
                .lx
                .error_at(at, format_args!("unknown function {}", quoted(name))));
        };
        self.expect(Tok::LParen, "'('")?;
        let first = self.lx.next()?;
        let Tok::Ident(_) = first.tok else {
            return Err(self.lx.error_at(
                first.start,
                format_args!(
                    "expected a property as the first argument of {} but found {}",
                    func.as_str(),
                    first.tok.describe()
                ),
            ));
        };
        let (path, lambda) = self.path(first)?;
        if let Some(seg) = lambda {
            return Err(self.lx.error_at(
                seg.start,
                format_args!("{} cannot take a lambda expression", func.as_str()),
            ));
        }
        self.expect(Tok::Comma, "','")?;
        let (value, value_at) = self.lx.value()?;
        let Literal::Str(arg) = value else {
            return Err(self.lx.error_at(
                value_at,
                format_args!(
                    "the second argument of {} must be a quoted string, not {}",
                    func.as_str(),
                    value.kind()
                ),
            ));
        };
        self.expect(Tok::RParen, "')'")?;
        Ok(Expr::Call { func, path, arg })
    }

    /// A path starting with `first`; stops before `/any(` or `/all(` and
    /// returns that segment's token.
    fn path(&mut self, first: Token<'a>) -> Result<(Path, Option<Token<'a>>), ODataError> {
        let Tok::Ident(head) = first.tok else {
            return Err(self.lx.error_at(first.start, "expected a property"));
        };
        if !self.scopes.is_empty() && !self.scopes.contains(&head) {
            let var = self.scopes.last().copied().unwrap_or_default();
            return Err(self.lx.error_at(
                first.start,
                format_args!(
                    "inside any(), every operand must start with the range variable {} but found {}",
                    quoted(var),
                    quoted(head)
                ),
            ));
        }
        let mut text = String::from(head);
        let mut lambda = None;
        while self.lx.peek()?.tok == Tok::Slash {
            self.lx.next()?;
            let seg = self.lx.next()?;
            let Tok::Ident(name) = seg.tok else {
                return Err(self.lx.error_at(
                    seg.start,
                    format_args!(
                        "expected a property after '/' but found {}",
                        seg.tok.describe()
                    ),
                ));
            };
            let is_lambda = name.eq_ignore_ascii_case("any") || name.eq_ignore_ascii_case("all");
            if is_lambda && self.lx.peek()?.tok == Tok::LParen {
                lambda = Some(seg);
                break;
            }
            text.push('/');
            text.push_str(name);
        }
        Ok((Path::from_string(text), lambda))
    }

    /// What follows a path: a comparison, `in (…)` or a lambda.
    fn comparison(&mut self, first: Token<'a>) -> Result<Expr, ODataError> {
        let (path, lambda) = self.path(first)?;
        if let Some(seg) = lambda {
            return self.lambda(path, seg);
        }
        let t = self.lx.next()?;
        let word = match t.tok {
            Tok::Ident(w) => w,
            other => {
                return Err(self.lx.error_at(
                    t.start,
                    format_args!(
                        "expected an operator (eq, ne, gt, ge, lt, le, in) after {} but found {}",
                        quoted(path.as_str()),
                        other.describe()
                    ),
                ));
            }
        };
        if let Some(op) = CmpOp::from_keyword(word) {
            let (value, _) = self.lx.value()?;
            return Ok(Expr::Compare { path, op, value });
        }
        if word.eq_ignore_ascii_case("in") {
            self.expect(Tok::LParen, "'(' after 'in'")?;
            let mut values = Vec::new();
            loop {
                values.push(self.lx.value()?.0);
                let t = self.lx.next()?;
                match t.tok {
                    Tok::Comma => continue,
                    Tok::RParen => break,
                    other => {
                        return Err(self.lx.error_at(
                            t.start,
                            format_args!("expected ',' or ')' but found {}", other.describe()),
                        ));
                    }
                }
            }
            return Ok(Expr::In { path, values });
        }
        if OTHER_OPERATORS.iter().any(|o| o.eq_ignore_ascii_case(word)) {
            return Err(ODataError::unsupported(format!(
                "Unsupported query: the operator {} is not supported in $filter.",
                quoted(word)
            )));
        }
        Err(self.lx.error_at(
            t.start,
            format_args!(
                "expected an operator (eq, ne, gt, ge, lt, le, in) after {} but found {}",
                quoted(path.as_str()),
                quoted(word)
            ),
        ))
    }

    /// `path/any(var: body)`; `seg` is the `any`/`all` token.
    fn lambda(&mut self, path: Path, seg: Token<'a>) -> Result<Expr, ODataError> {
        let Tok::Ident(kind) = seg.tok else {
            return Err(self.lx.error_at(seg.start, "expected any"));
        };
        if kind.eq_ignore_ascii_case("all") {
            return Err(ODataError::unsupported(format!(
                "Unsupported query: the lambda operator 'all' is not supported in $filter (on {}); use not({}/any(x: not …)).",
                quoted(path.as_str()),
                path
            )));
        }
        self.expect(Tok::LParen, "'('")?;
        let v = self.lx.next()?;
        let var = match v.tok {
            Tok::Ident(name) if !name.contains(['$', '.']) && !name.eq_ignore_ascii_case("not") => {
                name
            }
            Tok::RParen => {
                return Err(ODataError::unsupported(format!(
                    "Unsupported query: {}/any() without a condition is not supported in $filter.",
                    path
                )));
            }
            other => {
                return Err(self.lx.error_at(
                    v.start,
                    format_args!("expected a range variable but found {}", other.describe()),
                ));
            }
        };
        if self.scopes.contains(&var) {
            return Err(self.lx.error_at(
                v.start,
                format_args!("the range variable {} is already in use", quoted(var)),
            ));
        }
        self.expect(Tok::Colon, "':' after the range variable")?;
        self.enter(seg.start)?;
        self.scopes.push(var);
        let body = self.or()?;
        self.scopes.pop();
        self.expect(Tok::RParen, "')'")?;
        self.leave();
        Ok(Expr::Any {
            path,
            var: var.into(),
            body: Box::new(body),
        })
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expr.fmt(f)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parenthesised = |f: &mut fmt::Formatter<'_>, e: &Expr| write!(f, "({e})");
        match self {
            Expr::And(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" and ")?;
                    }
                    match item {
                        Expr::And(_) | Expr::Or(_) => parenthesised(f, item)?,
                        _ => item.fmt(f)?,
                    }
                }
                Ok(())
            }
            Expr::Or(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    match item {
                        Expr::Or(_) => parenthesised(f, item)?,
                        _ => item.fmt(f)?,
                    }
                }
                Ok(())
            }
            // Parentheses only where the grouping needs them, so that the
            // printed text never nests deeper than the tree.
            Expr::Not(inner) => match **inner {
                Expr::And(_) | Expr::Or(_) => write!(f, "not ({inner})"),
                _ => write!(f, "not {inner}"),
            },
            Expr::Compare { path, op, value } => write!(f, "{path} {} {value}", op.as_str()),
            Expr::In { path, values } => {
                write!(f, "{path} in (")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    v.fmt(f)?;
                }
                f.write_str(")")
            }
            Expr::Call { func, path, arg } => {
                write!(f, "{}({path}, ", func.as_str())?;
                write_quoted(f, arg)?;
                f.write_str(")")
            }
            Expr::Any { path, var, body } => write!(f, "{path}/any({var}: {body})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::odata::error::ErrorCode;

    fn p(s: &str) -> Expr {
        match Filter::parse(s) {
            Ok(f) => f.expr,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    fn cmp(path: &str, op: CmpOp, value: Literal) -> Expr {
        Expr::Compare {
            path: Path::new(path).unwrap(),
            op,
            value,
        }
    }

    fn s(v: &str) -> Literal {
        Literal::Str(v.into())
    }

    #[test]
    fn precedence_or_and_not() {
        assert_eq!(
            p("a eq 1 or b eq 2 and not c eq 3"),
            Expr::Or(vec![
                cmp("a", CmpOp::Eq, Literal::Int(1)),
                Expr::And(vec![
                    cmp("b", CmpOp::Eq, Literal::Int(2)),
                    Expr::Not(Box::new(cmp("c", CmpOp::Eq, Literal::Int(3)))),
                ]),
            ])
        );
        assert_eq!(
            p("(a eq 1 or b eq 2) and c eq 3"),
            Expr::And(vec![
                Expr::Or(vec![
                    cmp("a", CmpOp::Eq, Literal::Int(1)),
                    cmp("b", CmpOp::Eq, Literal::Int(2)),
                ]),
                cmp("c", CmpOp::Eq, Literal::Int(3)),
            ])
        );
        // Chains are flat; parentheses keep their grouping.
        assert_eq!(
            p("a eq 1 and b eq 2 and c eq 3"),
            Expr::And(vec![
                cmp("a", CmpOp::Eq, Literal::Int(1)),
                cmp("b", CmpOp::Eq, Literal::Int(2)),
                cmp("c", CmpOp::Eq, Literal::Int(3)),
            ])
        );
        assert_eq!(
            p("a eq 1 and (b eq 2 and c eq 3)"),
            Expr::And(vec![
                cmp("a", CmpOp::Eq, Literal::Int(1)),
                Expr::And(vec![
                    cmp("b", CmpOp::Eq, Literal::Int(2)),
                    cmp("c", CmpOp::Eq, Literal::Int(3)),
                ]),
            ])
        );
        assert_eq!(p("((a eq 1))"), cmp("a", CmpOp::Eq, Literal::Int(1)));
        assert_eq!(
            p("not not a eq 1"),
            Expr::Not(Box::new(Expr::Not(Box::new(cmp(
                "a",
                CmpOp::Eq,
                Literal::Int(1)
            )))))
        );
    }

    #[test]
    fn keywords_and_functions_ignore_case() {
        let want = Expr::Or(vec![
            Expr::Call {
                func: StrFunc::StartsWith,
                path: Path::new("displayName").unwrap(),
                arg: "Al".into(),
            },
            Expr::Not(Box::new(cmp("mail", CmpOp::Ne, Literal::Null))),
        ]);
        assert_eq!(p("startswith(displayName,'Al') or not(mail ne null)"), want);
        assert_eq!(
            p("STARTSWITH( displayName , 'Al' ) OR NOT (mail NE NULL)"),
            want
        );
        assert_eq!(p("startsWith(displayName, 'Al') Or Not mail Ne Null"), want);
    }

    #[test]
    fn escaping_quotes() {
        assert_eq!(
            p("surname eq 'O''Brien'"),
            cmp("surname", CmpOp::Eq, s("O'Brien"))
        );
        assert_eq!(p("surname eq ''''"), cmp("surname", CmpOp::Eq, s("'")));
        assert_eq!(p("surname eq ''"), cmp("surname", CmpOp::Eq, s("")));
        assert_eq!(
            p("surname eq 'a and b or c eq ''d'''"),
            cmp("surname", CmpOp::Eq, s("a and b or c eq 'd'"))
        );
    }

    #[test]
    fn in_lists_lambdas_and_nested_paths() {
        assert_eq!(
            p("department in ('Retail', 'Sales', null)"),
            Expr::In {
                path: Path::new("department").unwrap(),
                values: vec![s("Retail"), s("Sales"), Literal::Null],
            }
        );
        assert_eq!(
            p("otherMails/any(m:m eq 'a@b')"),
            Expr::Any {
                path: Path::new("otherMails").unwrap(),
                var: "m".into(),
                body: Box::new(cmp("m", CmpOp::Eq, s("a@b"))),
            }
        );
        assert_eq!(
            p("targetResources/any (t: t/id eq 'x' and startsWith(t/displayName, 'y'))"),
            Expr::Any {
                path: Path::new("targetResources").unwrap(),
                var: "t".into(),
                body: Box::new(Expr::And(vec![
                    cmp("t/id", CmpOp::Eq, s("x")),
                    Expr::Call {
                        func: StrFunc::StartsWith,
                        path: Path::new("t/displayName").unwrap(),
                        arg: "y".into(),
                    },
                ])),
            }
        );
        assert_eq!(
            p("initiatedBy/user/id eq '00000000-0000-0000-0000-000000000000'"),
            cmp(
                "initiatedBy/user/id",
                CmpOp::Eq,
                s("00000000-0000-0000-0000-000000000000")
            )
        );
        let g = p("correlationId eq b662f17a-4e4d-4e1c-9248-cdec180024b2");
        assert!(matches!(
            g,
            Expr::Compare {
                value: Literal::Guid(_),
                ..
            }
        ));
    }

    #[test]
    fn dates() {
        let e = p(
            "activityDateTime ge 2026-12-01T08:00:00Z and activityDateTime le 2026-12-01T10:00:00.5+01:00",
        );
        let Expr::And(items) = e else { panic!() };
        assert!(matches!(
            items[0],
            Expr::Compare {
                value: Literal::DateTime(_),
                ..
            }
        ));
        assert!(matches!(
            items[1],
            Expr::Compare {
                value: Literal::DateTime(_),
                ..
            }
        ));
    }

    #[test]
    fn syntax_errors_name_what_and_where() {
        let cases: &[(&str, &str)] = &[
            ("", "the expression is empty"),
            ("   ", "the expression is empty"),
            (
                "mail",
                "expected an operator (eq, ne, gt, ge, lt, le, in) after 'mail' but found the end of the expression at position 4",
            ),
            (
                "mail eq",
                "expected a value but found the end at position 7",
            ),
            (
                "mail eq 'x' and",
                "expected a property, a function or '(' but found the end of the expression at position 15",
            ),
            (
                "mail eq 'x' mail eq 'y'",
                "expected 'and', 'or' or the end of the expression but found 'mail' at position 12",
            ),
            (
                "mail equals 'x'",
                "after 'mail' but found 'equals' at position 5",
            ),
            ("mail eq 'x", "unterminated string literal at position 8"),
            (
                "mail eq Member",
                "'Member' is not a valid literal (quote strings with single quotes) at position 8",
            ),
            (
                "(mail eq 'x'",
                "expected ')' but found the end of the expression at position 12",
            ),
            ("mail eq 'x')", "but found ')' at position 11"),
            (
                "'x' eq mail",
                "expected a property, a function or '(' but found the string 'x' at position 0",
            ),
            ("5 eq mail", "found '5' at position 0"),
            ("mail in ()", "expected a value but found ')' at position 9"),
            (
                "mail in ('a' 'b')",
                "expected ',' or ')' but found the string 'b' at position 13",
            ),
            (
                "startsWith(mail, 5)",
                "the second argument of startsWith must be a quoted string, not an integer at position 17",
            ),
            (
                "startsWith('a', mail)",
                "expected a property as the first argument of startsWith but found the string 'a'",
            ),
            (
                "frobnicate(mail, 'a')",
                "unknown function 'frobnicate' at position 0",
            ),
            (
                "otherMails/any(m: mail eq 'a')",
                "every operand must start with the range variable 'm' but found 'mail' at position 18",
            ),
            (
                "otherMails/any(m m eq 'a')",
                "expected ':' after the range variable but found 'm'",
            ),
            (
                "a/any(x: x/b/any(x: x eq 1))",
                "the range variable 'x' is already in use",
            ),
            (
                "createdDateTime ge 2026-12-01",
                "the Date literal '2026-12-01' is not supported",
            ),
            (
                "createdDateTime ge 2026-12-01T25:00:00Z",
                "is not a valid DateTimeOffset",
            ),
            (
                "a eq 99999999999999999999",
                "the integer '99999999999999999999' is out of range",
            ),
            (
                "mail/ 'x'",
                "expected a property after '/' but found the string 'x' at position 6",
            ),
            ("mail eq 'x' and ~", "found '~' at position 16"),
        ];
        for (input, want) in cases {
            let e = Filter::parse(input).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadRequest, "{input}: {e}");
            assert!(
                e.message.starts_with("Invalid filter clause: "),
                "{input}: {e}"
            );
            assert!(
                e.message.contains(want),
                "{input}: {}\nwant: {want}",
                e.message
            );
        }
    }

    #[test]
    fn unsupported_operators_and_functions_are_named() {
        let cases: &[(&str, &str)] = &[
            ("contains(mail, 'x')", "the function 'contains'"),
            ("toLower(mail) eq 'x'", "the function 'toLower'"),
            ("roles has 'x'", "the operator 'has'"),
            ("a add 1 eq 2", "the operator 'add'"),
            ("otherMails/all(m: m eq 'x')", "the lambda operator 'all'"),
            ("otherMails/any()", "otherMails/any() without a condition"),
        ];
        for (input, want) in cases {
            let e = Filter::parse(input).unwrap_err();
            assert_eq!(e.code, ErrorCode::UnsupportedQuery, "{input}: {e}");
            assert!(
                e.message.contains(want),
                "{input}: {}\nwant: {want}",
                e.message
            );
        }
    }

    #[test]
    fn limits() {
        let deep_parens = format!("{}a eq 1{}", "(".repeat(33), ")".repeat(33));
        let e = Filter::parse(&deep_parens).unwrap_err();
        assert!(e.message.contains("nests deeper than 32 levels"), "{e}");
        let ok_parens = format!("{}a eq 1{}", "(".repeat(32), ")".repeat(32));
        assert!(Filter::parse(&ok_parens).is_ok());
        let ok_not = Filter::parse(&format!("{}a eq 1", "not ".repeat(32))).unwrap();
        let shown = ok_not.to_string();
        assert_eq!(
            Filter::parse(&shown).unwrap(),
            ok_not,
            "display adds no nesting: {shown}"
        );
        let deep_not = format!("{}a eq 1", "not ".repeat(33));
        assert!(
            Filter::parse(&deep_not)
                .unwrap_err()
                .message
                .contains("nests deeper")
        );
        // Far past the limit: refused by length before any recursion.
        let huge = "(".repeat(100_000);
        let e = Filter::parse(&huge).unwrap_err();
        assert!(e.message.contains("at most 4096"), "{e}");
        // A long flat chain is fine (no recursion per operand).
        let chain = vec!["a eq 1"; 300].join(" and ");
        assert!(chain.len() <= Filter::MAX_LEN);
        let Expr::And(items) = p(&chain) else {
            panic!()
        };
        assert_eq!(items.len(), 300);
    }

    #[test]
    fn display_is_canonical_and_round_trips() {
        let cases: &[(&str, &str)] = &[
            ("a eq 1 or b eq 2 and c eq 3", "a eq 1 or b eq 2 and c eq 3"),
            (
                "(a eq 1 or b eq 2) and c eq 3",
                "(a eq 1 or b eq 2) and c eq 3",
            ),
            (
                "a eq 1 or (b eq 2 or c eq 3)",
                "a eq 1 or (b eq 2 or c eq 3)",
            ),
            (
                "a eq 1 and (b eq 2 and c eq 3)",
                "a eq 1 and (b eq 2 and c eq 3)",
            ),
            ("NOT a EQ 'x''y'", "not a eq 'x''y'"),
            ("not(a eq 1)", "not a eq 1"),
            ("not (a eq 1 and b eq 2)", "not (a eq 1 and b eq 2)"),
            (
                "not not(x/any(m: not (m eq 1 or m eq 2)))",
                "not not x/any(m: not (m eq 1 or m eq 2))",
            ),
            ("STARTSWITH(a,'b')", "startsWith(a, 'b')"),
            ("a IN ( 'x' ,NULL,TRUE, -3 )", "a in ('x', null, true, -3)"),
            ("a ge 2026-12-01t08:00Z", "a ge 2026-12-01T08:00:00Z"),
            (
                "a ge 2026-12-01T08:00:00.500+02:00",
                "a ge 2026-12-01T08:00:00.5+02:00",
            ),
            (
                "g eq 184EFA21-98C3-4E5D-95AB-D07053A96E67",
                "g eq 184efa21-98c3-4e5d-95ab-d07053a96e67",
            ),
            ("x/any(m:m eq 'a')", "x/any(m: m eq 'a')"),
        ];
        for (input, want) in cases {
            let f = Filter::parse(input).unwrap();
            let shown = f.to_string();
            assert_eq!(&shown, want, "{input}");
            assert_eq!(Filter::parse(&shown).unwrap(), f, "{input}");
        }
    }
}
