//! `hyperctl import FILE --from postgresql://user@host:port/db --query "SELECT
//! ..." --table T`: the rows of a PostgreSQL query into a table, streamed.
//! The password comes from PGPASSWORD or ~/.pgpass (see
//! `hyperctl_sql::PgSource`), never from the command line.

use std::time::Instant;

use anyhow::{Result, bail};
use hyperctl_sql::{DEFAULT_SCHEMA, PgSource, read_postgres};

use crate::import::{Args, create_table_sql, load_batches, override_columns};

pub(crate) fn run(args: &Args, url: &str, query: &str) -> Result<()> {
    let started = Instant::now();
    if args.schema.is_some() || args.skip_errors {
        bail!("--schema and --on-error apply to CSV files; a PostgreSQL query has its own types");
    }
    let source = PgSource::parse(url)?;
    let (mut schema, batches) = read_postgres(&source, query)?;
    override_columns(&mut schema.columns, &args.columns)?;
    let def = schema.table_def(DEFAULT_SCHEMA, &args.table);
    if args.dry_run {
        println!("{}", create_table_sql(&def));
        return Ok(());
    }
    load_batches(args, &def, batches, started)
}
