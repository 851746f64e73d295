//! The supervisor's deadlines, by name. The loop sleeps in `poll` until the
//! nearest of them at most; after each turn, `Supervisor::on_timers` looks
//! at each [`Timer`] in [`Timer::ALL`] order and handles the ones that are
//! due by name, the way the loop handles each fd by its kind.
//!
//! [`Timers`] holds the clocks behind the supervisor's own deadlines; a
//! watcher's quiet clock lives with the watcher (`watchers.rs`), a stuck
//! terminal's with the client (`clients/client.rs`), a held-back send's
//! with the send, and the look for the program's first read of its
//! terminal with the sends it holds (`ingress.rs`), the listener's pause
//! with the clients (`clients/mod.rs`), output held back with the log
//! writer (`logs/writer.rs`).

use std::time::{Duration, Instant};

use rustix::event::Timespec;

/// After the program is reaped, how long to keep reading output that its
/// descendants may still hold the terminal open for.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(500);
/// The first trim (`trim.rs`), this long after the start: soon, so that a
/// session is small well before a second has passed, but not at once,
/// while the launcher and the program are still starting.
const FIRST_TRIM: Duration = Duration::from_millis(250);

/// Poll's timeout until `deadline`.
pub fn timeout(deadline: Option<Instant>) -> Option<Timespec> {
    Some(span(deadline?.saturating_duration_since(Instant::now())))
}

/// Poll's timeout for a span of time.
pub fn span(t: Duration) -> Timespec {
    Timespec {
        tv_sec: t.as_secs() as _,
        tv_nsec: t.subsec_nanos() as _,
    }
}

/// What a deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Output the log writer held back is due to be written
    /// (`logs/writer.rs`, which keeps the deadline).
    LogFlush,
    /// No output for `idle_after`: the `idle` event, once per quiet spell.
    IdleEvent,
    /// A watcher's output has been quiet as long as it asked: Idle.
    WatcherQuiet,
    /// Look again whether the program reads its terminal yet, for a send
    /// held until it does (`ingress.rs`; every 10 ms, for a second at most).
    FirstRead,
    /// A held-back send may go (the person paused) or has waited too long.
    HeldSend,
    /// A terminal holding the program back took nothing for `attach.stall`.
    ClientStall,
    /// The session's time to live is over: stop the program.
    Ttl,
    /// No output and no input for `idle_timeout`: stop the program.
    IdleTimeout,
    /// The restart delay is over: start the program again (`restart.rs`,
    /// which keeps the deadline).
    Restart,
    /// The grace period after a stop is over: SIGKILL.
    Kill,
    /// The program was reaped and its output read long enough: stop reading.
    Drain,
    /// Accepting failed (out of descriptors): listen again.
    AcceptPause,
    /// Look whether the program waits for a person (`attention.rs`).
    Attention,
    /// Give memory back a moment after the start (`trim.rs`; the `idle`
    /// event does it again after each quiet spell).
    Trim,
}

impl Timer {
    /// Every timer, in the order the ones due together are handled (a TTL
    /// that is over wins over an idle timeout as the reason to stop).
    pub const ALL: [Timer; 14] = [
        Timer::LogFlush,
        Timer::IdleEvent,
        Timer::WatcherQuiet,
        Timer::FirstRead,
        Timer::HeldSend,
        Timer::ClientStall,
        Timer::Ttl,
        Timer::IdleTimeout,
        Timer::Restart,
        Timer::Kill,
        Timer::Drain,
        Timer::AcceptPause,
        Timer::Attention,
        Timer::Trim,
    ];
}

pub struct Timers {
    started: Instant,
    /// Last output or input, for the idle timeout.
    last_activity: Instant,
    /// Last output, for idle/busy events and watchers.
    last_output: Instant,
    /// An `idle` event was the last of idle/busy.
    quiet: bool,
    /// The program runs and nobody has begun to stop it: the idle timeout
    /// and the TTL apply.
    timeouts: bool,
    /// The program runs (idle events are about a running program).
    running: bool,
    /// When to send SIGKILL after a stop.
    kill_at: Option<Instant>,
    /// Reaped: read the PTY until EOF or this deadline.
    drain_until: Option<Instant>,
    /// The first trim, until done.
    trim_at: Option<Instant>,
    idle_timeout: Option<Duration>,
    ttl: Option<Duration>,
    idle_after: Duration,
}

