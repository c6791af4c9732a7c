//! OVN 23.03's symbol table: the names a match may use.
//!
//! Sources: ovn-sb(5) "Symbols" and "predicates", ovn-architecture(7)
//! "Logical fields" (which registers carry `inport`, `outport`, `flags`),
//! ovs-fields(7) for OpenFlow names and widths, and the symbol names
//! present in the installed 23.03 binaries (the ct_mark/ct_label
//! subfields and flags bits northd 23.03 uses; the register count is
//! ovn-sb(5)'s: reg0..reg9, xxreg0..xxreg1, plus xreg0..xreg4 that overlay them).
//!
//! There are five kinds of symbol (see [`Kind`]): integer fields backed by
//! an OpenFlow field, string fields (logical port names, carried in a
//! register as the port's tunnel key), subfields (aliases for bits of
//! another symbol), predicates (aliases for whole expressions) and OVN
//! fields that only actions can set. Subfields and predicates are written
//! as text and parsed when the table is built, so their expansions are
//! checked by the same parser as every flow.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::annotate::Match;
use crate::expr::{Bits, Expr};
use crate::parser::parse_expr;

/// Level of measurement (ovn-sb(5)): what comparisons a symbol supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    /// Bits may be examined individually; all relational operators work.
    Ordinal,
    /// Only equality in the positive sense (taking enclosing `!` into account).
    Nominal,
    /// A predicate over ordinal fields only; may be negated freely.
    Boolean,
}

/// An OpenFlow field as ovs-fields(7) names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfField {
    /// The ovs-ofctl name: `reg0`, `eth_src`, `ct_label`.
    pub name: &'static str,
    /// The OXM name if the field has one, else the NXM name:
    /// `OXM_OF_ETH_SRC`, `NXM_NX_REG0`.
    pub oxm: &'static str,
    /// Width in bits of the field as OVN uses it (the significant bits).
    pub width: u32,
}

/// What a symbol stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An integer OpenFlow field.
    Field(OfField),
    /// A string field (logical port name), carried in an OpenFlow register.
    String(OfField),
    /// Bits `lo..=hi` of the symbol `parent` (itself a field or subfield).
    Subfield { parent: String, lo: u32, hi: u32 },
    /// Shorthand for the expression `expansion`.
    Predicate { expansion: String },
    /// A field OVN itself rewrites in packets (`icmp4.frag_mtu`); it can be
    /// assigned by actions but not matched.
    OvnField,
}

/// One entry of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    /// Its name.
    pub name: String,
    /// Width in bits: 0 for strings, 1 for predicates.
    pub width: u32,
    /// Level of measurement.
    pub level: Level,
    /// An expression implied by any use of the symbol (e.g. `tcp` for `tcp.dst`).
    pub prereqs: Option<String>,
    /// What it stands for.
    pub kind: Kind,
}

impl Symbol {
    /// True for `inport`/`outport`.
    pub fn is_string(&self) -> bool {
        matches!(self.kind, Kind::String(_))
    }

    /// True for predicates.
    pub fn is_predicate(&self) -> bool {
        matches!(self.kind, Kind::Predicate { .. })
    }
}

/// Where a (sub)field's bits live: `width` bits at offset `lo` of an
/// OpenFlow field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slice<'a> {
    /// The field symbol at the root of the subfield chain.
    pub root: &'a Symbol,
    /// The OpenFlow field.
    pub of: &'a OfField,
    /// Least-significant bit within the OpenFlow field.
    pub lo: u32,
    /// Number of bits.
    pub width: u32,
}

/// A symbol table.
#[derive(Clone, Debug, Default)]
pub struct Symtab {
    symbols: BTreeMap<String, Entry>,
}

/// A symbol and what annotation learned about it.
#[derive(Clone, Debug)]
struct Entry {
    symbol: Symbol,
    expansions: Expansions,
}

/// Which text of a symbol is being expanded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// A predicate's expansion.
    Expansion,
    /// A symbol's prerequisites.
    Prereqs,
}

impl Part {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Part::Expansion => "expansion",
            Part::Prereqs => "prerequisite",
        }
    }
}

