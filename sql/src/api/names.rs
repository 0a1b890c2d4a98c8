//! Names of databases, schemas and tables as the Hyper API has them, and the
//! quoting helpers [`escape_name`] and [`escape_string_literal`].
//!
//! A name part is kept verbatim (case and all); [`std::fmt::Display`] gives the
//! quoted SQL form, so that a name can be pasted into a statement as is.
//!
//! Invariant: a name built from a `&str` is never folded or split; only
//! [`TableName::parse`] and [`SchemaName::parse`] read SQL syntax.

use std::fmt;
use std::str::FromStr;

use hyperctl_storage::DEFAULT_SCHEMA;

use crate::error::{Error, SqlError, state};

/// Quotes an identifier for SQL: wraps it in double quotes and doubles the
/// double quotes inside.
///
/// Spec §6.5 (with [`escape_string_literal`]):
///
/// ```
/// use hyperctl_sql::escape_name;
///
/// assert_eq!(escape_name(r#"a "b" c"#), r#""a ""b"" c""#);
/// assert_eq!(escape_name("Extract"), r#""Extract""#);
/// ```
pub fn escape_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Quotes a string literal for SQL: single quotes doubled; once the text holds
/// a backslash, an `E'...'` literal with the backslashes doubled (plain
/// literals keep backslashes as they are).
///
/// Spec §6.5:
///
/// ```
/// use hyperctl_sql::escape_string_literal;
///
/// assert_eq!(escape_string_literal(r"it's \ x"), r"E'it''s \\ x'");
/// assert_eq!(escape_string_literal("it's"), "'it''s'");
/// ```
pub fn escape_string_literal(text: &str) -> String {
    let backslash = text.contains('\\');
    let mut out = String::with_capacity(text.len() + 3);
    if backslash {
        out.push('E');
    }
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The name of a database (an attached database's alias).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DatabaseName(String);

impl DatabaseName {
    /// A database name, verbatim.
    pub fn new(name: impl Into<String>) -> Self {
        DatabaseName(name.into())
    }

    /// The name, unquoted.
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DatabaseName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape_name(&self.0))
    }
}

impl From<&str> for DatabaseName {
    fn from(name: &str) -> Self {
        DatabaseName::new(name)
    }
}

impl From<String> for DatabaseName {
    fn from(name: String) -> Self {
        DatabaseName(name)
    }
}

/// The name of a schema, optionally qualified by its database.
///
/// ```
/// use hyperctl_sql::SchemaName;
///
/// let s = SchemaName::new("Extract");
/// assert_eq!(s.to_string(), r#""Extract""#);
/// assert!(!s.is_fully_qualified());
/// let s = SchemaName::with_database("db", "Extract");
/// assert_eq!(s.to_string(), r#""db"."Extract""#);
/// assert!(s.is_fully_qualified());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchemaName {
    database: Option<DatabaseName>,
    name: String,
}

impl SchemaName {
    /// A schema name without a database, verbatim.
    pub fn new(name: impl Into<String>) -> Self {
        SchemaName {
            database: None,
            name: name.into(),
        }
    }

    /// A schema name in a database.
    pub fn with_database(database: impl Into<DatabaseName>, name: impl Into<String>) -> Self {
        SchemaName {
            database: Some(database.into()),
            name: name.into(),
        }
    }

    /// The schema name, unquoted.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database, if the name has one.
    pub fn database(&self) -> Option<&DatabaseName> {
        self.database.as_ref()
    }

    /// Whether the database is given.
    pub fn is_fully_qualified(&self) -> bool {
        self.database.is_some()
    }

    /// Parses `schema` or `database.schema` in SQL syntax: quoted parts are
    /// taken verbatim, unquoted ones fold to lower case.
    ///
    /// # Errors
    /// A syntax error (SQLSTATE 42601) for an empty part, an unterminated
    /// quote or more than two parts.
    pub fn parse(text: &str) -> Result<SchemaName, Error> {
        match split_name(text)?.as_mut_slice() {
            [s] => Ok(SchemaName::new(std::mem::take(s))),
            [d, s] => Ok(SchemaName::with_database(
                std::mem::take(d),
                std::mem::take(s),
            )),
            _ => Err(name_error(text, "a schema name has at most two parts")),
        }
    }
}

impl fmt::Display for SchemaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(db) = &self.database {
            write!(f, "{db}.")?;
        }
        f.write_str(&escape_name(&self.name))
    }
}

impl From<&str> for SchemaName {
    fn from(name: &str) -> Self {
        SchemaName::new(name)
    }
}

impl From<String> for SchemaName {
    fn from(name: String) -> Self {
        SchemaName::new(name)
    }
}

impl From<&SchemaName> for SchemaName {
    fn from(name: &SchemaName) -> Self {
        name.clone()
    }
}

impl FromStr for SchemaName {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        SchemaName::parse(text)
    }
}

/// The name of a table, optionally qualified by schema and database.
///
/// An unqualified name means the table in schema `public`.
///
/// ```
/// use hyperctl_sql::TableName;
///
/// let t = TableName::new("Extract", "Extract");
/// assert_eq!(t.to_string(), r#""Extract"."Extract""#);
/// let t = TableName::fully_qualified("db", "s", "t");
/// assert_eq!(t.to_string(), r#""db"."s"."t""#);
/// assert!(t.is_fully_qualified());
/// assert_eq!(TableName::from("Mixed Case").to_string(), r#""Mixed Case""#);
/// assert_eq!("s.\"T\"".parse::<TableName>()?, TableName::new("s", "T"));
/// # Ok::<(), hyperctl_sql::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableName {
    schema: Option<SchemaName>,
    name: String,
}

