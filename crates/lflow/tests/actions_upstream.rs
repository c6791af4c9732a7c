//! The action language against upstream OVN 23.03 itself.
//!
//! ovn-northd populates the southbound DHCP option tables and then stops;
//! the test writes logical flows with candidate actions into that
//! southbound database and runs `ovn-trace`, which parses every flow's
//! actions with upstream's own parser and logs the ones it rejects. So:
//!
//! - rovn's DHCPv4/DHCPv6 option tables equal the rows northd writes;
//! - rovn and upstream agree on which of ~400 action texts are valid
//!   (tests/data/action-candidates.txt), except for the divergences listed
//!   below, where upstream silently truncates a value and rovn refuses it;
//! - for each action form, rovn's canonical text is exactly what upstream
//!   prints for it when it traces a packet through the flow.
//!
//! Without the upstream binaries the test is skipped with a message, except
//! under `CI=true`, where it fails.

use std::path::Path;

mod common;

use common::sandbox::{upstream_present, Sandbox};
use lflow::actions::options::{self, OptDef};
use lflow::actions::{parse_actions, parse_and_check, print_actions};
use lflow::Symtab;
use serde_json::{json, Value as Json};

const TOOLS: &[&str] = &[
    "ovsdb-tool",
    "ovsdb-server",
    "ovsdb-client",
    "ovn-northd",
    "ovn-nbctl",
    "ovn-sbctl",
    "ovn-trace",
];

/// Texts upstream accepts and rovn refuses, and why rovn is right.
const DIVERGENCES: &[(&str, &str)] = &[
    (
        "reg0[0] = 2;",
        "a 2-bit constant does not fit a 1-bit destination (upstream truncates to 0)",
    ),
    (
        "reg0[0] = check_pkt_larger(70000);",
        "OpenFlow's check_pkt_larger length is 16 bits",
    ),
    (
        "reg0[0] = check_pkt_larger(65536);",
        "OpenFlow's check_pkt_larger length is 16 bits",
    ),
    ("ct_commit(ct_mark=0x100000000);", "ct_mark is 32 bits"),
    (
        "reg0[0..15] = icmp4.frag_mtu;",
        "OVN fields are rewritten by actions, there is no value to read",
    ),
    (
        "sample(probability=1, obs_point=4294967296);",
        "obs_point is 32 bits",
    ),
    (
        "reg0[0] = put_dhcp_opts(offerip = 10.0.0.2, ip_forward_enable = 2);",
        "bool option: 0 or 1",
    ),
    (
        "reg0[0] = put_dhcp_opts(offerip = 10.0.0.2, mtu = 70000);",
        "uint16 option",
    ),
    (
        "reg0[0] = put_dhcp_opts(offerip = 10.0.0.2, default_ttl = 256);",
        "uint8 option",
    ),
    (
        "reg0[0] = put_dhcp_opts(offerip = 10.0.0.2, router = fd00::1);",
        "ipv4 option",
    ),
    (
        "reg0[0] = put_dhcp_opts(offerip = 10.0.0.2, netmask = 24);",
        "ipv4 option",
    ),
    (
        "reg0[0] = put_dhcp_opts(offerip = 10.0.0.2, lease_time = 0x100000000);",
        "uint32 option",
    ),
    (
        "reg0[3] = put_dhcp_opts(offerip = 10.0.0.2, lease_time = 10.0.0.1);",
        "uint32 option",
    ),
    (
        "reg0[3] = put_dhcp_opts(offerip = 10.0.0.2, ip_forward_enable = 00:00:00:00:00:01);",
        "bool option",
    ),
    (
        "reg0[3] = put_dhcp_opts(offerip = 10.0.0.2, lease_time = 1/1);",
        "uint32 option, not masked",
    ),
    (
        "reg0[3] = put_dhcp_opts(offerip = 10.0.0.2, router = 10.0.0.0/8);",
        "ipv4 address, not network",
    ),
    (
        "reg0[3] = put_dhcp_opts(offerip = 10.0.0.2, hostname = {\"a\", \"b\"});",
        "one host name",
    ),
    (
        "reg0[3] = put_dhcp_opts(offerip = 10.0.0.2, classless_static_route = 5);",
        "prefix/router pairs",
    ),
    (
        "reg0[0] = put_dhcpv6_opts(ia_addr = 10.0.0.1);",
        "ipv6 option",
    ),
    (
        "reg0[0] = put_dhcpv6_opts(server_id = fd00::1);",
        "mac option",
    ),
];


