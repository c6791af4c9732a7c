//! TLS, `db:` remotes and role-based access control in `rovn ovsdb-server`,
//! proven with upstream clients (ovsdb-client, ovn-nbctl, ovn-sbctl) and
//! certificates made by ovs-pki, side by side with the real ovsdb-server.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{ctl, ran, shipped, strip_uuids, upstreams, Daemon, Ran, TempDir, ROVN};

fn have_tools() -> bool {
    upstreams(&["ovsdb-server", "ovsdb-client", "ovn-nbctl", "ovn-sbctl", "ovs-pki", "python3"])
}

/// A PKI made by ovs-pki: the switch and controller CAs, the server's
/// certificate (`sb`, signed by the controller CA) and the chassis' (`hv1`,
/// `hv2`, signed by the switch CA), plus `evil`, whose certificate comes
/// from another PKI.
struct Pki {
    dir: PathBuf,
}

fn ovs_pki(dir: &Path, args: &[&str]) {
    let r = ran(Command::new("ovs-pki")
        .arg(format!("--dir={}", dir.display()))
        .arg(format!("--log={}", dir.with_extension("log").display()))
        .args(args)
        .current_dir(dir.parent().unwrap())
        .output()
        .expect("run ovs-pki"));
    assert_eq!(r.code, 0, "ovs-pki {args:?}: {}{}", r.err, r.out);
}

impl Pki {
    fn new(dir: &TempDir, evil: bool) -> Pki {
        let pki = dir.path("pki");
        ovs_pki(&pki, &["init"]);
        ovs_pki(&pki, &["-u", "req+sign", "sb", "controller"]);
        for hv in ["hv1", "hv2"] {
            ovs_pki(&pki, &["-u", "req+sign", hv, "switch"]);
        }
        if evil {
            let other = dir.path("other-pki");
            ovs_pki(&other, &["init"]);
            ovs_pki(&other, &["-u", "req+sign", "evil", "switch"]);
        }
        Pki { dir: dir.0.clone() }
    }

    fn file(&self, f: &str) -> String {
        self.dir.join(f).display().to_string()
    }

    /// The server's options: its key and certificate, and the CA that signs
    /// the chassis'.
    fn server_args(&self) -> Vec<OsString> {
        vec![
            format!("--private-key={}", self.file("sb-privkey.pem")).into(),
            format!("--certificate={}", self.file("sb-cert.pem")).into(),
            format!("--ca-cert={}", self.file("pki/switchca/cacert.pem")).into(),
        ]
    }

    /// A client's options: `who`'s key and certificate, trusting `ca`.
    fn client_args(&self, who: &str, ca: &str) -> Vec<String> {
        vec![
            format!("--private-key={}", self.file(&format!("{who}-privkey.pem"))),
            format!("--certificate={}", self.file(&format!("{who}-cert.pem"))),
            format!("--ca-cert={}", self.file(ca)),
        ]
    }

    fn chassis(&self, who: &str) -> Vec<String> {
        let file = if who == "evil" { "evil" } else { who };
        self.client_args(file, "pki/controllerca/cacert.pem")
    }
}

/// `ovsdb-client ARGS...` with a timeout.
fn ovsdb_client(args: &[String]) -> Ran {
    ran(Command::new("ovsdb-client").arg("--timeout=10").args(args).output().expect("run ovsdb-client"))
}

/// A TCP port free right now on 127.0.0.1.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `f` every 50 ms until it gives a value (panics after 15 s).
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let t = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A server (`program`) on a new database of `schema` in `dir`, with
/// `args`; its unix socket is `dir`/db.sock.
fn serve(program: &str, schema: &str, dir: &TempDir, args: Vec<OsString>) -> Daemon {
    let db = dir.path("db");
    let r = common::rovn_tool([OsString::from("create"), db.clone().into(), shipped(schema).into()]);
    assert_eq!(r.code, 0, "create: {}", r.err);
    let sock = dir.path("db.sock");
    let mut all = vec![db.into_os_string(), format!("--remote=punix:{}", sock.display()).into()];
    all.extend(args);
    Daemon::start_with(program, dir, &sock, all)
}

fn unix(dir: &TempDir) -> String {
    format!("unix:{}", dir.path("db.sock").display())
}

fn ok(r: Ran, what: &str) -> String {
    assert_eq!(r.code, 0, "{what}: {}{}", r.err, r.out);
    r.out
}

/// Sends `list_dbs` over TLS without a client certificate (python's ssl
/// module, trusting the server's CA); returns the reply, or the error.
fn list_dbs_without_certificate(port: u16, ca: &str) -> Result<String, String> {
    let script = r#"
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.check_hostname = False
try:
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10))
    s.sendall(b'{"id":1,"method":"list_dbs","params":[]}')
    data = s.recv(65536)
    if not data:
        print("closed"); sys.exit(1)
    print(data.decode()); sys.exit(0)
