//! The interactive shell of `hyperctl sql FILE`: line editing and history
//! (rustyline), statements over several lines ended by `;`, meta-commands,
//! and Ctrl-C that stops a running query but not the shell.
//!
//! Statements run on a worker thread that owns the connection. Ctrl-C while
//! a query runs sets the connection's cancel flag (the engine stops at its
//! next morsel with 57014), abandons that worker (its result is dropped)
//! and starts a new one on a fresh connection at once; an open transaction
//! is lost with it, as in PostgreSQL, where a cancelled statement aborts
//! its transaction. A write
//! statement is not abandoned, since it would still commit after the user
//! saw "cancelled": the shell says so and waits; a second Ctrl-C leaves
//! hyperctl (the write then never commits; the file stays consistent).
//!
//! Invariant: only one statement runs on a connection at a time; results of
//! abandoned workers are recognised by their job number and dropped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hyperctl_sql::sqlparser::dialect::PostgreSqlDialect;
use hyperctl_sql::sqlparser::parser::Parser;
use hyperctl_sql::{Database, StatementResult, StatementText, escape_name, split_statements};
use rustyline::config::{CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Editor, Helper};

use crate::complete::{CatalogNames, META_COMMANDS, ShellHelper};
use crate::output::{Format, Render};

const PROMPT: &str = "hyperctl> ";
const PROMPT_MORE: &str = "      ..> ";
const PROMPT_TXN: &str = "hyperctl*> ";
/// Table rows shown by default; `.maxrows` changes it.
const ROWS_MAX_DEFAULT: usize = 40;

/// What the worker and the Ctrl-C handler report to the shell's loop.
enum Event {
    Done {
        job: u64,
        result: hyperctl_sql::Result<StatementResult>,
        in_transaction: bool,
    },
    Interrupt,
}

