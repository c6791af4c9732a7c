//! Trace output in ovn-trace(8)'s three forms, byte for byte as
//! ovn-trace 23.03 prints them for the same trace (the differential tests
//! in crates/rovn/tests/trace*.rs compare the whole texts).
//!
//! - detailed: a section per pipeline and per transformation of the
//!   packet, each table with the flow it hit (stage, source, match,
//!   priority, UUID) and the actions executed;
//! - summary: the actions, nested with braces the way the packet went;
//! - minimal: only changes to packet data (operands reduced to
//!   constants), the hairpin checks' results and deliveries to logical
//!   ports, inside the transformations of the packet.
//!
//! Detailed and summary traces leave out the flows that match `1` and
//! only do `next;`.

use super::exec::{short_uuid, LineKind, Node};

/// The detailed form.
///
/// Indentation follows ovn-trace's, as observed: every list of nodes has
/// a level; lines (actions, comments) print at it, tables one step out.
/// A section (pipeline or block) prints one step out too, or at the
/// list's level when something follows it in the list; its own list is
/// one step further in than its header, two when something follows it.
/// So a `ct_next` block ending a flow continues at the table's level,
/// while a `clone` in the middle of a flow's actions nests. Members of a
/// multicast group that are output to count as followed.
pub fn detailed(nodes: &[Node]) -> String {
    let mut out = String::new();
    detailed_list(&mut out, nodes, 1, false);
    out
}

fn push_line(out: &mut String, indent: usize, text: &str) {
    for _ in 0..indent {
        out.push(' ');
    }
    out.push_str(text);
    out.push('\n');
}

fn section(out: &mut String, indent: usize, header: &str) {
    out.push('\n');
    push_line(out, indent, header);
    push_line(out, indent, &"-".repeat(header.chars().count()));
}

/// Whether `n` prints anything in the detailed form.
fn shows_detailed(n: &Node) -> bool {
    match n {
        Node::Table { flow, .. } => !flow.trivial,
        Node::Line { kind, .. } => !matches!(kind, LineKind::Modify | LineKind::Output),
        Node::Pipeline { .. } | Node::NoMatch { .. } | Node::Block { .. } => true,
    }
}

fn detailed_list(out: &mut String, nodes: &[Node], level: usize, multicast: bool) {
    let shown: Vec<&Node> = nodes.iter().filter(|n| shows_detailed(n)).collect();
    for (i, n) in shown.iter().enumerate() {
        let mut more = i + 1 < shown.len();
        let outer = 4 * (level - 1);
        match n {
            Node::Pipeline { header, children } => {
                if multicast && children.iter().any(|c| matches!(c, Node::Table { .. })) {
                    more = true;
                }
                let at = level - 1 + usize::from(more);
                section(out, 4 * at, header);
                detailed_list(out, children, at + 1 + usize::from(more), false);
            }
            Node::Block { header, children, .. } => {
                let at = level - 1 + usize::from(more);
                section(out, 4 * at, header);
                let mcast = header.starts_with("multicast(");
                detailed_list(out, children, at + 1 + usize::from(more), mcast);
            }
            Node::Table { table, flow, actions } => {
                let mut head = format!("{table:>2}. ");
                if !flow.stage.is_empty() {
                    head.push_str(&flow.stage);
                    if !flow.source.is_empty() {
                        head.push_str(&format!(" ({})", flow.source));
                    }
                    head.push_str(": ");
                }
                head.push_str(&format!(
                    "{}, priority {}, uuid {}",
                    flow.match_text,
                    flow.priority,
                    short_uuid(&flow.uuid)
                ));
                push_line(out, outer, &head);
                detailed_list(out, actions, level, false);
            }
            Node::NoMatch { table } => push_line(out, outer, &format!("{table:>2}. no match (implicit drop)")),
            Node::Line { kind, text, .. } => {
                let indent = 4 * level;
                match kind {
                    LineKind::Action => push_line(out, indent, text),
                    LineKind::Comment | LineKind::Note => push_line(out, indent, &format!("/* {text} */")),
                    LineKind::Error => push_line(out, indent, &format!("*** {text}")),
                    LineKind::Modify | LineKind::Output => {}
                }
            }
        }
    }
}

