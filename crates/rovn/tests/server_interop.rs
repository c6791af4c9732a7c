//! `rovn ovsdb-server` with the real upstream clients: ovs-vsctl on an
//! Open_vSwitch database and ovn-sbctl on a Southbound database print the
//! same as against the real ovsdb-server; the python `ovs.db.idl` client
//! keeps an exact replica of a Northbound database through ovn-nbctl
//! changes and a restart of the server.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use common::rpc::{canonical_replica, Rpc};
use common::{ctl, python_ovs_available, shipped, strip_uuids, upstreams, Served, PYTHON, ROVN};
use serde_json::Value;

/// Runs a client's script against a server; returns one text per command:
/// the command, its exit code, and its stdout and stderr with UUIDs
/// stripped and lines sorted (clients print rows in hash order). `$DP` in
/// an argument is replaced by the first UUID the script printed.
fn transcript(prog: &str, server: &Served, script: &[&[&str]]) -> Vec<String> {
    let mut first_uuid: Option<String> = None;
    let mut out = Vec::new();
    for cmd in script {
        let args: Vec<String> = cmd.iter().map(|a| a.replace("$DP", first_uuid.as_deref().unwrap_or("$DP"))).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = ctl(prog, &server.target(), &args);
        if first_uuid.is_none() && r.out.trim().len() == 36 {
            first_uuid = Some(r.out.trim().to_string());
        }
        let sorted = |s: &str| {
            let mut l: Vec<String> = strip_uuids(s).lines().map(str::to_string).collect();
            l.sort();
            l.join("\n")
        };
        // Error messages name the program's path and pid: keep the message.
        let err: String = r.err.lines().map(|l| l.rsplit("|").next().unwrap_or(l)).collect::<Vec<_>>().join("\n");
        out.push(format!("$ {prog} {}\n[exit {}]\n{}\n{}", cmd.join(" "), r.code, sorted(&r.out), sorted(&err)));
    }
    out
}

fn compare(prog: &str, schema: &str, script: &[&[&str]]) -> Vec<String> {
    // Both servers at once: the scripts are independent.
    let (rovn, real) = std::thread::scope(|sc| {
        let real = sc.spawn(|| Served::start("ovsdb-server", schema));
        (Served::start(ROVN, schema), real.join().expect("start ovsdb-server"))
    });
    let (ours, theirs) = std::thread::scope(|sc| {
        let theirs = sc.spawn(|| transcript(prog, &real, script));
        (transcript(prog, &rovn, script), theirs.join().expect("upstream transcript"))
    });
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a, b, "{prog}: rovn (left) and ovsdb-server (right) differ\nrovn log:\n{}", rovn.log());
    }
    ours
}

const VSCTL: &[&[&str]] = &[
    &["--no-wait", "init"],
    &["--no-wait", "add-br", "br0", "--", "set", "Bridge", "br0", "datapath_type=netdev"],
    &["--no-wait", "add-br", "br0"],
    &["--no-wait", "add-port", "br0", "p1", "--", "set", "Interface", "p1", "type=internal"],
    &["--no-wait", "add-port", "br0", "p2"],
    &[
        "--no-wait",
        "set",
        "Interface",
        "p1",
        "external_ids:iface-id=lp1",
        "external_ids:attached-mac=00:00:00:00:00:01",
    ],
    &["--no-wait", "set", "Open_vSwitch", ".", "external_ids:system-id=hv1", "external_ids:ovn-encap-ip=192.168.0.1"],
    &["--no-wait", "add", "Bridge", "br0", "protocols", "OpenFlow13", "OpenFlow15"],
    &["list", "Interface", "p1"],
    &["list", "Bridge", "br0"],
    &["--columns=name,external_ids", "find", "Interface", "external_ids:iface-id=lp1"],
    &["--bare", "--columns=name", "find", "Interface", "type=internal"],
    &["get", "Interface", "p1", "external_ids:iface-id"],
    &["get", "Interface", "p1", "external_ids:nope"],
    &["get", "Open_vSwitch", ".", "external_ids"],
    &["list-br"],
    &["list-ports", "br0"],
    &["list-ifaces", "br0"],
    &["port-to-br", "p1"],
    &["iface-to-br", "p2"],
    &["br-exists", "br9"],
    &["show"],
    &["--no-wait", "remove", "Interface", "p1", "external_ids", "iface-id"],
    &["--no-wait", "remove", "Bridge", "br0", "protocols", "OpenFlow13"],
    &["get", "Interface", "p1", "external_ids"],
    &["get", "Bridge", "br0", "protocols"],
    &["--no-wait", "clear", "Bridge", "br0", "protocols"],
    &["--no-wait", "del-port", "p1"],
    &["--no-wait", "del-port", "nope"],
    &["list-ports", "br0"],
    &["--no-wait", "del-br", "br0"],
    &["show"],
    &["list", "Interface"],
];

