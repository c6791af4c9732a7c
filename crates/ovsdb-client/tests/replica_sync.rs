//! The IDL replica stays identical to the server's contents through random
//! transactions from another client and server restarts — against the real
//! ovsdb-server and against rovn's.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use ovsdb_client::{Connection, Idl};
use serde_json::{json, Map, Value};

fn schema_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ovsdb/tests/data/everything.ovsschema")
}

fn have(bin: &str) -> bool {
    if Command::new(bin).arg("--version").output().is_ok() {
        return true;
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI must have {bin} (Debian openvswitch-common)");
    eprintln!("skipping: {bin} not installed (apt-get install openvswitch-switch)");
    false
}

/// A server process on a file database, restartable, killed on drop.
enum Server {
    Upstream { child: Option<Child>, db: PathBuf, sock: PathBuf, dir: PathBuf },
    Rovn { stop: Option<tokio::sync::oneshot::Sender<()>>, task: Option<tokio::task::JoinHandle<()>>, db: PathBuf, sock: PathBuf },
}

impl Server {
    async fn start(kind: &str, dir: &Path) -> Server {
        let db = dir.join("db");
        let sock = dir.join("sock");
        let st = Command::new("ovsdb-tool").arg("create").arg(&db).arg(schema_file()).status().unwrap();
        assert!(st.success());
        let mut s = if kind == "upstream" {
            Server::Upstream { child: None, db, sock, dir: dir.to_path_buf() }
        } else {
            Server::Rovn { stop: None, task: None, db, sock }
        };
        s.up().await;
        s
    }

    fn target(&self) -> String {
        match self {
            Server::Upstream { sock, .. } | Server::Rovn { sock, .. } => format!("unix:{}", sock.display()),
        }
    }

    async fn up(&mut self) {
        let sock = match self {
            Server::Upstream { child, db, sock, dir } => {
                let _ = std::fs::remove_file(&*sock);
                *child = Some(
                    Command::new("ovsdb-server")
                        .arg(&*db)
                        .arg(format!("--remote=punix:{}", sock.display()))
                        .arg(format!("--unixctl={}", dir.join("ctl").display()))
                        .arg("--no-chdir")
                        .arg(format!("--log-file={}", dir.join("log").display()))
                        .spawn()
                        .unwrap(),
                );
                sock.clone()
            }
            Server::Rovn { stop, task, db, sock } => {
                let (core, _) = ovsdb_server::Core::open(std::slice::from_ref(db)).unwrap();
                let (tx, rx) = tokio::sync::oneshot::channel::<()>();
                let server = ovsdb_server::Server::new(core, vec![ovsdb_server::Remote::Unix(sock.clone())]);
                *task = Some(tokio::spawn(async move {
                    server.run(async { let _ = rx.await; }).await.unwrap();
                }));
                *stop = Some(tx);
                sock.clone()
            }
        };
        let t = Instant::now();
        while Connection::connect(&format!("unix:{}", sock.display())).await.is_err() {
            assert!(t.elapsed() < Duration::from_secs(10), "server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn down(&mut self) {
        match self {
            Server::Upstream { child, .. } => {
                if let Some(mut c) = child.take() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
            }
            Server::Rovn { stop, task, .. } => {
                if let Some(s) = stop.take() {
                    let _ = s.send(());
                }
                if let Some(t) = task.take() {
                    let _ = t.await;
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Server::Upstream { child: Some(c), .. } = self {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The server's contents in the replica's JSON form, read with `select`.
async fn server_contents(c: &Connection, tables: &[&str]) -> Value {
    let ops: Vec<Value> = tables.iter().map(|t| json!({"op": "select", "table": t, "where": []})).collect();
    let r = c.transact("Everything", ops).await.unwrap();
    let mut out = Map::new();
    for (t, res) in tables.iter().zip(r) {
        let mut rows = Map::new();
        for row in res["rows"].as_array().unwrap() {
            let mut row = row.as_object().unwrap().clone();
            let u = row.remove("_uuid").unwrap()[1].as_str().unwrap().to_string();
            row.remove("_version");
            rows.insert(u, Value::Object(row));
        }
        out.insert(t.to_string(), Value::Object(rows));
    }
    Value::Object(out)
}

async fn wait_in_sync(idl: &mut Idl, c: &Connection, tables: &[&str], step: usize) {
    let want = server_contents(c, tables).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if idl.replica().to_json() == want {
            return;
        }
        if Instant::now() > deadline {
            panic!("step {step}: replica differs from the server\nreplica: {}\nserver:  {want}", idl.replica().to_json());
        }
        let _ = tokio::time::timeout(Duration::from_millis(200), idl.changed()).await;
    }
}

async fn run(kind: &str) {
    let dir = std::env::temp_dir().join(format!("rovn-idl-{kind}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut server = Server::start(kind, &dir).await;
    let tables = ["Root", "Weak", "Child"];
    let mut idl = Idl::start(vec![server.target()], "Everything", &tables).await.unwrap();
    let mut writer = Connection::connect(&server.target()).await.unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for step in 0..300 {
        let k = rnd(8);
        let ops = match rnd(6) {
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
            _ => json!([{"op": "delete", "table": "Root", "where": [["i", "==", (k as i64)]]}]),
        };
        let r = writer.transact("Everything", ops.as_array().unwrap().clone()).await.unwrap();
        assert!(r.iter().all(|x| x.get("error").is_none()), "step {step}: {r:?}");
        if step % 25 == 0 {
            wait_in_sync(&mut idl, &writer, &tables, step).await;
        }
        if step == 150 || step == 225 {
            // Restart the server: the IDL reconnects and resyncs.
            server.down().await;
            server.up().await;
            writer = Connection::connect(&server.target()).await.unwrap();
        }
    }
    wait_in_sync(&mut idl, &writer, &tables, 300).await;
    // Changes taken add up to the contents.
    let ch = idl.replica().take_changes();
    let rows: usize = tables.iter().map(|t| idl.replica().table(t).unwrap().1.rows.len()).sum();
    assert!(rows > 20, "the random transactions left only {rows} rows");
    assert_eq!(ch.values().flatten().filter(|(_, d)| d.new.is_some()).count(), rows);
    drop(idl);
    server.down().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn replica_follows_upstream_server() {
    if !have("ovsdb-server") {
        return;
    }
    run("upstream").await;
}

#[tokio::test]
async fn replica_follows_rovn_server() {
    if !have("ovsdb-tool") {
        return;
    }
    run("rovn").await;
}
