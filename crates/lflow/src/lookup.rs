//! What matches refer to but the expression itself does not say: address
//! sets, port groups, logical port numbers and which ports are resident on
//! this chassis.
//!
//! The evaluator and the compiler ask a [`Lookup`]; in the controller it is
//! backed by the southbound database (`Address_Set`, `Port_Group`,
//! `Port_Binding`), in `trace` by a snapshot of it, in tests by [`Tables`].

use std::collections::{BTreeMap, BTreeSet};

use crate::lexer::{tokenize, Constant, Token};
use crate::{Error, Result, Span};

/// The caller's view of the southbound database.
pub trait Lookup {
    /// The addresses (maybe masked) of address set `name`, or `None` if no
    /// such set exists. An empty set is `Some(&[])`.
    fn address_set(&self, name: &str) -> Option<&[Constant]>;

    /// The logical ports of port group `name`, or `None` if no such group
    /// exists.
    fn port_group(&self, name: &str) -> Option<&[String]>;

    /// The tunnel key of logical port (or multicast group) `name`: the value
    /// `inport`/`outport` registers hold. `None` if the port is unknown; a
    /// comparison with an unknown port matches nothing once compiled.
    fn port_key(&self, name: &str) -> Option<u32>;

    /// Whether `is_chassis_resident(port)` holds on this chassis.
    fn is_chassis_resident(&self, port: &str) -> bool;
}

/// A [`Lookup`] held in memory: for tests, benchmarks and `trace`.
#[derive(Clone, Debug, Default)]
pub struct Tables {
    /// Address sets by name.
    pub address_sets: BTreeMap<String, Vec<Constant>>,
    /// Port groups by name.
    pub port_groups: BTreeMap<String, Vec<String>>,
    /// Logical ports and multicast groups by name, with their tunnel keys.
    pub ports: BTreeMap<String, u32>,
    /// Ports resident on this chassis.
    pub resident: BTreeSet<String>,
}

impl Tables {
    /// Empty tables.
    pub fn new() -> Tables {
        Tables::default()
    }

    /// Adds (or replaces) address set `name` from addresses written as in
    /// the southbound `Address_Set` table: `10.0.0.1`, `10.0.0.0/24`,
    /// `fd00::/64`, `00:00:00:00:00:01`.
    pub fn add_address_set(&mut self, name: &str, addresses: &[&str]) -> Result<()> {
        let cs = addresses
            .iter()
            .map(|a| parse_address(a))
            .collect::<Result<Vec<_>>>()?;
        self.address_sets.insert(name.into(), cs);
        Ok(())
    }

    /// Adds (or replaces) port group `name`.
    pub fn add_port_group(&mut self, name: &str, ports: &[&str]) {
        self.port_groups
            .insert(name.into(), ports.iter().map(|p| p.to_string()).collect());
    }

    /// Adds logical port `name` with tunnel key `key`.
    pub fn add_port(&mut self, name: &str, key: u32) {
        self.ports.insert(name.into(), key);
    }

    /// Marks `port` resident on this chassis.
    pub fn set_resident(&mut self, port: &str) {
        self.resident.insert(port.into());
    }
}

impl Lookup for Tables {
    fn address_set(&self, name: &str) -> Option<&[Constant]> {
        self.address_sets.get(name).map(Vec::as_slice)
    }

    fn port_group(&self, name: &str) -> Option<&[String]> {
        self.port_groups.get(name).map(Vec::as_slice)
    }

    fn port_key(&self, name: &str) -> Option<u32> {
        self.ports.get(name).copied()
    }

    fn is_chassis_resident(&self, port: &str) -> bool {
        self.resident.contains(port)
    }
}

/// Parses one address or integer, maybe masked (`10.0.0.0/8`, `0x10/0xf0`).
pub fn parse_address(text: &str) -> Result<Constant> {
    let tokens = tokenize(text)?;
    match tokens.as_slice() {
        [t] => match &t.token {
            Token::Const(c) => Ok(*c),
            other => Err(Error::syntax(
                t.span,
                format!("`{other}` is not an address or integer"),
            )),
        },
        _ => Err(Error::syntax(
            Span::new(0, text.len()),
            format!("{text:?} is not a single address or integer"),
        )),
    }
}
