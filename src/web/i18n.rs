//! Pages in the person's language (ARCHITECTURE.md, "Pages"): Fluent
//! messages from `static/locales/<lang>/pages.ftl`, compiled in.
//!
//! The language of a request is chosen once, by [`localize`]: the
//! `ui_locales` of the authorization request (OIDC Core §3.1.2.1, on
//! `/authorize` itself or kept with the stored request `r`), then
//! `Accept-Language` (by q-value), else English. Pages and error pages
//! rendered while the request is handled read it with [`lang`], [`t`] and
//! [`text`]. A message missing in a language falls back to English.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

use crate::domain::authz::AuthorizationRequest;
use crate::state::AppState;

/// The languages pages are written in; English first (the fallback).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Locale {
    #[default]
    En,
    De,
}

/// BCP 47 tags of the supported languages, for discovery's
/// `ui_locales_supported`.
pub const SUPPORTED: &[&str] = crate::service::discovery::UI_LOCALES;

const SOURCES: [(Locale, &str); 2] = [
    (
        Locale::En,
        include_str!("../../static/locales/en/pages.ftl"),
    ),
    (
        Locale::De,
        include_str!("../../static/locales/de/pages.ftl"),
    ),
];

impl Locale {
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
        }
    }

    /// The supported language a BCP 47 tag asks for (`de-CH` is German).
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.split(['-', '_']).next()?.trim();
        [Locale::En, Locale::De]
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(primary))
    }
}

/// The first supported language of `ui_locales` (space-separated, in
/// order of preference).
pub fn from_ui_locales(ui_locales: &str) -> Option<Locale> {
    ui_locales.split_whitespace().find_map(Locale::from_tag)
}

/// The supported language an `Accept-Language` header prefers most
/// (RFC 9110 §12.5.4; `q=0` means "not this one").
pub fn from_accept_language(header: &str) -> Option<Locale> {
    let mut best: Option<(f32, usize, Locale)> = None;
    for (i, item) in header.split(',').enumerate().take(32) {
        let mut parts = item.split(';');
        let Some(locale) = parts.next().and_then(|t| Locale::from_tag(t.trim())) else {
            continue;
        };
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
            .unwrap_or(0.0);
        // Higher q wins; among equals, the earlier entry.
        if q > 0.0 && best.is_none_or(|(bq, bi, _)| q > bq || (q == bq && i < bi)) {
            best = Some((q, i, locale));
        }
    }
    best.map(|(_, _, l)| l)
}

struct Catalogue {
    bundles: Vec<(Locale, FluentBundle<FluentResource>)>,
    /// English text → message id, for sentences the code passes as text
    /// (error pages, notices): the English catalogue names them all.
    by_english: HashMap<String, String>,
}

fn bundle(locale: Locale, source: &str) -> FluentBundle<FluentResource> {
    let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(r, errors)| {
        tracing::error!(?errors, lang = locale.tag(), "locale file has errors");
        r
    });
    let lang = locale.tag().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![lang]);
    // No Unicode isolation marks around arguments: the pages are plain
    // left-to-right text.
    bundle.set_use_isolating(false);
    if let Err(errors) = bundle.add_resource(resource) {
        tracing::error!(
            ?errors,
            lang = locale.tag(),
            "locale file has duplicate messages"
        );
    }
    bundle
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| {
    let bundles: Vec<_> = SOURCES.iter().map(|(l, s)| (*l, bundle(*l, s))).collect();
    let mut by_english = HashMap::new();
    if let Some((_, en)) = bundles.first() {
        // Only messages without variables can be found by their wording;
        // the others would fail to format here, and that is no error.
        for id in message_ids(SOURCES[0].1) {
            let Some(pattern) = en.get_message(&id).and_then(|m| m.value()) else {
                continue;
            };
            let mut errors = Vec::new();
            let text = en.format_pattern(pattern, None, &mut errors);
            if errors.is_empty() {
                by_english.insert(text.into_owned(), id);
            }
        }
    }
    Catalogue {
        bundles,
        by_english,
    }
});

/// The ids of the messages in a `.ftl` source.
fn message_ids(source: &str) -> Vec<String> {
    let resource = match FluentResource::try_new(source.to_owned()) {
        Ok(r) | Err((r, _)) => r,
    };
    resource
        .entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
            _ => None,
        })
        .collect()
}

fn format(
    bundle: &FluentBundle<FluentResource>,
    id: &str,
    args: Option<&FluentArgs>,
) -> Option<String> {
    let pattern = bundle.get_message(id)?.value()?;
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, args, &mut errors);
    if !errors.is_empty() {
        tracing::warn!(?errors, id, "message formatting failed");
    }
    Some(text.into_owned())
}

fn lookup(locale: Locale, id: &str, args: Option<&FluentArgs>) -> String {
    let catalogue = &*CATALOGUE;
    let in_locale = |l: Locale| {
        catalogue
            .bundles
            .iter()
            .find(|(bl, _)| *bl == l)
            .and_then(|(_, b)| format(b, id, args))
    };
    in_locale(locale)
        .or_else(|| in_locale(Locale::En))
        .unwrap_or_else(|| id.to_owned())
}

tokio::task_local! {
    static CURRENT: Locale;
}

/// The language of the request being handled (English outside one).
pub fn current() -> Locale {
    CURRENT.try_with(|l| *l).unwrap_or_default()
}

/// `<html lang>`.
pub fn lang() -> &'static str {
    current().tag()
}

/// The message `id` in the request's language.
pub fn t(id: &str) -> String {
    lookup(current(), id, None)
}

