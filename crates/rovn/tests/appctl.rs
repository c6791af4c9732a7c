//! `ovs-appctl` against `rovn ovsdb-server`: the same commands give the same
//! answers as against the real ovsdb-server, and they do what they say
//! (exit, compact, add/remove/list remotes, reconnect, vlog).

mod common;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{shipped, upstream, Daemon, Ran, TempDir, ROVN};
use serde_json::json;

fn have_tools() -> bool {
    upstream("ovs-appctl").is_some() && upstream("ovsdb-server").is_some() && upstream("ovn-nbctl").is_some()
}

/// An NB database in `dir` served by `program` on `dir`/nb.sock.
fn serve_nb(program: &str, dir: &TempDir) -> Daemon {
    let db = dir.path("nb.db");
    let st =
        Command::new(ROVN).args(["ovsdb-tool", "create"]).arg(&db).arg(shipped("ovn-nb.ovsschema")).status().unwrap();
    assert!(st.success());
    let sock = dir.path("nb.sock");
    Daemon::start_with(
        program,
        dir,
        &sock,
        [db.into_os_string(), OsString::from(format!("--remote=punix:{}", sock.display()))],
    )
}

fn ok(r: Ran, what: &str) -> String {
    assert_eq!(r.code, 0, "{what}: {}{}", r.err, r.out);
    r.out
}

fn nbctl(sock: &Path, args: &[&str]) -> Ran {
    let mut c = Command::new("ovn-nbctl");
    c.arg(format!("--db=unix:{}", sock.display())).arg("--timeout=10").args(args);
    common::ran(c.output().expect("run ovn-nbctl"))
}

/// Runs `n` transactions over one raw connection, pipelined.
fn raw_transactions(sock: &Path, n: usize) {
    let mut s = UnixStream::connect(sock).unwrap();
    let mut out = Vec::new();
    out.extend_from_slice(
        json!({"id": 0, "method": "transact", "params": ["OVN_Northbound",
            {"op": "insert", "table": "Logical_Switch", "row": {"name": "busy"}}]})
        .to_string()
        .as_bytes(),
    );
    for i in 1..n {
        let m = json!({"id": i, "method": "transact", "params": ["OVN_Northbound",
            {"op": "update", "table": "Logical_Switch", "where": [["name", "==", "busy"]],
             "row": {"external_ids": ["map", [["seq", i.to_string()], ["pad", "z".repeat(100)]]]}}]});
        out.extend_from_slice(m.to_string().as_bytes());
    }
    s.write_all(&out).unwrap();
    let mut framer = ovsdb::jsonrpc::Framer::new(1 << 20);
    let (mut got, mut buf) = (0, [0u8; 65536]);
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    while got < n {
        let k = s.read(&mut buf).expect("replies");
        assert!(k > 0, "server closed the connection");
        framer.push(&buf[..k]);
        while let Some(v) = framer.next_value() {
            let v = v.unwrap();
            assert!(v["result"].as_array().is_some_and(|r| r.iter().all(|x| x.get("error").is_none())), "{v}");
            got += 1;
        }
    }
}

