//! Join tests: hand-computed answers per join type (NULL keys, duplicates,
//! empty sides, residual filters, Mark's three values), and a seeded
//! property test of the hash join against the nested-loop join.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use proptest::prelude::*;

use super::{Probe, hash};
use crate::error::Error;
use crate::expr::{BinaryOp, PhysicalExpr};
use crate::plan::{JoinType, PhysicalPlan, collect};
use crate::test_util::{col, ints, nullable_batch, proptest_config, scan_of, split, strs};

const ALL: [JoinType; 9] = [
    JoinType::Inner,
    JoinType::Left,
    JoinType::Right,
    JoinType::Full,
    JoinType::Semi,
    JoinType::Anti,
    JoinType::Mark,
    JoinType::RightSemi,
    JoinType::RightAnti,
];

fn binary(op: BinaryOp, l: PhysicalExpr, r: PhysicalExpr) -> PhysicalExpr {
    PhysicalExpr::Binary {
        op,
        left: Box::new(l),
        right: Box::new(r),
    }
}

/// Sorted rows as "a|b|..." with NULL shown as "NULL".
fn rendered(batches: &[RecordBatch]) -> Vec<String> {
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for b in batches {
        let formatters: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            let cells: Vec<String> = formatters.iter().map(|f| f.value(r).to_string()).collect();
            out.push(cells.join("|"));
        }
    }
    out.sort();
    out
}

fn kv(keys: &[Option<i64>], values: &[Option<&str>]) -> RecordBatch {
    nullable_batch([("k", ints(keys)), ("v", strs(values))]).unwrap()
}

fn hash_join(
    left: Vec<RecordBatch>,
    right: Vec<RecordBatch>,
    on: Vec<(usize, usize)>,
    filter: Option<PhysicalExpr>,
    join_type: JoinType,
) -> PhysicalPlan {
    PhysicalPlan::HashJoin {
        left: scan_of(left),
        right: scan_of(right),
        on: on.into_iter().map(|(l, r)| (col(l), col(r))).collect(),
        filter,
        join_type,
    }
}

/// The nested-loop twin: `l.k = r.k AND ... AND filter`, where the right
/// columns come after `left_width` left columns.
fn loop_join(
    left: Vec<RecordBatch>,
    right: Vec<RecordBatch>,
    on: Vec<(usize, usize)>,
    filter: Option<PhysicalExpr>,
    join_type: JoinType,
) -> PhysicalPlan {
    let left_width = left[0].num_columns();
    let condition = on
        .into_iter()
        .map(|(l, r)| binary(BinaryOp::Eq, col(l), col(left_width + r)))
        .chain(filter)
        .reduce(|a, b| binary(BinaryOp::And, a, b));
    PhysicalPlan::NestedLoopJoin {
        left: scan_of(left),
        right: scan_of(right),
        condition,
        join_type,
    }
}

fn left_table() -> RecordBatch {
    kv(
        &[Some(1), Some(1), Some(2), None, Some(3)],
        &[Some("a"), Some("b"), Some("c"), Some("d"), Some("e")],
    )
}

fn right_table() -> RecordBatch {
    kv(
        &[Some(1), Some(2), Some(2), None, Some(4)],
        &[Some("p"), Some("q"), Some("r"), Some("s"), Some("t")],
    )
}

