//! Configuration the server reads from the databases it serves (pure):
//! `db:DB,TABLE,COLUMN` remotes (strings, or references to rows of a
//! Connection-like table with target, role, read_only, inactivity_probe),
//! PKI file names given as `db:...`, and the status written back to those
//! Connection rows.

use std::time::Duration;

use ovsdb::schema::{AtomicType, TableSchema};
use ovsdb::{Atom, Database, Datum, Uuid};
use serde_json::{json, Value};

/// A `db:DB,TABLE,COLUMN` reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DbRef {
    /// Database name.
    pub db: String,
    /// Table name.
    pub table: String,
    /// Column name.
    pub column: String,
}

impl DbRef {
    /// Parses `db:DB,TABLE,COLUMN`; None if `s` does not start with `db:`.
    pub fn parse(s: &str) -> Option<Result<DbRef, String>> {
        let rest = s.strip_prefix("db:")?;
        let parts: Vec<&str> = rest.split(',').collect();
        Some(match parts.as_slice() {
            [db, table, column] if !db.is_empty() && !table.is_empty() && !column.is_empty() => {
                Ok(DbRef { db: db.to_string(), table: table.to_string(), column: column.to_string() })
            }
            _ => Err(format!("{s}: expected db:DATABASE,TABLE,COLUMN")),
        })
    }
}

impl std::fmt::Display for DbRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "db:{},{},{}", self.db, self.table, self.column)
    }
}

/// One remote found through a `db:` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbRemote {
    /// The connection method (`ptcp:6641`, `pssl:6642:127.0.0.1`...).
    pub target: String,
    /// RBAC role of its clients (empty: none).
    pub role: Option<String>,
    /// Only read-only transactions.
    pub read_only: bool,
    /// `inactivity_probe` if set: `Some(None)` for 0 (never probe).
    pub probe: Option<Option<Duration>>,
    /// `max_backoff` if set: the longest wait between connection attempts
    /// of an active remote.
    pub max_backoff: Option<Duration>,
    /// The Connection row, for status: (table, row).
    pub row: Option<(String, Uuid)>,
}

fn column<'a>(db: &'a Database, table: &str, col: &str) -> Result<(usize, usize, &'a TableSchema), String> {
    let (t, ts) =
        db.schema().table(table).ok_or_else(|| format!("no table {table} in database {}", db.schema().name))?;
    let c = ts.column(col).ok_or_else(|| format!("no column {col} in table {table}"))?;
    Ok((t, c, ts))
}

/// The remotes a `db:` reference names (in row order, then value order).
pub fn remotes(db: &Database, r: &DbRef) -> Result<Vec<DbRemote>, String> {
    let (t, c, ts) = column(db, &r.table, &r.column)?;
    let ty = &ts.columns[c].type_;
    if ty.value.is_some() {
        return Err(format!("{r}: column must be a string, a uuid or a set of them, not a map"));
    }
    let mut out = Vec::new();
    let mut rows: Vec<_> = db.table(t).rows.values().collect();
    rows.sort_by_key(|row| row.uuid());
    match (ty.key.atomic, &ty.key.ref_table) {
        (AtomicType::String, _) => {
            for row in rows {
                for a in row.get(c).keys() {
                    if let Some(s) = a.as_str().filter(|s| !s.is_empty()) {
                        out.push(DbRemote {
                            target: s.to_string(),
                            role: None,
                            read_only: false,
                            probe: None,
                            max_backoff: None,
                            row: None,
                        });
                    }
                }
            }
        }
        (AtomicType::Uuid, Some(ref_table)) => {
            let (rt, rts) = db.schema().table(ref_table).ok_or_else(|| format!("{r}: no table {ref_table}"))?;
            let get = |row: &ovsdb::Row, name: &str| rts.column(name).map(|i| row.get(i).clone());
            for row in rows {
                for u in row.get(c).keys().iter().filter_map(Atom::as_uuid) {
                    let Some(conn) = db.table(rt).get(&u) else { continue };
                    let Some(target) = get(conn, "target").and_then(|d| first_str(&d)) else { continue };
                    if target.is_empty() {
                        continue;
                    }
                    let role = get(conn, "role").and_then(|d| first_str(&d)).filter(|s| !s.is_empty());
                    let read_only =
                        get(conn, "read_only").and_then(|d| d.first().cloned()) == Some(Atom::Boolean(true));
                    let probe = get(conn, "inactivity_probe")
                        .and_then(|d| d.first().and_then(Atom::as_integer))
                        .map(|ms| (ms > 0).then(|| Duration::from_millis(ms as u64)));
                    let max_backoff = get(conn, "max_backoff")
                        .and_then(|d| d.first().and_then(Atom::as_integer))
                        .filter(|&ms| ms > 0)
                        .map(|ms| Duration::from_millis(ms as u64));
                    let row = Some((ref_table.clone(), u));
                    out.push(DbRemote { target, role, read_only, probe, max_backoff, row });
                }
            }
        }
        _ => return Err(format!("{r}: column must be a string, a uuid or a set of them")),
    }
    Ok(out)
}

