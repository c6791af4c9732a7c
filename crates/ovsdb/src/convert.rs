//! Schema conversion: the data of a database re-read under a new schema, as
//! `ovsdb-tool convert` does it. Tables and columns the new schema lacks are
//! dropped; columns it adds start at their defaults; everything else must be
//! valid under the new schema, whose constraints apply in full (types,
//! referential integrity, garbage collection of unreferenced non-root rows,
//! unique indexes, maxRows).
//!
//! The conversion is one big transaction of inserts with the rows' own
//! UUIDs, run through the ordinary engine, so the commit checks are the same
//! code that guards every other write.

use serde_json::{json, Map, Value};

use crate::database::Database;
use crate::error::OvsdbError;
use crate::schema::SchemaRef;
use crate::transaction::{Outcome, TxnContext};

/// Re-reads `db`'s rows under `schema`, returning the converted database.
/// Row UUIDs are kept.
pub fn convert(db: &Database, schema: SchemaRef) -> Result<Database, OvsdbError> {
    let mut ops = Vec::new();
    let mut origin = Vec::new();
    for ts in &schema.tables {
        let Some((old_ts, old)) = db.table_by_name(&ts.name) else { continue };
        let mut rows: Vec<_> = old.rows.iter().collect();
        rows.sort_by_key(|(u, _)| **u);
        for (uuid, row) in rows {
            let mut o = Map::new();
            for (_, col) in ts.user_columns() {
                if let Some(oc) = old_ts.column(&col.name) {
                    o.insert(col.name.clone(), row.values[oc].to_json());
                }
            }
            ops.push(json!({"op": "insert", "table": ts.name, "uuid": uuid.to_string(), "row": o}));
            origin.push(format!("table {} row {uuid}", ts.name));
        }
    }
    let mut new = Database::new(schema);
    let ctx = TxnContext { waits_expired: true, ..Default::default() };
    let prepared = match new.execute(&ops, &ctx) {
        Outcome::Complete(p) => p,
        Outcome::Blocked { .. } => return Err(OvsdbError::new("ovsdb error", "conversion blocked")),
    };
    if prepared.failed {
        let (i, err) = prepared
            .results
            .iter()
            .enumerate()
            .find(|(_, r)| r.get("error").is_some())
            .unwrap_or((ops.len(), &Value::Null));
        let tag = err.get("error").and_then(Value::as_str).unwrap_or("ovsdb error");
        let details = err.get("details").and_then(Value::as_str).unwrap_or("");
        let what = origin.get(i).map(|s| format!("{s}: ")).unwrap_or_default();
        return Err(OvsdbError::new(static_tag(tag), format!("{what}{details}")));
    }
    if let Some(cs) = &prepared.changes {
        new.apply(cs);
    }
    Ok(new)
}

/// The error tags a commit can produce, as static strings.
fn static_tag(tag: &str) -> &'static str {
    const TAGS: [&str; 9] = [
        "constraint violation",
        "referential integrity violation",
        "syntax error",
        "domain error",
        "range error",
        "duplicate uuid",
        "unknown column",
        "timed out",
        "resources exhausted",
    ];
    TAGS.iter().find(|t| **t == tag).copied().unwrap_or("ovsdb error")
}
