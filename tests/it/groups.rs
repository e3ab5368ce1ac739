//! Groups, memberships, the manager and the directory lookups through the
//! admin service (the web API for them comes with the new web layer), on
//! both stores.

use onramp::domain::DomainError;
use onramp::domain::audit::{Actor, AuditFilter};
use onramp::domain::group::{GroupPatch, NewGroup};
use onramp::domain::permission::Permission;
use onramp::domain::user::{DirectoryRole, NewUser, User, UserPatch};
use onramp::service::{Caller, RequestMeta};

use crate::helpers::*;

/// An application with the permissions a provisioning client would hold.
pub fn app_caller() -> Caller {
    Caller {
        actor: Actor::client(HR_ID),
        permissions: vec![Permission::UserReadWriteAll, Permission::GroupReadWriteAll],
        roles: Vec::new(),
        upn: None,
        meta: RequestMeta::default(),
    }
}

/// A signed-in Global Administrator (the bootstrap administrator).
pub fn global_caller(app: &TestApp) -> Caller {
    let admin = &app.bootstrap.as_ref().unwrap().user;
    Caller {
        actor: Actor::user(&admin.id),
        permissions: Permission::ALL.to_vec(),
        roles: vec![DirectoryRole::GlobalAdministrator],
        upn: Some(admin.upn.to_string()),
        meta: RequestMeta::default(),
    }
}

