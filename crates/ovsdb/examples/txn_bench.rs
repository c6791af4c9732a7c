//! Benchmark of the OVSDB transaction engine on the OVN Northbound schema.
//!
//! Prints transactions/second for small NB transactions (insert a
//! Logical_Switch_Port and add it to a switch, as `ovn-nbctl lsp-add` does)
//! and rows/second for a bulk load. Run with
//! `cargo run --release -p ovsdb --example txn_bench [-- N]`.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use ovsdb::log::Log;
use ovsdb::{Database, DatabaseSchema, Outcome, Prepared, TxnContext};
use serde_json::{json, Value};

fn nb_schema() -> Arc<DatabaseSchema> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/ovn-nb.ovsschema");
    Arc::new(DatabaseSchema::from_file(&p).expect("NB schema"))
}

fn uuid_of(results: &[Value], i: usize) -> String {
    results[i]["uuid"][1].as_str().expect("insert result").to_string()
}

fn lsp_add(ls: &str, i: usize) -> Vec<Value> {
    vec![
        json!({"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "p",
               "row": {"name": format!("lsp{i}"),
                       "addresses": format!("0a:00:00:{:02x}:{:02x}:{:02x} 10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255),
                       "external_ids": ["map", [["pod", "true"], ["namespace", "default"]]]}}),
        json!({"op": "mutate", "table": "Logical_Switch", "where": [["_uuid", "==", ["uuid", ls]]],
               "mutations": [["ports", "insert", ["set", [["named-uuid", "p"]]]]]}),
    ]
}

/// Executes a transaction that has no `wait`.
fn execute(db: &Database, ops: &[Value]) -> Prepared {
    match db.execute(ops, &TxnContext::default()) {
        Outcome::Complete(p) => p,
        Outcome::Blocked { .. } => unreachable!("no waits"),
    }
}

fn report(what: &str, n: usize, unit: &str, secs: f64) {
    println!("{what:<58} {n:>7} {unit:<5} {:>9.3} s {:>12.0} {unit}/s", secs, n as f64 / secs);
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let schema = nb_schema();

    // Small transactions, in memory: lsp-add onto switches of 100 ports each
    // (ovn-kubernetes' per-node switches), so a transaction's cost is not
    // dominated by one giant port set.
    let mut db = Database::new(schema.clone());
    let mut switches = Vec::new();
    let t = Instant::now();
    for i in 0..n {
        if i % 100 == 0 {
            let (r, _) = db.transact(&[json!({"op": "insert", "table": "Logical_Switch", "row": {"name": format!("ls{}", i / 100)}})]);
            switches.push(uuid_of(&r, 0));
        }
        let (r, cs) = db.transact(&lsp_add(switches.last().unwrap(), i));
        assert!(cs.is_some(), "lsp-add failed: {r:?}");
    }
    report("lsp-add transactions, in memory (100 ports/switch)", n, "txn", t.elapsed().as_secs_f64());

    // The same onto a single switch that grows to 5,000 ports.
    let m = n.min(5_000);
    let mut db1 = Database::new(schema.clone());
    let (r, _) = db1.transact(&[json!({"op": "insert", "table": "Logical_Switch", "row": {"name": "big"}})]);
    let big = uuid_of(&r, 0);
    let t = Instant::now();
    for i in 0..m {
        let (r, cs) = db1.transact(&lsp_add(&big, i));
        assert!(cs.is_some(), "lsp-add failed: {r:?}");
    }
    report("lsp-add transactions, in memory (one switch, growing)", m, "txn", t.elapsed().as_secs_f64());

    // Bulk load: one transaction inserting many ports and one switch holding them.
    let mut db2 = Database::new(schema);
    let mut ops = Vec::with_capacity(n + 1);
    let mut names = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("p{i}");
        ops.push(json!({"op": "insert", "table": "Logical_Switch_Port", "uuid-name": name.clone(),
                        "row": {"name": format!("bulk{i}"), "addresses": "unknown"}}));
        names.push(json!(["named-uuid", name]));
    }
    ops.push(json!({"op": "insert", "table": "Logical_Switch", "row": {"name": "bulk", "ports": ["set", names]}}));
    let t = Instant::now();
    let (r, cs) = db2.transact(&ops);
    assert!(cs.is_some(), "bulk load failed: {:?}", r.last());
    report("bulk load, one transaction, in memory", n + 1, "rows", t.elapsed().as_secs_f64());

    // The same through the on-disk log, as a server commits: execute, append
    // (fsync if durable), apply.
    let dir = std::env::temp_dir().join(format!("rovn-txn-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (durable, count) in [(false, n), (true, n.min(2_000))] {
        let path = dir.join(format!("nb-{durable}.db"));
        let _ = std::fs::remove_file(&path);
        let mut log = Log::create(&path, db2.schema()).expect("create log");
        let mut db = Database::new(db2.schema().clone());
        let mut ls = String::new();
        let t = Instant::now();
        for i in 0..count {
            let ops = if i % 100 == 0 {
                vec![json!({"op": "insert", "table": "Logical_Switch", "row": {"name": format!("ls{}", i / 100)}})]
            } else {
                lsp_add(&ls, i)
            };
            let p = execute(&db, &ops);
            let cs = p.changes.expect("transaction failed");
            log.append(&cs, db.schema(), durable).expect("append");
            db.apply(&cs);
            if i % 100 == 0 {
                ls = uuid_of(&p.results, 0);
            }
        }
        let what = if durable { "lsp-add transactions, logged, fsync each" } else { "lsp-add transactions, logged, no fsync" };
        report(what, count, "txn", t.elapsed().as_secs_f64());
        if !durable {
            // What ovsdb-server/compact (manual or automatic) costs: the
            // server is busy for this long.
            let before = log.len();
            let t = Instant::now();
            log.compact(&db, None).expect("compact");
            report(&format!("compaction ({} MB log -> {} MB)", before >> 20, log.len() >> 20), db.n_rows(), "rows", t.elapsed().as_secs_f64());
        }
    }
    let path = dir.join("bulk.db");
    let _ = std::fs::remove_file(&path);
    let mut log = Log::create(&path, db2.schema()).expect("create log");
    let mut db = Database::new(db2.schema().clone());
    let t = Instant::now();
    let cs = execute(&db, &ops).changes.expect("bulk load failed");
    log.append(&cs, db.schema(), true).expect("append");
    db.apply(&cs);
    report("bulk load, one transaction, logged with fsync", n + 1, "rows", t.elapsed().as_secs_f64());
    drop(log);
    let t = Instant::now();
    let (_, reopened, _) = Log::open(&path).expect("reopen");
    report("reopen (replay) of the bulk-loaded file", reopened.n_rows(), "rows", t.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&dir);
}

