//! SELECT, INSERT, CREATE/DROP and transactions through the whole stack.

use hyperctl_sql::SqlType;

use crate::util::{conn, query, run};

fn sample() -> hyperctl_sql::Connection {
    let mut c = conn();
    run(
        &mut c,
        "CREATE TABLE t (a int NOT NULL, b text, c numeric(10,2), d date)",
    );
    run(
        &mut c,
        "INSERT INTO t VALUES (1, 'x', 1.50, '2024-01-02'), (2, 'y', NULL, '2023-12-31'), \
         (3, NULL, 2.25, NULL), (4, 'x', 10, '2024-02-29')",
    );
    c
}

#[test]
fn insert_returns_counts_and_ddl_returns_none() {
    let mut c = conn();
    assert_eq!(c.execute_command("CREATE TABLE t (a int)").unwrap(), None);
    assert_eq!(
        c.execute_command("INSERT INTO t VALUES (1), (2), (3)")
            .unwrap(),
        Some(3)
    );
    assert_eq!(
        c.execute_command("INSERT INTO t SELECT a + 10 FROM t WHERE a > 1")
            .unwrap(),
        Some(2)
    );
    assert_eq!(
        query(&mut c, "SELECT a FROM t ORDER BY a"),
        ["1", "2", "3", "12", "13"]
    );
    assert_eq!(c.execute_command("DROP TABLE t").unwrap(), None);
    assert!(c.execute_query("SELECT * FROM t").is_err());
    c.execute_command("DROP TABLE IF EXISTS t").unwrap();
}

#[test]
fn where_with_null_semantics() {
    let mut c = sample();
    assert_eq!(
        query(&mut c, "SELECT a FROM t WHERE b = 'x' ORDER BY a"),
        ["1", "4"]
    );
    assert_eq!(
        query(&mut c, "SELECT a FROM t WHERE b <> 'x' ORDER BY a"),
        ["2"]
    );
    assert_eq!(query(&mut c, "SELECT a FROM t WHERE b IS NULL"), ["3"]);
    assert_eq!(
        query(&mut c, "SELECT a FROM t WHERE NOT (c > 2) ORDER BY a"),
        ["1"]
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT a FROM t WHERE c > 2 OR b IS NULL ORDER BY a"
        ),
        ["3", "4"]
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT a FROM t WHERE d >= '2024-01-01' AND d < DATE '2024-02-01'"
        ),
        ["1"]
    );
}

#[test]
fn arithmetic_and_casts() {
    let mut c = conn();
    assert_eq!(
        query(&mut c, "SELECT 7/2, -7/2, -7%3, 2+3*4"),
        ["3|-3|-1|14"]
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT 1.5 + 1, CAST('12' AS int) + 1, '2024-03-01'::date"
        ),
        ["2.5|13|2024-03-01"]
    );
    assert_eq!(query(&mut c, "SELECT 1::double precision / 0"), ["inf"]);
    let r = c.execute_query("SELECT 10000000000, 1e3").unwrap();
    assert_eq!(r.columns[0].ty, SqlType::BigInt);
    assert_eq!(r.columns[1].ty, SqlType::Double);
    assert!(
        c.execute_query("SELECT 2147483647::int + 1")
            .unwrap_err()
            .to_string()
            .contains("overflow")
    );
    assert!(
        c.execute_query("SELECT 1/0")
            .unwrap_err()
            .to_string()
            .contains("division by zero")
    );
}

#[test]
fn group_by_having_order_limit() {
    let mut c = sample();
    assert_eq!(
        query(
            &mut c,
            "SELECT b, count(*), count(c), sum(c), min(a), max(d), avg(a) FROM t GROUP BY b ORDER BY b"
        ),
        [
            "x|2|2|11.50|1|2024-02-29|2.500000",
            "y|1|0|NULL|2|2023-12-31|2.000000",
            "NULL|1|1|2.25|3|NULL|3.000000"
        ]
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT b, count(*) AS n FROM t GROUP BY b HAVING count(*) > 1"
        ),
        ["x|2"]
    );
    assert_eq!(
        query(&mut c, "SELECT count(*), sum(a) FROM t WHERE a > 100"),
        ["0|NULL"]
    );
    assert_eq!(
        query(&mut c, "SELECT a FROM t ORDER BY a DESC LIMIT 2"),
        ["4", "3"]
    );
    assert_eq!(
        query(&mut c, "SELECT a FROM t ORDER BY a LIMIT 2 OFFSET 1"),
        ["2", "3"]
    );
    assert_eq!(
        query(&mut c, "SELECT a, b FROM t ORDER BY b DESC, a"),
        ["3|NULL", "2|y", "1|x", "4|x"]
    );
    assert_eq!(
        query(&mut c, "SELECT a FROM t ORDER BY c NULLS FIRST, a"),
        ["2", "1", "3", "4"]
    );
    assert_eq!(
        query(
            &mut c,
            "SELECT b AS k, sum(a) FROM t GROUP BY k ORDER BY 2 DESC"
        ),
        ["x|5", "NULL|3", "y|2"]
    );
    assert_eq!(
        query(&mut c, "SELECT a * 2 AS dbl FROM t ORDER BY -a LIMIT 1"),
        ["8"]
    );
    assert_eq!(
        query(&mut c, "SELECT DISTINCT b FROM t ORDER BY b"),
        ["x", "y", "NULL"]
    );
    assert_eq!(
        query(&mut c, "SELECT sum(a) + 1, count(*) * 2 FROM t"),
        ["11|8"]
    );
}

