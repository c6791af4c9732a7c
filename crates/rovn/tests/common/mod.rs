//! Helpers for the `rovn` command tests: running rovn and upstream tools,
//! scratch directories.

#![allow(dead_code)]

pub mod lab;
pub mod rbac;
pub mod trace_lab;
pub mod rpc;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const ROVN: &str = env!("CARGO_BIN_EXE_rovn");

/// The log tests' schema, shared with the ovsdb crate's tests.
pub fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ovsdb/tests/data/log.ovsschema")
}

/// One of the schemas the project ships.
pub fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas").join(name)
}

/// A fresh scratch directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!("rovn-{name}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    pub fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The path of an upstream binary, or None (skip) — but under CI=true a
/// missing binary fails the test.
pub fn upstream(bin: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join(bin)).find(|p| p.is_file()));
    if found.is_none() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI must have {bin} (Debian openvswitch-common)");
        eprintln!("skipping: {bin} not installed (install openvswitch-common)");
    }
    found
}

/// The python with the `ovs` package (Debian's python3-openvswitch).
pub const PYTHON: &str = "/usr/bin/python3";

/// Whether [`PYTHON`] can import `ovs.db.idl`; when it cannot, says so
/// (the test skips) — or fails, under CI=true.
pub fn python_ovs_available() -> bool {
    let ok = Command::new(PYTHON).args(["-c", "import ovs.db.idl"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI must have python3-openvswitch");
        eprintln!("skipping: {PYTHON} cannot import ovs.db.idl (install python3-openvswitch)");
    }
    ok
}

/// Exit status, stdout and stderr of a command.
pub struct Ran {
    pub code: i32,
    pub out: String,
    pub err: String,
}

pub fn ran(o: Output) -> Ran {
    Ran {
        code: o.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Runs `prog args...` with OVS_DBDIR and OVS_PKGDATADIR cleared.
pub fn exec<I, S>(prog: impl AsRef<std::ffi::OsStr>, args: I) -> Ran
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut c = Command::new(prog);
    c.args(args).env_remove("OVS_DBDIR").env_remove("OVS_PKGDATADIR");
    ran(c.output().expect("spawn"))
}

/// `rovn ovsdb-tool ARGS...`
pub fn rovn_tool<I, S>(args: I) -> Ran
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut all: Vec<std::ffi::OsString> = vec!["ovsdb-tool".into()];
    all.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
    exec(ROVN, all)
}

/// Like [`rovn_tool`] but the command must succeed; returns stdout.
pub fn rovn_ok<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let r = rovn_tool(args);
    assert_eq!(r.code, 0, "rovn failed: {}{}", r.err, r.out);
    r.out
}

/// Removes `"_version":["uuid","..."]` members from JSON text.
pub fn strip_versions(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\"_version\":[\"uuid\",\"") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 20..];
        let end = after.find("\"]").map(|j| j + 2).unwrap_or(after.len());
        rest = &after[end..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    out.push_str(rest);
    out
}

/// show-log output with the order of rows within a record and of columns
/// within a row made canonical (upstream prints them in hash order).
pub fn canonical_show_log(s: &str) -> String {
    let mut out = Vec::new();
    // Split into records at "record N:" lines; within one, a row block is a
    // "  table" line plus its "    " lines.
    let mut blocks: Vec<Vec<String>> = Vec::new();
    let flush = |blocks: &mut Vec<Vec<String>>, out: &mut Vec<String>| {
        for b in blocks.iter_mut() {
            b[1..].sort();
        }
        blocks.sort();
        for b in blocks.drain(..) {
            out.extend(b);
        }
    };
    for line in s.lines() {
        if line.starts_with("  table ") {
            blocks.push(vec![line.to_string()]);
        } else if line.starts_with("    ") && !blocks.is_empty() {
            blocks.last_mut().unwrap().push(line.to_string());
        } else {
            flush(&mut blocks, &mut out);
            out.push(line.to_string());
        }
    }
    flush(&mut blocks, &mut out);
    out.join("\n")
}

/// Query output as JSON with `_version`s removed and each table's rows in
/// a canonical order (both tools order rows by hash).
pub fn canonical_query(text: &str) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(&strip_versions(text)).unwrap_or_else(|e| panic!("{e}: {text}"));
    if let Some(results) = v.as_array_mut() {
        for r in results {
            if let Some(rows) = r.get_mut("rows").and_then(|x| x.as_array_mut()) {
                rows.sort_by_key(|row| row.to_string());
            }
        }
    }
    v
}

/// Asserts two texts are equal, showing the first differing line.
pub fn assert_lines_eq(got: &str, want: &str, what: &str) {
    if got == want {
        return;
    }
    let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
    let i = (0..g.len().max(w.len())).find(|&i| g.get(i) != w.get(i)).unwrap_or(0);
    panic!(
        "{what}: first difference at line {}:\n  got:  {:?}\n  want: {:?}\n--- got ---\n{got}\n--- want ---\n{want}",
        i + 1,
        g.get(i),
        w.get(i)
    );
}

/// An ovsdb-server (rovn's or upstream's) started with --detach, and
/// stopped by the pid in its pidfile when dropped.
pub struct Daemon {
    pub pidfile: PathBuf,
    /// Its OVS_RUNDIR.
    pub rundir: PathBuf,
}

impl Daemon {
    /// `program` (ROVN or "ovsdb-server") serving `db` on `sock`.
    pub fn start(program: &str, db: &Path, dir: &TempDir, sock: &Path) -> Daemon {
        Daemon::start_with(program, dir, sock, [db.as_os_str().to_owned(), format!("--remote=punix:{}", sock.display()).into()])
    }

