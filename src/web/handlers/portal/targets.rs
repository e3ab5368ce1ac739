//! The target picker of the policy pages: a method applies to all users
//! or to chosen users and groups, and chosen users and groups are
//! excluded. Users are named one per line; groups are picked from a list
//! that shows their names. An administrator who may not read groups (only
//! a Global Administrator may) sees the policy's group targets by id and
//! keeps them as they are.

use super::FormPairs;
use crate::domain::DomainError;
use crate::domain::group::Group;
use crate::domain::policy::{IncludeTargets, PolicyTarget, TargetType};
use crate::service::Caller;
use crate::state::AppState;

/// The picker lists at most this many groups (the first, by name); more
/// can be named in a text box then.
const LISTED: usize = 999;

/// One group in a picker list.
pub struct GroupChoice {
    pub id: String,
    pub name: String,
    /// The mail nickname, or why the name is missing.
    pub detail: String,
    pub checked: bool,
}

pub struct GroupLists {
    pub include: Vec<GroupChoice>,
    pub exclude: Vec<GroupChoice>,
    /// More groups exist than the lists show.
    pub truncated: bool,
}

/// What a policy form shows of its targets.
pub struct Picker {
    /// Makes the element ids of the page's pickers unique ("tap", "fido2").
    pub prefix: &'static str,
    pub all_users: bool,
    /// User names, one per line.
    pub include_users: String,
    pub exclude_users: String,
    /// `None`: this administrator may not read groups.
    pub groups: Option<GroupLists>,
    /// The group targets by id, when `groups` is `None`.
    pub include_group_ids: String,
    pub exclude_group_ids: String,
    /// Groups named in the text boxes (lists cut short), as typed.
    pub include_group_names: String,
    pub exclude_group_names: String,
}

/// The groups a picker lists, read once per page; `None` when the
/// administrator may not read groups.
pub struct Directory(Option<(Vec<Group>, bool)>);

impl Directory {
    pub async fn read(state: &AppState, caller: &Caller) -> Result<Self, DomainError> {
        match state.admin.list_groups(caller, None, LISTED).await {
            Ok(page) => Ok(Self(Some((page.groups, page.next.is_some())))),
            Err(DomainError::Forbidden(_)) => Ok(Self(None)),
            Err(e) => Err(e),
        }
    }
}

fn group_ids(targets: &[PolicyTarget]) -> Vec<String> {
    targets
        .iter()
        .filter(|t| t.target_type == TargetType::Group)
        .map(|t| t.id.clone())
        .collect()
}

fn user_ids(targets: &[PolicyTarget]) -> Vec<String> {
    crate::domain::policy::user_ids(targets)
}

fn include_list(include: &IncludeTargets) -> &[PolicyTarget] {
    match include {
        IncludeTargets::AllUsers => &[],
        IncludeTargets::Targets(t) => t,
    }
}

/// Stored user ids as user names where the user still exists.
async fn user_names(state: &AppState, ids: &[String]) -> String {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match state.admin.resolve_user(id).await {
            Ok(u) => out.push(u.upn.as_str().to_owned()),
            Err(_) => out.push(id.clone()),
        }
    }
    out.join("\n")
}

/// Every listed group, the chosen ones first (each part by name); chosen
/// groups beyond the list are read one by one, deleted ones say so.
async fn choices(
    state: &AppState,
    caller: &Caller,
    listed: &[Group],
    chosen: &[String],
) -> Result<Vec<GroupChoice>, DomainError> {
    let choice = |g: &Group, checked: bool| GroupChoice {
        id: g.id.clone(),
        name: g.display_name.clone(),
        detail: g.mail_nickname.clone(),
        checked,
    };
    let mut out = Vec::new();
    for id in chosen
        .iter()
        .filter(|id| !listed.iter().any(|g| &g.id == *id))
    {
        match state.admin.get_group(caller, id).await {
            Ok(g) => out.push(choice(&g, true)),
            Err(DomainError::NotFound(_)) => out.push(GroupChoice {
                id: id.clone(),
                name: "Deleted group".into(),
                detail: format!("id {id}; matches nobody"),
                checked: true,
            }),
            Err(e) => return Err(e),
        }
    }
    let (checked, unchecked): (Vec<&Group>, Vec<&Group>) =
        listed.iter().partition(|g| chosen.contains(&g.id));
    out.extend(checked.into_iter().map(|g| choice(g, true)));
    out.sort_by_key(|c| c.name.to_lowercase());
    out.extend(unchecked.into_iter().map(|g| choice(g, false)));
    Ok(out)
}

