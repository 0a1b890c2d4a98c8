//! The parallel engine against the pull-based one (`PhysicalPlan::execute`)
//! on seeded random tables: every plan shape, threads 1/2/N, morsels of
//! 1/7/1024/65536 rows, every SIMD tier, with and without forced hash
//! collisions; the answers must be equal row for row, in order. Plus the
//! memory limit, failing sources, and the default `scan_partitions`.

use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use proptest::prelude::*;

use crate::aggregate::{AggregateExpr, AggregateFunction};
use crate::error::{Error, Result};
use crate::expr::{BinaryOp, PhysicalExpr};
use crate::kernels::{Tier, available};
use crate::options::ExecOptions;
use crate::plan::{JoinType, PhysicalPlan, SortKey, collect_with};
use crate::source::{BatchStream, MemorySource, ScanSource};
use crate::test_util::{col, ints, nullable_batch, proptest_config, split, strs};

/// N: more workers than the machine may have cores, to interleave.
const THREADS: [usize; 3] = [1, 2, 5];
const MORSELS: [usize; 4] = [1, 7, 1024, 65536];

/// Every thread count and morsel size, cycling through the SIMD tiers and
/// forced hash collisions.
fn configs() -> Vec<ExecOptions> {
    let tiers = available();
    let mut out = Vec::new();
    for (i, (t, m)) in THREADS
        .iter()
        .flat_map(|t| MORSELS.iter().map(move |m| (*t, *m)))
        .enumerate()
    {
        let mut o = ExecOptions::builder().threads(t).morsel_rows(m).build();
        o.tier = Some(tiers[i % tiers.len()]);
        o.force_hash_collisions = i % 3 == 1;
        out.push(o);
    }
    out
}

/// Rows as text, in order.
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
    out
}

fn serial(plan: &PhysicalPlan) -> Result<Vec<String>> {
    Ok(rendered(&plan.execute()?.collect::<Result<Vec<_>>>()?))
}

/// The plan gives the pull-based engine's rows, in order, on every config.
fn same_everywhere(plan: &PhysicalPlan) {
    let want = serial(plan).unwrap();
    for o in configs() {
        let got = collect_with(plan, &o).map(|b| rendered(&b));
        assert_eq!(got.as_ref().ok(), Some(&want), "{o:?}: {got:?}");
    }
}

/// Table t(k, v, f, d, s): small keys with NULLs, values, floats with
/// -0.0 and NaN, dates, strings.
type Row = (
    Option<i64>,
    Option<i64>,
    Option<f64>,
    Option<i32>,
    Option<String>,
);

fn table(rows: &[Row], cuts: &[usize]) -> Arc<dyn ScanSource> {
    let k: Vec<_> = rows.iter().map(|r| r.0).collect();
    let v: Vec<_> = rows.iter().map(|r| r.1).collect();
    let f: ArrayRef = Arc::new(Float64Array::from(
        rows.iter().map(|r| r.2).collect::<Vec<_>>(),
    ));
    let d: ArrayRef = Arc::new(Date32Array::from(
        rows.iter().map(|r| r.3).collect::<Vec<_>>(),
    ));
    let s: Vec<_> = rows.iter().map(|r| r.4.as_deref()).collect();
    let b = nullable_batch([
        ("k", ints(&k)),
        ("v", ints(&v)),
        ("f", f),
        ("d", d),
        ("s", strs(&s)),
    ])
    .unwrap();
    Arc::new(MemorySource::try_new(b.schema(), split(&b, cuts)).unwrap())
}

fn scan(t: &Arc<dyn ScanSource>) -> Box<PhysicalPlan> {
    Box::new(PhysicalPlan::Scan {
        source: t.clone(),
        projection: vec![0, 1, 2, 3, 4],
    })
}

fn bin(op: BinaryOp, l: PhysicalExpr, r: PhysicalExpr) -> PhysicalExpr {
    PhysicalExpr::Binary {
        op,
        left: Box::new(l),
        right: Box::new(r),
    }
}

fn lit(a: ArrayRef) -> PhysicalExpr {
    PhysicalExpr::Literal { value: a }
}

fn agg(func: AggregateFunction, arg: usize) -> AggregateExpr {
    AggregateExpr::new(func, Some(col(arg)), format!("{func:?}{arg}"))
}

