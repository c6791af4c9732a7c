//! Recursive-descent parser for actions, on the expression parser's tokens.
//!
//! ```text
//! actions := (action ";")*                 -- `drop;` only on its own
//! action  := field ("=" rhs | "<->" field) | "ip.ttl" "--"
//!          | keyword [args] ["{" actions "}"]
//! rhs     := value | field | FUNC "(" args ")"
//! ```
//!
//! The parser checks everything that needs no symbol table: keywords,
//! argument syntax, number ranges, option names. Field types, widths and
//! writability are [`super::check`]'s business.

use super::ast::*;
use super::options::{self, OptDef};
use crate::expr::Value;
use crate::lexer::{Constant, Format, Spanned, Token};
use crate::parser::Parser;
use crate::{Error, Result, Span};

/// Parses a logical flow's `actions` column. An empty text (or only
/// comments) is an empty list, which drops the packet like `drop;`.
pub fn parse_actions(input: &str) -> Result<Vec<Action>> {
    let mut p = Parser::new(input)?;
    list(&mut p, false)
}

/// Functions that may only appear as `R = f(...)`.
const FUNCS: &[&str] = &[
    "check_pkt_larger",
    "chk_lb_hairpin",
    "chk_lb_hairpin_reply",
    "check_in_port_sec",
    "check_out_port_sec",
    "chk_ecmp_nh_mac",
    "chk_ecmp_nh",
    "chk_lb_aff",
    "dns_lookup",
    "lookup_arp",
    "lookup_arp_ip",
    "lookup_nd",
    "lookup_nd_ip",
    "lookup_fdb",
    "get_fdb",
    "put_dhcp_opts",
    "put_dhcpv6_opts",
    "put_nd_ra_opts",
    "select",
];

fn list(p: &mut Parser, nested: bool) -> Result<Vec<Action>> {
    let mut out: Vec<Action> = Vec::new();
    loop {
        if nested {
            if p.eat(&Token::RCurly) {
                break;
            }
            if p.at_end() {
                return Err(p.unexpected("an action or `}`"));
            }
        } else if p.at_end() {
            break;
        }
        let a = action(p)?;
        if !p.eat(&Token::Semicolon) {
            return Err(p.unexpected("`;` after the action"));
        }
        out.push(a);
    }
    if out.len() > 1 {
        if let Some(i) = out.iter().position(|a| a.kind == ActionKind::Drop) {
            return Err(Error::syntax(
                out[i].span,
                "`drop;` must be the only action (actions that end without `output` or `next` drop anyway)",
            ));
        }
    }
    Ok(out)
}

fn span_from(p: &Parser, start: Span) -> Span {
    start.to(Span::new(p.prev_end(), p.prev_end()))
}

