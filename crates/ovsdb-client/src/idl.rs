//! A replica kept current from a server, across disconnections.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ovsdb::{DatabaseSchema, Uuid};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::connection::{Connection, Error};
use crate::replica::Replica;

/// A live replica of tables of one database.
pub struct Idl {
    db: String,
    replica: Arc<Mutex<Replica>>,
    conn: Arc<Mutex<Option<Arc<Connection>>>>,
    seq: watch::Receiver<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Idl {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Driver {
    remotes: Vec<String>,
    db: String,
    replica: Arc<Mutex<Replica>>,
    conn: Arc<Mutex<Option<Arc<Connection>>>>,
    seq: watch::Sender<u64>,
    last_txn: Uuid,
}

impl Idl {
    /// Connects to the first reachable remote, loads the schema and the
    /// initial contents of `tables` (all if empty), and keeps them current
    /// in the background.
    pub async fn start(remotes: Vec<String>, db: &str, tables: &[&str]) -> Result<Idl, Error> {
        let mut last = Error::Io("no remotes".into());
        for r in &remotes {
            let c = match Connection::connect(r).await {
                Ok(c) => c,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            let schema = c.request("get_schema", vec![json!(db)]).await?;
            let schema = DatabaseSchema::from_json(&schema).map_err(|e| Error::Protocol(e.to_string()))?;
            let replica = Replica::new(Arc::new(schema), tables).map_err(|e| Error::Protocol(e.to_string()))?;
            let (seq_tx, seq) = watch::channel(0);
            let mut d = Driver {
                remotes: remotes.clone(),
                db: db.to_string(),
                replica: Arc::new(Mutex::new(replica)),
                conn: Arc::new(Mutex::new(None)),
                seq: seq_tx,
                last_txn: Uuid::nil(),
            };
            let c = d.monitor(c).await?;
            let (replica, conn) = (d.replica.clone(), d.conn.clone());
            let task = tokio::spawn(async move { d.run(c).await });
            return Ok(Idl { db: db.to_string(), replica, conn, seq, task });
        }
        Err(last)
    }

    /// The replica (hold the guard briefly: updates wait for it).
    pub fn replica(&self) -> MutexGuard<'_, Replica> {
        self.replica.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until the replica changes (returns at once if it changed since
    /// the last call).
    pub async fn changed(&mut self) {
        let _ = self.seq.changed().await;
    }

    /// Runs a transaction on the current connection.
    pub async fn transact(&self, ops: Vec<Value>) -> Result<Vec<Value>, Error> {
        let c = self.conn.lock().ok().and_then(|c| c.clone()).ok_or(Error::Closed)?;
        c.transact(&self.db, ops).await
    }
}

impl Driver {
    /// Starts the monitor on `c`, resuming after `last_txn` if the server can.
    async fn monitor(&mut self, c: Connection) -> Result<Connection, Error> {
        let reqs = self.replica.lock().map_err(|_| Error::Closed)?.monitor_requests();
        let r = c
            .request("monitor_cond_since", vec![json!(self.db), json!("idl"), reqs, json!(self.last_txn.to_string())])
            .await?;
        let (found, last, updates) = match r.as_array().map(|a| a.as_slice()) {
            Some([Value::Bool(f), Value::String(l), u]) => (*f, l.clone(), u),
            _ => return Err(Error::Protocol(format!("bad monitor_cond_since reply: {r}"))),
        };
        {
            let mut rep = self.replica.lock().map_err(|_| Error::Closed)?;
            let res = if found { rep.apply_update2(updates) } else { rep.reset(updates) };
            res.map_err(|e| Error::Protocol(e.to_string()))?;
        }
        self.last_txn = Uuid::parse(&last).unwrap_or_default();
        self.seq.send_modify(|s| *s += 1);
        Ok(c)
    }

    async fn run(&mut self, first: Connection) {
        let mut c = first;
        loop {
            let Some(notes) = c.take_notifications() else { return };
            *self.conn.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(c));
            self.follow(notes).await;
            *self.conn.lock().unwrap_or_else(|e| e.into_inner()) = None;
            c = self.reconnect().await;
        }
    }

    /// Applies notifications until the connection closes.
    async fn follow(&mut self, mut notes: crate::connection::Notifications) {
        while let Some((method, params)) = notes.recv().await {
            let updates = match (method.as_str(), params.as_slice()) {
                ("update3", [_, Value::String(txn), u]) => {
                    self.last_txn = Uuid::parse(txn).unwrap_or(self.last_txn);
                    u
                }
                ("update2", [_, u]) => u,
                _ => continue,
            };
            let res = self.replica.lock().map(|mut r| r.apply_update2(updates));
            match res {
                Ok(Ok(())) => {
                    self.seq.send_modify(|s| *s += 1);
                }
                Ok(Err(e)) => {
                    tracing::warn!("bad update from server ({e}); reconnecting");
                    return;
                }
                Err(_) => return,
            }
        }
    }

    async fn reconnect(&mut self) -> Connection {
        let mut backoff = Duration::from_millis(100);
        loop {
            for r in self.remotes.clone() {
                if let Ok(c) = Connection::connect(&r).await {
                    match self.monitor(c).await {
                        Ok(c) => {
                            tracing::info!(remote = %r, "reconnected");
                            return c;
                        }
                        Err(e) => tracing::warn!(remote = %r, "monitor failed: {e}"),
                    }
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(8));
        }
    }
}
