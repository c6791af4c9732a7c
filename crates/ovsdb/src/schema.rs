//! Database schemas: parsing and validating `.ovsschema` JSON (RFC 7047 §3.2
//! plus the ovsdb(5) extensions) and writing it back.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::atom::Atom;
use crate::error::{Error, OvsdbError, Result};

/// The five atomic types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AtomicType {
    /// `"integer"`
    Integer,
    /// `"real"`
    Real,
    /// `"boolean"`
    Boolean,
    /// `"string"`
    String,
    /// `"uuid"`
    Uuid,
}

impl AtomicType {
    /// Parses a type name.
    pub fn from_name(s: &str) -> Option<AtomicType> {
        Some(match s {
            "integer" => AtomicType::Integer,
            "real" => AtomicType::Real,
            "boolean" => AtomicType::Boolean,
            "string" => AtomicType::String,
            "uuid" => AtomicType::Uuid,
            _ => return None,
        })
    }
    /// The type's name.
    pub fn name(self) -> &'static str {
        match self {
            AtomicType::Integer => "integer",
            AtomicType::Real => "real",
            AtomicType::Boolean => "boolean",
            AtomicType::String => "string",
            AtomicType::Uuid => "uuid",
        }
    }
}

impl fmt::Display for AtomicType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Strength of a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefType {
    /// The referenced row must exist; it cannot be deleted while referenced.
    Strong,
    /// References to deleted rows disappear.
    Weak,
}

/// An atomic type with its constraints.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseType {
    /// The atomic type.
    pub atomic: AtomicType,
    /// Allowed values (sorted, unique), if restricted.
    pub enum_: Option<Vec<Atom>>,
    /// Inclusive integer bounds.
    pub min_integer: Option<i64>,
    /// Inclusive integer bounds.
    pub max_integer: Option<i64>,
    /// Inclusive real bounds.
    pub min_real: Option<f64>,
    /// Inclusive real bounds.
    pub max_real: Option<f64>,
    /// String length bounds, in characters.
    pub min_length: Option<u64>,
    /// String length bounds, in characters.
    pub max_length: Option<u64>,
    /// For uuids: the table referenced.
    pub ref_table: Option<String>,
    /// For uuids with `ref_table`: the strength.
    pub ref_type: RefType,
}

impl BaseType {
    /// An unconstrained base type.
    pub fn new(atomic: AtomicType) -> BaseType {
        BaseType {
            atomic,
            enum_: None,
            min_integer: None,
            max_integer: None,
            min_real: None,
            max_real: None,
            min_length: None,
            max_length: None,
            ref_table: None,
            ref_type: RefType::Strong,
        }
    }

    /// The same atomic type without any constraint (references kept).
    pub fn without_constraints(&self) -> BaseType {
        BaseType { ref_table: self.ref_table.clone(), ref_type: self.ref_type, ..BaseType::new(self.atomic) }
    }

    fn has_constraints(&self) -> bool {
        self.enum_.is_some()
            || self.min_integer.is_some()
            || self.max_integer.is_some()
            || self.min_real.is_some()
            || self.max_real.is_some()
            || self.min_length.is_some()
            || self.max_length.is_some()
            || self.ref_table.is_some()
    }

    /// True if this is a strong reference to another table.
    pub fn is_strong_ref(&self) -> bool {
        self.ref_table.is_some() && self.ref_type == RefType::Strong
    }

    /// True if this is a weak reference to another table.
    pub fn is_weak_ref(&self) -> bool {
        self.ref_table.is_some() && self.ref_type == RefType::Weak
    }

