//! One client's outgoing messages, and how far the client is behind.
//!
//! A client that reads slowly (or not at all, e.g. a stopped process) must
//! cost the server a bounded amount of memory without being dropped:
//! - the core holds back monitor updates while the client is *behind*
//!   (more than [`HOLD_BYTES`] or [`HOLD_MESSAGES`] waiting) and merges
//!   them; the writer calls back once the queue has drained to
//!   [`RESUME_BYTES`] / [`RESUME_MESSAGES`], and the core then sends one
//!   merged update ([`Outbox::behind`], the `on_drained` callback);
//! - the connection's reader stops reading requests while the client is
//!   behind ([`Outbox::writable`]), so that replies do not pile up either
//!   (checked every few requests, even within one read from the socket);
//! - as a last resort against replies already owed (a few requests whose
//!   replies are huge), a message is refused once more than the hard bound
//!   is waiting before it, and the client is then disconnected
//!   ([`Refused::Stuck`]).
//!
//! On a plain socket (unix or TCP, [`direct_outbox`]) a message is written
//! straight away by whoever sends it when nothing is waiting: no task
//! switch, and the poll loop hears of the socket's room to write only
//! while something waits.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncWrite, AsyncWriteExt, Interest};
use tokio::sync::{mpsc, Notify};

/// The hard bound: a message is refused when more than this many bytes wait
/// before it, behind the message being written. Only replies to requests
/// read before the client fell behind can get this far; monitor updates
/// are held back long before.
pub const MAX_BACKLOG: usize = 64 << 20;

/// A client with more than this many bytes (or messages) waiting is behind:
/// its monitor updates are held back and merged.
pub const HOLD_BYTES: usize = 4 << 20;
/// See [`HOLD_BYTES`].
pub const HOLD_MESSAGES: usize = 1024;
/// A client that was behind has caught up once no more than this many bytes
/// and messages wait (lower than the hold marks, so that a slow reader gets
/// a few large merged updates rather than many small ones).
pub const RESUME_BYTES: usize = 1 << 20;
/// See [`RESUME_BYTES`].
pub const RESUME_MESSAGES: usize = 256;

/// Most bytes gathered into one write from queued messages.
const BATCH: usize = 256 << 10;

/// Most messages in one vectored write (Linux's IOV_MAX is 1024).
const MAX_IOV: usize = 256;

struct Shared {
    /// Bytes queued and not yet taken by the writer.
    queued: AtomicUsize,
    /// Messages queued and not yet taken by the writer.
    messages: AtomicUsize,
    /// Bytes the writer has taken so far (progress, for inactivity probes).
    taken: AtomicU64,
    /// Set while the client is behind and the writer owes the `on_drained`
    /// call: whoever clears it (the writer when the queue drains, or the
    /// sender finding it drained already) reports the catch-up.
    armed: AtomicBool,
    /// Tells the writer to stop at once, dropping what is queued.
    abort: Notify,
    /// Wakes a reader waiting for the queue to drain (when `waiting`).
    drained: Notify,
    waiting: AtomicBool,
    /// Messages queued or still being written by the writer: a direct
    /// write may go out only when there are none, to keep the order.
    unfinished: AtomicUsize,
    /// For a plain socket: a descriptor of it of its own, for direct
    /// writes (closed once the senders and the writer are gone).
    direct: Option<OwnedFd>,
}

impl Shared {
    fn over_hold(&self) -> bool {
        self.queued.load(Ordering::SeqCst) > HOLD_BYTES || self.messages.load(Ordering::SeqCst) > HOLD_MESSAGES
    }

    fn under_resume(&self) -> bool {
        self.queued.load(Ordering::SeqCst) <= RESUME_BYTES && self.messages.load(Ordering::SeqCst) <= RESUME_MESSAGES
    }
}

/// The sending side (cheap to clone).
#[derive(Clone)]
pub struct Outbox {
    shared: Arc<Shared>,
    max_bytes: usize,
    /// Shared by the clones: dropping the last closes the queue.
    queue: Arc<Queue>,
}

