//! Who may use a store and a session: modes, owners, peer credentials,
//! malformed frames; and a store path too long for `sun_path`.

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::*;

const NOBODY: u32 = 65534;

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .mode()
        & 0o7777
}

fn chmod(p: &Path, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", p.display()));
}

fn wait_event(s: &Store, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
    wait_for(&format!("an event in {name}'s events.jsonl"), WAIT, || {
        events(s, name).into_iter().find(|e| pred(e))
    })
}

#[test]
fn store_session_and_socket_modes() {
    let s = Store::new();
    s.start("m", &["sleep", "300"]);
    s.wait_status("m", "running");
    // events.jsonl is written just after `run` returns (the `started` event).
    wait_event(&s, "m", |e| e["event"] == "started");
    assert_eq!(mode(&s.root), 0o700, "store root");
    assert_eq!(mode(&s.dir("m")), 0o700, "session folder");
    let sock = s.dir("m").join("sock");
    let md = std::fs::symlink_metadata(&sock).unwrap();
    assert!(
        std::os::unix::fs::FileTypeExt::is_socket(&md.file_type()),
        "sock is a socket"
    );
    assert_eq!(mode(&sock), 0o600, "socket");
    for f in ["meta.json", "output.log", "events.jsonl", "lock"] {
        let m = mode(&s.dir("m").join(f));
        assert_eq!(m & 0o077, 0, "{f} is private: {m:o}");
    }
    // Even under a permissive umask.
    let mut c = s.cmd(["run", "--bg", "--name", "m2", "--", "sleep", "300"]);
    // Safety: umask is async-signal-safe.
    unsafe {
        c.pre_exec(|| {
            nix::sys::stat::umask(nix::sys::stat::Mode::empty());
            Ok(())
        });
    }
    let out = output_with_timeout(&mut c, CMD_TIMEOUT);
    assert!(out.status.success(), "{}", stderr(&out));
    s.wait_status("m2", "running");
    wait_event(&s, "m2", |e| e["event"] == "started");
    assert_eq!(mode(&s.dir("m2")), 0o700);
    assert_eq!(mode(&s.dir("m2").join("sock")), 0o600);
    for f in ["meta.json", "output.log", "events.jsonl", "lock"] {
        let m = mode(&s.dir("m2").join(f));
        assert_eq!(m & 0o077, 0, "{f} is private under umask 0: {m:o}");
    }
    s.ok(["stop", "m"]);
    assert!(!sock.exists(), "the socket is removed at the end");
}

#[test]
fn a_writable_store_is_refused() {
    let s = Store::new();
    std::fs::create_dir_all(&s.root).unwrap();
    chmod(&s.root, 0o777);
    for args in [
        &["list"][..],
        &["run", "--bg", "--name", "x", "--", "sleep", "300"],
        &["ps"],
    ] {
        let out = s.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains(s.root.to_str().unwrap()) && err.contains("writable by group or others"),
            "{args:?}: {err}"
        );
    }
    assert!(!s.dir("x").exists());
    assert_eq!(mode(&s.root), 0o777, "left as it was");

    chmod(&s.root, 0o720);
    assert_eq!(s.run(["list"]).status.code(), Some(1), "group-writable");
    chmod(&s.root, 0o755);
    s.ok(["list"]);
}

#[test]
fn a_store_owned_by_another_user_is_refused() {
    if !is_root() {
        return skip("changing a folder's owner needs root");
    }
    let s = Store::new();
    std::fs::create_dir_all(&s.root).unwrap();
    chmod(&s.root, 0o700);
    std::os::unix::fs::chown(&s.root, Some(NOBODY), Some(NOBODY)).unwrap();
    for args in [
        &["list"][..],
        &["run", "--bg", "--name", "x", "--", "sleep", "300"],
    ] {
        let out = s.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains(s.root.to_str().unwrap()) && err.contains("owned by uid 65534"),
            "{args:?}: {err}"
        );
    }
    assert!(!s.dir("x").exists());
}

/// Connects to a socket, says Hello, prints the hex of what comes back
/// until EOF.
const PEER: &str = r#"
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("CONNECT-ERROR", e)
    sys.exit(3)
p = json.dumps({"version": 1, "role": "control"}).encode()
try:
    s.sendall(struct.pack("<IB", len(p), 1) + p)
except OSError as e:
    print("SEND-ERROR", e)
data = b""
while True:
    try:
        b = s.recv(4096)
    except ConnectionResetError:
        break
    except socket.timeout:
        print("TIMEOUT")
        sys.exit(4)
    if not b:
        break
    data += b
print("RECEIVED", data.hex())
print("EOF")
"#;

/// The frame kinds in a byte stream.
fn kinds(mut b: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    while b.len() >= 5 {
        let len = u32::from_le_bytes(b[..4].try_into().unwrap()) as usize;
        v.push(b[4]);
        b = &b[(5 + len).min(b.len())..];
    }
    v
}

