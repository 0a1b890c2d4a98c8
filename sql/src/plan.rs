//! The logical plan: what a statement computes, with SQL types, before any
//! choice of physical operators. `lower` turns it into an exec plan.
//!
//! Invariant: every `BoundExpr` knows its SQL type, and column indexes refer to
//! the output of the plan node below.

use std::sync::Arc;

use hyperctl_exec::arrow::array::ArrayRef;
use hyperctl_exec::arrow::datatypes::{Schema, SchemaRef};
use hyperctl_exec::{
    AggregateExpr, AggregateFunction, AggregateParam, BatchStream, BinaryOp, JoinType,
    PhysicalExpr, PhysicalPlan, ScalarFunction, ScanSource, SetOpKind, SortKey, WindowExpr,
    WindowFrame, WindowFunction, WorkTable,
};
use hyperctl_format::SqlType;
use hyperctl_storage::TableHandle;

/// An output column of a plan node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnInfo {
    pub(crate) name: String,
    pub(crate) ty: SqlType,
    pub(crate) nullable: bool,
    /// The table name or alias that qualifies it, for `t.col`.
    pub(crate) qualifier: Option<String>,
}

/// A bound scalar expression.
#[derive(Debug, Clone)]
pub(crate) enum BoundExpr {
    Column {
        index: usize,
        ty: SqlType,
        nullable: bool,
    },
    /// A one-row array; `untyped` for string and NULL literals whose type comes
    /// from their context.
    Literal {
        value: ArrayRef,
        ty: SqlType,
        untyped: bool,
    },
    Binary {
        op: BinaryOp,
        left: Box<BoundExpr>,
        right: Box<BoundExpr>,
        ty: SqlType,
    },
    Not(Box<BoundExpr>),
    Negate(Box<BoundExpr>),
    IsNull(Box<BoundExpr>),
    IsNotNull(Box<BoundExpr>),
    Cast {
        expr: Box<BoundExpr>,
        ty: SqlType,
    },
    /// A scalar function call, arguments already cast to what it takes.
    Function {
        func: ScalarFunction,
        args: Vec<BoundExpr>,
        ty: SqlType,
    },
    /// Searched CASE; results already coerced to `ty`.
    Case {
        branches: Vec<(BoundExpr, BoundExpr)>,
        else_expr: Option<Box<BoundExpr>>,
        ty: SqlType,
    },
    InList {
        expr: Box<BoundExpr>,
        list: Vec<BoundExpr>,
        negated: bool,
    },
    Like {
        expr: Box<BoundExpr>,
        pattern: Box<BoundExpr>,
        negated: bool,
        case_insensitive: bool,
        escape: Option<char>,
    },
    /// A column of the enclosing query's FROM clause (a correlated
    /// subquery's outer reference); decorrelation turns it into a column.
    Outer {
        index: usize,
        ty: SqlType,
        nullable: bool,
    },
    /// The result of a subquery or window function, bound before the plan
    /// node that computes it exists; replaced by a column once it does.
    Placeholder {
        id: usize,
        ty: SqlType,
        nullable: bool,
    },
}

impl PartialEq for BoundExpr {
    fn eq(&self, other: &Self) -> bool {
        use BoundExpr::*;
        match (self, other) {
            (Column { index: a, .. }, Column { index: b, .. }) => a == b,
            (
                Literal {
                    value: a, ty: ta, ..
                },
                Literal {
                    value: b, ty: tb, ..
                },
            ) => ta == tb && a.to_data() == b.to_data(),
            (
                Binary {
                    op: oa,
                    left: la,
                    right: ra,
                    ..
                },
                Binary {
                    op: ob,
                    left: lb,
                    right: rb,
                    ..
                },
            ) => oa == ob && la == lb && ra == rb,
            (Not(a), Not(b))
            | (Negate(a), Negate(b))
            | (IsNull(a), IsNull(b))
            | (IsNotNull(a), IsNotNull(b)) => a == b,
            (Cast { expr: a, ty: ta }, Cast { expr: b, ty: tb }) => ta == tb && a == b,
            (
                Function {
                    func: fa, args: aa, ..
                },
                Function {
                    func: fb, args: ab, ..
                },
            ) => fa == fb && aa == ab,
            (
                Case {
                    branches: ba,
                    else_expr: ea,
                    ..
                },
                Case {
                    branches: bb,
                    else_expr: eb,
                    ..
                },
            ) => ba == bb && ea == eb,
            (
                InList {
                    expr: xa,
                    list: la,
                    negated: na,
                },
                InList {
                    expr: xb,
                    list: lb,
                    negated: nb,
                },
            ) => xa == xb && la == lb && na == nb,
            (
                Like {
                    expr: xa,
                    pattern: pa,
                    negated: na,
                    case_insensitive: ca,
                    escape: ea,
                },
                Like {
                    expr: xb,
                    pattern: pb,
                    negated: nb,
                    case_insensitive: cb,
                    escape: eb,
                },
            ) => xa == xb && pa == pb && na == nb && ca == cb && ea == eb,
            (Outer { index: a, .. }, Outer { index: b, .. }) => a == b,
            (Placeholder { id: a, .. }, Placeholder { id: b, .. }) => a == b,
            _ => false,
        }
    }
}

impl BoundExpr {
    pub(crate) fn ty(&self) -> SqlType {
        match self {
            BoundExpr::Column { ty, .. }
            | BoundExpr::Literal { ty, .. }
            | BoundExpr::Binary { ty, .. }
            | BoundExpr::Cast { ty, .. }
            | BoundExpr::Function { ty, .. }
            | BoundExpr::Case { ty, .. }
            | BoundExpr::Outer { ty, .. }
            | BoundExpr::Placeholder { ty, .. } => *ty,
            BoundExpr::Not(_)
            | BoundExpr::IsNull(_)
            | BoundExpr::IsNotNull(_)
            | BoundExpr::InList { .. }
            | BoundExpr::Like { .. } => SqlType::Bool,
            BoundExpr::Negate(e) => e.ty(),
        }
    }

