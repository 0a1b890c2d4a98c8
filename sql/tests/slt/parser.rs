//! Parser of the sqllogictest format (`*.slt`, `*.test`).
//!
//! A file is a list of records separated by blank lines:
//! - `statement ok` / `statement error [text]`, then the SQL;
//! - `query <types> [nosort|rowsort|valuesort] [label]`, then the SQL,
//!   `----`, and the results: one value per line (SQLite's layout), one
//!   row per line with values separated by spaces, or
//!   `N values hashing to <md5>`;
//! - `query error [text]`, then the SQL;
//! - `hash-threshold N`, `halt`;
//! - `skipif <db>` / `onlyif <db>` lines before a record; `#` comments.
//!
//! The optional text after `error` must occur in the error message (a
//! substring, not a regular expression: the workspace has no regex crate).

/// How a query's rows are ordered before comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortMode {
    Keep,
    Rows,
    Values,
}

/// What a query should give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expected {
    /// Result lines as written.
    Lines(Vec<String>),
    /// `count values hashing to md5`.
    Hash { count: usize, md5: String },
    /// An error whose message contains the text (any error if empty).
    Error(String),
}

/// `skipif` / `onlyif` conditions on a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Condition {
    SkipIf(String),
    OnlyIf(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    Statement {
        sql: String,
        /// `None`: must succeed; `Some(text)`: must fail with `text`.
        error: Option<String>,
    },
    Query {
        sql: String,
        types: String,
        sort: SortMode,
        expected: Expected,
        /// Line range (0-based, end exclusive) of the results in the file,
        /// or where they would go, for rewriting.
        results: (usize, usize),
        /// Whether the file had a `----` line.
        has_separator: bool,
    },
    HashThreshold(usize),
    Halt,
}

/// One record, with its conditions and 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) line: usize,
    pub(crate) conditions: Vec<Condition>,
    pub(crate) body: Body,
}

impl Record {
    /// Whether the record applies to an engine answering to `names`.
    pub(crate) fn applies_to(&self, names: &[&str]) -> bool {
        self.conditions.iter().all(|c| match c {
            Condition::SkipIf(db) => !names.contains(&db.as_str()),
            Condition::OnlyIf(db) => names.contains(&db.as_str()),
        })
    }
}

/// Parses a whole file.
///
/// # Errors
///
/// A message with the line number for a malformed record.
pub(crate) fn parse(text: &str) -> Result<Vec<Record>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut records = Vec::new();
    let mut i = 0;
    let mut conditions = Vec::new();
    while i < lines.len() {
        let line = lines[i].trim_end();
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [] => {
                i += 1;
                continue;
            }
            [w, ..] if w.starts_with('#') => {}
            ["skipif", db, ..] => conditions.push(Condition::SkipIf(db.to_string())),
            ["onlyif", db, ..] => conditions.push(Condition::OnlyIf(db.to_string())),
            ["halt"] => records.push(record(i, &mut conditions, Body::Halt)),
            ["hash-threshold", n] => {
                let n = n
                    .parse()
                    .map_err(|_| format!("line {}: bad hash-threshold", i + 1))?;
                records.push(record(i, &mut conditions, Body::HashThreshold(n)));
            }
            ["statement", kind, rest @ ..] => {
                let error = match *kind {
                    "ok" => None,
                    "error" => Some(rest.join(" ")),
                    other => return Err(format!("line {}: statement {other}?", i + 1)),
                };
                let (sql, next) = sql_block(&lines, i + 1, false);
                records.push(record(i, &mut conditions, Body::Statement { sql, error }));
                i = next;
                continue;
            }
            ["query", header @ ..] => {
                let (body, next) = query(&lines, i, header)?;
                records.push(record(i, &mut conditions, body));
                i = next;
                continue;
            }
            _ => return Err(format!("line {}: unknown record {line:?}", i + 1)),
        }
        i += 1;
    }
    Ok(records)
}

fn record(i: usize, conditions: &mut Vec<Condition>, body: Body) -> Record {
    Record {
        line: i + 1,
        conditions: std::mem::take(conditions),
        body,
    }
}

