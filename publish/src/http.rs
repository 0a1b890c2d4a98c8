//! One HTTP exchange with ureq: request description, sending, response capture,
//! query encoding, multipart bodies and random ids.
//!
//! Invariant: the auth token is put on the wire here and nowhere else is it
//! formatted; [`Request::describe`] prints `x-tableau-auth: ***`.

use std::fmt::Write as _;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// Largest response body read (responses are small XML documents).
const RESPONSE_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// HTTP methods the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Patch,
}

impl Method {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
        }
    }
}

/// One request, before the base URL and the token are added.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) method: Method,
    /// From `/api/...`, not URL-encoded further.
    pub(crate) path: String,
    /// Name and already-encoded value, in order.
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) content_type: Option<String>,
    /// Non-secret extra headers (`requestid`).
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Option<Vec<u8>>,
    /// Send `x-tableau-auth`.
    pub(crate) auth: bool,
    /// Safe to send twice (GET, sign-out, PATCH with a RequestID).
    pub(crate) idempotent: bool,
    /// On 401002, sign in again and replay (not for sign-out).
    pub(crate) resign_on_expiry: bool,
    /// Return 3xx responses to the caller instead of failing (sign-in).
    pub(crate) redirectable: bool,
}

impl Request {
    pub(crate) fn new(method: Method, path: String) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            content_type: None,
            headers: Vec::new(),
            body: None,
            auth: true,
            idempotent: method == Method::Get,
            resign_on_expiry: true,
            redirectable: false,
        }
    }

    pub(crate) fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    pub(crate) fn body(mut self, content_type: impl Into<String>, body: Vec<u8>) -> Self {
        self.content_type = Some(content_type.into());
        self.body = Some(body);
        self
    }

    /// Path and query, as sent.
    pub(crate) fn target(&self) -> String {
        let mut out = self.path.clone();
        for (i, (k, v)) in self.query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            let _ = write!(out, "{k}={v}");
        }
        out
    }

    /// One log line describing the request, secrets redacted.
    pub(crate) fn describe(&self) -> String {
        let mut line = format!("-> {} {}", self.method.as_str(), self.target());
        if let Some(ct) = &self.content_type {
            let _ = write!(line, " content-type: {ct};");
        }
        for (k, v) in &self.headers {
            let _ = write!(line, " {k}: {v};");
        }
        if self.auth {
            line.push_str(" x-tableau-auth: ***;");
        }
        if let Some(body) = &self.body {
            let _ = write!(line, " body {} bytes", body.len());
            // The sign-in body shows what was asked for, its secret redacted.
            if self.path.ends_with("/auth/signin") {
                let text = crate::xml::redact_secret_attrs(&String::from_utf8_lossy(body));
                let _ = write!(line, ": {text}");
            }
        }
        line
    }
}

/// What came back.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) location: Option<String>,
    pub(crate) body: Vec<u8>,
}

/// A configured ureq agent: no automatic redirects, statuses are not errors.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .user_agent(concat!("hyperctl/", env!("CARGO_PKG_VERSION")))
        .accept("*/*")
        .build()
        .into()
}

/// Sends `request` to `base` once.
///
/// # Errors
/// [`Error::Transport`] when no complete response arrived.
pub(crate) fn send(
    agent: &ureq::Agent,
    base: &str,
    request: &Request,
    token: Option<&Secret>,
) -> Result<Response> {
    let url = format!("{base}{}", request.target());
    let transport = |e: ureq::Error| Error::Transport {
        method: request.method.as_str(),
        path: request.target(),
        reason: e.to_string(),
    };
    let mut headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    if let Some(ct) = &request.content_type {
        headers.push(("content-type", ct));
    }
    if let (true, Some(token)) = (request.auth, token) {
        headers.push(("x-tableau-auth", token.expose()));
    }
    let body = request.body.as_deref().unwrap_or(&[]);
    let result = match request.method {
        Method::Get => with_headers(agent.get(&url), &headers).call(),
        Method::Post => with_headers(agent.post(&url), &headers).send(body),
        Method::Put => with_headers(agent.put(&url), &headers).send(body),
        Method::Patch => with_headers(agent.patch(&url), &headers).send(body),
    };
    let mut response = result.map_err(transport)?;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type");
    let retry_after = header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let location = header("location");
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(RESPONSE_MAX_BYTES)
        .read_to_vec()
        .map_err(transport)?;
    Ok(Response {
        status,
        content_type,
        retry_after,
        location,
        body,
    })
}

