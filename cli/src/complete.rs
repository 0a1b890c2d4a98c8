//! Tab completion for the interactive shell: SQL keywords, meta-commands,
//! and the table and column names of the open database's catalog.
//!
//! Invariant: completion only reads a snapshot of the catalog; it never
//! waits for a running statement.

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

/// Keywords offered by completion (upper case; typed lower case, they are
/// completed in lower case).
const KEYWORDS: &[&str] = &[
    "ALL",
    "AND",
    "AS",
    "ASC",
    "BEGIN",
    "BETWEEN",
    "BIGINT",
    "BOOLEAN",
    "BY",
    "CASE",
    "CAST",
    "COMMIT",
    "COPY",
    "COUNT",
    "CREATE",
    "CROSS",
    "DATE",
    "DELETE",
    "DESC",
    "DISTINCT",
    "DOUBLE",
    "DROP",
    "ELSE",
    "END",
    "EXCEPT",
    "EXISTS",
    "EXPLAIN",
    "FALSE",
    "FETCH",
    "FROM",
    "FULL",
    "GROUP",
    "HAVING",
    "IN",
    "INNER",
    "INSERT",
    "INTEGER",
    "INTERSECT",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "LEFT",
    "LIKE",
    "LIMIT",
    "NOT",
    "NULL",
    "NULLS",
    "NUMERIC",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "OVER",
    "PARTITION",
    "RECURSIVE",
    "RIGHT",
    "ROLLBACK",
    "SELECT",
    "SET",
    "SMALLINT",
    "TABLE",
    "TEXT",
    "THEN",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "TRUE",
    "UNION",
    "UPDATE",
    "USING",
    "VALUES",
    "VARCHAR",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
];

/// The shell's meta-commands, for completion and `.help`.
pub(crate) const META_COMMANDS: &[(&str, &str)] = &[
    (".tables", "list the tables"),
    (".schema [TABLE]", "print CREATE TABLE statements"),
    (".mode table|csv|json|jsonl|line", "how results are printed"),
    (".timer on|off", "print how long each statement took"),
    (".nullvalue TEXT", "how NULL is shown (table, csv, line)"),
    (".maxrows N", "rows shown in table mode (0: all)"),
    (".help", "this list"),
    (".quit, .exit", "leave the shell (Ctrl-D does too)"),
];

/// The names completion draws from.
pub(crate) trait CatalogNames {
    /// `(table, its columns)` for every table, in catalog order.
    fn tables(&self) -> Vec<(String, Vec<String>)>;
}

/// The rustyline helper: completion only (no hints, colours or validation:
/// statements end at `;`, which the shell's loop checks).
pub(crate) struct ShellHelper {
    pub(crate) names: Box<dyn CatalogNames>,
}

impl std::fmt::Debug for ShellHelper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShellHelper")
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        Ok(candidates(line, pos, &self.names.tables()))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}
impl Highlighter for ShellHelper {}
impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

/// Where the word before `pos` starts, and what may complete it.
pub(crate) fn candidates(
    line: &str,
    pos: usize,
    tables: &[(String, Vec<String>)],
) -> (usize, Vec<Pair>) {
    let before = line.get(..pos).unwrap_or(line);
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '"')))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[start..];
    let mut out: Vec<String> = Vec::new();
    if start == 0 && word.starts_with('.') {
        for (meta, _) in META_COMMANDS {
            for m in meta.split([' ', ',']).filter(|m| m.starts_with('.')) {
                if m.starts_with(word) {
                    out.push(m.to_string());
                }
            }
        }
        return (start, pairs(out));
    }
    if let Some((table, column)) = word.split_once('.') {
        let table = table.trim_matches('"');
        for (t, columns) in tables.iter().filter(|(t, _)| t == table) {
            for c in columns.iter().filter(|c| starts_with_ci(c, column)) {
                out.push(format!("{t}.{c}"));
            }
        }
        return (start, pairs(out));
    }
    if word.is_empty() {
        return (start, Vec::new());
    }
    let lower = word.chars().all(|c| !c.is_uppercase());
    for (table, columns) in tables {
        if starts_with_ci(table, word) {
            out.push(table.clone());
        }
        out.extend(columns.iter().filter(|c| starts_with_ci(c, word)).cloned());
    }
    // `.schema x<TAB>` completes table names only.
    if !before.trim_start().starts_with('.') {
        for k in KEYWORDS.iter().filter(|k| starts_with_ci(k, word)) {
            out.push(if lower {
                k.to_ascii_lowercase()
            } else {
                (*k).to_string()
            });
        }
    } else {
        out.retain(|n| tables.iter().any(|(t, _)| t == n));
    }
    out.sort();
    out.dedup();
    (start, pairs(out))
}

fn starts_with_ci(name: &str, prefix: &str) -> bool {
    name.len() >= prefix.len()
        && name.is_char_boundary(prefix.len())
        && name[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn pairs(names: Vec<String>) -> Vec<Pair> {
    names
        .into_iter()
        .map(|n| Pair {
            display: n.clone(),
            replacement: n,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(line: &str) -> (usize, Vec<String>) {
        let tables = vec![
            (
                "orders".to_string(),
                vec!["order_id".to_string(), "region".to_string()],
            ),
            ("regions".to_string(), vec!["name".to_string()]),
        ];
        let (start, c) = candidates(line, line.len(), &tables);
        (start, c.into_iter().map(|p| p.replacement).collect())
    }

    #[test]
    fn keywords_tables_columns_and_meta_commands() {
        assert_eq!(names("sel"), (0, vec!["select".to_string()]));
        assert_eq!(names("SEL"), (0, vec!["SELECT".to_string()]));
        assert_eq!(
            names("select * from ord"),
            (
                14,
                vec![
                    "order".to_string(),
                    "order_id".to_string(),
                    "orders".to_string()
                ]
            )
        );
        assert_eq!(
            names("select orders.re"),
            (7, vec!["orders.region".to_string()])
        );
        assert_eq!(
            names("select reg"),
            (7, vec!["region".to_string(), "regions".to_string()])
        );
        assert_eq!(names(".sch"), (0, vec![".schema".to_string()]));
        assert_eq!(names(".schema reg"), (8, vec!["regions".to_string()]));
        assert_eq!(names("select "), (7, vec![]));
    }
}
