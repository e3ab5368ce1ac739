//! Checks a parsed `$filter` against a [`ResourceSchema`]: every property
//! known, every operator allowed on its property, every literal of the
//! property's type. Property names are rewritten to the schema's spelling and
//! quoted GUIDs on `Guid` properties become GUID literals.

use super::error::{ODataError, quoted};
use super::filter::{CmpOp, Expr, Filter, Path};
use super::literal::{Literal, parse_guid};
use super::schema::{Ops, PropType, Property, ResourceSchema, find};

impl Filter {
    /// Checks this filter against `schema`; see the module documentation of
    /// [`super`] for what is refused.
    pub fn validate(mut self, schema: &ResourceSchema) -> Result<Filter, ODataError> {
        let mut v = Validator {
            schema,
            scopes: Vec::new(),
        };
        v.expr(&mut self.expr, false)?;
        Ok(self)
    }
}

/// What a range variable of an enclosing `any()` stands for.
#[derive(Clone, Copy)]
enum Element {
    /// An element of a string collection; `ops` are the collection's.
    Str { ops: Ops },
    /// An element of an object collection with these members.
    Obj { members: &'static [Property] },
}

struct Scope<'e> {
    var: &'e str,
    /// The collection's canonical path, for messages (`otherMails`).
    collection: String,
    element: Element,
}

/// A path resolved to what it denotes.
struct Resolved {
    /// The canonical spelling, as the evaluator will look it up.
    canonical: String,
    /// How messages name it (the range variable replaced by the collection).
    shown: String,
    ty: PropType,
    ops: Ops,
}

struct Validator<'s, 'e> {
    schema: &'s ResourceSchema,
    scopes: Vec<Scope<'e>>,
}