fn action(p: &mut Parser) -> Result<Action> {
    let start = p.here();
    let name = match p.peek() {
        Some(Token::Id(n)) => n.clone(),
        _ => return Err(p.unexpected("an action")),
    };
    match p.peek2() {
        Some(Token::Equals | Token::Exchange | Token::LSquare) => {
            let kind = assignment(p)?;
            return Ok(Action {
                kind,
                span: span_from(p, start),
            });
        }
        Some(Token::Decrement) => {
            if name != "ip.ttl" {
                return Err(Error::syntax(
                    start,
                    format!("only `ip.ttl--` may be decremented, not `{name}--`"),
                ));
            }
            p.bump();
            p.bump();
            return Ok(Action {
                kind: ActionKind::DecTtl,
                span: span_from(p, start),
            });
        }
        _ => {}
    }
    p.bump();
    let kind = match name.as_str() {
        "output" => ActionKind::Output,
        "drop" => ActionKind::Drop,
        "next" => next(p)?,
        "ct_next" => ActionKind::CtNext,
        "ct_clear" => ActionKind::CtClear,
        "ct_commit_nat" => ActionKind::CtCommitNat,
        "ct_snat_to_vip" => ActionKind::CtSnatToVip,
        "handle_dhcpv6_reply" => ActionKind::HandleDhcpv6Reply,
        "igmp" => ActionKind::Igmp,
        "ct_commit" => ct_commit(p)?,
        "ct_dnat" => nat(p, NatKind::Dnat)?,
        "ct_snat" => nat(p, NatKind::Snat)?,
        "ct_dnat_in_czone" => nat(p, NatKind::DnatInCzone)?,
        "ct_snat_in_czone" => nat(p, NatKind::SnatInCzone)?,
        "ct_lb" => ct_lb(p, false)?,
        "ct_lb_mark" => ct_lb(p, true)?,
        "get_arp" => mac_binding(p, MacOp::GetArp)?,
        "put_arp" => mac_binding(p, MacOp::PutArp)?,
        "get_nd" => mac_binding(p, MacOp::GetNd)?,
        "put_nd" => mac_binding(p, MacOp::PutNd)?,
        "push" | "pop" => {
            p.expect(&Token::LParen)?;
            let f = p.field_ref()?;
            p.expect(&Token::RParen)?;
            if name == "push" {
                ActionKind::Push(f)
            } else {
                ActionKind::Pop(f)
            }
        }
        "put_fdb" => {
            p.expect(&Token::LParen)?;
            let port = p.field_ref()?;
            p.expect(&Token::Comma)?;
            let mac = p.field_ref()?;
            p.expect(&Token::RParen)?;
            ActionKind::PutFdb { port, mac }
        }
        "set_queue" => {
            p.expect(&Token::LParen)?;
            let (q, span) = uint(p, "a queue number")?;
            if q > 61440 {
                return Err(Error::syntax(
                    span,
                    format!("queue number {q} for set_queue is not in the valid range 0 to 61440"),
                ));
            }
            p.expect(&Token::RParen)?;
            ActionKind::SetQueue(q as u16)
        }
        "log" => log(p, start)?,
        "set_meter" => {
            p.expect(&Token::LParen)?;
            let (rate, span) = uint(p, "a rate in kbps")?;
            if rate == 0 {
                return Err(Error::syntax(span, "set_meter's rate must be at least 1"));
            }
            let burst = if p.eat(&Token::Comma) {
                Some(uint(p, "a burst size in kbps")?.0)
            } else {
                None
            };
            p.expect(&Token::RParen)?;
            ActionKind::SetMeter { rate, burst }
        }
        "trigger_event" => trigger_event(p)?,
        "bind_vport" => {
            p.expect(&Token::LParen)?;
            let (vport, _) = string(p, "the virtual port's name as a string")?;
            p.expect(&Token::Comma)?;
            let parent = p.field_ref()?;
            p.expect(&Token::RParen)?;
            ActionKind::BindVport { vport, parent }
        }
        "handle_svc_check" => {
            p.expect(&Token::LParen)?;
            let f = p.field_ref()?;
            p.expect(&Token::RParen)?;
            ActionKind::HandleSvcCheck(f)
        }
        "fwd_group" => fwd_group(p)?,
        "commit_ecmp_nh" => {
            p.expect(&Token::LParen)?;
            keyword_eq(p, "ipv6")?;
            let ipv6 = boolean(p)?;
            p.expect(&Token::Comma)?;
            keyword_eq(p, "proto")?;
            let proto = proto(p)?;
            p.expect(&Token::RParen)?;
            ActionKind::CommitEcmpNh { ipv6, proto }
        }
        "commit_lb_aff" => commit_lb_aff(p)?,
        "sample" => sample(p)?,
        n if NestedKind::ALL.iter().any(|k| k.as_str() == n) => {
            let kind = NestedKind::ALL
                .into_iter()
                .find(|k| k.as_str() == n)
                .unwrap_or(NestedKind::Clone);
            if !p.eat(&Token::LCurly) {
                return Err(p.unexpected(&format!("`{{` opening the actions of `{n}`")));
            }
            ActionKind::Nested {
                kind,
                body: list(p, true)?,
            }
        }
        n if FUNCS.contains(&n) => {
            return Err(Error::syntax(
                start,
                format!("`{n}` returns a result: store it, e.g. `reg0[0] = {n}(...);`"),
            ))
        }
        _ => {
            return Err(Error::syntax(
                start,
                format!("unknown action `{name}` (an assignment would be `{name} = ...;`)"),
            ))
        }
    };
    Ok(Action {
        kind,
        span: span_from(p, start),
    })
}

