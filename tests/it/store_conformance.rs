//! One conformance suite, run against every backend.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use onramp::domain::audit::{Actor, AuditEvent, AuditEventType, AuditFilter, Outcome, Target};
use onramp::domain::client::{Client, ClientAuthMethod, GrantType, SigningAlg};
use onramp::domain::credential::{PasskeyCredential, PasskeyState};
use onramp::domain::group::{Group, NewGroup};
use onramp::domain::lockout::{self, Bucket, Op, Rules, Verdict};
use onramp::domain::policy::Policy;
use onramp::domain::signing_key::{KeySetRecord, KeyState, SigningKeyRecord};
use onramp::domain::tap::Tap;
use onramp::domain::user::{NewUser, User};
use onramp::store::batch::Put;
use onramp::store::embedded::EmbeddedStore;
use onramp::store::redis::RedisStore;
use onramp::store::{
    AuditStore, Change, EphemeralStore, GroupStore, LockoutStore, Ns, SharedStore, Store,
    StoreError, TapStore, TapUse, UserStore,
};
use time::{Duration, OffsetDateTime};

use crate::helpers::{RedisCluster, RedisServer};

fn t0() -> OffsetDateTime {
    time::macros::datetime!(2026-11-25 12:00 UTC)
}

fn user(id: &str, upn: &str) -> User {
    NewUser {
        upn: upn.into(),
        display_name: format!("User {id}"),
        ..Default::default()
    }
    .into_user(id.into(), t0())
    .unwrap()
}

fn tap(id: &str, once: bool) -> Tap {
    Tap {
        id: id.into(),
        hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        created: t0(),
        start: t0(),
        lifetime_minutes: 60,
        is_usable_once: once,
        used_at: None,
    }
}

fn cred(id: &str, user_id: &str, minute: i64) -> PasskeyCredential {
    PasskeyCredential {
        id: id.into(),
        user_id: user_id.into(),
        name: format!("Passkey {id}"),
        created: t0() + Duration::minutes(minute),
        last_used: None,
        aaguid: None,
        backup_eligible: true,
        backup_state: false,
        passkey: PasskeyState::of(&serde_json::json!({"cred": id})).unwrap(),
    }
}

async fn run_suite(store: SharedStore) {
    users(&store).await;
    taps(&store).await;
    credentials(&store).await;
    clients_and_singletons(&store).await;
    audit(&store).await;
    audited_changes(&store).await;
    audited_then(&store).await;
    audit_retention(&store).await;
    ephemeral(&store).await;
    concurrency(&store).await;
    lockouts(&store).await;
    compare_and_swap(&store).await;
    lookup_indexes(&store).await;
    groups(&store).await;
    memberships(&store).await;
    audited_group_changes(&store).await;
    concurrent_memberships(&store).await;
    scheduled_taps(&store).await;
}

/// The onboarding claim: one pass per (user, hire date), of any number of
/// concurrent issuers, with its event; a new hire date is a new claim; the
/// claims go with the user.
async fn scheduled_taps(store: &SharedStore) {
    let kim = user("u-kim", "kim@example.com");
    store.create_user(&kim).await.unwrap();
    assert_eq!(
        store.scheduled_tap("u-kim", "2027-01-15").await.unwrap(),
        None
    );
    let issue = |n: usize| {
        let store = store.clone();
        async move {
            let t = tap(&format!("sched-{n}"), false);
            let change = Change::IssueScheduledTap {
                user_id: "u-kim",
                hire_date: "2027-01-15",
                tap: &t,
            };
            store
                .apply_audited(change, &event(&format!("ev-sched-{n}"), "u-kim"))
                .await
                .unwrap()
        }
    };
    let won: Vec<bool> = futures_util::future::join_all((0..8).map(issue)).await;
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
    let winner = won.iter().position(|w| *w).unwrap();
    let id = format!("sched-{winner}");
    assert_eq!(
        store.scheduled_tap("u-kim", "2027-01-15").await.unwrap(),
        Some(id.clone())
    );
    assert_eq!(store.get_tap("u-kim").await.unwrap().unwrap().id, id);
    // Only the winner's event was written.
    let events = events_about(store, "u-kim").await;
    assert_eq!(events, vec![format!("ev-sched-{winner}")]);
    // The claim outlives the pass: deleting the pass does not let the
    // scheduler issue the same hire date again.
    assert!(store.delete_tap("u-kim", &id).await.unwrap());
    assert!(!issue(100).await);
    assert_eq!(store.get_tap("u-kim").await.unwrap(), None);
    // Another hire date is another claim.
    let later = tap("sched-later", false);
    assert!(
        store
            .apply_audited(
                Change::IssueScheduledTap {
                    user_id: "u-kim",
                    hire_date: "2027-02-01",
                    tap: &later,
                },
                &event("ev-sched-later", "u-kim"),
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_tap("u-kim").await.unwrap().unwrap().id,
        "sched-later"
    );
    assert_eq!(
        store.scheduled_tap("u-kim", "2027-01-15").await.unwrap(),
        Some(id)
    );
    // Deleting the user takes the claims along.
    assert!(store.delete_user("u-kim").await.unwrap());
    assert_eq!(
        store.scheduled_tap("u-kim", "2027-01-15").await.unwrap(),
        None
    );
    assert_eq!(
        store.scheduled_tap("u-kim", "2027-02-01").await.unwrap(),
        None
    );
}

fn group(id: &str, name: &str) -> Group {
    NewGroup {
        display_name: Some(name.into()),
        mail_nickname: Some(id.into()),
        ..Default::default()
    }
    .into_group(id.into(), t0())
    .unwrap()
}

fn ids_of(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.id.as_str()).collect()
}

fn group_ids(groups: &[Group]) -> Vec<&str> {
    groups.iter().map(|g| g.id.as_str()).collect()
}

