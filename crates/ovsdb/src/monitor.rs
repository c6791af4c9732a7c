//! Monitors: what a client asked to watch (`monitor`, `monitor_cond`,
//! `monitor_cond_since`), and the `<table-updates>` / `<table-updates2>`
//! JSON the server sends for the initial contents and for each committed
//! [`ChangeSet`] (RFC 7047 §4.1.5-6, ovsdb-server(7) §4.1.12-16).
//!
//! Pure: the server keeps one [`Monitor`] per client monitor and feeds it
//! change sets; identical monitors can share the serialized output.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::atom::Atom;
use crate::condition::{Clause, Condition, Function};
use crate::database::{ChangeSet, Database};
use crate::datum::Datum;
use crate::error::OvsdbError;
use crate::row::Row;
use crate::schema::{DatabaseSchema, TableSchema, COL_VERSION};

/// Which notification format a monitor speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `monitor`: `update` with `old`/`new` rows.
    V1,
    /// `monitor_cond`: `update2` with `initial`/`insert`/`delete`/`modify`.
    V2,
    /// `monitor_cond_since`: `update3`, same rows as V2.
    V3,
}

/// Which kinds of change are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Select {
    /// Initial contents.
    pub initial: bool,
    /// Inserted rows (and, with conditions, rows that start matching).
    pub insert: bool,
    /// Deleted rows (and rows that stop matching).
    pub delete: bool,
    /// Modified rows.
    pub modify: bool,
}

impl Select {
    const ALL: Select = Select { initial: true, insert: true, delete: true, modify: true };
    const NONE: Select = Select { initial: false, insert: false, delete: false, modify: false };

    fn union(self, o: Select) -> Select {
        Select {
            initial: self.initial || o.initial,
            insert: self.insert || o.insert,
            delete: self.delete || o.delete,
            modify: self.modify || o.modify,
        }
    }
}

/// A condition of a monitor: the rows it covers.
#[derive(Debug, Clone, PartialEq, Default)]
enum Filter {
    /// Every row.
    #[default]
    All,
    /// Rows matching any of these conditions.
    Any(Clauses),
}

/// A disjunction of conditions, indexed: ovn-controller watches hundreds
/// of `datapath == <uuid>` at once, so single `column == value` clauses are
/// looked up in a hash set per column instead of being tried one by one.
#[derive(Debug, Clone, Default)]
struct Clauses {
    /// Every condition, in the order given.
    all: Vec<Condition>,
    /// For the conditions that are one `==` clause with a one-atom value on
    /// a column that is not a map: column -> the values.
    eq: Vec<(usize, HashSet<Atom>)>,
    /// The other conditions, tried in turn.
    rest: Vec<Condition>,
}

impl PartialEq for Clauses {
    fn eq(&self, o: &Clauses) -> bool {
        self.all == o.all
    }
}

impl Clauses {
    fn push(&mut self, ts: &TableSchema, cond: Condition) {
        match cond.clauses.as_slice() {
            [Clause { column, function: Function::Eq, arg }]
                if arg.len() == 1 && ts.columns[*column].type_.value.is_none() =>
            {
                let atom = arg.keys()[0].clone();
                match self.eq.iter_mut().find(|(c, _)| c == column) {
                    Some((_, set)) => {
                        set.insert(atom);
                    }
                    None => self.eq.push((*column, HashSet::from([atom]))),
                }
            }
            _ => self.rest.push(cond.clone()),
        }
        self.all.push(cond);
    }

    fn matches(&self, ts: &TableSchema, row: &Row) -> bool {
        // `column == [a]` holds exactly when the column holds just `a`.
        let by_eq = self.eq.iter().any(|(c, set)| match row.values[*c].keys() {
            [a] => set.contains(a),
            _ => false,
        });
        by_eq || self.rest.iter().any(|c| c.matches(ts, row))
    }
}

impl Filter {
    fn matches(&self, ts: &TableSchema, row: &Row) -> bool {
        match self {
            Filter::All => true,
            Filter::Any(cs) => cs.matches(ts, row),
        }
    }

