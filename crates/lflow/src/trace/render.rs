//! Trace output in ovn-trace(8)'s three forms.
//!
//! - detailed: a section per pipeline, each table with the flow it hit
//!   (stage, source, match, priority, UUID) and the actions executed;
//!   flows that match `1` and only do `next;` are left out;
//! - summary: the actions, nested with braces the way the packet went;
//! - minimal: only changes to packet data (operands reduced to
//!   constants) and deliveries to logical ports, inside the blocks that
//!   transformed the packet.

use super::exec::{short_uuid, LineKind, Node};

/// The detailed form.
pub fn detailed(nodes: &[Node]) -> String {
    let mut out = String::new();
    for n in nodes {
        detailed_node(&mut out, n, 0);
    }
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

fn detailed_node(out: &mut String, n: &Node, indent: usize) {
    match n {
        Node::Pipeline { header, children } => {
            section(out, indent, header);
            for c in children {
                detailed_node(out, c, indent);
            }
        }
        Node::Table {
            table,
            flow,
            actions,
        } => {
            // Tail blocks (connection tracking) continue the pipeline:
            // they are printed after the table, at its level.
            let (inner, tails): (Vec<&Node>, Vec<&Node>) = actions
                .iter()
                .partition(|a| !matches!(a, Node::Block { tail: true, .. }));
            if !flow.trivial {
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
                push_line(out, indent, &head);
                for a in inner {
                    detailed_node(out, a, indent + 4);
                }
            }
            for t in tails {
                if let Node::Block {
                    header, children, ..
                } = t
                {
                    section(out, indent, header);
                    for c in children {
                        detailed_node(out, c, indent);
                    }
                }
            }
        }
        Node::NoMatch { table } => push_line(
            out,
            indent,
            &format!("{table:>2}. no match (implicit drop)"),
        ),
        Node::Line { kind, text, .. } => match kind {
            LineKind::Action => push_line(out, indent, text),
            LineKind::Comment => push_line(out, indent, &format!("/* {text} */")),
            LineKind::Error => push_line(out, indent, &format!("*** {text}")),
            LineKind::Modify | LineKind::Output => {}
        },
        Node::Block {
            header, children, ..
        } => {
            section(out, indent, header);
            for c in children {
                detailed_node(out, c, indent + 4);
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
        Node::Pipeline { header, children } => {
            if children.iter().all(|c| matches!(c, Node::NoMatch { .. })) {
                push_line(out, indent, &format!("{header};"));
                return;
            }
            push_line(out, indent, &format!("{header} {{"));
            for c in children {
                summary_node(out, c, indent + 4);
            }
            push_line(out, indent, "};");
        }
        Node::Table { actions, .. } => {
            for a in actions {
                summary_node(out, a, indent);
            }
        }
        Node::NoMatch { .. } => {}
        Node::Line { kind, text, .. } => match kind {
            LineKind::Action => push_line(out, indent, text),
            LineKind::Comment => push_line(out, indent, &format!("/* {text} */;")),
            LineKind::Error => push_line(out, indent, &format!("*** {text};")),
            LineKind::Modify | LineKind::Output => {}
        },
        Node::Block {
            header, children, ..
        } => {
            push_line(out, indent, &format!("{header} {{"));
            for c in children {
                summary_node(out, c, indent + 4);
            }
            push_line(out, indent, "};");
        }
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
        Node::Pipeline { children, .. } | Node::Block { children, .. } => {
            children.iter().any(has_minimal)
        }
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
        Node::Line {
            kind,
            text,
            minimal,
        } => {
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
                LineKind::Error => push_line(out, indent, &format!("*** {text};")),
                LineKind::Modify | LineKind::Action => push_line(out, indent, &format!("{text};")),
            }
        }
        Node::Block {
            header, children, ..
        } => {
            if !children.iter().any(has_minimal) {
                return;
            }
            // Multicast fan-out is not a change to the packet.
            if header.starts_with("multicast(") {
                for c in children {
                    minimal_node(out, c, indent);
                }
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