#[test]
fn names_follow_hyper() {
    let mut c = sample();
    let r = c
        .execute_query("SELECT a, a + 1, sum(a) AS total, count(*) FROM t GROUP BY a")
        .unwrap();
    let names: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "2", "total", "count"]);
    run(&mut c, r#"CREATE TABLE "Mixed" ("MixedCase" int)"#);
    run(&mut c, r#"INSERT INTO "Mixed" VALUES (5)"#);
    assert_eq!(query(&mut c, r#"SELECT "MixedCase" FROM "Mixed""#), ["5"]);
}

#[test]
fn insert_converts_to_column_types() {
    let mut c = conn();
    run(
        &mut c,
        "CREATE TABLE t (v varchar(3), n numeric(6,2), b bigint, ok bool, ts timestamp)",
    );
    run(
        &mut c,
        "INSERT INTO t VALUES ('abcdef', 1.5, 7, 'yes', '2024-01-02 03:04:05')",
    );
    run(&mut c, "INSERT INTO t (b) VALUES (2147483648)");
    assert_eq!(
        query(&mut c, "SELECT * FROM t ORDER BY b"),
        [
            "abc|1.50|7|true|2024-01-02T03:04:05",
            "NULL|NULL|2147483648|NULL|NULL"
        ]
    );
    run(&mut c, "CREATE TABLE nn (a int NOT NULL)");
    let e = c
        .execute_command("INSERT INTO nn VALUES (NULL)")
        .unwrap_err();
    assert!(e.to_string().contains("non-NULL value required"), "{e}");
    assert_eq!(query(&mut c, "SELECT count(*) FROM nn"), ["0"]);
}

#[test]
fn create_table_as_and_values() {
    let mut c = sample();
    assert_eq!(
        c.execute_command("CREATE TABLE u AS SELECT b, sum(a) AS s FROM t GROUP BY b")
            .unwrap(),
        None
    );
    assert_eq!(
        query(&mut c, "SELECT * FROM u ORDER BY s"),
        ["y|2", "NULL|3", "x|5"]
    );
    assert_eq!(
        query(&mut c, "VALUES (1, 'a'), (2, 'b') ORDER BY 1 DESC"),
        ["2|b", "1|a"]
    );
    assert_eq!(
        query(&mut c, "SELECT * FROM (VALUES (1), (NULL)) AS v ORDER BY 1").len(),
        2
    );
}

#[test]
fn transactions_commit_and_roll_back() {
    let mut c = conn();
    run(&mut c, "CREATE TABLE t (a int)");
    run(&mut c, "BEGIN");
    run(&mut c, "INSERT INTO t VALUES (1)");
    assert_eq!(
        query(&mut c, "SELECT count(*) FROM t"),
        ["1"],
        "a transaction sees its own rows"
    );
    run(&mut c, "ROLLBACK");
    assert_eq!(query(&mut c, "SELECT count(*) FROM t"), ["0"]);
    run(&mut c, "BEGIN");
    run(&mut c, "INSERT INTO t VALUES (2)");
    assert!(c.execute_command("INSERT INTO t VALUES ('x')").is_err());
    let aborted = c.execute_command("SELECT 1").unwrap_err().to_string();
    assert!(
        aborted.contains("current transaction is aborted"),
        "{aborted}"
    );
    run(&mut c, "COMMIT");
    assert_eq!(
        query(&mut c, "SELECT count(*) FROM t"),
        ["0"],
        "COMMIT of a failed transaction rolls back"
    );
    run(&mut c, "START TRANSACTION");
    run(&mut c, "INSERT INTO t VALUES (3)");
    run(&mut c, "COMMIT");
    assert_eq!(query(&mut c, "SELECT a FROM t"), ["3"]);
}

#[test]
fn explain_shows_the_plan_and_analyze_adds_rows_per_operator() {
    let mut c = sample();
    let lines = query(
        &mut c,
        "EXPLAIN SELECT b, count(*) FROM t WHERE a > 1 GROUP BY b",
    );
    assert!(
        lines.iter().any(|l| l
            .trim_start()
            .starts_with("HashAggregate group by [b] aggregates [count(*) AS count]")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.trim_start().starts_with("Filter (a > 1)")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.trim_start().starts_with("Scan public.t")),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains("rows=")), "{lines:?}");
    for sql in [
        "EXPLAIN ANALYZE SELECT b, count(*) FROM t WHERE a > 1 GROUP BY b",
        "EXPLAIN (ANALYZE) SELECT b, count(*) FROM t WHERE a > 1 GROUP BY b",
    ] {
        let lines = query(&mut c, sql);
        // 3 of the 4 rows pass the filter, in 3 groups (y, NULL, x).
        let filter = lines.iter().find(|l| l.contains("Filter")).unwrap();
        assert!(filter.contains("rows=3 "), "{lines:?}");
        let aggregate = lines.iter().find(|l| l.contains("HashAggregate")).unwrap();
        assert!(aggregate.contains("rows=3 "), "{lines:?}");
        assert!(
            lines.last().unwrap().starts_with("total: 3 rows"),
            "{lines:?}"
        );
    }
    let err = c
        .execute_command("EXPLAIN INSERT INTO t VALUES (5, 'z', 1, NULL)")
        .unwrap_err();
    assert!(err.to_string().contains("not supported"), "{err}");
}

#[test]
fn scans_read_only_the_columns_the_query_uses() {
    let mut c = sample();
    let lines = query(&mut c, "EXPLAIN SELECT b FROM t WHERE a > 1 ORDER BY b");
    let scan = lines.iter().find(|l| l.contains("Scan public.t")).unwrap();
    assert!(scan.ends_with("[a, b]"), "{lines:?}");
    let lines = query(&mut c, "EXPLAIN SELECT count(*) FROM t");
    let scan = lines.iter().find(|l| l.contains("Scan public.t")).unwrap();
    assert!(scan.ends_with("[a]"), "{lines:?}");
    assert_eq!(
        query(&mut c, "SELECT b FROM t WHERE a > 1 ORDER BY b NULLS FIRST"),
        ["NULL", "x", "y"]
    );
}

/// The indent (depth) of the first line of a plan that contains `op`.
fn depth_of(lines: &[String], op: &str) -> usize {
    let line = lines
        .iter()
        .find(|l| l.contains(op))
        .unwrap_or_else(|| panic!("no {op} in {lines:?}"));
    line.len() - line.trim_start().len()
}

#[test]
fn in_subquery_on_one_table_of_a_join_filters_that_table_first() {
    let mut c = conn();
    run(&mut c, "CREATE TABLE big (k INT, g INT)");
    run(&mut c, "CREATE TABLE small (k INT, name TEXT)");
    let big: Vec<String> = (1..=2000).map(|i| format!("({}, {i})", i % 50)).collect();
    run(
        &mut c,
        &format!("INSERT INTO big VALUES {}", big.join(", ")),
    );
    // `small` is larger than the subquery's estimate (a third of `big`), so
    // the semi join pays below the inner join; keys from 50 join nothing.
    let small: Vec<String> = (0..1000).map(|i| format!("({i}, 'n{i}')")).collect();
    run(
        &mut c,
        &format!("INSERT INTO small VALUES {}", small.join(", ")),
    );
    let q = "SELECT name, count(*) FROM big JOIN small ON big.k = small.k \
             WHERE small.k IN (SELECT k FROM big WHERE g > 1990) GROUP BY name ORDER BY name";
    let lines = query(&mut c, &format!("EXPLAIN {q}"));
    // The semi join (either side built) sits below the inner join.
    assert!(
        depth_of(&lines, "Semi on [k = k]") > depth_of(&lines, "HashJoin Inner"),
        "{lines:?}"
    );
    // g > 1990: keys 41..49 and 0, 40 rows each.
    let mut want: Vec<String> = (41..50).map(|k| format!("n{k},40")).collect();
    want.insert(0, "n0,40".into());
    want.sort();
    let got: Vec<String> = query(&mut c, q)
        .iter()
        .map(|l| l.replace('|', ","))
        .collect();
    assert_eq!(got, want);
    // NOT IN / NOT EXISTS keep their meaning there too.
    let q = "SELECT count(*) FROM big JOIN small ON big.k = small.k \
             WHERE NOT EXISTS (SELECT 1 FROM big b2 WHERE b2.k = small.k AND b2.g > 1990)";
    assert_eq!(query(&mut c, q), ["1600"]);
}

#[test]
fn a_correlated_aggregate_is_computed_only_for_the_outer_keys() {
    let mut c = conn();
    run(&mut c, "CREATE TABLE item (k INT, q INT)");
    run(&mut c, "CREATE TABLE part (k INT, brand TEXT)");
    let items: Vec<String> = (0..3000)
        .map(|i| format!("({}, {})", i % 300, i % 7))
        .collect();
    run(
        &mut c,
        &format!("INSERT INTO item VALUES {}", items.join(", ")),
    );
    let parts: Vec<String> = (0..300)
        .map(|i| format!("({i}, '{}')", if i % 100 == 3 { "B" } else { "A" }))
        .collect();
    run(
        &mut c,
        &format!("INSERT INTO part VALUES {}", parts.join(", ")),
    );
    // TPC-H Q17's shape: avg per part, needed only for brand B's 3 parts.
    let q = "SELECT count(*), sum(q) FROM item, part WHERE part.k = item.k AND brand = 'B' \
             AND q < (SELECT avg(q) FROM item i2 WHERE i2.k = part.k)";
    let lines = query(&mut c, &format!("EXPLAIN ANALYZE {q}"));
    let aggregate = lines
        .iter()
        .find(|l| l.contains("HashAggregate group by [k]"))
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert!(aggregate.contains("rows=3 "), "{lines:?}");
    // Parts 3, 103, 203: the items i with i % 300 one of them, q = i % 7,
    // kept when q is below the average q of the item's part.
    let want = {
        let rows: Vec<i64> = (0..3000)
            .filter(|i| i % 300 % 100 == 3)
            .map(|i| i64::from(i % 7))
            .collect();
        let avg = |k: i32| {
            let v: Vec<i64> = (0..3000)
                .filter(|i| i % 300 == k)
                .map(|i| i64::from(i % 7))
                .collect();
            v.iter().sum::<i64>() as f64 / v.len() as f64
        };
        let kept: Vec<i64> = (0..3000)
            .filter(|i| i % 300 % 100 == 3 && f64::from(i % 7) < avg(i % 300))
            .map(|i| i64::from(i % 7))
            .collect();
        assert!(kept.len() < rows.len());
        format!("{}|{}", kept.len(), kept.iter().sum::<i64>())
    };
    assert_eq!(query(&mut c, q), [want]);
}

#[test]
fn a_filter_is_measured_on_a_sample_to_choose_the_join_build_side() {
    let mut c = conn();
    run(&mut c, "CREATE TABLE fact (k INT, tag TEXT)");
    run(&mut c, "CREATE TABLE dim (id INT)");
    // 1% of the facts are 'rare', 99% 'common'; a guess from the form of
    // `tag = '...'` (one in ten) is far off for both.
    let facts: Vec<String> = (0..20_000)
        .map(|i| {
            let tag = if i % 100 == 7 { "rare" } else { "common" };
            format!("({}, '{tag}')", i % 2000)
        })
        .collect();
    run(
        &mut c,
        &format!("INSERT INTO fact VALUES {}", facts.join(", ")),
    );
    let dims: Vec<String> = (0..1500).map(|i| format!("({i})")).collect();
    run(
        &mut c,
        &format!("INSERT INTO dim VALUES {}", dims.join(", ")),
    );
    for (tag, filtered_is_built) in [("rare", true), ("common", false)] {
        let q =
            format!("SELECT count(*) FROM fact JOIN dim ON fact.k = dim.id WHERE tag = '{tag}'");
        let lines = query(&mut c, &format!("EXPLAIN {q}"));
        // The hash join's inputs print probe first, then build.
        let at = |needle: &str| {
            lines
                .iter()
                .position(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("no {needle} in {lines:?}"))
        };
        assert!(
            lines[at("HashJoin")].contains("(build: right)"),
            "{lines:?}"
        );
        let built = at("Filter") > at("Scan public.dim");
        assert_eq!(built, filtered_is_built, "{tag}: {lines:?}");
        let want = (0..20_000)
            .filter(|i| (i % 100 == 7) == (tag == "rare") && i % 2000 < 1500)
            .count();
        assert_eq!(query(&mut c, &q), [want.to_string()]);
    }
}
