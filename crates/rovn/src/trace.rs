//! `rovn trace`: simulates a packet through the logical network, with the
//! command line and output forms of upstream's ovn-trace(8). The
//! southbound tables are read once over OVSDB; the interpreter is
//! `lflow::trace`.

use std::io::Write;

use anyhow::{anyhow, bail, Context, Result};
use lflow::trace::exec::{parse_ct_flags, LbDst};
use lflow::trace::{render, trace, FdbEntry, FlowSpec, MacBinding, Network, Options, Port, Vip};
use lflow::{Packet, Symtab};
use ovsdb_client::Connection;
use serde_json::{json, Value};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs `rovn trace ARGS...`; returns the exit status.
pub fn main(args: &[String]) -> i32 {
    match run(args) {
        Ok(status) => status,
        Err(e) => {
            let _ = std::io::stdout().flush();
            eprintln!("rovn trace: {e:#}");
            1
        }
    }
}

fn usage() -> String {
    format!(
        "rovn trace: Open Virtual Network logical network tracing utility (rovn {VERSION})
usage: rovn trace [OPTIONS] [DATAPATH] MICROFLOW

DATAPATH is a logical switch or router name (or a southbound
Datapath_Binding UUID); without it, the datapath of the microflow's inport.
MICROFLOW is an OVN match expression describing one packet, e.g.
  'inport == \"lp1\" && eth.src == 00:00:00:00:00:01 && eth.dst == ff:ff:ff:ff:ff:ff'

Output options:
  --detailed              table-by-table trace (the default)
  --summary               the actions, nested by the way the packet went
  --minimal               only packet changes and deliveries
  --all                   all three
Simulation options:
  --ct=FLAGS              ct_state for the next connection tracking action
                          (new,est,rel,rpl,inv,snat,dnat; trk is implied);
                          repeat for later ones; default trk,est
  --lb-dst=IP[:PORT]      load balancer backend to choose
  --select-id=ID          member that select() chooses
  --friendly-names        show friendly port and datapath names (default)
  --no-friendly-names     show the names as in the database
Other options:
  --db=SERVER             southbound database (default: $OVN_SB_DB, else
                          unix:/var/run/ovn/ovnsb_db.sock)
  -h, --help              show this help
  -V, --version           show the version
"
    )
}

struct Args {
    db: String,
    detailed: bool,
    summary: bool,
    minimal: bool,
    opts: Options,
    datapath: Option<String>,
    microflow: String,
}

fn parse_args(args: &[String]) -> Result<Option<Args>> {
    let mut a = Args {
        db: std::env::var("OVN_SB_DB").unwrap_or_else(|_| "unix:/var/run/ovn/ovnsb_db.sock".into()),
        detailed: false,
        summary: false,
        minimal: false,
        opts: Options {
            friendly_names: true,
            ..Options::default()
        },
        datapath: None,
        microflow: String::new(),
    };
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if !arg.starts_with('-') || arg == "-" {
            positional.push(arg.clone());
            continue;
        }
        if arg == "--" {
            positional.extend(it.by_ref().cloned());
            break;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let mut value = |what: &str| -> Result<String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| anyhow!("option '{name}' requires an argument ({what})")),
            }
        };
        match name {
            "-h" | "--help" => {
                print!("{}", usage());
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("rovn trace (rovn {VERSION})");
                return Ok(None);
            }
            "--db" | "-d" => a.db = value("a database remote")?,
            "--detailed" => a.detailed = true,
            "--summary" => a.summary = true,
            "--minimal" => a.minimal = true,
            "--all" => {
                a.detailed = true;
                a.summary = true;
                a.minimal = true;
            }
            "--ct" => {
                let v = value("connection tracking flags")?;
                a.opts
                    .ct
                    .push(parse_ct_flags(&v).map_err(|e| anyhow!("--ct: {e}"))?);
            }
            "--lb-dst" => {
                let v = value("IP[:PORT]")?;
                a.opts.lb_dst = Some(LbDst::parse(&v).map_err(|e| anyhow!(e))?);
            }
            "--select-id" => {
                let v = value("a select member id")?;
                a.opts.select_id =
                    Some(v.parse().map_err(|_| {
                        anyhow!("--select-id: {v} is not a number from 0 to 65535")
                    })?);
            }
            "--friendly-names" => a.opts.friendly_names = true,
            "--no-friendly-names" => a.opts.friendly_names = false,
            "--ovs" => {
                bail!("--ovs is not supported: rovn trace simulates the logical network only")
            }
            "--detach" | "--pidfile" => bail!("{name}: daemon mode is not supported"),
            _ => bail!("unrecognized option '{arg}' (use --help for help)"),
        }
    }
    match positional.len() {
        1 => a.microflow = positional.remove(0),
        2 => {
            a.microflow = positional.remove(1);
            a.datapath = Some(positional.remove(0));
        }
        0 => bail!("a microflow argument is required (use --help for help)"),
        n => bail!("exactly one microflow argument is required, got {n} arguments (quote the microflow; use --help for help)"),
    }
    if !(a.detailed || a.summary || a.minimal) {
        a.detailed = true;
    }
    Ok(Some(a))
}

