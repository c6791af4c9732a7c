//! The action language: round trips for every action form, canonical
//! printing, errors with positions, semantic checks, every action ovn-northd
//! 23.03 writes (the committed fixture), and junk input that must never panic.

use std::path::Path;

use lflow::actions::{
    check_actions, parse_actions, print_actions, without_spans, Action, CheckOptions,
};
use lflow::Symtab;

fn parse_ok(text: &str) -> Vec<Action> {
    parse_actions(text).unwrap_or_else(|e| panic!("{text:?}:\n{}", e.render(text)))
}

fn check_ok(text: &str) -> Vec<String> {
    let a = parse_ok(text);
    check_actions(&a, Symtab::ovn(), &CheckOptions::default())
        .unwrap_or_else(|e| panic!("{text:?}:\n{}", e.render(text)))
        .prereqs
}

/// Parses, checks, prints, and parses again: same tree, and printing the
/// second tree gives the same text.
fn round_trip(text: &str) -> String {
    let a = parse_ok(text);
    check_actions(&a, Symtab::ovn(), &CheckOptions::default())
        .unwrap_or_else(|e| panic!("{text:?}:\n{}", e.render(text)));
    let printed = print_actions(&a);
    let b = parse_actions(&printed)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}:\n{}", e.render(&printed)));
    assert_eq!(
        without_spans(&a),
        without_spans(&b),
        "{text:?} printed as {printed:?}"
    );
    assert_eq!(
        print_actions(&b),
        printed,
        "printing is not idempotent for {text:?}"
    );
    printed
}

