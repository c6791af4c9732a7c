//! Resolving a parsed expression against the symbol table.
//!
//! [`annotate`] turns an [`Expr`] into a [`Match`]:
//!
//! - every field reference becomes bits of a root field (`reg0` is
//!   `xxreg0[96..127]`, `ct.new` is `ct_state[0]`);
//! - predicates are replaced by their expansions, and every symbol's
//!   prerequisites are added next to its use (`tcp.dst == 80` becomes
//!   `tcp.dst == 80 && ip.proto == 6 && (eth.type == 0x800 || eth.type == 0x86dd)`);
//! - `!` is pushed down to the leaves (De Morgan, relational operators
//!   inverted), so a `Match` has no negation node;
//! - sets become `||` of `==` (or `&&` of `!=`), ranges become two comparisons;
//! - types are checked: unknown names, width of constants against fields,
//!   string against integer, ordering or subfields on nominal fields, and
//!   nominal fields or predicates tested in the negative sense.
//!
//! Address sets (`$name`) and port groups (`@name`) stay symbolic: their
//! contents live in the southbound database and are the compiler's business.
//! Template variables (`^name`) must be expanded before annotation.

use std::fmt;

use crate::expr::{Bits, Expr, FieldRef, Operand, RelOp, Value};
use crate::lexer::{write_json_string, Constant};
use crate::parser::parse_expr;
use crate::symtab::{Kind, Level, Part, Symbol, Symtab};
use crate::{Error, Result, Span};

/// Bits of a root field: `width` bits from bit `lo`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldBits {
    /// The root symbol (a [`Kind::Field`]): `xxreg0`, `ct_state`, `tcp.dst`.
    pub field: String,
    /// Least-significant selected bit.
    pub lo: u32,
    /// Number of selected bits.
    pub width: u32,
    /// Width of the whole root field (to print `f` rather than `f[0..n]`).
    pub field_width: u32,
}

/// An annotated match: the compiler's input.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Match {
    /// Always or never.
    Bool(bool),
    /// `field op value/mask`; `value` and `mask` are aligned to the selected
    /// bits (bit 0 is `field.lo`). `mask` is all ones for unmasked constants.
    Cmp {
        field: FieldBits,
        op: RelOp,
        value: u128,
        mask: u128,
    },
    /// `field == $name` or `field != $name`.
    AddressSet {
        field: FieldBits,
        op: RelOp,
        name: String,
    },
    /// `inport == "lp"` (string fields are only ever tested with `==`).
    Port { field: String, name: String },
    /// `inport == @pg`.
    PortGroup { field: String, name: String },
    /// `is_chassis_resident("lp")`, or its negation.
    ChassisResident { port: String, positive: bool },
    /// All of them.
    And(Vec<Match>),
    /// Any of them.
    Or(Vec<Match>),
}

impl Match {
    /// `&&` of `ms`, flattening nested `&&` and dropping repeats (a symbol
    /// used twice brings its prerequisites twice).
    pub fn and(ms: Vec<Match>) -> Match {
        Match::join(ms, true)
    }

    /// `||` of `ms`, flattening nested `||` and dropping repeats.
    pub fn or(ms: Vec<Match>) -> Match {
        Match::join(ms, false)
    }

