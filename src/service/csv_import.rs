//! CSV import of users (the portal's upload): a preview that checks every
//! row and writes nothing, kept for its uploader for a while; a commit
//! that creates each good row through [`AdminService::create_user`] (the
//! API's validation and its `user.created` event, one per user); a report
//! of what became of every row. Rows are independent: one that fails
//! stops no other. A user name already in the directory fails its row
//! (an import creates, it never updates).

use std::collections::HashMap;

use futures_util::{StreamExt, TryStreamExt, stream};

use super::Caller;
use super::admin::AdminService;
use crate::crypto::random;
use crate::domain::DomainError;
use crate::domain::csv_import::{
    self, ImportPreview, ImportReport, ManagerRef, PreviewRow, ReportRow, RowCheck, RowOutcome,
};
use crate::domain::roles::AdminAction;
use crate::store::records::{Record, Records};

/// Lookups in flight at once (the preview): enough to fill Redis's
/// pipeline.
const IN_FLIGHT: usize = 32;
/// Writes in flight at once (the commit): as many as the embedded store
/// puts in one durable commit (its writer's batch), so that 10,000 users
/// and 5,000 managers cost some 60 fsyncs, not 15,000; Redis pipelines
/// them.
const WRITES_IN_FLIGHT: usize = 256;

fn preview_key(id: &str) -> String {
    format!("p-{id}")
}

fn report_key(id: &str) -> String {
    format!("r-{id}")
}

/// An import id names a record only if it could be one this server made.
fn checked_id(id: &str) -> Result<&str, DomainError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(id)
    } else {
        Err(DomainError::NotFound("import"))
    }
}

impl AdminService {
    /// Reads and checks a file without writing any user; keeps the result
    /// for [`Self::commit_import`] and returns its id.
    pub async fn preview_import(
        &self,
        caller: &Caller,
        file: Vec<u8>,
    ) -> Result<(String, ImportPreview), DomainError> {
        caller.authorize(AdminAction::ManageUsers, None)?;
        let now = self.now_utc();
        // Parsing and checking 10,000 rows takes some milliseconds of CPU.
        let (rows, mut checks) = super::blocking(move || {
            csv_import::read(&file).map(|rows| {
                let checks = csv_import::check(&rows, now);
                (rows, checks)
            })
        })
        .await??;
        self.check_directory(&rows, &mut checks).await?;
        let preview = ImportPreview {
            owner: caller.actor.id.clone(),
            rows: rows
                .into_iter()
                .zip(checks)
                .map(|(row, c)| PreviewRow {
                    row,
                    errors: c.errors,
                })
                .collect(),
        };
        let id = random::token::<16>(&*self.ctx.rng)?;
        self.ctx
            .store
            .put_fixed(&preview_key(&id), &preview, now)
            .await?;
        Ok((id, preview))
    }

    /// The directory's part of the check: user names that are taken and
    /// managers who are neither in the file nor in the directory.
    async fn check_directory(
        &self,
        rows: &[csv_import::CsvRow],
        checks: &mut [RowCheck],
    ) -> Result<(), DomainError> {
        let store = &self.ctx.store;
        let taken: Vec<bool> = stream::iter(checks.iter().map(|c| c.upn_key.clone()))
            .map(|key| async move {
                match key {
                    Some(k) => store.find_user_by_upn(&k).await.map(|u| u.is_some()),
                    None => Ok(false),
                }
            })
            .buffered(IN_FLIGHT)
            .try_collect()
            .await?;
        let mut wanted: Vec<String> = checks
            .iter()
            .filter_map(|c| match &c.manager {
                ManagerRef::Directory(k) => Some(k.clone()),
                _ => None,
            })
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let found: HashMap<String, bool> = stream::iter(wanted)
            .map(|key| async move {
                let exists = store.find_user_by_upn(&key).await?.is_some();
                Ok::<_, crate::store::StoreError>((key, exists))
            })
            .buffered(IN_FLIGHT)
            .try_collect()
            .await?;
        for (i, c) in checks.iter_mut().enumerate() {
            if taken[i] {
                c.errors.push(format!(
                    "userPrincipalName: a user named {} already exists (an import only creates users)",
                    rows[i].upn.trim()
                ));
            }
            if let ManagerRef::Directory(k) = &c.manager
                && found.get(k) != Some(&true)
            {
                c.errors.push(format!(
                    "manager: there is no user {} in the directory or in this file",
                    rows[i].manager.as_deref().unwrap_or_default().trim()
                ));
            }
        }
        // A manager in the file whose row is taken cannot be linked either.
        for c in checks.iter_mut() {
            if let ManagerRef::InFile(j) = c.manager
                && taken[j]
            {
                c.errors.push(format!(
                    "manager: {} is on line {}, which cannot be imported",
                    rows[j].upn.trim(),
                    rows[j].line
                ));
            }
        }
        Ok(())
    }

