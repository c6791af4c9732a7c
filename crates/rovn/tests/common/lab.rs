//! A test bench for end-to-end tests: rovn's servers and upstream daemons
//! started with `--detach` and stopped by the pid they wrote, network
//! namespaces deleted afterwards, and every daemon's log printed when the
//! test fails, so that a CI failure can be diagnosed from its output.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::{ran, rovn_ok, shipped, Daemon, Ran, TempDir, ROVN};

/// Whether CI asked for every prerequisite to be present.
pub fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Skips (returns false, saying why) when `ok` is false — or fails under
/// CI=true, where the prerequisite must be there.
pub fn require(ok: bool, what: &str) -> bool {
    if !ok {
        assert!(!in_ci(), "CI must have {what}");
        eprintln!("skipping: no {what}");
    }
    ok
}

/// Whether every (program, Debian package) is on PATH; a skip or CI
/// failure naming the first missing one otherwise.
pub fn require_tools(tools: &[(&str, &str)]) -> bool {
    tools.iter().all(|(bin, pkg)| require(on_path(bin), &format!("{bin} (Debian {pkg})")))
}

/// Whether this runs as root (network namespaces need it); a skip or CI
/// failure otherwise.
pub fn require_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    require(unsafe { libc::geteuid() } == 0, "root (network namespaces need it)")
}

/// Whether `bin` is on PATH.
pub fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
}

/// One daemon the lab started.
struct Proc {
    name: String,
    pidfile: PathBuf,
    log: PathBuf,
    stderr: PathBuf,
    /// The full command line (after any `ip netns exec`), to start it again.
    argv: Vec<OsString>,
    env: Vec<(String, OsString)>,
    /// Its pid and /proc comm while it runs (checked before signalling, so
    /// that a reused pid is never hit).
    running: Option<(i32, String)>,
}

impl Proc {
    fn comm(pid: i32) -> Option<String> {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).ok().map(|s| s.trim().to_string())
    }

    fn ours(&self) -> Option<i32> {
        let (pid, comm) = self.running.as_ref()?;
        (Daemon::alive(*pid) && Proc::comm(*pid).as_ref() == Some(comm)).then_some(*pid)
    }

    fn signal(&mut self, sig: i32, wait: Duration) -> bool {
        let Some(pid) = self.ours() else {
            self.running = None;
            return true;
        };
        // SAFETY: kill(2) on the pid this daemon wrote, checked to be it.
        unsafe { libc::kill(pid, sig) };
        let t = Instant::now();
        while Daemon::alive(pid) && t.elapsed() < wait {
            std::thread::sleep(Duration::from_millis(20));
        }
        let gone = !Daemon::alive(pid);
        if gone {
            self.running = None;
        }
        gone
    }

    fn stop(&mut self) {
        if !self.signal(libc::SIGTERM, Duration::from_secs(5)) {
            eprintln!("{} did not stop on SIGTERM; killing it", self.name);
            self.signal(libc::SIGKILL, Duration::from_secs(5));
        }
    }
}

/// The bench: a scratch directory, the daemons and the namespaces.
pub struct Lab {
    pub dir: TempDir,
    /// Unique to this run (pid and a counter), for namespace names.
    pub tag: String,
    procs: Vec<Proc>,
    netns: Vec<String>,
}

