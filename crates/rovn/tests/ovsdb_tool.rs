//! `rovn ovsdb-tool` against upstream `ovsdb-tool`: the same commands on
//! the same inputs give the same output (up to upstream's hash ordering in
//! show-log and the random `_version`s), files either one writes are read by
//! the other, and errors are clear one-liners with exit status 1.

mod common;

use common::*;
use serde_json::{json, Value};

/// A script of transactions with fixed UUIDs, so that both tools produce
/// identical results: sets, maps, optional values, references, garbage
/// collection, comments, deletes, failures.
fn script() -> Vec<Value> {
    let n1 = "00000000-0000-0000-0000-000000000001";
    let n2 = "00000000-0000-0000-0000-000000000002";
    let l1 = "00000000-0000-0000-0000-00000000000a";
    vec![
        json!(["LogTest",
            {"op": "insert", "table": "Leaf", "uuid": l1, "uuid-name": "leaf", "row": {"v": 1, "label": "first"}},
            {"op": "insert", "table": "Node", "uuid": n1, "row": {"name": "a b", "tags": ["set", ["x", "", "1a", "é", "true"]],
                "opts": ["map", [["k", "v"], ["k2", "v2"]]], "children": ["named-uuid", "leaf"], "r": 1.5,
                "reals": ["set", [0.1, 1e20, -3, 2.5e-7]], "imap": ["map", [[1, 2.0]]], "fixed": "f", "eph": 3}},
            {"op": "comment", "comment": "first\nsecond line"}]),
        json!(["LogTest", {"op": "insert", "table": "Node", "uuid": n2, "row": {"name": "plain", "peers": ["uuid", n1], "flag": true}}]),
        json!(["LogTest", {"op": "mutate", "table": "Node", "where": [["name", "==", "a b"]],
            "mutations": [["tags", "insert", ["set", ["z"]]], ["tags", "delete", "x"], ["opts", "insert", ["map", [["k3", "v3"]]]], ["n", "+=", 5]]}]),
        json!(["LogTest", {"op": "update", "table": "Node", "where": [["name", "==", "a b"]],
            "row": {"opts": ["map", [["k", "v9"], ["k3", "v3"]]], "r": ["set", []], "color": "red", "one": ["map", [["p", "q"]]], "children": ["set", []]}}]),
        json!(["LogTest", {"op": "select", "table": "Node", "where": [], "columns": ["name", "tags"]}]),
        json!(["LogTest", {"op": "delete", "table": "Node", "where": [["name", "==", "a b"]]}]),
        json!(["LogTest", {"op": "update", "table": "Node", "where": [["name", "==", "plain"]], "row": {"name": "renamed"}}]),
    ]
}

fn select_all() -> String {
    json!(["LogTest",
        {"op": "select", "table": "Leaf", "where": []},
        {"op": "select", "table": "Node", "where": []},
        {"op": "select", "table": "Seq", "where": []}])
    .to_string()
}

