//! Transactions built against the replica, with optimistic concurrency.
//!
//! A [`Txn`] reads rows from the replica and records what it writes. Rows
//! and columns the caller depends on are *verified*: each verified row
//! becomes a `wait` operation (timeout 0, until `==`) that compares the
//! columns with the values the transaction read, so that if another client
//! changed them first the whole transaction fails with "timed out" and
//! nothing is written ([`TxnError::TryAgain`]). That is what upstream's
//! IDL does for `ovsdb_idl_txn_verify`. With [`Txn::auto_verify`] every row
//! read through the transaction is verified on all its columns, and index
//! lookups verify the lookup's result (including "no such row").
//!
//! Every row updated, mutated or deleted also gets a `wait` that it still
//! exists, so a transaction never half-applies because a row vanished.
//! Inserted rows get placeholder UUIDs (turned into `named-uuid`s on the
//! wire, wherever they are referenced); [`Committed::real`] gives the UUIDs
//! the server chose.
//!
//! [`crate::Idl::transact_with`] runs a closure that builds a transaction,
//! commits it, and after a conflict waits for the replica to catch up and
//! runs the closure again.

use std::collections::{BTreeMap, BTreeSet};

use ovsdb::{Datum, Uuid};
use serde_json::{json, Map, Value};

use crate::replica::Replica;
use crate::typed::{ColumnValue, Ref, Table};

/// Why a transaction did not commit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TxnError {
    /// Something the transaction verified changed (or a row it touches
    /// went away): nothing was written; build it again on a fresher replica.
    #[error("a verified row changed concurrently; try again")]
    TryAgain,
    /// The connection dropped before the reply: the transaction may or may
    /// not have committed.
    #[error("connection lost before the transaction's reply ({0})")]
    Disconnected(String),
    /// The server refused the transaction (an error in operation `index`).
    #[error("transaction failed: {error}: {details}")]
    Failed {
        /// Position of the failed operation in the request.
        index: usize,
        /// The RFC 7047 error tag.
        error: String,
        /// The server's explanation.
        details: String,
    },
    /// The transaction cannot be built (unknown table, column or row).
    #[error("{0}")]
    Invalid(String),
}

impl TxnError {
    /// True if running the transaction again (on a caught-up replica) may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, TxnError::TryAgain | TxnError::Disconnected(_))
    }
}

/// A committed transaction's results.
#[derive(Debug, Clone, Default)]
pub struct Committed {
    /// The raw results, one per operation sent.
    pub results: Vec<Value>,
    inserted: BTreeMap<Uuid, Uuid>,
    increments: Vec<i64>,
}

impl Committed {
    /// The UUID the server gave a row this transaction inserted (given
    /// the placeholder [`Txn::insert`] returned); other references unchanged.
    pub fn real<T>(&self, r: Ref<T>) -> Ref<T> {
        Ref::new(self.inserted.get(&r.uuid()).copied().unwrap_or(r.uuid()))
    }
    /// The value after the `n`th [`Txn::increment`].
    pub fn increment(&self, n: usize) -> Option<i64> {
        self.increments.get(n).copied()
    }
    /// Number of rows inserted.
    pub fn n_inserted(&self) -> usize {
        self.inserted.len()
    }
}

