//! Binding `external('file' [, OPTION => value ...])` in FROM, Hyper's table
//! function for reading a file as a relation.
//!
//! Options (Hyper's names, case-insensitive): `FORMAT` (`'csv'`,
//! `'parquet'`, `'arrow'`; default by extension, else CSV), and for CSV
//! `HEADER` (default false, as in Hyper), `DELIMITER`, `NULL`, `QUOTE`,
//! `ESCAPE`. The columns are inferred (`COLUMNS => DESCRIPTOR(...)` is not
//! supported yet). An unknown option is an error naming it.

use std::path::Path;
use std::sync::Arc;

use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;

use super::not_supported;
use crate::error::{Error, SqlError, state};
use crate::load::{ExternalFormat, ExternalSource};
use crate::plan::{ColumnInfo, LogicalPlan};

type BindResult<T> = Result<T, SqlError>;

/// Whether `name` is the `external` table function.
pub(super) fn is_external(name: &ast::ObjectName) -> bool {
    matches!(name.0.as_slice(), [ast::ObjectNamePart::Identifier(i)]
        if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("external"))
}

/// The plan of `external(args)`, its columns qualified by `qualifier`.
pub(super) fn bind_external(
    args: &ast::TableFunctionArgs,
    qualifier: &str,
    span: Span,
) -> BindResult<LogicalPlan> {
    let mut positional = Vec::new();
    let mut named = Vec::new();
    for arg in &args.args {
        match arg {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => positional.push(e),
            ast::FunctionArg::Named {
                name,
                arg: ast::FunctionArgExpr::Expr(e),
                ..
            } => named.push((name.value.to_ascii_lowercase(), e)),
            ast::FunctionArg::ExprNamed {
                name: ast::Expr::Identifier(name),
                arg: ast::FunctionArgExpr::Expr(e),
                ..
            } => named.push((name.value.to_ascii_lowercase(), e)),
            other => return Err(not_supported("this argument of external()", other.span())),
        }
    }
    let [path] = positional.as_slice() else {
        return Err(invalid(
            "external() takes one file name, then OPTION => value pairs",
            span,
        ));
    };
    let path = text(path, "the file name")?;
    let mut format = ExternalFormat::of(Path::new(&path));
    // FORMAT first: the other options depend on it.
    if let Some((_, e)) = named.iter().find(|(n, _)| n == "format") {
        format = match text(e, "FORMAT")?.to_ascii_lowercase().as_str() {
            "csv" => ExternalFormat::Csv(crate::load::CsvOptions::new().header(false)),
            "parquet" | "arrow" => ExternalFormat::Columnar,
            other => {
                return Err(invalid(
                    &format!(
                        "unknown FORMAT '{other}' for external(): use 'csv', 'parquet' or 'arrow'"
                    ),
                    e.span(),
                ));
            }
        };
    }
    for (name, e) in named.iter().filter(|(n, _)| n != "format") {
        format = csv_option(format, name, e)?;
    }
    let source = ExternalSource::open(Path::new(&path), format).map_err(|e| load_error(e, span))?;
    let columns = source
        .columns()
        .iter()
        .map(|c| ColumnInfo {
            name: c.name.clone(),
            ty: c.ty,
            nullable: c.nullable,
            qualifier: Some(qualifier.to_string()),
        })
        .collect();
    Ok(LogicalPlan::External {
        source: Arc::new(source),
        columns,
    })
}

/// Applies one CSV option.
fn csv_option(format: ExternalFormat, name: &str, e: &ast::Expr) -> BindResult<ExternalFormat> {
    let ExternalFormat::Csv(options) = format else {
        return Err(invalid(
            &format!(
                "the parameter '{name}' does not apply for a Parquet or Arrow external source"
            ),
            e.span(),
        ));
    };
    let byte = |what: &str| -> BindResult<u8> {
        match text(e, what)?.as_bytes() {
            [b] => Ok(*b),
            _ => Err(invalid(
                &format!("{what} must be a single one-byte character"),
                e.span(),
            )),
        }
    };
    let options = match name {
        "header" => options.header(boolean(e)?),
        "delimiter" => options.delimiter(byte("DELIMITER")?),
        "quote" => options.quote(byte("QUOTE")?),
        "escape" => options.escape(byte("ESCAPE")?),
        "null" => options.null_string(text(e, "NULL")?),
        other => {
            return Err(invalid(
                &format!(
                    "the parameter '{other}' does not apply for external() and is thus invalid"
                ),
                e.span(),
            ));
        }
    };
    Ok(ExternalFormat::Csv(options))
}

fn text(e: &ast::Expr, what: &str) -> BindResult<String> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => Ok(s.clone()),
            _ => Err(invalid(
                &format!("{what} must be a string literal"),
                e.span(),
            )),
        },
        _ => Err(invalid(
            &format!("{what} must be a string literal"),
            e.span(),
        )),
    }
}

fn boolean(e: &ast::Expr) -> BindResult<bool> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Boolean(b) => Ok(*b),
            ast::Value::SingleQuotedString(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            ast::Value::SingleQuotedString(s) if s.eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(invalid("HEADER must be true or false", e.span())),
        },
        _ => Err(invalid("HEADER must be true or false", e.span())),
    }
}

fn invalid(message: &str, span: Span) -> SqlError {
    SqlError::new(state::INVALID_PARAMETER, message).at(span)
}

/// A load error while binding, as a SQL error at the `external` call.
fn load_error(e: Error, span: Span) -> SqlError {
    let code = match &e {
        Error::Sql(s) => return (**s).clone().at(span),
        Error::Io { .. } => "58030",
        Error::Csv { .. } | Error::File { .. } => "22P04",
        _ => "XX000",
    };
    SqlError::new(code, e.to_string()).at(span)
}