/// The mail and employeeId indexes (not unique, case-insensitive) stay
/// exact through every user write; the user count is exact too.
async fn lookup_indexes(store: &SharedStore) {
    // Whatever came before in the suite, the first run marks the indexes
    // complete; later runs are no-ops.
    store.reindex_users().await.unwrap();
    assert_eq!(store.reindex_users().await.unwrap(), 0);
    let base = store.count_users().await.unwrap();
    let mut a = user("ix-a", "ix-a@example.com");
    a.mail = Some("Shared@Example.com".into());
    a.employee_id = Some("E-1".into());
    let mut b = user("ix-b", "ix-b@example.com");
    b.mail = Some("shared@example.com".into());
    b.employee_id = Some("e-1".into());
    store.create_user(&b).await.unwrap();
    store.create_user(&a).await.unwrap();
    assert_eq!(store.count_users().await.unwrap(), base + 2);
    let by_mail = |k: &'static str| {
        let s = store.clone();
        async move { s.find_users_by_mail(k).await.unwrap() }
    };
    let by_emp = |k: &'static str| {
        let s = store.clone();
        async move { s.find_users_by_employee_id(k).await.unwrap() }
    };
    assert_eq!(
        ids_of(&by_mail("shared@example.com").await),
        ["ix-a", "ix-b"]
    );
    assert_eq!(by_mail("shared@example.com").await[0], a);
    assert_eq!(ids_of(&by_emp("e-1").await), ["ix-a", "ix-b"]);
    assert!(by_mail("nobody@example.com").await.is_empty());
    assert!(by_emp("e-2").await.is_empty());

    // A mail change moves the entry.
    let before = a.clone();
    a.mail = Some("a2@example.com".into());
    store.update_user(&a).await.unwrap();
    assert_eq!(ids_of(&by_mail("shared@example.com").await), ["ix-b"]);
    assert_eq!(ids_of(&by_mail("a2@example.com").await), ["ix-a"]);
    // An employeeId cleared and one changed.
    b.employee_id = None;
    store.update_user(&b).await.unwrap();
    assert_eq!(ids_of(&by_emp("e-1").await), ["ix-a"]);
    b.employee_id = Some("E-2".into());
    store.update_user(&b).await.unwrap();
    assert_eq!(ids_of(&by_emp("e-2").await), ["ix-b"]);
    // A rename keeps the entries, and the record found is the new one.
    a.upn = onramp::domain::user::Upn::parse("ix-a2@example.com").unwrap();
    store.update_user(&a).await.unwrap();
    assert_eq!(by_mail("a2@example.com").await, [a.clone()]);
    assert_eq!(by_emp("e-1").await, [a.clone()]);
    // A refused write (stale compare-and-set, taken UPN) moves nothing.
    let mut stale = before.clone();
    stale.mail = Some("stale@example.com".into());
    let change = Change::UpdateUser {
        user: &stale,
        prior: Some(&before),
    };
    assert!(matches!(
        store.apply_audited(change, &event("ix-e1", "ix-a")).await,
        Err(StoreError::Conflict(_))
    ));
    let mut clash = b.clone();
    clash.upn = a.upn.clone();
    clash.mail = Some("clash@example.com".into());
    assert!(matches!(
        store.update_user(&clash).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(by_mail("stale@example.com").await.is_empty());
    assert!(by_mail("clash@example.com").await.is_empty());
    assert_eq!(ids_of(&by_mail("a2@example.com").await), ["ix-a"]);
    // A taken UPN on create indexes nothing either.
    let mut twin = user("ix-twin", "IX-B@example.com");
    twin.mail = Some("twin@example.com".into());
    assert!(store.create_user(&twin).await.is_err());
    assert!(by_mail("twin@example.com").await.is_empty());
    assert_eq!(store.count_users().await.unwrap(), base + 2);

    // Delete removes the entries and counts down.
    assert!(store.delete_user("ix-a").await.unwrap());
    assert!(by_mail("a2@example.com").await.is_empty());
    assert!(by_emp("e-1").await.is_empty());
    assert_eq!(store.count_users().await.unwrap(), base + 1);
    assert!(!store.delete_user("ix-a").await.unwrap());
    assert_eq!(store.count_users().await.unwrap(), base + 1);
    assert!(store.delete_user("ix-b").await.unwrap());
    assert!(by_mail("shared@example.com").await.is_empty());
    assert!(by_emp("e-2").await.is_empty());
    assert_eq!(store.count_users().await.unwrap(), base);
    // The same values can be used again.
    let mut again = user("ix-c", "ix-c@example.com");
    again.mail = Some("SHARED@example.com".into());
    store.create_user(&again).await.unwrap();
    assert_eq!(ids_of(&by_mail("shared@example.com").await), ["ix-c"]);
    assert!(store.delete_user("ix-c").await.unwrap());
}

async fn groups(store: &SharedStore) {
    let base = store.count_groups().await.unwrap();
    let beta = group("g-1", "Beta");
    let alpha = group("g-2", "alpha");
    let alpha2 = group("g-3", "Alpha");
    for g in [&beta, &alpha, &alpha2] {
        store.create_group(g).await.unwrap();
    }
    assert!(matches!(
        store.create_group(&beta).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.count_groups().await.unwrap(), base + 3);
    assert_eq!(store.get_group("g-1").await.unwrap(), Some(beta.clone()));
    assert_eq!(store.get_group("g-none").await.unwrap(), None);
    // By display name ignoring case, then id; paged by order key.
    let all = store.list_groups(None, 10).await.unwrap();
    assert_eq!(group_ids(&all), ["g-2", "g-3", "g-1"]);
    let page = store.list_groups(None, 2).await.unwrap();
    assert_eq!(group_ids(&page), ["g-2", "g-3"]);
    let rest = store
        .list_groups(Some(&page[1].order_key()), 2)
        .await
        .unwrap();
    assert_eq!(group_ids(&rest), ["g-1"]);

    // A rename re-sorts; a stale compare-and-set is refused.
    let mut renamed = beta.clone();
    renamed.display_name = "Aardvark".into();
    store.update_group(&renamed, Some(&beta)).await.unwrap();
    let all = store.list_groups(None, 10).await.unwrap();
    assert_eq!(group_ids(&all), ["g-1", "g-2", "g-3"]);
    let mut stale = beta.clone();
    stale.description = Some("stale".into());
    assert!(matches!(
        store.update_group(&stale, Some(&beta)).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_group("g-1").await.unwrap(), Some(renamed.clone()));
    let ghost = group("g-ghost", "Ghost");
    assert!(matches!(
        store.update_group(&ghost, None).await,
        Err(StoreError::NotFound)
    ));
    // Without a prior version the write wins.
    let mut described = renamed.clone();
    described.description = Some("first".into());
    store.update_group(&described, None).await.unwrap();
    assert_eq!(store.get_group("g-1").await.unwrap(), Some(described));

    for id in ["g-1", "g-2", "g-3"] {
        assert!(store.delete_group(id).await.unwrap());
    }
    assert!(!store.delete_group("g-1").await.unwrap());
    assert_eq!(store.count_groups().await.unwrap(), base);
    assert!(
        store
            .list_groups(None, 10)
            .await
            .unwrap()
            .iter()
            .all(|g| !g.id.starts_with("g-"))
    );
}

/// Members and the reverse index user → groups, through adds, removals
/// and the deletion of users and groups.
async fn memberships(store: &SharedStore) {
    for (id, upn) in [
        ("m-1", "m-1@example.com"),
        ("m-2", "m-2@example.com"),
        ("m-3", "m-3@example.com"),
    ] {
        store.create_user(&user(id, upn)).await.unwrap();
    }
    let staff = group("gm-staff", "Staff");
    let pilots = group("gm-pilots", "Pilots");
    store.create_group(&staff).await.unwrap();
    store.create_group(&pilots).await.unwrap();

    store.add_member("gm-staff", "m-2").await.unwrap();
    store.add_member("gm-staff", "m-1").await.unwrap();
    store.add_member("gm-pilots", "m-1").await.unwrap();
    // A second add of the same member, and unknown groups or users.
    assert!(matches!(
        store.add_member("gm-staff", "m-1").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.add_member("gm-staff", "nobody").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.add_member("gm-none", "m-1").await,
        Err(StoreError::NotFound)
    ));
    assert!(store.groups_of_user("nobody").await.unwrap().is_empty());
    assert!(store.is_member("gm-staff", "m-1").await.unwrap());
    assert!(!store.is_member("gm-pilots", "m-2").await.unwrap());
    let members = store.list_members("gm-staff", None, 10).await.unwrap();
    assert_eq!(ids_of(&members), ["m-1", "m-2"]);
    let page = store.list_members("gm-staff", None, 1).await.unwrap();
    assert_eq!(ids_of(&page), ["m-1"]);
    let rest = store
        .list_members("gm-staff", Some("m-1"), 10)
        .await
        .unwrap();
    assert_eq!(ids_of(&rest), ["m-2"]);
    assert!(
        store
            .list_members("gm-none", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.groups_of_user("m-1").await.unwrap(),
        ["gm-pilots", "gm-staff"]
    );
    assert_eq!(store.groups_of_user("m-2").await.unwrap(), ["gm-staff"]);
    assert!(store.groups_of_user("m-3").await.unwrap().is_empty());

    // Remove: present once, then absent.
    assert!(store.remove_member("gm-pilots", "m-1").await.unwrap());
    assert!(!store.remove_member("gm-pilots", "m-1").await.unwrap());
    assert!(!store.remove_member("gm-pilots", "m-3").await.unwrap());
    assert!(!store.remove_member("gm-none", "m-1").await.unwrap());
    assert_eq!(store.groups_of_user("m-1").await.unwrap(), ["gm-staff"]);
    assert!(
        store
            .list_members("gm-pilots", None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Deleting a user takes them out of every group.
    store.add_member("gm-pilots", "m-1").await.unwrap();
    assert!(store.delete_user("m-1").await.unwrap());
    assert_eq!(
        ids_of(&store.list_members("gm-staff", None, 10).await.unwrap()),
        ["m-2"]
    );
    assert!(
        store
            .list_members("gm-pilots", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!store.is_member("gm-staff", "m-1").await.unwrap());
    // Nothing is left behind for a record that reuses the id.
    store
        .create_user(&user("m-1", "m-1b@example.com"))
        .await
        .unwrap();
    assert!(store.groups_of_user("m-1").await.unwrap().is_empty());
    assert!(!store.remove_member("gm-staff", "m-1").await.unwrap());

    // Deleting a group takes its members out of it.
    store.add_member("gm-pilots", "m-2").await.unwrap();
    store.add_member("gm-pilots", "m-3").await.unwrap();
    assert!(store.delete_group("gm-pilots").await.unwrap());
    assert_eq!(store.groups_of_user("m-2").await.unwrap(), ["gm-staff"]);
    assert!(store.groups_of_user("m-3").await.unwrap().is_empty());
    assert!(
        store
            .list_members("gm-pilots", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A new group with the old id starts empty.
    store.create_group(&pilots).await.unwrap();
    assert!(
        store
            .list_members("gm-pilots", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.delete_group("gm-pilots").await.unwrap());
    assert!(store.delete_group("gm-staff").await.unwrap());
    assert!(store.groups_of_user("m-2").await.unwrap().is_empty());
    for id in ["m-1", "m-2", "m-3"] {
        assert!(store.delete_user(id).await.unwrap());
    }
}

/// Every group change and its audit event are written together or not
/// at all, as for users.
async fn audited_group_changes(store: &SharedStore) {
    store
        .create_user(&user("ga-u", "ga-u@example.com"))
        .await
        .unwrap();
    let g = group("ga-g", "Audited");
    assert!(
        store
            .apply_audited(Change::CreateGroup(&g), &event("ga1", "ga-g"))
            .await
            .unwrap()
    );
    assert_eq!(events_about(store, "ga-g").await, ["ga1"]);
    let err = store
        .apply_audited(Change::CreateGroup(&g), &event("ga2", "ga-g"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(events_about(store, "ga-g").await, ["ga1"]);

    let mut renamed = g.clone();
    renamed.display_name = "Renamed".into();
    let update = Change::UpdateGroup {
        group: &renamed,
        prior: Some(&g),
    };
    assert!(
        store
            .apply_audited(update, &event("ga3", "ga-g"))
            .await
            .unwrap()
    );
    let stale = Change::UpdateGroup {
        group: &g,
        prior: Some(&g),
    };
    let err = store
        .apply_audited(stale, &event("ga4", "ga-g"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(events_about(store, "ga-g").await, ["ga3", "ga1"]);

    let add = Change::AddMember {
        group_id: "ga-g",
        user_id: "ga-u",
    };
    assert!(
        store
            .apply_audited(add, &event("gm1", "ga-u"))
            .await
            .unwrap()
    );
    let err = store
        .apply_audited(add, &event("gm2", "ga-u"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let ghost = Change::AddMember {
        group_id: "ga-g",
        user_id: "ga-nobody",
    };
    let err = store
        .apply_audited(ghost, &event("gm3", "ga-nobody"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert!(events_about(store, "ga-nobody").await.is_empty());
    let remove = Change::RemoveMember {
        group_id: "ga-g",
        user_id: "ga-u",
    };
    assert!(
        store
            .apply_audited(remove, &event("gm4", "ga-u"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .apply_audited(remove, &event("gm5", "ga-u"))
            .await
            .unwrap()
    );
    assert_eq!(events_about(store, "ga-u").await, ["gm4", "gm1"]);

    assert!(
        store
            .apply_audited(Change::DeleteGroup("ga-g"), &event("ga5", "ga-g"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .apply_audited(Change::DeleteGroup("ga-g"), &event("ga6", "ga-g"))
            .await
            .unwrap()
    );
    assert_eq!(events_about(store, "ga-g").await, ["ga5", "ga3", "ga1"]);
    assert_eq!(store.get_group("ga-g").await.unwrap(), None);
    assert!(store.delete_user("ga-u").await.unwrap());
}

/// Concurrent adds of one member: exactly one succeeds, the others see a
/// member already; the member list and the reverse index hold it once.
async fn concurrent_memberships(store: &SharedStore) {
    store
        .create_user(&user("gc-u", "gc-u@example.com"))
        .await
        .unwrap();
    store.create_group(&group("gc-g", "Race")).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let s = store.clone();
        tasks.push(tokio::spawn(
            async move { s.add_member("gc-g", "gc-u").await },
        ));
    }
    let (mut added, mut conflicts) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => added += 1,
            Err(StoreError::Conflict(_)) => conflicts += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((added, conflicts), (1, 19), "exactly one add wins");
    assert_eq!(
        ids_of(&store.list_members("gc-g", None, 10).await.unwrap()),
        ["gc-u"]
    );
    assert_eq!(store.groups_of_user("gc-u").await.unwrap(), ["gc-g"]);
    // Removals race the same way: one removes, the others find nothing.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.remove_member("gc-g", "gc-u").await.unwrap()
        }));
    }
    let mut removed = 0;
    for t in tasks {
        if t.await.unwrap() {
            removed += 1;
        }
    }
    assert_eq!(removed, 1);
    assert!(store.groups_of_user("gc-u").await.unwrap().is_empty());
    assert!(store.delete_group("gc-g").await.unwrap());
    assert!(store.delete_user("gc-u").await.unwrap());
}

async fn users(store: &SharedStore) {
    assert!(!store.has_users().await.unwrap());
    let ada = user("u-ada", "Ada@Example.com");
    store.create_user(&ada).await.unwrap();
    assert!(store.has_users().await.unwrap());
    assert_eq!(store.get_user("u-ada").await.unwrap(), Some(ada.clone()));
    assert_eq!(
        store.find_user_by_upn("ada@example.com").await.unwrap(),
        Some(ada.clone())
    );
    assert_eq!(store.get_user("nobody").await.unwrap(), None);
    // UPNs are unique regardless of case.
    let dup = user("u-other", "ADA@example.COM");
    assert!(matches!(
        store.create_user(&dup).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_user("u-other").await.unwrap(), None);

    for (id, upn) in [
        ("u-c", "carol@example.com"),
        ("u-b", "bob@example.com"),
        ("u-d", "dan@example.com"),
    ] {
        store.create_user(&user(id, upn)).await.unwrap();
    }
    let page1 = store.list_users(None, 2).await.unwrap();
    let names: Vec<_> = page1.iter().map(|u| u.upn.key()).collect();
    assert_eq!(names, ["ada@example.com", "bob@example.com"]);
    let page2 = store.list_users(Some("bob@example.com"), 10).await.unwrap();
    let names: Vec<_> = page2.iter().map(|u| u.upn.key()).collect();
    assert_eq!(names, ["carol@example.com", "dan@example.com"]);

    // Rename: the old UPN is freed, the new one indexed, listing follows.
    let mut renamed = store.get_user("u-b").await.unwrap().unwrap();
    renamed.upn = onramp::domain::user::Upn::parse("zed@example.com").unwrap();
    store.update_user(&renamed).await.unwrap();
    assert_eq!(
        store.find_user_by_upn("bob@example.com").await.unwrap(),
        None
    );
    assert_eq!(
        store
            .find_user_by_upn("zed@example.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        "u-b"
    );
    let all: Vec<_> = store
        .list_users(None, 10)
        .await
        .unwrap()
        .iter()
        .map(|u| u.id.clone())
        .collect();
    assert_eq!(all, ["u-ada", "u-c", "u-d", "u-b"]);
    store
        .create_user(&user("u-bob2", "bob@example.com"))
        .await
        .unwrap();
    // Renaming onto a taken UPN is refused and changes nothing.
    let mut clash = store.get_user("u-c").await.unwrap().unwrap();
    clash.upn = onramp::domain::user::Upn::parse("Zed@example.com").unwrap();
    assert!(matches!(
        store.update_user(&clash).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_user("u-c").await.unwrap().unwrap().upn.as_str(),
        "carol@example.com"
    );
    let ghost = user("u-ghost", "ghost@example.com");
    assert!(matches!(
        store.update_user(&ghost).await,
        Err(StoreError::NotFound)
    ));

    // Delete removes the user, their index entry, pass and passkeys.
    store.put_tap("u-d", &tap("t-d", false)).await.unwrap();
    store.add_credential(&cred("c-d", "u-d", 0)).await.unwrap();
    assert!(store.delete_user("u-d").await.unwrap());
    assert!(!store.delete_user("u-d").await.unwrap());
    assert_eq!(store.get_user("u-d").await.unwrap(), None);
    assert_eq!(
        store.find_user_by_upn("dan@example.com").await.unwrap(),
        None
    );
    assert_eq!(store.get_tap("u-d").await.unwrap(), None);
    assert_eq!(store.find_credential("c-d").await.unwrap(), None);
    assert!(store.list_credentials("u-d").await.unwrap().is_empty());
    // The UPN can be used again.
    store
        .create_user(&user("u-dan2", "dan@example.com"))
        .await
        .unwrap();
}

async fn taps(store: &SharedStore) {
    assert_eq!(store.get_tap("u-ada").await.unwrap(), None);
    store.put_tap("u-ada", &tap("t1", true)).await.unwrap();
    // One pass per user: a new one replaces the old.
    store.put_tap("u-ada", &tap("t2", true)).await.unwrap();
    assert_eq!(store.get_tap("u-ada").await.unwrap().unwrap().id, "t2");
    assert!(!store.delete_tap("u-ada", "t1").await.unwrap());
    assert_eq!(
        store.record_tap_use("u-ada", "t1", t0()).await.unwrap(),
        TapUse::Missing
    );
    assert_eq!(
        store.record_tap_use("u-ada", "t2", t0()).await.unwrap(),
        TapUse::Recorded
    );
    assert_eq!(
        store.record_tap_use("u-ada", "t2", t0()).await.unwrap(),
        TapUse::AlreadyUsed
    );
    assert_eq!(
        store.get_tap("u-ada").await.unwrap().unwrap().used_at,
        Some(t0())
    );
    // A multi-use pass can be used again.
    store.put_tap("u-ada", &tap("t3", false)).await.unwrap();
    assert_eq!(
        store.record_tap_use("u-ada", "t3", t0()).await.unwrap(),
        TapUse::Recorded
    );
    assert_eq!(
        store.record_tap_use("u-ada", "t3", t0()).await.unwrap(),
        TapUse::Recorded
    );
    assert!(store.delete_tap("u-ada", "t3").await.unwrap());
    assert_eq!(store.get_tap("u-ada").await.unwrap(), None);
}

async fn credentials(store: &SharedStore) {
    store.add_credential(&cred("c2", "u-ada", 2)).await.unwrap();
    store.add_credential(&cred("c1", "u-ada", 1)).await.unwrap();
    store.add_credential(&cred("c3", "u-c", 0)).await.unwrap();
    assert!(matches!(
        store.add_credential(&cred("c1", "u-c", 5)).await,
        Err(StoreError::Conflict(_))
    ));
    let ids: Vec<_> = store
        .list_credentials("u-ada")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["c1", "c2"], "ordered by creation");
    assert_eq!(
        store.find_credential("c3").await.unwrap().unwrap().user_id,
        "u-c"
    );
    let mut updated = cred("c1", "u-ada", 1);
    updated.last_used = Some(t0() + Duration::hours(1));
    updated.name = "Laptop".into();
    assert!(store.update_credential(&updated).await.unwrap());
    assert_eq!(store.find_credential("c1").await.unwrap().unwrap(), updated);
    assert!(
        !store
            .update_credential(&cred("nope", "u-ada", 0))
            .await
            .unwrap()
    );
    // Another user cannot delete it.
    assert!(!store.delete_credential("u-c", "c1").await.unwrap());
    assert!(store.delete_credential("u-ada", "c1").await.unwrap());
    assert_eq!(store.find_credential("c1").await.unwrap(), None);
    assert_eq!(store.list_credentials("u-ada").await.unwrap().len(), 1);
}

async fn clients_and_singletons(store: &SharedStore) {
    let c = Client {
        id: "app".into(),
        name: Some("App".into()),
        secret_sha256: Some([7; 32]),
        redirect_uris: vec!["https://app/cb".into()],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        grant_types: vec![GrantType::AuthorizationCode],
        auth_method: ClientAuthMethod::ClientSecretBasic,
        id_token_alg: SigningAlg::RS256,
        access_token_alg: SigningAlg::ES256,
        permissions: vec![],
        delegated_permissions: vec![],
        jwks: None,
        introspection_audiences: vec!["https://api.example".into()],
    };
    store.put_client(&c).await.unwrap();
    assert_eq!(store.get_client("app").await.unwrap(), Some(c.clone()));
    assert_eq!(store.list_clients().await.unwrap(), vec![c]);
    assert!(store.delete_client("app").await.unwrap());
    assert!(!store.delete_client("app").await.unwrap());
    assert_eq!(store.get_client("app").await.unwrap(), None);

    assert_eq!(store.get_policy().await.unwrap(), None);
    let mut p = Policy::default();
    p.tap.is_usable_once = true;
    // Nothing stored reads as the default: a prior other than it loses.
    let lost = store
        .apply_audited(
            Change::PutPolicy {
                policy: &p,
                prior: Some(&p),
            },
            &event("a0", "policy"),
        )
        .await
        .unwrap_err();
    assert!(matches!(lost, StoreError::Conflict(_)), "{lost:?}");
    assert_eq!(store.get_policy().await.unwrap(), None);
    store.put_policy(&p).await.unwrap();
    assert_eq!(store.get_policy().await.unwrap(), Some(p));

    let keyset = |kid: &str, version: u64| KeySetRecord {
        version,
        keys: vec![SigningKeyRecord {
            kid: kid.into(),
            alg: SigningAlg::ES256,
            pkcs8_der_b64: "AA==".into(),
            created: t0(),
            state: KeyState::Active,
            not_before: None,
            retire_until: None,
        }],
    };
    assert_eq!(store.get_keyset().await.unwrap(), None);
    // Concurrent creators: the first writer wins and all see the same set.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.create_keyset(&keyset(&format!("k{i}"), 1)).await.unwrap()
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        winners.push(t.await.unwrap());
    }
    assert!(winners.iter().all(|w| *w == winners[0]));
    assert_eq!(
        store.get_keyset().await.unwrap().as_ref(),
        Some(&winners[0])
    );
    assert!(!store.replace_keyset(7, &keyset("kx", 8)).await.unwrap());
    assert!(store.replace_keyset(1, &keyset("k-new", 2)).await.unwrap());
    assert_eq!(
        store.get_keyset().await.unwrap().unwrap().keys[0].kid,
        "k-new"
    );
}

fn event(id: &str, target: &str) -> AuditEvent {
    AuditEvent {
        id: id.into(),
        time: t0() + Duration::hours(1),
        event_type: AuditEventType::UserCreated,
        actor: Actor::user("admin"),
        target: Some(Target {
            kind: "user".into(),
            id: target.into(),
            display: None,
        }),
        client_address: None,
        request_id: Some(format!("req-{id}")),
        outcome: Outcome::Success,
        detail: None,
        also: vec![],
    }
}

async fn events_about(store: &SharedStore, target: &str) -> Vec<String> {
    let filter = AuditFilter {
        target_id: Some(target.into()),
        ..AuditFilter::default()
    };
    let page = store.list_audit(&filter, None, 100).await.unwrap();
    page.events.into_iter().map(|e| e.id).collect()
}

/// A passkey's use with what follows it (a sign-in's session, code and
/// `code.issued`): the records and the further events only if the change
/// applied; a record already expired is not stored. A new passkey with a
/// further event likewise.
async fn audited_then(store: &SharedStore) {
    let now = t0();
    let later = now + Duration::minutes(5);
    let owner = user("u-then", "then@example.com");
    store.create_user(&owner).await.unwrap();
    let mut used = cred("c-then", "u-then", 0);
    assert!(
        store
            .apply_audited(Change::AddCredential(&used), &event("th0", "u-then"))
            .await
            .unwrap()
    );
    used.last_used = Some(now);
    let puts = [
        Put {
            ns: Ns::Session,
            id: "s-then",
            value: b"session".to_vec(),
            expires_at: later,
        },
        Put {
            ns: Ns::Code,
            id: "k-then",
            value: b"code".to_vec(),
            expires_at: later,
        },
        Put {
            ns: Ns::Ceremony,
            id: "gone-then",
            value: b"stale".to_vec(),
            expires_at: now - Duration::seconds(1),
        },
    ];
    let change = Change::UpdateCredential {
        cred: &used,
        prior: None,
    };
    let also = [event("th2", "u-then"), event("th3", "u-then")];
    assert!(
        store
            .apply_audited_then(change, &event("th1", "u-then"), &puts, &also, now)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get(Ns::Session, "s-then", now)
            .await
            .unwrap()
            .as_deref(),
        Some(&b"session"[..])
    );
    assert_eq!(
        store.get(Ns::Code, "k-then", now).await.unwrap().as_deref(),
        Some(&b"code"[..])
    );
    assert_eq!(
        store.get(Ns::Ceremony, "gone-then", now).await.unwrap(),
        None
    );
    let mut ids = events_about(store, "u-then").await;
    ids.sort();
    assert_eq!(ids, ["th0", "th1", "th2", "th3"]);
    assert_eq!(
        store.list_credentials("u-then").await.unwrap()[0].last_used,
        Some(now)
    );
    // Every event was moved: nothing left for recovery.
    assert_eq!(store.recover_audit().await.unwrap(), 0);

    // The passkey deleted meanwhile: no session, no code, no events.
    assert!(
        store
            .apply_audited(
                Change::DeleteCredential {
                    user_id: "u-then",
                    cred_id: "c-then",
                },
                &event("th4", "u-then"),
            )
            .await
            .unwrap()
    );
    let puts = [Put {
        ns: Ns::Session,
        id: "s-then-2",
        value: b"session".to_vec(),
        expires_at: later,
    }];
    let change = Change::UpdateCredential {
        cred: &used,
        prior: None,
    };
    let also = [event("th6", "u-then")];
    assert!(
        !store
            .apply_audited_then(change, &event("th5", "u-then"), &puts, &also, now)
            .await
            .unwrap()
    );
    assert_eq!(store.get(Ns::Session, "s-then-2", now).await.unwrap(), None);
    let mut ids = events_about(store, "u-then").await;
    ids.sort();
    assert_eq!(ids, ["th0", "th1", "th2", "th3", "th4"]);
    assert!(store.list_credentials("u-then").await.unwrap().is_empty());
    assert_eq!(store.recover_audit().await.unwrap(), 0);

    // A new passkey with a further event (a first passkey's
    // `onboarding.completed`): both, and nothing left for recovery.
    // The new passkey `cred` with the event `id` and a further one, `also`.
    let add = |cred, id, also| async move {
        store
            .apply_audited_then(
                Change::AddCredential(cred),
                &event(id, "u-then"),
                &[],
                &[event(also, "u-then")],
                now,
            )
            .await
    };
    let first = cred("c-then-2", "u-then", 0);
    assert!(add(&first, "th7", "th8").await.unwrap());
    assert_eq!(store.list_credentials("u-then").await.unwrap().len(), 1);
    let mut ids = events_about(store, "u-then").await;
    ids.sort();
    assert_eq!(ids, ["th0", "th1", "th2", "th3", "th4", "th7", "th8"]);
    assert_eq!(store.recover_audit().await.unwrap(), 0);
    // The same passkey again is refused, with neither event.
    let err = add(&first, "th9", "th10").await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(events_about(store, "u-then").await.len(), 7);
    assert_eq!(store.recover_audit().await.unwrap(), 0);
}

/// A change and its audit event are written together or not at all.
async fn audited_changes(store: &SharedStore) {
    let eve = user("u-eve", "eve@example.com");
    assert!(
        store
            .apply_audited(Change::CreateUser(&eve), &event("a1", "u-eve"))
            .await
            .unwrap()
    );
    assert_eq!(store.get_user("u-eve").await.unwrap(), Some(eve.clone()));
    assert_eq!(events_about(store, "u-eve").await, ["a1"]);

    // A refused change leaves no event behind.
    let twin = user("u-twin", "EVE@example.com");
    let err = store
        .apply_audited(Change::CreateUser(&twin), &event("a2", "u-twin"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(events_about(store, "u-twin").await.is_empty());
    let ghost = user("u-ghost", "ghost@example.com");
    let err = store
        .apply_audited(
            Change::UpdateUser {
                user: &ghost,
                prior: None,
            },
            &event("a3", "u-ghost"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound), "{err:?}");
    assert!(events_about(store, "u-ghost").await.is_empty());
    // A compare-and-set against a stale read is refused, with no event.
    let mut renamed = eve.clone();
    renamed.display_name = "Eve 2".into();
    let change = Change::UpdateUser {
        user: &renamed,
        prior: Some(&eve),
    };
    assert!(
        store
            .apply_audited(change, &event("a3b", "u-eve"))
            .await
            .unwrap()
    );
    let mut stale = eve.clone();
    stale.account_enabled = false;
    let change = Change::UpdateUser {
        user: &stale,
        prior: Some(&eve),
    };
    let err = store
        .apply_audited(change, &event("a3c", "u-eve"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.get_user("u-eve").await.unwrap(), Some(renamed));

    // A delete that finds nothing records nothing; one that does, records.
    let gone = Change::DeleteTap {
        user_id: "u-eve",
        tap_id: "nope",
    };
    assert!(
        !store
            .apply_audited(gone, &event("a4", "t-eve"))
            .await
            .unwrap()
    );
    assert!(events_about(store, "t-eve").await.is_empty());
    let pass = tap("t-1", false);
    let put = Change::PutTap {
        user_id: "u-eve",
        tap: &pass,
    };
    assert!(
        store
            .apply_audited(put, &event("a5", "t-eve"))
            .await
            .unwrap()
    );
    let del = Change::DeleteTap {
        user_id: "u-eve",
        tap_id: "t-1",
    };
    assert!(
        store
            .apply_audited(del, &event("a6", "t-eve"))
            .await
            .unwrap()
    );
    assert_eq!(events_about(store, "t-eve").await, ["a6", "a5"]);
    assert!(store.get_tap("u-eve").await.unwrap().is_none());

    // Passkeys, clients, policy: each with its event.
    let key = cred("c-eve", "u-eve", 0);
    assert!(
        store
            .apply_audited(Change::AddCredential(&key), &event("a7", "c-eve"))
            .await
            .unwrap()
    );
    let dup = store
        .apply_audited(Change::AddCredential(&key), &event("a8", "c-eve"))
        .await
        .unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)));
    let mut used = key.clone();
    used.last_used = Some(t0() + Duration::hours(2));
    assert!(
        store
            .apply_audited(
                Change::UpdateCredential {
                    cred: &used,
                    prior: Some(&key),
                },
                &event("a8u", "c-eve")
            )
            .await
            .unwrap()
    );
    let mut foreign = used.clone();
    foreign.user_id = "u-ada".into();
    assert!(
        !store
            .apply_audited(
                Change::UpdateCredential {
                    cred: &foreign,
                    prior: None,
                },
                &event("a8f", "c-eve")
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.find_credential("c-eve").await.unwrap(),
        Some(used.clone())
    );
    let mut renamed = used.clone();
    renamed.name = "Renamed".into();
    let stale = Change::UpdateCredential {
        cred: &renamed,
        prior: Some(&key),
    };
    let err = store
        .apply_audited(stale, &event("a8s", "c-eve"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let del = Change::DeleteCredential {
        user_id: "u-eve",
        cred_id: "c-eve",
    };
    assert!(
        store
            .apply_audited(del, &event("a9", "c-eve"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .apply_audited(del, &event("a10", "c-eve"))
            .await
            .unwrap()
    );
    assert_eq!(events_about(store, "c-eve").await, ["a9", "a8u", "a7"]);
    // A one-time pass is used once, with one event.
    let once = tap("t-once", true);
    let put = Change::PutTap {
        user_id: "u-eve",
        tap: &once,
    };
    assert!(
        store
            .apply_audited(put, &event("b1", "t-once"))
            .await
            .unwrap()
    );
    let use_it = Change::UseTap {
        user_id: "u-eve",
        tap_id: "t-once",
        at: t0() + Duration::minutes(5),
    };
    assert!(
        store
            .apply_audited(use_it, &event("b2", "t-once"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .apply_audited(use_it, &event("b3", "t-once"))
            .await
            .unwrap()
    );
    assert_eq!(events_about(store, "t-once").await, ["b2", "b1"]);
    assert_eq!(
        store.record_tap_use("u-eve", "t-once", t0()).await.unwrap(),
        TapUse::AlreadyUsed
    );
    // The policy, compare-and-set: against the default while none is
    // stored, then against what is stored; a stale prior loses, writes
    // nothing and records nothing.
    let stale = store.get_policy().await.unwrap().unwrap_or_default();
    let mut policy = stale.clone();
    policy.tap.default_length = 12;
    assert!(
        store
            .apply_audited(
                Change::PutPolicy {
                    policy: &policy,
                    prior: Some(&stale),
                },
                &event("a11", "policy"),
            )
            .await
            .unwrap()
    );
    assert_eq!(store.get_policy().await.unwrap(), Some(policy.clone()));
    let mut other = stale.clone();
    other.passkey.enrollment_window_minutes = 30;
    let lost = store
        .apply_audited(
            Change::PutPolicy {
                policy: &other,
                prior: Some(&stale),
            },
            &event("a11b", "policy"),
        )
        .await
        .unwrap_err();
    assert!(matches!(lost, StoreError::Conflict(_)), "{lost:?}");
    assert_eq!(store.get_policy().await.unwrap(), Some(policy.clone()));
    let mut both = policy.clone();
    both.passkey.enrollment_window_minutes = 30;
    assert!(
        store
            .apply_audited(
                Change::PutPolicy {
                    policy: &both,
                    prior: Some(&policy),
                },
                &event("a11c", "policy"),
            )
            .await
            .unwrap()
    );
    assert_eq!(store.get_policy().await.unwrap(), Some(both.clone()));
    assert_eq!(events_about(store, "policy").await, ["a11c", "a11"]);
    let client = Client {
        id: "audited-client".into(),
        name: None,
        secret_sha256: None,
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        backchannel_logout_uri: None,
        grant_types: vec![GrantType::ClientCredentials],
        auth_method: ClientAuthMethod::ClientSecretBasic,
        id_token_alg: SigningAlg::RS256,
        access_token_alg: SigningAlg::ES256,
        permissions: vec![],
        delegated_permissions: vec![],
        jwks: None,
        introspection_audiences: vec![],
    };
    assert!(
        store
            .apply_audited(Change::PutClient(&client), &event("a12", "audited-client"))
            .await
            .unwrap()
    );
    let del = Change::DeleteClient("audited-client");
    assert!(
        store
            .apply_audited(del, &event("a13", "audited-client"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .apply_audited(del, &event("a14", "audited-client"))
            .await
            .unwrap()
    );
    assert_eq!(events_about(store, "audited-client").await, ["a13", "a12"]);
    assert!(
        store
            .apply_audited(Change::DeleteUser("u-eve"), &event("a15", "u-eve"))
            .await
            .unwrap()
    );
    // Same time: newest first means highest id first.
    assert_eq!(events_about(store, "u-eve").await, ["a3b", "a15", "a1"]);
    // Nothing is stranded on the way.
    assert_eq!(store.recover_audit().await.unwrap(), 0);
}

/// Retention: events before a time go, in batches; later ones stay.
async fn audit_retention(store: &SharedStore) {
    let cutoff = t0() + Duration::seconds(10);
    let older = AuditFilter {
        until: Some(cutoff),
        ..AuditFilter::default()
    };
    let count =
        |f: AuditFilter| async move { store.list_audit(&f, None, 999).await.unwrap().events.len() };
    assert_eq!(count(older.clone()).await, 10);
    let everything = count(AuditFilter::default()).await;
    assert_eq!(store.prune_audit(cutoff, 3).await.unwrap(), 3);
    assert_eq!(store.prune_audit(cutoff, 100).await.unwrap(), 7);
    assert_eq!(store.prune_audit(cutoff, 100).await.unwrap(), 0);
    assert_eq!(count(older).await, 0);
    assert_eq!(count(AuditFilter::default()).await, everything - 10);
}

async fn audit(store: &SharedStore) {
    let page = store
        .list_audit(&AuditFilter::default(), None, 10)
        .await
        .unwrap();
    assert!(page.events.is_empty() && page.next.is_none());
    for i in 0..25i64 {
        let e = AuditEvent {
            id: format!("e{i:02}"),
            time: t0() + Duration::seconds(i),
            event_type: if i % 5 == 0 {
                AuditEventType::UserDeleted
            } else {
                AuditEventType::UserCreated
            },
            actor: if i % 2 == 0 {
                Actor::client("hr")
            } else {
                Actor::user("admin")
            },
            target: Some(Target {
                kind: "user".into(),
                id: format!("u{}", i % 3),
                display: None,
            }),
            client_address: Some("127.0.0.1".into()),
            request_id: None,
            outcome: Outcome::Success,
            detail: None,
            also: vec![],
        };
        store.append_audit(&e).await.unwrap();
    }
    // Newest first, in pages.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_audit(&AuditFilter::default(), cursor.as_deref(), 10)
            .await
            .unwrap();
        seen.extend(page.events.iter().map(|e| e.id.clone()));
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    let expected: Vec<_> = (0..25).rev().map(|i| format!("e{i:02}")).collect();
    assert_eq!(seen, expected);

    let by_type = AuditFilter {
        event_type: Some(AuditEventType::UserDeleted),
        ..Default::default()
    };
    let ids: Vec<_> = store
        .list_audit(&by_type, None, 100)
        .await
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["e20", "e15", "e10", "e05", "e00"]);
    let by_actor_target = AuditFilter {
        actor_id: Some("admin".into()),
        target_id: Some("u1".into()),
        ..Default::default()
    };
    let ids: Vec<_> = store
        .list_audit(&by_actor_target, None, 100)
        .await
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["e19", "e13", "e07", "e01"]);
    let window = AuditFilter {
        from: Some(t0() + Duration::seconds(3)),
        until: Some(t0() + Duration::seconds(6)),
        ..Default::default()
    };
    let ids: Vec<_> = store
        .list_audit(&window, None, 100)
        .await
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["e05", "e04", "e03"]);
    // Filtered paging continues where it left off.
    let page = store.list_audit(&by_type, None, 2).await.unwrap();
    assert_eq!(page.events.len(), 2);
    let rest = store
        .list_audit(&by_type, page.next.as_deref(), 10)
        .await
        .unwrap();
    let ids: Vec<_> = rest.events.into_iter().map(|e| e.id).collect();
    assert_eq!(ids, ["e10", "e05", "e00"]);
}

async fn ephemeral(store: &SharedStore) {
    let now = t0();
    let later = |s: i64| now + Duration::seconds(s);
    for ns in [
        Ns::AuthorizationRequest,
        Ns::Session,
        Ns::Ceremony,
        Ns::Code,
        Ns::RefreshToken,
        Ns::Nonce,
    ] {
        store
            .put(ns, "r1", b"payload", later(60), now)
            .await
            .unwrap();
        assert_eq!(
            store.get(ns, "r1", later(59)).await.unwrap().as_deref(),
            Some(&b"payload"[..]),
            "{ns:?}"
        );
        // Past its expiry the record is gone, whatever the backend's own TTL says.
        assert_eq!(
            store.get(ns, "r1", later(60)).await.unwrap(),
            None,
            "{ns:?}"
        );
        assert_eq!(
            store.take(ns, "r1", later(61)).await.unwrap(),
            None,
            "{ns:?}"
        );
    }
    // Namespaces are separate.
    store
        .put(Ns::Code, "same", b"code", later(60), now)
        .await
        .unwrap();
    store
        .put(Ns::Session, "same", b"session", later(60), now)
        .await
        .unwrap();
    assert_eq!(
        store.take(Ns::Code, "same", now).await.unwrap().as_deref(),
        Some(&b"code"[..])
    );
    assert_eq!(
        store.take(Ns::Code, "same", now).await.unwrap(),
        None,
        "single use"
    );
    assert_eq!(
        store
            .get(Ns::Session, "same", now)
            .await
            .unwrap()
            .as_deref(),
        Some(&b"session"[..])
    );
    store.delete(Ns::Session, "same").await.unwrap();
    assert_eq!(store.get(Ns::Session, "same", now).await.unwrap(), None);
    // Overwrite.
    store
        .put(Ns::Session, "s", b"one", later(10), now)
        .await
        .unwrap();
    store
        .put(Ns::Session, "s", b"two", later(10), now)
        .await
        .unwrap();
    assert_eq!(
        store.get(Ns::Session, "s", now).await.unwrap().as_deref(),
        Some(&b"two"[..])
    );
    // put_new: only when no live record.
    assert!(
        store
            .put_new(Ns::Nonce, "jti", b"1", later(30), now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .put_new(Ns::Nonce, "jti", b"2", later(30), later(10))
            .await
            .unwrap()
    );
    assert!(
        store
            .put_new(Ns::Nonce, "jti", b"3", later(90), later(31))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get(Ns::Nonce, "jti", later(31))
            .await
            .unwrap()
            .as_deref(),
        Some(&b"3"[..])
    );
    // Counters count within their window, then start again.
    assert_eq!(store.count("tapfail:u1", now).await.unwrap(), 0);
    assert_eq!(store.incr("tapfail:u1", later(300), now).await.unwrap(), 1);
    assert_eq!(
        store
            .incr("tapfail:u1", later(999), later(10))
            .await
            .unwrap(),
        2,
        "window fixed at first count"
    );
    assert_eq!(store.count("tapfail:u1", later(299)).await.unwrap(), 2);
    assert_eq!(store.count("tapfail:u1", later(300)).await.unwrap(), 0);
    assert_eq!(
        store
            .incr("tapfail:u1", later(600), later(301))
            .await
            .unwrap(),
        1
    );
}

async fn concurrency(store: &SharedStore) {
    let now = t0();
    store
        .put(
            Ns::Code,
            "race",
            b"the code",
            now + Duration::seconds(60),
            now,
        )
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.take(Ns::Code, "race", now).await.unwrap()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        if t.await.unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "exactly one of 50 concurrent takes wins");

    store.put_tap("u-c", &tap("once", true)).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.record_tap_use("u-c", "once", now).await.unwrap()
        }));
    }
    let mut recorded = 0;
    for t in tasks {
        if t.await.unwrap() == TapUse::Recorded {
            recorded += 1;
        }
    }
    assert_eq!(recorded, 1, "a one-time pass is used exactly once");

    let mut tasks = Vec::new();
    for _ in 0..30 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.incr("hammer", now + Duration::seconds(60), now)
                .await
                .unwrap()
        }));
    }
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=30).collect::<Vec<u64>>(),
        "every increment counted once"
    );
}

/// The lockout buckets: every backend applies exactly the steps of
/// `domain::lockout::Bucket` (replayed side by side on a pseudo-random mix
/// of operations and clock moves), atomically under concurrency.
async fn lockouts(store: &SharedStore) {
    let small = Rules {
        limit: 3,
        window_ms: 60_000,
        first_lock_ms: 10_000,
        max_lock_ms: 45_000,
        grows: true,
        history_ms: 600_000,
    };
    let fixed = Rules {
        grows: false,
        ..small
    };
    let mut model = std::collections::HashMap::<&str, Bucket>::new();
    let mut now = t0();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for step in 0..600 {
        let id = ["b1", "b2"][(next() % 2) as usize];
        let op = match next() % 10 {
            0..=5 => Op::Reserve(small),
            6 => Op::Reserve(fixed),
            7 => Op::Release,
            8 => Op::Clear { keep_ms: 30_000 },
            _ => {
                now += Duration::milliseconds((next() % 40_000) as i64);
                continue;
            }
        };
        let got = store.lockout(id, op, now).await.unwrap();
        let bucket = model.entry(id).or_default();
        if bucket.keep_until_ms() <= lockout::ms(now) {
            *bucket = Bucket::default();
        }
        let want = bucket.apply(op, lockout::ms(now));
        assert_eq!(got, want, "step {step}: {op:?} on {id} at {now}");
        let stored = store.lockout_bucket(id, now).await.unwrap();
        let expected = if bucket.keep_until_ms() > lockout::ms(now) {
            *bucket
        } else {
            Bucket::default()
        };
        assert_eq!(stored, expected, "step {step}: state of {id}");
    }

    // Concurrent reservations never exceed the limit; one starts the lock.
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.lockout("race", Op::Reserve(lockout::NAME_FROM_ADDRESS), now)
                .await
                .unwrap()
                .verdict
        }));
    }
    let (mut granted, mut new_locks, mut refused) = (0, 0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Verdict::Granted => granted += 1,
            Verdict::Refused { new_lock: true, .. } => new_locks += 1,
            Verdict::Refused { .. } => refused += 1,
        }
    }
    assert_eq!((granted, new_locks, refused), (10, 1, 29));
    let bucket = store.lockout_bucket("race", now).await.unwrap();
    assert_eq!(bucket.rf, 30, "every refusal during the lock is counted");
    // A bucket is gone once no longer kept.
    store.lockout("old", Op::Reserve(small), now).await.unwrap();
    assert_eq!(
        store
            .lockout_bucket("old", now + Duration::minutes(2))
            .await
            .unwrap(),
        Bucket::default()
    );
}

/// `compare_and_swap`: replaces only the live value that was read, never
/// brings back a deleted or expired record, and one of many racing swaps
/// from one value wins.
async fn compare_and_swap(store: &SharedStore) {
    let now = t0();
    let later = |s: i64| now + Duration::seconds(s);
    let read = |id: &'static str, at| {
        let store = store.clone();
        async move { store.get(Ns::Session, id, at).await.unwrap() }
    };
    store
        .put(Ns::Session, "cas", b"v1", later(60), now)
        .await
        .unwrap();
    // The expected value: swapped, with the new expiry.
    assert!(
        store
            .compare_and_swap(Ns::Session, "cas", b"v1", b"v2", later(120), now)
            .await
            .unwrap()
    );
    assert_eq!(read("cas", later(90)).await.as_deref(), Some(&b"v2"[..]));
    assert_eq!(read("cas", later(120)).await, None, "new expiry");
    // A changed value (or a prefix of it, or nothing): no swap, no write.
    for stale in [&b"v1"[..], b"v", b"", b"v2 and more"] {
        assert!(
            !store
                .compare_and_swap(Ns::Session, "cas", stale, b"v3", later(120), now)
                .await
                .unwrap(),
            "{stale:?}"
        );
    }
    assert_eq!(read("cas", now).await.as_deref(), Some(&b"v2"[..]));
    // Namespaces are separate: the same id elsewhere does not match.
    assert!(
        !store
            .compare_and_swap(Ns::Code, "cas", b"v2", b"v3", later(120), now)
            .await
            .unwrap()
    );
    assert_eq!(store.get(Ns::Code, "cas", now).await.unwrap(), None);
    // Deleted: no swap, and nothing comes back.
    store.delete(Ns::Session, "cas").await.unwrap();
    assert!(
        !store
            .compare_and_swap(Ns::Session, "cas", b"v2", b"v4", later(120), now)
            .await
            .unwrap()
    );
    assert_eq!(
        read("cas", now).await,
        None,
        "a deleted record stays deleted"
    );
    assert!(
        store
            .put_new(Ns::Session, "cas", b"fresh", later(60), now)
            .await
            .unwrap(),
        "nothing was written"
    );
    // Never there.
    assert!(
        !store
            .compare_and_swap(Ns::Session, "never", b"", b"x", later(60), now)
            .await
            .unwrap()
    );
    assert_eq!(read("never", now).await, None);
    // Expired (still stored until swept, in the embedded store): no swap.
    store
        .put(Ns::Session, "old", b"v1", later(10), now)
        .await
        .unwrap();
    assert!(
        !store
            .compare_and_swap(Ns::Session, "old", b"v1", b"v2", later(60), later(10))
            .await
            .unwrap()
    );
    assert_eq!(read("old", later(10)).await, None);
    assert_eq!(read("old", now).await.as_deref(), Some(&b"v1"[..]));
    // A new value that would already be expired is not written.
    assert!(
        !store
            .compare_and_swap(Ns::Session, "old", b"v1", b"v2", now, now)
            .await
            .unwrap()
    );
    assert_eq!(read("old", now).await.as_deref(), Some(&b"v1"[..]));

    // Many concurrent swaps from one value: exactly one wins, and its
    // value is the one stored.
    store
        .put(Ns::Session, "cas-race", b"start", later(60), now)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    let until = later(60);
    for i in 0..30 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            let value = format!("winner {i}");
            let won = s
                .compare_and_swap(
                    Ns::Session,
                    "cas-race",
                    b"start",
                    value.as_bytes(),
                    until,
                    now,
                )
                .await
                .unwrap();
            (won, value)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (won, value) = t.await.unwrap();
        if won {
            winners.push(value);
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one of 30 swaps wins: {winners:?}"
    );
    assert_eq!(
        read("cas-race", now).await.as_deref(),
        Some(winners[0].as_bytes())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_store_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("conformance.redb")).unwrap();
    run_suite(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_conformance() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), "conformance", StdDuration::from_secs(2))
        .await
        .unwrap();
    run_suite(Arc::new(store)).await;
}

/// An event that a crash left in an outbox (written with its change, never
/// moved to the log) reaches the log on recovery, once.
#[tokio::test]
async fn redis_outbox_events_are_recovered_after_a_crash() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), "crash", StdDuration::from_secs(2))
        .await
        .unwrap();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let stranded = serde_json::to_string(&event("s1", "u-stranded")).unwrap();
    let outbox = "{crash:u:u-stranded}:outbox";
    let _: () = redis::cmd("RPUSH")
        .arg(outbox)
        .arg(&stranded)
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("SADD")
        .arg("{crash:audit}:outboxes")
        .arg(outbox)
        .query_async(&mut conn)
        .await
        .unwrap();
    let store: SharedStore = Arc::new(store);
    assert!(events_about(&store, "u-stranded").await.is_empty());
    assert_eq!(store.recover_audit().await.unwrap(), 1);
    assert_eq!(events_about(&store, "u-stranded").await, ["s1"]);
    assert_eq!(store.recover_audit().await.unwrap(), 0);
    assert_eq!(events_about(&store, "u-stranded").await, ["s1"]);
    let left: u64 = redis::cmd("LLEN")
        .arg(outbox)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

/// A new passkey's events are in its user's outbox from the change on, the
/// further one (`onboarding.completed`) too: a move into the log that
/// fails (here the log is unwritable) loses neither, and recovery moves
/// both.
#[tokio::test]
async fn redis_new_passkey_events_survive_a_failed_move() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), "moved", StdDuration::from_secs(2))
        .await
        .unwrap();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let cmd = |parts: &[&str]| {
        let mut c = redis::cmd(parts[0]);
        parts[1..].iter().for_each(|a| {
            c.arg(*a);
        });
        c
    };
    // Not a sorted set: every move into the log fails.
    let _: () = cmd(&["SET", "{moved:audit}:log", "broken"])
        .query_async(&mut conn)
        .await
        .unwrap();
    let store: SharedStore = Arc::new(store);
    let first = cred("c-moved", "u-moved", 0);
    assert!(
        store
            .apply_audited_then(
                Change::AddCredential(&first),
                &event("m1", "u-moved"),
                &[],
                &[event("m2", "u-moved")],
                t0(),
            )
            .await
            .unwrap()
    );
    assert_eq!(store.list_credentials("u-moved").await.unwrap().len(), 1);
    let outbox = "{moved:u:u-moved}:outbox";
    let waiting: Vec<String> = cmd(&["LRANGE", outbox, "0", "-1"])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(waiting.len(), 2, "{waiting:?}");

    let _: () = cmd(&["DEL", "{moved:audit}:log"])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(store.recover_audit().await.unwrap(), 2);
    let mut ids = events_about(&store, "u-moved").await;
    ids.sort();
    assert_eq!(ids, ["m1", "m2"]);
    let left: u64 = cmd(&["LLEN", outbox]).query_async(&mut conn).await.unwrap();
    assert_eq!(left, 0);
}

/// Scale-out: the same suite on a three-node Redis Cluster. Any script or
/// multi-key command whose keys span slots would fail here with CROSSSLOT.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_cluster_store_conformance() {
    let cluster = RedisCluster::start();
    let store = RedisStore::connect(&cluster.url(), "conformance", StdDuration::from_secs(2))
        .await
        .unwrap();
    // The start-up persistence check asks every primary (all run without AOF).
    assert_eq!(store.persistence_enabled().await, Some(false));
    run_suite(Arc::new(store)).await;
}

/// A cluster that goes away gives the same quick `Unavailable` as one server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_outage_is_unavailable() {
    let mut cluster = RedisCluster::start();
    let store = RedisStore::connect(&cluster.url(), "outage", StdDuration::from_millis(500))
        .await
        .unwrap();
    store.ping().await.unwrap();
    store.create_user(&user("u1", "a@b.c")).await.unwrap();
    cluster.stop();
    let started = std::time::Instant::now();
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(matches!(
        store.get_user("u1").await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(
        started.elapsed() < StdDuration::from_secs(5),
        "no hang: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn embedded_store_sweeps_expired_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("sweep.redb")).unwrap();
    let now = t0();
    for i in 0..5 {
        store
            .put(
                Ns::Session,
                &format!("s{i}"),
                b"x",
                now + Duration::seconds(10),
                now,
            )
            .await
            .unwrap();
    }
    store
        .put(Ns::Code, "live", b"y", now + Duration::seconds(100), now)
        .await
        .unwrap();
    store
        .incr("ctr", now + Duration::seconds(10), now)
        .await
        .unwrap();
    let later = now + Duration::seconds(20);
    assert_eq!(
        store.sweep_expired(later, 3).await.unwrap(),
        3,
        "bounded by the limit"
    );
    assert_eq!(
        store.sweep_expired(later, 100).await.unwrap(),
        3,
        "two sessions and the counter"
    );
    assert_eq!(store.sweep_expired(later, 100).await.unwrap(), 0);
    assert_eq!(
        store.get(Ns::Code, "live", later).await.unwrap().as_deref(),
        Some(&b"y"[..]),
        "live records stay"
    );
}

#[tokio::test]
async fn embedded_store_file_is_exclusive_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.redb");
    let store = EmbeddedStore::open(&path).unwrap();
    store.create_user(&user("u1", "a@b.c")).await.unwrap();
    assert!(matches!(
        EmbeddedStore::open(&path),
        Err(StoreError::Locked(_))
    ));
    let t = tap("sched", false);
    let claim = Change::IssueScheduledTap {
        user_id: "u1",
        hire_date: "2027-01-15",
        tap: &t,
    };
    assert!(
        store
            .apply_audited(claim, &event("ev-1", "u1"))
            .await
            .unwrap()
    );
    drop(store);
    let reopened = EmbeddedStore::open(&path).unwrap();
    assert_eq!(
        reopened.get_user("u1").await.unwrap().unwrap().upn.as_str(),
        "a@b.c"
    );
    // The onboarding claim is durable (never the memory tier): after a
    // restart the same hire date is not issued again.
    assert_eq!(
        reopened
            .scheduled_tap("u1", "2027-01-15")
            .await
            .unwrap()
            .as_deref(),
        Some("sched")
    );
    assert!(
        !reopened
            .apply_audited(claim, &event("ev-2", "u1"))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn redis_records_carry_native_ttls_and_cluster_hash_tags() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), "ttl", StdDuration::from_secs(2))
        .await
        .unwrap();
    store.create_user(&user("u1", "a@b.c")).await.unwrap();
    store.put_tap("u1", &tap("t", false)).await.unwrap();
    let real_now = onramp::clock::Clock::now(&onramp::clock::SystemClock);
    store
        .put(
            Ns::Code,
            "c1",
            b"x",
            real_now + Duration::milliseconds(300),
            real_now,
        )
        .await
        .unwrap();
    store
        .incr("ctr", real_now + Duration::milliseconds(300), real_now)
        .await
        .unwrap();
    store
        .lockout("b", Op::Reserve(lockout::NAME_FROM_ADDRESS), real_now)
        .await
        .unwrap();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let pttl: i64 = redis::cmd("PTTL")
        .arg("ttl:code:c1")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(pttl > 0 && pttl <= 300, "native TTL set: {pttl}");
    let pttl: i64 = redis::cmd("PTTL")
        .arg("ttl:lockout:b")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        pttl > 14 * 60_000 && pttl <= 15 * 60_000,
        "a lockout bucket lives for its window: {pttl}"
    );
    // A swap sets the new expiry as the native TTL too.
    store
        .put(
            Ns::Code,
            "c2",
            b"y",
            real_now + Duration::seconds(60),
            real_now,
        )
        .await
        .unwrap();
    assert!(
        store
            .compare_and_swap(
                Ns::Code,
                "c2",
                b"y",
                b"z",
                real_now + Duration::milliseconds(300),
                real_now,
            )
            .await
            .unwrap()
    );
    let pttl: i64 = redis::cmd("PTTL")
        .arg("ttl:code:c2")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(pttl > 0 && pttl <= 300, "native TTL after a swap: {pttl}");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    for key in &keys {
        // Durable records carry a hash tag; short-lived ones are single-key.
        assert!(
            key.starts_with("{ttl:")
                || key.starts_with("ttl:code:")
                || key.starts_with("ttl:counter:")
                || key.starts_with("ttl:lockout:"),
            "{key}"
        );
    }
    // The user directory's keys share one hash tag (one cluster slot).
    let tag = |k: &str| {
        k.find('{')
            .and_then(|a| k[a..].find('}').map(|b| k[a + 1..a + b].to_owned()))
    };
    let dir_keys: Vec<_> = keys.iter().filter(|k| k.contains(":dir}")).collect();
    assert_eq!(dir_keys.len(), 3, "{dir_keys:?}");
    assert!(
        dir_keys
            .iter()
            .all(|k| tag(k).as_deref() == Some("ttl:dir"))
    );
    assert!(keys.iter().any(|k| k == "{ttl:u:u1}:tap"));
    tokio::time::sleep(StdDuration::from_millis(450)).await;
    let exists: i64 = redis::cmd("EXISTS")
        .arg("ttl:code:c1")
        .arg("ttl:code:c2")
        .arg("ttl:counter:ctr")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 0, "Redis expired the records by itself");
}

