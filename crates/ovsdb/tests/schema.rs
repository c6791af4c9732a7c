//! Schema parsing: the real schemas load, invalid schemas are refused with a
//! message naming the table and column, and the JSON form round-trips and
//! agrees with the one real `ovsdb-tool` writes.

use std::path::{Path, PathBuf};
use std::process::Command;

use ovsdb::schema::{AtomicType, RefType};
use ovsdb::DatabaseSchema;
use serde_json::{json, Value};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shipped(name: &str) -> PathBuf {
    repo().join("schemas").join(name)
}

#[test]
fn real_schemas_load() {
    for (file, name, version, tables) in [
        ("ovn-nb.ovsschema", "OVN_Northbound", "7.0.0", 30),
        ("ovn-sb.ovsschema", "OVN_Southbound", "20.27.0", 30),
        ("vswitch.ovsschema", "Open_vSwitch", "8.3.1", 15),
    ] {
        let s = DatabaseSchema::from_file(&shipped(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(s.name, name);
        assert_eq!(s.version, version);
        assert!(s.tables.len() >= tables, "{file} has {} tables", s.tables.len());
        // Round trip through our JSON form.
        let again = DatabaseSchema::from_json(&s.to_json()).unwrap();
        assert_eq!(again, s, "{file} does not round-trip");
    }
    let nb = DatabaseSchema::from_file(&shipped("ovn-nb.ovsschema")).unwrap();
    let (_, lsp) = nb.table("Logical_Switch_Port").unwrap();
    assert!(!lsp.is_root);
    assert_eq!(lsp.indexes, vec![vec![lsp.column("name").unwrap()]]);
    let (_, ls) = nb.table("Logical_Switch").unwrap();
    assert!(ls.is_root);
    let ports = &ls.columns[ls.column("ports").unwrap()].type_;
    assert_eq!(ports.key.atomic, AtomicType::Uuid);
    assert_eq!(ports.key.ref_table.as_deref(), Some("Logical_Switch_Port"));
    assert_eq!(ports.key.ref_type, RefType::Strong);
    assert_eq!((ports.min, ports.max), (0, u32::MAX));
    let (_, global) = nb.table("NB_Global").unwrap();
    assert_eq!(global.max_rows, Some(1));
    let sb = DatabaseSchema::from_file(&shipped("ovn-sb.ovsschema")).unwrap();
    let (_, sbg) = sb.table("SB_Global").unwrap();
    assert_eq!(sbg.max_rows, Some(1));
    let (_, mb) = sb.table("Port_Binding").unwrap();
    let tk = &mb.columns[mb.column("tunnel_key").unwrap()].type_;
    assert_eq!((tk.key.min_integer, tk.key.max_integer), (Some(1), Some(32767)));
}

/// The shipped schemas are the ones the Debian packages install (when they are installed).
#[test]
fn shipped_schemas_match_installed() {
    let pairs = [
        ("ovn-nb.ovsschema", "/usr/share/ovn/ovn-nb.ovsschema"),
        ("ovn-sb.ovsschema", "/usr/share/ovn/ovn-sb.ovsschema"),
        ("vswitch.ovsschema", "/usr/share/openvswitch/vswitch.ovsschema"),
    ];
    for (ours, theirs) in pairs {
        if !Path::new(theirs).exists() {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "CI must have {theirs} (Debian OVS/OVN packages)");
            eprintln!("skipping: {theirs} not installed (install openvswitch-common / ovn-common)");
            continue;
        }
        let a = DatabaseSchema::from_file(&shipped(ours)).unwrap();
        let b = DatabaseSchema::from_file(Path::new(theirs)).unwrap();
        assert_eq!(a, b, "{ours} differs from {theirs}");
    }
}

fn err(v: Value) -> String {
    match DatabaseSchema::from_json(&v) {
        Ok(_) => panic!("schema accepted: {v}"),
        Err(e) => e.to_string(),
    }
}

fn one_col(t: Value) -> Value {
    json!({"name": "D", "version": "1.0.0", "tables": {"T": {"columns": {"c": {"type": t}}}}})
}

#[test]
fn invalid_schemas_are_refused_with_a_location() {
    let cases: Vec<(Value, &str)> = vec![
        (json!({"name": "D", "tables": {}, "bogus": 1}), "unknown member \"bogus\""),
        (json!({"version": "1.0.0", "tables": {}}), "\"name\" is missing"),
        (json!({"name": "D", "version": "1.0", "tables": {}}), "not of the form x.y.z"),
        (json!({"name": "1D", "tables": {}}), "not a valid identifier"),
        (json!({"name": "D", "tables": {"_T": {"columns": {"c": {"type": "integer"}}}}}), "reserved"),
        (json!({"name": "D", "tables": {"T": {"columns": {}}}}), "table T: table must have at least one column"),
        (json!({"name": "D", "tables": {"T": {"columns": {"_c": {"type": "integer"}}}}}), "table T column _c"),
        (one_col(json!("int")), "table T column c: unknown atomic type \"int\""),
        (one_col(json!({"key": "integer", "min": 2})), "table T column c: min must be 0 or 1"),
        (one_col(json!({"key": "integer", "max": 0})), "table T column c: max must be"),
        (one_col(json!({"key": "integer", "min": 1, "max": "lots"})), "table T column c: max must be"),
        (one_col(json!({"key": {"type": "integer", "minInteger": 5, "maxInteger": 1}})), "minInteger 5 exceeds"),
        (one_col(json!({"key": {"type": "string", "minLength": -1}})), "minLength must not be negative"),
        (one_col(json!({"key": {"type": "uuid", "refTable": "Nope"}})), "table T column c: refTable \"Nope\""),
        (one_col(json!({"key": {"type": "uuid", "refTable": "T", "refType": "soft"}})), "refType must be"),
        (one_col(json!({"key": {"type": "integer", "enum": ["set", ["x"]]}})), "table T column c: bad enum"),
        (one_col(json!({"key": "integer", "value": "bool"})), "unknown atomic type \"bool\""),
        (
            json!({"name": "D", "tables": {"T": {"columns": {"c": {"type": "integer"}}, "indexes": [["d"]]}}}),
            "table T index 0: no column named d",
        ),
        (
            json!({"name": "D", "tables": {"T": {"columns": {"c": {"type": "integer", "ephemeral": true}}, "indexes": [["c"]]}}}),
            "ephemeral column c cannot be indexed",
        ),
        (
            json!({"name": "D", "tables": {"T": {"columns": {"c": {"type": "integer"}}, "maxRows": 0}}}),
            "table T: maxRows must be a positive integer",
        ),
    ];
    for (schema, want) in cases {
        let e = err(schema.clone());
        assert!(e.contains(want), "schema {schema}\n  error: {e}\n  wanted: {want}");
    }
}

#[test]
fn root_defaults_and_weak_refs() {
    // No table says isRoot: all are roots.
    let s = DatabaseSchema::from_json(&json!({"name": "D", "tables": {
        "A": {"columns": {"c": {"type": "integer"}}},
        "B": {"columns": {"c": {"type": "integer"}}}}}))
    .unwrap();
    assert!(s.tables.iter().all(|t| t.is_root));
    // One says isRoot: the others are not.
    let s = DatabaseSchema::from_json(&json!({"name": "D", "tables": {
        "A": {"columns": {"c": {"type": "integer"}}, "isRoot": true},
        "B": {"columns": {"w": {"type": {"key": {"type": "uuid", "refTable": "A", "refType": "weak"}},
                                "mutable": false}}}}}))
    .unwrap();
    assert!(s.table("A").unwrap().1.is_root);
    let b = s.table("B").unwrap().1;
    assert!(!b.is_root);
    // A weak reference cannot be immutable: it changes when its target goes.
    assert!(b.columns[b.column("w").unwrap()].mutable);
}

/// Our JSON form of a schema equals the schema record real `ovsdb-tool create` writes.
#[test]
fn schema_json_matches_ovsdb_tool() {
    if Command::new("ovsdb-tool").arg("--version").output().is_err() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI must have ovsdb-tool (Debian openvswitch-common)");
        eprintln!("skipping: ovsdb-tool not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("rovn-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = [
        shipped("ovn-nb.ovsschema"),
        shipped("ovn-sb.ovsschema"),
        shipped("vswitch.ovsschema"),
        repo().join("crates/ovsdb/tests/data/everything.ovsschema"),
    ];
    for f in files {
        let db = dir.join("x.db");
        let _ = std::fs::remove_file(&db);
        let out = Command::new("ovsdb-tool").arg("create").arg(&db).arg(&f).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = std::fs::read_to_string(&db).unwrap();
        let record = text.lines().nth(1).unwrap();
        let theirs: Value = serde_json::from_str(record).unwrap();
        let ours = DatabaseSchema::from_file(&f).unwrap().to_json();
        if let Some(d) = first_difference("", &ours, &theirs) {
            panic!("{}: schema JSON differs from ovsdb-tool's at {d}", f.display());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The path and values of the first difference between two JSON values.
fn first_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let p = format!("{path}/{k}");
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => {
                        if let Some(d) = first_difference(&p, u, v) {
                            return Some(d);
                        }
                    }
                    (u, v) => return Some(format!("{p}: ours {u:?}, theirs {v:?}")),
                }
            }
            None
        }
        _ if a == b => None,
        _ => Some(format!("{path}: ours {a}, theirs {b}")),
    }
}