    /// Checks an atom of this type against the constraints ("constraint violation").
    pub fn check(&self, atom: &Atom) -> Result<(), OvsdbError> {
        if let Some(e) = &self.enum_ {
            if e.binary_search(atom).is_err() {
                let allowed: Vec<String> = e.iter().map(|a| a.to_string()).collect();
                return Err(OvsdbError::constraint(format!(
                    "{atom} is not one of the allowed values ({})",
                    allowed.join(", ")
                )));
            }
        }
        match atom {
            Atom::Integer(i) => {
                let lo = self.min_integer.unwrap_or(i64::MIN);
                let hi = self.max_integer.unwrap_or(i64::MAX);
                if *i < lo || *i > hi {
                    return Err(OvsdbError::constraint(format!(
                        "{i} is not in the valid range {} (inclusive)",
                        range_text(self.min_integer, self.max_integer)
                    )));
                }
            }
            Atom::Real(r) => {
                if self.min_real.is_some_and(|lo| *r < lo) || self.max_real.is_some_and(|hi| *r > hi) {
                    return Err(OvsdbError::constraint(format!(
                        "{atom} is not in the valid range {} (inclusive)",
                        range_text(self.min_real, self.max_real)
                    )));
                }
            }
            Atom::String(s) => {
                let n = s.chars().count() as u64;
                if self.min_length.is_some_and(|lo| n < lo) || self.max_length.is_some_and(|hi| n > hi) {
                    return Err(OvsdbError::constraint(format!(
                        "{atom} length {n} is not in the valid range {} (inclusive)",
                        range_text(self.min_length, self.max_length)
                    )));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn from_json(json: &Value, where_: &str) -> Result<BaseType> {
        let obj = match json {
            Value::String(s) => {
                return AtomicType::from_name(s)
                    .map(BaseType::new)
                    .ok_or_else(|| Error::Schema(format!("{where_}: unknown atomic type \"{s}\"")))
            }
            Value::Object(o) => o,
            _ => return Err(Error::Schema(format!("{where_}: base type must be a string or an object"))),
        };
        let mut p = Members::new(obj, where_);
        let tname = p.req_str("type")?;
        let atomic = AtomicType::from_name(&tname)
            .ok_or_else(|| Error::Schema(format!("{where_}: unknown atomic type \"{tname}\"")))?;
        let mut b = BaseType::new(atomic);
        if let Some(e) = p.opt("enum") {
            let unconstrained = BaseType::new(atomic);
            let parsed = crate::datum::Datum::from_json(
                &crate::schema::ColumnType { key: unconstrained, value: None, min: 0, max: u32::MAX },
                e,
                None,
            )
            .map_err(|err| Error::Schema(format!("{where_}: bad enum: {}", err.details)))?;
            b.enum_ = Some(parsed.keys().to_vec());
        }
        let int_bound = |p: &mut Members, name: &'static str| -> Result<Option<i64>> {
            match p.opt(name) {
                None => Ok(None),
                Some(v) => v
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| Error::Schema(format!("{where_}: {name} must be an integer"))),
            }
        };
        let real_bound = |p: &mut Members, name: &'static str| -> Result<Option<f64>> {
            match p.opt(name) {
                None => Ok(None),
                Some(v) => v.as_f64().map(Some).ok_or_else(|| Error::Schema(format!("{where_}: {name} must be a number"))),
            }
        };
        match atomic {
            AtomicType::Integer => {
                b.min_integer = int_bound(&mut p, "minInteger")?;
                b.max_integer = int_bound(&mut p, "maxInteger")?;
                if let (Some(lo), Some(hi)) = (b.min_integer, b.max_integer) {
                    if lo > hi {
                        return Err(Error::Schema(format!("{where_}: minInteger {lo} exceeds maxInteger {hi}")));
                    }
                }
            }
            AtomicType::Real => {
                b.min_real = real_bound(&mut p, "minReal")?;
                b.max_real = real_bound(&mut p, "maxReal")?;
                if let (Some(lo), Some(hi)) = (b.min_real, b.max_real) {
                    if lo > hi {
                        return Err(Error::Schema(format!("{where_}: minReal {lo} exceeds maxReal {hi}")));
                    }
                }
            }
            AtomicType::String => {
                let lo = int_bound(&mut p, "minLength")?;
                let hi = int_bound(&mut p, "maxLength")?;
                for (n, v) in [("minLength", lo), ("maxLength", hi)] {
                    if v.is_some_and(|v| v < 0) {
                        return Err(Error::Schema(format!("{where_}: {n} must not be negative")));
                    }
                }
                b.min_length = lo.map(|v| v as u64);
                b.max_length = hi.map(|v| v as u64);
                if let (Some(lo), Some(hi)) = (b.min_length, b.max_length) {
                    if lo > hi {
                        return Err(Error::Schema(format!("{where_}: minLength {lo} exceeds maxLength {hi}")));
                    }
                }
            }
            AtomicType::Uuid => {
                b.ref_table = p.opt_str("refTable")?;
                if let Some(rt) = p.opt_str("refType")? {
                    if b.ref_table.is_none() {
                        return Err(Error::Schema(format!("{where_}: refType given without refTable")));
                    }
                    b.ref_type = match rt.as_str() {
                        "strong" => RefType::Strong,
                        "weak" => RefType::Weak,
                        _ => return Err(Error::Schema(format!("{where_}: refType must be \"strong\" or \"weak\", not \"{rt}\""))),
                    };
                }
            }
            AtomicType::Boolean => {}
        }
        p.finish()?;
        Ok(b)
    }

    /// JSON of this base type (a bare name when it has no constraints).
    pub fn to_json(&self) -> Value {
        if !self.has_constraints() {
            return Value::from(self.atomic.name());
        }
        let mut o = Map::new();
        o.insert("type".into(), Value::from(self.atomic.name()));
        if let Some(e) = &self.enum_ {
            let d = crate::datum::Datum::set(e.clone());
            o.insert("enum".into(), d.to_json());
        }
        let ints = [("minInteger", self.min_integer), ("maxInteger", self.max_integer)];
        for (k, v) in ints {
            if let Some(v) = v {
                o.insert(k.into(), Value::from(v));
            }
        }
        for (k, v) in [("minReal", self.min_real), ("maxReal", self.max_real)] {
            if let Some(v) = v {
                o.insert(k.into(), crate::atom::real_to_json(v));
            }
        }
        for (k, v) in [("minLength", self.min_length), ("maxLength", self.max_length)] {
            if let Some(v) = v {
                o.insert(k.into(), Value::from(v));
            }
        }
        if let Some(t) = &self.ref_table {
            o.insert("refTable".into(), Value::from(t.as_str()));
            if self.ref_type == RefType::Weak {
                o.insert("refType".into(), Value::from("weak"));
            }
        }
        Value::Object(o)
    }
}

fn range_text<T: fmt::Display>(lo: Option<T>, hi: Option<T>) -> String {
    match (lo, hi) {
        (Some(lo), Some(hi)) => format!("{lo} to {hi}"),
        (Some(lo), None) => format!("{lo} or more"),
        (None, Some(hi)) => format!("{hi} or less"),
        (None, None) => "unrestricted".into(),
    }
}

/// A column type: key, optional value (for maps), and element count bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnType {
    /// Key (or element) type.
    pub key: BaseType,
    /// Value type, for maps.
    pub value: Option<BaseType>,
    /// Minimum number of elements: 0 or 1.
    pub min: u32,
    /// Maximum number of elements (`u32::MAX` for "unlimited").
    pub max: u32,
}

