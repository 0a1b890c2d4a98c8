//! Configuration: [`PublishConfig`] and its builder, publish modes, retry and
//! job-polling policies, and the hooks for progress, logging and sleeping.
//!
//! Invariant: a built [`PublishConfig`] is valid: chunk size in 1..=64 MiB, a
//! parseable project path, an `https://` server URL (or `http://` on loopback).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::project::ProjectPath;
use crate::response::ApiVersion;
use crate::secret::Credentials;

/// 2^20 bytes.
pub const MIB: u64 = 1 << 20;

/// The largest request body Tableau accepts, and so the largest chunk (spec §5, §6).
pub const SINGLE_REQUEST_MAX_BYTES: u64 = 64 * MIB;

/// Default chunk size of a chunked upload: 50 MiB, as TSC (spec §6).
pub const CHUNK_SIZE_DEFAULT_BYTES: u64 = 50 * MIB;

/// What to do when a data source of that name already exists in the project (spec §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PublishMode {
    /// Fail with Tableau error 403007 if the name exists.
    #[default]
    CreateNew,
    /// Replace it (or create it).
    Overwrite,
    /// Append the extract's rows to it (it must exist, with the same schema).
    Append,
}

/// Retries of failed requests (spec §11): 429 and 503 for any call, honouring
/// `Retry-After`; 500, 502, 504 and transport errors for idempotent calls only.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Tries per request, the first included (1 = no retries).
    pub max_attempts: u32,
    /// The wait before the first retry.
    pub initial_delay: Duration,
    /// The longest wait; also caps a server's `Retry-After`.
    pub max_delay: Duration,
    /// Growth of the wait per retry.
    pub multiplier: f64,
    /// Randomise each wait between half and all of it.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    /// 5 tries, 1 s doubling up to 60 s, with jitter.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            multiplier: 2.0,
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets the number of tries (at least 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets the first and the longest wait.
    #[must_use]
    pub fn delays(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_delay = initial;
        self.max_delay = max;
        self
    }

    /// Turns jitter on or off.
    #[must_use]
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The wait before retry number `retry` (1-based), without jitter.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let factor = self
            .multiplier
            .max(1.0)
            .powi(retry.saturating_sub(1).min(64) as i32);
        let secs = (self.initial_delay.as_secs_f64() * factor).min(self.max_delay.as_secs_f64());
        Duration::try_from_secs_f64(secs).unwrap_or(self.max_delay)
    }
}

/// Polling of asynchronous jobs (spec §8): 0.5 s, ×1.4, up to 30 s, as TSC.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PollPolicy {
    /// The wait before the first poll.
    pub initial_delay: Duration,
    /// Growth of the wait per poll.
    pub multiplier: f64,
    /// The longest wait between polls.
    pub max_delay: Duration,
    /// Give up when the waits between polls add up to this (`None`: never).
    pub timeout: Option<Duration>,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_millis(500),
            multiplier: 1.4,
            max_delay: Duration::from_secs(30),
            timeout: None,
        }
    }
}

impl PollPolicy {
    /// Sets the first and the longest wait.
    #[must_use]
    pub fn delays(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_delay = initial;
        self.max_delay = max;
        self
    }

    /// Sets the overall limit of the waits.
    #[must_use]
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }
}

/// What a long operation is doing, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// Bytes of the file sent so far (single request or chunks).
    Upload {
        /// Sent so far.
        sent_bytes: u64,
        /// The file's size.
        total_bytes: u64,
    },
    /// A chunk failed; the upload starts again in a new upload session.
    UploadRestarted {
        /// The number of the new session (2 for the first restart).
        session: u32,
        /// Why.
        reason: String,
    },
    /// The upload is complete and is being committed as a data source.
    Committing,
    /// An asynchronous job was polled.
    Job {
        /// The job id.
        id: String,
        /// Its progress, 0-100, if the server said.
        progress: Option<u32>,
    },
}

/// Receives a line of diagnostic log text (requests, responses, retries). The
/// client never puts a secret into one.
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Waits between retries and polls; tests replace it to record the waits
/// instead of sleeping.
pub type Sleeper = Arc<dyn Fn(Duration) + Send + Sync>;

/// Everything needed to publish: where, as whom, what and how.
///
/// Build it with [`PublishConfig::builder`].
#[derive(Clone)]
pub struct PublishConfig {
    pub(crate) server_url: String,
    pub(crate) site: String,
    pub(crate) credentials: Credentials,
    pub(crate) project: Option<ProjectPath>,
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) mode: PublishMode,
    pub(crate) as_job: Option<bool>,
    pub(crate) chunk_size_bytes: u64,
    pub(crate) chunk_threshold_bytes: u64,
    pub(crate) upload_sessions_max: u32,
    pub(crate) retry: RetryPolicy,
    pub(crate) poll: PollPolicy,
    pub(crate) page_size: u32,
    pub(crate) api_version: Option<ApiVersion>,
    pub(crate) timeout: Duration,
    pub(crate) log: Option<LogSink>,
    pub(crate) sleeper: Sleeper,
}

