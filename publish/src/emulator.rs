//! A Tableau Server emulator for tests (cargo feature `emulator`).
//!
//! It listens on `127.0.0.1` on a free port, serves one connection at a time on
//! a thread, answers with the recorded responses of
//! `shared/testdata/tableau-rest/` (ids and names rewritten where the real
//! server would), checks every request against
//! `shared/spec/tableau-rest-publishing.md` (auth header, multipart structure,
//! part names and types, chunk order, publish modes, RequestID, ...), records
//! every request, and injects faults (429 with `Retry-After`, 5xx HTML pages,
//! truncated bodies, expired tokens). It stops when dropped.
//!
//! A request that breaks the spec gets 400 with code `400000` and a detail that
//! starts `emulator:`; [`Emulator::violations`] lists them for assertions.
//!
//! ```
//! use hyperctl_publish::emulator::Emulator;
//! let server = Emulator::builder().pat("ci", "pat-secret").start().unwrap();
//! let url = server.url(); // http://127.0.0.1:PORT
//! # drop(url);
//! ```
//!
//! Invariant: the emulator only ever binds 127.0.0.1 and talks to its own clients.

mod routes;
mod server;

use std::fmt;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::response::ApiVersion;

pub use routes::{StoredDatasource, StoredProject};

/// The site LUID of the recorded sign-in (`auth_sign_in.xml`).
pub const SITE_ID: &str = "6b7179ba-b82b-4f0f-91ed-812074ac5da6";
/// The recorded auth token of `auth_sign_in.xml`.
pub const RECORDED_TOKEN: &str = "eIX6mvFsqyansa4KqEI1UwOpS8ggRs2l";
/// The recorded `default` project's LUID.
pub const DEFAULT_PROJECT_ID: &str = "ee8c6e70-43b6-11e6-af4f-f7b0d8e20760";
/// The recorded `Tableau` project's LUID.
pub const TABLEAU_PROJECT_ID: &str = "1d0304cd-3796-429f-b815-7258370b9b74";
/// The recorded `Tableau > Child 1` project's LUID (a child of `Tableau`).
pub const CHILD_PROJECT_ID: &str = "4cc52973-5e3a-4d1f-a4fb-5b5f73796edf";
/// The recorded data source `SampleDS` in `default`.
pub const SAMPLE_DATASOURCE_ID: &str = "e76a1461-3b1d-4588-bf1b-17551a879ad9";

/// A running emulator; stops on drop.
pub struct Emulator {
    addr: SocketAddr,
    state: Arc<Mutex<routes::State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Settings of an emulator before it starts.
#[derive(Debug, Clone)]
#[must_use]
pub struct EmulatorBuilder {
    settings: routes::Settings,
}

impl EmulatorBuilder {
    /// The personal access token the server accepts. Default `hyperctl-test` /
    /// `emulator-pat-secret`.
    pub fn pat(mut self, name: &str, secret: &str) -> Self {
        self.settings.pat = Some((name.to_owned(), secret.to_owned()));
        self
    }

    /// A username and password the server accepts.
    pub fn password(mut self, username: &str, password: &str) -> Self {
        self.settings.password = Some((username.to_owned(), password.to_owned()));
        self
    }

    /// A connected-app JWT the server accepts.
    pub fn jwt(mut self, jwt: &str) -> Self {
        self.settings.jwt = Some(jwt.to_owned());
        self
    }

    /// The site content URL the server accepts. Default `Samples`.
    pub fn site(mut self, content_url: &str) -> Self {
        self.settings.site = content_url.to_owned();
        self
    }

    /// The auth token handed out at the first sign-in; later ones get `-2`, `-3`, ...
    /// appended. Default: the recorded token.
    pub fn token(mut self, token: &str) -> Self {
        self.settings.token = token.to_owned();
        self
    }

    /// The REST API version `serverInfo` reports. Default 3.10 (recorded).
    pub fn rest_api_version(mut self, version: ApiVersion) -> Self {
        self.settings.rest_api_version = version;
        self
    }

    /// Act as a server older than 10.1: `serverInfo` answers 404 `404003`.
    pub fn without_server_info(mut self) -> Self {
        self.settings.server_info = false;
        self
    }

    /// Polls that see a job in progress before it completes. Default 1.
    pub fn job_polls_before_done(mut self, polls: u32) -> Self {
        self.settings.job_polls_before_done = polls;
        self
    }

    /// The finishCode of completed jobs: 0 (default), 1 failed, 2 cancelled, 3.
    pub fn job_finish_code(mut self, code: i32) -> Self {
        self.settings.job_finish_code = code;
        self
    }

    /// Adds a project (`parent`: its parent's LUID).
    pub fn project(mut self, id: &str, name: &str, parent: Option<&str>) -> Self {
        self.settings.extra_projects.push(StoredProject {
            id: id.to_owned(),
            name: name.to_owned(),
            parent_id: parent.map(str::to_owned),
        });
        self
    }

    /// Binds 127.0.0.1 on a free port and starts serving on a thread.
    ///
    /// # Errors
    /// The bind error.
    pub fn start(self) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(routes::State::new(self.settings)));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("tableau-emulator".into())
                .spawn(move || server::serve(&listener, &state, &stop))?
        };
        Ok(Emulator {
            addr,
            state,
            stop,
            thread: Some(thread),
        })
    }
}

