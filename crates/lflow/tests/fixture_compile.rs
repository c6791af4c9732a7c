//! Every match of the real northd 23.03 flow dump compiles, and the
//! compiled flows agree with the evaluator on packets near each match.

mod common;

use common::fixture::{fixture_matches, plausible_tables};
use common::{packets_near, Rng};
use lflow::normalize::Limits;
use lflow::{compile, eval, parse_and_annotate, Symtab};

#[test]
fn every_fixture_match_compiles_and_agrees_with_the_evaluator() {
    let flows = fixture_matches();
    let texts: Vec<String> = flows.iter().map(|(_, m)| m.clone()).collect();
    let look = plausible_tables(&texts);
    let symtab = Symtab::ovn();
    let mut r = Rng(0xf1_0005);
    let (mut of_flows, mut conjunctions, mut packets, mut hits) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for (stage, text) in &flows {
        let m = parse_and_annotate(text, symtab)
            .unwrap_or_else(|e| panic!("{stage}: {}", e.render(text)));
        let compiled = match compile(&m, symtab, &look, Limits::default()) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{stage}: {text}: {e}"));
                continue;
            }
        };
        of_flows += compiled.flow_count();
        conjunctions += compiled.conjunctions.len();
        for p in packets_near(&m, symtab, &look, &mut r) {
            let want = eval(&m, &p, symtab, &look).unwrap_or_else(|e| panic!("{text}: {e}"));
            let got = compiled.matches(&|of| p.openflow(of, &look));
            assert_eq!(got, want, "{stage}: `{text}` on {p}:\n{compiled}");
            packets += 1;
            hits += want as usize;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} matches do not compile:\n{}",
        failures.len(),
        flows.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} matches -> {of_flows} OpenFlow flows ({conjunctions} conjunctions); {packets} packets checked, {hits} matching",
        flows.len()
    );
    assert!(flows.len() > 300);
    assert!(hits > packets / 4 && hits < packets, "{hits} of {packets}");
}