/// The summary form.
pub fn summary(nodes: &[Node]) -> String {
    let mut out = String::new();
    for n in nodes {
        summary_node(&mut out, n, 0);
    }
    out
}

fn summary_node(out: &mut String, n: &Node, indent: usize) {
    match n {
        Node::Pipeline { header, children } | Node::Block { header, children, .. } => {
            if !children.iter().any(shows_summary) {
                push_line(out, indent, &format!("{header};"));
                return;
            }
            push_line(out, indent, &format!("{header} {{"));
            for c in children {
                summary_node(out, c, indent + 4);
            }
            push_line(out, indent, "};");
        }
        // Like the detailed form, the summary leaves out `1` / `next;`
        // flows.
        Node::Table { flow, .. } if flow.trivial => {}
        Node::Table { actions, .. } => {
            for a in actions {
                summary_node(out, a, indent);
            }
        }
        Node::NoMatch { .. } => {}
        Node::Line { kind, text, .. } => match kind {
            LineKind::Action => push_line(out, indent, text),
            LineKind::Comment => push_line(out, indent, &format!("/* {text} */;")),
            LineKind::Note => push_line(out, indent, &format!("/* {text} */")),
            LineKind::Error => push_line(out, indent, &format!("*** {text};")),
            LineKind::Modify | LineKind::Output => {}
        },
    }
}

/// Whether `n` prints anything in the summary form.
fn shows_summary(n: &Node) -> bool {
    match n {
        Node::Table { flow, .. } => !flow.trivial,
        Node::Line { kind, .. } => !matches!(kind, LineKind::Modify | LineKind::Output),
        Node::NoMatch { .. } => false,
        Node::Pipeline { .. } | Node::Block { .. } => true,
    }
}

/// The minimal form.
pub fn minimal(nodes: &[Node]) -> String {
    let mut out = String::new();
    for n in nodes {
        minimal_node(&mut out, n, 0);
    }
    out
}

fn has_minimal(n: &Node) -> bool {
    match n {
        Node::Pipeline { children, .. } | Node::Block { children, .. } => children.iter().any(has_minimal),
        Node::Table { actions, .. } => actions.iter().any(has_minimal),
        Node::NoMatch { .. } => false,
        Node::Line { minimal, .. } => *minimal,
    }
}

fn minimal_node(out: &mut String, n: &Node, indent: usize) {
    match n {
        Node::Pipeline { children, .. } => {
            for c in children {
                minimal_node(out, c, indent);
            }
        }
        Node::Table { actions, .. } => {
            for a in actions {
                minimal_node(out, a, indent);
            }
        }
        Node::NoMatch { .. } => {}
        Node::Line { kind, text, minimal } => {
            if !minimal {
                return;
            }
            match kind {
                LineKind::Output => {
                    let mut s = String::from("output(");
                    let _ = crate::lexer::write_json_string(&mut s, text);
                    s.push_str(");");
                    push_line(out, indent, &s);
                }
                LineKind::Comment => push_line(out, indent, &format!("/* {text} */;")),
                LineKind::Note => push_line(out, indent, &format!("/* {text} */")),
                LineKind::Error => push_line(out, indent, &format!("*** {text};")),
                LineKind::Modify | LineKind::Action => push_line(out, indent, &format!("{text};")),
            }
        }
        Node::Block { header, children, .. } => {
            // Multicast fan-out is not a change to the packet.
            if header.starts_with("multicast(") {
                for c in children {
                    minimal_node(out, c, indent);
                }
                return;
            }
            // A transformation shows even when nothing in it does.
            if !children.iter().any(has_minimal) {
                push_line(out, indent, &format!("{header};"));
                return;
            }
            push_line(out, indent, &format!("{header} {{"));
            for c in children {
                minimal_node(out, c, indent + 4);
            }
            push_line(out, indent, "};");
        }
    }
}
