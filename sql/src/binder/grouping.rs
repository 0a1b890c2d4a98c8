//! GROUP BY with GROUPING SETS, ROLLUP and CUBE, and the `grouping()`
//! function, with PostgreSQL's (and Hyper's) semantics: a row per group of
//! each grouping set, NULL in the keys a set leaves out, and `grouping(a, b)`
//! a bitmask with a 1 for each argument the row's set leaves out.
//!
//! Plan: the input is crossed with a small VALUES table of one row per set
//! (its id and, per key, whether the set leaves the key out), and one hash
//! aggregate groups by (masked keys, set id). The input is read once. A set
//! with no keys gives one row even over no input rows; a full join with the
//! ids of the empty sets adds those rows, with each aggregate's value over no
//! rows.
//!
//! Invariant: the aggregate's output is the keys, then the set id, then the
//! aggregates: the layout `AggContext` indexes (`group_by` = keys + the id).

use std::sync::Arc;

use hyperctl_exec::JoinType;
use hyperctl_exec::arrow::array::{BooleanArray, Int32Array, new_null_array};
use hyperctl_format::SqlType;
use sqlparser::ast::{self, Expr, Spanned};
use sqlparser::tokenizer::Span;

use super::expr::{AggContext, ExprBinder, default_literal_type};
use super::{Scope, not_supported};
use crate::error::{SqlError, state};
use crate::plan::{BoundExpr, ColumnInfo, LogicalPlan};

type BindResult<T> = Result<T, SqlError>;

/// Hyper's limit on the number of grouping sets.
const SETS_MAX: usize = 1024;
/// Distinct keys of a GROUP BY with grouping sets (bits of a set's mask).
const KEYS_MAX: usize = 63;

/// A bound GROUP BY clause: its distinct keys and its grouping sets, each a
/// bit mask over `keys` (bit i = key i is grouped on).
#[derive(Debug)]
pub(super) struct GroupBy {
    pub(super) keys: Vec<BoundExpr>,
    pub(super) sets: Vec<u64>,
}

impl GroupBy {
    /// One set with every key: a plain GROUP BY.
    pub(super) fn is_plain(&self) -> bool {
        let all = full_mask(self.keys.len());
        matches!(self.sets.as_slice(), [s] if *s == all)
    }
}

