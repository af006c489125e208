//! Which agent program to run, and how: command templates for the built-in adapters.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::AgentError;

/// Where the agent's report comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportSource {
    /// The agent writes an [`AgentReport`](crate::outcome::AgentReport) as JSON to
    /// `$FACTORY_REPORT_FILE` (the factory's own contract).
    File,
    /// stdout is one JSON object as printed by `claude -p --output-format json`: `result` is the
    /// summary, `total_cost_usd` the cost, `is_error` a failure.
    ClaudeJson,
    /// The agent has no structured report: the summary is the end of stdout and the cost is read
    /// from aider's last `Cost: ... $X session` line, or 0 when the agent prints none.
    StdoutTail,
}

/// How to run one kind of agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentSpec {
    /// Adapter name, for logs and reports.
    pub name: String,
    /// The command line. `{prompt_file}`, `{task_file}`, `{report_file}`, `{worktree}` and
    /// `{prompt}` (the prompt text itself) are replaced; other braces are left alone.
    /// The prompt is also given on stdin.
    pub argv: Vec<String>,
    /// Names of environment variables passed through to the agent (e.g. API keys); everything
    /// else is cleared.
    pub env_pass: Vec<String>,
    /// Where the report comes from.
    pub report: ReportSource,
}

/// The prompt text is refused as a single argument above this size: Linux caps one argument at
/// 128 KiB, and a prompt that large belongs on stdin or in `{prompt_file}`.
const MAX_PROMPT_ARG_BYTES: usize = 100 * 1024;

/// The adapter names `from_selector` knows, for messages.
pub const ADAPTERS: &str = "claude-code, codex, aider, sim, custom:<argv>";

impl AgentSpec {
    /// The deterministic agent: `argv` is given by the caller (e.g. the factory binary and
    /// `sim-agent`); it honours the file contract.
    pub fn sim(argv: Vec<String>) -> Self {
        AgentSpec {
            name: "sim".into(),
            argv,
            env_pass: vec![],
            report: ReportSource::File,
        }
    }

    /// Claude Code in print mode; the prompt arrives on stdin, the cost in the JSON it prints.
    pub fn claude_code() -> Self {
        AgentSpec {
            name: "claude-code".into(),
            argv: words(&[
                "claude",
                "-p",
                "--output-format",
                "json",
                "--permission-mode",
                "acceptEdits",
            ]),
            env_pass: words(&["ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_MODEL"]),
            report: ReportSource::ClaudeJson,
        }
    }

    /// OpenAI Codex CLI, non-interactive; `-` makes it read the prompt from stdin.
    pub fn codex() -> Self {
        AgentSpec {
            name: "codex".into(),
            argv: words(&["codex", "exec", "--full-auto", "-"]),
            env_pass: words(&["OPENAI_API_KEY", "OPENAI_BASE_URL", "CODEX_HOME"]),
            report: ReportSource::StdoutTail,
        }
    }

    /// Aider, one message then exit. `--no-gitignore` stops it from editing `.gitignore` (which
    /// would land in the diff); its `.aider*` files are excluded by the repo cache instead.
    pub fn aider() -> Self {
        AgentSpec {
            name: "aider".into(),
            argv: words(&[
                "aider",
                "--yes-always",
                "--no-auto-commits",
                "--no-gitignore",
                "--no-check-update",
                "--message-file",
                "{prompt_file}",
            ]),
            env_pass: words(&["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AIDER_MODEL"]),
            report: ReportSource::StdoutTail,
        }
    }

    /// Any program honouring the file contract.
    pub fn custom(argv: Vec<String>) -> Self {
        AgentSpec {
            name: "custom".into(),
            argv,
            env_pass: vec![],
            report: ReportSource::File,
        }
    }

    /// Parses `claude-code|codex|aider|sim|custom:<argv>`; `sim_argv` is what `sim` runs.
    /// A custom argv is split on whitespace, with single or double quotes grouping words.
    pub fn from_selector(selector: &str, sim_argv: Vec<String>) -> Result<Self, AgentError> {
        let spec = match selector {
            "claude-code" => Self::claude_code(),
            "codex" => Self::codex(),
            "aider" => Self::aider(),
            "sim" => Self::sim(sim_argv),
            other => match other.strip_prefix("custom:") {
                Some(line) => Self::custom(split_words(line)?),
                None => {
                    return Err(AgentError::BadSpec {
                        message: format!("unknown agent `{other}`; use one of {ADAPTERS}"),
                    });
                }
            },
        };
        if spec.argv.is_empty() {
            return Err(AgentError::BadSpec {
                message: format!("agent `{}` has an empty command line", spec.name),
            });
        }
        Ok(spec)
    }
}

