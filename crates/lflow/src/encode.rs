//! Lowering checked actions to OpenFlow actions, the way ovn-controller
//! 23.03 installs them.
//!
//! [`encode`] turns a logical flow's [`Action`]s into [`OfAction`]s whose
//! [`Display`](fmt::Display) is the text `ovs-ofctl dump-flows` prints for
//! them (OpenFlow 1.0 with Nicira extensions, its default): whole-field
//! writes of Ethernet/IPv4/L4 ports use the legacy `mod_*` actions, other
//! writes `load:` in chunks of at most 64 bits, fields by their NXM names
//! (OXM where there is none). `tests/encode.rs` checks the forms against
//! hand-written expectations and the northd fixture; crate rovn's
//! `tests/encode_actions.rs` compares them with what a real ovn-controller
//! installs.
//!
//! The caller says where the flow is ([`Flow`]: pipeline, table, switch or
//! router), how logical tables map to OpenFlow tables ([`Layout`], OVN
//! 23.03's by default, see ovn-architecture(7)), and resolves port names
//! through a [`Lookup`]. `ct_lb(backends=...)` needs an OpenFlow select
//! group: [`Groups`] allocates ids, one per distinct group text, and keeps
//! the texts for the caller to install.
//!
//! Controller actions with nested actions (`arp { }`, `icmp4 { }`,
//! `icmp4_error { }`, `nd_ns { }`, `nd_na { }`, `reject { }`...) carry
//! their opcode and the nested actions as OpenFlow 1.5 binary in
//! `userdata` (see `mod of15`: field writes and copies, the register
//! stack, `resubmit`, `ct` with `nat` and `exec`, `ct_clear`, `dec_ttl`,
//! `clone`, `set_queue`, `group`, `check_pkt_larger` and nested
//! `controller2`; `icmp4.frag_mtu` is a paused `controller2` inside it).
//!
//! Option-carrying controller actions (`put_dhcp_opts` with string,
//! domain-list, static-route and host-id (`tftp_server`) options,
//! `put_dhcpv6_opts`, `put_nd_ra_opts` with RFC 4191 `route_info`,
//! `dns_lookup`, `log` with its meter, `put_fdb`) carry
//! their options in `userdata` in the layouts observed from ovn-controller
//! 23.03; [`Groups`] also allocates meter ids by meter name.
//!
//! ECMP routes: `R = select(...)` is a dp_hash select group (a bucket per
//! member writes its id into R and goes to the next table);
//! `chk_ecmp_nh()`/`chk_ecmp_nh_mac()` check flag bit 13 through tables
//! 77/76, which `commit_ecmp_nh()` fills with `learn` actions.
//!
//! Load-balancer affinity: `commit_lb_aff(...)` learns a flow into table
//! 78 that sets flag bit 14 and loads the backend; `chk_lb_aff()` checks
//! that bit through table 78. `trigger_event` carries its event type and
//! options in `userdata`.
//!
//! Control plane protection: [`encode_in`] takes the logical flow's
//! `controller_meter` ([`FlowContext`]); each controller action it sends packets with
//! (nested ones through the `controller2` meter property) then carries
//! `meter_id=N` for that Southbound meter, except `log`, which has its own.
//!
//! `set_meter(rate, burst)` is a `meter:N` instruction (first) on a kbps
//! meter with one drop band.
//!
//! The older `ct_commit(ct_mark=M, ct_label=L)` is `ct_commit { }` with
//! those (masked) writes. `bind_vport(V, P)` carries V's tunnel key (P copied
//! into inport); `fwd_group` is a dp_hash select group with a bucket per child port
//! (with liveness, each watching the tunnel to the port's chassis,
//! [`FlowContext::remote_ports`]), nothing when a child port is unknown
//! or, with liveness, bound to this chassis. The
//! FDB and MAC-binding actions on other fields and ports copy them, through
//! the register stack, into the registers their tables match (inport,
//! outport, reg0/xxreg0, eth.src, eth.dst) and restore those afterwards.
//!
//! `sample(...)` is OVS's `sample` action when the chassis has the
//! collector set ([`FlowContext::sample_collectors`]), its observation
//! domain carrying the datapath's key in the low 24 bits, and nothing
//! otherwise (as ovn-controller 23.03 does).
//!
//! Not encoded yet (a clear [`Error::Unsupported`]): `learn` inside nested
//! actions, and `commit_lb_aff` without ports (ovn-controller 23.03
//! installs no flow for it).

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::actions::ast::*;
use crate::actions::options::{self, OptType};
use crate::expr::{Bits, FieldRef, Operand, Value};
use crate::lexer::{Constant, Format};
use crate::lookup::Lookup;
use crate::symtab::Symtab;
use crate::{Error, Result};

/// An OpenFlow field as `ovs-ofctl` prints it in actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NxField {
    /// The symbol table's (ovs-fields(7)) name: `eth_src`, `reg10`.
    pub name: &'static str,
    /// The NXM name, or the OXM name for fields without one.
    pub nxm: &'static str,
    /// The field's full width in bits.
    pub width: u32,
}

const fn nx(name: &'static str, nxm: &'static str, width: u32) -> NxField {
    NxField { name, nxm, width }
}

/// ovs-fields(7): the fields OVN's symbols live in, with their NXM names.
const NX_FIELDS: &[NxField] = &[
    nx("in_port", "NXM_OF_IN_PORT", 16),
    nx("eth_src", "NXM_OF_ETH_SRC", 48),
    nx("eth_dst", "NXM_OF_ETH_DST", 48),
    nx("eth_type", "NXM_OF_ETH_TYPE", 16),
    nx("vlan_tci", "NXM_OF_VLAN_TCI", 16),
    nx("nw_proto", "NXM_OF_IP_PROTO", 8),
    nx("ip_dscp", "OXM_OF_IP_DSCP", 6),
    nx("nw_ecn", "NXM_NX_IP_ECN", 2),
    nx("nw_ttl", "NXM_NX_IP_TTL", 8),
    nx("ip_frag", "NXM_NX_IP_FRAG", 8),
    nx("ip_src", "NXM_OF_IP_SRC", 32),
    nx("ip_dst", "NXM_OF_IP_DST", 32),
    nx("icmp_type", "NXM_OF_ICMP_TYPE", 8),
    nx("icmp_code", "NXM_OF_ICMP_CODE", 8),
    nx("ipv6_src", "NXM_NX_IPV6_SRC", 128),
    nx("ipv6_dst", "NXM_NX_IPV6_DST", 128),
    nx("ipv6_label", "NXM_NX_IPV6_LABEL", 20),
    nx("icmpv6_type", "NXM_NX_ICMPV6_TYPE", 8),
    nx("icmpv6_code", "NXM_NX_ICMPV6_CODE", 8),
    nx("arp_op", "NXM_OF_ARP_OP", 16),
    nx("arp_spa", "NXM_OF_ARP_SPA", 32),
    nx("arp_tpa", "NXM_OF_ARP_TPA", 32),
    nx("arp_sha", "NXM_NX_ARP_SHA", 48),
    nx("arp_tha", "NXM_NX_ARP_THA", 48),
    nx("nd_target", "NXM_NX_ND_TARGET", 128),
    nx("nd_sll", "NXM_NX_ND_SLL", 48),
    nx("nd_tll", "NXM_NX_ND_TLL", 48),
    nx("tcp_src", "NXM_OF_TCP_SRC", 16),
    nx("tcp_dst", "NXM_OF_TCP_DST", 16),
    nx("tcp_flags", "NXM_NX_TCP_FLAGS", 16),
    nx("udp_src", "NXM_OF_UDP_SRC", 16),
    nx("udp_dst", "NXM_OF_UDP_DST", 16),
    nx("sctp_src", "OXM_OF_SCTP_SRC", 16),
    nx("sctp_dst", "OXM_OF_SCTP_DST", 16),
    nx("pkt_mark", "NXM_NX_PKT_MARK", 32),
    nx("ct_state", "NXM_NX_CT_STATE", 32),
    nx("ct_mark", "NXM_NX_CT_MARK", 32),
    nx("ct_label", "NXM_NX_CT_LABEL", 128),
    nx("reg0", "NXM_NX_REG0", 32),
    nx("reg1", "NXM_NX_REG1", 32),
    nx("reg2", "NXM_NX_REG2", 32),
    nx("reg3", "NXM_NX_REG3", 32),
    nx("reg4", "NXM_NX_REG4", 32),
    nx("reg5", "NXM_NX_REG5", 32),
    nx("reg6", "NXM_NX_REG6", 32),
    nx("reg7", "NXM_NX_REG7", 32),
    nx("reg8", "NXM_NX_REG8", 32),
    nx("reg9", "NXM_NX_REG9", 32),
    nx("reg10", "NXM_NX_REG10", 32),
    nx("reg11", "NXM_NX_REG11", 32),
    nx("reg12", "NXM_NX_REG12", 32),
    nx("reg13", "NXM_NX_REG13", 32),
    nx("reg14", "NXM_NX_REG14", 32),
    nx("reg15", "NXM_NX_REG15", 32),
    nx("xxreg0", "NXM_NX_XXREG0", 128),
    nx("xxreg1", "NXM_NX_XXREG1", 128),
    nx("xreg4", "OXM_OF_PKT_REG4", 64),
];

/// The field `name` (ovs-fields(7) name as the symbol table uses it).
pub fn nx_field(name: &str) -> Option<&'static NxField> {
    NX_FIELDS.iter().find(|f| f.name == name)
}

fn field(name: &str) -> &'static NxField {
    nx_field(name).unwrap_or_else(|| panic!("{name} is in the NXM table"))
}

/// Bits `lo..lo+width` of an OpenFlow field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Subfield {
    /// The field.
    pub field: &'static NxField,
    /// Least-significant bit.
    pub lo: u32,
    /// Number of bits.
    pub width: u32,
}

impl Subfield {
    /// The whole of `field`.
    pub fn whole(field: &'static NxField) -> Subfield {
        Subfield { field, lo: 0, width: field.width }
    }

    fn is_whole(&self) -> bool {
        self.lo == 0 && self.width == self.field.width
    }
}

/// `NXM_NX_REG0[]`, `NXM_NX_REG0[3]`, `NXM_NX_REG0[0..15]`.
impl fmt::Display for Subfield {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_whole() {
            write!(f, "{}[]", self.field.nxm)
        } else if self.width == 1 {
            write!(f, "{}[{}]", self.field.nxm, self.lo)
        } else {
            write!(f, "{}[{}..{}]", self.field.nxm, self.lo, self.lo + self.width - 1)
        }
    }
}

/// A `ct(...)` action.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ct {
    /// `commit`
    pub commit: bool,
    /// `table=N`: where the packet continues after conntrack.
    pub table: Option<u8>,
    /// The zone register bits.
    pub zone: Subfield,
    /// `nat`, `nat(src)`, `nat(dst=10.0.0.1:80)`: the text inside `ct(...)`.
    pub nat: Option<String>,
    /// `exec(...)`: writes to the connection's mark and label.
    pub exec: Vec<OfAction>,
}

