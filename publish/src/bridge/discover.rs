//! Finding Tableau's `hyperd` executable.
//!
//! Order: the `HYPERD_PATH` environment variable (the directory holding `hyperd`,
//! or the binary itself), then the `tableauhyperapi` package of the `python3` on
//! `PATH` (`<package>/bin/hyper/hyperd`).
//!
//! Invariant: discovery only reads; it never downloads or installs anything.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// The environment variable naming `hyperd` (its directory or the binary).
pub const HYPERD_PATH_ENV: &str = "HYPERD_PATH";

const BINARY: &str = if cfg!(windows) {
    "hyperd.exe"
} else {
    "hyperd"
};

/// A `hyperd` executable that exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HyperdPath {
    binary: PathBuf,
}

impl HyperdPath {
    /// Finds `hyperd`: `HYPERD_PATH` first, then `python3`'s `tableauhyperapi` package.
    ///
    /// # Errors
    ///
    /// [`Error::HyperdNotFound`] naming every place looked at. A `HYPERD_PATH`
    /// that is set but holds no `hyperd` is an error too, not a fall-through.
    pub fn discover() -> Result<Self> {
        if let Some(value) = std::env::var_os(HYPERD_PATH_ENV).filter(|v| !v.is_empty()) {
            let path = PathBuf::from(value);
            return Self::from_path(&path).map_err(|_| Error::HyperdNotFound {
                searched: vec![format!("{HYPERD_PATH_ENV}={}", path.display())],
            });
        }
        let mut searched = vec![format!("{HYPERD_PATH_ENV} (not set)")];
        match python_package_dir() {
            Ok(dir) => {
                let candidate = dir.join("bin").join("hyper").join(BINARY);
                if let Ok(found) = Self::from_path(&candidate) {
                    return Ok(found);
                }
                searched.push(candidate.display().to_string());
            }
            Err(why) => searched.push(format!("python3 package tableauhyperapi ({why})")),
        }
        Err(Error::HyperdNotFound { searched })
    }

    /// `hyperd` at `path`: the binary itself or the directory holding it.
    ///
    /// # Errors
    ///
    /// [`Error::HyperdNotFound`] if there is no such file.
    pub fn from_path(path: &Path) -> Result<Self> {
        let binary = if path.is_dir() {
            path.join(BINARY)
        } else {
            path.to_path_buf()
        };
        if binary.is_file() {
            Ok(Self { binary })
        } else {
            Err(Error::HyperdNotFound {
                searched: vec![binary.display().to_string()],
            })
        }
    }

    /// The executable.
    pub fn binary(&self) -> &Path {
        &self.binary
    }
}

/// The `tableauhyperapi` package directory of `python3`, or why not.
fn python_package_dir() -> Result<PathBuf, String> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import tableauhyperapi, os; print(os.path.dirname(tableauhyperapi.__file__))",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if !output.status.success() {
        return Err("not installed".to_owned());
    }
    let dir = String::from_utf8(output.stdout).map_err(|_| "non-UTF-8 path".to_owned())?;
    let dir = dir.trim();
    if dir.is_empty() {
        return Err("python3 printed no path".to_owned());
    }
    Ok(PathBuf::from(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_path_accepts_dir_or_binary_and_rejects_missing() {
        let dir = std::env::temp_dir().join(format!("hyperctl-discover-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join(BINARY);
        std::fs::write(&bin, b"").unwrap();
        assert_eq!(HyperdPath::from_path(&dir).unwrap().binary(), bin);
        assert_eq!(HyperdPath::from_path(&bin).unwrap().binary(), bin);
        let missing = dir.join("nope");
        match HyperdPath::from_path(&missing) {
            Err(Error::HyperdNotFound { searched }) => {
                assert_eq!(searched, vec![missing.display().to_string()]);
            }
            other => panic!("{other:?}"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
