//! Conditions: the `where` clauses of RFC 7047 §5.1.

use std::cmp::Ordering;


use crate::datum::{Datum, NamedUuids};
use crate::error::OvsdbError;
use crate::json::JsonNode;
use crate::row::Row;
use crate::schema::{AtomicType, TableSchema, COL_UUID};
use crate::uuid::Uuid;

/// A condition function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>=`
    Ge,
    /// `>`
    Gt,
    /// `includes`
    Includes,
    /// `excludes`
    Excludes,
}

impl Function {
    /// Parses a function name.
    pub fn from_name(s: &str) -> Option<Function> {
        Some(match s {
            "<" => Function::Lt,
            "<=" => Function::Le,
            "==" => Function::Eq,
            "!=" => Function::Ne,
            ">=" => Function::Ge,
            ">" => Function::Gt,
            "includes" => Function::Includes,
            "excludes" => Function::Excludes,
            _ => return None,
        })
    }
    /// The function's name.
    pub fn name(self) -> &'static str {
        match self {
            Function::Lt => "<",
            Function::Le => "<=",
            Function::Eq => "==",
            Function::Ne => "!=",
            Function::Ge => ">=",
            Function::Gt => ">",
            Function::Includes => "includes",
            Function::Excludes => "excludes",
        }
    }
}

/// One clause: `[column, function, value]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// Column position.
    pub column: usize,
    /// Function.
    pub function: Function,
    /// Argument.
    pub arg: Datum,
}

/// A conjunction of clauses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Condition {
    /// The clauses, all of which must hold.
    pub clauses: Vec<Clause>,
}

impl Condition {
    /// Parses a `where` array against a table.
    pub fn from_json<J: JsonNode>(ts: &TableSchema, json: &J, mut named: NamedUuids<'_>) -> Result<Condition, OvsdbError> {
        let arr = json.as_slice().ok_or_else(|| OvsdbError::syntax("where must be an array of clauses"))?;
        let mut clauses = Vec::with_capacity(arr.len());
        for c in arr {
            clauses.push(Clause::from_json(ts, c, crate::datum::reborrow(&mut named))?);
        }
        Ok(Condition { clauses })
    }

    /// True if `row` satisfies every clause.
    pub fn matches(&self, ts: &TableSchema, row: &Row) -> bool {
        let _ = ts;
        self.clauses.iter().all(|c| c.matches(row.get(c.column)))
    }

    /// If the condition pins `_uuid` to one value, that value (a fast path).
    pub fn uuid_eq(&self) -> Option<Uuid> {
        self.clauses.iter().find_map(|c| match (c.column, c.function) {
            (COL_UUID, Function::Eq) => c.arg.first().and_then(|a| a.as_uuid()),
            _ => None,
        })
    }
}

impl Clause {
    /// Parses one clause.
    pub fn from_json<J: JsonNode>(ts: &TableSchema, json: &J, named: NamedUuids<'_>) -> Result<Clause, OvsdbError> {
        let a = match json.as_slice() {
            Some(a) if a.len() == 3 => a,
            _ => return Err(OvsdbError::syntax("Parse error in condition: clause must be [column, function, value]")),
        };
        let (cname, fname) = match (a[0].as_str(), a[1].as_str()) {
            (Some(c), Some(f)) => (c, f),
            _ => return Err(OvsdbError::syntax("Parse error in condition: column and function must be strings")),
        };
        let column = ts
            .column(cname)
            .ok_or_else(|| OvsdbError::new("unknown column", format!("No column {cname} in table {}.", ts.name)))?;
        let function = Function::from_name(fname)
            .ok_or_else(|| OvsdbError::new("unknown function", format!("No function named {fname}.")))?;
        let ctype = &ts.columns[column].type_;
        let mut t = ctype.clone();
        match function {
            Function::Lt | Function::Le | Function::Gt | Function::Ge => {
                if !(ctype.is_scalar() || ctype.is_optional_scalar())
                    || !matches!(ctype.key.atomic, AtomicType::Integer | AtomicType::Real)
                {
                    return Err(OvsdbError::syntax(format!(
                        "Type mismatch: \"{}\" operator may not be applied to column {cname} of type {}.",
                        function.name(),
                        ctype
                    )));
                }
                // Ordering compares against one value.
                t.min = 1;
                t.max = 1;
            }
            Function::Eq | Function::Ne => {}
            Function::Includes => {
                if !ctype.is_scalar() {
                    t.min = 0;
                }
            }
            Function::Excludes => {
                if !ctype.is_scalar() {
                    t.min = 0;
                    t.max = u32::MAX;
                }
            }
        }
        let arg = Datum::from_json(&t, &a[2], named)?;
        Ok(Clause { column, function, arg })
    }

    /// Evaluates the clause on a column value of type `t`.
    pub fn matches(&self, field: &Datum) -> bool {
        let ordering = |f: &Datum| -> Option<Ordering> { Some(f.first()?.cmp(self.arg.first()?)) };
        match self.function {
            Function::Eq => field == &self.arg,
            Function::Ne => field != &self.arg,
            Function::Includes => field.includes(&self.arg),
            Function::Excludes => field.excludes(&self.arg),
            Function::Lt => ordering(field) == Some(Ordering::Less),
            Function::Le => matches!(ordering(field), Some(Ordering::Less | Ordering::Equal)),
            Function::Gt => ordering(field) == Some(Ordering::Greater),
            Function::Ge => matches!(ordering(field), Some(Ordering::Greater | Ordering::Equal)),
        }
    }
}
