//! The interpreter: runs a packet through logical flow tables, executing
//! actions, and records every step as a tree of [`Node`]s.
//!
//! It follows ovn-trace(8) and what upstream 23.03's `ovn-trace` does
//! where the manual is silent (observed; the differential tests are
//! `crates/rovn/tests/trace*.rs`):
//!
//! - `ct_next` gives the packet the next `--ct` flag set (default
//!   `trk,est`); `ct_lb`/`ct_lb_mark` add the next set to the packet's
//!   state; the NAT actions (`ct_dnat`, `ct_snat`, their `_in_czone`
//!   forms, `ct_commit_nat`) take the next set only when the packet is
//!   not tracked yet, and otherwise keep its state. Each continues in the
//!   next table inside a nested block.
//! - `ct_lb(backends=...)` picks the backend given by `--lb-dst` when it
//!   is one of them, otherwise the first (upstream picks at random);
//!   without backends it uses `--lb-dst`, if any. Either sets `ct.dnat`.
//! - `ct_dnat(IP)`/`ct_snat(IP)` rewrite the address and set
//!   `ct.dnat`/`ct.snat`; without an address they change nothing
//!   ("assuming no un-dnat entry"); `ct_snat_to_vip` only notes the VIP.
//! - `ct_commit`, `put_arp`, `put_nd`, `put_fdb`, meters, queues, events
//!   are no-ops; `put_dhcp_opts` and friends succeed (result 1) as if the
//!   controller answered, `put_nd_ra_opts` turning the router
//!   solicitation into an advertisement; `get_arp`/`get_nd`/`lookup_arp*`
//!   consult the `MAC_Binding` table, `get_fdb`/`lookup_fdb` the `FDB`.
//! - `ip.ttl--` on a TTL of 0 or 1 halts the packet, as ovn-sb(5) says
//!   (upstream's trace goes on with TTL 0); `fwd_group` stops the trace
//!   without choosing a child port, as upstream's does.
//! - `output` in ingress goes to the egress pipeline of the same datapath
//!   with registers reg0-reg9 and the flags cleared (to every member of a multicast
//!   group; a chassisredirect port is replaced by its distributed port);
//!   in egress it delivers the packet,
//!   or crosses a patch port into the peer datapath's ingress pipeline
//!   with the logical registers and flags cleared (connection tracking
//!   state stays, as in upstream's trace).
//!
//! Nothing here panics or loops forever: nesting, pipeline hops and the
//! total number of table lookups are bounded, and anything the
//! interpreter does not simulate is reported in the trace.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::network::{Flow, Network};
use crate::actions::ast::*;
use crate::eval::eval;
use crate::expr::{Bits, FieldRef, Value};
use crate::packet::Packet;
use crate::simplify::width_mask;
use crate::symtab::{Kind, Symtab};

/// `ct_state` bits (ovs-fields(7)), in the order traces print them.
pub const CT_FLAGS: [(&str, u32); 8] = [
    ("new", 0x01),
    ("est", 0x02),
    ("rel", 0x04),
    ("rpl", 0x08),
    ("inv", 0x10),
    ("trk", 0x20),
    ("snat", 0x40),
    ("dnat", 0x80),
];
const CS_TRK: u32 = 0x20;
const CS_EST: u32 = 0x02;
const CS_SNAT: u32 = 0x40;
const CS_DNAT: u32 = 0x80;

/// Parses a `--ct` argument: flag names separated by commas or spaces.
/// `trk` is always added.
pub fn parse_ct_flags(text: &str) -> Result<u32, String> {
    let mut bits = CS_TRK;
    for word in text.split([',', ' ']).filter(|w| !w.is_empty()) {
        match CT_FLAGS.iter().find(|(n, _)| *n == word) {
            Some((_, b)) => bits |= b,
            None => {
                return Err(format!(
                    "{word}: unknown connection tracking state flag (use new, est, rel, rpl, inv, trk, snat or dnat)"
                ))
            }
        }
    }
    Ok(bits)
}

/// `new|trk`.
pub fn format_ct_flags(bits: u32) -> String {
    let names: Vec<&str> = CT_FLAGS.iter().filter(|(_, b)| bits & b != 0).map(|(n, _)| *n).collect();
    if names.is_empty() {
        "0".into()
    } else {
        names.join("|")
    }
}

/// A `--lb-dst` address: `10.0.0.1`, `10.0.0.1:80`, `[fd00::1]:80`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LbDst {
    /// The address (IPv4 as a 32-bit value).
    pub ip: u128,
    /// Whether it is IPv6.
    pub ipv6: bool,
    /// The port, if given.
    pub port: Option<u16>,
}

impl LbDst {
    /// Parses `IP[:PORT]` (IPv6 with a port in brackets).
    pub fn parse(text: &str) -> Result<LbDst, String> {
        let bad = || format!("{text}: bad --lb-dst (use IP or IP:PORT, IPv6 as [IP]:PORT)");
        let port = |p: &str| p.parse::<u16>().map_err(|_| bad());
        if let Some(rest) = text.strip_prefix('[') {
            let (ip, after) = rest.split_once(']').ok_or_else(bad)?;
            let ip: Ipv6Addr = ip.parse().map_err(|_| bad())?;
            let port = match after {
                "" => None,
                p => Some(port(p.strip_prefix(':').ok_or_else(bad)?)?),
            };
            return Ok(LbDst { ip: u128::from(ip), ipv6: true, port });
        }
        if let Ok(ip) = text.parse::<Ipv6Addr>() {
            return Ok(LbDst { ip: u128::from(ip), ipv6: true, port: None });
        }
        let (ip, p) = match text.split_once(':') {
            Some((ip, p)) => (ip, Some(port(p)?)),
            None => (text, None),
        };
        let ip: Ipv4Addr = ip.parse().map_err(|_| bad())?;
        Ok(LbDst { ip: u32::from(ip) as u128, ipv6: false, port: p })
    }
}

/// How to trace.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--ct` flag sets, consumed in order by connection tracking actions.
    pub ct: Vec<u32>,
    /// `--lb-dst`.
    pub lb_dst: Option<LbDst>,
    /// `--select-id`.
    pub select_id: Option<u16>,
    /// Show friendly names of ports and datapaths.
    pub friendly_names: bool,
}

/// What a line of the trace is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// An action as executed (`reg0 = 1;`).
    Action,
    /// An explanation (`/* output to "vm1", type "" */`).
    Comment,
    /// What the action just before it found (`/* MAC binding to ... */`):
    /// unlike a comment, summary traces print it without a `;`.
    Note,
    /// Something went wrong or is not simulated (`*** ...`).
    Error,
    /// A change to packet data, its operand reduced to a constant
    /// (`eth.dst = 00:00:00:00:00:01`); shown in minimal traces.
    Modify,
    /// Delivery to a logical port; the text is the port's name.
    Output,
}

/// One step of a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A pass through a pipeline: `ingress(dp="sw0", inport="vm1")`.
    Pipeline { header: String, children: Vec<Node> },
    /// A flow that matched: where, and what its actions did.
    Table {
        /// `ls_in_l2_lkup (northd.c:9122): eth.dst == ..., priority 50, uuid 46c5a7b4`
        /// after the table number.
        table: u32,
        /// The flow.
        flow: FlowRef,
        /// What executing the actions did.
        actions: Vec<Node>,
    },
    /// No flow matched in `table`.
    NoMatch { table: u32 },
    /// A line.
    Line {
        kind: LineKind,
        text: String,
        /// Also shown in minimal traces.
        minimal: bool,
    },
    /// The packet transformed or copied (`ct_next(ct_state=new|trk)`,
    /// `arp`, `clone`, `multicast(...)`), and what happened to it.
    Block { header: String, children: Vec<Node> },
}