impl fmt::Debug for PublishConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishConfig")
            .field("server_url", &self.server_url)
            .field("site", &self.site)
            .field("credentials", &self.credentials)
            .field("project", &self.project)
            .field("name", &self.name)
            .field("mode", &self.mode)
            .field("as_job", &self.as_job)
            .field("chunk_size_bytes", &self.chunk_size_bytes)
            .field("chunk_threshold_bytes", &self.chunk_threshold_bytes)
            .field("retry", &self.retry)
            .field("poll", &self.poll)
            .field("api_version", &self.api_version)
            .finish_non_exhaustive()
    }
}

impl PublishConfig {
    /// Starts a configuration for `server_url` (e.g. `https://tableau.example.com`),
    /// the site's content URL (`""` for Server's default site) and credentials.
    pub fn builder(
        server_url: impl Into<String>,
        site_content_url: impl Into<String>,
        credentials: Credentials,
    ) -> PublishConfigBuilder {
        PublishConfigBuilder {
            config: PublishConfig {
                server_url: server_url.into(),
                site: site_content_url.into(),
                credentials,
                project: None,
                name: None,
                description: None,
                mode: PublishMode::CreateNew,
                as_job: None,
                chunk_size_bytes: CHUNK_SIZE_DEFAULT_BYTES,
                chunk_threshold_bytes: SINGLE_REQUEST_MAX_BYTES,
                upload_sessions_max: 3,
                retry: RetryPolicy::default(),
                poll: PollPolicy::default(),
                page_size: 100,
                api_version: None,
                timeout: Duration::from_secs(600),
                log: None,
                sleeper: Arc::new(std::thread::sleep),
            },
            project: None,
        }
    }

    /// The server URL, without a trailing `/`.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// The site's content URL.
    pub fn site(&self) -> &str {
        &self.site
    }

    /// The target project, `None` for the default project.
    pub fn project(&self) -> Option<&ProjectPath> {
        self.project.as_ref()
    }

    /// The data source name, `None` for the file's stem.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The publish mode.
    pub fn mode(&self) -> PublishMode {
        self.mode
    }

    pub(crate) fn log(&self, line: &str) {
        if let Some(log) = &self.log {
            log(line);
        }
    }
}

/// Builds a [`PublishConfig`]; every setting has a default but the three given
/// to [`PublishConfig::builder`].
#[derive(Debug)]
#[must_use]
pub struct PublishConfigBuilder {
    config: PublishConfig,
    project: Option<String>,
}

impl PublishConfigBuilder {
    /// The project path, e.g. `Finance/Reports`; see [`ProjectPath`] for escaping.
    /// Default: the top-level project named `default`.
    pub fn project(mut self, path: impl Into<String>) -> Self {
        self.project = Some(path.into());
        self
    }

