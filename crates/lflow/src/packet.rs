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