impl ColumnType {
    /// A scalar type (exactly one element).
    pub fn scalar(base: BaseType) -> ColumnType {
        ColumnType { key: base, value: None, min: 1, max: 1 }
    }
    /// True for maps.
    pub fn is_map(&self) -> bool {
        self.value.is_some()
    }
    /// True for a scalar: exactly one element, not a map.
    pub fn is_scalar(&self) -> bool {
        self.min == 1 && self.max == 1 && self.value.is_none()
    }
    /// True for an optional scalar: zero or one element, not a map.
    pub fn is_optional_scalar(&self) -> bool {
        self.min == 0 && self.max == 1 && self.value.is_none()
    }
    /// True for a set (anything that is not a scalar or a map).
    pub fn is_set(&self) -> bool {
        self.value.is_none() && !(self.min == 1 && self.max == 1)
    }

    /// Parses a column type.
    pub fn from_json(json: &Value, where_: &str) -> Result<ColumnType> {
        let obj = match json {
            Value::String(_) => return Ok(ColumnType::scalar(BaseType::from_json(json, where_)?)),
            Value::Object(o) => o,
            _ => return Err(Error::Schema(format!("{where_}: type must be a string or an object"))),
        };
        let mut p = Members::new(obj, where_);
        let key = BaseType::from_json(p.req("key")?, where_)?;
        let value = match p.opt("value") {
            Some(v) => Some(BaseType::from_json(v, where_)?),
            None => None,
        };
        let min = match p.opt("min") {
            None => 1,
            Some(v) => match v.as_u64() {
                Some(n @ 0..=1) => n as u32,
                _ => return Err(Error::Schema(format!("{where_}: min must be 0 or 1"))),
            },
        };
        let max = match p.opt("max") {
            None => 1,
            Some(Value::String(s)) if s == "unlimited" => u32::MAX,
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 && n < u32::MAX as u64 => n as u32,
                _ => return Err(Error::Schema(format!("{where_}: max must be a positive integer or \"unlimited\""))),
            },
        };
        if min > max {
            return Err(Error::Schema(format!("{where_}: min exceeds max")));
        }
        p.finish()?;
        Ok(ColumnType { key, value, min, max })
    }

    /// JSON of this type (a bare name for an unconstrained scalar).
    pub fn to_json(&self) -> Value {
        if self.is_scalar() && !self.key.has_constraints() {
            return self.key.to_json();
        }
        let mut o = Map::new();
        o.insert("key".into(), self.key.to_json());
        if let Some(v) = &self.value {
            o.insert("value".into(), v.to_json());
        }
        if self.min != 1 {
            o.insert("min".into(), Value::from(self.min));
        }
        if self.max != 1 {
            o.insert("max".into(), if self.max == u32::MAX { Value::from("unlimited") } else { Value::from(self.max) });
        }
        Value::Object(o)
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSchema {
    /// Column name.
    pub name: String,
    /// Type.
    pub type_: ColumnType,
    /// False if the column cannot change after insertion.
    pub mutable: bool,
    /// True if the column is not written to disk.
    pub ephemeral: bool,
}

/// Index of `_uuid` in every table's column list.
pub const COL_UUID: usize = 0;
/// Index of `_version` in every table's column list.
pub const COL_VERSION: usize = 1;

/// One table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    /// Table name.
    pub name: String,
    /// Columns; `_uuid` and `_version` come first, then user columns in name order.
    pub columns: Vec<ColumnSchema>,
    /// Column lookup by name.
    pub by_name: HashMap<String, usize>,
    /// Root tables keep unreferenced rows.
    pub is_root: bool,
    /// Row limit.
    pub max_rows: Option<u64>,
    /// Unique indexes, as column positions.
    pub indexes: Vec<Vec<usize>>,
    /// Columns holding references: (column, key is ref, value is ref).
    pub ref_columns: Vec<usize>,
}

