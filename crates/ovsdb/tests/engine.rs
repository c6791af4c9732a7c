//! The transaction engine on its own: result shapes, commit checks, change
//! sets and versions, blocking waits and locks.

use std::path::Path;
use std::sync::Arc;

use ovsdb::json::JsonNode;
use ovsdb::{Database, DatabaseSchema, Outcome, TxnContext, Uuid};
use serde_json::{json, Value};

fn db() -> Database {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/everything.ovsschema");
    Database::new(Arc::new(DatabaseSchema::from_file(&p).unwrap()))
}

fn ops(v: Value) -> Vec<Value> {
    v.as_array().unwrap().clone()
}

fn uuid(r: &Value) -> String {
    r["uuid"][1].as_str().unwrap().to_string()
}

fn error_tags(results: &[Value]) -> Vec<Option<String>> {
    results.iter().map(|r| r.get("error").and_then(Value::as_str).map(str::to_string)).collect()
}

#[test]
fn failed_operation_pads_with_nulls_and_changes_nothing() {
    let mut d = db();
    let (r, cs) = d.transact(&ops(json!([
        {"op": "insert", "table": "Weak", "row": {"k": 1}},
        {"op": "insert", "table": "Nope", "row": {}},
        {"op": "insert", "table": "Weak", "row": {"k": 2}}
    ])));
    assert_eq!(r.len(), 3);
    assert!(r[0].get("uuid").is_some());
    assert_eq!(r[1]["error"], "syntax error");
    assert_eq!(r[2], Value::Null);
    assert!(cs.is_none());
    assert_eq!(d.n_rows(), 0);
}

#[test]
fn commit_failure_adds_one_result() {
    let mut d = db();
    let (r, cs) = d.transact(&ops(json!([
        {"op": "insert", "table": "Small", "row": {"v": 1}},
        {"op": "insert", "table": "Small", "row": {"v": 2}},
        {"op": "insert", "table": "Small", "row": {"v": 3}}
    ])));
    assert_eq!(r.len(), 4);
    assert_eq!(error_tags(&r), vec![None, None, None, Some("constraint violation".into())]);
    assert!(cs.is_none());
    assert_eq!(d.n_rows(), 0);
}

#[test]
fn garbage_collection_and_strong_references() {
    let mut d = db();
    // A child nobody references is collected at once.
    let (r, _) = d.transact(&ops(json!([{"op": "insert", "table": "Child", "row": {"n": 1}}])));
    assert!(r[0].get("uuid").is_some());
    assert_eq!(d.table_by_name("Child").unwrap().1.len(), 0);
    // Referenced children stay; a chain of children is kept alive by its head.
    let (r, cs) = d.transact(&ops(json!([
        {"op": "insert", "table": "Child", "row": {"n": 1, "sib": ["named-uuid", "c2"]}, "uuid-name": "c1"},
        {"op": "insert", "table": "Child", "row": {"n": 2}, "uuid-name": "c2"},
        {"op": "insert", "table": "Root", "row": {"name": "r", "kids": ["named-uuid", "c1"]}}
    ])));
    assert!(cs.is_some(), "{r:?}");
    assert_eq!(d.table_by_name("Child").unwrap().1.len(), 2);
    let c1 = uuid(&r[0]);
    // Deleting a referenced row is refused.
    let (r, _) = d.transact(&ops(json!([{"op": "delete", "table": "Child", "where": [["_uuid", "==", ["uuid", c1]]]}])));
    assert_eq!(error_tags(&r), vec![None, Some("referential integrity violation".into())]);
    // Dropping the reference collects the whole chain, in one change set.
    let (r, cs) = d.transact(&ops(json!([{"op": "update", "table": "Root", "where": [], "row": {"kids": ["set", []]}}])));
    assert_eq!(r[0]["count"], 1);
    let cs = cs.unwrap();
    assert_eq!(cs.n_rows(), 3);
    assert_eq!(d.table_by_name("Child").unwrap().1.len(), 0);
    // A reference to a row that does not exist is refused.
    let (r, _) = d.transact(&ops(json!([
        {"op": "insert", "table": "Root", "row": {"name": "x", "kids": ["uuid", Uuid::random().to_string()]}}
    ])));
    assert_eq!(r[1]["error"], "referential integrity violation");
}

