//! `rovn ovsdb-server` as a drop-in for ovsdb-server: the same ovn-nbctl
//! walkthrough against rovn's server and against the real one gives the
//! same database; a kill -9 loses no acknowledged transaction.

mod common;

use std::path::Path;
use std::process::Command;

use common::{shipped, upstream, Daemon, TempDir, ROVN};

fn nbctl(sock: &Path, args: &[&str]) -> String {
    let out = Command::new("ovn-nbctl")
        .arg(format!("--db=unix:{}", sock.display()))
        .arg("--timeout=10")
        .args(args)
        .output()
        .expect("run ovn-nbctl");
    assert!(out.status.success(), "ovn-nbctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

const WALKTHROUGH: &[&[&str]] = &[
    &["ls-add", "sw0"],
    &["ls-add", "sw1"],
    &["lsp-add", "sw0", "vm1"],
    &["lsp-set-addresses", "vm1", "00:00:00:00:00:01 10.0.0.11"],
    &["lsp-set-port-security", "vm1", "00:00:00:00:00:01 10.0.0.11"],
    &["lsp-add", "sw0", "vm2"],
    &["lsp-set-addresses", "vm2", "00:00:00:00:00:02 10.0.0.12", "unknown"],
    &["lsp-add", "sw1", "vm3"],
    &["lsp-set-addresses", "vm3", "dynamic"],
    &["lr-add", "lr0"],
    &["lrp-add", "lr0", "lr0-sw0", "00:00:00:00:ff:01", "10.0.0.1/24"],
    &["lrp-add", "lr0", "lr0-sw1", "00:00:00:00:ff:02", "10.0.1.1/24"],
    &["lsp-add", "sw0", "sw0-lr0"],
    &["lsp-set-type", "sw0-lr0", "router"],
    &["lsp-set-addresses", "sw0-lr0", "router"],
    &["lsp-set-options", "sw0-lr0", "router-port=lr0-sw0"],
    &["lr-route-add", "lr0", "0.0.0.0/0", "10.0.1.254"],
    &["lr-nat-add", "lr0", "snat", "172.16.0.10", "10.0.0.0/24"],
    &["lr-nat-add", "lr0", "dnat_and_snat", "172.16.0.11", "10.0.0.11"],
    &["lrp-set-gateway-chassis", "lr0-sw1", "hv1", "20"],
    &["acl-add", "sw0", "to-lport", "1000", "ip4.src == 10.0.0.12 && tcp.dst == 22", "drop"],
    &["acl-add", "sw0", "from-lport", "900", "ip4", "allow-related"],
    &["pg-add", "pg1", "vm1", "vm2"],
    &["acl-add", "pg1", "to-lport", "800", "outport == @pg1 && ip4", "allow"],
    &["lb-add", "lb0", "10.0.0.100:80", "10.0.0.11:8080,10.0.0.12:8080", "tcp"],
    &["ls-lb-add", "sw0", "lb0"],
    &["lr-lb-add", "lr0", "lb0"],
    &["set", "Logical_Switch", "sw1", "other_config:subnet=10.0.1.0/24"],
    &["lsp-del", "vm2"],
    &["acl-del", "sw0", "to-lport", "1000", "ip4.src == 10.0.0.12 && tcp.dst == 22"],
];

/// What an operator sees, with UUIDs (which differ by server) removed.
fn view(sock: &Path) -> String {
    let mut v = String::new();
    // `show` lists rows in the client's hash order: compare its lines sorted.
    let show = nbctl(sock, &["show"]);
    let mut lines: Vec<String> = show
        .lines()
        .map(|l| l.split_whitespace().filter(|w| w.len() != 36).collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    v.push_str(&lines.join("\n"));
    for args in [
        vec!["acl-list", "sw0"],
        vec!["acl-list", "pg1"],
        vec!["lr-route-list", "lr0"],
        vec!["lr-nat-list", "lr0"],
        vec!["lb-list"],
        vec!["lsp-get-addresses", "vm1"],
        vec!["lsp-get-port-security", "vm1"],
        vec!["--bare", "--columns=name,ports", "find", "Port_Group", "name=pg1"],
        vec!["--bare", "--columns=other_config", "list", "Logical_Switch", "sw1"],
        vec!["--bare", "--columns=name,priority,chassis_name", "list", "Gateway_Chassis"],
    ] {
        let out = nbctl(sock, &args);
        // Port group ports are UUIDs: keep their count.
        let out = if args.contains(&"Port_Group") { format!("{} refs", out.split_whitespace().filter(|w| w.len() == 36).count()) } else { out };
        let out = out.split_whitespace().filter(|w| w.len() != 36).collect::<Vec<_>>().join(" ");
        v.push_str(&format!("\n== {args:?}\n{out}"));
    }
    v
}

#[test]
fn ovn_nbctl_walkthrough_matches_real_server() {
    if upstream("ovsdb-server").is_none() || upstream("ovn-nbctl").is_none() {
        return;
    }
    let mut views = Vec::new();
    for program in [ROVN, "ovsdb-server"] {
        let dir = TempDir::new("nbctl");
        let db = dir.path("nb.db");
        let st = Command::new(ROVN).args(["ovsdb-tool", "create"]).arg(&db).arg(shipped("ovn-nb.ovsschema")).status().unwrap();
        assert!(st.success());
        let sock = dir.path("nb.sock");
        let _d = Daemon::start(program, &db, &dir, &sock);
        nbctl(&sock, &["init"]);
        for cmd in WALKTHROUGH {
            nbctl(&sock, cmd);
        }
        views.push(view(&sock));
    }
    assert_eq!(views[0], views[1], "rovn (left) and ovsdb-server (right) disagree");
    assert!(views[0].contains("lr0-sw0") && views[0].contains("172.16.0.11"), "{}", views[0]);
}

#[test]
fn kill_9_keeps_every_acknowledged_transaction() {
    if upstream("ovn-nbctl").is_none() {
        return;
    }
    let dir = TempDir::new("kill9");
    let db = dir.path("nb.db");
    let st = Command::new(ROVN).args(["ovsdb-tool", "create"]).arg(&db).arg(shipped("ovn-nb.ovsschema")).status().unwrap();
    assert!(st.success());
    let sock = dir.path("nb.sock");
    let mut acked = Vec::new();
    for round in 0..3 {
        let d = Daemon::start(ROVN, &db, &dir, &sock);
        for i in 0..20 {
            let name = format!("ls-{round}-{i}");
            nbctl(&sock, &["ls-add", &name]);
            acked.push(name);
        }
        d.kill(libc::SIGKILL);
        let _ = std::fs::remove_file(&d.pidfile);
        let _ = std::fs::remove_file(&sock);
    }
    let _d = Daemon::start(ROVN, &db, &dir, &sock);
    let names = nbctl(&sock, &["--bare", "--columns=name", "list", "Logical_Switch"]);
    for n in &acked {
        assert!(names.split_whitespace().any(|x| x == n), "{n} lost after kill -9");
    }
    assert_eq!(names.split_whitespace().count(), acked.len());
}
