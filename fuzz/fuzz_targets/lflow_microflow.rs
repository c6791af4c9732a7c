//! Microflows (ovn-trace's packet descriptions): building a packet from any
//! text never panics, and a packet built from an expression satisfies it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lflow::{eval, parse_and_annotate, Packet, Symtab};

fuzz_target!(|data: &[u8]| {
    let Some(text) = rovn_fuzz::text(data) else { return };
    let symtab = Symtab::ovn();
    let look = rovn_fuzz::lookup();
    match Packet::from_microflow(text, symtab, look) {
        Ok(p) => {
            let m = parse_and_annotate(text, symtab).expect("a valid microflow annotates");
            let _ = p.to_string();
            match eval(&m, &p, symtab, look) {
                Ok(true) => {}
                other => panic!("microflow {text:?} gives packet {p}, which it does not match: {other:?}"),
            }
        }
        Err(e) => {
            let _ = e.render(text);
        }
    }
});