/// Records written before the lookup indexes existed: the start-up
/// re-index makes them findable (no silent misses), once.
#[tokio::test]
async fn embedded_reindex_covers_records_stored_before_the_indexes() {
    use redb::{ReadableDatabase, TableDefinition};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.redb");
    let mut old = user("old-1", "old-1@example.com");
    old.mail = Some("Old@Example.com".into());
    {
        let store = EmbeddedStore::open(&path).unwrap();
        store.reindex_users().await.unwrap();
        store.create_user(&old).await.unwrap();
    }
    {
        // What an older version left: the user without index entries, and
        // no index marker.
        let db = redb::Database::create(&path).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut mails = tx
                .open_table(TableDefinition::<&str, &str>::new("mail_index"))
                .unwrap();
            mails.retain(|_, _| false).unwrap();
            let mut meta = tx
                .open_table(TableDefinition::<&str, &str>::new("meta"))
                .unwrap();
            meta.remove("directory_index").unwrap();
        }
        tx.commit().unwrap();
        let rx = db.begin_read().unwrap();
        let t = rx
            .open_table(TableDefinition::<&str, &str>::new("mail_index"))
            .unwrap();
        assert_eq!(redb::ReadableTableMetadata::len(&t).unwrap(), 0);
    }
    let store = EmbeddedStore::open(&path).unwrap();
    assert!(
        store
            .find_users_by_mail("old@example.com")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.reindex_users().await.unwrap(), 1);
    assert_eq!(
        store.find_users_by_mail("old@example.com").await.unwrap(),
        [old]
    );
    assert_eq!(store.reindex_users().await.unwrap(), 0);
}