/// A thread that owns one connection and runs statements on it in order.
struct Worker {
    jobs: Sender<(u64, StatementText)>,
    /// The connection's cancel flag (`ExecOptionsBuilder::cancel_flag`).
    cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Worker {
    fn start(db: &Database, events: &Sender<Event>) -> Result<Worker> {
        let (jobs, inbox) = channel::<(u64, StatementText)>();
        let db = db.clone();
        let events = events.clone();
        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = cancel.clone();
        std::thread::Builder::new()
            .name("hyperctl-shell-worker".into())
            .spawn(move || {
                let mut conn = db.connect();
                conn.set_exec_options(
                    hyperctl_sql::ExecOptions::builder()
                        .cancel_flag(flag)
                        .build(),
                );
                for (job, stmt) in inbox {
                    // A panic is a bug of ours; the shell reports it and goes
                    // on instead of waiting for an answer that never comes.
                    let run = std::panic::AssertUnwindSafe(|| conn.execute_at(&stmt));
                    let (result, panicked) = match std::panic::catch_unwind(run) {
                        Ok(result) => (result, false),
                        Err(_) => (
                            Err(hyperctl_sql::Error::Internal {
                                what: "the statement panicked (the message is above)".into(),
                            }),
                            true,
                        ),
                    };
                    let in_transaction = !panicked && conn.in_transaction();
                    let done = Event::Done {
                        job,
                        result,
                        in_transaction,
                    };
                    // After a panic the connection is not trusted again: the
                    // shell starts a new worker for the next statement.
                    if events.send(done).is_err() || panicked {
                        break;
                    }
                }
            })
            .context("starting the shell's worker thread")?;
        Ok(Worker { jobs, cancel })
    }
}

/// The catalog of the open database, read from a fresh snapshot each time.
struct Names(Database);

impl CatalogNames for Names {
    fn tables(&self) -> Vec<(String, Vec<String>)> {
        let snapshot = self.0.storage().snapshot();
        let mut out = Vec::new();
        for schema in snapshot.schema_names() {
            for name in snapshot.table_names(&schema) {
                if let Some(t) = snapshot.table(&schema, &name) {
                    let columns = t.def().columns.iter().map(|c| c.name.clone()).collect();
                    out.push((name, columns));
                }
            }
        }
        out
    }
}

/// The shell's state between statements.
struct Shell {
    db: Database,
    render: Render,
    timer: bool,
    worker: Worker,
    next_job: u64,
    in_transaction: bool,
    events: Receiver<Event>,
    events_tx: Sender<Event>,
}

/// Runs the shell on `db` until `.quit` or Ctrl-D.
pub(crate) fn run(db: Database, file: &Path, null: Option<String>) -> Result<()> {
    let (events_tx, events) = channel();
    let on_interrupt = events_tx.clone();
    ctrlc::set_handler(move || {
        let _ = on_interrupt.send(Event::Interrupt);
    })
    .context("installing the Ctrl-C handler")?;
    let worker = Worker::start(&db, &events_tx)?;
    let mut shell = Shell {
        render: Render {
            format: Format::Table,
            null,
            width_max: None,
            rows_max: Some(ROWS_MAX_DEFAULT),
        },
        db: db.clone(),
        timer: false,
        worker,
        next_job: 0,
        in_transaction: false,
        events,
        events_tx,
    };
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .max_history_size(10_000)?
        .auto_add_history(false)
        .build();
    let mut editor: Editor<ShellHelper, DefaultHistory> = Editor::with_config(config)?;
    editor.set_helper(Some(ShellHelper {
        names: Box::new(Names(db)),
    }));
    let history = history_path();
    if let Some(h) = &history {
        // A missing history file is the first run, not an error.
        let _ = editor.load_history(h);
    }
    println!(
        "hyperctl {}: {} (.help for help, Ctrl-D to leave)",
        env!("CARGO_PKG_VERSION"),
        file.display()
    );
    let result = shell.read_loop(&mut editor);
    if let Some(h) = &history {
        save_history(&mut editor, h);
    }
    result
}

impl Shell {
    fn read_loop<H: Helper>(&mut self, editor: &mut Editor<H, DefaultHistory>) -> Result<()> {
        let mut buffer = String::new();
        loop {
            let prompt = match (buffer.is_empty(), self.in_transaction) {
                (false, _) => PROMPT_MORE,
                (true, true) => PROMPT_TXN,
                (true, false) => PROMPT,
            };
            let line = match editor.readline(prompt) {
                Ok(line) => line,
                Err(ReadlineError::Interrupted) => {
                    buffer.clear();
                    continue;
                }
                Err(ReadlineError::Eof) => return Ok(()),
                Err(e) => return Err(e).context("reading a line from the terminal"),
            };
            if buffer.is_empty() && line.trim_start().starts_with('.') {
                let _ = editor.add_history_entry(line.trim());
                match self.meta(line.trim()) {
                    Ok(Flow::Quit) => return Ok(()),
                    Ok(Flow::Continue) => {}
                    Err(e) => eprintln!("error: {}", crate::render_error(&e)),
                }
                continue;
            }
            if buffer.is_empty() && line.trim().is_empty() {
                continue;
            }
            buffer.push_str(&line);
            buffer.push('\n');
            if !ends_statement(&buffer) {
                continue;
            }
            let text = std::mem::take(&mut buffer);
            let _ = editor.add_history_entry(text.trim_end());
            if let Err(e) = self.run_text(&text) {
                eprintln!("error: {}", crate::render_error(&e));
            }
        }
    }

    /// Runs the statements of `text` in order, stopping at the first error.
    fn run_text(&mut self, text: &str) -> Result<()> {
        let statements = split_statements(text).map_err(hyperctl_sql::Error::from)?;
        for stmt in statements {
            let started = Instant::now();
            let Some(result) = self.execute(stmt)? else {
                return Ok(());
            };
            let mut out = std::io::stdout().lock();
            let mut render = self.render.clone();
            render.width_max = terminal_width();
            crate::sql::print_result(&mut out, &result, &render)?;
            if self.timer {
                writeln!(out, "Run Time: {:.3} s", started.elapsed().as_secs_f64())?;
            }
            out.flush()?;
        }
        Ok(())
    }

