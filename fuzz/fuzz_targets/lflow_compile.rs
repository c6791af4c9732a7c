//! Compilation to OpenFlow under the default limits, with conjunctions and
//! as plain DNF: never panics, finishes within the normalizer's work caps
//! (run with -timeout), and the flows agree with the evaluator on the empty
//! packet and on packets built near the match; the annotated match,
//! printed, annotates again to an equivalent match.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lflow::normalize::Limits;
use lflow::{compile, eval, parse_and_annotate, Packet, Symtab};

fuzz_target!(|data: &[u8]| {
    let Some(text) = rovn_fuzz::text(data) else { return };
    let symtab = Symtab::ovn();
    let look = rovn_fuzz::lookup();
    let Ok(m) = parse_and_annotate(text, symtab) else { return };
    let limits = [Limits::default(), Limits { max_flows: 2_000, conjunctions: false }];
    let flows: Vec<_> = limits.iter().filter_map(|l| compile(&m, symtab, look, *l).ok()).collect();
    if flows.is_empty() {
        return;
    }
    let seed = data.iter().fold(0x9e37_79b9_7f4a_7c15u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3)) | 1;
    let mut packets = rovn_fuzz::packets_near(&m, symtab, look, &mut rovn_fuzz::Rng(seed));
    packets.push(Packet::new());
    // The annotated match prints in the match language (over root fields).
    let printed = m.to_string();
    let m2 = parse_and_annotate(&printed, symtab)
        .unwrap_or_else(|e| panic!("{text:?} annotates to {printed:?}, which does not annotate: {e}"));
    for p in &packets {
        let want = eval(&m, p, symtab, look)
            .unwrap_or_else(|e| panic!("{text:?} compiles but does not evaluate on {p}: {e}"));
        let again = eval(&m2, p, symtab, look);
        assert_eq!(again, Ok(want), "{text:?} and its annotated form {printed:?} disagree on {p}");
        for f in &flows {
            let got = f.matches(&|of| p.openflow(of, look));
            assert_eq!(got, want, "{text:?} on packet {p}: evaluator says {want}, flows say {got}:\n{f}");
        }
    }
});
