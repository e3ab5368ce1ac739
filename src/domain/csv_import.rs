//! Importing users from a CSV file: the file's shape (RFC 4180 with a
//! header row naming documented columns) and the checks that need only the
//! file. Each row is checked as the admin API checks a new user
//! ([`NewUser::into_user`]); the directory's part (taken user names,
//! managers outside the file) is the service's. Pure: no I/O.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use super::DomainError;
use super::user::{NewUser, Upn};

/// Most data rows in one file.
pub const MAX_ROWS: usize = 10_000;
/// Largest file accepted, in bytes (10,000 rows of about 400 bytes).
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// The columns a file may have; names are Graph's user properties and are
/// matched ignoring case. `manager` is the manager's user name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Upn,
    DisplayName,
    Mail,
    Manager,
    HireDate,
    Department,
    JobTitle,
    EmployeeId,
}

impl Column {
    pub const ALL: [Column; 8] = [
        Column::Upn,
        Column::DisplayName,
        Column::Mail,
        Column::Manager,
        Column::HireDate,
        Column::Department,
        Column::JobTitle,
        Column::EmployeeId,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Column::Upn => "userPrincipalName",
            Column::DisplayName => "displayName",
            Column::Mail => "mail",
            Column::Manager => "manager",
            Column::HireDate => "employeeHireDate",
            Column::Department => "department",
            Column::JobTitle => "jobTitle",
            Column::EmployeeId => "employeeId",
        }
    }

    const fn required(self) -> bool {
        matches!(self, Column::Upn | Column::DisplayName)
    }

    fn parse(header: &str) -> Option<Self> {
        let h = header.trim();
        Self::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(h))
    }
}

/// The documented columns, for messages: `userPrincipalName, displayName, …`.
pub fn column_list() -> String {
    Column::ALL.map(Column::name).join(", ")
}

/// One data row as read from the file (values as given, not yet checked).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvRow {
    /// The file line the row starts on (the header is line 1).
    pub line: u64,
    pub upn: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub manager: Option<String>,
    pub hire_date: Option<String>,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub employee_id: Option<String>,
    /// The row has another number of fields than the header.
    pub fields_mismatch: Option<(usize, usize)>,
}

fn file_error(message: impl Into<std::borrow::Cow<'static, str>>) -> DomainError {
    DomainError::invalid("file", message)
}

/// Reads a whole file. Errors here concern the file as a whole (no header,
/// an unknown or missing column, too many rows, not UTF-8, broken
/// quoting); a row's own problems are found by [`check`].
pub fn read(bytes: &[u8]) -> Result<Vec<CsvRow>, DomainError> {
    if bytes.len() > MAX_BYTES {
        return Err(file_error(format!(
            "is larger than {} MiB; split it into smaller files",
            MAX_BYTES / (1024 * 1024)
        )));
    }
    // Spreadsheet programs start UTF-8 exports with a byte order mark.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let headers = reader.headers().map_err(read_error)?.clone();
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(file_error(format!(
            "has no header row; the first line must name the columns ({})",
            column_list()
        )));
    }
    let mut columns: Vec<Column> = Vec::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        let Some(c) = Column::parse(h) else {
            return Err(file_error(format!(
                "column {} is named \"{}\", which is not one of {}",
                i + 1,
                h.trim(),
                column_list()
            )));
        };
        if columns.contains(&c) {
            return Err(file_error(format!("the column {} appears twice", c.name())));
        }
        columns.push(c);
    }
    if let Some(missing) = Column::ALL
        .into_iter()
        .find(|c| c.required() && !columns.contains(c))
    {
        return Err(file_error(format!(
            "has no column {}, which is required",
            missing.name()
        )));
    }
    let mut rows = Vec::new();
    // The line a record starts on, counted from its byte offset (the
    // reader's own line count is off by one after CRLF line ends).
    let (mut counted_to, mut line) = (0usize, 1u64);
    let mut records = csv::StringRecord::new();
    while reader.read_record(&mut records).map_err(read_error)? {
        let record = &records;
        if rows.len() == MAX_ROWS {
            return Err(file_error(format!(
                "has more than {MAX_ROWS} rows; split it into smaller files"
            )));
        }
        let mut start = record
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .unwrap_or(counted_to)
            .clamp(counted_to, bytes.len());
        // A record never starts with a line end (empty lines are skipped);
        // the reader may place it before the previous one's `\n`.
        while bytes.get(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            start += 1;
        }
        line += newlines(&bytes[counted_to..start]);
        counted_to = start;
        let mut row = CsvRow {
            line,
            ..CsvRow::default()
        };
        if record.len() != columns.len() {
            row.fields_mismatch = Some((record.len(), columns.len()));
        }
        for (c, value) in columns.iter().zip(record.iter()) {
            let v = value.to_owned();
            let optional = Some(v.clone()).filter(|v| !v.trim().is_empty());
            match c {
                Column::Upn => row.upn = v,
                Column::DisplayName => row.display_name = v,
                Column::Mail => row.mail = optional,
                Column::Manager => row.manager = optional,
                Column::HireDate => row.hire_date = optional,
                Column::Department => row.department = optional,
                Column::JobTitle => row.job_title = optional,
                Column::EmployeeId => row.employee_id = optional,
            }
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(file_error("has a header row but no rows of users"));
    }
    Ok(rows)
}

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

