//! Canonical text for match expressions.
//!
//! Canonical means: single spaces around binary operators, `, ` between set
//! elements, constants in the form they were written but normalized (hex in
//! lower case without leading zeros, IPv6 compressed per RFC 5952, Ethernet
//! as six lower-case pairs), and parentheses exactly where the grammar needs
//! them (an `&&`/`||` inside another; a relation, `&&`, `||` or `!` under `!`).
//! `parse_expr(&print(e))` gives back `e` (ignoring spans) for every tree the
//! parser can produce, and printing is idempotent.

use std::fmt::Write;

use crate::expr::{Bits, BoolForm, Expr, FieldRef, Operand, Value};
use crate::lexer::write_json_string;

/// The canonical text of `e`.
pub fn print(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, e);
    out
}

fn write_expr(out: &mut String, e: &Expr) {
    match e {
        Expr::Bool { value, form, .. } => out.push_str(match (form, value) {
            (BoolForm::Digit, true) => "1",
            (BoolForm::Digit, false) => "0",
            (BoolForm::Word, true) => "true",
            (BoolForm::Word, false) => "false",
        }),
        Expr::Field(f) => write_field(out, f),
        Expr::Cmp {
            field,
            op,
            operand,
            reversed,
            ..
        } => {
            if *reversed {
                write_operand(out, operand);
                let _ = write!(out, " {op} ");
                write_field(out, field);
            } else {
                write_field(out, field);
                let _ = write!(out, " {op} ");
                write_operand(out, operand);
            }
        }
        Expr::Range {
            low,
            op1,
            field,
            op2,
            high,
            ..
        } => {
            write_value(out, low);
            let _ = write!(out, " {op1} ");
            write_field(out, field);
            let _ = write!(out, " {op2} ");
            write_value(out, high);
        }
        Expr::ChassisResident { port, .. } => {
            out.push_str("is_chassis_resident(");
            let _ = write_json_string(out, port);
            out.push(')');
        }
        Expr::Not(inner, _) => {
            out.push('!');
            let needs_parens = matches!(
                **inner,
                Expr::Cmp { .. } | Expr::Range { .. } | Expr::And(_) | Expr::Or(_) | Expr::Not(..)
            );
            write_maybe_parens(out, inner, needs_parens);
        }
        Expr::And(es) | Expr::Or(es) => {
            let (sep, empty) = if matches!(e, Expr::And(_)) {
                (" && ", "1")
            } else {
                (" || ", "0")
            };
            if es.is_empty() {
                out.push_str(empty);
            }
            for (i, child) in es.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                write_maybe_parens(out, child, matches!(child, Expr::And(_) | Expr::Or(_)));
            }
        }
    }
}

fn write_maybe_parens(out: &mut String, e: &Expr, parens: bool) {
    if parens {
        out.push('(');
    }
    write_expr(out, e);
    if parens {
        out.push(')');
    }
}

/// Writes `name`, `name[bit]` or `name[lo..hi]`.
pub fn write_field(out: &mut String, f: &FieldRef) {
    out.push_str(&f.name);
    let _ = match f.bits {
        Bits::All => Ok(()),
        Bits::Bit(b) => write!(out, "[{b}]"),
        Bits::Range(lo, hi) => write!(out, "[{lo}..{hi}]"),
    };
}

/// Writes a value or a `{...}` set.
pub fn write_operand(out: &mut String, o: &Operand) {
    match o {
        Operand::Value(v) => write_value(out, v),
        Operand::Set(vs, _) => {
            out.push('{');
            for (i, v) in vs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// Writes one value.
pub fn write_value(out: &mut String, v: &Value) {
    let _ = match v {
        Value::Const(c, _) => write!(out, "{c}"),
        Value::Str(s, _) => write_json_string(out, s),
        Value::AddressSet(s, _) => write!(out, "${s}"),
        Value::PortGroup(s, _) => write!(out, "@{s}"),
        Value::Template(s, _) => write!(out, "^{s}"),
    };
}
