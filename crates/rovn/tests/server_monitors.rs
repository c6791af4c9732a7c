//! Monitors against the real ovsdb-server: the same transactions on both
//! servers, watched by `monitor`, `monitor_cond` and `monitor_cond_since`
//! monitors on two connections, give the same replies and notifications
//! (UUIDs mapped, `_version` and transaction ids masked); condition
//! changes and cancels too. And `monitor_cond_since` resumption: rovn
//! sends exactly the missed changes when it still has the client's last
//! transaction, the full contents otherwise.

mod common;

use std::collections::BTreeMap;

use common::rpc::canonical_datum;
use common::rpc::{is_uuid, Rpc};
use common::{shipped, upstreams, Served, ROVN};
use ovsdb::jsonrpc::Message;
use serde_json::{json, Map, Value};

const DB: &str = "OVN_Northbound";
const ZERO: &str = "00000000-0000-0000-0000-000000000000";

/// One server with two connections, and the UUIDs of the rows inserted so
/// far by their `uuid-name`.
struct Side {
    served: Served,
    a: Rpc,
    b: Rpc,
    names: BTreeMap<String, String>,
}

impl Side {
    fn start(program: &str) -> Side {
        let served = Served::start(program, "ovn-nb.ovsschema");
        let (a, b) = (Rpc::connect(&served.sock), Rpc::connect(&served.sock));
        Side { served, a, b, names: BTreeMap::new() }
    }

    /// `params` with every `"<name>"` string replaced by the UUID of the
    /// row inserted as `name`.
    fn bind(&self, v: &Value) -> Value {
        match v {
            Value::String(s) if s.starts_with('<') && s.ends_with('>') => {
                let n = &s[1..s.len() - 1];
                json!(self.names.get(n).unwrap_or_else(|| panic!("no row named {n} yet")))
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.bind(x)).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), self.bind(x))).collect()),
            v => v.clone(),
        }
    }

    /// Runs one step; returns what both connections received, in a form
    /// comparable across servers.
    fn step(&mut self, on_b: bool, method: &str, params: &Value) -> Value {
        let params = self.bind(params);
        let conn = if on_b { &mut self.b } else { &mut self.a };
        let (reply, before) = conn.call(method, params.clone());
        if method == "transact" {
            if let Message::Reply { result: Value::Array(results), .. } = &reply {
                for (op, r) in params.as_array().unwrap()[1..].iter().zip(results) {
                    if let (Some(n), Some(u)) = (op.get("uuid-name").and_then(Value::as_str), r["uuid"][1].as_str()) {
                        self.names.insert(n.to_string(), u.to_string());
                    }
                }
            }
        }
        // The other connection's notifications for this step.
        let other = if on_b { &mut self.a } else { &mut self.b };
        let other_got = other.sync();
        let by_uuid: BTreeMap<&str, &str> = self.names.iter().map(|(n, u)| (u.as_str(), n.as_str())).collect();
        let norm = |ms: Vec<Message>| -> Vec<Value> {
            let mut v: Vec<Value> = ms.iter().map(|m| normalize(&m.to_json(), &by_uuid, None)).collect();
            // Monitors' notifications for one commit may come in any order.
            v.sort_by_key(|x| x.to_string());
            v
        };
        json!({
            "reply": normalize(&reply.to_json(), &by_uuid, None),
            "before": norm(before),
            "other": norm(other_got),
        })
    }
}

