//! The northd 23.03 flow fixture and plausible southbound contents for the
//! names its matches use (also used by `examples/compile_bench.rs`).

use std::collections::BTreeSet;

use lflow::expr::{Expr, Operand, Value};
use lflow::{parse_expr, Tables};

pub const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/northd-23.03-flows.jsonl"
);

/// (stage, match) of every flow in the fixture.
pub fn fixture_matches() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(FIXTURE).unwrap_or_else(|e| panic!("{FIXTURE}: {e}"));
    text.lines()
        .map(|l| {
            let j: serde_json::Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
            let s = |k: &str| {
                j[k].as_str()
                    .unwrap_or_else(|| panic!("{k} in {l}"))
                    .to_string()
            };
            (s("stage"), s("match"))
        })
        .collect()
}

fn values(e: &Expr, out: &mut Vec<Value>, resident: &mut Vec<String>) {
    match e {
        Expr::Cmp { operand, .. } => match operand {
            Operand::Value(v) => out.push(v.clone()),
            Operand::Set(vs, _) => out.extend(vs.iter().cloned()),
        },
        Expr::Range { low, high, .. } => out.extend([low.clone(), high.clone()]),
        Expr::ChassisResident { port, .. } => resident.push(port.clone()),
        Expr::Not(e, _) => values(e, out, resident),
        Expr::And(es) | Expr::Or(es) => es.iter().for_each(|e| values(e, out, resident)),
        Expr::Bool { .. } | Expr::Field(_) => {}
    }
}

/// Tables that know every port, port group and address set `matches`
/// name, with made-up contents of the right kind: IPv6 addresses for sets
/// named `*_ip6`, MACs for sets named `*mac*`, IPv4 otherwise; every port
/// gets a key; groups hold the first three ports; the first port named in
/// `is_chassis_resident` is resident.
pub fn plausible_tables(matches: &[String]) -> Tables {
    let mut vals = Vec::new();
    let mut resident = Vec::new();
    for m in matches {
        if let Ok(e) = parse_expr(m) {
            values(&e, &mut vals, &mut resident);
        }
    }
    let mut ports = BTreeSet::new();
    let mut sets = BTreeSet::new();
    let mut groups = BTreeSet::new();
    for v in vals {
        match v {
            Value::Str(s, _) => {
                ports.insert(s);
            }
            Value::AddressSet(s, _) => {
                sets.insert(s);
            }
            Value::PortGroup(s, _) => {
                groups.insert(s);
            }
            _ => {}
        }
    }
    ports.extend(resident.iter().cloned());
    let mut t = Tables::new();
    for (i, p) in ports.iter().enumerate() {
        t.add_port(p, i as u32 + 1);
    }
    let some: Vec<&str> = ports.iter().take(3).map(String::as_str).collect();
    for g in &groups {
        t.add_port_group(g, &some);
    }
    for s in &sets {
        let addrs: &[&str] = if s.ends_with("_ip6") {
            &["fd00::1", "fd00::2", "fd01::/64"]
        } else if s.contains("mac") {
            &["00:00:00:00:00:01", "0a:00:00:00:00:02"]
        } else {
            &["10.0.0.1", "10.0.0.2", "192.168.0.0/24"]
        };
        t.add_address_set(s, addrs).expect("valid addresses");
    }
    if let Some(p) = resident.first() {
        t.set_resident(p);
    }
    t
}
