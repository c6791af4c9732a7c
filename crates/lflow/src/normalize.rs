//! Normal form: an `||` of conjunctions of clauses, with conjunctive
//! dimensions where crossing `||`s would multiply flows.
//!
//! OpenFlow matches one packet against one conjunction of masked field
//! equalities per flow, so an expression must become a disjunction of
//! [`Clauses`]. `&&` over `||` multiplies out: `ip4.src == {a1..a10} &&
//! tcp.dst == {p1..p10}` is 100 flows. Like ovn-controller, [`normalize`]
//! keeps such an `&&` of independent `||`s as one [`Conj`] with
//! *dimensions*: it matches when the common clauses hold and, for every
//! dimension, one of its alternatives does. That is OpenFlow's
//! `conjunction(id, k/n)` (ovs-actions(7)): 10 + 10 flows plus one.
//!
//! The rule used here: an `&&` whose operands include `||`s of plain
//! conjunctions keeps each such `||` as a dimension; after simplifying the
//! dimensions against the common clauses (alternatives that contradict them
//! go, a dimension one of whose alternatives they imply goes, a dimension
//! with one alternative joins them), the dimensions are multiplied out when
//! there is only one or when that costs no more flows than a conjunction
//! (product of sizes <= sum of sizes + 1), and kept otherwise. An `&&` over
//! an `||` whose members have dimensions themselves is distributed.
//!
//! Work is bounded: [`Limits::max_flows`] caps the size of every
//! intermediate and final result, and the number of clause operations is
//! capped in proportion, so a pathological expression fails with
//! [`Error::TooComplex`] instead of running away.

use std::fmt;

use crate::simplify::{Clause, Tree};
use crate::{Error, Result};

/// A conjunction of clauses, at most one per OpenFlow field, ordered by
/// field name: one OpenFlow match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Clauses(Vec<Clause>);

impl Clauses {
    /// The empty conjunction (matches everything).
    pub fn new() -> Clauses {
        Clauses::default()
    }

    /// The clauses, ordered by field.
    pub fn iter(&self) -> std::slice::Iter<'_, Clause> {
        self.0.iter()
    }

    /// Number of fields tested.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if nothing is tested.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The clause on `field`, if any.
    pub fn get(&self, field: &str) -> Option<&Clause> {
        self.0
            .binary_search_by(|c| c.field.cmp(field))
            .ok()
            .map(|i| &self.0[i])
    }

    /// Adds `c`; false if it contradicts a clause already there (the
    /// conjunction is then unsatisfiable and `self` is unspecified).
    pub fn add(&mut self, c: Clause) -> bool {
        match self.0.binary_search_by(|x| x.field.cmp(c.field)) {
            Ok(i) => {
                let x = &mut self.0[i];
                if (x.value ^ c.value) & x.mask & c.mask != 0 {
                    return false;
                }
                x.value |= c.value;
                x.mask |= c.mask;
                true
            }
            Err(i) => {
                self.0.insert(i, c);
                true
            }
        }
    }

    /// Both conjunctions at once, or `None` if they contradict.
    pub fn and(&self, other: &Clauses) -> Option<Clauses> {
        let mut out = self.clone();
        other.iter().all(|&c| out.add(c)).then_some(out)
    }

    /// Whether every packet matching `self` matches `other`.
    pub fn implies(&self, other: &Clauses) -> bool {
        other.iter().all(|c| {
            self.get(c.field)
                .is_some_and(|x| c.mask & !x.mask == 0 && x.value & c.mask == c.value)
        })
    }

    /// Whether a packet whose OpenFlow fields `get` returns matches.
    pub fn matches(&self, get: &impl Fn(&'static str) -> u128) -> bool {
        self.0.iter().all(|c| c.matches(get(c.field)))
    }
}

impl FromIterator<Clause> for Clauses {
    /// Conjunction of the clauses; contradictory ones make the result
    /// unspecified (use [`Clauses::add`] to detect that).
    fn from_iter<I: IntoIterator<Item = Clause>>(iter: I) -> Clauses {
        let mut out = Clauses::new();
        for c in iter {
            out.add(c);
        }
        out
    }
}

