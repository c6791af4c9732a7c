//! A concrete packet with its OVN metadata.
//!
//! A [`Packet`] holds a value for every OpenFlow field the symbol table
//! maps to (headers, registers, conntrack state, `pkt_mark`...; 0 when not
//! set) and a logical port name for each string field (`inport`,
//! `outport`). Fields are keyed by OpenFlow name, so symbols that share
//! bits share storage: `reg0` is bits 96..127 of `xxreg0`, `arp.op` and
//! `rarp.op` are both `arp_op`. Symbol-level access goes through the
//! [`Symtab`]: [`Packet::get`], [`Packet::set`].
//!
//! [`Packet::from_microflow`] builds a packet from an expression the way
//! ovn-trace(8) does: `inport == "lp1" && ip4.src == 10.0.0.1` gives an
//! IPv4 packet (prerequisites included) from lp1, every unconstrained bit
//! 0. The expression must describe exactly one kind of packet: `tcp.src ==
//! 80` is ambiguous (IPv4 or IPv6?) and `ip4 && ip6` contradictory.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::annotate::parse_and_annotate;
use crate::eval::eval;
use crate::expr::Bits;
use crate::lexer::{write_json_string, Constant};
use crate::lookup::Lookup;
use crate::normalize::{normalize, Limits};
use crate::parser::Parser;
use crate::simplify::{simplify, width_mask};
use crate::symtab::{Kind, Symtab};
use crate::{Error, Result, Span};

/// A packet and its metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Packet {
    /// OpenFlow field -> value; absent means 0 (zeros are not stored).
    fields: BTreeMap<&'static str, u128>,
    /// OpenFlow register of a string field -> logical port name.
    ports: BTreeMap<&'static str, String>,
}

impl Packet {
    /// A packet with every field 0 and no ports.
    pub fn new() -> Packet {
        Packet::default()
    }

    /// The value of OpenFlow field `of` (`ip_src`, `xxreg0`).
    pub fn field(&self, of: &str) -> u128 {
        self.fields.get(of).copied().unwrap_or(0)
    }

    /// Sets OpenFlow field `of`.
    pub fn set_field(&mut self, of: &'static str, value: u128) {
        if value == 0 {
            self.fields.remove(of);
        } else {
            self.fields.insert(of, value);
        }
    }

    /// The logical port in the register `of` of a string field; "" if none.
    pub fn port(&self, of: &str) -> &str {
        self.ports.get(of).map_or("", String::as_str)
    }

    /// Puts logical port `name` in the register `of` of a string field.
    pub fn set_port(&mut self, of: &'static str, name: &str) {
        if name.is_empty() {
            self.ports.remove(of);
        } else {
            self.ports.insert(of, name.to_string());
        }
    }

    /// What OpenFlow sees in field `of`: string fields hold their port's
    /// tunnel key (0 for an unknown port), other fields their value.
    pub fn openflow(&self, of: &str, lookup: &dyn Lookup) -> u128 {
        match self.ports.get(of) {
            Some(name) => lookup.port_key(name).unwrap_or(0) as u128,
            None => self.field(of),
        }
    }