/// What a trace shows about a flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowRef {
    /// Stage name.
    pub stage: String,
    /// Source location in northd.
    pub source: String,
    /// Match text.
    pub match_text: String,
    /// Priority.
    pub priority: i64,
    /// Row UUID.
    pub uuid: String,
    /// True for `1` / `next;` flows, which detailed traces leave out.
    pub trivial: bool,
}

/// A packet leaving the logical network through a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Logical port.
    pub port: String,
    /// The packet as it leaves.
    pub packet: Packet,
}

/// The result of tracing one packet.
#[derive(Clone, Debug)]
pub struct Trace {
    /// The steps (one ingress pipeline at the top).
    pub nodes: Vec<Node>,
    /// Every delivery, in order.
    pub deliveries: Vec<Delivery>,
    /// Number of places the packet (or a copy) was dropped.
    pub drops: usize,
    /// Number of things the interpreter could not simulate or that went
    /// wrong (`***` lines).
    pub errors: usize,
}

/// Bounds that keep every trace finite.
const MAX_DEPTH: usize = 400;
const MAX_HOPS: usize = 40;
const MAX_STEPS: usize = 20_000;

/// Traces `packet` from the ingress pipeline of datapath `dp`.
///
/// The interpreter recurses once per table; it runs on its own thread
/// with a stack large enough for [`MAX_DEPTH`] levels.
pub fn trace(net: &Network, symtab: &Symtab, dp: usize, packet: Packet, opts: &Options) -> Trace {
    let run = || {
        let mut t = Tracer {
            net,
            symtab,
            opts,
            ct_used: 0,
            steps: 0,
            stack: Vec::new(),
            deliveries: Vec::new(),
            drops: 0,
            errors: 0,
        };
        let mut nodes = Vec::new();
        if dp >= net.datapaths.len() {
            nodes.push(t.error(format!("no datapath {dp}")));
        } else {
            let mut p = packet;
            let header = t.pipeline_header(Pipeline::Ingress, dp, &p);
            let mut children = Vec::new();
            let cx = Cx { dp, pipeline: Pipeline::Ingress, table: 0, depth: 0, hops: 0 };
            t.run_table(cx, &mut p, &mut children);
            nodes.push(Node::Pipeline { header, children });
        }
        Trace { nodes, deliveries: t.deliveries, drops: t.drops, errors: t.errors }
    };
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("trace".into())
            .stack_size(256 << 20)
            .spawn_scoped(s, run)
            .ok()
            .and_then(|h| h.join().ok())
    })
    .unwrap_or_else(|| Trace {
        nodes: vec![Node::Line { kind: LineKind::Error, text: "the interpreter failed".into(), minimal: false }],
        deliveries: Vec::new(),
        drops: 0,
        errors: 1,
    })
}

#[derive(Clone, Copy)]
struct Cx {
    dp: usize,
    pipeline: Pipeline,
    table: u32,
    depth: usize,
    hops: usize,
}

/// A value on the `push`/`pop` stack.
#[derive(Clone)]
enum Stacked {
    Int(u128),
    Port(String),
}

struct Tracer<'a> {
    net: &'a Network,
    symtab: &'a Symtab,
    opts: &'a Options,
    ct_used: usize,
    steps: usize,
    stack: Vec<Stacked>,
    deliveries: Vec<Delivery>,
    drops: usize,
    errors: usize,
}

/// Whether to go on with a flow's remaining actions.
#[derive(PartialEq, Eq)]
enum Go {
    On,
    Stop,
}

/// A resolved field reference.
enum Slot {
    Int {
        of: &'static str,
        lo: u32,
        width: u32,
        /// The symbol written, for formatting values.
        name: String,
        /// The reference covers the whole symbol.
        whole: bool,
    },
    Port {
        of: &'static str,
    },
}

/// OpenFlow fields that hold OVN metadata rather than packet data.
const METADATA: &[&str] = &[
    "xxreg0",
    "xxreg1",
    "xreg4",
    "reg10",
    "reg14",
    "reg15",
    "ct_state",
    "ct_mark",
    "ct_label",
    "pkt_mark",
    "ct_nw_dst",
    "ct_tp_dst",
];

fn line(kind: LineKind, text: impl Into<String>, minimal: bool) -> Node {
    Node::Line { kind, text: text.into(), minimal }
}

fn action_line(text: impl Into<String>) -> Node {
    line(LineKind::Action, text, false)
}

fn comment(text: impl Into<String>) -> Node {
    line(LineKind::Comment, text, false)
}

fn note(text: impl Into<String>) -> Node {
    line(LineKind::Note, text, false)
}

fn modify(text: impl Into<String>) -> Node {
    line(LineKind::Modify, text, true)
}

/// Formats `value` the way the field `name` is usually written.
pub fn format_value(name: &str, whole: bool, value: u128) -> String {
    const MACS: &[&str] = &["eth.src", "eth.dst", "arp.sha", "arp.tha", "nd.sll", "nd.tll"];
    const IP4S: &[&str] = &["ip4.src", "ip4.dst", "arp.spa", "arp.tpa"];
    const IP6S: &[&str] = &["ip6.src", "ip6.dst", "nd.target"];
    if whole && MACS.contains(&name) {
        let b = (value as u64).to_be_bytes();
        format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[2], b[3], b[4], b[5], b[6], b[7])
    } else if whole && IP4S.contains(&name) {
        Ipv4Addr::from(value as u32).to_string()
    } else if whole && IP6S.contains(&name) {
        Ipv6Addr::from(value).to_string()
    } else {
        value.to_string()
    }
}

/// `value` as read from `src`: in the field's own notation when it is a
/// whole address field, hex from registers and bit ranges (as ovn-trace
/// shows moved values), else decimal.
fn format_from(src: &FieldRef, value: u128) -> String {
    let whole = matches!(src.bits, Bits::All);
    let shown = format_value(&src.name, whole, value);
    let register =
        ["reg", "xreg", "xxreg"].iter().any(|r| src.name.strip_prefix(r).is_some_and(|n| n.parse::<u32>().is_ok()));
    if shown.parse::<u128>().is_ok() && (register || !whole) {
        hex(value)
    } else {
        shown
    }
}

/// A value taken from or given back to the `push`/`pop` stack.
fn show_stacked(v: &Stacked) -> String {
    match v {
        Stacked::Int(v) => hex(*v),
        Stacked::Port(name) => format!("\"{name}\""),
    }
}

/// Hex as ovn-trace prints register values: `0`, `0xa000001`.
fn hex(v: u128) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

fn show_field(f: &FieldRef) -> String {
    let mut s = String::new();
    crate::print::write_field(&mut s, f);
    s
}

impl<'a> Tracer<'a> {
    /// An error line; minimal traces show it too (as ovn-trace's do).
    fn error(&mut self, text: impl Into<String>) -> Node {
        self.errors += 1;
        line(LineKind::Error, text, true)
    }

    /// Match or action text as shown: with friendly port names if asked.
    fn shown(&self, text: String) -> String {
        if self.opts.friendly_names {
            self.net.friendly_text(&text).into_owned()
        } else {
            text
        }
    }

    fn port_name(&self, name: &str) -> String {
        self.net.port_display(name, self.opts.friendly_names).to_string()
    }

    fn pipeline_header(&self, pipeline: Pipeline, dp: usize, p: &Packet) -> String {
        let dpn = self.net.dp_display(dp, self.opts.friendly_names);
        let inport = self.port_name(p.port("reg14"));
        match pipeline {
            Pipeline::Ingress => format!("ingress(dp=\"{dpn}\", inport=\"{inport}\")"),
            Pipeline::Egress => {
                format!("egress(dp=\"{dpn}\", inport=\"{inport}\", outport=\"{}\")", self.port_name(p.port("reg15")))
            }
        }
    }