/// ovs-ofctl style: `eth_type=0x800,ip_src=0xa000000/0xff000000`; `*` when
/// empty.
impl fmt::Display for Clauses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("*");
        }
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}={:#x}", c.field, c.value)?;
            if c.mask != full_mask(c.field, c.mask) {
                write!(f, "/{:#x}", c.mask)?;
            }
        }
        Ok(())
    }
}

/// Without the symbol table, a mask is printed unless it is all ones up
/// to its highest bit and a whole number of bytes (good enough for reading).
fn full_mask(_field: &str, mask: u128) -> u128 {
    let w = 128 - mask.leading_zeros();
    let w = w.div_ceil(8) * 8;
    crate::simplify::width_mask(w)
}

/// One term of the normal form: `fixed`, and one alternative of every
/// dimension.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Conj {
    /// Clauses that always apply.
    pub fixed: Clauses,
    /// Each an `||` of two or more alternatives; empty for a plain match.
    pub dims: Vec<Vec<Clauses>>,
}

impl Conj {
    /// Number of OpenFlow flows it takes: 1 for a plain match; one per
    /// alternative of every dimension, plus the `conj_id` flow, otherwise.
    pub fn flow_count(&self) -> usize {
        if self.dims.is_empty() {
            1
        } else {
            1 + self.dims.iter().map(Vec::len).sum::<usize>()
        }
    }

    /// Whether a packet whose OpenFlow fields `get` returns matches.
    pub fn matches(&self, get: &impl Fn(&'static str) -> u128) -> bool {
        self.fixed.matches(get) && self.dims.iter().all(|d| d.iter().any(|a| a.matches(get)))
    }
}

/// Bounds on normalization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most flows a result (or any intermediate result) may need.
    pub max_flows: usize,
    /// Whether to use conjunctive dimensions; without, everything is
    /// multiplied out (pure disjunctive normal form).
    pub conjunctions: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_flows: 50_000,
            conjunctions: true,
        }
    }
}

/// Brings `t` to normal form: a disjunction of [`Conj`]s (empty: matches
/// nothing).
pub fn normalize(t: &Tree, limits: Limits) -> Result<Vec<Conj>> {
    let mut n = Normalizer {
        limits,
        work: 0,
        max_work: (limits.max_flows as u64).saturating_mul(256).max(1_000_000),
    };
    n.norm(t)
}

/// Number of flows the normal form `conjs` takes.
pub fn flow_count(conjs: &[Conj]) -> usize {
    conjs.iter().map(Conj::flow_count).sum()
}

struct Normalizer {
    limits: Limits,
    work: u64,
    max_work: u64,
}

/// Subsumption checks are quadratic; skip them on longer lists.
const TIDY_MAX: usize = 256;

/// Most dimensions [`Normalizer::merge_dimensions`] compares pairwise.
const MERGE_MAX: usize = 16;

/// Largest product of two dimensions on one field tried as one dimension.
const CROSS_MAX: usize = 1024;

impl Normalizer {
    fn spend(&mut self, units: usize) -> Result<()> {
        self.work += units as u64;
        if self.work > self.max_work {
            return Err(Error::TooComplex {
                message: format!(
                    "normalizing the expression takes more than {} steps (limit set by {} flows)",
                    self.max_work, self.limits.max_flows
                ),
            });
        }
        Ok(())
    }

    fn check_flows(&self, n: usize) -> Result<()> {
        if n > self.limits.max_flows {
            return Err(Error::TooComplex {
                message: format!(
                    "the expression needs more than {} OpenFlow flows",
                    self.limits.max_flows
                ),
            });
        }
        Ok(())
    }