/// Every action form, in canonical text (upstream 23.03's own format as
/// `ovn-trace` prints it; `tests/actions_upstream.rs` checks that).
pub const CANONICAL: &[&str] = &[
    "output;",
    "drop;",
    "next;",
    "next(5);",
    "next(pipeline=egress, table=5);",
    "next(pipeline=ingress);",
    "reg0 = 1;",
    "reg0 = 0x1f;",
    "reg0 = 10.0.0.1;",
    "reg0 = 10.0.0.0/8;",
    "reg0 = 1/1;",
    "reg0 = 0x1/0x1;",
    "xxreg0 = fd00::1;",
    "eth.src = 00:00:00:00:00:01;",
    "eth.src = 0x1;",
    "vlan.pcp = 4/4;",
    "vlan.pcp[2] = 1;",
    "outport = \"p1\";",
    "outport = \"\";",
    "outport = inport;",
    "reg0[1..3] = reg1[4..6];",
    "reg0 = ip4.src;",
    "flags.loopback = 1;",
    "icmp4.frag_mtu = 1500;",
    "eth.dst <-> eth.src;",
    "inport <-> outport;",
    "push(reg0);",
    "pop(reg1);",
    "push(reg0[0..3]);",
    "ip.ttl--;",
    "ct_next;",
    "ct_commit;",
    "ct_commit { ct_mark.blocked = 1; };",
    "ct_commit { ct_mark = 1; ct_label = 0x1234567890abcdef1234/0xffffffffffffffffffff; };",
    "ct_commit { ct_mark.blocked = 0; ct_label.label = reg3; };",
    "ct_commit { next; };",
    "ct_commit_nat;",
    "ct_dnat;",
    "ct_dnat(10.0.0.1);",
    "ct_dnat(fd00::1);",
    "ct_snat(10.0.0.1,1000-2000);",
    "ct_snat(10.0.0.1,1000);",
    "ct_dnat_in_czone(10.0.0.1);",
    "ct_dnat_in_czone;",
    "ct_snat_in_czone(172.16.0.100);",
    "ct_snat_in_czone;",
    "ct_lb;",
    "ct_lb(backends=10.0.0.1:80,10.0.0.2:80; hash_fields=\"eth_src,eth_dst\"; skip_snat);",
    "ct_lb(backends=10.0.0.1:80; force_snat);",
    "ct_lb_mark;",
    "ct_lb_mark(backends=10.0.0.1);",
    "ct_lb_mark(backends=[fd00::1]:80,[fd00::2]:80; force_snat);",
    "ct_lb_mark(backends=10.0.0.11:8080,10.0.0.12:8080);",
    "ct_clear;",
    "ct_snat_to_vip;",
    "clone { outport = \"p1\"; output; };",
    "arp { eth.dst = ff:ff:ff:ff:ff:ff; arp.op = 1; output; };",
    "nd_ns { nd.target = xxreg0; output; };",
    "nd_na { output; };",
    "nd_na_router { output; };",
    "icmp4 { icmp4.type = 3; output; };",
    "icmp4_error { output; };",
    "icmp6 { output; };",
    "icmp6_error { output; };",
    "tcp_reset { output; };",
    "sctp_abort { output; };",
    "reject { outport <-> inport; next(pipeline=egress, table=5); };",
    "igmp;",
    "get_arp(outport, reg0);",
    "put_arp(inport, arp.spa, arp.sha);",
    "get_nd(outport, xxreg0);",
    "put_nd(inport, nd.target, nd.tll);",
    "put_fdb(inport, eth.src);",
    "reg9[2] = lookup_arp(inport, arp.spa, arp.sha);",
    "reg0[0] = lookup_arp_ip(inport, arp.spa);",
    "reg0[0] = lookup_nd(inport, ip6.src, eth.src);",
    "reg0[0] = lookup_nd_ip(inport, ip6.src);",
    "reg0[11] = lookup_fdb(inport, eth.src);",
    "outport = get_fdb(eth.dst);",
    "reg0 = get_fdb(eth.dst);",
    "reg0[6] = check_pkt_larger(1500);",
    "reg0[6] = chk_lb_hairpin();",
    "reg0[12] = chk_lb_hairpin_reply();",
    "reg0[15] = check_in_port_sec();",
    "reg0[15] = check_out_port_sec();",
    "reg9[5] = chk_ecmp_nh_mac();",
    "reg9[5] = chk_ecmp_nh();",
    "reg9[6] = chk_lb_aff();",
    "reg0[3] = dns_lookup();",
    "reg8[16..31] = select(1=20, 2=100);",
    "reg0[3] = put_dhcp_opts(offerip = 10.0.0.11, lease_time = 3600, netmask = 255.255.255.0, router = 10.0.0.1, server_id = 10.0.0.1, dns_server = {8.8.8.8, 7.7.7.7}, hostname = \"h\", classless_static_route = {30.0.0.0/24, 10.0.0.4, 0.0.0.0/0, 10.0.0.1});",
    "reg0[3] = put_dhcpv6_opts(ia_addr = fd00::11, server_id = 00:00:00:00:ff:01, domain_search = \"a.b\");",
    "reg0[3] = put_dhcpv6_opts();",
    "reg0[3] = put_nd_ra_opts(addr_mode = \"slaac\", slla = 00:00:00:00:10:02, prefix = aef0::/64, mtu = 1450);",
    "set_queue(10);",
    "log(name=\"x\", verdict=drop, severity=alert, meter=\"m\");",
    "log(verdict=allow, severity=info);",
    "set_meter(100);",
    "set_meter(100, 1000);",
    "trigger_event(event = \"empty_lb_backends\", vip = \"10.0.0.1:80\", protocol = \"tcp\", load_balancer = \"12345678-1234-1234-1234-123456789012\");",
    "bind_vport(\"vp\", inport);",
    "handle_svc_check(inport);",
    "handle_dhcpv6_reply;",
    "fwd_group(liveness=\"true\", childports=\"p1\", \"p2\");",
    "fwd_group(childports=\"p1\");",
    "commit_ecmp_nh(ipv6 = true, proto = tcp);",
    "commit_lb_aff(vip = \"10.0.0.1:80\", backend = \"10.0.0.2:8080\", proto = tcp, timeout = 30);",
    "sample(probability=10,collector_set=1,obs_domain=2,obs_point=3);",
    "",
    "reg0[0] = 1; next;",
    "ct_commit { ct_mark.blocked = 1; }; log(name=\"deny_web\", verdict=drop, severity=warning);",
    "clone { ct_clear; inport = outport; outport = \"\"; flags = 0; next(pipeline=ingress, table=0); };",
];

#[test]
fn every_action_form_round_trips_in_canonical_text() {
    for text in CANONICAL {
        assert_eq!(&round_trip(text), text, "not canonical");
    }
}

