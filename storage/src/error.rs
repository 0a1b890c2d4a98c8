//! Errors of the storage layer: they name the file, and the table or the byte
//! offset where that is known.

use std::path::PathBuf;

/// What went wrong in the storage layer.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system I/O error.
    #[error("{op} {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What we were doing ("reading", "writing", "syncing", ...).
        op: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Another process (or another open handle) holds the file.
    #[error(
        "database {path} is locked: another process has it open for writing; \
         close that process (or wait for it to finish) and try again"
    )]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// Opening a database that does not exist without a create mode.
    #[error("database {path} does not exist; create it first (CreateMode::Create)")]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// Creating a database that exists already.
    #[error("database {path} could not be created: it already exists")]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
    /// The file is not a hyperctl database at all.
    #[error("{path} is not a hyperctl database (.hxe): {reason}")]
    NotADatabase {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        reason: String,
    },
    /// A database written by a newer hyperctl.
    #[error(
        "{path} has file format version {version}, this hyperctl reads up to {supported}; \
         upgrade hyperctl"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        version: u32,
        /// The newest version we read.
        supported: u32,
    },
    /// Damaged bytes in the file: a checksum mismatch, a bad length, ...
    #[error("database {path} is damaged{}: {source}", context.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The table and column, when known.
        context: Option<String>,
        /// Where and what, from the decoder.
        #[source]
        source: hyperctl_format::Error,
    },
    /// Data that cannot be encoded (wrong Arrow type for a column, ...).
    #[error("cannot store data of table {table}: {source}")]
    Encode {
        /// The table.
        table: String,
        /// The encoder's complaint.
        #[source]
        source: hyperctl_format::Error,
    },
    /// A schema that does not exist.
    #[error("schema \"{schema}\" does not exist")]
    SchemaNotFound {
        /// The schema name.
        schema: String,
    },
    /// Creating a table whose name is taken.
    #[error("table \"{schema}\".\"{table}\" already exists")]
    TableExists {
        /// Schema name.
        schema: String,
        /// Table name.
        table: String,
    },
    /// A table that does not exist.
    #[error("table \"{schema}\".\"{table}\" does not exist")]
    TableNotFound {
        /// Schema name.
        schema: String,
        /// Table name.
        table: String,
    },
    /// A table definition that cannot be stored.
    #[error("invalid definition of table \"{table}\": {reason}")]
    InvalidTable {
        /// Table name.
        table: String,
        /// What is wrong.
        reason: String,
    },
    /// Appended rows that do not match the table.
    #[error("rows for table \"{table}\" do not match its columns: {reason}")]
    SchemaMismatch {
        /// Table name.
        table: String,
        /// What does not match.
        reason: String,
    },
    /// NULL appended to a NOT NULL column.
    #[error("non-NULL value required for column \"{column}\" of table \"{table}\"")]
    NullViolation {
        /// Table name.
        table: String,
        /// Column name.
        column: String,
    },
    /// A write through a read-only handle.
    #[error("database {path} is open read-only")]
    ReadOnly {
        /// The file.
        path: PathBuf,
    },
    /// An earlier commit through this handle failed while writing or syncing,
    /// so the file's state is unknown to it; it refuses to write more.
    #[error(
        "an earlier commit to database {path} failed with an I/O error, so it may or may \
         not be durable; close and reopen the database to continue writing"
    )]
    Poisoned {
        /// The file.
        path: PathBuf,
    },
    /// A broken invariant of our own code.
    #[error("internal error in hyperctl-storage: {what}; please report this as a bug")]
    Internal {
        /// What broke.
        what: String,
    },
}

/// The storage layer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
