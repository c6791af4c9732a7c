//! The syntax tree of a logical flow's actions.
//!
//! The tree is normalized the way upstream normalizes when it formats
//! actions: defaults are filled in (`select` weights, `log` severity,
//! `sample` ids), an empty `ct_commit { }` is a plain `ct_commit`, so that
//! printing gives one canonical text per tree. Constants keep the format
//! they were written in (`reg0 = 0x1f` stays hex).
//!
//! Field references, values and every action carry spans for error
//! messages; [`without_spans`] gives a copy with all spans zeroed, for
//! comparing trees parsed from different texts.

use crate::expr::{FieldRef, Operand, Value};
use crate::lexer::Constant;
use crate::Span;

/// One action and where it was written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Action {
    /// What it does.
    pub kind: ActionKind,
    /// From its first token to its `;` (exclusive).
    pub span: Span,
}

/// Logical pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pipeline {
    /// `ingress`
    Ingress,
    /// `egress`
    Egress,
}

impl Pipeline {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Pipeline::Ingress => "ingress",
            Pipeline::Egress => "egress",
        }
    }
}

/// The connection-tracking NAT actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NatKind {
    /// `ct_dnat`
    Dnat,
    /// `ct_snat`
    Snat,
    /// `ct_dnat_in_czone`
    DnatInCzone,
    /// `ct_snat_in_czone`
    SnatInCzone,
}

impl NatKind {
    /// The action name.
    pub fn as_str(self) -> &'static str {
        match self {
            NatKind::Dnat => "ct_dnat",
            NatKind::Snat => "ct_snat",
            NatKind::DnatInCzone => "ct_dnat_in_czone",
            NatKind::SnatInCzone => "ct_snat_in_czone",
        }
    }
}

/// `ct_dnat(IP[, LO[-HI]])`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NatTarget {
    /// An IPv4 or IPv6 address.
    pub ip: Constant,
    /// A port or port range.
    pub ports: Option<(u16, Option<u16>)>,
}

/// A `ct_lb` backend: `10.0.0.1:80`, `[fd00::1]:80`, `10.0.0.1`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Backend {
    /// IPv4 or IPv6 address.
    pub ip: Constant,
    /// Port, if any.
    pub port: Option<u16>,
}

/// The flag `ct_lb` stores in the connection's mark or label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CtFlag {
    /// `skip_snat`
    SkipSnat,
    /// `force_snat`
    ForceSnat,
}

/// Arguments of `ct_lb(...)`/`ct_lb_mark(...)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LbArgs {
    /// May be empty (`ct_lb(backends=)` is never written, `ct_lb()` is).
    pub backends: Vec<Backend>,
    /// `hash_fields="ip_src,ip_dst"`, as written.
    pub hash_fields: Option<String>,
    /// `skip_snat` or `force_snat`.
    pub flag: Option<CtFlag>,
}

/// Actions that replace the packet by another (or a copy) and run a
/// nested list of actions on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NestedKind {
    /// `clone { }`
    Clone,
    /// `arp { }`
    Arp,
    /// `nd_na { }`
    NdNa,
    /// `nd_na_router { }`
    NdNaRouter,
    /// `nd_ns { }`
    NdNs,
    /// `icmp4 { }`
    Icmp4,
    /// `icmp4_error { }`
    Icmp4Error,
    /// `icmp6 { }`
    Icmp6,
    /// `icmp6_error { }`
    Icmp6Error,
    /// `tcp_reset { }`
    TcpReset,
    /// `sctp_abort { }`
    SctpAbort,
    /// `reject { }`
    Reject,
}

impl NestedKind {
    /// All of them.
    pub const ALL: [NestedKind; 12] = [
        NestedKind::Clone,
        NestedKind::Arp,
        NestedKind::NdNa,
        NestedKind::NdNaRouter,
        NestedKind::NdNs,
        NestedKind::Icmp4,
        NestedKind::Icmp4Error,
        NestedKind::Icmp6,
        NestedKind::Icmp6Error,
        NestedKind::TcpReset,
        NestedKind::SctpAbort,
        NestedKind::Reject,
    ];

    /// The action name.
    pub fn as_str(self) -> &'static str {
        match self {
            NestedKind::Clone => "clone",
            NestedKind::Arp => "arp",
            NestedKind::NdNa => "nd_na",
            NestedKind::NdNaRouter => "nd_na_router",
            NestedKind::NdNs => "nd_ns",
            NestedKind::Icmp4 => "icmp4",
            NestedKind::Icmp4Error => "icmp4_error",
            NestedKind::Icmp6 => "icmp6",
            NestedKind::Icmp6Error => "icmp6_error",
            NestedKind::TcpReset => "tcp_reset",
            NestedKind::SctpAbort => "sctp_abort",
            NestedKind::Reject => "reject",
        }
    }

    /// What the packet must be for the action to apply (ovn-sb(5)).
    pub fn prereq(self) -> Option<&'static str> {
        match self {
            NestedKind::Clone | NestedKind::Reject => None,
            NestedKind::Arp | NestedKind::Icmp4 | NestedKind::Icmp4Error => Some("ip4"),
            NestedKind::NdNs | NestedKind::Icmp6 | NestedKind::Icmp6Error => Some("ip6"),
            NestedKind::NdNa | NestedKind::NdNaRouter => Some("nd_ns"),
            NestedKind::TcpReset => Some("tcp"),
            NestedKind::SctpAbort => Some("sctp"),
        }
    }
}

