//! The OAuth 2.0 / OpenID Connect requests, parsed and checked without
//! HTTP or I/O: one small check per rule, each citing its section (as node
//! oidc-provider's `check_*` actions do), so that a rule can be read and
//! tested on its own. The services act on what these return.

pub mod authorize;
pub mod token;

pub use authorize::{AuthorizeRequest, Params};
pub use token::{TokenParams, TokenRequest};

/// The scopes this server grants (and discovery advertises); others are
/// ignored (RFC 6749 §3.3 lets a server narrow the request).
pub const SCOPES: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];