#[test]
fn growing_a_large_set_of_strong_references_checks_what_it_adds_and_what_it_deletes() {
    let mut d = db();
    let mut txn = vec![];
    for i in 0..50 {
        txn.push(json!({"op": "insert", "table": "Child", "row": {"n": i}, "uuid-name": format!("c{i}")}));
    }
    let kids: Vec<Value> = (0..50).map(|i| json!(["named-uuid", format!("c{i}")])).collect();
    txn.push(json!({"op": "insert", "table": "Root", "row": {"name": "r", "kids": ["set", kids]}}));
    let (r, cs) = d.transact(&txn);
    assert!(cs.is_some(), "{r:?}");
    let c0 = uuid(&r[0]);
    let missing = Uuid::random().to_string();
    // Adding one reference to a row that does not exist, among 50 good ones.
    let (r, cs) = d.transact(&ops(json!([
        {"op": "mutate", "table": "Root", "where": [], "mutations": [["kids", "insert", ["uuid", missing]]]}
    ])));
    assert!(cs.is_none());
    assert_eq!(r[1]["error"], "referential integrity violation");
    let details = r[1]["details"].as_str().unwrap();
    assert!(details.contains(&format!("references nonexistent row {missing} in table Child")), "{details}");
    // Adding a new child while deleting one the set still holds: the
    // deletion is what is refused.
    let (r, cs) = d.transact(&ops(json!([
        {"op": "insert", "table": "Child", "row": {"n": 99}, "uuid-name": "new"},
        {"op": "mutate", "table": "Root", "where": [], "mutations": [["kids", "insert", ["named-uuid", "new"]]]},
        {"op": "delete", "table": "Child", "where": [["_uuid", "==", ["uuid", c0.clone()]]]}
    ])));
    assert!(cs.is_none());
    assert_eq!(r[3]["error"], "referential integrity violation");
    let details = r[3]["details"].as_str().unwrap();
    assert!(details.contains(&format!("cannot delete Child row {c0} because of 1 remaining reference(s)")), "{details}");
    // Without the deletion it commits: 51 children.
    let (r, cs) = d.transact(&ops(json!([
        {"op": "insert", "table": "Child", "row": {"n": 99}, "uuid-name": "new"},
        {"op": "mutate", "table": "Root", "where": [], "mutations": [["kids", "insert", ["named-uuid", "new"]]]}
    ])));
    assert!(cs.is_some(), "{r:?}");
    assert_eq!(d.table_by_name("Child").unwrap().1.len(), 51);
}

#[test]
fn weak_references_to_deleted_rows_disappear() {
    let mut d = db();
    let (r, cs) = d.transact(&ops(json!([
        {"op": "insert", "table": "Weak", "row": {"k": 1}, "uuid-name": "w1"},
        {"op": "insert", "table": "Weak", "row": {"k": 2}, "uuid-name": "w2"},
        {"op": "insert", "table": "Root", "row": {"name": "r",
            "weak": ["set", [["named-uuid", "w1"], ["named-uuid", "w2"]]],
            "wmap": ["map", [["a", ["named-uuid", "w1"]], ["b", ["named-uuid", "w2"]]]]}}
    ])));
    assert!(cs.is_some(), "{r:?}");
    let (w1, w2) = (uuid(&r[0]), uuid(&r[1]));
    let (r, cs) = d.transact(&ops(json!([{"op": "delete", "table": "Weak", "where": [["k", "==", 1]]}])));
    assert_eq!(r[0]["count"], 1);
    // The referring row is part of the change set.
    assert_eq!(cs.unwrap().n_rows(), 2);
    let (r, _) = d.transact(&ops(json!([{"op": "select", "table": "Root", "where": [], "columns": ["weak", "wmap"]}])));
    assert_eq!(r[0]["rows"][0]["weak"], json!(["uuid", w2]));
    assert_eq!(r[0]["rows"][0]["wmap"], json!(["map", [["b", ["uuid", w2]]]]));
    let _ = w1;
    // A weak reference to a row that never existed is dropped on insert.
    let (r, cs) = d.transact(&ops(json!([
        {"op": "insert", "table": "Root", "row": {"name": "s", "weak": ["uuid", Uuid::random().to_string()]}}
    ])));
    assert!(cs.is_some(), "{r:?}");
    let (r, _) = d.transact(&ops(json!([{"op": "select", "table": "Root", "where": [["name", "==", "s"]], "columns": ["weak"]}])));
    assert_eq!(r[0]["rows"][0]["weak"], json!(["set", []]));
}