#[test]
fn ovs_vsctl_sees_the_same_as_with_the_real_server() {
    if !upstreams(&["ovsdb-server", "ovs-vsctl"]) {
        return;
    }
    let t = compare("ovs-vsctl", "vswitch.ovsschema", VSCTL);
    assert!(t[8].contains("iface-id=lp1"), "{}", t[8]);
}

const SBCTL: &[&[&str]] = &[
    &["create", "Datapath_Binding", "tunnel_key=1", "external_ids:name=sw0"],
    &["init"],
    &["chassis-add", "hv1", "geneve", "192.168.0.1"],
    &["chassis-add", "hv2", "geneve,vxlan", "192.168.0.2"],
    &["chassis-add", "hv1", "geneve", "192.168.0.9"],
    &["lflow-list"],
    &["show"],
    &["set", "Chassis", "hv1", "external_ids:foo=bar", "other_config:ovn-bridge-mappings=phys:br-phy"],
    &["--columns=name,external_ids,other_config", "list", "Chassis", "hv1"],
    &["--bare", "--columns=ip,type", "find", "Encap", "chassis_name=hv2"],
    &[
        "create",
        "Port_Binding",
        "logical_port=lp1",
        "datapath=$DP",
        "tunnel_key=1",
        "mac=\"00:00:00:00:00:01 10.0.0.1\"",
    ],
    &["create", "Port_Binding", "logical_port=lp2", "datapath=$DP", "tunnel_key=2", "type=patch", "options:peer=lp9"],
    &["lsp-bind", "lp1", "hv1"],
    &["lsp-bind", "lp1", "hv2"],
    &["show"],
    &["--columns=logical_port,tunnel_key,mac,type,options", "find", "Port_Binding", "tunnel_key>=1"],
    &["get", "Port_Binding", "lp1", "chassis"],
    &["lsp-unbind", "lp1"],
    &["--bare", "--columns=chassis", "list", "Port_Binding", "lp1"],
    &["chassis-del", "hv2"],
    &["list", "Encap"],
    &["find", "Chassis", "name=hv2"],
    &["remove", "Chassis", "hv1", "external_ids", "foo"],
    &["--columns=external_ids", "list", "Chassis"],
    &["destroy", "Port_Binding", "lp2"],
    &["--bare", "--columns=logical_port", "list", "Port_Binding"],
    &["lflow-list"],
];

#[test]
fn ovn_sbctl_sees_the_same_as_with_the_real_server() {
    if !upstreams(&["ovsdb-server", "ovn-sbctl"]) {
        return;
    }
    let t = compare("ovn-sbctl", "ovn-sb.ovsschema", SBCTL);
    assert!(t[6].contains("Chassis hv2") && t[14].contains("Port_Binding lp1"), "{}\n{}", t[6], t[14]);
}

/// The python IDL client, printing its replica on each change.
struct Idl {
    child: Child,
    lines: Receiver<String>,
    last: Option<Value>,
}

