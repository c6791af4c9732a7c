//! The control socket that `ovs-appctl` talks to (ovs-appctl(8)).
//!
//! The protocol is JSON-RPC on a unix socket: a request's method is the
//! command name and its params are the command's arguments, all strings.
//! A success is `{"id":ID,"result":TEXT,"error":null}` and a failure
//! `{"id":ID,"error":TEXT}`, TEXT being what ovs-appctl prints (ending in a
//! newline when not empty). A connection may carry several requests, served
//! in order; anything else than a request closes it.
//!
//! This module knows the protocol and the command table; what a command
//! does is up to the caller, which receives each [`Call`] on a channel and
//! answers it through its [`Call::reply`] sender.

use std::collections::BTreeMap;
use std::path::Path;

use ovsdb::jsonrpc::{Framer, Message};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

/// Largest request accepted on the control socket.
const MAX_REQUEST: usize = 1 << 20;

/// A command added by the program (e.g. logging control): takes the
/// arguments, returns the output or the error text.
pub type Handler = Box<dyn FnMut(&[String]) -> Result<String, String> + Send>;

/// One command of the table `list-commands` shows.
pub struct Command {
    /// Argument synopsis, as `list-commands` prints it.
    pub usage: String,
    /// Fewest arguments accepted.
    pub min: usize,
    /// Most arguments accepted.
    pub max: usize,
    /// The program's own handler; `None` for the server's built-in commands.
    pub handler: Option<Handler>,
}

/// The commands a control socket answers, by name.
#[derive(Default)]
pub struct Commands(BTreeMap<String, Command>);

impl Commands {
    /// Adds (or replaces) a command.
    pub fn add(&mut self, name: &str, usage: &str, min: usize, max: usize, handler: Option<Handler>) {
        self.0.insert(name.to_string(), Command { usage: usage.to_string(), min, max, handler });
    }

    /// Checks a call's command name and arguments (their count, then that
    /// they are strings), as upstream words the errors; returns the
    /// arguments.
    pub fn check(&self, method: &str, params: &[Value]) -> Result<Vec<String>, String> {
        let Some(c) = self.0.get(method) else {
            return Err(format!("\"{method}\" is not a valid command (use \"list-commands\" to see a list of valid commands)"));
        };
        if params.len() < c.min {
            return Err(format!("\"{method}\" command requires at least {} arguments", c.min));
        }
        if params.len() > c.max {
            return Err(format!("\"{method}\" command takes at most {} arguments", c.max));
        }
        params
            .iter()
            .map(|p| p.as_str().map(str::to_string).ok_or_else(|| format!("\"{method}\" command has non-string argument")))
            .collect()
    }

    /// Runs a command's program handler, if it has one.
    pub fn run_handler(&mut self, method: &str, args: &[String]) -> Option<Result<String, String>> {
        self.0.get_mut(method).and_then(|c| c.handler.as_mut()).map(|h| h(args))
    }

    /// The `list-commands` output.
    pub fn list(&self) -> String {
        let mut s = String::from("The available commands are:\n");
        for (name, c) in &self.0 {
            s.push_str(&format!("  {name:<23} {}\n", c.usage));
        }
        s
    }
}

/// A command to run, from one control connection.
pub struct Call {
    /// The command name.
    pub method: String,
    /// Its arguments, as sent (see [`Commands::check`]).
    pub params: Vec<Value>,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Reply>,
}

/// The answer to a [`Call`].
pub struct Reply {
    /// The output, or the error text.
    pub result: Result<String, String>,
    /// Set by `exit`: once this reply is written, tell the program to exit.
    pub exit: bool,
}

impl Reply {
    /// A reply that is not `exit`.
    pub fn new(result: Result<String, String>) -> Reply {
        Reply { result, exit: false }
    }
}

/// What the control connections tell the program.
pub enum Event {
    /// Run a command.
    Call(Call),
    /// The reply to `exit` has been sent: exit now.
    Exit,
}

