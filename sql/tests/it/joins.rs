//! Joins through the whole stack (issue 4): every join type with NULL keys
//! and duplicates against hand-computed answers, USING and NATURAL, aliases,
//! self-joins, three-way joins, comma joins with WHERE, joins under GROUP BY
//! and ORDER BY, subqueries as join inputs, and name errors with positions.

use crate::util::{conn, query, run, sql_error};

/// l.k int and r.k bigint (keys of different types meet as BIGINT):
/// duplicates (1 twice in l, 2 twice in r), a NULL key on each side, and a
/// key on each side that the other lacks (3, 4).
fn sample() -> hyperctl_sql::Connection {
    let mut c = conn();
    run(&mut c, "CREATE TABLE l (k int, v text)");
    run(
        &mut c,
        "INSERT INTO l VALUES (1, 'a'), (1, 'b'), (2, 'c'), (NULL, 'd'), (3, 'e')",
    );
    run(&mut c, "CREATE TABLE r (k bigint, w text)");
    run(
        &mut c,
        "INSERT INTO r VALUES (1, 'p'), (2, 'q'), (2, 'r'), (NULL, 's'), (4, 't')",
    );
    run(&mut c, "CREATE TABLE c (w text, n int NOT NULL)");
    run(
        &mut c,
        "INSERT INTO c VALUES ('p', 10), ('q', 20), ('t', 40)",
    );
    c
}

#[test]
fn inner_join_skips_null_keys_and_multiplies_duplicates() {
    let mut c = sample();
    let want = ["1|a|1|p", "1|b|1|p", "2|c|2|q", "2|c|2|r"];
    for sql in [
        "SELECT * FROM l JOIN r ON l.k = r.k ORDER BY v, w",
        "SELECT * FROM l INNER JOIN r ON r.k = l.k ORDER BY v, w",
        "SELECT * FROM l, r WHERE l.k = r.k ORDER BY v, w",
        "SELECT * FROM l CROSS JOIN r WHERE r.k = l.k ORDER BY v, w",
    ] {
        assert_eq!(query(&mut c, sql), want, "{sql}");
    }
}

#[test]
fn outer_joins_pad_with_nulls() {
    let mut c = sample();
    assert_eq!(
        query(
            &mut c,
            "SELECT v, w FROM l LEFT JOIN r ON l.k = r.k ORDER BY v, w"
        ),
        ["a|p", "b|p", "c|q", "c|r", "d|NULL", "e|NULL"]
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT v, w, r.k FROM l RIGHT OUTER JOIN r ON l.k = r.k ORDER BY w, v"
        ),
        [
            "a|p|1",
            "b|p|1",
            "c|q|2",
            "c|r|2",
            "NULL|s|NULL",
            "NULL|t|4"
        ]
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT v, w FROM l FULL OUTER JOIN r ON l.k = r.k ORDER BY v, w"
        ),
        [
            "a|p", "b|p", "c|q", "c|r", "d|NULL", "e|NULL", "NULL|s", "NULL|t"
        ]
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT v, w FROM l FULL JOIN r ON false ORDER BY v, w"
        )
        .len(),
        10
    );
    let result = c
        .execute_query("SELECT l.k, r.k FROM l LEFT JOIN r ON l.k = r.k")
        .unwrap();
    assert!(result.columns[1].nullable);
}

#[test]
fn residual_and_non_equi_conditions() {
    let mut c = sample();
    // The residual filter decides matches, so rows it rejects are padded.
    assert_eq!(
        query(
            &mut c,
            "SELECT v, w FROM l LEFT JOIN r ON l.k = r.k AND w <> 'q' ORDER BY v, w"
        ),
        ["a|p", "b|p", "c|r", "d|NULL", "e|NULL"]
    );
    // WHERE filters after the outer join instead.
    assert_eq!(
        query(
            &mut c,
            "SELECT v, w FROM l LEFT JOIN r ON l.k = r.k WHERE w <> 'q' ORDER BY v, w"
        ),
        ["a|p", "b|p", "c|r"]
    );
    // No equality: a nested-loop join.
    assert_eq!(
        query(
            &mut c,
            "SELECT v, w FROM l JOIN r ON l.k < r.k ORDER BY v, w"
        ),
        ["a|q", "a|r", "a|t", "b|q", "b|r", "b|t", "c|t", "e|t"]
    );
    // Keys over expressions of one side each.
    assert_eq!(
        query(
            &mut c,
            "SELECT v, w FROM l JOIN r ON l.k + 1 = r.k ORDER BY v, w"
        ),
        ["a|q", "a|r", "b|q", "b|r", "e|t"]
    );
}

