//! Times on pages (ARCHITECTURE.md, "Pages"): the markup carries UTC, and
//! `static/js/time.js` shows it in the reader's own zone and language.
//!
//! The contract, shared by every page family (the portal too):
//! `<time datetime="2026-11-25T14:03:00Z" data-local>2026-11-25 14:03 UTC</time>`.
//! `datetime` is RFC 3339 in UTC; the text is what a browser without
//! script shows; `data-local` asks the script to rewrite the text
//! (`data-local="date"` for the date alone).

use std::fmt;

use askama::filters::HtmlSafe;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A moment, written into a page as `<time>` markup (askama does not
/// escape it: all of it is digits and fixed text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime(pub OffsetDateTime);

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let utc = self
            .0
            .to_offset(time::UtcOffset::UTC)
            .replace_nanosecond(0)
            .unwrap_or(self.0);
        let iso = utc.format(&Rfc3339).map_err(|_| fmt::Error)?;
        write!(
            f,
            "<time datetime=\"{iso}\" data-local>{} UTC</time>",
            crate::web::pages::minute(utc)
        )
    }
}

impl HtmlSafe for LocalTime {}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn markup_is_utc_with_a_readable_fallback() {
        let t = LocalTime(datetime!(2026-11-25 15:03:27.5 +01:00));
        assert_eq!(
            t.to_string(),
            "<time datetime=\"2026-11-25T14:03:27Z\" data-local>2026-11-25 14:03 UTC</time>"
        );
    }

    #[test]
    fn askama_does_not_escape_it() {
        #[derive(askama::Template)]
        #[template(source = "<p>{{ t }}</p>", ext = "html")]
        struct P {
            t: LocalTime,
        }
        let html = askama::Template::render(&P {
            t: LocalTime(datetime!(2026-01-02 03:04 UTC)),
        })
        .unwrap();
        assert!(
            html.starts_with("<p><time datetime=\"2026-01-02T03:04:00Z\""),
            "{html}"
        );
    }
}
