//! `hyperctl-exec`: vectorized query execution over Arrow record batches.
//!
//! exec evaluates [`PhysicalExpr`]essions and runs [`PhysicalPlan`]s — scan,
//! values, filter, projection, hash aggregate, hash and nested-loop joins,
//! sort, limit, set operations, window functions, recursive union — as
//! pull-based streams of
//! [`RecordBatch`](arrow::record_batch::RecordBatch)es, with SQL
//! semantics as Tableau Hyper has them (PostgreSQL-like): three-valued logic,
//! NULLs skipped by aggregates, checked integer and decimal arithmetic.
//!
//! [`collect`] and [`collect_with`] run a plan morsel-driven on worker
//! threads: [`ExecOptions`] sets the thread count (one per core by
//! default), the morsel size and a memory limit for hash tables and sorts
//! ([`Error::MemoryLimit`]). Rows come out in the order one thread gives,
//! whatever the thread count. [`PhysicalPlan::execute`] is the
//! single-threaded, pull-based reference engine. Filters, hashing and
//! ungrouped sums/min/max use SIMD kernels (SSE4.2, AVX2 detected at run
//! time; `HYPERCTL_SIMD=portable|sse42|avx2` caps the tier).
//!
//! # Where it sits
//!
//! `format` <- `exec` <- `sql`. exec is pure computation: it knows nothing of
//! files, storage or SQL text. The `sql` crate builds plans and reaches
//! storage through the [`ScanSource`] trait, which exec owns and `sql`
//! implements; [`MemorySource`] serves batches from memory.
//!
//! Invariant: bad input is an [`enum@Error`], never a panic. A plan the SQL
//! layer should not have built (wrong types, bad column index) is
//! [`Error::Internal`].
//!
//! # Example
//!
//! `SELECT k, count(*), sum(v) FROM t WHERE v > 1 GROUP BY k`:
//!
//! ```
//! use std::sync::Arc;
//! use hyperctl_exec::arrow::array::{AsArray, Int64Array, StringArray};
//! use hyperctl_exec::arrow::datatypes::Int64Type;
//! use hyperctl_exec::arrow::record_batch::RecordBatch;
//! use hyperctl_exec::{
//!     AggregateExpr, AggregateFunction, BinaryOp, ExecOptions, MemorySource, PhysicalExpr,
//!     PhysicalPlan, collect_with,
//! };
//!
//! let batch = RecordBatch::try_from_iter([
//!     ("k", Arc::new(StringArray::from(vec!["a", "b", "a", "a"])) as _),
//!     ("v", Arc::new(Int64Array::from(vec![Some(1), Some(5), Some(2), None])) as _),
//! ])?;
//! let table = MemorySource::try_new(batch.schema(), vec![batch])?;
//!
//! let scan = PhysicalPlan::Scan { source: Arc::new(table), projection: vec![0, 1] };
//! let v_gt_1 = PhysicalExpr::Binary {
//!     op: BinaryOp::Gt,
//!     left: Box::new(PhysicalExpr::Column { index: 1 }),
//!     right: Box::new(PhysicalExpr::Literal { value: Arc::new(Int64Array::from(vec![1])) }),
//! };
//! let filter = PhysicalPlan::Filter { input: Box::new(scan), predicate: v_gt_1 };
//! let plan = PhysicalPlan::HashAggregate {
//!     input: Box::new(filter),
//!     group_by: vec![(PhysicalExpr::Column { index: 0 }, "k".into())],
//!     aggregates: vec![
//!         AggregateExpr::new(AggregateFunction::CountStar, None, "n"),
//!         AggregateExpr::new(
//!             AggregateFunction::Sum,
//!             Some(PhysicalExpr::Column { index: 1 }),
//!             "s",
//!         ),
//!     ],
//! };
//!
//! let options = ExecOptions::builder().threads(2).memory_limit_bytes(Some(1 << 30)).build();
//! let out = collect_with(&plan, &options)?;
//! let k: Vec<_> = out[0].column(0).as_string::<i32>().iter().collect();
//! let sum = out[0].column(2).as_primitive::<Int64Type>();
//! assert_eq!(k, vec![Some("b"), Some("a")]); // first-seen order
//! assert_eq!(sum.values().to_vec(), vec![5, 2]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod accumulator;
mod aggregate;
#[cfg(feature = "bench")]
mod bench;
mod binary;
mod cast;
mod collect;
mod conditional;
mod error;
mod explain;
mod expr;
mod functions;
mod kernels;
mod keys;
mod operators;
mod options;
mod parallel;
mod plan;
mod source;
#[cfg(test)]
mod test_util;
mod text_temporal;

pub use aggregate::{AggregateExpr, AggregateFunction, AggregateParam};
pub use arrow;
#[cfg(feature = "bench")]
#[doc(hidden)]
pub use bench::{IntKeyProbe, KernelTier};
pub use cast::cast as cast_array;
pub use error::{Error, Result};
pub use explain::{Profile, collect_profiled, explain};
pub use expr::{BinaryOp, PhysicalExpr};
pub use functions::{
    BitOp, DateField, IntervalOp, ScalarFunction, TrimSide, arrays_as_text, interval_text,
    ordinality, parse_interval, trim_fraction_zeros, unnest,
};
pub use operators::recursive::WorkTable;
pub use operators::set_ops::SetOpKind;
pub use operators::window::{
    FrameBound, FrameExclusion, FrameUnits, WindowExpr, WindowFrame, WindowFunction,
};
pub use options::{DEFAULT_MORSEL_ROWS, ExecOptions, ExecOptionsBuilder};
pub use plan::{JoinType, PhysicalPlan, SortKey, collect, collect_with};
pub use source::{BatchStream, MemorySource, ScanSource};
