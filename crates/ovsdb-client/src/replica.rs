//! The IDL replica: an in-memory copy of the monitored tables, kept current
//! from `update`/`update2`/`update3` notifications, with the net changes
//! since the consumer last looked.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ovsdb::schema::{ColumnType, TableSchema};
use ovsdb::uuid::UuidMap;
use ovsdb::{Datum, OvsdbError, Row, SchemaRef, Uuid};
use serde_json::Value;

/// How a row changed since the consumer last took the changes.
#[derive(Debug, Clone, PartialEq)]
pub struct RowDelta {
    /// The row when last looked at (None: it is new).
    pub old: Option<Arc<Row>>,
    /// The row now (None: it was deleted).
    pub new: Option<Arc<Row>>,
}

impl RowDelta {
    /// True for a row that appeared.
    pub fn is_insert(&self) -> bool {
        self.old.is_none() && self.new.is_some()
    }
    /// True for a row that went away.
    pub fn is_delete(&self) -> bool {
        self.old.is_some() && self.new.is_none()
    }
}

/// One monitored table.
#[derive(Debug, Clone, Default)]
pub struct TableReplica {
    /// Rows by UUID.
    pub rows: UuidMap<Arc<Row>>,
    changes: UuidMap<RowDelta>,
    /// One map per schema index (`TableSchema::indexes`): key -> row.
    indexes: Vec<HashMap<Vec<Datum>, Uuid>>,
}

impl TableReplica {
    fn new(ts: &TableSchema) -> TableReplica {
        TableReplica { indexes: vec![HashMap::new(); ts.indexes.len()], ..Default::default() }
    }

    fn unindex(&mut self, ts: &TableSchema, row: &Row) {
        let u = row.uuid();
        for (map, cols) in self.indexes.iter_mut().zip(&ts.indexes) {
            let key = ovsdb::row::index_key(row, cols);
            // Within one update a row may take the key of a row deleted
            // later in the same update: only drop an entry that is ours.
            if map.get(&key) == Some(&u) {
                map.remove(&key);
            }
        }
    }

    fn index(&mut self, ts: &TableSchema, row: &Row) {
        for (map, cols) in self.indexes.iter_mut().zip(&ts.indexes) {
            map.insert(ovsdb::row::index_key(row, cols), row.uuid());
        }
    }

    /// The row whose values in schema index `index` are `key`.
    pub fn lookup(&self, index: usize, key: &[Datum]) -> Option<&Arc<Row>> {
        let u = self.indexes.get(index)?.get(key)?;
        self.rows.get(u)
    }
}

/// A replica of some tables of one database.
#[derive(Debug, Clone)]
pub struct Replica {
    schema: SchemaRef,
    tables: Vec<Option<TableReplica>>,
}

fn bad(msg: impl Into<String>) -> OvsdbError {
    OvsdbError::syntax(msg)
}

/// A column type that accepts a diff (any number of elements).
fn diff_type(t: &ColumnType) -> ColumnType {
    ColumnType { min: 0, max: u32::MAX, ..t.clone() }
}

impl Replica {
    /// An empty replica of the named tables (all if `tables` is empty).
    pub fn new(schema: SchemaRef, tables: &[&str]) -> Result<Replica, OvsdbError> {
        let mut t: Vec<Option<TableReplica>> = vec![None; schema.tables.len()];
        if tables.is_empty() {
            t.iter_mut().zip(&schema.tables).for_each(|(x, ts)| *x = Some(TableReplica::new(ts)));
        }
        for name in tables {
            let (i, ts) = schema.table(name).ok_or_else(|| bad(format!("no table named {name}")))?;
            t[i] = Some(TableReplica::new(ts));
        }
        Ok(Replica { schema, tables: t })
    }

    /// The schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Names of the monitored tables.
    pub fn table_names(&self) -> Vec<&str> {
        self.tables
            .iter()
            .enumerate()
            .filter(|(_, t)| t.is_some())
            .map(|(i, _)| self.schema.tables[i].name.as_str())
            .collect()
    }

