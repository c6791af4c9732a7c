//! The syntax tree of a match expression, as written.
//!
//! Nothing here knows about fields: `tcp.dst` is just a name until
//! [`crate::annotate`](mod@crate::annotate) looks it up. The tree keeps the written operand order
//! (`80 == tcp.src`), constant formats, sets and ranges, so that
//! [`crate::print`] can give the text back in canonical form. Parentheses are
//! not nodes: nesting is implied by the tree, and the printer adds them where
//! the grammar needs them.
//!
//! Nodes carry spans for error messages; [`Expr::without_spans`] gives a copy
//! with all spans zeroed, for comparing trees parsed from different texts.

use std::fmt;

pub use crate::lexer::{Constant, Format, Mask};
use crate::Span;

/// A relational operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RelOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl RelOp {
    /// The operator's text.
    pub fn as_str(self) -> &'static str {
        match self {
            RelOp::Eq => "==",
            RelOp::Ne => "!=",
            RelOp::Lt => "<",
            RelOp::Le => "<=",
            RelOp::Gt => ">",
            RelOp::Ge => ">=",
        }
    }

    /// `!(a op b)` is `a op.negate() b`.
    pub fn negate(self) -> RelOp {
        match self {
            RelOp::Eq => RelOp::Ne,
            RelOp::Ne => RelOp::Eq,
            RelOp::Lt => RelOp::Ge,
            RelOp::Le => RelOp::Gt,
            RelOp::Gt => RelOp::Le,
            RelOp::Ge => RelOp::Lt,
        }
    }

    /// `a op b` is `b op.swap() a`.
    pub fn swap(self) -> RelOp {
        match self {
            RelOp::Eq => RelOp::Eq,
            RelOp::Ne => RelOp::Ne,
            RelOp::Lt => RelOp::Gt,
            RelOp::Le => RelOp::Ge,
            RelOp::Gt => RelOp::Lt,
            RelOp::Ge => RelOp::Le,
        }
    }

    /// `==` or `!=`.
    pub fn is_equality(self) -> bool {
        matches!(self, RelOp::Eq | RelOp::Ne)
    }
}

impl fmt::Display for RelOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which bits of a field a reference selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bits {
    /// The whole field: `reg0`.
    All,
    /// One bit: `reg0[3]`.
    Bit(u32),
    /// An inclusive range: `reg0[0..15]`.
    Range(u32, u32),
}

/// A field, subfield or predicate name with an optional bit selection.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldRef {
    /// The symbol name: `ip4.src`.
    pub name: String,
    /// The selected bits.
    pub bits: Bits,
    /// Where it was written.
    pub span: Span,
}

/// One operand of a comparison (or one element of a set).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// An integer or address, maybe masked.
    Const(Constant, Span),
    /// A quoted string (for `inport`/`outport`).
    Str(String, Span),
    /// `$name`
    AddressSet(String, Span),
    /// `@name`
    PortGroup(String, Span),
    /// `^name`
    Template(String, Span),
}

impl Value {
    /// Where the operand was written.
    pub fn span(&self) -> Span {
        match self {
            Value::Const(_, s)
            | Value::Str(_, s)
            | Value::AddressSet(_, s)
            | Value::PortGroup(_, s)
            | Value::Template(_, s) => *s,
        }
    }

    fn erase(&mut self) {
        match self {
            Value::Const(_, s)
            | Value::Str(_, s)
            | Value::AddressSet(_, s)
            | Value::PortGroup(_, s)
            | Value::Template(_, s) => *s = Span::default(),
        }
    }
}

/// The constant side of a comparison: one value or a `{...}` set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// A single value.
    Value(Value),
    /// `{a, b, c}` (commas optional); never empty.
    Set(Vec<Value>, Span),
}

impl Operand {
    /// Where the operand was written.
    pub fn span(&self) -> Span {
        match self {
            Operand::Value(v) => v.span(),
            Operand::Set(_, s) => *s,
        }
    }

    fn erase(&mut self) {
        match self {
            Operand::Value(v) => v.erase(),
            Operand::Set(vs, s) => {
                *s = Span::default();
                vs.iter_mut().for_each(Value::erase);
            }
        }
    }
}

/// How a Boolean constant was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BoolForm {
    /// `1` or `0`
    Digit,
    /// `true` or `false`
    Word,
}

/// A match expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    /// `1`, `0`, `true`, `false`.
    Bool {
        value: bool,
        form: BoolForm,
        span: Span,
    },
    /// A bare field or predicate used as a Boolean: `ip4`, `ct.new`, `reg0[3]`.
    Field(FieldRef),
    /// `field op operand`, or `operand op field` when `reversed`.
    /// The operator is as written (not swapped) in both cases.
    Cmp {
        field: FieldRef,
        op: RelOp,
        operand: Operand,
        reversed: bool,
        span: Span,
    },
    /// `low op1 field op2 high`, with `op1`/`op2` both in `<`/`<=` or both
    /// in `>`/`>=`.
    Range {
        low: Value,
        op1: RelOp,
        field: FieldRef,
        op2: RelOp,
        high: Value,
        span: Span,
    },
    /// `is_chassis_resident("port")`.
    ChassisResident { port: String, span: Span },
    /// `!e`.
    Not(Box<Expr>, Span),
    /// `a && b && ...` (two or more).
    And(Vec<Expr>),
    /// `a || b || ...` (two or more).
    Or(Vec<Expr>),
}

impl Expr {
    /// A copy with every span set to `0..0`.
    pub fn without_spans(&self) -> Expr {
        let mut e = self.clone();
        e.erase_spans();
        e
    }

    fn erase_spans(&mut self) {
        match self {
            Expr::Bool { span, .. } | Expr::ChassisResident { span, .. } => *span = Span::default(),
            Expr::Field(f) => f.span = Span::default(),
            Expr::Cmp {
                field,
                operand,
                span,
                ..
            } => {
                field.span = Span::default();
                operand.erase();
                *span = Span::default();
            }
            Expr::Range {
                low,
                field,
                high,
                span,
                ..
            } => {
                low.erase();
                high.erase();
                field.span = Span::default();
                *span = Span::default();
            }
            Expr::Not(e, span) => {
                e.erase_spans();
                *span = Span::default();
            }
            Expr::And(es) | Expr::Or(es) => es.iter_mut().for_each(Expr::erase_spans),
        }
    }

    /// Where the expression was written (for `And`/`Or`, from the first to
    /// the last operand).
    pub fn span(&self) -> Span {
        match self {
            Expr::Bool { span, .. }
            | Expr::ChassisResident { span, .. }
            | Expr::Cmp { span, .. }
            | Expr::Range { span, .. }
            | Expr::Not(_, span) => *span,
            Expr::Field(f) => f.span,
            Expr::And(es) | Expr::Or(es) => match (es.first(), es.last()) {
                (Some(a), Some(b)) => a.span().to(b.span()),
                _ => Span::default(),
            },
        }
    }

    /// Calls `f` on every field reference, in written order.
    pub fn for_each_field(&self, f: &mut impl FnMut(&FieldRef)) {
        match self {
            Expr::Bool { .. } | Expr::ChassisResident { .. } => {}
            Expr::Field(r) | Expr::Cmp { field: r, .. } | Expr::Range { field: r, .. } => f(r),
            Expr::Not(e, _) => e.for_each_field(f),
            Expr::And(es) | Expr::Or(es) => es.iter().for_each(|e| e.for_each_field(f)),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::print::print(self))
    }
}
