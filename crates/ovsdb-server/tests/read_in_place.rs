//! Requests read in place (`Core::handle_text`, what the server does with
//! every text a client sends) are answered exactly as the same requests
//! parsed into messages first (`Core::handle_message`): two cores get the
//! same texts, one each way, and must send the same bytes (new rows' UUIDs
//! aside) and close the same sessions.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ovsdb::jsonrpc::Framer;
use ovsdb::{Database, DatabaseSchema, Uuid};
use ovsdb_server::{Action, Core};
use serde_json::Value;

fn core() -> Core {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/ovn-nb.ovsschema");
    let mut c = Core::in_memory(vec![Database::new(Arc::new(DatabaseSchema::from_file(&p).expect("NB schema")))]);
    for s in 1..=20 {
        c.handle_connect(s);
    }
    c
}

/// What a core sent, each message as JSON with UUIDs masked (they are
/// random), and the sessions it closed (`Err` = the shell would close).
fn sent(core: &mut Core, result: Result<(), String>) -> (Vec<(u64, Value)>, Option<String>) {
    let mut out = Vec::new();
    while let Some(a) = core.poll_action() {
        match a {
            Action::Send(s, bytes) => {
                let text = String::from_utf8(bytes.to_vec()).expect("UTF-8");
                out.push((s, serde_json::from_str(&mask_uuids(&text)).expect("JSON")));
            }
            Action::Close(s) => out.push((s, Value::from("closed"))),
        }
    }
    (out, result.err())
}

fn mask_uuids(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.char_indices().map(|(i, _)| i).find(|&i| rest.get(i..i + 36).is_some_and(Uuid::is_uuid_text)) {
        out.push_str(&rest[..i]);
        out.push_str("UUID");
        rest = &rest[i + 36..];
    }
    out.push_str(rest);
    out
}