fn expected(join_type: JoinType) -> Vec<&'static str> {
    let mut rows = match join_type {
        JoinType::Inner => vec!["1|a|1|p", "1|b|1|p", "2|c|2|q", "2|c|2|r"],
        JoinType::Left => vec![
            "1|a|1|p",
            "1|b|1|p",
            "2|c|2|q",
            "2|c|2|r",
            "NULL|d|NULL|NULL",
            "3|e|NULL|NULL",
        ],
        JoinType::Right => vec![
            "1|a|1|p",
            "1|b|1|p",
            "2|c|2|q",
            "2|c|2|r",
            "NULL|NULL|NULL|s",
            "NULL|NULL|4|t",
        ],
        JoinType::Full => vec![
            "1|a|1|p",
            "1|b|1|p",
            "2|c|2|q",
            "2|c|2|r",
            "NULL|d|NULL|NULL",
            "3|e|NULL|NULL",
            "NULL|NULL|NULL|s",
            "NULL|NULL|4|t",
        ],
        JoinType::Semi => vec!["1|a", "1|b", "2|c"],
        JoinType::Anti => vec!["NULL|d", "3|e"],
        JoinType::RightSemi => vec!["1|p", "2|q", "2|r"],
        JoinType::RightAnti => vec!["NULL|s", "4|t"],
        // The right side has a NULL key: no match means NULL, never FALSE.
        _ => vec![
            "1|a|true",
            "1|b|true",
            "2|c|true",
            "NULL|d|NULL",
            "3|e|NULL",
        ],
    };
    rows.sort_unstable();
    rows
}

#[test]
fn every_join_type_with_null_keys_and_duplicates() {
    for join_type in ALL {
        for plan in [hash_join, loop_join] {
            let (l, r) = (left_table(), right_table());
            // Batches split so that duplicates straddle batch boundaries.
            let plan = plan(
                split(&l, &[1, 3]),
                split(&r, &[2]),
                vec![(0, 0)],
                None,
                join_type,
            );
            let got = rendered(&collect(&plan).unwrap());
            assert_eq!(got, expected(join_type), "{join_type:?}: {plan:?}");
        }
    }
}

#[test]
fn output_schemas_adjust_nullability() {
    let l = nullable_batch([("k", ints(&[Some(1)]))]).unwrap();
    let l = RecordBatch::try_new(
        Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("k", DataType::Int64, false),
        ])),
        l.columns().to_vec(),
    )
    .unwrap();
    let nullable = |jt| {
        let plan = hash_join(vec![l.clone()], vec![l.clone()], vec![(0, 0)], None, jt);
        let s = plan.schema().unwrap();
        s.fields()
            .iter()
            .map(|f| f.is_nullable())
            .collect::<Vec<_>>()
    };
    assert_eq!(nullable(JoinType::Inner), [false, false]);
    assert_eq!(nullable(JoinType::Left), [false, true]);
    assert_eq!(nullable(JoinType::Right), [true, false]);
    assert_eq!(nullable(JoinType::Full), [true, true]);
    assert_eq!(nullable(JoinType::Semi), [false]);
    assert_eq!(nullable(JoinType::Mark), [false, true]);
    let plan = hash_join(vec![l.clone()], vec![l], vec![(0, 0)], None, JoinType::Mark);
    assert_eq!(plan.schema().unwrap().field(1).name(), "mark");
}

#[test]
fn empty_sides() {
    let empty = kv(&[], &[]);
    for join_type in ALL {
        for plan in [hash_join, loop_join] {
            let p = plan(
                vec![left_table()],
                vec![empty.clone()],
                vec![(0, 0)],
                None,
                join_type,
            );
            let got = rendered(&collect(&p).unwrap());
            let want: Vec<String> = match join_type {
                JoinType::Left | JoinType::Full => rendered(&[left_table()])
                    .into_iter()
                    .map(|r| format!("{r}|NULL|NULL"))
                    .collect(),
                JoinType::Anti => rendered(&[left_table()]),
                // x IN (empty set) is FALSE, also for a NULL x.
                JoinType::Mark => rendered(&[left_table()])
                    .into_iter()
                    .map(|r| format!("{r}|false"))
                    .collect(),
                _ => vec![],
            };
            assert_eq!(got, want, "{join_type:?} with an empty right side");
            let p = plan(
                vec![empty.clone()],
                vec![right_table()],
                vec![(0, 0)],
                None,
                join_type,
            );
            let got = rendered(&collect(&p).unwrap());
            let want: Vec<String> = match join_type {
                JoinType::Right | JoinType::Full => rendered(&[right_table()])
                    .into_iter()
                    .map(|r| format!("NULL|NULL|{r}"))
                    .collect(),
                JoinType::RightAnti => rendered(&[right_table()]),
                _ => vec![],
            };
            assert_eq!(got, want, "{join_type:?} with an empty left side");
        }
    }
}