    /// The OpenFlow fields that are not 0 and the ports, in name order.
    pub fn iter_fields(&self) -> impl Iterator<Item = (&'static str, u128)> + '_ {
        self.fields.iter().map(|(k, v)| (*k, *v))
    }

    /// The string fields' registers and their ports.
    pub fn iter_ports(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        self.ports.iter().map(|(k, v)| (*k, v.as_str()))
    }

    /// The value of (sub)field `name` (`ip4.src`, `reg0`, `ct.trk`), maybe
    /// with a bit selection (`reg0[0..15]`).
    pub fn get(&self, symtab: &Symtab, name: &str) -> Result<u128> {
        let s = int_slice(symtab, name)?;
        Ok(self.field(s.0).checked_shr(s.1).unwrap_or(0) & width_mask(s.2))
    }

    /// Sets (sub)field `name` (maybe with a bit selection) to `value`,
    /// leaving the field's other bits.
    pub fn set(&mut self, symtab: &Symtab, name: &str, value: u128) -> Result<()> {
        let (of, lo, width) = int_slice(symtab, name)?;
        if value & !width_mask(width) != 0 {
            return Err(not_symbol(format!(
                "{value:#x} does not fit the {width}-bit field `{name}`"
            )));
        }
        let mask = width_mask(width) << lo;
        let old = self.field(of);
        self.set_field(of, old & !mask | value << lo);
        Ok(())
    }

    /// The logical port in string field `name` (`inport`).
    pub fn get_string(&self, symtab: &Symtab, name: &str) -> Result<&str> {
        Ok(self.port(string_field(symtab, name)?))
    }

    /// Sets string field `name` (`inport`) to logical port `port`.
    pub fn set_string(&mut self, symtab: &Symtab, name: &str, port: &str) -> Result<()> {
        let of = string_field(symtab, name)?;
        self.set_port(of, port);
        Ok(())
    }

    /// The packet a microflow expression describes (see the module docs).
    /// Address sets, port groups and `is_chassis_resident` are resolved
    /// through `lookup`; any port name may be used.
    pub fn from_microflow(text: &str, symtab: &Symtab, lookup: &dyn Lookup) -> Result<Packet> {
        let whole = Span::new(0, text.len());
        let m = parse_and_annotate(text, symtab)?;
        // Port names become temporary keys 1, 2, ... so that they can take
        // part in normalization like any other value.
        let interner = Interner {
            inner: lookup,
            names: RefCell::new(Vec::new()),
        };
        let tree = simplify(&m, symtab, &interner)?;
        let limits = Limits {
            max_flows: 1024,
            conjunctions: false,
        };
        let conjs = normalize(&tree, limits)
            .map_err(|e| Error::semantic(whole, format!("ambiguous microflow: {}", e.message())))?;
        let conj = match conjs.as_slice() {
            [] => {
                return Err(Error::semantic(
                    whole,
                    "contradictory microflow: no packet satisfies it",
                ))
            }
            [one] => one,
            [a, b, ..] => {
                return Err(Error::semantic(
                    whole,
                    format!(
                    "ambiguous microflow: it describes {} kinds of packet (e.g. `{}` and `{}`); \
                         constrain it further, e.g. with `ip4` or `ip6`",
                    conjs.len(),
                    a.fixed,
                    b.fixed
                ),
                ))
            }
        };
        let strings: BTreeSet<&str> = symtab
            .iter()
            .filter_map(|s| match &s.kind {
                Kind::String(of) => Some(of.name),
                _ => None,
            })
            .collect();
        let names = interner.names.into_inner();
        let mut p = Packet::new();
        for c in conj.fixed.iter() {
            if strings.contains(c.field) {
                let name = usize::try_from(c.value)
                    .ok()
                    .and_then(|k| k.checked_sub(1))
                    .and_then(|i| names.get(i));
                match name {
                    Some(n) => p.set_port(c.field, n),
                    None => {
                        return Err(Error::semantic(
                            whole,
                            format!("microflow: `{}` must be compared with a port name", c.field),
                        ))
                    }
                }
            } else {
                p.set_field(c.field, c.value);
            }
        }
        // Normalization and evaluation are independent; they must agree.
        if !eval(&m, &p, symtab, lookup)? {
            return Err(Error::semantic(
                whole,
                format!("microflow: the packet built from it ({p}) does not satisfy it"),
            ));
        }
        Ok(p)
    }
}

impl Packet {
    /// The packet in the OpenFlow flow syntax ovs-ofctl(8) prints and
    /// ovn-trace(8) shows as its first line: `icmp,reg14=0x1,vlan_tci=0x0000,
    /// dl_src=...,nw_ttl=64,nw_frag=no,icmp_type=8,icmp_code=0`. Metadata
    /// (pkt_mark, ct_*, registers) appears only when not 0; the headers the
    /// packet has appear in full, zeros included. Logical ports show as
    /// their tunnel keys, looked up through `lookup` (0, left out, if
    /// unknown).
    pub fn to_openflow(&self, lookup: &dyn Lookup) -> String {
        let f = |of: &str| self.field(of);
        let mut out: Vec<String> = Vec::new();
        if f("pkt_mark") != 0 {
            out.push(format!("pkt_mark={:#x}", f("pkt_mark")));
        }
        if f("ct_state") != 0 {
            out.push(format!("ct_state={}", ct_state_names(f("ct_state"))));
        }
        for of in ["ct_mark", "ct_label"] {
            if f(of) != 0 {
                out.push(format!("{of}={:#x}", f(of)));
            }
        }
        let eth_type = f("eth_type");
        let proto = f("nw_proto");
        let shorthand = match (eth_type, proto) {
            (0x0800, 1) => Some("icmp"),
            (0x0800, 6) => Some("tcp"),
            (0x0800, 17) => Some("udp"),
            (0x0800, 132) => Some("sctp"),
            (0x0800, _) => Some("ip"),
            (0x86dd, 58) => Some("icmp6"),
            (0x86dd, 6) => Some("tcp6"),
            (0x86dd, 17) => Some("udp6"),
            (0x86dd, 132) => Some("sctp6"),
            (0x86dd, _) => Some("ipv6"),
            (0x0806, _) => Some("arp"),
            (0x8035, _) => Some("rarp"),
            (0x8847, _) => Some("mpls"),
            (0x8848, _) => Some("mplsm"),
            _ => None,
        };
        if let Some(s) = shorthand {
            out.push(s.to_string());
        }
        // reg0..reg15 as OpenFlow lays them out: xxreg0 = reg0..reg3 (reg0
        // most significant), xxreg1 = reg4..reg7, xreg4 = reg8..reg9.
        let mut regs = [0u32; 16];
        for (of, first, n) in [
            ("xxreg0", 0usize, 4usize),
            ("xxreg1", 4, 4),
            ("xreg4", 8, 2),
        ] {
            let v = f(of);
            for i in 0..n {
                regs[first + i] = (v >> (32 * (n - 1 - i))) as u32;
            }
        }
        regs[10] = f("reg10") as u32;
        for (i, of) in [(14, "reg14"), (15, "reg15")] {
            regs[i] = self.openflow(of, lookup) as u32;
        }
        for (i, r) in regs.iter().enumerate() {
            if *r != 0 {
                out.push(format!("reg{i}={r:#x}"));
            }
        }
        let tci = f("vlan_tci") as u16;
        if tci & 0x1000 != 0 {
            out.push(format!("dl_vlan={},dl_vlan_pcp={}", tci & 0xfff, tci >> 13));
        } else {
            out.push(format!("vlan_tci={tci:#06x}"));
        }
        if tci != 0 {
            out.push("vlan_tci1=0x0000".into());
        }
        out.push(format!("dl_src={}", mac(f("eth_src"))));
        out.push(format!("dl_dst={}", mac(f("eth_dst"))));
        if shorthand.is_none() {
            out.push(format!("dl_type={eth_type:#06x}"));
        }
        let ip4 = eth_type == 0x0800;
        let ip6 = eth_type == 0x86dd;
        if ip4 || ip6 {
            if ip4 {
                out.push(format!(
                    "nw_src={}",
                    std::net::Ipv4Addr::from(f("ip_src") as u32)
                ));
                out.push(format!(
                    "nw_dst={}",
                    std::net::Ipv4Addr::from(f("ip_dst") as u32)
                ));
            } else {
                out.push(format!("ipv6_src={}", ipv6(f("ipv6_src"))));
                out.push(format!("ipv6_dst={}", ipv6(f("ipv6_dst"))));
                out.push(format!("ipv6_label={:#07x}", f("ipv6_label")));
            }
            if matches!(shorthand, Some("ip" | "ipv6")) {
                out.push(format!("nw_proto={proto}"));
            }
            out.push(format!("nw_tos={}", f("ip_dscp") << 2));
            out.push(format!("nw_ecn={}", f("nw_ecn")));
            out.push(format!("nw_ttl={}", f("nw_ttl")));
            let frag = f("ip_frag");
            out.push(format!(
                "nw_frag={}",
                match frag {
                    0 => "no",
                    1 => "first",
                    3 => "later",
                    _ => "<error>",
                }
            ));
            // Later fragments carry no transport header.
            if frag & 2 == 0 {
                let (tp_src, tp_dst) = match proto {
                    6 => (f("tcp_src"), f("tcp_dst")),
                    17 => (f("udp_src"), f("udp_dst")),
                    132 => (f("sctp_src"), f("sctp_dst")),
                    _ => (0, 0),
                };
                match (ip6, proto) {
                    (false, 1) => out.push(format!(
                        "icmp_type={},icmp_code={}",
                        f("icmp_type"),
                        f("icmp_code")
                    )),
                    (true, 58) => {
                        let (t, c) = (f("icmpv6_type"), f("icmpv6_code"));
                        out.push(format!("icmp_type={t},icmp_code={c}"));
                        if matches!(t, 135 | 136) && c == 0 {
                            out.push(format!(
                                "nd_target={},nd_sll={},nd_tll={}",
                                ipv6(f("nd_target")),
                                mac(f("nd_sll")),
                                mac(f("nd_tll"))
                            ));
                        }
                    }
                    (_, 6) => out.push(format!(
                        "tp_src={tp_src},tp_dst={tp_dst},tcp_flags={}",
                        tcp_flag_names(f("tcp_flags"))
                    )),
                    (_, 1 | 2 | 17 | 58 | 132) => {
                        out.push(format!("tp_src={tp_src},tp_dst={tp_dst}"))
                    }
                    _ => {}
                }
            }
        } else if matches!(eth_type, 0x0806 | 0x8035) {
            out.push(format!(
                "arp_spa={},arp_tpa={},arp_op={},arp_sha={},arp_tha={}",
                std::net::Ipv4Addr::from(f("arp_spa") as u32),
                std::net::Ipv4Addr::from(f("arp_tpa") as u32),
                f("arp_op"),
                mac(f("arp_sha")),
                mac(f("arp_tha"))
            ));
        } else if matches!(eth_type, 0x8847 | 0x8848) {
            out.push("mpls_label=0,mpls_tc=0,mpls_ttl=0,mpls_bos=0,mpls_lse1=0,mpls_lse2=0".into());
        }
        out.join(",")
    }
}

/// `00:00:00:00:00:01`.
fn mac(v: u128) -> String {
    let b = (v as u64).to_be_bytes();
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[2], b[3], b[4], b[5], b[6], b[7]
    )
}