    pub(crate) fn nullable(&self) -> bool {
        match self {
            BoundExpr::Column { nullable, .. }
            | BoundExpr::Outer { nullable, .. }
            | BoundExpr::Placeholder { nullable, .. } => *nullable,
            BoundExpr::Literal { value, .. } => value.null_count() > 0,
            BoundExpr::Binary {
                left, right, op, ..
            } => match op {
                BinaryOp::IsDistinctFrom | BinaryOp::IsNotDistinctFrom => false,
                _ => {
                    left.nullable()
                        || right.nullable()
                        || matches!(op, BinaryOp::Div | BinaryOp::Mod)
                }
            },
            BoundExpr::Not(e) | BoundExpr::Negate(e) | BoundExpr::Cast { expr: e, .. } => {
                e.nullable()
            }
            BoundExpr::IsNull(_) | BoundExpr::IsNotNull(_) => false,
            BoundExpr::Function { func, args, .. } => {
                func_nullable(*func, args.iter().any(BoundExpr::nullable))
            }
            BoundExpr::Case {
                branches,
                else_expr,
                ..
            } => {
                else_expr.as_ref().is_none_or(|e| e.nullable())
                    || branches.iter().any(|(_, r)| r.nullable())
            }
            BoundExpr::InList { expr, list, .. } => {
                expr.nullable() || list.iter().any(BoundExpr::nullable)
            }
            BoundExpr::Like { expr, pattern, .. } => expr.nullable() || pattern.nullable(),
        }
    }

    /// Calls `f` with the index of every column the expression reads.
    pub(crate) fn visit_columns(&self, f: &mut dyn FnMut(usize)) {
        match self {
            BoundExpr::Column { index, .. } => f(*index),
            BoundExpr::Literal { .. } | BoundExpr::Outer { .. } | BoundExpr::Placeholder { .. } => {
            }
            BoundExpr::Binary { left, right, .. } => {
                left.visit_columns(f);
                right.visit_columns(f);
            }
            BoundExpr::Not(e)
            | BoundExpr::Negate(e)
            | BoundExpr::IsNull(e)
            | BoundExpr::IsNotNull(e)
            | BoundExpr::Cast { expr: e, .. } => e.visit_columns(f),
            BoundExpr::Function { args, .. } => args.iter().for_each(|a| a.visit_columns(f)),
            BoundExpr::Case {
                branches,
                else_expr,
                ..
            } => {
                for (when, then) in branches {
                    when.visit_columns(f);
                    then.visit_columns(f);
                }
                if let Some(e) = else_expr {
                    e.visit_columns(f);
                }
            }
            BoundExpr::InList { expr, list, .. } => {
                expr.visit_columns(f);
                list.iter().for_each(|e| e.visit_columns(f));
            }
            BoundExpr::Like { expr, pattern, .. } => {
                expr.visit_columns(f);
                pattern.visit_columns(f);
            }
        }
    }

    /// The same expression with every column index `i` replaced by `f(i)`.
    pub(crate) fn map_columns(&self, f: &dyn Fn(usize) -> usize) -> BoundExpr {
        self.rewrite(&|e| match e {
            BoundExpr::Column {
                index,
                ty,
                nullable,
            } => Some(BoundExpr::Column {
                index: f(*index),
                ty: *ty,
                nullable: *nullable,
            }),
            _ => None,
        })
    }

    /// The operands of a tree of ANDs (the expression itself otherwise).
    pub(crate) fn conjuncts(self) -> Vec<BoundExpr> {
        match self {
            BoundExpr::Binary {
                op: BinaryOp::And,
                left,
                right,
                ..
            } => {
                let mut out = left.conjuncts();
                out.extend(right.conjuncts());
                out
            }
            other => vec![other],
        }
    }

    /// The operands of a tree of ORs (the expression itself otherwise).
    pub(crate) fn disjuncts(self) -> Vec<BoundExpr> {
        match self {
            BoundExpr::Binary {
                op: BinaryOp::Or,
                left,
                right,
                ..
            } => {
                let mut out = left.disjuncts();
                out.extend(right.disjuncts());
                out
            }
            other => vec![other],
        }
    }

    /// The OR of `exprs`, `None` for none.
    pub(crate) fn or_all(exprs: Vec<BoundExpr>) -> Option<BoundExpr> {
        exprs.into_iter().reduce(|a, b| BoundExpr::Binary {
            op: BinaryOp::Or,
            left: Box::new(a),
            right: Box::new(b),
            ty: SqlType::Bool,
        })
    }

    /// The AND of `exprs`, `None` for none.
    pub(crate) fn and_all(exprs: Vec<BoundExpr>) -> Option<BoundExpr> {
        exprs.into_iter().reduce(|a, b| BoundExpr::Binary {
            op: BinaryOp::And,
            left: Box::new(a),
            right: Box::new(b),
            ty: SqlType::Bool,
        })
    }

    pub(crate) fn is_untyped_literal(&self) -> bool {
        matches!(self, BoundExpr::Literal { untyped: true, .. })
    }

    pub(crate) fn to_physical(&self) -> PhysicalExpr {
        match self {
            BoundExpr::Column { index, .. } => PhysicalExpr::Column { index: *index },
            // The binder replaces these before planning; should one slip
            // through, exec rejects the out-of-range column as internal.
            BoundExpr::Outer { .. } | BoundExpr::Placeholder { .. } => {
                PhysicalExpr::Column { index: usize::MAX }
            }
            BoundExpr::Literal { value, .. } => PhysicalExpr::Literal {
                value: value.clone(),
            },
            BoundExpr::Binary {
                op, left, right, ..
            } => PhysicalExpr::Binary {
                op: *op,
                left: Box::new(left.to_physical()),
                right: Box::new(right.to_physical()),
            },
            BoundExpr::Not(e) => PhysicalExpr::Not(Box::new(e.to_physical())),
            BoundExpr::Negate(e) => PhysicalExpr::Negate(Box::new(e.to_physical())),
            BoundExpr::IsNull(e) => PhysicalExpr::IsNull(Box::new(e.to_physical())),
            BoundExpr::IsNotNull(e) => PhysicalExpr::IsNotNull(Box::new(e.to_physical())),
            BoundExpr::Cast { expr, ty } => PhysicalExpr::Cast {
                expr: Box::new(expr.to_physical()),
                to: ty.to_arrow(),
            },
            BoundExpr::Function { func, args, .. } => PhysicalExpr::ScalarFunction {
                func: *func,
                args: args.iter().map(BoundExpr::to_physical).collect(),
            },
            BoundExpr::Case {
                branches,
                else_expr,
                ..
            } => PhysicalExpr::Case {
                branches: branches
                    .iter()
                    .map(|(w, t)| (w.to_physical(), t.to_physical()))
                    .collect(),
                else_expr: else_expr.as_ref().map(|e| Box::new(e.to_physical())),
            },
            BoundExpr::InList {
                expr,
                list,
                negated,
            } => PhysicalExpr::InList {
                expr: Box::new(expr.to_physical()),
                list: list.iter().map(BoundExpr::to_physical).collect(),
                negated: *negated,
            },
            BoundExpr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
                escape,
            } => PhysicalExpr::Like {
                expr: Box::new(expr.to_physical()),
                pattern: Box::new(pattern.to_physical()),
                negated: *negated,
                case_insensitive: *case_insensitive,
                escape: *escape,
            },
        }
    }
}

