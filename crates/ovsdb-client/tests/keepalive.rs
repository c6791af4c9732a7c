//! Keepalive: the Idl probes its server and drops one that stops answering
//! without closing the connection (SIGSTOP stands for a stalled process or
//! a half-open TCP connection), then reconnects — to the same server once
//! it runs again, resuming with `monitor_cond_since`, or to the next remote.
//! The client also answers the servers' own probes, and `Idl::start` gives
//! up after its timeout instead of hanging. Timings are printed, and only
//! checked against generous bounds.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ovsdb_client::{Connection, Error, Idl, IdlOptions};
use serde_json::{json, Value};
use support::{free_port, have, repo_file, server_contents, Kind, Listen, Server, TempDir};

const DB: &str = "OVN_Northbound";
const TABLES: &[&str] = &["NB_Global", "Logical_Switch", "Address_Set"];
/// The client's probe interval in these tests.
const PROBE: Duration = Duration::from_secs(1);
/// Bound on anything that should take a few probe intervals.
const GENEROUS: Duration = Duration::from_secs(20);

fn nb_schema() -> std::path::PathBuf {
    repo_file("schemas/ovn-nb.ovsschema")
}

fn opts() -> IdlOptions {
    IdlOptions { probe_interval: Some(PROBE), max_backoff: Duration::from_millis(500), ..Default::default() }
}

/// Waits until the replica equals what `c`'s server holds.
async fn in_sync(idl: &Idl, c: &Connection, what: &str) {
    let want = server_contents(c, DB, TABLES).await;
    let ok = idl.wait_until(GENEROUS, |r| r.to_json() == want).await;
    assert!(ok, "{what}: the replica differs from the server\nreplica: {}\nserver:  {want}", idl.replica().to_json());
}

async fn write(c: &Connection, ops: Value) {
    let r = c.transact(DB, ops.as_array().unwrap().clone()).await.unwrap();
    assert!(r.iter().all(|x| x.get("error").is_none()), "{r:?}");
}

/// Polls `f` every 20 ms until it holds, at most [`GENEROUS`]; the time it took.
async fn until(what: &str, f: impl Fn() -> bool) -> Duration {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < GENEROUS, "{what}: not within {GENEROUS:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t.elapsed()
}

/// SIGSTOP on the real ovsdb-server (a one-member cluster, so that it can
/// resume monitors) under a tcp: Idl: the Idl notices within about two
/// probe intervals, keeps trying, and once the server continues it
/// reconnects with `monitor_cond_since` and its replica is exact —
/// including a change another client queued while the server was stopped
/// (a set mutation, which applied twice would undo itself).
#[tokio::test]
async fn stalled_server_is_dropped_and_the_replica_resumes() {
    if !have("ovsdb-server") {
        return;
    }
    let dir = TempDir::new("stall");
    let listen = Listen { tcp: true, clustered: true, ..Default::default() };
    let server = Server::start_listening(Kind::Upstream, &dir.0, &nb_schema(), listen).await;
    let tcp = server.tcp.clone().unwrap();
    let writer = Arc::new(Connection::connect(&server.target()).await.unwrap());
    write(
        &writer,
        json!([{"op": "insert", "table": "NB_Global", "row": {}},
               {"op": "insert", "table": "Address_Set", "row": {"name": "as1", "addresses": ["set", ["10.0.0.1"]]}},
               {"op": "insert", "table": "Logical_Switch", "row": {"name": "sw0"}}]),
    )
    .await;
    let idl = Idl::start_with(vec![tcp.clone()], DB, TABLES, opts()).await.unwrap();
    in_sync(&idl, &writer, "at start").await;
    assert_eq!((idl.connections(), idl.last_disconnect()), (1, None));

    server.signal("-STOP");
    let noticed = until("the Idl notices the stopped server", || idl.remote().is_none()).await;
    let why = idl.last_disconnect().unwrap_or_default();
    eprintln!("stalled server noticed after {noticed:?} (probe interval {PROBE:?}): {why}");
    assert!(why.contains("inactivity probe"), "{why}");
    assert!(noticed >= PROBE, "dropped before any probe could go unanswered ({noticed:?})");

    // Another client's change, queued while the server is stopped.
    let w = writer.clone();
    let queued = tokio::spawn(async move {
        write(
            &w,
            json!([{"op": "mutate", "table": "Address_Set", "where": [["name", "==", "as1"]],
                    "mutations": [["addresses", "insert", ["set", ["10.0.0.2", "10.0.0.3"]]],
                                  ["addresses", "delete", "10.0.0.1"]]},
                   {"op": "insert", "table": "Logical_Switch", "row": {"name": "while-stopped"}}]),
        )
        .await
    });
    // Long enough for reconnection attempts to hang on the stopped server
    // and be given up by their own probes.
    tokio::time::sleep(3 * PROBE).await;
    assert!(idl.remote().is_none(), "connected to a stopped server");
    let continued = Instant::now();
    server.signal("-CONT");
    queued.await.unwrap();
    until("the Idl reconnects", || idl.remote().is_some()).await;
    in_sync(&idl, &writer, "after the server continued").await;
    // Upstream resumes or, having dropped its transaction history (as it
    // sometimes does when a stalled cluster member runs again), sends the
    // whole contents; either way the replica must be exact.
    eprintln!(
        "reconnected and in sync {:?} after SIGCONT; {} connections; resumed: {}",
        continued.elapsed(),
        idl.connections(),
        idl.resumed()
    );
    assert!(idl.connections() >= 2);
    let addrs = idl.replica().to_json().to_string();
    assert!(addrs.contains("10.0.0.3") && !addrs.contains("10.0.0.1\""), "{addrs}");

    // And it keeps following.
    write(&writer, json!([{"op": "insert", "table": "Logical_Switch", "row": {"name": "after"}}])).await;
    in_sync(&idl, &writer, "after a later change").await;
}

