//! One message each to many sockets from one system call, through io_uring.
//!
//! A monitor update to a thousand clients is a thousand `send`s, and on a
//! virtual machine each system call's entry and exit (with the mitigations
//! for speculative execution) is a good part of a send's cost. Submitted
//! as batches of io_uring send operations, the kernel makes the same sends
//! from a few `io_uring_enter` calls. Every send is `MSG_DONTWAIT`: one
//! that would block completes at once with `EAGAIN` instead of waiting in
//! the kernel, so the operations are done when the call returns, and the
//! caller queues what a full socket did not take, as after a plain `send`.
//!
//! Where io_uring is not available (an old kernel, one that forbids it with
//! `kernel.io_uring_disabled`, seccomp in a container) or fails, jobs come
//! back [`Outcome::NotRun`] and the caller sends them one by one.

use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;

use io_uring::{opcode, types, IoUring};

/// Operations per submission: a fan-out to more sockets takes several.
const ENTRIES: u32 = 256;

/// How one job went.
#[derive(Debug)]
pub enum Outcome {
    /// This many bytes went out (fewer than the message's length: the
    /// socket is full).
    Sent(usize),
    /// The send failed (`WouldBlock`: the socket was full, nothing went).
    Failed(io::Error),
    /// Not tried: send it some other way.
    NotRun,
}

/// The ring, made when first needed.
#[derive(Default)]
pub struct BatchSend {
    ring: Option<IoUring>,
    /// io_uring could not be set up, or failed once: not tried again.
    unavailable: bool,
}

impl BatchSend {
    pub fn new() -> BatchSend {
        BatchSend::default()
    }

    /// Sends each job's message to its socket once, nonblocking; `out[i]`
    /// tells how job `i` went.
    pub fn send(&mut self, jobs: &[(RawFd, &Arc<Vec<u8>>)], out: &mut Vec<Outcome>) {
        out.clear();
        out.resize_with(jobs.len(), || Outcome::NotRun);
        if self.ring.is_none() && !self.unavailable {
            match IoUring::new(ENTRIES) {
                Ok(r) => self.ring = Some(r),
                Err(e) => {
                    tracing::info!("io_uring unavailable ({e}): sending to many clients one message at a time");
                    self.unavailable = true;
                }
            }
        }
        let Some(ring) = self.ring.as_mut() else { return };
        for (k, chunk) in jobs.chunks(ENTRIES as usize).enumerate() {
            let out = &mut out[k * ENTRIES as usize..][..chunk.len()];
            if let Err(Broken { error, in_flight }) = submit(ring, chunk, out) {
                tracing::warn!("io_uring failed ({error}): sending to many clients one message at a time from now on");
                self.unavailable = true;
                let ring = self.ring.take();
                if in_flight {
                    // Operations the kernel may still run must never see
                    // their ring or buffers freed: both are kept for good,
                    // and those connections are closed.
                    std::mem::forget(ring);
                    for ((_, bytes), o) in chunk.iter().zip(out.iter_mut()) {
                        if matches!(o, Outcome::NotRun) {
                            std::mem::forget(Arc::clone(bytes));
                            *o = Outcome::Failed(io::Error::other("send in an unknown state after io_uring failed"));
                        }
                    }
                }
                return;
            }
        }
    }
}

/// How a submission broke off.
struct Broken {
    error: io::Error,
    /// Whether operations submitted have not completed.
    in_flight: bool,
}

