//! `rovn ovsdb-tool`: offline management of standalone OVSDB files, with
//! the syntax and output of upstream's ovsdb-tool(1).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use ovsdb::log::{record_tables, Log, Magic, OpenReport, Records};
use ovsdb::schema::{parse_version, ColumnType};
use ovsdb::transaction::{Outcome, TxnContext};
use ovsdb::{Atom, Database, DatabaseSchema, Datum, Uuid};
use serde_json::{json, Value};

use crate::json;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Parsed global options.
#[derive(Default)]
struct Opts {
    /// `-m` count for show-log.
    more: u32,
}

/// What a command returns: the process exit status.
type Status = i32;

struct Command {
    name: &'static str,
    min: usize,
    max: usize,
    run: fn(&Opts, &[String]) -> Result<Status>,
}

const COMMANDS: &[Command] = &[
    Command { name: "create", min: 0, max: 2, run: cmd_create },
    Command { name: "compact", min: 0, max: 2, run: cmd_compact },
    Command { name: "convert", min: 0, max: 3, run: cmd_convert },
    Command { name: "needs-conversion", min: 0, max: 2, run: cmd_needs_conversion },
    Command { name: "db-name", min: 0, max: 1, run: cmd_db_name },
    Command { name: "db-version", min: 0, max: 1, run: cmd_db_version },
    Command { name: "db-cksum", min: 0, max: 1, run: cmd_db_cksum },
    Command { name: "db-is-clustered", min: 1, max: 1, run: cmd_db_is_clustered },
    Command { name: "db-is-standalone", min: 1, max: 1, run: cmd_db_is_standalone },
    Command { name: "schema-name", min: 0, max: 1, run: cmd_schema_name },
    Command { name: "schema-version", min: 0, max: 1, run: cmd_schema_version },
    Command { name: "schema-cksum", min: 0, max: 1, run: cmd_schema_cksum },
    Command { name: "compare-versions", min: 3, max: 3, run: cmd_compare_versions },
    Command { name: "query", min: 1, max: 2, run: cmd_query },
    Command { name: "transact", min: 1, max: 2, run: cmd_transact },
    Command { name: "show-log", min: 0, max: 1, run: cmd_show_log },
    Command { name: "help", min: 0, max: 0, run: cmd_help },
    // Test-only: commits durable transactions forever, printing each
    // acknowledged sequence number (used by the kill -9 tests).
    Command { name: "_crash-writer", min: 3, max: 4, run: cmd_crash_writer },
];

/// Runs `rovn ovsdb-tool ARGS...`; returns the exit status.
pub fn main(args: &[String]) -> Status {
    match run(args) {
        Ok(status) => status,
        Err(e) => {
            let _ = std::io::stdout().flush();
            eprintln!("rovn ovsdb-tool: {}", error_text(&e));
            1
        }
    }
}

/// The error and its causes, skipping causes whose text the message
/// already includes (library errors print their source themselves).
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if !text.contains(&c) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&c);
        }
    }
    text
}

fn run(args: &[String]) -> Result<Status> {
    let mut opts = Opts::default();
    let mut rest = Vec::new();
    let mut only_args = false;
    for a in args {
        if only_args || a == "-" || !a.starts_with('-') {
            rest.push(a.clone());
            continue;
        }
        match a.as_str() {
            "--" => only_args = true,
            "-h" | "--help" => {
                print!("{}", usage());
                return Ok(0);
            }
            "-V" | "--version" => {
                println!("rovn ovsdb-tool {VERSION}");
                return Ok(0);
            }
            "--more" => opts.more += 1,
            s if s.len() > 1 && s[1..].bytes().all(|b| b == b'm') => opts.more += s.len() as u32 - 1,
            s if s.starts_with("--rbac-role") => bail!("--rbac-role is not supported yet (transactions run as superuser)"),
            // Logging options are accepted for compatibility; rovn ovsdb-tool logs nothing.
            s if s.starts_with("-v") || s.starts_with("--verbose") || s.starts_with("--log-file") => {}
            s => bail!("unrecognized option '{s}'; use --help for help"),
        }
    }
    let Some((name, cargs)) = rest.split_first() else {
        bail!("missing command name; use --help for help");
    };
    let cmd =
        COMMANDS.iter().find(|c| c.name == name).ok_or_else(|| anyhow!("unknown command '{name}'; use --help for help"))?;
    if cargs.len() < cmd.min {
        bail!("'{name}' command requires at least {} arguments", cmd.min);
    }
    if cargs.len() > cmd.max {
        bail!("'{name}' command takes at most {} arguments", cmd.max);
    }
    (cmd.run)(&opts, cargs)
}

