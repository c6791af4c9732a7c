//! The log keeps what was committed: random transactions appended, the file
//! reopened, the database equal; compaction keeps it too; records written
//! with and without `_is_diff` replay the same; wrong files are refused.

mod log_common;

use log_common::*;
use ovsdb::log::{
    change_record, change_record_text, decode_record, encode_record, snapshot_changes, snapshot_record,
    snapshot_record_text, txn_from_json, Log, Records,
};
use ovsdb::{Database, DatabaseSchema};
use serde_json::{json, Value};

#[test]
fn random_transactions_survive_reopen() {
    let dir = TempDir::new("log-roundtrip");
    let path = dir.path("db");
    let schema = schema();
    let mut log = Log::create(&path, &schema).unwrap();
    let mut db = Database::new(schema.clone());
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut counter = 0;
    let mut committed = 0;
    for i in 0..600 {
        let txn = random_txn(&mut rng, &db, &mut counter);
        if let Some(cs) = commit(&mut db, &txn) {
            log.append(&cs, &schema, i % 50 == 0).unwrap();
            committed += 1;
        }
        if i % 150 == 149 {
            // The file is locked by `log`: a second writer is refused, a reader is not.
            let e = Log::open(&path).unwrap_err().to_string();
            assert!(e.contains("locked"), "{e}");
            let (db2, report) = Log::read(&path).unwrap();
            assert_eq!(report.dropped, None);
            assert_eq!(report.records, log.n_records());
            assert_eq!(report.good_bytes, log.len());
            assert_eq!(contents(&db2), contents(&db), "after {i} transactions");
        }
    }
    assert!(committed > 300, "only {committed} transactions committed");
    assert!(db.n_rows() > 20);
    // Every record decodes back to exactly the bytes that were written.
    let bytes = std::fs::read(&path).unwrap();
    let mut again = Vec::new();
    for r in Records::new(&bytes) {
        again.extend_from_slice(&encode_record(&r.unwrap().json));
    }
    assert_eq!(again, bytes);

    // Compaction keeps the contents and shrinks the file to two records.
    let before = log.len();
    log.compact(&db, Some("compacted by a test")).unwrap();
    assert_eq!(log.n_records(), 2);
    assert!(log.len() < before);
    assert!(!dir.path("db.tmp").exists());
    // Compaction kept the lock.
    assert!(Log::open(&path).is_err());
    drop(log);
    let (mut log, db2, report) = Log::open(&path).unwrap();
    assert_eq!(report.records, 2);
    assert_eq!(contents(&db2), contents(&db));
    // Appending after compaction works and is replayed on top of the snapshot.
    let mut db = db2;
    for _ in 0..50 {
        let txn = random_txn(&mut rng, &db, &mut counter);
        if let Some(cs) = commit(&mut db, &txn) {
            log.append(&cs, &schema, false).unwrap();
        }
    }
    let (db3, _) = Log::read(&path).unwrap();
    assert_eq!(contents(&db3), contents(&db));
}

/// Records are written straight from the rows, without a `Value`: the text
/// must be exactly that of the `Value` the record stands for (sorted
/// members, escapes, reals, diffs and the fallback to full values when a
/// diff does not fit its column, ephemeral columns left out).
#[test]
fn record_text_is_the_value_text() {
    let schema = schema();
    let mut db = Database::new(schema.clone());
    let mut rng = Rng(0x5eed_1234_abcd_0002);
    let mut counter = 0;
    let (mut diffs, mut full) = (0, 0);
    for i in 0..800 {
        let txn = random_txn(&mut rng, &db, &mut counter);
        if let Some(cs) = commit(&mut db, &txn) {
            let want = change_record(&cs, &schema, 1234 + i).to_string();
            let got = String::from_utf8(change_record_text(&cs, &schema, 1234 + i)).unwrap();
            assert_eq!(got, want, "transaction {i}: {txn}");
            if cs.tables.iter().flat_map(|(_, r)| r).any(|r| r.old.is_some() && r.new.is_some()) {
                if want.contains("\"_is_diff\"") {
                    diffs += 1;
                } else {
                    full += 1;
                }
            }
        }
        if i % 100 == 99 {
            let want = snapshot_record(&db, Some("snap \"shot\""), 77).to_string();
            let snap = snapshot_changes(&db, Some("snap \"shot\""));
            let got = String::from_utf8(snapshot_record_text(&snap, &schema, 77)).unwrap();
            assert_eq!(got, want, "snapshot after {i}");
        }
    }
    assert!(diffs > 50 && full > 0, "{diffs} records with diffs, {full} with full values");
}

