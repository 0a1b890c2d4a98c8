//! The writing statements of a connection, run in a write transaction:
//! CREATE / DROP TABLE and SCHEMA, INSERT, COPY, DELETE, UPDATE, TRUNCATE
//! and ALTER TABLE; and the values they store (VARCHAR(n) / CHAR(n)
//! fitting).
//!
//! ALTER TABLE changes other than RENAME TO rewrite the table (see
//! `rewrite_table`), so a crash or ROLLBACK leaves the old table whole.

use hyperctl_exec::arrow::array::AsArray;
use hyperctl_exec::arrow::array::{
    Array, ArrayRef, RecordBatch, RecordBatchOptions, new_null_array,
};
use hyperctl_format::SqlType;
use hyperctl_storage::{TableDef, WriteTxn};

use super::{QueryResult, StatementResult, query_result, relabel_array, run_query};
use crate::binder::{BoundStatement, InsertPlan};
use crate::error::{Error, Result, SqlError, state};

pub(super) fn apply(txn: &mut WriteTxn, stmt: BoundStatement) -> Result<StatementResult> {
    match stmt {
        BoundStatement::CreateTable {
            def,
            if_not_exists,
            span,
            as_query,
            ..
        } => {
            if txn.table(&def.schema, &def.name).is_some() {
                if if_not_exists {
                    return Ok(StatementResult::Done);
                }
                return Err(SqlError::new(
                    state::DUPLICATE_TABLE,
                    format!("table \"{}\" already exists", def.name),
                )
                .at(span)
                .into());
            }
            let (schema, name) = (def.schema.clone(), def.name.clone());
            txn.create_table(def)?;
            if let Some(plan) = as_query {
                let result = run_query(&plan)?;
                for batch in &result.batches {
                    txn.append(&schema, &name, batch)?;
                }
            }
            Ok(StatementResult::Done)
        }
        BoundStatement::DropTable { names, if_exists } => {
            for (q, span) in names {
                if txn.table(&q.schema, &q.table).is_none() {
                    if if_exists {
                        continue;
                    }
                    return Err(missing_table(txn, &q, span));
                }
                txn.drop_table(&q.schema, &q.table)?;
            }
            Ok(StatementResult::Done)
        }
        BoundStatement::Insert(plan) => insert(txn, &plan),
        BoundStatement::Copy(plan) => {
            Ok(StatementResult::Count(crate::load::copy_from(txn, &plan)?))
        }
        BoundStatement::Modify(plan) => modify(txn, &plan),
        BoundStatement::Truncate(names) => {
            for (q, span) in names {
                if txn.table(&q.schema, &q.table).is_none() {
                    return Err(missing_table(txn, &q, span));
                }
                txn.truncate(&q.schema, &q.table)?;
            }
            Ok(StatementResult::Done)
        }
        BoundStatement::Rename { from, to, span } => {
            if txn.table(&from.schema, &from.table).is_none() {
                return Err(missing_table(txn, &from, span));
            }
            if txn.table(&from.schema, &to).is_some() {
                return Err(SqlError::new(
                    state::DUPLICATE_TABLE,
                    format!("relation \"{to}\" already exists"),
                )
                .at(span)
                .into());
            }
            txn.rename_table(&from.schema, &from.table, &from.schema, &to)?;
            Ok(StatementResult::Done)
        }
        BoundStatement::AddColumns {
            table,
            columns,
            span,
        } => {
            add_columns(txn, &table, columns, span)?;
            Ok(StatementResult::Done)
        }
        BoundStatement::Reshape(reshape) => {
            reshape_columns(txn, &reshape)?;
            Ok(StatementResult::Done)
        }
        BoundStatement::DropSchema {
            names,
            if_exists,
            cascade,
        } => {
            for (_, name, span) in names {
                drop_schema(txn, &name, span, if_exists, cascade)?;
            }
            Ok(StatementResult::Done)
        }
        BoundStatement::CreateSchema {
            name,
            if_not_exists,
            span,
        } => {
            if txn.schema_names().contains(&name) {
                if if_not_exists {
                    return Ok(StatementResult::Done);
                }
                return Err(
                    SqlError::new("42P06", format!("schema \"{name}\" already exists"))
                        .at(span)
                        .into(),
                );
            }
            txn.create_schema(&name)?;
            Ok(StatementResult::Done)
        }
        BoundStatement::Query(_)
        | BoundStatement::Explain { .. }
        | BoundStatement::Attach { .. }
        | BoundStatement::Detach { .. }
        | BoundStatement::CreateDatabase { .. }
        | BoundStatement::DropDatabase { .. }
        | BoundStatement::Vacuum
        | BoundStatement::Begin
        | BoundStatement::Commit
        | BoundStatement::Rollback => Err(Error::Internal {
            what: "non-writing statement in apply".into(),
        }),
    }
}