enum Op {
    Insert { table: String, placeholder: Uuid, row: Vec<(String, Datum)> },
    Update { table: String, uuid: Uuid, row: Vec<(String, Datum)> },
    Mutate { table: String, uuid: Uuid, mutations: Vec<(String, &'static str, Datum)> },
    Delete { table: String, uuid: Uuid },
    Increment { table: String, uuid: Uuid, column: String },
    Wait { table: String, where_: Value, columns: Vec<String>, rows: Vec<Value> },
    Comment(String),
    Raw(Value),
}

/// A transaction being built against a replica.
pub struct Txn<'r> {
    replica: &'r Replica,
    db: String,
    ops: Vec<Op>,
    /// Verified columns per (table, row); an empty set means "exists".
    verify: BTreeMap<(String, Uuid), BTreeSet<String>>,
    /// Placeholder UUID -> its name on the wire.
    placeholders: BTreeMap<Uuid, String>,
    auto_verify: bool,
}

/// A transaction ready to send (built under the replica's lock, sent without it).
pub struct Prepared {
    db: String,
    /// The operations, as sent.
    pub ops: Vec<Value>,
    /// Position of each placeholder's insert among `ops`.
    inserts: Vec<(Uuid, usize)>,
    /// Position of each increment's select among `ops`.
    increments: Vec<(usize, String)>,
    /// Positions of the `wait`s that check for conflicts.
    waits: BTreeSet<usize>,
}

impl<'r> Txn<'r> {
    /// An empty transaction on `db` reading from `replica`.
    pub fn new(replica: &'r Replica, db: &str) -> Txn<'r> {
        Txn {
            replica,
            db: db.to_string(),
            ops: Vec::new(),
            verify: BTreeMap::new(),
            placeholders: BTreeMap::new(),
            auto_verify: false,
        }
    }

    /// Verifies every row later read through this transaction, on all columns.
    pub fn auto_verify(&mut self, on: bool) -> &mut Self {
        self.auto_verify = on;
        self
    }

    /// The replica the transaction reads.
    pub fn replica(&self) -> &'r Replica {
        self.replica
    }

    fn column_check(&self, table: &str, columns: &[&str]) -> Result<(), TxnError> {
        let (ts, _) =
            self.replica.table(table).ok_or_else(|| TxnError::Invalid(format!("table {table} is not replicated")))?;
        for c in columns {
            if ts.column(c).is_none() {
                return Err(TxnError::Invalid(format!("table {table} has no column {c}")));
            }
        }
        Ok(())
    }

    fn verify_raw(&mut self, table: &str, uuid: Uuid, columns: &[&str]) -> Result<(), TxnError> {
        self.column_check(table, columns)?;
        if self.placeholders.contains_key(&uuid) {
            return Ok(());
        }
        let set = self.verify.entry((table.to_string(), uuid)).or_default();
        set.extend(columns.iter().map(|c| c.to_string()));
        Ok(())
    }

    /// Verifies all of `columns` the server has (auto-verify).
    fn verify_all(&mut self, table: &str, uuid: Uuid, columns: &[&str]) {
        let Some((ts, _)) = self.replica.table(table) else { return };
        let known: Vec<&str> = columns.iter().copied().filter(|c| ts.column(c).is_some()).collect();
        let _ = self.verify_raw(table, uuid, &known);
    }

    /// Makes the transaction fail with [`TxnError::TryAgain`] if any of
    /// `columns` of row `r` differ from the replica's values when it runs
    /// (or if the row is gone; if it is not in the replica, if it appeared).
    pub fn verify<T: Table>(&mut self, r: Ref<T>, columns: &[&str]) -> Result<(), TxnError> {
        self.verify_raw(T::NAME, r.uuid(), columns)
    }

    /// Row `r`, verified on all columns in auto-verify mode.
    pub fn read<T: Table>(&mut self, r: Ref<T>) -> Option<T> {
        if self.auto_verify {
            self.verify_all(T::NAME, r.uuid(), T::COLUMNS);
        }
        self.replica.get(r)
    }

    /// Every row of `T` (each verified in auto-verify mode; rows other
    /// clients insert meanwhile are not detected).
    pub fn rows<T: Table>(&mut self) -> Vec<T> {
        let rows: Vec<T> = self.replica.rows().collect();
        if self.auto_verify {
            for r in &rows {
                self.verify_all(T::NAME, r.uuid(), T::COLUMNS);
            }
        }
        rows
    }

    /// The row with these column values (see [`Replica::lookup`]); in
    /// auto-verify mode the transaction fails if, when it runs, the rows
    /// matching the key are not exactly this one (or none).
    pub fn lookup<T: Table>(&mut self, key: &[(&str, Datum)]) -> Option<T> {
        let found: Option<T> = self.replica.lookup(key);
        if self.auto_verify {
            self.verify_lookup::<T>(key, found.as_ref());
        }
        found
    }

