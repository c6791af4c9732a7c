//! The transaction engine: executes the operations of an RFC 7047 `transact`
//! request against a [`Database`] without touching it, then runs the commit
//! checks (referential integrity, garbage collection, weak references, maxRows,
//! index uniqueness) and returns the results plus the [`ChangeSet`] to apply.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::json::JsonNode;

use crate::atom::Atom;
use crate::condition::Condition;
use crate::database::{for_each_ref, for_each_ref_change, ChangeSet, Database, RowChange};
use crate::datum::Datum;
use crate::error::OvsdbError;
use crate::mutation::Mutation;
use crate::row::{index_key, Row};
use crate::schema::{DatabaseSchema, TableSchema, COL_UUID, COL_VERSION};
use crate::uuid::{FastMap, FastSet, Uuid, UuidMap};

/// What the engine needs from the server around it.
pub struct TxnContext<'a> {
    /// Whether the client holds a lock (for `assert`).
    pub has_lock: &'a dyn Fn(&str) -> bool,
    /// True once the transaction's `wait` timeout has passed: unsatisfied
    /// waits then fail with "timed out" instead of blocking.
    pub waits_expired: bool,
    /// Refuses every write (`insert`, `update`, `mutate`, `delete`,
    /// `commit`), as on a read-only remote.
    pub read_only: bool,
    /// Role-based access control for the client's writes, if its remote has
    /// a role.
    pub access: Option<&'a dyn Access>,
}

impl Default for TxnContext<'_> {
    fn default() -> Self {
        TxnContext { has_lock: &|_| false, waits_expired: false, read_only: false, access: None }
    }
}

/// A kind of write, for [`Access`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// `insert`
    Insert,
    /// `delete`
    Delete,
    /// `update`
    Update,
    /// `mutate`
    Mutate,
}

/// Decides whether a client may make a write (role-based access control).
/// Each method returns the error to report for the operation.
pub trait Access {
    /// Whether the client may do `op` on the table at all; asked before
    /// any row is looked at, even if no row matches.
    fn table(&self, op: Write, ts: &TableSchema) -> Result<(), OvsdbError>;
    /// Whether the client may make this change to one row: `old` is the row
    /// before the operation (None for an insert), `new` after it (None for a
    /// delete), `columns` the columns an update or mutate names.
    fn row(&self, op: Write, ts: &TableSchema, old: Option<&Row>, new: Option<&Row>, columns: &[usize]) -> Result<(), OvsdbError>;
}

/// The outcome of executing a transaction.
#[derive(Debug)]
pub enum Outcome {
    /// The transaction ran to completion (successfully or not).
    Complete(Prepared),
    /// A `wait` is not yet satisfied: retry after the database changes, or
    /// after `timeout_ms` (None = forever) with `waits_expired` set.
    Blocked {
        /// The smallest timeout among the unsatisfied waits, in ms.
        timeout_ms: Option<u64>,
    },
}

/// A finished transaction: its results, and its changes if it committed.
#[derive(Debug)]
pub struct Prepared {
    /// The JSON results array, exactly as RFC 7047 shapes it.
    pub results: Vec<Value>,
    /// Changes to apply (and log) — `None` if it failed or changed nothing.
    pub changes: Option<ChangeSet>,
    /// True if a `commit` asked for durability.
    pub durable: bool,
    /// True if an operation or the commit failed.
    pub failed: bool,
}

impl Database {
    /// Executes a transaction's operations (`params` without the database
    /// name). The database is not modified: apply `changes` to commit.
    pub fn execute<J: JsonNode>(&self, ops: &[J], ctx: &TxnContext<'_>) -> Outcome {
        let mut x = Exec::new(self, ctx);
        let n = ops.len();
        let mut results = Vec::with_capacity(n + 1);
        let mut failed = false;
        for (i, op) in ops.iter().enumerate() {
            match x.op(op, i, n) {
                Ok(r) => results.push(r),
                Err(Stop::Block(t)) => return Outcome::Blocked { timeout_ms: t },
                Err(Stop::Error(e)) => {
                    results.push(e.to_json());
                    failed = true;
                    break;
                }
            }
        }
        let durable = x.durable;
        let changes = if failed {
            None
        } else {
            match x.commit() {
                Ok(cs) => cs,
                Err(e) => {
                    results.resize(n, Value::Null);
                    results.push(e.to_json());
                    failed = true;
                    None
                }
            }
        };
        results.resize(results.len().max(n), Value::Null);
        Outcome::Complete(Prepared { results, changes, durable, failed })
    }

    /// Executes and, on success, applies a transaction (a convenience for
    /// callers without a log). Blocked waits fail as "timed out".
    pub fn transact(&mut self, ops: &[Value]) -> (Vec<Value>, Option<ChangeSet>) {
        let ctx = TxnContext { waits_expired: true, ..Default::default() };
        match self.execute(ops, &ctx) {
            Outcome::Complete(p) => {
                if let Some(cs) = &p.changes {
                    self.apply(cs);
                }
                (p.results, p.changes)
            }
            Outcome::Blocked { .. } => unreachable!("expired waits never block"),
        }
    }
}

