//! Recursive-descent parser for match expressions.
//!
//! Grammar (ovn-sb(5), "Logical_Flow TABLE"; precedence from high to low is
//! `()`, relational operators, `!`, then `&&`/`||`):
//!
//! ```text
//! expr     := not ( ("&&" not)* | ("||" not)* )      -- mixing && and || needs ()
//! not      := "!" primary | primary                  -- ! before a relation needs ()
//! primary  := "(" expr ")"
//!           | "is_chassis_resident" "(" STRING ")"
//!           | "true" | "false" | "0" | "1"
//!           | field [relop operand]
//!           | operand relop field [relop value]       -- `80 == tcp.src`, `1 <= f <= 9`
//! field    := ID ["[" INT [".." INT] "]"]
//! operand  := value | "{" (value [","])+ "}"
//! value    := CONST | STRING | $ID | @ID | ^ID
//! ```
//!
//! [`Parser`] is public so that the action parser can reuse its pieces
//! (`field_ref`, `value`, token helpers) on the same token stream.

use crate::expr::{Bits, BoolForm, Expr, FieldRef, Operand, RelOp, Value};
use crate::lexer::{tokenize, Constant, Format, Spanned, Token};
use crate::{Error, Result, Span};

/// Parses a complete match expression.
pub fn parse_expr(input: &str) -> Result<Expr> {
    let mut p = Parser::new(input)?;
    if p.at_end() {
        return Err(Error::syntax(
            p.here(),
            "empty expression (write `1` to match every packet)",
        ));
    }
    let e = p.expr()?;
    if !p.at_end() {
        return Err(p.unexpected("`&&`, `||` or end of expression"));
    }
    Ok(e)
}

/// A cursor over the tokens of one input.
pub struct Parser {
    tokens: Vec<Spanned>,
    pos: usize,
    len: usize,
    /// Open parentheses around the current position.
    depth: u32,
}

/// How deeply parentheses may nest: recursion is bounded, so no input can
/// exhaust the stack here or in the stages after parsing.
pub const MAX_NESTING: u32 = 100;

fn relop(t: &Token) -> Option<RelOp> {
    Some(match t {
        Token::Eq => RelOp::Eq,
        Token::Ne => RelOp::Ne,
        Token::Lt => RelOp::Lt,
        Token::Le => RelOp::Le,
        Token::Gt => RelOp::Gt,
        Token::Ge => RelOp::Ge,
        _ => return None,
    })
}

impl Parser {
    /// Tokenizes `input`.
    pub fn new(input: &str) -> Result<Parser> {
        Ok(Parser {
            tokens: tokenize(input)?,
            pos: 0,
            len: input.len(),
            depth: 0,
        })
    }

