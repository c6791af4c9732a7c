//! Monitor output formats: update (V1) and update2 (V2) for every kind of
//! change, conditions, and condition changes.

use std::path::Path;
use std::sync::Arc;

use ovsdb::monitor::{Monitor, Version};
use ovsdb::{Database, DatabaseSchema};
use serde_json::{json, Value};

fn db() -> Database {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/everything.ovsschema");
    Database::new(Arc::new(DatabaseSchema::from_file(&p).unwrap()))
}

fn run(d: &mut Database, ops: Value) -> (Vec<Value>, Option<ovsdb::ChangeSet>) {
    let (r, cs) = d.transact(ops.as_array().unwrap());
    assert!(r.iter().all(|x| x.get("error").is_none()), "{r:?}");
    (r, cs)
}

#[test]
fn v1_and_v2_formats() {
    let mut d = db();
    let (r, _) = run(&mut d, json!([{"op": "insert", "table": "Weak", "row": {"k": 1, "self": ["set", []]}}]));
    let w = r[0]["uuid"][1].as_str().unwrap().to_string();
    let schema = d.schema().clone();
    let v1 = Monitor::from_json(&schema, Version::V1, &json!({"Weak": {"columns": ["k", "tag"]}})).unwrap();
    let v2 = Monitor::from_json(&schema, Version::V2, &json!({"Weak": [{"columns": ["k", "tag", "self"]}]})).unwrap();
    assert_eq!(v1.initial(&d), json!({"Weak": {w.clone(): {"new": {"k": 1, "tag": ["set", []]}}}}));
    // update2 leaves out columns at their default value.
    assert_eq!(v2.initial(&d), json!({"Weak": {w.clone(): {"initial": {"k": 1}}}}));

    let (_, cs) = run(&mut d, json!([{"op": "update", "table": "Weak", "where": [], "row": {"tag": "x", "self": ["uuid", w]}}]));
    let cs = cs.unwrap();
    assert_eq!(
        v1.update(&schema, &cs),
        Some(json!({"Weak": {w.clone(): {"old": {"tag": ["set", []]}, "new": {"k": 1, "tag": "x"}}}}))
    );
    assert_eq!(
        v2.update(&schema, &cs),
        Some(json!({"Weak": {w.clone(): {"modify": {"tag": "x", "self": ["uuid", w]}}}}))
    );
    // A change to an unmonitored column is not reported by V1.
    let (_, cs) = run(&mut d, json!([{"op": "update", "table": "Weak", "where": [], "row": {"self": ["set", []]}}]));
    assert_eq!(v1.update(&schema, &cs.unwrap()), None);

    let (_, cs) = run(&mut d, json!([{"op": "delete", "table": "Weak", "where": []}]));
    let cs = cs.unwrap();
    assert_eq!(v1.update(&schema, &cs), Some(json!({"Weak": {w.clone(): {"old": {"k": 1, "tag": "x"}}}})));
    assert_eq!(v2.update(&schema, &cs), Some(json!({"Weak": {w.clone(): {"delete": null}}})));
}

#[test]
fn set_and_map_diffs() {
    let mut d = db();
    let (r, _) = run(
        &mut d,
        json!([{"op": "insert", "table": "Root", "row": {"name": "r", "sset": ["set", ["a", "b"]],
            "smap": ["map", [["k1", "v1"], ["k2", "v2"]]]}}]),
    );
    let u = r[0]["uuid"][1].as_str().unwrap().to_string();
    let schema = d.schema().clone();
    let m = Monitor::from_json(&schema, Version::V2, &json!({"Root": {"columns": ["sset", "smap", "i"]}})).unwrap();
    let (_, cs) = run(
        &mut d,
        json!([{"op": "update", "table": "Root", "where": [],
            "row": {"sset": ["set", ["b", "c"]], "smap": ["map", [["k2", "changed"], ["k3", "v3"]]], "i": 7}}]),
    );
    assert_eq!(
        m.update(&schema, &cs.unwrap()),
        Some(json!({"Root": {u: {"modify": {
            "i": 7,
            "sset": ["set", ["a", "c"]],
            "smap": ["map", [["k1", "v1"], ["k2", "changed"], ["k3", "v3"]]]
        }}}}))
    );
}

