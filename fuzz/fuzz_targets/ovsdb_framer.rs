//! JSON-RPC framing: any byte stream, fed whole or cut at arbitrary points,
//! gives the same messages and then the same kind of error (if any); every
//! message serializes and frames back to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ovsdb::jsonrpc::{Framer, Message, RpcError};

type Out = Vec<Result<Message, std::mem::Discriminant<RpcError>>>;

/// Pushes `chunks` one at a time, draining messages after each, up to the
/// first framing error.
fn run<'a>(max: usize, chunks: impl Iterator<Item = &'a [u8]>) -> Out {
    let mut f = Framer::new(max);
    let mut out = Vec::new();
    for c in chunks {
        f.push(c);
        while let Some(r) = f.next_message() {
            match r {
                Ok(m) => out.push(Ok(m)),
                // A valid JSON text that is not a JSON-RPC message is
                // refused on its own; the stream goes on.
                Err(e @ RpcError::Invalid(_)) => out.push(Err(std::mem::discriminant(&e))),
                Err(e) => {
                    // A framing error: the stream stays broken.
                    assert_eq!(f.next_message().map(|r| r.err()), Some(Some(e.clone())));
                    out.push(Err(std::mem::discriminant(&e)));
                    return out;
                }
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (head, stream) = data.split_at(2);
    let max = 16 + head[0] as usize * 16;
    let whole = run(max, std::iter::once(stream));
    // Cut points from a simple generator seeded by the second byte: chunks
    // of 1..=16 bytes.
    let mut x = head[1] as u32 | 0x100;
    let mut chunks = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = (1 + (x >> 16) as usize % 16).min(rest.len());
        let (c, r) = rest.split_at(n);
        chunks.push(c);
        rest = r;
    }
    let split = run(max, chunks.iter().copied());
    assert_eq!(whole, split, "cutting the stream into {chunks:?} changes what it frames as");
    let bytewise = run(max, stream.chunks(1));
    assert_eq!(whole, bytewise, "feeding the stream byte by byte changes what it frames as");

    for m in whole.iter().filter_map(|r| r.as_ref().ok()) {
        let bytes = m.to_bytes();
        let mut f = Framer::new(usize::MAX);
        f.push(&bytes);
        match f.next_message() {
            Some(Ok(again)) => assert_eq!(&again, m, "{}", String::from_utf8_lossy(&bytes)),
            other => panic!("{m:?} serializes as {:?}, which frames as {other:?}", String::from_utf8_lossy(&bytes)),
        }
    }
});
