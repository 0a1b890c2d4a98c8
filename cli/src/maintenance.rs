//! `hyperctl check`, `hyperctl vacuum` and `hyperctl info`: looking after a
//! database file.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use hyperctl_sql::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use hyperctl_sql::arrow::datatypes::{Field, Schema};
use hyperctl_sql::arrow::util::display::array_value_to_string;
use hyperctl_sql::{QueryResult, ResultColumn, SqlType, TableDef, escape_name};
use hyperctl_storage::{CreateMode, Database, OpenOptions, Severity};

use crate::output::{Format, Render, write_result};

/// An error that has already been reported and only sets the exit code.
#[derive(Debug)]
pub(crate) struct Reported {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Reported {}

/// Verifies every checksum and block of `file` (and its log, if one is
/// beside it); exit code 3 when damaged. Formats other than the table list
/// the problems as rows (none for a sound file).
pub(crate) fn check(file: &Path, format: Format) -> Result<()> {
    let report = Database::verify_file(file)
        .map_err(hyperctl_sql::Error::from)
        .with_context(|| format!("checking {}", file.display()))?;
    if format == Format::Table {
        print!("{report}");
    } else {
        let rows: Vec<Vec<String>> = report
            .problems
            .iter()
            .map(|p| {
                vec![
                    match p.severity {
                        Severity::Damage => "damage".to_string(),
                        _ => "warning".to_string(),
                    },
                    p.place.to_string(),
                    p.offset.to_string(),
                    p.len.to_string(),
                    p.what.clone(),
                ]
            })
            .collect();
        let result = text_result(
            &["severity", "place", "offset", "bytes", "problem"],
            &[false, false, true, true, false],
            &rows,
        )?;
        write_result(
            &mut std::io::stdout().lock(),
            &result,
            &Render::plain(format),
        )?;
    }
    if report.is_ok() {
        Ok(())
    } else {
        Err(Reported {
            code: 3,
            message: format!(
                "{} is damaged; the problems above name the table, column and block; \
                 restore it from a backup or re-import those tables",
                file.display()
            ),
        }
        .into())
    }
}

fn open_existing(file: &Path, read_only: bool) -> Result<Database> {
    let options = OpenOptions::new()
        .create_mode(CreateMode::None)
        .read_only(read_only);
    Database::open(file, &options)
        .map_err(hyperctl_sql::Error::from)
        .with_context(|| format!("opening {}", file.display()))
}

/// Rewrites fragmented blocks and shrinks the file.
pub(crate) fn vacuum(file: &Path) -> Result<()> {
    let db = open_existing(file, false)?;
    let r = db.vacuum().map_err(hyperctl_sql::Error::from)?;
    drop(db);
    let after = std::fs::metadata(file)
        .map(|m| m.len())
        .unwrap_or(r.bytes_after);
    println!(
        "{}: {} -> {} bytes ({} blocks rewritten, {} dropped, {} extents moved)",
        file.display(),
        r.bytes_before,
        after,
        r.blocks_rewritten,
        r.blocks_dropped,
        r.extents_moved
    );
    Ok(())
}

/// Tables, columns, encodings and sizes.
pub(crate) fn info(file: &Path, format: Format) -> Result<()> {
    if !file.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} does not exist", file.display()),
        )
        .into());
    }
    let db = hyperctl_sql::Database::open_read_only(file)
        .with_context(|| format!("opening {}", file.display()))?;
    let stats = db.storage().stats().map_err(hyperctl_sql::Error::from)?;
    let snapshot = db.storage().snapshot();
    let mut rows: Vec<[String; 9]> = Vec::new();
    for schema in snapshot.schema_names() {
        for name in snapshot.table_names(&schema) {
            let Some(table) = snapshot.table(&schema, &name) else {
                continue;
            };
            let blocks = table.block_info().map_err(hyperctl_sql::Error::from)?;
            let raw = raw_bytes(&db, table.def(), table.row_count())?;
            for (i, column) in table.def().columns.iter().enumerate() {
                let mut encodings: Vec<String> = Vec::new();
                let mut bytes = 0u64;
                for b in &blocks {
                    let Some(c) = b.columns.get(i) else { continue };
                    bytes += c.bytes;
                    let e = c.encoding.to_string();
                    if !encodings.contains(&e) {
                        encodings.push(e);
                    }
                }
                rows.push([
                    format!("{schema}.{name}"),
                    table.row_count().to_string(),
                    blocks.len().to_string(),
                    column.name.clone(),
                    format!(
                        "{}{}",
                        column.ty,
                        if column.nullable { "" } else { " NOT NULL" }
                    ),
                    encodings.join(","),
                    bytes.to_string(),
                    raw[i].to_string(),
                    blocks
                        .iter()
                        .map(|b| u64::from(b.deleted))
                        .sum::<u64>()
                        .to_string(),
                ]);
            }
        }
    }
    let result = info_result(&rows)?;
    let mut out = std::io::stdout().lock();
    if format == Format::Table {
        use std::io::Write;
        writeln!(
            out,
            "{}: {} bytes ({} free, {} freed at the next checkpoint); log: {} bytes, {} commits since checkpoint {}",
            file.display(),
            stats.file_bytes,
            stats.free_bytes,
            stats.pending_free_bytes,
            stats.wal_bytes,
            stats.wal_records,
            stats.checkpoint_sequence
        )?;
    }
    write_result(&mut out, &result, &Render::plain(format))
}

