//! `--verbose` and `RUST_LOG`: what hyperctl does, step by step, on stderr.
//!
//! Invariant: nothing logged here holds a secret; callers log paths, counts
//! and timings only.

use std::sync::atomic::{AtomicBool, Ordering};

static ON: AtomicBool = AtomicBool::new(false);

/// Turns logging on for `--verbose`, or when `RUST_LOG` asks for debug or
/// trace output (of everything or of `hyperctl`).
pub(crate) fn init(verbose: bool) {
    let from_env = std::env::var("RUST_LOG").is_ok_and(|v| {
        v.split(',').any(|d| {
            let (target, level) = d.rsplit_once('=').unwrap_or(("", d));
            (target.is_empty() || target.starts_with("hyperctl"))
                && matches!(level.to_ascii_lowercase().as_str(), "debug" | "trace")
        })
    });
    ON.store(verbose || from_env, Ordering::Relaxed);
}

/// Whether logging is on.
pub(crate) fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Writes one `hyperctl: ...` line to stderr when logging is on.
pub(crate) fn log(message: std::fmt::Arguments<'_>) {
    if enabled() {
        eprintln!("hyperctl: {message}");
    }
}