    /// A preview kept for `caller` (nobody else sees it).
    pub async fn import_preview(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<ImportPreview, DomainError> {
        self.owned(
            caller,
            preview_key(checked_id(id)?),
            |p: &ImportPreview| &p.owner,
            "import",
        )
        .await
    }

    /// Creates every good row of the preview `id` (once: the preview is
    /// used up), then links managers; keeps and returns the report.
    pub async fn commit_import(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<ImportReport, DomainError> {
        self.import_preview(caller, id).await?;
        let key = preview_key(id);
        let Some(preview) = self
            .ctx
            .store
            .take_record::<ImportPreview>(&key, self.now_utc())
            .await?
        else {
            // Committed by a concurrent request meanwhile.
            return Err(DomainError::NotFound("import"));
        };
        let now = self.now_utc();
        let checks = csv_import::check(
            &preview
                .rows
                .iter()
                .map(|r| r.row.clone())
                .collect::<Vec<_>>(),
            now,
        );
        let mut outcomes: Vec<RowOutcome> = stream::iter(preview.rows.iter())
            .map(|r| async move {
                if !r.errors.is_empty() {
                    return RowOutcome::Failed {
                        error: r.errors.join("; "),
                    };
                }
                let created = match r.row.new_user() {
                    Ok(new) => self.create_user(caller, new).await,
                    Err(e) => Err(e),
                };
                match created {
                    Ok(user) => RowOutcome::Created { id: user.id },
                    Err(e) => RowOutcome::Failed {
                        error: row_error(&e),
                    },
                }
            })
            .buffered(WRITES_IN_FLIGHT)
            .collect()
            .await;
        let links: Vec<(usize, String, String)> = checks
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let RowOutcome::Created { id } = &outcomes[i] else {
                    return None;
                };
                let manager = match &c.manager {
                    ManagerRef::None => return None,
                    ManagerRef::InFile(j) => match &outcomes[*j] {
                        RowOutcome::Created { id } => id.clone(),
                        _ => preview.rows[*j].row.upn.trim().to_owned(),
                    },
                    ManagerRef::Directory(k) => k.clone(),
                };
                Some((i, id.clone(), manager))
            })
            .collect();
        let linked: Vec<(usize, Result<(), DomainError>)> = stream::iter(links)
            .map(|(i, user, manager)| async move {
                let done = self.set_manager(caller, &user, &manager).await.map(|_| ());
                (i, done)
            })
            .buffered(WRITES_IN_FLIGHT)
            .collect()
            .await;
        for (i, done) in linked {
            if let Err(e) = done
                && let RowOutcome::Created { id } = &outcomes[i]
            {
                outcomes[i] = RowOutcome::CreatedWithoutManager {
                    id: id.clone(),
                    error: format!("created, but the manager was not set: {}", row_error(&e)),
                };
            }
        }
        let report = ImportReport {
            owner: preview.owner,
            rows: preview
                .rows
                .into_iter()
                .zip(outcomes)
                .map(|(r, outcome)| ReportRow {
                    line: r.row.line,
                    upn: r.row.upn.trim().to_owned(),
                    outcome,
                })
                .collect(),
        };
        self.ctx
            .store
            .put_fixed(&report_key(id), &report, self.now_utc())
            .await?;
        Ok(report)
    }

    /// The report of the import `id`, for the administrator who made it.
    pub async fn import_report(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<ImportReport, DomainError> {
        self.owned(
            caller,
            report_key(checked_id(id)?),
            |r: &ImportReport| &r.owner,
            "import report",
        )
        .await
    }

    /// A record of this import kept for `caller`: another administrator
    /// is told it does not exist.
    async fn owned<R: Record>(
        &self,
        caller: &Caller,
        key: String,
        owner: impl Fn(&R) -> &str,
        what: &'static str,
    ) -> Result<R, DomainError> {
        caller.authorize(AdminAction::ManageUsers, None)?;
        let found: Option<R> = self.ctx.store.get_record(&key, self.now_utc()).await?;
        found
            .filter(|r| owner(r) == caller.actor.id)
            .ok_or(DomainError::NotFound(what))
    }

    fn now_utc(&self) -> time::OffsetDateTime {
        self.ctx.clock.now()
    }
}

/// A row's failure in the report's words (a taken name is said as Graph
/// says it, with the column in front).
fn row_error(e: &DomainError) -> String {
    match e {
        DomainError::Conflict(m) => format!("userPrincipalName: {m}"),
        DomainError::NotFound("manager") => "manager: no such user".into(),
        other => other.to_string(),
    }
}