    /// Makes the transaction fail unless the rows whose columns equal `key`
    /// are exactly `found` (none: no row has that key).
    pub fn verify_lookup<T: Table>(&mut self, key: &[(&str, Datum)], found: Option<&T>) {
        let where_: Vec<Value> = key.iter().map(|(c, d)| json!([c, "==", d.to_json()])).collect();
        let rows = match found {
            Some(r) => vec![json!({"_uuid": ["uuid", r.uuid().to_string()]})],
            None => Vec::new(),
        };
        self.ops.push(Op::Wait {
            table: T::NAME.into(),
            where_: Value::Array(where_),
            columns: vec!["_uuid".into()],
            rows,
        });
    }

    fn datums<T: Table>(&self, row: &T) -> Result<Vec<(String, Datum)>, TxnError> {
        let (ts, _) = self
            .replica
            .table(T::NAME)
            .ok_or_else(|| TxnError::Invalid(format!("table {} is not replicated", T::NAME)))?;
        let mut out = Vec::new();
        for (c, d) in T::COLUMNS.iter().zip(row.to_datums()) {
            match ts.column(c) {
                Some(i) if d == Datum::default_for(&ts.columns[i].type_) => {}
                Some(_) => out.push((c.to_string(), d)),
                None => tracing::warn!(table = T::NAME, column = c, "the server has no such column; not written"),
            }
        }
        Ok(out)
    }

    /// Inserts `row` (its `uuid` is ignored); returns the placeholder
    /// reference to use in other rows of this transaction.
    pub fn insert<T: Table>(&mut self, row: &T) -> Result<Ref<T>, TxnError> {
        let datums = self.datums(row)?;
        let placeholder = Uuid::random();
        self.placeholders.insert(placeholder, format!("row{}", self.placeholders.len()));
        self.ops.push(Op::Insert { table: T::NAME.into(), placeholder, row: datums });
        Ok(Ref::new(placeholder))
    }

    fn pending_insert(&mut self, uuid: Uuid) -> Option<&mut Vec<(String, Datum)>> {
        self.ops.iter_mut().find_map(|op| match op {
            Op::Insert { placeholder, row, .. } if *placeholder == uuid => Some(row),
            _ => None,
        })
    }

    /// Writes the columns of `new` that differ from the replica's row
    /// (or from the row as inserted earlier in this transaction).
    pub fn update<T: Table>(&mut self, new: &T) -> Result<(), TxnError> {
        let uuid = new.uuid();
        if self.placeholders.contains_key(&uuid) {
            let datums = self.datums(new)?;
            *self.pending_insert(uuid).expect("placeholder has an insert") = datums;
            return Ok(());
        }
        let (ts, _) = self
            .replica
            .table(T::NAME)
            .ok_or_else(|| TxnError::Invalid(format!("table {} is not replicated", T::NAME)))?;
        let old = self
            .replica
            .row(T::NAME, &uuid)
            .ok_or_else(|| TxnError::Invalid(format!("no row {uuid} in table {}", T::NAME)))?;
        let mut row = Vec::new();
        for (c, d) in T::COLUMNS.iter().zip(new.to_datums()) {
            match ts.column(c) {
                Some(i) if old.values[i] != d => row.push((c.to_string(), d)),
                _ => {}
            }
        }
        if !row.is_empty() {
            self.verify.entry((T::NAME.into(), uuid)).or_default();
            self.ops.push(Op::Update { table: T::NAME.into(), uuid, row });
        }
        Ok(())
    }

    fn mutate_raw(
        &mut self,
        table: &str,
        uuid: Uuid,
        column: &str,
        mutator: &'static str,
        value: Datum,
    ) -> Result<(), TxnError> {
        self.column_check(table, &[column])?;
        if self.placeholders.contains_key(&uuid) {
            let row = self.pending_insert(uuid).expect("placeholder has an insert");
            let cur = match row.iter_mut().find(|(c, _)| c == column) {
                Some((_, d)) => d,
                None => {
                    row.push((
                        column.to_string(),
                        if value.is_map() { Datum::empty_map() } else { Datum::empty_set() },
                    ));
                    &mut row.last_mut().expect("just pushed").1
                }
            };
            match mutator {
                "insert" => cur.union(&value),
                _ => cur.subtract(&value),
            }
            return Ok(());
        }
        self.verify.entry((table.to_string(), uuid)).or_default();
        match self.ops.iter_mut().rev().find_map(|op| match op {
            Op::Mutate { table: t, uuid: u, mutations } if t == table && *u == uuid => Some(mutations),
            _ => None,
        }) {
            Some(m) => m.push((column.into(), mutator, value)),
            None => self.ops.push(Op::Mutate {
                table: table.into(),
                uuid,
                mutations: vec![(column.into(), mutator, value)],
            }),
        }
        Ok(())
    }