/// Masks what legitimately differs between two servers: UUIDs become
/// `#name` (rows named by the script) or `?` (anything else, e.g.
/// transaction ids), `_version` values `V`; sets and maps are sorted.
fn normalize(v: &Value, names: &BTreeMap<&str, &str>, key: Option<&str>) -> Value {
    match v {
        Value::String(s) if is_uuid(s) => match names.get(s.as_str()) {
            Some(n) => json!(format!("#{n}")),
            None => json!("?"),
        },
        Value::Array(a) => {
            if key == Some("_version") {
                return json!("V");
            }
            let mut items: Vec<Value> = a.iter().map(|x| normalize(x, names, None)).collect();
            if let [Value::String(tag), Value::Array(elems)] = items.as_mut_slice() {
                if tag == "set" || tag == "map" {
                    elems.sort_by_key(|x| x.to_string());
                }
            }
            // A bare list of UUID atoms (a set as the replica holds it) is
            // ordered by the real UUIDs, which differ between servers: order
            // it by the names they map to.
            if items.len() > 1 && items.iter().all(|x| x.get(0) == Some(&json!("uuid"))) {
                items.sort_by_key(|x| x.to_string());
            }
            Value::Array(items)
        }
        Value::Object(o) => {
            let mut out = Map::new();
            // Rows under UUIDs the script did not name: numbered in the
            // order of their contents.
            let mut unnamed = Vec::new();
            for (k, x) in o {
                let x2 = normalize(x, names, Some(k));
                match names.get(k.as_str()) {
                    Some(n) => drop(out.insert(format!("#{n}"), x2)),
                    None if is_uuid(k) => unnamed.push(x2),
                    None => drop(out.insert(k.clone(), x2)),
                }
            }
            unnamed.sort_by_key(|x| x.to_string());
            for (i, x) in unnamed.into_iter().enumerate() {
                out.insert(format!("?{i}"), x);
            }
            Value::Object(out)
        }
        v => v.clone(),
    }
}

fn txn(ops: Value) -> Value {
    let mut p = vec![json!(DB)];
    p.extend(ops.as_array().unwrap().iter().cloned());
    Value::Array(p)
}