/// SQL lines from `start` up to a blank line (or `----` for queries).
fn sql_block(lines: &[&str], start: usize, query: bool) -> (String, usize) {
    let mut end = start;
    while end < lines.len() {
        let l = lines[end].trim_end();
        if l.is_empty() || (query && l == "----") {
            break;
        }
        end += 1;
    }
    (lines[start..end].join("\n"), end)
}

fn query(lines: &[&str], i: usize, header: &[&str]) -> Result<(Body, usize), String> {
    let (types, rest) = match header {
        ["error", rest @ ..] => {
            let (sql, next) = sql_block(lines, i + 1, false);
            let expected = Expected::Error(rest.join(" "));
            let body = Body::Query {
                sql,
                types: String::new(),
                sort: SortMode::Keep,
                expected,
                results: (next, next),
                has_separator: false,
            };
            return Ok((body, next));
        }
        [types, rest @ ..] => (types.to_string(), rest),
        [] => return Err(format!("line {}: query without types", i + 1)),
    };
    let sort = match rest.first().copied() {
        None | Some("nosort") => SortMode::Keep,
        Some("rowsort") => SortMode::Rows,
        Some("valuesort") => SortMode::Values,
        // A label without a sort mode.
        Some(_) => SortMode::Keep,
    };
    let (sql, mut next) = sql_block(lines, i + 1, true);
    let has_separator = lines.get(next).is_some_and(|l| l.trim_end() == "----");
    let mut results = Vec::new();
    let start = if has_separator { next + 1 } else { next };
    if has_separator {
        next += 1;
        while next < lines.len() && !lines[next].trim().is_empty() {
            results.push(lines[next].trim_end().to_string());
            next += 1;
        }
    }
    let expected = match hash_line(&results) {
        Some((count, md5)) => Expected::Hash { count, md5 },
        None => Expected::Lines(results),
    };
    let body = Body::Query {
        sql,
        types,
        sort,
        expected,
        results: (start, next),
        has_separator,
    };
    Ok((body, next))
}

/// `N values hashing to <md5>`.
fn hash_line(results: &[String]) -> Option<(usize, String)> {
    let [line] = results else { return None };
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        [n, "values", "hashing", "to", md5] if md5.len() == 32 => {
            Some((n.parse().ok()?, md5.to_string()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_record_kind() {
        let text = "\
hash-threshold 8

# a comment
statement ok
CREATE TABLE t(a INTEGER)

statement error does not exist
SELECT * FROM nope

skipif mysql
query I rowsort label-1
SELECT a
FROM t
----
1
2

query IT nosort
SELECT 1, 'x'
----
3 values hashing to 0123456789abcdef0123456789abcdef

query error division by zero
SELECT 1/0

onlyif sqlite
halt
";
        let records = parse(text).unwrap();
        assert_eq!(records.len(), 7);
        assert_eq!(records[0].body, Body::HashThreshold(8));
        assert!(matches!(
            &records[1].body,
            Body::Statement { error: None, .. }
        ));
        assert!(
            matches!(&records[2].body, Body::Statement { error: Some(e), .. } if e == "does not exist")
        );
        match &records[3].body {
            Body::Query {
                sql,
                types,
                sort,
                expected,
                ..
            } => {
                assert_eq!(sql, "SELECT a\nFROM t");
                assert_eq!(types, "I");
                assert_eq!(*sort, SortMode::Rows);
                assert_eq!(*expected, Expected::Lines(vec!["1".into(), "2".into()]));
            }
            other => panic!("{other:?}"),
        }
        assert!(!records[3].applies_to(&["mysql"]));
        assert!(records[3].applies_to(&["postgresql"]));
        assert!(matches!(
            &records[4].body,
            Body::Query {
                expected: Expected::Hash { count: 3, .. },
                ..
            }
        ));
        assert!(
            matches!(&records[5].body, Body::Query { expected: Expected::Error(e), .. } if e == "division by zero")
        );
        assert_eq!(records[6].body, Body::Halt);
        assert!(!records[6].applies_to(&["postgresql"]));
    }

    #[test]
    fn unknown_record_is_an_error() {
        assert!(parse("frobnicate\n").is_err());
    }
}