fn with_headers<B>(
    mut builder: ureq::RequestBuilder<B>,
    headers: &[(&str, &str)],
) -> ureq::RequestBuilder<B> {
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder
}

/// Encodes a query value as Python's `quote_plus` (what TSC sends, spec §4):
/// space as `+`, unreserved characters kept, everything else `%XX`.
pub(crate) fn quote_plus(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Encodes one path segment (ids are safe as they are; names are not).
pub(crate) fn path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' | b':' => {
                out.push(b as char)
            }
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// 64 random bits from the standard library's per-process hash keys, a counter
/// and the clock (boundaries and RequestIDs need uniqueness, not cryptography).
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.finish()
}

/// A random UUID (version 4 layout), for `RequestID`.
pub(crate) fn uuid4() -> String {
    let (a, b) = (random_u64(), random_u64());
    let hex = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-4{}-{}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        ["8", "9", "a", "b"][(b & 3) as usize],
        &hex[17..20],
        &hex[20..32]
    )
}

/// A `multipart/mixed` body as TSC writes it (spec §5, §13): CRLF line ends, a
/// random 32-hex boundary, `Content-Disposition: form-data; name=…; filename=…`.
#[derive(Debug)]
pub(crate) struct Multipart {
    boundary: String,
    body: Vec<u8>,
}

impl Multipart {
    pub(crate) fn new() -> Self {
        Self {
            boundary: format!("{:016x}{:016x}", random_u64(), random_u64()),
            body: Vec::new(),
        }
    }

    pub(crate) fn part(
        mut self,
        name: &str,
        filename: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Self {
        let name = name.replace(['"', '\r', '\n'], "_");
        let filename = filename.replace(['"', '\r', '\n'], "_");
        let head = format!(
            "--{}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n",
            self.boundary
        );
        self.body.reserve(head.len() + bytes.len() + 2);
        self.body.extend_from_slice(head.as_bytes());
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// The `Content-Type` header value and the body.
    pub(crate) fn finish(mut self) -> (String, Vec<u8>) {
        self.body
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (
            format!("multipart/mixed; boundary={}", self.boundary),
            self.body,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_plus_matches_python() {
        assert_eq!(
            quote_plus("name:eq:Tableau > Child 1"),
            "name%3Aeq%3ATableau+%3E+Child+1"
        );
        assert_eq!(quote_plus("a/b,c&d"), "a%2Fb%2Cc%26d");
        assert_eq!(quote_plus("é"), "%C3%A9");
    }

    #[test]
    fn uuid_shape() {
        let id = uuid4();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        assert_ne!(uuid4(), uuid4());
    }

    #[test]
    fn multipart_layout() {
        let (ct, body) = Multipart::new()
            .part("request_payload", "", "text/xml", b"<x/>")
            .finish();
        let boundary = ct.strip_prefix("multipart/mixed; boundary=").unwrap();
        assert_eq!(boundary.len(), 32);
        let text = String::from_utf8(body).unwrap();
        assert_eq!(
            text,
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"request_payload\"; filename=\"\"\r\nContent-Type: text/xml\r\n\r\n<x/>\r\n--{boundary}--\r\n"
            )
        );
    }

    #[test]
    fn describe_hides_the_token_and_secrets() {
        let r = Request::new(Method::Get, "/api/3.10/x".into()).query("a", "1");
        assert_eq!(r.describe(), "-> GET /api/3.10/x?a=1 x-tableau-auth: ***;");
        let body = br#"<tsRequest><credentials personalAccessTokenName="n" personalAccessTokenSecret="s&quot;x"/></tsRequest>"#;
        let mut r = Request::new(Method::Post, "/api/3.10/auth/signin".into())
            .body("text/xml", body.to_vec());
        r.auth = false;
        assert_eq!(
            r.describe(),
            r#"-> POST /api/3.10/auth/signin content-type: text/xml; body 102 bytes: <tsRequest><credentials personalAccessTokenName="n" personalAccessTokenSecret="***"/></tsRequest>"#
        );
    }
}
