//! Errors of the SQL layer. A SQL error carries the SQLSTATE, a message, an
//! optional hint and the position in the statement (line, column, token), and
//! renders an excerpt with a `^~~~` marker the way Hyper does.

use std::fmt;

use sqlparser::tokenizer::Span;

/// A place in a SQL text: 1-based line and column, and the length of the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line, starting at 1.
    pub line: u64,
    /// Column (in characters), starting at 1.
    pub column: u64,
    /// Characters covered by the offending token (at least 1).
    pub len: u64,
}

impl Position {
    /// The start of a span, if the parser recorded one.
    pub(crate) fn from_span(span: Span) -> Option<Position> {
        if span.start.line == 0 {
            return None;
        }
        let len = if span.end.line == span.start.line && span.end.column > span.start.column {
            span.end.column - span.start.column
        } else {
            1
        };
        Some(Position {
            line: span.start.line,
            column: span.start.column,
            len,
        })
    }
}

/// A SQL error: what, where, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    /// The SQLSTATE code (`42601` syntax error, `42P01` undefined table, ...).
    pub sqlstate: &'static str,
    /// What went wrong.
    pub message: String,
    /// What to do about it, when we know.
    pub hint: Option<String>,
    /// Where in the statement.
    pub position: Option<Position>,
    /// The statement line at `position` with a marker under the token, filled
    /// in once the statement text is known.
    pub excerpt: Option<String>,
}

impl SqlError {
    pub(crate) fn new(sqlstate: &'static str, message: impl Into<String>) -> Self {
        SqlError {
            sqlstate,
            message: message.into(),
            hint: None,
            position: None,
            excerpt: None,
        }
    }

