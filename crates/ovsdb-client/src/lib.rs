//! rovn's OVSDB client.
//!
//! - [`replica`]: the IDL replica of monitored tables with change tracking
//!   (pure: fed with update notifications).
//! - [`connection`]: a JSON-RPC session over unix or tcp (requests with
//!   replies, notifications, automatic answers to the server's echo).
//! - [`idl`]: a replica kept current from a list of remotes, reconnecting
//!   with backoff and resuming with `monitor_cond_since`.

pub mod connection;
pub mod idl;
pub mod replica;

pub use connection::{Connection, Error};
pub use idl::Idl;
pub use replica::{Replica, RowDelta};