    /// A monitored table by name.
    pub fn table(&self, name: &str) -> Option<(&TableSchema, &TableReplica)> {
        let (i, ts) = self.schema.table(name)?;
        self.tables[i].as_ref().map(|t| (ts, t))
    }

    /// One row.
    pub fn row(&self, table: &str, uuid: &Uuid) -> Option<&Arc<Row>> {
        self.table(table)?.1.rows.get(uuid)
    }

    /// The `<monitor-cond-requests>` for every monitored table, all columns.
    pub fn monitor_requests(&self) -> Value {
        let mut m = serde_json::Map::new();
        for name in self.table_names() {
            let (_, ts) = self.schema.table(name).expect("monitored table exists");
            let cols: Vec<&str> = ts.user_columns().map(|(_, c)| c.name.as_str()).collect();
            m.insert(name.to_string(), serde_json::json!([{"columns": cols}]));
        }
        Value::Object(m)
    }

    fn record(&mut self, t: usize, uuid: Uuid, new: Option<Arc<Row>>) {
        let ts = &self.schema.tables[t];
        let tr = self.tables[t].as_mut().expect("monitored");
        let old = match &new {
            Some(r) => tr.rows.insert(uuid, r.clone()),
            None => tr.rows.remove(&uuid),
        };
        if !ts.indexes.is_empty() {
            if let Some(o) = &old {
                tr.unindex(ts, o);
            }
            if let Some(n) = &new {
                tr.index(ts, n);
            }
        }
        match tr.changes.get_mut(&uuid) {
            Some(d) => {
                d.new = new;
                if d.old.is_none() && d.new.is_none() {
                    tr.changes.remove(&uuid);
                }
            }
            None => {
                tr.changes.insert(uuid, RowDelta { old, new });
            }
        }
    }

    fn parse_row(
        ts: &TableSchema,
        uuid: Uuid,
        base: Option<&Row>,
        json: &Value,
        diff: bool,
    ) -> Result<Row, OvsdbError> {
        let obj = json.as_object().ok_or_else(|| bad("row must be an object"))?;
        let mut row = match base {
            Some(r) => r.clone(),
            None => Row::new_default(ts, uuid, Uuid::nil()),
        };
        for (name, v) in obj {
            let c = ts.column(name).ok_or_else(|| bad(format!("unknown column {name} in table {}", ts.name)))?;
            let t = &ts.columns[c].type_;
            if diff && t.max > 1 {
                let d = Datum::from_json(&diff_type(t), v, None)?;
                row.values[c] = row.values[c].apply_diff(&d);
            } else {
                row.values[c] = Datum::from_json(t, v, None)?;
            }
        }
        Ok(row)
    }

    fn table_index(&self, name: &str) -> Result<usize, OvsdbError> {
        match self.schema.table(name) {
            Some((i, _)) if self.tables[i].is_some() => Ok(i),
            _ => Err(bad(format!("update for unmonitored table {name}"))),
        }
    }

    /// Applies `<table-updates2>` (update2/update3, or the initial contents).
    /// The whole update is checked before any of it is applied.
    pub fn apply_update2(&mut self, updates: &Value) -> Result<(), OvsdbError> {
        let staged = self.stage(updates, true)?;
        for (t, u, row) in staged {
            self.record(t, u, row);
        }
        Ok(())
    }

    /// Applies `<table-updates>` (update, or monitor's initial contents).
    pub fn apply_update(&mut self, updates: &Value) -> Result<(), OvsdbError> {
        let staged = self.stage(updates, false)?;
        for (t, u, row) in staged {
            self.record(t, u, row);
        }
        Ok(())
    }