/// The replies upstream's and rovn's servers must agree on, byte for byte
/// (directory names and ovs-appctl's own target line aside).
const SCRIPT: &[&[&str]] = &[
    &["ovsdb-server/list-dbs"],
    &["ovsdb-server/list-remotes"],
    &["memory/show"],
    &["ovsdb-server/compact", "nosuch"],
    &["ovsdb-server/compact"],
    &["ovsdb-server/compact", "OVN_Northbound"],
    &["ovsdb-server/compact", "a", "b"],
    &["ovsdb-server/remove-remote", "punix:DIR/nosuch.sock"],
    &["ovsdb-server/add-remote", "punix:DIR/extra.sock"],
    &["ovsdb-server/add-remote", "punix:DIR/extra.sock"],
    &["ovsdb-server/list-remotes"],
    &["ovsdb-server/remove-remote", "punix:DIR/extra.sock"],
    &["ovsdb-server/list-remotes"],
    // Active remotes (nobody listens there: loopback port 1, a missing
    // socket), listed as given.
    &["ovsdb-server/add-remote", "tcp:127.0.0.1:1"],
    &["ovsdb-server/add-remote", "unix:DIR/nowhere.sock"],
    &["ovsdb-server/add-remote", "tcp:127.0.0.1:1"],
    &["ovsdb-server/list-remotes"],
    &["ovsdb-server/remove-remote", "tcp:127.0.0.1:1"],
    &["ovsdb-server/remove-remote", "unix:DIR/nowhere.sock"],
    &["ovsdb-server/remove-remote", "unix:DIR/nowhere.sock"],
    &["ovsdb-server/list-remotes"],
    &["ovsdb-server/add-remote"],
    &["ovsdb-server/list-dbs", "x"],
    &["nosuch"],
    &["exit", "now"],
    &["vlog/set", "nosuch:dbg"],
    &["vlog/set", "syslog:bogus"],
    &["vlog/set", "ANY:file:dbg"],
    &["vlog/set", "dbg"],
    &["vlog/set", "info"],
    &["vlog/set", "ovsdb_server:file:warn"],
    &["vlog/set"],
];

#[test]
fn appctl_answers_as_the_real_server() {
    if !have_tools() {
        return;
    }
    let mut transcripts = Vec::new();
    for program in [ROVN, "ovsdb-server"] {
        let dir = TempDir::new("appctl-diff");
        let d = serve_nb(program, &dir);
        let dirname = dir.0.display().to_string();
        let mut t = String::new();
        for cmd in SCRIPT {
            let args: Vec<String> = cmd.iter().map(|a| a.replace("DIR", &dirname)).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let r = d.appctl(&args);
            let err: Vec<&str> = r.err.lines().filter(|l| !l.starts_with("ovs-appctl: ")).collect();
            t.push_str(
                &format!("$ {}\n{}{}exit {}\n", cmd.join(" "), r.out, err.join("\n") + "\n", r.code)
                    .replace(&dirname, "DIR"),
            );
        }
        transcripts.push(t);
    }
    common::assert_lines_eq(&transcripts[0], &transcripts[1], "rovn (got) vs ovsdb-server (want)");
}