#[test]
fn residual_filter_decides_matches() {
    // ON l.k = r.k AND l.v < r.v, with v of the right side "b" for key 1.
    let l = kv(
        &[Some(1), Some(1), Some(2)],
        &[Some("a"), Some("c"), Some("x")],
    );
    let r = kv(&[Some(1), Some(2)], &[Some("b"), None]);
    let filter = binary(BinaryOp::Lt, col(1), col(3));
    let run = |jt| {
        let p = hash_join(
            vec![l.clone()],
            vec![r.clone()],
            vec![(0, 0)],
            Some(filter.clone()),
            jt,
        );
        rendered(&collect(&p).unwrap())
    };
    assert_eq!(run(JoinType::Inner), ["1|a|1|b"]);
    assert_eq!(
        run(JoinType::Left),
        ["1|a|1|b", "1|c|NULL|NULL", "2|x|NULL|NULL"]
    );
    assert_eq!(run(JoinType::Right), ["1|a|1|b", "NULL|NULL|2|NULL"]);
    assert_eq!(run(JoinType::Semi), ["1|a"]);
    assert_eq!(run(JoinType::Anti), ["1|c", "2|x"]);
    assert_eq!(run(JoinType::RightSemi), ["1|b"]);
    assert_eq!(run(JoinType::RightAnti), ["2|NULL"]);
    // A pair whose filter is NULL is not in the set `x` is tested against.
    assert_eq!(run(JoinType::Mark), ["1|a|true", "1|c|false", "2|x|false"]);
}