/// The script: (on connection b?, method, params).
fn script() -> Vec<(bool, &'static str, Value)> {
    let lsp = |name: &str, extra: Value| {
        let mut row = json!({"name": name});
        row.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"op": "insert", "table": "Logical_Switch_Port", "uuid-name": name, "row": row})
    };
    let named = |n: &str| json!(["named-uuid", n]);
    let u = |n: &str| json!(["uuid", format!("<{n}>")]);
    vec![
        // Some contents before the monitors start, for their initial replies.
        (
            false,
            "transact",
            txn(json!([
                lsp("p1", json!({"addresses": ["set", ["00:00:00:00:00:01"]]})),
                lsp("p2", json!({"tag_request": 5, "options": ["map", [["a", "1"], ["b", "2"]]]})),
                {"op": "insert", "table": "ACL", "uuid-name": "acl1",
                 "row": {"priority": 1000, "direction": "to-lport", "match": "ip4", "action": "drop"}},
                {"op": "insert", "table": "Logical_Switch", "uuid-name": "sw0",
                 "row": {"name": "sw0", "ports": ["set", [named("p1"), named("p2")]], "acls": named("acl1"),
                         "other_config": ["map", [["k", "v"]]]}},
                {"op": "insert", "table": "Port_Group", "uuid-name": "pg1",
                 "row": {"name": "pg1", "ports": ["set", [named("p1"), named("p2")]]}},
            ])),
        ),
        (
            false,
            "monitor",
            json!([DB, "v1", {
                "Logical_Switch": {},
                "Logical_Switch_Port": {"columns": ["name", "addresses", "options", "enabled", "tag_request"]},
                "ACL": {"columns": ["priority", "match"], "select": {"initial": false, "modify": false}},
                "Port_Group": [{"columns": ["name"]}, {"columns": ["ports"], "select": {"initial": false}}],
            }]),
        ),
        (
            false,
            "monitor_cond",
            json!([DB, ["v2", 1], {
                "Logical_Switch_Port": [{"columns": ["name", "addresses", "up", "tag_request"], "where": [["name", "!=", "p2"]]}],
                "Logical_Switch": [{"columns": ["name", "ports", "other_config"],
                                    "where": [["other_config", "includes", ["map", [["k", "v"]]]]]}],
            }]),
        ),
        (
            false,
            "monitor_cond_since",
            json!([DB, "v3", {
            "Logical_Switch_Port": [{"columns": ["name", "tag_request", "addresses", "options"],
                                     "where": [["tag_request", ">=", 5]]}],
            "ACL": [{"select": {"delete": false}}],
            "Port_Group": [{"where": [["name", "==", "pg1"], false]}],
        }, ZERO]),
        ),
        (true, "monitor_cond", json!([DB, null, {"Logical_Switch": {}, "Logical_Switch_Port": [{}], "_Server": {}}])),
        (true, "monitor_cond", json!([DB, "b2", {"Logical_Switch": {}, "Logical_Switch_Port": [{}]}])),
        (
            true,
            "monitor_cond_since",
            json!([DB, "b3", {"Logical_Switch_Port": [{"where": [["name", "==", "p1"]]}]}, ZERO]),
        ),
        (
            true,
            "monitor",
            json!(["_Server", "srv", {"Database": {"columns": ["name", "model", "connected", "leader"]}}]),
        ),
        // Scalars, optional scalars, sets and maps change.
        (
            false,
            "transact",
            txn(json!([
                {"op": "update", "table": "Logical_Switch_Port", "where": [["name", "==", "p1"]],
                 "row": {"addresses": ["set", ["00:00:00:00:00:01 10.0.0.1", "unknown"]], "tag_request": 7}},
                {"op": "update", "table": "Logical_Switch_Port", "where": [["name", "==", "p2"]],
                 "row": {"tag_request": 6, "options": ["map", [["a", "1"], ["b", "3"], ["c", "4"]]]}},
            ])),
        ),
        (
            false,
            "transact",
            txn(json!([
                {"op": "update", "table": "Logical_Switch_Port", "where": [["name", "==", "p1"]],
                 "row": {"tag_request": ["set", []], "enabled": true}},
                {"op": "mutate", "table": "Logical_Switch", "where": [["name", "==", "sw0"]],
                 "mutations": [["other_config", "delete", ["set", ["k"]]], ["external_ids", "insert", ["map", [["x", "y"]]]]]},
            ])),
        ),
        (
            false,
            "transact",
            txn(json!([
                {"op": "mutate", "table": "Logical_Switch", "where": [["name", "==", "sw0"]],
                 "mutations": [["other_config", "insert", ["map", [["k", "v"], ["k2", "v2"]]]]]},
            ])),
        ),
        // Nothing changes: no notification.
        (
            false,
            "transact",
            txn(json!([
                {"op": "update", "table": "Logical_Switch", "where": [["name", "==", "sw0"]], "row": {"name": "sw0"}},
            ])),
        ),
        // A port starts matching v2's condition.
        (
            false,
            "transact",
            txn(json!([
                {"op": "update", "table": "Logical_Switch_Port", "where": [["name", "==", "p2"]], "row": {"name": "p2b"}},
            ])),
        ),
        // Failing transactions change nothing and notify nobody.
        (
            false,
            "transact",
            txn(json!([
                {"op": "insert", "table": "Logical_Switch", "row": {"name": "gone"}},
                {"op": "abort"},
            ])),
        ),
        (
            false,
            "transact",
            txn(json!([
                {"op": "update", "table": "ACL", "where": [], "row": {"priority": 99999}},
            ])),
        ),
        // Condition changes: the new view's difference comes before the reply.
        (
            false,
            "monitor_cond_change",
            json!([["v2", 1], "v2b", {
                "Logical_Switch_Port": [{"where": [["name", "==", "p1"]]}],
            }]),
        ),
        (
            false,
            "monitor_cond_change",
            json!(["v3", "v3", {
                "Logical_Switch_Port": [{"where": [true]}],
                "Port_Group": [{"where": [["name", "!=", "pg1"]]}],
            }]),
        ),
        (
            true,
            "monitor_cond_change",
            json!(["b3", "b3", {"Logical_Switch_Port": [{"where": [["name", "==", "p2b"]]}]}]),
        ),
        // Unreferenced rows go, weak references to them too.
        (
            false,
            "transact",
            txn(json!([
                {"op": "mutate", "table": "Logical_Switch", "where": [["name", "==", "sw0"]],
                 "mutations": [["ports", "delete", ["set", [u("p1")]]]]},
            ])),
        ),
        (
            false,
            "transact",
            txn(json!([
                {"op": "insert", "table": "Logical_Switch", "uuid-name": "sw1",
                 "row": {"name": "sw1", "ports": named("p3"), "other_config": ["map", [["k", "v"]]]}},
                lsp("p3", json!({"tag_request": 9, "addresses": "00:00:00:00:00:03"})),
                {"op": "mutate", "table": "Port_Group", "where": [], "mutations": [["ports", "insert", ["set", [named("p3")]]]]},
                {"op": "insert", "table": "Port_Group", "uuid-name": "pg2", "row": {"name": "pg2"}},
            ])),
        ),
        (false, "monitor_cancel", json!(["v1"])),
        (
            false,
            "transact",
            txn(json!([
                {"op": "delete", "table": "Logical_Switch", "where": [["name", "==", "sw0"]]},
                {"op": "update", "table": "Port_Group", "where": [["name", "==", "pg2"]], "row": {"name": "pg2b"}},
            ])),
        ),
        // Inserted and deleted in one transaction: no trace.
        (
            false,
            "transact",
            txn(json!([
                {"op": "insert", "table": "Logical_Switch", "uuid-name": "tmp", "row": {"name": "tmp"}},
                {"op": "delete", "table": "Logical_Switch", "where": [["name", "==", "tmp"]]},
            ])),
        ),
        // Monitors without inserts: a row they were never sent is then
        // modified (a modify) and deleted (a delete).
        (
            true,
            "monitor_cond",
            json!([DB, "noins2", {"Address_Set": [{"select": {"initial": false, "insert": false}}]}]),
        ),
        (
            true,
            "monitor",
            json!([DB, "noins1", {"Address_Set": {"columns": ["name", "addresses"], "select": {"insert": false}}}]),
        ),
        (
            false,
            "transact",
            txn(
                json!([{"op": "insert", "table": "Address_Set", "uuid-name": "as1", "row": {"name": "as1", "addresses": "x"}}]),
            ),
        ),
        (
            false,
            "transact",
            txn(
                json!([{"op": "update", "table": "Address_Set", "where": [], "row": {"name": "as1b", "addresses": ["set", ["x", "y"]]}}]),
            ),
        ),
        (false, "transact", txn(json!([{"op": "delete", "table": "Address_Set", "where": []}]))),
        // The end state, as initial contents of every format.
        (
            false,
            "monitor",
            json!([DB, "end1", {"Logical_Switch": {}, "Logical_Switch_Port": {}, "Port_Group": {}, "ACL": {}}]),
        ),
        (
            false,
            "monitor_cond",
            json!([DB, "end2", {"Logical_Switch": [{}], "Logical_Switch_Port": [{}], "Port_Group": [{}]}]),
        ),
    ]
}