#[test]
fn conditions_turn_modifications_into_inserts_and_deletes() {
    let mut d = db();
    let schema = d.schema().clone();
    let mut m = Monitor::from_json(
        &schema,
        Version::V2,
        &json!({"Weak": [{"columns": ["k"], "where": [["k", ">", 10]], "select": {"initial": true}}]}),
    )
    .unwrap();
    let (r, cs) = run(&mut d, json!([{"op": "insert", "table": "Weak", "row": {"k": 5}}]));
    let w = r[0]["uuid"][1].as_str().unwrap().to_string();
    assert_eq!(m.update(&schema, &cs.unwrap()), None);
    let (_, cs) = run(&mut d, json!([{"op": "update", "table": "Weak", "where": [], "row": {"k": 11}}]));
    assert_eq!(m.update(&schema, &cs.unwrap()), Some(json!({"Weak": {w.clone(): {"insert": {"k": 11}}}})));
    let (_, cs) = run(&mut d, json!([{"op": "update", "table": "Weak", "where": [], "row": {"k": 12}}]));
    assert_eq!(m.update(&schema, &cs.unwrap()), Some(json!({"Weak": {w.clone(): {"modify": {"k": 12}}}})));
    let (_, cs) = run(&mut d, json!([{"op": "update", "table": "Weak", "where": [], "row": {"k": 3}}]));
    assert_eq!(m.update(&schema, &cs.unwrap()), Some(json!({"Weak": {w.clone(): {"delete": null}}})));
    assert_eq!(m.initial(&d), json!({}));
    // Widen the condition: the row comes in as an insert; narrow it with `false`: it goes.
    let up = m.change_conditions(&d, &json!({"Weak": [{"where": [["k", "<", 10]]}]})).unwrap();
    assert_eq!(up, Some(json!({"Weak": {w.clone(): {"insert": {"k": 3}}}})));
    let up = m.change_conditions(&d, &json!({"Weak": [{"where": [false]}]})).unwrap();
    assert_eq!(up, Some(json!({"Weak": {w.clone(): {"delete": null}}})));
    let up = m.change_conditions(&d, &json!({"Weak": [{"where": [true]}]})).unwrap();
    assert_eq!(up, Some(json!({"Weak": {w: {"insert": {"k": 3}}}})));
}

#[test]
fn select_flags_and_bad_requests() {
    let mut d = db();
    let schema = d.schema().clone();
    let m = Monitor::from_json(
        &schema,
        Version::V1,
        &json!({"Weak": {"select": {"initial": false, "insert": false, "modify": true, "delete": true}}}),
    )
    .unwrap();
    let (_, cs) = run(&mut d, json!([{"op": "insert", "table": "Weak", "row": {"k": 5}}]));
    assert_eq!(m.update(&schema, &cs.unwrap()), None);
    assert_eq!(m.initial(&d), json!({}));
    for bad in [
        json!([]),
        json!({"Nope": {}}),
        json!({"Weak": {"columns": ["nope"]}}),
        json!({"Weak": {"where": []}}),
        json!({"Weak": {"select": {"insert": 1}}}),
        json!({"Weak": [{"columns": ["k"]}, {"columns": ["k", "tag"]}]}),
        json!({"Weak": {"columns": "k"}}),
    ] {
        assert!(Monitor::from_json(&schema, Version::V1, &bad).is_err(), "{bad}");
    }
    // An empty request list watches nothing (as ovsdb-server).
    let none = Monitor::from_json(&schema, Version::V2, &json!({"Weak": []})).unwrap();
    assert_eq!(none.initial(&d), json!({}));
}

