//! Users and groups found by OData query options (`$filter`, `$search`,
//! `$orderby`, `$count`, `$top`, `$skiptoken`).
//!
//! A filter that names an indexed property with `eq` or `in`
//! (`userPrincipalName`, `mail`, `employeeId`, `id`) is answered from the
//! indexes: a few records are read, whatever the size of the directory.
//! Anything else walks the directory in its own order (users by user
//! name), a batch at a time, until a page is full; an order other than the
//! directory's own collects every match first, up to [`MAX_SORTED`].

use std::cmp::Ordering;

use super::Caller;
use super::admin::{AdminService, MAX_PAGE, decode_cursor, encode_cursor};
use crate::domain::DomainError;
use crate::domain::audit::{ActorKind, AuditEvent, AuditFilter};
use crate::domain::directory_audit::DirectoryAudit;
use crate::domain::group::Group;
use crate::domain::odata::{CmpOp, Expr, Literal, ODataRecord, QueryOptions, schemas};
use crate::domain::roles::AdminAction;
use crate::domain::user::{Upn, User, index_key};

/// Matches sorted in memory for an order other than the directory's own;
/// a query with more is refused (narrow it with `$filter`).
pub const MAX_SORTED: usize = 100_000;
/// Records read per store call while walking the directory.
const BATCH: usize = 500;

/// One page of a query, with the total when `$count=true` asked for it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPage<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
    pub count: Option<u64>,
}

/// Where the next page starts: after a key of the directory's order, or at
/// an offset into a sorted set of matches. An offset token is the offset
/// behind a control character, which no user name or group key holds.
enum Resume {
    After(String),
    Offset(usize),
}

const OFFSET_MARK: char = '\u{1}';

fn resume(token: Option<&str>) -> Result<Option<Resume>, DomainError> {
    let Some(token) = token else {
        return Ok(None);
    };
    let decoded = decode_cursor(token)?;
    Ok(Some(match decoded.strip_prefix(OFFSET_MARK) {
        Some(n) => Resume::Offset(n.parse().map_err(|_| {
            DomainError::invalid("$skiptoken", "is not a token this server issued")
        })?),
        None => Resume::After(decoded),
    }))
}

fn offset_token(offset: usize) -> String {
    encode_cursor(&format!("{OFFSET_MARK}{offset}"))
}

/// Is the requested order the directory's own (by user name, ascending)?
fn natural(q: &QueryOptions, key_property: &str) -> bool {
    match q.order_by() {
        [] => true,
        [only] => !only.descending && only.path.to_string() == key_property,
        _ => false,
    }
}

/// Sorts by `$orderby`, then by `tie` (the listing key), so pages are stable.
fn sort<T: ODataRecord>(items: &mut [T], q: &QueryOptions, tie: impl Fn(&T) -> String) {
    items.sort_by(|a, b| match q.compare(a, b) {
        Ordering::Equal => tie(a).cmp(&tie(b)),
        other => other,
    });
}

/// A page out of matches already in order.
fn offset_page<T>(mut all: Vec<T>, start: usize, top: usize, count: bool) -> QueryPage<T> {
    let total = all.len();
    let items: Vec<T> = all.drain(start.min(total)..).take(top).collect();
    let next = (start + items.len() < total).then(|| offset_token(start + items.len()));
    QueryPage {
        items,
        next,
        count: count.then_some(total as u64),
    }
}

/// One page of matches held in memory, already in the asked order:
/// `$skiptoken` is an offset this server issued, `$top` the page size
/// (at most [`MAX_PAGE`]), `$count=true` the total.
pub fn page_of<T>(all: Vec<T>, q: &QueryOptions, top: usize) -> Result<QueryPage<T>, DomainError> {
    let offset = match resume(q.skip_token())? {
        Some(Resume::Offset(n)) => n,
        Some(Resume::After(_)) => {
            return Err(DomainError::invalid(
                "$skiptoken",
                "is not a token this server issued",
            ));
        }
        None => 0,
    };
    Ok(offset_page(
        all,
        offset,
        top.clamp(1, MAX_PAGE),
        q.count() == Some(true),
    ))
}