#[test]
fn monitors_see_what_they_see_on_the_real_server() {
    if !upstreams(&["ovsdb-server"]) {
        return;
    }
    let (mut ours, mut real) = std::thread::scope(|sc| {
        let real = sc.spawn(|| Side::start("ovsdb-server"));
        (Side::start(ROVN), real.join().expect("start ovsdb-server"))
    });
    let mut notifications = 0;
    for (i, (on_b, method, params)) in script().into_iter().enumerate() {
        let got = ours.step(on_b, method, &params);
        let want = real.step(on_b, method, &params);
        assert!(
            got == want,
            "step {i} ({method} {params}): rovn and ovsdb-server differ:\n{}\nrovn:     {got}\nupstream: {want}",
            json_diff(&got, &want, "").join("\n")
        );
        notifications += got["before"].as_array().unwrap().len() + got["other"].as_array().unwrap().len();
    }
    assert!(notifications > 20, "the script should notify a lot: {notifications}");
}

/// Where two JSON values differ, one line per path.
fn json_diff(a: &Value, b: &Value, path: &str) -> Vec<String> {
    match (a, b) {
        _ if a == b => vec![],
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter()
                .flat_map(|k| {
                    json_diff(
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                        &format!("{path}/{k}"),
                    )
                })
                .collect()
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().flat_map(|(i, (p, q))| json_diff(p, q, &format!("{path}[{i}]"))).collect()
        }
        _ => vec![format!("  at {path}: rovn {a} / upstream {b}")],
    }
}

