//! One JSON-RPC session with an OVSDB server.
//!
//! A reader task parses what the server sends (replies, notifications, and
//! the server's `echo` probes, answered at once) and a writer task sends
//! what the session queues. The reader also probes the server, as
//! upstream's JSON-RPC sessions do: after [`ConnectOptions::probe_interval`]
//! with nothing received it sends an `echo` request, and if another
//! interval passes with still nothing received it drops the connection.
//! That is how a server that stopped answering without closing its socket
//! (a stalled process, a half-open TCP connection) is noticed. When the
//! session ends, every request still waiting fails with the reason.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ovsdb::jsonrpc::{Framer, Message};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// Largest message accepted from a server.
const MAX_MESSAGE: usize = 256 << 20;

/// The inactivity probe interval of `tcp:` and `ssl:` sessions unless told
/// otherwise (upstream's default; `unix:` sessions are not probed).
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_secs(5);

/// The probe the client sends (the id marks its reply as no request's).
const ECHO_PROBE: &[u8] = br#"{"id":"echo","method":"echo","params":[]}"#;

/// Client errors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Could not connect, or the connection failed.
    #[error("{0}")]
    Io(String),
    /// The connection closed before the reply came.
    #[error("connection closed")]
    Closed,
    /// The server answered with a JSON-RPC error.
    #[error("server error: {0}")]
    Rpc(Value),
    /// The server sent something that breaks the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server did not answer in time: it stayed silent through an
    /// inactivity probe (the connection was dropped), or no server was
    /// found within a deadline.
    #[error("{0}")]
    Timeout(String),
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, Error>>>>>;

/// How a [`Connection`] is made.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Key, certificate and CA certificate for `ssl:` targets.
    pub pki: Option<Arc<Pki>>,
    /// How long the server may stay silent before it is probed with an
    /// `echo`, and then before the connection is dropped. `None`: the
    /// target's default ([`DEFAULT_PROBE_INTERVAL`] for `tcp:` and `ssl:`,
    /// no probes for `unix:`); `Some(Duration::ZERO)`: never probe. When
    /// probing, connecting (with the TLS handshake) may take at most two
    /// intervals.
    pub probe_interval: Option<Duration>,
}

impl ConnectOptions {
    /// The probe interval for `target`, if it is probed at all.
    pub fn probe_for(&self, target: &str) -> Option<Duration> {
        match self.probe_interval {
            Some(d) if d.is_zero() => None,
            Some(d) => Some(d),
            None if target.starts_with("unix:") => None,
            None => Some(DEFAULT_PROBE_INTERVAL),
        }
    }
}

/// A connected session.
pub struct Connection {
    out: mpsc::UnboundedSender<Vec<u8>>,
    pending: Pending,
    next_id: AtomicU64,
    notifications: Option<Notifications>,
    reader: tokio::task::JoinHandle<()>,
    /// Set by the reader when the session ends (before it fails the
    /// pending requests), so that later requests fail instead of waiting.
    closed: Arc<AtomicBool>,
    /// Why the session ended, once it has.
    reason: Arc<Mutex<Option<Error>>>,
}

impl Drop for Connection {
    /// Closes the session: the reader stops at once; the writer sends what
    /// is queued and then drops its half, which closes the socket.
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// The stream of notifications from the server.
pub type Notifications = mpsc::UnboundedReceiver<(String, Vec<Value>)>;

/// What a client needs for `ssl:` targets: its private key and
/// certificate, and the CA certificate the server's must be signed by.
pub type Pki = rovn_tls::Pki;

fn tcp_addr(a: &str) -> String {
    match a.rsplit_once(':') {
        Some((ip, port)) if ip.contains(':') && !ip.starts_with('[') => format!("[{ip}]:{port}"),
        _ => a.to_string(),
    }
}

fn secs(d: Duration) -> String {
    format!("{}", d.as_secs_f64())
}

impl Connection {
    /// Connects to `unix:PATH` or `tcp:IP:PORT` (see
    /// [`Connection::connect_with`] for `ssl:`), without probes (as
    /// ovsdb-client's one-shot commands; see [`Connection::connect_opts`]).
    pub async fn connect(target: &str) -> Result<Connection, Error> {
        Self::establish(target, None, None).await
    }

    /// Connects to `unix:PATH`, `tcp:IP:PORT` or `ssl:IP:PORT`; the last
    /// needs `pki` (mutual authentication: the server's certificate must be
    /// signed by the CA; host names are not checked, as in OVS). No probes.
    pub async fn connect_with(target: &str, pki: Option<&Pki>) -> Result<Connection, Error> {
        Self::establish(target, pki, None).await
    }

