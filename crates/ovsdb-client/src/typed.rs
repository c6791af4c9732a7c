//! Typed rows: Rust structs for the tables of a known schema, converted
//! from and to the replica's dynamic rows.
//!
//! The structs themselves are generated from `.ovsschema` files by
//! [`crate::codegen`] as invocations of the [`table!`](crate::table) and
//! [`enumeration!`](crate::enumeration) macros, so that the generated text
//! stays small; everything else is generic code here. Column types map to
//! Rust types as follows: integer `i64`, real `f64`, boolean `bool`, string
//! `String` (or a Rust enum when the schema lists the allowed values), uuid
//! `Uuid`, or [`Ref<T>`] when it references table `T`; a column with at most
//! one element is `Option<_>`, other sets are `BTreeSet<_>` and maps
//! `BTreeMap<_, _>`.
//!
//! The server's schema may differ from the one the code was generated from
//! (an older or newer server): a column the server lacks reads as its
//! default, and a value that does not fit the compiled-in type reads as the
//! default with a warning, as upstream's IDL does.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::Arc;

use ovsdb::schema::TableSchema;
use ovsdb::{Atom, Datum, Row, Uuid};

use crate::replica::{Replica, RowDelta};

/// A reference to a row of table `T`: a UUID that knows its table.
pub struct Ref<T>(Uuid, PhantomData<fn() -> T>);

impl<T> Ref<T> {
    /// A reference to the row with this UUID.
    pub const fn new(u: Uuid) -> Self {
        Ref(u, PhantomData)
    }
    /// The referenced row's UUID.
    pub const fn uuid(self) -> Uuid {
        self.0
    }
}

impl<T> Clone for Ref<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Ref<T> {}
impl<T> PartialEq for Ref<T> {
    fn eq(&self, o: &Self) -> bool {
        self.0 == o.0
    }
}
impl<T> Eq for Ref<T> {}
impl<T> PartialOrd for Ref<T> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Ref<T> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.cmp(&o.0)
    }
}
impl<T> Hash for Ref<T> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.hash(h)
    }
}
impl<T> Default for Ref<T> {
    fn default() -> Self {
        Ref::new(Uuid::nil())
    }
}
impl<T> fmt::Debug for Ref<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
impl<T> fmt::Display for Ref<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
impl<T> From<Ref<T>> for Uuid {
    fn from(r: Ref<T>) -> Uuid {
        r.0
    }
}

/// A Rust type for one OVSDB atom.
pub trait Atomic: Sized + Clone {
    /// The value of an atom, if it has this type.
    fn from_atom(a: &Atom) -> Option<Self>;
    /// The atom.
    fn to_atom(&self) -> Atom;
}

impl Atomic for i64 {
    fn from_atom(a: &Atom) -> Option<Self> {
        a.as_integer()
    }
    fn to_atom(&self) -> Atom {
        Atom::Integer(*self)
    }
}
impl Atomic for f64 {
    fn from_atom(a: &Atom) -> Option<Self> {
        match a {
            Atom::Real(r) => Some(*r),
            _ => None,
        }
    }
    fn to_atom(&self) -> Atom {
        Atom::Real(*self)
    }
}
impl Atomic for bool {
    fn from_atom(a: &Atom) -> Option<Self> {
        match a {
            Atom::Boolean(b) => Some(*b),
            _ => None,
        }
    }
    fn to_atom(&self) -> Atom {
        Atom::Boolean(*self)
    }
}
impl Atomic for String {
    fn from_atom(a: &Atom) -> Option<Self> {
        a.as_str().map(str::to_string)
    }
    fn to_atom(&self) -> Atom {
        Atom::string(self)
    }
}
impl Atomic for Uuid {
    fn from_atom(a: &Atom) -> Option<Self> {
        a.as_uuid()
    }
    fn to_atom(&self) -> Atom {
        Atom::Uuid(*self)
    }
}
impl<T> Atomic for Ref<T> {
    fn from_atom(a: &Atom) -> Option<Self> {
        a.as_uuid().map(Ref::new)
    }
    fn to_atom(&self) -> Atom {
        Atom::Uuid(self.0)
    }
}

/// A Rust type for one column's value (a datum).
pub trait ColumnValue: Sized + Default {
    /// The value of a datum, if it fits this type.
    fn from_datum(d: &Datum) -> Option<Self>;
    /// The datum.
    fn to_datum(&self) -> Datum;
}