/// A client's replica in update2 form: `{table: {uuid: {column: datum}}}`,
/// columns at their default value left out, datums canonical.
type Replica = BTreeMap<String, BTreeMap<String, BTreeMap<String, Value>>>;

/// Whether a column of the NB schema holds a map, a set (max > 1) or at
/// most one value.
fn column_kind(schema: &Value, table: &str, column: &str) -> &'static str {
    let t = &schema["tables"][table]["columns"][column]["type"];
    if t.get("value").is_some() {
        "map"
    } else if t.get("max").is_some_and(|m| m == "unlimited" || m.as_u64().is_some_and(|n| n > 1)) {
        "set"
    } else {
        "scalar"
    }
}

/// Applies a `<table-updates2>` to a replica.
fn apply(replica: &mut Replica, schema: &Value, updates: &Value) {
    for (t, rows) in updates.as_object().expect("table-updates2") {
        let table = replica.entry(t.clone()).or_default();
        for (u, change) in rows.as_object().expect("row-updates2") {
            let (kind, body) = change.as_object().and_then(|o| o.iter().next()).expect("row-update2");
            match kind.as_str() {
                "initial" | "insert" => {
                    let row = body.as_object().expect("row").iter().map(|(c, d)| (c.clone(), canonical_datum(d)));
                    table.insert(u.clone(), row.collect());
                }
                "delete" => assert!(table.remove(u).is_some(), "delete of unknown row {u}"),
                "modify" => {
                    let row = table.get_mut(u).unwrap_or_else(|| panic!("modify of unknown row {u}"));
                    for (c, d) in body.as_object().expect("diff") {
                        let diff = canonical_datum(d);
                        let old = row.remove(c);
                        let new = match column_kind(schema, t, c) {
                            "scalar" => diff,
                            "set" => {
                                // The symmetric difference.
                                let mut v = old.and_then(|o| o.as_array().cloned()).unwrap_or_default();
                                for x in diff.as_array().expect("set diff") {
                                    match v.iter().position(|y| y == x) {
                                        Some(i) => drop(v.remove(i)),
                                        None => v.push(x.clone()),
                                    }
                                }
                                canonical_datum(&json!(["set", v]))
                            }
                            _ => {
                                // Keys absent are added, present with the same value removed, else replaced.
                                let mut m: Vec<Value> =
                                    old.map(|o| o[1].as_array().cloned().unwrap_or_default()).unwrap_or_default();
                                for pair in diff[1].as_array().expect("map diff") {
                                    match m.iter().position(|q| q[0] == pair[0]) {
                                        Some(i) if m[i] == *pair => drop(m.remove(i)),
                                        Some(i) => m[i] = pair.clone(),
                                        None => m.push(pair.clone()),
                                    }
                                }
                                canonical_datum(&json!(["map", m]))
                            }
                        };
                        let empty = new == json!([]) || new == json!(["map", []]);
                        if !empty {
                            row.insert(c.clone(), new);
                        }
                    }
                }
                k => panic!("unexpected row update {k}"),
            }
        }
    }
    replica.retain(|_, rows| !rows.is_empty());
}

/// The transaction id of the latest update3 among `msgs`, if any.
fn last_txn(msgs: &[Message], monitor: &str) -> Option<String> {
    msgs.iter()
        .filter_map(|m| match m {
            Message::Notify { method, params } if method == "update3" && params[0] == monitor => {
                params[1].as_str().map(str::to_string)
            }
            _ => None,
        })
        .last()
}

const RESUME_REQ: &str = r#"{
    "Logical_Switch": [{"columns": ["name", "other_config", "ports"]}],
    "Logical_Switch_Port": [{"columns": ["name", "addresses"], "where": [["name", "!=", "hidden"]]}]
}"#;

/// What one server does for a client that resumes: (found, the client's
/// replica after resuming, what the server answered).
struct Resumed {
    found: bool,
    replica: Value,
    fresh: Value,
}

