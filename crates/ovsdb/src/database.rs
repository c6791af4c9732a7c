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
        let schema = self.schema.clone();
        for (t, rows) in &cs.tables {
            let t = *t;
            let ts = &schema.tables[t];
            for ch in rows {
                let (old, new) = (ch.old.as_deref(), ch.new.as_deref());
                for (i, cols) in ts.indexes.iter().enumerate() {
                    let ok = old.map(|r| index_key(r, cols));
                    let nk = new.map(|r| index_key(r, cols));
                    if ok == nk {
                        continue;
                    }
                    if let Some(k) = ok {
                        if self.tables[t].indexes[i].get(&k) == Some(&ch.uuid) {
                            self.tables[t].indexes[i].remove(&k);
                        }
                    }
                    if let Some(k) = nk {
                        self.tables[t].indexes[i].insert(k, ch.uuid);
                    }
                }
                let src = ch.uuid;
                for_each_ref_change(&schema, t, old, new, |target, dst, strong, delta| {
                    let tab = &mut self.tables[target];
                    let e = tab.refs_in.entry(dst).or_default();
                    if strong {
                        e.strong = (e.strong as i64 + delta as i64).max(0) as u32;
                    } else {
                        let n = e.weak.entry((t, src)).or_insert(0);
                        *n = (*n as i64 + delta as i64).max(0) as u32;
                        if *n == 0 {
                            e.weak.remove(&(t, src));
                        }
                    }
                    if e.is_empty() && !tab.rows.contains_key(&dst) {
                        tab.refs_in.remove(&dst);
                    }
                });
                match &ch.new {
                    Some(n) => {
                        self.tables[t].rows.insert(ch.uuid, n.clone());
                    }
                    None => {
                        let tab = &mut self.tables[t];
                        tab.rows.remove(&ch.uuid);
                        if tab.refs_in.get(&ch.uuid).is_some_and(|r| r.is_empty()) {
                            tab.refs_in.remove(&ch.uuid);
                        }
                    }
                }
            }
        }
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

/// Calls `f(target_table, target_uuid, is_strong, delta)` for every reference
/// that differs between `old` and `new` (either may be absent), with `delta`
/// -1 for a reference dropped and +1 for one added. Columns whose value did
/// not change cost one comparison, so adding one element to a large set of
/// references costs a merge, not a recount.
pub(crate) fn for_each_ref_change(
    schema: &DatabaseSchema,
    t: usize,
    old: Option<&Row>,
    new: Option<&Row>,
    mut f: impl FnMut(usize, Uuid, bool, i32),
) {
    let ts = &schema.tables[t];
    for &c in &ts.ref_columns {
        let ct = &ts.columns[c].type_;
        let od = old.map(|r| &r.values[c]);
        let nd = new.map(|r| &r.values[c]);
        if let (Some(a), Some(b)) = (od, nd) {
            if a == b {
                continue;
            }
        }
        if let Some(rt) = &ct.key.ref_table {
            let target = schema.by_name[rt];
            let strong = ct.key.is_strong_ref();
            let empty: &[crate::Atom] = &[];
            diff_sorted(od.map_or(empty, |d| d.keys()), nd.map_or(empty, |d| d.keys()), |u, delta| {
                f(target, u, strong, delta)
            });
        }
        if let Some(vt) = &ct.value {
            if let Some(rt) = &vt.ref_table {
                let target = schema.by_name[rt];
                let strong = vt.is_strong_ref();
                let mut a: Vec<crate::Atom> = od.and_then(|d| d.values()).map_or(Vec::new(), |v| v.to_vec());
                let mut b: Vec<crate::Atom> = nd.and_then(|d| d.values()).map_or(Vec::new(), |v| v.to_vec());
                a.sort();
                b.sort();
                diff_sorted(&a, &b, |u, delta| f(target, u, strong, delta));
            }
        }
    }
}

/// Walks two sorted atom lists (duplicates allowed) and reports UUIDs only in
/// `a` (-1) or only in `b` (+1), counting multiplicity.
fn diff_sorted(a: &[crate::Atom], b: &[crate::Atom], mut f: impl FnMut(Uuid, i32)) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let ord = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match ord {
            std::cmp::Ordering::Less => {
                if let Some(u) = a[i].as_uuid() {
                    f(u, -1);
                }
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                if let Some(u) = b[j].as_uuid() {
                    f(u, 1);
                }
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
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