impl TableName {
    /// A table in a schema (which may name its database).
    pub fn new(schema: impl Into<SchemaName>, name: impl Into<String>) -> Self {
        TableName {
            schema: Some(schema.into()),
            name: name.into(),
        }
    }

    /// A table name without schema (schema `public` when resolved).
    pub fn unqualified(name: impl Into<String>) -> Self {
        TableName {
            schema: None,
            name: name.into(),
        }
    }

    /// A table name with database, schema and table.
    pub fn fully_qualified(
        database: impl Into<DatabaseName>,
        schema: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        TableName::new(SchemaName::with_database(database, schema), name)
    }

    /// The table name, unquoted.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The schema, if the name has one.
    pub fn schema(&self) -> Option<&SchemaName> {
        self.schema.as_ref()
    }

    /// The database, if the name has one.
    pub fn database(&self) -> Option<&DatabaseName> {
        self.schema.as_ref().and_then(SchemaName::database)
    }

    /// Whether database and schema are given.
    pub fn is_fully_qualified(&self) -> bool {
        self.schema
            .as_ref()
            .is_some_and(SchemaName::is_fully_qualified)
    }

    /// The schema name the table resolves to (`public` when unqualified).
    pub(crate) fn schema_or_default(&self) -> &str {
        self.schema
            .as_ref()
            .map_or(DEFAULT_SCHEMA, SchemaName::name)
    }

    /// The schema the table resolves to on `conn`: unqualified, a temporary
    /// table of the connection when it has one of this name, else `public`.
    pub(crate) fn schema_on(&self, conn: &crate::Connection) -> &str {
        match &self.schema {
            Some(s) => s.name(),
            None => conn.default_schema_of(&self.name),
        }
    }

    /// Parses `table`, `schema.table` or `database.schema.table` in SQL
    /// syntax: quoted parts verbatim (`""` is a quote), unquoted parts folded
    /// to lower case.
    ///
    /// # Errors
    /// A syntax error (SQLSTATE 42601) for an empty part, an unterminated
    /// quote or more than three parts.
    pub fn parse(text: &str) -> Result<TableName, Error> {
        match split_name(text)?.as_mut_slice() {
            [t] => Ok(TableName::unqualified(std::mem::take(t))),
            [s, t] => Ok(TableName::new(std::mem::take(s), std::mem::take(t))),
            [d, s, t] => Ok(TableName::fully_qualified(
                std::mem::take(d),
                std::mem::take(s),
                std::mem::take(t),
            )),
            _ => Err(name_error(text, "a table name has at most three parts")),
        }
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}.")?;
        }
        f.write_str(&escape_name(&self.name))
    }
}

impl From<&str> for TableName {
    fn from(name: &str) -> Self {
        TableName::unqualified(name)
    }
}

impl From<String> for TableName {
    fn from(name: String) -> Self {
        TableName::unqualified(name)
    }
}

impl From<&TableName> for TableName {
    fn from(name: &TableName) -> Self {
        name.clone()
    }
}

impl FromStr for TableName {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        TableName::parse(text)
    }
}

fn name_error(text: &str, reason: &str) -> Error {
    SqlError::new(
        state::SYNTAX_ERROR,
        format!("invalid name {}: {reason}", escape_string_literal(text)),
    )
    .hint("quote parts that hold dots or capitals: \"Schema\".\"Table\"")
    .into()
}

/// Splits a dotted SQL name into parts (quoted verbatim, unquoted folded).
fn split_name(text: &str) -> Result<Vec<String>, Error> {
    let mut parts = Vec::new();
    let mut chars = text.trim().chars().peekable();
    loop {
        let mut part = String::new();
        let mut quoted = false;
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            quoted = true;
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(name_error(text, "unterminated quoted part")),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    Some('"') => break,
                    Some(c) => part.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' || c.is_whitespace() || c == '"' {
                    break;
                }
                part.extend(c.to_lowercase());
                chars.next();
            }
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if part.is_empty() && !quoted {
            return Err(name_error(text, "empty name part"));
        }
        parts.push(part);
        match chars.next() {
            None => return Ok(parts),
            Some('.') => {}
            Some(_) => return Err(name_error(text, "expected '.' between name parts")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        assert_eq!(TableName::parse("T").unwrap(), TableName::unqualified("t"));
        assert_eq!(
            TableName::parse(r#""db"."S" . "a""b""#).unwrap(),
            TableName::fully_qualified("db", "S", "a\"b")
        );
        assert!(TableName::parse("a.b.c.d").is_err());
        assert!(TableName::parse("a..b").is_err());
        assert!(TableName::parse("\"open").is_err());
        assert!(TableName::parse("").is_err());
        assert!(SchemaName::parse("a.b.c").is_err());
        assert_eq!(
            SchemaName::parse("D.s").unwrap(),
            SchemaName::with_database("d", "s")
        );
    }

    #[test]
    fn display_round_trips() {
        let t = TableName::fully_qualified("d b", "s\"x", "T");
        assert_eq!(TableName::parse(&t.to_string()).unwrap(), t);
        assert_eq!(t.database().map(DatabaseName::name), Some("d b"));
    }
}
