//! Atoms: the scalar values of OVSDB (integer, real, boolean, string, uuid).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::sync::Arc;

use serde_json::Value;

use crate::error::OvsdbError;
use crate::json::JsonNode;
use crate::schema::{AtomicType, BaseType};
use crate::uuid::Uuid;

thread_local! {
    /// The empty string, shared by every default string atom (each new row
    /// has some).
    static EMPTY: Arc<str> = Arc::from("");
}

/// One scalar value.
#[derive(Debug, Clone)]
pub enum Atom {
    /// 64-bit signed integer.
    Integer(i64),
    /// IEEE double (never NaN or infinite: JSON cannot carry them).
    Real(f64),
    /// Boolean.
    Boolean(bool),
    /// UTF-8 string, shared.
    String(Arc<str>),
    /// UUID.
    Uuid(Uuid),
}

impl Atom {
    /// The atomic type of this atom.
    pub fn atomic_type(&self) -> AtomicType {
        match self {
            Atom::Integer(_) => AtomicType::Integer,
            Atom::Real(_) => AtomicType::Real,
            Atom::Boolean(_) => AtomicType::Boolean,
            Atom::String(_) => AtomicType::String,
            Atom::Uuid(_) => AtomicType::Uuid,
        }
    }

    /// The default atom of a type: 0, 0.0, false, "" or the all-zero UUID.
    pub fn default_of(t: AtomicType) -> Atom {
        match t {
            AtomicType::Integer => Atom::Integer(0),
            AtomicType::Real => Atom::Real(0.0),
            AtomicType::Boolean => Atom::Boolean(false),
            AtomicType::String => Atom::String(EMPTY.with(Arc::clone)),
            AtomicType::Uuid => Atom::Uuid(Uuid::nil()),
        }
    }

    /// Makes a string atom.
    pub fn string(s: &str) -> Atom {
        Atom::String(Arc::from(s))
    }

    /// The UUID, if this is a uuid atom.
    pub fn as_uuid(&self) -> Option<Uuid> {
        match self {
            Atom::Uuid(u) => Some(*u),
            _ => None,
        }
    }

    /// The string, if this is a string atom.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Atom::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer atom.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Atom::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// Parses an atom of type `base.atomic` from JSON, without checking
    /// `base`'s constraints. `named` resolves `["named-uuid", NAME]` when
    /// named UUIDs are allowed (inside a transaction).
    pub fn from_json_unchecked<J: JsonNode>(
        base: &BaseType,
        json: &J,
        named: Option<&mut dyn FnMut(&str) -> Result<Uuid, OvsdbError>>,
    ) -> Result<Atom, OvsdbError> {
        match base.atomic {
            AtomicType::Integer => match json.as_i64() {
                Some(i) => Ok(Atom::Integer(i)),
                _ => Err(syntax_at(json, "expected integer")),
            },
            AtomicType::Real => match json.as_f64() {
                Some(f) if f.is_finite() => Ok(Atom::Real(f)),
                _ => Err(syntax_at(json, "expected real")),
            },
            AtomicType::Boolean => match json.as_bool() {
                Some(b) => Ok(Atom::Boolean(b)),
                _ => Err(syntax_at(json, "expected boolean")),
            },
            AtomicType::String => match json.as_str() {
                Some(s) => Ok(Atom::String(Arc::from(s))),
                _ => Err(syntax_at(json, "expected string")),
            },
            AtomicType::Uuid => parse_uuid_json(json, named).map(Atom::Uuid),
        }
    }

    /// Parses an atom from JSON and checks it against `base`'s constraints.
    pub fn from_json<J: JsonNode>(
        base: &BaseType,
        json: &J,
        named: Option<&mut dyn FnMut(&str) -> Result<Uuid, OvsdbError>>,
    ) -> Result<Atom, OvsdbError> {
        let atom = Self::from_json_unchecked(base, json, named)?;
        base.check(&atom)?;
        Ok(atom)
    }

