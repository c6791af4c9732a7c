//! When to compact a database log automatically.
//!
//! ovsdb-server(1) ("ovsdb-server/compact"): a database is compacted when a
//! transaction is logged if the log is over twice its size after the
//! previous compaction and at least 10 MB, but not before 100 commits have
//! been added and 10 minutes have passed since the previous compaction; and
//! after 24 hours with at least 100 commits, whatever its size. Pure: the
//! caller passes the time in.

use std::time::{Duration, Instant};

/// Thresholds for automatic compaction (the defaults are upstream's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The log must be at least this large...
    pub min_size: u64,
    /// ...and this many times its size after the previous compaction.
    pub growth: u64,
    /// Commits needed since the previous compaction.
    pub min_commits: u64,
    /// Time needed since the previous compaction (or startup).
    pub min_interval: Duration,
    /// After this long, compact whatever the size (given `min_commits`).
    pub max_interval: Duration,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            min_size: 10 << 20,
            growth: 2,
            min_commits: 100,
            min_interval: Duration::from_secs(10 * 60),
            max_interval: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl Policy {
    /// Never compacts automatically.
    pub fn never() -> Policy {
        Policy { min_commits: u64::MAX, ..Policy::default() }
    }
}

/// One log's history since its previous compaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    /// Size in bytes right after the previous compaction (or at open).
    pub base_size: u64,
    /// Commits logged since then.
    pub commits: u64,
    /// When that was.
    pub since: Instant,
}

impl State {
    /// A log of `size` bytes, just opened or compacted at `now`.
    pub fn new(size: u64, now: Instant) -> State {
        State { base_size: size, commits: 0, since: now }
    }

    /// Whether a log now `size` bytes long should be compacted at `now`.
    pub fn due(&self, p: &Policy, size: u64, now: Instant) -> bool {
        if self.commits < p.min_commits {
            return false;
        }
        let elapsed = now.saturating_duration_since(self.since);
        if elapsed >= p.max_interval {
            return true;
        }
        elapsed >= p.min_interval && size >= p.min_size && size >= self.base_size.saturating_mul(p.growth)
    }

    /// When the size-independent rule will make the log due, if ever.
    pub fn deadline(&self, p: &Policy) -> Option<Instant> {
        (self.commits >= p.min_commits).then(|| self.since + p.max_interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_thresholds() {
        let p = Policy::default();
        let t0 = Instant::now();
        let mut s = State::new(1 << 20, t0);
        let later = t0 + Duration::from_secs(11 * 60);
        s.commits = 99;
        assert!(!s.due(&p, 50 << 20, later), "needs 100 commits");
        s.commits = 100;
        assert!(s.due(&p, 50 << 20, later));
        assert!(!s.due(&p, 50 << 20, t0 + Duration::from_secs(9 * 60)), "needs 10 minutes");
        assert!(!s.due(&p, 9 << 20, later), "needs 10 MB");
        s.base_size = 30 << 20;
        assert!(!s.due(&p, 50 << 20, later), "needs twice the previous size");
        assert!(s.due(&p, 60 << 20, later));
        assert!(s.due(&p, 1, t0 + Duration::from_secs(24 * 3600)), "daily whatever the size");
        assert_eq!(s.deadline(&p), Some(t0 + Duration::from_secs(24 * 3600)));
        s.commits = 5;
        assert_eq!(s.deadline(&p), None);
        assert!(!State { commits: 1 << 40, ..s }.due(&Policy::never(), 1 << 40, t0 + Duration::from_secs(1 << 30)));
    }
}