fn usage() -> String {
    format!(
        "rovn ovsdb-tool: Open vSwitch database management utility (rovn {VERSION})
usage: rovn ovsdb-tool [OPTIONS] COMMAND [ARG...]
  create [DB [SCHEMA]]    create DB with the given SCHEMA
  compact [DB [DST]]      compact DB in-place (or to DST)
  convert [DB [SCHEMA [DST]]]   convert DB to SCHEMA (to DST)
  needs-conversion [DB [SCHEMA]]  report whether DB needs conversion to SCHEMA
  db-name [DB]            report name of schema used by DB
  db-version [DB]         report version of schema used by DB
  db-cksum [DB]           report checksum of schema used by DB
  db-is-clustered DB      test whether DB is clustered
  db-is-standalone DB     test whether DB is standalone
  schema-name [SCHEMA]    report SCHEMA's name
  schema-version [SCHEMA] report SCHEMA's schema version
  schema-cksum [SCHEMA]   report SCHEMA's checksum
  compare-versions A OP B  compare OVSDB schema version numbers
  query [DB] TRNS         execute read-only transaction on DB
  transact [DB] TRNS      execute read/write transaction on DB
  [-m]... show-log [DB]   print DB's log entries
The default DB is {}.
The default SCHEMA is {}.
Clustered databases are not supported yet.

Other options:
  -m, --more                  increase show-log verbosity
  -h, --help                  display this help message
  -V, --version               display version information
",
        default_db().display(),
        default_schema().display()
    )
}

fn cmd_help(_: &Opts, _: &[String]) -> Result<Status> {
    print!("{}", usage());
    Ok(0)
}

/// `$OVS_DBDIR/conf.db`, else `/etc/openvswitch/conf.db`.
fn default_db() -> PathBuf {
    match std::env::var_os("OVS_DBDIR") {
        Some(d) if !d.is_empty() => Path::new(&d).join("conf.db"),
        _ => PathBuf::from("/etc/openvswitch/conf.db"),
    }
}

/// `$OVS_PKGDATADIR/vswitch.ovsschema`, else under /usr/share/openvswitch.
fn default_schema() -> PathBuf {
    match std::env::var_os("OVS_PKGDATADIR") {
        Some(d) if !d.is_empty() => Path::new(&d).join("vswitch.ovsschema"),
        _ => PathBuf::from("/usr/share/openvswitch/vswitch.ovsschema"),
    }
}

fn arg_or(args: &[String], i: usize, default: fn() -> PathBuf) -> PathBuf {
    args.get(i).map(PathBuf::from).unwrap_or_else(default)
}

/// Tells the user about a bad tail found while opening `path`.
fn warn_report(report: &OpenReport) {
    if let Some(d) = &report.dropped {
        eprintln!("rovn ovsdb-tool: warning: {d}");
    }
}

fn cmd_create(_: &Opts, args: &[String]) -> Result<Status> {
    let db = arg_or(args, 0, default_db);
    let schema = DatabaseSchema::from_file(&arg_or(args, 1, default_schema))?;
    Log::create(&db, &schema)?;
    Ok(0)
}

fn cmd_compact(_: &Opts, args: &[String]) -> Result<Status> {
    let db_path = arg_or(args, 0, default_db);
    let comment = format!("compacted by rovn ovsdb-tool {VERSION}");
    match args.get(1) {
        Some(target) => {
            let (db, report) = Log::read(&db_path)?;
            warn_report(&report);
            Log::create_snapshot(target, &db, Some(&comment))?;
        }
        None => {
            let (mut log, db, report) = Log::open(&db_path)?;
            warn_report(&report);
            log.compact(&db, Some(&comment))?;
        }
    }
    Ok(0)
}

fn cmd_convert(_: &Opts, args: &[String]) -> Result<Status> {
    let db_path = arg_or(args, 0, default_db);
    let schema_path = arg_or(args, 1, default_schema);
    let schema = DatabaseSchema::from_file(&schema_path)?;
    let (db, report) = Log::read(&db_path)?;
    warn_report(&report);
    let new = ovsdb::convert::convert(&db, Arc::new(schema))
        .map_err(|e| anyhow!("{}: conversion to {} failed: {e}", db_path.display(), schema_path.display()))?;
    let comment = format!("converted by rovn ovsdb-tool {VERSION}");
    match args.get(2) {
        Some(target) => Log::create_snapshot(target, &new, Some(&comment))?,
        None => Log::replace_with_snapshot(&db_path, &new, Some(&comment))?,
    };
    Ok(0)
}