/// One OpenFlow action, printed as `ovs-ofctl dump-flows` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OfAction {
    /// `resubmit(,T)`
    Resubmit(u8),
    /// `load:0x5->NXM_NX_REG15[]` (at most 64 bits).
    Load { dst: Subfield, value: u128 },
    /// A legacy whole-field write: `mod_dl_src:00:00:00:00:00:01`,
    /// `mod_nw_dst:10.0.0.1`, `mod_tp_dst:80`. `name` is `mod_dl_src`...
    Mod { name: &'static str, value: String },
    /// `set_field:0x2/0x2->ct_mark`, the OpenFlow 1.5 form used in group
    /// buckets (`ovs-ofctl -O OpenFlow15 dump-groups`).
    SetField { field: &'static NxField, value: u128, mask: u128 },
    /// `move:SRC->DST`
    Move { src: Subfield, dst: Subfield },
    /// `push:F`
    Push(Subfield),
    /// `pop:F`
    Pop(Subfield),
    /// `dec_ttl()`
    DecTtl,
    /// `ct(...)`
    Ct(Ct),
    /// `ct_clear`
    CtClear,
    /// `group:N`
    Group(u32),
    /// `clone(...)`
    Clone(Vec<OfAction>),
    /// `controller(userdata=00.00.00.01.00.00.00.00[,pause])`: the opcode
    /// (big-endian 32 bits), 4 bytes of padding, then the payload.
    /// `meter_id=N` follows when the controller action is metered.
    Controller { opcode: u32, payload: Vec<u8>, pause: bool, meter: Option<u32> },
    /// `check_pkt_larger(L)->DST`
    CheckPktLarger { len: u64, dst: Subfield },
    /// `set_queue:N`
    SetQueue(u16),
    /// `meter:N`: the OpenFlow 1.3+ meter instruction (first in the
    /// list; OpenFlow 1.0 dumps cannot show it).
    Meter(u32),
    /// `sample(probability=P,collector_set_id=C,obs_domain_id=D,obs_point_id=O)`
    Sample { probability: u16, collector_set: u32, obs_domain: u32, obs_point: u32 },
    /// `learn(table=T,idle_timeout=I,hard_timeout=H,delete_learned,SPECS)`:
    /// the specs (`NXM_OF_IP_SRC[]`, `nw_proto=6`, `load:0x1->...`) as
    /// `ovs-ofctl` prints them; a zero timeout is left out.
    Learn { table: u8, idle_timeout: u16, hard_timeout: u16, specs: Vec<String> },
}

fn hex(f: &mut fmt::Formatter<'_>, v: u128) -> fmt::Result {
    if v == 0 {
        f.write_str("0")
    } else {
        write!(f, "{v:#x}")
    }
}

impl fmt::Display for OfAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OfAction::Resubmit(t) => write!(f, "resubmit(,{t})"),
            OfAction::Load { dst, value } => {
                f.write_str("load:")?;
                hex(f, *value)?;
                write!(f, "->{dst}")
            }
            OfAction::Mod { name, value } => write!(f, "{name}:{value}"),
            OfAction::SetField { field, value, mask } => {
                f.write_str("set_field:")?;
                hex(f, *value)?;
                f.write_str("/")?;
                hex(f, *mask)?;
                write!(f, "->{}", field.name)
            }
            OfAction::Move { src, dst } => write!(f, "move:{src}->{dst}"),
            OfAction::Push(s) => write!(f, "push:{s}"),
            OfAction::Pop(s) => write!(f, "pop:{s}"),
            OfAction::DecTtl => f.write_str("dec_ttl()"),
            OfAction::Ct(ct) => {
                f.write_str("ct(")?;
                if ct.commit {
                    f.write_str("commit,")?;
                }
                if let Some(t) = ct.table {
                    write!(f, "table={t},")?;
                }
                write!(f, "zone={}", ct.zone)?;
                if let Some(nat) = &ct.nat {
                    write!(f, ",{nat}")?;
                }
                if !ct.exec.is_empty() {
                    write!(f, ",exec({})", OfActions(ct.exec.clone()))?;
                }
                f.write_str(")")
            }
            OfAction::CtClear => f.write_str("ct_clear"),
            OfAction::Group(g) => write!(f, "group:{g}"),
            OfAction::Clone(body) => write!(f, "clone({})", OfActions(body.clone())),
            OfAction::Controller { opcode, payload, pause, meter } => {
                f.write_str("controller(userdata=")?;
                let mut bytes = opcode.to_be_bytes().to_vec();
                bytes.extend([0; 4]);
                bytes.extend(payload);
                let text: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
                f.write_str(&text.join("."))?;
                if *pause {
                    f.write_str(",pause")?;
                }
                if let Some(m) = meter {
                    write!(f, ",meter_id={m}")?;
                }
                f.write_str(")")
            }
            OfAction::CheckPktLarger { len, dst } => write!(f, "check_pkt_larger({len})->{dst}"),
            OfAction::SetQueue(q) => write!(f, "set_queue:{q}"),
            OfAction::Meter(m) => write!(f, "meter:{m}"),
            OfAction::Sample { probability, collector_set, obs_domain, obs_point } => write!(
                f,
                "sample(probability={probability},collector_set_id={collector_set},obs_domain_id={obs_domain},obs_point_id={obs_point})"
            ),
            OfAction::Learn { table, idle_timeout, hard_timeout, specs } => {
                write!(f, "learn(table={table},")?;
                if *idle_timeout != 0 {
                    write!(f, "idle_timeout={idle_timeout},")?;
                }
                if *hard_timeout != 0 {
                    write!(f, "hard_timeout={hard_timeout},")?;
                }
                write!(f, "delete_learned,{})", specs.join(","))
            }
        }
    }
}

/// A list of actions; `drop` when empty, as `ovs-ofctl` prints it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct OfActions(pub Vec<OfAction>);

impl fmt::Display for OfActions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("drop");
        }
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

/// Where logical tables and OVN's helper tables are in OpenFlow
/// (ovn-architecture(7); the numbers ovn-controller 23.03 uses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Logical ingress table 0.
    pub ingress: u8,
    /// Logical egress table 0.
    pub egress: u8,
    /// Where `output` goes from the ingress pipeline.
    pub remote_output: u8,
    /// Where `output` goes from the egress pipeline.
    pub save_inport: u8,
    /// `get_arp`/`get_nd`: the MAC binding table.
    pub mac_binding: u8,
    /// `lookup_arp`/`lookup_nd`.
    pub mac_lookup: u8,
    /// `chk_lb_hairpin()`
    pub chk_lb_hairpin: u8,
    /// `chk_lb_hairpin_reply()`
    pub chk_lb_hairpin_reply: u8,
    /// `ct_snat_to_vip`
    pub ct_snat_hairpin: u8,
    /// `get_fdb`: the FDB table by MAC.
    pub get_fdb: u8,
    /// `lookup_fdb`: the FDB table by port and MAC.
    pub lookup_fdb: u8,
    /// `check_in_port_sec()`
    pub chk_in_port_sec: u8,
    /// `check_out_port_sec()`
    pub chk_out_port_sec: u8,
    /// `chk_ecmp_nh_mac()`: the learned ECMP next-hop MACs.
    pub ecmp_nh_mac: u8,
    /// `chk_ecmp_nh()`: the learned ECMP next hops.
    pub ecmp_nh: u8,
    /// `chk_lb_aff()`: the load-balancer affinities `commit_lb_aff`
    /// learned.
    pub lb_aff: u8,
}

impl Default for Layout {
    fn default() -> Layout {
        Layout {
            ingress: 8,
            egress: 42,
            remote_output: 37,
            save_inport: 64,
            mac_binding: 66,
            mac_lookup: 67,
            chk_lb_hairpin: 68,
            chk_lb_hairpin_reply: 69,
            ct_snat_hairpin: 70,
            get_fdb: 71,
            lookup_fdb: 72,
            chk_in_port_sec: 73,
            chk_out_port_sec: 75,
            ecmp_nh_mac: 76,
            ecmp_nh: 77,
            lb_aff: 78,
        }
    }
}

/// Where the logical flow being encoded is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flow {
    /// Its pipeline.
    pub pipeline: Pipeline,
    /// Its logical table.
    pub table: u32,
    /// Whether its datapath is a logical switch (else a router): the
    /// conntrack zones differ.
    pub is_switch: bool,
}

/// OpenFlow select groups by their text, with ids from 1 in order of first
/// use (ovn-controller allocates them the same way, but its ids also depend
/// on what it installed before).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Groups {
    ids: BTreeMap<String, u32>,
    next: u32,
    meters: BTreeMap<String, u32>,
}

impl Groups {
    /// The id of the group with `text`, allocated on first use.
    pub fn id(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        self.next += 1;
        self.ids.insert(text.to_string(), self.next);
        self.next
    }

    /// The group texts by id.
    pub fn texts(&self) -> BTreeMap<u32, &str> {
        self.ids.iter().map(|(t, &id)| (id, t.as_str())).collect()
    }

    /// The OpenFlow meter id of the Southbound meter `name`, allocated
    /// from 1 on first use (a separate id space from groups).
    pub fn meter(&mut self, name: &str) -> u32 {
        let next = self.meters.len() as u32 + 1;
        *self.meters.entry(name.to_string()).or_insert(next)
    }

    /// The OpenFlow meter id of `set_meter(rate, burst)`'s meter (kbps,
    /// one drop band), allocated like [`Groups::meter`]; its key among
    /// [`Groups::meters`] is its configuration as `ovs-ofctl dump-meters`
    /// prints it: `kbps burst bands=type=drop rate=R burst_size=B`.
    pub fn rate_meter(&mut self, rate: u64, burst: Option<u64>) -> u32 {
        let text = match burst {
            Some(b) => format!("kbps burst bands=type=drop rate={rate} burst_size={b}"),
            None => format!("kbps bands=type=drop rate={rate}"),
        };
        self.meter(&text)
    }

    /// The meter names (or, for `set_meter`, configurations) by id.
    pub fn meters(&self) -> BTreeMap<u32, &str> {
        self.meters.iter().map(|(n, &id)| (id, n.as_str())).collect()
    }
}

/// Controller opcodes (the first 4 bytes of `userdata`), ovn-controller
/// 23.03's numbering.
pub mod opcode {
    pub const ARP: u32 = 0;
    pub const PUT_ARP: u32 = 1;
    pub const PUT_DHCP_OPTS: u32 = 2;
    pub const ND_NA: u32 = 3;
    pub const PUT_ND: u32 = 4;
    pub const PUT_DHCPV6_OPTS: u32 = 5;
    pub const DNS_LOOKUP: u32 = 6;
    pub const LOG: u32 = 7;
    pub const PUT_ND_RA_OPTS: u32 = 8;
    pub const ND_NS: u32 = 9;
    pub const ICMP: u32 = 10;
    pub const TCP_RESET: u32 = 11;
    pub const ND_NA_ROUTER: u32 = 12;
    pub const PUT_ICMP4_FRAG_MTU: u32 = 13;
    pub const ICMP4_ERROR: u32 = 14;
    pub const EVENT: u32 = 15;
    pub const IGMP: u32 = 16;
    pub const BIND_VPORT: u32 = 17;
    pub const HANDLE_SVC_CHECK: u32 = 18;
    pub const HANDLE_DHCPV6_REPLY: u32 = 19;
    pub const ICMP6_ERROR: u32 = 20;
    pub const PUT_ICMP6_FRAG_MTU: u32 = 21;
    pub const REJECT: u32 = 22;
    pub const SCTP_ABORT: u32 = 24;
    /// Observed from ovn-controller 23.03 (`put_fdb` in the lab).
    pub const PUT_FDB: u32 = 25;
}

