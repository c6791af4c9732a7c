//! Mutations: the `mutations` of the RFC 7047 `mutate` operation.


use crate::atom::Atom;
use crate::datum::{Datum, NamedUuids};
use crate::error::OvsdbError;
use crate::json::JsonNode;
use crate::schema::{AtomicType, ColumnType, TableSchema};

/// A mutator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutator {
    /// `+=`
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// `/=`
    Div,
    /// `%=`
    Mod,
    /// `insert`
    Insert,
    /// `delete`
    Delete,
}

impl Mutator {
    /// Parses a mutator name.
    pub fn from_name(s: &str) -> Option<Mutator> {
        Some(match s {
            "+=" => Mutator::Add,
            "-=" => Mutator::Sub,
            "*=" => Mutator::Mul,
            "/=" => Mutator::Div,
            "%=" => Mutator::Mod,
            "insert" => Mutator::Insert,
            "delete" => Mutator::Delete,
            _ => return None,
        })
    }
    /// The mutator's name.
    pub fn name(self) -> &'static str {
        match self {
            Mutator::Add => "+=",
            Mutator::Sub => "-=",
            Mutator::Mul => "*=",
            Mutator::Div => "/=",
            Mutator::Mod => "%=",
            Mutator::Insert => "insert",
            Mutator::Delete => "delete",
        }
    }
    fn is_arithmetic(self) -> bool {
        !matches!(self, Mutator::Insert | Mutator::Delete)
    }
}

/// One mutation: `[column, mutator, value]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    /// Column position.
    pub column: usize,
    /// Mutator.
    pub mutator: Mutator,
    /// Argument.
    pub arg: Datum,
}

impl Mutation {
    /// Parses a list of mutations.
    pub fn parse_list<J: JsonNode>(ts: &TableSchema, json: &J, mut named: NamedUuids<'_>) -> Result<Vec<Mutation>, OvsdbError> {
        let arr = json.as_slice().ok_or_else(|| OvsdbError::syntax("mutations must be an array"))?;
        let mut out = Vec::with_capacity(arr.len());
        for m in arr {
            out.push(Mutation::from_json(ts, m, crate::datum::reborrow(&mut named))?);
        }
        Ok(out)
    }

    /// Parses one mutation.
    pub fn from_json<J: JsonNode>(ts: &TableSchema, json: &J, mut named: NamedUuids<'_>) -> Result<Mutation, OvsdbError> {
        let a = match json.as_slice() {
            Some(a) if a.len() == 3 => a,
            _ => return Err(OvsdbError::syntax("Parse error in mutation: must be [column, mutator, value]")),
        };
        let (cname, mname) = match (a[0].as_str(), a[1].as_str()) {
            (Some(c), Some(m)) => (c, m),
            _ => return Err(OvsdbError::syntax("Parse error in mutation: column and mutator must be strings")),
        };
        let column = ts
            .column(cname)
            .ok_or_else(|| OvsdbError::new("unknown column", format!("No column {cname} in table {}.", ts.name)))?;
        let col = &ts.columns[column];
        // ovsdb-server checks mutability before it looks at the mutator.
        if !col.mutable {
            return Err(OvsdbError::constraint(format!("Cannot mutate immutable column {cname} in table {}.", ts.name)));
        }
        let mutator = Mutator::from_name(mname)
            .ok_or_else(|| OvsdbError::new("unknown mutator", format!("No mutator named {mname}.")))?;
        let ct = &col.type_;
        let mismatch = || {
            OvsdbError::syntax(format!(
                "Type mismatch: \"{}\" operator may not be applied to column {cname} of type {ct}.",
                mutator.name()
            ))
        };
        let arg = if mutator.is_arithmetic() {
            let numeric = match ct.key.atomic {
                AtomicType::Integer => true,
                AtomicType::Real => mutator != Mutator::Mod,
                _ => false,
            };
            if !numeric || ct.is_map() {
                return Err(mismatch());
            }
            let t = ColumnType::scalar(ct.key.without_constraints());
            Datum::from_json(&t, &a[2], crate::datum::reborrow(&mut named))?
        } else {
            if ct.is_scalar() {
                return Err(mismatch());
            }
            let mut t = ct.clone();
            t.min = 0;
            if mutator == Mutator::Delete {
                t.max = u32::MAX;
            }
            match Datum::from_json(&t, &a[2], crate::datum::reborrow(&mut named)) {
                Ok(d) => d,
                Err(_) if ct.is_map() && mutator == Mutator::Delete => {
                    // A map's keys may be deleted by giving just the keys.
                    // If that fails too, ovsdb-server reports this second
                    // error (so a bad map argument is a "syntax error").
                    t.value = None;
                    Datum::from_json(&t, &a[2], crate::datum::reborrow(&mut named))?
                }
                Err(e) => return Err(e),
            }
        };
        Ok(Mutation { column, mutator, arg })
    }

