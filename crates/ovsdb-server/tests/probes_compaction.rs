//! Inactivity probes (through the tokio shell, with a short interval) and
//! automatic compaction (the core driven directly, in virtual time).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ovsdb::jsonrpc::Message;
use ovsdb::log::Log;
use ovsdb::{Database, DatabaseSchema};
use ovsdb_server::{Action, CompactionPolicy, Core, Remote, Server};
use serde_json::{json, Value};

fn schema() -> Arc<DatabaseSchema> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/ovn-nb.ovsschema");
    Arc::new(DatabaseSchema::from_file(&p).expect("NB schema"))
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("rovn-srv-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Reads what arrives on `s` until `until` passes or the peer closes;
/// returns the messages and whether it closed.
fn read_for(s: &mut UnixStream, until: Duration) -> (Vec<Value>, bool) {
    let t = Instant::now();
    let mut framer = ovsdb::jsonrpc::Framer::new(1 << 20);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while t.elapsed() < until {
        s.set_read_timeout(Some((until - t.elapsed()).max(Duration::from_millis(1)))).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => {
                framer.push(&buf[..n]);
                while let Some(Ok(v)) = framer.next_value() {
                    out.push(v);
                }
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return (out, true),
        }
    }
    (out, false)
}

#[test]
fn idle_clients_are_probed_and_silent_ones_dropped() {
    let dir = Scratch::new("probe");
    let sock = dir.0.join("db.sock");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let remote = Remote::Unix(sock.clone());
    let db = Database::new(schema());
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            Server::new(Core::in_memory(vec![db]), vec![remote])
                .inactivity_probe(Some(Duration::from_millis(300)))
                .run(async {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
        });
    });
    let t = Instant::now();
    while !sock.exists() {
        assert!(t.elapsed() < Duration::from_secs(10), "server did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut silent = UnixStream::connect(&sock).unwrap();
    let mut polite = UnixStream::connect(&sock).unwrap();
    // The polite client answers every probe for 1.5 s (five intervals).
    let polite_thread = std::thread::spawn(move || {
        let t = Instant::now();
        let mut echoes = 0;
        let mut closed = false;
        while t.elapsed() < Duration::from_millis(1500) && !closed {
            let (msgs, c) = read_for(&mut polite, Duration::from_millis(50));
            closed = c;
            for m in msgs {
                assert_eq!(m, json!({"id": "echo", "method": "echo", "params": []}));
                echoes += 1;
                polite.write_all(br#"{"id":"echo","result":[],"error":null}"#).unwrap();
            }
        }
        // Still served.
        polite.write_all(br#"{"id":1,"method":"list_dbs","params":[]}"#).unwrap();
        let (msgs, c) = read_for(&mut polite, Duration::from_millis(200));
        (echoes, closed || c, msgs)
    });
    let (msgs, closed) = read_for(&mut silent, Duration::from_millis(1500));
    assert_eq!(msgs, vec![json!({"id": "echo", "method": "echo", "params": []})], "one probe, then the end");
    assert!(closed, "a client that never answers is disconnected");
    let (echoes, closed, msgs) = polite_thread.join().unwrap();
    assert!(!closed, "a client that answers its probes stays connected");
    assert!(echoes >= 3, "probed every interval: {echoes}");
    assert!(msgs.iter().any(|m| m["id"] == json!(1) && m["result"].is_array()), "{msgs:?}");
    let _ = stop_tx.send(());
    server.join().unwrap();
}

/// Runs one transaction through the core; returns its result.
fn transact(core: &mut Core, id: u64, ops: Vec<Value>, now: Instant) -> Value {
    let mut params = vec![json!("OVN_Northbound")];
    params.extend(ops);
    core.handle_message(1, Message::Request { method: "transact".into(), params, id: json!(id) }, now);
    let mut result = Value::Null;
    while let Some(a) = core.poll_action() {
        if let Action::Send(1, bytes) = a {
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            if v["id"] == json!(id) {
                result = v["result"].clone();
            }
        }
    }
    result
}

#[test]
fn a_long_stream_of_transactions_keeps_the_log_bounded() {
    let dir = Scratch::new("autocompact");
    let path = dir.0.join("nb.db");
    drop(Log::create(&path, &schema()).unwrap());
    let (mut core, _) = Core::open(std::slice::from_ref(&path)).unwrap();
    let policy = CompactionPolicy { min_size: 64 << 10, min_interval: Duration::from_secs(1), ..CompactionPolicy::default() };
    core.set_compaction_policy(policy);
    core.handle_connect(1);
    let t0 = Instant::now();
    let (mut largest, mut compactions, mut last_len) = (0u64, 0, 0u64);
    // One switch whose other_config is rewritten over and over (the log
    // grows, the database hardly), plus a new switch every 10 transactions.
    let r = transact(&mut core, 0, vec![json!({"op": "insert", "table": "Logical_Switch", "row": {"name": "sw0"}})], t0);
    assert!(r[0]["uuid"].is_array(), "{r}");
    for i in 1..=3000u64 {
        let now = t0 + Duration::from_millis(10 * i);
        let mut ops = vec![json!({"op": "update", "table": "Logical_Switch", "where": [["name", "==", "sw0"]],
                                  "row": {"other_config": ["map", [["seq", i.to_string()], ["pad", "x".repeat(200)]]]}})];
        if i % 10 == 0 {
            ops.push(json!({"op": "insert", "table": "Logical_Switch", "row": {"name": format!("ls{i}")}}));
        }
        let r = transact(&mut core, i, ops, now);
        assert!(r.as_array().is_some_and(|a| a.iter().all(|x| x.get("error").is_none())), "txn {i}: {r}");
        // The policy is under test here, not the background writer: on a
        // loaded machine its thread may lag behind this virtual clock and
        // the old log keep growing meanwhile (a flake), so each compaction
        // the policy starts is completed before the next transaction. The
        // background case has its own test (transactions committed during
        // a compaction).
        core.wait_compactions();
        let len = std::fs::metadata(&path).unwrap().len();
        if len < last_len {
            compactions += 1;
        }
        last_len = len;
        largest = largest.max(len);
    }
    let sizes = core.log_sizes();
    assert!(compactions >= 3, "{compactions} compactions; sizes {sizes:?}");
    // Never much past twice the previous compacted size (about 64 KB here).
    assert!(largest < 4 * (64 << 10), "log grew to {largest} bytes");
    drop(core);
    let (db, report) = Log::read(&path).unwrap();
    assert!(report.dropped.is_none());
    let (ts, ls) = db.table_by_name("Logical_Switch").unwrap();
    assert_eq!(ls.len(), 301);
    let col = |n: &str| ts.columns.iter().position(|c| c.name == n).unwrap();
    let sw0 = ls.rows.values().find(|r| r.values[col("name")].to_json() == json!("sw0")).unwrap();
    assert!(sw0.values[col("other_config")].to_json().to_string().contains("\"3000\""), "the last update survived");
}

#[test]
fn default_policy_waits_ten_minutes_then_compacts_daily() {
    let dir = Scratch::new("dailycompact");
    let path = dir.0.join("nb.db");
    drop(Log::create(&path, &schema()).unwrap());
    let (mut core, _) = Core::open(std::slice::from_ref(&path)).unwrap();
    core.handle_connect(1);
    let t0 = Instant::now();
    let insert = |i: u64, pad: usize| {
        vec![json!({"op": "insert", "table": "Logical_Switch",
                    "row": {"name": format!("sw{i}"), "external_ids": ["map", [["pad", "y".repeat(pad)]]]}})]
    };
    for i in 0..150u64 {
        let r = transact(&mut core, i, insert(i, 100_000), t0 + Duration::from_millis(i));
        assert!(r[0]["uuid"].is_array(), "{r}");
    }
    // 15 MB, 150 commits, but younger than 10 minutes: not compacted.
    let (_, len, records) = core.log_sizes()[0].clone();
    assert!(len > 10 << 20 && records == 151, "{len} bytes, {records} records");
    // The next commit after 10 minutes compacts it.
    let r = transact(&mut core, 150, insert(150, 10), t0 + Duration::from_secs(601));
    assert!(r[0]["uuid"].is_array(), "{r}");
    // The compaction runs in the background; let it finish.
    core.wait_compactions();
    assert_eq!(core.log_sizes()[0].2, 2, "compacted to schema + snapshot");
    assert_eq!(core.poll_timeout(), None, "nothing to do until 100 more commits");
    // 100 small commits: no size reason, but the daily deadline is armed.
    for i in 151..251u64 {
        transact(&mut core, i, insert(i, 10), t0 + Duration::from_secs(700));
    }
    assert_eq!(core.log_sizes()[0].2, 102);
    let deadline = core.poll_timeout().expect("a compaction deadline");
    assert_eq!(deadline, t0 + Duration::from_secs(601 + 24 * 3600));
    core.handle_timeout(deadline);
    core.wait_compactions();
    assert_eq!(core.log_sizes()[0].2, 2, "compacted after a day");
    let (db, _) = Log::read(&path).unwrap();
    assert_eq!(db.table_by_name("Logical_Switch").unwrap().1.len(), 251);
}

/// Automatic compaction runs in the background: a large database's
/// snapshot is written by another thread while transactions go on, and
/// the transactions committed meanwhile follow the snapshot in the new log,
/// in order, and survive a restart. Timings are printed, not asserted.
#[test]
fn transactions_go_on_while_a_large_database_is_compacted() {
    let dir = Scratch::new("bgcompact");
    let path = dir.0.join("nb.db");
    drop(Log::create(&path, &schema()).unwrap());
    let (mut core, _) = Core::open(std::slice::from_ref(&path)).unwrap();
    // Due at the 21st commit (the log has more than doubled by then), and
    // not again until it doubles once more.
    core.set_compaction_policy(CompactionPolicy {
        min_size: 0,
        min_commits: 21,
        min_interval: Duration::ZERO,
        ..CompactionPolicy::default()
    });
    core.handle_connect(1);
    // 20,000 ports on 20 switches.
    for s in 0..20 {
        let mut ops = Vec::new();
        let mut refs = Vec::new();
        for k in 0..1000 {
            ops.push(json!({"op": "insert", "table": "Logical_Switch_Port", "uuid-name": format!("p{k}"),
                            "row": {"name": format!("lsp{s}-{k}"), "addresses": "unknown",
                                    "external_ids": ["map", [["k", k.to_string()]]]}}));
            refs.push(json!(["named-uuid", format!("p{k}")]));
        }
        ops.push(json!({"op": "insert", "table": "Logical_Switch", "row": {"name": format!("ls{s}"), "ports": ["set", refs]}}));
        let r = transact(&mut core, 1_000_000 + s, ops, Instant::now());
        assert!(r[1000]["uuid"].is_array(), "{}", r[1000]);
    }
    assert_eq!(core.compactions_running(), 0);
    let t0 = Instant::now();
    let update = |i: u64| {
        vec![
            json!({"op": "update", "table": "Logical_Switch", "where": [["name", "==", "ls0"]],
                   "row": {"other_config": ["map", [["seq", i.to_string()]]]}}),
            json!({"op": "insert", "table": "Logical_Switch", "row": {"name": format!("during{i}")}}),
        ]
    };
    let r = transact(&mut core, 0, update(0), t0);
    assert!(r[1]["uuid"].is_array(), "{r}");
    assert_eq!(core.compactions_running(), 1, "the commit started a compaction in the background");
    let started = Instant::now();
    let (mut during, mut slowest, mut i) = (0u64, Duration::ZERO, 0u64);
    while core.compactions_running() > 0 {
        i += 1;
        let t = Instant::now();
        let r = transact(&mut core, i, update(i), Instant::now());
        slowest = slowest.max(t.elapsed());
        assert!(r[1]["uuid"].is_array(), "txn {i}: {r}");
        during += 1;
        assert!(i < 1_000_000, "the compaction never finished");
        std::thread::sleep(Duration::from_micros(200));
    }
    let took = started.elapsed();
    let (_, len, records) = core.log_sizes()[0].clone();
    println!(
        "compaction of 20,021 rows took {took:?} in the background; {during} transactions meanwhile, the slowest took {slowest:?}; log now {len} bytes"
    );
    // The last transaction finished the compaction; it and the ones before
    // it since the snapshot follow the snapshot record.
    assert!(during >= 1, "no transaction ran while compacting");
    assert_eq!(records, 2 + during, "schema, snapshot, then the transactions committed meanwhile");
    for j in i + 1..=i + 5 {
        transact(&mut core, j, update(j), Instant::now());
    }
    assert_eq!(core.log_sizes()[0].2, 2 + during + 5);
    drop(core);

    // The records after the snapshot are the transactions, in order.
    let bytes = std::fs::read(&path).unwrap();
    let recs: Vec<Value> = ovsdb::log::Records::new(&bytes).map(|r| r.unwrap().json).collect();
    assert_eq!(recs.len() as u64, 2 + during + 5);
    assert_eq!(recs[1]["Logical_Switch_Port"].as_object().map(|o| o.len()), Some(20_000), "snapshot");
    let named: Vec<String> = recs[2..]
        .iter()
        .map(|r| {
            let rows = r["Logical_Switch"].as_object().unwrap();
            rows.values().find_map(|v| v["name"].as_str().map(str::to_string)).unwrap()
        })
        .collect();
    let want: Vec<String> = (i + 1 - during..=i + 5).map(|k| format!("during{k}")).collect();
    assert_eq!(named, want);

    // A restart sees everything.
    let (core, _) = Core::open(std::slice::from_ref(&path)).unwrap();
    let db = core.database("OVN_Northbound").unwrap();
    let (ts, ls) = db.table_by_name("Logical_Switch").unwrap();
    assert_eq!(ls.len() as u64, 20 + i + 6);
    assert_eq!(db.table_by_name("Logical_Switch_Port").unwrap().1.len(), 20_000);
    let col = |n: &str| ts.columns.iter().position(|c| c.name == n).unwrap();
    let ls0 = ls.rows.values().find(|r| r.values[col("name")].to_json() == json!("ls0")).unwrap();
    assert_eq!(ls0.values[col("other_config")].to_json(), json!(["map", [["seq", (i + 5).to_string()]]]));
}
