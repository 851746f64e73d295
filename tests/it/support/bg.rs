//! A command running in the background, its output collected by threads as
//! it arrives, so a test can look at what came so far (`logs -f`, `wait`,
//! `events -f`) and still get all of it at the end.

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{CMD_TIMEOUT, wait_child, wait_for};

/// A running command; killed when dropped, however the test ends.
pub struct Bg {
    child: Child,
    got: Arc<Mutex<Vec<u8>>>,
    out: Option<JoinHandle<()>>,
    err: Option<JoinHandle<Vec<u8>>>,
}

/// Start `cmd` with standard input from /dev/null.
pub fn spawn(cmd: Command) -> Bg {
    spawn_with_stdin(cmd, None)
}

/// Start `cmd`; with `input`, write it to its standard input and close it.
pub fn spawn_with_stdin(mut cmd: Command, input: Option<&[u8]>) -> Bg {
    start(&mut cmd, input)
}

/// Start `cmd` (left in place, to be shown in messages).
pub fn start(cmd: &mut Command, input: Option<&[u8]>) -> Bg {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawning the binary");
    if let Some(input) = input {
        let mut w = child.stdin.take().unwrap();
        w.write_all(input).expect("writing standard input");
        // Dropped: end of input.
    }
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let out = std::thread::spawn(move || {
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => g.lock().unwrap().extend_from_slice(&buf[..n]),
            }
        }
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    Bg {
        child,
        got,
        out: Some(out),
        err: Some(err),
    }
}

impl Bg {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its exit status if it has exited, as [`Child::try_wait`].
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Whether it has exited.
    pub fn exited(&mut self) -> bool {
        self.try_wait().expect("try_wait").is_some()
    }

    /// How many bytes of standard output came so far.
    pub fn len(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    /// The standard output so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.got.lock().unwrap()).into_owned()
    }

    /// Wait until at least `n` bytes of standard output came; all of them.
    pub fn wait_len(&self, n: usize) -> Vec<u8> {
        wait_for(
            &format!("{n} bytes of output"),
            Duration::from_secs(30),
            || {
                let g = self.got.lock().unwrap();
                (g.len() >= n).then(|| g.clone())
            },
        )
    }

    /// Wait for it to exit (with a deadline); its status and all its output.
    pub fn finish(self) -> Output {
        self.finish_within(CMD_TIMEOUT)
    }

    pub fn finish_within(mut self, deadline: Duration) -> Output {
        let status: ExitStatus = wait_child(&mut self.child, deadline);
        self.out.take().unwrap().join().unwrap();
        let stderr = self.err.take().unwrap().join().unwrap();
        let stdout = std::mem::take(&mut *self.got.lock().unwrap());
        Output {
            status,
            stdout,
            stderr,
        }
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
