//! OData query options as Microsoft Graph v1.0 accepts them, for the admin
//! API's collections (`/users`, `/auditLogs/directoryAudits`, …).
//!
//! Pure: no I/O, no HTTP types. The API layer hands [`QueryOptions::parse`]
//! the raw query string and a [`ResourceSchema`] (see [`schemas`]), maps an
//! [`ODataError`] to a 400 with Graph's error body (`code_str()`, `message`),
//! and otherwise uses the result: [`Filter::lookup`] to fetch candidates by
//! index, [`QueryOptions::matches`] on each record, [`QueryOptions::compare`]
//! to sort, [`QueryOptions::top`], [`QueryOptions::select`] to shape, and
//! [`QueryOptions::other`] for its own parameters.
//!
//! # Nothing is ignored
//!
//! A query option, operator, function or property that is not supported is a
//! 400 naming it, never skipped. An ignored `$filter` returns *more* than was
//! asked for, and a script that acts on "the" result then acts on the wrong
//! record (a `userPrincipalName eq '…'` filter that was dropped once led to a
//! Temporary Access Pass issued for the wrong person). So:
//!
//! - **Accepted options** (names ignoring case, always with `$`): `$filter`,
//!   `$select` (top-level properties the schema allows), `$top` (1 ..= the
//!   schema's maximum), `$orderby` (`prop [asc|desc]`, comma separated, on
//!   properties the schema allows), `$count` (`true`/`false`), `$search`
//!   (Graph's `"property:text"` clauses with `AND`/`OR`, see [`search`]) and
//!   `$skiptoken` (opaque, passed through). Each at most once.
//! - **Refused options**: any other `$` name (`$expand`, `$skip`, `$format`,
//!   `$apply`, …) → `Request_UnsupportedQuery`; a Graph option name written
//!   without `$` (`filter=`) → `Request_UnsupportedQuery` (Graph v1.0 takes
//!   the bare names only on some APIs); a repeated option, an empty value,
//!   a value over [`MAX_OPTION_LEN`], bad percent-encoding →
//!   `Request_BadRequest`. Names without `$` that are not Graph's go to
//!   [`QueryOptions::other`]; the caller must use or refuse each.
//! - **`$filter`** (see [`filter`] for the grammar): `and`, `or`, `not`,
//!   parentheses; `eq ne gt ge lt le` against a literal; `in (…)`;
//!   `startsWith`/`endsWith`; `collection/any(x: …)` on string and object
//!   collections; nested paths into complex values (`initiatedBy/user/id`).
//!   Literals: `'strings'` (`''` escapes a quote), `true`, `false`, `null`,
//!   integers, unquoted GUIDs and DateTimeOffsets (`2026-12-01T08:00:00Z`,
//!   fractions and `±hh:mm` offsets too). Keywords and function names ignore
//!   case, property names too (they are rewritten to the schema's spelling).
//!   Refused: syntax errors (`Request_BadRequest`, "Invalid filter clause: …
//!   at position N."), Date-only literals, decimals, other functions
//!   (`contains`, `tolower`, …), operators (`has`, `add`, …), `all()` and
//!   `/$count` (`Request_UnsupportedQuery`), more than [`Filter::MAX_LEN`]
//!   bytes or [`Filter::MAX_DEPTH`] levels of nesting.
//! - **Against the schema**: an unknown property, an operator the property
//!   does not support (including `not`, and `eq null` on non-nullable ones),
//!   a comparison on a collection or complex value → `Request_UnsupportedQuery`
//!   ("Unsupported or invalid query filter clause specified for property
//!   'jobTitle' of resource 'User': …"); a literal of the wrong type (a string
//!   for a Boolean, a quoted date, an unknown enumeration value) →
//!   `Request_BadRequest` naming the property and operator.
//!
//! Evaluation follows Graph's directory semantics: strings compare ignoring
//! case; see [`eval`] for nulls and `any()`.

mod error;
pub mod eval;
pub mod filter;
mod lexer;
mod literal;
mod options;
pub mod plan;
mod schema;
pub mod schemas;
pub mod search;
mod validate;

#[cfg(test)]
mod proptests;

pub use error::{ErrorCode, ODataError};
pub use eval::{ODataRecord, ODataValue, RecordList, StrList};
pub use filter::{CmpOp, Expr, Filter, Path, StrFunc};
pub use literal::Literal;
pub use options::{MAX_OPTION_LEN, OrderBy, QueryOptions, percent_decode};
pub use plan::{Lookup, Probe};
pub use schema::{Ops, PropType, Property, ResourceSchema, SearchMode};
pub use search::Search;
