//! A small HTTP/1.1 client over TCP: one request per connection, chunked bodies decoded, and
//! server-sent events read one at a time.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Longest any single exchange may take in a test.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// An answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The `error.message` of a JSON error, checking the shape on the way.
    pub fn error_message(&self) -> String {
        let json = self.json();
        assert!(json["error"]["code"].is_string(), "no error code: {json}");
        json["error"]["message"]
            .as_str()
            .expect("no error message")
            .to_string()
    }
}

/// A response whose body is still coming.
pub struct Open {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    reader: BufReader<TcpStream>,
    chunked: bool,
    pending: String,
    done: bool,
}

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

/// Send a request and read the whole answer.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let fut = async {
        let mut open = open(addr, method, path, headers, body).await;
        let body = open.rest().await;
        Response {
            status: open.status,
            headers: open.headers,
            body,
        }
    };
    tokio::time::timeout(DEADLINE, fut)
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no answer within {DEADLINE:?}"))
}

/// Send a request and read the status and headers only.
pub async fn open(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Open {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    // A test may promise a different length than it sends.
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write head");
    // The server may answer (413) and stop reading before the body is all sent: that is fine.
    let _ = stream.write_all(body).await;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await.expect("status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await.expect("header line");
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').expect("header without colon");
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    Open {
        status,
        headers,
        reader,
        chunked,
        pending: String::new(),
        done: false,
    }
}

impl Open {
    /// The rest of the body, until the server ends it.
    pub async fn rest(&mut self) -> Vec<u8> {
        let mut out = self.pending.clone().into_bytes();
        self.pending.clear();
        if !self.chunked {
            self.reader.read_to_end(&mut out).await.expect("body");
            return out;
        }
        while let Some(chunk) = self.chunk().await {
            out.extend_from_slice(&chunk);
        }
        out
    }

    /// The next chunk of a chunked body, `None` after the last.
    async fn chunk(&mut self) -> Option<Vec<u8>> {
        if self.done {
            return None;
        }
        let mut line = String::new();
        self.reader.read_line(&mut line).await.expect("chunk size");
        let size = usize::from_str_radix(line.trim(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size {line:?}"));
        let mut data = vec![0; size + 2];
        self.reader.read_exact(&mut data).await.expect("chunk data");
        data.truncate(size);
        if size == 0 {
            self.done = true;
            return None;
        }
        Some(data)
    }

    /// The next server-sent event (comments skipped), `None` when the stream has ended.
    pub async fn next_event(&mut self) -> Option<SseEvent> {
        self.next_event_within(DEADLINE).await
    }

    /// Like [`Open::next_event`], waiting up to `deadline` for it: a run's next step may take
    /// longer than one HTTP exchange.
    pub async fn next_event_within(&mut self, deadline: Duration) -> Option<SseEvent> {
        assert!(self.chunked, "an event stream must be chunked");
        let fut = async {
            loop {
                if let Some(end) = self.pending.find("\n\n") {
                    let block: String = self.pending.drain(..end + 2).collect();
                    let mut event = SseEvent {
                        event: String::new(),
                        data: String::new(),
                    };
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            event.event = v.trim().to_string();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            event.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                        }
                    }
                    if !event.data.is_empty() {
                        return Some(event);
                    }
                    continue;
                }
                let chunk = self.chunk().await?;
                self.pending.push_str(&String::from_utf8_lossy(&chunk));
            }
        };
        tokio::time::timeout(deadline, fut)
            .await
            .unwrap_or_else(|_| panic!("no event within {deadline:?}"))
    }
}