/// Runs the resumption scenario on one server.
fn resume_scenario(side: &mut Side, schema: &Value) -> Resumed {
    let req: Value = serde_json::from_str(RESUME_REQ).unwrap();
    let mcs = |id: &str, since: &str| json!([DB, id, req, since]);
    let mut r = Rpc::connect(&side.served.sock);
    let reply = r.ok("monitor_cond_since", mcs("r", ZERO));
    let mut replica = Replica::new();
    apply(&mut replica, schema, &reply[2]);
    let named = |n: &str| json!(["named-uuid", n]);
    let lsp = |n: &str| json!({"op": "insert", "table": "Logical_Switch_Port", "uuid-name": n, "row": {"name": n}});
    for ops in [
        json!([lsp("p1"), lsp("p2"), {"op": "insert", "table": "Logical_Switch", "uuid-name": "sw0",
              "row": {"name": "sw0", "ports": ["set", [named("p1"), named("p2")]]}}]),
        json!([{"op": "update", "table": "Logical_Switch_Port", "where": [["name", "==", "p1"]],
                "row": {"addresses": ["set", ["a", "b"]]}}]),
    ] {
        side.step(false, "transact", &txn(ops));
    }
    let seen = r.sync();
    for m in &seen {
        if let Message::Notify { method, params } = m {
            assert_eq!(method, "update3");
            apply(&mut replica, schema, &params[2]);
        }
    }
    let last = last_txn(&seen, "r").expect("update3 notifications");
    drop(r);
    // While the client is away: changes it must catch up with, and some it
    // must never hear of (a switch inserted and deleted again).
    for ops in [
        json!([{"op": "mutate", "table": "Logical_Switch", "where": [], "mutations": [["other_config", "insert", ["map", [["k", "1"]]]]]}]),
        json!([{"op": "mutate", "table": "Logical_Switch", "where": [], "mutations": [["other_config", "insert", ["map", [["j", "2"]]]]]},
               {"op": "update", "table": "Logical_Switch_Port", "where": [["name", "==", "p1"]], "row": {"addresses": ["set", ["b", "c"]]}}]),
        json!([{"op": "insert", "table": "Logical_Switch", "uuid-name": "sw1", "row": {"name": "sw1", "ports": named("p3")}}, lsp("p3")]),
        json!([{"op": "update", "table": "Logical_Switch_Port", "where": [["name", "==", "p2"]], "row": {"name": "hidden"}},
               {"op": "delete", "table": "Logical_Switch", "where": [["name", "==", "sw1"]]}]),
        json!([lsp("p4"), {"op": "mutate", "table": "Logical_Switch", "where": [],
               "mutations": [["ports", "insert", ["set", [named("p4")]]], ["ports", "delete", ["set", [["uuid", "<p1>"]]]]]}]),
    ] {
        side.step(false, "transact", &txn(ops));
    }
    // The id of the latest commit, as a new client learns it.
    let current = Rpc::connect(&side.served.sock).ok("monitor_cond_since", mcs("q", ZERO))[1].clone();
    let mut r = Rpc::connect(&side.served.sock);
    let reply = r.ok("monitor_cond_since", mcs("r", &last));
    let found = reply[0].as_bool().expect("found");
    if found {
        apply(&mut replica, schema, &reply[2]);
    } else {
        replica = Replica::new();
        apply(&mut replica, schema, &reply[2]);
    }
    let fresh = Rpc::connect(&side.served.sock).ok("monitor_cond", json!([DB, "x", req]));
    let mut fresh_replica = Replica::new();
    apply(&mut fresh_replica, schema, &fresh);
    assert_eq!(replica, fresh_replica, "{}: the resumed replica is not the current state", side.served.program);
    let by_uuid: BTreeMap<&str, &str> = side.names.iter().map(|(n, u)| (u.as_str(), n.as_str())).collect();
    if side.served.program == ROVN {
        // rovn's contract: found, exactly the missed changes, and the id of
        // the latest commit.
        assert!(found, "rovn still has {last} in its history");
        assert_eq!(reply[1], current);
        let diff = normalize(&reply[2], &by_uuid, None);
        let kinds: Vec<(String, String)> = diff
            .as_object()
            .unwrap()
            .values()
            .flat_map(|rows| {
                rows.as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_object().unwrap().keys().next().unwrap().clone()))
            })
            .collect();
        // p1 left sw0's ports and, unreferenced, was deleted; p2 was
        // renamed out of the condition; sw1 and p3 came and went.
        let want: Vec<(String, String)> = [("#sw0", "modify"), ("#p1", "delete"), ("#p2", "delete"), ("#p4", "insert")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let (mut k, mut w) = (kinds.clone(), want);
        k.sort();
        w.sort();
        assert_eq!(k, w, "rovn's catch-up: {diff}");
        // Resuming from the current id: nothing to send.
        let now = reply[1].as_str().unwrap().to_string();
        let again = Rpc::connect(&side.served.sock).ok("monitor_cond_since", mcs("r", &now));
        assert_eq!(again, json!([true, now, {}]));
    }
    let norm = |r: &Replica| normalize(&serde_json::to_value(r).unwrap(), &by_uuid, None);
    Resumed { found, replica: norm(&replica), fresh: norm(&fresh_replica) }
}