    /// `program` with `args`, its pidfile and control socket at their
    /// default places under OVS_RUNDIR=`dir` (so `ovs-appctl -t
    /// ovsdb-server` finds it), logging to `dir`/server.log; returns once
    /// `sock` exists.
    pub fn start_with<I: IntoIterator<Item = OsString>>(program: &str, dir: &TempDir, sock: &Path, args: I) -> Daemon {
        let out = Command::new(program)
            .args(if program == ROVN { vec!["ovsdb-server"] } else { vec![] })
            .args(args)
            .arg("--pidfile")
            .arg(format!("--log-file={}", dir.path("server.log").display()))
            .args(["--detach", "--no-chdir"])
            .env("OVS_RUNDIR", &dir.0)
            .output()
            .expect("start server");
        assert!(out.status.success(), "{program} failed to start: {}", String::from_utf8_lossy(&out.stderr));
        let t = Instant::now();
        while !sock.exists() {
            assert!(t.elapsed() < Duration::from_secs(10), "{program}: no socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon { pidfile: dir.path("ovsdb-server.pid"), rundir: dir.0.clone() }
    }

    pub fn pid(&self) -> i32 {
        std::fs::read_to_string(&self.pidfile).unwrap().trim().parse().unwrap()
    }

    /// Whether the process is still there (a zombie waiting for init to
    /// reap it, which can take a second here, counts as gone).
    pub fn alive(pid: i32) -> bool {
        // SAFETY: signal 0 only checks that the process exists.
        let exists = unsafe { libc::kill(pid, 0) == 0 };
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')));
        exists && !zombie
    }

    /// Sends `signal` and waits (up to 10 s) for the process to go.
    pub fn kill(&self, signal: i32) {
        let pid = self.pid();
        // SAFETY: kill(2) on the pid our own daemon wrote.
        unsafe { libc::kill(pid, signal) };
        let t = Instant::now();
        while Daemon::alive(pid) && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `ovs-appctl -t ovsdb-server ARGS...`, found through OVS_RUNDIR.
    pub fn appctl(&self, args: &[&str]) -> Ran {
        let mut c = Command::new("ovs-appctl");
        c.args(["--timeout=10", "-t", "ovsdb-server"]).args(args).env("OVS_RUNDIR", &self.rundir);
        ran(c.output().expect("run ovs-appctl"))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = std::fs::read_to_string(&self.pidfile).ok().and_then(|s| s.trim().parse::<i32>().ok());
        if pid.is_some_and(|p| p > 1) {
            self.kill(libc::SIGTERM);
        }
    }
}

/// Whether every upstream binary in `bins` is installed (see [`upstream`]).
pub fn upstreams(bins: &[&str]) -> bool {
    bins.iter().all(|b| upstream(b).is_some())
}

/// A server (rovn's or upstream's) on a fresh database of one of the
/// shipped schemas, in its own scratch directory; stopped when dropped.
pub struct Served {
    /// None only while restarting.
    pub daemon: Option<Daemon>,
    pub program: String,
    pub db: PathBuf,
    pub sock: PathBuf,
    pub dir: TempDir,
}

impl Served {
    /// `program` (ROVN or "ovsdb-server") serving a new database of `schema`.
    pub fn start(program: &str, schema: &str) -> Served {
        let dir = TempDir::new(if program == ROVN { "rovn-srv" } else { "ovs-srv" });
        let db = dir.path("db");
        let r = rovn_tool([OsString::from("create"), db.clone().into(), shipped(schema).into()]);
        assert_eq!(r.code, 0, "create: {}", r.err);
        let sock = dir.path("db.sock");
        let daemon = Some(Daemon::start(program, &db, &dir, &sock));
        Served { daemon, program: program.to_string(), db, sock, dir }
    }

    /// `unix:SOCKET`, for clients' --db.
    pub fn target(&self) -> String {
        format!("unix:{}", self.sock.display())
    }

    /// Stops the server (SIGTERM).
    pub fn stop(&mut self) {
        drop(self.daemon.take());
        let _ = std::fs::remove_file(&self.sock);
    }

    /// Starts it again on the same database file and socket.
    pub fn start_again(&mut self) {
        assert!(self.daemon.is_none(), "still running");
        self.daemon = Some(Daemon::start(&self.program, &self.db, &self.dir, &self.sock));
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path("server.log")).unwrap_or_default()
    }

    /// Whether the server process is still running.
    pub fn alive(&self) -> bool {
        self.daemon.as_ref().is_some_and(|d| Daemon::alive(d.pid()))
    }
}

/// `PROG --db=TARGET --timeout=10 ARGS...` (ovs-vsctl, ovn-nbctl, ovn-sbctl).
pub fn ctl(prog: &str, target: &str, args: &[&str]) -> Ran {
    let mut c = Command::new(prog);
    c.arg(format!("--db={target}")).arg("--timeout=10").args(args);
    ran(c.output().unwrap_or_else(|e| panic!("run {prog}: {e}")))
}

/// Text with every UUID replaced by `<uuid>`.
pub fn strip_uuids(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if i + 36 <= s.len() && s.is_char_boundary(i + 36) && rpc::is_uuid(&s[i..i + 36]) {
            out.push_str("<uuid>");
            i += 36;
        } else {
            let c = s[i..].chars().next().unwrap_or_default();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}