/// The queue from an outbox to its writer.
struct Queue {
    tx: OnceLock<mpsc::Sender<Arc<Vec<u8>>>>,
    /// A direct outbox's queue and writer task are made only when a message
    /// first has to wait: most clients never fill their socket, and a
    /// channel and an idle task per client are memory for nothing (about
    /// 1 KiB). Until then: the queue's bound and the writer's callback.
    unmade: Mutex<Option<(usize, OnDrained)>>,
}

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The client is not reading: the connection is being dropped.
    Stuck,
    /// The connection is already gone.
    Closed,
}

/// Called by the writer when a client that was behind has caught up.
pub type OnDrained = Box<dyn Fn() + Send + Sync>;

/// The writing side: owned by the task that writes to the socket.
pub struct Writer {
    rx: mpsc::Receiver<Arc<Vec<u8>>>,
    shared: Arc<Shared>,
    on_drained: OnDrained,
}

/// A new queue holding at most `max_messages` messages, refusing more once
/// `max_bytes` wait (besides the message being written); `on_drained` is
/// called when a client found [`Outbox::behind`] has caught up.
pub fn outbox(max_messages: usize, max_bytes: usize, on_drained: OnDrained) -> (Outbox, Writer) {
    new_outbox(max_messages, max_bytes, on_drained, None)
}

/// Like [`outbox`], for a plain stream socket `sock` (nonblocking, a
/// descriptor of its own: the session reads from another): messages are
/// written to it at once when nothing waits; a writer task, started the
/// first time a message has to wait, writes what waits. Must be used
/// inside a tokio runtime.
pub fn direct_outbox(max_messages: usize, max_bytes: usize, on_drained: OnDrained, sock: OwnedFd) -> Outbox {
    let queue = Queue { tx: OnceLock::new(), unmade: Mutex::new(Some((max_messages, on_drained))) };
    Outbox { shared: new_shared(Some(sock)), max_bytes, queue: Arc::new(queue) }
}

fn new_outbox(max_messages: usize, max_bytes: usize, on_drained: OnDrained, direct: Option<OwnedFd>) -> (Outbox, Writer) {
    let (tx, rx) = mpsc::channel(max_messages);
    let shared = new_shared(direct);
    let queue = Queue { tx: OnceLock::from(tx), unmade: Mutex::new(None) };
    (Outbox { shared: shared.clone(), max_bytes, queue: Arc::new(queue) }, Writer { rx, shared, on_drained })
}

fn new_shared(direct: Option<OwnedFd>) -> Arc<Shared> {
    Arc::new(Shared {
        queued: AtomicUsize::new(0),
        messages: AtomicUsize::new(0),
        taken: AtomicU64::new(0),
        armed: AtomicBool::new(false),
        abort: Notify::new(),
        drained: Notify::new(),
        waiting: AtomicBool::new(false),
        unfinished: AtomicUsize::new(0),
        direct,
    })
}

impl Outbox {
    /// Queues `bytes`; if the client is stuck, tells the writer to stop
    /// and says so.
    pub fn push(&self, bytes: Arc<Vec<u8>>) -> Result<(), Refused> {
        self.push_all(std::slice::from_ref(&bytes))
    }

    /// Sends `msgs` in order: on an idle plain socket, as much as it takes
    /// is written at once; the rest is queued (see [`Outbox::push`]).
    pub fn push_all(&self, msgs: &[Arc<Vec<u8>>]) -> Result<(), Refused> {
        match self.direct_fd() {
            Some(fd) => self.wrote(msgs, write_some(fd, msgs, 0)),
            None => self.wrote(msgs, Err(io::ErrorKind::WouldBlock.into())),
        }
    }

