//! Store failures as the OAuth endpoints report them. Shared by token
//! issuance, refresh, client authentication and assertions, so it lives
//! below all of them (none of them imports another for it).

use crate::domain::oauth::OAuthError;
use crate::store::StoreError;

/// An unreachable store is `temporarily_unavailable` (retry later); any
/// other store failure is logged and answered as `server_error`.
pub(crate) fn store_error(e: StoreError) -> OAuthError {
    match e {
        StoreError::Unavailable(_) => {
            crate::metrics::METRICS.store_error();
            OAuthError::unavailable()
        }
        other => {
            tracing::error!(error = %other, "token endpoint store failure");
            OAuthError::server_error()
        }
    }
}