#[test]
fn requests_read_in_place_are_answered_as_parsed_messages() {
    const NB: &str = "OVN_Northbound";
    let steps: Vec<(u64, String)> = vec![
        // Plain transactions, with escapes and non-ASCII text.
        (1, format!(r#"{{"id":1,"method":"transact","params":["{NB}",{{"op":"insert","table":"Logical_Switch","uuid-name":"s","row":{{"name":"a\"\u00e9\\\n😀","other_config":["map",[["k","v"]]]}}}}]}}"#)),
        (1, format!(r#"{{"method":"transact","id":"two","params":["{NB}",{{"op":"insert","table":"Logical_Switch_Port","uuid-name":"p","row":{{"name":"p1","tag_request":7}}}},{{"op":"mutate","table":"Logical_Switch","where":[["name","==","a\"é\\\n😀"]],"mutations":[["ports","insert",["set",[["named-uuid","p"]]]]]}}]}}"#)),
        (1, format!(r#"  {{"id":[3],"method":"transact","params":["{NB}",{{"op":"select","table":"Logical_Switch_Port","where":[["tag_request",">=",7.0]],"columns":["name","tag_request"]}}]}}"#)),
        // Errors inside the transaction: a bad operation, a commit failure.
        (1, format!(r#"{{"id":4,"method":"transact","params":["{NB}",{{"op":"insert","table":"Nope","row":{{}}}}]}}"#)),
        (1, format!(r#"{{"id":5,"method":"transact","params":["{NB}",{{"op":"insert","table":"Logical_Switch_Port","row":{{"name":"x","tag_request":99999}}}}]}}"#)),
        (1, format!(r#"{{"id":6,"method":"transact","params":["{NB}",{{"op":"insert","table":"Logical_Switch_Port","row":{{"name":"x","bogus":1}}}}]}}"#)),
        // A wait that blocks, released by a later transaction.
        (2, format!(r#"{{"id":7,"method":"transact","params":["{NB}",{{"op":"wait","table":"Logical_Switch","where":[["name","==","later"]],"columns":["name"],"until":"==","rows":[{{"name":"later"}}],"timeout":60000}}]}}"#)),
        (3, format!(r#"{{"id":8,"method":"transact","params":["{NB}",{{"op":"insert","table":"Logical_Switch","row":{{"name":"later"}}}}]}}"#)),
        // A wait that blocks, then canceled.
        (4, format!(r#"{{"id":9,"method":"transact","params":["{NB}",{{"op":"wait","table":"Logical_Switch","where":[],"columns":["name"],"until":"==","rows":[],"timeout":60000}}]}}"#)),
        (4, r#"{"id":null,"method":"cancel","params":[9]}"#.to_string()),
        // Duplicate members: the last wins, as in serde_json's maps.
        (5, format!(r#"{{"id":10,"id":11,"method":"transact","params":["{NB}",{{"op":"comment","comment":"x","comment":"y"}}]}}"#)),
        // A notification: executed, not answered.
        (5, format!(r#"{{"id":null,"method":"transact","params":["{NB}",{{"op":"insert","table":"Logical_Switch","row":{{"name":"quiet"}}}}]}}"#)),
        (5, format!(r#"{{"id":12,"method":"transact","params":["{NB}",{{"op":"select","table":"Logical_Switch","where":[["name","==","quiet"]],"columns":["name"]}}]}}"#)),
        // Unknown and read-only databases, missing database name.
        (6, r#"{"id":13,"method":"transact","params":["Nope",{"op":"comment","comment":"x"}]}"#.to_string()),
        (6, r#"{"id":14,"method":"transact","params":["_Server",{"op":"select","table":"Database","where":[["name","==","_Server"]],"columns":["name","model"]},{"op":"delete","table":"Database","where":[]}]}"#.to_string()),
        (6, r#"{"id":15,"method":"transact","params":[]}"#.to_string()),
        (6, r#"{"id":16,"method":"transact","params":[7]}"#.to_string()),
        // Other methods go the general way.
        (7, r#"{"id":17,"method":"echo","params":["x",{"b":1,"a":[2.5,-0,1e3]}]}"#.to_string()),
        (7, r#"{"id":18,"method":"list_dbs","params":[]}"#.to_string()),
        // Not JSON-RPC, or not JSON: the session is closed.
        (8, format!(r#"{{"id":19,"method":"transact","params":["{NB}"],"extra":1}}"#)),
        (9, r#"{"id":20,"method":"transact","params":{}}"#.to_string()),
        (10, r#"{"id":21,"method":7,"params":[]}"#.to_string()),
        (11, r#"{"id":22,"method":"transact","params":["OVN_Northbound",]}"#.to_string()),
        (12, "{\"id\":23,\"method\":\"transact\",\"params\":[\"\u{1}\"]}".to_string()),
        (13, r#"["not","an","object"]"#.to_string()),
        (14, r#"{"id":24,"method":"transact","params":["OVN_Northbound",{"op":"comment","comment":"\ud800"}]}"#.to_string()),
    ];
    let (mut in_place, mut parsed) = (core(), core());
    let mut now = Instant::now();
    let (mut ids, mut closed) = (Vec::new(), 0);
    for (s, text) in &steps {
        now += Duration::from_millis(1);
        let mut f = Framer::new(1 << 20);
        f.push(text.as_bytes());
        let bytes = f.next_text().expect("one text").expect("framed");
        let a = in_place.handle_text(*s, &bytes, now).map_err(|e| e.to_string());
        let a = sent(&mut in_place, a);
        let mut f = Framer::new(1 << 20);
        f.push(text.as_bytes());
        let b = match f.next_message().expect("one text") {
            Ok(m) => {
                parsed.handle_message(*s, m, now);
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        };
        let b = sent(&mut parsed, b);
        assert_eq!(a, b, "{text}");
        ids.extend(a.0.iter().map(|(_, m)| m["id"].clone()));
        closed += a.1.is_some() as usize;
    }
    // The cases did what they are there for: the blocked wait was released
    // (7) or canceled (9), the last duplicate id won (11), the
    // notification got no answer, and the bad texts closed their sessions.
    for id in [7, 9, 11] {
        assert!(ids.contains(&Value::from(id)), "{id} answered: {ids:?}");
    }
    assert!(!ids.contains(&Value::from(10)) && !ids.contains(&Value::Null), "{ids:?}");
    assert!(closed >= 6, "{closed} sessions closed");
}
