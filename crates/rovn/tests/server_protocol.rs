//! Bad input against `rovn ovsdb-server`: malformed or wrong requests get
//! the same error replies as from the real ovsdb-server 3.1 (or the same
//! closed connection), except where upstream is wrong (recorded below);
//! and no abuse — garbage, oversized or deeply nested messages, peers
//! vanishing mid-message or mid-transaction, a thousand half-open
//! connections — takes the server down or disturbs a well-behaved client.

mod common;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::rpc::{is_uuid, Rpc};
use common::{upstreams, Served, ROVN};
use ovsdb::jsonrpc::Message;
use serde_json::{json, Value};

/// What a server answered to one case: every message up to the reply to a
/// final echo, or the connection closing.
fn answers(served: &Served, msgs: &[&str]) -> Vec<Value> {
    let mut c = Rpc::connect(&served.sock);
    // A server that closes the connection after a bad message makes later
    // sends fail, sooner or later depending on timing: whatever it answered
    // before closing is still read, so the outcome does not race.
    let sent_all = msgs.iter().all(|m| c.send_raw(m.as_bytes()));
    if sent_all {
        c.send_raw(br#"{"method":"echo","params":["end"],"id":"end"}"#);
    }
    let mut out = Vec::new();
    loop {
        match c.recv(Duration::from_secs(5)) {
            None => {
                out.push(json!("closed"));
                return out;
            }
            Some(Message::Reply { id, .. }) if id == "end" => return out,
            Some(m) => out.push(mask(&m.to_json())),
        }
    }
}

/// UUIDs masked (row order and ids differ between servers).
fn mask(v: &Value) -> Value {
    match v {
        Value::String(s) if is_uuid(s) => json!("<uuid>"),
        Value::Array(a) => Value::Array(a.iter().map(mask).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), mask(x))).collect()),
        v => v.clone(),
    }
}

const NB: &str = "OVN_Northbound";

