//! Tables of OVSDB data as the OVS command-line tools print them: the
//! `--format` (table, list, html, csv, json) and `--data` (string, bare,
//! json) options of ovsdb-client(1), ovs-vsctl(8) and friends.

use ovsdb::schema::ColumnType;
use ovsdb::{Atom, Datum, Uuid};
use serde_json::Value;

use crate::json;

/// How a table is laid out (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned text columns.
    Table,
    /// One `heading : value` line per cell, rows separated by blank lines.
    List,
    /// An HTML `<table>`.
    Html,
    /// RFC 4180 comma-separated values.
    Csv,
    /// One JSON object per table.
    Json,
}

impl Format {
    /// Parses a `--format` argument.
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "table" => Format::Table,
            "list" => Format::List,
            "html" => Format::Html,
            "csv" => Format::Csv,
            "json" => Format::Json,
            _ => return None,
        })
    }
}

/// How cells holding OVSDB data are written (`--data`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Data {
    /// ovs-vsctl's syntax: `[a, b]`, `{k=v}`, strings quoted when needed.
    String,
    /// The same without punctuation: items space-separated, strings never quoted.
    Bare,
    /// RFC 7047 JSON.
    Json,
}

impl Data {
    /// Parses a `--data` argument.
    pub fn parse(s: &str) -> Option<Data> {
        Some(match s {
            "string" => Data::String,
            "bare" => Data::Bare,
            "json" => Data::Json,
            _ => return None,
        })
    }
}

/// Output options shared by the tables of one command.
#[derive(Debug, Clone)]
pub struct Style {
    pub format: Format,
    pub data: Data,
    pub headings: bool,
    pub pretty: bool,
    /// `--max-column-width` (table format only).
    pub max_width: Option<usize>,
}

impl Default for Style {
    fn default() -> Style {
        Style { format: Format::Table, data: Data::String, headings: true, pretty: false, max_width: None }
    }
}

/// One cell.
#[derive(Debug, Clone)]
pub enum Cell {
    /// Nothing (JSON `null`).
    Empty,
    /// Literal text, printed as is in every data format.
    Text(String),
    /// A column value of the given type.
    Datum(Datum, Box<ColumnType>),
    /// A row's UUID as a bare string (JSON prints it as a string, HTML as a link).
    RowUuid(Uuid),
    /// Arbitrary JSON (e.g. a column type).
    Json(Value),
}

