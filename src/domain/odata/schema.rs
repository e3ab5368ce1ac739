//! What a resource supports: its properties, their types, and per property
//! the `$filter` operators, `$orderby`, `$select` and `$search`, and whether
//! the store keeps an index on it. Schemas are `const` data (see
//! [`super::schemas`]).

/// A set of `$filter` operators allowed on one property.
///
/// For a string collection the set applies to the element inside `any()`
/// (`otherMails/any(m: startsWith(m, 'a'))` needs `ANY` and `STARTS_WITH`).
/// For an object collection, `ANY` is on the collection and the operators
/// on each sub-property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ops(u16);

impl Ops {
    pub const NONE: Ops = Ops(0);
    pub const EQ: Ops = Ops(1);
    pub const NE: Ops = Ops(1 << 1);
    pub const GT: Ops = Ops(1 << 2);
    pub const GE: Ops = Ops(1 << 3);
    pub const LT: Ops = Ops(1 << 4);
    pub const LE: Ops = Ops(1 << 5);
    pub const IN: Ops = Ops(1 << 6);
    pub const STARTS_WITH: Ops = Ops(1 << 7);
    pub const ENDS_WITH: Ops = Ops(1 << 8);
    /// `collection/any(x: …)`.
    pub const ANY: Ops = Ops(1 << 9);
    /// `eq null` / `ne null` / `in (null, …)` ("eq on null values").
    pub const NULL: Ops = Ops(1 << 10);
    /// The property may appear under `not`.
    pub const NOT: Ops = Ops(1 << 11);

    /// Both sets.
    pub const fn with(self, other: Ops) -> Ops {
        Ops(self.0 | other.0)
    }

    /// Whether every operator of `other` is in `self`.
    pub const fn contains(self, other: Ops) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// How `$search` matches a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchMode {
    /// Not searchable: naming it in `$search` is refused.
    None,
    /// Graph's tokenized search (`displayName`): every word of the query must
    /// start a word of the value, in any order, ignoring case.
    Tokens,
    /// Graph's fallback for other properties: `startsWith`, ignoring case.
    Prefix,
}

/// The type of a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropType {
    String,
    Bool,
    DateTime,
    Int,
    /// `Edm.Guid`: compared with an unquoted GUID (a quoted one is accepted).
    Guid,
    /// A string with a closed set of values (compared ignoring case).
    Enum(&'static [&'static str]),
    StringCollection,
    /// A single complex value; its properties are reached as `a/b`.
    Object(&'static [Property]),
    /// A collection of complex values, filtered with `any()`.
    ObjectCollection(&'static [Property]),
}

impl PropType {
    /// The type name in messages (Graph's EDM names).
    pub fn name(&self) -> &'static str {
        match self {
            Self::String => "String",
            Self::Bool => "Boolean",
            Self::DateTime => "DateTimeOffset",
            Self::Int => "Int64",
            Self::Guid => "Guid",
            Self::Enum(_) => "enumeration",
            Self::StringCollection => "String collection",
            Self::Object(_) => "complex",
            Self::ObjectCollection(_) => "complex collection",
        }
    }

    /// The sub-properties of a complex type.
    pub fn members(&self) -> Option<&'static [Property]> {
        match self {
            Self::Object(m) | Self::ObjectCollection(m) => Some(m),
            _ => None,
        }
    }
}

/// One property of a resource (or of a complex type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Property {
    /// Graph's spelling; names in queries match it ignoring case.
    pub name: &'static str,
    pub ty: PropType,
    pub filter: Ops,
    pub order_by: bool,
    pub select: bool,
    pub search: SearchMode,
    /// The store can fetch records by this property's value
    /// ([`super::Filter::lookup`]).
    pub indexed: bool,
}

impl Property {
    /// A selectable property that supports nothing else.
    pub const fn new(name: &'static str, ty: PropType) -> Self {
        Self {
            name,
            ty,
            filter: Ops::NONE,
            order_by: false,
            select: true,
            search: SearchMode::None,
            indexed: false,
        }
    }

    pub const fn filter(mut self, ops: Ops) -> Self {
        self.filter = ops;
        self
    }

    pub const fn order_by(mut self) -> Self {
        self.order_by = true;
        self
    }

    pub const fn search(mut self, mode: SearchMode) -> Self {
        self.search = mode;
        self
    }

    pub const fn indexed(mut self) -> Self {
        self.indexed = true;
        self
    }

    pub const fn not_selectable(mut self) -> Self {
        self.select = false;
        self
    }
}

/// What one resource (an entity set such as `/users`) supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceSchema {
    /// Graph's type name, e.g. `user`; messages write it capitalised.
    pub name: &'static str,
    pub properties: &'static [Property],
    /// The largest `$top` (Graph: 999 for users).
    pub max_top: u32,
    /// A directory object (users, groups): Graph wants the header
    /// `ConsistencyLevel: eventual` with `$count` and `$search` on these.
    pub directory: bool,
}

impl ResourceSchema {
    /// A top-level property by name, ignoring case.
    pub fn property(&self, name: &str) -> Option<&'static Property> {
        find(self.properties, name)
    }

    /// A property by path (`initiatedBy/user/id`), ignoring case; every step
    /// but the last must be a single complex value.
    pub fn resolve(&self, path: &str) -> Option<&'static Property> {
        let mut members = self.properties;
        let mut segments = path.split('/').peekable();
        while let Some(seg) = segments.next() {
            let p = find(members, seg)?;
            if segments.peek().is_none() {
                return Some(p);
            }
            match p.ty {
                PropType::Object(m) => members = m,
                _ => return None,
            }
        }
        None
    }

    /// `User` for `user`: how Graph's messages name the resource.
    pub fn title(&self) -> String {
        let mut chars = self.name.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        }
    }
}

pub(crate) fn find(members: &'static [Property], name: &str) -> Option<&'static Property> {
    members.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INNER: &[Property] = &[Property::new("id", PropType::String).filter(Ops::EQ)];
    const PROPS: &[Property] = &[
        Property::new("displayName", PropType::String)
            .filter(Ops::EQ.with(Ops::STARTS_WITH))
            .order_by(),
        Property::new("owner", PropType::Object(INNER)),
        Property::new("items", PropType::ObjectCollection(INNER)).filter(Ops::ANY),
    ];
    const SCHEMA: ResourceSchema = ResourceSchema {
        directory: false,
        name: "widget",
        properties: PROPS,
        max_top: 10,
    };

    #[test]
    fn ops_sets() {
        let s = Ops::EQ.with(Ops::IN);
        assert!(s.contains(Ops::EQ) && s.contains(Ops::IN) && s.contains(Ops::EQ.with(Ops::IN)));
        assert!(!s.contains(Ops::NE));
        assert!(Ops::NONE.is_empty() && !s.is_empty());
    }

    #[test]
    fn paths_resolve_ignoring_case() {
        assert_eq!(
            SCHEMA.resolve("DISPLAYNAME").map(|p| p.name),
            Some("displayName")
        );
        assert_eq!(SCHEMA.resolve("owner/ID").map(|p| p.name), Some("id"));
        assert!(
            SCHEMA.resolve("items/id").is_none(),
            "collections need any()"
        );
        assert!(SCHEMA.resolve("displayName/x").is_none());
        assert!(SCHEMA.resolve("nope").is_none());
        assert!(SCHEMA.resolve("").is_none());
        assert_eq!(SCHEMA.title(), "Widget");
    }
}
