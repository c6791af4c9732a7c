//! Parser and printer: every expression form round-trips, errors point at
//! the right place, and random trees survive print → parse.

mod common;
use common::Rng;
use lflow::expr::{Bits, BoolForm, Constant, Expr, FieldRef, Format, Mask, Operand, RelOp, Value};
use lflow::print::print;
use lflow::{parse_expr, Error, Span};

fn parse(s: &str) -> Expr {
    parse_expr(s).unwrap_or_else(|e| panic!("{s:?}:\n{}", e.render(s)))
}

/// `text` parses, prints as `canonical`, and the canonical text parses to
/// the same tree and prints to itself.
fn round_trip(text: &str, canonical: &str) {
    let e = parse(text);
    let printed = print(&e);
    assert_eq!(printed, canonical, "printing {text:?}");
    let again = parse(&printed);
    assert_eq!(
        again.without_spans(),
        e.without_spans(),
        "re-parsing {printed:?}"
    );
    assert_eq!(
        print(&again),
        printed,
        "printing is not idempotent for {text:?}"
    );
}

#[test]
fn every_expression_form_round_trips() {
    let cases: &[(&str, &str)] = &[
        // Constants as Booleans.
        ("1", "1"),
        ("0", "0"),
        ("true", "true"),
        ("false", "false"),
        // Bare fields, predicates, subfields.
        ("ip4", "ip4"),
        ("ct.new", "ct.new"),
        ("reg0[3]", "reg0[3]"),
        ("vlan.tci[ 13 .. 15 ]", "vlan.tci[13..15]"),
        ("xxreg0[0x10]", "xxreg0[16]"),
        // Each relational operator, each constant form.
        ("tcp.dst==80", "tcp.dst == 80"),
        ("eth.type != 0x0800", "eth.type != 0x800"),
        ("ip.ttl < 2", "ip.ttl < 2"),
        ("ip.ttl <= 2", "ip.ttl <= 2"),
        ("ip.ttl > 2", "ip.ttl > 2"),
        ("ip.ttl >= 2", "ip.ttl >= 2"),
        ("ip4.src == 10.0.0.1", "ip4.src == 10.0.0.1"),
        ("ip4.src == 10.0.0.0/8", "ip4.src == 10.0.0.0/8"),
        (
            "ip4.src == 10.0.0.0/255.0.0.0",
            "ip4.src == 10.0.0.0/255.0.0.0",
        ),
        ("ip6.dst == FE80:0::0001", "ip6.dst == fe80::1"),
        (
            "ip6.dst == ff02::1:ff00:0000/104",
            "ip6.dst == ff02::1:ff00:0/104",
        ),
        (
            "eth.dst == FF:FF:FF:FF:FF:FF",
            "eth.dst == ff:ff:ff:ff:ff:ff",
        ),
        (
            "eth.dst == 01:00:00:00:00:00/01:00:00:00:00:00",
            "eth.dst == 01:00:00:00:00:00/01:00:00:00:00:00",
        ),
        ("reg0 == 0x8/0xc", "reg0 == 0x8/0xc"),
        (
            "xxreg0 == 0x0123456789abcdef0123456789abcdef",
            "xxreg0 == 0x123456789abcdef0123456789abcdef",
        ),
        // Strings, sets, address sets, port groups, templates.
        (r#"inport == "lp1""#, r#"inport == "lp1""#),
        (r#"outport == "a\"b""#, r#"outport == "a\"b""#),
        ("tcp.dst == {80 443 8080,}", "tcp.dst == {80, 443, 8080}"),
        ("ip4.src == $as1", "ip4.src == $as1"),
        (
            "ip4.src == {$as1, 10.0.0.1, $pg_ip4}",
            "ip4.src == {$as1, 10.0.0.1, $pg_ip4}",
        ),
        ("outport == @pg1", "outport == @pg1"),
        (r#"inport == {@pg1, "lp2"}"#, r#"inport == {@pg1, "lp2"}"#),
        ("ip4.dst == ^vip", "ip4.dst == ^vip"),
        // Constant first, ranges.
        ("80 == tcp.src", "80 == tcp.src"),
        ("{1, 2} != reg1", "{1, 2} != reg1"),
        ("1024 <= tcp.src <= 49151", "1024 <= tcp.src <= 49151"),
        ("1 < reg0[0..3] < 9", "1 < reg0[0..3] < 9"),
        ("49151 >= tcp.src > 1024", "49151 >= tcp.src > 1024"),
        ("1 == ct.new", "1 == ct.new"),
        // Functions.
        (
            r#"is_chassis_resident("cr-lrp")"#,
            r#"is_chassis_resident("cr-lrp")"#,
        ),
        // Logic, parentheses only where needed.
        ("ip4 && tcp", "ip4 && tcp"),
        ("ip4 || ip6 || arp", "ip4 || ip6 || arp"),
        (
            "(ip4 || ip6) && tcp.dst == 80",
            "(ip4 || ip6) && tcp.dst == 80",
        ),
        ("ip4 && (tcp || udp)", "ip4 && (tcp || udp)"),
        ("a && (b && c)", "a && (b && c)"),
        ("((ip4))", "ip4"),
        ("!ct.est", "!ct.est"),
        ("!(!ct.est)", "!(!ct.est)"),
        ("!(arp.op == 1)", "!(arp.op == 1)"),
        ("!(1 <= reg0 <= 3)", "!(1 <= reg0 <= 3)"),
        ("!(ip4 && tcp)", "!(ip4 && tcp)"),
        ("!(ip4)", "!ip4"),
        (
            r#"!is_chassis_resident("p")"#,
            r#"!is_chassis_resident("p")"#,
        ),
        ("!1", "!1"),
        // Comments and white space vanish.
        ("ip4 /* v4 */ && // rest\n tcp", "ip4 && tcp"),
    ];
    for (text, canonical) in cases {
        round_trip(text, canonical);
    }
}

#[test]
fn tree_keeps_what_was_written() {
    let span = Span::default();
    let f = |name: &str, bits| FieldRef {
        name: name.into(),
        bits,
        span,
    };
    let k = |value, format| {
        Value::Const(
            Constant {
                value,
                format,
                mask: None,
            },
            span,
        )
    };
    assert_eq!(
        parse("80 == tcp.src").without_spans(),
        Expr::Cmp {
            field: f("tcp.src", Bits::All),
            op: RelOp::Eq,
            operand: Operand::Value(k(80, Format::Decimal)),
            reversed: true,
            span
        }
    );
    assert_eq!(
        parse("3 > reg0[1..4] >= 0x1").without_spans(),
        Expr::Range {
            low: k(3, Format::Decimal),
            op1: RelOp::Gt,
            field: f("reg0", Bits::Range(1, 4)),
            op2: RelOp::Ge,
            high: k(1, Format::Hex),
            span
        }
    );
    assert_eq!(
        parse("true").without_spans(),
        Expr::Bool {
            value: true,
            form: BoolForm::Word,
            span
        }
    );
    assert_eq!(
        parse("ip4.src == 10.0.0.0/8").without_spans(),
        Expr::Cmp {
            field: f("ip4.src", Bits::All),
            op: RelOp::Eq,
            operand: Operand::Value(Value::Const(
                Constant {
                    value: 0x0a000000,
                    format: Format::Ipv4,
                    mask: Some(Mask::Prefix(8))
                },
                span
            )),
            reversed: false,
            span
        }
    );
    // Spans cover what was written.
    let s = "ip4 && tcp.dst == {80, 443}";
    let Expr::And(es) = parse(s) else { panic!() };
    assert_eq!(
        &s[es[1].span().start..es[1].span().end],
        "tcp.dst == {80, 443}"
    );
}

fn syntax_error(s: &str) -> Error {
    match parse_expr(s) {
        Ok(e) => panic!("{s:?} parsed as {e:?}"),
        Err(e) => e,
    }
}

#[test]
fn syntax_errors_carry_positions() {
    let cases: &[(&str, &str, &str)] = &[
        // (input, text under the span, part of the message)
        ("ip4 && tcp || udp", "||", "must be parenthesized"),
        ("ip4 || tcp && udp", "&&", "must be parenthesized"),
        (
            "!arp.op == 1",
            "arp.op == 1",
            "missing parentheses around operand of `!`",
        ),
        ("!1 <= reg0 <= 3", "1 <= reg0 <= 3", "missing parentheses"),
        ("", "", "empty expression"),
        ("ip4 &&", "", "end of input"),
        ("(ip4", "", "`)`"),
        ("ip4)", ")", "end of expression"),
        ("tcp.dst ==", "", "a constant"),
        ("tcp.dst == ==", "==", "a constant"),
        ("tcp.dst == {80, 443", "", "`}`"),
        ("reg0[3..1]", "reg0[3..1", "invalid bit range 3 to 1"),
        ("ip4.src == {}", "}", "at least one element"),
        ("!!ct.est", "!", "cannot directly follow"),
        ("reg0[x]", "x", "bit index"),
        ("reg0[1", "", "`]`"),
        ("5", "5", "not a Boolean"),
        ("0x1", "0x1", "not a Boolean"),
        ("1 < reg0 > 3", ">", "range expressions must have the form"),
        ("{1,2} < reg0 < 3", "{1,2}", "single constants"),
        ("80 == 80", "80", "a field name"),
        ("is_chassis_resident(lp)", "lp", "quoted logical port name"),
        ("\"lp\"", "", "relational operator"),
        ("ip4 ip6", "ip6", "`&&`, `||` or end of expression"),
        ("&& ip4", "&&", "a field name, constant"),
        ("ip4 && 10.0.0.0/33", "33", "prefix length"),
    ];
    for (text, under, needle) in cases {
        let e = syntax_error(text);
        let sp = e.span();
        assert_eq!(&text[sp.start..sp.end], *under, "{text:?}: {e}");
        assert!(
            e.message().contains(needle),
            "{text:?}: {e:?} lacks {needle:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Random expressions: the deterministic PRNG of tests/common, a generator
// that follows the grammar, and the print → parse → print loop.

const NAMES: &[&str] = &[
    "ip4",
    "tcp.dst",
    "reg0",
    "xxreg1",
    "eth.src",
    "ct.new",
    "inport",
    "ip6.dst",
    "flags.loopback",
    "x.y_z",
];
const STRINGS: &[&str] = &[
    "lp1",
    "",
    "a b",
    "q\"uote",
    "back\\slash",
    "tab\there",
    "é",
    "\u{1}",
];

fn gen_field(r: &mut Rng) -> FieldRef {
    let bits = match r.below(4) {
        0 => Bits::Bit(r.below(128) as u32),
        1 => {
            let lo = r.below(64) as u32;
            Bits::Range(lo, lo + r.below(64) as u32)
        }
        _ => Bits::All,
    };
    FieldRef {
        name: r.pick(NAMES).to_string(),
        bits,
        span: Span::default(),
    }
}

fn gen_constant(r: &mut Rng) -> Constant {
    let width_mask = |w: u32| {
        if w >= 128 {
            u128::MAX
        } else {
            (1u128 << w) - 1
        }
    };
    let (format, w) = *r.pick(&[
        (Format::Decimal, 64),
        (Format::Decimal, 16),
        (Format::Hex, 128),
        (Format::Hex, 8),
        (Format::Ipv4, 32),
        (Format::Ipv6, 128),
        (Format::Ethernet, 48),
    ]);
    let value = r.u128() & width_mask(w);
    let mask = match (r.below(3), format) {
        (0, Format::Ipv4 | Format::Ipv6) => {
            let p = r.below(w as u64 + 1) as u32;
            Some(Mask::Prefix(p))
        }
        (1, _) => {
            let mformat = match format {
                Format::Decimal | Format::Hex => *r.pick(&[Format::Decimal, Format::Hex]),
                f => f,
            };
            let mw = if mformat == Format::Decimal {
                w.min(64)
            } else {
                w
            };
            Some(Mask::Bits(r.u128() & width_mask(mw), mformat))
        }
        _ => None,
    };
    // Bits outside the mask are legal and must survive printing.
    Constant {
        value,
        format,
        mask,
    }
}

fn gen_value(r: &mut Rng) -> Value {
    let span = Span::default();
    let name = || "n_1.x".to_string();
    match r.below(8) {
        0 => Value::Str(r.pick(STRINGS).to_string(), span),
        1 => Value::AddressSet(name(), span),
        2 => Value::PortGroup(name(), span),
        3 => Value::Template(name(), span),
        _ => Value::Const(gen_constant(r), span),
    }
}

fn gen_operand(r: &mut Rng) -> Operand {
    if r.below(4) == 0 {
        let n = 1 + r.below(3);
        Operand::Set((0..n).map(|_| gen_value(r)).collect(), Span::default())
    } else {
        Operand::Value(gen_value(r))
    }
}

const OPS: &[RelOp] = &[
    RelOp::Eq,
    RelOp::Ne,
    RelOp::Lt,
    RelOp::Le,
    RelOp::Gt,
    RelOp::Ge,
];

fn gen_expr(r: &mut Rng, depth: u32) -> Expr {
    let span = Span::default();
    let leaf = depth == 0 || r.below(3) == 0;
    if leaf {
        return match r.below(7) {
            0 => Expr::Bool {
                value: r.below(2) == 1,
                form: *r.pick(&[BoolForm::Digit, BoolForm::Word]),
                span,
            },
            1 => Expr::Field(gen_field(r)),
            2 => Expr::ChassisResident {
                port: r.pick(STRINGS).to_string(),
                span,
            },
            3 => {
                let up = r.below(2) == 0;
                let ops: &[RelOp] = if up {
                    &[RelOp::Lt, RelOp::Le]
                } else {
                    &[RelOp::Gt, RelOp::Ge]
                };
                Expr::Range {
                    low: Value::Const(gen_constant(r), span),
                    op1: *r.pick(ops),
                    field: gen_field(r),
                    op2: *r.pick(ops),
                    high: gen_value(r),
                    span,
                }
            }
            _ => Expr::Cmp {
                field: gen_field(r),
                op: *r.pick(OPS),
                operand: gen_operand(r),
                reversed: r.below(4) == 0,
                span,
            },
        };
    }
    match r.below(3) {
        0 => Expr::Not(Box::new(gen_expr(r, depth - 1)), span),
        k => {
            let n = 2 + r.below(3);
            let es = (0..n).map(|_| gen_expr(r, depth - 1)).collect();
            if k == 1 {
                Expr::And(es)
            } else {
                Expr::Or(es)
            }
        }
    }
}

#[test]
fn random_expressions_survive_print_and_parse() {
    let mut r = Rng(0x5eed_1234_abcd_0001);
    for i in 0..3000 {
        let e = gen_expr(&mut r, 4);
        let text = print(&e);
        let back = parse_expr(&text)
            .unwrap_or_else(|err| panic!("case {i}: {text:?}\n{}", err.render(&text)));
        assert_eq!(back.without_spans(), e, "case {i}: {text}");
        assert_eq!(print(&back), text, "case {i}: printing is not idempotent");
    }
}

/// Random bytes drawn from the language's alphabet never panic the parser.
#[test]
fn random_text_never_panics() {
    let alphabet: Vec<&str> = vec![
        "ip4",
        "reg0",
        "[",
        "]",
        "..",
        "(",
        ")",
        "{",
        "}",
        "!",
        "&&",
        "||",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "1",
        "0",
        "0x",
        "ff",
        ":",
        "::",
        ".",
        "/",
        "/*",
        "*/",
        "//",
        "\n",
        "\"",
        "\\",
        "\\u",
        "$",
        "@",
        "^",
        "10.0.0.1",
        "fe80::1",
        " ",
        ",",
        "-",
        "&",
        "|",
        "é",
        "is_chassis_resident",
    ];
    let mut r = Rng(42);
    for _ in 0..20000 {
        let n = r.below(12);
        let s: String = (0..n).map(|_| *r.pick(&alphabet)).collect();
        if let Ok(e) = parse_expr(&s) {
            // Whatever parses must round-trip.
            let text = print(&e);
            let back = parse_expr(&text).unwrap_or_else(|err| panic!("{s:?} -> {text:?}: {err}"));
            assert_eq!(back.without_spans(), e.without_spans(), "{s:?}");
        }
    }
}
