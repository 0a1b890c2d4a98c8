//! A running `hyperd` on loopback, owned by this process.
//!
//! Start-up mirrors the Hyper API's `HyperProcess`: `hyperd run
//! --init-user=tableau_internal_user --no-password=true --skip-license=true
//! --date-style=MDY --date-style-lenient=false --language=en_US`, listening on
//! `tab.tcp://127.0.0.1:auto`. hyperd picks a free port and reports its
//! endpoint over a callback connection to a listener of ours (on 127.0.0.1 too):
//! one length byte, then `tab.tcp://127.0.0.1:PORT` and a NUL. hyperd stops by
//! itself when the callback connection closes, so it cannot outlive us for long
//! even if we are killed.
//!
//! Invariant: hyperd only ever listens on, and we only ever connect to,
//! 127.0.0.1. Its working directory, logs and console output live in a temp
//! directory of its own, removed on drop.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::discover::HyperdPath;
use crate::error::{Error, Result};

/// The role hyperd creates and owns new databases with; the Hyper API and
/// Tableau refuse files owned by any other role.
pub const HYPER_USER: &str = "tableau_internal_user";

const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(10);
const LOG_TAIL_BYTES: u64 = 2048;

/// A `hyperd` child process listening on 127.0.0.1; stopped and waited for on drop.
#[derive(Debug)]
pub struct HyperdProcess {
    child: Child,
    /// Closing it tells hyperd to shut down.
    callback: Option<TcpStream>,
    port: u16,
    dir: PathBuf,
    binary: PathBuf,
}