/// The message `id` with one argument.
pub fn t1(id: &str, name: &str, value: impl std::fmt::Display) -> String {
    let mut args = FluentArgs::new();
    args.set(name, FluentValue::from(value.to_string()));
    lookup(current(), id, Some(&args))
}

/// The message `id` with a number (plural forms select on it).
pub fn tn(id: &str, name: &str, n: impl std::borrow::Borrow<i64>) -> String {
    let mut args = FluentArgs::new();
    args.set(name, FluentValue::from(*n.borrow()));
    lookup(current(), id, Some(&args))
}

/// A sentence the code wrote in English (an error page's title, a
/// notice), in the request's language when the English catalogue has it;
/// otherwise as it is.
pub fn text(english: &str) -> String {
    if current() == Locale::En {
        return english.to_owned();
    }
    match CATALOGUE.by_english.get(english) {
        Some(id) => t(id),
        None => english.to_owned(),
    }
}

/// The page script's sentences (messages `js-*`), as JSON for a `<meta>`:
/// made once per language (every page carries them).
pub fn script_strings() -> &'static str {
    static BY_LOCALE: LazyLock<Vec<(Locale, String)>> = LazyLock::new(|| {
        let ids: Vec<String> = message_ids(SOURCES[0].1)
            .into_iter()
            .filter(|id| id.starts_with("js-"))
            .collect();
        SOURCES
            .iter()
            .map(|(locale, _)| {
                let map: serde_json::Map<String, serde_json::Value> = ids
                    .iter()
                    .map(|id| {
                        let text = lookup(*locale, id, None);
                        (id.clone(), serde_json::Value::String(text))
                    })
                    .collect();
                (*locale, serde_json::Value::Object(map).to_string())
            })
            .collect()
    });
    let locale = current();
    BY_LOCALE
        .iter()
        .find(|(l, _)| *l == locale)
        .or(BY_LOCALE.first())
        .map_or("{}", |(_, s)| s.as_str())
}

/// The stored authorization request as the language choice read it, so
/// that the page's handler does not read it again.
#[derive(Clone)]
pub struct ReadRequest {
    pub id: String,
    pub request: Arc<AuthorizationRequest>,
}

/// Middleware: chooses the request's language and handles the request in
/// it. Only sign-in pages carrying a stored request (`r`) cost a store
/// read; everything else is decided from the request's own headers.
pub async fn localize(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let locale = choose(&req).await;
    CURRENT.scope(locale, next.call(req)).await
}

async fn choose(req: &ServiceRequest) -> Locale {
    let path = req.path();
    let page = path == "/authorize" || path.starts_with("/signin") || path.starts_with("/enroll");
    if page {
        let query = url::form_urlencoded::parse(req.query_string().as_bytes());
        let mut r = None;
        for (k, v) in query {
            match &*k {
                "ui_locales" => {
                    if let Some(l) = from_ui_locales(&v) {
                        return l;
                    }
                }
                "r" if !v.is_empty() => r = Some(v.into_owned()),
                _ => {}
            }
        }
        if let (Some(r), Some(state)) = (r, req.app_data::<web::Data<AppState>>())
            && let Ok(pending) = state.authorize.pending(&r).await
        {
            let locale = pending.ui_locales.as_deref().and_then(from_ui_locales);
            req.extensions_mut().insert(ReadRequest {
                id: r,
                request: Arc::new(pending),
            });
            if let Some(l) = locale {
                return l;
            }
        }
    }
    req.headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(from_accept_language)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_english_message_is_in_german() {
        let german = message_ids(SOURCES[1].1);
        let missing: Vec<_> = message_ids(SOURCES[0].1)
            .into_iter()
            .filter(|id| !german.contains(id))
            .collect();
        assert!(missing.is_empty(), "missing in de: {missing:?}");
    }

    #[test]
    fn discovery_advertises_every_locale() {
        for (locale, _) in SOURCES {
            assert!(SUPPORTED.contains(&locale.tag()), "{locale:?}");
        }
        assert_eq!(SUPPORTED.len(), SOURCES.len());
    }

    #[test]
    fn locale_files_parse_without_errors() {
        for (locale, source) in SOURCES {
            assert!(
                FluentResource::try_new(source.to_owned()).is_ok(),
                "{locale:?} has syntax errors"
            );
        }
    }

    #[test]
    fn ui_locales_first_supported_wins() {
        assert_eq!(from_ui_locales("fr-CA de en"), Some(Locale::De));
        assert_eq!(from_ui_locales("en-GB de"), Some(Locale::En));
        assert_eq!(from_ui_locales("fr ja"), None);
        assert_eq!(from_ui_locales(""), None);
    }

    #[test]
    fn accept_language_by_q_value() {
        assert_eq!(
            from_accept_language("de-DE,de;q=0.9,en;q=0.8"),
            Some(Locale::De)
        );
        assert_eq!(from_accept_language("en;q=0.5, de;q=0.7"), Some(Locale::De));
        assert_eq!(from_accept_language("fr, en;q=0.1"), Some(Locale::En));
        assert_eq!(from_accept_language("de;q=0, en;q=0.2"), Some(Locale::En));
        assert_eq!(from_accept_language("fr"), None);
        assert_eq!(from_accept_language("de;q=abc"), None);
    }

    #[tokio::test]
    async fn unknown_ids_show_as_is_and_text_translates() {
        CURRENT
            .scope(Locale::De, async {
                assert_eq!(t("no-such-message"), "no-such-message");
                assert_eq!(lookup(Locale::De, "signin-title", None), "Anmelden");
                assert_eq!(text("This sign-in has expired"), t("error-signin-expired"));
                assert_eq!(text("Not in the catalogue."), "Not in the catalogue.");
                assert_eq!(lang(), "de");
            })
            .await;
        assert_eq!(lang(), "en");
    }
}