    /// Looks the packet up in `cx`'s table and runs the flow it hits;
    /// what happens goes to `out`.
    fn run_table(&mut self, cx: Cx, p: &mut Packet, out: &mut Vec<Node>) {
        self.steps += 1;
        if cx.depth >= MAX_DEPTH || self.steps > MAX_STEPS {
            let e = self.error(format!(
                "trace too long: stopped at table {} (more than {MAX_DEPTH} nested lookups or {MAX_STEPS} lookups in all)",
                cx.table
            ));
            out.push(e);
            return;
        }
        let dp = &self.net.datapaths[cx.dp];
        let lookup = self.net.lookup(cx.dp);
        let mut hit: Option<&'a Flow> = None;
        let mut eval_errors = Vec::new();
        let flows: &'a [Flow] = self.net.datapaths[cx.dp].table(cx.pipeline, cx.table);
        for f in flows {
            match eval(&f.matcher, p, self.symtab, &lookup) {
                Ok(true) => {
                    hit = Some(f);
                    break;
                }
                Ok(false) => {}
                Err(e) => eval_errors.push(format!(
                    "flow {} ({}) cannot be evaluated: {}",
                    short_uuid(&f.uuid),
                    f.match_text,
                    e.message()
                )),
            }
        }
        let _ = dp;
        for e in eval_errors {
            let n = self.error(e);
            out.push(n);
        }
        let Some(flow) = hit else {
            self.drops += 1;
            out.push(Node::NoMatch { table: cx.table });
            return;
        };
        let mut own = Vec::new();
        let mut after = Vec::new();
        let cx = Cx { depth: cx.depth + 1, ..cx };
        if flow.actions.is_empty() {
            // An empty action list (`/* drop */`, or `drop;` parsed)
            // shows as ovn-trace shows it.
            own.push(action_line("drop;"));
            self.drops += 1;
        }
        self.actions(&flow.actions, cx, p, &mut own, &mut after);
        let trivial = flow.match_text.trim() == "1"
            && matches!(
                flow.actions.as_slice(),
                [Action { kind: ActionKind::Next { pipeline: None, table: None }, .. }]
            );
        out.push(Node::Table {
            table: cx.table,
            flow: FlowRef {
                stage: flow.stage.clone(),
                source: flow.source.clone(),
                match_text: self.shown(flow.match_text.clone()),
                priority: flow.priority,
                uuid: flow.uuid.clone(),
                trivial,
            },
            actions: own,
        });
        out.append(&mut after);
    }

    /// Runs `actions`; lines go to `own`, lookups that `next` starts to
    /// `after`.
    fn actions(
        &mut self,
        actions: &[Action],
        cx: Cx,
        p: &mut Packet,
        own: &mut Vec<Node>,
        after: &mut Vec<Node>,
    ) -> Go {
        for a in actions {
            if self.action(a, cx, p, own, after) == Go::Stop {
                return Go::Stop;
            }
        }
        Go::On
    }