#[test]
fn unique_indexes() {
    let mut d = db();
    let (_, cs) = d.transact(&ops(json!([{"op": "insert", "table": "Root", "row": {"name": "a"}}])));
    assert!(cs.is_some());
    let (r, _) = d.transact(&ops(json!([{"op": "insert", "table": "Root", "row": {"name": "a"}}])));
    assert_eq!(r[1]["error"], "constraint violation");
    // Swapping two names in one transaction is fine.
    let (_, cs) = d.transact(&ops(json!([{"op": "insert", "table": "Root", "row": {"name": "b"}}])));
    assert!(cs.is_some());
    let (r, cs) = d.transact(&ops(json!([
        {"op": "update", "table": "Root", "where": [["name", "==", "a"]], "row": {"name": "tmp"}},
        {"op": "update", "table": "Root", "where": [["name", "==", "b"]], "row": {"name": "a"}},
        {"op": "update", "table": "Root", "where": [["name", "==", "tmp"]], "row": {"name": "b"}}
    ])));
    assert!(cs.is_some(), "{r:?}");
    // Deleting a row frees its key for an insert in the same transaction.
    let (r, cs) = d.transact(&ops(json!([
        {"op": "delete", "table": "Root", "where": [["name", "==", "a"]]},
        {"op": "insert", "table": "Root", "row": {"name": "a"}}
    ])));
    assert!(cs.is_some(), "{r:?}");
}

#[test]
fn change_sets_and_versions() {
    let mut d = db();
    let (r, cs) = d.transact(&ops(json!([{"op": "insert", "table": "Weak", "row": {"k": 1}}])));
    let u = uuid(&r[0]);
    let cs = cs.unwrap();
    let ch = &cs.tables[0].1[0];
    assert!(ch.old.is_none());
    let v1 = ch.new.as_ref().unwrap().version();
    // An update that changes nothing is no change at all: no change set, same version.
    let (r, cs) = d.transact(&ops(json!([{"op": "update", "table": "Weak", "where": [], "row": {"k": 1}}])));
    assert_eq!(r[0]["count"], 1);
    assert!(cs.is_none());
    // A real change bumps _version and records old and new.
    let (_, cs) = d.transact(&ops(json!([
        {"op": "update", "table": "Weak", "where": [], "row": {"k": 2}},
        {"op": "comment", "comment": "hello"},
        {"op": "comment", "comment": "world"}
    ])));
    let cs = cs.unwrap();
    assert_eq!(cs.comment.as_deref(), Some("hello\nworld"));
    let ch = &cs.tables[0].1[0];
    assert_eq!(ch.uuid.to_string(), u);
    assert_eq!(ch.old.as_ref().unwrap().version(), v1);
    let v2 = ch.new.as_ref().unwrap().version();
    assert_ne!(v1, v2);
    // Conditions on _uuid and _version.
    let (r, _) = d.transact(&ops(json!([
        {"op": "select", "table": "Weak", "where": [["_version", "==", ["uuid", v2.to_string()]]], "columns": ["k"]},
        {"op": "select", "table": "Weak", "where": [["_version", "==", ["uuid", v1.to_string()]]], "columns": ["k"]},
        {"op": "select", "table": "Weak", "where": [["_uuid", "!=", ["uuid", u]]], "columns": ["k"]}
    ])));
    assert_eq!(r[0]["rows"], json!([{"k": 2}]));
    assert_eq!(r[1]["rows"], json!([]));
    assert_eq!(r[2]["rows"], json!([]));
    // Insert then delete in one transaction: no trace.
    let (_, cs) = d.transact(&ops(json!([
        {"op": "insert", "table": "Weak", "row": {"k": 9}, "uuid-name": "x"},
        {"op": "delete", "table": "Weak", "where": [["_uuid", "==", ["named-uuid", "x"]]]}
    ])));
    assert!(cs.is_none());
}