except Exception as e:
    print(type(e).__name__, e); sys.exit(1)
"#;
    let r = ran(Command::new("python3").args(["-c", script, &port.to_string(), ca]).output().expect("run python3"));
    if r.code == 0 {
        Ok(r.out)
    } else {
        Err(r.out + &r.err)
    }
}

#[test]
fn pssl_requires_a_certificate_signed_by_the_ca() {
    if !have_tools() {
        return;
    }
    let dir = TempDir::new("tls-auth");
    let pki = Pki::new(&dir, true);
    let port = free_port();
    let mut args = pki.server_args();
    args.push(format!("--remote=pssl:{port}:127.0.0.1").into());
    let srv = serve(ROVN, "ovn-sb.ovsschema", &dir, args);
    let target = format!("ssl:127.0.0.1:{port}");
    wait_for("the pssl: listener", || std::net::TcpStream::connect(("127.0.0.1", port)).ok());

    // A chassis with a certificate from the switch CA gets in.
    let mut a = pki.chassis("hv1");
    a.extend(["list-dbs".into(), target.clone()]);
    assert_eq!(ok(ovsdb_client(&a), "list-dbs over ssl"), "OVN_Southbound\n_Server\n");

    // A certificate from another CA is refused...
    let mut a = pki.chassis("evil");
    a.extend(["list-dbs".into(), target.clone()]);
    let r = ovsdb_client(&a);
    assert_ne!(r.code, 0, "a certificate from another CA must be refused: {}", r.out);
    // ... so is a client with no certificate at all ...
    let r = list_dbs_without_certificate(port, &pki.file("pki/controllerca/cacert.pem"));
    assert!(r.is_err(), "a client without a certificate must be refused: {r:?}");
    // ... and plain TCP on the SSL port gets nothing.
    let r = ovsdb_client(&["list-dbs".into(), format!("tcp:127.0.0.1:{port}")]);
    assert_ne!(r.code, 0, "plain TCP must not be served on pssl: {}", r.out);
    // The client checks the server too: trusting the wrong CA, it refuses.
    let mut a = pki.client_args("hv1", "pki/switchca/cacert.pem");
    a.extend(["list-dbs".into(), target.clone()]);
    let r = ovsdb_client(&a);
    assert_ne!(r.code, 0, "the server's certificate is signed by the controller CA: {}", r.out);

    // The server kept serving: ovn-sbctl over SSL works end to end.
    let sbctl = |args: &[&str]| {
        let mut c = Command::new("ovn-sbctl");
        c.args(pki.chassis("hv1")).arg(format!("--db={target}")).arg("--timeout=10").args(args);
        ran(c.output().expect("run ovn-sbctl"))
    };
    ok(sbctl(&["init"]), "ovn-sbctl init over ssl");
    ok(sbctl(&["chassis-add", "hv1", "geneve", "127.0.0.1"]), "chassis-add over ssl");
    let out = ok(sbctl(&["--bare", "--columns=name", "list", "Chassis"]), "list");
    assert_eq!(out.trim(), "hv1");
    let log = std::fs::read_to_string(dir.path("server.log")).unwrap();
    assert!(log.contains("SSL handshake failed"), "refusals are logged:\n{log}");
    assert!(Daemon::alive(srv.pid()));
}

#[test]
fn ssl_options_errors_are_clear() {
    if !have_tools() {
        return;
    }
    let dir = TempDir::new("tls-errors");
    let db = dir.path("db");
    let r = common::rovn_tool([OsString::from("create"), db.clone().into(), shipped("ovn-sb.ovsschema").into()]);
    assert_eq!(r.code, 0);
    let run = |args: &[&str]| {
        ran(Command::new(ROVN).arg("ovsdb-server").arg(&db).args(args).arg("--unixctl=none").output().unwrap())
    };
    let r = run(&["--remote=pssl:0:127.0.0.1"]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("--private-key, --certificate and --ca-cert"), "{}", r.err);
    let missing = dir.path("nosuch.pem").display().to_string();
    let r = run(&["--remote=pssl:0:127.0.0.1", &format!("--private-key={missing}"), "--certificate=x", "--ca-cert=y"]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains(&missing), "the error names the file: {}", r.err);
    let r = run(&["--remote=ssl:127.0.0.1:6640"]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("--private-key, --certificate and --ca-cert"), "{}", r.err);
    let r = run(&["--remote=tcp:127.0.0.1:x"]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("bad port"), "{}", r.err);
    let r = run(&[&format!("--bootstrap-ca-cert={missing}")]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("not supported"), "{}", r.err);
}

/// A background `ovsdb-client monitor` (a connected client), killed by pid
/// when dropped.
struct Monitor(Child);

impl Monitor {
    fn start(target: &str, db: &str) -> Monitor {
        Monitor::run(&["monitor", target, db, "NB_Global"])
    }

    /// `ovsdb-client lock`: holds the lock until killed.
    fn lock(target: &str, name: &str) -> Monitor {
        Monitor::run(&["lock", target, name])
    }