    /// Applies the mutation to `d`, a value of type `t`.
    pub fn apply(&self, t: &ColumnType, cname: &str, d: &mut Datum) -> Result<(), OvsdbError> {
        match self.mutator {
            Mutator::Insert => {
                d.union(&self.arg);
                if d.len() as u64 > t.max as u64 {
                    return Err(OvsdbError::constraint(format!(
                        "\"insert\" mutation on column {cname} would make it hold {} elements, more than the limit of {}.",
                        d.len(),
                        t.max
                    )));
                }
            }
            Mutator::Delete => {
                d.subtract(&self.arg);
                if (d.len() as u64) < t.min as u64 {
                    return Err(OvsdbError::constraint(format!(
                        "\"delete\" mutation on column {cname} would leave it with {} elements, fewer than the minimum of {}.",
                        d.len(),
                        t.min
                    )));
                }
            }
            m => {
                let y = self.arg.first().cloned().unwrap_or(Atom::Integer(0));
                let unique = d.map_keys(|x| arith(m, x, &y))?;
                for a in d.keys() {
                    t.key.check(a)?;
                }
                if !unique {
                    return Err(OvsdbError::constraint(format!(
                        "Result of \"{}\" operation contains duplicates.",
                        m.name()
                    )));
                }
            }
        }
        Ok(())
    }
}

// Deliberate divergences from ovsdb-server 3.1 (pinned by the rovn-only tests
// in tests/differential.rs): "*=" is exact (upstream crashes on a negative
// times 0, refuses INT64_MAX * 1 and lets negative * negative wrap), and
// INT64_MIN %= -1 is 0 (upstream: "range error").
fn arith(m: Mutator, x: &Atom, y: &Atom) -> Result<Atom, OvsdbError> {
    match (x, y) {
        (Atom::Integer(x), Atom::Integer(y)) => {
            let (x, y) = (*x, *y);
            if matches!(m, Mutator::Div | Mutator::Mod) && y == 0 {
                return Err(OvsdbError::domain("Division by zero."));
            }
            let r = match m {
                Mutator::Add => x.checked_add(y),
                Mutator::Sub => x.checked_sub(y),
                Mutator::Mul => x.checked_mul(y),
                Mutator::Div => x.checked_div(y),
                // i64::MIN % -1 is 0 mathematically; only the CPU instruction overflows.
                Mutator::Mod => Some(x.wrapping_rem(y)),
                _ => unreachable!("set mutators are not arithmetic"),
            };
            r.map(Atom::Integer).ok_or_else(|| OvsdbError::range("Result of arithmetic operation is out of range."))
        }
        (Atom::Real(x), Atom::Real(y)) => {
            let (x, y) = (*x, *y);
            if m == Mutator::Div && y == 0.0 {
                return Err(OvsdbError::domain("Division by zero."));
            }
            let r = match m {
                Mutator::Add => x + y,
                Mutator::Sub => x - y,
                Mutator::Mul => x * y,
                Mutator::Div => x / y,
                _ => return Err(OvsdbError::syntax("\"%=\" does not apply to reals")),
            };
            if r.is_finite() {
                Ok(Atom::Real(r))
            } else {
                Err(OvsdbError::range("Result of floating-point arithmetic is out of range."))
            }
        }
        _ => Err(OvsdbError::syntax("arithmetic mutation on a non-numeric value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_edges() {
        let r = |m, x: i64, y: i64| arith(m, &Atom::Integer(x), &Atom::Integer(y)).map_err(|e| e.tag);
        assert_eq!(r(Mutator::Mul, i64::MAX, 1), Ok(Atom::Integer(i64::MAX)));
        assert_eq!(r(Mutator::Mul, -3, -4), Ok(Atom::Integer(12)));
        assert_eq!(r(Mutator::Mul, -3, 0), Ok(Atom::Integer(0)));
        assert_eq!(r(Mutator::Mul, i64::MIN, -1), Err("range error"));
        assert_eq!(r(Mutator::Mul, i64::MAX / 2 + 1, 2), Err("range error"));
        assert_eq!(r(Mutator::Mul, i64::MIN / 2, 2), Ok(Atom::Integer(i64::MIN)));
        assert_eq!(r(Mutator::Add, i64::MAX, 1), Err("range error"));
        assert_eq!(r(Mutator::Sub, i64::MIN, 1), Err("range error"));
        assert_eq!(r(Mutator::Div, 5, 0), Err("domain error"));
        assert_eq!(r(Mutator::Mod, 5, 0), Err("domain error"));
        assert_eq!(r(Mutator::Div, i64::MIN, -1), Err("range error"));
        assert_eq!(r(Mutator::Mod, i64::MIN, -1), Ok(Atom::Integer(0)));
        assert_eq!(r(Mutator::Mod, -7, 3), Ok(Atom::Integer(-1)));
        assert_eq!(r(Mutator::Div, -7, 2), Ok(Atom::Integer(-3)));
    }

    #[test]
    fn real_edges() {
        let r = |m, x: f64, y: f64| arith(m, &Atom::Real(x), &Atom::Real(y)).map_err(|e| e.tag);
        assert_eq!(r(Mutator::Mul, f64::MAX, 2.0), Err("range error"));
        assert_eq!(r(Mutator::Div, 1.0, 0.0), Err("domain error"));
        assert_eq!(r(Mutator::Add, 1.5, 2.0), Ok(Atom::Real(3.5)));
    }
}
