//! `events.jsonl`: one JSON object a line, appended by the supervisor:
//! `{"ts": RFC 3339 with ms, "event": "started", ...fields}`.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use serde_json::{Map, Value, json};

use crate::store::EVENTS;
use crate::sys;

pub struct Events {
    file: Option<File>,
}

impl Events {
    pub fn open(dir: &Path) -> Events {
        Events {
            file: sys::append_nofollow(&dir.join(EVENTS)).ok(),
        }
    }

    /// Append one event. A failure to record is not a reason to disturb the
    /// program, so it is ignored (the log's own errors are reported in meta).
    pub fn emit(&mut self, event: &str, fields: Value) {
        let Some(f) = self.file.as_mut() else { return };
        let mut obj = Map::new();
        obj.insert(
            "ts".into(),
            json!(humantime::format_rfc3339_millis(SystemTime::now()).to_string()),
        );
        obj.insert("event".into(), json!(event));
        if let Value::Object(m) = fields {
            obj.extend(m);
        }
        let mut line = serde_json::to_vec(&Value::Object(obj)).expect("event serializes");
        line.push(b'\n');
        let _ = f.write_all(&line);
    }
}