/// A table to print.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub caption: Option<String>,
    /// A timestamp line printed before the table (`--timestamp`).
    pub timestamp: Option<String>,
    pub headings: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these headings.
    pub fn new<S: Into<String>>(headings: impl IntoIterator<Item = S>) -> Table {
        Table { headings: headings.into_iter().map(Into::into).collect(), ..Table::default() }
    }

    /// The table as text in `style`.
    pub fn render(&self, style: &Style) -> String {
        let mut out = String::new();
        if style.format != Format::Json {
            if let Some(t) = &self.timestamp {
                out.push_str(t);
                out.push('\n');
            }
        }
        match style.format {
            Format::Table => self.render_table(style, &mut out),
            Format::List => self.render_list(style, &mut out),
            Format::Csv => self.render_csv(style, &mut out),
            Format::Html => self.render_html(style, &mut out),
            Format::Json => self.render_json(style, &mut out),
        }
        out
    }

    fn caption_line(&self, out: &mut String) {
        if let Some(c) = &self.caption {
            out.push_str(c);
            out.push('\n');
        }
    }

    fn render_table(&self, style: &Style, out: &mut String) {
        self.caption_line(out);
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let mut t = cell_text(c, style.data);
                        if let Some(w) = style.max_width {
                            // Columns stay wide enough for their headings.
                            let h = self.headings.get(i).filter(|_| style.headings).map_or(0, String::len);
                            truncate_bytes(&mut t, w.max(h));
                        }
                        t
                    })
                    .collect()
            })
            .collect();
        let mut widths: Vec<usize> = self.headings.iter().map(|h| if style.headings { h.len() } else { 0 }).collect();
        for r in &cells {
            for (i, c) in r.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(c.len());
                }
            }
        }
        let line = |out: &mut String, texts: &mut dyn Iterator<Item = &str>| {
            let mut first = true;
            for (i, t) in texts.enumerate() {
                if !first {
                    out.push(' ');
                }
                first = false;
                out.push_str(t);
                if i + 1 < widths.len() {
                    out.extend(std::iter::repeat_n(' ', widths[i].saturating_sub(t.len())));
                }
            }
            // Empty trailing cells leave no trailing blanks.
            out.truncate(out.trim_end_matches(' ').len());
            out.push('\n');
        };
        if style.headings {
            line(out, &mut self.headings.iter().map(String::as_str));
            let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            line(out, &mut dashes.iter().map(String::as_str));
        }
        for r in &cells {
            line(out, &mut r.iter().map(String::as_str));
        }
    }

    fn render_list(&self, style: &Style, out: &mut String) {
        self.caption_line(out);
        for (i, r) in self.rows.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            for (h, c) in self.headings.iter().zip(r) {
                if style.headings {
                    out.push_str(&format!("{h:<20}: "));
                }
                out.push_str(&cell_text(c, style.data));
                out.push('\n');
            }
        }
    }

    fn render_csv(&self, style: &Style, out: &mut String) {
        self.caption_line(out);
        let line = |out: &mut String, fields: Vec<String>| {
            let fields: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        };
        if style.headings {
            line(out, self.headings.clone());
        }
        for r in &self.rows {
            line(out, r.iter().map(|c| cell_text(c, style.data)).collect());
        }
    }

    fn render_html(&self, style: &Style, out: &mut String) {
        out.push_str("<table border=1>\n");
        if let Some(c) = &self.caption {
            out.push_str(&format!("    <caption>{}</caption>\n", html_escape(c)));
        }
        if style.headings {
            out.push_str("  <tr>\n");
            for h in &self.headings {
                out.push_str(&format!("    <th>{}</th>\n", html_escape(h)));
            }
            out.push_str("  </tr>\n");
        }
        for r in &self.rows {
            out.push_str("  <tr>\n");
            for (i, c) in r.iter().enumerate() {
                let anchor = self.headings.get(i).is_some_and(|h| h == "_uuid");
                out.push_str(&format!("    <td>{}</td>\n", cell_html(c, style.data, anchor)));
            }
            out.push_str("  </tr>\n");
        }
        out.push_str("</table>\n");
    }

    fn render_json(&self, style: &Style, out: &mut String) {
        let mut o = serde_json::Map::new();
        if let Some(c) = &self.caption {
            o.insert("caption".into(), Value::from(c.as_str()));
        }
        if let Some(t) = &self.timestamp {
            o.insert("time".into(), Value::from(t.as_str()));
        }
        let data: Vec<Value> = self.rows.iter().map(|r| Value::Array(r.iter().map(cell_json).collect())).collect();
        o.insert("data".into(), Value::Array(data));
        // The json format always names its columns.
        o.insert("headings".into(), Value::Array(self.headings.iter().map(|h| Value::from(h.as_str())).collect()));
        let v = Value::Object(o);
        out.push_str(&if style.pretty { json::to_string_pretty(&v) } else { json::to_string(&v) });
        out.push('\n');
    }
}

fn truncate_bytes(s: &mut String, max: usize) {
    if s.len() > max {
        let mut i = max;
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        s.truncate(i);
    }
}

/// A cell's JSON (the json format, whatever `--data` says).
fn cell_json(c: &Cell) -> Value {
    match c {
        Cell::Empty => Value::Null,
        Cell::Text(t) => Value::from(t.as_str()),
        Cell::Datum(d, _) => datum_json(d),
        Cell::RowUuid(u) => Value::from(u.to_string()),
        Cell::Json(j) => j.clone(),
    }
}

/// A datum's JSON with reals kept as reals (printed `%.15g`-style, so
/// `1e+15` stays a real where `Datum::to_json` would make it an integer).
pub fn datum_json(d: &Datum) -> Value {
    let atom = |a: &Atom| match a {
        Atom::Real(f) => serde_json::Number::from_f64(*f).map(Value::Number).unwrap_or(Value::Null),
        a => a.to_json(),
    };
    match d.values() {
        None if d.len() == 1 => atom(&d.keys()[0]),
        None => Value::Array(vec![Value::from("set"), Value::Array(d.keys().iter().map(atom).collect())]),
        Some(_) => Value::Array(vec![
            Value::from("map"),
            Value::Array(d.pairs().map(|(k, v)| Value::Array(vec![atom(k), atom(v)])).collect()),
        ]),
    }
}

/// A cell as text in one data format.
pub fn cell_text(c: &Cell, data: Data) -> String {
    match c {
        Cell::Empty => String::new(),
        Cell::Text(t) => t.clone(),
        Cell::RowUuid(u) => match data {
            Data::Json => json::to_string(&Value::from(u.to_string())),
            _ => u.to_string(),
        },
        Cell::Json(j) => json::to_string(j),
        Cell::Datum(d, t) => match data {
            Data::Json => json::to_string(&datum_json(d)),
            Data::String => datum_string(d, t, &mut |a, out| atom_string(a, out)),
            Data::Bare => datum_bare(d, &mut |a, out| atom_bare(a, out)),
        },
    }
}