/// Exactly one atom.
impl<T: Atomic + Default> ColumnValue for T {
    fn from_datum(d: &Datum) -> Option<Self> {
        match (d.keys(), d.is_map()) {
            ([a], false) => T::from_atom(a),
            _ => None,
        }
    }
    fn to_datum(&self) -> Datum {
        Datum::scalar(self.to_atom())
    }
}

/// Zero or one atom.
impl<T: Atomic> ColumnValue for Option<T> {
    fn from_datum(d: &Datum) -> Option<Self> {
        match (d.keys(), d.is_map()) {
            ([], false) => Some(None),
            ([a], false) => T::from_atom(a).map(Some),
            _ => None,
        }
    }
    fn to_datum(&self) -> Datum {
        match self {
            Some(v) => Datum::scalar(v.to_atom()),
            None => Datum::empty_set(),
        }
    }
}

impl<T: Atomic + Ord> ColumnValue for BTreeSet<T> {
    fn from_datum(d: &Datum) -> Option<Self> {
        if d.is_map() {
            return None;
        }
        d.keys().iter().map(T::from_atom).collect()
    }
    fn to_datum(&self) -> Datum {
        Datum::set(self.iter().map(Atomic::to_atom).collect())
    }
}

impl<K: Atomic + Ord, V: Atomic> ColumnValue for BTreeMap<K, V> {
    fn from_datum(d: &Datum) -> Option<Self> {
        if !d.is_map() && !d.is_empty() {
            return None;
        }
        d.pairs().map(|(k, v)| Some((K::from_atom(k)?, V::from_atom(v)?))).collect()
    }
    fn to_datum(&self) -> Datum {
        Datum::map(self.iter().map(|(k, v)| (k.to_atom(), v.to_atom())).collect())
    }
}

/// A typed table: a struct with one field per column.
pub trait Table: Sized + Clone {
    /// The table's name in the schema.
    const NAME: &'static str;
    /// The user columns the struct holds, in field order.
    const COLUMNS: &'static [&'static str];
    /// The row's UUID.
    fn uuid(&self) -> Uuid;
    /// The typed form of a replica row of this table.
    fn from_row(ts: &TableSchema, row: &Row) -> Self;
    /// The column values, in [`Table::COLUMNS`] order.
    fn to_datums(&self) -> Vec<Datum>;
}

/// One column of a row, converted (used by [`table!`](crate::table)).
pub fn column<V: ColumnValue>(ts: &TableSchema, row: &Row, name: &str) -> V {
    let Some(c) = ts.column(name) else {
        return V::default();
    };
    match row.values.get(c).map(V::from_datum) {
        Some(Some(v)) => v,
        _ => {
            tracing::warn!(table = %ts.name, column = name, "value does not fit the compiled-in column type; reading the default");
            V::default()
        }
    }
}

/// How a row changed since the consumer last looked (see [`Replica::changes_of`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Change<T> {
    /// A row appeared.
    Inserted(T),
    /// A row changed: its contents when last looked at, and now.
    Modified {
        /// Before.
        old: T,
        /// Now.
        new: T,
    },
    /// A row went away (its last contents).
    Deleted(T),
}

impl<T: Table> Change<T> {
    /// The row's UUID.
    pub fn uuid(&self) -> Ref<T> {
        Ref::new(match self {
            Change::Inserted(r) | Change::Modified { new: r, .. } | Change::Deleted(r) => r.uuid(),
        })
    }
    /// The row as it is now (None if deleted).
    pub fn current(&self) -> Option<&T> {
        match self {
            Change::Inserted(r) | Change::Modified { new: r, .. } => Some(r),
            Change::Deleted(_) => None,
        }
    }
}

/// Typed access to the replica.
impl Replica {
    fn typed_table<T: Table>(&self) -> Option<(&TableSchema, &crate::replica::TableReplica)> {
        let t = self.table(T::NAME);
        if t.is_none() {
            tracing::debug!(table = T::NAME, "typed read of a table the replica does not monitor");
        }
        t
    }