#[test]
fn waits_block_until_expired_and_locks_are_asked() {
    let d = db();
    let wait = ops(json!([
        {"op": "wait", "table": "Weak", "where": [], "columns": ["k"], "until": "==", "rows": [{"k": 1}], "timeout": 500}
    ]));
    match d.execute(&wait, &TxnContext::default()) {
        Outcome::Blocked { timeout_ms } => assert_eq!(timeout_ms, Some(500)),
        Outcome::Complete(p) => panic!("wait did not block: {:?}", p.results),
    }
    let expired = TxnContext { waits_expired: true, ..Default::default() };
    match d.execute(&wait, &expired) {
        Outcome::Complete(p) => assert_eq!(p.results[0]["error"], "timed out"),
        Outcome::Blocked { .. } => panic!("expired wait blocked"),
    }
    let satisfied = ops(json!([{"op": "wait", "table": "Weak", "where": [], "columns": ["k"], "until": "==", "rows": []}]));
    match d.execute(&satisfied, &TxnContext::default()) {
        Outcome::Complete(p) => assert_eq!(p.results, vec![json!({})]),
        Outcome::Blocked { .. } => panic!("satisfied wait blocked"),
    }
    let assert_op = ops(json!([{"op": "assert", "lock": "mine"}, {"op": "commit", "durable": true}]));
    let holds = |l: &str| l == "mine";
    match d.execute(&assert_op, &TxnContext { has_lock: &holds, ..Default::default() }) {
        Outcome::Complete(p) => {
            assert_eq!(p.results, vec![json!({}), json!({})]);
            assert!(p.durable);
        }
        Outcome::Blocked { .. } => panic!(),
    }
    match d.execute(&assert_op, &TxnContext::default()) {
        Outcome::Complete(p) => assert_eq!(p.results[0]["error"], "not owner"),
        Outcome::Blocked { .. } => panic!(),
    }
}

#[test]
fn bad_requests_never_panic() {
    let mut d = db();
    let junk = [
        json!(1),
        json!([]),
        json!({}),
        json!({"op": 5}),
        json!({"op": "insert"}),
        json!({"op": "insert", "table": 1}),
        json!({"op": "insert", "table": "Root", "row": []}),
        json!({"op": "select", "table": "Root", "where": {}}),
        json!({"op": "select", "table": "Root", "where": [[1, 2, 3]]}),
        json!({"op": "select", "table": "Root", "where": [["i", "<"]]}),
        json!({"op": "mutate", "table": "Root", "where": [], "mutations": [["i"]]}),
        json!({"op": "mutate", "table": "Root", "where": [], "mutations": [["smap", "insert", ["map", [["a"]]]]]}),
        json!({"op": "update", "table": "Root", "where": [], "row": {"u": ["uuid", "not-a-uuid"]}}),
        json!({"op": "wait", "table": "Root", "where": [], "columns": ["i"], "until": "<", "rows": [], "timeout": 0}),
        json!({"op": "wait", "table": "Root", "where": [], "columns": ["i"], "until": "==", "rows": [1], "timeout": 0}),
        json!({"op": "commit", "durable": "yes"}),
        json!({"op": "insert", "table": "Root", "row": {"i": 1e300}}),
        json!({"op": "insert", "table": "Root", "row": {"i": 18446744073709551615u64}}),
        json!({"op": "insert", "table": "Root", "uuid": "x"}),
    ];
    for j in junk {
        let (r, cs) = d.transact(std::slice::from_ref(&j));
        assert!(cs.is_none(), "{j}");
        assert!(r[0].get("error").is_some(), "{j} gave {r:?}");
    }
}

/// `v` with every UUID text replaced by `"<uuid>"` (new rows' UUIDs are
/// random), also inside error messages.
fn without_uuids(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(i) = rest.char_indices().map(|(i, _)| i).find(|&i| rest.get(i..i + 36).is_some_and(Uuid::is_uuid_text)) {
                out.push_str(&rest[..i]);
                out.push_str("<uuid>");
                rest = &rest[i + 36..];
            }
            out.push_str(rest);
            Value::String(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(without_uuids).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), without_uuids(v))).collect()),
        other => other.clone(),
    }
}

