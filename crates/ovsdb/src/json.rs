//! JSON read in place: a tree borrowed from the request's bytes and one
//! arena, for the transaction path, where building a `serde_json::Value`
//! (a heap string per key and value, a B-tree node per object) cost more
//! than executing the transaction.
//!
//! [`parse`] accepts exactly what `serde_json` accepts and gives the same
//! tree ([`Json::to_value`] equals `serde_json::from_slice`): objects keep
//! the last of duplicate keys and list their members in key order, numbers
//! are `serde_json::Number`s made by the same rules. Anything it is unsure
//! of (an error, a lone surrogate escape, a number out of range, nesting
//! deeper than [`MAX_DEPTH`]) makes it return `None`, and the caller asks
//! `serde_json` instead, for the value or for its error message.
//!
//! [`JsonNode`] lets the parsing code of atoms, datums, conditions,
//! mutations and operations read either tree.

use serde_json::{Number, Value};

/// The arena a [`Json`] tree lives in.
pub use bumpalo::Bump;

/// A JSON value borrowed from its text and an arena.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Json<'a> {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, typed as `serde_json` would have typed it.
    Number(Num),
    /// A string (borrowed from the text unless it had escapes).
    String(&'a str),
    /// An array.
    Array(&'a [Json<'a>]),
    /// An object: members sorted by key, keys unique.
    Object(&'a [(&'a str, Json<'a>)]),
}

/// A JSON number: an integer that fits a u64, else one that fits an
/// i64, else a (finite) float — `serde_json::Number`'s three kinds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// A non-negative integer.
    U(u64),
    /// A negative integer.
    I(i64),
    /// Anything else.
    F(f64),
}

impl Num {
    /// As `serde_json::Number`.
    pub fn to_number(self) -> Number {
        match self {
            Num::U(u) => Number::from(u),
            Num::I(i) => Number::from(i),
            // Finite by construction.
            Num::F(f) => Number::from_f64(f).unwrap_or_else(|| Number::from(0)),
        }
    }

    fn from_number(n: &Number) -> Num {
        if let Some(u) = n.as_u64() {
            Num::U(u)
        } else if let Some(i) = n.as_i64() {
            Num::I(i)
        } else {
            Num::F(n.as_f64().unwrap_or(0.0))
        }
    }
}

/// Nesting deeper than this is left to `serde_json` (whose limit is 128).
pub const MAX_DEPTH: usize = 100;

/// Parses one JSON text (surrounding whitespace allowed) into `bump`, or
/// `None` if `serde_json` should decide (see the module documentation).
pub fn parse<'a>(bump: &'a Bump, text: &'a [u8]) -> Option<Json<'a>> {
    // Validated once here, so that each string is a slice of it (a quote
    // is ASCII, so it always ends one character and begins another).
    let src = std::str::from_utf8(text).ok()?;
    let mut p = Parser { text, src, pos: 0, bump, elems: Vec::new(), members: Vec::new() };
    let v = p.value(0)?;
    p.skip_ws();
    (p.pos == text.len()).then_some(v)
}

/// Parses one JSON text, with `serde_json` deciding whatever [`parse`]
/// leaves to it (the tree is then copied into `bump`).
pub fn parse_or_serde<'a>(bump: &'a Bump, text: &'a [u8]) -> Result<Json<'a>, serde_json::Error> {
    match parse(bump, text) {
        Some(v) => Ok(v),
        None => {
            let v: Value = serde_json::from_slice(text)?;
            Ok(Json::from_value(bump, &v))
        }
    }
}

struct Parser<'a> {
    text: &'a [u8],
    /// The same text, as a `str`.
    src: &'a str,
    pos: usize,
    bump: &'a Bump,
    /// Elements of the arrays being parsed, innermost last.
    elems: Vec<Json<'a>>,
    /// Members of the objects being parsed, innermost last.
    members: Vec<(&'a str, Json<'a>)>,
}