    #[allow(clippy::type_complexity)]
    fn stage(&self, updates: &Value, v2: bool) -> Result<Vec<(usize, Uuid, Option<Arc<Row>>)>, OvsdbError> {
        let obj = updates.as_object().ok_or_else(|| bad("table updates must be an object"))?;
        let mut out = Vec::new();
        for (tname, rows) in obj {
            let t = self.table_index(tname)?;
            let ts = &self.schema.tables[t];
            let cur = self.tables[t].as_ref().expect("monitored");
            let rows = rows.as_object().ok_or_else(|| bad("table update must be an object"))?;
            for (us, ru) in rows {
                let u = Uuid::parse(us).ok_or_else(|| bad(format!("bad row UUID {us}")))?;
                let ru = ru.as_object().ok_or_else(|| bad("row update must be an object"))?;
                let existing = cur.rows.get(&u).map(|r| &**r);
                let new = if v2 {
                    let (kind, v) = ru.iter().next().ok_or_else(|| bad("empty row update"))?;
                    match kind.as_str() {
                        "initial" | "insert" => Some(Self::parse_row(ts, u, None, v, false)?),
                        "modify" => {
                            let base = existing.ok_or_else(|| bad(format!("modify of unknown row {u}")))?;
                            Some(Self::parse_row(ts, u, Some(base), v, true)?)
                        }
                        "delete" => None,
                        k => return Err(bad(format!("unknown row update kind {k}"))),
                    }
                } else {
                    match ru.get("new") {
                        Some(v) => Some(Self::parse_row(ts, u, None, v, false)?),
                        None => None,
                    }
                };
                out.push((t, u, new.map(Arc::new)));
            }
        }
        Ok(out)
    }

    /// Replaces the whole contents with `initial` (`<table-updates2>`), as
    /// after a reconnection that could not resume: the changes recorded are
    /// the differences from what the replica held.
    pub fn reset(&mut self, initial: &Value) -> Result<(), OvsdbError> {
        let tables = self
            .tables
            .iter()
            .zip(&self.schema.tables)
            .map(|(t, ts)| t.as_ref().map(|_| TableReplica::new(ts)))
            .collect();
        let mut fresh = Replica { schema: self.schema.clone(), tables };
        fresh.apply_update2(initial)?;
        for t in 0..self.tables.len() {
            let (Some(old), Some(new)) = (&self.tables[t], &fresh.tables[t]) else {
                continue;
            };
            let gone: Vec<Uuid> = old.rows.keys().filter(|u| !new.rows.contains_key(u)).copied().collect();
            let changed: Vec<(Uuid, Arc<Row>)> = new
                .rows
                .iter()
                .filter(|(u, r)| old.rows.get(u).is_none_or(|o| o.values[2..] != r.values[2..]))
                .map(|(u, r)| (*u, r.clone()))
                .collect();
            for u in gone {
                self.record(t, u, None);
            }
            for (u, r) in changed {
                self.record(t, u, Some(r));
            }
        }
        Ok(())
    }

    /// The net changes since the last call, per table name, rows in UUID order.
    pub fn take_changes(&mut self) -> BTreeMap<String, Vec<(Uuid, RowDelta)>> {
        let mut out = BTreeMap::new();
        for (i, t) in self.tables.iter_mut().enumerate() {
            let Some(t) = t else { continue };
            if t.changes.is_empty() {
                continue;
            }
            let mut v: Vec<(Uuid, RowDelta)> = t.changes.drain().collect();
            v.sort_by_key(|(u, _)| *u);
            out.insert(self.schema.tables[i].name.clone(), v);
        }
        out
    }

    /// The net changes of one table since its changes were last taken,
    /// rows in UUID order (empty for an unmonitored table).
    pub fn take_table_changes(&mut self, table: &str) -> Vec<(Uuid, RowDelta)> {
        let Some((i, _)) = self.schema.table(table) else {
            return Vec::new();
        };
        let Some(t) = self.tables[i].as_mut() else {
            return Vec::new();
        };
        let mut v: Vec<(Uuid, RowDelta)> = t.changes.drain().collect();
        v.sort_by_key(|(u, _)| *u);
        v
    }