/// Random near-valid operations (valid ones with parts swapped for junk):
/// every one gets a result per operation and the database stays consistent;
/// read in place from their text, they give the same results.
#[test]
fn mutated_operations_never_panic() {
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
            &v[(self.next() % v.len() as u64) as usize]
        }
    }
    let junk = [
        json!(null), json!(true), json!(-1), json!(1.5), json!(""), json!("x"), json!([]), json!({}),
        json!(["set"]), json!(["set", [1, "a"]]), json!(["map", [[1]]]), json!(["uuid", "zz"]),
        json!(["named-uuid", "n0"]), json!(["named-uuid", 5]), json!(i64::MIN), json!(u64::MAX),
        json!(["set", [["named-uuid", "n1"], ["named-uuid", "n1"]]]), json!("\u{0}\u{ffff}"),
    ];
    let templates = [
        json!({"op": "insert", "table": "Root", "row": {"name": "a", "i": 1, "kids": ["named-uuid", "n0"]}, "uuid-name": "n1"}),
        json!({"op": "insert", "table": "Child", "row": {"n": 1, "w": ["named-uuid", "n1"]}, "uuid-name": "n0"}),
        json!({"op": "update", "table": "Root", "where": [["i", "<", 5]], "row": {"smap": ["map", [["k", "v"]]]}}),
        json!({"op": "mutate", "table": "Root", "where": [["e", "includes", "red"]], "mutations": [["iset", "insert", 3], ["i", "+=", 2]]}),
        json!({"op": "delete", "table": "Weak", "where": [["k", ">=", 0]]}),
        json!({"op": "select", "table": "Root", "where": [["_uuid", "!=", ["named-uuid", "n1"]]], "columns": ["name"]}),
        json!({"op": "wait", "table": "Root", "where": [], "columns": ["i"], "until": "!=", "rows": [{"i": 1}], "timeout": 0}),
    ];
    fn mutate(v: &mut Value, r: &mut Rng, junk: &[Value]) {
        match v {
            Value::Object(o) if !o.is_empty() => {
                let keys: Vec<String> = o.keys().cloned().collect();
                let k = r.pick(&keys).clone();
                if r.next() % 3 == 0 {
                    o.insert(k, r.pick(junk).clone());
                } else if let Some(x) = o.get_mut(&k) {
                    mutate(x, r, junk);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                let i = (r.next() % a.len() as u64) as usize;
                if r.next() % 3 == 0 {
                    a[i] = r.pick(junk).clone();
                } else {
                    mutate(&mut a[i], r, junk);
                }
            }
            _ => *v = r.pick(junk).clone(),
        }
    }
    let mut d = db();
    let mut r = Rng(0x5eed_1234_abcd_0001);
    for _ in 0..5000 {
        let n = 1 + r.next() % 4;
        let mut ops = Vec::new();
        for _ in 0..n {
            let mut op = r.pick(&templates).clone();
            for _ in 0..(r.next() % 3) {
                mutate(&mut op, &mut r, &junk);
            }
            ops.push(op);
        }
        // The same operations read in place from their text give the same
        // results (new rows' UUIDs aside) and change as many rows.
        let in_place = {
            let text = serde_json::to_vec(&ops).unwrap();
            let arena = ovsdb::json::Bump::new();
            let tree = ovsdb::json::parse(&arena, &text).expect("serde_json's own text");
            let ctx = TxnContext { waits_expired: true, ..Default::default() };
            match d.execute(tree.as_slice().unwrap(), &ctx) {
                Outcome::Complete(p) => (p.results, p.changes.map(|c| c.n_rows())),
                Outcome::Blocked { .. } => unreachable!("expired waits never block"),
            }
        };
        let (results, cs) = d.transact(&ops);
        assert_eq!(
            (in_place.0.iter().map(without_uuids).collect::<Vec<_>>(), in_place.1),
            (results.iter().map(without_uuids).collect::<Vec<_>>(), cs.map(|c| c.n_rows())),
            "{ops:?}"
        );
        assert!(results.len() == ops.len() || results.len() == ops.len() + 1, "{ops:?} -> {results:?}");
        if let Err(e) = d.check_invariants(true) {
            panic!("after {ops:?} -> {results:?}: {e}");
        }
    }
    // Every strong reference still resolves.
    let (r, _) = d.transact(&[json!({"op": "select", "table": "Root", "where": [], "columns": ["kids"]})]);
    let children = d.table_by_name("Child").unwrap().1;
    for row in r[0]["rows"].as_array().unwrap() {
        let kids = &row["kids"];
        let list: Vec<&Value> = if kids[0] == "set" { kids[1].as_array().unwrap().iter().collect() } else { vec![kids] };
        for k in list {
            let u = Uuid::parse(k[1].as_str().unwrap()).unwrap();
            assert!(children.get(&u).is_some(), "dangling reference {u}");
        }
    }
}