    /// The atom's JSON form.
    pub fn to_json(&self) -> Value {
        match self {
            Atom::Integer(i) => Value::from(*i),
            Atom::Real(f) => real_to_json(*f),
            Atom::Boolean(b) => Value::Bool(*b),
            Atom::String(s) => Value::String(s.to_string()),
            Atom::Uuid(u) => Value::Array(vec![Value::from("uuid"), Value::String(u.to_string())]),
        }
    }
}

/// Appends `s` as a JSON string (quoted and escaped as serde_json does).
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    // Most strings (names, addresses, UUIDs) need no escape: copied whole.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    // Writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

impl Atom {
    /// Appends the atom's JSON form to `out`: the bytes of
    /// `self.to_json().to_string()`, without building the `Value`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Atom::Integer(i) => {
                let _ = write!(out, "{i}");
            }
            Atom::Real(f) => {
                let _ = serde_json::to_writer(&mut *out, &real_to_json(*f));
            }
            Atom::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Atom::String(s) => write_json_str(out, s),
            Atom::Uuid(u) => {
                out.extend_from_slice(b"[\"uuid\",\"");
                u.write_text(out);
                out.extend_from_slice(b"\"]");
            }
        }
    }
}

/// JSON for a real: integral values print without a fraction, as OVSDB does.
pub(crate) fn real_to_json(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < (1u64 << 53) as f64 {
        // -0.0 prints as 0, like every other integral real.
        return Value::from(f as i64);
    }
    serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)
}

fn parse_uuid_json<J: JsonNode>(
    json: &J,
    named: Option<&mut dyn FnMut(&str) -> Result<Uuid, OvsdbError>>,
) -> Result<Uuid, OvsdbError> {
    if let Some(a) = json.as_slice() {
        if a.len() == 2 {
            if let (Some(kind), Some(s)) = (a[0].as_str(), a[1].as_str()) {
                match kind {
                    "uuid" => {
                        return Uuid::parse(s).ok_or_else(|| syntax_at(json, format!("\"{s}\" is not a valid UUID")))
                    }
                    "named-uuid" => {
                        return match named {
                            Some(f) => f(s),
                            None => Err(syntax_at(json, "named-uuid is not allowed here")),
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Err(syntax_at(json, "expected [\"uuid\", <string>] or [\"named-uuid\", <string>]"))
}

/// A "syntax error" about a piece of JSON (named in the error's `syntax`
/// member, as ovsdb-server does).
pub(crate) fn syntax_at(json: &impl JsonNode, msg: impl Into<String>) -> OvsdbError {
    OvsdbError::syntax(msg).at(json)
}

impl PartialEq for Atom {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Atom {}

impl PartialOrd for Atom {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Atom {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Atom::Integer(a), Atom::Integer(b)) => a.cmp(b),
            (Atom::Real(a), Atom::Real(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            (Atom::Boolean(a), Atom::Boolean(b)) => a.cmp(b),
            (Atom::String(a), Atom::String(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Atom::Uuid(a), Atom::Uuid(b)) => a.cmp(b),
            _ => (self.atomic_type() as u8).cmp(&(other.atomic_type() as u8)),
        }
    }
}

impl Hash for Atom {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Atom::Integer(i) => i.hash(state),
            // 0.0 and -0.0 compare equal, so they must hash alike.
            Atom::Real(f) => (if *f == 0.0 { 0.0f64 } else { *f }).to_bits().hash(state),
            Atom::Boolean(b) => b.hash(state),
            Atom::String(s) => s.hash(state),
            Atom::Uuid(u) => u.hash(state),
        }
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Atom::Integer(i) => write!(f, "{i}"),
            Atom::Real(r) => write!(f, "{}", real_to_json(*r)),
            Atom::Boolean(b) => write!(f, "{b}"),
            Atom::String(s) => write!(f, "{}", Value::String(s.to_string())),
            Atom::Uuid(u) => write!(f, "{u}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        for s in ["", "plain", "a\"b", "back\\slash", "tab\tnew\nline", "\u{0}\u{1f}\u{7f}", "é中😀", "</script>", "x\u{2028}y"] {
            let mut out = b"[".to_vec();
            write_json_str(&mut out, s);
            assert_eq!(String::from_utf8(out).unwrap(), format!("[{}", serde_json::to_string(s).unwrap()), "{s:?}");
        }
    }
}
