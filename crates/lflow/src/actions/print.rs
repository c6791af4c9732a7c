//! Canonical text for actions: the format upstream OVN 23.03 itself prints
//! (what `ovn-trace` shows for each action; `tests/actions_upstream.rs`
//! compares the two). Each action ends with `;`, actions are separated by
//! one space, nested lists are written `name { a; b; };`.
//!
//! Differences from upstream's format, because upstream's depends on
//! context the text does not carry: `next(pipeline=P, table=N)` is printed
//! as written (upstream drops the pipeline when it is the current one, and
//! fills in the table), and the old `ct_commit(ct_mark=V)` keeps the
//! constants' written form (upstream prints them in hex).

use std::fmt::Write;

use super::ast::*;
use crate::lexer::{write_json_string, Constant, Format};
use crate::print::{write_field, write_operand, write_value};

/// The canonical text of `actions`.
pub fn print_actions(actions: &[Action]) -> String {
    let mut out = String::new();
    write_list(&mut out, actions);
    out
}

/// The canonical text of one action, with its `;`.
pub fn print_action(a: &Action) -> String {
    let mut out = String::new();
    write_action(&mut out, a);
    out
}

fn write_list(out: &mut String, actions: &[Action]) {
    for (i, a) in actions.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_action(out, a);
    }
}

fn string(out: &mut String, s: &str) {
    let _ = write_json_string(out, s);
}

fn write_ip(out: &mut String, c: &Constant) {
    let _ = write!(out, "{c}");
}

