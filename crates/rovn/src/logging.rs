//! Logging for the daemons: `tracing` to stderr or to a file, with levels
//! set the way OVS daemons set them (`-v`/`--verbose` and the `vlog/*`
//! control commands of ovs-appctl(8)).
//!
//! OVS keeps a level per (module, destination); rovn keeps the same table
//! (modules are rovn's crates, destinations console, syslog and file) and
//! drives `tracing`'s filter from the column of the destination actually
//! in use: `file` with `--log-file`, else `console`. There is no syslog
//! output; its column is kept so that specs naming it are accepted.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// OVS log levels, least verbose first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Off,
    Emer,
    Err,
    Warn,
    Info,
    Dbg,
}

impl Level {
    fn parse(w: &str) -> Option<Level> {
        Some(match w {
            "off" => Level::Off,
            "emer" => Level::Emer,
            "err" | "error" => Level::Err,
            "warn" => Level::Warn,
            "info" => Level::Info,
            "dbg" | "debug" => Level::Dbg,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Level::Off => "OFF",
            Level::Emer => "EMER",
            Level::Err => "ERR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Dbg => "DBG",
        }
    }

    /// The `tracing` filter level (emergencies are errors there).
    fn directive(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Emer | Level::Err => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Dbg => "debug",
        }
    }
}

const DESTINATIONS: [&str; 3] = ["console", "syslog", "file"];

/// vlog module names and the `tracing` targets they stand for.
const MODULES: &[(&str, &str)] = &[
    ("ovsdb", "ovsdb"),
    ("ovsdb_server", "ovsdb_server"),
    ("rovn", "rovn"),
    ("unixctl", "ovsdb_server::unixctl"),
];

/// The levels table and what applies it.
struct Vlog {
    levels: BTreeMap<&'static str, [Level; 3]>,
    /// Which column (index in [`DESTINATIONS`]) drives the filter.
    active: usize,
    reload: Option<reload::Handle<EnvFilter, Registry>>,
    file: Option<(PathBuf, LogFile)>,
}

impl Vlog {
    fn new(active: usize) -> Vlog {
        let levels = MODULES.iter().map(|(m, _)| (*m, [Level::Info; 3])).collect();
        Vlog { levels, active, reload: None, file: None }
    }

    /// Applies one spec (ovsdb-server(1) `-v`): words separated by spaces,
    /// commas or colons, at most one module, destination and level each;
    /// missing ones mean all modules, all destinations, and dbg.
    fn set(&mut self, spec: &str) -> Result<(), String> {
        let (mut module, mut dest, mut level) = (None, None, None);
        for w in spec.split([' ', ',', ':']).filter(|w| !w.is_empty()) {
            let lw = w.to_ascii_lowercase();
            if lw == "any" {
                continue;
            }
            if lw == "pattern" {
                return Err("log patterns are not supported".into());
            }
            if let Some(d) = DESTINATIONS.iter().position(|d| *d == lw) {
                if dest.replace(d).is_some() {
                    return Err("cannot specify multiple destinations".into());
                }
            } else if let Some(l) = Level::parse(&lw) {
                if level.replace(l).is_some() {
                    return Err("cannot specify multiple levels".into());
                }
            } else if let Some((m, _)) = MODULES.iter().find(|(m, _)| *m == lw) {
                if module.replace(*m).is_some() {
                    return Err("cannot specify multiple modules".into());
                }
            } else {
                return Err(format!("no destination, level, or module \"{w}\""));
            }
        }
        let level = level.unwrap_or(Level::Dbg);
        for (m, row) in self.levels.iter_mut() {
            if module.is_none_or(|x| x == *m) {
                for (d, l) in row.iter_mut().enumerate() {
                    if dest.is_none_or(|x| x == d) {
                        *l = level;
                    }
                }
            }
        }
        Ok(())
    }

    fn filter(&self) -> String {
        let col = |l: &[Level; 3]| l[self.active];
        // Other crates (tokio...) log at the most verbose level of ours.
        let default = self.levels.values().map(col).max().unwrap_or(Level::Info);
        let mut f = default.directive().to_string();
        for (m, target) in MODULES {
            f.push_str(&format!(",{target}={}", col(&self.levels[m]).directive()));
        }
        f
    }