#[test]
fn cross_and_comma_joins() {
    let mut c = sample();
    assert_eq!(query(&mut c, "SELECT count(*) FROM l CROSS JOIN r"), ["25"]);
    assert_eq!(query(&mut c, "SELECT count(*) FROM l, r"), ["25"]);
    assert_eq!(query(&mut c, "SELECT count(*) FROM l, r, c"), ["75"]);
    assert_eq!(
        query(
            &mut c,
            "SELECT v, w FROM l, r WHERE l.k = r.k AND w <> 'p' AND v > 'a' ORDER BY v, w"
        ),
        ["c|q", "c|r"]
    );
}

#[test]
fn using_and_natural_merge_columns() {
    let mut c = sample();
    let result = c
        .execute_query("SELECT * FROM l JOIN r USING (k) ORDER BY v, w")
        .unwrap();
    // Hyper's order: the left's other columns, the merged ones, the right's.
    let names: Vec<_> = result.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["v", "k", "w"]);
    assert_eq!(
        crate::util::rows(&result),
        ["a|1|p", "b|1|p", "c|2|q", "c|2|r"]
    );
    assert_eq!(
        query(&mut c, "SELECT * FROM l NATURAL JOIN r ORDER BY v, w"),
        ["a|1|p", "b|1|p", "c|2|q", "c|2|r"]
    );
    // The merged column comes from the preserved side; the originals stay
    // reachable by qualified name.
    assert_eq!(
        query(
            &mut c,
            "SELECT k, l.k, r.k, v FROM l LEFT JOIN r USING (k) WHERE w IS NULL ORDER BY v"
        ),
        ["NULL|NULL|NULL|d", "3|3|NULL|e"]
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT k, w FROM l RIGHT JOIN r USING (k) WHERE v IS NULL ORDER BY w"
        ),
        ["NULL|s", "4|t"]
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT l.*, n FROM l JOIN r USING (k) JOIN c USING (w) ORDER BY v"
        ),
        ["1|a|10", "1|b|10", "2|c|20"]
    );
}

#[test]
fn aliases_self_joins_and_three_way_joins() {
    let mut c = sample();
    assert_eq!(
        query(
            &mut c,
            "SELECT a.v, b.v FROM l AS a JOIN l b ON a.k = b.k AND a.v < b.v"
        ),
        ["a|b"]
    );
    assert_eq!(
        query(&mut c, "SELECT count(*) FROM l a JOIN l b ON a.k = b.k"),
        ["6"]
    );
    let want = ["a|p|10", "b|p|10", "c|q|20"];
    assert_eq!(
        query(
            &mut c,
            "SELECT l.v, r.w, c.n FROM l JOIN r ON l.k = r.k JOIN c ON r.w = c.w ORDER BY 1, 2"
        ),
        want
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT x.v, y.w, z.n FROM c z, r y, l x WHERE x.k = y.k AND y.w = z.w ORDER BY 1, 2"
        ),
        want
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT l.v, c.n FROM l JOIN (r JOIN c ON r.w = c.w) ON l.k = r.k ORDER BY 1"
        ),
        ["a|10", "b|10", "c|20"]
    );
}

