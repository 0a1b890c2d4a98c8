//! The crate's error type.
//!
//! Invariant: no variant holds a secret. Server text (summary, detail, body
//! excerpts) is kept as the server sent it, after redaction of the secrets the
//! client knows (a server could echo a token back).

use std::path::PathBuf;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while talking to Tableau.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration cannot work (empty server URL, chunk size above 64 MiB, ...).
    #[error("invalid publish configuration: {what}: {reason}")]
    Config {
        /// The setting.
        what: &'static str,
        /// Why it is rejected and what is accepted.
        reason: String,
    },

    /// Tableau answered with its error document (`<error code summary detail>`).
    #[error(
        "Tableau Server answered {status} to {method} {path}: error {code} {summary}: {detail}{}",
        hint(code)
    )]
    Tableau {
        /// The request's method.
        method: &'static str,
        /// The request's path (no secrets in it).
        path: String,
        /// The HTTP status.
        status: u16,
        /// Tableau's code: the status followed by three digits, e.g. `403007`.
        code: String,
        /// Tableau's summary, e.g. `Forbidden`.
        summary: String,
        /// Tableau's detail text.
        detail: String,
    },

    /// An HTTP error status without a Tableau error document (proxy or HTML page,
    /// 429 from a load balancer, ...).
    #[error(
        "{method} {path} failed with HTTP {status} and a {} body: {excerpt:?}{}",
        content_type.as_deref().unwrap_or("untyped"),
        status_hint(*status)
    )]
    Http {
        /// The request's method.
        method: &'static str,
        /// The request's path.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The response's `Content-Type`, if any.
        content_type: Option<String>,
        /// The start of the body, for diagnosis.
        excerpt: String,
    },

    /// The request did not complete: connection refused, TLS failure, timeout,
    /// a body cut short.
    #[error(
        "{method} {path} did not complete: {reason}; check the server URL, the network and any proxy"
    )]
    Transport {
        /// The request's method.
        method: &'static str,
        /// The request's path.
        path: String,
        /// What the HTTP library said.
        reason: String,
    },

    /// A response body that is not the XML (or JSON) this call expects.
    #[error(
        "unexpected response from Tableau ({what}): {reason}; is the server URL a Tableau Server or Cloud site?"
    )]
    Xml {
        /// Which response, e.g. `reply to GET /api/3.10/serverInfo`.
        what: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A 2xx response whose body is not XML at all (an HTML page from a proxy or a
    /// wrong URL).
    #[error("non-XML response ({what}): Content-Type {}, body starts {excerpt:?}; check the server URL (it must be the Tableau Server root, e.g. https://tableau.example.com)", content_type.as_deref().unwrap_or("missing"))]
    NonXml {
        /// Which response.
        what: String,
        /// The response's `Content-Type`, if any.
        content_type: Option<String>,
        /// The start of the body.
        excerpt: String,
    },

    /// Reading the file to publish failed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A project path has no match.
    #[error(
        "project not found: {path}; projects at that level: {}",
        list(available)
    )]
    ProjectNotFound {
        /// The path up to the segment that has no match (escaped form).
        path: String,
        /// Names of the projects that do exist at that level (may be incomplete).
        available: Vec<String>,
    },

    /// A project path matches more than one project.
    #[error("project path {path} is ambiguous: {} projects match (ids {}); Tableau keeps names unique only among siblings, so give the full path", ids.len(), ids.join(", "))]
    ProjectAmbiguous {
        /// The path (escaped form).
        path: String,
        /// The ids of the matches.
        ids: Vec<String>,
    },

    /// A project path that cannot be parsed.
    #[error(
        "invalid project path {path:?}: {reason}; separate levels with '/', write a '/' inside a name as '\\/' and a backslash as '\\\\'"
    )]
    ProjectPath {
        /// The path as given.
        path: String,
        /// What is wrong.
        reason: String,
    },

    /// An asynchronous job finished without success.
    #[error("Tableau job {id} {} (finishCode {finish_code}){}", finish_word(*finish_code), notes_text(notes))]
    Job {
        /// The job id.
        id: String,
        /// Tableau's finishCode: 1 failed, 2 cancelled.
        finish_code: i32,
        /// The job's notes (the failure text).
        notes: Vec<String>,
    },

    /// Polling a job gave up before the job completed.
    #[error(
        "Tableau job {id} did not complete within {waited_ms} ms of polling; it may still finish: look at Jobs on the site or raise the poll timeout"
    )]
    JobTimeout {
        /// The job id.
        id: String,
        /// The time waited between polls.
        waited_ms: u64,
    },

    /// The server's REST API version is too old for a feature.
    #[error(
        "{feature} needs REST API {needed} or later, but the server offers {server}; upgrade Tableau Server or use another sign-in method"
    )]
    UnsupportedVersion {
        /// What needs the version.
        feature: &'static str,
        /// The version needed.
        needed: String,
        /// The version in use.
        server: String,
    },

    /// A redirect that the client refuses to follow.
    #[error("refusing redirect of {method} {path} to {location}: {reason}")]
    Redirect {
        /// The request's method.
        method: &'static str,
        /// The request's path.
        path: String,
        /// The `Location` header.
        location: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// A call that needs a session was made before `sign_in` or after `sign_out`.
    #[error("not signed in to Tableau: call sign_in first")]
    NotSignedIn,

    /// Retries of a request ran out; the last failure is the source.
    #[error("{method} {path} still failed after {attempts} attempts")]
    RetriesExhausted {
        /// The request's method.
        method: &'static str,
        /// The request's path.
        path: String,
        /// How many times it was sent.
        attempts: u32,
        /// The last failure.
        #[source]
        source: Box<Error>,
    },

    /// A chunked upload failed in every upload session it was given.
    #[error("chunked upload of {} failed in {sessions} upload sessions", path.display())]
    Upload {
        /// The file.
        path: PathBuf,
        /// How many upload sessions were tried.
        sessions: u32,
        /// The last failure.
        #[source]
        source: Box<Error>,
    },

    /// Tableau's `hyperd` was not found (bridge).
    #[error(
        "Tableau's hyperd not found (looked at: {}); set HYPERD_PATH to hyperd or its directory, or run `python3 -m pip install tableauhyperapi`",
        searched.join("; ")
    )]
    HyperdNotFound {
        /// Every place looked at.
        searched: Vec<String>,
    },

    /// `hyperd` did not start (bridge).
    #[error("cannot start hyperd ({}): {reason}{}", path.display(), tail_text(log_tail))]
    HyperdStart {
        /// The executable.
        path: PathBuf,
        /// What went wrong.
        reason: String,
        /// The end of hyperd's console output, if any.
        log_tail: String,
    },

    /// hyperd refused a statement, or the connection to it failed (bridge).
    #[error(
        "hyperd failed {context}: {}{message}{}{}",
        sqlstate.as_deref().map(|s| format!("[{s}] ")).unwrap_or_default(),
        detail.as_deref().map(|d| format!("; detail: {d}")).unwrap_or_default(),
        hint.as_deref().map(|h| format!("; hint: {h}")).unwrap_or_default()
    )]
    Hyper {
        /// What the bridge was doing, e.g. `loading "Extract"."Extract"`.
        context: String,
        /// The SQLSTATE, when hyperd sent an error response.
        sqlstate: Option<String>,
        /// hyperd's message (or the connection error).
        message: String,
        /// hyperd's detail text.
        detail: Option<String>,
        /// hyperd's hint.
        hint: Option<String>,
    },

    /// A SQL type spelling the bridge does not know (bridge).
    #[error("unknown or invalid Hyper type {spelling:?}: {reason}")]
    HyperType {
        /// The spelling as given.
        spelling: String,
        /// What is wrong.
        reason: String,
    },

    /// A batch whose columns do not match its table definition (bridge).
    #[error(
        "batch for {table} does not match the table{}: expected {expected}, found {found}",
        column_text(column)
    )]
    BatchSchema {
        /// The table (quoted SQL name).
        table: String,
        /// The column, empty when the column count is wrong.
        column: String,
        /// What the definition asks for.
        expected: String,
        /// What the batch has.
        found: String,
    },

    /// A value that cannot cross the bridge exactly, or text from hyperd that
    /// does not parse (bridge). The value itself is never included.
    #[error("{table}{}, row {row}: {reason}", column_text(column))]
    HyperValue {
        /// The table (quoted SQL name).
        table: String,
        /// The column, empty when the whole row is wrong.
        column: String,
        /// The row, 0-based within the table.
        row: u64,
        /// What is wrong.
        reason: String,
    },

    /// A column whose type the bridge does not carry (arrays, ...).
    #[error(
        "{table}, column {column:?}: type oid {type_oid} is not supported by the .hyper bridge"
    )]
    HyperUnsupportedColumn {
        /// The table (quoted SQL name).
        table: String,
        /// The column.
        column: String,
        /// Its type's oid in hyperd's catalog.
        type_oid: u32,
    },

    /// A `.hyper` path that hyperd cannot take (bridge).
    #[error("cannot use {} as a .hyper file: {reason}", path.display())]
    HyperPath {
        /// The path.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },

    /// A broken invariant of this crate.
    #[error("internal error in hyperctl-publish: {what}; please report a bug")]
    Internal {
        /// What broke.
        what: String,
    },
}