fn read_error(e: csv::Error) -> DomainError {
    let line = e.position().map(|p| p.line());
    let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => {
            file_error(format!("is not UTF-8 text{at}; save it as \"CSV UTF-8\""))
        }
        _ => file_error(format!("cannot be read as CSV{at}: {e}")),
    }
}

/// `employeeHireDate`: a date (`2026-03-01`, midnight UTC) or an RFC 3339
/// date and time.
fn hire_date(value: &str) -> Result<OffsetDateTime, DomainError> {
    let v = value.trim();
    if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        return Ok(t);
    }
    Date::parse(v, format_description!("[year]-[month]-[day]"))
        .map(|d| d.midnight().assume_utc())
        .map_err(|_| {
            DomainError::invalid(
                Column::HireDate.name(),
                "must be a date such as 2026-03-01, or a date and time such as 2026-03-01T09:00:00Z",
            )
        })
}

impl CsvRow {
    /// The user this row asks for, in the admin API's terms (checked by
    /// [`NewUser::into_user`], the one validation of new users).
    pub fn new_user(&self) -> Result<NewUser, DomainError> {
        Ok(NewUser {
            upn: self.upn.clone(),
            display_name: self.display_name.clone(),
            mail: self.mail.clone(),
            employee_hire_date: self.hire_date.as_deref().map(hire_date).transpose()?,
            department: self.department.clone(),
            job_title: self.job_title.clone(),
            employee_id: self.employee_id.clone(),
            ..NewUser::default()
        })
    }

    /// The case-insensitive key of the row's user name, if it is one.
    fn upn_key(&self) -> Option<String> {
        Upn::parse(&self.upn).ok().map(|u| u.key())
    }
}

/// Whom a row names as manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManagerRef {
    None,
    /// Another row of the file (its index).
    InFile(usize),
    /// Someone who must already be in the directory (UPN key).
    Directory(String),
}

/// What the file alone says about one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowCheck {
    /// Each problem in plain words, naming its column.
    pub errors: Vec<String>,
    pub manager: ManagerRef,
    /// The row's UPN key when it is well formed (for the directory check).
    pub upn_key: Option<String>,
}

/// Checks every row on its own and against the others: the user fields as
/// the API checks them, user names repeated in the file, managers. A
/// manager may be a row of the same file (created first, then linked).
pub fn check(rows: &[CsvRow], now: OffsetDateTime) -> Vec<RowCheck> {
    let mut first_line: HashMap<String, (usize, u64)> = HashMap::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        if let Some(k) = r.upn_key() {
            first_line.entry(k).or_insert((i, r.line));
        }
    }
    let mut checks: Vec<RowCheck> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut errors = Vec::new();
            if let Some((got, want)) = r.fields_mismatch {
                errors.push(format!(
                    "the row has {got} fields, the header {want}: check its commas and quotes"
                ));
            }
            match r
                .new_user()
                .and_then(|n| n.into_user(String::new(), now).map(|_| ()))
            {
                Ok(()) => {}
                Err(e) => errors.push(e.to_string()),
            }
            let upn_key = r.upn_key();
            if let Some(k) = &upn_key
                && let Some(&(first, line)) = first_line.get(k)
                && first != i
            {
                errors.push(format!(
                    "userPrincipalName: {} is also on line {line}; each user once",
                    r.upn.trim()
                ));
            }
            let manager = match r.manager.as_deref().map(str::trim) {
                None => ManagerRef::None,
                Some(m) => match Upn::parse(m) {
                    Err(_) => {
                        errors.push(format!(
                            "manager: {m} is not a user name of the form alias@domain"
                        ));
                        ManagerRef::None
                    }
                    Ok(upn) if upn_key.as_deref() == Some(upn.key().as_str()) => {
                        errors.push("manager: a user cannot be their own manager".into());
                        ManagerRef::None
                    }
                    Ok(upn) => match first_line.get(&upn.key()) {
                        Some(&(j, _)) => ManagerRef::InFile(j),
                        None => ManagerRef::Directory(upn.key()),
                    },
                },
            };
            RowCheck {
                errors,
                manager,
                upn_key,
            }
        })
        .collect();
    // A manager in the file must be a row that will be created.
    for i in 0..checks.len() {
        if let ManagerRef::InFile(j) = checks[i].manager
            && !checks[j].errors.is_empty()
        {
            let line = rows[j].line;
            checks[i].errors.push(format!(
                "manager: {} is on line {line}, which cannot be imported",
                rows[j].upn.trim()
            ));
        }
    }
    checks
}

