//! Semantic checks of parsed actions against the symbol table.
//!
//! What is checked (ovn-sb(5), and upstream 23.03's behaviour where the
//! manual is silent, as observed with `ovn-trace`):
//!
//! - every field exists and is a field, not a predicate;
//! - assigned fields are writable: `eth.type`, `ip.proto`, `ip.frag`,
//!   `tcp.flags` and `ct_state` never are; `ct_mark` and `ct_label` only
//!   directly inside `ct_commit { }`, where nothing else is;
//!   (ovn-sb(5) also says `outport` is read-only in the egress pipeline,
//!   but neither upstream's parser enforces it nor does northd respect it:
//!   it writes `clone { outport = ""; ... next(pipeline=ingress, table=0); }`
//!   in egress);
//! - fields OpenFlow cannot mask (`ip.ttl`, `ip.dscp`, `arp.op`, ICMP type
//!   and code...) are only assigned whole;
//! - types and widths: strings go to string fields, constants fit the
//!   destination, `a = b` and `a <-> b` have equal widths and types;
//! - function arguments: port arguments are string fields, addresses and
//!   MACs have the documented widths, `R = f()` results are 1 bit
//!   (`select` needs 16 or more, `get_fdb` a port field or 32 bits);
//! - DHCP and ND RA option values have the option's type and fit it;
//!   `put_dhcp_opts` has `offerip`, `put_nd_ra_opts` has `addr_mode`,
//!   `slla` and, for SLAAC, a `prefix`;
//! - `next(N)` stays within the pipeline.
//!
//! The result lists the prerequisites the actions add to the flow's match
//! (`tcp.dst = 80` implies `tcp`, `arp { }` implies `ip4`).

use super::ast::*;
use super::options::{self, OptType};
use crate::expr::{Bits, FieldRef, Operand, Value};
use crate::lexer::{Constant, Format};
use crate::symtab::{Kind, Symbol, Symtab};
use crate::{Error, Result, Span};

/// Context for checking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckOptions {
    /// Number of tables in each logical pipeline (OVN 23.03 has 29).
    pub n_tables: u32,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { n_tables: 29 }
    }
}

/// What checking found out about valid actions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    /// Expressions the flow's match implicitly gains, without repeats, in
    /// order of first use.
    pub prereqs: Vec<String>,
}

/// Checks `actions` against `symtab`.
pub fn check_actions(actions: &[Action], symtab: &Symtab, opts: &CheckOptions) -> Result<Checked> {
    let mut c = Checker {
        symtab,
        opts,
        prereqs: Vec::new(),
    };
    c.list(actions, Scope::Normal)?;
    Ok(Checked { prereqs: c.prereqs })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Normal,
    /// Directly inside `ct_commit { }`.
    CtCommit,
}

/// Root fields that no action may write.
const READ_ONLY: &[&str] = &["eth.type", "ip.proto", "ip.frag", "tcp.flags", "ct_state"];
/// Root fields only `ct_commit { }` may write.
const CT_COMMIT_ONLY: &[&str] = &["ct_mark", "ct_label"];
/// Fields OpenFlow cannot set partially (ovs-fields(7): not maskable).
const WHOLE_ONLY: &[&str] = &[
    "eth.type",
    "ip.proto",
    "ip.ttl",
    "ip.dscp",
    "ip.ecn",
    "arp.op",
    "rarp.op",
    "icmp4.type",
    "icmp4.code",
    "icmp6.type",
    "icmp6.code",
];

/// A resolved field reference.
struct Ref<'a> {
    sym: &'a Symbol,
    /// The root field's symbol name.
    root: &'a str,
    /// Selected width (0 for string fields).
    width: u32,
}

impl Ref<'_> {
    fn is_string(&self) -> bool {
        self.sym.is_string()
    }
}

struct Checker<'a> {
    symtab: &'a Symtab,
    opts: &'a CheckOptions,
    prereqs: Vec<String>,
}

