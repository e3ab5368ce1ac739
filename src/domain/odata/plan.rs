//! Index planning: which records to fetch so that a filter never needs a
//! scan of the whole directory when it pins an indexed property.
//!
//! A plan is a set of probes `(property, value)`; the candidates are the
//! union of the records each probe finds. The caller fetches them, drops
//! duplicates (two probes can find the same record) and then evaluates the
//! **whole** filter on each, so a plan only has to be complete (every match
//! is among the candidates), never exact.
//!
//! - `p eq 'x'` on an indexed property: one probe.
//! - `p in ('x', 'y')` on an indexed property: one probe per value.
//! - `a and b and …`: the operand with the fewest probes (any one operand that
//!   has a plan bounds the result).
//! - `a or b or …`: the union of the operands' plans, but only when **every**
//!   operand has one (`upn eq 'x' or mail eq 'y'` → two probes;
//!   `upn eq 'x' or jobTitle eq 'y'` → no plan, the caller scans).
//! - Anything else (`ne`, ranges, functions, `not`, `any()`, `null`, a
//!   non-indexed property) has no plan.

use super::filter::{CmpOp, Expr, Filter};
use super::literal::Literal;
use super::schema::ResourceSchema;

/// One index read: the records whose `property` equals `value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probe<'f> {
    /// The property's path in the schema's spelling (`userPrincipalName`).
    pub property: &'f str,
    /// A string or GUID literal from the filter, as written. String
    /// comparison ignores case: look the value up the way the index folds.
    pub value: &'f Literal,
}

impl<'f> Probe<'f> {
    /// The value as text (strings only).
    pub fn as_str(&self) -> Option<&'f str> {
        self.value.as_str()
    }
}

/// The records to fetch instead of a scan; see the module documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup<'f> {
    pub probes: Vec<Probe<'f>>,
}

impl Filter {
    /// A plan using the properties `schema` marks as indexed.
    pub fn lookup(&self, schema: &ResourceSchema) -> Option<Lookup<'_>> {
        self.lookup_by(|path| schema.resolve(path).is_some_and(|p| p.indexed))
    }

    /// A plan using the properties for which `indexed(path)` is true.
    pub fn lookup_by(&self, indexed: impl Fn(&str) -> bool) -> Option<Lookup<'_>> {
        let mut probes = plan(&self.expr, &indexed)?;
        let mut unique: Vec<Probe<'_>> = Vec::with_capacity(probes.len());
        for p in probes.drain(..) {
            if !unique.contains(&p) {
                unique.push(p);
            }
        }
        Some(Lookup { probes: unique })
    }
}

fn probe_value(v: &Literal) -> bool {
    matches!(v, Literal::Str(_) | Literal::Guid(_))
}

fn plan<'f>(e: &'f Expr, indexed: &dyn Fn(&str) -> bool) -> Option<Vec<Probe<'f>>> {
    match e {
        Expr::Compare {
            path,
            op: CmpOp::Eq,
            value,
        } if probe_value(value) && indexed(path.as_str()) => Some(vec![Probe {
            property: path.as_str(),
            value,
        }]),
        Expr::In { path, values } if values.iter().all(probe_value) && indexed(path.as_str()) => {
            Some(
                values
                    .iter()
                    .map(|value| Probe {
                        property: path.as_str(),
                        value,
                    })
                    .collect(),
            )
        }
        Expr::And(items) => items
            .iter()
            .filter_map(|i| plan(i, indexed))
            .min_by_key(Vec::len),
        Expr::Or(items) => {
            let mut all = Vec::new();
            for i in items {
                all.extend(plan(i, indexed)?);
            }
            Some(all)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::schemas::USER;
    use super::*;

    fn probes(text: &str) -> Option<Vec<(String, String)>> {
        let f = Filter::parse(text).and_then(|f| f.validate(&USER)).unwrap();
        let plan = f.lookup(&USER)?;
        Some(
            plan.probes
                .iter()
                .map(|p| (p.property.to_owned(), p.as_str().unwrap().to_owned()))
                .collect(),
        )
    }

    fn want(pairs: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(
            pairs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn conjunctions_use_an_indexed_equality() {
        assert_eq!(
            probes("userPrincipalName eq 'a' and accountEnabled eq true"),
            want(&[("userPrincipalName", "a")])
        );
        assert_eq!(
            probes("accountEnabled eq true and UserPrincipalName eq 'a'"),
            want(&[("userPrincipalName", "a")])
        );
        assert_eq!(
            probes("employeeId in ('1', '2', '3') and mail eq 'm'"),
            want(&[("mail", "m")]),
            "the operand with the fewest probes wins"
        );
        assert_eq!(
            probes("employeeId in ('1', '2') and jobTitle eq 'x'"),
            want(&[("employeeId", "1"), ("employeeId", "2")])
        );
        assert_eq!(
            probes("accountEnabled eq true and (id eq 'i' and startsWith(displayName, 'A'))"),
            want(&[("id", "i")])
        );
    }

    #[test]
    fn disjunctions_need_a_plan_on_every_side() {
        assert_eq!(
            probes("userPrincipalName eq 'a' or mail eq 'b'"),
            want(&[("userPrincipalName", "a"), ("mail", "b")])
        );
        assert_eq!(
            probes(
                "(userPrincipalName eq 'a' and accountEnabled eq true) or employeeId in ('7', '7')"
            ),
            want(&[("userPrincipalName", "a"), ("employeeId", "7")])
        );
        assert_eq!(probes("userPrincipalName eq 'a' or jobTitle eq 'b'"), None);
        assert_eq!(probes("jobTitle eq 'a' or jobTitle eq 'b'"), None);
    }

    #[test]
    fn other_forms_have_no_plan() {
        for text in [
            "jobTitle eq 'x'",
            "userPrincipalName ne 'a'",
            "userPrincipalName ge 'a'",
            "startsWith(userPrincipalName, 'a')",
            "not(userPrincipalName eq 'a')",
            "mail eq null",
            "mail in ('a', null)",
            "otherMails/any(m: m eq 'a')",
            "accountEnabled eq true",
        ] {
            assert_eq!(probes(text), None, "{text}");
        }
    }

    #[test]
    fn caller_supplied_indexes() {
        let f = Filter::parse("jobTitle eq 'x' and userPrincipalName eq 'a'").unwrap();
        let plan = f.lookup_by(|p| p == "jobTitle").unwrap();
        assert_eq!(plan.probes.len(), 1);
        assert_eq!(plan.probes[0].property, "jobTitle");
        assert!(f.lookup_by(|_| false).is_none());
    }
}
