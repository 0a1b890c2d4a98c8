//! The databases of a connection besides its own file: its temporary
//! tables (an in-memory store, schema `pg_temp`) and the databases attached
//! with ATTACH DATABASE; which of them a writing statement writes, and the
//! catalog view that spans them all.
//!
//! Invariant: a BEGIN block writes one database (besides the temporary
//! store), as in Hyper; `Connection::block_target` records which.

use std::path::Path;

use hyperctl_storage::{CreateMode, OpenOptions, WriteTxn};

use super::Connection;
use crate::binder::{BoundStatement, CatalogView, SessionView, TEMP_SCHEMA};
use crate::error::{Error, Result, SqlError, state};

/// A database of a connection besides its own: its temporary tables (an
/// in-memory database with schema `pg_temp`) or an attached one; with its
/// write transaction while a BEGIN block writes it.
#[derive(Debug)]
pub(super) struct Side {
    pub(super) alias: String,
    pub(super) db: hyperctl_storage::Database,
    pub(super) txn: Option<WriteTxn>,
}

impl Side {
    pub(super) fn temporary() -> Result<Side> {
        let db = hyperctl_storage::Database::in_memory();
        let mut txn = db.begin_write()?;
        txn.create_schema(TEMP_SCHEMA)?;
        txn.commit()?;
        Ok(Side {
            alias: TEMP_SCHEMA.to_string(),
            db,
            txn: None,
        })
    }
}

/// The database a writing statement writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    Main,
    Temp,
    Attached(usize),
}

impl Connection {
    /// Which database a writing statement writes; all its tables must be
    /// of one.
    pub(super) fn target_of(&self, stmt: &BoundStatement) -> Result<Target> {
        let of_name = |database: Option<&String>, schema: &str| -> Result<Target> {
            if schema == TEMP_SCHEMA {
                return Ok(Target::Temp);
            }
            match database {
                None => Ok(Target::Main),
                Some(d) if *d == self.main_alias() => Ok(Target::Main),
                Some(d) => self
                    .attached
                    .iter()
                    .position(|a| a.alias == *d)
                    .map(Target::Attached)
                    .ok_or_else(|| {
                        crate::binder::missing_schema(
                            &format!("{d}\".\"{schema}"),
                            sqlparser::tokenizer::Span::empty(),
                        )
                        .into()
                    }),
            }
        };
        let of_handle = |h: &hyperctl_storage::TableHandle| -> Target {
            if self.temp.as_ref().is_some_and(|t| h.is_of(&t.db)) {
                return Target::Temp;
            }
            match self.attached.iter().position(|a| h.is_of(&a.db)) {
                Some(i) => Target::Attached(i),
                None => Target::Main,
            }
        };
        let targets: Vec<Target> = match stmt {
            BoundStatement::CreateTable { database, def, .. } => {
                vec![of_name(database.as_ref(), &def.schema)?]
            }
            BoundStatement::DropTable { names, .. } | BoundStatement::Truncate(names) => names
                .iter()
                .map(|(q, _)| of_name(q.database.as_ref(), &q.schema))
                .collect::<Result<_>>()?,
            BoundStatement::Insert(plan) => vec![of_handle(&plan.table)],
            BoundStatement::Copy(plan) => vec![of_handle(&plan.table)],
            BoundStatement::Modify(plan) => vec![of_handle(&plan.table)],
            BoundStatement::Rename { from, .. } => {
                vec![of_name(from.database.as_ref(), &from.schema)?]
            }
            BoundStatement::AddColumns { table, .. } => {
                vec![of_name(table.database.as_ref(), &table.schema)?]
            }
            BoundStatement::Reshape(r) => {
                vec![of_name(r.table.database.as_ref(), &r.table.schema)?]
            }
            BoundStatement::DropSchema { names, .. } => names
                .iter()
                .map(|(database, schema, _)| of_name(database.as_ref(), schema))
                .collect::<Result<_>>()?,
            _ => Vec::new(),
        };
        match targets.split_first() {
            None => Ok(Target::Main),
            Some((first, rest)) if rest.iter().all(|t| t == first) => Ok(*first),
            Some(_) => Err(crate::binder::not_supported(
                "a statement on tables of several databases",
                sqlparser::tokenizer::Span::empty(),
            )
            .into()),
        }
    }

    /// The alias of the connection's own database: its file stem.
    pub(crate) fn main_alias(&self) -> String {
        let path = self.db.path();
        path.file_stem()
            .map_or_else(|| path.to_string_lossy(), |s| s.to_string_lossy())
            .into_owned()
    }

