//! `rovn ovsdb-client`: a command-line client for OVSDB servers, with the
//! syntax and output of upstream's ovsdb-client(1), on rovn's client
//! library.

use std::io::Write;

use anyhow::{anyhow, bail, Result};
use ovsdb::schema::{ColumnType, TableSchema};
use ovsdb::{DatabaseSchema, Datum, Uuid};
use ovsdb_client::{Connection, Error};
use serde_json::{json, Value};

use crate::json;
use crate::table::{self, Cell, Data, Format, Style, Table};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a command returns: the process exit status.
type Status = i32;

#[derive(Default)]
struct Opts {
    style: Style,
    timestamp: bool,
    /// `--private-key`, `--certificate`, `--ca-cert` (for `ssl:`).
    pki: [Option<String>; 3],
}

/// The commands: name, whether a DATABASE may precede the arguments, and
/// the least and most arguments after SERVER and DATABASE.
const COMMANDS: &[(&str, bool, usize, usize)] = &[
    ("list-dbs", false, 0, 0),
    ("get-schema", true, 0, 0),
    ("get-schema-version", true, 0, 0),
    ("get-schema-cksum", true, 0, 0),
    ("list-tables", true, 0, 0),
    ("list-columns", true, 0, 1),
    ("transact", false, 1, 1),
    ("query", false, 1, 1),
    ("dump", true, 0, usize::MAX),
    ("monitor", true, 1, usize::MAX),
];

/// Runs `rovn ovsdb-client ARGS...`; returns the exit status.
pub fn main(args: &[String]) -> Status {
    match run(args) {
        Ok(status) => status,
        Err(e) => {
            let _ = std::io::stdout().flush();
            eprintln!("rovn ovsdb-client: {e:#}");
            1
        }
    }
}

fn usage() -> String {
    format!(
        "rovn ovsdb-client: Open vSwitch database JSON-RPC client (rovn {VERSION})
usage: rovn ovsdb-client [OPTIONS] COMMAND [ARG...]

  list-dbs [SERVER]                       list databases available on SERVER
  get-schema [SERVER] [DATABASE]          print DATABASE's schema as JSON
  get-schema-version [SERVER] [DATABASE]  print the schema's version number
  get-schema-cksum [SERVER] [DATABASE]    print the schema's checksum
  list-tables [SERVER] [DATABASE]         list DATABASE's tables
  list-columns [SERVER] [DATABASE] [TABLE]  list the columns of TABLE (or all tables)
  transact [SERVER] TRANSACTION           run TRANSACTION (params of a \"transact\"
                                          request) and print the results as JSON
  query [SERVER] TRANSACTION              the same, read-only (the transaction is aborted)
  dump [SERVER] [DATABASE] [TABLE [COLUMN]...]  print the contents of DATABASE
  monitor [SERVER] [DATABASE] TABLE [COLUMN,...]...  print TABLE's contents, then
                                          each change; COLUMNs may include !initial,
                                          !insert, !delete, !modify to skip those
  monitor [SERVER] [DATABASE] ALL         the same for every table and column

The default SERVER is unix:{}.
The default DATABASE is Open_vSwitch, or the server's only database.

Output formatting options:
  -f, --format=FORMAT     table (default), list, html, csv or json
  -d, --data=FORMAT       cells as string (default), bare or json
  --no-headings           omit table headings
  --pretty                print JSON one member or element per line
  --bare                  --format=list --data=bare --no-headings
  --max-column-width=N    truncate table cells to N bytes
  --timestamp             print the time of each monitor update
PKI configuration (required to use ssl:SERVER):
  -p, --private-key=FILE  file with private key
  -c, --certificate=FILE  file with certificate for private key
  -C, --ca-cert=FILE      file with the CA certificate the server's must be signed by
Other options:
  -t, --timeout=SECS      give up (SIGALRM) after SECS seconds
  -h, --help              display this help message
  -V, --version           display version information
",
        default_socket()
    )
}

/// `$OVS_RUNDIR/db.sock`, else under /var/run/openvswitch.
fn default_socket() -> String {
    let dir = match std::env::var("OVS_RUNDIR") {
        Ok(d) if !d.is_empty() => d,
        _ => "/var/run/openvswitch".to_string(),
    };
    format!("{dir}/db.sock")
}