    /// True if changes are waiting to be taken.
    pub fn has_changes(&self) -> bool {
        self.tables.iter().flatten().any(|t| !t.changes.is_empty())
    }

    /// The contents as `{table: {uuid: {column: value}}}` over user columns
    /// (for comparisons with a server's dump).
    pub fn to_json(&self) -> Value {
        let mut o = serde_json::Map::new();
        for (i, t) in self.tables.iter().enumerate() {
            let Some(t) = t else { continue };
            let ts = &self.schema.tables[i];
            let mut rows: Vec<(&Uuid, &Arc<Row>)> = t.rows.iter().collect();
            rows.sort_by_key(|(u, _)| **u);
            let cols: Vec<usize> = ts.user_columns().map(|(c, _)| c).collect();
            let mut m = serde_json::Map::new();
            for (u, r) in rows {
                m.insert(u.to_string(), r.to_json(ts, Some(&cols)));
            }
            o.insert(ts.name.clone(), Value::Object(m));
        }
        Value::Object(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ovsdb::monitor::{Monitor, Version};
    use ovsdb::{Database, DatabaseSchema};
    use serde_json::json;

    /// A replica fed by a monitor's updates equals the database, through
    /// random transactions; net changes add up.
    #[test]
    fn replica_follows_monitor_updates() {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ovsdb/tests/data/everything.ovsschema");
        let schema = Arc::new(DatabaseSchema::from_file(&p).unwrap());
        let mut db = Database::new(schema.clone());
        let mut rep = Replica::new(schema.clone(), &["Root", "Weak"]).unwrap();
        let mon = Monitor::from_json(&schema, Version::V2, &rep.monitor_requests()).unwrap();
        rep.apply_update2(&mon.initial(&db)).unwrap();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for i in 0..400 {
            let k = rnd(6) as i64;
            let ops = match rnd(5) {
                0 | 1 => {
                    json!([{"op": "insert", "table": "Weak", "row": {"k": i, "tag": format!("t{k}")}, "uuid-name": "w"},
                          {"op": "insert", "table": "Root", "row": {"name": format!("r{i}"), "weak": ["named-uuid", "w"],
                           "sset": ["set", ["a", format!("s{k}")]], "smap": ["map", [["k", format!("v{k}")]]]}}])
                }
                2 => {
                    json!([{"op": "mutate", "table": "Root", "where": [["sset", "includes", format!("s{k}")]],
                             "mutations": [["sset", "insert", ["set", ["x", "y"]]], ["smap", "insert", ["map", [[format!("m{i}"), "v"]]]]]}])
                }
                3 => {
                    json!([{"op": "delete", "table": "Weak", "where": [["tag", "==", format!("t{k}")]]}])
                }
                _ => json!([{"op": "update", "table": "Root", "where": [["sset", "includes", "x"]],
                             "row": {"sset": ["set", ["z"]], "smap": ["map", []]}}]),
            };
            let (_, cs) = db.transact(ops.as_array().unwrap());
            if let Some(cs) = cs {
                if let Some(u) = mon.update(&schema, &cs) {
                    rep.apply_update2(&u).unwrap();
                }
            }
        }
        let full = Replica::new(schema.clone(), &["Root", "Weak"]).map(|mut r| {
            r.apply_update2(&mon.initial(&db)).unwrap();
            r.to_json()
        });
        assert_eq!(rep.to_json(), full.unwrap());
        // Net changes since the start: exactly the rows that exist now, as inserts.
        let ch = rep.take_changes();
        let n_now: usize = ["Root", "Weak"].iter().map(|t| rep.table(t).unwrap().1.rows.len()).sum();
        let n_ins: usize = ch.values().flatten().filter(|(_, d)| d.is_insert()).count();
        assert_eq!(n_ins, n_now);
        assert!(ch.values().flatten().all(|(_, d)| d.is_insert()));
        assert!(!rep.has_changes());
    }
}
