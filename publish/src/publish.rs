//! Publishing a data source: single request or chunked upload with restarts,
//! commit, asynchronous jobs, and the whole [`publish`] workflow.
//!
//! Invariant: a file at or above the chunk threshold is never sent in one
//! request, and no request body exceeds 64 MiB plus the multipart framing.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::client::{Client, missing};
use crate::config::{Progress, PublishConfig, PublishMode};
use crate::error::{Error, Result};
use crate::http::{Method, Multipart, Request};
use crate::response::{Datasource, Job};
use crate::xml::escape;

/// What to publish where, for [`Client::publish_datasource`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublishOptions {
    /// The target project's LUID (from [`Client::find_project`]).
    pub project_id: String,
    /// The data source name; `None` for the file's stem.
    pub name: Option<String>,
    /// A description.
    pub description: Option<String>,
    /// CreateNew, Overwrite or Append.
    pub mode: PublishMode,
    /// Publish as a job; `None`: only when the upload is chunked (spec §8).
    pub as_job: Option<bool>,
    /// Poll a job until it completes (default true).
    pub wait_for_job: bool,
}

impl PublishOptions {
    /// Options for a project, CreateNew, the file's stem as name.
    pub fn new(project_id: impl Into<String>) -> Self {
        Self {
            project_id: project_id.into(),
            name: None,
            description: None,
            mode: PublishMode::CreateNew,
            as_job: None,
            wait_for_job: true,
        }
    }

    /// Sets the data source name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the mode.
    #[must_use]
    pub fn mode(mut self, mode: PublishMode) -> Self {
        self.mode = mode;
        self
    }

    /// Publishes as a job (or not).
    #[must_use]
    pub fn as_job(mut self, as_job: bool) -> Self {
        self.as_job = Some(as_job);
        self
    }

    /// Polls the job until it completes (or returns it as started).
    #[must_use]
    pub fn wait_for_job(mut self, wait: bool) -> Self {
        self.wait_for_job = wait;
        self
    }
}

/// The result of a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublishOutcome {
    /// The data source, when the server returned it (synchronous publishes).
    pub datasource: Option<Datasource>,
    /// The job, for `asJob` publishes (completed if it was waited for).
    pub job: Option<Job>,
    /// The name published under.
    pub name: String,
    /// The project's LUID.
    pub project_id: String,
    /// The file's size.
    pub bytes: u64,
    /// Whether the file went up in chunks.
    pub chunked: bool,
    /// Upload sessions used (0 for a single request; more than 1 after restarts).
    pub upload_sessions: u32,
}