pub async fn new_group(app: &TestApp, name: &str) -> String {
    app.state
        .admin
        .create_group(
            &app_caller(),
            NewGroup {
                display_name: Some(name.into()),
                mail_nickname: Some(name.to_lowercase().replace(' ', "-")),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id
}

async fn new_user(app: &TestApp, upn: &str, extra: impl FnOnce(&mut NewUser)) -> User {
    let mut new = NewUser {
        upn: upn.into(),
        display_name: upn.into(),
        ..Default::default()
    };
    extra(&mut new);
    app.state
        .admin
        .create_user(&app_caller(), new)
        .await
        .unwrap()
}

fn is_invalid(e: &DomainError, name: &str) -> bool {
    matches!(e, DomainError::Invalid { field, .. } if field == name)
}

/// The types of the events about `target`, sorted by name (the test
/// clock stands still, so their order in the log is by id).
async fn events(app: &TestApp, target: &str) -> Vec<&'static str> {
    let filter = AuditFilter {
        target_id: Some(target.into()),
        ..AuditFilter::default()
    };
    let page = app.store.list_audit(&filter, None, 100).await.unwrap();
    let mut types: Vec<_> = page.events.iter().map(|e| e.event_type.as_str()).collect();
    types.sort_unstable();
    types
}

async fn groups_and_members_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let admin = app.bootstrap.as_ref().unwrap().user.clone();
    let svc = &app.state.admin;
    let hr = app_caller();
    let global = global_caller(&app);

    let staff = new_group(&app, "Staff").await;
    let group = svc.get_group(&hr, &staff).await.unwrap();
    assert!(group.security_enabled && !group.mail_enabled);
    let invalid = svc
        .create_group(&hr, NewGroup::default())
        .await
        .unwrap_err();
    assert!(is_invalid(&invalid, "displayName"), "{invalid:?}");
    assert_eq!(events(&app, &staff).await, ["group.created"]);

    let ada = new_user(&app, "ada@example.com", |_| {}).await;
    let bob = new_user(&app, "bob@example.com", |_| {}).await;
    svc.add_member(&hr, &staff, &ada.id).await.unwrap();
    // By UPN too.
    svc.add_member(&hr, &staff, "bob@example.com")
        .await
        .unwrap();
    // Graph: a second add is a 400 naming `members`.
    let twice = svc.add_member(&hr, &staff, &ada.id).await.unwrap_err();
    assert!(is_invalid(&twice, "members"), "{twice:?}");
    assert!(twice.to_string().contains("already exist"), "{twice}");
    assert!(matches!(
        svc.add_member(&hr, &staff, "nobody@example.com").await,
        Err(DomainError::NotFound("user"))
    ));
    assert!(matches!(
        svc.add_member(&hr, "no-such-group", &ada.id).await,
        Err(DomainError::NotFound("group"))
    ));
    // The member's history shows the change (exactly once).
    assert_eq!(
        events(&app, &ada.id).await,
        ["group.member_added", "user.created"]
    );

    let page = svc.list_members(&hr, &staff, None, 1).await.unwrap();
    assert_eq!(page.members.len(), 1);
    let rest = svc
        .list_members(&hr, &staff, page.next.as_deref(), 10)
        .await
        .unwrap();
    assert_eq!(rest.next, None);
    let mut all: Vec<String> = page
        .members
        .iter()
        .chain(&rest.members)
        .map(|u| u.id.clone())
        .collect();
    all.sort();
    let mut want = vec![ada.id.clone(), bob.id.clone()];
    want.sort();
    assert_eq!(all, want);

    let pilots = new_group(&app, "Pilots").await;
    svc.add_member(&hr, &pilots, &ada.id).await.unwrap();
    let of_ada = svc.member_of(&hr, &ada.id).await.unwrap();
    let names: Vec<_> = of_ada.iter().map(|g| g.display_name.as_str()).collect();
    assert_eq!(names, ["Pilots", "Staff"]);
    let listed = svc.list_groups(&hr, None, 1).await.unwrap();
    assert_eq!(listed.groups[0].display_name, "Pilots");
    let rest = svc
        .list_groups(&hr, listed.next.as_deref(), 10)
        .await
        .unwrap();
    assert_eq!(rest.groups[0].display_name, "Staff");
    assert_eq!(svc.count_groups(&hr).await.unwrap(), 2);

    // Update: compare-and-set, audited; the order follows the name.
    let renamed = svc
        .update_group(
            &hr,
            &staff,
            GroupPatch {
                display_name: Some("All staff".into()),
                description: Some(Some("everyone".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.display_name, "All staff");
    assert_eq!(
        svc.list_groups(&hr, None, 10).await.unwrap().groups[0].id,
        staff
    );

    // Remove: once; then NotFound.
    svc.remove_member(&hr, &pilots, &ada.id).await.unwrap();
    assert!(matches!(
        svc.remove_member(&hr, &pilots, &ada.id).await,
        Err(DomainError::NotFound("member"))
    ));

    // An application never changes an administrator's memberships, nor
    // deletes a group that holds one; a Global Administrator may.
    let refused = svc.add_member(&hr, &pilots, &admin.id).await.unwrap_err();
    assert!(matches!(refused, DomainError::Forbidden(_)), "{refused:?}");
    svc.add_member(&global, &pilots, &admin.id).await.unwrap();
    let refused = svc
        .remove_member(&hr, &pilots, &admin.id)
        .await
        .unwrap_err();
    assert!(matches!(refused, DomainError::Forbidden(_)), "{refused:?}");
    let refused = svc.delete_group(&hr, &pilots).await.unwrap_err();
    assert!(matches!(refused, DomainError::Forbidden(_)), "{refused:?}");
    svc.remove_member(&global, &pilots, &admin.id)
        .await
        .unwrap();
    svc.delete_group(&hr, &pilots).await.unwrap();
    assert!(matches!(
        svc.get_group(&hr, &pilots).await,
        Err(DomainError::NotFound("group"))
    ));
    // Membership changes name the group too (as a further target).
    assert_eq!(
        events(&app, &pilots).await,
        [
            "group.created",
            "group.deleted",
            "group.member_added",
            "group.member_added",
            "group.member_removed",
            "group.member_removed"
        ]
    );
    // Groups need Group.ReadWrite.All.
    let mut reader = app_caller();
    reader.permissions = vec![Permission::UserReadWriteAll];
    assert!(matches!(
        svc.list_groups(&reader, None, 10).await,
        Err(DomainError::Forbidden(_))
    ));

    // Deleting a user takes them out of their groups.
    svc.delete_user(&hr, &bob.id).await.unwrap();
    let left = svc.list_members(&hr, &staff, None, 10).await.unwrap();
    assert_eq!(left.members.len(), 1);
    assert_eq!(left.members[0].id, ada.id);
    app.stop().await;
}

#[tokio::test]
async fn groups_and_members_embedded() {
    groups_and_members_on(Backend::Embedded).await;
}

#[tokio::test]
async fn groups_and_members_redis() {
    groups_and_members_on(Backend::Redis).await;
}

async fn lookups_and_manager_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let svc = &app.state.admin;
    let hr = app_caller();
    let users_before = svc.count_users(&hr).await.unwrap();
    let boss = new_user(&app, "boss@example.com", |n| {
        n.mail = Some("Boss@Example.com".into());
        n.employee_id = Some("E-100".into());
    })
    .await;
    let ada = new_user(&app, "ada@example.com", |n| {
        n.mail = Some("team@example.com".into());
        n.employee_id = Some("E-200".into());
        n.job_title = Some("Engineer".into());
    })
    .await;
    let bob = new_user(&app, "bob@example.com", |n| {
        n.mail = Some("TEAM@example.com".into());
    })
    .await;
    assert_eq!(svc.count_users(&hr).await.unwrap(), users_before + 3);
    let found = svc
        .find_users_by_mail(&hr, "boss@EXAMPLE.com")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0], boss);
    let mut team: Vec<String> = svc
        .find_users_by_mail(&hr, "team@example.com")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    team.sort();
    let mut want = vec![ada.id.clone(), bob.id.clone()];
    want.sort();
    assert_eq!(team, want);
    let by_emp = svc.find_users_by_employee_id(&hr, "e-200").await.unwrap();
    assert_eq!(by_emp.len(), 1);
    assert_eq!(by_emp[0].job_title.as_deref(), Some("Engineer"));
    // A PATCH moves the index entry.
    svc.update_user(
        &hr,
        &ada.id,
        UserPatch {
            employee_id: Some(Some("E-201".into())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        svc.find_users_by_employee_id(&hr, "e-200")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        svc.find_users_by_employee_id(&hr, "E-201").await.unwrap()[0].id,
        ada.id
    );

    // The manager: an existing user other than the user themself.
    assert_eq!(svc.get_manager(&hr, &ada.id).await.unwrap(), None);
    let own = svc.set_manager(&hr, &ada.id, &ada.id).await.unwrap_err();
    assert!(is_invalid(&own, "manager"), "{own:?}");
    let ghost = svc
        .set_manager(&hr, &ada.id, "ghost@example.com")
        .await
        .unwrap_err();
    // Graph's answer to a reference to nobody: 404.
    assert!(
        matches!(ghost, DomainError::NotFound("manager")),
        "{ghost:?}"
    );
    let updated = svc
        .set_manager(&hr, &ada.id, "boss@example.com")
        .await
        .unwrap();
    assert_eq!(updated.manager.as_deref(), Some(boss.id.as_str()));
    assert_eq!(
        svc.get_manager(&hr, &ada.id).await.unwrap().map(|u| u.id),
        Some(boss.id.clone())
    );
    svc.set_manager(&hr, &bob.id, &boss.id).await.unwrap();
    svc.clear_manager(&hr, &bob.id).await.unwrap();
    assert!(matches!(
        svc.clear_manager(&hr, &bob.id).await,
        Err(DomainError::NotFound("manager"))
    ));
    // A deleted manager reads as no manager.
    svc.delete_user(&hr, &boss.id).await.unwrap();
    assert_eq!(svc.get_manager(&hr, &ada.id).await.unwrap(), None);
    // An application never sets the manager of an administrator.
    let admin = &app.bootstrap.as_ref().unwrap().user;
    assert!(matches!(
        svc.set_manager(&hr, &admin.id, &ada.id).await,
        Err(DomainError::Forbidden(_))
    ));
    app.stop().await;
}

#[tokio::test]
async fn lookups_and_manager_embedded() {
    lookups_and_manager_on(Backend::Embedded).await;
}

#[tokio::test]
async fn lookups_and_manager_redis() {
    lookups_and_manager_on(Backend::Redis).await;
}

// ---- policy targets by group, honoured at sign-in ----

use crate::browser::Browser;
use crate::oidc_flow::{Rp, code_from, provision};
use onramp::domain::policy::{IncludeTargets, PolicyTarget};
use reqwest::Method;
use serde_json::json;

async fn tap_reason(app: &TestApp, user_id: &str) -> String {
    let (status, list) = app
        .api(
            Method::GET,
            &format!("/users/{user_id}/authentication/temporaryAccessPassMethods"),
            &app.hr_token().await,
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    list["value"][0]["methodUsabilityReason"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A user in a group the TAP policy excludes cannot sign in with a pass,
/// and the pass reads DisabledByPolicy; out of the group, it works.
async fn tap_policy_excludes_a_group_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let svc = &app.state.admin;
    let (user_id, passcode) = provision(&app, "grp@example.com", json!({})).await;
    let no_passes = new_group(&app, "No passes").await;
    svc.add_member(&app_caller(), &no_passes, &user_id)
        .await
        .unwrap();
    let target = no_passes.clone();
    svc.update_policy(&global_caller(&app), "temporaryAccessPass", move |p| {
        p.tap.exclude = vec![PolicyTarget::group(target.clone())];
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(tap_reason(&app, &user_id).await, "DisabledByPolicy");
    let rp = Rp::discover(&app, RP_ID).await;
    let browser = Browser::new(&app.base);
    let (url, _, _, _) = rp.authorize_url(&[]);
    let page = browser.open(&url).await;
    let refused = browser
        .sign_in_with_tap(&page, "grp@example.com", &passcode)
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("turned off"), "{}", refused.body);

    // Out of the group: the same pass signs in.
    svc.remove_member(&app_caller(), &no_passes, &user_id)
        .await
        .unwrap();
    assert_eq!(tap_reason(&app, &user_id).await, "EnabledByPolicy");
    let page = browser.open(&url).await;
    let after = browser
        .sign_in_with_tap(&page, "grp@example.com", &passcode)
        .await;
    assert_eq!(after.status, 303, "{}", after.body);

    // Included only through a group: the pass works for members only, and
    // a deleted group matches nobody.
    let pilots = new_group(&app, "Pilots").await;
    let target = pilots.clone();
    svc.update_policy(&global_caller(&app), "temporaryAccessPass", move |p| {
        p.tap.exclude.clear();
        p.tap.include = IncludeTargets::Targets(vec![PolicyTarget::group(target.clone())]);
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(tap_reason(&app, &user_id).await, "DisabledByPolicy");
    svc.add_member(&app_caller(), &pilots, &user_id)
        .await
        .unwrap();
    assert_eq!(tap_reason(&app, &user_id).await, "EnabledByPolicy");
    svc.delete_group(&app_caller(), &pilots).await.unwrap();
    assert_eq!(tap_reason(&app, &user_id).await, "DisabledByPolicy");
    app.stop().await;
}

#[tokio::test]
async fn tap_policy_excludes_a_group_embedded() {
    tap_policy_excludes_a_group_on(Backend::Embedded).await;
}

#[tokio::test]
async fn tap_policy_excludes_a_group_redis() {
    tap_policy_excludes_a_group_on(Backend::Redis).await;
}

/// The passkey (Fido2) policy's targets: a user outside them is not asked
/// to enroll and cannot register a passkey; inside, they must and can;
/// taken out again, their passkey no longer signs in.
async fn passkey_targets_decide_enrollment_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let svc = &app.state.admin;
    let pilots = new_group(&app, "Passkey pilots").await;
    let target = pilots.clone();
    svc.update_policy(&global_caller(&app), "fido2", move |p| {
        p.passkey.include = IncludeTargets::Targets(vec![PolicyTarget::group(target.clone())]);
        Ok(())
    })
    .await
    .unwrap();
    let (user_id, passcode) = provision(&app, "pilot@example.com", json!({})).await;
    let rp = Rp::discover(&app, RP_ID).await;

    // Outside the targets: no enrollment step, straight back with a code.
    let mut browser = Browser::new(&app.base);
    let (url, _, _, _) = rp.authorize_url(&[]);
    let page = browser.open(&url).await;
    let after = browser
        .sign_in_with_tap(&page, "pilot@example.com", &passcode)
        .await;
    let back = browser.follow(after).await;
    let (code, _, _) = code_from(&back);
    assert!(!code.is_empty());
    // The enrollment page is not even offered; registering is refused,
    // though the session is inside its enrollment window.
    let skipped = browser.get("/enroll?r=none").await;
    assert_eq!(skipped.status, 302, "{}", skipped.body);
    let page = browser.get("/account/security").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("enroll-start"), "{}", page.body);
    let (status, body) = browser
        .post_json(
            "/enroll/options",
            &page.field("csrf"),
            json!({ "r": "none" }),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.to_string().contains("does not let you"), "{body}");

    // In the group: asked to enroll, and it works.
    svc.add_member(&app_caller(), &pilots, &user_id)
        .await
        .unwrap();
    let (url, _, _, _) = rp.authorize_url(&[("prompt", "login")]);
    let page = browser.open(&url).await;
    let after = browser
        .sign_in_with_tap(&page, "pilot@example.com", &passcode)
        .await;
    let enroll_page = browser.follow(after).await;
    assert_eq!(enroll_page.status, 200, "{}", enroll_page.body);
    assert!(
        enroll_page.body.contains("Set up your passkey"),
        "{}",
        enroll_page.body
    );
    // Required now: no skip.
    assert!(
        !enroll_page.body.contains("/enroll/skip"),
        "{}",
        enroll_page.body
    );
    let back = browser.enroll(&enroll_page).await;
    assert!(!code_from(&back).0.is_empty());
    assert_eq!(app.store.list_credentials(&user_id).await.unwrap().len(), 1);
    // (The test clock stands still: a moment later, prompt=login asks.)
    app.clock.advance(time::Duration::seconds(1));
    let (url, _, _, _) = rp.authorize_url(&[("prompt", "login")]);
    let page = browser.open(&url).await;
    let (status, done) = browser
        .sign_in_with_passkey(&page, "pilot@example.com")
        .await;
    assert_eq!(status, 200, "{done}");

    // Out of the group: the passkey no longer signs in.
    svc.remove_member(&app_caller(), &pilots, &user_id)
        .await
        .unwrap();
    app.clock.advance(time::Duration::seconds(1));
    let (url, _, _, _) = rp.authorize_url(&[("prompt", "login")]);
    let page = browser.open(&url).await;
    let (status, done) = browser
        .sign_in_with_passkey(&page, "pilot@example.com")
        .await;
    assert_eq!(status, 403, "{done}");
    assert!(done.to_string().contains("turned off"), "{done}");
    app.stop().await;
}

#[tokio::test]
async fn passkey_targets_decide_enrollment_embedded() {
    passkey_targets_decide_enrollment_on(Backend::Embedded).await;
}

#[tokio::test]
async fn passkey_targets_decide_enrollment_redis() {
    passkey_targets_decide_enrollment_on(Backend::Redis).await;
}

/// Two administrators editing the TAP and the Fido2 settings at the same
/// moment: each edit either lands or is refused as a conflict (409), and
/// no landed edit is undone by the other (a read-modify-write of the whole
/// policy lost one of them).
async fn concurrent_policy_edits_never_undo_each_other_on(backend: Backend) {
    let store = StoreHandle::new(backend);
    let app = TestApp::spawn(&store).await;
    let svc = &app.state.admin;
    let caller = global_caller(&app);
    let mut landed_both = 0;
    for round in 0..40u32 {
        let length = 8 + round % 40;
        let window = 1 + round;
        let (a, b) = tokio::join!(
            svc.update_policy(&caller, "temporaryAccessPass", move |p| {
                p.tap.default_length = length;
                Ok(())
            }),
            svc.update_policy(&caller, "fido2", move |p| {
                p.passkey.enrollment_window_minutes = window;
                Ok(())
            }),
        );
        for r in [&a, &b] {
            if let Err(e) = r {
                assert!(matches!(e, DomainError::Conflict(_)), "{e:?}");
            }
        }
        let now = svc.policy().await.unwrap();
        if a.is_ok() {
            assert_eq!(
                now.tap.default_length, length,
                "round {round}: the TAP edit was undone"
            );
        }
        if b.is_ok() {
            assert_eq!(
                now.passkey.enrollment_window_minutes, window,
                "round {round}: the Fido2 edit was undone"
            );
        }
        landed_both += u32::from(a.is_ok() && b.is_ok());
    }
    // A lost compare-and-set is applied again on top of the winner, so
    // both edits land (a 409 only after repeated losses).
    assert_eq!(landed_both, 40);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_policy_edits_never_undo_each_other_embedded() {
    concurrent_policy_edits_never_undo_each_other_on(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_policy_edits_never_undo_each_other_redis() {
    concurrent_policy_edits_never_undo_each_other_on(Backend::Redis).await;
}
