//! `Connection::execute_list_query` and `Connection::execute_scalar_query`:
//! query results as [`Value`]s.

use crate::api::value::{Value, value_at};
use crate::connection::{Connection, QueryResult};
use crate::error::{Error, SqlError};

/// SQLSTATE for the scalar query's shape errors (Hyper reports them from the
/// client; `21000` is PostgreSQL's "cardinality violation").
const CARDINALITY: &str = "21000";

impl QueryResult {
    /// The rows as [`Value`]s, in order.
    ///
    /// # Errors
    /// `Error::Internal` when a batch does not match the result's columns.
    pub fn rows(&self) -> Result<Vec<Vec<Value>>, Error> {
        let mut rows = Vec::with_capacity(self.num_rows());
        for batch in &self.batches {
            if batch.num_columns() != self.columns.len() {
                return Err(Error::Internal {
                    what: format!(
                        "result batch has {} columns, the result {}",
                        batch.num_columns(),
                        self.columns.len()
                    ),
                });
            }
            for row in 0..batch.num_rows() {
                let values = batch
                    .columns()
                    .iter()
                    .zip(&self.columns)
                    .map(|(a, c)| value_at(a.as_ref(), c.ty, row))
                    .collect::<Result<Vec<_>, Error>>()?;
                rows.push(values);
            }
        }
        Ok(rows)
    }
}

impl Connection {
    /// Runs a query and returns all its rows as [`Value`]s (the Hyper API's
    /// `execute_list_query`).
    ///
    /// ```
    /// use hyperctl_sql::{Database, Value};
    ///
    /// let mut conn = Database::in_memory().connect();
    /// conn.execute_command("CREATE TABLE t (i int, s text)")?;
    /// conn.execute_command("INSERT INTO t VALUES (2, NULL), (1, 'a')")?;
    /// let rows = conn.execute_list_query("SELECT i, s FROM t ORDER BY i")?;
    /// assert_eq!(rows, vec![
    ///     vec![Value::Int(1), Value::from("a")],
    ///     vec![Value::Int(2), Value::Null],
    /// ]);
    /// # Ok::<(), hyperctl_sql::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Connection::execute_query`].
    pub fn execute_list_query(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, Error> {
        self.execute_query(sql)?.rows()
    }

    /// Runs a query that yields exactly one column and one row and returns
    /// that value (NULL is `Value::Null`).
    ///
    /// ```
    /// use hyperctl_sql::{Database, Value};
    ///
    /// let mut conn = Database::in_memory().connect();
    /// assert_eq!(conn.execute_scalar_query("SELECT 40 + 2")?, Value::Int(42));
    /// let err = conn.execute_scalar_query("SELECT 1, 2").unwrap_err();
    /// assert_eq!(err.to_string(), "Query result must have exactly one column");
    /// # Ok::<(), hyperctl_sql::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Connection::execute_query`]; SQLSTATE 21000 with Hyper's messages
    /// `Query result must have exactly one column`, `Query returned zero
    /// rows`, `Query returned more than one row`.
    pub fn execute_scalar_query(&mut self, sql: &str) -> Result<Value, Error> {
        let result = self.execute_query(sql)?;
        if result.columns.len() != 1 {
            return Err(
                SqlError::new(CARDINALITY, "Query result must have exactly one column").into(),
            );
        }
        match result.num_rows() {
            0 => Err(SqlError::new(CARDINALITY, "Query returned zero rows").into()),
            1 => {
                let batch = result
                    .batches
                    .iter()
                    .find(|b| b.num_rows() == 1)
                    .ok_or_else(|| Error::Internal {
                        what: "one-row result without a one-row batch".into(),
                    })?;
                value_at(batch.column(0).as_ref(), result.columns[0].ty, 0)
            }
            _ => Err(SqlError::new(CARDINALITY, "Query returned more than one row").into()),
        }
    }
}
