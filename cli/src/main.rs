//! `hyperctl`: build, query and publish Tableau extracts.
//!
//! The binary is thin: argument parsing, output formatting and exit codes.
//! The work happens in the library crates (`hyperctl-sql` and below).
//!
//! Exit codes: 0 success, 1 a SQL or user error, 2 bad usage (clap), 3 an I/O
//! error or a damaged or locked file.
#![forbid(unsafe_code)]

mod import;
mod output;
mod sql;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use output::Format;

#[derive(Debug, Parser)]
#[command(name = "hyperctl", version, about = "Build, query and publish Tableau extracts", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run SQL against a database file (created if missing).
    Sql {
        /// The database file (.hxe).
        file: PathBuf,
        /// SQL to run; may hold several statements separated by `;`. Repeatable.
        #[arg(short = 'c', long = "command", value_name = "SQL")]
        commands: Vec<String>,
        /// A SQL script to run. Repeatable; runs after the -c commands.
        #[arg(short = 'f', long = "file", value_name = "SCRIPT")]
        scripts: Vec<PathBuf>,
        /// How to print query results.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Load a CSV file into a table, inferring column types from the data.
    Import {
        /// The database file (.hxe); created if missing.
        file: PathBuf,
        /// The CSV file (with a header row unless --no-header).
        csv: PathBuf,
        /// The table to create (or replace / append to).
        #[arg(long)]
        table: String,
        /// Drop the table first if it exists.
        #[arg(long, conflicts_with = "append")]
        replace: bool,
        /// Append to an existing table with the same columns.
        #[arg(long)]
        append: bool,
        /// The field delimiter.
        #[arg(long, default_value = ",", value_parser = parse_delimiter)]
        delimiter: u8,
        /// The first row is data, not column names.
        #[arg(long)]
        no_header: bool,
        /// Print the inferred CREATE TABLE and load nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s.as_bytes() {
        [b] if b.is_ascii() => Ok(*b),
        _ if s == "\\t" || s == "tab" => Ok(b'\t'),
        _ => Err(format!(
            "the delimiter must be one ASCII character, got {s:?}"
        )),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sql {
            file,
            commands,
            scripts,
            format,
        } => sql::run(&file, &commands, &scripts, format),
        Command::Import {
            file,
            csv,
            table,
            replace,
            append,
            delimiter,
            no_header,
            dry_run,
        } => import::run(&import::Args {
            file,
            csv,
            table,
            replace,
            append,
            delimiter,
            header: !no_header,
            dry_run,
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", render_error(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The message and its causes, one per line, without Rust debug dumps.
fn render_error(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(&format!("\n  caused by: {c}"));
        }
    }
    text
}

fn exit_code(e: &anyhow::Error) -> u8 {
    use hyperctl_sql::Error as E;
    match e.downcast_ref::<hyperctl_sql::Error>() {
        Some(E::Storage(_) | E::Io { .. }) => 3,
        Some(_) => 1,
        None if e.downcast_ref::<std::io::Error>().is_some() => 3,
        None => 1,
    }
}
