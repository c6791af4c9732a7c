//! `rovn ovsdb-server`: serves OVSDB database files, with ovsdb-server(1)'s
//! command line.

use std::path::PathBuf;

use ovsdb_server::{Core, DbRef, Remote, Server, Setting, Spec, SslOptions};

const USAGE: &str = "\
usage: rovn ovsdb-server [DATABASE...] [OPTIONS]
Serve the OVSDB databases in the DATABASE files (default: $OVS_DBDIR/conf.db).

Options:
  --remote=REMOTE        listen on REMOTE: punix:PATH, ptcp:PORT[:IP], pssl:PORT[:IP];
                         connect to a client at unix:PATH, tcp:IP[:PORT],
                         ssl:IP[:PORT] (and reconnect when it goes away);
                         or db:DB,TABLE,COLUMN to use what the database says
                         (Connection rows: target, role, read_only,
                         inactivity_probe, max_backoff); repeatable
  -p, --private-key=FILE  SSL private key (PEM), or db:DB,TABLE,COLUMN
  -c, --certificate=FILE  SSL certificate for the key (PEM), or db:...
  -C, --ca-cert=FILE      CA certificate that must sign clients' certificates
                          (PEM), or db:...
  --bootstrap-ca-cert=FILE  same as --ca-cert if FILE exists
  --ssl-protocols=LIST    e.g. TLSv1.2,TLSv1.3 (TLSv1 and TLSv1.1 are ignored)
  --ssl-ciphers=LIST      accepted; rustls uses its own strong cipher suites
  --pidfile[=FILE]       write the process id to FILE ($OVS_RUNDIR/ovsdb-server.pid)
  --log-file[=FILE]      log to FILE ($OVS_LOGDIR/ovsdb-server.log) instead of stderr
  --detach               run in the background once the remotes are listening
  --no-chdir             with --detach, do not change to the root directory
  --unixctl=SOCKET       control socket for ovs-appctl (default:
                         $OVS_RUNDIR/ovsdb-server.PID.ctl; `none`: no socket)
  -v, --verbose[=SPEC]   log levels as ovsdb-server(1) SPECs, e.g. dbg,
                         ovsdb_server:file:dbg (no SPEC: everything at dbg)
  --busy-poll=USEC       after answering requests, look for the next one for
                         up to USEC microseconds before sleeping (adaptive:
                         only while clients come back that quickly; 0: never;
                         default 100)
  -h, --help             show this help
";

struct Options {
    dbs: Vec<PathBuf>,
    remotes: Vec<Remote>,
    db_remotes: Vec<DbRef>,
    ssl: SslOptions,
    pidfile: Option<PathBuf>,
    log_file: Option<PathBuf>,
    detach: bool,
    no_chdir: bool,
    /// `-v` specs, in order.
    verbose: Vec<String>,
    /// `None` for `--unixctl=none`; `Some(None)` for the default path.
    unixctl: Option<Option<PathBuf>>,
    busy_poll: std::time::Duration,
}

fn env_dir(var: &str, default: &str) -> PathBuf {
    PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_string()))
}

fn rundir() -> PathBuf {
    env_dir("OVS_RUNDIR", "/var/run/openvswitch")
}

/// A path for a run-time file: relative ones are under $OVS_RUNDIR.
fn in_rundir(p: &str) -> PathBuf {
    let p = PathBuf::from(p);
    if p.is_absolute() {
        p
    } else {
        rundir().join(p)
    }
}