/// Two remotes, the first the real ovsdb-server, the second rovn's (each
/// serving its own copy of the database): when the first stalls, the Idl
/// fails over to the second, and its replica becomes exactly the second's
/// contents.
#[tokio::test]
async fn fails_over_to_the_next_remote_when_the_first_stalls() {
    if !have("ovsdb-server") {
        return;
    }
    let dir = TempDir::new("failover");
    let (da, db) = (dir.0.join("a"), dir.0.join("b"));
    std::fs::create_dir_all(&da).unwrap();
    std::fs::create_dir_all(&db).unwrap();
    let listen = Listen { tcp: true, ..Default::default() };
    let a = Server::start_listening(Kind::Upstream, &da, &nb_schema(), listen).await;
    let b = Server::start_listening(Kind::Rovn, &db, &nb_schema(), listen).await;
    let wa = Connection::connect(&a.target()).await.unwrap();
    let wb = Connection::connect(&b.target()).await.unwrap();
    write(&wa, json!([{"op": "insert", "table": "Logical_Switch", "row": {"name": "on-a"}}])).await;
    write(&wb, json!([{"op": "insert", "table": "Logical_Switch", "row": {"name": "on-b"}}])).await;
    let (ta, tb) = (a.tcp.clone().unwrap(), b.tcp.clone().unwrap());

    let idl = Idl::start_with(vec![ta.clone(), tb.clone()], DB, TABLES, opts()).await.unwrap();
    assert_eq!(idl.remote().as_deref(), Some(ta.as_str()));
    in_sync(&idl, &wa, "on the first remote").await;

    a.signal("-STOP");
    let moved = until("the Idl fails over", || idl.remote().as_deref() == Some(tb.as_str())).await;
    eprintln!("failed over to rovn's server {moved:?} after stopping upstream's: {:?}", idl.last_disconnect());
    in_sync(&idl, &wb, "after failing over").await;
    write(&wb, json!([{"op": "insert", "table": "Address_Set", "row": {"name": "as-b"}}])).await;
    in_sync(&idl, &wb, "following the second remote").await;
    a.signal("-CONT");
}

