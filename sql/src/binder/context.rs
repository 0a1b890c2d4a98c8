//! The binding context of one query level: the catalog, the CTEs in scope,
//! the enclosing query's FROM scope (for correlated subqueries), and what
//! expressions of this level left to be planned (subqueries and window
//! functions, bound as placeholders).
//!
//! Invariant: a placeholder id is unique within its context, and every
//! placeholder an expression of this level holds is replaced by a column
//! before the plan leaves `bind_select`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use hyperctl_exec::{BinaryOp, WorkTable};
use hyperctl_format::SqlType;
use sqlparser::ast;
use sqlparser::tokenizer::Span;

use super::{CatalogView, Scope};
use crate::error::{SqlError, state};
use crate::plan::{BoundExpr, BoundSortKey, BoundWindow, ColumnInfo, LogicalPlan};

/// A CTE visible by name.
#[derive(Debug, Clone)]
pub(crate) enum CteBody {
    /// A bound query, planned again at each reference.
    Plan(LogicalPlan),
    /// The recursive reference inside a `WITH RECURSIVE` step.
    Work {
        work: Arc<WorkTable>,
        columns: Vec<ColumnInfo>,
        used: Rc<Cell<bool>>,
    },
}

/// What kind of expression a subquery is bound for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubKind {
    Scalar,
    Exists,
    In,
    /// A `LATERAL` derived table (any number of columns and rows).
    Lateral,
}

/// What a correlated subquery's root SELECT found: its source (FROM and
/// uncorrelated WHERE), the correlated WHERE conjuncts (over the source's
/// columns and `Outer` references), and per kind what else is needed.
#[derive(Debug, Clone)]
pub(crate) enum Correlation {
    /// EXISTS: the source and the conjuncts.
    Exists {
        source: LogicalPlan,
        preds: Vec<BoundExpr>,
    },
    /// IN: also the select-list expression over the source.
    In {
        source: LogicalPlan,
        preds: Vec<BoundExpr>,
        inner: BoundExpr,
    },
    /// A scalar aggregate grouped by the inner sides of equality conjuncts:
    /// `plan` gives (value, key..., TRUE); `outer_keys` are the outer sides;
    /// `empty` gives the value over no rows when it is not NULL.
    Scalar {
        plan: LogicalPlan,
        outer_keys: Vec<BoundExpr>,
        empty: Option<LogicalPlan>,
    },
    /// Rows, not an aggregate, correlated by equality conjuncts: `plan`
    /// gives (value..., key...) with `width` values, then, for a scalar
    /// subquery, the number of rows of its key (BIGINT) for the check that
    /// it matched at most one, or, for LATERAL, the source columns that
    /// `residual` reads; `outer_keys` are the outer sides of the keys.
    Rows {
        plan: LogicalPlan,
        outer_keys: Vec<BoundExpr>,
        /// LATERAL only: other correlated conditions, over `plan`'s
        /// columns and outer references.
        residual: Vec<BoundExpr>,
        width: usize,
    },
}

/// How a subquery joins the query it is part of; each adds one column.
#[derive(Debug, Clone)]
pub(crate) enum SubJoin {
    /// An uncorrelated scalar subquery: `plan` has one column and at most
    /// one row (a `SingleRow` node checks).
    Scalar { plan: LogicalPlan },
    /// A correlated scalar aggregate (see [`Correlation::Scalar`]).
    ScalarGrouped {
        plan: LogicalPlan,
        outer_keys: Vec<BoundExpr>,
        empty: Option<LogicalPlan>,
    },
    /// A correlated scalar subquery over rows (see [`Correlation::Rows`]):
    /// a LEFT JOIN on the keys, where a key with more than one row is an
    /// error (tagged `origin`).
    ScalarRows {
        plan: LogicalPlan,
        outer_keys: Vec<BoundExpr>,
        origin: u64,
    },
    /// EXISTS as a value: TRUE when a row of `plan` meets `condition`
    /// (over the query's columns then `plan`'s).
    Exists {
        plan: LogicalPlan,
        condition: Option<BoundExpr>,
    },
    /// `outer IN (plan)`: `inner` over `plan`, `filter` (correlation) over
    /// the query's columns then `plan`'s.
    In {
        plan: LogicalPlan,
        outer: BoundExpr,
        inner: BoundExpr,
        filter: Option<BoundExpr>,
    },
    /// `outer op ANY (plan)` for `op` other than `=`: as `In`, but the
    /// comparison is any operator (a nested-loop Mark join).
    Compare {
        plan: LogicalPlan,
        outer: BoundExpr,
        inner: BoundExpr,
        op: BinaryOp,
        filter: Option<BoundExpr>,
    },
}

