//! The schemas rovn targets and typed rows for them.
//!
//! [`nb`], [`sb`] and [`vswitch`] hold one struct per table (see
//! `ovsdb_client::typed` for how column types map to Rust types), string
//! enumerations as Rust enums, and a `by_<columns>` lookup per unique index.
//! They are generated from the schema files in the repository's `schemas/`
//! by [`generate`]; `cargo run -p ovn-schema --example regenerate` rewrites
//! them, and the `generated_code_is_fresh` test fails when they are stale.
//!
//! ```no_run
//! # fn f(replica: &ovsdb_client::Replica) {
//! use ovn_schema::sb;
//! for pb in replica.rows::<sb::PortBinding>() {
//!     let dp = replica.get(pb.datapath);
//!     println!("{} on {:?}", pb.logical_port, dp.map(|d| d.tunnel_key));
//! }
//! let hv1 = sb::Chassis::by_name(replica, "hv1");
//! # }
//! ```

use std::path::PathBuf;

#[rustfmt::skip]
#[allow(clippy::all)]
pub mod nb;
#[rustfmt::skip]
#[allow(clippy::all)]
pub mod sb;
#[rustfmt::skip]
#[allow(clippy::all)]
pub mod vswitch;

/// The OVN_Northbound schema text.
pub const NB_SCHEMA: &str = include_str!("../../../schemas/ovn-nb.ovsschema");
/// The OVN_Southbound schema text.
pub const SB_SCHEMA: &str = include_str!("../../../schemas/ovn-sb.ovsschema");
/// The Open_vSwitch schema text.
pub const VSWITCH_SCHEMA: &str = include_str!("../../../schemas/vswitch.ovsschema");

/// (generated module file, schema file), relative to the repository root.
pub const SOURCES: &[(&str, &str)] = &[
    ("crates/ovn-schema/src/nb.rs", "schemas/ovn-nb.ovsschema"),
    ("crates/ovn-schema/src/sb.rs", "schemas/ovn-sb.ovsschema"),
    ("crates/ovn-schema/src/vswitch.rs", "schemas/vswitch.ovsschema"),
];

/// The command that regenerates the modules.
pub const REGENERATE: &str = "cargo run -p ovn-schema --example regenerate";

/// The repository root.
pub fn repo_root() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    p.canonicalize().unwrap_or(p)
}

/// Generates every module from its schema file: (path, contents).
pub fn generate() -> Result<Vec<(PathBuf, String)>, String> {
    let root = repo_root();
    SOURCES
        .iter()
        .map(|(out, schema)| {
            let s = ovsdb_client::ovsdb::DatabaseSchema::from_file(&root.join(schema))
                .map_err(|e| format!("{schema}: {e}"))?;
            let header = format!("// @generated from {schema} by `{REGENERATE}`; do not edit.\n");
            let text = ovsdb_client::codegen::generate(&s, "ovsdb_client", &header)?;
            Ok((root.join(out), text))
        })
        .collect()
}