    /// The data source name. Default: the file's stem.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.config.name = Some(name.into());
        self
    }

    /// A description for the data source.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.config.description = Some(description.into());
        self
    }

    /// CreateNew (default), Overwrite or Append.
    pub fn mode(mut self, mode: PublishMode) -> Self {
        self.config.mode = mode;
        self
    }

    /// Publish as an asynchronous job and poll it. Default: only for chunked uploads.
    pub fn as_job(mut self, as_job: bool) -> Self {
        self.config.as_job = Some(as_job);
        self
    }

    /// Chunk size of chunked uploads, 1 byte to 64 MiB. Default 50 MiB.
    pub fn chunk_size_bytes(mut self, bytes: u64) -> Self {
        self.config.chunk_size_bytes = bytes;
        self
    }

    /// Files of this size or more are uploaded in chunks. Default and maximum 64 MiB.
    pub fn chunk_threshold_bytes(mut self, bytes: u64) -> Self {
        self.config.chunk_threshold_bytes = bytes;
        self
    }

    /// How many upload sessions a chunked upload may use when chunks fail. Default 3.
    pub fn upload_sessions_max(mut self, sessions: u32) -> Self {
        self.config.upload_sessions_max = sessions.max(1);
        self
    }

    /// Retries of failed requests.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.config.retry = retry;
        self
    }

    /// Polling of asynchronous jobs.
    pub fn poll(mut self, poll: PollPolicy) -> Self {
        self.config.poll = poll;
        self
    }

    /// Page size of list calls, 1 to 1000. Default 100.
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.config.page_size = page_size;
        self
    }

    /// Use this REST API version instead of asking the server (`serverInfo`).
    pub fn api_version(mut self, version: ApiVersion) -> Self {
        self.config.api_version = Some(version);
        self
    }

    /// Timeout of one HTTP request, the body included. Default 600 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// Receives diagnostic log lines (never containing secrets).
    pub fn log(mut self, log: LogSink) -> Self {
        self.config.log = Some(log);
        self
    }

    /// Replaces `std::thread::sleep` for the waits between retries and polls.
    pub fn sleeper(mut self, sleeper: Sleeper) -> Self {
        self.config.sleeper = sleeper;
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::Config`] for an empty or non-HTTPS server URL (plain `http://` is
    /// allowed on loopback only), a chunk size outside 1..=64 MiB, a threshold of 0
    /// or above 64 MiB, a page size outside 1..=1000, or an empty secret;
    /// [`Error::ProjectPath`] for an unparseable project path.
    pub fn build(mut self) -> Result<PublishConfig> {
        let c = &mut self.config;
        c.server_url = c.server_url.trim().trim_end_matches('/').to_owned();
        check_server_url(&c.server_url)?;
        let bad = |what, reason: String| Err(Error::Config { what, reason });
        if c.chunk_size_bytes == 0 || c.chunk_size_bytes > SINGLE_REQUEST_MAX_BYTES {
            return bad(
                "chunk size",
                format!(
                    "{} bytes; it must be 1 to {SINGLE_REQUEST_MAX_BYTES}",
                    c.chunk_size_bytes
                ),
            );
        }
        if c.chunk_threshold_bytes == 0 || c.chunk_threshold_bytes > SINGLE_REQUEST_MAX_BYTES {
            return bad(
                "chunk threshold",
                format!(
                    "{} bytes; it must be 1 to {SINGLE_REQUEST_MAX_BYTES}",
                    c.chunk_threshold_bytes
                ),
            );
        }
        if !(1..=1000).contains(&c.page_size) {
            return bad(
                "page size",
                format!("{}; it must be 1 to 1000", c.page_size),
            );
        }
        if c.credentials.secrets().iter().any(|s| s.is_empty()) {
            return bad(
                "credentials",
                format!("the {} secret is empty", c.credentials.kind()),
            );
        }
        if let Some(path) = &self.project {
            c.project = Some(ProjectPath::parse(path)?);
        }
        Ok(self.config)
    }
}

fn check_server_url(url: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(Error::Config {
            what: "server URL",
            reason: format!("{url:?}: {reason}"),
        })
    };
    if let Some(rest) = url.strip_prefix("https://") {
        if rest.is_empty() {
            return bad("no host");
        }
        return Ok(());
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return bad("it must start with https://");
    };
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if !h.ends_with(']') || port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    let loopback = host == "localhost" || host == "[::1]" || host.starts_with("127.");
    if loopback {
        Ok(())
    } else {
        bad("plain http:// is allowed for loopback only; use https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder(url: &str) -> PublishConfigBuilder {
        PublishConfig::builder(url, "", Credentials::personal_access_token("n", "s"))
    }

    #[test]
    fn validation() {
        assert!(builder("https://tableau.example.com/").build().is_ok());
        assert!(builder("http://127.0.0.1:8080").build().is_ok());
        assert!(builder("http://localhost:1").build().is_ok());
        assert!(builder("http://tableau.example.com").build().is_err());
        assert!(builder("ftp://x").build().is_err());
        assert!(builder("https://x").chunk_size_bytes(0).build().is_err());
        assert!(
            builder("https://x")
                .chunk_size_bytes(SINGLE_REQUEST_MAX_BYTES + 1)
                .build()
                .is_err()
        );
        assert!(
            builder("https://x")
                .chunk_threshold_bytes(SINGLE_REQUEST_MAX_BYTES + 1)
                .build()
                .is_err()
        );
        assert!(builder("https://x").page_size(0).build().is_err());
        assert!(builder("https://x").project("a//b").build().is_err());
        let empty =
            PublishConfig::builder("https://x", "", Credentials::personal_access_token("n", ""));
        assert!(empty.build().is_err());
        assert_eq!(
            builder("https://x/").build().unwrap().server_url(),
            "https://x"
        );
    }

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1), Duration::from_secs(1));
        assert_eq!(p.backoff(2), Duration::from_secs(2));
        assert_eq!(p.backoff(3), Duration::from_secs(4));
        assert_eq!(p.backoff(30), Duration::from_secs(60));
    }
}
