//! Helpers shared by the log tests: scratch directories, the test schema,
//! a random transaction generator, database comparison, upstream binaries.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use ovsdb::{Database, DatabaseSchema};
use serde_json::{json, Map, Value};

/// The log tests' schema (sets, maps, diffs, refs, ephemeral, immutable).
pub fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/log.ovsschema")
}

pub fn schema() -> Arc<DatabaseSchema> {
    Arc::new(DatabaseSchema::from_file(&schema_path()).expect("test schema"))
}

/// A fresh scratch directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "rovn-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    pub fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The full path of an upstream binary, or None (skip) — but in CI
/// (`CI=true`) a missing binary fails the test.
pub fn upstream(bin: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|d| d.join(bin)).find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must have {bin} (Debian openvswitch-common / openvswitch-switch)"
        );
        eprintln!("skipping: {bin} not installed (install openvswitch-common / openvswitch-switch)");
    }
    found
}

/// `{table: {uuid: row}}` without what a log does not keep: `_version`
/// (chosen anew when read) and ephemeral columns.
pub fn contents(db: &Database) -> Value {
    strip(db.to_json(), db.schema())
}

/// Removes `_version` and ephemeral columns from `{table: {uuid: row}}`.
pub fn strip(mut v: Value, schema: &DatabaseSchema) -> Value {
    if let Value::Object(tables) = &mut v {
        for (t, rows) in tables.iter_mut() {
            let eph: Vec<String> = schema
                .table(t)
                .map(|(_, ts)| ts.columns.iter().filter(|c| c.ephemeral).map(|c| c.name.clone()).collect())
                .unwrap_or_default();
            if let Value::Object(rows) = rows {
                for row in rows.values_mut() {
                    if let Value::Object(r) = row {
                        r.remove("_version");
                        for e in &eph {
                            r.remove(e);
                        }
                    }
                }
            }
        }
    }
    v
}

/// Turns a `select` of every table (results in schema table order) into
/// `{table: {uuid: row}}`.
pub fn from_selects(schema: &DatabaseSchema, results: &Value) -> Value {
    let mut out = Map::new();
    for (ts, r) in schema.tables.iter().zip(results.as_array().expect("results array")) {
        let mut rows = Map::new();
        for row in r["rows"].as_array().expect("rows") {
            let u = row["_uuid"][1].as_str().expect("uuid").to_string();
            rows.insert(u, row.clone());
        }
        out.insert(ts.name.clone(), Value::Object(rows));
    }
    strip(Value::Object(out), schema)
}

/// A transaction selecting every row of every table.
pub fn select_all(schema: &DatabaseSchema) -> Value {
    let mut ops = vec![json!(schema.name)];
    for ts in &schema.tables {
        ops.push(json!({"op": "select", "table": ts.name, "where": []}));
    }
    Value::Array(ops)
}

/// A small deterministic generator.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> Option<&'a T> {
        if v.is_empty() {
            None
        } else {
            Some(&v[self.below(v.len() as u64) as usize])
        }
    }
}

fn uuids(db: &Database, table: &str) -> Vec<String> {
    let mut v: Vec<String> = db.table_by_name(table).map(|(_, t)| t.rows.keys().map(|u| u.to_string()).collect()).unwrap_or_default();
    v.sort();
    v
}

fn words(rng: &mut Rng, max: u64) -> Vec<Value> {
    const W: [&str; 8] = ["a", "b", "c d", "", "é", "x\"y", "line\nbreak", "true"];
    (0..rng.below(max + 1)).map(|_| json!(W[rng.below(8) as usize])).collect()
}

fn reals(rng: &mut Rng, max: u64) -> Vec<Value> {
    // Upstream prints reals with 15 significant digits, so keep to values
    // that survive that.
    const R: [f64; 7] = [0.1, 1e20, -3.0, 2.5e-7, 100.5, 0.125, 7.0];
    (0..rng.below(max + 1)).map(|_| json!(R[rng.below(7) as usize])).collect()
}

