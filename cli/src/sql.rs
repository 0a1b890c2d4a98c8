//! `hyperctl sql FILE -c SQL -f SCRIPT`: run statements, print results; with
//! neither, the interactive shell on a terminal, or the script on stdin.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use hyperctl_sql::{CreateMode, Database, StatementResult, split_statements};

use crate::output::{Format, Render, write_result};

/// What `hyperctl sql` runs, and how it opens the file.
#[derive(Debug)]
pub(crate) struct Input<'a> {
    /// `-c` texts.
    pub(crate) commands: &'a [String],
    /// `-f` scripts, run after the commands.
    pub(crate) scripts: &'a [PathBuf],
    /// Open with a shared lock and refuse writes.
    pub(crate) read_only: bool,
    /// Worker threads per statement (0: one per core).
    pub(crate) threads: usize,
}

pub(crate) fn run(file: &Path, input: &Input<'_>, render: &Render) -> Result<()> {
    let mut texts = input.commands.to_vec();
    for s in input.scripts {
        texts.push(
            std::fs::read_to_string(s)
                .with_context(|| format!("reading script {}", s.display()))?,
        );
    }
    let interactive = texts.is_empty() && std::io::stdin().is_terminal();
    if texts.is_empty() && !interactive {
        let mut script = String::new();
        std::io::stdin()
            .read_to_string(&mut script)
            .context("reading SQL from standard input")?;
        if script.trim().is_empty() {
            anyhow::bail!(
                "nothing to run: give SQL with -c \"...\", a script with -f FILE or on standard input, \
                 or start hyperctl on a terminal for the interactive shell"
            );
        }
        texts.push(script);
    }
    crate::verbose::log(format_args!("opening {}", file.display()));
    let db = if input.read_only {
        if !file.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "{} does not exist (--read-only opens existing files only)",
                    file.display()
                ),
            )
            .into());
        }
        Database::open_read_only(file)?
    } else {
        Database::open(file, CreateMode::CreateIfNotExists)?
    };
    if interactive {
        return crate::shell::run(db, file, render.null.clone());
    }
    let mut conn = db.connect();
    conn.set_exec_options(
        hyperctl_sql::ExecOptions::builder()
            .threads(input.threads)
            .build(),
    );
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for text in &texts {
        for stmt in split_statements(text).map_err(hyperctl_sql::Error::from)? {
            let started = std::time::Instant::now();
            let result = conn.execute_at(&stmt)?;
            crate::verbose::log(format_args!(
                "statement at line {} ran in {:.3} s",
                stmt.line_offset + 1,
                started.elapsed().as_secs_f64()
            ));
            print_result(&mut out, &result, render)?;
        }
    }
    if conn.in_transaction() {
        eprintln!(
            "warning: the script ended inside a transaction (BEGIN without COMMIT); it was rolled back"
        );
    }
    Ok(())
}

/// Prints rows as `render` says, and the affected-row count of DML in table
/// and line formats.
pub(crate) fn print_result(
    out: &mut dyn Write,
    result: &StatementResult,
    render: &Render,
) -> Result<()> {
    match result {
        StatementResult::Rows(rows) => write_result(out, rows, render)?,
        StatementResult::Count(n) if matches!(render.format, Format::Table | Format::Line) => {
            writeln!(out, "{n} row{} affected", if *n == 1 { "" } else { "s" })?
        }
        _ => {}
    }
    Ok(())
}
