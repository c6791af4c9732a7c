//! The compiler against the evaluator: for every packet, evaluating a match
//! directly and matching the packet against the compiled OpenFlow matches
//! (conjunctions included) must agree.
//!
//! - exhaustively, on a tiny symbol table (fields of 2 and 3 bits, a
//!   nominal field, a string field, a subfield, a predicate, prerequisites)
//!   where every packet can be tried;
//! - on random expressions over OVN's symbol table with random packets,
//!   biased towards the values the expression mentions;
//! - plus the shapes that matter: conjunctions, the size cap, lookups.

mod common;

use common::Rng;
use lflow::annotate::Match;
use lflow::normalize::Limits;
use lflow::symtab::OfField;
use lflow::{annotate, compile, compile_str, eval, parse_expr, Error, Flows};
use lflow::{Packet, Symtab, Tables};

/// `flows` and `m` agree on `p`; panics with the details otherwise.
fn check_packet(
    m: &Match,
    flows: &[(&str, Flows)],
    p: &Packet,
    symtab: &Symtab,
    look: &Tables,
) -> bool {
    let want = eval(m, p, symtab, look).unwrap_or_else(|e| panic!("eval {m}: {e}"));
    for (how, f) in flows {
        let got = f.matches(&|of| p.openflow(of, look));
        assert_eq!(
            got, want,
            "{how}: match `{m}` on packet {p}: evaluator says {want}, flows say {got}:\n{f}"
        );
    }
    want
}

/// Compiles `m` three ways: default (conjunctions), plain DNF, and with
/// conjunctions but a cap low enough to be hit sometimes.
fn compile_variants(m: &Match, symtab: &Symtab, look: &Tables) -> Vec<(&'static str, Flows)> {
    let conj = compile(m, symtab, look, Limits::default()).unwrap_or_else(|e| panic!("{m}: {e}"));
    let dnf = compile(
        m,
        symtab,
        look,
        Limits {
            conjunctions: false,
            ..Limits::default()
        },
    )
    .unwrap_or_else(|e| panic!("{m}: {e}"));
    vec![("conjunctive", conj), ("dnf", dnf)]
}

// ---------------------------------------------------------------------------
// Exhaustive checks on a tiny symbol table.

fn of(name: &'static str, width: u32) -> OfField {
    OfField {
        name,
        oxm: name,
        width,
    }
}

fn tiny_symtab() -> Symtab {
    let mut t = Symtab::default();
    t.add_field("a", of("fa", 2), false, None);
    t.add_field("b", of("fb", 3), false, None);
    t.add_field("n", of("fn", 2), true, None);
    t.add_string("p", of("fp", 32));
    t.add_predicate("pa", "a == {1, 2}");
    // `c` only exists when `pa` holds, like tcp.dst needs tcp.
    t.add_field("c", of("fc", 2), false, Some("pa"));
    t.add_subfield("b.hi", "b[1..2]", Some("a[0]"));
    t
}

fn tiny_tables() -> Tables {
    let mut t = Tables::new();
    for (i, p) in ["p1", "p2", "p3"].iter().enumerate() {
        t.add_port(p, i as u32 + 1);
    }
    t.add_port_group("g", &["p1", "p3"]);
    t.add_port_group("none", &[]);
    t.add_address_set("s", &["1", "0x4/0x6"]).unwrap();
    t.add_address_set("e", &[]).unwrap();
    t.set_resident("p1");
    t
}

/// Every packet of the tiny table: 4 * 8 * 4 * 4 values times 4 ports.
fn tiny_packets() -> Vec<Packet> {
    let mut out = Vec::new();
    for a in 0..4u128 {
        for b in 0..8u128 {
            for n in 0..4u128 {
                for c in 0..4u128 {
                    for port in ["", "p1", "p2", "p3"] {
                        let mut p = Packet::new();
                        p.set_field("fa", a);
                        p.set_field("fb", b);
                        p.set_field("fn", n);
                        p.set_field("fc", c);
                        p.set_port("fp", port);
                        out.push(p);
                    }
                }
            }
        }
    }
    out
}

