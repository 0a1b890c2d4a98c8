//! Project paths: `Parent/Child/Grandchild`, with an escape for `/` in names.
//!
//! Syntax (our own; Tableau has none, spec §4):
//! - `/` separates levels; a path is one or more non-empty names;
//! - `\/` is a `/` inside a name and `\\` a backslash; any other `\` is an error;
//! - everything else is literal, spaces and `>` included: `Tableau > Child 1` is
//!   one name (Tableau's UI shows nesting with ` > `, but project names may
//!   themselves contain `>`, so `>` never separates).
//!
//! Invariant: `ProjectPath::parse(&p.to_string()) == Ok(p)`.

use std::fmt;

use crate::error::{Error, Result};

/// A parsed project path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProjectPath {
    segments: Vec<String>,
}

impl ProjectPath {
    /// Parses `A/B/C` (see the module docs for escaping).
    ///
    /// # Errors
    /// [`Error::ProjectPath`] for an empty path, an empty level (`A//B`, a
    /// leading or trailing `/`) or a `\` not followed by `/` or `\`.
    pub fn parse(path: &str) -> Result<Self> {
        let bad = |reason: &str| Error::ProjectPath {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let mut segments = Vec::new();
        let mut current = String::new();
        let mut chars = path.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(e @ ('/' | '\\')) => current.push(e),
                    Some(_) => return Err(bad("'\\' must be followed by '/' or '\\'")),
                    None => return Err(bad("it ends with a lone '\\'")),
                },
                '/' => segments.push(std::mem::take(&mut current)),
                c => current.push(c),
            }
        }
        segments.push(current);
        Self::from_names(segments).map_err(|_| {
            bad("a project name is empty (check for '//' or a leading or trailing '/')")
        })
    }

    /// A path from unescaped names, top level first.
    ///
    /// # Errors
    /// [`Error::ProjectPath`] if there is no name or a name is empty.
    pub fn from_names<I, S>(names: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let segments: Vec<String> = names.into_iter().map(Into::into).collect();
        if segments.is_empty() || segments.iter().any(String::is_empty) {
            let path = Self { segments }.to_string();
            return Err(Error::ProjectPath {
                path,
                reason: "a project name is empty".to_owned(),
            });
        }
        Ok(Self { segments })
    }

    /// The names, top level first, unescaped.
    pub fn names(&self) -> &[String] {
        &self.segments
    }

    /// The path of the first `levels` names, escaped, for messages.
    pub(crate) fn prefix(&self, levels: usize) -> String {
        let prefix = Self {
            segments: self.segments[..levels.min(self.segments.len())].to_vec(),
        };
        prefix.to_string()
    }
}

impl fmt::Display for ProjectPath {
    /// The escaped form, which [`ProjectPath::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(&escape_name(segment))?;
        }
        Ok(())
    }
}

/// Escapes one project name for use in a path.
pub(crate) fn escape_name(name: &str) -> String {
    name.replace('\\', "\\\\").replace('/', "\\/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_levels_and_escapes() {
        let p = ProjectPath::parse("Tableau/Tableau > Child 1").unwrap();
        assert_eq!(p.names(), ["Tableau", "Tableau > Child 1"]);
        let p = ProjectPath::parse(r"Sales\/Marketing/Q1 \\ Q2").unwrap();
        assert_eq!(p.names(), ["Sales/Marketing", r"Q1 \ Q2"]);
        assert_eq!(p.to_string(), r"Sales\/Marketing/Q1 \\ Q2");
        assert_eq!(ProjectPath::parse(&p.to_string()).unwrap(), p);
        assert_eq!(p.prefix(1), r"Sales\/Marketing");
    }

    #[test]
    fn rejects_bad_paths() {
        for bad in ["", "/", "a/", "/a", "a//b", r"a\b", "a\\"] {
            assert!(ProjectPath::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ProjectPath::from_names(Vec::<String>::new()).is_err());
    }

    #[test]
    fn round_trip_of_awkward_names() {
        for names in [vec!["/"], vec!["\\", "//\\/"], vec![" > ", "a>b", "x y"]] {
            let p = ProjectPath::from_names(names.clone()).unwrap();
            assert_eq!(
                ProjectPath::parse(&p.to_string()).unwrap().names(),
                names.as_slice()
            );
        }
    }
}