    fn apply(&self) -> Result<(), String> {
        let filter = EnvFilter::try_new(self.filter()).map_err(|e| e.to_string())?;
        match &self.reload {
            Some(h) => h.reload(filter).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    /// The `vlog/list` table, laid out as upstream's.
    fn list(&self) -> String {
        let mut s = String::from("                 console    syslog    file\n                 -------    ------    ------\n");
        for (m, l) in &self.levels {
            s.push_str(&format!("{m:<16}  {:>4}       {:>4}       {:>4}\n", l[0].name(), l[1].name(), l[2].name()));
        }
        s
    }
}

/// The log file, reopenable (`vlog/reopen`, after logrotate moved it).
#[derive(Clone)]
struct LogFile(Arc<Mutex<File>>);

struct LogFileGuard<'a>(MutexGuard<'a, File>);

impl Write for LogFileGuard<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl<'a> MakeWriter<'a> for LogFile {
    type Writer = LogFileGuard<'a>;
    fn make_writer(&'a self) -> LogFileGuard<'a> {
        LogFileGuard(self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn open_append(p: &Path) -> Result<File, String> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .map_err(|e| format!("{}: cannot open log file: {e}", p.display()))
}

static VLOG: OnceLock<Mutex<Vlog>> = OnceLock::new();

fn vlog() -> MutexGuard<'static, Vlog> {
    VLOG.get_or_init(|| Mutex::new(Vlog::new(0))).lock().unwrap_or_else(|e| e.into_inner())
}

/// Sets up logging: `specs` are `-v`/`--verbose` values applied in order
/// (an empty one means everything at dbg); to `file` if given, else stderr.
pub fn init(specs: &[String], file: Option<&Path>) -> Result<(), String> {
    let mut v = Vlog::new(if file.is_some() { 2 } else { 0 });
    for s in specs {
        v.set(s)?;
    }
    let filter = EnvFilter::try_new(v.filter()).map_err(|e| format!("bad log level: {e}"))?;
    let (filter, handle) = reload::Layer::new(filter);
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    match file {
        Some(p) => {
            let f = LogFile(Arc::new(Mutex::new(open_append(p)?)));
            v.file = Some((p.to_path_buf(), f.clone()));
            Registry::default().with(filter).with(fmt.with_ansi(false).with_writer(f)).init();
        }
        None => {
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
            Registry::default().with(filter).with(fmt.with_ansi(ansi).with_writer(std::io::stderr)).init();
        }
    }
    v.reload = Some(handle);
    let _ = VLOG.set(Mutex::new(v));
    Ok(())
}

/// The `vlog/*` control commands: (name, usage, min args, max args, handler).
pub fn commands() -> Vec<(&'static str, &'static str, usize, usize, ovsdb_server::unixctl::Handler)> {
    vec![
        (
            "vlog/set",
            "{spec | PATTERN:destination:pattern}",
            0,
            usize::MAX,
            Box::new(|args: &[String]| {
                let mut v = vlog();
                if args.is_empty() {
                    v.set("")?;
                }
                for a in args {
                    v.set(a)?;
                }
                v.apply().map(|()| String::new())
            }),
        ),
        ("vlog/list", "", 0, 0, Box::new(|_: &[String]| Ok(vlog().list()))),
        (
            "vlog/reopen",
            "",
            0,
            0,
            Box::new(|_: &[String]| {
                let v = vlog();
                let Some((path, f)) = &v.file else { return Err("Logging to file not configured".into()) };
                let new = open_append(path)?;
                *f.0.lock().unwrap_or_else(|e| e.into_inner()) = new;
                Ok(String::new())
            }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_as_upstream() {
        let mut v = Vlog::new(2);
        v.set("").unwrap();
        assert!(v.levels.values().all(|l| *l == [Level::Dbg; 3]));
        v.set("info").unwrap();
        assert!(v.levels.values().all(|l| *l == [Level::Info; 3]));
        v.set("ANY:file:dbg").unwrap();
        assert!(v.levels.values().all(|l| *l == [Level::Info, Level::Info, Level::Dbg]));
        v.set("ovsdb_server:console:WARN").unwrap();
        assert_eq!(v.levels["ovsdb_server"][0], Level::Warn);
        assert_eq!(v.levels["ovsdb"][0], Level::Info);
        assert_eq!(v.set("nosuch:dbg").unwrap_err(), "no destination, level, or module \"nosuch\"");
        assert_eq!(v.set("syslog:bogus").unwrap_err(), "no destination, level, or module \"bogus\"");
        assert!(v.set("dbg info").is_err());
        assert_eq!(v.filter(), "debug,ovsdb=debug,ovsdb_server=debug,rovn=debug,ovsdb_server::unixctl=debug");
        v.set("file:off").unwrap();
        v.set("ovsdb:file:err").unwrap();
        assert_eq!(v.filter(), "error,ovsdb=error,ovsdb_server=off,rovn=off,ovsdb_server::unixctl=off");
        assert!(EnvFilter::try_new(v.filter()).is_ok());
        let list = v.list();
        assert!(list.starts_with("                 console    syslog    file\n                 -------    ------    ------\n"));
        assert!(list.contains("\novsdb_server      WARN       INFO        OFF\n"), "{list}");
    }
}
