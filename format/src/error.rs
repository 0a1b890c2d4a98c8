//! Errors of the format crate: everything it decodes comes from untrusted bytes.

/// What went wrong while decoding or encoding values.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bytes that do not hold what they should: a short buffer, a bad tag, a
    /// length past the end, a checksum mismatch. `offset` is relative to the
    /// start of the buffer handed to the decoder (plus the base offset the
    /// caller gave, so storage can report file offsets).
    #[error("corrupt data at byte offset {offset}: {what}")]
    Corrupt {
        /// Byte offset of the damage.
        offset: u64,
        /// What was expected there.
        what: String,
    },
    /// A type spelled in a way we do not know, or with parameters out of range.
    #[error("invalid type {spelling:?}: {reason}")]
    InvalidType {
        /// The spelling as given.
        spelling: String,
        /// Why it is not accepted.
        reason: String,
    },
    /// An Arrow array whose data type does not match the column's SQL type.
    #[error("column of type {sql_type} cannot hold Arrow data of type {arrow_type}")]
    TypeMismatch {
        /// The SQL type of the column.
        sql_type: String,
        /// The Arrow data type that was handed in.
        arrow_type: String,
    },
    /// A value that the column's type cannot store, such as a NUMERIC(p, s) value
    /// with more than `p` digits (Arrow does not check precision on its own).
    #[error("value {value} in row {row} does not fit type {sql_type}")]
    ValueOutOfRange {
        /// The SQL type of the column.
        sql_type: String,
        /// Row of the value, counted from 0 within the array handed in.
        row: u64,
        /// The value as text.
        value: String,
    },
    /// Data too large for a length field of the format (row counts and string
    /// data of a column are 32-bit).
    #[error("{what} is {len}, the format allows at most {max}")]
    TooLarge {
        /// Which length overflowed.
        what: &'static str,
        /// The length that was asked for.
        len: u64,
        /// The largest length the format can store.
        max: u64,
    },
    /// A block encoding that was asked for but cannot store this column, such
    /// as frame-of-reference for text or the constant encoding for two values.
    #[error("encoding {encoding} does not apply to this {sql_type} column: {reason}")]
    EncodingNotApplicable {
        /// The encoding asked for (its `Display` name).
        encoding: String,
        /// The SQL type of the column.
        sql_type: String,
        /// Why it does not apply.
        reason: &'static str,
    },
    /// A broken invariant of our own code: a bug, never bad input.
    #[error("internal error: {what}; please report this bug")]
    Internal {
        /// Which invariant broke.
        what: &'static str,
    },
}

/// The format crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn corrupt(offset: u64, what: impl Into<String>) -> Self {
        Error::Corrupt {
            offset,
            what: what.into(),
        }
    }
}
