//! The restart policy (`run --restart`): whether the program is started
//! again when it ends, and when. The program starts again on the same
//! terminal (`Program::restart`), so the screen model, the log and the
//! clients carry on; the session ends only when the policy says no more.
//!
//! - `on-failure` restarts a program that exits with a code other than 0
//!   or is killed by a signal; `always` restarts it whatever the end.
//! - The first delay is `restart_delay` (1s unless given); each restart
//!   after a quick failure (a run shorter than [`RESET_AFTER`]) waits twice
//!   as long as the one before, up to [`MAX_DELAY`] (or the first delay,
//!   when that is longer).
//! - `max_restarts` bounds the restarts in a row: a run that lasted
//!   [`RESET_AFTER`] or longer resets that count (and the delay).
//! - A stop (`stop`, a TTL or idle timeout, the supervisor terminated) ends
//!   the policy: no restart after it, also when it comes during the delay.
//!
//! The delay is the `Restart` timer (`timers.rs`); its deadline is kept
//! here, as a held send's is kept with the send.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::program::{Ended, exit_info};
use crate::meta::RestartPolicy;

/// The longest delay the doubling reaches.
pub const MAX_DELAY: Duration = Duration::from_secs(60);
/// A run at least this long was no quick failure: the delay and the count
/// of restarts in a row start over.
pub const RESET_AFTER: Duration = Duration::from_secs(10);

/// The policy as `run` set it.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct RestartSettings {
    pub policy: RestartPolicy,
    /// The first delay.
    pub delay: Duration,
    /// At most this many restarts in a row (None: no bound).
    pub max: Option<u32>,
    /// Write a marker line into the output at each restart.
    pub marker: bool,
}

impl Default for RestartSettings {
    fn default() -> Self {
        RestartSettings {
            policy: RestartPolicy::No,
            delay: Duration::from_secs(1),
            max: None,
            marker: false,
        }
    }
}

/// A restart waiting for its time.
pub struct Pending {
    pub at: Instant,
    /// How the program ended.
    pub ended: Ended,
    /// The restart's number in the session (1 the first).
    pub attempt: u32,
    pub delay: Duration,
}

impl Pending {
    /// The `restarted` event, the program now being `pid`.
    pub fn event(&self, pid: i32) -> Value {
        let previous = exit_info(&self.ended);
        json!({
            "attempt": self.attempt,
            "pid": pid,
            "delay_ms": self.delay.as_millis() as u64,
            "previous": {"code": previous.code, "signal": previous.signal},
        })
    }
}

pub struct Restart {
    set: RestartSettings,
    /// Restarts in all.
    count: u32,
    /// Restarts since the last run that lasted [`RESET_AFTER`].
    streak: u32,
    /// When the current run began.
    run_began: Instant,
    /// A stop came: the policy is over.
    stopped: bool,
    pending: Option<Pending>,
}

impl Restart {
    pub fn new(set: RestartSettings, now: Instant) -> Restart {
        Restart {
            set,
            count: 0,
            streak: 0,
            run_began: now,
            stopped: false,
            pending: None,
        }
    }

    /// The line written into the output before restart `p`, if asked for.
    pub fn marker(&self, p: &Pending) -> Option<String> {
        let previous = exit_info(&p.ended).describe();
        (self.set.marker)
            .then(|| format!("\r\n[codex-session: {previous}; restart {}]\r\n", p.attempt))
    }

    /// The program ended `how` at `now`. Some(the wait) when it is to be
    /// started again (the `Restart` timer is then set); None when the
    /// session ends with it (`how` handed back).
    pub fn after_exit(&mut self, how: Ended, now: Instant) -> Result<Duration, Ended> {
        let failed = !matches!(how, Ended::Exited(0));
        let wanted = match self.set.policy {
            RestartPolicy::No => false,
            RestartPolicy::OnFailure => failed,
            RestartPolicy::Always => true,
        };
        if now.saturating_duration_since(self.run_began) >= RESET_AFTER {
            self.streak = 0;
        }
        if !wanted || self.stopped || self.set.max.is_some_and(|m| self.streak >= m) {
            return Err(how);
        }
        let delay = delay_for(self.set.delay, self.streak);
        self.pending = Some(Pending {
            at: now + delay,
            ended: how,
            attempt: self.count + 1,
            delay,
        });
        Ok(delay)
    }