enum Stop {
    Error(OvsdbError),
    Block(Option<u64>),
}

impl From<OvsdbError> for Stop {
    fn from(e: OvsdbError) -> Self {
        Stop::Error(e)
    }
}

/// A row touched by the transaction.
#[derive(Debug, Clone)]
struct Work {
    old: Option<Arc<Row>>,
    new: Option<Row>,
}

struct Symbol {
    uuid: Uuid,
    created: bool,
}

struct Exec<'a> {
    db: &'a Database,
    schema: &'a DatabaseSchema,
    ctx: &'a TxnContext<'a>,
    work: Vec<UuidMap<Work>>,
    symtab: FastMap<String, Symbol>,
    comments: Vec<String>,
    durable: bool,
}

/// Resolves named UUIDs, creating a symbol on first reference (a row may be
/// referenced before the `insert` that names it).
fn resolver(symtab: &mut FastMap<String, Symbol>) -> impl FnMut(&str) -> Result<Uuid, OvsdbError> + '_ {
    move |name: &str| Ok(symtab.entry(name.to_string()).or_insert_with(|| Symbol { uuid: Uuid::random(), created: false }).uuid)
}

/// Strict access to an operation's members, as ovsdb-server does it: every
/// member must be one the operation knows.
struct Op<'j, J> {
    obj: &'j J,
    /// The members read so far, as bits of [`MEMBERS`] positions.
    used: u32,
    /// Which operation of how many (for error messages, made only when
    /// one is reported).
    index: usize,
    count: usize,
}

/// Every member some operation reads.
const MEMBERS: [&str; 15] = [
    "op", "table", "uuid", "uuid-name", "row", "where", "columns", "sort", "mutations", "timeout", "until", "rows",
    "durable", "comment", "lock",
];

fn member_bit(name: &str) -> u32 {
    MEMBERS.iter().position(|m| *m == name).map_or(0, |i| 1 << i)
}

