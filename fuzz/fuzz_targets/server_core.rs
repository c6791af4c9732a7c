//! The server core (no sockets, no clock) driven by lines of input from
//! two sessions: `a TEXT` / `b TEXT` is a text session 1 / 2 sends (read as
//! the server reads it: a session whose text is not a JSON-RPC message is
//! closed and reconnected), `A` / `B` disconnects and reconnects it, `t MS` advances the clock.
//! Nothing panics; everything the core sends is one valid JSON-RPC message
//! to a connected session; the databases stay consistent.
#![no_main]
use std::collections::HashSet;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use ovsdb::jsonrpc::Framer;
use ovsdb_server::core::{Action, Core};

fn drain(core: &mut Core, connected: &HashSet<u64>) {
    while let Some(a) = core.poll_action() {
        match a {
            Action::Send(s, bytes) => {
                assert!(connected.contains(&s), "sends to closed session {s}");
                let mut f = Framer::new(usize::MAX);
                f.push(&bytes);
                match f.next_message() {
                    Some(Ok(_)) => assert_eq!(f.buffered(), 0, "more than one message in one send"),
                    other => panic!("sends {:?}, which frames as {other:?}", String::from_utf8_lossy(&bytes)),
                }
            }
            Action::Close(s) => assert!(connected.contains(&s), "closes closed session {s}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(text) = rovn_fuzz::text(data) else { return };
    let mut core = Core::in_memory(vec![rovn_fuzz::seeded_db()]);
    let mut now = Instant::now();
    let mut connected: HashSet<u64> = HashSet::from([1, 2]);
    core.handle_connect(1);
    core.handle_connect(2);
    for line in text.lines() {
        let (cmd, rest) = line.split_at(line.find(' ').unwrap_or(line.len()));
        match cmd {
            "a" | "b" => {
                let s = if cmd == "a" { 1 } else { 2 };
                // As the server does: the text as the client sent it; a
                // session whose text is not a message is closed.
                if core.handle_text(s, rest.as_bytes(), now).is_err() {
                    core.handle_disconnect(s);
                    connected.remove(&s);
                    drain(&mut core, &connected);
                    core.handle_connect(s);
                    connected.insert(s);
                }
            }
            "A" | "B" => {
                let s = if cmd == "A" { 1 } else { 2 };
                core.handle_disconnect(s);
                connected.remove(&s);
                drain(&mut core, &connected);
                core.handle_connect(s);
                connected.insert(s);
            }
            "t" => {
                let ms: u64 = rest.trim().parse().unwrap_or(1000);
                now += Duration::from_millis(ms.min(1 << 32));
                core.handle_timeout(now);
            }
            _ => continue,
        }
        drain(&mut core, &connected);
    }
    now += Duration::from_secs(1 << 30);
    core.handle_timeout(now);
    drain(&mut core, &connected);
    for name in core.db_names() {
        let db = core.database(&name).expect("listed database exists");
        db.check_invariants(true).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
});