fn show(f: &FieldRef) -> String {
    let mut s = String::new();
    crate::print::write_field(&mut s, f);
    s
}

impl<'a> Checker<'a> {
    fn prereq(&mut self, p: &str) {
        if !self.prereqs.iter().any(|q| q == p) {
            self.prereqs.push(p.to_string());
        }
    }

    fn list(&mut self, actions: &[Action], scope: Scope) -> Result<()> {
        actions.iter().try_for_each(|a| self.action(a, scope))
    }

    /// Checks `body` of a nested action that works on a new packet: the
    /// fields it touches belong to that packet, so their prerequisites do
    /// not constrain the flow's match.
    fn new_packet(&mut self, body: &[Action]) -> Result<()> {
        let saved = std::mem::take(&mut self.prereqs);
        let r = self.list(body, Scope::Normal);
        self.prereqs = saved;
        r
    }

    fn action(&mut self, a: &Action, scope: Scope) -> Result<()> {
        match &a.kind {
            ActionKind::Output
            | ActionKind::Drop
            | ActionKind::CtClear
            | ActionKind::HandleDhcpv6Reply
            | ActionKind::SetQueue(_)
            | ActionKind::Log(_)
            | ActionKind::SetMeter { .. }
            | ActionKind::TriggerEvent { .. }
            | ActionKind::FwdGroup { .. }
            | ActionKind::CommitEcmpNh { .. }
            | ActionKind::CommitLbAff { .. }
            | ActionKind::Sample(_)
            | ActionKind::CtSnatToVip => Ok(()),
            ActionKind::Next { table, .. } => {
                if let Some(t) = table {
                    if *t >= self.opts.n_tables {
                        return Err(Error::semantic(
                            a.span,
                            format!(
                                "\"next\" cannot go to table {t}: the pipeline has tables 0 to {}",
                                self.opts.n_tables.saturating_sub(1)
                            ),
                        ));
                    }
                }
                Ok(())
            }
            ActionKind::Load { dst, value } => {
                let d = self.lvalue(dst, scope)?;
                self.load_value(dst, &d, value)
            }
            ActionKind::Move { dst, src } => {
                let d = self.lvalue(dst, scope)?;
                let s = self.rvalue(src)?;
                if d.is_string() != s.is_string() {
                    return Err(Error::semantic(
                        a.span,
                        format!(
                            "cannot assign {} field `{}` to {} field `{}`",
                            kind_name(&s),
                            show(src),
                            kind_name(&d),
                            show(dst)
                        ),
                    ));
                }
                if d.width != s.width {
                    return Err(Error::semantic(
                        a.span,
                        format!(
                            "cannot assign {}-bit `{}` to {}-bit `{}`: widths must be equal",
                            s.width,
                            show(src),
                            d.width,
                            show(dst)
                        ),
                    ));
                }
                Ok(())
            }
            ActionKind::Exchange { a: x, b: y } => {
                let l = self.lvalue(x, scope)?;
                let r = self.lvalue(y, scope)?;
                if l.is_string() != r.is_string() || l.width != r.width {
                    return Err(Error::semantic(
                        a.span,
                        format!(
                            "cannot exchange {} `{}` with {} `{}`",
                            describe_ref(&l),
                            show(x),
                            describe_ref(&r),
                            show(y)
                        ),
                    ));
                }
                Ok(())
            }
            ActionKind::Push(f) => self.rvalue(f).map(drop),
            ActionKind::Pop(f) => self.lvalue(f, scope).map(drop),
            ActionKind::DecTtl => {
                self.prereq("ip");
                Ok(())
            }
            ActionKind::CtNext
            | ActionKind::CtCommitNat
            | ActionKind::Nat { .. }
            | ActionKind::CtLb { .. } => {
                self.prereq("ip");
                Ok(())
            }
            ActionKind::CtCommitV1 { mark, label } => {
                self.prereq("ip");
                for (c, w, name) in [(mark, 32, "ct_mark"), (label, 128, "ct_label")] {
                    if let Some(c) = c {
                        if c.width() > w {
                            return Err(Error::semantic(
                                a.span,
                                format!("{}-bit constant does not fit {w}-bit {name}", c.width()),
                            ));
                        }
                    }
                }
                Ok(())
            }
            ActionKind::CtCommit(body) => {
                self.prereq("ip");
                self.list(body, Scope::CtCommit)
            }
            ActionKind::Nested { kind, body } => {
                if let Some(p) = kind.prereq() {
                    self.prereq(p);
                }
                if *kind == NestedKind::Clone {
                    self.list(body, Scope::Normal)
                } else {
                    self.new_packet(body)
                }
            }
            ActionKind::Igmp => {
                self.prereq("igmp");
                Ok(())
            }
            ActionKind::MacBinding { op, port, ip, mac } => {
                self.port_arg(port)?;
                self.int_arg(ip, op.ip_width(), "address")?;
                if let Some(m) = mac {
                    self.int_arg(m, 48, "Ethernet address")?;
                }
                Ok(())
            }
            ActionKind::PutFdb { port, mac } => {
                self.port_arg(port)?;
                self.int_arg(mac, 48, "Ethernet address")
            }
            ActionKind::BindVport { parent, .. } => self.port_arg(parent),
            ActionKind::HandleSvcCheck(f) => self.port_arg(f),
            ActionKind::Call { dst, func } => self.call(dst, func, scope),
        }
    }

