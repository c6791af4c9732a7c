//! Rows and tables in memory.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::atom::Atom;
use crate::datum::Datum;
use crate::schema::{TableSchema, COL_UUID, COL_VERSION};
use crate::uuid::{FastMap, Uuid, UuidMap};

/// One row: a datum per column of its table, `_uuid` and `_version` first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Column values, indexed like `TableSchema::columns`.
    pub values: Vec<Datum>,
}

impl Row {
    /// A row with every column at its default value.
    pub fn new_default(ts: &TableSchema, uuid: Uuid, version: Uuid) -> Row {
        let mut values: Vec<Datum> = ts.columns.iter().map(|c| Datum::default_for(&c.type_)).collect();
        values[COL_UUID] = Datum::scalar(Atom::Uuid(uuid));
        values[COL_VERSION] = Datum::scalar(Atom::Uuid(version));
        Row { values }
    }

    /// The row's UUID.
    pub fn uuid(&self) -> Uuid {
        self.values[COL_UUID].first().and_then(Atom::as_uuid).unwrap_or_default()
    }

    /// The row's version UUID.
    pub fn version(&self) -> Uuid {
        self.values[COL_VERSION].first().and_then(Atom::as_uuid).unwrap_or_default()
    }

    /// A column's value.
    pub fn get(&self, col: usize) -> &Datum {
        &self.values[col]
    }

    /// The row as a JSON object with the given columns (all if `None`).
    pub fn to_json(&self, ts: &TableSchema, columns: Option<&[usize]>) -> Value {
        let mut o = Map::new();
        match columns {
            Some(cols) => {
                for &c in cols {
                    o.insert(ts.columns[c].name.clone(), self.values[c].to_json());
                }
            }
            None => {
                for (c, col) in ts.columns.iter().enumerate() {
                    o.insert(col.name.clone(), self.values[c].to_json());
                }
            }
        }
        Value::Object(o)
    }
}

/// The rows of one table, plus its unique indexes and reference counts.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Rows by UUID.
    pub rows: UuidMap<Arc<Row>>,
    /// One map per schema index: index key -> row.
    pub indexes: Vec<FastMap<Vec<Datum>, Uuid>>,
    /// Incoming references to each row of this table.
    pub refs_in: UuidMap<RefsIn>,
}

/// References pointing at one row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefsIn {
    /// Number of strong references.
    pub strong: u32,
    /// Rows holding weak references: (table, row) -> count.
    pub weak: HashMap<(usize, Uuid), u32>,
}

impl RefsIn {
    /// True if nothing refers to the row.
    pub fn is_empty(&self) -> bool {
        self.strong == 0 && self.weak.is_empty()
    }
}

impl Table {
    /// An empty table for a schema.
    pub fn new(ts: &TableSchema) -> Table {
        Table { rows: UuidMap::default(), indexes: vec![FastMap::default(); ts.indexes.len()], refs_in: UuidMap::default() }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True if the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Looks up a row.
    pub fn get(&self, uuid: &Uuid) -> Option<&Arc<Row>> {
        self.rows.get(uuid)
    }
}

/// The key of `row` in index `cols`.
pub fn index_key(row: &Row, cols: &[usize]) -> Vec<Datum> {
    cols.iter().map(|&c| row.values[c].clone()).collect()
}