impl AdminService {
    /// `GET /users` with query options.
    pub async fn query_users(
        &self,
        caller: &Caller,
        q: &QueryOptions,
        top: usize,
    ) -> Result<QueryPage<User>, DomainError> {
        caller.authorize(AdminAction::ReadUsers, None)?;
        let top = top.clamp(1, MAX_PAGE);
        let want_count = q.count() == Some(true);
        let start = resume(q.skip_token())?;
        if let Some(candidates) = self.users_by_index(q).await? {
            let mut matches: Vec<User> = candidates.into_iter().filter(|u| q.matches(u)).collect();
            sort(&mut matches, q, |u| u.upn.key());
            let offset = match start {
                Some(Resume::Offset(n)) => n,
                _ => 0,
            };
            return Ok(offset_page(matches, offset, top, want_count));
        }
        if natural(q, "userPrincipalName") {
            let after = match start {
                Some(Resume::After(key)) => Some(key),
                Some(Resume::Offset(_)) => {
                    return Err(DomainError::invalid(
                        "$skiptoken",
                        "belongs to a query with another order",
                    ));
                }
                None => None,
            };
            return self.walk_users(q, after, top, want_count).await;
        }
        let offset = match start {
            Some(Resume::Offset(n)) => n,
            Some(Resume::After(_)) => {
                return Err(DomainError::invalid(
                    "$skiptoken",
                    "belongs to a query with another order",
                ));
            }
            None => 0,
        };
        let mut matches = self.all_matching_users(q).await?;
        sort(&mut matches, q, |u| u.upn.key());
        Ok(offset_page(matches, offset, top, want_count))
    }

    /// `GET /users/$count`: how many users match.
    pub async fn count_matching_users(
        &self,
        caller: &Caller,
        q: &QueryOptions,
    ) -> Result<u64, DomainError> {
        caller.authorize(AdminAction::ReadUsers, None)?;
        match self.users_by_index(q).await? {
            Some(candidates) => Ok(candidates.iter().filter(|u| q.matches(*u)).count() as u64),
            None => self.count_all(q).await,
        }
    }

    /// The candidates an indexed `eq`/`in` of the filter names, or `None`
    /// when the filter names no index (the caller walks the directory).
    async fn users_by_index(&self, q: &QueryOptions) -> Result<Option<Vec<User>>, DomainError> {
        let Some(plan) = q.filter().and_then(|f| f.lookup(&schemas::USER)) else {
            return Ok(None);
        };
        let store = &self.ctx.store;
        let mut found: Vec<User> = Vec::new();
        for probe in &plan.probes {
            let Some(value) = probe.as_str() else {
                continue;
            };
            let users = match probe.property {
                "id" => store.get_user(value).await?.into_iter().collect(),
                "userPrincipalName" => match Upn::parse(value) {
                    Ok(upn) => store
                        .find_user_by_upn(&upn.key())
                        .await?
                        .into_iter()
                        .collect(),
                    Err(_) => Vec::new(),
                },
                "mail" => store.find_users_by_mail(&index_key(value)).await?,
                "employeeId" => store.find_users_by_employee_id(&index_key(value)).await?,
                _ => return Ok(None),
            };
            for u in users {
                if !found.iter().any(|f| f.id == u.id) {
                    found.push(u);
                }
            }
        }
        Ok(Some(found))
    }

    /// Walks the directory by user name from `after` until `top` matches.
    async fn walk_users(
        &self,
        q: &QueryOptions,
        mut after: Option<String>,
        top: usize,
        want_count: bool,
    ) -> Result<QueryPage<User>, DomainError> {
        let count = if want_count {
            Some(self.count_all(q).await?)
        } else {
            None
        };
        let mut items: Vec<User> = Vec::with_capacity(top.min(BATCH));
        loop {
            let batch = self.ctx.store.list_users(after.as_deref(), BATCH).await?;
            let last = batch.len() < BATCH;
            for u in batch {
                after = Some(u.upn.key());
                if !q.matches(&u) {
                    continue;
                }
                if items.len() == top {
                    // Another match exists: the next page starts after the last one kept.
                    let next = items.last().map(|k| encode_cursor(&k.upn.key()));
                    return Ok(QueryPage { items, next, count });
                }
                items.push(u);
            }
            if last {
                return Ok(QueryPage {
                    items,
                    next: None,
                    count,
                });
            }
        }
    }

