//! The OVN logical-flow language (ovn-sb(5), `Logical_Flow` table).
//!
//! A logical flow's `match` column is a Boolean expression over packet
//! fields, written by northd and compiled to OpenFlow by every chassis.
//! This crate is the pure core of that language, in stages:
//!
//! ```text
//!  text --lexer--> tokens --parser--> expr::Expr --annotate(symtab)--> annotate::Match
//!                                        |                                 (predicates expanded,
//!                                      print                                prerequisites added,
//!                                        v                                  types checked)
//!                                  canonical text
//! ```
//!
//! - [`lexer`] turns text into spanned [`lexer::Token`]s (identifiers, strings,
//!   integers and addresses with masks, `$address_set`, `@port_group`,
//!   `^template`, operators). It is shared with the action language.
//! - [`parser`] builds an [`expr::Expr`] that keeps what was written: operand
//!   order, constant formats, set syntax, ranges. It enforces the grammar's
//!   own rules (`&&` and `||` need parentheses when mixed; `!` needs them
//!   around a relation) but knows nothing about fields.
//! - [`symtab`] is OVN 23.03's table of fields, subfields and predicates, with
//!   widths, levels of measurement, prerequisites and OpenFlow field names.
//! - [`print`] writes an `Expr` back as canonical text; printing then parsing
//!   gives the same tree.
//! - [`annotate`] resolves symbols against a [`symtab::Symtab`]: expands
//!   predicates, adds prerequisites, pushes `!` inwards and checks types.
//!   Its output is what the OpenFlow compiler will consume.
//!
//! No I/O anywhere: every function takes text or trees and returns trees or
//! an [`Error`] that carries the byte span it is about.
//!
//! Compatibility: `tests/upstream_flows.rs` checks every match ovn-northd
//! 23.03 writes for a small topology, and asks `ovn-trace` (upstream's own
//! parser and annotator) whether ~110 expressions are valid; rovn must give
//! the same answer. Intended differences: `true`/`false` are accepted as
//! 1/0, and unknown `$sets`/`@groups` are only detected when compiling.
//!
//! [`actions`] is the other half of the language: the `actions` column's
//! parser, semantic checks, and printer, on the same lexer and field parser.
//!
//! Not here yet: normalization and compilation to OpenFlow matches
//! (conjunctive), and the packet interpreter for `trace`.

pub mod actions;
pub mod annotate;
pub mod expr;
pub mod lexer;
pub mod parser;
pub mod print;
pub mod symtab;

use std::fmt;

pub use annotate::{annotate, Match};
pub use expr::Expr;
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
}

impl Error {
    /// Where in the input the error is.
    pub fn span(&self) -> Span {
        match self {
            Error::Lex { span, .. } | Error::Syntax { span, .. } | Error::Semantic { span, .. } => {
                *span
            }
        }
    }

    /// The message without the position.
    pub fn message(&self) -> &str {
        match self {
            Error::Lex { message, .. }
            | Error::Syntax { message, .. }
            | Error::Semantic { message, .. } => message,
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
