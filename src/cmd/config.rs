//! `config`: the effective configuration, and where each value came from.

use std::io::{self, Write};
use std::process::ExitCode;

use super::Ctx;
use crate::cli::ConfigArgs;
use crate::config::{KEYS, Source};
use crate::error::{Result, stdout_error};

pub fn run(_a: ConfigArgs, ctx: &Ctx) -> Result<ExitCode> {
    let c = &ctx.config;
    let mut out = io::stdout().lock();
    let state = if c.found {
        ""
    } else {
        " (not found: every value is the default)"
    };
    writeln!(out, "# {}{state}", c.path.display()).map_err(stdout_error)?;
    let store = ctx.store().map(|s| s.root.display().to_string());
    let mut section = "";
    for k in KEYS {
        let (sec, key) = k.name.split_once('.').unwrap_or(("", k.name));
        if sec != section {
            writeln!(out, "\n[{sec}]").map_err(stdout_error)?;
            section = sec;
        }
        let (value, from) = if k.name == "store" {
            // The store has more sources than the file, in the order
            // Store::open takes them: the flag, the environment, the file.
            let env_set = std::env::var_os("CODEX_SESSION_STORE").is_some_and(|v| !v.is_empty());
            let from = match (&store, c.source("store")) {
                (Err(_), _) => "unusable".to_string(),
                _ if ctx.store_flag.is_some() => "--store".into(),
                _ if env_set => "$CODEX_SESSION_STORE".into(),
                (Ok(_), Source::File(p, l)) => format!("{}:{l}", p.display()),
                _ => "default: $CODEX_HOME/sessions".into(),
            };
            let v = store
                .as_ref()
                .map_or_else(|e| e.to_string(), |s| format!("{s:?}"));
            (v, from)
        } else {
            let from = match c.source(k.name) {
                Source::Default => "default".to_string(),
                Source::File(p, l) => format!("{}:{l}", p.display()),
            };
            (c.value(k.name), from)
        };
        let line = format!("{key} = {value}");
        writeln!(out, "{line:<40} # {from}: {}", k.doc).map_err(stdout_error)?;
    }
    Ok(ExitCode::SUCCESS)
}
