//! `hyperctl sql FILE -c SQL -f SCRIPT`: run statements, print results.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use hyperctl_sql::{Connection, CreateMode, StatementResult, split_statements};

use crate::output::{Format, write_result};

pub(crate) fn run(
    file: &Path,
    commands: &[String],
    scripts: &[PathBuf],
    format: Format,
) -> Result<()> {
    if commands.is_empty() && scripts.is_empty() {
        anyhow::bail!(
            "nothing to run: give SQL with -c \"...\" or a script with -f FILE (the interactive shell comes later)"
        );
    }
    let mut texts = commands.to_vec();
    for s in scripts {
        texts.push(
            std::fs::read_to_string(s)
                .with_context(|| format!("reading script {}", s.display()))?,
        );
    }
    let mut conn = Connection::open(file, CreateMode::CreateIfNotExists)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for text in &texts {
        for stmt in split_statements(text).map_err(hyperctl_sql::Error::from)? {
            let result = conn.execute_at(&stmt)?;
            print_result(&mut out, &result, format)?;
        }
    }
    if conn.in_transaction() {
        eprintln!(
            "warning: the script ended inside a transaction (BEGIN without COMMIT); it was rolled back"
        );
    }
    Ok(())
}

fn print_result(out: &mut dyn Write, result: &StatementResult, format: Format) -> Result<()> {
    match result {
        StatementResult::Rows(rows) => write_result(out, rows, format)?,
        StatementResult::Count(n) if format == Format::Table => {
            writeln!(out, "{n} row{} affected", if *n == 1 { "" } else { "s" })?
        }
        _ => {}
    }
    Ok(())
}