/// Other spellings that upstream accepts, and their canonical text.
#[test]
fn other_spellings_print_canonically() {
    let cases: &[(&str, &str)] = &[
        ("next(pipeline=egress,table=5);", "next(pipeline=egress, table=5);"),
        ("next(table=5);", "next(5);"),
        ("next(table=5, pipeline=egress);", "next(pipeline=egress, table=5);"),
        ("ct_commit { };", "ct_commit;"),
        ("ct_commit {};", "ct_commit;"),
        ("ct_commit { ct_mark.blocked = 1; } ;", "ct_commit { ct_mark.blocked = 1; };"),
        ("ct_snat(10.0.0.1, 1000 - 2000);", "ct_snat(10.0.0.1,1000-2000);"),
        ("ct_lb();", "ct_lb;"),
        ("ct_lb(backends=10.0.0.1,);", "ct_lb(backends=10.0.0.1);"),
        ("reg8[16..31] = select(1=20, 2);", "reg8[16..31] = select(1=20, 2=100);"),
        ("log(verdict=allow);", "log(verdict=allow, severity=info);"),
        (
            "log(name=\"x\", severity=alert, verdict=drop, meter=\"m\");",
            "log(name=\"x\", verdict=drop, severity=alert, meter=\"m\");",
        ),
        ("log(verdict=allow, verdict=drop);", "log(verdict=drop, severity=info);"),
        ("fwd_group(liveness=true, childports=\"p1\");", "fwd_group(liveness=\"true\", childports=\"p1\");"),
        ("fwd_group(liveness=false, childports=\"p1\");", "fwd_group(childports=\"p1\");"),
        ("commit_ecmp_nh(ipv6=false, proto=udp);", "commit_ecmp_nh(ipv6 = false, proto = udp);"),
        ("sample(probability=10);", "sample(probability=10,collector_set=0,obs_domain=0,obs_point=0);"),
        ("reg0=0x0800;", "reg0 = 0x800;"),
        ("eth.dst=00:00:5E:00:53:01;", "eth.dst = 00:00:5e:00:53:01;"),
        ("ip.ttl-- ;", "ip.ttl--;"),
        (
            "eth.dst = eth.src; arp.op = 2; /* ARP reply */ outport = inport; // end",
            "eth.dst = eth.src; arp.op = 2; outport = inport;",
        ),
        ("  /* only a comment */ ", ""),
        (
            "reg0[3] = put_dhcp_opts(offerip=10.0.0.2,classless_static_route={30.0.0.0/24,10.0.0.4});",
            "reg0[3] = put_dhcp_opts(offerip = 10.0.0.2, classless_static_route = {30.0.0.0/24, 10.0.0.4});",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(&round_trip(text), want, "for {text:?}");
    }
}

#[test]
fn prerequisites_are_recorded() {
    let cases: &[(&str, &[&str])] = &[
        ("next;", &[]),
        ("tcp.dst = 80;", &["tcp"]),
        ("ip.ttl--;", &["ip"]),
        ("reg0 = ip4.src; tcp.src = 1;", &["ip4", "tcp"]),
        ("vlan.pcp = 1;", &["vlan.present"]),
        ("arp { arp.op = 1; output; };", &["ip4"]),
        ("nd_na { nd.tll = 00:00:00:00:00:01; output; };", &["nd_ns"]),
        ("clone { tcp.dst = 80; };", &["tcp"]),
        ("icmp6 { icmp6.type = 1; output; };", &["ip6"]),
        ("tcp_reset { output; };", &["tcp"]),
        ("igmp;", &["igmp"]),
        ("reg0[0] = dns_lookup();", &["udp"]),
        ("ct_next;", &["ip"]),
        ("reg9[2] = lookup_arp(inport, arp.spa, arp.sha);", &["arp"]),
    ];
    for (text, want) in cases {
        assert_eq!(check_ok(text), *want, "for {text:?}");
    }
}

/// Parse errors: (text, span start, span end, words the message contains).
#[test]
fn syntax_errors_point_at_the_problem() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("foo;", 0, 3, "unknown action `foo`"),
        ("next", 4, 4, "`;`"),
        ("next; drop;", 6, 10, "only action"),
        ("drop; next;", 0, 4, "only action"),
        (";", 0, 1, "an action"),
        ("next();", 5, 6, "`pipeline=` or `table=`"),
        ("next(pipeline=foo, table=1);", 14, 17, "unknown pipeline `foo`"),
        ("reg0--;", 0, 4, "only `ip.ttl--`"),
        ("reg0 <-> 1;", 9, 10, "field name"),
        ("reg0 = {1, 2};", 7, 8, "not a set"),
        ("tcp_reset;", 9, 10, "`{`"),
        ("ct_commit { ct_mark.blocked = 1 };", 32, 33, "`;`"),
        ("ct_commit { ct_mark.blocked = 1; }", 34, 34, "`;`"),
        ("check_pkt_larger(1500);", 0, 16, "returns a result"),
        ("reg0[0] = check_pkt_larger();", 27, 28, "packet length"),
        ("reg0[0] = check_pkt_larger(0x10);", 27, 31, "decimal"),
        ("reg0[0] = check_pkt_larger(70000);", 27, 32, "at most 65535"),
        ("reg0[0] = dns_lookup(1);", 21, 22, "takes no arguments"),
        ("reg8[16..31] = select(1);", 15, 23, "at least 2"),
        ("reg8[16..31] = select(1=0, 2);", 24, 25, "not 0"),
        ("reg8[16..31] = select(70000, 2);", 22, 27, "at most 65535"),
        ("set_queue(61441);", 10, 15, "0 to 61440"),
        ("set_meter(0);", 10, 11, "at least 1"),
        ("ct_snat(10.0.0.1:80);", 16, 17, "`)`"),
        ("ct_dnat(10.0.0.0/24);", 8, 19, "masked"),
        ("ct_snat(10.0.0.1,2000-1000);", 22, 26, "high port"),
        ("ct_snat(10.0.0.1,0-1000);", 17, 18, "can't start at 0"),
        ("ct_lb(10.0.0.1:80);", 6, 14, "`backends=`"),
        ("ct_lb(backends=10.0.0.1:70000);", 24, 29, "at most 65535"),
        ("ct_lb(backends=00:00:00:00:00:01);", 15, 32, "backend IP address"),
        ("ct_lb(backends=10.0.0.1; foo);", 25, 28, "unknown ct_lb flag `foo`"),
        ("ct_lb(backends=[10.0.0.1]:80);", 16, 24, "brackets"),
        ("log(verdict=deny);", 12, 16, "unknown verdict `deny`"),
        ("log;", 0, 3, "needs a verdict"),
        ("log(severity=info);", 0, 18, "needs a verdict"),
        ("log(verdict=allow, name=x);", 24, 25, "string"),
        ("log(verdict=allow, foo=1);", 19, 22, "unknown log argument"),
        ("sample(probability=0);", 6, 21, "probability"),
        ("sample(probability=1, obs_domain=256);", 33, 36, "at most 255"),
        ("commit_ecmp_nh(proto=tcp, ipv6=false);", 15, 20, "`ipv6=`"),
        ("commit_ecmp_nh(ipv6=maybe, proto=tcp);", 20, 25, "unknown Boolean `maybe`"),
        ("commit_lb_aff(vip = \"x\", backend = \"10.0.0.2:80\", proto = tcp, timeout = 30);", 20, 23, "invalid vip"),
        ("commit_lb_aff(vip = \"10.0.0.1:80\", backend = \"10.0.0.2:80\", proto = foo, timeout = 30);", 68, 71, "unknown protocol"),
        ("trigger_event(event = \"bogus\");", 22, 29, "unknown event"),
        ("trigger_event(event = \"empty_lb_backends\", meter = \"m\");", 43, 48, "unknown empty_lb_backends option"),
        ("trigger_event(event = \"empty_lb_backends\", load_balancer = \"x\");", 59, 62, "UUID"),
        ("bind_vport(inport, inport);", 11, 17, "string"),
        ("fwd_group(liveness=\"bogus\", childports=\"p1\");", 19, 26, "true or false"),
        ("fwd_group(childports=inport);", 21, 27, "string"),
        ("reg0[0] = put_dhcp_opts(offerip = 10.0.0.1, bogus = 3);", 44, 49, "unknown DHCPv4 option `bogus`"),
        ("reg0[0] = put_nd_ra_opts(bogus = 1);", 25, 30, "unknown IPv6 ND RA option"),
        ("arp { output; ", 14, 14, "`}`"),
        ("ct_next(1);", 7, 8, "`;`"),
    ];
    for &(text, start, end, needle) in cases {
        let e = match parse_actions(text) {
            Ok(a) => panic!("{text:?} parsed as {a:?}"),
            Err(e) => e,
        };
        assert_error_at(text, &e, start, end, needle);
    }
}

