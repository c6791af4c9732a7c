//! The tokio shell around [`Core`]: listeners, connections, and the task
//! that owns the core.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use ovsdb::jsonrpc::Framer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc;

use crate::core::{Action, Core, SessionId};

/// Largest JSON-RPC message accepted from a client.
pub const MAX_MESSAGE: usize = 64 << 20;
/// Messages queued to one client before it counts as stuck and is dropped.
const OUT_QUEUE: usize = 8192;

/// A passive remote to listen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// `punix:PATH`
    Unix(PathBuf),
    /// `ptcp:PORT[:IP]`
    Tcp(String),
}

impl Remote {
    /// Parses `punix:PATH` or `ptcp:PORT[:IP]`.
    pub fn parse(s: &str) -> Result<Remote, String> {
        if let Some(p) = s.strip_prefix("punix:") {
            return Ok(Remote::Unix(PathBuf::from(p)));
        }
        if let Some(rest) = s.strip_prefix("ptcp:") {
            let (port, ip) = match rest.split_once(':') {
                Some((p, ip)) => (p, ip),
                None => (rest, "0.0.0.0"),
            };
            let port: u16 = port.parse().map_err(|_| format!("{s}: bad port number"))?;
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            let addr = if ip.contains(':') { format!("[{ip}]:{port}") } else { format!("{ip}:{port}") };
            return Ok(Remote::Tcp(addr));
        }
        Err(format!("{s}: unsupported remote (expected punix:PATH or ptcp:PORT[:IP])"))
    }
}

enum Event {
    Connected(SessionId, mpsc::Sender<Arc<Vec<u8>>>),
    Message(SessionId, ovsdb::jsonrpc::Message),
    Closed(SessionId, Option<String>),
}

/// A running server.
pub struct Server {
    core: Core,
    remotes: Vec<Remote>,
}

impl Server {
    /// A server for `core` listening on `remotes`.
    pub fn new(core: Core, remotes: Vec<Remote>) -> Server {
        Server { core, remotes }
    }

    /// Binds the remotes and serves until `shutdown` resolves.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> std::io::Result<()> {
        self.run_with(shutdown, || {}).await
    }

    /// Like [`Server::run`], calling `ready` once every remote is listening.
    pub async fn run_with(
        self,
        shutdown: impl std::future::Future<Output = ()>,
        ready: impl FnOnce(),
    ) -> std::io::Result<()> {
        let (tx, mut rx) = mpsc::channel::<Event>(4096);
        let next_id = Arc::new(std::sync::atomic::AtomicU64::new(1));
        for r in &self.remotes {
            match r {
                Remote::Unix(p) => {
                    let _ = std::fs::remove_file(p);
                    let l = UnixListener::bind(p)
                        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
                    tracing::info!(remote = %p.display(), "listening");
                    let (tx, ids) = (tx.clone(), next_id.clone());
                    tokio::spawn(async move {
                        loop {
                            match l.accept().await {
                                Ok((s, _)) => spawn_session(s, ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed), tx.clone()),
                                Err(e) => tracing::warn!("accept failed: {e}"),
                            }
                        }
                    });
                }
                Remote::Tcp(addr) => {
                    let l = TcpListener::bind(addr)
                        .await
                        .map_err(|e| std::io::Error::new(e.kind(), format!("{addr}: {e}")))?;
                    tracing::info!(remote = %addr, "listening");
                    let (tx, ids) = (tx.clone(), next_id.clone());
                    tokio::spawn(async move {
                        loop {
                            match l.accept().await {
                                Ok((s, peer)) => {
                                    let _ = s.set_nodelay(true);
                                    let id = ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                    tracing::debug!(session = id, %peer, "connection");
                                    spawn_session(s, id, tx.clone());
                                }
                                Err(e) => tracing::warn!("accept failed: {e}"),
                            }
                        }
                    });
                }
            }
        }
        drop(tx);
        ready();
        let mut core = self.core;
        let mut writers: HashMap<SessionId, mpsc::Sender<Arc<Vec<u8>>>> = HashMap::new();
        tokio::pin!(shutdown);
        loop {
            let deadline = core.poll_timeout();
            tokio::select! {
                _ = &mut shutdown => break,
                ev = rx.recv() => match ev {
                    None => break,
                    Some(Event::Connected(s, w)) => {
                        writers.insert(s, w);
                        core.handle_connect(s);
                    }
                    Some(Event::Message(s, m)) => core.handle_message(s, m, Instant::now()),
                    Some(Event::Closed(s, why)) => {
                        if let Some(why) = why {
                            tracing::info!(session = s, "closing connection: {why}");
                        }
                        writers.remove(&s);
                        core.handle_disconnect(s);
                    }
                },
                _ = sleep_until(deadline), if deadline.is_some() => core.handle_timeout(Instant::now()),
            }
            while let Some(a) = core.poll_action() {
                match a {
                    Action::Send(s, bytes) => {
                        let Some(w) = writers.get(&s) else { continue };
                        if w.try_send(bytes).is_err() {
                            tracing::warn!(session = s, "client is not reading its messages; disconnecting it");
                            writers.remove(&s);
                            core.handle_disconnect(s);
                        }
                    }
                    Action::Close(s) => {
                        writers.remove(&s);
                        core.handle_disconnect(s);
                    }
                }
            }
        }
        for r in &self.remotes {
            if let Remote::Unix(p) = r {
                let _ = std::fs::remove_file(p);
            }
        }
        Ok(())
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

fn spawn_session<S>(stream: S, id: SessionId, events: mpsc::Sender<Event>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (wtx, mut wrx) = mpsc::channel::<Arc<Vec<u8>>>(OUT_QUEUE);
    tokio::spawn(async move {
        while let Some(b) = wrx.recv().await {
            if wr.write_all(&b).await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });
    tokio::spawn(async move {
        if events.send(Event::Connected(id, wtx)).await.is_err() {
            return;
        }
        let mut framer = Framer::new(MAX_MESSAGE);
        let mut buf = vec![0u8; 64 * 1024];
        let why = loop {
            let n = match rd.read(&mut buf).await {
                Ok(0) => break None,
                Ok(n) => n,
                Err(e) => break Some(format!("read error: {e}")),
            };
            framer.push(&buf[..n]);
            let mut bad = None;
            while let Some(m) = framer.next_message() {
                match m {
                    Ok(m) => {
                        if events.send(Event::Message(id, m)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        bad = Some(e.to_string());
                        break;
                    }
                }
            }
            if bad.is_some() {
                break bad;
            }
        };
        let _ = events.send(Event::Closed(id, why)).await;
    });
}
