//! Reading an agent's report back, from a file or from its output, without trusting it.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::{AgentError, ReportSource};
use crate::outcome::AgentReport;

/// A report (or a JSON stdout) larger than this is not a report.
pub const MAX_REPORT_BYTES: u64 = 1024 * 1024;

/// How much of a log an error or a tail summary quotes.
pub const TAIL_BYTES: u64 = 2000;

/// How much of a bad report an error quotes.
const SNIPPET_CHARS: usize = 200;

/// Reads the report from where `source` says it is. `report_file` is `$FACTORY_REPORT_FILE`,
/// `stdout_log` the agent's captured stdout.
pub fn read_report(
    source: ReportSource,
    report_file: &Path,
    stdout_log: &Path,
) -> Result<AgentReport, AgentError> {
    let report = match source {
        ReportSource::File => {
            let bytes = read_bounded(report_file, "report file")?;
            parse_file_report(&bytes)?
        }
        ReportSource::ClaudeJson => {
            let bytes = read_bounded(stdout_log, "stdout")?;
            parse_claude_json(&bytes)?
        }
        ReportSource::StdoutTail => {
            let tail = tail(stdout_log, TAIL_BYTES);
            let cost_usd = aider_session_cost(&tail).unwrap_or(0.0);
            AgentReport {
                summary: tail.trim().to_string(),
                cost_usd,
            }
        }
    };
    if !report.cost_usd.is_finite() || report.cost_usd < 0.0 {
        return Err(AgentError::BadReport {
            snippet: format!(
                "cost_usd must be a non-negative number, got {}",
                report.cost_usd
            ),
        });
    }
    Ok(report)
}

fn read_bounded(path: &Path, what: &str) -> Result<Vec<u8>, AgentError> {
    let bad = |why: String| AgentError::BadReport { snippet: why };
    let file = std::fs::File::open(path)
        .map_err(|e| bad(format!("no {what} at `{}` ({e})", path.display())))?;
    let mut bytes = Vec::new();
    file.take(MAX_REPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(format!("cannot read {what} `{}` ({e})", path.display())))?;
    if bytes.len() as u64 > MAX_REPORT_BYTES {
        return Err(bad(format!("{what} is over {MAX_REPORT_BYTES} bytes")));
    }
    Ok(bytes)
}

fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let cut: String = text.chars().take(SNIPPET_CHARS).collect();
    format!("{cut:?}")
}

fn parse_file_report(bytes: &[u8]) -> Result<AgentReport, AgentError> {
    serde_json::from_slice(bytes).map_err(|e| AgentError::BadReport {
        snippet: format!(
            "expected JSON {{\"summary\": string, \"cost_usd\": number}} ({e}); got {}",
            snippet(bytes)
        ),
    })
}

/// Claude Code's `--output-format json` result object.
#[derive(serde::Deserialize)]
struct ClaudeResult {
    #[serde(default)]
    result: String,
    #[serde(default)]
    is_error: bool,
    total_cost_usd: f64,
}

fn parse_claude_json(bytes: &[u8]) -> Result<AgentReport, AgentError> {
    let parsed: ClaudeResult =
        serde_json::from_slice(bytes).map_err(|e| AgentError::BadReport {
            snippet: format!(
                "expected Claude Code JSON with total_cost_usd on stdout ({e}); got {}",
                snippet(bytes)
            ),
        })?;
    if parsed.is_error {
        return Err(AgentError::ReportedFailure {
            message: parsed.result,
        });
    }
    Ok(AgentReport {
        summary: parsed.result,
        cost_usd: parsed.total_cost_usd,
    })
}

/// The session cost from aider's last `Cost: $0.01 message, $0.05 session.` line.
pub fn aider_session_cost(text: &str) -> Option<f64> {
    let line = text
        .lines()
        .rev()
        .find(|l| l.contains("Cost:") && l.contains("session"))?;
    let before = &line[..line.rfind("session")?];
    let amount = before
        .trim_end()
        .rsplit(' ')
        .next()?
        .trim_start_matches('$');
    amount.replace(',', "").parse().ok()
}

/// The last `max` bytes of a file, lossily decoded; empty when it cannot be read.
pub fn tail(path: &Path, max: u64) -> String {
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if file.seek(SeekFrom::Start(len.saturating_sub(max))).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = file.take(max).read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(source: ReportSource, content: &str, expected: Result<(&str, f64), &str>) {
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let Ok(dir) = dir else {
            panic!("tempdir: {dir:?}")
        };
        let file = dir.path().join("out");
        std::fs::write(&file, content).unwrap_or_else(|e| panic!("write: {e}"));
        let got = read_report(source, &file, &file);
        match (got, expected) {
            (Ok(r), Ok((summary, cost))) => {
                assert_eq!(
                    (r.summary.as_str(), r.cost_usd),
                    (summary, cost),
                    "{content}"
                )
            }
            (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{e} lacks {want}"),
            (got, want) => panic!("{content}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn file_reports() {
        let f = ReportSource::File;
        check(f, r#"{"summary":"ok","cost_usd":0.5}"#, Ok(("ok", 0.5)));
        check(f, "all done!", Err("expected JSON {\"summary\": string"));
        check(f, r#"{"summary":"ok"}"#, Err("missing field `cost_usd`"));
        check(f, r#"{"summary":"ok","cost_usd":-1}"#, Err("non-negative"));
    }

    #[test]
    fn claude_reports() {
        let c = ReportSource::ClaudeJson;
        check(
            c,
            r#"{"type":"result","result":"done","is_error":false,"total_cost_usd":0.12}"#,
            Ok(("done", 0.12)),
        );
        check(
            c,
            r#"{"result":"quota","is_error":true,"total_cost_usd":0}"#,
            Err("reported a failure: quota"),
        );
        check(c, "Error: not logged in", Err("expected Claude Code JSON"));
    }

    #[test]
    fn stdout_reports() {
        let s = ReportSource::StdoutTail;
        check(
            s,
            "edited a.rs\nTokens: 2k sent. Cost: $0.01 message, $0.05 session.\n",
            Ok((
                "edited a.rs\nTokens: 2k sent. Cost: $0.01 message, $0.05 session.",
                0.05,
            )),
        );
        check(s, "no cost here\n", Ok(("no cost here", 0.0)));
    }
}