/// A file read and checked, kept between the preview and the commit
/// (`store::records`), for the administrator who uploaded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPreview {
    /// The uploader's actor id: nobody else commits it.
    pub owner: String,
    pub rows: Vec<PreviewRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewRow {
    pub row: CsvRow,
    /// Empty: the row will be imported.
    pub errors: Vec<String>,
}

impl ImportPreview {
    pub fn good(&self) -> usize {
        self.rows.iter().filter(|r| r.errors.is_empty()).count()
    }
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowOutcome {
    Created {
        id: String,
    },
    /// Created, but its manager could not be set.
    CreatedWithoutManager {
        id: String,
        error: String,
    },
    Failed {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    pub line: u64,
    pub upn: String,
    pub outcome: RowOutcome,
}

/// The result of a commit, downloadable as CSV for a while.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub owner: String,
    pub rows: Vec<ReportRow>,
}

impl ImportReport {
    pub fn created(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| !matches!(r.outcome, RowOutcome::Failed { .. }))
            .count()
    }

    /// The report as CSV: `line,userPrincipalName,outcome,id,error`.
    pub fn to_csv(&self) -> Result<Vec<u8>, DomainError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let failed = |e: csv::Error| DomainError::Internal(format!("report CSV: {e}"));
        w.write_record(["line", "userPrincipalName", "outcome", "id", "error"])
            .map_err(failed)?;
        for r in &self.rows {
            let line = r.line.to_string();
            let (outcome, id, error) = match &r.outcome {
                RowOutcome::Created { id } => ("created", id.as_str(), ""),
                RowOutcome::CreatedWithoutManager { id, error } => {
                    ("created", id.as_str(), error.as_str())
                }
                RowOutcome::Failed { error } => ("failed", "", error.as_str()),
            };
            w.write_record([line.as_str(), spreadsheet_safe(&r.upn), outcome, id, error])
                .map_err(failed)?;
        }
        w.into_inner()
            .map_err(|e| DomainError::Internal(format!("report CSV: {e}")))
    }
}

