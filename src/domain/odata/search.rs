//! `$search` in Graph's syntax for directory objects:
//! `"property:text"` clauses, each in double quotes (`\"` and `\\` escape),
//! joined by upper-case `AND` / `OR`, grouped with parentheses (`AND` binds
//! tighter). Only properties the schema marks searchable may be named.
//!
//! Matching follows Graph: on a [`SearchMode::Tokens`] property the value
//! and the query are split into words (at spaces, at lower-to-upper case
//! changes, between letters, digits and symbols; words joined only by
//! symbols also count joined) and every query word must begin some word of
//! the value, in any order, ignoring case. On a [`SearchMode::Prefix`]
//! property the value must start with the text, ignoring case.

use super::error::{ODataError, quoted};
use super::eval::{ODataRecord, ODataValue, ci_starts_with};
use super::schema::{PropType, ResourceSchema, SearchMode};

/// The longest `$search` accepted, in bytes.
pub const MAX_SEARCH_LEN: usize = 4096;
const MAX_DEPTH: usize = 32;

/// A parsed, validated `$search`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    expr: SearchExpr,
}

/// The `$search` expression tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchExpr {
    And(Vec<SearchExpr>),
    Or(Vec<SearchExpr>),
    Clause(Clause),
}

/// One `"property:text"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// In the schema's spelling.
    pub property: &'static str,
    pub mode: SearchMode,
    pub text: String,
    /// For [`SearchMode::Tokens`]: the query's words, lower case.
    words: Vec<String>,
}

impl Search {
    /// Parses the (percent-decoded) value of `$search` for `schema`.
    pub fn parse(text: &str, schema: &ResourceSchema) -> Result<Search, ODataError> {
        if text.len() > MAX_SEARCH_LEN {
            return Err(bad(format_args!(
                "the expression is {} bytes long; at most {MAX_SEARCH_LEN} are allowed",
                text.len()
            )));
        }
        let mut p = SearchParser {
            src: text,
            pos: 0,
            depth: 0,
            schema,
        };
        let expr = p.or()?;
        p.skip_ws();
        if p.pos < text.len() {
            return Err(p.error("expected AND, OR or the end"));
        }
        Ok(Search { expr })
    }

    pub fn expr(&self) -> &SearchExpr {
        &self.expr
    }

    /// Whether `record` matches.
    pub fn matches(&self, record: &dyn ODataRecord) -> bool {
        self.expr.matches(record)
    }
}

impl SearchExpr {
    fn matches(&self, record: &dyn ODataRecord) -> bool {
        match self {
            Self::And(items) => items.iter().all(|i| i.matches(record)),
            Self::Or(items) => items.iter().any(|i| i.matches(record)),
            Self::Clause(c) => match record.get(c.property) {
                Some(ODataValue::Str(value)) => match c.mode {
                    SearchMode::Tokens => {
                        let have = words(value);
                        c.words
                            .iter()
                            .all(|w| have.iter().any(|h| h.starts_with(w.as_str())))
                    }
                    SearchMode::Prefix => ci_starts_with(value, &c.text),
                    SearchMode::None => false,
                },
                _ => false,
            },
        }
    }
}

fn bad(what: impl std::fmt::Display) -> ODataError {
    ODataError::bad_request(format!("Invalid $search: {what}."))
}

struct SearchParser<'a, 's> {
    src: &'a str,
    pos: usize,
    depth: usize,
    schema: &'s ResourceSchema,
}

impl SearchParser<'_, '_> {
    fn error(&self, what: &str) -> ODataError {
        let position = self
            .src
            .get(..self.pos)
            .map_or(self.pos, |s| s.chars().count());
        bad(format_args!("{what} at position {position}"))
    }