/// `v > c AND d <> 3 AND (f <= 0.5 OR s IS NULL)`: two kernel conjuncts
/// and one expression.
fn predicate(c: i64) -> PhysicalExpr {
    let f_le = bin(
        BinaryOp::LtEq,
        col(2),
        lit(Arc::new(Float64Array::from(vec![0.5]))),
    );
    let or = bin(BinaryOp::Or, f_le, PhysicalExpr::IsNull(Box::new(col(4))));
    let d_ne = bin(
        BinaryOp::NotEq,
        lit(Arc::new(Date32Array::from(vec![3]))),
        col(3),
    );
    bin(
        BinaryOp::And,
        bin(
            BinaryOp::And,
            bin(BinaryOp::Gt, col(1), lit(ints(&[Some(c)]))),
            d_ne,
        ),
        or,
    )
}

fn plans(t: &Arc<dyn ScanSource>, u: &Arc<dyn ScanSource>, c: i64) -> Vec<PhysicalPlan> {
    use AggregateFunction::*;
    let filtered = || {
        Box::new(PhysicalPlan::Filter {
            input: scan(t),
            predicate: predicate(c),
        })
    };
    let projected = Box::new(PhysicalPlan::Projection {
        input: filtered(),
        exprs: vec![
            (col(0), "k".into()),
            (
                bin(BinaryOp::Mul, col(1), lit(ints(&[Some(2)]))),
                "v2".into(),
            ),
            (col(4), "s".into()),
        ],
    });
    let aggs = vec![
        AggregateExpr::new(CountStar, None, "n"),
        agg(Count, 2),
        agg(Sum, 1),
        agg(Min, 1),
        agg(Max, 2),
        agg(Min, 4),
        agg(Avg, 1),
    ];
    let mut out = vec![
        *projected.clone(),
        PhysicalPlan::HashAggregate {
            input: scan(t),
            group_by: vec![(col(0), "k".into()), (col(3), "d".into())],
            aggregates: aggs.clone(),
        },
        PhysicalPlan::HashAggregate {
            input: filtered(),
            group_by: vec![],
            aggregates: aggs.clone(),
        },
        PhysicalPlan::HashAggregate {
            input: scan(t),
            group_by: vec![(col(4), "s".into())],
            aggregates: vec![agg(Sum, 0), agg(Max, 1)],
        },
        PhysicalPlan::Sort {
            input: scan(t),
            keys: vec![
                SortKey {
                    expr: col(0),
                    descending: true,
                    nulls_first: true,
                },
                SortKey {
                    expr: col(2),
                    descending: false,
                    nulls_first: false,
                },
            ],
        },
        PhysicalPlan::Limit {
            input: Box::new(PhysicalPlan::Sort {
                input: projected.clone(),
                keys: vec![SortKey {
                    expr: col(1),
                    descending: false,
                    nulls_first: false,
                }],
            }),
            skip: 2,
            fetch: Some(5),
        },
        PhysicalPlan::Limit {
            input: filtered(),
            skip: 1,
            fetch: Some(3),
        },
        PhysicalPlan::Limit {
            input: scan(t),
            skip: 0,
            fetch: Some(0),
        },
    ];
    for join_type in [
        JoinType::Inner,
        JoinType::Left,
        JoinType::Right,
        JoinType::Full,
        JoinType::Semi,
        JoinType::Anti,
        JoinType::Mark,
    ] {
        out.push(PhysicalPlan::HashJoin {
            left: scan(t),
            right: Box::new(PhysicalPlan::Filter {
                input: scan(u),
                predicate: predicate(c - 10),
            }),
            on: vec![(col(0), col(0))],
            filter: Some(bin(BinaryOp::Lt, col(1), col(6))),
            join_type,
        });
        out.push(PhysicalPlan::NestedLoopJoin {
            left: scan(u),
            right: scan(t),
            condition: Some(bin(BinaryOp::Eq, col(3), col(8))),
            join_type,
        });
    }
    // An aggregate over a join over an aggregate: three pipelines.
    out.push(PhysicalPlan::HashAggregate {
        input: Box::new(PhysicalPlan::HashJoin {
            left: projected,
            right: Box::new(PhysicalPlan::HashAggregate {
                input: scan(u),
                group_by: vec![(col(0), "k".into())],
                aggregates: vec![agg(Max, 1)],
            }),
            on: vec![(col(0), col(0))],
            filter: None,
            join_type: JoinType::Inner,
        }),
        group_by: vec![(col(2), "s".into())],
        aggregates: vec![agg(Sum, 1), agg(Min, 4)],
    });
    out
}

