//! kill -9 of rovn's Northbound and Southbound servers while upstream
//! clients write: ovn-nbctl in a loop and the python `ovs.db.idl` client
//! add logical switches, ovn-northd turns each into a Southbound datapath.
//! After every restart (same files, same sockets) the clients reconnect and
//! go on, every transaction they saw acknowledged is in the database, and
//! northd catches up: `ovn-nbctl --wait=sb sync` returns and the Southbound
//! database has exactly one datapath per logical switch.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use common::lab::{require, require_tools, run, run_ok, wait_for, Lab};
use common::shipped;

fn prerequisites() -> bool {
    if !require_tools(&[("ovn-northd", "ovn-central"), ("ovn-nbctl", "ovn-central"), ("ovn-sbctl", "ovn-common")]) {
        return false;
    }
    let py = Command::new(common::PYTHON).args(["-c", "import ovs.db.idl"]).output().is_ok_and(|o| o.status.success());
    require(py, "python3 with ovs.db.idl (Debian python3-openvswitch)")
}

/// Names of logical switches whose creation a client saw succeed.
type Acked = Arc<Mutex<Vec<String>>>;

/// `ovn-nbctl ls-add nbctl-N` for N = 0, 1, ... until stopped; a command
/// that fails (the server is down, or it retried a transaction that had
/// in fact committed) is simply not counted.
fn nbctl_writer(nb: String, stop: Arc<AtomicBool>, acked: Acked) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let name = format!("nbctl-{n}");
            if run("ovn-nbctl", &[&format!("--db={nb}"), "--timeout=5", "ls-add", &name]).code == 0 {
                acked.lock().unwrap().push(name);
            }
            n += 1;
        }
    })
}

/// The python IDL writer (tests/data/idl_writer.py); stopped by closing its
/// stdin, or killed through its handle when dropped.
struct PyWriter {
    child: Child,
    reader: Option<JoinHandle<()>>,
}

impl PyWriter {
    fn start(lab: &Lab, nb: &str, acked: Acked) -> PyWriter {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/idl_writer.py");
        let mut child = Command::new(common::PYTHON)
            .arg(script)
            .arg(nb)
            .arg(shipped("ovn-nb.ovsschema"))
            .arg("py")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(lab.path("idl_writer.stderr")).expect("stderr file"))
            .spawn()
            .expect("start python");
        let out = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                acked.lock().unwrap().push(format!("py-{}", l.trim()));
            }
        });
        PyWriter { child, reader: Some(reader) }
    }

    fn stop(&mut self) {
        drop(self.child.stdin.take());
        let t = std::time::Instant::now();
        while self.child.try_wait().ok().flatten().is_none() && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

impl Drop for PyWriter {
    fn drop(&mut self) {
        self.stop();
    }
}

fn count(acked: &Acked, prefix: &str) -> usize {
    acked.lock().unwrap().iter().filter(|n| n.starts_with(prefix)).count()
}

/// Waits until both writers have had `more` further transactions acknowledged.
fn both_progress(acked: &Acked, more: usize, when: &str) {
    let (a, b) = (count(acked, "nbctl-"), count(acked, "py-"));
    wait_for(&format!("{when}: both writers to commit {more} more"), Duration::from_secs(30), || {
        (count(acked, "nbctl-") >= a + more && count(acked, "py-") >= b + more).then_some(())
    });
}

fn lines(s: &str) -> BTreeSet<String> {
    s.split_whitespace().map(str::to_string).collect()
}

#[test]
fn upstream_clients_survive_kill_9_of_nb_and_sb_and_lose_nothing_acknowledged() {
    if !prerequisites() {
        return;
    }
    let mut lab = Lab::new("kill9");
    let nb = lab.ovsdb("nb", "ovn-nb.ovsschema", None);
    let sb = lab.ovsdb("sb", "ovn-sb.ovsschema", None);
    run_ok("ovn-nbctl", &[&format!("--db={nb}"), "init"]);
    let ctl = lab.path("northd.ctl");
    lab.daemon(
        "northd",
        None,
        &[],
        "ovn-northd",
        &[&format!("--ovnnb-db={nb}"), &format!("--ovnsb-db={sb}"), &format!("--unixctl={}", ctl.display())],
    );

    let acked: Acked = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let nbctl = nbctl_writer(nb.clone(), stop.clone(), acked.clone());
    let mut py = PyWriter::start(&lab, &nb, acked.clone());
    both_progress(&acked, 5, "start");

    // The Northbound server under both writers, then the Southbound server
    // under northd (busy adding datapaths), then both at once.
    for (round, victims) in [&["nb"][..], &["sb"], &["nb", "sb"]].iter().enumerate() {
        for v in victims.iter() {
            lab.kill9(v);
        }
        std::thread::sleep(Duration::from_millis(200));
        for v in victims.iter() {
            lab.restart(v);
        }
        both_progress(&acked, 5, &format!("round {round}: after kill -9 of {victims:?}"));
    }
    stop.store(true, Ordering::Relaxed);
    nbctl.join().expect("nbctl writer");
    py.stop();
    assert!(lab.pid("northd").is_some(), "ovn-northd exited");

    let nbctl = |args: &[&str]| run_ok("ovn-nbctl", &[&[format!("--db={nb}").as_str(), "--timeout=30"], args].concat());
    let names = lines(&nbctl(&["--bare", "--columns=name", "list", "Logical_Switch"]));
    let acked = acked.lock().unwrap().clone();
    let lost: Vec<&String> = acked.iter().filter(|n| !names.contains(*n)).collect();
    assert!(lost.is_empty(), "acknowledged but gone: {lost:?}");
    eprintln!("{} acknowledged logical switches, all there ({} rows)", acked.len(), names.len());

    // northd catches up with every switch, including the ones written while
    // the Southbound server was down.
    nbctl(&["--wait=sb", "sync"]);
    let switches = lines(&nbctl(&["--bare", "--columns=_uuid", "list", "Logical_Switch"]));
    let sb_out =
        run_ok("ovn-sbctl", &[&format!("--db={sb}"), "--bare", "--columns=external_ids", "list", "Datapath_Binding"]);
    let datapaths: Vec<String> =
        sb_out.split_whitespace().filter_map(|w| w.strip_prefix("logical-switch=")).map(str::to_string).collect();
    assert_eq!(datapaths.len(), lines(&datapaths.join(" ")).len(), "one datapath per switch: {sb_out}");
    assert_eq!(lines(&datapaths.join(" ")), switches, "Southbound datapaths are the Northbound switches");
}
