//! Evaluating an annotated match directly on a [`Packet`].
//!
//! This is the reference semantics the compiler is tested against, and
//! what `trace` uses to pick the flow a packet hits. `And`/`Or` stop at the
//! first operand that decides, so a missing address set or port group in a
//! part that is not reached goes unnoticed (the compiler reports it).

use crate::annotate::{FieldBits, Match};
use crate::expr::RelOp;
use crate::lookup::Lookup;
use crate::packet::Packet;
use crate::simplify::{address_set, of_name, unknown, width_mask};
use crate::symtab::Symtab;
use crate::Result;

/// Whether `packet` satisfies `m` (annotated against `symtab`); names are
/// resolved through `lookup`.
pub fn eval(m: &Match, packet: &Packet, symtab: &Symtab, lookup: &dyn Lookup) -> Result<bool> {
    Ok(match m {
        Match::Bool(b) => *b,
        Match::And(ms) => {
            for m in ms {
                if !eval(m, packet, symtab, lookup)? {
                    return Ok(false);
                }
            }
            true
        }
        Match::Or(ms) => {
            for m in ms {
                if eval(m, packet, symtab, lookup)? {
                    return Ok(true);
                }
            }
            false
        }
        Match::Cmp {
            field,
            op,
            value,
            mask,
        } => {
            let v = bits(packet, symtab, field)?;
            match op {
                RelOp::Eq => v & mask == value & mask,
                RelOp::Ne => v & mask != value & mask,
                RelOp::Lt => v < *value,
                RelOp::Le => v <= *value,
                RelOp::Gt => v > *value,
                RelOp::Ge => v >= *value,
            }
        }
        Match::AddressSet { field, op, name } => {
            let v = bits(packet, symtab, field)?;
            let hit = address_set(lookup, name, field)?
                .iter()
                .any(|&(sv, sm)| v & sm == sv);
            hit == (*op == RelOp::Eq)
        }
        // "" is no port (a packet that has none): no port can be named
        // that, and compiled flows never match it. Other names compare as
        // names, so that a microflow may name a port the lookup lacks.
        Match::Port { field, name } => {
            !name.is_empty() && packet.port(of_name(symtab, field)?) == name
        }
        Match::PortGroup { field, name } => {
            let port = packet.port(of_name(symtab, field)?);
            !port.is_empty()
                && lookup
                    .port_group(name)
                    .ok_or_else(|| unknown("port group", '@', name))?
                    .iter()
                    .any(|p| p == port)
        }
        Match::ChassisResident { port, positive } => lookup.is_chassis_resident(port) == *positive,
    })
}

/// The selected bits of a field, right-aligned.
fn bits(packet: &Packet, symtab: &Symtab, f: &FieldBits) -> Result<u128> {
    let v = packet.field(of_name(symtab, &f.field)?);
    Ok(v.checked_shr(f.lo).unwrap_or(0) & width_mask(f.width))
}
