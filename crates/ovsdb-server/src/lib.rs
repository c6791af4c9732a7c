//! rovn's OVSDB server.
//!
//! - [`core`]: the deterministic heart — databases with their logs,
//!   sessions, monitors (each update serialized once per distinct monitor),
//!   locks, blocked `wait` transactions and `monitor_cond_since` history.
//! - [`compaction`]: when a log has grown enough to be compacted (pure).
//! - [`remote`], [`dbconfig`]: remotes and PKI settings as ovsdb-server(1)
//!   names them, and what `db:DB,TABLE,COLUMN` references read from the
//!   databases (Connection rows, SSL file names) and write back (status).
//! - [`rbac`]: role-based access control of a role's clients' writes.
//! - [`shell`]: the tokio shell — listeners (`punix:`, `ptcp:`, `pssl:` with
//!   mutual TLS authentication), outbound remotes (`unix:`, `tcp:`, `ssl:`)
//!   that reconnect with backoff, one reader
//!   and one writer task per connection (the reader also probes idle
//!   clients), and the single task that owns the core.
//! - [`outbox`]: each connection's outgoing queue, and how far behind its
//!   client is: past a mark the core holds back the client's monitor
//!   updates and the reader stops reading its requests; a hard bound
//!   remains as a last resort against replies already owed.
//! - [`coalesce`]: the monitor updates held back for a client that is
//!   behind, as each row's net change (bounded by the rows it watches, not
//!   by the number of transactions), sent as one update once it caught up.
//! - [`busy_poll`]: after answering requests the main task keeps polling
//!   for the next for a while, adaptively, instead of sleeping at once.
//! - [`unixctl`]: the control socket `ovs-appctl` talks to; the shell runs
//!   its commands (remotes, compaction, memory) and the program adds its own
//!   (logging).

pub mod alloc;
pub mod batch_send;
pub mod busy_poll;
pub mod coalesce;
pub mod compaction;
pub mod core;
pub mod dbconfig;
pub mod outbox;
pub mod rbac;
pub mod remote;
pub mod shell;
pub mod unixctl;

pub use crate::compaction::Policy as CompactionPolicy;
pub use crate::core::{Action, Core, Peer, SessionId, SessionLocks};
pub use crate::dbconfig::DbRef;
pub use crate::remote::{Backoff, Remote, Setting, Spec, SslOptions};
pub use crate::shell::Server;
