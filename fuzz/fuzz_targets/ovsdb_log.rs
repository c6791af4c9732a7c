//! Database files: the first byte picks how the rest becomes a file —
//! 0: as is; 1: each line framed as a valid record after the test schema's
//! record; 2: each line framed as a record (a line that is not JSON is
//! written raw, as damage). Reading and opening never panic; an opened
//! database is consistent; opening cut any bad tail, so a second open finds
//! the same database and nothing to drop; a commit appended after that
//! reads back.
#![no_main]
use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use ovsdb::log::{encode_record, Log, Records};
use serde_json::json;

fn path() -> PathBuf {
    let dir = if std::path::Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    dir.join(format!("rovn-fuzz-log-{}.db", std::process::id()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut file = Vec::new();
    match mode % 3 {
        0 => file.extend_from_slice(rest),
        m => {
            if m == 1 {
                file.extend(encode_record(&rovn_fuzz::schema().to_json()));
            }
            for line in rest.split(|&b| b == b'\n') {
                match serde_json::from_slice(line) {
                    Ok(v) => file.extend(encode_record(&v)),
                    Err(_) => file.extend_from_slice(line),
                }
            }
        }
    }
    for r in Records::new(&file) {
        if r.is_err() {
            break;
        }
    }
    let p = path();
    let _ = std::fs::remove_file(&p);
    std::fs::write(&p, &file).expect("write the test file");
    let read = Log::read(&p);
    let opened = Log::open(&p);
    match (&read, &opened) {
        (Ok((a, _)), Ok((_, b, _))) => assert_eq!(rovn_fuzz::durable_json(a), rovn_fuzz::durable_json(b)),
        (Err(_), Err(_)) => {}
        _ => panic!("read and open disagree: {:?} vs {:?}", read.as_ref().err(), opened.as_ref().err()),
    }
    let Ok((log, mut db, _)) = opened else { return };
    db.check_invariants(false).unwrap_or_else(|e| panic!("opened database is inconsistent: {e}"));
    drop(log);
    let (mut log, db2, report) = Log::open(&p).expect("a file opened once opens again");
    assert!(report.dropped.is_none(), "second open drops {:?}", report.dropped);
    assert_eq!(rovn_fuzz::durable_json(&db2), rovn_fuzz::durable_json(&db), "second open reads a different database");

    // Append one change, if the schema has a table to insert into.
    if let Some(t) = db.schema().tables.first().map(|t| t.name.clone()) {
        let (_, cs) = db.transact(&[json!({"op": "insert", "table": t, "row": {}})]);
        if let Some(cs) = cs {
            log.append(&cs, db.schema(), false).expect("append");
            drop(log);
            let (_, db3, report) = Log::open(&p).expect("reopen after append");
            assert!(report.dropped.is_none(), "reopen after append drops {:?}", report.dropped);
            assert_eq!(rovn_fuzz::durable_json(&db3), rovn_fuzz::durable_json(&db), "the appended commit reads back differently");
        }
    }
    let _ = std::fs::remove_file(&p);
});