/// ALTER TABLE ... ADD COLUMN: the table is rewritten in the statement's
/// write transaction (see [`rewrite_table`]) with the new columns, holding
/// their DEFAULT (or NULL) in the existing rows.
fn add_columns(
    txn: &mut WriteTxn,
    q: &crate::binder::QualifiedName,
    columns: Vec<crate::binder::AddColumn>,
    span: sqlparser::tokenizer::Span,
) -> Result<()> {
    let Some(old) = txn.table(&q.schema, &q.table) else {
        return Err(missing_table(txn, q, span));
    };
    let mut def = old.def().clone();
    let width = def.columns.len();
    let mut fills: Vec<Option<ArrayRef>> = Vec::new();
    for c in columns {
        if def.columns.iter().any(|o| o.name == c.def.name) {
            if c.if_not_exists {
                continue;
            }
            return Err(SqlError::new(
                state::DUPLICATE_COLUMN,
                format!("column '{}' specified more than once", c.def.name),
            )
            .at(c.span)
            .into());
        }
        let fill = match &c.fill {
            None => None,
            Some(plan) => run_query(plan)?
                .batches
                .first()
                .map(|b| b.column(0).clone()),
        };
        let fill = fill.filter(|a| a.len() == 1 && a.is_valid(0));
        if !c.def.nullable && fill.is_none() {
            // Hyper checks before looking at the rows: even an empty table.
            return Err(SqlError::new(
                state::NOT_NULL_VIOLATION,
                format!("column '{}' contains null values", c.def.name),
            )
            .at(c.span)
            .into());
        }
        def.columns.push(c.def);
        fills.push(fill);
    }
    if def.columns.len() == width {
        return Ok(());
    }
    let sources: Vec<Option<usize>> = (0..def.columns.len())
        .map(|i| (i < width).then_some(i))
        .collect();
    rewrite_table(txn, q, def, &sources, |i, n| {
        let Some(value) = fills.get(i - width).and_then(Option::as_ref) else {
            return Ok(None);
        };
        let zeros = hyperctl_exec::arrow::array::UInt32Array::from(vec![0u32; n]);
        hyperctl_exec::arrow::compute::take(value.as_ref(), &zeros, None)
            .map(Some)
            .map_err(|e| Error::Internal {
                what: format!("ADD COLUMN default for {}: {e}", q.table),
            })
    })
}

/// Replaces a table by one of definition `def` in the write transaction:
/// column `i` of the new table takes old column `sources[i]`, or where that
/// is `None`, `fill(i, rows)` (`None`: NULLs). The rows are copied into a new table, the
/// old one dropped and the new one renamed, so a crash or rollback leaves
/// the old table as it was.
fn rewrite_table(
    txn: &mut WriteTxn,
    q: &crate::binder::QualifiedName,
    mut def: TableDef,
    sources: &[Option<usize>],
    fill: impl Fn(usize, usize) -> Result<Option<ArrayRef>>,
) -> Result<()> {
    let Some(old) = txn.table(&q.schema, &q.table) else {
        return Err(Error::Internal {
            what: format!("table {} vanished while rewritten", q.table),
        });
    };
    let mut temp = format!("#rewrite#{}", q.table);
    while txn.table(&q.schema, &temp).is_some() {
        temp.push('#');
    }
    def.name = temp.clone();
    let schema = def.arrow_schema();
    txn.create_table(def.clone())?;
    let projection: Vec<usize> = sources.iter().flatten().copied().collect();
    for batch in old.scan(&projection)? {
        let batch = batch?;
        let n = batch.num_rows();
        let mut next = 0;
        let mut arrays = Vec::with_capacity(sources.len());
        for (i, source) in sources.iter().enumerate() {
            if source.is_some() {
                arrays.push(batch.column(next).clone());
                next += 1;
            } else {
                let ty = def.columns[i].ty.to_arrow();
                arrays.push(match fill(i, n)? {
                    Some(a) if a.data_type() == &ty => a,
                    Some(a) => fit_strings(relabel_array(&a, &ty)?, def.columns[i].ty)?,
                    None => new_null_array(&ty, n),
                });
            }
        }
        let rows = table_batch(&schema, arrays, n, &q.table)?;
        txn.append(&q.schema, &temp, &rows)?;
    }
    txn.drop_table(&q.schema, &q.table)?;
    txn.rename_table(&q.schema, &temp, &q.schema, &q.table)?;
    Ok(())
}