fn tiny_atom(r: &mut Rng) -> String {
    let ops = ["==", "!=", "<", "<=", ">", ">="];
    let field = *r.pick(&["a", "b", "c", "b.hi", "b[0]", "a[1]", "b[0..1]"]);
    let width = match field {
        "a" | "c" | "b.hi" | "b[0..1]" => 2,
        "b" => 3,
        _ => 1,
    };
    let k = |r: &mut Rng| r.bits(width);
    match r.below(14) {
        0..=4 => format!("{field} {} {}", r.pick(&ops), k(r)),
        5 => format!("{field} {} {}/{}", r.pick(&["==", "!="]), k(r), k(r)),
        6 => {
            let n = 1 + r.below(3);
            let vs: Vec<String> = (0..n).map(|_| k(r).to_string()).collect();
            format!("{field} {} {{{}}}", r.pick(&["==", "!="]), vs.join(", "))
        }
        7 => format!("{} <= {field} <= {}", k(r), k(r)),
        8 => format!(
            "n {} {}",
            r.pick(&["==", "!="]),
            if r.one_in(2) {
                r.bits(2).to_string()
            } else {
                format!("{{{}, {}}}", r.bits(2), r.bits(2))
            }
        ),
        9 => format!(
            "p == {}",
            r.pick(&[
                "\"p1\"",
                "\"p2\"",
                "\"zz\"",
                "@g",
                "@none",
                "{\"p1\", \"p2\"}"
            ])
        ),
        10 => format!("b {} {}", r.pick(&["==", "!="]), r.pick(&["$s", "$e"])),
        11 => format!("is_chassis_resident({})", r.pick(&["\"p1\"", "\"p2\""])),
        12 => r.pick(&["pa", "1", "0", "a[0]", "b[2]"]).to_string(),
        _ => format!("c {} {}", r.pick(&ops), k(r)),
    }
}

fn gen_text(r: &mut Rng, depth: u32, atom: &mut impl FnMut(&mut Rng) -> String) -> String {
    if depth == 0 || r.one_in(3) {
        return atom(r);
    }
    match r.below(4) {
        0 => format!("!({})", gen_text(r, depth - 1, atom)),
        k => {
            let n = 2 + r.below(3);
            let sep = if k == 1 { " || " } else { " && " };
            let parts: Vec<String> = (0..n)
                .map(|_| format!("({})", gen_text(r, depth - 1, atom)))
                .collect();
            parts.join(sep)
        }
    }
}

#[test]
fn tiny_table_exhaustive_equivalence() {
    let symtab = tiny_symtab();
    let look = tiny_tables();
    let packets = tiny_packets();
    let mut r = Rng(0x7e57_0001);
    let (mut checked, mut rejected, mut with_conj) = (0, 0, 0);
    let (mut trues, mut falses) = (0u64, 0u64);
    while checked < 400 {
        let text = gen_text(&mut r, 3, &mut tiny_atom);
        let e = parse_expr(&text).unwrap_or_else(|e| panic!("{text}: {}", e.render(&text)));
        let m = match annotate(&e, &symtab) {
            Ok(m) => m,
            Err(_) => {
                // Negated nominal fields and the like: the annotator's business.
                rejected += 1;
                continue;
            }
        };
        checked += 1;
        let flows = compile_variants(&m, &symtab, &look);
        with_conj += !flows[0].1.conjunctions.is_empty() as usize;
        for p in &packets {
            if check_packet(&m, &flows, p, &symtab, &look) {
                trues += 1;
            } else {
                falses += 1;
            }
        }
    }
    // The test is only worth something if it sees both outcomes and the
    // conjunctive path.
    assert!(rejected < checked, "{rejected} rejected of {checked}");
    assert!(
        with_conj >= 10,
        "only {with_conj} expressions used conjunctions"
    );
    assert!(
        trues > 10_000 && falses > 10_000,
        "{trues} true, {falses} false"
    );
}