    /// ATTACH DATABASE: opens an existing database file (locking it) under
    /// `alias`, until DETACH or the connection closes.
    pub(crate) fn attach_database(
        &mut self,
        path: &Path,
        alias: String,
        span: sqlparser::tokenizer::Span,
    ) -> Result<()> {
        self.outside_block("ATTACH DATABASE", span)?;
        let main = same_file(self.db.path(), path).then(|| self.main_alias());
        let holder = main.or_else(|| {
            self.attached
                .iter()
                .find(|a| same_file(a.db.path(), path))
                .map(|a| a.alias.clone())
        });
        if let Some(holder) = holder {
            return Err(SqlError::new(
                state::OBJECT_IN_USE,
                format!("database already in use under alias name '{holder}'"),
            )
            .at(span)
            .into());
        }
        if alias == self.main_alias()
            || alias == TEMP_SCHEMA
            || self.attached.iter().any(|a| a.alias == alias)
        {
            return Err(SqlError::new(
                state::DUPLICATE_DATABASE,
                format!("a database with the alias \"{alias}\" is already attached"),
            )
            .at(span)
            .into());
        }
        let db = hyperctl_storage::Database::open(
            path,
            &OpenOptions::new().create_mode(CreateMode::None),
        )?;
        self.attached.push(Side {
            alias,
            db,
            txn: None,
        });
        Ok(())
    }

    /// Fails inside a BEGIN block: `what` changes the databases a
    /// transaction could write.
    pub(super) fn outside_block(&self, what: &str, span: sqlparser::tokenizer::Span) -> Result<()> {
        if self.txn.is_some() {
            return Err(SqlError::new(
                state::ACTIVE_TRANSACTION,
                format!("{what} cannot run inside a transaction block"),
            )
            .at(span)
            .into());
        }
        Ok(())
    }

    /// The aliases of the attached databases.
    pub(crate) fn attached_aliases(&self) -> Vec<String> {
        self.attached.iter().map(|a| a.alias.clone()).collect()
    }

    /// DETACH DATABASE: closes an attached database.
    pub(crate) fn detach_database(
        &mut self,
        alias: &str,
        span: sqlparser::tokenizer::Span,
    ) -> Result<()> {
        self.outside_block("DETACH DATABASE", span)?;
        match self.attached.iter().position(|a| a.alias == alias) {
            Some(i) => {
                self.attached.remove(i);
                Ok(())
            }
            None if alias == self.main_alias() => Err(crate::binder::not_supported(
                "detaching the connection's own database",
                span,
            )
            .into()),
            None => Err(SqlError::new(
                state::UNDEFINED_DATABASE,
                format!(
                    "There is no database with the alias \"{alias}\" attached to this session."
                ),
            )
            .at(span)
            .into()),
        }
    }

    /// Calls `f` with the catalog this connection sees: its transaction's
    /// state (or the newest committed one) and its temporary tables.
    pub(super) fn with_view<T>(&self, f: impl FnOnce(&dyn CatalogView) -> T) -> T {
        let main_snapshot;
        let main: &dyn CatalogView = match &self.txn {
            Some(txn) => txn,
            None => {
                main_snapshot = self.db.snapshot();
                &main_snapshot
            }
        };
        let temp_snapshot;
        let temp: Option<&dyn CatalogView> = match &self.temp {
            None => None,
            Some(Side { txn: Some(txn), .. }) => Some(txn),
            Some(t) => {
                temp_snapshot = t.db.snapshot();
                Some(&temp_snapshot)
            }
        };
        let snapshots: Vec<Option<hyperctl_storage::Snapshot>> = self
            .attached
            .iter()
            .map(|a| a.txn.is_none().then(|| a.db.snapshot()))
            .collect();
        let attached = self
            .attached
            .iter()
            .zip(&snapshots)
            .filter_map(|(a, snap)| {
                let view: &dyn CatalogView = match (&a.txn, snap) {
                    (Some(txn), _) => txn,
                    (None, Some(s)) => s,
                    (None, None) => return None, // a snapshot was taken above
                };
                Some((a.alias.as_str(), view))
            })
            .collect();
        let main_alias = self.main_alias();
        f(&SessionView {
            main,
            main_alias: &main_alias,
            temp,
            attached,
        })
    }

    /// Runs `f` in the write transaction of the temporary store or an
    /// attached database: the BEGIN block's (opened on first use), else one
    /// of its own.
    pub(super) fn with_side_txn<T>(
        &mut self,
        target: Target,
        f: impl FnOnce(&mut WriteTxn) -> Result<T>,
    ) -> Result<T> {
        let in_block = self.txn.is_some();
        let side = match target {
            Target::Main => return self.with_txn(f),
            Target::Temp => {
                if self.temp.is_none() {
                    self.temp = Some(Side::temporary()?);
                }
                self.temp.as_mut()
            }
            Target::Attached(i) => self.attached.get_mut(i),
        };
        let Some(side) = side else {
            return Err(Error::Internal {
                what: format!("no database for {target:?}"),
            });
        };
        if in_block {
            if side.txn.is_none() {
                side.txn = Some(side.db.begin_write()?);
            }
            if let Some(txn) = side.txn.as_mut() {
                return f(txn);
            }
        }
        let mut txn = side.db.begin_write()?;
        let out = f(&mut txn)?;
        txn.commit()?;
        Ok(out)
    }
}

/// Whether two paths name one file.
pub(super) fn same_file(a: &Path, b: &Path) -> bool {
    let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    canonical(a) == canonical(b)
}