    fn run(args: &[&str]) -> Monitor {
        let c = Command::new("ovsdb-client")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ovsdb-client monitor");
        Monitor(c)
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The Connection row's `is_connected` and `status` as ovn-nbctl prints
/// them, with the port number replaced by PORT.
fn connection_status(target: &str, port: u16) -> String {
    let r = ctl("ovn-nbctl", target, &["--bare", "--columns=is_connected,status", "list", "Connection"]);
    ok(r, "list Connection").replace(&port.to_string(), "PORT")
}

#[test]
fn set_connection_opens_and_closes_listeners_like_upstream() {
    if !have_tools() {
        return;
    }
    let mut seen: Vec<Vec<String>> = Vec::new();
    for program in ["ovsdb-server", ROVN] {
        let dir = TempDir::new("tls-dbremote");
        let _srv =
            serve(program, "ovn-nb.ovsschema", &dir, vec!["--remote=db:OVN_Northbound,NB_Global,connections".into()]);
        let admin = unix(&dir);
        ok(ctl("ovn-nbctl", &admin, &["init"]), "init");
        let port = free_port();
        let tcp = format!("tcp:127.0.0.1:{port}");
        ok(ctl("ovn-nbctl", &admin, &["set-connection", &format!("ptcp:{port}:127.0.0.1")]), "set-connection");
        // The server listens where the row says...
        wait_for("the server to listen", || (ctl("ovn-nbctl", &tcp, &["ls-add", "sw0"]).code == 0).then_some(()));
        // ... and reports its status there.
        let mut steps = Vec::new();
        let idle = "false\nbound_port=PORT sec_since_connect=0 sec_since_disconnect=0\n";
        wait_for("status while idle", || (connection_status(&admin, port) == idle).then_some(()));
        steps.push(connection_status(&admin, port));
        let m1 = Monitor::start(&tcp, "OVN_Northbound");
        wait_for("is_connected", || connection_status(&admin, port).starts_with("true").then_some(()));
        steps.push(connection_status(&admin, port));
        // A client holding a lock: a passive remote's status names no locks
        // (only an active remote's does: tests/active_remotes.rs).
        let m2 = Monitor::lock(&tcp, "l");
        wait_for("n_connections", || connection_status(&admin, port).contains("n_connections=2").then_some(()));
        steps.push(connection_status(&admin, port));
        drop((m1, m2));
        wait_for("back to idle", || (connection_status(&admin, port) == idle).then_some(()));
        // Removing the connection closes the listener.
        ok(ctl("ovn-nbctl", &admin, &["del-connection"]), "del-connection");
        wait_for("the listener to close", || std::net::TcpStream::connect(("127.0.0.1", port)).is_err().then_some(()));
        assert!(ctl("ovn-nbctl", &admin, &["ls-list"]).out.contains("sw0"));
        seen.push(steps);
    }
    assert_eq!(seen[1], seen[0], "rovn (right) reports remotes as ovsdb-server (left) does");
}

/// What chassis hv1 tries on the SB through the role-restricted remote:
/// its own rows (allowed), hv2's rows and other tables (refused).
const HV1_SCRIPT: &[&str] = &[
    r#"[{"op":"insert","table":"Encap","uuid-name":"e","row":{"chassis_name":"hv1","type":"geneve","ip":"127.0.0.1"}},
        {"op":"insert","table":"Chassis","row":{"name":"hv1","hostname":"h1","encaps":["named-uuid","e"]}}]"#,
    r#"[{"op":"update","table":"Chassis","where":[["name","==","hv1"]],"row":{"nb_cfg":5,"external_ids":["map",[["k","v"]]]}}]"#,
    r#"[{"op":"mutate","table":"Chassis","where":[["name","==","hv1"]],"mutations":[["nb_cfg","+=",1]]}]"#,
    r#"[{"op":"update","table":"Encap","where":[["chassis_name","==","hv1"]],"row":{"ip":"127.0.0.9"}}]"#,
    r#"[{"op":"update","table":"Chassis","where":[["name","==","hv1"]],"row":{"hostname":"h1"}}]"#,
    r#"[{"op":"update","table":"Encap","where":[["chassis_name","==","hv1"]],"row":{"chassis_name":"hv2"}}]"#,
    r#"[{"op":"insert","table":"Chassis","row":{"name":"hv2b"}}]"#,
    r#"[{"op":"update","table":"Chassis","where":[["name","==","hv2"]],"row":{"nb_cfg":7}}]"#,
    r#"[{"op":"mutate","table":"Chassis","where":[],"mutations":[["nb_cfg","+=",1]]}]"#,
    r#"[{"op":"delete","table":"Chassis","where":[["name","==","hv2"]]}]"#,
    r#"[{"op":"delete","table":"Chassis","where":[["name","==","nosuch"]]}]"#,
    r#"[{"op":"select","table":"Chassis","where":[["name","==","hv2"]],"columns":["name","nb_cfg"]},
        {"op":"insert","table":"Encap","row":{"chassis_name":"hv2","type":"geneve","ip":"127.0.0.2"}}]"#,
    r#"[{"op":"update","table":"Port_Binding","where":[],"row":{"up":true}}]"#,
    r#"[{"op":"update","table":"Port_Binding","where":[],"row":{"logical_port":"x"}}]"#,
    r#"[{"op":"delete","table":"Port_Binding","where":[]}]"#,
    r#"[{"op":"insert","table":"Datapath_Binding","row":{"tunnel_key":9}}]"#,
    r#"[{"op":"update","table":"Datapath_Binding","where":[["tunnel_key","==",1000]],"row":{"tunnel_key":3}}]"#,
    r#"[{"op":"delete","table":"SB_Global","where":[]}]"#,
    r#"[{"op":"insert","table":"RBAC_Role","row":{"name":"mine"}}]"#,
    r#"[{"op":"insert","table":"Chassis_Private","row":{"name":"hv1","nb_cfg":1}}]"#,
    r#"[{"op":"insert","table":"Chassis_Private","row":{"name":"hv2"}}]"#,
    r#"[{"op":"update","table":"Chassis_Private","where":[],"row":{"nb_cfg":2}}]"#,
];