    fn action(&mut self, a: &Action, cx: Cx, p: &mut Packet, own: &mut Vec<Node>, after: &mut Vec<Node>) -> Go {
        let text = self.shown(print_action(a));
        match &a.kind {
            ActionKind::Next { pipeline, table } => {
                own.push(action_line(text));
                let next = Cx { pipeline: pipeline.unwrap_or(cx.pipeline), table: table.unwrap_or(cx.table + 1), ..cx };
                self.run_table(next, p, after);
            }
            ActionKind::Output => {
                own.push(action_line(text));
                match cx.pipeline {
                    Pipeline::Ingress => self.output_ingress(cx, p, own, after),
                    Pipeline::Egress => self.output_egress(cx, p, own, after),
                }
            }
            ActionKind::Drop => {
                own.push(action_line(text));
                self.drops += 1;
                return Go::Stop;
            }
            ActionKind::Load { dst, value } => {
                own.push(action_line(text));
                if let Err(e) = self.load(dst, value, p, own) {
                    let n = self.error(e);
                    own.push(n);
                }
            }
            ActionKind::Move { dst, src } => {
                own.push(action_line(text));
                if let Err(e) = self.copy(dst, src, p, own) {
                    let n = self.error(e);
                    own.push(n);
                }
            }
            ActionKind::Exchange { a: x, b: y } => {
                own.push(action_line(text));
                let r = (|| {
                    let vx = self.read(x, p)?;
                    let vy = self.read(y, p)?;
                    self.write_from(x, vy, y, p, own)?;
                    self.write_from(y, vx, x, p, own)
                })();
                if let Err(e) = r {
                    let n = self.error(e);
                    own.push(n);
                }
            }
            // Minimal traces show what the stack took and gave back.
            ActionKind::Push(f) => {
                own.push(action_line(text));
                match self.read(f, p) {
                    Ok(v) => {
                        own.push(modify(format!("push({}) -> {}", show_field(f), show_stacked(&v))));
                        self.stack.push(v)
                    }
                    Err(e) => {
                        let n = self.error(e);
                        own.push(n);
                    }
                }
            }
            ActionKind::Pop(f) => {
                own.push(action_line(text));
                match self.stack.pop() {
                    Some(v) => {
                        let shown = format!("pop({}) <- {}", show_field(f), show_stacked(&v));
                        match self.write(f, v, p, &mut Vec::new()) {
                            Ok(()) => own.push(modify(shown)),
                            Err(e) => {
                                let n = self.error(e);
                                own.push(n);
                            }
                        }
                    }
                    None => {
                        let n = self.error(format!("pop({}) from an empty stack", show_field(f)));
                        own.push(n);
                    }
                }
            }
            ActionKind::DecTtl => {
                own.push(action_line(text));
                let ttl = self.get("ip.ttl", p);
                if !is_ip(p) {
                    let n = self.error("ip.ttl-- on a packet that is not IP");
                    own.push(n);
                } else if ttl <= 1 {
                    own.push(comment(format!("ip.ttl-- of a packet with TTL {ttl}: the packet is dropped")));
                    self.drops += 1;
                    return Go::Stop;
                } else {
                    self.set("ip.ttl", ttl - 1, p);
                    own.push(modify("ip.ttl--"));
                }
            }
            ActionKind::CtNext => {
                own.push(action_line(text));
                let (flags, default) = self.next_ct();
                let mut q = p.clone();
                self.set("ct_state", flags as u128, &mut q);
                let header = format!("ct_next(ct_state={}{})", format_ct_flags(flags), default_note(default));
                self.continue_in_block(header, cx, q, own);
            }
            ActionKind::CtLb { mark, args } => {
                own.push(action_line(text));
                let (flags, default) = self.next_ct();
                let mut q = p.clone();
                let state = self.get("ct_state", &q) as u32 | flags;
                self.set("ct_state", state as u128, &mut q);
                let name = if *mark { "ct_lb_mark" } else { "ct_lb" };
                let mut notes = Vec::new();
                // The backend chosen shows in the packet, not in a comment
                // (ovn-trace says nothing either).
                match self.lb_backend(args.as_ref(), &q) {
                    Ok(Some(b)) => self.apply_backend(&b, &mut q),
                    Ok(None) => {}
                    Err(e) => {
                        let n = self.error(e);
                        notes.push(n);
                    }
                }
                let header = format!("{name}{}", default_note(default));
                let mut children = notes;
                let next = Cx { table: cx.table + 1, ..cx };
                self.run_table(next, &mut q, &mut children);
                own.push(Node::Block { header, children });
            }
            ActionKind::Nat { kind, target } => {
                own.push(action_line(text));
                let mut q = p.clone();
                let note = self.nat_ct_state(&mut q);
                let header = match target {
                    None => {
                        let what = match kind {
                            NatKind::Dnat | NatKind::DnatInCzone => "dnat",
                            NatKind::Snat | NatKind::SnatInCzone => "snat",
                        };
                        format!("{} /* assuming no un-{what} entry, so no change */{note}", kind.as_str())
                    }
                    Some(t) => match self.nat(*kind, t, &mut q) {
                        Ok(h) => format!("{h}{note}"),
                        Err(e) => {
                            let n = self.error(e);
                            own.push(n);
                            return Go::On;
                        }
                    },
                };
                self.continue_in_block(header, cx, q, own);
            }
            ActionKind::CtClear => {
                own.push(action_line(text));
                for f in ["ct_state", "ct_mark", "ct_label", "ct_nw_dst", "ct_tp_dst"] {
                    self.set(f, 0, p);
                }
            }
            ActionKind::CtCommit(_) | ActionKind::CtCommitV1 { .. } => {
                own.push(action_line(text));
            }
            // Commits and applies whatever NAT the connection has; a trace
            // knows of none. Like ct_dnat without an address, it continues
            // in the next table.
            ActionKind::CtCommitNat => {
                own.push(action_line(text));
                let mut q = p.clone();
                let note = self.nat_ct_state(&mut q);
                let header = format!("ct_commit_nat /* assuming no un-nat entry, so no change */{note}");
                self.continue_in_block(header, cx, q, own);
            }
            ActionKind::CtSnatToVip => {
                own.push(action_line(text));
                let vip = if p.field("eth_type") == 0x86dd {
                    format_value("ip6.src", true, self.get("xxreg1", p))
                } else {
                    format_value("ip4.src", true, self.get("reg1", p))
                };
                // ovn-trace names the VIP when there is one.
                if self.get(if p.field("eth_type") == 0x86dd { "xxreg1" } else { "reg1" }, p) != 0 {
                    own.push(note(format!("nat(src={vip})")));
                }
            }
            ActionKind::Nested { kind, body } => {
                own.push(action_line(text));
                self.nested(*kind, body, cx, p, own);
            }
            ActionKind::MacBinding { op, port, ip, .. } => {
                own.push(action_line(text));
                match op {
                    MacOp::PutArp | MacOp::PutNd => {}
                    MacOp::GetArp | MacOp::GetNd => {
                        let r = (|| {
                            let port = self.read_port(port, p)?;
                            let ip = self.read_int(ip, p)?;
                            Ok::<_, String>(self.net.mac_binding(&port, ip, *op == MacOp::GetNd))
                        })();
                        match r {
                            Ok(found) => {
                                let mac = found.unwrap_or(0);
                                own.push(note(match found {
                                    Some(m) => format!("MAC binding to {}.", format_value("eth.src", true, m)),
                                    None => "No MAC binding.".into(),
                                }));
                                self.set("eth.dst", mac, p);
                                own.push(modify(format!("eth.dst = {}", format_value("eth.dst", true, mac))));
                            }
                            Err(e) => {
                                let n = self.error(e);
                                own.push(n);
                            }
                        }
                    }
                }
            }
            ActionKind::PutFdb { .. } => own.push(action_line(text)),
            ActionKind::Call { dst, func } => {
                own.push(action_line(text));
                self.call(dst, func, cx, p, own);
            }
            ActionKind::Log(l) => {
                own.push(action_line(text));
                // As ovn-trace: an empty block naming the packet logged.
                let header = format!(
                    "LOG: ACL name={}, direction={}, verdict={}, severity={}, packet=\"{}\"",
                    l.name.as_deref().unwrap_or("<unnamed>"),
                    match cx.pipeline {
                        Pipeline::Ingress => "IN",
                        Pipeline::Egress => "OUT",
                    },
                    l.verdict.as_str(),
                    l.severity.as_str(),
                    p.to_openflow(&self.net.lookup(cx.dp))
                );
                own.push(Node::Block { header, children: Vec::new() });
            }
            ActionKind::SetQueue(_)
            | ActionKind::SetMeter { .. }
            | ActionKind::Sample(_)
            | ActionKind::CommitEcmpNh { .. }
            | ActionKind::CommitLbAff { .. } => own.push(action_line(text)),
            // Events go to the controller; ovn-trace says nothing more.
            ActionKind::TriggerEvent { .. } => own.push(action_line(text)),
            ActionKind::Igmp
            | ActionKind::BindVport { .. }
            | ActionKind::HandleSvcCheck(_)
            | ActionKind::HandleDhcpv6Reply => {
                // The packet goes to the controller; as in ovn-trace, the
                // trace ends there without a word.
                own.push(action_line(text));
                return Go::Stop;
            }
            // Upstream ovn-trace 23.03 stops here without choosing a
            // child port (and says nothing); so does rovn.
            ActionKind::FwdGroup { .. } => {
                own.push(action_line(text));
                return Go::Stop;
            }
        }
        Go::On
    }

    /// Runs the next table on `q` inside a block named `header` (the
    /// flow's pipeline goes on in it).
    fn continue_in_block(&mut self, header: String, cx: Cx, mut q: Packet, own: &mut Vec<Node>) {
        let mut children = Vec::new();
        let next = Cx { table: cx.table + 1, ..cx };
        self.run_table(next, &mut q, &mut children);
        own.push(Node::Block { header, children });
    }