    fn norm(&mut self, t: &Tree) -> Result<Vec<Conj>> {
        self.spend(1)?;
        match t {
            Tree::Bool(true) => Ok(vec![Conj::default()]),
            Tree::Bool(false) => Ok(Vec::new()),
            Tree::Clause(c) => Ok(vec![Conj {
                fixed: Clauses(vec![*c]),
                dims: Vec::new(),
            }]),
            Tree::Or(ts) => {
                let mut out = Vec::new();
                let mut flows = 0;
                for t in ts {
                    let n = self.norm(t)?;
                    flows += flow_count(&n);
                    self.check_flows(flows)?;
                    out.extend(n);
                }
                self.tidy(out)
            }
            Tree::And(ts) => self.and(ts),
        }
    }

    fn and(&mut self, ts: &[Tree]) -> Result<Vec<Conj>> {
        let mut states = vec![Conj::default()];
        for t in ts {
            let n = self.norm(t)?;
            if n.len() == 1 {
                let c = &n[0];
                let mut kept = Vec::with_capacity(states.len());
                for mut s in states {
                    self.spend(1 + c.fixed.len())?;
                    if c.fixed.iter().all(|&cl| s.fixed.add(cl)) {
                        s.dims.extend(c.dims.iter().cloned());
                        kept.push(s);
                    }
                }
                states = kept;
            } else if self.limits.conjunctions && n.len() > 1 && n.iter().all(|c| c.dims.is_empty())
            {
                let dim: Vec<Clauses> = n.into_iter().map(|c| c.fixed).collect();
                for s in &mut states {
                    self.spend(dim.len())?;
                    s.dims.push(dim.clone());
                }
            } else {
                // Distribute: (s1 || s2) && (c1 || c2) is s1&&c1 || s1&&c2 || ...
                let mut next = Vec::new();
                let mut flows = 0;
                for s in &states {
                    for c in &n {
                        self.spend(1 + c.fixed.len())?;
                        if let Some(fixed) = s.fixed.and(&c.fixed) {
                            let mut dims = s.dims.clone();
                            dims.extend(c.dims.iter().cloned());
                            let conj = Conj { fixed, dims };
                            flows += conj.flow_count();
                            self.check_flows(flows)?;
                            next.push(conj);
                        }
                    }
                }
                states = next;
            }
            if states.is_empty() {
                return Ok(states);
            }
        }
        let mut out = Vec::new();
        let mut flows = 0;
        for s in states {
            let r = self.reduce(s)?;
            flows += flow_count(&r);
            self.check_flows(flows)?;
            out.extend(r);
        }
        self.tidy(out)
    }

    /// Simplifies a conjunction's dimensions against its fixed clauses,
    /// then multiplies them out if that is no more expensive.
    fn reduce(&mut self, s: Conj) -> Result<Vec<Conj>> {
        let Conj {
            mut fixed,
            mut dims,
        } = s;
        loop {
            let mut fixed_changed = false;
            let mut kept = Vec::with_capacity(dims.len());
            for dim in dims {
                self.spend(dim.len())?;
                let mut alts = Vec::with_capacity(dim.len());
                let mut always = false;
                for a in dim {
                    if fixed.and(&a).is_none() {
                        continue;
                    }
                    if fixed.implies(&a) {
                        always = true;
                        break;
                    }
                    alts.push(a);
                }
                if always {
                    continue;
                }
                let alts = self.tidy_alternatives(alts)?;
                match alts.len() {
                    0 => return Ok(Vec::new()),
                    1 => {
                        if !alts[0].iter().all(|&c| fixed.add(c)) {
                            return Ok(Vec::new());
                        }
                        fixed_changed = true;
                    }
                    _ => kept.push(alts),
                }
            }
            dims = kept;
            if !fixed_changed {
                break;
            }
        }
        let dims = self.merge_dimensions(dims)?;
        if dims.is_empty() {
            return Ok(vec![Conj { fixed, dims }]);
        }
        let product = dims.iter().fold(1usize, |p, d| p.saturating_mul(d.len()));
        let sum: usize = dims.iter().map(Vec::len).sum();
        if self.limits.conjunctions && dims.len() > 1 && product > sum + 1 {
            return Ok(vec![Conj { fixed, dims }]);
        }
        self.check_flows(product)?;
        let mut cur = vec![fixed];
        for dim in &dims {
            let mut next = Vec::with_capacity(cur.len() * dim.len());
            for f in &cur {
                for a in dim {
                    self.spend(1 + a.len())?;
                    if let Some(m) = f.and(a) {
                        next.push(m);
                    }
                }
            }
            cur = next;
        }
        self.tidy(
            cur.into_iter()
                .map(|fixed| Conj {
                    fixed,
                    dims: Vec::new(),
                })
                .collect(),
        )
    }

