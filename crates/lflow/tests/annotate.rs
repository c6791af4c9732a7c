//! Symbol table and annotation: the table is self-consistent, expansions
//! and prerequisites come out as ovn-sb(5) describes, and type errors point
//! at what is wrong.

use lflow::annotate::{parse_and_annotate, Match};
use lflow::symtab::{Kind, Level, Symtab};
use lflow::{parse_expr, Error};

fn ann(s: &str) -> Match {
    parse_and_annotate(s, Symtab::ovn()).unwrap_or_else(|e| panic!("{s:?}:\n{}", e.render(s)))
}

#[test]
fn every_predicate_and_prerequisite_parses_and_annotates() {
    let t = Symtab::ovn();
    let mut predicates = 0;
    for sym in t.iter() {
        if let Kind::Predicate { expansion } = &sym.kind {
            predicates += 1;
            parse_expr(expansion)
                .unwrap_or_else(|e| panic!("{}: {}", sym.name, e.render(expansion)));
            ann(&sym.name);
            ann(expansion);
            if sym.level == Level::Boolean {
                ann(&format!("!{}", sym.name));
            }
        }
        if let Some(p) = &sym.prereqs {
            ann(p);
        }
        // Every symbol but the action-only ones can be used in a match.
        let use_it = match &sym.kind {
            Kind::String(_) => format!("{} == \"lp\"", sym.name),
            Kind::OvnField => continue,
            Kind::Predicate { .. } => sym.name.clone(),
            _ if sym.width == 1 => sym.name.clone(),
            _ => format!("{} == 0", sym.name),
        };
        ann(&use_it);
    }
    assert_eq!(predicates, 33);
}

