//! The generator of typed-row modules (see [`crate::typed`]): Rust source
//! text from a database schema.
//!
//! The output is a list of [`table!`](crate::table) and
//! [`enumeration!`](crate::enumeration) invocations plus one lookup function
//! per unique index, so that the text stays short and the crate compiling it
//! stays quick to build.

use std::collections::BTreeSet;
use std::fmt::Write;

use ovsdb::schema::{AtomicType, BaseType, ColumnType, TableSchema};
use ovsdb::DatabaseSchema;

/// Rust keywords (2021 edition, strict and reserved) that cannot name a field.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "if", "impl", "in", "let", "loop", "macro", "match", "mod",
    "move", "mut", "override", "priv", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true",
    "try", "type", "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield", "uuid",
];

/// The Rust name of a table: `Logical_Switch` -> `LogicalSwitch`,
/// `ACL` -> `Acl`, `DHCPv6_Options` -> `DHCPv6Options`.
pub fn struct_name(table: &str) -> String {
    camel(table)
}

fn camel(s: &str) -> String {
    let mut out = String::new();
    for w in s.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        let all_caps = w.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        let mut cs = w.chars();
        if let Some(f) = cs.next() {
            out.push(f.to_ascii_uppercase());
            if all_caps {
                out.extend(cs.map(|c| c.to_ascii_lowercase()));
            } else {
                out.extend(cs);
            }
        }
    }
    out
}

/// The Rust name of a column's field.
pub fn field_name(column: &str) -> String {
    let f = column.to_ascii_lowercase();
    if KEYWORDS.contains(&f.as_str()) {
        format!("{f}_")
    } else {
        f
    }
}

/// An enumeration the generated code declares.
struct Enum {
    name: String,
    variants: Vec<(String, String)>,
}

struct Gen<'a> {
    krate: &'a str,
    enums: Vec<Enum>,
    uses: BTreeSet<&'static str>,
}

impl Gen<'_> {
    /// The Rust type of one atom of `b`; declares an enum named `enum_name`
    /// for a string with listed values.
    fn atom(&mut self, b: &BaseType, enum_name: String) -> Result<String, String> {
        Ok(match b.atomic {
            AtomicType::Integer => "i64".into(),
            AtomicType::Real => "f64".into(),
            AtomicType::Boolean => "bool".into(),
            AtomicType::String => match &b.enum_ {
                Some(vals) => match variants(vals) {
                    Some(variants) => {
                        self.enums.push(Enum { name: enum_name.clone(), variants });
                        enum_name
                    }
                    None => "String".into(),
                },
                None => "String".into(),
            },
            AtomicType::Uuid => match &b.ref_table {
                Some(t) => {
                    self.uses.insert("Ref");
                    format!("Ref<{}>", struct_name(t))
                }
                None => {
                    self.uses.insert("Uuid");
                    "Uuid".into()
                }
            },
        })
    }

    fn column(&mut self, ts: &TableSchema, cname: &str, t: &ColumnType) -> Result<String, String> {
        let base = format!("{}{}", struct_name(&ts.name), camel(cname));
        let key = self.atom(&t.key, base.clone())?;
        if let Some(v) = &t.value {
            if t.key.atomic == AtomicType::Real {
                return Err(format!("table {} column {cname}: maps keyed by reals are not supported", ts.name));
            }
            let val = self.atom(v, format!("{base}Value"))?;
            self.uses.insert("BTreeMap");
            return Ok(format!("BTreeMap<{key}, {val}>"));
        }
        Ok(match (t.min, t.max) {
            (1, 1) => key,
            (0, 1) => format!("Option<{key}>"),
            _ if t.key.atomic == AtomicType::Real => {
                return Err(format!("table {} column {cname}: sets of reals are not supported", ts.name))
            }
            _ => {
                self.uses.insert("BTreeSet");
                format!("BTreeSet<{key}>")
            }
        })
    }
}

/// Variant names for string values, if every value gives a distinct identifier.
fn variants(vals: &[ovsdb::Atom]) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for v in vals {
        let s = v.as_str()?;
        let mut n = camel(s);
        if n.is_empty() || n.starts_with(|c: char| c.is_ascii_digit()) {
            n = format!("V{n}");
        }
        if !seen.insert(n.clone()) {
            return None;
        }
        out.push((n, s.to_string()));
    }
    (!out.is_empty()).then_some(out)
}