#[test]
fn same_script_same_output() {
    let Some(tool) = upstream("ovsdb-tool") else { return };
    let dir = TempDir::new("tool-script");
    let (ours, theirs) = (dir.path("ours.db"), dir.path("theirs.db"));
    rovn_ok(["create".as_ref(), ours.as_os_str(), schema_path().as_os_str()]);
    let r = exec(&tool, ["create".as_ref(), theirs.as_os_str(), schema_path().as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.err);
    // The schema record is the same schema.
    assert_eq!(exec(&tool, ["db-name".as_ref(), ours.as_os_str()]).out, "LogTest\n");

    for txn in script() {
        let t = txn.to_string();
        let a = rovn_tool(["transact".as_ref(), ours.as_os_str(), t.as_ref()]);
        let b = exec(&tool, ["transact".as_ref(), theirs.as_os_str(), t.as_ref()]);
        assert_eq!((a.code, &a.err), (0, &String::new()));
        assert_eq!(strip_versions(&a.out), strip_versions(&b.out), "transact {t}");
    }

    // Both files hold the same data, whoever reads them.
    let q = select_all();
    let up_on_ours = exec(&tool, ["query".as_ref(), ours.as_os_str(), q.as_ref()]);
    let up_on_theirs = exec(&tool, ["query".as_ref(), theirs.as_os_str(), q.as_ref()]);
    let we_on_ours = rovn_ok(["query".as_ref(), ours.as_os_str(), q.as_ref()]);
    let we_on_theirs = rovn_ok(["query".as_ref(), theirs.as_os_str(), q.as_ref()]);
    assert_eq!(up_on_ours.code, 0, "{}", up_on_ours.err);
    let want = canonical_query(&up_on_theirs.out);
    assert!(want.to_string().contains("renamed"), "{want}");
    for (who, got) in [("upstream on rovn's file", &up_on_ours.out), ("rovn on rovn's file", &we_on_ours), ("rovn on upstream's file", &we_on_theirs)] {
        assert_eq!(canonical_query(got), want, "{who}");
    }

    // show-log prints the same, at every verbosity, on both files.
    for db in [&ours, &theirs] {
        for more in [None, Some("-m"), Some("-mm")] {
            let mut args = vec!["show-log".as_ref()];
            args.extend(more.map(std::ffi::OsStr::new));
            args.push(db.as_os_str());
            let a = rovn_tool(&args);
            let b = exec(&tool, &args);
            assert_eq!(a.code, 0, "{}", a.err);
            assert_lines_eq(&canonical_show_log(&a.out), &canonical_show_log(&b.out), &format!("show-log {more:?} {}", db.display()));
        }
    }
}

#[test]
fn info_commands_match_upstream() {
    let Some(tool) = upstream("ovsdb-tool") else { return };
    let dir = TempDir::new("tool-info");
    for schema in [shipped("ovn-nb.ovsschema"), shipped("vswitch.ovsschema"), schema_path()] {
        let db = dir.path("db");
        let _ = std::fs::remove_file(&db);
        rovn_ok(["create".as_ref(), db.as_os_str(), schema.as_os_str()]);
        for cmd in ["db-name", "db-version", "db-cksum"] {
            let a = rovn_tool([cmd.as_ref(), db.as_os_str()]);
            let b = exec(&tool, [cmd.as_ref(), db.as_os_str()]);
            assert_eq!((a.code, &a.out), (b.code, &b.out), "{cmd} {}", schema.display());
        }
        for cmd in ["schema-name", "schema-version", "schema-cksum"] {
            let a = rovn_tool([cmd.as_ref(), schema.as_os_str()]);
            let b = exec(&tool, [cmd.as_ref(), schema.as_os_str()]);
            assert_eq!((a.code, &a.out), (b.code, &b.out), "{cmd} {}", schema.display());
        }
        assert_eq!(rovn_ok(["needs-conversion".as_ref(), db.as_os_str(), schema.as_os_str()]), "no\n");
        assert_eq!(rovn_tool(["db-is-standalone".as_ref(), db.as_os_str()]).code, 0);
        assert_eq!(rovn_tool(["db-is-clustered".as_ref(), db.as_os_str()]).code, 2);
    }
    for (a, op, b, code) in [("1.2.3", "<", "1.10.0", 0), ("1.2.3", ">=", "1.10.0", 2), ("2.0.0", "==", "2.0.0", 0), ("2.0.0", "!=", "2.0.0", 2)] {
        assert_eq!(rovn_tool(["compare-versions", a, op, b]).code, code, "{a} {op} {b}");
        assert_eq!(exec(&tool, ["compare-versions", a, op, b]).code, code, "upstream {a} {op} {b}");
    }
    // Clustered databases are recognized and refused clearly.
    let cl = dir.path("cluster.db");
    let r = exec(&tool, ["create-cluster".as_ref(), cl.as_os_str(), schema_path().as_os_str(), "tcp:127.0.0.1:6644".as_ref()]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(rovn_tool(["db-is-clustered".as_ref(), cl.as_os_str()]).code, 0);
    for cmd in ["db-name", "show-log", "compact"] {
        let r = rovn_tool([cmd.as_ref(), cl.as_os_str()]);
        assert_eq!(r.code, 1);
        assert!(r.err.contains("clustered databases are not supported yet"), "{cmd}: {}", r.err);
    }
}

#[test]
fn errors_are_one_clear_line() {
    let dir = TempDir::new("tool-errors");
    let db = dir.path("db");
    let missing = dir.path("missing.db");
    rovn_ok(["create".as_ref(), db.as_os_str(), schema_path().as_os_str()]);
    let junk = dir.path("junk");
    std::fs::write(&junk, "this is not a database\n").unwrap();
    let dbs = db.to_str().unwrap();
    let (sp, xp) = (schema_path(), dir.path("x"));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["create", dbs, sp.to_str().unwrap()], "File exists"),
        (vec!["bogus"], "unknown command 'bogus'"),
        (vec![], "missing command"),
        (vec!["db-name", "a", "b"], "'db-name' command takes at most 1 arguments"),
        (vec!["compare-versions", "1"], "requires at least 3 arguments"),
        (vec!["compare-versions", "1.x", "<", "1.2.3"], "not a valid version"),
        (vec!["compare-versions", "1.0.0", "<>", "1.2.3"], "not a comparison operator"),
        (vec!["query", dbs, "[\"LogTest\","], "EOF while parsing"),
        (vec!["db-name", missing.to_str().unwrap()], "open failed"),
        (vec!["show-log", junk.to_str().unwrap()], "not an OVSDB database"),
        (vec!["query", junk.to_str().unwrap(), "[]"], "not an OVSDB database"),
        (vec!["create", xp.to_str().unwrap(), junk.to_str().unwrap()], "JSON"),
        (vec!["--bogus"], "unrecognized option"),
        (vec!["--rbac-role=reader", "query", dbs, "[]"], "not supported"),
    ];
    for (args, want) in cases {
        let r = rovn_tool(&args);
        assert_eq!(r.code, 1, "{args:?}: {}", r.out);
        assert!(r.err.starts_with("rovn ovsdb-tool: "), "{args:?}: {}", r.err);
        assert!(r.err.contains(want), "{args:?}: {}", r.err);
        assert_eq!(r.err.lines().count(), 1, "{args:?}: {}", r.err);
    }
    // Transaction-level errors are results, as upstream prints them.
    assert_eq!(
        rovn_ok(["query".as_ref(), db.as_os_str(), "{}".as_ref()]),
        "{\"details\":\"array expected\",\"error\":\"syntax error\",\"syntax\":\"{}\"}\n"
    );
    let r = rovn_ok(["query".as_ref(), db.as_os_str(), "[\"Wrong\"]".as_ref()]);
    assert!(r.contains("database name expected as first parameter"), "{r}");
    // A query never changes the file, even when it tries to.
    let before = std::fs::read(&db).unwrap();
    let r = rovn_ok(["query".as_ref(), db.as_os_str(), r#"["LogTest",{"op":"insert","table":"Seq","row":{"n":1}}]"#.as_ref()]);
    assert!(r.starts_with("[{\"uuid\":"), "{r}");
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn default_paths_follow_the_environment() {
    let dir = TempDir::new("tool-defaults");
    let out = std::process::Command::new(ROVN)
        .args(["ovsdb-tool", "create"])
        .env("OVS_DBDIR", &dir.0)
        .env("OVS_PKGDATADIR", shipped(""))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(rovn_ok(["db-name", dir.path("conf.db").to_str().unwrap()]), "Open_vSwitch\n");
    let help = rovn_ok(["--help"]);
    assert!(help.contains("/etc/openvswitch/conf.db") && help.contains("show-log"), "{help}");
}

#[test]
fn torn_tail_is_reported_and_repaired_by_writers_only() {
    let dir = TempDir::new("tool-torn");
    let db = dir.path("db");
    rovn_ok(["create".as_ref(), db.as_os_str(), schema_path().as_os_str()]);
    for i in 0..3 {
        let t = json!(["LogTest", {"op": "insert", "table": "Seq", "row": {"n": i}}]).to_string();
        rovn_ok(["transact".as_ref(), db.as_os_str(), t.as_ref()]);
    }
    let full = std::fs::read(&db).unwrap();
    let torn = &full[..full.len() - 7];
    std::fs::write(&db, torn).unwrap();
    let q = json!(["LogTest", {"op": "select", "table": "Seq", "where": [], "columns": ["n"]}]).to_string();
    let r = rovn_tool(["query".as_ref(), db.as_os_str(), q.as_ref()]);
    assert_eq!(r.code, 0);
    assert_eq!(canonical_query(&r.out), json!([{"rows": [{"n": 0}, {"n": 1}]}]));
    assert!(r.err.contains("warning: ignoring") && r.err.contains("truncated record"), "{}", r.err);
    assert_eq!(std::fs::read(&db).unwrap(), torn, "query modified the file");

    let t = json!(["LogTest", {"op": "insert", "table": "Seq", "row": {"n": 9}}]).to_string();
    let r = rovn_tool(["transact".as_ref(), db.as_os_str(), t.as_ref()]);
    assert_eq!(r.code, 0);
    assert!(r.err.contains("warning: dropped"), "{}", r.err);
    let r = rovn_tool(["query".as_ref(), db.as_os_str(), q.as_ref()]);
    assert_eq!((canonical_query(&r.out), r.err.as_str()), (json!([{"rows": [{"n": 0}, {"n": 1}, {"n": 9}]}]), ""));
    if let Some(tool) = upstream("ovsdb-tool") {
        let r = exec(&tool, ["query".as_ref(), db.as_os_str(), q.as_ref()]);
        assert_eq!(r.code, 0, "{}", r.err);
        assert_eq!(canonical_query(&r.out), json!([{"rows": [{"n": 0}, {"n": 1}, {"n": 9}]}]));
    }
}

#[test]
fn compact_and_convert() {
    let dir = TempDir::new("tool-compact");
    let db = dir.path("db");
    rovn_ok(["create".as_ref(), db.as_os_str(), schema_path().as_os_str()]);
    for txn in script() {
        rovn_ok(["transact".as_ref(), db.as_os_str(), txn.to_string().as_ref()]);
    }
    let q = select_all();
    let before = canonical_query(&rovn_ok(["query".as_ref(), db.as_os_str(), q.as_ref()]));
    let size = std::fs::metadata(&db).unwrap().len();

    // To a new file, which must not exist; then in place.
    let copy = dir.path("copy.db");
    rovn_ok(["compact".as_ref(), db.as_os_str(), copy.as_os_str()]);
    assert_eq!(rovn_tool(["compact".as_ref(), db.as_os_str(), copy.as_os_str()]).code, 1);
    rovn_ok(["compact".as_ref(), db.as_os_str()]);
    assert!(std::fs::metadata(&db).unwrap().len() < size);
    assert!(!dir.path("db.tmp").exists());
    for f in [&db, &copy] {
        assert_eq!(canonical_query(&rovn_ok(["query".as_ref(), f.as_os_str(), q.as_ref()])), before);
        let log = rovn_ok(["show-log".as_ref(), f.as_os_str()]);
        assert_eq!(log.lines().filter(|l| l.starts_with("record")).count(), 2, "{log}");
        assert!(log.contains("\"compacted by rovn ovsdb-tool"), "{log}");
        if let Some(tool) = upstream("ovsdb-tool") {
            assert_eq!(canonical_query(&exec(&tool, ["query".as_ref(), f.as_os_str(), q.as_ref()]).out), before);
        }
    }

    // Convert: a dropped column and a new one, a new version.
    let mut s: Value = serde_json::from_str(&std::fs::read_to_string(schema_path()).unwrap()).unwrap();
    s["version"] = json!("1.1.0");
    s["tables"]["Node"]["columns"].as_object_mut().unwrap().remove("tags");
    s["tables"]["Node"]["columns"]["added"] = json!({"type": "integer"});
    let new_schema = dir.path("new.ovsschema");
    std::fs::write(&new_schema, s.to_string()).unwrap();
    assert_eq!(rovn_ok(["needs-conversion".as_ref(), db.as_os_str(), new_schema.as_os_str()]), "yes\n");
    let converted = dir.path("converted.db");
    rovn_ok(["convert".as_ref(), db.as_os_str(), new_schema.as_os_str(), converted.as_os_str()]);
    assert_eq!(rovn_ok(["db-version".as_ref(), converted.as_os_str()]), "1.1.0\n");
    let rows = rovn_ok(["query".as_ref(), converted.as_os_str(), r#"["LogTest",{"op":"select","table":"Node","where":[],"columns":["name","added"]}]"#.as_ref()]);
    assert_eq!(rows, "[{\"rows\":[{\"added\":0,\"name\":\"renamed\"}]}]\n");
    // In place.
    rovn_ok(["convert".as_ref(), db.as_os_str(), new_schema.as_os_str()]);
    assert_eq!(rovn_ok(["db-version".as_ref(), db.as_os_str()]), "1.1.0\n");
    if let Some(tool) = upstream("ovsdb-tool") {
        assert_eq!(exec(&tool, ["db-version".as_ref(), db.as_os_str()]).out, "1.1.0\n");
    }

    // Data that does not fit the new schema is an error, and nothing changes.
    s["tables"]["Node"]["columns"]["name"] = json!({"type": {"key": {"type": "string", "maxLength": 3}}});
    std::fs::write(&new_schema, s.to_string()).unwrap();
    let before = std::fs::read(&db).unwrap();
    let r = rovn_tool(["convert".as_ref(), db.as_os_str(), new_schema.as_os_str()]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("conversion") && r.err.contains("renamed"), "{}", r.err);
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn top_level_help_and_version() {
    let r = exec(ROVN, ["--help"]);
    assert_eq!(r.code, 0);
    assert!(r.out.contains("ovsdb-tool"), "{}", r.out);
    assert_eq!(exec(ROVN, ["help"]).out, r.out);
    let v = exec(ROVN, ["--version"]);
    assert_eq!((v.code, v.out.as_str()), (0, concat!("rovn ", env!("CARGO_PKG_VERSION"), "\n")));
    let u = exec(ROVN, ["frobnicate"]);
    assert_eq!(u.code, 1);
    assert!(u.err.contains("unknown command 'frobnicate'"), "{}", u.err);
    assert_eq!(exec(ROVN, Vec::<&str>::new()).code, 1);
}

/// A writer holds the upstream-style lock: neither upstream ovsdb-tool nor
/// another rovn writer may write the file meanwhile; readers may.
#[test]
fn writers_exclude_each_other() {
    use std::io::BufRead;
    let dir = TempDir::new("tool-lock");
    let db = dir.path("db");
    rovn_ok(["create".as_ref(), db.as_os_str(), schema_path().as_os_str()]);
    let mut writer = std::process::Command::new(ROVN)
        .args(["ovsdb-tool", "_crash-writer"])
        .arg(&db)
        .args(["Seq", "n"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Keep the pipe open: the writer stops (and unlocks) when it cannot print.
    let mut acks = std::io::BufReader::new(writer.stdout.take().unwrap());
    let mut first = String::new();
    acks.read_line(&mut first).unwrap();
    assert_eq!(first, "1\n");
    let t = r#"["LogTest",{"op":"insert","table":"Seq","row":{"n":-1}}]"#;
    let ours = rovn_tool(["transact".as_ref(), db.as_os_str(), t.as_ref()]);
    let q = rovn_tool(["query".as_ref(), db.as_os_str(), t.as_ref()]);
    let theirs = upstream("ovsdb-tool").map(|tool| exec(&tool, ["transact".as_ref(), db.as_os_str(), t.as_ref()]));
    writer.kill().unwrap();
    writer.wait().unwrap();
    drop(acks);
    assert_eq!(ours.code, 1);
    assert!(ours.err.contains("locked"), "{}", ours.err);
    assert_eq!(q.code, 0, "{}", q.err);
    if let Some(theirs) = theirs {
        assert_eq!(theirs.code, 1, "upstream wrote a locked file: {}", theirs.out);
        assert!(theirs.err.contains("lock"), "{}", theirs.err);
    }
    // Once the writer is gone, writing works again.
    assert!(rovn_ok(["transact".as_ref(), db.as_os_str(), t.as_ref()]).contains("uuid"));
}