    /// Connection state for a NAT action (`ct_dnat`, `ct_snat`, their
    /// `_in_czone` forms, `ct_commit_nat`) on `q`. As upstream's ovn-trace
    /// does, a packet not yet tracked takes the next `--ct` flags (it
    /// passes through conntrack here); a tracked one keeps its state and
    /// consumes none. Returns the note for the block header.
    fn nat_ct_state(&mut self, q: &mut Packet) -> &'static str {
        if self.get("ct_state", q) as u32 & CS_TRK != 0 {
            return "";
        }
        let (flags, default) = self.next_ct();
        self.set("ct_state", flags as u128, q);
        default_note(default)
    }

    /// The next `--ct` flags, and whether they are the default.
    fn next_ct(&mut self) -> (u32, bool) {
        let r = match self.opts.ct.get(self.ct_used) {
            Some(f) => (f | CS_TRK, false),
            None => (CS_TRK | CS_EST, true),
        };
        self.ct_used += 1;
        r
    }

    fn lb_backend(&self, args: Option<&LbArgs>, p: &Packet) -> Result<Option<LbDst>, String> {
        let v6 = match p.field("eth_type") {
            0x800 => false,
            0x86dd => true,
            _ => return Ok(None),
        };
        let backends: Vec<LbDst> = match args {
            Some(a) if !a.backends.is_empty() => a
                .backends
                .iter()
                .map(|b| LbDst { ip: b.ip.value, ipv6: b.ip.format == crate::lexer::Format::Ipv6, port: b.port })
                .collect(),
            _ => {
                return Ok(self.opts.lb_dst.filter(|d| d.ipv6 == v6));
            }
        };
        if let Some(want) = self.opts.lb_dst {
            if let Some(b) = backends
                .iter()
                .find(|b| b.ip == want.ip && b.ipv6 == want.ipv6 && (want.port.is_none() || b.port == want.port))
            {
                return Ok(Some(*b));
            }
        }
        match backends.into_iter().find(|b| b.ipv6 == v6) {
            Some(b) => Ok(Some(b)),
            None => Err("no load balancer backend of the packet's address family".into()),
        }
    }

    fn apply_backend(&self, b: &LbDst, q: &mut Packet) {
        // Remember the original destination, as conntrack does
        // (ct_nw_dst/ct_ipv6_dst, ct_tp_dst): chk_lb_hairpin needs it.
        let (orig, _) = self.ip_dst(q);
        q.set_field("ct_nw_dst", orig);
        q.set_field("ct_tp_dst", self.tp_dst(q));
        if b.ipv6 {
            self.set("ip6.dst", b.ip, q);
        } else {
            self.set("ip4.dst", b.ip, q);
        }
        if let Some(port) = b.port {
            match q.field("nw_proto") {
                6 => self.set("tcp.dst", port as u128, q),
                17 => self.set("udp.dst", port as u128, q),
                132 => self.set("sctp.dst", port as u128, q),
                _ => {}
            }
        }
        let st = self.get("ct_state", q) as u32 | CS_DNAT;
        self.set("ct_state", st as u128, q);
    }

    /// The packet's IP destination and whether it is IPv6.
    fn ip_dst(&self, q: &Packet) -> (u128, bool) {
        if q.field("eth_type") == 0x86dd {
            (q.field("ipv6_dst"), true)
        } else {
            (q.field("ip_dst"), false)
        }
    }

    /// The packet's transport destination port, 0 if none.
    fn tp_dst(&self, q: &Packet) -> u128 {
        match q.field("nw_proto") {
            6 => q.field("tcp_dst"),
            17 => q.field("udp_dst"),
            132 => q.field("sctp_dst"),
            _ => 0,
        }
    }

    /// `ct_dnat(IP)` and friends on `q`; returns the block header.
    fn nat(&self, kind: NatKind, t: &NatTarget, q: &mut Packet) -> Result<String, String> {
        let v6 = t.ip.format == crate::lexer::Format::Ipv6;
        let pkt_v6 = match q.field("eth_type") {
            0x800 => false,
            0x86dd => true,
            _ => return Err(format!("{} on a packet that is not IP", kind.as_str())),
        };
        if v6 != pkt_v6 {
            return Err(format!("{}: address family differs from the packet's", kind.as_str()));
        }
        let dst = matches!(kind, NatKind::Dnat | NatKind::DnatInCzone);
        let field = match (dst, v6) {
            (true, false) => "ip4.dst",
            (false, false) => "ip4.src",
            (true, true) => "ip6.dst",
            (false, true) => "ip6.src",
        };
        self.set(field, t.ip.value, q);
        let st = self.get("ct_state", q) as u32 | CS_TRK | if dst { CS_DNAT } else { CS_SNAT };
        self.set("ct_state", st as u128, q);
        let mut header = format!("{}({field}={}", kind.as_str(), format_value(field, true, t.ip.value));
        if let Some((lo, hi)) = t.ports {
            let proto = match q.field("nw_proto") {
                6 => Some("tcp"),
                17 => Some("udp"),
                132 => Some("sctp"),
                _ => None,
            };
            if let Some(proto) = proto {
                let pf = format!("{proto}.{}", if dst { "dst" } else { "src" });
                self.set(&pf, lo as u128, q);
                header.push_str(&format!(", {pf}={lo}"));
                if let Some(hi) = hi {
                    header.push_str(&format!("-{hi}"));
                }
            }
        }
        header.push(')');
        Ok(header)
    }

    fn nested(&mut self, kind: NestedKind, body: &[Action], cx: Cx, p: &Packet, own: &mut Vec<Node>) {
        let mut q = p.clone();
        let eth_type = p.field("eth_type");
        let proto = p.field("nw_proto");
        let ip4 = eth_type == 0x800;
        let ip6 = eth_type == 0x86dd;
        let need = |ok: bool, what: &str| {
            if ok {
                Ok(())
            } else {
                Err(format!("{} needs {what}; the packet is not one", kind.as_str()))
            }
        };
        let r: Result<&str, String> = (|| match kind {
            NestedKind::Clone => Ok("clone"),
            NestedKind::Arp => {
                need(ip4, "an IPv4 packet")?;
                clear_l3(&mut q);
                q.set_field("eth_type", 0x806);
                q.set_field("arp_op", 1);
                q.set_field("arp_sha", p.field("eth_src"));
                q.set_field("arp_spa", p.field("ip_src"));
                q.set_field("arp_tha", 0);
                q.set_field("arp_tpa", p.field("ip_dst"));
                Ok("arp")
            }
            NestedKind::NdNs => {
                need(ip6, "an IPv6 packet")?;
                let dst = p.field("ipv6_dst");
                clear_l4(&mut q);
                q.set_field("eth_dst", 0x3333_ff00_0000 | (dst & 0xff_ffff));
                q.set_field("ipv6_dst", 0xff02_0000_0000_0000_0000_0001_ff00_0000 | (dst & 0xff_ffff));
                // ovn-sb(5) lists what changes; the hop limit is not
                // among them (upstream's trace keeps it too).
                q.set_field("nw_proto", 58);
                q.set_field("icmpv6_type", 135);
                q.set_field("icmpv6_code", 0);
                q.set_field("nd_target", dst);
                Ok("nd_ns")
            }
            NestedKind::NdNa | NestedKind::NdNaRouter => {
                need(ip6 && proto == 58 && p.field("icmpv6_type") == 135, "an IPv6 neighbor solicitation")?;
                q.set_field("eth_src", p.field("eth_dst"));
                q.set_field("eth_dst", p.field("eth_src"));
                q.set_field("ipv6_dst", p.field("ipv6_src"));
                q.set_field("ipv6_src", p.field("nd_target"));
                q.set_field("icmpv6_type", 136);
                q.set_field("nd_sll", 0);
                q.set_field("nd_tll", p.field("eth_dst"));
                Ok(kind.as_str())
            }
            NestedKind::Icmp4 | NestedKind::Icmp4Error => {
                need(ip4, "an IPv4 packet")?;
                clear_l4(&mut q);
                q.set_field("nw_proto", 1);
                q.set_field("ip_frag", 0);
                q.set_field("nw_ttl", 255);
                q.set_field("icmp_type", 3);
                q.set_field("icmp_code", 1);
                Ok("icmp4")
            }
            NestedKind::Icmp6 | NestedKind::Icmp6Error => {
                need(ip6, "an IPv6 packet")?;
                clear_l4(&mut q);
                q.set_field("nw_proto", 58);
                q.set_field("nw_ttl", 255);
                q.set_field("icmpv6_type", 1);
                q.set_field("icmpv6_code", 1);
                Ok("icmp6")
            }
            NestedKind::TcpReset => {
                need((ip4 || ip6) && proto == 6, "a TCP packet")?;
                q.set_field("tcp_flags", 0x004);
                q.set_field("nw_ttl", 255);
                Ok("tcp_reset")
            }
            NestedKind::SctpAbort => {
                need((ip4 || ip6) && proto == 132, "an SCTP packet")?;
                q.set_field("nw_ttl", 255);
                Ok("sctp_abort")
            }
            NestedKind::Reject => {
                need(ip4 || ip6, "an IP packet")?;
                q.set_field("eth_src", p.field("eth_dst"));
                q.set_field("eth_dst", p.field("eth_src"));
                let (s, d) = if ip4 { ("ip_src", "ip_dst") } else { ("ipv6_src", "ipv6_dst") };
                q.set_field(s, p.field(d));
                q.set_field(d, p.field(s));
                q.set_field("nw_ttl", 255);
                if proto == 6 {
                    q.set_field("tcp_flags", 0x004);
                    Ok("tcp_reset")
                } else if ip4 {
                    clear_l4(&mut q);
                    q.set_field("nw_proto", 1);
                    q.set_field("icmp_type", 3);
                    q.set_field("icmp_code", 1);
                    Ok("icmp4")
                } else {
                    clear_l4(&mut q);
                    q.set_field("nw_proto", 58);
                    q.set_field("icmpv6_type", 1);
                    q.set_field("icmpv6_code", 1);
                    Ok("icmp6")
                }
            }
        })();
        match r {
            Err(e) => {
                let n = self.error(e);
                own.push(n);
            }
            Ok(header) => {
                let mut children = Vec::new();
                let mut after = Vec::new();
                let cx = Cx { depth: cx.depth + 1, ..cx };
                if cx.depth >= MAX_DEPTH {
                    let n = self.error("actions nested too deeply");
                    own.push(n);
                    return;
                }
                self.actions(body, cx, &mut q, &mut children, &mut after);
                children.append(&mut after);
                own.push(Node::Block { header: header.to_string(), children });
            }
        }
    }

    fn call(&mut self, dst: &FieldRef, func: &Func, cx: Cx, p: &mut Packet, own: &mut Vec<Node>) {
        let r: Result<(), String> = (|| {
            let bit = |b: bool| Stacked::Int(b as u128);
            match func {
                // The packet's size is not simulated: not larger (ovn-trace
                // assumes the same, silently).
                Func::CheckPktLarger(_) => self.write(dst, bit(false), p, own),
                Func::Check(c) => {
                    let v = match c {
                        Check::InPortSec => {
                            let port = p.port("reg14").to_string();
                            self.port_sec_violation(&port, p, true)
                        }
                        Check::OutPortSec => {
                            let port = p.port("reg15").to_string();
                            self.port_sec_violation(&port, p, false)
                        }
                        // A load-balanced packet sent back to its source:
                        // its original destination was a VIP and the
                        // backend chosen is the sender itself.
                        Check::LbHairpin => {
                            let dnat = self.get("ct_state", p) as u32 & CS_DNAT != 0;
                            let (dst, v6) = self.ip_dst(p);
                            let src = if v6 { p.field("ipv6_src") } else { p.field("ip_src") };
                            let orig = p.field("ct_nw_dst");
                            let port = p.field("ct_tp_dst");
                            let vip =
                                self.net.lb_vips.iter().any(|v| {
                                    v.ipv6 == v6 && v.ip == orig && v.port.is_none_or(|vp| vp as u128 == port)
                                });
                            dnat && is_ip(p) && src == dst && vip
                        }
                        // As ovn-trace: reported, and no answer.
                        Check::DnsLookup => {
                            let n = self.error("dns_lookup action not implemented");
                            own.push(n);
                            false
                        }
                        Check::LbHairpinReply | Check::EcmpNhMac | Check::EcmpNh | Check::LbAff => false,
                    };
                    self.write(dst, bit(v), p, own)?;
                    // The hairpin checks' results show in minimal traces
                    // although they go to registers (as ovn-trace's do).
                    if matches!(c, Check::LbHairpin | Check::LbHairpinReply) {
                        if let Slot::Int { of, .. } = self.slot(dst)? {
                            if METADATA.contains(&of) {
                                own.push(modify(format!("{} = {}", show_field(dst), u8::from(v))));
                            }
                        }
                    }
                    Ok(())
                }
                Func::Lookup { op, port, ip, mac } => {
                    let port = self.read_port(port, p)?;
                    let ip = self.read_int(ip, p)?;
                    let v6 = matches!(op, LookupOp::Nd | LookupOp::NdIp);
                    let found = self.net.mac_binding(&port, ip, v6);
                    if let Some(m) = found {
                        // ovn-trace 23.03 names the packet's eth.dst here
                        // instead of the binding's MAC (a known divergence,
                        // tests/trace_gateway.rs).
                        own.push(note(format!("MAC binding to {} found.", format_value("eth.src", true, m))));
                    }
                    let ok = match (found, mac) {
                        (None, _) => {
                            own.push(note("lookup failed - No MAC binding."));
                            false
                        }
                        (Some(m), Some(mf)) => m == self.read_int(mf, p)?,
                        (Some(_), None) => true,
                    };
                    self.write(dst, bit(ok), p, own)
                }
                // The FDB table: (datapath, MAC) -> port key.
                Func::LookupFdb { port, mac } => {
                    let port = self.read_port(port, p)?;
                    let mac = self.read_int(mac, p)?;
                    let hit = self.net.fdb_port(cx.dp, mac).is_some_and(|n| n == port);
                    own.push(note(if hit {
                        format!("MAC lookup for {} found in FDB.", format_value("eth.src", true, mac))
                    } else {
                        "lookup mac failed in mac learning table.".into()
                    }));
                    self.write(dst, bit(hit), p, own)
                }
                // A miss stores port key 0, which flows test as "none".
                Func::GetFdb { mac } => {
                    let mac = self.read_int(mac, p)?;
                    let port = self.net.fdb_port(cx.dp, mac).map(str::to_string);
                    match self.slot(dst)? {
                        Slot::Port { .. } => {
                            let name = port.unwrap_or_else(|| "none".into());
                            self.write(dst, Stacked::Port(name), p, own)
                        }
                        Slot::Int { .. } => {
                            let key = port.and_then(|n| self.net.ports.get(&n).map(|p| p.key)).unwrap_or(0);
                            self.write(dst, Stacked::Int(key as u128), p, own)
                        }
                    }
                }
                Func::PutOpts { kind, .. } => {
                    let what = match kind {
                        OptsKind::Dhcp4 => "We assume that this packet is DHCPDISCOVER or DHCPREQUEST.",
                        OptsKind::Dhcp6 => "We assume that this packet is DHCPv6 request packet.",
                        OptsKind::NdRa => "We assume that this packet is IPv6 router solicitation packet.",
                    };
                    let mut s = String::new();
                    crate::print::write_field(&mut s, dst);
                    let text = print_action(&Action {
                        kind: ActionKind::Call { dst: dst.clone(), func: func.clone() },
                        span: Default::default(),
                    });
                    let call = text.strip_prefix(&format!("{s} = ")).unwrap_or(&text).trim_end_matches(';').to_string();
                    own.push(line(LineKind::Comment, what, true));
                    own.push(line(LineKind::Modify, call, true));
                    // put_nd_ra_opts turns a router solicitation into the
                    // router advertisement answering it (ovn-sb(5)); anything
                    // else is left alone and gets 0.
                    let ok = match kind {
                        OptsKind::NdRa => {
                            let rs = p.field("eth_type") == 0x86dd
                                && p.field("nw_proto") == 58
                                && p.field("icmpv6_type") == 133;
                            if rs {
                                p.set_field("icmpv6_type", 134);
                                p.set_field("icmpv6_code", 0);
                            }
                            rs
                        }
                        _ => true,
                    };
                    self.write(dst, bit(ok), p, own)
                }
                // As in OpenFlow (a group whose buckets resubmit), the
                // chosen member goes on from the next table in a block of
                // its own; the flow's other actions go on without it.
                // Upstream picks at random unless --select-id names a
                // member; rovn takes the first.
                Func::Select(members) => {
                    let by_id = self.opts.select_id.filter(|id| members.iter().any(|m| m.id == *id));
                    let chosen = by_id.or_else(|| members.first().map(|m| m.id)).unwrap_or(0);
                    let note =
                        if by_id.is_some() { "" } else { " /* Randomly selected. Use --select-id to specify. */" };
                    let header = format!("select: {} = {chosen}{note}", show_field(dst));
                    let mut q = p.clone();
                    let mut children = Vec::new();
                    self.write(dst, Stacked::Int(chosen as u128), &mut q, &mut children)?;
                    self.run_table(Cx { table: cx.table + 1, ..cx }, &mut q, &mut children);
                    own.push(Node::Block { header, children });
                    Ok(())
                }
            }
        })();
        if let Err(e) = r {
            let n = self.error(e);
            own.push(n);
        }
    }

    /// Port security (ovn-nb(5), `Logical_Switch_Port` `port_security`):
    /// true when `port`'s rules refuse the packet in the given direction.
    fn port_sec_violation(&self, port: &str, p: &Packet, ingress: bool) -> bool {
        let Some(info) = self.net.ports.get(port) else {
            return false;
        };
        let entries: Vec<PortSec> = info.port_security.iter().filter_map(|e| PortSec::parse(e)).collect();
        if entries.is_empty() {
            return false;
        }
        let eth = if ingress { p.field("eth_src") } else { p.field("eth_dst") };
        if !ingress && eth & (1 << 40) != 0 {
            // Broadcast and multicast frames pass egress port security.
            return !entries.iter().any(|e| e.allows_l3(p, ingress));
        }
        let mine: Vec<&PortSec> = entries.iter().filter(|e| e.mac == eth).collect();
        if mine.is_empty() {
            return true;
        }
        !mine.iter().any(|e| e.allows_l3(p, ingress))
    }

    fn output_ingress(&mut self, cx: Cx, p: &Packet, own: &mut Vec<Node>, after: &mut Vec<Node>) {
        let outport = p.port("reg15").to_string();
        let inport = p.port("reg14").to_string();
        let loopback = p.field("reg10") & 1 != 0;
        let dp = &self.net.datapaths[cx.dp];
        if let Some(members) = dp.mcast.get(&outport) {
            let header = format!(
                "multicast(dp=\"{}\", mcgroup=\"{outport}\")",
                self.net.dp_display(cx.dp, self.opts.friendly_names)
            );
            let mut children = Vec::new();
            for m in members.clone() {
                if m == inport && !loopback {
                    let mut q = p.clone();
                    q.set_port("reg15", &m);
                    children.push(Node::Pipeline {
                        header: self.pipeline_header(Pipeline::Egress, cx.dp, &q),
                        children: vec![comment("omitting output because inport == outport && !flags.loopback")],
                    });
                    continue;
                }
                let mut q = p.clone();
                q.set_port("reg15", &m);
                self.egress(cx, q, &mut children);
            }
            after.push(Node::Block { header, children });
            return;
        }
        let port = match self.net.ports.get(&outport) {
            Some(port) if port.datapath == cx.dp => port,
            _ => {
                let n = self.error("output to null logical port");
                own.push(n);
                self.drops += 1;
                return;
            }
        };
        if outport == inport && !loopback {
            own.push(comment("omitting output because inport == outport && !flags.loopback"));
            self.drops += 1;
            return;
        }
        let mut q = p.clone();
        if port.kind == "chassisredirect" {
            if let Some(d) = port.distributed_port.clone() {
                own.push(comment(format!(
                    "Replacing type \"chassisredirect\" outport \"{}\" with distributed port \"{}\".",
                    self.port_name(&outport),
                    self.port_name(&d)
                )));
                q.set_port("reg15", &d);
            }
        }
        self.egress(cx, q, after);
    }

    /// Runs the egress pipeline on `q`. As upstream's trace does, the
    /// logical registers (reg0-reg9) and the flags (reg10) are cleared
    /// first (flags.loopback has been checked by then); ports and
    /// connection state stay.
    fn egress(&mut self, cx: Cx, mut q: Packet, out: &mut Vec<Node>) {
        for f in ["xxreg0", "xxreg1", "xreg4", "reg10"] {
            q.set_field(f, 0);
        }
        let header = self.pipeline_header(Pipeline::Egress, cx.dp, &q);
        let mut children = Vec::new();
        let next = Cx { pipeline: Pipeline::Egress, table: 0, ..cx };
        self.run_table(next, &mut q, &mut children);
        out.push(Node::Pipeline { header, children });
    }

    fn output_egress(&mut self, cx: Cx, p: &Packet, own: &mut Vec<Node>, after: &mut Vec<Node>) {
        let outport = p.port("reg15").to_string();
        let Some(port) = self.net.ports.get(&outport).filter(|port| port.datapath == cx.dp) else {
            let n = self.error("output to null logical port");
            own.push(n);
            self.drops += 1;
            return;
        };
        own.push(comment(format!("output to \"{}\", type \"{}\"", self.port_name(&outport), port.kind)));
        if port.kind == "patch" || port.kind == "l3gateway" {
            let Some(peer) = port.peer.as_ref().and_then(|n| self.net.ports.get(n)) else {
                let n = self.error(format!("{} port \"{outport}\" has no peer", port.kind));
                own.push(n);
                self.drops += 1;
                return;
            };
            if cx.hops >= MAX_HOPS {
                let n = self.error(format!("more than {MAX_HOPS} datapath hops: stopped"));
                own.push(n);
                return;
            }
            // Registers, flags and pkt.mark start afresh in the peer; the
            // connection tracking state stays with the packet, as in
            // upstream's trace (northd's flows ct_clear where it matters).
            let mut q = p.clone();
            for f in METADATA.iter().filter(|f| !f.starts_with("ct_")) {
                q.set_field(f, 0);
            }
            q.set_port("reg14", "");
            q.set_port("reg15", "");
            q.set_port("reg14", &peer.name);
            let dp = peer.datapath;
            let header = self.pipeline_header(Pipeline::Ingress, dp, &q);
            let mut children = Vec::new();
            let next = Cx { dp, pipeline: Pipeline::Ingress, table: 0, depth: cx.depth, hops: cx.hops + 1 };
            self.run_table(next, &mut q, &mut children);
            after.push(Node::Pipeline { header, children });
        } else {
            own.push(line(LineKind::Output, self.port_name(&outport), true));
            self.deliveries.push(Delivery { port: outport, packet: p.clone() });
        }
    }

    // ---- fields -------------------------------------------------------

    fn slot(&self, f: &FieldRef) -> Result<Slot, String> {
        let Some(s) = self.symtab.slice(&f.name) else {
            return Err(format!("`{}` is not a field this interpreter can access", f.name));
        };
        if matches!(s.root.kind, Kind::String(_)) {
            return Ok(Slot::Port { of: s.of.name });
        }
        let (lo, width) = match f.bits {
            Bits::All => (0, s.width),
            Bits::Bit(b) => (b, 1),
            Bits::Range(lo, hi) => (lo, hi.saturating_sub(lo).saturating_add(1)),
        };
        if lo as u64 + width as u64 > s.width as u64 {
            return Err(format!("bits out of range in `{}`", show_field(f)));
        }
        Ok(Slot::Int { of: s.of.name, lo: s.lo + lo, width, name: f.name.clone(), whole: matches!(f.bits, Bits::All) })
    }

    fn read(&self, f: &FieldRef, p: &Packet) -> Result<Stacked, String> {
        Ok(match self.slot(f)? {
            Slot::Port { of } => Stacked::Port(p.port(of).to_string()),
            Slot::Int { of, lo, width, .. } => {
                Stacked::Int(p.field(of).checked_shr(lo).unwrap_or(0) & width_mask(width))
            }
        })
    }

    fn read_int(&self, f: &FieldRef, p: &Packet) -> Result<u128, String> {
        match self.read(f, p)? {
            Stacked::Int(v) => Ok(v),
            Stacked::Port(_) => Err(format!("`{}` is a string field", show_field(f))),
        }
    }

    fn read_port(&self, f: &FieldRef, p: &Packet) -> Result<String, String> {
        match self.read(f, p)? {
            Stacked::Port(v) => Ok(v),
            Stacked::Int(_) => Err(format!("`{}` is not a logical port field", show_field(f))),
        }
    }

    /// Writes `v` to `f`; a change to packet data is recorded for
    /// minimal traces.
    fn write(&self, f: &FieldRef, v: Stacked, p: &mut Packet, own: &mut Vec<Node>) -> Result<(), String> {
        self.write_masked(f, v, None, None, p, own)
    }

    /// Writes `v`, read from field `src`: minimal traces show the value
    /// in `src`'s notation (a MAC from `eth.src`, hex from a register).
    fn write_from(
        &self,
        f: &FieldRef,
        v: Stacked,
        src: &FieldRef,
        p: &mut Packet,
        own: &mut Vec<Node>,
    ) -> Result<(), String> {
        self.write_masked(f, v, None, Some(src), p, own)
    }

    fn write_masked(
        &self,
        f: &FieldRef,
        v: Stacked,
        mask: Option<u128>,
        src: Option<&FieldRef>,
        p: &mut Packet,
        own: &mut Vec<Node>,
    ) -> Result<(), String> {
        match (self.slot(f)?, v) {
            (Slot::Port { of }, Stacked::Port(name)) => {
                p.set_port(of, &name);
                Ok(())
            }
            (Slot::Int { of, lo, width, name, whole }, Stacked::Int(v)) => {
                let m = mask.unwrap_or(u128::MAX) & width_mask(width);
                let v = v & m;
                let old = p.field(of);
                p.set_field(of, old & !(m << lo) | v << lo);
                if !METADATA.contains(&of) {
                    let mut s = show_field(f);
                    let shown = p.field(of).checked_shr(lo).unwrap_or(0) & width_mask(width);
                    s.push_str(" = ");
                    match src {
                        None => s.push_str(&format_value(&name, whole, shown)),
                        Some(src) => s.push_str(&format_from(src, shown)),
                    }
                    own.push(modify(s));
                }
                Ok(())
            }
            (Slot::Port { .. }, Stacked::Int(_)) => {
                Err(format!("cannot store an integer in string field `{}`", show_field(f)))
            }
            (Slot::Int { .. }, Stacked::Port(_)) => {
                Err(format!("cannot store a port name in integer field `{}`", show_field(f)))
            }
        }
    }

    fn load(&self, dst: &FieldRef, value: &Value, p: &mut Packet, own: &mut Vec<Node>) -> Result<(), String> {
        match value {
            Value::Const(c, _) => {
                let mask = c.mask.map(|_| c.mask_bits());
                self.write_masked(dst, Stacked::Int(c.value), mask, None, p, own)
            }
            Value::Str(s, _) => self.write(dst, Stacked::Port(s.clone()), p, own),
            other => Err(format!("cannot load {other:?} into `{}`", show_field(dst))),
        }
    }

    fn copy(&self, dst: &FieldRef, src: &FieldRef, p: &mut Packet, own: &mut Vec<Node>) -> Result<(), String> {
        let v = self.read(src, p)?;
        self.write_from(dst, v, src, p, own)
    }

    /// Symbol-level access for names known to be in the table.
    fn get(&self, name: &str, p: &Packet) -> u128 {
        p.get(self.symtab, name).unwrap_or(0)
    }

    fn set(&self, name: &str, v: u128, p: &mut Packet) {
        let _ = p.set(self.symtab, name, v);
    }
}