fn node_columns(rng: &mut Rng, db: &Database) -> Map<String, Value> {
    let mut row = Map::new();
    for _ in 0..rng.below(6) + 1 {
        match rng.below(12) {
            0 => {
                row.insert("n".into(), json!(rng.below(1000) as i64 - 500));
            }
            1 => {
                let r = reals(rng, 1);
                row.insert("r".into(), json!(["set", r]));
            }
            2 => {
                row.insert("flag".into(), json!(rng.below(2) == 1));
            }
            3 => {
                let c = ["red", "green", "blue"][rng.below(3) as usize];
                row.insert("color".into(), if rng.below(3) == 0 { json!(["set", []]) } else { json!(c) });
            }
            4 => {
                let mut w = words(rng, 5);
                w.sort_by_key(|v| v.to_string());
                w.dedup();
                row.insert("tags".into(), json!(["set", w]));
            }
            5 => {
                let mut v: Vec<i64> = (0..rng.below(5)).map(|_| rng.below(10) as i64).collect();
                v.sort();
                v.dedup();
                row.insert("ints".into(), json!(["set", v]));
            }
            6 => {
                let mut v = reals(rng, 4);
                v.sort_by(|a, b| a.as_f64().partial_cmp(&b.as_f64()).unwrap());
                v.dedup();
                row.insert("reals".into(), json!(["set", v]));
            }
            7 => {
                let mut m: Vec<(String, Value)> = Vec::new();
                for k in ["k1", "k2", "k3", "k4"] {
                    if rng.below(2) == 0 {
                        m.push((k.into(), json!(["v1", "v2", ""][rng.below(3) as usize])));
                    }
                }
                let pairs: Vec<Value> = m.into_iter().map(|(k, v)| json!([k, v])).collect();
                row.insert("opts".into(), json!(["map", pairs]));
            }
            8 => {
                let mut pairs = Vec::new();
                for k in 0..rng.below(4) {
                    let v = [0.5, 2.0, -1.25][rng.below(3) as usize];
                    pairs.push(json!([k * 3, v]));
                }
                row.insert("imap".into(), json!(["map", pairs]));
            }
            9 => {
                let v = if rng.below(2) == 0 { json!(["map", []]) } else { json!(["map", [["k", format!("v{}", rng.below(3))]]]) };
                row.insert("one".into(), v);
            }
            10 => {
                let peers = uuids(db, "Node");
                let mut p: Vec<Value> = (0..rng.below(3)).filter_map(|_| rng.pick(&peers).map(|u| json!(["uuid", u]))).collect();
                p.sort_by_key(|v| v.to_string());
                p.dedup();
                row.insert("peers".into(), json!(["set", p]));
            }
            _ => {
                row.insert("eph".into(), json!(rng.below(5)));
            }
        }
    }
    row
}

/// A random transaction against `db`: inserts, updates, mutations and
/// deletes over every column kind. Some fail (constraint violations); that
/// is fine, callers log only what commits.
pub fn random_txn(rng: &mut Rng, db: &Database, counter: &mut u64) -> Value {
    let mut ops = vec![json!("LogTest")];
    let nodes = uuids(db, "Node");
    for _ in 0..rng.below(3) + 1 {
        let target = rng.pick(&nodes).cloned();
        let op = match (rng.below(10), target) {
            (0..=2, _) | (_, None) => {
                *counter += 1;
                let mut row = node_columns(rng, db);
                row.insert("name".into(), json!(format!("node{counter}")));
                row.insert("fixed".into(), json!(format!("f{counter}")));
                if rng.below(2) == 0 {
                    let leaf = format!("leaf{counter}");
                    ops.push(json!({"op": "insert", "table": "Leaf", "uuid-name": leaf, "row": {"v": *counter as i64}}));
                    row.insert("children".into(), json!(["set", [["named-uuid", leaf]]]));
                }
                json!({"op": "insert", "table": "Node", "row": row})
            }
            (3..=5, Some(u)) => {
                json!({"op": "update", "table": "Node", "where": [["_uuid", "==", ["uuid", u]]], "row": node_columns(rng, db)})
            }
            (6..=7, Some(u)) => {
                let m = match rng.below(5) {
                    0 => json!(["tags", "insert", ["set", words(rng, 2)]]),
                    1 => json!(["tags", "delete", ["set", words(rng, 2)]]),
                    2 => json!(["opts", "insert", ["map", [["k9", "new"], ["k1", "x"]]]]),
                    3 => json!(["opts", "delete", ["set", ["k1", "k2"]]]),
                    _ => json!(["n", "+=", 1]),
                };
                json!({"op": "mutate", "table": "Node", "where": [["_uuid", "==", ["uuid", u]]], "mutations": [m]})
            }
            (8, Some(u)) => {
                // Drop the node's leaves, which garbage collection then deletes.
                json!({"op": "update", "table": "Node", "where": [["_uuid", "==", ["uuid", u]]], "row": {"children": ["set", []]}})
            }
            (_, Some(u)) => json!({"op": "delete", "table": "Node", "where": [["_uuid", "==", ["uuid", u]]]}),
        };
        ops.push(op);
    }
    if rng.below(4) == 0 {
        ops.push(json!({"op": "comment", "comment": format!("txn {counter}\nsecond line")}));
    }
    if rng.below(10) == 0 {
        ops.push(json!({"op": "insert", "table": "Seq", "row": {"n": *counter as i64}}));
    }
    Value::Array(ops)
}

/// Runs a transaction (with the database name first) on `db`; returns the
/// change set if it committed something.
pub fn commit(db: &mut Database, txn: &Value) -> Option<ovsdb::ChangeSet> {
    let ops = &txn.as_array().expect("txn array")[1..];
    let (_, cs) = db.transact(ops);
    cs.filter(|c| !c.is_empty())
}

/// Asserts two JSON values are equal, naming the first path where they differ.
pub fn assert_same(got: &Value, want: &Value, what: &str) {
    if let Some(d) = first_difference(got, want, String::new()) {
        panic!("{what}: {d}");
    }
}

fn first_difference(a: &Value, b: &Value, path: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => {
                        if let Some(d) = first_difference(p, q, format!("{path}/{k}")) {
                            return Some(d);
                        }
                    }
                    (p, q) => return Some(format!("{path}/{k}: {p:?} vs {q:?}")),
                }
            }
            None
        }
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}
