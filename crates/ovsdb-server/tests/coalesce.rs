//! A client that is behind: the core holds back its monitors' updates as
//! each row's net change and sends one merged update once it has caught up,
//! while the other clients go on getting (and sharing) every update.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use ovsdb::jsonrpc::Message;
use ovsdb::schema::ColumnType;
use ovsdb::{Database, DatabaseSchema, Datum};
use ovsdb_server::{Action, Core};
use serde_json::{json, Value};

const NB: &str = "OVN_Northbound";

fn core() -> Core {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/ovn-nb.ovsschema");
    Core::in_memory(vec![Database::new(Arc::new(DatabaseSchema::from_file(&p).unwrap()))])
}

fn request(core: &mut Core, s: u64, method: &str, params: Value) -> Vec<(u64, Arc<Vec<u8>>)> {
    let params = params.as_array().unwrap().clone();
    core.handle_message(s, Message::Request { method: method.into(), params, id: json!(method) }, Instant::now());
    sent(core)
}

fn sent(core: &mut Core) -> Vec<(u64, Arc<Vec<u8>>)> {
    let mut out = Vec::new();
    while let Some(a) = core.poll_action() {
        if let Action::Send(to, bytes) = a {
            out.push((to, bytes));
        }
    }
    out
}

fn parse(b: &[u8]) -> Value {
    serde_json::from_slice(b).unwrap()
}

/// A client's copy of Address_Set, built from what the server sent it:
/// uuid -> column -> datum.
#[derive(Default, Debug, PartialEq)]
struct Copy(BTreeMap<String, BTreeMap<String, Datum>>);

impl Copy {
    /// Applies `<table-updates>` (v1) or `<table-updates2>`.
    fn apply(&mut self, schema: &DatabaseSchema, updates: &Value, v1: bool) {
        let (_, ts) = schema.table("Address_Set").unwrap();
        let Some(rows) = updates.get("Address_Set").and_then(Value::as_object) else { return };
        for (u, ru) in rows {
            let (kind, body) = ru
                .as_object()
                .unwrap()
                .iter()
                .find(|(k, _)| !v1 || *k == "new")
                .map_or(("delete", &Value::Null), |(k, v)| (k.as_str(), v));
            let row = self.0.entry(u.clone()).or_default();
            match kind {
                "delete" => {
                    self.0.remove(u);
                    continue;
                }
                "modify" => {
                    for (c, v) in body.as_object().unwrap() {
                        let t = &ts.columns[ts.column(c).unwrap()].type_;
                        if t.max > 1 {
                            let dt = ColumnType { min: 0, max: u32::MAX, ..t.clone() };
                            let diff = Datum::from_json(&dt, v, None).unwrap();
                            let old = row.get(c).cloned().unwrap_or_else(|| Datum::default_for(t));
                            row.insert(c.clone(), old.apply_diff(&diff));
                        } else {
                            row.insert(c.clone(), Datum::from_json(t, v, None).unwrap());
                        }
                    }
                }
                _ => {
                    // initial, insert, new: the whole row (update2 leaves
                    // out columns at their default).
                    row.clear();
                    for c in ["name", "addresses", "external_ids"] {
                        let t = &ts.columns[ts.column(c).unwrap()].type_;
                        let d = body
                            .get(c)
                            .map_or_else(|| Datum::default_for(t), |v| Datum::from_json(t, v, None).unwrap());
                        row.insert(c.to_string(), d);
                    }
                }
            }
        }
    }

    fn of(core: &Core) -> Copy {
        let db = core.database(NB).unwrap();
        let (ts, table) = db.table_by_name("Address_Set").unwrap();
        let mut c = Copy::default();
        for r in table.rows.values() {
            let cols =
                ["name", "addresses", "external_ids"].map(|n| (n.to_string(), r.values[ts.column(n).unwrap()].clone()));
            c.0.insert(r.uuid().to_string(), cols.into_iter().collect());
        }
        c
    }
}