fn cmd_needs_conversion(_: &Opts, args: &[String]) -> Result<Status> {
    let ours = Log::read_schema(arg_or(args, 0, default_db))?;
    let theirs = DatabaseSchema::from_file(&arg_or(args, 1, default_schema))?;
    println!("{}", if ours.to_json() == theirs.to_json() { "no" } else { "yes" });
    Ok(0)
}

fn cmd_db_name(_: &Opts, args: &[String]) -> Result<Status> {
    println!("{}", Log::read_schema(arg_or(args, 0, default_db))?.name);
    Ok(0)
}

fn cmd_db_version(_: &Opts, args: &[String]) -> Result<Status> {
    println!("{}", Log::read_schema(arg_or(args, 0, default_db))?.version);
    Ok(0)
}

fn cmd_db_cksum(_: &Opts, args: &[String]) -> Result<Status> {
    println!("{}", Log::read_schema(arg_or(args, 0, default_db))?.cksum.unwrap_or_default());
    Ok(0)
}

fn is_clustered(args: &[String]) -> Result<bool> {
    Ok(Log::file_magic(&args[0])? == Magic::Clustered)
}

fn cmd_db_is_clustered(_: &Opts, args: &[String]) -> Result<Status> {
    Ok(if is_clustered(args)? { 0 } else { 2 })
}

fn cmd_db_is_standalone(_: &Opts, args: &[String]) -> Result<Status> {
    Ok(if is_clustered(args)? { 2 } else { 0 })
}

fn cmd_schema_name(_: &Opts, args: &[String]) -> Result<Status> {
    println!("{}", DatabaseSchema::from_file(&arg_or(args, 0, default_schema))?.name);
    Ok(0)
}

fn cmd_schema_version(_: &Opts, args: &[String]) -> Result<Status> {
    println!("{}", DatabaseSchema::from_file(&arg_or(args, 0, default_schema))?.version);
    Ok(0)
}

fn cmd_schema_cksum(_: &Opts, args: &[String]) -> Result<Status> {
    println!("{}", DatabaseSchema::from_file(&arg_or(args, 0, default_schema))?.cksum.unwrap_or_default());
    Ok(0)
}

fn cmd_compare_versions(_: &Opts, args: &[String]) -> Result<Status> {
    let v = |s: &str| parse_version(s).ok_or_else(|| anyhow!("\"{s}\" is not a valid version number (expected x.y.z)"));
    let (a, b) = (v(&args[0])?, v(&args[2])?);
    let holds = match args[1].as_str() {
        "<" => a < b,
        "<=" => a <= b,
        "==" => a == b,
        ">=" => a >= b,
        ">" => a > b,
        "!=" => a != b,
        op => bail!("\"{op}\" is not a comparison operator (use < <= == >= > !=)"),
    };
    Ok(if holds { 0 } else { 2 })
}

/// Splits `[DB] TRNS` arguments and parses the transaction text.
fn txn_args(args: &[String]) -> Result<(PathBuf, Value)> {
    let (db, text) = match args {
        [t] => (default_db(), t),
        [d, t] => (PathBuf::from(d), t),
        _ => bail!("expected [DB] TRNS"),
    };
    let params = serde_json::from_str(text).map_err(|e| anyhow!("\"{text}\": {e}"))?;
    Ok((db, params))
}

/// Checks `["db-name", op...]`; on error returns the JSON to print.
fn txn_ops<'a>(schema: &DatabaseSchema, params: &'a Value) -> Result<&'a [Value], Value> {
    let err = |details: &str| {
        json!({"error": "syntax error", "details": details, "syntax": json::to_string(params)})
    };
    let a = params.as_array().ok_or_else(|| err("array expected"))?;
    match a.first() {
        Some(Value::String(n)) if *n == schema.name => Ok(&a[1..]),
        _ => Err(err("database name expected as first parameter")),
    }
}

/// Executes a transaction; returns the results and the change set to commit.
fn execute(db: &Database, ops: &[Value]) -> (Vec<Value>, Option<ovsdb::ChangeSet>) {
    let ctx = TxnContext { waits_expired: true, ..Default::default() };
    match db.execute(ops, &ctx) {
        Outcome::Complete(p) => (p.results, p.changes),
        // Expired waits fail instead of blocking; keep a clear answer anyway.
        Outcome::Blocked { .. } => (vec![json!({"error": "timed out", "details": "wait blocked"})], None),
    }
}

