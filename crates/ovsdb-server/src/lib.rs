//! rovn's OVSDB server.
//!
//! - [`core`]: the deterministic heart — databases with their logs,
//!   sessions, monitors (each update serialized once per distinct monitor),
//!   locks, blocked `wait` transactions and `monitor_cond_since` history.
//! - [`shell`]: the tokio shell — listeners (`punix:`, `ptcp:`), one reader
//!   and one writer task per connection, and the single task that owns the
//!   core. A client that does not read its updates fills its bounded queue
//!   and is disconnected rather than growing the server's memory.

pub mod core;
pub mod shell;

pub use crate::core::{Action, Core, SessionId};
pub use crate::shell::{Remote, Server};