    /// Adds elements to a set column, or pairs to a map column (keys already
    /// present keep their value), without rewriting the column: concurrent
    /// additions by other clients are kept.
    pub fn insert_into<T: Table, V: ColumnValue>(
        &mut self,
        r: Ref<T>,
        column: &str,
        value: &V,
    ) -> Result<(), TxnError> {
        self.mutate_raw(T::NAME, r.uuid(), column, "insert", value.to_datum())
    }

    /// Removes elements from a set column, or from a map column pairs (a
    /// map) or keys (a set of keys).
    pub fn delete_from<T: Table, V: ColumnValue>(
        &mut self,
        r: Ref<T>,
        column: &str,
        value: &V,
    ) -> Result<(), TxnError> {
        self.mutate_raw(T::NAME, r.uuid(), column, "delete", value.to_datum())
    }

    /// Deletes row `r`.
    pub fn delete<T: Table>(&mut self, r: Ref<T>) {
        let uuid = r.uuid();
        if self.placeholders.remove(&uuid).is_some() {
            self.ops.retain(|op| !matches!(op, Op::Insert { placeholder, .. } if *placeholder == uuid));
            return;
        }
        self.verify.entry((T::NAME.into(), uuid)).or_default();
        self.ops.push(Op::Delete { table: T::NAME.into(), uuid });
    }

    /// Adds 1 to integer column `column` of row `r` on the server (whatever
    /// its value then); the new value is [`Committed::increment`]`(n)` for
    /// the `n`th increment of the transaction.
    pub fn increment<T: Table>(&mut self, r: Ref<T>, column: &str) -> Result<(), TxnError> {
        self.column_check(T::NAME, &[column])?;
        self.verify.entry((T::NAME.into(), r.uuid())).or_default();
        self.ops.push(Op::Increment { table: T::NAME.into(), uuid: r.uuid(), column: column.into() });
        Ok(())
    }

    /// Adds a comment (the server logs it).
    pub fn comment(&mut self, text: &str) {
        self.ops.push(Op::Comment(text.into()));
    }

    /// Adds a raw RFC 7047 operation.
    pub fn raw(&mut self, op: Value) {
        self.ops.push(Op::Raw(op));
    }

    /// True if there is nothing to write or check.
    pub fn is_empty(&self) -> bool {
        self.ops.iter().all(|o| matches!(o, Op::Comment(_))) && self.verify.is_empty()
    }

