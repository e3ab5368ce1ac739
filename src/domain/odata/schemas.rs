//! Ready-made schemas for the Graph resources Onramp serves.
//!
//! Source: the Microsoft Graph v1.0 reference, "user resource type" and
//! "directoryAudit resource type" (the Properties tables, "Supports `$filter`
//! (…)" per property), "List directoryAudits" and "Advanced query capabilities
//! on directory objects" (`$orderby` on users: `displayName`,
//! `userPrincipalName`, `createdDateTime`), and "Use the `$search` query
//! parameter" (tokenized search on `displayName`; other properties that
//! support `$filter` behave as `startsWith`). Operators Graph lists only with
//! advanced queries (`ne`, `not`, `endsWith`) are allowed without the
//! `ConsistencyLevel` header: Onramp has one store and no eventual index.
//! Graph lists neither `gt` nor `lt` for any of these user properties, so
//! they are refused.

use super::schema::{Ops, PropType, Property, ResourceSchema, SearchMode};

const fn ops(list: &[Ops]) -> Ops {
    let mut all = Ops::NONE;
    let mut i = 0;
    while i < list.len() {
        all = all.with(list[i]);
        i += 1;
    }
    all
}

/// `eq, ne, not, in`.
const EQ_NE_NOT_IN: Ops = ops(&[Ops::EQ, Ops::NE, Ops::NOT, Ops::IN]);
/// `eq, ne, not, ge, le, in`.
const RANGE: Ops = ops(&[EQ_NE_NOT_IN, Ops::GE, Ops::LE]);
/// `eq, ne, not, ge, le, in, startsWith` (no null).
const RANGE_STARTS: Ops = ops(&[RANGE, Ops::STARTS_WITH]);
/// `eq, ne, not, ge, le, in, startsWith, and eq on null values`.
const TEXT: Ops = ops(&[RANGE_STARTS, Ops::NULL]);

/// Sortable too: Onramp sorts in memory, so `$orderby` takes any text or
/// date property Graph lets `$filter` compare (Graph itself sorts users
/// by a few properties only; a script sorting by those works unchanged).
const fn text(name: &'static str) -> Property {
    Property::new(name, PropType::String)
        .filter(TEXT)
        .search(SearchMode::Prefix)
        .order_by()
}

const fn date(name: &'static str) -> Property {
    Property::new(name, PropType::DateTime)
        .filter(RANGE)
        .order_by()
}

const USER_PROPERTIES: &[Property] = &[
    // "Supports $filter (eq, ne, not, in)."
    Property::new("id", PropType::String)
        .filter(EQ_NE_NOT_IN)
        .indexed(),
    // "(eq, ne, not, ge, le, in, startsWith, endsWith) and $orderby."
    Property::new("userPrincipalName", PropType::String)
        .filter(ops(&[RANGE_STARTS, Ops::ENDS_WITH]))
        .order_by()
        .search(SearchMode::Prefix)
        .indexed(),
    // "(eq, ne, not, ge, le, in, startsWith, and eq on null values), $orderby, and $search."
    Property::new("displayName", PropType::String)
        .filter(TEXT)
        .order_by()
        .search(SearchMode::Tokens),
    text("givenName"),
    text("surname"),
    // "(eq, ne, not, ge, le, in, startsWith, endsWith, and eq on null values)."
    text("mail").filter(ops(&[TEXT, Ops::ENDS_WITH])).indexed(),
    text("mailNickname"),
    // "(eq, not, ge, le, in, startsWith, endsWith, /$count eq 0, /$count ne 0)";
    // `/$count` is not supported here.
    Property::new("otherMails", PropType::StringCollection).filter(ops(&[
        Ops::ANY,
        Ops::EQ,
        Ops::NOT,
        Ops::GE,
        Ops::LE,
        Ops::IN,
        Ops::STARTS_WITH,
        Ops::ENDS_WITH,
    ])),
    text("jobTitle"),
    // "(eq, ne, not, ge, le, in, and eq on null values)": no startsWith.
    Property::new("department", PropType::String)
        .filter(ops(&[RANGE, Ops::NULL]))
        .order_by(),
    text("employeeId").indexed(),
    // "(eq, ne, not, ge, le, in, startsWith)": no null.
    Property::new("employeeType", PropType::String)
        .filter(RANGE_STARTS)
        .search(SearchMode::Prefix)
        .order_by(),
    // "(eq, ne, not, ge, le, in)".
    date("employeeHireDate"),
    date("employeeLeaveDateTime"),
    text("companyName"),
    text("officeLocation"),
    text("usageLocation"),
    text("preferredLanguage"),
    // "(eq, ne, not, and in)".
    Property::new("accountEnabled", PropType::Bool).filter(EQ_NE_NOT_IN),
    // "(eq, ne, not, ge, le, in)"; $orderby with advanced queries.
    date("createdDateTime").order_by(),
    text("mobilePhone"),
    text("city"),
    text("country"),
    text("state"),
    text("postalCode"),
    text("streetAddress"),
];

