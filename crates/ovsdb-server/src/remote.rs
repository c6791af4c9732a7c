//! Remotes as ovsdb-server(1) names them (pure parsing): passive remotes to
//! listen on (`punix:`, `ptcp:`, `pssl:`), `db:` references to read more
//! from the databases, and PKI settings that are file names or `db:`
//! references.

use std::path::PathBuf;
use std::time::Duration;

use crate::dbconfig::DbRef;

/// Idle time before a TCP client is probed (upstream's default; unix
/// socket clients are not probed).
pub const TCP_PROBE_INTERVAL: Duration = Duration::from_secs(5);

/// The port `ptcp:` and `pssl:` use when none is given.
const DEFAULT_PORT: u16 = 6640;

/// A passive remote to listen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// `punix:PATH`
    Unix(PathBuf),
    /// `ptcp:PORT[:IP]`: the socket address to bind.
    Tcp(String),
    /// `pssl:PORT[:IP]`: TLS with mutual authentication.
    Ssl(String),
}

impl Remote {
    /// Parses `punix:PATH`, `ptcp:[PORT][:IP]` or `pssl:[PORT][:IP]`.
    pub fn parse(s: &str) -> Result<Remote, String> {
        if let Some(p) = s.strip_prefix("punix:") {
            return Ok(Remote::Unix(PathBuf::from(p)));
        }
        let (tls, rest) = match (s.strip_prefix("ptcp:"), s.strip_prefix("pssl:")) {
            (Some(r), _) => (false, r),
            (_, Some(r)) => (true, r),
            _ => {
                let active = ["tcp:", "ssl:", "unix:"].iter().any(|p| s.starts_with(p));
                return Err(if active {
                    format!("{s}: active remotes (tcp:, ssl:, unix:) are not supported; use ptcp:, pssl: or punix:")
                } else {
                    format!("{s}: unsupported remote (expected punix:PATH, ptcp:PORT[:IP] or pssl:PORT[:IP])")
                });
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
            Remote::Unix(_) => None,
            Remote::Tcp(_) | Remote::Ssl(_) => Some(TCP_PROBE_INTERVAL),
        }
    }
}

impl std::fmt::Display for Remote {
    /// The remote as `--remote` names it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, addr) = match self {
            Remote::Unix(p) => return write!(f, "punix:{}", p.display()),
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
        assert!(Remote::parse("tcp:127.0.0.1:6641").unwrap_err().contains("active remotes"));
        assert!(Remote::parse("ptcp:x").unwrap_err().contains("bad port"));
        assert_eq!(Spec::parse("db:A,B,C").unwrap().to_string(), "db:A,B,C");
        assert!(Spec::parse("db:A").is_err());
        assert_eq!(Setting::parse("/k.pem").unwrap(), Setting::Value("/k.pem".into()));
    }
}