impl Client {
    /// Publishes a `.hyper` (or `.tds`, `.tdsx`, `.tde`, `.parquet`) file as a data
    /// source: in one request below the chunk threshold, else through an upload
    /// session that is restarted when a chunk fails (spec §5-§8).
    ///
    /// # Errors
    /// [`Error::Io`] for an unreadable file, [`Error::Config`] for an unknown file
    /// type, [`Error::Tableau`] (e.g. `403007` for a name clash in CreateNew mode),
    /// [`Error::Upload`] when every upload session failed, [`Error::Job`] when the
    /// job failed, or any request error.
    pub fn publish_datasource(
        &mut self,
        file: &Path,
        options: &PublishOptions,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<PublishOutcome> {
        let (version, site) = self.site()?;
        let datasource_type = datasource_type(file)?;
        let size = std::fs::metadata(file)
            .map_err(|source| Error::Io {
                path: file.to_owned(),
                source,
            })?
            .len();
        let name = match &options.name {
            Some(name) => name.clone(),
            None => file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        let chunked = size >= self.config.chunk_threshold_bytes;
        let as_job = options.as_job.unwrap_or(chunked);
        let payload = publish_payload(&name, options);
        let mut request = Request::new(
            Method::Post,
            format!("/api/{version}/sites/{site}/datasources"),
        )
        .query("datasourceType", datasource_type);
        match options.mode {
            PublishMode::CreateNew => {}
            PublishMode::Overwrite => request = request.query("overwrite", "true"),
            PublishMode::Append => request = request.query("append", "true"),
        }
        if as_job {
            request = request.query("asJob", "true");
        }
        let mut upload_sessions = 0;
        let multipart =
            Multipart::new().part("request_payload", "", "text/xml", payload.as_bytes());
        let multipart = if chunked {
            let (session_id, sessions) = self.upload_file_sessions(file, progress)?;
            upload_sessions = sessions;
            request = request.query("uploadSessionId", session_id);
            progress(&Progress::Committing);
            multipart
        } else {
            let bytes = std::fs::read(file).map_err(|source| Error::Io {
                path: file.to_owned(),
                source,
            })?;
            progress(&Progress::Upload {
                sent_bytes: 0,
                total_bytes: size,
            });
            let filename = file
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            multipart.part(
                "tableau_datasource",
                &filename,
                "application/octet-stream",
                &bytes,
            )
        };
        let (content_type, body) = multipart.finish();
        request = request.body(content_type, body);
        let response = self.execute(&request)?;
        if !chunked {
            progress(&Progress::Upload {
                sent_bytes: size,
                total_bytes: size,
            });
        }
        let parsed = self.parse(&request, &response)?;
        let mut outcome = PublishOutcome {
            datasource: parsed.datasources.into_iter().next(),
            job: parsed.job,
            name,
            project_id: options.project_id.clone(),
            bytes: size,
            chunked,
            upload_sessions,
        };
        match outcome.job.take() {
            Some(job) if options.wait_for_job => {
                outcome.job = Some(self.wait_for_job(&job.id, progress)?)
            }
            Some(job) => outcome.job = Some(job),
            None if outcome.datasource.is_none() => {
                return Err(missing(&request, "<datasource> or <job>"));
            }
            None => {}
        }
        Ok(outcome)
    }

    /// Uploads a file through an upload session in chunks and returns the session
    /// id for a commit (`uploadSessionId=`). A failed chunk starts a new session,
    /// up to the configured number of sessions (spec §6, §11: appends are not
    /// idempotent, so a chunk is never simply sent again).
    ///
    /// # Errors
    /// [`Error::Io`], or [`Error::Upload`] with the last failure.
    pub fn upload_file(
        &mut self,
        file: &Path,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<String> {
        self.upload_file_sessions(file, progress).map(|(id, _)| id)
    }

    fn upload_file_sessions(
        &mut self,
        file: &Path,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<(String, u32)> {
        let sessions_max = self.config.upload_sessions_max;
        let mut session = 1;
        loop {
            match self.upload_once(file, progress) {
                Ok(id) => return Ok((id, session)),
                Err(error) if session < sessions_max && restartable(&error) => {
                    session += 1;
                    let reason = error.to_string();
                    self.config.log(&format!("upload failed, starting upload session {session} of {sessions_max}: {reason}"));
                    progress(&Progress::UploadRestarted { session, reason });
                }
                Err(error @ Error::Io { .. }) => return Err(error),
                Err(error) => {
                    return Err(Error::Upload {
                        path: file.to_owned(),
                        sessions: session,
                        source: Box::new(error),
                    });
                }
            }
        }
    }

    /// One upload session: initiate, then append each chunk in order.
    fn upload_once(&mut self, file: &Path, progress: &mut dyn FnMut(&Progress)) -> Result<String> {
        let (version, site) = self.site()?;
        let io = |source| Error::Io {
            path: file.to_owned(),
            source,
        };
        let mut reader = File::open(file).map_err(io)?;
        let total = reader.metadata().map_err(io)?.len();
        let initiate = Request::new(
            Method::Post,
            format!("/api/{version}/sites/{site}/fileUploads"),
        )
        .body("text/xml", Vec::new());
        let response = self.execute(&initiate)?;
        let upload = self
            .parse(&initiate, &response)?
            .file_upload
            .ok_or_else(|| missing(&initiate, "<fileUpload>"))?;
        let id = upload.upload_session_id;
        let chunk_size = usize::try_from(self.config.chunk_size_bytes).unwrap_or(usize::MAX);
        let mut chunk = Vec::with_capacity(chunk_size.min(total as usize));
        let mut sent = 0u64;
        progress(&Progress::Upload {
            sent_bytes: 0,
            total_bytes: total,
        });
        loop {
            chunk.clear();
            (&mut reader)
                .take(chunk_size as u64)
                .read_to_end(&mut chunk)
                .map_err(io)?;
            if chunk.is_empty() {
                break;
            }
            let (content_type, body) = Multipart::new()
                .part("request_payload", "", "text/xml", b"")
                .part("tableau_file", "file", "application/octet-stream", &chunk)
                .finish();
            let mut append = Request::new(
                Method::Put,
                format!("/api/{version}/sites/{site}/fileUploads/{id}"),
            )
            .body(content_type, body);
            append.idempotent = false;
            let response = self.execute(&append)?;
            self.parse(&append, &response)?;
            sent += chunk.len() as u64;
            progress(&Progress::Upload {
                sent_bytes: sent,
                total_bytes: total.max(sent),
            });
        }
        Ok(id)
    }

    /// Reads a job once (`GET …/jobs/{id}`).
    ///
    /// # Errors
    /// [`Error::NotSignedIn`], or any request error.
    pub fn get_job(&mut self, job_id: &str) -> Result<Job> {
        let (version, site) = self.site()?;
        let request = Request::new(
            Method::Get,
            format!(
                "/api/{version}/sites/{site}/jobs/{}",
                crate::http::path_segment(job_id)
            ),
        );
        let response = self.execute(&request)?;
        self.parse(&request, &response)?
            .job
            .ok_or_else(|| missing(&request, "<job>"))
    }

    /// Polls a job until `completedAt` is set, then judges `finishCode` (0 and 3
    /// are success; spec §8). Waits follow the [`PollPolicy`](crate::PollPolicy).
    ///
    /// # Errors
    /// [`Error::Job`] when it failed or was cancelled, [`Error::JobTimeout`] when
    /// the poll timeout ran out, or any request error.
    pub fn wait_for_job(
        &mut self,
        job_id: &str,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Job> {
        let poll = self.config.poll.clone();
        let mut delay = poll.initial_delay;
        let mut waited = std::time::Duration::ZERO;
        loop {
            if let Some(timeout) = poll.timeout
                && waited >= timeout
            {
                return Err(Error::JobTimeout {
                    id: job_id.to_owned(),
                    waited_ms: waited.as_millis() as u64,
                });
            }
            (self.config.sleeper)(delay);
            waited += delay;
            delay = delay.mul_f64(poll.multiplier.max(1.0)).min(poll.max_delay);
            let job = self.get_job(job_id)?;
            progress(&Progress::Job {
                id: job.id.clone(),
                progress: job.progress,
            });
            if !job.is_complete() {
                continue;
            }
            if job.succeeded() {
                return Ok(job);
            }
            return Err(Error::Job {
                id: job.id,
                finish_code: job.finish_code.unwrap_or(-1),
                notes: job.notes.iter().map(|n| self.redact(n)).collect(),
            });
        }
    }
}

/// Publishes `file` as `config` says: sign in, resolve the project (the default
/// project when none is set), publish, and sign out on every path.
///
/// # Errors
/// Any error of [`Client::sign_in`], [`Client::find_project`] and
/// [`Client::publish_datasource`]. A failed sign-out after a successful publish
/// is only logged; after a failed one the publish error is returned.
pub fn publish(
    config: &PublishConfig,
    file: &Path,
    progress: &mut dyn FnMut(&Progress),
) -> Result<PublishOutcome> {
    // Refuse an unknown file type before any network traffic.
    datasource_type(file)?;
    let mut client = Client::new(config.clone())?;
    let result = client.sign_in().map(|_| ()).and_then(|()| {
        let project = match &config.project {
            Some(path) => client.find_project_path(path)?,
            None => client.default_project()?,
        };
        let mut options = PublishOptions::new(project.id).mode(config.mode);
        options.name = config.name.clone();
        options.description = config.description.clone();
        options.as_job = config.as_job;
        client.publish_datasource(file, &options, progress)
    });
    if let Err(e) = client.sign_out() {
        client.config.log(&format!("sign-out failed: {e}"));
    }
    result
}

/// The `datasourceType` for a file's extension.
fn datasource_type(file: &Path) -> Result<&'static str> {
    let ext = file
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "hyper" => Ok("hyper"),
        "tds" => Ok("tds"),
        "tdsx" => Ok("tdsx"),
        "tde" => Ok("tde"),
        "parquet" => Ok("parquet"),
        _ => Err(Error::Config {
            what: "file type",
            reason: format!(
                "{}: expected a .hyper, .tds, .tdsx, .tde or .parquet file",
                PathBuf::from(file).display()
            ),
        }),
    }
}

/// `<tsRequest><datasource name="…"><project id="…" /></datasource></tsRequest>` (spec §5).
fn publish_payload(name: &str, options: &PublishOptions) -> String {
    let description = options
        .description
        .as_deref()
        .map(|d| format!(" description=\"{}\"", escape(d)))
        .unwrap_or_default();
    format!(
        "<tsRequest><datasource name=\"{}\"{description}><project id=\"{}\" /></datasource></tsRequest>",
        escape(name),
        escape(&options.project_id)
    )
}

/// Failures that a fresh upload session may cure: server errors, rate limits,
/// lost connections, a session the server forgot (404).
fn restartable(error: &Error) -> bool {
    match error {
        Error::Transport { .. } => true,
        Error::RetriesExhausted { source, .. } => restartable(source),
        e => matches!(e.http_status(), Some(404 | 408 | 429 | 500..=599)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_matches_tsc() {
        let options = PublishOptions::new("ee8c6e70-43b6-11e6-af4f-f7b0d8e20760");
        let payload = publish_payload("SampleDS", &options);
        assert_eq!(payload.len(), 117);
        assert_eq!(
            payload,
            "<tsRequest><datasource name=\"SampleDS\"><project id=\"ee8c6e70-43b6-11e6-af4f-f7b0d8e20760\" /></datasource></tsRequest>"
        );
        assert!(publish_payload("Sales & Co", &options).contains("name=\"Sales &amp; Co\""));
    }

    #[test]
    fn file_types() {
        assert_eq!(datasource_type(Path::new("a/b.HYPER")).unwrap(), "hyper");
        assert!(datasource_type(Path::new("a.csv")).is_err());
        assert!(datasource_type(Path::new("noext")).is_err());
    }
}
