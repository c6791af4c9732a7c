//! Torn and corrupt logs: a log cut at any byte of its last record, or with
//! any byte of it flipped, opens to the previous records, says what it
//! dropped, is cut back to a valid file, and takes appends again. Corruption
//! in the middle ends the log there; `Log::read` never modifies the file.

mod log_common;

use log_common::*;
use std::path::Path;
use ovsdb::log::{encode_record, Log, Records};
use ovsdb::{ChangeSet, Database};
use serde_json::{json, Value};

/// A log of a few transactions: its bytes, the offset of each record, the
/// contents after each record, and the change sets.
struct Fixture {
    bytes: Vec<u8>,
    offsets: Vec<u64>,
    states: Vec<Value>,
    changes: Vec<ChangeSet>,
}

fn fixture(dir: &TempDir) -> Fixture {
    let schema = schema();
    let path = dir.path("fixture");
    let mut log = Log::create(&path, &schema).unwrap();
    let mut db = Database::new(schema.clone());
    let mut states = vec![contents(&db)];
    let mut changes = Vec::new();
    let txns = [
        json!(["LogTest", {"op": "insert", "table": "Node", "uuid-name": "a",
            "row": {"name": "a", "tags": ["set", ["x", "y"]], "opts": ["map", [["k", "v"]]], "children": ["named-uuid", "l"]}},
            {"op": "insert", "table": "Leaf", "uuid-name": "l", "row": {"v": 1}}]),
        json!(["LogTest", {"op": "insert", "table": "Node", "row": {"name": "b", "n": 2, "reals": ["set", [0.1, 1e20]]}}]),
        json!(["LogTest", {"op": "mutate", "table": "Node", "where": [["name", "==", "a"]],
            "mutations": [["tags", "insert", ["set", ["z"]]], ["opts", "insert", ["map", [["k2", "v2"]]]]]},
            {"op": "comment", "comment": "mutate"}]),
        json!(["LogTest", {"op": "update", "table": "Node", "where": [["name", "==", "a"]],
            "row": {"children": ["set", []], "tags": ["set", ["q"]], "r": 2.5, "color": "red"}}]),
        json!(["LogTest", {"op": "delete", "table": "Node", "where": [["name", "==", "b"]]},
            {"op": "update", "table": "Node", "where": [["name", "==", "a"]], "row": {"opts": ["map", [["k3", "é\n\"q\""]]]}}]),
    ];
    for t in &txns {
        let cs = commit(&mut db, t).unwrap_or_else(|| panic!("{t} did not commit"));
        log.append(&cs, &schema, true).unwrap();
        changes.push(cs);
        states.push(contents(&db));
    }
    let bytes = std::fs::read(&path).unwrap();
    let offsets = Records::new(&bytes).map(|r| r.unwrap().offset).collect();
    Fixture { bytes, offsets, states, changes }
}

/// Opens a damaged copy and checks recovery back to record `good` (the
/// number of transaction records kept); then appends the change sets that
/// were lost and checks the final contents.
fn check_recovery(dir: &TempDir, fx: &Fixture, damaged: &[u8], good: usize, what: &str) {
    let schema = schema();
    let p = dir.path("damaged");
    std::fs::write(&p, damaged).unwrap();
    let cut = fx.offsets[good + 1];

    // Reading leaves the file alone.
    let (db, report) = Log::read(&p).unwrap();
    assert_eq!(contents(&db), fx.states[good], "{what}: read contents");
    let d = report.dropped.as_ref().unwrap_or_else(|| panic!("{what}: nothing reported"));
    assert!(!d.truncated);
    assert_eq!(std::fs::read(&p).unwrap(), damaged, "{what}: read modified the file");

    let (mut log, db, report) = Log::open(&p).unwrap();
    assert_eq!(contents(&db), fx.states[good], "{what}: contents");
    let d = report.dropped.unwrap_or_else(|| panic!("{what}: nothing reported"));
    assert_eq!(d.offset, cut, "{what}: {d}");
    assert_eq!(d.bytes, damaged.len() as u64 - cut, "{what}: {d}");
    assert!(d.truncated && d.records >= 1, "{what}: {d}");
    assert!(!d.reason.is_empty() && d.to_string().contains(&format!("offset {cut}")), "{d}");
    assert_eq!(report.records as usize, good + 1, "{what}");
    assert_eq!(report.good_bytes, cut);
    assert_eq!(std::fs::read(&p).unwrap(), &fx.bytes[..cut as usize], "{what}: not truncated to the good records");

    // Appending afterwards works: replay the lost transactions.
    for cs in &fx.changes[good..] {
        log.append(cs, &schema, false).unwrap();
    }
    let (db, report) = Log::read(&p).unwrap();
    assert_eq!(report.dropped, None, "{what}: after re-append");
    assert_eq!(contents(&db), *fx.states.last().unwrap(), "{what}: after re-append");
}

