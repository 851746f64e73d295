//! Sessions as MCP resources: `session://NAME/screen` (what the terminal
//! shows) and `session://NAME/log` (the last of its output, plain text).
//! A subscription to either is a watch on the session, on a thread of its
//! own: each time the session goes idle (no output for `idle_after`) and
//! when it exits, the subscriber is told the resource was updated.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::backend::{Backend, Event, Fail, Watching};
use super::text::Collector;

pub const SCHEME: &str = "session://";

/// The two views of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Screen,
    Log,
}

/// `session://NAME/screen` or `session://NAME/log`.
pub fn parse(uri: &str) -> Result<(String, View), Fail> {
    let bad = || {
        Fail::new(format!(
            "unknown resource {uri:?}: the resources are session://NAME/screen and session://NAME/log"
        ))
    };
    let rest = uri.strip_prefix(SCHEME).ok_or_else(bad)?;
    let (name, view) = rest.rsplit_once('/').ok_or_else(bad)?;
    let view = match view {
        "screen" => View::Screen,
        "log" => View::Log,
        _ => return Err(bad()),
    };
    if name.is_empty() || name.contains('/') {
        return Err(bad());
    }
    Ok((name.to_string(), view))
}

pub fn uri(name: &str, view: View) -> String {
    match view {
        View::Screen => format!("{SCHEME}{name}/screen"),
        View::Log => format!("{SCHEME}{name}/log"),
    }
}

/// A resource's text now.
pub fn read(b: &Backend, name: &str, view: View) -> Result<String, Fail> {
    match view {
        View::Screen => Ok(b.screen(name)?.0),
        View::Log => {
            let (start, total) = b.tail_start(name, 1000)?;
            let mut c = Collector::new(b.max_output, None, None);
            let mut pos = start;
            while pos < total {
                let (bytes, at, _) = b.read_output(name, pos, 256 * 1024)?;
                if bytes.is_empty() {
                    break;
                }
                c.feed(&bytes);
                pos = at + bytes.len() as u64;
            }
            Ok(c.finish().text(start, name, b.max_output))
        }
    }
}

/// The subscriptions of one connection: a stop flag per URI.
#[derive(Default)]
pub struct Subscriptions {
    active: Mutex<HashMap<String, Arc<AtomicBool>>>,
}

impl Subscriptions {
    /// Start watching for `uri` (again: a second subscribe is a no-op);
    /// `notify(uri)` is called on every update and returns false once nobody
    /// listens any more. The watch is open when this returns, so no output
    /// after it is missed; `since` is the output size when the subscriber
    /// last knew it (if before now): output since then is news too.
    pub fn add(
        &self,
        b: Arc<Backend>,
        uri: &str,
        since: Option<u64>,
        notify: impl Fn(&str) -> bool + Send + 'static,
    ) -> Result<(), Fail> {
        let (name, _) = parse(uri)?;
        let mut active = self.active.lock().expect("not poisoned");
        if active.contains_key(uri) {
            return Ok(());
        }
        let first = match b.watch(&name, Some(b.idle_after)) {
            Ok(w) => w,
            Err(e) => {
                // An ended session changes no more: nothing to watch.
                return match b.info(&name) {
                    Ok(i) if !i.running => Ok(()),
                    _ => Err(e),
                };
            }
        };
        let quiet_known = since.is_none_or(|o| first.offset <= o);
        let stop = Arc::new(AtomicBool::new(false));
        active.insert(uri.to_string(), stop.clone());
        let uri = uri.to_string();
        std::thread::spawn(move || watch(&b, &name, &stop, first, quiet_known, || notify(&uri)));
        Ok(())
    }

    pub fn remove(&self, uri: &str) {
        if let Some(stop) = self.active.lock().expect("not poisoned").remove(uri) {
            stop.store(true, Ordering::SeqCst);
        }
    }
}

impl Drop for Subscriptions {
    fn drop(&mut self) {
        for stop in self.active.get_mut().expect("not poisoned").values() {
            stop.store(true, Ordering::SeqCst);
        }
    }
}

/// How often a watcher looks at its stop flag.
const POLL: Duration = Duration::from_millis(500);

/// Notify each time the session goes quiet after output, and when it
/// exits; until stopped or the session ended. `first` is the watch opened
/// at subscription; `quiet_known`: the subscriber knows the output so far.
fn watch(
    b: &Backend,
    name: &str,
    stop: &AtomicBool,
    first: Watching,
    mut quiet_known: bool,
    notify: impl Fn() -> bool,
) {
    // A watch says Idle once. Quiet is announced once per burst of output:
    // the first output after it re-arms the watch.
    let mut first = Some(first);
    while !stop.load(Ordering::SeqCst) {
        let w = match first.take() {
            Some(w) => Ok(w),
            None => b.watch(name, Some(b.idle_after)),
        };
        let mut w = match w {
            Ok(w) => w,
            Err(_) => {
                // Not running (any more): one last update if it ended.
                if b.info(name).is_ok_and(|i| !i.running) {
                    notify();
                }
                return;
            }
        };
        loop {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            match w.stream.next(Instant::now() + POLL) {
                Ok(Event::Timeout) => {}
                Ok(Event::Output(_)) if quiet_known => {
                    quiet_known = false;
                    break;
                }
                Ok(Event::Output(_)) => {}
                Ok(Event::Idle) if quiet_known => {}
                Ok(Event::Idle) => {
                    quiet_known = true;
                    if !notify() {
                        return;
                    }
                }
                Ok(Event::Exit(_)) => {
                    notify();
                    return;
                }
                Err(_) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(
            parse("session://api/screen").unwrap(),
            ("api".into(), View::Screen)
        );
        assert_eq!(
            parse("session://a.b-c/log").unwrap(),
            ("a.b-c".into(), View::Log)
        );
        assert_eq!(uri("api", View::Log), "session://api/log");
        for bad in [
            "session://api",
            "session:///log",
            "file://x/log",
            "session://a/b/log",
            "session://a/x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