#[test]
fn mark_is_three_valued() {
    // x IN (1, 2): TRUE, FALSE, and NULL for a NULL x.
    let l = kv(&[Some(1), Some(3), None], &[None, None, None]);
    let r = kv(&[Some(1), Some(2)], &[None, None]);
    let run = |r: &RecordBatch| {
        let p = hash_join(
            vec![l.clone()],
            vec![r.clone()],
            vec![(0, 0)],
            None,
            JoinType::Mark,
        );
        let out = collect(&p).unwrap();
        out.iter()
            .flat_map(|b| b.column(2).as_boolean().iter().collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(&r), [Some(true), Some(false), None]);
    // x IN (1, NULL): no match is NULL.
    let r = kv(&[Some(1), None], &[None, None]);
    assert_eq!(run(&r), [Some(true), None, None]);
}

#[test]
fn mark_with_two_keys_is_null_only_when_no_column_differs() {
    // (k, v) IN {(1, 'a'), (NULL, 'b')}
    let l = kv(
        &[Some(1), Some(2), Some(2), None, Some(1)],
        &[Some("a"), Some("b"), Some("c"), Some("z"), None],
    );
    let r = kv(&[Some(1), None], &[Some("a"), Some("b")]);
    let p = hash_join(
        vec![l.clone()],
        vec![r.clone()],
        vec![(0, 0), (1, 1)],
        None,
        JoinType::Mark,
    );
    let got = rendered(&collect(&p).unwrap());
    let mut want = vec![
        "1|a|true",
        "2|b|NULL",
        "2|c|false",
        "NULL|z|false",
        "1|NULL|NULL",
    ];
    want.sort_unstable();
    assert_eq!(got, want);
    let p = loop_join(vec![l], vec![r], vec![(0, 0), (1, 1)], None, JoinType::Mark);
    assert_eq!(rendered(&collect(&p).unwrap()), want);
}

#[test]
fn cross_join_and_non_equi_condition() {
    let l = kv(&[Some(1), Some(2)], &[Some("a"), Some("b")]);
    let r = kv(&[Some(1), Some(2), Some(3)], &[None, None, None]);
    let plan = PhysicalPlan::NestedLoopJoin {
        left: scan_of(vec![l.clone()]),
        right: scan_of(vec![r.clone()]),
        condition: None,
        join_type: JoinType::Inner,
    };
    assert_eq!(rendered(&collect(&plan).unwrap()).len(), 6);
    let plan = PhysicalPlan::NestedLoopJoin {
        left: scan_of(vec![l]),
        right: scan_of(vec![r]),
        condition: Some(binary(BinaryOp::Lt, col(0), col(2))),
        join_type: JoinType::Left,
    };
    assert_eq!(
        rendered(&collect(&plan).unwrap()),
        ["1|a|2|NULL", "1|a|3|NULL", "2|b|3|NULL"]
    );
}

#[test]
fn ill_typed_joins_are_internal() {
    let l = kv(&[Some(1)], &[Some("a")]);
    let bad_keys = hash_join(
        vec![l.clone()],
        vec![l.clone()],
        vec![(0, 1)],
        None,
        JoinType::Inner,
    );
    assert!(matches!(bad_keys.execute(), Err(Error::Internal { .. })));
    let no_keys = hash_join(
        vec![l.clone()],
        vec![l.clone()],
        vec![],
        None,
        JoinType::Inner,
    );
    assert!(matches!(no_keys.schema(), Err(Error::Internal { .. })));
    let bad_filter = hash_join(
        vec![l.clone()],
        vec![l.clone()],
        vec![(0, 0)],
        Some(col(0)),
        JoinType::Inner,
    );
    assert!(matches!(bad_filter.execute(), Err(Error::Internal { .. })));
    let bad_condition = PhysicalPlan::NestedLoopJoin {
        left: scan_of(vec![l.clone()]),
        right: scan_of(vec![l]),
        condition: Some(col(7)),
        join_type: JoinType::Inner,
    };
    assert!(matches!(
        bad_condition.schema(),
        Err(Error::Internal { .. })
    ));
}

/// One random table: key columns (int, text) with NULLs, a non-NULL value.
fn table_strategy() -> impl Strategy<Value = Vec<(Option<i64>, Option<String>, i64)>> {
    prop::collection::vec(
        (
            prop::option::weighted(0.8, 0i64..4),
            prop::option::weighted(0.8, "[ab]"),
            0i64..10,
        ),
        0..24,
    )
}

fn table(rows: &[(Option<i64>, Option<String>, i64)]) -> RecordBatch {
    let k: Vec<_> = rows.iter().map(|r| r.0).collect();
    let s: Vec<_> = rows.iter().map(|r| r.1.as_deref()).collect();
    let v: Vec<_> = rows.iter().map(|r| Some(r.2)).collect();
    nullable_batch([
        ("k", ints(&k)),
        ("s", strs(&s)),
        ("v", ints(&v) as ArrayRef),
    ])
    .unwrap()
}

proptest! {
    #![proptest_config(proptest_config())]

    /// STYLE 5: the hash join against the nested-loop join with the same
    /// condition, for every join type. The filter never yields NULL (values
    /// are not NULL), where Mark's two definitions could differ.
    #[test]
    fn hash_join_matches_nested_loop_join(
        left in table_strategy(),
        right in table_strategy(),
        left_cuts in prop::collection::vec(0usize..32, 0..4),
        right_cuts in prop::collection::vec(0usize..32, 0..4),
        two_keys in any::<bool>(),
        with_filter in any::<bool>(),
        join_type in prop::sample::select(ALL.to_vec()),
    ) {
        let (l, r) = (table(&left), table(&right));
        let on = if two_keys { vec![(0, 0), (1, 1)] } else { vec![(0, 0)] };
        let filter = with_filter.then(|| binary(BinaryOp::LtEq, col(2), col(5)));
        let hash = hash_join(split(&l, &left_cuts), split(&r, &right_cuts), on.clone(), filter.clone(), join_type);
        let looped = loop_join(split(&l, &left_cuts), split(&r, &right_cuts), on, filter, join_type);
        prop_assert_eq!(rendered(&collect(&hash).unwrap()), rendered(&collect(&looped).unwrap()));
    }
}

/// Keys for the pre-filter's tests: a small span (bitmap) or a wide one
/// (bloom filter) from a random base, negative values and NULLs; left keys
/// are partly copies of right keys, so rows both hit and miss.
fn wide_keys() -> impl Strategy<Value = (Vec<Option<i64>>, Vec<Option<i64>>)> {
    let base = prop_oneof![
        Just(0i64),
        -(1i64 << 40)..(1i64 << 40),
        Just(i64::MIN),
        Just(i64::MAX - 50)
    ];
    let spread = prop_oneof![Just(50i64), Just(1i64 << 30), Just(i64::MAX)];
    (base, spread).prop_flat_map(|(base, spread)| {
        let key =
            prop::option::weighted(0.85, (0..=spread).prop_map(move |d| base.wrapping_add(d)));
        let right = prop::collection::vec(key.clone(), 0..40);
        let left =
            prop::collection::vec((key, any::<prop::sample::Index>(), any::<bool>()), 0..120);
        (right, left).prop_map(|(right, left)| {
            let left = left
                .into_iter()
                .map(|(k, at, copy)| match copy && !right.is_empty() {
                    true => right[at.index(right.len())],
                    false => k,
                })
                .collect();
            (left, right)
        })
    })
}

/// A table of keys (Int32 when `narrow`, wrapping) and a value per row.
fn keyed(keys: &[Option<i64>], narrow: bool) -> RecordBatch {
    let k: ArrayRef = if narrow {
        let v: Vec<Option<i32>> = keys.iter().map(|k| k.map(|k| k as i32)).collect();
        Arc::new(arrow::array::Int32Array::from(v))
    } else {
        ints(keys)
    };
    let v: Vec<Option<i64>> = (0..keys.len() as i64).map(|i| Some(i % 5)).collect();
    nullable_batch([("k", k), ("v", ints(&v))]).unwrap()
}

/// A hash probe's pairs of `left` against `right`, without the FALSE ones
/// (which a probe may leave out), sorted.
fn probe_pairs(
    left: &RecordBatch,
    right: &RecordBatch,
    filter: Option<PhysicalExpr>,
    join_type: JoinType,
    prefilter: bool,
) -> Vec<(u32, u32, Option<bool>)> {
    let on = vec![(col(0), col(0))];
    let types = hash::check(&left.schema(), &right.schema(), &on, filter.as_ref()).unwrap();
    let mut probe = hash::HashProbe::try_new(&on, filter, join_type, &types).unwrap();
    if !prefilter {
        probe.disable_prefilter();
    }
    probe.prepare(right).unwrap();
    let pairs = probe.pairs(left, right).unwrap();
    let mut out: Vec<_> = (0..pairs.left.len())
        .map(|p| (pairs.left[p], pairs.right[p], pairs.verdict[p]))
        .filter(|p| p.2 != Some(false))
        .collect();
    out.sort();
    out
}

proptest! {
    #![proptest_config(proptest_config())]

    /// The probe with its pre-filter (bitmap or bloom) gives the pairs the
    /// probe without one gives, and the hash join (with it) the rows of
    /// the nested-loop join, over wide, negative and NULL keys.
    #[test]
    fn prefiltered_join_matches_unfiltered_and_nested_loop(
        (left, right) in wide_keys(),
        narrow in any::<bool>(),
        with_filter in any::<bool>(),
        left_cuts in prop::collection::vec(0usize..128, 0..3),
        join_type in prop::sample::select(ALL.to_vec()),
    ) {
        let (l, r) = (keyed(&left, narrow), keyed(&right, narrow));
        let filter = with_filter.then(|| binary(BinaryOp::LtEq, col(1), col(3)));
        prop_assert_eq!(
            probe_pairs(&l, &r, filter.clone(), join_type, true),
            probe_pairs(&l, &r, filter.clone(), join_type, false)
        );
        let on = vec![(0, 0)];
        let hash = hash_join(split(&l, &left_cuts), vec![r.clone()], on.clone(), filter.clone(), join_type);
        let looped = loop_join(split(&l, &left_cuts), vec![r], on, filter, join_type);
        prop_assert_eq!(rendered(&collect(&hash).unwrap()), rendered(&collect(&looped).unwrap()));
    }
}