/// Graph's `user` (`/users`), for the properties Onramp keeps. Indexed:
/// `id`, `userPrincipalName`, `mail`, `employeeId`.
pub const USER: ResourceSchema = ResourceSchema {
    name: "user",
    properties: USER_PROPERTIES,
    max_top: 999,
    directory: true,
};

/// Graph's `group` ("group resource type"), for the properties Onramp keeps.
const GROUP_PROPERTIES: &[Property] = &[
    // "Supports $filter (eq, ne, not, in)."
    Property::new("id", PropType::String).filter(EQ_NE_NOT_IN),
    // "(eq, ne, not, ge, le, in, startsWith, and eq on null values), $search, and $orderby."
    Property::new("displayName", PropType::String)
        .filter(TEXT)
        .order_by()
        .search(SearchMode::Tokens),
    // "(eq, ne, not, ge, le, startsWith) and $search."
    Property::new("description", PropType::String)
        .filter(ops(&[RANGE_STARTS, Ops::NULL]))
        .search(SearchMode::Tokens),
    // "(eq, ne, not, ge, le, in, startsWith, and eq on null values)."
    text("mailNickname"),
    // "(eq, ne, not, in)."
    Property::new("securityEnabled", PropType::Bool).filter(EQ_NE_NOT_IN),
    // "(eq, ne, not)."
    Property::new("mailEnabled", PropType::Bool).filter(ops(&[Ops::EQ, Ops::NE, Ops::NOT])),
    // "(eq, ne, not, ge, le, in, and eq on null values)"; $orderby.
    date("createdDateTime").order_by(),
];

/// Graph's `group` (`/groups`, a group's `members` are users).
pub const GROUP: ResourceSchema = ResourceSchema {
    name: "group",
    properties: GROUP_PROPERTIES,
    max_top: 999,
    directory: true,
};

/// A collection that takes `$top`, `$skiptoken`, `$select` of these
/// properties and nothing else (a user's methods, clients).
pub const fn plain(name: &'static str, properties: &'static [Property]) -> ResourceSchema {
    ResourceSchema {
        name,
        properties,
        max_top: 999,
        directory: false,
    }
}

/// `userIdentity` inside `initiatedBy/user`.
const USER_IDENTITY: &[Property] = &[
    Property::new("id", PropType::String).filter(Ops::EQ),
    Property::new("displayName", PropType::String).filter(Ops::EQ),
    Property::new("userPrincipalName", PropType::String).filter(ops(&[Ops::EQ, Ops::STARTS_WITH])),
    Property::new("ipAddress", PropType::String),
];

/// `appIdentity` inside `initiatedBy/app`.
const APP_IDENTITY: &[Property] = &[
    Property::new("appId", PropType::String).filter(Ops::EQ),
    Property::new("displayName", PropType::String).filter(Ops::EQ),
    Property::new("servicePrincipalId", PropType::String),
    Property::new("servicePrincipalName", PropType::String),
];

/// `auditActivityInitiator`.
const INITIATOR: &[Property] = &[
    Property::new("user", PropType::Object(USER_IDENTITY)),
    Property::new("app", PropType::Object(APP_IDENTITY)),
];

/// `targetResource`: "Supports $filter (eq) for id and displayName; and
/// $filter (startswith) for displayName."
const TARGET_RESOURCE: &[Property] = &[
    Property::new("id", PropType::String).filter(Ops::EQ),
    Property::new("displayName", PropType::String).filter(ops(&[Ops::EQ, Ops::STARTS_WITH])),
    Property::new("type", PropType::String),
    Property::new("userPrincipalName", PropType::String),
    Property::new("groupType", PropType::String),
];