    /// Runs one statement on the worker; `None` when Ctrl-C abandoned it.
    fn execute(&mut self, stmt: StatementText) -> Result<Option<StatementResult>> {
        // A Ctrl-C pressed at the prompt was read by rustyline, not the
        // handler; drop anything stale all the same.
        while self.events.try_recv().is_ok() {}
        let job = self.next_job;
        self.next_job += 1;
        let abandonable = is_query(&stmt.text);
        if let Err(std::sync::mpsc::SendError(job_back)) = self.worker.jobs.send((job, stmt)) {
            // The worker ended after a panic: a new one on a new connection.
            self.worker = Worker::start(&self.db, &self.events_tx)?;
            if self.worker.jobs.send(job_back).is_err() {
                anyhow::bail!(
                    "the shell's worker thread stopped; restart hyperctl (a bug: please report it)"
                );
            }
        }
        let mut asked = false;
        loop {
            let event = self.events.recv_timeout(Duration::from_secs(3600)).ok();
            match event {
                Some(Event::Done {
                    job: done,
                    result,
                    in_transaction,
                }) if done == job => {
                    self.in_transaction = in_transaction;
                    return Ok(Some(result?));
                }
                Some(Event::Interrupt) if abandonable => {
                    // The engine stops the abandoned query at its next morsel.
                    self.worker
                        .cancel
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    self.worker = Worker::start(&self.db, &self.events_tx)?;
                    let lost = if self.in_transaction {
                        "; the open transaction was rolled back"
                    } else {
                        ""
                    };
                    self.in_transaction = false;
                    eprintln!("query cancelled{lost}");
                    return Ok(None);
                }
                Some(Event::Interrupt) if !asked => {
                    asked = true;
                    eprintln!(
                        "a write cannot be cancelled once it runs; waiting for it to finish \
                         (Ctrl-C again leaves hyperctl and the write does not commit)"
                    );
                }
                Some(Event::Interrupt) => {
                    eprintln!("leaving hyperctl; the running write did not commit");
                    std::process::exit(130);
                }
                // Results of abandoned workers, and the hourly wake-up.
                Some(Event::Done { .. }) | None => {}
            }
        }
    }

    fn meta(&mut self, line: &str) -> Result<Flow> {
        let mut words = line.split_whitespace();
        let command = words.next().unwrap_or_default();
        let arg = words.collect::<Vec<_>>().join(" ");
        let mut out = std::io::stdout().lock();
        match (command, arg.as_str()) {
            (".quit" | ".exit" | ".q", _) => return Ok(Flow::Quit),
            (".help", _) => {
                for (usage, what) in META_COMMANDS {
                    writeln!(out, "{usage:<34} {what}")?;
                }
                writeln!(
                    out,
                    "SQL statements end with ';' and may span lines; Ctrl-C cancels a running query or clears the line."
                )?;
            }
            (".tables", _) => {
                for (table, _) in Names(self.db.clone()).tables() {
                    writeln!(out, "{table}")?;
                }
            }
            (".schema", table) => self.schema(&mut out, table)?,
            (".mode", name) => match Format::parse(name) {
                Some(format) => self.render.format = format,
                None => anyhow::bail!(
                    "unknown mode {name:?}; use .mode table|csv|json|jsonl|line (now {})",
                    self.render.format.name()
                ),
            },
            (".timer", "on") => self.timer = true,
            (".timer", "off") => self.timer = false,
            (".nullvalue", text) => self.render.null = Some(text.to_string()),
            (".maxrows", n) => match n.parse::<usize>() {
                Ok(0) => self.render.rows_max = None,
                Ok(n) => self.render.rows_max = Some(n),
                Err(_) => anyhow::bail!(".maxrows needs a number of rows (0: all), got {n:?}"),
            },
            _ => anyhow::bail!("unknown or incomplete command {line:?}; .help lists the commands"),
        }
        Ok(Flow::Continue)
    }

