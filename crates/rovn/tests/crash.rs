//! Kill -9 at random moments: a writer commits durable transactions (and
//! compacts now and then), printing each sequence number once its commit
//! has returned. After every kill the file opens, holds every acknowledged
//! transaction, and holds nothing but a contiguous run of them.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use ovsdb::log::Log;
use ovsdb::Atom;

fn seqs_in(path: &std::path::Path) -> (Vec<i64>, Option<String>) {
    let (_, db, report) = Log::open(path).unwrap_or_else(|e| panic!("reopen after kill: {e}"));
    let (ts, t) = db.table_by_name("Seq").unwrap();
    let c = ts.column("n").unwrap();
    let mut v: Vec<i64> = t.rows.values().filter_map(|r| r.get(c).first().and_then(Atom::as_integer)).collect();
    v.sort();
    (v, report.dropped.map(|d| d.to_string()))
}

#[test]
fn acknowledged_commits_survive_kill_9() {
    let dir = TempDir::new("crash");
    let db = dir.path("db");
    rovn_ok(["create".as_ref(), db.as_os_str(), schema_path().as_os_str()]);
    // A little randomness without a dependency: the clock's nanoseconds.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let mut seed = now.as_nanos() as u64 ^ ((std::process::id() as u64) << 32) | 1;
    eprintln!("crash test seed {seed:#x}");
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut acked_max = 0i64;
    for round in 0..10 {
        let mut child = Command::new(ROVN)
            .args(["ovsdb-tool", "_crash-writer"])
            .arg(&db)
            .args(["Seq", "n", "13"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rovn");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait for the first acknowledgement so that every round writes,
        // then let it run a random while longer.
        let first = rx.recv_timeout(Duration::from_secs(20));
        let mut acked: Vec<i64> = first.iter().filter_map(|l| l.parse().ok()).collect();
        std::thread::sleep(Duration::from_millis(5 + rand(120)));
        child.kill().expect("kill -9");
        let status = child.wait().unwrap();
        reader.join().unwrap();
        acked.extend(rx.try_iter().filter_map(|l| l.parse::<i64>().ok()));
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        assert!(!acked.is_empty(), "round {round}: writer acknowledged nothing ({status}): {err}");
        assert!(err.is_empty(), "round {round}: writer complained: {err}");
        acked_max = acked_max.max(*acked.iter().max().unwrap());

        let (present, dropped) = seqs_in(&db);
        let n = present.len() as i64;
        assert!(n >= acked_max, "round {round}: {n} rows but {acked_max} acknowledged (dropped: {dropped:?})");
        assert_eq!(present, (1..=n).collect::<Vec<_>>(), "round {round}: not a contiguous run");
        // After opening, the file is clean.
        let (_, report) = Log::read(&db).unwrap();
        assert_eq!(report.dropped, None, "round {round}");
    }
    assert!(acked_max >= 10, "only {acked_max} commits in 10 rounds");
    eprintln!("{acked_max} acknowledged commits over 10 kills");
    if let Some(tool) = upstream("ovsdb-tool") {
        let r = exec(&tool, ["show-log".as_ref(), db.as_os_str()]);
        assert_eq!(r.code, 0, "{}", r.err);
    }
}
