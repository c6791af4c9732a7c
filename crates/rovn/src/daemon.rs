//! Daemon plumbing: `--detach` (the parent exits once the child is ready)
//! and termination signals.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};

/// Which side of the fork we are on.
pub enum Side {
    /// The original process: exit with this status once the child is ready (or died).
    Parent(i32),
    /// The daemon: call [`ReadyPipe::signal_ready`] when serving.
    Child(ReadyPipe),
}

/// The write end of the pipe the parent waits on.
pub struct ReadyPipe(std::fs::File);

impl ReadyPipe {
    /// Tells the parent the daemon is ready, so it can exit 0.
    pub fn signal_ready(mut self) {
        let _ = self.0.write_all(b"1");
    }
}

/// Forks into the background. Must run before any thread is started.
pub fn detach(no_chdir: bool) -> std::io::Result<Side> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe() fills two descriptors we then own.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the descriptors are fresh and owned by us alone.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: no other thread exists yet (the runtime starts after this).
    match unsafe { libc::fork() } {
        -1 => Err(std::io::Error::last_os_error()),
        0 => {
            drop(rd);
            // SAFETY: plain system calls in the child.
            unsafe {
                libc::setsid();
                if !no_chdir {
                    libc::chdir(c"/".as_ptr());
                }
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
                if null >= 0 {
                    // stderr too: a daemon must not hold its parent's pipes
                    // open (logs go to --log-file).
                    libc::dup2(null, 0);
                    libc::dup2(null, 1);
                    libc::dup2(null, 2);
                    libc::close(null);
                }
            }
            Ok(Side::Child(ReadyPipe(std::fs::File::from(wr))))
        }
        _ => {
            drop(wr);
            let mut f = std::fs::File::from(rd);
            let mut b = [0u8; 1];
            let ok = matches!(f.read(&mut b), Ok(1));
            if !ok {
                eprintln!("daemon exited before it was ready (see its log)");
            }
            Ok(Side::Parent(if ok { 0 } else { 1 }))
        }
    }
}

/// Resolves on SIGTERM, SIGINT or SIGHUP.
pub async fn termination() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    async fn wait(s: &mut Option<tokio::signal::unix::Signal>) {
        match s {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    tokio::select! {
        _ = wait(&mut term) => tracing::info!("received SIGTERM"),
        _ = wait(&mut int) => tracing::info!("received SIGINT"),
        _ = wait(&mut hup) => tracing::info!("received SIGHUP"),
    }
}

/// A pidfile, locked as upstream daemons lock theirs (a POSIX record lock
/// held by the daemon: `ovs-appctl -t NAME` trusts a pidfile only while
/// its locker is the pid it names). Removed when dropped.
pub struct Pidfile {
    path: std::path::PathBuf,
    _file: std::fs::File,
}

/// The pid holding a write lock on `f`, if any.
fn locker(f: &std::fs::File) -> Option<i32> {
    use std::os::fd::AsRawFd;
    // SAFETY: a zeroed flock is a valid argument; F_GETLK fills it in.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as _;
    fl.l_whence = libc::SEEK_SET as _;
    // SAFETY: fcntl on a descriptor we own, with a valid flock.
    let r = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETLK, &mut fl) };
    (r == 0 && fl.l_type != libc::F_UNLCK as libc::c_short).then_some(fl.l_pid)
}

impl Pidfile {
    /// Writes and locks `path` holding this process's pid; fails if a
    /// running process holds it locked.
    pub fn create(path: &std::path::Path) -> std::io::Result<Pidfile> {
        use std::os::fd::AsRawFd;
        if let Ok(old) = std::fs::File::open(path) {
            if let Some(pid) = locker(&old) {
                return Err(std::io::Error::other(format!("{}: already locked by pid {pid}", path.display())));
            }
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        let mut f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&tmp)?;
        // SAFETY: a zeroed flock is valid; we fill in a whole-file write lock.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as _;
        fl.l_whence = libc::SEEK_SET as _;
        // SAFETY: fcntl on a descriptor we own, with a valid flock.
        if unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETLK, &fl) } != 0 {
            let e = std::io::Error::last_os_error();
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        f.write_all(format!("{}\n", std::process::id()).as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(Pidfile { path: path.to_path_buf(), _file: f })
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