    /// The wire operations.
    pub fn prepare(self) -> Prepared {
        let uuid_where = |u: Uuid| json!([["_uuid", "==", ["uuid", u.to_string()]]]);
        let mut out = Vec::new();
        let mut p = Prepared {
            db: self.db.clone(),
            ops: Vec::new(),
            inserts: Vec::new(),
            increments: Vec::new(),
            waits: BTreeSet::new(),
        };
        // Verifications first: a conflict then stops the transaction before
        // anything else runs.
        for ((table, uuid), cols) in &self.verify {
            let Some((ts, _)) = self.replica.table(table) else { continue };
            let (columns, rows) = match self.replica.row(table, uuid) {
                Some(row) => {
                    let mut cols: Vec<&str> = cols.iter().map(String::as_str).collect();
                    if cols.is_empty() {
                        cols.push("_uuid");
                    }
                    let mut o = Map::new();
                    for c in &cols {
                        if let Some(i) = ts.column(c) {
                            o.insert(c.to_string(), row.values[i].to_json());
                        }
                    }
                    (cols, vec![Value::Object(o)])
                }
                // Not in the replica: verify that it does not exist.
                None => (vec!["_uuid"], vec![]),
            };
            p.waits.insert(out.len());
            out.push(json!({"op": "wait", "timeout": 0, "table": table, "where": uuid_where(*uuid),
                             "columns": columns, "until": "==", "rows": rows}));
        }
        let row_json = |row: &[(String, Datum)]| -> Value {
            Value::Object(row.iter().map(|(c, d)| (c.clone(), d.to_json())).collect())
        };
        for op in self.ops {
            match op {
                Op::Insert { table, placeholder, row } => {
                    p.inserts.push((placeholder, out.len()));
                    out.push(json!({"op": "insert", "table": table, "row": row_json(&row),
                                    "uuid-name": self.placeholders[&placeholder]}));
                }
                Op::Update { table, uuid, row } => {
                    out.push(json!({"op": "update", "table": table, "where": uuid_where(uuid), "row": row_json(&row)}))
                }
                Op::Mutate { table, uuid, mutations } => {
                    let m: Vec<Value> = mutations.iter().map(|(c, m, d)| json!([c, m, d.to_json()])).collect();
                    out.push(json!({"op": "mutate", "table": table, "where": uuid_where(uuid), "mutations": m}));
                }
                Op::Delete { table, uuid } => {
                    out.push(json!({"op": "delete", "table": table, "where": uuid_where(uuid)}))
                }
                Op::Increment { table, uuid, column } => {
                    out.push(json!({"op": "mutate", "table": table, "where": uuid_where(uuid),
                                    "mutations": [[column, "+=", 1]]}));
                    p.increments.push((out.len(), column.clone()));
                    out.push(json!({"op": "select", "table": table, "where": uuid_where(uuid), "columns": [column]}));
                }
                Op::Wait { table, where_, columns, rows } => {
                    p.waits.insert(out.len());
                    out.push(json!({"op": "wait", "timeout": 0, "table": table, "where": where_,
                                    "columns": columns, "until": "==", "rows": rows}));
                }
                Op::Comment(c) => out.push(json!({"op": "comment", "comment": c})),
                Op::Raw(v) => out.push(v),
            }
        }
        for v in &mut out {
            name_placeholders(v, &self.placeholders);
        }
        p.ops = out;
        p
    }
}

/// Replaces `["uuid", P]` for placeholders P by `["named-uuid", NAME]`.
fn name_placeholders(v: &mut Value, names: &BTreeMap<Uuid, String>) {
    if names.is_empty() {
        return;
    }
    match v {
        Value::Array(a) => {
            if let [Value::String(k), Value::String(s)] = a.as_slice() {
                if k == "uuid" {
                    if let Some(n) = Uuid::parse(s).and_then(|u| names.get(&u)) {
                        *v = json!(["named-uuid", n]);
                    }
                    return;
                }
            }
            a.iter_mut().for_each(|x| name_placeholders(x, names));
        }
        Value::Object(o) => o.values_mut().for_each(|x| name_placeholders(x, names)),
        _ => {}
    }
}

impl Prepared {
    /// The database.
    pub fn db(&self) -> &str {
        &self.db
    }

    /// Interprets the server's reply to [`Prepared::ops`].
    pub fn outcome(&self, results: Vec<Value>) -> Result<Committed, TxnError> {
        if let Some((i, e)) = results.iter().enumerate().find(|(_, r)| r.get("error").is_some()) {
            let error = e["error"].as_str().unwrap_or("").to_string();
            let details = e.get("details").and_then(Value::as_str).unwrap_or("").to_string();
            if error == "timed out" && self.waits.contains(&i) {
                return Err(TxnError::TryAgain);
            }
            return Err(TxnError::Failed { index: i, error, details });
        }
        if results.len() < self.ops.len() {
            return Err(TxnError::Failed {
                index: results.len(),
                error: "protocol error".into(),
                details: format!("{} results for {} operations", results.len(), self.ops.len()),
            });
        }
        let mut c = Committed::default();
        for (placeholder, i) in &self.inserts {
            if let Some(u) = results[*i]["uuid"][1].as_str().and_then(Uuid::parse) {
                c.inserted.insert(*placeholder, u);
            }
        }
        for (i, col) in &self.increments {
            c.increments.push(results[*i]["rows"][0][col].as_i64().unwrap_or_default());
        }
        c.results = results;
        Ok(c)
    }
}