fn full_mask(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

/// Binds the GROUP BY items; `bind_key` binds one key expression (aliases
/// and positions of the select list included).
pub(super) fn bind_group_by(
    items: &[Expr],
    bind_key: &mut dyn FnMut(&Expr) -> BindResult<BoundExpr>,
) -> BindResult<GroupBy> {
    let mut keys: Vec<BoundExpr> = Vec::new();
    let mut key_of = |e: &Expr| -> BindResult<u64> {
        let bound = default_literal_type(bind_key(e)?);
        let i = match keys.iter().position(|k| *k == bound) {
            Some(i) => i,
            None => {
                if keys.len() == KEYS_MAX {
                    return Err(not_supported(
                        "GROUP BY with grouping sets over more than 63 distinct expressions",
                        e.span(),
                    ));
                }
                keys.push(bound);
                keys.len() - 1
            }
        };
        Ok(1u64 << i)
    };
    let mut sets = vec![0u64];
    for item in items {
        let item_sets = item_sets(item, &mut key_of)?;
        sets = cross(&sets, &item_sets, item.span())?;
    }
    Ok(GroupBy { keys, sets })
}

/// The grouping sets of one GROUP BY item.
fn item_sets(e: &Expr, key_of: &mut dyn FnMut(&Expr) -> BindResult<u64>) -> BindResult<Vec<u64>> {
    match e {
        Expr::GroupingSets(lists) => {
            let mut out = Vec::new();
            for list in lists {
                let mut sets = vec![0u64];
                for x in list {
                    sets = cross(&sets, &item_sets(x, key_of)?, x.span())?;
                }
                out.extend(sets);
                check_count(out.len(), e.span())?;
            }
            Ok(out)
        }
        Expr::Rollup(lists) => {
            let masks = list_masks(lists, key_of)?;
            // (a, b), (a), ()
            Ok((0..=masks.len())
                .rev()
                .map(|n| masks[..n].iter().fold(0, |acc, m| acc | m))
                .collect())
        }
        Expr::Cube(lists) => {
            let masks = list_masks(lists, key_of)?;
            check_count(
                1usize.checked_shl(masks.len() as u32).unwrap_or(usize::MAX),
                e.span(),
            )?;
            // Every subset, the full set first.
            let n = masks.len();
            Ok((0..1u32 << n)
                .rev()
                .map(|bits| {
                    (0..n)
                        .filter(|i| bits & (1 << (n - 1 - i)) != 0)
                        .fold(0, |acc, i| acc | masks[i])
                })
                .collect())
        }
        // `()` is the empty set; `(a, b)` groups by both.
        Expr::Tuple(list) => Ok(vec![list_masks(std::slice::from_ref(list), key_of)?[0]]),
        // ROLLUP / CUBE nested inside GROUPING SETS parse as function calls.
        Expr::Function(f) if nested_kind(f).is_some() => {
            let lists = function_lists(f)?;
            let nested = match nested_kind(f) {
                Some(true) => Expr::Rollup(lists),
                _ => Expr::Cube(lists),
            };
            item_sets(&nested, key_of)
        }
        Expr::Nested(inner) if matches!(inner.as_ref(), Expr::Tuple(l) if l.is_empty()) => {
            Ok(vec![0])
        }
        other => Ok(vec![key_of(other)?]),
    }
}

/// `Some(true)` for `rollup(...)`, `Some(false)` for `cube(...)`.
fn nested_kind(f: &ast::Function) -> Option<bool> {
    match super::expr::object_name(&f.name)
        .to_ascii_lowercase()
        .as_str()
    {
        "rollup" => Some(true),
        "cube" => Some(false),
        _ => None,
    }
}

fn function_lists(f: &ast::Function) -> BindResult<Vec<Vec<Expr>>> {
    let ast::FunctionArguments::List(list) = &f.args else {
        return Err(not_supported("this ROLLUP / CUBE", f.span()));
    };
    list.args
        .iter()
        .map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(Expr::Tuple(t))) => Ok(t.clone()),
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(vec![e.clone()]),
            other => Err(not_supported("this ROLLUP / CUBE argument", other.span())),
        })
        .collect()
}

fn list_masks(
    lists: &[Vec<Expr>],
    key_of: &mut dyn FnMut(&Expr) -> BindResult<u64>,
) -> BindResult<Vec<u64>> {
    lists
        .iter()
        .map(|list| {
            list.iter()
                .try_fold(0u64, |acc, x| Ok::<_, SqlError>(acc | key_of(x)?))
        })
        .collect()
}

/// Every union of a set of `a` with a set of `b`, in order.
fn cross(a: &[u64], b: &[u64], span: Span) -> BindResult<Vec<u64>> {
    check_count(a.len().saturating_mul(b.len()), span)?;
    Ok(a.iter()
        .flat_map(|x| b.iter().map(move |y| x | y))
        .collect())
}

fn check_count(n: usize, span: Span) -> BindResult<()> {
    if n > SETS_MAX {
        return Err(SqlError::new(
            state::PROGRAM_LIMIT_EXCEEDED,
            format!("GROUP BY is limited to {SETS_MAX} grouping sets"),
        )
        .at(span));
    }
    Ok(())
}

fn int_literal(v: i32) -> BoundExpr {
    BoundExpr::Literal {
        value: Arc::new(Int32Array::from(vec![v])),
        ty: SqlType::Int,
        untyped: false,
    }
}

fn bool_literal(v: bool) -> BoundExpr {
    BoundExpr::Literal {
        value: Arc::new(BooleanArray::from(vec![v])),
        ty: SqlType::Bool,
        untyped: false,
    }
}

fn column(index: usize, ty: SqlType, nullable: bool) -> BoundExpr {
    BoundExpr::Column {
        index,
        ty,
        nullable,
    }
}

fn info(name: &str, ty: SqlType, nullable: bool) -> ColumnInfo {
    ColumnInfo {
        name: name.to_string(),
        ty,
        nullable,
        qualifier: None,
    }
}

/// `CASE WHEN cond THEN a ELSE b END`.
fn case(cond: BoundExpr, a: BoundExpr, b: BoundExpr) -> BoundExpr {
    let ty = b.ty();
    BoundExpr::Case {
        branches: vec![(cond, a)],
        else_expr: Some(Box::new(b)),
        ty,
    }
}