fn default_note(default: bool) -> &'static str {
    if default {
        " /* default (use --ct to customize) */"
    } else {
        ""
    }
}

/// The first 8 hex digits of a UUID, as traces show it.
pub fn short_uuid(u: &str) -> &str {
    u.get(..8).unwrap_or(u)
}

fn is_ip(p: &Packet) -> bool {
    matches!(p.field("eth_type"), 0x800 | 0x86dd)
}

fn clear_l4(q: &mut Packet) {
    for f in [
        "tcp_src",
        "tcp_dst",
        "tcp_flags",
        "udp_src",
        "udp_dst",
        "sctp_src",
        "sctp_dst",
        "icmp_type",
        "icmp_code",
        "icmpv6_type",
        "icmpv6_code",
        "nd_target",
        "nd_sll",
        "nd_tll",
    ] {
        q.set_field(f, 0);
    }
}

fn clear_l3(q: &mut Packet) {
    clear_l4(q);
    for f in
        ["nw_proto", "ip_dscp", "nw_ecn", "nw_ttl", "ip_frag", "ip_src", "ip_dst", "ipv6_src", "ipv6_dst", "ipv6_label"]
    {
        q.set_field(f, 0);
    }
}

fn print_action(a: &Action) -> String {
    crate::actions::print_action(a)
}