/// Requests that must be answered exactly as upstream answers them.
fn cases() -> Vec<(&'static str, Vec<String>)> {
    let r = |method: &str, params: Value| json!({"method": method, "params": params, "id": 1}).to_string();
    let mon = |method: &str, reqs: Value| r(method, json!([NB, "m", reqs]));
    vec![
        ("unknown method", vec![r("nosuch", json!([]))]),
        ("unknown method, notification", vec![json!({"method": "nosuch", "params": [], "id": null}).to_string()]),
        ("params not an array", vec![r#"{"method":"echo","params":{},"id":1}"#.into()]),
        ("transact params not an array", vec![r#"{"method":"transact","params":"x","id":1}"#.into()]),
        ("transact without db", vec![r("transact", json!([]))]),
        ("transact, db not a string", vec![r("transact", json!([1]))]),
        ("transact, unknown db", vec![r("transact", json!(["Nope"]))]),
        ("transact, no operations", vec![r("transact", json!([NB]))]),
        ("transact, operation not an object", vec![r("transact", json!([NB, 5])), r("transact", json!([NB, "x"]))]),
        ("transact, unknown operation", vec![r("transact", json!([NB, {"op": "bogus"}]))]),
        ("get_schema without db", vec![r("get_schema", json!([])), r("get_schema", json!([5]))]),
        ("get_schema, unknown db", vec![r("get_schema", json!(["Nope"]))]),
        ("get_schema _Server", vec![r("get_schema", json!(["_Server"]))]),
        ("list_dbs with params", vec![r("list_dbs", json!([1, 2]))]),
        ("monitor, unknown db", vec![r("monitor", json!(["Nope", "m", {}]))]),
        ("monitor_cond, unknown db", vec![r("monitor_cond", json!(["Nope", "m", {}]))]),
        ("monitor, requests not an object", vec![mon("monitor", json!(5))]),
        ("monitor, unknown table", vec![mon("monitor", json!({"Nope": {}}))]),
        ("monitor, request not an object", vec![mon("monitor", json!({"ACL": 5}))]),
        ("monitor, unknown member", vec![mon("monitor", json!({"ACL": {"bogus": 1}}))]),
        ("monitor, where in v1", vec![mon("monitor", json!({"ACL": {"where": []}}))]),
        ("monitor, unknown column", vec![mon("monitor", json!({"ACL": {"columns": ["nope"]}}))]),
        ("monitor, columns not an array", vec![mon("monitor", json!({"ACL": {"columns": "x"}}))]),
        ("monitor, column not a string", vec![mon("monitor_cond", json!({"ACL": {"columns": [5]}}))]),
        ("monitor, column twice", vec![mon("monitor", json!({"ACL": [{"columns": ["name"]}, {"columns": ["name"]}]}))]),
        ("monitor, select not an object", vec![mon("monitor", json!({"ACL": {"select": 5}}))]),
        ("monitor, select flag not a boolean", vec![mon("monitor", json!({"ACL": {"select": {"insert": 5}}}))]),
        ("monitor, empty request list", vec![mon("monitor", json!({"ACL": []}))]),
        ("monitor_cond, where not an array", vec![mon("monitor_cond", json!({"ACL": {"where": 5}}))]),
        (
            "monitor_cond, where on an unknown column",
            vec![mon("monitor_cond", json!({"ACL": {"where": [["nope", "==", 1]]}}))],
        ),
        (
            "monitor_cond, where of the wrong type",
            vec![mon("monitor_cond", json!({"ACL": {"where": [["name", "==", 1]]}}))],
        ),
        ("monitor_cond_since without last id", vec![mon("monitor_cond_since", json!({"ACL": {}}))]),
        ("monitor_cond_since, unknown db", vec![r("monitor_cond_since", json!(["Nope", "m", {}, null]))]),
        ("monitor_cond_since, id not a string", vec![r("monitor_cond_since", json!([NB, "m", {"ACL": {}}, 5]))]),
        ("monitor_cond_since, id not a uuid", vec![r("monitor_cond_since", json!([NB, "m", {"ACL": {}}, "notauuid"]))]),
        ("duplicate monitor id", vec![mon("monitor_cond", json!({"ACL": {}})), mon("monitor", json!({"ACL": {}}))]),
        ("monitor_cancel without id", vec![r("monitor_cancel", json!([]))]),
        ("monitor_cancel, unknown id", vec![r("monitor_cancel", json!(["zz"]))]),
        (
            "monitor_cancel twice",
            vec![
                mon("monitor_cond", json!({"ACL": {}})),
                r("monitor_cancel", json!(["m"])),
                r("monitor_cancel", json!(["m"])),
            ],
        ),
        ("monitor_cond_change, wrong params", vec![r("monitor_cond_change", json!(["m"]))]),
        ("monitor_cond_change, unknown monitor", vec![r("monitor_cond_change", json!(["zz", "zz", {}]))]),
        (
            "monitor_cond_change, requests not an object",
            vec![mon("monitor_cond", json!({"ACL": {}})), r("monitor_cond_change", json!(["m", "m", 5]))],
        ),
        (
            "monitor_cond_change, unknown table",
            vec![mon("monitor_cond", json!({"ACL": {}})), r("monitor_cond_change", json!(["m", "m", {"Nope": [{}]}]))],
        ),
        (
            "monitor_cond_change, table not monitored",
            vec![mon("monitor_cond", json!({"ACL": {}})), r("monitor_cond_change", json!(["m", "m", {"NAT": [{}]}]))],
        ),
        (
            "monitor_cond_change, not an array",
            vec![
                mon("monitor_cond", json!({"ACL": {}})),
                r("monitor_cond_change", json!(["m", "m", {"ACL": {"where": [true]}}])),
            ],
        ),
        (
            "monitor_cond_change, columns",
            vec![
                mon("monitor_cond", json!({"ACL": {}})),
                r("monitor_cond_change", json!(["m", "m", {"ACL": [{"columns": ["name"]}]}])),
            ],
        ),
        (
            "monitor_cond_change, new id taken",
            vec![
                mon("monitor_cond", json!({"ACL": {}})),
                r("monitor_cond", json!([NB, "n", {"ACL": {}}])),
                r("monitor_cond_change", json!(["m", "n", {}])),
            ],
        ),
        ("lock without name", vec![r("lock", json!([])), r("steal", json!([5])), r("unlock", json!(["x", "y"]))]),
        ("lock twice", vec![r("lock", json!(["l"])), r("lock", json!(["l"])), r("steal", json!(["l"]))]),
        // Its own lock name: "l" may still be held by the previous case's
        // connection if the server has not yet seen it close, and then a
        // steal also brings a `locked` notification (a race, not a difference).
        ("unlock twice", vec![r("steal", json!(["u"])), r("unlock", json!(["u"])), r("unlock", json!(["u"]))]),
        ("request without id", vec![r#"{"method":"echo","params":["x"]}"#.into()]),
        (
            "_Server is read-only",
            vec![r(
                "transact",
                json!(["_Server", {"op": "select", "table": "Database", "where": [["name", "==", "_Server"]], "columns": ["name"]},
                                                          {"op": "delete", "table": "Database", "where": []}]),
            )],
        ),
        ("malformed JSON", vec!["{bad json}".into()]),
        ("not an object", vec!["[1,2]".into()]),
        ("a string", vec![r#""str""#.into()]),
        ("unknown member", vec![r#"{"method":"echo","params":[],"id":1,"x":2}"#.into()]),
        ("no method", vec![r#"{"id":1}"#.into()]),
        ("reply with both result and error", vec![r#"{"result":1,"error":2,"id":1}"#.into()]),
    ]
}

#[test]
fn bad_requests_get_the_same_answers_as_from_the_real_server() {
    if !upstreams(&["ovsdb-server"]) {
        return;
    }
    let (ours, real) = std::thread::scope(|sc| {
        let real = sc.spawn(|| Served::start("ovsdb-server", "ovn-nb.ovsschema"));
        (Served::start(ROVN, "ovn-nb.ovsschema"), real.join().expect("start ovsdb-server"))
    });
    let mut failures = Vec::new();
    for (name, msgs) in cases() {
        let msgs: Vec<&str> = msgs.iter().map(String::as_str).collect();
        let (got, want) = (answers(&ours, &msgs), answers(&real, &msgs));
        if got != want {
            failures.push(format!("{name}:\n  rovn:     {}\n  upstream: {}", json!(got), json!(want)));
        }
    }
    assert!(failures.is_empty(), "rovn and ovsdb-server answer differently:\n{}", failures.join("\n"));
    assert!(real.alive() && ours.alive());
}

/// Where upstream is wrong, rovn does what the specification says.
#[test]
fn where_upstream_is_wrong() {
    let ours = Served::start(ROVN, "ovn-nb.ovsschema");
    let r = |method: &str, params: Value, id: Value| json!({"method": method, "params": params, "id": id}).to_string();
    // ovsdb-server 3.1 reads past the end of a `monitor` request's params
    // when it has fewer than three: it crashes, or drops the connection.
    for params in [json!([NB]), json!([NB, "m"])] {
        let got = answers(&ours, &[&r("monitor", params, json!(1))]);
        let e = json!({"error": "syntax error", "details": "monitor-requests must be object", "syntax": "null"});
        assert_eq!(got, vec![json!({"id": 1, "error": e})]);
    }
    // RFC 7047 §4.1.4: a canceled transaction is answered with an error
    // "canceled"; ovsdb-server 3.1 never answers it at all.
    let wait = json!([NB, {"op": "wait", "table": "Logical_Switch", "where": [["name", "==", "x"]], "columns": ["name"],
                            "until": "!=", "rows": [], "timeout": 100000}]);
    let got = answers(&ours, &[&r("transact", wait, json!("w")), &r("cancel", json!(["w"]), Value::Null)]);
    assert_eq!(got, vec![json!({"id": "w", "error": "canceled"})]);
    // A reply nobody asked for is ignored (upstream drops the connection;
    // ignoring it keeps replies to the server's echo probes harmless).
    let got = answers(&ours, &[r#"{"result":[],"error":null,"id":"zz"}"#]);
    assert_eq!(got, Vec::<Value>::new());
    // `monitor_cond_change` on a `monitor` (v1) monitor: refused (upstream
    // accepts the condition and then ignores it).
    let got = answers(
        &ours,
        &[
            &r("monitor", json!([NB, "m", {"ACL": {}}]), json!(1)),
            &r("monitor_cond_change", json!(["m", "m", {"ACL": [{"where": [false]}]}]), json!(2)),
        ],
    );
    assert_eq!(got[1]["error"]["error"], "syntax error", "{got:?}");
}

/// A client that behaves: watches Logical_Switch rows, adds one now and
/// then, and must see every one of them.
struct Witness {
    watch: Rpc,
    write: Rpc,
    added: Vec<String>,
    seen: Vec<String>,
}

impl Witness {
    fn new(served: &Served) -> Witness {
        let mut watch = Rpc::connect(&served.sock);
        watch.ok("monitor_cond", json!([NB, "w", {"Logical_Switch": [{"columns": ["name"]}]}]));
        Witness { watch, write: Rpc::connect(&served.sock), added: Vec::new(), seen: Vec::new() }
    }

    /// Adds a switch; checks that the watcher is told, and that both
    /// connections still answer.
    fn check(&mut self, after: &str) {
        let name = format!("sw{}", self.added.len());
        self.write.transact(NB, json!([{"op": "insert", "table": "Logical_Switch", "row": {"name": name}}]));
        self.added.push(name);
        for m in self.watch.sync() {
            if let Message::Notify { method, params } = m {
                assert_eq!(method, "update2");
                for row in params[1]["Logical_Switch"].as_object().unwrap().values() {
                    self.seen.push(row["insert"]["name"].as_str().unwrap().to_string());
                }
            }
        }
        // Other clients' commits may land in between: compare as sets.
        let (mut seen, mut added) = (self.seen.clone(), self.added.clone());
        seen.sort();
        added.sort();
        assert_eq!(seen, added, "after {after}: the watcher missed updates");
    }
}

/// Sends `bytes` on a new connection and says whether the server then
/// closed it.
fn closed_after(served: &Served, bytes: &[u8]) -> bool {
    let mut c = Rpc::connect(&served.sock);
    c.send_raw(bytes);
    c.closes_within(Duration::from_secs(10))
}

#[test]
fn bad_input_never_takes_the_server_down() {
    let served = Served::start(ROVN, "ovn-nb.ovsschema");
    let mut w = Witness::new(&served);
    w.check("starting");
    for (what, bytes) in [
        ("malformed JSON", b"{\"method\": nope}".to_vec()),
        ("a non-object message", b"[1,2,3]".to_vec()),
        ("a bare string", b"\"hello\"".to_vec()),
        ("wrong params", br#"{"method":"transact","params":{"db":1},"id":1}"#.to_vec()),
        ("invalid UTF-8", b"{\"method\":\"echo\",\"params\":[\"\xff\xfe\"],\"id\":1}".to_vec()),
        ("a number out of range", br#"{"method":"echo","params":[1e999],"id":1}"#.to_vec()),
        ("deep nesting", [vec![b'['; 100_000], vec![b']'; 100_000]].concat()),
    ] {
        assert!(closed_after(&served, &bytes), "{what}: the connection stays open");
        w.check(what);
    }
    // Errors that keep the connection: it goes on working.
    let mut c = Rpc::connect(&served.sock);
    for (method, params) in
        [("nosuch", json!([])), ("transact", json!(["Nope"])), ("monitor", json!([NB, 1, {"Nope": {}}]))]
    {
        assert!(matches!(c.call(method, params).0, Message::Error { .. }));
    }
    assert_eq!(c.ok("echo", json!(["still here"])), json!(["still here"]));
    w.check("errors");

    // An oversized message: refused as soon as it crosses the limit.
    let mut big = UnixStream::connect(&served.sock).unwrap();
    let _ = big.write_all(br#"{"method":"echo","params":[""#);
    let chunk = vec![b'a'; 1 << 20];
    let mut sent = 0;
    while sent <= ovsdb_server::shell::MAX_MESSAGE + (1 << 20) {
        if big.write_all(&chunk).is_err() {
            break;
        }
        sent += chunk.len();
    }
    let max = ovsdb_server::shell::MAX_MESSAGE;
    assert!(
        sent + (1 << 20) >= max && sent <= max + (2 << 20),
        "the server read {sent} bytes of one message (limit {max})"
    );
    drop(big);
    w.check("an oversized message");

    // Peers that vanish: mid-message, mid-transaction, with a blocked
    // transaction, without reading a reply.
    for bytes in [
        &br#"{"method":"transact","params":["OVN_Northbound",{"op":"insert","table":"Logical_Switch","row":{"name":"#[..],
        br#"{"method":"transact","params":["OVN_Northbound",{"op":"wait","table":"Logical_Switch","where":[],"columns":["name"],"until":"==","rows":[],"timeout":60000}],"id":1}"#,
        br#"{"method":"transact","params":["OVN_Northbound",{"op":"insert","table":"Logical_Switch","row":{"name":"vanished"}}],"id":1}"#,
        br#"{"method":"monitor","params":["OVN_Northbound",1,{"Logical_Switch":{}}],"id":1}"#,
    ] {
        let mut c = UnixStream::connect(&served.sock).unwrap();
        c.write_all(bytes).unwrap();
        drop(c);
    }
    // The complete transaction of a vanished peer commits (it may land
    // before or after the witness's); the half-sent one does not.
    w.added.push("vanished".into());
    w.check("peers that vanished");

    // A thousand half-open connections, each stuck mid-message (the
    // server raises its descriptor limit; this test process may need to).
    raise_own_fd_limit(1200);
    let mut idle = Vec::new();
    for i in 0..1000 {
        let mut c = UnixStream::connect(&served.sock).unwrap_or_else(|e| panic!("connection {i}: {e}"));
        c.write_all(br#"{"method":"echo","par"#).unwrap();
        idle.push(c);
        if i % 250 == 249 {
            w.check("half-open connections");
        }
    }
    drop(idle);
    w.check("closing the half-open connections");
    assert!(served.alive(), "the server died:\n{}", served.log());
}

/// Makes sure this process may hold `n` descriptors (raising its soft limit
/// towards the hard one); panics with the reason if it cannot.
fn raise_own_fd_limit(n: u64) {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur < n {
            assert!(lim.rlim_max >= n, "this test needs {n} open files; the hard limit is {}", lim.rlim_max);
            lim.rlim_cur = n;
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0, "raising the open file limit");
        }
    }
}

/// CPU time a process has used so far, from its schedstat.
fn cpu_time(pid: i32) -> Duration {
    let s = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).expect("schedstat");
    Duration::from_nanos(s.split_whitespace().next().and_then(|x| x.parse().ok()).expect("schedstat time"))
}

#[test]
fn busy_polling_stops_when_the_clients_do() {
    // A bad setting is refused with the reason.
    let r = common::exec(ROVN, ["ovsdb-server", "--busy-poll=soon"]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("--busy-poll=soon: expected microseconds"), "{}", r.err);

    // A client sending request after request makes the server poll for
    // the next one (that is the point); once it stops, so does the server.
    let served = Served::start(ROVN, "ovn-nb.ovsschema");
    let pid = served.daemon.as_ref().expect("running").pid();
    let mut c = Rpc::connect(&served.sock);
    for i in 0..2000 {
        assert_eq!(c.ok("echo", json!([i])), json!([i]));
    }
    std::thread::sleep(Duration::from_millis(50));
    let before = cpu_time(pid);
    std::thread::sleep(Duration::from_millis(500));
    let used = cpu_time(pid) - before;
    // Spinning through the half second would take all of it; an idle
    // server takes next to nothing.
    assert!(used < Duration::from_millis(100), "the idle server used {used:?} of CPU in 500 ms");
    assert_eq!(c.ok("echo", json!(["still here"])), json!(["still here"]));
}

/// Whether transparent huge pages are enabled for process `pid` (None:
/// the kernel does not say).
fn thp_enabled(pid: &str) -> Option<bool> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find_map(|l| l.strip_prefix("THP_enabled:")).map(|v| v.trim() != "0")
}

#[test]
fn the_server_does_not_use_transparent_huge_pages() {
    // Its allocator would otherwise ask for them, and then a few KiB more
    // of heap (one more idle client) can make a whole 2 MiB page resident:
    // 1000 idle clients cost 10 KiB each instead of 3.5 (server_bench
    // --phases idle).
    match thp_enabled("self") {
        None => return eprintln!("skipped: the kernel does not report THP_enabled in /proc/PID/status"),
        // Inherited by the server: the test would prove nothing.
        Some(false) => return eprintln!("skipped: this test runs with transparent huge pages disabled already"),
        Some(true) => {}
    }
    let served = Served::start(ROVN, "ovn-nb.ovsschema");
    let pid = served.daemon.as_ref().expect("running").pid();
    assert_eq!(thp_enabled(&pid.to_string()), Some(false), "transparent huge pages are enabled for the server");
    let mut c = Rpc::connect(&served.sock);
    assert_eq!(c.ok("echo", json!(["ok"])), json!(["ok"]));
}
