//! Test support for code that needs Tableau's `hyperd` and the Python Hyper
//! API (the bridge's tests and the CLI's): find them or say SKIPPED, and run
//! the shared Hyper API script `publish/tests/hyper_roundtrip.py`.
//!
//! Invariant: a missing hyperd is a visible skip, and a failure when
//! `HYPERCTL_REQUIRE_HYPERD=1` (as `.ci/run` sets), so CI cannot pass by
//! skipping. Built only with the `emulator` feature (test support).

use std::path::Path;
use std::process::Command;

use crate::bridge::HyperdPath;

/// The line printed when hyperd is missing.
pub const SKIP: &str = "SKIPPED: hyperd not found (set HYPERD_PATH or pip install tableauhyperapi)";

/// Writes to the real stderr: libtest captures `eprintln!`, and a skip must show.
pub fn skipped(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Whether the environment demands hyperd (`HYPERCTL_REQUIRE_HYPERD=1`).
pub fn hyperd_required() -> bool {
    std::env::var("HYPERCTL_REQUIRE_HYPERD").as_deref() == Ok("1")
}

/// hyperd, or `None` after printing SKIPPED.
///
/// # Panics
/// When hyperd is missing and [`hyperd_required`].
pub fn hyperd_or_skip(test: &str) -> Option<HyperdPath> {
    match HyperdPath::discover() {
        Ok(path) => Some(path),
        Err(e) if hyperd_required() => panic!("HYPERCTL_REQUIRE_HYPERD=1, but: {e}"),
        Err(e) => {
            skipped(&format!("{SKIP}: {test} ({e})"));
            None
        }
    }
}

/// Whether `python3` has the Hyper API; prints SKIPPED when not.
///
/// # Panics
/// When it is missing and [`hyperd_required`].
pub fn python_hyper_api_or_skip(test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import tableauhyperapi"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !hyperd_required(),
            "HYPERCTL_REQUIRE_HYPERD=1, but python3 lacks tableauhyperapi"
        );
        skipped(&format!(
            "SKIPPED: python3 package tableauhyperapi not installed: {test}"
        ));
    }
    ok
}

/// Runs `hyper_roundtrip.py COMMAND FILE` and returns its standard output.
///
/// # Panics
/// When python3 cannot be started or the script fails (with its stderr).
pub fn run_roundtrip_script(command: &str, file: &Path) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hyper_roundtrip.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(command)
        .arg(file)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "hyper_roundtrip.py {command} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the script prints UTF-8 JSON")
}
