//! The IDL replica stays identical to the server's contents through
//! thousands of random transactions from another client, dropped
//! connections (`ovs-appctl ovsdb-server/reconnect`) and server restarts —
//! against the real ovsdb-server and against rovn's.

mod support;

use std::time::{Duration, Instant};

use ovsdb_client::{Connection, Idl};
use serde_json::json;
use support::{have, server_contents, Kind, Server, TempDir};

fn schema_file() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ovsdb/tests/data/everything.ovsschema")
}

const STEPS: usize = 2000;

async fn wait_in_sync(idl: &mut Idl, c: &Connection, tables: &[&str], step: usize) {
    let want = server_contents(c, "Everything", tables).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if idl.replica().to_json() == want {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "step {step}: replica differs from the server\nreplica: {}\nserver:  {want}",
                idl.replica().to_json()
            );
        }
        let _ = tokio::time::timeout(Duration::from_millis(200), idl.changed()).await;
    }
}

async fn connect(server: &Server) -> Connection {
    let t = Instant::now();
    loop {
        match Connection::connect(&server.target()).await {
            Ok(c) => return c,
            Err(e) => assert!(t.elapsed() < Duration::from_secs(10), "cannot reconnect: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn run(kind: Kind) {
    let dir = TempDir::new(&format!("sync-{kind:?}"));
    let mut server = Server::start(kind, &dir.0, &schema_file()).await;
    let tables = ["Root", "Weak", "Child"];
    let mut idl = Idl::start(vec![server.target()], "Everything", &tables).await.unwrap();
    let mut writer = connect(&server).await;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let (mut drops, mut restarts, mut retried) = (0, 0, 0);
    for step in 0..STEPS {
        let k = rnd(12);
        let ops = match rnd(9) {
            0 | 1 => json!([
                {"op": "insert", "table": "Weak", "row": {"k": step, "tag": format!("t{k}")}, "uuid-name": "w"},
                {"op": "insert", "table": "Child", "row": {"n": step, "w": ["named-uuid", "w"]}, "uuid-name": "c"},
                {"op": "insert", "table": "Root", "row": {"name": format!("r{step}"), "weak": ["named-uuid", "w"],
                  "kids": ["named-uuid", "c"], "sset": ["set", ["a", format!("s{k}")]],
                  "smap": ["map", [["k", format!("v{k}")]]], "i": (k as i64)}}]),
            2 => json!([{"op": "mutate", "table": "Root", "where": [["i", "==", (k as i64)]],
                         "mutations": [["sset", "insert", ["set", ["x", format!("y{step}")]]], ["smap", "delete", ["set", ["k"]]]]}]),
            3 => json!([{"op": "delete", "table": "Weak", "where": [["tag", "==", format!("t{k}")]]}]),
            4 => json!([{"op": "update", "table": "Root", "where": [["i", "==", (k as i64)]],
                         "row": {"kids": ["set", []], "sset": ["set", ["z"]]}}]),
            5 => json!([{"op": "mutate", "table": "Root", "where": [["i", "<", (k as i64)]],
                         "mutations": [["smap", "insert", ["map", [[format!("m{k}"), format!("{step}")]]]],
                                       ["i", "+=", 1]]}]),
            6 => json!([{"op": "mutate", "table": "Root", "where": [],
                         "mutations": [["sset", "delete", ["set", [format!("y{}", step.saturating_sub(k as usize))]]]]}]),
            7 => {
                json!([{"op": "update", "table": "Child", "where": [["n", ">", (step as i64) - 50]], "row": {"n": -(step as i64)}}])
            }
            _ => json!([{"op": "delete", "table": "Root", "where": [["i", "==", (k as i64)]]}]),
        };
        let ops = ops.as_array().unwrap().clone();
        let r = match writer.transact("Everything", ops.clone()).await {
            Ok(r) => r,
            Err(_) => {
                // The connection was dropped under the writer: reconnect
                // and send again (whether the first try committed does not
                // matter here; the replica is compared with the server).
                retried += 1;
                writer = connect(&server).await;
                writer.transact("Everything", ops).await.unwrap()
            }
        };
        assert!(r.iter().all(|x| x.get("error").is_none()), "step {step}: {r:?}");
        // Compare often, and always just after a disruption.
        if step % 20 == 0 || matches!(step % 250, 61 | 121 | 181) {
            wait_in_sync(&mut idl, &writer, &tables, step).await;
        }
        match step % 250 {
            // Every connection dropped: the IDL reconnects and resumes
            // while the writer goes on.
            60 | 180 => {
                server.appctl(&["ovsdb-server/reconnect"]).await;
                drops += 1;
            }
            // The server restarted.
            120 if step % 1000 == 120 => {
                server.down().await;
                server.up().await;
                writer = connect(&server).await;
                restarts += 1;
            }
            _ => {}
        }
    }
    wait_in_sync(&mut idl, &writer, &tables, STEPS).await;
    eprintln!("{kind:?}: {STEPS} transactions, {drops} dropped-connection rounds, {restarts} restarts, {retried} writer retries");
    // Changes taken add up to the contents.
    let ch = idl.replica().take_changes();
    let rows: usize = tables.iter().map(|t| idl.replica().table(t).unwrap().1.rows.len()).sum();
    assert!(rows > 20, "the random transactions left only {rows} rows");
    assert_eq!(ch.values().flatten().filter(|(_, d)| d.new.is_some()).count(), rows);
    drop(idl);
    server.down().await;
}

#[tokio::test]
async fn replica_follows_upstream_server() {
    if !have("ovsdb-server") || !have("ovs-appctl") {
        return;
    }
    run(Kind::Upstream).await;
}

#[tokio::test]
async fn replica_follows_rovn_server() {
    if !have("ovsdb-tool") || !have("ovs-appctl") {
        return;
    }
    run(Kind::Rovn).await;
}