    /// Connects as `opts` say: probes by default for `tcp:` and `ssl:`
    /// (as upstream's long-lived sessions), with connecting bounded by two
    /// probe intervals.
    pub async fn connect_opts(target: &str, opts: &ConnectOptions) -> Result<Connection, Error> {
        let probe = opts.probe_for(target);
        let c = Self::establish(target, opts.pki.as_deref(), probe);
        match probe {
            Some(p) => tokio::time::timeout(2 * p, c)
                .await
                .map_err(|_| Error::Timeout(format!("{target}: connection timed out after {} seconds", secs(2 * p))))?,
            None => c.await,
        }
    }

    async fn establish(target: &str, pki: Option<&Pki>, probe: Option<Duration>) -> Result<Connection, Error> {
        if let Some(a) = target.strip_prefix("ssl:") {
            let pki = pki.ok_or_else(|| {
                Error::Io(format!("{target}: SSL needs a private key, a certificate and a CA certificate"))
            })?;
            let connector = pki.connector().map_err(|e| Error::Io(format!("{target}: {e}")))?;
            let addr = tcp_addr(a);
            let host = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h);
            let s = tokio::net::TcpStream::connect(&addr).await.map_err(|e| Error::Io(format!("{target}: {e}")))?;
            let _ = s.set_nodelay(true);
            let tls = connector
                .connect(rovn_tls::server_name(host), s)
                .await
                .map_err(|e| Error::Io(format!("{target}: SSL handshake failed: {e}")))?;
            return Ok(Self::over_probing(tls, probe));
        }
        if let Some(p) = target.strip_prefix("unix:") {
            let s = tokio::net::UnixStream::connect(p).await.map_err(|e| Error::Io(format!("{target}: {e}")))?;
            Ok(Self::over_probing(s, probe))
        } else if let Some(a) = target.strip_prefix("tcp:") {
            let a = tcp_addr(a);
            let s = tokio::net::TcpStream::connect(&a).await.map_err(|e| Error::Io(format!("{target}: {e}")))?;
            let _ = s.set_nodelay(true);
            Ok(Self::over_probing(s, probe))
        } else {
            Err(Error::Io(format!("{target}: unsupported remote (expected unix:PATH, tcp:IP:PORT or ssl:IP:PORT)")))
        }
    }

