//! Acceptance (issue 2, item 4): bad SQL, unknown tables and columns and type
//! errors give an error with the position of the offending token; nothing panics.

use crate::util::{conn, run, sql_error};

/// (statement, expected SQLSTATE, text in the message, line, column)
const CASES: &[(&str, &str, &str, u64, u64)] = &[
    ("SELEC 1", "42601", "syntax error", 1, 1),
    ("SELECT * FROM", "42601", "syntax error", 1, 14),
    ("SELECT 1 +* 2", "42601", "syntax error", 1, 11),
    ("SELECT 'unterminated", "42601", "syntax error", 1, 8),
    (
        "SELECT * FROM nope",
        "42P01",
        "table \"nope\" does not exist",
        1,
        15,
    ),
    (
        "SELECT * FROM other.t",
        "3F000",
        "schema \"other\" does not exist",
        1,
        15,
    ),
    // Hyper: a missing schema is 3F000 (invalid schema name) for every
    // statement, at the name's position.
    (
        "DROP TABLE other.t",
        "3F000",
        "schema \"other\" does not exist",
        1,
        12,
    ),
    (
        "INSERT INTO other.t VALUES (1)",
        "3F000",
        "schema \"other\"",
        1,
        13,
    ),
    (
        "CREATE TABLE other.t (a int)",
        "3F000",
        "schema \"other\"",
        1,
        14,
    ),
    (
        "TRUNCATE other.t",
        "3F000",
        "schema \"other\" does not exist",
        1,
        10,
    ),
    (
        "DELETE FROM other.t",
        "3F000",
        "schema \"other\" does not exist",
        1,
        13,
    ),
    (
        "UPDATE other.t SET a = 1",
        "3F000",
        "schema \"other\"",
        1,
        8,
    ),
    (
        "ALTER TABLE other.t RENAME TO u",
        "3F000",
        "schema \"other\"",
        1,
        13,
    ),
    ("SELECT a, zz FROM t", "42703", "unknown column 'zz'", 1, 11),
    ("SELECT t.zz FROM t", "42703", "unknown column 't.zz'", 1, 8),
    (
        "SELECT a FROM t\nWHERE\n  nope > 1",
        "42703",
        "unknown column 'nope'",
        3,
        3,
    ),
    (
        "SELECT a + b FROM t",
        "42804",
        "requires numerical arguments",
        1,
        8,
    ),
    (
        "SELECT a FROM t WHERE b = 1",
        "42804",
        "operator does not exist: TEXT = INTEGER",
        1,
        23,
    ),
    (
        "SELECT a FROM t WHERE a",
        "42804",
        "WHERE requires BOOLEAN",
        1,
        23,
    ),
    (
        "SELECT 'x' + 1",
        "42804",
        "requires numerical arguments",
        1,
        8,
    ),
    (
        "SELECT CAST('abc' AS int)",
        "22P02",
        "invalid input syntax for type integer: \"abc\"",
        1,
        13,
    ),
    (
        "INSERT INTO t VALUES ('one', 'b')",
        "22P02",
        "invalid input syntax for type integer",
        1,
        23,
    ),
    (
        "INSERT INTO t (a, nope) VALUES (1, 2)",
        "42703",
        "column \"nope\" of table \"t\" does not exist",
        1,
        19,
    ),
    (
        "SELECT b, count(*) FROM t",
        "42803",
        "must appear in the GROUP BY clause",
        1,
        8,
    ),
    (
        "SELECT a FROM t WHERE sum(a) > 1",
        "42803",
        "aggregate functions are not allowed in WHERE",
        1,
        23,
    ),
    (
        "SELECT nosuchfn(a) FROM t",
        "42883",
        "function \"nosuchfn\" does not exist",
        1,
        8,
    ),
    (
        "SELECT a FROM t ORDER BY 3",
        "42601",
        "position 3 is not in select list",
        1,
        26,
    ),
    (
        "CREATE TABLE t (a int)",
        "42P07",
        "table \"t\" already exists",
        1,
        14,
    ),
    (
        "CREATE TABLE u (a nosuchtype)",
        "42883",
        "type \"nosuchtype\" is not supported",
        1,
        17,
    ),
    (
        "SELECT a FROM t FULL JOIN LATERAL (SELECT 1) AS u ON true",
        "0A000",
        "RIGHT or FULL JOIN LATERAL is not supported yet",
        1,
        36,
    ),
];

#[test]
fn errors_name_the_position() {
    let mut c = conn();
    run(&mut c, "CREATE TABLE t (a int, b text)");
    for (sql, sqlstate, message, line, column) in CASES {
        let e = sql_error(&mut c, sql);
        assert!(
            e.message.contains(message),
            "{sql}: message {:?} lacks {message:?}",
            e.message
        );
        assert_eq!(e.sqlstate, *sqlstate, "{sql}: {e}");
        let p = e
            .position
            .unwrap_or_else(|| panic!("{sql}: no position in {e}"));
        assert_eq!((p.line, p.column), (*line, *column), "{sql}: {e}");
        let shown = e.to_string();
        assert!(
            shown.contains(&format!("line {line}, column {column}: ")),
            "{shown}"
        );
        assert!(shown.contains('^'), "excerpt with a marker: {shown}");
    }
}

#[test]
fn the_excerpt_marks_the_token() {
    let mut c = conn();
    let e = sql_error(&mut c, "SELECT * FROM nope");
    assert_eq!(
        e.to_string(),
        "table \"nope\" does not exist\nline 1, column 15: SELECT * FROM nope\n                                 ^~~~"
    );
}

#[test]
fn unknown_column_hints_at_case() {
    let mut c = conn();
    run(&mut c, r#"CREATE TABLE m ("MixedCase" int)"#);
    let e = sql_error(&mut c, "SELECT mixedcase FROM m");
    assert_eq!(
        e.hint.as_deref(),
        Some("Did you mean one of the following names: \"MixedCase\"?")
    );
}

#[test]
fn one_statement_per_call() {
    let mut c = conn();
    let e = sql_error(&mut c, "SELECT 1; SELECT 2");
    assert!(e.message.contains("multi-part queries are disabled"));
}

#[test]
fn script_lines_are_script_lines() {
    let mut c = conn();
    let script = "CREATE TABLE t (a int);\n\nINSERT INTO t VALUES (1);\nSELECT nope\nFROM t;";
    let stmts = hyperctl_sql::split_statements(script).unwrap();
    assert_eq!(stmts.len(), 3);
    c.execute_at(&stmts[0]).unwrap();
    c.execute_at(&stmts[1]).unwrap();
    let Err(hyperctl_sql::Error::Sql(e)) = c.execute_at(&stmts[2]) else {
        panic!("must fail")
    };
    assert_eq!(e.position.map(|p| (p.line, p.column)), Some((4, 8)), "{e}");
}