fn run(args: &[String]) -> Result<i32> {
    let Some(a) = parse_args(args)? else {
        return Ok(0);
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let tables = rt.block_on(read_tables(&a.db))?;
    let net = build_network(&tables)?;
    for w in &net.warnings {
        eprintln!("rovn trace: warning: {w}");
    }
    let symtab = Symtab::ovn();
    let dp = match &a.datapath {
        Some(name) => net
            .find_datapath(name)
            .ok_or_else(|| anyhow!("{name}: unknown datapath"))?,
        None => {
            // Find the inport first, with the global lookup.
            let p = Packet::from_microflow(&a.microflow, symtab, &net.tables)
                .map_err(|e| anyhow!("error parsing microflow: {}", e.render(&a.microflow)))?;
            let inport = p
                .get_string(symtab, "inport")
                .map_err(|e| anyhow!("{e}"))?
                .to_string();
            if inport.is_empty() {
                bail!("microflow does not specify an inport, so a datapath must be given");
            }
            net.ports
                .get(&inport)
                .map(|p| p.datapath)
                .ok_or_else(|| anyhow!("{inport}: unknown logical port"))?
        }
    };
    let packet = Packet::from_microflow(&a.microflow, symtab, &net.lookup(dp))
        .map_err(|e| anyhow!("error parsing microflow: {}", e.render(&a.microflow)))?;
    let inport = packet
        .get_string(symtab, "inport")
        .unwrap_or("")
        .to_string();
    if !inport.is_empty() && !net.ports.contains_key(&inport) {
        eprintln!("rovn trace: warning: {inport}: unknown logical port");
    }
    let t = trace(&net, symtab, dp, packet.clone(), &a.opts);
    let mut out = String::new();
    out.push_str(&format!("# {}\n", packet.to_openflow(&net.lookup(dp))));
    let several = [a.detailed, a.summary, a.minimal]
        .iter()
        .filter(|b| **b)
        .count()
        > 1;
    if a.detailed {
        if several {
            out.push_str("# Detailed trace.\n");
        }
        out.push_str(&render::detailed(&t.nodes));
    }
    if a.summary {
        if several {
            out.push_str("# Summary trace.\n");
        }
        out.push_str(&render::summary(&t.nodes));
    }
    if a.minimal {
        if several {
            out.push_str("# Minimal trace.\n");
        }
        out.push_str(&render::minimal(&t.nodes));
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(0)
}

/// The southbound rows the trace needs, table by table.
struct SbTables {
    datapaths: Vec<Value>,
    ports: Vec<Value>,
    flows: Vec<Value>,
    dp_groups: Vec<Value>,
    mcast: Vec<Value>,
    mac_bindings: Vec<Value>,
    address_sets: Vec<Value>,
    port_groups: Vec<Value>,
    load_balancers: Vec<Value>,
    fdb: Vec<Value>,
}

const TABLES: [&str; 10] = [
    "Datapath_Binding",
    "Port_Binding",
    "Logical_Flow",
    "Logical_DP_Group",
    "Multicast_Group",
    "MAC_Binding",
    "Address_Set",
    "Port_Group",
    "Load_Balancer",
    "FDB",
];

async fn read_tables(db: &str) -> Result<SbTables> {
    let conn = Connection::connect(db)
        .await
        .map_err(|e| anyhow!("{db}: cannot connect to the southbound database: {e}"))?;
    let ops: Vec<Value> = TABLES
        .iter()
        .map(|t| json!({"op": "select", "table": t, "where": []}))
        .collect();
    let results = conn
        .transact("OVN_Southbound", ops)
        .await
        .map_err(|e| anyhow!("{db}: reading the southbound database failed: {e}"))?;
    let mut rows = Vec::new();
    for (t, r) in TABLES.iter().zip(results.iter()) {
        if let Some(err) = r.get("error") {
            bail!(
                "{db}: reading {t} failed: {} ({})",
                err,
                r.get("details").cloned().unwrap_or(Value::Null)
            );
        }
        rows.push(
            r.get("rows")
                .and_then(Value::as_array)
                .cloned()
                .ok_or_else(|| anyhow!("{db}: no rows in the reply for {t}"))?,
        );
    }
    if rows.len() != TABLES.len() {
        bail!(
            "{db}: short reply ({} results for {} tables)",
            rows.len(),
            TABLES.len()
        );
    }
    let mut it = rows.into_iter();
    let mut next = || it.next().unwrap_or_default();
    Ok(SbTables {
        datapaths: next(),
        ports: next(),
        flows: next(),
        dp_groups: next(),
        mcast: next(),
        mac_bindings: next(),
        address_sets: next(),
        port_groups: next(),
        load_balancers: next(),
        fdb: next(),
    })
}

// ---- OVSDB JSON values -------------------------------------------------

fn col<'a>(row: &'a Value, c: &str) -> &'a Value {
    row.get(c).unwrap_or(&Value::Null)
}