impl<'a> Parser<'a> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.text.get(self.pos) {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &[u8], v: Json<'a>) -> Option<Json<'a>> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Some(v)
        } else {
            None
        }
    }

    fn value(&mut self, depth: usize) -> Option<Json<'a>> {
        self.skip_ws();
        match *self.text.get(self.pos)? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => self.string().map(Json::String),
            b't' => self.literal(b"true", Json::Bool(true)),
            b'f' => self.literal(b"false", Json::Bool(false)),
            b'n' => self.literal(b"null", Json::Null),
            b'-' | b'0'..=b'9' => self.number().map(Json::Number),
            _ => None,
        }
    }

    fn array(&mut self, depth: usize) -> Option<Json<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.pos += 1;
        self.skip_ws();
        if self.text.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Some(Json::Array(&[]));
        }
        let start = self.elems.len();
        loop {
            let v = self.value(depth)?;
            self.elems.push(v);
            self.skip_ws();
            match self.text.get(self.pos)? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    break;
                }
                _ => return None,
            }
        }
        let a = self.bump.alloc_slice_copy(&self.elems[start..]);
        self.elems.truncate(start);
        Some(Json::Array(a))
    }

    fn object(&mut self, depth: usize) -> Option<Json<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.pos += 1;
        self.skip_ws();
        if self.text.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Some(Json::Object(&[]));
        }
        let start = self.members.len();
        loop {
            self.skip_ws();
            if self.text.get(self.pos) != Some(&b'"') {
                return None;
            }
            let k = self.string()?;
            self.skip_ws();
            if self.text.get(self.pos) != Some(&b':') {
                return None;
            }
            self.pos += 1;
            let v = self.value(depth)?;
            self.members.push((k, v));
            self.skip_ws();
            match self.text.get(self.pos)? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    break;
                }
                _ => return None,
            }
        }
        // As a serde_json::Map (a BTreeMap): key order, the last duplicate
        // wins. The sort is stable, so among equal keys the last is last.
        let m = &mut self.members[start..];
        if !m.windows(2).all(|w| w[0].0 < w[1].0) {
            m.sort_by(|a, b| a.0.cmp(b.0));
            let mut w = start;
            for r in start..self.members.len() {
                if r + 1 < self.members.len() && self.members[r + 1].0 == self.members[r].0 {
                    continue;
                }
                self.members[w] = self.members[r];
                w += 1;
            }
            self.members.truncate(w);
        }
        let o = self.bump.alloc_slice_copy(&self.members[start..]);
        self.members.truncate(start);
        Some(Json::Object(o))
    }

    /// A string starting at the opening quote.
    fn string(&mut self) -> Option<&'a str> {
        let start = self.pos + 1;
        let mut i = start;
        loop {
            match *self.text.get(i)? {
                b'"' => {
                    self.pos = i + 1;
                    return self.src.get(start..i);
                }
                b'\\' => return self.escaped_string(start),
                0..=0x1f => return None,
                _ => i += 1,
            }
        }
    }

    /// The rest of a string that has escapes, decoded into the arena.
    fn escaped_string(&mut self, start: usize) -> Option<&'a str> {
        let mut out: Vec<u8> = Vec::with_capacity(32);
        let mut i = start;
        loop {
            let b = *self.text.get(i)?;
            i += 1;
            match b {
                b'"' => break,
                0..=0x1f => return None,
                b'\\' => {
                    let e = *self.text.get(i)?;
                    i += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4(i)?;
                            i += 4;
                            if (0xd800..0xdc00).contains(&hi) {
                                // A surrogate pair; anything else is left
                                // to serde_json.
                                if self.text.get(i..i + 2)? != b"\\u" {
                                    return None;
                                }
                                let lo = self.hex4(i + 2)?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return None;
                                }
                                i += 6;
                                char::from_u32(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00))?
                            } else {
                                char::from_u32(hi)?
                            }
                        }
                        _ => return None,
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                _ => out.push(b),
            }
        }
        self.pos = i;
        let s = std::str::from_utf8(&out).ok()?;
        Some(self.bump.alloc_str(s))
    }

    fn hex4(&self, i: usize) -> Option<u32> {
        let h = self.text.get(i..i + 4)?;
        let mut v = 0;
        for &c in h {
            v = v * 16 + (c as char).to_digit(16)?;
        }
        Some(v)
    }

    /// A number, by JSON's grammar and serde_json's typing: an integer is
    /// a u64 if not negative, else an i64, and a float if it does not fit
    /// (or is `-0`); with a fraction or exponent, always a float.
    fn number(&mut self) -> Option<Num> {
        let t = self.text;
        let start = self.pos;
        let mut i = start;
        let neg = t[i] == b'-';
        if neg {
            i += 1;
        }
        let digits = |i: &mut usize| {
            let s = *i;
            while t.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i - s
        };
        let int_start = i;
        let n = digits(&mut i);
        if n == 0 || (n > 1 && t[int_start] == b'0') {
            return None;
        }
        let mut float = false;
        if t.get(i) == Some(&b'.') {
            i += 1;
            if digits(&mut i) == 0 {
                return None;
            }
            float = true;
        }
        if let Some(b'e' | b'E') = t.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = t.get(i) {
                i += 1;
            }
            if digits(&mut i) == 0 {
                return None;
            }
            float = true;
        }
        self.pos = i;
        // ASCII digits and signs only, so this is valid UTF-8.
        let s = std::str::from_utf8(&t[start..i]).ok()?;
        if !float {
            if !neg {
                if let Ok(u) = s.parse::<u64>() {
                    return Some(Num::U(u));
                }
            } else if let Ok(v) = s.parse::<i64>() {
                if v != 0 {
                    return Some(Num::I(v));
                }
            }
        }
        let f: f64 = s.parse().ok()?;
        f.is_finite().then_some(Num::F(f))
    }
}