#[test]
fn snapshot_records_are_full_inserts() {
    let dir = TempDir::new("log-snapshot");
    let schema = schema();
    let mut db = Database::new(schema.clone());
    let txn = json!(["LogTest",
        {"op": "insert", "table": "Node", "row": {"name": "a", "fixed": "x", "tags": ["set", ["t1", "t2"]], "eph": 3,
            "children": ["named-uuid", "l"], "opts": ["map", [["k", "v"]]]}},
        {"op": "insert", "table": "Leaf", "uuid-name": "l", "row": {"v": 7}},
        {"op": "comment", "comment": "made"}]);
    commit(&mut db, &txn).unwrap();
    let path = dir.path("snap");
    Log::create_snapshot(&path, &db, Some("snap")).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let recs: Vec<_> = Records::new(&bytes).map(Result::unwrap).collect();
    assert_eq!(recs.len(), 2);
    let r = &recs[1].json;
    assert_eq!(r.get("_is_diff"), None);
    assert_eq!(r["_comment"], "snap");
    let node = r["Node"].as_object().unwrap().values().next().unwrap();
    // Defaults and ephemeral columns are left out; the rest is all there.
    assert_eq!(node.as_object().unwrap().keys().collect::<Vec<_>>(), ["children", "fixed", "name", "opts", "tags"]);
    let (db2, _) = Log::read(&path).unwrap();
    assert_eq!(contents(&db2), contents(&db));
    // The target of a snapshot must not exist.
    assert!(Log::create_snapshot(&path, &db, None).is_err());
}

/// The same change written as a diff and as full values replays the same.
#[test]
fn diff_and_full_records_agree() {
    let schema = schema();
    let mut db = Database::new(schema.clone());
    let u = "00000000-0000-0000-0000-000000000001";
    let ins = json!({"Node": {u: {"name": "a", "tags": ["set", ["x", "y"]], "opts": ["map", [["k", "v"], ["k2", "v2"]]],
        "ints": ["set", [1, 2, 3, 4]], "r": 1.5, "one": ["map", [["a", "b"]]]}}, "_is_diff": true});
    db.apply(&txn_from_json(&db, &ins).unwrap());
    let diff = json!({"Node": {u: {"tags": ["set", ["x", "z"]], "opts": ["map", [["k", "v9"], ["k2", "v2"], ["k3", "v3"]]],
        "ints": ["set", [1, 2, 3, 4, 5, 6, 7, 8]], "r": ["set", []], "one": ["map", [["c", "d"]]]}},
        "_is_diff": true, "_date": 1});
    let full = json!({"Node": {u: {"tags": ["set", ["y", "z"]], "opts": ["map", [["k", "v9"], ["k3", "v3"]]],
        "ints": ["set", [5, 6, 7, 8]], "r": ["set", []], "one": ["map", [["c", "d"]]]}}});
    let mut a = db.clone();
    a.apply(&txn_from_json(&db, &diff).unwrap());
    let mut b = db.clone();
    b.apply(&txn_from_json(&db, &full).unwrap());
    assert_eq!(contents(&a), contents(&b));
    let row = &contents(&a)["Node"][u];
    assert_eq!(row["tags"], json!(["set", ["y", "z"]]));
    assert_eq!(row["ints"], json!(["set", [5, 6, 7, 8]]));
    // A diff that leaves too many elements does not apply.
    let bad = json!({"Node": {u: {"ints": ["set", [9]]}}, "_is_diff": true});
    assert!(txn_from_json(&a, &bad).unwrap_err().details.contains("column ints"));
    // Neither do unknown tables, unknown columns, bad UUIDs, deletes of missing rows.
    for bad in [
        json!({"Nope": {u: null}}),
        json!({"Node": {u: {"nope": 1}}}),
        json!({"Node": {"xyz": {}}}),
        json!({"Node": {"00000000-0000-0000-0000-000000000002": null}}),
        json!({"Node": {u: {"n": "string"}}}),
        json!({"Node": {u: 5}}),
        json!({"Node": []}),
        json!({"Node": {u: {"_uuid": ["uuid", u]}}}),
    ] {
        assert!(txn_from_json(&a, &bad).is_err(), "{bad}");
    }
}

#[test]
fn create_refuses_existing_files_and_open_refuses_junk() {
    let dir = TempDir::new("log-refuse");
    let schema = schema();
    let path = dir.path("db");
    Log::create(&path, &schema).unwrap();
    let e = Log::create(&path, &schema).unwrap_err().to_string();
    assert!(e.contains("create failed"), "{e}");

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "empty"),
        ("junk", b"hello world\n".to_vec(), "not an OVSDB database"),
        ("bad-schema-json", record_bytes(&json!({"name": "x"})), "bad schema record"),
        ("torn-schema", encode_record(&schema.to_json())[..100].to_vec(), "bad schema record"),
        ("clustered", clustered_bytes(), "clustered databases are not supported yet"),
    ];
    for (name, bytes, want) in cases {
        let p = dir.path(name);
        std::fs::write(&p, &bytes).unwrap();
        for e in [Log::open(&p).err(), Log::read(&p).err()] {
            let e = e.unwrap_or_else(|| panic!("{name} opened")).to_string();
            assert!(e.contains(want), "{name}: {e}");
        }
        let e = Log::read_schema(&p).unwrap_err().to_string();
        assert!(e.contains(want), "{name}: {e}");
        // A hard error never modifies the file.
        assert_eq!(std::fs::read(&p).unwrap(), bytes, "{name}");
    }
    assert!(Log::open(dir.path("missing")).unwrap_err().to_string().contains("open failed"));
    assert_eq!(Log::read_schema(&path).unwrap(), *schema);
}