/// `e`, the error for `text`, covers bytes `start..end` and its message
/// contains `needle`.
fn assert_error_at(text: &str, e: &lflow::Error, start: usize, end: usize, needle: &str) {
    assert_eq!((e.span().start, e.span().end), (start, end), "{text:?}: {e}");
    assert!(e.message().contains(needle), "{text:?}: {e} lacks {needle:?}");
}

/// Semantic errors: (text, span start, span end, words the message contains).
#[test]
fn semantic_errors_point_at_the_problem() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("foo = 1;", 0, 3, "unknown field `foo`"),
        ("ip4 = 1;", 0, 3, "predicate"),
        ("push(ip4);", 5, 8, "predicate"),
        ("eth.type = 0x800;", 0, 8, "read-only"),
        ("ip.proto = 6;", 0, 8, "read-only"),
        ("pop(ip.proto);", 4, 12, "read-only"),
        ("ct_state = 1;", 0, 8, "read-only"),
        ("ct.new = 1;", 0, 6, "read-only"),
        ("tcp.flags = 1;", 0, 9, "read-only"),
        ("ct_mark = 1;", 0, 7, "ct_commit"),
        ("ct_label.blocked = 1;", 0, 16, "ct_commit"),
        (
            "ct_commit { reg0 = 1; };",
            12,
            16,
            "only ct_mark and ct_label",
        ),
        (
            "ct_commit { clone { ct_mark = 1; }; };",
            20,
            27,
            "ct_commit",
        ),
        ("ip.ttl[0] = 1;", 0, 9, "only be used whole"),
        ("icmp4.frag_mtu[0..3] = 1;", 0, 20, "only be used whole"),
        ("reg0[32] = 1;", 0, 8, "bits 32 to 32 of 32-bit"),
        ("reg0 = 0x100000000;", 7, 18, "33-bit constant"),
        ("vlan.pcp = 8;", 11, 12, "4-bit constant"),
        ("reg0[0] = 2;", 10, 11, "2-bit constant"),
        ("icmp4.frag_mtu = 70000;", 17, 22, "17-bit"),
        ("outport = 1;", 10, 11, "port names in quotes"),
        ("reg0 = \"p1\";", 7, 11, "cannot be assigned a string"),
        (
            "icmp4.frag_mtu = \"x\";",
            17,
            20,
            "cannot be assigned a string",
        ),
        ("reg0 = ^tmpl;", 7, 12, "template"),
        ("reg0 = $as;", 7, 10, "cannot be assigned an address set"),
        ("outport = @pg;", 10, 13, "cannot be assigned a port group"),
        ("reg0 = ip6.src;", 0, 14, "widths must be equal"),
        ("reg0 = inport;", 0, 13, "cannot assign string field"),
        ("inport = reg0;", 0, 13, "cannot assign integer field"),
        ("reg0[0..15] = icmp4.frag_mtu;", 14, 28, "only be assigned"),
        ("eth.src <-> ip4.src;", 0, 19, "cannot exchange"),
        (
            "reg0[0..1] = check_pkt_larger(1500);",
            0,
            10,
            "1-bit result",
        ),
        ("reg0 = chk_lb_hairpin();", 0, 4, "1-bit result"),
        ("outport = check_in_port_sec();", 0, 7, "1-bit result"),
        ("reg0[0] = select(1, 2);", 0, 7, "at least 16 bits"),
        ("reg0[0..15] = get_fdb(eth.src);", 0, 11, "get_fdb"),
        (
            "reg0[0] = lookup_arp(inport, reg0, reg1);",
            35,
            39,
            "48-bit",
        ),
        (
            "reg0[0] = lookup_arp(inport, ip6.src, arp.sha);",
            29,
            36,
            "32-bit address",
        ),
        (
            "reg0[0] = lookup_arp(reg0, arp.spa, arp.sha);",
            21,
            25,
            "logical port",
        ),
        ("get_nd(outport, reg0);", 16, 20, "128-bit"),
        ("put_fdb(inport, arp.spa);", 16, 23, "48-bit"),
        ("handle_svc_check(reg0);", 17, 21, "logical port"),
        ("bind_vport(\"vp\", reg0);", 17, 21, "logical port"),
        ("next(29);", 0, 8, "tables 0 to 28"),
        (
            "reg0[0] = put_dhcp_opts(router = 10.0.0.1);",
            0,
            7,
            "offerip",
        ),
        ("reg0[0] = put_dhcp_opts();", 0, 7, "offerip"),
        (
            "reg0[0] = put_dhcp_opts(offerip = \"10.0.0.2\");",
            34,
            44,
            "IPv4",
        ),
        (
            "reg0[0] = put_dhcp_opts(offerip = 10.0.0.2, lease_time = \"x\");",
            57,
            60,
            "integer",
        ),
        (
            "reg0[0] = put_dhcp_opts(offerip = 10.0.0.2, hostname = 5);",
            55,
            56,
            "a string",
        ),
        (
            "reg0[0] = put_dhcp_opts(offerip = 10.0.0.2, mtu = 70000);",
            50,
            55,
            "0 to 65535",
        ),
        (
            "reg0[0] = put_dhcp_opts(offerip = 10.0.0.2, ip_forward_enable = 2);",
            64,
            65,
            "0 or 1",
        ),
        (
            "reg0[0] = put_dhcp_opts(offerip = 10.0.0.2, router = fd00::1);",
            53,
            60,
            "IPv4",
        ),
        (
            "reg0[0] = put_dhcp_opts(offerip = 10.0.0.2, hostname = {\"a\", \"b\"});",
            55,
            65,
            "single value",
        ),
        (
            "reg0[0] = put_dhcp_opts(offerip = 10.0.0.2, classless_static_route = {30.0.0.0/24});",
            69,
            82,
            "pairs",
        ),
        (
            "reg0[0] = put_dhcpv6_opts(server_id = fd00::1);",
            38,
            45,
            "Ethernet",
        ),
        (
            "reg0[0] = put_dhcpv6_opts(ia_addr = 10.0.0.1);",
            36,
            44,
            "IPv6",
        ),
        (
            "reg0[0] = put_nd_ra_opts(addr_mode = \"slaac\");",
            0,
            7,
            "slla",
        ),
        (
            "reg0[0] = put_nd_ra_opts(addr_mode = \"bogus\", slla = 00:00:00:00:10:02);",
            37,
            44,
            "invalid addr_mode",
        ),
        (
            "reg0[0] = put_nd_ra_opts(addr_mode = \"slaac\", slla = 00:00:00:00:10:02);",
            0,
            7,
            "prefix",
        ),
        (
            "reg0[0] = put_nd_ra_opts(addr_mode = \"slaac\", slla = 10.0.0.1, prefix = aef0::/64);",
            53,
            61,
            "Ethernet",
        ),
    ];
    for &(text, start, end, needle) in cases {
        let a = parse_ok(text);
        let e = match check_actions(&a, Symtab::ovn(), &CheckOptions::default()) {
            Ok(c) => panic!("{text:?} passed checks: {c:?}"),
            Err(e) => e,
        };
        assert_error_at(text, &e, start, end, needle);
    }
}