fn nested_opcode(k: NestedKind) -> u32 {
    match k {
        NestedKind::Clone => unreachable!("clone is not a controller action"),
        NestedKind::Arp => opcode::ARP,
        NestedKind::NdNa => opcode::ND_NA,
        NestedKind::NdNaRouter => opcode::ND_NA_ROUTER,
        NestedKind::NdNs => opcode::ND_NS,
        NestedKind::Icmp4 | NestedKind::Icmp6 => opcode::ICMP,
        NestedKind::Icmp4Error => opcode::ICMP4_ERROR,
        NestedKind::Icmp6Error => opcode::ICMP6_ERROR,
        NestedKind::TcpReset => opcode::TCP_RESET,
        NestedKind::SctpAbort => opcode::SCTP_ABORT,
        NestedKind::Reject => opcode::REJECT,
    }
}

/// Everything [`encode`] needs besides the actions.
pub struct Encoder<'a> {
    /// The symbol table the actions were checked against.
    pub symtab: &'a Symtab,
    /// The OpenFlow table layout.
    pub layout: Layout,
    /// Port names to tunnel keys (`outport = "p"` loads the key; an
    /// unknown name loads 0, as upstream does).
    pub lookup: &'a dyn Lookup,
    /// Select groups made for `ct_lb(backends=...)`.
    pub groups: &'a mut Groups,
}

/// Encodes `actions` (already checked) of a logical flow at `flow`.
pub fn encode(enc: &mut Encoder<'_>, flow: Flow, actions: &[Action]) -> Result<OfActions> {
    encode_in(enc, flow, &FlowContext::default(), actions)
}

/// What else about a logical flow and the chassis it is encoded for
/// shapes its OpenFlow actions.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlowContext<'a> {
    /// The flow's `controller_meter` (control plane protection, the
    /// Northbound Copp table): every controller action it sends packets
    /// with, nested ones included, is metered by that Southbound meter,
    /// except `log`, which has its own.
    pub controller_meter: Option<&'a str>,
    /// The tunnel key of the datapath the flow is encoded for: `sample`'s
    /// observation domain carries it in its low 24 bits.
    pub datapath_key: u32,
    /// The ids of the chassis' OVS Flow_Sample_Collector_Set rows on the
    /// integration bridge: `sample` to another collector set is nothing
    /// (ovn-controller 23.03 leaves it out).
    pub sample_collectors: &'a [u32],
    /// Logical ports bound to other chassis, with the OpenFlow port of the
    /// tunnel to their chassis: `fwd_group(liveness=true)` watches them.
    pub remote_ports: &'a [(&'a str, u32)],
}

/// [`encode`] with the flow's [`FlowContext`].
pub fn encode_in(enc: &mut Encoder<'_>, flow: Flow, ctx: &FlowContext<'_>, actions: &[Action]) -> Result<OfActions> {
    let mut out = Vec::new();
    let copp = ctx.controller_meter.filter(|m| !m.is_empty());
    let mut e = Enc { enc, flow, of15: false, copp, copp_id: None, ctx: *ctx };
    for a in actions {
        match &a.kind {
            // An instruction: it goes before every action.
            ActionKind::SetMeter { rate, burst } => {
                out.insert(0, OfAction::Meter(e.enc.groups.rate_meter(*rate, *burst)))
            }
            _ => e.action(a, &mut out)?,
        }
    }
    Ok(OfActions(out))
}

fn unsupported(what: impl fmt::Display) -> Error {
    Error::Unsupported { message: what.to_string() }
}

struct Enc<'e, 'a> {
    enc: &'e mut Encoder<'a>,
    flow: Flow,
    /// Inside a controller action's nested actions: writes become
    /// OpenFlow 1.5 `set_field`s (the payload is OpenFlow 1.5 binary).
    of15: bool,
    /// The flow's controller meter (COPP) by name, then by id once
    /// allocated.
    copp: Option<&'e str>,
    copp_id: Option<u32>,
    ctx: FlowContext<'e>,
}

fn reg(n: u32) -> Subfield {
    Subfield::whole(NX_FIELDS.iter().find(|f| f.nxm == format!("NXM_NX_REG{n}")).expect("register"))
}

fn bit(f: &'static NxField, b: u32) -> Subfield {
    Subfield { field: f, lo: b, width: 1 }
}

/// The 16 zone bits of register `n`.
fn zone(n: u32) -> Subfield {
    Subfield { width: 16, ..reg(n) }
}

/// `load`s of `value` into `dst`, one per contiguous run of `mask` bits
/// (relative to `dst`) and at most 64 bits each, lowest first.
fn loads(dst: Subfield, value: u128, mask: u128, out: &mut Vec<OfAction>) {
    let mut i = 0;
    while i < dst.width {
        if mask >> i & 1 == 0 {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < dst.width && j - i < 64 && mask >> j & 1 == 1 {
            j += 1;
        }
        let n = j - i;
        let m = if n >= 128 { u128::MAX } else { (1u128 << n) - 1 };
        out.push(OfAction::Load {
            dst: Subfield { field: dst.field, lo: dst.lo + i, width: n },
            value: (value >> i) & m,
        });
        i = j;
    }
}

fn mac_text(v: u128) -> String {
    let b = (v as u64).to_be_bytes();
    b[2..].iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":")
}

/// The legacy OpenFlow 1.0 action for a whole-field write, if any.
fn legacy(f: &NxField, v: u128) -> Option<OfAction> {
    let (name, value) = match f.name {
        "eth_src" => ("mod_dl_src", mac_text(v)),
        "eth_dst" => ("mod_dl_dst", mac_text(v)),
        "ip_src" => ("mod_nw_src", Ipv4Addr::from(v as u32).to_string()),
        "ip_dst" => ("mod_nw_dst", Ipv4Addr::from(v as u32).to_string()),
        "tcp_src" | "udp_src" => ("mod_tp_src", v.to_string()),
        "tcp_dst" | "udp_dst" => ("mod_tp_dst", v.to_string()),
        _ => return None,
    };
    Some(OfAction::Mod { name, value })
}

impl Enc<'_, '_> {
    /// A controller action with the opcode and payload, metered by the
    /// flow's controller meter if it has one.
    fn controller(&mut self, opcode: u32, payload: Vec<u8>, pause: bool) -> OfAction {
        if let (Some(name), None) = (self.copp, self.copp_id) {
            self.copp_id = Some(self.enc.groups.meter(name));
        }
        OfAction::Controller { opcode, payload, pause, meter: self.copp_id }
    }

    fn list(&mut self, actions: &[Action], out: &mut Vec<OfAction>) -> Result<()> {
        actions.iter().try_for_each(|a| self.action(a, out))
    }

    fn base(&self, p: Pipeline) -> u32 {
        match p {
            Pipeline::Ingress => self.enc.layout.ingress as u32,
            Pipeline::Egress => self.enc.layout.egress as u32,
        }
    }

    fn table(&self, p: Pipeline, t: u32) -> Result<u8> {
        u8::try_from(self.base(p) + t)
            .map_err(|_| unsupported(format_args!("logical table {t} is past OpenFlow table 255")))
    }

    /// The OpenFlow table after this flow's.
    fn next_table(&self) -> Result<u8> {
        self.table(self.flow.pipeline, self.flow.table + 1)
    }

    fn resolve(&self, f: &FieldRef) -> Result<Subfield> {
        let slice = self
            .enc
            .symtab
            .slice(&f.name)
            .ok_or_else(|| unsupported(format_args!("field {} has no OpenFlow field", f.name)))?;
        let field = nx_field(slice.of.name)
            .ok_or_else(|| unsupported(format_args!("OpenFlow field {} of {}", slice.of.name, f.name)))?;
        let width = if slice.root.is_string() { 32 } else { slice.width };
        let (lo, width) = match f.bits {
            Bits::All => (slice.lo, width),
            Bits::Bit(b) => (slice.lo + b, 1),
            Bits::Range(lo, hi) => (slice.lo + lo, hi - lo + 1),
        };
        Ok(Subfield { field, lo, width })
    }

    /// The conntrack zone register: switches have one zone per port
    /// (reg13); routers a DNAT zone (reg11) and an SNAT zone (reg12).
    fn zone(&self, snat: bool) -> Subfield {
        if self.flow.is_switch {
            zone(13)
        } else if snat {
            zone(12)
        } else {
            zone(11)
        }
    }