#[tokio::test]
async fn redis_reindex_covers_records_stored_before_the_indexes() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), "old", StdDuration::from_secs(2))
        .await
        .unwrap();
    let mut old = user("old-1", "old-1@example.com");
    old.mail = Some("Old@Example.com".into());
    old.employee_id = Some("E-7".into());
    store.create_user(&old).await.unwrap();
    // What an older version left: no index entries, no marker.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg("{old:dir}:mail:old@example.com")
        .arg("{old:dir}:empid:e-7")
        .arg("{old:dir}:index")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        store
            .find_users_by_mail("old@example.com")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.reindex_users().await.unwrap(), 1);
    assert_eq!(
        store.find_users_by_mail("old@example.com").await.unwrap(),
        [old.clone()]
    );
    assert_eq!(store.find_users_by_employee_id("e-7").await.unwrap(), [old]);
    assert_eq!(store.reindex_users().await.unwrap(), 0);
}

/// The index entries themselves are exact (reads also check the records,
/// so a stale entry would not show through the store's calls): nothing is
/// left under an old value after a change or a deletion.
#[tokio::test]
async fn redis_index_entries_are_exact() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), "exact", StdDuration::from_secs(2))
        .await
        .unwrap();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut members = async |key: &str| -> Vec<String> {
        redis::cmd("SMEMBERS")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap()
    };
    let mut u = user("x-1", "x-1@example.com");
    u.mail = Some("One@Example.com".into());
    u.employee_id = Some("E-1".into());
    store.create_user(&u).await.unwrap();
    assert_eq!(members("{exact:dir}:mail:one@example.com").await, ["x-1"]);
    assert_eq!(members("{exact:dir}:empid:e-1").await, ["x-1"]);
    u.mail = Some("two@example.com".into());
    u.employee_id = None;
    store.update_user(&u).await.unwrap();
    assert!(members("{exact:dir}:mail:one@example.com").await.is_empty());
    assert!(members("{exact:dir}:empid:e-1").await.is_empty());
    assert_eq!(members("{exact:dir}:mail:two@example.com").await, ["x-1"]);
    store.create_group(&group("x-g", "G")).await.unwrap();
    store.add_member("x-g", "x-1").await.unwrap();
    assert_eq!(members("{exact:dir}:memberof:x-1").await, ["x-g"]);
    assert!(store.delete_user("x-1").await.unwrap());
    assert!(members("{exact:dir}:mail:two@example.com").await.is_empty());
    assert!(members("{exact:dir}:memberof:x-1").await.is_empty());
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("{exact:dir}:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    keys.sort_unstable();
    // Only the group (and the outbox, which may still exist) remain.
    keys.retain(|k| *k != "{exact:dir}:outbox");
    assert_eq!(keys, ["{exact:dir}:group:x-g", "{exact:dir}:groups"]);
}