/// The MAC binding actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MacOp {
    /// `get_arp(P, A)`
    GetArp,
    /// `put_arp(P, A, E)`
    PutArp,
    /// `get_nd(P, A)`
    GetNd,
    /// `put_nd(P, A, E)`
    PutNd,
}

impl MacOp {
    /// The action name.
    pub fn as_str(self) -> &'static str {
        match self {
            MacOp::GetArp => "get_arp",
            MacOp::PutArp => "put_arp",
            MacOp::GetNd => "get_nd",
            MacOp::PutNd => "put_nd",
        }
    }

    /// Width of the address argument.
    pub fn ip_width(self) -> u32 {
        match self {
            MacOp::GetArp | MacOp::PutArp => 32,
            MacOp::GetNd | MacOp::PutNd => 128,
        }
    }
}

/// The 1-bit lookups of the MAC binding table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LookupOp {
    /// `lookup_arp(P, A, M)`
    Arp,
    /// `lookup_arp_ip(P, A)`
    ArpIp,
    /// `lookup_nd(P, A, M)`
    Nd,
    /// `lookup_nd_ip(P, A)`
    NdIp,
}

impl LookupOp {
    /// The function name.
    pub fn as_str(self) -> &'static str {
        match self {
            LookupOp::Arp => "lookup_arp",
            LookupOp::ArpIp => "lookup_arp_ip",
            LookupOp::Nd => "lookup_nd",
            LookupOp::NdIp => "lookup_nd_ip",
        }
    }

    /// Width of the address argument.
    pub fn ip_width(self) -> u32 {
        match self {
            LookupOp::Arp | LookupOp::ArpIp => 32,
            LookupOp::Nd | LookupOp::NdIp => 128,
        }
    }

    /// True when a MAC argument follows the address.
    pub fn has_mac(self) -> bool {
        matches!(self, LookupOp::Arp | LookupOp::Nd)
    }
}

/// Functions without arguments whose 1-bit result goes to a register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Check {
    /// `chk_lb_hairpin()`
    LbHairpin,
    /// `chk_lb_hairpin_reply()`
    LbHairpinReply,
    /// `check_in_port_sec()`
    InPortSec,
    /// `check_out_port_sec()`
    OutPortSec,
    /// `chk_ecmp_nh_mac()`
    EcmpNhMac,
    /// `chk_ecmp_nh()`
    EcmpNh,
    /// `chk_lb_aff()`
    LbAff,
    /// `dns_lookup()`
    DnsLookup,
}

impl Check {
    /// All of them.
    pub const ALL: [Check; 8] = [
        Check::LbHairpin,
        Check::LbHairpinReply,
        Check::InPortSec,
        Check::OutPortSec,
        Check::EcmpNhMac,
        Check::EcmpNh,
        Check::LbAff,
        Check::DnsLookup,
    ];

    /// The function name.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::LbHairpin => "chk_lb_hairpin",
            Check::LbHairpinReply => "chk_lb_hairpin_reply",
            Check::InPortSec => "check_in_port_sec",
            Check::OutPortSec => "check_out_port_sec",
            Check::EcmpNhMac => "chk_ecmp_nh_mac",
            Check::EcmpNh => "chk_ecmp_nh",
            Check::LbAff => "chk_lb_aff",
            Check::DnsLookup => "dns_lookup",
        }
    }
}

/// Which option table a `put_*_opts` function uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptsKind {
    /// `put_dhcp_opts` (SB `DHCP_Options`).
    Dhcp4,
    /// `put_dhcpv6_opts` (SB `DHCPv6_Options`).
    Dhcp6,
    /// `put_nd_ra_opts` (RFC 4861 router advertisement options).
    NdRa,
}

impl OptsKind {
    /// The function name.
    pub fn as_str(self) -> &'static str {
        match self {
            OptsKind::Dhcp4 => "put_dhcp_opts",
            OptsKind::Dhcp6 => "put_dhcpv6_opts",
            OptsKind::NdRa => "put_nd_ra_opts",
        }
    }
}

/// `name = value` in a `put_*_opts` call.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OptArg {
    /// Option name.
    pub name: String,
    /// Where the name was written.
    pub name_span: Span,
    /// Its value: a constant, a string, or a `{...}` set.
    pub value: Operand,
}