#[test]
fn monitor_cond_since_resumes_with_exactly_the_missed_changes() {
    if !upstreams(&["ovsdb-server"]) {
        return;
    }
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(shipped("ovn-nb.ovsschema")).unwrap()).unwrap();
    let (mut ours, mut real) = std::thread::scope(|sc| {
        let real = sc.spawn(|| Side::start("ovsdb-server"));
        (Side::start(ROVN), real.join().expect("start ovsdb-server"))
    });
    let a = resume_scenario(&mut ours, &schema);
    let b = resume_scenario(&mut real, &schema);
    // Both clients end up with the same replica; the real standalone
    // server keeps no transaction history, so it resends everything.
    assert_eq!(a.replica, b.replica);
    assert_eq!(a.fresh, b.fresh);
    assert!(a.found);
    assert!(!b.found, "ovsdb-server 3.1 standalone now resumes: record it");
}

#[test]
fn monitor_cond_since_without_history_sends_everything() {
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(shipped("ovn-nb.ovsschema")).unwrap()).unwrap();
    let mut side = Side::start(ROVN);
    let req: Value = serde_json::from_str(RESUME_REQ).unwrap();
    let first = side.a.ok("monitor_cond_since", json!([DB, "m", req, ZERO]));
    let first_id = first[1].as_str().unwrap().to_string();
    // More commits than rovn keeps for resumption.
    for i in 0..120 {
        side.a.transact(DB, json!([{"op": "insert", "table": "Logical_Switch", "row": {"name": format!("sw{i}")}}]));
    }
    let mut full = Replica::new();
    apply(&mut full, &schema, &Rpc::connect(&side.served.sock).ok("monitor_cond", json!([DB, "x", req])));
    assert_eq!(full["Logical_Switch"].len(), 120);
    for (since, why) in [
        (first_id.as_str(), "an id older than the history"),
        ("2b1f0bd6-27b3-4b1c-8c5e-3f2c5a9d7e01", "an unknown id"),
        (ZERO, "the zero id"),
    ] {
        let r = Rpc::connect(&side.served.sock).ok("monitor_cond_since", json!([DB, "m", req, since]));
        assert_eq!(r[0], json!(false), "{why}");
        let mut got = Replica::new();
        apply(&mut got, &schema, &r[2]);
        assert_eq!(got, full, "{why}: not the full contents");
    }
    // A restarted server has a new history: the last id it gave is unknown.
    let last = side.a.ok("monitor_cond_since", json!([DB, "n", req, ZERO]))[1].as_str().unwrap().to_string();
    drop(side.a);
    drop(side.b);
    side.served.stop();
    side.served.start_again();
    let r = Rpc::connect(&side.served.sock).ok("monitor_cond_since", json!([DB, "m", req, last]));
    assert_eq!(r[0], json!(false));
    let mut got = Replica::new();
    apply(&mut got, &schema, &r[2]);
    assert_eq!(got, full);
}
