//! A person's terminal: holding the program back and being cut loose
//! (the stall clock), and its own terminal when the client passed it (the
//! Direct link: taking it, reading keys, writing, the modes to undo).

use super::*;

impl Client {
    /// Output queued for its terminal: on its own terminal, or on the
    /// socket.
    pub(super) fn out_queued(&self) -> usize {
        match &self.state {
            State::Attached(Terminal {
                link: Link::Direct(tty),
                ..
            }) => tty.queued(),
            _ => self.queued,
        }
    }

    /// A person's terminal that has not taken enough of its output: the
    /// program's output is not read until it has (or is cut loose).
    pub(in crate::supervisor::clients) fn holds_back(&self) -> bool {
        self.out_queued() >= HOLD_AT
            && matches!(&self.state, State::Attached(t) if !t.read_only && !t.resync)
    }

    /// When a terminal holding the program back, if it takes nothing more,
    /// has been stuck `stall` long.
    pub(in crate::supervisor::clients) fn stall_at(&self, stall: Duration) -> Option<Instant> {
        match &self.state {
            State::Attached(t) if self.holds_back() => Some(t.stuck_since? + stall),
            _ => None,
        }
    }

    /// (Re)start the stall clock when the terminal begins to hold the
    /// program back or made progress doing so; stop it otherwise.
    pub(super) fn start_stall_clock(&mut self, progressed: bool) {
        let holds = self.holds_back();
        if let State::Attached(t) = &mut self.state {
            if !holds {
                t.stuck_since = None;
            } else if progressed || t.stuck_since.is_none() {
                t.stuck_since = Some(Instant::now());
            }
        }
    }

    /// A terminal stuck too long: it stops holding the program back, loses
    /// its queue (a half-written frame is finished first) and gets a
    /// repaint once it reads again.
    pub(in crate::supervisor::clients) fn cut_loose(&mut self) {
        match &mut self.state {
            State::Attached(Terminal {
                link: Link::Direct(tty),
                ..
            }) => tty.drop_queue(),
            _ => self.drop_queue(),
        }
        if let State::Attached(t) = &mut self.state {
            t.resync = true;
            t.stuck_since = None;
        }
    }

    /// Its own terminal, when the supervisor reads and writes it.
    pub fn tty_fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.state {
            State::Attached(Terminal {
                link: Link::Direct(tty),
                ..
            }) => Some(tty.fd()),
            _ => None,
        }
    }

    /// Something waits for its own terminal (a repaint too).
    pub fn wants_tty_write(&self) -> bool {
        match &self.state {
            State::Attached(t) => match &t.link {
                Link::Direct(tty) => tty.wants_write() || t.resync,
                _ => false,
            },
            _ => false,
        }
    }

    /// A Tty frame: take the passed terminal if it is one the supervisor
    /// can open for itself; answer either way, and send the repaint there
    /// or, failing that, over the socket.
    pub fn take_tty(&mut self, offer: &proto::TtyOffer, screen: &mut Screen) -> bool {
        let passed = self.passed.take();
        let State::Attached(t) = &mut self.state else {
            return false;
        };
        if !matches!(t.link, Link::Awaiting) {
            return false;
        }
        let taken = match passed {
            Some(fd) => Tty::take(fd, offer.detach_key),
            None => Err("no terminal came with the frame".into()),
        };
        let answer = match taken {
            Ok(tty) => {
                t.link = Link::Direct(tty);
                proto::TtyAnswer {
                    direct: true,
                    reason: None,
                }
            }
            Err(why) => {
                t.link = Link::Relay;
                proto::TtyAnswer {
                    direct: false,
                    reason: Some(why),
                }
            }
        };
        let direct = answer.direct;
        self.send_json(Kind::Tty, &answer);
        self.repaint(screen);
        direct
    }

    /// Read its own terminal (a Direct link's keystrokes); a terminal that
    /// hung up kills the client.
    pub fn read_tty(&mut self) -> Keys {
        let keys = match &mut self.state {
            State::Attached(Terminal {
                link: Link::Direct(tty),
                ..
            }) => tty.read(),
            _ => return Keys::Nothing,
        };
        if matches!(keys, Keys::HungUp) {
            self.die();
        }
        keys
    }

    /// Its terminal has taken everything and can take more: it reads again.
    pub(super) fn ready_for_repaint(&self) -> bool {
        match &self.state {
            State::Attached(Terminal {
                link: Link::Direct(tty),
                ..
            }) => !tty.wants_write() && tty.writable(),
            _ => self.is_flushed() && self.writable(),
        }
    }

    /// A Modes frame when what undoes the terminal's modes has changed.
    pub(super) fn tell_modes(&mut self) {
        let news = match &mut self.state {
            State::Attached(Terminal {
                link: Link::Direct(tty),
                ..
            }) => tty.undo_news(),
            _ => None,
        };
        if let Some(undo) = news {
            self.send(Kind::Modes, undo.as_bytes());
            self.flush_socket();
        }
    }

    /// The socket has room (the client reads again): poll says so.
    pub(super) fn writable(&self) -> bool {
        let mut fds = [PollFd::new(&self.stream, PollFlags::OUT)];
        let now = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        matches!(poll(&mut fds, Some(&now)), Ok(1)) && fds[0].revents().contains(PollFlags::OUT)
    }

    /// Waits for its passed terminal before the repaint.
    pub fn awaits_tty(&self) -> bool {
        matches!(
            &self.state,
            State::Attached(Terminal {
                link: Link::Awaiting,
                ..
            })
        )
    }

    /// At the program's end: its own terminal gets what is queued for it
    /// (by `deadline`) before the Exit frame goes on the socket.
    pub(in crate::supervisor::clients) fn flush_tty_until(&mut self, deadline: Instant) {
        if let State::Attached(Terminal {
            link: Link::Direct(tty),
            ..
        }) = &mut self.state
        {
            tty.flush_until(deadline);
        }
        self.tell_modes();
    }
}