    /// Adds one request's `where`. Unlike a transaction's `where`, a
    /// monitor's is a disjunction (ovsdb-server(7) §4.1.12: a row is
    /// watched if it matches one of the conditions); `true` stands for
    /// every row, `false` for none; absent or empty means every row.
    /// Requests are OR-ed too.
    fn add(&mut self, ts: &TableSchema, json: Option<&Value>) -> Result<(), OvsdbError> {
        let arr = match json {
            None => &[][..],
            Some(Value::Array(a)) => a.as_slice(),
            Some(_) => return Err(OvsdbError::syntax("\"where\" must be an array")),
        };
        if arr.is_empty() {
            *self = Filter::All;
            return Ok(());
        }
        for c in arr {
            match c {
                Value::Bool(true) => *self = Filter::All,
                Value::Bool(false) => {}
                c => {
                    let cond = Condition::from_json(ts, &Value::Array(vec![c.clone()]), None)
                        .map_err(|e| if e.syntax.is_none() { e.at(c) } else { e })?;
                    if let Filter::Any(v) = self {
                        v.push(ts, cond);
                    }
                }
            }
        }
        Ok(())
    }
}

/// What one monitor watches in one table.
#[derive(Debug, Clone, PartialEq)]
struct TableSpec {
    table: usize,
    /// Each watched column with the kinds of change its request selected
    /// (a request's `select` applies to its own columns, as upstream).
    columns: Vec<(usize, Select)>,
    /// The union of the columns' selections.
    select: Select,
    filter: Filter,
}

/// A kind of change, to pick the columns that report it.
#[derive(Clone, Copy)]
enum Kind {
    Initial,
    Insert,
    Delete,
    Modify,
}

impl TableSpec {
    /// The columns whose request selected `kind`.
    fn cols(&self, kind: Kind) -> Vec<usize> {
        self.columns
            .iter()
            .filter(|(_, s)| match kind {
                Kind::Initial => s.initial,
                Kind::Insert => s.insert,
                Kind::Delete => s.delete,
                Kind::Modify => s.modify,
            })
            .map(|(c, _)| *c)
            .collect()
    }
}

/// One client monitor.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitor {
    /// Notification format.
    pub version: Version,
    tables: Vec<TableSpec>,
}

impl Monitor {
    /// Parses `<monitor-requests>` (V1) or `<monitor-cond-requests>` (V2/V3).
    /// Errors are worded as ovsdb-server words them.
    pub fn from_json(schema: &DatabaseSchema, version: Version, requests: &Value) -> Result<Monitor, OvsdbError> {
        let obj =
            requests.as_object().ok_or_else(|| OvsdbError::syntax("monitor-requests must be object").at(requests))?;
        let mut tables = Vec::with_capacity(obj.len());
        for (tname, reqs) in obj {
            let (t, ts) =
                schema.table(tname).ok_or_else(|| OvsdbError::syntax(format!("no table named {tname}")))?;
            let reqs: Vec<&Value> = match reqs {
                Value::Array(a) => a.iter().collect(),
                v => vec![v],
            };
            // An empty array watches nothing in the table (as upstream).
            let mut spec = TableSpec {
                table: t,
                columns: Vec::new(),
                select: Select::NONE,
                filter: Filter::Any(Clauses::default()),
            };
            let failed = |what: String| OvsdbError::syntax(format!("Parsing table {tname} failed: {what}"));
            for r in reqs {
                let first_col = spec.columns.len();
                let o = r.as_object().ok_or_else(|| failed("Object expected.".into()))?;
                for k in o.keys() {
                    let ok = matches!(k.as_str(), "columns" | "select") || (k == "where" && version != Version::V1);
                    if !ok {
                        return Err(failed(format!("Member '{k}' is present but not allowed here.")).at(r));
                    }
                }
                match o.get("columns") {
                    // Every column but _uuid (so _version too, as upstream).
                    None => {
                        for c in 1..ts.columns.len() {
                            if spec.columns.iter().any(|(x, _)| *x == c) {
                                return Err(OvsdbError::syntax("column name mentioned more than once")
                                    .at(&Value::from(ts.columns[c].name.clone())));
                            }
                            spec.columns.push((c, Select::NONE));
                        }
                    }
                    Some(cols_json @ Value::Array(cols)) => {
                        for c in cols {
                            let name = c
                                .as_str()
                                .ok_or_else(|| OvsdbError::syntax("array of column names expected").at(cols_json))?;
                            let ci = ts.column(name).ok_or_else(|| {
                                OvsdbError::syntax(format!("{name} is not a valid column name")).at(cols_json)
                            })?;
                            if spec.columns.iter().any(|(x, _)| *x == ci) {
                                return Err(OvsdbError::syntax("column name mentioned more than once").at(cols_json));
                            }
                            spec.columns.push((ci, Select::NONE));
                        }
                    }
                    Some(_) => return Err(failed("Type mismatch for member 'columns'.".into()).at(r)),
                }
                let select = match o.get("select") {
                    None => Select::ALL,
                    Some(sj @ Value::Object(s)) => {
                        let flag = |n: &str| -> Result<bool, OvsdbError> {
                            match s.get(n) {
                                None => Ok(true),
                                Some(Value::Bool(b)) => Ok(*b),
                                Some(_) => Err(OvsdbError::syntax(format!(
                                    "Parsing table {tname} select failed: Type mismatch for member '{n}'."
                                ))
                                .at(sj)),
                            }
                        };
                        Select { initial: flag("initial")?, insert: flag("insert")?, delete: flag("delete")?, modify: flag("modify")? }
                    }
                    Some(_) => return Err(failed("Type mismatch for member 'select'.".into()).at(r)),
                };
                if o.get("where").is_some_and(|w| !w.is_array()) {
                    return Err(failed("Type mismatch for member 'where'.".into()).at(r));
                }
                for c in &mut spec.columns[first_col..] {
                    c.1 = select;
                }
                spec.select = spec.select.union(select);
                spec.filter.add(ts, o.get("where"))?;
            }
            spec.columns.sort_unstable_by_key(|(c, _)| *c);
            tables.push(spec);
        }
        tables.sort_by_key(|s| s.table);
        Ok(Monitor { version, tables })
    }

