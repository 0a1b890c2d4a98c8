//! "Update Data in Hyper Data Source" (spec §9): actions as JSON, an optional
//! payload `.hyper` sent through an upload session, and an idempotent RequestID.
//!
//! Invariant: one `update_data` call sends one RequestID, the same on every
//! retry, so Tableau runs the actions at most once.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use crate::client::{Client, missing};
use crate::config::Progress;
use crate::error::{Error, Result};
use crate::http::{self, Method, Request};
use crate::response::{ApiVersion, Job};

/// The first REST API version with the update actions.
pub const UPDATE_DATA_MIN_VERSION: ApiVersion = ApiVersion::new(3, 13);

/// A table, optionally schema-qualified (the schema is usually `Extract`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    /// Schema, e.g. `Extract`.
    pub schema: Option<String>,
    /// Table name.
    pub table: String,
}

impl TableRef {
    /// `schema.table`.
    pub fn new(schema: impl Into<String>, table: impl Into<String>) -> Self {
        Self {
            schema: Some(schema.into()),
            table: table.into(),
        }
    }

    /// A table without a schema.
    pub fn table(table: impl Into<String>) -> Self {
        Self {
            schema: None,
            table: table.into(),
        }
    }
}

/// A constant in a condition.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Constant {
    /// `{"type":"string","v":…}`
    String(String),
    /// `{"type":"integer","v":…}`
    Integer(i64),
    /// `{"type":"double","v":…}`
    Double(f64),
    /// `{"type":"boolean","v":…}`
    Boolean(bool),
}

/// Which rows an action touches.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Condition {
    /// `target.col = source.col`: `{"op":"eq","target-col":…,"source-col":…}`.
    ColumnsEqual {
        /// Column of the target table.
        target_col: String,
        /// Column of the source table.
        source_col: String,
    },
    /// `target.col <op> constant`: `{"op":…,"target-col":…,"const":{…}}`; `op` is
    /// Tableau's (`eq`, `gt`, ...).
    Compare {
        /// Operator.
        op: String,
        /// Column of the target table.
        target_col: String,
        /// The constant.
        value: Constant,
    },
    /// A condition in Tableau's JSON grammar as is (`and`, `or`, `not`, ...; the
    /// full grammar is in Tableau's how-to, spec §9).
    Json(Value),
}

/// One action; they run in order (spec §9).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum UpdateAction {
    /// Append the source table's rows to the target.
    Insert {
        /// Table in the payload.
        source: TableRef,
        /// Table in the data source.
        target: TableRef,
    },
    /// Replace the target's rows with the source's.
    Replace {
        /// Table in the payload.
        source: TableRef,
        /// Table in the data source.
        target: TableRef,
    },
    /// Update matching target rows from the source.
    Update {
        /// Table in the payload.
        source: TableRef,
        /// Table in the data source.
        target: TableRef,
        /// Which rows.
        condition: Condition,
    },
    /// Update matching rows, insert the others.
    Upsert {
        /// Table in the payload.
        source: TableRef,
        /// Table in the data source.
        target: TableRef,
        /// Which rows.
        condition: Condition,
    },
    /// Delete matching target rows; without a source when the condition uses constants only.
    Delete {
        /// Table in the payload, if the condition needs one.
        source: Option<TableRef>,
        /// Table in the data source.
        target: TableRef,
        /// Which rows.
        condition: Condition,
    },
}

impl UpdateAction {
    /// The action's JSON object.
    pub fn to_json(&self) -> Value {
        let (name, source, target, condition) = match self {
            Self::Insert { source, target } => ("insert", Some(source), target, None),
            Self::Replace { source, target } => ("replace", Some(source), target, None),
            Self::Update {
                source,
                target,
                condition,
            } => ("update", Some(source), target, Some(condition)),
            Self::Upsert {
                source,
                target,
                condition,
            } => ("upsert", Some(source), target, Some(condition)),
            Self::Delete {
                source,
                target,
                condition,
            } => ("delete", source.as_ref(), target, Some(condition)),
        };
        let mut object = Map::new();
        object.insert("action".into(), name.into());
        if let Some(source) = source {
            if let Some(schema) = &source.schema {
                object.insert("source-schema".into(), schema.as_str().into());
            }
            object.insert("source-table".into(), source.table.as_str().into());
        }
        if let Some(schema) = &target.schema {
            object.insert("target-schema".into(), schema.as_str().into());
        }
        object.insert("target-table".into(), target.table.as_str().into());
        if let Some(condition) = condition {
            object.insert("condition".into(), condition.to_json());
        }
        Value::Object(object)
    }

    fn needs_payload(&self) -> bool {
        !matches!(self, Self::Delete { source: None, .. })
    }
}

impl Condition {
    /// The condition's JSON object.
    pub fn to_json(&self) -> Value {
        match self {
            Self::ColumnsEqual {
                target_col,
                source_col,
            } => {
                json!({"op": "eq", "target-col": target_col, "source-col": source_col})
            }
            Self::Compare {
                op,
                target_col,
                value,
            } => {
                let value = match value {
                    Constant::String(v) => json!({"type": "string", "v": v}),
                    Constant::Integer(v) => json!({"type": "integer", "v": v}),
                    Constant::Double(v) => json!({"type": "double", "v": v}),
                    Constant::Boolean(v) => json!({"type": "boolean", "v": v}),
                };
                json!({"op": op, "target-col": target_col, "const": value})
            }
            Self::Json(value) => value.clone(),
        }
    }
}