/// ALTER TABLE ... RENAME COLUMN / DROP COLUMN, by a rewrite of the table.
fn reshape_columns(txn: &mut WriteTxn, r: &crate::binder::ReshapeColumns) -> Result<()> {
    use crate::binder::ColumnChange;
    let q = &r.table;
    let Some(old) = txn.table(&q.schema, &q.table) else {
        return Err(missing_table(txn, q, r.span));
    };
    let mut def = old.def().clone();
    let find = |def: &TableDef, name: &str| def.columns.iter().position(|c| c.name == name);
    let sources: Vec<Option<usize>> = match &r.change {
        ColumnChange::Rename {
            from: (from, span),
            to,
        } => {
            let Some(i) = find(&def, from) else {
                return Err(SqlError::new(
                    state::UNDEFINED_COLUMN,
                    format!("unknown column '{from}'"),
                )
                .at(*span)
                .into());
            };
            if find(&def, to).is_some() {
                return Err(SqlError::new(
                    state::DUPLICATE_OBJECT,
                    format!("column '{to}' already exists"),
                )
                .at(*span)
                .into());
            }
            def.columns[i].name.clone_from(to);
            (0..def.columns.len()).map(Some).collect()
        }
        ColumnChange::Drop(names) => {
            let mut keep: Vec<bool> = vec![true; def.columns.len()];
            for (name, span) in names {
                match find(&def, name) {
                    Some(i) if keep[i] => keep[i] = false,
                    _ => {
                        return Err(SqlError::new(
                            state::UNDEFINED_COLUMN,
                            format!("column '{name}' does not exist"),
                        )
                        .at(*span)
                        .into());
                    }
                }
            }
            let kept: Vec<usize> = (0..keep.len()).filter(|&i| keep[i]).collect();
            if kept.is_empty() {
                // Hyper allows a table without columns; we do not store one.
                return Err(crate::binder::not_supported(
                    "dropping every column of a table",
                    r.span,
                )
                .into());
            }
            def.columns = kept.iter().map(|&i| def.columns[i].clone()).collect();
            kept.into_iter().map(Some).collect()
        }
    };
    rewrite_table(txn, q, def, &sources, |_, _| Ok(None))
}

/// DROP SCHEMA: RESTRICT (the default) refuses a schema with tables, as
/// Hyper ("cannot drop schema 's' because it is referenced by 't'");
/// CASCADE drops them first.
fn drop_schema(
    txn: &mut WriteTxn,
    name: &str,
    span: sqlparser::tokenizer::Span,
    if_exists: bool,
    cascade: bool,
) -> Result<()> {
    if !txn.schema_names().iter().any(|s| s == name) {
        if if_exists {
            return Ok(());
        }
        return Err(SqlError::new(
            state::INVALID_SCHEMA_NAME,
            format!("unknown schema \"{name}\""),
        )
        .at(span)
        .into());
    }
    let tables = txn.table_names(name);
    if let Some(first) = tables.first().filter(|_| !cascade) {
        return Err(SqlError::new(
            state::DEPENDENT_OBJECTS_STILL_EXIST,
            format!("cannot drop schema '{name}' because it is referenced by '{first}'"),
        )
        .at(span)
        .hint("use DROP SCHEMA ... CASCADE to drop its tables too")
        .into());
    }
    for t in &tables {
        txn.drop_table(name, t)?;
    }
    txn.drop_schema(name)?;
    Ok(())
}

/// The error for a table that is not there: its schema's (3F000) when the
/// schema is missing too, else 42P01.
fn missing_table(
    txn: &WriteTxn,
    q: &crate::binder::QualifiedName,
    span: sqlparser::tokenizer::Span,
) -> Error {
    if !txn.schema_names().contains(&q.schema) {
        return crate::binder::missing_schema(&q.schema, span).into();
    }
    SqlError::new(
        state::UNDEFINED_TABLE,
        format!("table \"{}\" does not exist", q.table),
    )
    .at(span)
    .into()
}