fn run(args: &[String]) -> Result<Status> {
    let mut opts = Opts::default();
    let mut rest: Vec<String> = Vec::new();
    let mut it = args.iter();
    let mut only_args = false;
    while let Some(a) = it.next() {
        if only_args || a == "-" || !a.starts_with('-') {
            rest.push(a.clone());
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        // Short options may carry their value attached: -fcsv.
        let (name, inline) = match (name, inline) {
            (n, None)
                if n.len() > 2 && !n.starts_with("--") && matches!(&n[..2], "-f" | "-d" | "-t" | "-p" | "-c" | "-C") =>
            {
                (&n[..2], Some(n[2..].to_string()))
            }
            x => x,
        };
        let mut value = |what: &str| -> Result<String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it.next().cloned().ok_or_else(|| anyhow!("option '{what}' requires an argument")),
            }
        };
        match name {
            "--" => only_args = true,
            "-h" | "--help" => {
                print!("{}", usage());
                return Ok(0);
            }
            "-V" | "--version" => {
                println!("rovn ovsdb-client {VERSION}");
                return Ok(0);
            }
            "-f" | "--format" => {
                let v = value(name)?;
                opts.style.format = Format::parse(&v).ok_or_else(|| anyhow!("unknown output format \"{v}\""))?;
            }
            "-d" | "--data" => {
                let v = value(name)?;
                opts.style.data = Data::parse(&v).ok_or_else(|| anyhow!("unknown data format \"{v}\""))?;
            }
            "--no-headings" => opts.style.headings = false,
            "--pretty" => opts.style.pretty = true,
            "--bare" => {
                opts.style.format = Format::List;
                opts.style.data = Data::Bare;
                opts.style.headings = false;
            }
            "--max-column-width" => {
                let v = value(name)?;
                opts.style.max_width =
                    Some(v.parse().map_err(|_| anyhow!("--max-column-width: \"{v}\" is not a number"))?);
            }
            "--timestamp" => opts.timestamp = true,
            "-p" | "--private-key" => opts.pki[0] = Some(value(name)?),
            "-c" | "--certificate" => opts.pki[1] = Some(value(name)?),
            "-C" | "--ca-cert" => opts.pki[2] = Some(value(name)?),
            "--ssl-protocols" | "--ssl-ciphers" => {
                value(name)?;
            }
            "-t" | "--timeout" => {
                let v = value(name)?;
                let secs: u32 = v.parse().map_err(|_| anyhow!("value {v} on -t or --timeout is invalid"))?;
                // Like upstream: the whole run is limited, and the alarm ends
                // it with SIGALRM.
                // SAFETY: alarm(2) only arms a timer for this process.
                unsafe { libc::alarm(secs) };
            }
            // Accepted for compatibility: rovn ovsdb-client connects to any
            // cluster member it is given and logs nothing.
            "--no-leader-only" => {}
            s if s.starts_with("-v") || s.starts_with("--verbose") || s.starts_with("--log-file") => {}
            "--detach" | "--pidfile" | "--monitor" | "--overwrite-pidfile" => {
                bail!("{name} is not supported by rovn ovsdb-client; run it in the background with your shell")
            }
            s => bail!("unrecognized option '{s}'; use --help for help"),
        }
    }
    let Some((name, cargs)) = rest.split_first() else {
        bail!("missing command name; use --help for help");
    };
    if name == "help" {
        print!("{}", usage());
        return Ok(0);
    }
    let &(_, takes_db, min, max) = COMMANDS
        .iter()
        .find(|c| c.0 == name)
        .ok_or_else(|| anyhow!("unknown command '{name}'; use --help for help"))?;
    let mut cargs = cargs.to_vec();
    let server = if cargs.len() > min && cargs[0].contains(':') {
        cargs.remove(0)
    } else {
        format!("unix:{}", default_socket())
    };
    if !takes_db && cargs.len() > max {
        bail!("invalid syntax for '{name}' (use --help for help)");
    }
    // A bad transaction is reported before connecting.
    let txn = match name.as_str() {
        "transact" | "query" => Some(parse_transaction(&cargs[cargs.len() - 1])?),
        _ => None,
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let pki = match (&opts.pki, server.starts_with("ssl:")) {
            ([Some(k), Some(c), Some(ca)], true) => Some(rovn_tls::Pki::load(k.as_ref(), c.as_ref(), ca.as_ref())?),
            (_, true) => bail!("{server}: SSL needs --private-key, --certificate and --ca-cert"),
            _ => None,
        };
        let conn = Connection::connect_with(&server, pki.as_ref()).await.map_err(|e| connect_error(&server, e))?;
        let mut c = Client { server, conn, opts, printed: false };
        let db = if takes_db {
            let dbs = c.list_dbs().await?;
            let db = if cargs.len() > min && dbs.contains(&cargs[0]) {
                cargs.remove(0)
            } else if cargs.len() > max {
                bail!(
                    "invalid syntax for '{name}': {} has no database named \"{}\" (it has: {}); use --help for help",
                    c.server,
                    cargs[0],
                    dbs.join(", ")
                );
            } else {
                default_db(&dbs)?
            };
            if cargs.len() > max {
                bail!("invalid syntax for '{name}' (use --help for help)");
            }
            db
        } else {
            String::new()
        };
        match name.as_str() {
            "list-dbs" => c.cmd_list_dbs().await,
            "get-schema" => c.cmd_get_schema(&db).await,
            "get-schema-version" => c.cmd_schema_member(&db, "version").await,
            "get-schema-cksum" => c.cmd_schema_member(&db, "cksum").await,
            "list-tables" => c.cmd_list_tables(&db).await,
            "list-columns" => c.cmd_list_columns(&db, cargs.first()).await,
            "transact" => c.cmd_transact(txn.unwrap_or_default(), false).await,
            "query" => c.cmd_transact(txn.unwrap_or_default(), true).await,
            "dump" => c.cmd_dump(&db, &cargs).await,
            "monitor" => c.cmd_monitor(&db, &cargs).await,
            _ => unreachable!("every command in COMMANDS is dispatched"),
        }
    })
}

