#![forbid(unsafe_code)]
//! `hyperctl-publish`: a blocking Tableau REST client that publishes extracts to
//! Tableau Server and Tableau Cloud.
//!
//! It signs in (personal access token, username/password or connected-app JWT)
//! after negotiating the REST API version, resolves projects by nested path,
//! publishes data sources in CreateNew / Overwrite / Append mode (one request
//! below 64 MiB, a chunked upload session at or above it, restarted when a chunk
//! fails), polls asynchronous jobs, runs Hyper update actions, retries 429 and
//! 5xx responses with backoff and `Retry-After`, and signs out. The contract is
//! `shared/spec/tableau-rest-publishing.md`.
//!
//! Layer: `publish` depends on no engine crate of hyperctl (`format`, `storage`,
//! `exec`, `sql`); only the `hyperctl` CLI sits above it.
//!
//! Invariant: secrets (PAT secret, password, JWT, auth token) live in [`Secret`],
//! whose `Debug` and `Display` print `***`; they never reach log lines or errors.
//!
//! Project paths separate levels with `/`; a `/` inside a name is written `\/`
//! and a backslash `\\` (see [`ProjectPath`]). `>` is an ordinary character.
//!
//! The `.hyper` bridge ([`write_hyper_file`], [`read_hyper_file`]) writes and
//! reads Tableau-readable `.hyper` files through Tableau's own `hyperd`
//! ([`HyperdPath::discover`], [`HyperdProcess::start`]), with tables as Arrow
//! batches; it picks the lowest file format version the column types allow.
//!
//! With the cargo feature `emulator`, `emulator::Emulator` is a Tableau Server
//! emulator on 127.0.0.1 for tests.
//!
//! ```no_run
//! use hyperctl_publish::{Credentials, PublishConfig, PublishMode, publish};
//!
//! let name = std::env::var("TABLEAU_PAT_NAME")?;
//! let secret = std::env::var("TABLEAU_PAT_SECRET")?;
//! let config = PublishConfig::builder(
//!     "https://tableau.example.com",
//!     "marketing",
//!     Credentials::personal_access_token(name, secret),
//! )
//! .project("Finance/Reports")
//! .mode(PublishMode::Overwrite)
//! .build()?;
//! let outcome = publish(&config, "sales.hyper".as_ref(), &mut |p| eprintln!("{p:?}"))?;
//! println!("published {} ({} bytes)", outcome.name, outcome.bytes);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bridge;
mod client;
mod config;
mod error;
mod http;
mod project;
mod publish;
mod response;
mod secret;
mod update;
mod xml;

#[cfg(feature = "emulator")]
pub mod emulator;
#[cfg(feature = "emulator")]
pub mod hyperd_testing;

pub use crate::bridge::{
    FileVersionChoice, HYPER_USER, HYPERD_PATH_ENV, HyperColumn, HyperTable, HyperTableDef,
    HyperType, HyperWriteOutcome, HyperdPath, HyperdProcess, hyper_file_version, read_hyper_file,
    write_hyper_file,
};
pub use crate::client::{API_VERSION_MAX, API_VERSION_MIN, Client};
pub use crate::config::{
    CHUNK_SIZE_DEFAULT_BYTES, LogSink, MIB, PollPolicy, Progress, PublishConfig,
    PublishConfigBuilder, PublishMode, RetryPolicy, SINGLE_REQUEST_MAX_BYTES, Sleeper,
};
pub use crate::error::{Error, Result};
pub use crate::project::ProjectPath;
pub use crate::publish::{PublishOptions, PublishOutcome, publish};
pub use crate::response::{
    ApiVersion, Datasource, FileUpload, Job, Pagination, Project, ServerInfo, Session,
    TableauError, TsResponse, parse_response,
};
pub use crate::secret::{Credentials, Secret};
pub use crate::update::{
    Condition, Constant, TableRef, UPDATE_DATA_MIN_VERSION, UpdateAction, UpdateRequest,
};
pub use arrow;
pub use serde_json;