fn cmd_query(_: &Opts, args: &[String]) -> Result<Status> {
    let (path, params) = txn_args(args)?;
    let (db, report) = Log::read(&path)?;
    warn_report(&report);
    match txn_ops(db.schema(), &params) {
        Err(e) => println!("{}", json::to_string(&e)),
        Ok(ops) => println!("{}", json::to_string(&Value::Array(execute(&db, ops).0))),
    }
    Ok(0)
}

fn cmd_transact(_: &Opts, args: &[String]) -> Result<Status> {
    let (path, params) = txn_args(args)?;
    let (mut log, db, report) = Log::open(&path)?;
    warn_report(&report);
    match txn_ops(db.schema(), &params) {
        Err(e) => println!("{}", json::to_string(&e)),
        Ok(ops) => {
            let (results, changes) = execute(&db, ops);
            if let Some(cs) = changes.filter(|cs| !cs.is_empty()) {
                log.append(&cs, db.schema(), true)?;
            }
            println!("{}", json::to_string(&Value::Array(results)));
        }
    }
    Ok(0)
}

fn cmd_crash_writer(_: &Opts, args: &[String]) -> Result<Status> {
    let (table, column) = (&args[1], &args[2]);
    let compact_every: u64 = match args.get(3) {
        Some(n) => n.parse().with_context(|| format!("\"{n}\" is not a number"))?,
        None => 0,
    };
    let (mut log, mut db, _) = Log::open(&args[0])?;
    let (_, t) = db.table_by_name(table).ok_or_else(|| anyhow!("no table {table}"))?;
    let mut seq = t.len() as u64;
    let stdout = std::io::stdout();
    loop {
        seq += 1;
        let ops = [json!({"op": "insert", "table": table, "row": {column.as_str(): seq}})];
        let (results, changes) = execute(&db, &ops);
        let cs = changes.ok_or_else(|| anyhow!("transaction failed: {}", json::to_string(&Value::Array(results))))?;
        log.append(&cs, db.schema(), true)?;
        db.apply(&cs);
        let mut out = stdout.lock();
        writeln!(out, "{seq}")?;
        out.flush()?;
        if compact_every > 0 && seq.is_multiple_of(compact_every) {
            log.compact(&db, Some("compacted by the crash writer"))?;
        }
    }
}

// ---- show-log ------------------------------------------------------------

fn cmd_show_log(opts: &Opts, args: &[String]) -> Result<Status> {
    let path = arg_or(args, 0, default_db);
    // The schema record's errors (junk, clustered, torn) are the library's.
    Log::read_schema(&path)?;
    let buf = std::fs::read(&path).with_context(|| format!("{}: open failed", path.display()))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut schema: Option<DatabaseSchema> = None;
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    for (i, rec) in Records::new(&buf).enumerate() {
        let rec = rec.map_err(|e| anyhow!("{}: {e}", path.display()))?;
        if rec.magic == Magic::Clustered {
            bail!("{}: clustered databases are not supported yet", path.display());
        }
        match &schema {
            None => {
                let s = DatabaseSchema::from_json(&rec.json)
                    .map_err(|e| anyhow!("{}: bad schema record: {e}", path.display()))?;
                writeln!(
                    out,
                    "record 0: \"{}\" schema, version=\"{}\", cksum=\"{}\"\n",
                    s.name,
                    s.version,
                    s.cksum.as_deref().unwrap_or("")
                )?;
                schema = Some(s);
            }
            Some(s) => {
                let text = show_txn(i, &rec.json, s, opts.more, &mut names);
                out.write_all(text.as_bytes())?;
            }
        }
    }
    if schema.is_none() {
        bail!("{}: file is empty (not an OVSDB database)", path.display());
    }
    Ok(0)
}