/// A subquery waiting for its join.
#[derive(Debug, Clone)]
pub(crate) struct PendingSubquery {
    pub(crate) id: usize,
    key: String,
    pub(crate) join: SubJoin,
    pub(crate) ty: SqlType,
}

/// A window function waiting for its window node.
#[derive(Debug, Clone)]
pub(crate) struct PendingWindow {
    pub(crate) id: usize,
    pub(crate) partition_by: Vec<BoundExpr>,
    pub(crate) order_by: Vec<BoundSortKey>,
    pub(crate) window: BoundWindow,
}

/// The binding context of one query level.
pub(crate) struct BindCtx<'a> {
    pub(crate) catalog: &'a dyn CatalogView,
    parent: Option<&'a BindCtx<'a>>,
    /// For an expression subquery: the FROM scope of the query around it.
    pub(crate) outer: Option<&'a Scope>,
    ctes: RefCell<Vec<(String, CteBody)>>,
    pub(crate) subqueries: RefCell<Vec<PendingSubquery>>,
    pub(crate) windows: RefCell<Vec<PendingWindow>>,
    /// Whether window functions may appear (select list, ORDER BY).
    pub(crate) windows_allowed: Cell<bool>,
    /// `WINDOW name AS (...)` of the SELECT being bound.
    pub(crate) named_windows: RefCell<Vec<ast::NamedWindowDefinition>>,
    /// Where outer references were made from this level.
    pub(crate) outer_refs: RefCell<Vec<Span>>,
    /// Set by the subquery binder, taken by the root SELECT.
    pub(crate) sub_kind: Cell<Option<SubKind>>,
    pub(crate) correlation: RefCell<Option<Correlation>>,
    /// The LIMIT of the query whose root SELECT is being bound.
    pub(crate) sub_limit: Cell<Option<usize>>,
    next_id: Cell<usize>,
    /// The statement's time, fixed by the first `now()` (root level only).
    now_us: Cell<Option<i64>>,
}

impl<'a> BindCtx<'a> {
    /// The context of a statement's query.
    pub(crate) fn root(catalog: &'a dyn CatalogView) -> Self {
        Self::new(catalog, None, None)
    }

    /// A nested query level: a derived table or CTE body (`outer` None) or
    /// an expression subquery (`outer` the scope around it).
    pub(crate) fn child(parent: &'a BindCtx<'a>, outer: Option<&'a Scope>) -> Self {
        Self::new(parent.catalog, Some(parent), outer)
    }

    fn new(
        catalog: &'a dyn CatalogView,
        parent: Option<&'a BindCtx<'a>>,
        outer: Option<&'a Scope>,
    ) -> Self {
        BindCtx {
            catalog,
            parent,
            outer,
            ctes: RefCell::new(Vec::new()),
            subqueries: RefCell::new(Vec::new()),
            windows: RefCell::new(Vec::new()),
            windows_allowed: Cell::new(false),
            named_windows: RefCell::new(Vec::new()),
            outer_refs: RefCell::new(Vec::new()),
            sub_kind: Cell::new(None),
            correlation: RefCell::new(None),
            sub_limit: Cell::new(None),
            next_id: Cell::new(0),
            now_us: Cell::new(None),
        }
    }