#[tokio::test]
async fn embedded_index_entries_are_exact() {
    use redb::{ReadableDatabase, ReadableTable, TableDefinition};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exact.redb");
    {
        let store = EmbeddedStore::open(&path).unwrap();
        let mut u = user("x-1", "x-1@example.com");
        u.mail = Some("One@Example.com".into());
        u.employee_id = Some("E-1".into());
        store.create_user(&u).await.unwrap();
        u.mail = Some("two@example.com".into());
        u.employee_id = Some("E-2".into());
        store.update_user(&u).await.unwrap();
        let mut v = user("x-2", "x-2@example.com");
        v.mail = Some("gone@example.com".into());
        store.create_user(&v).await.unwrap();
        store.create_group(&group("x-g", "G")).await.unwrap();
        store.add_member("x-g", "x-2").await.unwrap();
        assert!(store.delete_user("x-2").await.unwrap());
    }
    let db = redb::Database::create(&path).unwrap();
    let rx = db.begin_read().unwrap();
    let keys = |name: &str| -> Vec<String> {
        let t = rx
            .open_table(TableDefinition::<&str, &str>::new(name))
            .unwrap();
        t.iter()
            .unwrap()
            .map(|e| e.unwrap().0.value().replace('\0', "|"))
            .collect()
    };
    assert_eq!(keys("mail_index"), ["two@example.com|x-1"]);
    assert_eq!(keys("employee_id_index"), ["e-2|x-1"]);
    assert!(keys("group_members").is_empty());
    assert!(keys("member_of").is_empty());
}