#[test]
fn default_columns_include_version_and_uuid_can_be_asked_for() {
    let mut d = db();
    let schema = d.schema().clone();
    let (res, _) = run(&mut d, json!([{"op": "insert", "table": "Weak", "row": {"k": 5}}]));
    let w = res[0]["uuid"][1].as_str().unwrap().to_string();
    let all = Monitor::from_json(&schema, Version::V2, &json!({"Weak": {}})).unwrap();
    let init = all.initial(&d);
    assert!(init["Weak"][&w]["initial"]["_version"].is_array(), "{init}");
    assert!(init["Weak"][&w]["initial"].get("_uuid").is_none(), "{init}");
    let with_uuid = Monitor::from_json(&schema, Version::V1, &json!({"Weak": {"columns": ["_uuid", "k"]}})).unwrap();
    assert_eq!(with_uuid.initial(&d), json!({"Weak": {w.clone(): {"new": {"_uuid": ["uuid", w], "k": 5}}}}));
}

#[test]
fn a_monitor_where_is_a_disjunction() {
    let mut d = db();
    let schema = d.schema().clone();
    let (r, _) = run(
        &mut d,
        json!([{"op": "insert", "table": "Weak", "row": {"k": 1}},
               {"op": "insert", "table": "Weak", "row": {"k": 2}},
               {"op": "insert", "table": "Weak", "row": {"k": 3}}]),
    );
    let uuids: Vec<String> = r.iter().map(|x| x["uuid"][1].as_str().unwrap().to_string()).collect();
    let rows_of = |m: &Monitor| -> Vec<String> {
        let mut v: Vec<String> = m.initial(&d)["Weak"].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    // Clauses are OR-ed (ovn-controller asks for "datapath == A, datapath == B, ...").
    let m = Monitor::from_json(&schema, Version::V2, &json!({"Weak": [{"where": [["k", "==", 1], ["k", "==", 3]]}]})).unwrap();
    assert_eq!(rows_of(&m), sorted(vec![uuids[0].clone(), uuids[2].clone()]));
    // `false` adds nothing, `true` everything.
    let m = Monitor::from_json(&schema, Version::V2, &json!({"Weak": [{"where": [["k", "==", 2], false]}]})).unwrap();
    assert_eq!(rows_of(&m), vec![uuids[1].clone()]);
    let m = Monitor::from_json(&schema, Version::V2, &json!({"Weak": [{"where": [["k", "==", 2], true]}]})).unwrap();
    assert_eq!(rows_of(&m), sorted(uuids.clone()));
    let m = Monitor::from_json(&schema, Version::V2, &json!({"Weak": [{"where": [false]}]})).unwrap();
    assert_eq!(rows_of(&m), Vec::<String>::new());
}

#[test]
fn each_request_selects_for_its_own_columns() {
    let mut d = db();
    let schema = d.schema().clone();
    // `k` is reported on every kind of change, `tag` only on modifications.
    let m = Monitor::from_json(
        &schema,
        Version::V1,
        &json!({"Weak": [{"columns": ["k"]},
                         {"columns": ["tag"], "select": {"initial": false, "insert": false, "delete": false}}]}),
    )
    .unwrap();
    let (r, cs) = run(&mut d, json!([{"op": "insert", "table": "Weak", "row": {"k": 1, "tag": "a"}}]));
    let w = r[0]["uuid"][1].as_str().unwrap().to_string();
    assert_eq!(m.update(&schema, &cs.unwrap()), Some(json!({"Weak": {w.clone(): {"new": {"k": 1}}}})));
    assert_eq!(m.initial(&d), json!({"Weak": {w.clone(): {"new": {"k": 1}}}}));
    let (_, cs) = run(&mut d, json!([{"op": "update", "table": "Weak", "where": [], "row": {"tag": "b"}}]));
    assert_eq!(
        m.update(&schema, &cs.unwrap()),
        Some(json!({"Weak": {w.clone(): {"old": {"tag": "a"}, "new": {"k": 1, "tag": "b"}}}}))
    );
    let (_, cs) = run(&mut d, json!([{"op": "delete", "table": "Weak", "where": []}]));
    assert_eq!(m.update(&schema, &cs.unwrap()), Some(json!({"Weak": {w: {"old": {"k": 1}}}})));
}

/// Monitors look single `==` clauses up in a hash set (ovn-controller sends
/// hundreds of them); the rows covered must be exactly those a clause-by-
/// clause evaluation finds, for scalar, optional, set and map columns and
/// alongside clauses that are not indexed.
#[test]
fn many_equality_clauses_cover_what_clauses_say() {
    use ovsdb::condition::Condition;
    let mut d = db();
    let schema = d.schema().clone();
    let u1 = "11111111-2222-3333-4444-555555555555";
    let mut ops = Vec::new();
    for k in 0..300i64 {
        let sset = match k % 3 {
            0 => json!("a"),
            1 => json!(["set", ["a", "b"]]),
            _ => json!(["set", ["z", format!("s{k}")]]),
        };
        let mut row = json!({"name": format!("n{k}"), "i": k % 40, "sset": sset,
                             "smap": ["map", [["k", format!("{}", k % 5)]]],
                             "r": if k % 4 == 0 { json!(["set", []]) } else { json!(k as f64 / 8.0) }});
        if k % 7 == 0 {
            row["u"] = json!(["uuid", u1]);
        }
        if k % 11 == 0 {
            row["len"] = json!("x");
        }
        ops.push(json!({"op": "insert", "table": "Root", "row": row}));
    }
    run(&mut d, Value::Array(ops));
    let mut clauses: Vec<Value> = (0..300).step_by(3).map(|k| json!(["name", "==", format!("n{k}")])).collect();
    clauses.extend([
        json!(["name", "==", "absent"]),
        json!(["i", "==", 13]),
        json!(["u", "==", ["uuid", u1]]),
        json!(["sset", "==", "a"]),
        json!(["sset", "==", ["set", ["a", "b"]]]),
        json!(["smap", "==", ["map", [["k", "2"]]]]),
        json!(["r", "==", 2.5]),
        json!(["len", "==", ["set", []]]),
        json!(["sset", "includes", "z"]),
        json!(["i", ">", 38]),
    ]);
    let (t, ts) = schema.table("Root").unwrap();
    // Each clause on its own (index lookups), and all together.
    let mut cases: Vec<Vec<Value>> = clauses.iter().map(|c| vec![c.clone()]).collect();
    cases.push(clauses.clone());
    for case in cases {
        let conds: Vec<Condition> = case.iter().map(|c| Condition::from_json(ts, &json!([c]), None).unwrap()).collect();
        let mut want: Vec<String> = d
            .table(t)
            .rows
            .values()
            .filter(|r| conds.iter().any(|c| c.matches(ts, r)))
            .map(|r| r.uuid().to_string())
            .collect();
        want.sort();
        let m = Monitor::from_json(&schema, Version::V2, &json!({"Root": [{"columns": ["name", "b"], "where": case}]}))
            .unwrap();
        let keys = |v: Option<Value>| -> Vec<String> {
            let mut k: Vec<String> =
                v.and_then(|v| v["Root"].as_object().cloned()).unwrap_or_default().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(Some(m.initial(&d))), want, "initial rows for {case:?}");
        let mut d2 = d.clone();
        let (_, cs) = run(&mut d2, json!([{"op": "update", "table": "Root", "where": [], "row": {"b": true}}]));
        assert_eq!(keys(m.update(&schema, &cs.unwrap())), want, "modified rows for {case:?}");
        let (_, cs) = run(&mut d2, json!([{"op": "delete", "table": "Root", "where": []}]));
        assert_eq!(keys(m.update(&schema, &cs.unwrap())), want, "deleted rows for {case:?}");
    }
}
