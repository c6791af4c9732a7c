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
    /// Rows holding weak references.
    pub weak: WeakRefs,
}

/// The rows holding weak references to one row: (table, row) -> how many.
///
/// Boxed, and absent when there are none (most rows): every referenced row
/// has a `RefsIn`, and an empty map kept inline would cost each 48 bytes —
/// 5 MiB for 100,000 ports, twice that once the table of them has grown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeakRefs(Option<Box<HashMap<(usize, Uuid), u32>>>);

impl WeakRefs {
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Adds `delta` to the count of references held by `src`, a (table,
    /// row); a count at or below zero is removed.
    pub fn add(&mut self, src: (usize, Uuid), delta: i64) {
        let map = self.0.get_or_insert_with(Box::default);
        let n = map.get(&src).map_or(0, |&n| n as i64) + delta;
        if n > 0 {
            map.insert(src, n.min(u32::MAX as i64) as u32);
        } else {
            map.remove(&src);
            if map.is_empty() {
                self.0 = None;
            }
        }
    }

    /// The rows holding references, and how many each holds.
    pub fn iter(&self) -> impl Iterator<Item = (&(usize, Uuid), &u32)> {
        self.0.iter().flat_map(|m| m.iter())
    }

    /// The rows holding references.
    pub fn keys(&self) -> impl Iterator<Item = &(usize, Uuid)> {
        self.iter().map(|(k, _)| k)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_refs_count_up_and_down_and_are_gone_at_zero() {
        let (a, b) = ((1, Uuid::from_u128(1)), (2, Uuid::from_u128(2)));
        let mut w = WeakRefs::default();
        w.add(a, 1);
        w.add(a, 2);
        w.add(b, 1);
        let mut seen: Vec<_> = w.iter().map(|(k, n)| (*k, *n)).collect();
        seen.sort();
        assert_eq!(seen, vec![(a, 3), (b, 1)]);
        w.add(a, -3);
        assert_eq!(w.keys().copied().collect::<Vec<_>>(), vec![b]);
        // Never below zero.
        w.add(b, -5);
        assert!(w.is_empty());
        // Empty again compares equal to never used, as the integrity check
        // of reference counts needs.
        assert_eq!(w, WeakRefs::default());
        w.add(a, -1);
        assert_eq!(w, WeakRefs::default());
    }
}