/// One transaction record as show-log prints it.
fn show_txn(i: usize, rec: &Value, schema: &DatabaseSchema, more: u32, names: &mut HashMap<String, Option<String>>) -> String {
    let mut s = format!("record {i}:");
    if let Some(d) = rec.get("_date").and_then(Value::as_u64) {
        // ovsdb(5): dates below 2**32 are from versions that counted seconds.
        let ms = if d < 1 << 32 { d * 1000 } else { d };
        s.push(' ');
        s.push_str(&format_date(ms));
    }
    if let Some(c) = rec.get("_comment").and_then(Value::as_str) {
        s.push_str(&format!(" \"{c}\""));
    }
    s.push('\n');
    if more == 0 {
        return s;
    }
    let is_diff = rec.get("_is_diff").and_then(Value::as_bool).unwrap_or(false);
    let mut any = false;
    for (tname, rows) in record_tables(rec) {
        let ts = schema.table(tname).map(|(_, ts)| ts);
        for (u, row) in rows {
            any = true;
            let short = u.get(..8).unwrap_or(u);
            let new_name = row.get("name").and_then(Value::as_str).map(str::to_string);
            match names.get(u) {
                None if !row.is_null() => match &new_name {
                    Some(n) => s.push_str(&format!("  table {tname} insert row \"{n}\" ({short}):\n")),
                    None => s.push_str(&format!("  table {tname} insert row {short}:\n")),
                },
                known => {
                    let label = match known {
                        Some(Some(n)) => format!("\"{n}\""),
                        _ => short.to_string(),
                    };
                    let diff = if is_diff { " diff" } else { "" };
                    s.push_str(&format!("  table {tname} row {label} ({short}){diff}:\n"));
                }
            }
            let Some(cols) = row.as_object() else {
                s.push_str("    delete row\n");
                names.remove(u);
                continue;
            };
            if more > 1 {
                for (c, v) in cols {
                    let ty = ts.and_then(|ts| ts.column(c).map(|i| &ts.columns[i].type_));
                    s.push_str(&format!("    {c}={}\n", format_value(ty, v, is_diff)));
                }
            }
            let entry = names.entry(u.clone()).or_insert(None);
            if new_name.is_some() {
                *entry = new_name;
            }
        }
    }
    if any {
        s.push('\n');
    }
    s
}

/// A column value as ovsdb-tool prints it: `[a, b]` for sets, `{k=v}` for
/// maps, a bare atom (or `k=v`) for the single value of a column that holds
/// at most one.
fn format_value(ty: Option<&ColumnType>, v: &Value, is_diff: bool) -> String {
    let Some(ty) = ty else { return json::to_string(v) };
    // Diffs may hold more (or fewer) elements than the type allows.
    let relaxed = ColumnType { min: 0, max: u32::MAX, ..ty.clone() };
    let parse_ty = if is_diff && ty.max > 1 { &relaxed } else { ty };
    let Ok(d) = Datum::from_json(parse_ty, v, None) else { return json::to_string(v) };
    format_datum(ty, &d)
}

fn format_datum(ty: &ColumnType, d: &Datum) -> String {
    let single = ty.max == 1 && d.len() == 1;
    if d.is_map() {
        let items: Vec<String> = d.pairs().map(|(k, v)| format!("{}={}", format_atom(k), format_atom(v))).collect();
        if single {
            items.join("")
        } else {
            format!("{{{}}}", items.join(", "))
        }
    } else if single {
        format_atom(&d.keys()[0])
    } else {
        let items: Vec<String> = d.keys().iter().map(format_atom).collect();
        format!("[{}]", items.join(", "))
    }
}

fn format_atom(a: &Atom) -> String {
    match a {
        Atom::Integer(i) => i.to_string(),
        Atom::Real(f) => json::real(*f),
        Atom::Boolean(b) => b.to_string(),
        Atom::Uuid(u) => u.to_string(),
        Atom::String(s) if needs_quotes(s) => json::to_string(&Value::String(s.to_string())),
        Atom::String(s) => s.to_string(),
    }
}

/// Strings print bare when they read as one word that cannot be mistaken
/// for another type.
fn needs_quotes(s: &str) -> bool {
    let mut b = s.bytes();
    match b.next() {
        Some(c) if c.is_ascii_alphabetic() || c == b'_' => {}
        _ => return true,
    }
    !b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        || s == "true"
        || s == "false"
        || Uuid::is_uuid_text(s)
}

/// `YYYY-MM-DD HH:MM:SS.mmm` in UTC.
fn format_date(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Days since 1970-01-01 to a proleptic Gregorian date.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}", rem / 3600, rem % 3600 / 60, rem % 60, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(format_date(0), "1970-01-01 00:00:00.000");
        assert_eq!(format_date(1_795_286_753_101), "2026-11-21 18:45:53.101");
        assert_eq!(format_date(951_782_400_000), "2000-02-29 00:00:00.000");
    }

    #[test]
    fn quoting() {
        for s in ["", "-1", "1.5", "1a", "a:b", "true", "x\"y", "é", "0123abcd-4567-89ab-cdef-0123456789ab"] {
            assert!(needs_quotes(s), "{s}");
        }
        for s in ["_x", "a-b", "a.b", "a1", "a_b", "null", "x"] {
            assert!(!needs_quotes(s), "{s}");
        }
    }
}
