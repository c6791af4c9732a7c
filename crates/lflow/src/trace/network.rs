//! The logical network a trace runs through: datapaths with their flow
//! tables, logical ports and how they connect, multicast groups, MAC
//! bindings, address sets and port groups — the parts of the southbound
//! database `ovn-trace` reads, held in memory and filled by the caller.

use std::collections::BTreeMap;

use crate::actions::ast::{Action, Pipeline};
use crate::actions::{check_actions, parse_actions, CheckOptions};
use crate::annotate::{parse_and_annotate, Match};
use crate::lexer::{tokenize, Constant, Token};
use crate::lookup::{Lookup, Tables};
use crate::symtab::Symtab;

/// One logical flow, parsed.
#[derive(Clone, Debug)]
pub struct Flow {
    /// The southbound row's UUID (traces show its first 8 digits).
    pub uuid: String,
    /// Table number within the pipeline.
    pub table: u32,
    /// Higher wins.
    pub priority: i64,
    /// `external_ids:stage-name` (`ls_in_l2_lkup`), maybe empty.
    pub stage: String,
    /// `external_ids:source` (`northd.c:9122`), maybe empty.
    pub source: String,
    /// The match as written.
    pub match_text: String,
    /// The actions as written.
    pub actions_text: String,
    /// The annotated match.
    pub matcher: Match,
    /// The parsed actions.
    pub actions: Vec<Action>,
}

/// A flow as it comes from the database, before parsing.
#[derive(Clone, Debug, Default)]
pub struct FlowSpec {
    /// Row UUID.
    pub uuid: String,
    /// `ingress` or `egress`.
    pub pipeline: String,
    /// `table_id`.
    pub table: i64,
    /// `priority`.
    pub priority: i64,
    /// `match`.
    pub match_text: String,
    /// `actions`.
    pub actions_text: String,
    /// `external_ids:stage-name`.
    pub stage: String,
    /// `external_ids:source`.
    pub source: String,
}

/// A logical switch or router.
#[derive(Clone, Debug, Default)]
pub struct Datapath {
    /// Its name (the northbound name, else the UUID).
    pub name: String,
    /// A friendlier name, if the CMS gave one.
    pub friendly: Option<String>,
    /// Other names that find it (the northbound name).
    pub aliases: Vec<String>,
    /// Southbound UUID.
    pub uuid: String,
    /// Tunnel key.
    pub key: u32,
    /// True for logical routers.
    pub is_router: bool,
    /// Flows of the ingress pipeline, by table, highest priority first.
    pub ingress: Vec<Vec<Flow>>,
    /// Flows of the egress pipeline, by table, highest priority first.
    pub egress: Vec<Vec<Flow>>,
    /// Multicast groups by name: their member ports.
    pub mcast: BTreeMap<String, Vec<String>>,
}

impl Datapath {
    /// The flows of `pipeline`'s table `table`, best first.
    pub fn table(&self, pipeline: Pipeline, table: u32) -> &[Flow] {
        let tables = match pipeline {
            Pipeline::Ingress => &self.ingress,
            Pipeline::Egress => &self.egress,
        };
        tables.get(table as usize).map_or(&[], Vec::as_slice)
    }
}

/// A logical port binding.
#[derive(Clone, Debug, Default)]
pub struct Port {
    /// `logical_port`.
    pub name: String,
    /// Index of its datapath in [`Network::datapaths`].
    pub datapath: usize,
    /// Tunnel key within the datapath.
    pub key: u32,
    /// `type`: "" for VIFs, `patch`, `localnet`, `chassisredirect`...
    pub kind: String,
    /// `options:peer` of patch and l3gateway ports.
    pub peer: Option<String>,
    /// `options:distributed-port` of chassisredirect ports.
    pub distributed_port: Option<String>,
    /// `port_security`: "MAC [IP...]" entries.
    pub port_security: Vec<String>,
    /// A friendlier name, if the CMS gave one (`external_ids:name`).
    pub friendly: Option<String>,
}

