//! Against a real 3-member ovsdb-server Raft cluster on loopback: the Idl
//! finds the leader through `_Server`, and a writer keeps transacting while
//! the leader is killed (SIGKILL) and restarted, twice. The writer follows
//! each new leader; at the end every write is there exactly once, on every
//! member, and the counter written with them matches.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ovn_schema::nb;
use ovsdb_client::ovsdb::{Atom, Datum};
use ovsdb_client::{Idl, IdlOptions, Txn, TxnError};
use support::{have, repo_file, TempDir};

const DB: &str = "OVN_Northbound";
const TABLES: &[&str] = &["NB_Global", "Logical_Switch"];

struct Member {
    n: usize,
    dir: PathBuf,
    raft: String,
}

impl Member {
    fn path(&self, ext: &str) -> PathBuf {
        self.dir.join(format!("s{}.{ext}", self.n))
    }
    fn target(&self) -> String {
        format!("unix:{}", self.path("sock").display())
    }
    fn start(&self) {
        let _ = std::fs::remove_file(self.path("sock"));
        let o = Command::new("ovsdb-server")
            .arg(self.path("db"))
            .arg(format!("--remote=punix:{}", self.path("sock").display()))
            .arg(format!("--unixctl={}", self.path("ctl").display()))
            .arg(format!("--pidfile={}", self.path("pid").display()))
            .arg(format!("--log-file={}", self.path("log").display()))
            .args(["--detach", "--no-chdir"])
            .envs([("OVS_RUNDIR", &self.dir), ("OVS_DBDIR", &self.dir), ("OVS_LOGDIR", &self.dir)])
            .output()
            .unwrap();
        assert!(o.status.success(), "ovsdb-server s{}: {}", self.n, String::from_utf8_lossy(&o.stderr));
    }
    fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.path("pid")).ok()?.trim().parse().ok()
    }
    fn kill9(&self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            // Wait for it to be gone, so that a restart does not race it.
            let t = Instant::now();
            while std::path::Path::new(&format!("/proc/{pid}")).exists() && t.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = std::fs::remove_file(self.path("pid"));
        }
    }
    fn signal(&self, sig: &str) {
        let pid = self.pid().expect("a running member");
        let st = Command::new("kill").args([sig, &pid.to_string()]).status().unwrap();
        assert!(st.success(), "kill {sig} {pid}");
    }
    fn role(&self) -> String {
        // A stopped member must not stop the test.
        let o = Command::new("ovs-appctl")
            .arg("--timeout=2")
            .arg("-t")
            .arg(self.path("ctl"))
            .args(["cluster/status", DB])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        o.lines().find_map(|l| l.strip_prefix("Role: ")).unwrap_or("down").to_string()
    }
}

struct Cluster {
    members: Vec<Member>,
    _dir: TempDir,
}