    /// The `Restart` timer's deadline.
    pub fn at(&self) -> Option<Instant> {
        self.pending.as_ref().map(|p| p.at)
    }

    /// The timer fired: the restart to carry out, counted.
    pub fn take(&mut self, now: Instant) -> Option<Pending> {
        let p = self.pending.take()?;
        self.count += 1;
        self.streak += 1;
        self.run_began = now;
        Some(p)
    }

    /// Restarts so far.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// A stop came: no more restarts. How the program ended, if a restart
    /// was waiting for its time (the session ends now with that).
    pub fn stop(&mut self) -> Option<Ended> {
        self.stopped = true;
        self.pending.take().map(|p| p.ended)
    }
}

/// The wait before a restart after `streak` restarts in a row: `first`
/// doubled each time, up to [`MAX_DELAY`] (or `first`, if longer).
pub fn delay_for(first: Duration, streak: u32) -> Duration {
    let cap = MAX_DELAY.max(first);
    first
        .checked_mul(1u32.checked_shl(streak.min(31)).unwrap_or(u32::MAX))
        .map_or(cap, |d| d.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(policy: RestartPolicy, max: Option<u32>) -> RestartSettings {
        RestartSettings {
            policy,
            delay: Duration::from_millis(100),
            max,
            marker: false,
        }
    }

    #[test]
    fn the_delay_doubles_up_to_the_cap() {
        let ms = Duration::from_millis;
        assert_eq!(delay_for(ms(100), 0), ms(100));
        assert_eq!(delay_for(ms(100), 1), ms(200));
        assert_eq!(delay_for(ms(100), 3), ms(800));
        assert_eq!(delay_for(ms(100), 20), MAX_DELAY);
        assert_eq!(delay_for(ms(100), u32::MAX), MAX_DELAY);
        let long = Duration::from_secs(120);
        assert_eq!(delay_for(long, 5), long);
    }

    #[test]
    fn on_failure_restarts_failures_up_to_the_bound() {
        let t0 = Instant::now();
        let mut r = Restart::new(set(RestartPolicy::OnFailure, Some(2)), t0);
        assert!(r.after_exit(Ended::Exited(0), t0).is_err());
        assert_eq!(
            r.after_exit(Ended::Exited(1), t0).ok(),
            Some(Duration::from_millis(100))
        );
        assert!(r.take(t0).is_some_and(|p| p.attempt == 1));
        assert_eq!(
            r.after_exit(Ended::Exited(1), t0).ok(),
            Some(Duration::from_millis(200))
        );
        assert!(r.take(t0).is_some_and(|p| p.attempt == 2));
        assert!(r.after_exit(Ended::Exited(1), t0).is_err(), "the bound");
        // A long run starts the count over.
        let later = t0 + RESET_AFTER;
        assert_eq!(
            r.after_exit(Ended::Exited(1), later).ok(),
            Some(Duration::from_millis(100))
        );
        assert_eq!(r.count(), 2);
    }

    #[test]
    fn a_stop_ends_the_policy_and_a_waiting_restart() {
        let t0 = Instant::now();
        let mut r = Restart::new(set(RestartPolicy::Always, None), t0);
        assert!(r.after_exit(Ended::Exited(0), t0).is_ok());
        assert!(r.at().is_some());
        assert!(matches!(r.stop(), Some(Ended::Exited(0))));
        assert!(r.at().is_none());
        assert!(r.after_exit(Ended::Exited(1), t0).is_err());
    }
}