    /// Looks up a field reference; `None` bits are allowed on any field.
    fn resolve(&self, f: &FieldRef) -> Result<Ref<'a>> {
        let Some(sym) = self.symtab.get(&f.name) else {
            return Err(Error::semantic(
                f.span,
                format!("unknown field `{}`", f.name),
            ));
        };
        if sym.is_predicate() {
            return Err(Error::semantic(
                f.span,
                format!(
                    "`{}` is a predicate, not a field: actions can only read and write fields",
                    f.name
                ),
            ));
        }
        let mut root = sym;
        while let Kind::Subfield { parent, .. } = &root.kind {
            match self.symtab.get(parent) {
                Some(p) => root = p,
                None => break,
            }
        }
        let width = match f.bits {
            Bits::All => sym.width,
            Bits::Bit(b) | Bits::Range(b, _) => {
                let hi = match f.bits {
                    Bits::Range(_, hi) => hi,
                    _ => b,
                };
                if sym.is_string() {
                    return Err(Error::semantic(
                        f.span,
                        format!("cannot select bits of string field `{}`", sym.name),
                    ));
                }
                if WHOLE_ONLY.contains(&sym.name.as_str()) || matches!(sym.kind, Kind::OvnField) {
                    return Err(Error::semantic(
                        f.span,
                        format!(
                            "cannot select bits of `{}`: it can only be used whole",
                            sym.name
                        ),
                    ));
                }
                if hi >= sym.width {
                    return Err(Error::semantic(
                        f.span,
                        format!(
                            "cannot select bits {b} to {hi} of {}-bit field `{}`",
                            sym.width, sym.name
                        ),
                    ));
                }
                hi - b + 1
            }
        };
        Ok(Ref {
            sym,
            root: root.name.as_str(),
            width,
        })
    }

    fn add_field_prereqs(&mut self, sym: &Symbol) {
        let mut cur = Some(sym);
        while let Some(s) = cur {
            if let Some(p) = &s.prereqs {
                self.prereq(p);
            }
            cur = match &s.kind {
                Kind::Subfield { parent, .. } => self.symtab.get(parent),
                _ => None,
            };
        }
    }

    /// A field that is read.
    fn rvalue(&mut self, f: &FieldRef) -> Result<Ref<'a>> {
        let r = self.resolve(f)?;
        if matches!(r.sym.kind, Kind::OvnField) {
            return Err(Error::semantic(
                f.span,
                format!("`{}` can only be assigned, not read", f.name),
            ));
        }
        self.add_field_prereqs(r.sym);
        Ok(r)
    }

    /// A field that is written.
    fn lvalue(&mut self, f: &FieldRef, scope: Scope) -> Result<Ref<'a>> {
        let r = self.resolve(f)?;
        let root = r.root;
        let why = if READ_ONLY.contains(&root) {
            Some(format!("`{}` is read-only", f.name))
        } else if CT_COMMIT_ONLY.contains(&root) {
            (scope != Scope::CtCommit).then(|| {
                format!(
                    "`{}` can only be set directly inside `ct_commit {{ ... }}`",
                    f.name
                )
            })
        } else if scope == Scope::CtCommit {
            Some(format!(
                "inside `ct_commit {{ }}` only ct_mark and ct_label can be set, not `{}`",
                f.name
            ))
        } else {
            None
        };
        if let Some(why) = why {
            return Err(Error::semantic(
                f.span,
                format!("{why}: it cannot be modified"),
            ));
        }
        self.add_field_prereqs(r.sym);
        Ok(r)
    }

    fn load_value(&mut self, dst: &FieldRef, d: &Ref<'_>, v: &Value) -> Result<()> {
        match v {
            Value::Str(_, span) if !d.is_string() => Err(Error::semantic(
                *span,
                format!("integer field `{}` cannot be assigned a string", show(dst)),
            )),
            Value::Str(..) => Ok(()),
            Value::Const(c, span) => {
                if d.is_string() {
                    return Err(Error::semantic(
                        *span,
                        format!(
                            "string field `{}` is assigned port names in quotes, not integer `{c}`",
                            show(dst)
                        ),
                    ));
                }
                if c.width() > d.width {
                    return Err(Error::semantic(
                        *span,
                        format!(
                            "{}-bit constant `{c}` does not fit {}-bit `{}`",
                            c.width(),
                            d.width,
                            show(dst)
                        ),
                    ));
                }
                Ok(())
            }
            Value::Template(n, span) => Err(Error::semantic(
                *span,
                format!("unexpanded template variable `^{n}`: substitute chassis templates first"),
            )),
            other => Err(Error::semantic(
                other.span(),
                format!(
                    "`{}` cannot be assigned {}",
                    show(dst),
                    super::parse::describe(other)
                ),
            )),
        }
    }

    fn port_arg(&mut self, f: &FieldRef) -> Result<()> {
        let r = self.rvalue(f)?;
        if !r.is_string() {
            return Err(Error::semantic(
                f.span,
                format!(
                    "`{}` is an integer field; a logical port field (inport, outport) is required",
                    show(f)
                ),
            ));
        }
        Ok(())
    }

    fn int_arg(&mut self, f: &FieldRef, width: u32, what: &str) -> Result<()> {
        let r = self.rvalue(f)?;
        if r.is_string() || r.width != width {
            return Err(Error::semantic(
                f.span,
                format!(
                    "`{}` is {}; a {width}-bit {what} field is required",
                    show(f),
                    describe_ref(&r)
                ),
            ));
        }
        Ok(())
    }

    fn call(&mut self, dst: &FieldRef, func: &Func, scope: Scope) -> Result<()> {
        let d = self.lvalue(dst, scope)?;
        let name = func.name();
        match func {
            Func::Select(_) => {
                if d.is_string() || d.width < 16 {
                    return Err(Error::semantic(
                        dst.span,
                        format!(
                            "`{}` is {}; select needs an integer field of at least 16 bits",
                            show(dst),
                            describe_ref(&d)
                        ),
                    ));
                }
            }
            Func::GetFdb { .. } => {
                if !d.is_string() && d.width != 32 {
                    return Err(Error::semantic(
                        dst.span,
                        format!(
                            "`{}` is {}; get_fdb stores a port: use outport or a 32-bit register",
                            show(dst),
                            describe_ref(&d)
                        ),
                    ));
                }
            }
            _ => {
                if d.is_string() || d.width != 1 {
                    return Err(Error::semantic(
                        dst.span,
                        format!(
                            "`{}` is {}; {name} stores a 1-bit result, e.g. `reg0[0] = {name}(...)`",
                            show(dst),
                            describe_ref(&d)
                        ),
                    ));
                }
            }
        }
        match func {
            Func::CheckPktLarger(_) | Func::Select(_) => Ok(()),
            Func::Check(c) => {
                if *c == Check::DnsLookup {
                    self.prereq("udp");
                }
                Ok(())
            }
            Func::Lookup { op, port, ip, mac } => {
                self.port_arg(port)?;
                self.int_arg(ip, op.ip_width(), "address")?;
                if let Some(m) = mac {
                    self.int_arg(m, 48, "Ethernet address")?;
                }
                Ok(())
            }
            Func::LookupFdb { port, mac } => {
                self.port_arg(port)?;
                self.int_arg(mac, 48, "Ethernet address")
            }
            Func::GetFdb { mac } => self.int_arg(mac, 48, "Ethernet address"),
            Func::PutOpts { kind, opts } => check_opts(*kind, opts, dst.span),
        }
    }
}