    fn action(&mut self, a: &Action, out: &mut Vec<OfAction>) -> Result<()> {
        let layout = self.enc.layout;
        match &a.kind {
            ActionKind::Drop => {}
            ActionKind::Output => out.push(OfAction::Resubmit(match self.flow.pipeline {
                Pipeline::Ingress => layout.remote_output,
                Pipeline::Egress => layout.save_inport,
            })),
            ActionKind::Next { pipeline, table } => {
                let p = pipeline.unwrap_or(self.flow.pipeline);
                let t = table.unwrap_or(self.flow.table + 1);
                out.push(OfAction::Resubmit(self.table(p, t)?));
            }
            ActionKind::Load { dst, value } => self.load(dst, value, out)?,
            ActionKind::Move { dst, src } => {
                let (src, dst) = (self.resolve(src)?, self.resolve(dst)?);
                out.push(OfAction::Move { src, dst });
            }
            ActionKind::Exchange { a, b } => {
                let (a, b) = (self.resolve(a)?, self.resolve(b)?);
                out.extend([OfAction::Push(b), OfAction::Push(a), OfAction::Pop(b), OfAction::Pop(a)]);
            }
            ActionKind::Push(f) => out.push(OfAction::Push(self.resolve(f)?)),
            ActionKind::Pop(f) => out.push(OfAction::Pop(self.resolve(f)?)),
            ActionKind::DecTtl => out.push(OfAction::DecTtl),
            ActionKind::CtNext => {
                // A router's ingress tracks in the DNAT zone, its egress
                // in the SNAT zone.
                let snat = self.flow.pipeline == Pipeline::Egress;
                out.push(OfAction::Ct(Ct {
                    commit: false,
                    table: Some(self.next_table()?),
                    zone: self.zone(snat),
                    nat: None,
                    exec: Vec::new(),
                }))
            }
            ActionKind::CtCommit(body) => {
                let mut exec = Vec::new();
                self.list(body, &mut exec)?;
                // Routers commit in their DNAT zone.
                out.push(OfAction::Ct(Ct {
                    commit: true,
                    table: None,
                    zone: self.zone(false),
                    nat: Some("nat(src)".into()),
                    exec,
                }));
            }
            ActionKind::CtCommitV1 { mark, label } => {
                // The same as `ct_commit { ct_mark = M; ct_label = L; }`
                // with the masks given.
                let mut exec = Vec::new();
                for (name, c) in [("ct_mark", mark), ("ct_label", label)] {
                    if let Some(c) = c {
                        self.write(Subfield::whole(field(name)), c.value, c.mask_bits(), &mut exec);
                    }
                }
                out.push(OfAction::Ct(Ct {
                    commit: true,
                    table: None,
                    zone: self.zone(false),
                    nat: Some("nat(src)".into()),
                    exec,
                }));
            }
            ActionKind::CtCommitNat => out.push(OfAction::Ct(Ct {
                commit: true,
                table: Some(self.next_table()?),
                zone: self.zone(false),
                nat: Some("nat".into()),
                exec: Vec::new(),
            })),
            ActionKind::Nat { kind, target } => {
                // NAT always uses the datapath's DNAT (reg11) or SNAT
                // (reg12) zone, on switches too; the `_in_czone` forms
                // share the DNAT zone.
                let zone = zone(if matches!(kind, NatKind::Snat) { 12 } else { 11 });
                let dir = if matches!(kind, NatKind::Dnat | NatKind::DnatInCzone) { "dst" } else { "src" };
                let nat = match target {
                    None => "nat".to_string(),
                    Some(t) => format!("nat({dir}={})", nat_target(&t.ip, t.ports)?),
                };
                out.push(OfAction::Ct(Ct {
                    commit: target.is_some(),
                    table: Some(self.next_table()?),
                    zone,
                    nat: Some(nat),
                    exec: Vec::new(),
                }));
            }
            ActionKind::CtLb { mark, args } => self.ct_lb(*mark, args.as_ref(), out)?,
            ActionKind::CtClear => out.push(OfAction::CtClear),
            ActionKind::CtSnatToVip => out.push(OfAction::Resubmit(layout.ct_snat_hairpin)),
            ActionKind::Nested { kind: NestedKind::Clone, body } => {
                let mut inner = Vec::new();
                self.list(body, &mut inner)?;
                out.push(OfAction::Clone(inner));
            }
            ActionKind::Nested { kind, body } => {
                // The packet goes to ovn-controller with the nested actions
                // in the userdata, as OpenFlow 1.5 binary after the opcode.
                let mut inner = Vec::new();
                let saved = std::mem::replace(&mut self.of15, true);
                let r = self.list(body, &mut inner);
                self.of15 = saved;
                r?;
                let payload = of15::encode(&inner).map_err(|what| {
                    unsupported(format_args!(
                        "{} {{ }} (controller opcode {}): {what} inside it is not encoded yet",
                        kind.as_str(),
                        nested_opcode(*kind)
                    ))
                })?;
                out.push(self.controller(nested_opcode(*kind), payload, false));
            }
            ActionKind::Igmp => out.push(self.controller(opcode::IGMP, Vec::new(), false)),
            ActionKind::MacBinding { op, port, ip, mac } => self.mac_binding(*op, port, ip, mac.as_ref(), out)?,
            ActionKind::Call { dst, func } => self.call(dst, func, out)?,
            ActionKind::HandleSvcCheck(port) => {
                // The controller reads the port from inport.
                let pairs = [(Subfield::whole(field("reg14")), self.resolve(port)?)];
                let call = self.controller(opcode::HANDLE_SVC_CHECK, Vec::new(), false);
                self.through_regs(&pairs, vec![call], out);
            }
            ActionKind::HandleDhcpv6Reply => out.push(self.controller(opcode::HANDLE_DHCPV6_REPLY, Vec::new(), false)),
            ActionKind::SetQueue(q) => out.push(OfAction::SetQueue(*q)),
            ActionKind::Log(log) => {
                // Verdict, syslog severity, then the name's bytes.
                let verdict = match log.verdict {
                    Verdict::Allow => 0,
                    Verdict::Drop => 1,
                    Verdict::Reject => 2,
                };
                let severity = match log.severity {
                    Severity::Alert => 1,
                    Severity::Warning => 4,
                    Severity::Notice => 5,
                    Severity::Info => 6,
                    Severity::Debug => 7,
                };
                let mut payload = vec![verdict, severity];
                payload.extend(log.name.as_deref().unwrap_or("").bytes());
                let meter = log.meter.as_deref().filter(|m| !m.is_empty()).map(|m| self.enc.groups.meter(m));
                out.push(OfAction::Controller { opcode: opcode::LOG, payload, pause: false, meter });
            }
            ActionKind::TriggerEvent { event, options } => {
                out.push(self.controller(opcode::EVENT, trigger_event(event, options)?, false))
            }
            ActionKind::BindVport { vport, parent } => {
                // The virtual port's tunnel key; the controller reads the
                // parent from inport.
                let key = self
                    .enc
                    .lookup
                    .port_key(vport)
                    .ok_or_else(|| unsupported(format_args!("bind_vport(): unknown port \"{vport}\"")))?;
                let pairs = [(Subfield::whole(field("reg14")), self.resolve(parent)?)];
                let call = self.controller(opcode::BIND_VPORT, key.to_be_bytes().to_vec(), false);
                self.through_regs(&pairs, vec![call], out);
            }
            ActionKind::PutFdb { port, mac } => {
                // The controller reads the port from inport and the MAC
                // from eth.src.
                let pairs = [
                    (Subfield::whole(field("reg14")), self.resolve(port)?),
                    (Subfield::whole(field("eth_src")), self.resolve(mac)?),
                ];
                let call = self.controller(opcode::PUT_FDB, Vec::new(), false);
                self.through_regs(&pairs, vec![call], out);
            }
            ActionKind::CommitEcmpNh { ipv6, proto } => self.commit_ecmp_nh(*ipv6, *proto, out),
            ActionKind::CommitLbAff { vip, backend, proto, timeout } => {
                self.commit_lb_aff(vip, backend, *proto, *timeout, out)?
            }
            ActionKind::SetMeter { .. } => return Err(unsupported("set_meter() inside nested actions")),
            ActionKind::FwdGroup { liveness, ports } => {
                // A dp_hash select group with a bucket per child port that
                // writes the port's key into outport's low 16 bits and
                // outputs. With liveness, each bucket watches the tunnel to
                // the port's chassis, and a child port bound here (no
                // tunnel) makes it nothing, as upstream has it; so does an
                // unknown child port.
                let mut buckets = Vec::new();
                for p in ports {
                    let Some(key) = self.enc.lookup.port_key(p) else {
                        return Ok(());
                    };
                    let watch = match liveness {
                        false => None,
                        true => match self.ctx.remote_ports.iter().find(|(name, _)| name == p) {
                            Some(&(_, ofport)) => Some(ofport),
                            None => return Ok(()),
                        },
                    };
                    buckets.push((key, watch));
                }
                let mut text = "type=select,selection_method=dp_hash".to_string();
                for (i, (key, watch)) in buckets.into_iter().enumerate() {
                    let set = OfAction::SetField { field: field("reg15"), value: u128::from(key), mask: 0xffff };
                    text += &format!(",bucket=bucket_id:{i}");
                    if let Some(w) = watch {
                        text += &format!(",watch_port:{w}");
                    }
                    text += &format!(",actions={set},{}", OfAction::Resubmit(layout.remote_output));
                }
                out.push(OfAction::Group(self.enc.groups.id(&text)));
            }
            ActionKind::Sample(sample) => {
                // Only to a collector set the chassis has; the observation
                // domain's low 24 bits are the datapath's key.
                if self.ctx.sample_collectors.contains(&sample.collector_set) {
                    out.push(OfAction::Sample {
                        probability: sample.probability,
                        collector_set: sample.collector_set,
                        obs_domain: u32::from(sample.obs_domain) << 24 | (self.ctx.datapath_key & 0xff_ffff),
                        obs_point: sample.obs_point,
                    });
                }
            }
        }
        Ok(())
    }

    fn load(&mut self, dst: &FieldRef, value: &Value, out: &mut Vec<OfAction>) -> Result<()> {
        if let Some((opc, bytes)) = match dst.name.as_str() {
            "icmp4.frag_mtu" => Some((opcode::PUT_ICMP4_FRAG_MTU, 2)),
            "icmp6.frag_mtu" => Some((opcode::PUT_ICMP6_FRAG_MTU, 4)),
            _ => None,
        } {
            // ovn-controller writes the MTU into the ICMP message itself,
            // asked through a paused controller action.
            let (Value::Const(c, _), Bits::All) = (value, &dst.bits) else {
                return Err(unsupported(format_args!("{} from {value:?}", dst.name)));
            };
            let payload = c.value.to_be_bytes()[16 - bytes..].to_vec();
            out.push(self.controller(opc, payload, true));
            return Ok(());
        }
        let d = self.resolve(dst)?;
        let (v, mask) = match value {
            Value::Const(c, _) => (c.value, c.mask_bits()),
            Value::Str(name, _) => (u128::from(self.enc.lookup.port_key(name).unwrap_or(0)), u128::MAX),
            other => {
                return Err(unsupported(format_args!(
                    "assigning {:?} (address sets, port groups and templates are resolved before encoding)",
                    other
                )))
            }
        };
        self.write(d, v, mask, out);
        Ok(())
    }

    /// Writes the `mask` bits of `v` into `d`: a `set_field` inside nested
    /// controller actions, else a legacy `mod_*` for a whole field that
    /// has one, else `load`s.
    fn write(&self, d: Subfield, v: u128, mask: u128, out: &mut Vec<OfAction>) {
        let wmask = if d.width >= 128 { u128::MAX } else { (1u128 << d.width) - 1 };
        let mask = mask & wmask;
        if self.of15 {
            out.push(OfAction::SetField { field: d.field, value: (v & mask) << d.lo, mask: mask << d.lo });
            return;
        }
        if d.is_whole() && mask == wmask {
            if let Some(m) = legacy(d.field, v) {
                out.push(m);
                return;
            }
        }
        loads(d, v & mask, mask, out);
    }

    fn ct_lb(&mut self, mark: bool, args: Option<&LbArgs>, out: &mut Vec<OfAction>) -> Result<()> {
        let table = self.next_table()?;
        let zone = self.zone(false);
        let Some(args) = args else {
            out.push(OfAction::Ct(Ct {
                commit: false,
                table: Some(table),
                zone,
                nat: Some("nat".into()),
                exec: Vec::new(),
            }));
            return Ok(());
        };
        if args.backends.is_empty() {
            return Err(unsupported("ct_lb without backends"));
        }
        let store = field(if mark { "ct_mark" } else { "ct_label" });
        // ct_mark.natted / ct_label.natted, then skip_snat or force_snat,
        // each its own masked write.
        let mut bits = vec![0x2u128];
        match args.flag {
            Some(CtFlag::SkipSnat) => bits.push(0x4),
            Some(CtFlag::ForceSnat) => bits.push(0x8),
            None => {}
        }
        let method = match &args.hash_fields {
            Some(fields) => format!("selection_method=hash,fields({})", hash_fields(fields)?),
            None => "selection_method=dp_hash".to_string(),
        };
        let mut text = format!("type=select,{method}");
        for (i, b) in args.backends.iter().enumerate() {
            let ct = OfAction::Ct(Ct {
                commit: true,
                table: Some(table),
                zone,
                nat: Some(format!("nat(dst={})", nat_target(&b.ip, b.port.map(|p| (p, None)))?)),
                exec: bits.iter().map(|&b| OfAction::SetField { field: store, value: b, mask: b }).collect(),
            });
            text += &format!(",bucket=bucket_id:{i},weight:100,actions={ct}");
        }
        out.push(OfAction::Group(self.enc.groups.id(&text)));
        Ok(())
    }

    /// `R = select(...)`: an OpenFlow select group (dp_hash) whose bucket
    /// per member writes the member's id into R and goes on to the next
    /// table; its weight is the member's.
    fn select(&mut self, d: Subfield, members: &[SelectMember], out: &mut Vec<OfAction>) -> Result<()> {
        let next = self.next_table()?;
        let m = if d.width >= 128 { u128::MAX } else { (1u128 << d.width) - 1 };
        let mut text = "type=select,selection_method=dp_hash,selection_method_param=4294967296".to_string();
        for (i, member) in members.iter().enumerate() {
            let set = OfAction::SetField { field: d.field, value: u128::from(member.id) << d.lo, mask: m << d.lo };
            text +=
                &format!(",bucket=bucket_id:{i},weight:{},actions={set},{}", member.weight, OfAction::Resubmit(next));
        }
        out.push(OfAction::Group(self.enc.groups.id(&text)));
        Ok(())
    }