fn lit(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// Generates the typed-row module for `schema`. `krate` is the path of the
/// client crate in the generated code (e.g. `ovsdb_client`); `header` goes
/// first (say what generated the file and how to regenerate it).
pub fn generate(schema: &DatabaseSchema, krate: &str, header: &str) -> Result<String, String> {
    let mut g = Gen { krate, enums: Vec::new(), uses: BTreeSet::new() };
    let mut names = BTreeSet::new();
    let mut tables = String::new();
    let mut lookups = String::new();
    let (mut uses_atom, mut uses_value) = (false, false);
    for ts in &schema.tables {
        let sname = struct_name(&ts.name);
        if !names.insert(sname.clone()) {
            return Err(format!("two tables map to the Rust name {sname}"));
        }
        let mut fields = String::new();
        let mut field_of = std::collections::HashMap::new();
        for (_, c) in ts.user_columns() {
            let ty = g.column(ts, &c.name, &c.type_)?;
            let f = field_name(&c.name);
            if field_of.values().any(|x: &(String, String)| x.0 == f) {
                return Err(format!("table {}: two columns map to the field name {f}", ts.name));
            }
            writeln!(fields, "        {f} {}: {ty},", lit(&c.name)).unwrap();
            field_of.insert(c.name.clone(), (f, ty));
        }
        writeln!(
            tables,
            "{krate}::table! {{\n    /// A row of table `{}`.\n    {sname} {} {{\n{fields}    }}\n}}\n",
            ts.name,
            lit(&ts.name)
        )
        .unwrap();
        if ts.indexes.is_empty() {
            continue;
        }
        writeln!(lookups, "impl {sname} {{").unwrap();
        for (i, ix) in ts.indexes.iter().enumerate() {
            let cols: Vec<&str> = ix.iter().map(|&c| ts.columns[c].name.as_str()).collect();
            let fname: Vec<String> = cols.iter().map(|c| c.to_ascii_lowercase()).collect();
            let mut args = Vec::new();
            let mut keys = Vec::new();
            for c in &cols {
                let (f, ty) = &field_of[*c];
                uses_atom |= ty == "String";
                uses_value |= ty != "String";
                let (arg, key) = if ty == "String" {
                    (format!("{f}: &str"), format!("Datum::scalar(Atom::string({f}))"))
                } else if ty.starts_with("Option<") || ty.starts_with("BTree") {
                    (format!("{f}: &{ty}"), format!("ColumnValue::to_datum({f})"))
                } else {
                    (format!("{f}: {ty}"), format!("ColumnValue::to_datum(&{f})"))
                };
                args.push(arg);
                keys.push(format!("({}, {key})", lit(c)));
            }
            if i > 0 {
                lookups.push('\n');
            }
            writeln!(
                lookups,
                "    /// The row with this {} (a unique index of the schema).\n    pub fn by_{}(r: &Replica, {}) -> Option<Self> {{\n        r.lookup(&[{}])\n    }}",
                cols.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "),
                fname.join("_"),
                args.join(", "),
                keys.join(", "),
            )
            .unwrap();
        }
        writeln!(lookups, "}}\n").unwrap();
    }
    let mut out = String::new();
    out.push_str(header);
    writeln!(out, "//! Typed rows of the `{}` database, schema version {}.\n", schema.name, schema.version).unwrap();
    let mut std_uses: Vec<&str> = g.uses.iter().copied().filter(|u| u.starts_with("BTree")).collect();
    std_uses.sort();
    if !std_uses.is_empty() {
        writeln!(out, "use std::collections::{{{}}};\n", std_uses.join(", ")).unwrap();
    }
    if !lookups.is_empty() {
        writeln!(
            out,
            "use {krate}::ovsdb::{}Datum{};",
            if uses_atom { "{Atom, " } else { "" },
            if uses_atom { "}" } else { "" }
        )
        .unwrap();
        if uses_value {
            writeln!(out, "use {krate}::typed::ColumnValue;").unwrap();
        }
        writeln!(out, "use {krate}::Replica;").unwrap();
    }
    if g.uses.contains("Uuid") {
        writeln!(out, "use {krate}::ovsdb::Uuid;").unwrap();
    }
    if g.uses.contains("Ref") {
        writeln!(out, "use {krate}::typed::Ref;").unwrap();
    }
    writeln!(out, "\n/// The schema's name.\npub const NAME: &str = {};", lit(&schema.name)).unwrap();
    writeln!(out, "/// The schema's version.\npub const VERSION: &str = {};", lit(&schema.version)).unwrap();
    let tnames: Vec<String> = schema.tables.iter().map(|t| lit(&t.name)).collect();
    writeln!(out, "/// The tables.\npub const TABLES: &[&str] = &[{}];\n", tnames.join(", ")).unwrap();
    for e in &g.enums {
        writeln!(out, "{}::enumeration! {{\n    /// Allowed values of a column.\n    {} {{", g.krate, e.name).unwrap();
        for (v, s) in &e.variants {
            writeln!(out, "        {v} = {},", lit(s)).unwrap();
        }
        writeln!(out, "    }}\n}}\n").unwrap();
    }
    out.push_str(&tables);
    out.push_str(&lookups);
    while out.ends_with("\n\n") {
        out.pop();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(struct_name("Logical_Switch"), "LogicalSwitch");
        assert_eq!(struct_name("ACL"), "Acl");
        assert_eq!(struct_name("DHCPv6_Options"), "DHCPv6Options");
        assert_eq!(struct_name("Open_vSwitch"), "OpenVSwitch");
        assert_eq!(field_name("type"), "type_");
        assert_eq!(field_name("match"), "match_");
        assert_eq!(camel("allow-related"), "AllowRelated");
        assert_eq!(camel("dnat_and_snat"), "DnatAndSnat");
    }

    #[test]
    fn generates_from_a_schema() {
        let s = DatabaseSchema::from_json(&serde_json::json!({
            "name": "T", "version": "1.0.0", "tables": {
                "A_B": {"columns": {
                    "name": {"type": "string"},
                    "type": {"type": {"key": {"type": "string", "enum": ["set", ["x-y", "z"]]}}},
                    "peer": {"type": {"key": {"type": "uuid", "refTable": "A_B"}, "min": 0, "max": 1}},
                    "m": {"type": {"key": "string", "value": "integer", "min": 0, "max": "unlimited"}}},
                    "indexes": [["name"]], "isRoot": true}}}))
        .unwrap();
        let out = generate(&s, "ovsdb_client", "// test\n").unwrap();
        assert!(out.contains("AB \"A_B\""), "{out}");
        assert!(out.contains("type_ \"type\": ABType,"), "{out}");
        assert!(out.contains("XY = \"x-y\""), "{out}");
        assert!(out.contains("peer \"peer\": Option<Ref<AB>>,"), "{out}");
        assert!(out.contains("m \"m\": BTreeMap<String, i64>,"), "{out}");
        assert!(out.contains("pub fn by_name(r: &Replica, name: &str) -> Option<Self>"), "{out}");
    }
}
