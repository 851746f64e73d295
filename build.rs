//! Link the binary as a fixed-position (non-PIE) executable on Linux.
//!
//! A PIE binary of this size carries some 13,000 relative relocations that
//! the dynamic loader applies at every start: ~60 pages written in every
//! process, which is most of the CLI's start-up time and, copied on write
//! into every forked supervisor, most of its private memory. Without PIE
//! the linker resolves them once and those pages stay shared with the page
//! cache. (The code is still compiled position-independent; only the link
//! changes.)

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}