    fn skip_ws(&mut self) {
        let b = self.src.as_bytes();
        while self.pos < b.len() && b[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    /// Consumes `word` (exactly, upper case) when it comes next as a word.
    fn operator(&mut self, word: &str) -> Result<bool, ODataError> {
        self.skip_ws();
        let rest = &self.src[self.pos..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '"' || c == '(' || c == ')')
            .unwrap_or(rest.len());
        let found = &rest[..end];
        if found == word {
            self.pos += end;
            return Ok(true);
        }
        if found.eq_ignore_ascii_case(word) {
            return Err(self.error(&format!(
                "the operator {} must be written in upper case",
                quoted(found)
            )));
        }
        Ok(false)
    }

    fn or(&mut self) -> Result<SearchExpr, ODataError> {
        let first = self.and()?;
        if !self.operator("OR")? {
            return Ok(first);
        }
        let mut items = vec![first, self.and()?];
        while self.operator("OR")? {
            items.push(self.and()?);
        }
        Ok(SearchExpr::Or(items))
    }

    fn and(&mut self) -> Result<SearchExpr, ODataError> {
        let first = self.primary()?;
        if !self.operator("AND")? {
            return Ok(first);
        }
        let mut items = vec![first, self.primary()?];
        while self.operator("AND")? {
            items.push(self.primary()?);
        }
        Ok(SearchExpr::And(items))
    }

    fn primary(&mut self) -> Result<SearchExpr, ODataError> {
        self.skip_ws();
        match self.src.as_bytes().get(self.pos) {
            Some(b'(') => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(self.error(&format!(
                        "the expression nests deeper than {MAX_DEPTH} levels"
                    )));
                }
                self.pos += 1;
                let e = self.or()?;
                self.skip_ws();
                if self.src.as_bytes().get(self.pos) != Some(&b')') {
                    return Err(self.error("expected ')'"));
                }
                self.pos += 1;
                self.depth -= 1;
                Ok(e)
            }
            Some(b'"') => self.clause(),
            Some(_) => {
                Err(self.error("expected a clause in double quotes such as \"displayName:text\""))
            }
            None => Err(self.error("expected a clause but found the end")),
        }
    }