/// The bytes of each column's live values decoded (Arrow's layout without
/// validity bitmaps: fixed-width values times rows; text and bytes their
/// octets plus a 4-byte offset each, booleans a bit each). Text is measured
/// with one scan; BYTEA and other variable-width types count 0 for now.
fn raw_bytes(db: &hyperctl_sql::Database, def: &TableDef, rows: u64) -> Result<Vec<u64>> {
    use hyperctl_sql::arrow::datatypes::DataType;
    let raw: Vec<u64> = def
        .columns
        .iter()
        .map(|c| match c.ty.to_arrow() {
            DataType::Boolean => rows.div_ceil(8),
            t => t
                .primitive_width()
                .map_or(0, |w| (w as u64).saturating_mul(rows)),
        })
        .collect();
    let varying: Vec<usize> = (0..def.columns.len())
        .filter(|i| def.columns[*i].ty.is_string())
        .collect();
    let mut raw = raw;
    if varying.is_empty() || rows == 0 {
        return Ok(raw);
    }
    let sums: Vec<String> = varying
        .iter()
        .map(|i| {
            let c = escape_name(&def.columns[*i].name);
            format!("sum(octet_length({c}))")
        })
        .collect();
    let table = format!("{}.{}", escape_name(&def.schema), escape_name(&def.name));
    let query = format!("SELECT {} FROM {table}", sums.join(", "));
    let result = db
        .connect()
        .execute_query(&query)
        .with_context(|| format!("measuring the text columns of {table}"))?;
    for (k, i) in varying.iter().enumerate() {
        let octets = result
            .batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .and_then(|b| array_value_to_string(b.column(k), 0).ok())
            .and_then(|t| t.split('.').next().and_then(|n| n.parse::<u64>().ok()))
            .unwrap_or(0);
        raw[*i] = octets.saturating_add(rows.saturating_mul(4));
    }
    Ok(raw)
}

/// The rows of `info` as a result, for every output format.
fn info_result(rows: &[[String; 9]]) -> Result<QueryResult> {
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.to_vec()).collect();
    text_result(
        &[
            "table",
            "rows",
            "blocks",
            "column",
            "type",
            "encodings",
            "compressed",
            "raw",
            "deleted",
        ],
        &[false, true, true, false, false, false, true, true, true],
        &rows,
    )
}

/// A result of text and BIGINT columns (`numeric`) from rows of text.
fn text_result(names: &[&str], numeric: &[bool], rows: &[Vec<String>]) -> Result<QueryResult> {
    let columns: Vec<ResultColumn> = names
        .iter()
        .zip(numeric)
        .map(|(n, num)| ResultColumn {
            name: (*n).to_string(),
            ty: if *num { SqlType::BigInt } else { SqlType::Text },
            nullable: false,
        })
        .collect();
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| c.ty.arrow_field(&c.name, false))
            .collect::<Vec<Field>>(),
    ));
    let cell = |r: &Vec<String>, i: usize| r.get(i).cloned().unwrap_or_default();
    let arrays: Vec<ArrayRef> = (0..names.len())
        .map(|i| -> ArrayRef {
            if numeric[i] {
                Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| cell(r, i).parse::<i64>().unwrap_or(0)),
                ))
            } else {
                Arc::new(StringArray::from_iter_values(
                    rows.iter().map(|r| cell(r, i)),
                ))
            }
        })
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays)?;
    Ok(QueryResult {
        columns,
        schema,
        batches: vec![batch],
    })
}
