//! The lexer on any text: no panic; token spans are in order, inside the
//! input and on character boundaries; each token prints as text that lexes
//! back to the same token; errors render.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(text) = rovn_fuzz::text(data) else { return };
    match lflow::lexer::tokenize(text) {
        Ok(tokens) => {
            let mut end = 0;
            for t in &tokens {
                assert!(t.span.start >= end && t.span.start <= t.span.end, "{tokens:?}");
                assert!(text.get(t.span.start..t.span.end).is_some(), "span {} off a char boundary in {text:?}", t.span);
                // Every token prints as text that lexes back to it.
                let printed = t.token.to_string();
                match lflow::lexer::tokenize(&printed).as_deref() {
                    Ok([again]) => assert_eq!(again.token, t.token, "{printed:?} from {text:?}"),
                    other => panic!("token {:?} printed as {printed:?} lexes as {other:?}", t.token),
                }
                end = t.span.end;
            }
        }
        Err(e) => {
            let _ = e.render(text);
        }
    }
});