fn first_str(d: &Datum) -> Option<String> {
    d.first().and_then(Atom::as_str).map(str::to_string)
}

/// The tables what `r` names is read from: its own, and the table its
/// column refers to (Connection rows, for remotes). Nothing if the database
/// has no such table or column: then nothing there can change either.
pub fn tables_read(db: &Database, r: &DbRef) -> Vec<usize> {
    let Ok((t, c, ts)) = column(db, &r.table, &r.column) else { return Vec::new() };
    let mut out = vec![t];
    let ty = &ts.columns[c].type_;
    for rt in [&ty.key.ref_table, &ty.value.as_ref().and_then(|v| v.ref_table.clone())].into_iter().flatten() {
        if let Some((i, _)) = db.schema().table(rt) {
            out.push(i);
        }
    }
    out
}

/// A PKI setting read from the database: the first nonempty string in the
/// column, over all the table's rows (ovsdb-server(1)). None if there is
/// none yet.
pub fn setting(db: &Database, r: &DbRef) -> Result<Option<String>, String> {
    let (t, c, ts) = column(db, &r.table, &r.column)?;
    if ts.columns[c].type_.key.atomic != AtomicType::String || ts.columns[c].type_.value.is_some() {
        return Err(format!("{r}: column must be a string or a set of strings"));
    }
    let mut rows: Vec<_> = db.table(t).rows.values().collect();
    rows.sort_by_key(|row| row.uuid());
    Ok(rows
        .iter()
        .flat_map(|row| row.get(c).keys())
        .filter_map(Atom::as_str)
        .find(|s| !s.is_empty())
        .map(str::to_string))
}

/// What ovsdb-server reports about a listening remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerStatus {
    /// The TCP port bound (None for unix sockets, or not listening).
    pub bound_port: Option<u16>,
    /// Sessions connected through it.
    pub sessions: usize,
}

/// What ovsdb-server reports about an outbound remote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActiveStatus {
    /// Connected now.
    pub connected: bool,
    /// `BACKOFF`, `CONNECTING`, `ACTIVE` or `IDLE` (a probe is out).
    pub state: &'static str,
    /// Whole seconds since the connection was last made, if ever.
    pub sec_since_connect: Option<u64>,
    /// Whole seconds since it was last lost, if ever.
    pub sec_since_disconnect: Option<u64>,
    /// The session's locks.
    pub locks: crate::core::SessionLocks,
}

/// The status of a remote configured by a Connection row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteStatus {
    /// A remote the server listens on.
    Listening(ListenerStatus),
    /// A remote the server connects to.
    Active(ActiveStatus),
}

impl RemoteStatus {
    fn connected(&self) -> bool {
        match self {
            RemoteStatus::Listening(l) => l.sessions > 0,
            RemoteStatus::Active(a) => a.connected,
        }
    }

    /// The `status` column's key-value pairs (ovn-nb(5), Connection).
    fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        match self {
            RemoteStatus::Listening(l) => {
                // As ovsdb-server 3.1 reports a passive remote: the two
                // "since" values are always 0 there, and no locks.
                pairs.push(("sec_since_connect".into(), "0".into()));
                pairs.push(("sec_since_disconnect".into(), "0".into()));
                if let Some(p) = l.bound_port {
                    pairs.push(("bound_port".into(), p.to_string()));
                }
                if l.sessions > 1 {
                    pairs.push(("n_connections".into(), l.sessions.to_string()));
                }
            }
            RemoteStatus::Active(a) => {
                pairs.push(("state".into(), a.state.into()));
                if let Some(t) = a.sec_since_connect {
                    pairs.push(("sec_since_connect".into(), t.to_string()));
                }
                if let Some(t) = a.sec_since_disconnect {
                    pairs.push(("sec_since_disconnect".into(), t.to_string()));
                }
                for (key, names) in
                    [("locks_held", &a.locks.held), ("locks_waiting", &a.locks.waiting), ("locks_lost", &a.locks.lost)]
                {
                    if !names.is_empty() {
                        pairs.push((key.into(), names.join(" ")));
                    }
                }
            }
        }
        pairs
    }
}