    /// `commit_ecmp_nh(ipv6, proto)`: learns, for this connection, a flow
    /// in the next-hop MAC table (metadata, eth.src and the 5-tuple) and
    /// one in the next-hop table (the reverse 5-tuple); both set
    /// MLF_LOOKUP_COMMIT_ECMP_NH.
    fn commit_ecmp_nh(&mut self, ipv6: bool, proto: Proto, out: &mut Vec<OfAction>) {
        let layout = self.enc.layout;
        let (eth_type, src, dst) = if ipv6 {
            ("eth_type=0x86dd", "NXM_NX_IPV6_SRC[]", "NXM_NX_IPV6_DST[]")
        } else {
            ("eth_type=0x800", "NXM_OF_IP_SRC[]", "NXM_OF_IP_DST[]")
        };
        let (nw_proto, tp_src, tp_dst) = match proto {
            Proto::Tcp => (6, "NXM_OF_TCP_SRC[]", "NXM_OF_TCP_DST[]"),
            Proto::Udp => (17, "NXM_OF_UDP_SRC[]", "NXM_OF_UDP_DST[]"),
            Proto::Sctp => (132, "OXM_OF_SCTP_SRC[]", "OXM_OF_SCTP_DST[]"),
        };
        let set = "load:0x1->NXM_NX_REG10[13]".to_string();
        let nw_proto = format!("nw_proto={nw_proto}");
        let learn = |table, specs: Vec<String>| OfAction::Learn { table, idle_timeout: 20, hard_timeout: 30, specs };
        out.push(learn(
            layout.ecmp_nh_mac,
            vec![
                "OXM_OF_METADATA[]".into(),
                "NXM_OF_ETH_SRC[]".into(),
                eth_type.into(),
                src.into(),
                dst.into(),
                nw_proto.clone(),
                tp_src.into(),
                tp_dst.into(),
                set.clone(),
            ],
        ));
        out.push(learn(
            layout.ecmp_nh,
            vec![
                "OXM_OF_METADATA[]".into(),
                eth_type.into(),
                format!("{src}={dst}"),
                format!("{dst}={src}"),
                nw_proto,
                format!("{tp_src}={tp_dst}"),
                format!("{tp_dst}={tp_src}"),
                set,
            ],
        ));
    }

    /// `commit_lb_aff(vip, backend, proto, timeout)`: learns, in the
    /// affinity table, a flow for this client (metadata, source address)
    /// and the VIP that sets MLF_USE_LB_AFF_SESSION (flag bit 14) and
    /// loads the backend's address and port into reg4 (xxreg0 for IPv6)
    /// and reg8[0..15], idle for `timeout` seconds at most.
    fn commit_lb_aff(
        &mut self,
        vip: &str,
        backend: &str,
        proto: Proto,
        timeout: u32,
        out: &mut Vec<OfAction>,
    ) -> Result<()> {
        let (vip_ip, vip_port) = ip_port(vip)?;
        let (be_ip, be_port) = ip_port(backend)?;
        let (Some(vip_port), Some(be_port)) = (vip_port, be_port) else {
            return Err(unsupported("commit_lb_aff() without ports is not encoded yet"));
        };
        let idle_timeout = u16::try_from(timeout)
            .map_err(|_| unsupported(format_args!("commit_lb_aff() timeout {timeout} exceeds 65535")))?;
        let (nw_proto, tp_dst) = match proto {
            Proto::Tcp => (6, "tcp_dst"),
            Proto::Udp => (17, "udp_dst"),
            Proto::Sctp => (132, "sctp_dst"),
        };
        let mut specs: Vec<String> = vec!["OXM_OF_METADATA[]".into()];
        match (vip_ip, be_ip) {
            (IpAddr::V4(v), IpAddr::V4(b)) => {
                specs.extend(["eth_type=0x800".into(), "NXM_OF_IP_SRC[]".into(), format!("ip_dst={v}")]);
                specs.extend([format!("nw_proto={nw_proto}"), format!("{tp_dst}={vip_port}")]);
                specs.push("load:0x1->NXM_NX_REG10[14]".into());
                specs.push(format!("load:{:#x}->NXM_NX_REG4[]", u32::from(b)));
            }
            (IpAddr::V6(v), IpAddr::V6(b)) => {
                specs.extend(["eth_type=0x86dd".into(), "NXM_NX_IPV6_SRC[]".into(), format!("ipv6_dst={v}")]);
                specs.extend([format!("nw_proto={nw_proto}"), format!("{tp_dst}={vip_port}")]);
                specs.push("load:0x1->NXM_NX_REG10[14]".into());
                specs.push(format!("load:{:#x}->NXM_NX_XXREG0[]", u128::from(b)));
            }
            _ => return Err(unsupported(format_args!("commit_lb_aff(): {vip} and {backend} differ in family"))),
        }
        specs.push(format!("load:{be_port:#x}->NXM_NX_REG8[0..15]"));
        let table = self.enc.layout.lb_aff;
        out.push(OfAction::Learn { table, idle_timeout, hard_timeout: 0, specs });
        Ok(())
    }

    fn mac_binding(
        &mut self,
        op: MacOp,
        port: &FieldRef,
        ip: &FieldRef,
        mac: Option<&FieldRef>,
        out: &mut Vec<OfAction>,
    ) -> Result<()> {
        let ip_reg = Subfield::whole(field(if op.ip_width() == 32 { "reg0" } else { "xxreg0" }));
        let (port, ip) = (self.resolve(port)?, self.resolve(ip)?);
        match op {
            MacOp::GetArp | MacOp::GetNd => {
                // The MAC binding table matches outport and the address in
                // reg0/xxreg0 and writes eth.dst (cleared first: no
                // binding, no MAC).
                let body = vec![
                    OfAction::Mod { name: "mod_dl_dst", value: mac_text(0) },
                    OfAction::Resubmit(self.enc.layout.mac_binding),
                ];
                self.through_regs(&[(Subfield::whole(field("reg15")), port), (ip_reg, ip)], body, out);
            }
            MacOp::PutArp | MacOp::PutNd => {
                // The controller reads inport, reg0/xxreg0 and eth.src.
                let mac = self.resolve(mac.expect("put_* has a MAC"))?;
                let opc = if op == MacOp::PutArp { opcode::PUT_ARP } else { opcode::PUT_ND };
                let pairs =
                    [(Subfield::whole(field("reg14")), port), (ip_reg, ip), (Subfield::whole(field("eth_src")), mac)];
                let call = self.controller(opc, Vec::new(), false);
                self.through_regs(&pairs, vec![call], out);
            }
        }
        Ok(())
    }

    /// For each (register, value) pair where they differ: saves the
    /// register and copies the value into it (through the stack, so that
    /// values may be registers the pairs overwrite), runs `body`, and
    /// restores the registers.
    fn through_regs(&self, pairs: &[(Subfield, Subfield)], body: Vec<OfAction>, out: &mut Vec<OfAction>) {
        let pairs: Vec<&(Subfield, Subfield)> = pairs.iter().filter(|(r, v)| r != v).collect();
        out.extend(pairs.iter().map(|(r, _)| OfAction::Push(*r)));
        out.extend(pairs.iter().rev().map(|(_, v)| OfAction::Push(*v)));
        out.extend(pairs.iter().map(|(r, _)| OfAction::Pop(*r)));
        out.extend(body);
        out.extend(pairs.iter().rev().map(|(r, _)| OfAction::Pop(*r)));
    }

    /// `R = f()` helpers that run a table which sets a flag bit, then copy
    /// the bit to R.
    fn flag_check(&self, dst: Subfield, flag_bit: u32, table: u8, out: &mut Vec<OfAction>) {
        let flag = bit(field("reg10"), flag_bit);
        out.push(OfAction::Load { dst: flag, value: 0 });
        out.push(OfAction::Resubmit(table));
        out.push(OfAction::Move { src: flag, dst });
    }

    fn call(&mut self, dst: &FieldRef, func: &Func, out: &mut Vec<OfAction>) -> Result<()> {
        let d = self.resolve(dst)?;
        let layout = self.enc.layout;
        match func {
            // The logical flags register's bits OVN uses for results:
            // MLF_LOOKUP_MAC (6), MLF_LOOKUP_LB_HAIRPIN (7), MLF_CHECK_PORT_SEC (12).
            Func::Check(Check::LbHairpin) => self.flag_check(d, 7, layout.chk_lb_hairpin, out),
            Func::Check(Check::LbHairpinReply) => self.flag_check(d, 7, layout.chk_lb_hairpin_reply, out),
            Func::Check(Check::InPortSec) => self.flag_check(d, 12, layout.chk_in_port_sec, out),
            Func::Check(Check::OutPortSec) => self.flag_check(d, 12, layout.chk_out_port_sec, out),
            Func::Check(Check::DnsLookup) => {
                // ovn-controller answers the query itself and writes
                // whether it did into the result bit.
                let mut payload = nxm_header(&d)?.to_vec();
                payload.extend(d.lo.to_be_bytes());
                out.push(self.controller(opcode::DNS_LOOKUP, payload, true));
            }
            // MLF_LOOKUP_COMMIT_ECMP_NH (bit 13) is set by the flows
            // commit_ecmp_nh() learned.
            Func::Check(Check::EcmpNhMac) => self.flag_check(d, 13, layout.ecmp_nh_mac, out),
            Func::Check(Check::EcmpNh) => self.flag_check(d, 13, layout.ecmp_nh, out),
            // MLF_USE_LB_AFF_SESSION (bit 14) is set by the flows
            // commit_lb_aff() learned.
            Func::Check(Check::LbAff) => self.flag_check(d, 14, layout.lb_aff, out),
            Func::CheckPktLarger(len) => out.push(OfAction::CheckPktLarger { len: *len, dst: d }),
            Func::Lookup { op, port, ip, mac } => {
                let ip_reg = Subfield::whole(field(if op.ip_width() == 32 { "reg0" } else { "xxreg0" }));
                let (port, ip) = (self.resolve(port)?, self.resolve(ip)?);
                let mut body = Vec::new();
                match mac {
                    // The MAC lookup table matches inport, the address and
                    // eth.src.
                    Some(mac) => {
                        let mac = self.resolve(mac)?;
                        self.flag_check(d, 6, layout.mac_lookup, &mut body);
                        let pairs = [
                            (Subfield::whole(field("reg14")), port),
                            (ip_reg, ip),
                            (Subfield::whole(field("eth_src")), mac),
                        ];
                        self.through_regs(&pairs, body, out);
                    }
                    // `lookup_arp_ip`/`lookup_nd_ip`: the MAC binding table
                    // (outport and the address), which writes eth.dst.
                    None => {
                        let eth_dst = Subfield::whole(field("eth_dst"));
                        body.push(OfAction::Push(eth_dst));
                        self.flag_check(d, 6, layout.mac_binding, &mut body);
                        body.push(OfAction::Pop(eth_dst));
                        self.through_regs(&[(Subfield::whole(field("reg15")), port), (ip_reg, ip)], body, out);
                    }
                }
            }
            Func::PutOpts { kind: OptsKind::Dhcp4, opts } => {
                let mut payload = nxm_header(&d)?.to_vec();
                payload.extend(d.lo.to_be_bytes());
                payload.extend(dhcp4_options(opts)?);
                out.push(self.controller(opcode::PUT_DHCP_OPTS, payload, true));
            }
            Func::PutOpts { kind: OptsKind::Dhcp6, opts } => {
                let mut payload = nxm_header(&d)?.to_vec();
                payload.extend(d.lo.to_be_bytes());
                payload.extend(dhcp6_options(opts)?);
                out.push(self.controller(opcode::PUT_DHCPV6_OPTS, payload, true));
            }
            Func::PutOpts { kind: OptsKind::NdRa, opts } => {
                let mut payload = nxm_header(&d)?.to_vec();
                payload.extend(d.lo.to_be_bytes());
                payload.extend(nd_ra_options(opts)?);
                out.push(self.controller(opcode::PUT_ND_RA_OPTS, payload, true));
            }
            Func::LookupFdb { port, mac } => {
                // The FDB check table matches inport and eth.src and sets
                // MLF_LOOKUP_FDB (bit 8 of the flags register); the result
                // is copied once they are restored.
                let pairs = [
                    (Subfield::whole(field("reg14")), self.resolve(port)?),
                    (Subfield::whole(field("eth_src")), self.resolve(mac)?),
                ];
                let flag = bit(field("reg10"), 8);
                let body = vec![OfAction::Load { dst: flag, value: 0 }, OfAction::Resubmit(layout.lookup_fdb)];
                self.through_regs(&pairs, body, out);
                out.push(OfAction::Move { src: flag, dst: d });
            }
            Func::GetFdb { mac } => {
                // The FDB table matches eth.dst and writes the port it
                // learned for it into outport, left 0 when it knows none;
                // the result is copied from there.
                let outport = Subfield::whole(field("reg15"));
                let mut body = Vec::new();
                loads(outport, 0, u128::from(u32::MAX), &mut body);
                body.push(OfAction::Resubmit(layout.get_fdb));
                self.through_regs(&[(Subfield::whole(field("eth_dst")), self.resolve(mac)?)], body, out);
                if d != outport {
                    out.push(OfAction::Move { src: outport, dst: d });
                }
            }
            Func::Select(members) => self.select(d, members, out)?,
        }
        Ok(())
    }
}