    /// CREATE TABLE statements of every table, or of `only`.
    fn schema(&self, out: &mut dyn Write, only: &str) -> Result<()> {
        let snapshot = self.db.storage().snapshot();
        let mut found = false;
        for schema in snapshot.schema_names() {
            for name in snapshot.table_names(&schema) {
                if !only.is_empty() && name != only && format!("{schema}.{name}") != only {
                    continue;
                }
                let Some(table) = snapshot.table(&schema, &name) else {
                    continue;
                };
                found = true;
                writeln!(out, "{}", create_table(table.def()))?;
            }
        }
        if !found && !only.is_empty() {
            anyhow::bail!("no table {only:?}; .tables lists them");
        }
        Ok(())
    }
}

enum Flow {
    Continue,
    Quit,
}

/// The CREATE TABLE statement of `def`.
pub(crate) fn create_table(def: &hyperctl_sql::TableDef) -> String {
    let columns: Vec<String> = def
        .columns
        .iter()
        .map(|c| {
            format!(
                "  {} {}{}{}",
                escape_name(&c.name),
                c.ty.sql_name(),
                if c.nullable { "" } else { " NOT NULL" },
                c.default
                    .as_ref()
                    .map_or_else(String::new, |d| format!(" DEFAULT {d}"))
            )
        })
        .collect();
    let name = if def.schema == hyperctl_sql::DEFAULT_SCHEMA {
        escape_name(&def.name)
    } else {
        format!("{}.{}", escape_name(&def.schema), escape_name(&def.name))
    };
    format!("CREATE TABLE {name} (\n{}\n);", columns.join(",\n"))
}

/// Whether `text` is a query (which Ctrl-C may abandon); anything that does
/// not parse counts as one too, since it fails at once.
fn is_query(text: &str) -> bool {
    use hyperctl_sql::sqlparser::ast::Statement;
    match Parser::parse_sql(&PostgreSqlDialect {}, text) {
        Ok(statements) => statements.iter().all(|s| {
            matches!(
                s,
                Statement::Query(_) | Statement::Explain { analyze: false, .. }
            )
        }),
        Err(_) => true,
    }
}

/// Whether the last thing in `text` outside quotes and comments is `;`.
fn ends_statement(text: &str) -> bool {
    let mut last = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                // A doubled quote inside is an escaped one: the scan leaves
                // and re-enters the literal, which comes to the same.
                for d in chars.by_ref() {
                    if d == c {
                        break;
                    }
                }
                last = Some(c);
            }
            '-' if chars.peek() == Some(&'-') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for d in chars.by_ref() {
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
            }
            c if c.is_whitespace() => {}
            c => last = Some(c),
        }
    }
    last == Some(';')
}

/// The terminal's width, if stdout is one.
fn terminal_width() -> Option<usize> {
    terminal_size::terminal_size_of(std::io::stdout())
        .map(|(terminal_size::Width(w), _)| usize::from(w))
}

/// `$HYPERCTL_HISTORY`, else `$XDG_DATA_HOME/hyperctl/history`, else
/// `~/.local/share/hyperctl/history`; `None` (no history kept) without a home.
fn history_path() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(path) = var("HYPERCTL_HISTORY") {
        return Some(PathBuf::from(path));
    }
    let data = var("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("hyperctl/history"))
}

fn save_history<H: Helper>(editor: &mut Editor<H, DefaultHistory>, path: &Path) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = editor.save_history(path) {
        eprintln!(
            "warning: could not save the history to {}: {e}",
            path.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_end_at_a_semicolon_outside_quotes_and_comments() {
        assert!(ends_statement("select 1;\n"));
        assert!(ends_statement("select 1\n  from t;  \n"));
        assert!(!ends_statement("select 1\n"));
        assert!(!ends_statement("select ';'\n"));
        assert!(!ends_statement("select 1 -- done;\n"));
        assert!(ends_statement("select 1; -- done\n"));
        assert!(!ends_statement("select 1 /* ; */\n"));
        assert!(!ends_statement("select 'it''s;'\n"));
        assert!(ends_statement("select 'it''s';\n"));
    }

    #[test]
    fn only_queries_are_abandoned() {
        assert!(is_query("SELECT 1"));
        assert!(is_query("WITH t AS (SELECT 1) SELECT * FROM t"));
        assert!(!is_query("INSERT INTO t VALUES (1)"));
        assert!(!is_query("CREATE TABLE t (a int)"));
        assert!(is_query("SELEC nonsense"));
        assert!(is_query("EXPLAIN SELECT 1"));
        assert!(!is_query("EXPLAIN ANALYZE INSERT INTO t VALUES (1)"));
    }

    #[test]
    fn create_table_quotes_names() {
        let def = hyperctl_sql::TableDef {
            schema: hyperctl_sql::DEFAULT_SCHEMA.to_string(),
            name: "My Table".to_string(),
            columns: vec![
                hyperctl_sql::ColumnDef::new("a", hyperctl_sql::SqlType::Int, false),
                hyperctl_sql::ColumnDef::new("b", hyperctl_sql::SqlType::Text, true)
                    .with_default(Some("'x'".into())),
            ],
        };
        assert_eq!(
            create_table(&def),
            "CREATE TABLE \"My Table\" (\n  \"a\" INTEGER NOT NULL,\n  \"b\" TEXT DEFAULT 'x'\n);"
        );
    }
}