/// One `port_security` entry: a MAC and the addresses allowed with it.
struct PortSec {
    mac: u128,
    ip4: Vec<(u128, u128)>,
    ip6: Vec<(u128, u128)>,
}

impl PortSec {
    fn parse(entry: &str) -> Option<PortSec> {
        let mut words = entry.split_whitespace();
        let mac = parse_mac(words.next()?)?;
        let mut e = PortSec { mac, ip4: Vec::new(), ip6: Vec::new() };
        for w in words {
            let (ip, len) = match w.split_once('/') {
                Some((ip, l)) => (ip, l.parse::<u32>().ok()),
                None => (w, None),
            };
            if let Ok(a) = ip.parse::<Ipv4Addr>() {
                let m = crate::lexer::prefix_mask(len.unwrap_or(32).min(32), 32);
                e.ip4.push((u32::from(a) as u128, m));
            } else if let Ok(a) = ip.parse::<Ipv6Addr>() {
                let m = crate::lexer::prefix_mask(len.unwrap_or(128).min(128), 128);
                e.ip6.push((u128::from(a), m));
            }
        }
        Some(e)
    }

    fn has_ips(&self) -> bool {
        !self.ip4.is_empty() || !self.ip6.is_empty()
    }

    /// The link-local address derived from the MAC (EUI-64).
    fn link_local(&self) -> u128 {
        let m = self.mac as u64;
        let b = m.to_be_bytes();
        let eui = u64::from_be_bytes([b[2] ^ 0x02, b[3], b[4], 0xff, 0xfe, b[5], b[6], b[7]]);
        (0xfe80u128 << 112) | eui as u128
    }

