//! One JSON-RPC session with an OVSDB server.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ovsdb::jsonrpc::{Framer, Message};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// Largest message accepted from a server.
const MAX_MESSAGE: usize = 256 << 20;

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
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, Value>>>>>;

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

impl Connection {
    /// Connects to `unix:PATH` or `tcp:IP:PORT` (see
    /// [`Connection::connect_with`] for `ssl:`).
    pub async fn connect(target: &str) -> Result<Connection, Error> {
        Self::connect_with(target, None).await
    }

    /// Connects to `unix:PATH`, `tcp:IP:PORT` or `ssl:IP:PORT`; the last
    /// needs `pki` (mutual authentication: the server's certificate must be
    /// signed by the CA; host names are not checked, as in OVS).
    pub async fn connect_with(target: &str, pki: Option<&Pki>) -> Result<Connection, Error> {
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
            return Ok(Self::over(tls));
        }
        if let Some(p) = target.strip_prefix("unix:") {
            let s = tokio::net::UnixStream::connect(p).await.map_err(|e| Error::Io(format!("{target}: {e}")))?;
            Ok(Self::over(s))
        } else if let Some(a) = target.strip_prefix("tcp:") {
            let a = tcp_addr(a);
            let s = tokio::net::TcpStream::connect(&a).await.map_err(|e| Error::Io(format!("{target}: {e}")))?;
            let _ = s.set_nodelay(true);
            Ok(Self::over(s))
        } else {
            Err(Error::Io(format!("{target}: unsupported remote (expected unix:PATH, tcp:IP:PORT or ssl:IP:PORT)")))
        }
    }

    /// A session over an established stream.
    pub fn over<S: AsyncRead + AsyncWrite + Send + 'static>(stream: S) -> Connection {
        let (mut rd, mut wr) = tokio::io::split(stream);
        let (out, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let (ntx, notifications) = mpsc::unbounded_channel();
        let pending: Pending = Arc::new(Mutex::new(HashMap::new()));
        tokio::spawn(async move {
            while let Some(b) = out_rx.recv().await {
                if wr.write_all(&b).await.is_err() {
                    break;
                }
            }
        });
        let (p2, echo_out) = (pending.clone(), out.clone());
        let closed = Arc::new(AtomicBool::new(false));
        let closed2 = closed.clone();
        let reader = tokio::spawn(async move {
            let mut framer = Framer::new(MAX_MESSAGE);
            let mut buf = vec![0u8; 64 * 1024];
            'read: loop {
                let n = match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                framer.push(&buf[..n]);
                while let Some(m) = framer.next_message() {
                    let Ok(m) = m else {
                        tracing::warn!("bad message from server; closing");
                        break 'read;
                    };
                    match m {
                        Message::Reply { result, id } => complete(&p2, &id, Ok(result)),
                        Message::Error { error, id } => complete(&p2, &id, Err(error)),
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
            }
            // Dropping the senders wakes every waiter with "closed".
            closed2.store(true, Ordering::SeqCst);
            p2.lock().map(|mut p| p.clear()).ok();
        });
        Connection { out, pending, next_id: AtomicU64::new(1), notifications: Some(notifications), reader, closed }
    }

    /// Sends a request and waits for its reply.
    pub async fn request(&self, method: &str, params: Vec<Value>) -> Result<Value, Error> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().map_err(|_| Error::Closed)?.insert(id, tx);
        if self.closed.load(Ordering::SeqCst) {
            self.pending.lock().map(|mut p| p.remove(&id)).ok();
            return Err(Error::Closed);
        }
        let msg = Message::Request { method: method.to_string(), params, id: Value::from(id) };
        self.out.send(msg.to_bytes()).map_err(|_| Error::Closed)?;
        match rx.await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Error::Rpc(e)),
            Err(_) => Err(Error::Closed),
        }
    }

    /// True once the session has ended.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
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

fn complete(p: &Pending, id: &Value, r: Result<Value, Value>) {
    let Some(id) = id.as_u64() else { return };
    if let Some(tx) = p.lock().ok().and_then(|mut p| p.remove(&id)) {
        let _ = tx.send(r);
    }
}