#[test]
fn appctl_commands_do_what_they_say() {
    if !have_tools() {
        return;
    }
    let dir = TempDir::new("appctl");
    let d = serve_nb(ROVN, &dir);
    let sock = dir.path("nb.sock");

    let version = ok(d.appctl(&["version"]), "version");
    assert!(version.starts_with("ovsdb-server (rovn) "), "{version}");
    let commands = ok(d.appctl(&["list-commands"]), "list-commands");
    for c in [
        "exit",
        "memory/show",
        "ovsdb-server/compact",
        "ovsdb-server/add-remote",
        "ovsdb-server/remove-remote",
        "ovsdb-server/list-remotes",
        "ovsdb-server/list-dbs",
        "ovsdb-server/reconnect",
        "vlog/set",
        "vlog/list",
        "vlog/reopen",
        "list-commands",
        "version",
    ] {
        assert!(commands.lines().any(|l| l.split_whitespace().next() == Some(c)), "{c} missing:\n{commands}");
    }

    // A new remote takes clients; removing it closes it.
    let extra = dir.path("extra.sock");
    ok(d.appctl(&["ovsdb-server/add-remote", &format!("punix:{}", extra.display())]), "add-remote");
    assert_eq!(
        ok(d.appctl(&["ovsdb-server/list-remotes"]), "list-remotes"),
        format!("punix:{}\npunix:{}\n", extra.display(), sock.display())
    );
    ok(nbctl(&extra, &["ls-add", "via-extra"]), "ovn-nbctl on the new remote");
    ok(d.appctl(&["ovsdb-server/remove-remote", &format!("punix:{}", extra.display())]), "remove-remote");
    assert!(!extra.exists(), "the removed remote's socket is gone");
    assert_ne!(nbctl(&extra, &["--timeout=1", "ls-list"]).code, 0);

    // memory/show counts the session of a connected client.
    let mut idle = UnixStream::connect(&sock).unwrap();
    let t = Instant::now();
    loop {
        let m = ok(d.appctl(&["memory/show"]), "memory/show");
        if m.contains("sessions:1") {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(5), "{m}");
    }
    // reconnect drops every client.
    ok(d.appctl(&["ovsdb-server/reconnect"]), "reconnect");
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(idle.read(&mut [0u8; 16]).unwrap(), 0, "reconnect closes client connections");

    // Compaction shrinks the file and keeps the data.
    raw_transactions(&sock, 500);
    let db = dir.path("nb.db");
    let before = std::fs::metadata(&db).unwrap().len();
    ok(d.appctl(&["ovsdb-server/compact"]), "compact");
    let after = std::fs::metadata(&db).unwrap().len();
    assert!(after * 5 < before, "compaction: {before} -> {after} bytes");
    ok(d.appctl(&["ovsdb-server/compact", "OVN_Northbound"]), "compact OVN_Northbound");
    let ids = ok(nbctl(&sock, &["get", "Logical_Switch", "busy", "external_ids:seq"]), "get");
    assert_eq!(ids.trim(), "\"499\"");
    let names = ok(nbctl(&sock, &["--bare", "--columns=name", "list", "Logical_Switch"]), "list");
    let mut names: Vec<&str> = names.split_whitespace().collect();
    names.sort();
    assert_eq!(names, ["busy", "via-extra"]);

    // vlog: debug logging on and off, per destination.
    let log = dir.path("server.log");
    let debug_lines = || std::fs::read_to_string(&log).unwrap().lines().filter(|l| l.contains("DEBUG")).count();
    ok(d.appctl(&["vlog/set", "info"]), "vlog/set info");
    let quiet = debug_lines();
    ok(d.appctl(&["ovsdb-server/list-dbs"]), "list-dbs");
    assert_eq!(debug_lines(), quiet, "no debug lines at info");
    ok(d.appctl(&["vlog/set", "ANY:file:dbg"]), "vlog/set ANY:file:dbg");
    ok(d.appctl(&["ovsdb-server/list-dbs"]), "list-dbs");
    assert!(debug_lines() > quiet, "debug lines at file:dbg");
    let list = ok(d.appctl(&["vlog/list"]), "vlog/list");
    assert!(list.lines().any(|l| l.starts_with("ovsdb_server ") && l.trim_end().ends_with("DBG")), "{list}");
    ok(d.appctl(&["vlog/set", "file:info"]), "vlog/set file:info");
    let quiet = debug_lines();
    ok(d.appctl(&["ovsdb-server/list-dbs"]), "list-dbs");
    assert_eq!(debug_lines(), quiet);
    ok(d.appctl(&["vlog/set", "dbg"]), "vlog/set dbg");
    ok(d.appctl(&["ovsdb-server/list-dbs"]), "list-dbs");
    assert!(debug_lines() > quiet);
    // vlog/reopen: a rotated log gets a fresh file.
    std::fs::rename(&log, dir.path("server.log.1")).unwrap();
    ok(d.appctl(&["vlog/reopen"]), "vlog/reopen");
    ok(d.appctl(&["ovsdb-server/list-dbs"]), "list-dbs");
    assert!(log.exists(), "vlog/reopen creates the log file again");

    // exit: the process goes, with its pidfile and sockets.
    let pid = d.pid();
    let ctl = dir.path(&format!("ovsdb-server.{pid}.ctl"));
    assert!(ctl.exists(), "default control socket name");
    assert_eq!(ok(d.appctl(&["exit"]), "exit"), "");
    let t = Instant::now();
    while Daemon::alive(pid) {
        assert!(t.elapsed() < Duration::from_secs(5), "still running after exit");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!d.pidfile.exists(), "pidfile removed");
    assert!(!ctl.exists() && !sock.exists(), "sockets removed");
}