impl Timers {
    /// `idle_after` is at least a millisecond.
    pub fn new(
        idle_timeout: Option<Duration>,
        ttl: Option<Duration>,
        idle_after: Duration,
    ) -> Timers {
        let now = Instant::now();
        Timers {
            started: now,
            last_activity: now,
            last_output: now,
            quiet: false,
            timeouts: true,
            running: true,
            kill_at: None,
            drain_until: None,
            trim_at: Some(now + FIRST_TRIM),
            idle_timeout,
            ttl,
            idle_after: idle_after.max(Duration::from_millis(1)),
        }
    }

    /// When `t` is due, for the timers kept here (None for the others, and
    /// for those not set).
    pub fn at(&self, t: Timer) -> Option<Instant> {
        match t {
            Timer::IdleEvent => {
                (self.running && !self.quiet).then(|| self.last_output + self.idle_after)
            }
            Timer::Ttl => self.ttl.filter(|_| self.timeouts).map(|d| self.started + d),
            Timer::IdleTimeout => self
                .idle_timeout
                .filter(|_| self.timeouts)
                .map(|d| self.last_activity + d),
            Timer::Kill => self.kill_at,
            Timer::Drain => self.drain_until,
            Timer::Trim => self.trim_at,
            Timer::LogFlush
            | Timer::WatcherQuiet
            | Timer::FirstRead
            | Timer::HeldSend
            | Timer::AcceptPause
            | Timer::Restart
            | Timer::ClientStall
            | Timer::Attention => None,
        }
    }

    /// Program output now. True when it ends a quiet spell (`busy`).
    pub fn output(&mut self, now: Instant) -> bool {
        self.last_activity = now;
        self.last_output = now;
        std::mem::replace(&mut self.quiet, false)
    }

    /// Input for the program now.
    pub fn input(&mut self, now: Instant) {
        self.last_activity = now;
    }

    pub fn last_output(&self) -> Instant {
        self.last_output
    }

    pub fn idle_after(&self) -> Duration {
        self.idle_after
    }

    /// The `idle` event was emitted.
    pub fn went_quiet(&mut self) {
        self.quiet = true;
    }

    /// Someone began to stop the program: no more timeouts; SIGKILL after
    /// `grace` unless an earlier stop already set a sooner one.
    pub fn stopping(&mut self, grace: Option<Duration>) {
        self.timeouts = false;
        if let Some(g) = grace {
            let at = Instant::now() + g;
            self.kill_at = Some(self.kill_at.map_or(at, |t| t.min(at)));
        }
    }

    /// The program was reaped: read what is left for a while at most.
    pub fn ended(&mut self) {
        self.running = false;
        self.timeouts = false;
        self.kill_at = None;
        self.drain_until = Some(Instant::now() + DRAIN_AFTER_EXIT);
    }

    /// The program was reaped and will be started again: no idle events
    /// and no kill meanwhile; the session's timeouts keep counting.
    pub fn between_runs(&mut self) {
        self.running = false;
        self.kill_at = None;
    }

    /// The program was started again.
    pub fn restarted(&mut self) {
        self.running = true;
    }

    /// `t` was handled; it fires no more until set again.
    pub fn clear(&mut self, t: Timer) {
        match t {
            Timer::Kill => self.kill_at = None,
            Timer::Drain => self.drain_until = None,
            Timer::Trim => self.trim_at = None,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_disarms_the_timeouts_and_keeps_the_sooner_kill() {
        let s = Duration::from_secs;
        let mut t = Timers::new(Some(s(1)), Some(s(2)), Duration::ZERO);
        assert!(t.at(Timer::Ttl).is_some() && t.at(Timer::IdleTimeout).is_some());
        assert!(t.at(Timer::IdleEvent).is_some() && t.at(Timer::Kill).is_none());
        t.stopping(Some(s(10)));
        let kill = t.at(Timer::Kill).expect("set by the stop");
        assert!(t.at(Timer::Ttl).is_none() && t.at(Timer::IdleTimeout).is_none());
        t.stopping(Some(s(20)));
        t.stopping(None);
        assert_eq!(t.at(Timer::Kill), Some(kill), "the sooner one stays");
        t.ended();
        assert!(t.at(Timer::Kill).is_none() && t.at(Timer::IdleEvent).is_none());
        assert!(t.at(Timer::Drain).is_some() && t.at(Timer::Trim).is_some());
        t.clear(Timer::Drain);
        t.clear(Timer::Trim);
        assert!(Timer::ALL.iter().all(|&x| t.at(x).is_none()));
    }
}
