//! Remotes as ovsdb-server(1) names them (pure parsing): passive remotes to
//! listen on (`punix:`, `ptcp:`, `pssl:`), active remotes to connect to
//! (`unix:`, `tcp:`, `ssl:`), `db:` references to read more from the
//! databases, and PKI settings that are file names or `db:` references.

use std::path::PathBuf;
use std::time::Duration;

use crate::dbconfig::DbRef;

/// Idle time before a TCP client is probed (upstream's default; unix
/// socket clients are not probed).
pub const TCP_PROBE_INTERVAL: Duration = Duration::from_secs(5);

/// The port `ptcp:` and `pssl:` use when none is given.
const DEFAULT_PORT: u16 = 6640;

/// A remote: one to listen on (passive), or a client to connect to
/// (active), which is then served like one that connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// `punix:PATH`
    Unix(PathBuf),
    /// `ptcp:PORT[:IP]`: the socket address to bind.
    Tcp(String),
    /// `pssl:PORT[:IP]`: TLS with mutual authentication.
    Ssl(String),
    /// `unix:PATH`: connect to a client listening there.
    ConnectUnix(PathBuf),
    /// `tcp:HOST[:PORT]`: the address to connect to (`HOST:PORT`).
    ConnectTcp(String),
    /// `ssl:HOST[:PORT]`: connect, then TLS with mutual authentication.
    ConnectSsl(String),
}

/// `HOST[:PORT]` (HOST maybe a bracketed IPv6 address) as `HOST:PORT`.
fn active_addr(s: &str, rest: &str) -> Result<String, String> {
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (ip, after) = v6.split_once(']').ok_or_else(|| format!("{s}: missing ] after IPv6 address"))?;
        (format!("[{ip}]"), after.strip_prefix(':').unwrap_or(after))
    } else if rest.matches(':').count() > 1 {
        return Err(format!("{s}: IPv6 addresses must be in brackets ([ADDR]:PORT)"));
    } else {
        match rest.split_once(':') {
            Some((h, p)) => (h.to_string(), p),
            None => (rest.to_string(), ""),
        }
    };
    if host.is_empty() || host == "[]" {
        return Err(format!("{s}: missing host address"));
    }
    let port: u16 =
        if port.is_empty() { DEFAULT_PORT } else { port.parse().map_err(|_| format!("{s}: bad port number"))? };
    Ok(format!("{host}:{port}"))
}

impl Remote {
    /// Parses `punix:PATH`, `ptcp:[PORT][:IP]`, `pssl:[PORT][:IP]`,
    /// `unix:PATH`, `tcp:HOST[:PORT]` or `ssl:HOST[:PORT]`.
    pub fn parse(s: &str) -> Result<Remote, String> {
        if let Some(p) = s.strip_prefix("punix:") {
            return Ok(Remote::Unix(PathBuf::from(p)));
        }
        if let Some(p) = s.strip_prefix("unix:") {
            if p.is_empty() {
                return Err(format!("{s}: missing socket file name"));
            }
            return Ok(Remote::ConnectUnix(PathBuf::from(p)));
        }
        if let Some(rest) = s.strip_prefix("tcp:") {
            return active_addr(s, rest).map(Remote::ConnectTcp);
        }
        if let Some(rest) = s.strip_prefix("ssl:") {
            return active_addr(s, rest).map(Remote::ConnectSsl);
        }
        let (tls, rest) = match (s.strip_prefix("ptcp:"), s.strip_prefix("pssl:")) {
            (Some(r), _) => (false, r),
            (_, Some(r)) => (true, r),
            _ => {
                return Err(format!(
                    "{s}: unsupported remote (expected punix:PATH, ptcp:PORT[:IP], pssl:PORT[:IP], unix:PATH, tcp:IP[:PORT] or ssl:IP[:PORT])"
                ));
            }
        };
        let (port, ip) = match rest.split_once(':') {
            Some((p, ip)) => (p, ip),
            None => (rest, "0.0.0.0"),
        };
        let port: u16 =
            if port.is_empty() { DEFAULT_PORT } else { port.parse().map_err(|_| format!("{s}: bad port number"))? };
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        let ip = if ip.is_empty() { "0.0.0.0" } else { ip };
        let addr = if ip.contains(':') { format!("[{ip}]:{port}") } else { format!("{ip}:{port}") };
        Ok(if tls { Remote::Ssl(addr) } else { Remote::Tcp(addr) })
    }