/// `"10.0.0.1:80"`, `"[fd00::1]:80"`, `"10.0.0.1"` as address and port.
fn ip_port(s: &str) -> Result<(IpAddr, Option<u16>)> {
    let bad = || unsupported(format_args!("`{s}` is not an address with an optional port"));
    if let Ok(ip) = s.parse() {
        return Ok((ip, None));
    }
    let (ip, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let ip = ip.strip_prefix('[').and_then(|i| i.strip_suffix(']')).unwrap_or(ip);
    Ok((ip.parse().map_err(|_| bad())?, Some(port.parse().map_err(|_| bad())?)))
}

/// `trigger_event`'s userdata payload: the event type (32 bits), then
/// each option as code (16 bits), length (16 bits) and its text. The
/// event types and option codes are ovn-sb(5)'s order of them
/// (`empty_lb_backends`: 0; its `vip`, `protocol`, `load_balancer`:
/// 1, 2, 3).
fn trigger_event(event: &str, options: &[(String, String)]) -> Result<Vec<u8>> {
    const EVENTS: &[(&str, &[&str])] = &[("empty_lb_backends", &["vip", "protocol", "load_balancer"])];
    let Some((kind, (_, names))) = EVENTS.iter().enumerate().find(|(_, (e, _))| *e == event) else {
        return Err(unsupported(format_args!("trigger_event(): event \"{event}\" is not encoded yet")));
    };
    let mut payload = (kind as u32).to_be_bytes().to_vec();
    for (name, value) in options {
        let Some(code) = names.iter().position(|n| n == name) else {
            return Err(unsupported(format_args!("trigger_event(): option {name} of {event} is not known")));
        };
        let len = u16::try_from(value.len())
            .map_err(|_| unsupported(format_args!("trigger_event(): option {name} is too long")))?;
        payload.extend((code as u16 + 1).to_be_bytes());
        payload.extend(len.to_be_bytes());
        payload.extend(value.bytes());
    }
    Ok(payload)
}

/// The OpenFlow fields a select group hashes, in the order OVS keeps
/// (and prints) them whatever order they were written in: its field
/// numbering (ovs-fields(7)).
const HASH_FIELD_ORDER: &[&str] = &[
    "eth_src", "eth_dst", "ip_src", "ip_dst", "ipv6_src", "ipv6_dst", "tcp_src", "tcp_dst", "udp_src", "udp_dst",
    "sctp_src", "sctp_dst",
];

/// `hash_fields="ip_dst,ip_src"` as `ip_src,ip_dst`.
fn hash_fields(text: &str) -> Result<String> {
    let mut ranks = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let rank = HASH_FIELD_ORDER
            .iter()
            .position(|f| *f == name)
            .ok_or_else(|| unsupported(format_args!("hashing on field {name} is not encoded yet")))?;
        if !ranks.contains(&rank) {
            ranks.push(rank);
        }
    }
    if ranks.is_empty() {
        return Err(unsupported("an empty hash_fields"));
    }
    ranks.sort_unstable();
    Ok(ranks.iter().map(|&r| HASH_FIELD_ORDER[r]).collect::<Vec<_>>().join(","))
}

/// `10.0.0.1`, `10.0.0.1:80`, `10.0.0.1:80-90`, `[fd00::1]:80`.
fn nat_target(ip: &Constant, ports: Option<(u16, Option<u16>)>) -> Result<String> {
    let (addr, v6) = match ip.format {
        Format::Ipv4 => (Ipv4Addr::from(ip.value as u32).to_string(), false),
        Format::Ipv6 => (Ipv6Addr::from(ip.value).to_string(), true),
        _ => return Err(unsupported("a NAT address that is not IPv4 or IPv6")),
    };
    Ok(match ports {
        None => addr,
        Some((lo, hi)) => {
            let addr = if v6 { format!("[{addr}]") } else { addr };
            match hi {
                Some(hi) => format!("{addr}:{lo}-{hi}"),
                None => format!("{addr}:{lo}"),
            }
        }
    })
}

/// The 4-byte NXM/OXM header of a register (what `put_dhcp_opts` tells
/// the controller to write its result into).
fn nxm_header(s: &Subfield) -> Result<[u8; 4]> {
    let name = s.field.name;
    let h: u32 = if let Some(n) = name.strip_prefix("xxreg").and_then(|n| n.parse::<u32>().ok()) {
        (0x0001 << 16) | ((111 + n) << 9) | 16
    } else if let Some(n) = name.strip_prefix("reg").and_then(|n| n.parse::<u32>().ok()) {
        (0x0001 << 16) | (n << 9) | 4
    } else if name == "xreg4" {
        (0x8001 << 16) | (4 << 9) | 8
    } else {
        return Err(unsupported(format_args!("a result in {name}")));
    };
    Ok(h.to_be_bytes())
}

fn opt_values(o: &OptArg) -> Vec<&Value> {
    match &o.value {
        Operand::Value(v) => vec![v],
        Operand::Set(vs, _) => vs.iter().collect(),
    }
}

fn opt_consts(o: &OptArg) -> Result<Vec<Constant>> {
    opt_values(o)
        .into_iter()
        .map(|v| match v {
            Value::Const(c, _) => Ok(*c),
            _ => Err(unsupported(format_args!("option {} wants numbers or addresses, not {v:?}", o.name))),
        })
        .collect()
}

fn opt_str(o: &OptArg) -> Result<&str> {
    match opt_values(o).as_slice() {
        [Value::Str(s, _)] => Ok(s),
        _ => Err(unsupported(format_args!("option {} wants one string", o.name))),
    }
}

fn prefix_len(c: &Constant) -> u32 {
    match c.mask {
        None => c.format.address_width().unwrap_or(128),
        Some(_) => c.mask_bits().count_ones().min(c.format.address_width().unwrap_or(128)),
    }
}

/// Domain names as DNS labels (RFC 1035 section 3.1), each name's longest
/// suffix already written replaced by a pointer to it (section 4.1.4), as
/// DHCP's domain search option carries them (RFC 3397).
fn dns_names_compressed(list: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut seen: Vec<(String, usize)> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let labels: Vec<&str> = name.trim_end_matches('.').split('.').collect();
        let mut pointer = None;
        for i in 0..labels.len() {
            let suffix = labels[i..].join(".");
            if let Some((_, at)) = seen.iter().find(|(s, _)| *s == suffix) {
                pointer = Some((i, *at));
                break;
            }
        }
        let upto = pointer.map_or(labels.len(), |(i, _)| i);
        for i in 0..upto {
            if out.len() < 0x4000 {
                seen.push((labels[i..].join("."), out.len()));
            }
            label(&mut out, labels[i], name)?;
        }
        match pointer {
            Some((_, at)) => out.extend((0xc000 | at as u16).to_be_bytes()),
            None => out.push(0),
        }
    }
    Ok(out)
}

fn label(out: &mut Vec<u8>, l: &str, name: &str) -> Result<()> {
    if l.is_empty() || l.len() > 63 {
        return Err(unsupported(format_args!("domain name {name:?} has an empty or over-long label")));
    }
    out.push(l.len() as u8);
    out.extend(l.bytes());
    Ok(())
}

/// Domain names as DNS labels, no compression (RFC 8106's DNSSL).
fn dns_names(list: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        for l in name.trim_end_matches('.').split('.') {
            label(&mut out, l, name)?;
        }
        out.push(0);
    }
    Ok(out)
}

/// `offerip` first (4 bytes), then each other option as code, length,
/// value, in the order written. Strings are their bytes, domain lists
/// compressed DNS names, static routes (RFC 3442) each a prefix length,
/// the prefix's significant bytes and the router.
fn dhcp4_options(opts: &[OptArg]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let offer =
        opts.iter().find(|o| o.name == "offerip").ok_or_else(|| unsupported("put_dhcp_opts without offerip"))?;
    let ip = opt_consts(offer)?;
    out.extend((ip.first().map_or(0, |c| c.value) as u32).to_be_bytes());
    // bootfile_name, bootfile_name_alt and next_server go first, in that
    // order (as ovn-controller 23.03 lays them out), then the others as
    // written.
    let rank = |o: &&OptArg| match o.name.as_str() {
        "bootfile_name" => 0,
        "bootfile_name_alt" => 1,
        "next_server" => 2,
        _ => 3,
    };
    let mut opts: Vec<&OptArg> = opts.iter().filter(|o| o.name != "offerip").collect();
    opts.sort_by_key(rank);
    for o in opts {
        let def = options::find(options::DHCP4, &o.name)
            .ok_or_else(|| unsupported(format_args!("DHCP option {}", o.name)))?;
        let mut value = Vec::new();
        match def.ty {
            OptType::Str => value.extend(opt_str(o)?.bytes()),
            // A host name's bytes or an IPv4 address's 4 bytes.
            OptType::HostId => match opt_values(o).as_slice() {
                [Value::Str(name, _)] => value.extend(name.bytes()),
                _ => value.extend(opt_consts(o)?.iter().flat_map(|c| (c.value as u32).to_be_bytes())),
            },
            OptType::Domains => value.extend(dns_names_compressed(opt_str(o)?)?),
            OptType::StaticRoutes => {
                let cs = opt_consts(o)?;
                if cs.len() % 2 != 0 {
                    return Err(unsupported(format_args!("{} wants prefix, router pairs", o.name)));
                }
                for pair in cs.chunks(2) {
                    let plen = prefix_len(&pair[0]);
                    value.push(plen as u8);
                    value.extend(&(pair[0].value as u32).to_be_bytes()[..plen.div_ceil(8) as usize]);
                    value.extend((pair[1].value as u32).to_be_bytes());
                }
            }
            OptType::Ipv4 | OptType::Uint32 | OptType::Uint16 | OptType::Uint8 | OptType::Bool => {
                for c in opt_consts(o)? {
                    let v = c.value;
                    match def.ty {
                        OptType::Ipv4 | OptType::Uint32 => value.extend((v as u32).to_be_bytes()),
                        OptType::Uint16 => value.extend((v as u16).to_be_bytes()),
                        _ => value.push(v as u8),
                    }
                }
            }
            other => {
                return Err(unsupported(format_args!(
                    "DHCP option {} of type {} is not encoded yet",
                    o.name,
                    other.as_str()
                )))
            }
        }
        let code = u8::try_from(def.code).map_err(|_| unsupported(format_args!("DHCP option code {}", def.code)))?;
        let len = u8::try_from(value.len())
            .map_err(|_| unsupported(format_args!("DHCP option {} longer than 255 bytes", o.name)))?;
        out.push(code);
        out.push(len);
        out.extend(value);
    }
    Ok(out)
}

