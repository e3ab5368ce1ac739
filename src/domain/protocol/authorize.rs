//! The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1,
//! RFC 7636 §4.3): [`AuthorizeRequest::parse`] runs one check per concern.
//! Errors here are redirected to the client (the client and redirect URI
//! are already trusted); the checks before that ([`client_id`],
//! [`redirect_uri`]) answer with a page instead.

use std::collections::HashMap;
use time::OffsetDateTime;

use crate::domain::authz::{AuthorizationRequest, Prompt};
use crate::domain::client::{Client, GrantType};
use crate::domain::oauth::{OAuthError, OAuthErrorCode};
use crate::domain::permission::Permission;

/// Query or form parameters, with repeats kept so they can be refused.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, Vec<String>>);

impl Params {
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            map.entry(k.into()).or_default().push(v.into());
        }
        Self(map)
    }

    /// The single value of `name`; empty counts as absent (RFC 6749 §3.1),
    /// a repeat is refused (§3.1: "MUST NOT be included more than once").
    pub fn one(&self, name: &str) -> Result<Option<&str>, String> {
        match self.0.get(name).map(Vec::as_slice) {
            None => Ok(None),
            Some([v]) => Ok(Some(v.as_str()).filter(|v| !v.is_empty())),
            Some(_) => Err(format!("parameter {name} appears more than once")),
        }
    }

    fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        self.one(name).map_err(OAuthError::invalid_request)
    }
}

/// `client_id`, required (RFC 6749 §4.1.1). `Err` is the page's sentence.
pub fn client_id(params: &Params) -> Result<&str, String> {
    params
        .one("client_id")?
        .ok_or_else(|| "The request has no client_id.".to_owned())
}

/// `redirect_uri`, required and registered for the client, compared as
/// strings (OIDC Core §3.1.2.1: "MUST exactly match"; OAuth Security
/// BCP §4.1.3). `Err` is the page's sentence.
pub fn redirect_uri<'a>(params: &'a Params, client: &Client) -> Result<&'a str, String> {
    match params.one("redirect_uri")? {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => Ok(uri),
        Some(_) => Err("The redirect_uri is not registered for this application.".into()),
        None => Err("The request has no redirect_uri.".into()),
    }
}

/// A PKCE code challenge or verifier: 43 to 128 unreserved characters
/// (RFC 7636 §4.1, §4.2).
pub fn is_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// A checked authorization request, and the `id_token_hint` it carried
/// (verified by the caller, who holds the keys).
#[derive(Debug)]
pub struct AuthorizeRequest<'a> {
    pub request: AuthorizationRequest,
    pub id_token_hint: Option<&'a str>,
}

impl<'a> AuthorizeRequest<'a> {
    /// Every rule of the request, in the order their errors are reported.
    pub fn parse(
        params: &'a Params,
        client: &Client,
        redirect_uri: &str,
        now: OffsetDateTime,
    ) -> Result<Self, OAuthError> {
        check_request_objects(params)?;
        check_response_type(params)?;
        check_grant(client)?;
        check_response_mode(params)?;
        let scope = check_scope(params, client)?;
        let code_challenge = check_pkce(params, client)?;
        let prompt = check_prompt(params)?;
        let max_age = check_max_age(params)?;
        let (id_token_claims, userinfo_claims, claims_acr) = check_claims(params)?;
        let request = AuthorizationRequest {
            client_id: client.id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            scope,
            state: bounded(params, "state", 2048)?,
            nonce: bounded(params, "nonce", 512)?,
            code_challenge: code_challenge.map(str::to_owned),
            prompt,
            max_age,
            login_hint: bounded(params, "login_hint", 256)?,
            acr_values: match (bounded(params, "acr_values", 512)?, claims_acr) {
                (Some(v), _) => Some(v),
                // An essential `acr` claim asks for phishing resistance.
                (None, true) => Some("phr".into()),
                (None, false) => None,
            },
            id_token_claims,
            userinfo_claims,
            created: now,
            hinted_subject: None,
            ui_locales: bounded(params, "ui_locales", 256)?,
        };
        Ok(Self {
            request,
            id_token_hint: params.get("id_token_hint")?,
        })
    }
}