/// An update of a live-to-Hyper data source, for [`Client::update_data`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UpdateRequest {
    /// The actions, run in order.
    pub actions: Vec<UpdateAction>,
    /// The `.hyper` file holding the source tables, if any action reads one.
    pub payload: Option<PathBuf>,
    /// The RequestID; `None`: a random UUID. Reuse an id to make a repeated call
    /// a no-op (Tableau ignores duplicates within 24 h).
    pub request_id: Option<String>,
    /// The connection LUID for multi-connection data sources.
    pub connection_id: Option<String>,
    /// Poll the job until it completes (default true).
    pub wait_for_job: bool,
}

impl UpdateRequest {
    /// A request with these actions.
    pub fn new(actions: Vec<UpdateAction>) -> Self {
        Self {
            actions,
            payload: None,
            request_id: None,
            connection_id: None,
            wait_for_job: true,
        }
    }

    /// Sets the payload file.
    #[must_use]
    pub fn payload(mut self, path: impl Into<PathBuf>) -> Self {
        self.payload = Some(path.into());
        self
    }

    /// Sets the RequestID.
    #[must_use]
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// Targets one connection.
    #[must_use]
    pub fn connection_id(mut self, id: impl Into<String>) -> Self {
        self.connection_id = Some(id.into());
        self
    }

    /// Polls the job (or returns it as started).
    #[must_use]
    pub fn wait_for_job(mut self, wait: bool) -> Self {
        self.wait_for_job = wait;
        self
    }

    /// `{"actions":[…]}`.
    pub fn body_json(&self) -> Value {
        json!({"actions": self.actions.iter().map(UpdateAction::to_json).collect::<Vec<_>>()})
    }
}

impl Client {
    /// Runs update actions on a data source (`PATCH …/datasources/{id}/data`): the
    /// payload goes up through an upload session first (always, as TSC does), and
    /// the PATCH carries a RequestID, so retries of it are safe.
    ///
    /// # Errors
    /// [`Error::UnsupportedVersion`] below REST API 3.13, [`Error::Config`] when an
    /// action needs a payload and there is none, [`Error::Job`] when the job
    /// failed, or any upload or request error.
    pub fn update_data(
        &mut self,
        datasource_id: &str,
        update: &UpdateRequest,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Job> {
        let (version, site) = self.site()?;
        if version < UPDATE_DATA_MIN_VERSION {
            return Err(Error::UnsupportedVersion {
                feature: "updating data in a Hyper data source",
                needed: UPDATE_DATA_MIN_VERSION.to_string(),
                server: version.to_string(),
            });
        }
        if update.payload.is_none() && update.actions.iter().any(UpdateAction::needs_payload) {
            return Err(Error::Config {
                what: "update payload",
                reason: "an action reads a source table, so a payload .hyper file is needed"
                    .to_owned(),
            });
        }
        let session_id = match &update.payload {
            Some(path) => Some(self.upload_file(path, progress)?),
            None => None,
        };
        let datasource = http::path_segment(datasource_id);
        let path = match &update.connection_id {
            Some(c) => format!(
                "/api/{version}/sites/{site}/datasources/{datasource}/connections/{}/data",
                http::path_segment(c)
            ),
            None => format!("/api/{version}/sites/{site}/datasources/{datasource}/data"),
        };
        let mut request = Request::new(Method::Patch, path);
        if let Some(id) = session_id {
            request = request.query("uploadSessionId", id);
        }
        let request_id = update.request_id.clone().unwrap_or_else(http::uuid4);
        request.headers.push(("requestid", request_id));
        let body = serde_json::to_vec(&update.body_json()).map_err(|e| Error::Internal {
            what: format!("JSON of update actions: {e}"),
        })?;
        request = request.body("application/json", body);
        request.idempotent = true;
        let response = self.execute(&request)?;
        let job = self
            .parse(&request, &response)?
            .job
            .ok_or_else(|| missing(&request, "<job>"))?;
        if update.wait_for_job {
            self.wait_for_job(&job.id, progress)
        } else {
            Ok(job)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_json_matches_tsc_shapes() {
        let insert = UpdateAction::Insert {
            source: TableRef::new("Extract", "Extract"),
            target: TableRef::new("Extract", "Extract"),
        };
        assert_eq!(
            insert.to_json(),
            json!({"action":"insert","source-schema":"Extract","source-table":"Extract","target-schema":"Extract","target-table":"Extract"})
        );
        let delete = UpdateAction::Delete {
            source: None,
            target: TableRef::table("Orders"),
            condition: Condition::Compare {
                op: "eq".into(),
                target_col: "Region".into(),
                value: Constant::String("Europe".into()),
            },
        };
        assert_eq!(
            delete.to_json(),
            json!({"action":"delete","target-table":"Orders","condition":{"op":"eq","target-col":"Region","const":{"type":"string","v":"Europe"}}})
        );
        let upsert = UpdateAction::Upsert {
            source: TableRef::table("s"),
            target: TableRef::table("t"),
            condition: Condition::ColumnsEqual {
                target_col: "id".into(),
                source_col: "id".into(),
            },
        };
        assert_eq!(
            upsert.to_json()["condition"],
            json!({"op":"eq","target-col":"id","source-col":"id"})
        );
        assert!(!delete.needs_payload() && upsert.needs_payload());
    }
}