/// Transactions on a bounded set of rows: sets created, changed many times
/// (names, set and map columns), and deleted.
fn churn(core: &mut Core, writer: u64, rounds: usize) -> Vec<(u64, Arc<Vec<u8>>)> {
    let mut out = Vec::new();
    for i in 0..rounds {
        let name = format!("as{}", i % 7);
        let ops = match i % 5 {
            0 => json!([{"op": "insert", "table": "Address_Set", "row": {"name": format!("tmp{i}")}},
                        {"op": "delete", "table": "Address_Set", "where": [["name", "==", format!("tmp{}", i.wrapping_sub(5))]]}]),
            1 => json!([{"op": "mutate", "table": "Address_Set", "where": [["name", "==", name]],
                         "mutations": [["addresses", "insert", ["set", [format!("10.0.0.{}", i % 13), "10.1.1.1"]]]]}]),
            2 => json!([{"op": "mutate", "table": "Address_Set", "where": [["name", "==", name]],
                         "mutations": [["addresses", "delete", ["set", [format!("10.0.0.{}", (i + 6) % 13), "10.1.1.1"]]],
                                       ["external_ids", "insert", ["map", [[format!("k{}", i % 3), format!("v{i}")]]]]]}]),
            3 => json!([{"op": "mutate", "table": "Address_Set", "where": [["name", "==", name]],
                         "mutations": [["external_ids", "delete", ["set", [format!("k{}", i % 2)]]]]}]),
            _ => json!([{"op": "update", "table": "Address_Set", "where": [["name", "==", name]],
                         "row": {"addresses": ["set", [format!("10.2.0.{}", i % 4)]]}}]),
        };
        let mut params = vec![json!(NB)];
        params.extend(ops.as_array().unwrap().iter().cloned());
        let got = request(core, writer, "transact", Value::Array(params));
        for (s, b) in &got {
            if *s == writer {
                let r = parse(b);
                assert!(r["result"].as_array().unwrap().iter().all(|x| x.get("error").is_none()), "{r}");
            }
        }
        out.extend(got.into_iter().filter(|(s, _)| *s != writer));
    }
    out
}

fn seed(core: &mut Core, writer: u64) {
    let ops: Vec<Value> = (0..7)
        .map(|i| json!({"op": "insert", "table": "Address_Set", "row": {"name": format!("as{i}"), "addresses": "10.9.9.9"}}))
        .collect();
    let mut params = vec![json!(NB)];
    params.extend(ops);
    request(core, writer, "transact", Value::Array(params));
}

#[test]
fn a_client_behind_gets_one_merged_update_and_ends_with_the_database() {
    for method in ["monitor", "monitor_cond", "monitor_cond_since"] {
        let mut core = core();
        let schema = core.database(NB).unwrap().schema().clone();
        core.handle_connect(100);
        seed(&mut core, 100);
        let req = json!({"Address_Set": [{"columns": ["name", "addresses", "external_ids"]}]});
        let mut copies = HashMap::new();
        // 1 and 2 keep up, 3 is behind.
        for s in 1..=3u64 {
            core.handle_connect(s);
            let mut params = vec![json!(NB), json!("m"), req.clone()];
            if method == "monitor_cond_since" {
                params.push(json!("00000000-0000-0000-0000-000000000000"));
            }
            let r = request(&mut core, s, method, Value::Array(params));
            let mut result = parse(&r[0].1)["result"].clone();
            if method == "monitor_cond_since" {
                result = result[2].take();
            }
            let mut c = Copy::default();
            c.apply(&schema, &result, method == "monitor");
            copies.insert(s, c);
        }
        assert_eq!(copies[&3], Copy::of(&core), "{method}: initial contents");
        core.handle_behind(3);
        let notes = churn(&mut core, 100, 1000);
        let n_notes = |s: u64| notes.iter().filter(|(x, _)| *x == s).count();
        assert_eq!(n_notes(3), 0, "{method}: an update was sent to the client that is behind");
        // (Not all 1000 transactions change something: some mutations are
        // no-ops.)
        assert!(n_notes(1) > 500 && n_notes(1) == n_notes(2), "{method}: the reading clients get their updates");
        // Fan-out unchanged: clients keeping up share the very same bytes.
        let (ones, twos): (Vec<_>, Vec<_>) =
            (notes.iter().filter(|(s, _)| *s == 1).collect(), notes.iter().filter(|(s, _)| *s == 2).collect());
        assert!(
            ones.iter().zip(&twos).all(|(a, b)| Arc::ptr_eq(&a.1, &b.1)),
            "{method}: notification bytes not shared"
        );
        // What is held is bounded by the rows, not by the 1000 transactions.
        let rows = Copy::of(&core).0.len();
        assert!(core.held_rows(3) <= rows + 7, "{method}: {} rows held for {rows} in the table", core.held_rows(3));
        assert!(core.held_rows(3) > 0);
        for (s, b) in &notes {
            let m = parse(b);
            copies.get_mut(s).unwrap().apply(
                &schema,
                &m["params"][if method == "monitor_cond_since" { 2 } else { 1 }],
                method == "monitor",
            );
        }
        assert_eq!(copies[&1], Copy::of(&core), "{method}: a reading client's copy");

        core.handle_caught_up(3);
        let merged = sent(&mut core);
        assert_eq!(merged.len(), 1, "{method}: one merged update");
        assert_eq!(core.held_rows(3), 0);
        let m = parse(&merged[0].1);
        let want = match method {
            "monitor" => "update",
            "monitor_cond" => "update2",
            _ => "update3",
        };
        assert_eq!(m["method"], want);
        let body = &m["params"][if method == "monitor_cond_since" { 2 } else { 1 }];
        copies.get_mut(&3).unwrap().apply(&schema, body, method == "monitor");
        assert_eq!(copies[&3], Copy::of(&core), "{method}: the merged update brings the client up to date");
        if method == "monitor_cond_since" {
            // It names the last transaction: resuming from it finds nothing
            // to send.
            core.handle_connect(4);
            let r = request(&mut core, 4, method, json!([NB, "m", req, m["params"][1]]));
            assert_eq!(parse(&r[0].1)["result"], json!([true, m["params"][1], {}]));
        }
        // Caught up: updates flow again.
        assert!(churn(&mut core, 100, 5).iter().any(|(s, _)| *s == 3), "{method}: no update after catching up");
        assert!(sent(&mut core).is_empty());
    }
}

