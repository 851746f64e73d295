//! What the plain-output shortcut depends on, followed byte by byte.

/// Follows what the shortcut depends on in the bytes fed to the parser:
/// vte's escape-sequence state (its state machine, mirrored), whether a
/// UTF-8 character is unfinished, which grid is active, and whether each
/// grid's scroll region is the whole screen, as vt100 applies them. (vt100
/// implements no insert mode, so that needs no tracking.) Where unsure, it
/// says "not default".
pub struct Tracker {
    state: St,
    /// UTF-8 continuation bytes still expected in the ground state.
    utf8_left: u8,
    /// A CSI's parameter and intermediate bytes.
    seq: Vec<u8>,
    rows: u16,
    alt: bool,
    /// Per grid (main, alternate): the scroll region is the whole screen.
    region_default: [bool; 2],
    /// The bytes of an unfinished escape sequence or character, for a
    /// repaint to replay so that the output that follows completes it.
    pub unfinished: Vec<u8>,
}

/// How much of an unfinished sequence is kept for replay (the rest of an
/// OSC or DCS string is ignored by terminals anyway).
const UNFINISHED_MAX: usize = 64;

#[derive(Clone, Copy, PartialEq, Eq)]
enum St {
    Ground,
    Escape,
    EscInter,
    CsiEntry,
    CsiParam,
    CsiInter,
    CsiIgnore,
    Osc,
    /// DCS before its final byte.
    DcsHead,
    /// DCS data: ends at ESC, CAN, SUB or 0x9C.
    DcsPass,
    /// SOS, PM, APC: end at ESC, CAN or SUB.
    SosPmApc,
}

impl Tracker {
    pub fn new(rows: u16) -> Tracker {
        Tracker {
            state: St::Ground,
            utf8_left: 0,
            seq: Vec::new(),
            rows,
            alt: false,
            region_default: [true, true],
            unfinished: Vec::new(),
        }
    }

    pub fn shortcut_ok(&self) -> bool {
        self.state == St::Ground && self.utf8_left == 0 && self.region_default[self.alt as usize]
    }

    pub fn resized(&mut self, rows: u16, changed: bool) {
        self.rows = rows;
        if changed {
            self.region_default = [true, true];
        }
    }

    pub fn feed(&mut self, data: &[u8]) {
        for &b in data {
            if b == 0x1b {
                self.unfinished.clear();
            }
            self.byte(b);
            if self.state == St::Ground && self.utf8_left == 0 {
                self.unfinished.clear();
            } else if self.unfinished.len() < UNFINISHED_MAX {
                self.unfinished.push(b);
            }
        }
    }

    fn byte(&mut self, b: u8) {
        // Anywhere: CAN and SUB cancel, ESC starts over.
        match b {
            0x18 | 0x1a => {
                self.state = St::Ground;
                self.utf8_left = 0;
                return;
            }
            0x1b => {
                self.state = St::Escape;
                self.utf8_left = 0;
                return;
            }
            _ => {}
        }
        match self.state {
            St::Ground => {
                if self.utf8_left > 0 && (0x80..0xc0).contains(&b) {
                    self.utf8_left -= 1;
                    return;
                }
                self.utf8_left = match b {
                    0xc2..=0xdf => 1,
                    0xe0..=0xef => 2,
                    0xf0..=0xf4 => 3,
                    _ => 0,
                };
            }
            St::Escape => match b {
                0x20..=0x2f => self.state = St::EscInter,
                b'P' => self.state = St::DcsHead,
                b'X' | b'^' | b'_' => self.state = St::SosPmApc,
                b'[' => {
                    self.seq.clear();
                    self.state = St::CsiEntry;
                }
                b']' => self.state = St::Osc,
                b'c' => {
                    // RIS: a new screen of the same size.
                    let rows = self.rows;
                    *self = Tracker::new(rows);
                }
                0x30..=0x7e => self.state = St::Ground,
                _ => {}
            },
            St::EscInter => {
                if (0x30..=0x7e).contains(&b) {
                    self.state = St::Ground;
                }
            }
            St::CsiEntry | St::CsiParam | St::CsiInter => {
                let st = self.state;
                match b {
                    0x40..=0x7e => {
                        self.state = St::Ground;
                        self.csi(b);
                    }
                    0x3c..=0x3f if st == St::CsiEntry => {
                        self.seq.push(b);
                        self.state = St::CsiParam;
                    }
                    0x30..=0x3f if st == St::CsiInter => self.state = St::CsiIgnore,
                    0x3c..=0x3f => self.state = St::CsiIgnore,
                    0x30..=0x3b => {
                        self.seq.push(b);
                        self.state = St::CsiParam;
                    }
                    0x20..=0x2f => {
                        self.seq.push(b);
                        self.state = St::CsiInter;
                    }
                    _ => {}
                }
            }
            St::CsiIgnore => {
                if (0x40..=0x7e).contains(&b) {
                    self.state = St::Ground;
                }
            }
            St::Osc => {
                if b == 0x07 {
                    self.state = St::Ground;
                }
            }
            St::DcsHead => {
                if (0x40..=0x7e).contains(&b) {
                    self.state = St::DcsPass;
                }
            }
            St::DcsPass => {
                if b == 0x9c {
                    self.state = St::Ground;
                }
            }
            St::SosPmApc => {}
        }
    }

    /// A dispatched CSI: the ones that move scroll regions or grids.
    fn csi(&mut self, fin: u8) {
        let seq = std::mem::take(&mut self.seq);
        let (private, rest) = match seq.first() {
            Some(&c @ 0x3c..=0x3f) => (Some(c), &seq[1..]),
            _ => (None, &seq[..]),
        };
        let inter = rest.iter().any(|c| (0x20..=0x2f).contains(c));
        // Each parameter's first sub-parameter, as vte parses it.
        let params: Vec<u16> = rest
            .split(|&c| c == b';')
            .map(|p| {
                p.iter()
                    .take_while(|c| c.is_ascii_digit())
                    .fold(0u16, |v, &d| {
                        v.saturating_mul(10).saturating_add(u16::from(d - b'0'))
                    })
            })
            .collect();
        let whole = |p: &[u8]| !p.contains(&b':');
        match (private, inter, fin) {
            (None, false, b'r') => {
                let top = params.first().copied().filter(|&v| v > 0).unwrap_or(1);
                let bottom = params
                    .get(1)
                    .copied()
                    .filter(|&v| v > 0)
                    .unwrap_or(self.rows);
                let bottom = (bottom - 1).min(self.rows - 1);
                let top = top - 1;
                self.region_default[self.alt as usize] =
                    top >= bottom || (top == 0 && bottom == self.rows - 1);
            }
            (Some(b'?'), false, b'h' | b'l') => {
                for (p, v) in rest.split(|&c| c == b';').zip(&params) {
                    if whole(p) && (*v == 47 || *v == 1049) {
                        if fin == b'h' && *v == 1049 {
                            // The alternate grid is cleared, region included.
                            self.region_default[1] = true;
                        }
                        self.alt = fin == b'h';
                    }
                }
            }
            _ => {}
        }
        self.seq = seq;
        self.seq.clear();
    }
}