impl Emulator {
    /// Settings to change before [`EmulatorBuilder::start`].
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            settings: routes::Settings::default(),
        }
    }

    /// Starts an emulator with the default settings.
    ///
    /// # Errors
    /// The bind error.
    pub fn start() -> std::io::Result<Emulator> {
        Self::builder().start()
    }

    /// `http://127.0.0.1:PORT`, the server URL for a client.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn state(&self) -> MutexGuard<'_, routes::State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().log.clone()
    }

    /// Requests that broke the spec (each also got a 400 `400000`).
    pub fn violations(&self) -> Vec<String> {
        self.state().violations.clone()
    }

    /// Queues a fault; faults fire in the order queued, each on its matching requests.
    pub fn inject(&self, fault: Fault) {
        self.state().faults.push(fault);
    }

    /// Makes every token handed out so far invalid: the next call with one gets
    /// 401 `401002`.
    pub fn expire_tokens(&self) {
        self.state().tokens.clear();
    }

    /// The tokens that are valid now.
    pub fn valid_tokens(&self) -> Vec<String> {
        self.state().tokens.clone()
    }

    /// The data sources on the server.
    pub fn datasources(&self) -> Vec<StoredDatasource> {
        self.state().datasources.clone()
    }

    /// How many update-data requests were applied (duplicates of a RequestID are not).
    pub fn updates_applied(&self) -> u32 {
        self.state().updates_applied
    }

    /// Stops the server and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A fault to inject into matching requests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fault {
    /// Method to match (`None`: any).
    pub method: Option<String>,
    /// Substring of the path (after `/api/{v}`) to match.
    pub path_contains: String,
    /// Matching requests to let through before the fault fires.
    pub skip: u32,
    /// How many times it fires.
    pub times: u32,
    /// What the server sends instead of its answer.
    pub reply: FaultReply,
}

/// What an injected fault answers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultReply {
    /// A status with an HTML page (like a proxy or Tableau Cloud's 429).
    Html {
        /// The status.
        status: u16,
        /// A `Retry-After` header in seconds.
        retry_after: Option<u32>,
    },
    /// 200 with the recorded HTML page where XML was expected.
    HtmlOk,
    /// 200 with a body cut short of its `Content-Length`.
    Truncated,
    /// 200 with malformed XML.
    GarbageXml,
}

impl Fault {
    /// A status with an HTML body on the next request of `method` whose path
    /// contains `path_contains`.
    pub fn status(method: &str, path_contains: &str, status: u16) -> Self {
        Self::new(
            method,
            path_contains,
            FaultReply::Html {
                status,
                retry_after: None,
            },
        )
    }

    /// `reply` on the next matching request.
    pub fn new(method: &str, path_contains: &str, reply: FaultReply) -> Self {
        let method = (!method.is_empty()).then(|| method.to_ascii_uppercase());
        Self {
            method,
            path_contains: path_contains.to_owned(),
            skip: 0,
            times: 1,
            reply,
        }
    }

    /// Adds `Retry-After: seconds` (for [`FaultReply::Html`]).
    #[must_use]
    pub fn retry_after(mut self, seconds: u32) -> Self {
        if let FaultReply::Html { retry_after, .. } = &mut self.reply {
            *retry_after = Some(seconds);
        }
        self
    }

    /// Lets `n` matching requests through first.
    #[must_use]
    pub fn after(mut self, n: u32) -> Self {
        self.skip = n;
        self
    }

    /// Fires `n` times.
    #[must_use]
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }
}

/// One request as received.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Query parameters as sent (not decoded), in order.
    pub query: Vec<(String, String)>,
    /// Headers with lower-case names, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Multipart parts, if the body is multipart.
    pub parts: Vec<RecordedPart>,
    /// The status the emulator answered.
    pub status: u16,
}

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedPart {
    /// Part headers as sent (names as sent), in order.
    pub headers: Vec<(String, String)>,
    /// The part's length.
    pub len: usize,
    /// The part's bytes.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter's raw value.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The request as the client's own log renders requests: secrets redacted
    /// (`x-tableau-auth: ***`, secret attributes of a sign-in as `***`), bodies
    /// as sizes.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut out = format!("{} {}", self.method, self.path);
        for (i, (k, v)) in self.query.iter().enumerate() {
            let _ = write!(out, "{}{k}={v}", if i == 0 { '?' } else { '&' });
        }
        let _ = write!(out, " -> {}", self.status);
        for (k, v) in &self.headers {
            let v = if k == "x-tableau-auth" { "***" } else { v };
            let _ = write!(out, "\n  {k}: {v}");
        }
        if self.path.ends_with("/auth/signin") {
            let body = crate::xml::redact_secret_attrs(&String::from_utf8_lossy(&self.body));
            let _ = write!(out, "\n  body: {body}");
        } else {
            let _ = write!(out, "\n  body: {} bytes", self.body.len());
        }
        for part in &self.parts {
            let heads: Vec<String> = part
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            let _ = write!(out, "\n  part [{}] {} bytes", heads.join("; "), part.len);
        }
        out
    }
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}
