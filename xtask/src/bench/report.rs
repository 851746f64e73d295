//! Statistics and the final table.

use std::fs;
use std::time::Duration;

use super::Ctx;

/// Median (mean of the middle two for an even count).
pub fn median(xs: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Nearest-rank percentile, `q` in 0..=100.
pub fn pctl(xs: &[f64], q: f64) -> Option<f64> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let k = ((q / 100.0) * (v.len() - 1) as f64).round() as usize;
    Some(v[k.min(v.len() - 1)])
}

pub fn min_max(xs: &[f64]) -> Option<(f64, f64)> {
    let lo = xs.iter().copied().reduce(f64::min)?;
    let hi = xs.iter().copied().reduce(f64::max)?;
    Some((lo, hi))
}

/// `ours / raw` as `0.93×`.
pub fn ratio(ours: Option<f64>, raw: Option<f64>) -> String {
    match (ours, raw) {
        (Some(o), Some(r)) if r > 0.0 => format!("{:.2}×", o / r),
        _ => "–".into(),
    }
}

pub fn num(x: Option<f64>, decimals: usize) -> String {
    match x {
        Some(x) => format!("{x:.decimals$}"),
        None => "–".into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    /// No target, or not comparable in this run (e.g. a `--quick` size).
    Info,
}

impl Verdict {
    pub fn check(ok: Option<bool>) -> Verdict {
        match ok {
            Some(true) => Verdict::Pass,
            Some(false) => Verdict::Fail,
            None => Verdict::Info,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "yes",
            Verdict::Fail => "NO",
            Verdict::Info => "",
        }
    }
}

pub struct Row {
    pub metric: String,
    pub ours: String,
    pub raw: String,
    pub ratio: String,
    pub target: String,
    pub verdict: Verdict,
}

#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
    notes: Vec<String>,
    /// /proc/loadavg's 1, 5 and 15 minute figures when the run started.
    pub load_at_start: Option<String>,
}

impl Report {
    pub fn row(
        &mut self,
        metric: impl Into<String>,
        ours: impl Into<String>,
        raw: impl Into<String>,
        ratio: impl Into<String>,
        target: impl Into<String>,
        verdict: Verdict,
    ) {
        self.rows.push(Row {
            metric: metric.into(),
            ours: ours.into(),
            raw: raw.into(),
            ratio: ratio.into(),
            target: target.into(),
            verdict,
        });
    }

    /// A line under the table (also printed to stderr now, as progress).
    pub fn note(&mut self, s: impl Into<String>) {
        let s = s.into();
        eprintln!("bench:   {s}");
        self.notes.push(s);
    }

    pub fn error(&mut self, key: &str, e: &str) {
        let first = e.lines().next().unwrap_or(e);
        self.row(format!("{key}: FAILED"), first, "", "", "", Verdict::Fail);
    }

    pub fn print(&self, ctx: &Ctx, elapsed: Duration) {
        let o = &ctx.opts;
        println!();
        println!(
            "## codex-session bench ({}; {} s)",
            if o.quick { "--quick" } else { "full run" },
            elapsed.as_secs()
        );
        println!();
        println!("- machine: {}", machine());
        println!("- binary: {}", ctx.bin.display());
        println!(
            "- load average (1/5/15 min): {} at start, {} at end (other work on the machine shows here)",
            self.load_at_start.as_deref().unwrap_or("?"),
            loadavg().unwrap_or_else(|| "?".into())
        );
        println!(
            "- raw = the same program on a PTY this process opened and drains itself, in the same run; ratio = ours ÷ raw"
        );
        println!();
        let header = ["metric", "ours", "raw", "ratio", "target", "met"];
        let cells: Vec<[&str; 6]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.metric.as_str(),
                    r.ours.as_str(),
                    r.raw.as_str(),
                    r.ratio.as_str(),
                    r.target.as_str(),
                    r.verdict.label(),
                ]
            })
            .collect();
        let mut w = header.map(|h| h.chars().count());
        for c in &cells {
            for (i, s) in c.iter().enumerate() {
                w[i] = w[i].max(s.chars().count());
            }
        }
        let line = |c: &[&str; 6]| {
            let parts: Vec<String> = c
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let pad = w[i] - s.chars().count();
                    format!("{s}{}", " ".repeat(pad))
                })
                .collect();
            println!("| {} |", parts.join(" | "));
        };
        line(&header);
        let rule: Vec<String> = w.iter().map(|&n| "-".repeat(n)).collect();
        println!("|-{}-|", rule.join("-|-"));
        for c in &cells {
            line(c);
        }
        if !self.notes.is_empty() {
            println!();
            for n in &self.notes {
                println!("- {n}");
            }
        }
        println!();
    }
}

/// The first three fields of /proc/loadavg.
pub fn loadavg() -> Option<String> {
    let s = fs::read_to_string("/proc/loadavg").ok()?;
    Some(s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "?".into());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into());
    format!("{cpus} CPUs ({model}), Linux {kernel}")
}