/// Two queued jobs, the first due earlier; `spoil` then makes the first
/// unreadable. Claiming still yields the second, and leases the first, so
/// it does not come back at once.
async fn unreadable_job_does_not_hold_up_the_queue<F, Fut>(store: SharedStore, spoil: F)
where
    F: FnOnce(SharedStore, String) -> Fut,
    Fut: std::future::Future<Output = SharedStore>,
{
    use onramp::domain::webhook::{Job, TapCheck};
    let bad = Job::TapCheck(TapCheck::new("u-bad", "tap-bad", t0() + Duration::hours(1)));
    let good = Job::TapCheck(TapCheck::new(
        "u-good",
        "tap-good",
        t0() + Duration::hours(1),
    ));
    store
        .enqueue_jobs(std::slice::from_ref(&bad), t0())
        .await
        .unwrap();
    store
        .enqueue_jobs(std::slice::from_ref(&good), t0() + Duration::seconds(1))
        .await
        .unwrap();
    let store = spoil(store, bad.id().to_owned()).await;
    let now = t0() + Duration::minutes(1);
    let claimed = store
        .claim_jobs(now, now + Duration::minutes(5), 10)
        .await
        .unwrap();
    let ids: Vec<&str> = claimed.iter().map(|c| c.job.id()).collect();
    assert_eq!(ids, [good.id()]);
    let again = store
        .claim_jobs(now + Duration::minutes(1), now + Duration::minutes(6), 10)
        .await
        .unwrap();
    assert!(again.is_empty(), "both leased");
}