#[test]
fn cut_anywhere_in_the_last_record() {
    let dir = TempDir::new("log-cut");
    let fx = fixture(&dir);
    let last = *fx.offsets.last().unwrap() as usize;
    let good = fx.offsets.len() - 2;
    for cut in last + 1..fx.bytes.len() {
        check_recovery(&dir, &fx, &fx.bytes[..cut], good, &format!("cut at {cut}"));
    }
    // Cut exactly at a record boundary: nothing to report.
    let p = dir.path("boundary");
    std::fs::write(&p, &fx.bytes[..last]).unwrap();
    let (_, db, report) = Log::open(&p).unwrap();
    assert_eq!(report.dropped, None);
    assert_eq!(contents(&db), fx.states[good]);
}

#[test]
fn flip_any_byte_of_the_last_record() {
    let dir = TempDir::new("log-flip");
    let fx = fixture(&dir);
    let last = *fx.offsets.last().unwrap() as usize;
    let good = fx.offsets.len() - 2;
    for i in last..fx.bytes.len() {
        for mask in [0x01u8, 0x80] {
            let mut b = fx.bytes.clone();
            b[i] ^= mask;
            check_recovery(&dir, &fx, &b, good, &format!("byte {i} ^ {mask:#x}"));
        }
    }
}

#[test]
fn corruption_in_the_middle_ends_the_log_there() {
    let dir = TempDir::new("log-middle");
    let fx = fixture(&dir);
    // Damage the JSON of the second transaction record; good data follows.
    let at = fx.offsets[2] as usize + 70;
    let mut b = fx.bytes.clone();
    b[at] ^= 0x04;
    check_recovery(&dir, &fx, &b, 1, "middle flip");
    let (_, report) = {
        std::fs::write(dir.path("m2"), &b).unwrap();
        Log::read(dir.path("m2")).unwrap()
    };
    let d = report.dropped.unwrap();
    assert_eq!(d.records, 4, "{d}");
    assert!(d.reason.contains("SHA-1"), "{d}");
}

#[test]
fn junk_after_the_last_record() {
    let dir = TempDir::new("log-junk");
    let fx = fixture(&dir);
    let good = fx.offsets.len() - 1;
    for junk in [&b"\0\0\0\0\0\0\0\0"[..], b"\n", b"OVSDB JSON", b"OVSDB JSON 5 abc\n{}\n", b"x"] {
        let mut b = fx.bytes.clone();
        b.extend_from_slice(junk);
        let mut offsets = fx.offsets.clone();
        offsets.push(fx.bytes.len() as u64);
        let fx2 = Fixture { bytes: b.clone(), offsets, states: fx.states.clone(), changes: fx.changes.clone() };
        check_recovery(&dir, &fx2, &b, good, &format!("junk {junk:?}"));
    }
}

#[test]
fn records_that_do_not_apply_end_the_log() {
    let dir = TempDir::new("log-noapply");
    let fx = fixture(&dir);
    let good = fx.offsets.len() - 1;
    for rec in [
        json!({"Nope": {}}),
        json!({"Node": {"00000000-0000-0000-0000-000000000009": null}}),
        json!({"Node": {"00000000-0000-0000-0000-000000000009": {"n": "text"}}}),
        json!({"_is_diff": 3}),
    ] {
        let mut b = fx.bytes.clone();
        b.extend_from_slice(&encode_record(&rec));
        let mut offsets = fx.offsets.clone();
        offsets.push(fx.bytes.len() as u64);
        let fx2 = Fixture { bytes: b.clone(), offsets, states: fx.states.clone(), changes: fx.changes.clone() };
        check_recovery(&dir, &fx2, &b, good, &format!("record {rec}"));
        let (_, r) = Log::read(dir.path("damaged")).unwrap();
        assert_eq!(r.dropped, None);
    }
    // A record that does not apply is reported as such.
    let mut b = fx.bytes.clone();
    b.extend_from_slice(&encode_record(&json!({"Nope": {}})));
    std::fs::write(dir.path("na"), &b).unwrap();
    let (_, r) = Log::read(dir.path("na")).unwrap();
    assert!(r.dropped.unwrap().reason.contains("does not apply"));
}