/// Whether a function call may be NULL: `concat` never is; the others are
/// NULL when an argument is, and can be NULL for non-NULL arguments only in
/// ways the argument nullability already covers (`nullif` is a CASE).
fn func_nullable(func: ScalarFunction, args_nullable: bool) -> bool {
    func.nullable(args_nullable)
}

/// A bound aggregate call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BoundAggregate {
    pub(crate) func: AggregateFunction,
    pub(crate) arg: Option<BoundExpr>,
    pub(crate) ty: SqlType,
    pub(crate) name: String,
    /// `f(DISTINCT x)`.
    pub(crate) distinct: bool,
    /// `FILTER (WHERE ...)`, over the aggregate's input.
    pub(crate) filter: Option<BoundExpr>,
    /// The order of a collecting aggregate's values (`string_agg(x, ','
    /// ORDER BY y)`, `WITHIN GROUP (ORDER BY x)`).
    pub(crate) order_by: Vec<BoundSortKey>,
    /// The constant parameter (separator, fraction).
    pub(crate) param: AggregateParam,
}

impl BoundAggregate {
    /// Every expression over the aggregate's input: argument, filter, keys.
    pub(crate) fn exprs(&self) -> impl Iterator<Item = &BoundExpr> {
        self.arg
            .iter()
            .chain(&self.filter)
            .chain(self.order_by.iter().map(|k| &k.expr))
    }

    /// Rewrites every expression over the aggregate's input.
    pub(crate) fn map_exprs(mut self, f: &mut dyn FnMut(&BoundExpr) -> BoundExpr) -> Self {
        self.arg = self.arg.as_ref().map(&mut *f);
        self.filter = self.filter.as_ref().map(&mut *f);
        for k in &mut self.order_by {
            k.expr = f(&k.expr);
        }
        self
    }

    /// The executor's aggregate, DISTINCT done by its accumulator (the
    /// two-phase plan of `lower_distinct_aggregate` builds its own).
    pub(crate) fn to_physical(&self) -> AggregateExpr {
        AggregateExpr::new(
            self.func,
            self.arg.as_ref().map(BoundExpr::to_physical),
            self.name.clone(),
        )
        .with_filter(self.filter.as_ref().map(BoundExpr::to_physical))
        .with_order_by(
            self.order_by
                .iter()
                .map(BoundSortKey::to_physical)
                .collect(),
        )
        .with_distinct(self.distinct)
        .with_param(self.param.clone())
    }
}

/// A bound window function call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BoundWindow {
    pub(crate) func: WindowFunction,
    pub(crate) args: Vec<BoundExpr>,
    pub(crate) frame: WindowFrame,
    /// `IGNORE NULLS` (first_value, last_value).
    pub(crate) ignore_nulls: bool,
    pub(crate) ty: SqlType,
    pub(crate) name: String,
}

/// A sort key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BoundSortKey {
    pub(crate) expr: BoundExpr,
    pub(crate) descending: bool,
    pub(crate) nulls_first: bool,
}

/// The logical plan of a query.
#[derive(Debug, Clone)]
pub(crate) enum LogicalPlan {
    /// The table columns at `projection` (the table's column count stands
    /// for the row position), described by `columns`.
    Scan {
        table: TableHandle,
        columns: Vec<ColumnInfo>,
        projection: Vec<usize>,
    },
    Values {
        rows: Vec<Vec<BoundExpr>>,
        columns: Vec<ColumnInfo>,
    },
    Filter {
        input: Box<LogicalPlan>,
        predicate: BoundExpr,
        /// The fraction of its input's rows the predicate keeps, measured
        /// on a sample of the table it filters (`sample.rs`); `None`:
        /// guessed from the predicate's form.
        keeps: Option<f64>,
    },
    Project {
        input: Box<LogicalPlan>,
        exprs: Vec<BoundExpr>,
        columns: Vec<ColumnInfo>,
    },
    Aggregate {
        input: Box<LogicalPlan>,
        group_by: Vec<BoundExpr>,
        aggregates: Vec<BoundAggregate>,
        columns: Vec<ColumnInfo>,
    },
    Sort {
        input: Box<LogicalPlan>,
        keys: Vec<BoundSortKey>,
    },
    Limit {
        input: Box<LogicalPlan>,
        skip: usize,
        fetch: Option<usize>,
    },
    /// Output: left columns then right columns. `on` pairs an expression
    /// over the left input with one of the same type over the right input;
    /// `filter` is over the joined row. No `on` means a nested-loop join.
    Join {
        left: Box<LogicalPlan>,
        right: Box<LogicalPlan>,
        join_type: JoinType,
        on: Vec<(BoundExpr, BoundExpr)>,
        filter: Option<BoundExpr>,
        columns: Vec<ColumnInfo>,
    },
    /// UNION / INTERSECT / EXCEPT; both inputs have `columns`' types.
    SetOp {
        left: Box<LogicalPlan>,
        right: Box<LogicalPlan>,
        kind: SetOpKind,
        all: bool,
        columns: Vec<ColumnInfo>,
    },
    /// At most one row, else error 21000 (a scalar subquery); `origin`
    /// packs the subquery's position (see `error::pack_position`).
    SingleRow {
        input: Box<LogicalPlan>,
        origin: u64,
    },
    /// Input columns plus one column per window function.
    Window {
        input: Box<LogicalPlan>,
        partition_by: Vec<BoundExpr>,
        order_by: Vec<BoundSortKey>,
        functions: Vec<BoundWindow>,
        columns: Vec<ColumnInfo>,
    },
    /// WITH RECURSIVE: `step` reads the previous round through `work`.
    RecursiveUnion {
        anchor: Box<LogicalPlan>,
        step: Box<LogicalPlan>,
        work: Arc<WorkTable>,
        distinct: bool,
        columns: Vec<ColumnInfo>,
    },
    /// The previous round of a recursive union.
    WorkScan {
        work: Arc<WorkTable>,
        columns: Vec<ColumnInfo>,
    },
    /// A file read through the load path (`external(...)` in FROM).
    External {
        source: Arc<crate::load::ExternalSource>,
        columns: Vec<ColumnInfo>,
    },
}