    fn clause(&mut self) -> Result<SearchExpr, ODataError> {
        let start = self.pos;
        self.pos += 1;
        let mut body = String::new();
        let mut chars = self.src[self.pos..].char_indices();
        loop {
            match chars.next() {
                None => {
                    self.pos = start;
                    return Err(self.error("unterminated clause (missing closing '\"')"));
                }
                Some((i, '"')) => {
                    self.pos += i + 1;
                    break;
                }
                Some((_, '\\')) => match chars.next() {
                    Some((_, c)) => body.push(c),
                    None => {
                        self.pos = start;
                        return Err(self.error("unterminated clause (missing closing '\"')"));
                    }
                },
                Some((_, c)) => body.push(c),
            }
        }
        let Some((name, text)) = body.split_once(':') else {
            self.pos = start;
            return Err(self.error(&format!(
                "the clause {} must have the form \"property:text\"",
                quoted(&body)
            )));
        };
        let name = name.trim();
        let Some(property) = self.schema.property(name) else {
            return Err(ODataError::unsupported(format!(
                "Unsupported query: $search on property {} of resource '{}': no such property.",
                quoted(name),
                self.schema.title()
            )));
        };
        if property.search == SearchMode::None || property.ty != PropType::String {
            return Err(ODataError::unsupported(format!(
                "Unsupported query: $search is not supported on property '{}' of resource '{}'.",
                property.name,
                self.schema.title()
            )));
        }
        if text.trim().is_empty() {
            self.pos = start;
            return Err(self.error(&format!(
                "the clause for '{}' has no text to search for",
                property.name
            )));
        }
        let words = match property.search {
            SearchMode::Tokens => words(text),
            _ => Vec::new(),
        };
        Ok(SearchExpr::Clause(Clause {
            property: property.name,
            mode: property.search,
            text: text.to_owned(),
            words,
        }))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Lower,
    Upper,
    OtherLetter,
    Digit,
    Symbol,
}

fn class(c: char) -> Class {
    if c.is_numeric() {
        Class::Digit
    } else if c.is_lowercase() {
        Class::Lower
    } else if c.is_uppercase() {
        Class::Upper
    } else if c.is_alphabetic() {
        Class::OtherLetter
    } else {
        Class::Symbol
    }
}

fn is_letter(c: Class) -> bool {
    matches!(c, Class::Lower | Class::Upper | Class::OtherLetter)
}

/// Graph's tokenization: lower-case words. `HelloWorld` → hello, world;
/// `hello123world` → hello, 123, world; `hello.world` → hello, ., world and
/// helloworld; `HELLOworld` → helloworld.
pub(crate) fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for chunk in text.split_whitespace() {
        let mut word = String::new();
        let mut prev: Option<Class> = None;
        let mut had_symbol = false;
        let mut joined = String::new();
        for c in chunk.chars() {
            let cl = class(c);
            let split = match prev {
                None => false,
                Some(p) => {
                    cl == Class::Symbol
                        || p == Class::Symbol
                        || (p == Class::Lower && cl == Class::Upper)
                        || (is_letter(p) != is_letter(cl))
                }
            };
            if split && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            word.extend(c.to_lowercase());
            if cl == Class::Symbol {
                had_symbol = true;
            } else {
                joined.extend(c.to_lowercase());
            }
            prev = Some(cl);
        }
        if !word.is_empty() {
            out.push(word);
        }
        if had_symbol && !joined.is_empty() {
            out.push(joined);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::error::ErrorCode;
    use super::super::eval::tests::alice;
    use super::super::schemas::{DIRECTORY_AUDIT, USER};
    use super::*;

    #[test]
    fn tokenization_follows_graph() {
        assert_eq!(words("hello world"), ["hello", "world"]);
        assert_eq!(words("HelloWorld"), ["hello", "world"]);
        assert_eq!(words("helloWORLD"), ["hello", "world"]);
        assert_eq!(words("HELLOworld"), ["helloworld"]);
        assert_eq!(words("hello.world"), ["hello", ".", "world", "helloworld"]);
        assert_eq!(words("hello123world"), ["hello", "123", "world"]);
        assert_eq!(
            words("李四(David Li)"),
            ["李四", "(", "david", "李四david", "li", ")", "li"]
        );
    }

    fn search(text: &str) -> Search {
        Search::parse(text, &USER).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn matching() {
        let u = alice(); // "Alice Smith", UPN Alice.Smith@Contoso.example, mail alice@contoso.example
        let cases = [
            ("\"displayName:alice\"", true),
            ("\"displayName:smi ali\"", true),
            ("\"displayName:Smith\"", true),
            ("\"displayName:lice\"", false),
            ("\"displayName:bob\" OR \"mail:ALICE@\"", true),
            ("\"displayName:bob\" AND \"mail:alice\"", false),
            (
                "\"displayName:alice\" AND (\"mail:bob\" OR \"userPrincipalName:alice.s\")",
                true,
            ),
            ("\"mail:contoso\"", false),
            ("\"givenName:a\"", false),
        ];
        for (t, want) in cases {
            assert_eq!(search(t).matches(&u), want, "{t}");
        }
    }

    #[test]
    fn escapes_and_spelling() {
        let s = search(r#""displayName:say \"hi\" \\o/""#);
        let SearchExpr::Clause(c) = s.expr() else {
            panic!()
        };
        assert_eq!(c.text, r#"say "hi" \o/"#);
        let s = search("\"DISPLAYNAME:x\"");
        let SearchExpr::Clause(c) = s.expr() else {
            panic!()
        };
        assert_eq!(c.property, "displayName");
    }

    #[test]
    fn refusals() {
        use ErrorCode::{BadRequest as Bad, UnsupportedQuery as Uns};
        let cases: &[(&str, ErrorCode, &str)] = &[
            ("alice", Bad, "expected a clause in double quotes"),
            ("\"alice\"", Bad, "must have the form \"property:text\""),
            ("\"displayName:a", Bad, "unterminated clause"),
            ("\"displayName:\"", Bad, "no text to search for"),
            (
                "\"displayName:a\" and \"mail:b\"",
                Bad,
                "'and' must be written in upper case",
            ),
            (
                "\"displayName:a\" \"mail:b\"",
                Bad,
                "expected AND, OR or the end",
            ),
            (
                "\"displayName:a\" AND",
                Bad,
                "expected a clause but found the end",
            ),
            ("(\"displayName:a\"", Bad, "expected ')'"),
            ("", Bad, "expected a clause but found the end"),
            (
                "\"userType:a\"",
                Uns,
                "property 'userType' of resource 'User': no such property",
            ),
            (
                "\"department:a\"",
                Uns,
                "not supported on property 'department'",
            ),
            (
                "\"accountEnabled:true\"",
                Uns,
                "not supported on property 'accountEnabled'",
            ),
        ];
        for (text, code, want) in cases {
            let e = Search::parse(text, &USER).unwrap_err();
            assert_eq!(e.code, *code, "{text}: {e}");
            assert!(
                e.message.contains(want),
                "{text}: {}\nwant: {want}",
                e.message
            );
        }
        let e = Search::parse("\"activityDisplayName:x\"", &DIRECTORY_AUDIT).unwrap_err();
        assert_eq!(e.code, Uns);
        let deep = format!("{}\"displayName:a\"{}", "(".repeat(40), ")".repeat(40));
        assert!(
            Search::parse(&deep, &USER)
                .unwrap_err()
                .message
                .contains("nests deeper")
        );
        let long = format!("\"displayName:{}\"", "a".repeat(MAX_SEARCH_LEN));
        assert!(
            Search::parse(&long, &USER)
                .unwrap_err()
                .message
                .contains("at most 4096")
        );
    }
}