#[test]
fn table_matches_ovn_sb_and_ovs_fields() {
    let t = Symtab::ovn();
    // Everything ovn-sb(5) lists.
    for name in [
        "reg0",
        "reg9",
        "xxreg0",
        "xxreg1",
        "inport",
        "outport",
        "flags.loopback",
        "pkt.mark",
        "eth.src",
        "eth.dst",
        "eth.type",
        "vlan.tci",
        "vlan.vid",
        "vlan.pcp",
        "vlan.present",
        "ip.proto",
        "ip.dscp",
        "ip.ecn",
        "ip.ttl",
        "ip.frag",
        "ip4.src",
        "ip4.dst",
        "ip6.src",
        "ip6.dst",
        "ip6.label",
        "arp.op",
        "arp.spa",
        "arp.tpa",
        "arp.sha",
        "arp.tha",
        "rarp.op",
        "rarp.spa",
        "rarp.tpa",
        "rarp.sha",
        "rarp.tha",
        "tcp.src",
        "tcp.dst",
        "tcp.flags",
        "udp.src",
        "udp.dst",
        "sctp.src",
        "sctp.dst",
        "icmp4.type",
        "icmp4.code",
        "icmp6.type",
        "icmp6.code",
        "nd.target",
        "nd.sll",
        "nd.tll",
        "ct_mark",
        "ct_label",
        "ct_state",
        "ct.trk",
        "ct.new",
        "ct.est",
        "ct.rel",
        "ct.rpl",
        "ct.inv",
        "ct.dnat",
        "ct.snat",
        "eth.bcast",
        "eth.mcast",
        "ip4",
        "ip4.src_mcast",
        "ip4.mcast",
        "ip6",
        "ip",
        "icmp4",
        "icmp6",
        "icmp",
        "ip.is_frag",
        "ip.later_frag",
        "ip.first_frag",
        "arp",
        "rarp",
        "nd",
        "nd_ns",
        "nd_na",
        "nd_rs",
        "nd_ra",
        "tcp",
        "udp",
        "sctp",
        "igmp",
        "mldv1",
        "mldv2",
        "ct_mark.natted",
        "ct_label.blocked",
        "flags.force_snat_for_lb",
        "xreg0",
        "xreg4",
    ] {
        assert!(t.get(name).is_some(), "missing {name}");
    }
    // Register overlays (ovn-sb(5): reg0 is the most significant word of xxreg0).
    let at = |n: &str| {
        let s = t.slice(n).unwrap_or_else(|| panic!("{n}"));
        (s.root.name.clone(), s.of.oxm, s.lo, s.width)
    };
    assert_eq!(at("reg0"), ("xxreg0".into(), "NXM_NX_XXREG0", 96, 32));
    assert_eq!(at("reg3"), ("xxreg0".into(), "NXM_NX_XXREG0", 0, 32));
    assert_eq!(at("reg4"), ("xxreg1".into(), "NXM_NX_XXREG1", 96, 32));
    assert_eq!(at("xreg1"), ("xxreg0".into(), "NXM_NX_XXREG0", 0, 64));
    assert_eq!(at("reg8"), ("xreg4".into(), "OXM_OF_PKT_REG4", 32, 32));
    assert_eq!(at("reg9"), ("xreg4".into(), "OXM_OF_PKT_REG4", 0, 32));
    assert_eq!(at("inport"), ("inport".into(), "NXM_NX_REG14", 0, 0));
    assert_eq!(at("flags.loopback"), ("flags".into(), "NXM_NX_REG10", 0, 1));
    assert_eq!(at("ct.trk"), ("ct_state".into(), "NXM_NX_CT_STATE", 5, 1));
    assert_eq!(
        at("ct_label.label"),
        ("ct_label".into(), "NXM_NX_CT_LABEL", 96, 32)
    );
    assert_eq!(
        at("vlan.vid"),
        ("vlan.tci".into(), "NXM_OF_VLAN_TCI", 0, 12)
    );
    assert_eq!(at("eth.mcast"), ("eth.dst".into(), "OXM_OF_ETH_DST", 40, 1));
    assert!(t.slice("ip4").is_none());
    assert!(
        t.get("reg10").is_none(),
        "reg10..15 carry OVN's own metadata and are not symbols"
    );
    for sym in t.iter() {
        if let Kind::Field(of) | Kind::String(of) = &sym.kind {
            assert!(
                of.oxm.starts_with("OXM_OF_") || of.oxm.starts_with("NXM_"),
                "{}",
                of.oxm
            );
            assert!(
                !of.name.contains('.'),
                "{} is not an ovs-fields name",
                of.name
            );
        }
    }
    // Levels: nominal fields and the predicates built on them.
    let level = |n: &str| t.get(n).map(|s| s.level);
    assert_eq!(level("eth.type"), Some(Level::Nominal));
    assert_eq!(level("inport"), Some(Level::Nominal));
    assert_eq!(level("icmp6.type"), Some(Level::Nominal));
    assert_eq!(level("ip4"), Some(Level::Nominal));
    assert_eq!(level("tcp"), Some(Level::Nominal));
    assert_eq!(level("ip.first_frag"), Some(Level::Boolean));
    assert_eq!(level("eth.bcast"), Some(Level::Boolean));
    assert_eq!(level("tcp.dst"), Some(Level::Ordinal));
    // Fields whose OpenFlow field is not maskable are nominal, as in
    // upstream's table (ovn-trace 23.03 refuses `ip.ttl > 5`; the
    // differential is in rovn's tests/trace_gateway.rs).
    for f in ["ip.ttl", "ip.dscp", "ip.ecn", "icmp4.type", "icmp4.code", "arp.op", "rarp.op", "icmp6.code"] {
        assert_eq!(level(f), Some(Level::Nominal), "{f}");
    }
    for f in ["ip.frag", "ip6.label", "tcp.flags", "arp.spa", "nd.target"] {
        assert_eq!(level(f), Some(Level::Ordinal), "{f}");
    }
}