    /// The initial contents: `<table-updates>` or `<table-updates2>`.
    pub fn initial(&self, db: &Database) -> Value {
        let schema = db.schema();
        let mut out = Map::new();
        for spec in &self.tables {
            if !spec.select.initial {
                continue;
            }
            let ts = &schema.tables[spec.table];
            let mut rows: Vec<&Row> =
                db.table(spec.table).rows.values().map(|r| &**r).filter(|r| spec.filter.matches(ts, r)).collect();
            if rows.is_empty() {
                continue;
            }
            rows.sort_by_key(|r| r.uuid());
            let cols = spec.cols(Kind::Initial);
            let mut t = Map::new();
            for r in rows {
                let v = match self.version {
                    Version::V1 => single("new", row_json(ts, r, &cols, false)),
                    _ => single("initial", row_json(ts, r, &cols, true)),
                };
                t.insert(r.uuid().to_string(), v);
            }
            out.insert(ts.name.clone(), Value::Object(t));
        }
        Value::Object(out)
    }

    /// Whether the monitor watches table `t`.
    pub fn watches(&self, t: usize) -> bool {
        self.tables.binary_search_by_key(&t, |s| s.table).is_ok()
    }

    /// The kinds of change reported for table `t` (the union of its
    /// requests' `select`), or `None` if the monitor does not watch it.
    pub fn select(&self, t: usize) -> Option<Select> {
        self.tables.binary_search_by_key(&t, |s| s.table).ok().map(|i| self.tables[i].select)
    }

    /// Whether `row` of table `t` is within the monitor's conditions (false
    /// if the table is not watched).
    pub fn covers(&self, schema: &DatabaseSchema, t: usize, row: &Row) -> bool {
        let Ok(i) = self.tables.binary_search_by_key(&t, |s| s.table) else { return false };
        self.tables[i].filter.matches(&schema.tables[t], row)
    }

    /// The update for a committed change set, or `None` if nothing it
    /// watches changed.
    pub fn update(&self, schema: &DatabaseSchema, cs: &ChangeSet) -> Option<Value> {
        let mut out = Map::new();
        let mut specs = self.tables.iter().peekable();
        for (t, changes) in &cs.tables {
            while specs.peek().is_some_and(|s| s.table < *t) {
                specs.next();
            }
            let Some(spec) = specs.peek().filter(|s| s.table == *t) else { continue };
            let ts = &schema.tables[*t];
            let (insert_cols, delete_cols, modify_cols) =
                (spec.cols(Kind::Insert), spec.cols(Kind::Delete), spec.cols(Kind::Modify));
            let mut rows = Map::new();
            for ch in changes {
                let old = ch.old.as_deref().filter(|r| spec.filter.matches(ts, r));
                let new = ch.new.as_deref().filter(|r| spec.filter.matches(ts, r));
                let v = match (old, new) {
                    (None, None) => continue,
                    (None, Some(n)) => {
                        if !spec.select.insert {
                            continue;
                        }
                        match self.version {
                            Version::V1 => single("new", row_json(ts, n, &insert_cols, false)),
                            _ => single("insert", row_json(ts, n, &insert_cols, true)),
                        }
                    }
                    (Some(o), None) => {
                        if !spec.select.delete {
                            continue;
                        }
                        match self.version {
                            Version::V1 => single("old", row_json(ts, o, &delete_cols, false)),
                            _ => single("delete", Value::Null),
                        }
                    }
                    (Some(o), Some(n)) => {
                        if !spec.select.modify {
                            continue;
                        }
                        let changed: Vec<usize> =
                            modify_cols.iter().copied().filter(|&c| o.values[c] != n.values[c]).collect();
                        if changed.is_empty() {
                            continue;
                        }
                        match self.version {
                            Version::V1 => {
                                let mut m = Map::new();
                                m.insert("old".into(), row_json(ts, o, &changed, false));
                                m.insert("new".into(), row_json(ts, n, &modify_cols, false));
                                Value::Object(m)
                            }
                            _ => {
                                let mut diff = Map::new();
                                for c in changed {
                                    let col = &ts.columns[c];
                                    let v = if col.type_.max > 1 {
                                        o.values[c].diff(&n.values[c]).to_json()
                                    } else {
                                        n.values[c].to_json()
                                    };
                                    diff.insert(col.name.clone(), v);
                                }
                                single("modify", Value::Object(diff))
                            }
                        }
                    }
                };
                rows.insert(ch.uuid.to_string(), v);
            }
            if !rows.is_empty() {
                out.insert(ts.name.clone(), Value::Object(rows));
            }
        }
        if out.is_empty() {
            None
        } else {
            Some(Value::Object(out))
        }
    }

