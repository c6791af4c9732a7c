//! Actions: parse, print, re-parse must give the same actions and the same
//! text; the semantic check (OVN's symbol table) gives the same verdict on
//! both; errors render.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lflow::actions::{check_actions, parse_actions, print_actions, without_spans, CheckOptions};
use lflow::Symtab;

fuzz_target!(|data: &[u8]| {
    let Some(text) = rovn_fuzz::text(data) else { return };
    let a = match parse_actions(text) {
        Ok(a) => a,
        Err(err) => {
            let _ = err.render(text);
            return;
        }
    };
    let printed = print_actions(&a);
    let b = parse_actions(&printed)
        .unwrap_or_else(|err| panic!("{text:?} prints as {printed:?}, which does not parse: {err}"));
    assert_eq!(without_spans(&a), without_spans(&b), "{text:?} prints as {printed:?}");
    assert_eq!(print_actions(&b), printed, "printing {text:?} is not idempotent");

    let symtab = Symtab::ovn();
    let opts = CheckOptions::default();
    let ca = check_actions(&a, symtab, &opts);
    let cb = check_actions(&b, symtab, &opts);
    match (&ca, &cb) {
        (Ok(x), Ok(y)) => assert_eq!(x, y, "{text:?} and {printed:?} check differently"),
        (Err(x), Err(y)) => {
            let _ = x.render(text);
            assert_eq!(x.message(), y.message(), "{text:?} and {printed:?} fail differently");
        }
        _ => panic!("{text:?} -> {ca:?} but {printed:?} -> {cb:?}"),
    }
});