/// `program` serving a Southbound database set up as ovn-ctl and an
/// ovn-controller deployment have it: remotes and PKI read from the database
/// (`set-ssl` with the server's certificate), `set-connection CONNS` (none
/// if empty), the RBAC rows, chassis hv2 and a port binding lp1. Returns
/// the server and its unix target for the admin's clients.
fn rbac_sb(program: &str, pki: &Pki, dir: &TempDir, conns: &[&str]) -> (Daemon, String) {
    let args: Vec<OsString> = vec![
        "--remote=db:OVN_Southbound,SB_Global,connections".into(),
        "--private-key=db:OVN_Southbound,SSL,private_key".into(),
        "--certificate=db:OVN_Southbound,SSL,certificate".into(),
        "--ca-cert=db:OVN_Southbound,SSL,ca_cert".into(),
    ];
    let srv = serve(program, "ovn-sb.ovsschema", dir, args);
    let admin = unix(dir);
    ok(ctl("ovn-sbctl", &admin, &["init"]), "init");
    let (key, cert, ca) = (pki.file("sb-privkey.pem"), pki.file("sb-cert.pem"), pki.file("pki/switchca/cacert.pem"));
    ok(ctl("ovn-sbctl", &admin, &["set-ssl", &key, &cert, &ca]), "set-ssl");
    if !conns.is_empty() {
        ok(ctl("ovn-sbctl", &admin, &[&["set-connection"][..], conns].concat()), "set-connection");
    }
    ok(ovsdb_client(&["transact".into(), admin.clone(), common::rbac::rows()]), "RBAC rows");
    ok(ctl("ovn-sbctl", &admin, &["chassis-add", "hv2", "geneve", "127.0.0.2"]), "chassis hv2");
    let binding = r#"["OVN_Southbound",
        {"op":"insert","table":"Datapath_Binding","uuid-name":"dp","row":{"tunnel_key":1}},
        {"op":"insert","table":"Port_Binding","row":{"logical_port":"lp1","tunnel_key":1,"datapath":["named-uuid","dp"]}}]"#;
    ok(ovsdb_client(&["transact".into(), admin.clone(), binding.into()]), "a port binding");
    (srv, admin)
}

