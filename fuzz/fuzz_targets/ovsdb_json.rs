//! JSON read in place (`ovsdb::json`) against serde_json: whatever the
//! in-place parser accepts, serde_json accepts as the same tree (same key
//! order, same duplicates dropped, same number kinds); whatever it leaves
//! to serde_json, `parse_or_serde` answers as serde_json does.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ovsdb::json::{parse, parse_or_serde, Bump, JsonNode};

fuzz_target!(|data: &[u8]| {
    let arena = Bump::new();
    let theirs: Result<serde_json::Value, _> = serde_json::from_slice(data);
    if let Some(ours) = parse(&arena, data) {
        let t = theirs.as_ref().unwrap_or_else(|e| panic!("serde_json refuses what we accept ({e}): {data:?}"));
        let o = ours.to_value();
        assert_eq!(&o, t, "{data:?}");
        assert_eq!(o.to_string(), t.to_string(), "number kinds differ: {data:?}");
        assert_eq!(ours.to_text(), t.to_string());
    }
    match (parse_or_serde(&arena, data), &theirs) {
        (Ok(o), Ok(t)) => assert_eq!(&o.to_value(), t),
        (Err(o), Err(t)) => assert_eq!(o.to_string(), t.to_string()),
        (o, t) => panic!("{data:?}: {o:?} vs {t:?}"),
    }
});