/// The params of a transact request: `["DATABASE", OPERATION...]`.
fn parse_transaction(text: &str) -> Result<Vec<Value>> {
    let txn: Value = serde_json::from_str(text).map_err(|e| anyhow!("\"{text}\": {e}"))?;
    match txn {
        Value::Array(a) if a.first().is_some_and(Value::is_string) => Ok(a),
        _ => bail!("not a valid OVSDB query: a transaction is a JSON array: [\"DATABASE\", OPERATION...]"),
    }
}

/// `failed to connect to "unix:/x" (No such file or directory)`.
fn connect_error(server: &str, e: Error) -> anyhow::Error {
    let why = match e {
        Error::Io(m) => {
            let m = m.strip_prefix(&format!("{server}: ")).unwrap_or(&m).to_string();
            match m.rfind(" (os error ") {
                Some(i) if m.ends_with(')') => m[..i].to_string(),
                _ => m,
            }
        }
        e => e.to_string(),
    };
    anyhow!("failed to connect to \"{server}\" ({why})")
}

/// Open_vSwitch if the server has it, else its only database.
fn default_db(dbs: &[String]) -> Result<String> {
    if dbs.iter().any(|d| d == "Open_vSwitch") {
        return Ok("Open_vSwitch".into());
    }
    let user: Vec<&String> = dbs.iter().filter(|d| *d != "_Server").collect();
    match user.as_slice() {
        [one] => Ok((*one).clone()),
        _ => bail!("could not find a default database, please specify a database name"),
    }
}

struct Client {
    server: String,
    conn: Connection,
    opts: Opts,
    /// Whether a table was printed already (the text formats separate
    /// tables with a blank line).
    printed: bool,
}

/// Writes to stdout and flushes (monitors print as changes come).
fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

impl Client {
    async fn call(&self, method: &str, params: Vec<Value>) -> Result<Value> {
        self.conn.request(method, params).await.map_err(|e| match e {
            Error::Rpc(v) => anyhow!("{}: {method} request failed: {}", self.server, json::to_string(&v)),
            Error::Closed => anyhow!("{}: connection closed before the {method} reply", self.server),
            e => anyhow!("{}: {e}", self.server),
        })
    }

    /// JSON from the server as text, numbers read the way OVS reads them.
    fn json_text(&self, v: &Value) -> String {
        let v = integral_numbers(v.clone());
        if self.opts.style.pretty {
            json::to_string_pretty(&v)
        } else {
            json::to_string(&v)
        }
    }

    async fn list_dbs(&self) -> Result<Vec<String>> {
        let v = self.call("list_dbs", vec![]).await?;
        let dbs: Option<Vec<String>> =
            v.as_array().and_then(|a| a.iter().map(|d| d.as_str().map(String::from)).collect());
        let mut dbs = dbs.ok_or_else(|| anyhow!("{}: list_dbs reply is not an array of strings: {v}", self.server))?;
        dbs.sort();
        Ok(dbs)
    }

