//! The reviewer's pages: a plain HTML list of runs, and each run's bundle served as static files.
//! The bundle is plain HTML written by the factory, so nothing needs a JavaScript build.

use std::path::{Component, Path as FsPath, PathBuf};

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::AppState;
use super::auth::{Caller, PAGE_COOKIE, Page};
use super::body::PathParams;
use super::error::HttpError;

/// Largest bundle file served, in bytes; bundles hold logs, and a runaway log must not be read
/// whole into memory.
const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

pub(crate) async fn index(
    caller: Caller<Page>,
    State(state): State<AppState>,
) -> Result<Response, HttpError> {
    let runs = state.api.runs().await?;
    let mut html = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>factory runs</title></head>\
         <body>\n<h1>Runs</h1>\n<ul>\n",
    );
    for run in &runs {
        html.push_str(&format!(
            "<li><a href=\"/runs/{id}/\">{title}</a> — {status:?}</li>\n",
            id = escape(&run.id),
            title = escape(&run.outcome.title),
            status = run.status,
        ));
    }
    if runs.is_empty() {
        html.push_str("<li>No runs yet.</li>\n");
    }
    html.push_str("</ul>\n</body></html>\n");
    Ok(with_cookie(&caller, Html(html).into_response()))
}

/// `/runs/{id}` without the slash: redirect, so the bundle's relative links resolve.
pub(crate) async fn run_redirect(_: Caller<Page>, PathParams(id): PathParams<String>) -> Redirect {
    Redirect::permanent(&format!("/runs/{}/", encode_segment(&id)))
}

pub(crate) async fn run_index(
    caller: Caller<Page>,
    state: State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Response, HttpError> {
    serve_file(&caller, state, id, "index.html".into()).await
}

pub(crate) async fn run_file(
    caller: Caller<Page>,
    state: State<AppState>,
    PathParams((id, path)): PathParams<(String, String)>,
) -> Result<Response, HttpError> {
    serve_file(&caller, state, id, path).await
}

async fn serve_file(
    caller: &Caller<Page>,
    State(state): State<AppState>,
    id: String,
    path: String,
) -> Result<Response, HttpError> {
    let relative = safe_relative(&path)
        .ok_or_else(|| HttpError::BadRequest(format!("refused path `{path}`")))?;
    let root = state
        .api
        .bundle_dir(id.clone())
        .ok_or_else(|| HttpError::NotFound(format!("run `{id}` has no bundle (yet)")))?;
    let not_found = || HttpError::NotFound(format!("no file `{path}` in the bundle of `{id}`"));
    // Resolve symlinks on both sides: a link inside the bundle that points outside it is refused
    // like `..` is.
    let root = tokio::fs::canonicalize(&root)
        .await
        .map_err(|_| not_found())?;
    let file = tokio::fs::canonicalize(root.join(&relative))
        .await
        .map_err(|_| not_found())?;
    if !file.starts_with(&root) {
        return Err(HttpError::BadRequest(format!(
            "refused path `{path}`: it leads outside the bundle"
        )));
    }
    let meta = tokio::fs::metadata(&file).await.map_err(|_| not_found())?;
    if !meta.is_file() {
        return Err(not_found());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(HttpError::TooLarge(format!(
            "`{path}` is larger than {MAX_FILE_BYTES} bytes; read it on the coordinator"
        )));
    }
    let bytes = tokio::fs::read(&file).await.map_err(|_| not_found())?;
    let response = ([(header::CONTENT_TYPE, content_type(&file))], bytes).into_response();
    Ok(with_cookie(caller, response))
}

/// The path as plain relative components, or `None` when it has `..`, a root, a prefix, a
/// backslash or a NUL — anything that could name a file outside the folder it is joined to.
pub(crate) fn safe_relative(path: &str) -> Option<PathBuf> {
    if path.is_empty() || path.contains(['\\', '\0']) {
        return None;
    }
    let mut out = PathBuf::new();
    for component in FsPath::new(path).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

fn content_type(path: &FsPath) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "yaml" | "yml" => "application/yaml",
        "txt" | "log" | "diff" | "patch" | "md" | "toml" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// When the token came in the query string, remember it in a cookie for the next pages.
fn with_cookie(caller: &Caller<Page>, mut response: Response) -> Response {
    if let Some(token) = &caller.query_token {
        let cookie = format!("{PAGE_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
        if let Ok(value) = cookie.parse() {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    response
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn encode_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&str>) {
        assert_eq!(safe_relative(input), expected.map(PathBuf::from), "{input}");
    }

    #[test]
    fn only_plain_relative_paths_pass() {
        check("index.html", Some("index.html"));
        check("diffs/backend.diff", Some("diffs/backend.diff"));
        check("./a/./b", Some("a/b"));
        check("../etc/passwd", None);
        check("a/../../b", None);
        check("/etc/passwd", None);
        check("a\\..\\b", None);
        check("a\0b", None);
        check("", None);
        check(".", None);
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<a href='x'>&</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
    }
}
