use std::borrow::Cow;

/// Why a use case refused or failed. The web layer maps each to a status.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum DomainError {
    /// A field of the request is malformed or outside a bound.
    #[error("{field}: {message}")]
    Invalid {
        field: Cow<'static, str>,
        message: Cow<'static, str>,
    },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(Cow<'static, str>),
    #[error("{0}")]
    Forbidden(Cow<'static, str>),
    /// The store cannot be reached right now; retrying later may work.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    pub fn invalid(
        field: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