    /// Drops dimensions that another one implies (every alternative of the
    /// other implies one of theirs: `ip` next to `ip4.mcast || ip6.mcast`),
    /// and joins two dimensions on the same single field when the result is
    /// no bigger (`1024 <= tcp.src <= 49151` is one set of prefixes, not
    /// two).
    fn merge_dimensions(&mut self, mut dims: Vec<Vec<Clauses>>) -> Result<Vec<Vec<Clauses>>> {
        if dims.len() < 2 || dims.len() > MERGE_MAX || dims.iter().any(|d| d.len() > TIDY_MAX) {
            return Ok(dims);
        }
        let mut i = 0;
        while i < dims.len() {
            let mut implied = false;
            for j in 0..dims.len() {
                if i == j {
                    continue;
                }
                self.spend(dims[i].len() * dims[j].len())?;
                if dims[j].iter().all(|b| dims[i].iter().any(|a| b.implies(a))) {
                    implied = true;
                    break;
                }
            }
            if implied {
                dims.remove(i);
            } else {
                i += 1;
            }
        }
        let single_field = |d: &[Clauses]| -> Option<&'static str> {
            let f = d.first()?.iter().next()?.field;
            d.iter()
                .all(|a| a.len() == 1 && a.iter().all(|c| c.field == f))
                .then_some(f)
        };
        let mut i = 0;
        'outer: while i < dims.len() {
            if let Some(f) = single_field(&dims[i]) {
                for j in i + 1..dims.len() {
                    if single_field(&dims[j]) != Some(f)
                        || dims[i].len() * dims[j].len() > CROSS_MAX
                    {
                        continue;
                    }
                    self.spend(dims[i].len() * dims[j].len())?;
                    let crossed: Vec<Clauses> = dims[i]
                        .iter()
                        .flat_map(|a| dims[j].iter().filter_map(move |b| a.and(b)))
                        .collect();
                    let crossed = self.tidy_alternatives(crossed)?;
                    if crossed.len() <= dims[i].len() + dims[j].len() && crossed.len() > 1 {
                        dims[i] = crossed;
                        dims.remove(j);
                        continue 'outer;
                    }
                }
            }
            i += 1;
        }
        Ok(dims)
    }

    /// Removes repeated and subsumed alternatives of one dimension.
    fn tidy_alternatives(&mut self, mut alts: Vec<Clauses>) -> Result<Vec<Clauses>> {
        alts.sort();
        alts.dedup();
        if alts.len() > TIDY_MAX {
            return Ok(alts);
        }
        self.spend(alts.len() * alts.len())?;
        let keep: Vec<bool> = (0..alts.len())
            .map(|i| !(0..alts.len()).any(|j| j != i && alts[i].implies(&alts[j])))
            .collect();
        Ok(alts
            .into_iter()
            .zip(keep)
            .filter_map(|(a, k)| k.then_some(a))
            .collect())
    }

    /// Removes repeated terms, and terms implied by a plain term.
    fn tidy(&mut self, mut conjs: Vec<Conj>) -> Result<Vec<Conj>> {
        conjs.sort();
        conjs.dedup();
        if conjs.len() < 2 || conjs.len() > TIDY_MAX {
            return Ok(conjs);
        }
        self.spend(conjs.len() * conjs.len())?;
        let keep: Vec<bool> = (0..conjs.len())
            .map(|i| {
                !(0..conjs.len()).any(|j| {
                    j != i && conjs[j].dims.is_empty() && conjs[i].fixed.implies(&conjs[j].fixed)
                })
            })
            .collect();
        Ok(conjs
            .into_iter()
            .zip(keep)
            .filter_map(|(c, k)| k.then_some(c))
            .collect())
    }
}