#[test]
fn condition_changes_and_cancels_while_behind() {
    let mut core = core();
    core.handle_connect(100);
    seed(&mut core, 100);
    core.handle_connect(1);
    let only = |n: &str| json!({"Address_Set": [{"columns": ["name", "addresses"], "where": [["name", "==", n]]}]});
    request(&mut core, 1, "monitor_cond", json!([NB, "a", only("as1")]));
    request(&mut core, 1, "monitor_cond", json!([NB, "b", only("as2")]));
    core.handle_behind(1);
    request(
        &mut core,
        100,
        "transact",
        json!([NB, {"op": "update", "table": "Address_Set", "where": [], "row": {"addresses": "10.3.3.3"}}]),
    );
    assert_eq!(core.held_rows(1), 2, "each monitor holds its own row");
    // A condition change first sends what is held, then the change.
    let r = request(
        &mut core,
        1,
        "monitor_cond_change",
        json!(["a", "a", {"Address_Set": [{"where": [["name", "==", "as3"]]}]}]),
    );
    let msgs: Vec<Value> = r.iter().map(|(_, b)| parse(b)).collect();
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert_eq!(msgs[0]["method"], "update2");
    let first = msgs[0]["params"][1]["Address_Set"].as_object().unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first.values().next().unwrap()["modify"]["addresses"], json!(["set", ["10.3.3.3", "10.9.9.9"]]));
    let second = msgs[1]["params"][1]["Address_Set"].as_object().unwrap();
    let kinds: Vec<&str> = second.values().map(|v| v.as_object().unwrap().keys().next().unwrap().as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "insert").count(), 1);
    assert_eq!(kinds.iter().filter(|k| **k == "delete").count(), 1);
    assert_eq!(msgs[2]["result"], json!({}));
    // A cancelled monitor's held changes are dropped.
    request(&mut core, 1, "monitor_cancel", json!(["b"]));
    assert_eq!(core.held_rows(1), 0);
    core.handle_caught_up(1);
    assert!(sent(&mut core).is_empty());
}