    /// True when every token has been consumed.
    pub fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    /// The next token, without consuming it.
    pub fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|t| &t.token)
    }

    /// The token after the next one.
    pub fn peek2(&self) -> Option<&Token> {
        self.tokens.get(self.pos + 1).map(|t| &t.token)
    }

    /// The span of the next token, or an empty span at the end of input.
    pub fn here(&self) -> Span {
        self.tokens
            .get(self.pos)
            .map_or(Span::new(self.len, self.len), |t| t.span)
    }

    /// Consumes and returns the next token.
    pub fn bump(&mut self) -> Option<Spanned> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    /// Consumes the next token if it equals `t`.
    pub fn eat(&mut self, t: &Token) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes `t` or fails with a message naming it.
    pub fn expect(&mut self, t: &Token) -> Result<Span> {
        let span = self.here();
        if self.eat(t) {
            Ok(span)
        } else {
            Err(self.unexpected(&format!("`{t}`")))
        }
    }

    /// A syntax error at the next token: "... expecting `what`".
    pub fn unexpected(&self, what: &str) -> Error {
        match self.tokens.get(self.pos) {
            Some(t) => Error::syntax(
                t.span,
                format!("unexpected `{}`, expecting {what}", t.token),
            ),
            None => Error::syntax(
                self.here(),
                format!("unexpected end of input, expecting {what}"),
            ),
        }
    }

    /// Where the last consumed token ended (0 before the first).
    pub fn prev_end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or(0, |t| t.span.end)
    }

    /// `expr` in the grammar.
    pub fn expr(&mut self) -> Result<Expr> {
        let (first, _) = self.not_expr()?;
        let op = match self.peek() {
            Some(Token::And) => Token::And,
            Some(Token::Or) => Token::Or,
            _ => return Ok(first),
        };
        let other = if op == Token::And {
            Token::Or
        } else {
            Token::And
        };
        let mut operands = vec![first];
        while self.eat(&op) {
            operands.push(self.not_expr()?.0);
        }
        if self.peek() == Some(&other) {
            return Err(Error::syntax(
                self.here(),
                "`&&` and `||` must be parenthesized when used together, e.g. `(a || b) && c`",
            ));
        }
        Ok(if op == Token::And {
            Expr::And(operands)
        } else {
            Expr::Or(operands)
        })
    }

    /// `not` in the grammar; the flag tells whether the result is a
    /// relation written without parentheses.
    fn not_expr(&mut self) -> Result<(Expr, bool)> {
        let start = self.here();
        if self.eat(&Token::Not) {
            if self.peek() == Some(&Token::Not) {
                // Upstream rejects `!!x`; `!(!x)` is the accepted spelling.
                return Err(Error::syntax(
                    self.here(),
                    "`!` cannot directly follow `!`: write `!(!x)`",
                ));
            }
            let (inner, bare_relation) = self.not_expr()?;
            if bare_relation {
                return Err(Error::syntax(
                    inner.span(),
                    "missing parentheses around operand of `!`: write `!(a == b)`",
                ));
            }
            let span = start.to(Span::new(self.prev_end(), self.prev_end()));
            return Ok((Expr::Not(Box::new(inner), span), false));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<(Expr, bool)> {
        let start = self.here();
        match self.peek().cloned() {
            Some(Token::LParen) => {
                if self.depth >= MAX_NESTING {
                    return Err(Error::syntax(
                        start,
                        format!("parentheses nested more than {MAX_NESTING} deep"),
                    ));
                }
                self.pos += 1;
                self.depth += 1;
                let e = self.expr();
                self.depth -= 1;
                let e = e?;
                self.expect(&Token::RParen)?;
                Ok((e, false))
            }
            Some(Token::Id(name))
                if name == "is_chassis_resident" && self.peek2() == Some(&Token::LParen) =>
            {
                self.pos += 2;
                let port = match self.bump() {
                    Some(Spanned {
                        token: Token::Str(s),
                        ..
                    }) => s,
                    _ => {
                        self.pos -= 1;
                        return Err(self.unexpected("a quoted logical port name"));
                    }
                };
                self.expect(&Token::RParen)?;
                let span = start.to(Span::new(self.prev_end(), self.prev_end()));
                Ok((Expr::ChassisResident { port, span }, false))
            }
            Some(Token::Id(name)) if name == "true" || name == "false" => {
                self.pos += 1;
                Ok((
                    Expr::Bool {
                        value: name == "true",
                        form: BoolForm::Word,
                        span: start,
                    },
                    false,
                ))
            }
            Some(Token::Id(_)) => {
                let field = self.field_ref()?;
                let Some(op) = self.peek().and_then(relop) else {
                    return Ok((Expr::Field(field), false));
                };
                self.pos += 1;
                let operand = self.operand()?;
                let span = start.to(operand.span());
                Ok((
                    Expr::Cmp {
                        field,
                        op,
                        operand,
                        reversed: false,
                        span,
                    },
                    true,
                ))
            }
            Some(Token::Const(_) | Token::Str(_) | Token::AddressSet(_) | Token::PortGroup(_))
            | Some(Token::Template(_) | Token::LCurly) => self.constant_first(),
            _ => Err(self.unexpected("a field name, constant, `(` or `!`")),
        }
    }

    /// A primary that starts with a constant: a Boolean literal, a reversed
    /// comparison, or a range.
    fn constant_first(&mut self) -> Result<(Expr, bool)> {
        let start = self.here();
        if let Some(Token::Const(c)) = self.peek() {
            let c = *c;
            if relop(self.peek2().unwrap_or(&Token::Comma)).is_none() {
                if c.format == Format::Decimal && c.mask.is_none() && c.value <= 1 {
                    self.pos += 1;
                    return Ok((
                        Expr::Bool {
                            value: c.value == 1,
                            form: BoolForm::Digit,
                            span: start,
                        },
                        false,
                    ));
                }
                return Err(Error::syntax(
                    start,
                    format!("constant `{c}` is not a Boolean; only 0 and 1 are (did you mean `field == {c}`?)"),
                ));
            }
        }
        let operand = self.operand()?;
        let Some(op1) = self.peek().and_then(relop) else {
            return Err(self.unexpected("a relational operator (`==`, `!=`, `<`, `<=`, `>`, `>=`)"));
        };
        self.pos += 1;
        let field = self.field_ref()?;
        let Some(op2) = self.peek().and_then(relop) else {
            let span = start.to(field.span);
            return Ok((
                Expr::Cmp {
                    field,
                    op: op1,
                    operand,
                    reversed: true,
                    span,
                },
                true,
            ));
        };
        let op2_span = self.here();
        self.pos += 1;
        let high = self.value()?;
        let low = match operand {
            Operand::Value(v) => v,
            Operand::Set(_, span) => {
                return Err(Error::syntax(
                    span,
                    "a range's bounds must be single constants, not sets",
                ))
            }
        };
        let up = |o: RelOp| matches!(o, RelOp::Lt | RelOp::Le);
        let down = |o: RelOp| matches!(o, RelOp::Gt | RelOp::Ge);
        if !(up(op1) && up(op2) || down(op1) && down(op2)) {
            return Err(Error::syntax(
                op2_span,
                "range expressions must have the form `x < field < y` or `x > field > y` \
                 (each `<` may be `<=`, each `>` may be `>=`)",
            ));
        }
        let span = start.to(high.span());
        Ok((
            Expr::Range {
                low,
                op1,
                field,
                op2,
                high,
                span,
            },
            true,
        ))
    }

    /// `field` in the grammar: a name with an optional `[bit]` or `[lo..hi]`.
    pub fn field_ref(&mut self) -> Result<FieldRef> {
        let start = self.here();
        let name = match self.peek() {
            Some(Token::Id(name)) => name.clone(),
            _ => return Err(self.unexpected("a field name")),
        };
        self.pos += 1;
        let mut bits = Bits::All;
        if self.eat(&Token::LSquare) {
            let lo = self.bit_index()?;
            bits = if self.eat(&Token::Ellipsis) {
                let hi_span = self.here();
                let hi = self.bit_index()?;
                if hi < lo {
                    return Err(Error::syntax(
                        start.to(hi_span),
                        format!("invalid bit range {lo} to {hi}: the high bit comes last, e.g. `[{hi}..{lo}]`"),
                    ));
                }
                Bits::Range(lo, hi)
            } else {
                Bits::Bit(lo)
            };
            self.expect(&Token::RSquare)?;
        }
        let span = start.to(Span::new(self.prev_end(), self.prev_end()));
        Ok(FieldRef { name, bits, span })
    }

    fn bit_index(&mut self) -> Result<u32> {
        match self.peek() {
            Some(Token::Const(Constant {
                value,
                format: Format::Decimal | Format::Hex,
                mask: None,
            })) => {
                let v = *value;
                let span = self.here();
                self.pos += 1;
                u32::try_from(v).map_err(|_| Error::syntax(span, "bit index too large"))
            }
            _ => Err(self.unexpected("a bit index")),
        }
    }

    /// `operand` in the grammar: a value or a `{...}` set of values.
    pub fn operand(&mut self) -> Result<Operand> {
        let start = self.here();
        if !self.eat(&Token::LCurly) {
            return Ok(Operand::Value(self.value()?));
        }
        let mut values = Vec::new();
        if self.peek() == Some(&Token::RCurly) {
            return Err(Error::syntax(
                self.here(),
                "a set needs at least one element",
            ));
        }
        while !self.eat(&Token::RCurly) {
            if self.at_end() {
                return Err(self.unexpected("`}` closing the set"));
            }
            values.push(self.value()?);
            self.eat(&Token::Comma);
        }
        Ok(Operand::Set(
            values,
            start.to(Span::new(self.prev_end(), self.prev_end())),
        ))
    }

    /// `value` in the grammar.
    pub fn value(&mut self) -> Result<Value> {
        let span = self.here();
        let v = match self.peek() {
            Some(Token::Const(c)) => Value::Const(*c, span),
            Some(Token::Str(s)) => Value::Str(s.clone(), span),
            Some(Token::AddressSet(s)) => Value::AddressSet(s.clone(), span),
            Some(Token::PortGroup(s)) => Value::PortGroup(s.clone(), span),
            Some(Token::Template(s)) => Value::Template(s.clone(), span),
            _ => {
                return Err(self.unexpected(
                    "a constant, string, `$address_set`, `@port_group` or `^template`",
                ))
            }
        };
        self.pos += 1;
        Ok(v)
    }
}