/// OIDC Core §6: request objects are optional; a server without them
/// answers `request_not_supported` / `request_uri_not_supported`.
fn check_request_objects(params: &Params) -> Result<(), OAuthError> {
    if params.get("request")?.is_some() {
        return Err(OAuthError::new(
            OAuthErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if params.get("request_uri")?.is_some() {
        return Err(OAuthError::new(
            OAuthErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    Ok(())
}

/// RFC 6749 §3.1.1, §4.1.2.1: `response_type` is required; only `code`.
fn check_response_type(params: &Params) -> Result<(), OAuthError> {
    match params.get("response_type")? {
        None => Err(OAuthError::invalid_request("response_type is required")),
        Some("code") => Ok(()),
        Some(other) => Err(OAuthError::new(
            OAuthErrorCode::UnsupportedResponseType,
            format!("response_type {other} is not supported; use code"),
        )),
    }
}

/// RFC 6749 §4.1.2.1 `unauthorized_client`: the client may not use the
/// code flow.
fn check_grant(client: &Client) -> Result<(), OAuthError> {
    if client.allows_grant(GrantType::AuthorizationCode) {
        Ok(())
    } else {
        Err(OAuthError::new(
            OAuthErrorCode::UnauthorizedClient,
            "this client may not use the authorization code flow",
        ))
    }
}

/// OAuth 2.0 Multiple Response Types §2.1: only the default, `query`.
fn check_response_mode(params: &Params) -> Result<(), OAuthError> {
    match params.get("response_mode")? {
        Some(mode) if mode != "query" => {
            Err(OAuthError::invalid_request("response_mode must be query"))
        }
        _ => Ok(()),
    }
}

/// RFC 6749 §3.3: known scopes, and the admin API permissions delegated to
/// this client (the signed-in user's roles trim them at the token
/// endpoint), each once; OIDC Core §3.1.2.1: `openid` is required.
fn check_scope(params: &Params, client: &Client) -> Result<Vec<String>, OAuthError> {
    let requested = params.get("scope")?.unwrap_or_default();
    let mut scope: Vec<String> = Vec::new();
    for s in requested.split(' ').filter(|s| !s.is_empty()) {
        let delegated =
            Permission::parse(s).is_some_and(|p| client.delegated_permissions.contains(&p));
        if (super::SCOPES.contains(&s) || delegated) && !scope.iter().any(|x| x == s) {
            scope.push(s.to_owned());
        }
    }
    if !scope.iter().any(|s| s == "openid") {
        return Err(OAuthError::new(
            OAuthErrorCode::InvalidScope,
            "scope must include openid",
        ));
    }
    Ok(scope)
}

/// RFC 7636 §4.3 with OAuth Security BCP §2.1.1: S256 only, a challenge
/// of the right form, and PKCE required of public clients.
fn check_pkce<'a>(params: &'a Params, client: &Client) -> Result<Option<&'a str>, OAuthError> {
    let challenge = params.get("code_challenge")?;
    let method = params.get("code_challenge_method")?;
    match (challenge, method) {
        (_, Some(m)) if m != "S256" => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256",
        )),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge_method without code_challenge",
        )),
        (Some(_), None) => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256 (plain is not allowed)",
        )),
        (Some(c), _) if !is_pkce_value(c) => Err(OAuthError::invalid_request(
            "code_challenge must be 43 to 128 unreserved characters",
        )),
        (None, None) if client.is_public() => Err(OAuthError::invalid_request(
            "PKCE (code_challenge with S256) is required for public clients",
        )),
        (c, _) => Ok(c),
    }
}