impl LogicalPlan {
    /// The output columns.
    pub(crate) fn columns(&self) -> &[ColumnInfo] {
        match self {
            LogicalPlan::Scan { columns, .. }
            | LogicalPlan::Values { columns, .. }
            | LogicalPlan::Project { columns, .. }
            | LogicalPlan::Aggregate { columns, .. }
            | LogicalPlan::Join { columns, .. }
            | LogicalPlan::SetOp { columns, .. }
            | LogicalPlan::Window { columns, .. }
            | LogicalPlan::RecursiveUnion { columns, .. }
            | LogicalPlan::WorkScan { columns, .. }
            | LogicalPlan::External { columns, .. } => columns,
            LogicalPlan::Filter { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::SingleRow { input, .. }
            | LogicalPlan::Limit { input, .. } => input.columns(),
        }
    }

    /// The estimated number of rows: exact for a table or VALUES, guessed
    /// above (filters by the kind of their conjuncts, joins by key sizes),
    /// for the join order (`optimize.rs`) and the build side of a join.
    pub(crate) fn estimated_rows(&self) -> Option<u64> {
        Some(match self {
            LogicalPlan::Scan { table, .. } => table.row_count(),
            LogicalPlan::Values { rows, .. } => rows.len() as u64,
            LogicalPlan::Filter {
                input,
                predicate,
                keeps,
            } => {
                let rows = input.estimated_rows()? as f64;
                let keeps = keeps.unwrap_or_else(|| selectivity(predicate));
                (rows * keeps).ceil().max(1.0) as u64
            }
            LogicalPlan::Project { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::Window { input, .. } => input.estimated_rows()?,
            LogicalPlan::SingleRow { .. } => 1,
            LogicalPlan::Limit { input, fetch, .. } => match (input.estimated_rows(), fetch) {
                (Some(n), Some(f)) => n.min(*f as u64),
                (n, None) => n?,
                (None, Some(f)) => *f as u64,
            },
            LogicalPlan::Aggregate {
                input, group_by, ..
            } => {
                if group_by.is_empty() {
                    1
                } else {
                    (input.estimated_rows()? / 2).max(1)
                }
            }
            LogicalPlan::Join {
                left,
                right,
                join_type,
                on,
                ..
            } => {
                let (l, r) = (left.estimated_rows()?, right.estimated_rows()?);
                match join_type {
                    JoinType::Semi => semi_join_rows(left, l, right, r, on),
                    JoinType::Anti | JoinType::Mark => l,
                    JoinType::RightSemi | JoinType::RightAnti => r,
                    _ if on.is_empty() => l.saturating_mul(r),
                    JoinType::Inner => inner_join_rows(left, l, right, r, on),
                    JoinType::Left => l,
                    JoinType::Right => r,
                    _ => l.max(r),
                }
            }
            LogicalPlan::SetOp { left, right, .. } => {
                left.estimated_rows()? + right.estimated_rows()?
            }
            LogicalPlan::RecursiveUnion { .. }
            | LogicalPlan::WorkScan { .. }
            | LogicalPlan::External { .. } => return None,
        })
    }

    /// The exec plan that computes this.
    pub(crate) fn lower(&self) -> PhysicalPlan {
        match self {
            LogicalPlan::Scan {
                table, projection, ..
            } => scan(table, projection, None),
            LogicalPlan::Values { rows, columns } => PhysicalPlan::Values {
                schema: arrow_schema(columns),
                rows: rows
                    .iter()
                    .map(|r| r.iter().map(BoundExpr::to_physical).collect())
                    .collect(),
            },
            // Stacked filters (a BETWEEN pushed down as two conjuncts) run
            // as one: its conjuncts share a pass, and all their ranges skip
            // blocks.
            LogicalPlan::Filter {
                input,
                predicate,
                keeps,
            } if matches!(input.as_ref(), LogicalPlan::Filter { .. }) => {
                merge_filters(input.as_ref().clone(), predicate.clone(), *keeps).lower()
            }
            LogicalPlan::Filter {
                input, predicate, ..
            } => {
                let input = match input.as_ref() {
                    // Block skipping: the filter's ranges go into the scan.
                    LogicalPlan::Scan {
                        table, projection, ..
                    } => scan(table, projection, Some(predicate)),
                    other => other.lower(),
                };
                PhysicalPlan::Filter {
                    input: Box::new(input),
                    predicate: predicate.to_physical(),
                }
            }
            LogicalPlan::Project {
                input,
                exprs,
                columns,
            } => PhysicalPlan::Projection {
                input: Box::new(input.lower()),
                exprs: exprs
                    .iter()
                    .zip(columns)
                    .map(|(e, c)| (e.to_physical(), c.name.clone()))
                    .collect(),
            },
            LogicalPlan::Aggregate {
                input,
                group_by,
                aggregates,
                columns,
            } if two_phase_distinct(aggregates) => {
                lower_distinct_aggregate(input.lower(), group_by, aggregates, columns)
            }
            LogicalPlan::Aggregate {
                input,
                group_by,
                aggregates,
                columns,
            } => PhysicalPlan::HashAggregate {
                input: Box::new(input.lower()),
                group_by: group_by
                    .iter()
                    .zip(columns)
                    .map(|(e, c)| (e.to_physical(), c.name.clone()))
                    .collect(),
                aggregates: aggregates.iter().map(BoundAggregate::to_physical).collect(),
            },
            LogicalPlan::Sort { input, keys } => PhysicalPlan::Sort {
                input: Box::new(input.lower()),
                keys: keys
                    .iter()
                    .map(|k| SortKey {
                        expr: k.expr.to_physical(),
                        descending: k.descending,
                        nulls_first: k.nulls_first,
                    })
                    .collect(),
            },
            LogicalPlan::Limit { input, skip, fetch } => PhysicalPlan::Limit {
                input: Box::new(input.lower()),
                skip: *skip,
                fetch: *fetch,
            },
            LogicalPlan::Join {
                left,
                right,
                join_type,
                on,
                filter,
                columns,
            } => lower_join(left, right, *join_type, on, filter.as_ref(), columns),
            LogicalPlan::SetOp {
                left,
                right,
                kind,
                all,
                ..
            } => PhysicalPlan::SetOp {
                left: Box::new(left.lower()),
                right: Box::new(right.lower()),
                kind: *kind,
                all: *all,
            },
            LogicalPlan::SingleRow { input, origin } => PhysicalPlan::SingleRow {
                input: Box::new(input.lower()),
                origin: *origin,
            },
            LogicalPlan::Window {
                input,
                partition_by,
                order_by,
                functions,
                ..
            } => PhysicalPlan::Window {
                input: Box::new(input.lower()),
                partition_by: partition_by.iter().map(BoundExpr::to_physical).collect(),
                order_by: order_by.iter().map(BoundSortKey::to_physical).collect(),
                functions: functions
                    .iter()
                    .map(|w| WindowExpr {
                        func: w.func,
                        args: w.args.iter().map(BoundExpr::to_physical).collect(),
                        frame: w.frame,
                        ignore_nulls: w.ignore_nulls,
                        name: w.name.clone(),
                    })
                    .collect(),
            },
            LogicalPlan::RecursiveUnion {
                anchor,
                step,
                work,
                distinct,
                ..
            } => PhysicalPlan::RecursiveUnion {
                anchor: Box::new(anchor.lower()),
                step: Box::new(step.lower()),
                work: work.clone(),
                distinct: *distinct,
            },
            LogicalPlan::WorkScan { work, columns } => PhysicalPlan::Scan {
                source: work.clone(),
                projection: (0..columns.len()).collect(),
            },
            LogicalPlan::External { source, columns } => PhysicalPlan::Scan {
                source: source.clone(),
                projection: (0..columns.len()).collect(),
            },
        }
    }

    /// Calls `f` on every expression of this node (not of its inputs).
    pub(crate) fn node_exprs(&self, f: &mut dyn FnMut(&BoundExpr)) {
        match self {
            LogicalPlan::Values { rows, .. } => rows.iter().flatten().for_each(&mut *f),
            LogicalPlan::Filter { predicate, .. } => f(predicate),
            LogicalPlan::Project { exprs, .. } => exprs.iter().for_each(&mut *f),
            LogicalPlan::Aggregate {
                group_by,
                aggregates,
                ..
            } => {
                group_by.iter().for_each(&mut *f);
                aggregates
                    .iter()
                    .flat_map(BoundAggregate::exprs)
                    .for_each(&mut *f);
            }
            LogicalPlan::Sort { keys, .. } => keys.iter().for_each(|k| f(&k.expr)),
            LogicalPlan::Join { on, filter, .. } => {
                for (l, r) in on {
                    f(l);
                    f(r);
                }
                filter.iter().for_each(&mut *f);
            }
            LogicalPlan::Window {
                partition_by,
                order_by,
                functions,
                ..
            } => {
                partition_by.iter().for_each(&mut *f);
                order_by.iter().for_each(|k| f(&k.expr));
                functions.iter().flat_map(|w| &w.args).for_each(&mut *f);
            }
            LogicalPlan::Scan { .. }
            | LogicalPlan::Limit { .. }
            | LogicalPlan::SetOp { .. }
            | LogicalPlan::SingleRow { .. }
            | LogicalPlan::RecursiveUnion { .. }
            | LogicalPlan::WorkScan { .. }
            | LogicalPlan::External { .. } => {}
        }
    }

    /// The inputs of this node.
    pub(crate) fn inputs(&self) -> Vec<&LogicalPlan> {
        match self {
            LogicalPlan::Scan { .. }
            | LogicalPlan::Values { .. }
            | LogicalPlan::WorkScan { .. }
            | LogicalPlan::External { .. } => {
                vec![]
            }
            LogicalPlan::Filter { input, .. }
            | LogicalPlan::Project { input, .. }
            | LogicalPlan::Aggregate { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::Limit { input, .. }
            | LogicalPlan::SingleRow { input, .. }
            | LogicalPlan::Window { input, .. } => vec![input],
            LogicalPlan::Join { left, right, .. } | LogicalPlan::SetOp { left, right, .. } => {
                vec![left, right]
            }
            LogicalPlan::RecursiveUnion { anchor, step, .. } => vec![anchor, step],
        }
    }
}

impl BoundSortKey {
    pub(crate) fn to_physical(&self) -> SortKey {
        SortKey {
            expr: self.expr.to_physical(),
            descending: self.descending,
            nulls_first: self.nulls_first,
        }
    }
}

impl BoundExpr {
    /// Whether the expression reads an outer reference.
    pub(crate) fn has_outer(&self) -> bool {
        let mut found = false;
        self.visit(&mut |e| found |= matches!(e, BoundExpr::Outer { .. }));
        found
    }

    /// Whether the expression contains a placeholder.
    pub(crate) fn has_placeholder(&self) -> bool {
        let mut found = false;
        self.visit(&mut |e| found |= matches!(e, BoundExpr::Placeholder { .. }));
        found
    }

    /// Calls `f` on this expression and each sub-expression.
    pub(crate) fn visit(&self, f: &mut dyn FnMut(&BoundExpr)) {
        f(self);
        match self {
            BoundExpr::Column { .. }
            | BoundExpr::Literal { .. }
            | BoundExpr::Outer { .. }
            | BoundExpr::Placeholder { .. } => {}
            BoundExpr::Binary { left, right, .. } => {
                left.visit(f);
                right.visit(f);
            }
            BoundExpr::Not(e)
            | BoundExpr::Negate(e)
            | BoundExpr::IsNull(e)
            | BoundExpr::IsNotNull(e)
            | BoundExpr::Cast { expr: e, .. } => e.visit(f),
            BoundExpr::Function { args, .. } => args.iter().for_each(|a| a.visit(f)),
            BoundExpr::Case {
                branches,
                else_expr,
                ..
            } => {
                for (w, t) in branches {
                    w.visit(f);
                    t.visit(f);
                }
                if let Some(e) = else_expr {
                    e.visit(f);
                }
            }
            BoundExpr::InList { expr, list, .. } => {
                expr.visit(f);
                list.iter().for_each(|e| e.visit(f));
            }
            BoundExpr::Like { expr, pattern, .. } => {
                expr.visit(f);
                pattern.visit(f);
            }
        }
    }

    /// The same expression with each leaf rewritten by `f` (which returns
    /// `None` to keep a leaf).
    pub(crate) fn rewrite(&self, f: &dyn Fn(&BoundExpr) -> Option<BoundExpr>) -> BoundExpr {
        if let Some(e) = f(self) {
            return e;
        }
        let go = |e: &BoundExpr| Box::new(e.rewrite(f));
        match self {
            BoundExpr::Column { .. }
            | BoundExpr::Literal { .. }
            | BoundExpr::Outer { .. }
            | BoundExpr::Placeholder { .. } => self.clone(),
            BoundExpr::Binary {
                op,
                left,
                right,
                ty,
            } => BoundExpr::Binary {
                op: *op,
                left: go(left),
                right: go(right),
                ty: *ty,
            },
            BoundExpr::Not(e) => BoundExpr::Not(go(e)),
            BoundExpr::Negate(e) => BoundExpr::Negate(go(e)),
            BoundExpr::IsNull(e) => BoundExpr::IsNull(go(e)),
            BoundExpr::IsNotNull(e) => BoundExpr::IsNotNull(go(e)),
            BoundExpr::Cast { expr, ty } => BoundExpr::Cast {
                expr: go(expr),
                ty: *ty,
            },
            BoundExpr::Function { func, args, ty } => BoundExpr::Function {
                func: *func,
                args: args.iter().map(|a| a.rewrite(f)).collect(),
                ty: *ty,
            },
            BoundExpr::Case {
                branches,
                else_expr,
                ty,
            } => BoundExpr::Case {
                branches: branches
                    .iter()
                    .map(|(w, t)| (w.rewrite(f), t.rewrite(f)))
                    .collect(),
                else_expr: else_expr.as_deref().map(go),
                ty: *ty,
            },
            BoundExpr::InList {
                expr,
                list,
                negated,
            } => BoundExpr::InList {
                expr: go(expr),
                list: list.iter().map(|e| e.rewrite(f)).collect(),
                negated: *negated,
            },
            BoundExpr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
                escape,
            } => BoundExpr::Like {
                expr: go(expr),
                pattern: go(pattern),
                negated: *negated,
                case_insensitive: *case_insensitive,
                escape: *escape,
            },
        }
    }
}

/// An aggregate with DISTINCT aggregates as two hash aggregates: the first
/// groups by the keys and the DISTINCT argument `x` (one row per distinct
/// value) and computes partials of the other aggregates; the second groups
/// by the keys, runs the DISTINCT ones over `x`, and combines the partials
/// (a count is the sum of partial counts, a sum the sum of partial sums, min
/// and max again min and max). Only for the aggregates that
/// `two_phase_distinct` admits.
/// Whether the DISTINCT aggregates can run as two aggregations
/// (`lower_distinct_aggregate`): there is one, all of them share one
/// argument, have no FILTER and collect nothing, and the others are
/// decomposable (their
/// partial results aggregate again: `count` with `sum`, not `avg`). Else
/// the accumulators do DISTINCT themselves, keeping every value.
fn two_phase_distinct(aggregates: &[BoundAggregate]) -> bool {
    use AggregateFunction as F;
    let mut distinct = aggregates.iter().filter(|a| a.distinct);
    let Some(first) = distinct.next() else {
        return false;
    };
    let decomposable = |a: &BoundAggregate| {
        matches!(
            a.func,
            F::Count | F::CountStar | F::Sum | F::Min | F::Max | F::BoolAnd | F::BoolOr
        )
    };
    aggregates.iter().all(|a| {
        if a.distinct {
            a.arg == first.arg && a.filter.is_none() && !a.func.is_collecting()
        } else {
            decomposable(a)
        }
    })
}

fn lower_distinct_aggregate(
    input: PhysicalPlan,
    group_by: &[BoundExpr],
    aggregates: &[BoundAggregate],
    columns: &[ColumnInfo],
) -> PhysicalPlan {
    use hyperctl_exec::AggregateFunction as F;
    let k = group_by.len();
    let distinct_arg = aggregates
        .iter()
        .find(|a| a.distinct && !a.func.is_collecting())
        .and_then(|a| a.arg.as_ref())
        .map(BoundExpr::to_physical);
    let mut first_keys: Vec<(PhysicalExpr, String)> = group_by
        .iter()
        .enumerate()
        .map(|(i, e)| (e.to_physical(), format!("#k{i}")))
        .collect();
    first_keys.push((
        distinct_arg.unwrap_or(PhysicalExpr::Column { index: usize::MAX }),
        "#x".into(),
    ));
    let mut partials = Vec::new();
    let mut second = Vec::new();
    let col = |index| Some(PhysicalExpr::Column { index });
    for (i, a) in aggregates.iter().enumerate() {
        let name = format!("#a{i}");
        if a.distinct {
            second.push(AggregateExpr::new(a.func, col(k), name));
            continue;
        }
        let partial = k + 1 + partials.len();
        let mut p = a.to_physical();
        p.name = format!("#p{i}");
        partials.push(p);
        let func = match a.func {
            F::Count | F::CountStar => F::Sum,
            other => other,
        };
        second.push(AggregateExpr::new(func, col(partial), name));
    }
    let first = PhysicalPlan::HashAggregate {
        input: Box::new(input),
        group_by: first_keys,
        aggregates: partials,
    };
    let second = PhysicalPlan::HashAggregate {
        input: Box::new(first),
        group_by: (0..k)
            .map(|i| (PhysicalExpr::Column { index: i }, columns[i].name.clone()))
            .collect(),
        aggregates: second,
    };
    // Names as the single aggregate gives them; without GROUP BY, a count
    // over no rows is 0, not the NULL sum of no partials.
    let exprs = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let column = PhysicalExpr::Column { index: i };
            let is_count = i >= k
                && matches!(aggregates[i - k].func, F::Count | F::CountStar)
                && !aggregates[i - k].distinct;
            let expr = if k == 0 && is_count {
                PhysicalExpr::Case {
                    branches: vec![(
                        PhysicalExpr::IsNull(Box::new(column.clone())),
                        PhysicalExpr::Literal {
                            value: Arc::new(hyperctl_exec::arrow::array::Int64Array::from(vec![
                                0i64,
                            ])),
                        },
                    )],
                    else_expr: Some(Box::new(column)),
                }
            } else {
                column
            };
            (expr, c.name.clone())
        })
        .collect();
    PhysicalPlan::Projection {
        input: Box::new(second),
        exprs,
    }
}