    /// How long a client of this remote may stay silent before it is
    /// probed (and as long again before it is dropped).
    pub fn default_probe_interval(&self) -> Option<Duration> {
        match self {
            Remote::Unix(_) | Remote::ConnectUnix(_) => None,
            _ => Some(TCP_PROBE_INTERVAL),
        }
    }

    /// Whether the server connects out (rather than listens).
    pub fn is_active(&self) -> bool {
        matches!(self, Remote::ConnectUnix(_) | Remote::ConnectTcp(_) | Remote::ConnectSsl(_))
    }

    /// Whether its connections use TLS.
    pub fn is_ssl(&self) -> bool {
        matches!(self, Remote::Ssl(_) | Remote::ConnectSsl(_))
    }
}

impl std::fmt::Display for Remote {
    /// The remote as `--remote` names it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, addr) = match self {
            Remote::Unix(p) => return write!(f, "punix:{}", p.display()),
            Remote::ConnectUnix(p) => return write!(f, "unix:{}", p.display()),
            Remote::ConnectTcp(addr) => return write!(f, "tcp:{addr}"),
            Remote::ConnectSsl(addr) => return write!(f, "ssl:{addr}"),
            Remote::Tcp(addr) => ("ptcp", addr),
            Remote::Ssl(addr) => ("pssl", addr),
        };
        let (ip, port) = addr.rsplit_once(':').unwrap_or(("", addr));
        if ip == "0.0.0.0" {
            write!(f, "{kind}:{port}")
        } else {
            write!(f, "{kind}:{port}:{ip}")
        }
    }
}

/// The wait before an active remote's next connection attempt (pure): it
/// starts at `min`, doubles after each failed attempt or connection that
/// did not last as long as the wait before it, up to `max`, and goes back
/// to `min` after a connection that lasted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    current: Duration,
    /// The first wait.
    pub min: Duration,
    /// The longest.
    pub max: Duration,
}

impl Backoff {
    /// Upstream's defaults: 1 s, doubling to 8 s.
    pub const MIN: Duration = Duration::from_secs(1);
    /// See [`Backoff::MIN`].
    pub const MAX: Duration = Duration::from_secs(8);

    /// No attempt made yet; `max` (a Connection row's max_backoff) is at
    /// least `MIN`.
    pub fn new(max: Option<Duration>) -> Backoff {
        Backoff { current: Duration::ZERO, min: Backoff::MIN, max: max.unwrap_or(Backoff::MAX).max(Backoff::MIN) }
    }

    /// Changes the longest wait (the row changed).
    pub fn set_max(&mut self, max: Option<Duration>) {
        self.max = max.unwrap_or(Backoff::MAX).max(self.min);
        self.current = self.current.min(self.max);
    }

    /// A connection attempt failed: the wait before the next.
    pub fn failed(&mut self) -> Duration {
        self.current = if self.current.is_zero() { self.min } else { (self.current * 2).min(self.max) };
        self.current
    }

    /// A connection that had lasted `lasted` ended: the wait before the next.
    pub fn closed(&mut self, lasted: Duration) -> Duration {
        self.current = if lasted >= self.current { self.min } else { (self.current * 2).clamp(self.min, self.max) };
        self.current
    }

    /// Whether the wait is as long as it gets.
    pub fn at_max(&self) -> bool {
        self.current >= self.max
    }
}

/// A `--remote` as configured: a remote to listen on, or a `db:` reference
/// to read remotes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// Listen here.
    Listen(Remote),
    /// Listen where the database says.
    Db(DbRef),
}

impl Spec {
    /// Parses a `--remote` argument.
    pub fn parse(s: &str) -> Result<Spec, String> {
        match DbRef::parse(s) {
            Some(r) => r.map(Spec::Db),
            None => Remote::parse(s).map(Spec::Listen),
        }
    }
}

impl std::fmt::Display for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Spec::Listen(r) => r.fmt(f),
            Spec::Db(r) => r.fmt(f),
        }
    }
}

/// A PKI setting (`--private-key` etc.): a value, or where in a database
/// to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// Given on the command line.
    Value(String),
    /// `db:DB,TABLE,COLUMN`: the first nonempty string there.
    Db(DbRef),
}

impl Setting {
    /// Parses an option's argument.
    pub fn parse(s: &str) -> Result<Setting, String> {
        match DbRef::parse(s) {
            Some(r) => r.map(Setting::Db),
            None => Ok(Setting::Value(s.to_string())),
        }
    }
}