/// OIDC Core §3.1.2.1 `prompt`: space-separated; `none` stands alone.
/// `select_account` is taken as `login` (one account per browser here).
fn check_prompt(params: &Params) -> Result<Prompt, OAuthError> {
    let mut prompt = Prompt::default();
    for p in params
        .get("prompt")?
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
    {
        match p {
            "none" => prompt.none = true,
            "login" | "select_account" => prompt.login = true,
            "consent" => prompt.consent = true,
            other => {
                return Err(OAuthError::invalid_request(format!(
                    "prompt value {other} is not supported"
                )));
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

/// OIDC Core §3.1.2.1 `max_age`: seconds, non-negative.
fn check_max_age(params: &Params) -> Result<Option<i64>, OAuthError> {
    params
        .get("max_age")?
        .map(|v| {
            v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                OAuthError::invalid_request("max_age must be a non-negative integer")
            })
        })
        .transpose()
}

/// OIDC Core §5.5 `claims`: the names asked for, for the ID token and for
/// userinfo, and whether `acr` is essential. Bounded in size.
fn check_claims(params: &Params) -> Result<(Vec<String>, Vec<String>, bool), OAuthError> {
    match params.get("claims")? {
        None => Ok((Vec::new(), Vec::new(), false)),
        Some(json) if json.len() <= 4096 => crate::domain::claims::parse_request(json)
            .map_err(|e| OAuthError::invalid_request(e.to_string())),
        Some(_) => Err(OAuthError::invalid_request("claims is too long")),
    }
}

/// A value kept with the request, bounded so that a stored request stays
/// small.
fn bounded(params: &Params, name: &str, max: usize) -> Result<Option<String>, OAuthError> {
    match params.get(name)? {
        Some(v) if v.len() > max => Err(OAuthError::invalid_request(format!("{name} is too long"))),
        other => Ok(other.map(str::to_owned)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "https://rp.example/cb";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn client(auth_method: &str, grants: &[&str]) -> Client {
        serde_json::from_value(serde_json::json!({
            "id": "rp",
            "redirect_uris": [URI],
            "grant_types": grants,
            "auth_method": auth_method,
            "id_token_alg": "ES256",
            "access_token_alg": "ES256",
        }))
        .unwrap()
    }

    fn web() -> Client {
        client("client_secret_basic", &["authorization_code"])
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        let base = [("response_type", "code"), ("scope", "openid")];
        let sent: Vec<_> = pairs.iter().map(|(k, _)| *k).collect();
        Params::from_pairs(
            base.iter()
                .filter(|(k, _)| !sent.contains(k))
                .chain(pairs.iter())
                .copied(),
        )
    }

    fn refused(pairs: &[(&str, &str)], client: &Client) -> (OAuthErrorCode, String) {
        let p = params(pairs);
        let e = AuthorizeRequest::parse(&p, client, URI, OffsetDateTime::UNIX_EPOCH).unwrap_err();
        (e.code, e.description.into_owned())
    }

    /// RFC 6749 §3.1: a parameter sent twice is refused, by name.
    #[test]
    fn a_repeated_parameter_is_refused() {
        let p = Params::from_pairs([("state", "a"), ("state", "b")]);
        assert_eq!(
            p.one("state").unwrap_err(),
            "parameter state appears more than once"
        );
        assert_eq!(Params::from_pairs([("state", "")]).one("state"), Ok(None));
    }

    /// OIDC Core §3.1.2.1: the redirect URI must match a registered one
    /// exactly; no client id or no redirect URI is a page, not a redirect.
    #[test]
    fn client_and_redirect_uri_are_checked_exactly() {
        let c = web();
        assert_eq!(
            redirect_uri(&Params::from_pairs([("redirect_uri", URI)]), &c),
            Ok(URI)
        );
        for other in [
            "https://rp.example/cb/",
            "https://RP.example/cb",
            "https://rp.example/cb?x=1",
        ] {
            assert!(redirect_uri(&Params::from_pairs([("redirect_uri", other)]), &c).is_err());
        }
        assert!(redirect_uri(&Params::default(), &c).is_err());
        assert!(client_id(&Params::default()).is_err());
    }

    /// RFC 6749 §4.1.1 / §4.1.2.1: `response_type=code` only; OIDC Core §6:
    /// request objects are not supported.
    #[test]
    fn response_type_and_request_objects() {
        let c = web();
        assert_eq!(
            refused(&[("response_type", "token")], &c).0,
            OAuthErrorCode::UnsupportedResponseType
        );
        assert_eq!(
            refused(&[("response_type", "")], &c).0,
            OAuthErrorCode::InvalidRequest
        );
        assert_eq!(
            refused(&[("request", "x")], &c).0,
            OAuthErrorCode::RequestNotSupported
        );
        assert_eq!(
            refused(&[("request_uri", "x")], &c).0,
            OAuthErrorCode::RequestUriNotSupported
        );
        assert_eq!(
            refused(&[("response_mode", "fragment")], &c).0,
            OAuthErrorCode::InvalidRequest
        );
        let m2m = client("client_secret_basic", &["client_credentials"]);
        assert_eq!(refused(&[], &m2m).0, OAuthErrorCode::UnauthorizedClient);
    }

    /// RFC 6749 §3.3: unknown scopes are dropped, repeats kept once; OIDC
    /// Core §3.1.2.1: `openid` is required.
    #[test]
    fn scope_is_narrowed_and_needs_openid() {
        let c = web();
        let p = params(&[("scope", "email openid unknown email User.ReadWrite.All")]);
        let r = AuthorizeRequest::parse(&p, &c, URI, OffsetDateTime::UNIX_EPOCH).unwrap();
        assert_eq!(r.request.scope, ["email", "openid"]);
        assert_eq!(
            refused(&[("scope", "email")], &c).0,
            OAuthErrorCode::InvalidScope
        );
    }

    /// RFC 7636 §4.3 and the Security BCP: S256 only, a well-formed
    /// challenge, and PKCE required of public clients.
    #[test]
    fn pkce_rules() {
        let c = web();
        let spa = client("none", &["authorization_code"]);
        let desc = |pairs: &[(&str, &str)], c: &Client| refused(pairs, c).1;
        assert!(
            desc(
                &[
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "plain")
                ],
                &c
            )
            .contains("must be S256")
        );
        assert!(desc(&[("code_challenge", CHALLENGE)], &c).contains("plain is not allowed"));
        assert!(desc(&[("code_challenge_method", "S256")], &c).contains("without code_challenge"));
        assert!(
            desc(
                &[
                    ("code_challenge", "short"),
                    ("code_challenge_method", "S256")
                ],
                &c
            )
            .contains("43 to 128")
        );
        assert!(desc(&[], &spa).contains("required for public clients"));
        let p = params(&[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]);
        let r = AuthorizeRequest::parse(&p, &spa, URI, OffsetDateTime::UNIX_EPOCH).unwrap();
        assert_eq!(r.request.code_challenge.as_deref(), Some(CHALLENGE));
    }

    /// OIDC Core §3.1.2.1: `prompt=none` alone; `max_age` a non-negative
    /// integer; `state` and friends bounded; the hint handed back as sent.
    #[test]
    fn prompt_max_age_and_bounds() {
        let c = web();
        assert!(
            refused(&[("prompt", "none login")], &c)
                .1
                .contains("cannot be combined")
        );
        assert!(refused(&[("prompt", "create")], &c).1.contains("create"));
        assert!(refused(&[("max_age", "-1")], &c).1.contains("max_age"));
        let long = "x".repeat(2049);
        assert!(
            refused(&[("state", &long)], &c)
                .1
                .contains("state is too long")
        );
        let p = params(&[
            ("prompt", "select_account consent"),
            ("max_age", "0"),
            ("id_token_hint", "h"),
        ]);
        let r = AuthorizeRequest::parse(&p, &c, URI, OffsetDateTime::UNIX_EPOCH).unwrap();
        assert!(r.request.prompt.login && r.request.prompt.consent && !r.request.prompt.none);
        assert_eq!(r.request.max_age, Some(0));
        assert_eq!(r.id_token_hint, Some("h"));
        assert_eq!(r.request.hinted_subject, None, "verified by the caller");
    }
}