/// The `update` operation that writes `status` into a Connection row, or
/// None if the row already says so (or is gone, or lacks the columns).
pub fn status_op(db: &Database, table: &str, row: Uuid, status: &RemoteStatus) -> Option<Value> {
    let (t, ts) = db.schema().table(table)?;
    let current = db.table(t).get(&row)?;
    let mut update = serde_json::Map::new();
    if let Some(c) = ts.column("is_connected") {
        let want = Datum::scalar(Atom::Boolean(status.connected()));
        if ts.columns[c].type_.key.atomic == AtomicType::Boolean && *current.get(c) != want {
            update.insert("is_connected".into(), want.to_json());
        }
    }
    if let Some(c) = ts.column("status") {
        let ty = &ts.columns[c].type_;
        let strings =
            ty.key.atomic == AtomicType::String && ty.value.as_ref().is_some_and(|v| v.atomic == AtomicType::String);
        let pairs = status.pairs().iter().map(|(k, v)| (Atom::string(k), Atom::string(v))).collect();
        let want = Datum::map(pairs);
        if strings && *current.get(c) != want {
            update.insert("status".into(), want.to_json());
        }
    }
    if update.is_empty() {
        return None;
    }
    Some(json!({"op": "update", "table": table, "where": [["_uuid", "==", ["uuid", row.to_string()]]], "row": update}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn sb() -> Database {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/ovn-sb.ovsschema")).unwrap();
        let schema = ovsdb::DatabaseSchema::from_json(&serde_json::from_str(&text).unwrap()).unwrap();
        Database::new(Arc::new(schema))
    }

    fn ok(db: &mut Database, ops: Value) {
        let (r, cs) = db.transact(ops.as_array().unwrap());
        assert!(cs.is_some() || r.iter().all(|x| x.get("error").is_none()), "{r:?}");
    }

    #[test]
    fn db_refs_parse() {
        let r = DbRef::parse("db:OVN_Southbound,SB_Global,connections").unwrap().unwrap();
        assert_eq!(r.to_string(), "db:OVN_Southbound,SB_Global,connections");
        assert!(DbRef::parse("db:a,b").unwrap().is_err());
        assert!(DbRef::parse("ptcp:1").is_none());
    }

    #[test]
    fn connection_rows_become_remotes() {
        let mut db = sb();
        ok(
            &mut db,
            json!([
                {"op": "insert", "table": "Connection", "uuid-name": "c1",
                 "row": {"target": "pssl:6642", "role": "ovn-controller", "inactivity_probe": 0}},
                {"op": "insert", "table": "Connection", "uuid-name": "c2",
                 "row": {"target": "ptcp:6643:127.0.0.1", "read_only": true, "inactivity_probe": 30000}},
                {"op": "insert", "table": "SSL", "uuid-name": "s",
                 "row": {"private_key": "/k.pem", "certificate": "/c.pem", "ca_cert": ""}},
                {"op": "insert", "table": "SB_Global",
                 "row": {"connections": ["set", [["named-uuid", "c1"], ["named-uuid", "c2"]]], "ssl": ["named-uuid", "s"]}}
            ]),
        );
        let r = DbRef::parse("db:OVN_Southbound,SB_Global,connections").unwrap().unwrap();
        let mut got = remotes(&db, &r).unwrap();
        got.sort_by(|a, b| a.target.cmp(&b.target));
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].target.as_str(), got[0].role.as_deref(), got[0].probe),
            ("pssl:6642", Some("ovn-controller"), Some(None))
        );
        assert_eq!(
            (got[1].target.as_str(), got[1].read_only, got[1].probe),
            ("ptcp:6643:127.0.0.1", true, Some(Some(Duration::from_secs(30))))
        );
        let key = |c: &str| {
            setting(&db, &DbRef { db: "OVN_Southbound".into(), table: "SSL".into(), column: c.into() }).unwrap()
        };
        assert_eq!(key("private_key").as_deref(), Some("/k.pem"));
        assert_eq!(key("ca_cert"), None);
        // Errors name the reference.
        let bad = DbRef { db: "OVN_Southbound".into(), table: "SB_Global".into(), column: "options".into() };
        assert!(remotes(&db, &bad).unwrap_err().contains("map"));
        let (row_table, u) = got[0].row.clone().unwrap();
        let st = RemoteStatus::Listening(ListenerStatus { bound_port: Some(6642), sessions: 2 });
        let op = status_op(&db, &row_table, u, &st).unwrap();
        ok(&mut db, json!([op]));
        assert_eq!(status_op(&db, &row_table, u, &st), None, "unchanged status is not written again");
        let locks =
            crate::core::SessionLocks { held: vec!["a".into(), "b".into()], waiting: vec![], lost: vec!["c".into()] };
        let st = RemoteStatus::Active(ActiveStatus {
            connected: true,
            state: "ACTIVE",
            sec_since_connect: Some(3),
            sec_since_disconnect: None,
            locks,
        });
        let op = status_op(&db, &row_table, u, &st).unwrap();
        assert_eq!(op["row"].get("is_connected"), None, "already true: not written again");
        let mut pairs = op["row"]["status"][1].as_array().unwrap().clone();
        pairs.sort_by_key(|p| p[0].as_str().unwrap().to_string());
        assert_eq!(
            pairs,
            vec![
                json!(["locks_held", "a b"]),
                json!(["locks_lost", "c"]),
                json!(["sec_since_connect", "3"]),
                json!(["state", "ACTIVE"])
            ]
        );
    }
}