/// `id[=weight]` in `select(...)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SelectMember {
    /// 0 to 65535.
    pub id: u16,
    /// 1 to 65535; 100 when not written.
    pub weight: u16,
}

/// A function whose result is stored: `R = f(...)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    /// `check_pkt_larger(L)`
    CheckPktLarger(u64),
    /// One of the argument-less checks.
    Check(Check),
    /// `lookup_arp(P, A, M)` and friends.
    Lookup {
        op: LookupOp,
        port: FieldRef,
        ip: FieldRef,
        mac: Option<FieldRef>,
    },
    /// `lookup_fdb(P, A)`
    LookupFdb { port: FieldRef, mac: FieldRef },
    /// `get_fdb(A)`
    GetFdb { mac: FieldRef },
    /// `put_dhcp_opts(...)`, `put_dhcpv6_opts(...)`, `put_nd_ra_opts(...)`.
    PutOpts { kind: OptsKind, opts: Vec<OptArg> },
    /// `select(1=20, 2=30)`
    Select(Vec<SelectMember>),
}

impl Func {
    /// The function name.
    pub fn name(&self) -> &'static str {
        match self {
            Func::CheckPktLarger(_) => "check_pkt_larger",
            Func::Check(c) => c.as_str(),
            Func::Lookup { op, .. } => op.as_str(),
            Func::LookupFdb { .. } => "lookup_fdb",
            Func::GetFdb { .. } => "get_fdb",
            Func::PutOpts { kind, .. } => kind.as_str(),
            Func::Select(_) => "select",
        }
    }
}

/// `log` severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// `alert`
    Alert,
    /// `warning`
    Warning,
    /// `notice`
    Notice,
    /// `info` (the default)
    Info,
    /// `debug`
    Debug,
}

impl Severity {
    /// All of them, most serious first.
    pub const ALL: [Severity; 5] = [
        Severity::Alert,
        Severity::Warning,
        Severity::Notice,
        Severity::Info,
        Severity::Debug,
    ];

    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Alert => "alert",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
            Severity::Info => "info",
            Severity::Debug => "debug",
        }
    }
}

/// `log` verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// `allow`
    Allow,
    /// `drop`
    Drop,
    /// `reject`
    Reject,
}

impl Verdict {
    /// All of them.
    pub const ALL: [Verdict; 3] = [Verdict::Allow, Verdict::Drop, Verdict::Reject];

    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Drop => "drop",
            Verdict::Reject => "reject",
        }
    }
}

/// `log(...)` arguments.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Log {
    /// `name="..."` (under 64 bytes).
    pub name: Option<String>,
    /// `verdict=...` (required).
    pub verdict: Verdict,
    /// `severity=...` (default info).
    pub severity: Severity,
    /// `meter="..."`.
    pub meter: Option<String>,
}

/// Transport protocol argument of `commit_ecmp_nh`/`commit_lb_aff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Proto {
    /// `tcp`
    Tcp,
    /// `udp`
    Udp,
    /// `sctp`
    Sctp,
}

impl Proto {
    /// All of them.
    pub const ALL: [Proto; 3] = [Proto::Tcp, Proto::Udp, Proto::Sctp];

    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }
}

/// `sample(...)` arguments, defaults filled in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sample {
    /// Packets sampled out of 65535 (1 to 65535).
    pub probability: u16,
    /// Flow_Sample_Collector_Set id.
    pub collector_set: u32,
    /// ObservationDomainID's top 8 bits.
    pub obs_domain: u8,
    /// ObservationPointID.
    pub obs_point: u32,
}