fn row() -> impl Strategy<Value = Row> {
    (
        prop::option::weighted(0.9, 0i64..6),
        prop::option::weighted(0.9, -50i64..50),
        prop::option::weighted(
            0.9,
            prop_oneof![
                Just(0.0),
                Just(-0.0),
                Just(f64::NAN),
                Just(0.5),
                -2.0f64..2.0
            ],
        ),
        prop::option::weighted(0.9, 0i32..6),
        prop::option::weighted(0.8, "[a-c]{0,2}"),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..proptest_config() })]

    #[test]
    fn parallel_matches_serial(
        t in prop::collection::vec(row(), 0..120),
        u in prop::collection::vec(row(), 0..60),
        cuts in prop::collection::vec(0usize..130, 0..4),
        c in -20i64..20,
    ) {
        let (t, u) = (table(&t, &cuts), table(&u, &[]));
        for plan in plans(&t, &u, c) {
            same_everywhere(&plan);
        }
    }
}

/// A table big enough that morsels of 1024 rows keep several workers busy,
/// and one batch is bigger than a 65536-row morsel.
#[test]
fn large_input_is_the_same_on_every_config() {
    let n = 150_000i64;
    let rows: Vec<Row> = (0..n)
        .map(|i| {
            let k = (i * 7919 % 1000 != 0).then_some(i * 31 % 977);
            (
                k,
                Some(i % 1000 - 500),
                Some((i % 13) as f64),
                Some((i % 5) as i32),
                None,
            )
        })
        .collect();
    let t = table(&rows, &[70_000, 140_000]);
    let plans = [
        PhysicalPlan::HashAggregate {
            input: Box::new(PhysicalPlan::Filter {
                input: scan(&t),
                predicate: predicate(-400),
            }),
            group_by: vec![(col(0), "k".into())],
            aggregates: vec![
                agg(AggregateFunction::Sum, 1),
                agg(AggregateFunction::Max, 2),
            ],
        },
        PhysicalPlan::Limit {
            input: Box::new(PhysicalPlan::Sort {
                input: scan(&t),
                keys: vec![SortKey {
                    expr: col(1),
                    descending: true,
                    nulls_first: false,
                }],
            }),
            skip: 10,
            fetch: Some(2000),
        },
    ];
    for plan in &plans {
        let want = serial(plan).unwrap();
        for t in THREADS {
            for m in [1024, 65536] {
                let o = ExecOptions::builder().threads(t).morsel_rows(m).build();
                assert_eq!(rendered(&collect_with(plan, &o).unwrap()), want, "{t} {m}");
            }
        }
    }
}

#[test]
fn float_sums_agree_within_rounding() {
    let rows: Vec<Row> = (0..5000)
        .map(|i| {
            (
                Some(i % 3),
                None,
                Some(1.0 / f64::from(i as i32 + 1)),
                None,
                None,
            )
        })
        .collect();
    let t = table(&rows, &[]);
    let plan = PhysicalPlan::HashAggregate {
        input: scan(&t),
        group_by: vec![(col(0), "k".into())],
        aggregates: vec![agg(AggregateFunction::Sum, 2)],
    };
    let sums = |b: &[RecordBatch]| -> Vec<f64> {
        b.iter()
            .flat_map(|b| {
                let a = b.column(1).as_any().downcast_ref::<Float64Array>().unwrap();
                a.values().to_vec()
            })
            .collect()
    };
    let want = sums(&plan.execute().unwrap().collect::<Result<Vec<_>>>().unwrap());
    for o in configs() {
        let got = sums(&collect_with(&plan, &o).unwrap());
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-12 * w.abs(), "{o:?}: {g} vs {w}");
        }
    }
}

fn many_rows(n: i64) -> Arc<dyn ScanSource> {
    let rows: Vec<Row> = (0..n)
        .map(|i| (Some(i), Some(i), None, None, Some(format!("{i:08}"))))
        .collect();
    table(&rows, &[])
}

#[test]
fn memory_limit_fails_each_breaker_with_its_name() {
    let t = many_rows(20_000);
    let cases = [
        (
            "hash aggregate",
            PhysicalPlan::HashAggregate {
                input: scan(&t),
                group_by: vec![(col(4), "s".into())],
                aggregates: vec![agg(AggregateFunction::Count, 0)],
            },
        ),
        (
            "hash join build",
            PhysicalPlan::HashJoin {
                left: scan(&t),
                right: scan(&t),
                on: vec![(col(0), col(0))],
                filter: None,
                join_type: JoinType::Inner,
            },
        ),
        (
            "sort",
            PhysicalPlan::Sort {
                input: scan(&t),
                keys: vec![SortKey {
                    expr: col(4),
                    descending: true,
                    nulls_first: false,
                }],
            },
        ),
    ];
    for (operator, plan) in &cases {
        for threads in [1, 3] {
            let tight = ExecOptions::builder()
                .threads(threads)
                .morsel_rows(1000)
                .memory_limit_bytes(Some(64 * 1024))
                .build();
            match collect_with(plan, &tight) {
                Err(Error::MemoryLimit {
                    operator: o,
                    limit_bytes,
                }) => {
                    assert_eq!((o, limit_bytes), (*operator, 64 * 1024));
                }
                other => panic!("{operator} with {threads} threads: {other:?}"),
            }
            let roomy = ExecOptions::builder()
                .threads(threads)
                .memory_limit_bytes(Some(256 << 20))
                .build();
            let rows: usize = collect_with(plan, &roomy)
                .unwrap()
                .iter()
                .map(|b| b.num_rows())
                .sum();
            assert_eq!(rows, 20_000, "{operator}");
        }
    }
}