impl TableSchema {
    /// Looks up a column by name (including `_uuid` and `_version`).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The user columns (all but `_uuid` and `_version`).
    pub fn user_columns(&self) -> impl Iterator<Item = (usize, &ColumnSchema)> {
        self.columns.iter().enumerate().skip(2)
    }

    fn from_json(name: &str, json: &Value) -> Result<(TableSchema, Option<bool>)> {
        let where_ = format!("table {name}");
        let obj = json.as_object().ok_or_else(|| Error::Schema(format!("{where_}: must be an object")))?;
        let mut p = Members::new(obj, &where_);
        let cols = p
            .req("columns")?
            .as_object()
            .ok_or_else(|| Error::Schema(format!("{where_}: columns must be an object")))?;
        if cols.is_empty() {
            return Err(Error::Schema(format!("{where_}: table must have at least one column")));
        }
        let uuid_col = |n: &str| ColumnSchema {
            name: n.into(),
            type_: ColumnType::scalar(BaseType::new(AtomicType::Uuid)),
            mutable: false,
            ephemeral: false,
        };
        let mut columns = vec![uuid_col("_uuid"), uuid_col("_version")];
        let mut names: Vec<&String> = cols.keys().collect();
        names.sort();
        for cname in names {
            let cw = format!("table {name} column {cname}");
            check_id(cname, &cw)?;
            if cname.starts_with('_') {
                return Err(Error::Schema(format!("{cw}: names beginning with \"_\" are reserved")));
            }
            let cobj = cols[cname].as_object().ok_or_else(|| Error::Schema(format!("{cw}: must be an object")))?;
            let mut cp = Members::new(cobj, &cw);
            let type_ = ColumnType::from_json(cp.req("type")?, &cw)?;
            let ephemeral = cp.opt_bool("ephemeral")?.unwrap_or(false);
            let mut mutable = cp.opt_bool("mutable")?.unwrap_or(true);
            // A weak reference changes when its target is deleted, so it
            // cannot be immutable.
            if type_.key.is_weak_ref() || type_.value.as_ref().is_some_and(|v| v.is_weak_ref()) {
                mutable = true;
            }
            cp.finish()?;
            columns.push(ColumnSchema { name: cname.clone(), type_, mutable, ephemeral });
        }
        let by_name = columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect::<HashMap<_, _>>();
        let is_root = p.opt_bool("isRoot")?;
        let max_rows = match p.opt("maxRows") {
            None => None,
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 => Some(n),
                _ => return Err(Error::Schema(format!("{where_}: maxRows must be a positive integer"))),
            },
        };
        let mut indexes = Vec::new();
        if let Some(v) = p.opt("indexes") {
            let arr = v.as_array().ok_or_else(|| Error::Schema(format!("{where_}: indexes must be an array")))?;
            for (i, idx) in arr.iter().enumerate() {
                let iw = format!("{where_} index {i}");
                let cols = idx.as_array().ok_or_else(|| Error::Schema(format!("{iw}: must be an array of column names")))?;
                if cols.is_empty() {
                    return Err(Error::Schema(format!("{iw}: must name at least one column")));
                }
                let mut v = Vec::new();
                for c in cols {
                    let cname = c.as_str().ok_or_else(|| Error::Schema(format!("{iw}: column names must be strings")))?;
                    let ci = by_name
                        .get(cname)
                        .copied()
                        .ok_or_else(|| Error::Schema(format!("{iw}: no column named {cname}")))?;
                    if ci < 2 {
                        return Err(Error::Schema(format!("{iw}: column {cname} cannot be indexed")));
                    }
                    if columns[ci].ephemeral {
                        return Err(Error::Schema(format!("{iw}: ephemeral column {cname} cannot be indexed")));
                    }
                    v.push(ci);
                }
                indexes.push(v);
            }
        }
        p.finish()?;
        let ref_columns = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.type_.key.ref_table.is_some() || c.type_.value.as_ref().is_some_and(|v| v.ref_table.is_some()))
            .map(|(i, _)| i)
            .collect();
        Ok((
            TableSchema { name: name.into(), columns, by_name, is_root: is_root.unwrap_or(false), max_rows, indexes, ref_columns },
            is_root,
        ))
    }

    fn to_json(&self, default_is_root: bool) -> Value {
        let mut cols = Map::new();
        for (_, c) in self.user_columns() {
            let mut o = Map::new();
            o.insert("type".into(), c.type_.to_json());
            if c.ephemeral {
                o.insert("ephemeral".into(), Value::Bool(true));
            }
            if !c.mutable {
                o.insert("mutable".into(), Value::Bool(false));
            }
            cols.insert(c.name.clone(), Value::Object(o));
        }
        let mut o = Map::new();
        o.insert("columns".into(), Value::Object(cols));
        if self.is_root != default_is_root {
            o.insert("isRoot".into(), Value::Bool(self.is_root));
        }
        if let Some(m) = self.max_rows {
            o.insert("maxRows".into(), Value::from(m));
        }
        if !self.indexes.is_empty() {
            let idx: Vec<Value> = self
                .indexes
                .iter()
                .map(|i| Value::Array(i.iter().map(|&c| Value::from(self.columns[c].name.as_str())).collect()))
                .collect();
            o.insert("indexes".into(), Value::Array(idx));
        }
        Value::Object(o)
    }
}

