//! OpenID Provider metadata (OpenID Connect Discovery 1.0 §3, RFC 8414),
//! rendered once at start-up.

use serde_json::json;

use crate::domain::client::GrantType;

pub const AUTHORIZE_PATH: &str = "/authorize";
pub const TOKEN_PATH: &str = "/token";
pub const USERINFO_PATH: &str = "/userinfo";
pub const REVOCATION_PATH: &str = "/revoke";
pub const END_SESSION_PATH: &str = "/logout";
pub const INTROSPECTION_PATH: &str = "/introspect";
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

pub use crate::domain::protocol::SCOPES;

pub const CLAIMS: [&str; 19] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "amr",
    "acr",
    "sid",
    "name",
    "preferred_username",
    "email",
    "email_verified",
    "given_name",
    "family_name",
    "phone_number",
    "phone_number_verified",
    "address",
];

/// The discovery document for `issuer` (no trailing slash).
/// The languages of the pages (`ui_locales_supported`): the locale files
/// under `static/locales/`.
pub const UI_LOCALES: &[&str] = &["en", "de"];

pub fn document(issuer: &str) -> String {
    let grants = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ]
    .map(GrantType::as_str);
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{AUTHORIZE_PATH}"),
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "userinfo_endpoint": format!("{issuer}{USERINFO_PATH}"),
        "end_session_endpoint": format!("{issuer}{END_SESSION_PATH}"),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "revocation_endpoint": format!("{issuer}{REVOCATION_PATH}"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "introspection_endpoint": format!("{issuer}{INTROSPECTION_PATH}"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grants,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
"token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256", "ES384", "EdDSA"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": SCOPES,
        "claims_supported": CLAIMS,
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": true,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "acr_values_supported": ["phr", "urn:onramp:acr:tap"],
        "ui_locales_supported": UI_LOCALES,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Config OP: with an https issuer every endpoint is https, under it.
    #[test]
    fn endpoints_derive_from_the_issuer() {
        let issuer = "https://login.example.com/tenant";
        let doc: Value = serde_json::from_str(&document(issuer)).unwrap();
        let mut urls = 0;
        for (key, value) in doc.as_object().unwrap() {
            if key == "issuer" || key.ends_with("_endpoint") || key.ends_with("_uri") {
                let url = value.as_str().unwrap();
                assert!(
                    url.starts_with("https://login.example.com/tenant"),
                    "{key}: {url}"
                );
                urls += 1;
            }
        }
        // issuer, authorization, token, userinfo, end_session, revocation,
        // introspection, jwks_uri
        assert_eq!(urls, 8);
    }

    /// What is advertised is what is served.
    #[test]
    fn advertised_scopes_and_claims_are_the_implemented_ones() {
        for claim in crate::domain::claims::USER_CLAIMS {
            assert!(
                CLAIMS.contains(&claim),
                "{claim} is released but not advertised"
            );
        }
        for scope in SCOPES {
            let claims = crate::domain::claims::for_scope(scope);
            assert!(
                claims.iter().all(|c| CLAIMS.contains(c)),
                "{scope} releases unadvertised claims"
            );
        }
        assert!(SCOPES.contains(&"address") && SCOPES.contains(&"phone"));
    }
}
