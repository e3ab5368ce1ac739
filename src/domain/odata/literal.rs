//! Literal values of `$filter`: how they are recognised and written back.

use std::fmt;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use uuid::Uuid;

/// A constant in a filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    /// `'text'`; a quote inside is written `''`.
    Str(String),
    /// An unquoted DateTimeOffset such as `2026-12-01T08:00:00Z`.
    DateTime(OffsetDateTime),
    /// An unquoted GUID such as `184efa21-98c3-4e5d-95ab-d07053a96e67`.
    Guid(Uuid),
}

impl Literal {
    /// The text of a string literal (`None` for every other kind).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// How messages name the kind of this literal.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a Boolean",
            Self::Int(_) => "an integer",
            Self::Str(_) => "a string",
            Self::DateTime(_) => "a DateTimeOffset",
            Self::Guid(_) => "a GUID",
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(true) => f.write_str("true"),
            Self::Bool(false) => f.write_str("false"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Str(s) => write_quoted(f, s),
            Self::DateTime(dt) => write_datetime(f, *dt),
            Self::Guid(g) => write!(f, "{}", g.hyphenated()),
        }
    }
}

/// `'text'` with every `'` doubled.
pub(crate) fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("'")?;
    let mut rest = s;
    while let Some(i) = rest.find('\'') {
        f.write_str(&rest[..=i])?;
        f.write_str("'")?;
        rest = &rest[i + 1..];
    }
    f.write_str(rest)?;
    f.write_str("'")
}

/// Why an unquoted word is not a literal (the parser adds the position).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WordError {
    IntRange,
    BadDateTime,
    DateOnly,
    NotALiteral,
}

/// Classifies an unquoted word in value position: `true`, `false`, `null`
/// (any case), an integer, a GUID or a DateTimeOffset.
pub(crate) fn classify_word(word: &str) -> Result<Literal, WordError> {
    if word.eq_ignore_ascii_case("null") {
        return Ok(Literal::Null);
    }
    if word.eq_ignore_ascii_case("true") {
        return Ok(Literal::Bool(true));
    }
    if word.eq_ignore_ascii_case("false") {
        return Ok(Literal::Bool(false));
    }
    let digits = word.strip_prefix('-').unwrap_or(word);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return word
            .parse()
            .map(Literal::Int)
            .map_err(|_| WordError::IntRange);
    }
    if let Some(g) = parse_guid(word) {
        return Ok(Literal::Guid(g));
    }
    let b = word.as_bytes();
    let looks_dated = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit);
    if looks_dated {
        if b.len() == 10 {
            return Err(WordError::DateOnly);
        }
        return parse_datetime(word)
            .map(Literal::DateTime)
            .ok_or(WordError::BadDateTime);
    }
    Err(WordError::NotALiteral)
}

/// A GUID in its 8-4-4-4-12 hex form only (not braced, URN or plain hex).
pub(crate) fn parse_guid(s: &str) -> Option<Uuid> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let shape_ok = b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    });
    if !shape_ok {
        return None;
    }
    Uuid::try_parse(s).ok()
}

