//! A full disk: the program keeps running, bytes that could not be logged
//! are counted and reported, and how the session ended is still recorded.

use std::process::Command;

use crate::support::*;

/// A tiny tmpfs, unmounted (after its sessions are killed) on drop.
struct Tiny {
    store: Option<Store>,
    mnt: std::path::PathBuf,
}

impl Drop for Tiny {
    fn drop(&mut self) {
        drop(self.store.take());
        let _ = Command::new("umount").arg(&self.mnt).status();
    }
}

fn tiny() -> Option<Tiny> {
    if !is_root() {
        skip("mounting a small tmpfs needs root");
        return None;
    }
    let base = tempfile::Builder::new()
        .prefix("cs-disk-")
        .tempdir()
        .ok()?
        .keep();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs"])
        .arg(&base)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip("cannot mount a tmpfs here");
        return None;
    }
    let mut store = Store::new();
    store.root = base.join("sessions");
    Some(Tiny {
        store: Some(store),
        mnt: base,
    })
}

#[test]
fn a_full_disk_loses_no_record() {
    let Some(t) = tiny() else { return };
    let s = t.store.as_ref().unwrap();
    s.start(
        "full",
        &[
            "sh",
            "-c",
            "head -c 1000000 /dev/zero | tr '\\0' x | fold -w 99; echo; echo END-MARKER; exec sleep 300",
        ],
    );
    // The program got to its end although the log could not hold it.
    wait_for("the end of the output on screen", WAIT, || {
        s.ok(["capture", "full"])
            .contains("END-MARKER")
            .then_some(())
    });
    let e = wait_for("the drop to be recorded", WAIT, || {
        let e = s.entry("full");
        (e["dropped_bytes"].as_u64() > Some(0)).then_some(e)
    });
    assert_eq!(e["status"], "running");
    assert!(
        e["error"].as_str().unwrap_or("").contains("no space left"),
        "{e}"
    );
    assert!(s.ok(["list"]).contains("lost)"), "list says so");
    let events = std::fs::read_to_string(s.dir("full").join("events.jsonl")).unwrap();
    assert!(events.contains("\"dropped\""), "{events}");

    // Stopping it still records how it ended, and its last screen.
    s.ok(["stop", "full"]);
    let e = s.entry("full");
    assert_eq!(e["status"], "killed", "{e}");
    assert_eq!(e["signal"], "SIGHUP");
    let total = e["output_bytes"].as_u64().unwrap();
    let dropped = e["dropped_bytes"].as_u64().unwrap();
    let logged = std::fs::metadata(s.dir("full").join("output.log"))
        .unwrap()
        .len();
    assert_eq!(logged + dropped, total, "every byte is logged or counted");
    assert!(s.ok(["capture", "full"]).contains("END-MARKER"));
}