/// A whole database schema.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseSchema {
    /// Database name.
    pub name: String,
    /// Version `x.y.z` (may be empty for old schemas).
    pub version: String,
    /// Checksum text, if the schema has one.
    pub cksum: Option<String>,
    /// Tables, in name order; a table's position is its id.
    pub tables: Vec<TableSchema>,
    /// Table lookup by name.
    pub by_name: BTreeMap<String, usize>,
}

impl DatabaseSchema {
    /// Parses and validates a schema.
    pub fn from_json(json: &Value) -> Result<DatabaseSchema> {
        let obj = json.as_object().ok_or_else(|| Error::Schema("schema must be a JSON object".into()))?;
        let mut p = Members::new(obj, "schema");
        let name = p.req_str("name")?;
        check_id(&name, "schema name")?;
        let version = p.opt_str("version")?.unwrap_or_default();
        if !version.is_empty() && !is_version(&version) {
            return Err(Error::Schema(format!("schema version \"{version}\" is not of the form x.y.z")));
        }
        let cksum = p.opt_str("cksum")?;
        let tables_json = p
            .req("tables")?
            .as_object()
            .ok_or_else(|| Error::Schema("schema: tables must be an object".into()))?;
        let mut names: Vec<&String> = tables_json.keys().collect();
        names.sort();
        let mut tables = Vec::new();
        let mut any_root_given = false;
        for tname in names {
            check_id(tname, &format!("table {tname}"))?;
            if tname.starts_with('_') {
                return Err(Error::Schema(format!("table {tname}: names beginning with \"_\" are reserved")));
            }
            let (t, given) = TableSchema::from_json(tname, &tables_json[tname])?;
            any_root_given |= given == Some(true);
            tables.push(t);
        }
        // ovsdb(5): if no table says isRoot true, every table is a root table.
        if !any_root_given {
            for t in &mut tables {
                t.is_root = true;
            }
        }
        p.finish()?;
        let by_name: BTreeMap<String, usize> = tables.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();
        for t in &tables {
            for c in &t.columns {
                for b in std::iter::once(&c.type_.key).chain(c.type_.value.iter()) {
                    if let Some(rt) = &b.ref_table {
                        if !by_name.contains_key(rt) {
                            return Err(Error::Schema(format!(
                                "table {} column {}: refTable \"{rt}\" is not a table in this schema",
                                t.name, c.name
                            )));
                        }
                    }
                }
            }
        }
        Ok(DatabaseSchema { name, version, cksum, tables, by_name })
    }

