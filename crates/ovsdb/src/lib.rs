//! The OVSDB core: everything about an OVSDB database that needs no network.
//!
//! - [`schema`]: `.ovsschema` parsing and validation (RFC 7047 §3.2, ovsdb(5)).
//! - [`atom`], [`datum`]: values and their JSON wire forms.
//! - [`condition`], [`mutation`]: `where` clauses and `mutations`.
//! - [`database`], [`row`]: tables in memory, with indexes and reference counts.
//! - [`transaction`]: the engine that executes a `transact` request and runs the
//!   commit checks, producing results and a [`database::ChangeSet`].
//! - [`json`]: JSON read in place (the transaction path), and reading either tree.
//! - [`convert`]: moving a database's data to a new version of its schema.
//! - [`log`]: the standalone on-disk format of ovsdb(5), durable commits,
//!   torn-tail recovery and compaction (the only I/O in this crate).
//!
//! The engine never mutates the database while executing: it builds a change
//! set that the caller logs, then applies. That keeps abort free and lets the
//! server write the log before it acknowledges.

pub mod atom;
pub mod condition;
pub mod convert;
pub mod database;
pub mod datum;
pub mod error;
pub mod json;
pub mod jsonrpc;
pub mod log;
pub mod monitor;
pub mod mutation;
pub mod row;
pub mod schema;
pub mod transaction;
pub mod uuid;

pub use atom::Atom;
pub use database::{ChangeSet, Database, RowChange};
pub use datum::Datum;
pub use error::{Error, OvsdbError, Result};
pub use row::Row;
pub use schema::{DatabaseSchema, SchemaRef};
pub use transaction::{Access, Outcome, Prepared, TxnContext, Write};
pub use uuid::Uuid;