fn python() -> Option<PathBuf> {
    // A system python another user can run (not a shim under /root).
    ["/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

#[test]
fn a_connection_from_another_uid_is_refused() {
    if !is_root() {
        return skip("connecting as another user needs root");
    }
    let Some(py) = python() else {
        return missing("python3", "no system python3 to connect as another user");
    };
    let s = Store::new();
    s.start("guarded", &["sleep", "300"]);
    s.wait_status("guarded", "running");
    let sock = s.dir("guarded").join("sock");
    // Let the other user reach the socket: only the peer check remains.
    chmod(s.tmp.path(), 0o711);
    chmod(&s.root, 0o711);
    chmod(&s.dir("guarded"), 0o711);
    chmod(&sock, 0o666);

    let mut c = Command::new(&py);
    c.args(["-c", PEER])
        .arg(&sock)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/")
        .current_dir("/")
        .uid(NOBODY)
        .gid(NOBODY);
    let out = output_with_timeout(&mut c, CMD_TIMEOUT);
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "the other user must reach the socket for this test to mean anything: {:?}\n{text}\n{}",
        out.status,
        stderr(&out)
    );
    assert!(text.contains("EOF"), "{text}");
    let hex = text
        .lines()
        .find_map(|l| l.strip_prefix("RECEIVED"))
        .unwrap()
        .trim();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert!(
        !kinds(&bytes).contains(&2),
        "no Welcome for another uid: {bytes:?}"
    );

    let ev = wait_event(&s, "guarded", |e| e["event"] == "refused");
    assert_eq!(ev["uid"], NOBODY, "{ev}");

    // The session is unharmed, and its owner still gets in.
    assert_eq!(s.entry("guarded")["status"], "running");
    s.ok(["stop", "guarded"]);
    assert_eq!(s.entry("guarded")["signal"], "SIGHUP");
}

/// Send raw bytes on a fresh connection and read until the supervisor
/// hangs up.
fn send_raw(sock: &Path, bytes: &[u8]) -> Vec<u8> {
    let mut c = UnixStream::connect(sock).expect("connecting");
    c.set_read_timeout(Some(WAIT)).unwrap();
    let _ = c.write_all(bytes);
    let mut got = Vec::new();
    match c.read_to_end(&mut got) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the supervisor did not close the connection: {e}"),
    }
    got
}

#[test]
fn a_malformed_frame_closes_only_that_connection() {
    let s = Store::new();
    s.start("sturdy", &["sh", "-c", "echo ok; exec sleep 300"]);
    s.wait_log("sturdy", "ok");
    let sock = s.dir("sturdy").join("sock");

    // An unknown kind.
    let got = send_raw(&sock, &[0, 0, 0, 0, 200]);
    assert!(!kinds(&got).contains(&2), "{got:?}");
    wait_event(&s, "sturdy", |e| e["event"] == "malformed");
    // A frame larger than the limit.
    send_raw(&sock, &[0xff, 0xff, 0xff, 0x7f, 1]);
    // Not a Hello first.
    let got = send_raw(&sock, &[0, 0, 0, 0, 7]);
    assert!(!kinds(&got).contains(&2), "{got:?}");
    // A Hello whose JSON is broken.
    let mut bad = Vec::new();
    bad.extend_from_slice(&3u32.to_le_bytes());
    bad.push(1);
    bad.extend_from_slice(b"{x}");
    send_raw(&sock, &bad);
    // A connection that closes half-way through a frame.
    {
        let mut c = UnixStream::connect(&sock).unwrap();
        c.write_all(&[10, 0, 0]).unwrap();
    }
    // A connection that says nothing and stays open while others work.
    let idle = UnixStream::connect(&sock).unwrap();

    assert_eq!(s.entry("sturdy")["status"], "running");
    assert!(sock.exists());
    let out = s.ok(["stop", "sturdy"]);
    assert!(out.contains("stopped sturdy"), "{out}");
    let e = s.entry("sturdy");
    assert_eq!(e["status"], "killed", "{e}");
    assert_eq!(e["signal"], "SIGHUP", "{e}");
    drop(idle);
}

#[test]
fn a_store_path_longer_than_sun_path_works() {
    let deep: PathBuf = (0..6)
        .map(|i| format!("a-rather-long-folder-name-number-{i}"))
        .collect();
    let s = Store::with_root(deep.join("sessions"));
    let sock = s.dir("longpath").join("sock");
    assert!(
        sock.as_os_str().len() > 110,
        "{} is {} bytes",
        sock.display(),
        sock.as_os_str().len()
    );
    s.start(
        "longpath",
        &["sh", "-c", "echo hello-from-deep; exec sleep 300"],
    );
    s.wait_log("longpath", "hello-from-deep");
    assert!(sock.exists());
    assert_eq!(s.wait_status("longpath", "running")["name"], "longpath");
    assert!(s.ok(["list"]).contains("longpath"));
    assert_eq!(s.ok(["logs", "longpath"]), "hello-from-deep\n");
    assert!(s.ok(["ps"]).contains("hello-from-deep"));
    let v: Value = serde_json::from_str(&s.ok(["inspect", "longpath", "--json"])).unwrap();
    assert_eq!(v["socket"], sock.to_str().unwrap());
    let out = s.ok(["stop", "longpath"]);
    assert!(out.contains("stopped longpath"), "{out}");
    let e = s.entry("longpath");
    assert_eq!(e["status"], "killed", "{e}");
    assert_eq!(e["signal"], "SIGHUP", "{e}");
    s.ok(["rm", "longpath"]);
    assert!(!s.dir("longpath").exists());
    // `rm --force` on a running one goes through the socket too.
    s.start("longpath2", &["sleep", "300"]);
    s.ok(["rm", "--force", "longpath2"]);
    assert!(!s.dir("longpath2").exists());
}
