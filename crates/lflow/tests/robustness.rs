//! No input makes the pipeline (parse, annotate, compile, evaluate,
//! microflow) panic or run away: random junk, deep nesting, huge sets and
//! expressions whose normal form explodes all end in a result or a clear
//! error, within bounded work.

mod common;

use common::Rng;
use lflow::normalize::Limits;
use lflow::{annotate, compile, eval, parse_expr, Error, Packet, Symtab, Tables};

fn tables() -> Tables {
    let mut t = Tables::new();
    t.add_port("lp1", 1);
    t.add_port_group("pg", &["lp1", "lp2"]);
    t.add_address_set("as", &["10.0.0.1", "fd00::/8", "00:00:00:00:00:01"])
        .unwrap();
    t
}

/// Runs everything on `text`; returns the first error, if any.
fn pipeline(text: &str, limits: Limits) -> Result<(), Error> {
    let look = tables();
    let symtab = Symtab::ovn();
    let _ = Packet::from_microflow(text, symtab, &look);
    let e = parse_expr(text)?;
    let m = annotate(&e, symtab)?;
    let _ = eval(&m, &Packet::new(), symtab, &look);
    compile(&m, symtab, &look, limits)?;
    Ok(())
}

#[test]
fn random_junk_never_panics() {
    let alphabet = [
        "ip4",
        "ip6",
        "tcp.dst",
        "reg0",
        "xxreg1",
        "ct.est",
        "eth.src",
        "inport",
        "outport",
        "ip4.src",
        "ct_label",
        "nd",
        "vlan.vid",
        "flags",
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
        "4294967295",
        "340282366920938463463374607431768211455",
        ":",
        "::",
        ".",
        "/",
        "/*",
        "*/",
        "//",
        "\n",
        "\"",
        "\"lp1\"",
        "\\",
        "$as",
        "$nope",
        "@pg",
        "@nope",
        "^t",
        "10.0.0.1",
        "fe80::1/64",
        "00:00:00:00:00:01",
        " ",
        ",",
        "-",
        "&",
        "|",
        "é",
        "is_chassis_resident",
        "true",
    ];
    let mut r = Rng(0xbad_1a9e7);
    let limits = Limits {
        max_flows: 2000,
        ..Limits::default()
    };
    let mut ok = 0;
    for _ in 0..20_000 {
        let n = r.below(16);
        let s: String = (0..n)
            .map(|_| *r.pick(&alphabet))
            .collect::<Vec<_>>()
            .join(" ");
        ok += pipeline(&s, limits).is_ok() as usize;
    }
    assert!(
        ok > 100,
        "only {ok} random inputs compiled: the test exercises little"
    );
}

#[test]
fn huge_bit_indexes_are_errors() {
    for text in [
        "reg0[4294967295]",
        "reg0[0..4294967295]",
        "reg0[4294967294..4294967295] == 1",
        "ip4[4294967295]",
        "reg0[99999999999999999999]",
    ] {
        let err = pipeline(text, Limits::default()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Semantic { .. } | Error::Syntax { .. } | Error::Lex { .. }
            ),
            "{text}: {err:?}"
        );
    }
    let t = Symtab::ovn();
    assert!(Packet::new().get(t, "reg0[4294967295]").is_err());
    assert!(Packet::new().set(t, "reg0[0..4294967295]", 1).is_err());
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    for depth in [50, 99, 100, 101, 5_000, 100_000] {
        let text = format!("{}ip4{}", "(".repeat(depth), ")".repeat(depth));
        let r = pipeline(&text, Limits::default());
        if depth <= 100 {
            r.unwrap_or_else(|e| panic!("depth {depth}: {e}"));
        } else {
            let e = r.unwrap_err();
            assert!(e.to_string().contains("nested more than 100 deep"), "{e}");
        }
        let text = format!("{}ip4{}", "!(".repeat(depth), ")".repeat(depth));
        let _ = pipeline(&text, Limits::default());
        let text = format!(
            "{}ip4{}",
            "(ip6 || (tcp && ".repeat(depth),
            "))".repeat(depth)
        );
        let _ = pipeline(&text, Limits::default());
    }
}

#[test]
fn wide_expressions_stay_bounded() {
    let small = Limits {
        max_flows: 5_000,
        ..Limits::default()
    };
    // Long chains and big sets are fine.
    let chain: Vec<String> = (0..100).map(|i| format!("reg0 != {i}")).collect();
    pipeline(&chain.join(" && "), small).unwrap_or_else(|e| panic!("{e}"));
    let set: Vec<String> = (0..3000).map(|i| i.to_string()).collect();
    pipeline(&format!("reg1 == {{{}}}", set.join(", ")), small).unwrap_or_else(|e| panic!("{e}"));
    let ors: Vec<String> = (0..2000).map(|i| format!("tcp.dst == {i}")).collect();
    pipeline(&ors.join(" || "), small).unwrap_or_else(|e| panic!("{e}"));
    // 2000 `!=` are 2000 dimensions of 32 alternatives: over the cap.
    let chain: Vec<String> = (0..2000).map(|i| format!("reg0 != {i}")).collect();
    let err = pipeline(&chain.join(" && "), small).unwrap_err();
    assert!(matches!(err, Error::TooComplex { .. }), "{err:?}");
    // Ever-growing products hit the cap.
    for n in [10, 20, 40] {
        let terms: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    "((reg{} != {i} && xxreg1 != {i}) || (pkt.mark != {i} && ct_mark != {i}))",
                    i % 10
                )
            })
            .collect();
        let err = pipeline(&terms.join(" && "), small).unwrap_err();
        assert!(matches!(err, Error::TooComplex { .. }), "{err:?}");
        // `!=` of a 128-bit field across many `||` of `&&`.
        let terms: Vec<String> = (0..n)
            .map(|i| {
                format!("(xxreg0 != {i} || ip6.src != {i}) && (ip6.dst < {i} || nd.target > {i})")
            })
            .collect();
        let text = format!("!({})", terms.join(" && "));
        let _ = pipeline(&text, small);
    }
}
