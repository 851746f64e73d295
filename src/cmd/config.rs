//! `config`: the effective configuration, and where each value came from;
//! `--json` for scripts.

use std::io::{self, Write};
use std::process::ExitCode;

use serde_json::{Map, Value, json};

use super::Ctx;
use crate::cli::ConfigArgs;
use crate::config::{KEYS, Source};
use crate::error::{Result, stdout_error};

/// One key's effective value, as the file would write it, and its source.
struct Shown {
    key: &'static str,
    doc: &'static str,
    /// A TOML value (`64`, `"7d"`, `["codex", "exec"]`), or why there is none.
    value: std::result::Result<String, String>,
    /// `default`, `file`, `--store`, `$CODEX_SESSION_STORE` or `unusable`.
    source: &'static str,
    /// The file's line, when the file set it.
    at: Option<(String, usize)>,
}

pub fn run(a: ConfigArgs, ctx: &Ctx) -> Result<ExitCode> {
    let c = &ctx.config;
    let store = ctx.store().map(|s| s.root.display().to_string());
    let shown: Vec<Shown> = KEYS
        .iter()
        .map(|k| {
            let at = match c.source(k.name) {
                Source::File(p, l) => Some((p.display().to_string(), l)),
                Source::Default => None,
            };
            if k.name != "store" {
                let source = if at.is_some() { "file" } else { "default" };
                return Shown {
                    key: k.name,
                    doc: k.doc,
                    value: Ok(c.value(k.name)),
                    source,
                    at,
                };
            }
            // The store has more sources than the file, in the order
            // Store::open takes them: the flag, the environment, the file.
            let env_set = std::env::var_os("CODEX_SESSION_STORE").is_some_and(|v| !v.is_empty());
            let source = match (&store, &at) {
                (Err(_), _) => "unusable",
                _ if ctx.store_flag.is_some() => "--store",
                _ if env_set => "$CODEX_SESSION_STORE",
                (Ok(_), Some(_)) => "file",
                _ => "default",
            };
            Shown {
                key: k.name,
                doc: k.doc,
                value: store
                    .as_ref()
                    .map(|s| format!("{s:?}"))
                    .map_err(|e| e.to_string()),
                source,
                at: at.filter(|_| source == "file"),
            }
        })
        .collect();
    let mut out = io::stdout().lock();
    if a.json {
        let mut keys = Map::new();
        for s in &shown {
            let mut v = json!({
                "value": s.value.as_ref().ok().map(|t| toml_to_json(t)),
                "source": s.source,
                "line": s.at.as_ref().map(|(_, l)| *l),
                "doc": s.doc,
            });
            if let Err(e) = &s.value {
                v["error"] = Value::String(e.clone());
            }
            keys.insert(s.key.to_string(), v);
        }
        let doc = json!({
            "file": c.path.display().to_string(),
            "found": c.found,
            "keys": keys,
        });
        serde_json::to_writer_pretty(&mut out, &doc).map_err(|e| stdout_error(e.into()))?;
        writeln!(out).map_err(stdout_error)?;
        return Ok(ExitCode::SUCCESS);
    }
    let state = if c.found {
        ""
    } else {
        " (not found: every value is the default)"
    };
    writeln!(out, "# {}{state}", c.path.display()).map_err(stdout_error)?;
    let mut section = "";
    for s in &shown {
        let (sec, key) = s.key.split_once('.').unwrap_or(("", s.key));
        if sec != section {
            writeln!(out, "\n[{sec}]").map_err(stdout_error)?;
            section = sec;
        }
        let from = match (&s.at, s.source) {
            (Some((p, l)), _) => format!("{p}:{l}"),
            (None, "default") if s.key == "store" => "default: $CODEX_HOME/sessions".into(),
            (None, other) => other.to_string(),
        };
        let value = s.value.clone().unwrap_or_else(|e| e);
        let line = format!("{key} = {value}");
        writeln!(out, "{line:<40} # {from}: {}", s.doc).map_err(stdout_error)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A value as the file writes it, as JSON (`"7d"` a string, `64` a number).
fn toml_to_json(value: &str) -> Value {
    toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .and_then(|v| serde_json::to_value(v).ok())
        .unwrap_or_else(|| Value::String(value.to_string()))
}
