//! Lowering an annotated [`Match`] to a [`Tree`] of masked equalities on
//! OpenFlow fields, the only test OpenFlow can do.
//!
//! - `f[lo..hi] op c` becomes tests of bits `lo..=hi` of `f`'s OpenFlow
//!   field: `==` is one [`Clause`]; `!=` is an `||` over the compared bits,
//!   each bit differing; `<`, `<=`, `>`, `>=` become the usual prefix
//!   expansion (`x < 0b0110` is `x[3] == 0 && x[2] == 0 || x[3..2] == 0b01 && x[1] == 0`).
//! - `$set` becomes an `||` (for `==`) or `&&` of `!=` over its addresses;
//!   `@group` an `||` of its ports; a logical port its tunnel key (an unknown
//!   port matches nothing); `is_chassis_resident()` a constant. All through
//!   the caller's [`Lookup`].
//! - Constants are folded: `x && 0` is `0`, `x || 1` is `1`.

use crate::annotate::{FieldBits, Match};
use crate::expr::RelOp;
use crate::lexer::Constant;
use crate::lookup::Lookup;
use crate::symtab::{Kind, Symtab};
use crate::{Error, Result, Span};

/// `field & mask == value`, on a whole OpenFlow field (`value` has no bits
/// outside `mask`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Clause {
    /// The OpenFlow field, by its ovs-fields(7) name (`ip_src`, `xxreg0`).
    pub field: &'static str,
    /// Required values of the bits in `mask`.
    pub value: u128,
    /// The bits tested.
    pub mask: u128,
}

impl Clause {
    /// Whether a field holding `v` satisfies the clause.
    pub fn matches(&self, v: u128) -> bool {
        v & self.mask == self.value
    }
}

/// A Boolean combination of clauses.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Tree {
    /// Always or never.
    Bool(bool),
    /// One masked equality.
    Clause(Clause),
    /// All of them (two or more, none `Bool`).
    And(Vec<Tree>),
    /// Any of them (two or more, none `Bool`).
    Or(Vec<Tree>),
}

impl Tree {
    /// `&&` of `ts`, flattened, with constants folded.
    pub fn and(ts: Vec<Tree>) -> Tree {
        Tree::join(ts, true)
    }

    /// `||` of `ts`, flattened, with constants folded.
    pub fn or(ts: Vec<Tree>) -> Tree {
        Tree::join(ts, false)
    }

    fn join(ts: Vec<Tree>, and: bool) -> Tree {
        let mut out = Vec::with_capacity(ts.len());
        for t in ts {
            match t {
                // The absorbing element decides; the neutral one vanishes.
                Tree::Bool(b) if b != and => return Tree::Bool(b),
                Tree::Bool(_) => {}
                Tree::And(inner) if and => out.extend(inner),
                Tree::Or(inner) if !and => out.extend(inner),
                t => out.push(t),
            }
        }
        match out.len() {
            0 => Tree::Bool(and),
            1 => out.pop().unwrap_or(Tree::Bool(and)),
            _ if and => Tree::And(out),
            _ => Tree::Or(out),
        }
    }

    /// Evaluates the tree on a packet whose OpenFlow fields `get` returns.
    pub fn eval(&self, get: &impl Fn(&'static str) -> u128) -> bool {
        match self {
            Tree::Bool(b) => *b,
            Tree::Clause(c) => c.matches(get(c.field)),
            Tree::And(ts) => ts.iter().all(|t| t.eval(get)),
            Tree::Or(ts) => ts.iter().any(|t| t.eval(get)),
        }
    }
}

/// Lowers `m` (annotated against `symtab`) to a tree of clauses, resolving
/// names through `lookup`.
pub fn simplify(m: &Match, symtab: &Symtab, lookup: &dyn Lookup) -> Result<Tree> {
    Ok(match m {
        Match::Bool(b) => Tree::Bool(*b),
        Match::And(ms) => Tree::and(
            ms.iter()
                .map(|m| simplify(m, symtab, lookup))
                .collect::<Result<_>>()?,
        ),
        Match::Or(ms) => Tree::or(
            ms.iter()
                .map(|m| simplify(m, symtab, lookup))
                .collect::<Result<_>>()?,
        ),
        Match::Cmp {
            field,
            op,
            value,
            mask,
        } => {
            let of = of_name(symtab, &field.field)?;
            cmp(of, field, *op, *value, *mask)
        }
        Match::AddressSet { field, op, name } => {
            let of = of_name(symtab, &field.field)?;
            let set = address_set(lookup, name, field)?;
            let ts = set
                .iter()
                .map(|&(v, m)| cmp(of, field, *op, v, m))
                .collect();
            if *op == RelOp::Eq {
                Tree::or(ts)
            } else {
                Tree::and(ts)
            }
        }
        Match::Port { field, name } => {
            let of = of_name(symtab, field)?;
            port(of, lookup, name)
        }
        Match::PortGroup { field, name } => {
            let of = of_name(symtab, field)?;
            let ports = lookup
                .port_group(name)
                .ok_or_else(|| unknown("port group", '@', name))?;
            Tree::or(ports.iter().map(|p| port(of, lookup, p)).collect())
        }
        Match::ChassisResident { port, positive } => {
            Tree::Bool(lookup.is_chassis_resident(port) == *positive)
        }
    })
}

/// The OpenFlow field name of root symbol `name`.
pub(crate) fn of_name(symtab: &Symtab, name: &str) -> Result<&'static str> {
    match symtab.get(name).map(|s| &s.kind) {
        Some(Kind::Field(of) | Kind::String(of)) => Ok(of.name),
        _ => Err(Error::semantic(
            Span::default(),
            format!("`{name}` is not a field of this symbol table"),
        )),
    }
}