    /// Applies `monitor_cond_change`'s `<monitor-cond-update-requests>`:
    /// replaces the conditions of the tables named, and returns the
    /// `<table-updates2>` that brings the client from the old view to the new
    /// one (rows now covered as `insert`, rows no longer covered as `delete`).
    pub fn change_conditions(&mut self, db: &Database, requests: &Value) -> Result<Option<Value>, OvsdbError> {
        if self.version == Version::V1 {
            return Err(OvsdbError::syntax("monitor_cond_change applies only to conditional monitors"));
        }
        let schema = db.schema().clone();
        let obj = requests
            .as_object()
            .ok_or_else(|| OvsdbError::syntax("monitor-cond-change-requests must be object"))?;
        let mut new_specs = self.tables.clone();
        for (tname, reqs) in obj {
            let (t, ts) =
                schema.table(tname).ok_or_else(|| OvsdbError::syntax(format!("no table named {tname}")))?;
            let spec = new_specs
                .iter_mut()
                .find(|s| s.table == t)
                .ok_or_else(|| OvsdbError::syntax(format!("no table named {tname} in monitor session")))?;
            let Value::Array(reqs) = reqs else {
                return Err(OvsdbError::syntax(format!("table {tname} no monitor-cond-change JSON array")));
            };
            let mut filter = Filter::Any(Clauses::default());
            for r in reqs {
                let o = r.as_object().ok_or_else(|| OvsdbError::syntax("Object expected.").at(r))?;
                if o.contains_key("columns") {
                    return Err(OvsdbError::syntax("changing columns is unsupported").at(r));
                }
                filter.add(ts, o.get("where"))?;
            }
            spec.filter = filter;
        }
        let mut out = Map::new();
        for (old, new) in self.tables.iter().zip(&new_specs) {
            if old.filter == new.filter {
                continue;
            }
            let ts = &schema.tables[old.table];
            let mut rows: Vec<(&Row, bool, bool)> = db
                .table(old.table)
                .rows
                .values()
                .map(|r| (&**r, old.filter.matches(ts, r), new.filter.matches(ts, r)))
                .filter(|(_, a, b)| a != b)
                .collect();
            rows.sort_by_key(|(r, _, _)| r.uuid());
            let mut t = Map::new();
            for (r, was, is) in rows {
                if is && !was && new.select.insert {
                    t.insert(r.uuid().to_string(), single("insert", row_json(ts, r, &new.cols(Kind::Insert), true)));
                } else if was && !is && new.select.delete {
                    t.insert(r.uuid().to_string(), single("delete", Value::Null));
                }
            }
            if !t.is_empty() {
                out.insert(ts.name.clone(), Value::Object(t));
            }
        }
        self.tables = new_specs;
        Ok(if out.is_empty() { None } else { Some(Value::Object(out)) })
    }
}

fn single(k: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert(k.into(), v);
    Value::Object(m)
}

/// A row's monitored columns; `skip_default` omits columns at their default
/// value (update2's initial and insert rows).
fn row_json(ts: &TableSchema, row: &Row, columns: &[usize], skip_default: bool) -> Value {
    let mut m = Map::new();
    for &c in columns {
        let col = &ts.columns[c];
        let d = &row.values[c];
        if skip_default && c != COL_VERSION && *d == Datum::default_for(&col.type_) {
            continue;
        }
        m.insert(col.name.clone(), d.to_json());
    }
    Value::Object(m)
}
