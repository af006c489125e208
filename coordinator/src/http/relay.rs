//! A tiny HTTP/1.1 client for one thing: POSTing a JSON body to a Slack `response_url`.
//!
//! `http://` goes over a plain TCP stream; `https://` goes through rustls (ring provider, the
//! Mozilla roots of `webpki-roots`). One request per connection, `Connection: close`, a timeout on
//! the whole exchange, and only the status line is read back.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Time one POST may take, connect to status line.
pub const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of the answer read while looking for the status line.
const MAX_STATUS_LINE: usize = 1024;

/// What posting can fail with.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Not an `http://` or `https://` URL we can read.
    #[error("bad URL `{0}`")]
    BadUrl(String),
    /// Connecting, TLS, writing or reading failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The exchange took longer than [`POST_TIMEOUT`].
    #[error("timed out after {POST_TIMEOUT:?}")]
    Timeout,
    /// The answer did not start with an HTTP status line.
    #[error("the answer is not HTTP: {0}")]
    BadAnswer(String),
}

/// A parsed target URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Whether the connection needs TLS.
    pub tls: bool,
    /// Host name or address (without brackets for IPv6).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Target {
    /// Parse `http[s]://host[:port][/path]`.
    pub fn parse(url: &str) -> Result<Target, RelayError> {
        let bad = || RelayError::BadUrl(url.to_string());
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad());
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path
        };
        if authority.is_empty() || authority.contains('@') || path.contains(['\r', '\n', ' ']) {
            return Err(bad());
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad())?,
                None if after.is_empty() => default_port,
                None => return Err(bad()),
            };
            (host.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse().map_err(|_| bad())?),
                None => (authority.to_string(), default_port),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Target {
            tls,
            host,
            port,
            path,
        })
    }
}

/// POST `body` as JSON to `url`; returns the answer's status code.
pub async fn post_json(url: &str, body: &serde_json::Value) -> Result<u16, RelayError> {
    let target = Target::parse(url)?;
    tokio::time::timeout(POST_TIMEOUT, exchange(&target, body.to_string()))
        .await
        .map_err(|_| RelayError::Timeout)?
}

async fn exchange(target: &Target, body: String) -> Result<u16, RelayError> {
    let tcp = TcpStream::connect((target.host.as_str(), target.port)).await?;
    if target.tls {
        let stream = super::relay_tls::connect(&target.host, tcp).await?;
        request(stream, target, &body).await
    } else {
        request(tcp, target, &body).await
    }
}

async fn request<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    target: &Target,
    body: &str,
) -> Result<u16, RelayError> {
    let host = if target.host.contains(':') {
        format!("[{}]", target.host)
    } else {
        target.host.clone()
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {len}\r\nUser-Agent: factory\r\nConnection: close\r\n\r\n",
        path = target.path,
        port = target.port,
        len = body.len(),
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.flush().await?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 256];
    while !answer.contains(&b'\n') && answer.len() < MAX_STATUS_LINE {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&answer);
    let line = text.lines().next().unwrap_or("");
    let mut words = line.split_whitespace();
    match (words.next(), words.next().map(str::parse::<u16>)) {
        (Some(v), Some(Ok(code))) if v.starts_with("HTTP/1.") => Ok(code),
        _ => Err(RelayError::BadAnswer(line.chars().take(80).collect())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<(bool, &str, u16, &str)>) {
        let got = Target::parse(input).ok();
        let want = expected.map(|(tls, host, port, path)| Target {
            tls,
            host: host.into(),
            port,
            path: path.into(),
        });
        assert_eq!(got, want, "{input}");
    }

    #[test]
    fn urls_parse() {
        check(
            "http://127.0.0.1:8080/hook",
            Some((false, "127.0.0.1", 8080, "/hook")),
        );
        check(
            "https://hooks.slack.com/commands/T1/2/x?y=1",
            Some((true, "hooks.slack.com", 443, "/commands/T1/2/x?y=1")),
        );
        check("http://example.org", Some((false, "example.org", 80, "/")));
        check("http://[::1]:9/a", Some((false, "::1", 9, "/a")));
        check("http://h?q", Some((false, "h", 80, "/?q")));
        check("ftp://x/", None);
        check("http://", None);
        check("http://u@h/", None);
        check("http://h:port/", None);
        check("http://h/a b", None);
    }
}
