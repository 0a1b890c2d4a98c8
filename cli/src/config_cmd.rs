//! `hyperctl config list|show [PROFILE]|set PROFILE KEY VALUE`: the named
//! Tableau server profiles of the config file (see `config.rs` for where it
//! lives and what a profile holds).
//!
//! Invariant: `set` never writes a secret. A profile names the environment
//! variable that holds the PAT secret (`pat_secret_env`); `show` says whether
//! that variable is set, never its value.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::config::{self, PROFILE_KEYS};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Action {
    /// The profiles and their servers.
    List,
    /// The settings of one profile (or of all), secrets never shown.
    Show {
        /// The profile (default: all).
        profile: Option<String>,
    },
    /// Set one key of a profile (created if missing): server (or url), site,
    /// project, pat_name, pat_secret_env. Secrets cannot be set: name the
    /// environment variable that holds one with pat_secret_env.
    Set {
        /// The profile.
        profile: String,
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
}

pub(crate) fn run(action: Action) -> Result<()> {
    let path = config::config_path()?;
    match action {
        Action::List => list(&path),
        Action::Show { profile } => show(&path, profile.as_deref()),
        Action::Set {
            profile,
            key,
            value,
        } => set(&path, &profile, &key, &value),
    }
}

fn list(path: &Path) -> Result<()> {
    let file = config::load_file(path)?;
    if file.profile.is_empty() {
        println!(
            "no profiles in {} (add one: hyperctl config set NAME server https://...)",
            path.display()
        );
    }
    for (name, p) in &file.profile {
        println!("{name}\t{}", p.server.as_deref().unwrap_or("(no server)"));
    }
    Ok(())
}

fn show(path: &Path, only: Option<&str>) -> Result<()> {
    let file = config::load_file(path)?;
    if let Some(name) = only.filter(|n| !file.profile.contains_key(*n)) {
        bail!(
            "no profile {name:?} in {}; `hyperctl config list` shows them",
            path.display()
        );
    }
    let mut first = true;
    for (name, p) in file
        .profile
        .iter()
        .filter(|(n, _)| only.is_none_or(|o| o == n.as_str()))
    {
        if !first {
            println!();
        }
        first = false;
        println!("[profile.{name}]");
        for key in PROFILE_KEYS {
            let Some(value) = p.get(key) else { continue };
            if *key == "pat_secret_env" {
                let state = match std::env::var_os(value) {
                    Some(v) if !v.is_empty() => "set",
                    _ => "not set",
                };
                println!("{key} = {value:?}  # the secret's variable; {state} now");
            } else {
                println!("{key} = {value:?}");
            }
        }
    }
    Ok(())
}

/// Keys that would put a secret into the file.
fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k != "pat_secret_env"
        && ["secret", "password", "token", "pat_value"]
            .iter()
            .any(|w| k.contains(w))
}

fn set(path: &Path, profile: &str, key: &str, value: &str) -> Result<()> {
    if is_secret_key(key) {
        bail!(
            "refusing to store a secret in {}: put it in an environment variable and \
             name that variable instead: hyperctl config set {profile} pat_secret_env VARIABLE",
            path.display()
        );
    }
    let key = if key == "url" { "server" } else { key };
    if !PROFILE_KEYS.contains(&key) {
        bail!(
            "unknown key {key:?}; a profile has: {} (url is server)",
            PROFILE_KEYS.join(", ")
        );
    }
    // Edit the file as a TOML table so that other profiles stay as they were;
    // check it parses as a config first (and so that errors do not echo it).
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(e).with_context(|| format!("reading the config file {}", path.display()));
        }
    };
    let _: config::ConfigFile = config::parse_toml(&text, path)?;
    let mut doc: toml::Table = config::parse_toml(&text, path)?;
    let profiles = doc
        .entry("profile")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(profiles) = profiles.as_table_mut() else {
        bail!("{}: `profile` is not a table", path.display());
    };
    let entry = profiles
        .entry(profile)
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(entry) = entry.as_table_mut() else {
        bail!("{}: profile.{profile} is not a table", path.display());
    };
    entry.insert(key.to_string(), toml::Value::String(value.to_string()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the config directory {}", dir.display()))?;
    }
    let out = toml::to_string(&doc).context("writing the config as TOML")?;
    std::fs::write(path, out)
        .with_context(|| format!("writing the config file {}", path.display()))?;
    println!("{}: profile.{profile}.{key} = {value:?}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_are_recognised() {
        for k in ["pat_secret", "PAT_SECRET", "password", "token", "api_token"] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["pat_secret_env", "pat_name", "server", "site"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }
}
