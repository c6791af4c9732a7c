//! The packet model and microflows: fields share storage the way OpenFlow
//! lays them out, and a microflow gives the one packet it describes (as
//! ovn-trace(8) reads its microflow argument), or says why not.

mod common;

use lflow::{Error, Packet, Symtab, Tables};

fn tables() -> Tables {
    let mut t = Tables::new();
    t.add_port("lp1", 1);
    t.add_port("lp2", 2);
    t.add_port_group("pg", &["lp1", "lp2"]);
    t.add_port_group("one", &["lp2"]);
    t.add_address_set("as", &["10.0.0.5"]).unwrap();
    t.set_resident("lp1");
    t
}

fn micro(text: &str) -> Packet {
    Packet::from_microflow(text, Symtab::ovn(), &tables())
        .unwrap_or_else(|e| panic!("{text}: {}", e.render(text)))
}

fn micro_err(text: &str) -> String {
    match Packet::from_microflow(text, Symtab::ovn(), &tables()) {
        Ok(p) => panic!("{text}: accepted as {p}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn fields_share_openflow_storage() {
    let t = Symtab::ovn();
    let mut p = Packet::new();
    p.set(t, "reg0", 0xdead_beef).unwrap();
    assert_eq!(p.field("xxreg0"), 0xdead_beef << 96);
    assert_eq!(p.get(t, "xreg0").unwrap(), 0xdead_beef_0000_0000);
    p.set(t, "reg0[0..15]", 0x1234).unwrap();
    assert_eq!(p.get(t, "reg0").unwrap(), 0xdead_1234);
    // reg8 and reg9 live in xreg4.
    p.set(t, "reg9", 7).unwrap();
    assert_eq!(p.get(t, "xreg4").unwrap(), 7);
    // ARP and RARP share the ARP fields.
    p.set(t, "rarp.op", 3).unwrap();
    assert_eq!(p.get(t, "arp.op").unwrap(), 3);
    // Conntrack bits.
    p.set(t, "ct.trk", 1).unwrap();
    p.set(t, "ct.est", 1).unwrap();
    assert_eq!(p.get(t, "ct_state").unwrap(), 0x22);
    p.set(t, "vlan.vid", 100).unwrap();
    p.set(t, "vlan.pcp", 5).unwrap();
    assert_eq!(p.get(t, "vlan.tci").unwrap(), 5 << 13 | 100);
    p.set_string(t, "inport", "lp1").unwrap();
    assert_eq!(p.get_string(t, "inport").unwrap(), "lp1");
    assert_eq!(p.openflow("reg14", &tables()), 1);
    // Mistakes are errors, not panics.
    assert!(p
        .set(t, "ip.ttl", 256)
        .unwrap_err()
        .to_string()
        .contains("does not fit"));
    assert!(p.set(t, "ip4", 1).is_err());
    assert!(p
        .set(t, "inport", 1)
        .unwrap_err()
        .to_string()
        .contains("string field"));
    assert!(p.get(t, "nonsense").is_err());
    assert!(p.set_string(t, "reg0", "lp1").is_err());
}

#[test]
fn microflows_fill_in_prerequisites() {
    let p = micro(
        "inport == \"lp1\" && eth.src == 00:00:00:00:00:01 && eth.dst == ff:ff:ff:ff:ff:ff \
         && ip4.src == 10.0.0.1 && ip4.dst == 10.0.0.2 && ip.ttl == 64",
    );
    assert_eq!(
        p.to_string(),
        "reg14=\"lp1\",eth_dst=0xffffffffffff,eth_src=0x1,eth_type=0x800,ip_dst=0xa000002,ip_src=0xa000001,nw_ttl=0x40"
    );
    let t = Symtab::ovn();
    let p = micro("ip4 && tcp.dst == 80 && tcp.flags == 2");
    assert_eq!(p.get(t, "ip.proto").unwrap(), 6);
    assert_eq!(p.get(t, "eth.type").unwrap(), 0x800);
    assert_eq!(p.get(t, "tcp.dst").unwrap(), 80);
    // Predicates, subfields, ports and sets of one element are fine.
    let p = micro("nd_ns && ip6.src == fe80::1 && nd.target == fe80::2 && ct.est && outport == @one && reg0[3]");
    assert_eq!(p.get(t, "icmp6.type").unwrap(), 135);
    assert_eq!(p.get(t, "ip.ttl").unwrap(), 255);
    assert_eq!(p.get(t, "ct_state").unwrap(), 0x22);
    assert_eq!(p.get_string(t, "outport").unwrap(), "lp2");
    assert_eq!(p.get(t, "reg0").unwrap(), 8);
    let p = micro("ip4.src == $as && is_chassis_resident(\"lp1\")");
    assert_eq!(p.get(t, "ip4.src").unwrap(), 0x0a00_0005);
    // Unconstrained bits stay 0.
    let p = micro("ip4.src == 10.0.0.0/8");
    assert_eq!(p.get(t, "ip4.src").unwrap(), 0x0a00_0000);
    // Any port name may be used, known or not.
    let p = micro("inport == \"elsewhere\"");
    assert_eq!(p.get_string(t, "inport").unwrap(), "elsewhere");
}

#[test]
fn microflows_must_be_one_packet() {
    for (text, needle) in [
        // ovn-trace(8)'s own examples.
        ("tcp.src == 80", "ambiguous"),
        ("ip4 && tcp.src > 1024", "ambiguous"),
        ("ip4 && ip6", "contradictory"),
        ("inport == @pg", "ambiguous"),
        ("ip4.src == 10.0.0.1 || ip4.src == 10.0.0.2", "ambiguous"),
        ("is_chassis_resident(\"lp2\")", "contradictory"),
        ("ip4.src == $nope", "no address set"),
        ("ip4.src ==", "syntax error"),
        ("ip4.src == \"x\"", "string constant"),
    ] {
        let e = micro_err(text);
        assert!(e.contains(needle), "{text}: {e}");
    }
    assert!(matches!(
        Packet::from_microflow("ip4 && ip6", Symtab::ovn(), &tables()),
        Err(Error::Semantic { .. })
    ));
}

#[test]
fn openflow_syntax_is_what_ovs_ofctl_prints() {
    let p = micro(
        "inport == \"lp1\" && eth.src == 00:00:00:00:00:01 && eth.dst == 00:00:00:00:00:02 \
         && ip4.src == 10.0.0.1 && ip4.dst == 10.0.0.2 && ip.ttl == 64 && tcp.dst == 80 && tcp.flags == 0x12",
    );
    assert_eq!(
        p.to_openflow(&tables()),
        "tcp,reg14=0x1,vlan_tci=0x0000,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02,\
         nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=0,tp_dst=80,tcp_flags=syn|ack"
    );
    let p = micro("inport == \"lp2\" && ct.est && reg9 == 2 && vlan.tci == 0x3005 && nd_ns && nd.target == fd00::1");
    assert_eq!(
        p.to_openflow(&tables()),
        "ct_state=est|trk,icmp6,reg9=0x2,reg14=0x2,dl_vlan=5,dl_vlan_pcp=1,vlan_tci1=0x0000,\
         dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,ipv6_src=::,ipv6_dst=::,ipv6_label=0x00000,\
         nw_tos=0,nw_ecn=0,nw_ttl=255,nw_frag=no,icmp_type=135,icmp_code=0,nd_target=fd00::1,\
         nd_sll=00:00:00:00:00:00,nd_tll=00:00:00:00:00:00"
    );
    assert_eq!(
        micro("eth.type == 0x1234").to_openflow(&tables()),
        "vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,dl_type=0x1234"
    );
    // inet_ntop(3)'s IPv6 forms.
    use lflow::packet::ipv6;
    let v6 = |s: &str| u128::from(s.parse::<std::net::Ipv6Addr>().unwrap());
    for (text, want) in [
        ("::", "::"),
        ("::1", "::1"),
        ("::1.2.3.4", "::1.2.3.4"),
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
        ("1:0:0:1:0:0:0:1", "1:0:0:1::1"),
        ("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"),
        ("fe80::200:ff:fe00:1", "fe80::200:ff:fe00:1"),
    ] {
        assert_eq!(ipv6(v6(text)), want);
    }
}