    async fn count_all(&self, q: &QueryOptions) -> Result<u64, DomainError> {
        if q.filter().is_none() && q.search().is_none() {
            return Ok(self.ctx.store.count_users().await?);
        }
        let mut n = 0u64;
        let mut after: Option<String> = None;
        loop {
            let batch = self.ctx.store.list_users(after.as_deref(), BATCH).await?;
            n += batch.iter().filter(|u| q.matches(*u)).count() as u64;
            if batch.len() < BATCH {
                return Ok(n);
            }
            after = batch.last().map(|u| u.upn.key());
        }
    }

    async fn all_matching_users(&self, q: &QueryOptions) -> Result<Vec<User>, DomainError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let batch = self.ctx.store.list_users(after.as_deref(), BATCH).await?;
            let last = batch.len() < BATCH;
            after = batch.last().map(|u| u.upn.key());
            out.extend(batch.into_iter().filter(|u| q.matches(u)));
            if out.len() > MAX_SORTED {
                return Err(too_many_to_sort());
            }
            if last {
                return Ok(out);
            }
        }
    }

    /// `GET /groups` with query options (groups are few: walked in their
    /// own order, by display name).
    pub async fn query_groups(
        &self,
        caller: &Caller,
        q: &QueryOptions,
        top: usize,
    ) -> Result<QueryPage<Group>, DomainError> {
        caller.authorize(AdminAction::ReadGroups, None)?;
        let mut all = self.matching_groups(q).await?;
        if !natural(q, "displayName") {
            sort(&mut all, q, Group::order_key);
        }
        page_of(all, q, top)
    }

    /// `GET /groups/$count`: the groups `$filter` and `$search` match.
    pub async fn count_matching_groups(
        &self,
        caller: &Caller,
        q: &QueryOptions,
    ) -> Result<u64, DomainError> {
        caller.authorize(AdminAction::ReadGroups, None)?;
        if q.filter().is_none() && q.search().is_none() {
            return Ok(self.ctx.store.count_groups().await?);
        }
        Ok(self.matching_groups(q).await?.len() as u64)
    }

    /// Every group `$filter` and `$search` match, in the store's order.
    async fn matching_groups(&self, q: &QueryOptions) -> Result<Vec<Group>, DomainError> {
        let mut all: Vec<Group> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let batch = self.ctx.store.list_groups(after.as_deref(), BATCH).await?;
            let last = batch.len() < BATCH;
            after = batch.last().map(Group::order_key);
            all.extend(batch.into_iter().filter(|g| q.matches(g)));
            if all.len() > MAX_SORTED {
                return Err(too_many_to_sort());
            }
            if last {
                return Ok(all);
            }
        }
    }
}

impl AdminService {
    /// `GET /auditLogs/directoryAudits`: the log newest first (Graph's
    /// order), `$filter` on Graph's `directoryAudit` properties. The log is
    /// walked a batch at a time; a time range in the filter's conjunction
    /// bounds the walk.
    pub async fn query_directory_audits(
        &self,
        caller: &Caller,
        q: &QueryOptions,
        top: usize,
    ) -> Result<QueryPage<DirectoryAudit>, DomainError> {
        caller.authorize(AdminAction::ReadAuditLog, None)?;
        let ascending = match q.order_by() {
            [] => false,
            [only] if only.path.to_string() == "activityDateTime" => !only.descending,
            _ => {
                return Err(DomainError::invalid(
                    "$orderby",
                    "directory audits are ordered by activityDateTime only",
                ));
            }
        };
        let top = top.clamp(1, MAX_PAGE);
        let bounds = q
            .filter()
            .map(|f| time_bounds(f.expr()))
            .unwrap_or_default();
        let start = resume(q.skip_token())?;
        if ascending {
            // Oldest first: every match, then turned round.
            let offset = match start {
                Some(Resume::Offset(n)) => n,
                Some(Resume::After(_)) => {
                    return Err(DomainError::invalid(
                        "$skiptoken",
                        "belongs to a query with another order",
                    ));
                }
                None => 0,
            };
            let mut all = self.audits_matching(q, &bounds, None, usize::MAX).await?.0;
            all.reverse();
            return Ok(offset_page(all, offset, top, q.count() == Some(true)));
        }
        let before = match start {
            Some(Resume::After(key)) => Some(key),
            Some(Resume::Offset(_)) => {
                return Err(DomainError::invalid(
                    "$skiptoken",
                    "belongs to a query with another order",
                ));
            }
            None => None,
        };
        let count = if q.count() == Some(true) {
            Some(
                self.audits_matching(q, &bounds, None, usize::MAX)
                    .await?
                    .0
                    .len() as u64,
            )
        } else {
            None
        };
        let (items, next) = self.audits_matching(q, &bounds, before, top).await?;
        Ok(QueryPage {
            items,
            next: next.map(|k| encode_cursor(&k)),
            count,
        })
    }

