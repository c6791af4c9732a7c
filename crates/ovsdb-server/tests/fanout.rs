//! One commit, many monitoring clients: the update is serialized once per
//! distinct monitor and the notification bytes are shared by clients whose
//! monitors are alike and named alike.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use ovsdb::jsonrpc::Message;
use ovsdb::{Database, DatabaseSchema};
use ovsdb_server::{Action, Core};
use serde_json::{json, Value};

fn core() -> Core {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/ovn-nb.ovsschema");
    Core::in_memory(vec![Database::new(Arc::new(DatabaseSchema::from_file(&p).unwrap()))])
}

fn request(core: &mut Core, s: u64, method: &str, params: Value) -> Vec<(u64, Arc<Vec<u8>>)> {
    let params = params.as_array().unwrap().clone();
    core.handle_message(s, Message::Request { method: method.into(), params, id: json!(1) }, Instant::now());
    let mut out = Vec::new();
    while let Some(a) = core.poll_action() {
        if let Action::Send(to, bytes) = a {
            out.push((to, bytes));
        }
    }
    out
}

#[test]
fn alike_monitors_share_one_notification() {
    let mut core = core();
    let all = json!({"Logical_Router": [{"columns": ["name", "external_ids"]}]});
    let only_r1 = json!({"Logical_Router": [{"columns": ["name", "external_ids"], "where": [["name", "==", "r1"]]}]});
    // Sessions 1-50: the same monitor, id "m"; 51-60: the same, id "other";
    // 61: only r1; 62: id "m" but monitor_cond_since (update3).
    for s in 1..=62u64 {
        core.handle_connect(s);
        let (method, params) = match s {
            1..=50 => ("monitor_cond", json!(["OVN_Northbound", "m", all])),
            51..=60 => ("monitor_cond", json!(["OVN_Northbound", "other", all])),
            61 => ("monitor_cond", json!(["OVN_Northbound", "m", only_r1])),
            _ => ("monitor_cond_since", json!(["OVN_Northbound", "m", all, "00000000-0000-0000-0000-000000000000"])),
        };
        let replies = request(&mut core, s, method, params);
        assert_eq!(replies.len(), 1, "{method} reply");
    }
    core.handle_connect(100);
    let sent = request(
        &mut core,
        100,
        "transact",
        json!(["OVN_Northbound", {"op": "insert", "table": "Logical_Router", "row": {"name": "r0"}}]),
    );
    let notes: HashMap<u64, Arc<Vec<u8>>> = sent.into_iter().filter(|(s, _)| *s != 100).collect();
    // Session 61 watches r1 only: nothing for it.
    let mut want: Vec<u64> = (1..=60).chain([62]).collect();
    let mut got: Vec<u64> = notes.keys().copied().collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    for s in 2..=50 {
        assert!(Arc::ptr_eq(&notes[&1], &notes[&s]), "session {s} has its own copy");
    }
    for s in 52..=60 {
        assert!(Arc::ptr_eq(&notes[&51], &notes[&s]));
    }
    assert!(!Arc::ptr_eq(&notes[&1], &notes[&51]));
    let parse = |s: u64| -> Value { serde_json::from_slice(&notes[&s]).unwrap() };
    let (a, b, c) = (parse(1), parse(51), parse(62));
    assert_eq!(a["method"], "update2");
    assert_eq!(a["params"][0], "m");
    assert_eq!(b["params"][0], "other");
    assert_eq!(a["params"][1], b["params"][1], "same body");
    assert_eq!(c["method"], "update3");
    assert_eq!(c["params"][0], "m");
    assert_eq!(c["params"][2], a["params"][1]);
    let rows = a["params"][1]["Logical_Router"].as_object().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows.values().next().unwrap()["insert"]["name"], "r0");
}
