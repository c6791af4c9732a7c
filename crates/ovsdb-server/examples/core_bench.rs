//! CPU cost of one small transaction inside the server core, without
//! sockets or wake-ups: the `lsp-add`-like transaction of `server_bench`'s
//! sequential phase (insert a Logical_Switch_Port, add it to a switch of up
//! to 100 ports), from its bytes to the bytes of its reply, with the
//! database on disk.
//!
//! ```sh
//! cargo run --release -p ovsdb-server --example core_bench [-- N]
//! ```
//!
//! Deterministic enough to run under `valgrind --tool=callgrind`. Uses
//! the `rovn` binary's allocator.

use std::time::Instant;

use ovsdb::jsonrpc::Framer;
use ovsdb_server::core::{Action, Core};

#[global_allocator]
static GLOBAL: ovsdb_server::alloc::Allocator = ovsdb_server::alloc::Allocator;

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let dir = std::env::temp_dir().join(format!("rovn-core-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("nb.db");
    let schema_text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/ovn-nb.ovsschema"))
        .expect("schema");
    let schema = ovsdb::DatabaseSchema::from_json(&serde_json::from_str(&schema_text).expect("schema JSON"))
        .expect("schema");
    ovsdb::log::Log::create(&path, &schema).expect("create");
    let (mut core, _) = Core::open(std::slice::from_ref(&path)).expect("open");
    core.handle_connect(1);
    let mut framer = Framer::new(usize::MAX);
    let mut call = |core: &mut Core, text: &str| -> Vec<u8> {
        framer.push(text.as_bytes());
        let text = framer.next_text().expect("a message").expect("valid");
        core.handle_text(1, &text, Instant::now()).expect("valid");
        let mut reply = Vec::new();
        while let Some(a) = core.poll_action() {
            if let Action::Send(_, bytes) = a {
                reply = bytes.to_vec();
            }
        }
        reply
    };
    let mut ls = String::new();
    let t = Instant::now();
    let mut timed = std::time::Duration::ZERO;
    for i in 0..n {
        if i % 100 == 0 {
            let r = call(
                &mut core,
                &format!(r#"{{"id":0,"method":"transact","params":["OVN_Northbound",{{"op":"insert","table":"Logical_Switch","row":{{"name":"ls{i}"}}}}]}}"#),
            );
            let v: serde_json::Value = serde_json::from_slice(&r).expect("reply");
            ls = v["result"][0]["uuid"][1].as_str().expect("uuid").to_string();
        }
        let (a, b, c) = ((i >> 16) & 255, (i >> 8) & 255, i & 255);
        let text = format!(
            r#"{{"id":{i},"method":"transact","params":["OVN_Northbound",{{"op":"insert","table":"Logical_Switch_Port","uuid-name":"p","row":{{"name":"s{i}","addresses":"0a:00:00:{a:02x}:{b:02x}:{c:02x} 10.{a}.{b}.{c}","external_ids":["map",[["pod","true"],["namespace","default"]]]}}}},{{"op":"mutate","table":"Logical_Switch","where":[["_uuid","==",["uuid","{ls}"]]],"mutations":[["ports","insert",["set",[["named-uuid","p"]]]]]}}]}}"#
        );
        let t1 = Instant::now();
        let r = call(&mut core, &text);
        timed += t1.elapsed();
        assert!(r.windows(7).any(|w| w == b"\"count\""), "{}", String::from_utf8_lossy(&r));
    }
    println!(
        "{n} transactions in {:.2} s: {:.2} us each (excluding the switch inserts and request formatting)",
        t.elapsed().as_secs_f64(),
        timed.as_secs_f64() * 1e6 / n as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
}