impl Lab {
    pub fn new(name: &str) -> Lab {
        static N: AtomicU32 = AtomicU32::new(0);
        let tag = format!("{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        Lab { dir: TempDir::new(name), tag, procs: Vec::new(), netns: Vec::new() }
    }

    pub fn path(&self, f: &str) -> PathBuf {
        self.dir.path(f)
    }

    /// Starts `prog args...` with `--detach --no-chdir --pidfile --log-file`
    /// (files named after `name` in the lab directory), inside network
    /// namespace `netns` if given, with `env`; returns once it has detached.
    pub fn daemon(&mut self, name: &str, netns: Option<&str>, env: &[(&str, &Path)], prog: &str, args: &[&str]) {
        let pidfile = self.path(&format!("{name}.pid"));
        let log = self.path(&format!("{name}.log"));
        let mut argv: Vec<OsString> = Vec::new();
        if let Some(ns) = netns {
            argv.extend(["ip", "netns", "exec", ns].map(OsString::from));
        }
        argv.push(prog.into());
        argv.extend(args.iter().map(OsString::from));
        argv.extend(["--detach", "--no-chdir"].map(OsString::from));
        argv.push(format!("--pidfile={}", pidfile.display()).into());
        argv.push(format!("--log-file={}", log.display()).into());
        let env = env.iter().map(|(k, v)| (k.to_string(), v.as_os_str().to_owned())).collect();
        let p = Proc {
            name: name.into(),
            pidfile,
            log,
            stderr: self.path(&format!("{name}.stderr")),
            argv,
            env,
            running: None,
        };
        self.procs.push(p);
        self.start_proc(self.procs.len() - 1);
    }

    fn start_proc(&mut self, i: usize) {
        let p = &mut self.procs[i];
        let _ = std::fs::remove_file(&p.pidfile);
        let stderr = std::fs::OpenOptions::new().create(true).append(true).open(&p.stderr).expect("stderr file");
        // The daemon keeps no pipe of ours: a detached child holding the
        // test's stderr would keep the test harness waiting.
        let mut child = Command::new(&p.argv[0])
            .args(&p.argv[1..])
            .envs(p.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(stderr.try_clone().expect("dup"))
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", p.name));
        let t = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break s;
            }
            if t.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not detach within 30 s", p.name);
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let err = std::fs::read_to_string(&p.stderr).unwrap_or_default();
        assert!(status.success(), "{} failed to start ({status}): {err}", p.name);
        let pid = wait_for(&format!("{}'s pidfile", p.name), Duration::from_secs(10), || {
            std::fs::read_to_string(&p.pidfile).ok().and_then(|s| s.trim().parse::<i32>().ok())
        });
        let comm =
            Proc::comm(pid).unwrap_or_else(|| panic!("{} (pid {pid}) exited right after starting: {err}", p.name));
        p.running = Some((pid, comm));
    }

    fn find(&mut self, name: &str) -> usize {
        self.procs.iter().position(|p| p.name == name).unwrap_or_else(|| panic!("no daemon {name}"))
    }

    /// The pid of daemon `name`, if it runs.
    pub fn pid(&mut self, name: &str) -> Option<i32> {
        let i = self.find(name);
        self.procs[i].ours()
    }

    /// SIGKILLs daemon `name` and waits until it is gone.
    pub fn kill9(&mut self, name: &str) {
        let i = self.find(name);
        assert!(self.procs[i].signal(libc::SIGKILL, Duration::from_secs(10)), "{name} survived SIGKILL");
    }

    /// Starts daemon `name` again with the same command line.
    pub fn restart(&mut self, name: &str) {
        let i = self.find(name);
        assert!(self.procs[i].ours().is_none(), "{name} still runs");
        self.start_proc(i);
    }

    /// `rovn ovsdb-server` serving a new database of the shipped `schema` on
    /// `punix:DIR/name.sock` (inside `netns` if given); returns `unix:SOCKET`.
    pub fn ovsdb(&mut self, name: &str, schema: &str, netns: Option<&str>) -> String {
        let db = self.path(&format!("{name}.db"));
        rovn_ok([OsString::from("create"), db.clone().into(), shipped(schema).into()]);
        let sock = self.path(&format!("{name}.sock"));
        let ctl = self.path(&format!("{name}.ctl"));
        let remote = format!("--remote=punix:{}", sock.display());
        let unixctl = format!("--unixctl={}", ctl.display());
        let db_arg = db.display().to_string();
        self.daemon(name, netns, &[], ROVN, &["ovsdb-server", &remote, &unixctl, &db_arg]);
        wait_for(&format!("{name}'s socket"), Duration::from_secs(10), || sock.exists().then_some(()));
        format!("unix:{}", sock.display())
    }

    /// Adds a network namespace `NAME-TAG` (deleted when the lab is dropped)
    /// with its loopback up; returns its name.
    pub fn netns(&mut self, name: &str) -> String {
        let ns = format!("{name}-{}", self.tag);
        run_ok("ip", &["netns", "add", &ns]);
        self.netns.push(ns.clone());
        run_ok("ip", &["-n", &ns, "link", "set", "lo", "up"]);
        ns
    }

    /// Prints the end of every daemon's log and stderr.
    pub fn dump_logs(&self) {
        for p in &self.procs {
            for f in [&p.log, &p.stderr] {
                let text = std::fs::read_to_string(f).unwrap_or_default();
                if text.is_empty() {
                    continue;
                }
                let lines: Vec<&str> = text.lines().collect();
                let tail = &lines[lines.len().saturating_sub(60)..];
                eprintln!(
                    "===== {} ({} lines, last {}) =====\n{}",
                    f.display(),
                    lines.len(),
                    tail.len(),
                    tail.join("\n")
                );
            }
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump_logs();
        }
        // Clients before servers: the reverse of the start order.
        for p in self.procs.iter_mut().rev() {
            p.stop();
        }
        for ns in self.netns.drain(..).rev() {
            let r = run("ip", &["netns", "del", &ns]);
            if r.code != 0 {
                eprintln!("ip netns del {ns}: {}", r.err);
            }
        }
    }
}

/// Runs a command to completion.
pub fn run(prog: &str, args: &[&str]) -> Ran {
    ran(Command::new(prog).args(args).stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("run {prog}: {e}")))
}

/// Runs a command that must succeed; returns its stdout.
pub fn run_ok(prog: &str, args: &[&str]) -> String {
    let r = run(prog, args);
    assert_eq!(r.code, 0, "{prog} {} failed: {}{}", args.join(" "), r.err, r.out);
    r.out
}

/// Polls `f` every 50 ms until it gives a value; panics naming `what`
/// after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let t = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(t.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
