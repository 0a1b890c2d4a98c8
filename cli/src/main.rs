//! `hyperctl`: build, query and publish Tableau extracts.
//!
//! The binary is thin: argument parsing, output formatting and exit codes.
//! The work happens in the library crates (`hyperctl-sql` and below).
//!
//! Exit codes (one place maps errors to them: `exit_code`):
//! 0 success, 1 a SQL or user error, 2 bad usage (clap), 3 an I/O error or a
//! damaged or locked file. Errors print as one `error:` line plus `caused by`
//! lines, never as Rust debug output.
// One FFI call, in `alloc` (mimalloc's options), allows it there.
#![deny(unsafe_code)]

mod alloc;
mod import;
mod maintenance;
mod output;
mod pg_import;
mod progress;
mod sql;
// issue 7: .hyper files and publishing
mod config;
mod export;
mod hyper_files;
mod publish;
// issue 8: the interactive shell, config commands, completions, man page
mod complete;
mod config_cmd;
mod shell;
mod verbose;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use output::{Format, Render};

const EXIT_CODES: &str = "Exit codes: 0 success; 1 a SQL or user error; 2 bad usage; \
3 an I/O error, or a damaged or locked file.";

#[derive(Debug, Parser)]
#[command(
    name = "hyperctl",
    version,
    about = "Build, query and publish Tableau extracts",
    long_about = None,
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log what hyperctl does to stderr (also RUST_LOG=debug); secrets are never logged.
    #[arg(short, long, global = true)]
    verbose: bool,
    /// The config file (default: $HYPERCTL_CONFIG, else ~/.config/hyperctl/config.toml).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run SQL against a database file (created if missing); with no -c or -f,
    /// an interactive shell on a terminal, else the SQL on standard input.
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
        /// How to print NULL (default: NULL in tables, an empty CSV field; JSON has null).
        #[arg(long, value_name = "TEXT")]
        null: Option<String>,
        /// Open the file read-only (a shared lock: other readers, and `hyperctl
        /// info`, may open it too; writes fail).
        #[arg(long)]
        read_only: bool,
        /// Worker threads per statement: query pipelines, and COPY's parsing
        /// and block compression (default: one per core).
        #[arg(long, value_name = "N", default_value_t = 0)]
        threads: usize,
    },
    /// Load a CSV (.csv, .csv.gz, .csv.zst; column types inferred), Parquet or Arrow
    /// IPC file, or a PostgreSQL query (--from), into a table; or every table of a
    /// Tableau .hyper file.
    Import {
        /// The database file (.hxe); created if missing.
        file: PathBuf,
        /// The CSV file (with a header row unless --no-header), a .parquet or
        /// .arrow file, or a .hyper file.
        #[arg(value_name = "SOURCE", required_unless_present = "from")]
        csv: Option<PathBuf>,
        /// The table to create (or replace / append to); for a .hyper file, the
        /// tables to import (repeatable; default all).
        #[arg(long)]
        table: Vec<String>,
        /// Read the source as a Tableau .hyper file whatever its extension.
        #[arg(long)]
        from_hyper: bool,
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
        /// Threads that parse the CSV file, and as many that compress blocks
        /// (default: one per core).
        #[arg(long, value_name = "N", default_value_t = 0)]
        threads: usize,
        /// Memory for the CSV loader's buffers, in MiB: chunks get smaller to
        /// fit (storage's blocks being compressed, `threads + 1` at most, come
        /// on top). Default: 8 MiB chunks, about `(2 * threads + 1) * 16` MiB.
        #[arg(long, value_name = "MIB")]
        memory_budget: Option<usize>,
        /// What a malformed record or a value that does not fit its column does:
        /// stop the import (nothing is loaded), or skip the record.
        #[arg(long, value_enum, default_value_t = OnErrorArg::Abort)]
        on_error: OnErrorArg,
        /// With --on-error skip: write the skipped records, with line, column and
        /// reason, to this CSV file.
        #[arg(long, value_name = "FILE")]
        reject_file: Option<PathBuf>,
        /// The columns, instead of inferring them: "id int not null, name text, amount numeric(10,2)".
        #[arg(long, value_name = "COLUMNS")]
        schema: Option<String>,
        /// Override one inferred column's type (repeatable).
        #[arg(long = "column", value_name = "NAME:TYPE")]
        columns: Vec<String>,
        /// No progress line.
        #[arg(short, long)]
        quiet: bool,
        /// Read from PostgreSQL instead of a file: postgresql://user@host:port/db
        /// (the password comes from PGPASSWORD or ~/.pgpass, never the URL).
        #[arg(long, value_name = "URL", requires = "query", conflicts_with = "csv")]
        from: Option<String>,
        /// With --from: the query whose rows to import.
        #[arg(long, value_name = "SQL", requires = "from")]
        query: Option<String>,
    },
    /// Write tables of a database into a new Tableau .hyper file (needs Tableau's
    /// hyperd), or one table into a .parquet, .arrow or .csv file.
    Export {
        /// The database file (.hxe).
        file: PathBuf,
        /// The file to create: .hyper, .parquet, .arrow or .csv (the extension decides).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        /// A table to export (repeatable; default all).
        #[arg(long = "table", value_name = "TABLE")]
        tables: Vec<String>,
    },
    /// Verify every checksum, block and log record of a database file;
    /// exit code 3 and a list of damaged places (table, column, block) if
    /// anything is wrong.
    Check {
        /// The database file (.hxe).
        file: PathBuf,
        /// How to print: the report (table), or the problems as rows.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Rewrite blocks with deleted rows and give free space back to the file system.
    Vacuum {
        /// The database file (.hxe).
        file: PathBuf,
    },
    /// Tables, row counts, column types, encodings and sizes of a database file.
    Info {
        /// The database file (.hxe).
        file: PathBuf,
        /// How to print the table.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Named Tableau server profiles of the config file.
    Config {
        #[command(subcommand)]
        action: config_cmd::Action,
    },
    /// Print a shell completion script: `hyperctl completions bash > /etc/bash_completion.d/hyperctl`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `hyperctl man > hyperctl.1; man ./hyperctl.1`.
    Man,
    /// Publish an extract to Tableau Server or Tableau Cloud. Credentials come
    /// from TABLEAU_PAT_NAME and TABLEAU_PAT_SECRET, or a --profile; never from flags.
    Publish(PublishArgs),
}

#[derive(Debug, clap::Args)]
struct PublishArgs {
    /// The extract: .hxe (converted to .hyper first), .hyper, .tds, .tdsx or .tde.
    #[arg(required_unless_present = "manifest", conflicts_with = "manifest")]
    file: Option<PathBuf>,
    /// The server URL, e.g. `https://tableau.example.com`.
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// The site's content URL ("" for Tableau Server's default site).
    #[arg(long)]
    site: Option<String>,
    /// The project path, e.g. Finance/Reports (default: the project "default").
    #[arg(long, value_name = "PATH")]
    project: Option<String>,
    /// The data source name (default: the file's stem).
    #[arg(long)]
    name: Option<String>,
    /// What to do when the name exists in the project.
    #[arg(long, value_enum)]
    mode: Option<publish::Mode>,
    /// For a .hxe: the tables to put into the .hyper file (repeatable; default all).
    #[arg(long = "table", value_name = "TABLE")]
    tables: Vec<String>,
    /// Publish as an asynchronous job and wait for it.
    #[arg(long)]
    as_job: bool,
    /// Print what would be sent, and send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Chunk size of uploads of 64 MiB and more, 1 to 64.
    #[arg(long, value_name = "N")]
    chunk_size_mb: Option<u64>,
    /// A profile of ~/.config/hyperctl/config.toml (or $HYPERCTL_CONFIG).
    #[arg(long)]
    profile: Option<String>,
    /// A TOML manifest listing many extracts to publish.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Publish this many manifest extracts at once.
    #[arg(long, value_name = "N", requires = "manifest", value_parser = clap::value_parser!(u16).range(1..=64))]
    parallel: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OnErrorArg {
    /// Stop at the first bad record; nothing is loaded.
    Abort,
    /// Load the good records, count (and with --reject-file, write) the bad ones.
    Skip,
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
    alloc::configure();
    let cli = Cli::parse();
    verbose::init(cli.verbose);
    if let Some(path) = cli.config {
        config::set_path(path);
    }
    let result = run(cli.command, cli.verbose);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `hyperctl man | head`: the reader has all it wanted.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", render_error(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}

fn run(command: Command, verbose: bool) -> anyhow::Result<()> {
    match command {
        Command::Sql {
            file,
            commands,
            scripts,
            format,
            null,
            read_only,
            threads,
        } => sql::run(
            &file,
            &sql::Input {
                commands: &commands,
                scripts: &scripts,
                read_only,
                threads,
            },
            &Render::with_null(format, null),
        ),
        Command::Import {
            file,
            csv: Some(csv),
            table,
            from_hyper,
            replace,
            append,
            dry_run,
            ..
        } if from_hyper
            || csv
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("hyper")) =>
        {
            hyper_files::run_import(&hyper_files::ImportArgs {
                file: &file,
                source: &csv,
                tables: &table,
                replace,
                append,
                dry_run,
            })
        }
        Command::Import {
            file,
            csv,
            mut table,
            replace,
            append,
            delimiter,
            no_header,
            dry_run,
            threads,
            memory_budget,
            on_error,
            reject_file,
            schema,
            columns,
            quiet,
            from,
            query,
            ..
        } => {
            if table.len() != 1 {
                use clap::CommandFactory;
                Cli::command()
                    .error(
                        clap::error::ErrorKind::MissingRequiredArgument,
                        "an import from CSV, Parquet, Arrow or PostgreSQL needs exactly one --table NAME",
                    )
                    .exit();
            }
            import::run(&import::Args {
                file,
                csv: csv.unwrap_or_default(),
                table: table.remove(0),
                replace,
                append,
                delimiter,
                header: !no_header,
                dry_run,
                threads,
                memory_budget_mib: memory_budget,
                skip_errors: on_error == OnErrorArg::Skip,
                reject_file,
                schema,
                columns,
                quiet,
                from,
                query,
            })
        }
        Command::Export { file, to, tables } => export::run(&file, &to, &tables),
        Command::Check { file, format } => maintenance::check(&file, format),
        Command::Vacuum { file } => maintenance::vacuum(&file),
        Command::Info { file, format } => maintenance::info(&file, format),
        Command::Config { action } => config_cmd::run(action),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut out = std::io::stdout().lock();
            clap_complete::generate(shell, &mut Cli::command(), "hyperctl", &mut out);
            Ok(())
        }
        Command::Man => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout().lock())?;
            Ok(())
        }
        Command::Publish(a) => publish::run(&publish::Args {
            file: a.file,
            manifest: a.manifest,
            parallel: a.parallel.map(usize::from),
            server: a.server,
            site: a.site,
            project: a.project,
            name: a.name,
            mode: a.mode,
            tables: a.tables,
            as_job: a.as_job,
            dry_run: a.dry_run,
            chunk_size_mb: a.chunk_size_mb,
            profile: a.profile,
            verbose,
        }),
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The message and its causes, one per line, without Rust debug dumps.
pub(crate) fn render_error(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(&format!("\n  caused by: {c}"));
        }
    }
    text
}

/// The exit code of an error: the first error in the chain that has a kind
/// decides (context added on top does not change it).
fn exit_code(e: &anyhow::Error) -> u8 {
    use hyperctl_sql::Error as E;
    for cause in e.chain() {
        if let Some(r) = cause.downcast_ref::<maintenance::Reported>() {
            return r.code;
        }
        // issue 7: publish and bridge errors; only reading a local file is I/O.
        if let Some(p) = cause.downcast_ref::<hyperctl_publish::Error>() {
            return if matches!(p, hyperctl_publish::Error::Io { .. }) {
                3
            } else {
                1
            };
        }
        match cause.downcast_ref::<hyperctl_sql::Error>() {
            Some(E::Storage(_) | E::Io { .. }) => return 3,
            Some(_) => return 1,
            None => {}
        }
        if cause.downcast_ref::<hyperctl_storage::Error>().is_some()
            || cause.downcast_ref::<std::io::Error>().is_some()
        {
            return 3;
        }
    }
    1
}