/// A `MAC_Binding` row: `ip` on logical port `port` is at `mac`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacBinding {
    /// Logical port.
    pub port: String,
    /// IPv4 (as a 32-bit value) or IPv6 address.
    pub ip: u128,
    /// Whether `ip` is IPv6.
    pub ipv6: bool,
    /// Ethernet address, 48 bits.
    pub mac: u128,
}

/// An `FDB` row: `mac` was learnt on the port with tunnel key `port_key`
/// of the datapath with tunnel key `dp_key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdbEntry {
    /// Ethernet address, 48 bits.
    pub mac: u128,
    /// Datapath tunnel key.
    pub dp_key: u32,
    /// Port tunnel key within the datapath.
    pub port_key: u32,
}

/// Everything a trace may look at.
#[derive(Clone, Debug, Default)]
pub struct Network {
    /// Datapaths.
    pub datapaths: Vec<Datapath>,
    /// Logical ports by name.
    pub ports: BTreeMap<String, Port>,
    /// MAC bindings.
    pub mac_bindings: Vec<MacBinding>,
    /// Learnt MAC addresses (`get_fdb`, `lookup_fdb`).
    pub fdb: Vec<FdbEntry>,
    /// Address sets and port groups (southbound names, so per-datapath
    /// port groups appear as `KEY_name`).
    pub tables: Tables,
    /// Load balancer VIPs (`Load_Balancer` `vips` keys): what
    /// `chk_lb_hairpin` compares a load-balanced packet's original
    /// destination with.
    pub lb_vips: Vec<Vip>,
    /// Flows that could not be parsed, and why (upstream also skips them).
    pub warnings: Vec<String>,
}

/// A load balancer VIP: address (IPv4 as a 32-bit value) and maybe port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vip {
    /// Address.
    pub ip: u128,
    /// Whether `ip` is IPv6.
    pub ipv6: bool,
    /// Port, if the VIP has one.
    pub port: Option<u16>,
}

impl Network {
    /// An empty network.
    pub fn new() -> Network {
        Network::default()
    }

    /// Adds a datapath; returns its index.
    pub fn add_datapath(&mut self, name: &str, key: u32, is_router: bool) -> usize {
        self.datapaths.push(Datapath { name: name.to_string(), key, is_router, ..Datapath::default() });
        self.datapaths.len() - 1
    }

    /// Adds a port of datapath `dp` (an index).
    pub fn add_port(&mut self, port: Port) {
        self.tables.add_port(&port.name, port.key);
        self.ports.insert(port.name.clone(), port);
    }

