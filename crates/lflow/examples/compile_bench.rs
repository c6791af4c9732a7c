//! Expressions parsed + annotated + compiled per second, over the matches
//! of the northd 23.03 flow fixture (address sets and port groups get
//! made-up contents, see tests/common/fixture.rs).
//!
//! `cargo run --release -p lflow --example compile_bench [-- SECONDS] [--print]`
//! (`--print` shows each match and its OpenFlow flows instead).

#[path = "../tests/common/fixture.rs"]
mod fixture;

use std::time::{Duration, Instant};

use lflow::normalize::Limits;
use lflow::{compile, compile_str, parse_and_annotate, parse_expr, Symtab};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds: f64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(3.0);
    let texts: Vec<String> = fixture::fixture_matches()
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    let look = fixture::plausible_tables(&texts);
    let symtab = Symtab::ovn();
    let limits = Limits::default();

    if args.iter().any(|a| a == "--print") {
        for t in &texts {
            match compile_str(t, symtab, &look, limits) {
                Ok(f) => println!("{t}\n{f}"),
                Err(e) => println!("{t}\nERROR {e}\n"),
            }
        }
        return;
    }

    let budget = Duration::from_secs_f64(seconds);
    let run = |stage: &str, f: &mut dyn FnMut(&str) -> usize| {
        let start = Instant::now();
        let mut n = 0usize;
        while start.elapsed() < budget / 3 {
            for t in &texts {
                f(t);
            }
            n += texts.len();
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        println!("{stage:<34} {rate:>12.0} expressions/s");
    };
    run("parse", &mut |t| parse_expr(t).map(|_| 0).unwrap_or(0));
    run("parse + annotate", &mut |t| {
        parse_and_annotate(t, symtab).map(|_| 0).unwrap_or(0)
    });
    run("parse + annotate + compile", &mut |t| {
        let m = parse_and_annotate(t, symtab).expect("fixture annotates");
        compile(&m, symtab, &look, limits)
            .expect("fixture compiles")
            .flow_count()
    });
    println!(
        "{} matches in the fixture, {:.2} OpenFlow flows per match on average",
        texts.len(),
        avg_flows(&texts, &look)
    );
}

fn avg_flows(texts: &[String], look: &lflow::Tables) -> f64 {
    let total: usize = texts
        .iter()
        .map(|t| {
            compile_str(t, Symtab::ovn(), look, Limits::default())
                .map(|f| f.flow_count())
                .unwrap_or(0)
        })
        .sum();
    total as f64 / texts.len() as f64
}