    async fn schema_json(&self, db: &str) -> Result<Value> {
        self.call("get_schema", vec![json!(db)]).await
    }

    async fn schema(&self, db: &str) -> Result<DatabaseSchema> {
        let v = self.schema_json(db).await?;
        DatabaseSchema::from_json(&v).map_err(|e| anyhow!("{}: {db}: bad schema from server: {e}", self.server))
    }

    fn print_table(&mut self, t: &Table) -> Result<()> {
        let mut out = String::new();
        self.render(t, &mut out);
        emit(&out)
    }

    /// Appends `t` to `out`, after a blank line if a table came before.
    fn render(&mut self, t: &Table, out: &mut String) {
        if self.printed && matches!(self.opts.style.format, Format::Table | Format::List | Format::Csv) {
            out.push('\n');
        }
        self.printed = true;
        out.push_str(&t.render(&self.opts.style));
    }

    async fn cmd_list_dbs(&self) -> Result<Status> {
        let mut out = String::new();
        for d in self.list_dbs().await? {
            out.push_str(&d);
            out.push('\n');
        }
        emit(&out)?;
        Ok(0)
    }

    async fn cmd_get_schema(&self, db: &str) -> Result<Status> {
        let v = self.schema_json(db).await?;
        emit(&format!("{}\n", self.json_text(&v)))?;
        Ok(0)
    }

    async fn cmd_schema_member(&self, db: &str, member: &str) -> Result<Status> {
        let v = self.schema_json(db).await?;
        emit(&format!("{}\n", v.get(member).and_then(Value::as_str).unwrap_or("")))?;
        Ok(0)
    }

    async fn cmd_list_tables(&mut self, db: &str) -> Result<Status> {
        let schema = self.schema(db).await?;
        let mut t = Table::new(["Table"]);
        for ts in sorted_tables(&schema) {
            t.rows.push(vec![Cell::Text(ts.name.clone())]);
        }
        self.print_table(&t)?;
        Ok(0)
    }

    async fn cmd_list_columns(&mut self, db: &str, table: Option<&String>) -> Result<Status> {
        let schema = self.schema(db).await?;
        let tables: Vec<&TableSchema> = match table {
            Some(name) => vec![schema
                .table(name)
                .map(|(_, ts)| ts)
                .ok_or_else(|| anyhow!("{}: {db} does not have a table named \"{name}\"", self.server))?],
            None => sorted_tables(&schema),
        };
        let mut t =
            if table.is_some() { Table::new(["Column", "Type"]) } else { Table::new(["Table", "Column", "Type"]) };
        for ts in tables {
            let mut cols: Vec<_> = ts.columns.iter().collect();
            cols.sort_by(|a, b| a.name.cmp(&b.name));
            for c in cols {
                let mut row = Vec::new();
                if table.is_none() {
                    row.push(Cell::Text(ts.name.clone()));
                }
                row.push(Cell::Text(c.name.clone()));
                row.push(Cell::Json(c.type_.to_json()));
                t.rows.push(row);
            }
        }
        self.print_table(&t)?;
        Ok(0)
    }

    async fn cmd_transact(&self, mut params: Vec<Value>, query: bool) -> Result<Status> {
        if query {
            params.push(json!({"op": "abort"}));
        }
        let reply = self.conn.request("transact", params).await.map_err(|e| match e {
            Error::Rpc(v) => anyhow!("transaction returned error: {}", json::to_string(&integral_numbers(v))),
            e => anyhow!("{}: {e}", self.server),
        })?;
        let mut results = reply;
        if query {
            if let Value::Array(a) = &mut results {
                if a.last().and_then(|r| r.get("error")).and_then(Value::as_str) == Some("aborted") {
                    a.pop();
                }
            }
        }
        emit(&format!("{}\n", self.json_text(&results)))?;
        Ok(0)
    }

