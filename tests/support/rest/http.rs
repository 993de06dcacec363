//! The few HTTP/1.1 requests the REST scenario makes, over a plain `TcpStream`: one request per
//! connection (`Connection: close`). The answer is read as far as its framing says
//! (`Content-Length`, chunked), so a server that keeps the connection open anyway costs
//! nothing. Enough for Connect's and kconnect's REST servers; no crate needed.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One answer: status, media type (the `Content-Type` without parameters, lower-case) and body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

/// `base` is `http://host:port`; `body`, when given, is sent as `application/json`.
pub fn request(base: &str, method: &str, path: &str, body: Option<&str>) -> io::Result<Response> {
    let authority = base
        .strip_prefix("http://")
        .ok_or_else(|| invalid(format!("{base}: only http:// URLs are supported")))?
        .trim_end_matches('/');
    let mut stream = TcpStream::connect(authority)?;
    // Connect answers a restart or an offsets change only once the worker has done it.
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\nConnection: close\r\n"
    );
    let body = body.unwrap_or("");
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if complete(&raw) {
            break;
        }
    }
    parse(&raw)
}

/// Whether `raw` holds a whole answer by its framing: `Content-Length`, chunked, or a status
/// without a body (1xx, 204, 304). An answer with none of these ends when the server closes.
pub fn complete(raw: &[u8]) -> bool {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default().split(' ').nth(1);
    if status.is_some_and(|s| s.starts_with('1') || s == "204" || s == "304") {
        return true;
    }
    for line in lines {
        if let Some(n) = line.strip_prefix("content-length:") {
            return n.trim().parse::<usize>().is_ok_and(|n| rest.len() >= n);
        }
        if line.starts_with("transfer-encoding:") && line.contains("chunked") {
            return dechunk(rest).is_ok();
        }
    }
    false
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Parses a whole answer as read from a closed connection.
pub fn parse(raw: &[u8]) -> io::Result<Response> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| invalid(format!("no end of headers in {} bytes", raw.len())))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("not an HTTP status line: {status_line:?}")))?;
    let (mut content_type, mut chunked, mut length) = (None, false, None);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => {
                let media = value.split(';').next().unwrap_or_default();
                content_type = Some(media.trim().to_ascii_lowercase());
            }
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "content-length" => length = value.parse::<usize>().ok(),
            _ => {}
        }
    }
    let rest = &raw[split + 4..];
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest[..length.unwrap_or(rest.len()).min(rest.len())].to_vec()
    };
    let body = String::from_utf8(body).map_err(|e| invalid(format!("body is not UTF-8: {e}")))?;
    Ok(Response {
        status,
        content_type,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| invalid("chunk size line without end".into()))?;
        let size_text = String::from_utf8_lossy(&rest[..eol]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| invalid(format!("bad chunk size {size_text:?}")))?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(body);
        }
        if rest.len() < size {
            return Err(invalid(format!("chunk of {size} bytes cut short")));
        }
        body.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}