/// `ovsdb-server/compact` runs in the background: transactions commit
/// while it writes the snapshot, it answers once the log is compacted, and
/// everything (what came before, during and after) survives a restart.
#[test]
fn manual_compaction_lets_transactions_commit_meanwhile() {
    if !have_tools() {
        return;
    }
    let dir = TempDir::new("appctl-bgcompact");
    let d = serve_nb(ROVN, &dir);
    let sock = dir.path("nb.sock");
    let db = dir.path("nb.db");
    // The snapshot written while the compaction runs; it exists only then.
    let tmp = dir.path("nb.db.tmp");
    let mut rpc = common::rpc::Rpc::connect(&sock);
    // A few MB of rows, each rewritten a few times: a log worth compacting.
    for round in 0..4 {
        let pad = round.to_string().repeat(2000);
        let ops: Vec<serde_json::Value> = (0..400)
            .map(|i| {
                let row = json!({"name": format!("sw{i}"), "external_ids": ["map", [["pad", pad], ["round", round.to_string()]]]});
                if round == 0 {
                    json!({"op": "insert", "table": "Logical_Switch", "row": row})
                } else {
                    json!({"op": "update", "table": "Logical_Switch", "where": [["name", "==", format!("sw{i}")]], "row": row})
                }
            })
            .collect();
        rpc.transact("OVN_Northbound", serde_json::Value::Array(ops));
    }
    let before = std::fs::metadata(&db).unwrap().len();

    // Transactions go on while the compaction runs; a transaction counts as
    // "during" when the compaction's new file was there both before it was
    // sent and after its reply came. A compaction that stalled the server
    // could never show one; a fast disk may take a few tries to.
    let mut during = 0;
    let mut n = 0;
    for _attempt in 0..5 {
        let mut compact = Command::new("ovs-appctl")
            .args(["--timeout=30", "-t", "ovsdb-server", "ovsdb-server/compact"])
            .env("OVS_RUNDIR", &d.rundir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        loop {
            let running = tmp.exists();
            rpc.transact(
                "OVN_Northbound",
                json!([{"op": "insert", "table": "Logical_Switch", "row": {"name": format!("during{n}")}}]),
            );
            n += 1;
            if running && tmp.exists() {
                during += 1;
            }
            if compact.try_wait().unwrap().is_some() {
                break;
            }
        }
        let out = compact.wait_with_output().unwrap();
        assert!(out.status.success(), "compact: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!tmp.exists(), "the reply comes once the compaction is complete");
        if during > 0 {
            break;
        }
    }
    assert!(during > 0, "no transaction committed while the compaction ran ({n} tried)");
    let after = std::fs::metadata(&db).unwrap().len();
    assert!(after * 2 < before, "compaction: {before} -> {after} bytes");
    rpc.transact("OVN_Northbound", json!([{"op": "insert", "table": "Logical_Switch", "row": {"name": "after"}}]));
    drop(rpc);

    // Restarted, the server has every row.
    drop(d);
    let _ = std::fs::remove_file(&sock);
    let args = [db.clone().into_os_string(), OsString::from(format!("--remote=punix:{}", sock.display()))];
    let d = Daemon::start_with(ROVN, &dir, &sock, args);
    let names = ok(nbctl(&sock, &["--bare", "--columns=name", "list", "Logical_Switch"]), "list");
    let names: std::collections::BTreeSet<&str> = names.split_whitespace().collect();
    assert_eq!(names.len(), 400 + n + 1, "rows after restart");
    assert!((0..n).all(|i| names.contains(format!("during{i}").as_str())) && names.contains("after"));
    let round = ok(nbctl(&sock, &["get", "Logical_Switch", "sw399", "external_ids:round"]), "get");
    assert_eq!(round.trim(), "\"3\"");
    drop(d);
}

/// The `held-rows:N` item of memory/show: while a client is behind, the
/// rows whose updates are held back for it, counted per row and not per
/// transaction (two rows rewritten many times: 2); gone once it has read.
#[test]
fn memory_show_counts_the_rows_held_for_a_client_that_is_behind() {
    if !have_tools() {
        return;
    }
    let dir = TempDir::new("appctl-held");
    let d = serve_nb(ROVN, &dir);
    let sock = dir.path("nb.sock");
    let memory = || ok(d.appctl(&["memory/show"]), "memory/show");
    let held =
        |m: &str| m.split_whitespace().find_map(|i| i.strip_prefix("held-rows:")).map(|n| n.parse::<u64>().unwrap());
    let mut w = common::rpc::Rpc::connect(&sock);
    w.transact(
        "OVN_Northbound",
        json!([{"op": "insert", "table": "Address_Set", "row": {"name": "a"}},
                                        {"op": "insert", "table": "Address_Set", "row": {"name": "b"}}]),
    );
    // A client that monitors Address_Set and then reads nothing.
    let mut slow = UnixStream::connect(&sock).unwrap();
    let monitor = json!({"id": "m", "method": "monitor", "params": ["OVN_Northbound", "m", {"Address_Set": {}}]});
    slow.write_all(monitor.to_string().as_bytes()).unwrap();
    let mut framer = ovsdb::jsonrpc::Framer::new(usize::MAX);
    let mut buf = vec![0u8; 1 << 20];
    slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    while framer.next_value().is_none() {
        let n = slow.read(&mut buf).expect("the monitor's reply");
        framer.push(&buf[..n]);
    }
    assert_eq!(held(&memory()), None, "nothing is held while the client keeps up:\n{}", memory());
    // 256 KiB updates to the two rows in turn, until the client is behind
    // (4 MiB waiting for it, give or take the socket buffers), then 40 more.
    let blob = "x".repeat(256 << 10);
    let update = |w: &mut common::rpc::Rpc, i: usize| {
        let name = ["a", "b"][i % 2];
        w.transact(
            "OVN_Northbound",
            json!([{"op": "update", "table": "Address_Set",
            "where": [["name", "==", name]],
            "row": {"external_ids": ["map", [["blob", blob], ["n", i.to_string()]]]}}]),
        );
    };
    let mut i = 0;
    while held(&memory()).is_none() {
        assert!(i < 400, "100 MiB written and the client is still not behind:\n{}", memory());
        for _ in 0..8 {
            update(&mut w, i);
            i += 1;
        }
    }
    for _ in 0..40 {
        update(&mut w, i);
        i += 1;
    }
    let m = memory();
    assert_eq!(held(&m), Some(2), "{m}");
    assert!(m.contains("sessions:2") && m.contains("cells:") && m.contains("monitors:1"), "{m}");
    // What waits in its outbox is the `backlog` (as upstream names it): at
    // least the 1 MiB the client has to catch up to (in name order).
    let backlog =
        |m: &str| m.split_whitespace().find_map(|i| i.strip_prefix("backlog:")).map(|n| n.parse::<u64>().unwrap());
    assert!(backlog(&m).is_some_and(|b| b > 1 << 20), "{m}");
    assert!(m.starts_with("atoms:") && m.split_whitespace().nth(1).is_some_and(|i| i.starts_with("backlog:")), "{m}");
    // The client reads again: it gets the last update, and nothing is held.
    let t = Instant::now();
    let mut last_seen = false;
    slow.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    loop {
        match slow.read(&mut buf) {
            Ok(0) => panic!("the server closed the slow client's connection"),
            Ok(n) => {
                framer.push(&buf[..n]);
                while let Some(v) = framer.next_value() {
                    let v = v.unwrap();
                    let rows = v["params"][1]["Address_Set"].as_object().into_iter().flat_map(|r| r.values());
                    last_seen |= rows.into_iter().any(|r| {
                        r["new"]["external_ids"][1]
                            .as_array()
                            .is_some_and(|kv| kv.iter().any(|p| *p == json!(["n", (i - 1).to_string()])))
                    });
                }
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                let m = memory();
                if last_seen && held(&m).is_none() && backlog(&m).is_none() {
                    break;
                }
            }
            Err(e) => panic!("{e}"),
        }
        assert!(t.elapsed() < Duration::from_secs(30), "last update seen: {last_seen}; {}", memory());
    }
}
