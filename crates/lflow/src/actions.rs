//! The action language: what a logical flow does to the packets it matches
//! (ovn-sb(5), `Logical_Flow` table, `actions` column).
//!
//! ```text
//!  text --lexer--> tokens --parse--> Vec<ast::Action> --check(symtab)--> Checked (prerequisites)
//!                                        |
//!                                      print
//!                                        v
//!                                  canonical text (upstream's own format)
//! ```
//!
//! - [`ast`]: one [`ast::ActionKind`] variant per action of OVN 23.03,
//!   normalized the way upstream formats them (defaults filled in).
//! - [`parse`]: reuses the match language's lexer and [`crate::parser::Parser`]
//!   (fields, constants, strings, sets); checks what needs no symbol table.
//! - [`check`]: fields exist, are writable where written, types and widths
//!   agree, `R = f()` results fit, option values have their types.
//! - [`print`]: canonical text; `parse(print(a)) == a` for every tree.
//! - [`options`]: the DHCPv4/DHCPv6/ND RA option tables.

pub mod ast;
pub mod check;
pub mod options;
pub mod parse;
pub mod print;

pub use ast::{without_spans, Action, ActionKind};
pub use check::{check_actions, CheckOptions, Checked};
pub use parse::parse_actions;
pub use print::{print_action, print_actions};

use crate::{Result, Symtab};

/// Parses and checks `text` with default options (OVN 23.03's 29 tables).
pub fn parse_and_check(text: &str, symtab: &Symtab) -> Result<(Vec<Action>, Checked)> {
    let actions = parse_actions(text)?;
    let checked = check_actions(&actions, symtab, &CheckOptions::default())?;
    Ok((actions, checked))
}
