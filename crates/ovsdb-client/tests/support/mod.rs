//! Servers for the client's tests: the real ovsdb-server (a child process)
//! or rovn's (in this process), on a file database and a unix socket, with
//! a control socket for `ovs-appctl`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use ovsdb_client::Connection;
use serde_json::{json, Map, Value};

/// A schema file of the repository.
pub fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
}

/// True if `bin` runs; false (with a message) when it is missing outside CI.
pub fn have(bin: &str) -> bool {
    if Command::new(bin).arg("--version").output().is_ok() {
        return true;
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI must have {bin} (Debian openvswitch-switch)");
    eprintln!("skipping: {bin} not installed (apt-get install openvswitch-switch)");
    false
}

/// A fresh directory under the system's temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("rovn-client-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Upstream,
    Rovn,
}

/// How a [`Server`] listens, besides its unix socket.
#[derive(Debug, Clone, Copy, Default)]
pub struct Listen {
    /// Also on a loopback TCP port ([`Server::tcp`]).
    pub tcp: bool,
    /// rovn's server only: its inactivity probe for every remote
    /// (`Some(None)`: never), instead of each remote's default.
    pub probe: Option<Option<Duration>>,
    /// A one-member Raft cluster (`ovsdb-tool create-cluster`) instead of
    /// a standalone database: upstream keeps transaction history, and so
    /// resumes monitors, only for clustered databases.
    pub clustered: bool,
}

/// A free loopback TCP port (free when asked; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A server process on a file database, restartable, stopped on drop.
pub struct Server {
    pub kind: Kind,
    pub db: PathBuf,
    pub sock: PathBuf,
    pub ctl: PathBuf,
    /// `tcp:127.0.0.1:PORT` when listening on TCP too.
    pub tcp: Option<String>,
    listen: Listen,
    dir: PathBuf,
    child: Option<Child>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Creates a database from `schema` in `dir` (with ovsdb-tool) and serves it.
    pub async fn start(kind: Kind, dir: &Path, schema: &Path) -> Server {
        Self::start_listening(kind, dir, schema, Listen::default()).await
    }

    /// [`Server::start`], listening as `listen` says.
    pub async fn start_listening(kind: Kind, dir: &Path, schema: &Path, listen: Listen) -> Server {
        let db = dir.join("db");
        let st = if listen.clustered {
            let raft = format!("tcp:127.0.0.1:{}", free_port());
            Command::new("ovsdb-tool").arg("create-cluster").arg(&db).arg(schema).arg(raft).status().unwrap()
        } else {
            Command::new("ovsdb-tool").arg("create").arg(&db).arg(schema).status().unwrap()
        };
        assert!(st.success(), "ovsdb-tool create failed");
        let mut s = Server {
            kind,
            db,
            sock: dir.join("sock"),
            ctl: dir.join("ctl"),
            tcp: None,
            listen,
            dir: dir.to_path_buf(),
            child: None,
            stop: None,
            task: None,
        };
        s.up().await;
        s
    }

    pub fn target(&self) -> String {
        format!("unix:{}", self.sock.display())
    }

    pub async fn up(&mut self) {
        let _ = std::fs::remove_file(&self.sock);
        match self.kind {
            Kind::Upstream => {
                let log = self.dir.join("log");
                let _ = std::fs::remove_file(&log);
                let mut cmd = Command::new("ovsdb-server");
                cmd.arg(&self.db)
                    .arg(format!("--remote=punix:{}", self.sock.display()))
                    .arg(format!("--unixctl={}", self.ctl.display()))
                    .arg("--no-chdir")
                    .arg(format!("--log-file={}", log.display()));
                if self.listen.tcp {
                    cmd.arg("--remote=ptcp:0:127.0.0.1");
                }
                self.child = Some(cmd.spawn().unwrap());
                if self.listen.tcp {
                    // The port it bound, from its log.
                    let t = Instant::now();
                    let port = loop {
                        let text = std::fs::read_to_string(&log).unwrap_or_default();
                        if let Some(p) = text.lines().find_map(|l| l.split("listening on port ").nth(1)) {
                            break p.trim().to_string();
                        }
                        assert!(t.elapsed() < Duration::from_secs(10), "ovsdb-server did not log its TCP port");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    };
                    self.tcp = Some(format!("tcp:127.0.0.1:{port}"));
                }
            }
            Kind::Rovn => {
                let (core, _) = ovsdb_server::Core::open(std::slice::from_ref(&self.db)).unwrap();
                let (tx, rx) = tokio::sync::oneshot::channel::<()>();
                let mut remotes = vec![ovsdb_server::Remote::Unix(self.sock.clone())];
                if self.listen.tcp {
                    let port = free_port();
                    remotes.push(ovsdb_server::Remote::Tcp(format!("127.0.0.1:{port}")));
                    self.tcp = Some(format!("tcp:127.0.0.1:{port}"));
                }
                let mut server = ovsdb_server::Server::new(core, remotes).unixctl(self.ctl.clone());
                if let Some(p) = self.listen.probe {
                    server = server.inactivity_probe(p);
                }
                self.task = Some(tokio::spawn(async move {
                    server
                        .run(async {
                            let _ = rx.await;
                        })
                        .await
                        .unwrap();
                }));
                self.stop = Some(tx);
            }
        }
        let t = Instant::now();
        while Connection::connect(&self.target()).await.is_err() {
            assert!(t.elapsed() < Duration::from_secs(10), "server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The upstream server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends `sig` (e.g. "-STOP") to the upstream server.
    pub fn signal(&self, sig: &str) {
        let pid = self.pid().expect("an upstream server");
        let st = Command::new("kill").args([sig, &pid.to_string()]).status().unwrap();
        assert!(st.success(), "kill {sig} {pid}");
    }

    pub async fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    /// Runs `ovs-appctl` against the server's control socket (off the
    /// runtime's thread: rovn's server runs on it).
    pub async fn appctl(&self, args: &[&str]) -> String {
        let ctl = self.ctl.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let o = tokio::task::spawn_blocking(move || {
            let o = Command::new("ovs-appctl").arg("-t").arg(&ctl).args(&args).output().unwrap();
            assert!(o.status.success(), "ovs-appctl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
            o
        })
        .await
        .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // A stopped server dies of SIGKILL all the same; continue it
            // anyway so that nothing lingers stopped.
            let _ = Command::new("kill").args(["-CONT", &c.id().to_string()]).status();
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The contents of `tables` of `db` in the replica's JSON form (rows by
/// UUID, without `_uuid` and `_version`), read with `select`: what an exact
/// replica's `to_json` equals.
pub async fn server_contents(c: &Connection, db: &str, tables: &[&str]) -> Value {
    let ops: Vec<Value> = tables.iter().map(|t| json!({"op": "select", "table": t, "where": []})).collect();
    let r = c.transact(db, ops).await.unwrap();
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