/// Random damage (flips, cuts, insertions, duplicated spans) never panics:
/// every result is either a hard error about the schema record or a
/// database with a report.
#[test]
fn random_damage_never_panics() {
    let dir = TempDir::new("log-fuzz");
    let fx = fixture(&dir);
    let p = dir.path("fuzz");
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for _ in 0..1500 {
        let mut b = fx.bytes.clone();
        for _ in 0..rng.below(4) + 1 {
            let len = b.len() as u64;
            let i = rng.below(len) as usize;
            match rng.below(5) {
                0 => b[i] ^= 1 << rng.below(8),
                1 => b.truncate(i),
                2 => b.insert(i, [b'\n', b' ', b'{', b'"', b'0', 0xff][rng.below(6) as usize]),
                3 => {
                    let j = (i + rng.below(200) as usize).min(b.len());
                    let span = b[i..j].to_vec();
                    b.splice(i..i, span);
                }
                _ => {
                    b.remove(i);
                }
            }
            if b.is_empty() {
                break;
            }
        }
        std::fs::write(&p, &b).unwrap();
        match Log::read(&p) {
            Ok((db, report)) => {
                assert!(report.good_bytes <= b.len() as u64);
                assert!(fx.states.contains(&contents(&db)), "a state that was never committed");
            }
            Err(e) => assert!(e.to_string().contains("fuzz"), "{e}"),
        }
    }
}

/// Found by fuzzing (fuzz target ovsdb_log): a record that deletes a row
/// still referenced strongly, refers strongly to a missing row, or gives a
/// second row the key of a unique index, used to load into a database whose
/// references or indexes were wrong. Such a record is damage now: the log
/// ends before it. A dangling weak reference is still loaded (upstream can
/// write one).
#[test]
fn records_breaking_references_or_indexes_end_the_log() {
    let dir = TempDir::new("log-unsound");
    let schema_json: Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/everything.ovsschema")).unwrap())
            .unwrap();
    let u = |i: u32| format!("00000000-0000-0000-0000-{i:012}");
    let base = json!({
        "Weak": {u(1): {"k": 1}},
        "Child": {u(2): {"n": 1, "w": ["uuid", u(1)]}},
        "Root": {u(3): {"name": "r", "sset": "s", "kids": ["uuid", u(2)]}}
    });
    let cases = [
        ("deleted row still referenced", json!({"Child": {u(2): null}}), false),
        ("strong reference to a missing row", json!({"Root": {u(4): {"name": "q", "sset": "s", "kids": ["uuid", u(9)]}}}), false),
        ("duplicate index key", json!({"Root": {u(4): {"name": "r", "sset": "t"}}}), false),
        ("index key moved in the same record", json!({"Root": {u(3): {"name": "x"}, u(4): {"name": "r", "sset": "t"}}}), true),
        ("dangling weak reference", json!({"Weak": {u(1): null}}), true),
    ];
    for (i, (what, rec, loads)) in cases.into_iter().enumerate() {
        let path = dir.path(&format!("db{i}"));
        let mut bytes = encode_record(&schema_json);
        bytes.extend(encode_record(&base));
        let good = bytes.len() as u64;
        bytes.extend(encode_record(&rec));
        std::fs::write(&path, &bytes).unwrap();
        let (_, db, report) = Log::open(&path).unwrap_or_else(|e| panic!("{what}: {e}"));
        db.check_invariants(false).unwrap_or_else(|e| panic!("{what}: {e}"));
        if loads {
            assert!(report.dropped.is_none(), "{what}: {:?}", report.dropped);
            assert_eq!(report.records, 3, "{what}");
        } else {
            let d = report.dropped.unwrap_or_else(|| panic!("{what}: loaded"));
            assert_eq!(d.offset, good, "{what}");
            assert!(d.reason.contains("record does not apply"), "{what}: {}", d.reason);
            assert_eq!(report.records, 2, "{what}");
            // The database is the one before the record.
            let root = db.table_by_name("Root").unwrap().1;
            assert_eq!(root.len(), 1, "{what}");
            assert_eq!(db.table_by_name("Child").unwrap().1.len(), 1, "{what}");
            assert_eq!(std::fs::metadata(&path).unwrap().len(), good, "{what}: not cut back");
        }
    }
}
