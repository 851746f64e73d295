//! The exit policy, by kind: a closed standard output (`list | head -1`)
//! ends quietly with 0; a session socket closing under a verb is an error
//! (exit 1) that names the session, though the OS reports both as EPIPE.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::Stdio;

use crate::support::*;

const HELLO: u8 = 1;
const WELCOME: u8 = 2;

/// `u32 LE payload length | u8 kind | payload`, as in src/proto.rs.
fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_le_bytes().to_vec();
    f.push(kind);
    f.extend_from_slice(payload);
    f
}

fn read_frame(s: &mut impl Read) -> (u8, Vec<u8>) {
    let mut h = [0u8; 5];
    s.read_exact(&mut h).expect("a frame header");
    let len = u32::from_le_bytes(h[..4].try_into().unwrap()) as usize;
    let mut p = vec![0u8; len];
    s.read_exact(&mut p).expect("a frame payload");
    (h[4], p)
}

/// Take over a running session's socket: the supervisor keeps running and
/// holding the session's lock, so the store still sees it running, but the
/// next client meets this fake, which answers Hello and then hangs up on
/// whatever comes next (it reads no more, so the client's next write fails
/// with EPIPE). Returns the connection once served, to be dropped at the end.
fn hang_up_after_hello(s: &Store, name: &str) -> std::thread::JoinHandle<UnixStream> {
    let sock = s.dir(name).join("sock");
    std::fs::remove_file(&sock).expect("removing the supervisor's socket");
    let listener = UnixListener::bind(&sock).expect("binding the fake socket");
    listener.set_nonblocking(true).unwrap();
    let name = name.to_string();
    std::thread::spawn(move || {
        let (mut c, _) = wait_for("the client to connect", WAIT, || listener.accept().ok());
        c.set_nonblocking(false).unwrap();
        c.set_read_timeout(Some(WAIT)).unwrap();
        let (kind, _) = read_frame(&mut c);
        assert_eq!(kind, HELLO, "the first frame is Hello");
        c.shutdown(Shutdown::Read).unwrap();
        let welcome = format!(r#"{{"version":1,"name":"{name}","pid":1}}"#);
        c.write_all(&frame(WELCOME, welcome.as_bytes())).unwrap();
        c
    })
}

#[test]
fn send_to_a_supervisor_that_hangs_up_fails_naming_the_session() {
    let s = Store::new();
    s.start("hangup", &["sleep", "600"]);
    let fake = hang_up_after_hello(&s, "hangup");
    let out = s.run(["send", "hangup", "hello"]);
    let _conn = fake.join().expect("the fake supervisor");
    assert_eq!(
        out.status.code(),
        Some(1),
        "send must fail when nothing was delivered\nstderr: {}",
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(
        err.starts_with("codex-session: ")
            && err.contains("session hangup")
            && err.contains("closed the connection"),
        "{err}"
    );
    assert!(!err.contains("os error"), "{err}");
}

/// Run with standard output a pipe nobody reads any more (its read end
/// closed before the verb starts, so its first write fails with EPIPE, as
/// when `head -1` has had its line): stderr and the exit status.
fn with_stdout_closed(s: &Store, args: &[&str]) -> (Option<i32>, String) {
    let (r, w) = nix::unistd::pipe().expect("a pipe");
    drop(r);
    let mut cmd = s.cmd(args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(w))
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawning the binary");
    let mut err = child.stderr.take().unwrap();
    let t_err = std::thread::spawn(move || {
        let mut v = String::new();
        let _ = err.read_to_string(&mut v);
        v
    });
    let status = wait_child(&mut child, CMD_TIMEOUT);
    (status.code(), t_err.join().unwrap())
}

#[test]
fn a_closed_standard_output_ends_quietly() {
    let s = Store::new();
    s.start("quiet", &["sleep", "600"]);
    for args in [
        &["list"][..],
        &["list", "--json"],
        &["inspect", "quiet"],
        &["ps"],
    ] {
        let (code, err) = with_stdout_closed(&s, args);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert_eq!(err, "", "{args:?} must say nothing");
    }
}