impl Cluster {
    fn create(dir: TempDir) -> Cluster {
        let schema = repo_file("schemas/ovn-nb.ovsschema");
        let members: Vec<Member> = (1..=3)
            .map(|n| {
                // A free loopback port for the Raft traffic.
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let raft = format!("tcp:127.0.0.1:{}", l.local_addr().unwrap().port());
                Member { n, dir: dir.0.clone(), raft }
            })
            .collect();
        let tool = |args: Vec<String>| {
            let o = Command::new("ovsdb-tool").args(&args).output().unwrap();
            assert!(o.status.success(), "ovsdb-tool {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        };
        let m1 = &members[0];
        tool(vec![
            "create-cluster".into(),
            m1.path("db").display().to_string(),
            schema.display().to_string(),
            m1.raft.clone(),
        ]);
        for m in &members[1..] {
            tool(vec![
                "join-cluster".into(),
                m.path("db").display().to_string(),
                DB.into(),
                m.raft.clone(),
                m1.raft.clone(),
            ]);
        }
        for m in &members {
            m.start();
        }
        Cluster { members, _dir: dir }
    }

    fn remotes(&self) -> Vec<String> {
        self.members.iter().map(Member::target).collect()
    }

    fn member_at(&self, remote: &str) -> &Member {
        self.members.iter().find(|m| m.target() == remote).expect("a member's remote")
    }

    fn roles(&self) -> String {
        self.members.iter().map(|m| format!("s{}: {}", m.n, m.role())).collect::<Vec<_>>().join(", ")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for m in &self.members {
                let log = std::fs::read_to_string(m.path("log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!("--- s{} log (last lines) ---", m.n);
                for l in tail.iter().rev() {
                    eprintln!("{l}");
                }
            }
        }
        for m in &self.members {
            m.kill9();
        }
    }
}

/// Write `i`: a switch named `w<i>` and +1 on NB_Global's counter, unless
/// an earlier attempt (cut off by a lost connection) already committed it.
fn write(i: usize) -> impl FnMut(&mut Txn<'_>) -> Result<bool, TxnError> {
    move |t| {
        t.auto_verify(true);
        let name = format!("w{i}");
        if t.lookup::<nb::LogicalSwitch>(&[("name", Datum::scalar(Atom::string(&name)))]).is_some() {
            return Ok(false);
        }
        let mut g = t.rows::<nb::NbGlobal>().pop().ok_or_else(|| TxnError::Invalid("no NB_Global row".into()))?;
        g.nb_cfg += 1;
        t.update(&g)?;
        t.insert(&nb::LogicalSwitch { name, ..Default::default() })?;
        Ok(true)
    }
}

async fn leader<'c>(c: &'c Cluster, idl: &Idl) -> &'c Member {
    // The Idl only stays on the leader; cluster/status must agree.
    let t = Instant::now();
    let m = loop {
        if let Some(r) = idl.remote() {
            let m = c.member_at(&r);
            if m.role() == "leader" {
                break m;
            }
        }
        assert!(t.elapsed() < Duration::from_secs(20), "no leader: {}", c.roles());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    m
}

async fn scenario() {
    let c = Cluster::create(TempDir::new("cluster"));
    let idl = tokio::time::timeout(Duration::from_secs(30), Idl::start(c.remotes(), DB, TABLES))
        .await
        .unwrap_or_else(|_| panic!("no leader found: {}", c.roles()))
        .unwrap();
    assert!(idl.server().is_some_and(|s| s.model == "clustered" && s.leader), "{:?}", idl.server());
    idl.transact_with(|t| {
        if t.rows::<nb::NbGlobal>().is_empty() {
            t.insert(&nb::NbGlobal::default())?;
        }
        Ok(())
    })
    .await
    .unwrap();

    let n = 320;
    let done = AtomicUsize::new(0);
    let mut redone = 0;
    let mut total_attempts = 0;
    // The servers the writer's transactions committed on, in order.
    let mut leaders: Vec<String> = Vec::new();
    let writer = async {
        for i in 0..n {
            let r = tokio::time::timeout(Duration::from_secs(30), idl.transact_with(write(i))).await;
            let (inserted, _, attempts) = r
                .unwrap_or_else(|_| panic!("write {i} did not commit within 30 s ({})", c.roles()))
                .unwrap_or_else(|e| panic!("write {i}: {e}"));
            if !inserted {
                redone += 1;
            }
            total_attempts += attempts;
            let on = idl.remote().unwrap_or_default();
            if attempts > 1 || std::env::var("DEBUG_CLUSTER").is_ok() {
                eprintln!("write {i}: {attempts} attempts, now on {on}");
            }
            if leaders.last() != Some(&on) {
                leaders.push(on);
            }
            done.fetch_add(1, Ordering::SeqCst);
            // A steady pace, so that both kills land mid-stream.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let chaos = async {
        for at in [50, 150] {
            while done.load(Ordering::SeqCst) < at {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            assert!(done.load(Ordering::SeqCst) < n, "the writer finished before the kill");
            let m = leader(&c, &idl).await;
            eprintln!("killing the leader s{} ({})", m.n, c.roles());
            m.kill9();
            tokio::time::sleep(Duration::from_millis(1500)).await;
            m.start();
            eprintln!("restarted s{}", m.n);
        }
        // A leader that stalls (as if cut off) while the others elect a
        // new one: when it runs again it is no longer the leader, says so
        // in _Server, and the writer moves on.
        while done.load(Ordering::SeqCst) < 230 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let m = leader(&c, &idl).await;
        eprintln!("stopping the leader s{} ({})", m.n, c.roles());
        m.signal("-STOP");
        tokio::time::sleep(Duration::from_millis(4000)).await;
        eprintln!("roles while s{} is stopped: {}", m.n, c.roles());
        m.signal("-CONT");
        eprintln!("continued s{}", m.n);
    };
    tokio::join!(writer, chaos);
    eprintln!(
        "{n} writes acknowledged in {total_attempts} attempts; {redone} found already committed on retry; \
         committed on {leaders:?}; roles {}",
        c.roles()
    );
    let moves = leaders.windows(2).filter(|w| !w[1].is_empty() && w[0] != w[1]).count();
    assert!(moves >= 3, "the writer did not move to new leaders: {leaders:?}");

    // Every member ends with each write exactly once.
    for m in &c.members {
        let opts = IdlOptions { leader_only: false, ..Default::default() };
        let r = tokio::time::timeout(Duration::from_secs(30), Idl::start_with(vec![m.target()], DB, TABLES, opts))
            .await
            .unwrap_or_else(|_| panic!("s{} unreachable", m.n))
            .unwrap();
        let caught_up = r
            .wait_until(Duration::from_secs(30), |rep| {
                rep.count::<nb::LogicalSwitch>() >= n && rep.rows::<nb::NbGlobal>().any(|g| g.nb_cfg >= n as i64)
            })
            .await;
        let rep = r.replica();
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        for sw in rep.rows::<nb::LogicalSwitch>() {
            *names.entry(sw.name).or_default() += 1;
        }
        let want: BTreeMap<String, usize> = (0..n).map(|i| (format!("w{i}"), 1)).collect();
        assert!(caught_up, "s{} did not catch up: {} switches", m.n, names.len());
        assert_eq!(names, want, "s{}: writes lost or doubled", m.n);
        let cfg: Vec<i64> = rep.rows::<nb::NbGlobal>().map(|g| g.nb_cfg).collect();
        assert_eq!(cfg, vec![n as i64], "s{}: the counter disagrees with the writes", m.n);
    }
}

#[tokio::test]
async fn writer_follows_the_leader_through_kills() {
    if !have("ovsdb-server") || !have("ovs-appctl") {
        return;
    }
    tokio::time::timeout(Duration::from_secs(240), scenario()).await.expect("the cluster test took over 240 s");
}
