//! Servers for the client's tests: the real ovsdb-server (a child process)
//! or rovn's (in this process), on a file database and a unix socket, with
//! a control socket for `ovs-appctl`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use ovsdb_client::Connection;

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

/// A server process on a file database, restartable, stopped on drop.
pub struct Server {
    pub kind: Kind,
    pub db: PathBuf,
    pub sock: PathBuf,
    pub ctl: PathBuf,
    dir: PathBuf,
    child: Option<Child>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Creates a database from `schema` in `dir` (with ovsdb-tool) and serves it.
    pub async fn start(kind: Kind, dir: &Path, schema: &Path) -> Server {
        let db = dir.join("db");
        let st = Command::new("ovsdb-tool").arg("create").arg(&db).arg(schema).status().unwrap();
        assert!(st.success(), "ovsdb-tool create failed");
        let mut s = Server {
            kind,
            db,
            sock: dir.join("sock"),
            ctl: dir.join("ctl"),
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
                self.child = Some(
                    Command::new("ovsdb-server")
                        .arg(&self.db)
                        .arg(format!("--remote=punix:{}", self.sock.display()))
                        .arg(format!("--unixctl={}", self.ctl.display()))
                        .arg("--no-chdir")
                        .arg(format!("--log-file={}", self.dir.join("log").display()))
                        .spawn()
                        .unwrap(),
                );
            }
            Kind::Rovn => {
                let (core, _) = ovsdb_server::Core::open(std::slice::from_ref(&self.db)).unwrap();
                let (tx, rx) = tokio::sync::oneshot::channel::<()>();
                let server = ovsdb_server::Server::new(core, vec![ovsdb_server::Remote::Unix(self.sock.clone())])
                    .unixctl(self.ctl.clone());
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
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