fn write_action(out: &mut String, a: &Action) {
    match &a.kind {
        ActionKind::Output => out.push_str("output"),
        ActionKind::Drop => out.push_str("drop"),
        ActionKind::Next { pipeline, table } => match (pipeline, table) {
            (None, None) => out.push_str("next"),
            (None, Some(t)) => {
                let _ = write!(out, "next({t})");
            }
            (Some(p), None) => {
                let _ = write!(out, "next(pipeline={})", p.as_str());
            }
            (Some(p), Some(t)) => {
                let _ = write!(out, "next(pipeline={}, table={t})", p.as_str());
            }
        },
        ActionKind::Load { dst, value } => {
            write_field(out, dst);
            out.push_str(" = ");
            write_value(out, value);
        }
        ActionKind::Move { dst, src } => {
            write_field(out, dst);
            out.push_str(" = ");
            write_field(out, src);
        }
        ActionKind::Exchange { a, b } => {
            write_field(out, a);
            out.push_str(" <-> ");
            write_field(out, b);
        }
        ActionKind::Push(f) | ActionKind::Pop(f) => {
            out.push_str(if matches!(a.kind, ActionKind::Push(_)) {
                "push("
            } else {
                "pop("
            });
            write_field(out, f);
            out.push(')');
        }
        ActionKind::DecTtl => out.push_str("ip.ttl--"),
        ActionKind::CtNext => out.push_str("ct_next"),
        ActionKind::CtCommit(body) => {
            if body.is_empty() {
                out.push_str("ct_commit");
            } else {
                nested(out, "ct_commit", body);
            }
        }
        ActionKind::CtCommitV1 { mark, label } => {
            out.push_str("ct_commit(");
            let mut parts = Vec::new();
            if let Some(m) = mark {
                parts.push(format!("ct_mark={m}"));
            }
            if let Some(l) = label {
                parts.push(format!("ct_label={l}"));
            }
            out.push_str(&parts.join(", "));
            out.push(')');
        }
        ActionKind::CtCommitNat => out.push_str("ct_commit_nat"),
        ActionKind::Nat { kind, target } => {
            out.push_str(kind.as_str());
            if let Some(t) = target {
                out.push('(');
                write_ip(out, &t.ip);
                match t.ports {
                    None => {}
                    Some((lo, None)) => {
                        let _ = write!(out, ",{lo}");
                    }
                    Some((lo, Some(hi))) => {
                        let _ = write!(out, ",{lo}-{hi}");
                    }
                }
                out.push(')');
            }
        }
        ActionKind::CtLb { mark, args } => {
            out.push_str(if *mark { "ct_lb_mark" } else { "ct_lb" });
            if let Some(args) = args {
                out.push_str("(backends=");
                for (i, b) in args.backends.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    match (b.ip.format, b.port) {
                        (Format::Ipv6, Some(port)) => {
                            out.push('[');
                            write_ip(out, &b.ip);
                            let _ = write!(out, "]:{port}");
                        }
                        (_, Some(port)) => {
                            write_ip(out, &b.ip);
                            let _ = write!(out, ":{port}");
                        }
                        (_, None) => write_ip(out, &b.ip),
                    }
                }
                if let Some(h) = &args.hash_fields {
                    out.push_str("; hash_fields=");
                    string(out, h);
                }
                match args.flag {
                    Some(CtFlag::SkipSnat) => out.push_str("; skip_snat"),
                    Some(CtFlag::ForceSnat) => out.push_str("; force_snat"),
                    None => {}
                }
                out.push(')');
            }
        }
        ActionKind::CtClear => out.push_str("ct_clear"),
        ActionKind::CtSnatToVip => out.push_str("ct_snat_to_vip"),
        ActionKind::Nested { kind, body } => nested(out, kind.as_str(), body),
        ActionKind::Igmp => out.push_str("igmp"),
        ActionKind::MacBinding { op, port, ip, mac } => {
            out.push_str(op.as_str());
            out.push('(');
            write_field(out, port);
            out.push_str(", ");
            write_field(out, ip);
            if let Some(m) = mac {
                out.push_str(", ");
                write_field(out, m);
            }
            out.push(')');
        }
        ActionKind::PutFdb { port, mac } => {
            out.push_str("put_fdb(");
            write_field(out, port);
            out.push_str(", ");
            write_field(out, mac);
            out.push(')');
        }
        ActionKind::Call { dst, func } => {
            write_field(out, dst);
            out.push_str(" = ");
            write_func(out, func);
        }
        ActionKind::SetQueue(q) => {
            let _ = write!(out, "set_queue({q})");
        }
        ActionKind::Log(l) => {
            out.push_str("log(");
            if let Some(n) = &l.name {
                out.push_str("name=");
                string(out, n);
                out.push_str(", ");
            }
            let _ = write!(
                out,
                "verdict={}, severity={}",
                l.verdict.as_str(),
                l.severity.as_str()
            );
            if let Some(m) = &l.meter {
                out.push_str(", meter=");
                string(out, m);
            }
            out.push(')');
        }
        ActionKind::SetMeter { rate, burst } => {
            let _ = match burst {
                Some(b) => write!(out, "set_meter({rate}, {b})"),
                None => write!(out, "set_meter({rate})"),
            };
        }
        ActionKind::TriggerEvent { event, options } => {
            out.push_str("trigger_event(event = ");
            string(out, event);
            for (k, v) in options {
                let _ = write!(out, ", {k} = ");
                string(out, v);
            }
            out.push(')');
        }
        ActionKind::BindVport { vport, parent } => {
            out.push_str("bind_vport(");
            string(out, vport);
            out.push_str(", ");
            write_field(out, parent);
            out.push(')');
        }
        ActionKind::HandleSvcCheck(f) => {
            out.push_str("handle_svc_check(");
            write_field(out, f);
            out.push(')');
        }
        ActionKind::HandleDhcpv6Reply => out.push_str("handle_dhcpv6_reply"),
        ActionKind::FwdGroup { liveness, ports } => {
            out.push_str("fwd_group(");
            if *liveness {
                out.push_str("liveness=\"true\", ");
            }
            out.push_str("childports=");
            for (i, p) in ports.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                string(out, p);
            }
            out.push(')');
        }
        ActionKind::CommitEcmpNh { ipv6, proto } => {
            let _ = write!(
                out,
                "commit_ecmp_nh(ipv6 = {ipv6}, proto = {})",
                proto.as_str()
            );
        }
        ActionKind::CommitLbAff {
            vip,
            backend,
            proto,
            timeout,
        } => {
            out.push_str("commit_lb_aff(vip = ");
            string(out, vip);
            out.push_str(", backend = ");
            string(out, backend);
            let _ = write!(out, ", proto = {}, timeout = {timeout})", proto.as_str());
        }
        ActionKind::Sample(s) => {
            let _ = write!(
                out,
                "sample(probability={},collector_set={},obs_domain={},obs_point={})",
                s.probability, s.collector_set, s.obs_domain, s.obs_point
            );
        }
    }
    out.push(';');
}

fn nested(out: &mut String, name: &str, body: &[Action]) {
    out.push_str(name);
    out.push_str(" { ");
    for a in body {
        write_action(out, a);
        out.push(' ');
    }
    out.push('}');
}

fn write_func(out: &mut String, f: &Func) {
    out.push_str(f.name());
    out.push('(');
    match f {
        Func::CheckPktLarger(n) => {
            let _ = write!(out, "{n}");
        }
        Func::Check(_) => {}
        Func::Lookup { port, ip, mac, .. } => {
            write_field(out, port);
            out.push_str(", ");
            write_field(out, ip);
            if let Some(m) = mac {
                out.push_str(", ");
                write_field(out, m);
            }
        }
        Func::LookupFdb { port, mac } => {
            write_field(out, port);
            out.push_str(", ");
            write_field(out, mac);
        }
        Func::GetFdb { mac } => write_field(out, mac),
        Func::PutOpts { opts, .. } => {
            for (i, o) in opts.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{} = ", o.name);
                write_operand(out, &o.value);
            }
        }
        Func::Select(members) => {
            for (i, m) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{}={}", m.id, m.weight);
            }
        }
    }
    out.push(')');
}
