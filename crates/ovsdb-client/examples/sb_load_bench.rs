//! How long an IDL takes to load a big Southbound database, and how much
//! memory the copy takes: rovn's replica next to python's `ovs.db.idl`
//! (python3-openvswitch), both monitoring every table of the same database
//! served by the real upstream ovsdb-server.
//!
//! The database is the SB that upstream ovn-northd makes from the
//! ovn-kubernetes-shaped topology of the benchmark harness (../shared/bench,
//! 120 nodes x 30 pods, 240 load balancers); `make_bench_sb.sh` builds it
//! once with the harness's own scripts and the real daemons, and it is kept
//! in target/bench/.
//!
//! ```sh
//! cargo run --release -p ovsdb-client --example sb_load_bench            # 120:30:240, 5 runs each
//! cargo run --release -p ovsdb-client --example sb_load_bench -- --runs 9 --scale 250:30:500
//! cargo run --release -p ovsdb-client --example sb_load_bench -- --db FILE.db
//! ```
//!
//! Each run is a fresh process; load time is from connecting to having the
//! whole initial contents in memory, memory the growth of the process's RSS
//! over the same span (so interpreter and library start-up are left out).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ovsdb_client::Idl;
use serde_json::{json, Value};

const PYTHON_IDL: &str = r#"
import gc, json, sys, time
import ovs.db.idl, ovs.poller

def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

remote, schema = sys.argv[1], sys.argv[2]
rss0 = rss_kib()
c0 = time.process_time()
t0 = time.perf_counter()
helper = ovs.db.idl.SchemaHelper(location=schema)
helper.register_all()
idl = ovs.db.idl.Idl(remote, helper)
while True:
    idl.run()
    if idl.state == idl.IDL_S_MONITORING:
        break
    poller = ovs.poller.Poller()
    idl.wait(poller)
    poller.block()
t1 = time.perf_counter()
cpu = time.process_time() - c0
rss1 = rss_kib()
gc.collect()
rows = sum(len(t.rows) for t in idl.tables.values())
print(json.dumps({"load_s": t1 - t0, "cpu_s": cpu, "rss_delta_kib": rss1 - rss0,
                  "rss_kept_kib": rss_kib() - rss0, "rows": rows}))
idl.close()
"#;

/// CPU seconds used by this process so far (user + system).
fn cpu_s() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name: state is field 3, utime 14, stime 15.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn rss_kib() -> i64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// One measured load in this process (run as a child of the driver).
fn child(remote: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let rss0 = rss_kib();
    let c0 = cpu_s();
    let t0 = Instant::now();
    let idl = rt.block_on(Idl::start(vec![remote.to_string()], "OVN_Southbound", &[])).unwrap_or_else(|e| {
        eprintln!("sb_load_bench: {remote}: {e}");
        std::process::exit(1);
    });
    let load = t0.elapsed();
    let cpu = cpu_s() - c0;
    let rows: usize = {
        let r = idl.replica();
        r.table_names().iter().filter_map(|t| r.table(t)).map(|(_, t)| t.rows.len()).sum()
    };
    let rss1 = rss_kib();
    // What stays once the transient parse buffers go back to the system.
    extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: glibc's malloc_trim only releases free heap memory.
    unsafe { malloc_trim(0) };
    println!(
        "{}",
        json!({"load_s": load.as_secs_f64(), "cpu_s": cpu, "rss_delta_kib": rss1 - rss0,
               "rss_kept_kib": rss_kib() - rss0, "rows": rows})
    );
}

