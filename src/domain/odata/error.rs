//! The one error type of the OData module, shaped like Graph's error body.

use std::fmt;

/// Graph's error codes for refused queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Malformed syntax or a value of the wrong form (`Request_BadRequest`).
    BadRequest,
    /// Well formed, but an option, property, operator or function this
    /// resource does not support (`Request_UnsupportedQuery`).
    UnsupportedQuery,
}

impl ErrorCode {
    /// The code as Graph writes it in `error.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "Request_BadRequest",
            Self::UnsupportedQuery => "Request_UnsupportedQuery",
        }
    }
}

/// A refused query: always a 400 with Graph's code and a message that names
/// the offending option, property, operator or position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct ODataError {
    pub code: ErrorCode,
    pub message: String,
}

impl ODataError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::BadRequest,
            message: message.into(),
        }
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::UnsupportedQuery,
            message: message.into(),
        }
    }

    /// `Request_BadRequest` or `Request_UnsupportedQuery`.
    pub fn code_str(&self) -> &'static str {
        self.code.as_str()
    }
}

/// Quotes a piece of user input for a message, cut to a readable length.
pub(crate) fn quoted(text: &str) -> Quoted<'_> {
    Quoted(text)
}

pub(crate) struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX_CHARS: usize = 60;
        f.write_str("'")?;
        match self.0.char_indices().nth(MAX_CHARS) {
            Some((cut, _)) => {
                f.write_str(&self.0[..cut])?;
                f.write_str("…")?;
            }
            None => f.write_str(self.0)?,
        }
        f.write_str("'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_graphs() {
        assert_eq!(
            ODataError::bad_request("x").code_str(),
            "Request_BadRequest"
        );
        assert_eq!(
            ODataError::unsupported("x").code_str(),
            "Request_UnsupportedQuery"
        );
        assert_eq!(
            ODataError::unsupported("no").to_string(),
            "Request_UnsupportedQuery: no"
        );
    }

    #[test]
    fn quoting_cuts_long_input() {
        assert_eq!(quoted("abc").to_string(), "'abc'");
        let long = "é".repeat(100);
        let q = quoted(&long).to_string();
        assert_eq!(q.chars().count(), 60 + 3);
        assert!(q.ends_with("…'"));
    }
}