    /// The socket to write to directly, now: a plain socket with nothing
    /// waiting. Whoever writes to it then calls [`Outbox::wrote`] before
    /// anything else is pushed.
    pub fn direct_fd(&self) -> Option<RawFd> {
        let fd = self.shared.direct.as_ref()?;
        (self.shared.unfinished.load(Ordering::SeqCst) == 0).then(|| fd.as_raw_fd())
    }

    /// After writing `msgs` to [`Outbox::direct_fd`]: `written` is how far
    /// that got (messages whole, bytes of the next) or why nothing was
    /// written (`WouldBlock`: the socket is full). What was not written is
    /// queued.
    pub fn wrote(&self, msgs: &[Arc<Vec<u8>>], written: io::Result<(usize, usize)>) -> Result<(), Refused> {
        let mut rest = msgs;
        match written {
            Ok((done, offset)) => {
                let sent: usize = msgs[..done].iter().map(|m| m.len()).sum::<usize>() + offset;
                self.shared.taken.fetch_add(sent as u64, Ordering::SeqCst);
                rest = &msgs[done..];
                if offset > 0 {
                    // The socket took part of a message.
                    self.queue(Arc::new(msgs[done][offset..].to_vec()))?;
                    rest = &msgs[done + 1..];
                }
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
            // The session's reader hears of it too and ends it.
            Err(_) => return Err(Refused::Closed),
        }
        for m in rest {
            self.queue(m.clone())?;
        }
        Ok(())
    }

    /// A direct outbox's queue, made (and its writer started) the first
    /// time a message has to wait.
    fn make_queue(&self) -> mpsc::Sender<Arc<Vec<u8>>> {
        let unmade = self.queue.unmade.lock().ok().and_then(|mut u| u.take());
        let (tx, rx) = mpsc::channel(unmade.as_ref().map_or(1, |u| u.0));
        match unmade {
            Some((_, on_drained)) => {
                tokio::spawn(Writer { rx, shared: self.shared.clone(), on_drained }.run_direct());
            }
            // Cannot happen (made once): a closed queue.
            None => drop(rx),
        }
        tx
    }

    fn queue(&self, bytes: Arc<Vec<u8>>) -> Result<(), Refused> {
        let tx = self.queue.tx.get_or_init(|| self.make_queue());
        let len = bytes.len();
        self.shared.unfinished.fetch_add(1, Ordering::SeqCst);
        // Counted before sending, so that the writer never takes away more
        // than was added.
        let before = self.shared.queued.fetch_add(len, Ordering::SeqCst);
        self.shared.messages.fetch_add(1, Ordering::SeqCst);
        let refused = if before > self.max_bytes {
            Some(Refused::Stuck)
        } else {
            match tx.try_send(bytes) {
                Ok(()) => None,
                Err(mpsc::error::TrySendError::Full(_)) => Some(Refused::Stuck),
                Err(mpsc::error::TrySendError::Closed(_)) => Some(Refused::Closed),
            }
        };
        match refused {
            None => Ok(()),
            Some(r) => {
                self.shared.queued.fetch_sub(len, Ordering::SeqCst);
                self.shared.messages.fetch_sub(1, Ordering::SeqCst);
                self.shared.unfinished.fetch_sub(1, Ordering::SeqCst);
                if r == Refused::Stuck {
                    self.shared.abort.notify_one();
                }
                Err(r)
            }
        }
    }

    /// Bytes waiting behind the message being written.
    pub fn backlog(&self) -> usize {
        self.shared.queued.load(Ordering::SeqCst)
    }

    /// Whether the client is behind: true from when more than the hold
    /// marks wait until the writer has called `on_drained` (which it will,
    /// once, for every time this turned true).
    pub fn behind(&self) -> bool {
        if self.shared.armed.load(Ordering::SeqCst) {
            return true;
        }
        if !self.shared.over_hold() {
            return false;
        }
        self.shared.armed.store(true, Ordering::SeqCst);
        // The writer may have drained the queue meanwhile without seeing
        // the flag: then nobody would report the catch-up.
        if self.shared.under_resume() && self.shared.armed.swap(false, Ordering::SeqCst) {
            return false;
        }
        true
    }

    /// Bytes the writer has taken so far: it grows while the client reads.
    pub fn progress(&self) -> u64 {
        self.shared.taken.load(Ordering::SeqCst)
    }

    /// Whether so much waits that no more requests should be read.
    pub fn full(&self) -> bool {
        self.shared.over_hold()
    }

    /// Waits until the queue has drained to the resume marks.
    pub async fn writable(&self) {
        loop {
            let wake = self.shared.drained.notified();
            tokio::pin!(wake);
            wake.as_mut().enable();
            self.shared.waiting.store(true, Ordering::SeqCst);
            if self.shared.under_resume() {
                return;
            }
            wake.await;
        }
    }
}

impl Writer {
    /// Takes a message off the queue (it is no longer waiting).
    fn took(&self, m: &[u8]) {
        self.shared.queued.fetch_sub(m.len(), Ordering::SeqCst);
        self.shared.messages.fetch_sub(1, Ordering::SeqCst);
        self.shared.taken.fetch_add(m.len() as u64, Ordering::SeqCst);
    }