#[test]
fn rbac_confines_a_chassis_to_its_own_rows_like_upstream() {
    if !have_tools() {
        return;
    }
    let mut seen: Vec<Vec<String>> = Vec::new();
    let pki_dir = TempDir::new("tls-rbac-pki");
    let pki = Pki::new(&pki_dir, false);
    for program in ["ovsdb-server", ROVN] {
        let dir = TempDir::new("tls-rbac");
        let conns = ["role=ovn-controller", "pssl:0:127.0.0.1", "read-only", "ptcp:0:127.0.0.1"];
        let (_srv, admin) = rbac_sb(program, &pki, &dir, &conns);
        // The ports the kernel chose, from the status the server writes.
        let bound = |target: &str| -> u16 {
            wait_for("bound_port", || {
                let r = ctl(
                    "ovn-sbctl",
                    &admin,
                    &["--bare", "--columns=status", "find", "Connection", &format!("target=\"{target}\"")],
                );
                r.out.split_whitespace().find_map(|kv| kv.strip_prefix("bound_port=")?.parse().ok())
            })
        };
        let (port, ro_port) = (bound("pssl:0:127.0.0.1"), bound("ptcp:0:127.0.0.1"));
        let target = format!("ssl:127.0.0.1:{port}");
        let mut steps = Vec::new();
        for txn in HV1_SCRIPT {
            let txn = format!("[\"OVN_Southbound\",{}", &txn.trim()[1..]);
            let mut a = pki.chassis("hv1");
            a.extend(["transact".into(), target.clone(), txn]);
            let r = ovsdb_client(&a);
            steps.push(strip_uuids(&format!("{} {}", r.code, r.out.trim())));
        }
        // ovn-sbctl over SSL: hv1 cannot delete hv2 (which has no
        // Chassis_Private row: ovn-sbctl orders a transaction's operations
        // by hash, and the first refused one is reported); hv2 can change
        // its own chassis.
        let sbctl = |who: &str, args: &[&str]| {
            let mut c = Command::new("ovn-sbctl");
            c.args(pki.chassis(who)).arg(format!("--db={target}")).arg("--timeout=10").args(args);
            ran(c.output().expect("run ovn-sbctl"))
        };
        let r = sbctl("hv1", &["chassis-del", "hv2"]);
        steps.push(format!("{} {}", r.code, r.err.lines().last().unwrap_or_default()));
        let r = sbctl("hv2", &["set", "Chassis", "hv2", "external_ids:mine=yes"]);
        steps.push(format!("{} {}", r.code, r.err.trim()));
        // The read-only remote refuses every write.
        let r = ctl("ovn-sbctl", &format!("tcp:127.0.0.1:{ro_port}"), &["chassis-del", "hv2"]);
        steps.push(format!("{} {}", r.code, r.err.lines().last().unwrap_or_default()));
        let r = ctl(
            "ovn-sbctl",
            &format!("tcp:127.0.0.1:{ro_port}"),
            &["--bare", "--columns=name", "list", "Chassis_Private"],
        );
        steps.push(format!("{} {}", r.code, r.out.trim()));
        let r = ctl("ovn-sbctl", &admin, &["--bare", "--columns=name,nb_cfg,external_ids", "list", "Chassis"]);
        let mut rows: Vec<String> = ok(r, "list").split("\n\n").map(|s| s.trim().to_string()).collect();
        rows.sort();
        steps.push(rows.join(" | "));
        seen.push(steps);
    }
    for (i, (up, ro)) in seen[0].iter().zip(&seen[1]).enumerate() {
        assert_eq!(ro, up, "step {i}: rovn (left) differs from ovsdb-server (right)");
    }
    // The script did exercise both outcomes.
    assert!(seen[1][0].starts_with("0 [{\"uuid\""), "hv1 registers itself: {}", seen[1][0]);
    assert!(seen[1][9].contains("permission error"), "hv1 cannot delete hv2: {}", seen[1][9]);
}