    /// Parses a schema from text.
    pub fn from_str(text: &str) -> Result<DatabaseSchema> {
        let v: Value = serde_json::from_str(text).map_err(|e| Error::Json(e.to_string()))?;
        Self::from_json(&v)
    }

    /// Reads and parses a schema file.
    pub fn from_file(path: &std::path::Path) -> Result<DatabaseSchema> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Self::from_str(&text).map_err(|e| match e {
            Error::Schema(m) => Error::Schema(format!("{}: {m}", path.display())),
            Error::Json(m) => Error::Json(format!("{}: {m}", path.display())),
            e => e,
        })
    }

    /// The table with the given name.
    pub fn table(&self, name: &str) -> Option<(usize, &TableSchema)> {
        self.by_name.get(name).map(|&i| (i, &self.tables[i]))
    }

    /// The schema as JSON (what `get_schema` returns and the log's first record holds).
    pub fn to_json(&self) -> Value {
        let default_is_root = self.tables.iter().all(|t| t.is_root);
        let mut tables = Map::new();
        for t in &self.tables {
            tables.insert(t.name.clone(), t.to_json(default_is_root));
        }
        let mut o = Map::new();
        o.insert("name".into(), Value::from(self.name.as_str()));
        if !self.version.is_empty() {
            o.insert("version".into(), Value::from(self.version.as_str()));
        }
        if let Some(c) = &self.cksum {
            o.insert("cksum".into(), Value::from(c.as_str()));
        }
        o.insert("tables".into(), Value::Object(tables));
        Value::Object(o)
    }
}

/// A shared schema.
pub type SchemaRef = Arc<DatabaseSchema>;

fn is_version(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.len() <= 10 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Parses a version `x.y.z` into numbers.
pub fn parse_version(s: &str) -> Option<(u32, u32, u32)> {
    let mut it = s.split('.').map(|p| p.parse::<u32>().ok());
    let v = (it.next()??, it.next()??, it.next()??);
    if it.next().is_some() {
        return None;
    }
    Some(v)
}

fn check_id(s: &str, where_: &str) -> Result<()> {
    let mut chars = s.chars();
    let ok = match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => chars.all(|c| c.is_ascii_alphanumeric() || c == '_'),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::Schema(format!("{where_}: \"{s}\" is not a valid identifier")))
    }
}

/// Strict member access for schema objects: unknown members are errors.
struct Members<'a> {
    obj: &'a Map<String, Value>,
    used: Vec<&'a str>,
    where_: String,
}

impl<'a> Members<'a> {
    fn new(obj: &'a Map<String, Value>, where_: &str) -> Self {
        Members { obj, used: Vec::new(), where_: where_.to_string() }
    }
    fn opt(&mut self, name: &'static str) -> Option<&'a Value> {
        self.used.push(name);
        self.obj.get(name)
    }
    fn req(&mut self, name: &'static str) -> Result<&'a Value> {
        self.opt(name).ok_or_else(|| Error::Schema(format!("{}: required member \"{name}\" is missing", self.where_)))
    }
    fn req_str(&mut self, name: &'static str) -> Result<String> {
        let w = self.where_.clone();
        self.req(name)?
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| Error::Schema(format!("{w}: \"{name}\" must be a string")))
    }
    fn opt_str(&mut self, name: &'static str) -> Result<Option<String>> {
        let w = self.where_.clone();
        match self.opt(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::Schema(format!("{w}: \"{name}\" must be a string"))),
        }
    }
    fn opt_bool(&mut self, name: &'static str) -> Result<Option<bool>> {
        let w = self.where_.clone();
        match self.opt(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Error::Schema(format!("{w}: \"{name}\" must be true or false"))),
        }
    }
    fn finish(self) -> Result<()> {
        for k in self.obj.keys() {
            if !self.used.contains(&k.as_str()) {
                return Err(Error::Schema(format!("{}: unknown member \"{k}\"", self.where_)));
            }
        }
        Ok(())
    }
}
