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
    /// CSV with a header row; NULL is an empty field unless --null says otherwise.
    Csv,
    /// A JSON array of objects, one per row.
    Json,
    /// One JSON object per line (JSON Lines).
    Jsonl,
    /// One `column = value` line per column, a blank line between rows.
    Line,
}

impl Format {
    /// The name the shell's `.mode` and `--format` use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Line => "line",
        }
    }

    /// The format named `name` (as `--format` spells it).
    pub(crate) fn parse(name: &str) -> Option<Format> {
        use clap::ValueEnum;
        Format::from_str(name, true).ok()
    }
}

/// How a result is rendered: the format, how NULL looks, and for a terminal
/// the width and row count to fit into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Render {
    pub(crate) format: Format,
    /// How NULL is shown in table, line and CSV output (`None`: "NULL" in
    /// tables and lines, an empty field in CSV). JSON always writes `null`.
    pub(crate) null: Option<String>,
    /// Table output: the widest line, in characters (`None`: no limit).
    pub(crate) width_max: Option<usize>,
    /// Table output: the most rows shown (`None`: all).
    pub(crate) rows_max: Option<usize>,
}

impl Render {
    /// `format` with the default NULL text and no limits (scripts, pipes).
    pub(crate) fn plain(format: Format) -> Render {
        Render {
            format,
            null: None,
            width_max: None,
            rows_max: None,
        }
    }

    /// `format` with NULL shown as `null`.
    pub(crate) fn with_null(format: Format, null: Option<String>) -> Render {
        Render {
            null,
            ..Render::plain(format)
        }
    }

    fn null_text(&self) -> &str {
        match (&self.null, self.format) {
            (Some(text), _) => text,
            (None, Format::Csv) => "",
            (None, _) => "NULL",
        }
    }
}

fn options(null: &str) -> FormatOptions<'_> {
    FormatOptions::default()
        .with_null(null)
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f%:::z"))
}

/// The cells of a result as text (`None` for NULL), row by row.
fn cells(result: &QueryResult) -> Result<Vec<Vec<Option<String>>>> {
    let opts = options("");
    let mut rows = Vec::with_capacity(result.num_rows());
    for batch in &result.batches {
        let columns: Vec<ArrayRef> = batch
            .columns()
            .iter()
            .map(printable)
            .collect::<Result<_>>()?;
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

/// A column as it prints: arrays as Hyper's text (`[1,NULL,3]`), the
/// rest as [`utc_as_offset`] says.
fn printable(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(match hyperctl_sql::arrays_as_text(array)? {
        Some(text) => text,
        None => utc_as_offset(array),
    })
}

/// TIMESTAMPTZ values are UTC instants in arrays whose time zone is named
/// "UTC"; Arrow formats named zones only with its `chrono-tz` feature, so
/// they get the same zone as an offset, printed as Hyper does (`+00`).
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

/// Writes `result` as `render` says.
pub(crate) fn write_result(
    out: &mut dyn Write,
    result: &QueryResult,
    render: &Render,
) -> Result<()> {
    match render.format {
        Format::Table => write_table(out, result, render),
        Format::Csv => write_csv(out, result, render.null_text()),
        Format::Json => write_json(out, result, false),
        Format::Jsonl => write_json(out, result, true),
        Format::Line => write_lines(out, result, render.null_text()),
    }
}

/// The narrowest a column is cut to before columns are left out.
const COLUMN_WIDTH_MIN: usize = 6;

fn write_table(out: &mut dyn Write, result: &QueryResult, render: &Render) -> Result<()> {
    let all_rows = cells(result)?;
    let total = all_rows.len();
    let shown_rows = render.rows_max.map_or(total, |m| m.min(total));
    let rows = &all_rows[..shown_rows];
    let null = render.null_text();
    let shown = |c: &Option<String>| c.as_deref().unwrap_or(null).replace(['\n', '\t'], " ");
    let mut widths: Vec<usize> = result
        .columns
        .iter()
        .map(|c| c.name.chars().count())
        .collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(shown(c).chars().count());
        }
    }
    let hidden_columns = fit_widths(&mut widths, render.width_max);
    let right: Vec<bool> = result.columns.iter().map(|c| c.ty.is_numeric()).collect();
    let more = if hidden_columns > 0 { " | …" } else { "" };
    let line = |cells: Vec<String>, out: &mut dyn Write| -> Result<()> {
        let parts: Vec<String> = widths
            .iter()
            .zip(&cells)
            .enumerate()
            .map(|(i, (w, s))| pad(&cut(s, *w), *w, right[i]))
            .collect();
        writeln!(out, " {}{more}", parts.join(" | ").trim_end())?;
        Ok(())
    };
    let header_line: Vec<String> = widths
        .iter()
        .zip(&result.columns)
        .map(|(w, c)| center(&cut(&c.name, *w), *w))
        .collect();
    writeln!(out, " {}{more}", header_line.join(" | ").trim_end())?;
    let sep: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    writeln!(
        out,
        "-{}-{}",
        sep.join("-+-"),
        if hidden_columns > 0 { "+--" } else { "" }
    )?;
    for row in rows {
        line(row.iter().map(shown).collect(), out)?;
    }
    if shown_rows < total {
        let n = total - shown_rows;
        writeln!(out, " … {n} more row{}", plural(n))?;
    }
    if hidden_columns > 0 {
        let names: Vec<&str> = result.columns[widths.len()..]
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        writeln!(
            out,
            " … {hidden_columns} more column{}: {}",
            plural(hidden_columns),
            names.join(", ")
        )?;
    }
    writeln!(out, "({total} row{})", plural(total))?;
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Narrows `widths` (the widest first) until a line fits into `width_max`,
/// then leaves out columns from the right; returns how many were left out.
fn fit_widths(widths: &mut Vec<usize>, width_max: Option<usize>) -> usize {
    let Some(width_max) = width_max else {
        return 0;
    };
    // The separator line "-a-+-b-+-c-" is the widest: one before and after,
    // three between.
    let line_width = |w: &[usize]| 2 + w.iter().sum::<usize>() + 3 * w.len().saturating_sub(1);
    while line_width(widths) > width_max {
        let (i, widest) = widths
            .iter()
            .copied()
            .enumerate()
            .max_by_key(|(i, w)| (*w, usize::MAX - i))
            .unwrap_or((0, 0));
        if widest <= COLUMN_WIDTH_MIN {
            break;
        }
        let excess = line_width(widths) - width_max;
        widths[i] = widest.saturating_sub(excess).max(COLUMN_WIDTH_MIN);
    }
    if line_width(widths) <= width_max {
        return 0;
    }
    let mut hidden = 0;
    // Room for the " | …" that marks the left-out columns.
    while widths.len() > 1 && line_width(widths) + 4 > width_max {
        widths.pop();
        hidden += 1;
    }
    hidden
}

/// `s` cut to `width` characters, the last one an ellipsis when cut.
fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
    t.push('…');
    t
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

fn write_csv(out: &mut dyn Write, result: &QueryResult, null: &str) -> Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(result.columns.iter().map(|c| c.name.as_str()))?;
    for row in cells(result)? {
        w.write_record(row.iter().map(|c| c.as_deref().unwrap_or(null)))?;
    }
    w.flush()?;
    Ok(())
}