/// A scan of `table`'s columns at `projection`; with a filter `predicate`
/// over its output, that predicate's ranges skip blocks.
fn scan(table: &TableHandle, projection: &[usize], predicate: Option<&BoundExpr>) -> PhysicalPlan {
    let n = table.def().columns.len();
    let ranges = predicate.map_or_else(Vec::new, |p| {
        crate::pushdown::scan_ranges(p, projection.len())
            .into_iter()
            .filter_map(|(c, range)| projection.get(c).filter(|&&t| t < n).map(|&t| (t, range)))
            .collect()
    });
    let in_lists = predicate.map_or_else(Vec::new, |p| {
        crate::pushdown::scan_in_lists(p, projection.len())
            .into_iter()
            .filter_map(|(c, list)| projection.get(c).filter(|&&t| t < n).map(|&t| (t, list)))
            .collect()
    });
    PhysicalPlan::Scan {
        source: Arc::new(TableSource {
            table: table.clone(),
            positions: projection.iter().any(|&c| c >= n),
            ranges,
            in_lists,
        }),
        projection: projection.to_vec(),
    }
}

/// `Filter(predicate, input)` with a filter `input` as one filter whose
/// predicate is the AND of both (their conjuncts then share a pass and all
/// reach a scan below); the estimate is the product of the two. Any other
/// `input` gets the filter as it is.
pub(crate) fn merge_filters(
    input: LogicalPlan,
    predicate: BoundExpr,
    keeps: Option<f64>,
) -> LogicalPlan {
    let LogicalPlan::Filter {
        input: inner,
        predicate: inner_predicate,
        keeps: inner_keeps,
    } = input
    else {
        return LogicalPlan::Filter {
            input: Box::new(input),
            predicate,
            keeps,
        };
    };
    let keeps = keeps.unwrap_or_else(|| selectivity(&predicate))
        * inner_keeps.unwrap_or_else(|| selectivity(&inner_predicate));
    LogicalPlan::Filter {
        input: inner,
        predicate: BoundExpr::Binary {
            op: BinaryOp::And,
            left: Box::new(inner_predicate),
            right: Box::new(predicate),
            ty: SqlType::Bool,
        },
        keeps: Some(keeps),
    }
}

