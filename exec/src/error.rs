//! The error type of `hyperctl-exec`, and its mapping from Arrow's errors.
//!
//! Arrow reports overflow, division by zero and bad casts with its own
//! variants; they are translated here once, so that operators can use `?` on
//! any Arrow call and the SQL layer sees the SQL-level error kind.

/// What can go wrong while planning a schema or running an operator.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Integer or decimal overflow in arithmetic or aggregation.
    #[error("numeric overflow: {what}")]
    Overflow {
        /// The operation or value that overflowed.
        what: String,
    },
    /// Integer or decimal division (or modulo) by zero.
    #[error("division by zero")]
    DivisionByZero,
    /// A value could not be cast, e.g. `'abc'` to an integer.
    #[error("invalid input syntax for {to}: \"{value}\"")]
    InvalidCast {
        /// The offending value, as text.
        value: String,
        /// The target type.
        to: String,
        /// Arrow's explanation.
        reason: String,
    },
    /// A function argument with a value the function does not take
    /// (`sqrt(-1)`, `split_part(s, ',', 0)`, a LIKE pattern ending in the
    /// escape character, ...).
    #[error("{reason} (in {function})")]
    InvalidArgument {
        /// The function or operator.
        function: String,
        /// What is wrong with the value.
        reason: String,
    },
    /// A scalar subquery ([`PhysicalPlan::SingleRow`](crate::PhysicalPlan::SingleRow))
    /// produced a second row.
    #[error("more than one row returned by a subquery used as an expression")]
    MoreThanOneRow {
        /// The caller's tag of the subquery (the SQL layer: its position).
        origin: u64,
    },
    /// A plan that the SQL layer should never build (wrong types, bad column
    /// index, ...): a bug in the caller or in exec.
    #[error("internal error in hyperctl-exec: {what}; this is a bug, please report it")]
    Internal {
        /// What was wrong with the plan or the data.
        what: String,
    },
    /// A scan source failed (storage: I/O, a damaged block, ...); the
    /// source's own error is kept whole so the caller can report it.
    #[error("{source}")]
    Source {
        /// The source's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// An operator needed more memory than the limit in
    /// [`ExecOptions`](crate::ExecOptions) allows.
    #[error(
        "{operator} exceeded the memory limit of {limit_bytes} bytes; \
         raise the limit (ExecOptions::memory_limit_bytes) or add a filter to reduce the input"
    )]
    MemoryLimit {
        /// The operator that hit the limit (`hash aggregate`, `hash join build`, `sort`).
        operator: &'static str,
        /// The limit in effect.
        limit_bytes: usize,
    },
    /// The query's cancel flag ([`ExecOptionsBuilder::cancel_flag`](crate::ExecOptionsBuilder::cancel_flag))
    /// was set while it ran.
    #[error("canceling statement due to user request")]
    Cancelled,
    /// Any other Arrow error.
    #[error("arrow error: {0}")]
    Arrow(#[source] arrow::error::ArrowError),
}

/// `Result` with [`enum@Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::Internal`].
    pub(crate) fn internal(what: impl Into<String>) -> Self {
        Error::Internal { what: what.into() }
    }
}

impl From<arrow::error::ArrowError> for Error {
    fn from(e: arrow::error::ArrowError) -> Self {
        use arrow::error::ArrowError;
        match e {
            ArrowError::ArithmeticOverflow(what) => Error::Overflow { what },
            ArrowError::DivideByZero => Error::DivisionByZero,
            // Casts are mapped with the offending value in `cast.rs`; a cast
            // error that reaches this point has no value to show.
            e => Error::Arrow(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::error::ArrowError;

    #[test]
    fn arrow_errors_map_to_sql_kinds() {
        let e = Error::from(ArrowError::ArithmeticOverflow("1 + 2".into()));
        assert!(matches!(&e, Error::Overflow { what } if what == "1 + 2"));
        assert_eq!(e.to_string(), "numeric overflow: 1 + 2");
        let e = Error::from(ArrowError::DivideByZero);
        assert!(matches!(e, Error::DivisionByZero));
        assert_eq!(e.to_string(), "division by zero");
        let e = Error::from(ArrowError::ComputeError("x".into()));
        assert!(matches!(e, Error::Arrow(_)));
    }

    #[test]
    fn messages() {
        let e = Error::InvalidCast {
            value: "abc".into(),
            to: "Int32".into(),
            reason: "r".into(),
        };
        assert_eq!(e.to_string(), "invalid input syntax for Int32: \"abc\"");
        assert!(Error::internal("x").to_string().contains("report"));
        let e = Error::MemoryLimit {
            operator: "sort",
            limit_bytes: 1024,
        };
        let m = e.to_string();
        assert!(m.contains("sort") && m.contains("1024"), "{m}");
        assert!(m.contains("raise the limit") && m.contains("filter"), "{m}");
    }
}
