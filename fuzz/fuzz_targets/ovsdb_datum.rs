//! Data: `[column, datum...]` where `column` picks a column of the test
//! schema (every type and constraint) by number. Each datum either fails or
//! parses to one whose JSON form parses back to it; diffs between two
//! datums apply back; union and subtraction behave as set algebra.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ovsdb::{Atom, Datum, OvsdbError, Uuid};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some(Value::Array(items)) = rovn_fuzz::json(data) else { return };
    let Some((col, items)) = items.split_first() else { return };
    let schema = rovn_fuzz::schema();
    let cols: Vec<_> = schema.tables.iter().flat_map(|t| t.columns.iter()).collect();
    let Some(c) = col.as_u64().and_then(|i| cols.get(i as usize % cols.len())) else { return };
    let t = &c.type_;
    let mut names = |n: &str| -> Result<Uuid, OvsdbError> {
        if n.len() < 3 {
            Ok(Uuid::from_u128(n.len() as u128 + 1))
        } else {
            Err(OvsdbError::syntax(format!("unknown name {n}")))
        }
    };
    let mut ds = Vec::new();
    for j in items {
        let _ = Atom::from_json(&t.key, j, Some(&mut names));
        let Ok(d) = Datum::from_json(t, j, Some(&mut names)) else { continue };
        let back = d.to_json();
        let again = Datum::from_json(t, &back, None).unwrap_or_else(|e| panic!("{j} -> {back} does not parse: {e}"));
        assert_eq!(again, d, "{j} -> {back}");
        let again = Datum::from_json(t, &d.to_json_set(), None).unwrap_or_else(|e| panic!("{j} as a set: {e}"));
        assert_eq!(again, d, "{j} as a set");
        ds.push(d);
    }
    for a in &ds {
        for b in &ds {
            assert_eq!(&a.apply_diff(&a.diff(b)), b, "diff {a:?} -> {b:?}");
            let mut u = a.clone();
            u.union(b);
            assert!(u.includes(a) && u.includes(b) || a.is_map(), "{a:?} | {b:?} = {u:?}");
            let mut s = a.clone();
            s.subtract(b);
            assert!(a.includes(&s), "{a:?} - {b:?} = {s:?}");
        }
    }
});