    /// Every row of table `T`, in no particular order (none if the table
    /// is not monitored).
    pub fn rows<T: Table>(&self) -> impl Iterator<Item = T> + '_ {
        self.typed_table::<T>().into_iter().flat_map(|(ts, t)| t.rows.values().map(move |r| T::from_row(ts, r)))
    }

    /// Number of rows in table `T`.
    pub fn count<T: Table>(&self) -> usize {
        self.typed_table::<T>().map_or(0, |(_, t)| t.rows.len())
    }

    /// The row `r` refers to.
    pub fn get<T: Table>(&self, r: Ref<T>) -> Option<T> {
        let (ts, t) = self.typed_table::<T>()?;
        t.rows.get(&r.uuid()).map(|row| T::from_row(ts, row))
    }

    /// The row whose columns have the given values: through the schema's
    /// index on exactly these columns when the server declares one, else
    /// by scanning (then the first match in UUID order).
    pub fn lookup<T: Table>(&self, key: &[(&str, Datum)]) -> Option<T> {
        let (ts, t) = self.typed_table::<T>()?;
        let cols: Option<Vec<usize>> = key.iter().map(|(c, _)| ts.column(c)).collect();
        let cols = cols?;
        if let Some(i) = ts.indexes.iter().position(|ix| *ix == cols) {
            let k: Vec<Datum> = key.iter().map(|(_, d)| d.clone()).collect();
            return t.lookup(i, &k).map(|row| T::from_row(ts, row));
        }
        t.rows
            .values()
            .filter(|row| cols.iter().zip(key).all(|(&c, (_, d))| &row.values[c] == d))
            .min_by_key(|row| row.uuid())
            .map(|row| T::from_row(ts, row))
    }

    /// The net changes to table `T` since they were last taken, in UUID
    /// order; taking them clears them.
    pub fn changes_of<T: Table>(&mut self) -> Vec<Change<T>> {
        let Some((_, ts)) = self.schema().table(T::NAME) else {
            return Vec::new();
        };
        let ts = ts.clone();
        self.take_table_changes(T::NAME)
            .into_iter()
            .filter_map(|(_, RowDelta { old, new })| match (old, new) {
                (None, Some(n)) => Some(Change::Inserted(T::from_row(&ts, &n))),
                (Some(o), Some(n)) => Some(Change::Modified { old: T::from_row(&ts, &o), new: T::from_row(&ts, &n) }),
                (Some(o), None) => Some(Change::Deleted(T::from_row(&ts, &o))),
                (None, None) => None,
            })
            .collect()
    }

    /// The dynamic row behind a typed reference.
    pub fn raw<T: Table>(&self, r: Ref<T>) -> Option<&Arc<Row>> {
        self.row(T::NAME, &r.uuid())
    }
}

/// Declares a typed table (used by generated code).
///
/// `table! { #[doc] Name "Table_Name" { field "column": Type, ... } }` makes
/// `pub struct Name { pub uuid: Ref<Name>, pub field: Type, ... }` and its
/// [`Table`] implementation.
#[macro_export]
macro_rules! table {
    ($(#[$m:meta])* $name:ident $tname:literal { $($field:ident $col:literal : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $name {
            /// The row's UUID.
            pub uuid: $crate::typed::Ref<$name>,
            $(#[doc = concat!("Column `", $col, "`.")] pub $field: $ty,)*
        }
        impl $crate::typed::Table for $name {
            const NAME: &'static str = $tname;
            const COLUMNS: &'static [&'static str] = &[$($col),*];
            fn uuid(&self) -> $crate::ovsdb::Uuid {
                self.uuid.uuid()
            }
            fn from_row(ts: &$crate::ovsdb::schema::TableSchema, row: &$crate::ovsdb::Row) -> Self {
                $name { uuid: $crate::typed::Ref::new(row.uuid()), $($field: $crate::typed::column(ts, row, $col),)* }
            }
            fn to_datums(&self) -> Vec<$crate::ovsdb::Datum> {
                vec![$($crate::typed::ColumnValue::to_datum(&self.$field)),*]
            }
        }
    };
}

/// Declares a string enumeration (used by generated code):
/// `enumeration! { #[doc] Name { Variant = "value", ... } }`; the first
/// variant is the default.
#[macro_export]
macro_rules! enumeration {
    ($(#[$m:meta])* $name:ident { $first:ident = $fv:literal $(, $var:ident = $val:literal)* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub enum $name {
            #[default]
            #[doc = concat!("`", $fv, "`")]
            $first,
            $(#[doc = concat!("`", $val, "`")] $var,)*
        }
        impl $name {
            /// The value as the database spells it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $name::$first => $fv,
                    $($name::$var => $val,)*
                }
            }
            /// The variant spelled `s`.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $fv => Some($name::$first),
                    $($val => Some($name::$var),)*
                    _ => None,
                }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl $crate::typed::Atomic for $name {
            fn from_atom(a: &$crate::ovsdb::Atom) -> Option<Self> {
                a.as_str().and_then(Self::parse)
            }
            fn to_atom(&self) -> $crate::ovsdb::Atom {
                $crate::ovsdb::Atom::string(self.as_str())
            }
        }
    };
}