/// Each option as 16-bit code, 16-bit length, value, in the order
/// written: addresses 16 bytes each, the server id a MAC, strings their
/// bytes.
fn dhcp6_options(opts: &[OptArg]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for o in opts {
        let def = options::find(options::DHCP6, &o.name)
            .ok_or_else(|| unsupported(format_args!("DHCPv6 option {}", o.name)))?;
        let mut value = Vec::new();
        match def.ty {
            OptType::Str => value.extend(opt_str(o)?.bytes()),
            OptType::Mac => value.extend(&(opt_consts(o)?.first().map_or(0, |c| c.value) as u64).to_be_bytes()[2..]),
            OptType::Ipv6 => opt_consts(o)?.iter().for_each(|c| value.extend(c.value.to_be_bytes())),
            other => {
                return Err(unsupported(format_args!(
                    "DHCPv6 option {} of type {} is not encoded yet",
                    o.name,
                    other.as_str()
                )))
            }
        }
        let len = u16::try_from(value.len())
            .map_err(|_| unsupported(format_args!("DHCPv6 option {} longer than 65535 bytes", o.name)))?;
        out.extend(def.code.to_be_bytes());
        out.extend(len.to_be_bytes());
        out.extend(value);
    }
    Ok(out)
}

/// A router advertisement as ovn-controller sends it (RFC 4861 section
/// 4.2): the ICMPv6 header (checksum 0, hop limit 255, the M/O flags and
/// router preference from `addr_mode`/`router_preference`, lifetime
/// 0xffff, reachable and retransmit times 0), then the options in the
/// order written, each type, length in 8-byte units, body padded to 8.
fn nd_ra_options(opts: &[OptArg]) -> Result<Vec<u8>> {
    let mode = opts.iter().find(|o| o.name == "addr_mode").map(opt_str).transpose()?;
    let (flags, prefix_flags) = match mode {
        Some("slaac") => (0x00u8, 0xc0u8),
        Some("dhcpv6_stateful") => (0x80, 0x80),
        Some("dhcpv6_stateless") => (0x40, 0xc0),
        Some(m) => return Err(unsupported(format_args!("put_nd_ra_opts addr_mode {m:?}"))),
        None => return Err(unsupported("put_nd_ra_opts without addr_mode")),
    };
    let preference = match opts.iter().find(|o| o.name == "router_preference").map(opt_str).transpose()? {
        None | Some("MEDIUM") => 0x00u8,
        Some("HIGH") => 0x08,
        Some("LOW") => 0x18,
        Some(p) => return Err(unsupported(format_args!("put_nd_ra_opts router_preference {p:?}"))),
    };
    let mut out = vec![134, 0, 0, 0, 255, flags | preference, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut option = |ty: u8, body: &[u8]| {
        let start = out.len();
        out.push(ty);
        out.push(0);
        out.extend(body);
        while !(out.len() - start).is_multiple_of(8) {
            out.push(0);
        }
        out[start + 1] = ((out.len() - start) / 8) as u8;
    };
    const INFINITE: [u8; 4] = [0xff; 4];
    for o in opts.iter().filter(|o| o.name != "addr_mode" && o.name != "router_preference") {
        match o.name.as_str() {
            "slla" => {
                let mac = opt_consts(o)?.first().map_or(0, |c| c.value) as u64;
                option(1, &mac.to_be_bytes()[2..]);
            }
            "mtu" => {
                let mtu = opt_consts(o)?.first().map_or(0, |c| c.value) as u32;
                let mut b = vec![0, 0];
                b.extend(mtu.to_be_bytes());
                option(5, &b);
            }
            "prefix" => {
                for c in opt_consts(o)? {
                    let mut b = vec![prefix_len(&c) as u8, prefix_flags];
                    b.extend(INFINITE);
                    b.extend(INFINITE);
                    b.extend([0; 4]);
                    b.extend((c.value & c.mask_bits()).to_be_bytes());
                    option(3, &b);
                }
            }
            "rdnss" => {
                let mut b = vec![0, 0];
                b.extend(INFINITE);
                opt_consts(o)?.iter().for_each(|c| b.extend(c.value.to_be_bytes()));
                option(25, &b);
            }
            "route_info" => {
                // RFC 4191 route information options: `PRF-PREFIX/LEN,...`.
                for route in opt_str(o)?.split(',').map(str::trim).filter(|r| !r.is_empty()) {
                    let bad = || unsupported(format_args!("put_nd_ra_opts route_info {route:?}"));
                    let (pref, prefix) = route.split_once('-').ok_or_else(bad)?;
                    let pref = match pref {
                        "HIGH" => 0x08u8,
                        "MEDIUM" => 0x00,
                        "LOW" => 0x18,
                        _ => return Err(bad()),
                    };
                    let (addr, len) = prefix.split_once('/').ok_or_else(bad)?;
                    let addr: Ipv6Addr = addr.parse().map_err(|_| bad())?;
                    let len: u8 = len.parse().ok().filter(|l| *l <= 128).ok_or_else(bad)?;
                    let mut b = vec![len, pref];
                    b.extend(INFINITE);
                    // The prefix in as few 8-byte units as hold it.
                    let n = match len {
                        0 => 0,
                        1..=64 => 8,
                        _ => 16,
                    };
                    let mask = if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len)) };
                    b.extend(&(u128::from(addr) & mask).to_be_bytes()[..n]);
                    option(24, &b);
                }
            }
            "dnssl" => {
                let mut b = vec![0, 0];
                b.extend(INFINITE);
                b.extend(dns_names(opt_str(o)?)?);
                option(31, &b);
            }
            other => return Err(unsupported(format_args!("put_nd_ra_opts option {other} is not encoded yet"))),
        }
    }
    Ok(out)
}

/// OpenFlow 1.5 binary actions, the form ovn-controller puts in a
/// controller action's userdata after the opcode (it hands them back to
/// OVS when it re-injects the packet it made). Layouts from the OpenFlow
/// 1.5 specification and ovs-actions(7); field numbers from
/// ovs-fields(7).
mod of15 {
    use std::net::IpAddr;

    use super::{Ct, NxField, OfAction, Subfield};

    const OFPAT_SET_QUEUE: u16 = 21;
    const OFPAT_GROUP: u16 = 22;
    const OFPAT_SET_FIELD: u16 = 25;
    const OFPAT_COPY_FIELD: u16 = 28;
    const OFPAT_EXPERIMENTER: u16 = 0xffff;
    const NX_VENDOR_ID: u32 = 0x0000_2320;
    const NXAST_RESUBMIT_TABLE: u16 = 14;
    /// `dec_ttl` with its (here empty) list of controller ids.
    const NXAST_DEC_TTL_CNT_IDS: u16 = 21;
    const NXAST_STACK_PUSH: u16 = 27;
    const NXAST_STACK_POP: u16 = 28;
    const NXAST_SAMPLE: u16 = 29;
    const NXAST_CT: u16 = 35;
    const NXAST_NAT: u16 = 36;
    const NXAST_CONTROLLER2: u16 = 37;
    const NXAST_CLONE: u16 = 42;
    const NXAST_CT_CLEAR: u16 = 43;
    const NXAST_CHECK_PKT_LARGER: u16 = 49;
    const NX_CT_F_COMMIT: u16 = 1;
    const NX_CT_RECIRC_NONE: u8 = 0xff;
    const NX_NAT_F_SRC: u16 = 1;
    const NX_NAT_F_DST: u16 = 2;
    const NX_NAT_RANGE_IPV4_MIN: u16 = 1;
    const NX_NAT_RANGE_IPV6_MIN: u16 = 4;
    const NX_NAT_RANGE_PROTO_MIN: u16 = 16;
    const NX_NAT_RANGE_PROTO_MAX: u16 = 32;
    const NXAC2PT_USERDATA: u16 = 3;
    const NXAC2PT_PAUSE: u16 = 4;
    const NXAC2PT_METER_ID: u16 = 5;
    const OFPP_IN_PORT: u16 = 0xfff8;

    const NXM_OF: u16 = 0x0000;
    const NXM_NX: u16 = 0x0001;
    const OXM_BASIC: u16 = 0x8000;
    const OXM_PKT_REG: u16 = 0x8001;

    /// The field's NXM (class, number): Nicira-extension actions (the
    /// register stack) name fields this way.
    fn nxm(f: &NxField) -> Option<(u16, u8)> {
        let n = |p: &str| f.name.strip_prefix(p).and_then(|n| n.parse::<u8>().ok());
        if let Some(n) = n("xxreg") {
            return Some((NXM_NX, 111 + n));
        }
        if let Some(n) = n("reg") {
            return Some((NXM_NX, n));
        }
        Some(match f.name {
            "in_port" => (NXM_OF, 0),
            "eth_dst" => (NXM_OF, 1),
            "eth_src" => (NXM_OF, 2),
            "eth_type" => (NXM_OF, 3),
            "vlan_tci" => (NXM_OF, 4),
            "nw_proto" => (NXM_OF, 6),
            "ip_src" => (NXM_OF, 7),
            "ip_dst" => (NXM_OF, 8),
            "tcp_src" => (NXM_OF, 9),
            "tcp_dst" => (NXM_OF, 10),
            "udp_src" => (NXM_OF, 11),
            "udp_dst" => (NXM_OF, 12),
            "icmp_type" => (NXM_OF, 13),
            "icmp_code" => (NXM_OF, 14),
            "arp_op" => (NXM_OF, 15),
            "arp_spa" => (NXM_OF, 16),
            "arp_tpa" => (NXM_OF, 17),
            "arp_sha" => (NXM_NX, 17),
            "arp_tha" => (NXM_NX, 18),
            "ipv6_src" => (NXM_NX, 19),
            "ipv6_dst" => (NXM_NX, 20),
            "icmpv6_type" => (NXM_NX, 21),
            "icmpv6_code" => (NXM_NX, 22),
            "nd_target" => (NXM_NX, 23),
            "nd_sll" => (NXM_NX, 24),
            "nd_tll" => (NXM_NX, 25),
            "ip_frag" => (NXM_NX, 26),
            "ipv6_label" => (NXM_NX, 27),
            "nw_ecn" => (NXM_NX, 28),
            "nw_ttl" => (NXM_NX, 29),
            "pkt_mark" => (NXM_NX, 33),
            "tcp_flags" => (NXM_NX, 34),
            "ct_state" => (NXM_NX, 105),
            "ct_mark" => (NXM_NX, 107),
            "ct_label" => (NXM_NX, 108),
            "xreg4" => (OXM_PKT_REG, 4),
            _ => return None,
        })
    }