impl<'e> Validator<'_, 'e> {
    fn unsupported(&self, property: &str, why: impl std::fmt::Display) -> ODataError {
        ODataError::unsupported(format!(
            "Unsupported or invalid query filter clause specified for property '{property}' of resource '{}': {why}.",
            self.schema.title()
        ))
    }

    fn resolve(&self, path: &Path) -> Result<Resolved, ODataError> {
        let mut segments = path.segments();
        let head = segments.next().unwrap_or("");
        let (mut canonical, mut shown, mut members, mut current) =
            match self.scopes.iter().rev().find(|s| s.var == head) {
                Some(scope) => match scope.element {
                    Element::Str { ops } => {
                        if segments.next().is_some() {
                            return Err(self.unsupported(
                                &format!("{}{}", scope.collection, &path.as_str()[head.len()..]),
                                "an element of a String collection has no properties",
                            ));
                        }
                        return Ok(Resolved {
                            canonical: path.as_str().to_owned(),
                            shown: scope.collection.clone(),
                            ty: PropType::String,
                            ops,
                        });
                    }
                    Element::Obj { members } => {
                        (head.to_owned(), scope.collection.clone(), members, None)
                    }
                },
                None => {
                    let p = self.member(self.schema.properties, head, head)?;
                    (
                        p.name.to_owned(),
                        p.name.to_owned(),
                        self.schema.properties,
                        Some(p),
                    )
                }
            };
        for seg in segments {
            if let Some(p) = current {
                match p.ty {
                    PropType::Object(m) => members = m,
                    PropType::ObjectCollection(_) => {
                        return Err(self.unsupported(
                            &format!("{shown}/{seg}"),
                            format_args!(
                                "{shown} is a collection; use any(), e.g. {shown}/any(x: x/{seg} eq 'value')"
                            ),
                        ));
                    }
                    _ => {
                        return Err(self.unsupported(
                            &format!("{shown}/{seg}"),
                            format_args!("{shown} is {} and has no properties", a_type(p.ty)),
                        ));
                    }
                }
            }
            let wanted = format!("{shown}/{seg}");
            let p = self.member(members, seg, &wanted)?;
            canonical.push('/');
            canonical.push_str(p.name);
            shown.push('/');
            shown.push_str(p.name);
            current = Some(p);
        }
        let Some(p) = current else {
            // The bare range variable of an object collection.
            return Err(self.unsupported(
                &shown,
                format_args!("inside any(), compare a property of the element, e.g. {head}/id"),
            ));
        };
        Ok(Resolved {
            canonical,
            shown,
            ty: p.ty,
            ops: p.filter,
        })
    }

    fn member(
        &self,
        members: &'static [Property],
        name: &str,
        shown: &str,
    ) -> Result<&'static Property, ODataError> {
        find(members, name).ok_or_else(|| self.unsupported(shown, "no such property"))
    }

    fn require(&self, r: &Resolved, ops: Ops, name: &str, negated: bool) -> Result<(), ODataError> {
        if !r.ops.contains(ops) {
            return Err(self.unsupported(
                &r.shown,
                format_args!("the operator '{name}' is not supported on it"),
            ));
        }
        if negated && !r.ops.contains(Ops::NOT) {
            return Err(self.unsupported(&r.shown, "the operator 'not' is not supported on it"));
        }
        Ok(())
    }

    /// A comparison needs a single value, not a collection or complex value.
    fn scalar(&self, r: &Resolved) -> Result<(), ODataError> {
        match r.ty {
            PropType::StringCollection => Err(self.unsupported(
                &r.shown,
                format_args!(
                    "a String collection is filtered with any(), e.g. {}/any(x: x eq 'value')",
                    r.shown
                ),
            )),
            PropType::ObjectCollection(_) => Err(self.unsupported(
                &r.shown,
                format_args!(
                    "a collection of objects is filtered with any(), e.g. {}/any(x: x/id eq 'value')",
                    r.shown
                ),
            )),
            PropType::Object(_) => Err(self.unsupported(
                &r.shown,
                "it is a complex value; filter on one of its properties",
            )),
            _ => Ok(()),
        }
    }

    /// Checks (and normalises) one literal compared with the property.
    fn literal(&self, r: &Resolved, op: &str, lit: &mut Literal) -> Result<(), ODataError> {
        let ok = match (r.ty, &*lit) {
            (_, Literal::Null) => true,
            (PropType::String, Literal::Str(_))
            | (PropType::Bool, Literal::Bool(_))
            | (PropType::DateTime, Literal::DateTime(_))
            | (PropType::Int, Literal::Int(_))
            | (PropType::Guid, Literal::Guid(_)) => true,
            (PropType::Guid, Literal::Str(s)) => match parse_guid(s) {
                Some(g) => {
                    *lit = Literal::Guid(g);
                    true
                }
                None => false,
            },
            (PropType::Enum(values), Literal::Str(s)) => {
                if !values.iter().any(|v| v.eq_ignore_ascii_case(s)) {
                    return Err(ODataError::bad_request(format!(
                        "Invalid filter clause: {} is not a value of property '{}' ('{op}' needs {}).",
                        quoted(s),
                        r.shown,
                        expected(r.ty)
                    )));
                }
                true
            }
            _ => false,
        };
        if ok {
            return Ok(());
        }
        Err(ODataError::bad_request(format!(
            "Invalid filter clause: property '{}' is {}, so '{op}' needs {}, not {}.",
            r.shown,
            a_type(r.ty),
            expected(r.ty),
            lit.kind()
        )))
    }

    fn expr(&mut self, e: &'e mut Expr, negated: bool) -> Result<(), ODataError> {
        match e {
            Expr::And(items) | Expr::Or(items) => {
                for item in items {
                    self.expr(item, negated)?;
                }
                Ok(())
            }
            Expr::Not(inner) => self.expr(inner, !negated),
            Expr::Compare { path, op, value } => {
                let r = self.resolve(path)?;
                self.scalar(&r)?;
                let mut need = op.ops();
                if *value == Literal::Null {
                    if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                        return Err(ODataError::bad_request(format!(
                            "Invalid filter clause: '{}' cannot compare property '{}' with null; use eq null or ne null.",
                            op.as_str(),
                            r.shown
                        )));
                    }
                    if !r.ops.contains(Ops::NULL) {
                        return Err(self.unsupported(
                            &r.shown,
                            format_args!(
                                "the operator '{} null' is not supported on it",
                                op.as_str()
                            ),
                        ));
                    }
                    need = need.with(Ops::NULL);
                }
                self.require(&r, need, op.as_str(), negated)?;
                self.literal(&r, op.as_str(), value)?;
                *path = Path::from_string(r.canonical);
                Ok(())
            }
            Expr::In { path, values } => {
                let r = self.resolve(path)?;
                self.scalar(&r)?;
                self.require(&r, Ops::IN, "in", negated)?;
                for v in values.iter_mut() {
                    if *v == Literal::Null && !r.ops.contains(Ops::NULL) {
                        return Err(self
                            .unsupported(&r.shown, "null values in 'in' are not supported on it"));
                    }
                    self.literal(&r, "in", v)?;
                }
                *path = Path::from_string(r.canonical);
                Ok(())
            }
            Expr::Call { func, path, .. } => {
                let r = self.resolve(path)?;
                self.scalar(&r)?;
                self.require(&r, func.ops(), func.as_str(), negated)?;
                if r.ty != PropType::String {
                    return Err(ODataError::bad_request(format!(
                        "Invalid filter clause: {} needs a String property, but '{}' is {}.",
                        func.as_str(),
                        r.shown,
                        a_type(r.ty)
                    )));
                }
                *path = Path::from_string(r.canonical);
                Ok(())
            }
            Expr::Any { path, var, body } => {
                let r = self.resolve(path)?;
                let element = match r.ty {
                    PropType::StringCollection => Element::Str { ops: r.ops },
                    PropType::ObjectCollection(members) => Element::Obj { members },
                    other => {
                        return Err(self.unsupported(
                            &r.shown,
                            format_args!("any() needs a collection, and it is {}", a_type(other)),
                        ));
                    }
                };
                self.require(&r, Ops::ANY, "any", negated)?;
                *path = Path::from_string(r.canonical);
                let var: &'e str = var;
                self.scopes.push(Scope {
                    var,
                    collection: r.shown,
                    element,
                });
                let result = self.expr(body, negated);
                self.scopes.pop();
                result
            }
        }
    }
}

