//! rovn's OVSDB server.
//!
//! - [`core`]: the deterministic heart — databases with their logs,
//!   sessions, monitors (each update serialized once per distinct monitor),
//!   locks, blocked `wait` transactions and `monitor_cond_since` history.
//! - [`compaction`]: when a log has grown enough to be compacted (pure).
//! - [`shell`]: the tokio shell — listeners (`punix:`, `ptcp:`), one reader
//!   and one writer task per connection (the reader also probes idle
//!   clients), and the single task that owns the core.
//! - [`outbox`]: each connection's outgoing queue, bounded in messages and
//!   bytes: a client that does not read its updates is disconnected rather
//!   than growing the server's memory.
//! - [`unixctl`]: the control socket `ovs-appctl` talks to; the shell runs
//!   its commands (remotes, compaction, memory) and the program adds its own
//!   (logging).

pub mod compaction;
pub mod core;
pub mod outbox;
pub mod shell;
pub mod unixctl;

pub use crate::compaction::Policy as CompactionPolicy;
pub use crate::core::{Action, Core, SessionId};
pub use crate::shell::{Remote, Server};
