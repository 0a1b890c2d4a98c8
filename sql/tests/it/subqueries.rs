//! Subqueries, set operations, window functions and CTEs: the errors that
//! come with a position (not supported correlations, 21000 for a scalar
//! subquery with a second row, window and set-operation mistakes), and a
//! few answers checked row by row.

use crate::util::{conn, query, run, sql_error};

fn sample() -> hyperctl_sql::Connection {
    let mut c = conn();
    run(&mut c, "CREATE TABLE t (a int, b int)");
    run(
        &mut c,
        "INSERT INTO t VALUES (1, 10), (2, 20), (2, 21), (NULL, 30)",
    );
    run(&mut c, "CREATE TABLE u (a int, d int)");
    run(
        &mut c,
        "INSERT INTO u VALUES (1, 100), (2, 200), (NULL, 300)",
    );
    c
}

/// (statement, SQLSTATE, text in the message, line, column)
const CASES: &[(&str, &str, &str, u64, u64)] = &[
    (
        "SELECT (SELECT d FROM u)",
        "21000",
        "more than one row returned by a subquery used as an expression",
        1,
        9,
    ),
    (
        "SELECT a\nFROM t\nWHERE b = (SELECT b FROM t WHERE a = 2)",
        "21000",
        "more than one row returned by a subquery used as an expression",
        3,
        12,
    ),
    (
        "SELECT (SELECT a, d FROM u LIMIT 1)",
        "42601",
        "subquery must return only one column",
        1,
        9,
    ),
    // Correlation two levels out.
    (
        "SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u WHERE EXISTS (SELECT 1 FROM u AS v WHERE v.a = t.a))",
        "0A000",
        "more than one level out is not supported yet",
        1,
        94,
    ),
    // Correlated reference outside WHERE.
    (
        "SELECT a, (SELECT max(d) + t.b FROM u WHERE u.a = t.a) FROM t",
        "0A000",
        "outside the subquery's WHERE clause is not supported yet",
        1,
        28,
    ),
    // Correlated scalar subquery without an aggregate: a key with two rows.
    (
        "SELECT b, (SELECT b FROM t AS t2 WHERE t2.a = t.a) FROM t",
        "21000",
        "more than one row returned by a subquery used as an expression",
        1,
        12,
    ),
    // Correlated scalar subquery with GROUP BY.
    (
        "SELECT a, (SELECT max(d) FROM u WHERE u.a = t.a GROUP BY u.d) FROM t",
        "0A000",
        "a correlated subquery with GROUP BY",
        1,
        12,
    ),
    // Correlated scalar subquery with a non-equality correlation.
    (
        "SELECT a, (SELECT max(d) FROM u WHERE u.a < t.a) FROM t",
        "0A000",
        "other than inner = outer",
        1,
        39,
    ),
    // Correlated subquery in a grouped query's select list: over a key, or
    // not at all.
    (
        "SELECT a, (SELECT max(d) FROM u WHERE u.a = t.b) FROM t GROUP BY a",
        "42803",
        "subquery uses ungrouped column from outer query",
        1,
        12,
    ),
    (
        "SELECT a, EXISTS (SELECT 1 FROM u WHERE u.a = t.a) FROM t GROUP BY a",
        "0A000",
        "grouped query",
        1,
        19,
    ),
    // LATERAL: first in FROM, or a condition we cannot turn into join keys
    // under a LIMIT.
    (
        "SELECT * FROM LATERAL (SELECT 1) x",
        "0A000",
        "LATERAL as the first FROM item",
        1,
        24,
    ),
    (
        "SELECT * FROM t, LATERAL (SELECT d FROM u WHERE u.a < t.a LIMIT 1) x",
        "0A000",
        "a LATERAL one with LIMIT is not supported",
        1,
        49,
    ),
    (
        "SELECT a FROM t WHERE a < ANY (SELECT a, d FROM u)",
        "42601",
        "subquery must return only one column",
        1,
        23,
    ),
    // Correlated EXISTS with GROUP BY.
    (
        "SELECT a FROM t WHERE EXISTS (SELECT u.a FROM u WHERE u.a = t.a GROUP BY u.a)",
        "0A000",
        "with GROUP BY or aggregates",
        1,
        31,
    ),
    // Correlated subquery with a set operation.
    (
        "SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.a = t.a UNION SELECT 2)",
        "0A000",
        "not supported yet",
        1,
        59,
    ),
    (
        "SELECT a FROM t WHERE a IN (SELECT a, d FROM u)",
        "42601",
        "subquery must return only one column",
        1,
        23,
    ),
    (
        "SELECT a FROM t UNION SELECT a, d FROM u",
        "42601",
        "each UNION query must have the same number of columns",
        1,
        23,
    ),
    (
        "SELECT a FROM t EXCEPT SELECT 'x'::text",
        "42804",
        "EXCEPT types integer and text cannot be matched",
        1,
        24,
    ),
    (
        "SELECT a FROM t WHERE row_number() OVER () > 1",
        "42P20",
        "window functions are not allowed here",
        1,
        23,
    ),
    (
        "SELECT sum(b) OVER (ORDER BY a GROUPS 1 PRECEDING) FROM t",
        "42601",
        "GROUPS frame extent not supported",
        1,
        8,
    ),
    (
        "SELECT sum(b) OVER (ROWS BETWEEN CURRENT ROW AND UNBOUNDED PRECEDING) FROM t",
        "42P20",
        "frame end cannot be UNBOUNDED PRECEDING",
        1,
        8,
    ),
    (
        "SELECT sum(b) OVER (ORDER BY a, b RANGE 1 PRECEDING) FROM t",
        "42P20",
        "RANGE with offset PRECEDING/FOLLOWING requires exactly one numeric ORDER BY column",
        1,
        41,
    ),
    (
        "SELECT abs(b) OVER () FROM t",
        "42809",
        "abs is not a window function nor an aggregate function",
        1,
        8,
    ),
    (
        "WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT 'x' FROM r) SELECT n FROM r",
        "42804",
        "recursive query \"r\" column 1 has type integer",
        1,
        45,
    ),
    (
        "WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT r1.n FROM r AS r1, r AS r2) SELECT n FROM r",
        "42P19",
        "recursive reference to query \"r\" must not appear more than once",
        1,
        71,
    ),
    (
        "SELECT DISTINCT ON (a) a, b FROM t ORDER BY b",
        "22023",
        "SELECT DISTINCT ON expressions must match initial ORDER BY expressions",
        1,
        21,
    ),
];