impl HyperdProcess {
    /// Starts `hyperd` on a free loopback port and waits until it accepts connections.
    ///
    /// # Errors
    ///
    /// [`Error::HyperdStart`] with the end of hyperd's console output if it cannot
    /// be spawned, exits, or does not report its endpoint within a minute.
    pub fn start(path: &HyperdPath) -> Result<Self> {
        let binary = path.binary().to_path_buf();
        let fail = |reason: String, log_tail: String| Error::HyperdStart {
            path: binary.clone(),
            reason,
            log_tail,
        };
        let dir = make_temp_dir()
            .map_err(|e| fail(format!("cannot create a temp dir: {e}"), String::new()))?;
        let started = spawn(&binary, &dir);
        let (child, listener) = match started {
            Ok(pair) => pair,
            Err(reason) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(fail(reason, String::new()));
            }
        };
        // From here on, Drop stops the child and removes the directory.
        let mut process = Self {
            child,
            callback: None,
            port: 0,
            dir,
            binary: binary.clone(),
        };
        match process.await_endpoint(&listener) {
            Ok((stream, port)) => {
                process.callback = Some(stream);
                process.port = port;
                Ok(process)
            }
            Err(reason) => {
                process.stop();
                Err(fail(reason, process.console_tail()))
            }
        }
    }

    /// The loopback TCP port hyperd listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The endpoint in the Hyper API's form, `tab.tcp://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("tab.tcp://127.0.0.1:{}", self.port)
    }

    /// The hyperd executable this process runs.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// A wire-protocol connection as [`HYPER_USER`], with `database` attached.
    pub(crate) fn connect(&self, database: Option<&str>) -> Result<postgres::Client> {
        let mut config = postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user(HYPER_USER)
            .application_name("hyperctl")
            .connect_timeout(Duration::from_secs(30));
        if let Some(db) = database {
            config.dbname(db);
        }
        config
            .connect(postgres::NoTls)
            .map_err(|e| super::hyper_error("connecting to hyperd", &e))
    }

    /// Waits for hyperd's callback and reads its endpoint.
    fn await_endpoint(&mut self, listener: &TcpListener) -> Result<(TcpStream, u16), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut stream = loop {
            match listener.accept() {
                Ok((stream, peer)) if peer.ip().is_loopback() => break stream,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(format!("waiting for hyperd's callback: {e}")),
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("hyperd exited during start-up ({status})"));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "hyperd did not report its endpoint within {START_TIMEOUT:?}"
                ));
            }
            std::thread::sleep(POLL);
        };
        let io = |e: std::io::Error| format!("reading hyperd's callback: {e}");
        stream.set_nonblocking(false).map_err(io)?;
        stream.set_read_timeout(Some(START_TIMEOUT)).map_err(io)?;
        let mut len = [0_u8; 1];
        stream.read_exact(&mut len).map_err(io)?;
        let mut descriptor = vec![0_u8; usize::from(len[0])];
        stream.read_exact(&mut descriptor).map_err(io)?;
        stream.set_read_timeout(None).map_err(io)?;
        let descriptor = String::from_utf8_lossy(&descriptor);
        let port = parse_endpoint(descriptor.trim_end_matches('\0'))
            .ok_or_else(|| format!("hyperd reported an unexpected endpoint {descriptor:?}"))?;
        Ok((stream, port))
    }

    /// The last bytes of hyperd's console output (stdout and stderr).
    fn console_tail(&self) -> String {
        let Ok(mut file) = File::open(self.dir.join("console.log")) else {
            return String::new();
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL_BYTES)));
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).trim().to_owned()
    }

    /// Closes the callback (hyperd shuts down cleanly), kills after a grace period.
    fn stop(&mut self) {
        drop(self.callback.take());
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) => std::thread::sleep(POLL),
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HyperdProcess {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Spawns hyperd with a callback listener on 127.0.0.1.
fn spawn(binary: &Path, dir: &Path) -> Result<(Child, TcpListener), String> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .map_err(|e| format!("cannot listen on 127.0.0.1 for hyperd's callback: {e}"))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("callback listener: {e}"))?;
    let callback_port = listener
        .local_addr()
        .map_err(|e| format!("callback listener: {e}"))?
        .port();
    let console = File::create(dir.join("console.log"))
        .map_err(|e| format!("cannot create hyperd's console log: {e}"))?;
    let console_err = console
        .try_clone()
        .map_err(|e| format!("cannot create hyperd's console log: {e}"))?;
    let child = Command::new(binary)
        .arg("run")
        .args([
            "--init-user=tableau_internal_user",
            "--no-password=true",
            "--skip-license=true",
            "--date-style=MDY",
            "--date-style-lenient=false",
            "--language=en_US",
        ])
        .arg(format!("--log-dir={}", dir.display()))
        .args(["--listen-connection", "tab.tcp://127.0.0.1:auto"])
        .arg("--callback-connection")
        .arg(format!("tab.tcp://127.0.0.1:{callback_port}"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(console)
        .stderr(console_err)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    Ok((child, listener))
}

/// The port of `tab.tcp://127.0.0.1:PORT` (or `localhost`); other hosts are refused.
fn parse_endpoint(descriptor: &str) -> Option<u16> {
    let rest = descriptor.strip_prefix("tab.tcp://")?;
    let (host, port) = rest.rsplit_once(':')?;
    if host != "127.0.0.1" && host != "localhost" {
        return None;
    }
    port.parse().ok().filter(|p| *p != 0)
}

fn make_temp_dir() -> std::io::Result<PathBuf> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("hyperctl-hyperd-{}-{n}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                // A directory of an earlier process with our pid; try the next name.
                if n > 1000 {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(parse_endpoint("tab.tcp://127.0.0.1:45457"), Some(45457));
        assert_eq!(parse_endpoint("tab.tcp://localhost:1"), Some(1));
        assert_eq!(parse_endpoint("tab.tcp://10.0.0.1:45457"), None);
        assert_eq!(parse_endpoint("tab.tcp://127.0.0.1:0"), None);
        assert_eq!(
            parse_endpoint("tab.domain:///tmp/x/domain/.s.PGSQL.1"),
            None
        );
        assert_eq!(parse_endpoint("tab.tcp://127.0.0.1:x"), None);
    }

    #[test]
    fn start_fails_cleanly_for_a_non_executable() {
        let dir = make_temp_dir().unwrap();
        let fake = dir.join("hyperd");
        std::fs::write(&fake, b"not a program").unwrap();
        let path = HyperdPath::from_path(&fake).unwrap();
        match HyperdProcess::start(&path) {
            Err(Error::HyperdStart { path, .. }) => assert_eq!(path, fake),
            other => panic!("{other:?}"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
