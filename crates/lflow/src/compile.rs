//! Compiling an annotated match to OpenFlow matches.
//!
//! [`compile`] = [`simplify()`](crate::simplify::simplify) (clauses on
//! OpenFlow fields, names resolved through the caller's
//! [`Lookup`]) then [`normalize()`](crate::normalize::normalize), packaged as
//! [`Flows`]: plain matches plus conjunctive matches. The logical datapath
//! (OpenFlow `metadata`) and the table are the caller's business.

use std::fmt;

use crate::annotate::{parse_and_annotate, Match};
use crate::lookup::Lookup;
use crate::normalize::{normalize, Clauses, Limits};
use crate::simplify::simplify;
use crate::symtab::Symtab;
use crate::Result;

/// The OpenFlow side of one logical match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flows {
    /// Flows whose action is the logical flow's actions.
    pub matches: Vec<Clauses>,
    /// Conjunctive matches: each needs a fresh conjunction id `id`, one flow
    /// per alternative of dimension `k` with action `conjunction(id, k/n)`,
    /// and a flow matching `conj_id=id` with the logical flow's actions.
    pub conjunctions: Vec<Conjunction>,
}

/// One conjunctive match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conjunction {
    /// The dimensions (two or more); each alternative already includes the
    /// clauses common to the whole conjunction.
    pub dims: Vec<Vec<Clauses>>,
}

impl Conjunction {
    /// Whether a packet whose OpenFlow fields `get` returns matches: one
    /// flow of every dimension must.
    pub fn matches(&self, get: &impl Fn(&'static str) -> u128) -> bool {
        self.dims.iter().all(|d| d.iter().any(|a| a.matches(get)))
    }
}

impl Flows {
    /// Whether a packet whose OpenFlow fields `get` returns matches any
    /// plain flow or any conjunction.
    pub fn matches(&self, get: &impl Fn(&'static str) -> u128) -> bool {
        self.matches.iter().any(|m| m.matches(get))
            || self.conjunctions.iter().any(|c| c.matches(get))
    }

    /// Number of OpenFlow flows needed, `conj_id` flows included.
    pub fn flow_count(&self) -> usize {
        self.matches.len()
            + self
                .conjunctions
                .iter()
                .map(|c| 1 + c.dims.iter().map(Vec::len).sum::<usize>())
                .sum::<usize>()
    }

    /// True if no packet can match.
    pub fn is_empty(&self) -> bool {
        self.matches.is_empty() && self.conjunctions.is_empty()
    }
}

/// One flow per line, ovs-ofctl style; conjunctions numbered from 1.
impl fmt::Display for Flows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.matches {
            writeln!(f, "{m}")?;
        }
        for (i, c) in self.conjunctions.iter().enumerate() {
            let id = i + 1;
            let n = c.dims.len();
            for (k, d) in c.dims.iter().enumerate() {
                for a in d {
                    writeln!(f, "{a} actions=conjunction({id},{}/{n})", k + 1)?;
                }
            }
            writeln!(f, "conj_id={id}")?;
        }
        Ok(())
    }
}

/// Compiles `m` (annotated against `symtab`) to OpenFlow matches.
pub fn compile(m: &Match, symtab: &Symtab, lookup: &dyn Lookup, limits: Limits) -> Result<Flows> {
    let tree = simplify(m, symtab, lookup)?;
    let conjs = normalize(&tree, limits)?;
    let mut flows = Flows::default();
    for c in conjs {
        if c.dims.is_empty() {
            flows.matches.push(c.fixed);
        } else {
            let dims = c
                .dims
                .iter()
                .map(|d| d.iter().filter_map(|a| c.fixed.and(a)).collect())
                .collect();
            flows.conjunctions.push(Conjunction { dims });
        }
    }
    Ok(flows)
}

/// Parses, annotates and compiles `text`.
pub fn compile_str(
    text: &str,
    symtab: &Symtab,
    lookup: &dyn Lookup,
    limits: Limits,
) -> Result<Flows> {
    compile(&parse_and_annotate(text, symtab)?, symtab, lookup, limits)
}