    /// The field's header in OpenFlow 1.5 `set_field`/`copy_field`: the
    /// OpenFlow basic (OXM) one where the field has one, else the NXM one.
    fn oxm(f: &NxField) -> Option<(u16, u8)> {
        let basic = match f.name {
            "eth_dst" => 3,
            "eth_src" => 4,
            "eth_type" => 5,
            "nw_ecn" => 9,
            "nw_proto" => 10,
            "ip_src" => 11,
            "ip_dst" => 12,
            "tcp_src" => 13,
            "tcp_dst" => 14,
            "udp_src" => 15,
            "udp_dst" => 16,
            "sctp_src" => 17,
            "sctp_dst" => 18,
            "icmp_type" => 19,
            "icmp_code" => 20,
            "arp_op" => 21,
            "arp_spa" => 22,
            "arp_tpa" => 23,
            "arp_sha" => 24,
            "arp_tha" => 25,
            "ipv6_src" => 26,
            "ipv6_dst" => 27,
            "ipv6_label" => 28,
            "icmpv6_type" => 29,
            "icmpv6_code" => 30,
            "nd_target" => 31,
            "nd_sll" => 32,
            "nd_tll" => 33,
            "tcp_flags" => 42,
            // 32-bit port numbers in OXM, a different field.
            "in_port" | "vlan_tci" | "ip_dscp" => return None,
            _ => return nxm(f),
        };
        Some((OXM_BASIC, basic))
    }

    fn bytes_of(f: &NxField) -> usize {
        f.width.div_ceil(8) as usize
    }

    fn header((class, field): (u16, u8), has_mask: bool, len: usize) -> [u8; 4] {
        let c = class.to_be_bytes();
        [c[0], c[1], field << 1 | u8::from(has_mask), len as u8]
    }

    /// The low `n` bytes of `v`, big-endian.
    fn be(v: u128, n: usize) -> Vec<u8> {
        v.to_be_bytes()[16 - n..].to_vec()
    }

    fn pad8(out: &mut Vec<u8>, start: usize) {
        while !(out.len() - start).is_multiple_of(8) {
            out.push(0);
        }
    }

    /// Appends one action: `body` after the type and the length (filled
    /// in), padded to 8 bytes.
    fn action(out: &mut Vec<u8>, ty: u16, body: &[u8]) {
        let start = out.len();
        out.extend(ty.to_be_bytes());
        out.extend([0, 0]);
        out.extend(body);
        pad8(out, start);
        let len = (out.len() - start) as u16;
        out[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
    }

    fn nicira(out: &mut Vec<u8>, subtype: u16, body: &[u8]) {
        let mut b = NX_VENDOR_ID.to_be_bytes().to_vec();
        b.extend(subtype.to_be_bytes());
        b.extend(body);
        action(out, OFPAT_EXPERIMENTER, &b);
    }

    fn stack(out: &mut Vec<u8>, subtype: u16, s: &Subfield) -> Result<(), String> {
        let code = nxm(s.field).ok_or_else(|| format!("the register stack on {}", s.field.name))?;
        let mut b = (s.lo as u16).to_be_bytes().to_vec();
        b.extend(header(code, false, bytes_of(s.field)));
        b.extend((s.width as u16).to_be_bytes());
        nicira(out, subtype, &b);
        Ok(())
    }

    fn set_field(out: &mut Vec<u8>, f: &NxField, value: u128, mask: u128) -> Result<(), String> {
        let code = oxm(f).ok_or_else(|| format!("writing {}", f.name))?;
        let n = bytes_of(f);
        let full = if f.width >= 128 { u128::MAX } else { (1u128 << f.width) - 1 };
        let mut b = Vec::new();
        if mask & full == full {
            b.extend(header(code, false, n));
            b.extend(be(value, n));
        } else {
            b.extend(header(code, true, 2 * n));
            b.extend(be(value, n));
            b.extend(be(mask, n));
        }
        action(out, OFPAT_SET_FIELD, &b);
        Ok(())
    }

    /// A register subfield as `ofs << 6 | (n_bits - 1)` after its NXM
    /// header, as `ct`'s zone and `check_pkt_larger`'s result name it.
    fn nxm_subfield(s: &Subfield) -> Result<([u8; 4], u16), String> {
        let code = nxm(s.field).ok_or_else(|| format!("the field {}", s.field.name))?;
        Ok((header(code, false, bytes_of(s.field)), (s.lo as u16) << 6 | (s.width as u16 - 1)))
    }

    /// `nat`, `nat(src)`, `nat(dst=10.0.0.1:80-90)`, `nat(src=[fd00::1]:80)`
    /// (the text [`Ct::nat`] holds) as the body of NXAST_NAT: flags, which
    /// range parts are present, then those parts.
    fn nat(out: &mut Vec<u8>, text: &str) -> Result<(), String> {
        let bad = || format!("the NAT `{text}`");
        let inner = match text {
            "nat" => "",
            _ => text.strip_prefix("nat(").and_then(|t| t.strip_suffix(')')).ok_or_else(bad)?,
        };
        let (dir, target) = inner.split_once('=').unwrap_or((inner, ""));
        let flags = match dir {
            "" => 0,
            "src" => NX_NAT_F_SRC,
            "dst" => NX_NAT_F_DST,
            _ => return Err(bad()),
        };
        let mut present = 0;
        let mut ranges = Vec::new();
        if !target.is_empty() {
            let (addr, ports) = match target.strip_prefix('[') {
                Some(v6) => {
                    let (a, rest) = v6.split_once(']').ok_or_else(bad)?;
                    (a, rest.strip_prefix(':'))
                }
                None => match target.split_once(':') {
                    Some((a, p)) => (a, Some(p)),
                    None => (target, None),
                },
            };
            match addr.parse::<IpAddr>().map_err(|_| bad())? {
                IpAddr::V4(a) => {
                    present |= NX_NAT_RANGE_IPV4_MIN;
                    ranges.extend(a.octets());
                }
                IpAddr::V6(a) => {
                    present |= NX_NAT_RANGE_IPV6_MIN;
                    ranges.extend(a.octets());
                }
            }
            if let Some(ports) = ports {
                let (lo, hi) = ports.split_once('-').map_or((ports, None), |(l, h)| (l, Some(h)));
                present |= NX_NAT_RANGE_PROTO_MIN;
                ranges.extend(lo.parse::<u16>().map_err(|_| bad())?.to_be_bytes());
                if let Some(hi) = hi {
                    present |= NX_NAT_RANGE_PROTO_MAX;
                    ranges.extend(hi.parse::<u16>().map_err(|_| bad())?.to_be_bytes());
                }
            }
        }
        let mut b = vec![0, 0];
        b.extend(flags.to_be_bytes());
        b.extend(present.to_be_bytes());
        b.extend(ranges);
        nicira(out, NXAST_NAT, &b);
        Ok(())
    }

    /// NXAST_CT: flags, the zone register subfield, the table to continue
    /// in (none: 0xff), the ALG (none), then `nat` and the `exec` actions
    /// nested inside it.
    fn ct(out: &mut Vec<u8>, ct: &Ct) -> Result<(), String> {
        let (zone, ofs_nbits) = nxm_subfield(&ct.zone)?;
        let flags = if ct.commit { NX_CT_F_COMMIT } else { 0 };
        let mut b = flags.to_be_bytes().to_vec();
        b.extend(zone);
        b.extend(ofs_nbits.to_be_bytes());
        b.push(ct.table.unwrap_or(NX_CT_RECIRC_NONE));
        b.extend([0; 3]);
        b.extend([0; 2]);
        if let Some(text) = &ct.nat {
            nat(&mut b, text)?;
        }
        b.extend(encode(&ct.exec)?);
        nicira(out, NXAST_CT, &b);
        Ok(())
    }

    /// The actions as OpenFlow 1.5 binary; the error names what has no
    /// encoding here.
    pub(super) fn encode(actions: &[OfAction]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        for a in actions {
            match a {
                OfAction::Resubmit(t) => {
                    let mut b = OFPP_IN_PORT.to_be_bytes().to_vec();
                    b.push(*t);
                    nicira(&mut out, NXAST_RESUBMIT_TABLE, &b);
                }
                OfAction::SetField { field, value, mask } => set_field(&mut out, field, *value, *mask)?,
                OfAction::Move { src, dst } => {
                    let s = oxm(src.field).ok_or_else(|| format!("copying {}", src.field.name))?;
                    let d = oxm(dst.field).ok_or_else(|| format!("copying to {}", dst.field.name))?;
                    let mut b = Vec::new();
                    b.extend((src.width as u16).to_be_bytes());
                    b.extend((src.lo as u16).to_be_bytes());
                    b.extend((dst.lo as u16).to_be_bytes());
                    b.extend([0, 0]);
                    b.extend(header(s, false, bytes_of(src.field)));
                    b.extend(header(d, false, bytes_of(dst.field)));
                    action(&mut out, OFPAT_COPY_FIELD, &b);
                }
                OfAction::DecTtl => nicira(&mut out, NXAST_DEC_TTL_CNT_IDS, &[0; 6]),
                OfAction::CtClear => nicira(&mut out, NXAST_CT_CLEAR, &[0; 6]),
                OfAction::Ct(c) => ct(&mut out, c)?,
                OfAction::Clone(body) => {
                    let mut b = vec![0; 6];
                    b.extend(encode(body)?);
                    nicira(&mut out, NXAST_CLONE, &b);
                }
                OfAction::SetQueue(q) => action(&mut out, OFPAT_SET_QUEUE, &u32::from(*q).to_be_bytes()),
                OfAction::Group(g) => action(&mut out, OFPAT_GROUP, &g.to_be_bytes()),
                OfAction::CheckPktLarger { len, dst } => {
                    let len = u16::try_from(*len).map_err(|_| format!("check_pkt_larger({len})"))?;
                    let (h, ofs_nbits) = nxm_subfield(dst)?;
                    let mut b = len.to_be_bytes().to_vec();
                    // Only the offset: the result is one bit.
                    b.extend((ofs_nbits >> 6).to_be_bytes());
                    b.extend(h);
                    nicira(&mut out, NXAST_CHECK_PKT_LARGER, &b);
                }
                OfAction::Sample { probability, collector_set, obs_domain, obs_point } => {
                    let mut b = probability.to_be_bytes().to_vec();
                    b.extend(collector_set.to_be_bytes());
                    b.extend(obs_domain.to_be_bytes());
                    b.extend(obs_point.to_be_bytes());
                    nicira(&mut out, NXAST_SAMPLE, &b);
                }
                OfAction::Push(s) => stack(&mut out, NXAST_STACK_PUSH, s)?,
                OfAction::Pop(s) => stack(&mut out, NXAST_STACK_POP, s)?,
                OfAction::Controller { opcode, payload, pause, meter } => {
                    let mut b = vec![0; 6];
                    let start = b.len();
                    let mut userdata = opcode.to_be_bytes().to_vec();
                    userdata.extend([0; 4]);
                    userdata.extend(payload);
                    b.extend(NXAC2PT_USERDATA.to_be_bytes());
                    b.extend(((4 + userdata.len()) as u16).to_be_bytes());
                    b.extend(userdata);
                    pad8(&mut b, start);
                    if *pause {
                        b.extend(NXAC2PT_PAUSE.to_be_bytes());
                        b.extend(4u16.to_be_bytes());
                        b.extend([0; 4]);
                    }
                    if let Some(m) = meter {
                        b.extend(NXAC2PT_METER_ID.to_be_bytes());
                        b.extend(8u16.to_be_bytes());
                        b.extend(m.to_be_bytes());
                    }
                    nicira(&mut out, NXAST_CONTROLLER2, &b);
                }
                other => {
                    let text = other.to_string();
                    let name = text.split(['(', ':']).next().unwrap_or(&text);
                    return Err(format!("`{name}`"));
                }
            }
        }
        Ok(out)
    }
}