/// A monitor without `insert` in its `select` (ovn-controller-like clients
/// that only follow changes): ovsdb-server 3.1 sends nothing for an insert
/// and then a "modify" per change of the row it never announced. A client
/// that was behind gets those modifies as one, from the row as inserted;
/// and so does one that resumes with monitor_cond_since from before the
/// insert.
#[test]
fn a_monitor_without_insert_gets_the_modifies_of_a_row_inserted_while_behind() {
    let sel = json!({"initial": false, "insert": false, "modify": true, "delete": true});
    let req = json!({"Address_Set": [{"columns": ["name", "addresses", "external_ids"], "select": sel}]});
    let mut core = core();
    core.handle_connect(100);
    core.handle_connect(1);
    core.handle_connect(2);
    let since =
        request(&mut core, 1, "monitor_cond_since", json!([NB, "m", req, "00000000-0000-0000-0000-000000000000"]));
    let since = parse(&since[0].1)["result"][1].clone();
    for (s, method) in
        [(1, "monitor"), (1, "monitor_cond"), (2, "monitor"), (2, "monitor_cond"), (2, "monitor_cond_since")]
    {
        let mut params = vec![json!(NB), json!(method), req.clone()];
        if method == "monitor_cond_since" {
            params.push(since.clone());
        }
        request(&mut core, s, method, Value::Array(params));
    }
    core.handle_behind(2);
    let tx = |core: &mut Core, op: Value| request(core, 100, "transact", json!([NB, op]));
    let inserted =
        tx(&mut core, json!({"op": "insert", "table": "Address_Set", "row": {"name": "x", "addresses": "1.1.1.1"}}));
    let u = inserted.iter().find(|(s, _)| *s == 100).map(|(_, b)| parse(b)["result"][0]["uuid"][1].clone()).unwrap();
    let u = u.as_str().unwrap();
    assert!(inserted.iter().all(|(s, _)| *s == 100), "an insert is not sent: {inserted:?}");
    let mut keeping_up = Vec::new();
    for row in [
        json!({"addresses": ["set", ["1.1.1.1", "2.2.2.2"]], "external_ids": ["map", [["k", "v"]]]}),
        json!({"name": "y", "addresses": "2.2.2.2"}),
    ] {
        let got = tx(&mut core, json!({"op": "update", "table": "Address_Set", "where": [], "row": row}));
        keeping_up.extend(got.into_iter().filter(|(s, _)| *s == 1).map(|(_, b)| parse(&b)));
    }
    // The reading client: an update3, update and update2 per modify, as
    // ovsdb-server 3.1 sends them.
    assert_eq!(keeping_up.len(), 6, "{keeping_up:?}");
    assert_eq!(
        keeping_up[2]["params"][1]["Address_Set"][u],
        json!({"modify": {"addresses": "2.2.2.2", "external_ids": ["map", [["k", "v"]]]}})
    );
    assert_eq!(keeping_up[5]["params"][1]["Address_Set"][u], json!({"modify": {"addresses": "1.1.1.1", "name": "y"}}));
    // The client that was behind: each monitor one modify, from the row as
    // inserted to the row now.
    core.handle_caught_up(2);
    let merged: Vec<Value> = sent(&mut core).iter().map(|(_, b)| parse(b)).collect();
    assert_eq!(merged.len(), 3, "{merged:?}");
    let diff = json!({"Address_Set": {u: {"modify": {"name": "y", "addresses": ["set", ["1.1.1.1", "2.2.2.2"]], "external_ids": ["map", [["k", "v"]]]}}}});
    let v1 = json!({"Address_Set": {u: {
        "old": {"name": "x", "addresses": "1.1.1.1", "external_ids": ["map", []]},
        "new": {"name": "y", "addresses": "2.2.2.2", "external_ids": ["map", [["k", "v"]]]}}}});
    for m in &merged {
        match m["method"].as_str().unwrap() {
            "update" => assert_eq!(m["params"][1], v1),
            "update2" => assert_eq!(m["params"][1], diff),
            _ => assert_eq!(m["params"][2], diff),
        }
    }
    // Resuming from before the insert: the same modify.
    core.handle_connect(3);
    let r = request(&mut core, 3, "monitor_cond_since", json!([NB, "r", req, since]));
    let r = parse(&r[0].1)["result"].clone();
    assert_eq!(r[0], json!(true));
    assert_eq!(r[2], diff);
}