/// Annotated expansions and prerequisites of one symbol, positive and
/// negated, filled in on first use. Annotating a flow expands predicates
/// and prerequisites over and over (every `tcp.dst` brings `tcp`, which
/// brings `ip`...): parsing and annotating their text each time dominated
/// annotation. Only successes are kept: a successful expansion depends on
/// nothing but the table, whose symbols never change once added, while an
/// error's wording depends on where the symbol was used.
#[derive(Clone, Debug, Default)]
pub(crate) struct Expansions([OnceLock<Match>; 4]);

impl Expansions {
    fn cell(&self, part: Part, pos: bool) -> &OnceLock<Match> {
        &self.0[(part == Part::Prereqs) as usize * 2 + pos as usize]
    }
}

// ---------------------------------------------------------------------------
// The data. `nominal` marks fields OVN only tests for equality: those
// whose OpenFlow field is not maskable (ovs-fields(7)), as upstream's
// parser refuses `ip.ttl > 5` or `icmp4.type[0]` (observed with
// ovn-trace 23.03; tests/annotate.rs).

/// (symbol, ovs-fields name, OXM/NXM name, width, nominal, prerequisites)
type FieldRow = (
    &'static str,
    &'static str,
    &'static str,
    u32,
    bool,
    Option<&'static str>,
);