fn kind_name(r: &Ref<'_>) -> &'static str {
    if r.is_string() {
        "string"
    } else {
        "integer"
    }
}

fn describe_ref(r: &Ref<'_>) -> String {
    if r.is_string() {
        "a logical port (string) field".to_string()
    } else {
        format!("a {}-bit field", r.width)
    }
}

fn bits_mask(w: u32) -> u128 {
    if w >= 128 {
        u128::MAX
    } else {
        (1 << w) - 1
    }
}

fn check_opts(kind: OptsKind, opts: &[OptArg], call_span: Span) -> Result<()> {
    let table = match kind {
        OptsKind::Dhcp4 => options::DHCP4,
        OptsKind::Dhcp6 => options::DHCP6,
        OptsKind::NdRa => options::ND_RA,
    };
    for o in opts {
        let Some(def) = options::find(table, &o.name) else {
            return Err(Error::semantic(
                o.name_span,
                format!("unknown option `{}`", o.name),
            ));
        };
        check_opt_value(kind, def.ty, o)?;
    }
    let has = |n: &str| opts.iter().any(|o| o.name == n);
    match kind {
        OptsKind::Dhcp4 if !has("offerip") => Err(Error::semantic(
            call_span,
            "put_dhcp_opts requires an `offerip` option (the address to offer)",
        )),
        OptsKind::NdRa => {
            for required in ["addr_mode", "slla"] {
                if !has(required) {
                    return Err(Error::semantic(
                        call_span,
                        format!("put_nd_ra_opts requires the `{required}` option"),
                    ));
                }
            }
            let slaac = opts.iter().any(|o| {
                o.name == "addr_mode"
                    && matches!(&o.value, Operand::Value(Value::Str(s, _)) if s == "slaac" || s == "dhcpv6_stateless")
            });
            if slaac && !has("prefix") {
                return Err(Error::semantic(
                    call_span,
                    "put_nd_ra_opts needs a `prefix` option when addr_mode is \"slaac\" or \"dhcpv6_stateless\"",
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_opt_value(kind: OptsKind, ty: OptType, o: &OptArg) -> Result<()> {
    let values: Vec<&Value> = match &o.value {
        Operand::Value(v) => vec![v],
        Operand::Set(vs, span) => {
            let multi = matches!(ty, OptType::Ipv4 | OptType::Ipv6 | OptType::StaticRoutes);
            if !multi {
                return Err(Error::semantic(
                    *span,
                    format!("option `{}` takes a single value, not a set", o.name),
                ));
            }
            vs.iter().collect()
        }
    };
    let name = &o.name;
    let err = |span: Span, want: &str| {
        Error::semantic(
            span,
            format!("option `{name}` ({}) requires {want}", ty.as_str()),
        )
    };
    for v in &values {
        let span = v.span();
        let c: Option<&Constant> = match v {
            Value::Const(c, _) => Some(c),
            _ => None,
        };
        let unmasked = c.filter(|c| c.mask.is_none());
        let ok = match ty {
            OptType::Str | OptType::Domains => matches!(v, Value::Str(..)),
            OptType::HostId => {
                matches!(v, Value::Str(..)) || unmasked.is_some_and(|c| c.format == Format::Ipv4)
            }
            OptType::Ipv4 => unmasked.is_some_and(|c| c.format == Format::Ipv4),
            OptType::Ipv6 => unmasked.is_some_and(|c| c.format == Format::Ipv6),
            OptType::Mac => unmasked.is_some_and(|c| c.format == Format::Ethernet),
            OptType::Ipv6Prefix => c.is_some_and(|c| {
                c.format == Format::Ipv6
                    && matches!(c.mask, None | Some(crate::lexer::Mask::Prefix(_)))
            }),
            OptType::StaticRoutes => c.is_some_and(|c| {
                c.format == Format::Ipv4
                    && matches!(c.mask, None | Some(crate::lexer::Mask::Prefix(_)))
            }),
            OptType::Bool | OptType::Uint8 | OptType::Uint16 | OptType::Uint32 => {
                let w = match ty {
                    OptType::Bool => 1,
                    OptType::Uint8 => 8,
                    OptType::Uint16 => 16,
                    _ => 32,
                };
                unmasked.is_some_and(|c| {
                    matches!(c.format, Format::Decimal | Format::Hex)
                        && c.value & !bits_mask(w) == 0
                })
            }
        };
        if !ok {
            let want = match ty {
                OptType::Str | OptType::Domains => "a string".to_string(),
                OptType::HostId => "a host name string or an IPv4 address".to_string(),
                OptType::Ipv4 => "IPv4 addresses".to_string(),
                OptType::Ipv6 => "IPv6 addresses".to_string(),
                OptType::Mac => "an Ethernet address".to_string(),
                OptType::Ipv6Prefix => "an IPv6 prefix such as aef0::/64".to_string(),
                OptType::StaticRoutes => {
                    "a set of IPv4 prefix, router pairs: {30.0.0.0/24, 10.0.0.4, ...}".to_string()
                }
                OptType::Bool => "0 or 1".to_string(),
                OptType::Uint8 => "an integer from 0 to 255".to_string(),
                OptType::Uint16 => "an integer from 0 to 65535".to_string(),
                OptType::Uint32 => "an integer from 0 to 4294967295".to_string(),
            };
            return Err(err(span, &want));
        }
    }
    if ty == OptType::StaticRoutes && !values.len().is_multiple_of(2) {
        return Err(err(
            o.value.span(),
            "pairs of prefix and router (an even number of addresses)",
        ));
    }
    if kind == OptsKind::NdRa && name == "rdnss" && values.len() > 1 {
        // ovn-controller 23.03 refuses more than one (ovn-trace: "Invalid
        // value for \"rdnss\" option"), braced or not.
        return Err(Error::semantic(
            o.value.span(),
            "put_nd_ra_opts option `rdnss` takes one IPv6 address, not a set",
        ));
    }
    if kind == OptsKind::NdRa {
        let allowed: &[&str] = match name.as_str() {
            "addr_mode" => &["slaac", "dhcpv6_stateful", "dhcpv6_stateless"],
            "router_preference" => &["HIGH", "MEDIUM", "LOW"],
            _ => &[],
        };
        if !allowed.is_empty() {
            if let Some(Value::Str(s, span)) = values.first() {
                if !allowed.contains(&s.as_str()) {
                    return Err(Error::semantic(
                        *span,
                        format!(
                            "invalid {name} \"{s}\" (expecting one of: {})",
                            allowed.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}
