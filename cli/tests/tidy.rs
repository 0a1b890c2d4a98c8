//! Repo rules as tests (STYLE.md 1 and 8): crate edges follow the layer table,
//! every library forbids `unsafe` (exec keeps it under `kernels/`), no test
//! expects a panic, and every module starts with a `//!` paragraph.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// (crate dir, package, workspace crates it may depend on, normal or dev)
const LAYERS: &[(&str, &[&str])] = &[
    ("format", &[]),
    ("storage", &["hyperctl-format"]),
    ("exec", &["hyperctl-format"]),
    (
        "sql",
        &["hyperctl-format", "hyperctl-storage", "hyperctl-exec"],
    ),
    ("publish", &[]),
    (
        "cli",
        &[
            "hyperctl-format",
            "hyperctl-storage",
            "hyperctl-exec",
            "hyperctl-sql",
            "hyperctl-publish",
        ],
    ),
];

/// The `hyperctl-*` packages a manifest names as dependencies of any kind.
fn workspace_deps(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line.contains("dependencies");
            continue;
        }
        if in_deps && line.starts_with("hyperctl-") {
            let name = line.split(['=', ' ', '.']).next().unwrap_or_default();
            out.push(name.to_string());
        }
    }
    out
}

#[test]
fn crate_edges_follow_the_layer_table() {
    for (dir, allowed) in LAYERS {
        let manifest = std::fs::read_to_string(root().join(dir).join("Cargo.toml")).unwrap();
        for dep in workspace_deps(&manifest) {
            let own = format!("hyperctl-{dir}");
            assert!(
                allowed.contains(&dep.as_str()) || dep == own,
                "{dir}/Cargo.toml depends on {dep}, which the layer table (STYLE.md 1) does not allow"
            );
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with("target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn libraries_forbid_unsafe() {
    for dir in ["format", "storage", "sql", "publish"] {
        let lib = std::fs::read_to_string(root().join(dir).join("src/lib.rs")).unwrap();
        assert!(
            lib.contains("#![forbid(unsafe_code)]"),
            "{dir}/src/lib.rs must forbid unsafe code"
        );
    }
    let mut files = Vec::new();
    rust_files(&root().join("exec/src"), &mut files);
    for f in files {
        if f.components().any(|c| c.as_os_str() == "kernels") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            !text.contains("unsafe {") && !text.contains("unsafe fn"),
            "{}: unsafe outside kernels/",
            f.display()
        );
    }
}

#[test]
fn no_should_panic_and_modules_have_docs() {
    let mut files = Vec::new();
    for dir in [
        "format", "storage", "exec", "sql", "publish", "cli", "benches",
    ] {
        rust_files(&root().join(dir), &mut files);
    }
    let needle = ["should", "_panic"].concat();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            !text.contains(&format!("#[{needle}")),
            "{}: test for Err instead of #[{needle}]",
            f.display()
        );
        let is_src = f.components().any(|c| c.as_os_str() == "src");
        if is_src {
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty() && !l.starts_with("#!["))
                .unwrap_or("");
            assert!(
                first.starts_with("//!"),
                "{}: a module opens with a //! paragraph",
                f.display()
            );
        }
    }
}