#[test]
fn actions_agree_with_upstream_ovn_trace() {
    if !upstream_present("actions_agree_with_upstream_ovn_trace", TOOLS) {
        return;
    }
    let sb = Sandbox::start("actions");
    // A switch with a port, so that the SB has a datapath to hang flows on.
    sb.nbctl(&["ls-add", "sw0"]);
    sb.nbctl(&["lsp-add", "sw0", "vm1"]);
    sb.nbctl(&["--wait=sb", "sync"]);
    dhcp_tables_match_northd(&sb);
    sb.stop("northd");
    validity_agrees(&sb);
    format_agrees(&sb);
}

fn dhcp_tables_match_northd(sb: &Sandbox) {
    for (table, ours) in [
        ("DHCP_Options", options::DHCP4),
        ("DHCPv6_Options", options::DHCP6),
    ] {
        let out = sb.sbctl(&["--format=json", "--columns=name,code,type", "list", table]);
        let j: Json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
        let mut theirs: Vec<(String, i64, String)> = j["data"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| {
                        (
                            r[0].as_str().unwrap_or_default().to_string(),
                            r[1].as_i64().unwrap_or(-1),
                            r[2].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut ours: Vec<(String, i64, String)> = ours
            .iter()
            .map(|o: &OptDef| (o.name.to_string(), o.code as i64, o.ty.as_str().to_string()))
            .collect();
        theirs.sort();
        ours.sort();
        assert_eq!(ours, theirs, "rovn's {table} differs from northd's");
    }
}

fn candidates() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/action-candidates.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// Writes every candidate as a never-matching flow, runs ovn-trace once,
/// and collects the ones it reports as failing to parse.
fn upstream_rejects(sb: &Sandbox, texts: &[String]) -> std::collections::HashMap<String, String> {
    let dp = sb.sbctl(&[
        "--bare",
        "--columns=_uuid",
        "find",
        "Datapath_Binding",
        "external_ids:name=sw0",
    ]);
    let mut ops = vec![json!("OVN_Southbound")];
    ops.push(json!({"op": "delete", "table": "Logical_Flow", "where": [["priority", "==", 1234]]}));
    for t in texts {
        ops.push(json!({"op": "insert", "table": "Logical_Flow", "row": {
            "logical_datapath": ["uuid", dp], "pipeline": "ingress", "table_id": 0,
            "priority": 1234, "match": "0", "actions": t}}));
    }
    sb.run(
        "ovsdb-client",
        &["transact", &sb.sb_remote(), &Json::Array(ops).to_string()],
    );
    let out = sb
        .command("ovn-trace")
        .args([
            &format!("--db={}", sb.sb_remote()),
            "sw0",
            "inport == \"vm1\"",
        ])
        .output()
        .unwrap_or_else(|e| panic!("ovn-trace: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut rejected = std::collections::HashMap::new();
    for line in stderr.lines() {
        let Some((_, body)) = line.split_once("|WARN|") else {
            continue;
        };
        if let Some(i) = body.rfind(": parsing actions failed (") {
            rejected.insert(
                body[..i].to_string(),
                body[i + 26..].trim_end_matches(')').to_string(),
            );
        }
    }
    rejected
}

fn validity_agrees(sb: &Sandbox) {
    let texts = candidates();
    assert!(texts.len() > 300, "only {} candidates", texts.len());
    let rejected = upstream_rejects(sb, &texts);
    assert!(
        rejected.len() > 100,
        "upstream rejected only {}: is ovn-trace reporting?",
        rejected.len()
    );
    let mut disagreements = Vec::new();
    for t in &texts {
        let ours = parse_and_check(t, Symtab::ovn());
        let theirs = rejected.get(t);
        if let Some((_, why)) = DIVERGENCES.iter().find(|(d, _)| d == t) {
            assert!(
                ours.is_err() && theirs.is_none(),
                "divergence {t:?} ({why}) no longer holds: rovn {ours:?}, upstream {theirs:?}"
            );
            continue;
        }
        if ours.is_ok() != theirs.is_none() {
            disagreements.push(format!(
                "{t:?}: upstream {}, rovn {}",
                theirs.map_or("accepts".to_string(), |m| format!("rejects ({m})")),
                match &ours {
                    Ok(_) => "accepts".to_string(),
                    Err(e) => format!("rejects ({e})"),
                }
            ));
        }
    }
    // ovn-northd 23.03 writes two `ipv6_ra_configs:rdnss` addresses as
    // `rdnss = A B` (no braces): both parsers refuse that, so the flow is
    // never installed; the set `{A, B}` is refused too, one address taken.
    for (form, valid) in [
        ("rdnss = fd01::53 fd01::54)", false),
        ("rdnss = {fd01::53, fd01::54})", false),
        ("rdnss = {fd01::53})", true),
    ] {
        let t = texts.iter().find(|t| t.contains(form)).unwrap_or_else(|| panic!("no candidate with {form}"));
        assert_eq!(parse_and_check(t, Symtab::ovn()).is_ok(), valid, "rovn on {t}");
        assert_eq!(!rejected.contains_key(t), valid, "upstream on {t}: {:?}", rejected.get(t));
    }
    assert!(
        disagreements.is_empty(),
        "rovn and ovn-trace disagree on {}:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

/// (actions, a microflow meeting their prerequisites). Upstream prints
/// each action as it executes it; the first line is the first action.
/// Missing on purpose: `nd_na_router { }` and `R = check_out_port_sec()`,
/// which make ovn-trace 23.03 abort on an assertion when it executes them
/// (`ovnact->type == OVNACT_ND_NA`, `out_key`); the validity check above
/// covers them.
const FORMAT: &[(&str, &str)] = &[
    ("next(5);", "ip4 && tcp"),
    ("output;", "ip4 && tcp"),
    ("drop;", "ip4 && tcp"),
    ("reg0 = 0x1f;", "ip4 && tcp"),
    ("reg0 = 10.0.0.0/8;", "ip4 && tcp"),
    ("reg0 = 1/1;", "ip4 && tcp"),
    ("xxreg0 = fd00::1;", "ip4 && tcp"),
    ("eth.src = 00:00:00:00:00:01;", "ip4 && tcp"),
    ("outport = \"p1\";", "ip4 && tcp"),
    ("outport = inport;", "ip4 && tcp"),
    ("reg0[1..3] = reg1[4..6];", "ip4 && tcp"),
    ("vlan.pcp = 4/4;", "ip4 && tcp && vlan.tci == 0x1005"),
    ("icmp4.frag_mtu = 1500;", "icmp4"),
    ("eth.dst <-> eth.src;", "ip4 && tcp"),
    ("push(reg0);", "ip4 && tcp"),
    ("pop(reg1);", "ip4 && tcp"),
    ("ip.ttl--;", "ip4 && tcp && ip.ttl == 64"),
    ("ct_next;", "ip4 && tcp"),
    ("ct_commit;", "ip4 && tcp"),
    ("ct_commit { };", "ip4 && tcp"),
    ("ct_commit { ct_mark.blocked = 1; ct_label = 0x5/0xf; };", "ip4 && tcp"),
    ("ct_commit_nat;", "ip4 && tcp"),
    ("ct_dnat;", "ip4 && tcp"),
    ("ct_dnat(10.0.0.1);", "ip4 && tcp"),
    ("ct_snat(10.0.0.1, 1000-2000);", "ip4 && tcp"),
    ("ct_snat(10.0.0.1, 1000);", "ip4 && tcp"),
    ("ct_dnat_in_czone(10.0.0.1);", "ip4 && tcp"),
    ("ct_snat_in_czone;", "ip4 && tcp"),
    ("ct_lb;", "ip4 && tcp"),
    ("ct_lb(backends=10.0.0.1:80,10.0.0.2:80; hash_fields=\"eth_src,eth_dst\"; skip_snat);", "ip4 && tcp"),
    ("ct_lb_mark(backends=10.0.0.1);", "ip4 && tcp"),
    ("ct_lb_mark(backends=[fd00::1]:80,[fd00::2]:80; force_snat);", "ip6 && tcp"),
    ("ct_clear;", "ip4 && tcp"),
    ("clone { outport = \"p1\"; output; };", "ip4 && tcp"),
    ("arp { eth.dst = ff:ff:ff:ff:ff:ff; arp.op = 1; output; };", "ip4 && tcp"),
    ("nd_ns { nd.target = xxreg0; output; };", "ip6 && tcp"),
    ("nd_na { output; };", "nd_ns"),
    ("icmp4 { icmp4.type = 3; output; };", "ip4 && tcp"),
    ("icmp4_error { output; };", "ip4 && tcp"),
    ("icmp6 { output; };", "ip6 && tcp"),
    ("icmp6_error { output; };", "ip6 && tcp"),
    ("tcp_reset { output; };", "ip4 && tcp"),
    ("sctp_abort { output; };", "ip4 && sctp"),
    ("reject { outport <-> inport; next(pipeline=egress,table=5); };", "ip4 && tcp"),
    ("get_arp(outport, reg0);", "ip4 && tcp"),
    ("put_arp(inport, arp.spa, arp.sha);", "arp"),
    ("get_nd(outport, xxreg0);", "ip4 && tcp"),
    ("put_nd(inport, nd.target, nd.tll);", "nd_na"),
    ("reg9[2] = lookup_arp(inport, arp.spa, arp.sha);", "arp"),
    ("reg0[0] = lookup_nd_ip(inport, ip6.src);", "ip6 && tcp"),
    ("reg0[3] = put_dhcp_opts(offerip = 10.0.0.11, lease_time = 3600, netmask = 255.255.255.0, router = 10.0.0.1, dns_server = {8.8.8.8, 7.7.7.7}, hostname = \"h\", classless_static_route = {30.0.0.0/24,10.0.0.4,0.0.0.0/0,10.0.0.1});", "ip4 && udp"),
    ("reg0[3] = put_dhcpv6_opts(ia_addr = fd00::11, server_id = 00:00:00:00:ff:01, domain_search = \"a.b\");", "ip6 && udp"),
    ("reg0[3] = dns_lookup();", "ip4 && udp"),
    ("set_queue(10);", "ip4 && tcp"),
    ("log(name=\"x\", severity=alert, verdict=drop, meter=\"m\");", "ip4 && tcp"),
    ("log(verdict=allow);", "ip4 && tcp"),
    ("set_meter(100);", "ip4 && tcp"),
    ("set_meter(100, 1000);", "ip4 && tcp"),
    ("reg0[6] = check_pkt_larger(1500);", "ip4 && tcp"),
    ("reg0[6] = chk_lb_hairpin();", "ip4 && tcp"),
    ("reg0[6] = chk_lb_hairpin_reply();", "ip4 && tcp"),
    ("ct_snat_to_vip;", "ip4 && tcp"),
    ("outport = get_fdb(eth.dst);", "ip4 && tcp"),
    ("put_fdb(inport, eth.src);", "ip4 && tcp"),
    ("reg0[11] = lookup_fdb(inport, eth.src);", "ip4 && tcp"),
    ("reg0[15] = check_in_port_sec();", "ip4 && tcp"),
    ("reg8[16..31] = select(1=20, 2);", "ip4 && tcp"),
    ("handle_svc_check(inport);", "ip4 && tcp"),
    ("trigger_event(event = \"empty_lb_backends\", vip = \"10.0.0.1:80\", protocol = \"tcp\", load_balancer = \"12345678-1234-1234-1234-123456789012\");", "ip4 && tcp"),
    ("bind_vport(\"vp\", inport);", "ip4 && tcp"),
    ("handle_dhcpv6_reply;", "ip4 && tcp"),
    ("fwd_group(liveness=true, childports=\"p1\", \"p2\");", "ip4 && tcp"),
    ("fwd_group(childports=\"p1\");", "ip4 && tcp"),
    ("commit_ecmp_nh(ipv6=true, proto=tcp);", "ip4 && tcp"),
    ("reg9[5] = chk_ecmp_nh_mac();", "ip4 && tcp"),
    ("reg9[5] = chk_ecmp_nh();", "ip4 && tcp"),
    ("commit_lb_aff(vip = \"10.0.0.1:80\", backend = \"10.0.0.2:8080\", proto = tcp, timeout = 30);", "ip4 && tcp"),
    ("reg9[6] = chk_lb_aff();", "ip4 && tcp"),
    ("sample(probability=10, collector_set=1, obs_domain=2, obs_point=3);", "ip4 && tcp"),
    ("sample(probability=10);", "ip4 && tcp"),
    ("igmp;", "igmp"),
];

fn format_agrees(sb: &Sandbox) {
    let dp = sb.sbctl(&[
        "--bare",
        "--columns=_uuid",
        "find",
        "Datapath_Binding",
        "external_ids:name=sw0",
    ]);
    let mut failures = Vec::new();
    for (actions, microflow) in FORMAT {
        let ops = json!(["OVN_Southbound",
            {"op": "delete", "table": "Logical_Flow", "where": [["priority", "==", 4321]]},
            {"op": "insert", "table": "Logical_Flow", "row": {
                "logical_datapath": ["uuid", dp], "pipeline": "ingress", "table_id": 0,
                "priority": 4321, "match": "1", "actions": actions}}]);
        sb.run(
            "ovsdb-client",
            &["transact", &sb.sb_remote(), &ops.to_string()],
        );
        let out = sb
            .command("ovn-trace")
            .args([
                &format!("--db={}", sb.sb_remote()),
                "sw0",
                &format!("inport == \"vm1\" && eth.src == 00:00:00:00:00:01 && ({microflow})"),
            ])
            .output()
            .unwrap_or_else(|e| panic!("ovn-trace: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let theirs = stdout
            .lines()
            .skip_while(|l| !l.starts_with(" 0. 1, priority 4321"))
            .nth(1)
            .map(str::trim);
        let ours = parse_actions(actions).map(|a| print_actions(&a));
        match (theirs, &ours) {
            (Some(t), Ok(o)) if t == o => {}
            _ => failures.push(format!(
                "{actions:?}: upstream prints {theirs:?}, rovn {ours:?}\n{stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} formats differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