/// The guessed fraction of rows a predicate keeps: an equality 10%, a
/// range 33%, IN 10% per item, LIKE 25%, AND multiplies, OR adds.
fn selectivity(predicate: &BoundExpr) -> f64 {
    match predicate {
        BoundExpr::Binary {
            op, left, right, ..
        } => match op {
            BinaryOp::And => selectivity(left) * selectivity(right),
            BinaryOp::Or => (selectivity(left) + selectivity(right)).min(1.0),
            BinaryOp::Eq | BinaryOp::IsNotDistinctFrom => 0.1,
            BinaryOp::NotEq | BinaryOp::IsDistinctFrom => 0.9,
            BinaryOp::Lt | BinaryOp::LtEq | BinaryOp::Gt | BinaryOp::GtEq => 0.33,
            _ => 0.5,
        },
        BoundExpr::InList { list, negated, .. } => {
            let s = (0.1 * list.len() as f64).min(1.0);
            if *negated { 1.0 - s } else { s }
        }
        BoundExpr::Like { negated, .. } => {
            if *negated {
                0.75
            } else {
                0.25
            }
        }
        BoundExpr::Not(e) => 1.0 - selectivity(e),
        BoundExpr::IsNull(_) => 0.1,
        BoundExpr::IsNotNull(_) => 0.9,
        _ => 0.5,
    }
}