const FIELDS: &[FieldRow] = &[
    ("xxreg0", "xxreg0", "NXM_NX_XXREG0", 128, false, None),
    ("xxreg1", "xxreg1", "NXM_NX_XXREG1", 128, false, None),
    ("xreg4", "xreg4", "OXM_OF_PKT_REG4", 64, false, None),
    // MFF_LOG_FLAGS is reg10 (ovn-architecture(7)).
    ("flags", "reg10", "NXM_NX_REG10", 32, false, None),
    ("ct_mark", "ct_mark", "NXM_NX_CT_MARK", 32, false, None),
    ("ct_label", "ct_label", "NXM_NX_CT_LABEL", 128, false, None),
    ("ct_state", "ct_state", "NXM_NX_CT_STATE", 32, false, None),
    ("eth.src", "eth_src", "OXM_OF_ETH_SRC", 48, false, None),
    ("eth.dst", "eth_dst", "OXM_OF_ETH_DST", 48, false, None),
    ("eth.type", "eth_type", "OXM_OF_ETH_TYPE", 16, true, None),
    ("vlan.tci", "vlan_tci", "NXM_OF_VLAN_TCI", 16, false, None),
    (
        "ip.proto",
        "nw_proto",
        "OXM_OF_IP_PROTO",
        8,
        true,
        Some("ip"),
    ),
    ("ip.dscp", "ip_dscp", "OXM_OF_IP_DSCP", 6, true, Some("ip")),
    ("ip.ecn", "nw_ecn", "OXM_OF_IP_ECN", 2, true, Some("ip")),
    ("ip.ttl", "nw_ttl", "NXM_NX_IP_TTL", 8, true, Some("ip")),
    ("ip.frag", "ip_frag", "NXM_NX_IP_FRAG", 2, false, Some("ip")),
    (
        "ip4.src",
        "ip_src",
        "OXM_OF_IPV4_SRC",
        32,
        false,
        Some("ip4"),
    ),
    (
        "ip4.dst",
        "ip_dst",
        "OXM_OF_IPV4_DST",
        32,
        false,
        Some("ip4"),
    ),
    (
        "icmp4.type",
        "icmp_type",
        "OXM_OF_ICMPV4_TYPE",
        8,
        true,
        Some("icmp4"),
    ),
    (
        "icmp4.code",
        "icmp_code",
        "OXM_OF_ICMPV4_CODE",
        8,
        true,
        Some("icmp4"),
    ),
    (
        "ip6.src",
        "ipv6_src",
        "OXM_OF_IPV6_SRC",
        128,
        false,
        Some("ip6"),
    ),
    (
        "ip6.dst",
        "ipv6_dst",
        "OXM_OF_IPV6_DST",
        128,
        false,
        Some("ip6"),
    ),
    (
        "ip6.label",
        "ipv6_label",
        "OXM_OF_IPV6_FLABEL",
        20,
        false,
        Some("ip6"),
    ),
    (
        "icmp6.type",
        "icmpv6_type",
        "OXM_OF_ICMPV6_TYPE",
        8,
        true,
        Some("icmp6"),
    ),
    (
        "icmp6.code",
        "icmpv6_code",
        "OXM_OF_ICMPV6_CODE",
        8,
        true,
        Some("icmp6"),
    ),
    ("arp.op", "arp_op", "OXM_OF_ARP_OP", 16, true, Some("arp")),
    (
        "arp.spa",
        "arp_spa",
        "OXM_OF_ARP_SPA",
        32,
        false,
        Some("arp"),
    ),
    (
        "arp.sha",
        "arp_sha",
        "OXM_OF_ARP_SHA",
        48,
        false,
        Some("arp"),
    ),
    (
        "arp.tpa",
        "arp_tpa",
        "OXM_OF_ARP_TPA",
        32,
        false,
        Some("arp"),
    ),
    (
        "arp.tha",
        "arp_tha",
        "OXM_OF_ARP_THA",
        48,
        false,
        Some("arp"),
    ),
    // RARP has ARP's layout, so it uses the same OpenFlow fields.
    (
        "rarp.op",
        "arp_op",
        "OXM_OF_ARP_OP",
        16,
        true,
        Some("rarp"),
    ),
    (
        "rarp.spa",
        "arp_spa",
        "OXM_OF_ARP_SPA",
        32,
        false,
        Some("rarp"),
    ),
    (
        "rarp.sha",
        "arp_sha",
        "OXM_OF_ARP_SHA",
        48,
        false,
        Some("rarp"),
    ),
    (
        "rarp.tpa",
        "arp_tpa",
        "OXM_OF_ARP_TPA",
        32,
        false,
        Some("rarp"),
    ),
    (
        "rarp.tha",
        "arp_tha",
        "OXM_OF_ARP_THA",
        48,
        false,
        Some("rarp"),
    ),
    (
        "nd.target",
        "nd_target",
        "OXM_OF_IPV6_ND_TARGET",
        128,
        false,
        Some("nd"),
    ),
    (
        "nd.sll",
        "nd_sll",
        "OXM_OF_IPV6_ND_SLL",
        48,
        false,
        Some("nd_ns"),
    ),
    (
        "nd.tll",
        "nd_tll",
        "OXM_OF_IPV6_ND_TLL",
        48,
        false,
        Some("nd_na"),
    ),
    (
        "tcp.src",
        "tcp_src",
        "OXM_OF_TCP_SRC",
        16,
        false,
        Some("tcp"),
    ),
    (
        "tcp.dst",
        "tcp_dst",
        "OXM_OF_TCP_DST",
        16,
        false,
        Some("tcp"),
    ),
    (
        "tcp.flags",
        "tcp_flags",
        "OXM_OF_TCP_FLAGS",
        12,
        false,
        Some("tcp"),
    ),
    (
        "udp.src",
        "udp_src",
        "OXM_OF_UDP_SRC",
        16,
        false,
        Some("udp"),
    ),
    (
        "udp.dst",
        "udp_dst",
        "OXM_OF_UDP_DST",
        16,
        false,
        Some("udp"),
    ),
    (
        "sctp.src",
        "sctp_src",
        "OXM_OF_SCTP_SRC",
        16,
        false,
        Some("sctp"),
    ),
    (
        "sctp.dst",
        "sctp_dst",
        "OXM_OF_SCTP_DST",
        16,
        false,
        Some("sctp"),
    ),
    ("pkt.mark", "pkt_mark", "NXM_NX_PKT_MARK", 32, false, None),
];

/// String fields: (symbol, register, NXM name). ovn-architecture(7):
/// the logical input and output ports live in reg14 and reg15.
const STRINGS: &[(&str, &str, &str)] = &[
    ("inport", "reg14", "NXM_NX_REG14"),
    ("outport", "reg15", "NXM_NX_REG15"),
];