    fn allows_l3(&self, p: &Packet, ingress: bool) -> bool {
        let in4 = |a: u128| self.ip4.iter().any(|&(ip, m)| a & m == ip & m);
        let in6 = |a: u128| self.ip6.iter().any(|&(ip, m)| a & m == ip & m);
        match p.field("eth_type") {
            0x800 if self.has_ips() => {
                if ingress {
                    let src = p.field("ip_src");
                    let dhcp = src == 0
                        && p.field("ip_dst") == 0xffff_ffff
                        && p.field("nw_proto") == 17
                        && p.field("udp_src") == 68
                        && p.field("udp_dst") == 67;
                    in4(src) || dhcp
                } else {
                    let dst = p.field("ip_dst");
                    let bcast = self.ip4.iter().any(|&(ip, m)| m != u32::MAX as u128 && dst == ip | !m & 0xffff_ffff);
                    in4(dst) || dst == 0xffff_ffff || dst >> 28 == 0xe || bcast
                }
            }
            0x86dd if self.has_ips() => {
                if ingress {
                    let src = p.field("ipv6_src");
                    in6(src) || src == self.link_local() || src == 0
                } else {
                    let dst = p.field("ipv6_dst");
                    in6(dst) || dst == self.link_local() || dst >> 120 == 0xff
                }
            }
            0x806 if ingress => p.field("arp_sha") == self.mac && (self.ip4.is_empty() || in4(p.field("arp_spa"))),
            _ => true,
        }
    }
}

fn parse_mac(s: &str) -> Option<u128> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut v = 0u128;
    for part in parts {
        v = v << 8 | u8::from_str_radix(part, 16).ok()? as u128;
    }
    Some(v)
}
