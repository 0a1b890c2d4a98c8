//! Rendering query results: an aligned table for people, CSV and JSON for
//! scripts.

use std::io::Write;

use anyhow::Result;
use hyperctl_sql::QueryResult;
use std::sync::Arc;

use hyperctl_sql::arrow::array::{Array, ArrayRef, AsArray};
use hyperctl_sql::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use hyperctl_sql::arrow::util::display::{ArrayFormatter, FormatOptions};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// An aligned table with a row count (the default).
    Table,
    /// CSV with a header row; NULL is an empty field.
    Csv,
    /// A JSON array of objects, one per row.
    Json,
}

fn options(null: &str) -> FormatOptions<'_> {
    FormatOptions::default()
        .with_null(null)
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f%:z"))
}

/// The cells of a result as text (`None` for NULL), row by row.
fn cells(result: &QueryResult) -> Result<Vec<Vec<Option<String>>>> {
    let opts = options("");
    let mut rows = Vec::with_capacity(result.num_rows());
    for batch in &result.batches {
        let columns: Vec<ArrayRef> = batch.columns().iter().map(utc_as_offset).collect();
        let formatters = columns
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
            .collect::<Result<Vec<_>, _>>()?;
        for r in 0..batch.num_rows() {
            rows.push(
                columns
                    .iter()
                    .zip(&formatters)
                    .map(|(col, f)| col.is_valid(r).then(|| f.value(r).to_string()))
                    .collect(),
            );
        }
    }
    Ok(rows)
}

/// TIMESTAMPTZ values are UTC instants in arrays whose time zone is named
/// "UTC"; Arrow formats named zones only with its `chrono-tz` feature, so
/// they are shown with the same offset spelled `+00:00`.
fn utc_as_offset(array: &ArrayRef) -> ArrayRef {
    match array.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => Arc::new(
            array
                .as_primitive::<TimestampMicrosecondType>()
                .clone()
                .with_timezone("+00:00"),
        ),
        _ => Arc::clone(array),
    }
}

/// Writes `result` in `format`.
pub(crate) fn write_result(
    out: &mut dyn Write,
    result: &QueryResult,
    format: Format,
) -> Result<()> {
    match format {
        Format::Table => write_table(out, result),
        Format::Csv => write_csv(out, result),
        Format::Json => write_json(out, result),
    }
}

fn write_table(out: &mut dyn Write, result: &QueryResult) -> Result<()> {
    let rows = cells(result)?;
    let shown = |c: &Option<String>| c.clone().unwrap_or_else(|| "NULL".to_string());
    let mut widths: Vec<usize> = result
        .columns
        .iter()
        .map(|c| c.name.chars().count())
        .collect();
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(shown(c).chars().count());
        }
    }
    let right: Vec<bool> = result.columns.iter().map(|c| c.ty.is_numeric()).collect();
    let line = |cells: Vec<String>, out: &mut dyn Write| -> Result<()> {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, s)| pad(s, widths[i], right[i]))
            .collect();
        writeln!(out, " {}", parts.join(" | ").trim_end())?;
        Ok(())
    };
    let header: Vec<String> = result.columns.iter().map(|c| c.name.clone()).collect();
    let header_line: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, h)| center(h, widths[i]))
        .collect();
    writeln!(out, " {}", header_line.join(" | ").trim_end())?;
    let sep: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    writeln!(out, "-{}-", sep.join("-+-"))?;
    for row in &rows {
        line(row.iter().map(shown).collect(), out)?;
    }
    let n = rows.len();
    writeln!(out, "({n} row{})", if n == 1 { "" } else { "s" })?;
    Ok(())
}

fn pad(s: &str, width: usize, right: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(s.chars().count()));
    if right {
        format!("{fill}{s}")
    } else {
        format!("{s}{fill}")
    }
}

fn center(s: &str, width: usize) -> String {
    let total = width.saturating_sub(s.chars().count());
    let left = total / 2;
    format!("{}{s}{}", " ".repeat(left), " ".repeat(total - left))
}

fn write_csv(out: &mut dyn Write, result: &QueryResult) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(result.columns.iter().map(|c| c.name.as_str()))?;
    for row in cells(result)? {
        w.write_record(row.iter().map(|c| c.as_deref().unwrap_or("")))?;
    }
    w.flush()?;
    Ok(())
}

fn write_json(out: &mut dyn Write, result: &QueryResult) -> Result<()> {
    let rows = cells(result)?;
    let keys: Vec<String> = result
        .columns
        .iter()
        .map(|c| serde_json::to_string(&c.name))
        .collect::<Result<_, _>>()?;
    writeln!(out, "[")?;
    for (n, row) in rows.iter().enumerate() {
        let fields: Vec<String> = row
            .iter()
            .zip(&result.columns)
            .zip(&keys)
            .map(|((cell, col), key)| {
                Ok(format!("{key}: {}", json_value(cell.as_deref(), col.ty)?))
            })
            .collect::<Result<_>>()?;
        let comma = if n + 1 < rows.len() { "," } else { "" };
        writeln!(out, "  {{{}}}{comma}", fields.join(", "))?;
    }
    writeln!(out, "]")?;
    Ok(())
}

/// Numbers stay JSON numbers (NUMERIC exactly as printed); NaN and infinities,
/// which JSON cannot hold, become strings.
fn json_value(cell: Option<&str>, ty: hyperctl_sql::SqlType) -> Result<String> {
    let Some(text) = cell else {
        return Ok("null".into());
    };
    let finite_number = text.parse::<f64>().is_ok_and(f64::is_finite);
    let bare = ty == hyperctl_sql::SqlType::Bool || (ty.is_numeric() && finite_number);
    Ok(if bare {
        text.to_string()
    } else {
        serde_json::to_string(text)?
    })
}