/// DELETE / UPDATE: streams the affected rows' positions (and new values),
/// deleting (and appending) batch by batch; the scan reads the state from
/// before the statement, so appended rows are not visited again. A row that
/// UPDATE ... FROM / DELETE ... USING joins more than once is changed once
/// (by its first match).
fn modify(txn: &mut WriteTxn, plan: &crate::binder::ModifyPlan) -> Result<StatementResult> {
    let def = plan.table.def().clone();
    let batches = plan.plan.lower().execute()?;
    let schema = std::sync::Arc::new(hyperctl_exec::arrow::datatypes::Schema::new(
        def.columns
            .iter()
            .map(|c| c.ty.arrow_field(&c.name, true))
            .collect::<Vec<_>>(),
    ));
    let at = plan.position_column();
    let mut seen = std::collections::HashSet::new();
    let mut count = 0;
    let mut returned = Vec::new();
    for batch in batches {
        let batch = batch?;
        let positions = batch
            .column(at)
            .as_any()
            .downcast_ref::<hyperctl_exec::arrow::array::Int64Array>()
            .ok_or_else(|| Error::Internal {
                what: "row positions of DELETE/UPDATE are not BIGINT".into(),
            })?;
        let first: Vec<bool> = positions.values().iter().map(|p| seen.insert(*p)).collect();
        let batch = if first.iter().all(|f| *f) {
            batch
        } else {
            let mask = hyperctl_exec::arrow::array::BooleanArray::from(first);
            hyperctl_exec::arrow::compute::filter_record_batch(&batch, &mask).map_err(|e| {
                Error::Internal {
                    what: format!("dropping repeated rows of {}: {e}", def.name),
                }
            })?
        };
        let positions: Vec<u64> = batch
            .column(at)
            .as_primitive::<hyperctl_exec::arrow::datatypes::Int64Type>()
            .values()
            .iter()
            .map(|p| *p as u64)
            .collect();
        count += txn.delete(&def.schema, &def.name, &positions)?;
        if plan.update {
            let targets: Vec<usize> = (0..at).collect();
            let columns = &batch.columns()[..at];
            let rows = table_rows(&def, &schema, columns, &targets, batch.num_rows())?;
            txn.append(&def.schema, &def.name, &rows)?;
        }
        if plan.returning.is_some() {
            returned.push(returned_part(&batch, at + 1)?);
        }
    }
    match &plan.returning {
        None => Ok(StatementResult::Count(count)),
        Some(columns) => Ok(StatementResult::Rows(pad_chars(query_result(
            columns, returned,
        )?)?)),
    }
}

/// `rows` rows of table `def` (with `schema`) from `columns`, the values
/// of table columns `targets`: the others are NULL, strings fit their VARCHAR(n) /
/// CHAR(n) as [`fit_strings`] says. INSERT and UPDATE store rows through it.
fn table_rows(
    def: &TableDef,
    schema: &hyperctl_exec::arrow::datatypes::SchemaRef,
    columns: &[ArrayRef],
    targets: &[usize],
    rows: usize,
) -> Result<RecordBatch> {
    let n = rows;
    let mut full: Vec<ArrayRef> = def
        .columns
        .iter()
        .map(|c| new_null_array(&c.ty.to_arrow(), n))
        .collect();
    for (source, &target) in columns.iter().zip(targets) {
        let column = def.columns.get(target).ok_or_else(|| Error::Internal {
            what: format!("column {target} of table {} to fill", def.name),
        })?;
        full[target] = fit_strings(source.clone(), column.ty)?;
    }
    table_batch(schema, full, n, &def.name)
}

/// `rows` rows of table `table` (the row count holds for a batch without
/// columns too).
fn table_batch(
    schema: &hyperctl_exec::arrow::datatypes::SchemaRef,
    columns: Vec<ArrayRef>,
    rows: usize,
    table: &str,
) -> Result<RecordBatch> {
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(schema.clone(), columns, &options).map_err(|e| {
        Error::Internal {
            what: format!("rows for table {table}: {e}"),
        }
    })
}

/// The RETURNING values of a batch of DELETE / UPDATE / INSERT: its
/// columns from `first` on.
fn returned_part(batch: &RecordBatch, first: usize) -> Result<RecordBatch> {
    let columns: Vec<usize> = (first..batch.num_columns()).collect();
    batch.project(&columns).map_err(|e| Error::Internal {
        what: format!("RETURNING rows: {e}"),
    })
}