    async fn cmd_dump(&mut self, db: &str, args: &[String]) -> Result<Status> {
        let schema = self.schema(db).await?;
        let tables: Vec<&TableSchema> = match args.first() {
            Some(name) => {
                vec![schema.table(name).map(|(_, ts)| ts).ok_or_else(|| anyhow!("No table \"{name}\" found."))?]
            }
            None => sorted_tables(&schema),
        };
        let mut plan: Vec<(&TableSchema, Vec<usize>)> = Vec::new();
        for ts in tables {
            let mut cols: Vec<usize> = if args.len() > 1 {
                args[1..]
                    .iter()
                    .map(|c| ts.column(c).ok_or_else(|| anyhow!("Table \"{}\" has no column {c}.", ts.name)))
                    .collect::<Result<_>>()?
            } else {
                (0..ts.columns.len()).filter(|&c| c != ovsdb::schema::COL_VERSION).collect()
            };
            cols.sort_by(|a, b| ts.columns[*a].name.cmp(&ts.columns[*b].name));
            cols.dedup();
            plan.push((ts, cols));
        }
        let mut params = vec![json!(db)];
        for (ts, cols) in &plan {
            let names: Vec<&str> = cols.iter().map(|c| ts.columns[*c].name.as_str()).collect();
            params.push(json!({"op": "select", "table": ts.name, "where": [], "columns": names}));
        }
        let reply = self.conn.request("transact", params).await.map_err(|e| match e {
            Error::Rpc(v) => anyhow!("transaction returned error: {}", json::to_string(&integral_numbers(v))),
            e => anyhow!("{}: {e}", self.server),
        })?;
        let results = reply.as_array().cloned().unwrap_or_default();
        let mut out = String::new();
        for (i, (ts, cols)) in plan.iter().enumerate() {
            let rows = results.get(i).and_then(|r| r.get("rows")).and_then(Value::as_array).ok_or_else(|| {
                anyhow!(
                    "{} table reply is not an object with a \"rows\" member array: {}",
                    ts.name,
                    json::to_string(results.get(i).unwrap_or(&Value::Null))
                )
            })?;
            let mut t = Table::new(cols.iter().map(|c| ts.columns[*c].name.clone()));
            t.caption = Some(format!("{} table", ts.name));
            for r in rows {
                t.rows.push(cols.iter().map(|c| cell(&ts.columns[*c].type_, r.get(&ts.columns[*c].name))).collect());
            }
            // Rows in order of their values, the UUID last.
            let mut keys: Vec<usize> = (0..cols.len()).filter(|&i| cols[i] != ovsdb::schema::COL_UUID).collect();
            keys.extend((0..cols.len()).filter(|&i| cols[i] == ovsdb::schema::COL_UUID));
            t.rows.sort_by(|a, b| table::compare_rows(a, b, &keys));
            self.render(&t, &mut out);
        }
        emit(&out)?;
        Ok(0)
    }

    async fn cmd_monitor(&mut self, db: &str, args: &[String]) -> Result<Status> {
        let schema = self.schema(db).await?;
        let server = self.server.clone();
        // Per table: the columns printed, and the monitor requests.
        let mut watched: Vec<(&TableSchema, Vec<String>)> = Vec::new();
        let mut requests = serde_json::Map::new();
        let all_columns = |ts: &TableSchema| -> Vec<String> {
            let mut v: Vec<String> = ts.user_columns().map(|(_, c)| c.name.clone()).collect();
            v.sort();
            v.push("_version".into());
            v
        };
        if args[0] == "ALL" {
            if args.len() > 1 {
                bail!("monitor ALL takes no column arguments");
            }
            for ts in sorted_tables(&schema) {
                requests.insert(ts.name.clone(), json!([{}]));
                watched.push((ts, all_columns(ts)));
            }
        } else {
            let tname = &args[0];
            let (_, ts) =
                schema.table(tname).ok_or_else(|| anyhow!("{server}: {db} does not have a table named \"{tname}\""))?;
            let mut columns: Vec<String> = Vec::new();
            let mut groups = Vec::new();
            let group_args: Vec<&str> =
                if args.len() > 1 { args[1..].iter().map(String::as_str).collect() } else { vec![""] };
            let mut all = false;
            for g in group_args {
                let mut cols = Vec::new();
                let mut select = serde_json::Map::new();
                for piece in g.split(',').filter(|p| !p.is_empty()) {
                    if let Some(flag) = piece.strip_prefix('!') {
                        match flag {
                            "initial" | "insert" | "delete" | "modify" => {
                                select.insert(flag.into(), json!(false));
                            }
                            _ => bail!(
                                "unknown table-monitoring flag \"{piece}\" (use !initial, !insert, !delete or !modify)"
                            ),
                        }
                        continue;
                    }
                    if ts.column(piece).is_none() {
                        bail!("{server}: table \"{tname}\" in {db} does not have a column named \"{piece}\"");
                    }
                    if columns.iter().any(|c| c == piece) {
                        bail!("{server}: column \"{piece}\" mentioned multiple times");
                    }
                    columns.push(piece.to_string());
                    cols.push(piece.to_string());
                }
                let mut req = serde_json::Map::new();
                if cols.is_empty() {
                    all = true;
                } else {
                    req.insert("columns".into(), json!(cols));
                }
                if !select.is_empty() {
                    req.insert("select".into(), Value::Object(select));
                }
                groups.push(Value::Object(req));
            }
            if all {
                // A group without columns watches every column.
                columns = all_columns(ts);
            }
            requests.insert(ts.name.clone(), Value::Array(groups));
            watched.push((ts, columns));
        }
        let captions = args[0] == "ALL";
        let mut notes = self.conn.take_notifications().ok_or_else(|| anyhow!("notifications already taken"))?;
        let initial = self.call("monitor", vec![json!(db), Value::Null, Value::Object(requests)]).await?;
        self.print_update(&watched, captions, &initial, true)?;
        while let Some((method, params)) = notes.recv().await {
            if method != "update" {
                continue;
            }
            if let [_, updates] = params.as_slice() {
                self.print_update(&watched, captions, updates, false)?;
            }
        }
        bail!("{server}: connection closed by the server")
    }

