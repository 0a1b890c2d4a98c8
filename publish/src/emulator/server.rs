//! The emulator's HTTP/1.1 server: one connection at a time, one request per
//! connection (`Connection: close`), and a strict multipart/mixed parser.
//!
//! Invariant: bounded reads (headers 64 KiB, bodies 80 MiB), so a test that
//! misbehaves cannot make the emulator allocate without limit.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::routes::State;

const HEADER_MAX_BYTES: usize = 64 * 1024;
const BODY_MAX_BYTES: usize = 80 * 1024 * 1024;

/// A parsed request.
#[derive(Debug)]
pub(crate) struct HttpRequest {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl HttpRequest {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response to write.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
    /// Announce more bytes than are sent, then close.
    pub(crate) truncate: bool,
}

impl HttpResponse {
    pub(crate) fn xml(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: "application/xml;charset=UTF-8",
            headers: Vec::new(),
            body: body.into().into_bytes(),
            truncate: false,
        }
    }
}

pub(crate) fn serve(listener: &TcpListener, state: &Arc<Mutex<State>>, stop: &AtomicBool) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if let Ok(stream) = stream {
            // A client that hangs up early is its own business.
            let _ = handle(stream, state);
        }
    }
}

fn handle(stream: TcpStream, state: &Arc<Mutex<State>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let response = match read_request(&mut reader)? {
        Ok(request) => {
            let mut state = state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            state.handle(request)
        }
        Err(reason) => HttpResponse::xml(400, reason),
    };
    write_response(stream, &response)
}

type Parsed = Result<HttpRequest, String>;

fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Parsed> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = reader
            .by_ref()
            .take(HEADER_MAX_BYTES as u64)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(Err("connection closed in the request head".into()));
        }
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        head.push(String::from_utf8_lossy(&line).trim_end().to_owned());
        if head.len() > 200 {
            return Ok(Err("too many header lines".into()));
        }
    }
    let Some(request_line) = head.first() else {
        return Ok(Err("empty request".into()));
    };
    let mut words = request_line.split(' ');
    let (Some(method), Some(target)) = (words.next(), words.next()) else {
        return Ok(Err(format!("bad request line {request_line:?}")));
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let mut headers = Vec::new();
    for line in &head[1..] {
        let Some((k, v)) = line.split_once(':') else {
            return Ok(Err(format!("bad header line {line:?}")));
        };
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    let mut request = HttpRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query,
        headers,
        body: Vec::new(),
    };
    if request
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        return Ok(read_chunked(reader).map(|body| {
            request.body = body;
            request
        }));
    }
    let length = match request.header("content-length").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) if n <= BODY_MAX_BYTES => n,
        Some(_) => return Ok(Err("bad or too large Content-Length".into())),
    };
    request.body = vec![0; length];
    reader.read_exact(&mut request.body)?;
    Ok(Ok(request))
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|e| e.to_string())?;
        if body.len() + size > BODY_MAX_BYTES {
            return Err("chunked body too large".into());
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader
            .read_exact(&mut body[start..])
            .map_err(|e| e.to_string())?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf).map_err(|e| e.to_string())?;
        if size == 0 {
            return Ok(body);
        }
    }
}

fn write_response(mut stream: TcpStream, response: &HttpResponse) -> std::io::Result<()> {
    let reason = match response.status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    };
    let announced = response.body.len() + if response.truncate { 100 } else { 0 };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Length: {announced}\r\nConnection: close\r\n",
        response.status
    );
    if !response.body.is_empty() || response.truncate {
        head.push_str(&format!("Content-Type: {}\r\n", response.content_type));
    }
    for (k, v) in &response.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&response.body)?;
    stream.flush()?;
    stream.shutdown(std::net::Shutdown::Both)
}

/// One part of a multipart body.
#[derive(Debug)]
pub(crate) struct Part {
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Part {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A parameter of `Content-Disposition` (`name`, `filename`).
    pub(crate) fn disposition(&self, param: &str) -> Option<String> {
        let value = self.header("content-disposition")?;
        value.split(';').skip(1).find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            (k.trim() == param).then(|| v.trim().trim_matches('"').to_owned())
        })
    }
}

/// The boundary of a `multipart/mixed` content type.
pub(crate) fn boundary(content_type: &str) -> Option<&str> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/mixed") {
        return None;
    }
    params
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
}

/// Parses a multipart body strictly: `--B\r\n`, headers, `\r\n\r\n`, bytes,
/// `\r\n--B`, ... and `--B--` at the end.
pub(crate) fn parse_multipart(body: &[u8], boundary: &str) -> Result<Vec<Part>, String> {
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n--{boundary}");
    let mut at = body
        .strip_prefix(delimiter.as_bytes())
        .map(|_| delimiter.len())
        .ok_or("the body does not start with the boundary")?;
    let mut parts = Vec::new();
    loop {
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            let tail = &rest[2..];
            if tail.is_empty() || tail == b"\r\n" {
                return Ok(parts);
            }
            return Err("bytes after the closing boundary".into());
        }
        if !rest.starts_with(b"\r\n") {
            return Err("a boundary is not followed by CRLF".into());
        }
        at += 2;
        let head_end = find(body, b"\r\n\r\n", at).ok_or("a part has no end of headers")?;
        let mut headers = Vec::new();
        for line in String::from_utf8_lossy(&body[at..head_end]).split("\r\n") {
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| format!("bad part header {line:?}"))?;
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        let content = head_end + 4;
        let end = find(body, next_delimiter.as_bytes(), content)
            .ok_or("a part is not closed by the boundary")?;
        parts.push(Part {
            headers,
            body: body[content..end].to_vec(),
        });
        at = end + next_delimiter.len();
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_round_trip_with_client_builder() {
        let (ct, body) = crate::http::Multipart::new()
            .part("request_payload", "", "text/xml", b"<a/>")
            .part(
                "tableau_file",
                "file",
                "application/octet-stream",
                b"\r\n--x\r\n",
            )
            .finish();
        let parts = parse_multipart(&body, boundary(&ct).unwrap()).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0].disposition("name").as_deref(),
            Some("request_payload")
        );
        assert_eq!(parts[0].disposition("filename").as_deref(), Some(""));
        assert_eq!(parts[1].body, b"\r\n--x\r\n");
        assert_eq!(
            parts[1].header("content-type"),
            Some("application/octet-stream")
        );
    }

    #[test]
    fn broken_multipart_is_rejected() {
        for body in [
            &b""[..],
            b"--B",
            b"--B\r\nX: y\r\n\r\nabc",
            b"--B\r\nbad\r\n\r\n\r\n--B--",
            b"--B--junk",
        ] {
            assert!(
                parse_multipart(body, "B").is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(parse_multipart(b"--B--\r\n", "B").unwrap().is_empty());
    }
}