/// Texts end in a newline, as upstream's do (ovs-appctl prints them as is).
fn terminated(mut s: String) -> String {
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// A reply message, byte for byte as upstream sends it.
pub fn encode_reply(id: &Value, result: &Result<String, String>) -> Vec<u8> {
    let id = id.to_string();
    let text = |s: &String| Value::String(terminated(s.clone())).to_string();
    match result {
        Ok(s) => format!("{{\"id\":{id},\"result\":{},\"error\":null}}", text(s)).into_bytes(),
        Err(e) => format!("{{\"id\":{id},\"error\":{}}}", text(e)).into_bytes(),
    }
}

/// Binds the control socket at `path`, replacing a stale one.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    let _ = std::fs::remove_file(path);
    UnixListener::bind(path).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// Accepts control connections until the task is dropped; each request
/// becomes an [`Event::Call`] for the program. The program checks the
/// command with [`Commands::check`] before running it.
pub async fn serve(listener: UnixListener, events: mpsc::Sender<Event>) {
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                tokio::spawn(connection(s, events.clone()));
            }
            Err(e) => {
                tracing::warn!("control socket: accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

async fn connection(mut s: UnixStream, events: mpsc::Sender<Event>) {
    let mut framer = Framer::new(MAX_REQUEST);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        framer.push(&buf[..n]);
        while let Some(m) = framer.next_message() {
            let (method, params, id) = match m {
                Ok(Message::Request { method, params, id }) => (method, params, id),
                Ok(other) => {
                    tracing::debug!("control socket: unexpected message {:?}; closing the connection", other.to_json());
                    return;
                }
                Err(e) => {
                    tracing::debug!("control socket: {e}; closing the connection");
                    return;
                }
            };
            tracing::debug!("control socket: received request {method}{params:?}");
            let (tx, rx) = oneshot::channel();
            if events.send(Event::Call(Call { method, params, reply: tx })).await.is_err() {
                return;
            }
            let Ok(reply) = rx.await else { return };
            let written = s.write_all(&encode_reply(&id, &reply.result)).await.is_ok();
            if reply.exit {
                let _ = s.flush().await;
                let _ = events.send(Event::Exit).await;
                return;
            }
            if !written {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_upstreams_bytes() {
        // Captured from ovsdb-server 3.1.
        assert_eq!(
            encode_reply(&Value::from(0), &Ok("ovsdb-server (Open vSwitch) 3.1.0\n".into())),
            br#"{"id":0,"result":"ovsdb-server (Open vSwitch) 3.1.0\n","error":null}"#
        );
        assert_eq!(encode_reply(&Value::from(7), &Ok(String::new())), br#"{"id":7,"result":"","error":null}"#);
        assert_eq!(encode_reply(&Value::from(7), &Err("no such remote".into())), br#"{"id":7,"error":"no such remote\n"}"#);
    }

    #[test]
    fn command_checks() {
        let mut c = Commands::default();
        c.add("exit", "", 0, 0, None);
        c.add("ovsdb-server/add-remote", "REMOTE", 1, 1, None);
        c.add("echo", "[ARG...]", 0, usize::MAX, Some(Box::new(|a: &[String]| Ok(a.join(" ")))));
        let strs = |v: &[&str]| v.iter().map(|s| Value::from(*s)).collect::<Vec<_>>();
        assert_eq!(
            c.check("nosuch", &[]).unwrap_err(),
            "\"nosuch\" is not a valid command (use \"list-commands\" to see a list of valid commands)"
        );
        assert_eq!(c.check("exit", &[Value::from(1)]).unwrap_err(), "\"exit\" command takes at most 0 arguments");
        assert_eq!(
            c.check("ovsdb-server/add-remote", &[]).unwrap_err(),
            "\"ovsdb-server/add-remote\" command requires at least 1 arguments"
        );
        assert_eq!(
            c.check("ovsdb-server/add-remote", &[Value::from(1)]).unwrap_err(),
            "\"ovsdb-server/add-remote\" command has non-string argument"
        );
        assert_eq!(c.check("ovsdb-server/add-remote", &strs(&["punix:x"])).unwrap(), vec!["punix:x".to_string()]);
        assert!(c.check("exit", &[]).is_ok());
        assert_eq!(c.run_handler("echo", &["a".into(), "b".into()]), Some(Ok("a b".into())));
        assert_eq!(c.run_handler("exit", &[]), None);
        assert_eq!(
            c.list(),
            "The available commands are:\n  echo                    [ARG...]\n  exit                    \n  ovsdb-server/add-remote REMOTE\n"
        );
    }
}