#[test]
fn joins_under_group_by_order_by_and_subqueries() {
    let mut c = sample();
    assert_eq!(
        query(
            &mut c,
            "SELECT l.k, count(*), count(w) FROM l LEFT JOIN r ON l.k = r.k GROUP BY l.k ORDER BY l.k"
        ),
        ["1|2|2", "2|2|2", "3|1|0", "NULL|1|0"]
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT w, sum(n) AS total FROM l JOIN r ON l.k = r.k JOIN c USING (w) \
             GROUP BY w ORDER BY total DESC, w"
        ),
        ["p|20", "q|20"]
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT s.v, r.w FROM (SELECT k, v FROM l WHERE v <> 'a') AS s JOIN r ON s.k = r.k \
             ORDER BY 1, 2"
        ),
        ["b|p", "c|q", "c|r"]
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT r.* FROM l JOIN r ON l.k = r.k WHERE l.v = 'a'"
        ),
        ["1|p"]
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT x.a, c.n FROM (VALUES ('p', 1)) AS x (a, b), c WHERE x.a = c.w"
        ),
        ["p|10"]
    );
}

#[test]
fn build_side_choice_keeps_the_answer() {
    // A small table joined to a larger one, in both orders: the engine may
    // build on either side, the columns stay in query order.
    let mut c = sample();
    run(&mut c, "CREATE TABLE big (k int, x int)");
    run(
        &mut c,
        "INSERT INTO big SELECT a.k, b.k FROM l a, l b WHERE a.k IS NOT NULL AND b.k IS NOT NULL",
    );
    let small_first = query(
        &mut c,
        "SELECT l.v, big.x FROM l JOIN big ON l.k = big.k ORDER BY 1, 2",
    );
    let big_first = query(
        &mut c,
        "SELECT l.v, big.x FROM big JOIN l ON l.k = big.k ORDER BY 1, 2",
    );
    assert_eq!(small_first, big_first);
    assert_eq!(small_first.len(), 2 * 2 * 4 + 4 + 4);
}

#[test]
fn name_errors_have_positions() {
    let mut c = sample();
    let cases: &[(&str, &str, &str, u64, u64)] = &[
        (
            "SELECT k FROM l JOIN r ON l.k = r.k",
            "42702",
            "column reference \"k\" is ambiguous",
            1,
            8,
        ),
        (
            "SELECT v FROM l JOIN r ON k = 1",
            "42702",
            "column reference \"k\" is ambiguous",
            1,
            27,
        ),
        (
            "SELECT x.k FROM l",
            "42P01",
            "missing FROM-clause entry for table \"x\"",
            1,
            8,
        ),
        (
            "SELECT x.* FROM l JOIN r ON true",
            "42P01",
            "missing FROM-clause entry for table \"x\"",
            1,
            8,
        ),
        (
            "SELECT l.k FROM l AS m",
            "42P01",
            "missing FROM-clause entry for table \"l\"",
            1,
            8,
        ),
        (
            "SELECT 1 FROM l, l",
            "42712",
            "table name \"l\" specified more than once",
            1,
            18,
        ),
        (
            "SELECT 1 FROM l JOIN r USING (zz)",
            "42703",
            "column \"zz\" specified in USING clause does not exist in left table",
            1,
            31,
        ),
        (
            "SELECT 1 FROM l JOIN r ON l.v",
            "42804",
            "JOIN ... ON requires BOOLEAN",
            1,
            27,
        ),
        (
            "SELECT 1 FROM l JOIN r ON l.v = r.k",
            "42804",
            "operator does not exist",
            1,
            27,
        ),
        (
            "SELECT 1 FROM l FULL JOIN r USING (k)",
            "0A000",
            "FULL JOIN with USING or NATURAL is not supported yet",
            1,
            27,
        ),
    ];
    for (sql, sqlstate, message, line, column) in cases {
        let e = sql_error(&mut c, sql);
        assert!(e.message.contains(message), "{sql}: {e}");
        assert_eq!(e.sqlstate, *sqlstate, "{sql}: {e}");
        let p = e.position.unwrap_or_else(|| panic!("{sql}: no position"));
        assert_eq!((p.line, p.column), (*line, *column), "{sql}: {e}");
    }
}
