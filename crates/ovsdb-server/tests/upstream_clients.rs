//! rovn's server with the real upstream clients: `ovsdb-client` list-dbs,
//! get-schema, transact, dump, monitor and monitor-cond.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ovsdb::{Database, DatabaseSchema};
use ovsdb_server::{Core, Remote, Server};
use serde_json::Value;

fn have_upstream() -> bool {
    if Command::new("ovsdb-client").arg("--version").output().is_ok() {
        return true;
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI must have ovsdb-client (Debian openvswitch-common)");
    eprintln!("skipping: ovsdb-client not installed (apt-get install openvswitch-common)");
    false
}

/// A server on a unix socket in a temp dir, running on its own thread until dropped.
struct TestServer {
    dir: PathBuf,
    sock: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    fn start(name: &str) -> TestServer {
        let dir = std::env::temp_dir().join(format!("rovn-srv-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ovsdb/tests/data/everything.ovsschema");
        let db = Database::new(Arc::new(DatabaseSchema::from_file(&schema).unwrap()));
        let sock = dir.join("db.sock");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let remote = Remote::Unix(sock.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let server = Server::new(Core::in_memory(vec![db]), vec![remote]);
                server.run(async { let _ = rx.await; }).await.unwrap();
            });
        });
        let t = Instant::now();
        while !sock.exists() {
            assert!(t.elapsed() < Duration::from_secs(10), "server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        TestServer { dir, sock, stop: Some(tx), thread: Some(thread) }
    }

    fn target(&self) -> String {
        format!("unix:{}", self.sock.display())
    }

    fn client(&self, args: &[&str]) -> String {
        let out = Command::new("ovsdb-client")
            .args(&args[..1])
            .arg(self.target())
            .args(&args[1..])
            .output()
            .expect("run ovsdb-client");
        assert!(out.status.success(), "ovsdb-client {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn list_dbs_get_schema_transact_dump() {
    if !have_upstream() {
        return;
    }
    let srv = TestServer::start("basic");
    assert_eq!(srv.client(&["list-dbs"]), "Everything\n_Server\n");
    let schema: Value = serde_json::from_str(&srv.client(&["get-schema", "Everything"])).unwrap();
    assert_eq!(schema["name"], "Everything");
    assert_eq!(schema["version"], "1.2.3");
    let r = srv.client(&[
        "transact",
        r#"["Everything",{"op":"insert","table":"Weak","row":{"k":42,"tag":"answer"}},{"op":"select","table":"Weak","where":[["k","==",42]],"columns":["tag"]}]"#,
    ]);
    let r: Value = serde_json::from_str(&r).unwrap();
    assert!(r[0]["uuid"][1].is_string(), "{r}");
    assert_eq!(r[1]["rows"], serde_json::json!([{"tag": "answer"}]));
    let dump = srv.client(&["dump", "Everything", "Weak"]);
    assert!(dump.contains("answer") && dump.contains("42"), "{dump}");
    let dbs = srv.client(&["dump", "_Server", "Database", "name", "model"]);
    assert!(dbs.contains("Everything") && dbs.contains("standalone"), "{dbs}");
}

/// Lines of a child's stdout, read on a thread so waits can time out.
fn lines_of(r: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Collects lines until `pred` holds for the text so far (10 s at most).
fn read_until(rx: &std::sync::mpsc::Receiver<String>, pred: impl Fn(&str) -> bool) -> String {
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pred(&text) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                text.push_str(&line);
                text.push('\n');
            }
            Err(_) => panic!("timed out or monitor exited; got so far:\n{text}"),
        }
    }
    text
}

#[test]
fn monitor_and_monitor_cond_see_changes() {
    if !have_upstream() {
        return;
    }
    let srv = TestServer::start("monitor");
    srv.client(&["transact", r#"["Everything",{"op":"insert","table":"Weak","row":{"k":1,"tag":"before"}}]"#]);
    for method in ["monitor", "monitor-cond"] {
        let mut args: Vec<String> = vec![method.into(), srv.target(), "Everything".into()];
        if method == "monitor-cond" {
            args.push(r#"[["k",">",0]]"#.into());
        }
        args.extend(["Weak".into(), "k,tag".into()]);
        let mut child = Command::new("ovsdb-client")
            .args(&args)
            .arg("--format=csv")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = lines_of(child.stdout.take().unwrap());
        let _guard = KillOnDrop(child);
        let initial = read_until(&out, |t| t.contains("initial"));
        assert!(initial.contains(",1,"), "{initial}");
        let tag = format!("after-{method}");
        srv.client(&["transact", &format!(r#"["Everything",{{"op":"update","table":"Weak","where":[["k","==",1]],"row":{{"tag":"{tag}"}}}}]"#)]);
        let update = read_until(&out, |t| t.contains(&tag));
        if method == "monitor" {
            assert!(update.contains(",old,") && update.contains(",new,"), "{update}");
        } else {
            assert!(update.contains(",modify,"), "{update}");
        }
    }
}

/// Kills a child process (by its pid, through the handle) when dropped, so a
/// failing test leaves no monitor behind.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