/// RBAC on an active `ssl:` remote (a Connection row of role
/// ovn-controller whose target the server connects to): the chassis that
/// listens there (upstream ovsdb-client on `pssl:` with hv1's certificate)
/// is known by its certificate's CN and confined to its own rows, as on a
/// `pssl:` remote; the same answers from rovn and ovsdb-server 3.1.
#[test]
fn rbac_on_an_active_ssl_remote_knows_the_chassis_by_its_certificate() {
    if !have_tools() {
        return;
    }
    let pki_dir = TempDir::new("tls-active-rbac-pki");
    let pki = Pki::new(&pki_dir, false);
    let steps = [
        r#"[{"op":"insert","table":"Encap","uuid-name":"e","row":{"chassis_name":"hv1","type":"geneve","ip":"127.0.0.1"}},
            {"op":"insert","table":"Chassis","row":{"name":"hv1","hostname":"h1","encaps":["named-uuid","e"]}}]"#,
        r#"[{"op":"update","table":"Chassis","where":[["name","==","hv2"]],"row":{"nb_cfg":7}}]"#,
        r#"[{"op":"update","table":"Port_Binding","where":[],"row":{"up":true}}]"#,
        r#"[{"op":"insert","table":"Datapath_Binding","row":{"tunnel_key":9}}]"#,
    ];
    let mut seen: Vec<Vec<String>> = Vec::new();
    for program in ["ovsdb-server", ROVN] {
        let dir = TempDir::new("tls-active-rbac");
        let (_srv, admin) = rbac_sb(program, &pki, &dir, &[]);
        // The server retries every second at most while nobody listens.
        let port = free_port();
        let conn = format!(
            r#"["OVN_Southbound",{{"op":"insert","table":"Connection","uuid-name":"c",
                "row":{{"target":"ssl:127.0.0.1:{port}","role":"ovn-controller","max_backoff":1000}}}},
               {{"op":"update","table":"SB_Global","where":[],"row":{{"connections":["named-uuid","c"]}}}}]"#
        );
        ok(ovsdb_client(&["transact".into(), admin.clone(), conn]), "the active Connection");
        let mut outcomes = Vec::new();
        for txn in steps {
            let txn = format!("[\"OVN_Southbound\",{}", &txn.trim()[1..]);
            let mut a = pki.chassis("hv1");
            a.extend(["--timeout=30".into(), "transact".into(), format!("pssl:{port}:127.0.0.1"), txn]);
            let r = ran(Command::new("ovsdb-client").args(&a).output().expect("run ovsdb-client"));
            outcomes.push(strip_uuids(&format!("{} {}", r.code, r.out.trim())));
        }
        let r = ctl("ovn-sbctl", &admin, &["--bare", "--columns=name", "list", "Chassis"]);
        let mut names: Vec<String> = ok(r, "list").split_whitespace().map(str::to_string).collect();
        names.sort();
        outcomes.push(names.join(" "));
        seen.push(outcomes);
    }
    for (i, (up, ro)) in seen[0].iter().zip(&seen[1]).enumerate() {
        assert_eq!(ro, up, "step {i}: rovn (left) differs from ovsdb-server (right)");
    }
    let ours = &seen[1];
    assert!(ours[0].starts_with("0 [{\"uuid\""), "hv1 registers itself: {}", ours[0]);
    assert!(ours[1].contains(r#"RBAC rules for client \"hv1\" role \"ovn-controller\" prohibit"#), "{}", ours[1]);
    assert!(ours[2].starts_with("0 [{\"count\":1}"), "hv1 sets up on a port binding: {}", ours[2]);
    assert!(ours[3].contains("permission error"), "{}", ours[3]);
    assert_eq!(ours[4], "hv1 hv2");
}

/// An Open_vSwitch database served by rovn for one chassis, configured the
/// way ovn-controller reads it.
fn chassis_db(dir: &TempDir, system_id: &str, sb_target: &str) -> Daemon {
    let srv = serve(ROVN, "vswitch.ovsschema", dir, vec![]);
    let db = unix(dir);
    ok(ctl("ovs-vsctl", &db, &["--no-wait", "init"]), "ovs-vsctl init");
    let ids = [
        format!("external_ids:system-id={system_id}"),
        format!("external_ids:ovn-remote={sb_target}"),
        "external_ids:ovn-encap-type=geneve".into(),
        "external_ids:ovn-encap-ip=127.0.0.1".into(),
        "external_ids:ovn-bridge-datapath-type=netdev".into(),
    ];
    let mut args = vec!["--no-wait", "set", "Open_vSwitch", "."];
    args.extend(ids.iter().map(String::as_str));
    ok(ctl("ovs-vsctl", &db, &args), "ovs-vsctl set");
    srv
}

/// Upstream ovn-controller on the chassis database in `dir`, with `who`'s
/// certificate; stopped by its pid when dropped.
fn ovn_controller(dir: &TempDir, pki: &Pki, who: &str) -> Daemon {
    let pidfile = dir.path("ovn-controller.pid");
    let r = ran(Command::new("ovn-controller")
        .arg(unix(dir))
        .args(pki.chassis(who))
        .arg(format!("--pidfile={}", pidfile.display()))
        .arg(format!("--log-file={}", dir.path("ovn-controller.log").display()))
        .args(["--detach", "--no-chdir"])
        .env("OVS_RUNDIR", &dir.0)
        .env("OVN_RUNDIR", &dir.0)
        .output()
        .expect("start ovn-controller"));
    assert_eq!(r.code, 0, "ovn-controller: {}", r.err);
    Daemon { pidfile, rundir: dir.0.clone() }
}

#[test]
fn ovn_controller_registers_its_chassis_through_an_rbac_remote() {
    if !have_tools() || !upstreams(&["ovn-controller", "ovs-vsctl"]) {
        return;
    }
    let pki_dir = TempDir::new("tls-ctl-pki");
    let pki = Pki::new(&pki_dir, false);
    let sb_dir = TempDir::new("tls-ctl-sb");
    let args: Vec<OsString> = vec![
        "--remote=db:OVN_Southbound,SB_Global,connections".into(),
        "--private-key=db:OVN_Southbound,SSL,private_key".into(),
        "--certificate=db:OVN_Southbound,SSL,certificate".into(),
        "--ca-cert=db:OVN_Southbound,SSL,ca_cert".into(),
    ];
    let _sb = serve(ROVN, "ovn-sb.ovsschema", &sb_dir, args);
    let admin = unix(&sb_dir);
    ok(ctl("ovn-sbctl", &admin, &["init"]), "init");
    let (key, cert, ca) = (pki.file("sb-privkey.pem"), pki.file("sb-cert.pem"), pki.file("pki/switchca/cacert.pem"));
    ok(ctl("ovn-sbctl", &admin, &["set-ssl", &key, &cert, &ca]), "set-ssl");
    ok(ctl("ovn-sbctl", &admin, &["set-connection", "role=ovn-controller", "pssl:0:127.0.0.1"]), "set-connection");
    ok(ovsdb_client(&["transact".into(), admin.clone(), common::rbac::rows()]), "RBAC rows");
    let port: u16 = wait_for("bound_port", || {
        let r = ctl("ovn-sbctl", &admin, &["get", "Connection", ".", "status:bound_port"]);
        r.out.trim().trim_matches('"').parse().ok()
    });
    let target = format!("ssl:127.0.0.1:{port}");

    // hv1, with hv1's certificate, registers itself.
    let hv1 = TempDir::new("tls-ctl-hv1");
    let _hv1_db = chassis_db(&hv1, "hv1", &target);
    let _hv1 = ovn_controller(&hv1, &pki, "hv1");
    // A chassis calling itself hv2 but holding hv1's certificate cannot.
    let liar = TempDir::new("tls-ctl-liar");
    let _liar_db = chassis_db(&liar, "hv2", &target);
    let _liar = ovn_controller(&liar, &pki, "hv1");

    let show = wait_for("hv1's Chassis and Encap", || {
        let out = ctl("ovn-sbctl", &admin, &["show"]).out;
        (out.contains("Chassis hv1") && out.contains("127.0.0.1")).then_some(out)
    });
    assert!(show.contains("Encap geneve"), "{show}");
    wait_for("hv1's Chassis_Private", || {
        let r = ctl("ovn-sbctl", &admin, &["--bare", "--columns=name", "list", "Chassis_Private"]);
        (r.out.trim() == "hv1").then_some(())
    });
    let log = wait_for("the impostor to be refused", || {
        let log = std::fs::read_to_string(liar.path("ovn-controller.log")).unwrap_or_default();
        log.contains("permission error").then_some(log)
    });
    assert!(log.contains(r#"RBAC rules for client \"hv1\" role \"ovn-controller\" prohibit"#), "{log}");
    let names = ctl("ovn-sbctl", &admin, &["--bare", "--columns=name", "list", "Chassis"]).out;
    assert_eq!(names.trim(), "hv1", "no Chassis hv2 may appear");
}

/// `rovn ovsdb-client` (the client library) over ssl: to the real
/// ovsdb-server and to rovn's, both with mutual authentication.
#[test]
fn rovn_client_speaks_ssl_to_both_servers() {
    if !have_tools() {
        return;
    }
    let pki_dir = TempDir::new("tls-client-pki");
    let pki = Pki::new(&pki_dir, true);
    for program in ["ovsdb-server", ROVN] {
        let dir = TempDir::new("tls-client");
        let port = free_port();
        let mut args = pki.server_args();
        args.push(format!("--remote=pssl:{port}:127.0.0.1").into());
        let _srv = serve(program, "ovn-sb.ovsschema", &dir, args);
        let target = format!("ssl:127.0.0.1:{port}");
        wait_for("the pssl: listener", || std::net::TcpStream::connect(("127.0.0.1", port)).ok());
        let client = |who: &str, args: &[&str]| {
            ran(Command::new(ROVN).arg("ovsdb-client").args(pki.chassis(who)).args(args).output().unwrap())
        };
        let out = ok(client("hv1", &["list-dbs", &target]), &format!("{program}: list-dbs"));
        assert_eq!(out, "OVN_Southbound\n_Server\n", "{program}");
        let txn = r#"["OVN_Southbound",{"op":"insert","table":"SB_Global","row":{"nb_cfg":7}}]"#;
        let out = ok(client("hv1", &["transact", &target, txn]), &format!("{program}: transact"));
        assert!(out.contains("uuid"), "{program}: {out}");
        let r = client("evil", &["list-dbs", &target]);
        assert_ne!(r.code, 0, "{program} must refuse a certificate from another CA: {}", r.out);
        // The library's Idl keeps a replica current over ssl:.
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let key = pki.file("hv1-privkey.pem");
        let (cert, ca) = (pki.file("hv1-cert.pem"), pki.file("pki/controllerca/cacert.pem"));
        let tls = ovsdb_client::Pki::load(key.as_ref(), cert.as_ref(), ca.as_ref()).unwrap();
        let seen = rt.block_on(async {
            let opts = ovsdb_client::IdlOptions { pki: Some(std::sync::Arc::new(tls)), ..Default::default() };
            let idl = ovsdb_client::Idl::start_with(vec![target.clone()], "OVN_Southbound", &["Chassis"], opts)
                .await
                .unwrap_or_else(|e| panic!("{program}: Idl over ssl: {e}"));
            let r = ctl("ovn-sbctl", &unix(&dir), &["chassis-add", "hvz", "geneve", "127.0.0.3"]);
            assert_eq!(r.code, 0, "{}", r.err);
            idl.wait_until(Duration::from_secs(10), |r| r.to_json().to_string().contains("hvz")).await
        });
        assert!(seen, "{program}: the Idl saw the new Chassis over ssl:");
        // And the client refuses a server whose certificate its CA did not sign.
        let mut wrong_ca = pki.client_args("hv1", "pki/switchca/cacert.pem");
        wrong_ca.extend(["list-dbs".into(), target.clone()]);
        let r = ran(Command::new(ROVN).arg("ovsdb-client").args(&wrong_ca).output().unwrap());
        assert_ne!(r.code, 0, "{program}: the client must check the server's CA: {}", r.out);
        assert!(r.err.contains("SSL handshake failed"), "{program}: {}", r.err);
    }
}

/// Puts `pki`'s server credentials (key, certificate, the CA of the
/// chassis) at fixed names in `dir`, each replaced in one rename.
fn install_server_pki(pki: &Pki, dir: &TempDir) {
    for (from, to) in
        [("sb-privkey.pem", "key.pem"), ("sb-cert.pem", "cert.pem"), ("pki/switchca/cacert.pem", "ca.pem")]
    {
        let tmp = dir.path(&format!("{to}.new"));
        std::fs::copy(pki.file(from), &tmp).unwrap();
        std::fs::rename(&tmp, dir.path(to)).unwrap();
    }
}

/// Renewed certificates: when the files --private-key, --certificate and
/// --ca-cert name change on disk, new connections use what they hold —
/// a chassis of the old PKI is refused, one of the new gets in — without a
/// restart, in the real ovsdb-server and in rovn's.
#[test]
fn pssl_uses_replaced_certificate_files_for_new_connections() {
    if !have_tools() {
        return;
    }
    let old_dir = TempDir::new("tls-reload-old");
    let old = Pki::new(&old_dir, false);
    let new_dir = TempDir::new("tls-reload-new");
    let new = Pki::new(&new_dir, false);
    for program in ["ovsdb-server", ROVN] {
        let dir = TempDir::new("tls-reload");
        install_server_pki(&old, &dir);
        let port = free_port();
        let args = vec![
            format!("--private-key={}", dir.path("key.pem").display()).into(),
            format!("--certificate={}", dir.path("cert.pem").display()).into(),
            format!("--ca-cert={}", dir.path("ca.pem").display()).into(),
            format!("--remote=pssl:{port}:127.0.0.1").into(),
        ];
        let srv = serve(program, "ovn-sb.ovsschema", &dir, args);
        let target = format!("ssl:127.0.0.1:{port}");
        wait_for("the pssl: listener", || std::net::TcpStream::connect(("127.0.0.1", port)).ok());
        let list_dbs = |pki: &Pki| {
            let mut a = pki.chassis("hv1");
            a.extend(["--timeout=5".into(), "list-dbs".into(), target.clone()]);
            ovsdb_client(&a).code == 0
        };
        assert!(list_dbs(&old), "{program}: the old PKI's chassis gets in");
        assert!(!list_dbs(&new), "{program}: the new PKI's chassis is refused before the renewal");
        install_server_pki(&new, &dir);
        wait_for("the new certificates to be used", || (list_dbs(&new) && !list_dbs(&old)).then_some(()));
        assert!(Daemon::alive(srv.pid()), "{program}");
    }
}

/// An active `ssl:` remote: rovn connects to an ovsdb-client listening on
/// pssl:, authenticating both ways; a listener whose certificate the CA
/// did not sign is refused.
#[test]
fn active_ssl_remote_serves_a_listening_ovsdb_client() {
    if !have_tools() {
        return;
    }
    let dir = TempDir::new("tls-active");
    let pki = Pki::new(&dir, true);
    let port = free_port();
    let listen = |who: &str, timeout: &str| {
        let log = dir.path(&format!("client-{who}.log"));
        let _ = std::fs::remove_file(&log);
        let child = Command::new("ovsdb-client")
            .args(pki.chassis(who))
            .args([format!("--timeout={timeout}"), format!("--log-file={}", log.display())])
            .args(["list-dbs".to_string(), format!("pssl:{port}:127.0.0.1")])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ovsdb-client");
        wait_for("ovsdb-client to listen", || {
            std::fs::read_to_string(&log).unwrap_or_default().contains("waiting for connection").then_some(())
        });
        child
    };
    let good = listen("hv1", "30");
    let mut args = pki.server_args();
    args.push(format!("--remote=ssl:127.0.0.1:{port}").into());
    let srv = serve(ROVN, "ovn-sb.ovsschema", &dir, args);
    let out = good.wait_with_output().unwrap();
    assert!(out.status.success(), "list-dbs over the active ssl: remote: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OVN_Southbound\n_Server\n");
    // A listener with a certificate from another CA: the server refuses it
    // and keeps trying. Its next try comes within its backoff (at most 8 s
    // apart, however many tries failed while nobody listened), so the
    // refusal is waited for in the log rather than within a client timeout.
    let mut evil = listen("evil", "60");
    wait_for("the refusal in the server's log", || {
        std::fs::read_to_string(dir.path("server.log")).unwrap_or_default().contains("SSL handshake failed").then_some(())
    });
    let _ = evil.kill();
    let out = evil.wait_with_output().unwrap();
    assert!(!out.status.success(), "the server must not serve a peer of another CA");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "", "a peer of another CA got an answer");
    assert!(Daemon::alive(srv.pid()));
}