    /// Up to `top` matches newest first from `before`, and the key to go
    /// on after them when more may follow.
    async fn audits_matching(
        &self,
        q: &QueryOptions,
        bounds: &AuditFilter,
        mut before: Option<String>,
        top: usize,
    ) -> Result<(Vec<DirectoryAudit>, Option<String>), DomainError> {
        let mut names = std::collections::HashMap::<String, Option<(String, String)>>::new();
        let mut items: Vec<DirectoryAudit> = Vec::with_capacity(top.min(BATCH));
        loop {
            let page = self
                .ctx
                .store
                .list_audit(bounds, before.as_deref(), BATCH)
                .await?;
            for event in page.events {
                let key = crate::store::audit_key(&event);
                let actor = self.actor_name(&event, &mut names).await?;
                let audit = DirectoryAudit::of(event, actor);
                if q.matches(&audit) {
                    if items.len() == top {
                        return Ok((items, before));
                    }
                    if items.len() >= MAX_SORTED {
                        return Err(too_many_to_sort());
                    }
                    items.push(audit);
                }
                before = Some(key);
            }
            if page.next.is_none() {
                return Ok((items, None));
            }
        }
    }

    /// The user name and display name of a user actor, read once per
    /// actor and query.
    async fn actor_name(
        &self,
        event: &AuditEvent,
        names: &mut std::collections::HashMap<String, Option<(String, String)>>,
    ) -> Result<Option<(String, String)>, DomainError> {
        if event.actor.kind != ActorKind::User {
            return Ok(None);
        }
        if let Some(known) = names.get(&event.actor.id) {
            return Ok(known.clone());
        }
        let found = self
            .ctx
            .store
            .get_user(&event.actor.id)
            .await?
            .map(|u| (u.upn.as_str().to_owned(), u.display_name));
        names.insert(event.actor.id.clone(), found.clone());
        Ok(found)
    }
}

/// `activityDateTime` bounds in the filter's top-level conjunction (`ge`,
/// `le`, `eq`), for the store's time range; the filter still decides.
fn time_bounds(expr: &Expr) -> AuditFilter {
    let mut out = AuditFilter::default();
    let parts: &[Expr] = match expr {
        Expr::And(parts) => parts,
        other => std::slice::from_ref(other),
    };
    for part in parts {
        if let Expr::Compare {
            path,
            op,
            value: Literal::DateTime(t),
        } = part
            && path.to_string() == "activityDateTime"
        {
            // `until` is exclusive: one millisecond past an inclusive bound.
            let after = *t + time::Duration::milliseconds(1);
            match op {
                CmpOp::Ge => out.from = Some(*t),
                CmpOp::Le => out.until = Some(after),
                CmpOp::Eq => {
                    out.from = Some(*t);
                    out.until = Some(after);
                }
                _ => {}
            }
        }
    }
    out
}

fn too_many_to_sort() -> DomainError {
    DomainError::invalid(
        "$orderby",
        format!("more than {MAX_SORTED} objects match; narrow the query with $filter"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_tell_offsets_from_keys() {
        match resume(Some(&offset_token(42))).unwrap() {
            Some(Resume::Offset(42)) => {}
            _ => panic!("an offset token reads back as its offset"),
        }
        match resume(Some(&encode_cursor("a@b.c"))).unwrap() {
            Some(Resume::After(k)) => assert_eq!(k, "a@b.c"),
            _ => panic!("a key token reads back as its key"),
        }
    }

    #[test]
    fn offset_pages_cover_every_match_once() {
        let all: Vec<u32> = (0..7).collect();
        let first = offset_page(all.clone(), 0, 3, true);
        assert_eq!(first.items, [0, 1, 2]);
        assert_eq!(first.count, Some(7));
        let Some(Resume::Offset(n)) = resume(first.next.as_deref()).unwrap() else {
            panic!("a next page");
        };
        let last = offset_page(all.clone(), 6, 3, false);
        assert_eq!((n, last.items, last.next), (3, vec![6], None));
    }
}