    /// A session over an established stream, without probes.
    pub fn over<S: AsyncRead + AsyncWrite + Send + 'static>(stream: S) -> Connection {
        Self::over_probing(stream, None)
    }

    /// A session over an established stream that probes the server after
    /// `probe` of silence and drops it after twice that (`None`: never).
    pub fn over_probing<S: AsyncRead + AsyncWrite + Send + 'static>(stream: S, probe: Option<Duration>) -> Connection {
        let (mut rd, mut wr) = tokio::io::split(stream);
        let (out, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let (ntx, notifications) = mpsc::unbounded_channel();
        let pending: Pending = Arc::new(Mutex::new(HashMap::new()));
        // The reader tells the writer to drop its half when the session
        // ends for a reason of its own (not when it is aborted by Drop,
        // where the writer first sends what is queued).
        let (stop_writer, mut stop_rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    b = out_rx.recv() => match b {
                        Some(b) if wr.write_all(&b).await.is_ok() => {}
                        _ => break,
                    },
                    Ok(()) = &mut stop_rx => break,
                }
            }
        });
        let (p2, echo_out) = (pending.clone(), out.clone());
        let closed = Arc::new(AtomicBool::new(false));
        let reason = Arc::new(Mutex::new(None));
        let (closed2, reason2) = (closed.clone(), reason.clone());
        let reader = tokio::spawn(async move {
            let mut framer = Framer::new(MAX_MESSAGE);
            let mut buf = vec![0u8; 64 * 1024];
            // Set once a probe went out: silence until the next interval
            // ends means the server is gone.
            let mut probed = false;
            let why = 'read: loop {
                let n = match probe {
                    None => rd.read(&mut buf).await,
                    // `read` is cancel-safe: nothing is lost when the
                    // interval ends first.
                    Some(p) => match tokio::time::timeout(p, rd.read(&mut buf)).await {
                        Ok(r) => r,
                        Err(_) if probed => {
                            break Error::Timeout(format!(
                                "no response to inactivity probe after {} seconds, disconnecting",
                                secs(p)
                            ));
                        }
                        Err(_) => {
                            tracing::debug!(
                                "{} seconds of silence from the server; sending an inactivity probe",
                                secs(p)
                            );
                            let _ = echo_out.send(ECHO_PROBE.to_vec());
                            probed = true;
                            continue;
                        }
                    },
                };
                let n = match n {
                    Ok(0) => break Error::Closed,
                    Err(e) => break Error::Io(format!("connection failed: {e}")),
                    Ok(n) => n,
                };
                probed = false;
                framer.push(&buf[..n]);
                while let Some(m) = framer.next_message() {
                    let m = match m {
                        Ok(m) => m,
                        Err(e) => break 'read Error::Protocol(format!("bad message from server: {e}")),
                    };
                    match m {
                        Message::Reply { result, id } => complete(&p2, &id, Ok(result)),
                        Message::Error { error, id } => complete(&p2, &id, Err(Error::Rpc(error))),
                        Message::Request { method, params, id } => {
                            let reply = if method == "echo" {
                                Message::Reply { result: Value::Array(params), id }
                            } else {
                                Message::Error { error: Value::from("unknown method"), id }
                            };
                            let _ = echo_out.send(reply.to_bytes());
                        }
                        Message::Notify { method, params } => {
                            let _ = ntx.send((method, params));
                        }
                    }
                }
            };
            if why != Error::Closed {
                tracing::info!("{why}");
            }
            let _ = stop_writer.send(());
            if let Ok(mut r) = reason2.lock() {
                *r = Some(why.clone());
            }
            // Marked closed before the waiters are failed, so that a
            // request racing this either sees the mark or is failed here.
            closed2.store(true, Ordering::SeqCst);
            let waiting: Vec<_> = p2.lock().map(|mut p| p.drain().map(|(_, tx)| tx).collect()).unwrap_or_default();
            for tx in waiting {
                let _ = tx.send(Err(why.clone()));
            }
        });
        Connection {
            out,
            pending,
            next_id: AtomicU64::new(1),
            notifications: Some(notifications),
            reader,
            closed,
            reason,
        }
    }

    /// Sends a request and waits for its reply.
    pub async fn request(&self, method: &str, params: Vec<Value>) -> Result<Value, Error> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().map_err(|_| Error::Closed)?.insert(id, tx);
        if self.closed.load(Ordering::SeqCst) {
            self.pending.lock().map(|mut p| p.remove(&id)).ok();
            return Err(self.close_reason().unwrap_or(Error::Closed));
        }
        let msg = Message::Request { method: method.to_string(), params, id: Value::from(id) };
        self.out.send(msg.to_bytes()).map_err(|_| Error::Closed)?;
        match rx.await {
            Ok(r) => r,
            Err(_) => Err(self.close_reason().unwrap_or(Error::Closed)),
        }
    }

    /// True once the session has ended.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Why the session ended ([`Error::Closed`]: the server closed it;
    /// [`Error::Timeout`]: it did not answer a probe), once it has.
    pub fn close_reason(&self) -> Option<Error> {
        self.reason.lock().ok()?.clone()
    }

    /// Sends a notification.
    pub fn notify(&self, method: &str, params: Vec<Value>) -> Result<(), Error> {
        let msg = Message::Notify { method: method.to_string(), params };
        self.out.send(msg.to_bytes()).map_err(|_| Error::Closed)
    }

    /// The next notification from the server; None once the connection is closed.
    pub async fn next_notification(&mut self) -> Option<(String, Vec<Value>)> {
        self.notifications.as_mut()?.recv().await
    }

    /// Takes the notification stream, to read it apart from the connection
    /// (which can then be shared for requests).
    pub fn take_notifications(&mut self) -> Option<Notifications> {
        self.notifications.take()
    }

    /// A transaction on `db`: the results array.
    pub async fn transact(&self, db: &str, ops: Vec<Value>) -> Result<Vec<Value>, Error> {
        let mut params = vec![Value::from(db)];
        params.extend(ops);
        match self.request("transact", params).await? {
            Value::Array(a) => Ok(a),
            v => Err(Error::Protocol(format!("transact result is not an array: {v}"))),
        }
    }
}

fn complete(p: &Pending, id: &Value, r: Result<Value, Error>) {
    let Some(id) = id.as_u64() else { return };
    if let Some(tx) = p.lock().ok().and_then(|mut p| p.remove(&id)) {
        let _ = tx.send(r);
    }
}
