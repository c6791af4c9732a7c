//! Monitor requests: `[version, requests, cond-change-requests]` with
//! version 0..2 for monitor / monitor_cond / monitor_cond_since. Parsing,
//! the initial contents, the update for a fixed commit (insert, modify,
//! delete, garbage collection) and a condition change never panic and
//! give JSON objects.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ovsdb::monitor::{Monitor, Version};
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let Some(Value::Array(a)) = rovn_fuzz::json(data) else { return };
    let version = match a.first().and_then(Value::as_u64) {
        Some(0) => Version::V1,
        Some(1) => Version::V2,
        Some(2) => Version::V3,
        _ => return,
    };
    let Some(requests) = a.get(1) else { return };
    let mut db = rovn_fuzz::seeded_db();
    let Ok(mut m) = Monitor::from_json(db.schema(), version, requests) else { return };
    assert!(m.initial(&db).is_object());
    let (r, cs) = db.transact(&[
        json!({"op": "update", "table": "Root", "where": [["name", "==", "r1"]], "row": {"i": 8, "kids": ["set", []], "smap": ["map", [["k", "w"], ["n", ""]]]}}),
        json!({"op": "delete", "table": "Root", "where": [["name", "==", "r2"]]}),
        json!({"op": "insert", "table": "Root", "row": {"name": "r3", "sset": "q", "kids": ["named-uuid", "c"]}}),
        json!({"op": "insert", "table": "Child", "row": {"n": 3}, "uuid-name": "c"}),
        json!({"op": "mutate", "table": "Small", "where": [], "mutations": [["v", "+=", 1]]}),
    ]);
    let cs = cs.unwrap_or_else(|| panic!("fixed commit fails: {r:?}"));
    if let Some(u) = m.update(db.schema(), &cs) {
        assert!(u.is_object());
    }
    if let Some(change) = a.get(2) {
        if let Ok(Some(u)) = m.change_conditions(&db, change) {
            assert!(u.is_object());
        }
        let _ = m.initial(&db);
        let _ = m.update(db.schema(), &cs);
    }
});
