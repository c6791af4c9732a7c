//! Shared fixtures for the fuzz targets: a fixed southbound lookup for the
//! lflow targets, the `Everything` test schema (every type and constraint,
//! strong and weak references, indexes, maxRows) and a small database on it
//! for the ovsdb targets.

use std::sync::{Arc, OnceLock};

use lflow::Tables;
use ovsdb::{Database, DatabaseSchema, SchemaRef};
use serde_json::{json, Value};

#[allow(dead_code, unused_imports)]
#[path = "../../crates/lflow/tests/common/mod.rs"]
mod lflow_common;
pub use lflow_common::{packets_near, Rng};

/// Ports lp1..lp4 (keys 1..4, lp1 resident), port group `pg` and address
/// sets `as4`, `as6`, `asmac`, `as` (mixed) — names the seeds and the
/// dictionary use.
pub fn lookup() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Tables::new();
        for (i, p) in ["lp1", "lp2", "lp3", "lp4"].iter().enumerate() {
            t.add_port(p, i as u32 + 1);
        }
        t.set_resident("lp1");
        t.add_port_group("pg", &["lp1", "lp2"]);
        t.add_port_group("pg_empty", &[]);
        t.add_address_set("as4", &["10.0.0.1", "10.0.0.0/24", "192.168.1.7"]).expect("valid addresses");
        t.add_address_set("as6", &["fd00::1", "fe80::/64"]).expect("valid addresses");
        t.add_address_set("asmac", &["00:00:00:00:00:01", "0a:00:00:00:00:00/ff:00:00:00:00:00"])
            .expect("valid addresses");
        t.add_address_set("as", &["10.0.0.1", "fd00::/8", "00:00:00:00:00:01"]).expect("valid addresses");
        t.add_address_set("as_empty", &[]).expect("valid addresses");
        t
    })
}

/// The ovsdb test schema with every type and constraint.
pub const EVERYTHING: &str = include_str!("../../crates/ovsdb/tests/data/everything.ovsschema");

/// [`EVERYTHING`], parsed.
pub fn schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| Arc::new(DatabaseSchema::from_str(EVERYTHING).expect("test schema is valid"))).clone()
}

/// A small database on [`schema`]: a few rows in every table, with strong
/// and weak references between them.
pub fn seeded_db() -> Database {
    static D: OnceLock<Database> = OnceLock::new();
    D.get_or_init(|| {
        let mut d = Database::new(schema());
        let (r, cs) = d.transact(&seed_ops());
        assert!(cs.is_some(), "seed transaction fails: {r:?}");
        d.check_invariants(true).expect("seed database is consistent");
        d
    })
    .clone()
}

/// The transaction that fills [`seeded_db`].
pub fn seed_ops() -> Vec<Value> {
    vec![
        json!({"op": "insert", "table": "Weak", "row": {"k": 1, "tag": "a"}, "uuid-name": "w1"}),
        json!({"op": "insert", "table": "Weak", "row": {"k": 2, "self": ["named-uuid", "w1"]}, "uuid-name": "w2"}),
        json!({"op": "insert", "table": "Child", "row": {"n": 1, "w": ["named-uuid", "w1"]}, "uuid-name": "c1"}),
        json!({"op": "insert", "table": "Child", "row": {"n": 2, "sib": ["named-uuid", "c1"]}, "uuid-name": "c2"}),
        json!({"op": "insert", "table": "Root", "uuid-name": "r1", "row": {
            "name": "r1", "i": 7, "r": 1.5, "b": true, "e": ["set", ["red", "blue"]], "len": "ab",
            "iset": ["set", [1, 2]], "rset": ["set", [0.5]], "sset": "x",
            "smap": ["map", [["k", "v"]]], "imap": ["map", [[1, 2.5]]], "u": ["uuid", "01234567-89ab-cdef-0123-456789abcdef"],
            "kids": ["set", [["named-uuid", "c2"]]], "weak": ["named-uuid", "w2"],
            "wmap": ["map", [["a", ["named-uuid", "w1"]]]], "kmap": ["map", [["c", ["named-uuid", "c1"]]]],
            "umap": ["map", [[["named-uuid", "w2"], 3]]], "fixed": "f", "eph": 1}}),
        json!({"op": "insert", "table": "Root", "row": {"name": "r2", "sset": ["set", ["y", "z"]]}}),
        json!({"op": "insert", "table": "Strict", "row": {
            "kid": ["named-uuid", "c1"], "weak1": ["named-uuid", "w1"], "wval": ["map", [["x", ["named-uuid", "w2"]]]]}}),
        json!({"op": "insert", "table": "Small", "row": {"v": 1}}),
    ]
}

/// The input as UTF-8 text, or `None` (string-based targets skip the rest).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// The input as one JSON value, or `None`.
pub fn json(data: &[u8]) -> Option<Value> {
    serde_json::from_slice(data).ok()
}

/// The database as JSON without what a log record does not carry:
/// `_version` and ephemeral columns.
pub fn durable_json(db: &Database) -> Value {
    let mut j = db.to_json();
    for ts in &db.schema().tables {
        let skip: Vec<&str> = ts.columns.iter().filter(|c| c.ephemeral).map(|c| c.name.as_str()).chain(["_version"]).collect();
        if let Some(Value::Object(rows)) = j.get_mut(&ts.name) {
            for row in rows.values_mut() {
                if let Value::Object(r) = row {
                    for c in &skip {
                        r.remove(*c);
                    }
                }
            }
        }
    }
    j
}