fn a_type(ty: PropType) -> String {
    match ty {
        PropType::Enum(_) => "an enumeration".to_owned(),
        PropType::Object(_) => "a complex value".to_owned(),
        PropType::ObjectCollection(_) => "a collection of objects".to_owned(),
        other => format!("a {}", other.name()),
    }
}

fn expected(ty: PropType) -> String {
    match ty {
        PropType::String | PropType::StringCollection => "a quoted string".to_owned(),
        PropType::Bool => "true or false".to_owned(),
        PropType::DateTime => "an unquoted DateTimeOffset such as 2026-12-01T08:00:00Z".to_owned(),
        PropType::Int => "an integer".to_owned(),
        PropType::Guid => "a GUID such as 00000000-0000-0000-0000-000000000000".to_owned(),
        PropType::Enum(values) => {
            let list: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
            format!("one of {}", list.join(", "))
        }
        PropType::Object(_) | PropType::ObjectCollection(_) => "a property of it".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::error::ErrorCode;
    use super::super::schemas::{DIRECTORY_AUDIT, USER};
    use super::*;

    fn check(schema: &ResourceSchema, text: &str) -> Result<Filter, ODataError> {
        Filter::parse(text)?.validate(schema)
    }

    #[test]
    fn graph_examples_are_accepted() {
        let users = [
            "userPrincipalName eq 'new.hire@contoso.com'",
            "accountEnabled eq false",
            "accountEnabled ne true and not(accountEnabled eq false)",
            "startswith(displayName,'mary') or startswith(givenName,'mary') or startswith(surname,'mary') or startswith(mail,'mary') or startswith(userPrincipalName,'mary')",
            "endswith(mail,'@outlook.com')",
            "department in ('Retail', 'Sales')",
            "companyName ne null and NOT(companyName eq 'Microsoft')",
            "companyName in (null, 'Microsoft')",
            "NOT startsWith(displayName, 'Conf')",
            "otherMails/any(m: m eq 'a@b.example')",
            "otherMails/any(m: startsWith(m, 'a') or endsWith(m, '@b.example'))",
            "not(otherMails/any(m: m eq 'a@b.example'))",
            "employeeHireDate ge 2026-12-01T00:00:00Z and employeeHireDate le 2026-12-31T23:59:59.999Z",
            "createdDateTime in (2026-01-01T00:00:00Z)",
            "employeeId eq '12345' and accountEnabled eq true",
            "USERPRINCIPALNAME EQ 'x@y.example'",
            "mail eq null",
        ];
        for text in users {
            if let Err(e) = check(&USER, text) {
                panic!("{text}: {e}");
            }
        }
        let audits = [
            "activityDateTime ge 2026-12-01T08:00:00Z and activityDateTime le 2026-12-02T08:00:00Z",
            "activityDisplayName eq 'Add user' or startswith(activityDisplayName, 'Update')",
            "category eq 'UserManagement'",
            "correlationId eq b662f17a-4e4d-4e1c-9248-cdec180024b2",
            "correlationId eq 'b662f17a-4e4d-4e1c-9248-cdec180024b2'",
            "initiatedBy/user/id eq '00000000-0000-0000-0000-000000000000'",
            "startswith(initiatedBy/user/userPrincipalName, 'admin')",
            "initiatedBy/app/appId eq 'hr-sync'",
            "targetResources/any(t: t/id eq 'ef7e527d-6c92-4234-8c6d-cf6fdfb57f95')",
            "targetResources/any(t: startswith(t/displayName, 'Ex'))",
            "result eq 'failure' and loggedByService eq 'Core Directory'",
            "result eq 'SUCCESS'",
        ];
        for text in audits {
            if let Err(e) = check(&DIRECTORY_AUDIT, text) {
                panic!("{text}: {e}");
            }
        }
    }

    #[test]
    fn names_are_canonicalised_and_guids_normalised() {
        let f = check(
            &USER,
            "USERPRINCIPALNAME eq 'a' and OtherMails/ANY(m: m eq 'b')",
        )
        .unwrap();
        assert_eq!(
            f.to_string(),
            "userPrincipalName eq 'a' and otherMails/any(m: m eq 'b')"
        );
        let f = check(&DIRECTORY_AUDIT, "InitiatedBy/User/ID eq 'x'").unwrap();
        assert_eq!(f.to_string(), "initiatedBy/user/id eq 'x'");
        let f = check(
            &DIRECTORY_AUDIT,
            "correlationId eq 'B662F17A-4E4D-4E1C-9248-CDEC180024B2'",
        )
        .unwrap();
        assert_eq!(
            f.to_string(),
            "correlationId eq b662f17a-4e4d-4e1c-9248-cdec180024b2"
        );
        let f = check(&DIRECTORY_AUDIT, "targetResources/any(t: t/ID eq 'x')").unwrap();
        assert_eq!(f.to_string(), "targetResources/any(t: t/id eq 'x')");
    }

    /// Each refusal: code, and the text that must appear (property/operator).
    #[test]
    fn refusals_name_property_and_operator() {
        use ErrorCode::{BadRequest as Bad, UnsupportedQuery as Uns};
        let users: &[(&str, ErrorCode, &[&str])] = &[
            (
                "userType eq 'Member'",
                Uns,
                &["property 'userType' of resource 'User'", "no such property"],
            ),
            (
                "endsWith(jobTitle, 'er')",
                Uns,
                &["property 'jobTitle' of resource 'User'", "'endsWith'"],
            ),
            (
                "startsWith(department, 'Sal')",
                Uns,
                &["'department'", "'startsWith'"],
            ),
            ("displayName gt 'M'", Uns, &["'displayName'", "'gt'"]),
            (
                "createdDateTime lt 2026-01-01T00:00:00Z",
                Uns,
                &["'createdDateTime'", "'lt'"],
            ),
            (
                "userPrincipalName eq null",
                Uns,
                &["'userPrincipalName'", "'eq null'"],
            ),
            (
                "employeeType ne null",
                Uns,
                &["'employeeType'", "'ne null'"],
            ),
            (
                "employeeType in ('a', null)",
                Uns,
                &["'employeeType'", "null values in 'in'"],
            ),
            ("accountEnabled ge true", Uns, &["'accountEnabled'", "'ge'"]),
            (
                "startsWith(accountEnabled, 't')",
                Uns,
                &["'accountEnabled'", "'startsWith'"],
            ),
            ("otherMails eq 'a@b'", Uns, &["'otherMails'", "any()"]),
            (
                "otherMails/any(m: m ne 'a@b')",
                Uns,
                &["'otherMails'", "'ne'"],
            ),
            ("otherMails/any(m: m/x eq 'a')", Uns, &["'otherMails/x'"]),
            (
                "mail/any(m: m eq 'a')",
                Uns,
                &["'mail'", "any() needs a collection"],
            ),
            ("mail/x eq 'a'", Uns, &["'mail/x'"]),
            (
                "accountEnabled eq 'true'",
                Bad,
                &[
                    "property 'accountEnabled' is a Boolean",
                    "'eq' needs true or false, not a string",
                ],
            ),
            (
                "AccountEnabled ne 'False'",
                Bad,
                &["'accountEnabled'", "'ne'"],
            ),
            (
                "createdDateTime ge '2026-01-01T00:00:00Z'",
                Bad,
                &[
                    "'createdDateTime' is a DateTimeOffset",
                    "'ge' needs an unquoted DateTimeOffset",
                ],
            ),
            (
                "displayName eq true",
                Bad,
                &["'displayName' is a String", "not a Boolean"],
            ),
            (
                "id eq 184efa21-98c3-4e5d-95ab-d07053a96e67",
                Bad,
                &["'id' is a String", "not a GUID"],
            ),
            (
                "department in ('a', 5)",
                Bad,
                &["'department'", "'in'", "not an integer"],
            ),
            (
                "mail ge null",
                Bad,
                &["'ge' cannot compare property 'mail' with null"],
            ),
            (
                "otherMails/any(m: m eq 5)",
                Bad,
                &["'otherMails' is a String", "not an integer"],
            ),
        ];
        for (text, code, wants) in users {
            let e = check(&USER, text).unwrap_err();
            assert_eq!(e.code, *code, "{text}: {e}");
            for want in *wants {
                assert!(
                    e.message.contains(want),
                    "{text}: {}\nwant: {want}",
                    e.message
                );
            }
        }
        let audits: &[(&str, ErrorCode, &[&str])] = &[
            (
                "not(category eq 'x')",
                Uns,
                &["property 'category' of resource 'DirectoryAudit'", "'not'"],
            ),
            (
                "activityDateTime gt 2026-01-01T00:00:00Z",
                Uns,
                &["'activityDateTime'", "'gt'"],
            ),
            ("operationType eq 'Add'", Uns, &["'operationType'", "'eq'"]),
            (
                "initiatedBy eq 'x'",
                Uns,
                &["'initiatedBy'", "complex value"],
            ),
            (
                "initiatedBy/user eq 'x'",
                Uns,
                &["'initiatedBy/user'", "complex value"],
            ),
            (
                "initiatedBy/user/ipAddress eq 'x'",
                Uns,
                &["'initiatedBy/user/ipAddress'", "'eq'"],
            ),
            (
                "initiatedBy/robot/id eq 'x'",
                Uns,
                &["'initiatedBy/robot'", "no such property"],
            ),
            (
                "startswith(initiatedBy/user/id, 'x')",
                Uns,
                &["'initiatedBy/user/id'", "'startsWith'"],
            ),
            ("targetResources/id eq 'x'", Uns, &["'targetResources/id'"]),
            (
                "targetResources eq 'x'",
                Uns,
                &["'targetResources'", "any()"],
            ),
            (
                "targetResources/any(t: t eq 'x')",
                Uns,
                &["'targetResources'", "t/id"],
            ),
            (
                "targetResources/any(t: t/type eq 'User')",
                Uns,
                &["'targetResources/type'", "'eq'"],
            ),
            (
                "targetResources/any(t: t/nope eq 'User')",
                Uns,
                &["'targetResources/nope'", "no such property"],
            ),
            (
                "result eq 'succes'",
                Bad,
                &[
                    "'succes' is not a value of property 'result'",
                    "'success', 'failure'",
                ],
            ),
            (
                "result eq true",
                Bad,
                &["'result' is an enumeration", "not a Boolean"],
            ),
            (
                "correlationId eq 'not-a-guid'",
                Bad,
                &["'correlationId' is a Guid", "needs a GUID"],
            ),
            (
                "activityDateTime ge 5",
                Bad,
                &["'activityDateTime'", "not an integer"],
            ),
        ];
        for (text, code, wants) in audits {
            let e = check(&DIRECTORY_AUDIT, text).unwrap_err();
            assert_eq!(e.code, *code, "{text}: {e}");
            for want in *wants {
                assert!(
                    e.message.contains(want),
                    "{text}: {}\nwant: {want}",
                    e.message
                );
            }
        }
    }

    #[test]
    fn graph_message_shape() {
        let e = check(&USER, "startsWith(department, 'x')").unwrap_err();
        assert_eq!(e.code_str(), "Request_UnsupportedQuery");
        assert!(e.message.starts_with(
            "Unsupported or invalid query filter clause specified for property 'department' of resource 'User'"
        ));
    }
}