fn run_json(cmd: &mut Command) -> Value {
    let out = cmd.stderr(Stdio::inherit()).output().expect("run measurement");
    assert!(out.status.success(), "measurement failed: {cmd:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Serves `db` with the real ovsdb-server in `dir`; returns its pidfile.
fn serve(db: &Path, dir: &Path) -> PathBuf {
    let sock = dir.join("sb.sock");
    let pidfile = dir.join("sb.pid");
    let st = Command::new("ovsdb-server")
        .arg(db)
        .arg(format!("--remote=punix:{}", sock.display()))
        .arg(format!("--pidfile={}", pidfile.display()))
        .arg(format!("--unixctl={}", dir.join("sb.ctl").display()))
        .arg(format!("--log-file={}", dir.join("sb.log").display()))
        .args(["--detach", "--no-chdir"])
        .status()
        .expect("start ovsdb-server (install openvswitch-switch)");
    assert!(st.success(), "ovsdb-server failed to start");
    let t = Instant::now();
    while !sock.exists() {
        assert!(t.elapsed() < Duration::from_secs(30), "ovsdb-server: no socket");
        std::thread::sleep(Duration::from_millis(20));
    }
    pidfile
}

fn stop(pidfile: &Path) {
    if let Some(pid) = std::fs::read_to_string(pidfile).ok().and_then(|s| s.trim().parse::<i32>().ok()) {
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, remote] = args.as_slice() {
        if flag == "--child" {
            return child(remote);
        }
    }
    let mut runs = 5;
    let mut scale = "120:30:240".to_string();
    let mut db: Option<PathBuf> = None;
    let mut bench = PathBuf::from(std::env::var("OVN_BENCH_DIR").unwrap_or_else(|_| "/work/shared/bench".into()));
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--runs" => runs = val().parse().expect("--runs N"),
            "--scale" => scale = val(),
            "--db" => db = Some(PathBuf::from(val())),
            "--bench-dir" => bench = PathBuf::from(val()),
            _ => panic!("unknown argument {a} (--runs N, --scale N:P:L, --db FILE, --bench-dir DIR)"),
        }
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let db = db.unwrap_or_else(|| {
        let cache = manifest.join("../../target/bench");
        std::fs::create_dir_all(&cache).expect("create target/bench");
        let f = cache.join(format!("sb-{}.db", scale.replace(':', "-")));
        if !f.exists() {
            eprintln!(
                "building {} with the harness in {} (real ovn-northd; takes a while)",
                f.display(),
                bench.display()
            );
            let st = Command::new("bash")
                .arg(manifest.join("examples/make_bench_sb.sh"))
                .arg(&bench)
                .arg(&f)
                .arg(&scale)
                .env("WAIT_IDLE", "0")
                .status()
                .expect("run make_bench_sb.sh");
            assert!(st.success(), "building the SB failed");
        }
        f
    });
    let dir = std::env::temp_dir().join(format!("sb-load-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pidfile = serve(&db, &dir);
    let remote = format!("unix:{}", dir.join("sb.sock").display());
    let script = dir.join("idl_load.py");
    std::fs::write(&script, PYTHON_IDL).expect("write python script");
    let schema = std::env::var("SB_SCHEMA").unwrap_or_else(|_| "/usr/share/ovn/ovn-sb.ovsschema".into());
    let me = std::env::current_exe().expect("own path");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    // Interleaved, so that a busy moment on the host hits both alike.
    for _ in 0..runs {
        ours.push(run_json(Command::new(&me).args(["--child", &remote])));
        theirs.push(run_json(Command::new("/usr/bin/python3").arg(&script).arg(&remote).arg(&schema)));
    }
    stop(&pidfile);
    let _ = std::fs::remove_dir_all(&dir);
    let rows = |v: &[Value]| v[0]["rows"].as_u64().unwrap_or(0);
    assert_eq!(rows(&ours), rows(&theirs), "both replicas must hold the same rows");
    let med =
        |v: &[Value], k: &str, scale: f64| median(v.iter().map(|r| r[k].as_f64().unwrap_or(0.0) / scale).collect());
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "SB of the {scale} topology: {} rows, {:.1} MiB file, served by upstream ovsdb-server; median of {runs} runs",
        rows(&ours),
        size as f64 / 1048576.0
    );
    println!("{:<30} {:>10} {:>12} {:>15} {:>15}", "", "load (s)", "client CPU", "RSS peak (MiB)", "RSS kept (MiB)");
    for (name, v) in [("rovn ovsdb-client Idl (Rust)", &ours), ("python ovs.db.idl (OVS 3.1)", &theirs)] {
        println!(
            "{:<30} {:>10.3} {:>11.2}s {:>15.1} {:>15.1}",
            name,
            med(v, "load_s", 1.0),
            med(v, "cpu_s", 1.0),
            med(v, "rss_delta_kib", 1024.0),
            med(v, "rss_kept_kib", 1024.0)
        );
    }
    println!(
        "load = connect to whole initial contents in memory (includes the server building its reply); \
         RSS peak = growth over the load; kept = after freeing transient memory (malloc_trim / gc.collect)"
    );
}