impl Error {
    /// Tableau's error code (`403007`, ...) if the server sent one, also when the
    /// error is wrapped in [`Error::RetriesExhausted`] or [`Error::Upload`].
    pub fn tableau_code(&self) -> Option<&str> {
        match self {
            Self::Tableau { code, .. } => Some(code),
            Self::RetriesExhausted { source, .. } | Self::Upload { source, .. } => {
                source.tableau_code()
            }
            _ => None,
        }
    }

    /// The HTTP status of the failed response, if there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Tableau { status, .. } | Self::Http { status, .. } => Some(*status),
            Self::RetriesExhausted { source, .. } | Self::Upload { source, .. } => {
                source.http_status()
            }
            _ => None,
        }
    }
}

fn hint(code: &str) -> &'static str {
    match code {
        "401001" => {
            "; check the credentials (for a PAT: TABLEAU_PAT_NAME and TABLEAU_PAT_SECRET) and the site content URL"
        }
        "401000" | "401002" => "; the session is missing or expired: sign in again",
        "403007" => "; publish with mode Overwrite to replace it, or choose another name",
        "400011" => {
            "; the server could not publish the file: check that it is a valid single-table extract"
        }
        c if c.starts_with("404") => {
            "; check the project, data source or site names and the REST API version"
        }
        c if c.starts_with("409") => "; another item already uses that name",
        _ => "",
    }
}

fn status_hint(status: u16) -> &'static str {
    match status {
        429 => "; Tableau is rate limiting this site: retry later or reduce concurrent publishes",
        502..=504 => "; a gateway gave up: for big files publish with asJob",
        _ => "",
    }
}

fn finish_word(code: i32) -> &'static str {
    match code {
        1 => "failed",
        2 => "was cancelled",
        _ => "ended without success",
    }
}

fn notes_text(notes: &[String]) -> String {
    if notes.is_empty() {
        String::new()
    } else {
        format!(": {}", notes.join("; "))
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

fn tail_text(tail: &str) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!("; hyperd said: {tail}")
    }
}

fn column_text(column: &str) -> String {
    if column.is_empty() {
        String::new()
    } else {
        format!(", column {column:?}")
    }
}
