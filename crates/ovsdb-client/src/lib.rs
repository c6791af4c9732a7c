//! rovn's OVSDB client.
//!
//! - [`replica`]: the IDL replica of monitored tables with change tracking
//!   and unique indexes (pure: fed with update notifications).
//! - [`typed`]: typed rows (structs per table, typed references, enums)
//!   and typed access to the replica; [`codegen`] generates the structs
//!   from a schema (the `ovn-schema` crate holds those of OVN and OVS).
//! - [`connection`]: a JSON-RPC session over unix, tcp or ssl (requests with
//!   replies, notifications, automatic answers to the server's echo, and
//!   inactivity probes of its own that drop a server gone silent).
//! - [`txn`]: transactions built against the replica with optimistic
//!   concurrency (verified reads become `wait` operations).
//! - [`idl`]: a replica kept current from a list of remotes, reconnecting
//!   with backoff and resuming with `monitor_cond_since`, following the
//!   leader of a clustered database (`_Server`), and running transactions
//!   that retry after conflicts or lost connections (see [`idl`] for what
//!   a retry after a lost reply asks of the closure).

pub mod codegen;
pub mod connection;
pub mod idl;
pub mod replica;
pub mod txn;
pub mod typed;

pub use connection::{ConnectOptions, Connection, Error, Pki};
pub use idl::{Idl, IdlOptions, ServerInfo};
pub use replica::{Replica, RowDelta};
pub use txn::{Committed, Txn, TxnError};
pub use typed::{Change, Ref, Table};

/// The OVSDB core, re-exported for generated code.
pub use ovsdb;
