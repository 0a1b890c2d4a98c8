//! Where `hyperctl publish` finds its server, site, project and credentials:
//! command-line flags, a profile of the config file, and the environment.
//!
//! The config file is `$HYPERCTL_CONFIG`, else `$XDG_CONFIG_HOME/hyperctl/config.toml`,
//! else `~/.config/hyperctl/config.toml`:
//!
//! ```toml
//! [profile.prod]
//! server = "https://tableau.example.com"
//! site = "marketing"
//! project = "Finance/Reports"
//! pat_name = "ci-publisher"
//! pat_secret_env = "PROD_TABLEAU_PAT_SECRET"   # the variable that holds the secret
//! ```
//!
//! Invariant: a secret is only ever read from the environment, never from argv
//! or a file we print from; TOML errors are reported without the offending
//! line's text, so a secret put into a file by mistake is not echoed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use hyperctl_publish::Credentials;
use serde::Deserialize;

/// The environment variable naming the config file.
pub(crate) const CONFIG_ENV: &str = "HYPERCTL_CONFIG";
/// The environment variable holding the PAT's name.
pub(crate) const PAT_NAME_ENV: &str = "TABLEAU_PAT_NAME";
/// The environment variable holding the PAT's secret (unless a profile names another).
pub(crate) const PAT_SECRET_ENV: &str = "TABLEAU_PAT_SECRET";

/// One `[profile.NAME]` table of the config file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Profile {
    #[serde(alias = "url")]
    pub(crate) server: Option<String>,
    pub(crate) site: Option<String>,
    pub(crate) project: Option<String>,
    pub(crate) pat_name: Option<String>,
    pub(crate) pat_secret_env: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    #[serde(default)]
    pub(crate) profile: BTreeMap<String, Profile>,
}

/// The keys of a profile, in the order `config show` prints them.
pub(crate) const PROFILE_KEYS: &[&str] =
    &["server", "site", "project", "pat_name", "pat_secret_env"];

impl Profile {
    /// The value of `key` (one of [`PROFILE_KEYS`]).
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        match key {
            "server" => self.server.as_deref(),
            "site" => self.site.as_deref(),
            "project" => self.project.as_deref(),
            "pat_name" => self.pat_name.as_deref(),
            "pat_secret_env" => self.pat_secret_env.as_deref(),
            _ => None,
        }
    }
}

/// The whole config file; a missing file has no profiles.
pub(crate) fn load_file(path: &Path) -> Result<ConfigFile> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_toml(&text, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
        Err(e) => Err(e).with_context(|| format!("reading the config file {}", path.display())),
    }
}

/// `--config FILE`, which wins over the environment.
static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Sets the config file's path from `--config` (the first call wins).
pub(crate) fn set_path(path: PathBuf) {
    let _ = PATH.set(path);
}

/// The config file's path: `--config`, else as the module docs say.
pub(crate) fn config_path() -> Result<PathBuf> {
    if let Some(path) = PATH.get() {
        return Ok(path.clone());
    }
    if let Some(path) = std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir).join("hyperctl/config.toml"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".config/hyperctl/config.toml")),
        None => bail!("cannot find the config file: set {CONFIG_ENV} (or HOME)"),
    }
}

/// The profile `name` of the config file.
pub(crate) fn load_profile(name: &str) -> Result<Profile> {
    let path = config_path()?;
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading the config file {} (profile {name:?})",
            path.display()
        )
    })?;
    let file: ConfigFile = parse_toml(&text, &path)?;
    match file.profile.get(name) {
        Some(profile) => Ok(profile.clone()),
        None => bail!(
            "no profile {name:?} in {}; its profiles: {}",
            path.display(),
            if file.profile.is_empty() {
                "none (add a [profile.NAME] table)".to_owned()
            } else {
                file.profile.keys().cloned().collect::<Vec<_>>().join(", ")
            }
        ),
    }
}

/// Parses TOML, reporting errors by line and message only (never the line's text).
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, path: &Path) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        let field = e
            .message()
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let hint = if ["secret", "password", "token"].iter().any(|w| field.contains(w)) {
            "; secrets do not belong in files: put the secret in an environment variable and name it with pat_secret_env"
        } else {
            ""
        };
        match line {
            Some(line) => anyhow::anyhow!(
                "{}, line {line}: {}{hint}",
                path.display(),
                e.message().trim()
            ),
            None => anyhow::anyhow!("{}: {}{hint}", path.display(), e.message().trim()),
        }
    })
}

/// Personal access token credentials from the environment (and the profile),
/// with a description of where they came from (no secret in it).
pub(crate) fn credentials(profile: Option<&Profile>) -> Result<(Credentials, String)> {
    let (name, name_from) = match profile.and_then(|p| p.pat_name.clone()) {
        Some(name) => (name, "the profile".to_owned()),
        None => (
            env_value(PAT_NAME_ENV).with_context(|| {
                format!(
                    "no personal access token: set {PAT_NAME_ENV} and {PAT_SECRET_ENV} \
                     (or use --profile with pat_name and pat_secret_env); \
                     secrets are never taken from the command line"
                )
            })?,
            PAT_NAME_ENV.to_owned(),
        ),
    };
    let secret_env = profile
        .and_then(|p| p.pat_secret_env.clone())
        .unwrap_or_else(|| PAT_SECRET_ENV.to_owned());
    let secret = env_value(&secret_env).with_context(|| {
        format!(
            "the secret of personal access token {name:?} is missing: set the environment \
             variable {secret_env}; secrets are never taken from the command line"
        )
    })?;
    let from = format!(
        "personal access token {name:?} (name from {name_from}, secret from ${secret_env})"
    );
    Ok((Credentials::personal_access_token(name, secret), from))
}

fn env_value(name: &str) -> Result<String> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Ok(v),
        Ok(_) => bail!("{name} is empty"),
        Err(std::env::VarError::NotPresent) => bail!("{name} is not set"),
        Err(std::env::VarError::NotUnicode(_)) => bail!("{name} is not valid UTF-8"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse_and_secrets_are_refused_without_echo() {
        let text = "[profile.prod]\nserver = \"https://t.example.com\"\nsite = \"m\"\npat_name = \"ci\"\npat_secret_env = \"X\"\n";
        let file: ConfigFile = parse_toml(text, Path::new("c.toml")).unwrap();
        let prod = &file.profile["prod"];
        assert_eq!(prod.server.as_deref(), Some("https://t.example.com"));
        assert_eq!(prod.pat_secret_env.as_deref(), Some("X"));

        let leaked = "[profile.prod]\npat_secret = \"s3cr3t-value\"\n";
        let err = parse_toml::<ConfigFile>(leaked, Path::new("c.toml")).unwrap_err();
        let text = format!("{err:#}");
        assert!(!text.contains("s3cr3t-value"), "{text}");
        assert!(text.contains("line 2"), "{text}");
        assert!(text.contains("environment variable"), "{text}");
    }
}