    fn join(ms: Vec<Match>, and: bool) -> Match {
        let mut out = Vec::new();
        for m in ms {
            let parts = match m {
                Match::And(inner) if and => inner,
                Match::Or(inner) if !and => inner,
                m => vec![m],
            };
            for p in parts {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        match out.len() {
            0 => Match::Bool(and),
            1 => out.pop().unwrap_or(Match::Bool(and)),
            _ if and => Match::And(out),
            _ => Match::Or(out),
        }
    }
}

fn write_bits(f: &mut fmt::Formatter<'_>, b: &FieldBits) -> fmt::Result {
    f.write_str(&b.field)?;
    if b.lo == 0 && b.width == b.field_width {
        Ok(())
    } else if b.width == 1 {
        write!(f, "[{}]", b.lo)
    } else {
        write!(f, "[{}..{}]", b.lo, b.lo + b.width - 1)
    }
}

fn width_mask(w: u32) -> u128 {
    if w >= 128 {
        u128::MAX
    } else {
        (1u128 << w) - 1
    }
}

/// Prints in the match language itself, over root fields, so the output
/// parses (and annotates) again.
impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Match::Bool(b) => f.write_str(if *b { "1" } else { "0" }),
            Match::Cmp {
                field,
                op,
                value,
                mask,
            } => {
                write_bits(f, field)?;
                if *mask == width_mask(field.width) {
                    if *value < 0x10000 {
                        write!(f, " {op} {value}")
                    } else {
                        write!(f, " {op} {value:#x}")
                    }
                } else {
                    write!(f, " {op} {value:#x}/{mask:#x}")
                }
            }
            Match::AddressSet { field, op, name } => {
                write_bits(f, field)?;
                write!(f, " {op} ${name}")
            }
            Match::Port { field, name } => {
                write!(f, "{field} == ")?;
                write_json_string(f, name)
            }
            Match::PortGroup { field, name } => write!(f, "{field} == @{name}"),
            Match::ChassisResident { port, positive } => {
                f.write_str(if *positive {
                    "is_chassis_resident("
                } else {
                    "!is_chassis_resident("
                })?;
                write_json_string(f, port)?;
                f.write_str(")")
            }
            Match::And(ms) | Match::Or(ms) => {
                let sep = if matches!(self, Match::And(_)) {
                    " && "
                } else {
                    " || "
                };
                for (i, m) in ms.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    if matches!(m, Match::And(_) | Match::Or(_)) {
                        write!(f, "({m})")?;
                    } else {
                        write!(f, "{m}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Annotates `e` against `symtab`.
pub fn annotate(e: &Expr, symtab: &Symtab) -> Result<Match> {
    Annotator {
        symtab,
        nesting: Vec::new(),
    }
    .expr(e, true)
}

/// Parses and annotates `text` against `symtab`.
pub fn parse_and_annotate(text: &str, symtab: &Symtab) -> Result<Match> {
    annotate(&parse_expr(text)?, symtab)
}

struct Annotator<'a> {
    symtab: &'a Symtab,
    /// Symbols being expanded, to catch recursive definitions.
    nesting: Vec<String>,
}

impl<'a> Annotator<'a> {
    /// Annotates `e`, negated unless `pos`.
    fn expr(&mut self, e: &Expr, pos: bool) -> Result<Match> {
        match e {
            Expr::Bool { value, .. } => Ok(Match::Bool(*value == pos)),
            Expr::Not(inner, _) => self.expr(inner, !pos),
            Expr::And(es) | Expr::Or(es) => {
                let ms = es
                    .iter()
                    .map(|e| self.expr(e, pos))
                    .collect::<Result<Vec<_>>>()?;
                // De Morgan: a negated && is an || of negations, and vice versa.
                Ok(if matches!(e, Expr::And(_)) == pos {
                    Match::and(ms)
                } else {
                    Match::or(ms)
                })
            }
            Expr::ChassisResident { port, .. } => Ok(Match::ChassisResident {
                port: port.clone(),
                positive: pos,
            }),
            Expr::Field(f) => self.bare(f, pos),
            Expr::Cmp {
                field,
                op,
                operand,
                reversed,
                span,
            } => {
                let op = if *reversed { op.swap() } else { *op };
                self.cmp(field, op, operand, pos, *span)
            }
            Expr::Range {
                low,
                op1,
                field,
                op2,
                high,
                span,
            } => {
                // `low op1 f op2 high` is `f op1' low && f op2 high`.
                let a = self.cmp(field, op1.swap(), &Operand::Value(low.clone()), pos, *span)?;
                let b = self.cmp(field, *op2, &Operand::Value(high.clone()), pos, *span)?;
                Ok(if pos {
                    Match::and(vec![a, b])
                } else {
                    Match::or(vec![a, b])
                })
            }
        }
    }

    fn lookup(&self, f: &FieldRef) -> Result<&'a Symbol> {
        match self.symtab.get(&f.name) {
            Some(Symbol {
                kind: Kind::OvnField,
                ..
            }) => Err(Error::semantic(
                f.span,
                format!("`{}` can only be assigned by actions, not matched", f.name),
            )),
            Some(s) => Ok(s),
            None => Err(Error::semantic(
                f.span,
                format!("unknown field `{}`", f.name),
            )),
        }
    }

    /// A field or predicate used as a Boolean.
    fn bare(&mut self, f: &FieldRef, pos: bool) -> Result<Match> {
        let sym = self.lookup(f)?;
        match &sym.kind {
            Kind::Predicate { .. } => {
                self.no_bits_on_predicate(sym, f)?;
                self.predicate(sym, pos, f.span)
            }
            Kind::String(_) => Err(Error::semantic(
                f.span,
                format!(
                    "string field `{}` is not a Boolean; compare it, e.g. `{} == \"lp1\"`",
                    sym.name, sym.name
                ),
            )),
            _ => {
                let bits = self.select(sym, f)?;
                if bits.width != 1 {
                    return Err(Error::semantic(
                        f.span,
                        format!(
                            "`{}` is a {}-bit field, not a Boolean: an explicit `!= 0` is required \
                             for an inequality test of a multibit field against 0",
                            crate::print::print(&Expr::Field(f.clone())),
                            bits.width
                        ),
                    ));
                }
                let m = Match::Cmp {
                    field: bits,
                    op: RelOp::Eq,
                    value: pos as u128,
                    mask: 1,
                };
                self.with_prereqs(sym, m, f.span)
            }
        }
    }

    /// A predicate acts as a 1-bit field: `ip4[0]` is `ip4` (as upstream).
    fn no_bits_on_predicate(&self, sym: &Symbol, f: &FieldRef) -> Result<()> {
        let (lo, hi) = match f.bits {
            Bits::All => return Ok(()),
            Bits::Bit(b) => (b, b),
            Bits::Range(lo, hi) => (lo, hi),
        };
        if hi == 0 {
            return Ok(());
        }
        Err(Error::semantic(
            f.span,
            format!(
                "cannot select bits {lo} to {hi} of predicate `{}` (a 1-bit value)",
                sym.name
            ),
        ))
    }

    fn cmp(
        &mut self,
        f: &FieldRef,
        op: RelOp,
        operand: &Operand,
        pos: bool,
        span: Span,
    ) -> Result<Match> {
        let sym = self.lookup(f)?;
        match &sym.kind {
            Kind::Predicate { .. } => {
                self.no_bits_on_predicate(sym, f)?;
                // A predicate compares like a 1-bit field with 0 or 1.
                let bit = match operand {
                    Operand::Value(Value::Const(c, _)) if c.mask.is_none() && c.value <= 1 && op.is_equality() => {
                        c.value == 1
                    }
                    _ => {
                        return Err(Error::semantic(
                            span,
                            format!("predicate `{}` can only be compared with `== 1`, `== 0`, `!= 1` or `!= 0`", sym.name),
                        ))
                    }
                };
                let positive = (bit == (op == RelOp::Eq)) == pos;
                self.predicate(sym, positive, f.span)
            }
            Kind::String(_) => self.string_cmp(sym, f, op, operand, pos),
            _ => {
                let bits = self.select(sym, f)?;
                if sym.level == Level::Nominal && !op.is_equality() {
                    return Err(Error::semantic(
                        span,
                        format!(
                            "only == and != operators may be used with nominal field `{}`",
                            sym.name
                        ),
                    ));
                }
                let eff = if pos { op } else { op.negate() };
                if sym.level == Level::Nominal && eff != RelOp::Eq {
                    return Err(self.nominal_error(sym, span));
                }
                let m = match operand {
                    Operand::Value(v) => self.int_value(sym, &bits, eff, v)?,
                    Operand::Set(vs, set_span) => {
                        if !op.is_equality() {
                            return Err(Error::semantic(
                                *set_span,
                                "only == and != operators may be used with value sets",
                            ));
                        }
                        let ms = vs
                            .iter()
                            .map(|v| self.int_value(sym, &bits, eff, v))
                            .collect::<Result<Vec<_>>>()?;
                        if eff == RelOp::Eq {
                            Match::or(ms)
                        } else {
                            Match::and(ms)
                        }
                    }
                };
                self.with_prereqs(sym, m, f.span)
            }
        }
    }

    fn nominal_error(&self, sym: &Symbol, span: Span) -> Error {
        Error::semantic(
            span,
            format!(
                "nominal field `{}` may only be tested for equality (taking enclosing `!` operators into account)",
                sym.name
            ),
        )
    }

    /// One integer comparison of `bits` with a single value.
    fn int_value(&self, sym: &Symbol, bits: &FieldBits, op: RelOp, v: &Value) -> Result<Match> {
        match v {
            Value::Const(c, span) => self.int_const(sym, bits, op, c, *span),
            Value::AddressSet(name, span) => {
                if !op.is_equality() {
                    return Err(Error::semantic(*span, "only == and != operators may be used with address sets"));
                }
                Ok(Match::AddressSet { field: bits.clone(), op, name: name.clone() })
            }
            Value::Str(_, span) => Err(Error::semantic(
                *span,
                format!("integer field `{}` is not compatible with a string constant", sym.name),
            )),
            Value::PortGroup(name, span) => Err(Error::semantic(
                *span,
                format!("port group `@{name}` holds logical ports; compare it with `inport` or `outport` (its addresses are `${name}_ip4` / `${name}_ip6`)"),
            )),
            Value::Template(name, span) => Err(unexpanded(name, *span)),
        }
    }

    fn int_const(
        &self,
        sym: &Symbol,
        bits: &FieldBits,
        op: RelOp,
        c: &Constant,
        span: Span,
    ) -> Result<Match> {
        if c.mask.is_some() && !op.is_equality() {
            return Err(Error::semantic(
                span,
                "only == and != operators may be used with masked constants; use a subfield instead \
                 (e.g. `eth.src[0..15] > 0x1111`)",
            ));
        }
        if c.width() > bits.width {
            return Err(Error::semantic(
                span,
                format!(
                    "{}-bit constant is not compatible with {}-bit field `{}`",
                    c.width(),
                    bits.width,
                    sym.name
                ),
            ));
        }
        let mask = c.mask_bits() & width_mask(bits.width);
        Ok(Match::Cmp {
            field: bits.clone(),
            op,
            value: c.value & mask,
            mask,
        })
    }

    fn string_cmp(
        &mut self,
        sym: &Symbol,
        f: &FieldRef,
        op: RelOp,
        operand: &Operand,
        pos: bool,
    ) -> Result<Match> {
        if f.bits != Bits::All {
            return Err(Error::semantic(
                f.span,
                format!("cannot select bits of string field `{}`", sym.name),
            ));
        }
        let span = f.span.to(operand.span());
        if !op.is_equality() {
            return Err(Error::semantic(
                span,
                format!(
                    "only == and != operators may be used with string field `{}`",
                    sym.name
                ),
            ));
        }
        if (op == RelOp::Eq) != pos {
            return Err(self.nominal_error(sym, span));
        }
        let one = |v: &Value| -> Result<Match> {
            match v {
                Value::Str(s, _) => Ok(Match::Port { field: sym.name.clone(), name: s.clone() }),
                Value::PortGroup(g, _) => Ok(Match::PortGroup { field: sym.name.clone(), name: g.clone() }),
                Value::Const(c, span) => Err(Error::semantic(
                    *span,
                    format!("string field `{}` is not compatible with integer constant `{c}`; quote port names", sym.name),
                )),
                Value::AddressSet(n, span) => Err(Error::semantic(
                    *span,
                    format!("address set `${n}` holds addresses, but `{}` is a logical port; use a port group `@...`", sym.name),
                )),
                Value::Template(n, span) => Err(unexpanded(n, *span)),
            }
        };
        match operand {
            Operand::Value(v) => one(v),
            Operand::Set(vs, _) => Ok(Match::or(vs.iter().map(one).collect::<Result<Vec<_>>>()?)),
        }
    }

    /// Bits selected by `f` of (sub)field `sym`, resolved to the root field.
    fn select(&self, sym: &Symbol, f: &FieldRef) -> Result<FieldBits> {
        let (lo, width) = match f.bits {
            Bits::All => (0, sym.width),
            Bits::Bit(b) => (b, 1),
            // Saturating: indexes come from the input and may be huge.
            Bits::Range(lo, hi) => (lo, hi.saturating_sub(lo).saturating_add(1)),
        };
        if f.bits != Bits::All {
            if sym.level == Level::Nominal {
                return Err(Error::semantic(
                    f.span,
                    format!("cannot select bits of nominal field `{}`", sym.name),
                ));
            }
            if lo as u64 + width as u64 > sym.width as u64 {
                return Err(Error::semantic(
                    f.span,
                    format!(
                        "cannot select bits {} to {} of {}-bit field `{}`",
                        lo,
                        lo as u64 + width as u64 - 1,
                        sym.width,
                        sym.name
                    ),
                ));
            }
        }
        let slice = self
            .symtab
            .slice(&sym.name)
            .ok_or_else(|| Error::semantic(f.span, format!("`{}` is not a field", sym.name)))?;
        Ok(FieldBits {
            field: slice.root.name.clone(),
            lo: slice.lo + lo,
            width,
            field_width: slice.root.width,
        })
    }

    /// `m && prerequisites of sym` (and of every parent of a subfield).
    fn with_prereqs(&mut self, sym: &Symbol, m: Match, use_span: Span) -> Result<Match> {
        let mut all = vec![m];
        let mut cur = Some(sym);
        while let Some(s) = cur {
            if let Some(p) = &s.prereqs {
                all.push(self.expand(&s.name, p, true, use_span, Part::Prereqs)?);
            }
            cur = match &s.kind {
                Kind::Subfield { parent, .. } => self.symtab.get(parent),
                _ => None,
            };
        }
        Ok(Match::and(all))
    }

    fn predicate(&mut self, sym: &Symbol, positive: bool, use_span: Span) -> Result<Match> {
        if !positive && sym.level == Level::Nominal {
            let n = &sym.name;
            return Err(Error::semantic(
                use_span,
                format!("nominal predicate `{n}` may only be tested positively, e.g. `{n}` or `{n} == 1` but not `!{n}` or `{n} == 0`"),
            ));
        }
        let Kind::Predicate { expansion } = &sym.kind else {
            unreachable!("predicate() on non-predicate")
        };
        let m = self.expand(&sym.name, expansion, positive, use_span, Part::Expansion)?;
        self.with_prereqs(sym, m, use_span)
    }

    /// Parses and annotates text belonging to symbol `name` (or takes the
    /// result from the symbol table's cache); errors inside it are reported
    /// at the place the symbol was used.
    fn expand(
        &mut self,
        name: &str,
        text: &str,
        pos: bool,
        use_span: Span,
        part: Part,
    ) -> Result<Match> {
        if let Some(m) = self.symtab.cached(name, part, pos) {
            return Ok(m.clone());
        }
        let what = part.as_str();
        if self.nesting.iter().any(|n| n == name) {
            return Err(Error::semantic(
                use_span,
                format!("recursive expansion of symbol `{name}`"),
            ));
        }
        self.nesting.push(name.to_string());
        let r = parse_expr(text).and_then(|e| self.expr(&e, pos));
        self.nesting.pop();
        if let Ok(m) = &r {
            self.symtab.remember(name, part, pos, m);
        }
        r.map_err(|e| {
            Error::semantic(
                use_span,
                format!("in the {what} of `{name}` (`{text}`): {}", e.message()),
            )
        })
    }
}

fn unexpanded(name: &str, span: Span) -> Error {
    Error::semantic(span, format!("unexpanded template variable `^{name}`: substitute chassis templates before annotating"))
}