/// A decimal integer (upstream accepts no other form for counts and ids).
fn uint(p: &mut Parser, what: &str) -> Result<(u64, Span)> {
    let span = p.here();
    match p.peek() {
        Some(Token::Const(Constant {
            value,
            format: Format::Decimal,
            mask: None,
        })) => {
            let v = *value as u64;
            p.bump();
            Ok((v, span))
        }
        Some(Token::Const(c)) => Err(Error::syntax(
            span,
            format!("expecting {what} as a plain decimal integer, not `{c}`"),
        )),
        _ => Err(p.unexpected(what)),
    }
}

fn bounded(p: &mut Parser, what: &str, max: u64) -> Result<(u64, Span)> {
    let (v, span) = uint(p, what)?;
    if v > max {
        return Err(Error::syntax(
            span,
            format!("{what} must be at most {max}, not {v}"),
        ));
    }
    Ok((v, span))
}

fn string(p: &mut Parser, what: &str) -> Result<(String, Span)> {
    let span = p.here();
    match p.peek() {
        Some(Token::Str(s)) => {
            let s = s.clone();
            p.bump();
            Ok((s, span))
        }
        _ => Err(p.unexpected(what)),
    }
}

fn ident(p: &mut Parser, what: &str) -> Result<(String, Span)> {
    let span = p.here();
    match p.peek() {
        Some(Token::Id(s)) => {
            let s = s.clone();
            p.bump();
            Ok((s, span))
        }
        _ => Err(p.unexpected(what)),
    }
}

/// `keyword =`
fn keyword_eq(p: &mut Parser, keyword: &str) -> Result<()> {
    match p.peek() {
        Some(Token::Id(s)) if s == keyword => {
            p.bump();
            p.expect(&Token::Equals)?;
            Ok(())
        }
        _ => Err(p.unexpected(&format!("`{keyword}=`"))),
    }
}

/// One of `choices` (by name), as an identifier.
fn choice<T: Copy>(p: &mut Parser, what: &str, choices: &[(&str, T)]) -> Result<T> {
    let span = p.here();
    let names: Vec<&str> = choices.iter().map(|c| c.0).collect();
    let list = names.join(", ");
    match p.peek() {
        Some(Token::Id(s)) => match choices.iter().find(|c| c.0 == s) {
            Some(c) => {
                p.bump();
                Ok(c.1)
            }
            None => Err(Error::syntax(
                span,
                format!("unknown {what} `{s}` (expecting one of: {list})"),
            )),
        },
        _ => Err(p.unexpected(&format!("{what} (one of: {list})"))),
    }
}

fn boolean(p: &mut Parser) -> Result<bool> {
    choice(p, "Boolean", &[("true", true), ("false", false)])
}

fn proto(p: &mut Parser) -> Result<Proto> {
    let choices: Vec<(&str, Proto)> = Proto::ALL.iter().map(|x| (x.as_str(), *x)).collect();
    choice(p, "protocol", &choices)
}

