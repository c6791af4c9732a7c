//! The packet interpreter behind `rovn trace` (ovn-trace(8)).
//!
//! ```text
//!  Network (datapaths, flows, ports, groups, MAC bindings) + Packet
//!        | exec::trace(options: --ct flags, --lb-dst, --select-id)
//!        v
//!  exec::Trace: a tree of Nodes (pipelines, tables hit, actions, blocks)
//!        + deliveries (port, packet) and drop count
//!        | render::{detailed, summary, minimal}
//!        v
//!  text in ovn-trace's three forms
//! ```
//!
//! - [`network`]: what the trace reads from the southbound database, filled
//!   by the caller (the `rovn trace` command reads it over OVSDB).
//! - [`exec`]: the interpreter, table by table, with upstream `ovn-trace`'s
//!   rules for what it cannot know (connection tracking, the controller).
//! - [`render`]: the output forms.

pub mod exec;
pub mod network;
pub mod render;

pub use exec::{parse_ct_flags, trace, Delivery, LbDst, Node, Options, Trace};
pub use network::{Datapath, FdbEntry, Flow, FlowSpec, MacBinding, Network, Port, Vip};