    pub(crate) fn at(mut self, span: Span) -> Self {
        if self.position.is_none() {
            self.position = Position::from_span(span);
        }
        self
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Renders the excerpt of `sql` at the error's position. `line_offset` is
    /// added to the line number (for statements cut out of a script).
    pub(crate) fn with_sql(mut self, sql: &str, line_offset: u64) -> Self {
        if let Some(pos) = self.position.as_mut() {
            let text = sql.lines().nth((pos.line - 1) as usize).unwrap_or("");
            let pad = " ".repeat((pos.column - 1) as usize);
            let marker = format!("^{}", "~".repeat(pos.len.saturating_sub(1) as usize));
            pos.line += line_offset;
            let prefix = format!("line {}, column {}: ", pos.line, pos.column);
            self.excerpt = Some(format!(
                "{prefix}{text}\n{}{pad}{marker}",
                " ".repeat(prefix.chars().count())
            ));
        }
        self
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match (&self.excerpt, &self.position) {
            (Some(excerpt), _) => write!(f, "\n{excerpt}")?,
            (None, Some(p)) => write!(f, " (line {}, column {})", p.line, p.column)?,
            (None, None) => {}
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nHint: {hint}")?;
        }
        Ok(())
    }
}

/// What went wrong in the SQL layer.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A statement that cannot be parsed, bound or run, with its position.
    #[error("{0}")]
    Sql(Box<SqlError>),
    /// The storage layer failed (I/O, locking, corruption, ...).
    #[error(transparent)]
    Storage(#[from] hyperctl_storage::Error),
    /// Execution failed (overflow, division by zero, bad cast, ...).
    #[error(transparent)]
    Exec(hyperctl_exec::Error),
    /// A CSV file that cannot be loaded, with the place in the file.
    #[error("{path}:{line}:{column}: {reason}")]
    Csv {
        /// The file.
        path: String,
        /// Line number, starting at 1.
        line: u64,
        /// Column (field) number, starting at 1.
        column: u64,
        /// What is wrong there and what was expected.
        reason: String,
    },
    /// A Parquet, Arrow IPC or other input or output file that cannot be
    /// read or written as its format says, with the reason.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A PostgreSQL source that cannot be read: connecting, the query, a type
    /// or a value (with row and column), with what to do.
    #[error("PostgreSQL: {reason}")]
    Postgres {
        /// What went wrong (never a password).
        reason: String,
    },
    /// An I/O error outside the database file (CSV input, scripts).
    #[error("{op} {path}: {source}")]
    Io {
        /// What we were doing.
        op: &'static str,
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A broken invariant of our own code.
    #[error("internal error in hyperctl-sql: {what}; please report this as a bug")]
    Internal {
        /// What broke.
        what: String,
    },
}

impl From<SqlError> for Error {
    fn from(e: SqlError) -> Self {
        Error::Sql(Box::new(e))
    }
}

impl From<hyperctl_exec::Error> for Error {
    /// Storage errors that travelled through a scan come back out as storage
    /// errors, so that callers see (and exit codes reflect) what really failed.
    fn from(e: hyperctl_exec::Error) -> Self {
        match e {
            hyperctl_exec::Error::Source { source } => {
                match source.downcast::<hyperctl_storage::Error>() {
                    Ok(storage) => Error::Storage(*storage),
                    // An external file's scan (CSV, Parquet) fails with ours.
                    Err(other) => match other.downcast::<Error>() {
                        Ok(own) => *own,
                        Err(other) => Error::Exec(hyperctl_exec::Error::Source { source: other }),
                    },
                }
            }
            hyperctl_exec::Error::MoreThanOneRow { origin } => {
                let mut e = SqlError::new(
                    state::CARDINALITY_VIOLATION,
                    "more than one row returned by a subquery used as an expression",
                );
                e.position = unpack_position(origin);
                Error::Sql(Box::new(e))
            }
            hyperctl_exec::Error::Cancelled => Error::Sql(Box::new(SqlError::new(
                "57014",
                "canceling statement due to user request",
            ))),
            other => Error::Exec(other),
        }
    }
}

/// A span's position as the opaque tag an exec plan carries back in its
/// errors (line: 20 bits, column: 24 bits, length: 20 bits; 0 for none).
pub(crate) fn pack_position(span: Span) -> u64 {
    match Position::from_span(span) {
        Some(p) => {
            (p.line.min(0xF_FFFF) << 44) | (p.column.min(0xFF_FFFF) << 20) | p.len.min(0xF_FFFF)
        }
        None => 0,
    }
}

fn unpack_position(tag: u64) -> Option<Position> {
    (tag != 0).then_some(Position {
        line: tag >> 44,
        column: (tag >> 20) & 0xFF_FFFF,
        len: (tag & 0xF_FFFF).max(1),
    })
}

impl Error {
    /// The SQL error inside, if this is one.
    pub fn as_sql(&self) -> Option<&SqlError> {
        match self {
            Error::Sql(e) => Some(e),
            _ => None,
        }
    }
}

/// The SQL layer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// SQLSTATE codes we use.
pub(crate) mod state {
    pub(crate) const SYNTAX_ERROR: &str = "42601";
    pub(crate) const UNDEFINED_TABLE: &str = "42P01";
    pub(crate) const UNDEFINED_COLUMN: &str = "42703";
    pub(crate) const UNDEFINED_FUNCTION: &str = "42883";
    pub(crate) const DATATYPE_MISMATCH: &str = "42804";
    pub(crate) const GROUPING_ERROR: &str = "42803";
    pub(crate) const PROGRAM_LIMIT_EXCEEDED: &str = "54000";
    pub(crate) const DUPLICATE_COLUMN: &str = "42701";
    pub(crate) const INVALID_TABLE_DEFINITION: &str = "42P16";
    pub(crate) const OBJECT_IN_USE: &str = "55006";
    pub(crate) const DUPLICATE_DATABASE: &str = "42P04";
    pub(crate) const UNDEFINED_DATABASE: &str = "3D000";
    pub(crate) const NOT_NULL_VIOLATION: &str = "23502";
    pub(crate) const INVALID_SCHEMA_NAME: &str = "3F000";
    pub(crate) const DUPLICATE_TABLE: &str = "42P07";
    pub(crate) const DUPLICATE_ALIAS: &str = "42712";
    pub(crate) const INVALID_TEXT: &str = "22P02";
    pub(crate) const FEATURE_NOT_SUPPORTED: &str = "0A000";
    pub(crate) const AMBIGUOUS_COLUMN: &str = "42702";
    pub(crate) const ACTIVE_TRANSACTION: &str = "25001";
    pub(crate) const NO_ACTIVE_TRANSACTION: &str = "25P01";
    pub(crate) const INVALID_PARAMETER: &str = "22023";
    pub(crate) const INVALID_ESCAPE: &str = "22025";
    pub(crate) const CARDINALITY_VIOLATION: &str = "21000";
    pub(crate) const INVALID_RECURSION: &str = "42P19";
    pub(crate) const WINDOWING_ERROR: &str = "42P20";
    pub(crate) const WRONG_OBJECT_TYPE: &str = "42809";
    pub(crate) const UNDEFINED_OBJECT: &str = "42704";
    pub(crate) const INVALID_PRECEDING_OR_FOLLOWING: &str = "22013";
    pub(crate) const DEPENDENT_OBJECTS_STILL_EXIST: &str = "2BP01";
    pub(crate) const DUPLICATE_OBJECT: &str = "42710";
    pub(crate) const INTERNAL_ERROR: &str = "XX000";
    pub(crate) const INDETERMINATE_DATATYPE: &str = "42P18";
    pub(crate) const NUMERIC_VALUE_OUT_OF_RANGE: &str = "22003";
}