fn next(p: &mut Parser) -> Result<ActionKind> {
    let mut pipeline = None;
    let mut table = None;
    if p.eat(&Token::LParen) {
        if matches!(p.peek(), Some(Token::Const(_))) {
            table = Some(bounded(p, "a table number", u32::MAX as u64)?.0 as u32);
        } else {
            loop {
                let (key, span) = ident(p, "`pipeline=` or `table=`")?;
                p.expect(&Token::Equals)?;
                match key.as_str() {
                    "pipeline" => {
                        pipeline = Some(choice(
                            p,
                            "pipeline",
                            &[("ingress", Pipeline::Ingress), ("egress", Pipeline::Egress)],
                        )?)
                    }
                    "table" => {
                        table = Some(bounded(p, "a table number", u32::MAX as u64)?.0 as u32)
                    }
                    _ => {
                        return Err(Error::syntax(
                            span,
                            format!(
                            "unknown argument `{key}` of next (expecting `pipeline` or `table`)"
                        ),
                        ))
                    }
                }
                if !p.eat(&Token::Comma) {
                    break;
                }
            }
        }
        p.expect(&Token::RParen)?;
    }
    Ok(ActionKind::Next { pipeline, table })
}

fn ct_commit(p: &mut Parser) -> Result<ActionKind> {
    if p.eat(&Token::LCurly) {
        return Ok(ActionKind::CtCommit(list(p, true)?));
    }
    if !p.eat(&Token::LParen) {
        return Ok(ActionKind::CtCommit(Vec::new()));
    }
    let (mut mark, mut label) = (None, None);
    while !p.eat(&Token::RParen) {
        let (key, span) = ident(p, "`ct_mark=` or `ct_label=`")?;
        p.expect(&Token::Equals)?;
        let c = match p.bump() {
            Some(Spanned {
                token: Token::Const(c),
                ..
            }) => c,
            _ => {
                return Err(Error::syntax(
                    span,
                    format!("`{key}=` needs an integer value"),
                ))
            }
        };
        match key.as_str() {
            "ct_mark" => mark = Some(c),
            "ct_label" => label = Some(c),
            _ => {
                return Err(Error::syntax(
                    span,
                    format!(
                        "unknown ct_commit argument `{key}` (expecting `ct_mark` or `ct_label`)"
                    ),
                ))
            }
        }
        p.eat(&Token::Comma);
    }
    Ok(ActionKind::CtCommitV1 { mark, label })
}

fn ip_const(p: &mut Parser, what: &str) -> Result<Constant> {
    let span = p.here();
    match p.peek() {
        Some(Token::Const(c)) if matches!(c.format, Format::Ipv4 | Format::Ipv6) => {
            if c.mask.is_some() {
                return Err(Error::syntax(
                    span,
                    format!("expecting {what}, not a masked address or network"),
                ));
            }
            let c = *c;
            p.bump();
            Ok(c)
        }
        _ => Err(p.unexpected(what)),
    }
}

fn nat(p: &mut Parser, kind: NatKind) -> Result<ActionKind> {
    if !p.eat(&Token::LParen) {
        return Ok(ActionKind::Nat { kind, target: None });
    }
    let ip = ip_const(p, "an IPv4 or IPv6 address")?;
    let mut ports = None;
    if p.eat(&Token::Comma) {
        let (lo, lo_span) = bounded(p, "a port", 65535)?;
        if lo == 0 {
            return Err(Error::syntax(lo_span, "port range can't start at 0"));
        }
        let mut hi = None;
        if p.eat(&Token::Hyphen) {
            let (h, h_span) = uint(p, "the last port of the range")?;
            if h > 65535 || h <= lo {
                return Err(Error::syntax(
                    h_span,
                    format!(
                        "the range's high port must be above its low port {lo} and at most 65535"
                    ),
                ));
            }
            hi = Some(h as u16);
        }
        ports = Some((lo as u16, hi));
    }
    p.expect(&Token::RParen)?;
    Ok(ActionKind::Nat {
        kind,
        target: Some(NatTarget { ip, ports }),
    })
}