/// The SSL options of ovsdb-server(1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SslOptions {
    /// `--private-key`
    pub private_key: Option<Setting>,
    /// `--certificate`
    pub certificate: Option<Setting>,
    /// `--ca-cert`
    pub ca_cert: Option<Setting>,
    /// `--ssl-protocols`
    pub protocols: Option<Setting>,
    /// `--ssl-ciphers` (rustls picks its own strong suites; kept for the
    /// log)
    pub ciphers: Option<Setting>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_max_and_resets_after_a_lasting_connection() {
        let s = Duration::from_secs;
        let mut b = Backoff::new(None);
        let waits: Vec<Duration> = (0..6).map(|_| b.failed()).collect();
        assert_eq!(waits, [s(1), s(2), s(4), s(8), s(8), s(8)]);
        assert!(b.at_max());
        assert_eq!(b.closed(s(1)), s(16).min(s(8)), "a connection shorter than the wait: keep backing off");
        assert_eq!(b.closed(s(60)), s(1), "a connection that lasted: start again");
        assert_eq!(b.failed(), s(2));
        let mut b = Backoff::new(Some(Duration::from_millis(100)));
        assert_eq!((b.failed(), b.failed()), (s(1), s(1)), "max_backoff is at least 1 s");
        let mut b = Backoff::new(Some(s(30)));
        assert_eq!((0..7).map(|_| b.failed()).last(), Some(s(30)));
        b.set_max(Some(s(2)));
        assert_eq!(b.failed(), s(2));
    }

    #[test]
    fn remotes_print_as_named() {
        for s in
            ["punix:/tmp/x.sock", "ptcp:6641", "ptcp:6641:127.0.0.1", "ptcp:0:[::1]", "pssl:6642", "pssl:0:127.0.0.1"]
        {
            let r = Remote::parse(s).unwrap();
            let printed = r.to_string();
            assert_eq!(printed.replace(['[', ']'], ""), s.replace(['[', ']'], ""));
            assert_eq!(Remote::parse(&printed).unwrap(), r);
        }
        assert_eq!(Remote::parse("ptcp:6641:0.0.0.0").unwrap().to_string(), "ptcp:6641");
        assert_eq!(Remote::parse("pssl:").unwrap().to_string(), "pssl:6640");
        assert_eq!(Remote::parse("ptcp::127.0.0.1").unwrap().to_string(), "ptcp:6640:127.0.0.1");
        assert_eq!(Remote::parse("ptcp:1").unwrap().default_probe_interval(), Some(Duration::from_secs(5)));
        assert_eq!(Remote::parse("pssl:1").unwrap().default_probe_interval(), Some(Duration::from_secs(5)));
        assert_eq!(Remote::parse("punix:x").unwrap().default_probe_interval(), None);
        for s in
            ["unix:/tmp/c.sock", "tcp:127.0.0.1:6641", "ssl:127.0.0.1:6642", "tcp:[::1]:6641", "tcp:host.example:1"]
        {
            let r = Remote::parse(s).unwrap();
            assert!(r.is_active());
            assert_eq!(r.to_string(), s);
            assert_eq!(Remote::parse(&r.to_string()).unwrap(), r);
        }
        assert_eq!(Remote::parse("tcp:127.0.0.1").unwrap().to_string(), "tcp:127.0.0.1:6640");
        assert_eq!(Remote::parse("ssl:[::1]").unwrap().to_string(), "ssl:[::1]:6640");
        assert!(Remote::parse("ssl:1.2.3.4:6642").unwrap().is_ssl());
        assert!(!Remote::parse("ptcp:1").unwrap().is_active());
        assert_eq!(Remote::parse("unix:x").unwrap().default_probe_interval(), None);
        assert_eq!(Remote::parse("tcp:1.2.3.4:5").unwrap().default_probe_interval(), Some(TCP_PROBE_INTERVAL));
        assert!(Remote::parse("tcp:").unwrap_err().contains("missing host"));
        assert!(Remote::parse("tcp:1.2.3.4:x").unwrap_err().contains("bad port"));
        assert!(Remote::parse("tcp:::1:5").unwrap_err().contains("brackets"));
        assert!(Remote::parse("udp:1.2.3.4:5").unwrap_err().contains("unsupported remote"));
        assert!(Remote::parse("ptcp:x").unwrap_err().contains("bad port"));
        assert_eq!(Spec::parse("db:A,B,C").unwrap().to_string(), "db:A,B,C");
        assert!(Spec::parse("db:A").is_err());
        assert_eq!(Setting::parse("/k.pem").unwrap(), Setting::Value("/k.pem".into()));
    }
}