/// Every relational operator on every constant, every packet: the prefix
/// expansions are exact.
#[test]
fn tiny_table_every_comparison() {
    let symtab = tiny_symtab();
    let look = tiny_tables();
    let packets = tiny_packets();
    for field in ["a", "b", "b[1..2]", "b.hi", "c"] {
        let max = if field == "b" { 8 } else { 4 };
        for op in ["==", "!=", "<", "<=", ">", ">="] {
            for k in 0..max {
                let text = format!("{field} {op} {k}");
                let m = lflow::parse_and_annotate(&text, &symtab).unwrap();
                let flows = compile_variants(&m, &symtab, &look);
                for p in &packets {
                    check_packet(&m, &flows, p, &symtab, &look);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Random expressions over OVN's symbol table.

/// Integer (sub)fields and their widths.
const INTS: &[(&str, u32)] = &[
    ("eth.src", 48),
    ("eth.dst", 48),
    ("vlan.tci", 16),
    ("vlan.vid", 12),
    ("ip.dscp", 6),
    ("ip.ttl", 8),
    ("ip.frag", 2),
    ("ip4.src", 32),
    ("ip4.dst", 32),
    ("ip6.src", 128),
    ("ip6.dst", 128),
    ("ip6.label", 20),
    ("icmp4.type", 8),
    ("arp.op", 16),
    ("arp.spa", 32),
    ("arp.tha", 48),
    ("rarp.op", 16),
    ("nd.target", 128),
    ("nd.sll", 48),
    ("tcp.src", 16),
    ("tcp.dst", 16),
    ("tcp.flags", 12),
    ("udp.dst", 16),
    ("sctp.src", 16),
    ("reg0", 32),
    ("reg5", 32),
    ("reg9", 32),
    ("xreg1", 64),
    ("xxreg0", 128),
    ("xxreg1", 128),
    ("flags", 32),
    ("ct_mark", 32),
    ("ct_label", 128),
    ("ct_state", 32),
    ("pkt.mark", 32),
    ("ct_mark.ecmp_reply_port", 16),
    ("ct_label.label", 32),
];

/// Nominal fields and the values worth trying.
const NOMINALS: &[(&str, &[u128])] = &[
    ("eth.type", &[0x800, 0x86dd, 0x806, 0x8035]),
    ("ip.proto", &[1, 2, 6, 17, 58, 132]),
    ("icmp6.type", &[130, 133, 134, 135, 136, 143]),
    ("icmp6.code", &[0, 1]),
];

const PREDICATES: &[&str] = &[
    "ip4",
    "ip6",
    "ip",
    "tcp",
    "udp",
    "sctp",
    "icmp",
    "icmp4",
    "icmp6",
    "arp",
    "rarp",
    "nd",
    "nd_ns",
    "nd_na",
    "nd_rs",
    "ct.new",
    "ct.est",
    "ct.trk",
    "ct.rpl",
    "ct.inv",
    "flags.loopback",
    "eth.bcast",
    "eth.mcast",
    "ip4.mcast",
    "ip6.mcast",
    "ip.is_frag",
    "ip.first_frag",
    "vlan.present",
    "mldv1",
    "mldv2",
    "igmp",
    "ct_mark.natted",
    "ct_label.blocked",
    "ip4.src_mcast",
    "eth.mcastv6",
    "reg0[3]",
    "xxreg1[100]",
    "ip6.mcast_flood",
];

/// A value that was mentioned, to steer random packets towards it:
/// bits `lo..lo+width` of symbol `sym` are `value`.
#[derive(Clone, Debug)]
struct Hint {
    sym: &'static str,
    lo: u32,
    width: u32,
    value: u128,
}

fn ovn_tables() -> Tables {
    let mut t = Tables::new();
    for (i, p) in ["lp1", "lp2", "lp3", "lp4"].iter().enumerate() {
        t.add_port(p, i as u32 + 1);
    }
    t.add_port_group("pg1", &["lp1", "lp3"]);
    t.add_address_set("as4", &["10.0.0.1", "10.0.0.0/24", "192.168.1.0/28"])
        .unwrap();
    t.add_address_set("as6", &["fd00::1", "fe80::/10"]).unwrap();
    t.add_address_set(
        "macs",
        &["00:00:00:00:00:01", "0a:00:00:00:00:00/ff:ff:00:00:00:00"],
    )
    .unwrap();
    t.add_address_set("empty", &[]).unwrap();
    t.set_resident("lp1");
    t
}

/// A constant for `width` bits: one seen before for that symbol or random,
/// sometimes small.
fn ovn_const(r: &mut Rng, sym: &'static str, lo: u32, width: u32, hints: &mut Vec<Hint>) -> u128 {
    let same: Vec<&Hint> = hints
        .iter()
        .filter(|h| h.sym == sym && h.lo == lo && h.width == width)
        .collect();
    let v = if !same.is_empty() && r.one_in(2) {
        r.pick(&same).value
    } else if r.one_in(3) {
        r.bits(width.min(4))
    } else {
        r.bits(width)
    };
    hints.push(Hint {
        sym,
        lo,
        width,
        value: v,
    });
    v
}

fn ovn_atom(r: &mut Rng, hints: &mut Vec<Hint>) -> String {
    let ops = ["==", "!=", "<", "<=", ">", ">="];
    match r.below(20) {
        0..=7 => {
            let &(sym, w) = r.pick(INTS);
            // Sometimes a subfield.
            let (sel, lo, width) = if r.one_in(4) {
                let lo = r.below(w as u64) as u32;
                let hi = lo + r.below((w - lo) as u64) as u32;
                (format!("{sym}[{lo}..{hi}]"), lo, hi - lo + 1)
            } else {
                (sym.to_string(), 0, w)
            };
            let mut k = |r: &mut Rng| ovn_const(r, sym, lo, width, hints);
            match r.below(6) {
                0 => {
                    let (v, m) = (k(r), r.bits(width));
                    format!("{sel} {} {v:#x}/{m:#x}", r.pick(&["==", "!="]))
                }
                1 => {
                    let vs: Vec<String> = (0..2 + r.below(3))
                        .map(|_| format!("{:#x}", k(r)))
                        .collect();
                    format!("{sel} {} {{{}}}", r.pick(&["==", "!="]), vs.join(", "))
                }
                2 => format!("{:#x} <= {sel} <= {:#x}", k(r), k(r)),
                _ => format!("{sel} {} {:#x}", r.pick(&ops), k(r)),
            }
        }
        8..=10 => {
            let &(sym, vals) = r.pick(NOMINALS);
            let v = *r.pick(vals);
            hints.push(Hint {
                sym,
                lo: 0,
                width: 16,
                value: v,
            });
            format!("{sym} == {v}")
        }
        11..=14 => {
            let p = *r.pick(PREDICATES);
            if r.one_in(4) {
                format!("!{p}")
            } else {
                p.to_string()
            }
        }
        15 | 16 => format!(
            "{} == {}",
            r.pick(&["inport", "outport"]),
            r.pick(&[
                "\"lp1\"",
                "\"lp2\"",
                "\"lp9\"",
                "@pg1",
                "{\"lp2\", \"lp4\"}"
            ])
        ),
        17 | 18 => r
            .pick(&[
                "ip4.src == $as4",
                "ip4.dst != $as4",
                "ip6.src == $as6",
                "ip6.dst != $as6",
                "eth.src == $macs",
                "eth.dst != $macs",
                "ip4.src == $empty",
                "ip4.src != $empty",
            ])
            .to_string(),
        _ => format!("is_chassis_resident({})", r.pick(&["\"lp1\"", "\"lp2\""])),
    }
}

/// A random packet steered by `hints`.
fn ovn_packet(r: &mut Rng, hints: &[Hint], symtab: &Symtab) -> Packet {
    let mut p = Packet::new();
    for &(sym, vals) in NOMINALS {
        if !r.one_in(5) {
            p.set(symtab, sym, *r.pick(vals)).unwrap();
        }
    }
    if r.one_in(2) {
        p.set(symtab, "ip.ttl", 255).unwrap();
    }
    for _ in 0..r.below(4) {
        let &(sym, w) = r.pick(INTS);
        p.set(symtab, sym, r.bits(w)).unwrap();
    }
    for h in hints {
        if r.one_in(2) {
            continue;
        }
        let mut v = h.value;
        if r.one_in(4) {
            v ^= 1 << r.below(h.width as u64);
        }
        let wmask = if h.width >= 128 {
            u128::MAX
        } else {
            (1 << h.width) - 1
        };
        let Ok(cur) = p.get(symtab, h.sym) else {
            continue;
        };
        let new = cur & !(wmask << h.lo) | (v & wmask) << h.lo;
        // Hints for nominal fields are recorded with a nominal width.
        let _ = p.set(symtab, h.sym, new);
    }
    for port in ["inport", "outport"] {
        let name = *r.pick(&["", "lp1", "lp2", "lp3", "lp4"]);
        p.set_string(symtab, port, name).unwrap();
    }
    p
}

#[test]
fn random_ovn_expressions_equivalence() {
    let symtab = Symtab::ovn();
    let look = ovn_tables();
    let mut r = Rng(0x0c0d_e5ee_d002);
    let (mut checked, mut rejected, mut with_conj) = (0, 0, 0);
    let (mut trues, mut falses) = (0u64, 0u64);
    while checked < 600 {
        let mut hints = Vec::new();
        let text = gen_text(&mut r, 3, &mut |r| ovn_atom(r, &mut hints));
        let e = parse_expr(&text).unwrap_or_else(|e| panic!("{text}: {}", e.render(&text)));
        let m = match annotate(&e, symtab) {
            Ok(m) => m,
            Err(_) => {
                rejected += 1;
                continue;
            }
        };
        let flows = match compile(&m, symtab, &look, Limits::default()) {
            Ok(f) => f,
            Err(Error::TooComplex { .. }) => {
                rejected += 1;
                continue;
            }
            Err(e) => panic!("{text}: {e}"),
        };
        checked += 1;
        with_conj += !flows.conjunctions.is_empty() as usize;
        let mut variants = vec![("conjunctive", flows)];
        // Plain DNF can legitimately be too big; check it when it is not.
        let dnf = Limits {
            conjunctions: false,
            max_flows: 2000,
        };
        if let Ok(f) = compile(&m, symtab, &look, dnf) {
            variants.push(("dnf", f));
        }
        for _ in 0..40 {
            let p = ovn_packet(&mut r, &hints, symtab);
            if check_packet(&m, &variants, &p, symtab, &look) {
                trues += 1;
            } else {
                falses += 1;
            }
        }
    }
    assert!(rejected < checked, "{rejected} rejected of {checked}");
    assert!(
        with_conj >= 10,
        "only {with_conj} expressions used conjunctions"
    );
    assert!(
        trues > 2_000 && falses > 2_000,
        "{trues} true, {falses} false"
    );
}

// ---------------------------------------------------------------------------
// Shapes.

fn flows(text: &str, look: &Tables) -> Flows {
    compile_str(text, Symtab::ovn(), look, Limits::default())
        .unwrap_or_else(|e| panic!("{text}: {}", e.render(text)))
}

#[test]
fn independent_sets_become_one_conjunction() {
    let look = ovn_tables();
    let f = flows(
        "ip4.src == {10.0.0.1, 10.0.0.2, 10.0.0.3} && tcp.dst == {80, 443, 8080}",
        &look,
    );
    assert!(f.matches.is_empty(), "{f}");
    assert_eq!(f.conjunctions.len(), 1, "{f}");
    let dims = &f.conjunctions[0].dims;
    let mut sizes: Vec<usize> = dims.iter().map(Vec::len).collect();
    sizes.sort();
    assert_eq!(sizes, [3, 3]);
    // 3 + 3 flows and the conj_id flow, instead of 9.
    assert_eq!(f.flow_count(), 7);
    for alt in dims.iter().flatten() {
        // The common clauses (prerequisites) are in every flow.
        assert_eq!(alt.get("eth_type").map(|c| c.value), Some(0x800), "{alt}");
        assert_eq!(alt.get("nw_proto").map(|c| c.value), Some(6), "{alt}");
    }
    let text = f.to_string();
    assert!(text.contains("actions=conjunction(1,2/2)"), "{text}");
    assert!(text.ends_with("conj_id=1\n"), "{text}");
}

#[test]
fn small_products_are_multiplied_out() {
    let look = ovn_tables();
    // `tcp` needs `ip`, which is IPv4 or IPv6: 2 x 2 flows, no conjunction.
    let f = flows("tcp.dst == {80, 443}", &look);
    assert!(f.conjunctions.is_empty(), "{f}");
    assert_eq!(f.matches.len(), 4, "{f}");
    // Redundant prerequisites disappear: ip4 implies ip.
    let f = flows("ip4 && tcp.dst == 80", &look);
    assert_eq!(f.to_string(), "eth_type=0x800,nw_proto=0x6,tcp_dst=0x50\n");
}

#[test]
fn negated_address_sets_use_conjunctions() {
    let mut look = ovn_tables();
    look.add_address_set("three", &["10.0.0.1", "10.0.0.2", "10.0.0.3"])
        .unwrap();
    let f = flows("ip4.src != $three", &look);
    // Each `!= a` is a 32-way `||` of differing bits; crossing them would be
    // 32^3 flows.
    assert_eq!(f.conjunctions.len(), 1, "{f}");
    assert!(f.flow_count() < 100, "{} flows", f.flow_count());
}

#[test]
fn relational_operators_expand_to_prefixes() {
    let look = ovn_tables();
    // 0b0101: x < 5 is x[3..2] == 0b00 (0..3) or x == 4.
    let f = flows("reg0[0..3] < 5", &look);
    let lines: Vec<String> = f.matches.iter().map(|m| m.to_string()).collect();
    assert_eq!(lines.len(), 2, "{f}");
    assert!(
        lines.contains(&format!("xxreg0={:#x}/{:#x}", 0, 0xcu128 << 96)),
        "{f}"
    );
    assert!(
        lines.contains(&format!("xxreg0={:#x}/{:#x}", 4u128 << 96, 0xfu128 << 96)),
        "{f}"
    );
    assert!(flows("tcp.dst >= 0 && ip4", &look).matches.len() == 1);
    assert!(flows("ip4 && tcp.dst > 65535", &look).is_empty());
}

#[test]
fn lookups_resolve_names() {
    let look = ovn_tables();
    // An unknown port matches nothing (it may not exist yet).
    assert!(flows("inport == \"nope\"", &look).is_empty());
    let f = flows("outport == @pg1", &look);
    assert_eq!(f.to_string(), "reg15=0x1\nreg15=0x3\n");
    assert_eq!(
        flows("is_chassis_resident(\"lp1\") && ip4", &look).to_string(),
        "eth_type=0x800\n"
    );
    assert!(flows("is_chassis_resident(\"lp2\") && ip4", &look).is_empty());
    assert_eq!(
        flows("!is_chassis_resident(\"lp2\")", &look).to_string(),
        "*\n"
    );
    assert!(flows("ip4.src == $empty", &look).is_empty());
    assert_eq!(
        flows("ip4.src != $empty && ip4", &look).to_string(),
        "eth_type=0x800\n"
    );
    for (text, needle) in [
        ("ip4.src == $nope", "no address set named `$nope`"),
        ("inport == @nope", "no port group named `@nope`"),
        ("ip4.src == $as6", "too wide for the 32-bit field"),
    ] {
        let err = compile_str(text, Symtab::ovn(), &look, Limits::default()).unwrap_err();
        assert!(matches!(err, Error::Lookup { .. }), "{text}: {err:?}");
        assert!(err.to_string().contains(needle), "{text}: {err}");
    }
}

/// Found by fuzzing (fuzz target lflow_compile): the evaluator said a
/// packet without an input port matches `inport == ""` while the compiled
/// flows never match a port name the lookup does not know. "" names no
/// port: it matches nothing in both.
#[test]
fn the_empty_port_name_matches_nothing() {
    let mut look = ovn_tables();
    look.add_port_group("with_empty", &["", "lp1"]);
    let symtab = Symtab::ovn();
    let mut lp1 = Packet::new();
    lp1.set_string(symtab, "inport", "lp1").unwrap();
    for (text, packets) in [
        (
            "inport == \"\"",
            vec![(Packet::new(), false), (lp1.clone(), false)],
        ),
        (
            "inport == {\"\", \"lp2\"}",
            vec![(Packet::new(), false), (lp1.clone(), false)],
        ),
        (
            "inport == @with_empty",
            vec![(Packet::new(), false), (lp1.clone(), true)],
        ),
        (
            "inport == \"lp1\"",
            vec![(lp1.clone(), true), (Packet::new(), false)],
        ),
    ] {
        let m = annotate(&parse_expr(text).unwrap(), symtab).unwrap();
        let f = flows(text, &look);
        for (p, want) in packets {
            assert_eq!(eval(&m, &p, symtab, &look), Ok(want), "{text} on {p}");
            assert_eq!(
                f.matches(&|of| p.openflow(of, &look)),
                want,
                "{text} on {p}:\n{f}"
            );
        }
    }
}

#[test]
fn explosions_are_refused_with_a_clear_error() {
    let look = ovn_tables();
    // Eight `&&`ed terms, each an `||` of two conjunctions: 2^8 conjunctions
    // of 16 dimensions of 32 alternatives, far over the cap.
    let term = |i: usize| {
        format!(
            "((reg{} != 0 && reg{} != 0) || (xreg{} != 0 && pkt.mark != {i}))",
            i % 10,
            (i + 1) % 10,
            i % 4
        )
    };
    let text: Vec<String> = (0..8).map(term).collect();
    let text = text.join(" && ");
    let err = compile_str(&text, Symtab::ovn(), &look, Limits::default()).unwrap_err();
    assert!(matches!(err, Error::TooComplex { .. }), "{err:?}");
    assert!(err.to_string().contains("more than"), "{err}");
    // The same expression with a smaller cap fails too, and a simple one
    // within a tiny cap succeeds.
    let small = Limits {
        max_flows: 10,
        ..Limits::default()
    };
    assert!(compile_str(&text, Symtab::ovn(), &look, small).is_err());
    assert!(compile_str("ip4.src == 10.0.0.1", Symtab::ovn(), &look, small).is_ok());
    // Without conjunctions, independent sets are a cross product.
    let sets =
        "reg0 == {1,2,3,4,5,6,7,8} && reg1 == {1,2,3,4,5,6,7,8} && reg2 == {1,2,3,4,5,6,7,8}";
    let dnf = Limits {
        max_flows: 100,
        conjunctions: false,
    };
    assert!(matches!(
        compile_str(sets, Symtab::ovn(), &look, dnf),
        Err(Error::TooComplex { .. })
    ));
    let f = compile_str(
        sets,
        Symtab::ovn(),
        &look,
        Limits {
            max_flows: 100,
            ..Limits::default()
        },
    )
    .unwrap();
    assert_eq!(f.flow_count(), 25);
}