fn string(row: &Value, c: &str) -> String {
    col(row, c).as_str().unwrap_or_default().to_string()
}

fn integer(row: &Value, c: &str) -> i64 {
    col(row, c).as_i64().unwrap_or(-1)
}

/// A UUID atom `["uuid", "..."]`.
fn uuid_of(v: &Value) -> Option<String> {
    match v.as_array().map(Vec::as_slice) {
        Some([tag, Value::String(u)]) if tag == "uuid" => Some(u.clone()),
        _ => None,
    }
}

/// The atoms of a set column (a bare atom is a one-element set).
fn set(v: &Value) -> Vec<Value> {
    match v.as_array().map(Vec::as_slice) {
        Some([tag, Value::Array(items)]) if tag == "set" => items.clone(),
        _ if v.is_null() => Vec::new(),
        _ => vec![v.clone()],
    }
}

fn strings(v: &Value) -> Vec<String> {
    set(v)
        .iter()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

fn uuids(v: &Value) -> Vec<String> {
    set(v).iter().filter_map(uuid_of).collect()
}

/// `key` in a map column.
fn map_get(v: &Value, key: &str) -> Option<String> {
    match v.as_array().map(Vec::as_slice) {
        Some([tag, Value::Array(pairs)]) if tag == "map" => {
            pairs
                .iter()
                .find_map(|p| match p.as_array().map(Vec::as_slice) {
                    Some([Value::String(k), Value::String(v)]) if k == key => Some(v.clone()),
                    _ => None,
                })
        }
        _ => None,
    }
}

fn build_network(t: &SbTables) -> Result<Network> {
    let symtab = Symtab::ovn();
    let mut net = Network::new();
    let mut dp_index = std::collections::HashMap::new();
    for row in &t.datapaths {
        let uuid = uuid_of(col(row, "_uuid")).context("Datapath_Binding row without _uuid")?;
        let ids = col(row, "external_ids");
        // As upstream: the datapath's own name is its northbound UUID; the
        // friendly one is name2 (the CMS's), else the northbound name.
        let nb_name = map_get(ids, "name");
        let name2 = map_get(ids, "name2");
        let is_router = map_get(ids, "logical-router").is_some();
        let name = map_get(ids, "logical-switch")
            .or_else(|| map_get(ids, "logical-router"))
            .unwrap_or_else(|| uuid.clone());
        let key = u32::try_from(integer(row, "tunnel_key")).unwrap_or(0);
        let i = net.add_datapath(&name, key, is_router);
        net.datapaths[i].uuid = uuid.clone();
        net.datapaths[i].friendly = name2.clone().or_else(|| nb_name.clone());
        net.datapaths[i].aliases = nb_name.into_iter().chain(name2).collect();
        dp_index.insert(uuid, i);
    }
    let mut port_by_uuid = std::collections::HashMap::new();
    for row in &t.ports {
        let Some(dp) = uuid_of(col(row, "datapath")).and_then(|u| dp_index.get(&u).copied()) else {
            continue;
        };
        let name = string(row, "logical_port");
        if let Some(u) = uuid_of(col(row, "_uuid")) {
            port_by_uuid.insert(u, name.clone());
        }
        let options = col(row, "options");
        net.add_port(Port {
            name: name.clone(),
            datapath: dp,
            key: u32::try_from(integer(row, "tunnel_key")).unwrap_or(0),
            kind: string(row, "type"),
            peer: map_get(options, "peer"),
            distributed_port: map_get(options, "distributed-port"),
            port_security: strings(col(row, "port_security")),
            friendly: map_get(col(row, "external_ids"), "name"),
        });
    }
    let groups: std::collections::HashMap<String, Vec<String>> = t
        .dp_groups
        .iter()
        .filter_map(|row| Some((uuid_of(col(row, "_uuid"))?, uuids(col(row, "datapaths")))))
        .collect();
    // Address sets and port groups before the flows: a flow naming a
    // missing one is left out.
    for row in &t.address_sets {
        let name = string(row, "name");
        let addrs = strings(col(row, "addresses"));
        let refs: Vec<&str> = addrs.iter().map(String::as_str).collect();
        if let Err(e) = net.tables.add_address_set(&name, &refs) {
            net.warnings.push(format!("address set {name}: {e}"));
        }
    }
    for row in &t.port_groups {
        let ports = strings(col(row, "ports"));
        let refs: Vec<&str> = ports.iter().map(String::as_str).collect();
        net.tables.add_port_group(&string(row, "name"), &refs);
    }
    // Flows in a stable order, so that equal-priority ties are broken the
    // same way on every run: by UUID, highest first, which is what
    // upstream ovn-trace 23.03 picks among overlapping flows of equal
    // priority (observed; tests/trace.rs compares the paths).
    let mut flows: Vec<&Value> = t.flows.iter().collect();
    flows.sort_by_key(|r| std::cmp::Reverse(uuid_of(col(r, "_uuid")).unwrap_or_default()));
    for row in flows {
        let ids = col(row, "external_ids");
        let spec = FlowSpec {
            uuid: uuid_of(col(row, "_uuid")).unwrap_or_default(),
            pipeline: string(row, "pipeline"),
            table: integer(row, "table_id"),
            priority: integer(row, "priority"),
            match_text: string(row, "match"),
            actions_text: string(row, "actions"),
            stage: map_get(ids, "stage-name").unwrap_or_default(),
            source: map_get(ids, "source").unwrap_or_default(),
        };
        let mut dps: Vec<String> = uuids(col(row, "logical_datapath"));
        for g in uuids(col(row, "logical_dp_group")) {
            dps.extend(groups.get(&g).cloned().unwrap_or_default());
        }
        for d in dps {
            if let Some(&i) = dp_index.get(&d) {
                net.add_flow(i, &spec, symtab);
            }
        }
    }
    for row in &t.mcast {
        let Some(dp) = uuid_of(col(row, "datapath")).and_then(|u| dp_index.get(&u).copied()) else {
            continue;
        };
        // Members in the order of their names, as upstream fans out.
        let mut ports = uuids(col(row, "ports"))
            .into_iter()
            .filter_map(|u| port_by_uuid.get(&u).cloned())
            .collect::<Vec<_>>();
        ports.sort();
        net.add_mcast_group(dp, &string(row, "name"), ports);
    }
    for row in &t.mac_bindings {
        let ip = string(row, "ip");
        let (ip, ipv6) = if let Ok(a) = ip.parse::<std::net::Ipv4Addr>() {
            (u32::from(a) as u128, false)
        } else if let Ok(a) = ip.parse::<std::net::Ipv6Addr>() {
            (u128::from(a), true)
        } else {
            continue;
        };
        let Ok(mac) = lflow::lookup::parse_address(&string(row, "mac")) else {
            continue;
        };
        net.add_mac_binding(MacBinding {
            port: string(row, "logical_port"),
            ip,
            ipv6,
            mac: mac.value,
        });
    }
    for row in &t.fdb {
        let Ok(mac) = lflow::lookup::parse_address(&string(row, "mac")) else {
            continue;
        };
        let (Ok(dp_key), Ok(port_key)) = (
            u32::try_from(integer(row, "dp_key")),
            u32::try_from(integer(row, "port_key")),
        ) else {
            continue;
        };
        net.fdb.push(FdbEntry {
            mac: mac.value,
            dp_key,
            port_key,
        });
    }
    for row in &t.load_balancers {
        if let Some(Value::Array(pairs)) = col(row, "vips").as_array().and_then(|a| a.get(1)) {
            for p in pairs {
                if let Some(Ok(v)) = p.get(0).and_then(Value::as_str).map(LbDst::parse) {
                    net.lb_vips.push(Vip {
                        ip: v.ip,
                        ipv6: v.ipv6,
                        port: v.port,
                    });
                }
            }
        }
    }
    Ok(net)
}
