//! Active (outbound) remotes of `rovn ovsdb-server`: `unix:`, `tcp:` (and
//! `ssl:`, in server_tls.rs) remotes, on the command line, through
//! `ovsdb-server/add-remote` and in Connection rows. The server connects to
//! a client that listens, serves it as any client, and reconnects when the
//! client comes back. The clients here are upstream `ovsdb-client` in its
//! passive mode (`punix:`, `ptcp:`) and a listener in the test speaking raw
//! JSON-RPC; the Connection status (is_connected, state, sec_since_*,
//! locks_held/waiting/lost) is compared step by step with the real
//! ovsdb-server's.

mod common;

use std::ffi::OsString;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::rpc::Rpc;
use common::{ctl, ran, shipped, upstreams, Daemon, Ran, TempDir, ROVN};
use ovsdb::jsonrpc::Message;
use serde_json::{json, Value};

fn have_tools() -> bool {
    upstreams(&["ovsdb-server", "ovsdb-client", "ovn-nbctl", "ovs-appctl"])
}

fn ok(r: Ran, what: &str) -> String {
    assert_eq!(r.code, 0, "{what}: {}{}", r.err, r.out);
    r.out
}

/// Polls `f` every 50 ms until it gives a value (panics after 20 s).
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let t = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(t.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `program` serving a new NB database in `dir` on `dir`/admin.sock, with
/// `args`.
fn serve(program: &str, dir: &TempDir, args: &[String]) -> Daemon {
    let db = dir.path("nb.db");
    let r = common::rovn_tool([OsString::from("create"), db.clone().into(), shipped("ovn-nb.ovsschema").into()]);
    assert_eq!(r.code, 0, "create: {}", r.err);
    let sock = dir.path("admin.sock");
    let mut all = vec![db.into_os_string(), format!("--remote=punix:{}", sock.display()).into()];
    all.extend(args.iter().map(OsString::from));
    Daemon::start_with(program, dir, &sock, all)
}

/// The next connection the server makes to `l` (a test listener).
fn accept(l: &UnixListener) -> UnixStream {
    l.set_nonblocking(true).unwrap();
    let s = wait_for("the server to connect", || l.accept().ok().map(|(s, _)| s));
    s.set_nonblocking(false).unwrap();
    s
}

fn transact(rpc: &mut Rpc, ops: Value) -> Vec<Value> {
    rpc.transact("OVN_Northbound", ops)
}

#[test]
fn active_unix_remote_serves_a_listening_client_and_reconnects() {
    if !have_tools() {
        return;
    }
    let dir = TempDir::new("active-unix");
    let path = dir.path("client.sock");
    // The client listens first: the server connects at once.
    let listener = UnixListener::bind(&path).unwrap();
    let d = serve(ROVN, &dir, &[format!("--remote=unix:{}", path.display())]);
    let mut rpc = Rpc::from_stream(accept(&listener));
    assert_eq!(rpc.ok("list_dbs", json!([])), json!(["OVN_Northbound", "_Server"]));
    transact(&mut rpc, json!([{"op": "insert", "table": "Logical_Switch", "row": {"name": "one"}}]));
    let initial = rpc.ok("monitor", json!(["OVN_Northbound", "m", {"Logical_Switch": {"columns": ["name"]}}]));
    assert_eq!(initial["Logical_Switch"].as_object().map(|o| o.len()), Some(1), "{initial}");
    // A change made by another client reaches the monitor on the outbound
    // connection.
    ok(ctl("ovn-nbctl", &format!("unix:{}", dir.path("admin.sock").display()), &["ls-add", "two"]), "ls-add");
    let update = wait_for("the update", || match rpc.recv(Duration::from_millis(100)) {
        Some(Message::Notify { method, params }) if method == "update" => Some(params),
        _ => None,
    });
    assert_eq!(update[0], json!("m"));
    assert!(update[1].to_string().contains("\"two\""), "{update:?}");

    // The client goes away and listens again: the server reconnects and
    // serves the new connection from scratch.
    drop(rpc);
    drop(listener);
    std::fs::remove_file(&path).unwrap();
    let listener = UnixListener::bind(&path).unwrap();
    let mut rpc = Rpc::from_stream(accept(&listener));
    let rows =
        transact(&mut rpc, json!([{"op": "select", "table": "Logical_Switch", "where": [], "columns": ["name"]}]));
    let mut names: Vec<&str> =
        rows[0]["rows"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["one", "two"]);
    // Locks work as on any connection.
    assert_eq!(rpc.ok("lock", json!(["l"])), json!({"locked": true}));

    // While nobody listens, the server keeps trying (and says so).
    drop(rpc);
    drop(listener);
    std::fs::remove_file(&path).unwrap();
    let log = dir.path("server.log");
    wait_for("a failed attempt in the log", || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("connection attempt failed (No such file or directory)").then_some(())
    });
    // Upstream ovsdb-client, listening (punix:), gets served too.
    let r = ran(Command::new("ovsdb-client")
        .args(["--timeout=30", "list-dbs", &format!("punix:{}", path.display())])
        .output()
        .unwrap());
    assert_eq!(ok(r, "ovsdb-client list-dbs punix:"), "OVN_Northbound\n_Server\n");
    // So does ovn-nbctl (its --db may be passive too).
    let passive = format!("punix:{}", path.display());
    ok(ctl("ovn-nbctl", &passive, &["--timeout=30", "ls-add", "three"]), "ovn-nbctl --db=punix: ls-add");
    let admin = format!("unix:{}", dir.path("admin.sock").display());
    let names = ok(ctl("ovn-nbctl", &admin, &["--bare", "--columns=name", "list", "Logical_Switch"]), "list");
    let mut names: Vec<&str> = names.split_whitespace().collect();
    names.sort();
    assert_eq!(names, ["one", "three", "two"]);
    assert!(Daemon::alive(d.pid()));
}