/// Runs `chunk` (at most ENTRIES jobs) on the empty ring, setting `out`;
/// on an error, jobs not run are left `NotRun`.
fn submit(ring: &mut IoUring, chunk: &[(RawFd, &Arc<Vec<u8>>)], out: &mut [Outcome]) -> Result<(), Broken> {
    {
        let mut sq = ring.submission();
        for (i, (fd, bytes)) in chunk.iter().enumerate() {
            let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            let op = opcode::Send::new(types::Fd(*fd), bytes.as_ptr(), len)
                .flags(libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL)
                .build()
                .user_data(i as u64);
            // SAFETY: `bytes` (and `fd`, the caller's open socket) stay
            // alive and unmoved until the operation has completed: this
            // function returns only once every submitted one has, and when
            // it cannot know, `BatchSend::send` keeps the buffers forever.
            if unsafe { sq.push(&op) }.is_err() {
                // Cannot happen: the ring was empty and holds ENTRIES.
                return Err(Broken { error: io::Error::other("submission queue full"), in_flight: false });
            }
        }
    }
    let mut reaped = 0;
    loop {
        reaped += reap(ring, out);
        if reaped == chunk.len() {
            return Ok(());
        }
        if let Err(error) = ring.submit_and_wait(chunk.len() - reaped) {
            if matches!(error.raw_os_error(), Some(libc::EINTR | libc::EAGAIN | libc::EBUSY)) {
                continue;
            }
            // The kernel fails the call only when it took nothing from the
            // queue; what it took earlier completed inline (nonblocking
            // sends), so normally nothing is in flight. Operations never
            // taken die with the ring, never run.
            reaped += reap(ring, out);
            let submitted = chunk.len() - ring.submission().len();
            return Err(Broken { error, in_flight: reaped < submitted });
        }
    }
}

/// Takes the completions there are into `out`; returns how many.
fn reap(ring: &mut IoUring, out: &mut [Outcome]) -> usize {
    let mut n = 0;
    for cqe in ring.completion() {
        let r = cqe.result();
        let o = if r >= 0 { Outcome::Sent(r as usize) } else { Outcome::Failed(io::Error::from_raw_os_error(-r)) };
        if let Some(slot) = out.get_mut(cqe.user_data() as usize) {
            *slot = o;
        }
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn sends_each_message_to_its_socket_and_reports_full_and_closed_ones() {
        // 600 sockets: three submissions.
        let pairs: Vec<(UnixStream, UnixStream)> = (0..600).map(|_| UnixStream::pair().unwrap()).collect();
        for (a, _) in &pairs {
            a.set_nonblocking(true).unwrap();
        }
        let msgs: Vec<Arc<Vec<u8>>> = (0..600).map(|i| Arc::new(format!("message {i}").into_bytes())).collect();
        // Socket 7 full, socket 9's peer gone.
        let big = vec![0u8; 1 << 16];
        loop {
            // SAFETY: a plain nonblocking send of a live buffer.
            let n = unsafe { libc::send(pairs[7].0.as_raw_fd(), big.as_ptr().cast(), big.len(), libc::MSG_DONTWAIT) };
            if n < 0 {
                break;
            }
        }
        let (a9, b9) = UnixStream::pair().unwrap();
        drop(b9);
        let mut jobs: Vec<(RawFd, &Arc<Vec<u8>>)> =
            pairs.iter().zip(&msgs).map(|((a, _), m)| (a.as_raw_fd(), m)).collect();
        jobs[9].0 = a9.as_raw_fd();
        let mut out = Vec::new();
        let mut b = BatchSend::new();
        b.send(&jobs, &mut out);
        assert_eq!(out.len(), 600);
        if b.unavailable {
            // No io_uring here: nothing was sent, all is left to the caller.
            assert!(out.iter().all(|o| matches!(o, Outcome::NotRun)));
            return;
        }
        for (i, o) in out.iter().enumerate() {
            match i {
                7 => assert!(matches!(o, Outcome::Failed(e) if e.kind() == io::ErrorKind::WouldBlock), "{o:?}"),
                9 => assert!(matches!(o, Outcome::Failed(e) if e.raw_os_error() == Some(libc::EPIPE)), "{o:?}"),
                _ => {
                    assert!(matches!(o, Outcome::Sent(n) if *n == msgs[i].len()), "{i}: {o:?}");
                    let mut got = vec![0u8; msgs[i].len()];
                    pairs[i].1.set_nonblocking(true).unwrap();
                    (&pairs[i].1).read_exact(&mut got).unwrap();
                    assert_eq!(got, *msgs[i]);
                }
            }
        }
        // The ring is used again.
        b.send(&jobs[..3], &mut out);
        assert!(out.iter().all(|o| matches!(o, Outcome::Sent(_))), "{out:?}");
        // One without io_uring runs nothing.
        BatchSend { ring: None, unavailable: true }.send(&jobs[..3], &mut out);
        assert!(out.iter().all(|o| matches!(o, Outcome::NotRun)));
    }
}