    /// After taking messages: reports a catch-up.
    fn check_drained(&self) {
        if self.shared.under_resume() {
            if self.shared.waiting.load(Ordering::SeqCst) && self.shared.waiting.swap(false, Ordering::SeqCst) {
                self.shared.drained.notify_waiters();
            }
            if self.shared.armed.load(Ordering::SeqCst) && self.shared.armed.swap(false, Ordering::SeqCst) {
                (self.on_drained)();
            }
        }
    }

    /// Writes queued messages to `out` until every sender is gone (then
    /// shuts `out` down), writing fails, or the client is found stuck.
    pub async fn run<W: AsyncWrite + Unpin>(mut self, mut out: W) {
        loop {
            let batch = match self.next_batch().await {
                Next::Batch(b) => b,
                Next::Done => break,
                Next::Abort => return,
            };
            let gathered: Vec<u8>;
            let bytes: &[u8] = if batch.len() == 1 {
                &batch[0]
            } else {
                gathered = batch.iter().flat_map(|m| m.as_slice()).copied().collect();
                &gathered
            };
            let written = tokio::select! {
                r = out.write_all(bytes) => r.is_ok(),
                _ = self.shared.abort.notified() => return,
            };
            if !written {
                return;
            }
            self.shared.unfinished.fetch_sub(batch.len(), Ordering::SeqCst);
        }
        let _ = out.shutdown().await;
    }

    /// The next message and what else is queued behind it already, taken
    /// off the queue: a client that pipelines requests gets its replies in
    /// one write.
    async fn next_batch(&mut self) -> Next {
        let next = tokio::select! {
            m = self.rx.recv() => m,
            _ = self.shared.abort.notified() => return Next::Abort,
        };
        let Some(m) = next else { return Next::Done };
        self.took(&m);
        let mut size = m.len();
        let mut batch = vec![m];
        while size < BATCH && batch.len() < MAX_IOV {
            let Ok(more) = self.rx.try_recv() else { break };
            self.took(&more);
            size += more.len();
            batch.push(more);
        }
        self.check_drained();
        Next::Batch(batch)
    }