fn record_bytes(v: &Value) -> Vec<u8> {
    encode_record(v)
}

/// A file whose first record has the clustered magic.
fn clustered_bytes() -> Vec<u8> {
    let rec = encode_record(&json!({"server_id": "x", "name": "LogTest"}));
    let text = String::from_utf8(rec).unwrap().replacen("OVSDB JSON", "OVSDB CLUSTER", 1);
    assert!(decode_record(text.as_bytes(), 0).is_ok());
    text.into_bytes()
}

#[test]
fn schema_record_round_trips() {
    let schema = schema();
    let dir = TempDir::new("log-schema");
    let p = dir.path("db");
    Log::create(&p, &schema).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    let first = decode_record(&bytes, 0).unwrap().unwrap();
    assert_eq!(DatabaseSchema::from_json(&first.json).unwrap(), *schema);
    assert_eq!(first.size, bytes.len() as u64);
}

/// A compaction started in the background: transactions appended before it
/// finishes follow the snapshot in the new file, in order; after it, the
/// new file takes appends. If writing the snapshot fails, the old file
/// goes on and nothing is lost.
#[test]
fn background_compaction_keeps_appends_made_meanwhile() {
    let dir = TempDir::new("log-bgcompact");
    let path = dir.path("db");
    let schema = schema();
    let mut log = Log::create(&path, &schema).unwrap();
    let mut db = Database::new(schema.clone());
    let mut rng = Rng(0x5eed_1234_abcd_0002);
    let mut counter = 0;
    let mut append_some = |log: &mut Log, db: &mut Database, n: usize| {
        let mut k = 0;
        while k < n {
            let txn = random_txn(&mut rng, db, &mut counter);
            if let Some(cs) = commit(db, &txn) {
                log.append(&cs, &schema, false).unwrap();
                k += 1;
            }
        }
    };
    append_some(&mut log, &mut db, 200);
    log.start_compaction(&db, Some("bg")).unwrap();
    assert!(log.compacting());
    // Starting again while one runs does nothing.
    log.start_compaction(&db, None).unwrap();
    append_some(&mut log, &mut db, 30);
    assert_eq!(log.n_records(), 231, "still appending to the old file");
    log.finish_compaction().unwrap();
    assert!(!log.compacting() && !log.compaction_ready());
    assert_eq!(log.n_records(), 32, "schema, snapshot, the 30 appended meanwhile");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), log.len());
    append_some(&mut log, &mut db, 5);
    let (db2, report) = Log::read(&path).unwrap();
    assert_eq!(report.dropped, None);
    assert_eq!(report.records, 37);
    assert_eq!(contents(&db2), contents(&db));
    let bytes = std::fs::read(&path).unwrap();
    let snap = Records::new(&bytes).nth(1).unwrap().unwrap().json;
    assert_eq!(snap["_comment"], json!("bg"));

    // The scratch file cannot be written (a directory is in the way): the
    // compaction fails, the log goes on where it was.
    let tmp = dir.path("db.tmp");
    std::fs::create_dir(&tmp).unwrap();
    log.start_compaction(&db, None).unwrap();
    append_some(&mut log, &mut db, 3);
    let e = log.finish_compaction().unwrap_err().to_string();
    assert!(e.contains("db.tmp"), "{e}");
    assert!(!log.compacting());
    append_some(&mut log, &mut db, 3);
    assert_eq!(log.n_records(), 43);
    drop(log);
    let (mut log, db3, report) = Log::open(&path).unwrap();
    assert_eq!(report.dropped, None);
    assert_eq!(contents(&db3), contents(&db));
    std::fs::remove_dir(&tmp).unwrap();
    log.compact(&db3, None).unwrap();
    assert_eq!(log.n_records(), 2);
    assert_eq!(contents(&Log::read(&path).unwrap().0), contents(&db));

    // A log closed while it compacts: its snapshot's thread is done and
    // its scratch file gone before the file can be opened again (a second
    // compaction would otherwise write the same scratch file meanwhile).
    log.start_compaction(&db3, None).unwrap();
    drop(log);
    // (A thread left running would write it within this time.)
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!tmp.exists(), "the scratch file outlived its log");
    let (log, db4, report) = Log::open(&path).unwrap();
    assert_eq!(report.dropped, None);
    assert_eq!(contents(&db4), contents(&db));
    assert_eq!(log.n_records(), 2);
}
