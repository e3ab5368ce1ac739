//! The `$filter` tokenizer. It is context sensitive: in operand position it
//! yields punctuation and identifiers; in value position ([`Lexer::value`]) it
//! reads one literal, so that `2026-12-01T08:00:00Z` or a GUID stays one
//! token while `any(m:m eq 'x')` still splits at the colon.

use super::error::{ODataError, quoted};
use super::literal::{Literal, WordError, classify_word};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    LParen,
    RParen,
    Comma,
    Colon,
    Slash,
    /// `[A-Za-z_$][A-Za-z0-9_.]*`: property names, keywords, functions.
    Ident(&'a str),
    /// A quoted string, as written between the quotes (`''` not yet undone).
    Str(&'a str),
    /// Anything else up to the next delimiter (a number, a stray symbol).
    Other(&'a str),
    End,
}

impl Tok<'_> {
    /// How a message names what was found.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Comma => "','".into(),
            Tok::Colon => "':'".into(),
            Tok::Slash => "'/'".into(),
            Tok::Ident(s) | Tok::Other(s) => quoted(s).to_string(),
            Tok::Str(s) => format!("the string {}", quoted(s)),
            Tok::End => "the end of the expression".into(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    /// Byte offset of the token's first character.
    pub start: usize,
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'$'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.'
}

/// Ends a bare word in value or "other" position.
fn is_delimiter(c: u8) -> bool {
    c.is_ascii_whitespace() || matches!(c, b'(' | b')' | b',' | b'\'')
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Self { src, pos: 0 }
    }

    /// A `Request_BadRequest` for a syntax error at byte offset `at`.
    pub(crate) fn error_at(&self, at: usize, what: impl std::fmt::Display) -> ODataError {
        let position = self.src.get(..at).map_or(at, |s| s.chars().count());
        ODataError::bad_request(format!(
            "Invalid filter clause: {what} at position {position}."
        ))
    }

    fn skip_ws(&mut self) {
        let bytes = self.src.as_bytes();
        while self.pos < bytes.len() && bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    /// The next token without consuming it.
    pub(crate) fn peek(&mut self) -> Result<Token<'a>, ODataError> {
        let save = self.pos;
        let t = self.next();
        self.pos = save;
        t
    }

    pub(crate) fn next(&mut self) -> Result<Token<'a>, ODataError> {
        self.skip_ws();
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let Some(&c) = bytes.get(start) else {
            return Ok(Token {
                tok: Tok::End,
                start,
            });
        };
        let tok = match c {
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b',' => Tok::Comma,
            b':' => Tok::Colon,
            b'/' => Tok::Slash,
            b'\'' => return self.string(),
            c if is_ident_start(c) => {
                let mut end = start + 1;
                while end < bytes.len() && is_ident_char(bytes[end]) {
                    end += 1;
                }
                self.pos = end;
                return Ok(Token {
                    tok: Tok::Ident(&self.src[start..end]),
                    start,
                });
            }
            _ => {
                let end = self.word_end(start);
                self.pos = end;
                return Ok(Token {
                    tok: Tok::Other(&self.src[start..end]),
                    start,
                });
            }
        };
        self.pos = start + 1;
        Ok(Token { tok, start })
    }

    /// The end of a bare word starting at `start` (at least one character).
    fn word_end(&self, start: usize) -> usize {
        let bytes = self.src.as_bytes();
        let mut end = start;
        while end < bytes.len() && !is_delimiter(bytes[end]) {
            end += 1;
        }
        if end == start {
            // A lone delimiter that `next` does not know as punctuation.
            end = start + 1;
        }
        // Never split a UTF-8 sequence.
        while !self.src.is_char_boundary(end) {
            end += 1;
        }
        end
    }

    /// A quoted string starting at the current `'`.
    fn string(&mut self) -> Result<Token<'a>, ODataError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut i = start + 1;
        loop {
            match bytes.get(i) {
                None => return Err(self.error_at(start, "unterminated string literal")),
                Some(b'\'') if bytes.get(i + 1) == Some(&b'\'') => i += 2,
                Some(b'\'') => break,
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        Ok(Token {
            tok: Tok::Str(&self.src[start + 1..i]),
            start,
        })
    }

    /// One literal in value position.
    pub(crate) fn value(&mut self) -> Result<(Literal, usize), ODataError> {
        self.skip_ws();
        let start = self.pos;
        let bytes = self.src.as_bytes();
        match bytes.get(start) {
            None => return Err(self.error_at(start, "expected a value but found the end")),
            Some(b'\'') => {
                let t = self.string()?;
                let Tok::Str(raw) = t.tok else {
                    return Err(self.error_at(start, "expected a string"));
                };
                return Ok((Literal::Str(unescape(raw)), start));
            }
            Some(&c) if is_delimiter(c) => {
                let found = self.peek()?.tok.describe();
                return Err(
                    self.error_at(start, format_args!("expected a value but found {found}"))
                );
            }
            Some(_) => {}
        }
        let end = self.word_end(start);
        let word = &self.src[start..end];
        self.pos = end;
        let lit = classify_word(word).map_err(|e| {
            let what = match e {
                WordError::IntRange => format!("the integer {} is out of range", quoted(word)),
                WordError::BadDateTime => format!(
                    "{} is not a valid DateTimeOffset (write e.g. 2026-12-01T08:00:00Z)",
                    quoted(word)
                ),
                WordError::DateOnly => format!(
                    "the Date literal {} is not supported (write a DateTimeOffset such as {}T00:00:00Z)",
                    quoted(word),
                    word
                ),
                WordError::NotALiteral => format!(
                    "{} is not a valid literal (quote strings with single quotes)",
                    quoted(word)
                ),
            };
            self.error_at(start, what)
        })?;
        Ok((lit, start))
    }
}

/// Undoes the `''` escape of a string literal's body.
pub(crate) fn unescape(raw: &str) -> String {
    raw.replace("''", "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(src: &str) -> Vec<Tok<'_>> {
        let mut lx = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lx.next().unwrap();
            if t.tok == Tok::End {
                return out;
            }
            out.push(t.tok);
        }
    }

    #[test]
    fn operands_split_at_punctuation() {
        assert_eq!(
            tokens("otherMails/any(m:m eq 'a''b')"),
            vec![
                Tok::Ident("otherMails"),
                Tok::Slash,
                Tok::Ident("any"),
                Tok::LParen,
                Tok::Ident("m"),
                Tok::Colon,
                Tok::Ident("m"),
                Tok::Ident("eq"),
                Tok::Str("a''b"),
                Tok::RParen,
            ]
        );
        assert_eq!(
            tokens("x/$count 5 é"),
            vec![
                Tok::Ident("x"),
                Tok::Slash,
                Tok::Ident("$count"),
                Tok::Other("5"),
                Tok::Other("é")
            ]
        );
    }

    #[test]
    fn values_are_whole_words() {
        let mut lx = Lexer::new("  2026-12-01T08:00:00+02:00) 'it''s' 12,");
        let (v, at) = lx.value().unwrap();
        assert!(matches!(v, Literal::DateTime(_)));
        assert_eq!(at, 2);
        assert_eq!(lx.next().unwrap().tok, Tok::RParen);
        assert_eq!(lx.value().unwrap().0, Literal::Str("it's".into()));
        assert_eq!(lx.value().unwrap().0, Literal::Int(12));
        assert_eq!(lx.next().unwrap().tok, Tok::Comma);
    }

    #[test]
    fn errors_carry_the_position() {
        let mut lx = Lexer::new("é eq 'open");
        lx.next().unwrap();
        lx.next().unwrap();
        let e = lx.next().unwrap_err();
        assert_eq!(
            e.message,
            "Invalid filter clause: unterminated string literal at position 5."
        );
        let mut lx = Lexer::new("(");
        let e = lx.value().unwrap_err();
        assert!(
            e.message.contains("expected a value but found '('"),
            "{}",
            e.message
        );
    }
}
