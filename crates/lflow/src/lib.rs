//! The OVN logical-flow language (ovn-sb(5), `Logical_Flow` table).
//!
//! A logical flow's `match` column is a Boolean expression over packet
//! fields, written by northd and compiled to OpenFlow by every chassis.
//! This crate is the pure core of that language, in stages:
//!
//! ```text
//!  text --lexer--> tokens --parser--> expr::Expr --annotate(symtab)--> annotate::Match
//!                                        |                                  |       |
//!                                      print                     eval(packet)   simplify(lookup)
//!                                        v                            |              v
//!                                  canonical text                   bool       simplify::Tree
//!                                                                                    | normalize(limits)
//!                                                                                    v
//!                                                          compile::Flows <-- normalize::Conj
//!                                                 (OpenFlow matches + conjunctions)
//! ```
//!
//! Front end:
//!
//! - [`lexer`] turns text into spanned [`lexer::Token`]s (identifiers, strings,
//!   integers and addresses with masks, `$address_set`, `@port_group`,
//!   `^template`, operators). It is shared with the action language.
//! - [`parser`] builds an [`expr::Expr`] that keeps what was written: operand
//!   order, constant formats, set syntax, ranges. It enforces the grammar's
//!   own rules (`&&` and `||` need parentheses when mixed; `!` needs them
//!   around a relation; at most [`parser::MAX_NESTING`] nested parentheses)
//!   but knows nothing about fields.
//! - [`symtab`] is OVN 23.03's table of fields, subfields and predicates, with
//!   widths, levels of measurement, prerequisites and OpenFlow field names.
//!   Other tables (tiny ones for exhaustive tests) can be built with its
//!   `add_*` methods.
//! - [`print`](mod@print) writes an `Expr` back as canonical text; printing then parsing
//!   gives the same tree.
//! - [`annotate`](mod@annotate) resolves symbols against a [`symtab::Symtab`]: expands
//!   predicates, adds prerequisites, pushes `!` inwards and checks types.
//!
//! Packets and evaluation (the engine of `trace`):
//!
//! - [`packet::Packet`] is a concrete packet with its metadata: a value per
//!   OpenFlow field (registers, conntrack state, headers...) and a logical
//!   port name per string field. [`Packet::from_microflow`] builds one from
//!   an expression the way ovn-trace(8) does.
//! - [`eval()`] decides whether a packet satisfies an annotated match.
//! - [`lookup::Lookup`] is the caller's view of the southbound database:
//!   address sets, port groups, port tunnel keys, chassis residency.
//!   [`lookup::Tables`] is an in-memory one.
//!
//! Compilation to OpenFlow (what the controller installs):
//!
//! - [`simplify`] lowers a match to masked equalities on OpenFlow fields
//!   (`!=`, `<`... become bit patterns; names are resolved via the lookup).
//! - [`normalize`] brings that to a disjunction of conjunctions, keeping an
//!   `&&` of independent `||`s as conjunctive dimensions instead of a cross
//!   product, within [`normalize::Limits`] (a clear [`Error::TooComplex`]
//!   past them; work is bounded, never unbounded time or stack).
//! - [`compile()`] packages the result as [`compile::Flows`]: plain matches
//!   and `conjunction(id, k/n)` sets, each a list of (field, value, mask).
//!
//! No I/O anywhere: every function takes text or trees and returns trees or
//! an [`Error`] that carries the byte span it is about.
//!
//! Compatibility: `tests/upstream_flows.rs` checks every match ovn-northd
//! 23.03 writes for a small topology, and asks `ovn-trace` (upstream's own
//! parser and annotator) whether ~110 expressions are valid; rovn must give
//! the same answer. Intended differences: `true`/`false` are accepted as
//! 1/0, and unknown `$sets`/`@groups` are only detected when compiling.
//! Crate rovn's `tests/trace*.rs` take every flow northd writes for three
//! larger topologies (ACLs, port groups, address sets, NAT, load balancers,
//! DHCP, IPv6, gateway routers) through parse, print, annotate, compile and
//! encode (`TraceLab::check_every_flow` in `tests/common/trace_lab.rs`).
//!
//! [`encode`](mod@encode) lowers checked actions to OpenFlow actions in
//! `ovs-ofctl` text form, the way ovn-controller 23.03 installs them.
//!
//! [`actions`] is the other half of the language: the `actions` column's
//! parser, semantic checks, and printer, on the same lexer and field parser.
//!
//! Proofs of the back end: `tests/compile.rs` checks that evaluating a match
//! and matching the compiled flows agree on every packet of a tiny symbol
//! table (exhaustively) and on random packets for random expressions over
//! OVN's table; `tests/fixture_compile.rs` compiles every match of the
//! northd fixture and checks the same agreement on packets near each;
//! `tests/robustness.rs` feeds junk, deep nesting and explosive expressions
//! through the whole pipeline. `cargo run --release -p lflow --example
//! compile_bench` prints expressions compiled per second.
//!
//! The packet interpreter, [`trace`](mod@trace), runs a [`Packet`] through
//! a [`trace::Network`]'s flow tables, executing actions table by table
//! across datapaths, and renders what happened in ovn-trace(8)'s detailed,
//! summary and minimal forms. `tests/trace.rs` runs it on hand-written
//! tables; `rovn trace` (crate rovn) compares it with upstream's ovn-trace.