/// Rows of an inner equi-join of `l` and `r` rows: |l| * |r| / the distinct
/// values of its most selective key (the larger of its two sides' counts,
/// from their tables' value ranges), as the join order estimates them
/// (`optimize.rs`); without a known count, a key joins a foreign key: the
/// larger side's rows.
fn inner_join_rows(
    left: &LogicalPlan,
    l: u64,
    right: &LogicalPlan,
    r: u64,
    on: &[(BoundExpr, BoundExpr)],
) -> u64 {
    use crate::optimize::{key_distinct, rows_over_keys};
    let keys =
        on.iter().filter_map(
            |(lk, rk)| match (key_distinct(left, lk), key_distinct(right, rk)) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
        );
    rows_over_keys(l as f64 * r as f64, keys).map_or(l.max(r), |rows| rows.ceil() as u64)
}

/// Rows a semi join keeps of its `l` left rows: the share of the left key's
/// distinct values that the right side's `r` rows can match (each right row
/// holds at most one key), when the left key is a table column with a known
/// value range; else all of them.
fn semi_join_rows(
    left: &LogicalPlan,
    l: u64,
    right: &LogicalPlan,
    r: u64,
    on: &[(BoundExpr, BoundExpr)],
) -> u64 {
    use crate::optimize::key_distinct;
    let share = on
        .iter()
        .filter_map(|(lk, rk)| {
            let left_keys = key_distinct(left, lk)?;
            let right_keys = key_distinct(right, rk).map_or(r as f64, |d| d.min(r as f64));
            Some((right_keys / left_keys).min(1.0))
        })
        .fold(1.0f64, f64::min);
    ((l as f64 * share).ceil() as u64).max(1)
}

