//! Schemas: any text either fails with an error or gives a schema whose
//! JSON form parses back to the same schema; a database on it accepts or
//! refuses a default row in every table without panicking and stays
//! consistent.
#![no_main]
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use ovsdb::{Database, DatabaseSchema, Outcome, TxnContext};
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Some(text) = rovn_fuzz::text(data) else { return };
    let Ok(schema) = DatabaseSchema::from_str(text) else { return };
    let j = schema.to_json();
    let again = DatabaseSchema::from_json(&j).unwrap_or_else(|e| panic!("{j} does not parse back: {e}"));
    assert_eq!(again, schema, "{j}");
    assert_eq!(again.to_json(), j);

    let mut db = Database::new(Arc::new(schema));
    let ops: Vec<_> = db
        .schema()
        .tables
        .iter()
        .map(|t| json!({"op": "insert", "table": t.name, "row": {}}))
        .collect();
    for op in ops {
        let Outcome::Complete(p) = db.execute(std::slice::from_ref(&op), &TxnContext::default()) else {
            panic!("an insert blocked");
        };
        if let Some(cs) = p.changes {
            db.apply(&cs);
            db.check_invariants(true).unwrap_or_else(|e| panic!("after {op}: {e}"));
        }
        let _ = db.to_json();
    }
});
