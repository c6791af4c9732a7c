//! The whole upstream stack on rovn's databases: `rovn ovsdb-server` serves
//! the Northbound and Southbound databases and each chassis' Open_vSwitch
//! database; upstream ovn-northd, ovn-controller and ovs-vswitchd (userspace
//! datapath) run on them. Two chassis, each in its own network namespace,
//! reach each other over a Linux bridge in a "fabric" namespace; a "VM"
//! namespace on each chassis is a port of one logical switch. The VMs ping
//! each other through the Geneve tunnel, the Southbound database binds
//! each port to its chassis, and all of it survives a kill -9 of the
//! Southbound server and of a chassis' Open_vSwitch server.
//!
//! Needs root (namespaces), `ip`, `ping` and the upstream OVS/OVN daemons.

mod common;

use std::path::Path;
use std::time::Duration;

use common::lab::{require_root, require_tools, run, run_ok, wait_for, Lab};

/// Everything the test needs, or a clear skip (a failure under CI=true).
fn prerequisites() -> bool {
    require_root()
        && require_tools(&[
            ("ip", "iproute2"),
            ("ping", "iputils-ping"),
            ("ovs-vswitchd", "openvswitch-switch"),
            ("ovs-vsctl", "openvswitch-switch"),
            ("ovn-northd", "ovn-central"),
            ("ovn-nbctl", "ovn-central"),
            ("ovn-sbctl", "ovn-common"),
            ("ovn-controller", "ovn-host"),
        ])
}

/// One hypervisor: its namespace, Open_vSwitch database and tunnel IP.
struct Chassis {
    name: String,
    ns: String,
    db: String,
}

impl Chassis {
    fn vsctl(&self, args: &[&str]) -> String {
        let db = format!("--db={}", self.db);
        let mut all = vec![db.as_str(), "--timeout=20"];
        all.extend(args);
        run_ok("ovs-vsctl", &all)
    }
}

fn nbctl(nb: &str, args: &[&str]) -> String {
    let db = format!("--db={nb}");
    let mut all = vec![db.as_str(), "--timeout=30"];
    all.extend(args);
    run_ok("ovn-nbctl", &all)
}

fn sbctl(sb: &str, args: &[&str]) -> String {
    let db = format!("--db={sb}");
    let mut all = vec![db.as_str(), "--timeout=30"];
    all.extend(args);
    run_ok("ovn-sbctl", &all)
}

/// Starts chassis `hvN`: namespace, veth to the fabric bridge, rovn serving
/// its Open_vSwitch database, ovs-vswitchd, br-phy with the tunnel IP, and
/// ovn-controller pointed at the Southbound database.
fn chassis(lab: &mut Lab, n: u32, fabric: &str, sb: &str) -> Chassis {
    let name = format!("hv{n}");
    let ns = lab.netns(&name);
    let port = format!("p{n}");
    run_ok("ip", &["link", "add", "eth0", "netns", &ns, "type", "veth", "peer", "name", &port, "netns", fabric]);
    run_ok("ip", &["-n", fabric, "link", "set", &port, "master", "br0", "up"]);
    run_ok("ip", &["-n", &ns, "link", "set", "eth0", "up"]);

    // The chassis' own run directory: ovn-controller finds ovs-vswitchd's
    // br-int.mgmt socket there.
    let rundir = lab.path(&name);
    std::fs::create_dir_all(&rundir).expect("rundir");
    let db = lab.ovsdb(&format!("{name}-conf"), "vswitch.ovsschema", Some(&ns));
    let hv = Chassis { name: name.clone(), ns: ns.clone(), db: db.clone() };
    hv.vsctl(&["--no-wait", "init"]);
    let env: &[(&str, &Path)] = &[("OVS_RUNDIR", &rundir), ("OVN_RUNDIR", &rundir)];
    lab.daemon(&format!("{name}-vswitchd"), Some(&ns), env, "ovs-vswitchd", &[&db]);
    hv.vsctl(&[
        "add-br",
        "br-phy",
        "--",
        "set",
        "Bridge",
        "br-phy",
        "datapath_type=netdev",
        "--",
        "add-port",
        "br-phy",
        "eth0",
    ]);
    let ip = format!("172.31.0.{n}");
    run_ok("ip", &["-n", &ns, "addr", "add", &format!("{ip}/24"), "dev", "br-phy"]);
    run_ok("ip", &["-n", &ns, "link", "set", "br-phy", "up"]);
    hv.vsctl(&[
        "set",
        "Open_vSwitch",
        ".",
        &format!("external_ids:system-id={name}"),
        &format!("external_ids:ovn-remote={sb}"),
        "external_ids:ovn-encap-type=geneve",
        &format!("external_ids:ovn-encap-ip={ip}"),
        "external_ids:ovn-bridge-datapath-type=netdev",
    ]);
    lab.daemon(&format!("{name}-controller"), Some(&ns), env, "ovn-controller", &[&db]);
    hv
}