/// The concrete paths and text an argv template is filled with.
pub(crate) struct ArgvValues<'a> {
    pub prompt_file: &'a Path,
    pub task_file: &'a Path,
    pub report_file: &'a Path,
    pub worktree: &'a Path,
    pub prompt: &'a str,
}

/// Fills the placeholders of `argv`.
pub(crate) fn expand_argv(argv: &[String], v: &ArgvValues<'_>) -> Result<Vec<String>, AgentError> {
    if argv.is_empty() {
        return Err(AgentError::BadSpec {
            message: "empty command line".into(),
        });
    }
    let uses_prompt = argv.iter().any(|a| a.contains("{prompt}"));
    if uses_prompt && v.prompt.len() > MAX_PROMPT_ARG_BYTES {
        return Err(AgentError::BadSpec {
            message: format!(
                "the prompt is {} bytes, too large for `{{prompt}}` in argv (max {MAX_PROMPT_ARG_BYTES}); \
                 use {{prompt_file}} or stdin",
                v.prompt.len()
            ),
        });
    }
    Ok(argv
        .iter()
        .map(|arg| {
            arg.replace("{prompt_file}", &v.prompt_file.to_string_lossy())
                .replace("{task_file}", &v.task_file.to_string_lossy())
                .replace("{report_file}", &v.report_file.to_string_lossy())
                .replace("{worktree}", &v.worktree.to_string_lossy())
                .replace("{prompt}", v.prompt)
        })
        .collect())
}

fn words(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Splits a command line into words: whitespace separates, quotes group, no escapes or expansion.
pub fn split_words(line: &str) -> Result<Vec<String>, AgentError> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            None => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if let Some(q) = quote {
        return Err(AgentError::BadSpec {
            message: format!("unclosed {q} quote in `{line}`"),
        });
    }
    if in_word {
        out.push(word);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(selector: &str, expected: Result<&[&str], &str>) {
        let got = AgentSpec::from_selector(selector, vec!["factory".into(), "sim-agent".into()]);
        match (got, expected) {
            (Ok(spec), Ok(argv)) => assert_eq!(spec.argv, argv, "selector {selector}"),
            (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{e} lacks {want}"),
            (got, want) => panic!("selector {selector}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn selectors() {
        check("sim", Ok(&["factory", "sim-agent"]));
        check("codex", Ok(&["codex", "exec", "--full-auto", "-"]));
        check(
            "claude-code",
            Ok(&[
                "claude",
                "-p",
                "--output-format",
                "json",
                "--permission-mode",
                "acceptEdits",
            ]),
        );
        check(
            "custom:my-agent --task {task_file} 'two words' \"x y\"",
            Ok(&["my-agent", "--task", "{task_file}", "two words", "x y"]),
        );
        check("custom:a ''", Ok(&["a", ""]));
        check("custom:", Err("empty command line"));
        check("custom:a 'b", Err("unclosed ' quote"));
        check("gpt", Err("unknown agent `gpt`; use one of claude-code"));
    }

    #[test]
    fn expands_placeholders() {
        let v = ArgvValues {
            prompt_file: Path::new("/s/p.md"),
            task_file: Path::new("/s/t.json"),
            report_file: Path::new("/s/r.json"),
            worktree: Path::new("/s/w"),
            prompt: "do it",
        };
        let argv = words(&[
            "x",
            "--in={prompt_file}",
            "{task_file}",
            "{report_file}",
            "{worktree}",
            "{prompt}",
            "{other}",
        ]);
        let got = expand_argv(&argv, &v).map_err(|e| e.to_string());
        let want = words(&[
            "x",
            "--in=/s/p.md",
            "/s/t.json",
            "/s/r.json",
            "/s/w",
            "do it",
            "{other}",
        ]);
        assert_eq!(got, Ok(want));
        let big = "x".repeat(MAX_PROMPT_ARG_BYTES + 1);
        let v = ArgvValues { prompt: &big, ..v };
        let err = expand_argv(&words(&["x", "{prompt}"]), &v).map_err(|e| e.to_string());
        assert!(err.is_err_and(|e| e.contains("too large")));
    }
}