/// (symbol, expansion as `parent[bits]`, prerequisites)
const SUBFIELDS: &[(&str, &str, Option<&str>)] = &[
    // Logical flags (MLF_*_BIT in the flags register).
    ("flags.loopback", "flags[0]", None),
    ("flags.force_snat_for_dnat", "flags[2]", None),
    ("flags.force_snat_for_lb", "flags[3]", None),
    ("flags.skip_snat_for_lb", "flags[9]", None),
    ("flags.use_snat_zone", "flags[11]", None),
    // Connection tracking state bits (ovs-fields(7) ct_state).
    ("ct.new", "ct_state[0]", Some("ct.trk")),
    ("ct.est", "ct_state[1]", Some("ct.trk")),
    ("ct.rel", "ct_state[2]", Some("ct.trk")),
    ("ct.rpl", "ct_state[3]", Some("ct.trk")),
    ("ct.inv", "ct_state[4]", Some("ct.trk")),
    ("ct.trk", "ct_state[5]", None),
    ("ct.snat", "ct_state[6]", Some("ct.trk")),
    ("ct.dnat", "ct_state[7]", Some("ct.trk")),
    // What OVN keeps in the connection's mark and label.
    ("ct_mark.blocked", "ct_mark[0]", None),
    ("ct_mark.natted", "ct_mark[1]", None),
    ("ct_mark.skip_snat", "ct_mark[2]", None),
    ("ct_mark.force_snat", "ct_mark[3]", None),
    ("ct_mark.ecmp_reply_port", "ct_mark[16..31]", None),
    ("ct_label.blocked", "ct_label[0]", None),
    ("ct_label.natted", "ct_label[1]", None),
    ("ct_label.skip_snat", "ct_label[2]", None),
    ("ct_label.force_snat", "ct_label[3]", None),
    ("ct_label.ecmp_reply_eth", "ct_label[32..79]", None),
    ("ct_label.ecmp_reply_port", "ct_label[80..95]", None),
    ("ct_label.label", "ct_label[96..127]", None),
    ("eth.mcast", "eth.dst[40]", None),
    ("vlan.pcp", "vlan.tci[13..15]", Some("vlan.present")),
    ("vlan.vid", "vlan.tci[0..11]", Some("vlan.present")),
];

/// (symbol, expansion)
const PREDICATES: &[(&str, &str)] = &[
    ("eth.bcast", "eth.dst == ff:ff:ff:ff:ff:ff"),
    ("eth.mcastv6", "eth.dst[32..47] == 0x3333"),
    ("vlan.present", "vlan.tci[12]"),
    ("ip4", "eth.type == 0x800"),
    ("ip6", "eth.type == 0x86dd"),
    ("ip", "ip4 || ip6"),
    ("ip4.src_mcast", "ip4.src[28..31] == 0xe"),
    ("ip4.mcast", "eth.mcast && ip4.dst[28..31] == 0xe"),
    ("icmp4", "ip4 && ip.proto == 1"),
    ("igmp", "ip4 && ip.proto == 2"),
    ("ip6.mcast_rsvd", "ip6.dst[116..127] == 0xff0 && ip6.dst[0..111] == 0x0"),
    ("ip6.mcast_all_nodes", "ip6.dst == ff01::1 || ip6.dst == ff02::1"),
    ("ip6.mcast_all_rtrs", "ip6.dst == ff01::2 || ip6.dst == ff02::2 || ip6.dst == ff05::2"),
    ("ip6.mcast_sol_node", "ip6.dst == ff02::1:ff00:0000/104"),
    (
        "ip6.mcast_flood",
        "eth.mcastv6 && (ip6.mcast_rsvd || ip6.mcast_all_nodes || ip6.mcast_all_rtrs || ip6.mcast_sol_node)",
    ),
    ("ip6.mcast", "eth.mcastv6 && ip6.dst[120..127] == 0xff"),
    ("icmp6", "ip6 && ip.proto == 58"),
    ("icmp", "icmp4 || icmp6"),
    ("ip.is_frag", "ip.frag[0]"),
    ("ip.later_frag", "ip.frag[1]"),
    ("ip.first_frag", "ip.is_frag && !ip.later_frag"),
    ("arp", "eth.type == 0x806"),
    ("rarp", "eth.type == 0x8035"),
    ("nd", "icmp6.type == {135, 136} && icmp6.code == 0 && ip.ttl == 255"),
    ("nd_ns", "icmp6.type == 135 && icmp6.code == 0 && ip.ttl == 255"),
    ("nd_na", "icmp6.type == 136 && icmp6.code == 0 && ip.ttl == 255"),
    ("nd_rs", "icmp6.type == 133 && icmp6.code == 0 && ip.ttl == 255"),
    ("nd_ra", "icmp6.type == 134 && icmp6.code == 0 && ip.ttl == 255"),
    // MLDv1 uses link-local sources (RFC 2710); MLDv2 reports go to ff02::16 (RFC 3810).
    ("mldv1", "ip6.src == fe80::/10 && icmp6.type == {130, 131, 132}"),
    ("mldv2", "ip6.dst == ff02::16 && icmp6.type == 143"),
    ("tcp", "ip.proto == 6"),
    ("udp", "ip.proto == 17"),
    ("sctp", "ip.proto == 132"),
];