impl<'a> Json<'a> {
    /// The same tree as a `serde_json::Value`.
    pub fn to_value(&self) -> Value {
        match *self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(b),
            Json::Number(n) => Value::Number(n.to_number()),
            Json::String(s) => Value::String(s.to_string()),
            Json::Array(a) => Value::Array(a.iter().map(Json::to_value).collect()),
            Json::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.to_string(), v.to_value())).collect()),
        }
    }

    /// A `serde_json::Value` copied into `bump`.
    pub fn from_value(bump: &'a Bump, v: &Value) -> Json<'a> {
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(Num::from_number(n)),
            Value::String(s) => Json::String(bump.alloc_str(s)),
            Value::Array(a) => Json::Array(bump.alloc_slice_fill_iter(a.iter().map(|e| Json::from_value(bump, e)))),
            Value::Object(o) => Json::Object(
                bump.alloc_slice_fill_iter(o.iter().map(|(k, e)| (&*bump.alloc_str(k), Json::from_value(bump, e)))),
            ),
        }
    }
}

/// Read access to a JSON tree, a `serde_json::Value` or a [`Json`].
pub trait JsonNode: Sized {
    /// The string, if this is one.
    fn as_str(&self) -> Option<&str>;
    /// The boolean, if this is one.
    fn as_bool(&self) -> Option<bool>;
    /// The number as an i64, if it is an integer that fits.
    fn as_i64(&self) -> Option<i64>;
    /// The number as an f64, if this is a number.
    fn as_f64(&self) -> Option<f64>;
    /// The elements, if this is an array.
    fn as_slice(&self) -> Option<&[Self]>;
    /// True if this is an object.
    fn is_object(&self) -> bool;
    /// An object's member (None if absent or not an object).
    fn get(&self, key: &str) -> Option<&Self>;
    /// An object's member names, in order (nothing if not an object).
    fn keys(&self) -> impl Iterator<Item = &str>;
    /// An object's members, in key order (nothing if not an object).
    fn members(&self) -> impl Iterator<Item = (&str, &Self)>;
    /// The tree as a `serde_json::Value`.
    fn to_value(&self) -> Value;

    /// True if this is an array.
    fn is_array(&self) -> bool {
        self.as_slice().is_some()
    }
    /// True if this is the string `s`.
    fn is_str(&self, s: &str) -> bool {
        self.as_str() == Some(s)
    }
    /// The compact text of the tree, as `serde_json` writes it.
    fn to_text(&self) -> String {
        self.to_value().to_string()
    }
}