    /// The statement's time in microseconds since 1970-01-01 UTC: the first
    /// call fixes it, so that `now() = now()` within a statement.
    pub(crate) fn statement_time_us(&self) -> i64 {
        if let Some(p) = self.parent {
            return p.statement_time_us();
        }
        if let Some(t) = self.now_us.get() {
            return t;
        }
        let t = system_time_us();
        self.now_us.set(Some(t));
        t
    }

    pub(crate) fn next_id(&self) -> usize {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }

    pub(crate) fn add_cte(&self, name: String, body: CteBody) {
        self.ctes.borrow_mut().push((name, body));
    }

    /// The innermost CTE called `name`.
    pub(crate) fn cte(&self, name: &str) -> Option<CteBody> {
        let own = self
            .ctes
            .borrow()
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.clone());
        own.or_else(|| self.parent.and_then(|p| p.cte(name)))
    }

    /// Whether a query level above the immediate outer one has a FROM scope
    /// that resolves the name (a reference we cannot decorrelate).
    pub(crate) fn deeper_outer_resolves(
        &self,
        qualifier: Option<&ast::Ident>,
        name: &ast::Ident,
    ) -> bool {
        let mut level = self.parent;
        while let Some(ctx) = level {
            if let Some(scope) = ctx.outer
                && scope.resolve(qualifier, name).is_ok()
            {
                return true;
            }
            level = ctx.parent;
        }
        false
    }

    /// Registers a subquery (once per AST node) and returns its placeholder.
    pub(crate) fn add_subquery(&self, key: String, join: SubJoin, ty: SqlType) -> BoundExpr {
        let mut subs = self.subqueries.borrow_mut();
        if let Some(s) = subs.iter().find(|s| s.key == key) {
            return placeholder(s.id, s.ty);
        }
        let id = self.next_id();
        subs.push(PendingSubquery { id, key, join, ty });
        placeholder(id, ty)
    }

    pub(crate) fn take_subqueries(&self) -> Vec<PendingSubquery> {
        std::mem::take(&mut *self.subqueries.borrow_mut())
    }

    pub(crate) fn take_windows(&self) -> Vec<PendingWindow> {
        std::mem::take(&mut *self.windows.borrow_mut())
    }
}

pub(crate) fn placeholder(id: usize, ty: SqlType) -> BoundExpr {
    BoundExpr::Placeholder {
        id,
        ty,
        nullable: true,
    }
}

/// Replaces placeholders by the columns `map` gives them.
pub(crate) fn resolve_placeholders(
    e: &BoundExpr,
    map: &HashMap<usize, usize>,
) -> Result<BoundExpr, SqlError> {
    let out = e.rewrite(&|x| match x {
        BoundExpr::Placeholder { id, ty, nullable } => {
            map.get(id).map(|&index| BoundExpr::Column {
                index,
                ty: *ty,
                nullable: *nullable,
            })
        }
        _ => None,
    });
    if out.has_placeholder() {
        return Err(SqlError::new(
            "XX000",
            "internal error: a subquery or window function was left unplanned; please report this as a bug",
        ));
    }
    Ok(out)
}

/// Whether a plan still holds an outer reference anywhere.
pub(crate) fn plan_has_outer(plan: &LogicalPlan) -> bool {
    let mut found = false;
    plan.node_exprs(&mut |e| found |= e.has_outer());
    found || plan.inputs().into_iter().any(plan_has_outer)
}

/// The error for a correlated reference we cannot turn into a join.
pub(crate) fn not_decorrelatable(what: &str, span: Span) -> SqlError {
    SqlError::new(
        state::FEATURE_NOT_SUPPORTED,
        format!("{what} is not supported yet"),
    )
    .at(span)
    .hint("correlated subqueries are supported in WHERE, referencing the immediately enclosing query; rewrite the query with a join")
}

/// The system clock in microseconds since 1970-01-01 UTC.
pub(crate) fn system_time_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
