//! Match expressions: parse, print, re-parse must give the same tree and
//! the same text; annotation (OVN's symbol table) of the original and of
//! the re-parsed tree agree; evaluation on an empty packet never panics;
//! errors render.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lflow::print::print;
use lflow::{annotate, eval, parse_expr, Packet, Symtab};

fuzz_target!(|data: &[u8]| {
    let Some(text) = rovn_fuzz::text(data) else { return };
    let e = match parse_expr(text) {
        Ok(e) => e,
        Err(err) => {
            let _ = err.render(text);
            return;
        }
    };
    let printed = print(&e);
    let again = parse_expr(&printed)
        .unwrap_or_else(|err| panic!("{text:?} prints as {printed:?}, which does not parse: {err}"));
    assert_eq!(again.without_spans(), e.without_spans(), "{text:?} prints as {printed:?}");
    assert_eq!(print(&again), printed, "printing {text:?} is not idempotent");

    let symtab = Symtab::ovn();
    let m = annotate(&e, symtab);
    let m2 = annotate(&again, symtab);
    match (&m, &m2) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{text:?} and {printed:?} annotate differently"),
        (Err(a), Err(b)) => {
            let _ = a.render(text);
            assert_eq!(a.message(), b.message(), "{text:?} and {printed:?} fail differently");
        }
        _ => panic!("{text:?} -> {m:?} but {printed:?} -> {m2:?}"),
    }
    if let Ok(m) = m {
        let _ = m.to_string();
        let _ = eval(&m, &Packet::new(), symtab, rovn_fuzz::lookup());
    }
});
