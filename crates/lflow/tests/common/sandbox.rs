//! Upstream OVN in a private directory for differential tests: NB and SB
//! ovsdb-servers plus ovn-northd. Dropping a [`Sandbox`] stops the daemons
//! (by the pids in their pidfiles) and removes the directory, also when the
//! test panics.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

pub const NB_SCHEMA: &str = "/usr/share/ovn/ovn-nb.ovsschema";
pub const SB_SCHEMA: &str = "/usr/share/ovn/ovn-sb.ovsschema";

const DAEMONS: &[&str] = &["northd", "nb", "sb"];

pub struct Sandbox {
    pub dir: PathBuf,
}

impl Sandbox {
    /// Starts the servers and northd in a fresh directory named after `label`.
    pub fn start(label: &str) -> Sandbox {
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("lflow-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let sb = Sandbox { dir };
        let d = sb.dir.display().to_string();
        sb.run("ovsdb-tool", &["create", &format!("{d}/nb.db"), NB_SCHEMA]);
        sb.run("ovsdb-tool", &["create", &format!("{d}/sb.db"), SB_SCHEMA]);
        for db in ["nb", "sb"] {
            sb.run(
                "ovsdb-server",
                &[
                    &format!("--remote=punix:{d}/{db}.sock"),
                    &format!("--pidfile={d}/{db}.pid"),
                    &format!("--log-file={d}/{db}.log"),
                    &format!("--unixctl={d}/{db}.ctl"),
                    "--detach",
                    "--no-chdir",
                    &format!("{d}/{db}.db"),
                ],
            );
        }
        sb.run(
            "ovn-northd",
            &[
                &format!("--ovnnb-db=unix:{d}/nb.sock"),
                &format!("--ovnsb-db=unix:{d}/sb.sock"),
                &format!("--pidfile={d}/northd.pid"),
                &format!("--log-file={d}/northd.log"),
                &format!("--unixctl={d}/northd.ctl"),
                "--detach",
                "--no-chdir",
            ],
        );
        sb
    }

    pub fn nb_remote(&self) -> String {
        format!("unix:{}/nb.sock", self.dir.display())
    }

    pub fn sb_remote(&self) -> String {
        format!("unix:{}/sb.sock", self.dir.display())
    }

    /// `program` with the OVS/OVN run, db and log directories set to ours.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(which(program).unwrap_or_else(|| PathBuf::from(program)));
        for var in ["OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVN_RUNDIR", "OVN_DBDIR", "OVN_LOGDIR"] {
            c.env(var, &self.dir);
        }
        c
    }

    /// Runs a command to completion; panics with its stderr on failure.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        let out = self.command(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        if !out.status.success() {
            panic!("{program} {args:?} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
        }
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn nbctl(&self, args: &[&str]) -> String {
        let db = format!("--db={}", self.nb_remote());
        let mut all = vec![db.as_str(), "--timeout=30"];
        all.extend_from_slice(args);
        self.run("ovn-nbctl", &all)
    }

    pub fn sbctl(&self, args: &[&str]) -> String {
        let db = format!("--db={}", self.sb_remote());
        let mut all = vec![db.as_str(), "--timeout=30"];
        all.extend_from_slice(args);
        self.run("ovn-sbctl", &all)
    }

    /// Stops one daemon ("nb", "sb" or "northd") by the pid in its pidfile.
    pub fn stop(&self, daemon: &str) {
        let pidfile = self.dir.join(format!("{daemon}.pid"));
        let Ok(text) = std::fs::read_to_string(&pidfile) else {
            return;
        };
        let Ok(pid) = text.trim().parse::<u32>() else {
            return;
        };
        let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if alive(pid) {
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
        }
        let _ = std::fs::remove_file(pidfile);
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for daemon in DAEMONS {
            self.stop(daemon);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// True while `pid` runs; a zombie waiting to be reaped has stopped.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

/// Where `tool` is on PATH (or in /usr/sbin, /sbin).
pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).chain(["/usr/sbin", "/sbin"].map(PathBuf::from)).map(|d| d.join(tool)).find(|p| p.is_file())
}

/// Whether upstream OVN (`tools` and the NB/SB schemas) is here for test
/// `test`: if not, says why the test is skipped — or fails under CI=true,
/// where the peers must be installed.
pub fn upstream_present(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| which(t).is_none()).collect();
    let schemas = std::path::Path::new(NB_SCHEMA).exists() && std::path::Path::new(SB_SCHEMA).exists();
    if missing.is_empty() && schemas {
        return true;
    }
    let why = format!(
        "upstream OVN 23.03 is not installed (missing: {missing:?}, schemas present: {schemas}); \
         install ovn-central and openvswitch-switch (see PEERS.md)"
    );
    assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{why}");
    eprintln!("SKIPPED {test}: {why}");
    false
}