/// A hash join when there are equal keys, a nested-loop join otherwise. An
/// inner hash join builds on its smaller input when both row counts are
/// known: the inputs are swapped and a projection restores the column order.
fn lower_join(
    left: &LogicalPlan,
    right: &LogicalPlan,
    join_type: JoinType,
    on: &[(BoundExpr, BoundExpr)],
    filter: Option<&BoundExpr>,
    columns: &[ColumnInfo],
) -> PhysicalPlan {
    if on.is_empty() {
        return PhysicalPlan::NestedLoopJoin {
            left: Box::new(left.lower()),
            right: Box::new(right.lower()),
            condition: filter.map(BoundExpr::to_physical),
            join_type,
        };
    }
    // The build side is the smaller input. Semi and Anti keep left rows;
    // swapped, they become RightSemi / RightAnti, which keep build rows.
    let (swapped_type, factor) = match join_type {
        JoinType::Inner => (JoinType::Inner, 1),
        // Their output comes only after the whole probe side: swap when it
        // clearly pays.
        JoinType::Semi => (JoinType::RightSemi, 4),
        JoinType::Anti => (JoinType::RightAnti, 4),
        _ => (join_type, 0),
    };
    let swap = factor > 0
        && matches!(
            (left.estimated_rows(), right.estimated_rows()),
            (Some(l), Some(r)) if l.saturating_mul(factor) < r
        );
    if !swap {
        return PhysicalPlan::HashJoin {
            left: Box::new(left.lower()),
            right: Box::new(right.lower()),
            on: on
                .iter()
                .map(|(l, r)| (l.to_physical(), r.to_physical()))
                .collect(),
            filter: filter.map(BoundExpr::to_physical),
            join_type,
        };
    }
    let (nl, nr) = (left.columns().len(), right.columns().len());
    let filter = filter.map(|f| {
        f.map_columns(&|i| if i < nl { i + nr } else { i - nl })
            .to_physical()
    });
    let join = PhysicalPlan::HashJoin {
        left: Box::new(right.lower()),
        right: Box::new(left.lower()),
        on: on
            .iter()
            .map(|(l, r)| (r.to_physical(), l.to_physical()))
            .collect(),
        filter,
        join_type: swapped_type,
    };
    if swapped_type != JoinType::Inner {
        // The kept rows are the build side's: the left input's columns.
        return join;
    }
    let exprs = (0..nl)
        .map(|i| nr + i)
        .chain(0..nr)
        .zip(columns)
        .map(|(index, c)| (PhysicalExpr::Column { index }, c.name.clone()))
        .collect();
    PhysicalPlan::Projection {
        input: Box::new(join),
        exprs,
    }
}

/// The Arrow schema of a list of columns (SQL types in the field metadata).
pub(crate) fn arrow_schema(columns: &[ColumnInfo]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| c.ty.arrow_field(&c.name, c.nullable))
            .collect::<Vec<_>>(),
    ))
}

/// Name of the hidden column with each row's position that DELETE and UPDATE
/// scan (column index = the table's column count).
pub(crate) const ROW_POSITION: &str = "__hyperctl_row_position";

/// A stored table as an exec scan source; with `positions`, its schema has
/// one more column, [`ROW_POSITION`] (BIGINT).
#[derive(Debug)]
struct TableSource {
    table: TableHandle,
    positions: bool,
    /// Range predicates for block skipping and row selection (`pushdown.rs`).
    ranges: Vec<(usize, hyperctl_format::ColumnRange)>,
    /// `IN (literals)` lists, likewise.
    in_lists: Vec<(usize, Vec<hyperctl_format::StatValue>)>,
}

impl ScanSource for TableSource {
    fn schema(&self) -> SchemaRef {
        let schema = self.table.def().arrow_schema();
        if !self.positions {
            return schema;
        }
        let mut fields: Vec<_> = schema.fields().iter().map(|f| (**f).clone()).collect();
        fields.push(SqlType::BigInt.arrow_field(ROW_POSITION, false));
        Arc::new(Schema::new(fields))
    }

    fn scan(&self, projection: &[usize]) -> hyperctl_exec::Result<BatchStream> {
        self.stream(projection, 0..self.table.part_count())
    }

    /// `schema.table`, and the columns whose ranges skip blocks and select
    /// rows in storage.
    fn describe(&self) -> String {
        let def = self.table.def();
        let mut text = format!("{}.{}", def.schema, def.name);
        if !self.ranges.is_empty() || !self.in_lists.is_empty() {
            let mut names: Vec<&str> = Vec::new();
            let columns = self.ranges.iter().map(|(c, _)| c);
            for c in columns.chain(self.in_lists.iter().map(|(c, _)| c)) {
                if let Some(c) = def.columns.get(*c)
                    && !names.contains(&c.name.as_str())
                {
                    names.push(&c.name);
                }
            }
            text.push_str(&format!(
                " (block skipping and row selection on {})",
                names.join(", ")
            ));
        }
        text
    }

    /// One part per block (and one for the tail), read independently by
    /// exec's workers.
    fn scan_partitions(&self, projection: &[usize]) -> hyperctl_exec::Result<Vec<BatchStream>> {
        (0..self.table.part_count())
            .map(|p| self.stream(projection, p..p + 1))
            .collect()
    }
}

impl TableSource {
    fn stream(
        &self,
        projection: &[usize],
        parts: std::ops::Range<usize>,
    ) -> hyperctl_exec::Result<BatchStream> {
        let n = self.table.def().columns.len();
        let real: Vec<usize> = projection.iter().copied().filter(|i| *i < n).collect();
        let wants_position = projection.len() > real.len();
        let mut options = hyperctl_storage::ScanOptions::new(&real)
            .with_row_positions(wants_position)
            .with_row_selection(true);
        for (column, range) in &self.ranges {
            options = options.with_range(*column, range.clone());
        }
        for (column, list) in &self.in_lists {
            options = options.with_in_list(*column, list.clone());
        }
        let scan = self
            .table
            .scan_parts(&options, parts)
            .map_err(storage_to_exec)?;
        if !wants_position {
            return Ok(Box::new(scan.map(|b| b.map_err(storage_to_exec))));
        }
        let schema = Arc::new(self.schema().project(projection)?);
        let projection = projection.to_vec();
        Ok(Box::new(scan.map(move |b| {
            let b = b.map_err(storage_to_exec)?;
            let positions = hyperctl_exec::arrow::compute::cast(
                b.column(real.len()),
                &hyperctl_exec::arrow::datatypes::DataType::Int64,
            )?;
            let mut next_real = 0;
            let columns = projection
                .iter()
                .map(|&i| {
                    if i >= n {
                        positions.clone()
                    } else {
                        next_real += 1;
                        b.column(next_real - 1).clone()
                    }
                })
                .collect();
            let options = hyperctl_exec::arrow::record_batch::RecordBatchOptions::new()
                .with_row_count(Some(b.num_rows()));
            Ok(
                hyperctl_exec::arrow::record_batch::RecordBatch::try_new_with_options(
                    schema.clone(),
                    columns,
                    &options,
                )?,
            )
        })))
    }
}

/// Storage errors cross the exec boundary as `Internal` wrapping their text;
/// the connection reports them with the table name.
fn storage_to_exec(e: hyperctl_storage::Error) -> hyperctl_exec::Error {
    hyperctl_exec::Error::Source {
        source: Box::new(e),
    }
}
