//! A database in memory: its tables, and the application of committed change
//! sets (which keeps indexes and reference counts current).

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::datum::Datum;
use crate::row::{index_key, Row, Table};
use crate::schema::{DatabaseSchema, SchemaRef, TableSchema};
use crate::uuid::Uuid;

/// A database: a schema and the rows of each table.
#[derive(Debug, Clone)]
pub struct Database {
    schema: SchemaRef,
    tables: Vec<Table>,
}

/// How one row changed in a committed transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    /// The row's UUID.
    pub uuid: Uuid,
    /// The row before (None if inserted).
    pub old: Option<Arc<Row>>,
    /// The row after (None if deleted).
    pub new: Option<Arc<Row>>,
}

/// The changes a committed transaction made, per table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeSet {
    /// (table position, changed rows), tables in schema order, rows in UUID order.
    pub tables: Vec<(usize, Vec<RowChange>)>,
    /// The transaction's comments, joined by newlines.
    pub comment: Option<String>,
}

impl ChangeSet {
    /// True if nothing changed.
    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(|(_, rows)| rows.is_empty())
    }

    /// Number of changed rows.
    pub fn n_rows(&self) -> usize {
        self.tables.iter().map(|(_, r)| r.len()).sum()
    }

    /// The change set as an ovsdb(5) log record: inserted rows with their
    /// non-default columns, deleted rows as `null`, modified rows with their
    /// changed columns (sets and maps of more than one element as diffs,
    /// announced by `"_is_diff": true`). Ephemeral columns are not written.
    pub fn to_log_record(&self, schema: &DatabaseSchema, date_ms: u64) -> Value {
        let mut rec = Map::new();
        for (t, rows) in &self.tables {
            let ts = &schema.tables[*t];
            let mut trows = Map::new();
            for ch in rows {
                let v = match (&ch.old, &ch.new) {
                    (_, None) => Value::Null,
                    (None, Some(new)) => {
                        let mut o = Map::new();
                        for (c, col) in ts.user_columns() {
                            if !col.ephemeral && new.values[c] != Datum::default_for(&col.type_) {
                                o.insert(col.name.clone(), new.values[c].to_json());
                            }
                        }
                        Value::Object(o)
                    }
                    (Some(old), Some(new)) => {
                        let mut o = Map::new();
                        for (c, col) in ts.user_columns() {
                            if col.ephemeral || old.values[c] == new.values[c] {
                                continue;
                            }
                            let v = if col.type_.max > 1 {
                                old.values[c].diff(&new.values[c]).to_json()
                            } else {
                                new.values[c].to_json()
                            };
                            o.insert(col.name.clone(), v);
                        }
                        if o.is_empty() {
                            continue;
                        }
                        Value::Object(o)
                    }
                };
                trows.insert(ch.uuid.to_string(), v);
            }
            if !trows.is_empty() {
                rec.insert(ts.name.clone(), Value::Object(trows));
            }
        }
        rec.insert("_date".into(), Value::from(date_ms));
        if let Some(c) = &self.comment {
            rec.insert("_comment".into(), Value::from(c.as_str()));
        }
        rec.insert("_is_diff".into(), Value::Bool(true));
        Value::Object(rec)
    }
}

impl Database {
    /// An empty database.
    pub fn new(schema: SchemaRef) -> Database {
        let tables = schema.tables.iter().map(Table::new).collect();
        Database { schema, tables }
    }

    /// The schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// A table by position.
    pub fn table(&self, t: usize) -> &Table {
        &self.tables[t]
    }

    /// A table by name, with its schema.
    pub fn table_by_name(&self, name: &str) -> Option<(&TableSchema, &Table)> {
        let (i, ts) = self.schema.table(name)?;
        Some((ts, &self.tables[i]))
    }

    /// Total rows in all tables.
    pub fn n_rows(&self) -> usize {
        self.tables.iter().map(Table::len).sum()
    }