/// A cell as HTML: its text escaped, with every UUID in it a link to the
/// row it names; in the `_uuid` column (`anchor`) the cell is the link target.
fn cell_html(c: &Cell, data: Data, anchor: bool) -> String {
    let text = cell_text(c, data);
    if anchor {
        let short: String = text.chars().take(8).collect();
        return format!("<a name=\"{}\">{}</a>", html_escape(&text), html_escape(&short));
    }
    let mut out = String::new();
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let at = rest.char_indices().map(|(i, _)| i).find(|&i| rest.get(i..i + 36).is_some_and(Uuid::is_uuid_text));
        match at {
            Some(i) => {
                out.push_str(&html_escape(&rest[..i]));
                let u = &rest[i..i + 36];
                out.push_str(&format!("<a href=\"#{u}\">{}</a>", &u[..8]));
                rest = &rest[i + 36..];
            }
            None => {
                out.push_str(&html_escape(rest));
                break;
            }
        }
    }
    out
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A datum in ovs-vsctl's syntax: `{k=v, ...}` for maps, `[a, b]` for sets
/// that may hold more than one element, the bare atom (or `[]`) otherwise.
pub fn datum_string(d: &Datum, t: &ColumnType, atom: &mut dyn FnMut(&Atom, &mut String)) -> String {
    let mut out = String::new();
    if d.is_map() {
        out.push('{');
        for (i, (k, v)) in d.pairs().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            atom(k, &mut out);
            out.push('=');
            atom(v, &mut out);
        }
        out.push('}');
    } else if t.max == 1 && d.len() == 1 {
        atom(&d.keys()[0], &mut out);
    } else {
        out.push('[');
        for (i, k) in d.keys().iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            atom(k, &mut out);
        }
        out.push(']');
    }
    out
}

/// A datum with punctuation stripped: items space-separated.
pub fn datum_bare(d: &Datum, atom: &mut dyn FnMut(&Atom, &mut String)) -> String {
    let mut out = String::new();
    if d.is_map() {
        for (i, (k, v)) in d.pairs().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            atom(k, &mut out);
            out.push('=');
            atom(v, &mut out);
        }
    } else {
        for (i, k) in d.keys().iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            atom(k, &mut out);
        }
    }
    out
}

/// An atom in ovs-vsctl's syntax (strings quoted only when they must be).
pub fn atom_string(a: &Atom, out: &mut String) {
    match a {
        Atom::String(s) if needs_quotes(s) => out.push_str(&json::to_string(&Value::from(&**s))),
        _ => atom_bare(a, out),
    }
}

/// An atom as plain text.
pub fn atom_bare(a: &Atom, out: &mut String) {
    match a {
        Atom::Integer(i) => out.push_str(&i.to_string()),
        Atom::Real(r) => out.push_str(&json::real(*r)),
        Atom::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Atom::String(s) => out.push_str(s),
        Atom::Uuid(u) => out.push_str(&u.to_string()),
    }
}

/// Whether a string must be quoted to read back as the same string: the
/// empty string, anything not shaped like an identifier (letters, digits,
/// `_`, `-`, `.`, starting with a letter or `_`), and words that would read
/// as another type (`true`, `false`, UUIDs).
pub fn needs_quotes(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return true;
    };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return true;
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        return true;
    }
    s == "true" || s == "false" || Uuid::is_uuid_text(s)
}

/// Orders rows the way ovsdb-client's dump does: column by column in the
/// order of `keys` (indexes into the rows), each datum first by size, then
/// element by element.
pub fn compare_rows(a: &[Cell], b: &[Cell], keys: &[usize]) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for &k in keys {
        let o = match (&a[k], &b[k]) {
            (Cell::Datum(x, _), Cell::Datum(y, _)) => compare_datums(x, y),
            _ => Ordering::Equal,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

fn compare_datums(a: &Datum, b: &Datum) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.keys().cmp(b.keys())).then_with(|| a.values().cmp(&b.values()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_like_ovs_vsctl() {
        for (s, q) in [("abc", false), ("a.b-c_d9", false), ("_x", false), ("", true), ("9a", true), ("a b", true)] {
            assert_eq!(needs_quotes(s), q, "{s:?}");
        }
        assert!(needs_quotes("true") && needs_quotes("false") && !needs_quotes("True"));
        assert!(needs_quotes("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"));
    }

    #[test]
    fn csv_quotes_only_what_it_must() {
        assert_eq!(csv_field("a b"), "a b");
        assert_eq!(csv_field("{a=b, c=d}"), "\"{a=b, c=d}\"");
        assert_eq!(csv_field("\"\""), "\"\"\"\"\"\"");
    }
}