/// The client answers the server's echo probes: rovn's server probing every
/// 200 ms and upstream's every second (its minimum, set through a
/// Connection row) keep an idle Idl — whose own probes are off — connected,
/// while a raw client that does not answer is dropped.
#[tokio::test]
async fn the_client_answers_the_servers_probes() {
    if !have("ovsdb-server") {
        return;
    }
    let quiet = IdlOptions { probe_interval: Some(Duration::ZERO), ..Default::default() };

    // rovn's server, probing its unix socket's clients.
    let dir = TempDir::new("answer-rovn");
    let listen = Listen { probe: Some(Some(Duration::from_millis(200))), ..Default::default() };
    let rovn = Server::start_listening(Kind::Rovn, &dir.0, &nb_schema(), listen).await;
    let idl = Idl::start_with(vec![rovn.target()], DB, TABLES, quiet.clone()).await.unwrap();
    let mut mute = tokio::net::UnixStream::connect(&rovn.sock).await.unwrap();
    let dropped = read_until_closed(&mut mute, Duration::from_secs(5)).await;
    assert!(dropped.is_some(), "rovn's server did not drop a client that ignores its probes");
    tokio::time::sleep(Duration::from_secs(2)).await;
    eprintln!("rovn's server dropped a mute client after {dropped:?}; the Idl: {:?}", idl.last_disconnect());
    assert_eq!((idl.connections(), idl.last_disconnect()), (1, None), "the Idl was dropped by rovn's server");

    // Upstream's, on a db: remote whose Connection row sets the probe.
    let dir = TempDir::new("answer-upstream");
    let up = Server::start(Kind::Upstream, &dir.0, &nb_schema()).await;
    let port = free_port();
    let c = Connection::connect(&up.target()).await.unwrap();
    write(
        &c,
        json!([{"op": "insert", "table": "Connection", "uuid-name": "c",
                "row": {"target": format!("ptcp:{port}:127.0.0.1"), "inactivity_probe": 1000}},
               {"op": "insert", "table": "NB_Global", "row": {"connections": ["named-uuid", "c"]}}]),
    )
    .await;
    up.appctl(&["ovsdb-server/add-remote", "db:OVN_Northbound,NB_Global,connections"]).await;
    let tcp = format!("tcp:127.0.0.1:{port}");
    let t = Instant::now();
    let idl = loop {
        match Idl::start_with(vec![tcp.clone()], DB, TABLES, quiet.clone()).await {
            Ok(i) => break i,
            Err(e) => assert!(t.elapsed() < GENEROUS, "upstream never listened on {tcp}: {e}"),
        }
    };
    let mut mute = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let dropped = read_until_closed(&mut mute, Duration::from_secs(10)).await;
    assert!(dropped.is_some(), "upstream did not drop a client that ignores its probes");
    tokio::time::sleep(Duration::from_secs(1)).await;
    eprintln!("upstream dropped a mute client after {dropped:?}; the Idl: {:?}", idl.last_disconnect());
    assert_eq!((idl.connections(), idl.last_disconnect()), (1, None), "the Idl was dropped by upstream");
}