pub(crate) fn unknown(what: &str, sigil: char, name: &str) -> Error {
    Error::Lookup {
        message: format!("no {what} named `{sigil}{name}`"),
    }
}

/// The elements of address set `name` as (value, mask) pairs aligned to
/// `field`'s selected bits, checked for width like constants.
pub(crate) fn address_set(
    lookup: &dyn Lookup,
    name: &str,
    field: &FieldBits,
) -> Result<Vec<(u128, u128)>> {
    let set = lookup
        .address_set(name)
        .ok_or_else(|| unknown("address set", '$', name))?;
    set.iter()
        .map(|c: &Constant| {
            if c.width() > field.width {
                return Err(Error::Lookup {
                    message: format!(
                        "address set `${name}` holds `{c}`, too wide for the {}-bit field `{}`",
                        field.width, field.field
                    ),
                });
            }
            let mask = c.mask_bits() & width_mask(field.width);
            Ok((c.value & mask, mask))
        })
        .collect()
}

fn port(of: &'static str, lookup: &dyn Lookup, name: &str) -> Tree {
    match lookup.port_key(name) {
        Some(key) => Tree::Clause(Clause {
            field: of,
            value: key as u128,
            mask: u32::MAX as u128,
        }),
        None => Tree::Bool(false),
    }
}

pub(crate) fn width_mask(w: u32) -> u128 {
    if w >= 128 {
        u128::MAX
    } else {
        (1u128 << w) - 1
    }
}

/// `bits op value/mask` as clauses on OpenFlow field `of`.
fn cmp(of: &'static str, bits: &FieldBits, op: RelOp, value: u128, mask: u128) -> Tree {
    let wmax = width_mask(bits.width);
    let (value, mask) = (value & mask & wmax, mask & wmax);
    // A clause on bits of the selection, given right-aligned.
    let clause = |v: u128, m: u128| {
        Tree::Clause(Clause {
            field: of,
            value: v << bits.lo,
            mask: m << bits.lo,
        })
    };
    let bit = |i: u32| 1u128 << i;
    // Bits strictly above bit i of the selection.
    let above = |i: u32| wmax & !(width_mask(i + 1));
    // `x < c`: for some 1-bit i of c, x agrees with c above i and has 0 at i.
    let less = |c: u128| {
        Tree::or(
            (0..bits.width)
                .rev()
                .filter(|&i| c & bit(i) != 0)
                .map(|i| clause(c & above(i), above(i) | bit(i)))
                .collect(),
        )
    };
    // `x > c`: for some 0-bit i of c, x agrees with c above i and has 1 at i.
    let greater = |c: u128| {
        Tree::or(
            (0..bits.width)
                .rev()
                .filter(|&i| c & bit(i) == 0)
                .map(|i| clause(c & above(i) | bit(i), above(i) | bit(i)))
                .collect(),
        )
    };
    match op {
        RelOp::Eq => {
            if mask == 0 {
                Tree::Bool(true)
            } else {
                clause(value, mask)
            }
        }
        RelOp::Ne => Tree::or(
            (0..bits.width)
                .filter(|&i| mask & bit(i) != 0)
                .map(|i| clause(!value & bit(i), bit(i)))
                .collect(),
        ),
        // Ordering is only ever annotated on unmasked constants.
        RelOp::Lt => less(value),
        RelOp::Ge if value == 0 => Tree::Bool(true),
        RelOp::Ge => greater(value - 1),
        RelOp::Gt => greater(value),
        RelOp::Le if value == wmax => Tree::Bool(true),
        RelOp::Le => less(value + 1),
    }
}
