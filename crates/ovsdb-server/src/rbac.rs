//! Role-based access control (ovsdb-server(7) "4.1.3 Transact", ovn-sb(5)
//! RBAC_Role and RBAC_Permission): the writes a client of a remote with a
//! role may make, checked operation by operation during `transact`.
//!
//! The role's row in `RBAC_Role` maps table names to permission rows:
//! `authorization` (columns, or `column:key` of map columns, whose value
//! must equal the client's id — the CN of its certificate; `""` lets every
//! client in), `insert_delete` (authorized rows may be inserted and
//! deleted) and `update` (the columns, or `column:key` of map columns,
//! authorized rows may have changed by `update` and `mutate`). A table
//! without a permission is read-only. Errors read as ovsdb-server's.

use ovsdb::schema::TableSchema;
use ovsdb::{Atom, Database, OvsdbError, Row, Write};

/// The tables that hold the roles, if the database has them.
pub fn enabled(db: &Database) -> bool {
    db.schema().table("RBAC_Role").is_some()
}

/// One permission row, read out of the database.
#[derive(Debug, Clone, Default)]
struct Permission {
    authorization: Vec<String>,
    insert_delete: bool,
    update: Vec<String>,
}

/// The access rules of one client: its role and id, against a database.
pub struct Rbac<'a> {
    db: &'a Database,
    role: &'a str,
    id: Option<&'a str>,
}

impl<'a> Rbac<'a> {
    /// Rules for the client `id` (None: it has no certificate) of a remote
    /// with `role`.
    pub fn new(db: &'a Database, role: &'a str, id: Option<&'a str>) -> Rbac<'a> {
        Rbac { db, role, id }
    }

    fn permission(&self, table: &str) -> Option<Permission> {
        let (rt, rts) = self.db.schema().table("RBAC_Role")?;
        let (name_c, perms_c) = (rts.column("name")?, rts.column("permissions")?);
        let role = self
            .db
            .table(rt)
            .rows
            .values()
            .find(|r| r.get(name_c).first().and_then(Atom::as_str) == Some(self.role))?;
        let perm_table = rts.columns[perms_c].type_.value.as_ref()?.ref_table.as_deref()?;
        let uuid = role.get(perms_c).get(&Atom::string(table))?.as_uuid()?;
        let (pt, pts) = self.db.schema().table(perm_table)?;
        let row = self.db.table(pt).get(&uuid)?;
        let strings = |col: &str| -> Vec<String> {
            pts.column(col)
                .map(|c| row.get(c).keys().iter().filter_map(Atom::as_str).map(str::to_string).collect())
                .unwrap_or_default()
        };
        let insert_delete =
            pts.column("insert_delete").and_then(|c| row.get(c).first().cloned()) == Some(Atom::Boolean(true));
        Some(Permission { authorization: strings("authorization"), insert_delete, update: strings("update") })
    }

    fn refused(&self, op: Write, table: &str) -> OvsdbError {
        let what = match op {
            Write::Insert => format!("row insertion into table \"{table}\""),
            Write::Delete => format!("row deletion from table \"{table}\""),
            Write::Update => format!("modification of table \"{table}\""),
            Write::Mutate => format!("mutate operation on table \"{table}\""),
        };
        // A client without a certificate prints as ovsdb-server prints it.
        let id = self.id.unwrap_or("(null)");
        OvsdbError::new(
            "permission error",
            format!("RBAC rules for client \"{id}\" role \"{}\" prohibit {what}.", self.role),
        )
    }

    /// Whether the client's id matches one of the row's authorization
    /// columns (or `column:key` map entries).
    fn authorized(&self, p: &Permission, ts: &TableSchema, row: &Row) -> bool {
        let Some(id) = self.id else { return false };
        p.authorization.iter().any(|a| {
            if a.is_empty() {
                return true;
            }
            let (col, key) = match a.split_once(':') {
                Some((c, k)) => (c, Some(k)),
                None => (a.as_str(), None),
            };
            let Some(c) = ts.column(col) else { return false };
            let d = row.get(c);
            match key {
                Some(k) => d.is_map() && d.get(&Atom::string(k)).and_then(Atom::as_str) == Some(id),
                None => !d.is_map() && d.keys().iter().any(|x| x.as_str() == Some(id)),
            }
        })
    }

    /// Whether `update` allows changing column `c` from `old` to `new`: the
    /// column is listed, or it is a map and every key whose value changed is
    /// listed as `column:key`.
    fn updatable(p: &Permission, ts: &TableSchema, c: usize, old: &Row, new: &Row) -> bool {
        let name = &ts.columns[c].name;
        if p.update.iter().any(|u| u == name) {
            return true;
        }
        let keys: Vec<&str> =
            p.update.iter().filter_map(|u| u.strip_prefix(name.as_str())?.strip_prefix(':')).collect();
        let (o, n) = (old.get(c), new.get(c));
        if keys.is_empty() || !o.is_map() {
            return false;
        }
        let changed = |k: &Atom| o.get(k) != n.get(k);
        o.keys().iter().chain(n.keys()).filter(|k| changed(k)).all(|k| k.as_str().is_some_and(|k| keys.contains(&k)))
    }
}

impl ovsdb::Access for Rbac<'_> {
    fn table(&self, op: Write, ts: &TableSchema) -> Result<(), OvsdbError> {
        match self.permission(&ts.name) {
            Some(_) => Ok(()),
            None => Err(self.refused(op, &ts.name)),
        }
    }

    fn row(
        &self,
        op: Write,
        ts: &TableSchema,
        old: Option<&Row>,
        new: Option<&Row>,
        columns: &[usize],
    ) -> Result<(), OvsdbError> {
        let p = self.permission(&ts.name).ok_or_else(|| self.refused(op, &ts.name))?;
        let ok = match (op, old, new) {
            (Write::Insert, _, Some(row)) | (Write::Delete, Some(row), _) => {
                p.insert_delete && self.authorized(&p, ts, row)
            }
            (Write::Update | Write::Mutate, Some(old), Some(new)) => {
                self.authorized(&p, ts, old) && columns.iter().all(|&c| Self::updatable(&p, ts, c, old, new))
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(self.refused(op, &ts.name))
        }
    }
}