    /// Parses and adds a flow to datapath `dp`. A flow that does not parse
    /// or check is left out and recorded in [`Network::warnings`].
    pub fn add_flow(&mut self, dp: usize, spec: &FlowSpec, symtab: &Symtab) {
        let pipeline = match spec.pipeline.as_str() {
            "ingress" => Pipeline::Ingress,
            "egress" => Pipeline::Egress,
            other => {
                self.warnings.push(format!("flow {}: unknown pipeline {other:?}", spec.uuid));
                return;
            }
        };
        let Ok(table) = u32::try_from(spec.table) else {
            self.warnings.push(format!("flow {}: bad table {}", spec.uuid, spec.table));
            return;
        };
        if table > 255 {
            self.warnings.push(format!("flow {}: table {table} out of range", spec.uuid));
            return;
        }
        let matcher = match parse_and_annotate(&spec.match_text, symtab) {
            Ok(m) => m,
            Err(e) => {
                self.warnings.push(format!("{}: parsing expression failed ({})", spec.match_text, e.message()));
                return;
            }
        };
        // A flow naming an address set or port group that does not exist
        // is left out, as ovn-trace leaves it out (its parser needs them).
        // The caller adds address sets and port groups first.
        if let Some(missing) = self.missing_set(dp, &spec.match_text) {
            self.warnings.push(format!("{}: parsing expression failed ({missing})", spec.match_text));
            return;
        }
        // 29 tables per pipeline: `next(200);` is refused, as ovn-trace
        // refuses it.
        let (actions, prereqs) = match parse_actions(&spec.actions_text)
            .and_then(|a| check_actions(&a, symtab, &CheckOptions::default()).map(|c| (a, c.prereqs)))
        {
            Ok(a) => a,
            Err(e) => {
                self.warnings.push(format!("{}: parsing actions failed ({})", spec.actions_text, e.message()));
                return;
            }
        };
        // The actions' prerequisites (ovn-sb(5)) join the match: a flow
        // with `tcp_reset` only matches TCP packets, as in ovn-controller
        // and ovn-trace.
        let matcher = if prereqs.is_empty() {
            matcher
        } else {
            let text = std::iter::once(spec.match_text.as_str())
                .chain(prereqs.iter().map(String::as_str))
                .map(|t| format!("({t})"))
                .collect::<Vec<_>>()
                .join(" && ");
            match parse_and_annotate(&text, symtab) {
                Ok(m) => m,
                Err(e) => {
                    self.warnings.push(format!("{}: parsing expression failed ({})", text, e.message()));
                    return;
                }
            }
        };
        let Some(d) = self.datapaths.get_mut(dp) else {
            self.warnings.push(format!("flow {}: no datapath {dp}", spec.uuid));
            return;
        };
        let tables = match pipeline {
            Pipeline::Ingress => &mut d.ingress,
            Pipeline::Egress => &mut d.egress,
        };
        if tables.len() <= table as usize {
            tables.resize_with(table as usize + 1, Vec::new);
        }
        let list = &mut tables[table as usize];
        let flow = Flow {
            uuid: spec.uuid.clone(),
            table,
            priority: spec.priority,
            stage: spec.stage.clone(),
            source: spec.source.clone(),
            match_text: spec.match_text.clone(),
            actions_text: spec.actions_text.clone(),
            matcher,
            actions,
        };
        // Highest priority first; among equals, the order flows came in.
        let at = list.partition_point(|f| f.priority >= flow.priority);
        list.insert(at, flow);
    }

    /// The first address set or port group `match_text` names that the
    /// tables lack (for datapath `dp`), as a message.
    fn missing_set(&self, dp: usize, match_text: &str) -> Option<String> {
        let key = self.datapaths.get(dp)?.key;
        tokenize(match_text).ok()?.into_iter().find_map(|t| match t.token {
            Token::AddressSet(name) if self.tables.address_set(&name).is_none() => {
                Some(format!("no address set named `${name}`"))
            }
            Token::PortGroup(name)
                if self.tables.port_group(&format!("{key}_{name}")).is_none()
                    && self.tables.port_group(&name).is_none() =>
            {
                Some(format!("no port group named `@{name}`"))
            }
            _ => None,
        })
    }

    /// Adds multicast group `name` with member ports to datapath `dp`.
    pub fn add_mcast_group(&mut self, dp: usize, name: &str, ports: Vec<String>) {
        if let Some(d) = self.datapaths.get_mut(dp) {
            d.mcast.insert(name.to_string(), ports);
        }
    }

    /// Adds a MAC binding.
    pub fn add_mac_binding(&mut self, b: MacBinding) {
        self.mac_bindings.push(b);
    }

    /// The datapath named `name` (name, friendly name, UUID or UUID prefix).
    pub fn find_datapath(&self, name: &str) -> Option<usize> {
        let exact = self.datapaths.iter().position(|d| {
            d.name == name
                || d.uuid == name
                || d.friendly.as_deref() == Some(name)
                || d.aliases.iter().any(|a| a == name)
        });
        exact.or_else(|| {
            let hits: Vec<usize> = (0..self.datapaths.len())
                .filter(|&i| name.len() >= 4 && self.datapaths[i].uuid.starts_with(name))
                .collect();
            (hits.len() == 1).then(|| hits[0])
        })
    }

