//! Filter selectivity measured on a sample of the table, at plan time.
//!
//! The join order (`optimize.rs`) and the build side of each hash join
//! depend on how many rows a filtered table keeps. Guessing that from the
//! predicate's form (an equality keeps 10%) is off by orders of magnitude
//! for text equality and LIKE: `n_name = 'CANADA'` keeps 1 row of 25,
//! `p_name LIKE 'forest%'` 1%, `o_orderstatus = 'F'` half. So each filter
//! directly over a table scan is evaluated on a few blocks spread over the
//! table, and the fraction it keeps is stored in the plan
//! (`LogicalPlan::Filter::keeps`), where every estimate reads it.
//!
//! Only plans with joins are sampled: without one, no decision depends on
//! the estimate. A predicate that cannot be evaluated on its own (it reads
//! an outer row or a parameter) or fails on the sample keeps the guess.
//!
//! Invariant: sampling never changes a query's result, only its plan.

use hyperctl_exec::arrow::array::{Array, AsArray};
use hyperctl_exec::arrow::datatypes::DataType;
use hyperctl_storage::{ScanOptions, TableHandle};

use crate::plan::{BoundExpr, LogicalPlan};

/// How many parts (blocks) of a table a sample reads, spread evenly.
const SAMPLE_PARTS: usize = 4;
/// How many rows of each sampled part the predicate is evaluated on.
const SAMPLE_ROWS_PER_PART: usize = 8192;

/// `plan` with the `keeps` of every filter over a table scan measured, if
/// `plan` joins anything.
pub(crate) fn sample_filters(plan: LogicalPlan) -> LogicalPlan {
    if has_join(&plan) {
        measure_all(plan)
    } else {
        plan
    }
}

fn has_join(plan: &LogicalPlan) -> bool {
    matches!(plan, LogicalPlan::Join { .. }) || plan.inputs().into_iter().any(has_join)
}

/// Measures the filters of `plan` and its inputs that have no `keeps` yet.
pub(crate) fn measure_all(plan: LogicalPlan) -> LogicalPlan {
    match plan {
        LogicalPlan::Filter {
            input,
            predicate,
            keeps,
        } => {
            let input = Box::new(measure_all(*input));
            let keeps = keeps.or_else(|| measure(&input, &predicate));
            LogicalPlan::Filter {
                input,
                predicate,
                keeps,
            }
        }
        other => crate::optimize::map_inputs(other, measure_all),
    }
}

/// The fraction of `input`'s rows `predicate` keeps, when `input` is a
/// table scan under zero or more filters: measured on the sample as the
/// rows passing `predicate` and the filters below, over those passing the
/// filters below.
fn measure(input: &LogicalPlan, predicate: &BoundExpr) -> Option<f64> {
    let mut below = Vec::new();
    let mut at = input;
    let (table, projection) = loop {
        match at {
            LogicalPlan::Filter {
                input, predicate, ..
            } => {
                below.push(predicate);
                at = input;
            }
            LogicalPlan::Scan {
                table, projection, ..
            } => break (table, projection),
            _ => return None,
        }
    };
    if predicate.has_outer()
        || predicate.has_placeholder()
        || below.iter().any(|p| p.has_outer() || p.has_placeholder())
    {
        return None;
    }
    let (passed_below, passed) = count_on_sample(table, projection, &below, predicate)?;
    if passed_below == 0 {
        return None;
    }
    // Half a row when none passed: small, but not a certain zero.
    Some((passed as f64).max(0.5) / passed_below as f64)
}

/// Over a sample of `table`'s rows: how many pass all of `below`, and how
/// many of those also pass `predicate`. `None` when the sample cannot be
/// read or a predicate fails on it.
fn count_on_sample(
    table: &TableHandle,
    projection: &[usize],
    below: &[&BoundExpr],
    predicate: &BoundExpr,
) -> Option<(usize, usize)> {
    // The row-position column (DELETE and UPDATE) is not in the table.
    if projection.iter().any(|&c| c >= table.def().columns.len()) {
        return None;
    }
    let below: Vec<_> = below.iter().map(|p| p.to_physical()).collect();
    let predicate = predicate.to_physical();
    let options = ScanOptions::new(projection);
    let parts = table.part_count();
    let picked = parts.min(SAMPLE_PARTS);
    let (mut passed_below, mut passed) = (0, 0);
    for i in 0..picked {
        let part = (2 * i + 1) * parts / (2 * picked);
        for batch in table.scan_parts(&options, part..part + 1).ok()? {
            let batch = batch.ok()?;
            let batch = batch.slice(0, batch.num_rows().min(SAMPLE_ROWS_PER_PART));
            let mut keep = vec![true; batch.num_rows()];
            for p in &below {
                apply(&p.evaluate(&batch).ok()?, &mut keep)?;
            }
            passed_below += keep.iter().filter(|k| **k).count();
            apply(&predicate.evaluate(&batch).ok()?, &mut keep)?;
            passed += keep.iter().filter(|k| **k).count();
        }
    }
    Some((passed_below, passed))
}

/// Clears `keep[i]` where `result` is not true (false or NULL); a scalar
/// result applies to every row.
fn apply(result: &dyn Array, keep: &mut [bool]) -> Option<()> {
    if result.data_type() != &DataType::Boolean {
        return None;
    }
    let result = result.as_boolean();
    if result.len() == 1 && keep.len() != 1 {
        if !(result.is_valid(0) && result.value(0)) {
            keep.fill(false);
        }
        return Some(());
    }
    if result.len() != keep.len() {
        return None;
    }
    for (i, k) in keep.iter_mut().enumerate() {
        *k &= result.is_valid(i) && result.value(i);
    }
    Some(())
}