fn ct_lb(p: &mut Parser, mark: bool) -> Result<ActionKind> {
    if !p.eat(&Token::LParen) || p.eat(&Token::RParen) {
        return Ok(ActionKind::CtLb { mark, args: None });
    }
    keyword_eq(p, "backends")?;
    let mut backends = Vec::new();
    while !matches!(p.peek(), Some(Token::Semicolon | Token::RParen) | None) {
        let bracketed = p.eat(&Token::LSquare);
        let ip_span = p.here();
        let ip = ip_const(p, "a backend IP address")?;
        if bracketed {
            if ip.format != Format::Ipv6 {
                return Err(Error::syntax(
                    ip_span,
                    "only IPv6 addresses are written in brackets",
                ));
            }
            p.expect(&Token::RSquare)?;
        }
        let port = if p.eat(&Token::Colon) {
            Some(bounded(p, "a port number", 65535)?.0 as u16)
        } else {
            None
        };
        if bracketed && port.is_none() {
            return Err(p.unexpected("`:port` after a bracketed IPv6 address"));
        }
        backends.push(Backend { ip, port });
        if !p.eat(&Token::Comma) {
            break;
        }
    }
    let mut hash_fields = None;
    let mut flag = None;
    if p.eat(&Token::Semicolon) {
        if matches!(p.peek(), Some(Token::Id(s)) if s == "hash_fields") {
            keyword_eq(p, "hash_fields")?;
            hash_fields = Some(string(p, "hash fields as a string, e.g. \"ip_src,ip_dst\"")?.0);
            if p.eat(&Token::Semicolon) {
                flag = Some(ct_flag(p)?);
            }
        } else {
            flag = Some(ct_flag(p)?);
        }
    }
    p.expect(&Token::RParen)?;
    Ok(ActionKind::CtLb {
        mark,
        args: Some(LbArgs {
            backends,
            hash_fields,
            flag,
        }),
    })
}

fn ct_flag(p: &mut Parser) -> Result<CtFlag> {
    choice(
        p,
        "ct_lb flag",
        &[
            ("skip_snat", CtFlag::SkipSnat),
            ("force_snat", CtFlag::ForceSnat),
        ],
    )
}

fn mac_binding(p: &mut Parser, op: MacOp) -> Result<ActionKind> {
    p.expect(&Token::LParen)?;
    let port = p.field_ref()?;
    p.expect(&Token::Comma)?;
    let ip = p.field_ref()?;
    let mac = if matches!(op, MacOp::PutArp | MacOp::PutNd) {
        p.expect(&Token::Comma)?;
        Some(p.field_ref()?)
    } else {
        None
    };
    p.expect(&Token::RParen)?;
    Ok(ActionKind::MacBinding { op, port, ip, mac })
}

fn log(p: &mut Parser, open: Span) -> Result<ActionKind> {
    let (mut name, mut verdict, mut severity, mut meter) = (None, None, Severity::Info, None);
    if p.eat(&Token::LParen) {
        while !p.eat(&Token::RParen) {
            let (key, span) = ident(p, "`name=`, `severity=`, `verdict=` or `meter=`")?;
            p.expect(&Token::Equals)?;
            match key.as_str() {
                "name" => {
                    let (s, span) = string(p, "the log name as a string")?;
                    if s.len() >= 64 {
                        return Err(Error::syntax(
                            span,
                            "log name must be shorter than 64 bytes",
                        ));
                    }
                    name = Some(s);
                }
                "meter" => meter = Some(string(p, "the meter name as a string")?.0),
                "severity" => {
                    let c: Vec<_> = Severity::ALL.iter().map(|s| (s.as_str(), *s)).collect();
                    severity = choice(p, "severity", &c)?;
                }
                "verdict" => {
                    let c: Vec<_> = Verdict::ALL.iter().map(|s| (s.as_str(), *s)).collect();
                    verdict = Some(choice(p, "verdict", &c)?);
                }
                _ => {
                    return Err(Error::syntax(
                        span,
                        format!(
                        "unknown log argument `{key}` (expecting name, severity, verdict or meter)"
                    ),
                    ))
                }
            }
            if !p.eat(&Token::Comma) && p.peek() != Some(&Token::RParen) {
                return Err(p.unexpected("`,` or `)`"));
            }
        }
    }
    let Some(verdict) = verdict else {
        return Err(Error::syntax(
            span_from(p, open),
            "log needs a verdict: `log(verdict=allow|drop|reject, ...)`",
        ));
    };
    Ok(ActionKind::Log(Log {
        name,
        verdict,
        severity,
        meter,
    }))
}