/// A source with only `scan` (the default `scan_partitions`), whose stream
/// fails after `fail_after` batches if set.
#[derive(Debug)]
struct OnlyScan {
    inner: MemorySource,
    fail_after: Option<usize>,
}

impl ScanSource for OnlyScan {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
    fn scan(&self, projection: &[usize]) -> Result<BatchStream> {
        let fail_after = self.fail_after;
        let inner = self.inner.scan(projection)?;
        Ok(Box::new(inner.enumerate().map(
            move |(i, b)| match fail_after {
                Some(n) if i >= n => Err(Error::internal("storage broke")),
                _ => b,
            },
        )))
    }
}

fn only_scan(fail_after: Option<usize>) -> Arc<dyn ScanSource> {
    let b = nullable_batch([("x", ints(&(0..1000).map(Some).collect::<Vec<_>>()))]).unwrap();
    let inner = MemorySource::try_new(b.schema(), split(&b, &[100, 200, 300, 400, 500])).unwrap();
    Arc::new(OnlyScan { inner, fail_after })
}

#[test]
fn default_partitions_and_source_errors() {
    let sum = |source| PhysicalPlan::HashAggregate {
        input: Box::new(PhysicalPlan::Scan {
            source,
            projection: vec![0],
        }),
        group_by: vec![],
        aggregates: vec![agg(AggregateFunction::Sum, 0)],
    };
    for o in configs() {
        let out = collect_with(&sum(only_scan(None)), &o).unwrap();
        let s = out[0]
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0);
        assert_eq!(s, 999 * 1000 / 2);
        let e = collect_with(&sum(only_scan(Some(3))), &o);
        assert!(
            matches!(&e, Err(Error::Internal { what }) if what == "storage broke"),
            "{e:?}"
        );
    }
}

#[test]
fn errors_in_the_data_stop_every_worker() {
    let t = many_rows(10_000);
    // 1 / (k - 5000) divides by zero on one row.
    let plan = PhysicalPlan::Projection {
        input: scan(&t),
        exprs: vec![(
            bin(
                BinaryOp::Div,
                lit(ints(&[Some(1)])),
                bin(BinaryOp::Sub, col(0), lit(ints(&[Some(5000)]))),
            ),
            "q".into(),
        )],
    };
    for o in configs() {
        assert!(
            matches!(collect_with(&plan, &o), Err(Error::DivisionByZero)),
            "{o:?}"
        );
    }
}

#[test]
fn filter_uses_kernels_for_column_literal_conjuncts() {
    let t = many_rows(1);
    let schema = t.schema();
    for tier in Tier::ALL {
        let op = crate::operators::filter::FilterOp::new(&predicate(0), &schema, tier);
        assert_eq!(op.kernel_conjuncts(), 2);
    }
    // NaN constants and non-literal operands take the expression path.
    let nan = bin(
        BinaryOp::Lt,
        col(2),
        lit(Arc::new(Float64Array::from(vec![f64::NAN]))),
    );
    let op = crate::operators::filter::FilterOp::new(&nan, &schema, Tier::Avx2);
    assert_eq!(op.kernel_conjuncts(), 0);
    let cols = bin(BinaryOp::Lt, col(0), col(1));
    assert_eq!(
        crate::operators::filter::FilterOp::new(&cols, &schema, Tier::Sse42).kernel_conjuncts(),
        0
    );
    assert_eq!(DataType::Int64, *schema.field(0).data_type());
}

#[test]
fn a_set_cancel_flag_stops_the_query() {
    let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let options = ExecOptions::builder()
        .threads(2)
        .cancel_flag(flag.clone())
        .build();
    let plan = PhysicalPlan::Scan {
        source: Arc::new(
            MemorySource::try_new(
                Arc::new(arrow::datatypes::Schema::new(vec![
                    arrow::datatypes::Field::new("x", DataType::Int64, false),
                ])),
                vec![],
            )
            .unwrap(),
        ),
        projection: vec![0],
    };
    assert!(crate::collect_with(&plan, &options).is_ok());
    flag.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(matches!(
        crate::collect_with(&plan, &options),
        Err(Error::Cancelled)
    ));
}
