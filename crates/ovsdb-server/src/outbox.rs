//! One client's outgoing messages: a queue bounded in messages and in
//! bytes, so that a client that stops reading costs the server a bounded
//! amount of memory. When the bound is hit the client is stuck: the queue
//! is dropped unsent and the connection closed (the client may reconnect
//! and catch up with `monitor_cond_since`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Notify};

/// Bytes that may wait for one client behind the message being written to
/// it. One message of any size may always wait, so that a client busy
/// reading a big monitor reply is not dropped for the next update.
pub const MAX_BACKLOG: usize = 64 << 20;

/// Most bytes gathered into one write from queued messages.
const BATCH: usize = 256 << 10;

struct Shared {
    /// Bytes queued and not yet taken by the writer.
    queued: AtomicUsize,
    /// Tells the writer to stop at once, dropping what is queued.
    abort: Notify,
}

/// The sending side (cheap to clone).
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Arc<Vec<u8>>>,
    shared: Arc<Shared>,
    max_bytes: usize,
}

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The client is not reading: the connection is being dropped.
    Stuck,
    /// The connection is already gone.
    Closed,
}

/// The writing side: owned by the task that writes to the socket.
pub struct Writer {
    rx: mpsc::Receiver<Arc<Vec<u8>>>,
    shared: Arc<Shared>,
}

/// A new queue holding at most `max_messages` messages and `max_bytes`
/// bytes (besides the message being written and one more of any size).
pub fn outbox(max_messages: usize, max_bytes: usize) -> (Outbox, Writer) {
    let (tx, rx) = mpsc::channel(max_messages);
    let shared = Arc::new(Shared { queued: AtomicUsize::new(0), abort: Notify::new() });
    (Outbox { tx, shared: shared.clone(), max_bytes }, Writer { rx, shared })
}

impl Outbox {
    /// Queues `bytes`; if the client is stuck, tells the writer to stop
    /// and says so.
    pub fn push(&self, bytes: Arc<Vec<u8>>) -> Result<(), Refused> {
        let len = bytes.len();
        // Counted before sending, so that the writer never takes away more
        // than was added.
        let before = self.shared.queued.fetch_add(len, Ordering::AcqRel);
        let refused = if before > 0 && before + len > self.max_bytes {
            Some(Refused::Stuck)
        } else {
            match self.tx.try_send(bytes) {
                Ok(()) => None,
                Err(mpsc::error::TrySendError::Full(_)) => Some(Refused::Stuck),
                Err(mpsc::error::TrySendError::Closed(_)) => Some(Refused::Closed),
            }
        };
        match refused {
            None => Ok(()),
            Some(r) => {
                self.shared.queued.fetch_sub(len, Ordering::AcqRel);
                if r == Refused::Stuck {
                    self.shared.abort.notify_one();
                }
                Err(r)
            }
        }
    }

    /// Bytes waiting behind the message being written.
    pub fn backlog(&self) -> usize {
        self.shared.queued.load(Ordering::Acquire)
    }
}