    /// The MAC bound to `ip` on `port`, if any.
    pub fn mac_binding(&self, port: &str, ip: u128, ipv6: bool) -> Option<u128> {
        self.mac_bindings.iter().find(|b| b.port == port && b.ip == ip && b.ipv6 == ipv6).map(|b| b.mac)
    }

    /// The logical port of datapath `dp` (an index) that the FDB has for
    /// `mac`, if any.
    pub fn fdb_port(&self, dp: usize, mac: u128) -> Option<&str> {
        let d = self.datapaths.get(dp)?;
        let e = self.fdb.iter().find(|e| e.dp_key == d.key && e.mac == mac)?;
        self.ports.values().find(|p| p.datapath == dp && p.key == e.port_key).map(|p| p.name.as_str())
    }

    /// The name to show for port `name`.
    pub fn port_display<'a>(&'a self, name: &'a str, friendly: bool) -> &'a str {
        if friendly {
            if let Some(f) = self.ports.get(name).and_then(|p| p.friendly.as_deref()) {
                return f;
            }
        }
        name
    }

    /// `text` (a match or actions) with every quoted logical port name
    /// replaced by the port's friendly name, as ovn-trace shows them.
    pub fn friendly_text<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        if !self.ports.values().any(|p| p.friendly.is_some()) || !text.contains('"') {
            return std::borrow::Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find('"') {
            out.push_str(&rest[..start]);
            let body = &rest[start + 1..];
            // The closing quote: the first one not escaped.
            let mut end = None;
            let mut escaped = false;
            for (i, c) in body.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = Some(i);
                        break;
                    }
                    _ => escaped = false,
                }
            }
            let Some(end) = end else {
                out.push_str(&rest[start..]);
                return std::borrow::Cow::Owned(out);
            };
            let name = &body[..end];
            match self.ports.get(name).and_then(|p| p.friendly.as_deref()) {
                Some(f) => {
                    let _ = crate::lexer::write_json_string(&mut out, f);
                }
                None => {
                    out.push('"');
                    out.push_str(name);
                    out.push('"');
                }
            }
            rest = &body[end + 1..];
        }
        out.push_str(rest);
        std::borrow::Cow::Owned(out)
    }

    /// The name to show for datapath `dp`.
    pub fn dp_display(&self, dp: usize, friendly: bool) -> &str {
        let d = &self.datapaths[dp];
        if friendly {
            if let Some(f) = d.friendly.as_deref() {
                return f;
            }
        }
        &d.name
    }

    /// A [`Lookup`] seen from datapath `dp`: port group `@pg` means the
    /// southbound group `KEY_pg` of that datapath when there is one;
    /// `is_chassis_resident` holds for every known port (a trace simulates
    /// the logical network, as if every port were local).
    pub fn lookup(&self, dp: usize) -> DpLookup<'_> {
        DpLookup { net: self, key: self.datapaths.get(dp).map_or(0, |d| d.key) }
    }
}

/// See [`Network::lookup`].
pub struct DpLookup<'a> {
    net: &'a Network,
    key: u32,
}

impl Lookup for DpLookup<'_> {
    fn address_set(&self, name: &str) -> Option<&[Constant]> {
        self.net.tables.address_set(name)
    }

    fn port_group(&self, name: &str) -> Option<&[String]> {
        self.net.tables.port_group(&format!("{}_{name}", self.key)).or_else(|| self.net.tables.port_group(name))
    }

    fn port_key(&self, name: &str) -> Option<u32> {
        self.net.tables.port_key(name)
    }

    fn is_chassis_resident(&self, port: &str) -> bool {
        self.net.ports.contains_key(port)
    }
}
