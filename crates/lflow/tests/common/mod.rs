//! Helpers shared by the integration tests.

#![allow(dead_code)] // Each test file uses a different part.

/// A tiny deterministic PRNG (xorshift64*): random tests that replay.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability 1/`n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    pub fn u128(&mut self) -> u128 {
        (self.next() as u128) << 64 | self.next() as u128
    }

    /// Random value of `width` bits.
    pub fn bits(&mut self, width: u32) -> u128 {
        let v = self.u128();
        if width >= 128 {
            v
        } else {
            v & ((1u128 << width) - 1)
        }
    }
}

pub mod fixture;
pub mod sandbox;

use lflow::annotate::Match;
use lflow::normalize::Limits;
use lflow::{compile, Packet, Symtab, Tables};

/// Packets near the match `m`: one per term of its disjunctive normal form
/// (so each satisfies that term), unconstrained bits random, plus copies
/// with one constrained bit flipped (which often do not match). Empty if
/// the normal form is too large.
pub fn packets_near(m: &Match, symtab: &Symtab, look: &Tables, r: &mut Rng) -> Vec<Packet> {
    let limits = Limits {
        max_flows: 300,
        conjunctions: false,
    };
    let Ok(flows) = compile(m, symtab, look, limits) else {
        return Vec::new();
    };
    let strings: Vec<&'static str> = symtab
        .iter()
        .filter_map(|s| match &s.kind {
            lflow::symtab::Kind::String(of) => Some(of.name),
            _ => None,
        })
        .collect();
    let width = |of: &str| {
        symtab
            .iter()
            .find_map(|s| match &s.kind {
                lflow::symtab::Kind::Field(f) if f.name == of => Some(f.width),
                _ => None,
            })
            .unwrap_or(128)
    };
    let port_of = |key: u128| {
        look.ports
            .iter()
            .find(|(_, &k)| k as u128 == key)
            .map_or(String::new(), |(n, _)| n.clone())
    };
    let mut out = Vec::new();
    for term in &flows.matches {
        let mut p = Packet::new();
        for c in term.iter() {
            if strings.contains(&c.field) {
                p.set_port(c.field, &port_of(c.value));
            } else {
                let noise = if r.one_in(2) {
                    r.bits(width(c.field))
                } else {
                    0
                };
                p.set_field(c.field, c.value | noise & !c.mask);
            }
        }
        out.push(p.clone());
        let cs: Vec<_> = term
            .iter()
            .filter(|c| !strings.contains(&c.field))
            .collect();
        if !cs.is_empty() {
            let c = r.pick(&cs);
            let bits: Vec<u32> = (0..128).filter(|i| c.mask >> i & 1 == 1).collect();
            let b = *r.pick(&bits);
            let mut q = p;
            q.set_field(c.field, q.field(c.field) ^ 1 << b);
            out.push(q);
        }
    }
    out
}