/// A "VM" namespace `vmN` whose eth0 (MAC and IP as the logical port says)
/// is plugged into chassis `hv`'s br-int as logical port `lpN`.
fn vm(lab: &mut Lab, n: u32, hv: &Chassis) -> String {
    let ns = lab.netns(&format!("vm{n}"));
    let port = format!("vm{n}");
    run_ok("ip", &["link", "add", "eth0", "netns", &ns, "type", "veth", "peer", "name", &port, "netns", &hv.ns]);
    run_ok("ip", &["-n", &ns, "link", "set", "eth0", "address", &format!("00:00:00:00:00:0{n}")]);
    run_ok("ip", &["-n", &ns, "addr", "add", &format!("10.0.0.{n}/24"), "dev", "eth0"]);
    run_ok("ip", &["-n", &ns, "link", "set", "eth0", "up"]);
    run_ok("ip", &["-n", &hv.ns, "link", "set", &port, "up"]);
    // ovn-controller creates br-int.
    wait_for(&format!("br-int on {}", hv.name), Duration::from_secs(30), || {
        let r = run("ovs-vsctl", &[&format!("--db={}", hv.db), "--timeout=5", "br-exists", "br-int"]);
        (r.code == 0).then_some(())
    });
    hv.vsctl(&["add-port", "br-int", &port, "--", "set", "Interface", &port, &format!("external_ids:iface-id=lp{n}")]);
    ns
}

/// Pings `ip` from namespace `ns`, retrying for up to 20 s (the first
/// packets may race the flows being installed).
fn pings(ns: &str, ip: &str) {
    wait_for(&format!("{ns} to ping {ip}"), Duration::from_secs(20), || {
        let r = run("ip", &["netns", "exec", ns, "ping", "-c", "1", "-W", "1", ip]);
        (r.code == 0).then_some(())
    });
}

/// Which chassis (by name) the Southbound database binds `port` to.
fn bound_to(sb: &str, port: &str) -> String {
    let uuid = sbctl(sb, &["--bare", "--columns=chassis", "find", "Port_Binding", &format!("logical_port={port}")]);
    let uuid = uuid.trim();
    if uuid.is_empty() {
        return String::new();
    }
    sbctl(sb, &["--bare", "--columns=name", "list", "Chassis", uuid]).trim().to_string()
}

/// Both ports bound to their chassis, both NB ports up, and pings both ways.
fn check_datapath(nb: &str, sb: &str, vms: &[String], when: &str) {
    for (port, hv) in [("lp1", "hv1"), ("lp2", "hv2")] {
        assert_eq!(bound_to(sb, port), hv, "{when}: Port_Binding {port} is bound to the wrong chassis");
        wait_for(&format!("{when}: {port} up"), Duration::from_secs(20), || {
            (nbctl(nb, &["lsp-get-up", port]).trim() == "up").then_some(())
        });
    }
    pings(&vms[0], "10.0.0.2");
    pings(&vms[1], "10.0.0.1");
}