    /// Writes what waits in a [`direct_outbox`] until every sender is gone
    /// (then shuts the socket down for writing), writing fails, or the
    /// client is found stuck. The socket is registered for room to write
    /// only while a write waits for it.
    pub async fn run_direct(mut self) {
        let Some(fd) = self.shared.direct.as_ref().map(AsRawFd::as_raw_fd) else {
            return;
        };
        loop {
            let batch = match self.next_batch().await {
                Next::Batch(b) => b,
                Next::Done => break,
                Next::Abort => return,
            };
            let mut room: Option<AsyncFd<Raw>> = None;
            let (mut done, mut offset) = (0, 0);
            while done < batch.len() {
                match write_some(fd, &batch[done..], offset) {
                    Ok((d, o)) => {
                        (done, offset) = (done + d, o);
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
                if room.is_none() {
                    // SAFETY: `fd` is this outbox's own descriptor, open
                    // as long as the writer holds the outbox (longer than
                    // `room`).
                    match unsafe { AsyncFd::register_with_interest(Raw(fd), Interest::WRITABLE) } {
                        Ok(r) => room = Some(r),
                        Err(_) => return,
                    }
                }
                let Some(r) = &room else { return };
                tokio::select! {
                    g = r.writable() => match g {
                        Ok(mut g) => g.clear_ready(),
                        Err(_) => return,
                    },
                    _ = self.shared.abort.notified() => return,
                }
            }
            self.shared.unfinished.fetch_sub(batch.len(), Ordering::SeqCst);
        }
        // SAFETY: shuts down the writing side of a socket this outbox holds
        // a descriptor of; the reader's side stays.
        unsafe { libc::shutdown(fd, libc::SHUT_WR) };
    }
}

/// What the writer takes off the queue.
enum Next {
    /// Messages to write, in order.
    Batch(Vec<Arc<Vec<u8>>>),
    /// Every sender is gone and the queue is empty.
    Done,
    /// The client is stuck: stop without writing.
    Abort,
}

/// A descriptor registered with the poll loop without being owned.
struct Raw(RawFd);

impl AsRawFd for Raw {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// Writes `msgs` to the nonblocking socket `fd`, from `offset` bytes into
/// the first, until all is written or the socket is full. Returns where it
/// stopped: (messages written whole, bytes written of the next);
/// `WouldBlock` if nothing at all could be written.
fn write_some(fd: RawFd, msgs: &[Arc<Vec<u8>>], mut offset: usize) -> io::Result<(usize, usize)> {
    let mut done = 0;
    let mut wrote = false;
    loop {
        // Nothing to write of empty messages.
        while done < msgs.len() && msgs[done].len() == offset {
            (done, offset) = (done + 1, 0);
        }
        if done == msgs.len() {
            break;
        }
        // One message left (a reply, or an update in a fan-out): a plain
        // send, without building an iovec array.
        let n = if done + 1 == msgs.len() {
            let m = &msgs[done][offset..];
            // SAFETY: `m` is a live buffer for the duration of the call;
            // `fd` is open. MSG_NOSIGNAL: a peer that has gone is an error,
            // not a SIGPIPE.
            unsafe { libc::send(fd, m.as_ptr().cast(), m.len(), libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) }
        } else {
            sendmsg_all(fd, &msgs[done..], offset)
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock if wrote => break,
                _ => return Err(e),
            }
        }
        wrote = true;
        let mut n = n as usize;
        while n > 0 {
            let left = msgs[done].len() - offset;
            if n >= left {
                (n, done, offset) = (n - left, done + 1, 0);
            } else {
                (n, offset) = (0, offset + n);
            }
        }
        if offset > 0 {
            // The socket took part of a message: it is full.
            break;
        }
    }
    Ok((done, offset))
}

/// One `sendmsg` of `msgs` (at most [`MAX_IOV`] of them), the first from
/// `offset`; what it returned.
fn sendmsg_all(fd: RawFd, msgs: &[Arc<Vec<u8>>], offset: usize) -> isize {
    let slices: Vec<io::IoSlice> = msgs
        .iter()
        .take(MAX_IOV)
        .enumerate()
        .map(|(i, m)| io::IoSlice::new(if i == 0 { &m[offset..] } else { &m[..] }))
        .collect();
    // SAFETY: an all-zero msghdr is valid (no name, no control data).
    let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
    // IoSlice has iovec's layout on Unix.
    hdr.msg_iov = slices.as_ptr() as *mut libc::iovec;
    hdr.msg_iovlen = slices.len() as _;
    // SAFETY: `hdr` points at `slices`, which borrow live buffers, for the
    // duration of the call; `fd` is open. MSG_NOSIGNAL: a peer that has
    // gone is an error, not a SIGPIPE.
    unsafe { libc::sendmsg(fd, &hdr, libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn nop() -> OnDrained {
        Box::new(|| {})
    }

    fn msg(n: usize) -> Arc<Vec<u8>> {
        Arc::new(vec![b'x'; n])
    }

    /// A direct outbox on one end of a socket pair, and the other end.
    fn direct_pair() -> (Outbox, std::os::unix::net::UnixStream) {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        (direct_outbox(100_000, usize::MAX, nop(), OwnedFd::from(a)), b)
    }

    #[test]
    fn direct_writes_and_what_waits_arrive_whole_and_in_order() {
        rt().block_on(async {
            let (out, b) = direct_pair();
            // Far more than the socket holds, nobody reading: the first
            // messages go out at once, the rest waits, in single pushes and
            // in batches.
            let mut want = Vec::new();
            let mut batch = Vec::new();
            for i in 0..3000u32 {
                let m = format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat((i as usize * 37) % 3000)).into_bytes();
                want.extend_from_slice(&m);
                if i % 3 == 0 {
                    assert_eq!(out.push_all(&batch), Ok(()));
                    batch.clear();
                    assert_eq!(out.push(Arc::new(m)), Ok(()));
                } else {
                    batch.push(Arc::new(m));
                    if batch.len() == 5 {
                        assert_eq!(out.push_all(&batch), Ok(()));
                        batch.clear();
                    }
                }
            }
            assert_eq!(out.push_all(&batch), Ok(()));
            assert!(out.backlog() > 0, "the socket took everything: the test shows nothing");
            drop(out);
            let got = tokio::task::spawn_blocking(move || {
                let mut b = b;
                let mut v = Vec::new();
                std::io::Read::read_to_end(&mut b, &mut v).unwrap();
                v
            })
            .await
            .unwrap();
            // The socket was closed after the last message.
            assert_eq!(got.len(), want.len());
            assert!(got == want, "bytes out of order");
        });
    }

    #[test]
    fn a_direct_outbox_makes_its_queue_only_when_a_message_waits() {
        rt().block_on(async {
            let (out, mut b) = direct_pair();
            let clone = out.clone();
            // Written at once: no queue, no writer task.
            assert_eq!(out.push(msg(100)), Ok(()));
            assert_eq!(clone.push_all(&[msg(10), msg(20)]), Ok(()));
            assert!(out.queue.tx.get().is_none(), "a queue for nothing");
            let mut got = vec![0u8; 130];
            std::io::Read::read_exact(&mut b, &mut got).unwrap();
            // Once the socket is full the rest waits, for every clone.
            let mut sent = 130;
            while out.backlog() == 0 {
                assert_eq!(clone.push(msg(4096)), Ok(()));
                sent += 4096;
            }
            assert!(out.queue.tx.get().is_some());
            drop((out, clone));
            let rest = tokio::task::spawn_blocking(move || {
                let mut v = Vec::new();
                std::io::Read::read_to_end(&mut b, &mut v).unwrap();
                v
            })
            .await
            .unwrap();
            assert_eq!(130 + rest.len(), sent, "everything arrives, then the end");
        });
    }

    #[test]
    fn a_direct_write_to_a_closed_peer_is_refused() {
        rt().block_on(async {
            let (out, b) = direct_pair();
            drop(b);
            assert_eq!(out.push(msg(10)), Err(Refused::Closed));
        });
    }

    #[test]
    fn refused_once_the_bound_waits_before_a_message() {
        let (out, _w) = outbox(100, 1000, nop());
        // Nothing queued: a message bigger than the bound is accepted (a
        // merged update or a monitor reply may be as big as the database).
        assert_eq!(out.push(msg(5000)), Ok(()));
        assert_eq!(out.backlog(), 5000);
        // Anything more is too much.
        assert_eq!(out.push(msg(1)), Err(Refused::Stuck));
        assert_eq!(out.backlog(), 5000);

        let (out, _w) = outbox(100, 1000, nop());
        for _ in 0..10 {
            assert_eq!(out.push(msg(100)), Ok(()));
        }
        // Exactly the bound waits: one more may come, then no more.
        assert_eq!(out.push(msg(100)), Ok(()));
        assert_eq!(out.push(msg(1)), Err(Refused::Stuck));
    }

    #[test]
    fn behind_past_the_hold_mark_and_caught_up_once_drained() {
        rt().block_on(async {
            let calls = Arc::new(AtomicUsize::new(0));
            let c = calls.clone();
            let (out, w) = outbox(
                100_000,
                usize::MAX,
                Box::new(move || {
                    c.fetch_add(1, Ordering::SeqCst);
                }),
            );
            let (a, mut b) = tokio::io::duplex(1 << 16);
            let task = tokio::spawn(w.run(a));
            assert!(!out.behind(), "an empty queue is not behind");
            // The peer reads nothing: the queue grows past the hold mark.
            let chunk = 64 << 10;
            while out.backlog() <= HOLD_BYTES {
                assert_eq!(out.push(msg(chunk)), Ok(()));
            }
            assert!(out.behind());
            assert!(out.behind(), "still behind until the writer reports the catch-up");
            assert_eq!(calls.load(Ordering::SeqCst), 0);
            assert!(out.full(), "no more requests are read");
            let o = out.clone();
            let reader = tokio::spawn(async move { o.writable().await });
            tokio::task::yield_now().await;
            assert!(!reader.is_finished());
            // The peer reads until the writer has reported it.
            let mut buf = vec![0u8; 1 << 16];
            let mut read = 0;
            while calls.load(Ordering::SeqCst) == 0 {
                read += b.read(&mut buf).await.unwrap();
            }
            assert!(out.backlog() <= RESUME_BYTES, "caught up with {} bytes waiting", out.backlog());
            assert!(read > HOLD_BYTES - RESUME_BYTES - 2 * chunk, "caught up after reading only {read} bytes");
            assert!(!out.behind());
            tokio::time::timeout(std::time::Duration::from_secs(5), reader).await.expect("reader woken").unwrap();
            assert!(!out.full());
            // Reading the rest reports nothing more: once per time behind.
            drop(out);
            while b.read(&mut buf).await.unwrap() > 0 {}
            task.await.unwrap();
            assert_eq!(calls.load(Ordering::SeqCst), 1);
        });
    }

    #[test]
    fn a_queue_drained_meanwhile_is_not_behind() {
        // Over the hold mark by message count, then drained before the
        // sender asks: the sender finds it drained and nothing is owed.
        let (out, w) = outbox(100_000, usize::MAX, Box::new(|| panic!("nothing was owed")));
        for _ in 0..=HOLD_MESSAGES {
            assert_eq!(out.push(msg(1)), Ok(()));
        }
        assert!(out.full());
        let mut w = w;
        while let Ok(m) = w.rx.try_recv() {
            w.took(&m);
        }
        w.check_drained();
        assert!(!out.behind());
        assert_eq!(out.progress(), HOLD_MESSAGES as u64 + 1);
    }

    #[test]
    fn bounded_in_messages() {
        let (out, _w) = outbox(3, usize::MAX, nop());
        for _ in 0..3 {
            assert_eq!(out.push(msg(1)), Ok(()));
        }
        assert_eq!(out.push(msg(1)), Err(Refused::Stuck));
    }

    #[test]
    fn a_closed_connection_refuses_without_counting() {
        let (out, w) = outbox(3, 10, nop());
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
            let (out, w) = outbox(100, 1000, nop());
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
            let (out, w) = outbox(1000, usize::MAX, nop());
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
            let (out, w) = outbox(100, 1000, nop());
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