/// An IPv6 address as inet_ntop(3) writes it: the longest run of two or
/// more zero groups (the first of equals) as `::`, and IPv4-compatible
/// (`::1.2.3.4`) and IPv4-mapped (`::ffff:1.2.3.4`) addresses with a
/// dotted-quad tail.
pub fn ipv6(v: u128) -> String {
    let g: Vec<u16> = (0..8).map(|i| (v >> (112 - 16 * i)) as u16).collect();
    let (mut best, mut best_len) = (0usize, 0usize);
    let mut i = 0;
    while i < 8 {
        if g[i] == 0 {
            let start = i;
            while i < 8 && g[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                (best, best_len) = (start, i - start);
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best_len = 0;
    }
    let dotted = best == 0 && (best_len == 6 || (best_len == 5 && g[5] == 0xffff));
    let mut s = String::new();
    let mut i = 0;
    while i < 8 {
        if best_len > 0 && i == best {
            s.push_str("::");
            i += best_len;
            continue;
        }
        if dotted && i == 6 {
            if !s.ends_with(':') {
                s.push(':');
            }
            s.push_str(&std::net::Ipv4Addr::from(v as u32).to_string());
            break;
        }
        if !s.is_empty() && !s.ends_with(':') {
            s.push(':');
        }
        s.push_str(&format!("{:x}", g[i]));
        i += 1;
    }
    s
}

/// `new|trk`, flags in ovs-fields(7) order.
fn ct_state_names(v: u128) -> String {
    const NAMES: [&str; 8] = ["new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat"];
    let mut parts: Vec<String> = NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| v >> i & 1 != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    for bit in 8..32 {
        if v >> bit & 1 != 0 {
            parts.push(format!("{:#x}", 1u128 << bit));
        }
    }
    parts.join("|")
}

/// `syn|ack`; bits without a name as `[200]`; `0` for none.
fn tcp_flag_names(v: u128) -> String {
    const NAMES: [&str; 9] = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns"];
    let parts: Vec<String> = (0..12)
        .filter(|i| v >> i & 1 != 0)
        .map(|i| match NAMES.get(i) {
            Some(n) => n.to_string(),
            None => format!("[{:x}]", 1u32 << i),
        })
        .collect();
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join("|")
    }
}

/// `inport="lp1",eth_type=0x800,ip_src=0xa000001` (zeros left out).
impl fmt::Display for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut sep = |f: &mut fmt::Formatter<'_>| {
            let r = if first { Ok(()) } else { f.write_str(",") };
            first = false;
            r
        };
        for (of, name) in &self.ports {
            sep(f)?;
            write!(f, "{of}=")?;
            write_json_string(f, name)?;
        }
        for (of, v) in &self.fields {
            sep(f)?;
            write!(f, "{of}={v:#x}")?;
        }
        Ok(())
    }
}