impl Idl {
    fn start(target: &str, schema: &Path, stderr: &Path) -> Idl {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/idl_replica.py");
        let mut child = Command::new(PYTHON)
            .arg(script)
            .arg(target)
            .arg(schema)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(stderr).expect("stderr file"))
            .spawn()
            .expect("start python");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Idl { child, lines, last: None }
    }

    /// Waits until the replica equals `want`; panics with both after 10 s.
    fn converges_to(&mut self, want: &Value, step: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.last.as_ref() == Some(want) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => self.last = Some(canonical_replica(&serde_json::from_str(&l).expect("replica JSON"))),
                Err(_) => panic!(
                    "after {step}: the IDL replica did not converge\nreplica: {}\nserver:  {want}",
                    self.last.as_ref().map(Value::to_string).unwrap_or_default()
                ),
            }
        }
    }
}

impl Drop for Idl {
    fn drop(&mut self) {
        // Through the child's handle: its own pid.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn python_idl_keeps_an_exact_replica_through_changes_and_a_restart() {
    if !upstreams(&["ovn-nbctl"]) || !python_ovs_available() {
        return;
    }
    let schema = shipped("ovn-nb.ovsschema");
    let tables: Vec<String> = {
        let s: Value = serde_json::from_str(&std::fs::read_to_string(&schema).unwrap()).unwrap();
        s["tables"].as_object().unwrap().keys().cloned().collect()
    };
    let tables: Vec<&str> = tables.iter().map(String::as_str).collect();
    let mut server = Served::start(ROVN, "ovn-nb.ovsschema");
    let mut idl = Idl::start(&server.target(), &schema, &server.dir.path("idl.err"));
    let state = |s: &Served| Rpc::connect(&s.sock).contents("OVN_Northbound", &tables);
    idl.converges_to(&state(&server), "connecting");
    let nbctl = |s: &Served, args: &[&str]| {
        let r = ctl("ovn-nbctl", &s.target(), args);
        assert_eq!(r.code, 0, "ovn-nbctl {args:?}: {}", r.err);
    };
    let steps: &[&[&str]] = &[
        &["init"],
        &["ls-add", "sw0"],
        &["lsp-add", "sw0", "p1"],
        &["lsp-set-addresses", "p1", "00:00:00:00:00:01 10.0.0.1", "unknown"],
        &["set", "Logical_Switch", "sw0", "other_config:subnet=10.0.0.0/24", "external_ids:a=b"],
        &["acl-add", "sw0", "to-lport", "1000", "ip4 && tcp.dst == 22", "drop"],
        &["lsp-add", "sw0", "p2"],
        &["lr-add", "lr0"],
        &["lrp-add", "lr0", "lrp0", "00:00:00:00:ff:01", "10.0.0.254/24"],
        &["lsp-del", "p1"],
        &["remove", "Logical_Switch", "sw0", "external_ids", "a"],
        &["acl-del", "sw0"],
    ];
    for step in steps {
        nbctl(&server, step);
        idl.converges_to(&state(&server), &format!("ovn-nbctl {}", step.join(" ")));
    }
    // Change the database while the server is down: the IDL must notice
    // on reconnection (a new server has no history of its transactions).
    server.stop();
    let r = common::rovn_tool([
        "transact".to_string(),
        server.db.display().to_string(),
        r#"["OVN_Northbound",{"op":"insert","table":"Logical_Switch","row":{"name":"offline"}},
            {"op":"delete","table":"Logical_Router","where":[]}]"#
            .to_string(),
    ]);
    assert_eq!(r.code, 0, "{}", r.err);
    server.start_again();
    idl.converges_to(&state(&server), "a restart with offline changes");
    nbctl(&server, &["ls-del", "sw0"]);
    nbctl(&server, &["lsp-add", "offline", "p3"]);
    idl.converges_to(&state(&server), "changes after the restart");
    let names = ctl("ovn-nbctl", &server.target(), &["--bare", "--columns=name", "list", "Logical_Switch"]).out;
    assert_eq!(names.trim(), "offline");
}