impl Picker {
    pub async fn of(
        state: &AppState,
        caller: &Caller,
        directory: &Directory,
        prefix: &'static str,
        include: &IncludeTargets,
        exclude: &[PolicyTarget],
    ) -> Result<Self, DomainError> {
        let include_targets = include;
        let include = include_list(include);
        let (include_groups, exclude_groups) = (group_ids(include), group_ids(exclude));
        let groups = match &directory.0 {
            Some((listed, truncated)) => Some(GroupLists {
                include: choices(state, caller, listed, &include_groups).await?,
                exclude: choices(state, caller, listed, &exclude_groups).await?,
                truncated: *truncated,
            }),
            None => None,
        };
        Ok(Self {
            prefix,
            all_users: matches!(include_targets, IncludeTargets::AllUsers),
            include_users: user_names(state, &user_ids(include)).await,
            exclude_users: user_names(state, &user_ids(exclude)).await,
            groups,
            include_group_ids: include_groups.join(", "),
            exclude_group_ids: exclude_groups.join(", "),
            include_group_names: String::new(),
            exclude_group_names: String::new(),
        })
    }

    /// The picker as a refused form had it: the choice, the names and the
    /// groups as typed and ticked (group targets by id as stored, for an
    /// administrator who may not read groups).
    pub async fn entered(
        state: &AppState,
        caller: &Caller,
        directory: &Directory,
        prefix: &'static str,
        form: &FormPairs,
        include: &IncludeTargets,
        exclude: &[PolicyTarget],
    ) -> Result<Self, DomainError> {
        let mut picker = Self::of(state, caller, directory, prefix, include, exclude).await?;
        let typed = |name: &str| form.one(name).unwrap_or_default().to_owned();
        if let Some(all) = form.one("include_all") {
            picker.all_users = all == "yes";
        }
        picker.include_users = typed("include");
        picker.exclude_users = typed("exclude");
        picker.include_group_names = typed("include_group_names");
        picker.exclude_group_names = typed("exclude_group_names");
        if form.checked("groups")
            && let Some((listed, truncated)) = &directory.0
        {
            let ticked = |list: &str| {
                form.all(&format!("{list}_group"))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            };
            picker.groups = Some(GroupLists {
                include: choices(state, caller, listed, &ticked("include")).await?,
                exclude: choices(state, caller, listed, &ticked("exclude")).await?,
                truncated: *truncated,
            });
        }
        Ok(picker)
    }
}

/// The targets a policy form asks for, checked against the directory.
#[derive(Clone)]
pub struct Chosen {
    /// `None`: a form without the choice (empty lists then mean all users).
    all_users: Option<bool>,
    include_users: Vec<String>,
    exclude_users: Vec<String>,
    /// `None`: the form had no group lists; the group targets stay.
    groups: Option<(Vec<String>, Vec<String>)>,
}