/// What an action does.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// `output;`
    Output,
    /// `drop;` (only ever the sole action).
    Drop,
    /// `next;`, `next(N);`, `next(pipeline=P, table=N);`
    Next {
        pipeline: Option<Pipeline>,
        table: Option<u32>,
    },
    /// `field = constant;` (maybe masked) or `field = "port";`
    Load { dst: FieldRef, value: Value },
    /// `field1 = field2;`
    Move { dst: FieldRef, src: FieldRef },
    /// `field1 <-> field2;`
    Exchange { a: FieldRef, b: FieldRef },
    /// `push(field);`
    Push(FieldRef),
    /// `pop(field);`
    Pop(FieldRef),
    /// `ip.ttl--;`
    DecTtl,
    /// `ct_next;`
    CtNext,
    /// `ct_commit;` or `ct_commit { ... };` (empty body: plain).
    CtCommit(Vec<Action>),
    /// The older `ct_commit(ct_mark=V[/M], ct_label=V[/M]);`.
    CtCommitV1 {
        mark: Option<Constant>,
        label: Option<Constant>,
    },
    /// `ct_commit_nat;`
    CtCommitNat,
    /// `ct_dnat;`, `ct_snat(IP);`, ...
    Nat {
        kind: NatKind,
        target: Option<NatTarget>,
    },
    /// `ct_lb;`, `ct_lb_mark(backends=...);`
    CtLb { mark: bool, args: Option<LbArgs> },
    /// `ct_clear;`
    CtClear,
    /// `ct_snat_to_vip;`
    CtSnatToVip,
    /// `clone { ... };`, `arp { ... };`, ...
    Nested { kind: NestedKind, body: Vec<Action> },
    /// `igmp;`
    Igmp,
    /// `get_arp(P, A);`, `put_arp(P, A, E);`, `get_nd`, `put_nd`.
    MacBinding {
        op: MacOp,
        port: FieldRef,
        ip: FieldRef,
        mac: Option<FieldRef>,
    },
    /// `put_fdb(P, A);`
    PutFdb { port: FieldRef, mac: FieldRef },
    /// `R = f(...);`
    Call { dst: FieldRef, func: Func },
    /// `set_queue(N);`
    SetQueue(u16),
    /// `log(...);`
    Log(Log),
    /// `set_meter(rate[, burst]);`
    SetMeter { rate: u64, burst: Option<u64> },
    /// `trigger_event(event = "...", key = "value", ...);`
    TriggerEvent {
        event: String,
        options: Vec<(String, String)>,
    },
    /// `bind_vport("V", P);`
    BindVport { vport: String, parent: FieldRef },
    /// `handle_svc_check(P);`
    HandleSvcCheck(FieldRef),
    /// `handle_dhcpv6_reply;`
    HandleDhcpv6Reply,
    /// `fwd_group(liveness=true, childports="p1", "p2");`
    FwdGroup { liveness: bool, ports: Vec<String> },
    /// `commit_ecmp_nh(ipv6 = true, proto = tcp);`
    CommitEcmpNh { ipv6: bool, proto: Proto },
    /// `commit_lb_aff(vip = "ip:port", backend = "ip:port", proto = tcp, timeout = N);`
    CommitLbAff {
        vip: String,
        backend: String,
        proto: Proto,
        timeout: u32,
    },
    /// `sample(probability=N, ...);`
    Sample(Sample),
}

/// A copy of `actions` with every span set to `0..0`.
pub fn without_spans(actions: &[Action]) -> Vec<Action> {
    let mut v = actions.to_vec();
    v.iter_mut().for_each(Action::erase_spans);
    v
}

fn erase_value(v: &mut Value) {
    match v {
        Value::Const(_, s)
        | Value::Str(_, s)
        | Value::AddressSet(_, s)
        | Value::PortGroup(_, s)
        | Value::Template(_, s) => *s = Span::default(),
    }
}

fn erase_field(f: &mut FieldRef) {
    f.span = Span::default();
}

impl Action {
    /// Sets every span in the action to `0..0`.
    pub fn erase_spans(&mut self) {
        self.span = Span::default();
        match &mut self.kind {
            ActionKind::Load { dst, value } => {
                erase_field(dst);
                erase_value(value);
            }
            ActionKind::Move { dst: a, src: b } | ActionKind::Exchange { a, b } => {
                erase_field(a);
                erase_field(b);
            }
            ActionKind::Push(f) | ActionKind::Pop(f) | ActionKind::HandleSvcCheck(f) => {
                erase_field(f)
            }
            ActionKind::BindVport { parent, .. } => erase_field(parent),
            ActionKind::CtCommit(body) | ActionKind::Nested { body, .. } => {
                body.iter_mut().for_each(Action::erase_spans)
            }
            ActionKind::MacBinding { port, ip, mac, .. } => {
                erase_field(port);
                erase_field(ip);
                if let Some(m) = mac {
                    erase_field(m);
                }
            }
            ActionKind::PutFdb { port, mac } => {
                erase_field(port);
                erase_field(mac);
            }
            ActionKind::Call { dst, func } => {
                erase_field(dst);
                match func {
                    Func::Lookup { port, ip, mac, .. } => {
                        erase_field(port);
                        erase_field(ip);
                        if let Some(m) = mac {
                            erase_field(m);
                        }
                    }
                    Func::LookupFdb { port, mac } => {
                        erase_field(port);
                        erase_field(mac);
                    }
                    Func::GetFdb { mac } => erase_field(mac),
                    Func::PutOpts { opts, .. } => {
                        for o in opts {
                            o.name_span = Span::default();
                            match &mut o.value {
                                Operand::Value(v) => erase_value(v),
                                Operand::Set(vs, s) => {
                                    *s = Span::default();
                                    vs.iter_mut().for_each(erase_value);
                                }
                            }
                        }
                    }
                    Func::CheckPktLarger(_) | Func::Check(_) | Func::Select(_) => {}
                }
            }
            _ => {}
        }
    }
}