fn parse(args: &[String]) -> Result<Option<Options>, String> {
    let mut o = Options {
        dbs: Vec::new(),
        remotes: Vec::new(),
        db_remotes: Vec::new(),
        ssl: SslOptions::default(),
        pidfile: None,
        log_file: None,
        detach: false,
        no_chdir: false,
        verbose: Vec::new(),
        unixctl: Some(None),
        busy_poll: ovsdb_server::shell::DEFAULT_BUSY_POLL,
    };
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        // Options that take a value accept `--opt=V` and `--opt V`.
        let mut value = |what: &str| -> Result<String, String> {
            if let Some(v) = &inline {
                return Ok(v.clone());
            }
            let v = args.get(i).cloned().ok_or_else(|| format!("option {what} requires an argument"))?;
            i += 1;
            Ok(v)
        };
        match name {
            "-h" | "--help" => return Ok(None),
            "--remote" => match Spec::parse(&value("--remote")?)? {
                Spec::Listen(r) => o.remotes.push(r),
                Spec::Db(r) => o.db_remotes.push(r),
            },
            "-p" | "--private-key" => o.ssl.private_key = Some(Setting::parse(&value(name)?)?),
            "-c" | "--certificate" => o.ssl.certificate = Some(Setting::parse(&value(name)?)?),
            "-C" | "--ca-cert" => {
                let v = value(name)?;
                if v == "none" {
                    return Err(
                        "--ca-cert=none (no verification of clients) is not supported: give the CA certificate".into(),
                    );
                }
                o.ssl.ca_cert = Some(Setting::parse(&v)?);
            }
            "--bootstrap-ca-cert" => {
                let v = value(name)?;
                if !std::path::Path::new(&v).exists() {
                    return Err(format!(
                        "--bootstrap-ca-cert={v}: the file does not exist, and fetching the CA certificate from a peer is not supported; create it (e.g. with ovs-pki) or use --ca-cert"
                    ));
                }
                o.ssl.ca_cert = Some(Setting::Value(v));
            }
            "--ssl-protocols" => o.ssl.protocols = Some(Setting::parse(&value(name)?)?),
            "--ssl-ciphers" => o.ssl.ciphers = Some(Setting::parse(&value(name)?)?),
            "--peer-ca-cert" => {
                let v = value(name)?;
                eprintln!("rovn ovsdb-server: --peer-ca-cert={v}: ignored (rovn sends only its own certificate)");
            }
            "--pidfile" => o.pidfile = Some(in_rundir(inline.as_deref().unwrap_or("ovsdb-server.pid"))),
            "--log-file" => {
                o.log_file = Some(
                    inline
                        .map(PathBuf::from)
                        .unwrap_or_else(|| env_dir("OVS_LOGDIR", "/var/log/openvswitch").join("ovsdb-server.log")),
                )
            }
            "--detach" => o.detach = true,
            "--no-chdir" => o.no_chdir = true,
            "--unixctl" => {
                let v = value("--unixctl")?;
                o.unixctl = if v == "none" { None } else { Some(Some(in_rundir(&v))) };
            }
            "--busy-poll" => {
                let v = value(name)?;
                let us: u64 = v
                    .parse()
                    .ok()
                    .filter(|&n| n <= 1_000_000)
                    .ok_or_else(|| format!("--busy-poll={v}: expected microseconds, 0 to 1000000"))?;
                o.busy_poll = std::time::Duration::from_micros(us);
            }
            "-v" | "--verbose" => o.verbose.push(inline.unwrap_or_default()),
            _ if name.starts_with("-v") => o.verbose.push(name[2..].to_string()),
            _ if name.starts_with('-') => return Err(format!("unknown option {a} (try --help)")),
            _ => o.dbs.push(PathBuf::from(a)),
        }
    }
    if o.dbs.is_empty() {
        o.dbs.push(env_dir("OVS_DBDIR", "/etc/openvswitch").join("conf.db"));
    }
    Ok(Some(o))
}

/// Raises the soft limit on open descriptors to the hard limit: every
/// client is a descriptor, and a central SB serves hundreds of chassis
/// (the usual soft limit of 1024 would refuse clients long before the
/// server is busy).
fn raise_fd_limit() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 || lim.rlim_cur >= lim.rlim_max {
            return;
        }
        let old = lim.rlim_cur;
        lim.rlim_cur = lim.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
            tracing::debug!("open file limit raised from {old} to {}", lim.rlim_cur);
        } else {
            tracing::warn!("could not raise the open file limit ({old}): {}", std::io::Error::last_os_error());
        }
    }
}