impl JsonNode for Value {
    fn as_str(&self) -> Option<&str> {
        Value::as_str(self)
    }
    fn as_bool(&self) -> Option<bool> {
        Value::as_bool(self)
    }
    fn as_i64(&self) -> Option<i64> {
        Value::as_i64(self)
    }
    fn as_f64(&self) -> Option<f64> {
        Value::as_f64(self)
    }
    fn as_slice(&self) -> Option<&[Value]> {
        self.as_array().map(Vec::as_slice)
    }
    fn is_object(&self) -> bool {
        Value::is_object(self)
    }
    fn get(&self, key: &str) -> Option<&Value> {
        self.as_object()?.get(key)
    }
    fn keys(&self) -> impl Iterator<Item = &str> {
        self.as_object().into_iter().flat_map(|o| o.keys().map(String::as_str))
    }
    fn members(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.as_object().into_iter().flat_map(|o| o.iter().map(|(k, v)| (k.as_str(), v)))
    }
    fn to_value(&self) -> Value {
        self.clone()
    }
    fn to_text(&self) -> String {
        self.to_string()
    }
}

impl JsonNode for Json<'_> {
    fn as_str(&self) -> Option<&str> {
        match *self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }
    fn as_bool(&self) -> Option<bool> {
        match *self {
            Json::Bool(b) => Some(b),
            _ => None,
        }
    }
    fn as_i64(&self) -> Option<i64> {
        match *self {
            Json::Number(Num::U(u)) => i64::try_from(u).ok(),
            Json::Number(Num::I(i)) => Some(i),
            _ => None,
        }
    }
    fn as_f64(&self) -> Option<f64> {
        match *self {
            Json::Number(Num::U(u)) => Some(u as f64),
            Json::Number(Num::I(i)) => Some(i as f64),
            Json::Number(Num::F(f)) => Some(f),
            _ => None,
        }
    }
    fn as_slice(&self) -> Option<&[Self]> {
        match *self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }
    fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }
    fn get(&self, key: &str) -> Option<&Self> {
        match *self {
            Json::Object(o) => o.iter().find(|(k, _)| *k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn keys(&self) -> impl Iterator<Item = &str> {
        self.members().map(|(k, _)| k)
    }
    fn members(&self) -> impl Iterator<Item = (&str, &Self)> {
        let o: &[(&str, Json<'_>)] = match *self {
            Json::Object(o) => o,
            _ => &[],
        };
        o.iter().map(|(k, v)| (*k, v))
    }
    fn to_value(&self) -> Value {
        Json::to_value(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What serde_json makes of `text`, and what we do (None: left to it).
    fn both(text: &str) -> (Option<Value>, Option<Value>) {
        let bump = Bump::new();
        let ours = parse(&bump, text.as_bytes()).map(|j| j.to_value());
        (serde_json::from_str(text).ok(), ours)
    }

    #[track_caller]
    fn agree(text: &str) {
        let (theirs, ours) = both(text);
        match (&theirs, &ours) {
            (_, None) => {}
            (Some(t), Some(o)) => {
                assert_eq!(t, o, "{text}");
                // Numbers must also have the same type (1 vs 1.0).
                assert_eq!(t.to_string(), o.to_string(), "{text}");
            }
            (None, Some(o)) => panic!("serde_json refuses {text:?}, we accept it as {o}"),
        }
    }

    #[test]
    fn same_trees_as_serde_json() {
        for t in [
            "null", "true", "false", " [ ] ", "{}", "0", "-0", "-1", "1.0", "1e2", "1E-2", "-0.0", "123456789012345678901234",
            "18446744073709551615", "18446744073709551616", "-9223372036854775808", "-9223372036854775809", "1e400",
            "1e-400", "0.1", "3.141592653589793", "2.2250738585072014e-308", r#""""#, r#""a\"b\\c\/d\b\f\n\r\t""#,
            r#""\u00e9\u4e2d\ud83d\ude00""#, r#""\ud83d""#, r#""\udc00x""#, r#""\ud83dx\ude00""#, r#""é中😀""#,
            r#"{"b":1,"a":2,"b":3}"#, r#"{"a":{"a":{"a":[1,[2,[3]]]}}}"#, r#"["set",[["uuid","x"],["named-uuid","y"]]]"#,
            "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "01", "1.", ".1", "1e", "-", "+1", "tru", "nul", "[1 2]",
            "\"\u{1}\"", "\"a", "[", "{", "1 2", "  7  ", "\t\r\n[\t1\r,\n2]", "[\"\\x\"]", "\"\\u12\"", "\"\\uzzzz\"",
        ] {
            agree(t);
        }
    }

    #[test]
    fn common_forms_are_parsed_here_not_left_to_serde() {
        for t in [r#"{"op":"insert","table":"T","row":{"name":"a\"b","n":-3,"r":2.5,"ok":true,"x":null}}"#, "-0", "1e2"] {
            assert!(both(t).1.is_some(), "{t}");
        }
        // Deep nesting is left to serde_json, which refuses past 128.
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(both(&deep).1, None);
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(both(&ok).1.is_some());
    }

    #[test]
    fn invalid_utf8_is_refused() {
        let bump = Bump::new();
        assert_eq!(parse(&bump, b"\"\xff\""), None);
        assert!(parse_or_serde(&bump, b"\"\xff\"").is_err());
    }

    #[test]
    fn random_texts_agree_with_serde_json() {
        // A small generator of JSON-ish texts: valid values with some bytes
        // changed, so both accepted and refused texts are compared.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        fn gen(next: &mut dyn FnMut() -> u64, depth: u32, out: &mut String) {
            let k = next() % if depth > 4 { 6 } else { 9 };
            match k {
                0 => out.push_str("null"),
                1 => out.push_str(if next() % 2 == 0 { "true" } else { "false" }),
                2 => out.push_str(&(next() as i64 >> (next() % 64)).to_string()),
                3 => out.push_str(&format!("{}", (next() % 100000) as f64 / 7.0)),
                4 => out.push_str(["\"\"", "\"x\"", "\"a\\nb\"", "\"\\u00e9\"", "\"q\\\"\"", "\"é\""][next() as usize % 6]),
                5 => out.push_str(["-0", "1e5", "2E-3", "0.5", "18446744073709551615", "-9223372036854775808"][next() as usize % 6]),
                6 | 7 => {
                    out.push('[');
                    for i in 0..next() % 4 {
                        if i > 0 {
                            out.push(',');
                        }
                        gen(next, depth + 1, out);
                    }
                    out.push(']');
                }
                _ => {
                    out.push('{');
                    for i in 0..next() % 4 {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(["\"a\"", "\"b\"", "\"op\"", "\"a\""][next() as usize % 4]);
                        out.push(':');
                        gen(next, depth + 1, out);
                    }
                    out.push('}');
                }
            }
        }
        let mut parsed = 0;
        for _ in 0..5000 {
            let mut s = String::new();
            gen(&mut next, 0, &mut s);
            let mut bytes = s.into_bytes();
            if next() % 3 == 0 && !bytes.is_empty() {
                let i = next() as usize % bytes.len();
                bytes[i] = b"[]{}\",:\\ 0-.eu"[next() as usize % 14];
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let (_, ours) = both(&text);
            parsed += ours.is_some() as usize;
            agree(&text);
        }
        assert!(parsed > 3000, "only {parsed} of 5000 parsed here");
    }

    #[test]
    fn node_access_is_the_same_on_both_trees() {
        let text = r#"{"op":"mutate","where":[["_uuid","==",["uuid","x"]]],"n":7,"f":1.5,"t":true}"#;
        let bump = Bump::new();
        let j = parse(&bump, text.as_bytes()).unwrap();
        let v: Value = serde_json::from_str(text).unwrap();
        fn look<J: JsonNode>(n: &J) -> (Vec<String>, Option<&str>, Option<i64>, Option<f64>, Option<bool>, usize, bool) {
            (
                n.keys().map(str::to_string).collect(),
                n.get("op").and_then(JsonNode::as_str),
                n.get("n").and_then(JsonNode::as_i64),
                n.get("f").and_then(JsonNode::as_f64),
                n.get("t").and_then(JsonNode::as_bool),
                n.get("where").and_then(JsonNode::as_slice).map_or(0, |w| w[0].as_slice().unwrap().len()),
                n.get("missing").is_none() && n.is_object(),
            )
        }
        assert_eq!(look(&j), look(&v));
        assert_eq!(JsonNode::to_text(&j), v.to_string());
    }
}