impl Writer {
    /// Writes queued messages to `out` until every sender is gone (then
    /// shuts `out` down), writing fails, or the client is found stuck.
    pub async fn run<W: AsyncWrite + Unpin>(mut self, mut out: W) {
        loop {
            let next = tokio::select! {
                m = self.rx.recv() => m,
                _ = self.shared.abort.notified() => return,
            };
            let Some(m) = next else { break };
            self.shared.queued.fetch_sub(m.len(), Ordering::AcqRel);
            // What else is queued already goes in the same write: a client
            // that pipelines requests gets its replies in one go.
            let mut batch: Option<Vec<u8>> = None;
            while batch.as_ref().map_or(m.len(), Vec::len) < BATCH {
                let Ok(more) = self.rx.try_recv() else { break };
                self.shared.queued.fetch_sub(more.len(), Ordering::AcqRel);
                batch.get_or_insert_with(|| m.to_vec()).extend_from_slice(&more);
            }
            let bytes = batch.as_deref().unwrap_or(&m);
            let written = tokio::select! {
                r = out.write_all(bytes) => r.is_ok(),
                _ = self.shared.abort.notified() => return,
            };
            if !written {
                return;
            }
        }
        let _ = out.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn msg(n: usize) -> Arc<Vec<u8>> {
        Arc::new(vec![b'x'; n])
    }

    #[test]
    fn bounded_in_bytes_but_one_message_of_any_size_may_wait() {
        let (out, _w) = outbox(100, 1000);
        // Nothing queued: a message bigger than the bound is accepted.
        assert_eq!(out.push(msg(5000)), Ok(()));
        assert_eq!(out.backlog(), 5000);
        // Anything more is too much.
        assert_eq!(out.push(msg(1)), Err(Refused::Stuck));
        assert_eq!(out.backlog(), 5000);

        let (out, _w) = outbox(100, 1000);
        for _ in 0..10 {
            assert_eq!(out.push(msg(100)), Ok(()));
        }
        assert_eq!(out.push(msg(1)), Err(Refused::Stuck));
    }

    #[test]
    fn bounded_in_messages() {
        let (out, _w) = outbox(3, usize::MAX);
        for _ in 0..3 {
            assert_eq!(out.push(msg(1)), Ok(()));
        }
        assert_eq!(out.push(msg(1)), Err(Refused::Stuck));
    }

    #[test]
    fn a_closed_connection_refuses_without_counting() {
        let (out, w) = outbox(3, 10);
        drop(w);
        assert_eq!(out.push(msg(1)), Err(Refused::Closed));
        assert_eq!(out.backlog(), 0);
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    #[test]
    fn the_writer_sends_in_order_and_frees_the_budget() {
        rt().block_on(async {
            let (out, w) = outbox(100, 1000);
            let (a, mut b) = tokio::io::duplex(64);
            let task = tokio::spawn(w.run(a));
            for i in 0..50u8 {
                // The bound holds only what waits: a reading peer never
                // gets stuck however much goes through.
                assert_eq!(out.push(Arc::new(vec![i; 100])), Ok(()), "a reading client counted as stuck");
                let mut got = [0u8; 100];
                b.read_exact(&mut got).await.unwrap();
                assert_eq!(got, [i; 100]);
            }
            assert_eq!(out.backlog(), 0);
            drop(out);
            task.await.unwrap();
            // Shut down after the last message.
            assert_eq!(b.read(&mut [0u8; 1]).await.unwrap(), 0);
        });
    }

    #[test]
    fn queued_messages_are_written_whole_and_in_order() {
        rt().block_on(async {
            let (out, w) = outbox(1000, usize::MAX);
            // Queued before the writer runs: it gathers them.
            let mut want = Vec::new();
            for i in 0..300u32 {
                let m = format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat((i as usize * 37) % 3000)).into_bytes();
                want.extend_from_slice(&m);
                assert_eq!(out.push(Arc::new(m)), Ok(()));
            }
            let (a, mut b) = tokio::io::duplex(1 << 16);
            let task = tokio::spawn(w.run(a));
            drop(out);
            let mut got = Vec::new();
            b.read_to_end(&mut got).await.unwrap();
            task.await.unwrap();
            assert_eq!(got.len(), want.len());
            assert!(got == want, "bytes out of order");
        });
    }

    #[test]
    fn a_stuck_client_is_cut_off_without_its_queue_being_written() {
        rt().block_on(async {
            let (out, w) = outbox(100, 1000);
            let (a, mut b) = tokio::io::duplex(64);
            let task = tokio::spawn(w.run(a));
            // The peer reads nothing: the writer blocks on the first
            // message and the rest piles up to the bound.
            let mut refused = None;
            for _ in 0..100 {
                if let Err(r) = out.push(msg(100)) {
                    refused = Some(r);
                    break;
                }
                tokio::task::yield_now().await;
            }
            assert_eq!(refused, Some(Refused::Stuck));
            // The writer stops although the peer still reads nothing and
            // senders are still alive.
            tokio::time::timeout(std::time::Duration::from_secs(5), task).await.expect("writer stopped").unwrap();
            let mut all = Vec::new();
            b.read_to_end(&mut all).await.unwrap();
            assert!(all.len() < 1000 + 200, "{} bytes written after the client got stuck", all.len());
        });
    }
}