/// Runs the subcommand; returns the exit status.
pub fn main(args: &[String]) -> i32 {
    let o = match parse(args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("rovn ovsdb-server: {e}");
            return 1;
        }
    };
    if let Err(e) = crate::logging::init(&o.verbose, o.log_file.as_deref()) {
        eprintln!("rovn ovsdb-server: {e}");
        return 1;
    }
    let (core, notes) = match Core::open(&o.dbs) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("rovn ovsdb-server: {e}");
            return 1;
        }
    };
    for n in notes {
        tracing::warn!("{n}");
    }
    raise_fd_limit();
    if o.remotes.is_empty() && o.db_remotes.is_empty() {
        tracing::warn!("no --remote given: no client can connect");
    }
    let ssl = o.remotes.iter().any(Remote::is_ssl);
    let ssl_set = [&o.ssl.private_key, &o.ssl.certificate, &o.ssl.ca_cert];
    if ssl && ssl_set.iter().any(|s| s.is_none()) {
        eprintln!("rovn ovsdb-server: pssl: and ssl: remotes need --private-key, --certificate and --ca-cert");
        return 1;
    }
    // Files named on the command line must be usable from the start
    // (names read from a database may come later).
    if let [Some(Setting::Value(k)), Some(Setting::Value(c)), Some(Setting::Value(ca))] = ssl_set {
        if let Err(e) = rovn_tls::Pki::load(k.as_ref(), c.as_ref(), ca.as_ref()) {
            eprintln!("rovn ovsdb-server: {e}");
            return 1;
        }
    }
    let ready_pipe = if o.detach {
        match crate::daemon::detach(o.no_chdir) {
            Ok(crate::daemon::Side::Parent(status)) => return status,
            Ok(crate::daemon::Side::Child(p)) => Some(p),
            Err(e) => {
                eprintln!("rovn ovsdb-server: --detach failed: {e}");
                return 1;
            }
        }
    } else {
        None
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return 1;
        }
    };
    // Written by the daemon itself (after --detach), which holds its lock.
    let pidfile = match o.pidfile.as_deref().map(crate::daemon::Pidfile::create).transpose() {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("cannot create pidfile: {e}");
            eprintln!("rovn ovsdb-server: cannot create pidfile: {e}");
            return 1;
        }
    };
    let dbs: Vec<String> = core.db_names();
    let mut server = Server::new(core, o.remotes).ssl(o.ssl).busy_poll(o.busy_poll);
    for r in o.db_remotes {
        server = server.db_remote(r);
    }
    match o.unixctl {
        Some(Some(ctl)) => server = server.unixctl(ctl),
        // The default name holds the daemon's pid, known only now. Unlike
        // an explicit --unixctl, a missing run directory is not fatal.
        Some(None) if rundir().is_dir() => {
            server = server.unixctl(rundir().join(format!("ovsdb-server.{}.ctl", std::process::id())))
        }
        Some(None) => tracing::warn!("{}: no such directory; no control socket (set OVS_RUNDIR)", rundir().display()),
        None => {}
    }
    for (name, usage, min, max, handler) in crate::logging::commands() {
        server = server.command(name, usage, min, max, handler);
    }
    // The server runs as a task like its connections' tasks, not as the
    // runtime's root future: a connection's task waking it then costs no
    // extra turn of the poll loop.
    let serve = server.run_with(crate::daemon::termination(), move || {
        tracing::info!(databases = ?dbs, "rovn ovsdb-server {} ready", env!("CARGO_PKG_VERSION"));
        if let Some(p) = ready_pipe {
            p.signal_ready();
        }
    });
    let result = rt.block_on(async move {
        match tokio::spawn(serve).await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(format!("the server task failed: {e}"))),
        }
    });
    drop(pidfile);
    match result {
        Ok(()) => {
            tracing::info!("exiting");
            0
        }
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("rovn ovsdb-server: {e}");
            1
        }
    }
}
