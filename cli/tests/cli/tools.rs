//! Issue 8: `hyperctl config`, `completions` and `man`.

use std::path::Path;
use std::process::{Command, Output};

fn run(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hyperctl"))
        .env("HYPERCTL_CONFIG", config)
        .env("PROD_SECRET_FOR_TEST", "s3cr3t-value")
        .args(args)
        .output()
        .expect("run hyperctl")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn config_profiles_set_show_list_and_refuse_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sub/config.toml");
    let out = run(&config, &["config", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("no profiles"), "{}", text(&out));
    for (key, value) in [
        ("url", "https://tableau.example.com"),
        ("site", "marketing"),
        ("pat_name", "ci"),
        ("pat_secret_env", "PROD_SECRET_FOR_TEST"),
    ] {
        let out = run(&config, &["config", "set", "prod", key, value]);
        assert!(out.status.success(), "{key}: {}", text(&out));
    }
    let out = run(
        &config,
        &["config", "set", "prod", "pat_secret", "s3cr3t-value"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out);
    assert!(err.contains("refusing to store a secret"), "{err}");
    assert!(err.contains("pat_secret_env"), "{err}");
    let stored = std::fs::read_to_string(&config).unwrap();
    assert!(!stored.contains("s3cr3t"), "{stored}");
    let out = run(&config, &["config", "set", "prod", "colour", "blue"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("unknown key"), "{}", text(&out));

    let out = run(&config, &["config", "show", "prod"]);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "[profile.prod]\nserver = \"https://tableau.example.com\"\nsite = \"marketing\"\n\
         pat_name = \"ci\"\npat_secret_env = \"PROD_SECRET_FOR_TEST\"  # the secret's variable; set now\n"
    );
    assert!(!shown.contains("s3cr3t"), "{shown}");
    let out = run(&config, &["config", "list"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "prod\thttps://tableau.example.com\n"
    );
    let out = run(&config, &["config", "show", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    // --config wins over HYPERCTL_CONFIG.
    let other = dir.path().join("other.toml");
    let out = run(
        &config,
        &[
            "--config",
            other.to_str().unwrap(),
            "config",
            "set",
            "dev",
            "site",
            "d",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        std::fs::read_to_string(&other)
            .unwrap()
            .contains("[profile.dev]")
    );
}

#[test]
fn completions_and_man_page() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    for (shell, needle) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef hyperctl"),
        ("fish", "complete -c hyperctl"),
    ] {
        let out = run(&config, &["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", text(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(needle), "{shell}: {script}");
        assert!(
            script.contains("vacuum"),
            "{shell}: subcommands are completed"
        );
    }
    let out = run(&config, &["man"]);
    assert!(out.status.success(), "{}", text(&out));
    let man = String::from_utf8_lossy(&out.stdout);
    assert!(
        man.starts_with(".ie") || man.contains(".TH hyperctl"),
        "{man}"
    );
    assert!(
        man.contains("Exit codes"),
        "the man page documents exit codes"
    );
    let out = run(&config, &["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `--verbose` and `RUST_LOG=debug` log steps to stderr; stdout is unchanged.
#[test]
fn verbose_logs_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("v.hxe");
    let db = db.to_str().unwrap();
    for (flag, env) in [(Some("--verbose"), None), (None, Some("debug"))] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hyperctl"));
        cmd.env_remove("RUST_LOG");
        if let Some(level) = env {
            cmd.env("RUST_LOG", level);
        }
        cmd.args(flag)
            .args(["sql", db, "--format", "csv", "-c", "SELECT 1 AS one"]);
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "one\n1\n");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("hyperctl: opening") && err.contains("ran in"),
            "{err}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_hyperctl"))
        .env_remove("RUST_LOG")
        .args(["sql", db, "-c", "SELECT 1"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