#[test]
fn errors_name_the_position() {
    let mut c = sample();
    let mut failures = Vec::new();
    for (sql, sqlstate, message, line, column) in CASES {
        let e = sql_error(&mut c, sql);
        let pos = e.position.map(|p| (p.line, p.column));
        if e.sqlstate != *sqlstate || !e.message.contains(message) || pos != Some((*line, *column))
        {
            failures.push(format!(
                "{sql}\n  got {} {:?} at {pos:?}",
                e.sqlstate, e.message
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn decorrelated_answers() {
    let mut c = sample();
    let mut sorted = |sql: &str| {
        let mut r = query(&mut c, sql);
        r.sort();
        r
    };
    assert_eq!(
        sorted("SELECT a, (SELECT count(*) FROM u WHERE u.a = t.a) FROM t"),
        ["1|1", "2|1", "2|1", "NULL|0"]
    );
    assert_eq!(
        sorted("SELECT a, a NOT IN (SELECT a FROM u) FROM t"),
        ["1|false", "2|false", "2|false", "NULL|NULL"]
    );
    assert_eq!(
        sorted("SELECT b FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.a = t.a)"),
        ["30"]
    );
    assert_eq!(
        sorted("SELECT b, b * 10 IN (SELECT d FROM u WHERE u.a = t.a) FROM t"),
        ["10|true", "20|true", "21|false", "30|false"]
    );
    // A scalar subquery with no row is NULL.
    assert_eq!(sorted("SELECT (SELECT d FROM u WHERE a = 9)"), ["NULL"]);
}

#[test]
fn windows_sets_and_recursion() {
    let mut c = sample();
    assert_eq!(
        query(
            &mut c,
            "SELECT a, b, sum(b) OVER (PARTITION BY a ORDER BY b) FROM t ORDER BY a, b"
        ),
        ["1|10|10", "2|20|20", "2|21|41", "NULL|30|30"]
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT a FROM t INTERSECT ALL SELECT a FROM u ORDER BY 1"
        ),
        ["1", "2", "NULL"]
    );
    assert_eq!(
        query(
            &mut c,
            "WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n * 2 FROM r WHERE n < 8) SELECT n FROM r"
        ),
        ["1", "2", "4", "8"]
    );
}

/// Subqueries, windows and set operations where they are not allowed or
/// make little sense: an answer or a SQL error, never a panic.
#[test]
fn odd_placements_answer_or_fail_cleanly() {
    let mut c = sample();
    for sql in [
        "INSERT INTO t VALUES ((SELECT 1), 2)",
        "UPDATE t SET b = (SELECT max(d) FROM u)",
        "SELECT * FROM t JOIN u ON t.a IN (SELECT a FROM u)",
        "SELECT a FROM t GROUP BY (SELECT 1)",
        "SELECT a FROM t GROUP BY row_number() OVER ()",
        "SELECT sum(row_number() OVER ()) FROM t",
        "SELECT row_number() OVER (ORDER BY row_number() OVER ()) FROM t",
        "SELECT a FROM t LIMIT (SELECT 1)",
        "SELECT sum((SELECT 1)) FROM t",
        "SELECT (SELECT 1) IN (SELECT (SELECT 2))",
        "SELECT a FROM t WHERE (SELECT a) = 1",
        "SELECT a FROM t WHERE EXISTS (SELECT count(*) FROM u WHERE u.a = t.a)",
        "SELECT a FROM t WHERE a IN (SELECT a FROM u WHERE u.d = t.b UNION SELECT 1)",
        "SELECT (SELECT t.a) FROM t",
        "SELECT a FROM t WHERE EXISTS (SELECT * FROM (SELECT * FROM u WHERE u.a = t.a) s)",
        "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3 ORDER BY 1) SELECT * FROM r",
        "WITH RECURSIVE r (n) AS (SELECT n FROM r UNION SELECT 1) SELECT * FROM r",
        "WITH r AS (SELECT * FROM r) SELECT * FROM r",
        "SELECT lag(a, b) OVER (ORDER BY a) FROM t",
        "SELECT nth_value(a, 0) OVER () FROM t",
        "SELECT sum(b) OVER (ROWS -1 PRECEDING) FROM t",
        "SELECT sum(b) OVER (ROWS 1.5 PRECEDING) FROM t",
        "SELECT sum(b) OVER (ORDER BY a RANGE BETWEEN 1 FOLLOWING AND 1 PRECEDING) FROM t",
        "SELECT DISTINCT ON (a) a FROM t",
        "SELECT a FROM t UNION SELECT a FROM u ORDER BY b",
        "(SELECT a FROM t) EXCEPT ALL (SELECT a FROM u) INTERSECT (VALUES (2))",
    ] {
        if let Err(e) = c.execute(sql) {
            let text = e.to_string();
            assert!(!text.contains("internal error"), "{sql}: {text}");
        }
    }
}

/// The plans of the decorrelated forms: ANY / ALL as a nested-loop Mark
/// join on the comparison, a scalar subquery over rows and LATERAL as hash
/// joins on the correlated keys, a LATERAL `ORDER BY ... LIMIT` as a
/// `row_number()` per key, and the row check of a scalar subquery as a
/// `count(*)` per key.
#[test]
fn decorrelated_plans() {
    let mut c = sample();
    let plan = |c: &mut hyperctl_sql::Connection, sql: &str| query(c, &format!("EXPLAIN {sql}"));
    let has = |lines: &[String], what: &str| lines.iter().any(|l| l.contains(what));
    let lines = plan(&mut c, "SELECT a FROM t WHERE b > ALL (SELECT d FROM u)");
    assert!(has(&lines, "NestedLoopJoin Mark on (b <= d)"), "{lines:?}");
    let lines = plan(
        &mut c,
        "SELECT a, b < ANY (SELECT d FROM u WHERE u.a = t.a) FROM t",
    );
    assert!(has(&lines, "NestedLoopJoin Mark on"), "{lines:?}");
    let lines = plan(&mut c, "SELECT a, (SELECT d FROM u WHERE u.a = t.a) FROM t");
    assert!(has(&lines, "HashJoin Left on [a = "), "{lines:?}");
    assert!(has(&lines, "countstar"), "{lines:?}");
    let lines = plan(
        &mut c,
        "SELECT t.a, x.d FROM t, LATERAL (SELECT d FROM u WHERE u.a = t.a ORDER BY d DESC LIMIT 1) x",
    );
    assert!(has(&lines, "HashJoin Inner on [a = "), "{lines:?}");
    assert!(
        has(
            &lines,
            "rownumber() AS #rn] partition by [#key0] order by [d DESC]"
        ),
        "{lines:?}"
    );
    let lines = plan(
        &mut c,
        "SELECT t.a, x.m FROM t LEFT JOIN LATERAL (SELECT max(d) AS m FROM u WHERE u.a = t.a) x ON true",
    );
    assert!(has(&lines, "HashAggregate group by [a]"), "{lines:?}");
    assert!(has(&lines, "HashJoin Left on [a = "), "{lines:?}");
    assert_eq!(
        query(
            &mut c,
            "SELECT t.a, x.d FROM t, LATERAL (SELECT d FROM u WHERE u.a = t.a) x ORDER BY 1, 2"
        ),
        ["1|100", "2|200", "2|200"]
    );
}
