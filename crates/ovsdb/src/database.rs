//! A database in memory: its tables, and the application of committed change
//! sets (which keeps indexes and reference counts current).

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::datum::Datum;
use crate::row::{index_key, RefsIn, Row, Table};
use crate::schema::{DatabaseSchema, SchemaRef, TableSchema};
use crate::uuid::{Uuid, UuidMap};

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
                        e.weak.add((t, src), delta as i64);
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

impl Database {
    /// Checks what every committed state must satisfy, recomputing from the
    /// rows what `apply` keeps incrementally: each row is filed under its
    /// own `_uuid` with one value per column; every value has its column's
    /// type, element count and constraints; strong references point at
    /// existing rows; no two rows share a key of a unique index and each
    /// index holds exactly the rows' keys; the incoming-reference counts
    /// equal those recounted from the rows. With `committed` (a state a
    /// transaction made), weak references point at existing rows too and
    /// rows of non-root tables are referenced strongly by some other row;
    /// a database read from a file need not satisfy those two (upstream
    /// ovsdb-server can leave a weak reference dangling). For tests and
    /// fuzzing: it costs a pass over the whole database.
    pub fn check_invariants(&self, committed: bool) -> Result<(), String> {
        use std::collections::HashMap;
        let schema = &self.schema;
        // Recount incoming references from the rows.
        let mut refs: Vec<UuidMap<RefsIn>> = vec![UuidMap::default(); self.tables.len()];
        for (t, ts) in schema.tables.iter().enumerate() {
            let table = &self.tables[t];
            for (u, row) in &table.rows {
                if row.values.len() != ts.columns.len() {
                    return Err(format!(
                        "{} row {u} has {} values for {} columns",
                        ts.name,
                        row.values.len(),
                        ts.columns.len()
                    ));
                }
                if row.uuid() != *u {
                    return Err(format!(
                        "{} row {u} is filed under the wrong UUID {}",
                        ts.name,
                        row.uuid()
                    ));
                }
                for (c, col) in ts.user_columns() {
                    let d = &row.values[c];
                    let ct = &col.type_;
                    let mut bad = d.is_map() != ct.is_map() || !d.check_count(ct);
                    for k in d.keys() {
                        bad |= k.atomic_type() != ct.key.atomic || ct.key.check(k).is_err();
                    }
                    if let (Some(vt), Some(vals)) = (&ct.value, d.values()) {
                        for v in vals {
                            bad |= v.atomic_type() != vt.atomic || vt.check(v).is_err();
                        }
                    }
                    if bad {
                        return Err(format!(
                            "{} row {u} column {} holds {} of type {ct}",
                            ts.name,
                            col.name,
                            d.to_json()
                        ));
                    }
                }
                let mut dangling = None;
                for_each_ref(schema, t, row, |tt, dst, strong| {
                    if (strong || committed) && !self.tables[tt].rows.contains_key(&dst) {
                        dangling.get_or_insert((tt, dst));
                    }
                    let e = refs[tt].entry(dst).or_default();
                    if strong {
                        e.strong += 1;
                    } else {
                        e.weak.add((t, *u), 1);
                    }
                });
                if let Some((tt, dst)) = dangling {
                    return Err(format!(
                        "{} row {u} refers to missing {} row {dst}",
                        ts.name, schema.tables[tt].name
                    ));
                }
            }
        }
        for (t, ts) in schema.tables.iter().enumerate() {
            let table = &self.tables[t];
            let held: HashMap<&Uuid, &RefsIn> = table
                .refs_in
                .iter()
                .filter(|(_, r)| !r.is_empty())
                .collect();
            let want: HashMap<&Uuid, &RefsIn> = refs[t].iter().collect();
            if held != want {
                let u = held
                    .keys()
                    .chain(want.keys())
                    .find(|u| held.get(*u) != want.get(*u));
                return Err(format!(
                    "{} row {}: references kept {:?}, recounted {:?}",
                    ts.name,
                    u.map(|u| u.to_string()).unwrap_or_default(),
                    u.and_then(|u| held.get(u)),
                    u.and_then(|u| want.get(u))
                ));
            }
            if committed && !ts.is_root {
                for (u, row) in &table.rows {
                    let mut own = 0;
                    for_each_ref(schema, t, row, |tt, dst, strong| {
                        own += (strong && tt == t && dst == *u) as u32
                    });
                    if want.get(u).map_or(0, |r| r.strong) <= own {
                        return Err(format!(
                            "{} row {u} is in a non-root table but nothing refers to it",
                            ts.name
                        ));
                    }
                }
            }
            if table.indexes.len() != ts.indexes.len() {
                return Err(format!(
                    "{}: {} indexes kept for {} in the schema",
                    ts.name,
                    table.indexes.len(),
                    ts.indexes.len()
                ));
            }
            for (i, cols) in ts.indexes.iter().enumerate() {
                let mut keys: crate::uuid::FastMap<Vec<Datum>, Uuid> = Default::default();
                for (u, row) in &table.rows {
                    if let Some(other) = keys.insert(index_key(row, cols), *u) {
                        return Err(format!(
                            "{} rows {u} and {other} have the same key in index {i}",
                            ts.name
                        ));
                    }
                }
                if keys != table.indexes[i] {
                    return Err(format!(
                        "{}: index {i} does not hold exactly the rows' keys",
                        ts.name
                    ));
                }
            }
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atom::Atom;
    use serde_json::json;

    fn db() -> Database {
        let schema = DatabaseSchema::from_json(&json!({
            "name": "T", "version": "1.0.0", "tables": {
                "R": {"columns": {"name": {"type": "string"},
                                  "kid": {"type": {"key": {"type": "uuid", "refTable": "K"}, "min": 0, "max": 1}},
                                  "w": {"type": {"key": {"type": "uuid", "refTable": "R", "refType": "weak"}, "min": 0, "max": "unlimited"}}},
                      "indexes": [["name"]], "isRoot": true},
                "K": {"columns": {"n": {"type": {"key": {"type": "integer", "maxInteger": 9}}}}}}}))
        .unwrap();
        let mut d = Database::new(Arc::new(schema));
        let (r, cs) = d.transact(&[
            json!({"op": "insert", "table": "K", "row": {"n": 1}, "uuid-name": "k"}),
            json!({"op": "insert", "table": "R", "row": {"name": "a", "kid": ["named-uuid", "k"], "w": ["named-uuid", "a"]}, "uuid-name": "a"}),
            json!({"op": "insert", "table": "R", "row": {"name": "b", "w": ["named-uuid", "a"]}}),
        ]);
        assert!(cs.is_some(), "{r:?}");
        d
    }

    #[test]
    fn check_invariants_accepts_committed_states_and_catches_damage() {
        let good = db();
        good.check_invariants(true).unwrap();
        let (ki, _) = good.schema.table("K").unwrap();
        let (ri, _) = good.schema.table("R").unwrap();
        let kid = *good.tables[ki].rows.keys().next().unwrap();

        // A reference count off by one.
        let mut d = good.clone();
        d.tables[ki].refs_in.get_mut(&kid).unwrap().strong += 1;
        assert!(d
            .check_invariants(true)
            .unwrap_err()
            .contains("references kept"));
        // A stale index entry.
        let mut d = good.clone();
        d.tables[ri].indexes[0].insert(vec![Datum::scalar(Atom::string("zz"))], kid);
        assert!(d.check_invariants(true).unwrap_err().contains("index 0"));
        // A row removed behind the engine's back: its referrer now dangles.
        let mut d = good.clone();
        d.tables[ki].rows.clear();
        assert!(d
            .check_invariants(true)
            .unwrap_err()
            .contains("refers to missing K row"));
        // A value outside its column's constraints.
        let mut d = good.clone();
        let mut row = (**d.tables[ki].rows.get(&kid).unwrap()).clone();
        row.values[2] = Datum::scalar(Atom::Integer(10));
        d.tables[ki].rows.insert(kid, Arc::new(row));
        assert!(d
            .check_invariants(true)
            .unwrap_err()
            .contains("column n holds 10"));
        // An unreferenced row of a non-root table: only a garbage-collection failure.
        let mut d = good.clone();
        let cs = ChangeSet {
            tables: vec![(
                ki,
                vec![RowChange {
                    uuid: Uuid::from_u128(7),
                    old: None,
                    new: Some(Arc::new(Row::new_default(
                        &d.schema.tables[ki],
                        Uuid::from_u128(7),
                        Uuid::from_u128(8),
                    ))),
                }],
            )],
            comment: None,
        };
        d.apply(&cs);
        d.check_invariants(false).unwrap();
        assert!(d
            .check_invariants(true)
            .unwrap_err()
            .contains("nothing refers to it"));
    }
}
