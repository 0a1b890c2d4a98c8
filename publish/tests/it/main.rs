//! Integration tests of hyperctl-publish against the Tableau Server emulator.
//!
//! Every test starts its own emulator on 127.0.0.1 (free port), which stops when
//! the test ends. Retry and poll waits go through a recording sleeper, so no
//! test sleeps and none asserts on time.

mod bad_responses;
mod bridge;
mod publishing;
mod requests;
mod secrets;
mod session;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyperctl_publish::emulator::Emulator;
use hyperctl_publish::{
    Credentials, PollPolicy, Progress, PublishConfig, PublishConfigBuilder, RetryPolicy,
};

pub(crate) const PAT_NAME: &str = "hyperctl-test";
pub(crate) const PAT_SECRET: &str = "emulator-pat-secret";

/// What a test captured from the client.
#[derive(Debug, Default, Clone)]
pub(crate) struct Capture {
    pub(crate) logs: Arc<Mutex<Vec<String>>>,
    pub(crate) sleeps: Arc<Mutex<Vec<Duration>>>,
}

impl Capture {
    pub(crate) fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    pub(crate) fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
}

/// A config for `server` with the default PAT, retries without waiting, a
/// recording sleeper and a capturing log.
pub(crate) fn config(server: &Emulator, capture: &Capture) -> PublishConfigBuilder {
    config_with(
        server,
        capture,
        Credentials::personal_access_token(PAT_NAME, PAT_SECRET),
    )
}

pub(crate) fn config_with(
    server: &Emulator,
    capture: &Capture,
    credentials: Credentials,
) -> PublishConfigBuilder {
    let logs = Arc::clone(&capture.logs);
    let sleeps = Arc::clone(&capture.sleeps);
    PublishConfig::builder(server.url(), "Samples", credentials)
        .retry(
            RetryPolicy::default()
                .delays(Duration::ZERO, Duration::from_secs(60))
                .jitter(false),
        )
        .poll(PollPolicy::default().delays(Duration::ZERO, Duration::ZERO))
        .log(Arc::new(move |line: &str| {
            logs.lock().unwrap().push(line.to_owned())
        }))
        .sleeper(Arc::new(move |d| sleeps.lock().unwrap().push(d)))
}

/// A file of `len` deterministic bytes.
pub(crate) fn file(dir: &Path, name: &str, len: usize) -> PathBuf {
    let path = dir.join(name);
    let bytes: Vec<u8> = (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Collects progress events.
pub(crate) fn progress_log() -> (Arc<Mutex<Vec<Progress>>>, impl FnMut(&Progress)) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    (events, move |p: &Progress| {
        sink.lock().unwrap().push(p.clone())
    })
}

/// `METHOD path?query` of each request, for compact assertions.
pub(crate) fn lines(server: &Emulator) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| {
            let query: Vec<String> = r.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let query = if query.is_empty() {
                String::new()
            } else {
                format!("?{}", query.join("&"))
            };
            format!("{} {}{query} {}", r.method, r.path, r.status)
        })
        .collect()
}