/// A value a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first)
/// is not written into a CSV download as given: reports echo text that
/// came from outside (uploads, names set through the API).
pub fn spreadsheet_safe(v: &str) -> &str {
    if v.starts_with(['=', '+', '-', '@']) {
        "(not shown: starts like a formula)"
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-12-01 12:00 UTC)
    }

    #[test]
    fn reads_quoted_fields_a_bom_and_columns_in_any_case_and_order() {
        let file = "\u{feff}DISPLAYNAME,userprincipalname,Manager,employeeHireDate\r\n\
                    \"Doe, Jane\",jane@example.com,,2027-01-04\r\n\
                    \"Line\nbreak\",max@example.com,jane@example.com,\r\n\
                    Third,third@example.com,,\r\n";
        let rows = read(file.as_bytes()).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2].line, 5, "after a line break inside quotes");
        assert_eq!(rows[1].line, 3);
        assert_eq!(rows[0].display_name, "Doe, Jane");
        assert_eq!(rows[0].upn, "jane@example.com");
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[1].display_name, "Line\nbreak");
        assert_eq!(rows[1].manager.as_deref(), Some("jane@example.com"));
        let checks = check(&rows, now());
        assert!(checks[0].errors.is_empty(), "{:?}", checks[0]);
        // Line breaks are control characters, refused as by the API.
        assert!(
            checks[1].errors[0].starts_with("displayName:"),
            "{:?}",
            checks[1]
        );
        assert_eq!(checks[1].manager, ManagerRef::InFile(0));
        let user = rows[0]
            .new_user()
            .unwrap()
            .into_user("x".into(), now())
            .unwrap();
        assert_eq!(
            user.employee_hire_date,
            Some(time::macros::datetime!(2027-01-04 0:00 UTC))
        );
    }

    #[test]
    fn an_unknown_or_missing_column_is_named() {
        let e = read(b"userPrincipalName,displayName,password\na@b.c,A,x\n").unwrap_err();
        assert!(e.to_string().contains("\"password\""), "{e}");
        let e = read(b"userPrincipalName,mail\na@b.c,a@b.c\n").unwrap_err();
        assert!(e.to_string().contains("no column displayName"), "{e}");
        let e = read(b"userPrincipalName,displayName,Mail,mail\n").unwrap_err();
        assert!(e.to_string().contains("mail appears twice"), "{e}");
        let e = read(b"userPrincipalName,displayName\n").unwrap_err();
        assert!(e.to_string().contains("no rows"), "{e}");
        let e = read(b"userPrincipalName,displayName\n\xff@b.c,x\n").unwrap_err();
        assert!(e.to_string().contains("UTF-8"), "{e}");
    }

    #[test]
    fn row_count_and_size_are_bounded() {
        let mut file = String::from("userPrincipalName,displayName\n");
        for i in 0..=MAX_ROWS {
            file.push_str(&format!("u{i}@example.com,U\n"));
        }
        let e = read(file.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("more than 10000 rows"), "{e}");
        let big = vec![b'a'; MAX_BYTES + 1];
        assert!(read(&big).unwrap_err().to_string().contains("larger"));
    }

    #[test]
    fn per_row_errors_name_the_column() {
        let file = "userPrincipalName,displayName,mail,employeeHireDate,manager,employeeId\n\
                    ok@example.com,Ok,,,,\n\
                    not-a-upn,Bad,,,,\n\
                    OK@example.com,Dup,,,,\n\
                    d@example.com,D,nope,,,\n\
                    e@example.com,E,,next week,,\n\
                    f@example.com,F,,,f@example.com,\n\
                    g@example.com,G,,,boss@example.com,\n\
                    h@example.com,H,,,not-a-upn@,\n\
                    i@example.com,I,,,,12345678901234567\n\
                    j@example.com\n";
        let rows = read(file.as_bytes()).unwrap();
        let c = check(&rows, now());
        assert!(c[0].errors.is_empty());
        assert!(
            c[1].errors[0].starts_with("userPrincipalName:"),
            "{:?}",
            c[1]
        );
        assert!(c[2].errors[0].contains("also on line 2"), "{:?}", c[2]);
        assert!(c[3].errors[0].starts_with("mail:"), "{:?}", c[3]);
        assert!(
            c[4].errors[0].starts_with("employeeHireDate:"),
            "{:?}",
            c[4]
        );
        assert!(c[5].errors[0].contains("own manager"), "{:?}", c[5]);
        assert!(c[6].errors.is_empty());
        assert_eq!(
            c[6].manager,
            ManagerRef::Directory("boss@example.com".into())
        );
        assert!(c[7].errors[0].starts_with("manager:"), "{:?}", c[7]);
        assert!(c[8].errors[0].starts_with("employeeId:"), "{:?}", c[8]);
        assert!(c[9].errors[0].contains("has 1 fields"), "{:?}", c[9]);
        assert!(c[9].errors[1].starts_with("displayName:"), "{:?}", c[9]);
    }

    #[test]
    fn a_manager_on_a_bad_row_fails_the_row_that_names_them() {
        let file = "userPrincipalName,displayName,manager\n\
                    boss@example.com,,\n\
                    worker@example.com,W,BOSS@example.com\n";
        let rows = read(file.as_bytes()).unwrap();
        let c = check(&rows, now());
        assert!(!c[0].errors.is_empty());
        assert!(
            c[1].errors[0].contains("line 2, which cannot be imported"),
            "{:?}",
            c[1]
        );
    }

    #[test]
    fn the_report_is_csv_and_never_echoes_a_formula() {
        let report = ImportReport {
            owner: "a".into(),
            rows: vec![
                ReportRow {
                    line: 2,
                    upn: "a@example.com".into(),
                    outcome: RowOutcome::Created { id: "id-1".into() },
                },
                ReportRow {
                    line: 3,
                    upn: "=HYPERLINK(\"x\")".into(),
                    outcome: RowOutcome::Failed {
                        error: "userPrincipalName: must have the form alias@domain".into(),
                    },
                },
            ],
        };
        let csv = String::from_utf8(report.to_csv().unwrap()).unwrap();
        assert_eq!(
            csv,
            "line,userPrincipalName,outcome,id,error\n\
             2,a@example.com,created,id-1,\n\
             3,(not shown: starts like a formula),failed,,userPrincipalName: must have the form alias@domain\n"
        );
        assert_eq!(report.created(), 1);
    }
}
