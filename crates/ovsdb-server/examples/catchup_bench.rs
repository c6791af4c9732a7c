//! Cost of many clients catching up at once: N clients monitor the same
//! 500 address sets, all fall behind (stopped ovn-controllers, say), every
//! row changes, then each catches up in turn and is sent its merged update.
//! Prints the time the core takes for the N catch-ups and how many distinct
//! notifications it built.
//!
//! ```sh
//! cargo run -p ovsdb-server --example catchup_bench [-- N]
//! ```

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use ovsdb::jsonrpc::Message;
use ovsdb::{Database, DatabaseSchema};
use ovsdb_server::core::{Action, Core};
use serde_json::{json, Value};

const NB: &str = "OVN_Northbound";

fn transact(core: &mut Core, ops: Vec<Value>) {
    let mut params = vec![json!(NB)];
    params.extend(ops);
    core.handle_message(0, Message::Request { method: "transact".into(), params, id: json!(0) }, Instant::now());
    while core.poll_action().is_some() {}
}

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/ovn-nb.ovsschema");
    let schema = DatabaseSchema::from_file(std::path::Path::new(path)).expect("NB schema");
    let mut core = Core::in_memory(vec![Database::new(Arc::new(schema))]);
    core.handle_connect(0);
    let addrs =
        |k: usize| -> Value { json!(["set", (0..20).map(|i| format!("10.{k}.{}.{i}", k % 7)).collect::<Vec<_>>()]) };
    let rows: Vec<Value> = (0..500)
        .map(|i| json!({"op": "insert", "table": "Address_Set", "row": {"name": format!("as{i}"), "addresses": addrs(0)}}))
        .collect();
    transact(&mut core, rows);
    let req = json!({"Address_Set": [{"columns": ["name", "addresses", "external_ids"]}]});
    for s in 1..=n {
        core.handle_connect(s);
        let params = vec![json!(NB), json!("m"), req.clone()];
        core.handle_message(
            s,
            Message::Request { method: "monitor_cond".into(), params, id: json!(1) },
            Instant::now(),
        );
        while core.poll_action().is_some() {}
        core.handle_behind(s);
    }
    for round in 1..=5 {
        let ops = (0..500)
            .filter(|i| i % 5 == round - 1)
            .map(|i| {
                json!({"op": "update", "table": "Address_Set", "where": [["name", "==", format!("as{i}")]],
                       "row": {"addresses": addrs(round)}})
            })
            .collect();
        transact(&mut core, ops);
    }
    let t = Instant::now();
    // Kept, as the clients' outboxes would keep them.
    let mut queued = Vec::new();
    for s in 1..=n {
        core.handle_caught_up(s);
        while let Some(a) = core.poll_action() {
            if let Action::Send(_, b) = a {
                queued.push(b);
            }
        }
    }
    let took = t.elapsed();
    let bytes: usize = queued.iter().map(|b| b.len()).sum();
    let distinct: HashSet<*const Vec<u8>> = queued.iter().map(Arc::as_ptr).collect();
    println!(
        "{n} clients caught up in {:.1} ms ({:.1} us each): {} KiB sent each, {} distinct notification(s) built",
        took.as_secs_f64() * 1e3,
        took.as_secs_f64() * 1e6 / n as f64,
        bytes / n as usize / 1024,
        distinct.len()
    );
}