/// User names or ids, one per line, to ids; an unknown one is explained
/// (errors name the form's inputs, for `portal/form.rs`).
async fn resolve_users(
    state: &AppState,
    lines: Vec<String>,
    field: &'static str,
) -> Result<Vec<String>, DomainError> {
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    for line in lines {
        match state.admin.resolve_user(&line).await {
            Ok(u) if out.contains(&u.id) => {}
            Ok(u) => out.push(u.id),
            Err(DomainError::NotFound(_)) => {
                return Err(DomainError::invalid(
                    field,
                    format!("there is no user {line}"),
                ));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The groups named `name` (case-insensitive), walking the listing (by
/// name) until past it.
async fn groups_named(
    state: &AppState,
    caller: &Caller,
    name: &str,
) -> Result<Vec<Group>, DomainError> {
    let needle = name.to_lowercase();
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = state
            .admin
            .list_groups(caller, cursor.as_deref(), LISTED)
            .await?;
        for g in page.groups {
            let key = g.display_name.to_lowercase();
            if key == needle {
                found.push(g);
            } else if key > needle {
                return Ok(found);
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(found),
        }
    }
}

/// The posted group ids (checkboxes) and names (lines), as group ids. An
/// id must be a group, or one the policy names already (a deleted group
/// stays until unchecked).
async fn resolve_groups(
    state: &AppState,
    caller: &Caller,
    form: &FormPairs,
    list: &'static str,
    current: &[String],
) -> Result<Vec<String>, DomainError> {
    let (picks, names) = (format!("{list}_group"), format!("{list}_group_names"));
    let mut out: Vec<String> = Vec::new();
    for id in form.all(&picks) {
        if !out.iter().any(|o| o == id) {
            out.push(picked(state, caller, id, current, &picks).await?);
        }
    }
    for name in form.lines(&names) {
        let id = named(state, caller, &name, &names).await?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// A picked group's id, if it still is a group or one of `current`.
async fn picked(
    state: &AppState,
    caller: &Caller,
    id: &str,
    current: &[String],
    field: &str,
) -> Result<String, DomainError> {
    match state.admin.get_group(caller, id).await {
        Ok(g) => Ok(g.id),
        Err(DomainError::NotFound(_)) if current.iter().any(|c| c == id) => Ok(id.to_owned()),
        Err(DomainError::NotFound(_)) => Err(DomainError::invalid(
            field.to_owned(),
            "a group you picked no longer exists; reload the page and pick again",
        )),
        Err(e) => Err(e),
    }
}

/// The id of the one group named `name` (or with that id).
async fn named(
    state: &AppState,
    caller: &Caller,
    name: &str,
    field: &str,
) -> Result<String, DomainError> {
    let mut named = groups_named(state, caller, name).await?;
    if named.is_empty() {
        // Perhaps an id.
        match state.admin.get_group(caller, name).await {
            Ok(g) => named.push(g),
            Err(DomainError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    match named.as_slice() {
        [] => Err(DomainError::invalid(
            field.to_owned(),
            format!("there is no group named {name}"),
        )),
        [g] => Ok(g.id.clone()),
        more => Err(DomainError::invalid(
            field.to_owned(),
            format!(
                "{} groups are named {name}; enter the id of the one you mean (it is on the group's page)",
                more.len()
            ),
        )),
    }
}

impl Chosen {
    /// Reads the picker's fields; `include` and `exclude` are the
    /// policy's targets now.
    pub async fn parse(
        state: &AppState,
        caller: &Caller,
        form: &FormPairs,
        include: &IncludeTargets,
        exclude: &[PolicyTarget],
    ) -> Result<Self, DomainError> {
        let all_users = match form.one("include_all") {
            None => None,
            Some("yes") => Some(true),
            Some("no") => Some(false),
            Some(_) => {
                return Err(DomainError::invalid(
                    "include_all",
                    "choose all users or specific users and groups",
                ));
            }
        };
        let include_users = resolve_users(state, form.lines("include"), "include").await?;
        let exclude_users = resolve_users(state, form.lines("exclude"), "exclude").await?;
        let groups = if form.checked("groups") {
            let current_in = group_ids(include_list(include));
            let current_out = group_ids(exclude);
            Some((
                resolve_groups(state, caller, form, "include", &current_in).await?,
                resolve_groups(state, caller, form, "exclude", &current_out).await?,
            ))
        } else {
            None
        };
        Ok(Self {
            all_users,
            include_users,
            exclude_users,
            groups,
        })
    }

    /// The new targets, from the policy's current ones (whose group
    /// targets stay when the form had no group lists).
    pub fn apply(
        self,
        include: &IncludeTargets,
        exclude: &[PolicyTarget],
    ) -> Result<(IncludeTargets, Vec<PolicyTarget>), DomainError> {
        let (include_groups, exclude_groups) = match self.groups {
            Some(g) => g,
            None => (group_ids(include_list(include)), group_ids(exclude)),
        };
        let targets: Vec<PolicyTarget> = self
            .include_users
            .into_iter()
            .map(PolicyTarget::user)
            .chain(include_groups.into_iter().map(PolicyTarget::group))
            .collect();
        let include = match self.all_users {
            Some(true) => IncludeTargets::AllUsers,
            Some(false) if targets.is_empty() => {
                return Err(DomainError::invalid(
                    "include_all",
                    "name at least one user or pick at least one group, or choose all users",
                ));
            }
            None if targets.is_empty() => IncludeTargets::AllUsers,
            _ => IncludeTargets::Targets(targets),
        };
        let exclude = self
            .exclude_users
            .into_iter()
            .map(PolicyTarget::user)
            .chain(exclude_groups.into_iter().map(PolicyTarget::group))
            .collect();
        Ok((include, exclude))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chosen(all: Option<bool>, users: &[&str], groups: Option<(&[&str], &[&str])>) -> Chosen {
        let v = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        Chosen {
            all_users: all,
            include_users: v(users),
            exclude_users: v(&["x"]),
            groups: groups.map(|(i, e)| (v(i), v(e))),
        }
    }

    #[test]
    fn the_choice_decides_and_group_targets_stay_without_group_lists() {
        let current =
            IncludeTargets::Targets(vec![PolicyTarget::user("u0"), PolicyTarget::group("g0")]);
        let current_out = vec![PolicyTarget::group("h0")];
        // No group lists on the form: the policy's groups stay.
        let (inc, exc) = chosen(Some(false), &["u1"], None)
            .apply(&current, &current_out)
            .unwrap();
        assert_eq!(
            inc,
            IncludeTargets::Targets(vec![PolicyTarget::user("u1"), PolicyTarget::group("g0")])
        );
        assert_eq!(
            exc,
            vec![PolicyTarget::user("x"), PolicyTarget::group("h0")]
        );
        // Group lists: exactly what was picked.
        let (inc, exc) = chosen(Some(false), &[], Some((&["g1"], &[])))
            .apply(&current, &current_out)
            .unwrap();
        assert_eq!(
            inc,
            IncludeTargets::Targets(vec![PolicyTarget::group("g1")])
        );
        assert_eq!(exc, vec![PolicyTarget::user("x")]);
        // All users wins over lists; "only these" with none is refused.
        let (inc, _) = chosen(Some(true), &["u1"], Some((&["g1"], &[])))
            .apply(&current, &current_out)
            .unwrap();
        assert_eq!(inc, IncludeTargets::AllUsers);
        assert!(
            chosen(Some(false), &[], Some((&[], &[])))
                .apply(&current, &current_out)
                .is_err()
        );
        // A form without the choice: empty lists mean all users.
        let (inc, _) = chosen(None, &[], Some((&[], &[])))
            .apply(&current, &current_out)
            .unwrap();
        assert_eq!(inc, IncludeTargets::AllUsers);
    }
}
