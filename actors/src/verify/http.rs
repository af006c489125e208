//! A minimal HTTP/1.1 client for services on loopback: one request per connection
//! (`Connection: close`), a JSON body, a bounded response. Enough to poll health and capture
//! payloads without pulling a full client stack into the crate.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::VerifyError;

/// Responses larger than this are refused: a sandbox service is under test, not trusted.
pub const RESPONSE_LIMIT_BYTES: usize = 4 << 20;

/// A parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers in order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

/// Sends one request to `127.0.0.1:port` and reads the whole response, within `timeout`.
pub async fn request(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
    timeout: Duration,
) -> Result<HttpResponse, VerifyError> {
    let context = format!("{method} http://127.0.0.1:{port}{path}");
    let fail = |reason: String| VerifyError::Http {
        context: context.clone(),
        reason,
    };
    // A method or path with spaces or line breaks would let a manifest smuggle headers.
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(fail("method must be upper-case letters".into()));
    }
    if !path.starts_with('/') || path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(fail(
            "path must start with / and hold no spaces or controls".into(),
        ));
    }
    let body = match body {
        Some(v) => serde_json::to_vec(v).map_err(|e| fail(e.to_string()))?,
        None => Vec::new(),
    };
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Accept: application/json\r\nUser-Agent: factory-verifier\r\n"
    );
    if !body.is_empty() || method != "GET" {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| fail(format!("connect: {e}")))?;
        stream
            .write_all(req.as_bytes())
            .await
            .map_err(|e| fail(format!("write: {e}")))?;
        stream
            .write_all(&body)
            .await
            .map_err(|e| fail(format!("write: {e}")))?;
        let mut raw = Vec::new();
        let limit = u64::try_from(RESPONSE_LIMIT_BYTES).unwrap_or(u64::MAX) + 1;
        (&mut stream)
            .take(limit)
            .read_to_end(&mut raw)
            .await
            .map_err(|e| fail(format!("read: {e}")))?;
        if raw.len() > RESPONSE_LIMIT_BYTES {
            return Err(fail(format!(
                "response larger than {RESPONSE_LIMIT_BYTES} bytes"
            )));
        }
        parse_response(&raw).map_err(fail)
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| fail(format!("no response within {} ms", timeout.as_millis())))?
}

/// Parses a complete response read until the server closed the connection.
pub(crate) fn parse_response(raw: &[u8]) -> Result<HttpResponse, String> {
    let end = find(raw, b"\r\n\r\n").ok_or("no end of headers")?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| "headers are not UTF-8")?;
    let rest = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("bad status line {status_line:?}"));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header line {line:?}"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let header = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    let chunked =
        header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(len) = header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| format!("bad content-length {len:?}"))?;
        rest.get(..len)
            .ok_or_else(|| format!("body shorter than content-length {len}"))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// Decodes a chunked body (extensions and trailers ignored).
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let eol = find(rest, b"\r\n").ok_or("unterminated chunk size")?;
        let line = std::str::from_utf8(&rest[..eol]).map_err(|_| "bad chunk size")?;
        let hex = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(hex, 16).map_err(|_| format!("bad chunk size {hex:?}"))?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = rest.get(..size).ok_or("chunk shorter than its size")?;
        body.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or("chunk without its line end")?;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expected: Result<(u16, &str), &str>) {
        let got =
            parse_response(raw.as_bytes()).map(|r| (r.status, String::from_utf8(r.body).unwrap()));
        match (got, expected) {
            (Ok((s, b)), Ok((es, eb))) => assert_eq!((s, b.as_str()), (es, eb), "{raw:?}"),
            (Err(e), Err(want)) => assert!(e.contains(want), "{e} lacks {want}"),
            (got, want) => panic!("{raw:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn parses_responses() {
        check(
            "HTTP/1.0 200 OK\r\nContent-Type: x\r\n\r\n{\"a\":1}",
            Ok((200, "{\"a\":1}")),
        );
        check(
            "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nnoEXTRA",
            Ok((404, "no")),
        );
        check(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n",
            Ok((200, "abcde")),
        );
        check(
            "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
            Err("shorter"),
        );
        check("SMTP 200 OK\r\n\r\n", Err("bad status line"));
        check("HTTP/1.1 abc OK\r\n\r\n", Err("bad status line"));
        check("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", Err("bad header"));
        check("HTTP/1.1 200 OK\r\n", Err("no end of headers"));
        check(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            Err("bad chunk size"),
        );
    }

    #[tokio::test]
    async fn refuses_header_injection() {
        for (m, p) in [
            ("GET", "/a b"),
            ("GET", "/a\r\nX: y"),
            ("get", "/"),
            ("GET", "a"),
        ] {
            let err = request(1, m, p, None, Duration::from_secs(1))
                .await
                .unwrap_err();
            assert!(matches!(err, VerifyError::Http { .. }), "{err}");
        }
    }
}