/// Reads (and ignores) what arrives until the peer closes, at most `max`;
/// how long that took.
async fn read_until_closed(s: &mut (impl tokio::io::AsyncRead + Unpin), max: Duration) -> Option<Duration> {
    use tokio::io::AsyncReadExt;
    let t = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(max.saturating_sub(t.elapsed()), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(t.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

/// `Idl::start` does not hang on a missing server nor on one that never
/// answers (a listening socket nobody accepts on: connecting works, then
/// silence, and unix: sessions are not probed, so the search stays there):
/// it fails after `start_timeout` saying why for each remote. Without a
/// timeout it keeps trying.
#[tokio::test]
async fn start_gives_up_after_its_timeout() {
    let dir = TempDir::new("start-timeout");
    let silent = dir.0.join("silent.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&silent).unwrap();
    let missing = dir.0.join("missing.sock");
    let remotes = vec![format!("unix:{}", missing.display()), format!("unix:{}", silent.display())];
    let timeout = Duration::from_secs(1);
    let o = IdlOptions { start_timeout: Some(timeout), ..Default::default() };
    let t = Instant::now();
    let r = Idl::start_with(remotes.clone(), DB, TABLES, o).await;
    let took = t.elapsed();
    let e = r.err().expect("started without any server");
    eprintln!("gave up after {took:?}: {e}");
    assert!(matches!(e, Error::Timeout(_)), "{e:?}");
    let m = e.to_string();
    assert!(m.contains("no suitable server for OVN_Northbound within 1 seconds"), "{m}");
    assert!(m.contains(&format!("{}: No such file or directory", remotes[0])), "{m}");
    assert!(m.contains(&format!("{}: no answer", remotes[1])), "{m}");
    assert!(took >= timeout && took < GENEROUS, "{took:?}");

    // The silent server with a probe: the connection is dropped, and the
    // error says so.
    let o = IdlOptions {
        start_timeout: Some(Duration::from_secs(3)),
        probe_interval: Some(Duration::from_millis(300)),
        ..Default::default()
    };
    let e = Idl::start_with(remotes[1..].to_vec(), DB, TABLES, o).await.err().expect("started without a server");
    assert!(e.to_string().contains("inactivity probe"), "{e}");

    let o = IdlOptions { start_timeout: None, ..Default::default() };
    let r = tokio::time::timeout(Duration::from_millis(1500), Idl::start_with(remotes, DB, TABLES, o)).await;
    assert!(r.is_err(), "without a start timeout, start keeps trying");
}

/// The session's own probes, against scripted peers: one that reads but
/// never writes is sent an `echo` after an interval and dropped after the
/// next, and the request it left unanswered fails with that reason; one
/// that answers echoes but not the request stays connected (a slow server
/// is not a dead one).
#[tokio::test]
async fn probes_drop_a_silent_peer_and_fail_its_requests() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = TempDir::new("probe-peers");
    let probe = Duration::from_millis(300);
    let o = ovsdb_client::ConnectOptions { probe_interval: Some(probe), ..Default::default() };

    // Silent: reads what comes, answers nothing.
    let path = dir.0.join("silent.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let peer = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&got).into_owned()
    });
    let c = Connection::connect_opts(&format!("unix:{}", path.display()), &o).await.unwrap();
    let t = Instant::now();
    let e = c.request("list_dbs", vec![]).await.unwrap_err();
    let took = t.elapsed();
    eprintln!("silent peer dropped after {took:?}: {e}");
    assert_eq!(e, Error::Timeout("no response to inactivity probe after 0.3 seconds, disconnecting".into()));
    assert!(took >= 2 * probe && took < GENEROUS, "{took:?}");
    assert!(c.is_closed() && c.close_reason() == Some(e.clone()));
    assert_eq!(c.request("list_dbs", vec![]).await.unwrap_err(), e, "a later request");
    // The peer saw the request and then the probe, and then the socket closed.
    let seen = tokio::time::timeout(GENEROUS, peer).await.expect("the client did not close the socket").unwrap();
    assert!(seen.contains(r#""method":"list_dbs""#) && seen.contains(r#""method":"echo""#), "{seen}");

    // Slow: answers every echo, never the request.
    let path = dir.0.join("slow.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let _peer = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut framer = ovsdb_client::ovsdb::jsonrpc::Framer::new(1 << 20);
        let mut buf = [0u8; 4096];
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 {
                break;
            }
            framer.push(&buf[..n]);
            while let Some(Ok(m)) = framer.next_message() {
                if let ovsdb_client::ovsdb::jsonrpc::Message::Request { method, params, id } = m {
                    if method == "echo" {
                        let r = ovsdb_client::ovsdb::jsonrpc::Message::Reply { result: Value::Array(params), id };
                        let _ = s.write_all(&r.to_bytes()).await;
                    }
                }
            }
        }
    });
    let c = Connection::connect_opts(&format!("unix:{}", path.display()), &o).await.unwrap();
    let r = tokio::time::timeout(8 * probe, c.request("list_dbs", vec![])).await;
    assert!(r.is_err(), "the request should still be waiting: {r:?}");
    assert!(!c.is_closed(), "a peer that answers probes was dropped: {:?}", c.close_reason());
}