#[test]
fn two_chassis_ping_through_geneve_on_rovn_databases() {
    if !prerequisites() {
        return;
    }
    let t = std::time::Instant::now();
    let mut lab = Lab::new("fullstack");
    let nb = lab.ovsdb("nb", "ovn-nb.ovsschema", None);
    let sb = lab.ovsdb("sb", "ovn-sb.ovsschema", None);
    nbctl(&nb, &["init"]);
    let northd_ctl = lab.path("northd.ctl");
    lab.daemon(
        "northd",
        None,
        &[],
        "ovn-northd",
        &[&format!("--ovnnb-db={nb}"), &format!("--ovnsb-db={sb}"), &format!("--unixctl={}", northd_ctl.display())],
    );

    let fabric = lab.netns("fab");
    run_ok("ip", &["-n", &fabric, "link", "add", "br0", "type", "bridge"]);
    run_ok("ip", &["-n", &fabric, "link", "set", "br0", "up"]);
    let hvs: Vec<Chassis> = (1..=2).map(|n| chassis(&mut lab, n, &fabric, &sb)).collect();
    wait_for("both chassis in the Southbound database", Duration::from_secs(30), || {
        let names = sbctl(&sb, &["--bare", "--columns=name", "list", "Chassis"]);
        let mut names: Vec<&str> = names.split_whitespace().collect();
        names.sort();
        (names == ["hv1", "hv2"]).then_some(())
    });

    nbctl(&nb, &["ls-add", "sw0"]);
    for n in 1..=2 {
        let lp = format!("lp{n}");
        nbctl(
            &nb,
            &["lsp-add", "sw0", &lp, "--", "lsp-set-addresses", &lp, &format!("00:00:00:00:00:0{n} 10.0.0.{n}")],
        );
    }
    let vms: Vec<String> = hvs.iter().zip(1..).map(|(hv, n)| vm(&mut lab, n, hv)).collect();
    nbctl(&nb, &["--wait=hv", "sync"]);
    // Each tunnel endpoint learned the other chassis.
    for hv in &hvs {
        let tunnels = hv.vsctl(&["--bare", "--columns=name", "find", "Interface", "type=geneve"]);
        assert_eq!(tunnels.split_whitespace().count(), 1, "{}: geneve ports: {tunnels}", hv.name);
    }
    check_datapath(&nb, &sb, &vms, "first start");
    eprintln!("{:?}: both VMs ping each other through the Geneve tunnel", t.elapsed());

    // kill -9 the Southbound server and start it again on the same file and
    // socket: northd and both controllers reconnect (`--wait=hv` needs each
    // controller to report the new nb_cfg through the new server), and the
    // datapath still works.
    let old = lab.pid("sb");
    lab.kill9("sb");
    lab.restart("sb");
    assert_ne!(lab.pid("sb"), old, "a new Southbound server runs");
    nbctl(&nb, &["--wait=hv", "sync"]);
    let cfg = nbctl(&nb, &["get", "NB_Global", ".", "nb_cfg", "hv_cfg"]);
    let cfg: Vec<&str> = cfg.split_whitespace().collect();
    assert_eq!(cfg[0], cfg[1], "hv_cfg caught up with nb_cfg");
    check_datapath(&nb, &sb, &vms, "after kill -9 of the Southbound server");
    eprintln!("{:?}: and again after kill -9 and restart of the Southbound server", t.elapsed());

    // kill -9 of hv2's Open_vSwitch server: ovs-vswitchd and ovn-controller
    // reconnect to its successor, and a VM plugged in afterwards (adding
    // the port waits for ovs-vswitchd) is claimed and reachable.
    lab.kill9("hv2-conf");
    lab.restart("hv2-conf");
    nbctl(&nb, &["lsp-add", "sw0", "lp3", "--", "lsp-set-addresses", "lp3", "00:00:00:00:00:03 10.0.0.3"]);
    let vm3 = vm(&mut lab, 3, &hvs[1]);
    nbctl(&nb, &["--wait=hv", "sync"]);
    assert_eq!(bound_to(&sb, "lp3"), "hv2", "Port_Binding lp3 is bound to the wrong chassis");
    wait_for("lp3 up", Duration::from_secs(20), || (nbctl(&nb, &["lsp-get-up", "lp3"]).trim() == "up").then_some(()));
    pings(&vms[0], "10.0.0.3");
    pings(&vm3, "10.0.0.1");
    eprintln!("{:?}: a VM plugged in after kill -9 of hv2's Open_vSwitch server pings across", t.elapsed());
}