fn insert(txn: &mut WriteTxn, plan: &InsertPlan) -> Result<StatementResult> {
    let def = plan.table.def().clone();
    let result = run_query(&plan.source)?;
    // Nullable on purpose: storage reports NULLs in NOT NULL columns with the
    // table and column name (Hyper: "non-NULL value required").
    let schema = std::sync::Arc::new(hyperctl_exec::arrow::datatypes::Schema::new(
        def.columns
            .iter()
            .map(|c| c.ty.arrow_field(&c.name, true))
            .collect::<Vec<_>>(),
    ));
    let mut rows = 0;
    let mut returned = Vec::new();
    for batch in &result.batches {
        let full = table_rows(
            &def,
            &schema,
            batch.columns(),
            &plan.targets,
            batch.num_rows(),
        )?;
        rows += txn.append(&def.schema, &def.name, &full)?;
        if plan.returning.is_some() {
            returned.push(returned_part(batch, plan.targets.len())?);
        }
    }
    match &plan.returning {
        None => Ok(StatementResult::Count(rows)),
        Some(columns) => Ok(StatementResult::Rows(pad_chars(query_result(
            columns, returned,
        )?)?)),
    }
}

/// Hyper truncates strings that are too long for VARCHAR(n) / CHAR(n) on
/// INSERT (spec 4: `INSERT 'abcdef'` into VARCHAR(3) stores `abc`). CHAR(n)
/// values are stored without trailing blanks (see [`pad_chars`]).
fn fit_strings(array: ArrayRef, ty: SqlType) -> Result<ArrayRef> {
    let (max, char) = match ty {
        SqlType::Varchar { max_length } => (max_length as usize, false),
        SqlType::Char { length } => (length as usize, true),
        _ => return Ok(array),
    };
    let Some(strings) = array.as_string_opt::<i32>() else {
        return Ok(array);
    };
    let fits = |v: &str| v.chars().count() <= max && !(char && v.ends_with(' '));
    if strings.iter().flatten().all(fits) {
        return Ok(array);
    }
    let fitted: hyperctl_exec::arrow::array::StringArray = strings
        .iter()
        .map(|v| {
            v.map(|s| {
                let cut = s.char_indices().nth(max).map_or(s, |(i, _)| &s[..i]);
                if char { cut.trim_end_matches(' ') } else { cut }
            })
        })
        .collect();
    Ok(std::sync::Arc::new(fitted))
}

/// A CHAR(n) column (or the elements of an array of CHAR(n)) padded with
/// blanks to `w` characters.
fn pad_column(a: &ArrayRef, w: usize) -> Result<ArrayRef> {
    use hyperctl_exec::arrow::array::{ListArray, StringArray};
    if let Some(list) = a.as_list_opt::<i32>() {
        let values = pad_column(list.values(), w)?;
        let padded = ListArray::try_new(
            hyperctl_exec::arrow::datatypes::Field::new_list_field(
                values.data_type().clone(),
                true,
            )
            .into(),
            list.offsets().clone(),
            values,
            list.nulls().cloned(),
        )
        .map_err(|e| Error::Internal {
            what: format!("padding CHAR array elements: {e}"),
        })?;
        return Ok(std::sync::Arc::new(padded));
    }
    let Some(strings) = a.as_string_opt::<i32>() else {
        return Ok(a.clone());
    };
    let padded: StringArray = strings
        .iter()
        .map(|v| v.map(|s| format!("{s:<w$}")))
        .collect();
    Ok(std::sync::Arc::new(padded))
}

/// CHAR(n) columns of a query's result padded with blanks to n characters,
/// as Hyper shows them (`'j'::char(2)` is `'j '`); inside the engine the
/// values have no trailing blanks.
pub(super) fn pad_chars(mut result: QueryResult) -> Result<QueryResult> {
    let widths: Vec<Option<usize>> = result
        .columns
        .iter()
        .map(|c| match c.ty.element().unwrap_or(c.ty) {
            SqlType::Char { length } => Some(length as usize),
            _ => None,
        })
        .collect();
    if widths.iter().all(Option::is_none) {
        return Ok(result);
    }
    for batch in &mut result.batches {
        let columns = batch
            .columns()
            .iter()
            .zip(&widths)
            .map(|(a, w)| match w {
                Some(w) => pad_column(a, *w),
                None => Ok(a.clone()),
            })
            .collect::<Result<Vec<_>>>()?;
        *batch =
            RecordBatch::try_new(result.schema.clone(), columns).map_err(|e| Error::Internal {
                what: format!("padding CHAR columns: {e}"),
            })?;
    }
    Ok(result)
}