/// OData's dateTimeOffsetValue: `YYYY-MM-DDThh:mm[:ss[.fffffffff]]` then `Z`
/// or `±hh:mm`. `T` and `Z` in either case.
pub(crate) fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let part = b.get(from..from + len)?;
        part.iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let year = num(0, 4)?;
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    if !matches!(b.get(10), Some(b'T' | b't')) {
        return None;
    }
    let hour = num(11, 2)?;
    if b.get(13) != Some(&b':') {
        return None;
    }
    let minute = num(14, 2)?;
    let mut i = 16;
    let mut second = 0;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b':') {
        second = num(i + 1, 2)?;
        i += 3;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let len = i - start;
            if len == 0 || len > 9 {
                return None;
            }
            nanos = num(start, len)? * 10u32.pow(9 - len as u32);
        }
    }
    let offset = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => UtcOffset::UTC,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = num(i + 1, 2)?;
            let om = num(i + 4, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let (oh, om) = (oh as i8, om as i8);
            if *sign == b'-' {
                UtcOffset::from_hms(-oh, -om, 0).ok()?
            } else {
                UtcOffset::from_hms(oh, om, 0).ok()?
            }
        }
        _ => return None,
    };
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    let time = Time::from_hms_nano(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        nanos,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

/// The canonical form: seconds always, fraction trimmed, `Z` for UTC.
pub(crate) fn write_datetime(f: &mut fmt::Formatter<'_>, dt: OffsetDateTime) -> fmt::Result {
    let year = dt.year();
    if !(0..=9999).contains(&year) {
        return Err(fmt::Error);
    }
    write!(
        f,
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )?;
    let nanos = dt.nanosecond();
    if nanos != 0 {
        let mut digits = format!("{nanos:09}");
        while digits.ends_with('0') {
            digits.pop();
        }
        write!(f, ".{digits}")?;
    }
    let offset = dt.offset();
    if offset.is_utc() {
        return f.write_str("Z");
    }
    let (h, m, s) = offset.as_hms();
    if s != 0 {
        return Err(fmt::Error);
    }
    let sign = if offset.is_negative() { '-' } else { '+' };
    write!(f, "{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn words_are_classified() {
        let cases: &[(&str, Literal)] = &[
            ("null", Literal::Null),
            ("NULL", Literal::Null),
            ("true", Literal::Bool(true)),
            ("False", Literal::Bool(false)),
            ("0", Literal::Int(0)),
            ("-42", Literal::Int(-42)),
            ("9223372036854775807", Literal::Int(i64::MAX)),
            ("-9223372036854775808", Literal::Int(i64::MIN)),
            (
                "2026-12-01T08:00:00Z",
                Literal::DateTime(datetime!(2026-12-01 08:00:00 UTC)),
            ),
            (
                "2026-12-01t08:00z",
                Literal::DateTime(datetime!(2026-12-01 08:00:00 UTC)),
            ),
            (
                "2026-12-01T08:00:00.5+02:00",
                Literal::DateTime(datetime!(2026-12-01 08:00:00.5 +02:00)),
            ),
            (
                "2026-12-01T08:00:00.123456789-05:30",
                Literal::DateTime(datetime!(2026-12-01 08:00:00.123456789 -05:30)),
            ),
        ];
        for (word, want) in cases {
            assert_eq!(classify_word(word).as_ref(), Ok(want), "{word}");
        }
        let g = classify_word("184EFA21-98c3-4e5d-95ab-d07053a96e67");
        assert!(matches!(g, Ok(Literal::Guid(_))));
    }

    #[test]
    fn bad_words_are_refused() {
        let cases: &[(&str, WordError)] = &[
            ("9223372036854775808", WordError::IntRange),
            ("2026-12-01", WordError::DateOnly),
            ("2026-13-01T00:00:00Z", WordError::BadDateTime),
            ("2026-02-30T00:00:00Z", WordError::BadDateTime),
            ("2026-12-01T24:00:00Z", WordError::BadDateTime),
            ("2026-12-01T08:00:00", WordError::BadDateTime),
            ("2026-12-01T08:00:00.Z", WordError::BadDateTime),
            ("2026-12-01T08:00:00.1234567890Z", WordError::BadDateTime),
            ("2026-12-01T08:00:00+24:00", WordError::BadDateTime),
            ("2026-12-01T08:00:00+0200", WordError::BadDateTime),
            ("2026-12-01T08:00:00Zjunk", WordError::BadDateTime),
            ("1.5", WordError::NotALiteral),
            ("Member", WordError::NotALiteral),
            ("-", WordError::NotALiteral),
            (
                "{184efa21-98c3-4e5d-95ab-d07053a96e67}",
                WordError::NotALiteral,
            ),
            ("184efa2198c34e5d95abd07053a96e67", WordError::NotALiteral),
        ];
        for (word, want) in cases {
            assert_eq!(classify_word(word).as_ref(), Err(want), "{word}");
        }
    }

    #[test]
    fn literals_print_canonically() {
        let show = |l: Literal| l.to_string();
        assert_eq!(show(Literal::Str("it's".into())), "'it''s'");
        assert_eq!(show(Literal::Str("''".into())), "''''''");
        assert_eq!(
            show(Literal::DateTime(datetime!(2026-12-01 08:00:00 UTC))),
            "2026-12-01T08:00:00Z"
        );
        assert_eq!(
            show(Literal::DateTime(datetime!(2026-12-01 08:00:00.120 -05:30))),
            "2026-12-01T08:00:00.12-05:30"
        );
        assert_eq!(show(Literal::Int(-7)), "-7");
    }
}
