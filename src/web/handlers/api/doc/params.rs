//! The OData query options of each request, as OpenAPI parameters derived
//! from the resource's [`ResourceSchema`] (the same table the parser
//! checks against): `$select` lists exactly the selectable properties,
//! `$orderby` the sortable ones, `$filter` names the filterable ones and
//! their operators.

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn, ParameterStyle};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{Deprecated, Required};

use crate::domain::odata::{Ops, ResourceSchema, SearchMode};

/// Which options a request takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Options {
    /// A collection, paged by `$top` and `$skiptoken` (from the previous
    /// page's `@odata.nextLink`).
    Paged,
    /// One resource: `$select` only.
    Single,
    /// `/$count`: `$filter` and `$search`.
    Count,
}

const OPS: &[(Ops, &str)] = &[
    (Ops::EQ, "eq"),
    (Ops::NE, "ne"),
    (Ops::GT, "gt"),
    (Ops::GE, "ge"),
    (Ops::LT, "lt"),
    (Ops::LE, "le"),
    (Ops::IN, "in"),
    (Ops::STARTS_WITH, "startsWith"),
    (Ops::ENDS_WITH, "endsWith"),
    (Ops::ANY, "any"),
    (Ops::NOT, "not"),
];

fn query(name: &str, description: String) -> ParameterBuilder {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .deprecated(Some(Deprecated::False))
        .description(Some(description))
}

fn filter_description(schema: &ResourceSchema) -> Option<String> {
    let mut parts = Vec::new();
    for p in schema.properties {
        let ops: Vec<&str> = OPS
            .iter()
            .filter(|(o, _)| p.filter.contains(*o))
            .map(|(_, n)| *n)
            .collect();
        if !ops.is_empty() {
            parts.push(format!("`{}` ({})", p.name, ops.join(", ")));
        }
        if let Some(members) = p.ty.members() {
            for m in members.iter().filter(|m| !m.filter.is_empty()) {
                parts.push(format!("`{}/{}` (inside the filter)", p.name, m.name));
            }
        }
    }
    (!parts.is_empty()).then(|| {
        format!(
            "An OData filter, combined with `and`, `or`, `not` and parentheses, on: {}. Any other property or operator is a 400 naming it.",
            parts.join(", ")
        )
    })
}

/// The parameters of a request on `schema` taking `options`.
pub fn of(schema: &ResourceSchema, options: Options) -> Vec<Parameter> {
    let mut out = Vec::new();
    let selectable: Vec<&str> = schema
        .properties
        .iter()
        .filter(|p| p.select)
        .map(|p| p.name)
        .collect();
    let sortable: Vec<&str> = schema
        .properties
        .iter()
        .filter(|p| p.order_by)
        .map(|p| p.name)
        .collect();
    let searchable = schema
        .properties
        .iter()
        .any(|p| p.search != SearchMode::None);
    if options != Options::Single
        && let Some(description) = filter_description(schema)
    {
        out.push(
            query("$filter", description)
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1)),
                ))
                .build(),
        );
    }
    if options == Options::Count {
        if searchable {
            out.push(search(schema));
        }
        if schema.directory {
            out.push(consistency_level(Required::True));
        }
        return out;
    }
    out.push(
        query(
            "$select",
            "Comma-separated properties to return (matched case-insensitively).".into(),
        )
        .style(Some(ParameterStyle::Form))
        .explode(Some(false))
        .schema(Some(
            ArrayBuilder::new()
                .items(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(selectable)),
                )
                .min_items(Some(1)),
        ))
        .build(),
    );
    if options == Options::Single {
        return out;
    }
    out.push(
        query("$top", "Page size.".into())
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(schema.max_top)),
            ))
            .build(),
    );
    if !sortable.is_empty() {
        out.push(
            query(
                "$orderby",
                format!(
                    "Sort keys, each a property with `asc` or `desc`, on: {}.",
                    sortable.join(", ")
                ),
            )
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1)),
            ))
            .build(),
        );
    }
    out.push(
        query(
            "$count",
            "`true`: the answer has `@odata.count`, the number of matching items.".into(),
        )
        .schema(Some(ObjectBuilder::new().schema_type(Type::Boolean)))
        .build(),
    );
    if searchable {
        out.push(search(schema));
    }
    out.push(
        query(
            "$skiptoken",
            "The cursor in the previous page's `@odata.nextLink`.".into(),
        )
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1)),
        ))
        .build(),
    );
    if schema.directory {
        out.push(consistency_level(Required::False));
    }
    out
}

fn search(schema: &ResourceSchema) -> Parameter {
    let names: Vec<&str> = schema
        .properties
        .iter()
        .filter(|p| p.search != SearchMode::None)
        .map(|p| p.name)
        .collect();
    query(
        "$search",
        format!(
            "`\"property:words\"` on {}, clauses joined by AND or OR; needs `ConsistencyLevel: eventual`.",
            names.join(", ")
        ),
    )
    .schema(Some(ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1)),
            ))
    .build()
}

/// Graph requires it for `$count` and `$search` on directory objects.
fn consistency_level(required: Required) -> Parameter {
    ParameterBuilder::new()
        .name("ConsistencyLevel")
        .parameter_in(ParameterIn::Header)
        .required(required)
        .description(Some(
            "`eventual`, which Graph requires for `$count` and `$search` on directory objects.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(["eventual"])),
        ))
        .build()
}

/// A type whose `IntoParams` are the options of one request, for
/// `#[utoipa::path(params(...))]`.
macro_rules! odata_params {
    ($($name:ident => $schema:expr, $options:ident;)*) => {$(
        pub struct $name;
        impl utoipa::IntoParams for $name {
            fn into_params(
                _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
            ) -> Vec<utoipa::openapi::path::Parameter> {
                $crate::web::handlers::api::doc::params::of(
                    &$schema,
                    $crate::web::handlers::api::doc::params::Options::$options,
                )
            }
        }
    )*};
}
pub(crate) use odata_params;

use crate::domain::odata::schemas;

odata_params! {
    UserList => schemas::USER, Paged;
    UserCount => schemas::USER, Count;
    UserSelect => schemas::USER, Single;
    GroupList => schemas::GROUP, Paged;
    GroupCount => schemas::GROUP, Count;
    GroupSelect => schemas::GROUP, Single;
    MemberOf => schemas::GROUP, Paged;
    AuditList => schemas::DIRECTORY_AUDIT, Paged;
    AuditSelect => schemas::DIRECTORY_AUDIT, Single;
}

/// The path parameters, each described once (`params(UserPath, ...)`).
macro_rules! path_params {
    ($($name:ident { $field:ident: $doc:literal })*) => {$(
        #[derive(utoipa::IntoParams)]
        #[into_params(parameter_in = Path)]
        #[allow(dead_code)]
        pub struct $name {
            #[doc = $doc]
            $field: String,
        }
    )*};
}

path_params! {
    UserPath { user: "The user's id or, when it contains `@`, userPrincipalName (matched case-insensitively)." }
    GroupPath { group: "The group's id." }
    ClientPath { client: "The clientId." }
    TapPath { tap: "The pass's id." }
    PasskeyPath { passkey: "The passkey's id." }
    Fido2Path { method: "The passkey's id." }
    MethodPath { method: "The method's id." }
    MemberPath { member: "The member's id." }
    ConfigurationPath { id: "`TemporaryAccessPass` or `Fido2`, matched case-insensitively." }
    AuditPath { id: "The audit's id." }
    WebhookPath { webhook: "The subscription's id." }
    DeliveryPath { delivery: "The delivery's id (its `webhook-id`)." }
}
