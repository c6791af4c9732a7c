//! Transactions: a JSON array of transactions (each an array of
//! operations) run one after another on a small database of the test
//! schema. `Database::execute` never panics and answers one result per
//! operation (plus one for a commit failure); after each commit the
//! database's invariants hold (references, reference counts, indexes,
//! constraints, garbage collection), and the commit's log record, read back
//! against the database before it, reproduces the same database.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ovsdb::log::txn_from_json;
use ovsdb::{Outcome, TxnContext};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some(Value::Array(txns)) = rovn_fuzz::json(data) else { return };
    let mut db = rovn_fuzz::seeded_db();
    for (i, txn) in txns.iter().enumerate() {
        let Value::Array(ops) = txn else { continue };
        let has_lock = |name: &str| name.len() % 2 == 0;
        let ctx = TxnContext { has_lock: &has_lock, waits_expired: i % 2 == 1, ..TxnContext::default() };
        let p = match db.execute(ops, &ctx) {
            Outcome::Complete(p) => p,
            Outcome::Blocked { .. } => {
                assert!(!ctx.waits_expired, "{txn} blocked although waits have expired");
                continue;
            }
        };
        let n = ops.len();
        assert!(p.results.len() == n || (p.failed && p.results.len() == n + 1), "{txn} -> {:?}", p.results);
        assert!(!p.failed || p.changes.is_none(), "{txn} failed but has changes");
        let Some(cs) = p.changes else { continue };
        let before = db.clone();
        db.apply(&cs);
        db.check_invariants(true).unwrap_or_else(|e| panic!("after {txn} -> {:?}: {e}", p.results));

        let rec = cs.to_log_record(db.schema(), 0);
        let replayed = txn_from_json(&before, &rec).unwrap_or_else(|e| panic!("record {rec} of {txn} does not read back: {e}"));
        let mut again = before;
        again.apply(&replayed);
        again.check_invariants(true).unwrap_or_else(|e| panic!("after replaying {rec}: {e}"));
        assert_eq!(rovn_fuzz::durable_json(&again), rovn_fuzz::durable_json(&db), "log record {rec} of {txn} reads back differently");
    }
});