    /// Applies a committed change set.
    pub fn apply(&mut self, cs: &ChangeSet) {
        for (t, rows) in &cs.tables {
            for ch in rows {
                if let Some(old) = &ch.old {
                    self.unlink(*t, old);
                }
                if let Some(new) = &ch.new {
                    self.link(*t, new);
                    self.tables[*t].rows.insert(ch.uuid, new.clone());
                } else {
                    self.tables[*t].rows.remove(&ch.uuid);
                    let refs = self.tables[*t].refs_in.get(&ch.uuid);
                    if refs.is_some_and(|r| r.is_empty()) {
                        self.tables[*t].refs_in.remove(&ch.uuid);
                    }
                }
            }
        }
    }

    /// Adds a row's index entries and outgoing references.
    fn link(&mut self, t: usize, row: &Row) {
        let schema = self.schema.clone();
        let ts = &schema.tables[t];
        for (i, cols) in ts.indexes.iter().enumerate() {
            self.tables[t].indexes[i].insert(index_key(row, cols), row.uuid());
        }
        for_each_ref(&schema, t, row, |target, dst, strong| {
            let e = self.tables[target].refs_in.entry(dst).or_default();
            if strong {
                e.strong += 1;
            } else {
                *e.weak.entry((t, row.uuid())).or_insert(0) += 1;
            }
        });
    }

    /// Removes a row's index entries and outgoing references.
    fn unlink(&mut self, t: usize, row: &Row) {
        let schema = self.schema.clone();
        let ts = &schema.tables[t];
        for (i, cols) in ts.indexes.iter().enumerate() {
            let key = index_key(row, cols);
            if self.tables[t].indexes[i].get(&key) == Some(&row.uuid()) {
                self.tables[t].indexes[i].remove(&key);
            }
        }
        for_each_ref(&schema, t, row, |target, dst, strong| {
            let tab = &mut self.tables[target];
            if let Some(e) = tab.refs_in.get_mut(&dst) {
                if strong {
                    e.strong = e.strong.saturating_sub(1);
                } else if let Some(n) = e.weak.get_mut(&(t, row.uuid())) {
                    *n -= 1;
                    if *n == 0 {
                        e.weak.remove(&(t, row.uuid()));
                    }
                }
                if e.is_empty() && !tab.rows.contains_key(&dst) {
                    tab.refs_in.remove(&dst);
                }
            }
        });
    }

    /// Every row of every table as JSON, `{table: {uuid: row}}` (for tests and dumps).
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        for (t, ts) in self.schema.tables.iter().enumerate() {
            let mut rows: Vec<(&Uuid, &Arc<Row>)> = self.tables[t].rows.iter().collect();
            rows.sort_by_key(|(u, _)| **u);
            let mut tr = Map::new();
            for (u, r) in rows {
                tr.insert(u.to_string(), r.to_json(ts, None));
            }
            o.insert(ts.name.clone(), Value::Object(tr));
        }
        Value::Object(o)
    }
}

/// Calls `f(target_table, target_uuid, is_strong)` for every reference `row` holds.
pub(crate) fn for_each_ref(schema: &DatabaseSchema, t: usize, row: &Row, mut f: impl FnMut(usize, Uuid, bool)) {
    let ts = &schema.tables[t];
    for &c in &ts.ref_columns {
        let ct = &ts.columns[c].type_;
        let d = &row.values[c];
        if let Some(rt) = &ct.key.ref_table {
            let target = schema.by_name[rt];
            let strong = ct.key.is_strong_ref();
            for a in d.keys() {
                if let Some(u) = a.as_uuid() {
                    f(target, u, strong);
                }
            }
        }
        if let (Some(vt), Some(vals)) = (&ct.value, d.values()) {
            if let Some(rt) = &vt.ref_table {
                let target = schema.by_name[rt];
                let strong = vt.is_strong_ref();
                for a in vals {
                    if let Some(u) = a.as_uuid() {
                        f(target, u, strong);
                    }
                }
            }
        }
    }
}