pub mod actions;
pub mod annotate;
pub mod compile;
pub mod encode;
pub mod eval;
pub mod expr;
pub mod lexer;
pub mod lookup;
pub mod normalize;
pub mod packet;
pub mod parser;
pub mod print;
pub mod simplify;
pub mod symtab;
pub mod trace;

use std::fmt;

pub use annotate::{annotate, parse_and_annotate, Match};
pub use compile::{compile, compile_str, Flows};
pub use eval::eval;
pub use expr::Expr;
pub use lookup::{Lookup, Tables};
pub use normalize::Limits;
pub use packet::Packet;
pub use parser::parse_expr;
pub use symtab::Symtab;

/// A half-open byte range `start..end` in the text being parsed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The span `start..end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// 1-based line and column (in characters) of `start` within `source`.
    pub fn line_col(&self, source: &str) -> (usize, usize) {
        let upto = &source[..self.start.min(source.len())];
        let line = upto.matches('\n').count() + 1;
        let col = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// What went wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not a sequence of valid tokens.
    #[error("lexical error at {span}: {message}")]
    Lex { span: Span, message: String },
    /// The tokens do not form an expression.
    #[error("syntax error at {span}: {message}")]
    Syntax { span: Span, message: String },
    /// The expression is well formed but wrong for the symbol table
    /// (unknown field, width or type mismatch, misuse of a nominal field).
    #[error("error at {span}: {message}")]
    Semantic { span: Span, message: String },
    /// A name the caller's [`lookup::Lookup`] does not know (address set,
    /// port group), or an address set whose contents do not fit the field.
    #[error("{message}")]
    Lookup { message: String },
    /// The expression needs more OpenFlow flows (or work) than
    /// [`normalize::Limits`] allow.
    #[error("expression too complex: {message}")]
    TooComplex { message: String },
    /// Valid actions that [`encode`](mod@encode) cannot lower to OpenFlow yet.
    #[error("not supported: {message}")]
    Unsupported { message: String },
}

impl Error {
    /// Where in the input the error is.
    /// `0..0` for errors found after parsing (lookups, size limits).
    pub fn span(&self) -> Span {
        match self {
            Error::Lex { span, .. } | Error::Syntax { span, .. } | Error::Semantic { span, .. } => {
                *span
            }
            Error::Lookup { .. } | Error::TooComplex { .. } | Error::Unsupported { .. } => {
                Span::default()
            }
        }
    }

    /// The message without the position.
    pub fn message(&self) -> &str {
        match self {
            Error::Lex { message, .. }
            | Error::Syntax { message, .. }
            | Error::Semantic { message, .. }
            | Error::Lookup { message }
            | Error::TooComplex { message }
            | Error::Unsupported { message } => message,
        }
    }

    /// A person-readable report: the message, then the offending line of
    /// `source` with the span underlined.
    pub fn render(&self, source: &str) -> String {
        let span = self.span();
        let (line_no, col) = span.line_col(source);
        let line = source.lines().nth(line_no - 1).unwrap_or("");
        let width = source
            .get(span.start..span.end.min(span.start + line.len()))
            .map_or(1, |s| s.chars().count().max(1));
        format!(
            "{line_no}:{col}: {}\n{line}\n{}{}",
            self.message(),
            " ".repeat(col - 1),
            "^".repeat(width)
        )
    }

    pub(crate) fn lex(span: Span, message: impl Into<String>) -> Error {
        Error::Lex {
            span,
            message: message.into(),
        }
    }

    pub(crate) fn syntax(span: Span, message: impl Into<String>) -> Error {
        Error::Syntax {
            span,
            message: message.into(),
        }
    }

    pub(crate) fn semantic(span: Span, message: impl Into<String>) -> Error {
        Error::Semantic {
            span,
            message: message.into(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