#[test]
fn expansions_and_prerequisites() {
    let cases: &[(&str, &str)] = &[
        ("1", "1"),
        ("!0", "1"),
        ("ip4", "eth.type == 2048"),
        ("ip", "eth.type == 2048 || eth.type == 34525"),
        ("tcp.dst == 80", "tcp.dst == 80 && ip.proto == 6 && (eth.type == 2048 || eth.type == 34525)"),
        ("80 == tcp.dst", "tcp.dst == 80 && ip.proto == 6 && (eth.type == 2048 || eth.type == 34525)"),
        (
            "icmp4.type == 0",
            "icmp4.type == 0 && eth.type == 2048 && ip.proto == 1 && (eth.type == 2048 || eth.type == 34525)",
        ),
        ("reg0 == 5", "xxreg0[96..127] == 5"),
        ("reg9[1]", "xreg4[1] == 1"),
        ("!reg9[1]", "xreg4[1] == 0"),
        ("!ct.est", "ct_state[1] == 0 && ct_state[5] == 1"),
        ("ct.trk", "ct_state[5] == 1"),
        ("eth.mcast", "eth.dst[40] == 1"),
        ("eth.bcast", "eth.dst == 0xffffffffffff"),
        ("!eth.bcast", "eth.dst != 0xffffffffffff"),
        ("vlan.vid == 10", "vlan.tci[0..11] == 10 && vlan.tci[12] == 1"),
        ("ip.first_frag", "ip.frag[0] == 1 && (eth.type == 2048 || eth.type == 34525) && ip.frag[1] == 0"),
        (
            "!ip.first_frag",
            "(ip.frag[0] == 0 && (eth.type == 2048 || eth.type == 34525)) || (ip.frag[1] == 1 && (eth.type == 2048 || eth.type == 34525))",
        ),
        ("1024 <= udp.src <= 2048", "udp.src >= 1024 && ip.proto == 17 && (eth.type == 2048 || eth.type == 34525) && udp.src <= 2048"),
        ("ip4.src == 10.0.0.0/8", "ip4.src == 0xa000000/0xff000000 && eth.type == 2048"),
        ("!(ip4.src == {10.0.0.1, 10.0.0.2})", "ip4.src != 0xa000001 && ip4.src != 0xa000002 && eth.type == 2048"),
        ("ip4[0]", "eth.type == 2048"),
        ("ip4.src == $as1", "ip4.src == $as1 && eth.type == 2048"),
        ("!(ip6.src == $as1)", "ip6.src != $as1 && eth.type == 34525"),
        (r#"inport == "lp1""#, r#"inport == "lp1""#),
        (r#"outport == {"a", @pg}"#, r#"outport == "a" || outport == @pg"#),
        (r#"!(inport != "lp1")"#, r#"inport == "lp1""#),
        (r#"!is_chassis_resident("cr-lrp")"#, r#"!is_chassis_resident("cr-lrp")"#),
        ("ct_mark.blocked == 1", "ct_mark[0] == 1"),
        ("ct_label.ecmp_reply_eth == 00:00:00:00:00:01", "ct_label[32..79] == 1"),
        ("xxreg0 == fd00::1", "xxreg0 == 0xfd000000000000000000000000000001"),
        ("reg1 == 10.0.0.1", "xxreg0[64..95] == 0xa000001"),
        ("ip.ttl == {0, 1}", "(ip.ttl == 0 || ip.ttl == 1) && (eth.type == 2048 || eth.type == 34525)"),
    ];
    for (text, want) in cases {
        let got = ann(text);
        assert_eq!(got.to_string(), *want, "annotating {text:?}");
        // The printed form is itself a valid match (over root fields).
        ann(&got.to_string());
    }
}

fn semantic_error(s: &str) -> Error {
    match parse_and_annotate(s, Symtab::ovn()) {
        Ok(m) => panic!("{s:?} annotated as {m}"),
        Err(e) => e,
    }
}

#[test]
fn type_errors_carry_positions() {
    let cases: &[(&str, &str, &str)] = &[
        // (input, text under the span, part of the message)
        ("ip4 && foo.bar == 1", "foo.bar", "unknown field `foo.bar`"),
        ("reg10 == 1", "reg10", "unknown field"),
        (
            "tcp.dst == 0x10000",
            "0x10000",
            "17-bit constant is not compatible with 16-bit field `tcp.dst`",
        ),
        (
            "reg0 == fe80::1",
            "fe80::1",
            "128-bit constant is not compatible with 32-bit field `reg0`",
        ),
        (
            "ip.proto < 6",
            "ip.proto < 6",
            "only == and != operators may be used with nominal field `ip.proto`",
        ),
        (
            "ip.ttl > 5",
            "ip.ttl > 5",
            "only == and != operators may be used with nominal field `ip.ttl`",
        ),
        (
            "eth.type != 0x800",
            "eth.type != 0x800",
            "nominal field `eth.type` may only be tested for equality",
        ),
        (
            "!(ip.proto == 6)",
            "ip.proto == 6",
            "taking enclosing `!` operators into account",
        ),
        (
            r#"inport != "lp1""#,
            r#"inport != "lp1""#,
            "nominal field `inport`",
        ),
        (
            r#"!(outport == @pg)"#,
            "outport == @pg",
            "nominal field `outport`",
        ),
        (
            "!ip4",
            "ip4",
            "nominal predicate `ip4` may only be tested positively",
        ),
        ("tcp == 0", "tcp", "nominal predicate `tcp`"),
        ("!(ip4 && tcp.dst == 80)", "ip4", "nominal predicate"),
        ("ip4 == 2", "ip4 == 2", "can only be compared with `== 1`"),
        (
            "ip4[1]",
            "ip4[1]",
            "cannot select bits 1 to 1 of predicate `ip4`",
        ),
        (
            "eth.type[0..3] == 1",
            "eth.type[0..3]",
            "cannot select bits of nominal field `eth.type`",
        ),
        (
            r#"inport[0] == "x""#,
            "inport[0]",
            "cannot select bits of string field",
        ),
        (
            "reg0[30..40] == 1",
            "reg0[30..40]",
            "cannot select bits 30 to 40 of 32-bit field `reg0`",
        ),
        ("reg0[32]", "reg0[32]", "cannot select bits 32 to 32"),
        ("tcp.dst", "tcp.dst", "explicit `!= 0` is required"),
        ("reg0[0..1]", "reg0[0..1]", "2-bit field"),
        ("inport", "inport", "string field `inport` is not a Boolean"),
        (
            "inport == 5",
            "5",
            "string field `inport` is not compatible with integer constant",
        ),
        ("inport == $as", "$as", "use a port group"),
        (
            r#"tcp.dst == "80""#,
            r#""80""#,
            "not compatible with a string constant",
        ),
        (
            "ip4.src == @pg",
            "@pg",
            "compare it with `inport` or `outport`",
        ),
        (
            "ip4.dst == ^vip",
            "^vip",
            "unexpanded template variable `^vip`",
        ),
        ("reg0 > 0x8/0xc", "0x8/0xc", "masked constants"),
        ("tcp.dst > {1, 2}", "{1, 2}", "value sets"),
        ("ip4.src < $as", "$as", "address sets"),
        (
            r#"inport < "x""#,
            r#"inport < "x""#,
            "only == and != operators may be used with string field",
        ),
        (
            "icmp4.frag_mtu == 1500",
            "icmp4.frag_mtu",
            "can only be assigned by actions",
        ),
        (
            "1 <= ip.proto <= 6",
            "1 <= ip.proto <= 6",
            "nominal field `ip.proto`",
        ),
    ];
    for (text, under, needle) in cases {
        let e = semantic_error(text);
        let sp = e.span();
        assert_eq!(&text[sp.start..sp.end], *under, "{text:?}: {e}");
        assert!(
            e.message().contains(needle),
            "{text:?}: {e:?} lacks {needle:?}"
        );
    }
}

/// Errors inside a predicate's expansion are reported where the predicate
/// was used, naming the expansion.
#[test]
fn errors_in_expansions_point_at_the_use() {
    let text = "tcp && !ip.first_frag && !nd";
    let e = semantic_error(text);
    let sp = e.span();
    assert_eq!(&text[sp.start..sp.end], "nd");
    assert!(e.message().contains("nominal predicate `nd`"), "{e}");
}

/// Annotation caches the expansions of predicates and prerequisites in the
/// symbol table: a table that has annotated many expressions (warm) gives
/// the same results as a fresh one (cold), positively and negated, and
/// errors inside expansions still point at each use.
#[test]
fn cached_expansions_give_the_same_results() {
    let texts = [
        "tcp.dst == 80",
        "!(tcp.dst == 80)",
        "ip4 && udp.src == 67",
        "!nd_ns && ip6",
        "!ip4.mcast && (ip4 || ip6)",
        "ct.est && !ct.rel && !(icmp6 && nd)",
        "arp.op == 1 || !(vlan.present)",
        "ip.first_frag && sctp",
        "!(tcp || udp) && ip.later_frag",
        "nd && !nd",
        "icmp4.type == 3 && eth.mcast",
    ];
    let warm = Symtab::build_ovn();
    for _ in 0..2 {
        for t in texts {
            let cold = Symtab::build_ovn();
            let want = parse_and_annotate(t, &cold);
            assert_eq!(parse_and_annotate(t, &warm), want, "{t}");
        }
    }

    // A predicate whose expansion is wrong for the table: each use gets its
    // own error, at its own place, however often it was used before.
    let mut tiny = Symtab::default();
    let of = lflow::symtab::OfField {
        name: "fa",
        oxm: "fa",
        width: 2,
    };
    tiny.add_field("a", of, false, None);
    tiny.add_predicate("good", "a == 1");
    tiny.add_predicate("bad", "a == 300");
    assert!(parse_and_annotate("good && !good", &tiny).is_ok());
    for text in ["bad", "good && bad", "good || !bad"] {
        let e = parse_and_annotate(text, &tiny).unwrap_err();
        let sp = e.span();
        assert_eq!(&text[sp.start..sp.end], "bad", "{text}: {e}");
        assert!(
            e.message().contains("in the expansion of `bad`"),
            "{text}: {e}"
        );
    }
}