#[tokio::test]
async fn embedded_unreadable_job_does_not_hold_up_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.redb");
    let store: SharedStore = Arc::new(EmbeddedStore::open(&path).unwrap());
    unreadable_job_does_not_hold_up_the_queue(store, |store, id| async move {
        drop(store);
        {
            let db = redb::Database::create(&path).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(redb::TableDefinition::<&str, &str>::new("webhook_jobs"))
                .unwrap()
                .insert(id.as_str(), "{\"kind\":\"aJobOfANewerVersion\"}")
                .unwrap();
            tx.commit().unwrap();
        }
        let reopened: SharedStore = Arc::new(EmbeddedStore::open(&path).unwrap());
        reopened
    })
    .await;
}

#[tokio::test]
async fn redis_unreadable_job_does_not_hold_up_the_queue() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), "jobs", StdDuration::from_secs(2))
        .await
        .unwrap();
    let url = redis.url();
    unreadable_job_does_not_hold_up_the_queue(Arc::new(store), |store, id| async move {
        let client = redis::Client::open(url).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = redis::cmd("HSET")
            .arg("{jobs:audit}:wh:jobs")
            .arg(&id)
            .arg("{\"kind\":\"aJobOfANewerVersion\"}")
            .query_async(&mut conn)
            .await
            .unwrap();
        store
    })
    .await;
}