fn not_symbol(message: String) -> Error {
    Error::semantic(Span::default(), message)
}

/// (OpenFlow field, low bit, width) of an integer (sub)field, maybe with a
/// bit selection: `reg0`, `reg0[3]`, `ip4.src[24..31]`.
fn int_slice(symtab: &Symtab, name: &str) -> Result<(&'static str, u32, u32)> {
    let mut parser = Parser::new(name)?;
    let f = parser.field_ref()?;
    if !parser.at_end() {
        return Err(parser.unexpected("end of field name"));
    }
    let name = f.name.as_str();
    match symtab.slice(name) {
        Some(s) if !s.root.is_string() => {
            let (lo, width) = match f.bits {
                Bits::All => (0, s.width),
                Bits::Bit(b) => (b, 1),
                Bits::Range(lo, hi) => (lo, hi.saturating_sub(lo).saturating_add(1)),
            };
            if lo as u64 + width as u64 > s.width as u64 {
                return Err(Error::semantic(
                    f.span,
                    format!(
                        "cannot select bits {lo} to {} of {}-bit field `{name}`",
                        lo as u64 + width as u64 - 1,
                        s.width
                    ),
                ));
            }
            Ok((s.of.name, s.lo + lo, width))
        }
        Some(_) => Err(not_symbol(format!(
            "`{name}` is a string field; use get_string/set_string"
        ))),
        None => Err(not_symbol(format!(
            "`{name}` is not a field (unknown, a predicate, or action-only)"
        ))),
    }
}

fn string_field(symtab: &Symtab, name: &str) -> Result<&'static str> {
    match symtab.get(name).map(|s| &s.kind) {
        Some(Kind::String(of)) => Ok(of.name),
        _ => Err(not_symbol(format!("`{name}` is not a string field"))),
    }
}

/// Delegates to the caller's lookup, except that every port name gets a
/// key: its position in `names`, plus one.
struct Interner<'a> {
    inner: &'a dyn Lookup,
    names: RefCell<Vec<String>>,
}

impl Lookup for Interner<'_> {
    fn address_set(&self, name: &str) -> Option<&[Constant]> {
        self.inner.address_set(name)
    }

    fn port_group(&self, name: &str) -> Option<&[String]> {
        self.inner.port_group(name)
    }

    fn port_key(&self, name: &str) -> Option<u32> {
        let mut names = self.names.borrow_mut();
        let i = match names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                names.push(name.to_string());
                names.len() - 1
            }
        };
        u32::try_from(i + 1).ok()
    }

    fn is_chassis_resident(&self, port: &str) -> bool {
        self.inner.is_chassis_resident(port)
    }
}
