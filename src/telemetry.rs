//! Logging: text for people, JSON for log shippers; written off the
//! request path by a background writer.
//!
//! In JSON mode every line is one object: `timestamp`, `level`, `target`,
//! the event's fields (with `message`) and the request's span. An audit
//! event (target `audit`) carries the event itself as a nested object in
//! `event`, so a log shipper reads it without parsing a string inside JSON.

use std::fmt;
use std::io::IsTerminal;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber. Keep the guard alive for the process
/// lifetime: dropping it flushes buffered lines.
pub fn init(settings: &LogSettings) -> Option<WorkerGuard> {
    let (writer, guard) = tracing_appender::non_blocking(std::io::stdout());
    let filter = EnvFilter::try_new(&settings.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let installed = match settings.format {
        LogFormat::Json => builder
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines)
            .try_init(),
        // Colours only for a person at a terminal, not in a file or a pipe.
        LogFormat::Text => builder
            .with_ansi(std::io::stdout().is_terminal())
            .try_init(),
    };
    installed.ok().map(|()| guard)
}

/// One JSON object per event.
struct JsonLines;

/// Collects an event's (or a span's) fields as JSON values.
struct Fields<'a> {
    map: &'a mut Map<String, Value>,
    /// Fields whose text is JSON to nest (the audit event).
    nested: &'a [&'a str],
}

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let v = if self.nested.contains(&field.name()) {
            serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()))
        } else {
            Value::String(value.to_owned())
        };
        self.map.insert(field.name().to_owned(), v);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.map.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.map.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.map.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.map.insert(field.name().to_owned(), Value::from(value));
    }
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert("timestamp".into(), Value::String(now_rfc3339()));
        line.insert("level".into(), Value::String(meta.level().to_string()));
        line.insert("target".into(), Value::String(meta.target().to_owned()));
        let nested: &[&str] = if meta.target() == "audit" {
            &["event"]
        } else {
            &[]
        };
        event.record(&mut Fields {
            map: &mut line,
            nested,
        });
        if let Some(scope) = ctx.event_scope() {
            let mut span = Map::new();
            for s in scope.from_root() {
                // Span fields, formatted as a JSON object by `JsonFields`.
                if let Some(fields) = s.extensions().get::<FormattedFields<N>>()
                    && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(fields)
                {
                    span.extend(map);
                }
                span.insert("name".into(), Value::String(s.name().to_owned()));
            }
            if !span.is_empty() {
                line.insert("span".into(), Value::Object(span));
            }
        }
        let text = serde_json::to_string(&Value::Object(line)).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// The wall clock, for log lines only (services take the injected clock).
#[allow(clippy::disallowed_methods)]
fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
