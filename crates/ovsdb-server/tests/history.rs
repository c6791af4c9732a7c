//! The transaction history behind `monitor_cond_since`: at most 100
//! transactions, and no more atoms than the database holds (beyond a small
//! floor), so that a big change that is undone again does not stay in the
//! server's memory. Driven through the core, without sockets.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use ovsdb::jsonrpc::Message;
use ovsdb::{Database, DatabaseSchema};
use ovsdb_server::{Action, Core};
use serde_json::{json, Value};

const DB: &str = "OVN_Northbound";
const ZERO: &str = "00000000-0000-0000-0000-000000000000";

fn core() -> Core {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/ovn-nb.ovsschema");
    Core::in_memory(vec![Database::new(Arc::new(DatabaseSchema::from_file(&p).expect("NB schema")))])
}

/// Sends a request on session `s`; returns every message sent to `s` meanwhile.
fn call(core: &mut Core, s: u64, method: &str, params: Value) -> Vec<Value> {
    let params = params.as_array().expect("params").clone();
    core.handle_message(s, Message::Request { method: method.into(), params, id: json!(method) }, Instant::now());
    let mut out = Vec::new();
    while let Some(a) = core.poll_action() {
        if let Action::Send(to, bytes) = a {
            if to == s {
                out.push(serde_json::from_slice(&bytes).expect("JSON"));
            }
        }
    }
    out
}

/// A transaction on session 1 that must succeed; returns its id, as the
/// monitor on session 2 hears it.
fn commit(core: &mut Core, ops: Value) -> String {
    let mut params = vec![json!(DB)];
    params.extend(ops.as_array().expect("ops").iter().cloned());
    core.handle_message(1, Message::Request { method: "transact".into(), params, id: json!("t") }, Instant::now());
    let mut txn = None;
    while let Some(a) = core.poll_action() {
        if let Action::Send(s, bytes) = a {
            let v: Value = serde_json::from_slice(&bytes).expect("JSON");
            if s == 1 {
                assert!(v["result"].as_array().is_some_and(|r| r.iter().all(|x| x.get("error").is_none())), "{v}");
            } else if s == 2 && v["method"] == "update3" {
                txn = v["params"][1].as_str().map(str::to_string);
            }
        }
    }
    txn.expect("the monitor heard of the commit")
}

/// Whether a new client resuming from `since` is told `found`, and what it
/// gets is the current contents either way.
fn resumes(core: &mut Core, s: u64, since: &str) -> bool {
    core.handle_connect(s);
    let req = json!({"Logical_Switch": [{"columns": ["name", "external_ids"]}]});
    let reply = call(core, s, "monitor_cond_since", json!([DB, "m", req, since]));
    let r = &reply.last().expect("a reply")["result"];
    let found = r[0].as_bool().expect("found flag");
    core.handle_disconnect(s);
    found
}

fn setup() -> Core {
    let mut core = core();
    core.handle_connect(1);
    core.handle_connect(2);
    let req = json!({"Logical_Switch": [{"columns": ["name", "external_ids"]}]});
    let r = call(&mut core, 2, "monitor_cond_since", json!([DB, "watch", req, ZERO]));
    assert_eq!(r[0]["result"][0], json!(false));
    commit(&mut core, json!([{"op": "insert", "table": "Logical_Switch", "row": {"name": "keep"}}]));
    core
}

#[test]
fn a_big_change_undone_again_leaves_the_history() {
    let mut core = setup();
    let ext: Vec<Value> = (0..10).map(|k| json!([format!("k{k}"), "v"])).collect();
    let inserts: Vec<Value> = (0..1000)
        .map(|i| json!({"op": "insert", "table": "Logical_Switch", "row": {"name": format!("sw{i}"), "external_ids": ["map", ext]}}))
        .collect();
    let big = commit(&mut core, Value::Array(inserts));
    let undone =
        commit(&mut core, json!([{"op": "delete", "table": "Logical_Switch", "where": [["name", "!=", "keep"]]}]));
    let last = commit(
        &mut core,
        json!([{"op": "update", "table": "Logical_Switch", "where": [], "row": {"external_ids": ["map", [["a", "b"]]]}}]),
    );
    // Both big transactions hold far more atoms than the one-row database:
    // gone, and a client that last saw the insert gets the whole (small)
    // contents. One that saw the delete needs only what came after it,
    // which is kept.
    assert!(!resumes(&mut core, 10, &big), "the 1000-row delete is still in the history");
    assert!(resumes(&mut core, 11, &undone), "the last transaction is not in the history");
    assert!(resumes(&mut core, 12, &last));
    // Small transactions are kept again.
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(commit(
            &mut core,
            json!([{"op": "update", "table": "Logical_Switch", "where": [], "row": {"name": format!("n{i}")}}]),
        ));
    }
    assert!(resumes(&mut core, 13, &ids[0]));
}

#[test]
fn at_most_100_transactions_are_kept() {
    let mut core = setup();
    let mut ids = Vec::new();
    for i in 0..150 {
        ids.push(commit(
            &mut core,
            json!([{"op": "update", "table": "Logical_Switch", "where": [], "row": {"name": format!("n{i}")}}]),
        ));
    }
    // Resuming from ids[i] needs the transactions after it: the last 100.
    assert!(resumes(&mut core, 10, &ids[50]), "99 transactions back");
    assert!(resumes(&mut core, 11, &ids[49]), "100 transactions back");
    assert!(!resumes(&mut core, 12, &ids[48]), "101 transactions back");
}