/// `ip` or `ip:port` or `[ip6]:port` in a string; `port_required` for
/// commit_lb_aff.
fn valid_vip(s: &str, port_required: bool) -> bool {
    use std::net::{Ipv4Addr, Ipv6Addr};
    if let Some(rest) = s.strip_prefix('[') {
        let Some((ip, port)) = rest.split_once("]:") else {
            return false;
        };
        return ip.parse::<Ipv6Addr>().is_ok() && port.parse::<u16>().is_ok();
    }
    if s.parse::<Ipv6Addr>().is_ok() || s.parse::<Ipv4Addr>().is_ok() {
        return !port_required;
    }
    match s.split_once(':') {
        Some((ip, port)) => ip.parse::<Ipv4Addr>().is_ok() && port.parse::<u16>().is_ok(),
        None => false,
    }
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn trigger_event(p: &mut Parser) -> Result<ActionKind> {
    p.expect(&Token::LParen)?;
    keyword_eq(p, "event")?;
    let (event, span) = string(p, "the event name as a string")?;
    if event != "empty_lb_backends" {
        return Err(Error::syntax(
            span,
            format!("unknown event \"{event}\" (OVN 23.03 has only \"empty_lb_backends\")"),
        ));
    }
    let mut options = Vec::new();
    while p.eat(&Token::Comma) {
        let (key, key_span) = ident(p, "an empty_lb_backends option name")?;
        p.expect(&Token::Equals)?;
        let (value, span) = string(p, "the option's value as a string")?;
        let ok = match key.as_str() {
            "vip" => valid_vip(&value, false),
            "protocol" => ["tcp", "udp", "sctp"].contains(&value.as_str()),
            "load_balancer" => is_uuid(&value),
            _ => {
                return Err(Error::syntax(
                    key_span,
                    format!("unknown empty_lb_backends option `{key}` (expecting vip, protocol or load_balancer)"),
                ))
            }
        };
        if !ok {
            let want = match key.as_str() {
                "vip" => "an IP address with optional port",
                "protocol" => "\"tcp\", \"udp\" or \"sctp\"",
                _ => "a UUID",
            };
            return Err(Error::syntax(
                span,
                format!("invalid {key} \"{value}\": expecting {want}"),
            ));
        }
        options.push((key, value));
    }
    p.expect(&Token::RParen)?;
    Ok(ActionKind::TriggerEvent { event, options })
}

fn fwd_group(p: &mut Parser) -> Result<ActionKind> {
    p.expect(&Token::LParen)?;
    let mut liveness = false;
    if matches!(p.peek(), Some(Token::Id(s)) if s == "liveness") {
        keyword_eq(p, "liveness")?;
        let span = p.here();
        liveness = match p.peek() {
            Some(Token::Str(s)) if s == "true" || s == "false" => s == "true",
            Some(Token::Id(s)) if s == "true" || s == "false" => s == "true",
            _ => return Err(Error::syntax(span, "liveness must be true or false")),
        };
        p.bump();
        p.expect(&Token::Comma)?;
    }
    keyword_eq(p, "childports")?;
    let mut ports = vec![string(p, "a logical switch port name as a string")?.0];
    while p.eat(&Token::Comma) {
        ports.push(string(p, "a logical switch port name as a string")?.0);
    }
    p.expect(&Token::RParen)?;
    Ok(ActionKind::FwdGroup { liveness, ports })
}

fn commit_lb_aff(p: &mut Parser) -> Result<ActionKind> {
    p.expect(&Token::LParen)?;
    keyword_eq(p, "vip")?;
    let (vip, span) = string(p, "the VIP as a string \"ip:port\"")?;
    if !valid_vip(&vip, true) {
        return Err(Error::syntax(
            span,
            format!("invalid vip \"{vip}\": expecting \"ip:port\" or \"[ip6]:port\""),
        ));
    }
    p.expect(&Token::Comma)?;
    keyword_eq(p, "backend")?;
    let (backend, span) = string(p, "the backend as a string \"ip:port\"")?;
    if !valid_vip(&backend, true) {
        return Err(Error::syntax(
            span,
            format!("invalid backend \"{backend}\": expecting \"ip:port\" or \"[ip6]:port\""),
        ));
    }
    p.expect(&Token::Comma)?;
    keyword_eq(p, "proto")?;
    let proto = proto(p)?;
    p.expect(&Token::Comma)?;
    keyword_eq(p, "timeout")?;
    let timeout = bounded(p, "a timeout in seconds", u32::MAX as u64)?.0 as u32;
    p.expect(&Token::RParen)?;
    Ok(ActionKind::CommitLbAff {
        vip,
        backend,
        proto,
        timeout,
    })
}

fn sample(p: &mut Parser) -> Result<ActionKind> {
    let open = p.here();
    p.expect(&Token::LParen)?;
    let mut s = Sample {
        probability: 0,
        collector_set: 0,
        obs_domain: 0,
        obs_point: 0,
    };
    while !p.eat(&Token::RParen) {
        let (key, span) = ident(
            p,
            "`probability=`, `collector_set=`, `obs_domain=` or `obs_point=`",
        )?;
        p.expect(&Token::Equals)?;
        match key.as_str() {
            "probability" => s.probability = bounded(p, "probability", 65535)?.0 as u16,
            "collector_set" => {
                s.collector_set = bounded(p, "collector_set", u32::MAX as u64)?.0 as u32
            }
            "obs_domain" => s.obs_domain = bounded(p, "obs_domain", 255)?.0 as u8,
            "obs_point" => s.obs_point = bounded(p, "obs_point", u32::MAX as u64)?.0 as u32,
            _ => {
                return Err(Error::syntax(
                    span,
                    format!("unknown sample argument `{key}`"),
                ))
            }
        }
        if !p.eat(&Token::Comma) && p.peek() != Some(&Token::RParen) {
            return Err(p.unexpected("`,` or `)`"));
        }
    }
    if s.probability == 0 {
        return Err(Error::syntax(
            span_from(p, open),
            "sample needs `probability=N` with N from 1 to 65535",
        ));
    }
    Ok(ActionKind::Sample(s))
}

/// `field = ...` or `field <-> field`.
fn assignment(p: &mut Parser) -> Result<ActionKind> {
    let dst = p.field_ref()?;
    if p.eat(&Token::Exchange) {
        let b = p.field_ref()?;
        return Ok(ActionKind::Exchange { a: dst, b });
    }
    if !p.eat(&Token::Equals) {
        return Err(p.unexpected("`=` or `<->`"));
    }
    if let Some(Token::Id(name)) = p.peek() {
        if p.peek2() == Some(&Token::LParen) && FUNCS.contains(&name.as_str()) {
            let name = name.clone();
            let start = p.here();
            p.bump();
            let func = call(p, &name, start)?;
            return Ok(ActionKind::Call { dst, func });
        }
        let src = p.field_ref()?;
        return Ok(ActionKind::Move { dst, src });
    }
    if p.peek() == Some(&Token::LCurly) {
        return Err(Error::syntax(
            p.here(),
            "a field is assigned a single value, not a set",
        ));
    }
    let value = p.value()?;
    Ok(ActionKind::Load { dst, value })
}

fn call(p: &mut Parser, name: &str, start: Span) -> Result<Func> {
    p.expect(&Token::LParen)?;
    let func = match name {
        "check_pkt_larger" => {
            Func::CheckPktLarger(bounded(p, "a packet length in bytes", 65535)?.0)
        }
        "lookup_arp" | "lookup_arp_ip" | "lookup_nd" | "lookup_nd_ip" => {
            let op = match name {
                "lookup_arp" => LookupOp::Arp,
                "lookup_arp_ip" => LookupOp::ArpIp,
                "lookup_nd" => LookupOp::Nd,
                _ => LookupOp::NdIp,
            };
            let port = p.field_ref()?;
            p.expect(&Token::Comma)?;
            let ip = p.field_ref()?;
            let mac = if op.has_mac() {
                p.expect(&Token::Comma)?;
                Some(p.field_ref()?)
            } else {
                None
            };
            Func::Lookup { op, port, ip, mac }
        }
        "lookup_fdb" => {
            let port = p.field_ref()?;
            p.expect(&Token::Comma)?;
            let mac = p.field_ref()?;
            Func::LookupFdb { port, mac }
        }
        "get_fdb" => Func::GetFdb {
            mac: p.field_ref()?,
        },
        "put_dhcp_opts" => opts(p, OptsKind::Dhcp4, options::DHCP4)?,
        "put_dhcpv6_opts" => opts(p, OptsKind::Dhcp6, options::DHCP6)?,
        "put_nd_ra_opts" => opts(p, OptsKind::NdRa, options::ND_RA)?,
        "select" => {
            let mut members = Vec::new();
            loop {
                let (id, _) = bounded(p, "a member id", 65535)?;
                let mut weight = 100;
                if p.eat(&Token::Equals) {
                    let (w, span) = bounded(p, "a weight", 65535)?;
                    if w == 0 {
                        return Err(Error::syntax(
                            span,
                            "a select weight must be 1 to 65535, not 0",
                        ));
                    }
                    weight = w as u16;
                }
                members.push(SelectMember {
                    id: id as u16,
                    weight,
                });
                if !p.eat(&Token::Comma) {
                    break;
                }
            }
            if members.len() < 2 {
                return Err(Error::syntax(
                    span_from(p, start),
                    "select needs at least 2 members",
                ));
            }
            Func::Select(members)
        }
        _ => {
            let check = Check::ALL
                .into_iter()
                .find(|c| c.as_str() == name)
                .unwrap_or(Check::DnsLookup);
            if p.peek() != Some(&Token::RParen) {
                return Err(Error::syntax(
                    p.here(),
                    format!("{name}() takes no arguments"),
                ));
            }
            Func::Check(check)
        }
    };
    p.expect(&Token::RParen)?;
    Ok(func)
}

fn opts(p: &mut Parser, kind: OptsKind, table: &[OptDef]) -> Result<Func> {
    let mut opts = Vec::new();
    while p.peek() != Some(&Token::RParen) {
        let (name, name_span) = ident(p, "an option name")?;
        if options::find(table, &name).is_none() {
            let what = match kind {
                OptsKind::Dhcp4 => "DHCPv4",
                OptsKind::Dhcp6 => "DHCPv6",
                OptsKind::NdRa => "IPv6 ND RA",
            };
            return Err(Error::syntax(
                name_span,
                format!("unknown {what} option `{name}`"),
            ));
        }
        p.expect(&Token::Equals)?;
        let value = p.operand()?;
        opts.push(OptArg {
            name,
            name_span,
            value,
        });
        if !p.eat(&Token::Comma) && p.peek() != Some(&Token::RParen) {
            return Err(p.unexpected("`,` or `)`"));
        }
    }
    Ok(Func::PutOpts { kind, opts })
}

/// Used by the checker to name values in messages.
pub(crate) fn describe(v: &Value) -> &'static str {
    match v {
        Value::Const(..) => "an integer constant",
        Value::Str(..) => "a string",
        Value::AddressSet(..) => "an address set",
        Value::PortGroup(..) => "a port group",
        Value::Template(..) => "a template variable",
    }
}