/// `grouping(args)` once `args` are bound: the bitmask per set as a CASE on
/// the set id (0 for a plain GROUP BY).
pub(super) fn grouping_value(
    agg: &AggContext,
    args: &[BoundExpr],
    spans: &[Span],
    span: Span,
) -> BindResult<BoundExpr> {
    if args.len() > 31 {
        return Err(not_supported("grouping() of more than 31 arguments", span));
    }
    let keys = match agg.grouping_sets.is_empty() {
        true => &agg.group_by[..],
        false => &agg.group_by[..agg.group_by.len() - 1],
    };
    let mut positions = Vec::with_capacity(args.len());
    for (a, s) in args.iter().zip(spans) {
        let Some(i) = keys.iter().position(|k| k == a) else {
            return Err(SqlError::new(
                state::GROUPING_ERROR,
                "arguments to GROUPING must be grouping expressions of the associated query level",
            )
            .at(*s));
        };
        positions.push(i);
    }
    let value = |set: u64| {
        positions.iter().fold(0i32, |acc, &i| {
            (acc << 1) | i32::from(set & (1u64 << i) == 0)
        })
    };
    let Some((last, rest)) = agg.grouping_sets.split_last() else {
        return Ok(int_literal(0));
    };
    let gid = agg.group_by.len() - 1;
    let gid_ref = column(gid, SqlType::Int, false);
    let branches = rest
        .iter()
        .enumerate()
        .map(|(id, set)| {
            let cond = super::expr::binary_expr(
                hyperctl_exec::BinaryOp::Eq,
                gid_ref.clone(),
                int_literal(id as i32),
                SqlType::Bool,
            );
            (cond, int_literal(value(*set)))
        })
        .collect();
    Ok(BoundExpr::Case {
        branches,
        else_expr: Some(Box::new(int_literal(value(*last)))),
        ty: SqlType::Int,
    })
}

/// Prepares `agg` for grouping sets: the keys, then the set id (a column
/// past the scope's, which no user expression can name).
pub(super) fn install(agg: &mut AggContext, group_by: GroupBy, scope: &Scope) {
    agg.group_by.extend(group_by.keys);
    agg.group_by
        .push(column(scope.columns.len(), SqlType::Int, false));
    agg.grouping_sets = group_by.sets;
}

/// The aggregate over grouping sets (see the module docs).
pub(super) fn aggregate_sets(input: LogicalPlan, scope: &Scope, agg: AggContext) -> LogicalPlan {
    let w = input.columns().len();
    let m = agg.group_by.len() - 1;
    let keys = &agg.group_by[..m];
    let sets = &agg.grouping_sets;
    // VALUES (id, rolled_0, ..., rolled_m-1), one row per set.
    let rows = sets
        .iter()
        .enumerate()
        .map(|(id, set)| {
            let mut row = vec![int_literal(id as i32)];
            row.extend((0..m).map(|i| bool_literal(set & (1u64 << i) == 0)));
            row
        })
        .collect();
    let mut set_columns = vec![info("#gid", SqlType::Int, false)];
    set_columns.extend((0..m).map(|i| info(&format!("#rolled{i}"), SqlType::Bool, false)));
    let mut expanded_columns = input.columns().to_vec();
    expanded_columns.extend(set_columns.iter().cloned());
    let expanded = LogicalPlan::Join {
        left: Box::new(input),
        right: Box::new(LogicalPlan::Values {
            rows,
            columns: set_columns,
        }),
        join_type: JoinType::Inner,
        on: Vec::new(),
        filter: None,
        columns: expanded_columns.clone(),
    };
    let always = sets.iter().fold(full_mask(m), |acc, s| acc & s);
    let mut group_by: Vec<BoundExpr> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            if always & (1u64 << i) != 0 {
                return k.clone();
            }
            let null = BoundExpr::Literal {
                value: new_null_array(&k.ty().to_arrow(), 1),
                ty: k.ty(),
                untyped: false,
            };
            case(column(w + 1 + i, SqlType::Bool, false), null, k.clone())
        })
        .collect();
    group_by.push(column(w, SqlType::Int, false));
    let mut columns: Vec<ColumnInfo> = keys
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let name = match g {
                BoundExpr::Column { index, .. } => scope.columns[*index].name.clone(),
                _ => format!("#group{i}"),
            };
            info(&name, g.ty(), true)
        })
        .collect();
    columns.push(info("#gid", SqlType::Int, false));
    columns.extend(agg.aggregates.iter().map(|a| info(&a.name, a.ty, true)));
    let grouped = LogicalPlan::Aggregate {
        input: Box::new(expanded),
        group_by,
        aggregates: agg.aggregates.clone(),
        columns: columns.clone(),
    };
    let empty: Vec<usize> = (0..sets.len()).filter(|i| sets[*i] == 0).collect();
    if empty.is_empty() {
        return grouped;
    }
    with_empty_sets(grouped, &empty, expanded_columns, &agg, columns)
}