fn write_lines(out: &mut dyn Write, result: &QueryResult, null: &str) -> Result<()> {
    let width = result
        .columns
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    for (n, row) in cells(result)?.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        for (cell, col) in row.iter().zip(&result.columns) {
            let name = pad(&col.name, width, true);
            writeln!(out, "{name} = {}", cell.as_deref().unwrap_or(null))?;
        }
    }
    Ok(())
}

/// A JSON array of row objects, or with `lines` one object per line.
fn write_json(out: &mut dyn Write, result: &QueryResult, lines: bool) -> Result<()> {
    let rows = cells(result)?;
    let keys: Vec<String> = result
        .columns
        .iter()
        .map(|c| serde_json::to_string(&c.name))
        .collect::<Result<_, _>>()?;
    if !lines {
        writeln!(out, "[")?;
    }
    for (n, row) in rows.iter().enumerate() {
        let fields: Vec<String> = row
            .iter()
            .zip(&result.columns)
            .zip(&keys)
            .map(|((cell, col), key)| {
                Ok(format!("{key}: {}", json_value(cell.as_deref(), col.ty)?))
            })
            .collect::<Result<_>>()?;
        if lines {
            writeln!(out, "{{{}}}", fields.join(", "))?;
        } else {
            let comma = if n + 1 < rows.len() { "," } else { "" };
            writeln!(out, "  {{{}}}{comma}", fields.join(", "))?;
        }
    }
    if !lines {
        writeln!(out, "]")?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_shrink_the_widest_column_first_then_drop_columns() {
        let mut w = vec![4, 40, 10];
        assert_eq!(fit_widths(&mut w, Some(40)), 0);
        assert_eq!(w, vec![4, 18, 10]);
        assert_eq!(2 + 4 + 18 + 10 + 6, 40);
        let mut w = vec![10, 10, 10, 10, 10];
        let hidden = fit_widths(&mut w, Some(24));
        assert_eq!((hidden, w), (3, vec![6, 6]));
        let mut w = vec![3, 50];
        assert_eq!(fit_widths(&mut w, None), 0);
        assert_eq!(w, vec![3, 50]);
    }

    #[test]
    fn cut_marks_what_it_cuts() {
        assert_eq!(cut("abcdef", 6), "abcdef");
        assert_eq!(cut("abcdefg", 6), "abcde…");
        assert_eq!(cut("äöüäöüä", 3), "äö…");
    }
}
