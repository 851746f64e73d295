//! Whether the session needs a person: since someone last attached or sent
//! input, the program sent a notification or rang the bell, or its
//! foreground program has been waiting for terminal input for longer than
//! `attention.after` after printing. On Linux "waiting" is what
//! `Program::reading_input` sees (the foreground process group's state and
//! wait channel); elsewhere it is the idle rule (quiet that long). One
//! `attention` event when it begins; attaching or input clears it.
//!
//! After printing, the look is made once `after` has passed, then again at
//! growing intervals ([`LOOK_FIRST`] doubling to [`LOOK_MAX`]) while the
//! program is busy, until output or input starts the clock again.

use std::time::{Duration, Instant};

const LOOK_FIRST: Duration = Duration::from_millis(250);
const LOOK_MAX: Duration = Duration::from_secs(5);

pub struct Attention {
    after: Duration,
    /// The next look at the program, while one is due.
    look_at: Option<Instant>,
    /// The pause before the look after that.
    backoff: Duration,
    /// Why it began, while it holds.
    reason: Option<&'static str>,
}

impl Attention {
    pub fn new(after: Duration) -> Attention {
        Attention {
            after,
            look_at: None,
            backoff: LOOK_FIRST,
            reason: None,
        }
    }

    /// The program printed: look at it once it has been quiet `after`.
    pub fn output(&mut self, now: Instant) {
        if self.reason.is_none() {
            self.look_at = Some(now + self.after);
            self.backoff = LOOK_FIRST;
        }
    }

    /// Someone attached or sent input: clear it (true when it held), and
    /// wait for the next output.
    pub fn reset(&mut self) -> bool {
        self.look_at = None;
        self.reason.take().is_some()
    }

    /// When to look at the program next.
    pub fn deadline(&self) -> Option<Instant> {
        self.look_at
    }

    /// A notification or bell: true when attention begins with it.
    pub fn begin(&mut self, reason: &'static str) -> bool {
        if self.reason.is_some() {
            return false;
        }
        self.reason = Some(reason);
        self.look_at = None;
        true
    }

    /// The look is due; `reading` is whether the program waits for
    /// terminal input (None: cannot tell here). The reason, when attention
    /// begins.
    pub fn look(&mut self, now: Instant, reading: Option<bool>) -> Option<&'static str> {
        let reason = match reading {
            Some(true) => "input",
            None => "idle",
            Some(false) => {
                self.look_at = Some(now + self.backoff);
                self.backoff = (self.backoff * 2).min(LOOK_MAX);
                return None;
            }
        };
        self.begin(reason).then_some(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn begins_once_and_clears_on_reset() {
        let t = Instant::now();
        let mut a = Attention::new(Duration::from_secs(5));
        assert!(a.deadline().is_none(), "nothing printed yet");
        a.output(t);
        assert_eq!(a.deadline(), Some(t + Duration::from_secs(5)));
        assert_eq!(a.look(t, Some(false)), None);
        assert_eq!(a.deadline(), Some(t + LOOK_FIRST));
        assert_eq!(a.look(t, Some(true)), Some("input"));
        assert!(!a.begin("bell"), "already held");
        assert!(a.deadline().is_none());
        assert!(a.reset());
        assert!(!a.reset());
        assert!(a.begin("notification"));
    }
}