/// Fields OVN rewrites itself: (symbol, width).
const OVN_FIELDS: &[(&str, u32)] = &[("icmp4.frag_mtu", 16), ("icmp6.frag_mtu", 32)];

/// Logical registers: xxregN overlays reg(4N)..reg(4N+3), reg(4N) being the
/// most significant; xreg(2N) is the upper half of xxregN. xreg4 is a real
/// field holding reg8 (upper) and reg9.
fn register_subfields() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for xi in 0..4u32 {
        let lo = 64 * (1 - xi % 2);
        out.push((
            format!("xreg{xi}"),
            format!("xxreg{}[{}..{}]", xi / 2, lo, lo + 63),
        ));
    }
    for i in 0..10u32 {
        let parent = if i < 8 {
            let lo = 32 * (3 - i % 4);
            format!("xxreg{}[{}..{}]", i / 4, lo, lo + 31)
        } else {
            let lo = 32 * (1 - i % 2);
            format!("xreg{}[{}..{}]", i / 2, lo, lo + 31)
        };
        out.push((format!("reg{i}"), parent));
    }
    out
}

impl Symtab {
    /// The OVN 23.03 symbol table, built once.
    pub fn ovn() -> &'static Symtab {
        static TABLE: OnceLock<Symtab> = OnceLock::new();
        TABLE.get_or_init(Symtab::build_ovn)
    }

    /// Builds a fresh copy of the OVN 23.03 table.
    pub fn build_ovn() -> Symtab {
        let mut t = Symtab::default();
        for &(name, of_name, oxm, width, nominal, prereqs) in FIELDS {
            t.insert(Symbol {
                name: name.into(),
                width,
                level: if nominal {
                    Level::Nominal
                } else {
                    Level::Ordinal
                },
                prereqs: prereqs.map(Into::into),
                kind: Kind::Field(OfField {
                    name: of_name,
                    oxm,
                    width,
                }),
            });
        }
        for &(name, of_name, oxm) in STRINGS {
            t.insert(Symbol {
                name: name.into(),
                width: 0,
                level: Level::Nominal,
                prereqs: None,
                kind: Kind::String(OfField {
                    name: of_name,
                    oxm,
                    width: 32,
                }),
            });
        }
        let subfields = register_subfields()
            .into_iter()
            .map(|(n, e)| (n, e, None))
            .chain(
                SUBFIELDS
                    .iter()
                    .map(|&(n, e, p)| (n.to_string(), e.to_string(), p)),
            );
        for (name, expansion, prereqs) in subfields {
            let sym = t.subfield_symbol(&name, &expansion, prereqs);
            t.insert(sym);
        }
        for &(name, expansion) in PREDICATES {
            t.add_predicate(name, expansion);
        }
        for &(name, width) in OVN_FIELDS {
            t.insert(Symbol {
                name: name.into(),
                width,
                level: Level::Ordinal,
                prereqs: None,
                kind: Kind::OvnField,
            });
        }
        t
    }

    /// Adds an integer field backed by OpenFlow field `of` (for tables
    /// other than OVN's, e.g. small ones in tests). Like the other `add_*`
    /// methods it panics on a malformed definition or a duplicate name:
    /// symbol tables are static data.
    pub fn add_field(&mut self, name: &str, of: OfField, nominal: bool, prereqs: Option<&str>) {
        self.insert(Symbol {
            name: name.into(),
            width: of.width,
            level: if nominal {
                Level::Nominal
            } else {
                Level::Ordinal
            },
            prereqs: prereqs.map(Into::into),
            kind: Kind::Field(of),
        });
    }

    /// Adds a string field (logical port names) carried in register `of`.
    pub fn add_string(&mut self, name: &str, of: OfField) {
        self.insert(Symbol {
            name: name.into(),
            width: 0,
            level: Level::Nominal,
            prereqs: None,
            kind: Kind::String(of),
        });
    }

    /// Adds a subfield written as `parent[bits]`.
    pub fn add_subfield(&mut self, name: &str, expansion: &str, prereqs: Option<&str>) {
        let sym = self.subfield_symbol(name, expansion, prereqs);
        self.insert(sym);
    }

    fn insert(&mut self, s: Symbol) {
        let entry = Entry {
            symbol: s,
            expansions: Expansions::default(),
        };
        let old = self.symbols.insert(entry.symbol.name.clone(), entry);
        assert!(
            old.is_none(),
            "duplicate symbol {:?}",
            old.map(|e| e.symbol.name)
        );
    }

    /// Builds a subfield from text like `xxreg0[96..127]`. Panics on a bad
    /// expansion: the table is static data, checked by tests.
    fn subfield_symbol(&self, name: &str, expansion: &str, prereqs: Option<&str>) -> Symbol {
        let Ok(Expr::Field(f)) = parse_expr(expansion) else {
            panic!("subfield {name}: expansion {expansion:?} is not `field[bits]`")
        };
        let parent = self
            .get(&f.name)
            .unwrap_or_else(|| panic!("subfield {name}: no parent {}", f.name));
        let (lo, hi) = match f.bits {
            Bits::All => (0, parent.width - 1),
            Bits::Bit(b) => (b, b),
            Bits::Range(lo, hi) => (lo, hi),
        };
        assert!(hi < parent.width, "subfield {name} exceeds {}", parent.name);
        assert_eq!(
            parent.level,
            Level::Ordinal,
            "subfield {name} of non-ordinal {}",
            parent.name
        );
        Symbol {
            name: name.into(),
            width: hi - lo + 1,
            level: Level::Ordinal,
            prereqs: prereqs.map(Into::into),
            kind: Kind::Subfield {
                parent: f.name,
                lo,
                hi,
            },
        }
    }

    /// Adds a predicate; its level is nominal if its expansion mentions any
    /// nominal symbol, else Boolean (ovn-sb(5)).
    pub fn add_predicate(&mut self, name: &str, expansion: &str) {
        let e = parse_expr(expansion).unwrap_or_else(|err| panic!("predicate {name}: {err}"));
        let mut nominal = false;
        e.for_each_field(&mut |f| {
            let s = self
                .get(&f.name)
                .unwrap_or_else(|| panic!("predicate {name}: unknown {}", f.name));
            nominal |= s.level == Level::Nominal;
        });
        self.insert(Symbol {
            name: name.into(),
            width: 1,
            level: if nominal {
                Level::Nominal
            } else {
                Level::Boolean
            },
            prereqs: None,
            kind: Kind::Predicate {
                expansion: expansion.into(),
            },
        });
    }

    /// Looks up a symbol.
    pub fn get(&self, name: &str) -> Option<&Symbol> {
        self.symbols.get(name).map(|e| &e.symbol)
    }

    /// All symbols, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Symbol> {
        self.symbols.values().map(|e| &e.symbol)
    }

    /// The annotated `part` of symbol `name` (negated unless `pos`), if an
    /// earlier annotation computed it.
    pub(crate) fn cached(&self, name: &str, part: Part, pos: bool) -> Option<&Match> {
        self.symbols.get(name)?.expansions.cell(part, pos).get()
    }

    /// Remembers the annotated `part` of symbol `name`.
    pub(crate) fn remember(&self, name: &str, part: Part, pos: bool, m: &Match) {
        if let Some(e) = self.symbols.get(name) {
            // Another thread may have got there first, with the same result.
            let _ = e.expansions.cell(part, pos).set(m.clone());
        }
    }

    /// Follows subfields down to the OpenFlow field holding `name`'s bits.
    /// `None` for unknown names, predicates and OVN fields.
    pub fn slice(&self, name: &str) -> Option<Slice<'_>> {
        let mut sym = self.get(name)?;
        let mut lo = 0;
        let width = sym.width;
        loop {
            match &sym.kind {
                Kind::Field(of) | Kind::String(of) => {
                    return Some(Slice {
                        root: sym,
                        of,
                        lo,
                        width,
                    })
                }
                Kind::Subfield {
                    parent, lo: plo, ..
                } => {
                    lo += plo;
                    sym = self.get(parent)?;
                }
                Kind::Predicate { .. } | Kind::OvnField => return None,
            }
        }
    }
}