    fn print_update(
        &mut self,
        watched: &[(&TableSchema, Vec<String>)],
        captions: bool,
        updates: &Value,
        initial: bool,
    ) -> Result<()> {
        let time = self.opts.timestamp.then(timestamp);
        let mut out = String::new();
        for (ts, columns) in watched {
            let Some(rows) = updates.get(&ts.name).and_then(Value::as_object) else {
                continue;
            };
            if rows.is_empty() {
                continue;
            }
            let mut t = Table::new(["row", "action"].into_iter().map(String::from).chain(columns.iter().cloned()));
            t.caption = captions.then(|| ts.name.clone());
            t.timestamp = time.clone();
            let mut rows: Vec<(Uuid, &Value)> =
                rows.iter().map(|(u, r)| (Uuid::parse(u).unwrap_or_default(), r)).collect();
            rows.sort_by_key(|(u, _)| *u);
            let values = |r: Option<&Value>| -> Vec<Cell> {
                columns
                    .iter()
                    .map(|c| match (ts.column(c), r.and_then(|r| r.get(c))) {
                        (Some(i), Some(v)) => cell(&ts.columns[i].type_, Some(v)),
                        _ => Cell::Empty,
                    })
                    .collect()
            };
            for (u, r) in rows {
                let (old, new) = (r.get("old"), r.get("new"));
                let mut line = |first: Cell, action: &str, vals: Vec<Cell>| {
                    let mut row = vec![first, Cell::Text(action.into())];
                    row.extend(vals);
                    t.rows.push(row);
                };
                match (old, new) {
                    (_, Some(n)) if initial => line(Cell::RowUuid(u), "initial", values(Some(n))),
                    (Some(o), Some(n)) => {
                        line(Cell::RowUuid(u), "old", values(Some(o)));
                        line(Cell::Text(String::new()), "new", values(Some(n)));
                    }
                    (None, Some(n)) => line(Cell::RowUuid(u), "insert", values(Some(n))),
                    (Some(o), None) => line(Cell::RowUuid(u), "delete", values(Some(o))),
                    (None, None) => {}
                }
            }
            self.render(&t, &mut out);
        }
        emit(&out)
    }
}

/// `v` with every integral number that fits 64 bits as an integer: the OVS
/// tools read `1e+15` or `2.0` as integers and print them so.
fn integral_numbers(v: Value) -> Value {
    match v {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) => {
                Value::from(f as i64)
            }
            _ => Value::Number(n),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(integral_numbers).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, integral_numbers(v))).collect()),
        v => v,
    }
}

/// A column value as a cell (raw JSON if it does not fit the type).
fn cell(t: &ColumnType, v: Option<&Value>) -> Cell {
    match v {
        None => Cell::Empty,
        Some(v) => match Datum::from_json(t, v, None) {
            Ok(d) => Cell::Datum(d, Box::new(t.clone())),
            Err(_) => Cell::Json(v.clone()),
        },
    }
}

fn sorted_tables(schema: &DatabaseSchema) -> Vec<&TableSchema> {
    let mut v: Vec<&TableSchema> = schema.tables.iter().collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// Local time as `2024-01-31 12:34:56.789`.
fn timestamp() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r writes only into the tm we pass.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&secs, &mut tm) };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_millis()
    )
}