/// Adds the rows of the sets without keys that the input gave no row
/// (an empty input), each aggregate with its value over no rows.
fn with_empty_sets(
    grouped: LogicalPlan,
    empty: &[usize],
    expanded_columns: Vec<ColumnInfo>,
    agg: &AggContext,
    columns: Vec<ColumnInfo>,
) -> LogicalPlan {
    let m = agg.group_by.len() - 1;
    let a = agg.aggregates.len();
    let ids = LogicalPlan::Values {
        rows: empty
            .iter()
            .map(|id| vec![int_literal(*id as i32)])
            .collect(),
        columns: vec![info("#egid", SqlType::Int, false)],
    };
    let mut joined_columns = columns.clone();
    joined_columns.push(info("#egid", SqlType::Int, true));
    for c in &mut joined_columns {
        c.nullable = true;
    }
    let joined = LogicalPlan::Join {
        left: Box::new(grouped),
        right: Box::new(ids),
        join_type: JoinType::Full,
        on: vec![(
            column(m, SqlType::Int, false),
            column(0, SqlType::Int, false),
        )],
        filter: None,
        columns: joined_columns.clone(),
    };
    let on_nothing = LogicalPlan::Aggregate {
        input: Box::new(LogicalPlan::Values {
            rows: Vec::new(),
            columns: expanded_columns,
        }),
        group_by: Vec::new(),
        aggregates: agg.aggregates.clone(),
        columns: columns[m + 1..].to_vec(),
    };
    let mut all_columns = joined_columns;
    all_columns.extend(columns[m + 1..].iter().cloned());
    let all = LogicalPlan::Join {
        left: Box::new(joined),
        right: Box::new(on_nothing),
        join_type: JoinType::Inner,
        on: Vec::new(),
        filter: None,
        columns: all_columns,
    };
    let missing = BoundExpr::IsNull(Box::new(column(m, SqlType::Int, true)));
    let mut exprs: Vec<BoundExpr> = (0..m).map(|i| column(i, columns[i].ty, true)).collect();
    exprs.push(case(
        missing.clone(),
        column(m + 1 + a, SqlType::Int, true),
        column(m, SqlType::Int, true),
    ));
    for j in 0..a {
        let ty = columns[m + 1 + j].ty;
        exprs.push(case(
            missing.clone(),
            column(m + 2 + a + j, ty, true),
            column(m + 1 + j, ty, true),
        ));
    }
    LogicalPlan::Project {
        input: Box::new(all),
        exprs,
        columns,
    }
}

/// Binds `grouping(args)` in `binder`'s aggregate context.
pub(super) fn bind_grouping_call(
    binder: &mut ExprBinder<'_>,
    f: &ast::Function,
    span: Span,
) -> BindResult<BoundExpr> {
    let Some(agg) = binder.agg.as_deref() else {
        return Err(SqlError::new(
            state::GROUPING_ERROR,
            "grouping operations are not allowed here",
        )
        .at(span));
    };
    let ast::FunctionArguments::List(list) = &f.args else {
        return Err(not_supported("this grouping() call", span));
    };
    let mut args = Vec::new();
    let mut spans = Vec::new();
    for a in &list.args {
        let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = a else {
            return Err(not_supported("this grouping() argument", a.span()));
        };
        let mut plain = ExprBinder {
            scope: binder.scope,
            agg: None,
            ctx: binder.ctx,
        };
        args.push(default_literal_type(plain.bind(e)?));
        spans.push(e.span());
    }
    if args.is_empty() {
        return Err(SqlError::new(
            state::SYNTAX_ERROR,
            "grouping() takes at least one argument",
        )
        .at(span));
    }
    grouping_value(agg, &args, &spans, span)
}