/// Refuses deletes from Weak and any change to column k of existing rows;
/// counts the rows it is asked about.
struct NoDeletes(std::cell::Cell<usize>);

impl ovsdb::Access for NoDeletes {
    fn table(&self, op: ovsdb::Write, ts: &ovsdb::schema::TableSchema) -> Result<(), ovsdb::OvsdbError> {
        match op {
            ovsdb::Write::Delete => {
                Err(ovsdb::OvsdbError::new("permission error", format!("no deletes from {}", ts.name)))
            }
            _ => Ok(()),
        }
    }
    fn row(
        &self,
        op: ovsdb::Write,
        ts: &ovsdb::schema::TableSchema,
        old: Option<&ovsdb::Row>,
        new: Option<&ovsdb::Row>,
        columns: &[usize],
    ) -> Result<(), ovsdb::OvsdbError> {
        self.0.set(self.0.get() + 1);
        let k = ts.column("k").unwrap();
        match (op, old, new) {
            (ovsdb::Write::Insert, None, Some(_)) => Ok(()),
            (ovsdb::Write::Update | ovsdb::Write::Mutate, Some(_), Some(_)) if columns.contains(&k) => {
                Err(ovsdb::OvsdbError::new("permission error", "k is fixed"))
            }
            (ovsdb::Write::Update | ovsdb::Write::Mutate, Some(_), Some(_)) => Ok(()),
            _ => panic!("unexpected {op:?}"),
        }
    }
}

#[test]
fn access_control_and_read_only_are_checked_per_operation() {
    let mut d = db();
    let (r, _) = d.transact(&ops(json!([{"op": "insert", "table": "Weak", "row": {"k": 1}}])));
    assert!(r[0].get("uuid").is_some());
    let access = NoDeletes(std::cell::Cell::new(0));
    let ctx = TxnContext { waits_expired: true, access: Some(&access), ..Default::default() };
    let run = |ctx: &TxnContext<'_>, v: Value| match d.execute(&ops(v), ctx) {
        Outcome::Complete(p) => p.results,
        Outcome::Blocked { .. } => panic!("blocked"),
    };
    // The table check comes first, even when no row matches.
    let r = run(
        &ctx,
        json!([{"op": "select", "table": "Weak", "where": []}, {"op": "delete", "table": "Weak", "where": [["k", "==", 9]]}]),
    );
    assert_eq!(r[1]["details"], "no deletes from Weak");
    // Row checks see the columns an update names.
    let r = run(&ctx, json!([{"op": "update", "table": "Weak", "where": [], "row": {"k": 2}}]));
    assert_eq!(r[0]["details"], "k is fixed");
    let r = run(&ctx, json!([{"op": "mutate", "table": "Weak", "where": [], "mutations": [["k", "+=", 1]]}]));
    assert_eq!(r[0]["details"], "k is fixed");
    let r = run(&ctx, json!([{"op": "insert", "table": "Weak", "row": {"k": 3}}]));
    assert!(r[0].get("uuid").is_some(), "{r:?}");
    assert_eq!(access.0.get(), 3);
    // Read-only: parse errors first, then the refusal, even for a no-op
    // update; reads and comments pass.
    let ro = TxnContext { waits_expired: true, read_only: true, ..Default::default() };
    let r = run(&ro, json!([{"op": "update", "table": "Weak", "where": [], "row": {"nope": 1}}]));
    assert_eq!(r[0]["error"], "unknown column");
    let r = run(
        &ro,
        json!([{"op": "comment", "comment": "x"}, {"op": "update", "table": "Weak", "where": [["k", "==", 9]], "row": {"k": 1}}]),
    );
    assert_eq!(r[0], json!({}));
    assert_eq!(r[1]["error"], "not allowed");
    assert_eq!(r[1]["details"], "update operation not allowed when database server is in read only mode");
    let r = run(&ro, json!([{"op": "commit", "durable": false}]));
    assert_eq!(r[0]["details"], "commit operation not allowed when database server is in read only mode");
}