#[test]
fn active_tcp_remote_from_add_remote_serves_ovsdb_client() {
    if !have_tools() {
        return;
    }
    let dir = TempDir::new("active-tcp");
    let d = serve(ROVN, &dir, &[]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let remote = format!("tcp:127.0.0.1:{port}");
    // ovsdb-client listens (ptcp:) for the server to connect; returns once
    // it listens.
    let mut n = 0;
    let mut transact = |name: &str| {
        n += 1;
        let log = dir.path(&format!("client{n}.log"));
        let op = json!(["OVN_Northbound", {"op": "insert", "table": "Logical_Switch", "row": {"name": name}}]);
        let child = Command::new("ovsdb-client")
            .args(["--timeout=30", &format!("--log-file={}", log.display()), "transact"])
            .args([&format!("ptcp:{port}:127.0.0.1"), &op.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for("ovsdb-client to listen", || {
            std::fs::read_to_string(&log).unwrap_or_default().contains("waiting for connection").then_some(())
        });
        child
    };
    let done = |child: std::process::Child| {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "ovsdb-client transact ptcp: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("uuid"));
    };
    done({
        let c = transact("via-tcp");
        ok(d.appctl(&["ovsdb-server/add-remote", &remote]), "add-remote");
        c
    });
    assert_eq!(
        ok(d.appctl(&["ovsdb-server/list-remotes"]), "list-remotes"),
        format!("punix:{}\n{remote}\n", dir.path("admin.sock").display())
    );
    // Another client there later: the server reconnects to it.
    done(transact("again"));
    let names = ok(ctl("ovn-nbctl", &format!("unix:{}", dir.path("admin.sock").display()), &["ls-list"]), "ls-list");
    assert!(names.contains("(via-tcp)") && names.contains("(again)"), "{names}");
    // Removed, the remote is no longer connected to.
    ok(d.appctl(&["ovsdb-server/remove-remote", &remote]), "remove-remote");
    let r = ran(Command::new("ovsdb-client")
        .args(["--timeout=3", "list-dbs", &format!("ptcp:{port}:127.0.0.1")])
        .output()
        .unwrap());
    assert_ne!(r.code, 0, "nobody connects to a removed remote: {}", r.out);
}

/// A detached upstream `ovsdb-client` (lock, steal), stopped by the pid in
/// its pidfile when dropped.
struct Client {
    pidfile: PathBuf,
    rundir: PathBuf,
}

impl Client {
    /// `ovsdb-client --detach METHOD SERVER LOCK`: returns once it has its
    /// first reply (it detaches then).
    fn start(dir: &Path, name: &str, method: &str, server: &str, lock: &str) -> Client {
        let pidfile = dir.join(format!("{name}.pid"));
        let out = Command::new("ovsdb-client")
            .args(["--detach", "--no-chdir", "--timeout=30"])
            .arg(format!("--pidfile={}", pidfile.display()))
            .arg(format!("--log-file={}", dir.join(format!("{name}.log")).display()))
            .args([method, server, lock])
            .env("OVS_RUNDIR", dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(out.status.success(), "ovsdb-client {method}: {}", String::from_utf8_lossy(&out.stderr));
        Client { pidfile, rundir: dir.to_path_buf() }
    }

    fn pid(&self) -> i32 {
        std::fs::read_to_string(&self.pidfile).unwrap().trim().parse().unwrap()
    }

    /// `ovs-appctl` to the client: `lock L`, `steal L`, `unlock L`.
    fn appctl(&self, args: &[&str]) {
        let ctl = self.rundir.join(format!("ovsdb-client.{}.ctl", self.pid()));
        let r = ran(Command::new("ovs-appctl").arg("--timeout=10").arg("-t").arg(ctl).args(args).output().unwrap());
        ok(r, "ovs-appctl to ovsdb-client");
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.pidfile).unwrap_or_default().trim().parse::<i32>() {
            // SAFETY: kill(2) on the pid of a client this test started.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let t = Instant::now();
            while Daemon::alive(pid) && t.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// The Connection row's is_connected and status, canonical: keys in
/// order, lock names sorted (upstream lists them in hash order), and the
/// seconds replaced by N (only whether they are there is compared).
fn status(admin: &str) -> String {
    let r = ctl("ovn-nbctl", admin, &["--format=json", "--columns=is_connected,status", "list", "Connection"]);
    let v: Value = serde_json::from_str(&ok(r, "list Connection")).unwrap();
    let row = &v["data"][0];
    let mut out = format!("is_connected={}", row[0]);
    let mut pairs: Vec<(String, String)> = row[1][1]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_str().unwrap().to_string()))
        .collect();
    pairs.sort();
    for (k, v) in pairs {
        let v = if k.starts_with("sec_since") {
            "N".to_string()
        } else {
            let mut w: Vec<&str> = v.split(' ').collect();
            w.sort();
            w.join(",")
        };
        out.push_str(&format!(" {k}={v}"));
    }
    out
}

#[test]
fn active_connection_status_and_locks_like_upstream() {
    if !have_tools() {
        return;
    }
    // Both servers at once: each step waits for a status write (every 2.5 s).
    let run = |program: &str| {
        let dir = TempDir::new("active-status");
        let _d = serve(program, &dir, &["--remote=db:OVN_Northbound,NB_Global,connections".to_string()]);
        let admin = format!("unix:{}", dir.path("admin.sock").display());
        let client = format!("punix:{}", dir.path("client.sock").display());
        ok(ctl("ovn-nbctl", &admin, &["init"]), "init");
        let target = format!("\"unix:{}\"", dir.path("client.sock").display());
        ok(
            ctl(
                "ovn-nbctl",
                &admin,
                &[
                    "--",
                    "--id=@c",
                    "create",
                    "Connection",
                    &format!("target={target}"),
                    "max_backoff=1000",
                    "--",
                    "set",
                    "NB_Global",
                    ".",
                    "connections=@c",
                ],
            ),
            "create Connection",
        );
        let mut steps = Vec::new();
        let mut step = |what: &str, f: &dyn Fn(&str) -> bool| {
            let s = wait_for(what, || Some(status(&admin)).filter(|s| f(s)));
            steps.push(format!("{what}: {s}"));
        };
        // Nobody listens: backing off between attempts.
        step("nobody listening", &|s| s.contains("state=BACKOFF"));
        // A client listens and takes a lock.
        let c1 = Client::start(&dir.0, "c1", "lock", &client, "L1");
        step("connected", &|s| s.contains("locks_held=L1") && s.contains("is_connected=true"));
        // More locks: held, waited for (another client holds it), lost (it
        // stole it, and was robbed in turn).
        c1.appctl(&["lock", "L2"]);
        c1.appctl(&["steal", "L5"]);
        let _c2 = Client::start(&dir.0, "c2", "lock", &admin, "L4");
        c1.appctl(&["lock", "L4"]);
        let _c3 = Client::start(&dir.0, "c3", "steal", &admin, "L5");
        step("locks", &|s| s.contains("locks_lost=L5") && s.contains("locks_waiting=L4"));
        c1.appctl(&["unlock", "L2"]);
        step("unlocked", &|s| s.contains("locks_held=L1 "));
        // The client goes away...
        drop(c1);
        step("disconnected", &|s| s.contains("is_connected=false") && s.contains("sec_since_disconnect"));
        // ... and comes back: a new session, with none of the old locks.
        let _c1 = Client::start(&dir.0, "c1", "lock", &client, "L6");
        step("reconnected", &|s| s.contains("locks_held=L6"));
        steps
    };
    let seen: Vec<Vec<String>> = std::thread::scope(|sc| {
        let threads: Vec<_> = ["ovsdb-server", ROVN].map(|p| sc.spawn(move || run(p))).into_iter().collect();
        threads.into_iter().map(|t| t.join().expect("a server's steps")).collect()
    });
    assert_eq!(seen[1], seen[0], "rovn (right) reports an active remote as ovsdb-server (left) does");
}

/// An active remote's client that never answers: the server probes it
/// after the row's inactivity_probe (status IDLE meanwhile), then drops it
/// and backs off, as the real ovsdb-server does.
#[test]
fn active_remote_probes_a_silent_client_like_upstream() {
    if !have_tools() {
        return;
    }
    let run = |program: &str| {
        let dir = TempDir::new("active-idle");
        let _d = serve(program, &dir, &["--remote=db:OVN_Northbound,NB_Global,connections".to_string()]);
        let admin = format!("unix:{}", dir.path("admin.sock").display());
        ok(ctl("ovn-nbctl", &admin, &["init"]), "init");
        let path = dir.path("silent.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let target = format!("target=\"unix:{}\"", path.display());
        let args = ["--", "--id=@c", "create", "Connection", &target, "inactivity_probe=5000", "max_backoff=1000"];
        let args: Vec<&str> = args.into_iter().chain(["--", "set", "NB_Global", ".", "connections=@c"]).collect();
        ok(ctl("ovn-nbctl", &admin, &args), "create Connection");
        // One connection only: later attempts find nobody listening.
        let mut conn = accept(&listener);
        drop(listener);
        std::fs::remove_file(&path).unwrap();
        let mut steps = Vec::new();
        let mut step = |what: &str, f: &dyn Fn(&str) -> bool| {
            let s = wait_for(what, || Some(status(&admin)).filter(|s| f(s)));
            steps.push(format!("{what}: {s}"));
        };
        step("connected", &|s| s.contains("state=ACTIVE"));
        step("probed", &|s| s.contains("state=IDLE"));
        step("dropped", &|s| s.contains("is_connected=false") && s.contains("state=BACKOFF"));
        // What the silent client received: the probe.
        let mut got = String::new();
        conn.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let _ = std::io::Read::read_to_string(&mut conn, &mut got);
        assert_eq!(got, r#"{"id":"echo","method":"echo","params":[]}"#, "{program}");
        steps
    };
    let seen: Vec<Vec<String>> = std::thread::scope(|sc| {
        let threads: Vec<_> = ["ovsdb-server", ROVN].map(|p| sc.spawn(move || run(p))).into_iter().collect();
        threads.into_iter().map(|t| t.join().expect("a server's steps")).collect()
    });
    assert_eq!(seen[1], seen[0], "rovn (right) probes as ovsdb-server (left) does");
}

/// What a client of a remote with role ovn-controller tries on the SB
/// without a certificate, so with no id: writes to the columns of tables
/// whose authorization is "" (any client), and writes its role forbids to
/// anyone. ovsdb-server 3.1 refuses them all ("RBAC rules for client
/// \"(null)\" role \"ovn-controller\" prohibit modification of table
/// \"Port_Binding\"."): a client without an id is authorized nowhere.
const RBAC_SCRIPT: &[&str] = &[
    r#"[{"op":"update","table":"Port_Binding","where":[],"row":{"up":true}}]"#,
    r#"[{"op":"update","table":"Port_Binding","where":[],"row":{"logical_port":"x"}}]"#,
    r#"[{"op":"delete","table":"Port_Binding","where":[]}]"#,
    r#"[{"op":"insert","table":"Datapath_Binding","row":{"tunnel_key":9}}]"#,
    r#"[{"op":"delete","table":"SB_Global","where":[]}]"#,
    r#"[{"op":"insert","table":"RBAC_Role","row":{"name":"mine"}}]"#,
    r#"[{"op":"insert","table":"Chassis","row":{"name":"hv1"}}]"#,
    r#"[{"op":"update","table":"Chassis","where":[["name","==","hv2"]],"row":{"nb_cfg":7}}]"#,
    r#"[{"op":"select","table":"Chassis","where":[],"columns":["name","nb_cfg"]}]"#,
];

/// RBAC holds on an active remote as on a passive one: an SB served by
/// `program` with two Connection rows of role ovn-controller, `unix:` (the
/// server connects to the test) and `punix:`, runs the same script through
/// both; returns the outcomes, active then passive.
fn rbac_outcomes(program: &str) -> (Vec<String>, Vec<String>) {
    let dir = TempDir::new("active-rbac");
    let db = dir.path("sb.db");
    let r = common::rovn_tool([OsString::from("create"), db.clone().into(), shipped("ovn-sb.ovsschema").into()]);
    assert_eq!(r.code, 0, "create: {}", r.err);
    let sock = dir.path("admin.sock");
    let args = [
        db.into_os_string(),
        format!("--remote=punix:{}", sock.display()).into(),
        "--remote=db:OVN_Southbound,SB_Global,connections".into(),
    ];
    let _d = Daemon::start_with(program, &dir, &sock, args);
    let admin = format!("unix:{}", sock.display());
    ok(ctl("ovn-sbctl", &admin, &["init"]), "init");
    let run = |args: &[&str]| ran(Command::new("ovsdb-client").arg("--timeout=10").args(args).output().unwrap());
    ok(run(&["transact", &admin, &common::rbac::rows()]), "RBAC rows");
    ok(ctl("ovn-sbctl", &admin, &["chassis-add", "hv2", "geneve", "127.0.0.2"]), "chassis hv2");
    let binding = r#"["OVN_Southbound",
        {"op":"insert","table":"Datapath_Binding","uuid-name":"dp","row":{"tunnel_key":1}},
        {"op":"insert","table":"Port_Binding","row":{"logical_port":"lp1","tunnel_key":1,"datapath":["named-uuid","dp"]}}]"#;
    ok(run(&["transact", &admin, binding]), "a port binding");
    let (active, passive) = (dir.path("client.sock"), dir.path("passive.sock"));
    let listener = UnixListener::bind(&active).unwrap();
    let conns = ["role=ovn-controller", &format!("unix:{}", active.display()), &format!("punix:{}", passive.display())];
    ok(ctl("ovn-sbctl", &admin, &[&["set-connection"][..], &conns].concat()), "set-connection");
    let outcomes = |rpc: &mut Rpc| -> Vec<String> {
        RBAC_SCRIPT
            .iter()
            .map(|txn| {
                let ops: Value = serde_json::from_str(txn).unwrap();
                let mut params = vec![json!("OVN_Southbound")];
                params.extend(ops.as_array().unwrap().iter().cloned());
                let (reply, _) = rpc.call("transact", Value::Array(params));
                common::strip_uuids(&reply.to_json()["result"].to_string())
            })
            .collect()
    };
    let mut a = Rpc::from_stream(accept(&listener));
    let on_active = outcomes(&mut a);
    wait_for("the passive remote", || passive.exists().then_some(()));
    let mut p = Rpc::connect(&passive);
    let on_passive = outcomes(&mut p);
    // Nothing the role forbids got through.
    let r = ok(ctl("ovn-sbctl", &admin, &["--bare", "--columns=logical_port,up", "list", "Port_Binding"]), "list");
    assert_eq!(r.split_whitespace().collect::<Vec<_>>(), ["lp1"], "{program}");
    let r = ok(ctl("ovn-sbctl", &admin, &["--bare", "--columns=name", "list", "Chassis"]), "list");
    assert_eq!(r.trim(), "hv2", "{program}");
    (on_active, on_passive)
}

#[test]
fn rbac_restricts_a_client_on_an_active_remote_as_on_a_passive_one() {
    if !have_tools() {
        return;
    }
    let (ours, ours_passive) = rbac_outcomes(ROVN);
    let (real, real_passive) = rbac_outcomes("ovsdb-server");
    for (i, (a, b)) in ours.iter().zip(&real).enumerate() {
        assert_eq!(a, b, "step {i} on the active remote: rovn (left) differs from ovsdb-server (right)");
    }
    assert_eq!(ours, ours_passive, "rovn: the active remote differs from the passive one");
    assert_eq!(real, real_passive, "ovsdb-server: the active remote differs from the passive one");
    // Every write was refused by the role; reading is allowed.
    assert!(ours[..8].iter().all(|r| r.contains("permission error") && r.contains("role")), "{ours:?}");
    assert!(ours[8].contains("\"rows\""), "{}", ours[8]);
}