#[test]
fn errors_render_with_line_and_caret() {
    let text = "next;\n  ip.proto = 6;";
    let a = parse_ok(text);
    let e = check_actions(&a, Symtab::ovn(), &CheckOptions::default()).err();
    let rendered = e.map(|e| e.render(text)).unwrap_or_default();
    assert_eq!(
        rendered,
        "2:3: `ip.proto` is read-only: it cannot be modified\n  ip.proto = 6;\n  ^^^^^^^^"
    );
}

/// Every `actions` column ovn-northd 23.03 wrote for the test topology
/// (tests/upstream_flows.rs keeps the fixture fresh).
#[test]
fn every_northd_action_parses_checks_and_prints_back() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/northd-23.03-flows.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut distinct = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for line in text.lines() {
        let j: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let actions = j["actions"]
            .as_str()
            .unwrap_or_else(|| panic!("no actions in {line}"));
        distinct.insert(actions.to_string());
        let parsed = match parse_actions(actions) {
            Ok(a) => a,
            Err(e) => {
                failures.push(format!("parse:\n{}", e.render(actions)));
                continue;
            }
        };
        if let Err(e) = check_actions(&parsed, Symtab::ovn(), &CheckOptions::default()) {
            failures.push(format!("check:\n{}", e.render(actions)));
        }
        let printed = print_actions(&parsed);
        match parse_actions(&printed) {
            Ok(b) if without_spans(&b) == without_spans(&parsed) => {}
            other => failures.push(format!(
                "{actions:?} printed as {printed:?} gives {other:?}"
            )),
        }
    }
    assert!(
        distinct.len() > 80,
        "only {} distinct actions",
        distinct.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Where northd's own text is already canonical, printing gives it back
/// exactly. The differences that remain are northd's formatting habits:
/// comments, no space after `{` or before `;`, `next(pipeline=egress,table=5)`
/// without a space, trailing blanks.
#[test]
fn northd_text_is_canonical_except_for_known_habits() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/northd-23.03-flows.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut same = 0;
    let mut differ = Vec::new();
    for line in text.lines() {
        let j: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let actions = j["actions"].as_str().unwrap_or_default();
        let printed = print_actions(&parse_ok(actions));
        if printed == actions {
            same += 1;
            continue;
        }
        let habit = actions.contains("/*")
            || actions.contains("{outport")
            || actions.contains("{eth")
            || actions.contains(" ;")
            || actions.contains("table=5)")
            || actions.ends_with(' ')
            || actions.contains("};  ");
        if !habit {
            differ.push(format!("{actions:?}\n  printed {printed:?}"));
        }
    }
    assert!(same > 250, "only {same} flows print back exactly");
    assert!(
        differ.is_empty(),
        "unexplained differences:\n{}",
        differ.join("\n")
    );
}