/// An update3 client whose held changes cancel out (rows inserted and
/// deleted while it was behind) is still told the last transaction id, in
/// an update3 with no table updates: had it read along, it would know that
/// id. Resuming from it then finds it, with nothing to send; resuming from
/// the id it knew before (what it would have kept without that update3) is
/// past the history after this burst, and costs a full resend.
#[test]
fn an_update3_client_whose_held_changes_cancel_out_learns_the_last_transaction() {
    let req = json!({"Address_Set": [{"columns": ["name", "addresses"]}]});
    let zero = "00000000-0000-0000-0000-000000000000";
    let mut core = core();
    core.handle_connect(100);
    core.handle_connect(1);
    request(&mut core, 1, "monitor_cond_since", json!([NB, "m", req, zero]));
    // Also a v1 and a v2 monitor: they are told nothing.
    request(&mut core, 1, "monitor", json!([NB, "v1", req]));
    request(&mut core, 1, "monitor_cond", json!([NB, "v2", req]));
    let tx = |core: &mut Core, op: Value| request(core, 100, "transact", json!([NB, op]));
    let seen = tx(&mut core, json!({"op": "insert", "table": "Address_Set", "row": {"name": "keep"}}));
    let known = seen
        .iter()
        .map(|(_, b)| parse(b))
        .find(|m| m["method"] == "update3")
        .map(|m| m["params"][1].clone())
        .expect("an update3 for the insert");
    core.handle_behind(1);
    for i in 0..150 {
        let name = format!("tmp{i}");
        tx(&mut core, json!({"op": "insert", "table": "Address_Set", "row": {"name": name}}));
        tx(&mut core, json!({"op": "delete", "table": "Address_Set", "where": [["name", "==", name]]}));
    }
    assert_eq!(core.held_rows(1), 0);
    core.handle_connect(2);
    let newest = request(&mut core, 2, "monitor_cond_since", json!([NB, "n", req, zero]));
    let newest = parse(&newest[0].1)["result"][1].clone();
    core.handle_caught_up(1);
    let got: Vec<Value> = sent(&mut core).iter().map(|(_, b)| parse(b)).collect();
    assert_eq!(got, vec![json!({"id": null, "method": "update3", "params": ["m", newest, {}]})]);
    // Resuming from the id it was told: found, nothing missing.
    core.handle_connect(3);
    let r = request(&mut core, 3, "monitor_cond_since", json!([NB, "m", req, newest]));
    assert_eq!(parse(&r[0].1)["result"], json!([true, newest, {}]));
    // From the id it knew before the burst: 300 transactions back.
    core.handle_connect(4);
    let r = request(&mut core, 4, "monitor_cond_since", json!([NB, "m", req, known]));
    let r = parse(&r[0].1)["result"].clone();
    assert_eq!(r[0], json!(false));
    assert_eq!(r[2]["Address_Set"].as_object().map(|o| o.len()), Some(1), "{r}");
}

/// Clients that fell behind together and watch alike (200 stopped
/// ovn-controllers, say) hold the same changes: each gets its merged update
/// once it has caught up, but it is serialized once and the same bytes are
/// shared, as for clients that keep up. A client that was held back over a
/// later commit gets its own.
#[test]
fn clients_catching_up_alike_share_one_merged_update() {
    let mut core = core();
    let schema = core.database(NB).unwrap().schema().clone();
    core.handle_connect(1000);
    seed(&mut core, 1000);
    let req = json!({"Address_Set": [{"columns": ["name", "addresses", "external_ids"]}]});
    let mut copies = HashMap::new();
    // 1-200 and 300 monitor as "m"; 201 and 202 alike but as "n".
    let clients: Vec<u64> = (1..=202).chain([300]).collect();
    for &s in &clients {
        core.handle_connect(s);
        let id = if s == 201 || s == 202 { "n" } else { "m" };
        let r = request(&mut core, s, "monitor_cond", json!([NB, id, req]));
        let mut c = Copy::default();
        c.apply(&schema, &parse(&r[0].1)["result"], false);
        copies.insert(s, c);
        core.handle_behind(s);
    }
    assert!(churn(&mut core, 1000, 200).is_empty(), "nothing is sent to clients that are behind");
    let mut got: HashMap<u64, Arc<Vec<u8>>> = HashMap::new();
    for s in 1..=202 {
        core.handle_caught_up(s);
        let sent = sent(&mut core);
        assert_eq!(sent.len(), 1, "one merged update for {s}");
        got.insert(s, sent[0].1.clone());
    }
    for s in 2..=200 {
        assert!(Arc::ptr_eq(&got[&1], &got[&s]), "client {s} has its own copy of the merged update");
    }
    assert!(Arc::ptr_eq(&got[&201], &got[&202]));
    let (m, n) = (parse(&got[&1]), parse(&got[&201]));
    assert_eq!((&m["params"][0], &n["params"][0]), (&json!("m"), &json!("n")));
    assert_eq!(m["params"][1], n["params"][1], "the same changes under another monitor id");
    let c = copies.get_mut(&1).unwrap();
    c.apply(&schema, &m["params"][1], false);
    assert_eq!(*c, Copy::of(&core), "the shared update brings the clients up to date");

    // 300 is still behind over one more commit: not the same changes.
    churn(&mut core, 1000, 3);
    core.handle_caught_up(300);
    let last = sent(&mut core);
    assert_eq!(last.len(), 1);
    assert!(!Arc::ptr_eq(&last[0].1, &got[&1]));
    let c = copies.get_mut(&300).unwrap();
    c.apply(&schema, &parse(&last[0].1)["params"][1], false);
    assert_eq!(*c, Copy::of(&core), "a client held back longer gets all it missed");
}