/// `keyValue`.
const KEY_VALUE: &[Property] = &[
    Property::new("key", PropType::String),
    Property::new("value", PropType::String),
];

/// Graph's `operationResult`.
const OPERATION_RESULT: &[&str] = &["success", "failure", "timeout", "unknownFutureValue"];

const DIRECTORY_AUDIT_PROPERTIES: &[Property] = &[
    // "Supports $filter (eq)."
    Property::new("id", PropType::String).filter(Ops::EQ),
    // "Supports $filter (eq, ge, le) and $orderby."
    Property::new("activityDateTime", PropType::DateTime)
        .filter(ops(&[Ops::EQ, Ops::GE, Ops::LE]))
        .order_by(),
    // "Supports $filter (eq, startswith)."
    Property::new("activityDisplayName", PropType::String)
        .filter(ops(&[Ops::EQ, Ops::STARTS_WITH])),
    Property::new("additionalDetails", PropType::ObjectCollection(KEY_VALUE)),
    // Graph's page lists no operator; `eq` as List directoryAudits allows it.
    Property::new("category", PropType::String).filter(Ops::EQ),
    // "Supports $filter (eq)."
    Property::new("correlationId", PropType::Guid).filter(Ops::EQ),
    Property::new("initiatedBy", PropType::Object(INITIATOR)),
    // "Supports $filter (eq)."
    Property::new("loggedByService", PropType::String).filter(Ops::EQ),
    Property::new("operationType", PropType::String),
    Property::new("result", PropType::Enum(OPERATION_RESULT)).filter(Ops::EQ),
    Property::new("resultReason", PropType::String),
    Property::new(
        "targetResources",
        PropType::ObjectCollection(TARGET_RESOURCE),
    )
    .filter(Ops::ANY),
];

/// Graph's `directoryAudit` (`/auditLogs/directoryAudits`). Nothing is
/// indexed: audit queries scan the time-ordered log.
pub const DIRECTORY_AUDIT: ResourceSchema = ResourceSchema {
    name: "directoryAudit",
    properties: DIRECTORY_AUDIT_PROPERTIES,
    max_top: 999,
    directory: false,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_schema_has_the_onramp_properties() {
        let names = [
            "id",
            "userPrincipalName",
            "displayName",
            "givenName",
            "surname",
            "mail",
            "mailNickname",
            "otherMails",
            "jobTitle",
            "department",
            "employeeId",
            "employeeType",
            "employeeHireDate",
            "employeeLeaveDateTime",
            "companyName",
            "officeLocation",
            "usageLocation",
            "preferredLanguage",
            "accountEnabled",
            "createdDateTime",
            "mobilePhone",
            "city",
            "country",
            "state",
            "postalCode",
            "streetAddress",
        ];
        assert_eq!(USER.properties.len(), names.len());
        for n in names {
            let p = USER.property(n).unwrap_or_else(|| panic!("{n}"));
            assert_eq!(p.name, n);
            assert!(p.select);
        }
        let indexed: Vec<_> = USER
            .properties
            .iter()
            .filter(|p| p.indexed)
            .map(|p| p.name)
            .collect();
        assert_eq!(indexed, ["id", "userPrincipalName", "mail", "employeeId"]);
        assert!(USER.property("jobTitle").unwrap().filter.contains(TEXT));
        assert!(
            !USER
                .property("department")
                .unwrap()
                .filter
                .contains(Ops::STARTS_WITH)
        );
        assert!(
            !USER
                .property("employeeType")
                .unwrap()
                .filter
                .contains(Ops::NULL)
        );
    }

    #[test]
    fn audit_schema_nested_paths() {
        for path in [
            "initiatedBy/user/id",
            "initiatedBy/user/userPrincipalName",
            "initiatedBy/app/appId",
        ] {
            let p = DIRECTORY_AUDIT
                .resolve(path)
                .unwrap_or_else(|| panic!("{path}"));
            assert!(p.filter.contains(Ops::EQ), "{path}");
        }
        assert!(
            DIRECTORY_AUDIT
                .property("targetResources")
                .unwrap()
                .filter
                .contains(Ops::ANY)
        );
        assert_eq!(DIRECTORY_AUDIT.title(), "DirectoryAudit");
    }
}