/// A small deterministic generator (xorshift), so that failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Mutated valid actions and random token soup: parsing, checking and
/// printing never panic, and whatever parses prints back to the same tree.
#[test]
fn junk_never_panics() {
    const PIECES: &[&str] = &[
        "next",
        "output",
        "drop",
        "ct_commit",
        "ct_lb",
        "ct_lb_mark",
        "clone",
        "arp",
        "reg0",
        "reg0[0]",
        "ip.ttl",
        "--",
        "=",
        "<->",
        ";",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ",",
        "..",
        ":",
        "-",
        "1",
        "0x10",
        "10.0.0.1",
        "fd00::1",
        "00:00:00:00:00:01",
        "\"p\"",
        "$as",
        "@pg",
        "^t",
        "backends",
        "select",
        "put_dhcp_opts",
        "offerip",
        "log",
        "verdict",
        "drop",
        "inport",
        "outport",
        "eth.src",
        "ct_mark",
        "70000",
        "/",
        "/*",
        "*/",
        "!",
        "&&",
        "ct_snat",
        "trigger_event",
        "event",
        "sample",
        "probability",
        "reject",
        "next(",
        "pipeline",
        "table",
        "egress",
        "fwd_group",
        "childports",
        "liveness",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let seeds: Vec<&str> = CANONICAL
        .iter()
        .copied()
        .filter(|s| !s.is_empty())
        .collect();
    let mut parsed = 0;
    for i in 0..20_000 {
        let text = if i % 2 == 0 {
            let mut bytes = seeds[rng.below(seeds.len())].as_bytes().to_vec();
            for _ in 0..1 + rng.below(4) {
                match rng.below(4) {
                    0 if !bytes.is_empty() => {
                        let at = rng.below(bytes.len());
                        bytes.remove(at);
                    }
                    1 => {
                        let at = rng.below(bytes.len() + 1);
                        bytes.insert(at, b" ;{}()[]=-:,.\"/*0x9az"[rng.below(21)]);
                    }
                    2 if !bytes.is_empty() => {
                        let at = rng.below(bytes.len());
                        bytes.truncate(at);
                    }
                    _ => {
                        let piece = PIECES[rng.below(PIECES.len())];
                        let at = rng.below(bytes.len() + 1);
                        bytes.splice(at..at, piece.bytes());
                    }
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            (0..1 + rng.below(12))
                .map(|_| PIECES[rng.below(PIECES.len())])
                .collect::<Vec<_>>()
                .join(if rng.below(2) == 0 { " " } else { "" })
        };
        let Ok(a) = parse_actions(&text) else {
            continue;
        };
        parsed += 1;
        let _ = check_actions(&a, Symtab::ovn(), &CheckOptions::default());
        let printed = print_actions(&a);
        let b = parse_actions(&printed)
            .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}: {e}"));
        assert_eq!(
            without_spans(&a),
            without_spans(&b),
            "{text:?} printed as {printed:?}"
        );
    }
    assert!(
        parsed > 500,
        "only {parsed} of the junk inputs parsed; the generator is too wild"
    );
}