impl<'j, J: JsonNode> Op<'j, J> {
    fn err(&self, msg: impl std::fmt::Display) -> OvsdbError {
        OvsdbError::syntax(format!("Parsing ovsdb operation {} of {} failed: {msg}", self.index + 1, self.count))
    }
    fn opt(&mut self, name: &'static str) -> Option<&'j J> {
        debug_assert!(member_bit(name) != 0, "{name} is not in MEMBERS");
        self.used |= member_bit(name);
        self.obj.get(name)
    }
    fn req(&mut self, name: &'static str) -> Result<&'j J, OvsdbError> {
        self.opt(name).ok_or_else(|| self.err(format_args!("Required '{name}' member is missing.")))
    }
    fn typed<T>(&self, name: &str, v: Option<T>) -> Result<T, OvsdbError> {
        v.ok_or_else(|| self.err(format_args!("Type mismatch for member '{name}'.")))
    }
    fn req_str(&mut self, name: &'static str) -> Result<&'j str, OvsdbError> {
        let v = self.req(name)?;
        self.typed(name, v.as_str())
    }
    fn req_array(&mut self, name: &'static str) -> Result<&'j [J], OvsdbError> {
        let v = self.req(name)?;
        self.typed(name, v.as_slice())
    }
    fn req_object(&mut self, name: &'static str) -> Result<&'j J, OvsdbError> {
        let v = self.req(name)?;
        self.typed(name, v.is_object().then_some(v))
    }
    fn req_id(&mut self, name: &'static str) -> Result<&'j str, OvsdbError> {
        let v = self.req(name)?;
        self.typed(name, v.as_str().filter(|s| is_id(s)))
    }
    fn req_array_value(&mut self, name: &'static str) -> Result<&'j J, OvsdbError> {
        let v = self.req(name)?;
        self.typed(name, v.is_array().then_some(v))
    }
    fn opt_array(&mut self, name: &'static str) -> Result<Option<&'j J>, OvsdbError> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) => self.typed(name, v.is_array().then_some(v)).map(Some),
        }
    }
    fn opt_id(&mut self, name: &'static str) -> Result<Option<&'j str>, OvsdbError> {
        match self.opt(name) {
            None => Ok(None),
            Some(v) => {
                let s = v.as_str().filter(|s| is_id(s));
                self.typed(name, s).map(Some)
            }
        }
    }
    fn finish(&self) -> Result<(), OvsdbError> {
        for k in self.obj.keys() {
            if k != "op" && self.used & member_bit(k) == 0 {
                return Err(self.err(format_args!("Member '{k}' is present but not allowed here.")));
            }
        }
        Ok(())
    }
}

/// ovsdb-server's datum order (for "sort"): shorter first, then element-wise.
fn datum_cmp(a: &Datum, b: &Datum) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.keys().cmp(b.keys()))
        .then_with(|| a.values().unwrap_or(&[]).cmp(b.values().unwrap_or(&[])))
}

fn is_id(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_') && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl<'a> Exec<'a> {
    fn new(db: &'a Database, ctx: &'a TxnContext<'a>) -> Self {
        let schema: &DatabaseSchema = db.schema();
        Exec {
            db,
            schema,
            ctx,
            work: (0..schema.tables.len()).map(|_| UuidMap::default()).collect(),
            symtab: FastMap::default(),
            comments: Vec::new(),
            durable: false,
        }
    }

    /// The row as this transaction sees it.
    fn get(&self, t: usize, u: &Uuid) -> Option<&Row> {
        match self.work[t].get(u) {
            Some(w) => w.new.as_ref(),
            None => self.db.table(t).get(u).map(|r| &**r),
        }
    }

    /// True if the UUID was ever used in the table, by this transaction or before it.
    fn uuid_taken(&self, t: usize, u: &Uuid) -> bool {
        self.work[t].contains_key(u) || self.db.table(t).get(u).is_some()
    }

    fn row_mut(&mut self, t: usize, u: Uuid) -> &mut Row {
        let db = self.db;
        let w = self.work[t].entry(u).or_insert_with(|| {
            let old = db.table(t).get(&u).cloned();
            Work { new: old.as_deref().cloned(), old }
        });
        w.new.as_mut().expect("row_mut is only called on live rows")
    }

    /// UUIDs of the live rows matching `cond`.
    fn matching(&self, t: usize, cond: &Condition) -> Vec<Uuid> {
        let ts = &self.schema.tables[t];
        if let Some(u) = cond.uuid_eq() {
            return match self.get(t, &u) {
                Some(r) if cond.matches(ts, r) => vec![u],
                _ => vec![],
            };
        }
        let mut out = Vec::new();
        for (u, r) in &self.db.table(t).rows {
            if !self.work[t].contains_key(u) && cond.matches(ts, r) {
                out.push(*u);
            }
        }
        for (u, w) in &self.work[t] {
            if let Some(r) = &w.new {
                if cond.matches(ts, r) {
                    out.push(*u);
                }
            }
        }
        out
    }

    fn op<J: JsonNode>(&mut self, json: &J, i: usize, n: usize) -> Result<Value, Stop> {
        if !json.is_object() {
            let e = format!("Parsing ovsdb operation {} of {n} failed: Object expected.", i + 1);
            return Err(OvsdbError::syntax(e).into());
        };
        let mut p = Op { obj: json, used: 0, index: i, count: n };
        let name = p.req_id("op")?;
        match name {
            "insert" => self.insert(p),
            "select" => self.select(p),
            "update" => self.update(p),
            "mutate" => self.mutate(p),
            "delete" => self.delete(p),
            "wait" => self.wait(p),
            "commit" => {
                let d = p.req("durable")?;
                let d = p.typed("durable", d.as_bool())?;
                p.finish()?;
                self.writable("commit")?;
                self.durable |= d;
                Ok(Value::Object(Map::new()))
            }
            "abort" => {
                p.finish()?;
                Err(OvsdbError::new("aborted", "aborted by request").into())
            }
            "comment" => {
                let c = p.req_str("comment")?;
                p.finish()?;
                self.comments.push(c.to_string());
                Ok(Value::Object(Map::new()))
            }
            "assert" => {
                let lock = p.req_id("lock")?;
                p.finish()?;
                if (self.ctx.has_lock)(lock) {
                    Ok(Value::Object(Map::new()))
                } else {
                    Err(OvsdbError::new("not owner", format!("Asserted lock {lock} not held.")).into())
                }
            }
            other => Err(p.err(format_args!("No operation \"{other}\"")).at(json).into()),
        }
    }

    /// Refuses a write on a read-only remote (checked once the operation is
    /// parsed and past access control, where ovsdb-server checks it).
    fn writable(&self, op: &str) -> Result<(), OvsdbError> {
        if self.ctx.read_only {
            return Err(OvsdbError::new(
                "not allowed",
                format!("{op} operation not allowed when database server is in read only mode"),
            ));
        }
        Ok(())
    }

    // Every operation first reads all of its members (any missing or
    // mistyped member, or one the operation does not know, is a "syntax
    // error" that overrides whatever the operation would have said), and only
    // then parses their contents, in the order ovsdb-server does: the first
    // error found is the one reported, so the order decides the error tag.

    fn table<J: JsonNode>(&self, p: &mut Op<'_, J>) -> Result<(usize, &'a TableSchema), OvsdbError> {
        let name = p.req_id("table")?;
        let schema: &'a DatabaseSchema = self.schema;
        schema.table(name).ok_or_else(|| p.err(format_args!("No table named {name}.")))
    }

    fn condition<J: JsonNode>(&mut self, ts: &TableSchema, w: &J) -> Result<Condition, OvsdbError> {
        let mut r = resolver(&mut self.symtab);
        Condition::from_json(ts, w, Some(&mut r))
    }

    /// Parses a row object: every member must name a column ("unknown
    /// column") and hold a valid datum for it.
    fn parse_row<J: JsonNode>(&mut self, ts: &TableSchema, json: &J) -> Result<Vec<(usize, Datum)>, OvsdbError> {
        if !json.is_object() {
            return Err(OvsdbError::syntax("row must be JSON object"));
        }
        self.parse_row_object(ts, json)
    }

    fn parse_row_object<J: JsonNode>(&mut self, ts: &TableSchema, json: &J) -> Result<Vec<(usize, Datum)>, OvsdbError> {
        let mut out = Vec::with_capacity(8);
        let mut r = resolver(&mut self.symtab);
        for (name, v) in json.members() {
            let c = ts
                .column(name)
                .ok_or_else(|| OvsdbError::new("unknown column", format!("No column {name} in table {}.", ts.name)))?;
            out.push((c, Datum::from_json(&ts.columns[c].type_, v, Some(&mut r))?));
        }
        Ok(out)
    }

    /// A column set (`columns`, `sort`): distinct, known column names.
    fn column_set<J: JsonNode>(ts: &TableSchema, v: Option<&J>) -> Result<Option<Vec<usize>>, OvsdbError> {
        let Some(v) = v else { return Ok(None) };
        let expected = || OvsdbError::syntax("array of distinct column names expected");
        let arr = v.as_slice().ok_or_else(expected)?;
        let mut cols = Vec::with_capacity(arr.len());
        for c in arr {
            let name = c.as_str().ok_or_else(expected)?;
            let i = ts.column(name).ok_or_else(|| OvsdbError::syntax(format!("{name} is not a valid column name")))?;
            if cols.contains(&i) {
                return Err(expected());
            }
            cols.push(i);
        }
        Ok(Some(cols))
    }

    fn insert<J: JsonNode>(&mut self, mut p: Op<'_, J>) -> Result<Value, Stop> {
        let (t, ts) = self.table(&mut p)?;
        let uuid_json = match p.opt("uuid") {
            None => None,
            Some(v) => Some(p.typed("uuid", v.as_str())?),
        };
        let uuid_name = p.opt_id("uuid-name")?;
        // ovsdb-server 3.1 requires "row" (RFC 7047 makes it optional).
        let row_json = p.req_object("row")?;
        p.finish()?;
        let given = match uuid_json {
            None => None,
            Some(s) => Some(Uuid::parse(s).ok_or_else(|| OvsdbError::syntax(format!("\"{s}\" is not a valid UUID")))?),
        };
        // An explicit UUID is checked before the uuid-name.
        if let Some(g) = given {
            if self.uuid_taken(t, &g) {
                return Err(OvsdbError::new(
                    "duplicate uuid",
                    "This UUID would duplicate a UUID already present within the table or deleted within the same transaction.",
                )
                .into());
            }
        }
        let uuid = match uuid_name {
            Some(name) => match self.symtab.get_mut(name) {
                Some(sym) if sym.created => {
                    return Err(OvsdbError::new(
                        "duplicate uuid-name",
                        "This \"uuid-name\" appeared on an earlier \"insert\" operation.",
                    )
                    .into())
                }
                Some(sym) => {
                    // References made before this insert keep the UUID the
                    // name had then, as in ovsdb-server.
                    sym.created = true;
                    if let Some(g) = given {
                        sym.uuid = g;
                    }
                    sym.uuid
                }
                None => {
                    let u = given.unwrap_or_else(Uuid::random);
                    self.symtab.insert(name.to_string(), Symbol { uuid: u, created: true });
                    u
                }
            },
            None => given.unwrap_or_else(Uuid::random),
        };
        let mut row = Row::new_default(ts, uuid, Uuid::random());
        for (c, d) in self.parse_row_object(ts, row_json)? {
            // `_uuid` and `_version` are chosen by the database (a given
            // value is parsed, then ignored, as ovsdb-server does).
            if c != COL_UUID && c != COL_VERSION {
                row.values[c] = d;
            }
        }
        // Default values must satisfy the column constraints too (e.g. an
        // enum without "" or a minInteger above 0): ovsdb-server checks
        // every single-element datum of the new row.
        for (c, col) in ts.columns.iter().enumerate().skip(2) {
            let d = &row.values[c];
            if d.len() == 1 {
                col.type_.key.check(&d.keys()[0])?;
                if let (Some(vt), Some(v)) = (&col.type_.value, d.values()) {
                    vt.check(&v[0])?;
                }
            }
        }
        if let Some(a) = self.ctx.access {
            a.table(Write::Insert, ts)?;
            a.row(Write::Insert, ts, None, Some(&row), &[])?;
        }
        self.writable("insert")?;
        self.work[t].insert(uuid, Work { old: None, new: Some(row) });
        Ok(serde_json::json!({ "uuid": Atom::Uuid(uuid).to_json() }))
    }

    fn select<J: JsonNode>(&mut self, mut p: Op<'_, J>) -> Result<Value, Stop> {
        let (t, ts) = self.table(&mut p)?;
        let w = p.req_array_value("where")?;
        let cols_json = p.opt_array("columns")?;
        // "sort" is an ovsdb-server extension: order rows by these columns.
        let sort_json = p.opt_array("sort")?;
        p.finish()?;
        let cond = self.condition(ts, w)?;
        let cols = Self::column_set(ts, cols_json)?;
        let sort = Self::column_set(ts, sort_json)?;
        let mut uuids = self.matching(t, &cond);
        uuids.sort();
        let mut rows: Vec<&Row> = uuids.iter().filter_map(|u| self.get(t, u)).collect();
        // Without `_uuid` among the columns, rows are distinct on the
        // selected columns (ovsdb-server's query_distinct).
        if let Some(cols) = &cols {
            if !cols.contains(&COL_UUID) {
                let mut seen = HashSet::new();
                rows.retain(|r| seen.insert(index_key(r, cols)));
            }
        }
        if let Some(sort) = &sort {
            rows.sort_by(|a, b| {
                sort.iter().map(|&c| datum_cmp(&a.values[c], &b.values[c])).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
            });
        }
        let rows: Vec<Value> = rows.iter().map(|r| r.to_json(ts, cols.as_deref())).collect();
        Ok(serde_json::json!({ "rows": rows }))
    }

    fn update<J: JsonNode>(&mut self, mut p: Op<'_, J>) -> Result<Value, Stop> {
        let (t, ts) = self.table(&mut p)?;
        let w = p.req_array_value("where")?;
        let row_json = p.req_object("row")?;
        p.finish()?;
        // The row is parsed (and checked for immutable columns) before the
        // condition.
        let values = self.parse_row_object(ts, row_json)?;
        if let Some((c, _)) = values.iter().find(|(c, _)| !ts.columns[*c].mutable) {
            return Err(OvsdbError::constraint(format!(
                "Cannot update immutable column {} in table {}.",
                ts.columns[*c].name, ts.name
            ))
            .into());
        }
        let cond = self.condition(ts, w)?;
        let uuids = self.matching(t, &cond);
        let access = self.ctx.access;
        if let Some(a) = access {
            a.table(Write::Update, ts)?;
        }
        let columns: Vec<usize> = values.iter().map(|(c, _)| *c).collect();
        for u in &uuids {
            let old = access.and_then(|_| self.get(t, u).cloned());
            let row = self.row_mut(t, *u);
            for (c, d) in &values {
                row.values[*c] = d.clone();
            }
            if let Some(a) = access {
                let new = self.get(t, u);
                a.row(Write::Update, ts, old.as_ref(), new, &columns)?;
            }
        }
        self.writable("update")?;
        Ok(serde_json::json!({ "count": uuids.len() }))
    }

    fn mutate<J: JsonNode>(&mut self, mut p: Op<'_, J>) -> Result<Value, Stop> {
        let (t, ts) = self.table(&mut p)?;
        let w = p.req_array_value("where")?;
        let mj = p.req_array_value("mutations")?;
        p.finish()?;
        // Mutations are parsed before the condition.
        let muts = {
            let mut r = resolver(&mut self.symtab);
            Mutation::parse_list(ts, mj, Some(&mut r))?
        };
        let cond = self.condition(ts, w)?;
        let uuids = self.matching(t, &cond);
        let access = self.ctx.access;
        if let Some(a) = access {
            a.table(Write::Mutate, ts)?;
        }
        let columns: Vec<usize> = muts.iter().map(|m| m.column).collect();
        for u in &uuids {
            let old = access.and_then(|_| self.get(t, u).cloned());
            let row = self.row_mut(t, *u);
            for m in &muts {
                let col = &ts.columns[m.column];
                m.apply(&col.type_, &col.name, &mut row.values[m.column])?;
            }
            if let Some(a) = access {
                let new = self.get(t, u);
                a.row(Write::Mutate, ts, old.as_ref(), new, &columns)?;
            }
        }
        self.writable("mutate")?;
        Ok(serde_json::json!({ "count": uuids.len() }))
    }

    fn delete<J: JsonNode>(&mut self, mut p: Op<'_, J>) -> Result<Value, Stop> {
        let w = p.req_array_value("where")?;
        let (t, ts) = self.table(&mut p)?;
        p.finish()?;
        let cond = self.condition(ts, w)?;
        let uuids = self.matching(t, &cond);
        if let Some(a) = self.ctx.access {
            a.table(Write::Delete, ts)?;
            for u in &uuids {
                a.row(Write::Delete, ts, self.get(t, u), None, &[])?;
            }
        }
        self.writable("delete")?;
        for u in &uuids {
            let db = self.db;
            let w = self.work[t].entry(*u).or_insert_with(|| Work { old: db.table(t).get(u).cloned(), new: None });
            w.new = None;
        }
        Ok(serde_json::json!({ "count": uuids.len() }))
    }

    fn wait<J: JsonNode>(&mut self, mut p: Op<'_, J>) -> Result<Value, Stop> {
        let timeout = match p.opt("timeout") {
            None => None,
            Some(v) => Some(p.typed("timeout", v.as_i64())?),
        };
        let w = p.req_array_value("where")?;
        let cols_json = p.opt_array("columns")?;
        let until = p.req_str("until")?;
        let rows_json = p.req_array("rows")?;
        let (t, ts) = self.table(&mut p)?;
        p.finish()?;
        let cond = self.condition(ts, w)?;
        // Without "columns", every column (including `_uuid` and `_version`).
        let cols = Self::column_set(ts, cols_json)?.unwrap_or_else(|| (0..ts.columns.len()).collect());
        if timeout.is_some_and(|t| t < 0) {
            return Err(OvsdbError::syntax("timeout must be nonnegative").into());
        }
        let want_equal = match until {
            "==" => true,
            "!=" => false,
            _ => return Err(OvsdbError::syntax("\"until\" must be \"==\" or \"!=\"").into()),
        };
        let mut expected = HashSet::new();
        for rj in rows_json {
            // Columns a row leaves out compare as their default values.
            let parsed = self.parse_row(ts, rj)?;
            let mut row = Row::new_default(ts, Uuid::nil(), Uuid::nil());
            for (c, d) in parsed {
                row.values[c] = d;
            }
            expected.insert(index_key(&row, &cols));
        }
        let actual: HashSet<Vec<Datum>> =
            self.matching(t, &cond).iter().filter_map(|u| self.get(t, u)).map(|r| index_key(r, &cols)).collect();
        if (actual == expected) == want_equal {
            return Ok(Value::Object(Map::new()));
        }
        if timeout == Some(0) || self.ctx.waits_expired {
            Err(OvsdbError::new("timed out", "\"wait\" timed out").into())
        } else {
            Err(Stop::Block(timeout.map(|t| t as u64)))
        }
    }

    /// Runs the commit checks and builds the change set.
    fn commit(mut self) -> Result<Option<ChangeSet>, OvsdbError> {
        let schema = self.schema;
        // Drop rows whose net effect is nothing.
        for w in &mut self.work {
            w.retain(|_, x| match (&x.old, &x.new) {
                (None, None) => false,
                (Some(o), Some(n)) => **o != *n,
                _ => true,
            });
        }
        // Rows the operations changed. ovsdb-server gives these a new
        // `_version` even if dropping weak references later turns them back
        // into what they were.
        let changed_by_ops: FastSet<(usize, Uuid)> = self
            .work
            .iter()
            .enumerate()
            .flat_map(|(t, w)| w.iter().filter(|(_, x)| x.old.is_some() && x.new.is_some()).map(move |(u, _)| (t, *u)))
            .collect();
        // Net change of incoming strong references per (table, row). As in
        // ovsdb-server, a row's references to itself do not count: they
        // neither keep it from being garbage-collected nor from being deleted.
        let mut delta: FastMap<(usize, Uuid), i64> = FastMap::default();
        for t in 0..self.work.len() {
            for (src, w) in &self.work[t] {
                for_each_ref_change(schema, t, w.old.as_deref(), w.new.as_ref(), |tt, u, strong, d| {
                    if strong && !(tt == t && u == *src) {
                        *delta.entry((tt, u)).or_default() += d as i64;
                    }
                });
            }
        }
        // The database's counts include self-references; take them out.
        let self_refs = |db: &Database, t: usize, u: Uuid| -> i64 {
            let mut n = 0;
            if let Some(r) = db.table(t).get(&u) {
                for_each_ref(schema, t, r, |tt, d, strong| n += (strong && tt == t && d == u) as i64);
            }
            n
        };
        let strong_count = |db: &Database, delta: &FastMap<(usize, Uuid), i64>, t: usize, u: Uuid| -> i64 {
            db.table(t).refs_in.get(&u).map_or(0, |r| r.strong as i64) - self_refs(db, t, u)
                + delta.get(&(t, u)).copied().unwrap_or(0)
        };
        // Strong references must point at rows that exist; referenced rows
        // must not be deleted. A reference the row already had pointed at a
        // row that existed, and if that row is deleted now, the check of
        // the deletion below catches it: only added references are looked
        // up (adding a port to a switch of a thousand looks up one row).
        for t in 0..self.work.len() {
            let ts = &schema.tables[t];
            for (u, w) in &self.work[t] {
                match &w.new {
                    Some(n) => {
                        let mut bad = None;
                        for &c in &ts.ref_columns {
                            let old = w.old.as_deref().map(|o| &o.values[c]);
                            if old.is_some_and(|o| *o == n.values[c]) {
                                continue;
                            }
                            let ct = &ts.columns[c].type_;
                            let mut check = |bt: &crate::schema::BaseType, atoms: &mut dyn Iterator<Item = &Atom>| {
                                if bad.is_some() || !bt.is_strong_ref() {
                                    return;
                                }
                                let Some(rt) = &bt.ref_table else { return };
                                let tt = schema.by_name[rt];
                                for a in atoms {
                                    if let Some(dst) = a.as_uuid() {
                                        if self.get(tt, &dst).is_none() {
                                            bad = Some((c, dst, tt));
                                            return;
                                        }
                                    }
                                }
                            };
                            // Keys are sorted: the added ones come from a merge.
                            check(&ct.key, &mut added_atoms(old.map_or(&[], |o| o.keys()), n.values[c].keys()));
                            if let (Some(vt), Some(vals)) = (&ct.value, n.values[c].values()) {
                                check(vt, &mut vals.iter());
                            }
                        }
                        if let Some((c, dst, tt)) = bad {
                            return Err(OvsdbError::referential(format!(
                                "Table {} column {} row {u} references nonexistent row {dst} in table {}.",
                                ts.name, ts.columns[c].name, schema.tables[tt].name
                            )));
                        }
                    }
                    None => {
                        let n = strong_count(self.db, &delta, t, *u);
                        if n > 0 {
                            return Err(OvsdbError::referential(format!(
                                "cannot delete {} row {u} because of {n} remaining reference(s)",
                                ts.name
                            )));
                        }
                    }
                }
            }
        }
        // Garbage-collect unreferenced rows of non-root tables, to a fixpoint.
        let mut candidates: Vec<(usize, Uuid)> = Vec::new();
        for (t, w) in self.work.iter().enumerate() {
            if !schema.tables[t].is_root {
                candidates.extend(w.iter().filter(|(_, x)| x.new.is_some()).map(|(u, _)| (t, *u)));
            }
        }
        candidates.extend(delta.iter().filter(|(k, d)| **d < 0 && !schema.tables[k.0].is_root).map(|(k, _)| *k));
        while let Some((t, u)) = candidates.pop() {
            if self.get(t, &u).is_none() || strong_count(self.db, &delta, t, u) > 0 {
                continue;
            }
            let db = self.db;
            let w = self.work[t].entry(u).or_insert_with(|| {
                let old = db.table(t).get(&u).cloned();
                Work { new: old.as_deref().cloned(), old }
            });
            let gone = w.new.take();
            if w.old.is_none() {
                self.work[t].remove(&u);
            }
            if let Some(row) = gone {
                for_each_ref(schema, t, &row, |tt, dst, strong| {
                    if strong && !(tt == t && dst == u) {
                        *delta.entry((tt, dst)).or_default() -= 1;
                        if !schema.tables[tt].is_root {
                            candidates.push((tt, dst));
                        }
                    }
                });
            }
        }
        // maxRows.
        for (t, ts) in schema.tables.iter().enumerate() {
            let Some(max) = ts.max_rows else { continue };
            if self.work[t].is_empty() {
                continue;
            }
            let mut n = self.db.table(t).len() as i64;
            for w in self.work[t].values() {
                n += w.new.is_some() as i64 - w.old.is_some() as i64;
            }
            if n as u64 > max {
                return Err(OvsdbError::constraint(format!(
                    "transaction causes \"{}\" table to contain {n} rows, greater than the schema-defined limit of {max} row(s)",
                    ts.name
                )));
            }
        }
        // Weak references: rows that weakly reference a deleted row join the
        // transaction, then every touched row drops references to rows that
        // do not exist.
        let mut referrers: Vec<(usize, Uuid)> = Vec::new();
        for (t, w) in self.work.iter().enumerate() {
            for (u, x) in w {
                if x.new.is_none() {
                    if let Some(r) = self.db.table(t).refs_in.get(u) {
                        referrers.extend(r.weak.keys().copied());
                    }
                }
            }
        }
        for (t, u) in referrers {
            if !self.work[t].contains_key(&u) && self.db.table(t).get(&u).is_some() {
                self.row_mut(t, u);
            }
        }
        for t in 0..self.work.len() {
            let ts = &schema.tables[t];
            if ts.ref_columns.is_empty() {
                continue;
            }
            let uuids: Vec<Uuid> = self.work[t].iter().filter(|(_, x)| x.new.is_some()).map(|(u, _)| *u).collect();
            for u in uuids {
                for &c in &ts.ref_columns {
                    let ct = &ts.columns[c].type_;
                    let kt = ct.key.is_weak_ref().then(|| schema.by_name[ct.key.ref_table.as_deref().unwrap_or("")]);
                    let vt = ct
                        .value
                        .as_ref()
                        .filter(|v| v.is_weak_ref())
                        .map(|v| schema.by_name[v.ref_table.as_deref().unwrap_or("")]);
                    if kt.is_none() && vt.is_none() {
                        continue;
                    }
                    let exists = |x: &Exec<'_>, tt: Option<usize>, a: Option<&Atom>| -> bool {
                        match (tt, a.and_then(Atom::as_uuid)) {
                            (Some(tt), Some(dst)) => x.get(tt, &dst).is_some(),
                            _ => true,
                        }
                    };
                    let Some(row) = self.get(t, &u) else { continue };
                    let d = &row.values[c];
                    let all_ok = (0..d.len()).all(|i| exists(&self, kt, d.keys().get(i)) && exists(&self, vt, d.values().and_then(|v| v.get(i))));
                    if all_ok {
                        continue;
                    }
                    let mut d = d.clone();
                    let before = d.len();
                    d.retain_pairs(|k, v| exists(&self, kt, Some(k)) && exists(&self, vt, v));
                    if !d.check_count(ct) {
                        let inserted = self.work[t].get(&u).is_some_and(|w| w.old.is_none());
                        return Err(OvsdbError::constraint(format!(
                            "Deletion of {} weak reference(s) to deleted (or never-existing) rows from column \"{}\" in \"{}\" row {u}{} caused this column to {}.",
                            before - d.len(),
                            ts.columns[c].name,
                            ts.name,
                            if inserted { " (inserted within this transaction)" } else { "" },
                            if d.is_empty() { "become empty" } else { "have too few members" }
                        )));
                    }
                    self.row_mut(t, u).values[c] = d;
                }
            }
        }
        // Index uniqueness.
        for (t, ts) in schema.tables.iter().enumerate() {
            if ts.indexes.is_empty() || self.work[t].is_empty() {
                continue;
            }
            for (i, cols) in ts.indexes.iter().enumerate() {
                let mut seen: FastMap<Vec<Datum>, Uuid> = FastMap::default();
                let mut live: Vec<(&Uuid, &Row)> =
                    self.work[t].iter().filter_map(|(u, w)| w.new.as_ref().map(|r| (u, r))).collect();
                live.sort_by_key(|(u, _)| **u);
                for (u, r) in live {
                    let key = index_key(r, cols);
                    let other = seen.get(&key).copied().or_else(|| {
                        self.db.table(t).indexes[i].get(&key).copied().filter(|o| !self.work[t].contains_key(o))
                    });
                    if let Some(o) = other {
                        let names: Vec<String> = cols.iter().map(|&c| format!("\"{}\"", ts.columns[c].name)).collect();
                        let vals: Vec<String> = key.iter().map(|d| d.to_json().to_string()).collect();
                        return Err(OvsdbError::constraint(format!(
                            "Transaction causes multiple rows in \"{}\" table to have identical values ({}) for index on column(s) {}.  First row, with UUID {o}, and second row, with UUID {u}.",
                            ts.name,
                            vals.join(" and "),
                            names.join(" and ")
                        )));
                    }
                    seen.insert(key, *u);
                }
            }
        }
        // Build the change set; modified rows get a new version.
        let mut tables = Vec::new();
        for (t, w) in self.work.into_iter().enumerate() {
            let mut rows: BTreeMap<Uuid, RowChange> = BTreeMap::new();
            for (u, x) in w {
                let new = x.new.map(|mut r| {
                    if x.old.is_some() {
                        r.values[COL_VERSION] = Datum::scalar(Atom::Uuid(Uuid::random()));
                    }
                    Arc::new(r)
                });
                match (&x.old, &new) {
                    (Some(o), Some(n)) if o.values[2..] == n.values[2..] && !changed_by_ops.contains(&(t, u)) => continue,
                    (None, None) => continue,
                    _ => {}
                }
                rows.insert(u, RowChange { uuid: u, old: x.old, new });
            }
            if !rows.is_empty() {
                tables.push((t, rows.into_values().collect()));
            }
        }
        let cs = ChangeSet { tables, comment: (!self.comments.is_empty()).then(|| self.comments.join("\n")) };
        Ok(if cs.is_empty() { None } else { Some(cs) })
    }
}

/// The atoms of sorted `new` that sorted `old` lacks.
fn added_atoms<'a>(old: &'a [Atom], new: &'a [Atom]) -> impl Iterator<Item = &'a Atom> + 'a {
    let mut i = 0;
    new.iter().filter(move |a| {
        while i < old.len() && old[i] < **a {
            i += 1;
        }
        !(i < old.len() && old[i] == **a)
    })
}
