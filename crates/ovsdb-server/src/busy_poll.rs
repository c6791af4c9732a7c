//! Adaptive busy polling: after answering requests, the server keeps
//! looking for the next one for a short while before it sleeps.
//!
//! A client that sends its next request as soon as it has read the
//! answer (`ovn-nbctl` scripts, a CMS syncing one object at a time) finds
//! the server awake: no wake-up of a sleeping thread, which on a virtual
//! machine costs tens of microseconds when the two run on different CPUs
//! (an inter-processor interrupt and a halted virtual CPU to resume). This
//! is the scheme KVM's halt polling uses: the window grows while requests
//! come back shortly after the server went idle, and shrinks when they do
//! not, so a server whose clients are quiet, or only trickle in, does not
//! spin at all.

use std::time::{Duration, Instant};

/// The first window, once requests come back quickly.
const START: Duration = Duration::from_micros(10);

/// When to spin (pure: the caller passes the time).
#[derive(Debug, Clone)]
pub struct BusyPoll {
    /// The longest window (zero: never spin).
    max: Duration,
    /// How long to spin after going idle now.
    window: Duration,
    /// When the server last went idle after handling requests.
    idle_since: Option<Instant>,
}

impl BusyPoll {
    /// Spins for at most `max` after each batch of requests.
    pub fn new(max: Duration) -> BusyPoll {
        BusyPoll { max, window: Duration::ZERO, idle_since: None }
    }

    /// The current window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Requests arrived at `now`: adapts the window to how long the server
    /// had been idle.
    pub fn request(&mut self, now: Instant) {
        let Some(since) = self.idle_since.take() else { return };
        let idle = now.saturating_duration_since(since);
        if idle <= self.window {
            // Spinning paid off.
        } else if idle <= self.max {
            // A longer window would have caught it.
            self.window = (self.window * 2).clamp(START, self.max);
        } else {
            // Too long a pause to wait for: spin less.
            self.window /= 2;
            if self.window < START {
                self.window = Duration::ZERO;
            }
        }
    }

    /// The server has handled what arrived and goes idle at `now`.
    pub fn idle(&mut self, now: Instant) {
        self.idle_since = Some(now);
    }

    /// Whether to keep polling instead of sleeping at `now`.
    pub fn spin(&self, now: Instant) -> bool {
        self.idle_since.is_some_and(|s| now.saturating_duration_since(s) < self.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    /// A client answering after `gap` each time, `n` times.
    fn exchanges(p: &mut BusyPoll, t: &mut Instant, gap: Duration, n: usize) {
        for _ in 0..n {
            p.idle(*t);
            *t += gap;
            p.request(*t);
        }
    }

    #[test]
    fn the_window_grows_to_cover_a_quick_client_and_no_further() {
        let mut p = BusyPoll::new(us(100));
        let mut t = Instant::now();
        assert!(!p.spin(t), "no spinning before any request");
        exchanges(&mut p, &mut t, us(30), 10);
        assert_eq!(p.window(), us(40), "10 -> 20 -> 40 covers 30 us; it stays there");
        p.idle(t);
        assert!(p.spin(t + us(39)));
        assert!(!p.spin(t + us(40)));
    }

    #[test]
    fn the_window_never_passes_the_maximum() {
        let mut p = BusyPoll::new(us(50));
        let mut t = Instant::now();
        exchanges(&mut p, &mut t, us(45), 10);
        assert_eq!(p.window(), us(50));
    }

    #[test]
    fn slow_clients_shrink_the_window_to_nothing() {
        let mut p = BusyPoll::new(us(100));
        let mut t = Instant::now();
        exchanges(&mut p, &mut t, us(60), 10);
        assert_eq!(p.window(), us(80));
        exchanges(&mut p, &mut t, Duration::from_millis(5), 1);
        assert_eq!(p.window(), us(40));
        exchanges(&mut p, &mut t, Duration::from_millis(5), 3);
        assert_eq!(p.window(), Duration::ZERO);
        p.idle(t);
        assert!(!p.spin(t));
    }

    #[test]
    fn a_zero_maximum_never_spins() {
        let mut p = BusyPoll::new(Duration::ZERO);
        let mut t = Instant::now();
        exchanges(&mut p, &mut t, Duration::ZERO, 10);
        p.idle(t);
        assert!(!p.spin(t));
    }

    #[test]
    fn timer_wakeups_while_idle_do_not_count() {
        // Only requests adapt the window; going idle twice keeps the later
        // start.
        let mut p = BusyPoll::new(us(100));
        let mut t = Instant::now();
        exchanges(&mut p, &mut t, us(15), 3);
        assert_eq!(p.window(), us(20));
        p.idle(t);
        assert!(!p.spin(t + us(25)));
        p.idle(t + us(25));
        assert!(p.spin(t + us(30)));
    }
}
